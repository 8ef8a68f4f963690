"""Junk through a real worker: text with no words fails every analysis as ``not_prose``, and
a wire story's dateline and cleaning report reach the job as the prepare stage found them."""

from __future__ import annotations

from copydesk.devstack.waiting import wait_for

TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}


def _finished(client, body: dict) -> dict:  # noqa: ANN001
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == 202, response.get_data(as_text=True)
    job_id = response.get_json()["id"]

    def poll() -> dict | None:
        job = client.get(f"/v1/jobs/{job_id}").get_json()
        return job if job["status"] in TERMINAL else None

    return wait_for(poll, timeout=120, every=0.2)


def test_junk_fails_every_analysis_as_not_prose(client, start_worker) -> None:  # noqa: ANN001
    start_worker()
    for junk in ("x" * 100_000, "0123456789 " * 300, "🚀🔥😀 " * 200):
        job = _finished(client, {"article": {"text": junk}})
        assert job["status"] == "failed", job
        problems = [result["error"] for result in job["results"].values()]
        assert {(p["code"], p["status"]) for p in problems} == {("not_prose", 422)}


def test_a_wire_story_loses_its_dateline(client, start_worker) -> None:  # noqa: ANN001
    start_worker()
    story = (
        "SHREWSBURY, England, March 3 (Reuters) - A Shropshire farmer has found a hoard of "
        "Roman coins while ploughing a field, the county's finds officer said on Monday.\n\n"
        "The hoard of about 300 silver coins was buried in a clay pot around AD 250.\n\n"
        "Museums in the county hope to raise the money to buy it for public display."
    )
    job = _finished(client, {"article": {"text": story}, "analyses": ["summary"]})
    assert job["status"] == "succeeded", job
    text = client.get(f"/v1/jobs/{job['id']}/text").get_data(as_text=True)
    assert text.startswith("A Shropshire farmer") and "(Reuters)" not in text
    for sentence in job["results"]["summary"]["sentences"]:
        assert text[sentence["start"] : sentence["end"]] == sentence["text"]
        assert "Reuters" not in sentence["text"]
    cleaning = job["article"]["cleaning"]
    assert cleaning["removed_lines"] == 0
    assert cleaning["removed_characters"] == len("SHREWSBURY, England, March 3 (Reuters) - ")
