"""Staff sign-ins held server-side: every API token and web session is a row of auth_tokens by its
id (the token's `jti`), checked on each request. Logout revokes one id; a password change (or an
account being switched off) revokes every id of the user, so a copied token stops working at once
rather than when it expires."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from records.schema import AuthToken, utcnow

KINDS = ("api", "web")
# Expired rows are kept a day (an audit reader may still ask why a token was refused), then pruned.
KEEP_EXPIRED = dt.timedelta(days=1)


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def record_token(session: Session, *, jti: str, user_id: int, kind: str, expires_at: dt.datetime,
                 now: dt.datetime | None = None) -> AuthToken:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    row = AuthToken(jti=jti, user_id=user_id, kind=kind, issued_at=now or utcnow(), expires_at=expires_at)
    session.add(row)
    session.flush()
    return row


def token_is_live(session: Session, *, jti: str | None, user_id: int, kind: str,
                  now: dt.datetime | None = None) -> bool:
    """The id was issued to this user for this kind of sign-in, has not expired and was not revoked."""
    if not jti:
        return False
    row = session.get(AuthToken, jti)
    if row is None or row.user_id != user_id or row.kind != kind or row.revoked_at is not None:
        return False
    return _aware(row.expires_at) > (now or utcnow())


def revoke_token(session: Session, *, jti: str, reason: str, now: dt.datetime | None = None) -> bool:
    result = session.execute(update(AuthToken).where(AuthToken.jti == jti, AuthToken.revoked_at.is_(None))
                             .values(revoked_at=now or utcnow(), revoked_reason=reason[:32]))
    return bool(result.rowcount)


def revoke_user_tokens(session: Session, *, user_id: int, reason: str, now: dt.datetime | None = None) -> int:
    """Revoke every live sign-in of the user (API tokens and web sessions); returns how many."""
    result = session.execute(update(AuthToken).where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))
                             .values(revoked_at=now or utcnow(), revoked_reason=reason[:32]))
    return int(result.rowcount or 0)


def live_token_count(session: Session, *, user_id: int, now: dt.datetime | None = None) -> int:
    moment = now or utcnow()
    rows = session.scalars(select(AuthToken).where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None)))
    return sum(1 for row in rows if _aware(row.expires_at) > moment)


def prune_expired(session: Session, *, now: dt.datetime | None = None) -> int:
    cutoff = (now or utcnow()) - KEEP_EXPIRED
    result = session.execute(delete(AuthToken).where(AuthToken.expires_at < cutoff))
    return int(result.rowcount or 0)
