"""The comments policy: text and reason codes from configuration, not code."""

from __future__ import annotations

import pytest
from convene.comments import policy

from tests.unit.comments.conftest import Api


def test_the_policy_lists_its_text_and_reason_codes(api: Api) -> None:
    answer = api.policy()

    assert answer.status == 200
    assert answer.json["title"] == "Comments policy"
    assert "sign in before posting" in answer.json["text"]
    codes = [r["code"] for r in answer.json["reason_codes"]]
    assert codes == ["off_topic", "abusive", "personal_data", "advertising", "spam", "other"]
    assert all(r["label"] for r in answer.json["reason_codes"])
    assert answer.json["max_body_chars"] == 5000


def test_thresholds_come_from_the_environment_a_deployment_sets(
    comment_config: pytest.MonkeyPatch,
) -> None:
    comment_config.setenv("COMMENTS_TRUST_RULE", "off")
    comment_config.setenv("COMMENTS_REPORT_THRESHOLD", "5")
    comment_config.setenv("COMMENTS_MAX_LINKS", "1")
    policy.reset()

    config = policy.get_config()

    assert config.trust.enabled is False
    assert config.reports.hide_threshold == 5
    assert config.max_links == 1


def test_without_overrides_the_shipped_defaults_apply() -> None:
    policy.reset()

    config = policy.get_config()

    assert config.trust.enabled is True
    assert config.trust.min_approved == 2
    assert config.trust.no_rejection_days == 90
    assert config.reports.hide_threshold == 3
    assert config.duplicate_window_seconds == 600
