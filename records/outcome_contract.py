"""The follow-up outcome contract (../shared/spec/followup-outcome.md) in code, each field defined once.

A field says its kind, its allowed codes or range, whether a call step may collect it, whether it
is a column of the outcomes table and whether a nurse may correct it. The table columns, the flow
validation (which fields a step may collect), the nurse-correction rules, the language model's
choices and the evaluators all derive from FIELDS; nothing else lists the fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from language.lexicon import SYMPTOM_CODES

CALL_STATUSES = ("completed", "partial", "no_answer", "busy", "voicemail", "wrong_person", "refused", "failed")
RESPONDENTS = ("patient", "family", "other")
CONDITIONS = ("better", "same", "worse")
ADHERENCE = ("full", "partial", "none", "unknown")
WOUND_STATES = ("ok", "redness", "swelling", "discharge", "bleeding", "dehiscence", "none")
RISK_GRADES = ("red", "yellow", "blue", "grey")
FLAG_LEVELS = ("red", "yellow")


@dataclass(frozen=True)
class OutcomeField:
    name: str
    kind: str                                   # enum | bool | int | float | symptoms | medications | bp | text | questions | flags
    codes: tuple[Any, ...] = ()                 # allowed values of an enum (and of int scales)
    range: tuple[float, float] | None = None    # for numbers
    collectable: bool = False                   # a flow step may ask for it (`collect:`)
    column: bool = True                         # a column of the outcomes table
    correctable: bool = True                    # a nurse may correct it on the review page
    description: str = ""


FIELDS: tuple[OutcomeField, ...] = (
    OutcomeField("call_status", "enum", CALL_STATUSES, description="how the call ended"),
    OutcomeField("respondent", "enum", RESPONDENTS, description="who answered"),
    OutcomeField("identity_verified", "bool", collectable=True, description="identity confirmed"),
    OutcomeField("overall_condition", "enum", CONDITIONS, collectable=True,
                 description="How the patient feels compared with the hospital stay."),
    OutcomeField("medication_adherence", "enum", ADHERENCE, collectable=True,
                 description="Did the patient take the discharge medicines as prescribed?"),
    OutcomeField("missed_medications", "medications", description="drugs missed, stopped or taken wrongly"),
    OutcomeField("side_effects", "symptoms", SYMPTOM_CODES, collectable=True,
                 description="Symptoms the patient attributes to a drug."),
    OutcomeField("symptoms", "symptoms", SYMPTOM_CODES, collectable=True,
                 description="New or worse symptoms the patient reports as present (not denied ones)."),
    OutcomeField("pain_score", "int", tuple(range(11)), (0, 10), collectable=True, description="pain 0-10"),
    OutcomeField("blood_pressure", "bp", collectable=True, description="latest home reading, mmHg"),
    OutcomeField("blood_glucose", "float", range=(1.0, 40.0), collectable=True, description="mmol/L"),
    OutcomeField("heart_rate", "int", range=(20, 250), collectable=True, description="beats/min"),
    OutcomeField("temperature", "float", range=(34.0, 43.0), collectable=True, description="°C"),
    OutcomeField("wound", "enum", WOUND_STATES, collectable=True, description="State of the surgical wound."),
    OutcomeField("revisit_aware", "bool", collectable=True,
                 description="Does the patient know about the follow-up clinic visit?"),
    OutcomeField("revisit_booked", "bool", collectable=True, description="Has the follow-up visit been booked?"),
    OutcomeField("reexam_done", "bool", collectable=True, description="Have the requested tests been done?"),
    OutcomeField("questions", "questions", collectable=True, correctable=False, description="patient questions"),
    OutcomeField("satisfaction", "int", (1, 2, 3, 4, 5), (1, 5), collectable=True,
                 description="Satisfaction with care, 5 = very satisfied, 1 = very dissatisfied."),
    OutcomeField("feedback", "text", collectable=True, description="complaints or praise, verbatim"),
    OutcomeField("flags", "flags", correctable=False, description="red/yellow findings with evidence"),
    OutcomeField("risk_grade", "enum", RISK_GRADES, description="chronic-disease grade"),
    OutcomeField("needs_callback", "bool", description="a nurse must call back"),
)
BY_NAME = {f.name: f for f in FIELDS}

# Derived views (the only lists of fields in the code base).
OUTCOME_FIELDS = tuple(f.name for f in FIELDS)
OUTCOME_COLUMNS = frozenset(f.name for f in FIELDS if f.column) | {"evidence"}
COLLECTABLE_FIELDS = tuple(f.name for f in FIELDS if f.collectable)
CORRECTABLE_FIELDS = {f.name: ("int" if f.kind == "int" else f.kind) for f in FIELDS if f.correctable}
ENUMS = {f.name: f.codes for f in FIELDS if f.kind == "enum"}
RANGES = {f.name: f.range for f in FIELDS if f.range is not None}


def model_choices(name: str) -> tuple[Any, ...]:
    """The values the language model may choose for a field it classifies (validated after)."""
    f = BY_NAME[name]
    if f.kind == "bool":
        return ("yes", "no", "uncertain")
    if f.name == "medication_adherence":
        return ("full", "partial", "none")
    return tuple(f.codes)
