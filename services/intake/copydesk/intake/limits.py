"""Per-tenant rate limits (flask-limiter, counted in Redis so every intake process agrees).

The tenant is read from the API key here, not from the view's hook: flask-limiter checks
before any blueprint code runs. A request without a valid key is counted by its address (its
401 follows). COPYDESK_RATE_LIMIT is one budget per tenant for all of /v1 (flask-limiter's
application limits), not one per route.

Answers carry ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` as the IETF
RateLimit header fields draft defines them: Reset is the seconds until the window frees a
request, not a time. A request over the limit gets 429 ``rate_limited`` with ``Retry-After``;
no other answer gets one from here (flask-limiter's own headers would put an epoch time in
Reset and a Retry-After on every answer, so this module writes them instead).
If Redis cannot count, the request is let through: the job store then answers for itself.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from copydesk.core.settings import Settings
from copydesk.intake.auth import Keyring

log = logging.getLogger(__name__)


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

    limiter = Limiter(
        key_func=tenant,
        app=app,
        application_limits=[settings.rate_limit],
        application_limits_exempt_when=lambda: not request.path.startswith("/v1/"),
        storage_uri=storage_uri(settings),
        strategy="moving-window",
        key_prefix="copydesk:ratelimit",
        headers_enabled=False,  # written by _headers below
        swallow_errors=True,
    )

    @app.after_request
    def _headers(response: Response) -> Response:
        return rate_limit_headers(limiter, response)

    return limiter


def rate_limit_headers(limiter: Limiter, response: Response) -> Response:
    """Write the RateLimit fields of the request's tightest limit, and Retry-After on its 429."""
    current = limiter.current_limit
    if current is None:
        return response
    try:
        window = current.window  # one read of the counter: (reset time, remaining)
        reset = max(1, math.ceil(window.reset_time - time.time()))
        remaining = window.remaining
    except Exception as exc:  # noqa: BLE001 - Redis could not say: answer without the fields
        log.warning("rate limit headers unavailable: %r", exc)
        return response
    response.headers["RateLimit-Limit"] = str(current.limit.amount)
    response.headers["RateLimit-Remaining"] = str(remaining)
    response.headers["RateLimit-Reset"] = str(reset)
    if current.breached and response.status_code == 429:
        response.headers["Retry-After"] = str(reset)
    return response
