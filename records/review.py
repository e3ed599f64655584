"""The nurse review queue: flagged calls and tasks, what nurses do with them, and corrections of
outcome fields (followup-outcome.md codes are validated here).

Data functions only: the caller has already checked the user may touch the patient and writes the
audit event; every change appends to ReviewItem.history so the item carries its own story."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from records.outcome_contract import (  # noqa: F401 - re-exported for the API
    ADHERENCE,
    CALL_STATUSES,
    CONDITIONS,
    CORRECTABLE_FIELDS,
    ENUMS,
    RANGES,
    RESPONDENTS,
    RISK_GRADES,
    WOUND_STATES,
)
from language.words import word_list
from records.patterns import digits_range_pattern, whole_numbers_pattern
from records.reasons import review_error
from records.schema import (
    CallSession,
    Discharge,
    FollowupPlan,
    OrderItem,
    Outcome,
    OutcomeCorrection,
    Patient,
    ReviewItem,
    ScheduledCall,
    Ward,
    utcnow,
)

# ----- the outcome contract (../shared/spec/followup-outcome.md) -----------------------------------

SYMPTOM_CODES = (
    "chest_pain", "chest_tightness", "palpitations", "dyspnea", "cough", "hemoptysis", "fever", "chills",
    "headache", "dizziness", "syncope", "confusion", "slurred_speech", "facial_droop", "limb_weakness", "edema",
    "weight_gain", "fatigue", "nausea_vomiting", "hematemesis", "abdominal_pain", "diarrhea", "constipation",
    "melena", "jaundice", "urinary_problem", "rash", "itching", "bleeding", "bruising", "wound_pain", "insomnia",
    "low_mood", "suicidal_ideation", "hypoglycemia_symptoms", "pain",
)
REVIEW_STATUSES = ("open", "confirmed", "callback", "escalated", "resolved")
REVIEW_LEVELS = ("red", "yellow", "task")
ACTIONS = ("confirm", "callback", "resolve", "escalate", "repeat")

# Fields a nurse may correct and their kinds, enums and ranges: from the outcome contract.
_ENUMS = ENUMS
_RANGES = RANGES
_TRUE = frozenset(word_list("typed_yes"))   # language/data/word_lists.yaml
_FALSE = frozenset(word_list("typed_no"))
# Typed values are read as written with ASCII digits and letters (any case); str.strip()'s whitespace
# around them is ignored. value_pattern() states the same as a regular expression for the API document.
_NUMBER = re.compile(r"^[+-]?[0-9]+(?:\.[0-9]+)?$")
_WS = r"[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"  # what str.strip() removes
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f"  # refused in texts (clean_text)
_LIST_BREAK = "[,，、;；\n]"
_BP_BREAK = "[ \t\u3000]*[/／ ,，][ \t\u3000]*"  # 120/80, 120 / 80, 120 80, 120，80
_BP = re.compile(f"([0-9]{{2,3}}){_BP_BREAK}([0-9]{{2,3}})")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
MAX_TEXT = 2000
BP_SYSTOLIC, BP_DIASTOLIC = (50, 300), (20, 200)


def _lower(text: str) -> str:
    """ASCII letters in lower case (str.lower() would also read the Kelvin sign as k)."""
    return text.translate(_ASCII_LOWER)


class InvalidValue(ValueError):
    """A corrected value or an action's input that the contract does not allow; the message says why."""


class ActionNotAllowed(ValueError):
    """The request does not fit the record's state: an action on a resolved item, a repeat call for a
    patient without a follow-up plan, missed medicines that the call's orders do not list."""


# ----- queue ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueFilters:
    ward_code: str | None = None
    level: str | None = None
    status: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass(frozen=True)
class QueueRow:
    item: ReviewItem
    patient_name: str
    patient_phone: str
    ward_code: str
    department: str


def local_zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except Exception:  # noqa: BLE001 - an unknown zone name falls back to UTC
        return dt.timezone.utc


def day_start(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz).astimezone(dt.timezone.utc)


def _scoped(query: Select, *, ward_ids: Sequence[int] | None, filters: QueueFilters, tz: dt.tzinfo,
            with_status: bool = True) -> Select:
    # Scoped by the patient's ward, as every access check is (api.deps.authorize_patient).
    if ward_ids is not None:
        query = query.where(Patient.ward_id.in_(list(ward_ids) or [-1]))
    if filters.ward_code:
        query = query.where(Ward.code == filters.ward_code)
    if filters.level:
        query = query.where(ReviewItem.level == filters.level)
    if with_status and filters.status:
        query = query.where(ReviewItem.status == filters.status)
    if filters.date_from:
        query = query.where(ReviewItem.created_at >= day_start(filters.date_from, tz))
    if filters.date_to:
        query = query.where(ReviewItem.created_at < day_start(filters.date_to + dt.timedelta(days=1), tz))
    return query


def review_queue(session: Session, *, ward_ids: Sequence[int] | None, filters: QueueFilters | None = None,
                 tz: dt.tzinfo = dt.timezone.utc, limit: int = 200, offset: int = 0) -> list[QueueRow]:
    """Red first, then yellow, then other tasks; oldest first within a level.

    `ward_ids=None` means every ward (admin)."""
    filters = filters or QueueFilters()
    query = (select(ReviewItem, Patient.name, Patient.phone, Ward.code, Ward.department)
             .join(Patient, Patient.id == ReviewItem.patient_id)
             .join(Ward, Ward.id == Patient.ward_id))
    query = _scoped(query, ward_ids=ward_ids, filters=filters, tz=tz)
    query = query.order_by(ReviewItem.priority, ReviewItem.created_at, ReviewItem.id).limit(limit).offset(offset)
    return [QueueRow(item=item, patient_name=name, patient_phone=phone, ward_code=code, department=dept)
            for item, name, phone, code, dept in session.execute(query)]


def status_counts(session: Session, *, ward_ids: Sequence[int] | None, filters: QueueFilters | None = None,
                  tz: dt.tzinfo = dt.timezone.utc) -> dict[str, int]:
    """How many items per status under the same filters (the status filter itself left out)."""
    filters = filters or QueueFilters()
    query = (select(ReviewItem.status, func.count()).join(Patient, Patient.id == ReviewItem.patient_id)
             .join(Ward, Ward.id == Patient.ward_id).group_by(ReviewItem.status))
    query = _scoped(query, ward_ids=ward_ids, filters=filters, tz=tz, with_status=False)
    counts = {status: 0 for status in REVIEW_STATUSES}
    for status, count in session.execute(query):
        counts[status] = counts.get(status, 0) + count
    return counts


def item_of_call(session: Session, *, call_id: int) -> ReviewItem | None:
    return session.scalar(select(ReviewItem).where(ReviewItem.call_id == call_id).order_by(ReviewItem.id))


# ----- actions -------------------------------------------------------------------------------------

def _history_entry(*, action: str, user_id: int | None, username: str | None, **data: Any) -> dict[str, Any]:
    entry = {"at": utcnow().isoformat(timespec="seconds"), "action": action, "user_id": user_id,
             "username": username}
    entry.update({k: v for k, v in data.items() if v is not None})
    return entry


def append_history(item: ReviewItem, entry: dict[str, Any]) -> None:
    # A new list, so the JSON column is seen as changed.
    item.history = [*(item.history or []), entry]
    item.updated_at = utcnow()


def clean_text(value: str | None, *, field: str, required: bool = False, max_length: int = MAX_TEXT) -> str | None:
    text = (value or "").strip()
    if "\x00" in text or any(ord(ch) < 32 and ch not in "\n\r\t" for ch in text):
        raise InvalidValue(review_error("control_characters", field=field))
    if required and not text:
        raise InvalidValue(review_error("required", field=field))
    if len(text) > max_length:
        raise InvalidValue(review_error("too_long", field=field, max_length=max_length))
    return text or None


def parse_bool(value: str | bool | None, *, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = _lower((value or "").strip())
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidValue(review_error("yes_or_no", field=field))


def apply_action(session: Session, *, item: ReviewItem, action: str, user_id: int | None, username: str | None,
                 note: str | None = None, reached: str | bool | None = None, result: str | None = None,
                 doctor: str | None = None, repeat_on: dt.date | str | None = None,
                 today: dt.date | None = None) -> dict[str, Any]:
    """Apply one nurse action to a review item; returns the history entry it appended.

    Raises InvalidValue (bad input) or ActionNotAllowed (wrong state) before anything changes."""
    if action not in ACTIONS:
        raise InvalidValue(review_error("action_unknown", choices=", ".join(ACTIONS)))
    if item.status == "resolved":
        raise ActionNotAllowed(review_error("already_resolved"))
    note = clean_text(note, field="note", required=action == "resolve")
    today = today or dt.date.today()
    data: dict[str, Any] = {"note": note}
    new_status = item.status
    if action == "confirm":
        new_status = "confirmed"
    elif action == "callback":
        data["reached"] = parse_bool(reached, field="reached")
        data["result"] = clean_text(result, field="result", required=True)
        new_status = "callback"
    elif action == "resolve":
        new_status = "resolved"
    elif action == "escalate":
        data["doctor"] = clean_text(doctor, field="doctor", required=True, max_length=100)
        new_status = "escalated"
    elif action == "repeat":
        data["scheduled_call_id"], data["date"] = _schedule_repeat(session, item=item, repeat_on=repeat_on,
                                                                   today=today)
    entry = _history_entry(action=action, user_id=user_id, username=username, from_status=item.status,
                           to_status=new_status, **data)
    item.status = new_status
    if note and action in ("resolve", "escalate", "confirm"):
        item.note = note
    if action in ("confirm", "callback", "escalate") and item.assigned_to is None:
        item.assigned_to = user_id
    append_history(item, entry)
    session.flush()
    return entry


def _parse_date(value: dt.date | str | None, *, field: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        raise InvalidValue(review_error("not_a_date", field=field)) from None


REPEAT_WITHIN_DAYS = 366


def repeat_window(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The first and last day a repeat call may be scheduled on: today, and a year on."""
    today = today or dt.date.today()
    return today, today + dt.timedelta(days=REPEAT_WITHIN_DAYS)


def _schedule_repeat(session: Session, *, item: ReviewItem, repeat_on: dt.date | str | None,
                     today: dt.date) -> tuple[int, str]:
    day = _parse_date(repeat_on, field="date")
    first, last = repeat_window(today)
    if day < first:
        raise InvalidValue(review_error("date_past"))
    if day > last:
        raise InvalidValue(review_error("date_too_far"))
    discharge_id = None
    if item.call_id is not None:
        discharge_id = session.scalar(select(CallSession.discharge_id).where(CallSession.id == item.call_id))
    plan_query = select(FollowupPlan).where(FollowupPlan.patient_id == item.patient_id)
    plan = None
    if discharge_id is not None:
        plan = session.scalar(plan_query.where(FollowupPlan.discharge_id == discharge_id))
    if plan is None:
        plan = session.scalar(plan_query.join(Discharge, Discharge.id == FollowupPlan.discharge_id)
                              .order_by(Discharge.discharged_on.desc()))
    if plan is None:  # the record's state, not the request, is what is missing
        raise ActionNotAllowed(review_error("no_plan"))
    discharged_on = session.scalar(select(Discharge.discharged_on).where(Discharge.id == plan.discharge_id))
    scheduled = ScheduledCall(plan_id=plan.id, patient_id=item.patient_id, due_date=day,
                              day_offset=(day - discharged_on).days if discharged_on else 0, status="scheduled")
    session.add(scheduled)
    session.flush()
    return scheduled.id, day.isoformat()


# ----- corrections ---------------------------------------------------------------------------------

def medication_names(session: Session, *, call: CallSession) -> list[str]:
    if call.discharge_id is None:
        return []
    names = session.scalars(select(OrderItem.name).where(OrderItem.discharge_id == call.discharge_id,
                                                         OrderItem.kind == "medication").order_by(OrderItem.seq))
    return [n for n in names if n]


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in re.split(f"{_LIST_BREAK}+", text) if part.strip()]


def parse_field_value(field: str, raw: str | None, *, medications: Sequence[str] = ()) -> Any:
    """A nurse's typed value → the contract's value for `field`. Empty means unknown (null)."""
    kind = CORRECTABLE_FIELDS.get(field)
    if kind is None:
        raise InvalidValue(review_error("not_correctable", field=repr(field)))
    text = (raw or "").strip()
    if len(text) > MAX_TEXT:
        raise InvalidValue(review_error("value_too_long", field=field, max_length=MAX_TEXT))
    if not text:
        if field == "call_status":
            raise InvalidValue(review_error("call_status_empty"))
        return None
    if kind == "enum":
        value = _lower(text)
        if value not in _ENUMS[field]:
            raise InvalidValue(review_error("one_of", field=field, choices=", ".join(_ENUMS[field])))
        return value
    if kind == "bool":
        return parse_bool(text, field=field)
    if kind in ("int", "float"):
        if not _NUMBER.match(text):
            raise InvalidValue(review_error("not_a_number", field=field))
        number = Decimal(text)  # exact: 40.0000000000000001 is over 40
        if kind == "int" and number != number.to_integral_value():
            raise InvalidValue(review_error("not_whole", field=field))
        low, high = _RANGES[field]
        if not low <= number <= high:
            raise InvalidValue(review_error("out_of_range", field=field, low=f"{low:g}", high=f"{high:g}"))
        return int(number) if kind == "int" else round(float(number), 1)
    if kind == "bp":
        match = _BP.fullmatch(text)
        if not match:
            raise InvalidValue(review_error("bp_format"))
        systolic, diastolic = int(match.group(1)), int(match.group(2))
        if not (BP_SYSTOLIC[0] <= systolic <= BP_SYSTOLIC[1] and BP_DIASTOLIC[0] <= diastolic <= BP_DIASTOLIC[1]
                and systolic > diastolic):
            raise InvalidValue(review_error("bp_range"))
        return {"systolic": systolic, "diastolic": diastolic}
    if kind == "symptoms":
        codes = [_lower(c) for c in _split_list(text)]
        unknown = [c for c in codes if c not in SYMPTOM_CODES]
        if unknown:
            raise InvalidValue(review_error("unknown_symptoms", field=field, codes=", ".join(unknown[:5])))
        return list(dict.fromkeys(codes))
    if kind == "medications":
        names = _split_list(text)
        allowed = {m.lower(): m for m in medications}
        unknown = [n for n in names if n.lower() not in allowed]
        if unknown:  # the call's orders decide, not the form of the value: a conflict with the record
            listed = ", ".join(medications) if medications else review_error("no_medications_ordered")
            raise ActionNotAllowed(review_error("medications_not_ordered", listed=listed))
        return list(dict.fromkeys(allowed[n.lower()] for n in names))
    return clean_text(text, field=field)  # free text (feedback)


def correct_outcome(session: Session, *, outcome: Outcome, field: str, raw_value: str | None, reason: str | None,
                    user_id: int | None, username: str | None, item: ReviewItem | None = None,
                    medications: Sequence[str] = ()) -> OutcomeCorrection:
    """Set one outcome field to a nurse's value, keeping the original on an OutcomeCorrection."""
    value = parse_field_value(field, raw_value, medications=medications)
    reason = clean_text(reason, field="reason", max_length=500)
    original = getattr(outcome, field)
    correction = OutcomeCorrection(outcome_id=outcome.id, call_id=outcome.call_id, patient_id=outcome.patient_id,
                                   field=field, original=original, corrected=value, reason=reason,
                                   user_id=user_id, username=username)
    session.add(correction)
    setattr(outcome, field, value)
    if item is not None:
        append_history(item, _history_entry(action="correct", user_id=user_id, username=username, field=field,
                                            original=original, corrected=value, reason=reason))
    session.flush()
    return correction


def corrections_of_call(session: Session, *, call_id: int) -> list[OutcomeCorrection]:
    return list(session.scalars(select(OutcomeCorrection).where(OutcomeCorrection.call_id == call_id)
                                .order_by(OutcomeCorrection.id)))


# ----- what a typed value may look like, as the API document states it -----------------------------

def _any_case(word: str) -> str:
    assert re.fullmatch(r"[\w]+", word), word  # codes and typed words: letters, digits, _ (no regex syntax)
    return "".join(f"[{ch}{ch.upper()}]" if ch.isascii() and ch.isalpha() else ch for ch in word)


def _choice(words: Sequence[str]) -> str:
    return "(?:" + "|".join(_any_case(w) for w in sorted(set(words), key=lambda w: (-len(w), w))) + ")"


def _bp_number(low: int, high: int) -> str:
    """low..high as a blood-pressure reading is typed: two or three digits (85 or 085)."""
    parts = []
    if low <= 99:
        parts.append(f"0?(?:{digits_range_pattern(low, min(high, 99), 2)})")
    if high >= 100:
        parts.append(digits_range_pattern(max(low, 100), high, 3))
    return "(?:" + "|".join(parts) + ")"


def value_pattern(field: str) -> str | None:
    """A regular expression (ECMA and Python alike) for exactly the typed values of `field` that
    parse_field_value accepts, or None where any text is accepted and only the record decides
    (missed_medications: names from the call's orders). Blank means unknown, except for call_status."""
    kind = CORRECTABLE_FIELDS[field]
    ws = _WS
    core: str
    if kind == "enum":
        core = _choice(_ENUMS[field])
    elif kind == "bool":
        core = _choice([*_TRUE, *_FALSE])
    elif kind in ("int", "float"):
        low, high = (int(bound) for bound in _RANGES[field])
        assert (low, high) == _RANGES[field] and low >= 0 and (kind == "int" or low > 0), field
        whole = whole_numbers_pattern
        if kind == "int":
            number = rf"\+?0*(?:{whole(low, high)})(?:\.0+)?"
            if low == 0:
                number = rf"(?:{number}|-0+(?:\.0+)?)"
        else:
            number = rf"\+?0*(?:(?:{whole(low, high - 1)})(?:\.[0-9]+)?|{high}(?:\.0+)?)"
        core = number
    elif kind == "bp":
        sep = _BP_BREAK
        (s_low, s_high), (d_low, d_high) = BP_SYSTOLIC, BP_DIASTOLIC
        pairs = [f"{_bp_number(s_low, s_high)}{sep}{_bp_number(d_low, s_low - 1)}"]  # any systolic is above these
        pairs += [f"{_bp_number(d + 1, s_high)}{sep}{_bp_number(d, d)}" for d in range(s_low, d_high + 1)]
        core = "(?:" + "|".join(pairs) + ")"
    elif kind == "symptoms":
        ws_in_line = ws.replace("\\t-\\r", "\\t\\x0b-\\r")  # a newline breaks the list
        part = f"{ws_in_line}*(?:{_choice(SYMPTOM_CODES)}{ws_in_line}*)?"
        return f"^{part}(?:{_LIST_BREAK}{part})*$"
    elif kind == "medications":
        return None
    else:  # free text
        return text_pattern()
    if field == "call_status":
        return f"^{ws}*{core}{ws}*$"
    return f"^{ws}*(?:{core}{ws}*)?$"


def text_pattern() -> str:
    """A text clean_text accepts: no control characters but tab and line breaks, once trimmed."""
    return f"^{_WS}*[^{_CONTROL}]*{_WS}*$"


def required_text_pattern() -> str:
    """A text clean_text(required=True) accepts: the same, with a character that is not a space."""
    visible = _WS.replace("[", "[^\\x00-\\x08\\x0e-\\x1b", 1)  # neither a control character nor a space
    return f"^{_WS}*[^{_CONTROL}]*{visible}[^{_CONTROL}]*{_WS}*$"
