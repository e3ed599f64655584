"""Round 17 (issue #12, scenario set 12): mechanisms fitted on train12 — each test fails on the code before it."""

from __future__ import annotations

import pytest

from dialogs.understanding import normalize, parse_field
from knowledge.answers import _load_topics
from language.symptoms import parse_symptoms


def med(name: str, generic: str, cls: str | None, frequency: str | None = None, duration: str | None = None,
        route: str | None = "oral") -> dict:
    return {"id": 1, "name": name, "generic_name": generic, "drug_class": cls, "frequency": frequency,
            "duration": duration, "route": route}


HF = [med("Furosemide", "furosemide", "diuretic", "qd"), med("Bisoprolol", "bisoprolol", "beta_blocker", "qd"),
      med("Morphine", "morphine", "opioid", "prn")]
FOUR = [med("Sacubitril/valsartan", "sacubitril/valsartan", "arni", "bid"), med("Metoprolol succinate", "metoprolol", "beta_blocker", "qd"),
        med("Furosemide", "furosemide", "diuretic", "qd"), med("Spironolactone", "spironolactone", "diuretic", "qd")]
PRN_PARACETAMOL = [med("Paracetamol", "acetaminophen", "analgesic", "prn")]
PRN_IBUPROFEN = [med("布洛芬缓释胶囊", "布洛芬", "nsaid", "prn")]
EAR = [med("头孢呋辛酯片", "头孢呋辛", "antibiotic", "bid", "P7D"), med("氧氟沙星", "氧氟沙星", "antibiotic", "bid", None, "topical")]


def adherence(text: str, lang: str, meds: list[dict]) -> object:
    return parse_field("medication_adherence", normalize(text), lang, {"medications": meds}).value


@pytest.mark.parametrize(("text", "lang", "meds"), [
    ("Taking all four, every one of them. I've got one of those pill boxes with the days on it now.", "en", FOUR),
    ("He takes the water tablet and the bisoprolol. The morphine we've used maybe once.", "en", HF),
    ("Just a bit of Calpol at night the first few days, none since.", "en", PRN_PARACETAMOL),
    ("布洛芬就前两天吃了两回，后来不疼了就没吃", "zh", PRN_IBUPROFEN),
    # a drug whose start the doctor put off is not missed
    ("消炎药天天吃着。滴耳朵的还没开始用，医生说等拆了线、把里头的棉花取了再滴", "zh", EAR),
])
def test_taken_said_in_other_words_is_full(text: str, lang: str, meds: list[dict]) -> None:
    assert adherence(text, lang, meds) == {"adherence": "full", "missed": []}


def test_not_started_without_a_reason_is_still_missed() -> None:
    value = adherence("消炎药天天吃着。滴耳朵的还没开始用", "zh", EAR)
    assert value is not None and value["adherence"] == "partial"


@pytest.mark.parametrize(("text", "lang", "value"), [
    ("跟出院那会儿差不多，没觉着哪儿不好", "zh", "same"),
    ("He's weaker than when he came home, honestly.", "en", "worse"),
    ("还是不好，比出院的时候差", "zh", "worse"),
])
def test_condition(text: str, lang: str, value: str) -> None:
    assert parse_field("overall_condition", normalize(text), lang).value == value


def present(text: str, lang: str, respondent: str | None = None) -> list[str]:
    value = parse_symptoms(normalize(text), lang, respondent=respondent).value
    return sorted(value["present"]) if value else []


@pytest.mark.parametrize(("text", "lang", "codes"), [
    ("Ankles are puffier than they were, by the evening I can see the sock marks.", "en", ["edema"]),
    # leaking urine; the cough named as the moment it comes is no cough; a denial after "nothing else" takes nothing back
    ("管子拔了以后老漏尿，一咳嗽一站起来就漏，一天得换好几块垫子。别的没啥，不烧，尿的时候也不疼，尿也不红", "zh", ["urinary_problem"]),
    ("一咳嗽伤口就疼", "zh", ["wound_pain"]),
    ("一咳就咳半天", "zh", ["cough"]),
    ("一咳嗽就停不下来", "zh", ["cough"]),
    ("Since the catheter came out I'm leaking urine when I stand up.", "en", ["urinary_problem"]),
    ("说着说着舌头就不利索了，含含糊糊的，过了十来分钟又好了", "zh", ["slurred_speech"]),
    ("I'm doing fine, the wounds are healing, pain's maybe a two, no temperature.", "en", []),
    ("The pain is bad at night.", "en", ["pain"]),
])
def test_symptoms(text: str, lang: str, codes: list[str]) -> None:
    assert present(text, lang) == codes


def test_a_correction_still_takes_back_without_nothing_else() -> None:
    assert present("头晕，调了药就不晕了", "zh") == []


@pytest.mark.parametrize(("text", "value"), [
    ("Like I said, the groin one's got that little gap at the bottom. The ones on the leg look fine.", "dehiscence"),
    ("there's a little gap between the staples", "dehiscence"),
    ("No gap, all closed up.", "ok"),
])
def test_wound_gap(text: str, value: str) -> None:
    assert parse_field("wound", normalize(text), "en").value == value


def test_a_reading_said_to_be_someone_elses_is_not_the_patients() -> None:
    text = "三十七度九……哎不对，是三十七度二，三十七度九是我妈那张，她感冒了，我看串了"
    assert parse_field("temperature", normalize(text), "zh").value == 37.2
    assert parse_field("temperature", normalize("三十七度二"), "zh").value == 37.2


def test_water_in_the_ear_is_the_bathing_topic() -> None:
    topics = _load_topics()
    assert topics["bathing"].search("术后1个月内术耳避免进水")
    assert topics["bathing"].search("我这耳朵啥时候能洗头沾水啊")


def test_cough_that_brings_blood_stays_hemoptysis() -> None:
    assert present("一咳就吐出血来，吓死人了", "zh") == ["hemoptysis"]


def test_a_course_stopped_when_the_fever_went_is_still_missed() -> None:
    course = [med("头孢呋辛酯片", "头孢呋辛", "antibiotic", "bid", "P7D")]
    assert adherence("消炎药吃了三天，不烧了就没再吃了", "zh", course) == {"adherence": "partial", "missed": ["头孢呋辛酯片"]}
