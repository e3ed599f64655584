"""Real SIP peers on loopback, from Debian's packages, for the SIP line's tests and `suifang eval
followup --voice --line sip`:

- `Kamailio`: the registrar and proxy a hospital's PBX would be (digest authentication with the
  passwords given; numbers not registered get 404; numbers in `routes` are relayed to a fixed
  address — a `SippCallee` that answers busy, never answers, and so on).
- `BaresipPhone`: a patient's (or a nurse's) phone, baresip with its TCP control interface: it
  answers automatically, plays WAV files as its microphone (`say`), records what it hears
  (`heard()`), sends keypad digits as RFC 4733 events, hangs up, and follows a REFER.
- `SippCallee`: SIPp (Debian `sip-tester`) as a callee that answers an INVITE with a fixed response.
- `SippPeer`: SIPp running a scenario file (tests/data/sip/): a phone that presses a key as SIP INFO,
  a carrier that plays an announcement as early media (183 with SDP, RTP from an A-law file).

Everything binds to 127.0.0.1 and stops with the object (`with ...:`); a missing package is reported
by `missing_packages()` so a test can skip with the reason."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

KAMAILIO_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
BARESIP_MODULES = "/usr/lib/baresip/modules"
PHONE_RATE = 8000


def missing_packages() -> list[str]:
    """The Debian packages the SIP peers need that are not installed."""
    missing = []
    if not shutil.which("kamailio"):
        missing.append("kamailio")
    if not shutil.which("baresip") or not Path(BARESIP_MODULES, "ctrl_tcp.so").exists():
        missing.append("baresip-core")
    if not shutil.which("sipp"):
        missing.append("sip-tester")
    return missing


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_ports(count: int) -> list[int]:
    """`count` ports free for both UDP and TCP (baresip listens on both)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                tcp.bind(("127.0.0.1", port))
        except OSError:
            continue
        if port not in ports:
            ports.append(port)
    return ports


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the process that started it dies, however it dies
    (a killed test run must not leave SIP peers holding ports)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except OSError:
        pass


class _Process:
    def __init__(self, args: list[str], *, log_path: Path, cwd: Path | None = None) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=cwd, preexec_fn=_die_with_parent)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


# ----- kamailio ---------------------------------------------------------------------------------

KAMAILIO_CFG = """#!KAMAILIO
debug=2
log_stderror=yes
children=2
auto_aliases=no
listen=udp:127.0.0.1:{port}
alias="127.0.0.1:{port}"
alias="{domain}"
mpath="{modules}/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "auth.so"
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", 3600)

request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here"); exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    t_check_trans();
    if (is_method("REGISTER")) {{
        $var(pw) = "";
{passwords}
        if ($var(pw) == "") {{ sl_send_reply("403", "Forbidden"); exit; }}
        if (!pv_www_authenticate("$td", "$var(pw)", "0")) {{ www_challenge("$td", "0"); exit; }}
        if (!save("location")) {{ sl_reply_error(); }}
        exit;
    }}
    record_route();
{routes}
    if (!lookup("location")) {{ sl_send_reply("404", "Not Found"); exit; }}
    t_relay();
}}
"""


class Kamailio:
    """A registrar and proxy on 127.0.0.1:`port`: `users` (name → password) may register; `routes`
    (number → 'host:port') are relayed there without a registration."""

    def __init__(self, *, users: dict[str, str], routes: dict[str, str] | None = None, port: int | None = None,
                 domain: str = "suifang.test", workdir: Path | None = None) -> None:
        self.port = port or free_port()
        self.domain = domain
        self.users = dict(users)
        self.routes = dict(routes or {})
        self._own_workdir = workdir is None   # made here: removed on exit
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="suifang-kamailio-"))
        self.process: _Process | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def config(self) -> str:
        passwords = "\n".join(f'        if ($tU == "{_quote(user)}") {{ $var(pw) = "{_quote(pw)}"; }}'
                              for user, pw in self.users.items())
        routes = "\n".join(f'    if ($rU == "{_quote(number)}") {{ $du = "sip:{target}"; t_relay(); exit; }}'
                           for number, target in self.routes.items())
        return KAMAILIO_CFG.format(port=self.port, domain=self.domain, modules=KAMAILIO_MODULES,
                                   passwords=passwords, routes=routes)

    def __enter__(self) -> Kamailio:
        cfg = self.workdir / "kamailio.cfg"
        cfg.write_text(self.config())
        self.process = _Process(["kamailio", "-DD", "-E", "-f", str(cfg), "-Y", str(self.workdir)],
                                log_path=self.workdir / "kamailio.log")
        deadline = time.monotonic() + 20
        while "ready" not in self.process.log_text() and "probe_max_receive_buffer" not in self.process.log_text():
            if not self.process.alive() or time.monotonic() > deadline:
                raise RuntimeError("kamailio did not start:\n" + self.process.log_text()[-2000:])
            time.sleep(0.1)
        time.sleep(0.3)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.stop()
        _remove(self)


def _quote(text: str) -> str:
    if any(c in text for c in '"\\\n'):
        raise ValueError("no quotes, backslashes or newlines in SIP test users")
    return text


# ----- baresip ----------------------------------------------------------------------------------

BARESIP_CONFIG = """poll_method		epoll
sip_listen		127.0.0.1:{sip_port}
sip_trans_def		udp
net_interface		127.0.0.1
call_local_timeout	120
call_max_calls		4
audio_player		aufile,/dev/null
audio_source		aufile,{silence}
audio_alert		aufile,/dev/null
audio_srate		8000
audio_channels		1
rtp_ports		{rtp_low}-{rtp_high}
jitter_buffer_delay	1-4
module_path		{modules}
module			g711.so
module			aufile.so
module			sndfile.so
module_app		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:{ctrl_port}
snd_path		{recordings}
"""


@dataclass(frozen=True)
class Heard:
    """What a phone has heard so far on its current call (8 kHz int16)."""
    audio: np.ndarray

    def speech_ended(self, *, after_s: float, silence_s: float = 1.2, threshold: float = 300.0) -> bool:
        """Speech after `after_s` seconds into the call, followed by at least `silence_s` of silence."""
        frames = self.audio[int(after_s * PHONE_RATE):]
        n = frames.size // 160
        if n == 0:
            return False
        energy = np.sqrt(np.mean(frames[:n * 160].reshape(n, 160).astype(np.float64) ** 2, axis=1))
        loud = np.flatnonzero(energy > threshold)
        if loud.size == 0:
            return False
        return (n - 1 - loud[-1]) * 0.02 >= silence_s

    @property
    def seconds(self) -> float:
        return self.audio.size / PHONE_RATE


class BaresipPhone:
    """A phone with one account per number in `numbers` (each registers at `registrar` with `password`),
    auto-answering, its microphone a WAV file (switched by `say`), what it hears recorded."""

    def __init__(self, *, numbers: list[str], registrar: str, password: str, codecs: str | dict[str, str] = "PCMA,PCMU",
                 workdir: Path | None = None, answer: str = "auto", dtmf: str = "rtpevent") -> None:
        self.numbers = numbers
        self.registrar = registrar
        self.password = password
        self.codecs = codecs
        self.answer = answer
        self.dtmf = dtmf
        self._own_workdir = workdir is None   # made here: removed on exit
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="suifang-baresip-"))
        self.sip_port, self.ctrl_port, self.rtp_low = free_ports(3)
        self.process: _Process | None = None
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._lock = threading.Lock()
        self._responses: dict[str, dict[str, Any]] = {}
        self._response_ready = threading.Condition(self._lock)
        self.events: list[dict[str, Any]] = []
        self._token = 0
        self._says = 0
        self.silence = self.workdir / "silence.wav"

    # life
    def __enter__(self) -> BaresipPhone:
        conf = self.workdir / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        (self.workdir / "recordings").mkdir(exist_ok=True)
        write_wav(self.silence, np.zeros(PHONE_RATE * 600, dtype=np.int16))
        (conf / "config").write_text(BARESIP_CONFIG.format(
            sip_port=self.sip_port, silence=self.silence, rtp_low=self.rtp_low, rtp_high=self.rtp_low + 40,
            modules=BARESIP_MODULES, ctrl_port=self.ctrl_port, recordings=self.workdir / "recordings"))
        lines = [f"<sip:{n}@{self.registrar};transport=udp>;auth_pass={self.password};answermode={self.answer};"
                 f"audio_codecs={self.codecs_for(n)};dtmfmode={self.dtmf};regint=600" for n in self.numbers]
        (conf / "accounts").write_text("\n".join(lines) + "\n")
        self.process = _Process(["baresip", "-f", str(conf)], log_path=self.workdir / "baresip.log")
        deadline = time.monotonic() + 20
        while True:
            try:
                self._sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
                break
            except OSError:
                if not self.process.alive() or time.monotonic() > deadline:
                    raise RuntimeError("baresip did not start:\n" + self.process.log_text()[-2000:]) from None
                time.sleep(0.1)
        self._sock.settimeout(None)
        self._reader = threading.Thread(target=self._read, name="baresip-ctrl", daemon=True)
        self._reader.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        if self.process is not None:
            self.process.stop()
        _remove(self)

    def codecs_for(self, number: str) -> str:
        if isinstance(self.codecs, dict):
            return self.codecs.get(number, "PCMA,PCMU")
        return self.codecs

    def wait_registered(self, timeout_s: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.log_text().count("200 OK") >= len(self.numbers):
                return True
            time.sleep(0.1)
        return False

    # the control interface (netstrings of JSON)
    def command(self, command: str, params: str = "", *, timeout_s: float = 10.0) -> dict[str, Any]:
        with self._lock:
            self._token += 1
            token = str(self._token)
        body = json.dumps({"command": command, "params": params, "token": token}).encode()
        assert self._sock is not None
        self._sock.sendall(str(len(body)).encode() + b":" + body + b",")
        deadline = time.monotonic() + timeout_s
        with self._response_ready:
            while token not in self._responses:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"baresip did not answer '{command}'")
                self._response_ready.wait(remaining)
            return self._responses.pop(token)

    def _read(self) -> None:
        buffer = b""
        assert self._sock is not None
        while True:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b":" in buffer:
                length_text, rest = buffer.split(b":", 1)
                if not length_text.isdigit():
                    buffer = b""
                    break
                length = int(length_text)
                if len(rest) < length + 1:
                    break
                body, buffer = rest[:length], rest[length + 1:]
                try:
                    message = json.loads(body)
                except ValueError:
                    continue
                with self._response_ready:
                    if message.get("response"):
                        self._responses[str(message.get("token"))] = message
                    elif message.get("event"):
                        self.events.append(message)
                    self._response_ready.notify_all()

    def wait_event(self, kind: str, *, timeout_s: float = 30.0, since: int = 0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        with self._response_ready:
            while True:
                for event in self.events[since:]:
                    if event.get("type") == kind:
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no {kind} event from baresip")
                self._response_ready.wait(remaining)

    def has_event(self, kind: str, *, since: int = 0) -> bool:
        with self._lock:
            return any(e.get("type") == kind for e in self.events[since:])

    # the phone's user
    def select(self, aor: str) -> None:
        """Make the account `aor` (one of this phone's numbers) the one the commands act on."""
        response = self.command("uafind", aor)
        if not response.get("ok"):
            raise RuntimeError(f"baresip has no account {aor}")

    def answered(self, *, since: int = 0, timeout_s: float = 60.0) -> dict[str, Any]:
        """Wait for a call to be established on any of the numbers; its account becomes the current one."""
        event = self.wait_event("CALL_ESTABLISHED", since=since, timeout_s=timeout_s)
        if event.get("accountaor"):
            self.select(event["accountaor"])
        return event

    def say(self, pcm8k: np.ndarray, *, trailing_silence_s: float = 1.5) -> None:
        """Speak: the microphone switches to these samples, then silence for the rest of the call."""
        self._says += 1
        path = self.workdir / f"say-{self._says:03d}.wav"
        tail = np.zeros(int(PHONE_RATE * 300), dtype=np.int16)
        write_wav(path, np.concatenate([np.zeros(int(PHONE_RATE * 0.3), dtype=np.int16),
                                        np.asarray(pcm8k, dtype=np.int16),
                                        np.zeros(int(PHONE_RATE * trailing_silence_s), dtype=np.int16), tail]))
        self._ok("ausrc", f"aufile,{path}")

    def quiet(self) -> None:
        self.command("ausrc", f"aufile,{self.silence}")

    def press(self, digits: str) -> None:
        """Keypad digits on the current call (RFC 4733 events, or SIP INFO with dtmf='info')."""
        for digit in digits:
            self._ok("sndcode", digit)
            time.sleep(0.25)

    def hang_up(self) -> None:
        self.command("hangup")

    def _ok(self, command: str, params: str = "") -> dict[str, Any]:
        response = self.command(command, params)
        if not response.get("ok"):
            raise RuntimeError(f"baresip refused {command}: {response.get('data')}")
        return response

    def dial(self, uri: str) -> None:
        self.command("dial", uri)

    def heard(self) -> Heard:
        """Everything heard on the newest call (baresip's sndfile dump of the decoded audio, read
        incrementally as it grows)."""
        files = sorted((self.workdir / "recordings").glob("*-dec.wav"), key=lambda p: p.stat().st_mtime)
        if not files:
            return Heard(np.zeros(0, dtype=np.int16))
        path = files[-1]
        if getattr(self, "_heard_path", None) != path:
            self._heard_path, self._heard_offset = path, None
            self._heard, self._heard_n = np.zeros(PHONE_RATE * 60, dtype=np.int16), 0
        with open(path, "rb") as f:
            if self._heard_offset is None:
                head = f.read(4096)
                index = head.find(b"data")
                if index < 0:
                    return Heard(np.zeros(0, dtype=np.int16))
                self._heard_offset = index + 8
            f.seek(self._heard_offset)
            data = f.read()
        data = data[:len(data) // 2 * 2]
        self._heard_offset += len(data)
        new = np.frombuffer(data, dtype="<i2")
        if self._heard_n + new.size > self._heard.size:   # grow by doubling: appending stays cheap
            grown = np.zeros(max(self._heard.size * 2, self._heard_n + new.size), dtype=np.int16)
            grown[:self._heard_n] = self._heard[:self._heard_n]
            self._heard = grown
        self._heard[self._heard_n:self._heard_n + new.size] = new
        self._heard_n += new.size
        return Heard(self._heard[:self._heard_n])


def write_wav(path: Path, pcm: np.ndarray, rate: int = PHONE_RATE) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.asarray(pcm, dtype="<i2").tobytes())
    return path


# ----- SIPp as a callee with a fixed answer --------------------------------------------------------

SIPP_UAS = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="suifang callee {code}">
  <recv request="INVITE" crlf="true" />
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0
    ]]>
  </send>
{final}
</scenario>
"""

SIPP_FINAL = """  <pause milliseconds="{delay_ms}"/>
  <send>
    <![CDATA[
      SIP/2.0 {code} {reason}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <recv request="ACK" />
"""

SIPP_RING_FOREVER = """  <recv request="CANCEL">
    <action><ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" assign_to="invite_cseq" /></action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <send>
    <![CDATA[
      SIP/2.0 487 Request Terminated
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: [$invite_cseq] INVITE
      Content-Length: 0
    ]]>
  </send>
  <recv request="ACK" />
"""


class SippCallee:
    """SIPp answering every INVITE with 180 then `code` (486 busy, 404, 480, 603 …), or ringing until
    cancelled when `code` is None."""

    REASONS = {486: "Busy Here", 404: "Not Found", 480: "Temporarily Unavailable", 603: "Decline",
               600: "Busy Everywhere", 503: "Service Unavailable"}

    def __init__(self, code: int | None, *, delay_ms: int = 300, workdir: Path | None = None) -> None:
        self.code = code
        self.delay_ms = delay_ms
        self.port = free_port()
        self._own_workdir = workdir is None   # made here: removed on exit
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="suifang-sipp-"))
        self.process: _Process | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> SippCallee:
        final = SIPP_RING_FOREVER if self.code is None else SIPP_FINAL.format(
            code=self.code, reason=self.REASONS.get(self.code, "Failed"), delay_ms=self.delay_ms)
        scenario = self.workdir / "uas.xml"
        scenario.write_text(SIPP_UAS.format(code=self.code or "ring", final=final))
        self.process = _Process(["sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(self.port),
                                 "-m", "100", "-nostdin", "-trace_err"],
                                log_path=self.workdir / "sipp.log", cwd=self.workdir)
        time.sleep(0.5)
        if not self.process.alive():
            raise RuntimeError("sipp did not start:\n" + self.process.log_text()[-2000:])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.stop()
        _remove(self)


SCENARIOS = Path(__file__).resolve().parents[1] / "tests" / "data" / "sip"


class SippPeer:
    """SIPp as a user agent server running `scenario` (an XML file, e.g. tests/data/sip/info_digit.xml)
    on 127.0.0.1:`port`, once per call. `files` are copied into its working folder under the given
    names (the scenario refers to them, e.g. announcement.al for `<exec rtp_stream=...>`); `pause_ms`
    is SIPp's -d, the length of every `<pause/>` without its own."""

    def __init__(self, scenario: Path, *, port: int | None = None, files: dict[str, Path] | None = None,
                 pause_ms: int | None = None, workdir: Path | None = None) -> None:
        self.scenario = Path(scenario)
        self.port = port or free_port()
        self.media_port = free_ports(1)[0]
        self.files = dict(files or {})
        self.pause_ms = pause_ms
        self._own_workdir = workdir is None   # made here: removed on exit
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="suifang-sipp-"))
        self.process: _Process | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> SippPeer:
        for name, source in self.files.items():
            shutil.copyfile(source, self.workdir / name)
        shutil.copyfile(self.scenario, self.workdir / self.scenario.name)
        args = ["sipp", "-sf", self.scenario.name, "-i", "127.0.0.1", "-p", str(self.port), "-mi", "127.0.0.1",
                "-mp", str(self.media_port), "-m", "100", "-nostdin", "-trace_err", "-trace_msg"]
        if self.pause_ms is not None:
            args += ["-d", str(self.pause_ms)]
        self.process = _Process(args, log_path=self.workdir / "sipp.log", cwd=self.workdir)
        time.sleep(0.5)
        if not self.process.alive():
            raise RuntimeError("sipp did not start:\n" + self.process.log_text()[-2000:])
        return self

    def messages(self) -> str:
        """The SIP messages SIPp sent and received (its -trace_msg file)."""
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("*_messages.log")))

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.stop()
        _remove(self)


def alaw_file(path: Path, pcm8k: np.ndarray) -> Path:
    """8 kHz int16 samples → a raw G.711 A-law file (SIPp's rtp_stream format), encoded by sox."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = write_wav(Path(tmp) / "in.wav", pcm8k)
        subprocess.run(["sox", str(wav), "-t", "al", "-r", "8000", "-c", "1", str(path)], check=True,
                       capture_output=True)
    return path


def _remove(peer: Any) -> None:
    """A peer's working folder (configuration, logs, recordings: megabytes per call), if it made it."""
    if getattr(peer, "_own_workdir", False):
        shutil.rmtree(peer.workdir, ignore_errors=True)


def espeak_pcm8k(text: str, *, voice: str = "en-us", rate: int = 160) -> np.ndarray:
    """A recorded answer: espeak-ng speaking `text`, as 8 kHz int16."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "say.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(wav), text], check=True,
                       capture_output=True)
        out = Path(tmp) / "say8k.wav"
        subprocess.run(["sox", str(wav), "-r", "8000", "-c", "1", "-b", "16", str(out)], check=True,
                       capture_output=True)
        with wave.open(str(out)) as w:
            return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy()

