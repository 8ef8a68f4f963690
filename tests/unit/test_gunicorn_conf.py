"""The intake's gunicorn settings, read the way gunicorn reads them (``-c python:...``)."""

from __future__ import annotations

import threading
from pathlib import Path

import yaml
from gunicorn.app.base import Application
from gunicorn.config import Config

from copydesk.core.settings import get_settings
from copydesk.devstack.waiting import wait_for
from copydesk.intake.gunicorn_conf import BodyTurns, has_body

CONF = "python:copydesk.intake.gunicorn_conf"
ROOT = Path(__file__).resolve().parents[2]


def _built() -> Config:
    """The settings gunicorn ends with for one stack started with the intake's config."""
    loader = Application.__new__(Application)  # only its config loading, not an app
    loader.cfg = Config()
    loader.load_config_from_module_name_or_filename(CONF)
    return loader.cfg


def test_no_two_stacks_share_one_gunicorn_control_socket() -> None:
    """gunicorn 25+ opens a control socket at one path per user ($HOME/.gunicorn/gunicorn.ctl)
    by default: a second stack on the host would take over the first one's. copydesk never
    uses it (no gunicornc), so each stack has none."""
    sockets = [
        None if cfg.control_socket_disable else cfg.control_socket for cfg in (_built(), _built())
    ]
    assert sockets == [None, None] or len(set(sockets)) == 2, sockets


def test_the_intake_answers_with_threads_besides_one_per_event_stream_in_every_shape() -> None:
    """Open event streams must never take the API's threads: the config names threaded
    workers with COPYDESK_HTTP_THREADS + COPYDESK_SSE_MAX_STREAMS threads, and no shape (make
    run, compose, Kubernetes, the image's own command) asks gunicorn for another count or
    class."""
    from gunicorn.workers.gthread import ThreadWorker

    cfg = _built()
    settings = get_settings()
    assert cfg.worker_class is ThreadWorker
    assert cfg.threads == settings.http_threads + settings.sse_max_streams
    commands = {
        "make run": (ROOT / "services/devstack/copydesk/devstack/stack.py").read_text(),
        "compose": str(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]),
        "kubernetes": (ROOT / "services/kubernetes/copydesk.yaml").read_text(),
        "image": (ROOT / "services/intake/Dockerfile").read_text(),
    }
    for shape, text in commands.items():
        assert CONF in text, shape
        for override in ("--threads", "--worker-class", '"-k"', "'-k'"):
            assert override not in text, f"{shape} passes {override}"


def _app(log: list[str], gate: threading.Event) -> object:
    def app(environ: dict, start_response: object) -> list[bytes]:
        log.append(environ["PATH_INFO"])
        gate.wait(5)
        return [b""]

    return app


def test_requests_with_a_body_take_turns_and_the_others_never_wait() -> None:
    """At most ``size`` bodies are read at once, however many threads the process has, while
    a stream (no body) is never held back."""
    log: list[str] = []
    gate = threading.Event()
    turns = BodyTurns(_app(log, gate), size=2)
    posts = [
        threading.Thread(target=turns, args=({"CONTENT_LENGTH": "10", "PATH_INFO": "/post"}, None))
        for _ in range(3)
    ]
    for post in posts:
        post.start()
    wait_for(lambda: len(log) == 2, timeout=5, every=0.01)
    stream = threading.Thread(target=turns, args=({"PATH_INFO": "/events"}, None))
    stream.start()
    wait_for(lambda: "/events" in log, timeout=5, every=0.01)  # served while no turn is free
    assert log.count("/post") == 2  # the third body still waits
    gate.set()
    for thread in [*posts, stream]:
        thread.join(5)
    assert log.count("/post") == 3


def test_what_counts_as_a_body() -> None:
    assert has_body({"CONTENT_LENGTH": "12"})
    assert has_body({"HTTP_TRANSFER_ENCODING": "chunked"})
    assert not has_body({"CONTENT_LENGTH": "0"}) and not has_body({})
