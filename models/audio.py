"""Audio plumbing for the phone line: G.711 μ-law, resampling, float32 PCM and WAV files.

Pure numpy (the stdlib `audioop` is gone in Python 3.13; scipy is not a dependency). Float32 PCM in
[-1, 1] is the currency between modules: the phone speaks 8 kHz μ-law, speech recognition and
voice activity detection want 16 kHz, speech synthesis produces whatever rate its engine has
(espeak-ng: 22050 Hz) and goes back out at 8 kHz.

Resampling is polyphase with a Kaiser-windowed sinc low-pass (the same design as
scipy.signal.resample_poly: cut-off at the lower Nyquist, 10 zero crossings per side, β = 5), so
22050 Hz → 8 kHz does not alias and 8 kHz → 16 kHz interpolates smoothly. Chunk edges are
padded by point reflection, so resampling 20 ms phone frames one at a time (the phone line is
stateless per frame) leaves no audible clicks at the frame boundaries.
"""

from __future__ import annotations

import wave
from functools import lru_cache
from math import ceil, gcd
from pathlib import Path

import numpy as np

PHONE_RATE = 8000
ASR_RATE = 16000

# ----- G.711 μ-law ------------------------------------------------------------------------------

_MULAW_BIAS = 0x84
_SEG_UEND = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)


def _build_decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _MULAW_BIAS) << exponent) - _MULAW_BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


_DECODE_TABLE = _build_decode_table()


def mulaw_encode(pcm16: np.ndarray) -> bytes:
    """16-bit linear PCM (int16 array) → G.711 μ-law bytes, one per sample.

    The classic Sun/CCITT 14-bit algorithm, bit-exact with the old `audioop.lin2ulaw`."""
    v = np.asarray(pcm16).astype(np.int32) >> 2
    mask = np.where(v < 0, 0x7F, 0xFF)
    v = np.minimum(np.abs(v), 8159) + (_MULAW_BIAS >> 2)
    seg = np.searchsorted(_SEG_UEND, v, side="left")
    code = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | ((v >> (np.minimum(seg, 7) + 1)) & 0x0F))
    return (code ^ mask).astype(np.uint8).tobytes()


def mulaw_decode(data: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    """G.711 μ-law bytes → 16-bit linear PCM (int16 array)."""
    codes = np.frombuffer(bytes(data), dtype=np.uint8) if not isinstance(data, np.ndarray) else data.astype(np.uint8)
    return _DECODE_TABLE[codes]


# ----- G.711 A-law (PCMA, the codec of China's and Europe's networks) ---------------------------

_SEG_AEND = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)


def _build_alaw_decode_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    t = (codes & 0x0F) << 4
    seg = (codes & 0x70) >> 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return np.where(codes & 0x80, t, -t).astype(np.int16)


_ALAW_DECODE_TABLE = _build_alaw_decode_table()


def alaw_encode(pcm16: np.ndarray) -> bytes:
    """16-bit linear PCM (int16 array) → G.711 A-law bytes (the Sun/CCITT 13-bit algorithm, bit-exact
    with the old `audioop.lin2alaw`)."""
    v = np.asarray(pcm16).astype(np.int32) >> 3
    mask = np.where(v >= 0, 0xD5, 0x55)
    v = np.where(v >= 0, v, -v - 1)
    seg = np.searchsorted(_SEG_AEND, v, side="left")
    s = np.minimum(seg, 7)
    quant = np.where(s < 2, v >> 1, v >> np.maximum(s, 1)) & 0x0F
    code = np.where(seg >= 8, 0x7F, (s << 4) | quant)
    return (code ^ mask).astype(np.uint8).tobytes()


def alaw_decode(data: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    """G.711 A-law bytes → 16-bit linear PCM (int16 array)."""
    codes = np.frombuffer(bytes(data), dtype=np.uint8) if not isinstance(data, np.ndarray) else data.astype(np.uint8)
    return _ALAW_DECODE_TABLE[codes]


# ----- float32 PCM ------------------------------------------------------------------------------

def int16_to_float(pcm16: np.ndarray) -> np.ndarray:
    return (np.asarray(pcm16, dtype=np.int16).astype(np.float32) / 32768.0)


def float_to_int16(audio: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    return np.round(x * 32767.0).astype(np.int16)


def to_float32(audio: np.ndarray) -> np.ndarray:
    """Any PCM array → float32 mono in [-1, 1] (int16/int32 are scaled; stereo is averaged)."""
    a = np.asarray(audio)
    if a.ndim == 2:
        a = a.mean(axis=1) if a.dtype.kind == "f" else a.astype(np.float64).mean(axis=1).astype(a.dtype)
    if a.dtype == np.int16:
        return a.astype(np.float32) / 32768.0
    if a.dtype == np.int32:
        return (a.astype(np.float64) / 2147483648.0).astype(np.float32)
    if a.dtype == np.uint8:
        return (a.astype(np.float32) - 128.0) / 128.0
    return a.astype(np.float32, copy=False)


def mulaw_to_float(data: bytes) -> np.ndarray:
    return int16_to_float(mulaw_decode(data))


def float_to_mulaw(audio: np.ndarray) -> bytes:
    return mulaw_encode(float_to_int16(audio))


def rms_dbfs(audio: np.ndarray) -> float:
    a = np.asarray(audio, dtype=np.float64)
    if a.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(a * a)))
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


# ----- resampling -------------------------------------------------------------------------------

@lru_cache(maxsize=32)
def _lowpass(up: int, down: int, beta: float = 5.0) -> tuple[np.ndarray, int]:
    """Kaiser-windowed sinc for polyphase resampling by up/down; returns (taps * up, half length)."""
    max_rate = max(up, down)
    half_len = 10 * max_rate
    n = np.arange(-half_len, half_len + 1, dtype=np.float64)
    taps = np.sinc(n / max_rate) * np.kaiser(2 * half_len + 1, beta)
    taps *= up / taps.sum()  # unity gain at DC after zero-stuffing
    return taps, half_len


def resample_poly(audio: np.ndarray, up: int, down: int, *, block: int = 16384) -> np.ndarray:
    """Resample float audio by the rational factor up/down (polyphase FIR, reflection-padded edges)."""
    x = np.asarray(audio, dtype=np.float32)
    if up <= 0 or down <= 0:
        raise ValueError("up and down must be positive integers")
    g = gcd(up, down)
    up, down = up // g, down // g
    if up == down == 1 or x.size == 0:
        return x.copy()
    taps, half_len = _lowpass(up, down)
    n_taps = taps.size
    k_per_phase = ceil(n_taps / up)
    padded_taps = np.zeros(k_per_phase * up, dtype=np.float64)
    padded_taps[:n_taps] = taps
    # phase_taps[p, k] = taps[p + k*up]
    phase_taps = padded_taps.reshape(k_per_phase, up).T.astype(np.float32)

    pad = k_per_phase + 1
    # Point reflection continues the signal's slope across the edge: resampling a 20 ms frame on its
    # own then differs from resampling the whole stream by ≈ -50 dB rms for speech-band signals.
    xp = np.pad(x, pad, mode="reflect", reflect_type="odd") if x.size > 1 else np.pad(x, pad, mode="edge")
    n_out = ceil(x.size * up / down)
    out = np.empty(n_out, dtype=np.float32)
    ks = np.arange(k_per_phase)
    for start in range(0, n_out, block):
        m = np.arange(start, min(start + block, n_out))
        j = m * down + half_len  # position in the zero-stuffed signal where the filter is centred
        phase = j % up
        i_max = j // up
        idx = (i_max[:, None] - ks[None, :]) + pad
        np.clip(idx, 0, xp.size - 1, out=idx)
        out[m] = np.einsum("mk,mk->m", xp[idx], phase_taps[phase])
    return out


def resample(audio: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """float32 audio from src_rate to dst_rate (any integer rates)."""
    if src_rate == dst_rate:
        return np.asarray(audio, dtype=np.float32).copy()
    return resample_poly(audio, dst_rate, src_rate)


def phone_to_asr(mulaw: bytes) -> np.ndarray:
    """8 kHz μ-law from the phone → 16 kHz float32 for VAD and speech recognition (a whole recording;
    a line's 20 ms frames go through one PhoneDecoder)."""
    return resample_poly(mulaw_to_float(mulaw), 2, 1)


class PhoneDecoder:
    """One line's 8 kHz μ-law frames → 16 kHz float32, as if the whole stream were resampled at once.
    Resampling each 20 ms frame on its own guesses the signal beyond the frame's edges: on a noisy line
    that puts an error 40 dB down at every frame edge, 50 times a second, enough to turn Whisper's
    Mandarin into other words (四四年的 → 次自年份). Here the filter sees the previous frame's samples and
    the output lags the line by LAG samples (2 ms), so every output sample has its full filter support."""

    LAG = 16   # input samples; more than half the polyphase filter (11 taps each side at 2×)

    def __init__(self) -> None:
        self._history = np.zeros(2 * self.LAG, dtype=np.float32)

    def __call__(self, mulaw: bytes) -> np.ndarray:
        frame = mulaw_to_float(mulaw)
        if frame.size == 0:
            return np.zeros(0, dtype=np.float32)
        buffer = np.concatenate([self._history, frame])
        upsampled = resample_poly(buffer, 2, 1)
        start = self._history.size - self.LAG
        self._history = buffer[-2 * self.LAG:]
        return upsampled[2 * start:2 * (start + frame.size)]


def to_phone(audio: np.ndarray, rate: int) -> bytes:
    """float32 audio at `rate` → 8 kHz μ-law for the phone."""
    return float_to_mulaw(resample(audio, rate, PHONE_RATE))


# ----- WAV files --------------------------------------------------------------------------------

def write_wav(path: str | Path, audio: np.ndarray, rate: int) -> Path:
    """Write float32 (or int16) audio as a 16-bit PCM WAV file: mono from a 1-D array, one channel per
    column from a (samples, channels) array."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    a = np.asarray(audio)
    channels = a.shape[1] if a.ndim == 2 else 1
    if a.dtype == np.int16:
        pcm = a.astype("<i2")
    else:
        pcm = float_to_int16(np.clip(a.astype(np.float32), -1.0, 1.0) if channels > 1 else to_float32(a)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(int(rate))
        out.writeframes(pcm.tobytes())
    return path


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a PCM WAV file (8/16/24/32-bit, any channel count) → (float32 mono, rate)."""
    with wave.open(str(path), "rb") as src:
        channels = src.getnchannels()
        width = src.getsampwidth()
        rate = src.getframerate()
        raw = src.readframes(src.getnframes())
    if width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints & 0x800000, ints - 0x1000000, ints)
        data = ints.astype(np.float32) / 8388608.0
    elif width == 4:
        data = (np.frombuffer(raw, dtype="<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    else:
        raise ValueError(f"{path}: unsupported sample width {width} bytes (valid: 1, 2, 3, 4)")
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1).astype(np.float32)
    return data, rate


def load_audio(path: str | Path, rate: int = ASR_RATE) -> np.ndarray:
    """Any audio file → float32 mono at `rate`: WAV read here, anything else (FLAC, MP3) via PyAV."""
    path = Path(path)
    if path.suffix.lower() == ".wav":
        try:
            data, src_rate = read_wav(path)
            return resample(data, src_rate, rate)
        except wave.Error:
            pass  # e.g. float WAV: let the decoder handle it
    from faster_whisper.audio import decode_audio  # PyAV, installed with faster-whisper

    return np.asarray(decode_audio(str(path), sampling_rate=rate), dtype=np.float32)
