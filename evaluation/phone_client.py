"""A scripted caller for the phone line: speaks the Twilio Media Streams protocol over a real
WebSocket, the way a Twilio or SIP gateway does, so a call can be driven end to end without a phone.

It plays the gateway's part: sends `connected`/`start` with the call token, acknowledges every
`mark` (as if the prompt had finished playing), sends the patient's audio as base64 8 kHz μ-law
20 ms frames followed by trailing silence, and collects what the service says until the prompt's
closing mark. Used by `suifang eval followup --voice` and the voice tests."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

FRAME_BYTES = 160                 # 20 ms of 8 kHz μ-law
MULAW_SILENCE = b"\xff"
LEADING_SILENCE_MS = 300          # the line before the patient speaks…
TRAILING_SILENCE_MS = 1200        # …and after: the silence that ends the turn


class PhoneLineClosed(ConnectionError):
    """The service ended the stream (the call is over or the token was refused)."""


@dataclass
class Prompt:
    """What the service said in one turn, as the caller heard it."""
    audio: bytes = b""
    marks: list[str] = field(default_factory=list)
    cleared: bool = False
    hangup: bool = False          # the service marked the end of the call
    first_audio_at: float | None = None


class MediaStreamsCaller:
    def __init__(self, websocket: Any, *, stream_sid: str = "MZscripted", call_sid: str = "CAscripted") -> None:
        self.ws = websocket
        self.stream_sid = stream_sid
        self.call_sid = call_sid

    @classmethod
    async def connect(cls, url: str, **kwargs: Any) -> MediaStreamsCaller:
        import websockets

        ws = await websockets.connect(url, max_size=2**22, open_timeout=10)
        return cls(ws, **kwargs)

    async def start(self, call_token: str) -> None:
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        await self._send({"event": "start", "sequenceNumber": "1", "streamSid": self.stream_sid,
                          "start": {"streamSid": self.stream_sid, "callSid": self.call_sid,
                                    "tracks": ["inbound"], "customParameters": {"call_token": call_token},
                                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}})

    async def listen(self, *, timeout_s: float = 60.0) -> Prompt:
        """Everything the service sends until its prompt's closing (`end-…`) mark, or the call's end."""
        import websockets

        prompt = Prompt()
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the service said nothing within the timeout")
            try:
                raw = await asyncio.wait_for(self.ws.recv(), timeout=remaining)
            except websockets.ConnectionClosed:
                prompt.hangup = True
                return prompt
            message = json.loads(raw)
            event = message.get("event")
            if event == "media":
                if prompt.first_audio_at is None:
                    prompt.first_audio_at = time.monotonic()
                prompt.audio += base64.b64decode(message["media"]["payload"])
            elif event == "clear":
                prompt.cleared = True
            elif event == "mark":
                name = message["mark"]["name"]
                prompt.marks.append(name)
                if name == "hangup":
                    prompt.hangup = True
                    return prompt
                # The gateway echoes a mark once the audio before it has played; we "play" instantly.
                try:
                    await self._send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})
                except PhoneLineClosed:
                    prompt.hangup = True
                    return prompt
                if name.startswith("end-"):
                    return prompt

    async def say(self, mulaw: bytes, *, leading_silence_ms: int = LEADING_SILENCE_MS,
                  trailing_silence_ms: int = TRAILING_SILENCE_MS) -> float:
        """Send the patient's audio between silences (a line carries frames all the time; the
        trailing silence ends the turn); returns when the last frame went."""
        for _ in range(leading_silence_ms // 20):
            await self.send_frame(MULAW_SILENCE * FRAME_BYTES)
        for offset in range(0, len(mulaw), FRAME_BYTES):
            await self.send_frame(mulaw[offset:offset + FRAME_BYTES].ljust(FRAME_BYTES, MULAW_SILENCE))
        for _ in range(trailing_silence_ms // 20):
            await self.send_frame(MULAW_SILENCE * FRAME_BYTES)
        return time.monotonic()

    async def send_frame(self, frame: bytes) -> None:
        await self._send({"event": "media", "streamSid": self.stream_sid,
                          "media": {"track": "inbound", "payload": base64.b64encode(frame).decode()}})

    async def press(self, digits: str) -> None:
        for digit in digits:
            await self._send({"event": "dtmf", "streamSid": self.stream_sid, "dtmf": {"track": "inbound_track",
                                                                                      "digit": digit}})

    async def hang_up(self) -> None:
        try:
            await self._send({"event": "stop", "streamSid": self.stream_sid,
                              "stop": {"accountSid": "ACscripted", "callSid": self.call_sid}})
        except Exception:  # noqa: BLE001 - the service may already have closed the line
            pass
        await self.ws.close()

    async def _send(self, message: dict[str, Any]) -> None:
        import websockets

        try:
            await self.ws.send(json.dumps(message))
        except websockets.ConnectionClosed as exc:
            raise PhoneLineClosed("the service closed the stream") from exc
