"""Keep docs/ true: generated pages current, every endpoint, event, code and dependency named,
every link resolving, and docs/benchmarks.md written by bench/report.py alone."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from copydesk.core import errors
from copydesk.core.settings import Settings
from copydesk.devstack import configuration, errorcodes

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


# --- generated pages ---------------------------------------------------------------------


def test_configuration_page_is_generated_from_the_settings() -> None:
    assert _read("configuration.md") == configuration.render(), "run `make docs`"


def test_every_setting_is_on_the_configuration_page() -> None:
    page = _read("configuration.md")
    documented = set(re.findall(r"^\| `(COPYDESK_[A-Z_]+)`", page, flags=re.MULTILINE))
    assert documented == {f"COPYDESK_{name.upper()}" for name in Settings.model_fields}


def test_every_setting_has_a_description() -> None:
    undescribed = [name for name, field in Settings.model_fields.items() if not field.description]
    assert not undescribed


def test_error_table_is_generated_from_the_errors() -> None:
    page = _read("api.md")
    assert errorcodes.splice(page, errorcodes.render()) == page, "run `make docs`"


def test_every_error_code_is_in_the_api_page() -> None:
    page = _read("api.md")
    codes = {kind.code for kind in errorcodes.error_classes() if kind is not errors.OtherHTTPError}
    assert all(f"`{code}`" in page for code in codes)


def test_check_mode_fails_on_a_stale_page(tmp_path: Path) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text("# Configuration\n", encoding="utf-8")
    assert configuration.main(["--check", "--path", str(stale)]) == 1
    assert configuration.main(["--write", "--path", str(stale)]) == 0
    assert configuration.main(["--check", "--path", str(stale)]) == 0


# --- what the API page must name ---------------------------------------------------------


def test_every_route_is_in_the_api_page() -> None:
    from copydesk.intake import create_app

    app = create_app(Settings())
    page = _read("api.md")
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if f"{method} {path}" not in page:
                missing.append(f"{method} {path}")
    assert not missing, f"docs/api.md does not name {missing}"


def test_every_event_is_in_the_api_page() -> None:
    from copydesk.deliver.webhooks import EVENT_TYPES

    scripts = "".join(path.read_text() for path in (ROOT / "shared").rglob("*.py"))
    # the events the Lua scripts name literally
    emitted = set(re.findall(r"type='([a-z_]+\.[a-z_]+)'", scripts))
    assert "job.queued" in emitted
    prepared = {"job.text_prepared", "job.final_prepared"}  # 'job.' .. step .. '_prepared'
    page = _read("api.md")
    for event in emitted | prepared | set(EVENT_TYPES) | {"batch.completed"}:
        assert f"`{event}`" in page, event


# --- dependencies and links --------------------------------------------------------------


def _distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = project["dependencies"] + [
        spec for extra in project["optional-dependencies"].values() for spec in extra
    ]
    names = {re.match(r"[A-Za-z0-9_.-]+", spec)[0] for spec in specs}
    return {name for name in names if name.lower() != "copydesk"}


def test_every_dependency_says_why_it_is_there() -> None:
    page = re.sub(r"[-_.]", "-", _read("dependencies.md").lower())
    missing = [name for name in _distributions() if re.sub(r"[-_.]", "-", name.lower()) not in page]
    assert not missing, f"docs/dependencies.md does not say why {missing} are needed"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_every_link_in_docs_resolves(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    broken = []
    for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]+))?\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        linked = (page.parent / target) if target else page
        if not linked.is_file():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}#{anchor}")
    assert not broken, f"{page.name} links to {broken}"


# --- benchmarks.md is written by bench/report.py --------------------------------------------


@pytest.fixture
def report(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_report", ROOT / "bench" / "report.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_report", module)
    spec.loader.exec_module(module)
    return module


def test_benchmarks_page_holds_only_what_the_writer_wrote(report: ModuleType) -> None:
    page = _read("benchmarks.md")
    assert page.startswith(report.HEADER.split("{", 1)[0])
    sections = report.read_sections(page)
    assert set(sections) == {script[0] for script in report.ORDER}
    assert "- Latest run: " in page and "- Machine: " in page and " cores" in page


def test_the_writer_keeps_each_bench_output_verbatim(
    report: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    benches = tmp_path / "bench"
    benches.mkdir()
    (benches / "fine.py").write_text("print('figure 0.9 vs baseline 0.5')\nprint('```')\n")
    (benches / "broken.py").write_text("print('half a table')\nraise SystemExit(3)\n")
    monkeypatch.setattr(report, "HERE", benches)
    page = tmp_path / "benchmarks.md"
    assert report.main(["fine.py", "broken.py", "--page", str(page)]) == 1
    text = page.read_text(encoding="utf-8")
    assert "````text\nfigure 0.9 vs baseline 0.5\n```\n````" in text  # a longer fence
    assert "half a table" in text and "exit 3: the script failed" in text
    assert "Not run into this page yet: `make bench-quality` runs it." in text
    assert report.main(["fine.py", "--page", str(page)]) == 0  # rewrites its own section only
    assert "half a table" in page.read_text(encoding="utf-8")
