"""GET /moderation/stats: queue depths and decisions per day come from counters kept in
the transactions that change them; the oldest wait is one item of the queue's index."""

from __future__ import annotations

from datetime import UTC, datetime

from convene.comments import service as comments

from tests.unit.moderation.conftest import Desk, main_items, report, waiting


def test_an_empty_desk(desk: Desk) -> None:
    answer = desk.stats()

    assert answer.status == 200, answer.text
    assert answer.json["queues"] == {
        "pending": {"depth": 0, "oldest_at": None, "oldest_age_seconds": None},
        "reported": {"depth": 0, "oldest_at": None, "oldest_age_seconds": None},
    }
    assert answer.json["decisions_today"] == 0
    assert len(answer.json["decisions_per_day"]) == 7


def test_depths_and_decisions_follow_every_change(desk: Desk) -> None:
    ids = [waiting(f"Comment {n}") for n in range(5)]
    desk.decide(ids[0], "approve")
    desk.decide(ids[1], "approve")
    desk.decide(ids[2], "reject", reason_code="off_topic")
    report(ids[0], "abusive")
    report(ids[0], "off_topic")  # a second report: still one comment in the queue
    report(ids[1], "abusive")
    desk.decide(ids[1], "approve")  # kept: leaves the reported queue
    decided_on = desk.clock.now.date().isoformat()
    desk.clock.advance(minutes=30)  # after 23:30 UTC this is the next day
    today = desk.clock.now.date().isoformat()

    stats = desk.stats().json

    assert stats["queues"]["pending"]["depth"] == 2
    assert stats["queues"]["reported"]["depth"] == 1
    assert stats["queues"]["pending"]["oldest_age_seconds"] >= 30 * 60
    assert stats["decisions_per_day"][-1]["day"] == today
    [day] = [d for d in stats["decisions_per_day"] if d["day"] == decided_on]
    assert (day["approve"], day["reject"], day["spam"], day["total"]) == (3, 1, 0, 4)
    assert stats["decisions_today"] == (4 if decided_on == today else 0)


def test_the_counters_are_stored_not_counted_on_request(desk: Desk, ddb_calls: list[str]) -> None:
    for n in range(3):
        waiting(f"Comment {n}")
    counters = [i for i in main_items() if i["pk"] == "MODSTATS"]
    assert sum(int(c["depth"]) for c in counters if c["sk"].startswith("QUEUE#pending#")) == 3
    ddb_calls.clear()

    desk.stats()

    # Counters (1 Query), days (1 Query), the oldest of each counted queue (1 Query of 1
    # item each), the spam queue's oldest kept (1 Query).
    assert sorted(ddb_calls) == ["Query"] * 5


def test_erasing_a_waiting_comment_takes_it_off_the_count(desk: Desk) -> None:
    waiting("Please remove me later.", email="leaving@example.org")
    waiting("Staying.")

    comments.erase_person("leaving@example.org", now=datetime.now(UTC))

    assert desk.stats().json["queues"]["pending"]["depth"] == 1


def test_days_outside_the_range_are_zero(desk: Desk) -> None:
    stats = desk.stats(days="3").json

    assert [d["total"] for d in stats["decisions_per_day"]] == [0, 0, 0]
    assert desk.stats(days="32").status == 422


def test_erasing_a_person_forgets_their_history(desk: Desk) -> None:
    comment_id = waiting("Mine.", email="leaving@example.org")
    desk.decide(comment_id, "reject", reason_code="off_topic")
    assert [i for i in main_items() if i["sk"] == "MODERATION"]

    comments.erase_person("leaving@example.org", now=datetime.now(UTC))

    assert [i for i in main_items() if i["sk"] == "MODERATION"] == []
