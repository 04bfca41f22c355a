"""Cheap checks that decide which documents a paid Comprehend call is worth (issue 12).

Comprehend bills every document of every call, at least 300 characters' worth (3 units). What
downstream code uses from an entity call is typed names (people to redact, products, brands and
places for topics, intent and leads, the routing's `entities` conditions); from targeted sentiment,
the sentiment towards a configured competitor; from personal data detection, what the patterns
(nlp/pii.py) cannot find. These checks say where a call could add any of that, reading only the
text; they run before the call, in microseconds, and are written for recall: a check that opens for
nothing costs one call, one that stays shut loses what the call would have found.
"""

from __future__ import annotations

import re

from chalicelib.nlp import pii
from chalicelib.nlp.local_extract import is_stopword

# Words, not @handles or #hashtags (the rules keep those as OTHER entities; a handle is mostly the
# brand's own account).
_WORD = re.compile(r"(?<![@#\w])[^\W\d_][\w'’-]*")
_APOSTROPHE = re.compile(r"['’]")
_PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")  # what redaction left: [EMAIL], [PHONE], [NAME]

# Lower-case ways of introducing a person in the languages socialcrm expects: a name written in
# lower case after one of these still opens the entity check.
_NAME_CUES = re.compile(
    r"\b(?:my name is|spoke (?:to|with)|talked (?:to|with)|"
    r"meu nome é|me chamo|chamo-me|falei com|"
    r"me llamo|mi nombre es|hablé con|hable con|"
    r"mi chiamo|il mio nome è|ho parlato con|"
    r"jmenuji se|mluvil jsem s|mluvila jsem s|"
    r"nazywam się|rozmawiałem z|rozmawiałam z)\b"
)

# Personal data Comprehend's detector finds and the patterns cannot (English and Spanish are its
# only languages): addresses, credentials, birth dates and ages, licences, passports, vehicles,
# network addresses. Names are not here: people are found by entity detection (`may_name`), in
# every language, and redacted from there.
_PII_CUES = re.compile(
    r"\b(?:address|street|st(?=\.)|avenue|ave\.?|road|rd(?=\.)|lane|drive|apt\.?|apartment|suite|zip|postcode|"
    r"post code|i live|live at|password|passcode|pin|username|user name|login|log-in|born|birthday|"
    r"date of birth|dob|years old|age|licen[cs]e|passport|plate|registration|vin|"
    r"dirección|direccion|domicilio|calle|avenida|avda|piso|portal|código postal|codigo postal|vivo en|"
    r"contraseña|contrasena|clave|usuario|nací|naci|nacimiento|cumpleaños|años|edad|licencia|"
    r"pasaporte|matrícula|matricula)\b"
)
_NETWORK_ADDRESS = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b|\b[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}\b")


def _outside_patterns(text: str) -> str:
    """The text with what the patterns already found (and redaction's placeholders) blanked out:
    an e-mail address's capitals or a `[PHONE]` are not names."""
    spans = pii.find(text)
    for span in reversed(spans):
        text = text[: span.begin] + " " + text[span.end :]
    return _PLACEHOLDER.sub(" ", text)


def may_name(text: str) -> bool:
    """Whether the text could name a person, an organisation, a product or a place: a word that
    starts with a capital and is not a stop word of any language socialcrm knows ("Hello",
    "Olá", "Dzień", "I'm" are; "Rafael", "Nimbus", "Order" are not; @handles and #hashtags are not
    read), or a lower-case introduction ("falei
    com rafael"). Sentence-initial words count: names start sentences too. Where this says no,
    entity detection is not called, and a name written all in lower case without such a cue is not
    found (Comprehend's own detection leans on capitals the same way)."""
    clean = _outside_patterns(text)
    for word in _WORD.findall(clean):
        if len(word) > 1 and word[0].isupper() and not is_stopword(_APOSTROPHE.split(word)[0]):
            return True
    return bool(_NAME_CUES.search(clean.lower()))


def may_hold_personal_data(text: str) -> bool:
    """Whether Comprehend's personal data detector could find something here that neither the
    patterns nor entity detection find: a word that announces an address, a credential, a birth
    date or age, a licence, passport or vehicle, or a network address."""
    clean = _outside_patterns(text)
    return bool(_PII_CUES.search(clean.lower()) or _NETWORK_ADDRESS.search(clean))
