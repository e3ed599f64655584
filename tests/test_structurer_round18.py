"""Discharge-order structuring, round 18: mechanisms found on orders/train15.jsonl (invented examples, not corpus lines)."""

from __future__ import annotations

from tests.test_structurer_round4 import _items, visits


def _signs(text: str) -> set[str]:
    return {i.symptom_code for i in _items(text, "warning_sign")}


def _meds(text: str) -> list[tuple]:
    return [(i.name, i.dose, i.unit, i.frequency) for i in _items(text, "medication")]


def test_english_ward_shorthand_for_breathing_and_fainting_is_a_warning_sign() -> None:
    assert {"dyspnea", "fever"} <= _signs("Return to ED if SOB, fever or vomiting.")
    assert "dyspnea" in _signs("Go back to ER if difficulty of breathing or chest pain.")
    assert "syncope" in _signs("Return to ED if chest pain or syncope.")
    assert "abdominal_pain" in _signs("Go to ER if severe headache or epigastric pain.")
    assert "hypoglycemia_symptoms" in _signs("Present to ED if BSL < 4 with sweats/shakes.")
    # a sob is not breathlessness when the order is lower case prose
    assert "dyspnea" not in _signs("Return to ED if she starts to sob uncontrollably or has a fever.")


def test_chinese_fast_breathing_and_chest_indrawing_are_dyspnea() -> None:
    assert "dyspnea" in _signs("患儿如出现呼吸快、吸气时胸凹陷，立即就诊。")


def test_r_v_with_a_time_is_a_review_visit() -> None:
    assert visits("Plan: GP r/v 2/52.") == [("GP", "P2W")]
    assert visits("Plan: GP r/v in 1/52 please, with U&E.") == [("GP", "P1W")]
