"""Summarise with any seq2seq model named by configuration (abstractive summaries).

An article longer than the encoder's window is summarised map-reduce style: sentence-aligned
chunks are summarised one by one, and their summaries are summarised again when they fit in
one window (otherwise they are joined). Generated text has no offsets into the article, so the
result's ``sentences`` is empty and ``method`` says "abstractive".
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from copydesk.analyse.base import Result, coverage
from copydesk.analyse.hf_common import (
    HFAnalyser,
    chunk_spans,
    sentence_spans,
    special_tokens,
    token_counts,
)
from copydesk.core.document import Document, Span
from copydesk.core.errors import AnalysisError
from copydesk.core.options import SummaryOptions, checked

TOKENS_PER_SENTENCE = 40
MAX_SUMMARY_TOKENS = 256


@dataclass(frozen=True, slots=True)
class SummaryPlan:
    """What to feed the model for one document."""

    chunks: tuple[Span, ...]
    texts: tuple[str, ...]
    max_new_tokens: int
    coverage: float


class HFSummariser(HFAnalyser):
    """Abstractive summaries from an ``AutoModelForSeq2SeqLM`` (BART, T5, Pegasus, ...)."""

    name = "summary"
    auto_class = "AutoModelForSeq2SeqLM"

    def __init__(
        self,
        *,
        model: str,
        device: str = "cpu",
        languages: frozenset[str] | None = None,
        batch_size: int = 8,
        max_chunks: int | None = None,
    ) -> None:
        super().__init__(model=model, device=device, languages=languages, batch_size=batch_size)
        self.max_chunks = max_chunks

    def preprocess(self, doc: Document, options: Mapping[str, Any]) -> SummaryPlan:
        self.check(doc)
        wanted = checked(SummaryOptions, options)
        if (wanted.mode or "abstractive") != "abstractive":
            raise AnalysisError(f"{self.model_id} only writes abstractive summaries")
        max_new = min(TOKENS_PER_SENTENCE * wanted.max_sentences, self._output_limit())
        budget = self._input_budget()
        chunks = chunk_spans(
            tokenizer=self.load().tokenizer,
            text=doc.text,
            spans=sentence_spans(doc),
            budget=budget,
        )[: self.max_chunks]  # news puts what matters first: keep the lead when capping
        prefix = self._prefix()
        return SummaryPlan(
            chunks=tuple(chunks),
            texts=tuple(prefix + doc.text[c.start : c.end] for c in chunks),
            max_new_tokens=max_new,
            coverage=coverage(doc.text, chunks),
        )

    def _forward(self, inputs: SummaryPlan) -> tuple[SummaryPlan, str]:
        return self._forward_batch([inputs])[0]

    def _forward_batch(self, batch: Sequence[SummaryPlan]) -> list[tuple[SummaryPlan, Any]]:
        return list(zip(batch, self._forward_many(batch), strict=True))

    def _forward_many(self, plans: Sequence[SummaryPlan]) -> list[str]:
        """Map every chunk of every plan to a summary, then reduce multi-chunk plans."""
        partial = self._generate([(t, p.max_new_tokens) for p in plans for t in p.texts])
        finals: list[str] = []
        reduce: list[tuple[int, str, int]] = []
        at = 0
        for i, plan in enumerate(plans):
            parts = [s for s in partial[at : at + len(plan.texts)] if s]
            at += len(plan.texts)
            finals.append(" ".join(parts))
            if len(parts) > 1:
                text = self._prefix() + finals[-1]
                if token_counts(self.load().tokenizer, [text])[0] <= self._input_budget():
                    reduce.append((i, text, plan.max_new_tokens))
        reduced = self._generate([(text, limit) for _, text, limit in reduce])
        for (i, _, _), text in zip(reduce, reduced, strict=True):
            finals[i] = text or finals[i]
        return finals

    def postprocess(
        self, doc: Document, outputs: tuple[SummaryPlan, str], options: Mapping[str, Any]
    ) -> Result:
        plan, text = outputs
        if not text.strip():
            raise AnalysisError(f"model {self.model_id} produced an empty summary")
        return {
            "text": text.strip(),
            "sentences": [],
            "method": "abstractive",
            "model": self.model_name,
            "coverage": plan.coverage,
            "chunks": len(plan.chunks),
        }

    def _generate(self, items: Sequence[tuple[str, int]]) -> list[str]:
        """Greedy-decode each text with its own token limit, batched by limit."""
        import torch

        loaded = self.load()
        tok, model = loaded.tokenizer, loaded.model
        out = [""] * len(items)
        for limit in sorted({n for _, n in items}):
            idx = [i for i, (_, n) in enumerate(items) if n == limit]
            config = _generation_config(model.generation_config, max_new_tokens=limit)
            for begin in range(0, len(idx), self.batch_size):
                part = idx[begin : begin + self.batch_size]
                enc = tok(
                    [items[i][0] for i in part],
                    truncation=True,
                    max_length=loaded.max_tokens,
                    padding=True,
                    return_tensors="pt",
                ).to(self.device)
                with torch.inference_mode():
                    ids = model.generate(
                        input_ids=enc["input_ids"],
                        attention_mask=enc["attention_mask"],
                        generation_config=config,
                    )
                texts = tok.batch_decode(ids, skip_special_tokens=True)
                for i, text in zip(part, texts, strict=True):
                    out[i] = " ".join(text.split())
        return out

    def _prefix(self) -> str:
        """Return the task prefix T5-style models expect ("summarize: "), if any."""
        params = getattr(self.load().model.config, "task_specific_params", None) or {}
        return str((params.get("summarization") or {}).get("prefix") or "")

    def _input_budget(self) -> int:
        loaded = self.load()
        prefix = self._prefix()
        used = token_counts(loaded.tokenizer, [prefix])[0] if prefix else 0
        return loaded.max_tokens - special_tokens(loaded.tokenizer) - used

    def _output_limit(self) -> int:
        """Cap generated length by the decoder's position table (BART has one, T5 not)."""
        config = self.load().model.config
        decoder = getattr(config, "decoder", None)
        cfg = decoder if hasattr(decoder, "model_type") else config
        positions = getattr(cfg, "max_position_embeddings", None)
        if isinstance(positions, int) and positions > 1:
            return min(MAX_SUMMARY_TOKENS, positions - 1)
        return MAX_SUMMARY_TOKENS


def _generation_config(base: Any, *, max_new_tokens: int) -> Any:
    """Greedy, repetition-guarded decoding whatever the checkpoint's defaults say.

    Checkpoints such as bart-large-cnn ship beam-search settings (num_beams=4,
    length_penalty=2, early_stopping, min_length=56); greedy decoding is several times
    faster on CPU, and beam-only flags left set would make transformers warn. Lengths are
    given as ``max_length``/``min_length`` (decoder tokens, start token included) because
    generate() refills unset fields from the checkpoint and would then see both forms.
    """
    config = copy.deepcopy(base)
    min_new = min(getattr(config, "min_length", None) or 0, max_new_tokens // 2)
    config.update(
        num_beams=1,
        do_sample=False,
        early_stopping=False,
        length_penalty=1.0,
        no_repeat_ngram_size=3,
        max_length=max_new_tokens + 1,
        min_length=min_new + 1 if min_new else 0,
    )
    return config
