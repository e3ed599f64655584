"""Staff passwords (argon2) and access tokens (signed JWT with expiry and an id, `jti`).

A signature only proves the server issued a token; whether it still counts (not logged out, no
password change since) is the auth_tokens row of its id (records/sessions.py), checked per request."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
TOKEN_ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    role: str
    expires_at: dt.datetime
    jti: str | None = None


def new_token_id() -> str:
    return uuid.uuid4().hex


class InvalidToken(Exception):
    pass


def issue_token(*, user_id: int, role: str, secret: str, ttl_minutes: int,
                now: dt.datetime | None = None, jti: str | None = None) -> tuple[str, dt.datetime]:
    """A signed token; it is honoured only once its `jti` is recorded (records.sessions.record_token)."""
    issued = now or dt.datetime.now(dt.timezone.utc)
    expires = issued + dt.timedelta(minutes=ttl_minutes)
    payload = {"sub": str(user_id), "role": role, "iat": issued, "exp": expires, "jti": jti or new_token_id()}
    return jwt.encode(payload, secret, algorithm=TOKEN_ALGORITHM), expires


def decode_token(token: str, *, secret: str) -> TokenClaims:
    try:
        payload = jwt.decode(token, secret, algorithms=[TOKEN_ALGORITHM], options={"require": ["exp", "sub"]})
        if not 1 <= int(payload["sub"]) <= 2**31 - 1:
            raise ValueError("user id out of range")
        return TokenClaims(
            user_id=int(payload["sub"]),
            role=str(payload.get("role", "")),
            expires_at=dt.datetime.fromtimestamp(payload["exp"], dt.timezone.utc),
            jti=str(payload["jti"]) if payload.get("jti") else None,
        )
    except (jwt.PyJWTError, ValueError, KeyError, TypeError, OverflowError) as exc:
        raise InvalidToken(str(exc)) from None
