"""The calendar file attached to emails about a workshop (RFC 5545, iTIP methods).

Times are written in UTC, which every calendar reads and converts to its own zone; the
event's zone is named in the description, as in the email. The UID stays the same for
every email about one person's place, and SEQUENCE rises with each change, so a calendar
updates (or, with METHOD:CANCEL, removes) its entry rather than adding another.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, Event, vCalAddress, vText

from convene.email.outbox import IcsEvent
from convene.timefmt import when

PRODID = "-//Convene//Community workshops//EN"
ALARM_BEFORE = timedelta(hours=1)


def calendar_file(
    ics: IcsEvent,
    *,
    organiser: str | None = None,
    organiser_name: str | None = None,
    attendee: str | None = None,
    now: datetime | None = None,
    method: str | None = None,
) -> bytes:
    """The calendar file for `ics`. With an `attendee` (and the `organiser`) it is an
    iTIP message for that person (METHOD from `ics`: REQUEST or CANCEL); without one it
    is a file to publish (pass ``method="PUBLISH"``) that names no one, so it carries no
    email address (a registrant's download)."""
    method = method or ics.method
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)

    event = Event()
    event.add("uid", ics.uid)
    event.add("sequence", ics.sequence)
    event.add("dtstamp", (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0))
    event.add("dtstart", ics.starts_at.astimezone(UTC))
    event.add("dtend", ics.ends_at.astimezone(UTC))
    event.add("summary", ics.title)
    shown = when(ics.starts_at, ics.ends_at, ics.timezone)
    description = f"{shown}\n\n{ics.description}".strip()
    if ics.url:
        description = f"{description}\n\n{ics.url}"
        event.add("url", ics.url)
        event.add("location", ics.url)
    event.add("description", description)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")

    if attendee is not None:
        # iTIP wants an organiser and the attendee the message is for; RSVP=FALSE: no
        # replies.
        host = vCalAddress(f"mailto:{organiser}")
        host.params["cn"] = vText(organiser_name or "")
        event.add("organizer", host)
        guest = vCalAddress(f"mailto:{attendee}")
        guest.params["role"] = vText("REQ-PARTICIPANT")
        guest.params["partstat"] = vText("DECLINED" if method == "CANCEL" else "ACCEPTED")
        guest.params["rsvp"] = vText("FALSE")
        event.add("attendee", guest)

    if method in {"REQUEST", "PUBLISH"}:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{ics.title} starts in an hour")
        alarm.add("trigger", -ALARM_BEFORE)
        event.add_component(alarm)

    cal.add_component(event)
    return bytes(cal.to_ical())
