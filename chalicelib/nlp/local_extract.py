"""Best-effort entities and key phrases for the offline engine, by rule rather than by model.

Entities: dates, amounts of money, order numbers, hashtags, @handles and capitalised names (the
last without a reliable type, so `OTHER`). Key phrases: runs of content words between stop words
and punctuation, ranked as RAKE ranks them. Good enough to browse a timeline offline; Comprehend
does this properly in AWS.
"""

from __future__ import annotations

import re
from collections import Counter

from chalicelib.nlp.analysis import Entity, KeyPhrase
from chalicelib.nlp.text import fold

_STOPWORDS = {
    "en": "a an and are as at be but by can do does for from had has have how i if in is it its me my no not of on "
    "or our please so that the their them then there this to too us was we were what when where which who why will "
    "with would you your just any all still been am get got ok hi hello thanks thank",
    "pt": "a o as os um uma uns umas e é de do da dos das em no na nos nas por para com sem que se não sim mas ou "
    "eu meu minha você vocês seu sua ele ela nós isso isto esse essa este esta já ainda muito mais foi ser estar "
    "está estou tem ter como quando onde porque pra pro ao aos à às oi olá obrigado obrigada",
    "es": "a el la los las un una unos unas y e de del en por para con sin que se no sí pero o u yo mi mis tu tus "
    "su sus él ella nosotros es son fue ser estar está estoy tengo tiene como cuando donde porque ya muy más "
    "al lo le les me te hola gracias este esta esto eso",
    "it": "a il lo la i gli le un uno una e è di del della dei delle in nel nella per con su che se non sì ma o io "
    "mio mia tu tuo tua suo sua lui lei noi è sono era essere ho ha come quando dove perché già ancora molto più "
    "al alla ai mi ti ci ciao grazie questo questa",
    "cs": "a i v ve na do z ze s se je jsou byl byla bylo být mám má jsem jste to ten ta že ale nebo jak kdy kde "
    "proč už ještě velmi více pro od po při o k ke mi mě můj moje váš vaše jeho její my vy ne ano dobrý den děkuji",
    "pl": "a i w we na do z ze się jest są był była było być mam ma jestem to ten ta że ale lub albo jak kiedy "
    "gdzie dlaczego już jeszcze bardzo więcej dla od po przy o mi mnie mój moja wasz wasza jego jej my wy nie tak "
    "dzień dobry dziękuję czy co",
}
_STOP = {language: frozenset(words.split()) for language, words in _STOPWORDS.items()}
_FOLDED_STOP = frozenset(fold(word) for words in _STOP.values() for word in words)


def is_stopword(word: str) -> bool:
    """A stop word of any language this module knows, compared folded (`não` is `nao`)."""
    return fold(word) in _FOLDED_STOP


_ENTITY_RULES = [
    ("DATE", re.compile(r"\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b")),
    (
        "QUANTITY",
        re.compile(
            r"(?:R\$|US\$|\$|€|£)\s?\d[\d.,]*|\d[\d.,]*\s?(?:€|zł|zl|Kč|PLN|CZK|EUR|USD|BRL|reais|euros?|dólares)",
            re.IGNORECASE,
        ),
    ),
    ("OTHER", re.compile(r"#\w+|@\w+|\b(?:[A-Z]{1,4}-?)?\d{5,}\b")),
]
_NAME = re.compile(
    r"(?<![.!?]\s)(?<!^)\b[A-ZÀ-ÖØ-ÞŁŚŻŹĆŃÓĘĄČŘŠŽÝÁÍÉŮÚĎŤŇ][\w'’-]+(?:\s+[A-ZÀ-ÖØ-ÞŁŚŻŹČŘŠŽ][\w'’-]+){0,2}"
)
_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”«»…\n]+|\s[-–—]\s")


def entities(text: str) -> tuple[Entity, ...]:
    found: list[tuple[int, int, Entity]] = []
    for kind, pattern in _ENTITY_RULES:
        for match in pattern.finditer(text):
            found.append((match.start(), match.end(), Entity(kind, match.group().strip(), 0.8)))
    for match in _NAME.finditer(text):
        if not any(start <= match.start() < end for start, end, _ in found):
            found.append((match.start(), match.end(), Entity("OTHER", match.group(), 0.5)))
    return tuple(entity for _, _, entity in sorted(found, key=lambda item: item[0]))


def key_phrases(text: str, language: str, limit: int = 5) -> tuple[KeyPhrase, ...]:
    stop = _STOP.get(language, frozenset())
    phrases: list[list[str]] = []
    for fragment in _BREAK.split(text):
        current: list[str] = []
        for word in _WORD.findall(fragment):
            if word.lower() in stop or len(word) < 2:
                if current:
                    phrases.append(current)
                current = []
            else:
                current.append(word)
        if current:
            phrases.append(current)
    phrases = [phrase[:4] for phrase in phrases]
    frequency: Counter[str] = Counter()
    degree: Counter[str] = Counter()
    for phrase in phrases:
        for word in phrase:
            frequency[word.lower()] += 1
            degree[word.lower()] += len(phrase)
    scored: dict[str, float] = {}
    for phrase in phrases:
        text_form = " ".join(phrase)
        scored[text_form] = sum(degree[w.lower()] / frequency[w.lower()] for w in phrase)
    if not scored:
        return ()
    top = max(scored.values())
    ranked = sorted(scored.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return tuple(KeyPhrase(phrase, round(score / top, 4)) for phrase, score in ranked)
