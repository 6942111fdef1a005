"""API Gateway (REST API, Lambda proxy integration) in front of the runtime.

What it does, read from the template (``doc``, as ``infra.local.template.load()`` returns):

* Routes: every ``Type: Api`` event of every ``AWS::Serverless::Function``; ``Path`` with
  ``{param}`` and ``{proxy+}``, ``Method`` including ``any``. As in API Gateway, the most
  specific resource wins (a literal segment beats ``{param}``, which beats ``{proxy+}``),
  then the method (an explicit method beats ``ANY``). A path no resource matches, or a
  method the matched resource lacks, gets the ``MISSING_AUTHENTICATION_TOKEN`` gateway
  response.
* The REST proxy event is built as AWS builds it (see ``events/api-gateway-proxy.json``):
  ``path`` stays percent-encoded, ``pathParameters`` and query parameters are decoded; the
  body is text, or base64 with ``isBase64Encoded`` when it is not UTF-8 text, JSON or a
  form post.
* Cognito authorizers: a route with ``Auth: {Authorizer: <name>}``, or the Api's
  ``DefaultAuthorizer`` unless the route says ``NONE``, needs a valid ID token in the
  authorizer's ``Identity.Header`` (``Authorization`` by default; with or without
  ``Bearer``). The token is checked with ``convene.auth.verify_id_token`` (the same rules
  the functions use). The claims reach the function in ``requestContext.authorizer.claims``
  as API Gateway hands them over: every value a string, ``cognito:groups`` comma-joined,
  ``exp`` and ``iat`` as dates (``Thu Jul 22 10:00:00 UTC 2021``), other numbers as digits.
  A refused token gets the ``UNAUTHORIZED`` gateway response.
* Gateway responses come from the Api's ``GatewayResponses`` (status, JSON template and
  static ``gatewayresponse.header.*`` parameters), falling back to ``DEFAULT_4XX`` /
  ``DEFAULT_5XX`` and then to AWS's own defaults; see :func:`gateway_response`.
* CORS preflight (``OPTIONS``) is answered from the Api's ``Cors`` settings, as the mock
  integration SAM generates does.
* A handler that raises, or returns a malformed proxy response, gives 502 with the
  ``DEFAULT_5XX`` response and message "Internal server error"; the traceback goes to the
  log, never the request.
* ``/_local/*`` requests go first to the ``local_routes`` callback; ``GET``/``HEAD`` of a
  path that is no API resource may be a web page rendered on request (``pages``, see
  ``infra/local/pages.py``) or a static file under ``static_dir``.

Not emulated: throttling, usage plans, API keys, request validators, authorizer result
caching, binary media type settings (the rule above stands in for them), and the 29 s
integration timeout.

Logging: one access line per request (method, resource template, status, milliseconds).
Never a raw path or query (they carry tokens), a body, a header, an email or an IP.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import mimetypes
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from infra.local.runtime import ACCOUNT_ID, FunctionError, Runtime

log = logging.getLogger("infra.local.gateway")

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
IMPLICIT_API = "ServerlessRestApi"
ANY_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


# ---------------------------------------------------------------- public types


@dataclass(frozen=True)
class AuthConfig:
    """How the Cognito authorizer checks tokens: moto's key set, the pool's issuer, and the
    app client id (the ID token's audience)."""

    jwks_url: str
    issuer: str
    audience: str


@dataclass
class LocalRequest:
    """A request to ``/_local/*``, handed to the ``local_routes`` callback. ``path`` is
    the decoded path without the query; ``query`` maps names to every value given;
    ``headers`` holds the last value of each header, names as sent."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header's value, by case-insensitive name."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return default

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class LocalResponse:
    """An HTTP answer: from ``local_routes``, a gateway response, a static file or a
    function. ``multi_headers`` holds headers with several values (a name in both takes
    the ``multi_headers`` values)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    multi_headers: dict[str, list[str]] = field(default_factory=dict)

    def header_items(self) -> list[tuple[str, str]]:
        items = [(k, v) for k, v in self.headers.items() if k not in self.multi_headers]
        items += [(k, v) for k, values in self.multi_headers.items() for v in values]
        return items

    @classmethod
    def json(cls, value: Any, status: int = 200) -> LocalResponse:
        return cls(status, {"Content-Type": "application/json"}, json.dumps(value).encode())


LocalRoutes = Callable[[LocalRequest], LocalResponse | None]
# (path, query, the gateway's own URL) -> a rendered web page, or None
PageHook = Callable[[str, Mapping[str, list[str]], str], LocalResponse | None]


# ---------------------------------------------------------------- template values


def resolve_value(
    value: Any,
    doc: Mapping[str, Any],
    parameters: Mapping[str, str] | None = None,
    region: str = "eu-west-2",
) -> str | None:
    """A template value as a string where it can be known offline: a literal, a ``Ref`` to
    a parameter (its override in ``parameters``, else its Default) or pseudo parameter, a
    ``Fn::Sub`` of those. Anything else (a resource's attribute) is None."""
    params = dict(parameters or {})

    def ref(name: str) -> str | None:
        if name in params:
            return str(params[name])
        pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "convene-local",
        }
        if name in pseudo:
            return pseudo[name]
        declared = (doc.get("Parameters") or {}).get(name)
        if isinstance(declared, Mapping) and "Default" in declared:
            return str(declared["Default"])
        return None

    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, Mapping) and "Ref" in value:
        return ref(str(value["Ref"]))
    if isinstance(value, Mapping) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        text, extra = (sub[0], sub[1]) if isinstance(sub, list) else (sub, {})
        unresolved = False

        def replace(match: re.Match[str]) -> str:
            nonlocal unresolved
            name = match.group(1)
            if name in extra:
                got = resolve_value(extra[name], doc, parameters, region)
            else:
                got = ref(name)
            if got is None:
                unresolved = True
                return match.group(0)
            return got

        out = re.sub(r"\$\{([^}!]+)\}", replace, str(text))
        return None if unresolved else out
    return None


def _unquote(value: str | None) -> str | None:
    """CORS settings are written as quoted literals: "'GET,POST'" -> "GET,POST"."""
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    return value


def _api_resources(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every Api's properties, Globals.Api applied, with the implicit API when used."""
    globals_api = dict((doc.get("Globals") or {}).get("Api") or {})
    apis = {}
    for name, res in (doc.get("Resources") or {}).items():
        if res.get("Type") == "AWS::Serverless::Api":
            apis[name] = {**globals_api, **(res.get("Properties") or {})}
    apis.setdefault(IMPLICIT_API, globals_api)
    return apis


# ---------------------------------------------------------------- gateway responses

_DEFAULT_STATUS = {
    "ACCESS_DENIED": 403,
    "API_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_FAILURE": 500,
    "BAD_REQUEST_BODY": 400,
    "BAD_REQUEST_PARAMETERS": 400,
    "EXPIRED_TOKEN": 403,
    "INTEGRATION_FAILURE": 504,
    "INTEGRATION_TIMEOUT": 504,
    "INVALID_API_KEY": 403,
    "INVALID_SIGNATURE": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "QUOTA_EXCEEDED": 429,
    "REQUEST_TOO_LARGE": 413,
    "RESOURCE_NOT_FOUND": 404,
    "THROTTLED": 429,
    "UNAUTHORIZED": 401,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "DEFAULT_4XX": 400,
    "DEFAULT_5XX": 500,
}
_DEFAULT_MESSAGE = {
    "ACCESS_DENIED": "User is not authorized to access this resource",
    "MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token",
    "REQUEST_TOO_LARGE": "Request Too Long",
    "RESOURCE_NOT_FOUND": "Resource not found",
    "THROTTLED": "Too Many Requests",
    "UNAUTHORIZED": "Unauthorized",
    "UNSUPPORTED_MEDIA_TYPE": "Unsupported Media Type",
}
_ERROR_TYPE = {
    "ACCESS_DENIED": "AccessDeniedException",
    "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
    "REQUEST_TOO_LARGE": "RequestTooLargeException",
    "THROTTLED": "TooManyRequestsException",
    "UNAUTHORIZED": "UnauthorizedException",
}


def gateway_response(
    doc: Mapping[str, Any],
    response_type: str,
    *,
    status: int | None = None,
    message: str | None = None,
    request_id: str = "",
    api_id: str | None = None,
    parameters: Mapping[str, str] | None = None,
) -> LocalResponse:
    """API Gateway's own answer of ``response_type`` (``UNAUTHORIZED``...), as the Api in
    ``doc`` configures it under ``GatewayResponses``.

    Status: the type's ``StatusCode``, else ``status``, else AWS's default for the type.
    Body: the type's ``application/json`` template, else that of ``DEFAULT_4XX`` or
    ``DEFAULT_5XX`` (by the status), else AWS's ``{"message": ...}``; the variables
    ``$context.error.message``, ``$context.error.messageString`` (the quoted message, as in
    AWS), ``$context.error.responseType`` and ``$context.requestId`` are filled in.
    Headers: static ``gatewayresponse.header.<name>: "'value'"`` response parameters.
    ``api_id``: which Api (default: the first declared)."""
    apis = _api_resources(doc)
    if api_id is None:
        declared = [k for k in apis if k != IMPLICIT_API]
        api_id = declared[0] if declared else IMPLICIT_API
    responses = apis.get(api_id, {}).get("GatewayResponses") or {}
    own = responses.get(response_type) or {}
    code = own.get("StatusCode")
    final_status = (
        int(code) if code is not None else (status or _DEFAULT_STATUS.get(response_type, 500))
    )
    fallback = responses.get("DEFAULT_5XX" if final_status >= 500 else "DEFAULT_4XX") or {}
    message = (
        message
        or _DEFAULT_MESSAGE.get(response_type)
        or ("Internal server error" if final_status >= 500 else "Bad Request")
    )

    template = (own.get("ResponseTemplates") or {}).get("application/json")
    if template is None:
        template = (fallback.get("ResponseTemplates") or {}).get("application/json")
    if template is None:
        body = json.dumps({"message": message})
    else:
        values = {
            "context.error.messageString": json.dumps(message),
            "context.error.message": message,
            "context.error.responseType": response_type,
            "context.error.validationErrorString": "",
            "context.requestId": request_id,
            "context.extendedRequestId": request_id,
        }
        body = re.sub(
            r"\$(context(?:\.[A-Za-z]+)+)",
            lambda m: values.get(m.group(1), ""),
            str(template),
        )

    headers = {"Content-Type": "application/json"}
    if response_type in _ERROR_TYPE:
        headers["x-amzn-ErrorType"] = _ERROR_TYPE[response_type]
    for source in (fallback, own):
        for key, raw in (source.get("ResponseParameters") or {}).items():
            if not key.startswith("gatewayresponse.header."):
                continue
            # Only static values ("'...'"); request mappings are not emulated.
            value = resolve_value(raw, doc, parameters)
            if value is not None and value.strip().startswith("'"):
                headers[key.removeprefix("gatewayresponse.header.")] = _unquote(value) or ""
    return LocalResponse(final_status, headers, body.encode("utf-8"))


# ---------------------------------------------------------------- routes


@dataclass(frozen=True)
class Authorizer:
    name: str
    header: str = "Authorization"
    validation_expression: str | None = None


@dataclass(frozen=True)
class Cors:
    allow_origin: str
    allow_methods: str | None = None
    allow_headers: str | None = None
    max_age: str | None = None
    allow_credentials: bool = False


@dataclass
class Api:
    logical_id: str
    stage: str
    api_id: str
    cors: Cors | None
    preflight_authorizer: Authorizer | None


@dataclass(frozen=True)
class Route:
    function_id: str
    event_name: str
    method: str  # upper case; "ANY" for any
    resource: str  # the path template, as API Gateway's `resource`
    api: str  # Api logical id
    authorizer: Authorizer | None


@dataclass
class Match:
    resource: str
    path_parameters: dict[str, str]
    methods: dict[str, Route]
    api: str


def _segments(path: str) -> list[str]:
    return [s for s in path.strip("/").split("/") if s != ""] if path.strip("/") else []


def _kind(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("+}"):
        return 2
    if segment.startswith("{") and segment.endswith("}"):
        return 1
    return 0


class RouteTable:
    """The API's resources and methods, from the template."""

    def __init__(
        self,
        doc: Mapping[str, Any],
        *,
        parameters: Mapping[str, str] | None = None,
        region: str = "eu-west-2",
    ) -> None:
        self.doc = doc
        self.apis: dict[str, Api] = {}
        self.resources: dict[str, dict[str, Route]] = {}
        self._resource_api: dict[str, str] = {}
        api_props = _api_resources(doc)
        authorizers: dict[str, tuple[dict[str, Authorizer], str | None]] = {}
        for api_name, props in api_props.items():
            auth = props.get("Auth") or {}
            defined: dict[str, Authorizer] = {}
            for name, spec in (auth.get("Authorizers") or {}).items():
                if "UserPoolArn" not in (spec or {}):
                    log.warning("authorizer %s is not a Cognito authorizer; not emulated", name)
                    continue
                identity = spec.get("Identity") or {}
                defined[name] = Authorizer(
                    name=name,
                    header=str(identity.get("Header") or "Authorization"),
                    validation_expression=identity.get("ValidationExpression"),
                )
            default = auth.get("DefaultAuthorizer")
            authorizers[api_name] = (defined, default)
            stage = resolve_value(props.get("StageName"), doc, parameters, region) or "local"
            cors = self._cors(props.get("Cors"), doc, parameters, region)
            preflight = None
            if (
                default
                and default in defined
                and auth.get("AddDefaultAuthorizerToCorsPreflight", True)
            ):
                preflight = defined[default]
            self.apis[api_name] = Api(
                logical_id=api_name,
                stage=stage,
                api_id=hashlib.sha256(api_name.encode()).hexdigest()[:10],
                cors=cors,
                preflight_authorizer=preflight,
            )

        for fn_id, res in (doc.get("Resources") or {}).items():
            if res.get("Type") != "AWS::Serverless::Function":
                continue
            for event_name, event in ((res.get("Properties") or {}).get("Events") or {}).items():
                if (event or {}).get("Type") != "Api":
                    continue
                props = event.get("Properties") or {}
                rest_api = props.get("RestApiId")
                api_name = (
                    rest_api["Ref"]
                    if isinstance(rest_api, Mapping) and "Ref" in rest_api
                    else (str(rest_api) if rest_api else IMPLICIT_API)
                )
                defined, default = authorizers.get(api_name, ({}, None))
                wanted = (props.get("Auth") or {}).get("Authorizer", default)
                authorizer = None
                if wanted and wanted != "NONE":
                    if wanted in ("AWS_IAM",) or wanted not in defined:
                        raise ValueError(
                            f"{fn_id}.{event_name}: authorizer {wanted} is not emulated"
                        )
                    authorizer = defined[wanted]
                path = "/" + "/".join(_segments(str(props["Path"])))
                method = str(props.get("Method", "any")).upper()
                route = Route(fn_id, event_name, method, path, api_name, authorizer)
                methods = self.resources.setdefault(path, {})
                if method in methods or self._resource_api.get(path, api_name) != api_name:
                    log.warning("%s %s is declared twice; the first declaration wins", method, path)
                    continue
                methods[method] = route
                self._resource_api[path] = api_name
        self._ordered = sorted(self.resources, key=lambda p: [_kind(s) for s in _segments(p)] + [3])

    @staticmethod
    def _cors(
        value: Any, doc: Mapping[str, Any], parameters: Mapping[str, str] | None, region: str
    ) -> Cors | None:
        if not value:
            return None
        if not isinstance(value, Mapping):
            value = {"AllowOrigin": value}

        def get(key: str) -> str | None:
            return _unquote(resolve_value(value.get(key), doc, parameters, region))

        origin = get("AllowOrigin")
        if origin is None:
            return None
        return Cors(
            allow_origin=origin,
            allow_methods=get("AllowMethods"),
            allow_headers=get("AllowHeaders"),
            max_age=get("MaxAge"),
            allow_credentials=bool(value.get("AllowCredentials", False)),
        )

    def function_ids(self) -> set[str]:
        return {r.function_id for methods in self.resources.values() for r in methods.values()}

    def match(self, raw_path: str) -> Match | None:
        """The most specific resource whose template matches ``raw_path`` (percent-encoded,
        no query), with its decoded path parameters; None when there is none."""
        parts = _segments(raw_path)
        for template in self._ordered:
            params = _match_template(_segments(template), parts)
            if params is not None:
                return Match(
                    template, params, self.resources[template], self._resource_api[template]
                )
        return None


def _match_template(template: list[str], parts: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for i, seg in enumerate(template):
        kind = _kind(seg)
        if kind == 2:
            rest = parts[i:]
            if not rest:
                return None
            params[seg[1:-2]] = "/".join(unquote(p) for p in rest)
            return params
        if i >= len(parts):
            return None
        if kind == 1:
            params[seg[1:-1]] = unquote(parts[i])
        elif unquote(parts[i]) != seg:
            return None
    return params if len(parts) == len(template) else None


# ---------------------------------------------------------------- events

_TEXT_SUBTYPES = {"json", "x-www-form-urlencoded", "xml", "javascript", "csv", "x-ndjson"}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _is_text(content_type: str | None) -> bool:
    if not content_type:
        return True
    mime = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = mime.partition("/")
    return main == "text" or sub in _TEXT_SUBTYPES or sub.endswith(("+json", "+xml"))


def _claim_date(epoch: float) -> str:
    t = datetime.fromtimestamp(epoch, UTC)
    return f"{_DAYS[t.weekday()]} {_MONTHS[t.month - 1]} {t.day:02d} {t:%H:%M:%S} UTC {t.year}"


def authorizer_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Verified token claims as a REST API Cognito authorizer hands them to the function:
    every value a string; lists (``cognito:groups``) comma-joined; booleans ``true`` or
    ``false``; ``exp`` and ``iat`` as dates; other numbers as their digits."""
    out: dict[str, str] = {}
    for key, value in claims.items():
        if key in ("exp", "iat") and isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = _claim_date(value)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            out[key] = ",".join(str(v) for v in value)
        elif isinstance(value, dict):
            out[key] = json.dumps(value, separators=(",", ":"))
        elif isinstance(value, float) and value.is_integer():
            out[key] = str(int(value))
        else:
            out[key] = str(value)
    return out


def build_event(
    *,
    method: str,
    raw_path: str,
    query_string: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    match: Match,
    api: Api,
    request_id: str,
    claims: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The REST proxy event for one request (AWS's shape, events/api-gateway-proxy.json)."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)

    query_multi: dict[str, list[str]] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        query_multi.setdefault(name, []).append(value)

    content_type = next((v for k, v in single.items() if k.lower() == "content-type"), None)
    encoded = False
    text: str | None = None
    if body:
        if _is_text(content_type):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            text, encoded = base64.b64encode(body).decode("ascii"), True

    now = now or datetime.now(UTC)
    user_agent = next((v for k, v in single.items() if k.lower() == "user-agent"), None)
    host = next((v for k, v in single.items() if k.lower() == "host"), "127.0.0.1")
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": api.api_id,
        "resourceId": hashlib.sha256(match.resource.encode()).hexdigest()[:6],
        "stage": api.stage,
        "requestId": request_id,
        "extendedRequestId": request_id.replace("-", "")[:16],
        "requestTime": now.strftime("%d/")
        + _MONTHS[now.month - 1]
        + now.strftime("/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "accessKey": None,
            "sourceIp": "127.0.0.1",
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": user_agent,
            "user": None,
        },
        "path": f"/{api.stage}{raw_path}",
        "resourcePath": match.resource,
        "httpMethod": method,
        "protocol": "HTTP/1.1",
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0].split(":", 1)[0],
    }
    if claims is not None:
        context["authorizer"] = {"claims": dict(claims)}
    return {
        "resource": match.resource,
        "path": raw_path,
        "httpMethod": method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": {k: v[-1] for k, v in query_multi.items()} or None,
        "multiValueQueryStringParameters": query_multi or None,
        "pathParameters": dict(match.path_parameters) or None,
        "stageVariables": None,
        "requestContext": context,
        "body": text,
        "isBase64Encoded": encoded,
    }


class MalformedResponse(ValueError):
    """The function's answer is not a valid Lambda proxy response."""


_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


def proxy_response(result: Any) -> LocalResponse:
    """A Lambda proxy response as the HTTP answer API Gateway makes of it; raises
    :class:`MalformedResponse` where API Gateway answers 502."""
    if not isinstance(result, dict):
        raise MalformedResponse("the response is not an object")
    unknown = set(result) - _RESPONSE_KEYS
    if unknown:
        raise MalformedResponse(f"unexpected keys {sorted(unknown)}")
    status = result.get("statusCode", 200)
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResponse("statusCode is not an HTTP status")
    body = result.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise MalformedResponse("body is not a string")
    elif result.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedResponse("body is not base64") from exc
    else:
        raw = body.encode("utf-8")

    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedResponse("headers are not objects")
    for name, value in single.items():
        if isinstance(value, dict | list):
            raise MalformedResponse("a header value is not a scalar")
        headers[str(name)] = _header_text(value)
    for name, values in multi.items():
        if not isinstance(values, list) or any(isinstance(v, dict | list) for v in values):
            raise MalformedResponse("a multiValueHeaders value is not a list of scalars")
        # AWS: where a name is in both, the multiValueHeaders values win.
        multi_headers[str(name)] = [_header_text(v) for v in values]
    return LocalResponse(status, headers, raw, multi_headers)


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------- the server


class GatewayServer(ThreadingHTTPServer):
    """The gateway's HTTP server, running in a daemon thread. ``url`` is its base URL."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        runtime: Runtime,
        doc: Mapping[str, Any],
        auth: AuthConfig,
        local_routes: LocalRoutes | None,
        static_dir: Path | None,
        parameters: Mapping[str, str] | None,
        region: str,
        pages: PageHook | None = None,
    ) -> None:
        self.runtime = runtime
        self.pages = pages
        self.doc = doc
        self.auth = auth
        self.local_routes = local_routes
        self.static_dir = Path(static_dir).resolve() if static_dir else None
        self.parameters = dict(parameters or {})
        self.routes = RouteTable(doc, parameters=parameters, region=region)
        missing = self.routes.function_ids() - set(runtime.function_ids())
        if missing:
            raise ValueError(f"routes name functions the runtime does not run: {sorted(missing)}")
        super().__init__(address, _Handler)
        self._thread: threading.Thread | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """socketserver's default prints "...request from ('127.0.0.1', port)" and the
        traceback to stderr: an IP address in the log. A client that went away (a browser
        that navigated on mid-answer) is routine; anything else is logged without it."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):
            log.debug("client went away: %s", type(exc).__name__)
            return
        log.error("error while answering a request", exc_info=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GatewayServer:
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="twin-gateway",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving, closes the socket and waits for the serving thread."""
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def gateway_response(self, response_type: str, request_id: str, **kwargs: Any) -> LocalResponse:
        return gateway_response(
            self.doc, response_type, request_id=request_id, parameters=self.parameters, **kwargs
        )


def start_gateway(
    runtime: Runtime,
    doc: Mapping[str, Any],
    *,
    host: str = "127.0.0.1",
    port: int = 3000,
    auth: AuthConfig,
    local_routes: LocalRoutes | None = None,
    static_dir: Path | None = None,
    parameters: Mapping[str, str] | None = None,
    region: str = "eu-west-2",
    pages: PageHook | None = None,
) -> GatewayServer:
    """Starts the gateway for the Api events of ``doc`` on ``host:port`` (loopback only;
    port 0 picks a free port) and returns the running server (``.url``, ``.stop()``).

    ``auth``: how Cognito tokens are checked. ``local_routes``: called first for every
    ``/_local/...`` request; returning None falls through to normal routing.
    ``static_dir``: files served for GET/HEAD of paths that are no API resource.
    ``pages``: asked first for such paths (``pages(path, query, gateway_url)``): the web
    pages rendered on request (``infra.local.pages``); None falls through to the files.
    ``parameters``: template parameter overrides (e.g. ``AllowedOrigin``) used where the
    gateway reads the template (stage, CORS, gateway response headers)."""
    if host not in _LOOPBACK:
        raise ValueError("the gateway listens on the loopback interface only")
    server = GatewayServer(
        (host, port),
        runtime=runtime,
        doc=doc,
        auth=auth,
        local_routes=local_routes,
        static_dir=static_dir,
        parameters=parameters,
        region=region,
        pages=pages,
    )
    return server.start()


class _Handler(BaseHTTPRequestHandler):
    server: GatewayServer
    protocol_version = "HTTP/1.1"
    server_version = "convene-twin-gateway"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        # http.server's own line carries the client address and the raw path (and with it
        # any token in the query): never written. _serve() logs its own line instead.
        return

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # ------------------------------------------------------------ plumbing

    def _serve(self) -> None:
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        method = self.command.upper()
        label = "-"
        try:
            label, response = self._dispatch(method, request_id)
        except Exception:
            log.exception("gateway error on %s %s", method, label)
            response = self.server.gateway_response(
                "DEFAULT_5XX", request_id, status=500, message="Internal server error"
            )
        response.headers.setdefault("x-amzn-RequestId", request_id)
        self._send(method, response)
        log.info(
            "%s %s %d %dms",
            method,
            label,
            response.status,
            round((time.monotonic() - started) * 1000),
        )

    def _send(self, method: str, response: LocalResponse) -> None:
        items = response.header_items()
        self.send_response(response.status)
        if not any(k.lower() == "content-type" for k, _ in items):
            items.append(("Content-Type", "application/json"))
        for name, value in items:
            if name.lower() in ("content-length", "transfer-encoding", "connection"):
                continue
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if method != "HEAD" and response.body:
            self.wfile.write(response.body)

    def _read_body(self) -> bytes | None:
        """The request body; None when it is larger than API Gateway accepts."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_REQUEST_BYTES:
                    self.close_connection = True
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self, method: str, request_id: str) -> tuple[str, LocalResponse]:
        server = self.server
        split = urlsplit(self.path)
        raw_path = split.path or "/"
        query = split.query
        body = self._read_body()
        if body is None:
            return "-", server.gateway_response("REQUEST_TOO_LARGE", request_id)

        if raw_path.startswith("/_local/") and server.local_routes is not None:
            local = LocalRequest(
                method=method,
                path=unquote(raw_path),
                query=_query_lists(query),
                headers={k: v for k, v in self.headers.items()},
                body=body,
            )
            answer = server.local_routes(local)
            if answer is not None:
                return "/_local", answer

        match = server.routes.match(raw_path)
        if match is None:
            if method in ("GET", "HEAD") and server.pages is not None:
                page = server.pages(unquote(raw_path), _query_lists(query), server.url)
                if page is not None:
                    return "page", page
            if method in ("GET", "HEAD") and server.static_dir is not None:
                static = self._static(unquote(raw_path))
                if static is not None:
                    return "static", static
            return "-", server.gateway_response("MISSING_AUTHENTICATION_TOKEN", request_id)

        api = server.routes.apis[match.api]
        route = match.methods.get(method)
        if method == "OPTIONS" and route is None and api.cors is not None:
            if api.preflight_authorizer is not None:
                refused = self._authorize(api.preflight_authorizer, request_id)
                if isinstance(refused, LocalResponse):
                    return match.resource, refused
            return match.resource, self._preflight(api.cors, match)
        route = route or match.methods.get("ANY")
        if route is None:
            return match.resource, server.gateway_response(
                "MISSING_AUTHENTICATION_TOKEN", request_id
            )

        claims: dict[str, str] | None = None
        if route.authorizer is not None:
            checked = self._authorize(route.authorizer, request_id)
            if isinstance(checked, LocalResponse):
                return match.resource, checked
            claims = checked

        event = build_event(
            method=method,
            raw_path=raw_path,
            query_string=query,
            headers=self._event_headers(),
            body=body,
            match=match,
            api=api,
            request_id=request_id,
            claims=claims,
        )
        try:
            result = server.runtime.invoke(route.function_id, event)
            return match.resource, proxy_response(result)
        except FunctionError as exc:
            log.error(
                "%s failed (request %s)",
                route.function_id,
                request_id,
                exc_info=(type(exc.error), exc.error, exc.error.__traceback__),
            )
        except MalformedResponse as exc:
            log.error(
                "%s returned a malformed proxy response (request %s): %s",
                route.function_id,
                request_id,
                exc,
            )
        return match.resource, server.gateway_response(
            "DEFAULT_5XX", request_id, status=502, message="Internal server error"
        )

    def _event_headers(self) -> list[tuple[str, str]]:
        headers = list(self.headers.items())
        names = {k.lower(): k for k, _ in headers}
        forwarded = [i for i, (k, _) in enumerate(headers) if k.lower() == "x-forwarded-for"]
        if forwarded:
            i = forwarded[-1]
            headers[i] = (headers[i][0], f"{headers[i][1]}, 127.0.0.1")
        else:
            headers.append(("X-Forwarded-For", "127.0.0.1"))
        if "x-forwarded-port" not in names:
            headers.append(("X-Forwarded-Port", str(self.server.port)))
        if "x-forwarded-proto" not in names:
            headers.append(("X-Forwarded-Proto", "http"))
        if "x-amzn-trace-id" not in names:
            headers.append(
                ("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}")
            )
        return headers

    def _authorize(self, authorizer: Authorizer, request_id: str) -> dict[str, str] | LocalResponse:
        from convene.auth import verify_id_token
        from convene.errors import Unauthorized, Unavailable

        refused = self.server.gateway_response("UNAUTHORIZED", request_id)
        wanted = authorizer.header.lower()
        values = [v for k, v in self.headers.items() if k.lower() == wanted]
        if not values or not values[-1].strip():
            return refused
        token = values[-1].strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if authorizer.validation_expression and not re.fullmatch(
            authorizer.validation_expression, values[-1].strip()
        ):
            return refused
        auth = self.server.auth
        try:
            claims = verify_id_token(
                token, jwks_url=auth.jwks_url, issuer=auth.issuer, audience=auth.audience
            )
        except Unauthorized:
            return refused
        except Unavailable:
            # The key set could not be fetched: API Gateway answers a 5XX of its own.
            return self.server.gateway_response("DEFAULT_5XX", request_id)
        return authorizer_claims(claims)

    def _preflight(self, cors: Cors, match: Match) -> LocalResponse:
        methods = cors.allow_methods
        if methods is None:
            declared: set[str] = set()
            for m in match.methods:
                declared.update(ANY_METHODS if m == "ANY" else (m,))
            declared.add("OPTIONS")
            methods = ",".join(sorted(declared))
        headers = {
            "Content-Type": "application/json",
            "Access-Control-Allow-Origin": cors.allow_origin,
            "Access-Control-Allow-Methods": methods,
        }
        if cors.allow_headers:
            headers["Access-Control-Allow-Headers"] = cors.allow_headers
        if cors.max_age:
            headers["Access-Control-Max-Age"] = cors.max_age
        if cors.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return LocalResponse(200, headers, b"")

    def _static(self, path: str) -> LocalResponse | None:
        root = self.server.static_dir
        assert root is not None
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") or p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
            return None
        target = root.joinpath(*parts)
        try:
            target = target.resolve()
        except (OSError, RuntimeError):
            return None
        if not target.is_relative_to(root):
            return None
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return None
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in (
            "application/javascript",
            "application/json",
        ):
            content_type += "; charset=utf-8"
        return LocalResponse(
            200,
            {"Content-Type": content_type, "Cache-Control": "no-cache"},
            target.read_bytes(),
        )


def _query_lists(query: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        out.setdefault(name, []).append(value)
    return out
