"""A fixed, mixed-language set of interactions for the processing benchmarks.

Deterministic (seeded): the same 1,000 interactions every run, in six languages with the shares a
Brazilian-European brand might see, a third from sources whose language tag is trusted (X,
Trustpilot) and the rest detected, with texts from a few words to a few hundred characters.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from chalicelib.models.interaction import Author, Interaction, Kind

SHARES = {"en": 0.3, "pt": 0.2, "es": 0.15, "it": 0.1, "cs": 0.125, "pl": 0.125}
OPENINGS = {
    "en": "Hello, my order is late again and",
    "pt": "Olá, o meu pedido chegou atrasado e",
    "es": "Hola, mi pedido llegó tarde y",
    "it": "Ciao, il mio ordine è arrivato in ritardo e",
    "cs": "Dobrý den, moje objednávka přišla pozdě a",
    "pl": "Dzień dobry, moje zamówienie przyszło późno i",
}
FILLER = {
    "en": "nobody answers the phone",
    "pt": "ninguém atende o telefone",
    "es": "nadie contesta el teléfono",
    "it": "nessuno risponde al telefono",
    "cs": "nikdo nezvedá telefon",
    "pl": "nikt nie odbiera telefonu",
}
T0 = datetime(2026, 11, 22, 9, tzinfo=UTC)


def corpus(size: int = 1000, seed: int = 7) -> list[Interaction]:
    rng = random.Random(seed)
    languages = [language for language, share in SHARES.items() for _ in range(round(share * size))][:size]
    rng.shuffle(languages)
    interactions = []
    for index, language in enumerate(languages):
        platform = rng.choice(["x", "trustpilot", "messenger", "whatsapp", "instagram", "telegram"])
        text = " ".join([OPENINGS[language]] + [FILLER[language]] * rng.randint(0, 12)) + f" (#{index})"
        interactions.append(
            Interaction(
                platform=platform,
                kind=Kind.REVIEW if platform == "trustpilot" else Kind.MESSAGE,
                external_id=f"bench-{index}",
                author=Author(user_id=f"user-{rng.randint(0, size // 3)}"),
                text=text,
                language_hint=language if platform in ("x", "trustpilot") else None,
                occurred_at=T0 + timedelta(seconds=index),
                received_at=T0 + timedelta(seconds=index),
            )
        )
    return interactions


def language_of(text: str) -> str:
    """What an ideal language detector says of a corpus text (for the Comprehend stand-in)."""
    return next(language for language, opening in OPENINGS.items() if text.startswith(opening))
