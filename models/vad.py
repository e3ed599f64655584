"""Voice activity: end-of-turn detection on the phone line and speech gating of whole clips.

The model is Silero VAD from the `silero-vad` 6.2.3 package (its ONNX file, SHA-256 pinned), run
with onnxruntime on the CPU — no torch, no download. At 16 kHz it takes 512-sample windows (32 ms)
plus the last 64 samples of the previous window as context, and carries a (2, 1, 128) recurrent
state; one `SileroVad` (the ONNX session, thread-safe for `run`) is shared by every call, each
detector keeps its own state.

The phone delivers 20 ms frames (320 samples at 16 kHz after resampling): `EndOfTurnDetector`
buffers them into windows. `in_speech` turns on at the first voiced window, so the caller starts
keeping audio from the onset; "speech_start" is emitted once `min_speech_ms` of speech has been
heard (a click or a cough shorter than that never starts a turn), and "end_of_turn" after
`silence_ms` of trailing silence. Hysteresis as in Silero's own iterator: a window is voiced
at probability ≥ threshold and silent below threshold − 0.15.

With `settle_ms`, a started turn also reports "settling" once `settle_ms` of silence has passed (the
caller may start recognising the turn so far, so the words are ready when the turn ends) and
"resumed" when speech comes back after that (what was recognised early is stale).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from models.weights import packaged_file, verify_sha256

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
WINDOW = 512
CONTEXT = 64
WINDOW_MS = WINDOW * 1000 / SAMPLE_RATE  # 32 ms
SILERO_ONNX = "data/silero_vad.onnx"
SILERO_ONNX_SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"


class SileroVad:
    """The Silero VAD ONNX model; `probabilities` runs it over consecutive 512-sample windows."""

    def __init__(self, path: str | Path | None = None, *, sha256: str = SILERO_ONNX_SHA256) -> None:
        import onnxruntime

        model_path = Path(path) if path else packaged_file("silero_vad", SILERO_ONNX, pip_names="silero-vad==6.2.3")
        verify_sha256(model_path, sha256, use_cache=False)  # 2 MB: hashing is instant
        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(model_path), sess_options=opts,
                                                    providers=["CPUExecutionProvider"])
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)

    @staticmethod
    def initial_state() -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((2, 1, 128), dtype=np.float32), np.zeros((1, CONTEXT), dtype=np.float32)

    def window(self, samples: np.ndarray, state: np.ndarray, context: np.ndarray
               ) -> tuple[float, np.ndarray, np.ndarray]:
        """Speech probability of one 512-sample window; returns (prob, new state, new context)."""
        x = np.concatenate([context, samples.reshape(1, WINDOW).astype(np.float32)], axis=1)
        out, new_state = self.session.run(None, {"input": x, "state": state, "sr": self._sr})
        return float(out[0, 0]), new_state, x[:, -CONTEXT:]

    def probabilities(self, audio16k: np.ndarray) -> np.ndarray:
        """Per-window speech probability for a whole clip (last partial window zero-padded)."""
        audio = np.asarray(audio16k, dtype=np.float32)
        n = -(-audio.size // WINDOW)
        padded = np.zeros(n * WINDOW, dtype=np.float32)
        padded[:audio.size] = audio
        state, context = self.initial_state()
        probs = np.empty(n, dtype=np.float32)
        for i in range(n):
            probs[i], state, context = self.window(padded[i * WINDOW:(i + 1) * WINDOW], state, context)
        return probs


_shared: SileroVad | None = None
_shared_lock = threading.Lock()


def shared_vad() -> SileroVad:
    """The process-wide Silero model (loaded on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SileroVad()
        return _shared


class EndOfTurnDetector:
    """Streaming end-of-turn detection over 16 kHz float32 frames of any length (typically 20 ms)."""

    def __init__(self, silence_ms: int = 700, threshold: float = 0.5, min_speech_ms: int = 150, *,
                 settle_ms: int = 0, vad: SileroVad | None = None) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        if silence_ms <= 0 or min_speech_ms < 0:
            raise ValueError("silence_ms must be positive and min_speech_ms not negative")
        if settle_ms < 0:
            raise ValueError("settle_ms must not be negative (0: no settling event)")
        self.silence_ms = silence_ms
        self.settle_ms = settle_ms
        self.threshold = threshold
        self.neg_threshold = max(threshold - 0.15, 0.01)
        self.min_speech_ms = min_speech_ms
        self.vad = vad or shared_vad()
        self.reset()

    def reset(self) -> None:
        self._state, self._context = SileroVad.initial_state()
        self._pending = np.zeros(0, dtype=np.float32)
        self._in_speech = False     # a voiced window seen, turn not ended
        self._started = False       # speech_start emitted for this turn
        self._voiced_ms = 0.0
        self._silence_ms = 0.0
        self._settled = False       # "settling" emitted for the current silence
        self.last_probability = 0.0

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def voiced_ms(self) -> float:
        """Voiced audio in the current turn so far (its trailing silence not counted)."""
        return self._voiced_ms if self._in_speech else 0.0

    def feed(self, pcm16k: np.ndarray) -> list[str]:
        """Process a frame; return the events it completed ("speech_start", "end_of_turn")."""
        frame = np.asarray(pcm16k, dtype=np.float32).reshape(-1)
        buffer = np.concatenate([self._pending, frame]) if self._pending.size else frame
        events: list[str] = []
        n = buffer.size // WINDOW
        for i in range(n):
            prob, self._state, self._context = self.vad.window(buffer[i * WINDOW:(i + 1) * WINDOW],
                                                               self._state, self._context)
            self.last_probability = prob
            event = self._step(prob)
            if event:
                events.append(event)
        self._pending = buffer[n * WINDOW:].copy()
        return events

    def _step(self, prob: float) -> str | None:
        if prob >= self.threshold:
            self._silence_ms = 0.0
            self._voiced_ms += WINDOW_MS
            self._in_speech = True
            if not self._started and self._voiced_ms >= self.min_speech_ms:
                self._started = True
                return "speech_start"
            if self._settled:
                self._settled = False
                return "resumed"
            return None
        if not self._in_speech:
            return None
        if prob < self.neg_threshold:
            self._silence_ms += WINDOW_MS
        elif not self._started:
            self._voiced_ms += WINDOW_MS  # in-between probabilities keep a starting turn alive
        if self._started and self._silence_ms >= self.silence_ms:
            self._end_turn()
            return "end_of_turn"
        if self._started and self.settle_ms and not self._settled and self._silence_ms >= self.settle_ms:
            self._settled = True
            return "settling"
        if not self._started and self._silence_ms >= min(self.silence_ms, max(self.min_speech_ms, 100)):
            self._end_turn()  # a blip too short to be speech: forget it without an event
        return None

    def _end_turn(self) -> None:
        self._in_speech = False
        self._started = False
        self._settled = False
        self._voiced_ms = 0.0
        self._silence_ms = 0.0


def speech_segments(audio16k: np.ndarray, *, threshold: float = 0.5, min_speech_ms: int = 250,
                    min_silence_ms: int = 100, pad_ms: int = 30, vad: SileroVad | None = None
                    ) -> list[tuple[float, float]]:
    """Speech in a whole 16 kHz clip as (start_s, end_s) pairs (Silero's get_speech_timestamps rules)."""
    audio = np.asarray(audio16k, dtype=np.float32)
    if audio.size == 0:
        return []
    probs = (vad or shared_vad()).probabilities(audio)
    neg = max(threshold - 0.15, 0.01)
    duration = audio.size / SAMPLE_RATE
    raw: list[list[float]] = []
    start: float | None = None
    silence_from: float | None = None
    for i, p in enumerate(probs):
        t = i * WINDOW / SAMPLE_RATE
        if p >= threshold:
            silence_from = None
            if start is None:
                start = t
        elif start is not None and p < neg:
            if silence_from is None:
                silence_from = t
            if (t + WINDOW / SAMPLE_RATE - silence_from) * 1000 >= min_silence_ms:
                raw.append([start, silence_from])
                start, silence_from = None, None
    if start is not None:
        raw.append([start, silence_from if silence_from is not None else duration])
    pad = pad_ms / 1000
    segments: list[tuple[float, float]] = []
    for seg_start, seg_end in raw:
        if (seg_end - seg_start) * 1000 < min_speech_ms:
            continue
        s, e = max(0.0, seg_start - pad), min(duration, seg_end + pad)
        if segments and s <= segments[-1][1]:
            segments[-1] = (segments[-1][0], e)
        else:
            segments.append((s, e))
    return [(round(s, 3), round(e, 3)) for s, e in segments]
