"""Split a wire dateline ("PARIS, 3 March (AFP) -") off the opening of an article.

Wire copy opens its first paragraph with where (and when) it was filed and who filed it.
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
)
"""Wire services and newsrooms whose stories open with a dateline, longest names first."""

_AGENCY = rf"(?:{AGENCIES})(?:\s*[/,&]\s*(?:{AGENCIES}))*"
_CITY = r"(?P<city>[^\W\d_]+(?:(?:\.\ |[ ./'’-])[^\W\d_]+){0,4}\.?)"
_PART = r"[^\W_][\w.'’]*(?:[ -][\w.'’]+){0,4}"
"""A region ("England", "N.C.") or date ("March 3", "3 mars", "2024") after a comma."""

_WITH_AGENCY = re.compile(
    rf"^(?:{_CITY}(?P<parts>(?:,\ {_PART}){{0,3}})\ )?\((?i:{_AGENCY})\)\s*(?:--|[-–—―])\s*"
)
_NO_AGENCY = re.compile(rf"^{_CITY}(?P<parts>(?:,\ {_PART}){{0,2}})(?:\ ?(?:--|[–—―])|\ -)\ +")
_MIN_CITY_LETTERS = 4
"""Without an agency, shorter capitals are an acronym ("UK - EU talks"), not a city."""


def split_dateline(line: str) -> tuple[str, str] | None:
    """Return (dateline, rest) when ``line`` opens with a wire dateline, else None.

    ``rest`` is the line after the dateline and the space that follows it ("" when the line
    is only a dateline, which then goes as a whole line).
    """
    match = _WITH_AGENCY.match(line)
    if match is not None and _is_place(match):
        return line[: match.end()], line[match.end() :]
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
    """A city in capitals ("ST. LOUIS"), and parts that open like a name or a date."""
    city = match["city"]
    if city is None:
        return True
    parts = [part for part in match["parts"].split(", ") if part]
    capitals = city == city.upper() and any(c.isupper() for c in city)
    return capitals and all(p[0].isupper() or p[0].isdigit() for p in parts)
