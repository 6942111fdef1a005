"""No Scan on a request path. convene.aws gives every client it makes a botocore hook that
refuses a Scan while CONVENE_FORBID_SCAN=1 (tests/conftest.py sets it for the session and
the twins tests start inherit it). A refused Scan is counted in this process (the session
fails at its end, tests/conftest.py) and logged with a marker in a twin's output, which the
last test here looks for.
"""

from __future__ import annotations

import os

import pytest

from tests.proof.privacy import log_files


def test_convene_clients_refuse_a_scan_while_the_guard_is_on(aws: None) -> None:
    from convene import aws as convene_aws

    assert os.environ.get("CONVENE_FORBID_SCAN") == "1"
    convene_aws.reset()
    table = os.environ["TABLE_NAME"]
    try:
        with pytest.raises(convene_aws.ScanForbidden):
            convene_aws.client("dynamodb").scan(TableName=table)
        with pytest.raises(convene_aws.ScanForbidden):
            convene_aws.table(table).scan()
        assert convene_aws.scan_calls() == [table, table]
        # A Query is what a request path does instead: not refused.
        convene_aws.client("dynamodb").query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "EVENT#none"}},
        )
    finally:
        convene_aws.reset_scan_calls()
        convene_aws.reset()


def test_the_twins_of_this_session_saw_no_scan() -> None:
    from convene.aws import SCAN_MARKER

    files = [p for p in log_files() if p.is_file()]
    if not files:
        pytest.skip("no twin was started in this session")
    hits = [
        f"{p.parent.name}/{p.name}: {line.strip()[:200]}"
        for p in files
        for line in p.read_text(errors="replace").splitlines()
        if SCAN_MARKER in line
    ]
    assert not hits, "Scan on a request path:\n" + "\n".join(hits)
