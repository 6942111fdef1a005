"""The load run: a bounded mixed workload against a running twin, over HTTP, at a fixed
rate (open loop: requests start on schedule whether or not earlier ones have answered).

The mix is made of the scenarios' `mix` categories (browse, register, confirm, comment,
moderate). A category with no route in template.yaml yet is reported "not yet
implemented" and its share of the schedule is not sent. The run is bounded twice: a fixed
number of requests (rate x seconds) and a deadline.

What counts as an error: a 5xx, a transport failure, or an answer the scenario did not
expect. A 429 from a rate limit that applies to every request of the twin alike (every
request reaches the functions from 127.0.0.1) is reported on its own line.
"""

from __future__ import annotations

import dataclasses
import random
import re
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench.harness import percentile
from bench.scenarios import SCENARIOS, Context, Req, Scenario

WEIGHTS = {"browse": 0.70, "register": 0.12, "confirm": 0.08, "comment": 0.02, "moderate": 0.08}
# The comments' per-IP limit is 10 per 10 minutes and every twin request has one source IP.
CAPS = {"comment": 8}  # + 1 in the warm-up
TOKEN = re.compile(r"confirm\?token=([A-Za-z0-9_\-.~%]+)")


class LoadRun:
    def __init__(self, base_url: str, ctx: Context, served: set[str], headers: Any) -> None:
        self.base_url = base_url.rstrip("/")
        self.ctx = ctx
        self.served = served
        self.headers = headers  # role -> auth headers
        self.lock = threading.Lock()
        self.pending_emails: list[str] = []
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[str] = Counter()
        self.errors: list[str] = []
        self.rate_limited = 0
        self.dropped = 0
        self.service: list[float] = []
        self.deadline = float("inf")
        self.settle_s = 0.0
        self.local = threading.local()

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session  # type: ignore[no-any-return]

    def categories(self) -> dict[str, list[Scenario]]:
        out: dict[str, list[Scenario]] = {}
        for scenario in SCENARIOS.values():
            if scenario.mix and scenario.route in self.served:
                out.setdefault(scenario.mix, []).append(scenario)
        return out

    def _confirm_token(self) -> str | None:
        with self.lock:
            if not self.pending_emails:
                return None
            email = self.pending_emails.pop(0)
        for _ in range(20):
            mail = self.session().get(f"{self.base_url}/_local/mail", params={"to": email},
                                      timeout=30)
            for message in mail.json() if mail.status_code == 200 else []:
                m = TOKEN.search(f"{message.get('text') or ''} {message.get('html') or ''}")
                if m:
                    from urllib.parse import unquote

                    return unquote(m.group(1))
            time.sleep(0.25)
        return None

    def one(self, scenario: Scenario, due: float) -> None:
        """One request, due at `due` (monotonic): its latency counts from then, so a
        request that waited for a free worker is as slow as it felt (open loop)."""
        if time.monotonic() > self.deadline:
            with self.lock:
                self.dropped += 1
            return
        req: Req
        ctx = self.ctx
        if scenario.mix == "confirm":
            token = self._confirm_token()
            if token is None:
                with self.lock:
                    self.statuses[f"{scenario.route} skipped (no token yet)"] += 1
                return
            # The click is the request: the wait for the email to arrive is the stream's
            # (the email section measures that), not this route's latency.
            due = max(due, time.monotonic())
            # A context of this request's own: threads never swap tokens.
            ctx = dataclasses.replace(
                self.ctx, extra={**self.ctx.extra, "confirm_token": token, "confirm_tokens": []}
            )
        req = scenario.build(ctx)
        email = None
        if scenario.mix == "register" and req.body and '"email"' in req.body:
            import json

            email = json.loads(req.body).get("email")
        headers = {**req.headers, **(self.headers(scenario.role) if scenario.role else {})}
        started = time.monotonic()
        try:
            response = self.session().request(
                req.method, f"{self.base_url}{req.url()}", data=req.body,
                headers=headers, timeout=30, allow_redirects=False,
            )
        except requests.RequestException as exc:
            with self.lock:
                self.errors.append(f"{scenario.route}: {type(exc).__name__}")
            return
        finished = time.monotonic()
        seconds = finished - min(due, started)
        with self.lock:
            self.service.append(finished - started)
            self.latency[scenario.route].append(seconds)
            self.latency["all"].append(seconds)
            self.statuses[f"{scenario.route} {response.status_code}"] += 1
            if response.status_code == 429:
                self.rate_limited += 1
            elif response.status_code >= 500 or response.status_code >= 400:
                self.errors.append(f"{scenario.route}: {response.status_code} "
                                   f"{response.text[:120]}")
            if email and response.status_code < 300:
                self.pending_emails.append(email)

    def warm_up(self, categories: dict[str, list[Scenario]]) -> None:
        """One request per scenario first, not counted: the twin's functions start cold
        (a first request imports the handler), which is the cold-start figure's business,
        not the load run's."""
        for options in categories.values():
            for scenario in options:
                if scenario.mix != "confirm":
                    self.one(scenario, time.monotonic())
        # Start from a steady twin: the earlier sections leave a backlog of outbox emails
        # on the stream (thousands after the warm section), and the mail view parses each
        # sent message once, on its first poll. Neither belongs to this run's figures.
        started = time.monotonic()
        self.session().post(f"{self.base_url}/_local/drain", params={"timeout": 300},
                            timeout=330)
        self.session().get(f"{self.base_url}/_local/mail", params={"to": "nobody@example.org"},
                           timeout=300)
        self.settle_s = round(time.monotonic() - started, 1)
        self.latency.clear()
        self.statuses.clear()
        self.errors.clear()
        self.service.clear()
        self.rate_limited = 0

    def run(self, rate: float, seconds: float, seed: int = 20210722) -> dict[str, Any]:
        categories = self.categories()
        self.warm_up(categories)
        rng = random.Random(seed)
        total = int(rate * seconds)
        names = list(WEIGHTS)
        plan: list[Scenario | None] = []
        sent_per: Counter[str] = Counter()
        for _ in range(total):
            name = rng.choices(names, weights=[WEIGHTS[n] for n in names])[0]
            options = categories.get(name)
            if not options or sent_per[name] >= CAPS.get(name, total):
                plan.append(None)
                continue
            sent_per[name] += 1
            plan.append(rng.choice(options))
        started = time.monotonic()
        # Bounded in time too: what has not started 30 s after the last send is dropped
        # (and counted).
        self.deadline = started + seconds + 30
        with ThreadPoolExecutor(max_workers=32) as pool:
            for i, scenario in enumerate(plan):
                due = started + i / rate
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                if scenario is not None:
                    pool.submit(self.one, scenario, due)
        elapsed = time.monotonic() - started
        per_route = {
            route: {
                "requests": len(values),
                "p50_ms": round(percentile(values, 50) * 1000, 1),
                "p99_ms": round(percentile(values, 99) * 1000, 1),
            }
            for route, values in sorted(self.latency.items())
        }
        return {
            "rate_per_s": rate,
            "seconds": seconds,
            "elapsed_s": round(elapsed, 1),
            "planned": total,
            "sent": sum(len(v) for k, v in self.latency.items() if k != "all") + len(self.errors),
            "by_category": {
                n: (sent_per[n] if n in categories else "not yet implemented") for n in names
            },
            "p50_ms": per_route.get("all", {}).get("p50_ms"),
            "p99_ms": per_route.get("all", {}).get("p99_ms"),
            "service_p50_ms": round(percentile(self.service, 50) * 1000, 1),
            "service_p99_ms": round(percentile(self.service, 99) * 1000, 1),
            "dropped_after_deadline": self.dropped,
            "settle_s": self.settle_s,
            "errors": len(self.errors) + self.dropped,
            "error_samples": self.errors[:10],
            "rate_limited_429": self.rate_limited,
            "statuses": dict(sorted(self.statuses.items())),
            "per_route": per_route,
        }
