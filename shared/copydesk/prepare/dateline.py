"""Split a wire dateline ("PARIS, 3 March (AFP) -") off the opening of an article.

Wire copy opens its first paragraph with where (and when) it was filed and who filed it.
Other languages' wires do it their own way, and those forms are known too: "Berlin (dpa) -"
(a city as a name, which only an agency makes a dateline), "MADRID, 5 dic (EFE).-",
"МОСКВА, 5 дек — РИА Новости.", "القاهرة (رويترز) -", "新华社北京12月5日电（记者 张三）",
"【北京12月5日讯】" and "(서울=연합뉴스) 홍길동 기자 =".
Left in, the dateline opens every extractive summary and is read by the models as if the
reporter wrote it. Only the first paragraph is looked at, and the patterns are strict: a
city in capitals, then optional region and date parts, then a known agency in parentheses
and a dash; or, with no agency, a city of at least four capital letters, an en or em dash
(or a spaced hyphen) and a sentence that goes on in mixed case. Anything else stays.
"""

from __future__ import annotations

import re

AGENCIES = (
    "Reuters Breakingviews|Reuters Health|Reuters|Agence France-Presse|AFP|Associated Press|AP"
    "|dpa-AFX|dpa|Bloomberg News|Bloomberg|UPI|ANSA|EFE|Europa Press|Xinhua|Kyodo News|Kyodo"
    "|Jiji Press|Jiji|PTI|IANS|ANI|Yonhap|TASS|RIA Novosti|Interfax|Ukrinform|AAP|NZPA"
    "|Canadian Press|CP|Press Association|PA Media|PA|Anadolu|AA|Lusa|APA|KNA|epd|SID|Belga"
    "|ANP|NTB|TT|Ritzau|STT|CTK|PAP|MTI|BTA|Agerpres|Tanjug|Hina|STA|ATS|Keystone-SDA|SDA"
    "|IRNA|WAFA|KUNA|WAM|SPA|MENA|QNA|Bernama|Antara|PNA|CNA|VNA|Prensa Latina|Notimex"
    "|CNN Business|CNN|Dow Jones|MarketWatch"
    "|رويترز|أ ف ب|أ.ف.ب|فرانس برس|د ب أ|الأناضول|واس|وام|قنا|كونا|سانا|بترا|شينخوا|سبوتنيك"
    "|أسوشيتد برس"
)
"""Wire services and newsrooms whose stories open with a dateline, longest names first."""

_AGENCY = rf"(?:{AGENCIES})(?:\s*[/,&]\s*(?:{AGENCIES}))*"
_LETTER = r"[^\W\d_\u0900-\u0dff]|[\u0900-\u0dff\u064b-\u065f\u0670\u0300-\u036f]"
"""A letter, or a vowel sign or mark that Indic, Arabic and Latin letters carry ("दिल्ली")."""
_CITY = rf"(?P<city>(?:{_LETTER})+(?:(?:\.\ |[ ./'’-])(?:{_LETTER})+){{0,4}}\.?)"
_COMMA = "[,،]"  # and the Arabic comma
_PART = r"[^\W_][\w.'’]*(?:[ -][\w.'’]+){0,4}"
"""A region ("England", "N.C.") or date ("March 3", "3 mars", "2024") after a comma."""

_WITH_AGENCY = re.compile(
    rf"^(?:{_CITY}(?P<parts>(?:{_COMMA}\ {_PART}){{0,3}})\ )?\((?i:{_AGENCY})\)"
    r"\.?\s*(?:--|[-–—―])\s*"
)
_NO_AGENCY = re.compile(
    rf"^{_CITY}(?P<parts>(?:{_COMMA}\ {_PART}){{0,2}})(?:\ ?(?:--|[–—―])|\ -)\ +"
)
_AGENCY_AFTER = re.compile(
    rf"^{_CITY}(?P<parts>(?:{_COMMA}\ {_PART}){{0,2}})"
    r"(?:\ (?:--|[–—―-])\ (?:РИА\ Новости|ТАСС|Интерфакс|ПРАЙМ|Спутник)\.|\.\ /ТАСС/\.)\s*"
)
"""Russian wires: "МОСКВА, 5 дек — РИА Новости." and "МОСКВА, 5 декабря. /ТАСС/."."""
_CJK_DATELINES = tuple(
    re.compile(pattern)
    for pattern in (
        # 新华社北京12月5日电（记者 张三）, 中新网北京12月5日电, 本报东京12月5日电
        r"^(?:新华社|新華社|中新社|中新网|中新網|本报|本報|人民网|人民網|央视网|央視網|法新社|路透社"
        r"|美联社|共同社|韩联社|塔斯社)[^\s，。：:（(]{0,12}?\d{1,2}月\d{1,2}日(?:电|電|讯|訊)"
        r"(?:\s*[（(](?:记者|記者)[^）)]{1,40}[）)])?\s*",
        r"^【[^】\n]{1,30}?(?:电|電|讯|訊|共同|時事|ロイター|AFP=時事)】\s*",  # 【北京12月5日讯】
        r"^[（(](?:共同社|新华社|新華社|中新社|法新社|路透社|美联社|韩联社|塔斯社|共同|時事)[）)]\s*",
        # (서울=연합뉴스) 홍길동 기자 =
        r"^[(（][^)）=\n]{1,20}=\s*(?:연합뉴스|뉴시스|뉴스1)[)）]\s*"
        r"(?:[가-힣]{2,4}\s*(?:기자|특파원)\s*=\s*)?",
    )
)
"""Datelines of Chinese, Japanese and Korean wires, which name no city in capitals."""
_MIN_CITY_LETTERS = 4
"""Without an agency, shorter capitals are an acronym ("UK - EU talks"), not a city."""


def split_dateline(line: str) -> tuple[str, str] | None:
    """Return (dateline, rest) when ``line`` opens with a wire dateline, else None.

    ``rest`` is the line after the dateline and the space that follows it ("" when the line
    is only a dateline, which then goes as a whole line).
    """
    for pattern in _CJK_DATELINES:
        match = pattern.match(line)
        if match is not None:
            return line[: match.end()], line[match.end() :]
    match = _AGENCY_AFTER.match(line)
    if match is not None and _is_place(match):
        return line[: match.end()], line[match.end() :]
    match = _WITH_AGENCY.match(line)
    if match is not None:
        rest = line[match.end() :]
        if _is_place(match) or (_is_title(match) and rest[:1].isupper()):
            return line[: match.end()], rest
    match = _NO_AGENCY.match(line)
    if match is None or not _is_place(match):
        return None
    rest = line[match.end() :]
    letters = sum(c.isalpha() for c in match["city"])
    goes_on = rest[:1].isupper() or rest[:1].isdigit() or rest[:1] in "\"'“‘«"
    if letters < _MIN_CITY_LETTERS or not goes_on or not any(c.islower() for c in rest):
        return None
    return line[: match.end()], rest


def _is_place(match: re.Match[str]) -> bool:
    """A city in capitals ("ST. LOUIS") or in a script without case ("القاهرة"), and parts
    that open like a name or a date (or are in a script without case)."""
    city = match["city"]
    if city is None:
        return True
    parts = [part.strip() for part in re.split(_COMMA, match["parts"]) if part.strip()]
    capitals = city == city.upper() and any(c.isupper() for c in city)
    caseless = not any(c.isupper() or c.islower() for c in city)
    return (capitals or caseless) and all(not p[0].islower() for p in parts)


def _is_title(match: re.Match[str]) -> bool:
    """A city written as a name ("Berlin (dpa) -"), which only an agency makes a dateline."""
    city = match["city"]
    return city is not None and all(word[:1].isupper() for word in city.split())
