"""Prometheus metrics: counts read from the record store at scrape time, and the turn latency histogram.

Only counts leave this module — labelled by call status, flag level, department, review level —
never a patient, a name, a phone number or an id. The counts use the same tables and the same
definitions as records/dashboard.py, so /metrics and the nurse dashboard (admin scope, all wards)
agree:
- suifang_calls_total{status}        ended calls by outcome call_status  = dashboard completion.by_status
- suifang_calls_in_progress          calls not yet ended
- suifang_flags_total{level,department} red/yellow flags                 = dashboard flags_by_department
- suifang_followups_due / _reached   scheduled calls due by today, and reached = dashboard followup
- suifang_call_queue_depth{state}    waiting: scheduled calls due by today, not yet dialled (patients who
                                     allow calls); dispatched: handed to a campaign worker
- suifang_review_queue_depth{level}  open review items (not resolved) by level
- suifang_turn_latency_seconds{stage} histogram: stage="engine" is one dialog turn in the call runner
  (understanding, flags, answers, storage), stage="voice" is end of the patient's speech to the first
  synthesized audio on the phone line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from records.dashboard import REACHED_STATUSES, dashboard_figures
from records.schema import CallSession, Flag, Outcome, Patient, ReviewItem, ScheduledCall, Ward

TURN_STAGES = ("engine", "voice")
# One histogram per process, not registered globally: each app's registry adds it (tests build many apps).
TURN_LATENCY = Histogram(
    "suifang_turn_latency_seconds", "Latency of one follow-up call turn", labelnames=("stage",),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0), registry=None)


def observe_turn_latency(seconds: float, *, stage: str) -> None:
    if stage not in TURN_STAGES:
        raise ValueError(f"unknown turn latency stage {stage!r}; use one of {', '.join(TURN_STAGES)}")
    TURN_LATENCY.labels(stage=stage).observe(max(seconds, 0.0))


@dataclass(frozen=True)
class MetricCounts:
    calls_by_status: dict[str, int] = field(default_factory=dict)
    calls_in_progress: int = 0
    flags: dict[tuple[str, str], int] = field(default_factory=dict)  # (level, department) -> count
    followups_due: int = 0
    followups_reached: int = 0
    call_queue: dict[str, int] = field(default_factory=dict)  # waiting | dispatched -> count
    review_queue: dict[str, int] = field(default_factory=dict)


def metric_counts(session: Session, *, tz: dt.tzinfo = dt.timezone.utc, today: dt.date | None = None) -> MetricCounts:
    """All wards. Follow-up due/reached come from dashboard_figures itself, so they cannot drift;
    `tz` is the hospital's zone (service.timezone), as the dashboard uses it for "today"."""
    today = today or dt.datetime.now(tz).date()
    by_status = dict(session.execute(
        select(Outcome.call_status, func.count()).join(CallSession, CallSession.id == Outcome.call_id)
        .group_by(Outcome.call_status)).all())
    in_progress = session.scalar(select(func.count()).select_from(CallSession)
                                 .where(CallSession.status == "in_progress")) or 0
    flags = {(level, department): n for level, department, n in session.execute(
        select(Flag.level, Ward.department, func.count()).join(CallSession, CallSession.id == Flag.call_id)
        .join(Ward, Ward.id == CallSession.ward_id).group_by(Flag.level, Ward.department))}
    followup = _followup(session, today=today, tz=tz)
    waiting = session.scalar(select(func.count()).select_from(ScheduledCall)
                             .join(Patient, Patient.id == ScheduledCall.patient_id)
                             .where(ScheduledCall.due_date <= today, ScheduledCall.status == "scheduled",
                                    Patient.do_not_call.is_(False))) or 0
    dispatched = session.scalar(select(func.count()).select_from(ScheduledCall)
                                .where(ScheduledCall.status == "dispatched")) or 0
    review = dict(session.execute(select(ReviewItem.level, func.count()).where(ReviewItem.status != "resolved")
                                  .group_by(ReviewItem.level)).all())
    return MetricCounts(calls_by_status={str(k): int(v) for k, v in by_status.items()}, calls_in_progress=int(in_progress),
                        flags=flags, followups_due=followup["due"], followups_reached=followup["reached"],
                        call_queue={"waiting": int(waiting), "dispatched": int(dispatched)}, review_queue={str(k): int(v) for k, v in review.items()})


def _followup(session: Session, *, today: dt.date, tz: dt.tzinfo) -> dict[str, int]:
    figures = dashboard_figures(session, ward_ids=None, today=today, tz=tz, weeks=1)
    return {"due": figures["followup"]["due"], "reached": figures["followup"]["reached"]}


class DatabaseCollector(Collector):
    """Reads the counts from the database on every scrape (one short read-only session)."""

    def __init__(self, session_factory: sessionmaker[Session], *, tz: dt.tzinfo = dt.timezone.utc) -> None:
        self.session_factory = session_factory
        self.tz = tz

    def collect(self) -> Iterator[Any]:
        with self.session_factory() as session:
            counts = metric_counts(session, tz=self.tz)
        calls = CounterMetricFamily("suifang_calls", "Ended follow-up calls by outcome call_status",
                                    labels=["status"])
        for status, n in sorted(counts.calls_by_status.items()):
            calls.add_metric([status], n)
        yield calls
        yield GaugeMetricFamily("suifang_calls_in_progress", "Follow-up calls not yet ended",
                                value=counts.calls_in_progress)
        flags = CounterMetricFamily("suifang_flags", "Red and yellow flags raised on calls", labels=["level", "department"])
        for (level, department), n in sorted(counts.flags.items()):
            flags.add_metric([level, department], n)
        yield flags
        yield GaugeMetricFamily("suifang_followups_due", "Scheduled follow-up calls due by today (not cancelled)",
                                value=counts.followups_due)
        yield GaugeMetricFamily("suifang_followups_reached",
                                f"Due follow-ups whose call reached someone ({', '.join(REACHED_STATUSES)})",
                                value=counts.followups_reached)
        queue = GaugeMetricFamily("suifang_call_queue_depth", "Scheduled calls due and waiting to be dialled "
                                  "(state=waiting) or handed to a worker (state=dispatched)", labels=["state"])
        for state in ("waiting", "dispatched"):
            queue.add_metric([state], counts.call_queue.get(state, 0))
        yield queue
        review = GaugeMetricFamily("suifang_review_queue_depth", "Open nurse review items by level", labels=["level"])
        for level in ("red", "yellow", "task"):
            review.add_metric([level], counts.review_queue.get(level, 0))
        yield review


def build_registry(session_factory: sessionmaker[Session], *, tz: dt.tzinfo = dt.timezone.utc) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(session_factory, tz=tz))
    registry.register(TURN_LATENCY)
    return registry
