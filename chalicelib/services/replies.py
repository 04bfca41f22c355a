"""Answering a case on the platform the customer wrote on, and following the answer to its fate.

Three use cases over ports:
- `ReplyDesk.compose` (the route): validate, find what is answered, check the platform's window
  and limits, keep the reply `queued`, put its id on the outbound queue. Refusals say what can
  still go; nothing is sent from the route.
- `ReplySender.send` (the outbound queue's consumer): check the window again, take the reply for
  one call to the platform (never a second one whose first may have reached it), call it through
  its channel's sender, and record what the platform answered: sent with its id, failed with its
  code, class and words, or to be tried again after the platform's hint. A sent reply is queued
  for the processor as the brand's outbound interaction (with the reply's id and who sent it), so
  the case is responded by that person, and an echo of it is the same interaction, not a second.
- `ReplyStatuses.apply` (the processor): echoes, receipts and statuses move the reply forward.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.models.case import Case
from chalicelib.models.events import DomainEvent
from chalicelib.models.interaction import Author, Direction, Interaction, Kind, iso, parse_iso
from chalicelib.models.reply import (
    AnsweredMessage,
    ErrorClass,
    Reply,
    ReplyError,
    ReplyState,
    ReplyStatus,
    Target,
    Template,
    Visibility,
)
from chalicelib.observability import count, logger
from chalicelib.rules import replies as rules
from chalicelib.rules.catalogue import channel_needs_reauthorization
from chalicelib.rules.text_limits import length, limit

MAX_TEXT = 20_000  # before any platform's limit: a body no platform would take
CLIENT_REPLY_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_SEND_ATTEMPTS = 8  # platform calls for one reply that the platform asked to retry
PACING = {"telegram": timedelta(seconds=1), "whatsapp": timedelta(seconds=6)}
DM_PLATFORMS = frozenset({"messenger", "whatsapp", "telegram"})
REAUTHORIZATION = "Channel Needs Reauthorization"
# Longer than the sender function's timeout (60 s): a call begun longer ago than this has ended,
# answered or not; one begun more recently may still be in flight.
IN_FLIGHT = timedelta(seconds=90)


class InvalidReply(ValueError):
    """The request is malformed (400); the message says what is wrong, never quoting the text."""


class CaseNotFound(LookupError):
    pass


class ReplyRefused(Exception):
    """The platform would not take it (409): why, and what can still go instead."""

    def __init__(self, code: str, message: str, options: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.options = tuple(options)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "options": list(self.options)}


@dataclass(frozen=True)
class ReplyRequest:
    text: str
    client_reply_id: str | None = None
    visibility: Visibility | None = None
    template: Template | None = None


def parse_request(body: Any) -> ReplyRequest:
    if not isinstance(body, dict):
        raise InvalidReply("body: expected a JSON object")
    unknown = set(body) - {"text", "client_reply_id", "visibility", "template"}
    if unknown:
        raise InvalidReply(f"body: unknown fields {', '.join(sorted(unknown))}")
    template = _template(body.get("template"))
    if template is not None and body.get("text") not in (None, ""):
        # The customer gets the approved template only: a text beside it would show words they never got.
        raise InvalidReply("text: not with a template (the template's parameters are what is sent)")
    text = body.get("text", "" if template else None)
    if template is not None:
        text = template_text(template)
    if not isinstance(text, str) or (not text.strip() and template is None):
        raise InvalidReply("text: required, a non-empty string")
    if len(text) > MAX_TEXT:
        raise InvalidReply(f"text: at most {MAX_TEXT} characters")
    client = body.get("client_reply_id")
    if client is not None and (not isinstance(client, str) or not CLIENT_REPLY_ID.fullmatch(client)):
        raise InvalidReply("client_reply_id: 1-128 characters of A-Z a-z 0-9 . _ : -")
    visibility = body.get("visibility")
    if visibility is not None and visibility not in ("public", "private"):
        raise InvalidReply("visibility: public or private")
    return ReplyRequest(text, client, Visibility(visibility) if visibility else None, template)


def _template(value: Any) -> Template | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"name", "language", "parameters"}:
        raise InvalidReply("template: an object with name, language and parameters")
    name, language, parameters = value.get("name"), value.get("language"), value.get("parameters", [])
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,512}", name):
        raise InvalidReply("template.name: the approved template's name (a-z, 0-9, _)")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}(_[A-Z]{2})?", language):
        raise InvalidReply("template.language: a language code such as en_US or pt_BR")
    if not isinstance(parameters, list) or not all(isinstance(p, str) and p for p in parameters):
        raise InvalidReply("template.parameters: a list of non-empty strings")
    if len(parameters) > 20:
        raise InvalidReply("template.parameters: at most 20")
    return Template(name, language, tuple(parameters))


class CaseReader(Protocol):
    def get(self, case_id: str) -> Case | None: ...


class TargetReader(Protocol):
    def latest_inbound(self, case: Case) -> AnsweredMessage | None: ...

    def platforms(self, customer_id: str) -> list[str]: ...


class ReplyRepository(Protocol):
    def create(self, reply: Reply) -> tuple[Reply, bool]: ...

    def get(self, reply_id: str) -> Reply | None: ...

    def by_client_id(self, customer_id: str, case_id: str, client_reply_id: str) -> Reply | None: ...

    def of_customer(self, customer_id: str, case_id: str | None = None) -> list[Reply]: ...

    def begin_send(self, reply_id: str, now: datetime) -> tuple[Reply | None, bool]: ...

    def call_started_at(self, reply_id: str) -> datetime | None: ...

    def change(
        self, reply_id: str, change: Callable[[Reply], Reply | None], *, sending_done: bool = False
    ) -> Reply | None: ...

    def open_reauth_episode(self, platform: str, account: str, now: datetime) -> bool: ...

    def close_reauth_episode(self, platform: str, account: str) -> None: ...

    def pace(self, platform: str, account: str, recipient: str, spacing: timedelta, now: datetime) -> float: ...


class OutboundSink(Protocol):
    def enqueue(self, reply_id: str, delay_seconds: int = 0) -> None: ...


def target_for(message: AnsweredMessage, private: bool) -> Target:
    """Where the reply goes: a DM to the person for a message (and for a comment or tweet answered
    privately), a reply under the comment, tweet or review otherwise."""
    account = message.account_id or ""
    if message.platform == "telegram":
        # The chat the message was written in is where the bot answers (a private chat's id is the
        # person's); Telegram message ids are `<chat_id>:<message_id>`.
        # A button press (`callback:<query id>`) quotes nothing; its chat is its thread.
        if message.external_id.startswith("callback:"):
            return Target("message", account, message.thread_id or message.user_id, None, message.thread_id)
        chat = message.external_id.partition(":")[0] or message.user_id
        return Target("message", account, chat, message.external_id, message.thread_id)
    if message.kind == Kind.MESSAGE.value or message.platform in DM_PLATFORMS:
        return Target("message", account, message.user_id, message.external_id, message.thread_id)
    if message.platform == "x":
        if private:
            return Target("message", account, message.user_id, None, None)
        return Target("mention", account, message.user_id, message.external_id, message.thread_id)
    if message.platform == "trustpilot":
        return Target("review", account, message.user_id, message.external_id, message.thread_id)
    if message.platform in rules.COMMENTED:
        # Instagram takes public replies under a top-level comment only; a private reply names the
        # customer's own comment (`recipient.comment_id`), whichever it is.
        under_parent = message.platform == "instagram" and message.parent_id and not private
        answered = message.parent_id if under_parent and message.parent_id else message.external_id
        return Target("comment", account, message.user_id, answered, message.thread_id)
    return Target(message.kind, account, message.user_id, message.external_id, message.thread_id)


class ReplyDesk:
    def __init__(
        self,
        cases: CaseReader,
        targets: TargetReader,
        replies: ReplyRepository,
        outbound: OutboundSink,
        human_agent_accounts: frozenset[str] = frozenset(),
    ) -> None:
        self._cases = cases
        self._targets = targets
        self._replies = replies
        self._outbound = outbound
        self._human_agent = human_agent_accounts

    def options(self, case_id: str, now: datetime) -> dict[str, Any]:
        """What the composer shows before anyone types: the platform, its window, its limit."""
        case = self._case(case_id)
        message = self._targets.latest_inbound(case)
        if message is None:
            return {"platform": case.platform, "answerable": False, "window": None, "limit": None}
        target = target_for(message, False)
        window = self._window(message, target, False, False, now)
        return {
            "platform": message.platform,
            "answerable": not message.deleted,
            "window": window.to_dict(),
            "limit": limit(message.platform, target.kind, Visibility.PUBLIC.value),
        }

    def compose(
        self,
        case_id: str,
        request: ReplyRequest,
        by: str,
        now: datetime,
        created: Callable[[Reply], None] | None = None,
    ) -> tuple[Reply, bool]:
        """The reply, and whether it is new (False: the same client reply id came before). Raises
        CaseNotFound, ReplyRefused, QueueUnavailable. `created` is told of a new reply as soon as
        it is kept (the audit trail), before anything can fail on the way to the queue."""
        case = self._case(case_id)
        if request.client_reply_id:
            earlier = self._replies.by_client_id(case.customer_id, case.case_id, request.client_reply_id)
            if earlier is not None:
                self._requeue(earlier)
                return earlier, False
        message = self._targets.latest_inbound(case)
        if message is None:
            raise ReplyRefused("not_answerable", "the case has no message of the customer's to answer")
        if message.deleted:
            raise ReplyRefused("not_answerable", "the customer deleted the message this case answers")
        private = _private(message, request.visibility)
        target = target_for(message, private)
        window = self._window(message, target, private, request.template is not None, now)
        if not window.open:
            others = [f"channel:{p}" for p in self._targets.platforms(case.customer_id) if p != message.platform]
            code = window.refusal.value if window.refusal else "window_closed"
            raise ReplyRefused(code, window.message, (*window.options, *others))
        if request.template is None:
            seen = "private" if private else "public"
            most = limit(message.platform, target.kind, seen)
            size = length(message.platform, request.text, target.kind, seen)
            if most is not None and size > most:
                raise ReplyRefused(
                    "too_long",
                    f"{message.platform} takes at most {most} (counted as {message.platform} counts); this is {size}",
                    (f"max_length:{most}",),
                )
        if private and message.platform in rules.PRIVATE_REPLIES and target.kind == "comment":
            answered = [
                r
                for r in self._replies.of_customer(case.customer_id)
                if r.target.in_reply_to == target.in_reply_to
                and r.visibility is Visibility.PRIVATE
                and r.state is not ReplyState.FAILED
            ]
            if answered:
                raise ReplyRefused("not_answerable", "a comment takes one private reply, and it has one", ("public",))
        from chalicelib.store.replies import new_reply_id

        reply = Reply(
            reply_id=new_reply_id(case.customer_id),
            case_id=case.case_id,
            customer_id=case.customer_id,
            platform=message.platform,
            target=_private_target(target, message) if private and target.kind != "message" else target,
            visibility=Visibility.PRIVATE if private else Visibility.PUBLIC,
            text=request.text,
            by=by,
            created_at=now,
            client_reply_id=request.client_reply_id,
            template=request.template,
            tag=window.tag,
        )
        stored, new = self._replies.create(reply)
        if not new:
            self._requeue(stored)
            return stored, new
        if created is not None:
            created(stored)
        try:
            self._outbound.enqueue(stored.reply_id)
        except Exception:
            if not stored.client_reply_id:
                # Nobody can ask for it again: it would wait queued for good (and count as the
                # comment's one private reply). Failed, for the agent to send again.
                error = ReplyError("queue_unavailable", ErrorClass.RETRY, "the outbound queue was unavailable")
                self._replies.change(
                    stored.reply_id, lambda current: replace(current, state=ReplyState.FAILED, error=error)
                )
            raise
        return stored, new

    def _requeue(self, reply: Reply) -> None:
        """A repeated request for a reply queued and never tried puts it on the queue again (the
        first enqueue may have failed); the sender sends a reply once however often it is queued.
        One already tried waits on the queue for the platform's hint: a repeat must not cut it short."""
        if reply.state is ReplyState.QUEUED and reply.attempts == 0:
            self._outbound.enqueue(reply.reply_id)

    def _case(self, case_id: str) -> Case:
        case = self._cases.get(case_id)
        if case is None:
            raise CaseNotFound(f"no case {case_id}")
        return case

    def _window(
        self, message: AnsweredMessage, target: Target, private: bool, template: bool, now: datetime
    ) -> rules.Window:
        return window_for(message, target.kind, private, template, self._human_agent, now)


def window_for(
    message: AnsweredMessage,
    target_kind: str,
    private: bool,
    template: bool,
    human_agent: frozenset[str],
    now: datetime,
) -> rules.Window:
    """The platform's window for a reply to `message`, as the route asks and as the sender sends:
    a comment (answered publicly or by a private reply) by the comment's rules, else by the
    conversation's."""
    commented = target_kind in ("comment", "private_reply") or (private and message.kind != Kind.MESSAGE.value)
    return rules.window(
        message.platform,
        "comment" if commented else target_kind,
        private,
        message.occurred_at,
        now,
        human_agent=(message.account_id or "") in human_agent,
        template=template,
    )


def _private(message: AnsweredMessage, asked: Visibility | None) -> bool:
    if message.kind == Kind.MESSAGE.value or message.platform in DM_PLATFORMS:
        return True
    return asked is Visibility.PRIVATE


def _private_target(target: Target, message: AnsweredMessage) -> Target:
    """A private reply to a comment: a DM that names the comment (Meta's `recipient.comment_id`)."""
    if message.platform in rules.PRIVATE_REPLIES:
        return Target("private_reply", target.account_id, target.recipient_id, target.in_reply_to, target.thread_id)
    return target


# --- sending -------------------------------------------------------------------------------------


class Http(Protocol):
    def call(self, request: Any) -> Any: ...

    def token(self, issuer: Any, credentials: Any, base_url: str, account_id: str) -> str | None: ...

    def forget_token(self, base_url: str, account_id: str) -> None: ...


class InteractionSink(Protocol):
    def send(self, interactions: Sequence[Interaction]) -> int: ...


class EventSink(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> list[bool]: ...


@dataclass(frozen=True)
class SendResult:
    """None: done with (sent, failed or unknown); seconds: bring it back after that long."""

    retry_after: int | None = None
    state: ReplyState | None = None


class ReplySender:
    def __init__(
        self,
        replies: ReplyRepository,
        targets: TargetReader,
        cases: CaseReader,
        credentials: Callable[[], Mapping[str, object]],
        http: Http,
        interactions: InteractionSink,
        events: EventSink,
        base_urls: Mapping[str, str],
        human_agent_accounts: frozenset[str] = frozenset(),
    ) -> None:
        self._replies = replies
        self._targets = targets
        self._cases = cases
        self._credentials = credentials
        self._http = http
        self._interactions = interactions
        self._events = events
        self._base_urls = base_urls
        self._human_agent = human_agent_accounts

    def send(self, reply_id: str, now: datetime) -> SendResult:
        from chalicelib.adapters.platforms import NoAnswer

        reply, mine = self._replies.begin_send(reply_id, now)
        if reply is None:
            return SendResult()  # erased, or never was
        if not mine:
            return self._not_mine(reply, now)
        waiting = not_before(reply)
        if waiting is not None and waiting > now:
            # The platform asked to wait longer than the queue can delay a message (X's reset
            # hours away): back on the queue, without a call and without counting an attempt.
            self._replies.change(reply_id, lambda current: None, sending_done=True)
            return SendResult(retry_after=int((waiting - now).total_seconds()) + 1, state=ReplyState.QUEUED)
        try:
            prepared = self._prepare(reply, now)
        except NoAnswer as exc:  # the token endpoint: nothing was sent to the customer
            reply = replace(reply, attempts=reply.attempts + 1)
            return self._retry(reply, ReplyError("no_connection", ErrorClass.RETRY, str(exc)), None, now)
        except BaseException:
            # A failure of our own before any call (the secrets, DynamoDB): the send is ended, so
            # that SQS's redelivery sends it, instead of taking it for a call that may have gone.
            self._replies.change(reply_id, lambda current: None, sending_done=True)
            raise
        if isinstance(prepared, SendResult):
            return prepared
        reply, sender, credentials, base, request = prepared
        try:
            answer = self._http.call(request)
            if answer.status == 401 and hasattr(sender, "token_request"):
                self._http.forget_token(base, reply.channel_account)  # a cached token expired early
                retried = self._request(sender, reply, credentials, base)
                if retried is not None:
                    reply = replace(reply, attempts=reply.attempts + 1)
                    answer = self._http.call(retried)
        except NoAnswer as exc:
            reply = replace(reply, attempts=reply.attempts + 1)
            if exc.reached:
                return self._unknown(reply, str(exc), now)
            return self._retry(reply, ReplyError("no_connection", ErrorClass.RETRY, str(exc)), None, now)
        outcome = sender.outcome(answer)
        reply = replace(reply, attempts=reply.attempts + 1)
        if outcome.error is None and reply.platform == "trustpilot" and outcome.platform_message_id:
            # Trustpilot's reply has no id of its own (one per review, a new one replaces it):
            # each of ours is its own interaction, or a second answer would pass for the first.
            outcome = replace(outcome, platform_message_id=f"{outcome.platform_message_id}:{reply.reply_id}")
        if (
            outcome.error is not None
            and outcome.error.error_class is ErrorClass.RETRY
            and may_have_landed(reply.platform, answer)
        ):
            # A gateway error (no word from the platform itself) often comes after the platform took
            # the message: sending again could reach the customer twice.
            return self._unknown(reply, f"the platform's gateway answered {answer.status}", now)
        if outcome.error is None:
            return self._sent(reply, outcome.platform_message_id, now)
        if outcome.error.error_class is ErrorClass.RETRY:
            return self._retry(reply, outcome.error, outcome.retry_after, now)
        if outcome.error.error_class is ErrorClass.REAUTH:
            return self._reauth(reply, outcome.error, now)
        return self._fail(reply, outcome.error, now)

    def _prepare(self, reply: Reply, now: datetime) -> SendResult | tuple[Reply, Any, Any, str, Any]:
        """Everything before the call: the window again (and with it the tag: HUMAN_AGENT only
        while the reply needs it, as it is sent), pacing, credentials, the request. A SendResult
        when the reply does not go now."""
        from chalicelib.channels.outbound import Credentials, MissingCredentials, Unsendable
        from chalicelib.channels.senders import sender_for

        window, closed = self._window_now(reply, now)
        if closed is not None:
            return self._fail(reply, ReplyError("window_closed", ErrorClass.PERMANENT, closed), now)
        if window is not None:
            reply = replace(reply, tag=window.tag)
        spacing = PACING.get(reply.platform)
        if spacing is not None:
            wait = self._replies.pace(reply.platform, reply.channel_account, reply.target.recipient_id, spacing, now)
            if wait > 0:
                self._replies.change(reply.reply_id, lambda current: None, sending_done=True)
                return SendResult(retry_after=max(1, int(wait + 0.999)), state=ReplyState.QUEUED)
        sender = sender_for(reply.platform)
        base = self._base_urls.get(reply.platform, self._base_urls.get("generic", ""))
        try:
            credentials = Credentials(self._credentials())
            request = self._request(sender, reply, credentials, base)
        except MissingCredentials as exc:
            logger.error("no credentials for a channel account", extra={"platform": reply.platform})
            return self._fail(reply, ReplyError("no_credentials", ErrorClass.PERMANENT, str(exc)), now)
        except Unsendable as exc:
            return self._fail(reply, ReplyError("unsendable", ErrorClass.PERMANENT, str(exc)), now)
        if request is None:
            return self._reauth(reply, ReplyError("token", ErrorClass.REAUTH, "the token endpoint refused"), now)
        return reply, sender, credentials, base, request

    def _request(self, sender: Any, reply: Reply, credentials: Any, base: str) -> Any:
        """The platform's request; a Trustpilot-like sender first gets its OAuth token (cached).
        None when the token endpoint refused."""
        if hasattr(sender, "token_request"):
            token = self._http.token(sender, credentials, base, reply.channel_account)
            if token is None:
                return None
            from chalicelib.channels.outbound import Credentials

            credentials = Credentials({**credentials.document, "_trustpilot_access_token": token})
        return sender.request(reply, credentials, base)

    def _window_now(self, reply: Reply, now: datetime) -> tuple[rules.Window | None, str | None]:
        """The window as the reply goes, and why it may not (None: it may)."""
        case = self._cases.get(reply.case_id)
        message = self._targets.latest_inbound(case) if case is not None else None
        if message is None:
            # The case or what it answers is gone (an erasure under way, retention): nothing to
            # answer, and no window to check it against.
            return None, "the case or the message it answers no longer exists"
        if message.deleted and message.external_id == reply.target.in_reply_to:
            return None, "the customer deleted the message this reply answers"
        private = reply.visibility is Visibility.PRIVATE
        window = window_for(message, reply.target.kind, private, reply.template is not None, self._human_agent, now)
        if window.open:
            return window, None
        return window, window.message or "the platform's window has closed"

    def _not_mine(self, reply: Reply, now: datetime) -> SendResult:
        if reply.state is ReplyState.QUEUED:
            started = self._replies.call_started_at(reply.reply_id)
            if started is not None and now - started < IN_FLIGHT:
                # Another delivery of it is calling the platform right now (a double enqueue):
                # look again once that call must have ended, rather than guess at its outcome.
                wait = (IN_FLIGHT - (now - started)).total_seconds()
                return SendResult(retry_after=max(1, int(wait + 0.999)), state=ReplyState.QUEUED)
            if started is None:
                # The other delivery ended its turn without a call (a pacing wait, a 429) between
                # our two reads: it is queued again; look again shortly.
                return SendResult(retry_after=1, state=ReplyState.QUEUED)
            # An earlier attempt began a call and nobody recorded its end (the function died, or
            # timed out): the platform may have it. Never call again; an echo or a status that
            # names it moves it on.
            return self._unknown(reply, "an earlier attempt ended without an answer", now)
        if reply.state in (ReplyState.SENT, ReplyState.DELIVERED, ReplyState.READ):
            self._record_sent(reply)  # the processor dedupes: this only repairs a lost enqueue
        return SendResult(state=reply.state)

    def _sent(self, reply: Reply, platform_message_id: str | None, now: datetime) -> SendResult:
        def sent(current: Reply) -> Reply:
            moved = rules.advance(current.state, ReplyState.SENT)
            return replace(
                current,
                state=ReplyState.SENT if moved else current.state,
                platform_message_id=current.platform_message_id or platform_message_id,
                sent_at=current.sent_at or now,
                attempts=reply.attempts,
                error=None if moved else current.error,
                history=(*current.history, {"at": iso(now), "state": "sent"}),
            )

        written = self._replies.change(reply.reply_id, sent, sending_done=True)
        self._replies.close_reauth_episode(reply.platform, reply.channel_account)
        count("RepliesSent")
        count("PlatformCalls", reply.attempts)
        if written is not None:
            self._record_sent(written)
        return SendResult(state=ReplyState.SENT)

    def _record_sent(self, reply: Reply) -> None:
        """Queue the sent reply as the brand's outbound interaction: the processor stores it in the
        customer's timeline and marks the case responded by the person who sent it. Keyed by the
        platform's message id, so the platform's echo of it is the same interaction."""
        if reply.platform_message_id is None:
            return  # a 2xx without an id: the echo, if any, will carry it
        self._interactions.send([outbound_interaction(reply)])

    def _unknown(self, reply: Reply, reason: str, now: datetime) -> SendResult:
        def unknown(current: Reply) -> Reply | None:
            if current.state is not ReplyState.QUEUED:
                return None
            return replace(
                current,
                state=ReplyState.UNKNOWN,
                attempts=reply.attempts + 1 if current.attempts == reply.attempts else current.attempts,
                error=ReplyError("unknown", ErrorClass.RETRY, reason),
                history=(*current.history, {"at": iso(now), "state": "unknown"}),
            )

        self._replies.change(reply.reply_id, unknown, sending_done=True)
        count("RepliesUnknown")
        logger.warning("reply outcome unknown: not sent again", extra={"platform": reply.platform})
        return SendResult(state=ReplyState.UNKNOWN)

    def _retry(self, reply: Reply, error: ReplyError, hinted: float | None, now: datetime) -> SendResult:
        if reply.attempts >= MAX_SEND_ATTEMPTS:
            return self._fail(reply, error, now)
        delay = rules.retry_delay(reply.attempts, hinted)

        until = now + timedelta(seconds=max(delay, int(hinted or 0)))

        def waiting(current: Reply) -> Reply:
            entry = {"at": iso(now), "state": "retry", "code": error.code, "in": delay, "until": iso(until)}
            return replace(current, attempts=reply.attempts, error=error, history=(*current.history, entry))

        self._replies.change(reply.reply_id, waiting, sending_done=True)
        count("RepliesRetried")
        logger.info("reply to be tried again", extra={"platform": reply.platform, "code": error.code, "in": delay})
        return SendResult(retry_after=delay, state=ReplyState.QUEUED)

    def _reauth(self, reply: Reply, error: ReplyError, now: datetime) -> SendResult:
        result = self._fail(reply, error, now)
        if self._replies.open_reauth_episode(reply.platform, reply.channel_account, now):
            event = channel_needs_reauthorization(reply.platform, reply.channel_account, error.code, error.message, now)
            if not all(self._events.publish([event])):
                logger.error("re-authorisation alert not published", extra={"platform": reply.platform})
        return result

    def _fail(self, reply: Reply, error: ReplyError, now: datetime) -> SendResult:
        def failed(current: Reply) -> Reply | None:
            if not rules.advance(current.state, ReplyState.FAILED):
                return None
            return replace(
                current,
                state=ReplyState.FAILED,
                attempts=reply.attempts,
                error=error,
                history=(*current.history, {"at": iso(now), "state": "failed", "code": error.code}),
            )

        self._replies.change(reply.reply_id, failed, sending_done=True)
        count("RepliesFailed")
        logger.warning(
            "reply failed", extra={"platform": reply.platform, "code": error.code, "class": error.error_class.value}
        )
        return SendResult(state=ReplyState.FAILED)


def same_channel(status_platform: str, reply_platform: str) -> bool:
    """Whether a status reported on one platform can be about a reply sent on another: the same
    platform, or a Facebook comment's private reply, which Meta delivers (and echoes) on Messenger."""
    return status_platform == reply_platform or (status_platform, reply_platform) == ("messenger", "facebook")


def template_text(template: Template) -> str:
    """What a template reply shows in place of a text: which template, with its parameters."""
    parameters = ", ".join(template.parameters)
    return f"[template {template.name} ({template.language}){': ' + parameters if parameters else ''}]"


META = frozenset({"messenger", "instagram", "facebook", "whatsapp"})


def may_have_landed(platform: str, answer: Any) -> bool:
    """A 5xx that may come after the platform took the message, so that sending again could reach
    the customer twice. Only Meta's own error object (`error`, with its code: the Graph API
    refused it) and Telegram's `ok: false` say it was not taken; a gateway's page, an empty body,
    or a 5xx from X, Trustpilot or a generic source (whose second post would be a duplicate, which
    X refuses with a 403 as if the first had failed) may have landed."""
    if answer.status < 500:
        return False
    from chalicelib.channels.outbound import json_object

    body = json_object(answer.body) or {}
    if platform in META:
        return "error" not in body
    if platform == "telegram":
        return body.get("ok") is not False
    return True


def not_before(reply: Reply) -> datetime | None:
    """When the platform said the reply may be tried again (its latest retry hint)."""
    for entry in reversed(reply.history):
        if entry.get("state") == "retry" and entry.get("until"):
            return parse_iso(str(entry["until"]))
        if entry.get("state") in ("sent", "failed", "unknown"):
            return None
    return None


def outbound_interaction(reply: Reply) -> Interaction:
    """The reply as the brand's outbound interaction, as the platform's echo of it would be."""
    target = reply.target
    is_message = target.kind in ("message", "private_reply")
    return Interaction(
        platform=reply.platform,
        kind=Kind.MESSAGE if is_message else Kind.REPLY,
        external_id=reply.platform_message_id or reply.reply_id,
        author=Author(user_id=target.account_id),
        text=reply.text,
        occurred_at=reply.sent_at or reply.created_at,
        received_at=reply.sent_at or reply.created_at,
        account_id=target.account_id or None,
        thread_id=target.thread_id,
        parent_id=None if is_message else target.in_reply_to,
        direction=Direction.OUTBOUND,
        recipient_id=target.recipient_id,
        reply_id=reply.reply_id,
        sent_by=reply.by,
    )


# --- what the platforms say of what was sent ------------------------------------------------------


class CustomerFinder(Protocol):
    def customer_for(self, platform: str, user_id: str) -> str | None: ...


class ReplyStatuses:
    def __init__(self, replies: ReplyRepository, customers: CustomerFinder) -> None:
        self._replies = replies
        self._customers = customers

    def apply(self, status: ReplyStatus) -> int:
        """Move the replies the status names forward (out of order: only forward); the number
        moved. A status of a message socialcrm did not send (typed in the platform's inbox) names
        no reply and changes nothing."""
        moved = 0
        for reply_id in self._named(status):
            if self._replies.change(reply_id, lambda reply: advanced(reply, status)) is not None:
                moved += 1
        return moved

    def reply(self, reply_id: str) -> Reply | None:
        """The reply an echo names (it carries the reply's id, not its author or its words)."""
        return self._replies.get(reply_id)

    def sent_as(self, customer_id: str, platform: str, platform_message_id: str) -> Reply | None:
        """The customer's reply the platform knows by this id (an echo that names no reply)."""
        for reply in self._replies.of_customer(customer_id):
            if reply.platform_message_id == platform_message_id and same_channel(platform, reply.platform):
                return reply
        return None

    def _named(self, status: ReplyStatus) -> list[str]:
        if status.reply_id:
            return [status.reply_id]
        if not status.recipient_id:
            return []
        customer = self._customers.customer_for(status.platform, status.recipient_id)
        if customer is None:
            return []
        found = []
        for reply in self._replies.of_customer(customer):
            if not same_channel(status.platform, reply.platform):
                continue
            if (status.platform_message_id is not None and reply.platform_message_id == status.platform_message_id) or (
                status.watermark is not None
                and reply.sent_at is not None
                and reply.sent_at <= status.watermark
                and (status.account_id is None or reply.channel_account == status.account_id)
            ):
                found.append(reply.reply_id)
        return found


def advanced(reply: Reply, status: ReplyStatus) -> Reply | None:
    """The reply moved forward by the status, or None when it says nothing new, or when it cannot
    be about this reply: another platform, or a message to someone else (metadata is whatever the
    sending app set; another app on the same page could set ours)."""
    if not same_channel(status.platform, reply.platform):
        return None
    # A private reply to a Facebook comment comes back on Messenger, to the person's PSID (not the
    # id their comment carried): named by its metadata, its recipient cannot be compared.
    private_reply = reply.target.kind == "private_reply" and status.platform != reply.platform
    if status.recipient_id is not None and status.recipient_id != reply.target.recipient_id and not private_reply:
        return None
    if not rules.advance(reply.state, status.state):
        if status.platform_message_id and reply.platform_message_id is None:
            return replace(reply, platform_message_id=status.platform_message_id)
        return None
    at = status.at
    changed = replace(
        reply,
        state=status.state,
        platform_message_id=reply.platform_message_id or status.platform_message_id,
        sent_at=reply.sent_at or at,
        history=(*reply.history, {"at": iso(at), "state": status.state.value}),
    )
    if status.state is ReplyState.DELIVERED:
        changed = replace(changed, delivered_at=reply.delivered_at or at, error=None)
    elif status.state is ReplyState.READ:
        changed = replace(changed, delivered_at=reply.delivered_at or at, read_at=reply.read_at or at, error=None)
    elif status.state is ReplyState.FAILED:
        changed = replace(changed, error=status.error or ReplyError("failed", ErrorClass.PERMANENT, "failed"))
    elif status.state is ReplyState.SENT:
        changed = replace(changed, error=None)
    return changed
