"""The events service as other capabilities and the seed script use it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from convene.errors import Conflict, Invalid, NotFound
from convene.events import service
from convene.events.models import EventDraft, EventPatch, SeriesIn

from tests.unit.events.conftest import JULY_2021, ORGANISER, workshop

ORGANISER_ID = ORGANISER["sub"]


def july_workshop(**overrides: object) -> EventDraft:
    return EventDraft.model_validate(workshop(JULY_2021, **overrides))


def test_an_event_can_be_created_with_a_chosen_id_once(aws: None) -> None:
    created = service.create_event(
        july_workshop(), organiser=ORGANISER_ID, event_id="community-space-2021-07-22"
    )

    with pytest.raises(Conflict):
        service.create_event(
            july_workshop(title="Someone else's"),
            organiser=ORGANISER_ID,
            event_id="community-space-2021-07-22",
        )

    assert created.id == "community-space-2021-07-22"
    assert service.get_event(created.id).title == "Community Space"


def test_generated_ids_are_event_prefixed_and_distinct(aws: None) -> None:
    ids = {service.create_event(july_workshop(), organiser=ORGANISER_ID).id for _ in range(5)}

    assert len(ids) == 5
    assert all(i.startswith("evt_") and len(i) == 16 for i in ids)


def test_the_stored_event_carries_what_registrations_need(aws: None) -> None:
    created = service.create_event(july_workshop(capacity=30), organiser=ORGANISER_ID)

    stored = service.get_event(created.id)

    assert stored.seats_taken == 0
    assert stored.capacity == 30
    assert stored.seats_left == 30
    assert stored.organiser == ORGANISER_ID
    assert stored.joining_url == "https://meet.example.org/community-space/7d1e?pwd=s3cret"
    assert stored.registration_closes_at == datetime(2021, 7, 22, 10, tzinfo=UTC)
    assert stored.retention_days == 90


def test_a_series_is_written_idempotently(aws: None) -> None:
    series = SeriesIn(title="Community Space", summary="Online workshops")

    service.put_series("community-space", series)
    first = service.get_series("community-space")
    service.put_series("community-space", series.model_copy(update={"summary": "Workshops"}))
    second = service.get_series("community-space")

    assert second.summary == "Workshops"
    assert second.created_at == first.created_at


def test_unknown_or_malformed_ids_are_not_found(aws: None) -> None:
    for event_id in ("evt_000000000000", "../EVENT#x", "x" * 300, ""):
        with pytest.raises(NotFound):
            service.get_event(event_id)
        with pytest.raises(NotFound):
            service.get_public_event(event_id)
    with pytest.raises(NotFound):
        service.get_series("community-space")


def test_a_draft_has_no_public_view(aws: None) -> None:
    created = service.create_event(july_workshop(), organiser=ORGANISER_ID)

    with pytest.raises(NotFound):
        service.get_public_event(created.id)

    service.update_event(created.id, EventPatch(status="published"), organiser=ORGANISER_ID)
    assert service.get_public_event(created.id).id == created.id


def test_a_full_workshop_without_a_waiting_list_is_closed(aws: None) -> None:
    created = service.create_event(
        july_workshop(capacity=0, waitlist=False), organiser=ORGANISER_ID
    )
    service.update_event(created.id, EventPatch(status="published"), organiser=ORGANISER_ID)

    public = service.get_public_event(created.id, now=datetime(2021, 7, 1, tzinfo=UTC))

    assert public.seats_left == 0
    assert public.registration_open is False


def test_list_limits_are_checked(aws: None) -> None:
    for limit in (0, 101):
        with pytest.raises(Invalid) as refused:
            service.list_upcoming(limit=limit)
        assert refused.value.fields.keys() == {"limit"}
