"""Worker processes load only what their queues need, and a memory cap fails an input cleanly."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from copydesk.core.settings import Settings
from copydesk.workers.process import models_for, uses_torch


@pytest.mark.parametrize(
    ("queues", "update", "expected"),
    [
        ({"webhooks"}, {}, set()),
        ({"summary", "sentiment", "topics"}, {}, set()),  # embedded: the vectors suffice
        ({"prepare"}, {}, {"embedder"}),
        ({"prepare", "sentiment"}, {"sentiment_model": "/m/sent"}, {"embedder", "sentiment"}),
        ({"sentiment"}, {"sentiment_model": "/m/sent"}, {"sentiment"}),
        (
            {"prepare"},
            {name: "/m" for name in ("summary_model", "sentiment_model", "topics_model")},
            {"embedder"},  # entities still score their sentences on the prepared vectors
        ),
    ],
)
def test_models_follow_the_queues(queues, update, expected) -> None:
    settings = Settings(**update)
    assert set(models_for(settings, queues)) == expected


@pytest.mark.parametrize(
    ("encoder", "backend", "torch"),
    [
        ("minilm", "torch-fp32", True),
        ("mpnet", "torch-fp32", True),
        ("minilm+use-m3", "torch-fp32", True),
        ("minilm", "onnx-int8", False),
        ("mpnet", "onnx-int8", False),
        ("use-m3", "onnx-int8", False),
    ],
)
def test_a_prepare_process_sets_up_torch_when_its_encoder_runs_on_it(
    encoder, backend, torch
) -> None:
    settings = Settings(sentence_encoder=encoder, encoder=backend)
    assert uses_torch(settings, models_for(settings, {"prepare"})) is torch


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_worker_app_imports_no_model_runtime() -> None:
    loaded = _run(
        "import json, sys\n"
        "import copydesk.workers.celery_app\n"
        "print(json.dumps([m for m in ('torch', 'transformers', 'onnxruntime') if m in sys.modules]))"
    )
    assert loaded == []


def test_an_input_over_the_memory_cap_fails_with_resource_exhausted() -> None:
    result = _run(
        "import json, numpy as np\n"
        "from copydesk.workers.process import cap_memory\n"
        "from copydesk.core.errors import failed_result as failed\n"
        "from copydesk.workers.failures import as_failure\n"
        "cap_memory(600)\n"
        "try:\n"
        "    np.ones((40_000, 40_000))\n"
        "    print(json.dumps({'code': None}))\n"
        "except Exception as exc:\n"
        "    problem = failed(as_failure(exc, stage='summary'))['error']\n"
        "    small = np.ones((1000, 1000)).sum()  # the process carries on\n"
        "    print(json.dumps({'code': problem['code'], 'after': float(small)}))\n"
    )
    assert result == {"code": "resource_exhausted", "after": 1_000_000.0}


def test_the_encoder_over_the_memory_cap_fails_with_resource_exhausted() -> None:
    result = _run(
        "import json\n"
        "from copydesk.analyse.embedder import get_embedder\n"
        "from copydesk.workers.process import cap_memory\n"
        "from copydesk.core.errors import failed_result as failed\n"
        "from copydesk.workers.failures import as_failure\n"
        "embedder = get_embedder(encoder='onnx-int8')\n"
        "embedder.encode(['warm up'])\n"
        "data = int(next(l for l in open('/proc/self/status') if l.startswith('VmData')).split()[1])\n"
        # one 256-token window a forward pass needs more than 8 MiB, a short sentence less
        "cap_memory(data // 1024 + 8)\n"
        "try:\n"
        "    embedder.encode(['word ' * 2000] * 16)\n"
        "    print(json.dumps({'code': None}))\n"
        "except Exception as exc:\n"
        "    problem = failed(as_failure(exc, stage='prepare'))['error']\n"
        "    after = embedder.encode(['The process carries on.']).shape[0]\n"
        "    print(json.dumps({'code': problem['code'], 'after': after}))\n"
    )
    assert result == {"code": "resource_exhausted", "after": 1}


def test_the_intake_needs_neither_celery_nor_text_or_model_libraries() -> None:
    loaded = _run(
        "import json, sys\n"
        "from copydesk.intake import create_app\n"
        "from copydesk.intake import views, service, problems\n"
        "create_app()\n"
        "heavy = ('celery', 'kombu', 'torch', 'numpy', 'trafilatura', 'lingua', 'pysbd')\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))"
    )
    assert loaded == []


def test_a_prepare_process_of_the_default_mix_loads_use_m3_on_its_first_other_language() -> None:
    loaded = _run(
        "import json\n"
        "from copydesk.core.settings import Settings\n"
        "from copydesk.analyse import embedder\n"
        "from copydesk.analyse.registry import registry_for\n"
        "from copydesk.prepare.stage import PrepareStage\n"
        "from copydesk.workers.process import load_models\n"
        "settings = Settings()\n"
        "load_models(settings, queues={'prepare', 'summary', 'sentiment', 'topics'})\n"
        "started = sorted(family for family, _, _ in embedder._EMBEDDERS)\n"
        "stage = PrepareStage(registry_for(settings))\n"
        "text = 'Die Regierung hat am Mittwoch einen neuen Haushalt vorgelegt. Die Opposition "
        "kritisierte die Pläne scharf.'\n"
        "stage.embed([stage({'text': text}, analyses=['sentiment'], options={'sentiment': {}})])\n"
        "print(json.dumps([started, sorted(family for family, _, _ in embedder._EMBEDDERS)]))"
    )
    assert loaded == [["minilm"], ["minilm", "use-m3"]]


def test_a_prepare_process_with_the_onnx_encoder_imports_no_torch() -> None:
    loaded = _run(
        "import json, sys\n"
        "from copydesk.core.settings import Settings\n"
        "from copydesk.workers.process import load_models\n"
        "load_models(Settings(), queues={'prepare', 'summary', 'sentiment', 'topics'})\n"
        "print(json.dumps([m for m in ('torch', 'transformers', 'onnxruntime') if m in sys.modules]))"
    )
    assert loaded == ["onnxruntime"]


def test_a_result_over_the_size_limit_is_trimmed_and_says_so() -> None:
    from copydesk.analyse.run import bounded

    sentences = [{"text": "x" * 90, "start": i * 100, "end": i * 100 + 90} for i in range(500)]
    result = {"status": "succeeded", "score": 0.1, "sentences": sentences}
    small = bounded(result, max_bytes=10_000, analysis="sentiment")
    size = len(json.dumps(small).encode())
    assert small["truncated"] is True and small["sentences_total"] == 500
    assert 0 < len(small["sentences"]) < 500 and size <= 10_000
    assert small["sentences"] == sentences[: len(small["sentences"])]  # a prefix, in order
    one_more = {**small, "sentences": sentences[: len(small["sentences"]) + 1]}
    assert len(json.dumps(one_more).encode()) > 10_000  # the longest prefix that fits
    assert bounded(result, max_bytes=10**7, analysis="sentiment") is result


def test_a_result_that_cannot_fit_fails_with_a_code() -> None:
    from copydesk.analyse.run import bounded

    result = {"status": "succeeded", "text": "y" * 20_000, "sentences": []}
    failed = bounded(result, max_bytes=10_000, analysis="summary")
    assert failed["status"] == "failed" and failed["error"]["code"] == "result_too_large"
