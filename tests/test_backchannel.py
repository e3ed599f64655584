"""Backchannels do not barge in (campaigns/call_session.py, language/backchannel.py).

The session hears 20 ms frames through a real end-of-turn detector (an energy VAD stands in for Silero,
so durations are exact) while a prompt is on the line; the recogniser is scripted. "嗯" over a prompt
neither interrupts it nor answers it; a second of speech interrupts it; a short real answer ("不是")
interrupts it once recognised; after the prompt, "嗯" is an answer like any other."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from campaigns.call_session import CallEventType, CallSession, PhoneOptions
from dialogs.engine import Reply
from language.backchannel import is_backchannel
from models.vad import EndOfTurnDetector
from tests.test_turn import EnergyVad, silence, tone

OPTIONS = PhoneOptions()


class Voice:
    def __init__(self, heard: str) -> None:
        self.heard = heard
        self.contexts: list[str | None] = []

    def sentences(self, text: str, language: str) -> list[str]:
        return [text] if text else []

    def synthesize_phone(self, sentence: str, language: str) -> bytes:
        return b"\xff" * 1600

    def transcribe(self, audio16k: np.ndarray, language: str, *, context: str | None = None) -> Any:
        self.contexts.append(context)
        return SimpleNamespace(text=self.heard, confidence=0.9, duration_s=audio16k.size / 16000, dropped_segments=0)

    def write_wav(self, path, audio, rate) -> None:  # noqa: ANN001
        pass


class Line:
    def __init__(self) -> None:
        self.cleared = 0

    async def play(self, mulaw: bytes) -> None: ...
    async def mark(self, name: str) -> None: ...
    async def hangup(self) -> None: ...
    async def transfer(self, destination: str) -> str | None: return None

    async def clear(self) -> None:
        self.cleared += 1


class Runner:
    def __init__(self) -> None:
        self.done, self.call_id, self._seq = False, 3, 1
        self.said: list[str] = []
        self.engine = SimpleNamespace(lang="zh", context=SimpleNamespace(patient_name="王建国", medications=[]))

    def handle(self, text: str, **_: Any) -> Reply:
        self.said.append(text)
        return Reply(say="好的。", expecting="overall_condition", done=False)


def _call(heard: str, speech: np.ndarray, *, prompt_played: bool = False,
          prompt_ends_during_speech: bool = False) -> tuple[CallSession, Runner, Line]:
    runner, line, voice = Runner(), Line(), Voice(heard)
    session = CallSession(services=SimpleNamespace(voice=lambda: voice), transport=line, options=OPTIONS)
    session.runner, session.language, session.greeting_phase = runner, "zh", False
    session._store_audio = lambda audio: None                     # no files in this test
    session.detector = EndOfTurnDetector(silence_ms=OPTIONS.end_of_turn_silence_ms, vad=EnergyVad())

    async def run() -> None:
        session.opening_prompt = asyncio.get_running_loop().create_future()   # the opening is over
        await session._speak("您这几天血压怎么样？", end_of_speech=None)
        await asyncio.wait([session.prompt_task])
        if prompt_played:
            for name in list(session.playing_marks):
                await session.played(name)
        signal = np.concatenate([silence(0.3), speech, silence(1.2)])
        for start in range(0, signal.size, 320):
            await session.hear(signal[start:start + 320])
            if prompt_ends_during_speech and start / 16000 >= 0.3 + speech.size / 16000:
                for name in list(session.playing_marks):   # the line reports the prompt played
                    await session.played(name)
        if session.prompt_task is not None:
            await asyncio.wait([session.prompt_task])

    asyncio.run(run())
    return session, runner, line


def _types(session: CallSession) -> list[CallEventType]:
    return [e.type for e in session.events]


def test_a_backchannel_over_a_prompt_is_neither_an_interruption_nor_an_answer() -> None:
    session, runner, line = _call("嗯嗯。", tone(OPTIONS.barge_in_min_speech_ms / 1000 - 0.1))
    assert line.cleared == 0 and CallEventType.BARGE_IN not in _types(session)
    assert CallEventType.BACKCHANNEL in _types(session) and runner.said == []
    assert session.audible                                         # the prompt is still on the line
    assert "嗯" in session.voice.contexts[0]                       # told to expect a backchannel


def test_a_backchannel_as_the_prompt_ends_is_an_answer() -> None:
    """"对" said over the question's last words: by the time the turn ends the prompt has played out."""
    session, runner, line = _call("对", tone(0.3), prompt_ends_during_speech=True)
    assert runner.said == ["对"] and line.cleared == 0 and CallEventType.BACKCHANNEL not in _types(session)


def test_a_second_of_speech_over_a_prompt_barges_in() -> None:
    assert OPTIONS.barge_in_min_speech_ms < 1000
    session, runner, line = _call("我这几天血压有点高", tone(1.0))
    assert line.cleared == 1 and CallEventType.BARGE_IN in _types(session)
    assert runner.said == ["我这几天血压有点高"]


def test_a_short_answer_over_a_prompt_interrupts_it_once_recognised() -> None:
    session, runner, line = _call("不是", tone(OPTIONS.barge_in_min_speech_ms / 1000 - 0.1))
    assert line.cleared == 1 and CallEventType.BACKCHANNEL not in _types(session)
    assert runner.said == ["不是"]


def test_after_the_prompt_a_backchannel_word_is_an_answer() -> None:
    session, runner, line = _call("嗯", tone(0.3), prompt_played=True)
    assert runner.said == ["嗯"] and line.cleared == 0 and CallEventType.BACKCHANNEL not in _types(session)


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("嗯", "zh", True), ("嗯嗯。", "zh", True), ("对对", "zh", True), ("对对对，是的", "zh", True), ("好的好的", "zh", True),
    ("不是", "zh", False), ("对，我吃了", "zh", False), ("等一下", "zh", False), ("", "zh", False),
    ("Uh-huh.", "en", True), ("yeah", "en", True), ("Yeah, yeah.", "en", True), ("mm-hmm", "en", True),
    ("OK, I see.", "en", True), ("No.", "en", False), ("Yeah, but I stopped the pills", "en", False), ("", "en", False),
])
def test_backchannel_words(text: str, language: str, expected: bool) -> None:
    assert is_backchannel(text, language) is expected
