"""Pre-consultation chat (预问诊): history taking, triage and department matching, one message at a time.

The flow is data (dialogs/flows/preconsult.yaml), validated at load like the follow-up flows. The
engine is a pair of functions over a plain, JSON-serialisable state dict that the API stores per
chat, so a chat resumes after a restart:

    state = new_state(lang="zh")
    reply = start(state)                      # greeting + first question
    reply = handle(state, "胸口疼，还出冷汗")    # one message in → one reply out (state updated)

Red flags are checked on every message with the rules of dialogs/triage.py (the language model, when
given, may only raise the level); an emergency is announced in the very reply that revealed it.
Anything a patient types is data: empty, emoji-only, over-long and instruction-like messages get a
sensible reply and never leave this patient's own chat."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dialogs.flow_schema import (END, LANGUAGES, Condition, FlowError, FlowGrammar, PreconsultFlowModel, PreconsultStepModel,
                                 Transition, check_messages, check_step_graph, check_texts, holds, next_index, parse_condition,
                                 parse_next, runnable_index, validate)
from dialogs.clinical_rules import ClinicalRules, default_threshold
from dialogs.findings import (ABSENT, PRESENT, STATUS_RANK, UNCERTAIN, aggregate, answer_status, display_name, entry,
                              extract_age_years, extract_mentions, extract_vitals, fever_class, text_language)
from language.numbers import to_digits
from dialogs.triage import LEVEL_RANK, LEVEL_TEXT, ClinicalPicture, Symptom, detect_context, triage
from dialogs.understanding import normalize

FLOW_PATH = Path(__file__).resolve().parent / "flows" / "preconsult.yaml"
STATE_VERSION = 1
MAX_INPUT_CHARS = 2000          # longer messages are truncated (the API also caps the body)
MAX_ANSWER_CHARS = 500          # kept per history field
MAX_TURNS = 80                  # a chat that goes on and on is closed politely

FIELD_KINDS = ("text", "number", "age", "weight", "temperature", "symptom", "cue")
SECTIONS = ("chief_complaint", "patient", "hpi", "past_history", "medications", "allergies")
PLACEHOLDERS = frozenset({"hospital", "reasons", "triage", "department", "doctor", "day"})
REQUIRED_MESSAGES = frozenset({"greeting", "emergency", "emergency_reminder", "reprompt", "empty", "truncated", "off_topic",
                               "skip", "closing", "closing_doctor", "finished", "hospital_default", "answer_none",
                               "already_finished", "link_invalid", "link_expired"})
CUES = frozenset({"exertional", "at_rest", "sudden", "severe", "persistent", "worsening", "heavy"})
PAIN_CODES = frozenset({"chest_pain", "abdominal_pain", "headache", "back_pain", "pain", "ear_pain", "eye_pain",
                        "facial_pain", "wound_pain", "radiating_pain"})


class PreconsultFlowError(FlowError):
    """preconsult.yaml is invalid; the message names the step and the problem."""


def _names(raw: Mapping[str, Any]) -> tuple[str, ...]:
    value = raw["complaint"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("'complaint' takes a list of symptom names or codes")
    return tuple(value)


def _name(raw: Mapping[str, Any]) -> str:
    if not isinstance(raw["symptom"], str):
        raise ValueError("'symptom' takes a name or code")
    return raw["symptom"]


def _flag(kind: str):  # noqa: ANN202 - a leaf validator for a true/false condition
    def check(raw: Mapping[str, Any]) -> bool:
        if not isinstance(raw[kind], bool):
            raise ValueError(f"'{kind}' takes true or false")
        return raw[kind]
    return check


def _known(raw: Mapping[str, Any]) -> tuple[str, bool]:
    if set(raw) != {"field", "known"}:
        raise ValueError("'field' takes a field name and known: true/false")
    return (str(raw["field"]), bool(raw["known"]))


# The leaf conditions of the chat: what the complaint holds, whether a child is the patient, what is known.
PRECONSULT_GRAMMAR = FlowGrammar(
    name="pre-consultation", placeholders=PLACEHOLDERS,
    leaves={"complaint": _names, "symptom": _name, "child": _flag("child"), "age_unknown": _flag("age_unknown"),
            "field": _known, "pain": _flag("pain")},
    leaf_keys={"field": frozenset({"known"})},
)


@dataclass(frozen=True)
class PStep:
    id: str
    collect: str
    kind: str
    ask: dict[str, str]
    section: str
    condition: Condition | None = None
    next: tuple[Transition, ...] = ()
    symptom: str | None = None
    cue: str | None = None
    cue_of: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class PreconsultFlow:
    id: str
    steps: tuple[PStep, ...]
    messages: dict[str, dict[str, str]]
    max_reprompts: int = 1

    def step(self, step_id: str) -> PStep:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def index(self, step_id: str) -> int:
        return [s.id for s in self.steps].index(step_id)


# ----- loading ---------------------------------------------------------------------------------------------

def load_preconsult_flow(path: Path = FLOW_PATH) -> PreconsultFlow:
    try:
        return _load(path)
    except PreconsultFlowError:
        raise
    except FlowError as exc:
        raise PreconsultFlowError(str(exc)) from None


def _load(path: Path) -> PreconsultFlow:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PreconsultFlowError(f"{path.name}: not valid YAML: {exc}") from None
    doc = validate(PreconsultFlowModel, raw, path.name)
    messages = {key: dict(texts) for key, texts in
                check_messages(f"{path.name}:messages", doc.messages, REQUIRED_MESSAGES, PLACEHOLDERS).entries.items()}
    steps = []
    for i, item in enumerate(doc.steps):
        step = validate(PreconsultStepModel, item, f"{path.name}:steps[{i}]")
        if not step.id or not step.collect:
            raise PreconsultFlowError(f"{path.name}:steps[{i}]: a step needs 'id' and 'collect'")
        where = f"{path.name}:{step.id}"
        if step.kind not in FIELD_KINDS:
            raise PreconsultFlowError(f"{where}: unknown kind {step.kind!r}; valid: {', '.join(FIELD_KINDS)}")
        if step.kind == "symptom" and (not step.symptom or entry(step.symptom) is None):
            raise PreconsultFlowError(f"{where}: 'symptom' must name an entry of preconsult_symptoms.yaml")
        if step.kind == "cue" and (step.cue not in CUES or not step.cue_of):
            raise PreconsultFlowError(f"{where}: a cue step needs cue (one of {sorted(CUES)}) and cue_of")
        if step.section not in SECTIONS:
            raise PreconsultFlowError(f"{where}: unknown section {step.section!r}; valid: {', '.join(SECTIONS)}")
        if step.ask is None:
            raise PreconsultFlowError(f"{where}: a step needs 'ask'")
        steps.append(PStep(id=step.id, collect=step.collect, kind=step.kind, ask=check_texts(f"{where}.ask", step.ask, PLACEHOLDERS),
                           section=step.section,
                           condition=parse_condition(f"{where}.if", step.if_, PRECONSULT_GRAMMAR) if step.if_ is not None else None,
                           next=parse_next(f"{where}.next", step.next, PRECONSULT_GRAMMAR), symptom=step.symptom, cue=step.cue,
                           cue_of=tuple(step.cue_of), description=step.description))
    check_step_graph(path.name, steps)
    if steps[0].collect != "chief_complaint":
        raise PreconsultFlowError(f"{path.name}: the first step must collect the chief complaint")
    return PreconsultFlow(id=doc.id, steps=tuple(steps), messages=messages, max_reprompts=doc.max_reprompts)


@functools.lru_cache(maxsize=1)
def default_flow() -> PreconsultFlow:
    return load_preconsult_flow()


# ----- state ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reply:
    say: str
    expecting: str | None
    done: bool
    triage: str | None = None
    emergency: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"say": self.say, "expecting": self.expecting, "done": self.done, "triage": self.triage,
                "emergency": self.emergency}


def new_state(*, lang: str = "zh", hospital: str = "", age_years: float | None = None) -> dict[str, Any]:
    """A fresh chat state (plain JSON). age_years may come from the patient record."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    return {"version": STATE_VERSION, "lang": lang, "hospital": hospital, "step": None, "done": False,
            "subject": "self", "answers": {}, "symptoms": {}, "vitals": ({"age_years": age_years} if age_years is not None else {}),
            "context": [], "texts": [], "history_texts": [], "reprompts": {}, "turns": 0, "triage": None,
            "emergency_announced": False, "asked": []}


def picture_from_state(state: dict[str, Any]) -> ClinicalPicture:
    picture = ClinicalPicture(text=" ".join(state.get("texts", [])), lang=state.get("lang", "zh"))
    for name, item in state.get("symptoms", {}).items():
        picture.symptoms[name] = Symptom(name=name, status=item["status"], code=item.get("code"), kind=item.get("kind", "symptom"),
                                         cues=dict(item.get("cues") or {}), evidence=item.get("evidence", ""))
    picture.vitals = dict(state.get("vitals") or {})
    picture.context = set(state.get("context") or ())
    if state.get("subject") == "child":
        picture.context.add("child")
    return picture


def _merge_mentions(state: dict[str, Any], mentions: list, *, history: bool = False) -> None:
    """Per message, present beats absent beats uncertain; across messages the newer word wins,
    except that an uncertain mention never overrides a clear present or absent."""
    by_name: dict[str, Any] = {}
    for m in mentions:
        if history and m.kind != "disease":
            continue
        old = by_name.get(m.name)
        if old is None or STATUS_RANK[m.status] < STATUS_RANK[old.status]:
            by_name[m.name] = m
        elif m.status == old.status:
            old.cues.update(m.cues)
    for name, m in by_name.items():
        current = state["symptoms"].get(name)
        if current is not None and m.status == UNCERTAIN and current["status"] in (PRESENT, ABSENT):
            continue
        cues = dict(m.cues)
        if history:
            cues["past"] = True
        if current is not None and current["status"] == m.status:
            cues = {**current.get("cues", {}), **cues}
        state["symptoms"][name] = {"status": m.status, "code": m.code, "kind": m.kind, "cues": cues, "evidence": m.text[:100]}


def _set_symptom(state: dict[str, Any], name: str, status: str, evidence: str) -> None:
    item = entry(name)
    current = state["symptoms"].get(name, {})
    state["symptoms"][name] = {"status": status, "code": item.code if item else current.get("code"),
                               "kind": item.kind if item else "symptom",
                               "cues": current.get("cues", {}) if status == PRESENT else {}, "evidence": evidence[:100]}


# ----- conditions --------------------------------------------------------------------------------------------

def _complaint_has(state: dict[str, Any], keys: tuple[str, ...]) -> bool:
    wanted = set(keys)
    return any(item["status"] == PRESENT and item.get("kind") != "disease" and not item.get("cues", {}).get("past")
               and (name in wanted or item.get("code") in wanted) for name, item in state["symptoms"].items())


def _is_child(state: dict[str, Any]) -> bool:
    age = state["vitals"].get("age_years")
    return state.get("subject") == "child" or age is not None and age < default_threshold("child_age_years")


def _leaf(state: dict[str, Any]):  # noqa: ANN202 - the leaf test of PRECONSULT_GRAMMAR over one chat
    def test(cond: Condition) -> bool:
        k, v = cond.kind, cond.value
        if k == "complaint":
            return _complaint_has(state, v)
        if k == "symptom":
            return _complaint_has(state, (v,))
        if k == "child":
            return _is_child(state) == v
        if k == "age_unknown":
            return (state["vitals"].get("age_years") is None) == v
        if k == "pain":
            return _complaint_has(state, tuple(PAIN_CODES)) == v
        name, known = v  # field
        return (state["answers"].get(name) not in (None, "")) == known
    return test


# ----- parsing of answers --------------------------------------------------------------------------------------

_INJECTION = re.compile(
    r"ignore (?:all |any |the )?(?:previous|prior|above|earlier|your) (?:instructions?|prompts?|rules?)|disregard (?:the |all |your )?(?:previous|above|instructions)|"
    r"system prompt|you are now|act as (?:an? )?(?:admin|administrator|developer|doctor)|jailbreak|developer mode|"
    r"(?:show|give|list|tell|send) (?:me )?(?:the )?(?:other|all|another|every) (?:patients?|users?|people|records?|chats?)|other patients?'? (?:data|records|chats|information)|"
    r"\bselect\b.+\bfrom\b|\bdrop\s+table\b|\bunion\s+select\b|<script|"
    r"忽略(?:之前|以上|前面|上面|所有)?(?:的)?(?:指令|指示|规则|提示|设定)|你现在是|扮演|系统提示|管理员模式|开发者模式|"
    r"(?:显示|告诉|给|发|列出|查看|查询|看看)(?:我)?(?:一下)?(?:其他|别的|所有|全部)(?:的)?(?:病人|患者|人|用户|记录|聊天)|其他(?:病人|患者)(?:的)?(?:信息|资料|数据|记录)|数据库", re.I)
_SKIP = re.compile(r"^(?:不知道|不清楚|不记得|记不清|忘了|跳过|下一个|不想说|说不上来|skip|next|pass|don'?t know|i don'?t know|not sure|no idea|dunno)[。.!！]?$", re.I)
_NONE = re.compile(r"^(?:没有|没|无|都没有|没有的|没有了|没什么|都没|否|不吃药|没吃药|no|none|nothing|nope|not really|no allergies|none that i know of)[。.!！]?$", re.I)
_GREETING = re.compile(r"^(?:你好|您好|在吗|hi|hello|hey|嗯|哦|好的|ok|okay|好)[。.!！~]*$", re.I)


def _meaningful(text: str) -> bool:
    return bool(re.search(r"[0-9A-Za-z\u4e00-\u9fff]", text))


def _number_0_10(text: str) -> int | None:
    t = to_digits(text)
    m = re.search(r"(?<![\d.])(10|\d)(?:\.\d)?\s*(?:分|/ ?10|out of 10|points?)?(?![\d.])", t)
    if m:
        return int(m.group(1))
    if re.search(r"不(?:疼|痛|难受)|没感觉|\bnone\b|\bno pain\b", text, re.I):
        return 0
    return None


def _age(text: str, lang: str) -> float | None:
    age = extract_age_years(text, lang)
    t = to_digits(text)
    if age is None:
        m = re.fullmatch(r"\s*(\d{1,3})\s*(?:岁|years?|yrs?|y)?\s*(?:了|old)?\s*[。.!！]?\s*", t, re.I)
        if m and 0 <= int(m.group(1)) <= 120:
            age = float(m.group(1))
    if age is None:
        m = re.search(r"(\d{1,2})\s*(?:个|個)?(?:多)?\s*(?:月|months?)", t, re.I)
        if m and int(m.group(1)) <= 36:
            age = round(int(m.group(1)) / 12, 2)
    if age is None:
        m = re.search(r"(\d{1,2})\s*(?:周|weeks?|天|days?)", t, re.I)
        if m:
            age = round(int(m.group(1)) * (7 if re.search(r"周|week", m.group(0), re.I) else 1) / 365, 3)
    return age


def _weight(text: str) -> float | None:
    t = to_digits(text)
    m = re.search(r"(\d+(?:\.\d+)?)\s*(?:kg|公斤|千克|kilos?)", t, re.I)
    if m:
        return float(m.group(1))
    m = re.search(r"(\d+(?:\.\d+)?)\s*斤", t)
    if m:
        return round(float(m.group(1)) / 2, 1)
    m = re.search(r"(\d+(?:\.\d+)?)\s*(?:lbs?|pounds?)", t, re.I)
    if m:
        return round(float(m.group(1)) * 0.4536, 1)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[。.!！]?\s*", t)
    if m and 1 <= float(m.group(1)) <= 200:
        return float(m.group(1))
    return None


def _temperature(text: str, lang: str) -> float | None:
    vitals = extract_vitals(text, lang)
    if "temperature_c" in vitals:
        return vitals["temperature_c"]
    m = re.search(r"(?<![\d.])(\d{2,3}(?:\.\d)?)(?![\d])", to_digits(text))
    if m:
        value = float(m.group(1))
        if 35 <= value <= 42.5:
            return value
        if 93 <= value <= 110:
            return round((value - 32) * 5 / 9, 1)
    return None


# ----- messages --------------------------------------------------------------------------------------------------

def _fmt(flow: PreconsultFlow, key: str, lang: str, **values: Any) -> str:
    text = flow.messages[key][lang]
    defaults = {name: "" for name in PLACEHOLDERS}
    return text.format(**{**defaults, **values})


def _ask(flow: PreconsultFlow, step: PStep, lang: str) -> str:
    return step.ask[lang]


def _advance(flow: PreconsultFlow, state: dict[str, Any], from_step: PStep | None) -> PStep | None:
    """The next step whose condition holds, or None at the end."""
    leaf = _leaf(state)
    index = 0 if from_step is None else next_index(flow.steps, flow.index(from_step.id), leaf)
    index = runnable_index(flow.steps, index, leaf)
    return flow.steps[index] if index < len(flow.steps) else None


def _update_triage(state: dict[str, Any], llm: Any, rules: ClinicalRules | None) -> Any:
    picture = picture_from_state(state)
    result = triage(picture, llm=llm, rules=rules)
    previous = (state.get("triage") or {}).get("level")
    lang = state["lang"]
    # Safety: the level shown never drops within a chat unless the patient corrects the words behind it.
    state["triage"] = result.as_dict(lang)
    state["triage"]["previous_level"] = previous
    return result


def start(state: dict[str, Any], *, flow: PreconsultFlow | None = None) -> Reply:
    flow = flow or default_flow()
    lang = state["lang"]
    first = _advance(flow, state, None)
    state["step"] = first.id if first else None
    greeting = _fmt(flow, "greeting", lang, hospital=state.get("hospital") or _fmt(flow, "hospital_default", lang))
    return Reply(say=f"{greeting}\n\n{_ask(flow, first, lang)}" if first else greeting, expecting=state["step"], done=False)


def current_question(state: dict[str, Any], *, flow: PreconsultFlow | None = None) -> str:
    flow = flow or default_flow()
    if state.get("done") or not state.get("step"):
        return ""
    return _ask(flow, flow.step(state["step"]), state["lang"])


def handle(state: dict[str, Any], text: str | None, *, flow: PreconsultFlow | None = None, llm: Any = None,
           rules: ClinicalRules | None = None) -> Reply:
    """One patient message in, one reply out; `state` is updated in place. Never raises on input.
    `rules`: the clinical rule table triage uses (default: the packaged one)."""
    flow = flow or default_flow()
    lang = state["lang"]
    if state.get("step") is None and not state.get("done"):
        start(state, flow=flow)
    notes: list[str] = []
    raw = text or ""
    if len(raw) > MAX_INPUT_CHARS:
        raw = raw[:MAX_INPUT_CHARS]
        notes.append(_fmt(flow, "truncated", lang))
    words = normalize(raw)
    state["turns"] = int(state.get("turns", 0)) + 1
    if state.get("done"):
        if words and _meaningful(words):
            state.setdefault("after_notes", []).append(words[:MAX_ANSWER_CHARS])
        return Reply(say=" ".join(notes + [_fmt(flow, "finished", lang)]), expecting=None, done=True,
                     triage=(state.get("triage") or {}).get("level"), emergency=bool(state.get("emergency_announced")))
    step = flow.step(state["step"])
    if not words or not _meaningful(words):
        return _reply(flow, state, notes + [_fmt(flow, "empty", lang)], step)
    if _INJECTION.search(words):
        # Still read it for red flags (safety), but never as an answer or an instruction.
        _read_symptoms(state, words, step, history=False, explicit=None)
        notes.append(_fmt(flow, "off_topic", lang))
        return _finish_turn(flow, state, step, notes, advance=False, llm=llm, rules=rules)

    hpi = step.section in ("chief_complaint", "hpi")
    if hpi:
        state["texts"].append(words[:MAX_ANSWER_CHARS])
    else:
        state["history_texts"].append(words[:MAX_ANSWER_CHARS])
    state["context"] = sorted(set(state.get("context", [])) | (detect_context(words) - {"child"} if not hpi else detect_context(words)))
    if "child" in state["context"]:
        state["subject"] = "child"

    advance = True
    if _SKIP.match(words) and step.kind not in ("symptom", "cue"):
        state["answers"][step.collect if step.collect not in ("symptom",) else step.id] = None
        notes.append(_fmt(flow, "skip", lang))
    elif step.kind == "text":
        if step.id == "chief_complaint" and _GREETING.match(words) and state["reprompts"].get(step.id, 0) < flow.max_reprompts:
            state["reprompts"][step.id] = state["reprompts"].get(step.id, 0) + 1
            return _reply(flow, state, notes, step)
        value = None if _NONE.match(words) and step.id != "chief_complaint" else words[:MAX_ANSWER_CHARS]
        state["answers"][step.collect] = value if value is not None else _fmt(flow, "answer_none", lang)
        _read_symptoms(state, words, step, history=not hpi, explicit=None)
    elif step.kind == "number":
        value = _number_0_10(words)
        if value is None and state["reprompts"].get(step.id, 0) < flow.max_reprompts:
            state["reprompts"][step.id] = state["reprompts"].get(step.id, 0) + 1
            _read_symptoms(state, words, step, history=False, explicit=None)
            return _finish_turn(flow, state, step, notes + [_fmt(flow, "reprompt", lang)], advance=False, llm=llm, rules=rules)
        state["answers"][step.collect] = value
        if value is not None:
            state["vitals"]["pain_score" if holds(Condition("pain", True), _leaf(state)) else "severity"] = value
        _read_symptoms(state, words, step, history=False, explicit=None)
    elif step.kind in ("age", "weight", "temperature"):
        parser = {"age": lambda t: _age(t, lang), "weight": _weight, "temperature": lambda t: _temperature(t, lang)}[step.kind]
        value = parser(words)
        if value is None and state["reprompts"].get(step.id, 0) < flow.max_reprompts:
            state["reprompts"][step.id] = state["reprompts"].get(step.id, 0) + 1
            return _finish_turn(flow, state, step, notes + [_fmt(flow, "reprompt", lang)], advance=False, llm=llm, rules=rules)
        state["answers"][step.collect] = value
        if value is not None:
            key = {"age": "age_years", "weight": "weight_kg", "temperature": "temperature_c"}[step.kind]
            state["vitals"][key] = value
            if step.kind == "age" and value < default_threshold("child_age_years"):
                state["subject"] = "child"
            if step.kind == "temperature":
                fever_word = fever_class(value)
                _set_symptom(state, fever_word or "发热", PRESENT if fever_word else ABSENT, words)
        _read_symptoms(state, words, step, history=False, explicit=None)
    elif step.kind == "symptom":
        status = _symptom_answer(words, step.symptom, lang)
        if status is None and state["reprompts"].get(step.id, 0) < flow.max_reprompts:
            state["reprompts"][step.id] = state["reprompts"].get(step.id, 0) + 1
            _read_symptoms(state, words, step, history=False, explicit=None)
            return _finish_turn(flow, state, step, notes + [_fmt(flow, "reprompt", lang)], advance=False, llm=llm, rules=rules)
        _read_symptoms(state, words, step, history=False, explicit=(step.symptom, status))
        state["answers"][step.id] = status
    elif step.kind == "cue":
        status = answer_status(words, lang=lang)
        if status is None:
            status = PRESENT if re.search(r"是|会|对|yes|yeah|usually|often|when i", words, re.I) and not re.search(r"不|没|no\b", words, re.I) else None
        state["answers"][step.id] = status
        if status == PRESENT:
            for name, item in state["symptoms"].items():
                if item["status"] == PRESENT and (name in step.cue_of or item.get("code") in step.cue_of):
                    item.setdefault("cues", {})[step.cue] = True
        _read_symptoms(state, words, step, history=False, explicit=None)
    state["asked"].append(step.id)
    return _finish_turn(flow, state, step, notes, advance=advance, llm=llm, rules=rules)


def _symptom_answer(words: str, name: str | None, lang: str) -> str | None:
    mentions = [m for m in extract_mentions(words, lang=text_language(words, lang)) if m.name == name]
    if mentions:
        return aggregate(mentions)[name]
    return answer_status(words, lang=lang)


def _read_symptoms(state: dict[str, Any], words: str, step: PStep, *, history: bool, explicit: tuple[str, str | None] | None) -> None:
    lang = text_language(words, state["lang"])
    subject = "child" if state.get("subject") == "child" else "self"
    mentions = extract_mentions(words, lang=lang, subject=subject)
    if explicit is not None:
        name, status = explicit
        mentions = [m for m in mentions if m.name != name]
    _merge_mentions(state, mentions, history=history)
    if explicit is not None and explicit[1] is not None:
        _set_symptom(state, explicit[0], explicit[1], words)
    if not history:
        vitals = extract_vitals(words, lang)
        for key, value in vitals.items():
            if key == "age_years" and step.id not in ("chief_complaint", "age"):
                continue
            state["vitals"][key] = value
        age = state["vitals"].get("age_years")
        if age is not None and age < default_threshold("child_age_years"):
            state["subject"] = "child"


def _finish_turn(flow: PreconsultFlow, state: dict[str, Any], step: PStep, notes: list[str], *, advance: bool, llm: Any,
                 rules: ClinicalRules | None = None) -> Reply:
    lang = state["lang"]
    result = _update_triage(state, llm, rules)
    if result.level == "emergency" and not state.get("emergency_announced"):
        reasons = [r.text(lang) for r in result.reasons if r.level == "emergency"][:2]
        notes.insert(0, _fmt(flow, "emergency", lang, reasons=("；" if lang == "zh" else "; ").join(reasons)))
        state["emergency_announced"] = True
    if state["turns"] >= MAX_TURNS:
        advance, next_step = True, None
    else:
        next_step = _advance(flow, state, step) if advance else step
    if next_step is None:
        return _close(flow, state, notes, result)
    state["step"] = next_step.id
    return _reply(flow, state, notes, next_step)


def _reply(flow: PreconsultFlow, state: dict[str, Any], notes: list[str], step: PStep) -> Reply:
    level = (state.get("triage") or {}).get("level")
    say = "\n".join([n for n in notes if n] + [_ask(flow, step, state["lang"])])
    return Reply(say=say, expecting=step.id, done=False, triage=level, emergency=level == "emergency")


def _close(flow: PreconsultFlow, state: dict[str, Any], notes: list[str], result: Any) -> Reply:
    from knowledge.matching import default_library, match_departments, match_doctors

    lang = state["lang"]
    picture = picture_from_state(state)
    history = " ".join(state.get("history_texts", []))
    complaint = state["answers"].get("chief_complaint") or ""
    departments = match_departments(picture, chief_complaint=complaint, history=history, lang=lang, triage_level=result.level)
    doctors = match_doctors(picture, departments, chief_complaint=complaint, history=history, lang=lang)
    state["matching"] = {"departments": [d.as_dict() for d in departments], "doctors": [d.as_dict() for d in doctors]}
    state["done"] = True
    state["step"] = None
    state["completed_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
    dept = departments[0].reason if departments else default_library().departments["general_medicine"].name(lang)
    doctor = ""
    if doctors and result.level != "emergency":
        doctor = _fmt(flow, "closing_doctor", lang, doctor=doctors[0].name, day=doctors[0].extra.get("next_clinic") or "")
    closing = _fmt(flow, "closing", lang, triage=LEVEL_TEXT[result.level][lang], department=dept, doctor=doctor)
    if result.level == "emergency":
        closing = f"{closing}\n{_fmt(flow, 'emergency_reminder', lang)}"
    return Reply(say="\n".join([n for n in notes if n] + [closing]), expecting=None, done=True, triage=result.level,
                 emergency=result.level == "emergency")


def run_script(messages: list[str], *, lang: str = "zh", llm: Any = None, age_years: float | None = None,
               rules: ClinicalRules | None = None) -> tuple[dict[str, Any], list[Reply]]:
    """Play a list of patient messages through a fresh chat (tests, demos, evaluation)."""
    state = new_state(lang=lang, age_years=age_years)
    replies = [start(state)]
    for message in messages:
        replies.append(handle(state, message, llm=llm, rules=rules))
        if replies[-1].done:
            break
    return state, replies


def symptom_table(state: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    rows = []
    for name, item in state.get("symptoms", {}).items():
        rows.append({"name": name, "display": display_name(name, lang), "code": item.get("code"), "kind": item.get("kind", "symptom"),
                     "status": item["status"], "past": bool(item.get("cues", {}).get("past")), "evidence": item.get("evidence", "")})
    order = {PRESENT: 0, UNCERTAIN: 1, ABSENT: 2}
    rows.sort(key=lambda r: (order[r["status"]], r["name"]))
    return rows


__all__ = ["LEVEL_RANK", "PreconsultFlow", "PreconsultFlowError", "Reply", "current_question", "default_flow", "handle",
           "load_preconsult_flow", "new_state", "picture_from_state", "run_script", "start", "symptom_table"]
