"""The Notifications function: an outbox item on the stream becomes one email through
SES v2 (raw MIME, the configuration set), and the item is marked sent."""

from __future__ import annotations

from email.message import EmailMessage
from types import ModuleType

from convene.email.outbox import KINDS
from icalendar import Calendar

from tests.unit.email.conftest import (
    CONFIGURATION_SET,
    MODERATORS_INBOX,
    ORGANISERS_INBOX,
    SENDER,
    Mailbox,
    SesFaults,
    invoke,
    queue,
    stored_item,
    stream_record,
)
from tests.unit.email.samples import GUEST, message

WHEN = "11:00-12:30 BST, Thursday 22 July 2021"


def calendar_of(sent: EmailMessage) -> Calendar:
    (part,) = [p for p in sent.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_filename() == "invite.ics"
    return Calendar.from_ical(part.get_content())


def test_the_confirmation_for_the_july_workshop_is_sent_with_its_calendar_file(
    notifications: ModuleType, mail: Mailbox
) -> None:
    (item,) = queue(message("registration_confirmed"))

    assert invoke(notifications, [stream_record(item)]) == []

    (sent,) = mail.sent()
    assert sent["To"] == GUEST
    assert sent["From"] == f"Community Space <{SENDER}>"
    assert sent["Subject"] == "You're registered: Community Space"
    text = sent.get_body(("plain",))
    html = sent.get_body(("html",))
    assert text is not None and html is not None
    assert WHEN in text.get_content() and WHEN in html.get_content()
    assert "https://meet.example.org/community-space" in text.get_content()
    event = calendar_of(sent).events[0]
    assert str(event["UID"]) == "convene-evt_cs2021jul-reg_7f3a9c"
    assert event.decoded("SEQUENCE") == 0
    assert event.walk("VALARM")[0].decoded("TRIGGER").total_seconds() == -3600
    assert sent["List-Unsubscribe"] is None

    stored = stored_item(item["pk"])
    assert stored["status"] == "sent"
    assert stored["ses_message_id"]
    assert "claim" not in stored and "lease_until" not in stored


def test_the_send_uses_the_configuration_set_and_tags_the_kind(
    notifications: ModuleType, ses_faults: SesFaults
) -> None:
    (item,) = queue(message("registration_waitlisted"))

    invoke(notifications, [stream_record(item)])

    (params,) = ses_faults.params
    assert params["ConfigurationSetName"] == CONFIGURATION_SET
    assert params["FromEmailAddress"] == SENDER
    assert {"Name": "kind", "Value": "registration_waitlisted"} in params["EmailTags"]
    assert "Raw" in params["Content"]


def test_every_email_about_one_place_carries_the_same_uid(
    notifications: ModuleType, mail: Mailbox
) -> None:
    items = queue(
        message("registration_confirmed"),
        message("event_reminder", dedupe_key="REM#reg_7f3a9c#1440"),
        message("event_changed", dedupe_key="CHG#evt_cs2021jul#1#reg_7f3a9c"),
    )

    invoke(notifications, [stream_record(i) for i in items])

    events = [calendar_of(m).events[0] for m in mail.sent()]
    assert {str(e["UID"]) for e in events} == {"convene-evt_cs2021jul-reg_7f3a9c"}
    assert [e.decoded("SEQUENCE") for e in events] == [0, 0, 1]


def test_a_cancelled_event_sends_a_method_cancel_calendar_file(
    notifications: ModuleType, mail: Mailbox
) -> None:
    (item,) = queue(message("event_cancelled"))

    invoke(notifications, [stream_record(item)])

    (sent,) = mail.sent()
    (part,) = list(sent.iter_attachments())
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "CANCEL"
    assert str(calendar_of(sent)["METHOD"]) == "CANCEL"


def test_only_opt_out_mail_carries_one_click_list_unsubscribe(
    notifications: ModuleType, mail: Mailbox
) -> None:
    items = queue(*(message(kind, dedupe_key=f"KIND#{kind}") for kind in sorted(KINDS)))

    assert invoke(notifications, [stream_record(i) for i in items[:10]]) == []
    assert invoke(notifications, [stream_record(i) for i in items[10:]]) == []

    by_kind = {kind: sent for kind, sent in zip(sorted(KINDS), mail.sent(), strict=True)}
    opt_out = {k for k, spec in KINDS.items() if spec.list_kind}
    assert opt_out == {"event_reminder", "comment_published", "comment_reply", "moderation_digest"}
    for kind, sent in by_kind.items():
        if kind in opt_out:
            link = sent["List-Unsubscribe"]
            assert link.startswith("<https://community.example.org/email/unsubscribe?token=")
            assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert "@" not in link
        else:
            assert sent["List-Unsubscribe"] is None, kind
            assert sent["List-Unsubscribe-Post"] is None, kind


def test_role_recipients_go_to_the_addresses_from_the_stack_parameters(
    notifications: ModuleType, mail: Mailbox
) -> None:
    items = queue(
        message("moderation_digest", dedupe_key="DIGEST#2021-07-22T09"),
        message("interest_received", dedupe_key="INTEREST#int_41d2"),
    )

    invoke(notifications, [stream_record(i) for i in items])

    digest, interest = mail.sent()
    assert digest["To"] == MODERATORS_INBOX
    assert interest["To"] == ORGANISERS_INBOX
    assert interest["Reply-To"] == "jonah.reid@example.net"


def test_records_other_than_inserts_are_ignored(notifications: ModuleType, mail: Mailbox) -> None:
    (item,) = queue(message("registration_confirmed"))

    assert invoke(notifications, [stream_record(item, event_name="MODIFY")]) == []

    assert mail.sent() == []
    assert stored_item(item["pk"])["status"] == "pending"


def test_the_message_is_seven_bit_clean_even_with_accents_and_emoji(
    notifications: ModuleType, mail: Mailbox
) -> None:
    (item,) = queue(message("registration_confirmed", name="Zoë 🌱"))

    invoke(notifications, [stream_record(item)])

    (sent,) = mail.sent()
    body = sent.get_body(("plain",))
    assert body is not None and "Hello Zoë 🌱," in body.get_content()
    assert all(ord(c) < 128 for c in sent.as_string())
