"""The sandbox itself, without HTTP: requests in, answers out, and what it received.

Each send endpoint answers as its platform documents it: the success body (with ids of the
platform's own form), or the documented error when the request is wrong (a token that is not the
channel account's, an unknown recipient, a text over the platform's limit). Tokens are checked
against the secrets document the stack stores (`meta_page_tokens`, `whatsapp_tokens`,
`telegram_bot_token`, `x_user_credentials`, `trustpilot_clients`), so a sender that picks the wrong
account's credentials fails here as it would on the platform.

Every send is recorded, refused ones too (with the status answered): `GET /messages` lists the
accepted ones, `?all=true` every call, which is what a benchmark counts as platform calls per
reply. Faults (`POST /faults`) make the next sends to a platform fail with its documented error,
before anything else is checked, as a platform's outage or rate limit would.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

from tools.sandbox import callbacks as cb
from tools.sandbox import errors, page, xauth
from tools.sandbox.errors import Answer, json_answer

log = logging.getLogger("local.sandbox")

# Text limits, as each platform counts them.
MESSENGER_TEXT = 2000  # characters
INSTAGRAM_TEXT_BYTES = 1000  # UTF-8 bytes
FACEBOOK_COMMENT = 8000  # characters
INSTAGRAM_COMMENT = 2200  # characters
WHATSAPP_TEXT = 4096  # characters
TELEGRAM_TEXT = 4096  # characters (after entity parsing; no parse_mode is applied here)
X_DM_TEXT = 10000  # characters
OPAQUE_LIMIT = 512  # WhatsApp's biz_opaque_callback_data
METADATA_LIMIT = 1000  # Messenger's message.metadata
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
MESSAGE_TAGS = ("HUMAN_AGENT", "ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "CUSTOMER_FEEDBACK")
TRUSTPILOT_EXPIRES_IN = "359999"
MAX_FAULT_COUNT = 10_000

# The platform names socialcrm uses, and the error family each answers in. A generic source is
# named by itself and answers in the generic family; `meta` in a fault means all three Graph ones.
FAMILIES = {
    "messenger": errors.META,
    "instagram": errors.META,
    "facebook": errors.META,
    "whatsapp": errors.WHATSAPP,
    "telegram": errors.TELEGRAM,
    "x": errors.X,
    "trustpilot": errors.TRUSTPILOT,
}
_FAULT_GROUPS = {"meta": ("messenger", "instagram", "facebook")}
_SOURCE = re.compile(r"[a-z][a-z0-9_-]{1,31}")
_PHONE = re.compile(r"\+?[0-9]{6,15}")
_CHAT = re.compile(r"-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31}")
_GRAPH = r"/graph/v[0-9]+\.[0-9]+"


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names in lower case
    body: bytes = b""
    host: str = "127.0.0.1"

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass(frozen=True)
class Received:
    """One call the sandbox received: `kind` is `send` (a message, comment, tweet or review reply)
    or `token` (Trustpilot's token endpoint); `status` what it answered."""

    platform: str
    endpoint: str
    recipient: str
    text: str
    platform_message_id: str | None
    received_at: str
    status: int
    kind: str = "send"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Fault:
    platform: str
    status: int
    count: int
    body: Any = None
    retry_after: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class _Send:
    """What one send endpoint needs from the common path: who it is for, what it says, how to check
    it, and how to accept it (the answer, the platform's id for the message, the callbacks)."""

    platform: str
    endpoint: str
    recipient: str
    text: str
    check: Callable[[], Answer | None]
    accept: Callable[[], tuple[Answer, str | None, list[cb.Callback]]]


Handler = Callable[[Request, "re.Match[str]"], Answer]


class Sandbox:
    def __init__(self, secrets_document: Mapping[str, Any], dispatcher: cb.Dispatcher | None = None) -> None:
        self._secrets = secrets_document
        self._dispatcher = dispatcher
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._faults: list[Fault] = []
        self._trustpilot_tokens: dict[str, str] = {}  # issued token -> business unit id
        self._private_replies: set[str] = set()  # comment ids answered privately (once each)
        self._telegram_ids: dict[str, int] = {}  # chat id -> last message id
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/"), self._page),
            ("GET", re.compile(r"/messages"), self._list),
            ("DELETE", re.compile(r"/messages"), self._clear),
            ("GET", re.compile(r"/faults"), self._list_faults),
            ("POST", re.compile(r"/faults"), self._add_fault),
            ("DELETE", re.compile(r"/faults"), self._clear_faults),
            ("POST", re.compile(_GRAPH + r"/(?P<id>[^/]+)/messages"), self._graph_messages),
            ("POST", re.compile(_GRAPH + r"/(?P<id>[^/]+)/comments"), self._facebook_comment),
            ("POST", re.compile(_GRAPH + r"/(?P<id>[^/]+)/replies"), self._instagram_comment),
            ("GET", re.compile(_GRAPH + r"/(?P<id>[^/]+)"), self._graph_lookup),
            ("POST", re.compile(r"/telegram/bot(?P<token>[^/]*)/(?P<method>[A-Za-z]+)"), self._telegram),
            ("POST", re.compile(r"/x/2/dm_conversations/with/(?P<id>[^/]+)/messages"), self._x_dm),
            ("POST", re.compile(r"/x/2/tweets"), self._x_tweet),
            (
                "POST",
                re.compile(r"/trustpilot/v1/oauth/oauth-business-users-for-applications/accesstoken"),
                self._trustpilot_token,
            ),
            ("POST", re.compile(r"/trustpilot/v1/private/reviews/(?P<id>[^/]+)/reply"), self._trustpilot_reply),
            ("POST", re.compile(r"/generic/(?P<source>[^/]+)"), self._generic),
        ]

    # --- the HTTP side's entry point, and the records ------------------------------------------

    def handle(self, request: Request) -> Answer:
        allowed = []
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method == request.method:
                return handler(request, match)
            allowed.append(method)
        if allowed:
            return json_answer(405, {"error": "method not allowed"}, {"Allow": ", ".join(allowed)})
        return json_answer(404, {"error": "not an endpoint of the platform sandbox (see GET /)"})

    def received(self, platform: str | None = None, everything: bool = False) -> list[Received]:
        """Newest last: the accepted sends, or with `everything` every call, refused ones too."""
        with self._lock:
            records = list(self._received)
        return [
            record
            for record in records
            if (platform is None or record.platform == platform)
            and (everything or (record.kind == "send" and record.status < 300))
        ]

    def faults(self) -> list[Fault]:
        with self._lock:
            return [Fault(**asdict(fault)) for fault in self._faults]

    def _record(self, record: Received) -> None:
        with self._lock:
            self._received.append(record)

    # --- the sandbox's own endpoints -----------------------------------------------------------

    def _page(self, request: Request, match: re.Match[str]) -> Answer:
        everything = _flag(request.query.get("all"))
        records = self.received(request.query.get("platform") or None, everything)
        body = page.render(records, self.faults(), everything).encode("utf-8")
        return Answer(200, body, {"Cache-Control": "no-store"}, "text/html; charset=utf-8")

    def _list(self, request: Request, match: re.Match[str]) -> Answer:
        records = self.received(request.query.get("platform") or None, _flag(request.query.get("all")))
        return json_answer(200, [record.to_dict() for record in records])

    def _clear(self, request: Request, match: re.Match[str]) -> Answer:
        with self._lock:
            self._received.clear()
            self._private_replies.clear()
        return Answer(204)

    def _list_faults(self, request: Request, match: re.Match[str]) -> Answer:
        return json_answer(200, [fault.to_dict() for fault in self.faults()])

    def _clear_faults(self, request: Request, match: re.Match[str]) -> Answer:
        with self._lock:
            self._faults.clear()
        return Answer(204)

    def _add_fault(self, request: Request, match: re.Match[str]) -> Answer:
        document = _json_object(request.body)
        if document is None:
            return json_answer(400, {"error": "expected a JSON object"})
        platform, status = document.get("platform"), document.get("status")
        count, retry_after = document.get("count", 1), document.get("retry_after")
        problems = []
        if not isinstance(platform, str) or not (
            platform in FAMILIES or platform in _FAULT_GROUPS or platform == "generic" or _SOURCE.fullmatch(platform)
        ):
            problems.append("platform: one of " + ", ".join([*FAMILIES, "meta", "generic"]) + " or a generic source")
        if not _integer(status) or not 400 <= status <= 599:
            problems.append("status: an HTTP error status, 400 to 599")
        if not _integer(count) or not 1 <= count <= MAX_FAULT_COUNT:
            problems.append(f"count: 1 to {MAX_FAULT_COUNT}")
        if retry_after is not None and (not _integer(retry_after) or retry_after < 0):
            problems.append("retry_after: seconds, a whole number")
        if problems or not isinstance(platform, str) or not _integer(status) or not _integer(count):
            return json_answer(400, {"error": "; ".join(problems)})
        fault = Fault(platform, status, count, document.get("body"), retry_after)
        with self._lock:
            self._faults.append(fault)
        log.info("fault: the next %d send(s) to %s answer %d", fault.count, fault.platform, fault.status)
        return json_answer(201, fault.to_dict())

    def _take_fault(self, platform: str) -> Fault | None:
        """The first pending fault for this platform, with one use consumed."""
        with self._lock:
            for fault in self._faults:
                if (
                    fault.platform == platform
                    or platform in _FAULT_GROUPS.get(fault.platform, ())
                    or (fault.platform == "generic" and platform not in FAMILIES)
                ):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return Fault(**asdict(fault))
        return None

    # --- the path every send takes -------------------------------------------------------------

    def _send(self, send: _Send) -> Answer:
        family = FAMILIES.get(send.platform, errors.GENERIC)
        message_id: str | None = None
        callbacks: list[cb.Callback] = []
        fault = self._take_fault(send.platform)
        if fault is not None:
            answer = errors.for_fault(family, fault.status, fault.retry_after, fault.body)
        else:
            refusal = send.check()
            if refusal is not None:
                answer = refusal
            else:
                answer, message_id, callbacks = send.accept()
        self._record(
            Received(send.platform, send.endpoint, send.recipient, send.text, message_id, _now(), answer.status)
        )
        if callbacks and self._dispatcher is not None:
            self._dispatcher.schedule(callbacks)
        log.info("%s %s -> %d%s", send.platform, send.endpoint, answer.status, " (fault)" if fault is not None else "")
        return answer

    # --- Meta: Messenger, Instagram, WhatsApp, comments ----------------------------------------

    def _graph_messages(self, request: Request, match: re.Match[str]) -> Answer:
        account = _unquote(match["id"])
        document = _params(request)
        if document.get("messaging_product") == "whatsapp" or account in self._table("whatsapp_tokens"):
            return self._whatsapp(request, account, document)
        instagram = is_instagram_account(account)
        recipient = _obj(document.get("recipient"))
        comment = _text(recipient.get("comment_id"))
        customer = comment or _text(recipient.get("id"))
        message = _obj(document.get("message"))
        text = _text(message.get("text"))
        metadata = message.get("metadata")
        # A private reply to a comment answers on the comment's platform; a DM on the account's.
        platform = "instagram" if instagram else "facebook" if comment else "messenger"
        endpoint = "POST /{ig-id}/messages" if instagram else "POST /{page-id}/messages"

        def check() -> Answer | None:
            refusal = self._graph_token(request, document, "meta_page_tokens", account)
            if refusal is not None:
                return refusal
            if not customer:
                return errors.meta_invalid("The parameter recipient is required")
            if not comment and not customer.isdigit():
                return errors.meta_invalid("No matching user found", subcode=2018001)
            if not comment:
                kind = document.get("messaging_type")
                if kind not in MESSAGING_TYPES:
                    return errors.meta_invalid("Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
                if kind == "MESSAGE_TAG" and document.get("tag") not in MESSAGE_TAGS:
                    return errors.meta_invalid("Param tag must be one of {" + ", ".join(MESSAGE_TAGS) + "}")
            if not text:
                return errors.meta_invalid("The parameter message[text] is required")
            if instagram and len(text.encode("utf-8")) > INSTAGRAM_TEXT_BYTES:
                return errors.meta_invalid(
                    f"Length of param message[text] must be less than {INSTAGRAM_TEXT_BYTES} bytes"
                )
            if not instagram and len(text) > MESSENGER_TEXT:
                return errors.meta_invalid(
                    f"Length of param message[text] must be less than or equal to {MESSENGER_TEXT}"
                )
            if metadata is not None and (not isinstance(metadata, str) or len(metadata) > METADATA_LIMIT):
                return errors.meta_invalid(
                    f"Param message[metadata] must be a string of at most {METADATA_LIMIT} characters"
                )
            if comment:
                with self._lock:
                    if comment in self._private_replies:
                        return errors.graph_error(400, 10900, "Activity already replied to")
            return None

        def accept() -> tuple[Answer, str | None, list[cb.Callback]]:
            if comment:
                with self._lock:
                    self._private_replies.add(comment)
            person = scoped_id(comment) if comment else customer
            mid = instagram_mid(account) if instagram else "m_" + secrets.token_urlsafe(48)
            answer = json_answer(200, {"recipient_id": person, "message_id": mid})
            note = metadata if isinstance(metadata, str) else None
            return answer, mid, cb.meta_echo_and_receipts(platform, account, person, mid, text, note)

        return self._send(_Send(platform, endpoint, customer, text, check, accept))

    def _whatsapp(self, request: Request, number: str, document: dict[str, Any]) -> Answer:
        to, user = _text(document.get("to")), _text(document.get("recipient"))
        kind = document.get("type", "text")
        opaque = document.get("biz_opaque_callback_data")
        template = _obj(document.get("template"))
        body = _text(_obj(document.get("text")).get("body"))
        text = body if kind == "text" else _describe_template(template) if kind == "template" else f"[{kind}]"

        def check() -> Answer | None:
            refusal = self._graph_token(request, document, "whatsapp_tokens", number)
            if refusal is not None:
                return refusal
            if document.get("messaging_product") != "whatsapp":
                return errors.whatsapp_invalid("The parameter messaging_product is required.")
            if not to and not user:
                return errors.whatsapp_invalid("The parameter to is required.")
            if kind == "text":
                if not body:
                    return errors.whatsapp_invalid("The parameter text['body'] is required.")
                if len(body) > WHATSAPP_TEXT:
                    return errors.whatsapp_invalid(
                        f"Param text['body'] must be at most {WHATSAPP_TEXT} characters long."
                    )
            elif kind == "template":
                if not _text(template.get("name")) or not _text(_obj(template.get("language")).get("code")):
                    return errors.whatsapp_invalid(
                        "The parameters template['name'] and template['language']['code'] are required."
                    )
            else:
                return errors.whatsapp_invalid(f"The sandbox takes text and template messages, not {kind!r}.")
            if opaque is not None and (not isinstance(opaque, str) or len(opaque) > OPAQUE_LIMIT):
                return errors.whatsapp_invalid(
                    f"Param biz_opaque_callback_data must be at most {OPAQUE_LIMIT} characters long."
                )
            return None

        def accept() -> tuple[Answer, str | None, list[cb.Callback]]:
            wamid = "wamid." + base64.b64encode(secrets.token_bytes(33)).decode("ascii")
            sent: dict[str, Any] = {"id": wamid}
            if kind == "template":
                sent["message_status"] = "accepted"
            # A phone number comes back as its wa_id; a business-scoped id as itself.
            contact = {"input": to, "wa_id": to.lstrip("+")} if to else {"input": user, "user_id": user}
            answer = json_answer(200, {"messaging_product": "whatsapp", "contacts": [contact], "messages": [sent]})
            if to and not _PHONE.fullmatch(to):
                # A business-scoped id in `to` is accepted and then silently dropped (second-hand
                # report, REPLIES.md): no status ever comes, which is what a sender must survive.
                return answer, wamid, []
            note = opaque if isinstance(opaque, str) else None
            customer = to.lstrip("+") if to else user
            statuses = cb.whatsapp_statuses(number, wamid, customer, not to, note, template=kind == "template")
            return answer, wamid, statuses

        return self._send(_Send("whatsapp", "POST /{phone-number-id}/messages", to or user, text, check, accept))

    def _facebook_comment(self, request: Request, match: re.Match[str]) -> Answer:
        return self._comment(request, _unquote(match["id"]), "facebook")

    def _instagram_comment(self, request: Request, match: re.Match[str]) -> Answer:
        return self._comment(request, _unquote(match["id"]), "instagram")

    def _comment(self, request: Request, comment: str, platform: str) -> Answer:
        """A public reply to a comment: Facebook's `/{comment-id}/comments`, Instagram's
        `/{ig-comment-id}/replies`; either Page's (or account's) token may post it."""
        document = _params(request)
        text = _text(document.get("message"))
        limit = FACEBOOK_COMMENT if platform == "facebook" else INSTAGRAM_COMMENT
        endpoint = "POST /{comment-id}/comments" if platform == "facebook" else "POST /{ig-comment-id}/replies"

        def check() -> Answer | None:
            if _graph_presented(request, document) not in set(self._table("meta_page_tokens").values()):
                return errors.meta_token_error()
            if not text:
                return errors.meta_invalid("The parameter message is required")
            if len(text) > limit:
                return errors.meta_invalid(f"Length of param message must be less than or equal to {limit}")
            return None

        def accept() -> tuple[Answer, str | None, list[cb.Callback]]:
            if platform == "facebook":  # `<post>_<comment>`: a reply is a comment on the same post
                new_id = f"{comment.split('_')[0]}_{secrets.randbelow(10**15) + 10**15}"
            else:
                new_id = str(17_900_000_000_000_000 + secrets.randbelow(10**14))
            return json_answer(200, {"id": new_id}), new_id, []

        return self._send(_Send(platform, endpoint, comment, text, check, accept))

    def _graph_lookup(self, request: Request, match: re.Match[str]) -> Answer:
        """A GET of an object (socialcrm fetches a mention's words this way): the sandbox holds no
        objects, so it answers as Meta does for one the token cannot see, a permanent error."""
        if _graph_presented(request, {}) not in set(self._table("meta_page_tokens").values()):
            answer = errors.meta_token_error()
        else:
            answer = errors.meta_no_object(_unquote(match["id"]), "get")
        log.info("graph GET /{object-id} -> %d", answer.status)
        return answer

    def _graph_token(self, request: Request, document: Mapping[str, Any], key: str, account: str) -> Answer | None:
        """Error 190 unless the token is the one the secrets document holds for this account;
        100/33 when the token is valid but the account is not one it may use."""
        presented = _graph_presented(request, document)
        tokens = self._table(key)
        every = set(tokens.values()) | set(self._table("meta_page_tokens").values())
        if not presented or presented not in every:
            return errors.meta_token_error()
        if account not in tokens:
            return errors.meta_no_object(account)
        if not hmac.compare_digest(tokens[account].encode(), presented.encode()):
            return errors.meta_token_error()
        return None

    # --- Telegram ------------------------------------------------------------------------------

    def _telegram(self, request: Request, match: re.Match[str]) -> Answer:
        expected = self._secrets.get("telegram_bot_token")
        known = isinstance(expected, str) and hmac.compare_digest(expected.encode(), match["token"].encode())
        if match["method"] != "sendMessage":
            answer = errors.telegram_error(404, "Not Found") if known else errors.telegram_error(401, "Unauthorized")
            log.info("telegram POST /bot{token}/{method} -> %d", answer.status)
            return answer
        document = _params(request)
        chat = document.get("chat_id")
        chat_id = str(chat) if isinstance(chat, int | str) and not isinstance(chat, bool) else ""
        text = _text(document.get("text"))
        reply = document.get("reply_parameters")
        if isinstance(reply, str):
            reply = _json_object(reply.encode())

        def check() -> Answer | None:
            if not known:
                return errors.telegram_error(401, "Unauthorized")
            if not chat_id:
                return errors.telegram_error(400, "Bad Request: chat_id is empty")
            if not _CHAT.fullmatch(chat_id):
                return errors.telegram_error(400, "Bad Request: chat not found")
            if not text.strip():
                return errors.telegram_error(400, "Bad Request: message text is empty")
            if len(text) > TELEGRAM_TEXT:
                return errors.telegram_error(400, "Bad Request: message is too long")
            if reply is not None and not _integer(_obj(reply).get("message_id")):
                return errors.telegram_error(400, "Bad Request: message to be replied not found")
            return None

        def accept() -> tuple[Answer, str | None, list[cb.Callback]]:
            with self._lock:
                message_id = self._telegram_ids.get(chat_id, 1000) + 1
                self._telegram_ids[chat_id] = message_id
            bot = str(expected).split(":", 1)[0]
            chat_doc: dict[str, Any] = {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id}
            chat_doc["type"] = "private" if not chat_id.startswith(("-", "@")) else "supergroup"
            result = {
                "message_id": message_id,
                "from": {"id": int(bot) if bot.isdigit() else bot, "is_bot": True, "first_name": "socialcrm sandbox"},
                "chat": chat_doc,
                "date": int(time.time()),
                "text": text,
            }
            return json_answer(200, {"ok": True, "result": result}), str(message_id), []

        return self._send(_Send("telegram", "POST /bot{token}/sendMessage", chat_id, text, check, accept))

    # --- X -------------------------------------------------------------------------------------

    def _x_user(self, request: Request) -> tuple[Answer | None, str | None]:
        """(a 401, or None) and the X user whose access token signed the request (None when the
        secrets document holds no X credentials: then any `OAuth ` header is taken)."""
        params = xauth.header_params(request.header("authorization"))
        if params is None:
            return errors.x_problem(401, "Unauthorized"), None
        accounts = self._secrets.get("x_user_credentials") or {}
        if not accounts:
            return None, None
        token = params.get("oauth_token", "")
        for user_id, credentials in accounts.items():
            if credentials.get("access_token") != token:
                continue
            if credentials.get("consumer_key") != params.get("oauth_consumer_key"):
                break
            if params.get("oauth_signature_method") != "HMAC-SHA1":
                break
            signed = [(key, value) for key, value in params.items() if key not in ("oauth_signature", "realm")]
            signed += list(request.query.items())
            if request.header("content-type").startswith("application/x-www-form-urlencoded"):
                signed += urllib.parse.parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
            expected = xauth.signature(
                request.method,
                xauth.base_url(request.host, request.path),
                signed,
                credentials["consumer_secret"],
                credentials["access_token_secret"],
            )
            if hmac.compare_digest(expected.encode(), params.get("oauth_signature", "").encode()):
                return None, str(user_id)
            break
        return errors.x_problem(401, "Unauthorized"), None

    def _x_dm(self, request: Request, match: re.Match[str]) -> Answer:
        participant = _unquote(match["id"])
        document = _json_object(request.body) or {}
        text = _text(document.get("text"))
        refusal, account = self._x_user(request)

        def check() -> Answer | None:
            if refusal is not None:
                return refusal
            if not participant.isdigit():
                return errors.x_invalid(f"The `participant_id` value [{participant}] is not valid")
            if not text:
                return errors.x_invalid("The `text` field is required")
            if len(text) > X_DM_TEXT:
                return errors.x_invalid(f"The `text` field must be at most {X_DM_TEXT} characters")
            return None

        def accept() -> tuple[Answer, str | None, list[cb.Callback]]:
            event_id = snowflake()
            pair = sorted({participant, account or participant}, key=int)
            data = {"dm_conversation_id": "-".join(pair), "dm_event_id": event_id}
            echoes = cb.x_dm_echo(account, participant, event_id, text) if account else []
            return json_answer(201, {"data": data}), event_id, echoes

        endpoint = "POST /2/dm_conversations/with/{participant_id}/messages"
        return self._send(_Send("x", endpoint, participant, text, check, accept))

    def _x_tweet(self, request: Request, match: re.Match[str]) -> Answer:
        document = _json_object(request.body) or {}
        text = _text(document.get("text"))
        parent = _text(_obj(document.get("reply")).get("in_reply_to_tweet_id"))
        refusal, _account = self._x_user(request)

        def check() -> Answer | None:
            if refusal is not None:
                return refusal
            if not text:
                return errors.x_invalid("The `text` field is required")
            if "reply" in document and not parent.isdigit():
                return errors.x_invalid(f"The `in_reply_to_tweet_id` value [{parent}] is not valid")
            if xauth.weighted_length(text) > xauth.TWEET_LIMIT:
                return errors.x_problem(
                    403,
                    "Your Tweet text is too long. For more information on how X determines text length "
                    "see https://github.com/twitter/twitter-text.",
                    title="Forbidden",
                )
            return None

        def accept() -> tuple[Answer, str | None, list[cb.Callback]]:
            tweet_id = snowflake()
            data = {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}
            return json_answer(201, {"data": data}), tweet_id, []

        return self._send(_Send("x", "POST /2/tweets", parent, text, check, accept))

    # --- Trustpilot ----------------------------------------------------------------------------

    def _trustpilot_token(self, request: Request, match: re.Match[str]) -> Answer:
        """Client credentials: the client's Basic auth, `grant_type=client_credentials` in the form.
        Not subject to faults (they stand for the send API's failures); recorded as a `token` call."""
        client_id, client_secret = _basic(request.header("authorization"))
        form = dict(urllib.parse.parse_qsl(request.body.decode("utf-8", "replace")))
        unit = next(
            (
                name
                for name, client in (self._secrets.get("trustpilot_clients") or {}).items()
                if client.get("client_id") == client_id
                and hmac.compare_digest(str(client.get("client_secret", "")).encode(), client_secret.encode())
            ),
            None,
        )
        if unit is None:
            answer = json_answer(401, {"ErrorCode": "invalid_client", "Error": "ClientId is Invalid"})
        elif form.get("grant_type") != "client_credentials":
            answer = json_answer(400, {"ErrorCode": "invalid_request", "Error": "Unsupported grant type"})
        else:
            token = secrets.token_urlsafe(24)
            with self._lock:
                self._trustpilot_tokens[token] = unit
            answer = json_answer(
                200, {"access_token": token, "expires_in": TRUSTPILOT_EXPIRES_IN, "token_type": "Bearer"}
            )
        endpoint = "POST /v1/oauth/oauth-business-users-for-applications/accesstoken"
        self._record(Received("trustpilot", endpoint, "", "", None, _now(), answer.status, "token"))
        log.info("trustpilot %s -> %d", endpoint, answer.status)
        return answer

    def _trustpilot_reply(self, request: Request, match: re.Match[str]) -> Answer:
        review = _unquote(match["id"])
        document = _json_object(request.body) or {}
        text = _text(document.get("message"))
        author = _text(document.get("authorBusinessUserId"))
        with self._lock:
            unit = self._trustpilot_tokens.get(_bearer(request))
        client = (self._secrets.get("trustpilot_clients") or {}).get(unit or "", {})

        def check() -> Answer | None:
            if unit is None:
                return errors.trustpilot_token_error()
            if not text:
                return json_answer(400, {"message": "The message field is required."})
            if not author:
                return json_answer(400, {"message": "The authorBusinessUserId field is required."})
            if author != client.get("business_user_id"):
                return json_answer(403, {"message": "The business user may not reply for this business unit."})
            return None

        def accept() -> tuple[Answer, str | None, list[cb.Callback]]:
            return Answer(201), None, []  # 201 with an empty body: the reply has no id of its own

        return self._send(_Send("trustpilot", "POST /v1/private/reviews/{reviewId}/reply", review, text, check, accept))

    # --- socialcrm's generic outbound ----------------------------------------------------------

    def _generic(self, request: Request, match: re.Match[str]) -> Answer:
        """A reply to a generic source's customer, posted where `generic_outbound` says. The body is
        socialcrm's own contract, so the sandbox reads its text and recipient wherever they are."""
        source = _unquote(match["source"])
        document = _json_object(request.body)
        reply = _obj((document or {}).get("reply"))
        text = _first_text(document or {}, reply, keys=("text", "message", "body"))
        recipient = _first_text(
            document or {}, reply, keys=("recipient", "recipient_id", "thread_id", "in_reply_to", "parent_id")
        )

        def check() -> Answer | None:
            if not _SOURCE.fullmatch(source):
                return json_answer(404, {"error": "not a generic source name"})
            if document is None:
                return json_answer(400, {"error": "expected a JSON object"})
            return None

        def accept() -> tuple[Answer, str | None, list[cb.Callback]]:
            delivery = secrets.token_hex(12)
            return json_answer(200, {"id": delivery}), delivery, []

        return self._send(_Send(source, "POST /generic/{source}", recipient, text, check, accept))

    # --- helpers -------------------------------------------------------------------------------

    def _table(self, key: str) -> dict[str, str]:
        table = self._secrets.get(key)
        return {str(name): str(value) for name, value in table.items()} if isinstance(table, dict) else {}


def is_instagram_account(account: str) -> bool:
    """Instagram professional account ids start 17841 (the demo's too); Page ids do not. The Send API
    path is the same for both, so the id is all that tells them apart."""
    return account.startswith("17841")


def scoped_id(comment: str) -> str:
    """The page-scoped id of a comment's author, which a private reply's answer names: the sandbox
    has no people, so it makes one up from the comment id (the same for the same comment)."""
    return "24" + str(int(hashlib.sha256(comment.encode()).hexdigest()[:16], 16) % 10**15).zfill(15)


def instagram_mid(account: str) -> str:
    """Instagram's message ids are base64 of `ig_item:1:IGMessage:<account>:<id>` (the captures'
    `aWdfZAG1faXRlbTox...` prefix); a made-up one of the same form."""
    raw = f"ig_item:1:IGMessageID:{account}:{secrets.randbelow(10**38)}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def snowflake() -> str:
    """An X id: milliseconds since X's epoch, shifted, with random low bits."""
    return str(((int(time.time() * 1000) - 1288834974657) << 22) | secrets.randbelow(1 << 22))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def _integer(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return ""
    return str(value) if isinstance(value, str | int) else ""


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _unquote(value: str) -> str:
    return urllib.parse.unquote(value)


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(body or b"null")
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _params(request: Request) -> dict[str, Any]:
    """The request's parameters wherever the platform accepts them: the query string, then a form
    body or a JSON body (Graph and Telegram take all three; form fields holding JSON are decoded)."""
    params: dict[str, Any] = dict(request.query)
    if request.header("content-type").startswith("application/x-www-form-urlencoded"):
        for key, value in urllib.parse.parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True):
            decoded = _json_object(value.encode()) if value.startswith("{") else None
            params[key] = decoded if decoded is not None else value
    else:
        params.update(_json_object(request.body) or {})
    return params


def _graph_presented(request: Request, document: Mapping[str, Any]) -> str:
    """The token of a Graph call: `Authorization: Bearer`, or the `access_token` parameter."""
    return _bearer(request) or _text(document.get("access_token")) or request.query.get("access_token", "")


def _bearer(request: Request) -> str:
    header = request.header("authorization")
    return header[len("Bearer ") :].strip() if header.startswith("Bearer ") else ""


def _basic(header: str) -> tuple[str, str]:
    if not header.startswith("Basic "):
        return "", ""
    try:
        decoded = base64.b64decode(header[len("Basic ") :].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    client_id, _, client_secret = decoded.partition(":")
    return client_id, client_secret


def _describe_template(template: dict[str, Any]) -> str:
    """A template as the page shows it: its name, language and the text of its parameters."""
    language = _text(_obj(template.get("language")).get("code"))
    values = [
        _text(parameter.get("text"))
        for component in template.get("components") or []
        if isinstance(component, dict)
        for parameter in component.get("parameters") or []
        if isinstance(parameter, dict)
    ]
    described = f"[template {_text(template.get('name'))} ({language})]"
    return described + (" " + " | ".join(values) if values else "")


def _first_text(*documents: dict[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        for document in documents:
            value = document.get(key)
            if isinstance(value, dict):
                value = value.get("id") or value.get("text")
            if _text(value):
                return _text(value)
    return ""
