"""Round 16 of issue #12 (calls12): a new author's follow-up calls (evaluation/data/scenarios/train11.yaml:
parents answering for children, carers, obstetrics, psychiatry, oncology day ward, rural patients, patients who
ask questions back) — the words and call turns the fitting on them made general."""

from __future__ import annotations

import pytest

from dialogs.understanding import parse_field, split_questions

SC_AND_ORAL = [{"name": "Enoxaparin", "generic_name": "enoxaparin", "drug_class": "anticoagulant", "route": "sc"},
               {"name": "Ferrous sulfate", "generic_name": "ferrous sulfate", "drug_class": "other", "route": "oral"}]
TWO_BP = [{"name": "硝苯地平控释片", "generic_name": "硝苯地平", "drug_class": "antihypertensive"},
          {"name": "氢氯噻嗪片", "generic_name": "氢氯噻嗪", "drug_class": "diuretic"}]
CHILD = [{"name": "阿莫西林克拉维酸钾干混悬剂", "generic_name": "阿莫西林克拉维酸钾", "drug_class": "antibiotic", "duration": "P7D"},
         {"name": "氨溴索口服溶液", "generic_name": "氨溴索", "drug_class": "other"}]
RISPERIDONE = [{"name": "利培酮片", "generic_name": "利培酮", "drug_class": "other"}]
INSULINS = [{"name": "Insulin glargine", "generic_name": "insulin glargine", "drug_class": "insulin"},
            {"name": "Insulin aspart", "generic_name": "insulin aspart", "drug_class": "insulin"}]
TWO_PRN_FREE = [{"name": "Paracetamol", "generic_name": "paracetamol", "drug_class": "analgesic"},
                {"name": "Ibuprofen", "generic_name": "ibuprofen", "drug_class": "analgesic"}]


def adherence(text: str, meds: list[dict], lang: str) -> dict | None:
    return parse_field("medication_adherence", text, lang, {"medications": meds}).value


def symptoms(text: str, lang: str) -> list[str] | None:
    value = parse_field("symptoms", text, lang, {}).value
    return None if value is None else sorted(value["present"])


# ----- adherence ------------------------------------------------------------------------------------

def test_the_injections_name_the_drug_given_by_injection() -> None:
    """The orders say "Enoxaparin 40 mg subcutaneous injection": the name is Enoxaparin, the patient says
    "the injections" — its route makes it the drug meant."""
    value = adherence("The iron tablets every day. I skipped the injections on Saturday and Sunday though.", SC_AND_ORAL, "en")
    assert value == {"adherence": "partial", "missed": ["Enoxaparin"]}


def test_a_pill_described_beside_a_drug_named_is_the_other_drug() -> None:
    value = adherence("那个硝苯地平天天吃着呢。那个小白片子，村卫生室没有了，断了一个礼拜了", TWO_BP, "zh")
    assert value == {"adherence": "partial", "missed": ["氢氯噻嗪片"]}


def test_a_childs_medicine_is_drunk_and_not_given_any_more() -> None:
    value = adherence("那个止咳的氨溴索一直在喝。阿莫西林那个喝了三天，看她不烧了就没再给她喝了", CHILD, "zh")
    assert value == {"adherence": "partial", "missed": ["阿莫西林克拉维酸钾干混悬剂"]}


def test_the_only_drug_given_up_unnamed_is_none() -> None:
    value = adherence("他自己把药停了，有一个礼拜了，说吃了那个药人发胖", RISPERIDONE, "zh")
    assert value == {"adherence": "none", "missed": ["利培酮片"]}


def test_the_lunchtime_insulin_is_the_mealtime_one() -> None:
    value = adherence("The bedtime one, always. But he forgot his lunchtime insulin at school twice this week.", INSULINS, "en")
    assert value == {"adherence": "partial", "missed": ["Insulin aspart"]}


def test_given_on_the_clock_is_taken() -> None:
    value = adherence("We're giving both of them on the clock, I've got alarms on my phone.", TWO_PRN_FREE, "en")
    assert value == {"adherence": "full", "missed": []}


# ----- symptoms -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "lang", "codes"), [
    ("昨天下午他跟我说话，突然就含含糊糊的，听不清他说啥，大概十来分钟又好了", "zh", ["slurred_speech"]),
    ("昨天下午突然就含含糊糊的，听不清他说啥", "zh", ["slurred_speech"]),
    ("He won't drink much, and he hasn't had a wee since breakfast. And he feels warm.", "en", ["fever", "urinary_problem"]),
    ("这几天晚上都不睡觉，整宿在屋里走来走去", "zh", ["insomnia"]),
])
def test_complaints_told_by_a_carer_or_parent(text: str, lang: str, codes: list[str]) -> None:
    assert symptoms(text, lang) == codes


def test_a_cough_medicine_named_by_its_purpose_is_no_cough() -> None:
    assert symptoms("那个止咳的氨溴索一直在喝", "zh") in (None, [])


def test_a_scar_a_bit_pink_is_redness() -> None:
    assert parse_field("wound", "The scar's a bit pink along one end, no gunk coming out of it.", "en",
                       {"post_surgery": True}).value == "redness"


# ----- an answer said rising, with a question after it ---------------------------------------------

def test_an_answer_said_rising_beside_a_question_is_the_answer() -> None:
    asked, said = split_questions("About the same, I guess? Is that normal?", "en")
    assert (asked, said) == ("Is that normal?", "About the same, I guess?")
    assert parse_field("overall_condition", said, "en", {}).value == "same"
    # alone, a rising answer is left as it was
    assert split_questions("About the same?", "en") == ("About the same?", "")
