"""The scheduler: EventBridge Scheduler (and classic rules) firing the functions."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from infra.local.runtime import Runtime
from infra.local.scheduler import CronExpression, Scheduler, parse_rate, scheduled_time
from tests.unit.twin.fixtures import recorder

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = json.loads((ROOT / "events" / "scheduled-event.json").read_text())
WORKSHOP = datetime(2021, 7, 22, 10, 0, tzinfo=UTC)  # Community Space, 11:00 BST


def test_the_templates_schedules_are_listed(runtime: Runtime, doc: dict) -> None:
    schedules = {s.event_name: s for s in Scheduler(runtime, doc).schedules()}

    five = schedules["EveryFiveMinutes"]
    assert (five.function_id, five.kind, five.expression) == (
        "RemindersFunction",
        "ScheduleV2",
        "rate(5 minutes)",
    )
    assert five.arn.startswith("arn:aws:scheduler:eu-west-2:123456789012:schedule/default/")
    assert five.fires
    assert schedules["MorningDigest"].kind == "Schedule"


def test_invoke_at_substitutes_the_scheduler_context_attributes(
    runtime: Runtime, doc: dict
) -> None:
    scheduler = Scheduler(runtime, doc)

    result = scheduler.invoke_at("RemindersFunction", WORKSHOP - timedelta(hours=1))

    assert result == {"seen": "2021-07-22T09:00:00Z"}
    event = recorder.calls("reminders.events")[-1]
    assert event["now"] == "2021-07-22T09:00:00Z"
    assert event["attempt"] == "1"
    assert event["schedule"].startswith("arn:aws:scheduler:eu-west-2:123456789012:schedule/")
    assert len(event["execution"]) == 36
    assert "<aws.scheduler" not in json.dumps(event)


def test_a_classic_schedule_sends_the_scheduled_event_shape(runtime: Runtime, doc: dict) -> None:
    scheduler = Scheduler(runtime, doc)

    scheduler.invoke_at("RemindersFunction", WORKSHOP, event_name="MorningDigest")

    event = recorder.calls("reminders.events")[-1]
    assert set(event) == set(SAMPLE) | {"version"}  # AWS sends "version": "0" too
    assert event["time"] == "2021-07-22T10:00:00Z"
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"][0].startswith("arn:aws:events:eu-west-2:123456789012:rule/")


def test_the_clock_fires_a_rate_schedule_when_due(runtime: Runtime, doc: dict) -> None:
    now = [WORKSHOP]
    scheduler = Scheduler(runtime, doc, clock=lambda: now[0], tick=0.01)
    before = len(recorder.calls("reminders.events"))
    scheduler.start()
    try:
        now[0] = WORKSHOP + timedelta(minutes=5, seconds=1)
        deadline = time.monotonic() + 10
        while len(recorder.calls("reminders.events")) == before and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        scheduler.stop()

    assert len(recorder.calls("reminders.events")) > before
    fired = [(e, t) for f, e, t in scheduler.fired]
    assert ("EveryFiveMinutes", WORKSHOP + timedelta(minutes=5)) in fired
    assert recorder.calls("reminders.events")[before]["now"] == "2021-07-22T10:05:00Z"
    assert ("MorningDigest", WORKSHOP + timedelta(minutes=5)) not in fired


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(12 hours)", timedelta(hours=12)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate(7 days)", timedelta(days=7)),
    ],
)
def test_rate_expressions_are_parsed(expression: str, expected: timedelta) -> None:
    assert parse_rate(expression) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "rate(5 minute)",
        "rate(1 minutes)",
        "rate(0 minutes)",
        "rate(5 weeks)",
        "rate(five minutes)",
        "5m",
    ],
)
def test_rate_expressions_aws_refuses_are_refused(expression: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(expression)


@pytest.mark.parametrize(
    ("expression", "after", "zone", "expected"),
    [
        ("cron(0 9 * * ? *)", "2021-07-21T10:00", "UTC", "2021-07-22T09:00:00Z"),
        ("cron(0 9 * * ? *)", "2021-07-21T07:00", "Europe/London", "2021-07-21T08:00:00Z"),
        ("cron(0/15 * * * ? *)", "2021-07-21T10:07", "UTC", "2021-07-21T10:15:00Z"),
        ("cron(30 10 ? * MON-FRI *)", "2021-07-23T11:00", "UTC", "2021-07-26T10:30:00Z"),
        ("cron(0 12 L * ? *)", "2021-07-01T00:00", "UTC", "2021-07-31T12:00:00Z"),
        ("cron(0 10 ? * 5#4 *)", "2021-07-01T00:00", "UTC", "2021-07-22T10:00:00Z"),
        ("cron(0 0 1 JAN ? 2022)", "2021-07-01T00:00", "UTC", "2022-01-01T00:00:00Z"),
    ],
)
def test_cron_expressions_give_the_next_run(
    expression: str, after: str, zone: str, expected: str
) -> None:
    start = datetime.fromisoformat(after).replace(tzinfo=UTC)

    nxt = CronExpression.parse(expression).next_after(start, ZoneInfo(zone))

    assert nxt is not None and scheduled_time(nxt) == expected


def test_a_cron_expression_with_both_day_fields_is_refused() -> None:
    with pytest.raises(ValueError):
        CronExpression.parse("cron(0 9 * * MON *)")
