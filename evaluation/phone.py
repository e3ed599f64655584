"""`suifang eval followup --voice`: every scenario is a real phone call.

The service runs under uvicorn on a loopback port; a scripted caller (evaluation/phone_client.py) dials
its Media Streams WebSocket with a call token. The persona's answers are synthesized in the persona's own
voice (never the service's), sent through a degraded phone channel (evaluation/channel.py) and on as
8 kHz μ-law 20 ms frames; the service hears them through VAD end-of-turn and speech
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
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from evaluation.phone_client import LEADING_SILENCE_MS, MediaStreamsCaller, PhoneLineClosed
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


PATIENT_RATE_WPM = 160  # espeak-ng words per minute, where the persona speaks with espeak-ng
ESPEAK_PERSONA = "espeak-ng"


class PersonaVoiceError(ValueError):
    """The persona's voice cannot be used (unknown, or the service's own)."""


def persona_voices(settings: Any, choice: str | None = None) -> dict[str, str]:
    """The scripted patient's voice per language: `choice` (Kokoro voice names, comma-separated, each
    taken for the language it speaks; or "espeak-ng"), else the configured persona voices
    (`models.tts.kokoro.persona_voice_zh/en`). Never the service's own voice: the evaluation must not
    read its own voice back."""
    from models.kokoro import LANGUAGE_PREFIX, check_voice

    kokoro = settings.models.tts.kokoro
    if choice and choice.strip() == ESPEAK_PERSONA:
        return {"zh": ESPEAK_PERSONA, "en": ESPEAK_PERSONA}
    voices = {"zh": kokoro.persona_voice_zh, "en": kokoro.persona_voice_en}
    for name in (n.strip() for n in (choice or "").split(",") if n.strip()):
        language = next((lang for lang, prefixes in LANGUAGE_PREFIX.items() if name.startswith(prefixes)), None)
        if language is None:
            raise PersonaVoiceError(f"persona voice '{name}': not a Mandarin (z…) or English (a…) Kokoro voice")
        voices[language] = name
    try:
        voices = {language: check_voice(name, language) for language, name in voices.items()}
    except ValueError as exc:
        raise PersonaVoiceError(str(exc)) from None
    if settings.models.tts.backend == "kokoro":
        service = {"zh": kokoro.voice_zh, "en": kokoro.voice_en}
        same = [name for language, name in voices.items() if service[language] == name]
        if same:
            raise PersonaVoiceError(f"the persona would speak with the service's own voice ({', '.join(same)}); "
                                    "choose another with --persona-voice")
    return voices


class PatientVoice:
    """The persona's speech: Kokoro with the persona's own voices (a second model instance, so nothing
    the service has cached or said is reused), or espeak-ng in its own process."""

    def __init__(self, settings: Any, voices: dict[str, str]) -> None:
        self.settings = settings
        self.voices = voices
        self._kokoro: Any = None
        self._said: dict[tuple[str, str], tuple[Any, int]] = {}

    def prepare(self, texts: list[str], language: str) -> None:
        """Synthesize everything the persona may say before the call: a patient answers at once, and the
        persona's synthesis must neither count as silence on the line nor compete with the service's."""
        for text in texts:
            self.synthesize(text, language)

    def _synthesizer(self) -> Any:
        if self._kokoro is None:
            from models.kokoro import KokoroSynthesizer, kokoro_model_dir

            cfg = self.settings.models.tts.kokoro
            self._kokoro = KokoroSynthesizer(kokoro_model_dir(self.settings), voice_zh=self.voices["zh"],
                                             voice_en=self.voices["en"], speed=cfg.speed, threads=cfg.threads,
                                             g2p_cache_dir=self.settings.data_path("cache", "jieba"),
                                             voices_archive=cfg.voices_archive or None)
        return self._kokoro

    def synthesize(self, text: str, language: str) -> tuple[Any, int]:
        """(float32 audio, rate)."""
        key = (language, text)
        if key not in self._said:
            if self.voices[language] == ESPEAK_PERSONA:
                from models.tts import espeak_command

                tts = self.settings.models.tts
                self._said[key] = espeak_command(text, voice=tts.voice_zh if language == "zh" else tts.voice_en,
                                                 rate=PATIENT_RATE_WPM)
            else:
                self._said[key] = self._synthesizer().synthesize(text, language)
        return self._said[key]

    def phone(self, text: str, language: str) -> bytes:
        """8 kHz μ-law over a clean line, peak-normalised like the service's prompts."""
        import numpy as np

        from models import audio
        from models.voice import PEAK

        samples, rate = self.synthesize(text, language)
        pcm = audio.resample(samples, rate, audio.PHONE_RATE)
        peak = float(np.abs(pcm).max()) if pcm.size else 0.0
        return audio.float_to_mulaw(pcm * (PEAK / peak) if peak > 1e-4 else pcm)


def patient_voice_for(services: Any, choice: str | None = None) -> Any:
    """(text, language) -> 8 kHz μ-law over a clean line: the persona's voice (see `persona_voices`)."""
    return PatientVoice(services.settings, persona_voices(services.settings, choice)).phone


def persona_texts(persona: SimulatedPatient) -> list[str]:
    """Everything a scripted patient may say: its answers and its questions."""
    return [str(v) for v in persona.persona.values() if v is not None] + [a["text"] for a in persona.asks]


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


@dataclass(frozen=True)
class VoiceHarness:
    """How the scripted patient reaches the service: its voice (`persona_voices`) and the line."""
    persona_voice: str | None = None   # None: the configured persona voices
    degraded: bool = True              # through evaluation/channel.py; False: a clean μ-law line
    seed: int = 13                     # the channel's damage, per call from this seed and the scenario's id


async def call_scenario(scenario: dict[str, Any], *, services: Any, ws_url: str,
                        harness: VoiceHarness = VoiceHarness(), patient_voice: PatientVoice | None = None) -> ScenarioResult:
    """One scenario as a phone call through the WebSocket; scored as in text mode."""
    from campaigns.call_tokens import issue_call_token
    from evaluation.channel import PhoneChannel, default_options

    settings = services.settings
    factory = services.session_factory
    lang = scenario["language"]
    patient_id, discharge_id, call_date = await asyncio.to_thread(
        prepare_scenario, scenario, session_factory=factory, settings=settings,
        knowledge_base=services.knowledge_base())
    persona = SimulatedPatient(scenario)
    if patient_voice is None:
        patient_voice = PatientVoice(settings, persona_voices(settings, harness.persona_voice))
    channel = PhoneChannel(default_options(lang, seed=harness.seed), call_key=str(scenario["id"])) \
        if harness.degraded else None
    await asyncio.to_thread(patient_voice.prepare, persona_texts(persona), lang)
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
            try:
                # Silence past the turn model's cap, as a line would carry it: an answer the model
                # calls unfinished still ends (a real line never stops sending frames).
                trailing_ms = settings.phone.turn_max_silence_ms + 200
                if channel is not None:
                    samples, rate = await asyncio.to_thread(patient_voice.synthesize, text, lang)
                    mulaw = await asyncio.to_thread(channel.transmit, samples, rate, leading_silence_ms=LEADING_SILENCE_MS,
                                                    trailing_silence_ms=trailing_ms)
                    sent_at = await caller.say(mulaw, leading_silence_ms=0, trailing_silence_ms=0)
                else:
                    sent_at = await caller.say(await asyncio.to_thread(patient_voice.phone, text, lang),
                                            trailing_silence_ms=trailing_ms)
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
    result.voice = {"persona": patient_voice.voices[lang], "service": _service_voice(settings, lang),
                    "channel": channel.options.codec if channel is not None else "clean μ-law",
                    **(channel.report.summary() if channel is not None else {})}
    return result


def _service_voice(settings: Any, language: str) -> str:
    tts = settings.models.tts
    if tts.backend == "kokoro":
        return tts.kokoro.voice_zh if language == "zh" else tts.kokoro.voice_en
    return tts.backend


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


def run_over_phone(scenarios: list[dict[str, Any]], *, services: Any, on_result: Any = None,
                   harness: VoiceHarness = VoiceHarness()) -> list[ScenarioResult]:
    from api.app import create_app

    patient_voice = PatientVoice(services.settings, persona_voices(services.settings, harness.persona_voice))
    app = create_app(services.settings, services=services)
    results = []
    with LoopbackServer(app) as server:
        for scenario in scenarios:
            if SimulatedPatient(scenario).unreachable:
                log.info("scenario %s: no one answers; no call to place", scenario["id"])
                continue
            result = asyncio.run(call_scenario(scenario, services=services, ws_url=server.ws_url, harness=harness,
                                               patient_voice=patient_voice))
            results.append(result)
            if on_result:
                on_result(result)
    return results

