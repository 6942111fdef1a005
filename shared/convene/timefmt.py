"""Times as people read them: in the event's zone, with the zone named.

"11:00-12:30 BST, Thursday 22 July 2021"
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def utc_iso(moment: datetime) -> str:
    """The one stored and API form: UTC, seconds, trailing Z."""
    # isoformat pads the year to four digits; strftime's %Y does not on every platform.
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def zone_label(moment: datetime) -> str:
    """The zone's abbreviation ("BST"); for a zone that has none, tzdata gives a bare
    offset ("-03"), which reads as "UTC-03"."""
    name = moment.tzname() or ""
    return f"UTC{name}" if name and name[0] in "+-" else name


def when(starts_at: datetime, ends_at: datetime, tz_name: str) -> str:
    tz = zone(tz_name)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    day = f"{start:%A} {start.day} {start:%B %Y}"
    if start.date() == end.date():
        return f"{start:%H:%M}-{end:%H:%M} {zone_label(end)}, {day}"
    end_day = f"{end:%A} {end.day} {end:%B %Y}"
    return (
        f"{start:%H:%M} {zone_label(start)}, {day} - "
        f"{end:%H:%M} {zone_label(end)}, {end_day}"
    )
