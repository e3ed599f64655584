"""Data functions over the record store (keyword-only arguments, no HTTP here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from records.schema import (
    CallSession,
    Discharge,
    FollowupPlan,
    Outcome,
    Patient,
    Ward,
)


class UnknownWard(LookupError):
    pass


def ward_by_code(session: Session, *, code: str) -> Ward:
    ward = session.scalar(select(Ward).where(Ward.code == code))
    if ward is None:
        raise UnknownWard(code)
    return ward


def create_patient(session: Session, *, ward: Ward, name: str, phone: str, sex: str | None = None,
                   birth_year: int | None = None, id_number: str | None = None, mrn: str | None = None,
                   language: str = "zh") -> Patient:
    patient = Patient(ward_id=ward.id, ward=ward, name=name, phone=phone, sex=sex, birth_year=birth_year,
                      id_number=id_number, mrn=mrn, language=language)
    session.add(patient)
    session.flush()
    return patient


def list_patients(session: Session, *, ward_ids: Sequence[int] | None, limit: int = 50, offset: int = 0,
                  ward_code: str | None = None) -> list[Patient]:
    """ward_ids=None means every ward (admin); otherwise only those wards are queried."""
    query = select(Patient).order_by(Patient.id).limit(limit).offset(offset)
    if ward_ids is not None:
        query = query.where(Patient.ward_id.in_(list(ward_ids)))
    if ward_code:
        query = query.join(Ward, Patient.ward_id == Ward.id).where(Ward.code == ward_code)
    return list(session.scalars(query))


def create_discharge(session: Session, *, patient: Patient, department: str, diagnosis: str,
                     discharged_on: dt.date, order_text: str, language: str, admitted_on: dt.date | None = None,
                     surgery: bool = False, surgery_name: str | None = None, attending_team: str | None = None,
                     chronic: bool = False) -> Discharge:
    discharge = Discharge(
        patient_id=patient.id, patient=patient, ward_id=patient.ward_id, department=department,
        diagnosis=diagnosis, discharged_on=discharged_on, admitted_on=admitted_on, surgery=surgery,
        surgery_name=surgery_name, attending_team=attending_team, chronic=chronic, language=language,
        order_text=order_text,
    )
    session.add(discharge)
    session.flush()
    return discharge


def plan_for_discharge(session: Session, *, discharge_id: int) -> FollowupPlan | None:
    return session.scalar(select(FollowupPlan).where(FollowupPlan.discharge_id == discharge_id))


def discharges_of_patient(session: Session, *, patient_id: int) -> list[Discharge]:
    return list(session.scalars(select(Discharge).where(Discharge.patient_id == patient_id)
                                .order_by(Discharge.discharged_on.desc())))


def list_calls(session: Session, *, ward_ids: Sequence[int] | None, patient_id: int | None = None,
               status: str | None = None, limit: int = 50, offset: int = 0) -> list[CallSession]:
    query = select(CallSession).order_by(CallSession.started_at.desc()).limit(limit).offset(offset)
    if ward_ids is not None:
        query = query.where(CallSession.ward_id.in_(list(ward_ids)))
    if patient_id is not None:
        query = query.where(CallSession.patient_id == patient_id)
    if status is not None:
        query = query.where(CallSession.status == status)
    return list(session.scalars(query))


def outcome_of_call(session: Session, *, call_id: int) -> Outcome | None:
    return session.scalar(select(Outcome).where(Outcome.call_id == call_id))
