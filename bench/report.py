"""Run the benches and write what they print into docs/benchmarks.md, machine and date on top.

    .venv/bin/python bench/report.py quality          (make bench-quality)
    .venv/bin/python bench/report.py speed            (make bench, after the quality half)
    .venv/bin/python bench/report.py cleaning.py      (any script, or several, alone)

Why: the figures in the docs must be the figures a run printed, never a copy by hand. Each
script runs as its own process, one after another; its output streams to the terminal as it
comes and is kept. The page gets one section per script: the command, when and on what
machine it ran, how long it took, its exit status, and its output verbatim. Sections of
scripts not run this time stay as they were (each keeps its own date and machine), so
`make bench-quality` refreshes the quality half alone. The page is rewritten after every
script, so a run stopped midway keeps what finished. Exits 1 if any script failed; the
others still run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGE = ROOT / "docs" / "benchmarks.md"

# What `make bench-quality` and `make bench` run, in this order (each a script and its args).
SUITES: dict[str, list[tuple[str, ...]]] = {
    "quality": [
        ("quality.py",),
        ("extraction.py",),
        ("cleaning.py",),
        ("quality_summary.py",),
        ("quality_api.py",),
        ("quality_entities.py", "--split", "test"),
        ("quality_quotes.py", "--split", "both"),
        ("quality_ner.py", "--split", "test"),
        ("quality_keyphrases.py", "--split", "test"),
        ("quality_entity_sentiment.py", "--split", "both"),
        ("quality_duplicates.py", "--split", "both"),
        ("quality_stories.py", "--split", "both"),
        # every encoder's speed, memory and held-out quality, in one run (mpnet's held-out
        # embeddings take over an hour and a half here the first time: encoders.py says)
        ("encoders.py",),
        ("quality_multilingual.py",),  # reads repository snapshots (docs/multilingual-data.md)
        # tweets, not news: UMSAB from a repository snapshot (docs/multilingual-data.md)
        ("quality_sentiment_languages.py",),
    ],
    "speed": [
        ("encoder.py",),
        ("throughput.py",),
        ("throughput_encoders.py",),
        ("parse_cost.py",),
        ("parse_languages.py",),
        ("adversarial.py",),
        ("soak.py",),
        ("scale.py",),
        ("search.py",),
    ],
}
ORDER = [run for runs in SUITES.values() for run in runs]

HEADER = """\
# Benchmarks

<!-- Written by bench/report.py (`make bench`, `make bench-quality`) from what each bench
printed; do not edit by hand. -->

Every figure below is what a script in `bench/` printed, each beside a baseline measured in
the same run. What the figures mean, the data, the splits and the baselines:
[quality.md](quality.md). `make bench-quality` runs the quality half (topics, sentiment,
extraction, cleaning, summary, through the API); `make bench` runs it and then the speed and
fault half (encoder, throughput, hostile input, soak, Redis at a million jobs).

- Latest run: {date}
- Machine: {machine}
- copydesk: {commit}"""


@dataclass(frozen=True)
class Section:
    """One script's part of the page, as it stands in the file."""

    name: str  # the script's file name: the section's key
    text: str


def machine() -> str:
    """The CPU model, its cores and its memory, read from /proc (Linux)."""
    cpuinfo = _read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, flags=re.MULTILINE)
    flags = re.search(r"^flags\s*:\s*(.+)$", cpuinfo, flags=re.MULTILINE)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), flags=re.MULTILINE)
    parts = [model[1].strip() if model else "unknown CPU", f"{cores} cores"]
    if flags:
        parts.append("AVX-512" if "avx512f" in flags[1].split() else "no AVX-512")
    if memory:
        parts.append(f"{int(memory[1]) / 1024**2:.1f} GiB memory")
    return ", ".join(parts)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def commit() -> str:
    """The commit the benches ran on, and whether the work tree had changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "commit unknown"
    return f"commit {head or 'unknown'}" + (" with uncommitted changes" if dirty else "")


def run(script: tuple[str, ...]) -> tuple[str, int, float]:
    """Run one bench, echoing its output as it comes; return the output, exit code, seconds."""
    command = [sys.executable, "-u", str(HERE / script[0]), *script[1:]]
    print(f"== bench/{' '.join(script)}", flush=True)
    started = time.monotonic()
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    lines = []
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, errors="replace"
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line)
    return "".join(lines), process.returncode, time.monotonic() - started


def section(script: tuple[str, ...], *, output: str, code: int, seconds: float, when: str) -> str:
    """A script's section: the command, when and where it ran, its outcome, its output."""
    fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", output)), default=0))
    outcome = "exit 0" if code == 0 else f"**exit {code}: the script failed**"
    return "\n".join(
        [
            _begin(script[0]),
            f"## bench/{script[0]}",
            "",
            f"`python bench/{' '.join(script)}`: {when}, {_duration(seconds)}, {outcome};",
            f"{machine()}; {commit()}.",
            "",
            fence + "text",
            output.rstrip("\n"),
            fence,
            _end(script[0]),
        ]
    )


def placeholder(script: tuple[str, ...]) -> str:
    """The section of a bench that has not run into this page yet."""
    target = "bench-quality" if script in SUITES["quality"] else "bench"
    return "\n".join(
        [
            _begin(script[0]),
            f"## bench/{script[0]}",
            "",
            f"Not run into this page yet: `make {target}` runs it.",
            _end(script[0]),
        ]
    )


def _begin(name: str) -> str:
    return f"<!-- bench: {name} -->"


def _end(name: str) -> str:
    return f"<!-- end: {name} -->"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{seconds:.1f} s"


def read_sections(page: str) -> dict[str, Section]:
    """The sections a page already holds, by script name."""
    found = {}
    pattern = r"<!-- bench: (\S+) -->\n.*?<!-- end: \1 -->"
    for match in re.finditer(pattern, page, flags=re.DOTALL):
        found[match[1]] = Section(match[1], match[0])
    return found


def render(sections: dict[str, Section], *, when: str) -> str:
    """The whole page: the header, then every bench's section in the order make runs them."""
    parts = [HEADER.format(date=when, machine=machine(), commit=commit())]
    for script in ORDER:
        kept = sections.get(script[0])
        parts.append(kept.text if kept else placeholder(script))
    ordered = {script[0] for script in ORDER}
    parts += [kept.text for name, kept in sections.items() if name not in ordered]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="a suite (quality, speed) or bench scripts")
    parser.add_argument("--page", type=Path, default=PAGE)
    args = parser.parse_args(argv)
    scripts: list[tuple[str, ...]] = []
    for name in args.runs:
        if name in SUITES:
            scripts += SUITES[name]
        elif (HERE / name).is_file():
            scripts.append(next((run for run in ORDER if run[0] == name), (name,)))
        else:
            parser.error(f"{name!r} is neither a suite ({', '.join(SUITES)}) nor a bench script")
    failed = 0
    for script in scripts:
        output, code, seconds = run(script)
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        page = args.page.read_text(encoding="utf-8") if args.page.exists() else ""
        sections = read_sections(page)
        text = section(script, output=output, code=code, seconds=seconds, when=when)
        sections[script[0]] = Section(script[0], text)
        args.page.parent.mkdir(parents=True, exist_ok=True)
        args.page.write_text(render(sections, when=when), encoding="utf-8")
        print(f"== bench/{script[0]}: exit {code} after {_duration(seconds)}", flush=True)
        failed |= code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
