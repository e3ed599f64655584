"""Foundation: auth, ward-scoped access, audit, validation, body limit — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import func, select, text, update

from api.security import issue_token
from records.db import AuditImmutableError
from records.schema import AuditEvent, Patient, User
from tests.conftest import login


def audit_rows(client, **filters):  # noqa: ANN001, ANN003, ANN201
    with client.app.state.session_factory() as session:
        query = select(AuditEvent)
        for key, value in filters.items():
            query = query.where(getattr(AuditEvent, key) == value)
        return list(session.scalars(query.order_by(AuditEvent.id)))


def patient_id_by_mrn(client, mrn: str) -> int:  # noqa: ANN001
    with client.app.state.session_factory() as session:
        return session.scalar(select(Patient.id).where(Patient.mrn == mrn))


def test_health_and_docs(client) -> None:  # noqa: ANN001
    assert client.get("/health").json() == {"status": "ok", "database": "ok"}
    assert client.get("/docs").status_code == 200
    assert "/patients" in client.get("/openapi.json").json()["paths"]


def test_requests_without_a_valid_token_get_401(client, settings) -> None:  # noqa: ANN001
    assert client.get("/patients").status_code == 401
    assert client.get("/patients", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    with client.app.state.session_factory() as session:
        user_id = session.scalar(select(User.id).where(User.username == "nurse_card"))
    expired, _ = issue_token(user_id=user_id, role="nurse", secret=settings.secret_key, ttl_minutes=1,
                             now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5))
    assert client.get("/patients", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    forged, _ = issue_token(user_id=user_id, role="admin", secret="another-key", ttl_minutes=5)
    assert client.get("/patients", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_nurse_of_another_ward_is_denied_and_the_denial_is_audited(client, nurse_surg) -> None:  # noqa: ANN001
    card_patient = patient_id_by_mrn(client, "DEMO0001")
    before = len(audit_rows(client, patient_id=card_patient, outcome="denied"))
    response = client.get(f"/patients/{card_patient}", headers=nurse_surg)
    assert response.status_code == 404
    assert "王建国" not in response.text and "13800000001" not in response.text
    denials = audit_rows(client, patient_id=card_patient, outcome="denied")
    assert len(denials) == before + 1
    assert denials[-1].username == "nurse_surg" and denials[-1].action == "read"
    # The list never shows another ward's patients either.
    listed = client.get("/patients", headers=nurse_surg).json()
    assert listed and all(p["ward_code"] == "SURG-2" for p in listed)


def test_every_patient_read_leaves_one_audit_row(client, nurse_card) -> None:  # noqa: ANN001
    patient_id = patient_id_by_mrn(client, "DEMO0001")
    before = len(audit_rows(client, patient_id=patient_id, action="read", outcome="allowed"))
    response = client.get(f"/patients/{patient_id}", headers=nurse_card)
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "王建国"
    # Phone numbers are masked in what the API sends.
    assert body["phone_masked"] == "138****0001" and "13800000001" not in response.text
    rows = audit_rows(client, patient_id=patient_id, action="read", outcome="allowed")
    assert len(rows) == before + 1
    assert rows[-1].username == "nurse_card" and rows[-1].resource == "patient" and rows[-1].client_ip


def test_admin_sees_every_ward(client, admin) -> None:  # noqa: ANN001
    wards = {p["ward_code"] for p in client.get("/patients", headers=admin).json()}
    assert {"CARD-1", "SURG-2"} <= wards


def test_five_failed_logins_lock_the_account(client) -> None:  # noqa: ANN001
    with client.app.state.session_factory() as session:
        from api.security import hash_password

        session.add(User(username="nurse_lock", display_name="Lock test", role="nurse",
                         password_hash=hash_password("right-password")))
        session.commit()
    for _ in range(5):
        assert client.post("/auth/login", json={"username": "nurse_lock", "password": "wrong"}).status_code == 401
    locked = client.post("/auth/login", json={"username": "nurse_lock", "password": "right-password"})
    assert locked.status_code == 423 and "locked" in locked.json()["detail"]
    with client.app.state.session_factory() as session:
        user = session.scalar(select(User).where(User.username == "nurse_lock"))
        until = user.locked_until if user.locked_until.tzinfo else user.locked_until.replace(tzinfo=dt.timezone.utc)
        remaining = until - dt.datetime.now(dt.timezone.utc)
        assert dt.timedelta(minutes=29) < remaining <= dt.timedelta(minutes=30)
        # Lock expired → the right password works again.
        user.locked_until = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
        session.commit()
    assert client.post("/auth/login", json={"username": "nurse_lock", "password": "right-password"}).status_code == 200
    failures = audit_rows(client, username="nurse_lock", action="login", outcome="failed")
    assert len(failures) == 5


def test_four_failures_then_success_does_not_lock(client) -> None:  # noqa: ANN001
    for _ in range(4):
        client.post("/auth/login", json={"username": "nurse_surg", "password": "nope"})
    assert client.post("/auth/login", json={"username": "nurse_surg", "password": "surg-demo-2026"}).status_code == 200
    for _ in range(4):
        client.post("/auth/login", json={"username": "nurse_surg", "password": "nope"})
    assert client.post("/auth/login", json={"username": "nurse_surg", "password": "surg-demo-2026"}).status_code == 200


def _patient_count(client) -> int:  # noqa: ANN001
    with client.app.state.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Patient))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"ward_code": "CARD-1", "name": "测试", "phone": "12345"}, "phone"),
        ({"ward_code": "CARD-1", "name": "测试", "phone": "13800000009", "nickname": "x"}, "nickname"),
        ({"ward_code": "CARD-1", "name": "测试", "phone": "13800000009", "birth_year": "nineteen"}, "birth_year"),
        ({"ward_code": "CARD-1", "name": "测" * 101, "phone": "13800000009"}, "name"),
        ({"ward_code": "CARD-1", "name": "测试", "phone": "13800000009", "id_number": "12345"}, "id_number"),
        ({"name": "测试", "phone": "13800000009"}, "ward_code"),
    ],
)
def test_bad_patient_input_is_422_with_a_reason_and_nothing_written(client, nurse_card, body, reason) -> None:  # noqa: ANN001
    before = _patient_count(client)
    response = client.post("/patients", json=body, headers=nurse_card)
    assert response.status_code == 422
    assert reason in response.text
    assert _patient_count(client) == before


def test_an_unknown_ward_is_404_and_nothing_written(client, nurse_card) -> None:  # noqa: ANN001
    # A well-formed ward code that names no ward is a missing record, as an unknown patient_id is.
    before = _patient_count(client)
    response = client.post("/patients", json={"ward_code": "NOPE", "name": "测试", "phone": "13800000009"},
                           headers=nurse_card)
    assert response.status_code == 404 and "unknown ward_code 'NOPE'" in response.json()["detail"]
    assert _patient_count(client) == before


def test_malformed_json_is_422(client, nurse_card) -> None:  # noqa: ANN001
    before = _patient_count(client)
    response = client.post("/patients", content=b'{"ward_code": "CARD-1", "name": ',
                           headers={**nurse_card, "Content-Type": "application/json"})
    assert response.status_code == 422 and "json" in response.text.lower()
    assert _patient_count(client) == before


def test_body_over_the_limit_is_413(client, nurse_card, settings) -> None:  # noqa: ANN001
    before = _patient_count(client)
    big = b'{"ward_code": "CARD-1", "name": "' + b"x" * (settings.service.max_body_bytes + 10) + b'"}'
    response = client.post("/patients", content=big, headers={**nurse_card, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert _patient_count(client) == before

    # Streamed without a Content-Length: refused once the limit is crossed.
    def chunks():  # noqa: ANN202
        yield b'{"ward_code": "CARD-1", "name": "'
        for _ in range(settings.service.max_body_bytes // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = client.post("/patients", content=chunks(), headers={**nurse_card, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert _patient_count(client) == before


def test_nurse_creates_patient_in_own_ward_only(client, nurse_card) -> None:  # noqa: ANN001
    ok = client.post("/patients", json={"ward_code": "CARD-1", "name": "赵测试", "phone": "13900000011",
                                        "birth_year": 1970, "id_number": "11010519491231002X"}, headers=nurse_card)
    assert ok.status_code == 201, ok.text
    created = ok.json()
    assert created["id_number_masked"] == "1101**********002X"
    assert len(audit_rows(client, patient_id=created["id"], action="create")) == 1
    denied = client.post("/patients", json={"ward_code": "SURG-2", "name": "钱测试", "phone": "13900000012"},
                         headers=nurse_card)
    assert denied.status_code == 403 and "钱测试" not in denied.text


def test_audit_rows_cannot_be_changed(client) -> None:  # noqa: ANN001
    with client.app.state.session_factory() as session:
        event = session.scalars(select(AuditEvent).limit(1)).one()
        event.outcome = "tampered"
        with pytest.raises(AuditImmutableError):
            session.flush()
        session.rollback()
        event = session.scalars(select(AuditEvent).limit(1)).one()
        session.delete(event)
        with pytest.raises(AuditImmutableError):
            session.flush()
        session.rollback()
        # Below the ORM, the database refuses too.
        with pytest.raises(Exception, match="append-only"):
            session.execute(update(AuditEvent).values(outcome="tampered"))
        session.rollback()
        with pytest.raises(Exception, match="append-only"):
            session.execute(text("DELETE FROM audit_events"))
        session.rollback()


def test_logs_carry_no_patient_data(client, nurse_card, caplog) -> None:  # noqa: ANN001
    caplog.set_level(logging.DEBUG)
    response = client.post("/patients", json={"ward_code": "CARD-1", "name": "孙日志", "phone": "13900000099",
                                               "id_number": "110105194912310021"}, headers=nurse_card)
    assert response.status_code == 201
    discharge = client.post("/discharges", json={
        "patient_id": response.json()["id"], "department": "心血管内科", "diagnosis": "冠心病",
        "discharged_on": "2026-11-01", "order_text": "1. 阿司匹林肠溶片 100mg 口服 每日一次 联系电话13900000099"},
        headers=nurse_card)
    assert discharge.status_code == 201, discharge.text
    from suifang.logs import RedactingFilter

    text_logged = "\n".join(RedactingFilter().filter(r) and r.getMessage() for r in caplog.records)
    for secret in ("孙日志", "13900000099", "110105194912310021"):
        assert secret not in text_logged


def test_migrations_match_the_models(database_url) -> None:  # noqa: ANN001
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from records.schema import Base

    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_sqlite_runs_in_wal_mode(client, database_url) -> None:  # noqa: ANN001
    if not database_url.startswith("sqlite"):
        pytest.skip("WAL is a SQLite setting")
    with client.app.state.session_factory() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_nurse_login_works_for_both_nurses(client) -> None:  # noqa: ANN001
    assert login(client, "nurse_card", "card-demo-2026")["Authorization"].startswith("Bearer ")
