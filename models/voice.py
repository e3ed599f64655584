"""The voice pipeline the phone line uses: μ-law in → VAD → speech recognition; text → speech → μ-law out.

`VoicePipeline` is built once from settings (`Services.voice()`); the models load lazily on first
use and are shared by every call. All methods are blocking and thread-safe — api/phone.py runs the
slow ones (`transcribe`, `synthesize_phone`) in `asyncio.to_thread`; a line's `phone_decoder` and the
detector's `feed` take well under a millisecond per 20 ms frame and run inline (the Smart Turn
detector's `judge` does not: tens of milliseconds, run in a thread).

A call's prompts are known before it is dialled: `prefetch_phone` renders them into the phone-audio
cache on one background thread of lowered priority, so a turn synthesizes only what is new.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
import queue
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models import audio as audio_mod
from models.asr import SpeechRecognizer, Transcript
from models.priority import lower_this_thread
from models.tts import SpeechSynthesizer, result_cacheable
from models.turn import SmartTurnDetector, TurnModel
from models.vad import EndOfTurnDetector, SileroVad

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")
PHONE_RATE = audio_mod.PHONE_RATE
ASR_RATE = audio_mod.ASR_RATE
PEAK = 0.7  # synthesised speech is normalised to ≈ -3 dBFS peak before μ-law

# Sentence ends: Chinese 。！？ (and …), ASCII .!? followed by a space or the end (so 3.5 and
# e.g. "Dr.Smith" are not split); closing quotes/brackets stay with their sentence.
_SENTENCE_END = re.compile(r"""([。！？!?…]+|\.(?=[”’"'」』）)]*(?:\s|$)))([”’"'」』）)]*)""")
_ABBREVIATION = re.compile(r"\b(?:Dr|Mr|Mrs|Ms|Prof|St|No|vs|etc|e\.g|i\.e|approx|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.$",
                           re.IGNORECASE)
_CLAUSE_END = re.compile(r"([；;]+)")
_COMMA = re.compile(r"([，,、]+)")
MAX_CHARS = {"zh": 40, "en": 160}
# Where a sentence's first clause ends: Chinese punctuation anywhere, ASCII only before a space (so
# 1,000 and 8:30 stay whole). A first clause shorter than MIN_HEAD is not worth its own synthesis.
_FIRST_CLAUSE_END = re.compile(r"[，、；：]|[,;:](?=\s)")
MIN_HEAD = {"zh": 4, "en": 12}


@dataclass(frozen=True)
class PrefetchReport:
    """What one `prefetch_phone` did with a call's prompts (counted in sentences)."""

    sentences: int      # distinct sentences of the texts
    cached: int         # already in the phone-audio cache
    rendered: int       # synthesized now
    skipped: int        # over the budget, or not cacheable (a stand-in voice spoke)
    seconds: float


def split_sentences(text: str, language: str, *, max_chars: int | None = None) -> list[str]:
    """Text → pieces to synthesise one by one: sentences; long ones split at ；/; then at commas."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language '{language}'; valid: {', '.join(LANGUAGES)}")
    limit = max_chars or MAX_CHARS[language]
    pieces: list[str] = []
    for line in re.split(r"[\r\n]+", text or ""):
        for sentence in _merge_abbreviations(_split_keep(line, _SENTENCE_END)):
            if len(sentence) <= limit:
                pieces.append(sentence)
                continue
            for clause in _split_keep(sentence, _CLAUSE_END):
                if len(clause) <= limit:
                    pieces.append(clause)
                else:
                    pieces.extend(_pack(_split_keep(clause, _COMMA), limit, language))
    return [p for p in pieces if re.search(r"\w", p)]


def first_clause(sentence: str, language: str) -> list[str]:
    """A sentence that must be synthesized while the patient waits, as [its first clause, the rest]:
    the first clause is spoken while the rest is synthesized (one piece if it has no clause worth it)."""
    for match in _FIRST_CLAUSE_END.finditer(sentence):
        head, rest = sentence[:match.end()].strip(), sentence[match.end():].strip()
        if len(head) >= MIN_HEAD[language] and re.search(r"\w", rest):
            return [head, rest]
    return [sentence]


def _split_keep(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Split after each match of `pattern`, keeping the delimiter with the piece before it."""
    out: list[str] = []
    start = 0
    for match in pattern.finditer(text):
        piece = text[start:match.end()].strip()
        if piece:
            out.append(piece)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def _merge_abbreviations(parts: list[str]) -> list[str]:
    merged: list[str] = []
    for part in parts:
        if merged and _ABBREVIATION.search(merged[-1]):
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged


def _pack(parts: list[str], limit: int, language: str) -> list[str]:
    """Re-join comma-split parts greedily up to `limit` characters (no one-word fragments)."""
    joiner = "" if language == "zh" else " "
    packed: list[str] = []
    for part in parts:
        if packed and len(packed[-1]) + len(joiner) + len(part) <= limit:
            packed[-1] = packed[-1] + joiner + part
        else:
            packed.append(part)
    return packed


class VoicePipeline:
    """Speech in and out for phone calls; models are loaded on first use."""

    def __init__(self, settings: Any = None, *, recognizer: SpeechRecognizer | None = None,
                 synthesizer: SpeechSynthesizer | None = None, vad: SileroVad | None = None,
                 turn_model: TurnModel | None = None, phone_cache_items: int = 1024) -> None:
        self.settings = settings
        self._recognizer = recognizer
        self._synthesizer = synthesizer
        self._vad = vad
        self._turn_model = turn_model
        self._turn_model_failed = False
        self._turn_lock = threading.Lock()
        self._prefetch_jobs: queue.SimpleQueue[tuple[Future[PrefetchReport], list[str], str, int]] | None = None
        # Separate locks: loading Whisper (a second or two) must not hold up speech synthesis or the
        # phone-audio cache of calls already in progress.
        self._asr_lock = threading.Lock()
        self._tts_lock = threading.Lock()
        self._vad_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._phone_cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._phone_cache_items = phone_cache_items
        self._in_flight = 0     # transcriptions running or waiting for the recogniser
        self._in_flight_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> VoicePipeline:
        return cls(settings)

    # lazily built parts
    def recognizer(self) -> SpeechRecognizer:
        with self._asr_lock:
            if self._recognizer is None:
                from models.asr import build_recognizer

                self._recognizer = build_recognizer(self._require_settings())
            return self._recognizer

    def synthesizer(self) -> SpeechSynthesizer:
        with self._tts_lock:
            if self._synthesizer is None:
                from models.tts import build_synthesizer

                self._synthesizer = build_synthesizer(self._require_settings())
            return self._synthesizer

    def vad(self) -> SileroVad:
        with self._vad_lock:
            if self._vad is None:
                from models.vad import shared_vad

                self._vad = shared_vad()
            return self._vad

    def turn_model(self) -> TurnModel | None:
        """The end-of-turn model (models.turn.backend smart-turn), or None when it is off or cannot
        load — then turns end after a fixed silence, as before it existed."""
        with self._turn_lock:
            if self._turn_model is None and not self._turn_model_failed:
                if self.settings is None or self.settings.models.turn.backend != "smart-turn":
                    self._turn_model_failed = True
                    return None
                try:
                    from models.turn import load_turn_model

                    self._turn_model = load_turn_model(self.settings)
                except Exception as exc:  # noqa: BLE001 - any load failure: the silence rule
                    self._turn_model_failed = True
                    log.error("end-of-turn model did not load (%s: %s); turns end after a fixed silence",
                              exc.__class__.__name__, exc)
            return self._turn_model

    def warm_up(self) -> None:
        """Load every model now (e.g. at service start) instead of during the first call."""
        self.vad()
        self.turn_model()
        self.recognizer()
        warm_up = getattr(self.synthesizer(), "warm_up", None)
        if warm_up is not None:  # e.g. load the Kokoro model now, not on the first prompt
            warm_up()

    def _require_settings(self) -> Any:
        if self.settings is None:
            raise RuntimeError("VoicePipeline was built without settings and without this model")
        return self.settings

    # audio in
    def phone_decoder(self) -> Callable[[bytes], np.ndarray]:
        """A fresh decoder for one line: each phone frame (8 kHz μ-law) → 16 kHz float32 for the
        detector and recogniser, resampled as one stream (models.audio.PhoneDecoder)."""
        return audio_mod.PhoneDecoder()

    def end_of_turn_detector(self, silence_ms: int = 700, *, threshold: float = 0.5, min_speech_ms: int = 150,
                             pause_ms: int | None = None, max_silence_ms: int = 2500,
                             complete_probability: float = 0.5, settle_ms: int = 0) -> EndOfTurnDetector:
        """A fresh detector for one call (they share the loaded models). With `pause_ms` and an
        end-of-turn model, a SmartTurnDetector (`silence_ms` is its fallback); else the fixed
        `silence_ms` rule. `settle_ms`: when the turn's early recognition may start (0: never)."""
        model = self.turn_model() if pause_ms is not None else None
        if model is None:
            return EndOfTurnDetector(silence_ms=silence_ms, threshold=threshold, min_speech_ms=min_speech_ms,
                                     settle_ms=settle_ms, vad=self.vad())
        return SmartTurnDetector(model, pause_ms=pause_ms, max_silence_ms=max_silence_ms,
                                 complete_probability=complete_probability, fallback_silence_ms=silence_ms,
                                 threshold=threshold, min_speech_ms=min_speech_ms, settle_ms=settle_ms,
                                 vad=self.vad())

    def transcribe(self, audio16k: np.ndarray, language: str, *, context: str | None = None) -> Transcript:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language '{language}'; valid: {', '.join(LANGUAGES)}")
        with self._in_flight_lock:
            self._in_flight += 1
        try:
            return self.recognizer().transcribe(audio16k, language, context=context)
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1

    @property
    def transcriptions_in_flight(self) -> int:
        """Transcriptions running or queued for the recogniser (one decodes at a time)."""
        return self._in_flight

    # audio out
    def sentences(self, text: str, language: str) -> list[str]:
        return split_sentences(text, language)

    def first_clause(self, sentence: str, language: str) -> list[str]:
        return first_clause(sentence, language)

    def synthesize(self, text: str, language: str) -> tuple[np.ndarray, int]:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language '{language}'; valid: {', '.join(LANGUAGES)}")
        return self.synthesizer().synthesize(text, language)

    def cached_phone(self, text: str, language: str) -> bytes | None:
        """The phone audio of `text` if it is in the cache (no synthesis)."""
        key = (language, " ".join(text.split()))
        with self._cache_lock:
            cached = self._phone_cache.get(key)
            if cached is not None:
                self._phone_cache.move_to_end(key)
            return cached

    def synthesize_phone(self, text: str, language: str) -> bytes:
        """Text → 8 kHz μ-law bytes, ready to be cut into 20 ms (160-byte) media frames."""
        key = (language, " ".join(text.split()))
        cached = self.cached_phone(text, language)
        if cached is not None:
            return cached
        audio, rate = self.synthesize(text, language)
        cacheable = result_cacheable(self.synthesizer())  # not a stand-in voice's audio (see models/tts.py)
        pcm = audio_mod.resample(audio, rate, PHONE_RATE)
        peak = float(np.abs(pcm).max()) if pcm.size else 0.0
        if peak > 1e-4:
            pcm = pcm * (PEAK / peak)
        mulaw = audio_mod.float_to_mulaw(pcm)
        if not cacheable:
            return mulaw
        with self._cache_lock:
            self._phone_cache[key] = mulaw
            while len(self._phone_cache) > self._phone_cache_items:
                self._phone_cache.popitem(last=False)
        return mulaw

    def prefetch_phone(self, texts: list[str], language: str, *, max_sentences: int) -> Future[PrefetchReport]:
        """Render the sentences of `texts` (in order, at most `max_sentences` new ones) into the
        phone-audio cache on the background thread; the future gives what was done."""
        sentences = list(dict.fromkeys(s for text in texts for s in self.sentences(text, language)))
        future: Future[PrefetchReport] = Future()
        with self._cache_lock:
            if self._prefetch_jobs is None:
                self._prefetch_jobs = queue.SimpleQueue()
                # A daemon thread, stopped at exit after the sentence in hand: work rendered ahead is
                # not worth holding up the process's exit, and the model must not be torn down under it.
                worker = threading.Thread(target=self._prefetch_worker, args=(self._prefetch_jobs,),
                                          name="suifang-prefetch", daemon=True)
                worker.start()
                _PREFETCH_THREADS.append(worker)
            self._prefetch_jobs.put((future, sentences, language, max_sentences))
        return future

    def _prefetch_worker(self, jobs: queue.SimpleQueue) -> None:
        lower_this_thread()
        while not _PREFETCH_STOP.is_set():
            try:
                future, sentences, language, max_sentences = jobs.get(timeout=0.5)
            except queue.Empty:
                continue
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._prefetch(sentences, language, max_sentences))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(exc)

    def _prefetch(self, sentences: list[str], language: str, max_sentences: int) -> PrefetchReport:
        began = time.monotonic()
        cached = rendered = skipped = 0
        for sentence in sentences:
            if self.cached_phone(sentence, language) is not None:
                cached += 1
            elif rendered >= max_sentences or _PREFETCH_STOP.is_set():
                skipped += 1
            else:
                self.synthesize_phone(sentence, language)
                if self.cached_phone(sentence, language) is None:
                    skipped += 1     # a stand-in voice spoke it: nothing was kept
                else:
                    rendered += 1
        report = PrefetchReport(sentences=len(sentences), cached=cached, rendered=rendered, skipped=skipped,
                                seconds=time.monotonic() - began)
        log.info("prompts prepared: %d sentences, %d already cached, %d rendered in %.1f s, %d left",
                 report.sentences, report.cached, report.rendered, report.seconds, report.skipped)
        return report

    # storage
    def write_wav(self, path: str | Path, audio: np.ndarray, rate: int) -> Path:
        return audio_mod.write_wav(path, audio, rate)


_PREFETCH_STOP = threading.Event()
_PREFETCH_THREADS: list[threading.Thread] = []


@atexit.register
def _stop_prefetching() -> None:
    _PREFETCH_STOP.set()
    for worker in _PREFETCH_THREADS:
        worker.join(timeout=30)


