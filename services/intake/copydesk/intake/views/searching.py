"""Read the archive the way the search views (and the jobs listing) do.

Search reads PostgreSQL only (``copydesk.archive.search``), so it answers 503 archive_off in
a deployment without an archive, 503 search_timeout past its time and archive_unavailable
when PostgreSQL does not answer. A query string is checked against the same pydantic model
the OpenAPI document is made of, so what the document calls valid is what a view accepts;
every other input is 422 validation_failed naming its field.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg
from flask import request
from pydantic import BaseModel, ValidationError

from copydesk.archive.search import ArchiveSearch, SearchTimeout
from copydesk.core import errors
from copydesk.intake.views.common import service

Query = TypeVar("Query", bound=BaseModel)
# an RFC 3339 date-time, the only form a time may take (pydantic alone would also read a
# number as a Unix time); it allows what Python's datetime cannot hold: a leap second, year 0
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9][0-9]-[0-9][0-9][Tt][0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.\d+)?([Zz]|[+-][0-9][0-9]:[0-9][0-9])"
)
LEAP_SECOND = re.compile(r"(?<=[Tt]\d\d:\d\d:)60")
YEAR_ZERO = re.compile(r"^0000(?=-)")


def search() -> ArchiveSearch:
    """The archive's search, or 503 archive_off without an archive."""
    archive = service().archive
    if archive is None:
        raise errors.ArchiveOff(
            "this deployment keeps no archive (COPYDESK_DATABASE_URL is not set): search needs one"
        )
    return ArchiveSearch(archive, timeout_ms=service().settings.archive_search_timeout_ms)


def query(model: type[Query]) -> Query:
    """The request's query string as ``model``, or 422 validation_failed naming each field."""
    given: dict[str, Any] = {}
    for name, value in request.args.items():
        if name in ("since", "until"):
            if not RFC3339.fullmatch(value):
                raise errors.ValidationFailed(
                    f"{name}: not an RFC 3339 date-time",
                    errors=[{"field": name, "message": "not an RFC 3339 date-time"}],
                )
            value = YEAR_ZERO.sub("0001", LEAP_SECOND.sub("59", value))
        given[name] = value
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        fields: dict[str, str] = {}  # a field's first problem (a union names one per member)
        for e in exc.errors(include_url=False):
            fields.setdefault(str(e["loc"][0]) if e["loc"] else "(query)", e["msg"])
        problems = [{"field": field, "message": message} for field, message in fields.items()]
        raise errors.ValidationFailed(
            "; ".join(f"{p['field']}: {p['message']}" for p in problems), errors=problems
        ) from exc


def utc(moment: datetime | None) -> datetime | None:
    """``moment`` in UTC, held within what Python's datetime can hold."""
    if moment is None:
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return (datetime.min if moment.year < 5000 else datetime.max).replace(tzinfo=UTC)


def shift(moment: datetime, delta: timedelta) -> datetime:
    try:
        return moment + delta
    except OverflowError:
        return (datetime.min if delta < timedelta(0) else datetime.max).replace(tzinfo=UTC)


def run(read: Any) -> Any:
    """Run a read of the archive: 503 search_timeout past its time, archive_unavailable when
    PostgreSQL does not answer."""
    try:
        return read()
    except SearchTimeout as exc:
        raise errors.SearchTimeout(
            "the search ran past COPYDESK_ARCHIVE_SEARCH_TIMEOUT_MS: narrow it (a time range, "
            "an entity, a ref) or retry"
        ) from exc
    except psycopg.Error as exc:
        raise errors.ArchiveUnavailable("the archive does not answer; retry shortly") from exc
