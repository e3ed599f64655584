"""End of turn that listens to what is said: Smart Turn v3.2 over Silero VAD.

A fixed trailing silence (models/vad.py EndOfTurnDetector, 700 ms) both waits too long after a
finished answer and cuts a patient who pauses mid-sentence ("我每天吃……那个……"). Here Silero still
finds the pauses; after a short one (`pause_ms`) the Smart Turn model hears the utterance and says
whether it sounds finished. Finished: the turn ends at once. Not finished: keep listening until the
patient goes on (then the next pause is judged again) or the silence reaches `max_silence_ms`.

The model: Smart Turn v3.2 (Daily/Pipecat, BSD-2-Clause), an 8.7 MB ONNX file shipped inside the
`pipecat-ai` 1.14.0 wheel at pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx. Only that
file is used, not the framework: `make setup` keeps the wheel (`pip download --no-deps`) in
~/.cache/suifang/pip and `suifang models prepare` extracts the file into data_dir/models/smart-turn,
checking its SHA-256 (SMART_TURN_SHA256) before it appears under its final name; the file is checked
again at load. Nothing is downloaded at run time.

Its input is Whisper's log-mel spectrogram (80 mel bands, 25 ms window, 10 ms hop) of exactly 8 s of
16 kHz audio: the last 8 s of the utterance, zero-padded at the front when shorter, the waveform
normalised to zero mean and unit variance first. The model is trained at 16 kHz and misbehaves at
8 kHz: the phone's 8 kHz audio reaches it resampled to 16 kHz, as Silero and Whisper hear it. Its
output is the probability that the turn is complete."""

from __future__ import annotations

import logging
import os
import tempfile
import time
import zipfile
from collections import deque
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from models.vad import SAMPLE_RATE, WINDOW, EndOfTurnDetector, SileroVad
from models.weights import WeightsError, sha256_file, verify_sha256

log = logging.getLogger(__name__)

SMART_TURN_WHEEL = "pipecat_ai-1.14.0-py3-none-any.whl"
SMART_TURN_PIP = "pipecat-ai==1.14.0"
SMART_TURN_MEMBER = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
SMART_TURN_FILENAME = "smart-turn-v3.2-cpu.onnx"
SMART_TURN_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"
SMART_TURN_BYTES = 8_679_182
DIRNAME = "smart-turn"
DEFAULT_WHEEL_DIR = Path("~/.cache/suifang/pip")

MODEL_SECONDS = 8              # the model hears the last 8 s of a turn
PRE_SPEECH_S = 0.5             # and up to this much audio before VAD's onset (the onset's first sound)
N_FFT, HOP, N_MELS = 400, 160, 80


# ----- Whisper's log-mel features, in numpy -------------------------------------------------------

def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """(80, 201) triangular filters from 0 to 8 kHz, each scaled to unit area (Slaney), as Whisper's."""
    fft_hz = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (fft_hz[None, :] - lower) / (centre - lower)
    falling = (upper - fft_hz[None, :]) / (upper - centre)
    filters = np.maximum(0.0, np.minimum(rising, falling))
    return filters * (2.0 / (upper - lower))


@lru_cache(maxsize=1)
def _hann() -> np.ndarray:
    n = np.arange(N_FFT)
    return 0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)  # periodic, as torch.hann_window


def log_mel(audio16k: np.ndarray, seconds: int = MODEL_SECONDS) -> np.ndarray:
    """(80, 100 × seconds) float32 log-mel features of `seconds` of 16 kHz audio (cut or zero-padded
    at the end), the waveform normalised first: what WhisperFeatureExtractor(chunk_length=8,
    do_normalize=True) computes."""
    n = seconds * SAMPLE_RATE
    x = np.zeros(n, dtype=np.float32)
    clip = np.asarray(audio16k, dtype=np.float32).reshape(-1)[:n]
    x[:clip.size] = clip
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _hann(), axis=1)) ** 2            # (frames, 201)
    mel = np.log10(np.maximum(mel_filters() @ power.T, 1e-10))[:, :-1]   # the last frame is dropped
    mel = np.maximum(mel, mel.max() - 8.0)
    return ((mel + 4.0) / 4.0).astype(np.float32)


def model_window(audio16k: np.ndarray, seconds: int = MODEL_SECONDS) -> np.ndarray:
    """The last `seconds` of a turn, zero-padded at the front when shorter."""
    audio = np.asarray(audio16k, dtype=np.float32).reshape(-1)
    n = seconds * SAMPLE_RATE
    if audio.size >= n:
        return audio[-n:]
    return np.concatenate([np.zeros(n - audio.size, dtype=np.float32), audio])


# ----- the model and its file ---------------------------------------------------------------------

class TurnModel(Protocol):
    """Says how likely a turn (16 kHz float32 audio, onset to now) is finished."""

    def probability(self, audio16k: np.ndarray) -> float: ...


class SmartTurnModel:
    """Smart Turn v3.2 (ONNX, CPU). `run` is thread-safe: one session serves every call."""

    name = "smart-turn-v3.2"

    def __init__(self, path: str | Path, *, sha256: str = SMART_TURN_SHA256, threads: int = 1) -> None:
        import onnxruntime

        model_path = verify_sha256(path, sha256)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(model_path), sess_options=options,
                                                    providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def probability(self, audio16k: np.ndarray) -> float:
        features = log_mel(model_window(audio16k))[None, :, :]
        out = self.session.run(None, {self.input_name: features})[0]
        return float(np.asarray(out).reshape(-1)[0])


def wheel_path(configured: str | Path | None = None) -> Path:
    return Path(os.path.expanduser(str(configured or DEFAULT_WHEEL_DIR / SMART_TURN_WHEEL)))


def extract_smart_turn(wheel: str | Path, dest: str | Path, *, sha256: str = SMART_TURN_SHA256) -> Path:
    """Copy the ONNX file out of the pipecat-ai wheel to `dest`; it appears there only once its
    SHA-256 matched. A `dest` that already verifies is left alone."""
    dest, wheel = Path(dest), Path(wheel)
    if dest.exists():
        try:
            return verify_sha256(dest, sha256)
        except WeightsError:
            log.warning("%s does not verify; extracting it again", dest.name)
    if not wheel.is_file():
        raise WeightsError(f"Smart Turn is not in {dest.parent} and the wheel {wheel} is missing; run `make setup` "
                           f"(it runs `pip download {SMART_TURN_PIP} --no-deps` into {DEFAULT_WHEEL_DIR}) "
                           "or set models.turn.wheel")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(wheel) as archive:
            try:
                info = archive.getinfo(SMART_TURN_MEMBER)
            except KeyError:
                raise WeightsError(f"{wheel} has no {SMART_TURN_MEMBER}; is it {SMART_TURN_PIP}?") from None
            if info.file_size > SMART_TURN_BYTES * 2:  # never unpack something unexpectedly large
                raise WeightsError(f"{SMART_TURN_MEMBER} in {wheel} is {info.file_size} bytes, not the pinned model")
            with archive.open(info) as source, os.fdopen(fd, "wb") as out:
                out.write(source.read())
        os.chmod(tmp, 0o644)
        actual = sha256_file(tmp)
        if actual != sha256.strip().lower():
            raise WeightsError(f"SHA-256 mismatch for {SMART_TURN_MEMBER} in {wheel}: expected {sha256}, got {actual}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    verify_sha256(dest, sha256)  # writes the sidecar
    log.info("extracted %s from %s", dest.name, wheel.name)
    return dest


def smart_turn_path(settings) -> Path:  # noqa: ANN001 - suifang.config.Settings
    cfg = settings.models.turn
    if cfg.model_path:
        return settings.resolve_path(cfg.model_path)
    return settings.data_path("models", DIRNAME, SMART_TURN_FILENAME)


def prepare_turn_weights(settings) -> Path:  # noqa: ANN001
    """`suifang models prepare`: Smart Turn extracted from the kept wheel and verified."""
    cfg = settings.models.turn
    path = smart_turn_path(settings)
    if cfg.model_path:  # a hospital's own file: only checked
        return verify_sha256(path, cfg.sha256 or SMART_TURN_SHA256)
    return extract_smart_turn(wheel_path(cfg.wheel or None), path, sha256=cfg.sha256 or SMART_TURN_SHA256)


def load_turn_model(settings) -> SmartTurnModel:  # noqa: ANN001
    """The configured Smart Turn model, extracted first if needed (as `models prepare` would)."""
    cfg = settings.models.turn
    return SmartTurnModel(prepare_turn_weights(settings), sha256=cfg.sha256 or SMART_TURN_SHA256, threads=cfg.threads)


# ----- the detector -------------------------------------------------------------------------------

class SmartTurnDetector(EndOfTurnDetector):
    """End of turn by what the utterance sounds like, over 16 kHz frames.

    `feed` emits "speech_start", "pause" (`pause_ms` of silence in a started turn, once per pause) and
    "end_of_turn" (`max_silence_ms` of silence: the cap when the model keeps saying "not finished").
    On "pause" the caller runs `judge()` — off its event loop, it takes tens of milliseconds — which
    asks the model and, when the turn sounds finished, ends it and returns True.

    If the model fails, the detector falls back to a fixed `fallback_silence_ms` (the silence rule)."""

    def __init__(self, model: TurnModel, *, pause_ms: int = 250, max_silence_ms: int = 2500,
                 complete_probability: float = 0.5, fallback_silence_ms: int = 700, threshold: float = 0.5,
                 min_speech_ms: int = 150, settle_ms: int = 0, vad: SileroVad | None = None) -> None:
        if not 0 < pause_ms < max_silence_ms:
            raise ValueError("pause_ms must be positive and below max_silence_ms")
        if not 0.0 < complete_probability < 1.0:
            raise ValueError("complete_probability must be between 0 and 1")
        self.model = model
        self.pause_ms = pause_ms
        self.complete_probability = complete_probability
        self.fallback_silence_ms = fallback_silence_ms
        self.model_failed = False
        self.last_turn_probability: float | None = None
        self.last_inference_ms: float | None = None
        self._recent: deque[np.ndarray] = deque()
        self._recent_samples = 0
        super().__init__(silence_ms=max_silence_ms, threshold=threshold, min_speech_ms=min_speech_ms,
                         settle_ms=settle_ms, vad=vad)

    def reset(self) -> None:
        super().reset()
        self._paused = False
        self._window_index = 0        # VAD windows seen (position of the audio in samples: × WINDOW)
        self._onset_window: int | None = None
        self._fed = 0                 # samples fed
        self._recent = deque()
        self._recent_samples = 0

    def feed(self, pcm16k: np.ndarray) -> list[str]:
        frame = np.asarray(pcm16k, dtype=np.float32).reshape(-1)
        self._recent.append(frame)
        self._recent_samples += frame.size
        self._fed += frame.size
        keep = int((MODEL_SECONDS + PRE_SPEECH_S + 1) * SAMPLE_RATE)
        while self._recent and self._recent_samples - self._recent[0].size >= keep:
            self._recent_samples -= self._recent.popleft().size
        return super().feed(frame)

    def _step(self, prob: float) -> str | None:
        was_in_speech = self._in_speech
        event = super()._step(prob)
        self._window_index += 1
        if self._in_speech and not was_in_speech:
            self._onset_window = self._window_index - 1
        if prob >= self.threshold:
            self._paused = False
        if event is None and self._started and not self._paused and not self.model_failed \
                and self._silence_ms >= self.pause_ms:
            self._paused = True
            return "pause"
        return event

    def turn_audio(self) -> np.ndarray:
        """The current turn from just before its onset to now (at most the model's 8 s)."""
        audio = np.concatenate(self._recent) if self._recent else np.zeros(0, dtype=np.float32)
        if self._onset_window is None:
            return audio[:0]
        onset = self._onset_window * WINDOW - int(PRE_SPEECH_S * SAMPLE_RATE)
        start_in_recent = onset - (self._fed - audio.size)
        return audio[max(0, start_in_recent):][-MODEL_SECONDS * SAMPLE_RATE:]

    def judge(self) -> bool:
        """Ask the model whether the paused turn is finished; if so end it (True). Blocking."""
        if not self._started:
            return False
        began = time.perf_counter()
        try:
            probability = self.model.probability(self.turn_audio())
        except Exception:  # noqa: BLE001 - a broken model must not stop the call: the silence rule takes over
            log.exception("end-of-turn model failed; ending turns after %d ms of silence from now on",
                          self.fallback_silence_ms)
            self.model_failed = True
            self.silence_ms = self.fallback_silence_ms
            return False
        self.last_inference_ms = (time.perf_counter() - began) * 1000
        self.last_turn_probability = probability
        if probability >= self.complete_probability:
            self._end_turn()
            self._paused = False
            return True
        return False

    def _end_turn(self) -> None:
        super()._end_turn()
        self._onset_window = None
        self._paused = False

