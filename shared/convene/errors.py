"""The errors a client can cause. Each maps to one HTTP status in the one error shape:
{"error": {"code": ..., "message": ..., "fields": {...}}}.
"""

from __future__ import annotations


class ConveneError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}
        if code:
            self.code = code


class BadRequest(ConveneError):
    status = 400
    code = "bad_request"


class Unauthorized(ConveneError):
    status = 401
    code = "unauthorized"


class Forbidden(ConveneError):
    status = 403
    code = "forbidden"


class NotFound(ConveneError):
    status = 404
    code = "not_found"


class Conflict(ConveneError):
    status = 409
    code = "conflict"


class Gone(ConveneError):
    status = 410
    code = "gone"


class PayloadTooLarge(ConveneError):
    status = 413
    code = "payload_too_large"


class Invalid(ConveneError):
    """A rule about the input that a model alone cannot express (422)."""

    status = 422
    code = "validation_failed"


class TooManyRequests(ConveneError):
    status = 429
    code = "too_many_requests"


class Unavailable(ConveneError):
    """A dependency (DynamoDB, SES) is down or throttling: the client should retry."""

    status = 503
    code = "unavailable"
