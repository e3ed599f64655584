"""Staff passwords (argon2) and access tokens (signed JWT with expiry)."""

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


class InvalidToken(Exception):
    pass


def issue_token(*, user_id: int, role: str, secret: str, ttl_minutes: int,
                now: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    issued = now or dt.datetime.now(dt.timezone.utc)
    expires = issued + dt.timedelta(minutes=ttl_minutes)
    payload = {"sub": str(user_id), "role": role, "iat": issued, "exp": expires, "jti": uuid.uuid4().hex}
    return jwt.encode(payload, secret, algorithm=TOKEN_ALGORITHM), expires


def decode_token(token: str, *, secret: str) -> TokenClaims:
    try:
        payload = jwt.decode(token, secret, algorithms=[TOKEN_ALGORITHM], options={"require": ["exp", "sub"]})
        return TokenClaims(
            user_id=int(payload["sub"]),
            role=str(payload.get("role", "")),
            expires_at=dt.datetime.fromtimestamp(payload["exp"], dt.timezone.utc),
        )
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise InvalidToken(str(exc)) from None
