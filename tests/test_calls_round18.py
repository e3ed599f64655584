"""Round 18 (issue #12, scenario set 13): mechanisms fitted on train13 — each test fails on the code before it."""

from __future__ import annotations

import datetime as dt

import pytest

from dialogs.context import Medication, derive_facts
from dialogs.understanding import no_fever_no_reading, normalize, parse_field
from language.condition import read_condition
from language.context import assess
from language.symptoms import parse_symptoms


def med(name: str, generic: str, cls: str | None, frequency: str | None = None) -> dict:
    return {"id": 1, "name": name, "generic_name": generic, "drug_class": cls, "frequency": frequency,
            "duration": None, "route": "oral"}


def present(text: str, lang: str, respondent: str | None = None) -> list[str]:
    value = parse_symptoms(normalize(text), lang, respondent=respondent).value
    return sorted(value["present"]) if value else []


def adherence(text: str, lang: str, meds: list[dict]) -> object:
    return parse_field("medication_adherence", normalize(text), lang, {"medications": meds}).value


# ----- overall condition -----------------------------------------------------------------------------

def test_cannot_quite_say_is_a_hedge_not_worse() -> None:
    assert read_condition("说不太好") is None
    assert read_condition("应该比刚出院的时候好一点吧，我也说不太好") is None
    assert read_condition("还是不太好") == "worse"


def test_can_do_more_than_then_is_better() -> None:
    assert read_condition("应该比刚出院的时候好一点吧，我也说不太好，反正比那会儿能多走几步了。") == "better"


# ----- someone else's complaint ----------------------------------------------------------------------

def test_an_aside_about_the_relative_keeps_him_the_one_spoken_of() -> None:
    text = "我没啥 就早上咳两声 跟以前一样 倒是我哥 跟我一个矿的 他这两天痰里带血 送县医院去了"
    assert "hemoptysis" not in present(text, "zh")


def test_an_aside_with_i_as_subject_ends_it() -> None:
    assert "chest_pain" in present("我没事，倒是我哥，跟我一个矿的，我胸口疼", "zh")


# ----- an exception before a denial ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "code"), [
    ("Apart from the constipation, no. She's eating a little, no sickness.", "constipation"),
    ("Other than the cough, none of that.", "cough"),
])
def test_the_complaint_excepted_is_not_denied(text: str, code: str) -> None:
    assert code in present(text, "en", "family")


def test_a_bare_list_then_no_is_still_denied() -> None:
    assert present("Cough, no.", "en") == []


# ----- as-needed drugs taken a number of times ---------------------------------------------------------

@pytest.mark.parametrize(("text", "lang", "meds"), [
    ("ibuprofen couple times", "en", [med("Ibuprofen", "ibuprofen", "nsaid", "prn")]),
    ("the tylenol a few times yeah", "en", [med("Paracetamol", "acetaminophen", "analgesic", "prn")]),
    ("布洛芬就回来第一天晚上喂了一次，后来没喊疼就没再喂。", "zh", [med("布洛芬混悬液", "布洛芬", "nsaid", "prn")]),
    ("The twice-a-day morphine, yes, every morning and every night. The senna at night too. "
     "The liquid one she's had maybe twice when the pain flared.", "en",
     [med("Morphine sulfate", "morphine", "analgesic", "bid"), med("solution (Oramorph)", "morphine", "analgesic", "prn"),
      med("Senna", "senna", "laxative", "qn")]),
])
def test_as_needed_taken_now_and_then_is_full(text: str, lang: str, meds: list[dict]) -> None:
    assert adherence(text, lang, meds) == {"adherence": "full", "missed": []}


def test_a_daily_drug_a_few_times_is_not_full() -> None:
    value = adherence("metformin a few times", "en", [med("Metformin", "metformin", "biguanide", "bid")])
    assert value is None or value["adherence"] != "full"


def test_a_double_dose_is_still_missed() -> None:
    value = adherence("I took the metoprolol twice by mistake", "en", [med("Metoprolol", "metoprolol", "beta_blocker", "qd")])
    assert value == {"adherence": "partial", "missed": ["Metoprolol"]}


# ----- fever and temperature -------------------------------------------------------------------------

def test_feeling_kinda_hot_is_a_fever() -> None:
    assert "fever" in present("diarrhea um four maybe five times a day. no blood. and i feel kinda hot", "en")


@pytest.mark.parametrize("text", ["nope no fever", "nah", "nope"])
def test_no_fever_answers_to_the_temperature_question(text: str) -> None:
    assert no_fever_no_reading(text, "en")


def test_a_number_is_still_a_reading() -> None:
    assert not no_fever_no_reading("nope, thirty-eight", "en") or not no_fever_no_reading("nope, 38", "en")
    assert not no_fever_no_reading("nope, 38", "en")


# ----- ASR homophones ----------------------------------------------------------------------------------

def test_blood_sugar_homophone() -> None:
    assert "血糖" in normalize("一测血唐三点五")


# ----- the occasion of an as-needed painkiller ----------------------------------------------------------

def test_pain_as_the_occasion_of_a_dose_is_not_reported() -> None:
    mentions = assess(normalize("The liquid one she's had maybe twice when the pain flared."), "en")
    assert [m.status for m in mentions if m.code == "pain"] == ["hypothetical"]


def test_chest_pain_as_the_occasion_of_nitro_stays_present() -> None:
    assert "chest_pain" in present("I took the nitro when the chest pain came on at rest, twenty minutes", "en")


# ----- pain_watch: the pain score is asked of patients on pain control --------------------------------------

def _facts(diagnosis: str, meds: tuple[Medication, ...]) -> frozenset[str]:
    return derive_facts(diagnosis=diagnosis, surgery=False, medications=meds, revisits=(), reexams=(),
                        call_date=dt.date(2026, 12, 1))


def test_pain_watch_from_a_regular_opioid_or_the_diagnosis() -> None:
    morphine = Medication(1, "Morphine sulfate modified-release", "morphine", "analgesic", "bid")
    prn = Medication(2, "Oramorph", "morphine", "analgesic", "prn")
    assert "pain_watch" in _facts("Metastatic lung cancer", (morphine,))
    assert "pain_watch" not in _facts("Metastatic lung cancer", (prn,))
    assert "pain_watch" in _facts("Metastatic non-small-cell lung cancer, pain control", (prn,))
    assert "pain_watch" in _facts("肺癌 癌痛", ())
