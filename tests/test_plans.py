"""Follow-up plans: call days by kind of discharge, due dates from ISO periods, booking links."""

from __future__ import annotations

import datetime as dt

import pytest

from knowledge.plans import add_months, booking_url, draft_plan, due_date, plan_kind

START = dt.date(2026, 1, 31)


@pytest.mark.parametrize(("when", "expected"), [
    ("P3D", dt.date(2026, 2, 3)),
    ("P2W", dt.date(2026, 2, 14)),
    ("P1M", dt.date(2026, 2, 28)),      # month end clamps
    ("P3M", dt.date(2026, 4, 30)),
    ("P1Y", dt.date(2027, 1, 31)),
    ("2026-03-05", dt.date(2026, 3, 5)),
    ("long_term", None),
    ("", None),
    (None, None),
    ("P", None),
])
def test_due_dates(when: str | None, expected: dt.date | None) -> None:
    assert due_date(when, start=START) == expected


def test_add_months_crosses_years() -> None:
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)


def test_plan_kinds_and_days() -> None:
    common = dict(surgical_days=[3, 7], medical_days=[7, 30], chronic_every_days=30, chronic_count=6)
    assert plan_kind(surgery=True, chronic=False, diagnosis="胆囊结石") == "surgical"
    assert plan_kind(surgery=False, chronic=False, diagnosis="高血压3级") == "chronic"
    assert plan_kind(surgery=False, chronic=False, diagnosis="Community-acquired pneumonia") == "medical"
    surgical = draft_plan(surgery=True, chronic=False, diagnosis="x", item_due_dates=[], **common)
    assert surgical.call_days == (3, 7)
    medical = draft_plan(surgery=False, chronic=False, diagnosis="pneumonia",
                         item_due_dates=[("revisit", dt.date(2026, 2, 14)), ("reexam", dt.date(2026, 3, 1)),
                                         ("revisit", dt.date(2026, 2, 10))], **common)
    assert medical.call_days == (7, 30)
    assert medical.revisit_due == dt.date(2026, 2, 10) and medical.reexam_due == dt.date(2026, 3, 1)
    chronic = draft_plan(surgery=False, chronic=True, diagnosis="x", item_due_dates=[], **common)
    assert chronic.call_days == (7, 30, 60, 90, 120, 150, 180)


def test_booking_url_is_escaped() -> None:
    url = booking_url("https://h.example/b?dept={department}&date={date}&p={patient_ref}",
                      department="心内科 门诊", date=dt.date(2026, 2, 14), patient_ref="A&B")
    assert url == "https://h.example/b?dept=%E5%BF%83%E5%86%85%E7%A7%91%20%E9%97%A8%E8%AF%8A&date=2026-02-14&p=A%26B"
