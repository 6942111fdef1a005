"""The comments policy: text and reason codes from configuration, not code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from convene.comments import policy

from tests.unit.comments.conftest import Api, publish


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


def test_organisers_change_the_policy_and_its_reason_codes_in_the_configuration(
    api: Api, comment_config: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw = json.loads(policy.CONFIG_FILE.read_text(encoding="utf-8"))
    raw["policy"]["text"] = "Be kind: every comment is read by a moderator before it appears."
    raw["policy"]["reason_codes"] = [
        {"code": "unkind", "label": "Unkind", "description": "Not kind to other readers."},
        {"code": "other", "label": "Other"},
    ]
    changed = tmp_path / "comments.json"
    changed.write_text(json.dumps(raw), encoding="utf-8")
    comment_config.setattr(policy, "CONFIG_FILE", changed)
    policy.reset()
    comment_id = publish("You are all wrong about this.")

    answer = api.policy()
    new_code = api.report(comment_id, {"reason": "unkind"})
    old_code = api.report(comment_id, {"reason": "abusive"})

    assert answer.json["text"].startswith("Be kind: every comment is read")
    assert [r["code"] for r in answer.json["reason_codes"]] == ["unkind", "other"]
    assert new_code.status == 202
    assert old_code.status == 422
    assert "reason" in old_code.json["error"]["fields"]
