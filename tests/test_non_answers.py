"""Non-answers (language/data/non_answers.yaml) never let a generic yes or no settle a field, and the
reading fixes found on the dev split: the most recent of two blood pressures, a self-repair of a pain
score, digit-by-digit readings, movement held back by pain, a single night-time trip to the toilet."""

from __future__ import annotations

import pytest

from dialogs.understanding import normalize, parse_field, parse_yes_no
from language.non_answer import NonAnswerTableError, non_answer_kind, rows
from language.symptoms import parse_symptoms
from tests.conftest import step_engine

MEDS = [{"name": "酒石酸美托洛尔片", "generic_name": "美托洛尔", "drug_class": "antihypertensive"}]
MEDS_EN = [{"name": "Atorvastatin 40 mg", "generic_name": "atorvastatin", "drug_class": "statin"},
           {"name": "Aspirin 81 mg", "generic_name": "aspirin", "drug_class": "antiplatelet"}]


def value(field: str, text: str, lang: str, **context):  # noqa: ANN003, ANN201
    return parse_field(field, normalize(text), lang, context).value


@pytest.mark.parametrize("row", rows(), ids=lambda r: f"{r.kind}-{r.lang}-{r.example[:12]}")
def test_every_row_matches_its_example(row) -> None:  # noqa: ANN001
    assert row.pattern.search(row.example), row.example
    assert non_answer_kind(row.example) is not None


def test_a_row_without_an_example_is_refused(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import language.non_answer as module

    bad = tmp_path / "non_answers.yaml"
    bad.write_text("defer:\n  zh:\n  - {pattern: 'x'}\n", encoding="utf-8")
    monkeypatch.setattr(module, "TABLE_PATH", bad)
    module.rows.cache_clear()
    try:
        with pytest.raises(NonAnswerTableError):
            module.rows()
    finally:
        module.rows.cache_clear()


@pytest.mark.parametrize(("field", "text", "lang", "meds"), [
    ("medication_adherence", "你再说一下药名，我拿药盒对一下", "zh", MEDS),          # 对 is no yes
    ("medication_adherence", "我要跟护士说，我这个药吃得有点乱", "zh", MEDS),        # 有 is no yes
    ("medication_adherence", "Hang on, let me get the box, yes, where is it", "en", MEDS_EN),
    ("medication_adherence", "My son sorts all that, he'd know.", "en", MEDS_EN),
    ("symptoms", "不说了，我忙着呢", "zh", []),                                      # 不 is no denial
    ("symptoms", "I'm busy, not now.", "en", []),
    ("wound", "不知道，看不清", "zh", []),                                            # no "ok"
    ("revisit_aware", "这个我不清楚，你跟我儿子说吧", "zh", []),                       # deferred, not "no"
    ("revisit_booked", "等我女儿回来再说", "zh", []),
    ("reexam_done", "No idea, ask my daughter.", "en", []),
])
def test_a_non_answer_leaves_the_field_unsettled(field: str, text: str, lang: str, meds: list) -> None:
    assert value(field, text, lang, medications=meds) is None


@pytest.mark.parametrize(("field", "text", "lang", "expected"), [
    ("revisit_aware", "下周三，具体几点你问我女儿", "zh", "yes"),                       # specific content counts
    ("revisit_aware", "不知道什么时候复诊", "zh", "no"),                               # not knowing = not aware
    ("reexam_done", "超声做了，抽血的时候没空腹，让改天再来", "zh", "no"),             # 没空腹 is not 没空
    ("medication_adherence", "都按时吃了，等一下我看看还有几片", "zh", {"adherence": "full", "missed": []}),
])
def test_specific_content_still_settles_the_field(field: str, text: str, lang: str, expected: object) -> None:
    assert value(field, text, lang, medications=MEDS) == expected


def test_not_knowing_followed_by_a_comma_is_uncertain_not_no() -> None:
    assert parse_yes_no("不知道，看不清", "zh").value == "uncertain"
    assert parse_yes_no("知道，下周去", "zh").value == "yes"


def test_a_non_answer_in_a_call_is_asked_again_and_then_goes_to_a_nurse() -> None:
    engine = step_engine(("symptoms",), "zh")
    reply = engine.handle("不说了，我忙着呢")
    assert reply.expecting == "symptoms"
    engine.handle("忙着呢")
    outcome = engine.outcome()
    assert "symptoms" not in outcome and outcome["needs_callback"] is True
    assert outcome["unclear_fields"] == ["symptoms"]


def test_a_drug_packed_in_is_missed() -> None:
    got = value("medication_adherence", "The statin gave me terrible cramps so I packed it in. Everything else, yes.",
                "en", medications=MEDS_EN)
    assert got == {"adherence": "partial", "missed": ["Atorvastatin 40 mg"]}


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("This morning a hundred and twenty over seventy. Last night it was higher, one fifty over ninety.", "en", (120, 70)),
    ("150 over 90 last night, and 120 over 70 this morning", "en", (120, 70)),
    ("Monday it was one sixty-eight over ninety-four, but this morning it was better, one thirty-eight over eighty-four.",
     "en", (138, 84)),
    ("早上一百二十七十，昨天晚上高一点，一百五九十", "zh", (120, 70)),
    ("昨天一百五九十，今天一百二七十", "zh", (120, 70)),
    ("150 over 95, and this morning 168 over 104", "en", (168, 104)),       # of equals, the latest said
    ("One four two, eight six.", "en", (142, 86)),                         # digit by digit, full stop after
])
def test_of_two_blood_pressures_the_most_recent_counts(text: str, lang: str, expected: tuple) -> None:
    got = value("blood_pressure", text, lang)
    assert (got["systolic"], got["diastolic"]) == expected


def test_a_pain_score_repaired_with_no_counts_after_the_repair() -> None:
    assert value("pain_score", "Seven. No, a five. It's better than this morning.", "en") == 5
    assert value("pain_score", "Seven, maybe eight.", "en") in (7, 8)


@pytest.mark.parametrize(("text", "lang", "present"), [
    ("胳膊疼得抬不起来", "zh", ["pain"]),
    ("肩膀疼得胳膊都抬不起来", "zh", ["pain"]),
    ("左边胳膊抬不起来", "zh", ["limb_weakness"]),
    ("My shoulder's been really painful, I can't lift my arm for the pain.", "en", ["pain"]),
    ("I can't lift my left arm, it just went dead.", "en", ["limb_weakness"]),
    ("胸痛胸闷", "zh", ["chest_pain", "chest_tightness"]),
    ("I got up to go to the loo in the night and ended up on the floor.", "en", ["syncope"]),
    ("I'm up to the loo five times a night", "en", ["urinary_problem"]),
])
def test_what_a_movement_or_a_trip_to_the_toilet_is(text: str, lang: str, present: list) -> None:
    assert sorted(parse_symptoms(text, lang).value["present"]) == sorted(present)


# ----- numbers that are no readings; mentions read with their sentence (found on the train split) -----------

@pytest.mark.parametrize(("text", "digits"), [
    ("也没低血糖，二甲双胍吃着", "也没低血糖，二甲双胍吃着"),          # a drug name is no 2
    ("十分难受", "十分难受"),                                          # 十分 = very
    ("疼得有十分", "疼得有10分"),
    ("手机尾号三七二八", "手机尾号3728"),
    ("Top number's one thirty-four, bottom one seventy-nine", "Top number's 134, bottom one 79"),
    ("the other one ninety", "the other one 90"),
    ("one sixty over a hundred", "160 over 100"),
])
def test_numerals_inside_words_and_one_as_a_pronoun(text: str, digits: str) -> None:
    from language.numbers import to_digits

    assert to_digits(text) == digits


def test_a_drug_name_with_a_numeral_gives_no_glucose_reading() -> None:
    from dialogs.understanding import readings_in_passing

    assert readings_in_passing("我吃二甲双胍好多年了，也没低血糖，都挺好", "zh") == {}


@pytest.mark.parametrize(("field", "text", "expected"), [
    ("blood_glucose", "Fasting sugar was one twenty-six this morning, and two hours after breakfast it was one eighty. "
                      "I had two idlis and sambar, not much.", 10.0),            # 2 idlis is a count
    ("blood_glucose", "It was seventeen point three last night, at her seventieth.", 17.3),   # an ordinal
    ("blood_glucose", "Six point eight millimoles this morning.", 6.8),
    ("blood_glucose", "Three hundred and ten milligrams.", 17.2),
    ("heart_rate", "seventy two beats a minute", 72),
])
def test_counts_and_ordinals_are_no_readings(field: str, text: str, expected: float) -> None:
    assert value(field, text, "en") == expected


def test_an_exact_diastolic_past_the_red_line_is_kept_beside_a_rough_systolic() -> None:
    engine = step_engine(("blood_pressure",), "zh")
    engine.handle("低压一百一十，高压一百六十多，具体多少没看清")
    outcome = engine.outcome()
    assert outcome["blood_pressure"]["diastolic"] == 110
    assert "red" in {f["level"] for f in outcome["flags"]}


@pytest.mark.parametrize(("text", "lang", "present"), [
    ("刷牙出血，吐出来一口一口都是血水", "zh", ["bleeding"]),              # spitting after brushing
    ("今天早上恶心，吐了一回", "zh", ["nausea_vomiting"]),
    ("刷牙的时候恶心想吐", "zh", ["nausea_vomiting"]),                       # nausea stays nausea
    ("My gums bleed a little when I brush, the spit's pink.", "en", ["bleeding"]),
    ("I keep coughing up pink spit.", "en", ["hemoptysis"]),
    ("出冷汗，手抖得拿不住杯子", "zh", ["hypoglycemia_symptoms"]),           # tremor, not a weak limb
    ("左手拿不住杯子", "zh", ["limb_weakness"]),
])
def test_mentions_read_with_their_sentence(text: str, lang: str, present: list) -> None:
    assert sorted(parse_symptoms(text, lang).value["present"]) == sorted(present)


def test_a_lexicon_row_written_as_a_mapping_needs_unless_sentence(tmp_path) -> None:  # noqa: ANN001
    from language.lexicon import LEXICON_PATH, LexiconError, load_lexicon

    text = LEXICON_PATH.read_text(encoding="utf-8").replace("  - '反胃'\n", "  - {pattern: '反胃'}\n", 1)
    bad = tmp_path / "symptoms.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(LexiconError):
        load_lexicon(bad)


# ----- a reading question answered "no" (the persona's default in a scenario, a patient who never measured) --

@pytest.mark.parametrize(("field", "text", "lang"), [
    ("temperature", "No, that's all, dear.", "en"),
    ("temperature", "没有了，谢谢你们啊", "zh"),
    ("blood_pressure", "No, nothing.", "en"),
    ("heart_rate", "没有", "zh"),
])
def test_a_reading_question_answered_no_stores_nothing_and_calls_no_nurse(field: str, text: str, lang: str) -> None:
    engine = step_engine((field, "satisfaction"), lang)
    reply = engine.handle(text)
    assert reply.expecting == "satisfaction"                 # moved on, not asked again
    outcome = engine.outcome()
    assert field not in outcome and not outcome.get("unclear_fields") and outcome["needs_callback"] is False


@pytest.mark.parametrize(("text", "lang"), [("记不清了", "zh"), ("I'm not sure, maybe.", "en")])
def test_a_reading_the_patient_cannot_give_is_asked_again(text: str, lang: str) -> None:
    engine = step_engine(("blood_pressure", "satisfaction"), lang)
    assert engine.handle(text).expecting == "blood_pressure"


def test_no_to_the_pain_question_is_no_pain() -> None:
    engine = step_engine(("pain_score",), "en")
    engine.handle("No, nothing.")
    assert engine.outcome()["pain_score"] == 0


def test_the_day_seven_one_missed_is_a_re_exam_not_done() -> None:
    text = "I had the day three one. The day seven one I missed, with Galway and all, I'm going in tomorrow."
    assert value("reexam_done", text, "en") == "no"
    assert value("reexam_done", "第一次查了，第二次错过了", "zh") == "no"
    assert value("reexam_done", "Yes, I had both of them done.", "en") == "yes"


@pytest.mark.parametrize(("text", "lang", "present"), [
    ("咳嗽，晚上咳得睡不着", "zh", ["cough"]),                       # sleep lost to the cough is the cough
    ("dry cough that keeps me up at night", "en", ["cough"]),
    ("睡不着觉，一晚上就睡两三个钟头", "zh", ["insomnia"]),
    ("胸口疼得睡不着", "zh", ["chest_pain", "insomnia"]),             # never at the cost of the chest pain
])
def test_sleep_lost_to_a_cough_is_the_cough(text: str, lang: str, present: list) -> None:
    assert sorted(parse_symptoms(text, lang).value["present"]) == sorted(present)


def test_a_bare_pain_in_a_self_repair_after_a_denied_chest_pain_is_the_chest_pain() -> None:
    text = "No chest pain. Hang on, actually, there was a twinge last night, sitting in bed, it lasted ages, maybe twenty minutes."
    value = parse_symptoms(text, "en").value
    assert value["present"] == ["chest_pain"]
    assert value["cues"]["chest_pain"]["at_rest"] is True          # the repair's cues go with it
    engine = step_engine(("symptoms",), "en")
    engine.handle(text)
    assert "red" in {f["level"] for f in engine.outcome()["flags"]}


@pytest.mark.parametrize(("text", "lang"), [("No chest pain. My knee hurts though.", "en"), ("没有胸痛，膝盖有点疼", "zh")])
def test_another_pain_after_a_denial_without_a_repair_stays_its_own(text: str, lang: str) -> None:
    assert parse_symptoms(text, lang).value["present"] == ["pain"]


@pytest.mark.parametrize("text", ["I don't know, I'm not sure really.", "Something's not right, I can't say what."])
def test_not_knowing_or_an_unnamed_complaint_is_asked_again(text: str) -> None:
    assert value("symptoms", text, "en") is None


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("It was up at seventeen point three last night. It was down to about twelve this morning I think, "
     "but I didn't write that one down.", "en", 17.3),                      # a hedged later figure keeps the red one
    ("昨天晚上十八点五，今天早上大概十二左右吧", "zh", 18.5),
    ("It was 7.5 yesterday and about 6 today", "en", 6.0),                 # no red line: the latest counts
])
def test_a_hedged_later_glucose_does_not_replace_an_exact_red_one(text: str, lang: str, expected: float) -> None:
    assert value("blood_glucose", text, lang) == expected


@pytest.mark.parametrize(("field", "text", "lang", "expected"), [
    ("heart_rate", "我给他摸的，半分钟三十五下，那一分钟就是七十。", "zh", 70),     # the patient did the sum
    ("heart_rate", "I counted fifteen in fifteen seconds, so that'd be sixty, wouldn't it?", "en", 60),
    ("heart_rate", "半分钟三十五下", "zh", 70),
    ("blood_glucose", "九点几，九点六，比住院的时候好多了，那时候都十几。", "zh", 9.6),   # rough gives way to exact
    ("blood_glucose", "二十一点几，二十一点三吧，测了两回都是二十多", "zh", 21.3),
    ("blood_glucose", "十几", "zh", None),                                        # rough across a red line: ask again
    ("blood_glucose", "血糖二十多", "zh", 20.0),                                   # a red floor keeps its flag
    ("pain_score", "七分，比昨天厉害了。昨天还就四五分，今天早上起来就不对了。", "zh", 7),
])
def test_worked_out_rough_and_earlier_readings(field: str, text: str, lang: str, expected: object) -> None:
    assert value(field, text, lang) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("我看我爸精神头比住院时候足多了", "better"),     # a comparison between 精神头 and 足
    ("精神好多了", "better"),
    ("精神不太好", "worse"),
])
def test_spirits_compared_with_the_stay(text: str, expected: str) -> None:
    assert value("overall_condition", text, "zh") == expected
