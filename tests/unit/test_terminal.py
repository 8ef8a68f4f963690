"""What ``make run`` shows of its processes' logs: a line per finished job, warnings and
errors once, nothing of banners or Celery's lines per task; and the log line read back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from copydesk.core.logs import ConsoleFormatter, JsonFormatter, read_line
from copydesk.devstack.terminal import Follower, Terminal

FORMATTERS = [JsonFormatter("worker"), ConsoleFormatter("worker")]


def _line(formatter: logging.Formatter, message: str, level: int = logging.INFO, **extra) -> str:
    record = logging.makeLogRecord(
        {"name": "copydesk.test", "levelno": level, "levelname": logging.getLevelName(level),
         "msg": message, **extra}
    )  # fmt: skip
    return formatter.format(record)


@pytest.mark.parametrize("formatter", FORMATTERS, ids=["json", "console"])
def test_a_line_reads_back_as_it_was_written(formatter: logging.Formatter) -> None:
    text = _line(formatter, "topics of job j1: completed [x]", job_id="j1", ms=1.5)
    line = read_line(text)
    assert line is not None
    assert (line.level, line.component, line.logger) == ("INFO", "worker", "copydesk.test")
    assert line.message == "topics of job j1: completed [x]"
    assert line.context == {"job_id": "j1", "ms": "1.5"}
    assert line.time.tzinfo is not None


@pytest.mark.parametrize(
    "text",
    [" -------------- [queues]", "[tasks]", "Traceback (most recent call last):", "{not json", ""],
)
def test_other_lines_are_not_log_lines(text: str) -> None:
    assert read_line(text) is None


@pytest.mark.parametrize("formatter", FORMATTERS, ids=["json", "console"])
def test_a_job_is_one_line_when_it_ends(formatter: logging.Formatter) -> None:
    terminal = Terminal(log_dir=Path("var/log"))
    accepted = _line(formatter, "job j1 accepted", job_id="j1", outcome="accepted")
    stage = _line(formatter, "summary of job j1: recorded (job running)", job_id="j1",
                  outcome="recorded")  # fmt: skip
    celery = _line(formatter, "Task copydesk.prepare[abc] succeeded in 0.01s: 'prepared'")
    last = _line(formatter, "topics of job j1: completed (job partially_succeeded)",
                 job_id="j1", outcome="completed")  # fmt: skip
    # one pass reads the worker's file before the intake's: the lines go by their time
    read = [("analysis-worker", text) for text in (stage, celery, last)] + [("intake", accepted)]
    said = terminal.lines(read)
    assert len(said) == 1, said
    assert said[0].endswith(" s") and " job j1 partially_succeeded in " in said[0]
    assert terminal.accepted == {}


def test_a_job_without_its_accepted_line_still_ends() -> None:
    last = _line(ConsoleFormatter("worker"), "prepare of job j2: completed (job failed)",
                 job_id="j2", outcome="completed")  # fmt: skip
    said = Terminal(log_dir=Path("var/log")).lines([("analysis-worker", last)])
    assert len(said) == 1 and said[0].endswith(" job j2 failed")


def test_warnings_are_said_once_and_errors_name_the_log() -> None:
    terminal = Terminal(log_dir=Path("/somewhere/log"))
    formatter = ConsoleFormatter("intake")
    warning = _line(formatter, "API KEYS ARE OFF", logging.WARNING)
    said = terminal.lines([("intake", warning), ("intake", warning)])  # two intake processes
    assert len(said) == 1 and said[0].endswith("WARNING intake: API KEYS ARE OFF")
    assert terminal.lines([("intake", warning)]) == []
    error = _line(formatter, "boom", logging.ERROR)
    [said_error] = terminal.lines([("intake", error)])
    assert said_error.endswith("ERROR intake: boom  (more in /somewhere/log/intake.log)")
    gunicorn = "[2026-12-05 20:06:48 +0000] [13258] [ERROR] Connection in use: ('127.0.0.1', 8000)"
    booting = "[2026-12-05 20:06:48 +0000] [13262] [INFO] Booting worker with pid: 13262"
    banner = " -------------- analysis-13251@vm v5.7.0 (collider)"
    [said_gunicorn] = terminal.lines([("intake", gunicorn), ("intake", booting), ("w", banner)])
    assert "ERROR intake: Connection in use" in said_gunicorn


def test_the_follower_reads_new_lines_only(tmp_path: Path) -> None:
    (tmp_path / "intake.log").write_text("from an earlier run\n")
    seen: list[tuple[str, str]] = []
    follower = Follower(tmp_path, seen.extend)
    with (tmp_path / "intake.log").open("a") as log:
        log.write("one\ntw")
    (tmp_path / "dispatcher.log").write_text("started\n")
    follower.read()
    assert seen == [("dispatcher", "started"), ("intake", "one")]
    with (tmp_path / "intake.log").open("a") as log:
        log.write("o\n")
    follower.read()
    assert seen[-1] == ("intake", "two")
