"""Main-text extraction: menus, footers and cookie banners are never an article."""

from __future__ import annotations

import pytest

from copydesk.core import errors
from copydesk.prepare.boilerplate import names_furniture
from copydesk.prepare.html import extract_html, strip_tags
from copydesk.prepare.text import Limits, prepare

PROSE = (
    "The city council approved the school budget on Monday after a long debate about "
    "teacher salaries and the cost of new buildings. "
) * 6


@pytest.mark.parametrize(
    "page",
    [
        "<html><body><nav>Home</nav></body></html>",
        "<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        "<footer>(c) 2024 Example Ltd. All rights reserved.</footer>"
        "<div id='cookie-banner'>We use cookies to improve your experience. Accept all?</div>"
        "</body></html>",
        "<html><body><header><a>Example News</a></header><ul class='main-menu'><li>World</li>"
        "<li>Sport</li></ul><div role='navigation'>Next page</div><aside>Most read</aside>"
        "<div class='gdpr-consent'>Your privacy matters to us. Manage settings.</div></body></html>",
    ],
    ids=["nav-only", "nav-footer-cookies", "header-menus-consent"],
)
def test_a_page_of_furniture_has_no_text_and_fails_as_empty(page: str) -> None:
    assert extract_html(page)[0] == ""
    assert strip_tags(page) == ""
    with pytest.raises(errors.EmptyArticle):
        prepare(html=page, limits=Limits(html_timeout_seconds=None))


def test_the_article_is_kept_and_its_menus_dropped() -> None:
    page = (
        "<html><body class='menu-open'><nav>Home World Sport</nav>"
        f"<article><header><h1>Budget passes</h1></header><p>{PROSE}</p></article>"
        "<footer>Contact us</footer></body></html>"
    )
    text, _ = extract_html(page)
    assert "school budget" in text
    assert "Home World Sport" not in text and "Contact us" not in text
    fallback = strip_tags(page)
    assert "Budget passes" in fallback and "school budget" in fallback
    assert "Home" not in fallback and "Contact" not in fallback


@pytest.mark.parametrize(
    "page",
    [
        "<p>The council approved the budget on Monday after a long debate.</p>",
        "The council approved the budget on Monday after a long debate.",
        "<div>" * 20_000 + "The council approved the budget." + "</div>" * 20_000,
    ],
    ids=["fragment", "plain-text", "nested-past-libxml2-depth"],
)
def test_a_small_or_odd_page_keeps_its_text(page: str) -> None:
    assert "council approved the budget" in extract_html(page)[0]
    assert "council approved the budget" in strip_tags(page)


def test_a_layout_class_never_hides_the_page() -> None:
    page = (
        "<html><body><div class='page-with-sidebar'><div class='content-wrapper'>"
        f"<p>{PROSE}</p></div><div class='sidebar'>Popular now</div></div></body></html>"
    )
    text = strip_tags(page)
    assert "school budget" in text and "Popular now" not in text


@pytest.mark.parametrize(
    ("name", "furniture"),
    [
        ("site-nav", True),
        ("cookie_banner", True),
        ("newsletter", True),
        ("navigator", False),  # a whole word of the name only
        ("menu-open", False),  # a state of the element holding the page
        ("has-sidebar", False),
        ("nav-wrapper", False),
        ("article-body", False),
    ],
)
def test_a_class_or_id_names_furniture_by_a_whole_word(name: str, furniture: bool) -> None:
    assert names_furniture(name) is furniture


ZH_PROSE = (
    "香港行政长官梁振英在各方压力下就其大宅的违章建筑问题到立法会接受质询，并向香港民众道歉。"
    "梁振英强调承诺将在两周内解决其住宅的违建问题。"
)


def test_a_frame_whose_class_names_furniture_keeps_the_headline_and_article() -> None:
    # BBC Chinese wraps the whole page in <div id="blq-container" class="... blq-int-nav">:
    # a variant class on the frame, not a menu, since the page's <h1> sits inside it
    page = (
        "<html><body><div id='blq-container' class='blq-lang-zh-Hans-CN blq-int-nav'>"
        "<div class='masthead'><a>首页</a></div><h1>港特首梁振英就住宅违建事件道歉</h1>"
        f"<p>{ZH_PROSE}</p><p>{ZH_PROSE}</p><ul class='site-nav'><li>国际</li></ul>"
        "</div></body></html>"
    )
    text, _ = extract_html(page)
    assert "梁振英强调承诺" in text
    fallback = strip_tags(page)
    assert "梁振英强调承诺" in fallback and "国际" not in fallback
    assert prepare(html=page, limits=Limits(html_timeout_seconds=None)).language == "zh"


def test_a_teaser_marked_up_as_an_article_in_a_sidebar_stays_furniture() -> None:
    from copydesk.prepare.html import _content_text, _parse

    page = (
        "<html><body><main><h1>Budget</h1><p>" + PROSE + "</p></main>"
        "<div class='sidebar'><article><p>Most read: the mayor's dog wins a prize at the "
        "county show for the third year running.</p></article></div></body></html>"
    )
    tree = _parse(page)
    assert tree is not None
    content, _ = _content_text(tree)
    assert "city council approved" in content and "mayor's dog" not in content


def test_line_breaks_inside_a_paragraph_of_the_source_are_spaces_as_in_a_browser() -> None:
    wrapped = (
        "Seit\ndie schwedische Klimaaktivistin mit Zügen und Segelbooten die Welt bereist,\n"
        "träumen viele Menschen wieder davon, Europa ohne Flugzeug zu erkunden. "
    ) * 3
    page = (  # a <br> in the paragraph made trafilatura keep the source's line breaks
        "<html><head><title>Zugverkehr</title></head><body><article>"
        f"<p>{wrapped}<br></p><p>Der zweite Absatz\nfolgt hier mit mehr Text über die Bahn "
        "und ihre Pläne für schnellere Verbindungen zwischen den Hauptstädten Europas.</p>"
        "<pre>keep\nthis</pre></article></body></html>"
    )
    text, _ = extract_html(page)
    first, second = text.split("\n\n")[:2]
    assert first.startswith("Seit die schwedische Klimaaktivistin") and "\n" not in first
    assert second.startswith("Der zweite Absatz folgt hier")
