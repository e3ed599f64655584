"""Prometheus /metrics on SQLite and PostgreSQL: counts agree with the nurse dashboard (admin scope),
the turn latency histogram moves with real calls, and nothing about a patient is exposed."""

from __future__ import annotations

import datetime as dt

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from records.metrics import metric_counts, observe_turn_latency
from records.schema import CallSession, Patient, ReviewItem, ScheduledCall
from tests.conftest import make_settings
from tests.test_foundation import patient_id_by_mrn

METRICS_TOKEN = "metrics-scrape-token-for-tests-0123"
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture(scope="module")
def settings(database_url, tmp_path_factory):  # noqa: ANN001, ANN201 - the shared one, plus a scrape token
    return make_settings(database_url, tmp_path_factory.mktemp("data"), SUIFANG__MODELS__EMBEDDINGS__BACKEND="hashing",
                         SUIFANG_METRICS_TOKEN=METRICS_TOKEN)


def _scrape(client) -> dict[str, list]:  # noqa: ANN001
    response = client.get("/metrics", headers=SCRAPER)  # the scrape token; counts only
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def _by(samples: list, label: str) -> dict[str, float]:
    return {s.labels[label]: s.value for s in samples}


def test_metrics_agree_with_the_dashboard(client, admin) -> None:  # noqa: ANN001
    dashboard = client.get("/review/dashboard", headers=admin).json()
    metrics = _scrape(client)
    calls = _by(metrics["suifang_calls_total"], "status")
    assert calls == {k: float(v) for k, v in dashboard["completion"]["by_status"].items()}
    assert sum(calls.values()) == dashboard["completion"]["calls"] >= 4  # the demo's scripted calls
    flags: dict[str, dict[str, float]] = {}
    for sample in metrics["suifang_flags_total"]:
        flags.setdefault(sample.labels["department"], {"red": 0.0, "yellow": 0.0})[sample.labels["level"]] = sample.value
    assert flags == {row["department"]: {"red": float(row["red"]), "yellow": float(row["yellow"])}
                     for row in dashboard["flags_by_department"]}
    assert flags["心血管内科"]["red"] >= 1  # 王建国's chest pain
    assert metrics["suifang_followups_due"][0].value == dashboard["followup"]["due"]
    assert metrics["suifang_followups_reached"][0].value == dashboard["followup"]["reached"]
    with client.app.state.session_factory() as session:
        open_items = dict(session.execute(select(ReviewItem.level, func.count()).where(ReviewItem.status != "resolved")
                                          .group_by(ReviewItem.level)).all())
        in_progress = session.scalar(select(func.count()).select_from(CallSession)
                                     .where(CallSession.status == "in_progress"))
    assert _by(metrics["suifang_review_queue_depth"], "level") == {
        level: float(open_items.get(level, 0)) for level in ("red", "yellow", "task")}
    assert metrics["suifang_calls_in_progress"][0].value == in_progress


def test_queue_depth_counts_due_calls_waiting_and_dispatched(client) -> None:  # noqa: ANN001
    today = dt.date.today()
    with client.app.state.session_factory() as session:
        counts = metric_counts(session, today=today)
        call = session.scalar(select(ScheduledCall).join(Patient, Patient.id == ScheduledCall.patient_id)
                              .where(ScheduledCall.status == "scheduled", ScheduledCall.due_date > today,
                                     Patient.do_not_call.is_(False)).order_by(ScheduledCall.id))
        assert call is not None
        original = call.due_date
        call.due_date = today
        session.commit()
        assert metric_counts(session, today=today).call_queue["waiting"] == counts.call_queue["waiting"] + 1
        call.status = "dispatched"
        session.commit()
        moved = metric_counts(session, today=today).call_queue
        assert moved == {"waiting": counts.call_queue["waiting"], "dispatched": counts.call_queue["dispatched"] + 1}
        call.status, call.due_date = "scheduled", original
        session.commit()


def test_turn_latency_histogram_moves_with_calls(client, nurse_card) -> None:  # noqa: ANN001
    def engine_count() -> float:
        return next(s.value for s in _scrape(client)["suifang_turn_latency_seconds_count"]
                    if s.labels["stage"] == "engine")

    before = engine_count()
    opened = client.post("/calls", json={"patient_id": patient_id_by_mrn(client, "DEMO0004")}, headers=nurse_card)
    assert opened.status_code == 201
    call_id = opened.json()["call_id"]
    client.post(f"/calls/{call_id}/turns", json={"text": "是我，我是张桂兰，1950年的"}, headers=nurse_card)
    assert engine_count() == before + 2  # the opening and one answer
    in_progress = _scrape(client)["suifang_calls_in_progress"][0].value
    client.post(f"/calls/{call_id}/turns", json={"hangup": True}, headers=nurse_card)
    assert _scrape(client)["suifang_calls_in_progress"][0].value == in_progress - 1
    with pytest.raises(ValueError, match="use one of engine, voice"):
        observe_turn_latency(0.1, stage="asr")


def test_metrics_expose_no_patient_data(client) -> None:  # noqa: ANN001
    text = client.get("/metrics", headers=SCRAPER).text
    with client.app.state.session_factory() as session:
        patients = list(session.scalars(select(Patient)))
    assert patients
    for patient in patients:
        for value in (patient.name, patient.phone, patient.mrn, patient.id_number):
            if value:
                assert value not in text
    labels = {label for family in text_string_to_metric_families(text) for s in family.samples for label in s.labels}
    assert labels <= {"status", "level", "department", "state", "stage", "le"}
