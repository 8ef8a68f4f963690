"""``copydesk analyze --local`` runs the service's stages in-process, one JSON job per line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


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
    ]
    (tmp_path / "batch.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    stats = tmp_path / "stats.json"
    command = [
        str(Path(sys.executable).with_name("copydesk")), "analyze", "--local",
        str(tmp_path / "seed.txt"), str(tmp_path / "page.html"), str(tmp_path / "batch.jsonl"),
        "--processes", "2", "--stats", str(stats),
    ]  # fmt: skip
    run = subprocess.run(command, check=True, capture_output=True, text=True, timeout=240)
    jobs = [json.loads(line) for line in run.stdout.splitlines()]
    assert [job["id"] for job in jobs] == [
        "seed.txt", "page.html", "batch.jsonl:1", "batch.jsonl:2", "batch.jsonl:3", "batch.jsonl:4",
    ]  # fmt: skip
    seed, page, first, second, invalid, french = jobs
    assert seed["status"] == "succeeded" and seed["article"]["language"] == "en"
    assert seed["results"]["sentiment"]["label"] == "negative"
    assert page["status"] == "succeeded" and page["article"]["title"] == "Budget"
    assert first["article"]["ref"] == "a"
    assert list(second["results"]) == ["sentiment"]
    assert invalid["status"] == "rejected" and invalid["error"]["code"] == "validation_failed"
    assert french["status"] == "failed"
    assert {r["error"]["code"] for r in french["results"].values()} == {"unsupported_language"}
    figures = json.loads(stats.read_text())
    assert figures["articles"] == 6 and figures["processes"] == 2 and figures["seconds"] > 0
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
