"""The case worklist on moto: a page is merged from the index's eight shards, and paging with the
cursor returns every case once, in deadline order, however unevenly the shards are filled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib import dependencies
from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.decision import Intent, Priority
from chalicelib.store import keys
from chalicelib.store.serde import case_item

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def case(case_id: str, due_at: datetime, team: str = "support") -> Case:
    return Case(
        case_id=case_id,
        customer_id=case_id.split("_")[0],
        status=CaseStatus.OPEN,
        team=team,
        priority=Priority.P2,
        intent=Intent.COMPLAINT,
        rule="complaint",
        platform="messenger",
        thread_key=f"messenger:{case_id}",
        opened_at=due_at - timedelta(hours=2),
        due_at=due_at,
        last_inbound_at=due_at - timedelta(hours=2),
    )


def ids_in_shard(wanted: int, count: int) -> list[str]:
    found: list[str] = []
    number = 0
    while len(found) < count:
        case_id = f"cust{number}_20261122090000{number:06x}"
        if keys.shard(case_id) == wanted:
            found.append(case_id)
        number += 1
    return found


def test_paging_returns_every_case_once_when_one_shard_holds_most_of_them(pipeline: dict[str, str]) -> None:
    store = dependencies.case_store()
    crowded = ids_in_shard(0, 12)
    other = ids_in_shard(3, 1)
    cases = [case(case_id, T0 + timedelta(minutes=index)) for index, case_id in enumerate(other + crowded)]
    cases.append(case(ids_in_shard(5, 1)[0], T0 + timedelta(minutes=30), team="sales"))
    for each in cases:
        case_item(each).save()

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page, cursor = store.worklist(CaseStatus.OPEN, "support", 5, cursor)
        seen += [found.case_id for found in page]
        pages += 1
        if cursor is None:
            break
    assert seen == [each.case_id for each in cases if each.team == "support"]  # 13, deadline order, once
    assert pages == 3


def test_a_case_expires_with_its_last_activity_like_the_interactions_it_lists(pipeline: dict[str, str]) -> None:
    from chalicelib.config import settings
    from chalicelib.models.case import CaseStatus as Status
    from chalicelib.store.keys import PROFILE
    from chalicelib.store.models import CaseItem, CustomerItem

    store = dependencies.case_store()
    opened = case(ids_in_shard(1, 1)[0], T0)
    CustomerItem(keys.customer(opened.customer_id), PROFILE, customer_id=opened.customer_id, created_at=T0).save()
    case_item(opened, timedelta(days=30)).save()
    stored = CaseItem.get(keys.customer(opened.customer_id), keys.case_sk(opened.case_id))
    assert stored.expires_at == opened.last_inbound_at + timedelta(days=30)

    resolved_at = T0 + timedelta(days=3)
    from chalicelib.rules import cases as case_rules

    store.change(
        opened.case_id,
        lambda current, state, trend, samples: (
            case_rules.set_status(current, Status.RESOLVED, "ana@ops", resolved_at),
            state,
        ),
    )
    stored = CaseItem.get(keys.customer(opened.customer_id), keys.case_sk(opened.case_id))
    assert stored.status == "resolved"
    assert stored.expires_at == resolved_at + timedelta(days=settings().retention_days)
