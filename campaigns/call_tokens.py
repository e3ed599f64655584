"""Call tokens: a signed, short-lived statement of which patient (and discharge, language, scheduled
call) a phone stream is for. Issued when a call is placed (campaigns, the softphone) and read when
the stream opens (api/phone.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import jwt

CALL_TOKEN_PURPOSE = "phone-call"


def issue_call_token(*, secret: str, patient_id: int, discharge_id: int | None, language: str | None = None,
                     scheduled_call_id: int | None = None, ttl_minutes: int = 30, call_date: str | None = None) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    payload = {"purpose": CALL_TOKEN_PURPOSE, "patient_id": patient_id, "discharge_id": discharge_id,
               "language": language, "scheduled_call_id": scheduled_call_id, "call_date": call_date,
               "iat": now, "exp": now + dt.timedelta(minutes=ttl_minutes), "jti": uuid.uuid4().hex}
    return jwt.encode(payload, secret, algorithm="HS256")


def read_call_token(token: str, *, secret: str) -> dict[str, Any]:
    try:
        payload = jwt.decode(token, secret, algorithms=["HS256"])
    except jwt.PyJWTError as exc:
        raise PermissionError(f"invalid call token: {exc}") from None
    if payload.get("purpose") != CALL_TOKEN_PURPOSE:
        raise PermissionError("not a call token")
    return payload
