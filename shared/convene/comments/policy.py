"""The comments policy and its thresholds: organisers' configuration, not code.

The defaults ship in the layer (convene/config/comments.json). A deployment overrides the
few settings that differ between communities through the function's environment, which
template.yaml fills from its parameters:

    COMMENTS_TRUST_RULE         on | off
    COMMENTS_REPORT_THRESHOLD   reports that hide a comment until a moderator decides
    COMMENTS_MAX_LINKS          links a comment may carry before it is held with a flag
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

CONFIG_FILE = Path(__file__).resolve().parent.parent / "config" / "comments.json"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReasonCode(_Frozen):
    code: str = Field(pattern=r"^[a-z][a-z_]{1,39}$")
    label: str
    description: str = ""


class Policy(_Frozen):
    title: str
    text: str
    reason_codes: tuple[ReasonCode, ...] = Field(min_length=1)


class RateLimit(_Frozen):
    max: int = Field(ge=1)
    window_seconds: int = Field(ge=1)


class RateLimits(_Frozen):
    email: RateLimit
    ip: RateLimit


class Reports(_Frozen):
    hide_threshold: int = Field(ge=1)
    retain_days: int = Field(ge=1)


class Trust(_Frozen):
    enabled: bool
    min_approved: int = Field(ge=0)
    no_rejection_days: int = Field(ge=0)


class Threading(_Frozen):
    max_depth: int = Field(ge=1, le=10)


class Pages(_Frozen):
    threads_default: int = Field(ge=1)
    threads_max: int = Field(ge=1)
    comments_per_query: int = Field(ge=1, le=500)


class Counts(_Frozen):
    max_posts: int = Field(ge=1, le=100)  # BatchGetItem takes at most 100 keys


class CommentsConfig(_Frozen):
    policy: Policy
    max_links: int = Field(ge=0)
    duplicate_window_seconds: int = Field(ge=1)
    rate_limits: RateLimits
    reports: Reports
    trust: Trust
    threading: Threading
    pages: Pages
    counts: Counts
    spam_retain_days: int = Field(ge=1)

    @property
    def reason_codes(self) -> frozenset[str]:
        return frozenset(r.code for r in self.policy.reason_codes)


def _env_overrides(raw: dict, env: dict[str, str]) -> dict:
    if "COMMENTS_TRUST_RULE" in env:
        raw["trust"]["enabled"] = env["COMMENTS_TRUST_RULE"].strip().lower() in {"on", "true", "1"}
    if env.get("COMMENTS_REPORT_THRESHOLD"):
        raw["reports"]["hide_threshold"] = int(env["COMMENTS_REPORT_THRESHOLD"])
    if env.get("COMMENTS_MAX_LINKS"):
        raw["max_links"] = int(env["COMMENTS_MAX_LINKS"])
    return raw


@lru_cache(maxsize=1)
def get_config() -> CommentsConfig:
    """Read once per execution environment; a bad file fails the cold start, loudly."""
    raw = json.loads(CONFIG_FILE.read_text(encoding="utf-8"))
    return CommentsConfig.model_validate(_env_overrides(raw, dict(os.environ)))


def reset() -> None:
    """Forget the parsed configuration (tests that change the environment)."""
    get_config.cache_clear()
