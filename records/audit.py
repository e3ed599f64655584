"""Audit trail: who touched which patient's data, how it went, from where."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from records.schema import AuditEvent


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str | None
    client_ip: str | None = None


SYSTEM_ACTOR = Actor(user_id=None, username="system")


def record_audit(
    session: Session,
    *,
    actor: Actor,
    action: str,
    resource: str,
    outcome: str = "allowed",
    resource_id: object | None = None,
    patient_id: int | None = None,
    detail: str | None = None,
) -> AuditEvent:
    event = AuditEvent(
        user_id=actor.user_id,
        username=actor.username,
        client_ip=actor.client_ip,
        action=action,
        resource=resource,
        resource_id=None if resource_id is None else str(resource_id),
        patient_id=patient_id,
        outcome=outcome,
        detail=detail[:500] if detail else None,
    )
    session.add(event)
    return event
