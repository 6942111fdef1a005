"""Registrations: the use cases a person reaches from the public pages and their emails.

Register -> (guest) confirm by link -> a seat or the waiting list -> manage, cancel,
calendar file. Seats move only in `seats`; emails are built in `emails`; keys and
expressions live in `table`. Organisers' tools are in `organisers`, the scheduled run
in `reminders`, and personal-data requests at the end of this module.
"""

from __future__ import annotations

import contextlib
import secrets as random_ids
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from convene.auth import Caller
from convene.db import TransactionCancelled
from convene.errors import Conflict, Forbidden, Gone, Invalid, NotFound, Unauthorized
from convene.events import service as events
from convene.events.models import PublicQuestion
from convene.registrations import calendar, emails, seats, table
from convene.registrations.models import (
    InterestIn,
    InterestResult,
    ManageView,
    Registration,
    RegistrationEvent,
    RegistrationIn,
    RegistrationResult,
    Token,
    check_answers,
    normalise_email,
)
from convene.registrations.seats import RegistrationChanged
from convene.registrations.table import Contention, EventState
from convene.registrations.tokens import (
    looks_like_registration_id,
    looks_like_token,
    new_registration_id,
    token_hash,
)
from convene.secrets import keyed_hash
from convene.timefmt import utc_iso

RESEND_AFTER = timedelta(minutes=10)
INTEREST_KEPT_FOR = timedelta(days=365)
MEMBERS_GROUP = "members"


def email_hash(email: str) -> str:
    """The only form of an email that appears in a key."""
    return keyed_hash(normalise_email(email), "registrant")


@dataclass(frozen=True)
class Registered:
    """What registering answers: 202 for a guest (always the same), 201 for a member."""

    status_code: int
    result: RegistrationResult


# ---------------------------------------------------------------- register


def register(
    event_id: str, form: RegistrationIn, *, caller: Caller | None, now: datetime
) -> Registered:
    state = seats.open_event(event_id, now)
    event = state.event
    member = caller if caller is not None and caller.email and caller.email_verified else None
    if event.audience == "members":
        if caller is None:
            raise Unauthorized(
                "This workshop is for members: sign in to register.", code="sign_in_required"
            )
        if not caller.in_group(MEMBERS_GROUP):
            raise Forbidden("This workshop is for members only.", code="members_only")
    if not event.waitlist and event.seats_left == 0:
        raise Conflict("This event is full and has no waiting list.", code="event_full")
    if form.website:
        # A bot filled in the hidden field: the same answer as anyone, nothing stored.
        return _guest_answer(event_id)
    answers = check_answers(event.questions, form.answers)
    email = member.email if member else form.email
    if not email:
        raise Invalid("Some fields need attention.", fields={"email": "is required"})
    email = normalise_email(email)
    person = keyed_hash(email, "registrant")
    if member is not None:
        return _register_member(state, form.name, email, person, answers, member, now)
    return _register_guest(state, form.name, email, person, answers, now)


def _guest_answer(event_id: str) -> Registered:
    return Registered(
        202,
        RegistrationResult(
            status="pending_confirmation",
            event_id=event_id,
            message="Check your email: we sent you a link to confirm your place.",
        ),
    )


def _new(
    state: EventState,
    name: str,
    email: str,
    person: str,
    answers: dict[str, Any],
    now: datetime,
    *,
    member: str | None = None,
) -> Registration:
    return Registration(
        id=new_registration_id(),
        event_id=state.id,
        state="pending_confirmation",
        name=name,
        email=email,
        member_sub=member,
        answers=answers,
        created_at=now,
        updated_at=now,
        confirm_by=now + emails.CONFIRM_WITHIN,
        last_sent_at=now,
        person_hash=person,
        # The TTL its person item gets (written in the same transaction).
        personal_until=emails.expires_at(state.event),
    )


def _register_guest(
    state: EventState,
    name: str,
    email: str,
    person: str,
    answers: dict[str, Any],
    now: datetime,
) -> Registered:
    """One transaction when the person has no registration for this event: the person
    item (created only if absent), the registration, the token and the email. If the
    person item exists, the refused transaction hands it back; a live registration gets
    its email again (at most once per 10 minutes), a finished one is replaced."""
    pointer: str | None = None
    for attempt in table.attempts(8):
        if attempt:
            state = seats.open_event(state.id, now)
        reg = _new(state, name, email, person, answers, now).model_copy(update={"version": 1})
        assert reg.confirm_by is not None
        pending_until = int((reg.confirm_by + timedelta(days=1)).timestamp())
        items = [
            table.put_person(
                person, state.id, reg.id, expires_at=reg.personal_until or 0, replacing=pointer
            ),
            table.put_registration(reg, expires_at=pending_until, read_version=None),
            *emails.confirm_request(reg, state.event, now),
        ]
        try:
            table.transact(items)
        except Contention:
            continue
        except TransactionCancelled as exc:
            if not exc.failed(0):
                continue
            # Someone with this email registered before (or at this very moment).
            found = table.item_after_failure(exc, 0)
            pointer = table.pointer_of(found) if found else table.get_person(person, state.id)
            existing = table.get_registration(pointer) if pointer else None
            if existing is not None and not existing.finished(now):
                _resend(existing, state, now)
                return _guest_answer(state.id)
            continue  # finished or gone: replace it
        return _guest_answer(state.id)
    raise AssertionError("unreachable")


def _register_member(
    state: EventState,
    name: str,
    email: str,
    person: str,
    answers: dict[str, Any],
    member: Caller,
    now: datetime,
) -> Registered:
    """Placed at once: the person item goes into the transaction that places the new
    registration; if it exists, the refused transaction hands it back (see guests)."""
    pointer: str | None = None
    for attempt in table.attempts(8):
        if attempt:
            state = seats.open_event(state.id, now)
        new = _new(state, name, email, person, answers, now, member=member.sub)
        try:
            placed = seats.place(
                new, now, read_version=None, before=_person_entry(person, new, pointer), state=state
            )
        except seats.ExtraRefused as refused:
            pointer = (
                table.pointer_of(refused.found)
                if refused.found
                else table.get_person(person, state.id)
            )
            existing = table.get_registration(pointer) if pointer else None
            if existing is None or existing.finished(now):
                continue  # finished or gone: replace it
            if existing.state == "pending_confirmation":
                # A guest registration with the member's own verified email: confirmed now.
                try:
                    placed = seats.place(existing, now, read_version=existing.version)
                except RegistrationChanged:
                    continue
                return Registered(201, result_of(placed, placed_now=True))
            _resend(existing, state, now)
            return Registered(201, result_of(existing, _said(existing)))
        return Registered(201, result_of(placed, placed_now=True))
    raise AssertionError("unreachable")


def _person_entry(person: str, new: Registration, pointer: str | None) -> seats.Extra:
    """The person item of a new registration, for the transaction that places it."""

    def entry(placed: Registration) -> list[dict[str, Any]]:
        until = new.personal_until or 0
        return [
            table.put_person(person, new.event_id, placed.id, expires_at=until, replacing=pointer)
        ]

    return entry


def _resend(reg: Registration, state: EventState, now: datetime) -> None:
    """A repeat registration re-sends the email for the current state, at most once per
    10 minutes. Quietly does nothing otherwise: the answer never depends on it."""
    if reg.last_sent_at is not None and now - reg.last_sent_at < RESEND_AFTER:
        return
    again = reg.model_copy(update={"last_sent_at": now, "version": reg.version + 1})
    mail = emails.resend(again, state.event, now)
    if not mail:
        return
    again = emails.tracked(again, mail)
    if reg.state == "pending_confirmation" and reg.confirm_by is not None:
        ttl = int((reg.confirm_by + timedelta(days=1)).timestamp())
    else:
        ttl = emails.expires_at(state.event)
    try:
        table.transact(
            [table.put_registration(again, expires_at=ttl, read_version=reg.version), *mail]
        )
    except (Contention, TransactionCancelled):
        return


_SAID = {
    "pending_confirmation": "Check your email: we sent you a link to confirm your place.",
    "confirmed": "You have a place. The joining link is in your email.",
    "waitlisted": "The event is full: you are on the waiting list.",
    "offered": "A seat is held for you: accept it from your email before it lapses.",
    "cancelled": "This registration is cancelled.",
    "lapsed": "The offer lapsed and the seat went to the next person.",
}


def _said(reg: Registration) -> str:
    return _SAID[reg.state]


def result_of(
    reg: Registration, message: str | None = None, *, placed_now: bool = False
) -> RegistrationResult:
    """The answer about `reg`. Just placed: the place on the waiting list it was given
    (the one its email says); later, its place now (people ahead of it may have left)."""
    position = None
    if reg.state == "waitlisted" and placed_now and reg.joined_place is not None:
        position = reg.joined_place
    elif reg.state == "waitlisted" and reg.position is not None:
        position = table.places_ahead(reg.event_id, reg.position) + 1
    return RegistrationResult(
        status=reg.state,
        message=message or _said(reg),
        event_id=reg.event_id,
        registration_id=reg.id,
        waitlist_position=position,
        offer_expires_at=reg.offer_expires_at if reg.state == "offered" else None,
    )


# ---------------------------------------------------------------- links


def _token(token: str | None, purposes: set[str], now: datetime) -> Token:
    """The stored token behind a link: 404 unknown, 410 expired."""
    if not looks_like_token(token):
        raise NotFound("This link is not valid.", code="unknown_token")
    assert token is not None
    stored = table.get_token(token_hash(token))
    if stored is None or stored.purpose not in purposes:
        raise NotFound("This link is not valid.", code="unknown_token")
    if not stored.valid(now):
        raise Gone("This link has expired.", code="link_expired")
    return stored


def _registration(registration_id: str) -> Registration:
    reg = (
        table.get_registration(registration_id)
        if looks_like_registration_id(registration_id)
        else None
    )
    if reg is None:
        raise NotFound("There is no such registration.")
    return reg


def _linked(stored: Token) -> tuple[Registration, EventState]:
    """The registration a token opens and its event, in one read."""
    reg, state = table.get_registration_and_event(stored.registration_id, stored.event_id)
    if reg is None:
        raise NotFound("There is no such registration.")
    if state is None:
        raise NotFound("There is no such event.")
    return reg, state


def confirm(token: str | None, *, now: datetime) -> RegistrationResult:
    """The link in a confirm-request or offer email. A second click answers the same."""
    stored = _token(token, {"confirm", "offer"}, now)
    reg, known = _linked(stored)
    state: EventState | None = known
    placed_now = False
    for _ in range(5):
        try:
            if reg.state == "pending_confirmation":
                if reg.expired(now):
                    raise Gone("This link has expired: register again.", code="link_expired")
                reg = seats.place(reg, now, read_version=reg.version, state=state)
                placed_now = True
            elif reg.state == "offered":
                reg = seats.accept_offer(reg, now, state=state)
            elif reg.state == "cancelled":
                raise Gone("This registration was cancelled.", code="registration_cancelled")
            elif reg.state == "lapsed":
                raise Gone(
                    "This offer has lapsed; the seat went to the next person.", code="offer_lapsed"
                )
        except RegistrationChanged:
            reg, state = _registration(stored.registration_id), None
            continue
        return result_of(reg, placed_now=placed_now)
    raise Conflict("This registration is changing; try the link again.")


def _managed(
    registration_id: str, token: str | None, now: datetime
) -> tuple[Registration, EventState]:
    """The registration a manage link opens, and its event: 404 for another's token."""
    stored = _token(token, {"manage"}, now)
    if stored.registration_id != registration_id:
        raise NotFound("This link is not valid.", code="unknown_token")
    return _linked(stored)


def manage_view(registration_id: str, token: str | None, *, now: datetime) -> ManageView:
    reg, state = _managed(registration_id, token, now)
    event = state.event
    position = None
    if reg.state == "waitlisted" and reg.position is not None:
        position = table.places_ahead(reg.event_id, reg.position) + 1
    return ManageView(
        registration_id=reg.id,
        status=reg.state,
        name=reg.name,
        event=RegistrationEvent(
            id=event.id,
            title=event.title,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            timezone=event.timezone,
            when=event.when,
            status="cancelled" if event.status == "cancelled" else "published",
        ),
        answers=reg.answers,
        questions=[PublicQuestion(**q.model_dump()) for q in event.questions],
        waitlist_position=position,
        offer_expires_at=reg.offer_expires_at if reg.state == "offered" else None,
        joining_url=event.joining_url
        if reg.state == "confirmed" and event.status == "published"
        else None,
        calendar_path=f"/registrations/{reg.id}/calendar.ics",
    )


def cancel(registration_id: str, token: str | None, *, now: datetime) -> RegistrationResult:
    """The registrant gives up their place (or their place in the queue). Cancelling
    twice is harmless."""
    reg, known = _managed(registration_id, token, now)
    state: EventState | None = known
    for _ in range(5):
        if reg.state in {"cancelled", "lapsed"}:
            return result_of(reg)
        try:
            reg = seats.release(reg, "cancelled", now, state=state)
        except RegistrationChanged:
            reg, state = _registration(registration_id), None
            continue
        return result_of(reg, "Your registration is cancelled.")
    raise Conflict("This registration is changing; try again.")


def calendar_file(registration_id: str, token: str | None, *, now: datetime) -> bytes:
    reg, state = _managed(registration_id, token, now)
    event = state.event
    if event.status == "cancelled":
        raise Gone("This event was cancelled.", code="event_cancelled")
    return calendar.download(emails.ics_for(reg, event), now=now)


# ---------------------------------------------------------------- interest


def record_interest(series_id: str, form: InterestIn, *, now: datetime) -> InterestResult:
    """Someone wants to help plan future workshops: kept for a year, organisers told."""
    series = events.get_series(series_id)
    if form.website:
        return InterestResult()
    interest_id = random_ids.token_hex(8)
    email = normalise_email(form.email)
    until = int((now + INTEREST_KEPT_FOR).timestamp())
    key = table.interest_key_of(series_id, f"{utc_iso(now)}#{interest_id}")
    item = {
        **key,
        "entity": "interest",
        "id": interest_id,
        "series_id": series_id,
        "name": form.name,
        "email": email,
        "message": form.message,
        "created_at": utc_iso(now),
        "expires_at": until,
    }
    table.transact(
        [
            table.put_interest(item),
            table.put_interest_person(email_hash(email), key["sk"], series_id, expires_at=until),
            emails.interest_received(
                interest_id, series.title, form.name, email, form.message, now
            ),
        ]
    )
    return InterestResult()


# ---------------------------------------------------------------- personal data


def _person_records(
    email: str,
) -> tuple[list[dict[str, Any]], list[Registration], list[dict[str, Any]]]:
    items = table.person_items(email_hash(email))
    ids = [str(i["registration_id"]) for i in items if str(i["sk"]).startswith("EVENT#")]
    regs: list[Registration] = []
    for start in range(0, len(ids), 100):
        regs.extend(table.get_registrations(ids[start : start + 100]))
    interests = []
    for i in items:
        if str(i["sk"]).startswith("INTEREST#"):
            found = table.get_item(
                table.interest_key_of(str(i["series_id"]), str(i["sk"]).removeprefix("INTEREST#"))
            )
            if found:
                interests.append(found)
    return items, regs, interests


def export_person(email: str) -> dict[str, Any]:
    """Everything registrations hold about one person (by email), for a data request."""
    _, regs, interests = _person_records(email)
    return {
        "registrations": [
            {
                "registration_id": r.id,
                "event_id": r.event_id,
                "status": r.state,
                "name": r.name,
                "email": r.email,
                "answers": r.answers,
                "waitlist_ticket": r.position,
                "registered_at": utc_iso(r.created_at),
                "confirmed_at": utc_iso(r.confirmed_at) if r.confirmed_at else None,
                "cancelled_at": utc_iso(r.cancelled_at) if r.cancelled_at else None,
            }
            for r in sorted(regs, key=lambda r: r.created_at)
        ],
        "interest": [
            {
                "series_id": str(i["series_id"]),
                "name": str(i["name"]),
                "email": str(i["email"]),
                "message": str(i["message"]),
                "sent_at": str(i["created_at"]),
            }
            for i in interests
        ],
    }


def erase_person(email: str, *, now: datetime) -> dict[str, int]:
    """Removes one person's registrations and messages. A place they held is given back
    first (to the waiting list), without emailing them."""
    items, regs, interests = _person_records(email)
    for reg in regs:
        if reg.state in {"confirmed", "offered", "waitlisted", "pending_confirmation"}:
            with contextlib.suppress(RegistrationChanged, NotFound):  # deleted below anyway
                seats.release(reg, "cancelled", now, notify=False)
    deletes = [table.delete(table.registration_key(r.id)) for r in regs]
    # Their manage links go too (confirm and offer links expire within days, by TTL).
    deletes += [table.delete(table.token_key(h)) for r in regs for h in sorted(r.manage_tokens)]
    deletes += [table.delete({"pk": str(i["pk"]), "sk": str(i["sk"])}) for i in interests]
    deletes += [table.delete({"pk": str(i["pk"]), "sk": str(i["sk"])}) for i in items]
    for start in range(0, len(deletes), 50):
        table.transact(deletes[start : start + 50])
    return {"registrations": len(regs), "interest": len(interests)}
