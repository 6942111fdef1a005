"""The offline twin itself: what `python -m infra.local up` promises, checked over HTTP."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import jwt
import pytest
import requests

from infra.local import template
from infra.local.aws_twin import client as aws_client
from infra.local.local_routes import subscribers
from tests.integration.twin import ROOT, Twin, TwinProcess, twin_environment

LONDON = ZoneInfo("Europe/London")


def error_shape(response: requests.Response) -> dict[str, object]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return dict(body["error"])


# ---------------------------------------------------------------- /_local/config


def test_config_lists_the_demo_users_with_their_groups_and_passwords(twin: Twin) -> None:
    users = {u["role"]: u for u in twin.config["users"]}
    assert set(users) == {"member", "moderator", "moderator2", "organiser"}
    assert users["member"]["groups"] == ["members"]
    assert users["moderator"]["groups"] == ["moderators"]
    assert users["moderator2"]["groups"] == ["moderators"]
    assert users["organiser"]["groups"] == ["organisers"]
    for user in users.values():
        assert user["email"].endswith("@community.example.org")
        assert len(user["password"]) >= 12


def test_config_gives_endpoints_on_loopback_only_and_the_tables_of_the_template(twin: Twin) -> None:
    config = twin.config
    for key in ("api_url", "dynamodb_endpoint", "moto_endpoint", "jwks_url"):
        assert config[key].startswith("http://127.0.0.1:"), key
    assert config["region"] == "eu-west-2"
    assert (
        config["issuer"] == f"https://cognito-idp.eu-west-2.amazonaws.com/{config['user_pool_id']}"
    )
    assert config["tables"]["MainTable"] == "convene-local-MainTable"
    env = config["environment"]
    assert env["TABLE_NAME"] == config["tables"]["MainTable"]
    assert env["USER_POOL_CLIENT_ID"] == config["client_id"]
    assert env["COGNITO_ISSUER"] == config["issuer"]
    assert env["SIGNING_SECRET_ARN"].startswith(
        "arn:aws:secretsmanager:eu-west-2:123456789012:secret:"
    )
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == config["dynamodb_endpoint"]
    assert env["AWS_ENDPOINT_URL"] == config["moto_endpoint"]
    assert not [k for k, v in env.items() if "Ref" in v or "Fn::" in v], (
        "unresolved template values"
    )


def test_the_user_pool_key_set_is_served_where_the_functions_look_for_it(twin: Twin) -> None:
    keys = requests.get(twin.config["jwks_url"], timeout=10).json()["keys"]
    assert keys and keys[0]["kty"] == "RSA"


# ---------------------------------------------------------------- tokens and routes


def test_an_unknown_route_is_404_in_the_one_error_shape(twin: Twin) -> None:
    response = twin.get("/no/such/route")
    assert response.status_code == 404
    assert error_shape(response)["code"] == "not_found"


def test_an_organisers_route_without_a_token_is_401_in_the_one_error_shape(twin: Twin) -> None:
    response = twin.post("/admin/events", json={})
    assert response.status_code == 401
    assert error_shape(response)["code"] == "unauthorized"


def test_a_token_that_was_tampered_with_is_refused(twin: Twin) -> None:
    header, payload, signature = twin.id_token("organiser").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["cognito:groups"] = ["organisers", "moderators"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    response = twin.post(
        "/admin/events", json={}, headers={"Authorization": f"Bearer {header}.{forged}.{signature}"}
    )
    assert response.status_code == 401


def test_a_real_id_token_from_the_pool_carries_the_users_email_and_groups(twin: Twin) -> None:
    claims = jwt.decode(twin.id_token("moderator2"), options={"verify_signature": False})
    assert claims["iss"] == twin.config["issuer"]
    assert claims["aud"] == twin.config["client_id"]
    assert claims["token_use"] == "id"
    assert claims["email"] == "moderator2@community.example.org"
    assert claims["cognito:groups"] == ["moderators"]


def _draft(title: str) -> dict[str, object]:
    start = (datetime.now(LONDON) + timedelta(days=60)).replace(
        hour=11, minute=0, second=0, microsecond=0
    )
    return {
        "title": title,
        "summary": "Planning the next season of Community Space together.",
        "series_id": "community-space",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=90)).isoformat(),
        "timezone": "Europe/London",
        "capacity": 30,
    }


def test_an_organiser_signed_in_through_the_pool_creates_a_draft_event(twin: Twin) -> None:
    response = twin.post(
        "/admin/events",
        json=_draft("Community Space: planning 2027"),
        headers=twin.headers("organiser"),
    )
    assert response.status_code == 201, response.text
    event = response.json()
    assert event["status"] == "draft"
    assert event["title"] == "Community Space: planning 2027"


def test_a_member_is_not_allowed_on_an_organisers_route(twin: Twin) -> None:
    response = twin.post(
        "/admin/events",
        json=_draft("Community Space: not mine to plan"),
        headers=twin.headers("member"),
    )
    assert response.status_code == 403
    assert error_shape(response)["code"] == "forbidden"


def test_the_token_command_prints_a_token_the_gateway_accepts(twin: Twin) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "infra.local", "token", "organiser", "--url", twin.base_url],
        cwd=ROOT,
        env=twin_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    token = out.stdout.strip()
    assert token.count(".") == 2
    response = twin.post("/admin/events", json={}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422  # past the authorizer; the empty draft is invalid


# ---------------------------------------------------------------- seed data


def test_the_seeded_upcoming_workshops_are_listed_and_the_2021_one_is_not(twin: Twin) -> None:
    response = twin.get("/events", params={"series": "community-space"})
    assert response.status_code == 200, response.text
    items = {e["id"]: e for e in response.json()["items"]}
    assert "community-space-2021-07-22" not in items
    seeded = sorted(
        (e for e in items.values() if e["id"].startswith("community-space-")),
        key=lambda e: e["starts_at"],
    )
    members = [e for e in seeded if e["audience"] == "members" and e["capacity"] == 100]
    public = [e for e in seeded if e["audience"] == "public" and e["capacity"] == 30]
    assert members and public
    first, second = members[0], public[0]
    starts = [
        datetime.fromisoformat(e["starts_at"].replace("Z", "+00:00")).astimezone(LONDON)
        for e in (first, second)
    ]
    assert [s.strftime("%A %H:%M") for s in starts] == ["Thursday 11:00", "Thursday 11:00"]
    assert starts[1].date() - starts[0].date() == timedelta(days=28)
    assert first["id"] == f"community-space-{starts[0].date().isoformat()}"
    assert "joining_url" not in first


def test_the_july_2021_workshop_is_seeded_and_published(twin: Twin) -> None:
    response = twin.get("/events/community-space-2021-07-22")
    assert response.status_code == 200, response.text
    event = response.json()
    assert event["title"] == "Community Space: learning from our experiences together"
    assert event["when"] == "11:00-12:30 BST, Thursday 22 July 2021"
    assert event["status"] == "published"
    assert event["registration_open"] is False


def test_the_seeded_blog_post_has_its_first_comment_published(twin: Twin) -> None:
    response = twin.get("/posts/this-is-your-community-space/comments")
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["post_id"] == "this-is-your-community-space"
    first = page["comments"][0]
    assert first["author_name"] == "Amara Okafor"  # the demo member
    assert first["by_member"] is True
    assert "July workshop" in first["body_html"]


# ---------------------------------------------------------------- the mail view


def _raw_mail(to: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Community Space <events@community.example.org>"
    msg["To"] = to
    msg["Subject"] = "You're registered: Community Space, Thursday 22 July 2021"
    msg["List-Unsubscribe"] = "<https://community.example.org/unsubscribe?t=abc>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content("See you at 11:00-12:30 BST, Thursday 22 July 2021.")
    msg.add_alternative(
        "<p>See you at <b>11:00-12:30 BST</b>, Thursday 22 July 2021.</p>", subtype="html"
    )
    msg.add_attachment(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
        subtype="calendar",
        filename="community-space.ics",
    )
    return msg.as_bytes()


def test_an_ses_v2_raw_send_through_moto_shows_in_the_mail_view_decoded(twin: Twin) -> None:
    to = f"guest-{uuid.uuid4().hex[:8]}@example.org"
    sesv2 = aws_client("sesv2", twin.config["moto_endpoint"], twin.config["region"])
    sesv2.send_email(
        FromEmailAddress="events@community.example.org",
        Destination={"ToAddresses": [to]},
        Content={"Raw": {"Data": _raw_mail(to)}},
    )
    mail = twin.mail(to=to)
    assert len(mail) == 1
    item = mail[0]
    assert item["to"] == [to]
    assert item["subject"] == "You're registered: Community Space, Thursday 22 July 2021"
    assert "11:00-12:30 BST" in item["text"]
    assert "<b>11:00-12:30 BST</b>" in item["html"]
    assert (
        item["headers"]["List-Unsubscribe"] == "<https://community.example.org/unsubscribe?t=abc>"
    )
    (ics,) = item["attachments"]
    assert ics["filename"] == "community-space.ics"
    assert ics["content_type"] == "text/calendar"
    assert "BEGIN:VCALENDAR" in ics["text"]
    assert datetime.fromisoformat(item["sent_at"].replace("Z", "+00:00"))


def test_a_simple_send_shows_too_and_the_mail_view_can_be_cleared(twin: Twin) -> None:
    to = f"member-{uuid.uuid4().hex[:8]}@example.org"
    sesv2 = aws_client("sesv2", twin.config["moto_endpoint"], twin.config["region"])
    sesv2.send_email(
        FromEmailAddress="events@community.example.org",
        Destination={"ToAddresses": [to]},
        Content={
            "Simple": {
                "Subject": {"Data": "Reminder: Community Space tomorrow"},
                "Body": {"Text": {"Data": "Tomorrow at 11:00."}},
            }
        },
    )
    (item,) = twin.mail(to=to)
    assert item["subject"] == "Reminder: Community Space tomorrow"
    assert item["text"] == "Tomorrow at 11:00."
    twin.clear_mail()
    assert twin.mail() == []


# ---------------------------------------------------------------- the other /_local routes


def test_a_scheduled_function_runs_as_if_its_schedule_fired_at_the_time_asked(
    twin: Twin,
) -> None:
    scheduled = [
        logical_id
        for logical_id, res in template.resources(kind="AWS::Serverless::Function").items()
        for e in ((res.get("Properties") or {}).get("Events") or {}).values()
        if e.get("Type") in {"Schedule", "ScheduleV2"}
    ]
    if not scheduled:
        pytest.skip("no function has a Schedule or ScheduleV2 event in template.yaml yet")
    short = scheduled[0].removesuffix("Function")
    result = twin.invoke(short, at="2021-07-21T11:00:00Z")
    assert result["function"] == scheduled[0]
    assert result["at"] == "2021-07-21T11:00:00Z"


def test_invoking_a_function_the_template_does_not_have_is_404(twin: Twin) -> None:
    response = twin.post("/_local/invoke/NoSuchFunction")
    assert response.status_code == 404
    assert error_shape(response)["code"] == "not_found"


def test_an_sns_message_for_a_topic_the_template_does_not_have_is_404(twin: Twin) -> None:
    response = twin.post("/_local/sns/NoSuchTopic", json={"notificationType": "Bounce"})
    assert response.status_code == 404


def test_drain_answers_once_the_streams_are_processed(twin: Twin) -> None:
    twin.drain(timeout=30)


def test_an_sns_message_reaches_the_functions_subscribed_to_the_topic(twin: Twin) -> None:
    doc = template.load()
    topics = [t for t in twin.config["topics"] if subscribers(doc, t)]
    if not topics:
        pytest.skip("no function subscribes to an SNS topic in template.yaml")
    topic = topics[0]
    bounce = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": f"gone-{uuid.uuid4().hex[:8]}@example.org"}],
            "timestamp": "2021-07-21T11:00:00.000Z",
            "feedbackId": str(uuid.uuid4()),
        },
        "mail": {
            "timestamp": "2021-07-21T11:00:00.000Z",
            "source": "events@community.example.org",
            "messageId": str(uuid.uuid4()),
            "destination": ["gone@example.org"],
        },
    }
    result = twin.sns(topic, bounce)
    assert [d["function"] for d in result["delivered_to"]] == subscribers(doc, topic)


def test_a_guests_registration_email_travels_the_whole_pipeline_to_the_mail_view(
    twin: Twin,
) -> None:
    """gateway -> Registrations -> outbox stream -> pump -> Notifications -> moto SES -> mail"""
    paths = {
        (e.get("Properties") or {}).get("Path")
        for res in template.resources(kind="AWS::Serverless::Function").values()
        for e in ((res.get("Properties") or {}).get("Events") or {}).values()
    }
    if "/events/{eventId}/registrations" not in paths:
        pytest.skip("POST /events/{eventId}/registrations is not in template.yaml yet")
    events = twin.get("/events", params={"series": "community-space"}).json()["items"]
    public = next(e for e in events if e["audience"] == "public")
    guest = f"guest-{uuid.uuid4().hex[:8]}@example.org"
    response = twin.post(
        f"/events/{public['id']}/registrations",
        json={"name": "Sam Guest", "email": guest, "consent": True},
    )
    assert response.status_code == 202, response.text
    twin.drain()
    mail = twin.mail(to=guest)
    assert len(mail) == 1, mail
    assert mail[0]["subject"]


def test_data_persists_across_restarts_seeding_keeps_edits_and_reset_wipes(
    tmp_path: Path,
) -> None:
    first = _persistent(tmp_path)
    try:
        twin = first.wait_ready()
        past = "community-space-2021-07-22"
        edited = "Community Space: learning together (notes added)"
        response = twin.patch(
            f"/admin/events/{past}", json={"title": edited}, headers=twin.headers("organiser")
        )
        assert response.status_code == 200, response.text
    finally:
        first.stop()

    second = _persistent(tmp_path)
    try:
        twin = second.wait_ready()
        assert twin.get(f"/events/{past}").json()["title"] == edited
        assert "0 created, 3 kept" in second.output()  # the tables
        assert "0 created, 5 kept" in second.output()  # the seed
    finally:
        second.stop()

    third = _persistent(tmp_path, "--reset")
    try:
        twin = third.wait_ready()
        assert twin.get(f"/events/{past}").json()["title"] == (
            "Community Space: learning from our experiences together"
        )
    finally:
        third.stop()


def _persistent(tmp_path: Path, *extra: str) -> TwinProcess:
    """A twin keeping its data under tmp_path/data (not --in-memory)."""
    return TwinProcess(
        tmp_path / f"run-{uuid.uuid4().hex[:6]}", *extra, persistent_dir=tmp_path / "data"
    )


# ---------------------------------------------------------------- starting and stopping


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_ctrl_c_stops_the_twin_and_its_dynamodb_local(tmp_path: Path) -> None:
    process = TwinProcess(tmp_path, "--no-seed")
    try:
        twin = process.wait_ready()
        pids = twin.config["pids"]
        assert _alive(pids["dynamodb_local"])
        process.signal(2)  # SIGINT, as Ctrl-C in a terminal
        process.proc.wait(30)
        assert process.proc.returncode == 0, process.output()
        deadline = time.monotonic() + 10
        while _alive(pids["dynamodb_local"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pids["dynamodb_local"]), "DynamoDB Local outlived the twin"
        assert "stopped." in process.output()
    finally:
        process.stop()


def test_a_port_in_use_stops_the_start_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "infra.local",
                "up",
                "--in-memory",
                "--data-dir",
                str(tmp_path),
                "--gateway-port",
                str(port),
                "--dynamodb-port",
                "0",
                "--moto-port",
                "0",
            ],
            cwd=ROOT,
            env=twin_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode != 0
    assert f"port {port}" in out.stdout + out.stderr
    assert "--gateway-port" in out.stdout + out.stderr


def test_without_java_the_start_says_how_to_install_it(tmp_path: Path) -> None:
    env = {**twin_environment(), "PATH": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "infra.local", "up", "--in-memory", "--data-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "apt-get install openjdk-17-jre-headless" in out.stdout + out.stderr


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_a_twin_killed_outright_leaves_no_dynamodb_local_behind(tmp_path: Path) -> None:
    process = TwinProcess(tmp_path, "--no-seed")
    try:
        pids = process.wait_ready().config["pids"]
        os.kill(pids["twin"], 9)  # no handler runs: the kernel's parent-death signal does it
        process.proc.wait(10)
        deadline = time.monotonic() + 15
        while _alive(pids["dynamodb_local"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pids["dynamodb_local"])
    finally:
        process.stop()
