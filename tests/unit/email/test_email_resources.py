"""template.yaml wires the email path as docs/email.md says: the outbox stream with its
filter and bounded retries, the DLQ and its alarm, the configuration set's feedback, and
every address a stack parameter (none in the code)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from infra.local import template

ROOT = Path(__file__).resolve().parents[3]
# What an email address looks like in a file (the privacy check's pattern).
ADDRESS = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


def resource(logical_id: str) -> dict[str, Any]:
    return template.resources()[logical_id]


def test_notifications_reads_only_new_outbox_items_with_bounded_retries_and_a_dlq() -> None:
    events = resource("NotificationsFunction")["Properties"]["Events"]
    (stream,) = [e["Properties"] for e in events.values() if e["Type"] == "DynamoDB"]

    assert stream["Stream"] == {"Fn::GetAtt": ["OutboxTable", "StreamArn"]}
    assert stream["StartingPosition"] == "TRIM_HORIZON"
    assert stream["BatchSize"] == 10
    (only,) = stream["FilterCriteria"]["Filters"]
    assert json.loads(only["Pattern"]) == {"eventName": ["INSERT"]}
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["BisectBatchOnFunctionError"] is True
    assert 0 < stream["MaximumRetryAttempts"] <= 10
    assert stream["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["NotificationsDLQ", "Arn"]},
    }


def test_the_dlq_keeps_messages_for_two_weeks_and_alarms_on_any() -> None:
    queue = resource("NotificationsDLQ")["Properties"]
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["SqsManagedSseEnabled"] is True

    alarm = resource("NotificationsDLQAlarm")["Properties"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["NotificationsDLQ", "QueueName"]}
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_the_alarm_tells_someone_through_an_encrypted_topic() -> None:
    alarm = resource("NotificationsDLQAlarm")["Properties"]
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]

    topic = resource("AlarmTopic")["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "EmailFeedbackKey"}
    key = resource("EmailFeedbackKey")["Properties"]["KeyPolicy"]["Statement"]
    assert any(s["Principal"].get("Service") == "cloudwatch.amazonaws.com" for s in key)

    subscription = resource("AlarmSubscription")
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_addresses_come_from_stack_parameters() -> None:
    env = resource("NotificationsFunction")["Properties"]["Environment"]["Variables"]

    assert env["SENDER_ADDRESS"] == {"Ref": "SenderAddress"}
    assert env["MODERATORS_ADDRESS"] == {"Ref": "ModeratorsAddress"}
    assert env["ORGANISERS_ADDRESS"] == {"Ref": "OrganisersAddress"}
    assert env["SES_CONFIGURATION_SET"] == {"Ref": "EmailConfigurationSet"}


def test_bounces_and_complaints_reach_email_feedback_through_an_encrypted_topic() -> None:
    destination = resource("EmailFeedbackDestination")["Properties"]
    assert destination["ConfigurationSetName"] == {"Ref": "EmailConfigurationSet"}
    assert sorted(destination["EventDestination"]["MatchingEventTypes"]) == ["bounce", "complaint"]
    assert destination["EventDestination"]["SnsDestination"]["TopicARN"] == {
        "Ref": "EmailFeedbackTopic"
    }
    assert resource("EmailFeedbackTopic")["Properties"]["KmsMasterKeyId"] == {
        "Ref": "EmailFeedbackKey"
    }

    feedback = resource("EmailFeedbackFunction")["Properties"]
    # SNS invokes it asynchronously: bounded retries, then the same DLQ (and its alarm).
    assert feedback["EventInvokeConfig"]["MaximumRetryAttempts"] == 2
    assert feedback["EventInvokeConfig"]["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["NotificationsDLQ", "Arn"]},
    }
    events = feedback["Events"]
    assert events["SesFeedback"] == {
        "Type": "SNS",
        "Properties": {"Topic": {"Ref": "EmailFeedbackTopic"}},
    }
    routes = {
        (e["Properties"]["Method"], e["Properties"]["Path"])
        for e in events.values()
        if e["Type"] == "Api"
    }
    assert routes == {("get", "/email/unsubscribe"), ("post", "/email/unsubscribe")}


def test_no_address_is_written_in_the_code_or_the_templates() -> None:
    # The sender, the moderators and the organisers are stack parameters (the template's
    # defaults are examples): nothing under shared/ or functions/ names an address.
    found = [
        f"{path.relative_to(ROOT)}: {match}"
        for folder in ("shared", "functions")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.suffix in {".py", ".html", ".txt", ".json", ".yaml", ".md"}
        and "__pycache__" not in path.parts
        for match in ADDRESS.findall(path.read_text(encoding="utf-8"))
    ]

    assert found == []
    parameters = template.load()["Parameters"]
    for name in ("SenderAddress", "ModeratorsAddress", "OrganisersAddress", "SiteUrl"):
        assert parameters[name]["Type"] == "String", name
    assert resource("NotificationsFunction")["Properties"]["Environment"]["Variables"][
        "SENDER_ADDRESS"
    ] == {"Ref": "SenderAddress"}
