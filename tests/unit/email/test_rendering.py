"""Templates: every kind renders, times are in the event's zone with the zone named,
what people typed is escaped, and a missing variable is an error, not a gap."""

from __future__ import annotations

import pytest
from convene.email.outbox import KINDS
from convene.email.render import TEMPLATES, age, render
from jinja2 import TemplateNotFound, UndefinedError

from tests.unit.email.samples import DATA, message

CREATED = "2021-07-22T09:00:00Z"
SCRIPT = "<script>alert(1)</script>"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_renders_a_subject_text_and_html(kind: str) -> None:
    assert (TEMPLATES / f"{kind}.txt").exists()
    assert (TEMPLATES / f"{kind}.html").exists()

    rendered = render(kind, message(kind).data, created_at=CREATED)

    assert rendered.subject and "\n" not in rendered.subject
    assert rendered.text.strip()
    assert rendered.html.startswith("<!doctype html>")
    assert "Community Space" in rendered.text


def test_the_july_workshop_is_shown_in_london_time_with_the_zone_named() -> None:
    rendered = render("registration_confirmed", DATA["registration_confirmed"], created_at=CREATED)

    assert "11:00-12:30 BST, Thursday 22 July 2021" in rendered.text
    assert "11:00-12:30 BST, Thursday 22 July 2021" in rendered.html


def test_an_offer_expiry_is_shown_in_the_event_zone() -> None:
    rendered = render("waitlist_offer", DATA["waitlist_offer"], created_at=CREATED)

    assert "accept by 12:00 BST, Wednesday 21 July 2021" in rendered.text


def test_a_changed_event_shows_the_new_and_the_old_time() -> None:
    rendered = render("event_changed", DATA["event_changed"], created_at=CREATED)

    assert "It is now 14:00-15:30 BST, Thursday 22 July 2021." in rendered.text
    assert "(It was 11:00-12:30 BST, Thursday 22 July 2021.)" in rendered.text


def test_a_name_with_html_is_escaped_in_the_html_part() -> None:
    data = {**DATA["registration_confirmed"], "name": SCRIPT}

    rendered = render("registration_confirmed", data, created_at=CREATED)

    assert SCRIPT not in rendered.html
    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt;," in rendered.html


def test_an_organisers_message_is_escaped_and_keeps_its_paragraphs() -> None:
    data = {
        **DATA["organiser_message"],
        "subject": "Bring <b>tea</b>",
        "body": 'Line one <img src=x onerror="alert(1)">\nline two\n\nA new paragraph',
    }

    rendered = render("organiser_message", data, created_at=CREATED)

    assert "<img" not in rendered.html and "<b>" not in rendered.html
    assert "Line one &lt;img src=x onerror=&#34;alert(1)&#34;&gt;<br>\nline two" in rendered.html
    assert "<p>A new paragraph</p>" in rendered.html
    assert rendered.subject == "Bring <b>tea</b> (Community Space)"


def test_a_missing_variable_is_an_error_not_an_empty_gap() -> None:
    data = {k: v for k, v in DATA["event_reminder"].items() if k != "joining_url"}

    with pytest.raises(UndefinedError, match="joining_url"):
        render("event_reminder", data, created_at=CREATED)


def test_a_kind_without_templates_is_an_error() -> None:
    with pytest.raises(TemplateNotFound):
        render("workshop_survey", {}, created_at=CREATED)


def test_the_unsubscribe_link_appears_only_when_given() -> None:
    link = "https://community.example.org/email/unsubscribe?token=abc.reminders.def"
    with_link = render(
        "event_reminder", DATA["event_reminder"], created_at=CREATED, unsubscribe_url=link
    )
    without = render("registration_confirmed", DATA["registration_confirmed"], created_at=CREATED)

    assert link in with_link.text and "Don't want reminders?" in with_link.html
    assert "Unsubscribe" not in without.html and "unsubscribe" not in without.text.lower()


def test_the_digest_says_how_long_the_oldest_comment_has_waited() -> None:
    rendered = render("moderation_digest", DATA["moderation_digest"], created_at=CREATED)

    assert "4 comments waiting for review and 1 reported" in rendered.text
    assert "The oldest has waited 2 hours." in rendered.text
    assert age("2021-07-20T09:00:00Z", CREATED) == "2 days"
    assert age("2021-07-22T08:59:00Z", CREATED) == "1 minute"


def test_the_digest_says_when_the_next_caught_comment_goes_only_if_one_is_kept() -> None:
    kept = {**DATA["moderation_digest"], "spam_next_deletion_at": "2021-08-21T09:00:00Z"}

    with_spam = render("moderation_digest", kept, created_at=CREATED)
    without = render("moderation_digest", DATA["moderation_digest"], created_at=CREATED)

    line = "the next is deleted at 09:00 UTC, Saturday 21 August 2021 unless a moderator"
    assert line in with_spam.text and line in with_spam.html
    assert "spam" not in without.text.lower() and "spam" not in without.html.lower()


def test_the_digest_gives_the_deletion_time_in_the_community_zone() -> None:
    def line(when: str) -> str:
        data = {**DATA["moderation_digest"], "spam_next_deletion_at": when}
        rendered = render(
            "moderation_digest", {**data, "timezone": "Europe/London"}, created_at=CREATED
        )
        assert rendered.text.count("deleted at") == 1
        shown = rendered.text.split("deleted at ", 1)[1].split(" unless", 1)[0]
        assert f"deleted at {shown} unless" in rendered.html
        return shown

    # Summer time and winter time, each named, so nobody has to work out the offset.
    assert line("2021-08-21T09:00:00Z") == "10:00 BST, Saturday 21 August 2021"
    assert line("2021-12-04T09:00:00Z") == "09:00 GMT, Saturday 4 December 2021"


# Not typed by a person: links (validated http(s) when the item is written), times and zones.
_NOT_TYPED = {"starts_at", "ends_at", "timezone", "offer_expires_at", "oldest_waiting_since", "url"}


def _typed_as_script(value: object, key: str = "") -> object:
    if isinstance(value, dict):
        return {k: _typed_as_script(v, k) for k, v in value.items()}
    if isinstance(value, str) and key not in _NOT_TYPED and not key.endswith("_url"):
        return f"{SCRIPT} {value}"
    return value


# Every kind with something a person typed (the digest has only counts, times and links).
TYPED_KINDS = sorted(k for k in KINDS if _typed_as_script(DATA[k]) != DATA[k])


def test_every_kind_but_the_digest_shows_something_a_person_typed() -> None:
    assert set(KINDS) - set(TYPED_KINDS) == {"moderation_digest"}


@pytest.mark.parametrize("kind", TYPED_KINDS)
def test_html_in_any_variable_of_any_kind_is_escaped_in_the_html_part(kind: str) -> None:
    data = _typed_as_script(message(kind).data)

    rendered = render(kind, data, created_at=CREATED)  # type: ignore[arg-type]

    assert "<script" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    # The text part is plain text: what was typed is shown as typed.
    assert SCRIPT in rendered.text


def _at(starts_at: str, ends_at: str, timezone: str) -> str:
    data = {
        **DATA["registration_confirmed"],
        "event": {
            "title": "Community Space",
            "starts_at": starts_at,
            "ends_at": ends_at,
            "timezone": timezone,
        },
    }
    return render("registration_confirmed", data, created_at=CREATED).text


def test_a_winter_workshop_is_shown_in_gmt() -> None:
    text = _at("2021-12-09T11:00:00Z", "2021-12-09T12:30:00Z", "Europe/London")

    assert "11:00-12:30 GMT, Thursday 9 December 2021" in text


def test_a_workshop_elsewhere_is_shown_in_its_own_zone_named() -> None:
    text = _at("2021-07-22T15:00:00Z", "2021-07-22T16:30:00Z", "America/New_York")

    assert "11:00-12:30 EDT, Thursday 22 July 2021" in text


def test_a_workshop_past_midnight_names_both_days() -> None:
    text = _at("2021-07-22T22:00:00Z", "2021-07-23T00:30:00Z", "Europe/London")

    assert "23:00 BST, Thursday 22 July 2021 - 01:30 BST, Friday 23 July 2021" in text
