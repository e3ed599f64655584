"""Request dependencies: the composition root's services (suifang/services.py), settings, database
session, the signed-in staff member, access checks. Each is an `Annotated` type a route takes as a
parameter (`services: ServicesDep`), typed through the services container."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.schemas import DB_INT_MAX
from api.security import InvalidToken, decode_token
from records.audit import Actor, record_audit
from records.schema import Patient, User
from records.sessions import token_is_live
from suifang.config import Settings
from suifang.services import Services

# Record ids are database integers: anything outside 1..2^31-1 cannot name a row and is refused
# at the edge (a larger number overflows PostgreSQL's integer and SQLite's bind).
MAX_OFFSET = 1_000_000
IdPath = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"rows to skip (at most {MAX_OFFSET})")]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def get_services(request: Request) -> Services:
    """The application's services, built once in its lifespan (api/app.py)."""
    services: Services = request.app.state.services
    return services


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session_factory(services: Annotated[Services, Depends(get_services)]) -> sessionmaker[Session]:
    return services.session_factory


def get_session(factory: Annotated[sessionmaker[Session], Depends(get_session_factory)]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the request's work is committed before the answer is sent (FastAPI's default for
# a dependency with yield ends it after the response, so a client acting on a 201 at once could find
# nothing yet, and a failed commit went unreported).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    role: str
    ward_ids: frozenset[int]
    client_ip: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.id, username=self.username, client_ip=self.client_ip)

    def can_see_ward(self, ward_id: int) -> bool:
        return self.is_admin or ward_id in self.ward_ids


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


_UNAUTHORIZED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="not signed in, or the token has expired or was revoked (logout, password change)",
    headers={"WWW-Authenticate": "Bearer"},
)


def resolve_token_user(request: Request, token: str | None, session: Session, settings: Settings) -> StaffUser:
    if not token:
        raise _UNAUTHORIZED
    try:
        claims = decode_token(token, secret=settings.secret_key)
    except InvalidToken:
        raise _UNAUTHORIZED from None
    # The signature is not enough: the token's id must still be live (not logged out, no password
    # change since it was issued).
    if not token_is_live(session, jti=claims.jti, user_id=claims.user_id, kind="api"):
        raise _UNAUTHORIZED
    user = session.get(User, claims.user_id)
    if user is None or not user.active:
        raise _UNAUTHORIZED
    request.state.token_id = claims.jti
    return StaffUser(
        id=user.id, username=user.username, role=user.role,
        ward_ids=frozenset(w.id for w in user.wards), client_ip=client_ip(request),
    )


def current_user(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    session: SessionDep,
    settings: SettingsDep,
) -> StaffUser:
    return resolve_token_user(request, token, session, settings)


CurrentUser = Annotated[StaffUser, Depends(current_user)]


def not_found(what: str = "patient") -> HTTPException:
    # Same answer for "does not exist" and "not yours": no hint that another ward's record exists.
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"{what} not found")


def audit_denial(request: Request, user: StaffUser, *, action: str, resource: str,
                 resource_id: object, patient_id: int | None) -> None:
    """Write a denial in its own transaction, so the failing request's rollback keeps it."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as s:
        record_audit(s, actor=user.actor, action=action, resource=resource, resource_id=resource_id,
                     patient_id=patient_id, outcome="denied")
        s.commit()


def authorize_patient(request: Request, session: Session, user: StaffUser, patient_id: int, *,
                      action: str, resource: str = "patient", resource_id: object | None = None) -> int:
    """Check the user may touch this patient before any patient data is read.

    Only the patient's ward id is looked up here; on denial the request stops with 404 and an
    audit row, and the data query never runs. Returns the ward id."""
    ward_id = session.scalar(select(Patient.ward_id).where(Patient.id == patient_id))
    if ward_id is None or not user.can_see_ward(ward_id):
        audit_denial(request, user, action=action, resource=resource,
                     resource_id=resource_id if resource_id is not None else patient_id,
                     patient_id=patient_id)
        raise not_found(resource)
    return ward_id
