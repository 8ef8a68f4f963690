"""The ``copydesk`` command against the real intake over HTTP (and a real worker for --wait):
one-line errors with their exit codes, ``file:line`` for each refused article while the rest
are sent, and every result naming the file (and line) it came from."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from copydesk.client import Client
from copydesk.core.settings import Settings
from copydesk.devstack.redis_server import free_port

COPYDESK = [sys.executable, "-m", "copydesk.cli"]
UNKNOWN = "0" * 32


@pytest.fixture
def serve(redis_client: Any) -> Iterator[Callable[[Settings], str]]:
    """Serve the real intake app for given settings over HTTP on 127.0.0.1 from a thread;
    returns its base URL.

    Werkzeug's development server hands the app the raw socket as ``wsgi.input``; gunicorn
    bounds it by Content-Length, and the intake reads it so: bound it here the same way.
    """
    from werkzeug.serving import make_server
    from werkzeug.wsgi import LimitedStream

    from copydesk.intake import create_app

    running = []

    def start(settings: Settings) -> str:
        app = create_app(settings)

        def bounded(environ: dict[str, Any], start_response: Any) -> Any:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            environ["wsgi.input"] = LimitedStream(environ["wsgi.input"], length)
            return app(environ, start_response)

        server = make_server("127.0.0.1", 0, bounded, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running.append((app, server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for app, server, thread in running:
        server.shutdown()
        thread.join()
        server.server_close()
        app.extensions["copydesk"].store.redis.close()


@pytest.fixture
def intake(serve: Callable[[Settings], str], settings: Settings) -> str:
    return serve(settings)


def copydesk(*args: str, url: str, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*COPYDESK, *args, "--url", url],
        stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120,
    )  # fmt: skip


def closed_pipe() -> int:
    """A pipe's write end whose reader has gone, as after ``| head`` has read its lines."""
    read, write = os.pipe()
    os.close(read)
    return write


@pytest.mark.parametrize("command", ["get", "watch"])
def test_an_unknown_job_is_one_line_naming_the_code(intake: str, command: str) -> None:
    began = time.monotonic()
    run = copydesk(command, UNKNOWN, url=intake)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith("copydesk: 404 job_not_found: no job with id")
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert time.monotonic() - began < 10  # no retries of a 404


@pytest.mark.parametrize("command", ["get", "watch", "submit"])
def test_an_unreachable_server_fails_in_seconds_saying_it_retries(
    tmp_path: Path, command: str
) -> None:
    (tmp_path / "story.txt").write_text("The port reopened after the storm.")
    target = str(tmp_path / "story.txt") if command == "submit" else UNKNOWN
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    began = time.monotonic()
    run = copydesk(command, target, url=url)
    assert run.returncode == 3 and run.stdout == ""
    lines = run.stderr.splitlines()
    assert all(line.startswith("copydesk: ") for line in lines), run.stderr
    assert "retrying in" in lines[0] and len(lines) == 4  # three retries, then the verdict
    assert lines[-1].startswith(f"copydesk: cannot reach {url}: ")
    assert "4 attempts" in lines[-1]
    assert time.monotonic() - began < 10


def test_ctrl_c_is_one_line_and_exit_130() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: the command waits to retry
    command = [*COPYDESK, "get", UNKNOWN, "--url", url]
    # SIGINT as a terminal's command gets it: a runner that started the tests in the
    # background (a shell's `&`) hands its children SIGINT ignored, and Python then keeps it
    # ignored; a handler here (not SIG_IGN) is reset to the default by the child's exec
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, before)
    with process:
        assert process.stderr is not None
        assert "retrying in" in process.stderr.readline()
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()
        assert process.wait(timeout=30) == 130
    assert rest == "copydesk: interrupted\n"


def test_submit_sends_the_good_articles_and_names_each_bad_one(intake: str, tmp_path: Path) -> None:
    story = tmp_path / "story.txt"
    story.write_text("The port reopened after the storm.")
    batch = tmp_path / "batch.jsonl"
    batch.write_text(
        json.dumps({"text": "Shares rose after the results.", "ref": "one"}) + "\n"
        + '{"text": "unfinished\n'
        + json.dumps({"article": {"text": "x"}, "colour": "red"}) + "\n"
        + "\n"
        + json.dumps({"article": {"text": "Storm.", "ref": "five"},
                      "options": {"topics": {"label_set": "nosuch"}}}) + "\n"
        + json.dumps({"text": "The council approved the budget.\u2028Unions protested.",
                      "ref": "six"}, ensure_ascii=False) + "\n"
        + "[1, 2]\n"
        , encoding="utf-8",
    )  # fmt: skip
    missing = tmp_path / "missing.txt"
    run = copydesk("submit", str(story), str(batch), str(missing), url=intake)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    sent = [line.split("\t") for line in run.stdout.splitlines()]
    assert [source for _, source in sent] == [str(story), f"{batch}:1", f"{batch}:6"]
    client = Client(intake)
    assert [client.get(job_id)["article"].get("ref") for job_id, _ in sent] == [None, "one", "six"]
    *refused, verdict = run.stderr.splitlines()
    assert verdict == "copydesk: 5 of 8 articles refused, 3 sent"
    expected = [
        f"{batch}:2: malformed_json: ",
        f"{batch}:3: validation_failed: colour: ",
        f"{batch}:5: unknown_label_set: options.topics.label_set: ",  # refused by the server
        f"{batch}:7: validation_failed: (body): ",
        f"{missing}: unreadable_file: No such file or directory",
    ]
    assert len(refused) == 5 and all(
        line.startswith(start) for line, start in zip(sorted(refused), expected)
    ), refused


def test_a_refusal_naming_no_job_splits_the_batch_until_it_does(
    serve: Callable[[Settings], str], settings: Settings, tmp_path: Path
) -> None:
    """The server's limits (a page too large, too many jobs in a batch) name no job: the batch
    is halved until the refused article stands alone, and the others are all sent."""
    url = serve(settings.model_copy(update={"max_html_chars": 1000, "max_batch_jobs": 2}))
    files = [tmp_path / name for name in ("a.txt", "big.html", "c.txt", "d.txt", "e.txt")]
    for path in files:
        path.write_text(f"<p>{'A long page. ' * 100}</p>" if path.suffix == ".html" else "Story.")
    run = copydesk("submit", *map(str, files), url=url)
    assert run.returncode == 1, run.stderr
    assert [line.split("\t")[1] for line in run.stdout.splitlines()] == [
        str(path) for path in files if path.suffix == ".txt"
    ]
    refused, verdict = run.stderr.splitlines()
    assert refused.startswith(f"{files[1]}: html_too_large: the HTML page has 1307 characters")
    assert verdict == "copydesk: 1 of 5 articles refused, 4 sent"


def test_submit_wait_names_the_source_of_each_result(
    intake: str, start_worker: Any, tmp_path: Path
) -> None:
    start_worker()
    story = tmp_path / "story.txt"
    story.write_text("Shares fell sharply after the company missed its forecasts.")
    batch = tmp_path / "batch.jsonl"
    batch.write_text(
        json.dumps({"text": "The striker scored twice in the final."}) + "\n"
        + json.dumps({"article": {"text": "Markets rallied."}}) + "\n"
    )  # fmt: skip
    many = copydesk(
        "submit", "--wait", "--analyses", "sentiment", str(story), str(batch), url=intake
    )
    assert many.returncode == 0, many.stderr
    jobs = [json.loads(line) for line in many.stdout.splitlines()]
    assert [job["source"] for job in jobs] == [str(story), f"{batch}:1", f"{batch}:2"]
    assert {job["status"] for job in jobs} == {"succeeded"}
    one = copydesk("submit", "--wait", "--analyses", "sentiment", str(story), url=intake)
    assert one.returncode == 0 and json.loads(one.stdout)["source"] == str(story)


def test_output_to_a_reader_that_has_gone_ends_quietly(intake: str, tmp_path: Path) -> None:
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(json.dumps({"text": f"Story {i}."}) + "\n" for i in range(3)))
    pipe = closed_pipe()
    try:
        submitted = copydesk("submit", str(articles), url=intake, stdout=pipe)
        job_id = Client(intake).submit({"text": "The port reopened."})["id"]
        shown = copydesk("get", job_id, url=intake, stdout=pipe)
    finally:
        os.close(pipe)
    for run in (submitted, shown):
        assert run.returncode == 141 and run.stderr == ""
