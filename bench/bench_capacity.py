"""Calls at once on one box: N scripted patients streaming in real time over the Media Streams line
against one service, turn latency from the patient's last word to the first reply audio.

    .venv/bin/python bench/bench_capacity.py [--calls 1,5,10,20] [--scenarios FILE] [--stagger-s 4] [--json]

Each caller is a phone line as a carrier gateway runs it: 20 ms frames sent in real time all call
long (silence between words), the service's audio "played" in real time (its marks are echoed only
once the audio before them would have been heard), and the patient answers 0.3 s after a prompt has
finished playing. Latency is measured at the caller, from the last frame of the answer's speech (the
patient's last word) to the first frame of the reply: the end-of-turn wait, recognition, the dialog
engine and the first sentence's speech are all in it. The calls are the scenarios of FILE (the shared
dev set by default) round-robin, started `stagger-s` apart at most, each with its prompts prepared
before the run as the campaign worker prepares them before dialling. The service runs in this
process (uvicorn on a loopback port, its own threads); the callers run on one event loop in a thread
of their own and only send precomputed audio. The persona speaks with evaluation.phone's patient
voice, synthesized before the run."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import copy
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEV = ROOT.parent / "shared" / "eval" / "followup-dev.yaml"

FRAME_S = 0.02
FRAME_BYTES = 160
MULAW_SILENCE = b"\xff"
THINK_S = 0.3          # the patient's pause after a prompt before answering
CALL_TIMEOUT_S = 600


@dataclass
class CallFigures:
    scenario: str
    latencies_ms: list[float] = field(default_factory=list)
    turns: int = 0
    error: str | None = None


class RealtimeLine:
    """The caller's side of one Media Streams call, paced like a real line."""

    def __init__(self, ws: Any, sid: str) -> None:
        self.ws = ws
        self.sid = sid
        self.outgoing: list[bytes] = []          # frames of speech waiting to be sent
        self.last_word_at: float | None = None   # when the last speech frame of an answer went
        self.waiting_reply = False
        self.play_until = 0.0                    # when the audio received so far has been heard
        self.prompt_done = asyncio.Event()
        self.closed = asyncio.Event()
        self.hangup = False
        self.figures: list[float] = []

    async def pump(self) -> None:
        """One frame every 20 ms, speech when there is some, silence otherwise."""
        next_at = time.monotonic()
        while not self.closed.is_set():
            if self.outgoing:
                frame = self.outgoing.pop(0)
                if not self.outgoing:
                    self.last_word_at = time.monotonic()
                    self.waiting_reply = True
            else:
                frame = MULAW_SILENCE * FRAME_BYTES
            try:
                await self.ws.send(json.dumps({"event": "media", "streamSid": self.sid, "media": {
                    "track": "inbound", "payload": base64.b64encode(frame).decode()}}))
            except Exception:  # noqa: BLE001 - the service hung up
                self.closed.set()
                return
            next_at += FRAME_S
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def receive(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                event = message.get("event")
                now = time.monotonic()
                if event == "media":
                    if self.waiting_reply and self.last_word_at is not None:
                        self.figures.append((now - self.last_word_at) * 1000)
                        self.waiting_reply = False
                    audio = base64.b64decode(message["media"]["payload"])
                    self.play_until = max(self.play_until, now) + len(audio) / 8000
                elif event == "clear":
                    self.play_until = now
                elif event == "mark":
                    name = message["mark"]["name"]
                    if name == "hangup":
                        self.hangup = True
                        break
                    loop.call_later(max(0.0, self.play_until - now), self._echo, name)
        except Exception:  # noqa: BLE001 - closed by the service
            pass
        self.closed.set()
        self.prompt_done.set()

    def _echo(self, name: str) -> None:
        if self.closed.is_set():
            return
        asyncio.ensure_future(self._send_mark(name))
        if name.startswith("end-"):
            self.prompt_done.set()

    async def _send_mark(self, name: str) -> None:
        with contextlib.suppress(Exception):
            await self.ws.send(json.dumps({"event": "mark", "streamSid": self.sid, "mark": {"name": name}}))

    def say(self, mulaw: bytes) -> None:
        self.outgoing.extend(mulaw[i:i + FRAME_BYTES].ljust(FRAME_BYTES, MULAW_SILENCE)
                             for i in range(0, len(mulaw), FRAME_BYTES))


async def one_call(index: int, scenario: dict[str, Any], *, url: str, token: str, audio: dict[str, bytes],
                   next_expecting: Any, delay_s: float) -> CallFigures:
    import websockets

    from evaluation.followup import SimulatedPatient

    await asyncio.sleep(delay_s)
    figures = CallFigures(scenario=scenario["id"])
    persona = SimulatedPatient(scenario)
    sid = f"MZbench{index}"
    async with websockets.connect(url, max_size=2**22, open_timeout=30) as ws:
        line = RealtimeLine(ws, sid)
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await ws.send(json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": sid, "start": {
            "streamSid": sid, "callSid": f"CAbench{index}", "tracks": ["inbound"],
            "customParameters": {"call_token": token},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}))
        tasks = [asyncio.create_task(line.pump()), asyncio.create_task(line.receive())]
        deadline = time.monotonic() + CALL_TIMEOUT_S
        try:
            while not line.closed.is_set() and time.monotonic() < deadline:
                await asyncio.wait_for(line.prompt_done.wait(), timeout=deadline - time.monotonic())
                line.prompt_done.clear()
                if line.closed.is_set():
                    break
                expecting = await asyncio.to_thread(next_expecting)
                action, payload = persona.respond(expecting)
                if action == "hangup":
                    break
                if action == "silence":
                    continue   # the service reprompts after its silence timeout
                text = payload["text"] if action == "ask" else payload
                await asyncio.sleep(THINK_S)
                line.say(audio[text])
                figures.turns += 1
        except asyncio.TimeoutError:
            figures.error = "timeout"
        finally:
            line.closed.set()
            for task in tasks:
                task.cancel()
    figures.latencies_ms = line.figures
    return figures


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))], 1)


def run(n_calls: int, scenarios: list[dict[str, Any]], *, stagger_s: float, audio_cache: dict[str, bytes],
        seed: int = 7) -> dict[str, Any]:
    from api.app import create_app
    from campaigns.call_tokens import issue_call_token
    from dialogs.runner import CallRunner
    from evaluation.followup import prepare_scenario
    from evaluation.phone import LoopbackServer, _last_system_turn, _latest_phone_call, patient_voice_for
    from records.db import upgrade
    from suifang.config import load_settings
    from suifang.services import Services

    with tempfile.TemporaryDirectory(prefix="suifang-capacity-") as tmp:
        env = dict(os.environ)
        env.update({"SUIFANG__DATABASE__URL": f"sqlite:///{tmp}/bench.db",
                    "SUIFANG__SERVICE__DATA_DIR": env.get("SUIFANG__SERVICE__DATA_DIR") or str(ROOT / "var"),
                    "SUIFANG__KNOWLEDGE__CHROMA_DIR": f"{tmp}/chroma"})
        settings = load_settings(environ=env)
        upgrade(settings.database.url)
        services = Services.build(settings)
        services.voice().warm_up()   # as a running service has (Services.warm): no model load inside a call
        try:
            calls = []
            for i in range(n_calls):
                scenario = copy.deepcopy(scenarios[i % len(scenarios)])
                scenario["id"] = f"{i}-{scenario['id']}"   # the ward code is cut at 32 characters: the index first
                patient_id, discharge_id, call_date = prepare_scenario(
                    scenario, session_factory=services.session_factory, settings=settings,
                    knowledge_base=services.knowledge_base())
                token = issue_call_token(secret=settings.secret_key, patient_id=patient_id, discharge_id=discharge_id,
                                         language=scenario["language"], call_date=call_date.isoformat())
                language, texts = CallRunner.script(session_factory=services.session_factory, flows=services.flows,
                                                    settings=settings, patient_id=patient_id,
                                                    discharge_id=discharge_id, call_date=call_date,
                                                    language=scenario["language"])
                services.voice().prefetch_phone(texts, language,
                                                max_sentences=settings.phone.prepare_prompts_max).result()
                calls.append((scenario, patient_id, token))
            speak = patient_voice_for(services)
            for scenario, _, _ in calls:
                persona = scenario.get("persona") or {}
                for text in [*persona.values(), *(a["text"] for a in scenario.get("asks") or [])]:
                    if str(text) not in audio_cache:
                        audio_cache[str(text)] = speak(str(text), scenario["language"])
            app = create_app(settings, services=services)
            rng = random.Random(seed)
            with LoopbackServer(app) as server:
                def expecting_of(patient_id: int) -> Any:
                    def read() -> str | None:
                        call = _latest_phone_call(services.session_factory, patient_id)
                        return None if call is None else _last_system_turn(services.session_factory, call.id)[1]
                    return read

                async def all_calls() -> list[CallFigures]:
                    return await asyncio.gather(*(
                        one_call(i, scenario, url=server.ws_url, token=token, audio=audio_cache,
                                 next_expecting=expecting_of(patient_id),
                                 delay_s=0.0 if n_calls == 1 else rng.uniform(0, stagger_s))
                        for i, (scenario, patient_id, token) in enumerate(calls)))

                box: dict[str, Any] = {}
                began = time.monotonic()
                cpu_began = time.process_time()
                thread = threading.Thread(target=lambda: box.setdefault("r", asyncio.run(all_calls())),
                                          name="capacity-callers")
                thread.start()
                thread.join()
                wall = time.monotonic() - began
                cpu = time.process_time() - cpu_began
            time.sleep(2)   # the event logs are written as the calls close
            stages = stage_breakdown(services.session_factory)
        finally:
            services.close()
    figures: list[CallFigures] = box["r"]
    latencies = [ms for f in figures for ms in f.latencies_ms]
    return {"calls": n_calls, "turns": len(latencies), "errors": sum(1 for f in figures if f.error),
            "p50_ms": _percentile(latencies, 50), "p95_ms": _percentile(latencies, 95),
            "max_ms": round(max(latencies), 1) if latencies else None,
            "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
            "wall_s": round(wall, 1), "cpu_cores_busy": round(cpu / wall, 2) if wall else None, **stages}


def stage_breakdown(session_factory: Any) -> dict[str, Any]:
    """Where a turn's time goes, from the calls' event logs: how turns ended (the turn model, the
    silence cap, the fixed silence), recognition and dialog time, turn end → first audio at the
    service, and prompt-cache hits."""
    from sqlalchemy import select

    from records.schema import CallEventRow

    with session_factory() as session:
        rows = session.scalars(select(CallEventRow)).all()
    def ms(kind: str) -> dict[str, float | None]:
        values = [r.ms for r in rows if r.type == kind and r.ms is not None]
        return {"p50": _percentile(values, 50), "p95": _percentile(values, 95)}
    ends: dict[str, int] = {}
    for r in rows:
        if r.type == "turn_end":
            ends[r.code or "?"] = ends.get(r.code or "?", 0) + 1
    prompts = [r.code for r in rows if r.type == "prompt_audio"]
    recognised = [r.code for r in rows if r.type == "recognised"]
    return {"turn_end_by": ends, "asr_ms": ms("recognised"), "dialog_ms": ms("reply"),
            "recognised_early": f"{recognised.count('early')}/{len(recognised)}",
            "service_first_audio_ms": ms("first_audio"),
            "prompt_cache_hits": f"{prompts.count('cache_hit')}/{len(prompts)}"}


def main() -> None:
    from evaluation.followup import load_scenarios

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", default="1,5,10,20")
    parser.add_argument("--scenarios", default=str(DEV))
    parser.add_argument("--ids", default="", help="only these scenario ids (comma-separated)")
    parser.add_argument("--stagger-s", type=float, default=4.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    wanted = {i for i in args.ids.split(",") if i}
    from campaigns.scripted import ScriptedCallee

    scenarios = [s for s in load_scenarios(args.scenarios)
                 if (not wanted or s["id"] in wanted) and not ScriptedCallee(s).unreachable]
    audio_cache: dict[str, bytes] = {}
    rows = []
    for n in [int(x) for x in args.calls.split(",") if x]:
        row = run(n, scenarios, stagger_s=args.stagger_s, audio_cache=audio_cache)
        rows.append(row)
        if not args.json:
            print(f"{row['calls']:3d} calls: {row['turns']:4d} turns, turn latency p50 {row['p50_ms']} ms, "
                  f"p95 {row['p95_ms']} ms, max {row['max_ms']} ms; {row['errors']} calls timed out; "
                  f"{row['cpu_cores_busy']} cores busy over {row['wall_s']} s", flush=True)
            print(f"     turn ends by {row['turn_end_by']}; recognition {row['asr_ms']} ms (begun in the pause: "
                  f"{row['recognised_early']}; ms = the wait left then), dialog {row['dialog_ms']} ms, "
                  f"turn end → first audio at the service {row['service_first_audio_ms']} ms; "
                  f"prompt cache hits {row['prompt_cache_hits']}", flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
