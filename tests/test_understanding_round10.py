"""Round 10 of understanding (issue #12): mechanisms found on scenario set 9 (train9) and train15 answers.
Each test names a class of errors, with a case and a near miss; each fails without its mechanism."""

from __future__ import annotations

import datetime as dt

import pytest

from dialogs.understanding import normalize, parse_field
from language.condition import read_condition
from language.symptoms import parse_symptoms


def present(text: str, lang: str = "zh", respondent: str | None = None) -> list[str] | None:
    value = parse_symptoms(normalize(text), lang, respondent=respondent).value
    return None if value is None else sorted(value["present"])


def field(name: str, text: str, lang: str = "zh", context: dict | None = None) -> object:
    return parse_field(name, normalize(text), lang, context or {}).value


def adherence(text: str, names: list[str], lang: str = "zh") -> object:
    meds = [{"name": n, "generic_name": None, "drug_class": None} for n in names]
    value = field("medication_adherence", text, lang, {"medications": meds})
    return value if value is None else (value["adherence"], sorted(value["missed"]))


@pytest.fixture(scope="module")
def harness():
    from evaluation.understanding import _Harness
    from suifang.config import load_settings

    return _Harness(use_llm=False, settings=load_settings(), use_embeddings=False)


def highest_flag(harness, text: str, lang: str, field_name: str = "symptoms") -> str:  # noqa: ANN001
    from evaluation.understanding import _highest

    _, flags, _ = harness.run({"lang": lang, "field": field_name, "text": text, "context": {}})
    return _highest(flags)


# ----- lexicon rows that never matched, and the heavy-bleeding cue ----------------------------------

def test_bled_is_bleeding_and_over_an_hour_is_heavy(harness) -> None:  # noqa: ANN001
    # a row written '\\bbled\\b' in the lexicon looked for a backslash and never matched
    text = "Cut myself shaving and it bled for over an hour, went through a whole roll of toilet paper"
    assert present(text, "en") == ["bleeding"]
    assert highest_flag(harness, text, "en") == "red"
    # near miss: a short bleed is bleeding, not heavy
    assert highest_flag(harness, "My gums bled a bit when I brushed, stopped straight away", "en") == "yellow"
    # near miss: "a little" through the dressing is no heavy bleeding
    assert highest_flag(harness, "It bled a little through the dressing when I coughed. Stopped when I pressed on it.",
                        "en") == "yellow"


def test_many_spots_are_no_amount_of_blood(harness) -> None:  # noqa: ANN001
    text = "发烧就冇啦，不过刷牙果阵牙肉出血，手臂同脚度出咗好多细细粒红点"
    assert present(text) == ["bleeding", "bruising"]      # petechiae are bruising
    assert highest_flag(harness, text, "zh") == "yellow"
    # near miss: 好多 of the blood itself is still heavy
    assert highest_flag(harness, "鼻子出血，流了好多，止不住", "zh") == "red"


# ----- symptoms said in other words ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "lang", "codes"), [
    ("这两天心里向老是扑通扑通跳，夜里也困不着觉", "zh", ["insomnia", "palpitations"]),
    ("左手那碗端着端着就掉桌上了", "zh", ["limb_weakness"]),
    ("Since yesterday evening he is talking very slurred, and right hand is not holding the cup", "en",
     ["limb_weakness", "slurred_speech"]),
    ("我婆婆今天早上连我是谁都认不出来了", "zh", ["confusion"]),
    ("都吃的。哦对了，昨天解了个黑大便，黑得发亮的", "zh", ["melena"]),
    ("从昨天起吐了三回，一站起来眼前就黑，扶到墙才没倒", "zh", ["dizziness", "nausea_vomiting"]),
    ("There's been little red streaks in what I'm coughing up", "en", ["hemoptysis"]),
    ("Honestly, I think everyone would be better off if I just wasn't here anymore", "en", ["suicidal_ideation"]),
])
def test_symptoms_in_other_words(text: str, lang: str, codes: list[str]) -> None:
    assert present(text, lang) == codes


@pytest.mark.parametrize(("text", "lang"), [
    # a body function said to be fine
    ("手指头还是麻，跟出院时候一样，没更重。喘气没问题，吃饭喝水也不呛", "zh"),
    # a mate's symptom
    ("Nah, no dizzy spells. My mate Jonno had chest pains on the same job but that's him, not me.", "en"),
    # years already, in a clause of its own
    ("手有点麻，这个麻了好几年了，颈椎病，没变化", "zh"),
    ("Pins and needles in my feet, but that's the diabetes, had it for ages", "en"),
    # going down since discharge
    ("脚脖子是肿了点，不过比出院的时候消多了", "zh"),
    ("The ankle swelling's going down nicely, much less than when I left", "en"),
])
def test_near_misses_are_nothing_new(text: str, lang: str) -> None:
    assert present(text, lang) == []


def test_years_already_must_be_said_of_the_symptom() -> None:
    # "我爸都走了好几年了" is about the father, not the confusion told before it
    assert present("我妈今天早上起来一直在说胡话，叫我爸的名字，我爸都走了好几年了") == ["confusion"]


def test_singapore_no_have_denies_what_it_follows() -> None:
    assert present("Still got diarrhoea, six times a day. Blood no have, I checked every time.", "en") == ["diarrhea"]
    assert present("Still got diarrhoea, six times a day. Got blood also.", "en") == ["bleeding", "diarrhea"]


# ----- overall condition -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("咋说呢，这两天好像往回退了", "worse"),
    ("恼火，比出院的时候还恼火", "worse"),
    ("Aiyah, same lah, not really better.", "same"),
    ("Same.", "same"),
])
def test_condition_words(text: str, value: str) -> None:
    assert read_condition(text) == value


def test_not_in_a_bad_way_is_not_worse() -> None:
    assert read_condition("不恼火，好多了") == "better"


# ----- yes / no fields, satisfaction -----------------------------------------------------------------

def test_reexam_done_in_other_words() -> None:
    assert field("reexam_done", "血HCG上周五抽了，医生说降下来了") == "yes"
    assert field("reexam_done", "INR we did on Monday, it was two point four.", "en") == "yes"
    # "这礼拜没空" is the reason it was not done, not a busy caller's non-answer
    assert field("reexam_done", "还没去查，这礼拜没空") == "no"
    assert field("reexam_done", "No, we didn't get round to it.", "en") == "no"
    # near miss: a caller who is busy now still gives no answer
    assert field("reexam_done", "没空，我忙着呢") is None


def test_a_score_out_of_five_said_in_words_wins_over_the_verdict() -> None:
    assert field("satisfaction", "Not happy at all, one out of five, nobody answered the call bell", "en") == 1
    assert field("satisfaction", "Not happy at all.", "en") == 2


# ----- adherence -------------------------------------------------------------------------------------

def test_a_relative_s_answer_passed_on_after_a_stall() -> None:
    assert adherence("你等一下，我问问我老伴儿……他说都吃了", ["利伐沙班片", "琥珀酸美托洛尔缓释片"]) == ("full", [])
    assert adherence("Hang on, let me ask my wife... she says he takes them all", ["Apixaban", "Metoprolol"], "en") == ("full", [])
    # near miss: the stall alone is no answer
    assert adherence("你等一下，我问问我老伴儿", ["利伐沙班片", "琥珀酸美托洛尔缓释片"]) is None


def test_a_schedule_misread_is_taken_wrongly() -> None:
    meds = ["甲氨蝶呤片", "叶酸片"]
    text = "哎呀我整差了，那个甲氨蝶呤我寻思是天天吃，连着吃了三天，后来才知道一礼拜一回。叶酸按说的吃着"
    assert adherence(text, meds) == ("partial", ["甲氨蝶呤片"])
    assert adherence("甲氨蝶呤每周一吃，叶酸每周三吃，都按说的吃着", meds) == ("full", [])


def test_not_one_missed_in_other_words() -> None:
    assert adherence("都按医生说的来，一针一片都没落", ["二甲双胍缓释片", "甘精胰岛素注射液"]) == ("full", [])


def test_singapore_stop_already_is_stopped() -> None:
    meds = ["Metformin 500 mg", "Amlodipine 5 mg"]
    assert adherence("All taking lah, but the metformin I stop already, make my stomach jialat", meds, "en") == \
        ("partial", ["Metformin 500 mg"])
    # near miss: never stopped is no miss
    assert adherence("Taking all, never stop already one", meds, "en") in (None, ("full", []))


def test_as_needed_and_mouthwash_taken() -> None:
    assert adherence("Only had a couple of Panadol.", ["Paracetamol 1 g"], "en") == ("full", [])
    assert adherence("He's doing the mouthwash and the lansoprazole, and the co-codamol when it's bad.",
                     ["Difflam (benzydamine) mouthwash", "Co-codamol 30/500", "Lansoprazole 30 mg"], "en") == ("full", [])


# ----- flows: when the pressure is asked -------------------------------------------------------------

def _general_call(answers: dict[str, str], *, diagnosis: str = "", lang: str = "zh") -> list[str]:
    from dialogs.clinical_rules import default_rules
    from dialogs.context import CallContext, Medication, derive_facts
    from dialogs.engine import FollowupEngine
    from dialogs.flows import load_flows

    flows = load_flows()
    name, year = ("罗建华", 1970) if lang == "zh" else ("Brianna Lopez", 1996)
    drug = Medication(item_id=1, name="氢化可的松片" if lang == "zh" else "Nifedipine", generic_name=None, drug_class=None)
    facts = derive_facts(diagnosis=diagnosis, medications=(drug,), revisits=(), reexams=(), surgery=False,
                         call_date=dt.date(2026, 11, 27))
    context = CallContext(patient_id=1, patient_name=name, sex="male", birth_year=year, id_last4=None, phone_last4=None,
                          language=lang, hospital="医院", ward_team="内分泌科", department="内分泌科", diagnosis=diagnosis,
                          discharged_on=dt.date(2026, 11, 20), call_date=dt.date(2026, 11, 27), post_surgery=False,
                          medications=(drug,), facts=facts)
    engine = FollowupEngine(flows=flows, flow=flows.flows["general"], context=context, rules=default_rules())
    reply = engine.start()
    asked = []
    for _ in range(40):
        if reply.done or not reply.expecting:
            break
        asked.append(reply.expecting)
        reply = engine.handle(answers.get(reply.expecting, "没有" if lang == "zh" else "No."))
    return asked


def test_dizziness_asks_for_the_pressure() -> None:
    ident = {"identity_verified": "是我，罗建华，七零年的", "overall_condition": "差不多"}
    assert "blood_pressure" in _general_call({**ident, "symptoms": "一站起来眼前就黑，扶到墙才没倒"})
    assert "blood_pressure" not in _general_call({**ident, "symptoms": "有点咳嗽"})


def test_preeclampsia_is_a_blood_pressure_diagnosis() -> None:
    ident = {"identity_verified": "Brianna Lopez, born ninety-six.", "overall_condition": "About the same."}
    assert "blood_pressure" in _general_call(ident, diagnosis="Postpartum preeclampsia", lang="en")
    assert "blood_pressure" not in _general_call(ident, diagnosis="Postpartum haemorrhage", lang="en")
