"""Realistic outbox messages: the Community Space workshop of Thursday 22 July 2021
(11:00-12:30 in London, BST) and the blog post "This is your Community Space"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from convene.email.outbox import MODERATORS, ORGANISERS, IcsEvent, OutboxMessage

SITE = "https://community.example.org"
GUEST = "amara.okafor@example.net"

WORKSHOP_STARTS = datetime(2021, 7, 22, 10, 0, tzinfo=UTC)
WORKSHOP_ENDS = datetime(2021, 7, 22, 11, 30, tzinfo=UTC)
WORKSHOP = {
    "title": "Community Space",
    "starts_at": "2021-07-22T10:00:00Z",
    "ends_at": "2021-07-22T11:30:00Z",
    "timezone": "Europe/London",
}
POST = {"title": "This is your Community Space", "url": f"{SITE}/blog/this-is-your-community-space"}


def workshop_ics(method: str = "REQUEST", sequence: int = 0) -> IcsEvent:
    return IcsEvent(
        uid="convene-evt_cs2021jul-reg_7f3a9c",
        sequence=sequence,
        title="Community Space",
        description="An online workshop for the community. Members: register to join the event.",
        starts_at=WORKSHOP_STARTS,
        ends_at=WORKSHOP_ENDS,
        timezone="Europe/London",
        url=f"{SITE}/events/evt_cs2021jul",
        method=method,
    )


DATA: dict[str, dict[str, Any]] = {
    "registration_confirm_request": {
        "event": WORKSHOP,
        "name": "Amara",
        "confirm_url": f"{SITE}/registrations/confirm?token=tok_confirm",
    },
    "registration_confirmed": {
        "event": WORKSHOP,
        "name": "Amara",
        "joining_url": "https://meet.example.org/community-space",
        "manage_url": f"{SITE}/registrations/reg_7f3a9c?token=tok_manage",
    },
    "registration_waitlisted": {
        "event": WORKSHOP,
        "position": 3,
        "manage_url": f"{SITE}/registrations/reg_7f3a9c?token=tok_manage",
    },
    "waitlist_offer": {
        "event": WORKSHOP,
        "accept_url": f"{SITE}/registrations/confirm?token=tok_offer",
        "offer_expires_at": "2021-07-21T11:00:00Z",
        "manage_url": f"{SITE}/registrations/reg_7f3a9c?token=tok_manage",
    },
    "offer_lapsed": {"event": WORKSHOP, "event_url": f"{SITE}/events/evt_cs2021jul"},
    "registration_cancelled": {"event": WORKSHOP, "event_url": f"{SITE}/events/evt_cs2021jul"},
    "event_reminder": {
        "event": WORKSHOP,
        "joining_url": "https://meet.example.org/community-space",
        "manage_url": f"{SITE}/registrations/reg_7f3a9c?token=tok_manage",
    },
    "event_changed": {
        "event": {
            **WORKSHOP,
            "starts_at": "2021-07-22T13:00:00Z",
            "ends_at": "2021-07-22T14:30:00Z",
        },
        "previous": {"starts_at": "2021-07-22T10:00:00Z", "ends_at": "2021-07-22T11:30:00Z"},
        "joining_url": "https://meet.example.org/community-space",
        "manage_url": f"{SITE}/registrations/reg_7f3a9c?token=tok_manage",
    },
    "event_cancelled": {
        "event": WORKSHOP,
        "reason": "Our host is unwell. We'll be back in August.",
        "event_url": f"{SITE}/events",
    },
    "organiser_message": {
        "event": WORKSHOP,
        "subject": "What to bring",
        "body": "Bring a cup of tea and an idea.\n\nSee you on Thursday!",
        "manage_url": f"{SITE}/registrations/reg_7f3a9c?token=tok_manage",
    },
    "interest_received": {
        "series": {"title": "Community Space"},
        "from_name": "Jonah Reid",
        "contact_email": "jonah.reid@example.net",
        "message": "I'd love to help plan a workshop on local history.",
    },
    "comment_published": {"post": POST, "comment_url": f"{POST['url']}#comment-c_91"},
    "comment_reply": {
        "post": POST,
        "comment_url": f"{POST['url']}#comment-c_92",
        "reply_author": "Mei Lin",
        "reply_excerpt": "Thanks, that's a lovely idea!",
    },
    "moderation_digest": {
        "pending_count": 4,
        "reported_count": 1,
        "oldest_waiting_since": "2021-07-22T07:00:00Z",
        "console_url": f"{SITE}/moderation",
    },
}

ICS_METHOD = {
    "registration_confirmed": "REQUEST",
    "waitlist_offer": "REQUEST",
    "event_reminder": "REQUEST",
    "event_changed": "REQUEST",
    "event_cancelled": "CANCEL",
}

RECIPIENT = {"interest_received": ORGANISERS, "moderation_digest": MODERATORS}


def message(
    kind: str, *, to: str | None = None, dedupe_key: str | None = None, **data: Any
) -> OutboxMessage:
    """An outbox message of this kind with realistic data (overridable per key)."""
    ics = None
    if kind in ICS_METHOD:
        ics = workshop_ics(
            ICS_METHOD[kind], sequence=1 if kind in {"event_changed", "event_cancelled"} else 0
        )
    return OutboxMessage(
        kind=kind,
        to=to or RECIPIENT.get(kind, GUEST),
        data={**DATA[kind], **data},
        ics=ics,
        reply_to="jonah.reid@example.net" if kind == "interest_received" else None,
        dedupe_key=dedupe_key or f"REG#reg_7f3a9c#{kind}",
    )
