"""One stereo recording per call (campaigns/recording.py): the call session lays what the line brings in on
the left and what the service sends out on the right, on the line's time line, from the opening on; a
prompt the patient talks over is cut where playback was cleared; a call resumed on a new line gets a
second part. No models: the voice, the dialog and the line are stand-ins, the audio is tones."""

from __future__ import annotations

import asyncio
import contextlib
import wave
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from campaigns.call_session import CallSession, PhoneOptions
from campaigns.recording import CallRecording, recording_refs
from models import audio

OPENING_HZ, PATIENT_HZ = 440.0, 1000.0


def _tone(hz: float, seconds: float, level: float = 0.4) -> bytes:
    t = np.arange(int(8000 * seconds)) / 8000
    return audio.float_to_mulaw((level * np.sin(2 * np.pi * hz * t)).astype(np.float32))


class _Voice:
    def sentences(self, text: str, language: str) -> list[str]:
        return [text] if text else []

    def synthesize_phone(self, sentence: str, language: str) -> bytes:
        return _tone(OPENING_HZ, 2.0)           # every prompt: 2 s of 440 Hz

    def phone_decoder(self) -> Any:
        return lambda mulaw: np.zeros(len(mulaw) * 2, dtype=np.float32)


class _Detector:
    in_speech = False

    def feed(self, pcm16k: np.ndarray) -> list[str]:
        return []


class _Gateway:
    """A Media Streams gateway that plays at once: every mark comes back as soon as it is sent."""

    def __init__(self) -> None:
        self.session: CallSession | None = None
        self.played: list[bytes] = []

    async def play(self, mulaw: bytes) -> None:
        self.played.append(mulaw)

    async def mark(self, name: str) -> None:
        await self.session.played(name)

    async def clear(self) -> None:
        pass

    async def hangup(self) -> None:
        pass


class _Runner:
    def __init__(self) -> None:
        self.done, self.call_id, self._seq = False, 7, 1
        self.engine = SimpleNamespace(lang="zh")

    def hangup(self) -> None:
        self.done = True


class _Records:
    def add(self, row: Any) -> None:
        pass

    def commit(self) -> None:
        pass


def _services(data: Path) -> SimpleNamespace:
    voice = _Voice()
    return SimpleNamespace(voice=lambda: voice, session_factory=lambda: contextlib.nullcontext(_Records()),
                           settings=SimpleNamespace(data_path=lambda *p: data.joinpath(*p)))


def _call(data: Path, *, patient_s: float = 1.5) -> CallSession:
    """The opening (a 2 s prompt), the patient's answer (a 1 s pause, then a tone), the line closes."""
    gateway = _Gateway()
    session = CallSession(services=_services(data), transport=gateway, options=PhoneOptions())
    gateway.session = session
    session.runner, session.detector, session.language = _Runner(), _Detector(), "zh"

    async def run() -> None:
        await session._speak("您好，我是 AI 随访助手，本次通话会录音。", end_of_speech=None)
        await asyncio.wait([session.prompt_task])
        answer = b"\xff" * 8000 + _tone(PATIENT_HZ, patient_s)   # 1 s of line silence, then the answer
        for offset in range(0, len(answer), 160):
            await session.hear_phone(answer[offset:offset + 160])
        await session.close(dropped=False)

    asyncio.run(run())
    return session


def _read_stereo(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 2 and wav.getsampwidth() == 2
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    return samples.astype(np.float32) / 32768.0, rate


def _dominant_hz(x: np.ndarray, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / rate)[int(np.argmax(spectrum))])


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x ** 2))) if x.size else 0.0


def test_a_call_leaves_one_stereo_recording_patient_left_assistant_right(tmp_path: Path) -> None:
    _call(tmp_path)
    [(part, ref)] = recording_refs(tmp_path / "audio", 7)
    assert part == 1 and ref == "call-7/call-1.wav"
    stereo, rate = _read_stereo(tmp_path / "audio" / ref)
    left, right = stereo[:, 0], stereo[:, 1]
    assert rate == 8000
    # The opening is on the right from the first moment, alone: the patient is silent meanwhile.
    opening = right[:int(1.9 * rate)]
    assert _rms(opening) > 0.2 and abs(_dominant_hz(opening) - OPENING_HZ) < 10
    assert _rms(left[:int(1.9 * rate)]) < 1e-3
    # The patient's answer follows the opening (after its 1 s pause) on the left, the right quiet then; the
    # answer comes a few milliseconds of wall clock after the opening was acknowledged (0.2 s allowed).
    answer = slice(int(3.2 * rate), int(4.5 * rate))
    assert _rms(left[answer]) > 0.2 and abs(_dominant_hz(left[answer]) - PATIENT_HZ) < 10
    assert _rms(right[int(2.0 * rate):]) < 1e-3
    assert 4.5 * rate <= stereo.shape[0] <= 4.7 * rate


def test_a_resumed_call_gets_a_second_part_and_the_first_is_kept(tmp_path: Path) -> None:
    _call(tmp_path)
    first = (tmp_path / "audio" / "call-7" / "call-1.wav").read_bytes()
    _call(tmp_path, patient_s=0.5)
    assert [part for part, _ in recording_refs(tmp_path / "audio", 7)] == [1, 2]
    assert (tmp_path / "audio" / "call-7" / "call-1.wav").read_bytes() == first


def test_a_prompt_cleared_by_barge_in_is_cut_where_playback_stopped() -> None:
    now = [0.0]
    recording = CallRecording(clock=lambda: now[0])
    recording.said(_tone(OPENING_HZ, 5.0))      # a 5 s prompt queued on a real-time line
    recording.marked("end-1")
    now[0] = 1.0                                 # one second in, the patient has talked over it for 0.5 s
    recording.heard(_tone(PATIENT_HZ, 0.5))
    recording.cleared()
    recording.played("end-1")                    # a mark reported after the clear moves nothing
    stereo = recording.stereo()
    right = stereo[:, 1].astype(np.float32) / 32768
    assert np.count_nonzero(right) > 0.95 * 8000 and np.count_nonzero(right[8000:]) == 0
    left = stereo[:, 0].astype(np.float32) / 32768
    assert np.count_nonzero(left[:4000]) == 0 and _rms(left[4000:8000]) > 0.2  # spoken in the half second before it came


def test_audio_a_line_reports_played_moves_the_time_line_on() -> None:
    """A gateway that plays at once (the scripted caller) still gives a conversation in order: the answer
    after the prompt it answers, not on top of it."""
    now = [0.0]
    recording = CallRecording(clock=lambda: now[0])
    recording.said(_tone(OPENING_HZ, 3.0))
    recording.marked("end-1")
    now[0] = 0.2
    recording.played("end-1")
    recording.heard(_tone(PATIENT_HZ, 1.0))
    stereo = recording.stereo()
    assert stereo.shape[0] == 4 * 8000
    assert np.count_nonzero(stereo[:3 * 8000, 0]) == 0 and np.count_nonzero(stereo[3 * 8000:, 1]) == 0
