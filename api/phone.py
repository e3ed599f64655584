"""The Twilio line: the Media Streams WebSocket, the TwiML webhook that points a call at it, the
status callback, and the call tokens a softphone or test client presents.

Protocol (Twilio Media Streams): in `connected`, `start`, `media` (base64 8 kHz μ-law, 20 ms frames),
`dtmf`, `mark`, `stop`; out `media`, `mark`, `clear`. The browser softphone (/ui/softphone) and the
scripted caller of `suifang eval followup --voice` speak it too.

This module is an adapter only: the call itself — turns, barge-in, silence, keypad, who answered,
hand-over to a nurse, the event log — is campaigns.call_session.CallSession, shared with the SIP line
(campaigns/sip.py)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hmac
import json
import logging
from pathlib import Path
from typing import Annotated, Any, Literal
from xml.sax.saxutils import quoteattr

from fastapi import APIRouter, HTTPException, Query, Request, WebSocket, WebSocketDisconnect, status
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import CurrentUser, SessionDep, authorize_patient
from api.errors import WITH_BODY, responses
from api.schemas import PlainModel, RecordId
from campaigns.call_session import FRAME_MS, PHONE_RATE, CallSession, CallTarget, KeypadBuffer, PhoneOptions  # noqa: F401
from campaigns.call_tokens import issue_call_token, read_call_token  # noqa: F401 - used by routes and tests
from records.audit import record_audit
from records.schema import Turn

log = logging.getLogger(__name__)

router = APIRouter(tags=["phone"])

# ----- the Media Streams line under a CallSession --------------------------------------------------

class MediaStreamsLine:
    """campaigns.call_session.LineTransport over a Media Streams WebSocket: audio goes out as base64
    20 ms μ-law `media` messages, marks as `mark` (echoed back by the gateway once played), barge-in
    as `clear`, the end of the call as the mark `hangup`. Twilio itself cannot be handed a REFER here."""

    def __init__(self, websocket: WebSocket) -> None:
        self.ws = websocket
        self.stream_sid: str | None = None

    async def play(self, mulaw: bytes) -> None:
        step = PHONE_RATE * FRAME_MS // 1000
        for offset in range(0, len(mulaw), step):
            await self._send({"event": "media", "streamSid": self.stream_sid,
                              "media": {"payload": base64.b64encode(mulaw[offset:offset + step]).decode()}})

    async def mark(self, name: str) -> None:
        await self._send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    async def clear(self) -> None:
        await self._send({"event": "clear", "streamSid": self.stream_sid})

    async def hangup(self) -> None:
        await self.mark("hangup")

    async def transfer(self, destination: str) -> str | None:
        return None

    async def _send(self, message: dict[str, Any]) -> None:
        await self.ws.send_text(json.dumps(message))


def target_from_start(message: dict[str, Any], *, secret: str) -> tuple[str | None, CallTarget]:
    """The stream id and the call's target from a `start` message's call token (PermissionError if absent or bad)."""
    start = message.get("start") or {}
    token = (start.get("customParameters") or {}).get("call_token")
    if not token:
        raise PermissionError("the stream carries no call_token parameter")
    claims = read_call_token(token, secret=secret)
    call_date = dt.date.fromisoformat(claims["call_date"]) if claims.get("call_date") else None
    target = CallTarget(patient_id=claims["patient_id"], discharge_id=claims.get("discharge_id"),
                        language=claims.get("language"), scheduled_call_id=claims.get("scheduled_call_id"),
                        call_date=call_date)
    return message.get("streamSid") or start.get("streamSid"), target


@router.websocket("/phone/stream")
async def phone_stream(websocket: WebSocket) -> None:
    services = websocket.app.state.services
    await websocket.accept()
    line = MediaStreamsLine(websocket)
    session = CallSession(services=services, transport=line, options=services.phone_options(), channel="phone")
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
                    line.stream_sid, target = target_from_start(message, secret=services.settings.secret_key)
                    await session.open(target)
                except (PermissionError, LookupError) as exc:
                    log.warning("phone stream refused: %s", exc.__class__.__name__)
                    await websocket.close(code=1008, reason=str(exc)[:120])
                    return
                ticker = asyncio.create_task(tick_forever())
            elif event == "media":
                payload = (message.get("media") or {}).get("payload") or ""
                try:
                    mulaw = base64.b64decode(payload, validate=True)
                except ValueError:
                    continue  # a malformed frame is dropped, not fatal
                await session.hear_phone(mulaw)
            elif event == "dtmf":
                await session.digit(str((message.get("dtmf") or {}).get("digit") or ""))
            elif event == "mark":
                await session.played((message.get("mark") or {}).get("name"))
            elif event == "stop":
                break
            if session.done and not session.playing:
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


def call_recording_paths(services: Any, call_id: int) -> dict[int, Path]:
    """The call's stereo recordings (patient | assistant, one per line it was carried on), by part."""
    from campaigns.recording import recording_refs

    root = services.settings.data_path("audio").resolve()
    return {part: root / ref for part, ref in recording_refs(root, call_id)}
