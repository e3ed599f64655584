"""Speech recognition: one small protocol, two Whisper backends over the same packaged weights.

- `FasterWhisperRecognizer` (default): CTranslate2, int8 on the CPU. Whisper base reads a 4 s
  Mandarin clip in ≈ 1–2.5 s on 2 cores.
- `OpenAIWhisperRecognizer`: the reference PyTorch implementation, loading a checkpoint converted
  once from the same CT2 weights (models/whisper_convert.py). Same words, 3–4× slower; kept for
  hospitals that standardise on openai-whisper and as a cross-check of the fast path.

Whisper traps handled here (shared/models.md): the language is always forced; Mandarin gets the
"以下是普通话的句子。" prompt (it pushes the decoder towards simplified characters and punctuation)
and any traditional characters left are converted to simplified with OpenCC; the previous window's
text is not fed back (`condition_on_previous_text=False`, it loops on short clips); silence is gated
by VAD before decoding, and segments Whisper itself marks as no-speech (no_speech_prob > 0.6 with a
low average log-probability) are dropped, because Whisper invents "thank you" / "谢谢观看" on silence;
so are segments that merely echo the prompt or loop (compression ratio > 2.4) on unclear audio.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from models.weights import enforce_offline

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
ZH_PROMPT = "以下是普通话的句子。"
BACKENDS = ("faster-whisper", "openai-whisper")


@dataclass(frozen=True)
class Transcript:
    text: str
    confidence: float           # 0–1: exp of the token-weighted mean avg_logprob of the kept segments
    language: str
    duration_s: float           # of the audio given
    dropped_segments: int = 0   # segments discarded as no-speech / hallucination


@dataclass(frozen=True)
class DecodeOptions:
    beam_size: int = 5
    # A decode that starts while another runs or waits (calls at once, see DecodeSlots) searches this
    # wide instead: greedy decoding costs ≈ 25 % less, and under load the wait is the latency.
    beam_size_queued: int = 1
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    vad_gate: bool = True
    window_s: float = 30.0   # encoder window (faster-whisper); a shorter clip is decoded in a shorter one

    def beam(self, *, queued: bool) -> int:
        return self.beam_size_queued if queued else self.beam_size


class DecodeSlots:
    """How many decodes run at once, and whether another one is running. With more than one slot,
    two calls' answers are decoded side by side (CTranslate2 workers) instead of one waiting for the
    other; a decode that starts while another runs is `contended` and searches greedily."""

    def __init__(self, slots: int = 1) -> None:
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots)
        self._count = threading.Lock()
        self._busy = 0

    @property
    def contended(self) -> bool:
        return self._busy > 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._count:
            self._busy += 1  # counted while waiting too: a queued decode is contended for those after it
        try:
            with self._free:
                yield
        finally:
            with self._count:
                self._busy -= 1


@runtime_checkable
class SpeechRecognizer(Protocol):
    name: str

    def transcribe(self, audio16k: np.ndarray, language: str, *, context: str | None = None) -> Transcript: ...


MAX_CONTEXT_CHARS = 160


def decoding_prompt(language: str, context: str | None) -> str | None:
    """Whisper's initial prompt: the Simplified-Chinese cue for zh, then the call's context (names
    the patient may say, the question just asked). Whisper reads the prompt as the text before the
    clip, so a short answer ("没有", "No.") or a drug name is heard as an answer to that question."""
    context = (context or "").strip()[-MAX_CONTEXT_CHARS:]
    if language == "zh":
        return ZH_PROMPT + context
    return context or None


def check_language(language: str) -> str:
    from faster_whisper.tokenizer import _LANGUAGE_CODES  # the languages Whisper knows

    code = (language or "").strip().lower()
    if code not in _LANGUAGE_CODES:
        raise ValueError(f"unsupported language '{language}'; valid: zh, en (or another Whisper code)")
    return code


_OPENCC = None
_OPENCC_LOCK = threading.Lock()


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (OpenCC t2s, pure-Python package)."""
    global _OPENCC
    with _OPENCC_LOCK:
        if _OPENCC is None:
            from opencc import OpenCC

            _OPENCC = OpenCC("t2s")
        return _OPENCC.convert(text)


def join_segments(texts: list[str], language: str) -> str:
    parts = [t.strip() for t in texts if t and t.strip()]
    if language in ("zh", "ja", "yue"):
        text = "".join(parts)
        return re.sub(r"(?<=[\u4e00-\u9fff，。！？、；：])\s+|\s+(?=[\u4e00-\u9fff，。！？、；：])", "", text)
    return " ".join(parts)


def _confidence(scored: list[tuple[float, int]]) -> float:
    """exp(mean avg_logprob) weighted by token count, clamped to [0, 1]."""
    total = sum(max(n, 1) for _, n in scored)
    if not total:
        return 0.0
    mean = sum(lp * max(n, 1) for lp, n in scored) / total
    return float(min(1.0, max(0.0, math.exp(mean))))


def _is_no_speech(no_speech_prob: float, avg_logprob: float, options: DecodeOptions) -> bool:
    return no_speech_prob > options.no_speech_threshold and avg_logprob < options.logprob_threshold


_PROMPT_CORE = re.sub(r"\W", "", ZH_PROMPT)
MAX_COMPRESSION_RATIO = 2.4  # Whisper's own threshold for "the decoder is looping"


def _is_hallucination(text: str, compression_ratio: float) -> bool:
    """A segment that only echoes the prompt, or repeats itself (河北河北河北…), is not speech."""
    core = re.sub(r"\W", "", text)
    if core and difflib.SequenceMatcher(None, core, _PROMPT_CORE).ratio() >= 0.8:
        return True
    return compression_ratio > MAX_COMPRESSION_RATIO


def _finish(texts: list[str], scored: list[tuple[float, int]], dropped: int, language: str,
            duration_s: float) -> Transcript:
    text = join_segments(texts, language)
    if language == "zh" and text:
        text = to_simplified(text)
    return Transcript(text=text, confidence=_confidence(scored) if text else 0.0, language=language,
                      duration_s=round(duration_s, 3), dropped_segments=dropped)


def _as_audio(audio16k: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio16k, dtype=np.float32).reshape(-1)
    if audio.size and not np.isfinite(audio).all():
        audio = np.nan_to_num(audio)
    return audio


class FasterWhisperRecognizer:
    """faster-whisper (CTranslate2, int8) over a CT2 Whisper directory."""

    name = "faster-whisper"

    def __init__(self, model_dir: str, *, threads: int = 2, options: DecodeOptions = DecodeOptions(),
                 compute_type: str = "int8", workers: int = 1) -> None:
        enforce_offline()
        from faster_whisper import WhisperModel

        started = time.perf_counter()
        self.model = WhisperModel(str(model_dir), device="cpu", compute_type=compute_type, cpu_threads=threads,
                                  num_workers=workers, local_files_only=True)
        self.options = options
        # Two workers on 2 cores: a decode's threads wait on memory part of the time, so two calls'
        # answers decoded side by side finish sooner than one after the other (bench_capacity).
        self.slots = DecodeSlots(workers)
        log.info("faster-whisper loaded from %s in %.1f s", model_dir, time.perf_counter() - started)

    def transcribe(self, audio16k: np.ndarray, language: str, *, context: str | None = None) -> Transcript:
        language = check_language(language)
        audio = _as_audio(audio16k)
        duration = audio.size / SAMPLE_RATE
        if duration < 0.1:
            return Transcript("", 0.0, language, round(duration, 3))
        beam_size = self.options.beam(queued=self.slots.contended)
        with self.slots.hold(), _encoder_window(self.options.window_s, duration):
            segments, _info = self.model.transcribe(
                audio, language=language, task="transcribe", beam_size=beam_size,
                temperature=0.0, condition_on_previous_text=False,
                initial_prompt=decoding_prompt(language, context),
                vad_filter=self.options.vad_gate, without_timestamps=True,
                no_speech_threshold=self.options.no_speech_threshold,
                log_prob_threshold=self.options.logprob_threshold)
            kept, scored, dropped = [], [], 0
            for segment in segments:  # a generator: decoding happens while iterating
                if (_is_no_speech(segment.no_speech_prob, segment.avg_logprob, self.options) or not segment.text.strip()
                        or _is_hallucination(segment.text, segment.compression_ratio)):
                    dropped += 1
                    continue
                kept.append(segment.text)
                scored.append((segment.avg_logprob, len(segment.tokens)))
        return _finish(kept, scored, dropped, language, duration)


_WINDOW = threading.local()
_FRAMES_PER_SECOND = 100  # Whisper's log-mel frames


def _pad_or_trim_to_window(array: np.ndarray, length: int = 3000, *, axis: int = -1) -> np.ndarray:
    from faster_whisper.audio import pad_or_trim

    return pad_or_trim(array, getattr(_WINDOW, "frames", length), axis=axis)


@contextmanager
def _encoder_window(window_s: float, duration_s: float) -> Iterator[None]:
    """Decode a short clip in a short encoder window. faster-whisper pads every clip to Whisper's
    30 s; the encoder's cost grows faster than linearly with the window (here 750 ms for 30 s, 80 ms
    for 10 s on 2 cores), and a phone answer lasts a few seconds. A clip that does not fit with a
    second to spare keeps the native window."""
    import faster_whisper.transcribe as fw

    frames = 3000
    if window_s < 30 and duration_s + 1.0 <= window_s:
        frames = int(window_s * _FRAMES_PER_SECOND)
    if fw.pad_or_trim is not _pad_or_trim_to_window:
        fw.pad_or_trim = _pad_or_trim_to_window  # faster-whisper has no option for it (1.2.1)
    _WINDOW.frames = frames
    try:
        yield
    finally:
        _WINDOW.frames = 3000


class OpenAIWhisperRecognizer:
    """openai-whisper (PyTorch, fp32 on the CPU) over a checkpoint converted from the CT2 weights."""

    name = "openai-whisper"

    def __init__(self, checkpoint: str, *, threads: int = 2, options: DecodeOptions = DecodeOptions()) -> None:
        enforce_offline()
        import torch

        from models.whisper_convert import load_openai_model

        started = time.perf_counter()
        torch.set_num_threads(max(1, threads))
        self.model = load_openai_model(checkpoint)
        self.options = options
        self.slots = DecodeSlots(1)  # PyTorch already spreads one decode over the threads
        log.info("openai-whisper loaded from %s in %.1f s", checkpoint, time.perf_counter() - started)

    def transcribe(self, audio16k: np.ndarray, language: str, *, context: str | None = None) -> Transcript:
        import whisper

        language = check_language(language)
        audio = _as_audio(audio16k)
        duration = audio.size / SAMPLE_RATE
        if duration < 0.1:
            return Transcript("", 0.0, language, round(duration, 3))
        if self.options.vad_gate:
            audio = _speech_only(audio)  # what faster-whisper's vad_filter does
            if audio.size == 0:
                return Transcript("", 0.0, language, round(duration, 3))
        beam_size = self.options.beam(queued=self.slots.contended)
        with self.slots.hold():
            result = whisper.transcribe(
                self.model, audio, language=language, task="transcribe", temperature=0.0,
                beam_size=beam_size, best_of=None, fp16=False, verbose=None,
                condition_on_previous_text=False, initial_prompt=decoding_prompt(language, context),
                no_speech_threshold=self.options.no_speech_threshold,
                logprob_threshold=self.options.logprob_threshold, without_timestamps=True)
        kept, scored, dropped = [], [], 0
        for segment in result.get("segments", []):
            if (_is_no_speech(segment["no_speech_prob"], segment["avg_logprob"], self.options)
                    or not segment["text"].strip()
                    or _is_hallucination(segment["text"], segment.get("compression_ratio", 0.0))):
                dropped += 1
                continue
            kept.append(segment["text"])
            scored.append((segment["avg_logprob"], len(segment["tokens"])))
        return _finish(kept, scored, dropped, language, duration)


def _speech_only(audio: np.ndarray, *, pad_s: float = 0.2, gap_s: float = 0.1) -> np.ndarray:
    """The clip with non-speech cut out (Silero segments, padded), joined by short silences."""
    from models.vad import speech_segments

    segments = speech_segments(audio)
    if not segments:
        return np.zeros(0, dtype=np.float32)
    ranges: list[list[int]] = []
    for start, end in segments:
        a = max(0, int((start - pad_s) * SAMPLE_RATE))
        b = min(audio.size, int((end + pad_s) * SAMPLE_RATE))
        if ranges and a <= ranges[-1][1]:  # padded neighbours overlap: one range, no repeated audio
            ranges[-1][1] = max(ranges[-1][1], b)
        else:
            ranges.append([a, b])
    gap = np.zeros(int(gap_s * SAMPLE_RATE), dtype=np.float32)
    pieces: list[np.ndarray] = []
    for a, b in ranges:
        if pieces:
            pieces.append(gap)
        pieces.append(audio[a:b])
    return np.concatenate(pieces)


def decode_options(settings) -> DecodeOptions:  # noqa: ANN001 - suifang.config.Settings
    cfg = settings.models.asr
    return DecodeOptions(beam_size=cfg.beam_size, beam_size_queued=cfg.beam_size_queued, no_speech_threshold=cfg.no_speech_threshold,
                         logprob_threshold=cfg.logprob_threshold, window_s=cfg.window_s)


def build_recognizer(settings, backend: str | None = None) -> SpeechRecognizer:  # noqa: ANN001
    """The recognizer config.yaml asks for (`models.asr.backend`), weights verified before loading."""
    from models.whisper_convert import ct2_model_dir, openai_checkpoint, whisper_pins

    cfg = settings.models.asr
    choice = backend or cfg.backend
    if choice not in BACKENDS:
        raise ValueError(f"unknown speech recognition backend '{choice}'; valid: {', '.join(BACKENDS)}")
    model_dir = ct2_model_dir(settings)
    if choice == "faster-whisper":
        return FasterWhisperRecognizer(str(model_dir), threads=cfg.threads, options=decode_options(settings),
                                       compute_type=cfg.compute_type, workers=cfg.workers)
    checkpoint = openai_checkpoint(model_dir, settings.data_path("models"),
                                   source_sha=whisper_pins(cfg.sha256)["model.bin"])
    return OpenAIWhisperRecognizer(str(checkpoint), threads=cfg.threads, options=decode_options(settings))


def prepare_asr_weights(settings) -> str:  # noqa: ANN001
    """For `suifang models prepare`: assemble and verify the Whisper CT2 directory; returns its path."""
    from models.whisper_convert import ct2_model_dir

    return str(ct2_model_dir(settings))
