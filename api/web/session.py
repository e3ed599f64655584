"""The browser session: an HttpOnly, SameSite=Strict cookie holding a signed token with the time
of the last request. It slides (each request re-signs it) and goes stale after the idle timeout.

The cookie is signed with a key derived from SUIFANG_SECRET_KEY, so it is never accepted as an API
bearer token and an API token is never accepted as a cookie. Each session carries its own CSRF
token; every POST form must echo it. Each session also has an id (`sid`) recorded server-side
(records/sessions.py, kind "web"): logout and a password change revoke it, so a copied cookie
stops working at once."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import jwt

SESSION_COOKIE = "suifang_session"
PRELOGIN_COOKIE = "suifang_login"
LANG_COOKIE = "suifang_lang"
COOKIE_PATH = "/ui"
PURPOSE = "web-session"
MAX_SESSION_HOURS = 12  # re-enter the password at least this often, however active


class StaleSession(Exception):
    """No session, a forged one, or one idle longer than the timeout."""


@dataclass(frozen=True)
class WebSession:
    user_id: int
    csrf: str
    issued_at: int
    last_active: int
    sid: str = ""  # the server-side record of this session (empty: none, never accepted)

    @property
    def expires_at(self) -> dt.datetime:
        """When the session ends however active (its server-side record expires then)."""
        return dt.datetime.fromtimestamp(self.issued_at + MAX_SESSION_HOURS * 3600, dt.timezone.utc)


def _key(secret: str, purpose: str) -> str:
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def _now(now: dt.datetime | None) -> int:
    return int((now or dt.datetime.now(dt.timezone.utc)).timestamp())


def new_session(*, user_id: int, now: dt.datetime | None = None) -> WebSession:
    stamp = _now(now)
    return WebSession(user_id=user_id, csrf=secrets.token_urlsafe(24), issued_at=stamp, last_active=stamp,
                      sid=secrets.token_hex(16))


def encode_session(session: WebSession, *, secret: str, idle_minutes: int) -> str:
    payload = {"purpose": PURPOSE, "sub": str(session.user_id), "csrf": session.csrf, "iat": session.issued_at,
               "act": session.last_active, "exp": session.last_active + idle_minutes * 60, "sid": session.sid}
    return jwt.encode(payload, _key(secret, PURPOSE), algorithm="HS256")


def decode_session(token: str | None, *, secret: str, idle_minutes: int,
                   now: dt.datetime | None = None) -> WebSession:
    if not token:
        raise StaleSession("no session")
    stamp = _now(now)
    try:
        payload = jwt.decode(token, _key(secret, PURPOSE), algorithms=["HS256"],
                             options={"require": ["sub", "act", "iat", "exp"], "verify_exp": False})
        session = WebSession(user_id=int(payload["sub"]), csrf=str(payload["csrf"]), issued_at=int(payload["iat"]),
                             last_active=int(payload["act"]), sid=str(payload.get("sid") or ""))
        if not 1 <= session.user_id <= 2**31 - 1:
            raise ValueError("user id out of range")
    except (jwt.PyJWTError, KeyError, ValueError, TypeError, OverflowError) as exc:
        raise StaleSession(f"invalid session: {exc.__class__.__name__}") from None
    if payload.get("purpose") != PURPOSE:
        raise StaleSession("not a web session")
    if stamp - session.last_active > idle_minutes * 60 or session.last_active > stamp + 60:
        raise StaleSession("idle timeout")
    if stamp - session.issued_at > MAX_SESSION_HOURS * 3600:
        raise StaleSession("session too old")
    return session


def touched(session: WebSession, *, now: dt.datetime | None = None) -> WebSession:
    return WebSession(user_id=session.user_id, csrf=session.csrf, issued_at=session.issued_at,
                      last_active=_now(now), sid=session.sid)


def prelogin_token(*, secret: str) -> tuple[str, str]:
    """A random value for the sign-in form's CSRF check (double submit) and its signed cookie."""
    value = secrets.token_urlsafe(24)
    signature = hmac.new(_key(secret, "prelogin").encode(), value.encode(), hashlib.sha256).hexdigest()
    return value, f"{value}.{signature}"


def prelogin_matches(cookie: str | None, form_value: str | None, *, secret: str) -> bool:
    if not cookie or not form_value or "." not in cookie:
        return False
    value, signature = cookie.rsplit(".", 1)
    expected = hmac.new(_key(secret, "prelogin").encode(), value.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature, expected) and hmac.compare_digest(value, form_value)


def csrf_matches(session: WebSession, form_value: str | None) -> bool:
    return bool(form_value) and hmac.compare_digest(session.csrf, form_value)
