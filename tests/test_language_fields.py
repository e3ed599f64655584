"""The language layer for the fields other than symptoms: numbers as spoken, readings with self-repair,
adherence clause by clause, condition, yes/no fields, wound — and the engine failing closed."""

from __future__ import annotations

import datetime as dt

import pytest

from dialogs.context import CallContext, Medication
from dialogs.engine import FollowupEngine
from dialogs.flows import Flow, load_flows
from dialogs.understanding import normalize, parse_field, split_questions
from language.numbers import to_digits
from dialogs.clinical_rules import default_rules

MEDS_ZH = [{"name": n, "generic_name": g, "drug_class": c, "frequency": f} for n, g, c, f in [
    ("阿司匹林肠溶片", "阿司匹林", "antiplatelet", "qd"), ("硫酸氢氯吡格雷片", "氯吡格雷", "antiplatelet", "qd"),
    ("阿托伐他汀钙片", "阿托伐他汀", "statin", "qn"), ("塞来昔布胶囊", "塞来昔布", "analgesic", "prn")]]
MEDS_EN = [{"name": n, "generic_name": g, "drug_class": c, "frequency": f} for n, g, c, f in [
    ("Apixaban 5 mg", "apixaban", "anticoagulant", "bid"), ("Ferrous sulfate 325 mg", "ferrous sulfate", "other", "qd"),
    ("Metoprolol succinate ER", "metoprolol", "antihypertensive", "qd")]]


def value(field: str, text: str, lang: str, **context):  # noqa: ANN003, ANN201
    return parse_field(field, normalize(text), lang, context).value


@pytest.mark.parametrize(("spoken", "digits"), [
    ("born nineteen forty-nine.", "born 1949."), ("one sixty over a hundred", "160 over 100"),
    ("my sugar ran two thirty", "my sugar ran 230"), ("ends in four four oh seven", "ends in 4407"),
    ("no one told me", "no one told me"), ("一百七十五一百零五", "175，105"), ("一百三十五八十", "135，80"),
    ("一身汗", "一身汗"), ("零零一七", "0017"), ("一百一", "110"),
])
def test_spoken_numbers(spoken: str, digits: str) -> None:
    assert to_digits(spoken) == digits


@pytest.mark.parametrize(("field", "text", "lang", "expected"), [
    ("blood_pressure", "一百五，不对，一百四，低压八十八", "zh", {"systolic": 140, "diastolic": 88}),
    ("blood_pressure", "Yesterday it was 150 over 95, and this morning 168 over 104.", "en", {"systolic": 168, "diastolic": 104}),
    ("blood_pressure", "The machine said one nine two over one oh five.", "en", {"systolic": 192, "diastolic": 105}),
    ("blood_pressure", "一百二十五吧，低压是七十几……七十五", "zh", {"systolic": 125, "diastolic": 75}),
    ("heart_rate", "半分钟三十五下", "zh", 70),
    ("heart_rate", "早上七十八，刚才又量了一下九十", "zh", 90),
    ("temperature", "Thirty-eight five.", "en", 38.5),
    ("temperature", "One oh one.", "en", 38.3),
    ("temperature", "三十六七度吧", "zh", None),
    ("blood_glucose", "今天早上空腹测的，三点二，当时心慌、一身汗", "zh", 3.2),
    ("blood_glucose", "Two hundred and fifty in the morning and then three ten at bedtime.", "en", 17.2),
    ("pain_score", "四分，不对，三分", "zh", 3),
    ("pain_score", "It goes up and down. Anywhere between two and seven.", "en", None),
    ("pain_score", "一分都没有，不疼", "zh", 0),
])
def test_readings_latest_and_self_repair(field: str, text: str, lang: str, expected: object) -> None:
    assert value(field, text, lang) == expected


@pytest.mark.parametrize(("text", "lang", "meds", "adherence", "missed"), [
    ("阿司匹林吃了胃不舒服，我就停了三四天", "zh", MEDS_ZH, "partial", ["阿司匹林肠溶片"]),
    ("波立维前天忘了吃，别的都按时", "zh", MEDS_ZH, "partial", ["硫酸氢氯吡格雷片"]),
    ("都按时吃的，止痛的那个基本没吃，不怎么疼", "zh", MEDS_ZH, "full", []),
    ("立普妥我是隔天吃一次", "zh", MEDS_ZH, "partial", ["阿托伐他汀钙片"]),
    ("I ran out of the Eliquis on Friday and went without for a few days. The metoprolol I've had every day.", "en",
     MEDS_EN, "partial", ["Apixaban 5 mg"]),
    ("I stopped the iron, it was bunging me up. Still taking the others though.", "en", MEDS_EN, "partial",
     ["Ferrous sulfate 325 mg"]),
    ("I've been cutting the metoprolol in half, it makes me tired.", "en", MEDS_EN, "partial", ["Metoprolol succinate ER"]),
])
def test_adherence_clause_by_clause(text: str, lang: str, meds: list, adherence: str, missed: list) -> None:
    got = value("medication_adherence", text, lang, medications=meds)
    assert got == {"adherence": adherence, "missed": missed}


def test_a_finished_course_is_full_and_a_hedge_is_not_settled() -> None:
    meds = [{"name": "头孢克肟胶囊", "generic_name": "头孢克肟", "drug_class": "antibiotic"},
            {"name": "泮托拉唑钠肠溶片", "generic_name": "泮托拉唑", "drug_class": "ppi"}]
    assert value("medication_adherence", "消炎药吃完了，医生说吃七天，吃满七天了，胃药还每天吃着", "zh", medications=meds) == \
        {"adherence": "full", "missed": []}
    assert value("medication_adherence", "差不多吧，应该都吃了吧", "zh", medications=meds) is None


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("刚回来那几天不太好，这两天好多了", "zh", "better"),
    ("好一点了……哎不对，这两天又不行了，比刚出院还差", "zh", "worse"),
    ("比住院那会儿好，就是晚上还睡不好", "zh", "better"),
    ("He's gone downhill since he got home, honestly.", "en", "worse"),
    ("Hard to say. Some days good, some days I can't get going.", "en", None),
])
def test_overall_condition_latest_assessment_wins(text: str, lang: str, expected: str | None) -> None:
    assert value("overall_condition", text, lang) == expected


@pytest.mark.parametrize(("field", "text", "lang", "expected"), [
    ("revisit_aware", "知道要去，但是哪天忘了", "zh", "no"),
    ("revisit_aware", "记着呢，日历上都画圈了", "zh", "yes"),
    ("revisit_booked", "好像挂了吧，我记不清了", "zh", None),
    ("revisit_booked", "I've been meaning to. It's on my list.", "en", "no"),
    ("reexam_done", "查过了，结果还没出来", "zh", "yes"),
    ("reexam_done", "I did the blood test but not the scan yet.", "en", "no"),
])
def test_yes_no_fields(field: str, text: str, lang: str, expected: str | None) -> None:
    assert value(field, text, lang) == expected


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("没有红肿渗液，挺好的", "zh", "ok"), ("刀口里面冒脓，按一下就出来", "zh", "discharge"),
    ("The edges have come apart at the bottom. I can see right inside it.", "en", "dehiscence"),
    ("There isn't a wound. They did it all with a camera down my throat.", "en", "none"),
    ("I haven't looked at it, I can't bear to.", "en", None),
])
def test_wound(text: str, lang: str, expected: str | None) -> None:
    assert value("wound", text, lang) == expected


def test_answer_and_question_are_told_apart() -> None:
    assert split_questions("Three hundred and twelve. That's high, right?", "en") == \
        ("That's high, right?", "Three hundred and twelve.")


# ----- the engine fails closed ----------------------------------------------------------------------

FLOWS = load_flows()


def _engine(field: str, lang: str = "zh") -> FollowupEngine:
    step = FLOWS.steps[field]
    step = type(step)(id=step.id, collect=step.collect, ask=step.ask, say=None, condition=None, next=(), reask=step.reask)
    flow = Flow(id="one", description="", priority=0, match={}, steps=(step,))
    context = CallContext(
        patient_id=1, patient_name="王建国", sex="male", birth_year=1962, id_last4=None, phone_last4=None, language=lang,
        hospital="医院", ward_team="心内科", department="心内科", diagnosis="", discharged_on=dt.date(2026, 11, 1),
        call_date=dt.date(2026, 11, 8), post_surgery=False,
        medications=(Medication(item_id=1, name="阿司匹林肠溶片", generic_name="阿司匹林", drug_class="antiplatelet"),))
    engine = FollowupEngine(flows=FLOWS, flow=flow, context=context, rules=default_rules())
    engine.start()
    return engine


def test_an_unclear_clinical_answer_gets_one_closed_reask_then_goes_to_a_nurse() -> None:
    engine = _engine("symptoms")
    reply = engine.handle("那个……你说的那个我也搞不懂")
    assert reply.expecting == "symptoms" and "有，还是没有" in reply.say
    reply = engine.handle("唉说不清楚")
    assert reply.done or reply.expecting != "symptoms"
    outcome = engine.outcome()
    assert "symptoms" not in outcome                       # never stored as "no"
    assert outcome["unclear_fields"] == ["symptoms"] and outcome["needs_callback"] is True
    assert "说不清楚" in outcome["evidence"]["symptoms"]


def test_yes_to_a_symptom_question_without_saying_what_goes_to_a_nurse_at_once() -> None:
    engine = _engine("symptoms")
    engine.handle("有")
    outcome = engine.outcome()
    assert outcome["unclear_fields"] == ["symptoms"] and outcome["needs_callback"] is True


def test_a_request_for_a_nurse_is_noted_and_the_question_stays() -> None:
    engine = _engine("blood_pressure")
    reply = engine.handle("我不想跟机器说，转人工")
    assert reply.expecting == "blood_pressure" and "护士" in reply.say
    assert engine.outcome()["needs_callback"] is True


def test_a_clear_answer_after_the_reask_is_stored() -> None:
    engine = _engine("medication_adherence")
    engine.handle("嗯……那个……")
    engine.handle("都按时吃了")
    outcome = engine.outcome()
    assert outcome["medication_adherence"] == "full" and "unclear_fields" not in outcome


@pytest.mark.parametrize("text", ["不舒服倒是有点，也说不清是哪儿", "你问我爸啊？他出去了，我不清楚他有没有不舒服",
                                  "I feel a bit off but I can't say what"])
def test_a_complaint_not_named_or_not_known_is_never_nothing(text: str) -> None:
    assert value("symptoms", text, "en" if text.isascii() else "zh") is None


def test_repeat_words_inside_an_answer_are_not_a_request_to_repeat() -> None:
    engine = _engine("symptoms")
    engine.handle("我真是不想活了，天天这样有啥意思")
    assert "suicidal_ideation" in engine.outcome()["symptoms"]
    engine = _engine("overall_condition")
    reply = engine.handle("你再说一遍，什么好了差了？")
    assert reply.expecting == "overall_condition" and "overall_condition" not in engine.outcome()
    engine = _engine("overall_condition")
    engine.handle("啊？你说啥？……哦，好多了好多了")
    assert engine.outcome()["overall_condition"] == "better"


@pytest.mark.parametrize(("heard", "meant"), [("凶猛得厉害", "胸闷得厉害"), ("一岛素忘打了", "胰岛素忘打了"), ("学堂二点九", "血糖二点九")])
def test_speech_recognition_homophones_of_medical_words(heard: str, meant: str) -> None:
    assert normalize(heard) == meant


def test_a_reading_said_in_passing_is_flagged() -> None:
    engine = _engine("symptoms")
    engine.handle("头疼，后脑勺一跳一跳地疼，刚量了血压一百九十二、一百一十五")
    outcome = engine.outcome()
    assert outcome["blood_pressure"] == {"systolic": 192, "diastolic": 115}
    assert "red" in {f["level"] for f in outcome["flags"]}


@pytest.mark.parametrize(("spoken", "digits"), [("就三五分钟", "就5分钟"), ("两三天", "3天"), ("五六年的", "56年的")])
def test_a_spoken_range_is_its_larger_figure_not_a_number(spoken: str, digits: str) -> None:
    assert to_digits(spoken) == digits


@pytest.mark.parametrize(("field", "text", "lang", "expected"), [
    ("blood_pressure", "One-forty over eighty-five.", "en", {"systolic": 140, "diastolic": 85}),
    ("blood_pressure", "头一回量的一百四五，我不放心又量了一回，一百三十八，八十五", "zh", {"systolic": 138, "diastolic": 85}),
    ("pain_score", "刚开始那几天有八九分，现在好多了，也就两分", "zh", 2),
    ("pain_score", "十分里头……怎么着也得有八分，晚上疼得睡不着", "zh", 8),
    ("satisfaction", "Ten out of ten! Brilliant, all of them.", "en", 5),
    ("satisfaction", "不满意……哎不对不对，我是说满意，刚才没听清你问的", "zh", 4),
    ("overall_condition", "Rubbish. Same as when I left, not improving at all.", "en", "same"),
    ("revisit_aware", "要复诊啊？没人跟我说过啊", "zh", "no"),
    ("reexam_done", "血是抽了，CT排到下个月了", "zh", "no"),
])
def test_second_author_phrasings(field: str, text: str, lang: str, expected: object) -> None:
    assert value(field, text, lang) == expected


def test_a_rough_fever_keeps_what_the_patient_at_least_has() -> None:
    assert value("temperature", "三十九度多", "zh") == 39.0      # a red line is never lost to "多"
    assert value("temperature", "三十六度多点", "zh") is None    # not a fever: asked again


def test_a_request_to_repeat_is_never_stored_as_no() -> None:
    engine = _engine("symptoms", lang="en")
    reply = engine.handle("Sorry, what was that? I didn't catch it.")
    assert reply.expecting == "symptoms" and "symptoms" not in engine.outcome()
