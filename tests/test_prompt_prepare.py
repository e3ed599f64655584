"""A call's known prompts rendered before dialling (campaigns/prompts.py, VoicePipeline.prefetch_phone,
FollowupEngine.script): on the demo records and the real dialog engine and runner, the sentences a
call then speaks come out of the phone-audio cache — asserted on the cache and on the call's event
log — and the synthesizer is not asked for them again. The voice is a counting tone generator; the
cache, the engine and the session are the real ones."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from campaigns.call_session import CallEventType, CallSession, CallTarget
from campaigns.prompts import prepare_call_prompts
from models.voice import VoicePipeline
from records.campaigns import CallRequest
from records.schema import Discharge, Patient
from tests.conftest import demo_services
from tests.test_turn import EnergyVad


class CountingVoice:
    """A synthesizer whose audio is a tone as long as the text; counts what it was asked."""

    name = "counting"

    def __init__(self) -> None:
        self.asked: Counter[str] = Counter()

    def synthesize(self, text: str, language: str) -> tuple[np.ndarray, int]:
        self.asked[text] += 1
        t = np.arange(len(text) * 800) / 16000
        return (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 16000


class Line:
    async def play(self, mulaw: bytes) -> None: ...
    async def mark(self, name: str) -> None: ...
    async def clear(self) -> None: ...
    async def hangup(self) -> None: ...
    async def transfer(self, destination: str) -> str | None: return None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    services = demo_services(tmp_path_factory.mktemp("prepare"), "prepare", SUIFANG__MODELS__EMBEDDINGS__BACKEND="hashing",
                             SUIFANG__PHONE__PREPARE_PROMPTS_MAX="500")
    yield services
    services.close()


def _request(services, mrn: str) -> CallRequest:  # noqa: ANN001
    with services.session_factory() as session:
        patient = session.scalar(select(Patient).where(Patient.mrn == mrn))
        discharge = session.scalar(select(Discharge).where(Discharge.patient_id == patient.id))
        return CallRequest(key="t1", scheduled_call_id=1, patient_id=patient.id, discharge_id=discharge.id, try_number=1,
                           to_number="", language=patient.language, call_date=dt.date.today(), resume_call_id=None)


def test_a_prepared_calls_prompts_are_cache_hits(demo) -> None:  # noqa: ANN001
    from dialogs.runner import CallRunner

    synth = CountingVoice()
    demo._voice = VoicePipeline(synthesizer=synth, vad=EnergyVad(), phone_cache_items=1000)
    voice = demo._voice
    request = _request(demo, "DEMO0001")                 # 王建国, cardiology, zh
    report = prepare_call_prompts(demo, request).result(timeout=60)
    assert report.rendered == report.sentences > 10 and report.cached == 0 and report.skipped == 0
    language, texts = CallRunner.script(session_factory=demo.session_factory, flows=demo.flows, settings=demo.settings,
                                        patient_id=request.patient_id, discharge_id=request.discharge_id)
    assert language == "zh" and "王建国" in " ".join(texts)
    assert all(voice.cached_phone(s, "zh") is not None for t in texts for s in voice.sentences(t, "zh"))
    asked_before_call = sum(synth.asked.values())

    runner = CallRunner.open(session_factory=demo.session_factory, flows=demo.flows, settings=demo.settings,
                             patient_id=request.patient_id, discharge_id=request.discharge_id, channel="sip")
    session = CallSession(services=demo, transport=Line(), options=demo.phone_options(), channel="sip")

    async def call() -> None:
        await session.open(CallTarget(patient_id=request.patient_id), runner=runner)
        await asyncio.wait([session.prompt_task])
        await session._patient_said("对，我是王建国本人，1962年出生的", audio=None, confidence=0.9, ended_at=0.0)
        await asyncio.wait([session.prompt_task])
        await asyncio.wrap_future(session.prefetch)

    asyncio.run(call())
    audio_events = [e.code for e in session.events if e.type is CallEventType.PROMPT_AUDIO]
    assert len(audio_events) >= 4 and set(audio_events) == {"cache_hit"}, audio_events
    assert sum(synth.asked.values()) == asked_before_call        # nothing of the call was synthesized again
    prepared = [e.code for e in session.events if e.type is CallEventType.PROMPTS_PREPARED]
    assert prepared == [f"0/{session.prefetch.result().sentences}"]  # the session found it all done
    assert session.prefetch.result().cached > 10


def test_rendering_ahead_is_bounded_and_a_new_sentence_is_a_miss(demo) -> None:  # noqa: ANN001
    synth = CountingVoice()
    voice = VoicePipeline(synthesizer=synth, vad=EnergyVad())
    texts = ["第一句。第二句。", "第三句？", "第四句。第五句。第六句！"]
    report = voice.prefetch_phone(texts, "zh", max_sentences=4).result(timeout=30)
    assert (report.sentences, report.rendered, report.skipped) == (6, 4, 2)
    assert [voice.cached_phone(s, "zh") is not None for s in ["第一句。", "第四句。", "第五句。", "第六句！"]] == \
        [True, True, False, False]
    again = voice.prefetch_phone(texts, "zh", max_sentences=4).result(timeout=30)
    assert (again.cached, again.rendered) == (4, 2) and synth.asked["第一句。"] == 1

    session = CallSession(services=type("S", (), {"voice": lambda self: voice})(), transport=Line(),
                          options=demo.phone_options(), channel="sip")
    session.language = "zh"

    async def speak() -> None:
        await session._speak("第一句。全新的一句。", end_of_speech=None)
        await asyncio.wait([session.prompt_task])

    asyncio.run(speak())
    assert [e.code for e in session.events if e.type is CallEventType.PROMPT_AUDIO] == ["cache_hit", "cache_miss"]


def test_an_answer_starts_with_its_opening_clause_while_the_rest_is_synthesized(demo) -> None:  # noqa: ANN001
    """An answer to the patient's question is new text: its fixed opening (rendered ahead with the
    call's script) plays at once, and only the rest waits for synthesis — never the whole sentence."""
    from dialogs.runner import CallRunner
    from knowledge.answers import NURSE_CALLBACK

    synth = CountingVoice()
    voice = VoicePipeline(synthesizer=synth, vad=EnergyVad(), phone_cache_items=1000)
    request = _request(demo, "DEMO0001")
    language, texts = CallRunner.script(session_factory=demo.session_factory, flows=demo.flows, settings=demo.settings,
                                        patient_id=request.patient_id, discharge_id=request.discharge_id)
    assert "根据您的出院医嘱，" in texts                       # the answers' fixed opening clause
    assert NURSE_CALLBACK["not_in_orders"]["zh"] in texts  # a question the orders do not answer
    assert any("他" in t and "您" not in t for t in texts)     # the questions put to a family member
    voice.prefetch_phone(texts, language, max_sentences=500).result(timeout=60)

    session = CallSession(services=type("S", (), {"voice": lambda self: voice})(), transport=Line(),
                          options=demo.phone_options(), channel="sip")
    session.language = "zh"

    async def speak() -> None:
        await session._speak("根据您的出院医嘱，阿司匹林肠溶片需要长期服用。医嘱原文是：“长期服用”。", end_of_speech=0.0)
        await asyncio.wait([session.prompt_task])

    asyncio.run(speak())
    assert [e.code for e in session.events if e.type is CallEventType.PROMPT_AUDIO] == \
        ["cache_hit", "cache_miss", "cache_miss"]
    assert synth.asked["阿司匹林肠溶片需要长期服用。"] == 1
    assert synth.asked["根据您的出院医嘱，阿司匹林肠溶片需要长期服用。"] == 0
    assert [e.type for e in session.events].count(CallEventType.FIRST_AUDIO) == 1


from tests.test_campaigns import EXTRA, FakeClock, InlineQueue, campaign_db, context, local, scenarios, seed_scenario  # noqa: E402,F401


def test_the_worker_starts_rendering_a_calls_prompts_before_it_dials(campaign_db) -> None:  # noqa: ANN001,F811
    import dataclasses
    import uuid

    from campaigns.telephony import CallResult
    from campaigns.worker import dispatch_tick

    order: list[tuple[str, int]] = []

    class Telephony:
        def place_call(self, request: CallRequest, *, line: object) -> CallResult:
            order.append(("dial", request.patient_id))
            return CallResult(telephony_sid="SIP1", call_status="no_answer")

    settings, session_factory = campaign_db
    phone = f"+1555{uuid.uuid4().int % 10**7:07d}"
    patient_id, _ = seed_scenario(session_factory, settings, scenarios(EXTRA)["extra-en-no-answer"], phone=phone,
                                  discharged_on=dt.date(2026, 11, 28))
    ctx = context(campaign_db, Telephony(), FakeClock(local(2026, 12, 1, 9, 0)))
    ctx = dataclasses.replace(ctx, prepare_prompts=lambda request: order.append(("prepare", request.patient_id)))
    dispatch_tick(ctx, InlineQueue(ctx))
    mine = [step for step in order if step[1] == patient_id]
    assert mine == [("prepare", patient_id), ("dial", patient_id)]
