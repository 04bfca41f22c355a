"""Replies (issue 9): replies per second through the sender against the platform sandbox, and
platform calls per reply (target: 1.0 without faults).

Setup, not timed: on moto, customers on Messenger, WhatsApp and Telegram write complaints (through
the processor, offline analyzer), each opens a case, and an agent's reply to every case is composed
through ReplyDesk (validated, window checked, queued). Timed: the sender's handler over the
outbound queue in batches of ten, as the event source would hand them over, then the processor
over the sent replies (the cases become `responded`), each against the sandbox over HTTP on this
machine. Calls per reply counts every request the sandbox received, refused ones included.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.moto_speedups import fast_moto
from bench.processing import _environment, _run_batches
from bench.table import render

CALLS_TARGET = 1.0
PAGE, WA_NUMBER = "104000000000001", "100000000000101"


def _complaints(per_platform: int) -> list[Any]:
    from chalicelib.models.interaction import Author, Interaction, Kind

    now = datetime.now(UTC) - timedelta(minutes=10)
    text = "My order never arrived and nobody answers, this is terrible service"
    made = []
    for n in range(per_platform):
        psid, wa_user, chat = f"2500000{n:010d}", f"55119{n:08d}", 6100000000 + n
        made += [
            Interaction("messenger", Kind.MESSAGE, f"m_bench_{n}", Author(psid), text, now, now, account_id=PAGE,
                        thread_id=psid),
            Interaction("whatsapp", Kind.MESSAGE, f"wamid.bench{n}", Author(wa_user), text, now, now,
                        account_id=WA_NUMBER, thread_id=wa_user),
            Interaction("telegram", Kind.MESSAGE, f"{chat}:{n + 1}", Author(str(chat)), text, now, now,
                        thread_id=str(chat)),
        ]  # fmt: skip
    return made


def _drain_outbound(url: str) -> int:
    """The sender over everything on the outbound queue, ten records an invocation."""
    import boto3

    from chalicelib.handlers import sender
    from tools.local.worker import LambdaContext

    sqs = boto3.client("sqs")
    handled = 0
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        records = [
            {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"], "attributes": {}}
            for m in messages
        ]
        response = sender.handle({"Records": records}, LambdaContext("send_replies"))
        assert not response["batchItemFailures"], response
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        handled += len(messages)
    return handled


def _drain_ingest(url: str) -> int:
    import boto3

    sqs = boto3.client("sqs")
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [m["Body"] for m in messages]
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    _run_batches(bodies, 1000)
    return len(bodies)


def run(per_platform: int = 100) -> str:
    _environment()
    import boto3
    from moto import mock_aws

    from chalicelib import dependencies
    from chalicelib.adapters.queue import encode
    from chalicelib.models.case import CaseStatus
    from chalicelib.services.replies import ReplyRequest
    from tools import sandbox
    from tools.provision import provision
    from tools.sandbox.server import start
    from tools.secrets import DEV_SECRETS_PATH, load_file

    secrets = load_file(DEV_SECRETS_PATH)
    server = start(secrets)
    try:
        with mock_aws(), fast_moto():
            env = provision(boto3.Session(), "dev", secrets)
            os.environ.update(env)
            os.environ.update(sandbox.environment(server.server_address[1]))
            os.environ["SOCIALCRM_NLP"] = "local"
            dependencies.reset()
            _run_batches([encode(i) for i in _complaints(per_platform)], 1000)
            cases, _ = dependencies.case_store().worklist(CaseStatus.OPEN, None, 1000)
            desk = dependencies.reply_desk()
            now = datetime.now(UTC)
            for case in cases:
                desk.compose(case.case_id, ReplyRequest("Sorry, we are on it: it ships today."), "bench:agent", now)

            started = time.perf_counter()
            sent = _drain_outbound(env["SOCIALCRM_OUTBOUND_QUEUE_URL"])
            send_seconds = time.perf_counter() - started
            started = time.perf_counter()
            recorded = _drain_ingest(env["SOCIALCRM_INGEST_QUEUE_URL"])
            record_seconds = time.perf_counter() - started
            responded, _ = dependencies.case_store().worklist(CaseStatus.RESPONDED, None, 1000)
    finally:
        server.close()
    received = server.sandbox.received(everything=True)
    by_platform: dict[str, int] = {}
    for record in received:
        by_platform[record.platform] = by_platform.get(record.platform, 0) + 1
    replies = len(cases)
    calls = len(received)
    per_reply = calls / replies if replies else 0.0
    rows = [
        [replies, sent, f"{sent / send_seconds:.1f}", f"{recorded / record_seconds:.1f}", len(responded), calls,
         per_reply, "ok" if per_reply <= CALLS_TARGET else "MISSED"],
    ]  # fmt: skip
    return render(
        f"Replies through the sender against the platform sandbox (Messenger, WhatsApp, Telegram; "
        f"platform calls per reply target: {CALLS_TARGET:g})",
        ["replies", "sent", "sent/s", "recorded/s", "cases responded", "platform calls", "calls per reply", "target"],
        rows,
    ) + "\n" + render(
        "Platform calls by platform",
        ["platform", "calls"],
        sorted([platform, count] for platform, count in by_platform.items()),
    )  # fmt: skip
