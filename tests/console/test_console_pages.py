"""The console's pages over real cases on moto: what an agent, a supervisor and an admin see and
do, through the app's HTML, with the pipeline (offline analyzer) turning webhooks into cases."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.console_client import Browser
from tests.helpers import crisis_alert, meta_message, process_queue, retention_alert
from tools.webhook_client import sign

PAGE = "104000000000001"
ANA, BRUNO = "25000000000000701", "25000000000000702"
MARKUP = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def deliver(client: Any, secrets: dict[str, Any], sqs: Any, env: dict[str, str], *messages: bytes) -> None:
    for body in messages:
        request = sign("meta", body, secrets)
        assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200
    process_queue(sqs, env["SOCIALCRM_INGEST_QUEUE_URL"])


def case_ids(body: str) -> list[str]:
    return re.findall(r'href="/console/cases/([^"]+)"', body)


@pytest.fixture
def two_customers(pipeline: dict[str, str], client: Any, secrets: dict[str, Any], sqs: Any) -> dict[str, str]:
    now = datetime.now(UTC)
    deliver(
        client,
        secrets,
        sqs,
        pipeline,
        meta_message(PAGE, ANA, "m-ana-1", f"My order never arrived, write to ana.silva@example.com {MARKUP}", now),
        meta_message(
            PAGE, BRUNO, "m-bruno-1", "Still waiting for my refund ANA.SILVA@example.com", now + timedelta(seconds=1)
        ),
    )
    from chalicelib.dependencies import customer_store

    platform = next(identity.platform for identity in customer_store().identities(customer_of_any(ANA)))
    return {"ana": customer_of_any(ANA), "bruno": customer_of_any(BRUNO), "platform": platform}


def customer_of_any(user_id: str) -> str:
    from chalicelib.dependencies import customer_store

    for platform in ("messenger", "facebook", "meta"):
        found = customer_store().customer_for(platform, user_id)
        if found:
            return found
    raise AssertionError(f"no customer for {user_id}")


def test_the_inbox_lists_the_cases_and_customer_text_stays_text(client: Any, two_customers: dict[str, str]) -> None:
    browser = Browser(client)
    browser.sign_in("agent")
    inbox = browser.get("/console/")
    assert len(case_ids(inbox.body)) == 2
    assert "<script>window.__xss" not in inbox.body
    assert "<img src=x" not in inbox.body
    rows = browser.get("/console/?fragment=rows", htmx=True)
    assert rows.status == 200
    assert rows.body.lstrip().startswith('<section id="rows"')
    anas = next(c for c in case_ids(inbox.body) if c.startswith(two_customers["ana"]))
    page = browser.get(f"/console/cases/{anas}")
    assert page.status == 200
    # Messenger sent no name: she is named as the inbox names her, never "None"
    assert f"<title>Case · Customer {two_customers['ana'][:8]} · socialcrm</title>" in page.body
    assert "&lt;script&gt;window.__xss=2&lt;/script&gt;" in page.body  # her markup, shown as text
    # each message's sentiment with how sure the analysis is of it (calibrated: 80% is right 4 in 5)
    assert re.search(r'class="sentiment s-(negative|neutral|positive)" title="[^"]+">\w+ \d{1,3}%</span>', page.body)
    for case_id in case_ids(inbox.body):
        body = browser.get(f"/console/cases/{case_id}").body
        assert "<script>window" not in body
        assert 'onerror="window' not in body


def test_a_forums_cases_can_be_picked_and_a_filter_chosen_by_link_stays_chosen(
    client: Any, pipeline: dict[str, str], secrets: dict[str, Any], sqs: Any
) -> None:
    """Channels and languages are open sets (a generic source is any name the stage signs for):
    the filters list what the page's cases hold, and keep a value chosen by link selected, or the
    next change of another filter would drop it."""
    event = {"id": "f-1", "author": {"id": "u-1"}, "text": "O pedido chegou quebrado", "kind": "message"}
    body = json.dumps({"events": [{**event, "created_at": datetime.now(UTC).isoformat()}]}).encode()
    request = sign("generic", body, secrets, source="shopforum")
    assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    browser = Browser(client)
    browser.sign_in("agent")
    assert re.search(r'<option value="shopforum"\s*>', browser.get("/console/").body)
    forum = browser.get("/console/?channel=shopforum").body
    assert re.search(r'<option value="shopforum"\s+selected>', forum)
    assert len(case_ids(forum)) == 1
    chinese = browser.get("/console/?language=zh").body
    assert re.search(r'<option value="zh"\s+selected>', chinese)
    assert case_ids(chinese) == []


def test_an_alert_says_why_it_was_raised(client: Any, aws: dict[str, str]) -> None:
    """Its reasons (at most two, as the rule wrote them: cue words and figures, never the message)
    under its type, as text: an agent decides from the list what to look at first."""
    from chalicelib.dependencies import alert_store

    reasons = ["42 negative messages in 15 min >= 20", "about 'battery' <b>", "third reason"]
    assert alert_store().record(crisis_alert("a-why", datetime.now(UTC), reasons=reasons)) is not None
    browser = Browser(client)
    browser.sign_in("agent")
    body = browser.get("/console/alerts").body
    assert '<small class="reason">42 negative messages in 15 min &gt;= 20</small>' in body
    assert "about &#39;battery&#39; &lt;b&gt;" in body
    assert "third reason" not in body


def test_an_alert_names_the_customer_it_is_about(
    client: Any, pipeline: dict[str, str], secrets: dict[str, Any], sqs: Any
) -> None:
    """A retention alert's row links to its customer by name (as every page names them), in
    the list and in the row an acknowledgement sends back, not as "customer" over and over."""
    from chalicelib.dependencies import alert_store, customer_store

    event = {"id": "f-9", "author": {"id": "u-9", "name": "Rita Lopes"}, "text": "Vou cancelar", "kind": "message"}
    body = json.dumps({"events": [{**event, "created_at": datetime.now(UTC).isoformat()}]}).encode()
    request = sign("generic", body, secrets, source="shopforum")
    assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200
    deliver(client, secrets, sqs, pipeline, meta_message(PAGE, ANA, "m-ana-9", "Vou cancelar", datetime.now(UTC)))
    rita, ana = customer_store().customer_for("shopforum", "u-9"), customer_of_any(ANA)
    assert rita is not None
    for customer_id in (rita, ana):
        assert alert_store().record(retention_alert(customer_id, f"a-{customer_id}", datetime.now(UTC)))
    browser = Browser(client)
    browser.sign_in("agent")
    page = browser.get("/console/alerts")
    assert f'<a href="/console/customers/{rita}">Rita Lopes</a>' in page.body
    assert f'<a href="/console/customers/{ana}">Customer {ana[:8]}</a>' in page.body  # Messenger sent no name
    acked = browser.post(f"/console/alerts/a-{rita}/ack", {})
    assert acked.status == 200, acked.body
    assert "acknowledged by" in acked.body
    assert "Rita Lopes</a>" in acked.body


def test_an_agent_answers_from_the_case_page_once_and_resolves(client: Any, two_customers: dict[str, str]) -> None:
    from chalicelib.dependencies import reply_store

    browser = Browser(client)
    browser.sign_in("agent")
    case_id = next(c for c in case_ids(browser.get("/console/").body) if c.startswith(two_customers["ana"]))
    page = browser.get(f"/console/cases/{case_id}")
    assert "window is open" in page.body
    token = page.field("client_reply_id")
    fields = {"text": "Sorry about that, we are on it.", "client_reply_id": token, "resolve": "0"}
    first = browser.post(f"/console/cases/{case_id}/reply", fields)
    assert first.status == 200, first.body
    assert "Sorry about that, we are on it." in first.body
    assert 'data-state="queued"' in first.body
    again = browser.post(f"/console/cases/{case_id}/reply", fields)  # a double click
    assert again.status == 200
    assert len(reply_store().of_customer(two_customers["ana"], case_id)) == 1
    empty = browser.post(f"/console/cases/{case_id}/reply", {"text": " ", "client_reply_id": "other"})
    assert empty.status == 422
    assert "text: required" in empty.body
    resolved = browser.post(f"/console/cases/{case_id}/status", {"status": "resolved"})
    assert resolved.status == 200
    assert "status-resolved" in resolved.body


def test_search_link_and_unlink_from_the_customer_pages(client: Any, two_customers: dict[str, str]) -> None:
    ana, bruno = two_customers["ana"], two_customers["bruno"]
    browser = Browser(client)
    browser.sign_in("agent")
    found = browser.post("/console/customers", {"q": ANA}, htmx=False)
    assert f"/console/customers/{ana}" in found.body
    assert f"/console/customers/{bruno}" not in found.body
    by_mail = browser.post("/console/customers", {"q": "Ana.Silva@example.com"})
    assert f"/console/customers/{ana}" in by_mail.body
    assert f"/console/customers/{bruno}" in by_mail.body
    assert "ana.silva" not in by_mail.body.lower()  # the results never repeat the query's value
    assert "At least 2 characters." in browser.post("/console/customers", {"q": "a"}).body
    assert browser.get("/console/customers?q=Ana.Silva%40example.com").body.count("/console/customers/") == 0

    page = browser.get(f"/console/customers/{ana}")
    assert "Suggested: the same person?" in page.body
    assert "the same e-mail address" in page.body
    linked = browser.post(f"/console/customers/{ana}/links", {"customer_id": bruno}, htmx=False)
    assert linked.status == 303
    for one, other in ((ana, bruno), (bruno, ana)):
        view = browser.get(f"/console/customers/{one}").body
        assert f"/console/customers/{one}/links/{other}/unlink" in view
        assert "Suggested: the same person?" not in view
        assert "Still waiting for my refund" in view
        assert "My order never arrived" in view
    assert browser.post(f"/console/customers/{ana}/links", {"customer_id": ana}, htmx=False).status == 400
    unlinked = browser.post(f"/console/customers/{bruno}/links/{ana}/unlink", {}, htmx=False)
    assert unlinked.status == 303
    view = browser.get(f"/console/customers/{ana}").body
    assert "Not linked to anyone." in view
    assert "Still waiting for my refund" not in view
    assert browser.post(f"/console/customers/{bruno}/links/{ana}/unlink", {}, htmx=False).status == 404

    supervisor = Browser(client)
    supervisor.sign_in("supervisor")
    trail = supervisor.get("/console/supervisor").body
    assert "customer.link" in trail
    assert "customer.unlink" in trail
    assert "cognito:agent@example.com" in trail
    assert "Routing rules" in trail
    assert "<td>everything-else</td><td>always</td>" in trail.replace("\n", "").replace("      ", "")


def test_export_and_erasure_need_the_admin_and_the_customers_name(client: Any, two_customers: dict[str, str]) -> None:
    ana = two_customers["ana"]
    admin = Browser(client)
    admin.sign_in("admin")
    page = admin.get(f"/console/customers/{ana}/privacy")
    assert page.status == 200
    confirm = re.search(r'data-confirm="([^"]+)"', page.body)
    assert confirm
    name = confirm.group(1)
    assert admin.post(f"/console/customers/{ana}/export", {"confirm": "someone else"}, htmx=False).status == 400
    exported = admin.post(f"/console/customers/{ana}/export", {"confirm": name}, htmx=False)
    assert exported.status == 200
    assert exported.headers["content-disposition"].startswith("attachment")
    assert json.loads(exported.body)["customer"]["customer_id"] == ana
    assert admin.post(f"/console/customers/{ana}/erase", {"confirm": "nope"}, htmx=False).status == 400
    erased = admin.post(f"/console/customers/{ana}/erase", {"confirm": name}, htmx=False)
    assert erased.status == 200
    assert "The customer is erased" in erased.body
    assert admin.get(f"/console/customers/{ana}").status == 404
    agent = Browser(client)
    agent.sign_in("agent")
    assert agent.get(f"/console/customers/{two_customers['bruno']}/privacy").status == 403


def test_notes_assignment_and_who_else_is_viewing(client: Any, two_customers: dict[str, str]) -> None:
    from chalicelib.dependencies import customer_records

    agent, supervisor = Browser(client), Browser(client)
    agent.sign_in("agent")
    supervisor.sign_in("supervisor")
    case_id = next(c for c in case_ids(agent.get("/console/").body) if c.startswith(two_customers["ana"]))
    noted = agent.post(f"/console/cases/{case_id}/notes", {"note": "VIP <b>careful</b>"})
    assert noted.status == 200
    assert "Note by cognito:agent@example.com" in noted.body
    assert "VIP &lt;b&gt;careful&lt;/b&gt;" in noted.body
    assert agent.post(f"/console/cases/{case_id}/notes", {"note": "  "}).status == 422
    assert [note.text for note in customer_records().notes(two_customers["ana"])] == ["VIP <b>careful</b>"]

    mine = agent.post(f"/console/cases/{case_id}/assign", {"assignee": "me"})
    assert mine.status == 200
    assert "Assigned to cognito:agent@example.com" in mine.body
    assert case_id in agent.get("/console/?assignee=mine").body
    assert case_id not in agent.get("/console/?assignee=unassigned").body
    taken = supervisor.post(f"/console/cases/{case_id}/assign", {"assignee": "cognito:supervisor@example.com"})
    assert taken.status == 200
    assert "Assigned to cognito:supervisor@example.com" in taken.body

    assert agent.post(f"/console/cases/{case_id}/viewing", {}).status == 200
    seen = supervisor.post(f"/console/cases/{case_id}/viewing", {})
    assert "Also viewing: cognito:agent@example.com" in seen.body
    alone = agent.post(f"/console/cases/{case_id}/viewing", {})
    assert "cognito:agent@example.com" not in alone.body
    assert "cognito:supervisor@example.com" in alone.body


def test_a_customer_found_by_search_can_be_linked_from_the_results(client: Any, two_customers: dict[str, str]) -> None:
    ana, bruno = two_customers["ana"], two_customers["bruno"]
    browser = Browser(client)
    browser.sign_in("agent")
    assert f"/console/customers?link_from={ana}" in browser.get(f"/console/customers/{ana}").body
    form = browser.get(f"/console/customers?link_from={ana}")
    assert f'name="link_from" value="{ana}"' in form.body
    results = browser.post("/console/customers", {"q": BRUNO, "link_from": ana}).body
    assert f'action="/console/customers/{ana}/links"' in results
    assert f'name="customer_id" value="{bruno}"' in results
    assert f'name="customer_id" value="{ana}"' not in results  # not oneself
    assert browser.post(f"/console/customers/{ana}/links", {"customer_id": bruno}, htmx=False).status == 303
    assert f"/console/customers/{bruno}/links/{ana}/unlink" in browser.get(f"/console/customers/{bruno}").body


def test_erasure_takes_who_had_the_customers_cases_open(client: Any, two_customers: dict[str, str]) -> None:
    from chalicelib.store import keys
    from chalicelib.store.models import ViewingItem

    agent, admin = Browser(client), Browser(client)
    agent.sign_in("agent")
    admin.sign_in("admin")
    ana = two_customers["ana"]
    case_id = next(c for c in case_ids(agent.get("/console/").body) if c.startswith(ana))
    assert agent.post(f"/console/cases/{case_id}/viewing", {}).status == 200
    assert list(ViewingItem.query(keys.viewing(case_id)))
    name = re.search(r'data-confirm="([^"]+)"', admin.get(f"/console/customers/{ana}/privacy").body)
    assert name
    assert admin.post(f"/console/customers/{ana}/erase", {"confirm": name.group(1)}, htmx=False).status == 200
    assert not list(ViewingItem.query(keys.viewing(case_id)))


def test_a_message_in_a_language_the_analysis_does_not_read_says_so(
    client: Any, pipeline: dict[str, str], secrets: dict[str, Any], sqs: Any
) -> None:
    """The offline analyzer reads eight languages: a Chinese message on an open case has no
    sentiment, and the inbox and the conversation say it was not analysed rather than leave a
    blank (the analysed message before it keeps its label)."""
    now = datetime.now(UTC)
    opened = meta_message(PAGE, ANA, "m-zh-0", "My order never arrived and nobody answers", now)
    chinese = meta_message(PAGE, ANA, "m-zh-1", "我的订单还没到，太差了！", now + timedelta(seconds=1))
    deliver(client, secrets, sqs, pipeline, opened)
    deliver(client, secrets, sqs, pipeline, chinese)
    browser = Browser(client)
    browser.sign_in("agent")
    inbox = browser.get("/console/").body
    assert re.search(r'<span class="sentiment s-none" title="[^"]+">not analysed</span>', inbox)
    (case_id,) = case_ids(inbox)
    page = browser.get(f"/console/cases/{case_id}").body
    assert page.count('class="sentiment s-none"') == 1
    assert re.search(r'class="sentiment s-(negative|neutral)"', page)
