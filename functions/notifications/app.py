"""Notifications: sends each new outbox item (the outbox table's stream, INSERTs only).

Thin: one record is one `convene.email.service.deliver` call. A failed record is reported
as a batch item failure, so the stream retries it (bounded, then the DLQ) and the records
that went through are not sent again (delivery is idempotent on the outbox item).
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from convene.email import service
from convene.observability import instruments

logger, tracer, metrics = instruments()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


_METRIC = {
    service.SENT: "EmailSent",
    service.SUPPRESSED: "EmailSuppressed",
    service.UNSUBSCRIBED: "EmailUnsubscribed",
    service.DONE_BEFORE: "EmailRedelivered",
    service.MISSING: "EmailMissing",
}


# Errors stay out of the trace: only our own, address-free messages are logged.
@tracer.capture_method(capture_error=False)
def record_handler(record: DynamoDBRecord, lambda_context: LambdaContext) -> str:
    if record.event_name is None or record.event_name.name != "INSERT" or not record.dynamodb:
        # The event source mapping's filter lets only INSERTs through; this is a backstop.
        metrics.add_metric(name="EmailIgnored", unit=MetricUnit.Count, value=1)
        return "ignored"
    pk = str(record.dynamodb.keys["pk"])
    try:
        outcome = service.deliver(
            pk, lease_seconds=service.lease_for(lambda_context.get_remaining_time_in_millis())
        )
    except service.PoisonMessage:
        metrics.add_metric(name="EmailPoison", unit=MetricUnit.Count, value=1)
        logger.warning("outbox item cannot be sent", extra={"outbox": pk}, exc_info=True)
        raise
    except service.DeliveryDeferred as exc:
        metrics.add_metric(name="EmailDeferred", unit=MetricUnit.Count, value=1)
        logger.warning("email deferred", extra={"outbox": pk, "why": str(exc)})
        raise
    except Exception as exc:
        # DynamoDB throttled or down, or a bug: the stream retries the record. The type
        # only; a message could quote the item.
        metrics.add_metric(name="EmailDeferred", unit=MetricUnit.Count, value=1)
        logger.warning("email delivery failed", extra={"outbox": pk, "error": type(exc).__name__})
        raise
    metrics.add_metric(
        name=_METRIC.get(outcome.status, "EmailOther"), unit=MetricUnit.Count, value=1
    )
    return outcome.status


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
