"""Keep the README short and true: its commands exist, its settings are real, its links work."""

from __future__ import annotations

import re
from pathlib import Path

from copydesk.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MOST_LINES = 150  # a newcomer reads it in five minutes (issue 17)


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def test_readme_is_short() -> None:
    lines = len(_readme().splitlines())
    assert lines <= MOST_LINES, f"README.md has {lines} lines; move detail into docs/"


def test_readme_commands_are_make_targets() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("run", "test", "bench", "bench-quality", "docs"):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target
        assert f"make {target}" in _readme(), target
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_names_real_settings_with_their_defaults() -> None:
    readme = _readme()
    named = set(re.findall(r"\bCOPYDESK_[A-Z_]+\b", readme))
    client_only = {"COPYDESK_URL", "COPYDESK_API_KEY"}  # read by the Python client
    settings = {f"COPYDESK_{name.upper()}" for name in Settings.model_fields}
    assert named - client_only <= settings
    fields = Settings.model_fields
    assert f"`COPYDESK_HTTP_PORT` (default {fields['http_port'].default}" in readme
    assert f"`COPYDESK_HTTP_HOST`, default {fields['http_host'].default}" in readme
    assert "COPYDESK_API_KEYS" in readme


def test_every_docs_link_in_the_readme_resolves() -> None:
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", _readme())
    local = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert any(link.startswith("docs/") for link in local)
    missing = [link for link in local if not (ROOT / link).is_file()]
    assert not missing, f"README.md links to missing files: {missing}"
