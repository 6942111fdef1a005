"""The .ics attached to emails about a workshop, parsed back with icalendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from convene.email.ics import calendar_file
from icalendar import Calendar

from tests.unit.email.samples import GUEST, WORKSHOP_ENDS, WORKSHOP_STARTS, workshop_ics

SENT_AT = datetime(2021, 7, 20, 9, 0, tzinfo=UTC)


def parse(content: bytes) -> Calendar:
    return Calendar.from_ical(content)


def ics_for(method: str = "REQUEST", sequence: int = 0, now: datetime = SENT_AT) -> Calendar:
    content = calendar_file(
        workshop_ics(method, sequence),
        organiser="events@community.example.org",
        organiser_name="Community Space",
        attendee=GUEST,
        now=now,
    )
    return parse(content)


def test_the_workshop_is_one_event_in_utc_with_an_alarm_an_hour_before() -> None:
    cal = ics_for()

    assert str(cal["METHOD"]) == "REQUEST"
    (event,) = cal.events
    assert event.decoded("DTSTART") == WORKSHOP_STARTS
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTEND") == WORKSHOP_ENDS
    assert str(event["SUMMARY"]) == "Community Space"
    assert "11:00-12:30 BST, Thursday 22 July 2021" in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CONFIRMED"
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(hours=-1)
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert b"TRIGGER:-PT1H" in cal.to_ical()


def test_the_uid_is_stable_across_sends_and_the_sequence_rises_with_changes() -> None:
    first = ics_for(sequence=0, now=SENT_AT).events[0]
    again = ics_for(sequence=0, now=SENT_AT + timedelta(days=1)).events[0]
    changed = ics_for(sequence=1).events[0]

    assert str(first["UID"]) == str(again["UID"]) == str(changed["UID"])
    assert first.decoded("SEQUENCE") == 0
    assert changed.decoded("SEQUENCE") == 1


def test_a_cancellation_is_method_cancel_with_the_same_uid_and_no_alarm() -> None:
    cal = ics_for("CANCEL", sequence=2)

    assert str(cal["METHOD"]) == "CANCEL"
    (event,) = cal.events
    assert str(event["UID"]) == "convene-evt_cs2021jul-reg_7f3a9c"
    assert str(event["STATUS"]) == "CANCELLED"
    assert event.decoded("SEQUENCE") == 2
    assert event.walk("VALARM") == []


def test_the_organiser_is_the_sender_and_the_attendee_the_recipient() -> None:
    event = ics_for().events[0]

    assert str(event["ORGANIZER"]) == "mailto:events@community.example.org"
    assert str(event["ATTENDEE"]) == f"mailto:{GUEST}"


def test_the_file_is_rfc_5545_shaped_with_every_required_property() -> None:
    content = calendar_file(
        workshop_ics(),
        organiser="events@community.example.org",
        organiser_name="Community Space",
        attendee=GUEST,
        now=SENT_AT,
    )

    lines = content.split(b"\r\n")
    assert lines[0] == b"BEGIN:VCALENDAR" and lines[-2:] == [b"END:VCALENDAR", b""]
    assert b"\n" not in content.replace(b"\r\n", b"")  # CRLF only
    assert all(len(line) <= 75 for line in lines)  # long lines are folded
    cal = parse(content)
    assert str(cal["VERSION"]) == "2.0" and str(cal["PRODID"]).startswith("-//Convene//")
    (event,) = cal.events
    for required in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "ORGANIZER"):
        assert required in event, required
    assert event.decoded("DTSTAMP") == SENT_AT
    # The description (long, so folded) reads back whole.
    assert "Members: register to join the event." in str(event["DESCRIPTION"])
