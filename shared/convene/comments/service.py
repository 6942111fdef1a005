"""Comments: the use cases, from a reader's submission to a moderator's decision.

    submit_comment   a reader comments (defences, trust rule, one transaction)
    list_comments    published comments of a post, threaded, a page of threads at a time
    comment_counts   published counts for many posts (one BatchGetItem)
    report_comment   a reader flags a published comment; enough reports hide it
    apply_decision   a moderator approves, rejects or marks spam (moderation calls this)
    list_queue       the pending, reported or spam queue, oldest first (moderation)
    add_block, remove_block, list_blocks   the block list (moderation's routes call these)
    export_person, erase_person            personal-data requests, by email

Every state change is one DynamoDB transaction with its conditions; every email it causes
is an outbox Put in that same transaction.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets as pysecrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from convene import secrets
from convene.auth import Caller
from convene.comments import defences, render, table
from convene.comments.models import (
    ID_PATTERN,
    Action,
    BlockIn,
    BlockKind,
    BlockView,
    CommentCounts,
    CommentIn,
    CommentPage,
    CommentView,
    ModeratedComment,
    PolicyView,
    QueuePage,
    ReportIn,
    ReportResult,
    SubmitResult,
)
from convene.comments.policy import get_config
from convene.db import TransactionCancelled, transact_write
from convene.email.outbox import OutboxMessage
from convene.email.outbox import put as outbox_put
from convene.errors import Conflict, Gone, Invalid, NotFound, TooManyRequests
from convene.moderation import table as moderation  # queue and history counters
from convene.posts import service as posts
from convene.posts import table as posts_table
from convene.posts.models import POST_ID_PATTERN, Post
from convene.settings import get_settings
from convene.timefmt import utc_iso

logger = Logger(child=True)
_ID = re.compile(ID_PATTERN)
_POST_ID = re.compile(POST_ID_PATTERN)
_DOMAIN = re.compile(r"^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_CURSOR = re.compile(r"^[0-9T:.Z-]+#[A-Za-z0-9_-]+#[0-9A-Za-z#:._-]*$")
REMOVED = "[removed]"
EMAIL_HASH = "address"  # the keyed-hash purpose every capability uses for an email


def clock() -> datetime:
    """The time comments are stamped and rate windows measured by (tests may hold it)."""
    return datetime.now(UTC)


def _sort_time(now: datetime) -> str:
    """Sortable to the millisecond, so two comments in one second keep their order."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _new_id() -> str:
    return pysecrets.token_hex(12)


def _email_hash(email: str) -> str:
    return secrets.keyed_hash(defences.normalise_email(email), EMAIL_HASH)


def _visible(item: Mapping[str, Any] | None) -> bool:
    return item is not None and item["status"] == "approved" and not item.get("hidden")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _audit(
    comment_id: str,
    now: datetime,
    version: int,
    *,
    action: str,
    from_status: str | None,
    to_status: str,
    moderator: str | None = None,
    moderator_name: str | None = None,
    reason_code: str | None = None,
    note: str | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    """One line of the comment's history; `moderator` is None for what the system did."""
    return table.audit_entry(
        comment_id,
        _sort_time(now),
        version,
        {
            "action": action,
            "from_status": from_status,
            "to_status": to_status,
            "moderator": moderator,
            "moderator_name": moderator_name,
            "reason_code": reason_code,
            "note": note,
            "detail": detail,
            "at": utc_iso(now),
        },
    )


# ---------------------------------------------------------------- policy


def get_policy() -> PolicyView:
    cfg = get_config()
    return PolicyView(
        title=cfg.policy.title,
        text=cfg.policy.text,
        reason_codes=list(cfg.policy.reason_codes),
        max_links=cfg.max_links,
    )


# ---------------------------------------------------------------- where a form post returns


def _on_site(url: str) -> str:
    """The post's page if it is on the community's site (SITE_URL), else the site's home
    page: no redirect or emailed link ever points elsewhere."""
    site = get_settings().site_url.rstrip("/")
    return url if urlsplit(url)[:2] == urlsplit(site)[:2] else f"{site}/"


def return_url(post_id: str, params: Mapping[str, str], fragment: str = "comments") -> str:
    """Where a form post returns (303): the post's page, with the outcome in the query."""
    try:
        url = _on_site(posts.get_post(post_id).url)
    except NotFound:
        url = _on_site("")
    joiner = "&" if urlsplit(url).query else "?"
    return f"{url}{joiner}{urlencode(params)}#{fragment}"


# ---------------------------------------------------------------- submitting


@dataclass(frozen=True)
class _Author:
    name: str
    email: str
    member_sub: str | None


def _author(comment: CommentIn, member: Caller | None) -> _Author:
    # A member's name and address come from the token; the form's are ignored.
    name = (member.name if member else None) or comment.name
    email = (member.email if member else None) or comment.email
    missing = {}
    if not name:
        missing["name"] = (
            "Field required" if member is None else "Field required (your account has no name)"
        )
    if not email:
        missing["email"] = "Field required"
    if missing:
        raise Invalid("Some fields need attention.", fields=missing)
    assert name and email
    if member is not None and "@" in name:
        name = "Member"
    return _Author(name=name, email=email, member_sub=member.sub if member else None)


def _open_post(post_id: str) -> Post:
    post = posts.get_stored_post(post_id)
    if not post.comments_open:
        raise Gone("Comments on this post are closed.", code="comments_closed")
    return post


def _parent(post_id: str, parent_id: str) -> dict[str, Any]:
    parent = table.get_comment(parent_id)
    if parent is None or not _visible(parent) or parent["post_id"] != post_id:
        raise Invalid(
            "You can reply only to a published comment on this post.",
            fields={"parent_id": "is not a published comment on this post"},
        )
    return parent


def _blocks() -> defences.Blocks:
    emails: set[str] = set()
    domains: set[str] = set()
    words: set[str] = set()
    for item in table.list_blocks():
        kind, _, value = str(item["sk"]).partition("#")
        {"EMAIL": emails, "DOMAIN": domains, "WORD": words}.get(kind, set()).add(value)
    return defences.Blocks(frozenset(emails), frozenset(domains), frozenset(words))


def _member_record(sub: str) -> defences.MemberRecord:
    item = table.get_member_stats(sub) or {}
    return defences.MemberRecord(
        approved=int(item.get("approved", 0)), last_rejected_at=item.get("last_rejected_at")
    )


def _new_comment(
    post_id: str,
    comment: CommentIn,
    author: _Author,
    parent: Mapping[str, Any] | None,
    email_hash: str,
    status: str,
    verdict: defences.Verdict,
    now: datetime,
) -> dict[str, Any]:
    """The comment item: where it sits in its thread, which queue or listing it joins."""
    cfg = get_config()
    comment_id = _new_id()
    sort_at, created_at = _sort_time(now), utc_iso(now)
    max_depth = cfg.threading.max_depth
    if parent is None:
        depth, attach_to, thread_key = 1, None, f"{sort_at}#{comment_id}"
    else:
        # Deeper replies attach beside their parent, at the deepest level shown.
        parent_depth = int(parent["depth"])
        depth = min(parent_depth + 1, max_depth)
        attach_to = parent["comment_id"] if parent_depth < max_depth else parent.get("attach_to")
        thread_key = parent["thread_key"]
    item: dict[str, Any] = {
        "comment_id": comment_id,
        "post_id": post_id,
        "parent_id": comment.parent_id,
        "attach_to": attach_to,
        "thread_key": thread_key,
        "depth": depth,
        "author_name": author.name,
        "author_email": author.email,
        "email_hash": email_hash,
        "member_sub": author.member_sub,
        "by_member": author.member_sub is not None,
        "body": comment.body,
        "body_html": render.to_html(comment.body),
        "status": status,
        "version": 1,
        "flags": list(verdict.flags),
        "spam_reason": verdict.spam_reason,
        "notify": comment.notify,
        "report_count": 0,
        "reply_count": 0,
        "hidden": False,
        "created_at": created_at,
        "sort_at": sort_at,
    }
    if status == "pending":
        item.update(table.queue_keys("pending", sort_at, comment_id), queued_at=created_at)
    elif status == "spam":
        item.update(
            table.queue_keys("spam", sort_at, comment_id),
            queued_at=created_at,
            expires_at=_epoch(now + timedelta(days=cfg.spam_retain_days)),  # spam goes
        )
    else:
        item.update(
            table.visible_keys(post_id, thread_key, sort_at, comment_id, root=parent is None),
            published_at=created_at,
        )
    return item


def submit_comment(
    post_id: str,
    comment: CommentIn,
    *,
    member: Caller | None,
    source_ip: str | None,
    now: datetime | None = None,
) -> SubmitResult:
    """A reader's comment: 404 unknown post, 410 closed, 422 bad fields, 429 too many,
    409 the same text again. A honeypot hit or a blocked email, domain or word is stored
    as spam and answered like any other comment."""
    cfg = get_config()
    now = now or clock()
    post = _open_post(post_id)
    author = _author(comment, member)
    parent = _parent(post_id, comment.parent_id) if comment.parent_id else None
    email_hash = _email_hash(author.email)

    verdict = defences.judge(
        website=comment.website,
        body=comment.body,
        name=author.name,
        email_hash=email_hash,
        domain=defences.email_domain(author.email),
        blocks=defences.Blocks() if comment.website else _blocks(),  # a bot needs no lookup
        max_links=cfg.max_links,
    )
    if verdict.spam:
        status = "spam"
    elif verdict.hold or author.member_sub is None:
        status = "pending"  # guests always wait: their address is not verified
    elif defences.trusted(_member_record(author.member_sub), now=now, rule=cfg.trust):
        status = "approved"
    else:
        status = "pending"

    item = _new_comment(post_id, comment, author, parent, email_hash, status, verdict, now)
    comment_id, created_at = item["comment_id"], item["created_at"]
    expires_at = item.get("expires_at")

    items: list[dict[str, Any]] = []
    checks: dict[str, tuple[int, Exception]] = {}

    def add(entry: dict[str, Any], name: str | None = None, error: Exception | None = None) -> None:
        if name and error:
            checks[name] = (len(items), error)
        items.append(entry)

    for kind, value in (("email", email_hash), ("ip", source_ip)):
        if not value:
            continue
        limit = getattr(cfg.rate_limits, kind)
        window = defences.rate_window(now, limit)
        value_hash = value if kind == "email" else secrets.keyed_hash(value, "ip")
        add(
            table.rate_count(kind, value_hash, window.start, window.expires_at, limit.max),
            kind,
            TooManyRequests(
                "You have posted a lot of comments; try again later.",
                headers={"Retry-After": str(window.retry_after)},
            ),
        )
    body_hash = secrets.keyed_hash(
        f"{defences.normalise_email(author.email)}\n{defences.normalise_body(comment.body)}",
        "comment-body",
    )
    add(
        table.duplicate_guard(body_hash, _epoch(now), _epoch(now) + cfg.duplicate_window_seconds),
        "duplicate",
        Conflict("You have just posted this comment.", code="duplicate_comment"),
    )
    add(table.new_comment(item))
    for entry in moderation.submitted(item):
        add(entry)
    reason = verdict.spam_reason or ",".join(verdict.flags) or None
    if status == "approved":
        reason = "trust_rule"
    add(
        _audit(
            comment_id,
            now,
            1,
            action="submitted",
            from_status=None,
            to_status=status,
            detail=reason,
        )
    )
    add(table.person_entry(email_hash, comment_id, post_id, created_at, expires_at=expires_at))
    add(
        posts_table.comment_count_update(post_id, 1, require_open=True)
        if status == "approved"
        else posts_table.comments_open_check(post_id),
        "post",
        Gone("Comments on this post are closed.", code="comments_closed"),
    )
    if parent is not None and status != "spam":
        add(
            table.reply_counted(parent["comment_id"], post_id),
            "parent",
            Invalid(
                "You can reply only to a published comment on this post.",
                fields={"parent_id": "is not a published comment on this post"},
            ),
        )
    if status == "approved":
        assert author.member_sub
        add(table.member_stats(author.member_sub, approved=1))
        for message in _publication_messages(item, parent, post):
            add(outbox_put(message, now=now))

    try:
        transact_write(items)
    except TransactionCancelled as exc:
        for index, error in checks.values():
            if exc.failed(index):
                raise error from None
        raise

    view = _view(item) if status == "approved" else None
    return SubmitResult(
        comment_id=comment_id,
        status="approved" if status == "approved" else "pending",
        comment=view,
    )


def _excerpt(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _publication_messages(
    comment: Mapping[str, Any], parent: Mapping[str, Any] | None, post: Post
) -> list[OutboxMessage]:
    """The emails a first publication causes: to the author and to the parent's author,
    each only if they asked; never to someone about their own reply."""
    page = _on_site(post.url)
    facts = {"title": post.title, "url": page}
    comment_url = f"{page}#comment-{comment['comment_id']}"
    wanted: list[dict[str, Any]] = []
    if comment.get("notify") and comment.get("author_email"):
        wanted.append(
            {
                "kind": "comment_published",
                "to": comment["author_email"],
                "data": {"post": facts, "comment_url": comment_url, "name": comment["author_name"]},
                "dedupe_key": f"COMMENT#{comment['comment_id']}#published",
            }
        )
    if (
        parent is not None
        and parent.get("notify")
        and parent.get("author_email")
        and parent.get("email_hash") != comment.get("email_hash")
    ):
        wanted.append(
            {
                "kind": "comment_reply",
                "to": parent["author_email"],
                "data": {
                    "post": facts,
                    "comment_url": comment_url,
                    "reply_author": comment["author_name"],
                    "reply_excerpt": _excerpt(comment["body"]),
                    "name": parent["author_name"],
                },
                "dedupe_key": f"COMMENT#{comment['comment_id']}#reply",
            }
        )
    messages = []
    for fields in wanted:
        try:
            messages.append(OutboxMessage(list_kind="replies", **fields))
        except ValidationError:
            # An address the outbox cannot send to (from an old comment or a token): the
            # comment is still published; only this email is skipped.
            logger.warning(
                "comment email skipped",
                extra={"kind": fields["kind"], "comment_id": comment["comment_id"]},
            )
    return messages


# ---------------------------------------------------------------- reading


def _view(item: Mapping[str, Any]) -> CommentView:
    return CommentView(
        comment_id=item["comment_id"],
        post_id=item["post_id"],
        parent_id=item.get("parent_id"),
        depth=int(item["depth"]),
        author_name=item["author_name"],
        by_member=bool(item.get("by_member")),
        body_html=item["body_html"],
        created_at=item["created_at"],
    )


def _encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not _CURSOR.match(text):
        raise Invalid("The cursor is not valid.", fields={"cursor": "is not valid"})
    return text


def _threads(items: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    groups: list[list[Mapping[str, Any]]] = []
    for item in items:
        if groups and groups[-1][0]["thread_key"] == item["thread_key"]:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def _thread_count(items: Sequence[Mapping[str, Any]]) -> int:
    """How many threads the items (in thread order) touch."""
    keys = [i["thread_key"] for i in items]
    return sum(1 for n, key in enumerate(keys) if n == 0 or key != keys[n - 1])


def _forest(items: Iterable[Mapping[str, Any]]) -> list[CommentView]:
    """Nests each reply under the comment it attaches to. One whose parent is not on the
    page (hidden, or on the page before) stays at the top, with its parent_id."""
    nodes: dict[str, CommentView] = {}
    top: list[CommentView] = []
    for item in items:
        node = _view(item)
        nodes[node.comment_id] = node
        parent = nodes.get(item.get("attach_to") or "")
        (parent.replies if parent else top).append(node)
    return top


READ_QUERIES = 3  # the most Queries one page makes


def _read_threads(
    post_id: str, after: str | None, limit: int, budget: int
) -> tuple[list[dict[str, Any]], bool]:
    """Comments in thread order from `after`, until the first `limit` threads are known
    whole (a comment of the thread after them has been read), the post's comments end, or
    `budget` comments have been read; and whether the post goes on past them.

    The reads follow the page, not the post: the first Query is sized to a page of
    threads without replies (`limit` + 1); a second, only when the page's threads are not
    all known whole, is sized to the threads left at 1.5 times the length the threads read
    so far had; a third, only if that fell short, reads the rest of the budget. So a page
    costs at most three Queries and `budget` comments, and what it reads follows the
    page's threads, not the number of comments on the post."""
    items: list[dict[str, Any]] = []
    more = True
    for attempt in range(READ_QUERIES):
        room = budget - len(items)
        if attempt == 0:
            want = limit + 1
        elif attempt == READ_QUERIES - 1 or not items:
            want = room
        else:
            # The threads still to start and the open one, at 1.5 times the length the
            # threads read so far had. Over 100 pages of threads of 1-5 comments (30 shown
            # a page): 1.5 read 47 comments in 2.02 Queries a page; 2 read 56 in 2.00;
            # 1 read 58 in 2.33 (the third Query reads the rest of the budget).
            threads = _thread_count(items)
            want = math.ceil(3 * (limit + 2 - threads) * len(items) / (2 * threads))
        batch, more = table.published_page(
            post_id, items[-1]["gsi2sk"] if items else after, max(1, min(want, room))
        )
        items.extend(batch)
        if not more or len(items) >= budget or _thread_count(items) > limit:
            break
    return items, more


def _cut(
    items: Sequence[Mapping[str, Any]], more: bool, limit: int, most: int
) -> tuple[list[Mapping[str, Any]], str | None]:
    """The page out of what was read: the first whole threads, at most `limit` of them and
    `most` comments; and the sort key the next page starts after (None: the last page).
    A thread known whole is one followed by another thread's comment, or by nothing."""
    groups = _threads(items)
    whole = groups[:-1] if more else groups
    page: list[list[Mapping[str, Any]]] = []
    shown = 0
    for group in whole[:limit]:
        if shown + len(group) > most:
            break
        page.append(group)
        shown += len(group)
    if page:
        flat = [i for g in page for i in g]
        if not more and len(page) == len(groups):
            return flat, None
        return flat, table.after_thread(page[-1][0]["thread_key"])
    # The first thread is longer than a page: show its start, continue inside it.
    start = groups[0][:most] if groups else []
    last = len(start) == len(items) and not more
    return start, (None if last or not start else start[-1]["gsi2sk"])


def list_comments(
    post_id: str, *, cursor: str | None = None, limit: int | None = None
) -> CommentPage:
    """A page of threads, oldest first: each top-level comment with all its replies. At
    most three Queries reading at most `pages.comments_per_query` + 1 comments, sized to
    the page rather than the post (`_read_threads`); a thread longer than
    `comments_per_query` is split across pages (the next page starts with the rest of it)."""
    cfg = get_config().pages
    limit = limit or cfg.threads_default
    if limit > cfg.threads_max:
        raise Invalid("Ask for fewer threads.", fields={"limit": f"at most {cfg.threads_max}"})
    post = posts.get_stored_post(post_id)
    after = _decode_cursor(cursor) if cursor else None
    most = cfg.comments_per_query
    items, more = _read_threads(post_id, after, limit, most + 1)
    page, next_after = _cut(items, more, limit, most)
    return CommentPage(
        post_id=post_id,
        count=post.comment_count,
        comments=_forest(page),
        next_cursor=_encode_cursor(next_after) if next_after else None,
    )


def comment_counts(post_ids: Sequence[str]) -> CommentCounts:
    wanted = list(dict.fromkeys(p.strip() for p in post_ids if p.strip()))
    most = get_config().counts.max_posts
    if not wanted:
        raise Invalid("Name at least one post.", fields={"post": "Field required"})
    if len(wanted) > most:
        raise Invalid("Too many posts in one call.", fields={"post": f"at most {most} posts"})
    bad = [p for p in wanted if not _POST_ID.match(p)]
    if bad:
        raise Invalid("Some post ids are not valid.", fields={"post": "letters, digits, - and _"})
    return CommentCounts(counts=posts_table.comment_counts(wanted))


# ---------------------------------------------------------------- reports


def report_comment(
    comment_id: str,
    report: ReportIn,
    *,
    member: Caller | None,
    source_ip: str | None,
    user_agent: str | None,
    now: datetime | None = None,
) -> ReportResult:
    """One report per reader (the member, or a keyed hash of address and browser). The
    comment joins the reported queue; at the threshold it is hidden until a decision."""
    cfg = get_config()
    now = now or clock()
    reader = f"member:{member.sub}" if member else f"guest:{source_ip or ''}|{user_agent or ''}"
    reader_hash = secrets.keyed_hash(reader, "reader")
    entry = {
        "comment_id": comment_id,
        "reason": report.reason,
        "note": report.note,
        "created_at": utc_iso(now),
        "expires_at": _epoch(now + timedelta(days=cfg.reports.retain_days)),
    }
    for _ in range(3):
        current = table.get_comment(comment_id) if _ID.match(comment_id) else None
        if current is None or not _visible(current):
            raise NotFound("There is no such comment.")
        seen = int(current.get("report_count", 0))
        hide = seen + 1 >= cfg.reports.hide_threshold
        items = [
            table.report_entry(comment_id, reader_hash, entry),
            table.report_counted(
                comment_id, seen=seen, count=seen + 1, queued_at=_sort_time(now), hide=hide
            ),
            *moderation.reported(comment_id, first=moderation.queue_of(current) != "reported"),
        ]
        if hide:
            items.append(posts_table.comment_count_update(current["post_id"], -1))
            items.append(
                _audit(
                    comment_id,
                    now,
                    int(current["version"]),
                    action="hidden",
                    from_status="approved",
                    to_status="approved",
                    detail=f"{seen + 1} reports",
                )
            )
        try:
            transact_write(items)
        except TransactionCancelled as exc:
            if exc.failed(0):
                raise Conflict(
                    "You have already reported this comment.", code="already_reported"
                ) from None
            if exc.failed(1):
                continue  # another report or a decision landed first: read again
            raise
        return ReportResult(comment_id=comment_id, post_id=current["post_id"])
    raise Conflict("The comment is changing; try again.", code="busy")


# ---------------------------------------------------------------- moderation


def moderated(item: Mapping[str, Any]) -> ModeratedComment:
    return ModeratedComment(
        comment_id=item["comment_id"],
        post_id=item["post_id"],
        parent_id=item.get("parent_id"),
        status=item["status"],
        version=int(item["version"]),
        author_name=item["author_name"],
        author_email=item.get("author_email"),
        by_member=bool(item.get("by_member")),
        body=item.get("body", ""),
        body_html=item["body_html"],
        flags=list(item.get("flags") or [])
        + ([item["spam_reason"]] if item.get("spam_reason") else []),
        report_count=int(item.get("report_count", 0)),
        hidden=bool(item.get("hidden")),
        created_at=item["created_at"],
        queued_at=item.get("queued_at"),
    )


def list_queue(queue: str, *, cursor: str | None = None, limit: int = 25) -> QueuePage:
    """A moderation queue (pending, reported, spam), oldest first; one Query."""
    if queue not in table.QUEUES:
        raise Invalid("Unknown queue.", fields={"queue": "pending, reported or spam"})
    after = None
    if cursor:
        try:
            after = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise Invalid("The cursor is not valid.", fields={"cursor": "is not valid"}) from None
    items, next_after = table.queue_page(queue, after, max(1, min(limit, 100)))
    return QueuePage(
        items=[moderated(i) for i in items],
        next_cursor=_encode_cursor(next_after) if next_after else None,
    )


_TARGET = {"approve": "approved", "reject": "rejected", "spam": "spam"}


def apply_decision(
    comment_id: str,
    action: Action,
    *,
    expected_version: int,
    moderator: str,
    reason_code: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
    extra_items: Sequence[Mapping[str, Any]] = (),
    guard: table.Guard | None = None,
    current: Mapping[str, Any] | None = None,
    moderator_name: str | None = None,
) -> ModeratedComment:
    """Approve, reject or mark spam, in one transaction guarded by the version (and state)
    the moderator saw: the comment, the post's count, the author's trust record, an audit
    record and, on a first publication, the emails. `extra_items` join the transaction
    (moderation's claim check); if one fails, TransactionCancelled is raised with the
    index of the failure offset by the entries before it (see the docs). `guard` adds to
    the comment's own condition (moderation's claim check); `current` is the comment as
    the caller just read it (consistently), which saves reading it again."""
    cfg = get_config()
    now = now or clock()
    if action not in _TARGET:
        raise Invalid("Unknown action.", fields={"action": "approve, reject or spam"})
    if action != "approve" and not reason_code:
        raise Invalid("Say why.", fields={"reason_code": "Field required"})
    if reason_code and reason_code not in cfg.reason_codes:
        raise Invalid("Unknown reason.", fields={"reason_code": "not a policy reason code"})
    if current is None:
        current = table.get_comment(comment_id) if _ID.match(comment_id) else None
    if current is None:
        raise NotFound("There is no such comment.")
    if int(current["version"]) != expected_version:
        raise Conflict("The comment changed since you loaded it; reload it.", code="stale")
    target = _TARGET[action]
    status, hidden = current["status"], bool(current.get("hidden"))
    reported = str(current.get("gsi1pk", "")) == "MODQ#reported"
    if target == status and not (target == "approved" and (hidden or reported)):
        raise Conflict("The comment is already in that state.", code="already_decided")

    at = utc_iso(now)
    sets: dict[str, Any] = {
        "status": target,
        "hidden": False,
        "decided_at": at,
        "decided_by": moderator,
    }
    removes = ["gsi1pk", "gsi1sk", "queued_at", "expires_at", "gsi2pk", "gsi2sk"]
    removes += list(guard.removes) if guard else []
    if reason_code:
        sets["reason_code"] = reason_code
    else:
        removes.append("reason_code")
    first_publication = target == "approved" and not current.get("published_at")
    if target == "approved":
        sets.update(
            table.visible_keys(
                current["post_id"],
                current["thread_key"],
                current["sort_at"],
                comment_id,
                root=not current.get("parent_id"),
            ),
            report_count=0,
            published_at=current.get("published_at") or at,
        )
    elif target == "spam":
        sets["expires_at"] = _epoch(now + timedelta(days=cfg.spam_retain_days))

    items: list[Mapping[str, Any]] = [
        table.decision(
            comment_id,
            expected_version=expected_version,
            status=status,
            hidden=hidden,
            sets=sets,
            removes=removes,
            guard=guard,
        )
    ]
    # Items that hold only if what the comment depends on is still there (the person's
    # index entry, a rescued reply's parent): an erasure racing the decision is a 409.
    dependants: list[int] = []
    email_hash = current.get("email_hash")
    if email_hash and (status == "spam") != (target == "spam"):
        # The person's index entry expires with its comment, and only then.
        dependants.append(len(items))
        items.append(
            table.person_entry_expiry(
                str(email_hash), comment_id, sets.get("expires_at") if target == "spam" else None
            )
        )
    delta = int(target == "approved") - int(_visible(current))
    if delta:
        items.append(posts_table.comment_count_update(current["post_id"], delta))
    sub = current.get("member_sub")
    if sub:
        approved_delta = int(target == "approved") - int(status == "approved")
        rejected_at = at if target in {"rejected", "spam"} else None
        if approved_delta or rejected_at:
            items.append(table.member_stats(sub, approved=approved_delta, rejected_at=rejected_at))
    items.append(
        _audit(
            comment_id,
            now,
            expected_version + 1,
            action=action,
            from_status=status,
            to_status=target,
            moderator=moderator,
            moderator_name=moderator_name,
            reason_code=reason_code,
            note=note,
        )
    )
    # The queue's depth, the day's decisions and the author's history (moderation's stats).
    items.extend(moderation.decided(current, action, target, now))
    if first_publication:
        post = posts.get_stored_post(current["post_id"])
        parent = table.get_comment(current["parent_id"]) if current.get("parent_id") else None
        if parent is not None and status == "spam" and not current.get("decided_at"):
            # Caught by the defences at submission, so its parent never counted it.
            dependants.append(len(items))
            items.append(
                table.reply_counted(str(parent["comment_id"]), current["post_id"], published=False)
            )
        items.extend(outbox_put(m, now=now) for m in _publication_messages(current, parent, post))
    items.extend(extra_items)
    try:
        transact_write(items)
    except TransactionCancelled as exc:
        if exc.failed(0):
            raise Conflict(
                "The comment changed since you loaded it; reload it.", code="stale"
            ) from None
        if any(exc.failed(i) for i in dependants):
            raise Conflict(
                "Something this comment depends on was removed meanwhile; try again.",
                code="changed_meanwhile",
            ) from None
        raise
    after = {k: v for k, v in {**current, **sets}.items() if k not in removes or k in sets}
    after["version"] = expected_version + 1
    return moderated(after)


# ---------------------------------------------------------------- blocks


def _block_value(kind: BlockKind, value: str) -> tuple[str, str]:
    """(stored key value, what moderators see)."""
    value = value.strip()
    if kind == "email":
        if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value):
            raise Invalid("Not an email address.", fields={"value": "is not an email address"})
        return _email_hash(value), defences.mask_email(value)
    if kind == "domain":
        domain = value.lower().lstrip("@").strip(".")
        if not _DOMAIN.match(domain):
            raise Invalid("Not a domain.", fields={"value": "is not a domain, e.g. spam.example"})
        return domain, domain
    word = " ".join(value.lower().split())
    if not 1 <= len(word) <= 60 or "#" in word:
        raise Invalid("Not a word.", fields={"value": "a word or phrase of at most 60 characters"})
    return word, word


def add_block(block: BlockIn, *, moderator: str, now: datetime | None = None) -> BlockView:
    """Blocks an email (stored as a keyed hash), a domain (and its subdomains) or a word.
    New comments that match go quietly to spam."""
    key_value, shown = _block_value(block.kind, block.value)
    at = utc_iso(now or clock())
    table.put_block(
        table.block_entry(
            block.kind,
            key_value,
            {"kind": block.kind, "shown": shown, "created_at": at, "created_by": moderator},
        )
    )
    return BlockView(kind=block.kind, value=shown, created_at=at, created_by=moderator)


def remove_block(kind: BlockKind, value: str) -> None:
    key_value, _ = _block_value(kind, value)
    if not table.delete_block(kind, key_value):
        raise NotFound("That is not blocked.")


def list_blocks() -> list[BlockView]:
    return [
        BlockView(
            kind=i["kind"],
            value=i["shown"],
            created_at=i["created_at"],
            created_by=i.get("created_by"),
        )
        for i in table.list_blocks()
    ]


# ---------------------------------------------------------------- personal data


def _person_comments(email: str) -> tuple[str, list[tuple[str, dict[str, Any] | None]]]:
    email_hash = _email_hash(email)
    ids = table.person_comment_ids(email_hash)
    return email_hash, [(cid, table.get_comment(cid)) for cid in ids]


def export_person(email: str) -> dict[str, Any]:
    """Everything the comments capability holds about one email address."""
    _, found = _person_comments(email)
    comments = [
        {
            "comment_id": item["comment_id"],
            "post_id": item["post_id"],
            "parent_id": item.get("parent_id"),
            "name": item["author_name"],
            "email": item.get("author_email"),
            "body": item.get("body", ""),
            "status": item["status"],
            "notify": bool(item.get("notify")),
            "by_member": bool(item.get("by_member")),
            "created_at": item["created_at"],
            "reason_code": item.get("reason_code"),
        }
        for _, item in found
        if item is not None
    ]
    return {"comments": comments}


def _erase_comment(email_hash: str, comment_id: str, now: datetime) -> str | None:
    """Erases one comment: "anonymised", "removed", or None if it was already gone. The
    change is conditional on the version read, so a decision landing meanwhile is seen."""
    index_entry = table.delete(table.person_key(email_hash, comment_id))
    for _ in range(3):
        item = table.get_comment(comment_id)
        if item is None:
            transact_write([index_entry])
            return None
        version = int(item["version"])
        if item["status"] == "approved" and int(item.get("reply_count", 0)) > 0:
            outcome = "anonymised"
            sets = {
                "author_name": REMOVED,
                "body": "",
                "body_html": render.REMOVED_HTML,
                "notify": False,
                "erased_at": utc_iso(now),
            }
            entries = [
                table.decision(
                    comment_id,
                    expected_version=version,
                    status=item["status"],
                    hidden=bool(item.get("hidden")),
                    sets=sets,
                    removes=["author_email", "email_hash", "member_sub"],
                ),
                index_entry,
            ]
        else:
            outcome = "removed"
            entries = [table.delete_comment(comment_id, expected_version=version), index_entry]
            if _visible(item):
                entries.append(posts_table.comment_count_update(item["post_id"], -1))
            entries += moderation.erased(item)  # it leaves its queue's count
            # Reports go too (TTL takes any beyond one transaction's room).
            entries += [table.delete(k) for k in table.report_keys(comment_id)][:80]
        entries.append(
            _audit(
                comment_id,
                now,
                version + 1,
                action="erased",
                from_status=item["status"],
                to_status=item["status"] if outcome == "anonymised" else "erased",
                detail=outcome,
            )
        )
        try:
            transact_write(entries)
        except TransactionCancelled as exc:
            if exc.failed(0):
                continue  # a decision or a report landed meanwhile: read again
            raise
        return outcome
    raise Conflict("The comment is changing; try again.", code="busy")


def erase_person(email: str, *, now: datetime | None = None) -> dict[str, int]:
    """Erases one person's comments. A published comment that has replies stays as
    "[removed]" so the conversation under it still reads; every other one goes, with its
    reports. Audit records stay (they hold no author data)."""
    now = now or clock()
    email_hash = _email_hash(email)
    outcomes = [
        _erase_comment(email_hash, cid, now) for cid in table.person_comment_ids(email_hash)
    ]
    moderation.forget_author(email_hash)  # their approved / rejected counts go too
    return {
        "comments_removed": outcomes.count("removed"),
        "comments_anonymised": outcomes.count("anonymised"),
    }
