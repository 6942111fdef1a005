"""Posts in MainTable: pk POST#<id>, sk POST. The only module that knows these keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from convene import db
from convene.aws import table as aws_table
from convene.db import to_item, values
from convene.settings import get_settings
from convene.timefmt import utc_iso

POST_SK = "POST"


def _table() -> Any:
    return aws_table(get_settings().table_name)


def post_key(post_id: str) -> dict[str, str]:
    return {"pk": f"POST#{post_id}", "sk": POST_SK}


def upsert_post(
    post_id: str, *, title: str, url: str, comments_open: bool, organiser: str, now: datetime
) -> dict[str, Any]:
    """Creates the post or rewrites what organisers control, leaving whatever else the
    item carries (counts kept by comments) alone."""
    result = _table().update_item(
        Key=post_key(post_id),
        UpdateExpression=(
            "SET #entity = :entity, #id = :id, #title = :title, #url = :url,"
            " comments_open = :open, organiser = :organiser, updated_at = :now,"
            " created_at = if_not_exists(created_at, :now)"
        ),
        ExpressionAttributeNames={
            "#entity": "entity",
            "#id": "id",
            "#title": "title",
            "#url": "url",
        },
        ExpressionAttributeValues={
            ":entity": "post",
            ":id": post_id,
            ":title": title,
            ":url": url,
            ":open": comments_open,
            ":organiser": organiser,
            ":now": utc_iso(now),
        },
        ReturnValues="ALL_NEW",
    )
    item: dict[str, Any] = result["Attributes"]
    return item


def get_post_item(post_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = _table().get_item(Key=post_key(post_id)).get("Item")
    return item


# ---------------------------------------------------------------- for comments
# TransactWriteItems entries (typed form) that the comments capability adds to its own
# transactions, so a post's count moves with the comment that changes it.


def comments_open_check(post_id: str) -> dict[str, Any]:
    """Fails the transaction if the post is gone or its comments were closed meanwhile."""
    return {
        "ConditionCheck": {
            "TableName": get_settings().table_name,
            "Key": to_item(post_key(post_id)),
            "ConditionExpression": "attribute_exists(pk) AND comments_open = :yes",
            "ExpressionAttributeValues": values({":yes": True}),
        }
    }


def comment_count_update(post_id: str, delta: int, *, require_open: bool = False) -> dict[str, Any]:
    """Moves the post's count of published comments by `delta` (erasing or hiding a comment
    may happen after comments close, so only a new comment requires them open)."""
    condition = "attribute_exists(pk)"
    vals: dict[str, Any] = {":d": delta}
    if require_open:
        condition += " AND comments_open = :yes"
        vals[":yes"] = True
    return {
        "Update": {
            "TableName": get_settings().table_name,
            "Key": to_item(post_key(post_id)),
            "UpdateExpression": "ADD comment_count :d",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values(vals),
        }
    }


def comment_counts(post_ids: list[str]) -> dict[str, int]:
    """Published-comment counts for up to 100 posts in one BatchGetItem (a few more calls
    only if DynamoDB hands keys back unprocessed). Unknown posts count 0."""
    counts = dict.fromkeys(post_ids, 0)
    found = db.batch_get(
        get_settings().table_name, [post_key(p) for p in counts], fields=["comment_count"]
    )
    for item in found:
        counts[str(item["pk"]).removeprefix("POST#")] = int(item.get("comment_count", 0))
    return counts
