"""Registrations: the public workshop pages, and registering for them.

Thin: parse, call one service function, respond. No login needed to read events.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from convene import idempotency
from convene.api import handle, json_response, make_resolver, optional_member, redirect_to_site
from convene.apidoc import errors, see_other, success
from convene.auth import Caller
from convene.events import service
from convene.events.models import ID_PATTERN, EventPage, PublicEvent
from convene.observability import instruments
from convene.registrations import service as registrations
from convene.registrations.emails import event_page, site_url
from convene.registrations.models import (
    REGISTRATION_ID_PATTERN,
    InterestIn,
    InterestResult,
    ManageView,
    RegistrationIn,
    RegistrationResult,
    TokenIn,
)
from pydantic import BaseModel

logger, tracer, metrics = instruments()
app = make_resolver()

EventId = Annotated[str, Path(alias="eventId", pattern=ID_PATTERN, max_length=64)]


@app.get(
    "/events",
    summary="Upcoming published events",
    description="Soonest first, a page at a time; `series` narrows the list to one series.",
    tags=["events"],
    responses={**success(200, "A page of events"), **errors(400, 422, 503)},
)
@tracer.capture_method
def list_events(
    series: Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> EventPage:
    return service.list_upcoming(series_id=series, cursor=cursor, limit=limit)


@app.get(
    "/events/<eventId>",
    summary="One published event",
    tags=["events"],
    responses={**success(200, "The event"), **errors(400, 404, 422, 503)},
)
@tracer.capture_method
def get_event(event_id: EventId) -> PublicEvent:
    return service.get_public_event(event_id)


# ---------------------------------------------------------------- registrations
# A person registers, confirms by the link in their email, and manages their place with
# the token from their emails. The rules are in convene.registrations.service.

RegistrationId = Annotated[
    str, Path(alias="registrationId", pattern=REGISTRATION_ID_PATTERN, max_length=40)
]
LinkToken = Annotated[
    str | None, Query(max_length=100, description="The token from the email link.")
]


def _now() -> datetime:
    return datetime.now(UTC)


def returns(status: int, description: str, model: type[BaseModel]) -> dict[int, Any]:
    """A success response of a route that answers JSON or a redirect (a form post)."""
    return {status: {"description": description, "content": {"application/json": {"model": model}}}}


def _form_post() -> bool:
    content_type = app.current_event.headers.get("content-type") or ""
    return content_type.startswith("application/x-www-form-urlencoded")


def _sub(caller: Caller | None) -> str | None:
    return caller.sub if caller else None


def _idempotency_key() -> str | None:
    headers = app.current_event.headers
    return headers.get("idempotency-key") or headers.get("Idempotency-Key")


@app.post(
    "/events/<eventId>/registrations",
    summary="Register for an event",
    description=(
        "JSON or a form post. A guest gets 202 `pending_confirmation` and an email with a "
        "link to confirm; the answer is the same whether or not the email is registered. "
        "A signed-in member (Cognito has verified their email) is confirmed or waitlisted "
        "at once (201). A form post answers 303 to the event's page. Send an "
        "`Idempotency-Key` header to make a retry safe."
    ),
    tags=["registrations"],
    responses={
        **returns(201, "A member's place: confirmed or waitlisted", RegistrationResult),
        **returns(202, "A guest: check your email to confirm", RegistrationResult),
        **see_other("A form post: to the event's page on the site"),
        **errors(400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 503),
    },
)
@tracer.capture_method
def register(event_id: EventId, form: Annotated[RegistrationIn, Body()]) -> Response[Any]:
    caller = optional_member(app)
    key = _idempotency_key()

    def compute() -> dict[str, Any]:
        outcome = registrations.register(event_id, form, caller=caller, now=_now())
        return {"status": outcome.status_code, "body": outcome.result.model_dump(mode="json")}

    body, context = app.current_event.body, app.lambda_context
    answer = (
        idempotency.once("register", key, body, _sub(caller), compute, context=context)
        if key
        else compute()
    )
    status = answer["body"]["status"]
    logger.info("registration answered", extra={"event_id": event_id, "status": status})
    metrics.add_metric(name="RegistrationAnswered", unit=MetricUnit.Count, value=1)
    if _form_post():
        return redirect_to_site(event_page(event_id, registration=status))
    return json_response(answer["status"], answer["body"])


def _confirmed(token: str | None) -> RegistrationResult:
    result = registrations.confirm(token, now=_now())
    logger.info(
        "confirm link used",
        extra={"registration_id": result.registration_id, "status": result.status},
    )
    return result


@app.get(
    "/registrations/confirm",
    summary="Confirm a registration (or accept an offer) from the email link",
    description="Answers 303 to the event's page, with the outcome in the query.",
    tags=["registrations"],
    responses={**see_other("To the event's page"), **errors(404, 409, 410, 422, 503)},
)
@tracer.capture_method
def confirm_link(token: LinkToken = None) -> Response[Any]:
    result = _confirmed(token)
    return redirect_to_site(event_page(result.event_id, registration=result.status))


@app.post(
    "/registrations/confirm",
    summary="Confirm a registration (or accept an offer)",
    description=(
        "Takes a seat if one is free, or joins the waiting list (with its position); "
        "accepts a waiting-list offer in time. A second click is harmless. The token goes "
        "in the query or the body; a form post answers 303 to the event's page."
    ),
    tags=["registrations"],
    responses={
        **returns(200, "The registration as it now is", RegistrationResult),
        **see_other("A form post: to the event's page"),
        **errors(400, 404, 409, 410, 415, 422, 503),
    },
)
@tracer.capture_method
def confirm(
    token: LinkToken = None, body: Annotated[TokenIn | None, Body()] = None
) -> Response[Any]:
    result = _confirmed(token or (body.token if body else None))
    if _form_post():
        return redirect_to_site(event_page(result.event_id, registration=result.status))
    return json_response(200, result.model_dump(mode="json"))


@app.get(
    "/registrations/<registrationId>",
    summary="The registrant's own view",
    description="By the token in their emails: their name (never their email), the "
    "event, their status and, once confirmed, the joining link.",
    tags=["registrations"],
    responses={**success(200, "The registration"), **errors(404, 410, 422, 503)},
)
@tracer.capture_method
def manage(registration_id: RegistrationId, token: LinkToken = None) -> ManageView:
    return registrations.manage_view(registration_id, token, now=_now())


@app.post(
    "/registrations/<registrationId>/cancel",
    summary="Cancel a registration",
    description=(
        "With the token (query or body). Frees the seat: the first on the waiting list "
        "gets an offer. A form post answers 303 to the event's page."
    ),
    tags=["registrations"],
    responses={
        **returns(200, "Cancelled", RegistrationResult),
        **see_other("A form post: to the event's page"),
        **errors(400, 404, 409, 410, 415, 422, 503),
    },
)
@tracer.capture_method
def cancel(
    registration_id: RegistrationId,
    token: LinkToken = None,
    body: Annotated[TokenIn | None, Body()] = None,
) -> Response[Any]:
    result = registrations.cancel(
        registration_id, token or (body.token if body else None), now=_now()
    )
    logger.info("registration cancelled", extra={"registration_id": registration_id})
    if _form_post():
        return redirect_to_site(event_page(result.event_id, registration=result.status))
    return json_response(200, result.model_dump(mode="json"))


@app.get(
    "/registrations/<registrationId>/calendar.ics",
    summary="The event as a calendar file",
    tags=["registrations"],
    responses={
        200: {"description": "text/calendar", "content": {"text/calendar": {}}},
        **errors(404, 410, 422, 503),
    },
)
@tracer.capture_method
def calendar(registration_id: RegistrationId, token: LinkToken = None) -> Response[Any]:
    ics = registrations.calendar_file(registration_id, token, now=_now())
    return Response(
        status_code=200,
        content_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="event.ics"'},
        body=ics.decode("utf-8"),
    )


@app.post(
    "/series/<seriesId>/interest",
    summary="Offer to help plan future workshops",
    description="The organisers are told by email. JSON or a form post (303 to the site).",
    tags=["registrations"],
    responses={
        **returns(202, "Received", InterestResult),
        **see_other("A form post: back to the site"),
        **errors(400, 404, 413, 415, 422, 503),
    },
)
@tracer.capture_method
def interest(
    series_id: Annotated[str, Path(alias="seriesId", pattern=ID_PATTERN, max_length=64)],
    form: Annotated[InterestIn, Body()],
) -> Response[Any]:
    key = _idempotency_key()

    def compute() -> dict[str, Any]:
        return registrations.record_interest(series_id, form, now=_now()).model_dump(mode="json")

    body = app.current_event.body
    answer = (
        idempotency.once("interest", key, body, None, compute, context=app.lambda_context)
        if key
        else compute()
    )
    logger.info("interest received", extra={"series_id": series_id})
    if _form_post():
        return redirect_to_site(f"{site_url()}/series.html?id={series_id}&interest=received")
    return json_response(202, answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
