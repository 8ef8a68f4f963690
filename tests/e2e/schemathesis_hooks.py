"""Tell schemathesis's generator the request rules the document states in words, not
in JSON Schema, so that a case it calls valid is one the API must accept (test_fuzz.py loads
this file). tests/unit and tests/integration hold the API to each; only the positive cases
are narrowed (a negative case is refused either way):

- Labels are unique once case and surrounding white space are set aside, whether a label
  comes as a string or an object: ``uniqueItems`` compares JSON values exactly.
- A webhook host that is an IP address, or a localhost name, is refused unless the
  deployment's COPYDESK_WEBHOOK_ALLOW_NETWORKS holds it, and a host name past DNS's 253
  characters is refused: the document's pattern states the syntax of a host, but neither
  which addresses a network policy lets through nor the length of a part of a string.
- Options only for the analyses a job names (the default ones when it names none). JSON
  Schema can say this, but for six analyses its statement multiplies into more branches
  than schemathesis's generator takes: it stopped fuzzing the job and batch bodies at all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import schemathesis
from schemathesis import GenerationMode

from copydesk.core.names import DEFAULT_ANALYSES


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:  # noqa: ARG001
    """Keep every case but a positive one breaking a rule the document states in words."""
    meta = case.meta
    if meta is None or meta.generation.mode is not GenerationMode.POSITIVE:
        return True
    body = case.body if isinstance(case.body, dict) else {}
    requests = [body, *(job for job in _list(body.get("jobs")) if isinstance(job, dict))]
    return not (
        any(_labels_collide(labels) for labels in _label_lists(requests))
        or any(_host_refused(url) for url in _webhook_urls(requests))
        or any(_options_unasked(request) for request in requests)
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _label_lists(requests: list[dict[str, Any]]) -> Iterator[list[Any]]:
    for request in requests:
        yield _list(request.get("labels"))  # PUT /v1/label-sets/{name}
        options = request.get("options")
        topics = options.get("topics") if isinstance(options, dict) else None
        yield _list(topics.get("labels") if isinstance(topics, dict) else None)


def _labels_collide(labels: list[Any]) -> bool:
    names = [label.get("label") if isinstance(label, dict) else label for label in labels]
    keys = [name.strip().casefold() for name in names if isinstance(name, str)]
    return len(set(keys)) != len(keys)


def _options_unasked(request: dict[str, Any]) -> bool:
    """Whether a job request gives options for an analysis it does not run."""
    options, named = request.get("options"), request.get("analyses", list(DEFAULT_ANALYSES))
    return isinstance(options, dict) and isinstance(named, list) and bool(set(options) - set(named))


def _webhook_urls(requests: list[dict[str, Any]]) -> Iterator[str]:
    for request in requests:
        webhook = request.get("webhook")
        if isinstance(webhook, dict) and isinstance(webhook.get("url"), str):
            yield webhook["url"]


def _host_refused(url: str) -> bool:
    """Whether the host is an address or a localhost name, which the network policy judges,
    or a name longer than DNS allows."""
    try:
        host = (urlsplit(url).hostname or "").removesuffix(".")
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost") or len(host) > 253:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
