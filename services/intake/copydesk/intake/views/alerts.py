"""Serve alerts: a tenant's saved searches that fire a signed webhook once per story.

An alert lives in the archive (PostgreSQL): the archiver evaluates it as each article is
archived (``copydesk.archive.alert_match``), so without an archive the routes answer 503
archive_off. Its webhook's secret is handled as a job's: given, or minted and shown once in
the answer that minted it, and sealed before it is stored.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import redis
from flask import Blueprint, Response, g, jsonify, request, url_for

from copydesk.archive import alert_state
from copydesk.archive.alert_state import events_key
from copydesk.archive.alerts import Alert, AlertBook, Limits
from copydesk.core import errors
from copydesk.core.api_models import (
    ALERT_DELIVERY_ID,
    ALERT_NAME,
    ALERT_NAME_RULE,
    EVENT_ID,
    AlertDeliveries,
    AlertDeliveryQuery,
    AlertFired,
    AlertIn,
    AlertList,
    AlertListQuery,
    AlertOut,
    EventHeaders,
    EventQuery,
)
from copydesk.intake.openapi import documented, responses
from copydesk.core.render import webhook_view
from copydesk.intake.views.common import bad_arg, json_object, service
from copydesk.intake.views.events import RETRY_MS, event_stream, longest_wait
from copydesk.intake.views.searching import query, run

bp = Blueprint("alerts", __name__)


@bp.put("/v1/alerts/<name>")
@documented(
    json=AlertIn,
    resp=responses({200: AlertOut, 201: AlertOut}, 400, 409, 413, 415, 422),
    tags=["alerts"],
)
def put_alert(name: str) -> Response:
    """Create or replace an alert: GET /v1/articles's filters, conditions on the story, and a
    webhook.

    Each article archived from then on that matches fires it once per story: the first
    matching article of a story fires an `alert.fired` event, its duplicates and later
    articles do not (an article without a story fires once). With `conditions.story_size`
    it fires once, when the story crosses the size. Replacing keeps what it fired."""
    if not ALERT_NAME.fullmatch(name):
        raise bad_arg("name", f"an alert's name is {ALERT_NAME_RULE}")
    parsed, _ = json_object(ceiling=service().settings.alert_max_body_bytes)
    alert_in = AlertIn.model_validate(parsed)
    book = _book()
    webhook = None
    if alert_in.webhook is not None:
        service()._check_destination(alert_in)
        webhook = service()._webhook(alert_in)
    saved, created = run(
        lambda: book.put(
            g.tenant,
            name,
            filters=alert_in.filters.model_dump(exclude_none=True),
            conditions=alert_in.conditions.model_dump(exclude_none=True),
            webhook=webhook,
        )
    )
    shown = saved.view()
    minted = service().minted_secret({"webhook": webhook})
    if minted is not None:
        shown["webhook"]["secret"] = minted
    response = jsonify(shown)
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = url_for(".get_alert", name=name)
    return response


@bp.get("/v1/alerts/<name>")
@documented(resp=responses({200: AlertOut}, 404), tags=["alerts"])
def get_alert(name: str) -> Response:
    """An alert: its filters, conditions and webhook URL (never its secret)."""
    return jsonify(load_alert(name).view())


@bp.delete("/v1/alerts/<name>")
@documented(resp=responses({204: None}, 404), tags=["alerts"])
def delete_alert(name: str) -> Response:
    """Forget an alert and what it fired; deliveries already queued still go out."""
    book = _book()
    if not run(lambda: book.delete(g.tenant, _alert_name(name))):
        raise errors.AlertNotFound(f"no alert {name!r}")
    return Response(status=204)


@bp.get("/v1/alerts")
@documented(query=AlertListQuery, resp=responses({200: AlertList}, 422), tags=["alerts"])
def list_alerts() -> Response:
    """The tenant's alerts by name, a page at a time (`after` the last name of a page)."""
    asked = query(AlertListQuery)
    book = _book()
    found = run(lambda: book.page(g.tenant, after=asked.after, limit=asked.limit + 1))
    page: dict[str, Any] = {"alerts": [alert.view() for alert in found[: asked.limit]]}
    if len(found) > asked.limit:
        args = {k: v for k, v in request.args.items() if k != "after"}
        page["next"] = url_for(".list_alerts", **args, after=found[asked.limit - 1].name)
    return jsonify(page)


@bp.get("/v1/alerts/<name>/events")
@documented(
    headers=EventHeaders,
    query=EventQuery,
    resp=responses({200: None}, 404, 422, media="text/event-stream", events=AlertFired),
    tags=["alerts"],
)
def alert_events(name: str) -> Response:
    """Stream the alert's `alert.fired` events (Server-Sent Events) as they happen.

    From the oldest the stream keeps (the last COPYDESK_ALERT_EVENTS_KEPT, for
    COPYDESK_JOB_TTL_SECONDS after the last), or after `Last-Event-ID`. An idle stream carries
    a keep-alive comment every COPYDESK_SSE_KEEPALIVE_SECONDS; a stream lasts at most
    COPYDESK_SSE_MAX_SECONDS, and the client then reconnects with Last-Event-ID and loses
    nothing. Past COPYDESK_SSE_MAX_STREAMS in one process: 503 `too_many_streams`."""
    alert = load_alert(name)
    header, asked = request.headers.get("Last-Event-ID"), request.args.get("last_event_id")
    for arg, given in (("Last-Event-ID", header), ("last_event_id", asked)):
        if given not in (None, "", "0") and not EVENT_ID.fullmatch(given):
            raise bad_arg(arg, "not an event id this API gave out")
    settings = service().settings
    return event_stream(
        follow(
            service().store.redis,
            events_key(alert.id),
            after=header or asked or "0",
            until=time.monotonic() + settings.sse_max_seconds,
            keepalive=settings.sse_keepalive_seconds,
        )
    )


def follow(
    client: redis.Redis, stream: str, *, after: str, until: float, keepalive: float
) -> Iterator[str]:
    """Yield the stream's events after the entry ``after`` as SSE text until ``until`` (a
    monotonic time), with a keep-alive comment whenever ``keepalive`` seconds pass without
    one."""
    cursor, longest = after, longest_wait(client, keepalive)
    yield f"retry: {RETRY_MS}\n\n"
    quiet_until = time.monotonic() + keepalive
    while (now := time.monotonic()) < until:
        block = max(1, int(1000 * (min(quiet_until, until, now + longest) - now)))
        found = client.xread({stream: cursor}, block=block, count=100)
        for entry_id, fields in found[0][1] if found else ():
            cursor = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
            yield f"id: {cursor}\nevent: alert.fired\ndata: {fields[b'event'].decode()}\n\n"
        if found:
            quiet_until = time.monotonic() + keepalive
        elif time.monotonic() >= quiet_until:
            yield ": keep-alive\n\n"
            quiet_until = time.monotonic() + keepalive


@bp.get("/v1/alerts/<name>/deliveries")
@documented(
    query=AlertDeliveryQuery, resp=responses({200: AlertDeliveries}, 404, 422), tags=["alerts"]
)
def get_alert_deliveries(name: str) -> Response:
    """The alert's latest firings, newest first, each with its webhook's attempts."""
    asked = query(AlertDeliveryQuery)
    return jsonify(_deliveries(load_alert(name), limit=asked.limit))


@bp.post("/v1/alerts/<name>/deliveries/<delivery>/redeliver")
@documented(resp=responses({202: AlertDeliveries}, 404), tags=["alerts"])
def redeliver_alert(name: str, delivery: str) -> Response:
    """Send a firing's event again (same `webhook-id`), from the first attempt of the schedule."""
    alert = load_alert(name)
    firing_id = delivery.removeprefix("msg_alert_")
    book = _book()
    if not ALERT_DELIVERY_ID.fullmatch(delivery) or not run(
        lambda: book.fired(g.tenant, alert.id, firing_id)
    ):
        raise errors.DeliveryNotFound(f"alert {name!r} has no delivery {delivery[:100]!r}")
    fired = alert_state.firing(service().store.redis, firing_id)
    if fired is None or not fired.get("webhook"):
        raise errors.DeliveryNotFound(
            f"delivery {delivery!r} has no webhook to send again (none, or it expired)"
        )
    gone = service().store.gone_marker(fired["webhook"]["url"])
    if alert_state.redeliver(service().store.redis, firing_id, url_gone=gone) != "pending":
        raise errors.DeliveryNotFound(f"delivery {delivery!r} expired")
    response = jsonify(_deliveries(alert, limit=20))
    response.status_code = 202
    return response


def _deliveries(alert: Alert, *, limit: int) -> dict[str, Any]:
    book, client = _book(), service().store.redis
    shown = []
    for firing in run(lambda: book.firings(g.tenant, alert.id, limit=limit)):
        fired = alert_state.firing(client, firing["firing_id"])
        webhook = webhook_view(fired) if fired and fired.get("webhook") else None
        attempts = alert_state.attempts(client, firing["firing_id"]) if webhook else []
        delivery = alert_state.delivery_id(firing["firing_id"])
        shown.append({"delivery_id": delivery, **firing, "webhook": webhook, "attempts": attempts})
    return {"alert": alert.name, "deliveries": shown}


def load_alert(name: str) -> Alert:
    """The tenant's alert by name; 404 alert_not_found for any other name."""
    book = _book()
    found = run(lambda: book.get(g.tenant, _alert_name(name)))
    if found is None:
        raise errors.AlertNotFound(f"no alert {name!r}")
    return found


def _alert_name(name: str) -> str:
    """A name as alerts are named; anything else names none (404)."""
    if not ALERT_NAME.fullmatch(name):
        raise errors.AlertNotFound(f"no alert {name[:100]!r}: names are {ALERT_NAME_RULE}")
    return name


def _book() -> AlertBook:
    """The tenant's alerts in the archive, or 503 archive_off without one."""
    archive = service().archive
    if archive is None:
        raise errors.ArchiveOff(
            "this deployment keeps no archive (COPYDESK_DATABASE_URL is not set): alerts "
            "are kept and evaluated there"
        )
    settings = service().settings
    limits = Limits(
        most=settings.alerts_max,
        on_term=settings.alerts_max_on_term,
        broad=settings.alerts_max_broad,
    )
    return AlertBook(archive, limits=limits)
