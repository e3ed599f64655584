"""Flow files are validated at load: broken flows fail startup with a reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dialogs.flows import FLOWS_DIR, FlowError, load_flows


@pytest.fixture()
def flow_dir(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, target)
    return target


def test_shipped_flows_load_in_both_languages() -> None:
    library = load_flows()
    assert {"general", "surgery", "cardiology_pci", "heart_failure", "hypertension", "diabetes", "stroke"} <= set(library.flows)
    for flow in library.flows.values():
        assert flow.steps[0].collect == "identity_verified"
        for step in flow.steps:
            texts = step.ask or step.say
            assert set(texts) == {"zh", "en"} and all(texts.values())
    assert "AI" in library.messages["greeting"]["zh"] and "AI assistant" in library.messages["greeting"]["en"]


@pytest.mark.parametrize(("diagnosis", "department", "surgery", "flow"), [
    ("冠心病 经皮冠状动脉介入治疗(PCI)术后", "心血管内科", False, "cardiology_pci"),
    ("Heart failure with reduced ejection fraction", "Cardiology", False, "heart_failure"),
    ("高血压3级(很高危) 2型糖尿病", "老年科", False, "hypertension"),
    ("2型糖尿病", "内分泌科", False, "diabetes"),
    ("急性脑梗死", "神经内科", False, "stroke"),
    ("胆囊结石", "肝胆外科", True, "surgery"),
    ("COPD exacerbation", "Pulmonology", False, "general"),
])
def test_flow_selection(diagnosis: str, department: str, surgery: bool, flow: str) -> None:
    assert load_flows().select(surgery=surgery, diagnosis=diagnosis, department=department).id == flow


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(("file", "old", "new", "message"), [
    ("general.yaml", "  - use: symptoms\n", "  - use: symptomz\n", "unknown step 'symptomz'"),
    ("general.yaml", "  - use: symptoms\n", "  - use: symptoms\n    colour: red\n", "unknown key"),
    ("steps.yaml", '    en: "Any new or worsening symptoms lately, such as chest pain, shortness of breath, dizziness or fever?"\n', "", "missing en translation"),
    ("steps.yaml", "{medication_list}，这几种药", "{medication_lst}，这几种药", "unknown placeholder"),
    ("messages.yaml", "{ward_team}", "{secret}", "unknown placeholder"),
    ("general.yaml", "    if: {any: [{symptom: fever}, {symptom: chills}, {has: infection}]}", "    if: {eval: \"__import__('os')\"}", "unknown condition"),
    ("general.yaml", "    if: {any: [{symptom: fever}, {symptom: chills}, {has: infection}]}", "    if: {has: cancer}", "unknown fact"),
    ("general.yaml", "  - use: feedback\n", "  - use: feedback\n    next: nowhere\n", "unknown step 'nowhere'"),
    ("steps.yaml", "  collect: pain_score", "  collect: pain_level", "cannot collect"),
])
def test_invalid_flows_fail_to_load(flow_dir: Path, file: str, old: str, new: str, message: str) -> None:
    _edit(flow_dir / file, old, new)
    with pytest.raises(FlowError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_flows(flow_dir)


def test_missing_message_fails(flow_dir: Path) -> None:
    text = (flow_dir / "messages.yaml").read_text(encoding="utf-8")
    start = text.index("wrong_person:")
    end = text.index("refused:")
    (flow_dir / "messages.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(FlowError, match="missing message"):
        load_flows(flow_dir)


def test_branching_with_next(flow_dir: Path) -> None:
    _edit(flow_dir / "general.yaml", "  - use: overall_condition\n",
          "  - use: overall_condition\n    next:\n      - if: {field: overall_condition, equals: better}\n"
          "        then: questions\n      - else: medication_adherence\n")
    flow = load_flows(flow_dir).get("general")
    step = flow.steps[flow.index_of("overall_condition")]
    assert [t.target for t in step.next] == ["questions", "medication_adherence"]
    assert step.next[0].condition.value == ("overall_condition", "equals", "better")


def test_unknown_flow_lists_valid_choices() -> None:
    with pytest.raises(FlowError, match="valid flows: .*general"):
        load_flows().get("oncology")


def test_the_pulse_is_asked_for_a_rhythm_diagnosis_or_a_drug_that_slows_the_heart() -> None:
    import datetime as dt

    from dialogs.context import Medication, derive_facts

    def facts(diagnosis: str, *drugs: str) -> frozenset[str]:
        meds = tuple(Medication(item_id=i, name=d, generic_name=d, drug_class=None) for i, d in enumerate(drugs))
        return derive_facts(diagnosis=diagnosis, surgery=False, medications=meds, revisits=(), reexams=(),
                            call_date=dt.date(2026, 12, 1))

    assert "rate_watch" in facts("Sick sinus syndrome, dual-chamber pacemaker implanted")
    assert "rate_watch" in facts("阵发性心房颤动")
    assert "rate_watch" in facts("陈旧性心肌梗死", "琥珀酸美托洛尔缓释片")
    assert "rate_watch" not in facts("2型糖尿病", "二甲双胍")
    library = load_flows()
    for flow_id in ("cardiology_pci", "hypertension", "stroke", "general", "heart_failure"):
        assert "heart_rate" in [s.collect for s in library.get(flow_id).steps], flow_id


def test_every_flow_asks_for_side_effects_and_the_surgical_one_for_the_patients_own_readings() -> None:
    library = load_flows()
    for flow_id in ("general", "surgery", "cardiology_pci", "heart_failure", "hypertension", "diabetes", "stroke"):
        collects = [s.collect for s in library.get(flow_id).steps]
        assert collects.index("side_effects") == collects.index("medication_adherence") + 1, flow_id
    surgery = {s.collect: s for s in library.get("surgery").steps}
    # a hypertensive or diabetic patient after an operation is asked the reading their disease needs
    assert "blood_pressure" in surgery and "blood_glucose" in surgery and "heart_rate" in surgery
    for flow_id in ("heart_failure", "stroke"):
        assert "blood_glucose" in [s.collect for s in library.get(flow_id).steps], flow_id


def test_a_side_effect_told_with_the_medicines_stays_when_the_side_effect_question_is_answered_no() -> None:
    from tests.conftest import step_engine

    engine = step_engine(("side_effects",), "zh")
    engine.state.collected["side_effects"] = ["diarrhea"]     # told in the medication answer
    engine.handle("没有了")
    assert engine.state.collected["side_effects"] == ["diarrhea"]
