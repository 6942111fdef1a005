"""EventBridge Scheduler (and classic EventBridge schedule rules) for the functions.

Schedules are function events of ``Type: ScheduleV2`` (EventBridge Scheduler) and
``Type: Schedule`` (a classic EventBridge rule). Expressions:

* ``rate(<n> minute|minutes|hour|hours|day|days)``: the unit is singular exactly when n is 1,
  as AWS requires. The first run is one interval after the scheduler starts.
* ``cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)`` in AWS's
  syntax (day-of-week 1-7 is SUN-SAT; one of the two day fields is ``?``): numbers, names
  (JAN, MON), ``*``, ``?``, lists, ranges, steps, ``L`` as day-of-month and ``n#k`` as
  day-of-week. ``W`` and ``nL`` are not: such a schedule is listed with a note and never
  fires on its own (``invoke_at`` still works).
* ``at(yyyy-mm-ddThh:mm:ss)`` (ScheduleV2): once.

ScheduleV2's ``ScheduleExpressionTimezone`` applies to cron and at expressions; ``State:
DISABLED`` (or ``Enabled: false``) keeps a schedule from firing on its own.

The event a function receives (Reminders takes "now" from it):

* ScheduleV2 with ``Input``: that JSON text, with EventBridge Scheduler's context
  attributes substituted: ``<aws.scheduler.scheduled-time>`` (UTC, ``2021-07-21T11:00:00Z``),
  ``<aws.scheduler.execution-id>``, ``<aws.scheduler.schedule-arn>`` and
  ``<aws.scheduler.attempt-number>``.
* ScheduleV2 without ``Input``, and ``Schedule`` without ``Input``: the scheduled-event
  shape of ``events/scheduled-event.json``::

      {"version": "0", "id": "<uuid>", "detail-type": "Scheduled Event",
       "source": "aws.scheduler" (ScheduleV2) | "aws.events" (Schedule),
       "account": "123456789012", "time": "2021-07-21T11:00:00Z", "region": "eu-west-2",
       "resources": ["<schedule or rule ARN>"], "detail": {}}

  where ``time`` is the scheduled time.
* ``Schedule`` with ``Input``: that JSON, as is (a rule's constant input replaces the event).

Invocations fired by the clock run in their own daemon threads (Scheduler invokes Lambda
asynchronously); a failure is logged, not retried (Lambda's asynchronous retries and the
schedule's RetryPolicy are not emulated). A run missed while the twin was not running, or
while the clock jumped, is not made up: the next run is the next one due after "now", as
with EventBridge. ``invoke_at`` runs one invocation synchronously, as if scheduled at
the given time, and returns the function's result.
"""

from __future__ import annotations

import calendar
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from infra.local.runtime import ACCOUNT_ID, FunctionError, Runtime

log = logging.getLogger("infra.local.scheduler")


def utcnow() -> datetime:
    return datetime.now(UTC)


def scheduled_time(at: datetime) -> str:
    """A time as EventBridge writes it: UTC, to the second, ``2021-07-21T11:00:00Z``."""
    return _utc(at).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# ---------------------------------------------------------------- expressions

_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


def parse_rate(expression: str) -> timedelta:
    """``rate(5 minutes)`` -> 5 minutes. ValueError for what AWS would refuse."""
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"not a rate expression: {expression!r}")
    value, unit = int(match.group(1)), match.group(2)
    singular = unit.removesuffix("s")
    if singular not in _UNITS or value < 1:
        raise ValueError(f"not a rate expression: {expression!r}")
    if (value == 1) != (unit == singular):
        raise ValueError(f"{expression!r}: use the singular unit for 1 and the plural otherwise")
    return timedelta(seconds=value * _UNITS[singular])


_MONTHS = {
    name: i + 1
    for i, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


class UnsupportedExpression(ValueError):
    """A valid AWS expression the twin does not evaluate."""


@dataclass(frozen=True)
class CronExpression:
    """An AWS ``cron(...)`` expression, evaluated in a time zone."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: "?" (day-of-week decides)
    last_day: bool
    months: frozenset[int]
    weekdays: frozenset[int] | None  # AWS numbering: 1 = Sunday; None: "?"
    nth_weekday: tuple[int, int] | None  # (weekday, n) for "n#k"
    years: frozenset[int] | None  # None: every year

    @classmethod
    def parse(cls, expression: str) -> CronExpression:
        text = expression.strip()
        if not (text.startswith("cron(") and text.endswith(")")):
            raise ValueError(f"not a cron expression: {expression!r}")
        fields = text[5:-1].split()
        if len(fields) != 6:
            raise ValueError(f"{expression!r}: cron takes six fields")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ValueError(f"{expression!r}: exactly one of day-of-month and day-of-week is '?'")
        if "W" in dom.upper() or (dow.upper().endswith("L") and dow.upper() != "L"):
            raise UnsupportedExpression(f"{expression!r}: W and nL are not emulated")
        nth = None
        weekdays: frozenset[int] | None = None
        if dow != "?":
            if "#" in dow:
                day, _, n = dow.partition("#")
                nth = (_value(day, 1, 7, _DAYS), int(n))
            elif dow.upper() == "L":
                weekdays = frozenset({7})
            else:
                weekdays = _field(dow, 1, 7, _DAYS)
        return cls(
            minutes=_field(minute, 0, 59),
            hours=_field(hour, 0, 23),
            days=None if dom in ("?", "L") else _field(dom, 1, 31),
            last_day=dom == "L",
            months=_field(month, 1, 12, _MONTHS),
            weekdays=weekdays,
            nth_weekday=nth,
            years=None if year == "*" else _field(year, 1970, 2199),
        )

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months or (self.years is not None and day.year not in self.years):
            return False
        aws_weekday = (day.isoweekday() % 7) + 1  # Sunday 1 .. Saturday 7
        if self.nth_weekday is not None:
            weekday, n = self.nth_weekday
            return aws_weekday == weekday and (day.day - 1) // 7 + 1 == n
        if self.weekdays is not None:
            return aws_weekday in self.weekdays
        if self.last_day:
            return day.day == calendar.monthrange(day.year, day.month)[1]
        return self.days is not None and day.day in self.days

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime | None:
        """The first time strictly after ``after`` that matches, in UTC (None if never)."""
        local = _utc(after).astimezone(tz).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = local.date()
        for _ in range(366 * 5):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                        if candidate >= local:
                            return candidate.astimezone(UTC)
            day += timedelta(days=1)
            if self.years is not None and day.year > max(self.years):
                return None
        return None


def _value(text: str, low: int, high: int, names: Mapping[str, int] | None = None) -> int:
    key = text.strip().upper()
    number = names[key] if names and key in names else int(key)
    if not low <= number <= high:
        raise ValueError(f"{text} is outside {low}-{high}")
    return number


def _field(
    text: str, low: int, high: int, names: Mapping[str, int] | None = None
) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(first, low, high, names), _value(last, low, high, names)
        else:
            start = _value(base, low, high, names)
            end = high if step_text else start
        if step < 1 or end < start:
            raise ValueError(f"bad cron field {text!r}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


# ---------------------------------------------------------------- schedules


@dataclass(frozen=True)
class ScheduleInfo:
    """One schedule of the template. ``note`` says why a schedule does not fire on its own
    (disabled, or an expression the twin does not evaluate)."""

    function_id: str
    event_name: str
    kind: str  # "ScheduleV2" or "Schedule"
    expression: str
    timezone: str
    input: str | None
    enabled: bool
    name: str
    arn: str
    note: str | None = None

    @property
    def fires(self) -> bool:
        return self.enabled and self.note is None

    def next_after(self, after: datetime, started: datetime | None = None) -> datetime | None:
        """When it next fires after ``after`` (UTC); for a rate, counted from ``started``."""
        if self.note is not None:
            return None
        expression = self.expression.strip()
        if expression.startswith("rate("):
            interval = parse_rate(expression)
            origin = _utc(started or after)
            periods = max(1, int((_utc(after) - origin) / interval) + 1)
            return origin + periods * interval
        tz = ZoneInfo(self.timezone)
        if expression.startswith("at("):
            moment = datetime.fromisoformat(expression[3:-1].strip()).replace(tzinfo=tz)
            return moment.astimezone(UTC) if moment > _utc(after) else None
        return CronExpression.parse(expression).next_after(after, tz)


def schedules_of(
    doc: Mapping[str, Any],
    *,
    region: str = "eu-west-2",
    account_id: str = ACCOUNT_ID,
    stack: str = "convene-local",
) -> list[ScheduleInfo]:
    """Every ScheduleV2 and Schedule event of the template's functions."""
    out = []
    for fn_id, res in (doc.get("Resources") or {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for event_name, event in ((res.get("Properties") or {}).get("Events") or {}).items():
            kind = (event or {}).get("Type")
            if kind not in ("ScheduleV2", "Schedule"):
                continue
            props = event.get("Properties") or {}
            expression = str(
                props.get("ScheduleExpression" if kind == "ScheduleV2" else "Schedule", "")
            )
            state = str(props.get("State", "ENABLED")).upper()
            enabled = state != "DISABLED" and bool(props.get("Enabled", True))
            name = str(props.get("Name") or f"{stack}-{fn_id}-{event_name}")
            if kind == "ScheduleV2":
                group = str(props.get("GroupName") or "default")
                arn = f"arn:aws:scheduler:{region}:{account_id}:schedule/{group}/{name}"
                timezone = str(props.get("ScheduleExpressionTimezone") or "UTC")
            else:
                arn = f"arn:aws:events:{region}:{account_id}:rule/{name}"
                timezone = "UTC"
            raw_input = props.get("Input")
            if raw_input is not None and not isinstance(raw_input, str):
                raw_input = json.dumps(raw_input)
            note = None if enabled else "disabled in the template"
            try:
                _check_expression(expression, timezone)
            except UnsupportedExpression as exc:
                note = str(exc)
                log.warning("schedule %s.%s will not fire on its own: %s", fn_id, event_name, exc)
            out.append(
                ScheduleInfo(
                    function_id=fn_id,
                    event_name=event_name,
                    kind=kind,
                    expression=expression,
                    timezone=timezone,
                    input=raw_input,
                    enabled=enabled,
                    name=name,
                    arn=arn,
                    note=note,
                )
            )
    return out


def _check_expression(expression: str, timezone: str) -> None:
    ZoneInfo(timezone)
    text = expression.strip()
    if text.startswith("rate("):
        parse_rate(text)
    elif text.startswith("cron("):
        CronExpression.parse(text)
    elif text.startswith("at("):
        datetime.fromisoformat(text[3:-1].strip())
    else:
        raise ValueError(f"not a schedule expression: {expression!r}")


def schedule_event(
    info: ScheduleInfo,
    at: datetime,
    *,
    region: str = "eu-west-2",
    account_id: str = ACCOUNT_ID,
    execution_id: str | None = None,
    attempt: int = 1,
) -> Any:
    """The event the function receives for a run of ``info`` scheduled at ``at``."""
    execution_id = execution_id or str(uuid.uuid4())
    when = scheduled_time(at)
    if info.input is not None:
        text = info.input
        if info.kind == "ScheduleV2":
            for key, value in {
                "<aws.scheduler.scheduled-time>": when,
                "<aws.scheduler.execution-id>": execution_id,
                "<aws.scheduler.schedule-arn>": info.arn,
                "<aws.scheduler.attempt-number>": str(attempt),
            }.items():
                text = text.replace(key, value)
        try:
            return json.loads(text)
        except ValueError:
            return text
    return {
        "version": "0",
        "id": execution_id,
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler" if info.kind == "ScheduleV2" else "aws.events",
        "account": account_id,
        "time": when,
        "region": region,
        "resources": [info.arn],
        "detail": {},
    }


class Scheduler:
    """Fires the template's schedules on their expressions (``start``), or on demand
    (``invoke_at``). ``clock`` says what time it is (UTC); a test may pass its own.
    ``tick``: how often the clock is looked at, at most, in seconds."""

    def __init__(
        self,
        runtime: Runtime,
        doc: Mapping[str, Any],
        *,
        clock: Callable[[], datetime] = utcnow,
        region: str = "eu-west-2",
        account_id: str = ACCOUNT_ID,
        stack: str = "convene-local",
        tick: float = 1.0,
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.tick = tick
        self._schedules = schedules_of(doc, region=region, account_id=account_id, stack=stack)
        known = set(runtime.function_ids())
        for info in self._schedules:
            if info.function_id not in known:
                raise ValueError(
                    f"schedule {info.event_name}: the runtime does not run {info.function_id}"
                )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next: dict[tuple[str, str], datetime | None] = {}
        self._started: datetime | None = None
        self.fired: list[tuple[str, str, datetime]] = []  # (function, event, scheduled time)

    def schedules(self) -> list[ScheduleInfo]:
        """Every schedule of the template, whether or not it fires on its own."""
        return list(self._schedules)

    def next_runs(self) -> dict[str, datetime | None]:
        """``{"<function>.<event>": next scheduled time}`` once started."""
        return {f"{f}.{e}": t for (f, e), t in self._next.items()}

    def _find(self, logical_id: str, event_name: str | None) -> ScheduleInfo:
        found = [
            s
            for s in self._schedules
            if s.function_id == logical_id and (event_name is None or s.event_name == event_name)
        ]
        if not found:
            raise KeyError(
                f"no schedule for {logical_id}" + (f".{event_name}" if event_name else "")
            )
        return found[0]

    def invoke_at(
        self, logical_id: str, at: datetime, *, event_name: str | None = None, attempt: int = 1
    ) -> Any:
        """One invocation of ``logical_id`` as if its schedule fired at ``at`` (a naive
        time is UTC); returns the function's result, or raises ``FunctionError``. With
        several schedules on one function, ``event_name`` picks one (default: the first).
        A function with no schedule gets the scheduled-event shape of a ScheduleV2."""
        try:
            info = self._find(logical_id, event_name)
        except KeyError:
            if logical_id not in self.runtime.function_ids():
                raise
            info = ScheduleInfo(
                function_id=logical_id,
                event_name="Manual",
                kind="ScheduleV2",
                expression="",
                timezone="UTC",
                input=None,
                enabled=False,
                name=f"manual-{logical_id}",
                arn=f"arn:aws:scheduler:{self.region}:{self.account_id}:schedule/default/manual-{logical_id}",
            )
        event = schedule_event(
            info, at, region=self.region, account_id=self.account_id, attempt=attempt
        )
        return self.runtime.invoke(logical_id, event)

    # ------------------------------------------------------------ the clock

    def start(self) -> None:
        """Starts the daemon thread that fires the enabled schedules when due."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._started = _utc(self.clock())
        for info in self._schedules:
            key = (info.function_id, info.event_name)
            self._next[key] = info.next_after(self._started, self._started) if info.fires else None
        self._thread = threading.Thread(target=self._run, name="twin-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops the clock thread (invocations already fired run to their end)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            now = _utc(self.clock())
            for info in self._schedules:
                key = (info.function_id, info.event_name)
                due = self._next.get(key)
                if due is None or due > now:
                    continue
                self._fire(info, due)
                self._next[key] = info.next_after(now, self._started)
            upcoming = [t for t in self._next.values() if t is not None]
            wait = self.tick
            if upcoming:
                wait = max(0.01, min(wait, (min(upcoming) - now).total_seconds()))
            self._stop.wait(wait)

    def _fire(self, info: ScheduleInfo, due: datetime) -> None:
        self.fired.append((info.function_id, info.event_name, due))
        event = schedule_event(info, due, region=self.region, account_id=self.account_id)

        def run() -> None:
            try:
                self.runtime.invoke(info.function_id, event)
                log.info("%s.%s ran for %s", info.function_id, info.event_name, scheduled_time(due))
            except FunctionError as exc:
                log.error(
                    "%s.%s failed for %s: %s",
                    info.function_id,
                    info.event_name,
                    scheduled_time(due),
                    exc.error_type,
                )
            except Exception:
                log.exception("%s.%s could not be invoked", info.function_id, info.event_name)

        threading.Thread(target=run, name=f"twin-schedule-{info.event_name}", daemon=True).start()
