"""Puts guest comments in a running twin's pending queue, through the comments service
(what the Comments function runs), as if each came from its own reader: its own address
and email, so one reader's rate limits (10 an address, 5 an email) do not stop the run.

    python -m tests.browser.fill_queue http://127.0.0.1:3000 500 [post id] [tag]

The browser tests use it to prove the console with 500 comments waiting. It prints the
comment ids, one a line. It runs in its own process, with the functions' environment from
the twin's /_local/config (the test process keeps its own, for moto).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def main(argv: list[str]) -> int:
    url, count = argv[0].rstrip("/"), int(argv[1])
    post = argv[2] if len(argv) > 2 else "this-is-your-community-space"
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
        return result.comment_id

    # In order: the queue is oldest first, so the first printed is the first claimed.
    with ThreadPoolExecutor(max_workers=4) as pool:
        for comment_id in pool.map(one, range(count)):
            print(comment_id, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
