"""Moderation: the moderators' routes (Cognito group `moderators`): the queues, claims,
decisions one at a time or in bulk, a comment's history, the stats and the block list.

Thin: the group is checked before anything else (`handle(..., group="moderators")`), the
input is validated by pydantic, one service function answers. The rules live in
convene.moderation.service; docs/moderation.md explains them.
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from convene import idempotency
from convene.api import handle, json_response, make_resolver, require_group
from convene.apidoc import SIGNED_IN, errors, success
from convene.comments.models import ID_PATTERN
from convene.moderation import service
from convene.moderation.models import (
    BlockList,
    BlockPut,
    BlockRemove,
    BlockResult,
    BulkDecisionsIn,
    BulkResult,
    ClaimIn,
    ClaimResult,
    DecisionIn,
    DecisionResult,
    HistoryView,
    Queue,
    QueueView,
    StatsView,
)
from convene.moderation.service import Moderator
from convene.observability import instruments

logger, tracer, metrics = instruments()
app = make_resolver()

GROUP = "moderators"
TAGS = [GROUP]
CommentId = Annotated[str, Path(alias="commentId", pattern=ID_PATTERN, max_length=64)]
Cursor = Annotated[str | None, Query(max_length=512)]


def _moderator() -> Moderator:
    return Moderator.from_caller(require_group(app, GROUP))


def _once(route: str, moderator: Moderator, compute: Any) -> dict[str, Any]:
    """With an Idempotency-Key header, a retried request gets the first answer again (a
    decision sent twice answers 200 twice rather than 200 then 409)."""
    headers = app.current_event.headers
    key = headers.get("idempotency-key") or headers.get("Idempotency-Key")
    if not key:
        answer: dict[str, Any] = compute()
        return answer
    body = app.current_event.body
    return idempotency.once(route, key, body, moderator.id, compute, context=app.lambda_context)


@app.get(
    "/moderation/queue",
    summary="A moderation queue, oldest first",
    description=(
        "Each comment with its author's email, flags and reports (with reasons), the "
        "post's title, the comment it answers, the author's history and any live claim. "
        "Pass `next_cursor` back as `cursor` for the next page. The `spam` queue holds "
        "what the defences caught (a block, the honeypot), each with `expires_at`: when "
        "it is deleted unless approved."
    ),
    tags=TAGS,
    security=SIGNED_IN,
    responses={**success(200, "A page of the queue"), **errors(401, 403, 422, 503)},
)
@tracer.capture_method
def get_queue(
    queue: Annotated[Queue, Query()] = "pending",
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=service.QUEUE_PAGE_MAX)] = 25,
) -> QueueView:
    return service.list_queue(queue, _moderator(), cursor=cursor, limit=limit)


@app.post(
    "/moderation/claims",
    summary="Claim the next comments to review",
    description=(
        "Leases the caller's batch for 10 minutes: the comments they already hold (their "
        "leases extended), then the oldest that nobody holds or whose lease ran out, up to "
        "`count` (at most 20). No two moderators ever hold the same comment."
    ),
    tags=TAGS,
    security=SIGNED_IN,
    responses={
        **success(200, "The caller's batch"),
        **errors(400, 401, 403, 413, 415, 422, 503),
    },
)
@tracer.capture_method
def claim(body: Annotated[ClaimIn, Body()]) -> ClaimResult:
    result = service.claim(body.queue, body.count, _moderator())
    metrics.add_metric(name="CommentsClaimed", unit=MetricUnit.Count, value=result.claimed)
    return result


@app.post(
    "/moderation/comments/<commentId>/decision",
    summary="Approve, reject or mark spam one comment",
    description=(
        "A reason code from the comments policy is required to reject or mark spam. Send "
        "the `version` you saw. 409 `claimed_by_another`: another moderator holds a live "
        "lease on it; 409 `already_decided`: it is no longer waiting, or it changed since "
        "you loaded it. Approving publishes it and sends the emails its author and the "
        "parent's author asked for. A comment in the spam queue can only be approved (409 "
        "`spam_approve_only` otherwise). Send an `Idempotency-Key` header to make a retry "
        "safe."
    ),
    tags=TAGS,
    security=SIGNED_IN,
    responses={
        **success(200, "The decision is applied"),
        **errors(400, 401, 403, 404, 409, 413, 415, 422, 503),
    },
)
@tracer.capture_method
def decide(comment_id: CommentId, decision: Annotated[DecisionIn, Body()]) -> DecisionResult:
    moderator = _moderator()

    def compute() -> dict[str, Any]:
        return service.decide(comment_id, decision, moderator).model_dump(mode="json")

    result = DecisionResult.model_validate(_once("decision", moderator, compute))
    metrics.add_metric(name=f"Moderation{decision.action.title()}", unit=MetricUnit.Count, value=1)
    return result


@app.post(
    "/moderation/decisions",
    summary="Many decisions in one call",
    description=(
        "Up to 25 decisions, applied in order, each answered on its own (207): `status` "
        "is what that decision alone would have answered (200, 404, 409, 422)."
    ),
    tags=TAGS,
    security=SIGNED_IN,
    responses={
        207: {
            "description": "One result per decision, in the order sent",
            "content": {"application/json": {"model": BulkResult}},
        },
        **errors(400, 401, 403, 413, 415, 422, 503),
    },
)
@tracer.capture_method
def decide_many(body: Annotated[BulkDecisionsIn, Body()]) -> Response[Any]:
    moderator = _moderator()

    def compute() -> dict[str, Any]:
        return service.decide_many(body.decisions, moderator).model_dump(mode="json")

    answer = _once("decisions", moderator, compute)
    metrics.add_metric(name="ModerationBulkApplied", unit=MetricUnit.Count, value=answer["applied"])
    return json_response(207, answer)


@app.get(
    "/moderation/comments/<commentId>/history",
    summary="A comment's audit trail",
    description="Every change, oldest first: who, when, what, the reason code and the note.",
    tags=TAGS,
    security=SIGNED_IN,
    responses={**success(200, "The trail"), **errors(401, 403, 404, 422, 503)},
)
@tracer.capture_method
def history(comment_id: CommentId, cursor: Cursor = None) -> HistoryView:
    _moderator()
    return service.history(comment_id, cursor=cursor)


@app.get(
    "/moderation/stats",
    summary="Queue depths, the oldest waits, kept spam and decisions per day",
    description=(
        "Depths and decisions from maintained counters; `days` of decisions, today last"
        " (default 7). The spam queue is not counted: `spam` says whether a caught comment"
        " is kept and when the next one is deleted unless approved."
    ),
    tags=TAGS,
    security=SIGNED_IN,
    responses={**success(200, "The figures"), **errors(401, 403, 422, 503)},
)
@tracer.capture_method
def stats(days: Annotated[int, Query(ge=1, le=31)] = 7) -> StatsView:
    _moderator()
    return service.stats(days=days)


@app.get(
    "/moderation/blocks",
    summary="The block list",
    description="Blocked emails (shown masked; stored as a keyed hash), domains and words.",
    tags=TAGS,
    security=SIGNED_IN,
    responses={**success(200, "Every block"), **errors(401, 403, 503)},
)
@tracer.capture_method
def list_blocks() -> BlockList:
    _moderator()
    return service.list_blocks()


@app.put(
    "/moderation/blocks",
    summary="Block an email, a domain or a word",
    description=(
        "New comments that match go quietly to spam. With `reject_pending` (email blocks "
        "only) that author's pending comments are rejected too, with `reason_code`; "
        "`more` says to put the block again to go on."
    ),
    tags=TAGS,
    security=SIGNED_IN,
    responses={**success(200, "The block"), **errors(400, 401, 403, 413, 415, 422, 503)},
)
@tracer.capture_method
def put_block(block: Annotated[BlockPut, Body()]) -> BlockResult:
    return service.put_block(block, _moderator())


@app.delete(
    "/moderation/blocks",
    summary="Remove a block",
    description="The body names the block as it was put (an email is typed again in full).",
    tags=TAGS,
    security=SIGNED_IN,
    responses={
        204: {"description": "The block is gone"},
        **errors(400, 401, 403, 404, 413, 415, 422, 503),
    },
)
@tracer.capture_method
def remove_block(block: Annotated[BlockRemove, Body()]) -> Response[Any]:
    _moderator()
    service.remove_block(block.kind, block.value)
    return Response(status_code=204, body="")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context, group=GROUP)
