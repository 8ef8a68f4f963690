"""Set up one worker pool process: a hard memory cap, then the models its queues need.

The cap (RLIMIT_DATA, which covers heap and anonymous mappings) makes a runaway analysis
fail inside its own process with ``resource_exhausted`` instead of waking the host's OOM
killer, which may pick any process, Redis included. The log line says what was loaded, so
an operator sees at start which worker holds which model.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import resource
from collections.abc import Mapping, Set
from typing import Any

from copydesk.prepare import language
from copydesk.core.analyses import REGISTRY
from copydesk.core.names import ANALYSES, PREPARE_QUEUE
from copydesk.core.settings import EMBEDDED, Settings

log = logging.getLogger(__name__)
WARM_UP_ARTICLE = (
    "The city council approved a new budget for schools and roads on Tuesday. "
    "Members debated the plan for three hours before the vote."
)


def cap_memory(limit_mb: int) -> None:
    """Limit this process's data segment to ``limit_mb`` MiB (0 leaves it uncapped)."""
    if limit_mb <= 0:
        return
    limit = limit_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def release_memory() -> None:
    """Give freed heap pages back to the OS (glibc ``malloc_trim``; ~1 ms).

    After a large article, glibc keeps the freed pages mapped, so the process's RSS stays at
    its peak; trimming after each prepared article keeps it near the loaded size.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def models_for(settings: Settings, queues: Set[str]) -> dict[str, str]:
    """Name the models a process consuming ``queues`` needs: {what: model}."""
    needed: dict[str, str] = {}
    configured = {a.name: a.configured(settings) or EMBEDDED for a in REGISTRY.values()}
    encoded = [a.name for a in REGISTRY.values() if a.encoder and configured[a.name] == EMBEDDED]
    if PREPARE_QUEUE in queues and encoded:
        from copydesk.analyse.embedder import encoder_name

        needed["embedder"] = " + ".join(
            encoder_name(settings, family) for family in settings.encoder_families
        )
    for name, model in configured.items():
        if name in queues and model != EMBEDDED:
            needed[name] = model
    return needed


def uses_torch(settings: Settings, needed: Mapping[str, str]) -> bool:
    """Whether the models ``models_for`` named run on torch: a Hugging Face model, or MiniLM
    or mpnet with COPYDESK_ENCODER=torch-fp32 (USE-m3 is an ONNX graph only)."""
    if any(what != "embedder" for what in needed):
        return True
    transformers = {"minilm", "mpnet"} & set(settings.encoder_families)
    return "embedder" in needed and bool(transformers) and settings.encoder.startswith("torch")


def load_models(settings: Settings, *, queues: Set[str]) -> dict[str, str]:
    """Load what ``models_for`` names, once, and log it; returns what was loaded."""
    needed = models_for(settings, queues)
    if uses_torch(settings, needed):  # the ONNX encoders run without it: it costs ~200 MB
        import torch

        torch.set_num_threads(settings.torch_threads)
    if settings.preload_models:
        from copydesk.prepare.stage import PrepareStage
        from copydesk.analyse.registry import registry_for

        registry = registry_for(settings)
        if "embedder" in needed:  # encoder, language detector, sentence splitter, IPTC labels
            # not the parser: it loads on the first job that asks for entities (~0.7 s), so a
            # deployment that never does keeps its ~60 MB
            embedded = [
                name
                for name in ANALYSES
                if registry.model_for(name, {}) == EMBEDDED and not REGISTRY[name].parse
            ]
            PrepareStage(registry)(
                {"text": WARM_UP_ARTICLE}, analyses=embedded, options=dict.fromkeys(embedded, {})
            )
            language.warm_up()  # the warm-up article is English by its function words alone
        for name in ANALYSES:
            if name in queues:
                registry.for_request(name, {}).warm_up()
    log.info(
        "worker process for queues %s loaded %s",
        ",".join(sorted(queues)),
        ", ".join(f"{what}={model}" for what, model in needed.items()) or "no model",
    )
    return needed


def describe_models(settings: Settings, queues: Set[str]) -> dict[str, dict[str, Any]]:
    """What this process holds, for /v1/models: per model, its id, a revision (hash of the
    weights file, or the hub commit), the longest input per window, device and precision."""
    from copydesk.analyse.registry import registry_for

    registry = registry_for(settings)
    described: dict[str, dict[str, Any]] = {}
    needed = models_for(settings, queues)
    if "embedder" in needed:
        embedder = registry.embedder()
        described["encoder"] = {
            "backend": embedder.encoder,
            "model": embedder.name,
            "revision": _encoder_revision(embedder),
            "max_input_tokens": embedder.max_tokens,
            "device": "cpu",
            "precision": "int8" if embedder.encoder.startswith("onnx-int8") else "fp32",
        }
    for name in ANALYSES:
        if name in needed:
            loaded = registry.for_request(name, {}).load()
            config = loaded.model.config
            described[name] = {
                "backend": "huggingface",
                "model": needed[name],
                "revision": getattr(config, "_commit_hash", None) or _config_hash(config),
                "max_input_tokens": loaded.max_tokens,
                "device": str(next(loaded.model.parameters()).device),
                "precision": str(next(loaded.model.parameters()).dtype).removeprefix("torch."),
            }
    return described


def _encoder_revision(embedder: Any) -> str:
    weights = embedder.weights
    return _file_hash(weights) if weights is not None and weights.exists() else "unknown"


def _file_hash(path: Any) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()[:16]


def _config_hash(config: Any) -> str:
    text = json.dumps(config.to_dict(), sort_keys=True, default=str)
    return "config-sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


_beat: Any = None  # this process's heartbeat, once it has announced itself


def start_heartbeat(settings: Settings, queues: Set[str]) -> Any:
    """Announce this process (queues, loaded models, RSS) while it lives; see store.presence.

    Call it after :func:`load_models`: a worker counts from the moment it can take work. It
    withdraws when the process ends cleanly (Celery's ``worker_process_shutdown``, which a
    pool process sends as it exits, or ``atexit``), so a restarted stack never counts the
    processes it replaced.
    """
    import atexit
    import os
    import socket
    import time

    from celery.signals import worker_process_shutdown

    from copydesk.store.jobs import RedisJobStore
    from copydesk.store.presence import Heartbeat

    global _beat
    models = describe_models(settings, queues) if settings.preload_models else {}
    host, pid, started = socket.gethostname(), os.getpid(), time.time()

    def about() -> dict[str, Any]:
        return {
            "kind": "worker",
            "host": host,
            "pid": pid,
            "queues": sorted(queues),
            "models": models,
            "models_loaded": settings.preload_models,
            "rss_mb": round(_rss_mb(), 1),
            "started_at": started,
        }

    stop_heartbeat()
    store = RedisJobStore.from_settings(settings)
    _beat = Heartbeat(store.redis, f"worker:{host}:{pid}", about)
    _beat.start()
    worker_process_shutdown.connect(_on_shutdown, weak=False, dispatch_uid="copydesk-presence")
    atexit.register(stop_heartbeat)
    return _beat


def stop_heartbeat() -> None:
    """Withdraw this process's presence (nothing if it never announced itself)."""
    global _beat
    beat, _beat = _beat, None
    if beat is not None:
        beat.stop()


def _on_shutdown(**_: object) -> None:
    stop_heartbeat()


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
