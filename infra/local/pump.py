"""DynamoDB Streams -> functions, as Lambda event source mappings do it.

For every function event ``Type: DynamoDB`` whose ``Stream`` is ``!GetAtt <Table>.StreamArn``
the pump reads that table's stream on DynamoDB Local (every shard, parents before
children, records in order within a shard) and invokes the function with batches in the
Lambda event shape (``events/dynamodb-stream.json``). It honours, from the event's
properties:

* ``StartingPosition`` ``TRIM_HORIZON`` or ``LATEST`` (shards found later are read from
  their start, as Lambda does), ``BatchSize`` (default 100), ``Enabled``;
* ``FilterCriteria.Filters[].Pattern``: EventBridge-style patterns (see :func:`matches`);
  a record that matches no filter is dropped, as if processed;
* ``FunctionResponseTypes: [ReportBatchItemFailures]``: ``{"batchItemFailures":
  [{"itemIdentifier": <SequenceNumber>}]}`` checkpoints before the lowest failed sequence
  number and retries from it; an empty or missing list is success; an identifier that is
  empty or not in the batch, or a response that is no object, fails the whole batch;
* a raised error fails the whole batch; ``MaximumRetryAttempts`` (default -1, endless,
  capped here at 10000) counts retries of a batch; ``BisectBatchOnFunctionError`` splits
  a failing batch in two before retrying (a split does not use up a retry, as in AWS);
  ``MaximumRecordAgeInSeconds`` discards a failing batch whose first record is too old;
* ``DestinationConfig.OnFailure.Destination`` (``!GetAtt <Queue>.Arn``): when a batch is
  given up, a JSON record describing it (AWS's on-failure invocation record:
  ``requestContext``, ``responseContext``, ``version``, ``timestamp``,
  ``DDBStreamBatchInfo``) is sent to ``queue_urls[<Queue>]`` with ``sqs_client``; the
  pump then moves on to the following records.

A record that succeeded is never delivered again: the pump keeps its position in memory
(per shard, after the last record read), so a record is delivered at least once while the
pump runs. Positions are not persisted: a pump started anew reads from
``StartingPosition`` again (Notifications is idempotent on the outbox item).

Not emulated: ``MaximumBatchingWindowInSeconds`` (records are delivered at once),
``ParallelizationFactor``, ``TumblingWindowInSeconds``, SNS and S3 failure destinations.

Threads: one daemon thread per mapping (one function's slow batch does not hold up
another's). Retries back off from ``retry_backoff`` seconds, doubling, to at most one
second. Log lines name the function, the shard and sequence numbers; never record
contents.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra.local.runtime import ACCOUNT_ID, FunctionError, Runtime

log = logging.getLogger("infra.local.pump")

MAX_RETRIES_CAP = 10_000
MAX_BACKOFF_S = 1.0


# ---------------------------------------------------------------- the mappings


@dataclass
class StreamMapping:
    """One event source mapping, read from a function's ``Type: DynamoDB`` event."""

    function_id: str
    event_name: str
    table: str  # the table's logical id
    starting_position: str = "TRIM_HORIZON"
    batch_size: int = 100
    filters: list[dict[str, Any]] = field(default_factory=list)
    report_item_failures: bool = False
    max_retries: int = MAX_RETRIES_CAP
    bisect: bool = False
    max_record_age_s: int = -1
    on_failure: str | None = None  # the destination queue's logical id
    enabled: bool = True

    @property
    def name(self) -> str:
        return f"{self.function_id}.{self.event_name}"


def stream_mappings(doc: Mapping[str, Any]) -> list[StreamMapping]:
    """Every ``Type: DynamoDB`` function event of the template, as a StreamMapping."""
    out = []
    for fn_id, res in (doc.get("Resources") or {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for event_name, event in ((res.get("Properties") or {}).get("Events") or {}).items():
            if (event or {}).get("Type") != "DynamoDB":
                continue
            props = event.get("Properties") or {}
            table = _getatt(props.get("Stream"), "StreamArn")
            if table is None:
                raise ValueError(f"{fn_id}.{event_name}: Stream must be !GetAtt <Table>.StreamArn")
            filters = []
            for item in (props.get("FilterCriteria") or {}).get("Filters") or []:
                pattern = item.get("Pattern")
                filters.append(json.loads(pattern) if isinstance(pattern, str) else dict(pattern))
            retries = int(props.get("MaximumRetryAttempts", -1))
            destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
                "Destination"
            )
            queue = _getatt(destination, "Arn") if destination is not None else None
            if destination is not None and queue is None:
                log.warning(
                    "%s.%s: only !GetAtt <Queue>.Arn destinations are emulated", fn_id, event_name
                )
            out.append(
                StreamMapping(
                    function_id=fn_id,
                    event_name=event_name,
                    table=table,
                    starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")).upper(),
                    batch_size=int(props.get("BatchSize", 100)),
                    filters=filters,
                    report_item_failures="ReportBatchItemFailures"
                    in (props.get("FunctionResponseTypes") or []),
                    max_retries=MAX_RETRIES_CAP if retries < 0 else min(retries, MAX_RETRIES_CAP),
                    bisect=bool(props.get("BisectBatchOnFunctionError", False)),
                    max_record_age_s=int(props.get("MaximumRecordAgeInSeconds", -1)),
                    on_failure=queue,
                    enabled=bool(props.get("Enabled", True)),
                )
            )
    return out


def _getatt(value: Any, attribute: str) -> str | None:
    if isinstance(value, Mapping) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        parts = target.split(".", 1) if isinstance(target, str) else list(target)
        if len(parts) == 2 and parts[1] == attribute:
            return str(parts[0])
    return None


# ---------------------------------------------------------------- filter patterns


def matches(pattern: Mapping[str, Any], record: Any) -> bool:
    """Whether ``record`` matches an EventBridge-style ``pattern`` (Lambda filtering).

    Supported: nested objects; lists of allowed values (any one matches; a list value in
    the record matches if any element does); ``null``; ``{"exists": true|false}``;
    ``{"prefix": s}``, ``{"suffix": s}``, ``{"equals-ignore-case": s}``;
    ``{"anything-but": value | [values] | {"prefix": s}}``; ``{"numeric": [op, n, ...]}``;
    and ``{"$or": [pattern, ...]}``."""
    if not isinstance(record, Mapping):
        return False
    for key, rule in pattern.items():
        if key == "$or":
            if not any(matches(p, record) for p in rule):
                return False
            continue
        present = key in record
        value = record.get(key)
        if isinstance(rule, Mapping):
            if not present or not matches(rule, value):
                return False
        elif isinstance(rule, list):
            if not _match_values(rule, present, value):
                return False
        else:
            raise ValueError(f"filter pattern values must be lists or objects, not {rule!r}")
    return True


def _match_values(rules: list[Any], present: bool, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    for rule in rules:
        if isinstance(rule, Mapping) and "exists" in rule:
            # As in EventBridge, "exists" looks at leaves: an object is not a value.
            if bool(rule["exists"]) == (present and not isinstance(value, Mapping)):
                return True
            continue
        if not present:
            continue
        if any(_match_one(rule, v) for v in values):
            return True
    return False


def _match_one(rule: Any, value: Any) -> bool:
    if not isinstance(rule, Mapping):
        if rule is None or value is None:
            return rule is value
        if _is_number(rule) and _is_number(value):
            return float(rule) == float(value)
        return type(rule) is type(value) and rule == value
    if "prefix" in rule:
        return isinstance(value, str) and value.startswith(str(rule["prefix"]))
    if "suffix" in rule:
        return isinstance(value, str) and value.endswith(str(rule["suffix"]))
    if "equals-ignore-case" in rule:
        return isinstance(value, str) and value.lower() == str(rule["equals-ignore-case"]).lower()
    if "anything-but" in rule:
        but = rule["anything-but"]
        if isinstance(but, Mapping):
            return not _match_one(but, value)
        excluded = but if isinstance(but, list) else [but]
        return not any(_match_one(e, value) for e in excluded)
    if "numeric" in rule:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        ops = rule["numeric"]
        checks = {
            "=": lambda a, b: a == b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
        }
        return all(checks[ops[i]](number, float(ops[i + 1])) for i in range(0, len(ops), 2))
    raise ValueError(f"unsupported filter operator {sorted(rule)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------- records

_ARN_PREFIX = re.compile(r"^arn:aws:dynamodb:[^:]*:[^:]*:")


def _wire(value: Any) -> Any:
    """An attribute value as JSON has it (boto3 hands binary values over as bytes)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_wire(v) for v in value]
    return value


def lambda_record(raw: Mapping[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A stream record from GetRecords (boto3) as Lambda puts it in the event."""
    dynamodb = dict(raw.get("dynamodb") or {})
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    for key in ("Keys", "NewImage", "OldImage"):
        if key in dynamodb:
            dynamodb[key] = _wire(dynamodb[key])
    record: dict[str, Any] = {
        "eventID": raw.get("eventID"),
        "eventName": raw.get("eventName"),
        "eventVersion": raw.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": _ARN_PREFIX.sub(f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:", stream_arn),
    }
    if raw.get("userIdentity"):
        record["userIdentity"] = dict(raw["userIdentity"])
    return record


def _seq(record: Mapping[str, Any]) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


def _iso(epoch: float | None) -> str:
    moment = datetime.fromtimestamp(epoch, UTC) if epoch is not None else datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------- one mapping


@dataclass
class _Shard:
    shard_id: str
    parent: str | None
    initial: bool  # existed when the mapping started (LATEST applies to these only)
    iterator: str | None = None
    last_read: str | None = None
    exhausted: bool = False  # closed, and read to its end
    pending: deque[dict[str, Any]] = field(default_factory=deque)
    splits: list[int] = field(default_factory=list)  # sizes of bisected batches to come
    failures: int = 0  # failed invocations of the batch at the head of `pending`
    function_error: bool = False

    @property
    def done(self) -> bool:
        return self.exhausted and not self.pending


class _Consumer:
    """Reads one table's stream for one mapping and delivers it to the function."""

    def __init__(self, pump: StreamPump, mapping: StreamMapping, table_name: str) -> None:
        self.pump = pump
        self.mapping = mapping
        self.table_name = table_name
        self.stream_arn: str | None = None
        self.shards: dict[str, _Shard] = {}
        self.idle_cycles = 0
        self._resolved_at = 0.0

    # ------------------------------------------------------------ stream discovery

    def forget_stream(self) -> None:
        """Look the stream up again on the next cycle (the table may be new)."""
        self._resolved_at = 0.0

    def _latest_stream(self) -> str | None:
        if self.pump.dynamodb_client is not None:
            table = self.pump.dynamodb_client.describe_table(TableName=self.table_name)["Table"]
            return table.get("LatestStreamArn")
        streams = self.pump.streams_client.list_streams(TableName=self.table_name).get(
            "Streams", []
        )
        if not streams:
            return None
        return str(max(streams, key=lambda s: s.get("StreamLabel", ""))["StreamArn"])

    def _refresh(self) -> None:
        now = time.monotonic()
        first = self.stream_arn is None
        if first or now - self._resolved_at > 2.0:
            self._resolved_at = now
            try:
                arn = self._latest_stream()
            except Exception as exc:  # the table may not exist yet
                if first:
                    log.debug("%s: no stream yet (%s)", self.mapping.name, type(exc).__name__)
                arn = None
            if arn and arn != self.stream_arn:
                if self.stream_arn is not None:
                    log.info("%s: the table has a new stream; following it", self.mapping.name)
                self.stream_arn, self.shards = arn, {}
                self._discover(initial=first)
                return
        if self.stream_arn is not None:
            self._discover(initial=False)

    def _discover(self, *, initial: bool) -> None:
        assert self.stream_arn is not None
        client = self.pump.streams_client
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            desc = client.describe_stream(**kwargs)["StreamDescription"]
            for shard in desc.get("Shards", []):
                sid = shard["ShardId"]
                if sid not in self.shards:
                    self.shards[sid] = _Shard(sid, shard.get("ParentShardId"), initial=initial)
            last = desc.get("LastEvaluatedShardId")
            if not last:
                break
            kwargs["ExclusiveStartShardId"] = last

    # ------------------------------------------------------------ one cycle

    def cycle(self) -> bool:
        """Reads and delivers what is there now. True when there was nothing to do."""
        if not self.mapping.enabled:
            return True
        self._refresh()
        idle = True
        for shard in list(self.shards.values()):
            if shard.done or self.pump.stopping:
                continue
            parent = self.shards.get(shard.parent) if shard.parent else None
            if parent is not None and not parent.done:
                idle = False  # the child waits for its parent
                continue
            read = self._read(shard)
            if read or shard.pending:
                idle = False
            self._deliver(shard)
        if idle:
            self.idle_cycles += 1
        return idle

    def _iterator(self, shard: _Shard) -> str | None:
        client = self.pump.streams_client
        args: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        if shard.last_read is not None:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.last_read)
        elif shard.initial and self.mapping.starting_position == "LATEST":
            args["ShardIteratorType"] = "LATEST"
        else:
            args["ShardIteratorType"] = "TRIM_HORIZON"
        return client.get_shard_iterator(**args).get("ShardIterator")

    def _read(self, shard: _Shard) -> int:
        """Reads records into ``shard.pending`` (filtered). Returns how many were read."""
        if shard.exhausted or len(shard.pending) >= self.mapping.batch_size:
            return 0
        client = self.pump.streams_client
        if shard.iterator is None:
            shard.iterator = self._iterator(shard)
            if shard.iterator is None:
                shard.exhausted = True
                return 0
        try:
            answer = client.get_records(ShardIterator=shard.iterator, Limit=1000)
        except client.exceptions.ExpiredIteratorException:
            shard.iterator = self._iterator(shard)
            return 0
        except client.exceptions.TrimmedDataAccessException:
            log.warning("%s: records of %s were trimmed", self.mapping.name, shard.shard_id)
            shard.last_read, shard.iterator = None, None
            shard.initial = False
            return 0
        records = answer.get("Records", [])
        for raw in records:
            shard.last_read = raw["dynamodb"]["SequenceNumber"]
            record = lambda_record(raw, self.stream_arn or "", self.pump.region)
            if not self.mapping.filters or any(matches(f, record) for f in self.mapping.filters):
                shard.pending.append(record)
        shard.iterator = answer.get("NextShardIterator")
        if shard.iterator is None:
            shard.exhausted = True
        return len(records)

    # ------------------------------------------------------------ delivery

    def _deliver(self, shard: _Shard) -> None:
        mapping = self.mapping
        while shard.pending and not self.pump.stopping:
            size = shard.splits[0] if shard.splits else mapping.batch_size
            batch = [shard.pending[i] for i in range(min(size, len(shard.pending)))]
            outcome = self._invoke(shard, batch)
            if outcome == len(batch):  # every record done
                self._advance(shard, len(batch))
                if shard.splits:
                    shard.splits.pop(0)
                continue

            shard.failures += 1
            if outcome > 0:  # partial: checkpoint before the first failed record
                self._advance(shard, outcome, keep_failures=True)
                if shard.splits:
                    shard.splits[0] -= outcome
                batch = batch[outcome:]
            elif mapping.bisect and len(batch) > 1 and outcome == -1:
                half = (len(batch) + 1) // 2
                sizes = [half, len(batch) - half]
                shard.splits = sizes + (shard.splits[1:] if shard.splits else [])
                shard.failures -= 1  # a split does not use up a retry
                continue

            too_old = mapping.max_record_age_s >= 0 and (
                time.time() - batch[0]["dynamodb"].get("ApproximateCreationDateTime", time.time())
                > mapping.max_record_age_s
            )
            if shard.failures > mapping.max_retries or too_old:
                condition = "RecordAgeExceeded" if too_old else "RetryAttemptsExhausted"
                self._give_up(shard, batch, condition)
                self._advance(shard, len(batch))
                if shard.splits:
                    shard.splits.pop(0)
                continue
            delay = min(MAX_BACKOFF_S, self.pump.retry_backoff * 2 ** (shard.failures - 1))
            if self.pump.wait(delay):
                return

    def _advance(self, shard: _Shard, count: int, *, keep_failures: bool = False) -> None:
        for _ in range(count):
            shard.pending.popleft()
        if not keep_failures:
            shard.failures = 0
            shard.function_error = False

    def _invoke(self, shard: _Shard, batch: list[dict[str, Any]]) -> int:
        """Invokes the function. Returns how many leading records are done: len(batch) on
        success, a smaller number on a partial failure, -1 when the whole batch failed."""
        mapping = self.mapping
        try:
            result = self.pump.runtime.invoke(mapping.function_id, {"Records": batch})
        except FunctionError as exc:
            log.warning(
                "%s failed on %d record(s) from %s: %s",
                mapping.name,
                len(batch),
                batch[0]["dynamodb"]["SequenceNumber"],
                exc.error_type,
            )
            shard.function_error = True
            return -1
        shard.function_error = False
        if not mapping.report_item_failures or result is None:
            return len(batch)
        if not isinstance(result, dict):
            return -1
        failures = result.get("batchItemFailures")
        if not failures:
            return len(batch)
        positions = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(batch)}
        failed = []
        for item in failures if isinstance(failures, list) else [None]:
            ident = item.get("itemIdentifier") if isinstance(item, dict) else None
            if not isinstance(ident, str) or ident not in positions:
                return -1
            failed.append(positions[ident])
        first = min(failed, key=lambda i: _seq(batch[i]))
        log.info(
            "%s reported a failure at %s; retrying from there",
            mapping.name,
            batch[first]["dynamodb"]["SequenceNumber"],
        )
        return first

    def _give_up(self, shard: _Shard, batch: list[dict[str, Any]], condition: str) -> None:
        mapping = self.mapping
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        log.error(
            "%s: giving up on %d record(s) %s..%s of %s (%s)",
            mapping.name,
            len(batch),
            first["SequenceNumber"],
            last["SequenceNumber"],
            shard.shard_id,
            condition,
        )
        if mapping.on_failure is None:
            return
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if shard.function_error:
            response["functionError"] = "Unhandled"
        record = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.pump.runtime.function_arn(mapping.function_id),
                "condition": condition,
                "approximateInvokeCount": max(1, shard.failures),
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": _iso(None),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
                "batchSize": len(batch),
                "streamArn": batch[0]["eventSourceARN"],
            },
        }
        url = self.pump.queue_urls.get(mapping.on_failure)
        if url is None or self.pump.sqs_client is None:
            log.error("%s: no queue URL or SQS client for %s", mapping.name, mapping.on_failure)
            return
        try:
            self.pump.sqs_client.send_message(QueueUrl=url, MessageBody=json.dumps(record))
        except Exception:
            log.exception("%s: could not send the on-failure record", mapping.name)


# ---------------------------------------------------------------- the pump


class StreamPump:
    """Feeds DynamoDB stream records to the functions subscribed in ``doc``.

    ``streams_client``: a boto3 ``dynamodbstreams`` client for DynamoDB Local.
    ``table_names``: ``{table logical id: physical name}`` (as ``create_tables`` returns).
    ``dynamodb_client``: optional; the stream ARN then comes from DescribeTable's
    ``LatestStreamArn`` (without it, from ListStreams). ``sqs_client`` and ``queue_urls``
    (``{queue logical id: URL}``): where on-failure records go. ``region``: what records
    and ARNs report. ``poll_interval``: the pause when a mapping found nothing to do.
    ``retry_backoff``: the first pause before a retry (doubling up to a second)."""

    def __init__(
        self,
        runtime: Runtime,
        doc: Mapping[str, Any],
        *,
        streams_client: Any,
        table_names: Mapping[str, str],
        sqs_client: Any = None,
        queue_urls: Mapping[str, str] | None = None,
        region: str = "eu-west-2",
        poll_interval: float = 0.25,
        dynamodb_client: Any = None,
        retry_backoff: float = 0.05,
    ) -> None:
        self.runtime = runtime
        self.streams_client = streams_client
        self.dynamodb_client = dynamodb_client
        self.sqs_client = sqs_client
        self.queue_urls = dict(queue_urls or {})
        self.region = region
        self.poll_interval = poll_interval
        self.retry_backoff = retry_backoff
        self.mappings = stream_mappings(doc)
        known = set(runtime.function_ids())
        self._consumers = []
        for mapping in self.mappings:
            if mapping.function_id not in known:
                raise ValueError(f"{mapping.name}: the runtime does not run {mapping.function_id}")
            if mapping.table not in table_names:
                raise ValueError(f"{mapping.name}: no physical name for table {mapping.table}")
            if not mapping.enabled:
                log.info("%s is disabled in the template", mapping.name)
            self._consumers.append(_Consumer(self, mapping, table_names[mapping.table]))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._changed = threading.Condition()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleeps up to ``seconds``; True if the pump is stopping."""
        return self._stop.wait(seconds)

    def start(self) -> None:
        """Starts one daemon thread per mapping."""
        if self._threads:
            return
        self._stop.clear()
        for consumer in self._consumers:
            thread = threading.Thread(
                target=self._run,
                args=(consumer,),
                name=f"twin-pump-{consumer.mapping.name}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Stops the threads (after the invocation in flight, if any) and waits for them."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []

    def _run(self, consumer: _Consumer) -> None:
        while not self._stop.is_set():
            try:
                idle = consumer.cycle()
            except Exception as exc:
                # Not counted as an idle cycle: an error is no sign of being drained. The
                # table may have been deleted (tests reset it): look for its stream again.
                code = getattr(exc, "response", {}).get("Error", {}).get("Code")
                log.warning(
                    "%s: stream read failed (%s); retrying",
                    consumer.mapping.name,
                    code or type(exc).__name__,
                )
                log.debug("stream read failure", exc_info=True)
                consumer.forget_stream()
                idle = True
                self._stop.wait(max(self.poll_interval, 0.5))
            with self._changed:
                self._changed.notify_all()
            if idle:
                self._stop.wait(self.poll_interval)

    def poll_once(self) -> bool:
        """One cycle of every mapping in the calling thread (for a pump that was not
        started). True when none had anything to do."""
        return all([consumer.cycle() for consumer in self._consumers])

    def drain(self, timeout: float = 10.0) -> bool:
        """Blocks until every stream has been read to its end and every record read has
        been delivered (or given up). True when drained, False when ``timeout`` seconds
        passed first (a batch still being retried, say). Works whether or not the pump
        was started: when not, it runs the cycles itself."""
        deadline = time.monotonic() + timeout
        if not self._threads:
            while time.monotonic() < deadline:
                if self.poll_once():
                    return True
            return False
        # Two idle cycles that started after this call: everything written before it has
        # been read and delivered.
        active = [c for c in self._consumers if c.mapping.enabled]
        marks = {id(c): c.idle_cycles for c in active}
        with self._changed:
            while True:
                if all(c.idle_cycles - marks[id(c)] >= 2 for c in active):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._threads:
                    return False
                self._changed.wait(min(remaining, 0.1))
