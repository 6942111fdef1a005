"""Organisers: create, edit, publish and cancel events, their registrants, posts and
personal-data requests (Cognito group `organisers`).

Thin: parse (pydantic through the resolver), check the group, call one service function,
respond. The rules live in convene.events.service and convene.registrations.
"""

from datetime import UTC, datetime
from types import ModuleType
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from convene import idempotency
from convene.api import handle, make_resolver, require_group
from convene.apidoc import SIGNED_IN, errors, success
from convene.events import service
from convene.events.models import ID_PATTERN, AdminEvent, EventDraft, EventPatch
from convene.observability import instruments
from convene.posts import service as posts
from convene.posts.models import POST_ID_PATTERN, PostIn, PostView
from convene.registrations import organisers as registrant_tools
from convene.registrations import service as registrations
from convene.registrations.models import AttendeeList, CancelEventIn, MessageIn, NoticeResult
from pydantic import BaseModel

logger, tracer, metrics = instruments()
app = make_resolver()

EventId = Annotated[str, Path(alias="eventId", pattern=ID_PATTERN, max_length=64)]
PostId = Annotated[str, Path(alias="postId", pattern=POST_ID_PATTERN, max_length=100)]


@app.post(
    "/admin/events",
    status_code=201,
    summary="Create a draft event",
    tags=["organisers"],
    security=SIGNED_IN,
    responses={
        **success(201, "The draft, with its private fields and version"),
        **errors(400, 401, 403, 413, 415, 422, 503),
    },
)
@tracer.capture_method
def create_event(draft: Annotated[EventDraft, Body()]) -> AdminEvent:
    organiser = require_group(app, "organisers")
    event = service.create_event(draft, organiser=organiser.sub)
    logger.info("event created", extra={"event_id": event.id})
    metrics.add_metric(name="EventCreated", unit=MetricUnit.Count, value=1)
    return event


@app.patch(
    "/admin/events/<eventId>",
    summary="Edit an event, or publish a draft",
    description=(
        "Only the fields sent change. `status: published` publishes a draft. Send the "
        "`version` you loaded: if the event changed since, the answer is 409."
    ),
    tags=["organisers"],
    security=SIGNED_IN,
    responses={
        **success(200, "The event as it now is"),
        **errors(400, 401, 403, 404, 409, 410, 413, 415, 422, 503),
    },
)
@tracer.capture_method
def update_event(event_id: EventId, patch: Annotated[EventPatch, Body()]) -> AdminEvent:
    organiser = require_group(app, "organisers")
    event = service.update_event(event_id, patch, organiser=organiser.sub)
    # What the edit means for registrants: offers if seats were added, a notice (with the
    # calendar's SEQUENCE + 1) if the time moved. The scheduled run checks the same.
    registrant_tools.after_event_update(event.id, now=_now())
    logger.info("event updated", extra={"event_id": event.id, "version": event.version})
    if patch.status == "published":
        metrics.add_metric(name="EventPublished", unit=MetricUnit.Count, value=1)
    return event


@app.put(
    "/admin/posts/<postId>",
    summary="Register a blog post, or open or close its comments",
    description="Creates the post or updates its title, address and whether comments are open.",
    tags=["organisers"],
    security=SIGNED_IN,
    responses={
        **success(200, "The post as it now is"),
        **errors(400, 401, 403, 413, 415, 422, 503),
    },
)
@tracer.capture_method
def register_post(post_id: PostId, post: Annotated[PostIn, Body()]) -> PostView:
    organiser = require_group(app, "organisers")
    view = posts.register_post(post_id, post, organiser=organiser.sub)
    logger.info("post registered", extra={"post_id": post_id, "comments_open": view.comments_open})
    return view


# ---------------------------------------------------------------- registrants
# The rules are in convene.registrations.organisers (and .service for personal data).

Email = Annotated[str, Query(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


def _now() -> datetime:
    return datetime.now(UTC)


def _idempotency_key() -> str | None:
    headers = app.current_event.headers
    return headers.get("idempotency-key") or headers.get("Idempotency-Key")


@app.get(
    "/admin/events/<eventId>/registrations",
    summary="The attendee list: states and answers, as JSON or CSV",
    description=(
        "Confirmed, offered, waiting and unconfirmed registrants with their answers. "
        "`Accept: text/csv` answers a spreadsheet-safe CSV (a cell that starts with "
        "= + - @ tab or CR gets a leading quote)."
    ),
    tags=["organisers"],
    security=SIGNED_IN,
    responses={
        200: {
            "description": "The attendee list",
            "content": {"application/json": {"model": AttendeeList}, "text/csv": {}},
        },
        **errors(401, 403, 404, 422, 503),
    },
)
@tracer.capture_method
def attendees(event_id: EventId) -> Response[Any]:
    require_group(app, "organisers")
    listing = registrant_tools.attendees(event_id)
    accept = app.current_event.headers.get("accept") or app.current_event.headers.get("Accept")
    logger.info("attendee list read", extra={"event_id": event_id, "rows": len(listing.items)})
    if accept and "text/csv" in accept:
        return Response(
            status_code=200,
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{event_id}-attendees.csv"'},
            body=registrant_tools.attendees_csv(listing),
        )
    return Response(
        status_code=200, content_type="application/json", body=listing.model_dump_json()
    )


@app.post(
    "/admin/events/<eventId>/cancel",
    summary="Cancel an event; every registrant is emailed",
    description=(
        "The event leaves the listings; confirmed, offered and waiting registrants get an "
        "email with a calendar cancellation. Large events are emailed in pages: `done` "
        "false means the scheduled run sends the rest within minutes."
    ),
    tags=["organisers"],
    security=SIGNED_IN,
    responses={
        **success(200, "The cancellation notice, and how far it has gone"),
        **errors(400, 401, 403, 404, 409, 410, 413, 415, 422, 503),
    },
)
@tracer.capture_method
def cancel_event(
    event_id: EventId, body: Annotated[CancelEventIn | None, Body()] = None
) -> NoticeResult:
    require_group(app, "organisers")
    reason = body.reason if body else None
    result = registrant_tools.cancel_event(event_id, reason=reason, now=_now())
    logger.info("event cancelled", extra={"event_id": event_id, "emails": result.sent})
    metrics.add_metric(name="EventCancelled", unit=MetricUnit.Count, value=1)
    return result


@app.post(
    "/admin/events/<eventId>/messages",
    status_code=202,
    summary="Email the confirmed, waiting or all registrants",
    description="Send an `Idempotency-Key` header so a retried request sends nothing twice.",
    tags=["organisers"],
    security=SIGNED_IN,
    responses={
        **success(202, "The message, and how far it has gone"),
        **errors(400, 401, 403, 404, 409, 410, 413, 415, 422, 503),
    },
)
@tracer.capture_method
def message_registrants(event_id: EventId, body: Annotated[MessageIn, Body()]) -> NoticeResult:
    organiser = require_group(app, "organisers")
    key = _idempotency_key()

    def compute() -> dict[str, Any]:
        return registrant_tools.message(event_id, body, now=_now()).model_dump(mode="json")

    raw, context = app.current_event.body, app.lambda_context
    answer = (
        idempotency.once("message", key, raw, organiser.sub, compute, context=context)
        if key
        else compute()
    )
    logger.info("registrants messaged", extra={"event_id": event_id, "audience": body.audience})
    return NoticeResult.model_validate(answer)


def _comments() -> ModuleType:
    """The comments service, loaded by the two people routes only: the function's other
    routes never touch comments, and its models, policy and outbox are about 40 ms of
    import (docs/performance.md)."""
    from convene.comments import service

    return service


class PersonData(BaseModel):
    """What Convene holds about one email address: registrations and comments."""

    registrations: dict[str, Any]
    comments: dict[str, Any] | None = None


@app.get(
    "/admin/people",
    summary="Export one person's personal data (by email)",
    tags=["organisers"],
    security=SIGNED_IN,
    responses={**success(200, "Their registrations and comments"), **errors(401, 403, 422, 503)},
)
@tracer.capture_method
def export_person(email: Email) -> PersonData:
    require_group(app, "organisers")
    comments = _comments()
    logger.info("personal data exported")  # never the address itself
    return PersonData(
        registrations=registrations.export_person(email),
        comments=comments.export_person(email),
    )


@app.delete(
    "/admin/people",
    summary="Erase one person's personal data (by email)",
    description="Places they held go to the waiting list first; nothing is emailed to them.",
    tags=["organisers"],
    security=SIGNED_IN,
    responses={**success(200, "How much was erased"), **errors(401, 403, 422, 503)},
)
@tracer.capture_method
def erase_person(email: Email) -> dict[str, dict[str, int]]:
    require_group(app, "organisers")
    comments = _comments()
    now = _now()
    erased = {
        "registrations": registrations.erase_person(email, now=now),
        "comments": comments.erase_person(email, now=now),
    }
    logger.info("personal data erased", extra={"counts": erased})
    return erased


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context, group="organisers")
