"""The calendar file a registrant downloads from their own page.

A download is published (METHOD:PUBLISH), not sent as an invitation: it names no
attendee, so it carries no email address. Its UID and SEQUENCE are those of the
invitations in the emails, so a calendar that has one updates it rather than adding one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from convene.email.outbox import IcsEvent
from convene.timefmt import when

PRODID = "-//Convene//Community workshops//EN"


def download(ics: IcsEvent, *, now: datetime) -> bytes:
    # Imported here, not at init: of the Registrations routes only this one needs it.
    from icalendar import Alarm, Calendar
    from icalendar import Event as CalendarEvent

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    entry = CalendarEvent()
    entry.add("uid", ics.uid)
    entry.add("sequence", ics.sequence)
    entry.add("dtstamp", now.astimezone(UTC).replace(microsecond=0))
    entry.add("dtstart", ics.starts_at.astimezone(UTC))
    entry.add("dtend", ics.ends_at.astimezone(UTC))
    entry.add("summary", ics.title)
    description = f"{when(ics.starts_at, ics.ends_at, ics.timezone)}\n\n{ics.description}".strip()
    if ics.url:
        entry.add("url", ics.url)
        entry.add("location", ics.url)
        description = f"{description}\n\n{ics.url}"
    entry.add("description", description)
    entry.add("status", "CONFIRMED")
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"{ics.title} starts in an hour")
    alarm.add("trigger", -timedelta(hours=1))
    entry.add_component(alarm)
    cal.add_component(entry)
    return bytes(cal.to_ical())
