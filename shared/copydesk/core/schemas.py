"""Validate v1 submissions and shape v1 job documents.

The request models are strict (unknown fields are refused) so that a client's typo becomes a
422 naming the field instead of a silently ignored option.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from copydesk.core.names import ANALYSES, Priority

MAX_TEXT_CHARS = 1_000_000
LABEL_SET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LABEL_SET_NAME_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
WEBHOOK_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/=]{16,}$")

Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MAX_LABEL_EXAMPLES = 20  # per label
MAX_EXAMPLES = 200  # per job: the prepare worker embeds each example's lead once per label set
Example = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ArticleIn(_Strict):
    html: str | None = Field(default=None)  # held to COPYDESK_MAX_HTML_CHARS, _TAGS at intake
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS, validate_default=True)
    title: str | None = Field(default=None, max_length=1000)
    url: str | None = Field(default=None, max_length=2048)
    language: str | None = Field(default=None, max_length=35)
    ref: str | None = Field(default=None, max_length=200)
    clean: bool = Field(default=True, strict=True)

    @field_validator("text")
    @classmethod
    def _text_or_html(cls, value: str | None, info: ValidationInfo) -> str | None:
        html = info.data.get("html")
        if value is None and html is None:
            if "html" in info.data:
                raise PydanticCustomError("missing", "article.text (or article.html) is required")
            return value  # html itself failed validation; that error is reported
        if value is not None and html is not None:
            raise PydanticCustomError("conflict", "give article.text or article.html, not both")
        if not (value if value is not None else html).strip():
            raise PydanticCustomError("empty", "the article has no text")
        return value

    @field_validator("language")
    @classmethod
    def _language_tag(cls, value: str | None) -> str | None:
        if value is not None and not LANGUAGE_TAG.match(value):
            raise ValueError("must be a BCP 47 language tag such as 'en' or 'en-GB'")
        return value.lower() if value else value


class SummaryOptions(_Strict):
    max_sentences: int = Field(default=3, ge=1, le=20, strict=True)
    mode: Literal["extractive", "abstractive"] | None = None  # None: the deployment's default


class SentimentOptions(_Strict):
    pass


class LabelIn(_Strict):
    """A custom label with what the client can tell about it: a description, example articles.

    A bare string is the same as ``{"label": ...}``, and such a label is stored (and echoed in
    the job's options) as the string again.
    """

    label: Label
    description: Description | None = None
    examples: list[Example] | None = Field(
        default=None, min_length=1, max_length=MAX_LABEL_EXAMPLES
    )

    @model_serializer(mode="wrap")
    def _bare_name(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        return self.label if not self.description and not self.examples else data


def _label_object(value: Any) -> Any:
    if isinstance(value, str):
        return {"label": value}
    if not isinstance(value, dict):
        raise PydanticCustomError(
            "label_type", "a label is a string, or an object with label, description, examples"
        )
    return value


LabelItem = Annotated[
    LabelIn, BeforeValidator(_label_object, json_schema_input_type=Label | LabelIn)
]


def _check_labels(value: list[LabelIn]) -> list[LabelIn]:
    if len({v.label.casefold() for v in value}) != len(value):
        raise ValueError("labels must be unique")
    examples = sum(len(v.examples or ()) for v in value)
    if examples > MAX_EXAMPLES:
        raise PydanticCustomError(
            "too_many_examples",
            "the labels bring {count} examples; a job may bring at most {limit}",
            {"count": examples, "limit": MAX_EXAMPLES},
        )
    return value


Labels = Annotated[list[LabelItem], Field(min_length=1, max_length=50)]
LabelSetName = Annotated[str, StringConstraints(pattern=LABEL_SET_NAME.pattern)]


class TopicsOptions(_Strict):
    labels: Labels | None = None
    label_set: LabelSetName | None = None  # a stored label set (PUT /v1/label-sets/{name})
    top_k: int = Field(default=3, ge=1, le=50, strict=True)

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[LabelIn] | None) -> list[LabelIn] | None:
        return value if value is None else _check_labels(value)

    @model_validator(mode="after")
    def _one_source(self) -> TopicsOptions:
        if self.labels is not None and self.label_set is not None:
            raise PydanticCustomError("conflict", "give labels or label_set, not both")
        return self


class LabelSetIn(_Strict):
    """A named set of custom topic labels, kept for the tenant and named by jobs."""

    labels: Labels

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[LabelIn]) -> list[LabelIn]:
        return _check_labels(value)


class Options(_Strict):
    summary: SummaryOptions = Field(default_factory=SummaryOptions)
    sentiment: SentimentOptions = Field(default_factory=SentimentOptions)
    topics: TopicsOptions = Field(default_factory=TopicsOptions)


class WebhookIn(_Strict):
    url: str = Field(max_length=2048)
    secret: str | None = Field(default=None, max_length=200)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/?#]+", value, flags=re.IGNORECASE):
            raise ValueError("must be an absolute http(s) URL")
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is not None and not is_webhook_secret(value):
            raise ValueError("must be a Standard Webhooks secret: 'whsec_' + base64 of >= 16 bytes")
        return value


def is_webhook_secret(value: str) -> bool:
    """Tell whether ``value`` is a Standard Webhooks secret a signer can use: whsec_ + base64."""
    if not WEBHOOK_SECRET.match(value):
        return False
    try:
        return len(base64.b64decode(value.removeprefix("whsec_"), validate=True)) >= 16
    except binascii.Error:
        return False


class JobRequest(_Strict):
    article: ArticleIn
    analyses: list[str] = Field(default_factory=lambda: list(ANALYSES), min_length=1)
    options: Options = Field(default_factory=Options)
    webhook: WebhookIn | None = None
    priority: Priority = "normal"

    @field_validator("analyses")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in ANALYSES]
        if unknown:
            raise PydanticCustomError(
                "unknown_analysis",
                "unknown analysis {unknown}; choose from {known}",
                {"unknown": ", ".join(map(str, unknown)), "known": ", ".join(ANALYSES)},
            )
        if len(set(value)) != len(value):
            raise PydanticCustomError("duplicate", "each analysis may be named only once")
        return value

    @field_validator("options")
    @classmethod
    def _options_match_analyses(cls, value: Options, info: ValidationInfo) -> Options:
        """Refuse options for an analysis that was not asked for: likely a client's mistake."""
        requested = info.data.get("analyses")
        given = sorted(value.model_fields_set - set(requested or ANALYSES))
        if requested is not None and given:
            raise PydanticCustomError(
                "unrequested_options",
                "options.{name} is given but {name} is not among the analyses",
                {"name": given[0]},
            )
        return value

    def options_for(self, analysis: str) -> dict[str, Any]:
        return getattr(self.options, analysis).model_dump(exclude_none=True)


class BatchRequest(_Strict):
    jobs: list[JobRequest] = Field(min_length=1)
    priority: Priority = "low"  # for each job that names none
    webhook: WebhookIn | None = None  # batch.completed, once every job has ended

    def job_priority(self, job: JobRequest) -> str:
        return job.priority if "priority" in job.model_fields_set else self.priority


JobStatus = Literal["queued", "running", "succeeded", "partially_succeeded", "failed", "cancelled"]
JOB_STATUSES: tuple[str, ...] = get_args(JobStatus)
TERMINAL_STATUSES: frozenset[str] = frozenset(
    {"succeeded", "partially_succeeded", "failed", "cancelled"}
)


def is_terminal(status: str) -> bool:
    return status in TERMINAL_STATUSES
