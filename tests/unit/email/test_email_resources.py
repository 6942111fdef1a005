"""template.yaml wires the email path as docs/email.md says: the outbox stream with its
filter and bounded retries, the DLQ and its alarm, the configuration set's feedback."""

from __future__ import annotations

import json
from typing import Any

from infra.local import template


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

    events = resource("EmailFeedbackFunction")["Properties"]["Events"]
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
