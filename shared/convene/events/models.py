"""Events: what organisers send, what is stored, and what each audience may see.

Inputs forbid unknown fields, so a typo is a 422 naming the field rather than a value
silently dropped. Outputs are explicit models: a field added to the stored event never
reaches a public response unless someone adds it to `PublicEvent` on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from convene.forms import FormFriendly
from convene.timefmt import utc_iso, when, zone

# Ids chosen by people (series, seeded events) or generated ("evt_" + 12 hex).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
QUESTION_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"

Audience = Literal["public", "members"]
EventStatus = Literal["draft", "published", "cancelled"]
QuestionKind = Literal["text", "long_text", "choice", "choices", "checkbox"]
CHOICE_KINDS = frozenset({"choice", "choices"})


# Workshops happen in living memory; a year outside this is a typo, and the far ends of
# datetime's range cannot even be moved between zones.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2200


def _utc_seconds(moment: datetime) -> datetime:
    # Stored and compared in UTC at whole seconds: the stored form is utc_iso().
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return moment.astimezone(UTC).replace(microsecond=0)


def _known_zone(name: str) -> str:
    zone(name)  # ValueError("unknown time zone ...") for anything tzdata does not know
    return name


def _unique_reminders(minutes: list[int]) -> list[int]:
    if len(set(minutes)) != len(minutes):
        raise ValueError("each reminder must be at a different time")
    return sorted(minutes, reverse=True)


def _unique_question_ids(questions: list[Question]) -> list[Question]:
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise ValueError("each question needs its own id")
    return questions


# A moment as the API accepts it: with a zone (a naive time is a 422), kept in UTC.
Moment = Annotated[AwareDatetime, AfterValidator(_utc_seconds)]
# A moment as the API answers it: UTC with a trailing Z, e.g. "2021-07-22T10:00:00Z".
UtcMoment = Annotated[
    datetime,
    PlainSerializer(utc_iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "example": "2021-07-22T10:00:00Z"}),
]
Title = Annotated[str, Field(min_length=1, max_length=200)]
Summary = Annotated[str, Field(max_length=2000)]
SeriesId = Annotated[str, Field(pattern=ID_PATTERN)]
ZoneName = Annotated[
    str,
    Field(max_length=64, description="IANA time zone the event is shown in"),
    AfterValidator(_known_zone),
]
Capacity = Annotated[int, Field(ge=0, le=100_000)]
RetentionDays = Annotated[int, Field(ge=1, le=3650)]
Reminders = Annotated[
    list[Annotated[int, Field(ge=1, le=43_200)]],
    Field(max_length=10, description="Minutes before the start; each 1..43200, all different"),
    AfterValidator(_unique_reminders),
]


class Question(BaseModel):
    """A question the event asks each registrant."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Annotated[str, Field(pattern=QUESTION_ID_PATTERN)]
    label: Annotated[str, Field(min_length=1, max_length=300)]
    kind: QuestionKind
    required: bool = False
    options: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=50)
    ] = Field(default_factory=list)

    @model_validator(mode="after")
    def _options_fit_the_kind(self) -> Self:
        if self.kind in CHOICE_KINDS:
            if len(self.options) < 2:
                raise ValueError(f"a {self.kind} question needs at least two options")
            if len(set(self.options)) != len(self.options):
                raise ValueError("each option must be different")
        elif self.options:
            raise ValueError(f"a {self.kind} question has no options")
        return self


Questions = Annotated[list[Question], Field(max_length=30), AfterValidator(_unique_question_ids)]


def _ends_after_start(ends_at: datetime | None, info: ValidationInfo) -> datetime | None:
    starts_at = info.data.get("starts_at")
    if ends_at is not None and starts_at is not None and ends_at <= starts_at:
        raise ValueError("must be after the start")
    return ends_at


def _closes_by_start(closes_at: datetime | None, info: ValidationInfo) -> datetime | None:
    starts_at = info.data.get("starts_at")
    if closes_at is not None and starts_at is not None and closes_at > starts_at:
        raise ValueError("must not be after the start")
    return closes_at


# ---------------------------------------------------------------- inputs


class SeriesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title
    summary: Summary = ""


class EventDraft(FormFriendly):
    """A new event, as an organiser writes it. It starts as a draft, seen only by organisers."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title
    summary: Summary = ""
    series_id: SeriesId | None = None
    starts_at: Moment
    ends_at: Moment
    timezone: ZoneName = "Europe/London"
    capacity: Capacity
    audience: Audience = "public"
    waitlist: bool = True
    joining_url: HttpUrl | None = Field(
        None, description="Private: only organisers and confirmed registrants see it."
    )
    registration_closes_at: Moment | None = Field(
        None, description="When registration closes; the start when left out. Not after the start."
    )
    reminders_minutes_before: Reminders = Field(default_factory=lambda: [1440, 60])
    questions: Questions = Field(default_factory=list)
    retention_days: RetentionDays = Field(
        90, description="Days after the end when registrants' personal data is removed."
    )

    _ends = field_validator("ends_at")(_ends_after_start)
    _closes = field_validator("registration_closes_at")(_closes_by_start)


class EventPatch(FormFriendly):
    """Changes to an event: only the fields sent change. `status: published` publishes a draft."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title | None = None
    summary: Summary | None = None
    series_id: SeriesId | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    timezone: ZoneName | None = None
    capacity: Capacity | None = None
    audience: Audience | None = None
    waitlist: bool | None = None
    joining_url: HttpUrl | None = None
    registration_closes_at: Moment | None = None
    reminders_minutes_before: Reminders | None = None
    questions: Questions | None = None
    retention_days: RetentionDays | None = None
    status: Literal["published"] | None = Field(None, description="Send `published` to publish.")
    version: Annotated[int, Field(ge=1)] | None = Field(
        None,
        description="The version the organiser edited; 409 if the event changed since then.",
    )

    # Checked here when both ends are in the patch; against the stored event in the service.
    _ends = field_validator("ends_at")(_ends_after_start)
    _closes = field_validator("registration_closes_at")(_closes_by_start)


# ---------------------------------------------------------------- stored


class Series(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    title: str
    summary: str = ""
    created_at: AwareDatetime
    updated_at: AwareDatetime


class Event(BaseModel):
    """An event as stored. Other capabilities read it through `service.get_event`.

    `seats_taken` is changed only by registrations, in the same transaction as the
    registration that takes or frees the seat.
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    title: str
    summary: str = ""
    series_id: str | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: str
    capacity: int
    seats_taken: int = 0
    audience: Audience = "public"
    waitlist: bool = True
    joining_url: str | None = None
    registration_closes_at: AwareDatetime
    reminders_minutes_before: list[int] = Field(default_factory=list)
    questions: list[Question] = Field(default_factory=list)
    retention_days: int = 90
    status: EventStatus
    version: int
    sequence: int = 0  # iCalendar SEQUENCE: goes up when the time changes
    organiser: str  # who created it (Cognito sub)
    updated_by: str | None = None  # who last edited it
    created_at: AwareDatetime
    updated_at: AwareDatetime
    published_at: AwareDatetime | None = None

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.seats_taken, 0)

    @property
    def when(self) -> str:
        return when(self.starts_at, self.ends_at, self.timezone)

    def registration_open(self, now: datetime) -> bool:
        """Published, before the close of registration, and a seat or a waiting list to join."""
        return (
            self.status == "published"
            and now < self.registration_closes_at
            and (self.seats_left > 0 or self.waitlist)
        )

    def draft_fields(self) -> dict[str, Any]:
        """The fields an organiser controls, in EventDraft's shape (for applying a patch)."""
        return self.model_dump(include=set(EventDraft.model_fields))


# ---------------------------------------------------------------- outputs


class PublicQuestion(BaseModel):
    id: str
    label: str
    kind: QuestionKind
    required: bool
    options: list[str]


class PublicEvent(BaseModel):
    """An event as anyone may see it: no joining link, no organiser, no internals."""

    id: str
    title: str
    summary: str
    series_id: str | None
    starts_at: UtcMoment
    ends_at: UtcMoment
    timezone: str = Field(description="IANA zone the event is shown in")
    when: str = Field(examples=["11:00-12:30 BST, Thursday 22 July 2021"])
    capacity: int
    seats_left: int
    audience: Audience
    waitlist: bool = Field(description="Whether a full event takes people on a waiting list")
    status: Literal["published", "cancelled"]
    registration_open: bool
    registration_closes_at: UtcMoment
    questions: list[PublicQuestion]

    @classmethod
    def of(cls, event: Event, *, now: datetime) -> PublicEvent:
        if event.status == "draft":
            raise ValueError("a draft has no public view")
        return cls(
            id=event.id,
            title=event.title,
            summary=event.summary,
            series_id=event.series_id,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            timezone=event.timezone,
            when=event.when,
            capacity=event.capacity,
            seats_left=event.seats_left,
            audience=event.audience,
            waitlist=event.waitlist,
            status=event.status,
            registration_open=event.registration_open(now),
            registration_closes_at=event.registration_closes_at,
            questions=[PublicQuestion(**q.model_dump()) for q in event.questions],
        )


class EventPage(BaseModel):
    items: list[PublicEvent]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page."
    )


class AdminEvent(BaseModel):
    """An event as organisers see it, private fields included."""

    id: str
    title: str
    summary: str
    series_id: str | None
    starts_at: UtcMoment
    ends_at: UtcMoment
    timezone: str
    when: str
    capacity: int
    seats_taken: int
    seats_left: int
    audience: Audience
    waitlist: bool
    joining_url: str | None
    registration_closes_at: UtcMoment
    reminders_minutes_before: list[int]
    questions: list[Question]
    retention_days: int
    status: EventStatus
    version: int = Field(description="Send it back in a PATCH to guard against lost edits.")
    sequence: int
    created_at: UtcMoment
    updated_at: UtcMoment
    published_at: UtcMoment | None

    @classmethod
    def of(cls, event: Event) -> AdminEvent:
        data = event.model_dump(exclude={"organiser", "updated_by"})
        return cls(**data, when=event.when, seats_left=event.seats_left)
