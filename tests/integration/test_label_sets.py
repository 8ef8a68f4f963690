"""Stored label sets over the real intake and Redis: create, replace, list, delete, tenants,
and jobs that name a set, analysed by a real worker with the version they were submitted with."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from copydesk.store.labelsets import MAX_LABEL_SETS
from copydesk.devstack.waiting import wait_for

SHIPPING = [
    "The container ship was held at the port after customs found a fault in its papers.",
    "Freight rates for bulk carriers rose as the canal queue grew to forty vessels.",
]
CARGO = "Dockworkers loaded the cargo vessel overnight so it could leave the harbour at dawn."
DESKS = [{"label": "desk 7", "examples": SHIPPING}, "sport", "weather"]


def _put(client, name: str, labels, **headers):  # noqa: ANN001, ANN201
    return client.put(
        f"/v1/label-sets/{name}",
        data=json.dumps({"labels": labels}),
        content_type="application/json",
        headers=headers,
    )


def _submit(client, options: dict, **headers) -> dict:  # noqa: ANN001
    body = {"article": {"text": CARGO}, "analyses": ["topics"], "options": {"topics": options}}
    response = client.post(
        "/v1/jobs", data=json.dumps(body), content_type="application/json", headers=headers
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()


def _finished(client, job_id: str) -> dict:  # noqa: ANN001
    def poll() -> dict | None:
        job = client.get(f"/v1/jobs/{job_id}").get_json()
        return job if job["status"] not in ("queued", "running") else None

    return wait_for(poll, timeout=120, every=0.2)


def test_create_read_replace_list_and_delete(client) -> None:  # noqa: ANN001
    created = _put(client, "desks", DESKS)
    assert created.status_code == 201 and created.headers["Location"].endswith("/desks")
    view = created.get_json()
    assert view["labels"] == ["desk 7", "sport", "weather"] and view["examples"] == 2
    assert view["created_at"] == view["updated_at"]

    full = client.get("/v1/label-sets/desks").get_json()
    assert full["definition"] == DESKS and full["version"] == view["version"]

    replaced = _put(client, "desks", ["sport", "weather"])
    assert replaced.status_code == 200
    assert replaced.get_json()["version"] != view["version"]
    assert replaced.get_json()["created_at"] == view["created_at"]
    assert (
        _put(client, "desks", ["sport", "weather"]).get_json()["version"]
        == (
            replaced.get_json()["version"]  # the same labels: the same version
        )
    )

    _put(client, "another", ["politics"])
    listed = client.get("/v1/label-sets").get_json()["label_sets"]
    assert [entry["name"] for entry in listed] == ["another", "desks"]
    assert "definition" not in listed[0]

    assert client.delete("/v1/label-sets/desks").status_code == 204
    for response in (client.get("/v1/label-sets/desks"), client.delete("/v1/label-sets/desks")):
        assert response.status_code == 404
        assert response.get_json()["code"] == "label_set_not_found"


@pytest.mark.parametrize(
    ("name", "labels", "field"),
    [
        ("bad name!", ["sport"], "name"),
        ("desks", [], "labels"),
        ("desks", ["sport", "Sport"], "labels"),
        ("desks", [{"label": "x", "examples": ["An example."] * 21}], "labels.0.examples"),
        ("desks", [{"label": "x", "colour": "red"}], "labels.0.colour"),
    ],
)
def test_a_bad_label_set_is_a_422_naming_the_field(client, name, labels, field) -> None:  # noqa: ANN001
    response = _put(client, name, labels)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "validation_failed"
    assert field in [issue["field"] for issue in problem["errors"]]


def test_a_tenant_keeps_a_bounded_number_of_sets(client) -> None:  # noqa: ANN001
    for number in range(MAX_LABEL_SETS):
        assert _put(client, f"set-{number}", ["sport"]).status_code == 201
    refused = _put(client, "one-more", ["sport"])
    assert refused.status_code == 409 and refused.get_json()["code"] == "too_many_label_sets"
    assert _put(client, "set-0", ["weather"]).status_code == 200  # replacing still works


def test_a_job_naming_an_unknown_set_or_both_sources_is_refused(client) -> None:  # noqa: ANN001
    body = {"article": {"text": CARGO}, "options": {"topics": {"label_set": "nowhere"}}}
    response = client.post("/v1/jobs", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 409  # a valid job, naming what the tenant does not keep
    assert response.get_json()["code"] == "unknown_label_set"
    assert response.get_json()["errors"][0]["field"] == "options.topics.label_set"
    batch = {"jobs": [{"article": {"text": CARGO}}, body]}
    response = client.post("/v1/batches", data=json.dumps(batch), content_type="application/json")
    assert response.status_code == 409
    assert response.get_json()["errors"][0]["field"] == "jobs.1.options.topics.label_set"
    _put(client, "desks", DESKS)
    body["options"]["topics"] = {"label_set": "desks", "labels": ["sport"]}
    response = client.post("/v1/jobs", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 422 and response.get_json()["code"] == "validation_failed"


def test_jobs_read_the_version_they_were_submitted_with(client, start_worker) -> None:  # noqa: ANN001
    _put(client, "desks", DESKS)
    before = _submit(client, {"label_set": "desks", "top_k": 3})
    assert before["options"]["topics"]["label_set"] == "desks"
    _put(client, "desks", ["sport", "weather", "politics"])  # while the first job waits
    after = _submit(client, {"label_set": "desks", "top_k": 3})
    client.delete("/v1/label-sets/desks")  # the versions jobs named stay for the job TTL
    start_worker()
    first, second = _finished(client, before["id"]), _finished(client, after["id"])
    assert first["status"] == second["status"] == "succeeded", (first, second)
    assert first["results"]["topics"]["labels"][0]["label"] == "desk 7"
    assert {x["label"] for x in second["results"]["topics"]["labels"]} == {
        "sport",
        "weather",
        "politics",
    }
    versions = {first["options"]["topics"]["label_set_version"]}
    assert second["options"]["topics"]["label_set_version"] not in versions


def test_label_sets_belong_to_their_tenant(settings, make_client) -> None:  # noqa: ANN001
    keys = "newsroom:k3y-for-the-newsroom-1,monitor:another-long-key-22"
    keyed = make_client(settings.model_copy(update={"api_keys": SecretStr(keys)}))
    newsroom = {"Authorization": "Bearer k3y-for-the-newsroom-1"}
    monitor = {"Authorization": "Bearer another-long-key-22"}
    assert _put(keyed, "desks", DESKS, **newsroom).status_code == 201
    assert keyed.get("/v1/label-sets/desks", headers=monitor).status_code == 404
    assert keyed.get("/v1/label-sets", headers=monitor).get_json() == {"label_sets": []}
    body = {"article": {"text": CARGO}, "options": {"topics": {"label_set": "desks"}}}
    refused = keyed.post(
        "/v1/jobs", data=json.dumps(body), content_type="application/json", headers=monitor
    )
    assert refused.status_code == 409 and refused.get_json()["code"] == "unknown_label_set"
    assert _put(keyed, "desks", ["sport"], **monitor).status_code == 201  # its own, apart
    assert keyed.get("/v1/label-sets/desks", headers=newsroom).get_json()["definition"] == DESKS
    assert keyed.put("/v1/label-sets/desks", data="{}").status_code == 401


def test_a_version_no_longer_stored_fails_topics_alone(client, start_worker, redis_client) -> None:  # noqa: ANN001
    _put(client, "desks", DESKS)
    body = {
        "article": {"text": CARGO},
        "analyses": ["summary", "topics"],
        "options": {"topics": {"label_set": "desks"}},
    }
    response = client.post("/v1/jobs", data=json.dumps(body), content_type="application/json")
    job = response.get_json()
    version = job["options"]["topics"]["label_set_version"]
    redis_client.delete(f"copydesk:labelset:public:desks:v:{version}")  # as if evicted
    start_worker()
    finished = _finished(client, job["id"])
    assert finished["status"] == "partially_succeeded", finished
    assert finished["results"]["summary"]["status"] == "succeeded"
    error = finished["results"]["topics"]["error"]
    assert error["code"] == "label_set_gone" and version in error["detail"]


def test_old_versions_stay_only_when_a_job_named_them(client, redis_client, settings) -> None:  # noqa: ANN001
    def stored(version: str) -> int:  # the version key's TTL: -2 gone, -1 kept for good
        return redis_client.ttl(f"copydesk:labelset:public:desks:v:{version}")

    first = _put(client, "desks", ["sport"]).get_json()["version"]
    second = _put(client, "desks", ["weather"]).get_json()["version"]
    assert stored(first) == -2 and stored(second) == -1  # no job named the first: gone at once
    _submit(client, {"label_set": "desks"})
    third = _put(client, "desks", ["politics"]).get_json()["version"]
    assert 0 < stored(second) <= settings.job_ttl_seconds and stored(third) == -1
    client.delete("/v1/label-sets/desks")
    assert stored(third) == -2  # no job named it either


def test_a_retry_after_its_set_went_replays_the_first_job(client) -> None:  # noqa: ANN001
    _put(client, "desks", DESKS)
    body = {"article": {"text": CARGO}, "options": {"topics": {"label_set": "desks"}}}
    headers = {"Idempotency-Key": "retry-me-1"}
    first = client.post(
        "/v1/jobs", data=json.dumps(body), content_type="application/json", headers=headers
    )
    client.delete("/v1/label-sets/desks")
    again = client.post(
        "/v1/jobs", data=json.dumps(body), content_type="application/json", headers=headers
    )
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]


def test_an_nli_deployment_refuses_examples_up_front(settings, make_client) -> None:  # noqa: ANN001
    nli = make_client(settings.model_copy(update={"topics_model": "an/nli-model"}))
    _put(nli, "desks", DESKS)
    _put(nli, "described", [{"label": "ships", "description": "ports and cargo"}, "sport"])
    for topics in ({"labels": DESKS}, {"label_set": "desks"}):
        body = {"article": {"text": CARGO}, "options": {"topics": topics}}
        refused = nli.post("/v1/jobs", data=json.dumps(body), content_type="application/json")
        assert refused.status_code == 422, refused.get_json()
        assert refused.get_json()["code"] == "analysis_unavailable"
    body = {"article": {"text": CARGO}, "options": {"topics": {"label_set": "described"}}}
    accepted = nli.post("/v1/jobs", data=json.dumps(body), content_type="application/json")
    assert accepted.status_code == 202
