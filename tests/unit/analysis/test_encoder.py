"""The sentence encoder's backends agree with the reference, and vectors travel intact."""

from __future__ import annotations

import numpy as np
import pytest

from documents import make_doc

from copydesk.analyse.embedder import BATCH_ATTENTION, MAX_BATCH, Embedder, buckets, get_embedder
from copydesk.analyse.summary import ExtractiveSummariser
from copydesk.analyse.topics import label_key
from copydesk.prepare.vectors import DocVectors, embedded_texts

SENTENCES = [
    "The central bank raised interest rates by half a point on Thursday.",
    "Troops launched an offensive against rebel positions in the north.",
    "The striker scored twice as the home team won the cup final.",
    "Shares fell.",
    "A very long sentence " + "about the budget and the schools and the roads " * 60,
    "",
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return get_embedder(encoder="torch-fp32").encode(SENTENCES)


@pytest.mark.parametrize(
    ("encoder", "floor"), [("onnx-fp32", 0.9999), ("onnx-int8", 0.97), ("onnx-int8-blocks", 0.97)]
)
def test_onnx_backends_agree_with_the_torch_reference(reference, encoder, floor) -> None:
    vectors = get_embedder(encoder=encoder).encode(SENTENCES)
    cosines = (vectors * reference).sum(1)
    assert cosines.min() >= floor, cosines
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_int8_keeps_the_feed_forward_outputs_fp32_and_blocks_gives_five_8_bit_blocks() -> None:
    import onnx

    def feed_forward(encoder: str) -> dict[str, list[str]]:
        graph = onnx.load(str(get_embedder(encoder=encoder).weights)).graph
        weights = {tensor.name for tensor in graph.initializer}
        return {
            "fp32": [n.name for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights],
            "blocks": [n.name for n in graph.node if n.op_type == "MatMulNBits"],
        }

    layers = [f"/model/encoder/layer.{n}/output/dense/MatMul" for n in range(6)]
    assert feed_forward("onnx-int8") == {"fp32": layers, "blocks": []}
    blocked = {"fp32": layers[:1], "blocks": [f"{n}_Q8" for n in layers[1:]]}
    assert feed_forward("onnx-int8-blocks") == blocked  # the first layer's error reaches them all
    assert get_embedder(encoder="onnx-int8-blocks").name == "all-MiniLM-L6-v2, onnx-int8-blocks"


def test_long_texts_are_windowed_not_truncated() -> None:
    embedder = get_embedder()
    windows, owners = embedder._windows(SENTENCES)
    assert max(len(w) for w in windows) <= embedder.max_tokens
    assert (owners == 4).sum() > 1  # the long sentence spans several windows


def test_an_article_counted_then_embedded_is_tokenised_once() -> None:
    embedder = Embedder(encoder="onnx-int8")
    calls = []

    class Counting:
        def __init__(self, tokenizer) -> None:  # noqa: ANN001
            self.tokenizer = tokenizer

        def encode_batch(self, texts, **kwargs):  # noqa: ANN001, ANN003, ANN201
            calls.append(list(texts))
            return self.tokenizer.encode_batch(texts, **kwargs)

        def __getattr__(self, name: str):  # noqa: ANN204
            return getattr(self.tokenizer, name)

    embedder.tokenizer = Counting(embedder.tokenizer)
    tokens = embedder.total_tokens(SENTENCES)
    vectors = embedder.encode(SENTENCES)
    assert len(calls) == 1
    assert tokens == sum(embedder.count_tokens(text) for text in SENTENCES)
    assert np.array_equal(vectors, get_embedder().encode(SENTENCES))
    embedder.encode(SENTENCES[:2])  # other texts: tokenised for themselves
    assert calls[-1] == SENTENCES[:2]


def test_buckets_cover_every_index_once_and_pad_little() -> None:
    lengths = list(np.random.default_rng(0).integers(3, 256, size=500))
    groups = buckets(lengths)
    assert sorted(i for group in groups for i in group) == list(range(500))
    for group in groups:
        sizes = [lengths[i] for i in group]
        assert len(group) <= MAX_BATCH and max(sizes) <= min(sizes) * 1.25 + 4
        assert len(group) == 1 or len(group) * max(sizes) ** 2 <= BATCH_ATTENTION


def test_full_windows_go_one_at_a_time_and_news_sentences_in_full_batches() -> None:
    assert buckets([256] * 8) == [[i] for i in range(8)]  # attention memory of one window
    assert [len(group) for group in buckets([30] * 128)] == [MAX_BATCH, MAX_BATCH]


def test_unknown_encoder_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown encoder"):
        Embedder(encoder="gpu-magic")


def test_vectors_round_trip_as_float16_and_serve_the_analysers(seed_article) -> None:
    embedder = get_embedder()
    doc = make_doc(seed_article, title="IS Chechen commander vows to revenge Russia")
    texts = embedded_texts(doc)
    labels = ("war", "sport")
    key = label_key(labels)
    original = DocVectors(
        embedder.name, texts, embedder.encode(texts), labels, embedder.encode(list(labels)), key
    )
    data = original.to_bytes()
    assert len(data) < len(texts) * embedder.dim * 2 + 2000  # float16
    restored = DocVectors.from_bytes(data, doc)
    assert restored.texts == texts
    assert np.abs(restored.matrix - original.matrix).max() < 1e-3
    assert restored.labels == labels
    assert restored.labels_for(key) is not None and restored.labels_for(label_key(["war"])) is None
    assert restored.lookup(["not in the article"]) is None

    summariser = ExtractiveSummariser(embedder=embedder)
    direct = summariser(doc, {})
    from_vectors = summariser(doc, {}, vectors=restored)
    assert from_vectors["sentences"] == direct["sentences"]


def test_coverage_is_computed_from_the_spans_that_reached_the_model() -> None:
    from copydesk.analyse.base import coverage
    from copydesk.core.document import Span

    text = "One two. Three four.\n\nFurniture line"
    assert coverage(text, [Span(0, 8), Span(9, 20)]) == round(17 / 30, 4)
    assert coverage(text, [Span(0, 8), Span(9, 20), Span(22, 36)]) == 1.0
    assert coverage(text, []) == 0.0
    summariser = ExtractiveSummariser(embedder=get_embedder())
    doc = make_doc("The council approved the budget on Monday evening after a debate.\n\n ")
    partial = type(doc)(doc.text + "Dropped tail", doc.sentences, "en")
    assert summariser(doc, {})["coverage"] == 1.0
    assert summariser(partial, {})["coverage"] < 1.0
