"""Puts guest comments in a running twin's pending queue, through the comments service
(what the Comments function runs), as if each came from its own reader: its own address
and email, so one reader's rate limits (10 an address, 5 an email) do not stop the run.

    python -m tests.browser.fill_queue http://127.0.0.1:3000 500 [post id] [tag] [--approve]

The browser tests use it to prove the console with 500 comments waiting, and (with
--approve, each then approved by a moderator through the same service) a post with more
comments than one page. It prints the comment ids, one a line. It runs in its own
process, with the functions' environment from the twin's /_local/config (the test
process keeps its own, for moto).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.integration.twin import Twin

ROOT = Path(__file__).resolve().parents[2]
POST = "this-is-your-community-space"  # the seeded blog post


def main(argv: list[str]) -> int:
    approve = "--approve" in argv
    argv = [a for a in argv if a != "--approve"]
    url, count = argv[0].rstrip("/"), int(argv[1])
    post = argv[2] if len(argv) > 2 else POST
    tag = argv[3] if len(argv) > 3 else "queue"
    with urllib.request.urlopen(f"{url}/_local/config", timeout=30) as answer:
        config = json.load(answer)
    os.environ.update(config["environment"])
    from convene.comments import service
    from convene.comments.models import CommentIn

    def one(i: int) -> str:
        result = service.submit_comment(
            post,
            CommentIn(
                name=f"Reader {i + 1}",
                email=f"reader-{tag}-{i + 1}@example.org",
                body=f"Comment {i + 1} of {count} ({tag}): what a useful workshop.",
            ),
            member=None,
            source_ip=f"198.51.{100 + i // 250}.{i % 250 + 1}",
        )
        if approve and result.status == "pending":
            service.apply_decision(
                result.comment_id, "approve", expected_version=1, moderator="fill-queue"
            )
        return result.comment_id

    # In order: the queue is oldest first, so the first printed is the first claimed.
    # Approvals one at a time: each one adds to the same post's count.
    with ThreadPoolExecutor(max_workers=1 if approve else 4) as pool:
        for comment_id in pool.map(one, range(count)):
            print(comment_id, flush=True)
    return 0


def fill_queue(
    twin: Twin, count: int, tag: str, *, post: str = POST, approve: bool = False
) -> list[str]:
    """`count` guest comments on `post`, each from its own reader (main() above, in a
    process of its own): waiting in the pending queue, or with approve=True published.
    Returns their ids, oldest first."""
    from tests.integration.twin import twin_environment

    done = subprocess.run(
        [sys.executable, "-m", "tests.browser.fill_queue", twin.base_url, str(count), post, tag]
        + (["--approve"] if approve else []),
        cwd=ROOT,
        env={**twin_environment(), "PYTHONPATH": f"{ROOT / 'shared'}:{ROOT}"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.split()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
