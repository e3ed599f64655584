"""Transcript tests: YAML conversations (patient says → expecting, collected values, flags, words
said) run through the real engine, structurer and parsers. The question answerer here is a
recording stand-in; real grounded answers are tested in test_answers and the scenario eval."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from dialogs.context import Appointment, CallContext, Medication, derive_facts
from dialogs.engine import AnswerResult, FollowupEngine
from dialogs.flows import load_flows
from knowledge.plans import due_date
from knowledge.structurer import structure_orders
from dialogs.clinical_rules import default_rules

TRANSCRIPTS = Path(__file__).parent / "transcripts"
FLOWS = load_flows()


def _cases() -> list[Any]:
    cases = []
    for path in sorted(TRANSCRIPTS.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["transcripts"]:
            cases.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return cases


def build_engine(case: dict[str, Any], questions: list[str]) -> FollowupEngine:
    patient, discharge = case["patient"], case["discharge"]
    discharged_on = discharge["discharged_on"]
    lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in patient["name"]) else "en"
    structured = structure_orders(discharge["orders"], language=lang)
    meds, revisits, reexams = [], [], []
    for i, item in enumerate(structured.items):
        if item.kind == "medication":
            meds.append(Medication(item_id=i, name=item.name, generic_name=item.generic_name, drug_class=item.drug_class))
        elif item.kind in ("revisit", "reexam"):
            target = revisits if item.kind == "revisit" else reexams
            target.append(Appointment(item_id=i, kind=item.kind, name=item.name or discharge["department"],
                                      due=due_date(item.when, start=discharged_on),
                                      booking_url=f"https://booking.example/{i}"))
    call_date = discharged_on + dt.timedelta(days=case.get("call_day", 7))
    context = CallContext(
        patient_id=1, patient_name=patient["name"], sex=patient.get("sex"), birth_year=patient.get("birth_year"),
        id_last4=(patient.get("id_number") or "")[-4:] or None, phone_last4=patient["phone"][-4:], language=lang,
        hospital="示范医院" if lang == "zh" else "Demo Hospital",
        ward_team="心内科张主任医疗组" if lang == "zh" else "the ward team",
        department=discharge["department"], diagnosis=discharge["diagnosis"], discharged_on=discharged_on,
        call_date=call_date, post_surgery=bool(discharge.get("surgery")), medications=tuple(meds),
        revisits=tuple(revisits), reexams=tuple(reexams),
        facts=derive_facts(diagnosis=discharge["diagnosis"], surgery=bool(discharge.get("surgery")),
                           medications=tuple(meds), revisits=tuple(revisits), reexams=tuple(reexams),
                           call_date=call_date),
    )

    def answer(question: str, language: str) -> AnswerResult:
        questions.append(question)
        return AnswerResult(text="（按医嘱）" if language == "zh" else "(per your orders)", answered=True, sources=(0,))

    flow = FLOWS.select(surgery=bool(discharge.get("surgery")), diagnosis=discharge["diagnosis"],
                        department=discharge["department"])
    return FollowupEngine(flows=FLOWS, flow=flow, context=context, rules=default_rules(), answer_question=answer)


def _check(reply: Any, engine: FollowupEngine, expect: dict[str, Any], where: str) -> None:
    if "expecting" in expect:
        assert reply.expecting == expect["expecting"], f"{where}: expecting {reply.expecting!r}; said {reply.say!r}"
    if "done" in expect:
        assert reply.done is expect["done"], f"{where}: done={reply.done}; said {reply.say!r}"
    for words in expect.get("say_contains", []):
        assert str(words) in reply.say, f"{where}: {words!r} not in {reply.say!r}"
    for words in expect.get("say_not_contains", []):
        assert str(words) not in reply.say, f"{where}: {words!r} should not be in {reply.say!r}"
    collected = engine.outcome()
    for key, value in (expect.get("collected") or {}).items():
        actual = collected.get(key)
        if isinstance(value, list):
            assert actual is not None and set(actual) == set(value), f"{where}: {key}={actual!r}, want {value!r}"
        else:
            assert actual == value, f"{where}: {key}={actual!r}, want {value!r}"
    for key in expect.get("not_collected", []):
        assert key not in collected, f"{where}: {key} should be unknown, got {collected.get(key)!r}"
    if "flags" in expect:
        levels = {f["level"] for f in collected["flags"]}
        assert levels == set(expect["flags"]), f"{where}: flag levels {levels}, want {expect['flags']}"


@pytest.mark.parametrize("case", _cases())
def test_transcript(case: dict[str, Any]) -> None:
    questions: list[str] = []
    engine = build_engine(case, questions)
    reply = engine.start()
    _check(reply, engine, case.get("start") or {"expecting": "identity_verified"}, "start")
    for i, turn in enumerate(case["turns"]):
        where = f"turn {i}"
        asked_before = len(questions)
        if turn.get("silence"):
            reply = engine.silence()
        elif turn.get("hangup"):
            engine.hangup()
            continue
        elif "say_repeat" in turn:
            text, times = turn["say_repeat"]
            reply = engine.handle(text * times)
            reply = engine.handle(text * times)
            reply = engine.handle(text * times)
        else:
            reply = engine.handle(turn["say"])
        if turn.get("answered_question"):
            assert len(questions) == asked_before + 1, f"{where}: the question was not answered"
        _check(reply, engine, turn, where)
    outcome = engine.outcome()
    for key, value in (case.get("outcome") or {}).items():
        if key == "flags":
            assert {f["level"] for f in outcome["flags"]} == set(value)
        else:
            assert outcome.get(key) == value, f"outcome {key}={outcome.get(key)!r}, want {value!r}"
