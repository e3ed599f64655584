"""A follow-up call bound to the record store: every turn is committed as it happens, the outcome
is written when the call ends however it ends, and flags become review items for nurses.

The engine's state is saved with each turn, so a call whose process died can be resumed (or
closed as partial) from the database with nothing the patient said lost."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dialogs.context import CallContext, build_context
from dialogs.engine import AnswerResult, CallState, FollowupEngine, Reply
from dialogs.flows import FlowLibrary
from records.metrics import observe_turn_latency
from records.outcome_contract import OUTCOME_COLUMNS
from records.reasons import reason
from records.schema import (
    CallSession,
    Discharge,
    Flag,
    OrderItem,
    Outcome,
    Patient,
    ReviewItem,
    ScheduledCall,
    Turn,
    Ward,
    utcnow,
)

log = logging.getLogger(__name__)


class PostCallWork:
    """Work a call leaves running after it ends (the second reader). A shutdown waits for it, so its
    additions are written and the language model is not freed under a running generation (llama.cpp
    segfaults when the interpreter exits in the middle of one)."""

    def __init__(self) -> None:
        self._running: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def start(self, work: Callable[[], None], *, name: str) -> threading.Thread:
        def run() -> None:
            try:
                work()
            finally:
                with self._lock:
                    self._running.discard(thread)

        thread = threading.Thread(target=run, name=name, daemon=True)
        with self._lock:
            self._running.add(thread)
        thread.start()
        return thread

    def wait(self, timeout_s: float) -> int:
        """Wait up to timeout_s for the work running now; returns how much is still running."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            running = list(self._running)
        for thread in running:
            thread.join(max(0.0, deadline - time.monotonic()))
        return sum(thread.is_alive() for thread in running)


POST_CALL_WORK = PostCallWork()

AnswererFactory = Callable[[CallContext], Callable[[str, str], AnswerResult]]
_OUTCOME_COLUMNS = OUTCOME_COLUMNS
_PRIORITY = {"red": 0, "yellow": 1, "task": 2}


def _plan(session: Session, *, flows: FlowLibrary, settings: Any, patient_id: int, discharge_id: int | None,
          call_date: dt.date | None, language: str | None, flow_id: str | None) -> tuple[Discharge, CallContext, Any]:
    """The discharge, the call's context and its flow for a new call to a patient."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise LookupError(f"patient {patient_id} not found")
    discharge = (session.get(Discharge, discharge_id) if discharge_id else session.scalar(
        select(Discharge).where(Discharge.patient_id == patient_id).order_by(Discharge.discharged_on.desc())))
    if discharge is None or discharge.patient_id != patient_id:
        raise LookupError(f"no discharge for patient {patient_id}")
    ward = session.get(Ward, discharge.ward_id)
    items = list(session.scalars(select(OrderItem).where(OrderItem.discharge_id == discharge.id)
                                 .order_by(OrderItem.seq)))
    lang = language or patient.language or discharge.language
    hospital = settings.dialog.hospital_name_zh if lang == "zh" else settings.dialog.hospital_name_en
    context = build_context(patient=patient, discharge=discharge, items=items,
                            ward_team=ward.team_name or ward.name, hospital=hospital,
                            call_date=call_date or dt.date.today(), language=lang)
    flow = flows.get(flow_id) if flow_id else flows.select(
        surgery=discharge.surgery, diagnosis=discharge.diagnosis, department=discharge.department)
    return discharge, context, flow


def _reads_back(settings: Any, channel: str) -> bool:
    """Typed answers mean what they say; a spoken one passed through a recogniser."""
    return bool(settings.dialog.read_back_readings) and channel != "text"


class CallRunner:
    def __init__(self, *, session_factory: sessionmaker[Session], engine: FollowupEngine, call_id: int,
                 ward_id: int, second_reader: Any = None) -> None:
        self.session_factory = session_factory
        self.engine = engine
        self.call_id = call_id
        self.ward_id = ward_id
        self.second_reader = second_reader   # dialogs.second_reader: adds, after the call, what rules missed
        self._seq = 0
        self._outcome: dict[str, Any] | None = None
        self._post_call: threading.Thread | None = None

    # ----- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, *, session_factory: sessionmaker[Session], flows: FlowLibrary, settings: Any, patient_id: int,
             discharge_id: int | None = None, channel: str = "text", call_date: dt.date | None = None,
             scheduled_call_id: int | None = None, answerer_factory: AnswererFactory | None = None,
             llm_fallback: Any = None, language: str | None = None, flow_id: str | None = None,
             semantic: Any = None, second_reader: Any = None) -> CallRunner:
        with session_factory() as session:
            discharge, context, flow = _plan(session, flows=flows, settings=settings, patient_id=patient_id,
                                             discharge_id=discharge_id, call_date=call_date, language=language,
                                             flow_id=flow_id)
            lang = context.language
            call = CallSession(patient_id=patient_id, discharge_id=discharge.id, ward_id=discharge.ward_id,
                               scheduled_call_id=scheduled_call_id, channel=channel, language=lang, flow_id=flow.id,
                               state={})
            session.add(call)
            session.commit()
            call_id, ward_id = call.id, call.ward_id
        engine = FollowupEngine(
            flows=flows, flow=flow, context=context, rules=settings.clinical_rules(),
            answer_question=answerer_factory(context) if answerer_factory else None,
            llm_fallback=llm_fallback, max_reprompts=settings.dialog.max_reprompts,
            max_questions=settings.dialog.max_questions, semantic=semantic,
            read_back=_reads_back(settings, channel),
        )
        return cls(session_factory=session_factory, engine=engine, call_id=call_id, ward_id=ward_id,
                   second_reader=second_reader)

    @staticmethod
    def script(*, session_factory: sessionmaker[Session], flows: FlowLibrary, settings: Any, patient_id: int,
               discharge_id: int | None = None, call_date: dt.date | None = None, language: str | None = None,
               flow_id: str | None = None) -> tuple[str, list[str]]:
        """(language, texts) the call `open` would start will say (FollowupEngine.script), known before
        dialling; nothing is stored."""
        with session_factory() as session:
            _, context, flow = _plan(session, flows=flows, settings=settings, patient_id=patient_id,
                                     discharge_id=discharge_id, call_date=call_date, language=language, flow_id=flow_id)
        engine = FollowupEngine(flows=flows, flow=flow, context=context, rules=settings.clinical_rules())
        return context.language, engine.script()

    @classmethod
    def resume(cls, *, session_factory: sessionmaker[Session], flows: FlowLibrary, settings: Any, call_id: int,
               answerer_factory: AnswererFactory | None = None, llm_fallback: Any = None,
               call_date: dt.date | None = None, semantic: Any = None, second_reader: Any = None) -> CallRunner:
        """Rebuild a call from its stored state (after a crash or on another worker)."""
        with session_factory() as session:
            call = session.get(CallSession, call_id)
            if call is None:
                raise LookupError(f"call {call_id} not found")
            patient = session.get(Patient, call.patient_id)
            discharge = session.get(Discharge, call.discharge_id)
            ward = session.get(Ward, call.ward_id)
            items = list(session.scalars(select(OrderItem).where(OrderItem.discharge_id == discharge.id)
                                         .order_by(OrderItem.seq)))
            hospital = settings.dialog.hospital_name_zh if call.language == "zh" else settings.dialog.hospital_name_en
            context = build_context(patient=patient, discharge=discharge, items=items,
                                    ward_team=ward.team_name or ward.name, hospital=hospital,
                                    call_date=call_date or call.started_at.date(), language=call.language)
            state = CallState.from_dict(call.state) if call.state else None
            flow = flows.get(call.flow_id)
            seq = max((t.seq for t in call.turns), default=-1) + 1
            read_back = _reads_back(settings, call.channel)
        engine = FollowupEngine(
            flows=flows, flow=flow, context=context, rules=settings.clinical_rules(),
            answer_question=answerer_factory(context) if answerer_factory else None, llm_fallback=llm_fallback,
            max_reprompts=settings.dialog.max_reprompts, max_questions=settings.dialog.max_questions, state=state,
            semantic=semantic, read_back=read_back,
        )
        runner = cls(session_factory=session_factory, engine=engine, call_id=call_id, ward_id=call.ward_id,
                     second_reader=second_reader)
        runner._seq = seq
        return runner

    # ----- turns --------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.engine.done

    def start(self) -> Reply:
        began = time.perf_counter()
        reply = self.engine.start()
        self._store_turns(None, reply, latency_ms=(time.perf_counter() - began) * 1000)
        return reply

    def reconnect(self) -> Reply:
        """The opening of a resumed call (a new line after a cut-off one): say so, ask the pending
        question again; everything already answered stays answered."""
        began = time.perf_counter()
        state = self.engine.state
        lead = self.engine.flows.messages["reconnect"][state.language]
        reply = Reply(say=f"{lead} {state.last_prompt}".strip(), expecting=self.engine.expecting,
                      done=self.engine.done, events=({"type": "reconnect"},))
        self._store_turns(None, reply, latency_ms=(time.perf_counter() - began) * 1000)
        return reply

    def handle(self, text: str, *, audio_ref: str | None = None, asr_confidence: float | None = None) -> Reply:
        began = time.perf_counter()
        asked = self.engine.expecting
        reply = self.engine.handle(text)
        patient_turn = {"text": text[:10_000], "expecting": asked, "audio_ref": audio_ref,
                        "asr_confidence": asr_confidence}
        self._store_turns(patient_turn, reply, latency_ms=(time.perf_counter() - began) * 1000)
        return reply

    def silence(self) -> Reply:
        began = time.perf_counter()
        asked = self.engine.expecting
        reply = self.engine.silence()
        self._store_turns({"text": "", "expecting": asked, "audio_ref": None, "asr_confidence": None,
                           "silence": True}, reply, latency_ms=(time.perf_counter() - began) * 1000)
        return reply

    def hangup(self) -> dict[str, Any]:
        """The patient hung up or the line dropped: write what we have as a partial outcome."""
        self.engine.hangup()
        return self.finish()

    def mark_unreached(self, status: str, *, evidence: str | None = None) -> dict[str, Any]:
        self.engine.mark_unreached(status, evidence=evidence)
        return self.finish()

    def ward_code(self) -> str | None:
        with self.session_factory() as session:
            ward = session.get(Ward, self.ward_id)
            return ward.code if ward else None

    def note_transfer(self, reason: str) -> None:
        """The call is being handed to a nurse (the patient asked, or a red flag): the request is
        stored and the review item opened now, so the nurse has the transcript so far."""
        state = self.engine.state
        state.transfer_requested = True
        state.evidence.setdefault("transfer_reason", reason)
        with self.session_factory() as session:
            call = session.get(CallSession, self.call_id)
            call.state = state.to_dict()
            self._sync_flags(session, call)
            self._sync_review_item(session, call, self.engine.outcome())
            session.commit()

    def transferred(self, how: str) -> dict[str, Any]:
        """The line now belongs to the nurse (`how`: refer | bridge): the assistant's part ends here,
        as partial with every answer kept and a nurse callback."""
        log.info("call %s handed to a nurse by %s", self.call_id, how)
        return self.hangup()

    def finish(self) -> dict[str, Any]:
        if self._outcome is not None:
            return self._outcome
        if not self.engine.done:
            self.engine.hangup()
        outcome = self.engine.outcome()
        with self.session_factory() as session:
            call = session.get(CallSession, self.call_id)
            call.status = "ended"
            call.ended_at = utcnow()
            self._write_outcome(session, call, outcome)
            if outcome["call_status"] == "refused":
                session.get(Patient, call.patient_id).do_not_call = True
            if call.scheduled_call_id:
                scheduled = session.get(ScheduledCall, call.scheduled_call_id)
                if scheduled is not None:
                    scheduled.status = "done"
            session.commit()
        log.info("call %s ended: %s, %d flags", self.call_id, outcome["call_status"], len(outcome.get("flags", [])))
        self._outcome = outcome
        if self.second_reader is not None and self.engine.state.answers > 0:
            self._post_call = POST_CALL_WORK.start(self._read_again, name=f"second-reader-{self.call_id}")
        return outcome

    def wait_post_call(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Wait for the second reader (evaluation, tests); the call itself never waits for it."""
        if self._post_call is not None:
            self._post_call.join(timeout)
        return self._outcome

    def _write_outcome(self, session: Session, call: CallSession, outcome: dict[str, Any]) -> None:
        call.state = self.engine.state.to_dict()
        existing = session.scalar(select(Outcome).where(Outcome.call_id == self.call_id))
        row = existing or Outcome(call_id=self.call_id, patient_id=call.patient_id)
        for key, value in outcome.items():
            if key in _OUTCOME_COLUMNS:
                setattr(row, key, value)
        session.add(row)
        self._sync_flags(session, call)
        self._sync_review_item(session, call, outcome)

    def _read_again(self) -> None:
        """The second reader over the stored transcript; its additions join the outcome, marked as the model's."""
        from dialogs.second_reader import merge
        from models.priority import lower_this_thread

        lower_this_thread()   # the model's reading must not slow the turns of the calls in progress
        try:
            with self.session_factory() as session:
                turns = session.scalars(select(Turn).where(Turn.call_id == self.call_id).order_by(Turn.seq)).all()
                transcript = [(t.speaker, t.text or "") for t in turns]
            c = self.engine.context
            reading = self.second_reader(transcript, language=self.engine.lang, outcome=self._outcome,
                                         post_surgery=c.post_surgery, days_since_discharge=c.days_since_discharge)
        except Exception as exc:  # noqa: BLE001 - the rules' outcome stands when the model fails
            # The error's kind only: a message may quote the transcript. The model's own unavailability
            # messages are fixed texts ("timed out after 180 s", "busy past the timeout").
            from models.llm import LLMUnavailable

            reason = f"{exc.__class__.__name__}: {exc}" if isinstance(exc, LLMUnavailable) else exc.__class__.__name__
            log.warning("second reader failed for call %s (%s); the rules' outcome stands", self.call_id, reason)
            return
        if reading.empty:
            return
        state = self.engine.state
        state.collected["symptoms"] = list(dict.fromkeys([*(state.collected.get("symptoms") or []), *reading.symptoms]))
        known = {(f["level"], f["code"]) for f in state.flags}
        state.flags.extend(dict(f) for f in reading.flags if (f["level"], f["code"]) not in known)
        outcome = merge(self.engine.outcome(), reading)
        with self.session_factory() as session:
            call = session.get(CallSession, self.call_id)
            self._write_outcome(session, call, outcome)
            session.commit()
        log.info("second reader added %d symptoms, %d flags to call %s", len(reading.symptoms), len(reading.flags),
                 self.call_id)
        self._outcome = outcome

    # ----- storage ------------------------------------------------------------------------------

    def _store_turns(self, patient_turn: dict[str, Any] | None, reply: Reply, *, latency_ms: float) -> None:
        observe_turn_latency(latency_ms / 1000, stage="engine")  # Prometheus /metrics
        now = utcnow()
        with self.session_factory() as session:
            if patient_turn is not None:
                session.add(Turn(call_id=self.call_id, seq=self._seq, speaker="patient", text=patient_turn["text"],
                                 expecting=patient_turn["expecting"], audio_ref=patient_turn["audio_ref"],
                                 asr_confidence=patient_turn["asr_confidence"], started_at=now,
                                 events=[{"type": "silence"}] if patient_turn.get("silence") else []))
                self._seq += 1
            session.add(Turn(call_id=self.call_id, seq=self._seq, speaker="system", text=reply.say,
                             expecting=reply.expecting, started_at=now, latency_ms=round(latency_ms, 2),
                             events=_jsonable(list(reply.events))))
            self._seq += 1
            call = session.get(CallSession, self.call_id)
            call.state = self.engine.state.to_dict()
            if any(f["level"] == "red" for f in self.engine.state.flags):
                # A red flag reaches the nurse queue at once, not when the call ends.
                self._sync_flags(session, call)
                self._sync_review_item(session, call, None)
            session.commit()
        if reply.done:
            self.finish()

    def _sync_flags(self, session: Session, call: CallSession) -> None:
        stored = {(f.level, f.code) for f in session.scalars(select(Flag).where(Flag.call_id == call.id))}
        for flag in self.engine.state.flags:
            if (flag["level"], flag["code"]) not in stored:
                session.add(Flag(call_id=call.id, patient_id=call.patient_id, level=flag["level"], code=flag["code"],
                                 reason=flag["reason"][:500], evidence=flag["evidence"], source=flag.get("source", "rule")))

    def _sync_review_item(self, session: Session, call: CallSession, outcome: dict[str, Any] | None) -> None:
        flags = self.engine.state.flags
        levels = {f["level"] for f in flags}
        if "red" in levels:
            level = "red"
        elif "yellow" in levels:
            level = "yellow"
        elif outcome is not None and outcome.get("needs_callback"):
            level = "task"
        else:
            return
        reasons = "; ".join(f"{f['level']}: {f['reason']}" for f in flags) or _task_reason(outcome)
        item = session.scalar(select(ReviewItem).where(ReviewItem.call_id == call.id))
        if item is None:
            session.add(ReviewItem(call_id=call.id, patient_id=call.patient_id, ward_id=call.ward_id,
                                   priority=_PRIORITY[level], level=level, reason=reasons[:500]))
        elif item.priority > _PRIORITY[level] or item.reason != reasons[:500]:
            item.priority = min(item.priority, _PRIORITY[level])
            item.level = level if _PRIORITY[level] <= _PRIORITY.get(item.level, 2) else item.level
            item.reason = reasons[:500]
            item.updated_at = utcnow()


def _task_reason(outcome: dict[str, Any] | None) -> str:
    if outcome and outcome.get("unclear_fields"):
        return reason("task_unclear", fields=", ".join(outcome["unclear_fields"]))
    if outcome and any(not q.get("answered") for q in outcome.get("questions") or []):
        return reason("task_question")
    if outcome and outcome.get("call_status") in ("partial", "failed"):
        return reason(f"task_call_{outcome['call_status']}")
    return reason("task_callback")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
