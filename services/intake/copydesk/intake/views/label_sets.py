"""Serve label sets: a tenant's named topic labels, which jobs name instead of sending them."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, url_for

from copydesk.core import errors
from copydesk.core.api_models import LabelSetList, LabelSetOut, LabelSetSummary
from copydesk.core.options import LABEL_SET_NAME, LABEL_SET_NAME_RULE
from copydesk.core.schemas import LabelSetIn
from copydesk.intake.openapi import documented, responses
from copydesk.intake.views.common import bad_arg, json_object, service
from copydesk.store.labelsets import MAX_LABEL_SETS

bp = Blueprint("label_sets", __name__)


@bp.put("/v1/label-sets/<name>")
@documented(
    json=LabelSetIn,
    resp=responses({200: LabelSetSummary, 201: LabelSetSummary}, 400, 409, 413, 415, 422),
    tags=["label sets"],
)
def put_label_set(name: str) -> Response:
    """Create or replace a named set of topic labels, which jobs name as options.topics.label_set.

    Labels are names, or objects with a description and example articles. A job keeps the
    version it was submitted with, so replacing a set never changes a job already queued."""
    if not LABEL_SET_NAME.fullmatch(name):
        raise bad_arg("name", f"a label set's name is {LABEL_SET_NAME_RULE}")
    parsed, _ = json_object(ceiling=service().settings.max_label_set_bytes)
    labels = LabelSetIn.model_validate(parsed).model_dump(exclude_none=True)["labels"]
    saved = service().store.label_sets.put(g.tenant, name, labels)
    if saved is None:
        raise errors.TooManyLabelSets(
            f"this tenant keeps {MAX_LABEL_SETS} label sets, the most allowed; delete one first"
        )
    created = saved.pop("created")
    response = jsonify(saved)
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = url_for(".get_label_set", name=name)
    return response


@bp.get("/v1/label-sets/<name>")
@documented(resp=responses({200: LabelSetOut}, 404), tags=["label sets"])
def get_label_set(name: str) -> Response:
    """A label set with its labels as they were sent (``definition``)."""
    found = service().store.label_sets.get(g.tenant, _label_set_name(name))
    if found is None:
        raise errors.LabelSetNotFound(f"no label set {name!r}")
    return jsonify(found)


@bp.delete("/v1/label-sets/<name>")
@documented(resp=responses({204: None}, 404), tags=["label sets"])
def delete_label_set(name: str) -> Response:
    """Forget a label set; jobs already submitted with it still finish with its labels."""
    if not service().store.label_sets.delete(g.tenant, _label_set_name(name)):
        raise errors.LabelSetNotFound(f"no label set {name!r}")
    return Response(status=204)


@bp.get("/v1/label-sets")
@documented(resp=responses({200: LabelSetList}), tags=["label sets"])
def list_label_sets() -> Response:
    """The tenant's label sets by name: their label names and example counts."""
    return jsonify({"label_sets": service().store.label_sets.list(g.tenant)})


def _label_set_name(name: str) -> str:
    """A name as the API gives them out; anything else cannot name a set (404)."""
    if not LABEL_SET_NAME.fullmatch(name):
        raise errors.LabelSetNotFound(f"no label set {name!r}: names are {LABEL_SET_NAME_RULE}")
    return name
