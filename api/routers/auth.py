"""Sign-in: username and password → a signed token that expires. Five failures lock the account.

Every token's id is recorded (records/sessions.py) and checked per request: POST /auth/logout
revokes the token it is sent with; POST /auth/password changes the password and revokes every
token and web session of the user."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import CurrentUser, SessionDep, SettingsDep, client_ip
from api.errors import SIGNED_IN, responses
from api.schemas import LoginRequest, PasswordChange, TokenResponse
from api.security import hash_password, issue_token, new_token_id, verify_password
from records.audit import Actor, record_audit
from records.schema import User
from records.sessions import prune_expired, record_token, revoke_token, revoke_user_tokens
from suifang.config import Settings

router = APIRouter(prefix="/auth", tags=["auth"])

_BAD_CREDENTIALS = "wrong username or password"


class MeOut(BaseModel):
    id: int
    username: str
    role: str
    ward_ids: list[int]


def check_credentials(request: Request, session: Session, settings: Settings, *, username: str,
                      password: str, action: str = "login") -> User:
    """The user, if the password is right and the account is active and not locked; otherwise 401
    (or 423 while locked). Failures count towards the lockout and are audited."""
    now = dt.datetime.now(dt.timezone.utc)
    user = session.scalar(select(User).where(User.username == username))
    actor = Actor(user_id=user.id if user else None, username=username[:64], client_ip=client_ip(request))
    if user is None or not user.active:
        _audit_login(request, actor, "failed", "unknown or inactive user", action=action)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, _BAD_CREDENTIALS)
    locked_until = _aware(user.locked_until)
    if locked_until and locked_until > now:
        _audit_login(request, actor, "denied", "account locked", action=action)
        minutes = max(1, int((locked_until - now).total_seconds() // 60) + 1)
        raise HTTPException(status.HTTP_423_LOCKED, f"account locked after repeated failed sign-ins; try again in {minutes} min")
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= settings.auth.max_failed_logins:
            user.locked_until = now + dt.timedelta(minutes=settings.auth.lockout_minutes)
            user.failed_logins = 0
        session.commit()
        _audit_login(request, actor, "failed", "wrong password", action=action)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, _BAD_CREDENTIALS)
    user.failed_logins = 0
    user.locked_until = None
    return user


def authenticate(request: Request, session: Session, settings: Settings,
                 *, username: str, password: str) -> TokenResponse:
    user = check_credentials(request, session, settings, username=username, password=password)
    now = dt.datetime.now(dt.timezone.utc)
    jti = new_token_id()
    token, expires = issue_token(user_id=user.id, role=user.role, secret=settings.secret_key,
                                 ttl_minutes=settings.auth.token_ttl_minutes, now=now, jti=jti)
    prune_expired(session, now=now)
    record_token(session, jti=jti, user_id=user.id, kind="api", expires_at=expires, now=now)
    record_audit(session, actor=Actor(user_id=user.id, username=user.username, client_ip=client_ip(request)),
                 action="login", resource="session", outcome="allowed")
    # Committed before the answer leaves: a client may use the token at once, and the request
    # session's own commit can come after the response is sent.
    session.commit()
    return TokenResponse(access_token=token, expires_at=expires, role=user.role, username=user.username)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def _audit_login(request: Request, actor: Actor, outcome: str, detail: str, *, action: str = "login") -> None:
    with request.app.state.session_factory() as s:
        record_audit(s, actor=actor, action=action, resource="session", outcome=outcome, detail=detail)
        s.commit()


@router.post("/login", response_model=TokenResponse, responses=responses(400, 401, 413, 422, 423))
def login(body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep) -> TokenResponse:
    return authenticate(request, session, settings, username=body.username, password=body.password)


class TokenForm(BaseModel):
    """The OAuth2 password form (what /docs' Authorize sends), bounded as POST /auth/login's body is:
    an empty username or password is refused as input (422), not tried as credentials."""

    # A form has no null: a field left out takes its default.
    grant_type: Annotated[str, Field(pattern="^password$")] = "password"
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]
    scope: str = ""
    client_id: str = ""
    client_secret: str = ""


@router.post("/token", response_model=TokenResponse, include_in_schema=True, responses=responses(400, 401, 413, 422, 423))
def token(form: Annotated[TokenForm, Form()], request: Request,
          session: SessionDep, settings: SettingsDep) -> TokenResponse:
    """OAuth2 password flow, for the Authorize button of /docs."""
    return authenticate(request, session, settings, username=form.username, password=form.password)


@router.get("/me", response_model=MeOut, responses=responses(*SIGNED_IN))
def me(user: CurrentUser) -> MeOut:
    return MeOut(id=user.id, username=user.username, role=user.role, ward_ids=sorted(user.ward_ids))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
             responses=responses(*SIGNED_IN))
def logout(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """End this token now (the server forgets it; a copy of it no longer works)."""
    revoke_token(session, jti=request.state.token_id, reason="logout")
    record_audit(session, actor=user.actor, action="logout", resource="session")
    session.commit()  # ended before the answer says so
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
             responses=responses(400, 401, 403, 413, 422, 423))
def change_password(body: PasswordChange, request: Request, session: SessionDep, settings: SettingsDep,
                    user: CurrentUser) -> Response:
    """Change your own password. Every token and web session of yours ends, this one included:
    sign in again with the new password. A wrong current password counts as a failed sign-in."""
    if len(body.new_password) < settings.auth.min_password_length:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"new_password must be at least {settings.auth.min_password_length} characters")
    if body.new_password.strip().lower() == user.username.lower():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "new_password must not be the username")
    try:
        row = check_credentials(request, session, settings, username=user.username, password=body.current_password,
                                action="password")
    except HTTPException as exc:
        if exc.status_code == status.HTTP_401_UNAUTHORIZED:
            # The caller is signed in; 401 would read as "sign in again".
            raise HTTPException(status.HTTP_403_FORBIDDEN, "current_password is wrong") from None
        raise
    if verify_password(row.password_hash, body.new_password):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "new_password must differ from the current one")
    row.password_hash = hash_password(body.new_password)
    revoked = revoke_user_tokens(session, user_id=row.id, reason="password_change")
    record_audit(session, actor=user.actor, action="password", resource="session",
                 detail=f"password changed; {revoked} sign-ins revoked")
    session.commit()  # ended before the answer says so
    return Response(status_code=status.HTTP_204_NO_CONTENT)
