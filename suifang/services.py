"""The composition root: the service's long-lived parts, built once from config.yaml for the API, the CLI
and the campaign workers (the one place that wires models, knowledge, dialogs and records together).

Models load lazily on first use (loading the LLM takes seconds and hundreds of MB; a service
that only lists patients should not pay for it) and are shared across requests."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from records.db import make_engine, make_session_factory
from suifang.config import Settings

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _llm: Any = None
    _embedder: Any = None
    _knowledge_base: Any = None
    _voice: Any = None
    _semantic: Any = None
    flows: Any = None
    active_calls: dict[int, Any] = field(default_factory=dict)  # call id -> CallRunner (this process)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        from dialogs.flows import load_flows

        flows = load_flows()  # a broken flow file stops startup, not a patient's call
        engine = make_engine(settings.database.url, echo=settings.database.echo)
        return cls(settings=settings, engine=engine, session_factory=make_session_factory(engine), flows=flows)

    def language_model(self) -> Any:
        """The configured language model (a DisabledModel when backend is off)."""
        with self._lock:
            if self._llm is None:
                from models.llm import build_language_model

                self._llm = build_language_model(self.settings)
            return self._llm

    def embedder(self) -> Any:
        with self._lock:
            if self._embedder is None:
                from models.embeddings import build_embedder

                self._embedder = build_embedder(self.settings)
            return self._embedder

    def knowledge_base(self) -> Any:
        embedder = self.embedder()
        with self._lock:
            if self._knowledge_base is None:
                from knowledge.retrieval import KnowledgeBase

                self._knowledge_base = KnowledgeBase(
                    persist_dir=self.settings.resolve_path(self.settings.knowledge.chroma_dir), embedder=embedder,
                    retrieval_k=self.settings.knowledge.retrieval_k)
            return self._knowledge_base

    def answerer_factory(self) -> Any:
        """Grounded answers for calls; without a knowledge base every question goes to a nurse."""
        from dialogs.answering import make_answerer_factory

        try:
            knowledge_base = self.knowledge_base()
        except Exception:  # noqa: BLE001
            log.exception("knowledge base unavailable: questions will be handed to nurses")
            return None
        return make_answerer_factory(session_factory=self.session_factory, knowledge_base=knowledge_base,
                                     llm=self.answer_model())

    def answer_model(self) -> Any:
        """The model that may rephrase grounded answers, when configured to."""
        return self.language_model_or_none() if self.settings.knowledge.answers_use_llm else None

    def language_model_or_none(self) -> Any:
        if self.settings.models.llm.backend == "off":
            return None
        try:
            return self.language_model()
        except Exception:  # noqa: BLE001 - the service keeps working on rules when the model is broken
            log.exception("language model unavailable; continuing with rules only")
            return None

    def llm_fallback(self) -> Any:
        if not self.settings.dialog.use_llm_fallback:
            return None
        llm = self.language_model_or_none()
        if llm is None:
            return None
        from dialogs.llm_fallback import make_llm_fallback

        return make_llm_fallback(llm)

    def second_reader(self) -> Any:
        """The language model reading each finished call's transcript (dialogs.second_reader), or None."""
        if not self.settings.dialog.second_reader:
            return None
        llm = self.language_model_or_none()
        if llm is None:
            return None
        from dialogs.second_reader import make_second_reader

        return make_second_reader(llm, thresholds=self.settings.dialog.flags)

    def semantic_matcher(self) -> Any:
        """Nearest labelled phrasings over the embeddings (language.semantic), or None when off or broken."""
        cfg = self.settings.dialog.semantic
        if not cfg.enabled:
            return None
        with self._lock:
            matcher = self._semantic
        if matcher is not None:
            return matcher or None
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

    def voice(self) -> Any:
        """The voice pipeline of phone calls (models inside load on first use)."""
        with self._lock:
            if self._voice is None:
                from models.voice import VoicePipeline

                self._voice = VoicePipeline.from_settings(self.settings)
            return self._voice

    def phone_options(self) -> Any:
        """Timings of the phone line, from config.yaml's `phone:` section."""
        from api.phone import PhoneOptions

        cfg = self.settings.phone
        return PhoneOptions(silence_timeout_s=cfg.silence_timeout_s, end_of_turn_silence_ms=cfg.end_of_turn_silence_ms,
                            max_utterance_s=cfg.max_utterance_s, voicemail_greeting_s=cfg.voicemail_greeting_s,
                            barge_in_min_speech_ms=cfg.barge_in_min_speech_ms)

    def close(self) -> None:
        self.engine.dispose()
