"""Comments: the public routes for reading, counting, submitting and reporting comments.

Thin: parse (pydantic through the resolver), call one service function, respond. A form
post (no JavaScript) answers 303 back to the post's page; JSON answers JSON. The rules
live in convene.comments.service.
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from convene import idempotency
from convene.api import handle, json_response, make_resolver, optional_member, redirect_to_site
from convene.apidoc import errors, see_other, success
from convene.comments import service
from convene.comments.models import (
    ID_PATTERN,
    CommentCounts,
    CommentIn,
    CommentPage,
    PolicyView,
    ReportIn,
    ReportResult,
    SubmitResult,
)
from convene.observability import instruments
from convene.posts.models import POST_ID_PATTERN
from pydantic import BaseModel

logger, tracer, metrics = instruments()
app = make_resolver()

PostId = Annotated[str, Path(alias="postId", pattern=POST_ID_PATTERN, max_length=100)]
CommentId = Annotated[str, Path(alias="commentId", pattern=ID_PATTERN, max_length=64)]
FORM = "application/x-www-form-urlencoded"


def _is_form() -> bool:
    return app.current_event.headers.get("content-type", "").lower().startswith(FORM)


def _source_ip() -> str | None:
    return app.current_event.request_context.identity.source_ip or None


def _returns(status: int, description: str, model: type[BaseModel]) -> dict[int, Any]:
    """A success response of a route that answers JSON, or a redirect to a form post."""
    return {status: {"description": description, "content": {"application/json": {"model": model}}}}


def _once(route: str, caller: str | None, compute: Any) -> dict[str, Any]:
    """With an Idempotency-Key header, a retried request gets the first answer again."""
    headers = app.current_event.headers
    key = headers.get("idempotency-key") or headers.get("Idempotency-Key")
    if not key:
        answer: dict[str, Any] = compute()
        return answer
    body = app.current_event.body
    return idempotency.once(route, key, body, caller, compute, context=app.lambda_context)


@app.get(
    "/comment-policy",
    summary="The comments policy and its reason codes",
    tags=["comments"],
    responses={**success(200, "The policy, for the comment form to show and link"), **errors(503)},
)
@tracer.capture_method
def get_policy() -> PolicyView:
    return service.get_policy()


@app.get(
    "/posts/<postId>/comments",
    summary="Published comments of a post, threaded",
    description=(
        "A page of threads, oldest first: each top-level comment with its replies nested "
        "(to depth 3). Pass `next_cursor` back as `cursor` for the next page."
    ),
    tags=["comments"],
    responses={
        **success(200, "A page of threads and the post's count"),
        **errors(400, 404, 422, 503),
    },
)
@tracer.capture_method
def list_comments(
    post_id: PostId,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> CommentPage:
    return service.list_comments(post_id, cursor=cursor, limit=limit)


@app.get(
    "/comment-counts",
    summary="Published-comment counts for many posts",
    description="`?post=a&post=b`, up to 50 posts in one call; an unknown post counts 0.",
    tags=["comments"],
    responses={**success(200, "Counts by post id"), **errors(400, 422, 503)},
)
@tracer.capture_method
def comment_counts(post: Annotated[list[str], Query(max_length=100)]) -> CommentCounts:
    return service.comment_counts(post)


@app.post(
    "/posts/<postId>/comments",
    summary="Comment on a post",
    description=(
        "JSON or a form post. A signed-in member's name and email come from the token. "
        "202 `pending` (every guest waits for a moderator) or 201 `approved` (a trusted "
        "member). A form post answers 303 to the post's page with `?comment=pending` or "
        "`?comment=approved`. Send an `Idempotency-Key` header to make a retry safe."
    ),
    tags=["comments"],
    responses={
        **_returns(202, "Held for a moderator", SubmitResult),
        **_returns(201, "Published at once (a trusted member)", SubmitResult),
        **see_other("A form post: back to the post's page"),
        **errors(400, 401, 404, 409, 410, 413, 415, 422, 429, 503),
    },
)
@tracer.capture_method
def submit_comment(post_id: PostId, comment: Annotated[CommentIn, Body()]) -> Response[Any]:
    member = optional_member(app)

    def compute() -> dict[str, Any]:
        result = service.submit_comment(post_id, comment, member=member, source_ip=_source_ip())
        return {
            "status": 201 if result.status == "approved" else 202,
            "body": result.model_dump(mode="json"),
        }

    answer = _once("comment", member.sub if member else None, compute)
    result = SubmitResult.model_validate(answer["body"])
    logger.info(
        "comment answered", extra={"comment_id": result.comment_id, "status": result.status}
    )
    metrics.add_metric(name=f"Comment{result.status.title()}", unit=MetricUnit.Count, value=1)
    if _is_form():
        fragment = f"comment-{result.comment_id}" if result.status == "approved" else "comments"
        return redirect_to_site(service.return_url(post_id, {"comment": result.status}, fragment))
    return json_response(answer["status"], answer["body"])


@app.post(
    "/comments/<commentId>/reports",
    summary="Report a published comment",
    description=(
        "One report per reader per comment, with a policy reason code. Enough reports hide "
        "the comment until a moderator decides. A form post answers 303 to the post's page."
    ),
    tags=["comments"],
    responses={
        **_returns(202, "The report is received", ReportResult),
        **see_other("A form post: back to the post's page"),
        **errors(400, 401, 404, 409, 413, 415, 422, 503),
    },
)
@tracer.capture_method
def report_comment(comment_id: CommentId, report: Annotated[ReportIn, Body()]) -> Response[Any]:
    member = optional_member(app)
    result = service.report_comment(
        comment_id,
        report,
        member=member,
        source_ip=_source_ip(),
        user_agent=app.current_event.headers.get("user-agent"),
    )
    logger.info("comment reported", extra={"comment_id": comment_id, "reason": report.reason})
    metrics.add_metric(name="CommentReported", unit=MetricUnit.Count, value=1)
    if _is_form():
        url = service.return_url(result.post_id, {"report": "received"}, f"comment-{comment_id}")
        return redirect_to_site(url)
    return json_response(202, result.model_dump(mode="json"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
