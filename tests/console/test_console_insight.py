"""The insight page: the supervisor's charts and tables, drawn from the figures the pipeline kept."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import dependencies
from chalicelib.console import charts
from chalicelib.insight.service import rollup
from tests.console_client import Browser
from tests.helpers import meta_message, process_queue
from tools.webhook_client import sign

PAGE = "104000000000099"


def test_a_supervisor_sees_volume_sentiment_response_times_and_worth(client: Any, pipeline, secrets, sqs) -> None:
    now = datetime.now(UTC)
    for number, text in enumerate(("This is terrible, my order is lost", "Lovely service, thank you!")):
        body = meta_message(PAGE, f"2500000000000070{number}", f"mid.i{number}", text, now - timedelta(minutes=30))
        request = sign("meta", body, secrets)
        assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    rollup(dependencies.figure_store(), now)

    browser = Browser(client)
    browser.sign_in("supervisor")
    page = browser.get("/console/insight")
    assert page.status == 200
    # Two inbound bars, stacked by sentiment, with what each stands for.
    labels = re.findall(r"<title>([^<]+)</title></rect>", page.body)
    assert sorted(label.split(": ")[1] for label in labels) == ["1 negative", "1 positive"]
    assert "Net sentiment <strong>+0.0</strong>" in page.body
    assert "no cost per contact configured" in page.body
    assert f"<td>{now.date().isoformat()}</td><td>messenger</td><td>2</td>" in page.body
    assert "order is lost" not in page.body  # the figures hold counts, not words
    # Topics, counted by the schedule, with links to their examples' cases.
    dependencies.topics().count(now)
    page = browser.get("/console/insight")
    assert re.search(r"<tr><td>order</td><td>1</td>", page.body), page.body
    # An example's words, as stored, only in its link's title (escaped like any customer text).
    assert 'title="This is terrible, my order is lost">1</a>' in page.body
    # Segments, once the daily job has run.
    assert "The daily segment job has not run" in page.body
    dependencies.segments().run(now)
    page = browser.get("/console/insight")
    assert "The daily segment job has not run" not in page.body
    # Two customers are too few to cluster: the rules' rows only.
    assert "<tr><td>dormant</td><td>0</td><td>Nothing heard for two months.</td></tr>" in page.body
    assert browser.get("/console/insight?from=2026-02-30").body.count('role="alert"') == 1


def test_volume_bars_stack_by_sentiment_and_scale_to_the_busiest_day() -> None:
    days = [
        {"date": "d1", "inbound": 4, "outbound": 2, "positive": 1, "negative": 2, "neutral": 0, "mixed": 0},
        {"date": "d2", "inbound": 8, "outbound": 0, "positive": 8, "negative": 0, "neutral": 0, "mixed": 0},
    ]
    drawn = charts.volume_bars(days, width=200, height=100)
    assert drawn["top"] == 8
    first = [bar for bar in drawn["bars"] if bar.label.startswith("d1")]
    # Bottom up: negative, then positive, then the one message without sentiment, to half height.
    assert [(bar.label.split(": ")[1], bar.height) for bar in first] == [
        ("1 unanalysed", 12.5),
        ("2 negative", 25.0),
        ("1 positive", 12.5),
    ]
    assert min(bar.y for bar in first) == 50.0
    assert drawn["outbound"] == "50.0,75.0 150.0,100.0"
    assert charts.line([None, 60.0, 120.0], width=300, height=100)["dots"] == [(150.0, 50.0), (250.0, 2.0)]
    assert charts.line([None, None])["points"] == ""


def test_the_chart_has_a_slot_for_every_day_of_the_period() -> None:
    from chalicelib.console.insight import every_day

    busy = {"date": "2026-11-02", "inbound": 4, "outbound": 1, "negative": 4, "mixed": 0, "neutral": 0,
            "positive": 0, "first_response_p50_s": 60}  # fmt: skip
    slots = every_day([busy], "2026-11-01", "2026-11-03")
    assert [slot["date"] for slot in slots] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert slots[1] is busy
    assert (slots[0]["inbound"], slots[2]["first_response_p50_s"]) == (0, None)
    bars = charts.volume_bars(slots)["bars"]
    assert len(bars) == 1
    assert bars[0].width < 640 / 3  # a day wide, not the whole chart
