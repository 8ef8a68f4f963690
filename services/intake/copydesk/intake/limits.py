"""Per-tenant rate limits (flask-limiter, counted in Redis so every intake process agrees).

The tenant is read from the API key here, not from the view's hook: flask-limiter checks
before any blueprint code runs. A request without a valid key is counted by its address (its
401 follows). Answers carry ``RateLimit-Limit``, ``RateLimit-Remaining`` and
``RateLimit-Reset``; a request over the limit gets 429 ``rate_limited`` with ``Retry-After``.
If Redis cannot count, the request is let through: the job store then answers for itself.
"""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import HeaderNames, Limiter
from flask_limiter.util import get_remote_address

from copydesk.core.settings import Settings
from copydesk.intake.auth import Keyring


def storage_uri(settings: Settings) -> str:
    """Where the counters live: the same Redis as the jobs (through Sentinel if set)."""
    if not settings.redis_sentinels:
        return settings.redis_url
    password, _ = settings.redis_credentials
    auth = f":{password}@" if password else ""
    hosts = ",".join(settings.redis_sentinels)
    return f"redis+sentinel://{auth}{hosts}/{settings.redis_sentinel_master}"


def install(app: Flask, settings: Settings, keyring: Keyring) -> Limiter | None:
    """Limit every /v1 request per tenant; None without tenants (no API keys: local use) or
    when COPYDESK_RATE_LIMIT is empty."""
    if not settings.rate_limit.strip() or not keyring.enabled:
        return None

    def tenant() -> str:
        found = keyring.tenant_for(request.headers.get("Authorization"))
        return f"tenant:{found}" if found else f"address:{get_remote_address()}"

    return Limiter(
        key_func=tenant,
        app=app,
        default_limits=[settings.rate_limit],
        default_limits_exempt_when=lambda: not request.path.startswith("/v1/"),
        storage_uri=storage_uri(settings),
        strategy="moving-window",
        key_prefix="copydesk:ratelimit",
        headers_enabled=True,
        header_name_mapping={
            HeaderNames.LIMIT: "RateLimit-Limit",
            HeaderNames.REMAINING: "RateLimit-Remaining",
            HeaderNames.RESET: "RateLimit-Reset",
        },
        swallow_errors=True,
    )
