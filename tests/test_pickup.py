"""Who answered (issue #13): the first seconds of a call classified by what is said, not by how long.
Carrier announcements map to their try outcomes, a voicemail greeting is voicemail, a person — however
long they speak — gets the call; an empty number stops the retry ladder and opens a nurse task."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import uuid
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from language.pickup import classify_pickup, outcomes
from records.outcome_contract import CALL_STATUSES

LONG_FAMILY_GREETING = "喂，你好，我是他女儿，我爸在医院那边刚回来，他耳朵不好你跟我说就行……"

ANNOUNCEMENTS = [
    # Chinese carriers (中国移动 / 联通 / 电信), as Whisper writes them, with and without the English half
    ("您好，您拨打的电话已关机。Sorry, the subscriber you dialed is power off.", "powered_off", "no_answer", "no_answer"),
    ("您拨打的电话已关机", "powered_off", "no_answer", "no_answer"),
    ("对不起，您拨打的用户已关机", "powered_off", "no_answer", "no_answer"),
    ("您拨打的电话暂时无法接通，请稍后再拨", "unreachable", "no_answer", "no_answer"),
    ("您拨打的用户暂时无法接通。Sorry, the subscriber you dialed cannot be connected for the moment.", "unreachable",
     "no_answer", "no_answer"),
    ("您拨打的用户不在服务区", "unreachable", "no_answer", "no_answer"),
    ("您拨打的号码是空号，请查证后再拨。", "not_found", "failed", "not_found"),
    ("您拨打的号码是空号", "not_found", "failed", "not_found"),
    ("您拨打的号码不存在", "not_found", "failed", "not_found"),
    ("您拨打的电话正在通话中，请稍后再拨", "busy", "busy", "busy"),
    ("您拨打的用户正忙，请稍后再拨", "busy", "busy", "busy"),
    ("您拨打的电话已停机", "suspended", "failed", "not_found"),
    ("对不起，您拨打的电话暂停服务", "suspended", "failed", "not_found"),
    ("您拨打的电话暂时无人接听，请稍后再拨", "no_answer", "no_answer", "no_answer"),
    ("您 拨打 的 电话 已 关机", "powered_off", "no_answer", "no_answer"),   # recogniser spacing
    # English counterparts
    ("The number you have dialled is not in service.", "not_found", "failed", "not_found"),
    ("We're sorry, the number you have dialed is no longer in service.", "not_found", "failed", "not_found"),
    ("Sorry, the number you dialed does not exist, please check the number and dial again.", "not_found", "failed",
     "not_found"),
    ("The mobile phone you are calling is switched off.", "powered_off", "no_answer", "no_answer"),
    ("The subscriber you have dialled is busy, please try again later.", "busy", "busy", "busy"),
    ("The number you have dialled has been suspended.", "suspended", "failed", "not_found"),
    ("The subscriber you dialed cannot be connected for the moment.", "unreachable", "no_answer", "no_answer"),
    ("Please try again later.", "unreachable", "no_answer", "no_answer"),
    ("The subscriber you dialed is not in the service area.", "unreachable", "no_answer", "no_answer"),
]

VOICEMAIL = [
    "您好，我现在不方便接听电话，请在提示音后留言。",
    "请在提示音后留言",
    "您好，我现在不方便接听",
    "Hi, you've reached Helen. I can't take your call right now, please leave a message after the tone.",
    "The person you are calling is not available.",
    "Please leave a message after the beep.",
]

PEOPLE = [
    LONG_FAMILY_GREETING,
    "喂？",
    "喂，哪位啊？",
    "对，我是王建国，你说。",
    "喂，他现在不方便接电话，我是他老伴，你跟我说吧。",   # a weak voicemail cue, but someone talking to us
    "我爸手机今天没电了，用我的号码吧，你有什么事跟我说",
    "Hello? Yes, this is Robert speaking.",
    "Hello? He is not available right now, I'm his daughter, you can tell me.",
    "嗯……",
]


@pytest.mark.parametrize(("text", "kind", "call_status", "try_outcome"), ANNOUNCEMENTS)
def test_each_carrier_announcement_maps_to_its_outcome(text: str, kind: str, call_status: str,
                                                       try_outcome: str) -> None:
    pickup = classify_pickup(text)
    assert (pickup.kind, pickup.call_status, pickup.try_outcome) == (kind, call_status, try_outcome)
    assert pickup.ends_call and pickup.evidence


@pytest.mark.parametrize("text", VOICEMAIL)
def test_a_voicemail_greeting_is_voicemail(text: str) -> None:
    pickup = classify_pickup(text)
    assert (pickup.kind, pickup.call_status, pickup.try_outcome) == ("voicemail", "voicemail", "voicemail")


@pytest.mark.parametrize("text", PEOPLE)
def test_a_person_gets_the_call_however_long_they_speak(text: str) -> None:
    pickup = classify_pickup(text)
    assert pickup.kind == "person" and not pickup.ends_call


def test_no_words_is_unknown_and_left_to_the_length_fallback() -> None:
    for text in ("", "   ", "……", "。，"):
        assert classify_pickup(text).kind == "unknown"


def test_every_outcome_is_a_contract_status_and_a_known_try_outcome() -> None:
    from campaigns.windows import RETRYABLE_STATUSES, TERMINAL_STATUSES

    for kind, (call_status, try_outcome) in outcomes().items():
        assert call_status in CALL_STATUSES, kind
        assert try_outcome in RETRYABLE_STATUSES | TERMINAL_STATUSES, kind
    assert {k for _, k, _, _ in ANNOUNCEMENTS} | {"voicemail"} == set(outcomes())


# ----- the phone line: the decision made where the length rule was ----------------------------------

class _Detector:
    """VAD stand-in: every frame is speech; the first starts it, `ending` frames end the turn."""

    def __init__(self) -> None:
        self.in_speech, self.frames, self.end_at = False, 0, None

    def feed(self, _pcm: np.ndarray) -> list[str]:
        self.frames += 1
        if self.frames == 1:
            self.in_speech = True
            return ["speech_start"]
        if self.end_at is not None and self.frames >= self.end_at:
            self.in_speech = False
            return ["end_of_turn"]
        return []


class _Voice:
    def __init__(self, text: str) -> None:
        self.text, self.heard_s = text, []

    def phone_decoder(self) -> Any:
        return lambda mulaw: np.full(len(mulaw) * 2, 0.1, dtype=np.float32)

    def transcribe(self, audio: np.ndarray, language: str, *, context: str | None = None) -> Any:
        self.heard_s.append(audio.size / 16000)
        return SimpleNamespace(text=self.text, confidence=0.9, duration_s=audio.size / 16000, dropped_segments=0)

    def sentences(self, text: str, language: str) -> list[str]:
        return [text] if text else []

    def synthesize_phone(self, sentence: str, language: str) -> bytes:
        return b"\xff" * 160

    def write_wav(self, path: Any, audio: np.ndarray, rate: int) -> None:
        pass


class _Runner:
    def __init__(self) -> None:
        self.done, self.call_id, self._seq, self.heard, self.unreached = False, 1, 1, [], []
        self.engine = SimpleNamespace(lang="zh", context=SimpleNamespace(
            patient_name="王建国", medications=[], hospital="第一医院", ward_team="心内科"))

    def handle(self, text: str, **_: Any) -> Any:
        self.heard.append(text)
        return SimpleNamespace(say="好的，请问您最近感觉怎么样？", done=False)

    def mark_unreached(self, status: str, *, evidence: str | None = None) -> dict[str, Any]:
        self.unreached.append((status, evidence))
        self.done = True
        return {"call_status": status}


class _Socket:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_text(self, raw: str) -> None:
        import json

        self.sent.append(json.loads(raw))


def _pick_up(tmp_path: Any, text: str, *, speech_s: float, end_of_turn: bool = True) -> tuple[Any, _Runner, _Voice]:
    """Speech of `speech_s` seconds at pick-up, recognised as `text`, through the call session of the
    Media Streams line."""
    from api.phone import MediaStreamsLine
    from campaigns.call_session import CallSession, PhoneOptions

    voice, runner, ws = _Voice(text), _Runner(), _Socket()
    services = SimpleNamespace(voice=lambda: voice, settings=SimpleNamespace(data_path=lambda *p: tmp_path.joinpath(*p)))
    line = MediaStreamsLine(ws)
    line.stream_sid = "MZ1"
    session = CallSession(services=services, transport=line, options=PhoneOptions(voicemail_greeting_s=6.0))
    session.runner, session.detector = runner, _Detector()
    frames = int(speech_s * 50)
    session.detector.end_at = frames + 1 if end_of_turn else None

    async def run() -> None:
        for _ in range(frames + 1):
            await session.hear_phone(b"\x00" * 160)
            if runner.done:
                break
        if session.prompt_task is not None:
            await asyncio.wait([session.prompt_task])

    asyncio.run(run())
    return ws, runner, voice


def test_a_long_family_greeting_on_the_line_is_not_voicemail(tmp_path: Any) -> None:
    ws, runner, voice = _pick_up(tmp_path, LONG_FAMILY_GREETING, speech_s=15)
    assert runner.unreached == []                     # not voicemail, not a carrier: the call goes on
    assert runner.heard == [LONG_FAMILY_GREETING]     # the whole 15 s turn reaches the dialog
    assert voice.heard_s[0] == pytest.approx(6.0, abs=0.1) and voice.heard_s[-1] == pytest.approx(15.0, abs=0.1)


def test_a_voicemail_greeting_on_the_line_gets_the_short_message(tmp_path: Any) -> None:
    ws, runner, _ = _pick_up(tmp_path, "您好，我现在不方便接听电话，请在提示音后留言。", speech_s=8, end_of_turn=False)
    assert runner.unreached == [("voicemail", "提示音后留言")]
    assert any(m["event"] == "mark" and m["mark"]["name"] == "hangup" for m in ws.sent)


def test_no_words_at_pick_up_falls_back_to_the_length_rule(tmp_path: Any) -> None:
    _, runner, _ = _pick_up(tmp_path, "", speech_s=8, end_of_turn=False)
    assert runner.unreached == [("voicemail", None)]


def test_a_short_carrier_announcement_on_the_line_ends_the_call_with_its_outcome(tmp_path: Any) -> None:
    ws, runner, _ = _pick_up(tmp_path, "您拨打的号码是空号，请查证后再拨。", speech_s=3)
    assert runner.unreached == [("failed", "空号")] and runner.heard == []
    assert ws.sent[-1]["mark"]["name"] == "hangup"
    _, runner, _ = _pick_up(tmp_path, "您拨打的电话正在通话中，请稍后再拨", speech_s=4)
    assert runner.unreached == [("busy", "您拨打的电话正在通话中")]


# ----- the campaign store: an empty number stops the ladder ------------------------------------------

from tests.test_campaigns import (  # noqa: E402 - the campaign test helpers and their database fixture
    EXTRA,
    FakeClock,
    InlineQueue,
    campaign_db,  # noqa: F401 - a fixture
    context,
    local,
    persona,
    scenarios,
    seed_scenario,
)


def test_an_empty_number_stops_the_retry_ladder_and_opens_a_nurse_task(campaign_db: tuple[Any, Any]) -> None:
    from campaigns.telephony import LoopbackTelephony
    from campaigns.worker import dispatch_tick
    from records.schema import CallAttempt, Outcome, ReviewItem, ScheduledCall

    settings, session_factory = campaign_db
    scenario = copy.deepcopy(scenarios(EXTRA)["extra-en-no-answer"])
    scenario["events"] = [{"unreached": "not_found"}]   # the carrier: 您拨打的号码是空号
    phone = f"+1555{uuid.uuid4().int % 10**7:07d}"
    patient_id, (call_id,) = seed_scenario(session_factory, settings, scenario, phone=phone,
                                           discharged_on=dt.date(2026, 11, 28))
    clock = FakeClock(local(2026, 12, 1, 9, 0))
    ctx = context(campaign_db, LoopbackTelephony(scenarios=[persona(scenario, phone)]), clock)
    queue = InlineQueue(ctx)
    assert dispatch_tick(ctx, queue).dispatched == 1
    for moment in ((2026, 12, 1, 9, 30), (2026, 12, 1, 14, 30), (2026, 12, 3, 10, 0)):
        clock.now = local(*moment)
        assert dispatch_tick(ctx, queue).dispatched == 0    # no retry
    assert queue.decisions == ["stopped"]
    with session_factory() as session:
        attempts = session.scalars(select(CallAttempt).where(CallAttempt.scheduled_call_id == call_id)).all()
        assert [(a.try_number, a.call_status) for a in attempts] == [(1, "not_found")]
        assert session.get(ScheduledCall, call_id).status == "done"
        outcome = session.scalar(select(Outcome).where(Outcome.patient_id == patient_id))
        assert outcome.call_status == "failed" and outcome.needs_callback is True
        task = session.scalar(select(ReviewItem).where(ReviewItem.patient_id == patient_id))
        assert task.level == "task" and task.status == "open" and "phone number" in task.reason


def test_the_phone_line_finishes_a_placed_try_before_the_carrier_callback(campaign_db: tuple[Any, Any]) -> None:
    """What api/phone.py does on hearing 空号 during a Twilio try: the try stops at once with a nurse
    task on the call the line wrote; Twilio's later status callback changes nothing."""
    from campaigns.telephony import finish_from_status_callback
    from dialogs.runner import CallRunner
    from records import campaigns as store
    from records.schema import CallAttempt, Outcome, ReviewItem, ScheduledCall

    settings, session_factory = campaign_db
    scenario = scenarios(EXTRA)["extra-en-no-answer"]
    phone = f"+1555{uuid.uuid4().int % 10**7:07d}"
    patient_id, (call_id,) = seed_scenario(session_factory, settings, scenario, phone=phone,
                                           discharged_on=dt.date(2026, 11, 28))
    clock = FakeClock(local(2026, 12, 1, 9, 0))
    ctx = context(campaign_db, None, clock)
    with session_factory() as session:
        tickets = store.claim_due_calls(session, policy=ctx.policy, now=clock.now, worker_id="d", limit=50)
    key = next(t.key for t in tickets if t.scheduled_call_id == call_id)
    with session_factory() as session:
        store.start_attempt(session, key=key, worker_id="d", now=clock.now, policy=ctx.policy)
    with session_factory() as session:
        assert store.mark_placed(session, key=key, worker_id="d", telephony_sid="CA1", now=clock.now, policy=ctx.policy)
        discharge_id = session.get(ScheduledCall, call_id).plan.discharge_id
    runner = CallRunner.open(session_factory=session_factory, flows=ctx.flows, settings=settings, patient_id=patient_id,
                             discharge_id=discharge_id, channel="phone", scheduled_call_id=call_id)
    pickup = classify_pickup("您拨打的号码是空号，请查证后再拨。")
    runner.mark_unreached(pickup.call_status, evidence=pickup.evidence)
    with session_factory() as session:
        assert store.finish_live_try(session, scheduled_call_id=call_id, call_status=pickup.try_outcome,
                                     call_id=runner.call_id, now=clock.now, policy=ctx.policy) == "stopped"
    with session_factory() as session:
        assert finish_from_status_callback(session, key=key, params={"CallStatus": "completed", "CallSid": "CA1"},
                                           now=clock.now, policy=ctx.policy) is None
    with session_factory() as session:
        attempt = session.scalar(select(CallAttempt).where(CallAttempt.key == key))
        assert (attempt.status, attempt.call_status, attempt.call_id) == ("done", "not_found", runner.call_id)
        assert session.get(ScheduledCall, call_id).status == "done"
        outcome = session.scalar(select(Outcome).where(Outcome.call_id == runner.call_id))
        assert outcome.call_status == "failed" and outcome.needs_callback is True
        assert outcome.evidence.get("call_status") == "空号"
        task = session.scalar(select(ReviewItem).where(ReviewItem.call_id == runner.call_id))
        assert task.level == "task" and "phone number" in task.reason


def test_the_phone_line_reads_whispers_ba_after_a_temperature_as_eight(tmp_path: Any) -> None:
    """The recogniser's 三十八度吧 for 三十八度八 is put right before the dialog hears it (phone only)."""
    _, runner, _ = _pick_up(tmp_path, "刚量了三十八度吧", speech_s=2)
    assert runner.heard == ["刚量了三十八度八"]
