"""The SIP line: calls through the hospital's PBX (FreeSWITCH, Asterisk) or a carrier's SIP trunk, with
PJSIP (the `pjsua2` bindings of pjproject, PyPI `pjsua2-python`) — no SIP or RTP is parsed here.

- One PJSUA2 endpoint per process, run on its own thread (`SipEndpoint`): every pjsua call is made on
  that thread; registration to `campaigns.sip.registrar` with the password from SUIFANG_SIP_PASSWORD.
- Media: G.711 A-law (PCMA) and μ-law (PCMU), 8 kHz, 20 ms packets, no other codec offered. A PJMEDIA
  port (`AudioMediaPort`) per call hands 20 ms linear frames to Python and takes the prompts back;
  the call itself is the same `campaigns.call_session.CallSession` as on the Media Streams line.
- Keypad digits: RFC 4733 telephone-events and SIP INFO (application/dtmf-relay), both reported by PJSIP
  (`onDtmfDigit`) and answered the same way (tests/test_sip.py: baresip sends RFC 4733, SIPp INFO).
- Early media (183 with SDP) is listened to: a carrier's announcement before any answer (空号, 关机)
  is recognised (read as Mandarin, then in the call's language) and decides the try's outcome as
  language/data/pickup.yaml says, over the outcome of the final response (tested with SIPp playing
  the announcement over A-law RTP).
- A call that never connects ends with its SIP response, mapped to the try's outcome
  (`try_outcome_for_sip`): busy, no answer, rejected, not found (空号: no more tries, a nurse task),
  unreachable.
- Hand-over to a nurse: SIP REFER to the ward's extension (`ward_extensions`), inside `office_hours`.
- At most `max_channels` calls at once on the trunk, outbound and inbound together; the campaign
  dispatcher claims no more tries than that (campaigns.worker.dispatch_tick).
- Inbound: a call to the service's number is answered; the caller's number finds the patient, whose
  waiting follow-up call is continued. A patient with none waiting, and a number on no patient
  record, may leave a message for the ward after a tone (campaigns/inbound.py `take_message`)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import logging
import queue
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dialogs.flows import call_messages
from campaigns.call_session import CallEventType, CallSession, CallTarget, Stage, TransferPolicy
from campaigns.telephony import AttemptLost, CallResult, TelephonyError

log = logging.getLogger(__name__)

FRAME_SAMPLES = 160            # 20 ms at 8 kHz
FRAME_BYTES = FRAME_SAMPLES * 2
SILENT_FRAME = b"\x00" * FRAME_BYTES
HEARTBEAT_S = 10.0
EARLY_MEDIA_MAX_S = 20.0

# ----- SIP responses → the try's outcome ------------------------------------------------------------

_BUSY = {486, 600}
_NO_ANSWER = {408, 487}
_REJECTED = {403, 603, 607, 608}
_NOT_FOUND = {404, 410, 484, 604}


def try_outcome_for_sip(code: int) -> str:
    """The final response of an INVITE that never connected → the campaign try's outcome.

    busy: 486 Busy Here, 600 Busy Everywhere. no_answer: 487 Request Terminated (we gave up after
    ring_timeout_s), 408 Request Timeout. rejected: 603 Decline, 403, 607/608. not_found (空号, the ladder
    stops): 404, 410 Gone, 484 Address Incomplete, 604. unreachable (关机, 不在服务区, trunk down): 480
    and everything else (5xx, 488, no response)."""
    if code in _BUSY:
        return "busy"
    if code in _NO_ANSWER:
        return "no_answer"
    if code in _REJECTED:
        return "rejected"
    if code in _NOT_FOUND:
        return "not_found"
    return "unreachable"


def sip_user(uri: str) -> str:
    """The user part of a SIP URI or name-addr ('"x" <sip:+8613800000000@host>' → '+8613800000000')."""
    match = re.search(r"sips?:([^@;>]+)@", uri or "")
    return match.group(1) if match else ""


def _host_of(uri: str) -> str:
    match = re.match(r"^sips?:(?:[^@]+@)?([^;>]+)", uri or "")
    return match.group(1) if match else ""


# ----- the endpoint ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SipAccount:
    registrar: str
    domain: str
    username: str
    auth_username: str
    password: str
    outbound_proxy: str
    bind: str
    public_address: str
    port: int
    rtp_port: int
    codecs: tuple[str, ...]
    dial_prefix: str

    @classmethod
    def from_settings(cls, settings: Any) -> SipAccount:
        c = settings.campaigns.sip
        return cls(registrar=c.registrar, domain=c.domain or _host_of(c.registrar), username=c.username,
                   auth_username=c.auth_username or c.username, password=settings.sip_password,
                   outbound_proxy=c.outbound_proxy, bind=c.bind, public_address=c.public_address, port=c.port,
                   rtp_port=c.rtp_port, codecs=tuple(c.codecs), dial_prefix=c.dial_prefix)

    def uri_for(self, number: str) -> str:
        if number.startswith(("sip:", "sips:")):
            return number
        return f"sip:{self.dial_prefix}{number}@{self.domain}"

    @property
    def id_uri(self) -> str:
        return f"sip:{self.username or 'suifang'}@{self.domain or self.bind}"


class SipEndpoint:
    """The process's one PJSUA2 endpoint, on its own thread. `run(fn)` runs fn there and returns a
    concurrent Future; PJSIP's callbacks arrive there too (media frames on PJMEDIA's clock thread)."""

    _instance: SipEndpoint | None = None
    _lock = threading.Lock()

    def __init__(self, account: SipAccount, *, max_calls: int) -> None:
        self.account = account
        self.max_calls = max_calls
        self._jobs: queue.Queue[tuple[Callable[[], Any], concurrent.futures.Future]] = queue.Queue()
        self._ready = threading.Event()
        self._stopping = False
        self._error: BaseException | None = None
        self.registered = threading.Event()
        self.registration_code: int | None = None
        self.on_incoming: Callable[[Any], None] | None = None   # gets a new _PjCall (on the endpoint thread)
        self.calls: set[Any] = set()
        self._thread = threading.Thread(target=self._main, name="suifang-sip", daemon=True)

    @classmethod
    def shared(cls, account: SipAccount, *, max_calls: int) -> SipEndpoint:
        with cls._lock:
            if cls._instance is None or not cls._instance._thread.is_alive():
                endpoint = cls(account, max_calls=max_calls)
                endpoint.start()
                cls._instance = endpoint
            elif cls._instance.account != account:
                raise TelephonyError("one SIP account per process: the endpoint is already up with another")
            return cls._instance

    @classmethod
    def shutdown_shared(cls) -> None:
        with cls._lock:
            endpoint, cls._instance = cls._instance, None
        if endpoint is not None:
            endpoint.stop()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise TelephonyError(f"the SIP endpoint did not start: {self._error}") from self._error
        if not self._ready.is_set():
            raise TelephonyError("the SIP endpoint did not start within 30 s")

    def stop(self) -> None:
        self._stopping = True
        self._thread.join(15)

    def run(self, fn: Callable[[], Any]) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        if threading.current_thread() is self._thread:
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiter
                future.set_exception(exc)
            return future
        self._jobs.put((fn, future))
        return future

    def run_later(self, fn: Callable[[], Any]) -> None:
        """fn on the endpoint thread after the current callback has returned."""
        self._jobs.put((fn, concurrent.futures.Future()))

    def wait_registered(self, timeout_s: float = 10.0) -> bool:
        return self.registered.wait(timeout_s)

    # the endpoint thread
    def _main(self) -> None:
        import pjsua2 as pj

        try:
            ensure_pjsua_types()
            self._open(pj)
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        while not self._stopping:
            self.ep.libHandleEvents(10)
            self._drain_jobs()
        self._close(pj)

    def _open(self, pj: Any) -> None:
        a = self.account
        self.ep = pj.Endpoint()
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0              # this thread polls; no PJSIP worker threads calling into Python
        cfg.uaConfig.mainThreadOnly = False
        cfg.uaConfig.maxCalls = max(self.max_calls * 2, 4)   # a bridged hand-over takes a second leg
        cfg.uaConfig.userAgent = "Suifang"
        cfg.logConfig.level = 3
        cfg.logConfig.consoleLevel = 3
        cfg.logConfig.msgLogging = 0            # SIP messages carry patients' numbers: never logged
        self._log_writer = _log_writer(pj)      # PJSIP's own lines, numbers masked, into Python's logging
        cfg.logConfig.writer = self._log_writer
        cfg.medConfig.clockRate = 8000
        cfg.medConfig.sndClockRate = 8000
        cfg.medConfig.audioFramePtime = 20
        cfg.medConfig.ptime = 20
        cfg.medConfig.noVad = True
        cfg.medConfig.ecTailLen = 0
        self.ep.libInit(cfg)
        tcfg = pj.TransportConfig()
        tcfg.port = a.port
        tcfg.boundAddress = a.bind
        if a.public_address:
            tcfg.publicAddress = a.public_address
        self.ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        self.ep.libStart()
        self.ep.audDevManager().setNullDev()    # no sound card: the conference bridge runs on its own clock
        wanted = {name: 255 - i for i, name in enumerate(a.codecs)}
        for codec in self.ep.codecEnum2():
            self.ep.codecSetPriority(codec.codecId, wanted.get(codec.codecId.split("/")[0], 0))
        acfg = pj.AccountConfig()
        acfg.idUri = a.id_uri
        if a.registrar:
            acfg.regConfig.registrarUri = a.registrar
            acfg.regConfig.registerOnAdd = True
        if a.username and a.password:
            acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", a.auth_username, 0, a.password))
        if a.outbound_proxy:
            acfg.sipConfig.proxies.append(a.outbound_proxy)
        acfg.mediaConfig.transportConfig.port = a.rtp_port
        acfg.mediaConfig.transportConfig.portRange = 2000
        acfg.mediaConfig.transportConfig.boundAddress = a.bind
        if a.public_address:
            acfg.mediaConfig.transportConfig.publicAddress = a.public_address
        self.pj_account = _PjAccount(self, pj)
        self.pj_account.create(acfg)
        if not a.registrar:
            self.registered.set()

    def _close(self, pj: Any) -> None:
        import gc

        for call in list(self.calls):
            _hangup(call, 0)
        deadline = time.monotonic() + 2
        while self.calls and time.monotonic() < deadline:
            self.ep.libHandleEvents(10)
            self._drain_jobs()
        for call in list(self.calls):
            call.release_port()
            call.forget()
        try:
            self.pj_account.shutdown()
        except Exception:  # noqa: BLE001
            pass
        self.pj_account = None
        gc.collect()   # PJSUA2 objects are freed while PJSUA is still up, on this thread
        self.ep.libDestroy()
        # The endpoint object too, here: freed from any other thread it would call PJLIB unregistered.
        self.ep = None
        self._log_writer = None
        gc.collect()

    def _drain_jobs(self) -> None:
        while True:
            try:
                fn, future = self._jobs.get_nowait()
            except queue.Empty:
                return
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:  # noqa: BLE001 - handed to the waiter
                    future.set_exception(exc)

    # calls (on the endpoint thread)
    def make_call(self, uri: str, handle: CallHandle) -> Any:
        import pjsua2 as pj

        call = _PjCall(self, handle)
        self.calls.add(call)
        try:
            call.makeCall(uri, pj.CallOpParam(True))
        except Exception:
            self.calls.discard(call)
            raise
        return call


def _define() -> None:
    import pjsua2 as pj

    global _PjAccount, _PjCall, _MediaPort

    class _PjAccountImpl(pj.Account):
        def __init__(self, endpoint: SipEndpoint, _pj: Any) -> None:
            super().__init__()
            self.endpoint = endpoint

        def onRegState(self, prm: Any) -> None:
            self.endpoint.registration_code = prm.code
            if 200 <= prm.code < 300:
                self.endpoint.registered.set()
                log.info("SIP registration: %s", prm.code)
            else:
                self.endpoint.registered.clear()
                log.warning("SIP registration failed: %s", prm.code)

        def onIncomingCall(self, prm: Any) -> None:
            handler = self.endpoint.on_incoming
            call = _PjCallImpl(self.endpoint, None, account=self, call_id=prm.callId)
            self.endpoint.calls.add(call)   # kept until it is disconnected, never freed inside a callback
            if handler is None:
                call.hangup(_op(486))
                return
            handler(call)

    class _PjCallImpl(pj.Call):
        def __init__(self, endpoint: SipEndpoint, handle: CallHandle | None, *, account: Any = None,
                     call_id: int | None = None) -> None:
            if call_id is None:
                super().__init__(endpoint.pj_account)
            else:
                super().__init__(account, call_id)
            self.endpoint = endpoint
            self.handle = handle
            self.port: Any = None
            self.connected_media: Any = None

        def onCallState(self, prm: Any) -> None:
            info = self.getInfo()
            if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
                code = info.lastStatusCode
                self.release_port()
                handle = self.handle
                if handle is not None:
                    handle.notify("ended", code)
                # Never free a call inside its own callback (PJSUA2 still uses it on the way out): drop
                # every reference afterwards, on this thread, while PJSUA is up.
                self.endpoint.run_later(self.forget)
            elif info.state == pj.PJSIP_INV_STATE_CONFIRMED and self.handle is not None:
                self.handle.notify("answered", None)

        def onCallMediaState(self, prm: Any) -> None:
            info = self.getInfo()
            # A carrier's early media is often `a=sendonly`, which PJSUA reports as remote hold: that
            # stream is heard all the same (its announcement decides the try).
            for index, media in enumerate(info.media):
                if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status in _HEARD_MEDIA:
                    audio = self.getAudioMedia(index)
                    if self.port is None and self.handle is not None:
                        self.port = _MediaPortImpl(self.handle)
                        fmt = pj.MediaFormatAudio()
                        fmt.type = pj.PJMEDIA_TYPE_AUDIO
                        fmt.clockRate, fmt.channelCount, fmt.bitsPerSample, fmt.frameTimeUsec = 8000, 1, 16, 20000
                        self.port.createPort(f"suifang-{id(self)}", fmt)
                    if self.port is not None and self.connected_media is None:
                        audio.startTransmit(self.port)
                        self.port.startTransmit(audio)
                        self.connected_media = audio
                        try:
                            codec = self.getStreamInfo(index).codecName
                        except Exception:  # noqa: BLE001
                            codec = "?"
                        early = info.state < pj.PJSIP_INV_STATE_CONNECTING
                        self.handle.notify("media", (codec, early))

        def onDtmfDigit(self, prm: Any) -> None:
            if self.handle is not None:
                self.handle.notify("digit", prm.digit)

        def onCallTransferStatus(self, prm: Any) -> None:
            if self.handle is not None and (prm.finalNotify or prm.statusCode >= 200):
                self.handle.notify("transfer", prm.statusCode)
                prm.cont = False

        def forget(self) -> None:
            if self.handle is not None:
                self.handle.call = None
                self.handle = None
            self.endpoint.calls.discard(self)

        def release_port(self) -> None:
            if self.port is not None:
                port, self.port = self.port, None
                self.connected_media = None
                self.handle_port_gone(port)

        def handle_port_gone(self, port: Any) -> None:
            # Destroying the port detaches it from the conference bridge (the media clock stops calling it).
            try:
                port.handle = None
                del port
            except Exception:  # noqa: BLE001
                pass

    class _MediaPortImpl(pj.AudioMediaPort):
        """Frames to and from Python. Called on PJMEDIA's clock thread: only deques and the handle's
        thread-safe notify, nothing that waits."""

        def __init__(self, handle: CallHandle) -> None:
            super().__init__()
            self.handle = handle

        def onFrameRequested(self, frame: Any) -> None:
            handle = self.handle
            data = handle.next_frame() if handle is not None else SILENT_FRAME
            frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
            frame.buf = pj.ByteVector(data)
            frame.size = len(data)

        def onFrameReceived(self, frame: Any) -> None:
            handle = self.handle
            if handle is not None and frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and frame.size:
                handle.notify("frame", bytes(bytearray(frame.buf)))

    global _HEARD_MEDIA
    _HEARD_MEDIA = (pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD)
    _PjAccount, _PjCall, _MediaPort = _PjAccountImpl, _PjCallImpl, _MediaPortImpl


_PjAccount: Any = None
_PjCall: Any = None
_MediaPort: Any = None
_HEARD_MEDIA: tuple[int, ...] = ()


def _log_writer(pj: Any) -> Any:
    class _Writer(pj.LogWriter):
        def write(self, entry: Any) -> None:
            text = _DIGITS.sub("…", str(entry.msg).strip())
            log.log(logging.WARNING if entry.level <= 2 else logging.DEBUG, "pjsip: %s", text)

    return _Writer()


_DIGITS = re.compile(r"\d{5,}")   # phone numbers, in any PJSIP message


def _op(status_code: int = 0) -> Any:
    import pjsua2 as pj

    prm = pj.CallOpParam(True)
    if status_code:
        prm.statusCode = status_code
    return prm


# ----- one call, as the asyncio side sees it -------------------------------------------------------

class CallHandle:
    """The meeting point of a PJSIP call (endpoint and media threads) and its CallSession (an asyncio
    loop): events come in through `notify` into an asyncio queue; prompts go out through a playout
    deque of 20 ms frames and marks that the media clock drains."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.playout: deque[tuple[str, Any]] = deque()
        self.answered = loop.create_future()
        self.ended = loop.create_future()
        self.end_code: int | None = None
        self.codec: str | None = None
        self.early_audio: list[bytes] = []
        self.transfer_result: asyncio.Future | None = None
        self.call: Any = None
        self.sid = uuid.uuid4().hex
        self._lock = threading.Lock()
        self.frames_in = 0
        self.frames_out = 0

    def notify(self, kind: str, value: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self._arrive, kind, value)
        except RuntimeError:
            pass  # the loop is closed: the call is over on our side

    def _arrive(self, kind: str, value: Any) -> None:
        if kind == "answered":
            if not self.answered.done():
                self.answered.set_result(True)
            return
        if kind == "ended":
            self.end_code = value
            if not self.ended.done():
                self.ended.set_result(value)
            self.inbox.put_nowait(("ended", value))
            return
        if kind == "media":
            self.codec = value[0]
            return
        if kind == "transfer":
            if self.transfer_result is not None and not self.transfer_result.done():
                self.transfer_result.set_result(value)
            return
        if kind == "frame":
            self.frames_in += 1
            if not self.answered.done():
                if len(self.early_audio) < EARLY_MEDIA_MAX_S * 50:
                    self.early_audio.append(value)
                return
        self.inbox.put_nowait((kind, value))

    # playout (media clock thread)
    def next_frame(self) -> bytes:
        with self._lock:
            while self.playout:
                kind, value = self.playout.popleft()
                if kind == "frame":
                    self.frames_out += 1
                    return value
                self.notify(kind, value)   # a mark reached, or the hang-up after the last prompt
        return SILENT_FRAME

    def enqueue(self, items: list[tuple[str, Any]]) -> None:
        with self._lock:
            self.playout.extend(items)

    def clear(self) -> None:
        with self._lock:
            self.playout.clear()

    @property
    def draining(self) -> bool:
        with self._lock:
            return bool(self.playout)


class SipCallLine:
    """campaigns.call_session.LineTransport over one PJSIP call."""

    def __init__(self, endpoint: SipEndpoint, handle: CallHandle) -> None:
        self.endpoint = endpoint
        self.handle = handle

    async def play(self, mulaw: bytes) -> None:
        from models.audio import mulaw_decode

        pcm = mulaw_decode(mulaw).astype("<i2").tobytes()
        frames = [("frame", pcm[i:i + FRAME_BYTES].ljust(FRAME_BYTES, b"\x00"))
                  for i in range(0, len(pcm), FRAME_BYTES)]
        self.handle.enqueue(frames)

    async def mark(self, name: str) -> None:
        self.handle.enqueue([("mark", name)])

    async def clear(self) -> None:
        self.handle.clear()

    async def hangup(self) -> None:
        self.handle.enqueue([("hangup", None)])

    async def drained(self) -> None:
        while self.handle.draining:
            await asyncio.sleep(0.02)

    async def transfer(self, destination: str) -> str | None:
        """SIP REFER of the patient to the nurse's extension; 'refer' once the far end reports the new
        call up (NOTIFY 2xx), None when it fails."""
        handle = self.handle
        uri = self.endpoint.account.uri_for(destination)
        handle.transfer_result = handle.loop.create_future()
        call = handle.call
        try:
            await asyncio.wrap_future(self.endpoint.run(lambda: call.xfer(uri, _op())))
        except Exception:  # noqa: BLE001 - the PBX refused the REFER
            log.warning("REFER to the ward's extension failed to start")
            return None
        try:
            code = await asyncio.wait_for(handle.transfer_result, 60)
        except TimeoutError:
            return None
        return "refer" if 200 <= code < 300 else None


# ----- the telephony backend ------------------------------------------------------------------------

class SipTelephony:
    """campaigns.telephony.Telephony over SIP: a try is one INVITE to the patient's number, and an
    answered call runs to its end inside `place_call` on the worker's thread (as loopback does)."""

    def __init__(self, *, settings: Any, services: Any, endpoint: SipEndpoint | None = None) -> None:
        self.settings = settings
        self.services = services
        self.account = SipAccount.from_settings(settings)
        self.max_channels = settings.campaigns.sip.max_channels
        self.ring_timeout_s = settings.campaigns.sip.ring_timeout_s
        self._channels = threading.BoundedSemaphore(self.max_channels)
        self._endpoint = endpoint
        self.last_session: CallSession | None = None   # the newest call's session (tests, evaluation)
        self.last_early_media: Any = None               # the newest unanswered try's announcement (a Pickup)

    @property
    def endpoint(self) -> SipEndpoint:
        if self._endpoint is None:
            self._endpoint = SipEndpoint.shared(self.account, max_calls=self.max_channels)
        return self._endpoint

    def start(self, *, inbound: bool | None = None) -> None:
        """Bring the endpoint up and register; with `inbound`, answer calls to the service's number."""
        endpoint = self.endpoint
        if inbound if inbound is not None else self.settings.campaigns.sip.inbound:
            self.accept_inbound()
        if self.account.registrar and not endpoint.wait_registered(15):
            raise TelephonyError(f"SIP registration failed (response {endpoint.registration_code})")

    def channel(self) -> bool:
        return self._channels.acquire(blocking=False)

    def release(self) -> None:
        self._channels.release()

    # outbound
    def place_call(self, request: Any, *, line: Any) -> CallResult:
        if not self.channel():
            raise TelephonyError(f"all {self.max_channels} SIP channels are in use")
        try:
            return asyncio.run(self._outbound(request, line))
        finally:
            self.release()

    async def _outbound(self, request: Any, line: Any) -> CallResult:
        endpoint = self.endpoint
        if self.account.registrar and not endpoint.wait_registered(10):
            raise TelephonyError(f"not registered with the SIP registrar (response {endpoint.registration_code})")
        loop = asyncio.get_running_loop()
        handle = CallHandle(loop)
        uri = self.account.uri_for(request.to_number)
        try:
            handle.call = await asyncio.wrap_future(endpoint.run(lambda: endpoint.make_call(uri, handle)))
        except Exception as exc:  # noqa: BLE001 - PJSIP refused to send the INVITE
            raise TelephonyError(f"the SIP INVITE could not be sent: {exc.__class__.__name__}") from None
        await asyncio.wait({handle.answered, handle.ended}, timeout=self.ring_timeout_s,
                           return_when=asyncio.FIRST_COMPLETED)
        if not handle.answered.done():
            if not handle.ended.done():
                await asyncio.wrap_future(endpoint.run(lambda: _hangup(handle.call, 487)))
                await asyncio.wait({handle.ended}, timeout=10)
            code = handle.end_code or 487
            outcome = try_outcome_for_sip(code)
            outcome = await self._early_media_outcome(handle, request.language) or outcome
            log.info("try %s: no answer on the SIP line (%s → %s)", request.key, code, outcome)
            return CallResult(telephony_sid=handle.sid, call_status=outcome)
        runner = await asyncio.to_thread(line.open_runner, "sip")
        await asyncio.to_thread(line.heartbeat, runner.call_id)
        target = CallTarget(patient_id=runner.engine.context.patient_id, resume_call_id=request.resume_call_id)
        session = await self.converse(handle, target, runner=runner, heartbeat=line.heartbeat)
        outcome = runner.finish()
        status = session.pickup.try_outcome if session.pickup is not None and session.pickup.try_outcome else \
            outcome["call_status"]
        return CallResult(telephony_sid=handle.sid, call_status=status, call_id=runner.call_id)

    async def converse(self, handle: CallHandle, target: CallTarget, *, runner: Any = None,
                       heartbeat: Callable[[], None] | None = None) -> CallSession:
        """Run the CallSession over an answered call until either side ends it."""
        services = self.services
        session = CallSession(services=services, transport=SipCallLine(self.endpoint, handle),
                              options=services.phone_options(), channel="sip", transfer=self.transfer_policy())
        self.last_session = session
        dropped = True
        try:
            await session.open(target, runner=runner)
            session.log_event(CallEventType.MEDIA, stage=Stage.LINE, code=handle.codec)
            next_tick = next_beat = time.monotonic()
            while True:
                try:
                    kind, value = await asyncio.wait_for(handle.inbox.get(), timeout=0.1)
                except TimeoutError:
                    kind, value = "", None
                if kind == "frame":
                    await session.hear_phone(_to_mulaw(value))
                elif kind == "mark":
                    await session.played(value)
                elif kind == "digit":
                    await session.digit(value)
                elif kind == "hangup":
                    await asyncio.wrap_future(self.endpoint.run(lambda: _hangup(handle.call, 0)))
                elif kind == "ended":
                    dropped = not session.done
                    break
                now = time.monotonic()
                if now >= next_tick:
                    next_tick = now + 0.1
                    await session.tick()
                if heartbeat is not None and now >= next_beat:
                    next_beat = now + HEARTBEAT_S
                    await asyncio.to_thread(heartbeat)
                if session.transferred in ("refer", "bridge"):
                    dropped = False
                    await asyncio.wrap_future(self.endpoint.run(lambda: _hangup(handle.call, 0)))
                    await asyncio.wait({handle.ended}, timeout=10)
                    break
        except AttemptLost:
            await asyncio.wrap_future(self.endpoint.run(lambda: _hangup(handle.call, 0)))
            raise
        finally:
            if not handle.ended.done():
                await asyncio.wrap_future(self.endpoint.run(lambda: _hangup(handle.call, 0)))
                await asyncio.wait({handle.ended}, timeout=10)
            await session.close(dropped=dropped)
        return session

    async def _early_media_outcome(self, handle: CallHandle, language: str | None) -> str | None:
        """A carrier's announcement heard as early media (183 with SDP) decides the outcome (空号 →
        not_found, 关机 → no_answer, as language/data/pickup.yaml says). Carriers in China announce in
        Mandarin whatever the patient's language (often an English version follows): the audio is
        read as Mandarin first, then in the call's language when that is another."""
        self.last_early_media = None
        if len(handle.early_audio) < 25:
            return None
        from language.pickup import classify_pickup
        from models import audio

        voice = self.services.voice()
        pcm = np.frombuffer(b"".join(handle.early_audio), dtype="<i2")
        if audio.rms_dbfs(audio.int16_to_float(pcm)) < -50:
            return None   # ringback silence
        clip = audio.resample(audio.int16_to_float(pcm), 8000, 16000)
        for lang in dict.fromkeys(("zh", language or "zh")):
            transcript = await asyncio.to_thread(voice.transcribe, clip, lang)
            pickup = classify_pickup(transcript.text)
            if pickup.kind not in ("person", "unknown"):
                self.last_early_media = pickup
                log.info("early media: %s (%.1f s heard before any answer)", pickup.kind, pcm.size / 8000)
                return pickup.try_outcome
        return None

    def transfer_policy(self) -> TransferPolicy:
        c = self.settings.campaigns.sip
        policy = _office_hours(self.settings)

        def destination(ward_code: str) -> str | None:
            return c.ward_extensions.get(ward_code)

        def next_opening(language: str) -> str:
            return c.callback_hours_text.get(language) or call_messages().raw("callback_hours", language)

        return TransferPolicy(destination=destination, open_now=lambda: policy.may_call(dt.datetime.now(dt.timezone.utc)),
                              next_opening=next_opening)

    # inbound
    def _incoming(self, call: Any) -> None:
        """On the endpoint thread: a call to the service's number. Ring, then run it on its own thread."""
        if not self.channel():
            call.hangup(_op(486))    # every channel busy
            return
        call.answer(_op(180))
        thread = threading.Thread(target=self._run_inbound, args=(call,), name="suifang-sip-inbound", daemon=True)
        thread.start()

    def _run_inbound(self, call: Any) -> None:
        try:
            asyncio.run(self._inbound(call))
        except Exception:  # noqa: BLE001 - one broken inbound call must not stop the line
            log.exception("an inbound SIP call failed")
        finally:
            self.release()

    async def _inbound(self, call: Any) -> None:
        from campaigns.inbound import find_caller

        handle = CallHandle(asyncio.get_running_loop())
        handle.call = call
        call.handle = handle
        number = await asyncio.wrap_future(self.endpoint.run(lambda: sip_user(call.getInfo().remoteUri)))
        target = await asyncio.to_thread(find_caller, self.services.session_factory, number)
        await asyncio.wrap_future(self.endpoint.run(lambda: call.answer(_op(200))))
        await asyncio.wait({handle.answered, handle.ended}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if handle.ended.done():
            return
        if target is None or target.scheduled_call_id is None:
            # No follow-up waiting for this caller (or a number on no patient record): a message for the ward.
            try:
                await self._take_message(handle, number, target)
            finally:
                if not handle.ended.done():
                    await asyncio.wrap_future(self.endpoint.run(lambda: _hangup(handle.call, 0)))
            return
        log.info("an inbound call continues a patient's follow-up")
        await self.converse(handle, target)

    async def _take_message(self, handle: CallHandle, number: str, target: CallTarget | None) -> None:
        from campaigns.inbound import take_message

        async def next_event(timeout_s: float) -> tuple[str, bytes | None]:
            try:
                kind, value = await asyncio.wait_for(handle.inbox.get(), timeout=timeout_s)
            except TimeoutError:
                return "", None
            if kind == "frame":
                return "frame", _to_mulaw(value)
            if kind == "hangup":     # the last prompt has been played: hang up now
                await asyncio.wrap_future(self.endpoint.run(lambda: _hangup(handle.call, 0)))
                return "", None
            return ("ended", None) if kind == "ended" else ("", None)

        services = self.services
        await take_message(SipCallLine(self.endpoint, handle), next_event, voice=services.voice(),
                           settings=self.settings, session_factory=services.session_factory, number=number,
                           target=target)

    def accept_inbound(self) -> None:
        """Answer calls to the service's number from now on."""
        self.endpoint.on_incoming = self._incoming


def _hangup(call: Any, code: int) -> None:
    try:
        call.hangup(_op(code) if code else _op())
    except Exception:  # noqa: BLE001 - already disconnected
        pass


def _to_mulaw(pcm_le16: bytes) -> bytes:
    """A received 20 ms linear frame → μ-law, the phone format the call session hears (lossless for a
    PCMU call; one more G.711 quantisation for PCMA)."""
    from models.audio import mulaw_encode

    return mulaw_encode(np.frombuffer(pcm_le16, dtype="<i2"))


def _office_hours(settings: Any) -> Any:
    from campaigns.windows import CallingPolicy

    c = settings.campaigns
    return CallingPolicy.build(timezone=settings.service.timezone, windows=c.sip.office_hours, holidays=c.holidays,
                               retry_minutes=c.retry_minutes, max_tries=c.max_tries, lease_seconds=c.lease_seconds)


def ensure_pjsua_types() -> None:
    if _PjCall is None:
        _define()
