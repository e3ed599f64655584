"""Follow-up flows as data: YAML files in dialogs/flows, validated when loaded.

A flow is an ordered list of steps drawn from the step library (steps.yaml) with `use:`; a step
may override `ask`, add an `if` (skip the step when false) or a `next` (jump). The document shape,
the texts, `next` and the condition combinators are the schema every flow shares
(dialogs/flow_schema.py, also used by pre-consultation); the leaf conditions of a follow-up call are
below (FOLLOWUP_GRAMMAR). Unknown step ids, keys, conditions, placeholders, placeholders that differ
between zh and en and missing translations raise FlowError at load (texts are checked as every
catalog is, language/catalog.py), so a broken flow stops the service at startup rather than in a
patient's call.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogs.flow_schema import (END, LANGUAGES, Condition, FlowError, FlowGrammar, FollowupFlowModel, FollowupStepModel,
                                 Transition, check_messages, check_step_graph, check_texts, parse_condition, parse_next,
                                 validate)
from language.catalog import Catalog, read_yaml
from records.outcome_contract import COLLECTABLE_FIELDS

__all__ = ["END", "FAIL_CLOSED_FIELDS", "FLOWS_DIR", "LANGUAGES", "Condition", "Flow", "FlowError", "FlowLibrary", "Step",
           "Transition", "load_flows"]

FLOWS_DIR = Path(__file__).resolve().parent / "flows"

PLACEHOLDERS = frozenset({
    "patient_name", "subject", "medication_list", "revisit_department", "revisit_date",
    "reexam_list", "ward_team", "hospital", "reminder", "booking_url", "when", "reading",
})
# The spoken subject ("您" / "you", or the patient when a family member answers) is a word Chinese
# often leaves out: a question may use it in one language only. Every other placeholder is in both.
OPTIONAL_PLACEHOLDERS = frozenset({"subject"})
FACTS = frozenset({"medications", "revisit", "reexam_due", "surgery", "diabetes", "hypertension",
                   "heart_failure", "rate_watch", "infection", "bp_watch", "pain_watch"})
# Fields whose answer matters clinically: an answer not understood after one closed re-ask is kept as
# "unclear" with the patient's words and a nurse calls back; it is never stored as "no".
FAIL_CLOSED_FIELDS = frozenset({
    "medication_adherence", "side_effects", "symptoms", "pain_score", "blood_pressure", "blood_glucose",
    "heart_rate", "temperature", "wound", "overall_condition",
})
MATCH_KEYS = frozenset({"surgery", "diagnosis_any", "department_any"})
REQUIRED_MESSAGES = frozenset({
    "greeting", "family_ack", "identity_retry", "identity_failed", "wrong_person", "refused", "reprompt",
    "silence", "give_up_field", "back_to_script", "correction_ack", "red_flag", "red_flag_continue",
    "nurse_callback", "closing", "reminder_revisit", "reminder_reexam", "callback_promise", "unclear_handoff", "transfer_ack",
    "question_go_ahead", "question_more", "reconnect", "voicemail", "transfer_now", "transfer_later", "transfer_failed",
    "unknown_caller", "leave_message", "message_received", "callback_hours", "read_back_intro",
    "read_back", "question_noted",
})


def _fact(raw: Mapping[str, Any]) -> str:
    if raw["has"] not in FACTS:
        raise ValueError(f"unknown fact {raw['has']!r} for 'has'; valid: {', '.join(sorted(FACTS))}")
    return str(raw["has"])


def _symptom_code(raw: Mapping[str, Any]) -> str:
    if not isinstance(raw["symptom"], str) or not re.fullmatch(r"[a-z_]+", raw["symptom"]):
        raise ValueError("'symptom' takes a symptom code")
    return raw["symptom"]


def _field_test(raw: Mapping[str, Any]) -> tuple[str, str, Any]:
    ops = set(raw) - {"field"}
    if raw["field"] not in COLLECTABLE_FIELDS or len(ops) != 1:
        raise ValueError("'field' takes a collectable field and one of equals/known")
    op = ops.pop()
    return (raw["field"], op, raw[op])


# The leaf conditions a follow-up flow may test: a fact of the discharge, a symptom collected, a field's value.
FOLLOWUP_GRAMMAR = FlowGrammar(
    name="follow-up", placeholders=PLACEHOLDERS, optional_placeholders=OPTIONAL_PLACEHOLDERS,
    leaves={"has": _fact, "symptom": _symptom_code, "field": _field_test},
    leaf_keys={"field": frozenset({"equals", "known"})},
)


@dataclass(frozen=True)
class Step:
    id: str
    collect: str | None
    ask: dict[str, str] | None
    say: dict[str, str] | None
    condition: Condition | None
    next: tuple[Transition, ...]
    description: str = ""
    reask: dict[str, str] | None = None   # the short closed question asked once when an answer is unclear


@dataclass(frozen=True)
class Flow:
    id: str
    description: str
    priority: int
    match: dict[str, Any]
    steps: tuple[Step, ...]

    def index_of(self, step_id: str) -> int:
        for i, step in enumerate(self.steps):
            if step.id == step_id:
                return i
        raise KeyError(step_id)


@dataclass(frozen=True)
class FlowLibrary:
    flows: dict[str, Flow]
    messages: dict[str, dict[str, str]]
    steps: dict[str, Step] = field(default_factory=dict)   # the step library (steps.yaml), by step id

    def get(self, flow_id: str) -> Flow:
        try:
            return self.flows[flow_id]
        except KeyError:
            raise FlowError(f"unknown flow {flow_id!r}; valid flows: {', '.join(sorted(self.flows))}") from None

    def select(self, *, surgery: bool, diagnosis: str, department: str) -> Flow:
        """The first flow (by priority) whose match fits the discharge; 'general' otherwise."""
        text_diag, text_dept = diagnosis.lower(), department.lower()
        for flow in sorted(self.flows.values(), key=lambda f: f.priority):
            match = flow.match
            if not match:
                continue
            if match.get("surgery") is True and surgery:
                return flow
            if any(word.lower() in text_diag for word in match.get("diagnosis_any", ())):
                return flow
            if any(word.lower() in text_dept for word in match.get("department_any", ())):
                return flow
        return self.flows["general"]


def _load_yaml(path: Path) -> Any:
    return read_yaml(path, error=FlowError)


def _load_step_library(path: Path) -> dict[str, dict[str, Any]]:
    raw = _load_yaml(path)
    if not isinstance(raw, dict):
        raise FlowError(f"{path.name}: expected a mapping of step id to step")
    library = {}
    for step_id, body in raw.items():
        where = f"{path.name}:{step_id}"
        step = validate(FollowupStepModel, body, where)
        if step.use is not None:
            raise FlowError(f"{where}: a library step cannot 'use' another")
        if step.collect is not None and step.collect not in COLLECTABLE_FIELDS:
            raise FlowError(f"{where}: cannot collect {step.collect!r}; valid: {', '.join(COLLECTABLE_FIELDS)}")
        library[step_id] = body
    return library


def _build_step(where: str, entry: Any, library: dict[str, dict[str, Any]]) -> Step:
    given = validate(FollowupStepModel, entry, where)
    base: dict[str, Any] = {}
    if given.use is not None:
        if given.use not in library:
            raise FlowError(f"{where}: unknown step {given.use!r}; valid: {', '.join(sorted(library))}")
        base = dict(library[given.use])
    step = validate(FollowupStepModel, {**base, **{k: v for k, v in entry.items() if k != "use"}}, where)
    step_id = step.id or given.use or ""
    if not step_id:
        raise FlowError(f"{where}: a step needs 'use' or 'id'")
    if step.collect is not None and step.collect not in COLLECTABLE_FIELDS:
        raise FlowError(f"{where}: cannot collect {step.collect!r}; valid: {', '.join(COLLECTABLE_FIELDS)}")
    ask = check_texts(f"{where}.ask", step.ask, PLACEHOLDERS, OPTIONAL_PLACEHOLDERS) if step.ask is not None else None
    reask = check_texts(f"{where}.reask", step.reask, PLACEHOLDERS, OPTIONAL_PLACEHOLDERS) if step.reask is not None else None
    say = check_texts(f"{where}.say", step.say, PLACEHOLDERS, OPTIONAL_PLACEHOLDERS) if step.say is not None else None
    if step.collect and ask is None:
        raise FlowError(f"{where}: a collect step needs 'ask'")
    if not step.collect and say is None:
        raise FlowError(f"{where}: a step either collects a field (with ask) or says something")
    if reask is not None and not step.collect:
        raise FlowError(f"{where}: 'reask' belongs to a step that collects a field")
    condition = parse_condition(f"{where}.if", step.if_, FOLLOWUP_GRAMMAR) if step.if_ is not None else None
    return Step(id=step_id, collect=step.collect, ask=ask, say=say, condition=condition,
                next=parse_next(f"{where}.next", step.next, FOLLOWUP_GRAMMAR), description=step.description, reask=reask)


def _load_flow(path: Path, library: dict[str, dict[str, Any]]) -> Flow:
    raw = validate(FollowupFlowModel, _load_yaml(path), path.name)
    if set(raw.match) - MATCH_KEYS:
        raise FlowError(f"{path.name}: unknown match key(s) {sorted(set(raw.match) - MATCH_KEYS)}; valid: {', '.join(sorted(MATCH_KEYS))}")
    steps = tuple(_build_step(f"{path.name}:steps[{i}]", entry, library) for i, entry in enumerate(raw.steps))
    check_step_graph(path.name, steps)
    if steps[0].collect != "identity_verified":
        raise FlowError(f"{path.name}: the first step must verify identity (collect identity_verified)")
    flow_id = raw.id or path.stem
    if flow_id != path.stem:
        raise FlowError(f"{path.name}: id {flow_id!r} must match the file name")
    return Flow(id=flow_id, description=raw.description, priority=raw.priority, match=dict(raw.match), steps=steps)


def load_call_messages(directory: Path = FLOWS_DIR) -> Catalog:
    """messages.yaml: what the call says around the script, every message checked."""
    return check_messages("messages.yaml", _load_yaml(directory / "messages.yaml"), REQUIRED_MESSAGES, PLACEHOLDERS,
                          OPTIONAL_PLACEHOLDERS)


@functools.lru_cache(maxsize=1)
def call_messages() -> Catalog:
    """The shipped messages.yaml, loaded once (for the parts of the call outside the engine)."""
    return load_call_messages()


def load_flows(directory: Path = FLOWS_DIR) -> FlowLibrary:
    library = _load_step_library(directory / "steps.yaml")
    messages = {key: dict(texts) for key, texts in load_call_messages(directory).entries.items()}
    steps = {step_id: _build_step(f"steps.yaml:{step_id}", {"use": step_id}, library) for step_id in library}
    flows = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name in ("steps.yaml", "messages.yaml", "preconsult.yaml"):  # preconsult.yaml: dialogs/preconsult.py
            continue
        flow = _load_flow(path, library)
        flows[flow.id] = flow
    if "general" not in flows:
        raise FlowError("a 'general' flow is required as the fallback")
    return FlowLibrary(flows=flows, messages=messages, steps=steps)
