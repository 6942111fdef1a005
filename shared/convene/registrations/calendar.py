"""The calendar file a registrant downloads from their own page.

A download is published (METHOD:PUBLISH), not sent as an invitation: it names no
attendee, so it carries no email address. Its UID and SEQUENCE are those of the
invitations in the emails, so a calendar that has one updates it rather than adding one.
The file is built by the same code as the emails' (`convene.email.ics`).
"""

from __future__ import annotations

from datetime import datetime

from convene.email.outbox import IcsEvent


def download(ics: IcsEvent, *, now: datetime) -> bytes:
    # Imported here, not at init: of the Registrations routes only this one needs
    # icalendar.
    from convene.email.ics import calendar_file

    return calendar_file(ics, now=now, method="PUBLISH")
