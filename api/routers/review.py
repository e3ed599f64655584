"""The nurse review queue over JSON (bearer token): list, read, act on review items, correct outcome
fields, reveal a phone or ID number with a reason, and the dashboard figures.

The web pages (api/routers/web.py) reuse the helpers here, so a page and the API audit alike."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import (
    CurrentUser,
    IdPath,
    Offset,
    SessionDep,
    SettingsDep,
    StaffUser,
    audit_denial,
    authorize_patient,
    not_found,
)
from api.errors import SIGNED_IN, WITH_BODY, link, responses, with_links
from api.schemas import TEXT_PATTERN, CareDate, StrictModel, UtcDateTime, date_range_pattern

# records.review.clean_text: no control characters but tab and line breaks, and not blank.
# (records.review.clean_text's rules, as patterns: records.review.text_pattern, required_text_pattern)
from api.routers.calls import authorize_call
from records import review
from records.audit import record_audit
from records.dashboard import dashboard_figures
from records.reasons import review_error
from records.schema import CallSession, Outcome, Patient, ReviewItem
from suifang.config import Settings
from suifang.logs import mask_phone

router = APIRouter(prefix="/review", tags=["review"])

Level = Literal["red", "yellow", "task"]
ReviewStatus = Literal["open", "confirmed", "callback", "escalated", "resolved"]
Action = Literal["confirm", "callback", "resolve", "escalate", "repeat"]


# ----- shared helpers (pages and API) ------------------------------------------------------------

def ward_scope(user: StaffUser) -> list[int] | None:
    return None if user.is_admin else sorted(user.ward_ids)


def audit_separately(request: Request, user: StaffUser, *, action: str, resource: str, outcome: str,
                     resource_id: object | None = None, patient_id: int | None = None,
                     detail: str | None = None) -> None:
    """An audit row in its own transaction: it stays even when the request's work is rolled back."""
    with request.app.state.session_factory() as s:
        record_audit(s, actor=user.actor, action=action, resource=resource, outcome=outcome,
                     resource_id=resource_id, patient_id=patient_id, detail=detail)
        s.commit()


def authorize_item(request: Request, session: Session, user: StaffUser, item_id: int, *, action: str) -> ReviewItem:
    patient_id = session.scalar(select(ReviewItem.patient_id).where(ReviewItem.id == item_id))
    if patient_id is None:
        audit_denial(request, user, action=action, resource="review_item", resource_id=item_id, patient_id=None)
        raise not_found("review item")
    authorize_patient(request, session, user, patient_id, action=action, resource="review_item", resource_id=item_id)
    return session.get(ReviewItem, item_id)


def audit_listing(session: Session, user: StaffUser, rows: list[review.QueueRow], *, action: str,
                  detail: str) -> None:
    """One row for the view itself, one per patient shown (so a patient's audit trail lists it)."""
    record_audit(session, actor=user.actor, action=action, resource="review_queue", detail=detail)
    for row in rows:
        record_audit(session, actor=user.actor, action=action, resource="review_item", resource_id=row.item.id,
                     patient_id=row.item.patient_id)


def perform_action(request: Request, session: Session, user: StaffUser, *, item: ReviewItem, action: str,
                   fields: dict[str, Any]) -> dict[str, Any]:
    """Apply an action and audit it; a refused action is audited as failed and nothing changes."""
    item_id, patient_id = item.id, item.patient_id
    try:
        entry = review.apply_action(session, item=item, action=action, user_id=user.id, username=user.username,
                                    **fields)
    except (review.InvalidValue, review.ActionNotAllowed) as exc:
        session.rollback()
        audit_separately(request, user, action=action, resource="review_item", outcome="failed",
                         resource_id=item_id, patient_id=patient_id, detail=str(exc))
        code = status.HTTP_409_CONFLICT if isinstance(exc, review.ActionNotAllowed) else 422
        raise HTTPException(code, str(exc)) from None
    detail = f"{entry.get('from_status')}->{entry.get('to_status')}"
    if action == "repeat":
        detail = f"scheduled call {entry['scheduled_call_id']} on {entry['date']}"
    record_audit(session, actor=user.actor, action=action, resource="review_item", resource_id=item.id,
                 patient_id=item.patient_id, detail=detail)
    return entry


def perform_correction(request: Request, session: Session, user: StaffUser, *, call_id: int, patient_id: int,
                       field: str, value: str | None, reason: str | None) -> Any:
    outcome = session.scalar(select(Outcome).where(Outcome.call_id == call_id))
    if outcome is None:
        raise not_found("outcome")
    call = session.get(CallSession, call_id)
    try:
        correction = review.correct_outcome(
            session, outcome=outcome, field=field, raw_value=value, reason=reason, user_id=user.id,
            username=user.username, item=review.item_of_call(session, call_id=call_id),
            medications=review.medication_names(session, call=call))
    except (review.InvalidValue, review.ActionNotAllowed) as exc:
        session.rollback()
        audit_separately(request, user, action="correct", resource="outcome", outcome="failed", resource_id=call_id,
                         patient_id=patient_id, detail=str(exc))
        code = status.HTTP_409_CONFLICT if isinstance(exc, review.ActionNotAllowed) else 422
        raise HTTPException(code, str(exc)) from None
    record_audit(session, actor=user.actor, action="correct", resource="outcome", resource_id=call_id,
                 patient_id=patient_id, detail=f"field={field}")
    return correction


def authorize_unmask(request: Request, settings: Settings, user: StaffUser, *, patient_id: int,
                     reason: str | None) -> str:
    """Only roles in auth.unmask_roles, and only with a reason; both refusals are audited."""
    if user.role not in settings.auth.unmask_roles:
        audit_separately(request, user, action="unmask", resource="patient", outcome="denied",
                         resource_id=patient_id, patient_id=patient_id, detail="role may not unmask")
        raise HTTPException(status.HTTP_403_FORBIDDEN, review_error("unmask_denied"))
    try:
        cleaned = review.clean_text(reason, field="reason", required=True, max_length=300)
    except review.InvalidValue as exc:
        audit_separately(request, user, action="unmask", resource="patient", outcome="failed",
                         resource_id=patient_id, patient_id=patient_id, detail=str(exc))
        raise HTTPException(422, review_error("unmask_reason_required")) from None
    assert cleaned is not None
    return cleaned


# ----- models ------------------------------------------------------------------------------------

class ReviewItemOut(BaseModel):
    id: int
    call_id: int | None
    patient_id: int
    patient_name: str
    phone_masked: str
    ward_code: str
    level: str
    priority: int
    reason: str
    status: str
    note: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    history: list[dict[str, Any]] = []


class QueueOut(BaseModel):
    items: list[ReviewItemOut]
    counts: dict[str, int]


def _action_schema(schema: dict[str, Any]) -> None:
    """The documented contract: what each action needs. The checks themselves stay in
    records.review.apply_action, so a refused action is audited like any other."""
    text = {"type": "string", "maxLength": 2000, "pattern": review.text_pattern()}
    required_text = {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": review.required_text_pattern()}
    note = {"anyOf": [text, {"type": "null"}]}
    # The window moves with the calendar: the document is built again when the day changes (api/app.py).
    first, last = review.repeat_window()
    date = {"type": "string", "format": "date", "pattern": date_range_pattern(first, last),
            "description": f"today or later, within a year: {first.isoformat()} … {last.isoformat()} on the day "
                           "this document was served"}

    def variant(action: str, required: dict[str, Any], summary: str) -> dict[str, Any]:
        return {"type": "object", "title": f"{action.capitalize()}Action", "description": summary,
                "additionalProperties": False, "required": ["action", *required],
                "properties": {"action": {"const": action}, "note": note, **required}}

    schema.clear()
    schema.update({"title": "ActionRequest", "oneOf": [
        variant("confirm", {}, "the flag is real; the item is being handled"),
        variant("callback", {"reached": {"type": "boolean"}, "result": required_text},
                "a nurse called the patient back"),
        variant("resolve", {"note": required_text}, "done, with a note saying how"),
        variant("escalate", {"doctor": {**required_text, "maxLength": 100}}, "handed to a doctor"),
        variant("repeat", {"date": date}, "schedule another follow-up call"),
    ]})


ACTION_FIELDS = {"confirm": {"note"}, "callback": {"note", "reached", "result"}, "resolve": {"note"},
                 "escalate": {"note", "doctor"}, "repeat": {"note", "date"}}


class ActionRequest(StrictModel):
    # Texts are checked as sent (records.review.clean_text trims them), so the bounds are the document's.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=_action_schema)
    action: Action
    note: Annotated[str, StringConstraints(max_length=2000, strip_whitespace=False)] | None = None
    reached: StrictBool | None = None
    result: Annotated[str, StringConstraints(max_length=2000, strip_whitespace=False)] | None = None
    doctor: Annotated[str, StringConstraints(max_length=100, strip_whitespace=False)] | None = None
    date: CareDate | None = None

    @model_validator(mode="after")
    def _fields_of_the_action(self) -> ActionRequest:
        # As the document's variants say: each action takes its own fields only.
        other = sorted(self.model_fields_set - {"action"} - ACTION_FIELDS[self.action])
        if other:
            raise ValueError(f"{self.action} does not take {', '.join(other)}")
        return self


def _correction_schema(schema: dict[str, Any]) -> None:
    """The documented contract: for each field, the typed values records.review.parse_field_value
    accepts (records.review.value_pattern). Missed medicines must be drugs of the call's orders: the
    record decides that (409)."""
    reason = {"anyOf": [{"type": "string", "maxLength": 500, "pattern": review.text_pattern()}, {"type": "null"}],
              "description": "why (kept with the correction)"}

    def variant(field: str) -> dict[str, Any]:
        pattern = review.value_pattern(field)
        value: dict[str, Any] = {"type": "string", "maxLength": review.MAX_TEXT,
                                 "pattern": pattern if pattern is not None else TEXT_PATTERN}
        required = ["field"]
        if field == "call_status":
            required.append("value")
        else:
            value = {"anyOf": [value, {"type": "null"}], "description": "blank or null: unknown"}
        if field == "missed_medications":
            value["description"] = "drugs of the call's discharge orders, separated by , ; 、 or new lines"
        return {"type": "object", "title": f"Correct_{field}", "additionalProperties": False, "required": required,
                "properties": {"field": {"const": field}, "value": value, "reason": reason}}

    schema.clear()
    schema.update({"title": "CorrectionRequest", "oneOf": [variant(f) for f in review.CORRECTABLE_FIELDS]})


class CorrectionRequest(StrictModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=_correction_schema)
    # Checked in records.review (an unknown field or value is refused with the reason and audited), on
    # the text as sent: the bounds apply before trimming, as the document says.
    field: Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=False)]
    value: Annotated[str, StringConstraints(max_length=review.MAX_TEXT, strip_whitespace=False)] | None = None
    reason: Annotated[str, StringConstraints(max_length=500, strip_whitespace=False)] | None = None


class CorrectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    call_id: int
    field: str
    original: Any
    corrected: Any
    reason: str | None
    username: str | None
    at: UtcDateTime


def _reason_required(schema: dict[str, Any]) -> None:
    schema["required"] = ["reason"]
    schema["properties"]["reason"].pop("default", None)


class UnmaskRequest(StrictModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=_reason_required)
    # Required (a missing or blank reason is refused with 422 and audited by authorize_unmask).
    reason: Annotated[str, StringConstraints(max_length=300, strip_whitespace=False)] = Field(
        default="", description="why the numbers are needed (audited)",
        json_schema_extra={"minLength": 1, "pattern": review.required_text_pattern()})


class UnmaskOut(BaseModel):
    patient_id: int
    phone: str
    id_number: str | None


def _item_out(item: ReviewItem, *, name: str, phone: str, ward_code: str, history: bool = False) -> ReviewItemOut:
    return ReviewItemOut(id=item.id, call_id=item.call_id, patient_id=item.patient_id, patient_name=name,
                         phone_masked=mask_phone(phone) or "", ward_code=ward_code, level=item.level,
                         priority=item.priority, reason=item.reason, status=item.status, note=item.note,
                         created_at=item.created_at, updated_at=item.updated_at,
                         history=list(item.history or []) if history else [])


# ----- routes ------------------------------------------------------------------------------------

@router.get("/items", response_model=QueueOut, responses={
    **with_links(200, "The queue, most urgent first, and counts by status",
                 ReadItem=link("/review/items/{item_id}", "get", item_id="$response.body#/items/0/id"),
                 ActOnItem=link("/review/items/{item_id}/actions", "post", item_id="$response.body#/items/0/id")),
    **responses(*SIGNED_IN)})
def list_items(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    ward: Annotated[str | None, Query(max_length=32)] = None,
    level: Annotated[Level | None, Query()] = None,
    status_: Annotated[ReviewStatus | None, Query(alias="status")] = None,
    date_from: Annotated[CareDate | None, Query()] = None,
    date_to: Annotated[CareDate | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> QueueOut:
    """Review items of the user's wards (admin: all): red, then yellow, then tasks; oldest first."""
    tz = review.local_zone(settings.service.timezone)
    filters = review.QueueFilters(ward_code=ward, level=level, status=status_, date_from=date_from, date_to=date_to)
    rows = review.review_queue(session, ward_ids=ward_scope(user), filters=filters, tz=tz, limit=limit, offset=offset)
    counts = review.status_counts(session, ward_ids=ward_scope(user), filters=filters, tz=tz)
    audit_listing(session, user, rows, action="list", detail=f"api queue: {len(rows)} items")
    return QueueOut(items=[_item_out(r.item, name=r.patient_name, phone=r.patient_phone, ward_code=r.ward_code)
                           for r in rows], counts=counts)


@router.get("/items/{item_id}", response_model=ReviewItemOut, responses=responses(*SIGNED_IN, 404))
def read_item(item_id: IdPath, request: Request, session: SessionDep, user: CurrentUser) -> ReviewItemOut:
    item = authorize_item(request, session, user, item_id, action="read")
    patient = session.get(Patient, item.patient_id)
    record_audit(session, actor=user.actor, action="read", resource="review_item", resource_id=item_id,
                 patient_id=item.patient_id)
    return _item_out(item, name=patient.name, phone=patient.phone, ward_code=patient.ward.code, history=True)


@router.post("/items/{item_id}/actions", response_model=ReviewItemOut, responses=responses(*WITH_BODY, 404, 409))
def act_on_item(item_id: IdPath, body: ActionRequest, request: Request, session: SessionDep,
                user: CurrentUser) -> ReviewItemOut:
    """confirm · callback (reached, result) · resolve (note) · escalate (doctor, note) · repeat (date)."""
    item = authorize_item(request, session, user, item_id, action=body.action)
    perform_action(request, session, user, item=item, action=body.action,
                   fields={"note": body.note, "reached": body.reached, "result": body.result, "doctor": body.doctor,
                           "repeat_on": body.date})
    patient = session.get(Patient, item.patient_id)
    return _item_out(item, name=patient.name, phone=patient.phone, ward_code=patient.ward.code, history=True)


@router.post("/calls/{call_id}/corrections", response_model=CorrectionOut, status_code=status.HTTP_201_CREATED,
             responses=responses(*WITH_BODY, 404, 409))
def correct_field(call_id: IdPath, body: CorrectionRequest, request: Request, session: SessionDep,
                  user: CurrentUser) -> CorrectionOut:
    """Correct one outcome field; the original value is kept and the nurse named."""
    patient_id = authorize_call(request, session, user, call_id, action="correct")
    correction = perform_correction(request, session, user, call_id=call_id, patient_id=patient_id,
                                    field=body.field, value=body.value, reason=body.reason)
    return CorrectionOut.model_validate(correction)


@router.post("/patients/{patient_id}/unmask", response_model=UnmaskOut, responses=responses(*WITH_BODY, 403, 404))
def unmask_patient(patient_id: IdPath, body: UnmaskRequest, request: Request, session: SessionDep,
                   settings: SettingsDep, user: CurrentUser) -> UnmaskOut:
    authorize_patient(request, session, user, patient_id, action="unmask")
    reason = authorize_unmask(request, settings, user, patient_id=patient_id, reason=body.reason)
    patient = session.get(Patient, patient_id)
    record_audit(session, actor=user.actor, action="unmask", resource="patient", resource_id=patient_id,
                 patient_id=patient_id, detail=reason)
    return UnmaskOut(patient_id=patient_id, phone=patient.phone, id_number=patient.id_number)


@router.get("/dashboard", responses=responses(*SIGNED_IN))
def dashboard(session: SessionDep, settings: SettingsDep, user: CurrentUser) -> dict:
    """Follow-up success, completion, flags by department and week, adherence, satisfaction,
    revisits booked — for the user's wards (admin: all)."""
    figures = dashboard_figures(session, ward_ids=ward_scope(user), tz=review.local_zone(settings.service.timezone))
    record_audit(session, actor=user.actor, action="view", resource="dashboard")
    return figures

