"""Send hostile articles through the whole local stack and check it stays fast, bounded, alive.

Why: copydesk takes articles from anywhere, so it gets pages of ``<p>x``, one 900 kB token,
sentences that never end and markup nested 20,000 deep. Each must end as a result or a coded
failure within a minute. Every job asks for all six analyses (``ANALYSES``), so the prepare
stage's parse (for entities, keyphrases and quotes) is held to the same checks. No worker may grow past its memory budget, and neither the intake
nor an ordinary article sent alongside may slow down. An input that needs more memory than
a pool process may use must fail with ``resource_exhausted``, and every other process must
live on.

Phase 1 starts a stack with the default settings. Each input goes over HTTP in a body just
under the limit of its kind (COPYDESK_MAX_BODY_BYTES for text, COPYDESK_MAX_HTML_BODY_BYTES
for a page), with a short ordinary article right behind it. An input that breaks a limit the
intake can see (a page of more than COPYDESK_MAX_HTML_TAGS tags) must be refused at once
with that limit's code; every other input must be accepted. The bench
times the POST, the time to a terminal job state and the short article's time to done,
and samples the memory of every worker process (mains, pool children, their forks) every
0.1 s. The per-input peak combines those samples with the kernel's high-water mark (VmHWM),
so a spike between two samples still counts. A big but legal news-like article goes first:
its memory growth on a freshly loaded process sizes phase 2's cap. The inputs the issue
lists follow, then the same shapes sized to the analysis limits (max_chars, max_sentences,
max_tokens), so they get past the size checks and reach the models. Every input is held to
the same checks. The "limits" inputs include the costliest page a client may send: as many
paragraphs as COPYDESK_MAX_HTML_TAGS allows; and two jobs whose topic labels bring the most
examples a job may (200), each as long as the body limit lets it be, in CJK without
punctuation and in long words: the texts that cost the encoder most per character.

Phase 1 ends with a burst: 16 pages just under COPYDESK_MAX_HTML_CHARS posted at once
(the intake's 2 processes x 8 threads, every request it can hold), while the intake's
memory is sampled every 20 ms. Each must be accepted and analysed, and the intake may hold
at most INTAKE_COPIES copies of each body in flight.

Phase 2 starts a stack with COPYDESK_WORKER_MEMORY_LIMIT_MB just above what a pool process
holds once its models are loaded: the VmData that RLIMIT_DATA caps, measured in phase 1,
plus 30%, 40% and 50% of the big article's growth (one stack each,
margins of at least 93 MiB), since where an allocation fails moves with the cap. Under
each cap it sends the big article and checks four things: the analysis that needs more
memory fails with resource_exhausted; the job ends; every main process keeps its PID while
the kernel OOM killer stays idle; and a short article still succeeds afterwards.

    .venv/bin/python bench/adversarial.py [--keep]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import statistics
import string
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from copydesk.core.names import ANALYSES as NAMES
from copydesk.core.options import MAX_EXAMPLES, MAX_LABEL_EXAMPLES
from copydesk.core.settings import Settings
from copydesk.devstack.redis_server import free_port
from copydesk.devstack.stack import Stack
from procs import alive, stack_processes

TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}
POST_LIMIT_MS = 200.0
TERMINAL_LIMIT_S = 60.0
RSS_LIMIT_MB = 700.0
SHORT_LIMIT_S = 5.0
LATE_GRACE_S = 60.0  # after the limit, how long to keep waiting so the next input starts clean
SAMPLE_EVERY_S = 0.1
WORKERS = ("analysis-worker", "dispatcher")
JSON = {"Content-Type": "application/json"}
# every analysis but stories, which needs the archive this stack runs without: the default
# three and the parse-based ones (issue 18, acceptance 4)
ANALYSES = [name for name in NAMES if name != "stories"]
BURST = 16  # the intake's 2 gunicorn processes x 8 threads: every request it holds at once
INTAKE_COPIES = 4.0  # most copies of a body the intake may hold while it takes the request
BURST_TIMEOUT_S = 300.0
CRASH = re.compile(  # log levels in capitals only: Celery's own warnings mention "error"
    r"\b(ERROR|CRITICAL)\b|Traceback|(?i:WorkerLostError|MemoryError|exited with|signal \d+|"
    r"killed|crashed|out of memory|bad_alloc|segmentation fault|core dumped)"
)

SHORT_ARTICLE = (
    "The city council approved a new budget for schools and roads on Tuesday. "
    "Members debated the plan for three hours before the final vote. "
    "The mayor said the money would repair forty schools over the next two years. "
    "Opposition members warned that the plan relied on optimistic tax forecasts."
)
NEWS_SENTENCES = [
    "The central bank raised its main interest rate by a quarter of a percentage point on "
    "Wednesday, the fourth increase this year, citing stubborn inflation in services.",
    "Officials said the decision had been unanimous, although two members of the committee "
    "had argued in earlier meetings for a pause to gauge the effect of previous rises.",
    "Opposition leaders criticised the move as a further blow to households already "
    "struggling with higher energy bills, rents and the rising cost of weekly groceries.",
    "Shares in regional lenders fell sharply after the announcement, while the currency "
    "strengthened against the dollar and the euro in otherwise quiet afternoon trading.",
    "Analysts at several large banks said they expected at least one further increase "
    "before the end of the year, unless the labour market cooled faster than forecast.",
    "The governor told reporters that wage growth remained too strong to be consistent "
    "with the inflation target, and that the committee would act again if it had to.",
    "Retailers warned that higher borrowing costs would weigh on holiday spending, with "
    "several chains already reporting weaker sales of furniture, electronics and clothing.",
    "Economists were divided over whether the economy could avoid a recession next year, "
    "with some pointing to resilient hiring and others to falling business investment.",
    "Mortgage lenders began raising their fixed-rate offers within hours of the decision, "
    "adding hundreds of pounds a year to the cost of a typical new home loan.",
    "The finance ministry said it welcomed the bank's commitment to price stability and "
    "would set out its own plans for public spending in the budget next month.",
    "Small business groups called for targeted support, arguing that many firms had not "
    "recovered from the pandemic and now faced higher costs for credit and for energy.",
    "Markets had largely priced in the rise, and long-term bond yields barely moved, "
    "suggesting investors believe the bank is close to the end of its tightening cycle.",
]
SHORT_WORDS = (
    "the a of to in and on at by for we go see big old new red sun sea day way man car "
    "bus city park road town river house world time year work home news game team"
).split()
LATIN = "The committee met again on Friday to discuss the new budget for the region."
CJK = "委员会星期五再次开会讨论该地区的新预算。"
LONG_WORD = "supercalifragilistic" * 5  # 100 characters: the tokenizer's longest word, 34 tokens
ARABIC = "اجتمعت اللجنة مرة أخرى يوم الجمعة لمناقشة الميزانية الجديدة للمنطقة."


@dataclass(frozen=True)
class Hostile:
    """One hostile input: ``build(n)`` makes it from a count of ``unit``."""

    name: str
    kind: str  # "text" or "html": the article field it goes in; "labels": see encode()
    unit: str
    build: Callable[[int], str]
    target: int | None = None  # the count asked for; None fills the body to the limit
    group: str = "issue"  # "issue": listed in the issue; "limits": sized to the analysis limits
    refused: str | None = None  # the code the intake must refuse it with; None: accepted


@dataclass(frozen=True)
class Payload:
    hostile: Hostile
    count: int
    body: bytes
    chars: int

    @property
    def shrunk(self) -> bool:
        return self.hostile.target is not None and self.count < self.hostile.target


@dataclass
class ProcTrace:
    """What the sampler saw of one process during one input."""

    pid: int
    role: str
    depth: int  # 0 main process, 1 pool child, 2 a fork of a pool child
    new: bool  # appeared after the first sample
    rss_first: float = 0.0
    rss_max: float = 0.0
    hwm_first: float = 0.0
    hwm_last: float = 0.0
    data_first: float = 0.0
    data_max: float = 0.0

    @property
    def peak_mb(self) -> float:
        """Peak RSS within the window: VmHWM when it rose inside it, else the sampled max."""
        if self.new or self.hwm_last > self.hwm_first:
            return max(self.hwm_last, self.rss_max)
        return self.rss_max

    @property
    def rise_mb(self) -> float:
        """How far the peak rose above the RSS this process had when first sampled."""
        return self.peak_mb - self.rss_first

    @property
    def who(self) -> str:
        return f"{self.role}/{('main', 'pool', 'fork')[min(self.depth, 2)]} {self.pid}"


@dataclass
class Outcome:
    payload: Payload
    post_ms: float
    post_status: int
    seconds: float | None  # to a terminal state, None if it never got there
    status: str
    codes: list[str]
    peak_mb: float
    peak_who: str
    rise_mb: float  # the largest rise of one process's RSS during the input
    rise_who: str
    sum_mb: float
    data_growth_mb: float  # largest VmData rise of a pool process during the input
    short_post_ms: float
    short_seconds: float | None
    short_status: str
    coverage: str  # the share of the text the parse reached, as the entities result says


# --- inputs ------------------------------------------------------------------------------


def hostile_inputs(settings: Settings) -> list[Hostile]:
    """The issue's inputs, then the same shapes sized to pass the analysis limits (the
    one-letter words are the issue's 150,000-word sentence in a form that passes max_chars)."""
    rng = random.Random(20240601)
    letters = "".join(rng.choice(string.ascii_lowercase) for _ in range(1_000_000))
    words = [rng.choice(SHORT_WORDS) for _ in range(150_000)]
    alphabet = string.ascii_letters + string.digits
    codes = ["".join(rng.choice(alphabet) for _ in range(5)) for _ in range(60_000)]
    chars, sentences = settings.max_chars - 100, settings.max_sentences - 10
    tags = settings.max_html_tags - 10
    html_chars = settings.max_html_chars - 100
    one_letter = min(150_000, (settings.max_chars + 1) // 2)
    tokens = settings.max_tokens - 100  # a one-letter word is one encoder token

    def links(n: int) -> str:
        lead = ("More", "Read", "Also", "Next")
        return "\n".join(f"{lead[i % 4]}: t.co/{codes[i]}" for i in range(n))

    def headlines(n: int) -> str:  # English enough to pass language detection
        topics = ("schools", "roads", "parks", "hospitals", "housing")
        return "\n".join(
            f"Council approves new budget for {topics[i % 5]} ({i})"
            if i % 2
            else f"Read more: https://example.com/story/{i}"
            for i in range(n)
        )

    def scripts(n: int) -> str:
        blocks = [
            f"{LATIN} {CJK} {ARABIC}" if i % 2 else f"{ARABIC} {LATIN} {CJK}" for i in range(n)
        ]
        return "\n\n".join(" ".join(blocks[i : i + 3]) for i in range(0, n, 3))

    def park(n: int) -> str:
        return "We go to the park. " * n

    limits = "limits"
    return [
        Hostile(
            "<p>x repeated",
            "html",
            "<p>x",
            lambda n: "<p>x" * n,
            html_chars // 4,
            refused="html_too_complex",
        ),
        Hostile("park sentence repeated", "text", "sentences", park),
        Hostile("one ~900 kB token", "text", "letters", lambda n: letters[:n], 900_000),
        Hostile("150k-word sentence", "text", "words", lambda n: " ".join(words[:n]), 150_000),
        Hostile(
            "20k nested <div>s",
            "html",
            "divs",
            lambda n: "<div>" * n + "Deep inside the page." + "</div>" * n,
            20_000,
        ),
        Hostile("50k link-like lines", "text", "lines", links, 50_000),
        Hostile("Latin+CJK+Arabic mix", "text", "3-script blocks", scripts, 3_000),
        Hostile("token at max_chars", "text", "letters", lambda n: letters[:n], chars, limits),
        Hostile("park at max_sentences", "text", "sentences", park, sentences, limits),
        Hostile("links at max_sentences", "text", "lines", headlines, sentences, limits),
        Hostile("script mix under limits", "text", "3-script blocks", scripts, 990, limits),
        Hostile(
            "paragraphs at max_html_tags",
            "html",
            "<p> paragraphs",
            lambda n: "<p>" + "".join(f"Item {i} of the long list. <p>" for i in range(n)),
            tags,
            limits,
        ),
        Hostile(
            f"{one_letter // 1000}k one-letter words",
            "text",
            "words",
            lambda n: " ".join(letters[:n]),
            one_letter,
            limits,
        ),
        Hostile(
            "one-letter words at max_tokens",
            "text",
            "words",
            lambda n: " ".join(letters[:n]),
            tokens,
            limits,
        ),
        Hostile(
            "200 label examples of CJK",
            "labels",
            "chars an example",
            lambda n: (CJK.rstrip("。") * (n // 10 + 1))[:n],
            20_000,
            limits,
        ),
        Hostile(
            "200 label examples of long words",
            "labels",
            "chars an example",
            lambda n: ((LONG_WORD + " ") * (n // len(LONG_WORD) + 1))[:n],
            20_000,
            limits,
        ),
    ]


def big_article_input() -> Hostile:
    return Hostile("big legal article (news)", "text", "chars", big_article, 250_000, "reference")


def big_article(chars: int) -> str:
    """Return about ``chars`` characters of news-like prose in paragraphs of four sentences."""
    rng = random.Random(7)
    paragraphs, size = [], 0
    while size < chars:
        paragraph = " ".join(rng.sample(NEWS_SENTENCES, 4))
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    return "\n\n".join(paragraphs)[:chars].rsplit(".", 1)[0] + "."


def encode(kind: str, value: str) -> bytes:
    """The job body, asking for every analysis: ``value`` as the article's text or html; or,
    for "labels", a short article whose topic labels bring the most examples a job may, each
    a variant of ``value`` (numbered, so no two are alike)."""
    if kind != "labels":
        body = {"article": {kind: value}, "analyses": ANALYSES}
        return json.dumps(body, ensure_ascii=False).encode()
    labels = [
        {"label": f"desk {i}", "examples": [f"{i}.{j} {value}" for j in range(MAX_LABEL_EXAMPLES)]}
        for i in range(MAX_EXAMPLES // MAX_LABEL_EXAMPLES)
    ]
    body = {
        "article": {"text": SHORT_ARTICLE},
        "analyses": ANALYSES,
        "options": {"topics": {"labels": labels}},
    }
    return json.dumps(body, ensure_ascii=False).encode()


def fit(hostile: Hostile, *, limit: int) -> Payload:
    """Build the input at its target count, or at the largest count whose body is under
    ``limit`` bytes (binary search: the body grows with the count)."""

    def payload(n: int) -> Payload:
        value = hostile.build(n)
        return Payload(hostile, n, encode(hostile.kind, value), len(value))

    if hostile.target is not None:
        best = payload(hostile.target)
        if len(best.body) < limit:
            return best
    low, high = 1, hostile.target if hostile.target is not None else limit
    best = payload(low)
    while low <= high:
        middle = (low + high) // 2
        candidate = payload(middle)
        if len(candidate.body) < limit:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


# --- memory ------------------------------------------------------------------------------


def read_status(pid: int) -> dict[str, float] | None:
    """VmRSS, VmHWM and VmData of ``pid`` in MiB (None once it is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    out = {}
    for line in lines:
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM", "VmData"):
            out[key] = int(rest.split()[0]) / 1024
    return out if len(out) == 3 else None


def descendants(roots: dict[str, int]) -> dict[int, tuple[str, int]]:
    """Every process under each root, from one scan of /proc: {pid: (role, depth)}."""
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            kids.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found: dict[int, tuple[str, int]] = {}
    for role, root in roots.items():
        layer, depth = [root], 0
        while layer:
            found.update((pid, (role, depth)) for pid in layer)
            layer, depth = [kid for pid in layer for kid in kids.get(pid, [])], depth + 1
    return found


class MemorySampler:
    """Sample every worker process's memory on a thread until the ``with`` block ends."""

    def __init__(self, roots: dict[str, int], *, every: float = SAMPLE_EVERY_S) -> None:
        self.roots, self.every = roots, every
        self.traces: dict[int, ProcTrace] = {}
        self.sum_max = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._first = True

    def __enter__(self) -> MemorySampler:
        self.sample()  # a baseline before anything is sent
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def sample(self) -> None:
        total = 0.0
        for pid, (role, depth) in descendants(self.roots).items():
            status = read_status(pid)
            if status is None:
                continue
            rss, hwm, data = status["VmRSS"], status["VmHWM"], status["VmData"]
            trace = self.traces.get(pid)
            if trace is None:
                trace = ProcTrace(
                    pid, role, depth, not self._first, rss, hwm_first=hwm, data_first=data
                )
                self.traces[pid] = trace
            trace.rss_max = max(trace.rss_max, rss)
            trace.hwm_last = max(trace.hwm_last, hwm)
            trace.data_max = max(trace.data_max, data)
            total += rss
        self.sum_max = max(self.sum_max, total)
        self._first = False


def worker_roots(stack: Stack) -> dict[str, int]:
    return {name: stack.processes[name].pid for name in WORKERS}


def pool_data_mb(stack: Stack) -> list[tuple[int, float, float]]:
    """(pid, VmData MiB, VmRSS MiB) of each analysis pool process now."""
    out = []
    for proc in stack_processes(stack.processes):
        if proc.role == "analysis-worker" and not proc.parent:
            status = read_status(proc.pid)
            if status is not None:
                out.append((proc.pid, status["VmData"], status["VmRSS"]))
    return out


def oom_kills() -> int | None:
    """The kernel's count of OOM-killer kills since boot (None where /proc/vmstat lacks it)."""
    for line in Path("/proc/vmstat").read_text().splitlines():
        name, _, value = line.partition(" ")
        if name == "oom_kill":
            return int(value)
    return None


# --- driving the stack -------------------------------------------------------------------


def start_stack(var: Path, *, extra_env: dict[str, str] | None = None) -> Stack:
    stack = Stack(
        var_dir=var,
        http_port=free_port(),
        log_dir=var / "logs",
        extra_env=extra_env or {},
        analysis_concurrency=2,
    )
    began = time.perf_counter()
    try:
        stack.start(timeout=180)
    except BaseException:
        stack.stop()
        raise
    print(f"  stack up at {stack.base_url} in {time.perf_counter() - began:.1f} s")
    return stack


def post(session: requests.Session, stack: Stack, body: bytes) -> tuple[float, requests.Response]:
    began = time.perf_counter()
    response = session.post(stack.base_url + "/v1/jobs", data=body, headers=JSON, timeout=60)
    return (time.perf_counter() - began) * 1000, response


def wait_jobs(
    session: requests.Session,
    stack: Stack,
    *,
    jobs: dict[str, tuple[str, float]],
    timeout: float,
) -> dict[str, tuple[float | None, dict[str, Any]]]:
    """Poll each job (name -> (id, submitted at)) until terminal or ``timeout`` s after its
    submission; return name -> (seconds to terminal or None, last job document)."""
    done: dict[str, tuple[float | None, dict[str, Any]]] = {}
    last: dict[str, dict[str, Any]] = {}
    while len(done) < len(jobs):
        for name, (job_id, submitted) in jobs.items():
            if name in done:
                continue
            job = session.get(f"{stack.base_url}/v1/jobs/{job_id}", timeout=10).json()
            last[name] = job
            elapsed = time.perf_counter() - submitted
            if job.get("status") in TERMINAL:
                done[name] = (elapsed, job)
            elif elapsed > timeout:
                done[name] = (None, job)
        time.sleep(SAMPLE_EVERY_S)
    return done


def failure_codes(job: dict[str, Any]) -> list[str]:
    """``analysis:code`` for every failed analysis (``<no code>`` where one is missing)."""
    out = []
    for name, result in (job.get("results") or {}).items():
        if result.get("status") == "failed":
            out.append(f"{name}:{(result.get('error') or {}).get('code') or '<no code>'}")
    return out


def short_codes(codes: list[str]) -> str:
    found = {code.split(":", 1)[1] for code in codes}
    if len(codes) > 1 and len(found) == 1:
        return f"all:{found.pop()}"
    return ",".join(codes) or "-"


def big_page(limit: int) -> bytes:
    """A job body (and page) just under ``limit`` bytes: a short article in a page that megabytes of
    inline state make big, as on real news sites (no double quotes: JSON keeps its size)."""
    article = "".join(f"<p>{sentence}</p>" for sentence in SHORT_ARTICLE.split(". "))
    state = "<script>window.s = [" + ",".join(f"'Story {n}'" for n in range(2000)) + "];</script>"
    head, tail = "<html><head><title>Budget</title>", f"</head><body>{article}</body></html>"
    room = limit - 1000 - len(encode("html", head + tail))
    return encode("html", head + state * (room // len(state)) + tail)


def intake_burst(stack: Stack, *, body: bytes) -> Burst:
    """Post BURST copies of ``body`` at once from as many threads; sample the intake."""
    roots = {"intake": stack.processes["intake"].pid}
    answers: list[tuple[int, float, str | None]] = []

    def send() -> None:
        began = time.perf_counter()
        response = requests.post(stack.base_url + "/v1/jobs", data=body, headers=JSON, timeout=120)
        job = response.json().get("id") if response.status_code == 202 else None
        answers.append((response.status_code, time.perf_counter() - began, job))

    began = time.perf_counter()
    with MemorySampler(roots, every=0.02) as sampler:
        threads = [threading.Thread(target=send) for _ in range(BURST)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    rises = {t.pid: t.rise_mb for t in sampler.traces.values() if t.depth == 1}
    jobs = {f"page{k}": (job, began) for k, (_, _, job) in enumerate(answers) if job}
    with requests.Session() as session:
        done = wait_jobs(session, stack, jobs=jobs, timeout=BURST_TIMEOUT_S)
    return Burst(
        body_bytes=len(body),
        statuses=sorted(status for status, _, _ in answers),
        post_seconds=max(seconds for _, seconds, _ in answers),
        rises_mb=rises,
        ended=[job.get("status", "?") for _, job in done.values()],
        seconds=max((s for s, _ in done.values() if s is not None), default=math.nan),
    )


def run_input(
    session: requests.Session, stack: Stack, *, payload: Payload, short_body: bytes
) -> Outcome:
    """Send one hostile input and a short article right behind it; watch both to the end."""
    with MemorySampler(worker_roots(stack)) as sampler:
        submitted = time.perf_counter()
        post_ms, response = post(session, stack, payload.body)
        short_submitted = time.perf_counter()
        short_post_ms, short_response = post(session, stack, short_body)
        jobs = {"short": (short_response.json()["id"], short_submitted)}
        if response.status_code == 202:
            jobs["hostile"] = (response.json()["id"], submitted)
        done = wait_jobs(session, stack, jobs=jobs, timeout=TERMINAL_LIMIT_S)
        late = ""
        if "hostile" in done and done["hostile"][0] is None:
            # past the limit: wait a while longer, so the next input does not queue behind it
            timeout = TERMINAL_LIMIT_S + LATE_GRACE_S
            again = wait_jobs(session, stack, jobs={"hostile": jobs["hostile"]}, timeout=timeout)
            seconds, job = again["hostile"]
            done["hostile"] = (None, job)
            late = f" (ended at {seconds:.1f} s)" if seconds is not None else " (stuck)"
    if "hostile" in done:
        seconds, job = done["hostile"]
        status, codes = job.get("status", "?") + late, failure_codes(job)
    else:
        seconds, status = None, f"HTTP {response.status_code}"
        try:
            codes = [f"intake:{response.json().get('code', '?')}"]
        except ValueError:
            codes = ["intake:<no JSON>"]
    traces = list(sampler.traces.values())
    top = max(traces, key=lambda trace: trace.peak_mb)
    riser = max(traces, key=lambda trace: trace.rise_mb)
    pool = [trace for trace in traces if trace.role == "analysis-worker" and trace.depth == 1]
    short_seconds, short_job = done["short"]
    return Outcome(
        payload=payload,
        post_ms=post_ms,
        post_status=response.status_code,
        seconds=seconds,
        status=status,
        codes=codes,
        peak_mb=top.peak_mb,
        peak_who=top.who,
        rise_mb=riser.rise_mb,
        rise_who=riser.who,
        sum_mb=sampler.sum_max,
        data_growth_mb=max((t.data_max - t.data_first for t in pool), default=0.0),
        short_post_ms=short_post_ms,
        short_seconds=short_seconds,
        short_status=short_job.get("status", "?"),
        coverage=parse_coverage(job if "hostile" in done else {}),
    )


def parse_coverage(job: dict[str, Any]) -> str:
    """How much of the text the parse reached, from the parse-based results ('-': none)."""
    for name in ("entities", "keyphrases", "quotes"):
        result = (job.get("results") or {}).get(name) or {}
        if result.get("coverage") is not None:
            return f"{result['coverage']:.2f}"
    return "-"


def log_findings(stack: Stack, *, since: dict[str, int] | None = None) -> dict[str, list[str]]:
    """Lines of each worker log (after byte offset ``since``) that report an error or crash."""
    found: dict[str, list[str]] = {}
    if stack.log_dir is None:
        return found
    for name in WORKERS:
        path = stack.log_dir / f"{name}.log"
        if not path.exists():
            continue
        with path.open("rb") as log:
            log.seek((since or {}).get(name, 0))
            text = log.read().decode(errors="replace")
        found[name] = [line for line in text.splitlines() if CRASH.search(line)]
    return found


def log_offsets(stack: Stack) -> dict[str, int]:
    assert stack.log_dir is not None
    return {
        name: (stack.log_dir / f"{name}.log").stat().st_size
        for name in WORKERS
        if (stack.log_dir / f"{name}.log").exists()
    }


def print_findings(findings: dict[str, list[str]], *, limit: int = 12) -> None:
    for name, lines in findings.items():
        print(f"  {name}.log: {len(lines)} line(s) reporting an error or a crash")
        for line in lines[:limit]:
            print(f"    | {line[:180]}")
        if len(lines) > limit:
            print(f"    | ... {len(lines) - limit} more")


# --- phases ------------------------------------------------------------------------------


@dataclass
class Burst:
    """BURST big pages posted at once: what the intake answered and how its memory rose."""

    body_bytes: int
    statuses: list[int]
    post_seconds: float  # the slowest POST
    rises_mb: dict[int, float]  # intake process -> its peak RSS rise during the burst
    ended: list[str]  # the jobs' terminal states
    seconds: float  # from the first POST until every job ended

    @property
    def allowed_mb(self) -> float:
        return INTAKE_COPIES * BURST * self.body_bytes / 2**20


@dataclass
class Phase1:
    outcomes: list[Outcome]
    loaded_data_mb: float  # largest VmData of an analysis pool process after warm-up
    burst: Burst | None


@dataclass
class Phase2:
    cap_mb: int
    short_before: str
    seconds: float | None
    status: str
    codes: list[str]
    succeeded: list[str]
    pids_kept: bool
    pid_report: list[str]
    pool_before: list[int]
    pool_after: list[int]
    oom_before: int | None
    oom_after: int | None
    short_seconds: float | None
    short_status: str
    post_ms: float


def phase1(var: Path, *, payloads: list[Payload], short_body: bytes, page: bytes) -> Phase1:
    print("\nPhase 1: hostile inputs against the default limits")
    stack = start_stack(var / "stack1")
    try:
        with requests.Session() as session:
            warm_ms, response = post(session, stack, short_body)  # first requests are cold
            wait_jobs(
                session,
                stack,
                jobs={"warm": (response.json()["id"], time.perf_counter())},
                timeout=60,
            )
            loaded = pool_data_mb(stack)
            print(f"  warm-up: a short article, first POST {warm_ms:.1f} ms")
            print(
                "  analysis pool processes after warm-up (pid, VmData MiB, VmRSS MiB): "
                + ", ".join(f"{pid} {data:.0f} {rss:.0f}" for pid, data, rss in loaded)
            )
            outcomes = []
            for payload in payloads:
                outcome = run_input(session, stack, payload=payload, short_body=short_body)
                outcomes.append(outcome)
                print(
                    f"  . {payload.hostile.name}: {outcome.status} {short_codes(outcome.codes)}"
                    f" (parse coverage {outcome.coverage})",
                    flush=True,
                )
            burst = intake_burst(stack, body=page)
            print(
                f"  . {BURST} pages of {len(page) / 1e6:.1f} MB at once: HTTP "
                f"{'/'.join(map(str, sorted(set(burst.statuses))))}, jobs "
                f"{'/'.join(sorted(set(burst.ended)))}",
                flush=True,
            )
            time.sleep(1.0)
            idle = pool_data_mb(stack)
        findings = log_findings(stack)
        print_table(outcomes)
        done = sorted(o.short_seconds for o in outcomes if o.short_seconds is not None)
        print(
            f"\nshort article sent right behind each of the {len(outcomes)} inputs: "
            f"{len(done)} ended, median {statistics.median(done) if done else math.nan:.2f} s, "
            f"slowest {max(done, default=math.nan):.2f} s; its POST took at most "
            f"{max(o.short_post_ms for o in outcomes):.1f} ms"
        )
        print(
            "\nanalysis pool processes, idle at the end of phase 1 (pid, VmData MiB, VmRSS MiB): "
            + ", ".join(f"{pid} {data:.0f} {rss:.0f}" for pid, data, rss in idle)
        )
        print("\nworker logs, phase 1:")
        print_findings(findings)
        print(
            f"\n{BURST} pages of {burst.body_bytes:,} B posted at once: slowest POST "
            f"{burst.post_seconds:.2f} s; intake processes' peak RSS rise (pid MB): "
            + ", ".join(f"{pid} {rise:+.0f}" for pid, rise in sorted(burst.rises_mb.items()))
            + f"; every job ended within {burst.seconds:.1f} s of the first POST"
        )
        return Phase1(
            outcomes=outcomes,
            loaded_data_mb=max((data for _, data, _ in loaded), default=0.0),
            burst=burst,
        )
    finally:
        stack.stop()


CAP_SHARES = (0.3, 0.4, 0.5)


def choose_caps(*, loaded_mb: float, big: Outcome | None) -> list[int]:
    """Data-segment caps between what a loaded pool process holds and what the big article
    needs: loaded + 30%, 40% and 50% of the big article's measured VmData growth, each
    margin at least 93 MiB: pool processes differ by ~20 MiB after loading, and loading
    itself peaks above what stays (margins of 46, 57 and 72 MiB kept a worker from ever
    starting; 93 was enough), and a short article must still fit. Several caps, because where
    the allocation fails (numpy, ONNX Runtime, ...) moves with the cap. Not 90%: what the
    article needs varies from run to run more than its measured growth does (growth 121 and
    125 MiB, yet it fit under margins of 109 and 113 MiB; growth 146, and it did not fit
    under 131), so a 90% cap was sometimes above the need and the check failed itself. Since
    the parse and the second encoder, the growth overstates the need more (growth 224 MiB,
    and it fit under margins of 157 and 179, 70% and 80%; growth 245, and it fit under 147,
    60%), so the shares are 30-50%."""
    growth = big.data_growth_mb if big is not None else 0.0
    margins = [max(93.0, share * growth) for share in CAP_SHARES]
    return sorted({int(math.ceil(loaded_mb + margin)) for margin in margins})


def phase2(var: Path, *, cap_mb: int, big: Payload, short_body: bytes) -> Phase2:
    """Start a stack whose pool processes are capped at ``cap_mb``; send a short article,
    the big one, then a short one again; see who survived."""
    print(f"\nPhase 2: COPYDESK_WORKER_MEMORY_LIMIT_MB={cap_mb}, the big legal article")
    oom_before = oom_kills()
    extra_env = {"COPYDESK_WORKER_MEMORY_LIMIT_MB": str(cap_mb)}
    stack = start_stack(var / f"stack-cap-{cap_mb}", extra_env=extra_env)
    try:
        with requests.Session() as session:
            began = time.perf_counter()
            _, response = post(session, stack, short_body)
            jobs = {"before": (response.json()["id"], began)}
            _, before = wait_jobs(session, stack, jobs=jobs, timeout=60)["before"]
            pools = ", ".join(
                f"{pid} {data:.0f}/{rss:.0f}" for pid, data, rss in pool_data_mb(stack)
            )
            print(f"  pool processes after a short article (pid VmData/RSS MiB): {pools}")
            mains = {name: popen.pid for name, popen in stack.processes.items()}
            if stack.redis is not None and stack.redis.process is not None:
                mains["redis"] = stack.redis.process.pid
            pool_before = sorted(p.pid for p in stack_processes(stack.processes) if not p.parent)
            offsets = log_offsets(stack)
            began = time.perf_counter()
            post_ms, response = post(session, stack, big.body)
            jobs = {"big": (response.json()["id"], began)}
            timeout = TERMINAL_LIMIT_S + LATE_GRACE_S
            seconds, job = wait_jobs(session, stack, jobs=jobs, timeout=timeout)["big"]
            time.sleep(1.0)  # let Celery replace a pool process that died, if one did
            report, kept = [], True
            for name, pid in mains.items():
                popen = stack.processes.get(name)
                running = alive(pid) and (popen is None or popen.poll() is None)
                kept &= running
                report.append(f"{name} {pid} {'alive' if running else 'GONE'}")
            pool_after = sorted(p.pid for p in stack_processes(stack.processes) if not p.parent)
            began = time.perf_counter()
            _, response = post(session, stack, short_body)
            jobs = {"after": (response.json()["id"], began)}
            short_seconds, short_job = wait_jobs(session, stack, jobs=jobs, timeout=60)["after"]
            findings = log_findings(stack, since=offsets)
        two = Phase2(
            cap_mb=cap_mb,
            short_before=before.get("status", "?"),
            seconds=seconds,
            status=job.get("status", "?"),
            codes=failure_codes(job),
            succeeded=[
                name
                for name, result in (job.get("results") or {}).items()
                if result.get("status") == "succeeded"
            ],
            pids_kept=kept,
            pid_report=report,
            pool_before=pool_before,
            pool_after=pool_after,
            oom_before=oom_before,
            oom_after=oom_kills(),
            short_seconds=short_seconds,
            short_status=short_job.get("status", "?"),
            post_ms=post_ms,
        )
        replaced = sorted(set(pool_before) - set(pool_after))
        print(
            f"  short article before the big one: {two.short_before}\n"
            f"  big article: {len(big.body) / 1000:.1f} kB body, POST {post_ms:.1f} ms, ended "
            f"{two.status} in {seconds_text(seconds)} s; failed: {short_codes(two.codes)}; "
            f"succeeded: {', '.join(two.succeeded) or 'none'}\n"
            f"  main processes after it: {'; '.join(report)}\n"
            f"  pool processes before {pool_before}, after {pool_after}"
            + (f" (replaced: {replaced})" if replaced else " (none replaced)")
            + f"\n  short article afterwards: {two.short_status} in "
            f"{seconds_text(short_seconds)} s"
        )
        print("  worker logs from the big article on:")
        print_findings(findings)
        return two
    finally:
        stack.stop()


# --- report ------------------------------------------------------------------------------


def seconds_text(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else f">{TERMINAL_LIMIT_S:.0f}"


GROUPS = {
    "reference": "reference: a big but legal news article (sizes the phase 2 cap)",
    "issue": "the issue's hostile inputs, each body just under the limit",
    "limits": "the same shapes sized to the analysis limits (max_chars, max_sentences, "
    "max_tokens), to reach the models",
}


def print_table(outcomes: list[Outcome]) -> None:
    header = (
        f"{'input':<30} {'count':>9} {'body kB':>7} {'POST ms':>7} {'end s':>6} "
        f"{'status':<20} {'codes':<26} {'peak MB':>7} {'rise MB':>7} {'(process)':<27} "
        f"{'sum MB':>6} {'VmData+':>7} {'short s':>7}"
    )
    print("\n" + header)
    group = None
    for o in outcomes:
        p = o.payload
        if p.hostile.group != group:
            group = p.hostile.group
            print("-" * len(header) + f"\n{GROUPS.get(group, group)}")
        short = seconds_text(o.short_seconds)
        if o.short_status != "succeeded":
            short += f" {o.short_status}"
        ended = seconds_text(o.seconds) if o.post_status == 202 else "-"  # refused at once
        print(
            f"{p.hostile.name[:30]:<30} {p.count:>9,} {len(p.body) / 1000:>7.1f} "
            f"{o.post_ms:>7.1f} {ended:>6} {o.status[:20]:<20} "
            f"{short_codes(o.codes)[:26]:<26} {o.peak_mb:>7.0f} {o.rise_mb:>+7.0f} "
            f"{o.rise_who if o.rise_mb > 50 else o.peak_who:<27} {o.sum_mb:>6.0f} "
            f"{o.data_growth_mb:>+7.0f} {short:>7}"
        )
    print(
        "\ncount: how many of the input's unit the body holds; body kB: the JSON body (UTF-8), "
        "each under the limit; end s: POST to terminal state (client side); peak MB: largest "
        "RSS of one worker process while the input ran (samples and VmHWM); rise MB: the largest "
        "rise of one process's RSS during the input (the process named when it is over 50 MB, "
        "else the one with the peak); sum MB: all worker processes at once; VmData+: largest "
        "data-segment growth of an analysis pool process; short s: the short article sent "
        "right after, POST to terminal."
    )
    if not any(o.payload.shrunk for o in outcomes):
        print("note: every input with a set count fit under the body limit at that count")
    for o in outcomes:
        h, p = o.payload.hostile, o.payload
        if p.shrunk:
            print(
                f"note: {h.name}: shrunk from {h.target:,} to {p.count:,} {h.unit} to stay "
                "under the body limit"
            )
        elif h.target is None:
            print(f"note: {h.name}: {p.count:,} x {h.unit!r}, as many as fit under the limit")


def answered_well(o: Outcome) -> bool:
    """202, or, for an input that breaks a limit the intake checks, 413 with that code."""
    expected = o.payload.hostile.refused
    if expected is None:
        return o.post_status == 202
    return o.post_status == 413 and o.codes == [f"intake:{expected}"]


def check(ok: bool, text: str) -> bool:
    print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return ok


def verdicts(one: Phase1, twos: list[Phase2], *, limits: dict[str, int], caps: int) -> bool:
    outs = one.outcomes
    ok = True
    print()
    biggest = max(outs, key=lambda o: len(o.payload.body))
    ok &= check(
        all(len(o.payload.body) < limits[o.payload.hostile.kind] for o in outs),
        f"every body under its kind's limit (text {limits['text']:,} B, html "
        f"{limits['html']:,} B; largest {len(biggest.payload.body):,} B: "
        f"{biggest.payload.hostile.name})",
    )
    slowest = max(outs, key=lambda o: o.post_ms)
    wrong = [o.payload.hostile.name for o in outs if not answered_well(o)]
    refused = [f"{o.payload.hostile.name} ({o.codes[0]})" for o in outs if o.post_status != 202]
    ok &= check(
        not wrong and slowest.post_ms <= POST_LIMIT_MS,
        f"intake answers each hostile POST within {POST_LIMIT_MS:.0f} ms, 202 or refused with "
        f"the code of the limit it breaks (slowest {slowest.post_ms:.1f} ms: "
        f"{slowest.payload.hostile.name}"
        + (f"; refused: {', '.join(refused)}" if refused else "")
        + (f"; not so: {', '.join(wrong)}" if wrong else "")
        + ")",
    )

    def ended_well(o: Outcome) -> bool:
        if o.post_status != 202:
            return answered_well(o)  # refused at once, with the limit's code
        coded = all(not code.endswith("<no code>") for code in o.codes)
        return (
            o.seconds is not None
            and o.seconds <= TERMINAL_LIMIT_S
            and o.status in ("succeeded", "partially_succeeded", "failed")
            and coded
            and (o.status == "succeeded" or bool(o.codes))
        )

    bad = [o.payload.hostile.name for o in outs if not ended_well(o)]
    ended = [o.seconds for o in outs if o.seconds is not None]
    ok &= check(
        not bad,
        f"each hostile job ends within {TERMINAL_LIMIT_S:.0f} s, succeeded or failed with a "
        f"code (slowest {max(ended, default=math.nan):.2f} s"
        + (f"; not so: {', '.join(bad)}" if bad else "")
        + ")",
    )
    top = max(outs, key=lambda o: o.peak_mb)
    riser = max(outs, key=lambda o: o.rise_mb)
    over = [
        f"{o.payload.hostile.name} [{o.payload.hostile.group}]"
        for o in outs
        if o.peak_mb > RSS_LIMIT_MB
    ]
    ok &= check(
        not over,
        f"no worker process over {RSS_LIMIT_MB:.0f} MB RSS (peak {top.peak_mb:.0f} MB, "
        f"{top.peak_who}, during {top.payload.hostile.name}; largest rise {riser.rise_mb:+.0f} "
        f"MB, {riser.rise_who}, during {riser.payload.hostile.name}"
        + (f"; over the limit during: {', '.join(over)}" if over else "")
        + ")",
    )
    slow = [
        o
        for o in outs
        if o.short_seconds is None
        or o.short_status != "succeeded"
        or o.short_seconds > SHORT_LIMIT_S
    ]
    worst = max(outs, key=lambda o: o.short_seconds if o.short_seconds is not None else math.inf)
    ok &= check(
        not slow,
        f"the short article sent beside each hostile one succeeds within {SHORT_LIMIT_S:.0f} s "
        f"(slowest {seconds_text(worst.short_seconds)} s beside {worst.payload.hostile.name}"
        + (
            f"; late or failed beside: {', '.join(o.payload.hostile.name for o in slow)}"
            if slow
            else ""
        )
        + ")",
    )
    burst = one.burst
    if burst is not None:
        rise = sum(burst.rises_mb.values())
        ended = burst.ended.count("succeeded")
        ok &= check(
            burst.statuses == [202] * BURST
            and ended == BURST
            and rise <= burst.allowed_mb
            and len(burst.rises_mb) == 2,
            f"{BURST} pages of {burst.body_bytes / 1e6:.1f} MB posted at once are all accepted "
            f"({burst.statuses.count(202)}) and analysed ({ended} succeeded), and the intake's "
            f"memory rises by {rise:.0f} MB, at most {INTAKE_COPIES:.0f} copies of each "
            f"({burst.allowed_mb:.0f} MB; per process "
            + ", ".join(f"{r:+.0f}" for r in burst.rises_mb.values())
            + ")",
        )
    if len(twos) < caps:
        ok &= check(False, f"the memory-cap phase ran under all {caps} caps (ran: {len(twos)})")
    if not twos:
        return False
    capped = "/".join(str(two.cap_mb) for two in twos)

    def exhausted(two: Phase2) -> bool:
        named = any(code.endswith(":resource_exhausted") for code in two.codes)
        uncoded = any(code.endswith("<no code>") for code in two.codes)
        return named and not uncoded and two.status in ("failed", "partially_succeeded")

    ok &= check(
        all(exhausted(two) for two in twos),
        f"under caps of {capped} MiB the analysis that needs more fails with resource_exhausted ("
        + "; ".join(f"{two.cap_mb}: {two.status} {short_codes(two.codes)}" for two in twos)
        + ")",
    )
    ok &= check(
        all(two.seconds is not None for two in twos),
        "each capped job reaches a terminal state ("
        + ", ".join(f"{seconds_text(two.seconds)} s" for two in twos)
        + ")",
    )
    kills = [
        two.oom_after - two.oom_before
        if two.oom_after is not None and two.oom_before is not None
        else None
        for two in twos
    ]
    ok &= check(
        all(two.pids_kept for two in twos) and not any(kills),
        "nothing else is killed: every main process (intake, both workers, redis) keeps its "
        f"PID under each cap ({'yes' if all(two.pids_kept for two in twos) else 'NO'}); "
        f"kernel OOM kills: {sum(k or 0 for k in kills)}"
        + (" (unknown: no oom_kill in /proc/vmstat)" if None in kills else ""),
    )
    ok &= check(
        all(
            two.short_status == "succeeded"
            and two.short_seconds is not None
            and two.short_seconds <= SHORT_LIMIT_S
            for two in twos
        ),
        f"a short article after it still succeeds within {SHORT_LIMIT_S:.0f} s ("
        + "; ".join(
            f"{two.cap_mb}: {two.short_status} in {seconds_text(two.short_seconds)} s"
            for two in twos
        )
        + ")",
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the stacks' logs and data")
    args = parser.parse_args()
    settings = Settings()
    limit = settings.max_body_bytes
    limits = {"text": limit, "html": settings.max_html_body_bytes, "labels": limit}
    began = time.perf_counter()
    short_body = encode("text", SHORT_ARTICLE)
    print(
        f"copydesk adversarial bench: body limit {limit:,} B (html {limits['html']:,} B, "
        f"{settings.max_html_tags:,} tags), max_chars {settings.max_chars:,}, "
        f"max_sentences {settings.max_sentences:,}, max_tokens {settings.max_tokens:,}, "
        f"parse {settings.parse_max_chars:,} chars in windows of "
        f"{settings.parse_window_chars:,} within {settings.parse_seconds:g} s, worker memory cap "
        f"{settings.worker_memory_limit_mb} MiB, 2 analysis processes; checks: POST <= "
        f"{POST_LIMIT_MS:.0f} ms, terminal <= {TERMINAL_LIMIT_S:.0f} s, worker RSS <= "
        f"{RSS_LIMIT_MB:.0f} MB, short article <= {SHORT_LIMIT_S:.0f} s; every job asks for "
        f"{', '.join(ANALYSES)}"
    )
    # the big article first: its memory growth, measured on a freshly loaded process, sizes
    # the phase 2 cap (a pool process keeps the heap an earlier input made it grow)
    hostiles = [big_article_input(), *hostile_inputs(settings)]
    payloads = [fit(hostile, limit=limits[hostile.kind]) for hostile in hostiles]
    var_dir = Path(tempfile.mkdtemp(prefix="copydesk-adversarial-"))
    twos: list[Phase2] = []
    try:
        page = big_page(min(limits["html"], settings.max_html_chars))
        one = phase1(var_dir, payloads=payloads, short_body=short_body, page=page)
        big = next((o for o in one.outcomes if o.payload.hostile.group == "reference"), None)
        caps = choose_caps(loaded_mb=one.loaded_data_mb, big=big)
        print(
            f"\nmemory caps: a loaded pool process holds {one.loaded_data_mb:.0f} MiB of VmData; "
            f"the big article grew one by {big.data_growth_mb if big else math.nan:.0f} MiB "
            f"uncapped -> caps {', '.join(map(str, caps))} MiB"
        )
        big_payload = big.payload if big else fit(big_article_input(), limit=limit)
        for cap in caps:
            try:
                twos.append(phase2(var_dir, cap_mb=cap, big=big_payload, short_body=short_body))
            except Exception as exc:  # reported; the phase's checks then fail
                print(f"  phase 2 at {cap} MiB failed: {type(exc).__name__}: {exc}")
    finally:
        if args.keep:
            print(f"\nlogs and data kept in {var_dir}")
        else:
            import shutil

            shutil.rmtree(var_dir, ignore_errors=True)
    print(f"\ntotal run time {time.perf_counter() - began:.0f} s")
    return 0 if verdicts(one, twos, limits=limits, caps=len(caps)) else 1


if __name__ == "__main__":
    sys.exit(main())
