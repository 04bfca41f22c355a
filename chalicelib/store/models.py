"""PynamoDB models of the single table. Item types share the table and are told apart by
`item_type`, so one Query on a customer's partition returns profile, identities and timeline."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

# item_type too: PynamoDB filters a subclass query on its discriminator.
INDEX_PROJECTION = [
    "item_type",
    "customer_id",
    "platform",
    "kind",
    "account_id",
    "sentiment_label",
    "polarity",
    "language",
]

# What an inbox row and its filters need (rules.inbox.CaseSummary): a page is read from the index
# alone, never the cases whole (their history and message lists).
INBOX_PROJECTION = [
    "item_type",
    "case_id",
    "customer_id",
    "status",
    "team",
    "priority",
    "intent",
    "platform",
    "due_at",
    "waiting_since",
    "last_inbound_at",
    "assignee",
    "language",
    "latest_inbound",
    "unread",
]


class RecentIndex(GlobalSecondaryIndex["InteractionItem"]):
    class Meta:
        index_name = "recent"
        projection = IncludeProjection(INDEX_PROJECTION)

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class SentimentIndex(GlobalSecondaryIndex["InteractionItem"]):
    class Meta:
        index_name = "sentiment"
        projection = IncludeProjection(INDEX_PROJECTION)

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class LateTopicsIndex(GlobalSecondaryIndex["InteractionItem"]):
    """The `inbox` index also lists a message that was stored after the topic count stopped
    recounting its own hour (`TOPICS#LATE#<hour>#<shard>`, the hour it arrived): see
    insight/topics.late_listing. Sparse: a message stored in time is not in it."""

    class Meta:
        index_name = "inbox"
        projection = IncludeProjection(INBOX_PROJECTION)

    gsi4pk = UnicodeAttribute(hash_key=True)
    gsi4sk = UnicodeAttribute(range_key=True)


class ProfileIndex(GlobalSecondaryIndex["CustomerItem"]):
    """The `recent` index also lists every customer's profile, by shard (PROFILES#<shard>), so the
    daily segment job reads the customers without scanning their timelines."""

    class Meta:
        index_name = "recent"
        projection = IncludeProjection(INDEX_PROJECTION)

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class Item(Model):
    class Meta:
        table_name = "socialcrm-dev"  # replaced by bind() from SOCIALCRM_TABLE

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    item_type = DiscriminatorAttribute()


class CustomerItem(Item, discriminator="customer"):
    customer_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    display_name = UnicodeAttribute(null=True)
    handle = UnicodeAttribute(null=True)
    first_contact_at = UTCDateTimeAttribute(null=True)
    last_contact_at = UTCDateTimeAttribute(null=True)
    last_platform = UnicodeAttribute(null=True)
    interaction_count = NumberAttribute(default=0)
    platform_counts: MapAttribute[str, Any] = MapAttribute(default=dict)
    sentiment_score = NumberAttribute(null=True)
    sentiment_samples = NumberAttribute(default=0)
    segments = UnicodeSetAttribute(null=True)  # given by people (PUT /customers/{id}/segments)
    auto_segments = UnicodeSetAttribute(null=True)  # given by the daily segment job (insight/segments.py)
    churn = JSONAttribute(null=True)  # chalicelib.models.churn.ChurnState, see store/serde.py
    churn_risk = NumberAttribute(null=True)
    # The brand's replies that answered no case yet (models.case.BrandReply), until their message lands.
    waiting_replies = JSONAttribute(null=True)
    erasing_at = UTCDateTimeAttribute(null=True)  # an erasure has begun: nothing more may be written
    # The hours (since the epoch) the customer's messages were written or counted late in, kept by
    # an erasure before it deletes them: the topics' examples are found through those hours, and a
    # rerun of an erasure interrupted after the messages went must still find them.
    erasing_hours = NumberSetAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)  # PROFILES#<shard>: the profile listed for the segment job
    gsi1sk = UnicodeAttribute(null=True)
    version = VersionAttribute()

    by_shard = ProfileIndex()


class LakeKeyItem(Item, discriminator="lake_key"):
    """A customer's lake salt (pk CUSTOMER#<id>, sk LAKEKEY): their pseudonym in the data lake is
    made from it (chalicelib/lake/records.py), so erasing it leaves their lake rows naming no one."""

    salt = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class IdentityItem(Item, discriminator="identity"):
    """The unique identity -> customer mapping (pk IDENTITY#...)."""

    customer_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    user_id = UnicodeAttribute()
    handle = UnicodeAttribute(null=True)
    display_name = UnicodeAttribute(null=True)
    first_seen_at = UTCDateTimeAttribute()
    last_seen_at = UTCDateTimeAttribute()


class CustomerIdentityItem(Item, discriminator="customer_identity"):
    """The same identity under the customer's partition, for the 360-degree view."""

    customer_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    user_id = UnicodeAttribute()
    handle = UnicodeAttribute(null=True)
    display_name = UnicodeAttribute(null=True)
    first_seen_at = UTCDateTimeAttribute()
    last_seen_at = UTCDateTimeAttribute()


class InteractionItem(Item, discriminator="interaction"):
    customer_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    kind = UnicodeAttribute()
    action = UnicodeAttribute()
    direction = UnicodeAttribute(default="inbound")
    external_id = UnicodeAttribute()
    account_id = UnicodeAttribute(null=True)
    recipient_id = UnicodeAttribute(null=True)
    thread_id = UnicodeAttribute(null=True)
    parent_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    text = UnicodeAttribute(null=True)
    text_truncated = BooleanAttribute(default=False)
    redacted = BooleanAttribute(default=False)
    pii_types = ListAttribute(of=UnicodeAttribute, default=list)
    rating = NumberAttribute(null=True)
    reaction = UnicodeAttribute(null=True)
    attachments = ListAttribute(of=UnicodeAttribute, default=list)  # their types
    media = JSONAttribute(null=True)  # the attachments with their media ids: [{"type", "media_id"}]
    language_hint = UnicodeAttribute(null=True)
    occurred_at = UTCDateTimeAttribute()
    received_at = UTCDateTimeAttribute()
    edited_at = UTCDateTimeAttribute(null=True)
    deleted_at = UTCDateTimeAttribute(null=True)
    version_at = UTCDateTimeAttribute()
    language = UnicodeAttribute(null=True)
    sentiment_label = UnicodeAttribute(null=True)
    polarity = NumberAttribute(null=True)
    analysis = JSONAttribute(null=True)
    intent = JSONAttribute(null=True)
    route = JSONAttribute(null=True)
    case_id = UnicodeAttribute(null=True)
    reply_id = UnicodeAttribute(null=True)  # outbound, sent from socialcrm: its reply
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    # Only a message stored after its hour's last topic count: when it arrived, and its listing.
    topics_at = UTCDateTimeAttribute(null=True)
    gsi4pk = UnicodeAttribute(null=True)
    gsi4sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    recent = RecentIndex()
    by_sentiment = SentimentIndex()
    late_topics = LateTopicsIndex()


class PointerItem(Item, discriminator="pointer"):
    """(platform, external id) -> where the interaction is, so edits and deletes find it.

    A pointer without a customer stands for an interaction that has not arrived yet. A deletion that
    arrives before what it deletes leaves a tombstone (`deleted_at` set): the original, arriving
    late, then finds the pointer taken and is not stored. The brand's replies to it that arrived
    first wait in `answers`."""

    customer_id = UnicodeAttribute(null=True)
    interaction_sk = UnicodeAttribute(null=True)
    version_at = UTCDateTimeAttribute()
    deleted_at = UTCDateTimeAttribute(null=True)
    # The outbox: the events this interaction raised, written in the same transaction, published
    # after it; a redelivery of a stored interaction publishes them again (consumers dedupe).
    events = JSONAttribute(null=True)
    # Before the interaction itself arrives, its pointer may hold the brand's replies to it (a reply
    # to a comment we have not seen yet): the comment, when it lands, takes them into its customer's
    # timeline. Such a reply's own pointer says which pointer it waits on.
    answers = JSONAttribute(null=True)
    awaiting = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class WorklistIndex(GlobalSecondaryIndex["Item"]):
    """Cases by status and deadline, alerts by status and time: what ops work through."""

    class Meta:
        index_name = "worklist"
        projection = AllProjection()

    gsi3pk = UnicodeAttribute(hash_key=True)
    gsi3sk = UnicodeAttribute(range_key=True)


class InboxIndex(GlobalSecondaryIndex["CaseItem"]):
    """Cases by status, the one waiting longest first (`INBOX#<status>#<shard>`)."""

    class Meta:
        index_name = "inbox"
        projection = IncludeProjection(INBOX_PROJECTION)

    gsi4pk = UnicodeAttribute(hash_key=True)
    gsi4sk = UnicodeAttribute(range_key=True)


class NewestCasesIndex(GlobalSecondaryIndex["CaseItem"]):
    """Cases by status and their newest message (`NEWEST#<status>#<shard>`), in the `recent`
    index, whose other partitions hold interactions by hour (one GSI is all a CloudFormation update
    may add, and the inbox's took it)."""

    class Meta:
        index_name = "recent"
        projection = IncludeProjection(INDEX_PROJECTION)

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class UnreadCasesIndex(GlobalSecondaryIndex["CaseItem"]):
    """The open cases with a message nobody has seen (`UNREAD#<shard>`), in the `sentiment` index,
    whose other partitions hold interactions by sentiment and day: only those cases have the key,
    so counting them reads nothing else."""

    class Meta:
        index_name = "sentiment"
        projection = IncludeProjection(INDEX_PROJECTION)

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class CaseItem(Item, discriminator="case"):
    case_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    status = UnicodeAttribute()
    team = UnicodeAttribute()
    priority = UnicodeAttribute()
    intent = UnicodeAttribute()
    rule = UnicodeAttribute()
    platform = UnicodeAttribute()
    thread_key = UnicodeAttribute()
    opened_at = UTCDateTimeAttribute()
    due_at = UTCDateTimeAttribute()
    last_inbound_at = UTCDateTimeAttribute()
    interactions = ListAttribute(of=UnicodeAttribute, default=list)
    inbound_times = ListAttribute(of=UnicodeAttribute, null=True)  # when its messages were written
    responded_at = UTCDateTimeAttribute(null=True)
    responded_by = UnicodeAttribute(null=True)
    first_response_at = UTCDateTimeAttribute(null=True)
    resolved_at = UTCDateTimeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)
    breaches = ListAttribute(of=UnicodeAttribute, default=list)
    history = JSONAttribute(null=True)
    assignee = UnicodeAttribute(null=True)
    language = UnicodeAttribute(null=True)
    latest_inbound = UnicodeAttribute(null=True)  # "<platform>:<external_id>" of the newest message
    seen_inbound_at = UTCDateTimeAttribute(null=True)
    account_id = UnicodeAttribute(null=True)
    # Derived from the rest at every write, for the indexes: see models.case.Case.
    waiting_since = UTCDateTimeAttribute(null=True)
    unread = BooleanAttribute(null=True)
    gsi3pk = UnicodeAttribute()
    gsi3sk = UnicodeAttribute()
    gsi4pk = UnicodeAttribute(null=True)
    gsi4sk = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)  # only while open and unread
    gsi2sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    version = VersionAttribute()

    worklist = WorklistIndex()
    inbox = InboxIndex()
    newest = NewestCasesIndex()
    unread_cases = UnreadCasesIndex()


class AlertItem(Item, discriminator="alert"):
    alert_id = UnicodeAttribute()
    dedupe_key = UnicodeAttribute()
    detail_type = UnicodeAttribute()
    severity = UnicodeAttribute()
    status = UnicodeAttribute()
    subject = UnicodeAttribute()
    customer_id = UnicodeAttribute(null=True)
    raised_at = UTCDateTimeAttribute()
    received_at = UTCDateTimeAttribute()
    detail = JSONAttribute()
    delivered_to = ListAttribute(of=UnicodeAttribute, default=list)
    acked_at = UTCDateTimeAttribute(null=True)
    acked_by = UnicodeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)  # while SENDING: when another copy may take over
    gsi3pk = UnicodeAttribute()
    gsi3sk = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)

    worklist = WorklistIndex()


class AlertRefItem(Item, discriminator="alert_ref"):
    """An alert that names the customer, kept under the customer (pk CUSTOMER#<id>, sk ALERT#<id>):
    `about` them, or listing one of their interactions as a `sample` (a brand's crisis alert), so
    that an export or an erasure finds their alerts in their own partition, whatever alerts others
    have."""

    alert_id = UnicodeAttribute()
    relation = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)


class CooldownItem(Item, discriminator="cooldown"):
    until = UTCDateTimeAttribute()
    holder = UnicodeAttribute(null=True)  # the alert that started it
    expires_at = TTLAttribute(null=True)


class CrisisStateItem(Item, discriminator="crisis"):
    brand = UnicodeAttribute()
    buckets = JSONAttribute(default=dict)  # bucket start (ISO) -> negative count, zeros left out
    episode_started_at = UTCDateTimeAttribute(null=True)
    episodes = NumberAttribute(default=0)
    gsi3pk = UnicodeAttribute(default="CRISIS")  # every brand's state, listed by one query
    gsi3sk = UnicodeAttribute()
    version = VersionAttribute()

    worklist = WorklistIndex()


class ErasedItem(Item, discriminator="erased"):
    """A person erased on request, by identity (pk ERASED#<hash of platform and user id>): when
    the erasure was requested, and nothing else. Whatever they wrote before then and reaches us
    late (an SQS retry, a replayed delivery, the brand's echo of a reply to them) is dropped
    instead of starting a customer again; it is kept as long as such a message may still come."""

    erased_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


class ReplyItem(Item, discriminator="reply"):
    """A reply sent from socialcrm (models.reply.Reply), in its customer's partition (sk
    REPLY#<reply_id>), so that their export and erasure reach it with everything else of theirs.
    `record` is the reply as the API shows it plus where it goes; `state` and `sending_since` are
    what the sender's conditional writes test."""

    case_id = UnicodeAttribute()
    state = UnicodeAttribute()
    record = JSONAttribute()
    # Set while a sender is calling the platform: a redelivery that finds it set cannot know whether
    # the call reached the platform, so it never calls again (at most once).
    sending_since = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    version = VersionAttribute()


class ReplyRequestItem(Item, discriminator="reply_request"):
    """A client's reply id on a case (sk REPLYREQ#<case_id>#<client_reply_id>), written with the
    reply: the same request twice finds the first reply instead of making a second."""

    reply_id = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)


class ChannelStateItem(Item, discriminator="channel_state"):
    """Per channel account (pk CHANNEL#<platform>#<account>): `REAUTH`, the open episode of its
    credentials failing (one ops alert per episode, ended by the next send that works); `PACE#<to>`,
    when the next message to one recipient may go (Telegram's per-chat and WhatsApp's pair rate)."""

    since = UTCDateTimeAttribute(null=True)
    next_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class ViewingItem(Item, discriminator="viewing"):
    """Someone has a case open (pk VIEWING#<case_id>, sk their principal id) until `expires_at`,
    renewed by each poll of the case page. DynamoDB's TTL deletes it late (within days), so a
    reader ignores what has expired."""

    expires_at = TTLAttribute()


class AuditItem(Item, discriminator="audit"):
    """Who did what, to what, when (models.audit.AuditEntry), in the day's partition."""

    principal = UnicodeAttribute()
    role = UnicodeAttribute()
    action = UnicodeAttribute()
    subject = UnicodeAttribute()
    detail = JSONAttribute(null=True)
    at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


class NoteItem(Item, discriminator="note"):
    """A private note on a case (sk NOTE#<case_id>#<at>#<random>): for colleagues, never sent. In
    the customer's partition, so their export and erasure reach it with everything else."""

    case_id = UnicodeAttribute()
    text = UnicodeAttribute()
    by = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


class SessionItem(Item, discriminator="session"):
    """A console session (pk SESSION#<sha256 of the cookie's value>): the browser holds a random
    value and we keep only its hash, so reading the table never yields a working cookie. No token
    of Cognito's is kept: the role is asked of Cognito again by username every few minutes."""

    username = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    role = UnicodeAttribute()
    csrf = UnicodeAttribute()  # the per-session token every POST must carry
    created_at = UTCDateTimeAttribute()
    checked_at = UTCDateTimeAttribute()  # when the role was last confirmed with Cognito
    expires_at = TTLAttribute()


class SigninItem(Item, discriminator="signin"):
    """A managed-login attempt in flight (pk SIGNIN#<sha256 of its state>): the PKCE verifier and
    where to go after, used once by the callback and gone within minutes."""

    verifier = UnicodeAttribute()
    next_path = UnicodeAttribute()
    expires_at = TTLAttribute()


class SearchEntryItem(Item, discriminator="search_entry"):
    """A search index entry (pk SEARCH#<HMAC of kind and normalised value>, sk CUSTOMER#<id>): the
    value it stands for is not kept, only what kind of value matched (rules/search.py)."""

    customer_id = UnicodeAttribute()
    kind = UnicodeAttribute()


class SearchKeysItem(Item, discriminator="search_keys"):
    """The customer's own list of their search index entries (pk CUSTOMER#<id>, sk SEARCHKEYS), as
    `<kind>:<hash>`, so that erasure deletes the entries and export says which kinds are indexed;
    the processor compares with it to write only what is new."""

    entries = UnicodeSetAttribute(null=True)


class LinkItem(Item, discriminator="link"):
    """One half of a link between two customers (pk CUSTOMER#<id>, sk LINK#<other>); the other
    half mirrors it in the other's partition, both written and deleted in one transaction."""

    customer_id = UnicodeAttribute()
    other_id = UnicodeAttribute()
    linked_at = UTCDateTimeAttribute()
    linked_by = UnicodeAttribute()


class SuggestionItem(Item, discriminator="link_suggestion"):
    """A suggested link (pk CUSTOMER#<id>, sk SUGGEST#<other>), mirrored in the other's partition:
    when each kind of shared contact was last seen (the value never), and a dismissal."""

    customer_id = UnicodeAttribute()
    other_id = UnicodeAttribute()
    email_seen_at = UTCDateTimeAttribute(null=True)
    phone_seen_at = UTCDateTimeAttribute(null=True)
    dismissed_at = UTCDateTimeAttribute(null=True)
    dismissed_by = UnicodeAttribute(null=True)


class FigureItem(Item, discriminator="figures"):
    """Counters of one hour, channel and channel account (chalicelib/insight/counts.py names them):
    one shard of what was written (pk FIGURES#<day>#<shard>), or the rolled-up total of a day
    (FIGURES#DAY#<month>) or hour (FIGURES#HOUR#<day>). The counters are the item's own
    attributes, added to by name (store/figures.py), so they are not declared here."""

    expires_at = TTLAttribute(null=True)


class TopicItem(Item, discriminator="topics"):
    """The topics of an hour (pk TOPICS#<day>, sk H<hh>) or a day (pk TOPICS#DAY#<month>, sk <dd>):
    topic -> {n, s (by sentiment), l (by language), ex (references to example interactions)}."""

    topics = JSONAttribute(default=dict)
    counted_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class SegmentSizesItem(Item, discriminator="segment_sizes"):
    """A day's segments (pk SEGMENTS#<month>, sk <dd>): each one's size, the clusters found with
    their centres and descriptions, and the segments document's version."""

    sizes = JSONAttribute(default=dict)
    clusters = JSONAttribute(default=list)
    version = UnicodeAttribute(null=True)
    counted_at = UTCDateTimeAttribute(null=True)


MODELS: tuple[type[Item], ...] = (
    Item,
    CustomerItem,
    IdentityItem,
    CustomerIdentityItem,
    InteractionItem,
    PointerItem,
    CaseItem,
    AlertItem,
    AlertRefItem,
    CooldownItem,
    CrisisStateItem,
    ErasedItem,
    ReplyItem,
    ReplyRequestItem,
    ChannelStateItem,
    AuditItem,
    ViewingItem,
    SessionItem,
    SigninItem,
    SearchEntryItem,
    SearchKeysItem,
    LinkItem,
    SuggestionItem,
    FigureItem,
    TopicItem,
    SegmentSizesItem,
)


def bind(table_name: str) -> None:
    """Point every model at the stage's table (and drop connections made for another)."""
    for model in MODELS:
        model.Meta.table_name = table_name
        model._connection = None
