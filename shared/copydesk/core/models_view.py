"""What /v1/models says about each analysis, from the settings and the live workers.

The live workers (:mod:`copydesk.store.presence`) report what they loaded: the encoder the
prepare stage runs for the embedded analysers, and any Hugging Face model. Without a live
worker, the settings still name the model, with ``loaded: false``. Which analyses there are,
and which setting names each one's model, the analysis table says.
"""

from __future__ import annotations

from typing import Any

from copydesk.core.analyses import REGISTRY
from copydesk.core.names import PREPARE_QUEUE
from copydesk.core.settings import EMBEDDED, Settings

DEFAULT_ENCODER = "all-MiniLM-L6-v2"


def describe(settings: Settings, workers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    encoders = [w["models"]["encoder"] for w in workers if "encoder" in w.get("models", {})]
    described = {}
    for analysis, declared in REGISTRY.items():
        serving = [w for w in workers if analysis in w["queues"]]
        configured = declared.configured(settings) or EMBEDDED
        if configured == EMBEDDED and not declared.encoder:  # code alone, no model
            info: dict[str, Any] = {"backend": "embedded", "model": declared.embedded}
            loaded = bool(serving)
        elif configured == EMBEDDED:
            info = {
                "backend": "embedded",
                "model": settings.embedding_model or DEFAULT_ENCODER,
                "encoder": settings.encoder,
            }
            if encoders:
                info.update(encoders[0], backend="embedded", encoder=encoders[0]["backend"])
            loaded = bool(serving) and bool(encoders)
            info["stages"] = {"encoder": PREPARE_QUEUE, "head": analysis}
        else:
            reported = [w["models"][analysis] for w in serving if analysis in w.get("models", {})]
            info = {"backend": "huggingface", "model": configured}
            if reported:
                info.update(reported[0])
            loaded = bool(reported)
        info["loaded"] = loaded
        info["workers"] = len(serving)
        described[analysis] = info
    return described
