"""Sign-in: username and password → a signed token that expires. Five failures lock the account."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from api.deps import CurrentUser, SessionDep, SettingsDep, client_ip
from api.schemas import LoginRequest, TokenResponse
from api.security import issue_token, verify_password
from records.audit import Actor, record_audit
from records.schema import User

router = APIRouter(prefix="/auth", tags=["auth"])

_BAD_CREDENTIALS = "wrong username or password"


def authenticate(request: Request, session: SessionDep, settings: SettingsDep,
                 *, username: str, password: str) -> TokenResponse:
    now = dt.datetime.now(dt.timezone.utc)
    user = session.scalar(select(User).where(User.username == username))
    actor = Actor(user_id=user.id if user else None, username=username[:64], client_ip=client_ip(request))
    if user is None or not user.active:
        _audit_login(request, actor, "failed", "unknown or inactive user")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, _BAD_CREDENTIALS)
    locked_until = _aware(user.locked_until)
    if locked_until and locked_until > now:
        _audit_login(request, actor, "denied", "account locked")
        minutes = max(1, int((locked_until - now).total_seconds() // 60) + 1)
        raise HTTPException(status.HTTP_423_LOCKED, f"account locked after repeated failed sign-ins; try again in {minutes} min")
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= settings.auth.max_failed_logins:
            user.locked_until = now + dt.timedelta(minutes=settings.auth.lockout_minutes)
            user.failed_logins = 0
        session.commit()
        _audit_login(request, actor, "failed", "wrong password")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, _BAD_CREDENTIALS)
    user.failed_logins = 0
    user.locked_until = None
    token, expires = issue_token(user_id=user.id, role=user.role, secret=settings.secret_key,
                                 ttl_minutes=settings.auth.token_ttl_minutes, now=now)
    record_audit(session, actor=actor, action="login", resource="session", outcome="allowed")
    return TokenResponse(access_token=token, expires_at=expires, role=user.role, username=user.username)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def _audit_login(request: Request, actor: Actor, outcome: str, detail: str) -> None:
    with request.app.state.session_factory() as s:
        record_audit(s, actor=actor, action="login", resource="session", outcome=outcome, detail=detail)
        s.commit()


@router.post("/login", response_model=TokenResponse)
def login(body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep) -> TokenResponse:
    return authenticate(request, session, settings, username=body.username, password=body.password)


@router.post("/token", response_model=TokenResponse, include_in_schema=True)
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request,
          session: SessionDep, settings: SettingsDep) -> TokenResponse:
    """OAuth2 password flow, for the Authorize button of /docs."""
    return authenticate(request, session, settings, username=form.username, password=form.password)


@router.get("/me")
def me(user: CurrentUser) -> dict:
    return {"id": user.id, "username": user.username, "role": user.role, "ward_ids": sorted(user.ward_ids)}
