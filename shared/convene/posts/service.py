"""Posts: the use cases. Comments build on `get_post` (is there such a post, are its
comments open)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from convene.errors import Invalid, NotFound
from convene.posts import table
from convene.posts.models import POST_ID_PATTERN, Post, PostIn, PostView

_ID = re.compile(POST_ID_PATTERN)


def register_post(
    post_id: str, post: PostIn, *, organiser: str, now: datetime | None = None
) -> PostView:
    """Registers the post, or updates its title, address and whether comments are open."""
    if not _ID.fullmatch(post_id):
        raise Invalid("The post id is not valid.", fields={"post_id": "letters, digits, - and _"})
    item = table.upsert_post(
        post_id,
        title=post.title,
        url=str(post.url),
        comments_open=post.comments_open,
        organiser=organiser,
        now=now or datetime.now(UTC),
    )
    return PostView.of(Post.model_validate(item))


def get_stored_post(post_id: str) -> Post:
    item = table.get_post_item(post_id) if _ID.fullmatch(post_id) else None
    if item is None:
        raise NotFound("There is no such post.")
    return Post.model_validate(item)


def get_post(post_id: str) -> PostView:
    return PostView.of(get_stored_post(post_id))
