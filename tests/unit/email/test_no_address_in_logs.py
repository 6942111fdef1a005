"""Privacy: the email path logs outbox keys and kinds, never an address, whatever happens
(sent, suppressed, refused by SES with the address in its message, poison, feedback)."""

from __future__ import annotations

from types import ModuleType

import pytest
from convene.email import suppression

from tests.helpers import LambdaContext, api_event
from tests.unit.email.conftest import Mailbox, SesFaults, invoke, queue, ses_error, stream_record
from tests.unit.email.samples import GUEST, message
from tests.unit.email.test_bounces_and_complaints import bounce, complaint, feed

OTHER = "jonah.reid@example.net"


def test_no_log_line_contains_an_address(
    notifications: ModuleType,
    email_feedback: ModuleType,
    mail: Mailbox,
    ses_faults: SesFaults,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO")  # as in Lambda (LOG_LEVEL INFO); botocore logs bodies at DEBUG
    items = queue(
        message("registration_confirmed"),
        message("event_reminder", to=OTHER, dedupe_key="REM#reg_2#60"),
        message("interest_received", dedupe_key="INTEREST#int_41d2"),
    )
    # SES refuses the first send quoting the address, then throttles once.
    ses_faults.fail_calls = {1, 2}
    errors = iter(
        [
            ses_error("MessageRejected", f"Email address is not verified: {GUEST}"),
            ses_error("TooManyRequestsException", f"Maximum sending rate exceeded for {OTHER}"),
        ]
    )
    ses_faults.error = lambda: next(errors)
    records = [stream_record(i) for i in items]
    invoke(notifications, records)
    invoke(notifications, records)
    # A poison record: an address where a kind should be.
    poison = dict(items[0], pk="MSG#REG#reg_bad#x", kind=GUEST)
    from convene import aws as convene_aws
    from convene.db import to_item
    from convene.settings import get_settings

    convene_aws.client("dynamodb").put_item(
        TableName=get_settings().outbox_table_name, Item=to_item(poison)
    )
    invoke(notifications, [stream_record(poison)])
    # Feedback and unsubscribes.
    feed(email_feedback, bounce("Permanent", address=OTHER), complaint(GUEST))
    token = suppression.unsubscribe_token(GUEST, "reminders")
    email_feedback.lambda_handler(
        api_event("POST", "/email/unsubscribe", query={"token": token}), LambdaContext()
    )
    (later,) = queue(message("event_reminder", to=OTHER, dedupe_key="REM#reg_2#10"))
    invoke(notifications, [stream_record(later)])

    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "email sent" in logged and "address suppressed" in logged
    for address in (GUEST, OTHER, "amara.okafor", "jonah.reid"):
        assert address not in logged
    assert token not in logged
