"""The gateway: HTTP in, API Gateway REST proxy events out, as AWS builds them."""

from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.local.gateway import (
    AuthConfig,
    GatewayServer,
    LocalRequest,
    LocalResponse,
    gateway_response,
    start_gateway,
)
from infra.local.runtime import Runtime
from tests.unit.twin.fixtures.support import CLIENT_ID, ISSUER, Issuer

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = json.loads((ROOT / "events" / "api-gateway-proxy.json").read_text())
NOT_FOUND = {"error": {"code": "not_found", "message": "There is no such route.", "fields": {}}}
UNAUTHORIZED = {
    "error": {
        "code": "unauthorized",
        "message": "Sign in: a valid token is required.",
        "fields": {},
    }
}
UNAVAILABLE = {
    "error": {
        "code": "unavailable",
        "message": "The service is unavailable; try again shortly.",
        "fields": {},
    }
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("site")
    (base / "secret.txt").write_text("not for the web")
    root = base / "public"
    (root / "css").mkdir(parents=True)
    (root / "index.html").write_text("<h1>Community Space</h1>")
    (root / "css" / "site.css").write_text("body { margin: 0 }")
    (root / "leak.txt").symlink_to(base / "secret.txt")
    return root


def local_routes(request: LocalRequest) -> LocalResponse | None:
    if request.path == "/_local/ping":
        return LocalResponse.json(
            {"method": request.method, "query": request.query, "body": request.body.decode()}
        )
    return None


@pytest.fixture(scope="module")
def gateway(runtime: Runtime, doc: dict, issuer: Issuer, site: Path) -> Iterator[GatewayServer]:
    server = start_gateway(
        runtime,
        doc,
        port=0,
        auth=AuthConfig(jwks_url=issuer.jwks_url, issuer=ISSUER, audience=CLIENT_ID),
        local_routes=local_routes,
        static_dir=site,
    )
    yield server
    server.stop()


class Answer:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = response.getheaders()
        self.body = response.read()

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[-1] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    gateway: GatewayServer,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Answer:
    """A raw request: the path goes on the wire exactly as given."""
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers or []:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        return Answer(conn.getresponse())
    finally:
        conn.close()


# ---------------------------------------------------------------- events


def test_a_request_becomes_a_rest_proxy_event_in_aws_shape(gateway: GatewayServer) -> None:
    payload = bytes(range(256))
    answer = call(
        gateway,
        "POST",
        "/things/caf%C3%A9%20bar/parts/p-1?tag=a&tag=b&q=x%40y&empty=",
        body=payload,
        headers=[
            ("Content-Type", "application/octet-stream"),
            ("X-Multi", "one"),
            ("X-Multi", "two"),
            ("User-Agent", "twin-tests"),
        ],
    )

    assert answer.status == 201
    event = answer.json()["event"]
    assert set(event) == set(SAMPLE)
    assert event["resource"] == "/things/{thingId}/parts/{partId}"
    assert event["path"] == "/things/caf%C3%A9%20bar/parts/p-1"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"thingId": "café bar", "partId": "p-1"}
    assert event["multiValueQueryStringParameters"] == {
        "tag": ["a", "b"],
        "q": ["x@y"],
        "empty": [""],
    }
    assert event["queryStringParameters"] == {"tag": "b", "q": "x@y", "empty": ""}
    assert event["multiValueHeaders"]["X-Multi"] == ["one", "two"]
    assert event["headers"]["X-Multi"] == "two"
    assert event["stageVariables"] is None
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload

    ctx = event["requestContext"]
    assert set(SAMPLE["requestContext"]) <= set(ctx)
    assert set(ctx["identity"]) == set(SAMPLE["requestContext"]["identity"])
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["identity"]["userAgent"] == "twin-tests"
    assert ctx["stage"] == "test"
    assert ctx["path"] == "/test/things/caf%C3%A9%20bar/parts/p-1"
    assert ctx["resourcePath"] == "/things/{thingId}/parts/{partId}"
    assert ctx["httpMethod"] == "POST"
    assert ctx["protocol"] == "HTTP/1.1"
    assert ctx["accountId"] == "123456789012"
    assert re.fullmatch(r"[0-9a-f-]{36}", ctx["requestId"])
    assert isinstance(ctx["requestTimeEpoch"], int)
    assert "authorizer" not in ctx


def test_a_json_body_is_text_and_no_query_is_none(gateway: GatewayServer) -> None:
    body = json.dumps({"name": "Ada", "note": "Grüße"}).encode()
    answer = call(
        gateway,
        "POST",
        "/things/t1/parts/p1",
        body=body,
        headers=[("Content-Type", "application/json; charset=utf-8")],
    )

    event = answer.json()["event"]
    assert event["isBase64Encoded"] is False
    assert event["body"] == body.decode()
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_a_binary_content_type_is_base64_even_when_the_bytes_read_as_text(
    gateway: GatewayServer,
) -> None:
    answer = call(
        gateway,
        "POST",
        "/things/t1/parts/p1",
        body=b"GIF89a",
        headers=[("Content-Type", "image/gif")],
    )

    event = answer.json()["event"]
    assert (event["isBase64Encoded"], event["body"]) == (True, "R0lGODlh")


def test_a_form_post_is_text(gateway: GatewayServer) -> None:
    answer = call(
        gateway,
        "POST",
        "/things/t1/parts/p1",
        body=b"name=Ada&email=ada%40example.org",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
    )

    event = answer.json()["event"]
    assert (event["isBase64Encoded"], event["body"]) == (False, "name=Ada&email=ada%40example.org")


def test_a_literal_resource_wins_over_a_path_parameter(gateway: GatewayServer) -> None:
    special = call(gateway, "GET", "/things/special").json()["event"]
    other = call(gateway, "GET", "/things/ordinary").json()["event"]

    assert (special["resource"], special["pathParameters"]) == ("/things/special", None)
    assert (other["resource"], other["pathParameters"]) == (
        "/things/{thingId}",
        {"thingId": "ordinary"},
    )


def test_a_greedy_path_takes_the_rest_of_the_path(gateway: GatewayServer) -> None:
    answer = call(gateway, "DELETE", "/files/a/b/logo.png")

    assert answer.status == 200
    assert answer.header("Content-Type") == "image/png"
    assert answer.body.startswith(b"\x89PNG")  # isBase64Encoded answers are decoded


def test_headers_and_multi_value_headers_of_the_answer_reach_the_client(
    gateway: GatewayServer,
) -> None:
    answer = call(gateway, "GET", "/things/t1")

    assert answer.status == 201
    assert answer.header("X-Single") == "one"
    assert answer.all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert (
        answer.header("x-amzn-RequestId") == answer.json()["event"]["requestContext"]["requestId"]
    )


# ---------------------------------------------------------------- gateway responses


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nowhere"), ("GET", "/things"), ("DELETE", "/things/t1"), ("GET", "/files")],
)
def test_an_unknown_route_gets_the_templates_not_found_answer(
    gateway: GatewayServer, method: str, path: str
) -> None:
    answer = call(gateway, method, path)

    assert answer.status == 404
    assert answer.json() == NOT_FOUND
    assert answer.header("Content-Type") == "application/json"


def test_a_raising_handler_gets_502_with_the_default_5xx_answer(gateway: GatewayServer) -> None:
    answer = call(gateway, "GET", "/things/boom")

    assert answer.status == 502
    assert answer.json() == UNAVAILABLE
    assert answer.header("Cache-Control") == "no-store"  # the template's response parameter


def test_a_malformed_proxy_answer_gets_502(gateway: GatewayServer) -> None:
    answer = call(gateway, "GET", "/things/malformed")

    assert answer.status == 502
    assert answer.json() == UNAVAILABLE


def test_gateway_responses_fall_back_to_aws_defaults(doc: dict) -> None:
    throttled = gateway_response(doc, "THROTTLED")
    default_4xx = gateway_response({"Resources": {}}, "UNAUTHORIZED")

    assert throttled.status == 429
    assert json.loads(throttled.body) == {"message": "Too Many Requests"}
    assert default_4xx.status == 401
    assert json.loads(default_4xx.body) == {"message": "Unauthorized"}


def test_gateway_response_templates_get_their_context_variables() -> None:
    doc = {
        "Resources": {
            "Api": {
                "Type": "AWS::Serverless::Api",
                "Properties": {
                    "GatewayResponses": {
                        "DEFAULT_4XX": {
                            "ResponseTemplates": {
                                "application/json": '{"message": $context.error.messageString, '
                                '"type": "$context.error.responseType", "id": "$context.requestId"}'
                            }
                        }
                    }
                },
            }
        }
    }
    answer = gateway_response(doc, "MISSING_AUTHENTICATION_TOKEN", request_id="r-1")

    assert answer.status == 403
    assert json.loads(answer.body) == {
        "message": "Missing Authentication Token",
        "type": "MISSING_AUTHENTICATION_TOKEN",
        "id": "r-1",
    }


# ---------------------------------------------------------------- the authorizer


def test_a_valid_token_passes_its_claims_as_strings(gateway: GatewayServer, issuer: Issuer) -> None:
    token = issuer.token(exp=1626951600 + 3600 * 24 * 365 * 30, iat=1626951600)
    answer = call(gateway, "GET", "/private", headers=[("Authorization", f"Bearer {token}")])

    assert answer.status == 201
    claims = answer.json()["event"]["requestContext"]["authorizer"]["claims"]
    assert all(isinstance(v, str) for v in claims.values())
    assert claims["cognito:groups"] == "moderators,organisers"
    assert claims["email_verified"] == "true"
    assert claims["sub"] == "3f2c1a7e-0000-4000-8000-000000000001"
    assert claims["iat"] == "Thu Jul 22 11:00:00 UTC 2021"
    assert re.fullmatch(r"\d+", claims["auth_time"])


def test_a_token_without_bearer_is_accepted(gateway: GatewayServer, issuer: Issuer) -> None:
    answer = call(gateway, "GET", "/private", headers=[("authorization", issuer.token())])

    assert answer.status == 201


def _forged(issuer: Issuer) -> str:
    return issuer.token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))


def _alg_none(issuer: Issuer) -> str:
    return jwt.encode(issuer.claims(), None, algorithm="none", headers={"kid": issuer.kid})


@pytest.mark.parametrize(
    "make_header",
    [
        pytest.param(lambda i: None, id="missing"),
        pytest.param(lambda i: "Bearer ", id="empty"),
        pytest.param(lambda i: "Bearer not-a-token", id="garbage"),
        pytest.param(lambda i: f"Bearer {_forged(i)}", id="signed-with-another-key"),
        pytest.param(lambda i: f"Bearer {i.token(exp=1626951600)}", id="expired"),
        pytest.param(lambda i: f"Bearer {_alg_none(i)}", id="alg-none"),
        pytest.param(lambda i: f"Bearer {i.token(aud='another-client')}", id="wrong-audience"),
        pytest.param(lambda i: f"Bearer {i.token(iss='https://evil.example')}", id="wrong-issuer"),
        pytest.param(lambda i: f"Bearer {i.token(token_use='access')}", id="access-token"),
    ],
)
def test_a_protected_route_refuses_a_bad_token_with_401(
    gateway: GatewayServer, issuer: Issuer, make_header: Any
) -> None:
    value = make_header(issuer)
    headers = [("Authorization", value)] if value is not None else []
    answer = call(gateway, "GET", "/private", headers=headers)

    assert answer.status == 401
    assert answer.json() == UNAUTHORIZED


def test_a_public_route_ignores_the_authorizer(gateway: GatewayServer) -> None:
    answer = call(
        gateway, "GET", "/things/t1", headers=[("Authorization", "Bearer not-checked-here")]
    )

    assert answer.status == 201
    assert "authorizer" not in answer.json()["event"]["requestContext"]


# ---------------------------------------------------------------- CORS, local routes, files


def test_a_cors_preflight_is_answered_from_the_apis_cors_settings(gateway: GatewayServer) -> None:
    answer = call(
        gateway,
        "OPTIONS",
        "/private",
        headers=[
            ("Origin", "https://community.example.org"),
            ("Access-Control-Request-Method", "GET"),
        ],
    )

    assert answer.status == 200
    assert answer.header("Access-Control-Allow-Origin") == "https://community.example.org"
    assert answer.header("Access-Control-Allow-Methods") == "GET,POST,OPTIONS"
    assert answer.header("Access-Control-Allow-Headers") == "Content-Type,Authorization"
    assert answer.header("Access-Control-Max-Age") == "600"


def test_a_preflight_to_an_unknown_path_is_not_found(gateway: GatewayServer) -> None:
    assert call(gateway, "OPTIONS", "/nowhere").status == 404


def test_local_routes_are_asked_first(gateway: GatewayServer) -> None:
    answer = call(gateway, "POST", "/_local/ping?x=1&x=2", body=b"hello")
    unknown = call(gateway, "GET", "/_local/unknown")

    assert answer.json() == {"method": "POST", "query": {"x": ["1", "2"]}, "body": "hello"}
    assert unknown.status == 404


def test_static_files_are_served_with_their_content_type(gateway: GatewayServer) -> None:
    index = call(gateway, "GET", "/")
    css = call(gateway, "GET", "/css/site.css")
    head = call(gateway, "HEAD", "/css/site.css")

    assert (index.status, index.body) == (200, b"<h1>Community Space</h1>")
    assert index.header("Content-Type") == "text/html; charset=utf-8"
    assert css.header("Content-Type") == "text/css; charset=utf-8"
    assert (head.status, head.body, head.header("Content-Length")) == (200, b"", str(len(css.body)))


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/css/..%2f..%2fsecret.txt",
        "/leak.txt",  # a link that points out of the folder
        "/missing.html",
    ],
)
def test_static_files_outside_the_folder_are_refused(gateway: GatewayServer, path: str) -> None:
    answer = call(gateway, "GET", path)

    assert answer.status == 404
    assert b"not for the web" not in answer.body


def test_the_gateway_listens_on_loopback_only(runtime: Runtime, doc: dict, issuer: Issuer) -> None:
    auth = AuthConfig(jwks_url=issuer.jwks_url, issuer=ISSUER, audience=CLIENT_ID)
    with pytest.raises(ValueError, match="loopback"):
        start_gateway(runtime, doc, host="0.0.0.0", port=0, auth=auth)  # noqa: S104 - refused


def test_template_parameters_can_be_overridden(runtime: Runtime, doc: dict, issuer: Issuer) -> None:
    auth = AuthConfig(jwks_url=issuer.jwks_url, issuer=ISSUER, audience=CLIENT_ID)
    server = start_gateway(
        runtime, doc, port=0, auth=auth, parameters={"AllowedOrigin": "http://localhost:3000"}
    )
    try:
        answer = call(server, "OPTIONS", "/things/t1")
    finally:
        server.stop()

    assert answer.header("Access-Control-Allow-Origin") == "http://localhost:3000"


@pytest.mark.parametrize("error", [BrokenPipeError(32, "Broken pipe"), ValueError("a bug")])
def test_an_error_while_answering_never_logs_the_clients_address(
    gateway: GatewayServer,
    error: Exception,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # socketserver's default handler prints "...request from ('127.0.0.1', port)".
    caplog.set_level("DEBUG", logger="infra.local.gateway")
    try:
        raise error
    except Exception:
        gateway.handle_error(None, ("127.0.0.1", 38476))

    printed = capsys.readouterr()
    logged = caplog.text
    assert "127.0.0.1" not in printed.err + printed.out + logged
    assert "38476" not in printed.err + printed.out + logged
    if isinstance(error, ValueError):
        assert "error while answering a request" in logged
