"""The SIP line against real SIP peers on loopback: kamailio as the hospital's registrar and proxy,
baresip as the patient's (and the nurse's) phone, SIPp as callees that answer busy, not found and so
on. The service registers with digest authentication (password from the environment), dials, and
runs the same call session as over Media Streams. Skipped, with the reason, only where a Debian
package is missing (`make setup` installs kamailio, baresip-core and sip-tester)."""

from __future__ import annotations

import copy
import datetime as dt
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
CALLEES = {"2486": 486, "2404": 404, "2480": 480, "2603": 603, "2000": None}

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

    with SipLab([PCMA_NUMBER, PCMU_NUMBER, TRANSFER_NUMBER, INBOUND_NUMBER, UNKNOWN_NUMBER],
                codecs={PCMU_NUMBER: "PCMU"}, callees=CALLEES,
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


@needs_peers
@pytest.mark.models
def test_an_unknown_caller_is_told_to_call_the_ward(line: tuple[Any, Any], lab: Any) -> None:
    services, telephony = line
    with services.session_factory() as session:
        calls_before = len(session.scalars(select(CallSession)).all())
    telephony.accept_inbound()
    since = _dial_the_service(lab, UNKNOWN_NUMBER)
    lab.phone.wait_event("CALL_CLOSED", since=since, timeout_s=120)   # the service hangs up after its message
    assert lab.phone.heard().seconds > 5                               # it spoke first
    with services.session_factory() as session:
        assert len(session.scalars(select(CallSession)).all()) == calls_before   # nothing opened


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
    assert target is not None and target.scheduled_call_id is None   # nothing waiting: a new call all the same
