"""Serve the OpenAPI document and the interactive docs (spectree's pages under /docs/).

The document served is this deployment's: what its models cannot do is not offered, so a
request the document calls valid is one this intake accepts (a language hint no requested
analysis reads, an abstractive summary without a seq2seq model, label examples with an NLI
topic model would each be a 422). It also gives each path parameter its form, which spectree
cannot read from a Flask rule: an id this API never gives out names nothing.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from typing import Any, NamedTuple

from flask import Blueprint, Flask, Response, jsonify, redirect

from copydesk.core.analyses import REGISTRY
from copydesk.core.api_models import DELIVERY_ID
from copydesk.core.ids import JOB_ID
from copydesk.core.models_view import languages, offers_abstractive, reads_label_examples
from copydesk.core.names import DEFAULT_ANALYSES
from copydesk.core.options import LABEL_SET_NAME
from copydesk.core.schemas import language_pattern
from copydesk.core.settings import Settings
from copydesk.intake.openapi import document, spec
from copydesk.intake.views.common import service

bp = Blueprint("docs", __name__)

PATH_FORMATS = {  # the form of each path parameter, as the views check it
    "job_id": f"^{JOB_ID.pattern}$",
    "batch_id": f"^{JOB_ID.pattern}$",
    "story_id": f"^{JOB_ID.pattern}$",
    "delivery": f"^{DELIVERY_ID.pattern}$",
    "name": LABEL_SET_NAME.pattern,
}


class Offer(NamedTuple):
    """What this deployment's models take, as the document states it."""

    languages: tuple[tuple[str, tuple[str, ...] | None], ...]  # per analysis; None: any
    defaults: tuple[str, ...]  # the analyses a job that names none runs
    abstractive: bool
    label_examples: bool

    @classmethod
    def of(cls, settings: Settings) -> Offer:
        return cls(
            languages=tuple((name, languages(a, settings)) for name, a in REGISTRY.items()),
            defaults=tuple(DEFAULT_ANALYSES),
            abstractive=offers_abstractive(settings),
            label_examples=reads_label_examples(settings),
        )


@functools.cache
def deployment_document(*, keys: bool, offer: Offer) -> dict[str, Any]:
    """The document with the path parameters' forms, and only what ``offer`` takes:
    article.language narrowed to the codes the requested analyses read, summary.mode without
    abstractive, labels without examples."""
    narrowed = copy.deepcopy(document(keys=keys))
    for item in narrowed["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", ()):
                if parameter["in"] == "path":
                    parameter["schema"]["pattern"] = PATH_FORMATS[parameter["name"]]
    schemas = narrowed["components"]["schemas"]
    read = dict(offer.languages)
    for article in _request_models(schemas, "ArticleIn"):
        article["properties"]["language"]["pattern"] = _pattern(read.values())
    if len(set(read.values())) > 1:  # which codes go depends on the analyses named
        branches = _language_branches(read, defaults=offer.defaults)
        for job in _request_models(schemas, "JobRequest"):
            job.setdefault("allOf", []).append({"anyOf": branches})
    if not offer.abstractive:
        for options in _request_models(schemas, "SummaryOptions"):
            options["properties"]["mode"]["anyOf"][0]["enum"] = ["extractive"]
    if not offer.label_examples:
        for label in _request_models(schemas, "LabelIn"):
            label["properties"]["examples"] = {
                "type": "null",
                "description": "This deployment's topic model reads no examples.",
            }
    return narrowed


def _request_models(schemas: dict[str, Any], name: str) -> Iterator[dict[str, Any]]:
    """The schemas of model ``name`` in a job request (a job's or a batch's; not a label set's,
    whose labels may bring examples a job naming the set cannot use)."""
    for key, schema in schemas.items():
        parent, _, *nested = key.split(".")
        if parent in ("JobRequest", "BatchRequest") and (nested or [parent]) == [name]:
            yield schema


def _pattern(codes: Any) -> str:
    """The language tags that any of these analyses reads (all ISO 639-1 if one reads any)."""
    if any(read is None for read in codes):
        return language_pattern()
    return language_pattern({code for read in codes for code in read})


def _language_branches(
    read: dict[str, tuple[str, ...] | None], *, defaults: tuple[str, ...]
) -> list[dict[str, Any]]:
    """A job's hint is none, or read by one of its analyses (the default ones, when it names
    none)."""

    def hint(*codes: tuple[str, ...] | None) -> dict[str, Any]:
        return {"properties": {"language": {"pattern": _pattern(codes)}}}

    unnamed = hint(*(read[name] for name in defaults))
    return [
        {"properties": {"article": {"properties": {"language": {"type": "null"}}}}},
        {"not": {"required": ["analyses"]}, "properties": {"article": unnamed}},
        *(
            {
                "required": ["analyses"],
                "properties": {"analyses": {"contains": {"const": name}}, "article": hint(codes)},
            }
            for name, codes in read.items()
        ),
    ]


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this API (asking for a key only when keys are set)."""
    intake = service()
    offer = Offer.of(intake.settings)
    return jsonify(deployment_document(keys=intake.keyring.enabled, offer=offer))


@bp.get("/docs")
@bp.get("/docs/")
def docs() -> Response:
    """Interactive API docs (Swagger UI)."""
    return redirect("/docs/swagger/")


def register(app: Flask) -> None:
    """Serve this blueprint and spectree's docs pages, their assets bundled (no CDN).

    spectree builds the document from the app's routes when it is first asked for. Its pages
    read /docs/openapi.json, which serves the same document as /openapi.json."""
    app.register_blueprint(bp)
    spec.register(app)  # /docs/openapi.json, /docs/swagger/, /docs/redoc/, /docs/scalar/
    app.view_functions[f"openapi_{spec.config.path}"] = openapi_document
