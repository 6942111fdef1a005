"""Moderation in MainTable: the only module that knows its key shapes and expressions.

A claim is three attributes on the comment item itself (docs/moderation.md):

    COMMENT#<id> / COMMENT   claimed_by (the moderator's user id), claimed_by_name, lease_until

so the queue index (gsi1, all attributes projected) shows who holds what, and a decision's
own condition on the comment checks the claim. Moderation's own items:

    MODSTATS / QUEUE#<queue>#<shard>      depth: comments waiting in that queue (this shard's part)
    MODSTATS / DAY#<yyyy-mm-dd>#<shard>   approve, reject, spam: decisions made that day
    PERSON#<email hash> / MODERATION      approved, rejected, spam: the author's comments so
    MODDIGEST / DIGEST                    last_sent_at: the moderators' digest

Counters move only inside the transactions that change what they count (comments calls
`submitted`, `reported`, `decided`, `erased` for its items). Each counter is split over
SHARDS items chosen by the comment id, so concurrent transactions seldom meet on one item
(DynamoDB cancels a transaction that does: TransactionConflict); a read adds the shards up
in one Query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from convene import db
from convene.aws import client
from convene.comments.policy import get_config
from convene.comments.table import Guard, comment_key
from convene.db import from_item, to_item, values
from convene.posts.table import post_key
from convene.settings import get_settings
from convene.timefmt import utc_iso

SHARDS = 8
STATS = "MODSTATS"
DIGEST_KEY = {"pk": "MODDIGEST", "sk": "DIGEST"}
COUNTED_QUEUES = ("pending", "reported")
STATES = ("approved", "rejected", "spam")
ACTIONS = ("approve", "reject", "spam")
CLAIM_ATTRIBUTES = ("claimed_by", "claimed_by_name", "lease_until")
DAY_COUNTER_DAYS = 400  # kept for a year of charts, then TTL removes them


def _table() -> str:
    return get_settings().table_name


def _ddb() -> Any:
    return client("dynamodb")


# ---------------------------------------------------------------- keys


def shard(comment_id: str) -> int:
    return int(hashlib.sha256(comment_id.encode()).hexdigest()[:8], 16) % SHARDS


def queue_counter_key(queue: str, part: int) -> dict[str, str]:
    return {"pk": STATS, "sk": f"QUEUE#{queue}#{part}"}


def day_counter_key(day: str, part: int) -> dict[str, str]:
    return {"pk": STATS, "sk": f"DAY#{day}#{part}"}


def author_key(email_hash: str) -> dict[str, str]:
    return {"pk": f"PERSON#{email_hash}", "sk": "MODERATION"}


def queue_of(item: Mapping[str, Any]) -> str | None:
    """The moderation queue a comment item waits in, if any."""
    key = str(item.get("gsi1pk") or "")
    return key.removeprefix("MODQ#") if key.startswith("MODQ#") else None


def waiting_since(item: Mapping[str, Any]) -> str | None:
    """When the item joined its queue: the time part of its queue sort key (ms, UTC)."""
    sort_key = str(item.get("gsi1sk") or "")
    return sort_key.partition("#")[0] or None


# ---------------------------------------------------------------- transaction items


def _update(
    key: Mapping[str, str],
    expression: str,
    vals: Mapping[str, Any],
    *,
    names: Mapping[str, str] | None = None,
    condition: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "TableName": _table(),
        "Key": to_item(key),
        "UpdateExpression": expression,
        "ExpressionAttributeValues": values(vals),
    }
    if names:
        entry["ExpressionAttributeNames"] = dict(names)
    if condition:
        entry["ConditionExpression"] = condition
    return {"Update": entry}


def _adds(key: Mapping[str, str], deltas: Mapping[str, int], **sets: Any) -> dict[str, Any]:
    names = {"#e": "entity"}
    vals: dict[str, Any] = {":e": sets.pop("entity")}
    parts = []
    for i, (field, delta) in enumerate(deltas.items()):
        names[f"#n{i}"] = field
        vals[f":n{i}"] = delta
        parts.append(f"#n{i} :n{i}")
    set_parts = ["#e = :e"]
    for i, (field, value) in enumerate(sets.items()):
        names[f"#s{i}"] = field
        vals[f":s{i}"] = value
        set_parts.append(f"#s{i} = :s{i}")
    expression = "SET " + ", ".join(set_parts) + " ADD " + ", ".join(parts)
    return _update(key, expression, vals, names=names)


def queue_counted(queue: str | None, delta: int, comment_id: str) -> list[dict[str, Any]]:
    """A comment joins (+1) or leaves (-1) a queue. The spam queue is not counted: what the
    defences catch expires on its own (TTL), which no transaction sees."""
    if queue not in COUNTED_QUEUES or not delta:
        return []
    key = queue_counter_key(queue, shard(comment_id))
    return [_adds(key, {"depth": delta}, entity="moderation_queue_counter")]


def author_counted(
    email_hash: str | None, from_status: str | None, to_status: str | None
) -> list[dict[str, Any]]:
    """The author's history follows the comment: one state loses it, the next gains it."""
    deltas: dict[str, int] = {}
    if from_status in STATES:
        deltas[str(from_status)] = deltas.get(str(from_status), 0) - 1
    if to_status in STATES:
        deltas[str(to_status)] = deltas.get(str(to_status), 0) + 1
    deltas = {k: v for k, v in deltas.items() if v}
    if not email_hash or not deltas:
        return []
    return [_adds(author_key(email_hash), deltas, entity="moderation_author_history")]


def submitted(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """For the transaction that stores a new comment."""
    return queue_counted(queue_of(item), 1, str(item["comment_id"])) + author_counted(
        item.get("email_hash"), None, str(item["status"])
    )


def reported(comment_id: str, *, first: bool) -> list[dict[str, Any]]:
    """For a report's transaction: the first report puts the comment in the reported queue."""
    return queue_counted("reported", 1, comment_id) if first else []


def decided(
    current: Mapping[str, Any], action: str, to_status: str, now: datetime
) -> list[dict[str, Any]]:
    """For a decision's transaction: it leaves its queue, the day counts the action, and the
    author's history moves. `current` is the comment as the decision read it."""
    comment_id = str(current["comment_id"])
    day = now.strftime("%Y-%m-%d")
    items = queue_counted(queue_of(current), -1, comment_id)
    if action in ACTIONS:
        items.append(
            _adds(
                day_counter_key(day, shard(comment_id)),
                {action: 1},
                entity="moderation_day_counter",
                day=day,
                expires_at=int((now + timedelta(days=DAY_COUNTER_DAYS)).timestamp()),
            )
        )
    return items + author_counted(current.get("email_hash"), str(current["status"]), to_status)


def erased(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """For the transaction that erases a comment that may still wait in a queue."""
    return queue_counted(queue_of(item), -1, str(item["comment_id"]))


def claim_guard(queue: str, moderator_id: str, now_iso: str) -> Guard:
    """What a decision's update of the comment also requires: the comment still waits in
    the queue the moderator saw, and nobody else holds a live lease on it. The decision
    clears the claim."""
    return Guard(
        condition=(
            "gsi1pk = :claim_q AND (attribute_not_exists(claimed_by) OR claimed_by = :claim_me"
            " OR lease_until < :claim_now)"
        ),
        values={":claim_q": f"MODQ#{queue}", ":claim_me": moderator_id, ":claim_now": now_iso},
        removes=CLAIM_ATTRIBUTES,
    )


def digest_sent(now_iso: str, not_after: str, counts: Mapping[str, int]) -> dict[str, Any]:
    """The digest state moves to this run, unless a digest went out after `not_after` (an
    earlier or a concurrent run): so one interval sends one digest."""
    return _update(
        DIGEST_KEY,
        "SET #e = :e, last_sent_at = :now, pending_count = :p, reported_count = :r",
        {
            ":e": "moderation_digest",
            ":now": now_iso,
            ":cut": not_after,
            ":p": counts.get("pending", 0),
            ":r": counts.get("reported", 0),
        },
        names={"#e": "entity"},
        condition="attribute_not_exists(last_sent_at) OR last_sent_at <= :cut",
    )


# ---------------------------------------------------------------- claims


def queue_heads(
    queue: str, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """The head of a queue, oldest first, with only what a claim needs to skip or take an
    item; one Query. Returns the items and the sort key to go on from (None at the end)."""
    names = {
        "#c": "comment_id",
        "#q": "gsi1sk",
        "#b": "claimed_by",
        "#l": "lease_until",
        "#x": "expires_at",
    }
    condition = "gsi1pk = :q"
    vals: dict[str, Any] = {":q": f"MODQ#{queue}"}
    if after:
        condition += " AND gsi1sk > :after"
        vals[":after"] = after
    resp = _ddb().query(
        TableName=_table(),
        IndexName="gsi1",
        KeyConditionExpression=condition,
        ExpressionAttributeValues=values(vals),
        ExpressionAttributeNames=names,
        ProjectionExpression=", ".join(names),
        Limit=limit,
    )
    items = [from_item(i) for i in resp.get("Items", [])]
    more = "LastEvaluatedKey" in resp and items
    return items, (str(items[-1]["gsi1sk"]) if more else None)


# Of the comments in a queue only spam carries `expires_at` (its TTL): a decision out of
# spam removes it.


def expired(item: Mapping[str, Any], now: datetime) -> bool:
    """Spam past its retention. TTL deletes it late (within days), so until then it is
    still in the index; moderators treat it as gone."""
    expires_at = item.get("expires_at")
    return expires_at is not None and int(expires_at) <= int(now.timestamp())


def deleted_at(item: Mapping[str, Any]) -> str | None:
    """When TTL deletes it (UTC text), or None if it is kept."""
    expires_at = item.get("expires_at")
    return None if expires_at is None else utc_iso(datetime.fromtimestamp(int(expires_at), UTC))


SPAM_LOOK_AHEAD = 25


def oldest_kept_spam(now: datetime) -> dict[str, Any] | None:
    """The oldest comment the spam queue still keeps (its head, as `queue_heads` gives it),
    or None. Only what was caught within the retention (`spam_retain_days`) is read:
    anything older has expired (its TTL is when it was caught plus the retention), whether
    or not TTL has deleted it yet. One Query of at most SPAM_LOOK_AHEAD index items; the
    second's margin and a retention changed since are left to `expired`."""
    retain = timedelta(days=get_config().spam_retain_days, seconds=1)
    since = utc_iso(now - retain)
    heads, _ = queue_heads("spam", after=since, limit=SPAM_LOOK_AHEAD)
    return next((item for item in heads if not expired(item, now)), None)


def lease(
    comment_id: str, queue: str, *, moderator_id: str, name: str, until: str, now: str
) -> dict[str, Any] | None:
    """Leases the comment to the moderator (or extends their lease) if it still waits in
    the queue and nobody else holds a live lease: the whole comment, or None if not."""
    try:
        resp = _ddb().update_item(
            TableName=_table(),
            Key=to_item(comment_key(comment_id)),
            UpdateExpression="SET claimed_by = :me, claimed_by_name = :name, lease_until = :until",
            ConditionExpression=(
                "gsi1pk = :q AND (attribute_not_exists(claimed_by) OR claimed_by = :me"
                " OR lease_until < :now)"
            ),
            ExpressionAttributeValues=values(
                {
                    ":me": moderator_id,
                    ":name": name,
                    ":until": until,
                    ":now": now,
                    ":q": f"MODQ#{queue}",
                }
            ),
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return None
        raise
    return from_item(resp["Attributes"])


# ---------------------------------------------------------------- reads


def oldest_waiting(queue: str) -> str | None:
    """The queue sort key of the oldest item waiting: one Query of one item."""
    resp = _ddb().query(
        TableName=_table(),
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :q",
        ExpressionAttributeValues=values({":q": f"MODQ#{queue}"}),
        ProjectionExpression="gsi1sk",
        Limit=1,
    )
    items = resp.get("Items", [])
    return str(from_item(items[0])["gsi1sk"]) if items else None


def queue_depths() -> dict[str, int]:
    """Every queue's depth, from its counter shards: one Query of at most 16 small items."""
    resp = _ddb().query(
        TableName=_table(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues=values({":pk": STATS, ":prefix": "QUEUE#"}),
        ConsistentRead=True,
    )
    depths = dict.fromkeys(COUNTED_QUEUES, 0)
    for item in map(from_item, resp.get("Items", [])):
        queue = str(item["sk"]).split("#")[1]
        depths[queue] = depths.get(queue, 0) + int(item.get("depth", 0))
    return depths


def day_counts(first_day: str, last_day: str) -> dict[str, dict[str, int]]:
    """Decisions per day and action between two UTC dates: one Query (days x shards items)."""
    resp = _ddb().query(
        TableName=_table(),
        KeyConditionExpression="pk = :pk AND sk BETWEEN :a AND :b",
        ExpressionAttributeValues=values(
            {":pk": STATS, ":a": f"DAY#{first_day}#", ":b": f"DAY#{last_day}#~"}
        ),
    )
    days: dict[str, dict[str, int]] = {}
    for item in map(from_item, resp.get("Items", [])):
        day = str(item["sk"]).split("#")[1]
        counts = days.setdefault(day, dict.fromkeys(ACTIONS, 0))
        for action in ACTIONS:
            counts[action] += int(item.get(action, 0))
    return days


def batch_get(keys: Sequence[Mapping[str, str]], fields: Iterable[str]) -> list[dict[str, Any]]:
    """Items by key (any entity), only `fields` (plus the keys)."""
    return db.batch_get(_table(), keys, fields=fields)


CONTEXT_FIELDS = (
    "title",
    "url",
    "comment_id",
    "author_name",
    "body",
    "status",
    "created_at",
    *STATES,
)


def context(
    post_ids: Iterable[str], parent_ids: Iterable[str], email_hashes: Iterable[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """What a moderator reads beside a page of comments: their posts (title, URL), the
    comments they answer, and their authors' histories; one BatchGetItem per 100 keys.
    Returns three maps: by post id, by comment id, by email hash."""
    post_ids, parent_ids, email_hashes = list(post_ids), list(parent_ids), list(email_hashes)
    keys = (
        [post_key(p) for p in post_ids]
        + [comment_key(c) for c in parent_ids]
        + [author_key(h) for h in email_hashes]
    )
    found = {(str(i["pk"]), str(i["sk"])): i for i in batch_get(keys, CONTEXT_FIELDS)}

    def pick(key: Mapping[str, str]) -> dict[str, Any] | None:
        return found.get((key["pk"], key["sk"]))

    posts = {p: item for p in post_ids if (item := pick(post_key(p)))}
    parents = {c: item for c in parent_ids if (item := pick(comment_key(c)))}
    authors = {h: item for h in email_hashes if (item := pick(author_key(h)))}
    return posts, parents, authors


def comments_by_id(comment_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Whole comment items by id."""
    return db.batch_get(_table(), [comment_key(c) for c in comment_ids])


def reports(comment_id: str, limit: int) -> list[dict[str, Any]]:
    """A comment's reports: reason, note and time only (never the reader's hash)."""
    resp = _ddb().query(
        TableName=_table(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :r)",
        ExpressionAttributeValues=values({":pk": f"COMMENT#{comment_id}", ":r": "REPORT#"}),
        ProjectionExpression="#r, #n, #c",
        ExpressionAttributeNames={"#r": "reason", "#n": "note", "#c": "created_at"},
        Limit=limit,
    )
    return [from_item(i) for i in resp.get("Items", [])]


def audit_page(
    comment_id: str, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """A comment's audit records, oldest first; one Query."""
    condition = "pk = :pk AND begins_with(sk, :a)"
    vals: dict[str, Any] = {":pk": f"COMMENT#{comment_id}", ":a": "AUDIT#"}
    kwargs: dict[str, Any] = {}
    if after:
        kwargs["ExclusiveStartKey"] = to_item({"pk": f"COMMENT#{comment_id}", "sk": after})
    resp = _ddb().query(
        TableName=_table(),
        KeyConditionExpression=condition,
        ExpressionAttributeValues=values(vals),
        ConsistentRead=True,
        Limit=limit,
        **kwargs,
    )
    items = [from_item(i) for i in resp.get("Items", [])]
    more = "LastEvaluatedKey" in resp and items
    return items, (str(items[-1]["sk"]) if more else None)


def get_comment_state(comment_id: str) -> dict[str, Any] | None:
    """The comment's state, claim and version, without its text (a consistent read)."""
    names = {
        "#c": "comment_id",
        "#s": "status",
        "#v": "version",
        "#q": "gsi1pk",
        "#b": "claimed_by",
        "#n": "claimed_by_name",
        "#l": "lease_until",
    }
    resp = _ddb().get_item(
        TableName=_table(),
        Key=to_item(comment_key(comment_id)),
        ConsistentRead=True,
        ProjectionExpression=", ".join(names),
        ExpressionAttributeNames=names,
    )
    return from_item(resp["Item"]) if "Item" in resp else None


def forget_author(email_hash: str) -> None:
    """Erasure: the author's history goes with their comments."""
    _ddb().delete_item(TableName=_table(), Key=to_item(author_key(email_hash)))


def get_digest() -> dict[str, Any] | None:
    resp = _ddb().get_item(TableName=_table(), Key=to_item(DIGEST_KEY), ConsistentRead=True)
    return from_item(resp["Item"]) if "Item" in resp else None


def person_comment_ids(email_hash: str, limit: int) -> tuple[list[str], bool]:
    """Up to `limit` of one person's comment ids (the person index); whether more exist."""
    resp = _ddb().query(
        TableName=_table(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :c)",
        ExpressionAttributeValues=values({":pk": f"PERSON#{email_hash}", ":c": "COMMENT#"}),
        ProjectionExpression="sk",
        Limit=limit,
    )
    ids = [str(from_item(i)["sk"]).removeprefix("COMMENT#") for i in resp.get("Items", [])]
    return ids, "LastEvaluatedKey" in resp
