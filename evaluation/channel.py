"""A degraded phone channel between the scripted patient and the service (`suifang eval followup --voice`).

A real patient reaches the service through a handset, a mobile network and a carrier's G.711 trunk: the
level differs from call to call and utterance to utterance, there is noise in the room and on the line,
and now and then a 20 ms packet is lost. The voice evaluation sends the persona's synthesized answers
through the same kinds of damage, so that the service is measured on audio it did not make itself:

1. resampled to 8 kHz and set to a nominal speech level (active RMS `NOMINAL_LEVEL_DBFS`), then a level
   change drawn per utterance from `gain_db` (the patient holds the phone closer or further away);
2. background noise — pink (1/f, the spectrum of room and street noise rather than white hiss), band
   limited to the phone band — added at a signal-to-noise ratio drawn from `snr_db`, measured against the
   speech's active level; it runs through the silences before and after the words too, so the service's
   end-of-turn detection hears a noisy line, not digital silence;
3. the carrier's codec round trip: G.711 A-law (PCMA, China's trunks) or μ-law (PCMU);
4. packet loss: each 20 ms frame is lost with probability `frame_loss`, replaced by silence or by the
   previous frame (what a jitter buffer without better concealment does);
5. out to the Media Streams gateway as 8 kHz μ-law (a PCMA leg is transcoded there, as a real gateway does).

Everything is drawn from one seeded generator per call, so a run is repeatable; each utterance's
figures (gain, measured SNR, frames lost) are kept in `ChannelReport`."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from models import audio

RATE = audio.PHONE_RATE
FRAME = RATE * 20 // 1000          # 160 samples: 20 ms
NOMINAL_LEVEL_DBFS = -20.0         # active speech level before the level change
ACTIVE_THRESHOLD_DB = 30.0         # samples in frames within this of the loudest frame count as speech
BAND_HZ = (300.0, 3400.0)          # the telephone band the noise is limited to
CODECS = ("alaw", "mulaw")


@dataclass(frozen=True)
class ChannelOptions:
    codec: Literal["alaw", "mulaw"] = "alaw"
    gain_db: tuple[float, float] = (-6.0, 3.0)     # level change per utterance, uniform
    snr_db: tuple[float, float] = (20.0, 25.0)     # background noise per utterance, uniform
    frame_loss: float = 0.01                        # probability a 20 ms frame is lost
    loss_fill: Literal["silence", "repeat"] = "silence"
    seed: int = 13

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise ValueError(f"unknown codec '{self.codec}'; valid: {', '.join(CODECS)}")
        if not 0.0 <= self.frame_loss < 1.0:
            raise ValueError("frame_loss must be in [0, 1)")
        if self.loss_fill not in ("silence", "repeat"):
            raise ValueError("loss_fill must be silence or repeat")


def default_options(language: str, *, seed: int = 13) -> ChannelOptions:
    """A-law for a Mandarin line (China's trunks are PCMA), μ-law for an English one (North America)."""
    return ChannelOptions(codec="alaw" if language == "zh" else "mulaw", seed=seed)


@dataclass
class Utterance:
    gain_db: float
    snr_db: float                  # measured: active speech level over the noise actually added
    frames: int
    frames_lost: int
    clipped_samples: int


@dataclass
class ChannelReport:
    utterances: list[Utterance] = field(default_factory=list)

    def summary(self) -> dict[str, float | int | None]:
        u = self.utterances
        frames = sum(x.frames for x in u)
        return {"utterances": len(u), "frames": frames, "frames_lost": sum(x.frames_lost for x in u),
                "gain_db_min": round(min((x.gain_db for x in u), default=0.0), 2),
                "gain_db_max": round(max((x.gain_db for x in u), default=0.0), 2),
                "snr_db_min": round(min((x.snr_db for x in u), default=0.0), 2),
                "snr_db_max": round(max((x.snr_db for x in u), default=0.0), 2),
                "clipped_samples": sum(x.clipped_samples for x in u)}


def active_level_dbfs(signal: np.ndarray) -> float:
    """RMS level of the speech in `signal` (its 20 ms frames within ACTIVE_THRESHOLD_DB of the loudest;
    pauses do not lower it), in dB relative to full scale."""
    x = np.asarray(signal, dtype=np.float64)
    n = x.size // FRAME
    if n == 0:
        return audio.rms_dbfs(x)
    energy = (x[:n * FRAME].reshape(n, FRAME) ** 2).mean(axis=1)
    if energy.max() <= 0:
        return float("-inf")
    active = energy >= energy.max() * 10 ** (-ACTIVE_THRESHOLD_DB / 10)
    return 10.0 * np.log10(energy[active].mean())


def pink_noise(rng: np.random.Generator, n: int, *, band: tuple[float, float] = BAND_HZ) -> np.ndarray:
    """Unit-RMS pink noise (power ∝ 1/f) limited to `band`, `n` samples at 8 kHz."""
    if n == 0:
        return np.zeros(0, np.float32)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / RATE)
    shape = np.zeros_like(freqs)
    inside = (freqs >= band[0]) & (freqs <= band[1])
    shape[inside] = 1.0 / np.sqrt(freqs[inside])
    noise = np.fft.irfft(spectrum * shape, n)
    rms = float(np.sqrt(np.mean(noise ** 2)))
    return (noise / rms if rms > 0 else noise).astype(np.float32)


def codec_round_trip(pcm: np.ndarray, codec: str) -> np.ndarray:
    """float32 8 kHz → G.711 (`alaw` | `mulaw`) → float32: the carrier's quantisation."""
    pcm16 = audio.float_to_int16(pcm)
    if codec == "alaw":
        return audio.int16_to_float(audio.alaw_decode(audio.alaw_encode(pcm16)))
    if codec == "mulaw":
        return audio.int16_to_float(audio.mulaw_decode(audio.mulaw_encode(pcm16)))
    raise ValueError(f"unknown codec '{codec}'; valid: {', '.join(CODECS)}")


class PhoneChannel:
    """One call's channel: `transmit` turns an utterance into the μ-law the gateway sends on, damaged."""

    def __init__(self, options: ChannelOptions = ChannelOptions(), *, call_key: str = "") -> None:
        self.options = options
        # One generator per call, from the seed and the call's key: a call's damage does not depend on
        # which calls ran before it.
        self.rng = np.random.default_rng([options.seed, zlib.crc32(call_key.encode("utf-8"))])
        self.report = ChannelReport()

    def transmit(self, speech: np.ndarray, rate: int, *, leading_silence_ms: int = 300,
                 trailing_silence_ms: int = 1200) -> bytes:
        """Speech (float32 at `rate`) between silences → 8 kHz μ-law after the channel, whole 20 ms frames."""
        o = self.options
        clean = audio.resample(np.asarray(speech, dtype=np.float32), rate, RATE)
        level = active_level_dbfs(clean)
        gain_db = float(self.rng.uniform(*o.gain_db))
        if np.isfinite(level):
            clean = clean * np.float32(10 ** ((NOMINAL_LEVEL_DBFS + gain_db - level) / 20))
        lead, trail = RATE * leading_silence_ms // 1000, RATE * trailing_silence_ms // 1000
        signal = np.concatenate([np.zeros(lead, np.float32), clean, np.zeros(trail, np.float32)])
        signal = np.concatenate([signal, np.zeros(-signal.size % FRAME, np.float32)])
        speech_level = active_level_dbfs(clean)
        target_snr = float(self.rng.uniform(*o.snr_db))
        noise = pink_noise(self.rng, signal.size)
        if np.isfinite(speech_level):
            noise *= np.float32(10 ** ((speech_level - target_snr) / 20))
        else:
            noise *= np.float32(10 ** ((NOMINAL_LEVEL_DBFS - target_snr) / 20))
        noisy = signal + noise
        clipped = int(np.count_nonzero(np.abs(noisy) > 1.0))
        received = codec_round_trip(np.clip(noisy, -1.0, 1.0), o.codec)
        frames = received.reshape(-1, FRAME).copy()
        lost = self.rng.random(frames.shape[0]) < o.frame_loss
        for i in np.flatnonzero(lost):
            frames[i] = frames[i - 1] if o.loss_fill == "repeat" and i > 0 else 0.0
        noise_level = audio.rms_dbfs(noise)
        self.report.utterances.append(Utterance(
            gain_db=gain_db, snr_db=float(speech_level - noise_level) if np.isfinite(speech_level) else 0.0,
            frames=int(frames.shape[0]), frames_lost=int(lost.sum()), clipped_samples=clipped))
        return audio.float_to_mulaw(frames.reshape(-1))
