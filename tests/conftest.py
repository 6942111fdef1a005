"""Shared fixtures. Unit tests run against moto in-process; see docs/conventions.md."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.helpers import TABLE_ENV, create_tables

# Session-wide proof checks: privacy capture of every twin exchange and log (tests/proof).
pytest_plugins = ["tests.proof.privacy"]

# Set before any test module imports convene (settings are parsed once per process).
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "eu-west-2",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Convene",
        "POWERTOOLS_SERVICE_NAME": "convene-tests",
        "SITE_URL": "https://community.example.org",
        "ALLOWED_ORIGIN": "https://community.example.org",
        # The Scan guard: convene's clients refuse a Scan, here and in every twin a test
        # starts (shared/convene/aws.py; checked at the end of the session).
        "CONVENE_FORBID_SCAN": "1",
        **TABLE_ENV,
    }
)
for _var in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL")]:
    # Unit tests never talk to a running twin.
    del os.environ[_var]


@pytest.fixture
def aws() -> Iterator[None]:
    """moto in-process with every table of template.yaml created."""
    from convene import aws as convene_aws
    from moto import mock_aws

    convene_aws.reset()
    with mock_aws():
        create_tables()
        import boto3

        secret = boto3.client("secretsmanager", region_name="eu-west-2").create_secret(
            Name="convene-signing-key", SecretString="unit-test-signing-key-not-secret"
        )
        os.environ["SIGNING_SECRET_ARN"] = secret["ARN"]
        yield
    convene_aws.reset()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A Scan issued by convene's code anywhere in the run fails the run."""
    import sys

    convene_aws = sys.modules.get("convene.aws")
    scans = convene_aws.scan_calls() if convene_aws is not None else []
    if scans:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"FAILED: convene issued {len(scans)} Scan call(s) on {sorted(set(scans))}; "
                "no Scan on any request path (docs/conventions.md)",
                red=True,
            )
