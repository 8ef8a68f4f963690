"""Scripts name their keys and arguments: the Python call and the Lua cannot drift apart."""

from __future__ import annotations

import pytest

from copydesk.accept.state import CREATE
from copydesk.store.scripts import Script


def test_a_call_is_laid_out_in_the_declared_order() -> None:
    script = Script(
        keys=("job", "batch?", "*queues"),
        args=("job_id", "*messages"),
        body="return {K.job, K.batch, K.queues, A.job_id, A.messages}",
    )
    keys, args = script.lay_out(
        {"queues": ["q1", "q2"], "job": "j"}, {"messages": ["m1", "m2"], "job_id": "1"}
    )
    assert (keys, args) == (["j", "", "q1", "q2"], ["1", "m1", "m2"])  # '' : no batch
    assert script.lay_out({"job": "j", "batch": "b", "queues": []}, {"job_id": 1, "messages": []})[
        0
    ] == ["j", "b"]
    prelude = script.source.splitlines()[0]
    assert "batch = KEYS[2] ~= '' and KEYS[2] or nil" in prelude
    assert "queues = {unpack(KEYS, 3)}" in prelude


@pytest.mark.parametrize(
    ("keys", "args", "error"),
    [
        ({"job": "j"}, {"job_id": "1"}, "missing script key: queues"),
        ({"queues": []}, {"job_id": "1"}, "missing script key: job"),
        ({"job": "j", "queues": []}, {}, "missing script argument: job_id"),
        ({"job": "j", "queues": [], "jobs": "x"}, {"job_id": "1"}, "unknown script keys: jobs"),
        ({"job": "j", "queues": []}, {"job_id": "1", "ttl": 5}, "unknown script arguments: ttl"),
    ],
)
def test_a_call_with_a_missing_or_unknown_name_is_refused(
    keys: dict, args: dict, error: str
) -> None:
    script = Script(
        keys=("job", "*queues"), args=("job_id",), body="return {K.job, K.queues, A.job_id}"
    )
    with pytest.raises(TypeError, match=error):
        script.lay_out(keys, args)


@pytest.mark.parametrize(
    ("keys", "args", "body", "error"),
    [
        (("job",), (), "redis.call('DEL', K.job, K.raw)", r"read but not declared \['raw'\]"),
        (("job", "raw"), (), "redis.call('DEL', K.job)", r"declared but not read \['raw'\]"),
        (("job",), ("ttl",), "redis.call('DEL', K.job)", r"declared but not read \['ttl'\]"),
        (("*queues", "job"), (), "return {K.queues, K.job}", "a list comes last"),
    ],
)
def test_a_body_that_disagrees_with_its_declaration_fails_at_import(
    keys: tuple, args: tuple, body: str, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        Script(keys=keys, args=args, body=body)


def test_a_key_chosen_by_prefix_counts_as_read() -> None:
    Script(keys=("jobs_queued", "jobs_running"), args=("s",), body="return K['jobs_' .. A.s]")


def test_create_takes_named_arguments_not_eighteen_positions() -> None:
    assert {"job_id", "record", "tenant", "ttl", "gone_ttl"} <= set(CREATE.args)
    assert {"job", "stats", "jobs", "jobs_queued", "stream", "gone"} <= set(CREATE.keys)
