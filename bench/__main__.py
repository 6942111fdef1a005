"""`python -m bench` (`make bench`): every figure of issue 8, measured in one run.

    python -m bench [--sections cold,warm,capacity,scale,load,email,registrations,comments]
                    [--merge] [--cold-runs 7]
                    [--samples 30] [--scale-sizes 1000,100000] [--scale-budget 900]
                    [--load-rate 10] [--load-seconds 60] [--out bench]
    python -m bench --list        the scenario registry, and which routes exist yet

It starts its own twin (in memory, free ports on 127.0.0.1), measures, stops the twin, and
writes bench/results.json, bench/RESULTS.md and the charts (bench/*.png). Every figure is
a ratio of two things measured in this run, or a count; absolute times are shown beside
them only to read the ratios. Not part of `make test`.

The scale section measures its table sizes side by side: one set of the template's tables
per size in the twin's DynamoDB Local (own name prefix), each seeded like the twin and
filled to its size, then samples alternating between the sets request by request (1k,
100k, 1k, 100k...), so that a busy moment of a shared machine hits every size alike.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (str(ROOT / "shared"), str(ROOT)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import requests  # noqa: E402

from bench import report, warm_floor  # noqa: E402
from bench.routes import ApiRoute, api_routes  # noqa: E402
from bench.scenarios import SCENARIOS, Context, Req, Scenario  # noqa: E402


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the twin


@contextlib.contextmanager
def twin(work: Path) -> Iterator[dict[str, Any]]:
    from infra.local.dynamodb import free_port

    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("AWS_", "POWERTOOLS_", "CONVENE_"))
    }
    env.update({"PYTHONUNBUFFERED": "1", "CONVENE_FORBID_SCAN": "1"})
    log_file = open(work / "twin.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local", "up", "--in-memory", "--data-dir", str(work),
         "--gateway-port", str(port), "--dynamodb-port", str(free_port()),
         "--moto-port", str(free_port()), "--quiet"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log_file,
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the twin exited: {(work / 'twin.log').read_text()[-2000:]}")
            with contextlib.suppress(requests.RequestException):
                answer = requests.get(f"{url}/_local/config", timeout=2)
                if answer.status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the twin did not start in 240 s")
            time.sleep(0.5)
        config = dict(answer.json())
        config["log_path"] = str(work / "twin.log")
        yield config
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        log_file.close()


def context(config: dict[str, Any]) -> Context:
    from infra.local import seed

    url = config["api_url"]
    events = requests.get(f"{url}/events", timeout=60).json().get("items") or []
    ctx = Context(
        event_id=str(events[0]["id"]) if events else seed.PAST_EVENT_ID,
        post_id=seed.POST_ID,
        series_id=seed.SERIES_ID,
    )
    public = [e for e in events if e.get("audience") == "public"]
    if public:
        ctx.extra["public_event_id"] = str(public[0]["id"])
    return ctx


# ---------------------------------------------------------------- sections


def served_scenarios(routes: dict[str, ApiRoute]) -> tuple[list[Scenario], list[str]]:
    served = [s for s in SCENARIOS.values() if s.route in routes]
    pending = [s.route for s in SCENARIOS.values() if s.route not in routes]
    return served, pending


def prepare(harness: Any, routes: dict[str, ApiRoute], ctx: Context) -> None:
    """Ids some scenarios need: a draft event of the organiser's."""
    create = SCENARIOS.get("POST /admin/events")
    if create and create.route in routes:
        got = harness.invoke(routes[create.route], create.build(ctx), create.role)
        if got.status == 201:
            ctx.extra["draft_id"] = json.loads(got.body)["id"]


def ensure_tokens(harness: Any, routes: dict[str, ApiRoute], ctx: Context, n: int) -> None:
    """Confirmation tokens for the confirm scenario: guests register through the
    registrations service (outside any timing) and each token is read from the outbox
    item of its confirm-request email (bench.scenarios.confirm_token), so this works on
    whichever set of tables is in use, not only on the twin's own."""
    from bench.scenarios import confirm_token

    confirm = SCENARIOS.get("POST /registrations/confirm")
    if not (confirm and confirm.route in routes):
        return
    tokens: list[str] = ctx.extra.setdefault("confirm_tokens", [])
    made = 0
    while len(tokens) < n:
        tokens.append(confirm_token(ctx))
        made += 1
    if made:
        log(f"  {len(tokens)} confirmation token(s) ready ({made} guests registered)")


def runnable(harness: Any, routes: dict[str, ApiRoute], ctx: Context, scenario: Scenario,
             n: int) -> bool:
    if scenario.needs:
        ensure_tokens(harness, routes, ctx, n)
    return scenario.ready(ctx)


def warm(harness: Any, routes: dict[str, ApiRoute], ctx: Context, samples: int) -> dict[str, Any]:
    floor = warm_floor.Floor()
    with harness.exact():  # each replay starts from the state its handler started from
        out = {**_warm(harness, routes, ctx, samples, floor), "exact_replay": True}
    out["stack_floor"] = {
        "what": warm_floor.WHAT,
        "method": "one floor request timed after each handler request and its replay "
                  "(bench/warm_floor.py)",
        "isolated_ms": round(floor.isolated() * 1000, 3),
    }
    return out


def _warm(harness: Any, routes: dict[str, ApiRoute], ctx: Context, samples: int,
          floor: warm_floor.Floor) -> dict[str, Any]:
    from bench.harness import p50

    out: dict[str, Any] = {}
    for scenario in served_scenarios(routes)[0]:
        route = routes[scenario.route]
        if not runnable(harness, routes, ctx, scenario, samples + 3):
            out[scenario.route] = {"skipped": f"needs {', '.join(scenario.needs)}"}
            continue
        handler_s: list[float] = []
        outside_s: list[float] = []
        bookkeeping_s: list[float] = []
        replay_s: list[float] = []
        floor_s: list[float] = []
        statuses: dict[int, int] = {}
        calls_per: list[int] = []
        unexpected = 0
        try:
            for i in range(samples + 3):
                got = harness.invoke(route, scenario.build(ctx), scenario.role)
                statuses[got.status] = statuses.get(got.status, 0) + 1
                unexpected += not scenario.succeeded(got.status, got.body)
                if i < 3:
                    floor.time()
                    continue  # warm-up: the first calls open connections, fill caches
                handler_s.append(got.seconds)
                outside_s.append(got.seconds - got.in_calls)
                bookkeeping_s.append(got.bookkeeping)
                calls_per.append(len(got.calls))
                if got.calls:
                    replay_s.append(harness.replay(got.calls, got.before))
                # after the pair, so the handler and its replay run as they always did
                floor_s.append(floor.time())
        except Exception as exc:  # one route's failure is reported, the others still run
            traceback.print_exc()
            out[scenario.route] = {"error": f"{type(exc).__name__}: {exc}",
                                   "statuses": {str(k): v for k, v in sorted(statuses.items())}}
            continue
        h, r = p50(handler_s), p50(replay_s)
        row = {
            "p50_ms": round(h * 1000, 2),
            "replay_p50_ms": round(r * 1000, 2) if replay_s else None,
            "outside_calls_p50_ms": round(p50(outside_s) * 1000, 2),
            # the harness's own recording, already taken off p50_ms (bench/harness.py)
            "bookkeeping_p50_ms": round(p50(bookkeeping_s) * 1000, 3),
            "ratio": round(h / r, 3) if replay_s and r > 0 else None,
            # the least this route could measure on the stack alone (bench/warm_floor.py)
            "floor_p50_ms": round(p50(floor_s) * 1000, 3),
            "least_ratio": warm_floor.least_ratio(r * 1000 if replay_s else None,
                                                  p50(floor_s) * 1000),
            "calls_per_request": round(sum(calls_per) / len(calls_per), 2) if calls_per else 0,
            "samples": len(handler_s),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "unexpected": unexpected,
        }
        if not replay_s:
            row["note"] = "no AWS call on this route: nothing to replay"
        out[scenario.route] = row
        log(f"  warm {scenario.route}: handler {row['p50_ms']} ms, replay "
            f"{row['replay_p50_ms']} ms, ratio {row['ratio']}, statuses {row['statuses']}"
            + (f", {unexpected} not a success" if unexpected else ""))
    return out


def capacity(harness: Any, routes: dict[str, ApiRoute], ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    harness.want_capacity = True
    try:
        for scenario in served_scenarios(routes)[0]:
            route = routes[scenario.route]
            if not runnable(harness, routes, ctx, scenario, 3):
                out[scenario.route] = {"skipped": f"needs {', '.join(scenario.needs)}"}
                continue
            try:
                runs = [harness.invoke(route, scenario.build(ctx), scenario.role)
                        for _ in range(3)]
            except Exception as exc:  # reported; the other routes still run
                traceback.print_exc()
                out[scenario.route] = {"error": f"{type(exc).__name__}: {exc}"}
                continue
            last = runs[-1]
            reads = writes = 0.0
            for call in last.calls:
                if call.operation in {"GetItem", "Query", "BatchGetItem", "TransactGetItems",
                                      "Scan"}:
                    reads += call.capacity
                else:
                    writes += call.capacity
            out[scenario.route] = {
                "calls": len(last.calls),
                "operations": [c.operation for c in last.calls],
                "capacity_units": round(sum(c.capacity for c in last.calls), 2),
                "read_units": round(reads, 2),
                "write_units": round(writes, 2),
                "min_calls": scenario.min_calls,
                "min_units": scenario.min_units,
                "at_minimum": (
                    None if scenario.min_calls is None else len(last.calls) <= scenario.min_calls
                ),
                "status": last.status,
                "succeeded": scenario.succeeded(last.status, last.body),
                "scans": sum(1 for c in last.calls if c.operation == "Scan"),
            }
            log(f"  capacity {scenario.route}: {out[scenario.route]['operations']} "
                f"{out[scenario.route]['capacity_units']} units (min {scenario.min_calls} call(s))")
    finally:
        harness.want_capacity = False
    return out


def _fill(config: dict[str, Any], table: str, ctx: Context, start: int, stop: int,
          budget_end: float) -> int:
    """Writes filler items start..stop-1 into `table` (BatchWriteItem, 4 threads); returns
    how many were written before the time budget ran out."""
    import boto3

    fillers = [s.filler for s in SCENARIOS.values() if s.filler is not None] or [None]
    client = boto3.client(
        "dynamodb", endpoint_url=config["dynamodb_endpoint"], region_name=config["region"],
        aws_access_key_id="local", aws_secret_access_key="local-secret",  # noqa: S106
    )
    distinct = list(dict.fromkeys(fillers))

    def item(i: int) -> dict[str, Any]:
        make = distinct[i % len(distinct)]
        if make is None:
            return {"pk": {"S": f"BENCH#{ctx.run}#{i}"}, "sk": {"S": "ITEM"}}
        return make(i, ctx)

    def batch(first: int) -> int:
        if time.monotonic() > budget_end:
            return 0
        request = {table: [{"PutRequest": {"Item": item(i)}} for i in
                           range(first, min(first + 25, stop))]}
        while request:
            answer = client.batch_write_item(RequestItems=request)
            request = answer.get("UnprocessedItems") or {}
        return min(first + 25, stop) - first

    with ThreadPoolExecutor(max_workers=4) as pool:
        written = sum(pool.map(batch, range(start, stop, 25)))
    return written


class TableSet:
    """One full set of the template's tables (MainTable, OutboxTable, IdempotencyTable)
    under its own name prefix, in the twin's DynamoDB Local: seeded like the twin, filled
    to one size, with its own scenario context. `use()` points convene's code in this
    process (the handlers the harness calls, and the scenarios' setup) at it; that is an
    environment change and a reset of convene's cached settings, done between requests,
    never inside a timed one."""

    def __init__(self, config: dict[str, Any], size: int, stack: str) -> None:
        import boto3

        from infra.local import template

        self.size = size
        self.stack = stack
        self.client = boto3.client(
            "dynamodb", endpoint_url=config["dynamodb_endpoint"], region_name=config["region"],
            aws_access_key_id="local", aws_secret_access_key="local-secret",  # noqa: S106
        )
        self.names = template.create_tables(self.client, stack=stack)
        self.items = 0
        self.ctx: Context | None = None

    def use(self) -> None:
        use_tables(self.names)

    def drop(self) -> None:
        for name in self.names.values():
            with contextlib.suppress(Exception):
                self.client.delete_table(TableName=name)


# DynamoDB Local on its own, at each size: single calls on a plain client, no handler, no
# replay. A probe item of its own in each MainTable; each write stores a new value, so the
# emulator cannot skip it.
PROBE_KEYS = {
    "PLAIN": {"pk": {"S": "BENCH#PROBE"}, "sk": {"S": "PLAIN"}},
    "INDEXED": {"pk": {"S": "BENCH#PROBE"}, "sk": {"S": "INDEXED"}},
}
# name: (what it is, the operation, the probe item it touches)
PROBES = {
    "GetItem": ("a read by key", "get_item", "PLAIN"),
    "UpdateItem, item in no index": (
        "a write of an item without index keys", "update_item", "PLAIN"),
    "UpdateItem, item in the queue index": (
        "a write of an item in gsi1 (all attributes projected), as a lease or a decision is",
        "update_item", "INDEXED"),
}


def emulator_probe(harness: Any, sets: list[TableSet], labels: list[str],
                   samples: int) -> dict[str, Any]:
    """Each probe's p50 at each size, the sizes alternated call by call, and the ratio of
    the largest to the smallest: how DynamoDB Local's own time grows with the table."""
    from bench.harness import p50

    client = harness.plain_client()
    index_keys = {"gsi1pk": {"S": "MODQ#bench-probe"}, "gsi1sk": {"S": "0#probe"}}
    for table_set in sets:
        table = table_set.names["MainTable"]
        client.put_item(TableName=table, Item={**PROBE_KEYS["PLAIN"], "n": {"S": "0"}})
        client.put_item(TableName=table,
                        Item={**PROBE_KEYS["INDEXED"], "n": {"S": "0"}, **index_keys})
    times: dict[str, dict[str, list[float]]] = {
        name: {label: [] for label in labels} for name in PROBES}
    counter = 0
    for i in range(samples * 3 + 5):
        for label, table_set in zip(labels, sets, strict=True):
            for name, (_, operation, probe) in PROBES.items():
                counter += 1
                params: dict[str, Any] = {"TableName": table_set.names["MainTable"],
                                          "Key": PROBE_KEYS[probe]}
                if operation == "update_item":  # a new value each time
                    params.update(UpdateExpression="SET n = :n",
                                  ExpressionAttributeValues={":n": {"S": str(counter)}})
                call = getattr(client, operation)
                started = time.perf_counter()
                call(**params)
                if i >= 5:  # the first rounds warm each table's pages up
                    times[name][label].append(time.perf_counter() - started)
    out: dict[str, Any] = {}
    for name, per_size in times.items():
        p = {label: round(p50(v) * 1000, 3) for label, v in per_size.items()}
        small, large = p[labels[0]], p[labels[-1]]
        out[name] = {"what": PROBES[name][0], "p50_ms": p,
                     "ratio": round(large / small, 3) if small else None,
                     "samples": len(per_size[labels[0]])}
        log(f"  scale emulator {name}: {p}, ratio {out[name]['ratio']}")
    return out


def use_tables(names: dict[str, str]) -> None:
    from convene.settings import get_settings

    os.environ["TABLE_NAME"] = names["MainTable"]
    os.environ["OUTBOX_TABLE_NAME"] = names["OutboxTable"]
    os.environ["IDEMPOTENCY_TABLE_NAME"] = names["IdempotencyTable"]
    get_settings.cache_clear()
    get_settings()


def seed_set(harness: Any, config: dict[str, Any], routes: dict[str, ApiRoute]) -> Context:
    """Seeds the tables in use as the twin seeds its own, and makes their context (the
    same ids the twin's context has: the seed's ids are fixed, its workshops dated from
    today)."""
    from infra.local import seed

    users = {u["role"]: u for u in config["users"]}
    member = users.get("member")
    report = seed.seed(
        organiser=users["organiser"]["username"],
        moderator=users["moderator"]["username"] if "moderator" in users else None,
        member={"sub": member["username"], "email": member["email"], "name": member["name"]}
        if member else None,
        site_url=config["environment"].get("SITE_URL", ""),
    )
    for note in report.notes:
        log(f"  seed: {note}")
    listed = SCENARIOS.get("GET /events")
    events: list[dict[str, Any]] = []
    if listed and listed.route in routes:
        got = harness.invoke(routes[listed.route], Req.get("/events"), None)
        if got.status == 200:
            events = json.loads(got.body).get("items") or []
    ctx = Context(
        event_id=str(events[0]["id"]) if events else seed.PAST_EVENT_ID,
        post_id=seed.POST_ID,
        series_id=seed.SERIES_ID,
    )
    public = [e for e in events if e.get("audience") == "public"]
    if public:
        ctx.extra["public_event_id"] = str(public[0]["id"])
    return ctx


def scale(harness: Any, config: dict[str, Any], routes: dict[str, ApiRoute], ctx: Context,
          sizes: list[int], samples: int, budget_s: float) -> dict[str, Any]:
    """Each route's p50 with MainTable at each size, the sizes side by side: one set of
    tables per size in the same DynamoDB Local, all seeded and filled before the first
    sample; then, route by route, the samples alternate between the sets request by
    request (1k, 100k, 1k, 100k...), so a busy moment of the machine hits every size
    alike. `ctx` (the twin's own tables) is left as it was; the twin's tables are in use
    again afterwards."""
    with harness.exact():  # each replay starts from the state its handler started from
        return {**_scale(harness, config, routes, ctx, sizes, samples, budget_s),
                "exact_replay": True}


def _scale(harness: Any, config: dict[str, Any], routes: dict[str, ApiRoute], ctx: Context,
           sizes: list[int], samples: int, budget_s: float) -> dict[str, Any]:
    from bench.harness import p50

    out: dict[str, Any] = {"sizes": [], "routes": {}, "fill_seconds": {},
                           "method": "alternating", "order": []}
    budget_end = time.monotonic() + budget_s
    sets: list[TableSet] = []
    try:
        for k, size in enumerate(sorted(sizes)):
            started = time.monotonic()
            table_set = TableSet(config, size, f"bench-{ctx.run}-s{k}")
            sets.append(table_set)
            table_set.use()
            table_set.ctx = seed_set(harness, config, routes)
            prepare(harness, routes, table_set.ctx)
            table_set.items = _fill(config, table_set.names["MainTable"], table_set.ctx, 0,
                                    size, budget_end)
            label = str(table_set.items)
            out["fill_seconds"][label] = round(time.monotonic() - started, 1)
            if table_set.items < size:
                out.setdefault("notes", []).append(
                    f"filling to {size:,} items stopped at {table_set.items:,} after the time "
                    f"budget ({budget_s:.0f} s): that column is measured at "
                    f"{table_set.items:,} items")
            out["sizes"].append({"target": size, "items": table_set.items, "label": label,
                                 "tables": table_set.names["MainTable"]})
            log(f"  scale: {table_set.names['MainTable']}: {table_set.items:,} filler items "
                f"({out['fill_seconds'][label]} s to seed and fill)")
        labels = [str(t.items) for t in sets]
        out["order"] = labels
        for scenario in served_scenarios(routes)[0]:
            route = routes[scenario.route]
            ready = True
            for table_set in sets:
                assert table_set.ctx is not None
                table_set.use()
                ready = ready and runnable(harness, routes, table_set.ctx, scenario, samples + 2)
            if not ready:
                continue
            times: dict[str, list[float]] = {label: [] for label in labels}
            replays: dict[str, list[float]] = {label: [] for label in labels}
            outside: dict[str, list[float]] = {label: [] for label in labels}
            calls: dict[str, list[int]] = {label: [] for label in labels}
            statuses: dict[str, dict[str, int]] = {label: {} for label in labels}
            unexpected = 0
            try:
                for i in range(samples + 2):
                    for label, table_set in zip(labels, sets, strict=True):
                        assert table_set.ctx is not None
                        table_set.use()
                        req = scenario.build(table_set.ctx)  # setup: outside the timing
                        got = harness.invoke(route, req, scenario.role)
                        seen = statuses[label]
                        seen[str(got.status)] = seen.get(str(got.status), 0) + 1
                        unexpected += not scenario.succeeded(got.status, got.body)
                        if i >= 2:  # the first round warms each set's pages up
                            times[label].append(got.seconds)
                            # Time outside the DynamoDB calls: the handler's own work,
                            # which should not depend on the table's size at all.
                            outside[label].append(got.seconds - got.in_calls)
                            # The control: the same DynamoDB calls on a plain client, on
                            # the same tables. If they grow as much as the handler does,
                            # the growth is DynamoDB Local's, not the route's.
                            replays[label].append(harness.replay(got.calls, got.before))
                            calls[label].append(len(got.calls))
            except Exception as exc:  # one route's failure is reported, the others still run
                traceback.print_exc()
                out["routes"][scenario.route] = {
                    "kind": scenario.kind, "p50_ms": {}, "statuses": statuses,
                    "error": f"{type(exc).__name__}: {exc}",
                }
                continue
            row = {
                "kind": scenario.kind,
                "p50_ms": {label: round(p50(times[label]) * 1000, 2) for label in labels},
                "samples": samples,
                "statuses": statuses,
                "unexpected": unexpected,
            }
            if any(replays[label] for label in labels):
                row["replay_p50_ms"] = {
                    label: round(p50(replays[label]) * 1000, 2) for label in labels
                }
                row["calls_per_request"] = {
                    label: round(sum(calls[label]) / len(calls[label]), 2) for label in labels
                }
            small, large = row["p50_ms"][labels[0]], row["p50_ms"][labels[-1]]
            if len(labels) >= 2:
                row["ratio"] = round(large / small, 3) if small else None
                replayed = row.get("replay_p50_ms") or {}
                if replayed.get(labels[0]):
                    row["replay_ratio"] = round(replayed[labels[-1]] / replayed[labels[0]], 3)
                own = {label: p50(outside[label]) * 1000 for label in labels}
                row["outside_calls_p50_ms"] = {label: round(v, 2) for label, v in own.items()}
                if own[labels[0]] > 0:
                    row["outside_calls_ratio"] = round(own[labels[-1]] / own[labels[0]], 3)
            out["routes"][scenario.route] = row
            log(f"  scale {scenario.route}: " + ", ".join(
                f"{label}: {row['p50_ms'][label]} ms" for label in labels)
                + f", ratio {row.get('ratio')}, statuses {statuses}")
        if len(sets) >= 2:
            out["emulator"] = emulator_probe(harness, sets, labels, samples)
    finally:
        use_tables(config["tables"])
        for table_set in sets:
            table_set.drop()
    return out


def load(config: dict[str, Any], ctx: Context, routes: dict[str, ApiRoute], rate: float,
         seconds: float) -> dict[str, Any]:
    from bench.load import LoadRun
    from infra.local.aws_twin import id_token

    tokens: dict[str, str] = {}

    def headers(role: str) -> dict[str, str]:
        if role not in tokens:
            user = next(u for u in config["users"] if u["role"] == role)
            tokens[role] = id_token(config["moto_endpoint"], config["client_id"], user["email"],
                                    user["password"], region=config["region"])
        return {"Authorization": f"Bearer {tokens[role]}"}

    run = LoadRun(config["api_url"], ctx, set(routes), headers)
    return run.run(rate, seconds)


def twin_scans(config: dict[str, Any]) -> int:
    from convene.aws import SCAN_MARKER, scan_calls

    text = Path(config["log_path"]).read_text(errors="replace")
    return text.count(SCAN_MARKER) + len(scan_calls())


# ---------------------------------------------------------------- main


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "cpu model", "hardware")):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    return {
        "host": platform.node(),
        "os": platform.platform(),
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
        "java": (java.stderr or java.stdout).splitlines()[0] if (java.stderr or java.stdout)
        else "",
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--list", action="store_true")
    p.add_argument("--report-only", action="store_true",
                   help="rewrite RESULTS.md and the charts from results.json, measure nothing")
    p.add_argument("--sections",
                   default="cold,warm,capacity,scale,load,email,registrations,comments")
    p.add_argument("--merge", action="store_true",
                   help="keep the other sections of the existing results.json")
    p.add_argument("--cold-runs", type=int, default=7)
    p.add_argument("--samples", type=int, default=30)
    p.add_argument("--scale-sizes", default="1000,100000")
    p.add_argument("--scale-samples", type=int, default=20)
    p.add_argument("--scale-budget", type=float, default=900.0)
    p.add_argument("--load-rate", type=float, default=5.0)
    p.add_argument("--load-seconds", type=float, default=60.0)
    p.add_argument("--out", default=str(ROOT / "bench"))
    p.add_argument("--work", default=None, help="keep the twin's data and log here")
    p.add_argument("--route", action="append", default=None,
                   help="measure only routes whose 'METHOD /path' contains this (repeatable); "
                   "for a quick look at one figure, with --out elsewhere")
    args = p.parse_args(argv)

    os.environ["CONVENE_FORBID_SCAN"] = "1"
    routes = {r.key: r for r in api_routes()}
    pending = served_scenarios(routes)[1]
    if args.list:
        for s in SCENARIOS.values():
            state = "measured" if s.route in routes else "not yet implemented"
            print(f"{s.route:45} {s.kind:6} {s.mix or '-':9} {state}")
        missing = sorted(set(routes) - set(SCENARIOS))
        if missing:
            print("\nroutes without a scenario: " + ", ".join(missing))
        return 0

    if args.route:
        routes = {k: v for k, v in routes.items() if any(part in k for part in args.route)}
        if not routes:
            p.error(f"no route matches {args.route}")
    sections = set(args.sections.split(","))
    out_dir = Path(args.out)
    if args.report_only:
        results = json.loads((out_dir / "results.json").read_text())
        results["charts"] = report.charts(results, out_dir)
        (out_dir / "RESULTS.md").write_text(report.markdown(results))
        return 0
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "machine": machine(),
        "targets": {"cold_start_ratio": 1.15, "warm_ratio": 1.3, "scale_ratio": 1.2,
                    "load_errors": 0, "comments_ratio": 1.2},
        "scenarios": {s.route: {"kind": s.kind, "measured": s.route in routes}
                      for s in SCENARIOS.values()},
        "not_yet_implemented": pending,
        "routes_without_scenario": sorted(set(routes) - set(SCENARIOS)),
        **({"only_routes": sorted(routes)} if args.route else {}),
        "sections": {},
    }

    def section(name: str, fn: Any) -> None:
        if name not in sections:
            results["sections"][name] = {"skipped": "not asked for (--sections)"}
            return
        log(f"==> {name}")
        t0 = time.monotonic()
        try:
            results["sections"][name] = fn()
        except Exception as exc:  # a section that fails is reported, the others still run
            traceback.print_exc()
            results["sections"][name] = {"error": f"{type(exc).__name__}: {exc}"}
        results["sections"][name]["section_seconds"] = round(time.monotonic() - t0, 1)

    from infra.local import template

    section("cold", lambda: __import__("bench.coldstart", fromlist=["measure"]).measure(
        template.functions(), runs=args.cold_runs, log=log))

    if sections & {"warm", "capacity", "scale", "load", "email", "registrations", "comments"}:
        with tempfile.TemporaryDirectory(prefix="convene-bench-") as tmp, twin(
            Path(args.work or tmp)
        ) as cfg:
            from bench.harness import Harness

            # The handlers log to stdout (Powertools); the bench reports on stderr.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)

            harness = Harness(cfg, log=log)
            ctx = context(cfg)
            prepare(harness, routes, ctx)
            section("warm", lambda: warm(harness, routes, ctx, args.samples))
            section("capacity", lambda: capacity(harness, routes, ctx))
            section("load", lambda: load(cfg, ctx, routes, args.load_rate, args.load_seconds))
            sizes = [int(s) for s in args.scale_sizes.split(",") if s]
            section("scale", lambda: scale(harness, cfg, routes, ctx, sizes,
                                           args.scale_samples, args.scale_budget))
            from bench import flows

            section("email", lambda: flows.email(harness))
            section("registrations", lambda: flows.registrations(harness))
            section("comments", lambda: flows.comments(harness, routes, ctx))
            results["scans"] = twin_scans(cfg)

    if args.merge and (out_dir / "results.json").exists():
        old = json.loads((out_dir / "results.json").read_text())
        kept_dates = report.section_dates(old)
        dates = {n: results["date"] for n in sections if n in results["sections"]}
        for name, value in old.get("sections", {}).items():
            if name not in sections and name != "cost":
                results["sections"][name] = value
                dates[name] = kept_dates.get(name, str(old.get("date")))
        results["section_dates"] = dates
        results["merged_from"] = old.get("merged_from") or old.get("date")
        results["measured_sections"] = [n for n in sections if n in results["sections"]]
        for key in ("scans",):
            if key not in results and key in old:
                results[key] = old[key]
    warm_rows = results["sections"].get("warm", {})
    cap_rows = results["sections"].get("capacity", {})
    if isinstance(warm_rows, dict) and isinstance(cap_rows, dict):
        from bench.cost import estimate

        results["sections"]["cost"] = estimate(warm_rows, cap_rows)
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    results["machine"]["load_average_at_end"] = os.getloadavg()
    out_dir.mkdir(parents=True, exist_ok=True)
    results["charts"] = report.charts(results, out_dir)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out_dir / "RESULTS.md").write_text(report.markdown(results))
    log(f"wrote {out_dir / 'results.json'} and {out_dir / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
