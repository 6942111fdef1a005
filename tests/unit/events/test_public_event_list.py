"""The public list: upcoming published workshops, soonest first, a page at a time, with
nothing private in it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from convene.events import service
from convene.events.models import SeriesIn

from tests.unit.events.conftest import JULY_2021, Api, thursday_weeks_ahead, workshop


def test_the_public_list_never_shows_a_joining_link_or_an_email(api: Api) -> None:
    api.published(workshop(thursday_weeks_ahead(2)))
    api.published(workshop(thursday_weeks_ahead(3), audience="members"))

    listing = api.list()
    one = api.get(listing.json["items"][0]["id"])

    for answer in (listing, one):
        assert answer.status == 200
        assert "joining_url" not in answer.text
        assert "meet.example.org" not in answer.text
        assert "s3cret" not in answer.text
        assert "@" not in answer.text
        assert "organiser" not in answer.text
        assert "version" not in answer.text


def test_past_workshops_are_not_listed_but_can_still_be_read(api: Api) -> None:
    past = api.published(workshop(JULY_2021))
    upcoming = api.published(workshop(thursday_weeks_ahead(1)))

    listed = [e["id"] for e in api.list().json["items"]]

    assert listed == [upcoming["id"]]
    assert api.get(past["id"]).status == 200


def test_workshops_are_listed_soonest_first(api: Api) -> None:
    later = api.published(workshop(thursday_weeks_ahead(6), title="Community Space: autumn"))
    sooner = api.published(workshop(thursday_weeks_ahead(2), title="Community Space: summer"))

    listed = [e["id"] for e in api.list().json["items"]]

    assert listed == [sooner["id"], later["id"]]


def test_the_series_filter_lists_only_that_series(api: Api) -> None:
    service.put_series(
        "community-space",
        SeriesIn(title="Community Space", summary="Online workshops for members"),
    )
    service.put_series("plan-with-us", SeriesIn(title="Plan with us"))
    in_series = api.published(workshop(thursday_weeks_ahead(2), series_id="community-space"))
    other = api.published(workshop(thursday_weeks_ahead(3), series_id="plan-with-us"))
    loose = api.published(workshop(thursday_weeks_ahead(4)))

    filtered = [e["id"] for e in api.list(series="community-space").json["items"]]
    everything = [e["id"] for e in api.list().json["items"]]

    assert filtered == [in_series["id"]]
    assert everything == [in_series["id"], other["id"], loose["id"]]
    assert api.list(series="no-such-series").json == {"items": [], "next_cursor": None}


def test_an_unknown_series_is_refused_when_creating(api: Api) -> None:
    answer = api.create(workshop(JULY_2021, series_id="community-space"))

    assert answer.status == 422
    assert set(answer.json["error"]["fields"]) == {"series_id"}


def test_pages_follow_the_cursor_to_the_end(api: Api) -> None:
    ids = [api.published(workshop(thursday_weeks_ahead(w)))["id"] for w in range(1, 6)]

    seen: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = api.list(**query).json
        pages += 1
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == ids
    assert pages == 3


def test_a_page_exactly_full_has_no_next_cursor(api: Api) -> None:
    for w in (1, 2):
        api.published(workshop(thursday_weeks_ahead(w)))

    page = api.list(limit="2").json

    assert len(page["items"]) == 2
    assert page["next_cursor"] is None


def _encode(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def test_a_cursor_that_was_not_handed_out_is_a_422(api: Api) -> None:
    for w in (1, 2, 3):
        api.published(workshop(thursday_weeks_ahead(w)))
    good = api.list(limit="1").json["next_cursor"]
    key = json.loads(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))

    bad_cursors = [
        "not-a-cursor",
        "%%%",
        _encode(["pk", "sk"]),
        _encode({**key, "gsi1pk": "SERIES#community-space#events"}),
        _encode({**key, "pk": "REG#reg_1"}),
        _encode({**key, "extra": "x"}),
        _encode({k: v for k, v in key.items() if k != "sk"}),
        _encode({**key, "gsi1sk": "yesterday#evt_1"}),
        "A" * 1025,
    ]
    for cursor in bad_cursors:
        answer = api.list(cursor=cursor)

        assert answer.status == 422, (cursor, answer.text)
        assert set(answer.json["error"]["fields"]) == {"cursor"}


def test_a_cursor_from_one_series_does_not_work_for_another_list(api: Api) -> None:
    service.put_series("community-space", SeriesIn(title="Community Space"))
    for w in (1, 2):
        api.published(workshop(thursday_weeks_ahead(w), series_id="community-space"))
    cursor = api.list(limit="1").json["next_cursor"]

    answer = api.list(series="community-space", cursor=cursor)

    assert answer.status == 422


def test_listing_as_of_july_2021_includes_the_workshop(api: Api) -> None:
    event = api.published(workshop(JULY_2021))

    before = service.list_upcoming(now=datetime(2021, 7, 15, tzinfo=UTC))
    at_start = service.list_upcoming(now=datetime(2021, 7, 22, 10, tzinfo=UTC))
    after = service.list_upcoming(now=datetime(2021, 7, 22, 10, 0, 1, tzinfo=UTC))

    assert [e.id for e in before.items] == [event["id"]]
    assert before.items[0].registration_open is True
    assert [e.id for e in at_start.items] == [event["id"]]
    assert after.items == []


def test_a_cursor_from_before_a_workshop_started_still_continues_the_list(api: Api) -> None:
    first = api.published(workshop(JULY_2021))
    second = api.published(workshop(JULY_2021.replace(day=29)))
    page = service.list_upcoming(now=datetime(2021, 7, 1, tzinfo=UTC), limit=1)
    assert [e.id for e in page.items] == [first["id"]]

    # A week later the first workshop has begun; the cursor still leads on.
    later = service.list_upcoming(
        now=datetime(2021, 7, 23, tzinfo=UTC), limit=1, cursor=page.next_cursor
    )

    assert [e.id for e in later.items] == [second["id"]]
