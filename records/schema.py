"""The patient-record store: SQLAlchemy 2 tables.

Alembic migrations in records/migrations create these; tests compare the two so they cannot drift.
Outcome fields follow ../shared/spec/followup-outcome.md (names and codes are the contract).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {
        dt.datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


user_wards = Table(
    "user_wards",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("ward_id", ForeignKey("wards.id", ondelete="CASCADE"), primary_key=True),
)


class Ward(Base):
    """A ward (病区) and the department it belongs to; follow-up calls speak in its name."""

    __tablename__ = "wards"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(100))
    team_name: Mapped[str | None] = mapped_column(String(100))  # 主管医生团队 the call names


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # nurse | doctor | admin
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    wards: Mapped[list[Ward]] = relationship(secondary=user_wards, lazy="selectin")


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    mrn: Mapped[str | None] = mapped_column(String(32), unique=True)  # hospital record number
    name: Mapped[str] = mapped_column(String(100))
    sex: Mapped[str | None] = mapped_column(String(8))
    birth_year: Mapped[int | None]
    phone: Mapped[str] = mapped_column(String(20))
    id_number: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8), default="zh")
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ward: Mapped[Ward] = relationship(lazy="joined")


class Discharge(Base):
    """One inpatient encounter ending in discharge, with the raw order text kept verbatim."""

    __tablename__ = "discharges"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    department: Mapped[str] = mapped_column(String(100))
    diagnosis: Mapped[str] = mapped_column(String(500))
    admitted_on: Mapped[dt.date | None] = mapped_column(Date)
    discharged_on: Mapped[dt.date] = mapped_column(Date)
    surgery: Mapped[bool] = mapped_column(Boolean, default=False)
    surgery_name: Mapped[str | None] = mapped_column(String(200))
    attending_team: Mapped[str | None] = mapped_column(String(100))
    chronic: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(8), default="zh")
    order_text: Mapped[str] = mapped_column(Text)
    unparsed_lines: Mapped[list[Any]] = mapped_column(default=list)
    structured_by: Mapped[str | None] = mapped_column(String(32))  # rules | rules+llm
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="discharge", order_by="OrderItem.seq", cascade="all, delete-orphan"
    )
    patient: Mapped[Patient] = relationship(lazy="joined")


class OrderItem(Base):
    """One structured item of the discharge orders, with the span of text it came from."""

    __tablename__ = "order_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    discharge_id: Mapped[int] = mapped_column(ForeignKey("discharges.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # medication | revisit | reexam | warning_sign | instruction
    name: Mapped[str | None] = mapped_column(String(200))  # drug name, re-exam item, department
    generic_name: Mapped[str | None] = mapped_column(String(200))
    drug_class: Mapped[str | None] = mapped_column(String(32))
    dose: Mapped[float | None] = mapped_column(Float)
    dose_text: Mapped[str | None] = mapped_column(String(50))  # e.g. "49/51"
    unit: Mapped[str | None] = mapped_column(String(16))
    route: Mapped[str | None] = mapped_column(String(16))
    frequency: Mapped[str | None] = mapped_column(String(16))
    duration: Mapped[str | None] = mapped_column(String(32))
    when: Mapped[str | None] = mapped_column(String(32))
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    symptom_code: Mapped[str | None] = mapped_column(String(32))
    booking_url: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)  # the source span, verbatim
    span_start: Mapped[int] = mapped_column(Integer)
    span_end: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16), default="rules")  # rules | llm
    discharge: Mapped[Discharge] = relationship(back_populates="items")


class FollowupPlan(Base):
    __tablename__ = "followup_plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    discharge_id: Mapped[int] = mapped_column(ForeignKey("discharges.id", ondelete="CASCADE"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # surgical | medical | chronic
    flow_id: Mapped[str | None] = mapped_column(String(64))
    revisit_due: Mapped[dt.date | None] = mapped_column(Date)
    reexam_due: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    calls: Mapped[list[ScheduledCall]] = relationship(
        back_populates="plan", order_by="ScheduledCall.due_date", cascade="all, delete-orphan"
    )


class ScheduledCall(Base):
    __tablename__ = "scheduled_calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("followup_plans.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    day_offset: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled | dispatched | done | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    plan: Mapped[FollowupPlan] = relationship(back_populates="calls")


class CallSession(Base):
    __tablename__ = "call_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    discharge_id: Mapped[int | None] = mapped_column(ForeignKey("discharges.id"), index=True)
    scheduled_call_id: Mapped[int | None] = mapped_column(ForeignKey("scheduled_calls.id"), index=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16), default="text")  # text | phone | softphone | sip | loopback
    language: Mapped[str] = mapped_column(String(8), default="zh")
    flow_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="in_progress")  # in_progress | ended
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)  # engine state, to resume after a crash
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]
    turns: Mapped[list[Turn]] = relationship(back_populates="call", order_by="Turn.seq", cascade="all, delete-orphan")
    outcome: Mapped[Outcome | None] = relationship(back_populates="call", uselist=False)


class CallEventRow(Base):
    """One entry of a voice call's event log (campaigns.call_session.CallEvent): what happened on the
    line and in which stage, with an error code when a stage failed. Never the patient's words."""

    __tablename__ = "call_events"
    __table_args__ = (UniqueConstraint("call_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call_sessions.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime]
    stage: Mapped[str | None] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(48))
    ms: Mapped[float | None] = mapped_column(Float)


class Turn(Base):
    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("call_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call_sessions.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(16))  # system | patient
    text: Mapped[str] = mapped_column(Text, default="")
    expecting: Mapped[str | None] = mapped_column(String(64))
    audio_ref: Mapped[str | None] = mapped_column(String(300))
    asr_confidence: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]
    latency_ms: Mapped[float | None] = mapped_column(Float)
    events: Mapped[list[Any]] = mapped_column(default=list)
    call: Mapped[CallSession] = relationship(back_populates="turns")


class Outcome(Base):
    """The record a call leaves behind (followup-outcome.md); absent fields stay NULL."""

    __tablename__ = "outcomes"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call_sessions.id", ondelete="CASCADE"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    call_status: Mapped[str] = mapped_column(String(16))
    respondent: Mapped[str | None] = mapped_column(String(16))
    identity_verified: Mapped[bool | None] = mapped_column(Boolean)
    overall_condition: Mapped[str | None] = mapped_column(String(16))
    medication_adherence: Mapped[str | None] = mapped_column(String(16))
    missed_medications: Mapped[list[Any] | None] = mapped_column(JSON)
    side_effects: Mapped[list[Any] | None] = mapped_column(JSON)
    symptoms: Mapped[list[Any] | None] = mapped_column(JSON)
    pain_score: Mapped[int | None] = mapped_column(Integer)
    blood_pressure: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    blood_glucose: Mapped[float | None] = mapped_column(Float)
    heart_rate: Mapped[int | None] = mapped_column(Integer)
    temperature: Mapped[float | None] = mapped_column(Float)
    wound: Mapped[str | None] = mapped_column(String(16))
    revisit_aware: Mapped[bool | None] = mapped_column(Boolean)
    revisit_booked: Mapped[bool | None] = mapped_column(Boolean)
    reexam_done: Mapped[bool | None] = mapped_column(Boolean)
    questions: Mapped[list[Any] | None] = mapped_column(JSON)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    feedback: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[list[Any] | None] = mapped_column(JSON)
    risk_grade: Mapped[str | None] = mapped_column(String(8))
    needs_callback: Mapped[bool | None] = mapped_column(Boolean)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)  # field -> the patient's words
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    call: Mapped[CallSession] = relationship(back_populates="outcome")


from records.outcome_contract import OUTCOME_FIELDS  # noqa: E402 - the field list is defined once, there


class OutcomeCorrection(Base):
    """A nurse's correction of one outcome field; the original value stays on the outcome's history."""

    __tablename__ = "outcome_corrections"
    id: Mapped[int] = mapped_column(primary_key=True)
    outcome_id: Mapped[int] = mapped_column(ForeignKey("outcomes.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call_sessions.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    original: Mapped[Any | None] = mapped_column(JSON)
    corrected: Mapped[Any | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(500))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Flag(Base):
    __tablename__ = "flags"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call_sessions.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    level: Mapped[str] = mapped_column(String(8))  # red | yellow
    code: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    evidence: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="rule")  # rule | llm
    turn_seq: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReviewItem(Base):
    __tablename__ = "review_items"
    __table_args__ = (Index("ix_review_queue", "ward_id", "status", "priority", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call_sessions.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"))
    priority: Mapped[int] = mapped_column(Integer)  # 0 red, 1 yellow, 2 other
    level: Mapped[str] = mapped_column(String(8))  # red | yellow | task
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | confirmed | callback | escalated | resolved
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    history: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WardMessage(Base):
    """A message left on the service's phone line (campaigns/inbound.py): its recording (under
    data_dir/audio) and transcript. From a patient's number the message is also a call on that patient
    (`call_id`: one patient turn) with a nurse task in the review queue; from any other number only
    the number is kept, shown masked."""

    __tablename__ = "ward_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    caller_number: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call_sessions.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(String(8))
    transcript: Mapped[str] = mapped_column(Text, default="")
    audio_ref: Mapped[str | None] = mapped_column(String(300))
    duration_s: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | handled


class AuditEvent(Base):
    """Append-only: the app never updates or deletes these (ORM guard plus database triggers)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # allowed | denied | failed
    client_ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(500))


class PreconsultChat(Base):
    """A pre-consultation chat (预问诊): one patient, opened by staff; the patient joins by a link token.

    Only a SHA-256 hash of the link token is stored. `state` is the dialog state (a plain dict) so a
    chat resumes after a restart."""

    __tablename__ = "preconsult_chats"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    language: Mapped[str] = mapped_column(String(8), default="zh")
    status: Mapped[str] = mapped_column(String(16), default="invited")  # invited | active | completed
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[dt.datetime]
    triage_level: Mapped[str | None] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    messages: Mapped[list[PreconsultMessage]] = relationship(
        back_populates="chat", order_by="PreconsultMessage.seq", cascade="all, delete-orphan")


class PreconsultMessage(Base):
    __tablename__ = "preconsult_messages"
    __table_args__ = (UniqueConstraint("chat_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("preconsult_chats.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(16))  # patient | assistant
    text: Mapped[str] = mapped_column(Text, default="")
    expecting: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    chat: Mapped[PreconsultChat] = relationship(back_populates="messages")


class PreconsultReport(Base):
    """The structured pre-consultation report on the patient record (JSON plus readable zh/en text)."""

    __tablename__ = "preconsult_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("preconsult_chats.id", ondelete="CASCADE"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    triage_level: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(100))
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    text_zh: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str] = mapped_column(Text, default="")
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CallAttempt(Base):
    """One try at a scheduled call. `key` (scheduled call id and try number) is unique, so a try is
    dispatched at most once however many dispatchers race; a worker holds the try by a lease it
    renews every turn, and a try whose lease ran out is recovered by the sweep (records/campaigns.py)."""

    __tablename__ = "call_attempts"
    __table_args__ = (UniqueConstraint("scheduled_call_id", "try_number"),
                      Index("ix_call_attempts_live", "status", "lease_expires_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    scheduled_call_id: Mapped[int] = mapped_column(ForeignKey("scheduled_calls.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    try_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="leased")  # leased | calling | placed | done | lost
    call_status: Mapped[str | None] = mapped_column(String(16))  # the try's result (engine FINAL_STATUSES, or not_found)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call_sessions.id"))
    worker_id: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[dt.datetime]
    telephony_sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]


class AuthToken(Base):
    """A staff sign-in: an API token or a web session, by its id (the token's `jti`). Every request
    checks that its id is here, unexpired and not revoked; logout revokes one id, a password change
    every id of the user (records/sessions.py)."""

    __tablename__ = "auth_tokens"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # api | web
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    revoked_at: Mapped[dt.datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(32))  # logout | password_change | ...
