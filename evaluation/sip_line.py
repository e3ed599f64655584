"""`suifang eval followup --voice --line sip`: every scenario is a SIP call through a local registrar.

Kamailio on loopback is the hospital's PBX; the service registers with it (campaigns/sip.py, PJSIP)
and dials the scenario's patient exactly as a campaign try does (`SipTelephony.place_call`); the
patient's phone is baresip, a real SIP user agent, which answers, plays the persona's synthesized
answers as its microphone (G.711 over RTP) and records what it hears. The persona speaks when the
service's prompt has gone quiet (speech, then 1.5 s of silence in what the phone heard) and answers
what the service last asked (the `expecting` of its last committed turn, as the WebSocket caller
does). The outcome scored is the one the service stored.

Turn latency is the service's own figure from the call's event log (`first_audio`: the patient's turn
ended → the reply's first audio handed to the line), the same figure on both lines."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import logging
import time
from typing import Any

from sqlalchemy import select

from evaluation.followup import SIMULATION_MAX_TURNS, ScenarioResult, SimulatedPatient, prepare_scenario, score
from evaluation.phone import (PatientVoice, _last_system_turn, _stored_outcome, _transcript, persona_texts,
                              persona_voices, service_latencies)
from evaluation.sip_peers import BaresipPhone, Kamailio, SippCallee, free_ports, missing_packages

log = logging.getLogger(__name__)

SERVICE_USER = "suifang"
PROMPT_QUIET_S = 1.5
PROMPT_WAIT_S = 120.0
NURSE_EXTENSION = "8001"


USAGE: list[tuple[float, float]] = []   # (seconds on the line, CPU seconds of this process) per call


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class SipLab:
    """The loopback phone network: kamailio, the patients' phone (one baresip account per number), a
    nurse's phone at `NURSE_EXTENSION`, and SIPp callees for numbers that must answer busy, 404 …
    `peer_numbers` are routed to ports reserved here (`peer_port(number)`) where a test starts its own
    SIPp peer (evaluation.sip_peers.SippPeer) when its files are ready."""

    def __init__(self, numbers: list[str], *, codecs: str | dict[str, str] = "PCMA,PCMU", callees: dict[str, int | None] | None = None,
                 password: str = "lab-secret-0123456789", ward_codes: tuple[str, ...] = (),
                 peer_numbers: tuple[str, ...] = ()) -> None:
        missing = missing_packages()
        if missing:
            raise RuntimeError(f"the SIP line's peers need Debian packages: {' '.join(missing)}")
        self.numbers = list(dict.fromkeys(numbers))
        self.codecs = codecs
        self.password = password
        self.callee_codes = dict(callees or {})
        self.ward_codes = ward_codes
        self.callees: dict[str, SippCallee] = {}
        self.peer_ports = {number: port for number, port in zip(peer_numbers, free_ports(len(peer_numbers)))}
        self.kamailio: Kamailio | None = None
        self.phone: BaresipPhone | None = None
        self.nurse: BaresipPhone | None = None

    def __enter__(self) -> SipLab:
        try:
            for number, code in self.callee_codes.items():
                self.callees[number] = SippCallee(code).__enter__()
            users = {SERVICE_USER: self.password, NURSE_EXTENSION: self.password}
            users.update({n: self.password for n in self.numbers})
            routes = {n: c.address for n, c in self.callees.items()}
            routes.update({n: f"127.0.0.1:{port}" for n, port in self.peer_ports.items()})
            self.kamailio = Kamailio(users=users, routes=routes).__enter__()
            self.phone = BaresipPhone(numbers=self.numbers, registrar=self.kamailio.address, password=self.password,
                                      codecs=self.codecs).__enter__()
            self.nurse = BaresipPhone(numbers=[NURSE_EXTENSION], registrar=self.kamailio.address,
                                      password=self.password).__enter__()
            if not (self.phone.wait_registered() and self.nurse.wait_registered()):
                raise RuntimeError("the test phones did not register with kamailio")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for peer in (self.nurse, self.phone, self.kamailio, *self.callees.values()):
            if peer is not None:
                try:
                    peer.__exit__()
                except Exception:  # noqa: BLE001 - stop the others all the same
                    log.exception("stopping a SIP peer failed")

    def peer_port(self, number: str) -> int:
        """The port kamailio relays calls to `number` to (start a SippPeer there)."""
        return self.peer_ports[number]

    def service_env(self) -> dict[str, str]:
        """The service's SIP account on this network, as environment overrides of config.yaml."""
        assert self.kamailio is not None
        sip_port, rtp_port = free_ports(2)
        env = {
            "SUIFANG__CAMPAIGNS__TELEPHONY": "sip",
            "SUIFANG__CAMPAIGNS__SIP__REGISTRAR": f"sip:{self.kamailio.address}",
            "SUIFANG__CAMPAIGNS__SIP__USERNAME": SERVICE_USER,
            "SUIFANG__CAMPAIGNS__SIP__BIND": "127.0.0.1",
            "SUIFANG__CAMPAIGNS__SIP__PORT": str(sip_port),
            "SUIFANG__CAMPAIGNS__SIP__RTP_PORT": str(rtp_port),
            "SUIFANG__CAMPAIGNS__SIP__RING_TIMEOUT_S": "20",
            "SUIFANG__CAMPAIGNS__SIP__OFFICE_HOURS": json.dumps(["00:00-24:00"]),
            "SUIFANG_SIP_PASSWORD": self.password,
        }
        if self.ward_codes:
            env["SUIFANG__CAMPAIGNS__SIP__WARD_EXTENSIONS"] = json.dumps({c: NURSE_EXTENSION for c in self.ward_codes})
        return env


class ScenarioLine:
    """campaigns.telephony.CallLine for an evaluated call: opens the call record of the prepared patient."""

    def __init__(self, services: Any, *, patient_id: int, discharge_id: int, call_date: dt.date,
                 language: str) -> None:
        self.services = services
        self.patient_id, self.discharge_id, self.call_date, self.language = patient_id, discharge_id, call_date, language

    def open_runner(self, channel: str = "sip") -> Any:
        from dialogs.runner import CallRunner

        s = self.services
        return CallRunner.open(session_factory=s.session_factory, flows=s.flows, settings=s.settings,
                               patient_id=self.patient_id, discharge_id=self.discharge_id, channel=channel,
                               call_date=self.call_date, answerer_factory=s.answerer_factory(),
                               llm_fallback=s.llm_fallback(), language=self.language,
                               semantic=s.semantic_matcher(), second_reader=s.second_reader())

    def heartbeat(self, call_id: int | None = None) -> None:
        return None


def call_request(scenario: dict[str, Any], *, patient_id: int, discharge_id: int, call_date: dt.date,
                 number: str | None = None) -> Any:
    from records.campaigns import CallRequest

    return CallRequest(key=f"eval-{scenario['id']}", scheduled_call_id=0, patient_id=patient_id,
                       discharge_id=discharge_id, try_number=1,
                       to_number=number or str(scenario["patient"]["phone"]), language=scenario["language"],
                       call_date=call_date, resume_call_id=None)


def _latest_call(session_factory: Any, patient_id: int) -> Any:
    from records.schema import CallSession

    with session_factory() as session:
        return session.scalars(select(CallSession).where(CallSession.patient_id == patient_id,
                                                         CallSession.channel == "sip")
                               .order_by(CallSession.id.desc())).first()


def wait_for_prompt(phone: BaresipPhone, *, after_s: float, done: Any, timeout_s: float = PROMPT_WAIT_S,
                    since_event: int = 0) -> bool:
    """Until the service has spoken and gone quiet; False when the call ended first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done() or phone.has_event("CALL_CLOSED", since=since_event):
            return False
        if phone.heard().speech_ended(after_s=after_s, silence_s=PROMPT_QUIET_S):
            return True
        time.sleep(0.1)
    raise TimeoutError("the service said nothing within the timeout")


def call_scenario_over_sip(scenario: dict[str, Any], *, services: Any, telephony: Any, phone: BaresipPhone,
                           digits: dict[str, str] | None = None) -> ScenarioResult:
    """One scenario as a SIP call placed by the service to the patient's phone; scored as in text mode.
    `digits` (expecting → keys) answers those questions on the keypad instead of by voice."""
    factory = services.session_factory
    lang = scenario["language"]
    patient_id, discharge_id, call_date = prepare_scenario(scenario, session_factory=factory,
                                                           settings=services.settings,
                                                           knowledge_base=services.knowledge_base())
    persona = SimulatedPatient(scenario)
    patient_voice = PatientVoice(services.settings, persona_voices(services.settings))
    patient_voice.prepare(persona_texts(persona), lang)   # before the call: answering is not synthesizing
    voice = patient_voice.phone
    line = ScenarioLine(services, patient_id=patient_id, discharge_id=discharge_id, call_date=call_date,
                        language=lang)
    request = call_request(scenario, patient_id=patient_id, discharge_id=discharge_id, call_date=call_date)
    answer_failures: list[str] = []
    since = len(phone.events)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sip-eval") as pool:
        placed = pool.submit(telephony.place_call, request, line=line)
        phone.answered(since=since, timeout_s=60)
        heard_from = 0.0
        call = None
        for _ in range(SIMULATION_MAX_TURNS):
            if not wait_for_prompt(phone, after_s=heard_from, done=placed.done, since_event=since):
                break
            call = call or _latest_call(factory, patient_id)
            _, expecting = _last_system_turn(factory, call.id)
            action, payload = persona.respond(expecting)
            if action == "hangup":
                phone.hang_up()
                break
            if action == "silence":
                heard_from = phone.heard().seconds
                continue
            if digits and expecting in digits and action != "ask":
                heard_from = phone.heard().seconds + 0.5
                phone.press(digits[expecting])
                continue
            text = payload["text"] if action == "ask" else payload
            from models.audio import mulaw_decode

            pcm = mulaw_decode(voice(text, lang))
            heard_from = phone.heard().seconds + 0.3 + pcm.size / 8000 + 0.5
            phone.say(pcm)
            if action == "ask":
                if not wait_for_prompt(phone, after_s=heard_from, done=placed.done, since_event=since):
                    break
                reply_text, _ = _last_system_turn(factory, call.id)
                missing = [w for w in payload.get("answer_must_contain") or [] if w.lower() not in reply_text.lower()]
                if missing:
                    answer_failures.append(f"answer to {payload['text']!r} lacks {missing}")
                # The persona hears the answer, then the next question follows in the same prompt.
                heard_from = phone.heard().seconds - PROMPT_QUIET_S - 0.1
        result = placed.result(timeout=120)
    phone.quiet()
    call = call or _latest_call(factory, patient_id)
    outcome = _stored_outcome(factory, call.id) if call else None
    if outcome is None:
        raise RuntimeError(f"scenario {scenario['id']}: the service wrote no outcome (try {result.call_status})")
    transcript = _transcript(factory, call.id)
    measured = service_latencies(factory, call.id)
    scored = score(scenario, outcome, transcript=transcript, latencies_ms=measured, answer_failures=answer_failures)
    scored.service_latencies_ms = measured
    log.info("scenario %s over SIP: try outcome %s", scenario["id"], result.call_status)
    return scored


def run_over_sip(scenarios: list[dict[str, Any]], *, services: Any, lab: SipLab,
                 on_result: Any = None) -> list[ScenarioResult]:
    from campaigns.sip import SipTelephony

    from campaigns.sip import SipEndpoint

    telephony = SipTelephony(settings=services.settings, services=services)
    assert lab.phone is not None
    results = []
    try:
        telephony.start(inbound=False)
        for scenario in scenarios:
            if SimulatedPatient(scenario).unreachable:
                log.info("scenario %s: no one answers; no call to place", scenario["id"])
                continue
            cpu, began = _cpu_seconds(), time.monotonic()
            result = call_scenario_over_sip(scenario, services=services, telephony=telephony, phone=lab.phone)
            cpu, wall = _cpu_seconds() - cpu, time.monotonic() - began
            log.info("scenario %s: %.0f s on the line, %.1f CPU seconds in this process (%.2f of a core)",
                     scenario["id"], wall, cpu, cpu / wall)
            USAGE.append((wall, cpu))
            results.append(result)
            if on_result:
                on_result(result)
    finally:
        SipEndpoint.shutdown_shared()
    return results


def scenario_numbers(scenarios: list[dict[str, Any]]) -> list[str]:
    return [str(s["patient"]["phone"]) for s in scenarios if s.get("patient") and s["patient"].get("phone")]
