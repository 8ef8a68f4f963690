"""The shapes of v1 answers, as pydantic models: the OpenAPI document is generated from them
(and from the request models in :mod:`copydesk.core.schemas`), and tests check real answers
against them. Rendering stays in :mod:`copydesk.core.render`; these describe its output.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel, model_validator
from pydantic.json_schema import SkipJsonSchema

from copydesk.core.ids import JOB_ID
from copydesk.core.names import JOB_STATUSES, TERMINAL_STATUSES, JobStatus, Priority
from copydesk.core.options import WholeNumber
from copydesk.core.schemas import WebhookIn


def decimal_at_most(limit: int) -> str:
    """A regex of the decimal numbers from 0 to ``limit`` (leading zeros allowed, no more
    digits than ``limit`` has): below it at the first digit that differs, or ``limit``.
    ASCII digits only: Python's ``\\d`` also takes other scripts' digits, ECMA-262's does not."""
    digits = str(limit)
    shorter = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    below = {str(d): f"[0-{d - 1}]" if d > 1 else "0" for d in range(1, 10)}
    lower = [
        f"{digits[:i]}{below[digit]}[0-9]{{{len(digits) - i - 1}}}"
        for i, digit in enumerate(digits)
        if digit != "0"
    ]
    return f"(?:{'|'.join([*shorter, *lower, digits])})"


U64 = decimal_at_most(2**64 - 1)  # what Redis reads as a stream id's time or sequence
EVENT_ID = re.compile(f"(?:{U64}-{U64})")  # a Redis stream entry id: what an event's id is
CURSOR = re.compile(f"{U64}-[0-9a-f]{{32}}")  # a job's place in the listing: number-id
# the Content-Encoding of a body sent as documented (JSON as is): RFC 9110 codings are
# case-insensitive, and none is identity. A gzip body is described in words: OpenAPI cannot.
CONTENT_CODINGS = re.compile(r"^([Ii][Dd][Ee][Nn][Tt][Ii][Tt][Yy])?$")
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,254}")  # IETF draft: printable ASCII
# a webhook delivery's id (its webhook-id): the job and the terminal event it announces
DELIVERY_ID = re.compile(rf"msg_{JOB_ID.pattern}_job\.(?:{'|'.join(sorted(TERMINAL_STATUSES))})")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class FieldError(_Open):
    field: str
    message: str


class Problem(_Open):
    """An RFC 9457 problem; ``code`` is stable and names the error."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[FieldError] | None = None


class CleaningView(BaseModel):
    enabled: bool = Field(description="false when the client sent article.clean: false")
    removed_lines: int | None = Field(description="lines cleaning removed (null until prepared)")
    removed_characters: int | None = Field(description="characters in the removed lines")


class ArticleView(BaseModel):
    title: str | None
    ref: str | None
    url: str | None
    language: str | None
    characters: int | None = Field(description="length of the text at GET .../text")
    analysed_characters: int | None = Field(
        description="how much of that text the analyses read (less past COPYDESK_MAX_CHARS)"
    )
    cleaning: CleaningView


class WebhookView(BaseModel):
    url: str
    state: Literal["pending", "delivered", "failed"] | None
    attempts: int
    next_attempt_at: str | None
    error: str | None
    secret: str | None = Field(
        default=None, description="A minted secret, in the 202 answer (and its replays) only."
    )


class JobLinks(BaseModel):
    self: str
    text: str


class JobOut(BaseModel):
    id: str
    status: JobStatus
    created_at: str
    updated_at: str
    completed_at: str | None
    article: ArticleView
    analyses: list[str]
    options: dict[str, Any]
    priority: Priority
    results: dict[str, dict[str, Any]] = Field(
        description="Per analysis: its status, and its result or its error problem."
    )
    batch: str | None = None
    webhook: WebhookView | None = None
    links: JobLinks


class JobSummary(BaseModel):
    id: str
    status: JobStatus
    created_at: str
    updated_at: str
    completed_at: str | None
    article: ArticleView
    links: JobLinks


class JobList(BaseModel):
    jobs: list[JobSummary]
    next: str | None = Field(default=None, description="The next page; absent on the last.")


class DeliveryAttempt(_Open):
    delivery_id: str | None = None
    attempt: int
    at: str
    status: int | None
    error: str | None
    ms: float


class Deliveries(BaseModel):
    job_id: str
    delivery_id: str | None
    webhook_state: Literal["pending", "delivered", "failed"] | None
    webhook: WebhookView | None
    attempts: list[DeliveryAttempt]


class BatchOut(BaseModel):
    id: str
    status: Literal["running", "completed"]
    created_at: str
    priority: Priority
    total: int
    counts: dict[str, int]
    jobs: list[str]
    links: dict[str, str]
    webhook: WebhookView | None = None


class LabelSetSummary(BaseModel):
    name: str
    version: str = Field(description="Names the set's content; a job records the one it read.")
    labels: list[str] = Field(description="The label names, in order.")
    examples: int = Field(description="How many example articles the labels bring in all.")
    created_at: str
    updated_at: str
    links: dict[str, str]


class LabelSetOut(LabelSetSummary):
    definition: list[str | dict[str, Any]] = Field(
        description="The labels as sent: names, or objects with description and examples."
    )


class LabelSetList(BaseModel):
    label_sets: list[LabelSetSummary]


class Health(_Open):
    status: str


class RedisCheck(BaseModel):
    ok: bool


class Readiness(Health):
    """/readyz: the intake can accept (Redis answers); workers are reported apart."""

    status: Literal["ok", "unavailable"]
    redis: RedisCheck
    missing: list[str] = Field(description="what stops the intake accepting: `redis`, or none")


class WorkersReport(BaseModel):
    """/v1/workers: which queues live workers serve, the dispatchers, and what waits."""

    status: Literal["ok", "degraded"] = Field(
        description="degraded: a queue has no live worker, or no dispatcher runs"
    )
    missing: list[str] = Field(description="queues no live worker process consumes")
    workers: dict[str, int] = Field(
        description="per queue, the live worker processes consuming it (models loaded)"
    )
    dispatchers: int = Field(description="live dispatcher processes (webhooks, the sweeper)")
    queues: dict[str, int] = Field(description="per queue, the messages waiting")
    queues_by_priority: dict[str, dict[str, int]] = Field(
        description="per queue and priority (high, normal, low), the messages waiting"
    )


class ListQuery(BaseModel):
    status: JobStatus | None = None
    ref: str | None = None
    limit: int = Field(default=20, ge=1, le=100)
    cursor: Annotated[str, Field(pattern=f"^{CURSOR.pattern}$")] | SkipJsonSchema[None] = Field(
        default=None, description="Where the page starts: as given in the last page's `next`."
    )


# a filter's text: no NUL, which PostgreSQL's text cannot hold (no archived job has one)
FILTER_TEXT = r"^[^\x00]+$"
EntityKind = Literal["person", "organisation", "place", "event", "product", "other"]


def _text(length: int) -> Any:
    """A filter's string: 1 to ``length`` characters, no NUL; or left out."""
    return (
        Annotated[str, Field(min_length=1, max_length=length, pattern=FILTER_TEXT)]
        | SkipJsonSchema[None]
    )


Score = Annotated[float, Field(ge=-1, le=1)] | SkipJsonSchema[None]
Moment = AwareDatetime | SkipJsonSchema[None]


class ArticleFilterFields(BaseModel):
    """What an article search filters by; an alert saves the same filters."""

    text: _text(500) = Field(  # type: ignore[valid-type]
        default=None,
        description="Full-text search of title and text (web search syntax: words, "
        '"a phrase", or, -word).',
    )
    language: Annotated[str, Field(pattern="^[a-z]{2}$")] | SkipJsonSchema[None] = Field(
        default=None,
        description="Articles in this language (ISO 639-1); the text is then read with its "
        "stemming.",
    )
    entity: _text(200) = Field(  # type: ignore[valid-type]
        default=None, description="An entity's canonical name, exactly."
    )
    entity_type: EntityKind | SkipJsonSchema[None] = Field(
        default=None, description="With `entity`: only where it is of this type."
    )
    topic: _text(200) = Field(  # type: ignore[valid-type]
        default=None, description="A topic label the article's result lists."
    )
    sentiment_min: Score = Field(default=None, description="Sentiment score at least this.")
    sentiment_max: Score = Field(default=None, description="Sentiment score at most this.")
    ref: _text(200) = Field(  # type: ignore[valid-type]  # a job's ref is at most 200
        default=None, description="The article's `ref`, exactly."
    )
    status: JobStatus | SkipJsonSchema[None] = None


class ArticleQuery(ArticleFilterFields):
    since: Moment = Field(default=None, description="Created at or after (RFC 3339).")
    until: Moment = Field(default=None, description="Created before (RFC 3339).")
    limit: int = Field(default=20, ge=1, le=100)
    cursor: Annotated[str, Field(pattern=f"^{CURSOR.pattern}$")] | SkipJsonSchema[None] = Field(
        default=None, description="Where the page starts: as given in the last page's `next`."
    )


class ArticleEntity(BaseModel):
    name: str
    type: str
    salience: float
    sentiment: float | None


class ArticleItem(BaseModel):
    id: str
    created_at: str
    title: str | None
    ref: str | None
    status: JobStatus
    language: str | None
    sentiment: float | None = Field(description="The sentiment analysis's score, if it ran.")
    topics: list[str]
    entities: list[ArticleEntity] = Field(description="The most salient (at most 5).")
    links: JobLinks


class ArticleList(BaseModel):
    articles: list[ArticleItem]
    next: str | None = Field(default=None, description="The next page; absent on the last.")


class EntityQuery(BaseModel):
    since: Moment = Field(
        default=None, description="Counted from (RFC 3339); default: 7 days before `until`."
    )
    until: Moment = Field(default=None, description="Counted until (RFC 3339); default: now.")
    type: EntityKind | SkipJsonSchema[None] = None
    limit: int = Field(default=20, ge=1, le=100)


class EntityCount(BaseModel):
    name: str
    type: str
    articles: int = Field(description="Articles of the range that name it.")
    sentiment: float | None = Field(description="Its mean sentiment in them.")


class EntityList(BaseModel):
    since: str = Field(description="The range counted: a longer one than "
                       "COPYDESK_ENTITIES_MAX_DAYS is cut to its last days.")  # fmt: skip
    until: str
    entities: list[EntityCount]


MOST_GROWTH_HOURS = 168  # growth counts at most a week's articles


class StoryQuery(BaseModel):
    sort: Literal["recent", "size", "growth"] = Field(
        default="recent",
        description="recent: last seen first; size: most articles first; growth: most "
        "articles created in the last `hours` first.",
    )
    hours: int = Field(default=24, ge=1, le=MOST_GROWTH_HOURS, description="growth's window.")
    since: Moment = Field(default=None, description="Last seen at or after (RFC 3339).")
    until: Moment = Field(default=None, description="Last seen before (RFC 3339).")
    limit: int = Field(default=20, ge=1, le=100)
    cursor: Annotated[str, Field(pattern=f"^{CURSOR.pattern}$")] | SkipJsonSchema[None] = Field(
        default=None, description="Where the page starts: as given in the last page's `next`."
    )


class StoryLinks(BaseModel):
    self: str
    representative: str


class StorySummary(BaseModel):
    id: str
    size: int = Field(description="Its articles.")
    first_seen: str
    last_seen: str
    title: str | None = Field(description="The representative article's title.")
    representative: str = Field(description="The job id of the article that stands for it.")
    growth: int | None = Field(description="Articles of the last `hours` (sort=growth only).")
    links: StoryLinks


class StoryList(BaseModel):
    stories: list[StorySummary]
    next: str | None = Field(default=None, description="The next page; absent on the last.")


class StoryArticlesQuery(BaseModel):
    limit: int = Field(default=20, ge=1, le=100, description="Articles on the page.")
    cursor: Annotated[str, Field(pattern=f"^{CURSOR.pattern}$")] | SkipJsonSchema[None] = Field(
        default=None, description="Where the articles' page starts: as in the last `next`."
    )


class StoryEntity(BaseModel):
    name: str
    type: str | None
    count: int = Field(description="Its articles that name it.")


class StoryTopic(BaseModel):
    label: str
    count: int


class StoryDay(_Open):
    day: str
    count: int
    mean: float | None


class StoryArticle(BaseModel):
    id: str
    created_at: str
    title: str | None
    original: str | None = Field(description="The earliest article it duplicates, if any.")
    sentiment: float | None
    links: JobLinks


class StoryOut(BaseModel):
    id: str
    size: int
    first_seen: str
    last_seen: str
    title: str | None
    representative: str
    entities: list[StoryEntity] = Field(description="Its most named entities (at most 10).")
    topics: list[StoryTopic] = Field(description="Its most frequent topics (at most 10).")
    sentiment: list[StoryDay] = Field(description="Mean sentiment a day: the trend.")
    links: StoryLinks
    articles: list[StoryArticle] = Field(description="Its articles, newest first, a page.")
    next: str | None = Field(default=None, description="The articles' next page; absent last.")


class IdempotencyHeaders(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    idempotency_key: (
        Annotated[str, Field(pattern=f"^{IDEMPOTENCY_KEY.pattern}$")] | SkipJsonSchema[None]
    ) = Field(
        default=None,
        alias="Idempotency-Key",
        description="Makes a retry safe: the same key and body answer with the first result "
        "(1-255 printable ASCII characters).",
    )


class SubmitHeaders(IdempotencyHeaders):
    content_encoding: (
        Annotated[str, Field(pattern=CONTENT_CODINGS.pattern)] | SkipJsonSchema[None]
    ) = Field(
        default=None,
        alias="Content-Encoding",
        description="identity (or none): the body is the JSON described. The body may also be "
        "gzipped, with `gzip` or `x-gzip` (any case): the size limits apply after inflating it "
        "(413 decompressed_body_too_large past the largest, 400 malformed_gzip if invalid). "
        "Any other coding: 415 unsupported_content_encoding.",
    )


LastEventId = Annotated[str, Field(pattern=f"^(0|{EVENT_ID.pattern})?$")] | SkipJsonSchema[None]


class EventHeaders(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    last_event_id: LastEventId = Field(
        default=None,
        alias="Last-Event-ID",
        description="Resume after this event (its `id`); 0 or none: from the start.",
    )


class EventQuery(BaseModel):
    last_event_id: LastEventId = Field(
        default=None, description="As the Last-Event-ID header, for clients that cannot send it."
    )


# The events of a job's stream (GET /v1/jobs/{id}/events): each SSE event's `data`, named by
# its `event`. Open: an event may carry more fields in a later version.
STATUS_EVENTS = tuple(f"job.{status}" for status in JOB_STATUSES)
PREPARED_EVENTS = ("job.text_prepared", "job.final_prepared")
EVENT_TYPES = (*STATUS_EVENTS, *PREPARED_EVENTS, "analysis.completed")


class StatusEvent(_Open):
    """The job changed status; the stream ends after a terminal one."""

    type: Literal[STATUS_EVENTS]  # type: ignore[valid-type]
    status: JobStatus


class PreparedEvent(_Open):
    """The prepare stage stored the cleaned text (text_prepared) or the vectors (final_)."""

    type: Literal[PREPARED_EVENTS]  # type: ignore[valid-type]


class AnalysisCompleted(_Open):
    """An analysis recorded its result, or its failure."""

    type: Literal["analysis.completed"]
    analysis: str
    result: dict[str, Any] | None = Field(
        description="The analysis's entry of the job's results, as GET /v1/jobs/{id} shows it."
    )


class JobEvent(RootModel[StatusEvent | PreparedEvent | AnalysisCompleted]):
    """One event of a job: the `data` of an SSE event, whose `event` is its `type`."""


class EncoderShare(BaseModel):
    model: str
    languages: list[str] = Field(description="ISO 639-1 codes this encoder embeds")


class ModelInfo(_Open):
    backend: str
    model: str
    revision: str | None = None
    max_input_tokens: int | None = None
    device: str | None = None
    precision: str | None = None
    languages: list[str] | None = Field(
        default=None,
        description="ISO 639-1 codes of the languages it reads; null: any (the model decides)",
    )
    encoders: list[EncoderShare] | None = Field(
        default=None,
        description="With a mix of sentence encoders (COPYDESK_SENTENCE_ENCODER=minilm+use-m3), "
        "which embeds which languages; absent with one",
    )
    loaded: bool
    workers: int


class Models(BaseModel):
    analyses: dict[str, ModelInfo]


# --- alerts: PUT /v1/alerts/{name} saves a search with story conditions and a webhook ---
ALERT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ALERT_NAME_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
MOST_ENTITY_CONDITIONS = 8  # entity-sentiment conditions of one alert
LONGEST_STORY_WINDOW = 90 * 86_400  # the longest stories window (COPYDESK_STORIES_WINDOW_DAYS)


class _Body(BaseModel):
    """A JSON body: unknown fields refused, no type coerced (a string is not a number)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class AlertFilters(ArticleFilterFields):
    """GET /v1/articles's filters (all must match), without its time range: an alert looks at
    each article as it is archived."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, value in data.items():
                if value is None:
                    raise ValueError(f"{name}: leave a filter out rather than send null")
        return data


class StorySizeCondition(_Body):
    """Fire once the article's story holds this many articles created within the window that
    ends at the article: once per story, when it crosses the size."""

    articles: WholeNumber = Field(ge=2, le=1000)
    within_seconds: WholeNumber = Field(default=86_400, ge=60, le=LONGEST_STORY_WINDOW)


class EntitySentimentCondition(_Body):
    """Fire only when the article speaks of the entity with its own sentiment below ``below``."""

    entity: Annotated[str, Field(min_length=1, max_length=200, pattern=FILTER_TEXT)]
    entity_type: EntityKind | None = None
    below: float = Field(ge=-1, le=1)


class AlertConditions(_Body):
    story_size: StorySizeCondition | None = None
    entity_sentiment: list[EntitySentimentCondition] = Field(
        default_factory=list, max_length=MOST_ENTITY_CONDITIONS
    )


class AlertIn(_Body):
    filters: AlertFilters = Field(default_factory=AlertFilters)
    conditions: AlertConditions = Field(default_factory=AlertConditions)
    webhook: WebhookIn | None = Field(
        default=None,
        description="Where `alert.fired` events go, signed like a job's webhook: `url`, and "
        "`secret` (or one is minted and shown once, in this answer); null: the event "
        "stream only.",
    )


class AlertWebhookView(BaseModel):
    url: str
    secret: str | None = Field(
        default=None, description="A minted secret, in the PUT answer that minted it only."
    )


class AlertOut(BaseModel):
    name: str
    id: str
    filters: AlertFilters
    conditions: AlertConditions
    webhook: AlertWebhookView | None
    created_at: str
    updated_at: str


class AlertList(BaseModel):
    alerts: list[AlertOut]
    next: str | None = Field(default=None, description="The next page; absent on the last.")


class AlertListQuery(BaseModel):
    after: Annotated[str, Field(pattern=ALERT_NAME.pattern)] | SkipJsonSchema[None] = Field(
        default=None, description="List the alerts named after this one (the last page's last)."
    )
    limit: int = Field(default=100, ge=1, le=1000)


ALERT_DELIVERY_ID = re.compile(r"msg_alert_[0-9a-f]{32}")


class AlertDeliveryQuery(BaseModel):
    limit: int = Field(default=20, ge=1, le=100)


class AlertDelivery(BaseModel):
    delivery_id: str = Field(description="The firing's `webhook-id`.")
    firing_id: str
    fired_at: str
    story: str | None = Field(description="The story it fired for; null: an article alone.")
    article_id: str
    webhook: WebhookView | None = Field(
        description="Where its webhook stands; null without one, or once Redis let it go."
    )
    attempts: list[DeliveryAttempt]


class AlertDeliveries(BaseModel):
    alert: str
    deliveries: list[AlertDelivery]


class AlertFired(_Open):
    """An alert fired: the first matching article of a story (or, without a story, the
    article), or the article that made its story cross the size."""

    type: Literal["alert.fired"]
    timestamp: str
    data: dict[str, Any]
