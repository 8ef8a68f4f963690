"""Validate v1 submissions and shape v1 job documents.

The request models are strict (unknown fields are refused) so that a client's typo becomes a
422 naming the field instead of a silently ignored option. Which analyses a job may name, and
the model of each one's options, come from the analysis table (:mod:`copydesk.core.analyses`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
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
from copydesk.core.names import ANALYSES, DEFAULT_ANALYSES, Priority
from copydesk.core.options import (
    HAS_TEXT,
    SPACES,
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


def language_pattern(codes: Iterable[str] = ISO_639_1) -> str:
    """``LANGUAGE_TAG`` with only these ISO 639-1 codes, in any case, for the OpenAPI
    document (which states what this deployment's analyses read with it)."""
    seconds: dict[str, str] = {}
    for code in sorted(codes):
        seconds[code[0]] = seconds.get(code[0], "") + code[1] + code[1].upper()
    first = "|".join(f"[{a}{a.upper()}][{b}]" for a, b in seconds.items())
    return f"^(?:{first})(-[A-Za-z0-9]{{1,8}})*$"


# A Standard Webhooks secret: whsec_ and the base64 (padded as needed) of at least 16 bytes:
# six groups of four characters or more, or five and a padded group (16 or 17 bytes).
_B64 = "[A-Za-z0-9+/]"
_B64_TAIL = f"(?:{_B64}{{2}}==|{_B64}{{3}}=)"
WEBHOOK_SECRET = re.compile(
    f"^whsec_(?:(?:{_B64}{{4}}){{6,}}{_B64_TAIL}?|(?:{_B64}{{4}}){{5}}{_B64_TAIL})$"
)

# A webhook URL as the intake takes it: http(s), a host in ASCII (an IDN in its xn-- form) that
# is a DNS name whose last label opens with a letter, an IPv4 address or a bracketed IPv6 one,
# a port from 1 to 65535, and printable ASCII after. One regex, so that the OpenAPI document
# states the rule the intake applies; which addresses may be reached is checked after it.
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_H16 = "[0-9A-Fa-f]{1,4}"
_LS32 = f"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = "|".join(  # RFC 3986's IPv6address, one line per form
    (
        f"(?:{_H16}:){{6}}{_LS32}",
        f"::(?:{_H16}:){{5}}{_LS32}",
        f"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
        f"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
        f"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
        f"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
        f"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
        f"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
        f"(?:(?:{_H16}:){{0,6}}{_H16})?::",
    )
)
_LABEL = "[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_LAST_LABEL = "[A-Za-z](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"  # never read as a number
_PORT = "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
WEBHOOK_URL = re.compile(
    f"^[Hh][Tt][Tt][Pp][Ss]?://"
    rf"(?:(?:{_LABEL}\.)*{_LAST_LABEL}\.?|{_IPV4}|\[(?:{_IPV6})\])"
    rf"(?::{_PORT})?(?:[/?#][\x21-\x7e]*)?$"
)


def _one_of_text_and_html(schema: dict[str, Any]) -> None:
    """State in the schema what ``_text_or_html`` checks: exactly one of them, with text.

    The pattern finds what HAS_TEXT finds (a character that is not white space) after any
    characters: schemathesis, asked for a text past maxLength, stretches a bare character
    class to a million characters drawn one by one, which Hypothesis refuses."""
    given = {"type": "string", "pattern": f"[\\s\\S]*[^{SPACES}]"}
    schema["oneOf"] = [
        {"required": [one], "properties": {one: given, other: {"type": "null"}}}
        for one, other in (("text", "html"), ("html", "text"))
    ]


_CONTROLS = r"\x00-\x1f\x7f"  # C0 control characters and DEL: a ref outlives the job as sent
REF = f"^[^{_CONTROLS}]+$"
_CONTROL = re.compile(f"[{_CONTROLS}]")


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
        json_schema_extra={"pattern": language_pattern()},
    )
    ref: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        json_schema_extra={"pattern": REF},
        description="Your id for the article, up to 200 characters with no control character: "
        "jobs are listed by it, and archived articles searched by it, exactly as sent.",
    )
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

    @field_validator("ref")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        """An id to list and search by: no control character, which the archive or a log
        line would not keep as sent."""
        if value is not None and (found := _CONTROL.search(value)):
            raise PydanticCustomError(
                "control_character",
                "the ref holds a control character ({found} at {at}); send an id of printable "
                "characters",
                {"found": repr(found.group()), "at": found.start()},
            )
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


LABEL_SET_EXAMPLE = {
    "labels": [
        "politics",
        {
            "label": "schools",
            "description": "Pupils, teachers, exams and school budgets.",
            "examples": ["The school board hired forty teachers for the new term."],
        },
    ]
}


class LabelSetIn(Strict):
    """A named set of custom topic labels, kept for the tenant and named by jobs."""

    model_config = ConfigDict(json_schema_extra={"examples": [LABEL_SET_EXAMPLE]})

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
    url: str = Field(
        max_length=2048,
        description="An absolute http(s) URL whose host is a DNS name (in ASCII: an IDN in "
        "its xn-- form) of at most 253 characters, an IPv4 address or a bracketed IPv6 one. "
        "An address that is private or reserved, or a localhost name, is refused (422 "
        "webhook_refused) unless COPYDESK_WEBHOOK_ALLOW_NETWORKS holds it; a name is checked "
        "when it resolves.",
        json_schema_extra={"pattern": WEBHOOK_URL.pattern},
    )
    secret: str | None = Field(
        default=None,
        max_length=200,
        description="A Standard Webhooks secret: 'whsec_' and the base64 of 16 bytes or more.",
        json_schema_extra={"pattern": WEBHOOK_SECRET.pattern},
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not WEBHOOK_URL.fullmatch(value):
            raise ValueError(
                "must be an absolute http(s) URL with an ASCII host name (an IDN in its xn-- "
                "form) or an IP address, and printable ASCII after it"
            )
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is not None and not is_webhook_secret(value):
            raise ValueError("must be a Standard Webhooks secret: 'whsec_' + base64 of >= 16 bytes")
        return value


def is_webhook_secret(value: str) -> bool:
    """Tell whether ``value`` is a Standard Webhooks secret a signer can use: whsec_ + base64."""
    return WEBHOOK_SECRET.fullmatch(value) is not None


def _analysis_names(schema: dict[str, Any]) -> None:
    """State in the schema what ``_known`` checks: each a known analysis, named once; and
    which run when a job names none."""
    schema["items"] = {"type": "string", "enum": list(ANALYSES)}
    schema["uniqueItems"] = True
    schema["default"] = list(DEFAULT_ANALYSES)


def _options_of_requested_analyses(schema: dict[str, Any]) -> None:
    """Say in words what ``_options_match_analyses`` checks. JSON Schema can state it (per
    analysis: not in options, or named in analyses), but six such disjunctions multiply
    into more branches than schemathesis's generator takes: it gave up on the whole body."""
    schema["description"] = (
        "Per analysis, its options: only for the analyses the job names (the default ones "
        "when it names none); options for another are refused (422, unrequested_options)."
    )


JOB_EXAMPLE = {
    "article": {
        "text": "The city council approved the school budget on Tuesday. Teachers welcomed "
        "the vote, and the mayor said classes would be smaller from September.",
        "title": "Council approves school budget",
        "language": "en",
        "ref": "wire-0042",
    },
    "analyses": ["summary", "topics"],
    "options": {"summary": {"max_sentences": 2}, "topics": {"labels": ["politics", "schools"]}},
    "priority": "high",
}


class JobRequest(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [JOB_EXAMPLE]})

    article: ArticleIn
    analyses: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ANALYSES),
        min_length=1,
        json_schema_extra=_analysis_names,
    )
    options: Options = Field(
        default_factory=lambda: Options.model_validate({}),
        json_schema_extra=_options_of_requested_analyses,
    )
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
        given = sorted(value.model_fields_set - set(requested or DEFAULT_ANALYSES))
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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"jobs": [JOB_EXAMPLE, {"article": {"html": "<p>Storm.</p>"}}]}]
        }
    )

    jobs: list[JobRequest] = Field(min_length=1)
    priority: Priority = "low"  # for each job that names none
    webhook: WebhookIn | None = None  # batch.completed, once every job has ended

    def job_priority(self, job: JobRequest) -> str:
        return job.priority if "priority" in job.model_fields_set else self.priority
