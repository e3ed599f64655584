"""Data functions for pre-consultation chats (keyword-only arguments, no HTTP here).

A chat's link token is a random 256-bit secret shown once, when staff create the chat; only its
SHA-256 hash is stored, so a database dump does not hand out working links."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from records.schema import Patient, PreconsultChat, PreconsultMessage, PreconsultReport, utcnow


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def create_chat(session: Session, *, patient: Patient, language: str, ttl_minutes: int, created_by: int | None,
                state: dict[str, Any], now: dt.datetime | None = None) -> tuple[PreconsultChat, str]:
    token = secrets.token_urlsafe(32)
    now = now or utcnow()
    chat = PreconsultChat(patient_id=patient.id, ward_id=patient.ward_id, language=language, status="invited", state=state,
                          token_hash=hash_token(token), token_expires_at=now + dt.timedelta(minutes=ttl_minutes),
                          created_by=created_by, created_at=now, updated_at=now)
    session.add(chat)
    session.flush()
    return chat, token


def chat_by_token(session: Session, *, token: str) -> PreconsultChat | None:
    if not token or len(token) > 200:
        return None
    return session.scalar(select(PreconsultChat).where(PreconsultChat.token_hash == hash_token(token)))


def token_expired(chat: PreconsultChat, *, now: dt.datetime | None = None) -> bool:
    return as_utc(chat.token_expires_at) <= (now or utcnow())


def add_message(session: Session, *, chat: PreconsultChat, speaker: str, text: str, expecting: str | None = None) -> PreconsultMessage:
    seq = (session.scalar(select(func.max(PreconsultMessage.seq)).where(PreconsultMessage.chat_id == chat.id)) or 0) + 1
    message = PreconsultMessage(chat_id=chat.id, seq=seq, speaker=speaker, text=text, expecting=expecting)
    session.add(message)
    return message


def save_state(session: Session, *, chat: PreconsultChat, state: dict[str, Any]) -> None:
    # A new dict object, so the JSON column is seen as changed.
    chat.state = dict(state)
    flag_modified(chat, "state")
    chat.triage_level = (state.get("triage") or {}).get("level")
    if state.get("done"):
        chat.status = "completed"
    elif chat.status == "invited":
        chat.status = "active"
    chat.updated_at = utcnow()


def save_report(session: Session, *, chat: PreconsultChat, report: dict[str, Any]) -> PreconsultReport:
    row = session.scalar(select(PreconsultReport).where(PreconsultReport.chat_id == chat.id))
    departments = report.get("departments") or []
    values = dict(patient_id=chat.patient_id, triage_level=report["triage"]["level"],
                  department=departments[0]["name"][:100] if departments else None, report=report,
                  text_zh=report["text"]["zh"], text_en=report["text"]["en"], complete=bool(report.get("complete")),
                  updated_at=utcnow())
    if row is None:
        row = PreconsultReport(chat_id=chat.id, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    return row


def report_of_chat(session: Session, *, chat_id: int) -> PreconsultReport | None:
    return session.scalar(select(PreconsultReport).where(PreconsultReport.chat_id == chat_id))


def messages_of_chat(session: Session, *, chat_id: int) -> list[PreconsultMessage]:
    return list(session.scalars(select(PreconsultMessage).where(PreconsultMessage.chat_id == chat_id)
                                .order_by(PreconsultMessage.seq)))
