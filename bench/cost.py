"""Cost on paper: what a month of 10,000 registrations, 10,000 comments and their emails
costs, from the calls and durations measured in this run, at AWS list prices.

The prices are AWS's public on-demand list prices for eu-west-2 (London) as known to the
author on the date below, without the free tier; they are inputs, written out so anyone
can check them against https://aws.amazon.com/pricing and change them here. Every figure
in the result shows its arithmetic.
"""

from __future__ import annotations

from typing import Any

PRICES = {
    "as_of": "2026-11 (list prices for eu-west-2 as known to the author; check before relying)",
    "region": "eu-west-2",
    "lambda_request_per_million": 0.20,
    "lambda_arm64_gb_second": 0.0000133334,
    "api_gateway_rest_per_million": 3.70,
    "dynamodb_on_demand_write_per_million_wru": 0.7425,
    "dynamodb_on_demand_read_per_million_rru": 0.1485,
    "ses_per_thousand_emails": 0.10,
    "secrets_manager_secret_month": 0.40,
    "kms_key_month": 1.00,
    "cloudwatch_logs_ingest_per_gb": 0.5985,
}
MEMORY_GB = 512 / 1024  # template Globals MemorySize
LOG_BYTES_PER_INVOCATION = 1500  # a START/END/REPORT triple and two JSON lines, about


def _route(measured: dict[str, Any], key: str) -> dict[str, Any] | None:
    row = measured.get(key)
    return row if isinstance(row, dict) and "p50_ms" in row else None


def estimate(warm: dict[str, Any], capacity: dict[str, Any]) -> dict[str, Any]:
    """`warm`: route -> {p50_ms}; `capacity`: route -> {calls, read_units, write_units}."""
    registrations, comments = 10_000, 10_000
    flows = [
        # (what, route, how many per month, emails each)
        ("registration (guest)", "POST /events/{eventId}/registrations", registrations, 1),
        ("confirmation click", "POST /registrations/confirm", registrations, 1),
        ("comment", "POST /posts/{postId}/comments", comments, 0),
        ("comment published notice", None, comments // 2, 1),
    ]
    lines: list[str] = []
    total = 0.0
    missing = []
    invocations = api_requests = 0
    gb_seconds = wru = rru = 0.0
    emails = 0
    for what, route, count, mails in flows:
        emails += count * mails
        if route is None:
            continue
        row = _route(warm, route)
        cap = capacity.get(route) or {}
        if row is None:
            missing.append(f"{what} ({route}): not yet implemented, not measured")
            continue
        seconds = max(row["p50_ms"] / 1000, 0.001)
        invocations += count
        api_requests += count
        gb_seconds += count * seconds * MEMORY_GB
        wru += count * float(cap.get("write_units") or 0)
        rru += count * float(cap.get("read_units") or 0)
        lines.append(
            f"{what}: {count:,} x {seconds * 1000:.1f} ms x {MEMORY_GB:g} GB = "
            f"{count * seconds * MEMORY_GB:,.1f} GB-s; {cap.get('write_units', 0)} WRU and "
            f"{cap.get('read_units', 0)} RRU each"
        )
    # Each email: one Notifications invocation (stream batch of 1 at worst), measured
    # duration not available offline (SES is moto): 200 ms assumed and said so.
    send_ms = 200
    invocations += emails
    gb_seconds += emails * send_ms / 1000 * MEMORY_GB
    # The outbox insert is in the writer's measured transaction; the sender then moves
    # the item pending -> sending -> sent (2 UpdateItem, 1 WRU each) and reads the
    # address's suppression partition (1 consistent Query, 1 RRU).
    wru += emails * 2
    rru += emails * 1
    lines.append(
        f"emails: {emails:,} sends; Notifications {emails:,} x {send_ms} ms (assumed) x "
        f"{MEMORY_GB:g} GB = {emails * send_ms / 1000 * MEMORY_GB:,.1f} GB-s; 2 WRU + 1 RRU "
        "each (status updates, suppression check)"
    )
    p = PRICES
    parts = {
        "Lambda requests": invocations / 1e6 * p["lambda_request_per_million"],
        "Lambda duration": gb_seconds * p["lambda_arm64_gb_second"],
        "API Gateway": api_requests / 1e6 * p["api_gateway_rest_per_million"],
        "DynamoDB writes": wru / 1e6 * p["dynamodb_on_demand_write_per_million_wru"],
        "DynamoDB reads": rru / 1e6 * p["dynamodb_on_demand_read_per_million_rru"],
        "SES": emails / 1000 * p["ses_per_thousand_emails"],
        "Secrets Manager (1 secret)": p["secrets_manager_secret_month"],
        "KMS (feedback topic key)": p["kms_key_month"],
        "CloudWatch Logs": (invocations * LOG_BYTES_PER_INVOCATION / 1e9)
        * p["cloudwatch_logs_ingest_per_gb"],
    }
    arithmetic = {
        "Lambda requests": f"{invocations:,} / 1e6 x ${p['lambda_request_per_million']}",
        "Lambda duration": f"{gb_seconds:,.1f} GB-s x ${p['lambda_arm64_gb_second']}",
        "API Gateway": f"{api_requests:,} / 1e6 x ${p['api_gateway_rest_per_million']}",
        "DynamoDB writes": f"{wru:,.0f} WRU / 1e6 x "
        f"${p['dynamodb_on_demand_write_per_million_wru']}",
        "DynamoDB reads": f"{rru:,.0f} RRU / 1e6 x "
        f"${p['dynamodb_on_demand_read_per_million_rru']}",
        "SES": f"{emails:,} / 1000 x ${p['ses_per_thousand_emails']}",
        "Secrets Manager (1 secret)": f"1 x ${p['secrets_manager_secret_month']}",
        "KMS (feedback topic key)": f"1 x ${p['kms_key_month']}",
        "CloudWatch Logs": f"{invocations:,} x {LOG_BYTES_PER_INVOCATION} B / 1e9 x "
        f"${p['cloudwatch_logs_ingest_per_gb']}",
    }
    total = sum(parts.values())
    return {
        "prices": PRICES,
        "workload": {"registrations": registrations, "comments": comments, "emails": emails},
        "lines": lines,
        "missing": missing,
        "parts_usd": {k: round(v, 4) for k, v in parts.items()},
        "arithmetic": arithmetic,
        "total_usd_per_month": round(total, 2),
        "notes": [
            "Free tiers are left out (they would make most of this zero).",
            "Durations are the warm p50 measured in-process on this machine, not Lambda's.",
            "Email sending time is assumed (SES is moto offline).",
        ],
    }
