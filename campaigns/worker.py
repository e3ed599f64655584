"""Workers: one try of a scheduled call, start to end, and the dispatcher tick that claims due calls.

The same `run_attempt` runs in the embedded in-process pool (no extra server) and in Celery worker
processes (campaigns/celery_app.py); the backend is chosen once from `campaigns.workers`."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from campaigns.telephony import AttemptLost, Telephony, TelephonyError, build_telephony
from campaigns.windows import CallingPolicy
from records import campaigns as store
from records.campaigns import CallRequest
from records.schema import utcnow

if TYPE_CHECKING:
    from dialogs.engine import FieldFallback
    from dialogs.flows import FlowLibrary
    from dialogs.runner import AnswererFactory
    from dialogs.second_reader import SecondReader
    from language.semantic import SemanticMatcher
    from suifang.config import Settings
    from suifang.services import Services

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    return f"{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class CampaignContext:
    session_factory: sessionmaker[Session]
    settings: Settings
    flows: FlowLibrary
    policy: CallingPolicy
    telephony: Telephony
    worker_id: str = field(default_factory=new_worker_id)
    clock: Callable[[], dt.datetime] = utcnow
    answerer_factory: AnswererFactory | None = None
    llm_fallback: FieldFallback | None = None
    semantic: SemanticMatcher | None = None
    second_reader: SecondReader | None = None
    prepare_prompts: Callable[[CallRequest], object] | None = None  # render a voice call's script before dialling

    @classmethod
    def from_services(cls, services: Services, *, telephony: Telephony | None = None,
                      clock: Callable[[], dt.datetime] = utcnow, answer_questions: bool = True) -> CampaignContext:
        from campaigns.prompts import prepare_call_prompts

        voice_line = services.settings.campaigns.telephony != "loopback"  # the loopback patient answers by text
        return cls(session_factory=services.session_factory, settings=services.settings, flows=services.flows,
                   policy=CallingPolicy.from_settings(services.settings),
                   telephony=telephony or build_telephony(services.settings, services=services), clock=clock,
                   answerer_factory=services.answerer_factory() if answer_questions else None,
                   llm_fallback=services.llm_fallback(), semantic=services.semantic_matcher(),
                   second_reader=services.second_reader(),
                   prepare_prompts=partial(prepare_call_prompts, services) if voice_line else None)


class _WorkerLine:
    """The CallLine of one try: opens (or resumes) the call record and renews the lease."""

    def __init__(self, ctx: CampaignContext, request: CallRequest) -> None:
        self.ctx, self.request = ctx, request

    def open_runner(self, channel: str = "loopback") -> Any:
        from dialogs.runner import CallRunner

        ctx, req = self.ctx, self.request
        if req.resume_call_id:
            return CallRunner.resume(session_factory=ctx.session_factory, flows=ctx.flows, settings=ctx.settings,
                                     call_id=req.resume_call_id, answerer_factory=ctx.answerer_factory,
                                     llm_fallback=ctx.llm_fallback, call_date=req.call_date, semantic=ctx.semantic,
                                     second_reader=ctx.second_reader)
        return CallRunner.open(session_factory=ctx.session_factory, flows=ctx.flows, settings=ctx.settings,
                               patient_id=req.patient_id, discharge_id=req.discharge_id, channel=channel,
                               call_date=req.call_date, scheduled_call_id=req.scheduled_call_id,
                               answerer_factory=ctx.answerer_factory, llm_fallback=ctx.llm_fallback,
                               language=req.language, semantic=ctx.semantic, second_reader=ctx.second_reader)

    def heartbeat(self, call_id: int | None = None) -> None:
        with self.ctx.session_factory() as session:
            alive = store.renew_lease(session, key=self.request.key, worker_id=self.ctx.worker_id,
                                      now=self.ctx.clock(), policy=self.ctx.policy, call_id=call_id)
        if not alive:
            raise AttemptLost(self.request.key)


def run_attempt(ctx: CampaignContext, *, key: str) -> str | None:
    """Place one claimed try and record how it ended. Returns the decision (retry | unreached | done |
    placed), or None when the try was not this worker's to run (duplicate delivery, recovered)."""
    with ctx.session_factory() as session:
        request = store.start_attempt(session, key=key, worker_id=ctx.worker_id, now=ctx.clock(), policy=ctx.policy)
    if request is None:
        log.info("try %s is not waiting to start; skipped", key)
        return None
    if ctx.prepare_prompts is not None:
        try:
            ctx.prepare_prompts(request)   # returns at once; the audio is rendered while the phone rings
        except Exception:  # noqa: BLE001 - the call goes on: its prompts are synthesized as they come
            log.exception("rendering try %s's prompts ahead failed", key)
    try:
        result = ctx.telephony.place_call(request, line=_WorkerLine(ctx, request))
    except AttemptLost:
        log.warning("try %s was recovered while this worker still held it; stopped", key)
        return None
    except TelephonyError as exc:
        log.warning("try %s could not be placed: %s", key, exc)
        with ctx.session_factory() as session:
            return store.record_result(session, key=key, call_status="failed", now=ctx.clock(), policy=ctx.policy,
                                       retryable=True)
    with ctx.session_factory() as session:
        if result.call_status is None:
            store.mark_placed(session, key=key, worker_id=ctx.worker_id, telephony_sid=result.telephony_sid,
                              now=ctx.clock(), policy=ctx.policy)
            return "placed"
        return store.record_result(session, key=key, call_status=result.call_status, now=ctx.clock(),
                                   policy=ctx.policy, call_id=result.call_id, telephony_sid=result.telephony_sid)


def close_recovered(ctx: CampaignContext, recovered: store.RecoveredAttempt) -> None:
    """A lost try with no tries left: its cut-off call ends as partial (answers kept, nurse task)."""
    from dialogs.runner import CallRunner

    if recovered.call_id is None:
        return
    runner = CallRunner.resume(session_factory=ctx.session_factory, flows=ctx.flows, settings=ctx.settings,
                               call_id=recovered.call_id)
    if not runner.done:
        runner.hangup()


# ----- queues: where claimed tries run --------------------------------------------------------------

class AttemptQueue(Protocol):
    def submit(self, keys: list[str]) -> None: ...
    def close(self) -> None: ...


class InProcessQueue:
    """The embedded default: a thread pool in this process runs the tries."""

    def __init__(self, ctx: CampaignContext, *, threads: int) -> None:
        self.ctx = ctx
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="campaign")
        self._pending: set[Any] = set()
        self._lock = threading.Lock()

    def submit(self, keys: list[str]) -> None:
        for key in keys:
            future = self.pool.submit(self._run, key)
            with self._lock:
                self._pending.add(future)
            future.add_done_callback(self._done)

    def _run(self, key: str) -> None:
        try:
            run_attempt(self.ctx, key=key)
        except Exception:  # noqa: BLE001 - one broken try must not stop the pool; its lease expires
            log.exception("try %s failed", key)

    def _done(self, future: Any) -> None:
        with self._lock:
            self._pending.discard(future)

    def wait(self) -> None:
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return
            for future in pending:
                future.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True)


class CeleryQueue:
    """Tries go to Celery workers through the broker (Redis); only the task name crosses."""

    def __init__(self, *, broker_url: str) -> None:
        from campaigns.celery_app import make_celery

        self.app = make_celery(broker_url)

    def submit(self, keys: list[str]) -> None:
        from campaigns.celery_app import RUN_ATTEMPT

        for key in keys:
            self.app.send_task(RUN_ATTEMPT, args=[key])

    def close(self) -> None:
        self.app.close()


def build_queue(ctx: CampaignContext) -> AttemptQueue:
    c = ctx.settings.campaigns
    if c.workers == "celery":
        return CeleryQueue(broker_url=c.broker_url)
    return InProcessQueue(ctx, threads=c.inprocess_threads)


# ----- the dispatcher -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TickReport:
    recovered: int
    cancelled: int
    dispatched: int


def dispatch_tick(ctx: CampaignContext, queue: AttemptQueue, *, batch: int | None = None) -> TickReport:
    """Sweep lost tries, cancel refused patients' calls, claim due calls (at most `batch` waiting to
    start at any time, so a queued try does not outlive its lease), hand them to the queue."""
    now = ctx.clock()
    batch = batch or ctx.settings.campaigns.dispatch_batch
    with ctx.session_factory() as session:
        recovered = store.recover_expired(session, now=now, policy=ctx.policy)
    for item in recovered:
        if item.final:
            close_recovered(ctx, item)
    with ctx.session_factory() as session:
        cancelled = store.cancel_refused(session)
        room = batch - store.queued_attempts(session)
        channels = getattr(ctx.telephony, "max_channels", None)
        if channels is not None:
            # A trunk carries so many calls at once: never claim a try it has no line for.
            room = min(room, channels - store.live_attempts(session))
        tickets = store.claim_due_calls(session, policy=ctx.policy, now=now, worker_id=ctx.worker_id, limit=room)
    queue.submit([t.key for t in tickets])
    return TickReport(recovered=len(recovered), cancelled=cancelled, dispatched=len(tickets))
