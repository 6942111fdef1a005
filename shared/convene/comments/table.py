"""Comments in MainTable: the only module that knows their key shapes and expressions.

See docs/tables.md ("Comments") for the item shapes. In short:

    COMMENT#<id> / COMMENT               the comment (status, version, raw and HTML text)
    COMMENT#<id> / REPORT#<reader hash>  one reader's report (one per reader per comment)
    COMMENT#<id> / AUDIT#<at>#<version>  one moderation decision
    PERSON#<email hash> / COMMENT#<id>   a person's comments, for export and erasure
    MEMBER#<sub> / COMMENT_STATS         what the trust rule reads
    RATE#<email|ip>#<hash> / WINDOW#<t>  a rate-limit counter (TTL)
    DUPLICATE#<hash> / DUPLICATE         same body from the same email (TTL)
    BLOCKS / EMAIL#<hash> | DOMAIN#<d> | WORD#<w>   the block list

    gsi1: MODQ#pending | MODQ#reported | MODQ#spam  ->  <queued at>#<id>   (sparse, oldest first)
    gsi2: COMMENTS#<post id>  ->  <thread key>#0 | <thread key>#1#<at>#<id>  (published only)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from convene.aws import client
from convene.db import from_item, to_item, values
from convene.settings import get_settings

COMMENT = "COMMENT"
QUEUES = ("pending", "reported", "spam")

# What a public read fetches: never the email, its hash, the raw text or moderation fields.
PUBLIC_FIELDS = (
    "comment_id",
    "post_id",
    "parent_id",
    "attach_to",
    "depth",
    "author_name",
    "by_member",
    "body_html",
    "created_at",
    "thread_key",
    "gsi2sk",
)


def _table() -> str:
    return get_settings().table_name


def _ddb() -> Any:
    return client("dynamodb")


# ---------------------------------------------------------------- keys


def comment_key(comment_id: str) -> dict[str, str]:
    return {"pk": f"COMMENT#{comment_id}", "sk": COMMENT}


def person_key(email_hash: str, comment_id: str) -> dict[str, str]:
    return {"pk": f"PERSON#{email_hash}", "sk": f"COMMENT#{comment_id}"}


def member_key(sub: str) -> dict[str, str]:
    return {"pk": f"MEMBER#{sub}", "sk": "COMMENT_STATS"}


def block_key(kind: str, value: str) -> dict[str, str]:
    return {"pk": "BLOCKS", "sk": f"{kind.upper()}#{value}"}


def queue_keys(queue: str, queued_at: str, comment_id: str) -> dict[str, str]:
    return {"gsi1pk": f"MODQ#{queue}", "gsi1sk": f"{queued_at}#{comment_id}"}


def visible_keys(
    post_id: str, thread_key: str, sort_at: str, comment_id: str, *, root: bool
) -> dict[str, str]:
    """A thread's comments sort together: the top-level comment first, then its replies
    oldest first. The thread key is "<top-level comment's time>#<its id>"."""
    suffix = "0" if root else f"1#{sort_at}#{comment_id}"
    return {"gsi2pk": f"COMMENTS#{post_id}", "gsi2sk": f"{thread_key}#{suffix}"}


def after_thread(thread_key: str) -> str:
    """A gsi2 sort key greater than every comment of the thread."""
    return f"{thread_key}#2"


# ---------------------------------------------------------------- reads


def _get(key: Mapping[str, str], consistent: bool = True) -> dict[str, Any] | None:
    resp = _ddb().get_item(TableName=_table(), Key=to_item(key), ConsistentRead=consistent)
    return from_item(resp["Item"]) if "Item" in resp else None


def get_comment(comment_id: str) -> dict[str, Any] | None:
    return _get(comment_key(comment_id))


def get_member_stats(sub: str) -> dict[str, Any] | None:
    return _get(member_key(sub))


def published_page(
    post_id: str, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """Published comments of a post in thread order, from after a sort key; one Query.
    Returns the items and whether more remain beyond them."""
    names = {f"#f{i}": f for i, f in enumerate(PUBLIC_FIELDS)}
    condition = "gsi2pk = :pk"
    vals: dict[str, Any] = {":pk": f"COMMENTS#{post_id}"}
    if after:
        condition += " AND gsi2sk > :after"
        vals[":after"] = after
    resp = _ddb().query(
        TableName=_table(),
        IndexName="gsi2",
        KeyConditionExpression=condition,
        ExpressionAttributeValues=values(vals),
        ProjectionExpression=", ".join(names),
        ExpressionAttributeNames=names,
        Limit=limit,
    )
    return [from_item(i) for i in resp.get("Items", [])], "LastEvaluatedKey" in resp


def queue_page(
    queue: str, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Comment ids waiting in a moderation queue, oldest first; one Query. The index holds
    every attribute, so moderation reads the whole comment from here."""
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
        Limit=limit,
    )
    items = [from_item(i) for i in resp.get("Items", [])]
    more = "LastEvaluatedKey" in resp and items
    return items, (items[-1]["gsi1sk"] if more else None)


def list_blocks(max_pages: int = 10) -> list[dict[str, Any]]:
    """The whole block list (one partition): a Query per 1 MB, bounded."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": values({":pk": "BLOCKS"}),
    }
    for _ in range(max_pages):
        resp = _ddb().query(**kwargs)
        items.extend(from_item(i) for i in resp.get("Items", []))
        if "LastEvaluatedKey" not in resp:
            break
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    return items


def person_comment_ids(email_hash: str) -> list[str]:
    """The ids of one person's comments (export and erasure; not a request path for readers)."""
    ids: list[str] = []
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :c)",
        "ExpressionAttributeValues": values({":pk": f"PERSON#{email_hash}", ":c": "COMMENT#"}),
    }
    while True:
        resp = _ddb().query(**kwargs)
        ids.extend(from_item(i)["comment_id"] for i in resp.get("Items", []))
        if "LastEvaluatedKey" not in resp:
            return ids
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def report_keys(comment_id: str) -> list[dict[str, str]]:
    keys: list[dict[str, str]] = []
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :r)",
        "ExpressionAttributeValues": values({":pk": f"COMMENT#{comment_id}", ":r": "REPORT#"}),
        "ProjectionExpression": "pk, sk",
    }
    while True:
        resp = _ddb().query(**kwargs)
        keys.extend(
            {"pk": from_item(i)["pk"], "sk": from_item(i)["sk"]} for i in resp.get("Items", [])
        )
        if "LastEvaluatedKey" not in resp:
            return keys
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


# ---------------------------------------------------------------- transaction items


def put(
    item: Mapping[str, Any], condition: str | None = None, vals: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"TableName": _table(), "Item": to_item(item)}
    if condition:
        entry["ConditionExpression"] = condition
    if vals:
        entry["ExpressionAttributeValues"] = values(vals)
    return {"Put": entry}


def update(
    key: Mapping[str, str],
    expression: str,
    vals: Mapping[str, Any] | None = None,
    *,
    condition: str | None = None,
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "TableName": _table(),
        "Key": to_item(key),
        "UpdateExpression": expression,
    }
    if condition:
        entry["ConditionExpression"] = condition
    if vals:
        entry["ExpressionAttributeValues"] = values(vals)
    if names:
        entry["ExpressionAttributeNames"] = dict(names)
    return {"Update": entry}


def delete(
    key: Mapping[str, str], condition: str | None = None, vals: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"TableName": _table(), "Key": to_item(key)}
    if condition:
        entry["ConditionExpression"] = condition
    if vals:
        entry["ExpressionAttributeValues"] = values(vals)
    return {"Delete": entry}


def delete_comment(comment_id: str, *, expected_version: int) -> dict[str, Any]:
    entry = delete(comment_key(comment_id), "#v = :v", {":v": expected_version})
    entry["Delete"]["ExpressionAttributeNames"] = {"#v": "version"}
    return entry


def new_comment(item: Mapping[str, Any]) -> dict[str, Any]:
    return put(
        {**comment_key(item["comment_id"]), "entity": "comment", **item}, "attribute_not_exists(pk)"
    )


def person_entry(
    email_hash: str,
    comment_id: str,
    post_id: str,
    created_at: str,
    *,
    expires_at: int | None = None,
) -> dict[str, Any]:
    """The person's index entry; it expires with the comment when that is spam."""
    return put(
        {
            **person_key(email_hash, comment_id),
            "entity": "person_comment",
            "comment_id": comment_id,
            "post_id": post_id,
            "created_at": created_at,
            "expires_at": expires_at,
        }
    )


def person_entry_expiry(email_hash: str, comment_id: str, expires_at: int | None) -> dict[str, Any]:
    """The person's index entry follows its comment in or out of spam: it expires with it,
    or is kept once the comment is taken out of spam."""
    key, kept = person_key(email_hash, comment_id), "attribute_exists(pk)"
    if expires_at is None:
        return update(key, "REMOVE expires_at", condition=kept)
    return update(key, "SET expires_at = :exp", {":exp": expires_at}, condition=kept)


def rate_count(
    kind: str, value_hash: str, window_start: int, expires_at: int, limit: int
) -> dict[str, Any]:
    """One more submission in this window, refused once the window holds `limit`."""
    return update(
        {"pk": f"RATE#{kind}#{value_hash}", "sk": f"WINDOW#{window_start}"},
        "ADD n :one SET expires_at = :exp, #e = :e",
        {":one": 1, ":exp": expires_at, ":limit": limit, ":e": "comment_rate_counter"},
        condition="attribute_not_exists(n) OR n < :limit",
        names={"#e": "entity"},
    )


def duplicate_guard(body_hash: str, now_epoch: int, expires_at: int) -> dict[str, Any]:
    """Refused while an unexpired guard for the same email and body exists (TTL deletes
    late, so the condition reads expires_at rather than trusting the item to be gone)."""
    return put(
        {
            "pk": f"DUPLICATE#{body_hash}",
            "sk": "DUPLICATE",
            "entity": "comment_duplicate_guard",
            "expires_at": expires_at,
        },
        "attribute_not_exists(pk) OR expires_at <= :now",
        {":now": now_epoch},
    )


def reply_counted(parent_id: str, post_id: str, *, published: bool = True) -> dict[str, Any]:
    """The parent gains a reply; it must still be published, on the same post. A reply
    caught as spam at submission never counted: when a moderator approves it, it counts
    with `published=False`, on a parent that need only still exist."""
    if not published:
        return update(
            comment_key(parent_id),
            "ADD reply_count :one",
            {":one": 1},
            condition="attribute_exists(pk)",
        )
    return update(
        comment_key(parent_id),
        "ADD reply_count :one",
        {":one": 1, ":approved": "approved", ":post": post_id, ":no": False},
        condition="#s = :approved AND #h = :no AND post_id = :post",
        names={"#s": "status", "#h": "hidden"},
    )


def member_stats(sub: str, *, approved: int = 0, rejected_at: str | None = None) -> dict[str, Any]:
    parts = ["SET #t = :t"]
    vals: dict[str, Any] = {":t": "member_comment_stats"}  # the trust rule's record
    if rejected_at:
        parts.append("last_rejected_at = :r")
        vals[":r"] = rejected_at
    expression = ", ".join(parts)
    if approved:
        expression += " ADD approved :a"
        vals[":a"] = approved
    return update(member_key(sub), expression, vals, names={"#t": "entity"})


def report_entry(comment_id: str, reader_hash: str, item: Mapping[str, Any]) -> dict[str, Any]:
    return put(
        {
            "pk": f"COMMENT#{comment_id}",
            "sk": f"REPORT#{reader_hash}",
            "entity": "comment_report",
            **item,
        },
        "attribute_not_exists(pk)",
    )


def report_counted(
    comment_id: str, *, seen: int, count: int, queued_at: str, hide: bool
) -> dict[str, Any]:
    """The comment joins the reported queue (keeping its first place there) and, at the
    threshold, leaves the public listing until a moderator decides."""
    queue = queue_keys("reported", queued_at, comment_id)
    expression = "SET report_count = :count, gsi1pk = :q, gsi1sk = if_not_exists(gsi1sk, :qsk)"
    if hide:
        expression += ", #h = :yes REMOVE gsi2pk, gsi2sk"
    vals: dict[str, Any] = {
        ":count": count,
        ":q": queue["gsi1pk"],
        ":qsk": queue["gsi1sk"],
        ":seen": seen,
        ":approved": "approved",
        ":no": False,
    }
    if hide:
        vals[":yes"] = True
    return update(
        comment_key(comment_id),
        expression,
        vals,
        condition="#s = :approved AND #h = :no AND report_count = :seen",
        names={"#s": "status", "#h": "hidden"},
    )


@dataclasses.dataclass(frozen=True)
class Guard:
    """More a decision's comment update requires, from its caller (moderation's claim
    check): `condition` is ANDed to the version check, `values` are its placeholders, and
    `removes` are attributes the decision clears."""

    condition: str
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    removes: tuple[str, ...] = ()


def decision(
    comment_id: str,
    *,
    expected_version: int,
    status: str,
    hidden: bool,
    sets: Mapping[str, Any],
    removes: Iterable[str],
    guard: Guard | None = None,
) -> dict[str, Any]:
    """Change a comment's state, guarded by the state the caller saw (status, hidden and
    version); the version moves on, so a second decision on the same view fails."""
    names = {"#s": "status", "#v": "version", "#h": "hidden"}
    vals: dict[str, Any] = {
        ":seen_v": expected_version,
        ":seen_s": status,
        ":seen_h": hidden,
        ":one": 1,
    }
    parts = ["#v = #v + :one"]
    for i, (field, value) in enumerate(sets.items()):
        names[f"#a{i}"] = field
        vals[f":a{i}"] = value
        parts.append(f"#a{i} = :a{i}")
    expression = "SET " + ", ".join(parts)
    drop = [f for f in removes if f not in sets]
    if drop:
        expression += " REMOVE " + ", ".join(drop)
    condition = "#v = :seen_v AND #s = :seen_s AND #h = :seen_h"
    if guard is not None:
        condition += f" AND ({guard.condition})"
        vals.update(guard.values)
    return update(comment_key(comment_id), expression, vals, condition=condition, names=names)


def audit_entry(
    comment_id: str, at_sort: str, version: int, item: Mapping[str, Any]
) -> dict[str, Any]:
    return put(
        {
            "pk": f"COMMENT#{comment_id}",
            "sk": f"AUDIT#{at_sort}#{version:06d}",
            "entity": "comment_audit",
            **item,
        },
        "attribute_not_exists(pk)",
    )


def block_entry(kind: str, key_value: str, item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "pk": "BLOCKS",
        "sk": block_key(kind, key_value)["sk"],
        "entity": "comment_block",
        **item,
    }


def put_block(item: Mapping[str, Any]) -> None:
    _ddb().put_item(TableName=_table(), Item=to_item(item))


def delete_block(kind: str, key_value: str) -> bool:
    resp = _ddb().delete_item(
        TableName=_table(), Key=to_item(block_key(kind, key_value)), ReturnValues="ALL_OLD"
    )
    return "Attributes" in resp


def keys_of(items: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    return [{"pk": i["pk"], "sk": i["sk"]} for i in items]
