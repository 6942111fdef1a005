"""Registrants' personal data is removed `retention_days` after the workshop ends, however
often the organiser moves it: every personal item's TTL (`expires_at`) follows the end +
retention, and nothing erased comes back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.unit.registrations.conftest import (
    NOW,
    ORGANISER,
    Publish,
    all_items,
    event_item,
    guest_confirms,
    guest_registers,
    mail,
    manage_token,
    outbox,
    registration_of,
    registrations_of,
)

OLD_END = datetime(2021, 7, 22, 11, 30, tzinfo=UTC)  # 12:30 BST
NEW_END = datetime(2021, 7, 22, 14, 30, tzinfo=UTC)  # moved to 14:00-15:30 BST
EDITED = NOW + timedelta(hours=1)
AFTERNOON: dict[str, Any] = {
    "starts_at": "2021-07-22T14:00:00+01:00",
    "ends_at": "2021-07-22T15:30:00+01:00",
}


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _edit(event_id: str, *, now: datetime = EDITED, **changes: object) -> None:
    """PATCH /admin/events/{id} as the Organisers function does it."""
    from convene.events import service as events
    from convene.events.models import EventPatch
    from convene.registrations import organisers

    events.update_event(
        event_id, EventPatch.model_validate(changes), organiser=ORGANISER["sub"], now=now
    )
    organisers.after_event_update(event_id, now=now)


def _everyone(event_id: str) -> None:
    """Priya has a seat, Tom gave his up (so Ana holds an offer), Lee waits, Sam never
    confirmed his email."""
    from convene.registrations import service

    for n, name in enumerate(["Priya", "Tom", "Ana", "Lee"]):
        guest_confirms(
            event_id, name, f"{name.lower()}@example.org", now=NOW + timedelta(minutes=n)
        )
    tom = registration_of(event_id, "tom@example.org")
    service.cancel(tom["id"], manage_token("tom@example.org"), now=NOW + timedelta(minutes=10))
    guest_registers(event_id, "Sam", "sam@example.org", now=NOW + timedelta(minutes=20))


def _personal(event_id: str) -> dict[str, list[dict[str, Any]]]:
    items = all_items()
    regs = {r["id"] for r in registrations_of(event_id)}
    return {
        "registration": [i for i in items if i.get("entity") == "registration" and i["id"] in regs],
        "person": [
            i for i in items if i.get("entity") == "person" and i.get("event_id") == event_id
        ],
        "manage token": [
            i
            for i in items
            if i.get("entity") == "token"
            and i.get("purpose") == "manage"
            and i["registration_id"] in regs
        ],
    }


def _assert_follow(event_id: str, end: datetime, days: int = 90, *, moved: bool = True) -> None:
    from convene.timefmt import utc_iso

    until = end + timedelta(days=days)
    ttl = _epoch(until)
    found = _personal(event_id)
    assert {r["state"] for r in found["registration"]} == {
        "confirmed",
        "cancelled",
        "offered",
        "waitlisted",
        "pending_confirmation",
    }
    for reg in found["registration"]:
        if reg["state"] == "pending_confirmation":
            # An unconfirmed registration keeps its own short life: 48 hours and a day.
            assert reg["expires_at"] == _epoch(NOW + timedelta(minutes=20, hours=72))
        else:
            assert reg["expires_at"] == ttl, reg["state"]
    assert len(found["person"]) == 5
    assert {p["expires_at"] for p in found["person"]} == {ttl}
    assert len(found["manage token"]) >= 5
    assert {t["expires_at"] for t in found["manage token"]} == {ttl + 86_400}
    assert {t["expires"] for t in found["manage token"]} == {utc_iso(until)}
    if moved:
        assert event_item(event_id)["personal_until"] == ttl


def _walks() -> list[dict[str, Any]]:
    return [i for i in all_items() if i.get("entity") == "notice" and i["kind"] == "personal_data"]


def test_moving_the_workshop_moves_the_ttl_of_every_personal_item(july: str) -> None:
    _everyone(july)
    _assert_follow(july, OLD_END, moved=False)

    _edit(july, **AFTERNOON)

    _assert_follow(july, NEW_END)


def test_the_walk_finishes_once_requests_that_read_the_old_time_are_over(july: str) -> None:
    from convene.registrations import reminders, retention

    _everyone(july)
    _edit(july, **AFTERNOON)
    [walk] = _walks()
    assert not walk["done"]  # a second pass comes once the old reads are over

    reminders.run(EDITED + timedelta(minutes=5))
    assert not _walks()[0]["done"]
    reminders.run(EDITED + retention.SETTLE + timedelta(minutes=1))

    assert _walks()[0]["done"]
    _assert_follow(july, NEW_END)


def test_keeping_personal_data_for_less_time_moves_the_ttl(july: str) -> None:
    _everyone(july)

    _edit(july, retention_days=30)

    _assert_follow(july, OLD_END, days=30)


def test_moving_the_ttl_sends_no_email(july: str) -> None:
    from convene.registrations import reminders, retention

    _everyone(july)
    before = len(outbox())

    _edit(july, retention_days=30)
    reminders.run(EDITED + retention.SETTLE + timedelta(minutes=1))

    assert len(outbox()) == before


def test_an_old_manage_link_works_until_the_data_of_a_later_workshop_goes(july: str) -> None:
    from convene.registrations import service

    guest_confirms(july, "Priya", "priya@example.org")
    token = manage_token("priya@example.org")
    reg_id = registration_of(july, "priya@example.org")["id"]

    _edit(july, starts_at="2021-10-21T11:00:00+01:00", ends_at="2021-10-21T12:30:00+01:00")
    # Past the old end + 90 days, before the new one.
    view = service.manage_view(reg_id, token, now=OLD_END + timedelta(days=100))

    assert view.status == "confirmed"


def test_a_person_erased_while_the_ttl_moves_is_not_recreated(
    july: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from convene.registrations import service, table

    _everyone(july)
    lee = registration_of(july, "lee@example.org")
    lee_tokens = set(lee["manage_tokens"])
    real_page = table.all_registrations
    erased: list[str] = []

    def page_then_erase(*args: Any, **kwargs: Any) -> Any:
        page = real_page(*args, **kwargs)
        if not erased:  # Lee asks to be forgotten just after the walk read its page
            erased.append(lee["id"])
            service.erase_person("lee@example.org", now=EDITED)
        return page

    monkeypatch.setattr(table, "all_registrations", page_then_erase)
    _edit(july, **AFTERNOON)

    assert erased == [lee["id"]]
    left = all_items()
    # (Only the used confirm link is left: it opens nothing and goes within 3 days.)
    assert [
        i
        for i in left
        if (i.get("registration_id") == lee["id"] or i.get("id") == lee["id"])
        and i.get("purpose") != "confirm"
    ] == []
    assert [i for i in left if str(i["pk"]).removeprefix("TOKEN#") in lee_tokens] == []
    assert not [i for i in left if "lee@example.org" in str(i)]
    others = [r for r in registrations_of(july) if r["state"] != "pending_confirmation"]
    assert {r["expires_at"] for r in others} == {_epoch(NEW_END + timedelta(days=90))}


def test_erasing_a_registration_removes_its_manage_links(july: str) -> None:
    from convene.registrations import service

    guest_confirms(july, "Priya", "priya@example.org")
    token = manage_token("priya@example.org")
    reg_id = registration_of(july, "priya@example.org")["id"]

    service.erase_person("priya@example.org", now=NOW)

    assert not [
        i
        for i in all_items()
        if i.get("registration_id") == reg_id and i.get("purpose") != "confirm"
    ]
    with pytest.raises(Exception) as gone:
        service.manage_view(reg_id, token, now=NOW)
    assert getattr(gone.value, "code", None) == "unknown_token"


def test_a_write_that_read_the_old_time_is_put_right_by_the_next_pass(july: str) -> None:
    from convene.registrations import reminders, retention, table

    _everyone(july)
    state = table.load_event(july)
    assert state is not None
    old = state.event  # a scheduled run read the workshop just before it moved...
    _edit(july, **AFTERNOON)
    # ... and sends its one-hour reminder after the first pass went by (old end, old TTL).
    sent, _ = reminders.remind(old, old.starts_at - timedelta(minutes=30), budget=10)
    assert sent == 1
    assert registration_of(july, "priya@example.org")["expires_at"] == _epoch(
        OLD_END + timedelta(days=90)
    )

    reminders.run(EDITED + retention.SETTLE + timedelta(minutes=1))

    _assert_follow(july, NEW_END)
    assert _walks()[0]["done"]


def test_a_large_workshop_is_finished_by_the_scheduled_run(
    publish: Publish, monkeypatch: pytest.MonkeyPatch
) -> None:
    from convene.registrations import reminders, retention

    event_id = publish(capacity=4)
    for n in range(8):
        guest_confirms(event_id, f"Guest {n}", f"guest{n}@example.org")
    monkeypatch.setattr(retention, "REQUEST_BUDGET", 4)

    _edit(event_id, retention_days=30)
    ttl = _epoch(OLD_END + timedelta(days=30))
    moved = [p for p in _personal(event_id)["person"] if p["expires_at"] == ttl]
    assert 0 < len(moved) < 8  # the request did the first ones

    reminders.run(EDITED + timedelta(minutes=5))

    assert {r["expires_at"] for r in registrations_of(event_id)} == {ttl}
    assert {p["expires_at"] for p in _personal(event_id)["person"]} == {ttl}


def test_an_edit_whose_request_stopped_short_is_followed_by_the_scheduled_run(
    july: str,
) -> None:
    from convene.events import service as events
    from convene.events.models import EventPatch
    from convene.registrations import reminders

    _everyone(july)
    # The edit is stored, but the request ends before after_event_update.
    events.update_event(
        july, EventPatch.model_validate(AFTERNOON), organiser=ORGANISER["sub"], now=EDITED
    )

    summary = reminders.run(EDITED + timedelta(minutes=5))

    assert summary.personal_data == 1
    _assert_follow(july, NEW_END)
    assert len(mail(kind="event_changed")) == 3  # the notice too: Priya, Ana and Lee


def test_publishing_a_workshop_starts_no_walk(publish: Publish) -> None:
    from convene.events import service as events
    from convene.events.models import EventDraft, EventPatch
    from convene.registrations import organisers

    from tests.unit.registrations.conftest import workshop_draft

    created = events.create_event(
        EventDraft.model_validate(workshop_draft()), organiser=ORGANISER["sub"], now=NOW
    )
    events.update_event(
        created.id, EventPatch(status="published", version=1), organiser=ORGANISER["sub"], now=NOW
    )
    organisers.after_event_update(created.id, now=NOW)

    assert _walks() == []
    assert event_item(created.id)["personal_until"] == _epoch(OLD_END + timedelta(days=90))
