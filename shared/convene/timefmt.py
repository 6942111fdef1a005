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


def when(starts_at: datetime, ends_at: datetime, tz_name: str) -> str:
    tz = zone(tz_name)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    day = f"{start:%A} {start.day} {start:%B %Y}"
    if start.date() == end.date():
        return f"{start:%H:%M}-{end:%H:%M} {end.tzname()}, {day}"
    end_day = f"{end:%A} {end.day} {end:%B %Y}"
    return f"{start:%H:%M} {start.tzname()}, {day} - {end:%H:%M} {end.tzname()}, {end_day}"
