"""Guests and members register for the Community Space workshop."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from convene.errors import Conflict, Forbidden, Gone, Invalid, NotFound, Unauthorized

from tests.unit.registrations.conftest import (
    ANSWERS,
    MEMBER,
    NOW,
    Http,
    Publish,
    all_items,
    form,
    guest_registers,
    mail,
    member,
    outbox,
    registration_of,
    registrations_of,
    thursday_weeks_ahead,
)


def _service() -> Any:
    from convene.registrations import service

    return service


def test_a_guest_gets_pending_confirmation_and_a_link_to_confirm(july: str) -> None:
    answer = guest_registers(july, "Priya Shah", "priya@example.org")

    assert answer.status_code == 202
    assert answer.result.status == "pending_confirmation"
    assert answer.result.registration_id is None
    reg = registration_of(july, "priya@example.org")
    assert reg["state"] == "pending_confirmation"
    assert reg["answers"] == ANSWERS
    [email] = mail("priya@example.org", "registration_confirm_request")
    assert email["data"]["confirm_url"].startswith(
        "https://community.example.org/registrations/confirm?token="
    )
    assert email["data"]["expires_hours"] == 48
    assert email["data"]["event"]["title"] == "Community Space"


def test_no_key_holds_an_email_and_tokens_are_stored_only_as_hashes(july: str) -> None:
    guest_registers(july, "Priya Shah", "Priya@Example.org")
    token = mail("priya@example.org", "registration_confirm_request")[0]["data"]["confirm_url"]
    raw = token.rsplit("=", 1)[1]

    for item in all_items():
        for key in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"):
            assert "priya" not in str(item.get(key, "")).lower()
        assert raw not in str(item)


def test_a_form_post_answers_303_to_the_events_page(http: Http, publish: Publish) -> None:
    event_id = publish(thursday_weeks_ahead(3))
    answer = http.register(
        event_id,
        form={
            "name": "Priya Shah",
            "email": "priya@example.org",
            "consent": "on",
            "answer_heard": "A friend",
            "website": "",
        },
    )

    assert answer.status == 303, answer.text
    assert answer.headers["location"] == (
        f"https://community.example.org/workshops/{event_id}/?registration=pending_confirmation"
        "#registration-pending_confirmation"
    )
    assert registration_of(event_id, "priya@example.org")["answers"] == {"heard": "A friend"}


def test_json_registration_answers_202_without_an_email_or_a_token(
    http: Http, publish: Publish
) -> None:
    event_id = publish(thursday_weeks_ahead(3))
    answer = http.register(
        event_id,
        body={"name": "Priya", "email": "priya@example.org", "consent": True, "answers": ANSWERS},
    )

    assert answer.status == 202, answer.text
    assert answer.json["status"] == "pending_confirmation"
    assert "priya" not in answer.text
    assert "token" not in answer.text


def test_a_signed_in_member_is_confirmed_at_once(july: str) -> None:
    sam = member(MEMBER["sub"], MEMBER["email"], "Sam Okafor")
    answer = _service().register(july, form("Sam Okafor", "other@example.org"), caller=sam, now=NOW)

    assert answer.status_code == 201
    assert answer.result.status == "confirmed"
    assert answer.result.registration_id is not None
    reg = registration_of(july, "sam.member@example.net")  # the token's email, not the body's
    assert reg["state"] == "confirmed"
    assert reg["member_sub"] == MEMBER["sub"]
    assert mail("sam.member@example.net", "registration_confirmed")
    assert not mail(kind="registration_confirm_request")


def test_a_member_is_waitlisted_at_once_when_the_workshop_is_full(july: str) -> None:
    service = _service()
    for n in range(2):
        service.register(
            july,
            form("A", f"m{n}@example.org"),
            caller=member(f"s{n}", f"m{n}@example.org"),
            now=NOW,
        )

    answer = service.register(
        july, form("Sam", "x@example.org"), caller=member("s9", "sam@example.org"), now=NOW
    )

    assert answer.status_code == 201
    assert answer.result.status == "waitlisted"
    assert answer.result.waitlist_position == 1
    [email] = mail("sam@example.org", "registration_waitlisted")
    assert email["data"]["position"] == 1


def test_a_member_token_registers_at_once_through_the_api(
    http: Http, publish: Publish, monkeypatch: pytest.MonkeyPatch
) -> None:
    from convene import api

    event_id = publish(thursday_weeks_ahead(3))
    monkeypatch.setattr(api, "verify_id_token", lambda token, **kw: dict(MEMBER))
    answer = http.register(
        event_id,
        body={"name": "Sam Okafor", "consent": True, "answers": ANSWERS},
        headers={"Authorization": "Bearer member-id-token"},
    )

    assert answer.status == 201, answer.text
    assert answer.json["status"] == "confirmed"
    assert answer.json["registration_id"].startswith("reg_")


def test_a_members_only_workshop_asks_a_guest_to_sign_in(publish: Publish) -> None:
    event_id = publish(audience="members")

    with pytest.raises(Unauthorized) as refused:
        guest_registers(event_id, "Priya", "priya@example.org")

    assert refused.value.code == "sign_in_required"
    assert "sign in" in refused.value.message.lower()
    assert registrations_of(event_id) == []


def test_a_members_only_workshop_answers_401_over_http(http: Http, publish: Publish) -> None:
    event_id = publish(thursday_weeks_ahead(2), audience="members")
    answer = http.register(
        event_id,
        body={"name": "Priya", "email": "priya@example.org", "consent": True, "answers": ANSWERS},
    )

    assert answer.status == 401
    assert answer.json["error"]["code"] == "sign_in_required"


def test_a_members_only_workshop_refuses_someone_outside_the_members_group(
    publish: Publish,
) -> None:
    from convene.auth import caller_from_claims

    event_id = publish(audience="members")
    reader = caller_from_claims(
        {"sub": "r1", "email": "reader@example.org", "email_verified": "true"}
    )

    with pytest.raises(Forbidden):
        _service().register(event_id, form("Reader", "reader@example.org"), caller=reader, now=NOW)


def test_registration_after_the_window_closes_is_gone(july: str) -> None:
    with pytest.raises(Gone) as closed:
        guest_registers(july, "Priya", "priya@example.org", now=NOW + timedelta(days=8))

    assert closed.value.code == "registration_closed"


def test_a_cancelled_workshop_takes_no_registrations(july: str) -> None:
    from convene.registrations import organisers

    organisers.cancel_event(july, reason=None, now=NOW)

    with pytest.raises(Gone) as cancelled:
        guest_registers(july, "Priya", "priya@example.org")

    assert cancelled.value.code == "event_cancelled"


def test_an_unpublished_workshop_is_not_found(aws: None) -> None:
    from convene.events import service as events
    from convene.events.models import EventDraft

    from tests.unit.registrations.conftest import ORGANISER, workshop_draft

    draft = events.create_event(
        EventDraft.model_validate(workshop_draft()), organiser=ORGANISER["sub"], now=NOW
    )

    with pytest.raises(NotFound):
        guest_registers(draft.id, "Priya", "priya@example.org")
    with pytest.raises(NotFound):
        guest_registers("evt_nosuchevent", "Priya", "priya@example.org")


def test_a_full_workshop_without_a_waiting_list_says_so(publish: Publish) -> None:
    event_id = publish(waitlist=False, capacity=1)
    _service().register(
        event_id, form("Sam", "sam@example.org"), caller=member("s", "sam@example.org"), now=NOW
    )

    with pytest.raises(Conflict) as full:
        guest_registers(event_id, "Priya", "priya@example.org")

    assert full.value.code == "event_full"


def test_a_repeat_registration_answers_exactly_as_the_first(july: str) -> None:
    first = guest_registers(july, "Priya", "priya@example.org")
    again = guest_registers(july, "Priya S", "  PRIYA@example.org ", now=NOW + timedelta(minutes=1))
    stranger = guest_registers(july, "Someone", "nobody@example.org")

    assert again == first
    assert stranger.result.model_dump() == first.result.model_dump()
    assert len(registrations_of(july)) == 2


def test_a_repeat_registration_of_a_confirmed_guest_gives_nothing_away(july: str) -> None:
    from convene.registrations import service

    first = guest_registers(july, "Priya", "priya@example.org")
    service.confirm(_confirm_token("priya@example.org"), now=NOW)

    again = guest_registers(july, "Priya", "priya@example.org", now=NOW + timedelta(minutes=1))

    assert again == first
    assert registration_of(july, "priya@example.org")["state"] == "confirmed"


def _confirm_token(to: str) -> str:
    from tests.unit.registrations.conftest import confirm_token

    return confirm_token(to)


def test_a_repeat_resends_the_confirmation_at_most_once_per_ten_minutes(july: str) -> None:
    guest_registers(july, "Priya", "priya@example.org")
    guest_registers(july, "Priya", "priya@example.org", now=NOW + timedelta(minutes=3))
    guest_registers(july, "Priya", "priya@example.org", now=NOW + timedelta(minutes=9))
    assert len(mail("priya@example.org", "registration_confirm_request")) == 1

    guest_registers(july, "Priya", "priya@example.org", now=NOW + timedelta(minutes=11))
    guest_registers(july, "Priya", "priya@example.org", now=NOW + timedelta(minutes=12))

    sent = mail("priya@example.org", "registration_confirm_request")
    assert len(sent) == 2
    assert sent[0]["data"]["confirm_url"] != sent[1]["data"]["confirm_url"]


def test_a_honeypot_hit_answers_202_and_stores_nothing(july: str) -> None:
    before = len(all_items())
    answer = _service().register(
        july, form("Bot", "bot@example.org", website="https://spam.example"), caller=None, now=NOW
    )

    assert answer.status_code == 202
    assert answer.result.status == "pending_confirmation"
    assert len(all_items()) == before
    assert outbox() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Priya", "email": "priya@example.org", "answers": ANSWERS}, "consent"),
        ({"name": "Priya", "email": "priya@example.org", "consent": False}, "consent"),
        ({"name": "", "email": "priya@example.org", "consent": True}, "name"),
        ({"name": "Priya", "email": "not-an-email", "consent": True}, "email"),
    ],
)
def test_each_bad_field_is_named_in_a_422(
    http: Http, publish: Publish, body: dict[str, Any], field: str
) -> None:
    event_id = publish(thursday_weeks_ahead(3))
    answer = http.register(event_id, body=body)

    assert answer.status == 422, answer.text
    assert field in answer.json["error"]["fields"]
    assert registrations_of(event_id) == []


def test_answers_are_checked_against_the_workshops_questions(july: str) -> None:
    with pytest.raises(Invalid) as missing:
        _service().register(july, form("P", "p@example.org", answers={}), caller=None, now=NOW)
    assert missing.value.fields == {"answers.heard": "is required"}

    with pytest.raises(Invalid) as bad_choice:
        _service().register(
            july,
            form("P", "p@example.org", answers={"heard": "Carrier pigeon"}),
            caller=None,
            now=NOW,
        )
    assert "answers.heard" in bad_choice.value.fields

    with pytest.raises(Invalid) as unknown:
        _service().register(
            july,
            form("P", "p@example.org", answers={**ANSWERS, "shoe_size": "9"}),
            caller=None,
            now=NOW,
        )
    assert "answers.shoe_size" in unknown.value.fields


def test_a_guest_without_an_email_is_asked_for_one(july: str) -> None:
    with pytest.raises(Invalid) as invalid:
        _service().register(july, form("Priya", None), caller=None, now=NOW)  # type: ignore[arg-type]
    assert invalid.value.fields == {"email": "is required"}


def test_a_retried_request_with_the_same_idempotency_key_answers_the_same_with_one_email(
    http: Http, publish: Publish
) -> None:
    event_id = publish(thursday_weeks_ahead(3))
    body = {"name": "Priya", "email": "priya@example.org", "consent": True, "answers": ANSWERS}
    headers = {"Idempotency-Key": "5d1f0a3e-retry-1"}

    first = http.register(event_id, body=body, headers=headers)
    again = http.register(event_id, body=body, headers=headers)

    assert first.status == again.status == 202
    assert first.json == again.json
    assert len(mail("priya@example.org")) == 1


def test_a_member_retry_with_the_same_key_gets_the_same_201(
    http: Http, publish: Publish, monkeypatch: pytest.MonkeyPatch
) -> None:
    from convene import api

    event_id = publish(thursday_weeks_ahead(3))
    monkeypatch.setattr(api, "verify_id_token", lambda token, **kw: dict(MEMBER))
    body = {"name": "Sam", "consent": True, "answers": ANSWERS}
    headers = {"Authorization": "Bearer t", "Idempotency-Key": "member-retry-7"}

    first = http.register(event_id, body=body, headers=headers)
    again = http.register(event_id, body=body, headers=headers)

    assert first.status == again.status == 201
    assert first.json == again.json
    assert len(mail("sam.member@example.net")) == 1


def test_a_signed_in_person_whose_email_is_not_verified_registers_as_a_guest(
    july: str,
) -> None:
    from convene.auth import caller_from_claims

    unverified = caller_from_claims(
        {
            "sub": "u1",
            "email": "kim@example.org",
            "email_verified": "false",
            "cognito:groups": "members",
        }
    )

    answer = _service().register(july, form("Kim", "kim@example.org"), caller=unverified, now=NOW)

    assert answer.status_code == 202
    assert answer.result.status == "pending_confirmation"
    assert registration_of(july, "kim@example.org")["state"] == "pending_confirmation"
    assert mail("kim@example.org", "registration_confirm_request")


def test_a_member_registering_again_gets_the_same_answer_and_one_place(july: str) -> None:
    sam = member(MEMBER["sub"], MEMBER["email"], "Sam Okafor")
    first = _service().register(july, form("Sam Okafor", "x@example.org"), caller=sam, now=NOW)

    again = _service().register(
        july, form("Sam Okafor", "x@example.org"), caller=sam, now=NOW + timedelta(minutes=1)
    )

    assert again.status_code == first.status_code == 201
    assert again.result.model_dump(exclude={"message"}) == first.result.model_dump(
        exclude={"message"}
    )
    assert len(registrations_of(july)) == 1
    assert len(mail("sam.member@example.net", "registration_confirmed")) == 1


def test_a_member_who_registered_as_a_guest_is_confirmed_on_signing_in(july: str) -> None:
    guest_registers(july, "Sam Okafor", "Sam.Member@example.net")
    sam = member(MEMBER["sub"], MEMBER["email"], "Sam Okafor")

    answer = _service().register(july, form("Sam Okafor", "x@example.org"), caller=sam, now=NOW)

    assert (answer.status_code, answer.result.status) == (201, "confirmed")
    assert len(registrations_of(july)) == 1
    assert registration_of(july, "sam.member@example.net")["state"] == "confirmed"


def test_someone_who_cancelled_may_register_again(july: str) -> None:
    from tests.unit.registrations.conftest import guest_confirms, manage_token

    guest_confirms(july, "Priya", "priya@example.org")
    first = registration_of(july, "priya@example.org")
    _service().cancel(first["id"], manage_token("priya@example.org"), now=NOW)

    again = guest_registers(july, "Priya", "priya@example.org", now=NOW + timedelta(minutes=1))

    assert again.status_code == 202
    states = sorted(r["state"] for r in registrations_of(july))
    assert states == ["cancelled", "pending_confirmation"]
    person = [i for i in all_items() if i.get("entity") == "person"]
    assert [p["registration_id"] for p in person] != [first["id"]]  # moved to the new one
