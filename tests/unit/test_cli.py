"""The ``copydesk`` command without a server: ``analyze --local`` runs the service's stages
in-process, one JSON job per line; bad input is named ``file:line`` with a one-line error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def test_analyze_local_on_text_html_and_jsonl(tmp_path: Path, seed_article: str) -> None:
    (tmp_path / "seed.txt").write_text(seed_article)
    (tmp_path / "page.html").write_text(
        "<html><head><title>Budget</title></head><body><article>"
        + "".join(
            f"<p>Paragraph {i} reports that the council approved a new budget for schools.</p>"
            for i in range(5)
        )
        + "</article></body></html>"
    )
    lines = [
        {"text": "The striker scored twice as the home team won the final.", "ref": "a"},
        {"article": {"text": "Shares fell sharply."}, "analyses": ["sentiment"]},
        {"article": {"text": "x"}, "colour": "red"},
        {
            "text": "Le gouvernement a présenté un nouveau budget mercredi. Les syndicats ont protesté."
        },
        {
            "text": "Η κυβέρνηση παρουσίασε νέο προϋπολογισμό την Τετάρτη. Τα συνδικάτα διαμαρτυρήθηκαν."
        },
    ]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"text": "cut off\n')
    stats = tmp_path / "stats.json"
    command = [
        str(Path(sys.executable).with_name("copydesk")), "analyze", "--local",
        str(tmp_path / "seed.txt"), str(tmp_path / "page.html"), str(batch),
        "--processes", "2", "--stats", str(stats),
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert run.returncode == 1, run.stderr  # two lines were refused; the rest were analysed
    jobs = [json.loads(line) for line in run.stdout.splitlines()]
    assert [job["id"] for job in jobs] == [
        "seed.txt", "page.html", "batch.jsonl:1", "batch.jsonl:2", "batch.jsonl:3", "batch.jsonl:4",
        "batch.jsonl:5", "batch.jsonl:6",
    ]  # fmt: skip
    assert [job["source"] for job in jobs] == [
        str(tmp_path / "seed.txt"), str(tmp_path / "page.html"),
        *(f"{batch}:{number}" for number in range(1, 7)),
    ]  # fmt: skip
    seed, page, first, second, invalid, french, greek, cut = jobs
    assert seed["status"] == "succeeded" and seed["article"]["language"] == "en"
    assert seed["results"]["sentiment"]["label"] == "negative"
    assert page["status"] == "succeeded" and page["article"]["title"] == "Budget"
    assert first["article"]["ref"] == "a"
    assert list(second["results"]) == ["sentiment"]
    assert invalid["status"] == "rejected" and invalid["error"]["code"] == "validation_failed"
    assert cut["status"] == "rejected" and cut["error"]["code"] == "malformed_json"
    refused = [line for line in run.stderr.splitlines() if "articles/min" not in line]
    assert len(refused) == 2 and "Traceback" not in run.stderr
    assert refused[0].startswith(f"{batch}:3: validation_failed: colour: Extra inputs")
    assert refused[1].startswith(f"{batch}:6: malformed_json: ")
    assert french["status"] == "succeeded"  # the default mix reads French with USE-m3
    assert "multilingual-3" in french["results"]["sentiment"]["model"]
    assert greek["status"] == "failed"  # no configured encoder reads Greek
    assert {r["error"]["code"] for r in greek["results"].values()} == {"unsupported_language"}
    figures = json.loads(stats.read_text())
    assert figures["articles"] == 8 and figures["processes"] == 2 and figures["seconds"] > 0
    assert "articles/min" in run.stderr


def test_labels_from_a_file_teach_every_article(tmp_path: Path) -> None:
    labels = [
        {"label": "desk 7", "examples": ["The container ship was held at the port by customs."]},
        "sport",
        "weather",
    ]
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    (tmp_path / "cargo.txt").write_text(
        "Dockworkers loaded the cargo vessel overnight so it could leave the harbour at dawn."
    )
    own = {
        "article": {"text": "The striker scored twice."},
        "options": {"topics": {"labels": ["x", "y"]}},
    }
    sentiment_only = {"article": {"text": "Shares fell."}, "analyses": ["sentiment"]}
    (tmp_path / "own.jsonl").write_text(json.dumps(own) + "\n" + json.dumps(sentiment_only) + "\n")
    command = [
        str(Path(sys.executable).with_name("copydesk")), "analyze", "--local",
        str(tmp_path / "cargo.txt"), str(tmp_path / "own.jsonl"),
        "--analyses", "topics", "--labels", str(tmp_path / "labels.json"),
    ]  # fmt: skip
    run = subprocess.run(command, check=True, capture_output=True, text=True, timeout=240)
    cargo, kept, untouched = [json.loads(line) for line in run.stdout.splitlines()]
    assert cargo["results"]["topics"]["labels"][0]["label"] == "desk 7"
    assert {x["label"] for x in kept["results"]["topics"]["labels"]} == {"x", "y"}
    assert untouched["status"] == "succeeded" and list(untouched["results"]) == ["sentiment"]
    (tmp_path / "bad.json").write_text('{"labels": "sport"}')
    bad = subprocess.run(
        [*command[:-1], str(tmp_path / "bad.json")], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "must hold a non-empty JSON list" in bad.stderr


COPYDESK = [sys.executable, "-m", "copydesk.cli"]


def test_submit_names_each_bad_line_and_file_and_sends_nothing_bad(tmp_path: Path) -> None:
    """Nothing here is valid, so nothing is sent: no server is needed (nor any socket)."""
    batch = tmp_path / "batch.jsonl"
    batch.write_text('{"text": "cut off\n\n{"article": {"text": ""}}\n"a string"\n')
    html = tmp_path / "page.html"
    html.write_bytes(b"<p>\xff\xfe not UTF-8</p>")
    missing = tmp_path / "missing.txt"
    command = [
        *COPYDESK,
        "submit",
        str(batch),
        str(html),
        str(missing),
        "--url",
        "http://127.0.0.1:9",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and run.stdout == "" and "Traceback" not in run.stderr
    assert run.stderr.splitlines() == [
        f"{batch}:1: malformed_json: Unterminated string starting at (column 10)",
        f"{batch}:3: validation_failed: article.text: the article has no text",
        f"{batch}:4: validation_failed: (body): must be a JSON object (an article or a job)",
        f"{html}: unreadable_file: not UTF-8 text (byte 0xff at position 3)",
        f"{missing}: unreadable_file: No such file or directory",
        "copydesk: 5 of 5 articles refused, none sent",
    ]


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://127.0.0.1/copydesk", "http://"])
def test_a_url_that_is_not_http_is_a_usage_error(url: str) -> None:
    run = subprocess.run(
        [*COPYDESK, "get", "0" * 32, "--url", url], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    expected = f"copydesk: --url {url!r} is not an http(s) URL such as http://127.0.0.1:8000\n"
    assert run.stderr == expected


def test_files_without_articles_are_an_error_not_silence(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("\n\n")
    command = [*COPYDESK, "submit", str(tmp_path / "empty.jsonl"), "--url", "http://127.0.0.1:9"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == "copydesk: the files hold no articles\n"


def test_analyze_local_refuses_a_stored_label_set_as_the_server_would(tmp_path: Path) -> None:
    """Label sets live in a running copydesk: ``--local`` refuses a job naming one with the
    server's problem (409 unknown_label_set, a valid job that stored state refuses)."""
    batch = tmp_path / "batch.jsonl"
    batch.write_text(
        json.dumps({"article": {"text": "Storm."}, "options": {"topics": {"label_set": "desk"}}})
        + "\n"
    )
    command = [str(Path(sys.executable).with_name("copydesk")), "analyze", "--local", str(batch)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    [job] = [json.loads(line) for line in run.stdout.splitlines()]
    assert job["status"] == "rejected"
    assert (job["error"]["status"], job["error"]["code"]) == (409, "unknown_label_set")
