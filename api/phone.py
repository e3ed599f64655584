"""The phone line: Twilio Media Streams over WebSocket, and the TwiML webhook that points a call at it.

Protocol (Twilio Media Streams): in `connected`, `start`, `media` (base64 8 kHz μ-law, 20 ms frames),
`dtmf`, `mark`, `stop`; out `media`, `mark`, `clear`. A Twilio-compatible SIP gateway, the browser
softphone and `suifang eval followup --voice` all speak it.

Per turn: VAD end-of-turn → speech recognition → dialog engine → speech synthesis, sentence by
sentence. The patient may talk over a prompt (barge-in: we send `clear` and listen). Silence after a
prompt reprompts; keypad digits answer yes/no (1/2) and readings (digits ended with #, * between two
numbers). Who answered is decided by what the first turn says (language/pickup.py): a carrier
announcement (关机, 无法接通, 空号, 通话中, 停机, 无人接听) ends the call with its outcome, an
answering machine's greeting gets a short message and ends as `voicemail`, and a person — however
long they speak — gets the call; only when no words are recognised does a long uninterrupted
greeting count as a machine (`voicemail_greeting_s`). A dropped socket ends the call as `partial`
with every answer so far stored.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hmac
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from xml.sax.saxutils import quoteattr

from campaigns.call_tokens import issue_call_token, read_call_token  # noqa: F401 - used by routes and tests
import numpy as np
from fastapi import APIRouter, HTTPException, Query, Request, WebSocket, WebSocketDisconnect, status
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import CurrentUser, SessionDep, authorize_patient
from api.errors import WITH_BODY, responses
from api.schemas import PlainModel, RecordId
from dialogs.flows import call_messages
from language.pickup import Pickup, classify_pickup
from records.audit import SYSTEM_ACTOR, record_audit
from records.metrics import observe_turn_latency
from records.schema import Turn

log = logging.getLogger(__name__)

router = APIRouter(tags=["phone"])

FRAME_MS = 20
PRE_ROLL_FRAMES = 25              # 500 ms of audio before VAD's speech start joins the utterance
PHONE_RATE = 8000
ASR_RATE = 16000
VOICEMAIL_MESSAGES = call_messages().texts("voicemail")  # dialogs/flows/messages.yaml


@dataclass(frozen=True)
class PhoneOptions:
    silence_timeout_s: float = 7.0        # after a prompt finishes playing
    end_of_turn_silence_ms: int = 700     # trailing silence that ends the patient's turn
    max_utterance_s: float = 30.0         # a turn longer than this is cut and recognised
    voicemail_greeting_s: float = 6.0     # speech at pick-up this long is recognised and classified; a machine if no words
    barge_in_min_speech_ms: int = 300     # speech this long during a prompt interrupts it


# ----- call tokens: which patient a stream is for (campaigns/call_tokens.py) --------------------------

# ----- keypad -----------------------------------------------------------------------------------

class KeypadBuffer:
    """DTMF to text: a lone 1 or 2 means yes or no; digits ended with # are a reading; * separates
    two numbers (145*90# is a blood pressure)."""

    def __init__(self) -> None:
        self.digits = ""

    def press(self, digit: str, language: str) -> str | None:
        if digit == "#":
            text, self.digits = self.digits, ""
            return text.replace("*", "/") if text else None
        if digit in "12" and not self.digits:
            # A single 1/2 answers at once; 1 or 2 as the first digit of a reading must be ended with #,
            # so keep it and decide when the next key arrives.
            self.digits = digit
            return None
        self.digits += digit
        return None

    def pending_yes_no(self, language: str) -> str | None:
        """A lone 1 or 2 left pending (no further key within the pause) is yes or no."""
        if self.digits in ("1", "2"):
            answer = {"1": {"zh": "是的", "en": "yes"}, "2": {"zh": "不是", "en": "no"}}[self.digits][language]
            self.digits = ""
            return answer
        return None


# ----- the per-connection session ---------------------------------------------------------------

@dataclass
class PhoneStats:
    turn_latencies_ms: list[float] = field(default_factory=list)


class PhoneSession:
    """One Media Streams connection driving one follow-up call."""

    def __init__(self, *, websocket: WebSocket, services: Any, options: PhoneOptions) -> None:
        self.ws = websocket
        self.services = services
        self.options = options
        self.voice = services.voice()
        self.stream_sid: str | None = None
        self.runner: Any = None
        self.scheduled_call_id: int | None = None
        self.language = "zh"
        self.keypad = KeypadBuffer()
        self.detector: Any = None
        self.utterance: list[np.ndarray] = []
        self.playing_marks: set[str] = set()
        self.prompt_task: asyncio.Task | None = None
        self.opening_prompt: asyncio.Task | None = None   # the AI-assistant and recording notice
        self.last_prompt_end: float | None = None
        self.turn_started_speech_at: float | None = None
        self.greeting_phase = True
        self.busy = False
        self.stats = PhoneStats()
        self.last_prompt_text = ""
        self.pre_roll: deque[np.ndarray] = deque(maxlen=PRE_ROLL_FRAMES)
        self._mark_seq = 0
        self._speech_ms = 0
        self._keypad_deadline: float | None = None

    # inbound events
    async def on_start(self, message: dict[str, Any]) -> None:
        start = message.get("start") or {}
        self.stream_sid = message.get("streamSid") or start.get("streamSid")
        params = start.get("customParameters") or {}
        token = params.get("call_token")
        if not token:
            raise PermissionError("the stream carries no call_token parameter")
        claims = read_call_token(token, secret=self.services.settings.secret_key)
        from dialogs.runner import CallRunner

        answerer_factory = await asyncio.to_thread(self.services.answerer_factory)
        llm_fallback = await asyncio.to_thread(self.services.llm_fallback)
        semantic = await asyncio.to_thread(self.services.semantic_matcher)
        second_reader = await asyncio.to_thread(self.services.second_reader)
        call_date = dt.date.fromisoformat(claims["call_date"]) if claims.get("call_date") else None
        self.scheduled_call_id = claims.get("scheduled_call_id")
        self.runner = await asyncio.to_thread(
            CallRunner.open, session_factory=self.services.session_factory, flows=self.services.flows,
            settings=self.services.settings, patient_id=claims["patient_id"], discharge_id=claims.get("discharge_id"),
            channel="phone", call_date=call_date, scheduled_call_id=claims.get("scheduled_call_id"),
            answerer_factory=answerer_factory, llm_fallback=llm_fallback, language=claims.get("language"),
            semantic=semantic, second_reader=second_reader)
        self.language = self.runner.engine.lang
        self.detector = self.voice.end_of_turn_detector(silence_ms=self.options.end_of_turn_silence_ms)
        with self.services.session_factory() as session:
            record_audit(session, actor=SYSTEM_ACTOR, action="call", resource="call", resource_id=self.runner.call_id,
                         patient_id=claims["patient_id"], detail="phone stream started")
            session.commit()
        reply = await asyncio.to_thread(self.runner.start)
        await self.speak(reply.say, end_of_speech=None)

    async def on_media(self, message: dict[str, Any]) -> None:
        if self.runner is None or self.runner.done:
            return
        payload = (message.get("media") or {}).get("payload") or ""
        try:
            mulaw = base64.b64decode(payload, validate=True)
        except ValueError:
            return  # a malformed frame is dropped, not fatal
        pcm16k = self.voice.phone_to_asr(mulaw)
        for event in self.detector.feed(pcm16k):
            await self._on_vad_event(event)
        if not self.detector.in_speech:
            self.pre_roll.append(pcm16k)
            return
        self.utterance.append(pcm16k)
        self._speech_ms += FRAME_MS
        if self.greeting_phase and self._speech_ms >= self.options.voicemail_greeting_s * 1000:
            # Long speech at pick-up: decide by what has been said so far, not by its length.
            await self._check_pickup()
            if self.runner.done:
                return
        # The opening (an AI assistant, the call is recorded) is always heard whole: a "喂？" or noise at
        # pick-up never cuts it off.
        opening = self.opening_prompt is not None and self.prompt_task is self.opening_prompt
        if self.prompt_task is not None and not self.prompt_task.done() and not opening \
                and self._speech_ms >= self.options.barge_in_min_speech_ms:
            await self._barge_in()
        if self._speech_ms >= self.options.max_utterance_s * 1000:
            await self._end_of_turn()

    async def _on_vad_event(self, event: str) -> None:
        if event == "speech_start":
            # VAD confirms speech a few frames in: keep the onset ("对", "No") it has already heard.
            self.utterance = list(self.pre_roll) + self.utterance
            self.pre_roll.clear()
            self._speech_ms = 0
            self.turn_started_speech_at = time.monotonic()
        elif event == "end_of_turn" and self.utterance:
            await self._end_of_turn()

    async def on_dtmf(self, message: dict[str, Any]) -> None:
        digit = str((message.get("dtmf") or {}).get("digit") or "")
        if not digit or self.runner is None or self.runner.done:
            return
        self.greeting_phase = False
        text = self.keypad.press(digit, self.language)
        self._keypad_deadline = time.monotonic() + 1.5 if self.keypad.digits else None
        if text:
            await self._patient_said(text, audio=None, confidence=1.0, ended_at=time.monotonic(), source="dtmf")

    async def on_mark(self, message: dict[str, Any]) -> None:
        name = (message.get("mark") or {}).get("name")
        self.playing_marks.discard(name)
        if not self.playing_marks and name and name.startswith("end-"):
            self.last_prompt_end = time.monotonic()

    async def tick(self) -> None:
        """Timers: keypad pause, silence after a prompt."""
        if self.runner is None or self.runner.done or self.busy:
            return
        now = time.monotonic()
        if self._keypad_deadline and now >= self._keypad_deadline:
            self._keypad_deadline = None
            text = self.keypad.pending_yes_no(self.language)
            if text:
                await self._patient_said(text, audio=None, confidence=1.0, ended_at=now, source="dtmf")
                return
        if (self.last_prompt_end is not None and not self.detector.in_speech and not self.playing_marks
                and not self.keypad.digits and now - self.last_prompt_end >= self.options.silence_timeout_s):
            self.last_prompt_end = None
            self.greeting_phase = False
            self.busy = True
            try:
                reply = await asyncio.to_thread(self.runner.silence)
                await self.speak(reply.say, end_of_speech=None, done=reply.done)
            finally:
                self.busy = False

    async def on_stop(self) -> None:
        await self.close(dropped=True)

    async def close(self, *, dropped: bool) -> None:
        if self.prompt_task is not None:
            self.prompt_task.cancel()
        if self.runner is not None and not self.runner.done:
            # Hang-up or dropped line: everything said so far is already stored; the outcome is partial.
            await asyncio.to_thread(self.runner.hangup)

    # turn handling
    async def _end_of_turn(self) -> None:
        audio = np.concatenate(self.utterance) if self.utterance else np.zeros(0, dtype=np.float32)
        self.utterance = []
        self._speech_ms = 0
        first_turn, self.greeting_phase = self.greeting_phase, False
        ended_at = time.monotonic()
        if audio.size < ASR_RATE * 0.2:
            return
        self.busy = True
        try:
            transcript = await asyncio.to_thread(self.voice.transcribe, audio, self.language,
                                                 context=self._recognition_context())
            log.info("turn recognised: %.1f s of audio, %d characters, %d segments dropped, confidence %.2f",
                     transcript.duration_s, len(transcript.text), transcript.dropped_segments, transcript.confidence)
            if not transcript.text.strip():
                return  # noise or silence never becomes an answer; the silence timer reprompts
            if first_turn:
                pickup = classify_pickup(transcript.text)
                if pickup.ends_call:  # a short announcement or greeting, over before the length check
                    await self._end_by_pickup(pickup)
                    return
            await self._patient_said(transcript.text, audio=audio, confidence=transcript.confidence,
                                     ended_at=ended_at, source="asr")
        finally:
            self.busy = False

    async def _patient_said(self, text: str, *, audio: np.ndarray | None, confidence: float | None,
                            ended_at: float, source: str) -> None:
        self.last_prompt_end = None
        audio_ref = await asyncio.to_thread(self._store_audio, audio) if audio is not None else None
        reply = await asyncio.to_thread(self.runner.handle, text, audio_ref=audio_ref, asr_confidence=confidence)
        await self.speak(reply.say, end_of_speech=ended_at, done=reply.done)

    def _recognition_context(self) -> str:
        """What the recogniser should expect: the patient's name and drugs, then the last question."""
        context = self.runner.engine.context
        names = [context.patient_name] + [m.name for m in context.medications]
        separator = "、" if self.language == "zh" else ", "
        question = " ".join(self.voice.sentences(self.last_prompt_text, self.language)[-2:])
        return separator.join(n for n in names if n) + ("。" if self.language == "zh" else ". ") + question

    async def speak(self, text: str, *, end_of_speech: float | None, done: bool = False) -> None:
        self.last_prompt_text = text
        if self.prompt_task is not None and not self.prompt_task.done():
            self.prompt_task.cancel()
        self.prompt_task = asyncio.create_task(self._play(text, end_of_speech=end_of_speech, done=done))
        self.prompt_task.add_done_callback(_log_failure)
        if self.opening_prompt is None:
            self.opening_prompt = self.prompt_task
        if done:
            await asyncio.shield(self.prompt_task)

    async def _play(self, text: str, *, end_of_speech: float | None, done: bool) -> None:
        first = True
        for sentence in self.voice.sentences(text, self.language):
            mulaw = await asyncio.to_thread(self.voice.synthesize_phone, sentence, self.language)
            if first and end_of_speech is not None:
                self.stats.turn_latencies_ms.append((time.monotonic() - end_of_speech) * 1000)
                observe_turn_latency(self.stats.turn_latencies_ms[-1] / 1000, stage="voice")
            first = False
            for offset in range(0, len(mulaw), PHONE_RATE * FRAME_MS // 1000):
                chunk = mulaw[offset:offset + PHONE_RATE * FRAME_MS // 1000]
                await self._send({"event": "media", "streamSid": self.stream_sid,
                                  "media": {"payload": base64.b64encode(chunk).decode()}})
            await self._mark(f"s-{self._mark_seq}")
        await self._mark(f"end-{self._mark_seq}")
        if done:
            await self._send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": "hangup"}})

    async def _mark(self, prefix: str) -> None:
        self._mark_seq += 1
        name = f"{prefix}-{self._mark_seq}"
        self.playing_marks.add(name)
        await self._send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    async def _barge_in(self) -> None:
        if self.prompt_task is not None:
            self.prompt_task.cancel()
        self.playing_marks.clear()
        await self._send({"event": "clear", "streamSid": self.stream_sid})

    async def _check_pickup(self) -> None:
        """Speech at pick-up has gone on for `voicemail_greeting_s`: recognise it so far and classify it.
        A person keeps the turn (and the call); a carrier or a machine ends it; no words at all fall
        back to the length rule (a machine)."""
        self.greeting_phase = False
        audio = np.concatenate(self.utterance) if self.utterance else np.zeros(0, dtype=np.float32)
        self.busy = True
        try:
            transcript = await asyncio.to_thread(self.voice.transcribe, audio, self.language,
                                                 context=self._recognition_context())
        finally:
            self.busy = False
        pickup = classify_pickup(transcript.text)
        log.info("pick-up after %.1f s of speech: %s", self._speech_ms / 1000, pickup.kind)
        if pickup.kind == "unknown":
            pickup = Pickup("voicemail", call_status="voicemail", try_outcome="voicemail")  # the length fallback
        if pickup.ends_call:
            await self._end_by_pickup(pickup)

    async def _end_by_pickup(self, pickup: Pickup) -> None:
        """A carrier announcement ends the call with its outcome, silently; a machine gets the short
        message. A campaign try is finished at once with the try's own outcome (an empty number stops
        the retry ladder and opens a nurse task)."""
        self.greeting_phase = False
        self.utterance = []
        log.info("call %s answered by %s: ends as %s", self.runner.call_id, pickup.kind, pickup.call_status)
        if pickup.kind == "voicemail":
            await self._voicemail(evidence=pickup.evidence or None)
        else:
            if self.prompt_task is not None and not self.prompt_task.done():
                await self._barge_in()
            await asyncio.to_thread(self.runner.mark_unreached, pickup.call_status, evidence=pickup.evidence or None)
            await self._send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": "hangup"}})
        if self.scheduled_call_id is not None and pickup.try_outcome:
            await asyncio.to_thread(self._finish_try, pickup.try_outcome)

    def _finish_try(self, try_outcome: str) -> None:
        from campaigns.windows import CallingPolicy
        from records import campaigns as store
        from records.schema import utcnow

        with self.services.session_factory() as session:
            store.finish_live_try(session, scheduled_call_id=self.scheduled_call_id, call_status=try_outcome,
                                  call_id=self.runner.call_id, now=utcnow(),
                                  policy=CallingPolicy.from_settings(self.services.settings))

    async def _voicemail(self, evidence: str | None = None) -> None:
        self.greeting_phase = False
        context = self.runner.engine.context
        message = VOICEMAIL_MESSAGES[self.language].format(hospital=context.hospital, ward_team=context.ward_team)
        await asyncio.to_thread(self.runner.mark_unreached, "voicemail", evidence=evidence)
        self.utterance = []
        await self.speak(message, end_of_speech=None, done=True)

    async def _send(self, message: dict[str, Any]) -> None:
        await self.ws.send_text(json.dumps(message))

    def _store_audio(self, audio: np.ndarray) -> str:
        directory = self.services.settings.data_path("audio", f"call-{self.runner.call_id}")
        directory.mkdir(parents=True, exist_ok=True)
        name = f"turn-{self.runner._seq:03d}.wav"
        self.voice.write_wav(directory / name, audio, ASR_RATE)
        return str(Path(f"call-{self.runner.call_id}") / name)


def _log_failure(task: asyncio.Task) -> None:
    """A prompt task that dies must say so: otherwise the line just goes quiet."""
    if not task.cancelled() and task.exception() is not None:
        log.error("playing a prompt failed", exc_info=task.exception())


@router.websocket("/phone/stream")
async def phone_stream(websocket: WebSocket) -> None:
    services = websocket.app.state.services
    await websocket.accept()
    session = PhoneSession(websocket=websocket, services=services, options=services.phone_options())
    ticker: asyncio.Task | None = None

    async def tick_forever() -> None:
        while True:
            await asyncio.sleep(0.1)
            await session.tick()

    try:
        while True:
            raw = await websocket.receive_text()
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            event = message.get("event")
            if event == "start":
                try:
                    await session.on_start(message)
                except (PermissionError, LookupError) as exc:
                    log.warning("phone stream refused: %s", exc.__class__.__name__)
                    await websocket.close(code=1008, reason=str(exc)[:120])
                    return
                ticker = asyncio.create_task(tick_forever())
            elif event == "media":
                await session.on_media(message)
            elif event == "dtmf":
                await session.on_dtmf(message)
            elif event == "mark":
                await session.on_mark(message)
            elif event == "stop":
                await session.on_stop()
                break
            if session.runner is not None and session.runner.done and (
                    session.prompt_task is None or session.prompt_task.done()):
                break
    except WebSocketDisconnect:
        pass
    finally:
        if ticker is not None:
            ticker.cancel()
        await session.close(dropped=True)
        try:
            await websocket.close()
        except (RuntimeError, WebSocketDisconnect):
            pass  # the other side has already gone


@router.post("/twilio/voice", include_in_schema=True, response_class=Response, responses={
    200: {"description": "TwiML connecting the call to /phone/stream",
          "content": {"application/xml": {"schema": {"type": "string"}}}},
    **responses(403, 422)})
async def twilio_voice_webhook(request: Request,
                               call_token: Annotated[str, Query(max_length=2000)] = "") -> Response:
    """TwiML for an answered call: connect its audio to our Media Streams endpoint. The call token
    rides in the webhook URL (set when the outbound call was placed) as ?call_token=…"""
    token = call_token
    try:
        read_call_token(token, secret=request.app.state.settings.secret_key)
    except PermissionError:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid or expired call token") from None
    base = request.app.state.settings.service.public_base_url.rstrip("/")
    stream_url = base.replace("https://", "wss://").replace("http://", "ws://") + "/phone/stream"
    twiml = ('<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
             f'<Stream url={quoteattr(stream_url)}><Parameter name="call_token" value={quoteattr(token)}/></Stream>'
             '</Connect></Response>')
    return Response(content=twiml, media_type="application/xml")


@router.post("/twilio/status", include_in_schema=False, status_code=204)
async def twilio_status_callback(request: Request) -> Response:
    """Twilio's status callback for a campaign try placed by campaigns.telephony.TwilioTelephony
    (?attempt=<try key>); signed with the account's auth token."""
    from campaigns.telephony import finish_from_status_callback, twilio_signature
    from campaigns.windows import CallingPolicy
    from records.schema import utcnow

    settings = request.app.state.settings
    params = {name: str(value) for name, value in (await request.form()).items()}
    url = settings.service.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += f"?{request.url.query}"
    signature = request.headers.get("X-Twilio-Signature", "")
    expected = twilio_signature(auth_token=settings.twilio_auth_token, url=url, params=params) \
        if settings.twilio_auth_token else ""
    if not expected or not hmac.compare_digest(signature, expected):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid Twilio signature")
    key = request.query_params.get("attempt", "")

    def finish() -> None:
        with request.app.state.session_factory() as session:
            finish_from_status_callback(session, key=key, params=params, now=utcnow(),
                                        policy=CallingPolicy.from_settings(settings))

    await asyncio.to_thread(finish)
    return Response(status_code=204)


class PhoneTokenRequest(PlainModel):
    patient_id: RecordId
    discharge_id: RecordId | None = None
    language: Literal["zh", "en"] | None = None


class PhoneTokenOut(BaseModel):
    call_token: str
    stream_path: str


@router.post("/calls/phone-token", response_model=PhoneTokenOut, responses=responses(*WITH_BODY, 404))
def phone_token(body: PhoneTokenRequest, request: Request, session: SessionDep, user: CurrentUser) -> dict:
    """A short-lived token a softphone (or a test client) presents to start a voice call."""
    return grant_call_token(request, session, user, patient_id=body.patient_id, discharge_id=body.discharge_id,
                            language=body.language)


def grant_call_token(request: Request, session: Session, user: Any, *, patient_id: int, discharge_id: int | None,
                     language: str | None, detail: str | None = None) -> dict:
    """A call token for a patient the user may call (404 + audited denial otherwise), audited."""
    authorize_patient(request, session, user, patient_id, action="call", resource="call")
    if language not in (None, "zh", "en"):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "language must be zh or en")
    token = issue_call_token(secret=request.app.state.settings.secret_key, patient_id=patient_id,
                             discharge_id=discharge_id, language=language)
    record_audit(session, actor=user.actor, action="call_token", resource="call", patient_id=patient_id,
                 detail=detail)
    return {"call_token": token, "stream_path": "/phone/stream"}


def turn_audio_path(services: Any, turn: Turn) -> Path | None:
    if not turn.audio_ref:
        return None
    root = services.settings.data_path("audio").resolve()
    path = (root / turn.audio_ref).resolve()
    return path if root in path.parents and path.exists() else None
