"""One-click unsubscribe (RFC 8058): a signed token with no address in it, stored per
address and kind, honoured by the next email of that kind and by no other kind."""

from __future__ import annotations

import json
from types import ModuleType
from urllib.parse import parse_qs, urlsplit

import pytest
from convene.email import suppression
from convene.email.suppression import InvalidToken

from tests.helpers import LambdaContext, api_event
from tests.unit.email.conftest import Mailbox, invoke, queue, stored_item, stream_record
from tests.unit.email.samples import GUEST, message


def unsubscribe_link_of(mail: Mailbox) -> str:
    (sent,) = mail.sent()
    return str(sent["List-Unsubscribe"]).strip("<>")


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def location(response: dict) -> str:
    headers = response.get("multiValueHeaders") or {}
    return str((headers.get("Location") or [response.get("headers", {}).get("Location")])[0])


def call(handler: ModuleType, method: str, token: str, **kwargs: object) -> dict:
    event = api_event(method, "/email/unsubscribe", query={"token": token}, **kwargs)  # type: ignore[arg-type]
    return handler.lambda_handler(event, LambdaContext())


def test_the_token_names_no_address_and_a_tampered_one_is_refused(mail: Mailbox) -> None:
    token = suppression.unsubscribe_token(GUEST, "reminders")

    assert "@" not in token and "amara" not in token
    hashed, kind = suppression.read_token(token)
    assert (hashed, kind) == (suppression.address_hash(GUEST), "reminders")
    # Case and spaces do not make a second person.
    assert suppression.address_hash(" Amara.Okafor@Example.NET ") == hashed
    for forged in (
        token.replace("reminders", "digest"),
        token[:-1] + ("0" if token[-1] != "0" else "1"),
        "not-a-token",
        f"{hashed}.newsletter.{token.rsplit('.', 1)[1]}",
    ):
        with pytest.raises(InvalidToken):
            suppression.read_token(forged)


def test_one_click_post_unsubscribes_and_the_next_reminder_is_skipped_and_recorded(
    notifications: ModuleType, email_feedback: ModuleType, mail: Mailbox
) -> None:
    (first,) = queue(message("event_reminder", dedupe_key="REM#reg_7f3a9c#1440"))
    invoke(notifications, [stream_record(first)])
    link = unsubscribe_link_of(mail)
    assert link.startswith("https://community.example.org/email/unsubscribe?token=")

    response = call(
        email_feedback,
        "POST",
        token_of(link),
        body="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "unsubscribed", "kind": "reminders"}
    later = queue(
        message("event_reminder", dedupe_key="REM#reg_7f3a9c#60"),
        message("registration_confirmed", dedupe_key="REG#reg_7f3a9c#confirmed"),
        message("comment_reply", dedupe_key="REPLY#c_92#to#c_91"),
    )
    assert invoke(notifications, [stream_record(i) for i in later]) == []

    subjects = [m["Subject"] for m in mail.sent()]
    assert len(subjects) == 3  # the first reminder, the confirmation, the reply notice
    assert "You're registered: Community Space" in subjects
    assert "New reply to your comment on This is your Community Space" in subjects
    skipped = stored_item(later[0]["pk"])
    assert skipped["status"] == "unsubscribed"
    assert skipped["reason"] == "unsubscribed from reminders"


def test_the_link_in_a_browser_unsubscribes_and_goes_on_to_the_site(
    email_feedback: ModuleType, mail: Mailbox
) -> None:
    token = suppression.unsubscribe_token(GUEST, "replies")

    response = call(email_feedback, "GET", token, headers={"Accept": "text/html"})

    assert response["statusCode"] == 303
    assert location(response) == "https://community.example.org/email/unsubscribed?kind=replies"
    assert "replies" in suppression.status(GUEST).unsubscribed


def test_the_link_asked_for_as_json_answers_json(email_feedback: ModuleType, mail: Mailbox) -> None:
    token = suppression.unsubscribe_token(GUEST, "digest")

    response = call(email_feedback, "GET", token, headers={"Accept": "application/json"})

    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "unsubscribed", "kind": "digest"}


def test_a_bad_token_changes_nothing(email_feedback: ModuleType, mail: Mailbox) -> None:
    token = suppression.unsubscribe_token(GUEST, "reminders")[:-2] + "zz"

    browser = call(email_feedback, "GET", token, headers={"Accept": "text/html"})
    client = call(email_feedback, "POST", token, body="List-Unsubscribe=One-Click")

    assert browser["statusCode"] == 303
    assert location(browser).endswith("/email/unsubscribed?error=invalid_link")
    assert client["statusCode"] == 400
    assert json.loads(client["body"])["error"]["code"] == "invalid_token"
    assert suppression.status(GUEST).unsubscribed == set()


def test_unsubscribing_twice_is_harmless(email_feedback: ModuleType, mail: Mailbox) -> None:
    token = suppression.unsubscribe_token(GUEST, "reminders")

    assert call(email_feedback, "POST", token)["statusCode"] == 200
    assert call(email_feedback, "POST", token)["statusCode"] == 200
    assert suppression.status(GUEST).unsubscribed == {"reminders"}


def test_no_unsubscribe_item_is_keyed_by_the_address(
    email_feedback: ModuleType, mail: Mailbox
) -> None:
    call(email_feedback, "POST", suppression.unsubscribe_token(GUEST, "reminders"))

    import boto3
    from convene.settings import get_settings

    items = boto3.client("dynamodb", region_name="eu-west-2").scan(
        TableName=get_settings().table_name
    )["Items"]
    assert items and all("amara" not in json.dumps(i).lower() for i in items)
