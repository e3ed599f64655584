"""Follow-up plans: which days to call, and when revisits and re-exams fall due."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import quote

from language.words import word_list

_PERIOD = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
_CHRONIC_WORDS = word_list("chronic_diagnoses")  # language/data/word_lists.yaml


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(when: str | None, *, start: dt.date) -> dt.date | None:
    """An ISO 8601 period (P2W, P1M, P3D) counted from start, or an ISO date; None if neither."""
    if not when:
        return None
    match = _PERIOD.match(when)
    if match and any(match.groups()):
        years, months, weeks, days = (int(g) if g else 0 for g in match.groups())
        return add_months(start, 12 * years + months) + dt.timedelta(weeks=weeks, days=days)
    try:
        return dt.date.fromisoformat(when)
    except ValueError:
        return None


@dataclass(frozen=True)
class PlanDraft:
    kind: str                      # surgical | medical | chronic
    call_days: tuple[int, ...]
    revisit_due: dt.date | None
    reexam_due: dt.date | None


def plan_kind(*, surgery: bool, chronic: bool, diagnosis: str) -> str:
    if surgery:
        return "surgical"
    lowered = diagnosis.lower()
    if chronic or any(word in lowered for word in _CHRONIC_WORDS):
        return "chronic"
    return "medical"


def draft_plan(*, surgery: bool, chronic: bool, diagnosis: str, item_due_dates: list[tuple[str, dt.date]],
               surgical_days: list[int], medical_days: list[int], chronic_every_days: int,
               chronic_count: int) -> PlanDraft:
    kind = plan_kind(surgery=surgery, chronic=chronic, diagnosis=diagnosis)
    if kind == "surgical":
        days = tuple(sorted(set(surgical_days)))
    elif kind == "medical":
        days = tuple(sorted(set(medical_days)))
    else:
        # Chronic patients: the medical early call(s), then monthly.
        early = [d for d in medical_days if d < chronic_every_days]
        monthly = [chronic_every_days * (i + 1) for i in range(chronic_count)]
        days = tuple(sorted(set(early + monthly)))
    revisits = sorted(d for kind_, d in item_due_dates if kind_ == "revisit")
    reexams = sorted(d for kind_, d in item_due_dates if kind_ == "reexam")
    return PlanDraft(kind=kind, call_days=days, revisit_due=revisits[0] if revisits else None,
                     reexam_due=reexams[0] if reexams else None)


def booking_url(template: str, *, department: str, date: dt.date | None, patient_ref: str) -> str:
    return template.format(department=quote(department, safe=""),
                           date=date.isoformat() if date else "", patient_ref=quote(patient_ref, safe=""))
