"""`suifang eval followup`: simulated follow-up calls scored against expected outcomes
(../shared/spec/scenario-format.md). Runs the real engine, a fresh records store, the real
structurer and knowledge base; the patient is played from the scenario's persona."""

from __future__ import annotations

import contextlib

import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.corpus import load_yaml_list, scratch_environ, scratch_services

from campaigns.scripted import ScriptedCallee

SIMULATION_MAX_TURNS = 80


@dataclass
class ScenarioResult:
    id: str
    passed: bool
    matched: int
    expected: int
    differences: list[str]
    expected_red: bool
    predicted_red: bool
    latencies_ms: list[float] = field(default_factory=list)
    outcome: dict[str, Any] = field(default_factory=dict)
    transcript: list[tuple[str, str]] = field(default_factory=list)
    answer_failures: list[str] = field(default_factory=list)
    service_latencies_ms: list[float] = field(default_factory=list)   # a voice call's event log: turn end → first reply audio
    voice: dict[str, Any] = field(default_factory=dict)   # a voice call: the persona's and service's voices, the channel's figures


class ScenarioError(ValueError):
    pass


def load_scenarios(path: str | Path) -> list[dict[str, Any]]:
    return load_yaml_list(path, required=("id", "language", "patient", "discharge", "expect"),
                          what="a scenario file is a YAML list of scenarios", error=ScenarioError)


# ----- comparison ---------------------------------------------------------------------------------

def _generic(name: str) -> str:
    from knowledge.structurer import generic_name

    return generic_name(str(name))


def compare_field(key: str, expected: Any, outcome: dict[str, Any]) -> bool:
    if key == "flags":
        return {f["level"] for f in outcome.get("flags") or []} == set(expected or [])
    actual = outcome.get(key)
    if key == "missed_medications":
        return actual is not None and {_generic(n) for n in actual} == {_generic(n) for n in expected or []}
    if isinstance(expected, list):
        return actual is not None and set(actual) == set(expected)
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(actual.get(k) == v for k, v in expected.items()) and set(actual) >= set(expected)
    if isinstance(expected, bool) or expected is None:
        return actual is expected or actual == expected
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)) and not isinstance(actual, bool):
        return abs(float(actual) - float(expected)) < 1e-6
    return actual == expected


# ----- simulation ---------------------------------------------------------------------------------

# The scripted patient is the loopback phone network's (campaigns/scripted.py): the same persona answers
# a simulated call in `suifang eval` and a loopback campaign call.
SimulatedPatient = ScriptedCallee


def prepare_scenario(scenario: dict[str, Any], *, session_factory: Any, settings: Any,
                     knowledge_base: Any) -> tuple[int, int, dt.date]:
    """The scenario's ward, patient and discharge in the records store, orders structured and
    indexed; returns (patient id, discharge id, call date)."""
    from knowledge.ingest import ingest_discharge
    from records import store
    from records.schema import Ward

    lang = scenario["language"]
    d = scenario["discharge"]
    discharged_on = d["discharged_on"] if isinstance(d["discharged_on"], dt.date) else dt.date.fromisoformat(str(d["discharged_on"]))
    with session_factory() as session:
        ward = Ward(code=f"EV-{scenario['id']}"[:32], name=f"{d['department']} ward", department=d["department"],
                    team_name=f"{d['department']}医疗组" if lang == "zh" else f"the {d['department']} team")
        session.add(ward)
        session.flush()
        p = scenario["patient"]
        patient = store.create_patient(session, ward=ward, name=p["name"], phone=str(p.get("phone") or "13800000000"),
                                       sex=p.get("sex"), birth_year=p.get("birth_year"), language=lang,
                                       id_number=p.get("id_number"))
        discharge = store.create_discharge(session, patient=patient, department=d["department"],
                                           diagnosis=d.get("diagnosis", ""), discharged_on=discharged_on,
                                           order_text=d["orders"], language=lang, surgery=bool(d.get("surgery")),
                                           attending_team=ward.team_name)
        ingest_discharge(session, discharge=discharge, settings=settings, knowledge_base=knowledge_base)
        session.commit()
        return patient.id, discharge.id, discharged_on + dt.timedelta(days=int(scenario.get("call_day", 7)))


def score(scenario: dict[str, Any], outcome: dict[str, Any], *, transcript: list[tuple[str, str]],
          latencies_ms: list[float], answer_failures: list[str]) -> ScenarioResult:
    expect = scenario.get("expect") or {}
    differences = [f"{key}: expected {value!r}, got {outcome.get(key)!r}"
                   for key, value in expect.items() if not compare_field(key, value, outcome)]
    differences += answer_failures
    expected_red = "red" in (expect.get("flags") or [])
    predicted_red = any(f["level"] == "red" for f in outcome.get("flags") or [])
    return ScenarioResult(
        id=str(scenario["id"]), passed=not differences, matched=len(expect) - len(differences) + len(answer_failures),
        expected=len(expect), differences=differences, expected_red=expected_red, predicted_red=predicted_red,
        latencies_ms=latencies_ms, outcome=outcome, transcript=transcript, answer_failures=answer_failures,
    )


def run_scenario(scenario: dict[str, Any], *, session_factory: Any, settings: Any, flows: Any,
                 knowledge_base: Any, answerer_factory: Any, llm_fallback: Any, semantic: Any = None,
                 second_reader: Any = None) -> ScenarioResult:
    from dialogs.runner import CallRunner

    lang = scenario["language"]
    patient_id, discharge_id, call_date = prepare_scenario(scenario, session_factory=session_factory,
                                                           settings=settings, knowledge_base=knowledge_base)
    runner = CallRunner.open(session_factory=session_factory, flows=flows, settings=settings, patient_id=patient_id,
                             discharge_id=discharge_id, channel="text", call_date=call_date,
                             answerer_factory=answerer_factory, llm_fallback=llm_fallback, language=lang,
                             semantic=semantic, second_reader=second_reader)
    persona = SimulatedPatient(scenario)
    result_transcript: list[tuple[str, str]] = []
    latencies: list[float] = []
    answer_failures: list[str] = []
    if persona.unreachable:
        outcome = runner.mark_unreached("no_answer")
    else:
        reply = runner.start()
        result_transcript.append(("system", reply.say))
        for _ in range(SIMULATION_MAX_TURNS):
            if reply.done:
                break
            action, payload = persona.respond(reply.expecting)
            began = time.perf_counter()
            if action == "hangup":
                break
            if action == "silence":
                reply = runner.silence()
                result_transcript.append(("patient", ""))
            else:
                text = payload["text"] if action == "ask" else payload
                reply = runner.handle(text)
                result_transcript.append(("patient", text))
                if action == "ask":
                    missing = [w for w in payload.get("answer_must_contain") or [] if w.lower() not in reply.say.lower()]
                    if missing:
                        answer_failures.append(f"answer to {payload['text']!r} lacks {missing}")
            latencies.append((time.perf_counter() - began) * 1000)
            result_transcript.append(("system", reply.say))
        outcome = runner.finish() if runner.done else runner.hangup()
        # The second reader's additions, if any: waited for as long as its own limit allows.
        outcome = runner.wait_post_call(timeout=settings.dialog.second_reader_timeout_s + 10) or outcome

    return score(scenario, outcome, transcript=result_transcript, latencies_ms=latencies,
                 answer_failures=answer_failures)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return round(ordered[0], 2)
    return round(statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1], 2)


def summarize(results: list[ScenarioResult]) -> dict[str, Any]:
    expected = sum(r.expected for r in results)
    matched = sum(r.matched for r in results)
    tp = sum(1 for r in results if r.expected_red and r.predicted_red)
    fn = sum(1 for r in results if r.expected_red and not r.predicted_red)
    fp = sum(1 for r in results if r.predicted_red and not r.expected_red)
    latencies = [ms for r in results for ms in r.latencies_ms]
    service = [ms for r in results for ms in r.service_latencies_ms]
    return {
        "scenarios": len(results),
        "passed": sum(1 for r in results if r.passed),
        "field_accuracy": round(matched / expected, 4) if expected else None,
        "red_flag_recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "red_flag_precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "turn_latency_p50_ms": _percentile(latencies, 50),
        "turn_latency_p95_ms": _percentile(latencies, 95),
        "service_turn_latency_p50_ms": _percentile(service, 50),
        "service_turn_latency_p95_ms": _percentile(service, 95),
    }


def run_followup_eval(path: str | Path, *, use_llm: bool = True, voice: bool = False, line: str = "media-streams",
                      persona_voice: str | None = None, degraded: bool = True, seed: int = 13,
                      environ_overrides: dict[str, str] | None = None,
                      on_result: Callable[[ScenarioResult], None] | None = None) -> tuple[list[ScenarioResult], dict[str, Any]]:
    """Run every scenario of the file in a fresh records store; returns per-scenario results and the summary."""

    from dialogs.answering import make_answerer_factory
    from dialogs.flows import load_flows
    from dialogs.llm_fallback import make_llm_fallback
    from suifang.config import load_settings

    scenarios = load_scenarios(path)
    line_usage: tuple[float, float] | None = None
    if line not in ("media-streams", "sip"):
        raise ScenarioError(f"unknown phone line {line!r}: media-streams or sip")
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="suifang-eval-"))
        lab = None
        if voice and line == "sip":
            # A local registrar and the patients' SIP phone; the service registers and dials through it.
            from evaluation.sip_line import SipLab, scenario_numbers

            lab = stack.enter_context(SipLab(scenario_numbers(scenarios)))
        env = scratch_environ(tmp, use_llm=use_llm)
        if lab is not None:
            env.update(lab.service_env())
        env.update(environ_overrides or {})
        settings = load_settings(environ=env)
        if voice:
            from evaluation.phone import PersonaVoiceError, persona_voices

            try:
                persona_voices(settings, persona_voice)
            except PersonaVoiceError as exc:
                raise ScenarioError(str(exc)) from None
        services = stack.enter_context(scratch_services(settings))
        flows = load_flows()
        knowledge_base = services.knowledge_base()
        llm = services.language_model() if use_llm else None
        fallback = make_llm_fallback(llm) if llm is not None and settings.models.llm.backend != "off" \
            and settings.dialog.use_llm_fallback else None
        answerer_factory = make_answerer_factory(session_factory=services.session_factory,
                                                 knowledge_base=knowledge_base,
                                                 llm=services.answer_model() if use_llm else None)
        results = []
        if voice and lab is not None:
            # SIP calls: the service dials each patient's SIP phone through the local registrar.
            from evaluation.sip_line import run_over_sip

            results = run_over_sip(scenarios, services=services, lab=lab, on_result=on_result)
            scenarios = []
            from evaluation.sip_line import USAGE

            line_usage = (sum(cpu for _, cpu in USAGE), sum(wall for wall, _ in USAGE))
        elif voice:
            # Real phone calls: the service on a loopback port, a scripted caller on its WebSocket.
            from evaluation.phone import VoiceHarness, run_over_phone

            results = run_over_phone(scenarios, services=services, on_result=on_result,
                                     harness=VoiceHarness(persona_voice=persona_voice, degraded=degraded, seed=seed))
            scenarios = []
        for scenario in scenarios:
            result = run_scenario(scenario, session_factory=services.session_factory, settings=settings,
                                  flows=flows, knowledge_base=knowledge_base, answerer_factory=answerer_factory,
                                  llm_fallback=fallback, semantic=services.semantic_matcher(),
                                  second_reader=services.second_reader() if use_llm else None)
            results.append(result)
            if on_result:
                on_result(result)
    summary = summarize(results)
    if line_usage is not None and line_usage[1] > 0:
        # The service's process (and the scripted patients' control of their phones) per call on the line.
        summary["cores_per_line"] = round(line_usage[0] / line_usage[1], 3)
    return results, summary


def result_json(result: ScenarioResult) -> dict[str, Any]:
    """One scenario's result for `--json`: pass, fields, differences, and a voice call's voices and channel."""
    return {"id": result.id, "passed": result.passed, "matched": result.matched, "expected": result.expected,
            "differences": result.differences, **({"voice": result.voice} if result.voice else {})}


def format_result(result: ScenarioResult) -> str:
    status = "pass" if result.passed else "FAIL"
    line = f"{result.id:40} {status}  {result.matched}/{result.expected} fields"
    if result.voice:
        v = result.voice
        line += f"  (persona {v['persona']}, service {v['service']}, {v['channel']}"
        if "frames_lost" in v:
            line += (f", gain {v['gain_db_min']:+.1f}…{v['gain_db_max']:+.1f} dB, SNR {v['snr_db_min']:.1f}…"
                     f"{v['snr_db_max']:.1f} dB, {v['frames_lost']}/{v['frames']} frames lost")
        line += ")"
    if result.differences:
        line += "\n    " + "\n    ".join(result.differences)
    return line


def format_summary(summary: dict[str, Any]) -> str:
    def pct(value: Any) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    return (f"scenarios {summary['scenarios']}, fully right {summary['passed']}, "
            f"field accuracy {pct(summary['field_accuracy'])}, red-flag recall {pct(summary['red_flag_recall'])}, "
            f"precision {pct(summary['red_flag_precision'])}, turn latency p50 {summary['turn_latency_p50_ms']} ms, "
            f"p95 {summary['turn_latency_p95_ms']} ms"
            + (f"; service turn latency (event log) p50 {summary['service_turn_latency_p50_ms']} ms, "
               f"p95 {summary['service_turn_latency_p95_ms']} ms" if summary.get("service_turn_latency_p50_ms") is not None
               else "")
            + (f"; {summary['cores_per_line']} CPU cores per line" if summary.get("cores_per_line") is not None else ""))
