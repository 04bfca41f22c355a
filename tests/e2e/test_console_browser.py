"""The console in a real browser: Debian's Chromium driven by Playwright (no browser download),
against the local stack started as `make run` starts it, demo included.

What a person does: sign in, see a fresh complaint in the inbox, answer it and watch the reply
become delivered, acknowledge an alert, find a customer by handle, link and unlink two customers,
and read a message carrying markup as text. The customers write in through signed webhooks, as
the platforms would. The screenshots the README shows (docs/img/console-*.png) are taken here,
each at the end of a flow that passed: into build/screenshots, or into docs/img with
SOCIALCRM_SCREENSHOTS=docs/img (so that `make test` leaves the checkout as it was).

Chromium is /usr/bin/chromium (`apt-get install -y chromium`), or the path or name in CHROMIUM;
without it the module is skipped, and says so. One stack and one browser serve the whole module."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, ViewportSize, expect, sync_playwright

from tools.local import launch
from tools.local.demo import post, request
from tools.secrets import DEV_SECRETS_PATH, load_file
from tools.template import ROOT
from tools.webhook_client import sign

CHROMIUM = shutil.which(os.environ.get("CHROMIUM") or "/usr/bin/chromium")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium not installed: apt-get install -y chromium (or set CHROMIUM to its path)",
    ),
]

SCREENSHOTS = ROOT / os.environ.get("SOCIALCRM_SCREENSHOTS", "build/screenshots")
STACK_LOG = ROOT / "build" / "local" / "console-browser.log"
WIDE: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
SECRETS = load_file(DEV_SECRETS_PATH)
AGENT = next(email for email, user in SECRETS["console_users"].items() if user["role"] == "agent")
SUPERVISOR = next(email for email, user in SECRETS["console_users"].items() if user["role"] == "supervisor")

# The customers of this module, each writing in once (the stack is this module's own).
PAGE_ID = "104000000000001"  # a Messenger page of the dev secrets
WA_NUMBER_ID = "100000000000101"  # a WhatsApp number of the dev secrets
COMPLAINT = {
    "name": "Bruna Navegador",
    "wa_id": "5511900077001",
    "text": "My order never arrived and nobody answers, this is terrible",
}
REPLY = "Sorry, Bruna: your order ships today and arrives on Friday."
MARKUP = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=2</script>"
HOSTILE = {
    "name": 'Eve <img src=x onerror="window.__xss=3">',
    "wa_id": "5511900077002",
    "text": f"My order never arrived {MARKUP} and nobody answers {SCRIPT} this is terrible",
}
LEAVING = {"psid": "25000000000770003", "text": "Fourth dropped call today. I'm cancelling my contract and leaving."}
# Two customers who wrote the same e-mail address: the console suggests linking them.
DORA = {"chat": "770004", "first_name": "Dora", "last_name": "Navegadora", "username": "dora_browser"}
DORA_TEXT = "Hi, please write to dora.browser@example.com about my refund"
DORIS = {
    "name": "Doris Navegadora",
    "wa_id": "5511900077005",
    "text": "My e-mail is dora.browser@example.com, any news?",
}

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 90, every: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def deliver(api: str, channel: str, payload: dict[str, Any]) -> None:
    signed = sign(channel, json.dumps(payload).encode(), SECRETS)
    status, answer = post(api, signed.path, signed.headers, signed.body)
    assert status == 200, answer


def whatsapp(person: dict[str, str], mid: str) -> dict[str, Any]:
    message: dict[str, Any] = {"from": person["wa_id"], "id": mid, "timestamp": str(int(time.time())), "type": "text"}
    message["text"] = {"body": person["text"]}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000101", "phone_number_id": WA_NUMBER_ID},
        "contacts": [{"profile": {"name": person["name"]}, "wa_id": person["wa_id"]}],
        "messages": [message],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }


def messenger(psid: str, text: str, mid: str) -> dict[str, Any]:
    millis = int(time.time() * 1000)
    item = {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": millis}
    item["message"] = {"mid": mid, "text": text}
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": millis, "messaging": [item]}]}


def telegram(person: dict[str, str], text: str) -> dict[str, Any]:
    chat = int(person["chat"])
    sender: dict[str, Any] = {"id": chat, "is_bot": False, "first_name": person["first_name"]}
    sender.update(last_name=person["last_name"], username=person["username"])
    message = {"message_id": 1, "date": int(time.time()), "text": text, "from": sender}
    message["chat"] = {"id": chat, "type": "private"}
    return {"update_id": chat, "message": message}


def ops(api: str, path: str) -> Any:
    """The JSON API with the ops token: what the browser did, checked on the server's side."""
    status, body = request(api, path, {"Authorization": f"Bearer {SECRETS['ops_api_token']}"})
    return body if status == 200 else None


@pytest.fixture(scope="module")
def stack() -> Iterator[launch.LocalStack]:
    """The stack as `make run` starts it (the demo replayed), and this module's customers writing
    in at once: the worker analyses them while the browser starts."""
    try:
        local = launch.start(demo=True)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        deliver(local.api, "meta", whatsapp(COMPLAINT, "wamid.browser.complaint"))
        deliver(local.api, "meta", whatsapp(HOSTILE, "wamid.browser.markup"))
        deliver(local.api, "meta", messenger(LEAVING["psid"], LEAVING["text"], "m_browser_leaving"))
        deliver(local.api, "telegram", telegram(DORA, DORA_TEXT))
        deliver(local.api, "meta", whatsapp(DORIS, "wamid.browser.doris"))
        yield local
    finally:
        local.stop(timeout=30)
        STACK_LOG.write_text("".join(local.log))  # what the stack printed, for a failure's story


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None
    with sync_playwright() as playwright:
        # Playwright passes --no-sandbox itself (its chromium_sandbox defaults to off), as root needs.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        expect.set_options(timeout=15_000)
        yield chromium
        chromium.close()


def signed_in(stack: launch.LocalStack, browser: Browser, email: str) -> BrowserContext:
    """A browser signed in as a demo user, through the sign-in form as a person signs in."""
    context = browser.new_context(base_url=stack.api, viewport=WIDE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(SECRETS["console_users"][email]["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    page.close()
    return context


@pytest.fixture(scope="module")
def agent(stack: launch.LocalStack, browser: Browser) -> Iterator[BrowserContext]:
    context = signed_in(stack, browser, AGENT)
    yield context
    context.close()


@pytest.fixture
def page(agent: BrowserContext) -> Iterator[Page]:
    opened = agent.new_page()
    yield opened
    opened.close()


def inbox_row(page: Page, name: str, timeout: float = 120) -> Locator:
    """The inbox row of `name`'s case, reloading the inbox until the worker has made it."""
    page.goto("/console/")

    def shown() -> Locator | None:
        row = page.locator("#rows tr", has_text=name)
        if row.count():
            return row.first
        page.reload()
        return None

    return wait_for(shown, f"{name}'s case in the inbox", timeout=timeout, every=2)


def open_case(page: Page, name: str) -> None:
    row = inbox_row(page, name)
    row.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/console/cases/[^/?]+$"))
    expect(page.locator("#conversation")).to_be_visible()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(WIDE)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=False)


def test_the_agent_signs_in_and_sees_the_fresh_complaint_in_the_inbox(page: Page) -> None:
    # what the browser could not load (the tab's icon, asked of /favicon.ico, was refused with a
    # 403); the browser's own requests are not page responses, but each is a console error
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if message.type == "error" else None)
    row = inbox_row(page, COMPLAINT["name"])
    expect(row).to_contain_text("whatsapp")
    expect(row.get_by_role("link", name=COMPLAINT["name"])).to_be_visible()
    screenshot(page, "console-inbox.png")
    page.reload(wait_until="networkidle")
    assert refused == []


def test_the_agent_answers_the_complaint_and_watches_the_reply_delivered(page: Page) -> None:
    open_case(page, COMPLAINT["name"])
    expect(page.locator("#conversation")).to_contain_text(COMPLAINT["text"])
    expect(page.locator("#window-state")).to_contain_text("window is open")
    page.get_by_label(re.compile(r"^Reply on ")).fill(REPLY)
    page.get_by_role("button", name="Send", exact=True).click()
    reply = page.locator("#conversation article", has_text=REPLY)
    expect(reply).to_have_count(1)
    # The sandbox plays WhatsApp: it sends the reply's statuses back through the signed webhook,
    # and the conversation refreshes itself while a reply is on its way (no reload here).
    expect(reply.locator("[data-state]")).to_have_attribute(
        "data-state", re.compile(r"^(delivered|read)$"), timeout=40_000
    )
    expect(page.locator("#case-status")).to_have_text("responded")  # the header follows, still no reload
    expect(page.locator("#reply-text")).to_have_value("")
    screenshot(page, "console-case.png")


def test_the_agent_acknowledges_an_alert(page: Page) -> None:
    """The customer who is leaving raised a retention alert (the demo's raise more)."""
    page.goto("/console/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    expect(page.get_by_role("heading", name="Alerts")).to_be_visible()
    pending = page.locator("tr[id^='alert-']", has=page.get_by_role("button", name="Acknowledge"))

    def any_pending() -> bool:
        if pending.count():
            return True
        page.reload()
        return False

    wait_for(any_pending, "an alert to acknowledge", every=1)
    row_id = pending.first.get_attribute("id")
    assert row_id
    row = page.locator(f"#{row_id}")
    row.get_by_role("button", name="Acknowledge").click()
    expect(row).to_contain_text("acknowledged by")
    page.reload()
    expect(page.locator(f"#{row_id}")).to_contain_text("acknowledged by")
    expect(page.locator(f"#{row_id}").get_by_role("button", name="Acknowledge")).to_have_count(0)


def find_customer(page: Page, query: str, name: str) -> None:
    """The Customers page's search, as a person types it, then the customer's own page."""
    page.goto("/console/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    expect(page).to_have_url(re.compile(r"/console/customers"))
    box = page.locator("main input[name='q']")
    expect(box, "the Customers page has a search box (POST /console/customers)").to_be_visible()
    found = page.locator("main").get_by_role("link", name=re.compile(re.escape(name)))

    def listed() -> bool:
        box.fill(query)
        box.press("Enter")
        try:
            expect(found.first).to_be_visible(timeout=3_000)
        except AssertionError:
            return False
        return True

    wait_for(listed, f"{name} among the customers found by {query!r}", every=1)
    found.first.click()
    expect(page).to_have_url(re.compile(r"/console/customers/[^/?]+$"))
    expect(page.get_by_role("heading", name=re.compile(re.escape(name))).first).to_be_visible()


def test_the_agent_finds_a_customer_by_handle(page: Page) -> None:
    name = f"{DORA['first_name']} {DORA['last_name']}"
    find_customer(page, "@" + DORA["username"], name)
    expect(page.locator("main")).to_contain_text("@" + DORA["username"])
    expect(page.locator("main")).to_contain_text("telegram")
    screenshot(page, "console-customer.png")


def test_the_agent_links_and_unlinks_two_customers(page: Page, stack: launch.LocalStack) -> None:
    """Dora (Telegram) and Doris (WhatsApp) wrote the same e-mail address: Dora's page suggests
    linking them; the agent links them, and unlinks them again."""
    name = f"{DORA['first_name']} {DORA['last_name']}"
    find_customer(page, DORA["username"], name)
    customer_id = page.url.rstrip("/").rsplit("/", 1)[1]
    suggestion = page.locator("main li, main tr, main form, main article", has_text=DORIS["name"])
    link = suggestion.get_by_role("button", name=re.compile(r"^Link\b"))

    def suggested() -> bool:
        if link.count():
            return True
        page.reload()
        return False

    wait_for(suggested, f"a suggestion to link {DORIS['name']}", every=1)
    link.first.click()
    unlink = page.locator("main li, main tr, main form, main article", has_text=DORIS["name"]).get_by_role(
        "button", name=re.compile(r"^Unlink\b")
    )
    expect(unlink.first).to_be_visible()
    linked = ops(stack.api, f"/customers/{customer_id}/links")
    assert linked is not None
    assert [other["display_name"] for other in linked["links"]] == [DORIS["name"]], linked
    page.reload()
    expect(unlink.first).to_be_visible()  # kept, not only shown
    unlink.first.click()
    expect(unlink).to_have_count(0)
    page.reload()
    expect(unlink).to_have_count(0)
    assert ops(stack.api, f"/customers/{customer_id}/links")["links"] == []


def test_a_message_carrying_markup_renders_inert(page: Page) -> None:
    row = inbox_row(page, HOSTILE["name"])  # the name is markup too, shown as text in the inbox
    expect(row).to_contain_text(HOSTILE["name"])
    inert(page)
    response = page.reload()
    assert response is not None
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy, policy
    assert "'unsafe-inline'" not in policy, policy
    open_case(page, HOSTILE["name"])
    conversation = page.locator("#conversation")
    expect(conversation).to_contain_text(MARKUP)
    expect(conversation).to_contain_text(SCRIPT)
    expect(page.locator("aside")).to_contain_text(HOSTILE["name"])  # the customer panel
    inert(page)


def inert(page: Page) -> None:
    """Nothing the customers wrote became an element, and nothing of it ran."""
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("script:not([src])").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"


def no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {page.viewport_size}"


def within_width(page: Page, selector: Locator) -> None:
    expect(selector).to_be_visible()
    box = selector.bounding_box()
    assert box is not None
    width = (page.viewport_size or WIDE)["width"]
    assert box["x"] >= 0, (box, width)
    assert box["x"] + box["width"] <= width, (box, width)


@pytest.mark.parametrize("viewport", [PHONE, WIDE], ids=["390px", "1280px"])
def test_the_inbox_title_counts_unread_and_the_case_fits_the_screen(page: Page, viewport: ViewportSize) -> None:
    page.set_viewport_size(viewport)
    inbox_row(page, HOSTILE["name"])  # still waiting for an answer (the complaint above is answered)
    unread = int(page.locator("#rows").get_attribute("data-unread") or "0")
    assert unread > 0
    expect(page).to_have_title(re.compile(r"^\(\d+\+?\) Inbox"))  # a large count may be capped, as "(99+)"
    no_sideways_scroll(page)
    open_case(page, HOSTILE["name"])
    within_width(page, page.locator("#reply-text"))
    within_width(page, page.get_by_role("button", name="Send", exact=True))
    no_sideways_scroll(page)


def test_a_supervisor_reads_the_insight_page_once_the_figures_are_rolled_up(
    stack: launch.LocalStack, browser: Browser
) -> None:
    """The local stack rolls the figures up a minute after it starts (every 15 minutes after)."""
    context = signed_in(stack, browser, SUPERVISOR)
    try:
        page = context.new_page()

        def rolled_up() -> bool:
            page.goto("/console/insight")
            return page.locator("svg.chart rect").count() > 0

        wait_for(rolled_up, "the demo's figures on the Insight page", timeout=150, every=5)
        expect(page.get_by_role("heading", name="Insight", exact=True)).to_be_visible()
        expect(page.get_by_role("img", name="Volume and sentiment")).to_be_visible()
        expect(page.locator("#days-h")).to_be_visible()
        screenshot(page, "console-insight.png")
    finally:
        context.close()
