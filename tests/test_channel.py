"""The voice evaluation's degraded phone channel (evaluation/channel.py) and the G.711 A-law codec it uses
(models/audio.py): the codec is bit-exact with the reference algorithm and round-trips speech-band audio
well; the channel's level change, noise and lost frames are what it reports, measured on its output, and
the same seed gives the same damage. No models; a few seconds of synthetic speech-like audio."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from evaluation.channel import (FRAME, NOMINAL_LEVEL_DBFS, ChannelOptions, PhoneChannel, active_level_dbfs,
                                codec_round_trip, default_options)
from models import audio

RATE_IN = 16000


def _speech_like(seconds: float = 4.0, seed: int = 1) -> np.ndarray:
    """Voiced 'syllables' (a 120 Hz harmonic series under a 4 Hz envelope) with pauses, at 16 kHz."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(RATE_IN * seconds)) / RATE_IN
    f0 = 120 * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / RATE_IN
    voiced = sum(np.sin(k * phase) / k for k in range(1, 25))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 2
    envelope[(t % 1.0) > 0.8] = 0                      # a pause every second
    x = voiced * envelope + 0.001 * rng.standard_normal(t.size)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def _decode(mulaw: bytes) -> np.ndarray:
    return audio.mulaw_to_float(mulaw).astype(np.float64)


# ----- G.711 A-law -------------------------------------------------------------------------------------------

def test_alaw_is_bit_exact_with_the_reference_codec() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")       # the stdlib's C codec, until Python 3.13
    every = np.arange(-32768, 32768, dtype=np.int16)
    assert audio.alaw_encode(every) == audioop.lin2alaw(every.tobytes(), 2)
    codes = bytes(range(256))
    assert audio.alaw_decode(codes).astype("<i2").tobytes() == audioop.alaw2lin(codes, 2)


def test_alaw_known_codes_and_round_trip() -> None:
    assert audio.alaw_encode(np.array([0, -1, 32767, -32768], dtype=np.int16)) == bytes([0xD5, 0x55, 0xAA, 0x2A])
    assert audio.alaw_decode(bytes([0xD5, 0x55])).tolist() == [8, -8]
    # Every code decodes to a value that encodes back to it.
    codes = np.frombuffer(bytes(range(256)), dtype=np.uint8)
    assert audio.alaw_encode(audio.alaw_decode(codes)) == codes.tobytes()


@pytest.mark.parametrize("codec", ["alaw", "mulaw"])
def test_codec_round_trip_keeps_speech_band_audio(codec: str) -> None:
    t = np.arange(8000) / 8000
    tone = (0.3 * np.sin(2 * np.pi * 1013 * t)).astype(np.float32)   # not a divisor of 8 kHz: noise-like error
    back = codec_round_trip(tone, codec)
    snr = 10 * np.log10(np.mean(tone.astype(np.float64) ** 2) / np.mean((back - tone).astype(np.float64) ** 2))
    assert 30 < snr < 45                               # G.711: ≈ 38 dB at this level, never lossless
    with pytest.raises(ValueError, match="unknown codec"):
        codec_round_trip(tone, "opus")


# ----- the channel -------------------------------------------------------------------------------------------

def test_background_noise_is_at_the_reported_snr_measured_on_the_output() -> None:
    speech = _speech_like()
    options = ChannelOptions(codec="mulaw", frame_loss=0.0)
    for key in ("a", "b", "c"):
        noisy = PhoneChannel(options, call_key=key)
        received = _decode(noisy.transmit(speech, RATE_IN))
        # The same seed and call draw the same level and noise shape; only the noise's size differs.
        quiet = PhoneChannel(ChannelOptions(codec="mulaw", frame_loss=0.0, snr_db=(200.0, 200.0)), call_key=key)
        clean = _decode(quiet.transmit(speech, RATE_IN))
        assert quiet.report.utterances[0].gain_db == noisy.report.utterances[0].gain_db
        noise = received - clean
        measured = active_level_dbfs(clean) - audio.rms_dbfs(noise)
        reported = noisy.report.utterances[0].snr_db
        # G.711 quantises the noisy and the clean signal differently (≈ 35 dB below the speech): allow 1 dB.
        assert 20.0 - 1.0 <= measured <= 25.0 + 0.5
        assert abs(measured - reported) < 1.0
        # The noise runs through the silences before and after the words: the line is never digital silence.
        lead = received[:int(0.25 * 8000)]
        assert np.sqrt(np.mean(lead ** 2)) > 10 ** ((NOMINAL_LEVEL_DBFS - 6 - 25 - 3) / 20)


def test_level_changes_per_utterance_within_the_range() -> None:
    speech = _speech_like(2.0)
    channel = PhoneChannel(ChannelOptions(codec="alaw", frame_loss=0.0, snr_db=(200.0, 200.0)), call_key="levels")
    levels = []
    for _ in range(12):
        received = _decode(channel.transmit(speech, RATE_IN))
        levels.append(active_level_dbfs(received))
    gains = [u.gain_db for u in channel.report.utterances]
    assert all(-6.0 <= g <= 3.0 for g in gains) and max(gains) - min(gains) > 3.0
    for level, gain in zip(levels, gains):
        assert abs(level - (NOMINAL_LEVEL_DBFS + gain)) < 0.5


def test_lost_frames_are_counted_and_replaced_by_silence() -> None:
    t = np.arange(RATE_IN * 20) / RATE_IN
    tone = (0.3 * np.sin(2 * np.pi * 500 * t)).astype(np.float32)   # 20 s: 1,000 frames of speech band
    channel = PhoneChannel(ChannelOptions(codec="alaw", frame_loss=0.05), call_key="loss")
    received = audio.mulaw_decode(channel.transmit(tone, RATE_IN, leading_silence_ms=0, trailing_silence_ms=0))
    frames = received.reshape(-1, FRAME)
    silent = int(np.count_nonzero(~frames.any(axis=1)))          # the noise leaves no other frame all zero
    report = channel.report.utterances[0]
    assert silent == report.frames_lost and report.frames == frames.shape[0] == 1000
    assert 25 <= report.frames_lost <= 80                          # ≈ 5 % of 1,000
    assert channel.report.summary()["frames_lost"] == report.frames_lost


def test_lost_frames_can_repeat_the_previous_frame() -> None:
    t = np.arange(RATE_IN * 10) / RATE_IN
    chirp = (0.3 * np.sin(2 * np.pi * (300 + 100 * t) * t)).astype(np.float32)
    channel = PhoneChannel(ChannelOptions(codec="mulaw", frame_loss=0.05, loss_fill="repeat"), call_key="repeat")
    frames = audio.mulaw_decode(channel.transmit(chirp, RATE_IN, leading_silence_ms=0,
                                                 trailing_silence_ms=0)).reshape(-1, FRAME)
    repeats = sum(1 for i in range(1, frames.shape[0]) if np.array_equal(frames[i], frames[i - 1]))
    assert repeats == channel.report.utterances[0].frames_lost > 0


def test_the_same_seed_gives_the_same_line_and_another_seed_another() -> None:
    speech = _speech_like(2.0)
    first = PhoneChannel(default_options("zh", seed=13), call_key="dev-zh-pci").transmit(speech, RATE_IN)
    again = PhoneChannel(default_options("zh", seed=13), call_key="dev-zh-pci").transmit(speech, RATE_IN)
    other = PhoneChannel(default_options("zh", seed=14), call_key="dev-zh-pci").transmit(speech, RATE_IN)
    assert first == again and first != other
    assert default_options("zh").codec == "alaw" and default_options("en").codec == "mulaw"
    assert len(first) % FRAME == 0


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="codec"):
        ChannelOptions(codec="g729")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="frame_loss"):
        ChannelOptions(frame_loss=1.5)
