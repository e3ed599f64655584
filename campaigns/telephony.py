"""Placing outbound calls: a small Protocol, chosen once at startup from config.yaml
(`campaigns.telephony`).

- `TwilioTelephony` asks Twilio's REST API to dial; the answered call fetches TwiML from our
  /twilio/voice webhook (a call token in its URL) and streams to /phone/stream; Twilio's status
  callback reports how the try ended.
- `SipTelephony` (campaigns/sip.py) dials through the hospital's PBX or a carrier SIP trunk with PJSIP;
  the answered call runs inside `place_call` on the worker's thread, over campaigns.call_session.
- `LoopbackTelephony` is a simulated phone network for load tests: the number reaches a simulated
  patient of `suifang eval` (campaigns/scripted.py ScriptedCallee) who answers by text, and the call
  runs to its end inside `place_call`."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.windows import CallingPolicy
from records.campaigns import CallRequest

log = logging.getLogger(__name__)


class TelephonyError(RuntimeError):
    """The carrier refused or failed to place the call (the try is retried)."""


class AttemptLost(RuntimeError):
    """This worker's lease on the try is gone (it was recovered elsewhere): stop at once."""


@dataclass(frozen=True)
class CallResult:
    telephony_sid: str
    call_status: str | None  # how the call ended; None: still ringing, the carrier reports later
    call_id: int | None = None


class CallLine(Protocol):
    """What a worker lends an adapter that runs the conversation itself (loopback)."""

    def open_runner(self, channel: str = "loopback") -> Any: ...  # a dialogs.runner.CallRunner, new or resumed
    def heartbeat(self, call_id: int | None = None) -> None: ...  # raises AttemptLost


class Telephony(Protocol):
    def place_call(self, request: CallRequest, *, line: CallLine) -> CallResult: ...


# ----- Twilio ---------------------------------------------------------------------------------------

class TwilioTelephony:
    """POST /2010-04-01/Accounts/{sid}/Calls.json (basic auth) with To, From, Url, StatusCallback."""

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str, public_base_url: str,
                 token_secret: str, api_base: str = "https://api.twilio.com", timeout_s: float = 10.0,
                 client: httpx.Client | None = None) -> None:
        if not (account_sid and auth_token and from_number):
            raise ValueError("Twilio needs campaigns.twilio.account_sid, from_number and SUIFANG_TWILIO_AUTH_TOKEN")
        self.account_sid = account_sid
        self.from_number = from_number
        self.public_base_url = public_base_url.rstrip("/")
        self.token_secret = token_secret
        self.client = client or httpx.Client(base_url=api_base, auth=(account_sid, auth_token), timeout=timeout_s)

    def place_call(self, request: CallRequest, *, line: CallLine) -> CallResult:
        from campaigns.call_tokens import issue_call_token

        token = issue_call_token(secret=self.token_secret, patient_id=request.patient_id,
                                 discharge_id=request.discharge_id, language=request.language,
                                 scheduled_call_id=request.scheduled_call_id, ttl_minutes=60,
                                 call_date=request.call_date.isoformat())
        form = {
            "To": request.to_number,
            "From": self.from_number,
            "Url": f"{self.public_base_url}/twilio/voice?{urlencode({'call_token': token})}",
            "StatusCallback": f"{self.public_base_url}/twilio/status?{urlencode({'attempt': request.key})}",
            "StatusCallbackMethod": "POST",
            "MachineDetection": "Enable",  # AnsweredBy=machine_* tells a voicemail apart
        }
        try:
            response = self.client.post(f"/2010-04-01/Accounts/{self.account_sid}/Calls.json", data=form)
        except httpx.HTTPError as exc:
            raise TelephonyError(f"Twilio unreachable: {exc.__class__.__name__}") from None
        if response.status_code >= 300:
            # Only Twilio's error code: its message may quote the patient's number.
            try:
                code = response.json().get("code")
            except ValueError:
                code = None
            raise TelephonyError(f"Twilio refused the call: HTTP {response.status_code}, error code {code}")
        sid = response.json().get("sid") or ""
        log.info("try %s placed with Twilio as %s", request.key, sid)
        return CallResult(telephony_sid=sid, call_status=None)


# Twilio's final CallStatus / AnsweredBy → the outcome status of the try.
TWILIO_STATUSES = {"busy": "busy", "no-answer": "no_answer", "failed": "failed", "canceled": "failed"}


def twilio_call_status(call_status: str, answered_by: str | None = None) -> str | None:
    """The try's status from a status callback; None for a completed human call (its outcome is
    whatever the dialog on the phone line wrote)."""
    if answered_by and answered_by.startswith("machine"):
        return "voicemail"
    if call_status == "completed":
        return None
    return TWILIO_STATUSES.get(call_status, "failed")


TWILIO_FINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


def twilio_signature(*, auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 over the full URL and the sorted POST parameters."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def finish_from_status_callback(session: Session, *, key: str, params: dict[str, str], now: dt.datetime,
                                policy: CallingPolicy) -> str | None:
    """Twilio's final status callback for a placed try → records.campaigns.record_result."""
    from records import campaigns as store
    from records.schema import CallAttempt, CallSession, Outcome

    if params.get("CallStatus") not in TWILIO_FINAL_STATUSES:
        return None
    status = twilio_call_status(params["CallStatus"], params.get("AnsweredBy"))
    call_id, retryable = None, None
    if status is None:
        # A person answered: the try ends as the phone line's dialog ended it.
        attempt = session.scalar(select(CallAttempt).where(CallAttempt.key == key))
        if attempt is None:
            return None
        # The newest call of this scheduled call that no earlier try accounts for (ids, not clocks:
        # the web and worker machines' clocks may differ).
        taken = select(CallAttempt.call_id).where(CallAttempt.scheduled_call_id == attempt.scheduled_call_id,
                                                  CallAttempt.call_id.is_not(None))
        call = session.scalar(select(CallSession).where(CallSession.scheduled_call_id == attempt.scheduled_call_id,
                                                        CallSession.id.not_in(taken))
                              .order_by(CallSession.id.desc()).limit(1))
        if call is None:
            status, retryable = "failed", True  # answered, but our stream never started
        else:
            outcome = session.scalar(select(Outcome.call_status).where(Outcome.call_id == call.id))
            status, call_id = outcome or "partial", call.id  # no outcome yet: the stream is still closing
    return store.record_result(session, key=key, call_status=status, now=now, policy=policy, call_id=call_id,
                               telephony_sid=params.get("CallSid"), retryable=retryable)


# ----- loopback -------------------------------------------------------------------------------------

class LoopbackTelephony:
    """A phone number reaches the simulated patient whose scenario lists that number; others ring out."""

    MAX_TURNS = 80

    def __init__(self, *, scenarios: list[dict[str, Any]], answer_delay_s: float = 0.0,
                 on_turn: Callable[[float], None] | None = None) -> None:
        self.directory = {str(s["patient"].get("phone")): s for s in scenarios if s.get("patient")}
        self.answer_delay_s = answer_delay_s
        self.on_turn = on_turn  # gets each turn's milliseconds, patient words in to reply stored (bench)

    @classmethod
    def from_file(cls, path: str | Path, *, answer_delay_s: float = 0.0,
                  on_turn: Callable[[float], None] | None = None) -> LoopbackTelephony:
        from campaigns.scripted import load_callees

        return cls(scenarios=list(load_callees(path).values()) if str(path) else [], answer_delay_s=answer_delay_s,
                   on_turn=on_turn)

    def place_call(self, request: CallRequest, *, line: CallLine) -> CallResult:
        from campaigns.scripted import ScriptedCallee

        sid = f"LB{uuid.uuid4().hex}"
        scenario = self.directory.get(request.to_number)
        patient = ScriptedCallee(scenario) if scenario else None
        if patient is None or patient.unreachable:
            return CallResult(telephony_sid=sid, call_status="no_answer")
        if patient.events.get("unreached"):  # a scenario may make the line busy or reach voicemail
            return CallResult(telephony_sid=sid, call_status=str(patient.events["unreached"]))
        runner = line.open_runner()
        line.heartbeat(runner.call_id)
        reply = runner.reconnect() if request.resume_call_id else runner.start()
        for _ in range(self.MAX_TURNS):
            if reply.done:
                break
            action, payload = patient.respond(reply.expecting)
            if self.answer_delay_s:
                time.sleep(self.answer_delay_s)  # the patient thinking; a real call's pace
            line.heartbeat()
            if action == "hangup":
                break
            began = time.perf_counter()
            if action == "silence":
                reply = runner.silence()
            else:
                reply = runner.handle(payload["text"] if action == "ask" else payload)
            if self.on_turn:
                self.on_turn((time.perf_counter() - began) * 1000)
        outcome = runner.finish() if runner.done else runner.hangup()
        return CallResult(telephony_sid=sid, call_status=outcome["call_status"], call_id=runner.call_id)


def build_telephony(settings: Any, *, services: Any = None) -> Telephony:
    c = settings.campaigns
    if c.telephony == "sip":
        from campaigns.sip import SipTelephony

        if services is None:
            raise ValueError("the SIP line runs its calls itself: build it with the services")
        return SipTelephony(settings=settings, services=services)
    if c.telephony == "twilio":
        return TwilioTelephony(account_sid=c.twilio.account_sid, auth_token=settings.twilio_auth_token,
                               from_number=c.twilio.from_number, public_base_url=settings.service.public_base_url,
                               token_secret=settings.secret_key, api_base=c.twilio.api_base)
    path = settings.resolve_path(c.loopback.personas_file) if c.loopback.personas_file else ""
    return LoopbackTelephony.from_file(path, answer_delay_s=c.loopback.answer_delay_s)
