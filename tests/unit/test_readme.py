"""Keep the README true: every setting is documented, and the commands it gives exist."""

from __future__ import annotations

import re
from pathlib import Path

from copydesk.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_in_the_configuration_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(COPYDESK_[A-Z_]+)` \|", readme, flags=re.MULTILINE))
    expected = {f"COPYDESK_{name.upper()}" for name in Settings.model_fields}
    assert documented == expected


def test_readme_commands_are_make_targets() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("run", "test", "bench"):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
