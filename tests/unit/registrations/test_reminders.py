"""The scheduled run: reminders before the 22 July workshop, and offers that lapse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import ModuleType

from tests.unit.registrations.conftest import (
    JOINING_URL,
    NOW,
    Publish,
    event_item,
    guest_confirms,
    mail,
    manage_token,
    registration_of,
)

START = datetime(2021, 7, 22, 10, 0, tzinfo=UTC)  # 11:00 BST


def _run(at: datetime) -> object:
    from convene.registrations import reminders

    return reminders.run(at)


def _seated(event_id: str) -> None:
    guest_confirms(event_id, "Priya", "priya@example.org")
    guest_confirms(event_id, "Tom", "tom@example.org")


def test_each_confirmed_registrant_gets_the_day_before_reminder_once(july: str) -> None:
    _seated(july)
    guest_confirms(july, "Ana", "ana@example.org")  # waiting: no reminder

    _run(START - timedelta(days=2))  # nothing due yet
    assert mail(kind="event_reminder") == []

    _run(START - timedelta(hours=23, minutes=58))
    _run(START - timedelta(hours=23, minutes=53))  # the next run: nothing twice

    sent = mail(kind="event_reminder")
    assert sorted(m["to"] for m in sent) == ["priya@example.org", "tom@example.org"]
    reminder = sent[0]
    assert reminder["data"]["joining_url"] == JOINING_URL
    assert reminder["ics"]["method"] == "REQUEST"
    assert reminder["ics"]["url"] == JOINING_URL
    assert reminder["list_kind"] == "reminders"


def test_a_repeated_run_at_the_same_time_sends_nothing_twice(july: str) -> None:
    _seated(july)
    at = START - timedelta(minutes=55)

    _run(at)
    _run(at)

    assert len(mail("priya@example.org", "event_reminder")) == 1


def test_both_reminders_go_out_at_their_times(july: str) -> None:
    _seated(july)

    _run(START - timedelta(hours=24))
    _run(START - timedelta(minutes=60))

    assert len(mail("priya@example.org", "event_reminder")) == 2


def test_after_a_missed_run_the_next_one_catches_up(july: str) -> None:
    _seated(july)
    # The run at 09:00 UTC (an hour before) never happened; the next one comes at 09:05.
    _run(START - timedelta(minutes=55))

    [reminder] = mail("priya@example.org", "event_reminder")
    assert reminder["dedupe_key"].endswith("60m20210722T100000Z")


def test_an_outage_past_both_times_sends_only_the_latest_reminder(july: str) -> None:
    _seated(july)

    _run(START - timedelta(minutes=30))

    [reminder] = mail("priya@example.org", "event_reminder")
    assert "60m" in reminder["dedupe_key"]


def test_nothing_goes_out_after_the_start(july: str) -> None:
    _seated(july)

    _run(START)
    _run(START + timedelta(minutes=5))

    assert mail(kind="event_reminder") == []


def test_someone_confirmed_after_a_reminder_went_out_gets_the_next_one(july: str) -> None:
    guest_confirms(july, "Priya", "priya@example.org")
    _run(START - timedelta(hours=23))
    guest_confirms(july, "Tom", "tom@example.org", now=START - timedelta(hours=5))

    _run(START - timedelta(minutes=58))

    assert len(mail("priya@example.org", "event_reminder")) == 2
    assert len(mail("tom@example.org", "event_reminder")) == 1


def test_a_workshop_can_have_its_own_reminders(publish: Publish) -> None:
    event_id = publish(reminders_minutes_before=[30])
    guest_confirms(event_id, "Priya", "priya@example.org")

    _run(START - timedelta(hours=23))
    _run(START - timedelta(minutes=29))

    [reminder] = mail("priya@example.org", "event_reminder")
    assert "30m" in reminder["dedupe_key"]


def test_a_run_is_bounded_and_the_next_run_carries_on(publish: Publish) -> None:
    from convene.registrations import reminders

    event_id = publish(capacity=5)
    for n in range(5):
        guest_confirms(event_id, f"Guest {n}", f"guest{n}@example.org")
    at = START - timedelta(minutes=50)

    first = reminders.run(at, budget=2)
    second = reminders.run(at + timedelta(minutes=5), budget=2)
    third = reminders.run(at + timedelta(minutes=10), budget=2)

    assert (first.reminders, second.reminders, third.reminders) == (2, 2, 1)
    assert len(mail(kind="event_reminder")) == 5


def test_an_offer_that_lapses_passes_the_seat_to_the_next_person(july: str) -> None:
    from convene.registrations import service

    _seated(july)
    guest_confirms(july, "Ana", "ana@example.org")
    guest_confirms(july, "Lee", "lee@example.org")
    tom = registration_of(july, "tom@example.org")
    service.cancel(tom["id"], manage_token("tom@example.org"), now=NOW)
    assert registration_of(july, "ana@example.org")["state"] == "offered"

    _run(NOW + timedelta(hours=23, minutes=55))  # still held
    assert registration_of(july, "ana@example.org")["state"] == "offered"
    summary = _run(NOW + timedelta(hours=24, minutes=5))

    assert summary.lapsed == 1  # type: ignore[attr-defined]
    assert registration_of(july, "ana@example.org")["state"] == "lapsed"
    assert registration_of(july, "lee@example.org")["state"] == "offered"
    assert mail("ana@example.org", "offer_lapsed")
    assert mail("lee@example.org", "waitlist_offer")
    assert event_item(july)["seats_taken"] == 2
    assert event_item(july)["waiting"] == 0


def test_the_handler_takes_now_from_the_scheduled_time(
    july: str, functions: dict[str, ModuleType]
) -> None:
    from tests.helpers import LambdaContext

    _seated(july)
    event = {"scheduled_time": "2021-07-21T10:05:00Z"}

    result = functions["reminders"].lambda_handler(event, LambdaContext())
    again = functions["reminders"].lambda_handler(event, LambdaContext())

    assert result["scheduled_time"] == "2021-07-21T10:05:00Z"
    assert result["reminders"] == 2
    assert again["reminders"] == 0


def test_the_template_runs_reminders_every_five_minutes_with_the_slots_time() -> None:
    import json

    from infra.local import template

    function = template.load()["Resources"]["RemindersFunction"]["Properties"]
    schedules = [e["Properties"] for e in function["Events"].values() if e["Type"] == "ScheduleV2"]

    assert [s["ScheduleExpression"] for s in schedules] == ["rate(5 minutes)"]
    assert json.loads(schedules[0]["Input"]) == {"scheduled_time": "<aws.scheduler.scheduled-time>"}
