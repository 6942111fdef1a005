"""Privacy: no email address, token or IP address in any public response or log line.

The plugin tests/proof/privacy.py records, for the whole session, every response a Twin
client got and the log of every twin a test started. The checks named `test_the_...` run
after every other test (the plugin moves them last), so they see the whole integration
suite. The first tests here prove the detector itself.
"""

from __future__ import annotations

import pytest

from tests.proof.privacy import RECORDER, log_files, log_lines, scan_text

JWT = (
    "eyJraWQiOiJkdW1teSIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiI4ZDRiMmMxZSIsImF1ZCI6ImNsaWVudC0xIn0"
    ".c2lnbmF0dXJlLWJ5dGVz"
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('{"author": "ann.lee+workshops@example.org"}', "email address"),
        (f"Authorization: Bearer {JWT}", "token (JWT)"),
        ("Location: https://community.example.org/confirm?token=Zx81_kq0LmPa9vTq", "token (link)"),
        ('{"source_ip": "127.0.0.1"}', "IP address"),
        ("client 203.0.113.42 reported", "IP address"),
        ("from 2001:db8::8a2e:370:7334", "IP address"),
    ],
)
def test_the_detector_finds_each_kind_of_personal_data(text: str, kind: str) -> None:
    assert [f.kind for f in scan_text(text, "sample")] == [kind]


@pytest.mark.parametrize(
    "text",
    [
        '{"when": "11:00-12:30 BST, Thursday 22 July 2021", "starts_at": "2021-07-22T10:00:00Z"}',
        "05:28:04 INFO infra.local.gateway: GET /events 200 4652ms",
        "DynamoDB Local at http://127.0.0.1:8000 is ready",
        '{"from": "events@community.example.org"}',
        "python-requests/2.34.2 aws-sdk 1.44.5",
    ],
)
def test_the_detector_leaves_times_versions_endpoints_and_service_addresses_alone(
    text: str,
) -> None:
    assert scan_text(text, "sample", allowed_emails={"events@community.example.org"}) == []


def test_a_token_the_client_sent_is_found_verbatim() -> None:
    token = "tok_4f9a7c2e11b0d3a8c5e6f7a1b2c3d4"  # as long as the tokens Convene issues
    found = scan_text(f'{{"ok": "{token}"}}', "sample", secrets={token})
    assert [f.kind for f in found] == ["a token the client sent"]


def test_a_short_word_the_client_sent_is_not_a_token() -> None:
    found = scan_text('{"error": "unauthorized"}', "sample", secrets={"unauthorized"})
    assert found == []


def test_the_start_up_banner_with_the_demo_users_is_not_a_log_line() -> None:
    text = "  member member@community.example.org pw\n\nCtrl-C stops everything.\n05:28 INFO ok\n"
    assert log_lines(text).strip() == "05:28 INFO ok"


def test_the_integration_suite_shows_no_personal_data_in_public_answers_or_logs() -> None:
    files = log_files()
    if RECORDER.exchanges == 0 and not files:
        pytest.skip("no twin was used in this session")
    assert not RECORDER.errors, f"the recorder could not read answers: {RECORDER.errors[:5]}"
    findings = RECORDER.findings(files)
    summary = (
        f"{RECORDER.exchanges} exchanges seen, {len(RECORDER.public)} public answers and "
        f"{len(files)} twin log(s) scanned, {len(RECORDER.secrets)} client tokens looked for"
    )
    shown = "\n".join(f"  {f}" for f in findings[:40])
    more = f"\n  ... and {len(findings) - 40} more" if len(findings) > 40 else ""
    assert not findings, f"{summary}; personal data found:\n{shown}{more}"
