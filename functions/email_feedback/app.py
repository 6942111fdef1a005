"""EmailFeedback: what recipients tell us.

- SNS from the SES configuration set: bounces and complaints go to the suppression list.
- GET /email/unsubscribe?token=  the link in opt-out emails (303 to the site, or JSON).
- POST /email/unsubscribe?token= RFC 8058 one-click: the mail client's unsubscribe button.

Thin: parse, call convene.email.feedback, respond.
"""

from typing import Annotated, Any
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SNSEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from convene.api import handle, make_resolver, redirect_to_site
from convene.apidoc import errors, see_other, success
from convene.email import feedback
from convene.email.outbox import ListKind
from convene.email.suppression import InvalidToken
from convene.errors import BadRequest
from convene.observability import instruments
from convene.settings import get_settings
from pydantic import BaseModel

logger, tracer, metrics = instruments()
app = make_resolver()

Token = Annotated[str, Query(min_length=1, max_length=200)]


class Unsubscribed(BaseModel):
    status: str = "unsubscribed"
    kind: ListKind


def _site_page(**query: str) -> str:
    return f"{get_settings().site_url.rstrip('/')}/email/unsubscribed?{urlencode(query)}"


def _wants_json() -> bool:
    accept = app.current_event.headers.get("accept") or app.current_event.headers.get("Accept")
    return "application/json" in (accept or "")


def _unsubscribe(token: str) -> ListKind:
    try:
        kind = feedback.unsubscribe(token)
    except InvalidToken:
        metrics.add_metric(name="UnsubscribeRefused", unit=MetricUnit.Count, value=1)
        raise BadRequest(
            "This unsubscribe link is not valid.", code="invalid_token", fields={"token": "invalid"}
        ) from None
    metrics.add_metric(name="Unsubscribed", unit=MetricUnit.Count, value=1)
    return kind


@app.get(
    "/email/unsubscribe",
    summary="Unsubscribe from one kind of email (the link in the email)",
    description="A browser is sent on (303) to the site's page; `Accept: application/json` "
    "gets JSON.",
    tags=["email"],
    responses={
        **success(200, "Unsubscribed (JSON)"),
        **see_other("Unsubscribed (or the link was not valid): on to the site"),
        **errors(400, 422),
    },
)
@tracer.capture_method
def unsubscribe_link(token: Token) -> Response[Any]:
    if _wants_json():
        kind = _unsubscribe(token)
        return Response(200, "application/json", Unsubscribed(kind=kind).model_dump_json())
    try:
        kind = _unsubscribe(token)
    except BadRequest:
        return redirect_to_site(_site_page(error="invalid_link"))
    return redirect_to_site(_site_page(kind=kind))


@app.post(
    "/email/unsubscribe",
    summary="One-click unsubscribe (RFC 8058)",
    description="Mail clients POST `List-Unsubscribe=One-Click` here; the signed token "
    "says who and from what.",
    tags=["email"],
    responses={**success(200, "Unsubscribed"), **errors(400, 422)},
)
@tracer.capture_method
def unsubscribe_one_click(token: Token) -> Unsubscribed:
    return Unsubscribed(kind=_unsubscribe(token))


def _ses_feedback(event: dict[str, Any]) -> dict[str, Any]:
    # SNS invokes the function asynchronously, one message at a time: an error here makes
    # Lambda retry the invocation, then hand it to the on-failure destination.
    suppressed = 0
    records = list(SNSEvent(event).records)
    for record in records:
        suppressed += feedback.handle_ses_event(record.sns.message).suppressed
    metrics.add_metric(name="SesFeedbackEvents", unit=MetricUnit.Count, value=len(records))
    metrics.add_metric(name="AddressesSuppressed", unit=MetricUnit.Count, value=suppressed)
    return {"suppressed": suppressed}


def _is_sns(event: dict[str, Any]) -> bool:
    records = event.get("Records") or []
    return bool(records) and records[0].get("EventSource") == "aws:sns"


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if _is_sns(event):
        return _ses_feedback(event)
    return handle(app, event, context)
