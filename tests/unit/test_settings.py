"""Settings fail at start, naming the variable, rather than later inside a task."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from copydesk.core.settings import Settings


@pytest.mark.parametrize(
    "secret", ["whsec_not-base64!!", "whsec_abc", "MfKQ9r8GKYqrTwjUPD8ILPZIo2La"]
)
def test_a_webhook_secret_that_cannot_sign_is_refused_at_start(secret) -> None:
    with pytest.raises(ValidationError, match="webhook_secret"):
        Settings(webhook_secret=secret)


def test_a_standard_webhooks_secret_is_accepted() -> None:
    settings = Settings(webhook_secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert settings.webhook_secret is not None


@pytest.mark.parametrize("encoder", ["gpu", "onnx", ""])
def test_an_unknown_encoder_is_refused_at_start(encoder) -> None:
    with pytest.raises(ValidationError, match="encoder"):
        Settings(encoder=encoder)


@pytest.mark.parametrize(
    "key", ["nope", "a" * 44, "l4uoQ7lt2pUw0Wq9b0Kf1w6fUoX0V2jq7mQfM9M6QxA=,bad"]
)
def test_a_secrets_key_that_is_not_fernet_is_refused_at_start(key) -> None:
    with pytest.raises(ValidationError, match="secrets_key"):
        Settings(secrets_key=key)


def test_sealed_secrets_open_with_any_of_the_rotated_keys() -> None:
    from copydesk.core.secrets import SecretBox, new_key

    old, new = new_key(), new_key()
    sealed = SecretBox(old).seal("whsec_abc")
    assert sealed.startswith("fernet:") and "whsec_abc" not in sealed
    assert SecretBox(f"{new},{old}").open(sealed) == "whsec_abc"


def test_the_default_webhook_schedule_spans_more_than_a_day() -> None:
    delays = Settings().webhook_retry_delays
    assert sum(delays) >= 24 * 3600
    assert delays == sorted(delays)  # waits only grow


def test_webhook_retry_delays_read_from_the_environment(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("COPYDESK_WEBHOOK_RETRY_DELAYS", "1, 2,4,8,16,32")
    assert Settings().webhook_retry_delays == [1, 2, 4, 8, 16, 32]
    monkeypatch.setenv("COPYDESK_WEBHOOK_RETRY_DELAYS", "1,-2")
    with pytest.raises(ValueError, match="retry delay"):
        Settings()


def test_the_stall_deadline_follows_the_time_limits() -> None:
    assert Settings(task_soft_time_limit=100).stall_deadline == 100 + 30 + 60
    assert Settings(stall_seconds=20).stall_deadline == 20


def test_api_keys_are_name_key_pairs() -> None:
    keys = "newsroom:k3y-for-the-newsroom-1,monitor:another-long-key-22"
    assert Settings(api_keys=keys).api_keys.get_secret_value() == keys
    for bad in ("nokey", "Bad Name:0123456789abcdef", "a:short", "a:0123456789abcdef,a:x" * 1):
        with pytest.raises(ValidationError):
            Settings(api_keys=bad)
    with pytest.raises(ValidationError, match="unique"):
        Settings(api_keys="a:0123456789abcdef,b:0123456789abcdef")


def test_no_keys_on_a_public_address_is_refused_unless_allowed() -> None:
    with pytest.raises(ValidationError, match="without API keys"):
        Settings(http_host="0.0.0.0")
    assert Settings(http_host="0.0.0.0", allow_open_access=True).api_keys is None
    assert Settings(http_host="0.0.0.0", api_keys="a:0123456789abcdef").http_host == "0.0.0.0"
    assert Settings(http_host="127.0.0.1").api_keys is None


def test_the_keyring_finds_the_tenant_of_a_bearer_key() -> None:
    from copydesk.intake.auth import Keyring

    ring = Keyring.parse("newsroom:k3y-for-the-newsroom-1,monitor:another-long-key-22")
    assert ring.enabled and not Keyring.parse(None).enabled
    assert ring.tenant_for("Bearer k3y-for-the-newsroom-1") == "newsroom"
    assert ring.tenant_for("bearer another-long-key-22") == "monitor"
    for wrong in (None, "", "Bearer", "Bearer nope", "Basic k3y-for-the-newsroom-1"):
        assert ring.tenant_for(wrong) is None
    assert all(len(digest) == 32 for digest, _ in ring.digests)  # only digests are kept


def test_gunicorn_refuses_a_public_bind_without_keys(monkeypatch) -> None:  # noqa: ANN001
    from types import SimpleNamespace

    import copydesk.core.settings as settings_module
    from copydesk.intake import gunicorn_conf

    def server(*binds: str) -> SimpleNamespace:
        return SimpleNamespace(cfg=SimpleNamespace(bind=list(binds)))

    monkeypatch.setattr(settings_module, "get_settings", lambda: Settings())
    with pytest.raises(SystemExit, match="without API keys"):
        gunicorn_conf.on_starting(server("127.0.0.1:8000", "0.0.0.0:8000"))
    gunicorn_conf.on_starting(server("127.0.0.1:8000", "[::1]:8000", "unix:/tmp/s"))  # loopback
    keyed = Settings(api_keys="a:0123456789abcdef")
    monkeypatch.setattr(settings_module, "get_settings", lambda: keyed)
    gunicorn_conf.on_starting(server("0.0.0.0:8000"))
    open_ok = Settings(allow_open_access=True)
    monkeypatch.setattr(settings_module, "get_settings", lambda: open_ok)
    gunicorn_conf.on_starting(server("0.0.0.0:8000"))


def test_gunicorn_errors_are_problem_json() -> None:
    import json
    import socket

    from copydesk.intake import gunicorn_conf

    left, right = socket.socketpair()
    with left, right:
        gunicorn_conf.write_problem(left, 414, "URI Too Long", "line too long")
        raw = right.recv(4096).decode()
    head, _, body = raw.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 414 URI Too Long")
    assert "Content-Type: application/problem+json" in head
    assert json.loads(body)["code"] == "uri_too_long"


def test_event_streams_a_process_holds_are_bounded() -> None:
    """Each may hold a thread of gunicorn's (gunicorn_conf) and a Redis connection."""
    assert Settings(sse_max_streams=1000).sse_max_streams == 1000
    with pytest.raises(ValidationError, match="sse_max_streams"):
        Settings(sse_max_streams=1001)
