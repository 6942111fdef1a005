"""The moderators' digest, from the scheduled run: one email to the moderators' address
when comments wait and the last digest is older than the interval; never one per comment,
never two for one interval, none when nothing waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from convene.email.outbox import MODERATORS
from convene.moderation import digest
from convene.timefmt import utc_iso

from tests.helpers import LambdaContext, load_handler
from tests.unit.moderation.conftest import (
    BLOCKED,
    Desk,
    caught,
    main_items,
    outbox,
    report,
    waiting,
)


def _digests() -> list[dict[str, Any]]:
    return [m for m in outbox() if m["kind"] == "moderation_digest"]


def _at(minutes: float) -> datetime:
    """The scheduled run `minutes` from now (runs are 5 minutes apart)."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes)


@pytest.fixture(scope="module")
def reminders() -> ModuleType:
    return load_handler("reminders")


def _run(reminders: ModuleType, at: datetime) -> dict[str, Any]:
    event = {"scheduled_time": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    result: dict[str, Any] = reminders.lambda_handler(event, LambdaContext())
    return result


def test_nothing_waiting_sends_nothing(desk: Desk, reminders: ModuleType) -> None:
    result = _run(reminders, _at(5))

    assert result["moderation_digest"] == "nothing_waiting"
    assert _digests() == []


def test_one_digest_for_many_waiting_comments(desk: Desk, reminders: ModuleType) -> None:
    first = waiting("The first of many.")
    for n in range(4):
        waiting(f"More {n}")
    desk.decide(first, "approve")
    report(first, "off_topic")

    result = _run(reminders, _at(5))

    assert result["moderation_digest"] == "sent"
    (sent,) = _digests()
    assert sent["to"] == MODERATORS
    assert sent["list_kind"] == "digest"
    assert sent["data"]["pending_count"] == 4
    assert sent["data"]["reported_count"] == 1
    assert sent["data"]["console_url"] == "https://community.example.org/console/"
    assert sent["data"]["oldest_waiting_since"].endswith("Z")


def test_a_repeated_run_sends_nothing_twice(desk: Desk, reminders: ModuleType) -> None:
    waiting("Waiting for review.")
    at = _at(5)

    outcomes = [_run(reminders, at)["moderation_digest"] for _ in range(3)]

    assert outcomes == ["sent", "not_due", "not_due"]
    assert len(_digests()) == 1


def test_at_most_one_digest_per_interval(desk: Desk, reminders: ModuleType) -> None:
    waiting("Waiting for review.")

    outcomes = [_run(reminders, _at(5 * n))["moderation_digest"] for n in range(1, 15)]

    # Runs every 5 minutes for 70 minutes: the first sends, the next at +60 minutes.
    assert outcomes.count("sent") == 2
    assert outcomes[0] == "sent" and outcomes[12] == "sent"
    assert len(_digests()) == 2


def test_the_interval_is_configured(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODERATION_DIGEST_MINUTES", "15")
    waiting("Waiting for review.")

    outcomes = [digest.send_digest(_at(5 * n)).outcome for n in range(1, 6)]

    assert outcomes == ["sent", "not_due", "not_due", "sent", "not_due"]


def test_two_runs_at_once_send_one_digest(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    waiting("Waiting for review.")
    at = _at(5)
    # Both runs read the digest state before either writes it.
    before = digest.table.get_digest()
    monkeypatch.setattr(digest.table, "get_digest", lambda: before)

    outcomes = [
        digest.send_digest(at).outcome,
        digest.send_digest(at + timedelta(seconds=1)).outcome,
    ]

    assert sorted(outcomes) == ["sent", "sent_by_another_run"]
    assert len(_digests()) == 1


def test_the_digest_says_when_the_next_caught_comment_goes(
    desk: Desk, reminders: ModuleType
) -> None:
    desk.call("put_block", body={"kind": "word", "value": BLOCKED})
    comment_id = caught()
    expiry = next(
        i["expires_at"]
        for i in main_items()
        if i["pk"] == f"COMMENT#{comment_id}" and i["sk"] == "COMMENT"
    )
    # Caught spam alone sends no digest: a flood of it would mail the moderators.
    assert _run(reminders, _at(5))["moderation_digest"] == "nothing_waiting"

    waiting("A real question about the workshop.")
    assert _run(reminders, _at(10))["moderation_digest"] == "sent"

    (sent,) = _digests()
    assert sent["data"]["spam_next_deletion_at"] == utc_iso(
        datetime.fromtimestamp(int(expiry), UTC)
    )


def test_the_digest_gives_times_in_the_community_zone(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.local.env import function_environment

    # The stack gives the scheduled run the zone its parameter names (Europe/London unless
    # the deployment says otherwise).
    zone = function_environment("RemindersFunction")["MODERATION_DIGEST_TIMEZONE"]
    assert zone == "Europe/London"
    monkeypatch.setenv("MODERATION_DIGEST_TIMEZONE", zone)
    waiting("Waiting for review.")

    assert digest.send_digest(_at(5)).sent
    (sent,) = _digests()
    assert sent["data"]["timezone"] == "Europe/London"


def test_an_unknown_zone_still_sends_the_digest_in_utc(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODERATION_DIGEST_TIMEZONE", "Mars/Olympus_Mons")
    waiting("Waiting for review.")

    assert digest.send_digest(_at(5)).sent
    (sent,) = _digests()
    assert sent["data"]["timezone"] == "UTC"
