"""Request and response models: the HTTP edge. Unknown fields, wrong types and over-long
strings are rejected with 422 and a reason before anything is written."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from records.identifiers import ID_NUMBER_PATTERN, PHONE_PATTERN
from records.patterns import date_range_pattern, digits_range_pattern  # noqa: F401 - for the routers
from suifang.logs import mask_id_number, mask_phone


# Record ids are database integers (PostgreSQL integer, SQLite bind): 1 .. 2^31-1.
DB_INT_MAX = 2**31 - 1
# Patterns as the OpenAPI document states them (ECMA regular expressions).
TEXT_PATTERN = r"^[^\x00]*$"
REQUIRED_TEXT_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"


def _json_int(value: Any) -> Any:
    """An integer as JSON has them: 3 or 3.0, never true, "3" or 3.5."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_json_int)]
RecordId = Annotated[int, Field(ge=1, le=DB_INT_MAX), BeforeValidator(_json_int)]

# Dates of care: 1900..2099. Outside that a date is a typo, and day arithmetic on it overflows.
DATE_MIN, DATE_MAX = dt.date(1900, 1, 1), dt.date(2099, 12, 31)


def _date_in_range(value: dt.date) -> dt.date:
    if not DATE_MIN <= value <= DATE_MAX:
        raise ValueError(f"date must be between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}")
    return value


def _iso_date(value: Any) -> Any:
    # Only YYYY-MM-DD (pydantic alone would read 0 or "0" as 1970-01-01, a Unix time).
    if isinstance(value, dt.date) or (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        return value
    raise ValueError("date must be written YYYY-MM-DD")


CARE_DATE_SCHEMA = {"type": "string", "format": "date",
                    "pattern": r"^(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$"}
CareDate = Annotated[dt.date, BeforeValidator(_iso_date), AfterValidator(_date_in_range), WithJsonSchema(CARE_DATE_SCHEMA)]


def _as_utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything stored is UTC. An answer always carries its offset.
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


UtcDateTime = Annotated[dt.datetime, AfterValidator(_as_utc)]

# Required text: at least one character that is not a space (blank text is stripped to nothing).
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"\S")]
MediumText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=r"\S")]
Language = Literal["zh", "en"]
# Discharge orders can be long, but not unbounded; the request body limit applies as well.
ORDER_TEXT_MAX = 20_000
# One line (or sentence between ；;。) of orders: real ones are far shorter, and the structurer's work
# grows with the square of a line's length (a 20 000-character line took ≈ 12 s).
ORDER_LINE_MAX = 1_000
# The same breaks as knowledge.structurer: a text with any Han character splits at newlines and ；;。,
# other text at newlines, ; and a full stop before a capital.
_ORDER_BREAKS_ZH = re.compile(r"[\n;；。]")
_ORDER_BREAKS_EN = re.compile(r"[;\n]|\.(?=\s+[A-Z(])")
_HAN = re.compile(r"[\u4e00-\u9fff]")


class PlainModel(BaseModel):
    """A request body: unknown fields refused, and no NUL character in any text (PostgreSQL cannot
    store one, and no form or patient ever types one)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        texts = value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(t, str) and "\x00" in t for t in texts):
            raise ValueError("contains a NUL character; send plain text")
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        # Say so in the document too: every text field excludes NUL (and a required one needs a
        # character that is not a space).
        schema = handler.resolve_ref_schema(handler(core_schema))
        for prop in (schema.get("properties") or {}).values():
            for branch in prop.get("anyOf", [prop]):
                if branch.get("type") != "string" or {"enum", "const", "format"} & set(branch):
                    continue
                if "pattern" not in branch:
                    branch["pattern"] = TEXT_PATTERN
                elif branch["pattern"] == r"\S":
                    branch["pattern"] = REQUIRED_TEXT_PATTERN
        return schema


class StrictModel(PlainModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LoginRequest(StrictModel):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"\S")]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"\S")]


PASSWORD_MIN = 12  # auth.min_password_length may ask for more, never less


class PasswordChange(StrictModel):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"\S")]
    new_password: Annotated[str, StringConstraints(min_length=PASSWORD_MIN, max_length=256)] = Field(
        json_schema_extra={"pattern": rf"^\s*[^\s\x00][^\x00]{{{PASSWORD_MIN - 2},}}[^\s\x00]\s*$"},
        description=f"at least auth.min_password_length characters ({PASSWORD_MIN} unless the hospital set more), "
                    "not counting spaces at either end; not the username")


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: UtcDateTime
    role: str
    username: str


class PatientCreate(StrictModel):
    ward_code: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    name: ShortText
    sex: Literal["male", "female", "other"] | None = None
    birth_year: Annotated[int, Field(ge=1900, le=2100), BeforeValidator(_json_int)] | None = None
    phone: Annotated[str, StringConstraints(max_length=20)] = Field(json_schema_extra={"pattern": PHONE_PATTERN.pattern})
    id_number: Annotated[str, StringConstraints(max_length=18)] | None = Field(
        default=None, json_schema_extra={"pattern": ID_NUMBER_PATTERN.pattern})
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
    patient_id: RecordId
    department: MediumText
    diagnosis: MediumText
    discharged_on: CareDate
    admitted_on: CareDate | None = None
    surgery: StrictBool = False
    surgery_name: Annotated[str, StringConstraints(max_length=200)] | None = None
    attending_team: Annotated[str, StringConstraints(max_length=100)] | None = None
    chronic: StrictBool = False
    language: Language | None = None
    order_text: str = Field(
        json_schema_extra={"minLength": 1, "maxLength": ORDER_TEXT_MAX,
                           # lines of at most ORDER_LINE_MAX between newlines or semicolons, no control characters
                           "pattern": rf"^(?:[^\n;\x00-\x08\x0b\x0c\x0e-\x1f]{{0,{ORDER_LINE_MAX}}}[\n;])*"
                                      rf"[^\n;\x00-\x08\x0b\x0c\x0e-\x1f]{{0,{ORDER_LINE_MAX}}}$"},
        description=f"the discharge orders as written (出院医嘱), at most {ORDER_TEXT_MAX:,} characters and "
                    f"{ORDER_LINE_MAX:,} per line (or sentence)")

    @field_validator("order_text")
    @classmethod
    def _order_text(cls, value: str) -> str:
        if len(value) > ORDER_TEXT_MAX:
            raise ValueError(f"order_text is {len(value):,} characters; the limit is {ORDER_TEXT_MAX:,}. Send the "
                             "discharge orders only (not the whole record), or split them into separate discharges")
        if not value.strip():
            raise ValueError("order_text is empty: paste the discharge orders (出院医嘱)")
        breaks = _ORDER_BREAKS_ZH if _HAN.search(value) else _ORDER_BREAKS_EN
        longest = max((len(line) for line in breaks.split(value)), default=0)
        if longest > ORDER_LINE_MAX:
            raise ValueError(f"order_text has a line of {longest:,} characters without a break; the limit is "
                             f"{ORDER_LINE_MAX:,} per line (or sentence): put each order on its own line")
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
    started_at: UtcDateTime
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
    started_at: UtcDateTime
    ended_at: UtcDateTime | None


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
    created_at: UtcDateTime


class QuestionRequest(StrictModel):
    # A patient's question is a sentence or two; its embedding's cost grows faster than its length.
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=r"\S")]
    language: Language | None = None


class AnswerOut(BaseModel):
    text: str
    answered: bool
    sources: list[int]
    reason: str


class CallStart(StrictModel):
    patient_id: RecordId
    discharge_id: RecordId | None = None
    language: Language | None = None
    call_date: CareDate | None = None
    flow_id: Annotated[str, StringConstraints(max_length=64)] | None = None


def _turn_schema(schema: dict[str, Any]) -> None:
    # A turn says something: text, or silence: true, or hangup: true (hangup wins, then silence).
    schema["anyOf"] = [{"required": ["text"], "properties": {"text": {"type": "string"}}},
                       {"required": ["silence"], "properties": {"silence": {"const": True}}},
                       {"required": ["hangup"], "properties": {"hangup": {"const": True}}}]


class PatientTurn(StrictModel):
    """One patient turn of a text call: what they said, or silence, or hanging up."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=_turn_schema)
    text: Annotated[str, StringConstraints(max_length=1_000)] | None = None
    silence: StrictBool = False
    hangup: StrictBool = False


class CallReply(BaseModel):
    call_id: int
    say: str
    expecting: str | None
    done: bool
    call_status: str | None = None
