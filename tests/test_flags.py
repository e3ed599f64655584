"""Flag rules and risk grading (followup-outcome.md), with the language model nowhere in sight."""

from __future__ import annotations

from dialogs.flags import evaluate_flags, risk_grade
from dialogs.clinical_rules import default_rules, load_rules

T = default_rules()


def flags(outcome: dict, *, cues: dict | None = None, evidence: dict | None = None, post_surgery: bool = False,
          days: int = 7, classes: dict | None = None) -> set[tuple[str, str]]:
    hits = evaluate_flags(outcome, evidence=evidence or {}, cues=cues or {}, rules=T, days_since_discharge=days,
                          post_surgery=post_surgery, missed_classes=classes or {})
    return {(h.level, h.code) for h in hits}


def levels(*args, **kwargs) -> set[str]:
    return {level for level, _ in flags(*args, **kwargs)}


def test_blood_pressure_lines() -> None:
    assert levels({"blood_pressure": {"systolic": 185, "diastolic": 95}}) == {"red"}
    assert levels({"blood_pressure": {"systolic": 150, "diastolic": 110}}) == {"red"}
    assert levels({"blood_pressure": {"systolic": 179, "diastolic": 99}}) == {"yellow"}
    assert levels({"blood_pressure": {"systolic": 159, "diastolic": 99}}) == set()
    assert levels({"blood_pressure": {"systolic": 85, "diastolic": 50}}) == {"red"}


def test_glucose_lines() -> None:
    assert levels({"blood_glucose": 16.7}) == {"red"}
    assert levels({"blood_glucose": 3.8}) == {"red"}
    assert levels({"blood_glucose": 13.9}) == {"yellow"}
    assert levels({"blood_glucose": 9.2}) == set()


def test_temperature_line_is_lower_after_surgery() -> None:
    assert levels({"temperature": 38.8}, post_surgery=True, days=3) == {"red"}
    assert levels({"temperature": 38.8}, post_surgery=True, days=45) == {"yellow"}
    assert levels({"temperature": 38.8}) == {"yellow"}
    assert levels({"temperature": 39.0}) == {"red"}
    assert levels({"temperature": 37.4}) == set()


def test_temperature_said_in_passing_counts() -> None:
    assert "red" in levels({"symptoms": ["fever"]}, cues={"fever": {"temperature": 39.4}})


def test_chest_pain_at_rest_or_long_is_red_short_exertional_is_yellow() -> None:
    assert levels({"symptoms": ["chest_pain"]}, cues={"chest_pain": {"duration_min": 30}}) == {"red"}
    assert levels({"symptoms": ["chest_tightness"]}, cues={"chest_tightness": {"at_rest": True}}) == {"red"}
    assert levels({"symptoms": ["chest_tightness"]},
                  cues={"chest_tightness": {"exertional": True, "relieved": True}}) == {"yellow"}


def test_always_red_symptoms() -> None:
    for code in ("syncope", "confusion", "hemoptysis", "hematemesis", "melena", "suicidal_ideation",
                 "slurred_speech", "facial_droop"):
        assert levels({"symptoms": [code]}) == {"red"}, code


def test_bleeding_heavy_is_red_minor_is_yellow() -> None:
    assert levels({"symptoms": ["bleeding"]}, cues={"bleeding": {"heavy": True}}) == {"red"}
    assert levels({"symptoms": ["bleeding"]}) == {"yellow"}


def test_pain_wound_and_missed_critical_drugs() -> None:
    assert levels({"pain_score": 8}) == {"red"}
    assert levels({"pain_score": 6}) == {"yellow"}
    assert levels({"pain_score": 4}) == set()
    assert levels({"wound": "dehiscence"}) == {"red"}
    assert levels({"wound": "discharge"}, evidence={"wound": "有点流脓"}) == {"red"}
    assert levels({"wound": "redness"}) == {"yellow"}
    assert levels({"wound": "ok"}) == set()
    assert levels({"missed_medications": ["替格瑞洛片"]}, classes={"替格瑞洛片": "antiplatelet"}) == {"yellow"}
    assert levels({"missed_medications": ["阿托伐他汀钙片"]}, classes={"阿托伐他汀钙片": "statin"}) == set()


def test_condition_and_satisfaction() -> None:
    assert levels({"overall_condition": "worse"}) == {"yellow"}
    assert levels({"satisfaction": 2}) == {"yellow"}
    assert levels({"satisfaction": 3, "overall_condition": "better"}) == set()


def test_flags_carry_the_patients_words() -> None:
    hits = evaluate_flags({"blood_pressure": {"systolic": 190, "diastolic": 100}},
                          evidence={"blood_pressure": "高压一百九"}, cues={}, rules=T)
    assert hits[0].evidence == "高压一百九" and hits[0].level == "red"


def test_thresholds_come_from_config() -> None:
    strict = load_rules(overrides={"systolic_yellow": 140})
    hits = evaluate_flags({"blood_pressure": {"systolic": 145, "diastolic": 85}}, evidence={}, cues={},
                          rules=strict)
    assert [h.level for h in hits] == ["yellow"]
    assert [h.reason for h in hits] == ["blood pressure 145/85 mmHg at or above 140/100"]


def test_risk_grade() -> None:
    assert risk_grade({}, [{"level": "red"}]) == "red"
    assert risk_grade({}, [{"level": "yellow"}]) == "yellow"
    assert risk_grade({"medication_adherence": "full", "blood_pressure": {"systolic": 128, "diastolic": 80}}, []) == "blue"
    assert risk_grade({"overall_condition": "better"}, []) == "grey"
