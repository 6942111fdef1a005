"""bench/RESULTS.md and the charts (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

COLD_NOTES = [
    "",
    "The stack floor is a process that imports only what the design requires of a handler "
    "of that kind, before any of Convene's code: Powertools Logger, Metrics and Tracer, one "
    "pydantic model, and for an API handler the REST resolver with validation and one "
    "validated route (with Powertools idempotency, or its batch processor, where the "
    "handler uses them); then the same client. floor / boto3 is the least any handler on "
    "this stack can measure, so it shows how much of the 1.15 target the required "
    "libraries use up by themselves; handler / floor is the share of Convene's own code "
    "(the layer's models and services, and each route's validation).",
    "",
    "What Convene does about its share: the Tracer patches botocore only (not `patch_all`, "
    "which imports requests and the other libraries the X-Ray SDK knows); PyJWT and "
    "cryptography load on the first member token, markdown-it and nh3 on the first comment "
    "submitted, icalendar on the first calendar download or the first email that carries "
    "a calendar, Powertools' OpenAPI document models only when openapi.json is written, "
    "the comments service in the Organisers function only on its two people routes. "
    "tests/unit/test_init_imports.py fails if a handler loads any of them at init. "
    "Meeting 1.15 would mean dropping the Powertools resolver with pydantic validation, "
    "which the design asks for; see docs/performance.md.",
    "",
]

def section_dates(results: dict[str, Any]) -> dict[str, str]:
    """When each section of a results file was measured (older files name only the last
    run's sections and the run they were merged into)."""
    if results.get("section_dates"):
        return dict(results["section_dates"])
    measured = set(results.get("measured_sections") or results.get("sections", {}))
    earlier = str(results.get("merged_from") or results.get("date"))
    return {
        name: str(results.get("date")) if name in measured else earlier
        for name in results.get("sections", {})
        if name != "cost"
    }


# Said of the warm and scale replays measured with bench.harness.Writes.
EXACT_REPLAY = (
    "Each replay starts from the state its request started from: the harness reads every "
    "item a write of the handler is about to change (its own bookkeeping, taken off the "
    "handler's time) and puts those items back, untimed, before replaying. So a replayed "
    "write makes the change the handler's made (a DeleteItem finds its item, a conditional "
    "PutItem succeeds, an ADD counts once) and DynamoDB Local does the same index and "
    "stream work for both."
)


def _ok(value: float | None, target: float) -> str:
    if value is None:
        return "-"
    return "yes" if value <= target else "**no**"


def charts(results: dict[str, Any], out_dir: Path) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: dict[str, str] = {}
    cold = (results["sections"].get("cold") or {}).get("handlers") or {}
    rows = [(k, v["ratio"]) for k, v in cold.items() if isinstance(v, dict) and "ratio" in v]
    if rows:
        fig, ax = plt.subplots(figsize=(8, 0.6 * len(rows) + 2.2))
        names = [r[0].removesuffix("Function") for r in rows]
        values = [r[1] for r in rows]
        colours = ["#3a7d44" if v <= 1.15 else "#b5462f" for v in values]
        ax.barh(names, values, color=colours)
        ax.axvline(1.15, color="black", linestyle="--", label="target 1.15")
        ax.axvline(1.0, color="grey", linewidth=0.8)
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:.2f}", va="center")
        floors = [cold[r[0]].get("floor_ratio") for r in rows]
        if all(f is not None for f in floors):
            ax.scatter(floors, names, marker="|", s=400, color="black", zorder=3,
                       label="stack floor (the required libraries alone)")
        ax.set_xlabel("cold start: handler init / (import boto3 + one client)")
        ax.set_title("Cold-start ratio per handler")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
        fig.tight_layout()
        fig.savefig(out_dir / "cold_start.png", dpi=110)
        plt.close(fig)
        made["cold_start"] = "cold_start.png"

    scale = results["sections"].get("scale") or {}
    sizes = scale.get("sizes") or []
    routes = scale.get("routes") or {}
    if sizes and routes:
        fig, ax = plt.subplots(figsize=(9, 5.5))
        ax.set_prop_cycle(color=list(plt.get_cmap("tab20").colors))
        xs = [s["items"] or 1 for s in sizes]
        for route, row in sorted(routes.items()):
            ys = [row["p50_ms"].get(s["label"]) for s in sizes]
            if any(y is None for y in ys):
                continue
            style = "-" if row.get("kind") == "read" else "--"
            ax.plot(xs, ys, style, marker="o", label=route)
        ax.set_xscale("log")
        ax.set_xlabel("items in MainTable (log scale)")
        ax.set_ylabel("handler p50 (ms)")
        ax.set_title("p50 against table size (solid: reads, dashed: writes)")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
        fig.tight_layout()
        fig.savefig(out_dir / "scale_p50.png", dpi=110)
        plt.close(fig)
        made["scale"] = "scale_p50.png"
    return made


def markdown(results: dict[str, Any]) -> str:
    s = results["sections"]
    m = results["machine"]
    t = results["targets"]
    out: list[str] = []
    w = out.append
    w("# Convene: benchmark results\n")
    w(f"Measured {results['date']} to {results.get('finished', '?')} by `make bench` "
      "(`python -m bench`). Every figure is a ratio of two things measured in this run, or a "
      "count; absolute times are shown only to read the ratios.\n")
    w(f"Machine: {m.get('cpu')} ({m.get('cores')} cores), {m.get('memory')}, {m.get('os')}, "
      f"Python {m.get('python')}, {m.get('java')}; load average at start "
      f"{m.get('load_average_at_start')}.\n")
    start = (m.get("load_average_at_start") or [0])[0]
    end = (m.get("load_average_at_end") or [None])[0]
    if start and m.get("cores") and start > 0.5 * m["cores"]:
        w(f"> The machine was shared while this ran (load average {start:.1f} at the start"
          + (f", {end:.1f} at the end" if end is not None else "")
          + f", on {m['cores']} cores): other work took CPU from both sides of each ratio, "
          "unevenly. The warm ratios pair each request with its own replay, and the scale "
          "section alternates its table sizes request by request, so a busy moment falls on "
          "both sides of a ratio alike, but not always evenly: rerun on a quiet machine "
          "before reading much into a ratio near its target.\n")
    if results.get("merged_from"):
        by_date: dict[str, list[str]] = {}
        for name, date in section_dates(results).items():
            by_date.setdefault(date, []).append(name)
        runs = "; ".join(f"{', '.join(names)} at {date}" for date, names in sorted(by_date.items()))
        w(f"> This page merges {len(by_date)} runs (`--merge`) on the same machine, each "
          f"section from the last run that measured it: {runs}. The cost section is worked "
          "out again from the warm and capacity sections. Rerun `make bench` for figures of "
          "one run.\n")
    w("Rerun: `make bench` (about 30 minutes on 2 cores, most of it filling the "
      "100,000-item tables for the scale section; "
      "`python -m bench --report-only` rewrites this page from results.json). Raw figures: "
      "[results.json](results.json).\n")
    if results.get("not_yet_implemented"):
        w("Routes with a scenario whose code is **not yet implemented** (not in "
          "template.yaml yet, so not measured): "
          + ", ".join(f"`{r}`" for r in results["not_yet_implemented"]) + ".\n")
    if results.get("routes_without_scenario"):
        w("Routes without a scenario yet: "
          + ", ".join(f"`{r}`" for r in results["routes_without_scenario"]) + ".\n")

    # ---- cold start
    cold = s.get("cold") or {}
    w("## Cold start\n")
    if "handlers" in cold:
        w(f"{cold['method']}. Interpreter start-up alone: "
          f"{cold['interpreter_start_s'] * 1000:.0f} ms (the same for all three, not counted). "
          + (f"{cold['bytecode']}. " if cold.get("bytecode") else "")
          + f"Target: ratio {t['cold_start_ratio']} or less.\n")
        w("| handler | first client | handler init (ms) | boto3 + client (ms) | ratio "
          "| within target | stack floor (ms) | floor / boto3 | handler / floor |")
        w("|---|---|---:|---:|---:|---|---:|---:|---:|")
        for name, row in cold["handlers"].items():
            if "error" in row:
                w(f"| {name} | | error: {row['error']} | | | | | | |")
                continue
            floor = (f"{row['floor_s'] * 1000:.0f} ({row['floor_kind']}) | "
                     f"{row['floor_ratio']:.2f} | {row['own_ratio']:.2f}"
                     if "floor_s" in row else "- | - | -")
            w(f"| {name} | {row.get('client', 'dynamodb')} | {row['handler_s'] * 1000:.0f} | "
              f"{row['baseline_s'] * 1000:.0f} | "
              f"{row['ratio']:.2f} | {_ok(row['ratio'], t['cold_start_ratio'])} | {floor} |")
        for line in COLD_NOTES:
            w(line)
        if "cold_start" in results.get("charts", {}):
            w("\n![cold-start ratio per handler](cold_start.png)\n")
        w("What each handler imports at init (own import time by package, from one "
          "`-X importtime` run) and why:\n")
        for name, row in cold["handlers"].items():
            if "top_imports" not in row:
                continue
            items = [f"{i['package']} {i['ms']:.0f} ms" + (f" ({i['why']})" if i["why"] else "")
                     for i in row["top_imports"][:8]]
            w(f"- **{name}**: " + "; ".join(items) + ".")
        w("")
    else:
        w(f"{cold}\n")

    # ---- warm
    warm = s.get("warm") or {}
    w("## Warm overhead per route\n")
    w("Handler time per request (in-process, warm, API Gateway event in, proxy response out) "
      "over the time of replaying the same DynamoDB calls directly on a plain boto3 client, "
      f"against DynamoDB Local; medians of the samples. Target {t['warm_ratio']} or less. "
      "Outside the calls: the handler's time not spent inside a DynamoDB call (botocore's "
      "before-call to after-call), i.e. Powertools (resolver, validation, Logger, Metrics) "
      "and Convene's own code, per request.\n")
    kept = [row["bookkeeping_p50_ms"] for row in warm.values()
            if isinstance(row, dict) and "bookkeeping_p50_ms" in row]
    if kept:
        w(f"The harness's own recording of each call (a copy of its parameters; {min(kept)}-"
          f"{max(kept)} ms a request, p50) is taken off the handler's time and off the time "
          "outside the calls: the replay's client records nothing.\n")
    if warm.get("exact_replay"):
        w(EXACT_REPLAY + "\n")
    floor = warm.get("stack_floor") or {}
    if floor.get("what"):
        w(f"The stack floor: {floor['what']} (bench/warm_floor.py). One floor request is "
          "timed after each handler request and its replay, in the same process, so it runs "
          "in the conditions the handler ran in; the column gives its p50 over the route's "
          f"samples (timed back to back in a loop of its own, it takes {floor['isolated_ms']} "
          "ms: a small working set stays hot). However little a route's own code does, it "
          "cannot measure less than (replayed calls + floor) / replayed calls: the column "
          f"*least on this stack*. To reach {t['warm_ratio']}, a route's calls must take at "
          f"least floor / {round(t['warm_ratio'] - 1, 2)}.\n")
    w("| route | handler p50 (ms) | replayed calls p50 (ms) | ratio | within target | "
      "stack floor p50 (ms) | least on this stack | outside the calls p50 (ms) | "
      "calls/request | statuses |")
    w("|---|---:|---:|---:|---|---:|---:|---:|---:|---|")
    for route, row in warm.items():
        if route == "stack_floor":
            continue
        if isinstance(row, dict) and "error" in row and "p50_ms" not in row:
            w(f"| `{route}` | error: {row['error']} | | | | | | | | {row.get('statuses', '')} |")
            continue
        if not isinstance(row, dict) or "p50_ms" not in row:
            continue
        failed = row.get("unexpected") or 0
        w(f"| `{route}` | {row['p50_ms']} | {row['replay_p50_ms'] or '-'} | "
          f"{row['ratio'] if row['ratio'] is not None else '-'} | "
          f"{_ok(row['ratio'], t['warm_ratio'])} | {row.get('floor_p50_ms', '-')} | "
          f"{row.get('least_ratio') or '-'} | "
          f"{row.get('outside_calls_p50_ms', '-')} | "
          f"{row['calls_per_request']} | "
          f"{row['statuses']}" + (f" (**{failed} not a success**)" if failed else "") + " |")
    if "error" in warm:
        w(f"\nError: {warm['error']}")
    w("\nEvery request is one that succeeds (a 2xx, or a 303 for a link or a form post; "
      "`POST /moderation/decisions` a 207 with a 200 for each item): what it needs "
      "(a fresh registration and its token, a comment waiting for review, a block to "
      "remove) is made through the services before the request, outside the timing "
      "(bench/scenarios.py).\n")

    # ---- scale
    sc = s.get("scale") or {}
    w("## Scale\n")
    if sc.get("sizes"):
        labels = [x["label"] for x in sc["sizes"]]
        w("Each route's handler p50 with MainTable at each size (filler items written with "
          "BatchWriteItem, shaped as the items each route reads: published upcoming events in "
          "the list's index partition, other posts' items, other events' registrations with "
          "their tokens and person items, other posts' decided comments with their audit "
          "records and reports, other addresses' unsubscribes), as a ratio of the largest to "
          f"the smallest. Target {t['scale_ratio']} or less.\n")
        if sc.get("method") == "alternating":
            counted = next((r["samples"] for r in sc["routes"].values() if "samples" in r), "?")
            order = ", ".join(f"{int(x):,}" for x in labels)
            w("The sizes are measured side by side, not one after the other. Before the "
              "first sample, the bench creates one full set of the template's tables per "
              "size in the twin's DynamoDB Local (MainTable, OutboxTable and "
              "IdempotencyTable under their own name prefix, `" + "`, `".join(
                  x.get("tables", "?") for x in sc["sizes"]) + "`), seeds each as the twin "
              "seeds its own and fills each to its size. Then, route by route, the samples "
              f"alternate between the sets request by request ({order}, {order}, ...): "
              "before each request the handlers are pointed at that size's tables (the "
              "table names in the environment and convene's cached settings, reset outside "
              "the timed part), and the request's setup is made in the same tables. A busy "
              "moment of the shared machine thus falls on every size alike. The first "
              "2 rounds per route are not counted (they warm each set's pages); each "
              f"column then has {counted} samples. The statuses are those of every "
              "request, the uncounted rounds included.\n")
        for note in sc.get("notes", []):
            w(f"> {note}\n")
        control = any("replay_ratio" in r for r in sc["routes"].values())
        if control:
            w("Two controls. The first replays each counted request's own DynamoDB calls on "
              "a plain boto3 client against the same tables, right after it: the same work "
              "with no handler. Where it grows as much as the handler does, the growth is "
              "DynamoDB Local's (its indexes are SQLite tables on this machine), not the "
              "route's. "
              + (EXACT_REPLAY + " " if sc.get("exact_replay") else
                 "It is not exact for writes: a replayed write stores what is already "
                 "there, and a replayed conditional write may fail its condition, so DynamoDB "
                 "Local may skip index work the handler's own write paid for. ")
              + "The second "
              "control needs no replay: the handler's time outside its DynamoDB calls "
              "(botocore's before-call to after-call hooks), its p50 at the largest size over "
              "the smallest. That is Powertools, validation and Convene's code, which should "
              "not grow with the table; where it stays near 1 while the handler grows, the "
              "growth is inside the calls. The calls per request are shown for each size, "
              "to show the route does the same work at both.\n")
        head = " | ".join(f"p50 at {int(x):,} items (ms)" for x in labels)
        extra = (" same calls replayed: ratio | outside the calls: ratio | calls per request |"
                 if control else "")
        w(f"| route | kind | {head} | ratio | within target | statuses |{extra}")
        w("|---|---|" + "---:|" * len(labels) + "---:|---|---|"
          + ("---:|---:|---|" if control else ""))
        for route, row in sc["routes"].items():
            if row.get("error"):
                w(f"| `{route}` | {row['kind']} | error: {row['error']} |"
                  + " |" * len(labels) + " |")
                continue
            cells = " | ".join(str(row["p50_ms"].get(x, "-")) for x in labels)
            seen = row.get("statuses") or {}
            answered: dict[str, int] = {}
            for per_size in seen.values():
                for code, count in per_size.items():
                    answered[code] = answered.get(code, 0) + count
            failed = row.get("unexpected") or 0
            w(f"| `{route}` | {row['kind']} | {cells} | {row.get('ratio', '-')} | "
              f"{_ok(row.get('ratio'), t['scale_ratio'])} | "
              + (", ".join(f"{c}: {n}" for c, n in sorted(answered.items())) or "-")
              + (f" (**{failed} not a success**)" if failed else "") + " |"
              + (f" {row.get('replay_ratio', '-')} | {row.get('outside_calls_ratio', '-')} | "
                 + " / ".join(str(v) for v in (row.get("calls_per_request") or {}).values())
                 + " |" if control else ""))
        emulator = sc.get("emulator") or {}
        if emulator:
            w("\nDynamoDB Local on its own: single calls on a plain boto3 client on a probe "
              "item of each set's MainTable, no handler and no replay, the sizes alternated "
              "call by call; each write stores a new value, so the emulator cannot skip its "
              "index work. A route whose calls grow about as much as these is measuring the "
              "emulator, whose tables and indexes are SQLite on this machine (DynamoDB's "
              "latency does not depend on the table's size).\n")
            w("| call | " + " | ".join(f"p50 at {int(x):,} items (ms)" for x in labels)
              + " | ratio | samples |")
            w("|---|" + "---:|" * len(labels) + "---:|---:|")
            for name, row in emulator.items():
                cells = " | ".join(str(row["p50_ms"].get(x, "-")) for x in labels)
                w(f"| {name} ({row['what']}) | {cells} | {row.get('ratio', '-')} | "
                  f"{row.get('samples', '-')} |")
        w(f"\nTime to seed and fill each set: {sc.get('fill_seconds')} (seconds).")
        if "scale" in results.get("charts", {}):
            w("\n![p50 against table size](scale_p50.png)\n")
    else:
        w(f"{sc}\n")
    w(f"Scan calls during this run (convene's guard, the bench process and the twin): "
      f"**{results.get('scans', 'not counted')}**. The test suite fails on any "
      "(tests/conftest.py, tests/proof/test_scan_guard.py).\n")

    # ---- capacity
    cap = s.get("capacity") or {}
    w("## DynamoDB calls and consumed capacity per operation\n")
    w("From one warm request per route with `ReturnConsumedCapacity=TOTAL` added by a "
      "botocore hook; next to the least the design allows (docs/tables.md).\n")
    w("| route | calls | operations | capacity units (read / write) | design minimum | "
      "at the minimum |")
    w("|---|---:|---|---|---|---|")
    for route, row in cap.items():
        if isinstance(row, dict) and "error" in row and "calls" not in row:
            w(f"| `{route}` | error: {row['error']} | | | | |")
            continue
        if not isinstance(row, dict) or "calls" not in row:
            continue
        ops = ", ".join(row["operations"]) or "none"
        at_min = {True: "yes", False: "**no**"}.get(row["at_minimum"], "-")
        w(f"| `{route}` | {row['calls']} | {ops} | {row['capacity_units']} "
          f"({row['read_units']} / {row['write_units']}) | {row['min_calls']} call(s): "
          f"{row['min_units']} | {at_min} |")
    w("")

    # ---- load
    ld = s.get("load") or {}
    w("## Load\n")
    if "p50_ms" in ld:
        w(f"A mixed run against the twin over HTTP at a fixed {ld['rate_per_s']} requests/s "
          f"for {ld['seconds']:.0f} s (open loop; {ld['planned']} planned, {ld['sent']} sent "
          f"in {ld['elapsed_s']} s). Mix: " + ", ".join(f"{k} {v}" for k, v in
                                                        ld["by_category"].items()) + ".\n")
        if "settle_s" in ld:
            w(f"Before the clock starts, one request per scenario warms the functions, and "
              f"the twin delivers the emails earlier sections left on the stream "
              f"({ld['settle_s']} s). A confirmation is sent once its email has arrived; "
              "its latency counts from then.\n")
        w(f"- p50 **{ld['p50_ms']} ms**, p99 **{ld['p99_ms']} ms**, counted from each "
          "request's scheduled time (a request that waited for a free client counts its "
          f"wait); from the moment it was sent: p50 {ld.get('service_p50_ms')} ms, p99 "
          f"{ld.get('service_p99_ms')} ms")
        w(f"- errors (5xx, transport failures, unexpected 4xx, requests dropped at the "
          f"deadline): **{ld['errors']}** (target {t['load_errors']}; dropped: "
          f"{ld.get('dropped_after_deadline', 0)})")
        w(f"- answered 429 by a rate limit: {ld['rate_limited_429']} (the twin gives every "
          "request the source IP 127.0.0.1, so per-IP limits apply to the whole run)")
        if ld.get("error_samples"):
            w("- first errors: " + "; ".join(f"`{e}`" for e in ld["error_samples"]))
        w("\n| route | requests | p50 (ms) | p99 (ms) |\n|---|---:|---:|---:|")
        for route, row in ld["per_route"].items():
            w(f"| `{route}` | {row['requests']} | {row['p50_ms']} | {row['p99_ms']} |")
        w("")
    else:
        w(f"{ld}\n")

    # ---- flows: email, registrations, comments
    em = s.get("email") or {}
    w("## Email throughput (Notifications)\n")
    if "messages_per_s" in em:
        w(f"Real outbox messages ({', '.join(f'{k} {v}' for k, v in em['kinds'].items())}; "
          "made by registering and confirming guests through the registrations service) copied "
          "into an outbox table of the same schema that the twin's stream pump does not read, "
          f"then handed to the Notifications handler in-process as DynamoDB stream batches of "
          f"{em['batch_size']}; {em['ses']}.\n")
        w(f"- **{em['messages_per_s']} messages/s** rendered and sent: {em['sent']} of "
          f"{em['messages']} sent in {em['handler_seconds']} s of handler time (statuses "
          f"{em['statuses']}, batch item failures {em['batch_item_failures']}). Each message is "
          "one claim, one render (Jinja2 + MIME), one SES SendEmail and one mark-sent write, "
          "in sequence within a batch: this is the rate of one Notifications instance.\n")
    else:
        w(f"{em}\n")
    rg = s.get("registrations") or {}
    w("## Confirmations under contention, and the reminders run\n")
    if "confirmations_per_s" in rg:
        w(f"{rg['guests']} guests registered for {rg['seats']} seats, then all confirmed at "
          f"once from {rg['threads']} threads through `registrations.service.confirm`, against "
          "the twin's DynamoDB Local (every confirmation contends for the same event item).\n")
        w(f"- **{rg['confirmations_per_s']} confirmations/s**: {rg['confirmations']} answered in "
          f"{rg['seconds']} s, outcomes {rg['outcomes']}, errors {rg['confirm_errors']}.")
        rm = rg.get("reminders") or {}
        if rm:
            w(f"- Reminders run for that event's due reminder ({rm['confirmed_registrants']} "
              f"confirmed, {rm['sent']} reminders queued): **{rm['calls_per_100_registrants']} "
              f"DynamoDB calls per 100 confirmed registrants** ({rm['calls']} calls: "
              f"{rm['operations']}), counted with a botocore `before-call` hook. Design "
              f"minimum {rm['design_minimum_per_100']} per 100: {rm['minimum_why']}."
              + (" The one call above it is a last, empty Query page: the confirmed "
                 "registrants filled whole pages, so DynamoDB still returned a "
                 "LastEvaluatedKey after the last one." if rm["calls"] == rm["design_minimum"] + 1
                 and rm["confirmed_registrants"] % 25 == 0 else ""))
        w("")
    else:
        w(f"{rg}\n")
    cm = s.get("comments") or {}
    w("## Comments list on a long thread\n")
    if "ratio" in cm:
        small, large = cm["sizes"]
        w(f"`GET /posts/{{postId}}/comments` (handler in-process, warm, {cm['samples']} samples) "
          f"on a post with {small:,} approved comments and one with {large:,}. The comments "
          "were written with BatchWriteItem, each a copy of the seeded post's approved comment "
          "item (the shape `convene.comments.table` writes) with its own id, keys and thread "
          f"key ({cm['fill_seconds']} s to write); seeding {large:,} through the service and "
          f"moderation would take far longer. Target {t.get('comments_ratio', 1.2)} or less.\n")
        w(f"- p50 {cm['p50_ms'][str(small)]} ms at {small:,}, {cm['p50_ms'][str(large)]} ms at "
          f"{large:,}: ratio **{cm['ratio']}** ({_ok(cm['ratio'], t.get('comments_ratio', 1.2))}"
          f" within target). Items on the first page: {cm.get('first_page_items')}; statuses "
          f"{cm['statuses']}. A page reads as far as its threads need: a first Query of "
          "`limit` + 1 comments, a second only while a thread is still open (sized to the "
          "threads still needed), a third only if that fell short, never more than "
          f"`comments_per_query` + 1 ({cm.get('comments_per_query', 'see the comments config')}"
          " + 1); so on these one-comment threads the long post's first page reads "
          "`limit` + 1 comments where the short one reads all it has.\n")
    else:
        w(f"{cm}\n")

    # ---- cost
    cost = s.get("cost") or {}
    w("## Cost on paper\n")
    if cost:
        wl = cost["workload"]
        w(f"A month of {wl['registrations']:,} registrations, {wl['comments']:,} comments and "
          f"their {wl['emails']:,} emails, from this run's measured calls, capacity and "
          f"durations, at AWS list prices for {cost['prices']['region']} "
          f"({cost['prices']['as_of']}).\n")
        w("Prices used: " + ", ".join(f"{k} {v}" for k, v in cost["prices"].items()
                                      if k not in {"as_of", "region"}) + ".\n")
        for line in cost["lines"]:
            w(f"- {line}")
        for line in cost["missing"]:
            w(f"- {line}")
        w("\n| item | arithmetic | USD / month |\n|---|---|---:|")
        for item, usd in cost["parts_usd"].items():
            w(f"| {item} | {cost['arithmetic'][item]} | {usd:.4f} |")
        w(f"| **total** | | **{cost['total_usd_per_month']:.2f}** |\n")
        for note in cost["notes"]:
            w(f"- {note}")
    w("")
    return "\n".join(out) + "\n"
