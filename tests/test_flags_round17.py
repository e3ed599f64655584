"""A hypo told with a reading under the red line is a red event since discharge, even when a later reading is
normal: the glucose rows read that reading (dialogs/flags.py), and the hypo itself stays a yellow symptom."""

from __future__ import annotations

from dialogs.clinical_rules import default_rules
from dialogs.flags import evaluate_flags
from dialogs.understanding import parse_field

RULES = default_rules()


def _flags(answer: str, lang: str, glucose: float | None) -> list[tuple[str, str]]:
    parsed = parse_field("symptoms", answer, lang).value
    outcome = {"symptoms": parsed["present"], "blood_glucose": glucose}
    hits = evaluate_flags(outcome, evidence={"symptoms": answer}, cues=parsed["cues"], rules=RULES)
    return [(h.level, h.code) for h in hits]


def test_a_hypo_with_a_low_reading_stays_red_after_a_normal_one() -> None:
    answer = "前天下午开着车，突然心里发慌，手抖，一身汗，一测血唐三点五，吃了俩糖块才缓过来"
    assert sorted(_flags(answer, "zh", 7.2)) == [("red", "glucose_low"), ("yellow", "symptom_hypoglycemia_symptoms")]
    assert ("red", "glucose_low") in _flags("Shaky and sweaty on Sunday, the meter said three point two.", "en", 6.8)
    assert ("red", "glucose_low") in _flags(answer, "zh", None)


def test_a_hypo_without_a_reading_under_the_line_is_yellow() -> None:
    # a normal reading said with the hypo leaves a lower stored reading to the glucose row
    assert ("red", "glucose_low") in _flags("前天心里发慌，手抖，出了一身汗，测了一下四点五", "zh", 3.1)
    assert _flags("前天心里发慌，手抖，出了一身汗，测了一下四点五", "zh", 7.2) == [("yellow", "symptom_hypoglycemia_symptoms")]
    assert _flags("前天心里发慌，手抖，出了一身汗", "zh", 7.2) == [("yellow", "symptom_hypoglycemia_symptoms")]
