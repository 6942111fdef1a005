"""The three Powertools instruments every handler starts with.

The Tracer patches only botocore: that is every call Convene makes (DynamoDB, SES,
Secrets Manager, Scheduler). `patch_all` would also import requests, httpx and the other
libraries the X-Ray SDK knows, which a handler never uses and whose import is paid on
every cold start. On Lambda (`Tracing: Active`) the X-Ray SDK samples locally; outside
Lambda Powertools disables the Tracer.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

TRACED_MODULES = ("botocore",)


def instruments() -> tuple[Logger, Tracer, Metrics]:
    return Logger(), Tracer(patch_modules=TRACED_MODULES), Metrics()
