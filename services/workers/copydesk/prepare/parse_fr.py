"""Find the entities of French articles with spaCy's fr_core_news_md, loaded lean.

The pipeline's recogniser carries its own token encoder (like en_core_web_sm's), so it runs
alone: the tagger, the parser and the shared encoder are never loaded. Its labels are
WikiNER's (PER, LOC, ORG, MISC), which ``copydesk.analyse.canonical.TYPES`` maps.

Nor is the package's string table: about 713,000 strings, of which recognition reads none
(its features and its static vectors are looked up by hash, and the strings a text needs are
added as it is tokenised). Without it the pipeline adds 87 MB to a worker's RSS and finds the
same entities (bench/parse_languages.py prints both, on its articles).
"""

from __future__ import annotations

from typing import Any, Final

MODEL: Final = "fr_core_news_md"
LANGUAGE: Final = "fr"
NOT_LOADED: Final = (
    "strings",  # see the module docstring
    "tok2vec",  # the shared encoder: the recogniser has its own
    "morphologizer",
    "parser",
    "attribute_ruler",
    "lemmatizer",
    "senter",
)


def load(spacy: Any) -> Any:
    """fr_core_news_md with its recogniser alone, without its string table."""
    return spacy.load(MODEL, exclude=list(NOT_LOADED))
