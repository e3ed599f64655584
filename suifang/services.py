"""The composition root: the service's long-lived parts, built once from config.yaml for the API, the CLI
and the campaign workers (the one place that wires models, knowledge, dialogs and records together).

Models load lazily on first use (loading the LLM takes seconds and hundreds of MB; a service
that only lists patients should not pay for it) and are shared across requests.

Every part is typed with its backend's protocol or class (models.llm.LanguageModel, models.asr.SpeechRecognizer,
models.tts.SpeechSynthesizer, models.embeddings.Embedder, knowledge.retrieval.KnowledgeBase, …). Those
modules are imported for type checking only: importing this module loads no model code, and the
layers below never import it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Literal, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from records.db import make_engine, make_session_factory
from suifang.config import Settings

if TYPE_CHECKING:
    from api.phone import PhoneOptions
    from api.structuring import StructuringWorkers
    from dialogs.context import CallContext
    from dialogs.engine import AnswerResult, FieldFallback, QuestionAnswerer
    from dialogs.flows import FlowLibrary
    from dialogs.runner import AnswererFactory, CallRunner
    from dialogs.second_reader import SecondReader
    from knowledge.retrieval import KnowledgeBase
    from language.semantic import SemanticMatcher
    from models.asr import SpeechRecognizer
    from models.embeddings import Embedder
    from models.llm import LanguageModel, Messages
    from models.tts import SpeechSynthesizer
    from models.voice import VoicePipeline

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    flows: FlowLibrary
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _llm: LanguageModel | None = None
    _embedder: Embedder | None = None
    _knowledge_base: KnowledgeBase | None = None
    _voice: VoicePipeline | None = None
    _semantic: SemanticMatcher | Literal[False] | None = None  # False: tried and unavailable
    active_calls: dict[int, CallRunner] = field(default_factory=dict)  # call id -> the call's runner (this process)
    _structuring: StructuringWorkers | None = None
    _indexer: ThreadPoolExecutor | None = None

    @classmethod
    def build(cls, settings: Settings) -> Services:
        from dialogs.flows import load_flows

        flows = load_flows()  # a broken flow file stops startup, not a patient's call
        rules = settings.clinical_rules()  # so does a broken clinical rule table or an unknown threshold override
        log.info("clinical rules v%s (%s, sha256 %s…)%s", rules.version, rules.source, rules.sha256[:12],
                 f"; thresholds overridden: {', '.join(sorted(rules.overridden))}" if rules.overridden else "")
        engine = make_engine(settings.database.url, echo=settings.database.echo)
        return cls(settings=settings, engine=engine, session_factory=make_session_factory(engine), flows=flows)

    def language_model(self) -> LanguageModel:
        """The configured language model (a DisabledModel when backend is off)."""
        with self._lock:
            if self._llm is None:
                from models.llm import build_language_model

                self._llm = build_language_model(self.settings)
            return self._llm

    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                from models.embeddings import build_embedder

                self._embedder = build_embedder(self.settings)
            return self._embedder

    def knowledge_base(self) -> KnowledgeBase:
        embedder = self.embedder()
        with self._lock:
            if self._knowledge_base is None:
                from knowledge.retrieval import KnowledgeBase

                self._knowledge_base = KnowledgeBase(
                    persist_dir=self.settings.resolve_path(self.settings.knowledge.chroma_dir), embedder=embedder,
                    retrieval_k=self.settings.knowledge.retrieval_k)
            return self._knowledge_base

    def answerer_factory(self) -> AnswererFactory | None:
        """Grounded answers for calls; without a knowledge base every question goes to a nurse."""
        from dialogs.answering import make_answerer_factory

        try:
            knowledge_base = self.knowledge_base()
        except Exception:  # noqa: BLE001
            log.exception("knowledge base unavailable: questions will be handed to nurses")
            return None
        factory = make_answerer_factory(session_factory=self.session_factory, knowledge_base=knowledge_base,
                                        llm=self.answer_model())
        return budgeted_answerer_factory(factory, budget_s=self.settings.knowledge.answer_budget_s)

    def answer_model(self) -> BudgetedModel | None:
        """The model that may rephrase grounded answers, when configured to, held to
        knowledge.answer_llm_timeout_s per reply (then the rules answer is used)."""
        if not self.settings.knowledge.answers_use_llm:
            return None
        llm = self.language_model_or_none()
        return None if llm is None else BudgetedModel(llm, budget_s=self.settings.knowledge.answer_llm_timeout_s)

    def index_later(self, work: Callable[[], object]) -> Future[object]:
        """Run retrieval indexing (embedding order items: seconds per long item on a CPU) on one
        background thread, so a request can answer before it ends; close() waits for what is queued."""
        with self._lock:
            if self._indexer is None:
                self._indexer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="suifang-index")
            return self._indexer.submit(work)

    def structuring_workers(self) -> StructuringWorkers:
        """Worker processes that structure order texts under a hard time bound (api/structuring.py)."""
        with self._lock:
            if self._structuring is None:
                from api.structuring import StructuringWorkers

                self._structuring = StructuringWorkers(max_workers=2)
            return self._structuring

    def language_model_or_none(self) -> LanguageModel | None:
        if self.settings.models.llm.backend == "off":
            return None
        try:
            return self.language_model()
        except Exception:  # noqa: BLE001 - the service keeps working on rules when the model is broken
            log.exception("language model unavailable; continuing with rules only")
            return None

    def llm_fallback(self) -> FieldFallback | None:
        if not self.settings.dialog.use_llm_fallback:
            return None
        llm = self.language_model_or_none()
        if llm is None:
            return None
        from dialogs.llm_fallback import make_llm_fallback

        return make_llm_fallback(BudgetedModel(llm, budget_s=self.settings.dialog.llm_timeout_s))

    def second_reader(self) -> SecondReader | None:
        """The language model reading each finished call's transcript (dialogs.second_reader), or None."""
        if not self.settings.dialog.second_reader:
            return None
        llm = self.language_model_or_none()
        if llm is None:
            return None
        from dialogs.second_reader import make_second_reader

        return make_second_reader(llm, rules=self.settings.clinical_rules(),
                                  timeout_s=self.settings.dialog.second_reader_timeout_s)

    def semantic_matcher(self) -> SemanticMatcher | None:
        """Nearest labelled phrasings over the embeddings (language.semantic), or None when off or broken."""
        cfg = self.settings.dialog.semantic
        if not cfg.enabled:
            return None
        with self._lock:
            known = self._semantic
        if known is not None:
            return known or None
        matcher: SemanticMatcher | Literal[False]
        try:
            from language.semantic import SemanticMatcher, SemanticOptions

            matcher = SemanticMatcher(self.embedder(), options=SemanticOptions(
                symptom_threshold=cfg.symptom_threshold, answer_threshold=cfg.answer_threshold,
                answer_margin=cfg.answer_margin), cache_dir=self.settings.resolve_path(self.settings.service.data_dir) / "cache")
            matcher.matrix()  # embed the bank now, not in a patient's turn
        except Exception:  # noqa: BLE001 - rules carry the call without embeddings
            log.exception("semantic matching unavailable; continuing with rules only")
            matcher = False
        with self._lock:
            self._semantic = matcher
        return matcher or None

    def warm(self) -> None:
        """Load now what a text call and a question need (embeddings and retrieval, the phrase bank,
        the language model), so the first call after a start does not wait for it (the phrase bank is
        embedded on a first start: tens of seconds on a CPU). Run in a thread at start; a part that
        fails is logged, as on first use."""
        started = time.monotonic()
        try:
            self.answerer_factory()
            self.llm_fallback()
            self.second_reader()
            self.semantic_matcher()
            llm = self.language_model_or_none()
            warm_up = getattr(llm, "warm_up", None)
            if warm_up is not None:
                warm_up()
        except Exception:  # noqa: BLE001 - the parts load again on first use
            log.exception("warming the models failed; they load on first use")
            return
        log.info("models ready for calls in %.1f s", time.monotonic() - started)
        if not self.settings.service.warm_voice:
            return
        try:
            # The recogniser, end-of-turn and voice models: otherwise the first phone call after a start
            # waits about a second on its first answer while Whisper loads (bench_capacity).
            self.voice().warm_up()
        except Exception:  # noqa: BLE001 - each loads again on first use, with its own fallback
            log.exception("warming the voice models failed; they load on the first call")
            return
        log.info("voice models ready in %.1f s", time.monotonic() - started)

    def voice(self) -> VoicePipeline:
        """The voice pipeline of phone calls (models inside load on first use)."""
        with self._lock:
            if self._voice is None:
                from models.voice import VoicePipeline

                self._voice = VoicePipeline.from_settings(self.settings)
            return self._voice

    def recognizer(self) -> SpeechRecognizer:
        """The speech recogniser of the voice pipeline (loaded on first use)."""
        return self.voice().recognizer()

    def synthesizer(self) -> SpeechSynthesizer:
        """The speech synthesiser of the voice pipeline (loaded on first use)."""
        return self.voice().synthesizer()

    def phone_options(self) -> PhoneOptions:
        """Timings of the phone line, from config.yaml's `phone:` section."""
        from campaigns.call_session import PhoneOptions

        return PhoneOptions(**self.settings.phone.model_dump())

    def close(self) -> None:
        from dialogs.runner import POST_CALL_WORK

        # The second readers of calls just ended first: their additions are written, and the model is
        # released only when no generation runs in it.
        still_running = POST_CALL_WORK.wait(self.settings.models.llm.timeout_s + 5)
        if still_running:
            log.warning("%d second readers still running at shutdown; their additions are lost", still_running)
        elif self._llm is not None and hasattr(self._llm, "close"):
            self._llm.close()
        if self._indexer is not None:
            self._indexer.shutdown(wait=True)
        if self._structuring is not None:
            self._structuring.close()
        self.engine.dispose()


def run_within(budget_s: float, work: Callable[[], T], *, name: str = "suifang-budget") -> T:
    """work() in a daemon thread (bind its arguments with functools.partial); its result, or
    TimeoutError after budget_s (the work runs out in the background)."""
    values: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            values.append(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    worker.join(budget_s)
    if worker.is_alive():
        raise TimeoutError(f"no result within {budget_s:g} s")
    if errors:
        raise errors[0]
    return values[0]


def budgeted_answerer_factory(factory: AnswererFactory, *, budget_s: float) -> AnswererFactory:
    """A call's question answerer held to budget_s per question: past it the dialog engine hands the
    question to a nurse (it treats an answerer's exception so), instead of the patient waiting."""

    def budgeted(context: CallContext) -> QuestionAnswerer:
        answer = factory(context)

        def within_budget(question: str, language: str) -> AnswerResult:
            return run_within(budget_s, partial(answer, question, language), name="suifang-answer")

        return within_budget

    return budgeted


class BudgetedModel:
    """A language model held to a time budget per reply: past it the caller gets LLMUnavailable and
    takes its rule-based path (a rules answer, "a nurse will call you back"), while the generation
    runs out in the background under the model's own timeout_s. The request does not wait for it."""

    def __init__(self, model: LanguageModel, *, budget_s: float) -> None:
        self.model = model
        self.budget_s = budget_s
        self.name: str = getattr(model, "name", "model")

    def generate(self, messages: Messages, *, max_tokens: int | None = None, json_mode: bool = False,
                 timeout_s: float | None = None) -> str:
        from models.llm import LLMUnavailable

        try:
            return run_within(self.budget_s, partial(self.model.generate, messages, max_tokens=max_tokens,
                                                     json_mode=json_mode, timeout_s=timeout_s),
                              name="suifang-llm-budget")
        except TimeoutError:
            log.warning("language model %s gave no reply within %.1f s; using the rules", self.name, self.budget_s)
            raise LLMUnavailable(f"no reply within the {self.budget_s:g} s budget") from None
