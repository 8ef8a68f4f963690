"""Hold the words of page furniture in the languages besides English that copydesk reads.

Data only, one table per kind of line, each phrase as a page prints it; ``boilerplate``
compiles them beside its English patterns, so adding a language is adding its phrases
here. Phrases match a whole line (after optional brackets and marks such as 【】 or ▶),
case-insensitively, with any run of spaces where a phrase has one.
"""

from __future__ import annotations

LIST_HEADINGS = {
    "de": "Lesen Sie auch|Lesen Sie mehr|Mehr zum Thema|Mehr zu diesem Thema|Auch interessant"
    "|Das könnte Sie auch interessieren|Das könnte dich auch interessieren|Weitere Artikel"
    "|Verwandte Artikel|Ähnliche Artikel|Meistgelesen|Meistgelesene Artikel|Empfehlungen"
    "|Unsere Empfehlungen|Top-Themen|Kommentare",
    "fr": "Voir aussi|Lire aussi|À lire aussi|A lire aussi|À lire également|Lire également"
    "|À voir aussi|Sur le même sujet|Dans la même rubrique|Les plus lus|Articles liés"
    "|Articles similaires|Vous aimerez aussi|Nos articles|Commentaires",
    "es": "Leer más|Lea también|Lee también|Ver también|Te puede interesar"
    "|También te puede interesar|Le puede interesar|Noticias relacionadas|Relacionado"
    "|Relacionadas|Lo más leído|Más leídas|Lo más visto|Comentarios",
    "pt": "Leia também|Leia mais|Veja também|Saiba mais|Mais lidas|Mais lidos"
    "|Notícias relacionadas|Relacionadas|Relacionados|Você também pode gostar|Comentários",
    "it": "Leggi anche|Leggi di più|Vedi anche|Potrebbe interessarti|Ti potrebbe interessare"
    "|Articoli correlati|Notizie correlate|I più letti|I più visti|Commenti",
    "nl": "Lees ook|Lees meer|Bekijk ook|Meest gelezen|Gerelateerde artikelen|Gerelateerd"
    "|Meer over dit onderwerp|Meer nieuws|Reacties",
    "pl": "Czytaj także|Czytaj też|Czytaj więcej|Zobacz także|Zobacz też|Polecamy"
    "|Najczęściej czytane|Najpopularniejsze|Powiązane artykuły|Komentarze",
    "ru": "Читайте также|Смотрите также|Читайте нас|Самое читаемое|Самое популярное"
    "|Похожие новости|Новости по теме|По теме|Ещё по теме|Еще по теме|Комментарии",
    "tr": "İlgili haberler|İlgili Haberler|Bunlar da ilginizi çekebilir|En çok okunanlar"
    "|Ayrıca okuyun|Benzer haberler|Yorumlar",
    "zh": "相关新闻|相关阅读|相关报道|相关文章|延伸阅读|推荐阅读|热门推荐|热点新闻|更多新闻"
    "|相關新聞|相關閱讀|相關報導|延伸閱讀|推薦閱讀|熱門新聞",
    "ja": "関連記事|関連ニュース|おすすめ記事|おすすめ|あわせて読みたい|よく読まれている記事"
    "|アクセスランキング|人気記事",
    "ko": "관련기사|관련 기사|관련뉴스|많이 본 뉴스|추천 기사|함께 보면 좋은 기사|인기 기사",
    "ar": "اقرأ أيضا|اقرأ أيضاً|إقرأ أيضا|إقرأ أيضاً|اقرأ المزيد|أخبار ذات صلة|مواضيع ذات صلة"
    "|الأكثر قراءة|الأكثر مشاهدة|شاهد أيضا|شاهد أيضاً",
    "th": "ข่าวที่เกี่ยวข้อง|ข่าวแนะนำ|ข่าวยอดนิยม|อ่านเพิ่มเติม",
}
"""A link list's heading: the heading goes, and the headlines under it."""

LINES = {
    "de": "Weiterlesen|Mehr lesen|Anzeige|Werbung|Teilen|Artikel teilen|Drucken|Artikel drucken"
    "|Abonnieren|Jetzt abonnieren|Newsletter abonnieren|Zum Artikel|Artikel merken",
    "fr": "Publicité|Partager|Partager cet article|Imprimer|Lire la suite|S'abonner|S’abonner"
    "|Abonnez-vous|Réagir",
    "es": "Publicidad|Compartir|Compartir en|Imprimir|Seguir leyendo|Sigue leyendo|Suscríbete"
    "|Suscríbase",
    "pt": "Publicidade|Compartilhar|Partilhar|Imprimir|Continuar lendo|Continue lendo|Assine"
    "|Assine já",
    "it": "Pubblicità|Condividi|Stampa|Continua a leggere|Abbonati",
    "nl": "Advertentie|Delen|Deel dit artikel|Verder lezen|Lees verder|Abonneer|Afdrukken",
    "pl": "Reklama|Udostępnij|Czytaj dalej|Subskrybuj|Drukuj",
    "ru": "Реклама|Поделиться|Читать далее|Подписаться|Распечатать",
    "tr": "Reklam|Paylaş|Devamını oku|Abone ol|Yazdır",
    "zh": "广告|廣告|分享|分享到|阅读全文|閱讀全文|订阅|訂閱|打印",
    "ja": "広告|シェア|続きを読む|購読|印刷",
    "ko": "광고|공유|공유하기|더보기|구독",
    "ar": "إعلان|مشاركة|شارك|اشترك|طباعة",
    "th": "โฆษณา|แชร์|อ่านต่อ",
}
"""A line that is furniture when it holds the phrase alone (a button, a label)."""

OPENINGS = {
    "de": "Folgen Sie uns|Abonnieren Sie|Melden Sie sich",
    "fr": "Suivez-nous|Abonnez-vous|Inscrivez-vous",
    "es": "Síguenos|Suscríbete|Suscríbase|Regístrate",
    "pt": "Siga-nos|Assine|Inscreva-se|Cadastre-se",
    "it": "Seguici|Iscriviti|Abbonati",
    "nl": "Volg ons|Abonneer je|Meld je aan",
    "pl": "Obserwuj nas|Zapisz się|Subskrybuj",
    "ru": "Подписывайтесь на нас|Подписывайтесь|Подпишитесь",
    "tr": "Bizi takip edin|Abone olun",
    "zh": "关注我们|關注我們|责任编辑|責任編輯|编辑：|編輯：|版权所有|版權所有",
    "ja": "フォローする|無断転載",
    "ko": "저작권자|무단 전재|무단전재",
    "ar": "تابعونا|تابعنا|اشترك في",
}
"""A short line (no sentence inside) that opens with one of these is a call to follow or
subscribe, an editor's credit or a copyright notice."""

PROMOTIONS = {
    "de": "Lesen Sie auch|Lesen Sie mehr|Mehr zum Thema|Weiterlesen",
    "fr": "Voir aussi|Lire aussi|À lire aussi|A lire aussi|À lire également|Lire la suite",
    "es": "Leer más|Lea también|Lee también|Ver también|Seguir leyendo",
    "pt": "Leia também|Leia mais|Veja também|Saiba mais|Continue lendo",
    "it": "Leggi anche|Leggi di più|Vedi anche|Continua a leggere",
    "nl": "Lees ook|Lees meer|Bekijk ook|Lees verder",
    "pl": "Czytaj także|Czytaj też|Czytaj więcej|Zobacz także|Zobacz też|Czytaj dalej",
    "ru": "Читайте также|Смотрите также|Читать далее",
    "tr": "Ayrıca okuyun|Devamını oku",
    "zh": "相关新闻|相关阅读|延伸阅读|推荐阅读|相關新聞|延伸閱讀|阅读全文",
    "ja": "関連記事|あわせて読みたい|続きを読む",
    "ko": "관련기사|관련 기사",
    "ar": "اقرأ أيضا|اقرأ أيضاً|إقرأ أيضا|إقرأ أيضاً|اقرأ المزيد|شاهد أيضا|شاهد أيضاً",
    "th": "อ่านเพิ่มเติม|อ่านต่อ",
}
"""A sentence that opens with one of these points elsewhere: kept, but never quoted."""

RIGHTS_RESERVED = {
    "de": "alle Rechte vorbehalten",
    "fr": "tous droits réservés",
    "es": "todos los derechos reservados",
    "pt": "todos os direitos reservados",
    "it": "tutti i diritti riservati|riproduzione riservata",
    "nl": "alle rechten voorbehouden",
    "pl": "wszelkie prawa zastrzeżone",
    "ru": "все права защищены",
    "tr": "tüm hakları saklıdır",
    "zh": "版权所有|版權所有|未经授权不得转载",
    "ja": "無断転載を禁じます|無断転載禁止",
    "ko": "무단 전재 및 재배포 금지|무단전재 및 재배포 금지",
    "ar": "جميع الحقوق محفوظة",
    "th": "สงวนลิขสิทธิ์",
}
"""A short line that says this anywhere is a copyright notice."""

CREDITS = {
    "de": "Foto|Fotos|Bild|Bilder|Quelle|Grafik",
    "fr": "Photo|Crédit|Crédits|Source",
    "es": "Foto|Fotografía|Fuente|Imagen",
    "pt": "Foto|Fonte|Imagem",
    "it": "Foto|Fonte|Immagine",
    "nl": "Foto|Bron|Beeld",
    "pl": "Fot|Foto|Źródło",
    "ru": "Фото|Источник",
    "tr": "Fotoğraf|Kaynak",
    "zh": "图片来源|圖片來源|来源|來源|图|圖",
    "ja": "写真|出典",
    "ko": "사진|출처",
    "ar": "المصدر|صورة",
}
"""A line that opens with one of these and a colon (or "=" in Korean) is a credit."""

DATE_WORDS = (
    "januar februar märz april mai juni juli august september oktober november dezember jän "
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre "
    "enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre "
    "diciembre janeiro fevereiro março maio junho julho setembro outubro dezembro gennaio "
    "febbraio aprile maggio giugno luglio settembre ottobre dicembre januari februari maart mei "
    "augustus stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października "
    "listopada grudnia января февраля марта апреля мая июня июля августа сентября октября "
    "ноября декабря ocak şubat mart nisan mayıs haziran temmuz ağustos eylül ekim kasım aralık "
    "年 月 日 時 时 分 년 월 일 시 분"
)
"""Month names (as dates print them) and the CJK date and time signs."""

DATE_FILLER = (
    "veröffentlicht aktualisiert zuletzt uhr am um stand vom publié publiée mis à jour le h "
    "modifié publicado actualizado el a las de hs atualizado em às pubblicato aggiornato il "
    "alle ore gepubliceerd bijgewerkt op om opublikowano aktualizacja zaktualizowano o "
    "опубликовано обновлено в yayınlanma güncelleme tarihi 发布时间 更新时间 发布 发表于 "
    "更新 公開 配信 입력 수정 기사입력 승인 نشر في تحديث"
)
"""Words that stand around a date in a publication line ("Publié le", "Stand: ")."""
