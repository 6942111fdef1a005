"""The emails registrations ask for: each function returns the transaction entries (the
outbox item, and the token its links carry) that go into the same transaction as the
change the email is about. Links point at the site (SITE_URL); tokens exist only here,
in the email, and as hashes in the table.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from convene.email import outbox
from convene.email.outbox import IcsEvent, OutboxMessage
from convene.events.models import Event
from convene.registrations import table
from convene.registrations.models import Registration, Token, TokenPurpose
from convene.registrations.tokens import new_token, token_hash
from convene.settings import get_settings

CONFIRM_WITHIN = timedelta(hours=48)

Entries = list[dict[str, Any]]


def personal_data_until(event: Event) -> datetime:
    """Registrants' personal data is removed this long after the event ends."""
    return event.ends_at + timedelta(days=event.retention_days)


def expires_at(event: Event) -> int:
    """The TTL (epoch seconds) of every personal item about this event."""
    return int(personal_data_until(event).timestamp())


def tracked(reg: Registration, entries: Entries) -> Registration:
    """`reg` with the manage tokens that `entries` (its email) put, so that the
    registration written in the same transaction lists them: their TTL can then follow
    the event's (registrations.retention) and erasing the registration removes them."""
    minted = table.manage_token_hashes(entries)
    if not minted:
        return reg
    return reg.model_copy(update={"manage_tokens": reg.manage_tokens | minted})


# ---------------------------------------------------------------- links


def site_url() -> str:
    return get_settings().site_url.rstrip("/")


def confirm_url(token: str) -> str:
    # An API route: GET confirms and answers 303 to the event's page.
    return f"{site_url()}/registrations/confirm?{urlencode({'token': token})}"


def manage_url(registration_id: str, token: str) -> str:
    return f"{site_url()}/registration.html?{urlencode({'id': registration_id, 'token': token})}"


def event_url(event_id: str) -> str:
    """The workshop's own page on the site (docs/web.md: `workshops/<id>/`)."""
    return f"{site_url()}/workshops/{quote(event_id, safe='')}/"


def event_page(event_id: str, **params: str) -> str:
    """Where a form post or a GET confirm lands (303): the workshop's page, with the
    outcome in the query (a server-rendered page shows it) and in the fragment (a static
    page shows it with CSS alone, `#registration-<status>`)."""
    url = f"{event_url(event_id)}?{urlencode(params)}" if params else event_url(event_id)
    status = params.get("registration")
    return f"{url}#registration-{quote(status, safe='')}" if status else url


def _mint(purpose: TokenPurpose, reg: Registration, until: datetime) -> tuple[str, dict[str, Any]]:
    token = new_token()
    stored = Token(purpose=purpose, registration_id=reg.id, event_id=reg.event_id, expires=until)
    return token, table.put_token(token_hash(token), stored)


def _manage(reg: Registration, event: Event) -> tuple[str, dict[str, Any]]:
    token, entry = _mint("manage", reg, personal_data_until(event))
    return manage_url(reg.id, token), entry


# ---------------------------------------------------------------- the calendar file


def ics_for(reg: Registration, event: Event, *, cancel: bool = False) -> IcsEvent:
    """One person's place at one event: the same UID in every email, SEQUENCE from the
    event (it rises when the time changes or the event is cancelled)."""
    confirmed = reg.state == "confirmed" and not cancel
    return IcsEvent(
        uid=f"convene-{event.id}-{reg.id}",
        sequence=event.sequence,
        title=event.title,
        description=event.summary,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        # The joining link only to the confirmed; anyone else gets the event's page.
        url=event.joining_url if confirmed and event.joining_url else event_url(event.id),
        method="CANCEL" if cancel else "REQUEST",
    )


def _message(
    kind: str,
    reg: Registration,
    event: Event,
    data: dict[str, Any],
    dedupe: str,
    now: datetime,
    *,
    ics: IcsEvent | None = None,
) -> dict[str, Any]:
    message = OutboxMessage(
        kind=kind,
        to=reg.email,
        data={"event": outbox.event_facts(event), "name": reg.name, **data},
        ics=ics,
        dedupe_key=dedupe,
    )
    return outbox.put(message, now=now)


def _key(reg: Registration, what: str) -> str:
    # One email per registration version: a retried transaction reuses the key.
    return f"REG#{reg.id}#v{reg.version}#{what}"


# ---------------------------------------------------------------- one per kind


def confirm_request(reg: Registration, event: Event, now: datetime) -> Entries:
    token, token_put = _mint("confirm", reg, now + CONFIRM_WITHIN)
    data = {
        "confirm_url": confirm_url(token),
        "expires_hours": int(CONFIRM_WITHIN.total_seconds() // 3600),
    }
    return [
        token_put,
        _message("registration_confirm_request", reg, event, data, _key(reg, "confirm"), now),
    ]


def confirmed(reg: Registration, event: Event, now: datetime) -> Entries:
    link, token_put = _manage(reg, event)
    data = {"joining_url": event.joining_url or event_url(event.id), "manage_url": link}
    return [
        token_put,
        _message(
            "registration_confirmed",
            reg,
            event,
            data,
            _key(reg, "confirmed"),
            now,
            ics=ics_for(reg, event),
        ),
    ]


def waitlisted(reg: Registration, event: Event, position: int, now: datetime) -> Entries:
    link, token_put = _manage(reg, event)
    data = {"position": position, "manage_url": link}
    return [
        token_put,
        _message("registration_waitlisted", reg, event, data, _key(reg, "waitlisted"), now),
    ]


def offer(reg: Registration, event: Event, now: datetime) -> Entries:
    assert reg.offer_expires_at is not None
    token, offer_put = _mint("offer", reg, reg.offer_expires_at)
    link, manage_put = _manage(reg, event)
    data = {
        "accept_url": confirm_url(token),
        "offer_expires_at": reg.offer_expires_at,
        "manage_url": link,
    }
    return [
        offer_put,
        manage_put,
        _message(
            "waitlist_offer", reg, event, data, _key(reg, "offer"), now, ics=ics_for(reg, event)
        ),
    ]


def offer_lapsed(reg: Registration, event: Event, now: datetime) -> Entries:
    data = {"event_url": event_url(event.id)}
    return [_message("offer_lapsed", reg, event, data, _key(reg, "lapsed"), now)]


def cancelled(reg: Registration, event: Event, now: datetime) -> Entries:
    data = {"event_url": event_url(event.id)}
    return [_message("registration_cancelled", reg, event, data, _key(reg, "cancelled"), now)]


def resend(reg: Registration, event: Event, now: datetime) -> Entries:
    """The email that fits the registration's state, again (a repeat registration)."""
    if reg.state == "pending_confirmation":
        return confirm_request(reg, event, now)
    if reg.state == "confirmed":
        return confirmed(reg, event, now)
    if reg.state == "waitlisted" and reg.position is not None:
        return waitlisted(reg, event, reg.position, now)
    if reg.state == "offered":
        return offer(reg, event, now)
    return []


def reminder(reg: Registration, event: Event, key: str, now: datetime) -> Entries:
    link, token_put = _manage(reg, event)
    data = {"joining_url": event.joining_url or event_url(event.id), "manage_url": link}
    return [
        token_put,
        _message(
            "event_reminder",
            reg,
            event,
            data,
            f"REG#{reg.id}#reminder#{key}",
            now,
            ics=ics_for(reg, event),
        ),
    ]


def event_changed(reg: Registration, event: Event, notice_id: str, now: datetime) -> Entries:
    link, token_put = _manage(reg, event)
    data: dict[str, Any] = {"manage_url": link}
    if reg.state == "confirmed" and event.joining_url:
        data["joining_url"] = event.joining_url
    return [
        token_put,
        _message(
            "event_changed",
            reg,
            event,
            data,
            f"NOTICE#{notice_id}#{reg.id}",
            now,
            ics=ics_for(reg, event),
        ),
    ]


def event_cancelled(
    reg: Registration, event: Event, notice_id: str, reason: str | None, now: datetime
) -> Entries:
    data: dict[str, Any] = {"event_url": event_url(event.id)}
    if reason:
        data["reason"] = reason
    return [
        _message(
            "event_cancelled",
            reg,
            event,
            data,
            f"NOTICE#{notice_id}#{reg.id}",
            now,
            ics=ics_for(reg, event, cancel=True),
        )
    ]


def organiser_message(
    reg: Registration, event: Event, notice_id: str, subject: str, body: str, now: datetime
) -> Entries:
    link, token_put = _manage(reg, event)
    data = {"subject": subject, "body": body, "manage_url": link}
    return [
        token_put,
        _message("organiser_message", reg, event, data, f"NOTICE#{notice_id}#{reg.id}", now),
    ]


def interest_received(
    interest_id: str, series_title: str, name: str, email: str, message: str, now: datetime
) -> dict[str, Any]:
    return outbox.put(
        OutboxMessage(
            kind="interest_received",
            to=outbox.ORGANISERS,
            data={
                "series": {"title": series_title},
                "from_name": name,
                "contact_email": email,
                "message": message,
            },
            reply_to=email,
            dedupe_key=f"INTEREST#{interest_id}",
        ),
        now=now,
    )
