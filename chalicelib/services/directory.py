"""Finding customers: the search agents use, and the index the processor keeps for it.

Nothing searchable is kept in clear: names, handles, user ids, e-mail addresses and phone numbers
are normalised and kept only as keyed hashes (rules/search.py), under the stage's `search_key` (in
the hash keys' secret, which the ops API may read: it holds no page token). The processor indexes
each inbound message's author (their name's prefixes, handle and platform user id) and the e-mail
addresses and phone numbers the personal-data patterns find in its words, before those are
redacted for storing; it writes only the entries the customer does not have yet. The same address
or number in two customers' messages suggests linking them (store/links.py); nothing is linked
without a person.

A search is one Query per hash the query could be (run at once) and one BatchGet of the profiles
found; the query itself is never logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Protocol

from chalicelib.models.directory import CustomerMatch
from chalicelib.models.interaction import Direction, Interaction
from chalicelib.observability import logger
from chalicelib.ports import SecretNotSet, SecretReader, SecretUnavailable
from chalicelib.rules import search as rules
from chalicelib.services.customers import InvalidRequest

SECRET = "search_key"  # noqa: S105 - the name of the secret, not its value
MAX_LIMIT = 50
# Customers read per search (one BatchGet): exact matches first, then name prefixes. A prefix that
# matches more customers shows the first found of them, newest contact first; typing more narrows
# it. (Ordering every match by last contact would mean reading every matching profile.)
CANDIDATES = 50
# More entries than this per customer (names they went by, addresses and numbers they wrote) and
# new ones are no longer added: the list must stay one small item.
MAX_ENTRIES = 400
# An address or number written by more customers than this is not one person's (the brand's own
# support address, a shop's number): it suggests no link.
SHARED_CONTACT = 3


class SearchUnavailable(RuntimeError):
    """The stage has no `search_key` in its hash keys' secret, or it cannot be read now."""


class DirectoryIndex(Protocol):
    def indexed(self, customer_id: str) -> frozenset[str]: ...

    def add(self, customer_id: str, entries: Mapping[str, str]) -> bool: ...

    def holders(self, digest: str, limit: int, consistent: bool = False) -> list[tuple[str, str]]: ...

    def rows(self, customer_ids: Iterable[str]) -> list[CustomerMatch]: ...


class LinkSuggester(Protocol):
    def suggest(self, customer_id: str, other_id: str, kind: str, seen_at: datetime) -> bool: ...


class Directory:
    def __init__(self, index: DirectoryIndex, secrets: SecretReader, suggestions: LinkSuggester | None = None) -> None:
        self._index = index
        self._secrets = secrets
        self._suggestions = suggestions
        self._warned = False

    def named(self, customer_ids: Iterable[str]) -> dict[str, str | None]:
        """How these customers are named (their name on the platform, else their handle, else
        None), for pages that list many (the alerts): one BatchGet per hundred, not a read each.
        A customer being erased is left out."""
        return {row.customer_id: row.display_name or row.handle for row in self._index.rows(customer_ids)}

    def search(self, query: str, limit: int = 20) -> list[CustomerMatch]:
        """Customers found by name prefix, handle, platform user id, e-mail address or phone
        number, most recent contact first, each saying what matched. Raises InvalidRequest for a
        query under two characters, SearchUnavailable when the stage has no search key."""
        if len(query.strip()) < rules.MIN_QUERY:
            raise InvalidRequest(f"q: at least {rules.MIN_QUERY} characters")
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidRequest(f"limit: a whole number from 1 to {MAX_LIMIT}")
        try:
            key = self._key()
        except SecretNotSet:
            raise SearchUnavailable("search is not configured: the hash keys' secret has no search_key") from None
        except SecretUnavailable:
            raise SearchUnavailable("the hash keys' secret cannot be read: try again shortly") from None
        digests = {rules.digest(key, kind, value): kind for kind, value in rules.query_terms(query)}
        if not digests:
            return []
        if len(digests) == 1:
            found = [self._index.holders(next(iter(digests)), CANDIDATES)]
        else:
            with ThreadPoolExecutor(max_workers=len(digests)) as pool:
                found = list(pool.map(lambda digest: self._index.holders(digest, CANDIDATES), digests))
        matched: dict[str, set[str]] = {}
        for holders in found:
            for customer_id, kind in holders:
                matched.setdefault(customer_id, set()).add(kind)
        exact_first = sorted(matched, key=lambda customer_id: matched[customer_id] == {rules.NAME})
        rows = self._index.rows(exact_first[:CANDIDATES])
        ordered = sorted(
            rows,
            key=lambda row: (row.last_contact_at or datetime.min.replace(tzinfo=UTC), row.customer_id),
            reverse=True,
        )
        return [
            CustomerMatch(
                customer_id=row.customer_id,
                display_name=row.display_name,
                handle=row.handle,
                platforms=row.platforms,
                last_contact_at=row.last_contact_at,
                matched=tuple(kind for kind in rules.KINDS if kind in matched[row.customer_id]),
            )
            for row in ordered[:limit]
        ]

    def index(self, customer_id: str, interaction: Interaction) -> None:
        """Index the customer by what this message says of them (the processor calls it before
        storing the message, so a redelivery indexes again what a failure left out), and suggest
        links to the customers who wrote the same e-mail address or phone number. Does nothing for
        a customer being erased, or while the stage has no search key (logged)."""
        author = interaction.author
        if author is None or interaction.direction is not Direction.INBOUND:
            return
        try:
            key = self._key()
        except SecretNotSet:
            if not self._warned:
                logger.warning("search_key is not set: customers are not indexed for search")
                self._warned = True
            return
        terms = rules.profile_terms(author.user_id, author.handle, author.display_name)
        contacts = rules.contact_terms((interaction.text, interaction.title))
        wanted = {rules.digest(key, kind, value): kind for kind, value in terms | contacts}
        have = self._index.indexed(customer_id)
        new = {digest: kind for digest, kind in wanted.items() if f"{kind}:{digest}" not in have}
        room = MAX_ENTRIES - len(have)
        if len(new) > room:
            # Who they are before what they wrote: names, handle and user id first.
            ranked = sorted(new.items(), key=lambda entry: (entry[1] in rules.CONTACT_KINDS, entry[0]))
            new = dict(ranked[: max(room, 0)])
            logger.warning("search entries at their cap: new ones left out", extra={"customer_id": customer_id})
        if new and not self._index.add(customer_id, new):
            return  # being erased: nothing more is written for them
        if self._suggestions is None:
            return
        for digest, kind in wanted.items():
            if kind in rules.CONTACT_KINDS and (f"{kind}:{digest}" in have or digest in new):
                self._suggest(customer_id, digest, kind, interaction.occurred_at)

    def _suggest(self, customer_id: str, digest: str, kind: str, seen_at: datetime) -> None:
        """Read after our own entry was written (strongly consistent), so of two customers writing
        the same address at once, at least one sees the other."""
        assert self._suggestions is not None
        holders = {holder for holder, _ in self._index.holders(digest, SHARED_CONTACT + 1, consistent=True)}
        if len(holders) > SHARED_CONTACT:
            return
        for other in sorted(holders - {customer_id}):
            self._suggestions.suggest(customer_id, other, kind, seen_at)

    def _key(self) -> bytes:
        return self._secrets.get(SECRET).encode()
