"""The SIP line against real SIP peers on loopback: kamailio as the hospital's registrar and proxy,
baresip as the patient's (and the nurse's) phone, SIPp as callees that answer busy, not found and so
on. The service registers with digest authentication (password from the environment), dials, and
runs the same call session as over Media Streams. Skipped, with the reason, only where a Debian
package is missing (`make setup` installs kamailio, baresip-core and sip-tester)."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from campaigns.sip import try_outcome_for_sip
from evaluation.sip_peers import missing_packages
from records.schema import CallEventRow, CallSession, ReviewItem, Turn
from tests.conftest import make_settings
from tests.test_phone import SCRIPTED_SCENARIO

MISSING = missing_packages()
needs_peers = pytest.mark.skipif(bool(MISSING), reason=f"Debian packages missing: {' '.join(MISSING)}")

PCMA_NUMBER = "15550100099"      # the scripted patient; its phone offers A-law first
PCMU_NUMBER = "15550100077"      # a phone that speaks μ-law only
TRANSFER_NUMBER = "15550100055"
INBOUND_NUMBER = "15550100033"   # a patient who calls the service back
UNKNOWN_NUMBER = "15550100011"   # on no patient record
MESSAGE_NUMBER = "15550100022"   # a patient with no follow-up call waiting, who calls the service
CALLEES = {"2486": 486, "2404": 404, "2480": 480, "2603": 603, "2000": None}
INFO_NUMBER = "2101"             # SIPp: answers, presses 1 as SIP INFO
EMPTY_NUMBER = "2183"            # SIPp: a carrier's 空号 announcement as early media, ringing until cancelled
OFF_NUMBER = "2184"              # SIPp: a carrier's 关机 announcement as early media, then 480
PEERS = (INFO_NUMBER, EMPTY_NUMBER, OFF_NUMBER)

# test_phone's scripted patient, on the SIP phone's number.
SCENARIO = {**SCRIPTED_SCENARIO, "id": "sip-en", "patient": {**SCRIPTED_SCENARIO["patient"], "phone": PCMA_NUMBER}}


def test_sip_responses_map_to_try_outcomes() -> None:
    assert [try_outcome_for_sip(c) for c in (486, 600)] == ["busy", "busy"]
    assert [try_outcome_for_sip(c) for c in (487, 408)] == ["no_answer", "no_answer"]
    assert [try_outcome_for_sip(c) for c in (603, 403)] == ["rejected", "rejected"]
    assert [try_outcome_for_sip(c) for c in (404, 410, 484, 604)] == ["not_found"] * 4
    assert [try_outcome_for_sip(c) for c in (480, 503, 500)] == ["unreachable"] * 3


def test_the_sip_password_comes_only_from_the_environment(tmp_path: Path) -> None:
    from suifang.config import ConfigError, load_settings

    config = tmp_path / "config.yaml"
    config.write_text("sip_password: in-the-file\n")
    with pytest.raises(ConfigError):
        load_settings(config, environ={})
    settings = load_settings(tmp_path / "none.yaml", environ={"SUIFANG_SIP_PASSWORD": "from-env"})
    assert settings.sip_password == "from-env" and "from-env" not in repr(settings)


def test_the_sip_endpoint_stops_and_starts_again_in_one_process() -> None:
    """PJSUA2's objects are freed on the endpoint's own thread: a process may bring the line down and
    up again (tests, benchmarks, a reconfigured service) without PJLIB asserting on a foreign thread."""
    import gc

    from campaigns.sip import SipAccount, SipEndpoint

    account = SipAccount(registrar="", domain="127.0.0.1", username="", auth_username="", password="",
                         outbound_proxy="", bind="127.0.0.1", public_address="", port=0, rtp_port=41000,
                         codecs=("PCMA", "PCMU"), dial_prefix="")
    for _ in range(3):
        endpoint = SipEndpoint.shared(account, max_calls=2)
        assert endpoint.registered.is_set()          # no registrar: a trunk by IP is ready at once
        SipEndpoint.shutdown_shared()
        del endpoint
        gc.collect()


@pytest.fixture(scope="module")
def lab() -> Iterator[Any]:
    if MISSING:
        pytest.skip(f"Debian packages missing: {' '.join(MISSING)}")
    from evaluation.sip_line import SipLab

    with SipLab([PCMA_NUMBER, PCMU_NUMBER, TRANSFER_NUMBER, INBOUND_NUMBER, UNKNOWN_NUMBER, MESSAGE_NUMBER],
                codecs={PCMU_NUMBER: "PCMU"}, callees=CALLEES, peer_numbers=PEERS,
                ward_codes=("EV-sip-transfer",)) as running:
        yield running


@pytest.fixture(scope="module")
def line(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """The service's SIP line registered with the lab's kamailio: (services, telephony)."""
    from campaigns.sip import SipEndpoint, SipTelephony
    from records.db import upgrade
    from suifang.services import Services

    data = tmp_path_factory.mktemp("sip")
    env = lab.service_env()
    env["SUIFANG__CAMPAIGNS__SIP__RING_TIMEOUT_S"] = "6"
    settings = make_settings(f"sqlite:///{data}/sip.db", data, SUIFANG__MODELS__EMBEDDINGS__BACKEND="hashing", **env)
    upgrade(settings.database.url)
    services = Services.build(settings)
    telephony = SipTelephony(settings=settings, services=services)
    try:
        telephony.start(inbound=False)
        yield services, telephony
    finally:
        SipEndpoint.shutdown_shared()
        services.close()


@needs_peers
def test_the_service_registers_with_the_registrar(line: tuple[Any, Any], lab: Any) -> None:
    _, telephony = line
    assert telephony.endpoint.registration_code == 200
    assert "suifang" in lab.kamailio.process.log_text() or telephony.endpoint.registered.is_set()


def _request(services: Any, number: str) -> tuple[Any, Any]:
    from evaluation.followup import prepare_scenario
    from evaluation.sip_line import ScenarioLine, call_request

    scenario = copy.deepcopy(SCENARIO)
    scenario["id"] = f"sip-{number}"
    patient_id, discharge_id, call_date = prepare_scenario(scenario, session_factory=services.session_factory,
                                                           settings=services.settings,
                                                           knowledge_base=services.knowledge_base())
    line = ScenarioLine(services, patient_id=patient_id, discharge_id=discharge_id, call_date=call_date,
                        language="en")
    return call_request(scenario, patient_id=patient_id, discharge_id=discharge_id, call_date=call_date,
                        number=number), line


@needs_peers
@pytest.mark.parametrize(("number", "outcome"), [
    ("2486", "busy"), ("2404", "not_found"), ("2480", "unreachable"), ("2603", "rejected"),
    ("2000", "no_answer"),          # rings until the service gives up (ring_timeout_s) and cancels: 487
    ("2999", "not_found"),          # nobody registered that number: kamailio answers 404
])
def test_a_try_that_never_connects_ends_with_its_sip_response(line: tuple[Any, Any], number: str,
                                                              outcome: str) -> None:
    services, telephony = line
    request, call_line = _request(services, number)
    result = telephony.place_call(request, line=call_line)
    assert result.call_status == outcome and result.call_id is None


def _events(services: Any, call_id: int) -> list[tuple[str, str | None]]:
    with services.session_factory() as session:
        return [(e.type, e.code) for e in session.scalars(select(CallEventRow).where(CallEventRow.call_id == call_id)
                                                          .order_by(CallEventRow.seq))]


@needs_peers
@pytest.mark.models
def test_a_follow_up_over_sip_ends_as_over_media_streams(line: tuple[Any, Any], lab: Any) -> None:
    """The scripted patient answers on a real SIP phone with recorded (synthesized) speech over
    A-law RTP; the outcome is the one test_phone's Media Streams call stores."""
    from evaluation.sip_line import call_scenario_over_sip

    services, telephony = line
    result = call_scenario_over_sip(SCENARIO, services=services, telephony=telephony, phone=lab.phone)
    outcome = result.outcome
    assert outcome["call_status"] == "completed" and outcome["identity_verified"] is True
    assert outcome["medication_adherence"] == "full"
    with services.session_factory() as session:
        call = session.scalars(select(CallSession).where(CallSession.channel == "sip")
                               .order_by(CallSession.id.desc())).first()
        turns = session.scalars(select(Turn).where(Turn.call_id == call.id).order_by(Turn.seq)).all()
    assert "AI" in turns[0].text
    heard = [t for t in turns if t.speaker == "patient" and t.text]
    assert heard and all(t.audio_ref and t.asr_confidence is not None for t in heard)
    assert "1951" in heard[0].text
    events = _events(services, call.id)
    assert ("media", "PCMA") in events and ("hangup", "by_service") in events
    assert len(result.latencies_ms) >= 4 and all(ms > 0 for ms in result.latencies_ms)



@needs_peers
@pytest.mark.models
def test_mu_law_keypad_digits_and_a_dropped_call(line: tuple[Any, Any], lab: Any) -> None:
    """A μ-law-only phone: spoken answers, the medication question answered on the keypad (RFC 4733
    '1' = yes), then the patient hangs up: the call is partial with every answer stored."""
    from evaluation.sip_line import call_scenario_over_sip

    services, telephony = line
    scenario = {**SCENARIO, "id": "sip-ulaw", "patient": {**SCENARIO["patient"], "phone": PCMU_NUMBER},
                "events": {"hangup_after": "medication_adherence"}}
    result = call_scenario_over_sip(scenario, services=services, telephony=telephony, phone=lab.phone,
                                    digits={"medication_adherence": "1"})
    outcome = result.outcome
    assert outcome["call_status"] == "partial" and outcome["needs_callback"] is True
    assert outcome["identity_verified"] is True and outcome.get("overall_condition")
    assert outcome.get("medication_adherence")
    with services.session_factory() as session:
        call = session.scalars(select(CallSession).where(CallSession.channel == "sip")
                               .order_by(CallSession.id.desc())).first()
        said = {t.expecting: (t.text, t.asr_confidence, t.audio_ref) for t in
                session.scalars(select(Turn).where(Turn.call_id == call.id, Turn.speaker == "patient"))}
    assert said["medication_adherence"] == ("yes", 1.0, None)          # the key, not speech
    assert "1951" in said["identity_verified"][0] and said["identity_verified"][2] is not None
    events = _events(services, call.id)
    assert ("media", "PCMU") in events and ("digit", None) in events and ("hangup", "dropped") in events


@needs_peers
@pytest.mark.models
def test_a_keypad_digit_sent_as_sip_info_answers_as_an_rfc_4733_digit_does(line: tuple[Any, Any], lab: Any) -> None:
    """SIPp as the patient's phone answers, then presses 1 as SIP INFO (application/dtmf-relay,
    Signal=1) and hangs up: the service answers the INFO and stores the key as the answer to its
    question — "yes", confidence 1, no recording — as for the RFC 4733 key of the μ-law test."""
    from evaluation.sip_peers import SCENARIOS, SippPeer

    services, telephony = line
    request, call_line = _request(services, INFO_NUMBER)
    with SippPeer(SCENARIOS / "info_digit.xml", port=lab.peer_port(INFO_NUMBER), pause_ms=8000) as phone:
        result = telephony.place_call(request, line=call_line)
        sent = phone.messages()
    assert "Content-Type: application/dtmf-relay" in sent and "Signal=1" in sent
    after_info = sent.split("INFO sip:", 1)[1]
    assert re.search(r"SIP/2\.0 200 OK.*?CSeq:\s*1 INFO", after_info, re.S)   # the service accepted the INFO
    assert result.call_id is not None
    with services.session_factory() as session:
        turns = session.scalars(select(Turn).where(Turn.call_id == result.call_id).order_by(Turn.seq)).all()
    said = [(t.text, t.asr_confidence, t.audio_ref) for t in turns if t.speaker == "patient"]
    assert said == [("yes", 1.0, None)]
    asked = [t for t in turns if t.speaker == "system" and t.expecting]
    patient_turn = next(t for t in turns if t.speaker == "patient")
    assert asked and patient_turn.expecting == asked[0].expecting      # the answer to the question asked
    events = _events(services, result.call_id)
    assert events.count(("digit", None)) == 1 and ("hangup", "dropped") in events


@pytest.fixture(scope="module")
def announcements(line: tuple[Any, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, float, str]]:
    """Carrier announcements spoken by the service's own synthesizer (Kokoro) in a female voice, as a
    carrier's recording is (the service's zm_yunjian is read back by Whisper base as 关键 for 关机),
    8 kHz A-law files for SIPp: kind → (file, seconds, what the service's recogniser reads in it)."""
    from evaluation.sip_peers import alaw_file
    from models import audio
    from models.voice import VoicePipeline

    services, _ = line
    folder = tmp_path_factory.mktemp("announcements")
    carrier = VoicePipeline(make_settings(services.settings.database.url, folder,
                                          SUIFANG__MODELS__TTS__KOKORO__VOICE_ZH="zf_xiaoxiao"))
    made = {}
    for kind, text in (("not_found", "您拨打的号码是空号，请查证后再拨。"), ("powered_off", "您拨打的电话已关机。")):
        pcm = audio.mulaw_decode(carrier.synthesize_phone(text, "zh"))
        heard = services.voice().transcribe(audio.resample(audio.int16_to_float(pcm), 8000, 16000), "zh").text
        made[kind] = (alaw_file(folder / f"{kind}.al", pcm), pcm.size / 8000, heard)
    return made


@needs_peers
@pytest.mark.models
def test_an_empty_number_announced_as_early_media_stops_the_ladder(line: tuple[Any, Any], lab: Any,
                                                                    announcements: dict[str, Any],
                                                                    tmp_path: Path) -> None:
    """A campaign try to a number the carrier calls 空号: 183 with SDP, the announcement over A-law RTP,
    and the line keeps ringing (its final response would be 487, no answer). The service listens to
    the early media: the try is not_found, the ladder stops, a nurse task asks to check the number."""
    from campaigns.windows import CallingPolicy
    from campaigns.worker import CampaignContext, dispatch_tick
    from evaluation.sip_peers import SCENARIOS, SippPeer
    from language.pickup import classify_pickup
    from records.db import make_engine, make_session_factory, upgrade
    from records.schema import CallAttempt, Outcome, ScheduledCall
    from tests.test_campaigns import InlineQueue

    services, telephony = line
    path, seconds, heard = announcements["not_found"]
    assert classify_pickup(heard).kind == "not_found", f"the synthesized announcement reads as {heard!r}"
    url = f"sqlite:///{tmp_path / 'campaign.db'}"          # this try alone is due
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    patient_id, (scheduled_id,) = seed_scenario(factory, services.settings, scenarios(EXTRA)["extra-en-no-answer"],
                                                phone=EMPTY_NUMBER, discharged_on=dt.date(2026, 11, 28))
    ctx = CampaignContext(session_factory=factory, settings=services.settings, flows=services.flows,
                          policy=CallingPolicy.from_settings(services.settings), telephony=telephony,
                          clock=FakeClock(local(2026, 12, 1, 9, 0)))
    queue = InlineQueue(ctx)
    try:
        with SippPeer(SCENARIOS / "early_media_ringing.xml", port=lab.peer_port(EMPTY_NUMBER),
                      files={"announcement.al": path}) as carrier:
            assert dispatch_tick(ctx, queue).dispatched == 1
            sent = carrier.messages()
        assert "SIP/2.0 183 Session Progress" in sent and "CANCEL sip:" in sent and "SIP/2.0 487" in sent
        assert telephony.last_early_media is not None and telephony.last_early_media.kind == "not_found"
        assert queue.decisions == ["stopped"]
        with factory() as session:
            attempts = session.scalars(select(CallAttempt).where(CallAttempt.scheduled_call_id == scheduled_id)).all()
            assert [(a.try_number, a.call_status) for a in attempts] == [(1, "not_found")]
            assert session.get(ScheduledCall, scheduled_id).status == "done"
            outcome = session.scalar(select(Outcome).where(Outcome.patient_id == patient_id))
            assert outcome.call_status == "failed" and outcome.needs_callback is True
            task = session.scalar(select(ReviewItem).where(ReviewItem.patient_id == patient_id))
            assert task.level == "task" and task.status == "open" and "phone number" in task.reason
    finally:
        engine.dispose()


@needs_peers
@pytest.mark.models
def test_a_powered_off_announcement_as_early_media_decides_the_try(line: tuple[Any, Any], lab: Any,
                                                                  announcements: dict[str, Any]) -> None:
    """关机 as early media, then a final 480 (by its code alone: unreachable): the announcement decides,
    no_answer as language/data/pickup.yaml says for powered_off, and the patient's call is tried again."""
    from evaluation.sip_peers import SCENARIOS, SippPeer
    from language.pickup import classify_pickup

    services, telephony = line
    path, seconds, heard = announcements["powered_off"]
    assert classify_pickup(heard).kind == "powered_off", f"the synthesized announcement reads as {heard!r}"
    request, call_line = _request(services, OFF_NUMBER)
    with SippPeer(SCENARIOS / "early_media_final.xml", port=lab.peer_port(OFF_NUMBER),
                  files={"announcement.al": path}, pause_ms=int(seconds * 1000) + 800) as carrier:
        result = telephony.place_call(request, line=call_line)
        sent = carrier.messages()
    assert "SIP/2.0 183 Session Progress" in sent and "SIP/2.0 480" in sent
    assert try_outcome_for_sip(480) == "unreachable"
    assert telephony.last_early_media is not None and telephony.last_early_media.kind == "powered_off"
    assert result.call_status == "no_answer" and result.call_id is None


@needs_peers
@pytest.mark.models
def test_asking_for_a_nurse_transfers_the_call_to_the_wards_extension(line: tuple[Any, Any], lab: Any) -> None:
    """转人工 inside office hours: the assistant says so and REFERs the patient to the ward's nurse
    extension (kamailio routes it to the nurse's baresip, which answers); the review item with the
    transcript so far is already open."""
    from evaluation.sip_line import call_scenario_over_sip

    services, telephony = line
    scenario = {**SCENARIO, "id": "sip-transfer", "patient": {**SCENARIO["patient"], "phone": TRANSFER_NUMBER},
                "persona": {**SCENARIO["persona"], "overall_condition": "I want to talk to a nurse, please."}}
    nurse_events = len(lab.nurse.events)
    try:
        result = call_scenario_over_sip(scenario, services=services, telephony=telephony, phone=lab.phone)
        lab.nurse.wait_event("CALL_ESTABLISHED", since=nurse_events, timeout_s=30)
    finally:
        for phone in (lab.phone, lab.nurse):
            try:
                phone.hang_up()
            except Exception:  # noqa: BLE001 - already over
                pass
    outcome = result.outcome
    assert outcome["needs_callback"] is True and outcome["identity_verified"] is True
    with services.session_factory() as session:
        call = session.scalars(select(CallSession).where(CallSession.channel == "sip")
                               .order_by(CallSession.id.desc())).first()
        item = session.scalar(select(ReviewItem).where(ReviewItem.call_id == call.id))
        last = session.scalars(select(Turn).where(Turn.call_id == call.id, Turn.speaker == "patient")
                               .order_by(Turn.seq.desc())).first()
    assert item is not None and "nurse" in last.text.lower()
    assert ("transfer", "refer") in _events(services, call.id)


def _dial_the_service(lab: Any, number: str) -> int:
    """The phone calls the service's number from `number`; returns the event index to wait from."""
    lab.phone.select(f"sip:{number}@{lab.kamailio.address}")
    since = len(lab.phone.events)
    lab.phone.dial(f"sip:suifang@{lab.kamailio.address}")
    lab.phone.answered(since=since, timeout_s=30)
    return since


@needs_peers
@pytest.mark.models
def test_a_patient_calling_back_continues_their_follow_up(line: tuple[Any, Any], lab: Any) -> None:
    """An inbound call from a patient's number opens that patient's follow-up: the opening, then their
    spoken answer stored; they hang up and the call is partial."""
    from evaluation.followup import prepare_scenario
    from evaluation.phone import patient_voice_for
    from evaluation.sip_line import wait_for_prompt
    from models.audio import mulaw_decode

    services, telephony = line
    scenario = {**SCENARIO, "id": "sip-inbound", "patient": {**SCENARIO["patient"], "phone": INBOUND_NUMBER}}
    patient_id, _, _ = prepare_scenario(scenario, session_factory=services.session_factory,
                                        settings=services.settings, knowledge_base=services.knowledge_base())
    answer = mulaw_decode(patient_voice_for(services)("Yes, this is Helen Carter, born in 1951.", "en"))
    telephony.accept_inbound()
    since = _dial_the_service(lab, INBOUND_NUMBER)
    assert wait_for_prompt(lab.phone, after_s=0, done=lambda: False, since_event=since)
    heard_from = lab.phone.heard().seconds + 0.3 + answer.size / 8000 + 0.5
    lab.phone.say(answer)
    assert wait_for_prompt(lab.phone, after_s=heard_from, done=lambda: False, since_event=since)
    lab.phone.hang_up()
    lab.phone.quiet()
    call = _ended_call_of(services, patient_id)
    with services.session_factory() as session:
        said = [t.text for t in session.scalars(select(Turn).where(Turn.call_id == call.id, Turn.speaker == "patient"))]
        outcome = session.get(CallSession, call.id).outcome
    assert call.channel == "sip" and "1951" in said[0]
    assert outcome.call_status == "partial" and outcome.identity_verified is True


def _message_from(services: Any, number: str, *, timeout_s: float = 90.0) -> Any:
    """The message the service stored from `number` (it is stored once the caller is off the line)."""
    import time

    from records.schema import WardMessage

    deadline = time.monotonic() + timeout_s
    while True:
        with services.session_factory() as session:
            message = session.scalars(select(WardMessage).where(WardMessage.caller_number.like(f"%{number}"))
                                      .order_by(WardMessage.id.desc())).first()
        if message is not None or time.monotonic() > deadline:
            return message
        time.sleep(0.5)


def _leave_a_message(lab: Any, number: str, pcm8k: Any, *, hang_up: bool) -> Any:
    """Call the service from `number`, wait for its prompt and tone, speak; then hang up (`hang_up`) or
    stay silent until the service thanks and hangs up. Returns what the phone heard before it spoke
    (8 kHz int16)."""
    import time

    from evaluation.sip_line import wait_for_prompt

    since = _dial_the_service(lab, number)
    assert wait_for_prompt(lab.phone, after_s=0, done=lambda: False, since_event=since)   # the prompt, the tone
    prompt = lab.phone.heard().audio.copy()
    lab.phone.say(pcm8k)
    if hang_up:
        time.sleep(0.3 + pcm8k.size / 8000 + 0.7)
        lab.phone.hang_up()
    lab.phone.wait_event("CALL_CLOSED", since=since, timeout_s=120)
    lab.phone.quiet()
    return prompt


def _heard_text(services: Any, pcm8k: Any, language: str) -> str:
    from models import audio

    clip = audio.resample(audio.int16_to_float(pcm8k), 8000, 16000)
    return services.voice().transcribe(clip, language).text


@needs_peers
@pytest.mark.models
def test_a_patient_with_no_follow_up_waiting_leaves_a_message_for_the_ward(line: tuple[Any, Any], lab: Any) -> None:
    """A patient calls the service's number when no follow-up call of theirs is waiting: a prompt and a
    tone, their spoken message is recorded until they fall silent (the service then thanks them and
    hangs up), transcribed and stored as a call on
    that patient (the recording on the turn) with a nurse task in the review queue; storing is audited."""
    from evaluation.followup import prepare_scenario
    from evaluation.phone import patient_voice_for
    from models.audio import mulaw_decode
    from records.reasons import reason as task_reason
    from records.schema import AuditEvent, ScheduledCall

    services, telephony = line
    scenario = {**SCENARIO, "id": "sip-message", "patient": {**SCENARIO["patient"], "phone": MESSAGE_NUMBER}}
    patient_id, _, _ = prepare_scenario(scenario, session_factory=services.session_factory,
                                        settings=services.settings, knowledge_base=services.knowledge_base())
    with services.session_factory() as session:
        for scheduled in session.scalars(select(ScheduledCall).where(ScheduledCall.patient_id == patient_id)):
            scheduled.status = "done"         # the follow-up calls are all behind them
        session.commit()
    telephony.accept_inbound()
    spoken = "This is Helen Carter. Please ask the nurse to call me back tomorrow morning."
    _leave_a_message(lab, MESSAGE_NUMBER, mulaw_decode(patient_voice_for(services)(spoken, "en")), hang_up=False)
    message = _message_from(services, MESSAGE_NUMBER)
    assert message is not None and message.patient_id == patient_id and message.language == "en"
    words = message.transcript.lower()
    assert "nurse" in words and "call me back" in words and "tomorrow" in words, message.transcript
    assert 4 < message.duration_s < 20
    with services.session_factory() as session:
        call = session.get(CallSession, message.call_id)
        turns = session.scalars(select(Turn).where(Turn.call_id == call.id)).all()
        item = session.scalar(select(ReviewItem).where(ReviewItem.call_id == call.id))
        audits = session.scalars(select(AuditEvent).where(AuditEvent.resource == "ward_message",
                                                          AuditEvent.resource_id == str(message.id))).all()
        calls_of_patient = session.scalars(select(CallSession).where(CallSession.patient_id == patient_id)).all()
    assert call.patient_id == patient_id and call.status == "ended" and len(calls_of_patient) == 1
    assert [(t.speaker, t.text) for t in turns] == [("patient", message.transcript)]
    assert turns[0].audio_ref == message.audio_ref and services.settings.data_path("audio", message.audio_ref).exists()
    assert item.level == "task" and item.status == "open" and item.reason == task_reason("task_voice_message")
    assert [(a.action, a.patient_id) for a in audits] == [("record", patient_id)]


@needs_peers
@pytest.mark.models
def test_an_unknown_caller_may_leave_a_message_and_hears_nothing_about_any_patient(line: tuple[Any, Any],
                                                                                    lab: Any) -> None:
    """A number on no patient record: the service says what this line is (Mandarin, then English) and
    offers a message after the tone; the caller's message (in Mandarin, then they hang up) is stored with
    the number and no patient, and no call record is opened. What the caller heard names no patient."""
    from records.schema import AuditEvent, Patient

    from evaluation.followup import prepare_scenario

    services, telephony = line
    # A patient on record (whatever ran before), whose name the unknown caller must not hear.
    prepare_scenario({**SCENARIO, "id": "sip-known-patient"}, session_factory=services.session_factory,
                     settings=services.settings, knowledge_base=services.knowledge_base())
    with services.session_factory() as session:
        calls_before = len(session.scalars(select(CallSession)).all())
        names = [p.name for p in session.scalars(select(Patient))]
    telephony.accept_inbound()
    spoken = "我是王秀英的女儿，我妈妈出院以后一直咳嗽，请护士给我回个电话。"
    voice = services.voice()
    from models.audio import mulaw_decode

    prompt = _leave_a_message(lab, UNKNOWN_NUMBER, mulaw_decode(voice.synthesize_phone(spoken, "zh")), hang_up=True)
    message = _message_from(services, UNKNOWN_NUMBER)
    assert message is not None and message.patient_id is None and message.call_id is None
    assert message.caller_number.endswith(UNKNOWN_NUMBER) and message.language == "zh"
    assert "咳嗽" in message.transcript and "护士" in message.transcript, message.transcript
    with services.session_factory() as session:
        assert len(session.scalars(select(CallSession)).all()) == calls_before   # nothing opened on anyone
        audits = session.scalars(select(AuditEvent).where(AuditEvent.resource == "ward_message",
                                                          AuditEvent.resource_id == str(message.id))).all()
    assert [(a.action, a.patient_id) for a in audits] == [("record", None)]
    heard = _heard_text(services, prompt, "zh") + " " + _heard_text(services, prompt, "en")
    assert "随访" in heard and "follow-up" in heard.lower().replace("follow up", "follow-up"), heard
    assert names and not any(name.lower() in heard.lower() for name in names)
    assert not any(part.lower() in heard.lower() for name in names for part in name.split() if len(part) > 2)


class _FrameLine:
    """Phone frames every 20 ms for `_record`, with a detector that hears speech in them or not."""

    def __init__(self, *, speech: bool) -> None:
        self.speech = speech

    async def next_event(self, timeout_s: float) -> tuple[str, bytes | None]:
        import asyncio

        await asyncio.sleep(0.02)
        return "frame", b"\xff" * 160

    def end_of_turn_detector(self, silence_ms: int) -> Any:
        line = self

        class Detector:
            in_speech = line.speech

            def feed(self, pcm: Any) -> list[str]:
                return ["speech_start"] if line.speech else []

        return Detector()

    def phone_decoder(self) -> Any:
        import numpy as np

        return lambda mulaw: np.zeros(320, dtype=np.float32)


def test_a_message_is_cut_at_its_maximum_length_and_silence_leaves_none() -> None:
    import asyncio

    from campaigns.inbound import _record

    talker = _FrameLine(speech=True)
    heard, hung_up = asyncio.run(_record(talker.next_event, talker, silence_s=4.0, max_s=0.5))
    assert heard is not None and not hung_up and 0.3 * 16000 <= heard.size <= 0.5 * 16000
    quiet = _FrameLine(speech=False)
    heard, hung_up = asyncio.run(_record(quiet.next_event, quiet, silence_s=0.2, max_s=30.0))
    assert heard is None and not hung_up            # nothing said within twice the silence: no message


def _ended_call_of(services: Any, patient_id: int) -> Any:
    import time

    deadline = time.monotonic() + 30
    while True:
        with services.session_factory() as session:
            call = session.scalars(select(CallSession).where(CallSession.patient_id == patient_id)
                                   .order_by(CallSession.id.desc())).first()
            if call is not None and call.status == "ended" or time.monotonic() > deadline:
                return call
        time.sleep(0.2)

# ----- the trunk's channels and the dispatcher ------------------------------------------------------

from tests.test_campaigns import (  # noqa: E402 - the campaign test helpers and their database fixture
    EXTRA,
    FakeClock,
    campaign_db,  # noqa: F401 - a fixture
    context,
    local,
    scenarios,
    seed_scenario,
)


class _HeldQueue:
    """Claimed tries wait here (as on a busy worker pool) until the test runs them."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def submit(self, keys: list[str]) -> None:
        self.keys.extend(keys)

    def close(self) -> None:
        pass


class _Trunk:
    """A SIP trunk of two channels whose every number is busy."""

    max_channels = 2

    def place_call(self, request: Any, *, line: Any) -> Any:
        from campaigns.telephony import CallResult

        return CallResult(telephony_sid="t", call_status="busy")


def test_the_dispatcher_claims_no_more_tries_than_the_trunk_has_channels(campaign_db: tuple[Any, Any]) -> None:  # noqa: F811
    import uuid

    from campaigns.worker import dispatch_tick, run_attempt

    settings, session_factory = campaign_db
    scenario = scenarios(EXTRA)["extra-en-no-answer"]
    for _ in range(5):
        seed_scenario(session_factory, settings, scenario, phone=f"+1555{uuid.uuid4().int % 10**7:07d}",
                      discharged_on=dt.date(2026, 11, 28))
    clock = FakeClock(local(2026, 12, 1, 9, 0))
    ctx = context(campaign_db, _Trunk(), clock)
    held = _HeldQueue()
    assert dispatch_tick(ctx, held).dispatched == 2     # five due, two channels
    assert dispatch_tick(ctx, held).dispatched == 0     # both still on the line
    for key in held.keys:
        assert run_attempt(ctx, key=key) == "retry"      # busy: back on the ladder, the channels free
    assert dispatch_tick(ctx, held).dispatched == 2


def test_an_inbound_caller_is_found_by_number(campaign_db: tuple[Any, Any]) -> None:  # noqa: F811
    """The trunk may present a mainland number with 0, 86 or +86 in front; a number on two patient
    records opens nobody's follow-up; a patient calling back takes the place of their waiting call."""
    import uuid

    from campaigns.inbound import find_caller
    from records.schema import ScheduledCall

    settings, session_factory = campaign_db
    scenario = scenarios(EXTRA)["extra-en-no-answer"]
    number = f"139{uuid.uuid4().int % 10**8:08d}"
    patient_id, (scheduled_id,) = seed_scenario(session_factory, settings, scenario, phone=number,
                                                discharged_on=dt.date(2026, 11, 28))
    for presented in (number, f"+86{number}", f"0{number}", f"86{number}"):
        target = find_caller(session_factory, presented)
        assert target is not None and target.patient_id == patient_id and target.scheduled_call_id == scheduled_id
    assert find_caller(session_factory, f"138{uuid.uuid4().int % 10**8:08d}") is None
    assert find_caller(session_factory, "anonymous") is None
    shared = f"137{uuid.uuid4().int % 10**8:08d}"
    for _ in range(2):
        seed_scenario(session_factory, settings, scenario, phone=shared, discharged_on=dt.date(2026, 11, 28))
    assert find_caller(session_factory, shared) is None
    with session_factory() as session:
        session.get(ScheduledCall, scheduled_id).status = "done"
        session.commit()
    target = find_caller(session_factory, number)
    assert target is not None and target.scheduled_call_id is None   # nothing waiting: a message for the ward
