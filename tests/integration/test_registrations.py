"""Registering over HTTP against the twin: a guest confirms through the link in the email,
sees the joining link on their own page and cancels; a member registers at once;
reminders go out once from the scheduled run."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.integration.twin import Twin

JOINING_URL = "https://meet.example.org/community-space/twin-7d1e"


def _address(name: str) -> str:
    # Unique per run: a twin reused across runs never mixes up its mail.
    return f"{name}+{uuid.uuid4().hex[:8]}@example.net"


def _workshop(twin: Twin, start: datetime, **changes: Any) -> str:
    draft = {
        "title": f"Community Space: what works ({uuid.uuid4().hex[:6]})",
        "summary": "Bring one thing that worked for you this year.",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=90)).isoformat(),
        "timezone": "Europe/London",
        "capacity": 2,
        "joining_url": JOINING_URL,
        **changes,
    }
    headers = twin.headers("organiser")
    created = twin.post("/admin/events", json=draft, headers=headers)
    assert created.status_code == 201, created.text
    event_id = str(created.json()["id"])
    published = twin.patch(
        f"/admin/events/{event_id}", json={"status": "published"}, headers=headers
    )
    assert published.status_code == 200, published.text
    return event_id


def _start(days: int) -> datetime:
    # A whole minute some days ahead, with a random minute so runs never share a slot.
    base = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=days)
    return base.replace(hour=10, minute=uuid.uuid4().int % 60)


def _link(twin: Twin, to: str, pattern: str) -> str:
    twin.drain()
    for mail in reversed(twin.mail(to=to)):
        found = re.search(pattern, mail.get("text") or "")
        if found:
            return found.group(0)
    raise AssertionError(f"no link matching {pattern} in the mail to {to}")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_a_guest_registers_confirms_by_email_and_sees_the_joining_link(twin: Twin) -> None:
    event_id = _workshop(twin, _start(20))
    email = _address("amara.guest")

    registered = twin.post(
        f"/events/{event_id}/registrations",
        json={"name": "Amara Guest", "email": email, "consent": True},
    )
    assert registered.status_code == 202, registered.text
    assert registered.json()["status"] == "pending_confirmation"
    assert email not in registered.text

    confirm = _link(twin, email, r"https?://\S+/registrations/confirm\?token=[\w-]+")
    landed = twin.get(_path(confirm), allow_redirects=False)
    assert landed.status_code == 303, landed.text
    assert landed.headers["Location"].endswith(
        f"/workshops/{event_id}/?registration=confirmed#registration-confirmed"
    )
    again = twin.get(_path(confirm), allow_redirects=False)
    assert again.status_code == 303  # a second click is harmless

    manage = _link(twin, email, r"https?://\S+/registration\.html\?id=reg_\w+&token=[\w-]+")
    query = parse_qs(urlsplit(manage).query)
    registration_id, token = query["id"][0], query["token"][0]
    view = twin.get(f"/registrations/{registration_id}", params={"token": token})
    assert view.status_code == 200, view.text
    assert view.json()["status"] == "confirmed"
    assert view.json()["joining_url"] == JOINING_URL
    assert email not in view.text

    ics = twin.get(f"/registrations/{registration_id}/calendar.ics", params={"token": token})
    assert ics.status_code == 200
    assert "BEGIN:VCALENDAR" in ics.text

    cancelled = twin.post(f"/registrations/{registration_id}/cancel", params={"token": token})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"


def test_an_unknown_confirm_link_is_not_found(twin: Twin) -> None:
    answer = twin.post("/registrations/confirm", params={"token": "x" * 43})

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "unknown_token"


def test_a_member_token_registers_at_once(twin: Twin) -> None:
    event_id = _workshop(twin, _start(21), audience="members")

    guest = twin.post(
        f"/events/{event_id}/registrations",
        json={"name": "A guest", "email": _address("guest"), "consent": True},
    )
    member = twin.post(
        f"/events/{event_id}/registrations",
        json={"name": "Amara Okafor", "consent": True},
        headers=twin.headers("member"),
    )

    assert guest.status_code == 401
    assert guest.json()["error"]["code"] == "sign_in_required"
    assert member.status_code == 201, member.text
    assert member.json()["status"] == "confirmed"


def test_reminders_go_out_once_from_the_scheduled_run(twin: Twin) -> None:
    start = _start(22)
    event_id = _workshop(twin, start)
    email = _address("tom.reminded")
    twin.post(
        f"/events/{event_id}/registrations",
        json={"name": "Tom Reminded", "email": email, "consent": True},
    )
    confirm = _link(twin, email, r"https?://\S+/registrations/confirm\?token=[\w-]+")
    assert twin.post(_path(confirm)).status_code == 200
    twin.drain()
    before = len(twin.mail(to=email))

    first = twin.invoke("Reminders", start - timedelta(minutes=58))
    twin.drain()
    after_first = twin.mail(to=email)
    twin.invoke("Reminders", start - timedelta(minutes=58))
    twin.invoke("Reminders", start - timedelta(minutes=53))
    twin.drain()

    assert first["result"]["reminders"] >= 1
    assert len(after_first) == before + 1
    reminder = after_first[-1]
    assert JOINING_URL in (reminder.get("text") or "")
    assert any(a["content_type"] == "text/calendar" for a in reminder["attachments"])
    assert len(twin.mail(to=email)) == before + 1  # a repeated run sends nothing twice
