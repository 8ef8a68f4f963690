"""Check the extractive summariser on the real MiniLM model: offsets, choice and refusals."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from documents import make_doc

from copydesk.analyse.embedder import get_embedder
from copydesk.analyse.summary import ExtractiveSummariser
from copydesk.core.document import Document, Span
from copydesk.core.errors import AnalysisError, UnsupportedLanguage

NEWS = (
    "The central bank raised interest rates by half a point on Thursday to fight inflation.\n"
    "Governor Maria Lopez said prices were rising faster than the bank had expected.\n"
    "Markets fell sharply after the announcement, with bank shares leading the decline.\n"
    "Read more: https://example.com/markets/live\n"
    "Economists said a further increase was likely before the end of the year.\n"
    "The decision was backed by seven of the nine members of the rate committee.\n"
    "Follow us on Twitter for the latest updates.\n"
    "Home buyers face higher mortgage payments as lenders pass on the increase.\n"
)


@pytest.fixture(scope="module")
def summariser() -> ExtractiveSummariser:
    torch.set_num_threads(1)
    return ExtractiveSummariser(embedder=get_embedder())


def test_offsets_slice_the_analysed_text(summariser, seed_article):
    doc = make_doc(seed_article)
    result = summariser(doc, {"max_sentences": 5})
    assert len(result["sentences"]) == 5
    for item in result["sentences"]:
        assert doc.text[item["start"] : item["end"]] == item["text"]
        assert item["text"] == item["text"].strip()
    assert result["text"] == " ".join(item["text"] for item in result["sentences"])


def test_result_names_model_method_and_full_coverage(summariser):
    result = summariser(make_doc(NEWS))
    assert result["model"] == "copydesk-extractive/1 (all-MiniLM-L6-v2, onnx-int8)"
    assert result["method"] == "extractive"
    assert result["coverage"] == 1.0


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_max_sentences_is_honoured_and_order_kept(summariser, k):
    result = summariser(make_doc(NEWS), {"max_sentences": k})
    starts = [item["start"] for item in result["sentences"]]
    assert len(starts) == k
    assert starts == sorted(starts)


def test_default_is_three_sentences_and_the_lead_is_kept(summariser, seed_article):
    doc = make_doc(seed_article)
    result = summariser(doc)
    assert len(result["sentences"]) == 3
    assert result["sentences"][0]["text"].startswith("PanARMENIAN.Net - When the Islamic State")


def test_asking_for_more_than_there_is_returns_every_quotable_sentence(summariser):
    result = summariser(make_doc(NEWS), {"max_sentences": 20})
    texts = [item["text"] for item in result["sentences"]]
    assert len(texts) == 6
    assert not any("http" in t or "Twitter" in t for t in texts)


def test_boilerplate_and_link_lists_are_not_chosen(summariser, seed_article):
    doc = make_doc(seed_article)
    section = doc.text.index("Top stories")
    result = summariser(doc, {"max_sentences": 20})
    assert result["sentences"]
    assert all(item["start"] < section for item in result["sentences"])
    assert all(not item["text"].startswith("IS Chechen commander") for item in result["sentences"])


def test_a_repeated_sentence_is_not_chosen_twice(summariser):
    lead = "The central bank raised interest rates by half a point on Thursday to fight inflation."
    text = NEWS + lead + "\n" + lead.replace("Thursday", "Thursday,") + "\n"
    result = summariser(make_doc(text), {"max_sentences": 8})
    texts = [re.sub(r"\W", "", item["text"]) for item in result["sentences"]]
    assert texts.count(re.sub(r"\W", "", lead)) == 1
    assert len(texts) == len(set(texts))


def test_headings_only_still_summarise(summariser):
    doc = make_doc("Budget day\nMarkets react\nWhat it means for you")
    result = summariser(doc, {"max_sentences": 2})
    assert len(result["sentences"]) == 2


def test_a_sentence_longer_than_the_model_window_is_embedded_whole(summariser):
    long = "The committee " + " ".join(f"reviewed item {i} of the budget" for i in range(200)) + "."
    doc = make_doc(long + "\nShort second sentence about the budget vote today.")
    assert summariser.embedder.count_tokens(long) > summariser.embedder.max_tokens
    result = summariser(doc, {"max_sentences": 2})
    assert result["coverage"] == 1.0
    assert result["sentences"][0]["text"] == long


def test_batch_equals_one_by_one(summariser, seed_article):
    docs = [
        make_doc(seed_article),
        make_doc(NEWS),
        make_doc("Only one sentence here, and it is long enough."),
    ]
    options = [{"max_sentences": 4}, None, {"max_sentences": 2}]
    single = [summariser(doc, opts) for doc, opts in zip(docs, options, strict=True)]
    batched = summariser.batch(docs, options)
    assert [r["sentences"] for r in batched] == [r["sentences"] for r in single]
    assert batched == single


def test_a_document_without_sentences_fails(summariser):
    with pytest.raises(AnalysisError, match="no sentences"):
        summariser(Document(text="", sentences=()))
    with pytest.raises(AnalysisError, match="no sentences"):
        summariser(Document(text="   \n ", sentences=(Span(0, 5),)))


@pytest.mark.parametrize("language", ["de", "fr-FR"])
def test_other_languages_are_refused(summariser, language):
    doc = make_doc("Die Zentralbank hat die Zinsen am Donnerstag erneut erhöht.", language=language)
    with pytest.raises(UnsupportedLanguage):
        summariser(doc)


@pytest.mark.parametrize("language", [None, "en", "en-GB"])
def test_english_or_unknown_language_is_accepted(summariser, language):
    assert summariser(make_doc(NEWS, language=language))["sentences"]


@pytest.mark.parametrize("value", [0, 21, "3", True, 2.5])
def test_bad_max_sentences_fails(summariser, value):
    with pytest.raises(AnalysisError, match="max_sentences"):
        summariser(make_doc(NEWS), {"max_sentences": value})


def test_selection_is_bounded_on_thousands_of_sentences() -> None:
    from copydesk.analyse.summary import MAX_CANDIDATES, select, shortlist

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(20_000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pool = shortlist(vectors, list(range(20_000)), size=MAX_CANDIDATES)
    assert len(pool) == MAX_CANDIDATES and pool == sorted(pool) and 0 in pool
    chosen = select(vectors=vectors, eligible=[True] * 20_000, k=3)
    assert len(chosen) == 3 and chosen == sorted(chosen)


def test_email_check_is_linear_on_one_huge_token() -> None:
    import time

    from copydesk.analyse.summary import _quotable

    began = time.perf_counter()
    assert not _quotable("x@" + "a" * 400_000)
    assert not _quotable("@" * 200_000)
    assert time.perf_counter() - began < 2.0
    assert not _quotable("Write to the desk at news@example.org for more on the story.")


def test_summary_never_leads_with_a_dateline_or_a_quote_without_its_speaker(summariser):
    article = (
        "LONDON (Reuters) - The Bank of England raised interest rates to 5 percent on Thursday, "
        "its fourteenth rise in a row, as inflation stayed far above its target.\n"
        "“This is the hardest decision we have faced in years,” he said.\n"
        "“We cannot let prices run away from us.\n"
        "That would hurt the poorest most,” said Governor Andrew Bailey.\n"
        "Economists had expected the bank to raise rates by a quarter point this month.\n"
        "Markets reacted calmly, with the pound little changed against the dollar."
    )
    result = summariser(make_doc(article), {"max_sentences": 3})
    texts = [s["text"] for s in result["sentences"]]
    assert texts[0].startswith("The Bank of England raised interest rates")
    assert result["sentences"][0]["start"] == len("LONDON (Reuters) - ")
    assert not any(t.startswith("“") for t in texts), texts
