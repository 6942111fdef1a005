"""HTTP concerns shared by every API function: the resolver, the one error shape, who is
calling, and the checks that happen before a request reaches a route.

A handler module does:

    app = make_resolver()

    @app.post("/admin/events")
    def create(...): ...

    def lambda_handler(event, context):
        return handle(app, event, context)
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError

from convene.auth import Caller, caller_from_claims, verify_id_token
from convene.errors import ConveneError, Forbidden, Unauthorized
from convene.settings import get_settings

logger = Logger(child=True)

# DynamoDB answers these when it is overloaded or down: the client should come back later.
_RETRYABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    # A transaction cancelled by contention (a condition that failed is TransactionCancelled).
    "TransactionCanceledException",
    "TransactionConflictException",
    "TransactionInProgressException",
}


def error_body(code: str, message: str, fields: Mapping[str, str] | None = None) -> str:
    return json.dumps({"error": {"code": code, "message": message, "fields": dict(fields or {})}})


def error_response(
    status: int,
    code: str,
    message: str,
    fields: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=error_body(code, message, fields),
        headers=dict(headers or {}),
    )


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("body", "capacity") -> "capacity"; ("query", "series") -> "series"
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts) or "body"


def _validation_fields(errors: list[dict[str, Any]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for err in errors:
        name = _field_name(tuple(err.get("loc", ())))
        message = str(err.get("msg", "is not valid"))
        # pydantic prefixes custom errors with "Value error, "; the reader needs only the reason.
        message = message.removeprefix("Value error, ")
        fields.setdefault(name, message)
    return fields


def make_resolver() -> APIGatewayRestResolver:
    settings = get_settings()
    app = APIGatewayRestResolver(
        enable_validation=True,
        cors=CORSConfig(
            allow_origin=settings.allowed_origin,
            allow_headers=["Content-Type", "Authorization", "Idempotency-Key"],
            max_age=600,
        ),
    )

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        if any(e.get("type") in {"json_invalid", "form_invalid"} for e in errors):
            return error_response(
                400, "malformed", "The request body is not valid JSON.", {"body": "malformed"}
            )
        return error_response(
            422, "validation_failed", "Some fields need attention.", _validation_fields(errors)
        )

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(exc: RequestUnsupportedContentType) -> Response:
        return error_response(
            415,
            "unsupported_media_type",
            "Send JSON or a form post (application/x-www-form-urlencoded).",
            {"content-type": "unsupported"},
        )

    @app.exception_handler(ConveneError)
    def _domain(exc: ConveneError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)

    @app.exception_handler(NotFoundError)
    def _no_route(exc: NotFoundError) -> Response:
        return error_response(404, "not_found", "There is no such route.")

    @app.exception_handler(ClientError)
    def _aws(exc: ClientError) -> Response:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _RETRYABLE_CODES:
            logger.warning("dependency throttled or failing", extra={"aws_error": code})
            return _unavailable()
        logger.exception("unexpected AWS error", extra={"aws_error": code})
        return error_response(500, "internal", "Something went wrong on our side.")

    @app.exception_handler(BotoCoreError)
    def _unreachable(exc: BotoCoreError) -> Response:
        logger.warning("dependency unreachable", extra={"aws_error": type(exc).__name__})
        return _unavailable()

    @app.exception_handler(Exception)
    def _bug(exc: Exception) -> Response:
        # A fault of ours, never of the client's input: log it (no request data) and say so.
        logger.exception("unhandled error")
        return error_response(500, "internal", "Something went wrong on our side.")

    return app


def _unavailable() -> Response:
    return error_response(
        503,
        "unavailable",
        "The service is busy or unavailable; try again shortly.",
        headers={"Retry-After": "2"},
    )


def _body_size(event: Mapping[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return len(base64.b64decode(body, validate=False))
        except ValueError:
            return len(body)
    return len(body.encode("utf-8"))


def _cors_headers(event: Mapping[str, Any]) -> dict[str, str]:
    # An answer given before the resolver runs still needs CORS, or the browser hides it.
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    origin = get_settings().allowed_origin
    if headers.get("origin") != origin:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _refusal(event: Mapping[str, Any], status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **_cors_headers(event)},
        "multiValueHeaders": {},
        "body": error_body(code, message),
        "isBase64Encoded": False,
    }


def _group_refusal(event: Mapping[str, Any], group: str) -> dict[str, Any] | None:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = authorizer.get("claims") or {}
    if not claims.get("sub"):
        return _refusal(event, 401, "unauthorized", "Sign in: a valid token is required.")
    if not caller_from_claims(claims).in_group(group):
        return _refusal(event, 403, "forbidden", f"Only {group} may do this.")
    return None


def json_response(status: int, body: Mapping[str, Any]) -> Response:
    """A JSON answer built by a route itself (a status other than the route's default).
    Sorted keys: a replayed answer (idempotency) reads byte for byte like the first."""
    return Response(
        status_code=status, content_type="application/json", body=json.dumps(body, sort_keys=True)
    )


def redirect_to_site(location: str) -> Response:
    """303 See Other to a page of the site, the answer to a form post (no JavaScript) or an
    email link. No body, so no JSON content type either (an empty JSON body is malformed)."""
    return Response(
        status_code=303, content_type="text/plain", headers={"Location": location}, body=""
    )


def handle(
    app: APIGatewayRestResolver,
    event: dict[str, Any],
    context: Any,
    *,
    group: str | None = None,
) -> dict[str, Any]:
    """Checks that precede routing, then the resolver.

    `group`: every route of this function belongs to one Cognito group. It is checked
    before the body is validated, so a caller outside the group learns nothing about
    the route's input rules (403, never 422)."""
    if group and event.get("httpMethod") != "OPTIONS":
        refusal = _group_refusal(event, group)
        if refusal:
            return refusal
    limit = get_settings().max_body_bytes
    if _body_size(event) > limit:
        return {
            "statusCode": 413,
            "headers": {"Content-Type": "application/json", **_cors_headers(event)},
            "multiValueHeaders": {},
            "body": error_body(
                "payload_too_large",
                f"The request body is larger than {limit // 1024} KiB.",
                {"body": f"at most {limit} bytes"},
            ),
            "isBase64Encoded": False,
        }
    if _not_text(event):
        # Every route takes JSON or a form post: a body that is not UTF-8 is malformed
        # (Powertools would fail decoding it, and that must never be a 500).
        return {
            "statusCode": 400,
            "headers": {"Content-Type": "application/json", **_cors_headers(event)},
            "multiValueHeaders": {},
            "body": error_body(
                "malformed", "The request body is not valid UTF-8 text.", {"body": "malformed"}
            ),
            "isBase64Encoded": False,
        }
    return app.resolve(event, context)


def _not_text(event: Mapping[str, Any]) -> bool:
    """A base64 body (API Gateway's form for bytes) that is not UTF-8 text."""
    body = event.get("body")
    if not event.get("isBase64Encoded") or not body:
        return False
    try:
        base64.b64decode(body).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return True
    return False


# ---------------------------------------------------------------- who is calling


def authorizer_caller(app: APIGatewayRestResolver) -> Caller | None:
    """The caller on a route behind the Cognito authorizer (claims checked by API Gateway)."""
    authorizer = app.current_event.request_context.authorizer
    claims = authorizer.claims if authorizer else None
    if not claims or "sub" not in claims:
        return None
    return caller_from_claims(dict(claims))


def require_group(app: APIGatewayRestResolver, group: str) -> Caller:
    caller = authorizer_caller(app)
    if caller is None:
        raise Unauthorized("Sign in: a valid token is required.")
    if not caller.in_group(group):
        raise Forbidden(f"Only {group} may do this.")
    return caller


def optional_member(app: APIGatewayRestResolver) -> Caller | None:
    """On a public route: the signed-in caller if a token was sent, else None.
    A token that is sent but invalid is refused (401), never silently ignored."""
    header = app.current_event.headers.get("authorization") or app.current_event.headers.get(
        "Authorization"
    )
    if not header:
        return None
    token = header.removeprefix("Bearer ").strip()
    settings = get_settings()
    claims = verify_id_token(
        token,
        jwks_url=settings.jwks_url,
        issuer=settings.cognito_issuer,
        audience=settings.user_pool_client_id,
    )
    return caller_from_claims(claims)
