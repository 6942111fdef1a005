"""Flows that are not one API request: email throughput, confirmations under contention,
the reminders run's calls, and the comments list on a long thread.

Each runs in the bench process against the twin's DynamoDB Local and moto server (the
functions' environment comes from the twin through `Harness`), through convene's own
services and handlers: nothing here is a stand-in for the code it measures.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

THREADS = 32


class CallCounter:
    """Counts DynamoDB calls with a botocore `before-call` hook on convene's clients."""

    def __init__(self) -> None:
        self.ops: Counter[str] = Counter()
        self.on = False
        self._lock = threading.Lock()

    def install(self) -> None:
        from convene import aws as convene_aws

        for client in (convene_aws.client("dynamodb"), convene_aws.dynamodb().meta.client):
            client.meta.events.register("before-call.dynamodb", self._count,
                                        unique_id="bench-flows-counter")

    def _count(self, model: Any = None, **_: Any) -> None:
        if self.on and model is not None:
            with self._lock:
                self.ops[model.name] += 1

    @contextlib.contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        self.ops = Counter()
        self.on = True
        try:
            yield self.ops
        finally:
            self.on = False


def _workshop(capacity: int, title: str) -> str:
    from bench.scenarios import published_workshop

    return published_workshop(capacity, title)


@contextlib.contextmanager
def _capture() -> Iterator[tuple[list[str], list[Any]]]:
    """Confirm tokens and outbox messages as the registrations service makes them."""
    from convene.email import outbox
    from convene.registrations import emails

    tokens: list[str] = []
    messages: list[Any] = []
    lock = threading.Lock()
    real_url, real_put = emails.confirm_url, outbox.put

    def confirm_url(token: str) -> str:
        with lock:
            tokens.append(token)
        return real_url(token)

    def put(message: Any, **kw: Any) -> dict[str, Any]:
        with lock:
            messages.append(message)
        return real_put(message, **kw)

    emails.confirm_url, outbox.put = confirm_url, put
    try:
        yield tokens, messages
    finally:
        emails.confirm_url, outbox.put = real_url, real_put


def _run_all(work: list[Callable[[], Any]], threads: int = THREADS) -> tuple[list[Any], int]:
    errors = 0
    lock = threading.Lock()

    def one(fn: Callable[[], Any]) -> Any:
        nonlocal errors
        try:
            return fn()
        except Exception:
            with lock:
                errors += 1
            return None

    with ThreadPoolExecutor(threads) as pool:
        return [r for r in pool.map(one, work) if r is not None], errors


def _register(event_id: str, count: int, tag: str) -> tuple[list[str], list[Any], int]:
    from convene.registrations import service
    from convene.registrations.models import RegistrationIn

    now = datetime.now(UTC)

    def one(n: int) -> Callable[[], Any]:
        form = RegistrationIn.model_validate(
            {"name": f"Guest {n}", "email": f"bench-{tag}-{n:04d}@example.org", "consent": True})
        return lambda: service.register(event_id, form, caller=None, now=now)

    with _capture() as (tokens, messages):
        _, errors = _run_all([one(n) for n in range(count)], threads=8)
    return list(tokens), list(messages), errors


def _confirm_all(tokens: list[str], threads: int) -> tuple[list[Any], int, float]:
    from convene.registrations import service

    now = datetime.now(UTC)
    started = time.perf_counter()
    results, errors = _run_all([lambda t=t: service.confirm(t, now=now) for t in tokens],
                               threads=threads)
    return results, errors, time.perf_counter() - started


# ---------------------------------------------------------------- registrations


def registrations(harness: Any, guests: int = 300, seats: int = 100,
                  threads: int = THREADS) -> dict[str, Any]:
    from convene.registrations import reminders
    from convene.registrations import table as reg_table

    run = uuid.uuid4().hex[:6]
    event_id = _workshop(seats, f"Bench confirmations {run}")
    tokens, _, reg_errors = _register(event_id, guests, f"c{run}")
    saved_budget = reg_table.TIME_BUDGET
    reg_table.TIME_BUDGET = 120.0  # DynamoDB Local on 2 shared cores is slow to answer
    try:
        results, errors, seconds = _confirm_all(tokens, threads)
    finally:
        reg_table.TIME_BUDGET = saved_budget
    outcome = Counter(r.status for r in results)
    out: dict[str, Any] = {
        "guests": guests, "seats": seats, "threads": threads,
        "registered_tokens": len(tokens), "register_errors": reg_errors,
        "confirmations": len(results), "confirm_errors": errors,
        "outcomes": dict(outcome), "seconds": round(seconds, 2),
        "confirmations_per_s": round(len(results) / seconds, 1) if seconds else None,
    }

    # The reminders run for this event's 24-hour reminder: its confirmed registrants.
    counter = CallCounter()
    counter.install()
    state = reg_table.load_event(event_id)
    assert state is not None
    event = state.event
    when = event.starts_at - timedelta(minutes=min(event.reminders_minutes_before or [1440]))
    when = max(when, datetime.now(UTC)) + timedelta(seconds=1)
    with counter.counting() as ops:
        sent, finished = reminders.remind(event, when, budget=reminders.BUDGET)
    confirmed = outcome.get("confirmed", 0)
    calls = sum(ops.values())
    pages = math.ceil(confirmed / reminders.PAGE) if confirmed else 1
    minimum = 1 + pages + confirmed + 1
    out["reminders"] = {
        "confirmed_registrants": confirmed, "sent": sent, "finished": finished,
        "calls": calls, "operations": dict(ops),
        "calls_per_100_registrants": round(calls * 100 / confirmed, 1) if confirmed else None,
        "design_minimum": minimum,
        "design_minimum_per_100": round(minimum * 100 / confirmed, 1) if confirmed else None,
        "minimum_why": (
            f"1 read of the reminder progress, {pages} Query page(s) of confirmed registrants "
            f"({reminders.PAGE} a page), 1 TransactWriteItems per registrant (mark reminded + "
            "queue the email, atomically, so a rerun never sends twice), 1 write of the "
            "progress cursor"),
    }
    return out


# ---------------------------------------------------------------- email


def _stream_record(item: dict[str, Any], n: int, region: str, table: str) -> dict[str, Any]:
    from convene.db import to_item

    return {
        "eventID": uuid.uuid4().hex, "eventName": "INSERT", "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": region,
        "dynamodb": {
            "ApproximateCreationDateTime": int(time.time()),
            "Keys": {"pk": {"S": item["pk"]}}, "NewImage": to_item(item),
            "SequenceNumber": f"{n:021d}", "SizeBytes": 512, "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": f"arn:aws:dynamodb:{region}:000000000000:table/{table}/stream/bench",
    }


def email(harness: Any, guests: int = 60, seats: int = 30, batch: int = 25) -> dict[str, Any]:
    """Real outbox messages (from registering and confirming guests), copied into an outbox
    table of the same schema that the twin's stream pump does not read (so it cannot send
    them first), then handed to the Notifications handler as stream batches."""
    import os

    from convene import aws as convene_aws
    from convene.email import outbox, service
    from convene.settings import get_settings

    from tests.helpers import LambdaContext

    run = uuid.uuid4().hex[:6]
    event_id = _workshop(seats, f"Bench email {run}")
    tokens, messages, _ = _register(event_id, guests, f"e{run}")
    with _capture() as (_, confirm_messages):
        _confirm_all(tokens, threads=8)
    # A transaction retried under contention builds its messages again: one per key.
    unique = {m.dedupe_key: m for m in messages + confirm_messages if hasattr(m, "dedupe_key")}
    messages = list(unique.values())

    ddb = convene_aws.client("dynamodb")
    real = get_settings().outbox_table_name
    bench_table = f"{real}-bench-{run}"
    desc = ddb.describe_table(TableName=real)["Table"]
    ddb.create_table(TableName=bench_table, KeySchema=desc["KeySchema"],
                     AttributeDefinitions=desc["AttributeDefinitions"],
                     BillingMode="PAY_PER_REQUEST")
    ddb.get_waiter("table_exists").wait(TableName=bench_table)
    saved = os.environ.get("OUTBOX_TABLE_NAME")
    os.environ["OUTBOX_TABLE_NAME"] = bench_table
    get_settings.cache_clear()
    try:
        records = []
        now = datetime.now(UTC)
        for n, message in enumerate(messages):
            copy = message.model_copy(update={"dedupe_key": f"bench-{run}-{n}"})
            ddb.put_item(**outbox.put(copy, now=now)["Put"])
            records.append(_stream_record(outbox.item(copy, now=now), n + 1,
                                          harness.config["region"], bench_table))
        handler = harness.handler("NotificationsFunction")
        import sys

        from bench.harness import _Null

        failures = 0
        seconds = 0.0
        for first in range(0, len(records), batch):
            event = {"Records": records[first:first + batch]}
            stdout, sys.stdout = sys.stdout, _Null()
            try:
                started = time.perf_counter()
                answer = handler(event, LambdaContext())
                seconds += time.perf_counter() - started
            finally:
                sys.stdout = stdout
            failures += len((answer or {}).get("batchItemFailures") or [])
        statuses = Counter(
            str(ddb.get_item(TableName=bench_table, Key={"pk": {"S": r["dynamodb"]["Keys"]
                                                           ["pk"]["S"]}},
                             ConsistentRead=True).get("Item", {}).get("status", {}).get("S"))
            for r in records)
    finally:
        if saved is None:
            os.environ.pop("OUTBOX_TABLE_NAME", None)
        else:
            os.environ["OUTBOX_TABLE_NAME"] = saved
        get_settings.cache_clear()
        with contextlib.suppress(Exception):
            ddb.delete_table(TableName=bench_table)
    sent = statuses.get(service.SENT, 0)
    return {
        "messages": len(records), "batch_size": batch, "sent": sent,
        "statuses": dict(statuses), "batch_item_failures": failures,
        "kinds": dict(Counter(m.kind for m in messages)),
        "handler_seconds": round(seconds, 2),
        "messages_per_s": round(sent / seconds, 1) if seconds else None,
        "ses": f"SES v2 on the twin's moto server ({harness.config.get('moto_endpoint')})",
    }


# ---------------------------------------------------------------- comments


def comments(harness: Any, routes: dict[str, Any], ctx: Any, small: int = 10,
             large: int = 10_000, samples: int = 20) -> dict[str, Any]:
    """GET /posts/{postId}/comments on a post with `small` comments and one with `large`.
    The comments are written with BatchWriteItem as copies of the seeded post's approved
    comment item (the shape convene.comments.table writes), with their own ids and keys."""
    from convene import aws as convene_aws
    from convene.comments import table as ctable
    from convene.db import to_item

    from bench.harness import p50
    from bench.scenarios import Req

    route = routes["GET /posts/{postId}/comments"]
    put_post = routes["PUT /admin/posts/{postId}"]
    ddb = convene_aws.client("dynamodb")
    name = ctable._table()
    seeded, _ = ctable.published_page(ctx.post_id, None, 1)
    if not seeded:
        return {"error": "the seeded post has no published comment to copy the shape of"}
    template = ctable.get_comment(seeded[0]["comment_id"])
    assert template is not None
    run = uuid.uuid4().hex[:6]
    out: dict[str, Any] = {"p50_ms": {}, "samples": samples, "statuses": {}}
    fill_started = time.monotonic()
    posts = {}
    for count in (small, large):
        post_id = f"bench-thread-{run}-{count}"
        harness.invoke(put_post, Req.json("PUT", f"/admin/posts/{post_id}", {
            "title": f"Bench thread {count}", "url": "https://community.example.org/blog/b",
            "comments_open": True}), "organiser")
        base = datetime(2026, 1, 1, tzinfo=UTC)

        def item(i: int, post_id: str = post_id, base: datetime = base,
                 count: int = count) -> dict[str, Any]:
            cid = f"{run}{count:05d}{i:06d}"
            at = (base + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            thread = f"{at}#{cid}"
            copy = dict(template)
            copy.update({"pk": f"COMMENT#{cid}", "comment_id": cid, "post_id": post_id,
                         "created_at": at, "thread_key": thread,
                         **ctable.visible_keys(post_id, thread, at, cid, root=True)})
            for key in ("parent_id", "attach_to"):
                if key in copy:
                    copy[key] = None if template.get(key) in (None, template["comment_id"]) \
                        else copy[key]
            return {k: v for k, v in copy.items() if v is not None}

        def batch(first: int, stop: int = count, item: Callable[..., Any] = item) -> None:
            request = {name: [{"PutRequest": {"Item": to_item(item(i))}}
                              for i in range(first, min(first + 25, stop))]}
            while request:
                request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") \
                    or {}

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(batch, range(0, count, 25)))
        posts[count] = post_id
    out["fill_seconds"] = round(time.monotonic() - fill_started, 1)
    # The two posts are asked alternately, so load from other work falls on both alike.
    times: dict[int, list[float]] = {c: [] for c in posts}
    statuses: dict[int, Counter[int]] = {c: Counter() for c in posts}
    shown: dict[str, int] = {}
    for i in range(samples + 3):
        for count, post_id in posts.items():
            got = harness.invoke(route, Req.get(f"/posts/{post_id}/comments"), None)
            statuses[count][got.status] += 1
            if i >= 3:
                times[count].append(got.seconds)
            if i == 0 and got.status == 200:
                import json

                body = json.loads(got.body)
                shown[str(count)] = len(body.get("items") or body.get("comments") or [])
    for count in posts:
        out["p50_ms"][str(count)] = round(p50(times[count]) * 1000, 2)
        out["statuses"][str(count)] = dict(statuses[count])
    out["first_page_items"] = shown
    a, b = out["p50_ms"][str(small)], out["p50_ms"][str(large)]
    out["ratio"] = round(b / a, 3) if a else None
    from convene.comments.policy import get_config

    out["comments_per_query"] = get_config().pages.comments_per_query
    out["sizes"] = [small, large]
    return out
