"""What ``make run`` prints once the stack is up: with API keys set, the curl lines it
suggests carry the Authorization header they need and the metrics line names the key
/metrics asks for; without keys, neither."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from copydesk.core.settings import Settings
from copydesk.devstack.__main__ import _welcome


def _stack() -> SimpleNamespace:
    return SimpleNamespace(
        base_url="http://127.0.0.1:8000",
        flower_url=None,
        processes={"intake": None, "worker": None},
        redis_url="redis://127.0.0.1:6379/0",
        redis=None,
        database_url="postgresql://postgres@127.0.0.1:5432/copydesk",
        postgres=None,
    )


def _said(settings: Settings) -> list[str]:
    return _welcome(_stack(), settings, secret="s3cret", log_dir=Path("var/log")).splitlines()


def _curls(settings: Settings) -> list[str]:
    return [line for line in _said(settings) if line.lstrip().startswith("curl")]


def test_with_keys_every_suggested_curl_sends_a_key() -> None:
    curls = _curls(Settings(api_keys="alice:k-alice-0123456789,bob:k-bob-0123456789"))
    assert len(curls) == 2
    assert all("-H 'Authorization: Bearer <key>'" in line for line in curls)


def test_without_keys_no_suggested_curl_sends_one() -> None:
    curls = _curls(Settings(api_keys=None))
    assert len(curls) == 2
    assert not any("Authorization" in line for line in curls)


def test_with_keys_the_metrics_line_says_which_key_it_needs() -> None:
    keyed = Settings(api_keys="alice:k-alice-0123456789")
    [metrics] = [line for line in _said(keyed) if line.lstrip().startswith("metrics")]
    assert "COPYDESK_METRICS_KEY" in metrics
    [metrics] = [line for line in _said(Settings(api_keys=None)) if "/metrics" in line]
    assert "KEY" not in metrics
