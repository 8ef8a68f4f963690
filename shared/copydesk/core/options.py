"""What a client may ask of each analysis: its options model, and the topic labels they carry.

Each options model is the one home of its analysis's defaults and bounds: the intake
validates requests with it (and the OpenAPI document shows it), and the analysers read their
options through ``checked``, so a direct call (the CLI, a test) meets the same rule. The
analysis table (:mod:`copydesk.core.analyses`) names each model. Strict: an unknown field is
refused, so a client's typo becomes a 422 naming the field instead of an ignored option.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from copydesk.core.errors import AnalysisError

LABEL_SET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LABEL_SET_NAME_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
MAX_LABEL_EXAMPLES = 20  # per label
MAX_LABEL_NAMES = 20  # per label: its names in other languages
MAX_EXAMPLES = 200  # per job: the prepare worker embeds each example's lead once per label set

# A character other than white space (Unicode White_Space: what strip_whitespace removes),
# written so that Python and the ECMA-262 patterns of JSON Schema read it alike. A string that
# is stripped must have one, and the OpenAPI document says so (``pattern``).
SPACES = r"\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
HAS_TEXT = re.compile(f"[^{SPACES}]")
_SOME_TEXT = Field(json_schema_extra={"pattern": HAS_TEXT.pattern})

Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), _SOME_TEXT
]
Example = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), _SOME_TEXT
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), _SOME_TEXT
]


def _whole_number(value: Any) -> Any:
    """Read 12.0 as 12, as JSON Schema's ``integer`` does; 12.5, "12" and true stay refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]  # with strict=True on the field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class SummaryOptions(Strict):
    max_sentences: WholeNumber = Field(default=3, ge=1, le=20, strict=True)
    mode: Literal["extractive", "abstractive"] | None = None  # None: the deployment's default


class SentimentOptions(Strict):
    pass


class LabelIn(Strict):
    """A custom label with what the client can tell about it: a description, example articles,
    its names in other languages.

    A bare string is the same as ``{"label": ...}``, and such a label is stored (and echoed in
    the job's options) as the string again.
    """

    label: Label
    description: Description | None = None
    examples: list[Example] | None = Field(
        default=None, min_length=1, max_length=MAX_LABEL_EXAMPLES
    )
    names: list[Label] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_LABEL_NAMES,
        description='What the label is called in other languages ("Wirtschaft", '
        '"économie"): the embedded classifier blends them into the label for articles not in '
        'English, in place of the section names it knows for a label such as "business". '
        "English articles read the label itself; a Hugging Face model reads the label alone.",
    )

    @model_serializer(mode="wrap")
    def _bare_name(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        told = self.description or self.examples or self.names
        return data if told else self.label


def _label_object(value: Any) -> Any:
    if isinstance(value, str):
        return {"label": value}
    if not isinstance(value, dict):
        raise PydanticCustomError(
            "label_type",
            "a label is a string, or an object with label, description, examples, names",
        )
    return value


LabelItem = Annotated[
    LabelIn, BeforeValidator(_label_object, json_schema_input_type=Label | LabelIn)
]


def check_labels(value: list[LabelIn]) -> list[LabelIn]:
    """Refuse repeated labels, and more examples than a job may bring in all."""
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


Labels = Annotated[
    list[LabelItem],
    Field(
        min_length=1,
        max_length=50,
        description="Unique: no two labels alike once case and surrounding white space are "
        "set aside, whether given as a string or an object (uniqueItems states only the exact "
        f"case). Their examples number at most {MAX_EXAMPLES} in all.",
        json_schema_extra={"uniqueItems": True},  # check_labels
    ),
]
LabelSetName = Annotated[str, StringConstraints(pattern=LABEL_SET_NAME.pattern)]


def _labels_or_label_set(schema: dict[str, Any]) -> None:
    """State in the schema what ``_one_source`` checks: not both labels and label_set."""
    schema["anyOf"] = [
        {"properties": {source: {"type": "null"}}} for source in ("labels", "label_set")
    ]


class TopicsOptions(Strict):
    model_config = ConfigDict(json_schema_extra=_labels_or_label_set)

    labels: Labels | None = None
    label_set: LabelSetName | None = None  # a stored label set (PUT /v1/label-sets/{name})
    top_k: WholeNumber = Field(default=3, ge=1, le=50, strict=True)

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[LabelIn] | None) -> list[LabelIn] | None:
        return value if value is None else check_labels(value)

    @model_validator(mode="after")
    def _one_source(self) -> TopicsOptions:
        if self.labels is not None and self.label_set is not None:
            raise PydanticCustomError("conflict", "give labels or label_set, not both")
        return self


EntityType = Literal["person", "organisation", "place", "event", "product", "other"]
ENTITY_TYPES: tuple[str, ...] = get_args(EntityType)


class EntitiesOptions(Strict):
    types: list[EntityType] | None = Field(
        default=None,
        min_length=1,
        max_length=len(ENTITY_TYPES),
        description="Only entities of these types (default: all six).",
        json_schema_extra={"uniqueItems": True},
    )
    top_k: WholeNumber = Field(
        default=25, ge=1, le=200, strict=True, description="The most salient entities kept."
    )

    @field_validator("types")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise PydanticCustomError("duplicate", "each type may be named only once")
        return value


class KeyphrasesOptions(Strict):
    top_k: WholeNumber = Field(
        default=10, ge=1, le=50, strict=True, description="The most key phrases returned."
    )
    diversity: float = Field(
        default=0.3,
        ge=0,
        le=1,
        strict=True,  # "0.3" and true are not numbers; 1 is
        description="0 ranks by closeness to the article alone; higher values pass over "
        "phrases close to those already chosen (maximal marginal relevance).",
    )


class QuotesOptions(Strict):
    indirect: bool = Field(
        default=True, strict=True, description='Also indirect speech ("X said that ...").'
    )


class StoriesOptions(Strict):
    """None yet: the window and the bounds are the deployment's (COPYDESK_STORIES_*)."""


Model = TypeVar("Model", bound=BaseModel)


def checked(model: type[Model], options: Mapping[str, Any]) -> Model:
    """Read an analyser's options with the model the intake validates them with.

    The service's options passed the intake already; a direct caller's bad value fails the
    analysis naming the field, as a bad request is a 422 naming it.
    """
    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"])
        raise AnalysisError(f"{field}: {first['msg']}") from None
