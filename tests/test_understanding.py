"""The rule parsers: numbers, readings, yes/no, identity, symptoms with negation and cues, adherence."""

from __future__ import annotations

import pytest

from language.numbers import chinese_to_digits, english_to_digits
from dialogs.understanding import (
    normalize, parse_correction, parse_field, parse_identity, parse_is_question, parse_refusal,
    parse_repeat_request, parse_symptoms, parse_yes_no,
)

PCI_MEDS = [
    {"name": "阿司匹林肠溶片", "generic_name": "阿司匹林", "drug_class": "antiplatelet"},
    {"name": "替格瑞洛片", "generic_name": "替格瑞洛", "drug_class": "antiplatelet"},
    {"name": "阿托伐他汀钙片", "generic_name": "阿托伐他汀", "drug_class": "statin"},
]
HTN_MEDS = [
    {"name": "苯磺酸氨氯地平片", "generic_name": "氨氯地平", "drug_class": "antihypertensive"},
    {"name": "缬沙坦胶囊", "generic_name": "缬沙坦", "drug_class": "antihypertensive"},
    {"name": "二甲双胍片", "generic_name": "二甲双胍", "drug_class": "antidiabetic"},
]
HF_MEDS = [
    {"name": "Furosemide", "generic_name": "furosemide", "drug_class": "diuretic"},
    {"name": "Metoprolol succinate ER", "generic_name": "metoprolol", "drug_class": "antihypertensive"},
    {"name": "Spironolactone", "generic_name": "spironolactone", "drug_class": "diuretic"},
]


def field(name: str, text: str, lang: str = "zh", medications: list | None = None):
    return parse_field(name, normalize(text), lang, {"medications": medications or []}).value


@pytest.mark.parametrize(("spoken", "digits"), [
    ("一百四十五", "145"), ("九点二", "9.2"), ("一百一", "110"), ("三十八度八", "38.8度"), ("六二年", "62年"),
    ("一百零五", "105"), ("两百", "200"), ("十五", "15"), ("零零一七", "0017"),
])
def test_chinese_numerals(spoken: str, digits: str) -> None:
    assert chinese_to_digits(spoken) == digits


def test_chinese_words_that_are_not_numbers_stay() -> None:
    assert chinese_to_digits("跟住院时一样") == "跟住院时一样"
    assert chinese_to_digits("好一点了") == "好一点了"


def test_english_number_words() -> None:
    assert english_to_digits("one hundred forty five over ninety") == "145 over 90"
    assert english_to_digits("nine point two") == "9.2"


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("145/90", "zh", (145, 90)),
    ("早上量的，一百四十五，九十", "zh", (145, 90)),
    ("高压150低压95", "zh", (150, 95)),
    ("今天早上高压一百八十五，低压一百一", "zh", (185, 110)),
    ("140 over 85", "en", (140, 85)),
    ("It was one hundred thirty two over seventy eight this morning", "en", (132, 78)),
    ("早上8点量的，135，85", "zh", (135, 85)),
])
def test_blood_pressure(text: str, lang: str, expected: tuple[int, int]) -> None:
    assert field("blood_pressure", text, lang) == {"systolic": expected[0], "diastolic": expected[1]}


def test_blood_pressure_without_numbers_is_not_settled() -> None:
    assert field("blood_pressure", "我没量") is None
    assert field("blood_pressure", "I didn't check it", "en") is None


@pytest.mark.parametrize(("text", "lang", "value"), [
    ("空腹血糖九点二", "zh", 9.2), ("昨天晚上测了一次三点二", "zh", 3.2), ("It was 180 mg/dL", "en", 10.0),
    ("about 7.4", "en", 7.4), ("餐后两小时十一点五", "zh", 11.5),
])
def test_blood_glucose_in_mmol(text: str, lang: str, value: float) -> None:
    assert field("blood_glucose", text, lang) == value


@pytest.mark.parametrize(("field_name", "text", "lang", "value"), [
    ("temperature", "刚量了三十八度八", "zh", 38.8), ("temperature", "37.6", "zh", 37.6),
    ("temperature", "101 F", "en", 38.3), ("temperature", "thirty eight point five", "en", 38.5),
    ("pain_score", "大概六分吧", "zh", 6), ("pain_score", "七八分", "zh", 8), ("pain_score", "不怎么疼了", "zh", 0),
    ("pain_score", "about a 4", "en", 4), ("pain_score", "no pain at all", "en", 0),
    ("heart_rate", "七十多次", "zh", 70), ("heart_rate", "pulse was 88", "en", 88),
    ("satisfaction", "非常满意", "zh", 5), ("satisfaction", "挺满意的", "zh", 4), ("satisfaction", "一般吧", "zh", 3),
    ("satisfaction", "不满意", "zh", 2), ("satisfaction", "很不满意", "zh", 1),
    ("satisfaction", "Very satisfied.", "en", 5), ("satisfaction", "dissatisfied", "en", 2),
    ("overall_condition", "比住院的时候好多了", "zh", "better"), ("overall_condition", "还行吧，差不多", "zh", "same"),
    ("overall_condition", "不太好", "zh", "worse"), ("overall_condition", "About the same, I guess.", "en", "same"),
    ("overall_condition", "Much better, thanks", "en", "better"), ("overall_condition", "Worse, to be honest", "en", "worse"),
    ("wound", "伤口有点红", "zh", "redness"), ("wound", "没有红肿渗液，挺好的", "zh", "ok"),
    ("wound", "伤口裂开了一点", "zh", "dehiscence"), ("wound", "有点渗液", "zh", "discharge"),
    ("wound", "It looks a bit swollen", "en", "swelling"), ("wound", "Healing well, no redness", "en", "ok"),
    ("revisit_aware", "知道，下周一去心内科", "zh", "yes"), ("revisit_aware", "不知道啊", "zh", "no"),
    ("revisit_booked", "已经在手机上挂好号了", "zh", "yes"), ("revisit_booked", "还没挂", "zh", "no"),
    ("reexam_done", "Not yet, I haven't had the blood test.", "en", "no"), ("reexam_done", "做了，结果还行", "zh", "yes"),
])
def test_field_values(field_name: str, text: str, lang: str, value: object) -> None:
    assert field(field_name, text, lang) == value


def test_unrelated_words_settle_nothing() -> None:
    for name in ("overall_condition", "blood_pressure", "satisfaction", "wound", "pain_score", "temperature"):
        assert field(name, "Je ne comprends pas", "zh") is None
        assert field(name, "😀😀", "en") is None


@pytest.mark.parametrize(("text", "lang", "value"), [
    ("是的", "zh", "yes"), ("对", "zh", "yes"), ("没有", "zh", "no"), ("还没", "zh", "no"), ("不确定", "zh", "uncertain"),
    ("没问题", "zh", "yes"), ("Yes I know.", "en", "yes"), ("No, that's all.", "en", "no"), ("I'm not sure", "en", "uncertain"),
    ("Not yet", "en", "no"),
])
def test_yes_no(text: str, lang: str, value: str) -> None:
    assert parse_yes_no(text, lang).value == value


def test_adherence_partial_names_the_patients_own_drug() -> None:
    value = field("medication_adherence", "都按时吃，就是阿托伐他汀有两天忘了", medications=PCI_MEDS)
    assert value == {"adherence": "partial", "missed": ["阿托伐他汀钙片"]}


def test_adherence_by_drug_class_words() -> None:
    value = field("medication_adherence", "降压药前几天吃完了，还没去开", medications=HTN_MEDS)
    assert value["adherence"] == "partial"
    assert set(value["missed"]) == {"苯磺酸氨氯地平片", "缬沙坦胶囊"}


def test_adherence_full_and_negated_misses() -> None:
    assert field("medication_adherence", "都按时吃了，没有漏", medications=PCI_MEDS)["adherence"] == "full"
    assert field("medication_adherence", "I take all of them every day.", "en", HF_MEDS)["adherence"] == "full"
    assert field("medication_adherence", "I never miss a dose", "en", HF_MEDS)["adherence"] == "full"


def test_adherence_english_ran_out() -> None:
    value = field("medication_adherence", "I ran out of the spironolactone two days ago.", "en", HF_MEDS)
    assert value == {"adherence": "partial", "missed": ["Spironolactone"]}


def test_adherence_water_pill_is_the_diuretic() -> None:
    # with a loop diuretic ordered, "the water pill" is that one, not spironolactone beside it (round 8: the
    # labels tr7-zh-0084 and tr9-en-0012 say so)
    value = field("medication_adherence", "I skipped the water pill on Sunday", "en", HF_MEDS)
    assert set(value["missed"]) == {"Furosemide"}


def test_adherence_none() -> None:
    value = field("medication_adherence", "药都没吃", medications=PCI_MEDS)
    assert value["adherence"] == "none" and len(value["missed"]) == 3


def symptoms(text: str, lang: str = "zh") -> dict:
    return parse_symptoms(normalize(text), lang).value or {"present": [], "absent": [], "cues": {}}


@pytest.mark.parametrize(("text", "lang", "present", "absent"), [
    ("没有胸痛", "zh", [], ["chest_pain"]),
    ("没有胸痛，就是有点头晕", "zh", ["dizziness"], ["chest_pain"]),
    ("头有点痛，还有点晕", "zh", ["headache", "dizziness"], []),
    ("昨天晚上开始发烧，肚子右边也疼", "zh", ["fever", "abdominal_pain"], []),
    ("心慌出汗手抖", "zh", ["hypoglycemia_symptoms"], []),
    ("昨天晕倒了一次", "zh", ["syncope"], []),
    ("大便是黑的", "zh", ["melena"], []),
    ("胸痛胸闷都没有", "zh", [], ["chest_pain", "chest_tightness"]),
    ("喘不上气", "zh", ["dyspnea"], []),
    ("no chest pain", "en", [], ["chest_pain"]),
    ("No chest pain, shortness of breath or dizziness.", "en", [], ["chest_pain", "dyspnea", "dizziness"]),
    ("I don't have any chest pain but I feel dizzy", "en", ["dizziness"], ["chest_pain"]),
    ("My ankles are more swollen and I've put on about 2.5 kilos since Sunday.", "en", ["edema", "weight_gain"], []),
    ("I passed out yesterday", "en", ["syncope"], []),
])
def test_symptoms_with_negation(text: str, lang: str, present: list[str], absent: list[str]) -> None:
    found = symptoms(text, lang)
    assert set(found["present"]) == set(present)
    assert set(found["absent"]) == set(absent)


def test_symptom_cues() -> None:
    assert symptoms("今天早上胸口疼了半个多小时")["cues"]["chest_pain"]["duration_min"] == 30
    cue = symptoms("这两天爬楼梯有点胸闷，歇一下就好了")["cues"]["chest_tightness"]
    assert cue.get("exertional") and cue.get("relieved") and not cue.get("at_rest")
    assert symptoms("I get short of breath even sitting in my chair", "en")["cues"]["dyspnea"]["at_rest"]
    assert symptoms("my speech was suddenly slurred", "en")["cues"]["slurred_speech"]["sudden"]
    assert symptoms("发烧，烧到三十九度二")["cues"]["fever"]["temperature"] == 39.2


def test_no_new_symptoms_is_an_empty_list_not_unknown() -> None:
    assert field("symptoms", "没有不舒服") == {"present": [], "absent": [], "cues": {}}
    assert field("symptoms", "No, nothing new.", "en") == {"present": [], "absent": [], "cues": {}}
    assert field("symptoms", "嗯嗯") is None


def test_identity() -> None:
    def ident(text: str, lang: str = "zh", **kw):
        args = {"name": "王建国", "birth_year": 1962, "id_last4": "0017", "phone_last4": "0001"} | kw
        return parse_identity(normalize(text), lang, **args).value

    assert ident("对，我是王建国，62年的")["verified"]
    assert ident("是我，身份证后四位是零零一七")["verified"]
    assert not ident("是我")["verified"]
    assert not ident("是我，1965年的")["verified"]
    assert ident("你打错了，这里没有叫王建国的")["wrong_person"]
    family = ident("我是他儿子，我爸是六二年的")
    assert family["verified"] and family["respondent"] == "family"
    en = {"name": "Robert Miller", "birth_year": 1948, "id_last4": None, "phone_last4": "0004"}
    assert ident("Yes, this is Robert, born in 1948.", "en", **en)["verified"]
    assert ident("Sorry, there's no Robert here. You have the wrong number.", "en", **en)["wrong_person"]


def test_call_control_phrases() -> None:
    assert parse_refusal("我不需要回访，别再打了", "zh")
    assert parse_refusal("Please stop calling me.", "en")
    assert not parse_refusal("不用了，没有问题", "zh")
    assert parse_repeat_request("什么？你再说一遍", "zh")
    assert parse_repeat_request("Sorry?", "en")
    assert not parse_repeat_request("都按时吃了", "zh")
    assert parse_correction("不对，是一百五", "zh")
    assert parse_correction("No, I mean 150 over 85", "en")
    assert not parse_correction("没有", "zh")
    assert parse_is_question("阿司匹林要吃多久啊？", "zh")
    assert parse_is_question("Should I take the water pill in the morning or at night?", "en")
    assert not parse_is_question("What? Can you repeat that?", "en")
    assert not parse_is_question("都按时吃，就是阿托伐他汀有两天忘了", "zh")
