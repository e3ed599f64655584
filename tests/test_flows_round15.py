"""Every follow-up flow asks the reading a told complaint calls for: the temperature after a fever, the pain
score after a pain, the blood pressure after a faint or dizziness (a low pressure shows itself so) — not only
the general flow. A train call of the elderly-care team told a fever in the stroke flow and no temperature was
asked."""

from __future__ import annotations

import datetime as dt

import pytest

from dialogs.clinical_rules import default_rules
from dialogs.context import CallContext, Medication, derive_facts
from dialogs.engine import FollowupEngine
from dialogs.flows import load_flows


def _call(flow: str, symptoms: str, drug: Medication | None = None) -> list[str]:
    flows = load_flows()
    drug = drug or Medication(item_id=1, name="阿司匹林肠溶片", generic_name="阿司匹林", drug_class="antiplatelet")
    facts = derive_facts(diagnosis="", medications=(drug,), revisits=(), reexams=(), surgery=False,
                         call_date=dt.date(2026, 11, 27))
    context = CallContext(patient_id=1, patient_name="罗建华", sex="male", birth_year=1950, id_last4=None,
                          phone_last4=None, language="zh", hospital="医院", ward_team="神经内科", department="神经内科",
                          diagnosis="", discharged_on=dt.date(2026, 11, 20), call_date=dt.date(2026, 11, 27),
                          post_surgery=False, medications=(drug,), facts=facts)
    engine = FollowupEngine(flows=flows, flow=flows.flows[flow], context=context, rules=default_rules())
    answers = {"identity_verified": "是我，罗建华，五零年的", "overall_condition": "差不多", "symptoms": symptoms}
    reply, asked = engine.start(), []
    for _ in range(40):
        if reply.done or not reply.expecting:
            break
        asked.append(reply.expecting)
        reply = engine.handle(answers.get(reply.expecting, "没有"))
    return asked


@pytest.mark.parametrize("flow", ["stroke", "diabetes", "heart_failure", "general", "hypertension"])
def test_a_fever_told_asks_the_temperature(flow: str) -> None:
    assert "temperature" in _call(flow, "从昨天晚上开始发烧，身上一阵一阵发冷")
    assert "temperature" not in _call(flow, "没有，都挺好的")


@pytest.mark.parametrize("flow", ["stroke", "diabetes", "heart_failure", "cardiology_pci", "hypertension"])
def test_a_pain_told_asks_the_pain_score(flow: str) -> None:
    assert "pain_score" in _call(flow, "这两天头疼得厉害")


@pytest.mark.parametrize("flow", ["diabetes", "heart_failure"])
def test_dizziness_asks_the_pressure(flow: str) -> None:
    assert "blood_pressure" in _call(flow, "一站起来就头晕，眼前发黑")


@pytest.mark.parametrize("flow", ["general", "diabetes", "heart_failure", "surgery"])
def test_a_drug_that_lowers_the_pressure_asks_the_pressure(flow: str) -> None:
    """An ACE inhibitor after a heart attack or a diuretic for oedema, whatever the diagnosis: the reading is asked."""
    ramipril = Medication(item_id=2, name="雷米普利片", generic_name="雷米普利", drug_class="antihypertensive")
    furosemide = Medication(item_id=3, name="呋塞米片", generic_name="呋塞米", drug_class="diuretic")
    assert "blood_pressure" in _call(flow, "没有，都挺好的", ramipril)
    assert "blood_pressure" in _call(flow, "没有，都挺好的", furosemide)
    assert "blood_pressure" not in _call(flow, "没有，都挺好的")
