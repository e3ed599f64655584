"""The follow-up dialog engine: one patient turn in, one reply out.

`Reply(say, expecting, done)` — `expecting` names the outcome field being asked. The engine holds
no I/O: it is driven by a runner (dialogs/runner.py) that stores every turn as it happens, and its
whole state is a plain dict (CallState.to_dict) so a call can resume after a crash.

Each turn runs the same stages (one method each): normalise → stop words (refusal, hang-up) →
identity → repeat / correction / question → parse the field (rules, then the language model only
when rules cannot settle it, validated) → safety scan of every utterance → flag rules → advance.
Red flags come from rules only and are announced in the same reply.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from dialogs import understanding as nlu
from dialogs.clinical_rules import ClinicalRules, default_rules
from dialogs.context import CallContext
from dialogs.flags import evaluate_flags, risk_grade, symptom_level
from dialogs.flow_schema import Condition, next_index, runnable_index
from dialogs.flows import FAIL_CLOSED_FIELDS, Flow, FlowLibrary, Step
from knowledge.answers import spoken_ahead
from language.catalog import catalog
from language.lexicon import GENERIC_OVER
from records.outcome_contract import CALL_STATUSES

log = logging.getLogger(__name__)
# The words filled into the call's sentences (the sentences themselves: dialogs/flows/messages.yaml, steps.yaml).
WORDS = catalog("dialogs/data/words.yaml", optional=("first_name",))

MAX_PARSE_CHARS = 500          # longer input is cut before parsing (10 kB pastes, runaway ASR)
MAX_EVIDENCE_CHARS = 300
MAX_REPEATS = 3
FINAL_STATUSES = CALL_STATUSES
_MEANINGFUL = re.compile(r"[\w\u4e00-\u9fff]")


@dataclass(frozen=True)
class Reply:
    say: str
    expecting: str | None
    done: bool
    events: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class AnswerResult:
    """What the knowledge layer returned for a patient question."""

    text: str
    answered: bool
    sources: tuple[int, ...]


QuestionAnswerer = Callable[[str, str], AnswerResult]      # (question, language) -> answer
FieldFallback = Callable[[str, str, str, dict], Any]       # (field, text, language, context) -> value | None


@dataclass
class CallState:
    flow_id: str
    language: str
    step_index: int = -1
    status: str = "in_progress"
    collected: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)
    cues: dict[str, Any] = field(default_factory=dict)
    absent_symptoms: list[str] = field(default_factory=list)
    # Generic codes one answer gave as findings of their own beside a specific one ("咳得厉害，痰里带着血丝"):
    # language.symptoms already judged them apart, so the outcome keeps both.
    distinct_generic: list[str] = field(default_factory=list)
    respondent: str | None = None
    reprompts: int = 0
    repeats: int = 0
    answers: int = 0
    last_prompt: str = ""
    last_field: str | None = None
    flags: list[dict[str, Any]] = field(default_factory=list)
    announced_red: bool = False
    questions: list[dict[str, Any]] = field(default_factory=list)
    unanswered_fields: list[str] = field(default_factory=list)
    unclear: dict[str, str] = field(default_factory=dict)   # field -> the words not understood (fail closed)
    unclear_tries: int = 0
    transfer_requested: bool = False
    # A reading past a red line waiting for the patient to confirm it: {field, value, evidence}.
    read_back: dict[str, Any] | None = None
    # Readings the patient gave differently when read back: field -> "first / second" (a nurse checks).
    disputed: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallState:
        return cls(**data)


class FollowupEngine:
    def __init__(self, *, flows: FlowLibrary, flow: Flow, context: CallContext, rules: ClinicalRules | None = None,
                 answer_question: QuestionAnswerer | None = None, llm_fallback: FieldFallback | None = None,
                 max_reprompts: int = 2, max_questions: int = 5, state: CallState | None = None,
                 semantic: Any = None, read_back: bool = False) -> None:
        self.flows = flows
        self.flow = flow
        self.context = context
        self.rules = rules or default_rules()   # the clinical rule table (dialogs/clinical_rules.py)
        self.answer_question = answer_question
        self.llm_fallback = llm_fallback
        self.semantic = semantic        # language.semantic.SemanticMatcher: meaning where patterns miss
        # Spoken calls read a reading past a red line back before keeping it: a recogniser's slip
        # (九点二 heard as 二) must neither raise a false alarm nor pass unchecked.
        self.read_back = read_back
        self.max_reprompts = max_reprompts
        self.max_questions = max_questions
        self.state = state or CallState(flow_id=flow.id, language=context.language)
        self._events: list[dict[str, Any]] = []

    # ----- public API -------------------------------------------------------------------------

    @property
    def lang(self) -> str:
        return self.state.language

    @property
    def done(self) -> bool:
        return self.state.status != "in_progress"

    @property
    def expecting(self) -> str | None:
        step = self._current_step()
        return step.collect if step and not self.done else None

    def start(self) -> Reply:
        """The opening: the AI-assistant disclosure, then the first question."""
        self._events = [{"type": "start", "flow": self.flow.id}]
        greeting = self._message("greeting")
        return self._advance_to(0, prefix=[greeting])

    def script(self) -> list[str]:
        """What this call will or may say, rendered for its patient, most likely first: the opening,
        each question and statement of the flow in order (steps whose facts rule them out left out),
        the closing, then the call's other messages. For rendering audio ahead of the call; reading it
        changes nothing."""
        texts = [self._message("greeting")]
        for step in self.flow.steps:
            if not _may_run(step.condition, self.context.facts):
                continue
            texts.append(self._ask(step) if step.collect else self._render(step.say[self.lang]))
        closing = self._closing_text(callback=False)
        texts += [closing, *(self._message(key) for key in _LIKELY_MESSAGES), *spoken_ahead(self.lang)]
        texts += [self._render(step.reask[self.lang]) for step in self.flow.steps
                  if step.reask and _may_run(step.condition, self.context.facts)]
        texts += [self._closing_text(callback=True), *(self._message(key) for key in _RARE_MESSAGES)]
        texts += self._asked_of_family()
        return list(dict.fromkeys(t for t in texts if t.strip()))

    def _asked_of_family(self) -> list[str]:
        """The questions as a family member answering for the patient hears them (他/她 for 您)."""
        respondent = self.state.respondent
        self.state.respondent = "family"
        try:
            return [self._ask(step) for step in self.flow.steps
                    if step.collect and _may_run(step.condition, self.context.facts)]
        finally:
            self.state.respondent = respondent

    def handle(self, text: str) -> Reply:
        self._events = []
        if self.done:
            return Reply(say="", expecting=None, done=True, events=({"type": "ignored_after_end"},))
        raw = (text or "").strip()
        utterance = nlu.normalize(raw[:MAX_PARSE_CHARS])
        self._event("patient_turn", chars=len(raw))
        if not _MEANINGFUL.search(utterance):
            return self._reprompt(kind="reprompt")
        if nlu.parse_refusal(utterance, self.lang):
            if not self.state.respondent and nlu.speaks_as_patient(utterance, name=self.context.patient_name):
                self.state.respondent = "patient"   # "是我。不用回访了": who answered, though not verified
            return self._end("refused", self._message("refused"))
        step = self._current_step()
        if step is None:
            return self._closing()
        if step.collect == "identity_verified":
            return self._handle_identity(utterance)
        if nlu.parse_transfer_request(utterance, self.lang) and self._field_value(step, utterance) is None:
            return self._transfer_requested(step, utterance)
        if nlu.parse_repeat_request(utterance, self.lang):
            # "什么？没听清……哦，好多了" answers after all; "你再说一遍，什么好了差了？" does not.
            # Words like 听不清 inside the answer ("说话含含糊糊的，听不清他说啥，嘴也歪") describe the patient:
            # a turn that does not open with the request is kept whole when it answers as it is.
            after = nlu.after_repeat_request(utterance)
            opens = nlu.opens_with_repeat_request(utterance)
            if not opens and self._field_value(step, utterance) is not None:
                pass
            elif after and self._field_value(step, after) is not None:
                utterance = after
            elif opens:
                return self._repeat()
            # else: words like 啥意思 inside an answer ("天天这样有啥意思") are no request to repeat
        if self.state.read_back is not None and step.collect == self.state.read_back["field"]:
            return self._handle_read_back(step, utterance)
        if self.state.last_field and nlu.parse_correction(utterance, self.lang):
            corrected = self._handle_correction(utterance)
            if corrected is not None:
                return corrected
        if step.collect == "questions":
            return self._handle_questions_step(utterance)
        # Questions past the ones answered are still questions, noted for a nurse; only past twice as many
        # (a loop) is a question taken as the answer, so that the call goes on.
        if nlu.parse_is_question(utterance, self.lang) and len(self.state.questions) < self._questions_heard:
            asked, said = nlu.split_questions(utterance, self.lang)
            value = self._field_value(step, said) if said and step.collect else None
            if value is not None:
                # "Three hundred and twelve. That's high, right?": the answer is kept, the question answered.
                reply_text = self._answer(asked or utterance)
                self._store(step.collect, value, utterance)
                self._scan_for_danger(utterance, skip_symptoms=step.collect == "symptoms")
                return self._advance_from_current(prefix=[reply_text, *self._red_prefix()])
            return self._handle_question(utterance, resume=step)
        return self._handle_answer(step, utterance)

    def silence(self) -> Reply:
        """No speech within the timeout: reprompt, then leave the field unknown."""
        self._events = [{"type": "silence"}]
        if self.done:
            return Reply(say="", expecting=None, done=True)
        return self._reprompt(kind="silence")

    def hangup(self) -> None:
        """The line dropped or the patient hung up: partial if anything was answered."""
        if not self.done:
            self._keep_unconfirmed_reading()
            self.state.status = "partial" if self.state.answers > 0 else "no_answer"
            self._event("hangup", status=self.state.status)

    def mark_unreached(self, status: str, *, evidence: str | None = None) -> None:
        """End as not reached; `evidence` is what was heard instead (a carrier announcement, a greeting)."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"unknown call status {status!r}; valid: {', '.join(FINAL_STATUSES)}")
        self.state.status = status
        if evidence:
            self.state.evidence["call_status"] = _clip(evidence)

    def outcome(self) -> dict[str, Any]:
        """The outcome record (followup-outcome.md). Fields never learned are left out."""
        s = self.state
        out: dict[str, Any] = {"call_status": s.status if s.status != "in_progress" else "partial"}
        if s.respondent:
            out["respondent"] = s.respondent
        for key, value in s.collected.items():
            if value is not None:
                out[key] = value
        if out.get("symptoms"):
            # Heard in different answers, "心慌" and "心慌出汗手抖" are one finding: the specific code stands.
            present = set(out["symptoms"])
            out["symptoms"] = [c for c in out["symptoms"] if c in _DISTINCT_ACROSS_ANSWERS or c in s.distinct_generic
                               or not any(specific in present for specific in GENERIC_OVER.get(c, ()))]
        if s.questions:
            out["questions"] = list(s.questions)
        # The yellow of a generic symptom the specific one took in across answers goes with it ("吐了一口，咖啡色的"
        # told with the medicines, "就早上吐那一口" with the symptoms: one red finding, no yellow vomiting beside it).
        absorbed = {f"symptom_{c}" for c in set(s.collected.get("symptoms") or []) - set(out.get("symptoms") or [])}
        kept = [f for f in s.flags if not (f.get("level") == "yellow" and f.get("code") in absorbed)]
        out["flags"] = [dict(f) for f in kept]
        grade = risk_grade(out, [_FlagView(**f) for f in kept], rules=self.rules) if s.answers else None
        if grade and s.status not in ("wrong_person", "refused", "no_answer"):
            out["risk_grade"] = grade
        if s.unclear:
            out["unclear_fields"] = sorted(s.unclear)
        out["needs_callback"] = bool(
            s.flags or any(not q.get("answered") for q in s.questions) or s.unclear or s.transfer_requested
            or s.disputed
            or s.status in ("failed", "partial") and s.answers > 0
        )
        out["evidence"] = dict(s.evidence)
        return out

    # ----- stages -----------------------------------------------------------------------------

    def _handle_identity(self, utterance: str) -> Reply:
        c = self.context
        parse = nlu.parse_identity(utterance, self.lang, name=c.patient_name, birth_year=c.birth_year,
                                   id_last4=c.id_last4, phone_last4=c.phone_last4)
        value = parse.value or {}
        self._event("parsed", field="identity_verified", value=value)
        if value.get("wrong_person"):
            self.state.respondent = value.get("respondent") or "other"   # a stranger on the line
            self.state.collected["identity_verified"] = False
            self.state.evidence["identity_verified"] = _clip(utterance)
            return self._end("wrong_person", self._message("wrong_person"))
        if value.get("verified"):
            self.state.collected["identity_verified"] = True
            self.state.respondent = value.get("respondent") or "patient"
            self.state.evidence["identity_verified"] = _clip(utterance)
            self.state.answers += 1
            prefix = [self._message("family_ack")] if self.state.respondent == "family" else []
            # "Born forty-eight… no wait, forty-nine. I always get muddled": a speaker mixing up their own numbers
            # is not telling of confusion; the symptoms question asks for it in its own right.
            self._scan_for_danger(utterance, ignore=_SELF_REPAIR_CODES if nlu.repairs_a_number(utterance) else frozenset())
            return self._advance_from_current(prefix=prefix + self._red_prefix())
        if value.get("respondent") and not self.state.respondent:
            self.state.respondent = value["respondent"]
        self.state.reprompts += 1
        if self.state.reprompts > self.max_reprompts:
            self.state.collected["identity_verified"] = False
            return self._end("failed", self._message("identity_failed"))
        return self._say([self._message("identity_retry")], expecting="identity_verified")

    def _handle_answer(self, step: Step, utterance: str) -> Reply:
        value = self._field_value(step, utterance)
        if value is None and self.llm_fallback is not None and (self.state.unclear_tries >= 1 or self.state.reprompts >= 1):
            # Only for the answer to the re-ask, as with the embeddings: on a first answer the rules cannot
            # settle, the small model guessed more often than it read (dev 99.4 → 98.0 %, train9 96.4 →
            # 95.3 % with it on), where the closed re-ask gets a clear answer (fail closed).
            value = self._llm_value(step.collect, utterance)
        if value is None and step.collect == "pain_score" and nlu.bare_reply(utterance, self.lang) == "no":
            value = 0   # "How much pain now?" — "No, nothing.", "没有了": no pain
        if value is None and nlu.no_reading(step.collect or "", utterance, self.lang):
            # "没烧，也没量" / "No fever, didn't take it" / "No, that's all": no reading to store, nothing to follow up.
            self.state.answers += 1
            self._scan_for_danger(utterance)
            return self._advance_from_current(prefix=self._red_prefix())
        if value is None:
            self._scan_for_danger(utterance)
            if step.collect in FAIL_CLOSED_FIELDS:
                return self._unclear(step, utterance)
            return self._reprompt(kind="reprompt")
        if self._needs_read_back(step.collect, value):
            self.state.read_back = {"field": step.collect, "value": value, "evidence": _clip(utterance)}
            self._event("read_back", field=step.collect)
            self._scan_for_danger(utterance, skip_symptoms=False)
            return self._say([*self._red_prefix(), self._message("read_back_intro"), self._message(
                "read_back", reading=self._reading_words(step.collect, value, utterance))], expecting=step.collect)
        self._store(step.collect, value, utterance)
        self._scan_for_danger(utterance, skip_symptoms=step.collect == "symptoms")
        return self._advance_from_current(prefix=self._red_prefix())

    # ----- read-back of a critical reading (spoken calls) ------------------------------------------

    def _needs_read_back(self, field_name: str, value: Any) -> bool:
        """A reading that would raise a red flag the call has not raised yet, heard on a spoken call."""
        if not self.read_back or field_name not in READ_BACK_FIELDS:
            return False
        before = {(f["level"], f["code"]) for f in self.state.flags}
        hits = self._flag_hits({**self.state.collected, field_name: value})
        return any(h.level == "red" and (h.level, h.code) not in before for h in hits)

    def _handle_read_back(self, step: Step, utterance: str) -> Reply:
        """The patient's answer to "血糖二点零，对吗？". The same reading or a yes keeps it; another
        reading is kept instead, with both in the evidence and a nurse's call (which one was right is
        the patient's word against the recogniser's); a bare no asks for the reading once more; anything
        else keeps the first reading — a red reading is never dropped because its check was not understood."""
        pending = self.state.read_back or {}
        first, field_name = pending.get("value"), step.collect
        again = self._field_value(step, utterance)
        if field_name == "blood_pressure" and isinstance(again, dict) and again.get("diastolic") is None:
            again = None   # half a pressure does not settle which reading was meant
        if again is None and not pending.get("denied") and nlu.parse_yes_no(utterance, self.lang).value == "no":
            self.state.read_back = {**pending, "denied": True}
            self._event("read_back_denied", field=field_name)
            reask = self._render(step.reask[self.lang]) if step.reask else self._ask(step)
            return self._say([reask], expecting=field_name)
        self.state.read_back = None
        if again is not None and again != first:
            self.state.disputed[field_name] = _clip(f"{pending.get('evidence', '')} / {utterance}")
            self._event("reading_disputed", field=field_name)
            self._store(field_name, again, utterance)
            self.state.evidence[field_name] = self.state.disputed[field_name]
        else:
            confirmed = again is not None or nlu.parse_yes_no(utterance, self.lang).value == "yes"
            self._event("read_back_confirmed" if confirmed else "read_back_unsettled", field=field_name)
            if not confirmed:
                self.state.disputed[field_name] = _clip(f"{pending.get('evidence', '')} / {utterance}")
            self._store(field_name, first, pending.get("evidence", ""))
        self._scan_for_danger(utterance, skip_symptoms=field_name == "symptoms")
        return self._advance_from_current(prefix=self._red_prefix())

    def _keep_unconfirmed_reading(self) -> None:
        """A call that ends or moves on during a read-back keeps the reading as heard (fail closed)."""
        pending = self.state.read_back
        if pending is None:
            return
        self.state.read_back = None
        self.state.disputed[pending["field"]] = pending.get("evidence", "")
        self._store(pending["field"], pending["value"], pending.get("evidence", ""))
        self._evaluate_flags()

    def _reading_words(self, field_name: str, value: Any, utterance: str) -> str:
        """The reading as the read-back says it, in the unit the patient used (mg/dL, °F)."""
        if isinstance(value, dict):
            return WORDS.text(f"reading_{field_name}", self.lang, **value)
        said = nlu.glucose_as_said_mg_dl(utterance, value) if field_name == "blood_glucose" else \
            nlu.temperature_as_said_f(utterance, value) if field_name == "temperature" else None
        if said is not None:
            return WORDS.text(f"reading_{field_name}_as_said", self.lang, value=f"{said:g}")
        return WORDS.text(f"reading_{field_name}", self.lang, value=value)

    def _transfer_requested(self, step: Step, utterance: str) -> Reply:
        """"转人工", "I want to talk to a nurse": a nurse calls back (a line that can transfer does so);
        the call goes on only if the patient wants to."""
        self.state.transfer_requested = True
        self.state.evidence.setdefault("transfer_request", _clip(utterance))
        self._event("transfer_requested", field=step.collect)
        self._scan_for_danger(utterance)
        return self._say([self._message("transfer_ack"), *self._red_prefix(), self._ask(step)], expecting=step.collect)

    def _unclear(self, step: Step, utterance: str) -> Reply:
        """Fail closed: one short closed re-ask; then the words are kept as unclear for a nurse.

        "有" to a symptom question says something is wrong without saying what: no re-ask can be
        stored as "no", so it goes to the nurse at once."""
        s = self.state
        s.unclear_tries += 1
        something_wrong = step.collect in ("symptoms", "side_effects") and \
            nlu.parse_yes_no(utterance, self.lang).value == "yes"
        self._event("unclear", field=step.collect, tries=s.unclear_tries)
        if s.unclear_tries <= 1 and s.reprompts < self.max_reprompts and not something_wrong:
            s.reprompts += 1
            s.unclear[step.collect] = _clip(utterance)
            reask = self._render(step.reask[self.lang]) if step.reask else self._ask(step)
            return self._say([self._message("reprompt"), reask], expecting=step.collect)
        previous = s.unclear.get(step.collect)
        s.unclear[step.collect] = _clip(f"{previous} / {utterance}" if previous else utterance)
        s.evidence[step.collect] = s.unclear[step.collect]
        s.answers += 1
        self._event("field_unclear", field=step.collect)
        return self._advance_from_current(prefix=[self._message("unclear_handoff"), *self._red_prefix()])

    @property
    def _questions_heard(self) -> int:
        """Questions past those answered are still heard (noted for a nurse) up to twice as many: a loop guard."""
        return 2 * self.max_questions

    def _handle_questions_step(self, utterance: str) -> Reply:
        yes_no = nlu.parse_yes_no(utterance, self.lang).value
        asked = nlu.parse_is_question(utterance, self.lang)
        if yes_no == "no" and not asked:
            self._scan_for_danger(utterance)
            self.state.answers += 1
            return self._advance_from_current(prefix=self._red_prefix())
        if not asked and (yes_no == "yes" and len(utterance) <= 6 or nlu.acknowledgement_only(utterance, self.lang)):
            # "嗯，行" / "Uh-huh" to "anything to ask?": go ahead once; a second bare yes with still no
            # question is a backchannel, not a question waiting, so the call moves on (no endless "请问").
            if self.state.reprompts >= 1:
                self.state.answers += 1
                return self._advance_from_current(prefix=self._red_prefix())
            self.state.reprompts += 1
            return self._say([self._message("question_go_ahead")], expecting="questions")
        if len(self.state.questions) >= self._questions_heard:
            return self._advance_from_current(prefix=[self._message("question_noted")])
        reply_text = self._answer(utterance)
        self.state.reprompts = 0   # a question was heard: the next bare yes may be another one coming
        return self._say([reply_text, self._message("question_more")], expecting="questions")

    def _handle_question(self, utterance: str, *, resume: Step) -> Reply:
        reply_text = self._answer(utterance)
        self._scan_for_danger(utterance)
        return self._say([reply_text, *self._red_prefix(), self._message("back_to_script"), self._ask(resume)],
                         expecting=resume.collect)

    def _answer(self, question: str) -> str:
        if nlu.asks_what_to_do(question, self.lang) and any(f.get("level") == "red" for f in self.state.flags):
            # "那我现在是等到下午去门诊，还是咋个弄嘛？" after a red flag: the answer is the red-flag advice again.
            # "血糖低了我该咋办？" (not wait or go): what the orders say to do, if they say it, then that advice.
            grounded = None
            if not nlu.asks_wait_or_go(question, self.lang) and self.answer_question is not None \
                    and len(self.state.questions) < self.max_questions:
                try:
                    grounded = self.answer_question(question, self.lang)
                except Exception:  # noqa: BLE001 - the red-flag advice is said whatever the answerer does
                    log.exception("question answering failed; the red-flag advice alone")
            if grounded is not None and grounded.answered:
                joiner = "" if self.lang == "zh" else " "
                result = AnswerResult(text=f"{grounded.text}{joiner}{self._message('red_flag')}", answered=True,
                                      sources=tuple(grounded.sources))
            else:
                result = AnswerResult(text=self._message("red_flag"), answered=False, sources=())
        elif len(self.state.questions) >= self.max_questions:
            result = AnswerResult(text=self._message("question_noted"), answered=False, sources=())
        elif self.answer_question is None:
            result = AnswerResult(text=self._message("nurse_callback"), answered=False, sources=())
        else:
            try:
                result = self.answer_question(question, self.lang)
            except Exception:  # noqa: BLE001 - a failing answerer must not end the call
                log.exception("question answering failed; handing to a nurse")
                result = AnswerResult(text=self._message("nurse_callback"), answered=False, sources=())
        self.state.questions.append({"text": _clip(question), "answer": result.text,
                                     "sources": list(result.sources), "answered": bool(result.answered)})
        self.state.answers += 1
        self._event("question", answered=result.answered, sources=list(result.sources))
        return result.text

    def _handle_correction(self, utterance: str) -> Reply | None:
        field_name = self.state.last_field
        value = nlu.parse_field(field_name, utterance, self.lang, self._parser_context())
        value = _settled(value)
        if value is None:
            return None
        if field_name == "blood_pressure" and isinstance(value, dict) and value.get("diastolic") is None:
            value = {**(self.state.collected.get("blood_pressure") or {}), **{k: v for k, v in value.items() if v}}
        self._store(field_name, value, utterance, correction=True)
        self._scan_for_danger(utterance)
        step = self._current_step()
        parts = [self._message("correction_ack"), *self._red_prefix()]
        if step is None:
            return self._closing(prefix=parts)
        return self._say(parts + [self._ask(step)], expecting=step.collect)

    def _repeat(self) -> Reply:
        self.state.repeats += 1
        self._event("repeat")
        if self.state.repeats > MAX_REPEATS:
            return self._reprompt(kind="reprompt")
        return Reply(say=self.state.last_prompt, expecting=self.expecting, done=False, events=tuple(self._events))

    def _reprompt(self, *, kind: str) -> Reply:
        step = self._current_step()
        if step is None:
            return self._closing()
        self.state.reprompts += 1
        self._event("reprompt", kind=kind, count=self.state.reprompts)
        if self.state.reprompts > self.max_reprompts:
            if step.collect == "identity_verified":
                self.state.collected["identity_verified"] = False
                status = "no_answer" if kind == "silence" and self.state.answers == 0 else "failed"
                return self._end(status, self._message("identity_failed"))
            self._keep_unconfirmed_reading()
            if step.collect in self.state.collected:
                return self._advance_from_current(prefix=[self._message("give_up_field")])
            self.state.unanswered_fields.append(step.collect or step.id)
            self._event("field_unknown", field=step.collect)
            return self._advance_from_current(prefix=[self._message("give_up_field")])
        return self._say([self._message(kind), self._ask(step)], expecting=step.collect)

    # ----- understanding ------------------------------------------------------------------------

    def _parser_context(self) -> dict:
        ctx = self.context.parser_context()
        ctx["collected"] = dict(self.state.collected)
        ctx["respondent"] = self.state.respondent
        return ctx

    def _field_value(self, step: Step, utterance: str) -> Any:
        if not step.collect:
            return None
        if step.collect == "feedback":
            answer = nlu.parse_yes_no(utterance, self.lang).value
            return "" if answer == "no" and len(utterance) <= 12 else utterance[:MAX_EVIDENCE_CHARS * 3]
        parse = nlu.parse_field(step.collect, utterance, self.lang, self._parser_context(), semantic=self.semantic)
        value = _settled(parse)
        if value is not None and step.collect == "wound" and getattr(parse, "cues", None):
            self.state.cues["wound"] = dict(parse.cues)   # pus, heavy bleeding: read by the flag rules
        if value is None and self.semantic is not None and self.state.unclear_tries >= 1:
            # Only for the answer to the closed re-ask: embeddings cost ≈ 25–50 ms a text on this CPU and,
            # measured on the dev split, add nothing to a first answer the rules cannot settle.
            value = self._semantic_answer(step.collect, utterance)
        return value

    def _semantic_answer(self, field_name: str, utterance: str) -> Any:
        """The nearest labelled answers of the field (language.semantic), when they clearly agree."""
        try:
            found = self.semantic.answer(field_name, utterance, self.lang)
        except Exception:  # noqa: BLE001 - embeddings are optional; rules carry the call
            log.warning("semantic matching failed for field %s", field_name)
            return None
        if found is None:
            return None
        label, score = found
        self._event("semantic_parsed", field=field_name, score=round(score, 3))
        if field_name == "medication_adherence":
            if label == "full":
                return {"adherence": "full", "missed": []}
            if label == "none":
                return {"adherence": "none", "missed": [m.name for m in self.context.medications]}
            return None
        return label

    def _llm_value(self, field_name: str | None, utterance: str) -> Any:
        if not field_name:
            return None
        # A bare "没有" / "yes", with or without thanks ("没有了，谢谢你们啊", "No, that's all."), to a question
        # that is not yes/no carries nothing to classify: the small model would guess (it read "没有" as
        # "worse" and "No, that's all." as satisfaction 1, a false yellow flag), so ask again instead.
        if nlu.is_bare_reply(utterance, self.lang):
            return None
        try:
            value = self.llm_fallback(field_name, utterance, self.lang, self._parser_context())
        except Exception:  # noqa: BLE001 - the model is optional; rules carry the call
            log.warning("language-model fallback failed for field %s", field_name)
            return None
        if value is not None:
            self._event("llm_parsed", field=field_name)
        return value

    def _store(self, field_name: str, value: Any, utterance: str, *, correction: bool = False) -> None:
        s = self.state
        evidence = _clip(utterance)
        if field_name == "medication_adherence" and isinstance(value, dict):
            s.collected["medication_adherence"] = value.get("adherence")
            s.collected["missed_medications"] = list(value.get("missed") or [])
            s.evidence["missed_medications"] = evidence
            if s.collected.get("side_effects") is None and nlu.blames_drug(utterance):
                # "舍曲林吃了老想吐，我就停了": the complaint the patient puts down to a medicine is a side effect.
                effects = nlu.parse_field("side_effects", utterance, self.lang, self._parser_context()).value
                if effects and effects.get("present"):
                    s.collected["side_effects"] = list(effects["present"])
                    s.cues.update(effects.get("cues") or {})
                    s.evidence["side_effects"] = evidence
        elif field_name == "symptoms" and isinstance(value, dict):
            present = list(dict.fromkeys([*(s.collected.get("symptoms") or []), *value.get("present", [])]))
            absent = set(value.get("absent", []))
            s.absent_symptoms = sorted(set(s.absent_symptoms) | absent)
            s.collected["symptoms"] = [c for c in present if c not in absent or c in value.get("present", [])]
            s.cues.update(value.get("cues") or {})
            self._note_distinct_generic(value.get("present", []))
        elif field_name == "side_effects" and isinstance(value, dict):
            # A side effect told earlier (with the medicines) stays: "没有了" to this question adds nothing more.
            s.collected["side_effects"] = list(dict.fromkeys([*(s.collected.get("side_effects") or []),
                                                              *value.get("present", [])]))
            s.cues.update(value.get("cues") or {})
        elif field_name in ("revisit_aware", "revisit_booked", "reexam_done"):
            s.collected[field_name] = {"yes": True, "no": False}.get(value) if isinstance(value, str) else value
            if field_name == "revisit_aware" and value == "uncertain":
                s.collected[field_name] = False
        elif field_name == "feedback":
            if value:
                s.collected["feedback"] = value
        else:
            s.collected[field_name] = value
        if field_name == "temperature" and isinstance(value, (int, float)) and \
                value >= self.rules.threshold("temperature_yellow") and "fever" not in (s.collected.get("symptoms") or []) \
                and "fever" not in s.absent_symptoms:
            # A temperature at or above the yellow line is a fever now when the patient did not tell of one
            # ("It stings when I pass water" … "Thirty-seven point nine last night"): the symptom list says so
            # too. A fever the patient denied ("发烧倒没有" … "三十七度六") stays as they put it; the reading's
            # own flag is raised all the same.
            s.collected["symptoms"] = [*(s.collected.get("symptoms") or []), "fever"]
            s.evidence.setdefault("symptoms", evidence)
        s.evidence[field_name] = evidence
        s.unclear.pop(field_name, None)
        s.last_field = field_name
        s.reprompts = 0
        s.repeats = 0
        if not correction:
            s.answers += 1
        self._event("parsed", field=field_name, value=value, correction=correction)

    def _note_distinct_generic(self, present: list[str]) -> None:
        both = [c for c in present if any(specific in present for specific in GENERIC_OVER.get(c, ()))]
        self.state.distinct_generic = sorted(set(self.state.distinct_generic) | set(both))

    def _scan_for_danger(self, utterance: str, *, skip_symptoms: bool = False, ignore: frozenset[str] = frozenset()) -> None:
        """Symptoms and readings can surface in any answer ("还行，就是昨天晕倒了", "头疼，刚量了血压
        一百九十二、一百一十五"): scan every utterance."""
        current = self._current_step()
        if current is not None and current.collect == "wound":
            ignore = ignore | _WOUND_ANSWER_CODES
        for name, value in nlu.readings_in_passing(utterance, self.lang, self.state.respondent).items():
            if self.state.collected.get(name) is None and not (current and current.collect == name):
                self.state.collected[name] = value
                self.state.evidence.setdefault(name, _clip(utterance))
                self._event("reading_in_passing", field=name)
        if not skip_symptoms:
            found = nlu.parse_symptoms(utterance, self.lang, respondent=self.state.respondent).value or {}
            # A symptom already collected and told again in a later answer ("就刚才说的，胸口疼" then, at the
            # medication question, "…到现在还隐隐疼，坐着说话都接不上气"): what the later words say of it (at rest,
            # how long) is added to what is known of it, so its flag level is read from both.
            for code in found.get("present", []):
                if code in (self.state.collected.get("symptoms") or []) and code not in ignore:
                    self._merge_cues(code, (found.get("cues") or {}).get(code) or {})
            present = [c for c in found.get("present", []) if c not in (self.state.collected.get("symptoms") or [])
                       and c not in ignore]
            if current is not None and current.collect in ("overall_condition", "pain_score", "satisfaction", "feedback"):
                # How things are overall ("这两天又不行了，人没劲"): its mild complaints are part of that
                # assessment (worse is its own flag, the symptoms question follows); a red one is kept at once.
                # So is the verdict on the care ("医生都不怎么理人" is the doctor, not the patient's mood).
                present = [c for c in present
                           if symptom_level(c, (found.get("cues") or {}).get(c) or {}, rules=self.rules)[0] == "red"]
            if present:
                self.state.collected["symptoms"] = [*(self.state.collected.get("symptoms") or []), *present]
                self.state.cues.update(found.get("cues") or {})
                self.state.evidence.setdefault("symptoms", _clip(utterance))
                self._note_distinct_generic(found.get("present", []))
                self._event("symptoms_in_passing", codes=present)
        self._evaluate_flags()

    def _merge_cues(self, code: str, new: dict[str, Any]) -> None:
        """Cues of a symptom told again: each cue said is kept; a duration is the longest said."""
        if not new:
            return
        old = dict(self.state.cues.get(code) or {})
        for name, value in new.items():
            if name == "duration_min" and isinstance(old.get(name), (int, float)):
                old[name] = max(old[name], value)
            elif value or name not in old:
                old[name] = value
        self.state.cues[code] = old

    def _flag_hits(self, collected: dict[str, Any]) -> list[Any]:
        outcome = {k: v for k, v in collected.items() if v is not None}
        missed_classes = {m.name: m.drug_class for m in self.context.medications if m.drug_class}
        return evaluate_flags(outcome, evidence=self.state.evidence, cues=self.state.cues,
                              rules=self.rules, days_since_discharge=self.context.days_since_discharge,
                              post_surgery=self.context.post_surgery, missed_classes=missed_classes)

    def _evaluate_flags(self) -> None:
        hits = self._flag_hits(self.state.collected)
        known = {(f["level"], f["code"]) for f in self.state.flags}
        for hit in hits:
            if (hit.level, hit.code) not in known:
                self.state.flags.append({"level": hit.level, "code": hit.code, "reason": hit.reason,
                                         "evidence": hit.evidence, "source": "rule"})
                known.add((hit.level, hit.code))
                self._event("flag", level=hit.level, code=hit.code)
        # A finding first heard as yellow and then told to be red (chest pain, then "坐着也疼，到现在还疼")
        # is one red finding: its yellow flag is superseded.
        red_codes = {f["code"] for f in self.state.flags if f["level"] == "red"}
        self.state.flags = [f for f in self.state.flags if not (f["level"] == "yellow" and f["code"] in red_codes)]

    def _red_prefix(self) -> list[str]:
        """The urgent advice, said once, in the reply to the turn that raised the first red flag."""
        if self.state.announced_red or not any(f["level"] == "red" for f in self.state.flags):
            return []
        self.state.announced_red = True
        self._event("urgent_advice")
        return [self._message("red_flag"), self._message("red_flag_continue")]

    # ----- navigation ---------------------------------------------------------------------------

    def _current_step(self) -> Step | None:
        i = self.state.step_index
        return self.flow.steps[i] if 0 <= i < len(self.flow.steps) else None

    def _advance_from_current(self, *, prefix: list[str]) -> Reply:
        step = self._current_step()
        target = self._next_index(step) if step else len(self.flow.steps)
        return self._advance_to(target, prefix=prefix)

    def _next_index(self, step: Step) -> int:
        return next_index(self.flow.steps, self.flow.index_of(step.id), self._leaf_holds)

    def _advance_to(self, index: int, *, prefix: list[str]) -> Reply:
        parts = list(prefix)
        while (index := runnable_index(self.flow.steps, index, self._leaf_holds)) < len(self.flow.steps):
            step = self.flow.steps[index]
            self.state.step_index = index
            self.state.reprompts = 0
            self.state.unclear_tries = 0
            if step.collect:
                return self._say(parts + [self._ask(step)], expecting=step.collect)
            parts.append(self._render(step.say[self.lang]))
            index = self._next_index(step)
        self.state.step_index = len(self.flow.steps)
        return self._closing(prefix=parts)

    def _leaf_holds(self, condition: Condition) -> bool:
        """One leaf condition of a follow-up flow (dialogs/flows.py FOLLOWUP_GRAMMAR) over this call."""
        kind, value = condition.kind, condition.value
        if kind == "has":
            return value in self.context.facts
        if kind == "symptom":
            return value in (self.state.collected.get("symptoms") or [])
        name, op, expected = value  # field
        actual = self.state.collected.get(name)
        return (actual is not None) == bool(expected) if op == "known" else actual == expected

    def _closing(self, *, prefix: list[str] | None = None) -> Reply:
        callback = any(f["level"] in ("red", "yellow") for f in self.state.flags) or any(
            not q["answered"] for q in self.state.questions)
        return self._end("completed", self._closing_text(callback=callback), prefix=prefix or [])

    def _closing_text(self, *, callback: bool) -> str:
        reminder = ""
        revisit = next((r for r in self.context.revisits), None)
        if revisit is not None:
            reminder += self._render(self._message_raw("reminder_revisit"), revisit=revisit)
        if self.context.reexams:
            reminder += self._render(self._message_raw("reminder_reexam"))
        if callback:
            reminder += self._message("callback_promise")
        return self._render(self._message_raw("closing"), reminder=reminder)

    def _end(self, status: str, text: str, *, prefix: list[str] | None = None) -> Reply:
        self._keep_unconfirmed_reading()
        self.state.status = status
        self.state.step_index = len(self.flow.steps)
        self._event("end", status=status)
        return self._say([*(prefix or []), text], expecting=None, done=True)

    def _say(self, parts: list[str], *, expecting: str | None, done: bool = False) -> Reply:
        text = _join(parts, self.lang)
        if not done:
            self.state.last_prompt = text
        return Reply(say=text, expecting=expecting, done=done, events=tuple(self._events))

    # ----- wording ------------------------------------------------------------------------------

    def _ask(self, step: Step) -> str:
        return self._render(step.ask[self.lang])

    def _message_raw(self, key: str) -> str:
        return self.flows.messages[key][self.lang]

    def _message(self, key: str, *, reading: str = "") -> str:
        return self._render(self._message_raw(key), reading=reading)

    def _render(self, template: str, *, revisit: Any = None, reminder: str = "", reading: str = "") -> str:
        return template.format_map(self._placeholders(revisit=revisit, reminder=reminder, reading=reading))

    def _placeholders(self, *, revisit: Any = None, reminder: str = "", reading: str = "") -> dict[str, str]:
        c, zh = self.context, self.lang == "zh"
        family = self.state.respondent == "family"
        first_name = c.patient_name.split()[0] if not zh else c.patient_name
        subject = ("subject_family_female" if c.sex == "female" else "subject_family_male") if family else "subject_patient"
        revisit = revisit or (c.revisits[0] if c.revisits else None)
        names = [m.generic_name or m.name if zh else _english_drug(m) for m in c.medications]
        return {
            "patient_name": c.patient_name,
            "subject": WORDS.text(subject, self.lang, first_name=first_name),
            "medication_list": _list_words(names, self.lang),
            "revisit_department": revisit.name if revisit else c.department,
            "revisit_date": _when(revisit.due if revisit else None, self.context.call_date, self.lang),
            "reexam_list": _list_words([r.name for r in c.reexams], self.lang),
            "ward_team": c.ward_team,
            "hospital": c.hospital,
            "reminder": reminder,
            "booking_url": (revisit.booking_url if revisit and revisit.booking_url else ""),
            "reading": reading,
        }

    def _event(self, event_type: str, /, **data: Any) -> None:
        self._events.append({"type": event_type, "at": round(time.monotonic(), 3), **data})


# The call's messages in the order script() offers them for rendering ahead: the likely ones (a missed
# answer, a question, a correction) before the rare ones (a red flag, a failed identity check).
_LIKELY_MESSAGES = ("reprompt", "silence", "give_up_field", "unclear_handoff", "question_more", "question_go_ahead",
                    "nurse_callback", "question_noted", "back_to_script", "correction_ack", "identity_retry", "family_ack")
_RARE_MESSAGES = ("read_back_intro", "transfer_ack", "red_flag", "red_flag_continue", "identity_failed", "wrong_person", "refused",
                  "voicemail")


def _may_run(condition: Condition | None, facts: Any) -> bool:
    """Whether a step may run in this call as far as it is known before dialling: its conditions on
    facts of the discharge are decided; those on answers might go either way."""
    if condition is None:
        return True
    if condition.kind == "has":
        return condition.value in facts
    if condition.kind == "all":
        return all(_may_run(c, facts) for c in condition.value)
    if condition.kind == "any":
        return any(_may_run(c, facts) for c in condition.value)
    if condition.kind == "not" and condition.value.kind == "has":
        return condition.value.value not in facts
    return True   # an answer, or a negation of one: unknown before the call


# Readings a spoken call reads back when they cross a red line (the words: reading_<field> in words.yaml).
READ_BACK_FIELDS = ("blood_pressure", "blood_glucose", "temperature", "heart_rate")

# Bleeding (gums, nose) and black stools heard in two answers are two findings, not one said twice.
_DISTINCT_ACROSS_ANSWERS = frozenset({"bleeding"})
# What a speaker correcting their own numbers calls themselves (muddled, 糊涂) is no finding of confusion.
_SELF_REPAIR_CODES = frozenset({"confusion"})
# The wound's own swelling ("伤口有点肿", "the incision's a bit swollen"), told when the wound is asked about, is
# the wound's value (swelling), not edema of the body.
_WOUND_ANSWER_CODES = frozenset({"edema"})


@dataclass(frozen=True)
class _FlagView:
    level: str
    code: str
    reason: str
    evidence: str
    source: str = "rule"


def _settled(parse: Any) -> Any:
    if parse is None:
        return None
    value = getattr(parse, "value", parse)
    return value


def _clip(text: str) -> str:
    return text[:MAX_EVIDENCE_CHARS]


def _join(parts: list[str], lang: str) -> str:
    parts = [p.strip() for p in parts if p and p.strip()]
    return ("" if lang == "zh" else " ").join(parts)


def _list_words(words: list[str], lang: str) -> str:
    words = [w for w in dict.fromkeys(words) if w]
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return WORDS.text("list_last", lang, items=WORDS.raw("list_separator", lang).join(words[:-1]), last=words[-1])


def _english_drug(medication: Any) -> str:
    return medication.name


def _when(due: dt.date | None, today: dt.date, lang: str) -> str:
    if due is None:
        return WORDS.raw("due_unscheduled", lang)
    return WORDS.text("due_date", lang, month=due.month if lang == "zh" else due.strftime("%B"), day=due.day)
