"""Page furniture in the languages the multilingual encoder reads goes; the reporter's lines stay."""

from __future__ import annotations

import pytest

from copydesk.prepare.boilerplate import is_furniture, is_list_heading, is_promotion
from copydesk.prepare.text import prepare

ARTICLES = {
    "de": (
        "Der Bundestag hat am Donnerstag den Haushalt für das kommende Jahr beschlossen.",
        "Finanzminister Lindner sprach von einem soliden Etat, die Opposition von Schulden.",
    ),
    "fr": (
        "Le Parlement a adopté jeudi le budget de l'État pour l'année prochaine.",
        "Le ministre des Finances a salué un texte équilibré, l'opposition dénonce la dette.",
    ),
    "es": (
        "El Congreso aprobó el jueves los presupuestos generales para el próximo año.",
        "La ministra de Hacienda habló de unas cuentas sólidas; la oposición, de deuda.",
    ),
    "zh": (
        "全国人大常委会5日表决通过了明年的中央预算调整方案。",
        "财政部长表示，预算安排稳健，将继续支持经济增长。",
    ),
    "ja": (
        "参院本会議は５日、来年度予算案を賛成多数で可決した。",
        "財務相は「健全な予算だ」と述べたが、野党は借金の増加を批判した。",
    ),
    "ar": (
        "أقر البرلمان المصري يوم الخميس موازنة الدولة للعام المقبل.",
        "وقال وزير المالية إن الموازنة متوازنة، فيما انتقدت المعارضة ارتفاع الديون.",
    ),
    "ru": (
        "Государственная дума в четверг приняла бюджет на следующий год.",
        "Министр финансов назвал бюджет сбалансированным, оппозиция раскритиковала долг.",
    ),
}

LIST_HEADINGS = [
    "Lesen Sie auch",
    "Mehr zum Thema",
    "Das könnte Sie auch interessieren",
    "Voir aussi",
    "Lire aussi",
    "À lire aussi",
    "Sur le même sujet",
    "Leer más",
    "Lea también",
    "Noticias relacionadas",
    "Leia também",
    "Veja também",
    "Leggi anche",
    "Articoli correlati",
    "Lees ook",
    "Meest gelezen",
    "Czytaj także",
    "Zobacz też",
    "Читайте также",
    "Новости по теме",
    "İlgili haberler",
    "相关新闻",
    "相关阅读",
    "【延伸阅读】",
    "相關新聞",
    "関連記事",
    "관련기사",
    "اقرأ أيضا",
    "اقرأ أيضاً:",
    "أخبار ذات صلة",
    "ข่าวที่เกี่ยวข้อง",
]


@pytest.mark.parametrize("heading", LIST_HEADINGS)
def test_link_list_headings_of_each_language(heading: str) -> None:
    assert is_list_heading(heading)


FURNITURE = [
    "Weiterlesen",
    "Anzeige",
    "Artikel teilen",
    "Folgen Sie uns auf Facebook und Twitter",
    "Lesen Sie auch: Haushalt 2025 – was sich für Familien ändert",
    "© dpa-infocom, dpa:241205-99-123456/3",
    "Alle Rechte vorbehalten.",
    "Publicité",
    "Partager cet article",
    "Abonnez-vous à notre newsletter",
    "Lire aussi : Le budget 2025 adopté au Sénat",
    "Tous droits réservés",
    "Publicidad",
    "Suscríbete a nuestro boletín",
    "Síguenos en Twitter",
    "Todos los derechos reservados.",
    "Leia também: Inflação cai em novembro",
    "Leggi anche: La manovra passa al Senato",
    "Lees ook: Kabinet presenteert begroting",
    "Czytaj także: Sejm przyjął budżet",
    "Читайте также: Госдума приняла бюджет",
    "Поделиться",
    "Все права защищены.",
    "Tüm hakları saklıdır.",
    "责任编辑：张三",
    "（责任编辑：李四）",
    "責任編輯：王五",
    "相关新闻：央行宣布降准",
    "分享到：",
    "版权所有 © 新华网",
    "関連記事：日銀、金利据え置き",
    "무단 전재 및 재배포 금지",
    "اقرأ أيضا: البرلمان يقر الموازنة",
    "جميع الحقوق محفوظة",
]


@pytest.mark.parametrize("line", FURNITURE)
def test_furniture_lines_of_each_language(line: str) -> None:
    assert is_furniture(line)


@pytest.mark.parametrize(
    "line",
    [
        "Lesen Sie auch, was der Minister zur Rente sagte, bevor Sie abstimmen.",
        "Die Anzeige wurde am Montag bei der Polizei erstattet.",
        "Lire aussi les conclusions du rapport permettait de comprendre l'enjeu.",
        "Le ministre a voulu partager cet article de loi avec les syndicats.",
        "相关新闻报道引发了公众对预算问题的广泛关注。",
        "Читайте также внимательно условия договора, советует юрист.",
        "Melden Sie sich bei der Polizei, wenn Sie den Mann gesehen haben.",
        "Zapisz się na szczepienie w najbliższej przychodni.",
    ],
)
def test_sentences_that_open_like_furniture_stay(line: str) -> None:
    assert not is_furniture(line) and not is_list_heading(line)


@pytest.mark.parametrize("code", ARTICLES)
def test_a_link_list_under_a_heading_of_its_language_goes(code: str) -> None:
    first, second = ARTICLES[code]
    heading = {
        "de": "Mehr zum Thema",
        "fr": "À lire aussi",
        "es": "Noticias relacionadas",
        "zh": "相关阅读",
        "ja": "関連記事",
        "ar": "أخبار ذات صلة",
        "ru": "Читайте также",
    }[code]
    links = "\n".join(f"{first[:30]} {n}" for n in range(4))
    doc = prepare(text=f"{first}\n\n{second}\n\n{heading}\n{links}")
    assert doc.text == f"{first}\n\n{second}"


def test_promotions_of_other_languages_are_never_quoted() -> None:
    assert is_promotion("Abonnieren Sie jetzt unseren Newsletter für alle News.")
    assert is_promotion("Lire aussi notre enquête sur le budget.")
    assert not is_promotion("Le ministre a lu le budget.")


@pytest.mark.parametrize(
    "line",
    [
        "05.12.2024, 14:30 Uhr",
        "Aktualisiert am 5. Dezember 2024 um 14:30 Uhr",
        "Publié le 5 décembre 2024 à 14h30",
        "Mis à jour le 05/12/2024 à 18:02",
        "Actualizado el 5 de diciembre de 2024, 14:30",
        "Pubblicato il 5 dicembre 2024 alle 14:30",
        "Опубликовано 5 декабря 2024, 14:30",
        "2024年12月5日 14:30",
        "发布时间：2024-12-05 10:20",
        "2024.12.05 14:30",
    ],
)
def test_a_publication_date_line_of_each_language_goes_at_the_edge(line: str) -> None:
    first, second = ARTICLES["de"]
    assert prepare(text=f"{line}\n\n{first}\n\n{second}").text == f"{first}\n\n{second}"
