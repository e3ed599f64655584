"""Request and response models: the HTTP edge. Unknown fields, wrong types and over-long
strings are rejected with 422 and a reason before anything is written."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from suifang.logs import mask_id_number, mask_phone

PHONE_PATTERN = re.compile(r"^(?:1[3-9]\d{9}|\+[1-9]\d{7,14}|0\d{2,3}-?\d{7,8})$")
ID_NUMBER_PATTERN = re.compile(r"^\d{17}[\dXx]$")

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MediumText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Language = Literal["zh", "en"]
# Discharge orders can be long, but not unbounded; the request body limit applies as well.
ORDER_TEXT_MAX = 20_000


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LoginRequest(StrictModel):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: dt.datetime
    role: str
    username: str


class PatientCreate(StrictModel):
    ward_code: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    name: ShortText
    sex: Literal["male", "female", "other"] | None = None
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    phone: Annotated[str, StringConstraints(max_length=20)]
    id_number: Annotated[str, StringConstraints(max_length=18)] | None = None
    mrn: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    language: Language = "zh"

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        compact = value.replace(" ", "")
        if not PHONE_PATTERN.match(compact):
            raise ValueError("phone must be a mainland mobile (11 digits, 1[3-9]…), a landline (0xx-xxxxxxxx) or E.164 (+…)")
        return compact

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str | None) -> str | None:
        if value is not None and not ID_NUMBER_PATTERN.match(value):
            raise ValueError("id_number must be an 18-character resident ID (17 digits and a digit or X)")
        return value


class PatientOut(BaseModel):
    id: int
    ward_code: str
    ward_name: str
    name: str
    sex: str | None
    birth_year: int | None
    phone_masked: str
    id_number_masked: str | None
    mrn: str | None
    language: str
    do_not_call: bool

    @classmethod
    def from_row(cls, patient: Any) -> PatientOut:
        return cls(
            id=patient.id, ward_code=patient.ward.code, ward_name=patient.ward.name, name=patient.name,
            sex=patient.sex, birth_year=patient.birth_year, phone_masked=mask_phone(patient.phone) or "",
            id_number_masked=mask_id_number(patient.id_number), mrn=patient.mrn, language=patient.language,
            do_not_call=patient.do_not_call,
        )


class DischargeCreate(StrictModel):
    patient_id: int = Field(gt=0)
    department: MediumText
    diagnosis: MediumText
    discharged_on: dt.date
    admitted_on: dt.date | None = None
    surgery: bool = False
    surgery_name: Annotated[str, StringConstraints(max_length=200)] | None = None
    attending_team: Annotated[str, StringConstraints(max_length=100)] | None = None
    chronic: bool = False
    language: Language | None = None
    order_text: Annotated[str, StringConstraints(max_length=ORDER_TEXT_MAX)]

    @field_validator("order_text")
    @classmethod
    def _order_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("order_text is empty: paste the discharge orders (出院医嘱)")
        if "\x00" in value:
            raise ValueError("order_text contains binary data (NUL bytes); send plain text")
        controls = sum(1 for ch in value if ord(ch) < 32 and ch not in "\n\r\t")
        if controls > 0:
            raise ValueError("order_text contains control characters; send plain text")
        return value


class OrderItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    seq: int
    kind: str
    name: str | None
    generic_name: str | None
    drug_class: str | None
    dose: float | None
    dose_text: str | None
    unit: str | None
    route: str | None
    frequency: str | None
    duration: str | None
    when: str | None
    due_date: dt.date | None
    symptom_code: str | None
    booking_url: str | None
    text: str
    span_start: int
    span_end: int
    source: str


class ScheduledCallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    day_offset: int
    due_date: dt.date
    status: str


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    flow_id: str | None
    revisit_due: dt.date | None
    reexam_due: dt.date | None
    calls: list[ScheduledCallOut]


class DischargeOut(BaseModel):
    id: int
    patient_id: int
    department: str
    diagnosis: str
    admitted_on: dt.date | None
    discharged_on: dt.date
    surgery: bool
    attending_team: str | None
    language: str
    order_text: str
    structured_by: str | None
    unparsed_lines: list[str]
    items: list[OrderItemOut]
    plan: PlanOut | None = None


class TurnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    speaker: str
    text: str
    expecting: str | None
    audio_ref: str | None
    asr_confidence: float | None
    started_at: dt.datetime
    latency_ms: float | None


class CallSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    patient_id: int
    discharge_id: int | None
    channel: str
    language: str
    flow_id: str | None
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime | None


class CallOut(CallSummary):
    turns: list[TurnOut]


class OutcomeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    call_id: int
    patient_id: int
    call_status: str
    respondent: str | None = None
    identity_verified: bool | None = None
    overall_condition: str | None = None
    medication_adherence: str | None = None
    missed_medications: list[str] | None = None
    side_effects: list[str] | None = None
    symptoms: list[str] | None = None
    pain_score: int | None = None
    blood_pressure: dict[str, int] | None = None
    blood_glucose: float | None = None
    heart_rate: int | None = None
    temperature: float | None = None
    wound: str | None = None
    revisit_aware: bool | None = None
    revisit_booked: bool | None = None
    reexam_done: bool | None = None
    questions: list[dict[str, Any]] | None = None
    satisfaction: int | None = None
    feedback: str | None = None
    flags: list[dict[str, Any]] | None = None
    risk_grade: str | None = None
    needs_callback: bool | None = None
    evidence: dict[str, Any] = {}
    created_at: dt.datetime


class QuestionRequest(StrictModel):
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    language: Language | None = None


class AnswerOut(BaseModel):
    text: str
    answered: bool
    sources: list[int]
    reason: str


class CallStart(StrictModel):
    patient_id: int = Field(gt=0)
    discharge_id: int | None = Field(default=None, gt=0)
    language: Language | None = None
    call_date: dt.date | None = None
    flow_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class PatientTurn(StrictModel):
    """One patient turn of a text call: what they said, or silence, or hanging up."""

    text: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    silence: bool = False
    hangup: bool = False


class CallReply(BaseModel):
    call_id: int
    say: str
    expecting: str | None
    done: bool
    call_status: str | None = None
