"""Calling windows and the retry ladder, in hospital time. Pure functions of an injected `now`:
nothing here reads the clock, so tests move time instead of sleeping."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
RETRYABLE_STATUSES = frozenset({"no_answer", "busy", "voicemail", "rejected", "unreachable"})
# A try outcome that stops the ladder at once (the carrier says the number is empty or suspended): no
# retry can reach the patient, a nurse must check the number. Not a call_status of the outcome contract
# (that call ends as `failed`); only call_attempts.call_status carries it.
TERMINAL_STATUSES = frozenset({"not_found"})
_SEARCH_DAYS = 400  # a year of holidays cannot hide every window


@dataclass(frozen=True)
class CallingWindow:
    start_minute: int  # minutes after local midnight
    end_minute: int    # exclusive; 1440 is midnight


def parse_window(text: str) -> CallingWindow:
    """'09:00-11:30' → CallingWindow(540, 690). '24:00' is allowed as an end."""
    match = _WINDOW.match(text)
    if not match:
        raise ValueError(f"calling window {text!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or not 0 <= start < end <= 1440:
        raise ValueError(f"calling window {text!r}: start must be before end, within one day")
    return CallingWindow(start, end)


@dataclass(frozen=True)
class CallingPolicy:
    timezone: ZoneInfo
    windows: tuple[CallingWindow, ...]
    holidays: frozenset[dt.date]
    retry_minutes: tuple[int, ...]
    max_tries: int
    lease: dt.timedelta
    placed_call_timeout: dt.timedelta

    @classmethod
    def build(cls, *, timezone: str, windows: Iterable[str], holidays: Iterable[dt.date] = (),
              retry_minutes: Iterable[int] = (30, 60, 120), max_tries: int = 4, lease_seconds: int = 120,
              placed_call_timeout_s: int = 3600) -> CallingPolicy:
        parsed = tuple(sorted((parse_window(w) for w in windows), key=lambda w: w.start_minute))
        if not parsed:
            raise ValueError("at least one calling window is needed")
        return cls(timezone=ZoneInfo(timezone), windows=parsed, holidays=frozenset(holidays),
                   retry_minutes=tuple(retry_minutes) or (30,), max_tries=max_tries,
                   lease=dt.timedelta(seconds=lease_seconds),
                   placed_call_timeout=dt.timedelta(seconds=placed_call_timeout_s))

    @classmethod
    def from_settings(cls, settings) -> CallingPolicy:  # noqa: ANN001 - suifang.config.Settings
        c = settings.campaigns
        return cls.build(timezone=settings.service.timezone, windows=c.windows, holidays=c.holidays,
                         retry_minutes=c.retry_minutes, max_tries=c.max_tries, lease_seconds=c.lease_seconds,
                         placed_call_timeout_s=c.placed_call_timeout_s)

    def local_date(self, now: dt.datetime) -> dt.date:
        return _aware(now).astimezone(self.timezone).date()

    def next_calling_time(self, at: dt.datetime) -> dt.datetime:
        """`at` itself if calls may be placed then, else the start of the next window (UTC)."""
        local = _aware(at).astimezone(self.timezone)
        for offset in range(_SEARCH_DAYS):
            day = local.date() + dt.timedelta(days=offset)
            if day in self.holidays:
                continue
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=self.timezone)
            for window in self.windows:
                start = midnight + dt.timedelta(minutes=window.start_minute)
                end = midnight + dt.timedelta(minutes=window.end_minute)
                if local < end:
                    return max(start, local).astimezone(dt.timezone.utc)
        raise ValueError("no calling window in the next year (every day a holiday?)")

    def may_call(self, now: dt.datetime) -> bool:
        return self.next_calling_time(now) == _aware(now)

    def retry_at(self, *, tries_done: int, ended_at: dt.datetime) -> dt.datetime:
        """After try n (1-based) failed as no-answer/busy/voicemail: the n-th ladder step later, moved
        into the next window when it falls outside one."""
        step = self.retry_minutes[min(tries_done, len(self.retry_minutes)) - 1]
        return self.next_calling_time(_aware(ended_at) + dt.timedelta(minutes=step))


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
