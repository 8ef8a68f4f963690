"""Check the language hint: a tag opening with an ISO 639-1 code, and a language at least one
requested analysis of this deployment reads (what /v1/models lists)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from copydesk.core import analyses, errors
from copydesk.core.models_view import check_language, describe, encoder_family, languages
from copydesk.core.schemas import ArticleIn, JobRequest
from copydesk.core.settings import Settings


@pytest.mark.parametrize("tag", ["xx", "english", "fil", "e", "en_US", "zz-ZZ", "123", "en-"])
def test_a_tag_without_an_iso_639_1_language_is_refused(tag: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ArticleIn.model_validate({"text": "Shares rose.", "language": tag})
    (issue,) = caught.value.errors()
    assert issue["type"] == "unknown_language" and issue["loc"] == ("language",)
    assert repr(tag) in issue["msg"] and "ISO 639-1" in issue["msg"]


@pytest.mark.parametrize(
    ("tag", "kept"),
    [("en", "en"), ("EN", "en"), ("pt-BR", "pt-br"), ("zh-Hant-TW", "zh-hant-tw"), ("fr", "fr")],
)
def test_a_tag_with_an_iso_639_1_language_is_kept_in_lower_case(tag: str, kept: str) -> None:
    assert ArticleIn.model_validate({"text": "Shares rose.", "language": tag}).language == kept


def test_the_openapi_pattern_says_what_the_validator_checks() -> None:
    import re
    import string

    pattern = re.compile(ArticleIn.model_json_schema()["properties"]["language"]["pattern"])
    for a in string.ascii_letters:
        for b in string.ascii_letters:
            valid = True
            try:
                ArticleIn.model_validate({"text": "x", "language": f"{a}{b}-GB"})
            except ValidationError:
                valid = False
            assert bool(pattern.match(f"{a}{b}-GB")) is valid, a + b


def test_by_default_the_encoder_analyses_read_the_mix_of_minilm_and_use_m3() -> None:
    default = Settings()
    assert default.encoder_families == ("minilm", "use-m3")
    for name in ("summary", "sentiment", "topics", "stories"):
        assert languages(analyses.REGISTRY[name], default) == languages(
            analyses.REGISTRY[name], Settings(sentence_encoder="use-m3")
        )
    check_language("de", ["summary"], default)
    with pytest.raises(errors.UnsupportedLanguage):
        check_language("sv", ["summary"], default)


def test_with_minilm_alone_the_embedded_analyses_read_english_and_a_hugging_face_model_any_language() -> (
    None
):
    embedded = Settings(sentence_encoder="minilm")
    assert {n: languages(a, embedded) for n, a in analyses.REGISTRY.items()} == {
        "summary": ("en",),
        "sentiment": ("en",),
        "topics": ("en",),
        "entities": ("en", "fr", "ru"),  # the parse finds entities in these three
        "keyphrases": ("en",),
        "quotes": ("en",),
        "stories": ("en",),  # rewrites and stories read the encoder's vectors
    }
    hub = Settings(
        topics_model="MoritzLaurer/mDeBERTa-v3-base-mnli-xnli", sentence_encoder="minilm"
    )
    assert languages(analyses.REGISTRY["topics"], hub) is None


def test_an_analysis_without_the_encoder_reads_any_language() -> None:
    count = analyses.Analysis(
        name="wordcount",
        options="copydesk.core.options:SentimentOptions",
        embedded="nowhere:WordCount",
        encoder=False,
    )
    analyses.register(count)
    try:
        assert languages(count, Settings()) is None
        check_language("fr", ["summary", "wordcount"], Settings())
    finally:
        analyses.unregister("wordcount")


def test_models_lists_the_languages_of_each_analysis() -> None:
    described = describe(
        Settings(topics_model="some/nli-model", sentence_encoder="minilm"), workers=[]
    )
    assert described["summary"]["languages"] == ["en"]
    assert described["topics"]["languages"] is None


@pytest.mark.parametrize("hint", [None, "en", "en-gb"])
def test_a_language_the_analyses_read_passes(hint: str | None) -> None:
    check_language(hint, ["summary", "sentiment", "topics"], Settings())


def test_a_language_no_requested_analysis_reads_is_unsupported() -> None:
    with pytest.raises(errors.UnsupportedLanguage) as caught:
        check_language("fr-ca", ["summary", "topics"], Settings(sentence_encoder="minilm"))
    problem = caught.value.to_problem()
    assert problem["status"] == 422 and problem["code"] == "unsupported_language"
    assert problem["language"] == "fr" and problem["supported"] == ["en"]
    assert "'fr'" in problem["detail"] and "summary, topics" in problem["detail"]


def test_one_requested_analysis_that_reads_the_language_is_enough() -> None:
    hub = Settings(topics_model="some/nli-model", sentence_encoder="minilm")
    check_language("fr", ["summary", "topics"], hub)  # topics reads it; summary fails alone
    with pytest.raises(errors.UnsupportedLanguage):
        check_language("fr", ["summary", "sentiment"], hub)


def test_a_job_request_still_validates_without_settings() -> None:
    job = JobRequest.model_validate({"article": {"text": "Le budget.", "language": "fr"}})
    assert job.article.language == "fr"  # the deployment's check is the intake's, not the schema's


def test_with_use_m3_the_encoder_analyses_read_its_16_languages() -> None:
    use_m3 = Settings(sentence_encoder="use-m3")
    read = {n: languages(a, use_m3) for n, a in analyses.REGISTRY.items()}
    for name in ("summary", "sentiment", "topics"):
        assert {"en", "de", "fr", "zh", "ja", "ar", "th", "ko", "tr"} <= set(read[name])
        assert len(read[name]) == 15  # zh covers zh-CN and zh-TW
    assert read["entities"] == ("en", "fr", "ru")  # the parse's, whatever the encoder
    for name in ("keyphrases", "quotes"):
        assert read[name] == ("en",)  # noun chunks and speech cues: the English parse
    check_language("de", ["summary", "sentiment", "topics"], use_m3)
    check_language("zh-tw", ["topics"], use_m3)
    with pytest.raises(errors.UnsupportedLanguage):
        check_language("sv", ["summary"], use_m3)
    with pytest.raises(errors.UnsupportedLanguage):
        check_language("de", ["entities"], use_m3)
    described = describe(use_m3, workers=[])
    assert "de" in described["topics"]["languages"]
    assert described["topics"]["model"] == "universal-sentence-encoder-multilingual-3"


def test_a_mix_of_encoders_reads_each_ones_languages_and_names_who_reads_which() -> None:
    mix = Settings(sentence_encoder="minilm+use-m3")
    assert mix.encoder_families == ("minilm", "use-m3")
    assert languages(analyses.REGISTRY["summary"], mix) == languages(
        analyses.REGISTRY["summary"], Settings(sentence_encoder="use-m3")
    )
    assert encoder_family("en", mix) == encoder_family("en-GB", mix) == "minilm"
    assert encoder_family("de", mix) == encoder_family("zh-TW", mix) == "use-m3"
    assert encoder_family(None, mix) == "minilm"  # undetected text goes to the first
    assert encoder_family("sv", mix) == "use-m3"  # refused by the one that reads most
    check_language("de", ["sentiment"], mix)
    with pytest.raises(errors.UnsupportedLanguage):
        check_language("sv", ["sentiment"], mix)
    described = describe(mix, workers=[])["topics"]
    assert described["model"] == "all-MiniLM-L6-v2"
    shares = {share["model"]: share["languages"] for share in described["encoders"]}
    assert shares["all-MiniLM-L6-v2"] == ["en"]
    assert "en" not in shares["universal-sentence-encoder-multilingual-3"]
    assert len(shares["universal-sentence-encoder-multilingual-3"]) == 14
    assert "encoders" not in describe(Settings(sentence_encoder="use-m3"), workers=[])["topics"]


def test_an_encoder_setting_whose_later_encoder_would_embed_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="would embed no article"):
        Settings(sentence_encoder="use-m3+minilm")  # USE-m3 reads English too
    with pytest.raises(ValueError, match="would embed no article"):
        Settings(sentence_encoder="minilm+mpnet")
    with pytest.raises(ValueError, match="no MiniLM"):
        Settings(sentence_encoder="mpnet+use-m3", embedding_model="/some/minilm")
    assert Settings(sentence_encoder="mpnet+use-m3").encoder_families == ("mpnet", "use-m3")


@pytest.mark.parametrize("value", ["minilm+minilm", "minilm+", "bert", "use-m3 + minilm"])
def test_a_sentence_encoder_setting_names_known_encoders_once(value: str) -> None:
    with pytest.raises(ValueError):
        Settings(sentence_encoder=value)
