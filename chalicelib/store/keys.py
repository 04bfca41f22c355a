"""Key design of the single table (docs/storage.md says why).

    pk                               sk                                  item
    CUSTOMER#<id>                    PROFILE                             profile + aggregates
    CUSTOMER#<id>                    IDENTITY#<platform>#<user_id>       an identity, for the 360 view
    CUSTOMER#<id>                    INTERACTION#<occurred_at>#<platform>#<external_id>
    IDENTITY#<platform>#<user_id>    IDENTITY                            identity -> customer (unique)
    INTERACTION#<platform>#<ext_id>  POINTER                             external id -> interaction
    CUSTOMER#<id>                    CASE#<case_id>                      a case (id = <customer_id>_<time><random>)
    ALERT#<alert_id>                 ALERT                               an alert as the notifier handled it
    COOLDOWN#<subject>#<type>        COOLDOWN                            until when alerts of a type are held
    CRISIS#<brand>                   STATE                               negative volume per bucket, episode
    AUDIT#<yyyy-mm-dd>               <at>#<random>                       who did what, to what, when
    ERASED#<sha256 of identity>      ERASED                              when an identity's person was erased
    CUSTOMER#<id>                    LINK#<other_id>                     one half of a link (the other mirrors it)
    CUSTOMER#<id>                    SUGGEST#<other_id>                  a suggested link, with its reasons' kinds
    CUSTOMER#<id>                    SEARCHKEYS                          the customer's search index entries
    CUSTOMER#<id>                    LAKEKEY                             the customer's data lake salt (chalicelib/lake)
    SEARCH#<hmac of kind and value>  CUSTOMER#<id>                       a search index entry (rules/search.py)
    FIGURES#<yyyy-mm-dd>#<shard>     <hh>#<platform>#<account>           counters as written (insight/counts.py)
    FIGURES#DAY#<yyyy-mm>            <dd>#<platform>#<account>           a day's counters, rolled up
    FIGURES#HOUR#<yyyy-mm-dd>        <hh>#<platform>#<account>           an hour's counters, rolled up (TTL)
    TOPICS#<yyyy-mm-dd>              H<hh>                               an hour's topics (insight/topics.py)
    TOPICS#DAY#<yyyy-mm>             <dd>                                a day's topics (counts)
    TOPICS#DAY#<yyyy-mm>             <dd>#EX#<yyyy-mm-dd>                its examples expiring that day (TTL)
    SEGMENTS#<yyyy-mm>               <dd>                                the segments' sizes and clusters of a day
    VIEWING#<case_id>                <principal id>                      who has the case open (TTL, 60 s)
    SESSION#<sha256 of cookie>       SESSION                             a console session
    SIGNIN#<sha256 of state>         SIGNIN                              a managed-login attempt (PKCE)

GSI recent:    RECENT#<yyyy-mm-ddThh>#<shard>      / <occurred_at>#<platform>#<external_id>
               NEWEST#<status>#<shard>             / <last_inbound_at>#<case_id>   (cases, newest first)
               PROFILES#<shard>                    / <customer_id>                 (every customer's profile)
GSI sentiment: SENTIMENT#<label>#<yyyy-mm-dd>#<shard> / <occurred_at>#<platform>#<external_id>
               UNREAD#<shard>                      / <last_inbound_at>#<case_id>   (open cases, unread only)

GSI worklist:  CASES#<status>#<shard>               / <due_at>#<case_id>
               ALERTS#<status>                     / <raised_at>#<alert_id>

GSI inbox:     INBOX#<status>#<shard>              / <waiting_since>#<case_id>
               TOPICS#LATE#<yyyy-mm-ddThh>#<shard> / <occurred_at>#<platform>#<external_id> (stored late: topics)

Shards spread one hour's (or one day's) writes over SHARDS partitions by customer, so a viral
spike does not heat one partition; a reader queries the SHARDS partitions and merges.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime

SHARDS = 8
# The figures' counters take every stored interaction: spread wider, so that 50,000 interactions a
# minute for one brand are some 26 writes a second per counter item (docs/insight.md).
FIGURE_SHARDS = 32
PROFILE = "PROFILE"  # the sort key of a customer's profile item
ERASED = "ERASED"  # the sort key of an erased identity's suppression record
LAKEKEY = "LAKEKEY"  # the sort key of a customer's data lake salt


def customer(customer_id: str) -> str:
    return f"CUSTOMER#{customer_id}"


def identity(platform: str, user_id: str) -> str:
    return f"IDENTITY#{platform}#{user_id}"


def interaction_sk(occurred_at: datetime, platform: str, external_id: str) -> str:
    return f"INTERACTION#{stamp(occurred_at)}#{platform}#{external_id}"


def pointer(platform: str, external_id: str) -> str:
    return f"INTERACTION#{platform}#{external_id}"


def shard(customer_id: str) -> int:
    return int(hashlib.sha256(customer_id.encode()).hexdigest()[:8], 16) % SHARDS


def recent(occurred_at: datetime, shard_number: int) -> str:
    return f"RECENT#{occurred_at.strftime('%Y-%m-%dT%H')}#{shard_number}"


def late_topics(arrived_at: datetime, shard_number: int) -> str:
    """A message stored after its own hour's last topic count, listed under the hour it arrived."""
    return f"TOPICS#LATE#{arrived_at.strftime('%Y-%m-%dT%H')}#{shard_number}"


def by_sentiment(label: str, occurred_at: datetime, shard_number: int) -> str:
    return f"SENTIMENT#{label}#{occurred_at.strftime('%Y-%m-%d')}#{shard_number}"


def timeline(occurred_at: datetime, platform: str, external_id: str) -> str:
    return f"{stamp(occurred_at)}#{platform}#{external_id}"


def stamp(moment: datetime) -> str:
    """Sortable UTC time with milliseconds: every key that orders by time uses this form."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def case_sk(case_id: str) -> str:
    return f"CASE#{case_id}"


def worklist_cases(status: str, shard_number: int) -> str:
    return f"CASES#{status}#{shard_number}"


def inbox_cases(status: str, shard_number: int) -> str:
    return f"INBOX#{status}#{shard_number}"


def newest_cases(status: str, shard_number: int) -> str:
    return f"NEWEST#{status}#{shard_number}"


def unread_cases(shard_number: int) -> str:
    return f"UNREAD#{shard_number}"


def case_order(moment: datetime, case_id: str) -> str:
    """A case's sort key in the worklist, inbox and newest orders: a time, then the id for ties."""
    return f"{stamp(moment)}#{case_id}"


def viewing(case_id: str) -> str:
    return f"VIEWING#{case_id}"


def worklist_alerts(status: str) -> str:
    return f"ALERTS#{status}"


def alert(alert_id: str) -> str:
    return f"ALERT#{alert_id}"


def cooldown(subject: str, alert_type: str) -> str:
    return f"COOLDOWN#{subject}#{alert_type}"


def crisis(brand: str) -> str:
    return f"CRISIS#{brand}"


def audit(at: datetime) -> str:
    return f"AUDIT#{at.strftime('%Y-%m-%d')}"


def erased(platform: str, user_id: str) -> str:
    """The suppression record of an erased identity, keyed by a hash so that the record itself
    holds neither the platform's id for the person nor anything that leads to their customer.
    (Platform names hold no NUL, so no two identities hash the same text.)"""
    digest = hashlib.sha256(f"{platform}\0{user_id}".encode()).hexdigest()
    return f"ERASED#{digest}"


def session(cookie_value: str) -> str:
    """A console session's key: the hash of the browser's cookie, never the cookie itself."""
    return f"SESSION#{hashlib.sha256(cookie_value.encode()).hexdigest()}"


def signin(state: str) -> str:
    return f"SIGNIN#{hashlib.sha256(state.encode()).hexdigest()}"


SEARCH_KEYS = "SEARCHKEYS"  # the sort key of a customer's list of their search index entries


def search(digest: str) -> str:
    return f"SEARCH#{digest}"


def link(other_id: str) -> str:
    return f"LINK#{other_id}"


def suggestion(other_id: str) -> str:
    return f"SUGGEST#{other_id}"


def figure_shard(seed: str) -> int:
    return int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16) % FIGURE_SHARDS


def figures_written(day: str, shard_number: int) -> str:
    return f"FIGURES#{day}#{shard_number}"


def figures_day(month: str) -> str:
    return f"FIGURES#DAY#{month}"


def figures_hour(day: str) -> str:
    return f"FIGURES#HOUR#{day}"


def topics_hour(day: str) -> str:
    return f"TOPICS#{day}"


def topics_day(month: str) -> str:
    return f"TOPICS#DAY#{month}"


TOPICS_EXAMPLES = "#EX"  # after a day's sort key: its examples, apart from its counts (store/topics.py)


def topic_examples(day_sk: str, expiring: datetime) -> str:
    """A day's examples whose messages expire on one day: one item, one TTL."""
    return f"{day_sk}{TOPICS_EXAMPLES}#{expiring:%Y-%m-%d}"


def profiles(shard_number: int) -> str:
    return f"PROFILES#{shard_number}"


def segments(month: str) -> str:
    return f"SEGMENTS#{month}"


def months(first: str, last: str) -> Iterator[str]:
    """The months (yyyy-mm) from the day `first` to the day `last`: the partitions a range of days
    kept by month (FIGURES#DAY, TOPICS#DAY, SEGMENTS) spans."""
    month = first[:7]
    while month <= last[:7]:
        yield month
        year, number = int(month[:4]), int(month[5:7])
        month = f"{year + number // 12:04d}-{number % 12 + 1:02d}"
