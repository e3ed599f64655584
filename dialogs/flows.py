"""Follow-up flows as data: YAML files in dialogs/flows, validated when loaded.

A flow is an ordered list of steps drawn from the step library (steps.yaml) with `use:`; a step
may override `ask`, add an `if` (skip the step when false) or a `next` (jump). Conditions come from
a fixed list (see CONDITION_KINDS); nothing in a flow file is ever evaluated as code. Unknown step
ids, unknown keys, unknown placeholders, placeholders that differ between zh and en and missing
translations raise FlowError at load (the checks of language/catalog.py), so a
broken flow stops the service at startup rather than in a patient's call.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from language.catalog import Catalog, check_texts, parse_catalog, read_yaml
from records.outcome_contract import COLLECTABLE_FIELDS

FLOWS_DIR = Path(__file__).resolve().parent / "flows"
LANGUAGES = ("zh", "en")
END = "END"

PLACEHOLDERS = frozenset({
    "patient_name", "subject", "medication_list", "revisit_department", "revisit_date",
    "reexam_list", "ward_team", "hospital", "reminder", "booking_url",
})
# The spoken subject ("您" / "you", or the patient when a family member answers) is a word Chinese
# often leaves out: a question may use it in one language only. Every other placeholder is in both.
OPTIONAL_PLACEHOLDERS = frozenset({"subject"})
FACTS = frozenset({"medications", "revisit", "reexam_due", "surgery", "diabetes", "hypertension",
                   "heart_failure"})
# Fields whose answer matters clinically: an answer not understood after one closed re-ask is kept as
# "unclear" with the patient's words and a nurse calls back; it is never stored as "no".
FAIL_CLOSED_FIELDS = frozenset({
    "medication_adherence", "side_effects", "symptoms", "pain_score", "blood_pressure", "blood_glucose",
    "heart_rate", "temperature", "wound", "overall_condition",
})
CONDITION_KINDS = ("has", "symptom", "field", "not", "any", "all")
STEP_KEYS = frozenset({"collect", "description", "ask", "reask", "say", "if", "next"})
FLOW_STEP_KEYS = frozenset({"use", "id", "ask", "reask", "say", "if", "next", "description"})
FLOW_KEYS = frozenset({"id", "description", "priority", "match", "steps"})
MATCH_KEYS = frozenset({"surgery", "diagnosis_any", "department_any"})
REQUIRED_MESSAGES = frozenset({
    "greeting", "family_ack", "identity_retry", "identity_failed", "wrong_person", "refused", "reprompt",
    "silence", "give_up_field", "back_to_script", "correction_ack", "red_flag", "red_flag_continue",
    "nurse_callback", "closing", "reminder_revisit", "reminder_reexam", "callback_promise", "unclear_handoff", "transfer_ack",
    "question_go_ahead", "question_more", "reconnect", "voicemail",
})


class FlowError(ValueError):
    """A flow file is invalid; the message names the file, the step and the problem."""


@dataclass(frozen=True)
class Condition:
    kind: str
    value: Any  # has: fact name; symptom: code; field: (name, op, value); not: Condition; any/all: tuple


@dataclass(frozen=True)
class Transition:
    condition: Condition | None  # None = else
    target: str


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


def _check_texts(where: str, texts: Any) -> dict[str, str]:
    return check_texts(where, texts, allowed=PLACEHOLDERS, optional=OPTIONAL_PLACEHOLDERS, error=FlowError)


def parse_condition(where: str, raw: Any) -> Condition:
    if not isinstance(raw, dict) or len(raw) not in (1, 2):
        raise FlowError(f"{where}: a condition is a mapping with one of {', '.join(CONDITION_KINDS)}")
    kind = next(iter(raw)) if len(raw) == 1 else "field"
    if kind not in CONDITION_KINDS:
        raise FlowError(f"{where}: unknown condition {kind!r}; valid: {', '.join(CONDITION_KINDS)}")
    value = raw[kind]
    if kind == "has":
        if value not in FACTS:
            raise FlowError(f"{where}: unknown fact {value!r} for 'has'; valid: {', '.join(sorted(FACTS))}")
        return Condition("has", value)
    if kind == "symptom":
        if not isinstance(value, str) or not re.fullmatch(r"[a-z_]+", value):
            raise FlowError(f"{where}: 'symptom' takes a symptom code")
        return Condition("symptom", value)
    if kind == "field":
        ops = set(raw) - {"field"}
        if value not in COLLECTABLE_FIELDS or len(ops) != 1 or not ops <= {"equals", "known"}:
            raise FlowError(f"{where}: 'field' takes a collectable field and one of equals/known")
        op = ops.pop()
        return Condition("field", (value, op, raw[op]))
    if kind == "not":
        return Condition("not", parse_condition(where, value))
    if not isinstance(value, list) or not value:
        raise FlowError(f"{where}: '{kind}' takes a non-empty list of conditions")
    return Condition(kind, tuple(parse_condition(where, v) for v in value))


def _parse_next(where: str, raw: Any) -> tuple[Transition, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (Transition(None, raw),)
    if not isinstance(raw, list):
        raise FlowError(f"{where}: 'next' is a step id or a list of if/then and else")
    transitions = []
    for entry in raw:
        if isinstance(entry, dict) and set(entry) == {"if", "then"}:
            transitions.append(Transition(parse_condition(where, entry["if"]), str(entry["then"])))
        elif isinstance(entry, dict) and set(entry) == {"else"}:
            transitions.append(Transition(None, str(entry["else"])))
        else:
            raise FlowError(f"{where}: each 'next' entry is {{if: ..., then: STEP}} or {{else: STEP}}")
    return tuple(transitions)


def _load_yaml(path: Path) -> Any:
    return read_yaml(path, error=FlowError)


def _load_step_library(path: Path) -> dict[str, dict[str, Any]]:
    raw = _load_yaml(path)
    if not isinstance(raw, dict):
        raise FlowError(f"{path.name}: expected a mapping of step id to step")
    library = {}
    for step_id, body in raw.items():
        where = f"{path.name}:{step_id}"
        if not isinstance(body, dict):
            raise FlowError(f"{where}: a step is a mapping")
        unknown = set(body) - STEP_KEYS
        if unknown:
            raise FlowError(f"{where}: unknown key(s) {sorted(unknown)}; valid: {', '.join(sorted(STEP_KEYS))}")
        if body.get("collect") is not None and body["collect"] not in COLLECTABLE_FIELDS:
            raise FlowError(f"{where}: cannot collect {body['collect']!r}; valid: {', '.join(COLLECTABLE_FIELDS)}")
        library[step_id] = body
    return library


def _build_step(where: str, entry: dict[str, Any], library: dict[str, dict[str, Any]]) -> Step:
    unknown = set(entry) - FLOW_STEP_KEYS
    if unknown:
        raise FlowError(f"{where}: unknown key(s) {sorted(unknown)}; valid: {', '.join(sorted(FLOW_STEP_KEYS))}")
    base: dict[str, Any] = {}
    if "use" in entry:
        if entry["use"] not in library:
            raise FlowError(f"{where}: unknown step {entry['use']!r}; valid: {', '.join(sorted(library))}")
        base = dict(library[entry["use"]])
    merged = {**base, **{k: v for k, v in entry.items() if k != "use"}}
    step_id = str(merged.get("id") or entry.get("use") or "")
    if not step_id:
        raise FlowError(f"{where}: a step needs 'use' or 'id'")
    collect = merged.get("collect")
    ask = _check_texts(f"{where}.ask", merged["ask"]) if "ask" in merged else None
    reask = _check_texts(f"{where}.reask", merged["reask"]) if "reask" in merged else None
    say = _check_texts(f"{where}.say", merged["say"]) if "say" in merged else None
    if collect and ask is None:
        raise FlowError(f"{where}: a collect step needs 'ask'")
    if not collect and say is None:
        raise FlowError(f"{where}: a step either collects a field (with ask) or says something")
    condition = parse_condition(f"{where}.if", merged["if"]) if "if" in merged else None
    if reask is not None and not collect:
        raise FlowError(f"{where}: 'reask' belongs to a step that collects a field")
    return Step(id=step_id, collect=collect, ask=ask, say=say, condition=condition,
                next=_parse_next(f"{where}.next", merged.get("next")), description=str(merged.get("description", "")),
                reask=reask)


def _load_flow(path: Path, library: dict[str, dict[str, Any]]) -> Flow:
    raw = _load_yaml(path)
    if not isinstance(raw, dict):
        raise FlowError(f"{path.name}: expected a mapping")
    unknown = set(raw) - FLOW_KEYS
    if unknown:
        raise FlowError(f"{path.name}: unknown key(s) {sorted(unknown)}; valid: {', '.join(sorted(FLOW_KEYS))}")
    match = raw.get("match") or {}
    if set(match) - MATCH_KEYS:
        raise FlowError(f"{path.name}: unknown match key(s) {sorted(set(match) - MATCH_KEYS)}; valid: {', '.join(sorted(MATCH_KEYS))}")
    entries = raw.get("steps")
    if not isinstance(entries, list) or not entries:
        raise FlowError(f"{path.name}: 'steps' must be a non-empty list")
    steps = tuple(_build_step(f"{path.name}:steps[{i}]", e if isinstance(e, dict) else {"?": e}, library)
                  for i, e in enumerate(entries))
    ids = [s.id for s in steps]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise FlowError(f"{path.name}: duplicate step id(s) {sorted(duplicates)}; give one an 'id'")
    for step in steps:
        for transition in step.next:
            if transition.target != END and transition.target not in ids:
                raise FlowError(f"{path.name}:{step.id}: 'next' names unknown step {transition.target!r}; valid: {', '.join(ids + [END])}")
    if steps[0].collect != "identity_verified":
        raise FlowError(f"{path.name}: the first step must verify identity (collect identity_verified)")
    flow_id = str(raw.get("id") or path.stem)
    if flow_id != path.stem:
        raise FlowError(f"{path.name}: id {flow_id!r} must match the file name")
    return Flow(id=flow_id, description=str(raw.get("description", "")), priority=int(raw.get("priority", 1000)),
                match=dict(match), steps=steps)


def load_call_messages(directory: Path = FLOWS_DIR) -> Catalog:
    """messages.yaml: what the call says around the script, every message checked."""
    return parse_catalog("messages.yaml", _load_yaml(directory / "messages.yaml"), required=REQUIRED_MESSAGES,
                         exact=True, allowed=PLACEHOLDERS, optional=OPTIONAL_PLACEHOLDERS, error=FlowError)


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
