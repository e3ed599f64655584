"""Early recognition (campaigns/call_session.py, models/vad.py): a pause in the patient's turn starts
recognising the turn so far, so when the end-of-turn silence runs out the words are ready instead of
only then being recognised. Speech after the pause makes that early result stale: the turn is then
recognised whole. The session hears 20 ms frames through a real end-of-turn detector (an energy VAD
stands in for Silero, so durations are exact); the recogniser is scripted and says how much audio it got."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from campaigns.call_session import CallEventType, CallSession, PhoneOptions
from models.vad import EndOfTurnDetector
from tests.test_backchannel import Line, Runner
from tests.test_turn import EnergyVad, silence, tone

RATE = 16000
FRAME = 320


class CountingVoice:
    """A recogniser that writes down the length of what it heard; `gate` holds each decode until set."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.heard_s: list[float] = []
        self.gate = gate

    def sentences(self, text: str, language: str) -> list[str]:
        return [text] if text else []

    def synthesize_phone(self, sentence: str, language: str) -> bytes:
        return b"\xff" * 160

    def transcribe(self, audio16k: np.ndarray, language: str, *, context: str | None = None) -> Any:
        if self.gate is not None:
            self.gate.wait(5)
        self.heard_s.append(round(audio16k.size / RATE, 2))
        return SimpleNamespace(text=f"heard {audio16k.size / RATE:.2f} s", confidence=0.9,
                               duration_s=audio16k.size / RATE, dropped_segments=0)


def _call(signal: np.ndarray, *, settle_ms: int, voice: CountingVoice | None = None
          ) -> tuple[CallSession, Runner, CountingVoice]:
    options = PhoneOptions(early_recognition_ms=settle_ms)
    runner, line, voice = Runner(), Line(), voice or CountingVoice()
    session = CallSession(services=SimpleNamespace(voice=lambda: voice), transport=line, options=options)
    session.runner, session.language, session.greeting_phase = runner, "zh", False
    session._store_audio = lambda audio: None
    session.detector = EndOfTurnDetector(silence_ms=options.end_of_turn_silence_ms, settle_ms=settle_ms,
                                         vad=EnergyVad())

    async def run() -> None:
        session.opening_prompt = asyncio.get_running_loop().create_future()   # the opening is over
        for start in range(0, signal.size, FRAME):
            await session.hear(signal[start:start + FRAME])
        if session.prompt_task is not None:
            await asyncio.wait([session.prompt_task])

    asyncio.run(run())
    return session, runner, voice


def _recognised(session: CallSession) -> list[str | None]:
    return [e.code for e in session.events if e.type is CallEventType.RECOGNISED]


def test_a_turn_that_ends_at_the_pause_uses_the_words_recognised_during_it() -> None:
    session, runner, voice = _call(np.concatenate([silence(0.3), tone(1.0), silence(1.2)]), settle_ms=300)
    assert len(voice.heard_s) == 1                     # recognised once, during the pause
    # The turn up to the pause: the pre-roll kept before the onset, the speech and ≈ 300 ms of silence,
    # not the whole 700 ms the turn waited.
    assert voice.heard_s[0] == pytest.approx(0.3 + 1.0 + 0.3, abs=0.1)
    assert _recognised(session) == ["early"]
    assert runner.said == [f"heard {voice.heard_s[0]:.2f} s"]


def test_speech_after_the_pause_makes_the_early_words_stale() -> None:
    signal = np.concatenate([silence(0.3), tone(0.8), silence(0.45), tone(0.6), silence(1.2)])
    session, runner, voice = _call(signal, settle_ms=300)
    assert len(voice.heard_s) == 2          # the first part (stale), then the whole turn in its last pause
    assert voice.heard_s[0] == pytest.approx(0.3 + 0.8 + 0.3, abs=0.1)
    assert voice.heard_s[1] == pytest.approx(0.3 + 0.8 + 0.45 + 0.6 + 0.3, abs=0.1)
    assert runner.said == [f"heard {voice.heard_s[1]:.2f} s"]   # never the half turn
    assert _recognised(session) == ["early"]


def test_the_turn_waits_for_an_early_recognition_still_running() -> None:
    """A slow recogniser: the turn's end waits for the early decode instead of starting another."""
    gate = threading.Event()
    threading.Timer(0.3, gate.set).start()   # the decode finishes after the turn has ended
    session, runner, voice = _call(np.concatenate([silence(0.3), tone(1.0), silence(1.5)]), settle_ms=300,
                                   voice=CountingVoice(gate))
    assert len(voice.heard_s) == 1 and _recognised(session) == ["early"]
    assert runner.said == [f"heard {voice.heard_s[0]:.2f} s"]


def test_with_early_recognition_off_the_turn_is_recognised_when_it_ends() -> None:
    session, runner, voice = _call(np.concatenate([silence(0.3), tone(1.0), silence(1.2)]), settle_ms=0)
    assert voice.heard_s == [pytest.approx(0.3 + 1.0 + 0.7, abs=0.1)]
    assert _recognised(session) == [None]


def test_the_detector_reports_settling_once_per_pause_and_speech_resuming() -> None:
    detector = EndOfTurnDetector(silence_ms=700, settle_ms=300, vad=EnergyVad())
    signal = np.concatenate([tone(0.6), silence(0.4), tone(0.5), silence(0.2), tone(0.3), silence(1.0)])
    events = []
    for start in range(0, signal.size, FRAME):
        events += [(e, (start + FRAME) / RATE) for e in detector.feed(signal[start:start + FRAME])]
    assert [e for e, _ in events] == ["speech_start", "settling", "resumed", "settling", "end_of_turn"]
    assert events[1][1] == pytest.approx(0.6 + 0.3, abs=0.07)
    assert events[3][1] == pytest.approx(2.0 + 0.3, abs=0.07)   # a 0.2 s breath is no pause
    assert events[4][1] == pytest.approx(2.0 + 0.7, abs=0.07)


def test_settling_must_come_before_the_end_of_turn() -> None:
    from suifang.config import PhoneConfig

    with pytest.raises(ValueError, match="early_recognition_ms"):
        PhoneConfig(early_recognition_ms=700, end_of_turn_silence_ms=700)
    assert PhoneConfig(early_recognition_ms=0).early_recognition_ms == 0
    with pytest.raises(ValueError):
        EndOfTurnDetector(settle_ms=-1, vad=EnergyVad())


def test_no_early_recognition_while_other_turns_wait_for_the_recogniser() -> None:
    """Under load a guess must not queue ahead of other calls' finished turns."""
    busy = CountingVoice()
    busy.transcriptions_in_flight = PhoneOptions().early_recognition_queue + 1
    session, runner, voice = _call(np.concatenate([silence(0.3), tone(1.0), silence(1.2)]), settle_ms=300, voice=busy)
    assert voice.heard_s == [pytest.approx(0.3 + 1.0 + 0.7, abs=0.1)] and _recognised(session) == [None]
    idle = CountingVoice()
    idle.transcriptions_in_flight = PhoneOptions().early_recognition_queue
    session, runner, voice = _call(np.concatenate([silence(0.3), tone(1.0), silence(1.2)]), settle_ms=300, voice=idle)
    assert _recognised(session) == ["early"]


def test_the_pipeline_counts_transcriptions_in_flight() -> None:
    from models.voice import VoicePipeline

    gate, seen = threading.Event(), []

    class SlowRecognizer:
        def transcribe(self, audio16k: np.ndarray, language: str, *, context: str | None = None) -> Any:
            gate.wait(5)
            return SimpleNamespace(text="x")

    pipeline = VoicePipeline(recognizer=SlowRecognizer(), vad=EnergyVad())
    worker = threading.Thread(target=lambda: seen.append(pipeline.transcribe(np.zeros(1600, np.float32), "zh")))
    worker.start()
    for _ in range(100):
        if pipeline.transcriptions_in_flight:
            break
        threading.Event().wait(0.01)
    assert pipeline.transcriptions_in_flight == 1
    gate.set()
    worker.join(5)
    assert pipeline.transcriptions_in_flight == 0 and seen[0].text == "x"


def test_a_decode_that_waited_for_another_is_greedy() -> None:
    """Calls queueing for the one recogniser: the decode that had to wait searches with
    beam_size_queued (the wait is the latency then); an idle recogniser uses the full beam."""
    from models.asr import DecodeOptions, FasterWhisperRecognizer

    beams: list[int] = []
    started, release = threading.Event(), threading.Event()

    class Model:
        def transcribe(self, audio: np.ndarray, **kw: Any) -> tuple[list[Any], None]:
            beams.append(kw["beam_size"])
            started.set()
            release.wait(5)
            return [], None

    from models.asr import DecodeSlots

    recognizer = object.__new__(FasterWhisperRecognizer)
    recognizer.model, recognizer.options = Model(), DecodeOptions(beam_size=5, beam_size_queued=1, window_s=30)
    recognizer.slots = DecodeSlots(1)
    clip = np.zeros(RATE, np.float32)
    first = threading.Thread(target=recognizer.transcribe, args=(clip, "zh"))
    first.start()
    started.wait(5)
    second = threading.Thread(target=recognizer.transcribe, args=(clip, "zh"))
    second.start()
    threading.Event().wait(0.2)           # the second decode is now waiting for the lock
    release.set()
    first.join(5), second.join(5)
    recognizer.transcribe(clip, "zh")     # idle again
    assert beams == [5, 1, 5]


def test_two_decode_slots_run_two_calls_at_once_and_a_third_waits() -> None:
    """With two CTranslate2 workers, a second call's answer is decoded beside the first (greedy, the
    cores are shared); a third waits until one of them finishes."""
    from models.asr import DecodeOptions, DecodeSlots, FasterWhisperRecognizer

    running, peak, beams = [0], [0], []
    count = threading.Lock()
    two_running, release = threading.Event(), threading.Event()

    class Model:
        def transcribe(self, audio: np.ndarray, **kw: Any) -> tuple[list[Any], None]:
            with count:
                beams.append(kw["beam_size"])
                running[0] += 1
                peak[0] = max(peak[0], running[0])
                if running[0] == 2:
                    two_running.set()
            release.wait(5)
            with count:
                running[0] -= 1
            return [], None

    recognizer = object.__new__(FasterWhisperRecognizer)
    recognizer.model, recognizer.options = Model(), DecodeOptions(beam_size=5, beam_size_queued=1, window_s=30)
    recognizer.slots = DecodeSlots(2)
    clip = np.zeros(RATE, np.float32)
    calls = [threading.Thread(target=recognizer.transcribe, args=(clip, "zh")) for _ in range(3)]
    for call in calls:
        call.start()
        threading.Event().wait(0.05)
    assert two_running.wait(5)
    threading.Event().wait(0.2)
    assert running[0] == 2            # the third is waiting for a slot
    release.set()
    for call in calls:
        call.join(5)
    assert peak[0] == 2 and sorted(beams) == [1, 1, 5] and beams[0] == 5
    assert not recognizer.slots.contended
