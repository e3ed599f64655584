"""Every ordered drug given up for good, none taken, is adherence "none" (nothing is taken now); a stop for
a while, a course stopped early and one drug of several stopped stay "partial"."""

from __future__ import annotations

import pytest

from dialogs.understanding import normalize, parse_field

CITALOPRAM = [{"name": "Citalopram 20 mg", "generic_name": "citalopram", "drug_class": "antidepressant"}]
APIXABAN = [{"name": "Apixaban 5 mg", "generic_name": "apixaban", "drug_class": "anticoagulant"}]
AMOXICILLIN = [{"name": "Amoxicillin 500 mg", "generic_name": "amoxicillin", "drug_class": "antibiotic"}]
TWO_ZH = [{"name": "苯磺酸氨氯地平片", "generic_name": "氨氯地平", "drug_class": "antihypertensive"},
          {"name": "盐酸二甲双胍片", "generic_name": "二甲双胍", "drug_class": "antidiabetic"}]


def adherence(text: str, meds: list[dict], lang: str) -> dict | None:
    return parse_field("medication_adherence", normalize(text), lang, {"medications": meds}).value


@pytest.mark.parametrize(("text", "meds", "lang"), [
    ("Gave up the citalopram last week, I feel fine now.", CITALOPRAM, "en"),
    ("She quit the citalopram, says it made her feel flat.", CITALOPRAM, "en"),
    ("氨氯地平吃了十来天就停了，二甲双胍我也停了", TWO_ZH, "zh"),
])
def test_every_drug_given_up_is_none(text: str, meds: list[dict], lang: str) -> None:
    assert adherence(text, meds, lang) == {"adherence": "none", "missed": [m["name"] for m in meds]}


@pytest.mark.parametrize(("text", "meds", "lang", "missed"), [
    # a stop for a while
    ("I stopped the apixaban for two days for the dentist, I'm back on it now.", APIXABAN, "en",
     ["Apixaban 5 mg"]),
    ("二甲双胍停了三天又吃上了，氨氯地平也停了两天", TWO_ZH, "zh", ["盐酸二甲双胍片", "苯磺酸氨氯地平片"]),
    # a course stopped early was taken in part
    ("I stopped the amoxicillin after four days, I felt better.", AMOXICILLIN, "en", ["Amoxicillin 500 mg"]),
    # one drug of two stopped
    ("二甲双胍我停了", TWO_ZH, "zh", ["盐酸二甲双胍片"]),
])
def test_a_stop_for_a_while_a_course_cut_short_or_one_drug_of_several_is_partial(
        text: str, meds: list[dict], lang: str, missed: list[str]) -> None:
    got = adherence(text, meds, lang)
    assert got is not None and got["adherence"] == "partial" and sorted(got["missed"]) == sorted(missed)


BP_EN = [{"name": "Amlodipine 5 mg", "generic_name": "amlodipine", "drug_class": "antihypertensive"},
         {"name": "Losartan 50 mg", "generic_name": "losartan", "drug_class": "antihypertensive"}]


@pytest.mark.parametrize(("text", "meds", "lang"), [
    ("药上礼拜吃完了，已经断了一个礼拜了", TWO_ZH, "zh"),
    ("The blood pressure tablets ran out on Friday, I've been without them since.", BP_EN, "en"),
])
def test_every_drug_run_out_and_still_without_is_none(text: str, meds: list[dict], lang: str) -> None:
    assert adherence(text, meds, lang) == {"adherence": "none", "missed": [m["name"] for m in meds]}


@pytest.mark.parametrize(("text", "meds", "lang"), [
    ("两样药上礼拜吃完了，断了三天，昨天又接着吃上了", TWO_ZH, "zh"),       # taken again
    ("The blood pressure tablets ran out on Friday, I picked more up Monday.", BP_EN, "en"),
])
def test_run_out_and_taken_again_is_partial(text: str, meds: list[dict], lang: str) -> None:
    got = adherence(text, meds, lang)
    assert got is not None and got["adherence"] == "partial"
