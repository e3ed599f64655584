"""The call session's hand-over to a nurse, on a recording line (no models, no network): the patient's
request or a red flag inside office hours is announced and transferred to the ward's extension, with
the review item opened first; outside office hours the patient hears when a nurse will call back and
the call goes on; a transfer the PBX refuses is said and the call goes on."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import numpy as np

from campaigns.call_session import CallEventType, CallSession, PhoneOptions, TransferPolicy
from dialogs.engine import Reply


class _Voice:
    def __init__(self) -> None:
        self.spoken: list[str] = []

    def sentences(self, text: str, language: str) -> list[str]:
        return [text] if text else []

    def synthesize_phone(self, sentence: str, language: str) -> bytes:
        self.spoken.append(sentence)
        return b"\xff" * 320

    def phone_decoder(self) -> Any:
        return lambda mulaw: np.zeros(len(mulaw) * 2, dtype=np.float32)


class _Line:
    def __init__(self, transfer_result: str | None = "refer") -> None:
        self.transfers: list[str] = []
        self.result = transfer_result

    async def play(self, mulaw: bytes) -> None:
        pass

    async def mark(self, name: str) -> None:
        pass

    async def clear(self) -> None:
        pass

    async def hangup(self) -> None:
        pass

    async def transfer(self, destination: str) -> str | None:
        self.transfers.append(destination)
        return self.result

    async def drained(self) -> None:
        pass


class _Runner:
    def __init__(self, events: tuple[dict[str, Any], ...]) -> None:
        self.events, self.done, self.call_id, self._seq = events, False, 7, 1
        self.notes: list[str] = []
        self.handed: list[str] = []
        self.engine = SimpleNamespace(lang="en", context=SimpleNamespace(
            patient_name="Helen Carter", medications=[], hospital="First Hospital", ward_team="the cardiology team"))

    def handle(self, text: str, **_: Any) -> Reply:
        return Reply(say="Of course, I've asked a nurse to call you back.", expecting="overall_condition",
                     done=False, events=self.events)

    def ward_code(self) -> str:
        return "CARD-1"

    def note_transfer(self, reason: str) -> None:
        self.notes.append(reason)

    def transferred(self, how: str) -> None:
        self.handed.append(how)
        self.done = True


def _hand_over(events: tuple[dict[str, Any], ...], *, open_now: bool, line: _Line | None = None,
               extensions: dict[str, str] | None = None) -> tuple[CallSession, _Runner, _Line, _Voice]:
    voice, runner, line = _Voice(), _Runner(events), line or _Line()
    wards = {"CARD-1": "8001"} if extensions is None else extensions
    policy = TransferPolicy(destination=lambda ward: wards.get(ward),
                            open_now=lambda: open_now, next_opening=lambda language: "tomorrow after 8 a.m.")
    session = CallSession(services=SimpleNamespace(voice=lambda: voice), transport=line, options=PhoneOptions(),
                          channel="sip", transfer=policy)
    session.runner, session.language = runner, "en"

    async def run() -> None:
        await session._patient_said("I want to talk to a nurse", audio=None, confidence=0.9, ended_at=0.0)
        if session.prompt_task is not None:
            await asyncio.wait([session.prompt_task])

    asyncio.run(run())
    return session, runner, line, voice


def _transfer_codes(session: CallSession) -> list[str | None]:
    return [e.code for e in session.events if e.type is CallEventType.TRANSFER]


def test_a_request_for_a_nurse_inside_office_hours_is_transferred() -> None:
    session, runner, line, voice = _hand_over(({"type": "transfer_requested"},), open_now=True)
    assert runner.notes == ["patient_request"]          # the review item first, with the transcript so far
    assert line.transfers == ["8001"] and runner.handed == ["refer"]
    assert "putting you through to a nurse" in voice.spoken[0]
    assert _transfer_codes(session) == ["refer"]


def test_a_red_flag_inside_office_hours_is_transferred() -> None:
    session, runner, line, _ = _hand_over(({"type": "flag", "level": "red", "code": "chest_pain"},), open_now=True)
    assert runner.notes == ["red_flag"] and line.transfers == ["8001"]
    _, runner, line, _ = _hand_over(({"type": "flag", "level": "yellow", "code": "bp_high"},), open_now=True)
    assert runner.notes == [] and line.transfers == []  # a yellow flag is for the queue, not a transfer


def test_outside_office_hours_the_patient_hears_when_a_nurse_will_call() -> None:
    session, runner, line, voice = _hand_over(({"type": "transfer_requested"},), open_now=False)
    assert line.transfers == [] and runner.handed == [] and not runner.done
    assert "tomorrow after 8 a.m." in voice.spoken[-1] and "nurse to call you back" in voice.spoken[-1]
    assert runner.notes == ["patient_request"] and _transfer_codes(session) == ["later"]


def test_a_ward_without_an_extension_or_a_refused_transfer_keeps_the_call() -> None:
    session, runner, line, voice = _hand_over(({"type": "transfer_requested"},), open_now=True, extensions={})
    assert line.transfers == [] and _transfer_codes(session) == ["later"]
    session, runner, line, voice = _hand_over(({"type": "transfer_requested"},), open_now=True,
                                              line=_Line(transfer_result=None))
    assert line.transfers == ["8001"] and runner.handed == [] and not runner.done
    assert "couldn't reach a nurse" in voice.spoken[-1] and _transfer_codes(session) == ["failed"]
