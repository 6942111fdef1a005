"""Times as people read them: the event's zone, named."""

from __future__ import annotations

from datetime import UTC, datetime

from convene.timefmt import when


def test_a_summer_london_workshop_names_bst() -> None:
    start = datetime(2021, 7, 22, 10, 0, tzinfo=UTC)
    end = datetime(2021, 7, 22, 11, 30, tzinfo=UTC)
    assert when(start, end, "Europe/London") == "11:00-12:30 BST, Thursday 22 July 2021"


def test_a_zone_without_an_abbreviation_is_named_by_its_utc_offset() -> None:
    start = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
    end = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
    # tzdata has no abbreviation for Sao Paulo: a bare "-03" would not read as a zone.
    assert when(start, end, "America/Sao_Paulo") == "11:00-12:00 UTC-03, Thursday 5 March 2026"


def test_utc_itself_is_named_utc() -> None:
    start = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
    end = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
    assert when(start, end, "UTC") == "14:00-15:00 UTC, Thursday 5 March 2026"
