"""Organisers: create, edit and publish events (Cognito group `organisers`).

Thin: parse (pydantic through the resolver), check the group, call one service function,
respond. The rules live in convene.events.service.
"""

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from convene.api import handle, make_resolver, require_group
from convene.apidoc import SIGNED_IN, errors, success
from convene.events import service
from convene.events.models import ID_PATTERN, AdminEvent, EventDraft, EventPatch
from convene.posts import service as posts
from convene.posts.models import POST_ID_PATTERN, PostIn, PostView

logger, tracer, metrics = Logger(), Tracer(), Metrics()
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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context, group="organisers")
