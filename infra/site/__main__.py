"""python -m infra.site build --api URL --out DIR: the static site (see infra/site/build.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.site.api import ApiError
from infra.site.build import WEB, BuildError, build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.site", description="Convene's web pages, rendered from the API."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("build", help="write the static site into a directory")
    b.add_argument(
        "--api",
        required=True,
        help="the public API to read, e.g. http://127.0.0.1:3000 (make dev) or "
        "the stack's ApiUrl output",
    )
    b.add_argument("--out", required=True, type=Path, help="where the site goes")
    b.add_argument(
        "--public-api",
        default=None,
        help="the API's URL as browsers reach it (form actions, config.js); "
        "default: --api. '' when the site's host forwards the API's paths",
    )
    b.add_argument(
        "--event",
        action="append",
        default=[],
        metavar="ID",
        help="also publish this event's page (past events are not in GET /events)",
    )
    b.add_argument("--web", type=Path, default=WEB, help="the static files to copy (web/)")
    args = parser.parse_args(argv)
    try:
        report = build(
            args.api, args.out, public_api=args.public_api, events=tuple(args.event), web=args.web
        )
    except (BuildError, ApiError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {report.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
