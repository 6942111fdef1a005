"""Fixtures for the twin's own tests: the fixture template, a runtime for its functions,
a Cognito-like key set served locally, and DynamoDB Local for the stream pump."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.local import template
from infra.local.runtime import Runtime
from tests.unit.twin.fixtures.support import REGION, DynamoDBLocal, Issuer

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def doc() -> dict[str, Any]:
    return template.load(FIXTURES / "template.yaml")


@pytest.fixture(scope="session")
def runtime(doc: dict[str, Any]) -> Runtime:
    return Runtime(
        template.functions(doc),
        {"AWS_DEFAULT_REGION": REGION},
        pool_size=2,
        per_function_env={
            "EchoFunction": {"ECHO_NAME": "echo"},
            "ConsumerFunction": {"ECHO_NAME": "consumer"},
        },
    )


# ---------------------------------------------------------------- tokens


@pytest.fixture(scope="session")
def issuer() -> Iterator[Issuer]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = f"twin-{uuid.uuid4().hex[:8]}"
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    body = json.dumps({"keys": [jwk]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    yield Issuer(key=key, kid=kid, jwks_url=url)
    server.shutdown()
    server.server_close()


# ---------------------------------------------------------------- DynamoDB Local


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    """DynamoDB Local on a free port, in memory, for the session (A1's helpers)."""
    from infra.local import dynamodb

    try:
        dynamodb.java_version()
        dynamodb.find_jar()
    except dynamodb.TwinSetupError as exc:
        pytest.skip(f"DynamoDB Local is not available: {exc}")
    port = dynamodb.free_port()
    proc = dynamodb.start_dynamodb_local(port, None)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        dynamodb.wait_ready(endpoint, 90, proc)
        yield DynamoDBLocal(endpoint)
    finally:
        dynamodb.stop(proc)
