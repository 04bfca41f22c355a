"""The ops console at size (issue 10: "Fast", under 300 ms on the local stack with 10,000 customers
and 50,000 interactions loaded).

Setup, timed but not measured against the target:
1. moto server in its own process, as the local stack runs it (tools/local/fast_moto.py: moto
   whose DynamoDB queries read only the partition asked for), and the dev stack provisioned in it
   (tools.provision, with the dev secrets' console users in its Cognito pool);
2. 10,000 customers and 50,000 interactions written over HTTP with BatchWriteItem, each item built
   by the processor's own code (TimelineWriter._item for interactions, rules.cases.open_case /
   join and serde.case_item for cases, rules.search and the dev `search_key` for the search index),
   with the pointers, identities (global and in the customer's partition), profiles with their
   aggregates, and the search index entries with each customer's SEARCHKEYS list. About 20 % of
   customers have an open case (spread over the 8 shards by the case id's hash), about 20 % more a
   resolved one with the brand's reply in the timeline;
3. the API as `make run` serves it (tools/local/api.py: Chalice's local server, in its own process,
   its AWS endpoint the moto server).

Measured, over HTTP like a browser (cookie session, signed in through the password form as the
demo agent): N requests each after warm-up, p50 and p95 against the 300 ms target. A row over the
target is then profiled in this process (chalice.test.Client against the same moto server), and its
top cumulative chalicelib calls are printed.
"""

from __future__ import annotations

import cProfile
import dataclasses
import http.client
import io
import os
import pstats
import random
import re
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.table import percentile, render

TARGET_MS = 300.0
CUSTOMERS = 10_000
INTERACTIONS = 50_000
REQUESTS = 30
WARMUP = 3
OPEN_SHARE = 0.2
RESOLVED_SHARE = 0.2
ROOT = Path(__file__).resolve().parent.parent

FIRST = ("Ana", "João", "Maria", "Mariana", "Pedro", "Lucas", "Beatriz", "Carlos", "Lucía", "Javier", "Sofía",
         "Marco", "Giulia", "Luca", "Francesca", "Jan", "Petra", "Tomáš", "Lucie", "Marek", "Agnieszka",
         "Piotr", "Katarzyna", "Emma", "Oliver", "Sarah", "James", "Olivia", "Daniel", "Chloé", "Zoë",
         "Mário", "Marta", "Martín", "Gabriel", "Rafaela", "Bruno", "Inês", "Tiago", "Elena")  # fmt: skip
LAST = ("Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "García", "Martínez", "López", "Rossi",
        "Bianchi", "Romano", "Novák", "Svoboda", "Dvořák", "Kowalski", "Nowak", "Wiśniewska", "Smith",
        "Johnson", "Brown", "O'Brien", "Müller", "Ferreira", "Almeida", "Ribeiro", "Carvalho", "Gomes",
        "Fernández", "Moretti", "Černý", "Lewandowski", "Taylor", "Walker")  # fmt: skip
PLATFORMS = {"messenger": 0.25, "instagram": 0.2, "whatsapp": 0.2, "x": 0.12, "telegram": 0.1,
             "facebook": 0.05, "trustpilot": 0.08}  # fmt: skip
LANGUAGES = {"en": 0.3, "pt": 0.25, "es": 0.15, "it": 0.1, "cs": 0.1, "pl": 0.1}
# (intent, rule, share): what the routing document's rules make of them.
INTENTS = (("complaint", "complaint", 0.3), ("question", "question", 0.25), ("praise", "praise", 0.15),
           ("purchase_intent", "purchase", 0.1), ("cancel_intent", "cancel", 0.05),
           ("other", "everything-else", 0.15))  # fmt: skip
CASE_INTENTS = ("complaint", "question", "purchase_intent", "cancel_intent")
TEXTS = {
    "complaint": {
        "en": ["My order #{n} still hasn't arrived and nobody answers the phone. This is the third time.",
               "Charged twice for the same invoice this month, please refund me.",
               "The app logs me out every five minutes since the last update, unusable."],
        "pt": ["Meu pedido #{n} ainda não chegou e ninguém atende o telefone, que vergonha.",
               "Fui cobrado duas vezes na fatura deste mês, quero o reembolso."],
        "es": ["Mi pedido #{n} sigue sin llegar y nadie contesta el teléfono.",
               "Me cobraron dos veces la misma factura, exijo una solución."],
        "it": ["Il mio ordine #{n} non è ancora arrivato e nessuno risponde al telefono."],
        "cs": ["Moje objednávka #{n} stále nedorazila a nikdo nezvedá telefon."],
        "pl": ["Moje zamówienie #{n} wciąż nie dotarło, a nikt nie odbiera telefonu."],
    },
    "question": {
        "en": ["Hi! Do you ship to Portugal, and how long does it usually take?",
               "How can I change the delivery address of order #{n}?"],
        "pt": ["Olá, vocês entregam em Portugal? Quanto tempo demora?", "Como altero o endereço do pedido #{n}?"],
        "es": ["Hola, ¿hacen envíos a Canarias? ¿Cuánto tarda?"],
        "it": ["Ciao, spedite anche in Svizzera? Quanto ci vuole?"],
        "cs": ["Dobrý den, doručujete i na Slovensko?"],
        "pl": ["Dzień dobry, czy wysyłacie do Czech?"],
    },
    "praise": {
        "en": ["Great service, the parcel came a day early. Thank you!", "Love the new collection 😍"],
        "pt": ["Atendimento excelente, chegou antes do prazo. Obrigada!"],
        "es": ["¡Muy buen servicio, llegó antes de lo previsto!"],
        "it": ["Servizio ottimo, grazie mille!"],
        "cs": ["Skvělá služba, děkuji!"],
        "pl": ["Świetna obsługa, dziękuję!"],
    },
    "purchase_intent": {
        "en": ["I'd like to buy the premium plan for my team of 12, who do I talk to?"],
        "pt": ["Quero comprar o plano premium para a minha empresa, qual o preço?"],
        "es": ["Quiero contratar el plan premium, ¿cuál es el precio?"],
        "it": ["Vorrei acquistare il piano premium, quanto costa?"],
        "cs": ["Chci si koupit prémiový tarif, kolik stojí?"],
        "pl": ["Chcę kupić plan premium, ile kosztuje?"],
    },
    "cancel_intent": {
        "en": ["Third outage this week. I'm cancelling my contract and moving to Nimbus Mobile."],
        "pt": ["Vou cancelar o meu plano amanhã e mudar para a Vertex Telecom."],
        "es": ["Voy a cancelar mi suscripción y cambiarme a Kappa Bank."],
        "it": ["Disdico l'abbonamento e passo a Nimbus Mobile."],
        "cs": ["Ruším smlouvu a přecházím k Vertex Telecom."],
        "pl": ["Rezygnuję z abonamentu i przechodzę do Kappa Bank."],
    },
    "other": {
        "en": ["ok", "Saw your ad on the bus this morning"], "pt": ["kkkk boa"], "es": ["jaja"],
        "it": ["ok grazie"], "cs": ["ok"], "pl": ["ok"],
    },
}  # fmt: skip
REPLY = "Sorry about that! We have checked order #{n}: it ships today and you will get the tracking link."
SENTIMENT = {"complaint": "NEGATIVE", "cancel_intent": "NEGATIVE", "praise": "POSITIVE", "question": "NEUTRAL",
             "purchase_intent": "POSITIVE", "other": "NEUTRAL"}  # fmt: skip
PAGE_ID, WA_NUMBER, IG_ACCOUNT = "104000000000001", "100000000000101", "17841400000000001"


# ---------------------------------------------------------------------------------------------
# The data


def _pick(rng: random.Random, shares: dict[str, float]) -> str:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _user_id(rng: random.Random, platform: str, n: int) -> str:
    return {
        "messenger": f"26{n:015d}",
        "facebook": f"10{n:013d}",
        "instagram": f"178414{n:011d}",
        "whatsapp": f"55119{n:08d}",
        "telegram": str(6_100_000_000 + n),
        "x": str(1_600_000_000_000_000_000 + n * 7919),
        "trustpilot": f"{rng.getrandbits(96):024x}",
    }[platform]


def _handle(rng: random.Random, platform: str, first: str, last: str, n: int) -> str | None:
    if platform not in ("instagram", "x", "telegram"):
        return None
    from chalicelib.rules.search import fold

    base = re.sub(r"[^a-z0-9]", "", fold(first)) + rng.choice(("", ".", "_")) + re.sub(r"[^a-z0-9]", "", fold(last))
    return f"{base}{n % 1000}"


@dataclasses.dataclass
class Person:
    customer_id: str
    name: str
    identities: list[tuple[str, str, str | None]]  # platform, user id, handle
    language: str
    times: list[datetime] = dataclasses.field(default_factory=list)


def _people(rng: random.Random, now: datetime) -> list[Person]:
    import uuid

    people = []
    for n in range(CUSTOMERS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        platform = _pick(rng, PLATFORMS)
        identities = [(platform, _user_id(rng, platform, n), _handle(rng, platform, first, last, n))]
        if rng.random() < 0.1:  # one in ten writes on two platforms
            other = _pick(rng, {p: s for p, s in PLATFORMS.items() if p != platform})
            identities.append((other, _user_id(rng, other, n + CUSTOMERS), _handle(rng, other, first, last, n)))
        customer_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        people.append(Person(customer_id, f"{first} {last}", identities, _pick(rng, LANGUAGES)))
    # One interaction each, the rest spread unevenly (a few customers write a lot).
    weights = [rng.paretovariate(1.2) for _ in people]
    counts = [1] * CUSTOMERS
    for index in rng.choices(range(CUSTOMERS), weights=weights, k=INTERACTIONS - CUSTOMERS):
        counts[index] += 1
    for person, count in zip(people, counts, strict=True):
        person.times = sorted(now - timedelta(minutes=rng.uniform(5, 90 * 24 * 60)) for _ in range(count))
    return people


def _analysis(rng: random.Random, language: str, intent: str) -> Any:
    from chalicelib.nlp.analysis import Analysis, KeyPhrase, Sentiment

    label = SENTIMENT[intent] if rng.random() < 0.85 else rng.choice(("NEUTRAL", "MIXED"))
    main = round(rng.uniform(0.6, 0.98), 4)
    rest = round((1 - main) / 3, 4)
    scores = dict.fromkeys(("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"), rest)
    scores[label.upper()] = main
    return Analysis(language, round(rng.uniform(0.9, 1.0), 4), Sentiment(label, scores),
                    key_phrases=(KeyPhrase("order", 0.9),), engine="local")  # fmt: skip


def _items(people: list[Person], secrets: dict[str, Any], now: datetime) -> tuple[list[Any], dict[str, Any]]:
    """Every item of the data set, as the processor and the directory write them."""
    from chalicelib.models.case import CaseStatus
    from chalicelib.models.customer import StoredText
    from chalicelib.models.decision import Intent, IntentResult, Priority, Route, RouteAction
    from chalicelib.models.interaction import Author, Direction, Interaction, Kind
    from chalicelib.rules import search
    from chalicelib.rules.aggregates import ewma
    from chalicelib.rules.cases import join, open_case
    from chalicelib.store import keys
    from chalicelib.store.models import (
        CustomerIdentityItem,
        CustomerItem,
        IdentityItem,
        PointerItem,
        SearchEntryItem,
        SearchKeysItem,
    )
    from chalicelib.store.serde import case_item
    from chalicelib.store.timeline import POINTER, TimelineWriter

    rng = random.Random(1010)
    retention_days = 730
    writer = TimelineWriter(None, retention_days)  # type: ignore[arg-type]  # only its item builder is used
    sla = {Priority(p): m for p, m in {"P1": 30, "P2": 120, "P3": 480, "P4": 1440}.items()}
    teams = {"complaint": "support", "question": "support", "praise": "social", "purchase_intent": "sales",
             "cancel_intent": "retention", "other": "social"}  # fmt: skip
    priorities = {"complaint": "P2", "question": "P3", "praise": "P4", "purchase_intent": "P3",
                  "cancel_intent": "P1", "other": "P4"}  # fmt: skip
    rules_of = {intent: rule for intent, rule, _ in INTENTS}
    key = str(secrets["search_key"]).encode()
    items: list[Any] = []
    facts: dict[str, Any] = {"open": 0, "resolved": 0, "identities": 0, "search_entries": 0, "replies": 0}
    for n, person in enumerate(people):
        roll = rng.random()
        case_kind = "open" if roll < OPEN_SHARE else "resolved" if roll < OPEN_SHARE + RESOLVED_SHARE else None
        if case_kind == "resolved" and len(person.times) < 2:
            case_kind = None  # a resolved case holds the customer's message and the brand's reply
        # The case covers the newest messages (1-3); a resolved case's last message is the brand's reply.
        case_size = min(len(person.times), rng.randint(1, 3)) if case_kind else 0
        if case_kind == "resolved":
            case_size = max(case_size, 2)
        case: Any = None
        case_intent = rng.choice(CASE_INTENTS)
        platform, user_id, handle = person.identities[-1]
        author = Author(user_id, handle, person.name)
        kind = Kind.REVIEW if platform == "trustpilot" else Kind.MESSAGE
        account = {"messenger": PAGE_ID, "facebook": PAGE_ID, "whatsapp": WA_NUMBER, "instagram": IG_ACCOUNT}
        figures: dict[str, Any] = {"count": 0, "platforms": {}, "score": None, "samples": 0}
        for index, at in enumerate(person.times):
            in_case = case_kind is not None and index >= len(person.times) - case_size
            reply = case_kind == "resolved" and in_case and index == len(person.times) - 1
            if len(person.identities) > 1 and not in_case:
                platform, user_id, handle = person.identities[index % len(person.identities)]
                author = Author(user_id, handle, person.name)
            elif in_case:
                platform, user_id, handle = person.identities[-1]
                author = Author(user_id, handle, person.name)
            intent = case_intent if in_case else rng.choices(
                [i for i, _, _ in INTENTS], weights=[s for _, _, s in INTENTS]
            )[0]  # fmt: skip
            text = rng.choice(TEXTS[intent].get(person.language) or TEXTS[intent]["en"]).format(n=40_000 + n)
            external_id = f"bench-{n}-{index}"
            if reply:
                interaction = Interaction(platform, Kind.MESSAGE, external_id, None, REPLY.format(n=40_000 + n),
                                          at, at, account_id=account.get(platform), thread_id=user_id,
                                          direction=Direction.OUTBOUND, recipient_id=user_id)  # fmt: skip
                stored = StoredText(interaction.text, None)
                item = writer._item(person.customer_id, interaction, None, stored, at)
                item.case_id = case.case_id if case else None
                case = dataclasses.replace(
                    case, status=CaseStatus.RESOLVED, responded_at=at, responded_by="cognito:agent@example.com",
                    first_response_at=at, resolved_at=at + timedelta(minutes=2),
                    resolved_by="cognito:agent@example.com",
                    history=(*case.history, {"at": at.isoformat(), "status": "resolved",
                                             "by": "cognito:agent@example.com"}),
                )  # fmt: skip
                facts["replies"] += 1
            else:
                interaction = Interaction(platform, kind, external_id, author, text, at, at,
                                          account_id=account.get(platform), thread_id=user_id,
                                          rating=float(rng.randint(1, 5)) if kind is Kind.REVIEW else None,
                                          title="Order" if kind is Kind.REVIEW else None)  # fmt: skip
                analysis = _analysis(rng, person.language, intent)
                redacted = "#" in text and rng.random() < 0.05
                stored = StoredText(text.replace(str(40_000 + n), "[NUMBER]") if redacted else text,
                                    interaction.title, redacted, ("PHONE",) if redacted else ())  # fmt: skip
                route = Route(teams[intent], Priority(priorities[intent]), rules_of[intent], (RouteAction.OPEN_CASE,))
                if in_case:
                    if case is None:
                        case = open_case(person.customer_id, interaction, Intent(intent), route, sla, person.language)
                    else:
                        case = join(case, interaction, route, sla, language=person.language)
                decision = SimpleNamespace(
                    intent=IntentResult(Intent(intent), round(rng.uniform(0.55, 0.95), 2), ("order", "late")),
                    route=route,
                    case=case if in_case else None,
                )
                item = writer._item(person.customer_id, interaction, analysis, stored, at, decision)  # type: ignore[arg-type]
                assert analysis.sentiment is not None
                figures["count"] += 1
                figures["platforms"][platform] = figures["platforms"].get(platform, 0) + 1
                figures["score"] = ewma(figures["score"], analysis.sentiment.polarity)
                figures["samples"] += 1
                figures["last_platform"] = platform
            items.append(item)
            items.append(
                PointerItem(keys.pointer(platform, external_id), POINTER, customer_id=person.customer_id,
                            interaction_sk=item.sk, version_at=item.version_at, expires_at=item.expires_at)
            )  # fmt: skip
        if case is not None:
            items.append(case_item(case, timedelta(days=retention_days)))
            facts["open" if case.status is CaseStatus.OPEN else "resolved"] += 1
        first_at = person.times[0]
        last_inbound = max(t for i, t in enumerate(person.times) if not (case_kind == "resolved" and
                           i == len(person.times) - 1 and case_size >= 2)) if person.times else first_at  # fmt: skip
        _, _, handle = person.identities[0]
        items.append(
            CustomerItem(keys.customer(person.customer_id), keys.PROFILE, customer_id=person.customer_id,
                         created_at=first_at, display_name=person.name, handle=handle,
                         first_contact_at=first_at, last_contact_at=last_inbound,
                         last_platform=figures.get("last_platform"), interaction_count=figures["count"],
                         platform_counts=figures["platforms"], sentiment_score=figures["score"],
                         sentiment_samples=figures["samples"])
        )  # fmt: skip
        entries: dict[str, str] = {}
        for platform, user_id, handle in person.identities:
            fields: dict[str, Any] = {"customer_id": person.customer_id, "platform": platform, "user_id": user_id,
                      "handle": handle, "display_name": person.name, "first_seen_at": first_at,
                      "last_seen_at": last_inbound}  # fmt: skip
            items.append(IdentityItem(keys.identity(platform, user_id), "IDENTITY", **fields))
            items.append(CustomerIdentityItem(keys.customer(person.customer_id), f"IDENTITY#{platform}#{user_id}",
                                              **fields))  # fmt: skip
            facts["identities"] += 1
            for kind_name, value in search.profile_terms(user_id, handle, person.name):
                entries[search.digest(key, kind_name, value)] = kind_name
        for digest, kind_name in entries.items():
            items.append(SearchEntryItem(keys.search(digest), keys.customer(person.customer_id),
                                         customer_id=person.customer_id, kind=kind_name))  # fmt: skip
        items.append(SearchKeysItem(keys.customer(person.customer_id), keys.SEARCH_KEYS,
                                    entries={f"{k}:{d}" for d, k in entries.items()}))  # fmt: skip
        facts["search_entries"] += len(entries)
    return items, facts


def _write(items: list[Any], workers: int = 4) -> None:
    from chalicelib.store.models import Item

    def write(part: list[Any]) -> None:
        with Item.batch_write() as batch:
            for item in part:
                batch.save(item)

    size = 2500
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(write, [items[i : i + size] for i in range(0, len(items), size)]))


# ---------------------------------------------------------------------------------------------
# A browser: cookies, the sign-in form, over HTTP or through chalice.test.Client


@dataclasses.dataclass
class Browser:
    send: Callable[[str, str, dict[str, str], bytes | None], tuple[int, list[tuple[str, str]], str]]
    cookies: dict[str, str] = dataclasses.field(default_factory=dict)
    csrf: str = ""

    def call(self, path: str, headers: dict[str, str] | None, form: dict[str, str] | None) -> Any:
        """GET the path, or POST the form to it (with the session's CSRF token, as the page would)."""
        if form is None:
            return self.request("GET", path, headers)
        body = urllib.parse.urlencode({**form, "csrf_token": self.csrf}).encode()
        return self.request(
            "POST", path, {**(headers or {}), "Content-Type": "application/x-www-form-urlencoded"}, body
        )

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> Any:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        status, received, text = self.send(method, path, sent, body)
        for name, value in received:
            if name.lower() == "set-cookie":
                cookie_name, _, rest = value.partition("=")
                cookie_value = rest.split(";", 1)[0]
                if "Max-Age=0" in value:
                    self.cookies.pop(cookie_name, None)
                else:
                    self.cookies[cookie_name] = cookie_value
        return status, text

    def sign_in(self, email: str, password: str) -> None:
        status, page = self.request("GET", "/console/sign-in")
        token = re.search(r'name="form_token" value="([^"]+)"', page)
        assert status == 200, (status, page[:500])
        assert token, page[:500]
        body = urllib.parse.urlencode(
            {"email": email, "password": password, "form_token": token.group(1), "next": "/console/"}
        ).encode()
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        status, page = self.request("POST", "/console/sign-in", form, body)
        assert status == 303, (status, page[:500])
        assert "scrm_session" in self.cookies, self.cookies
        _, page = self.request("GET", "/console/customers")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, page[:500]
        self.csrf = token.group(1)


def _http(port: int) -> Callable[[str, str, dict[str, str], bytes | None], tuple[int, list[tuple[str, str]], str]]:
    def send(method: str, path: str, headers: dict[str, str], body: bytes | None) -> Any:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read().decode()
        finally:
            connection.close()

    return send


def _in_process() -> Callable[[str, str, dict[str, str], bytes | None], tuple[int, list[tuple[str, str]], str]]:
    from chalice.test import Client

    from app import app

    client = Client(app, stage_name="dev")

    def send(method: str, path: str, headers: dict[str, str], body: bytes | None) -> Any:
        response = client.http.request(method, path, headers={"Host": "localhost:8000", **headers}, body=body or b"")
        received = [(name, value) for name, value in response.headers.items()]
        text = response.body.decode() if isinstance(response.body, bytes) else str(response.body or "")
        return response.status_code, received, text

    return send


# ---------------------------------------------------------------------------------------------


def _wait(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own local server
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s")


def _measure(
    browser: Browser, path: str, headers: dict[str, str] | None = None, form: dict[str, str] | None = None
) -> list[float]:
    for _ in range(WARMUP):
        status, page = browser.call(path, headers, form)
        assert status == 200, (path, status, page[:300])
        assert form is None or "/console/customers/" in page, "the search found nobody"
    timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        status, _ = browser.call(path, headers, form)
        timings.append((time.perf_counter() - started) * 1000)
        assert status == 200
    return timings


def _profile(
    browser: Browser, path: str, headers: dict[str, str] | None, form: dict[str, str] | None, top: int = 14
) -> list[list[object]]:
    """One request through the app in this process, profiled: its top cumulative chalicelib calls
    (and the HTTP round trips to moto, which is where the store's time goes)."""
    browser.call(path, headers, form)  # warm
    profiler = cProfile.Profile()
    profiler.enable()
    started = time.perf_counter()
    browser.call(path, headers, form)
    total = (time.perf_counter() - started) * 1000
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows: list[list[object]] = []
    entries = stats.stats  # type: ignore[attr-defined]
    for (filename, line, function), (_, calls, _, cumulative, _) in sorted(
        entries.items(), key=lambda entry: entry[1][3], reverse=True
    ):
        if "/chalicelib/" in filename and "/console/web.py" not in filename:
            where = filename.split("/chalicelib/", 1)[1]
            rows.append([f"chalicelib/{where}:{line} {function}", calls, cumulative * 1000])
        elif function in ("_make_api_call",) or (function == "getresponse" and "http/client" in filename):
            rows.append([f"{Path(filename).name}:{line} {function} (AWS calls)", calls, cumulative * 1000])
        if len(rows) >= top:
            break
    rows.insert(0, ["the whole request, profiled", 1, total])
    return rows


def run() -> str:
    from tools.local import LOCAL_SETTINGS
    from tools.local.__main__ import aws_environment
    from tools.local.launch import free_port
    from tools.provision import provision
    from tools.secrets import DEV_SECRETS_PATH, load_file

    saved_environment = dict(os.environ)
    aws_port, api_port = free_port(), free_port()
    log_dir = ROOT / "build" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **aws_environment(aws_port), "POWERTOOLS_LOG_LEVEL": "WARNING"}
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    moto_log = (log_dir / "console-moto.log").open("wb")
    moto = subprocess.Popen(
        [sys.executable, "-m", "tools.local.fast_moto", "-H", "127.0.0.1", "-p", str(aws_port)],
        cwd=ROOT, env=env, stdout=moto_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    api: subprocess.Popen[bytes] | None = None
    try:
        _wait(f"http://127.0.0.1:{aws_port}/moto-api/", moto)
        os.environ.clear()
        os.environ.update(env)
        import boto3

        from chalicelib import dependencies
        from chalicelib.store.models import bind

        secrets = load_file(DEV_SECRETS_PATH)
        started = time.perf_counter()
        app_env = provision(boto3.Session(region_name=env["AWS_DEFAULT_REGION"]), "dev", secrets)
        provisioned = time.perf_counter() - started
        os.environ.update(app_env)
        os.environ.update({"SOCIALCRM_NLP": "local", "POWERTOOLS_METRICS_DISABLED": "true", **LOCAL_SETTINGS})
        bind(app_env["SOCIALCRM_TABLE"])

        now = datetime.now(UTC)
        started = time.perf_counter()
        people = _people(random.Random(10), now)
        items, facts = _items(people, secrets, now)
        built = time.perf_counter() - started
        started = time.perf_counter()
        _write(items)
        written = time.perf_counter() - started

        api_log = (log_dir / "console-api.log").open("wb")
        api = subprocess.Popen(
            [sys.executable, "-m", "tools.local.api", "--stage", "dev", "--host", "127.0.0.1", "--port", str(api_port)],
            cwd=ROOT, env=dict(os.environ), stdout=api_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        _wait(f"http://127.0.0.1:{api_port}/health", api)

        users = secrets["console_users"]
        email = next(address for address, user in users.items() if user["role"] == "agent")
        browser = Browser(_http(api_port))
        browser.sign_in(email, users[email]["password"])
        _, inbox = browser.request("GET", "/console/")
        first_case = re.search(r'href="/console/cases/([^"?#]+)"', inbox)
        assert first_case, inbox[:1000]
        heaviest = max(
            (p for p in people if len(p.times) > 1), key=lambda p: len(p.times) if p is not None else 0
        )  # the customer who wrote most: their case reads the longest conversation and panel
        heavy_case = next(
            (i.case_id for i in items if type(i).__name__ == "CaseItem" and i.customer_id == heaviest.customer_id),
            None,
        )
        handle = next(h for p in people for _, _, h in p.identities if h)
        Check = tuple[str, str, dict[str, str] | None, dict[str, str] | None]  # label, path, headers, form
        checks: list[Check] = [
            ("inbox (default view)", "/console/", None, None),
            ("inbox rows fragment", "/console/?fragment=rows", {"HX-Request": "true"}, None),
            ("case page (first inbox row)", f"/console/cases/{first_case.group(1)}", None, None),
        ]
        if heavy_case:
            checks.append((f"case page (customer with {len(heaviest.times)} interactions)",
                           f"/console/cases/{heavy_case}", None, None))  # fmt: skip
        checks += [  # the search form POSTs its query (it is in no URL), its results a fragment
            ("customer search by handle", "/console/customers", {"HX-Request": "true"}, {"q": "@" + handle}),
            ("customer search by name prefix 'mar'", "/console/customers", {"HX-Request": "true"}, {"q": "mar"}),
        ]
        rows = []
        over: list[Check] = []
        for label, path, headers, form in checks:
            timings = _measure(browser, path, headers, form)
            p50, p95 = percentile(timings, 0.5), percentile(timings, 0.95)
            rows.append([label, p50, p95, TARGET_MS, "ok" if p95 <= TARGET_MS else "MISSED"])
            if p95 > TARGET_MS:
                over.append((label, path, headers, form))
        profiles = ""
        for label, path, headers, form in over:
            dependencies.reset()
            local = Browser(_in_process())
            local.sign_in(email, users[email]["password"])
            profiles += "\n" + render(
                f"Profile of one request, {label} (in process, chalice.test.Client against the same moto server)",
                ["top cumulative calls", "calls", "ms"],
                _profile(local, path, headers, form),
            )
        size = [
            [CUSTOMERS, sum(len(p.times) for p in people), facts["replies"], facts["identities"], facts["open"],
             facts["resolved"], facts["search_entries"], len(items)]
        ]  # fmt: skip
        load = [[provisioned, built, written, len(items) / written]]
    finally:
        for process in (api, moto):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        os.environ.clear()
        os.environ.update(saved_environment)
    return (
        render(
            "Console data set (moto server over HTTP, as the local stack runs it: tools/local/fast_moto.py)",
            ["customers", "interactions", "of them brand replies", "identities", "open cases", "resolved cases",
             "search entries", "items written"],
            size,
        )
        + "\n"
        + render(
            "Console data load (seconds): provision the dev stack, build the items, BatchWriteItem them (4 threads)",
            ["provision", "build", "write", "items/s written"],
            load,
        )
        + "\n"
        + render(
            f"Console pages over HTTP: Chalice's local server (tools/local/api.py, as `make run`) against the moto "
            f"server; signed in as the demo agent; {REQUESTS} requests each after {WARMUP} warm-up (ms)",
            ["page", "p50", "p95", "target", "p95 vs target"],
            rows,
        )
        + profiles
    )  # fmt: skip


if __name__ == "__main__":
    print(run())
