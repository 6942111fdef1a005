"""Reminders: the scheduled run, every 5 minutes (EventBridge Scheduler).

"now" is the time the run was scheduled for (the schedule's Input carries
<aws.scheduler.scheduled-time>), never the clock: a late or repeated invocation does the
work of its own slot, and a test or `make invoke` can run any moment.
"""

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from convene.moderation import digest
from convene.observability import instruments
from convene.registrations import reminders
from convene.timefmt import parse_utc

logger, tracer, metrics = instruments()


def scheduled_time(event: dict[str, Any]) -> datetime:
    """The slot this run is for: `scheduled_time` (our schedule's Input) or `time` (an
    EventBridge rule's event). The clock only when neither is there (a manual run)."""
    for field in ("scheduled_time", "time"):
        value = event.get(field) if isinstance(event, dict) else None
        if isinstance(value, str) and value:
            try:
                return parse_utc(value)
            except ValueError:
                logger.warning("scheduled time not understood", extra={"field": field})
    return datetime.now(UTC)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = scheduled_time(event)
    summary = reminders.run(now)
    result = {"scheduled_time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), **asdict(summary)}
    result["moderation_digest"] = digest.send_digest(now).outcome  # the moderators' digest
    logger.info("scheduled run done", extra=result)
    metrics.add_metric(name="RemindersQueued", unit=MetricUnit.Count, value=summary.reminders)
    metrics.add_metric(name="OffersLapsed", unit=MetricUnit.Count, value=summary.lapsed)
    return result
