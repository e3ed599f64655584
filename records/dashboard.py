"""Follow-up figures for the nurse dashboard (and the campaign/metrics work): success and completion
rates, flags by department and by week, adherence, satisfaction, revisits booked.

Every figure is scoped to a set of wards (None = all wards, for an admin)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from records.schema import CallSession, Flag, Outcome, Patient, ScheduledCall, Ward

REACHED_STATUSES = ("completed", "partial")
ADHERENCE_BUCKETS = ("full", "partial", "none", "unknown")


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _in_wards(query: Select, column: Any, ward_ids: Sequence[int] | None) -> Select:
    return query if ward_ids is None else query.where(column.in_(list(ward_ids) or [-1]))


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def dashboard_figures(session: Session, *, ward_ids: Sequence[int] | None, today: dt.date | None = None,
                      tz: dt.tzinfo = dt.timezone.utc, weeks: int = 8) -> dict[str, Any]:
    today = today or dt.datetime.now(tz).date()

    # Follow-up success: scheduled calls due by today, and how many of them reached someone.
    due_query = (select(ScheduledCall.id).join(Patient, Patient.id == ScheduledCall.patient_id)
                 .where(ScheduledCall.due_date <= today, ScheduledCall.status != "cancelled"))
    due_ids = list(session.scalars(_in_wards(due_query, Patient.ward_id, ward_ids)))
    reached = 0
    if due_ids:
        reached = session.scalar(
            select(func.count(func.distinct(CallSession.scheduled_call_id)))
            .join(Outcome, Outcome.call_id == CallSession.id)
            .where(CallSession.scheduled_call_id.in_(due_ids), Outcome.call_status.in_(REACHED_STATUSES))) or 0

    # Outcomes of ended calls.
    outcome_query = (select(Outcome.call_status, Outcome.medication_adherence, Outcome.satisfaction,
                            Outcome.revisit_booked)
                     .join(CallSession, CallSession.id == Outcome.call_id))
    rows = list(session.execute(_in_wards(outcome_query, CallSession.ward_id, ward_ids)))
    calls = len(rows)
    status_counts = Counter(r.call_status for r in rows)
    completed = status_counts.get("completed", 0)
    reached_rows = [r for r in rows if r.call_status in REACHED_STATUSES]
    adherence = Counter(r.medication_adherence for r in reached_rows if r.medication_adherence)
    satisfaction = Counter(int(r.satisfaction) for r in rows if r.satisfaction is not None)
    rated = sum(satisfaction.values())
    revisit_known = [r.revisit_booked for r in rows if r.revisit_booked is not None]

    # Flags by department and by ISO week (Monday) over the last `weeks` weeks.
    flag_query = (select(Flag.level, Flag.created_at, Ward.department)
                  .join(CallSession, CallSession.id == Flag.call_id).join(Ward, Ward.id == CallSession.ward_id))
    flag_rows = list(session.execute(_in_wards(flag_query, CallSession.ward_id, ward_ids)))
    by_department: dict[str, dict[str, int]] = {}
    for level, _at, department in flag_rows:
        counts = by_department.setdefault(department, {"red": 0, "yellow": 0})
        counts[level] = counts.get(level, 0) + 1
    this_monday = today - dt.timedelta(days=today.weekday())
    week_starts = [this_monday - dt.timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    by_week = {w: {"red": 0, "yellow": 0} for w in week_starts}
    for level, at, _department in flag_rows:
        day = _aware(at).astimezone(tz).date()
        monday = day - dt.timedelta(days=day.weekday())
        if monday in by_week:
            by_week[monday][level] = by_week[monday].get(level, 0) + 1

    return {
        "as_of": today.isoformat(),
        "scope": "all" if ward_ids is None else sorted(ward_ids),
        "followup": {"due": len(due_ids), "reached": reached, "success_rate": _rate(reached, len(due_ids))},
        "completion": {"calls": calls, "completed": completed, "rate": _rate(completed, calls),
                       "by_status": dict(sorted(status_counts.items()))},
        "flags_by_department": [{"department": d, **c} for d, c in sorted(by_department.items())],
        "flags_by_week": [{"week": w.isoformat(), **c} for w, c in by_week.items()],
        "medication_adherence": {b: adherence.get(b, 0) for b in ADHERENCE_BUCKETS},
        "satisfaction": {"distribution": {str(s): satisfaction.get(s, 0) for s in range(1, 6)}, "rated": rated,
                         "mean": round(sum(s * n for s, n in satisfaction.items()) / rated, 2) if rated else None},
        "revisit_booked": {"asked": len(revisit_known), "booked": sum(1 for b in revisit_known if b),
                           "rate": _rate(sum(1 for b in revisit_known if b), len(revisit_known))},
    }
