"""Validate v1 submissions and shape v1 job documents.

The request models are strict (unknown fields are refused) so that a client's typo becomes a
422 naming the field instead of a silently ignored option. Which analyses a job may name, and
the model of each one's options, come from the analysis table (:mod:`copydesk.core.analyses`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from typing import Any

from pydantic import (
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from copydesk.core.analyses import BUILTIN, REGISTRY, Analysis, resolve
from copydesk.core.names import ANALYSES, Priority
from copydesk.core.options import (
    HAS_TEXT,
    LabelIn,
    Labels,
    Strict,
    check_labels,
)

MAX_TEXT_CHARS = 1_000_000
LANGUAGE_TAG = re.compile(r"^(?P<language>[A-Za-z]{2})(-[A-Za-z0-9]{1,8})*$")
ISO_639_1: frozenset[str] = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la
    lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj
    om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv
    sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
    """.split()
)
"""The two-letter language codes of ISO 639-1: a hint must open with one of them."""


def _language_pattern() -> str:
    """``LANGUAGE_TAG`` with only ISO 639-1 codes, in any case, for the OpenAPI document."""
    seconds: dict[str, str] = {}
    for code in sorted(ISO_639_1):
        seconds[code[0]] = seconds.get(code[0], "") + code[1] + code[1].upper()
    first = "|".join(f"[{a}{a.upper()}][{b}]" for a, b in seconds.items())
    return f"^(?:{first})(-[A-Za-z0-9]{{1,8}})*$"


WEBHOOK_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/=]{16,}$")


def _one_of_text_and_html(schema: dict[str, Any]) -> None:
    """State in the schema what ``_text_or_html`` checks: exactly one of them, with text."""
    given = {"type": "string", "pattern": HAS_TEXT.pattern}
    schema["oneOf"] = [
        {"required": [one], "properties": {one: given, other: {"type": "null"}}}
        for one, other in (("text", "html"), ("html", "text"))
    ]


class ArticleIn(Strict):
    model_config = ConfigDict(json_schema_extra=_one_of_text_and_html)

    html: str | None = Field(default=None)  # held to COPYDESK_MAX_HTML_CHARS, _TAGS at intake
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS, validate_default=True)
    title: str | None = Field(default=None, max_length=1000)
    url: str | None = Field(default=None, max_length=2048)
    language: str | None = Field(
        default=None,
        max_length=35,
        description="The article's language, a tag opening with an ISO 639-1 code ('en', "
        "'pt-BR'): a hint used when detection is unsure; /v1/models lists what each analysis "
        "reads.",
        json_schema_extra={"pattern": _language_pattern()},
    )
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
        if not HAS_TEXT.search(value if value is not None else html):
            raise PydanticCustomError("empty", "the article has no text")
        return value

    @field_validator("language")
    @classmethod
    def _language_tag(cls, value: str | None) -> str | None:
        """A language tag whose language is an ISO 639-1 code: "en", "pt-BR", not "xx"."""
        if value is None:
            return value
        tag = LANGUAGE_TAG.match(value)
        if tag is None or tag["language"].lower() not in ISO_639_1:
            raise PydanticCustomError(
                "unknown_language",
                "{value} is not a language tag opening with an ISO 639-1 code, such as "
                "'en' or 'pt-BR'",
                {"value": repr(value)},
            )
        return value.lower()


class LabelSetIn(Strict):
    """A named set of custom topic labels, kept for the tenant and named by jobs."""

    labels: Labels

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[LabelIn]) -> list[LabelIn]:
        return check_labels(value)


class _AnyRegistered(Strict):
    @model_validator(mode="wrap")
    @classmethod
    def _registered(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        """Check the options of an analysis registered at run time with its own model.

        ``Options`` (and so the OpenAPI document) has a field per built-in analysis; while
        others are registered, a subclass with a field for each of them validates instead.
        """
        added = tuple(a for name, a in REGISTRY.items() if name not in cls.model_fields)
        if not added or not isinstance(data, dict):
            return handler(data)
        return _with_fields(cls, added).model_validate(data)


@functools.cache
def _with_fields(base: type[Strict], added: tuple[Analysis, ...]) -> type[Strict]:
    return create_model(base.__name__, __base__=base, __module__=__name__, **_fields(added))


def _fields(analyses: tuple[Analysis, ...]) -> dict[str, Any]:
    models = {analysis.name: resolve(analysis.options) for analysis in analyses}
    return {name: (model, Field(default_factory=model)) for name, model in models.items()}


# one field per built-in analysis, each its options model (copydesk.core.options)
Options = create_model("Options", __base__=_AnyRegistered, __module__=__name__, **_fields(BUILTIN))


class WebhookIn(Strict):
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


class JobRequest(Strict):
    article: ArticleIn
    analyses: list[str] = Field(default_factory=lambda: list(ANALYSES), min_length=1)
    options: Options = Field(default_factory=lambda: Options.model_validate({}))
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
        """The options of ``analysis`` as the job keeps them: given or default, no nulls."""
        return getattr(self.options, analysis).model_dump(exclude_none=True)


class BatchRequest(Strict):
    jobs: list[JobRequest] = Field(min_length=1)
    priority: Priority = "low"  # for each job that names none
    webhook: WebhookIn | None = None  # batch.completed, once every job has ended

    def job_priority(self, job: JobRequest) -> str:
        return job.priority if "priority" in job.model_fields_set else self.priority
