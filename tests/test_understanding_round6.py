"""Round 6 of understanding (issue #12): mechanisms found on scenario set 5 and train7 answers.
Each test fails without the mechanism it names."""

from __future__ import annotations

from dialogs.understanding import normalize, parse_field
from language.adherence import blames_drug
from language.context import assess
from language.symptoms import parse_symptoms

T2DM = [{"name": "盐酸二甲双胍片", "generic_name": "二甲双胍", "drug_class": "antidiabetic"},
        {"name": "达格列净片", "generic_name": "达格列净", "drug_class": "antidiabetic"}]
INSULIN_EN = [{"name": "Insulin glargine", "generic_name": "insulin glargine", "drug_class": "insulin"},
              {"name": "Metformin", "generic_name": "metformin", "drug_class": "antidiabetic"}]


def present(text: str, lang: str = "zh", respondent: str | None = None) -> list[str] | None:
    value = parse_symptoms(normalize(text), lang, respondent=respondent).value
    return None if value is None else sorted(value["present"])


def test_cantonese_mou_after_the_symptom_denies_it() -> None:
    assert present("冇啊，冇黑便，冇呕血，肚子都冇痛，头晕也冇") == []


def test_speaker_own_complaint_is_not_the_patients_only_when_family_answers() -> None:
    text = "He's fine. I'm the one with the cough, I caught something from the grandkids."
    assert present(text, "en", respondent="family") == []
    # the patient saying it of themselves keeps the cough
    assert present("I'm the one with the cough in this house.", "en") == ["cough"]


def test_phlegm_spat_out_with_blood_is_hemoptysis_not_vomiting() -> None:
    assert present("咳嗽比以前好多了，就是早上吐的痰里带点血丝") == ["hemoptysis"]


def test_bruise_going_yellow_and_fading_is_no_jaundice_and_no_bruising() -> None:
    assert present("There's a bit of bruising down the thigh but it's going yellow, fading.", "en") == []
    assert present("His eyes have gone yellow since Sunday.", "en") == ["jaundice"]


def test_burning_when_passing_urine_said_with_niao_de_shihou() -> None:
    assert present("就是尿的时候有点烧，火辣辣的，晚上起夜三四回") == ["urinary_problem"]


def test_low_mood_in_everyday_words() -> None:
    assert "low_mood" in present("就是心里头老是闷得慌，啥也不想干，话也不想说")


def test_when_it_aches_is_the_circumstance_of_a_drug_not_a_complaint() -> None:
    assert not any(m.present for m in assess("He only takes the Tylenol when it aches.", "en"))


def test_yi_chi_jiu_blames_the_drug_and_gives_a_side_effect_from_the_adherence_answer() -> None:
    text = "那个二甲双胍我停了三天了，一吃就拉肚子，一天跑好几趟厕所。达格列净还在吃"
    assert blames_drug(text)
    assert parse_field("side_effects", normalize(text), "zh", {"medications": T2DM}).value["present"] == ["diarrhea"]


def test_doing_all_the_shots_like_they_showed_me_is_full_adherence() -> None:
    value = parse_field("medication_adherence", "I'm doing all the shots and the pills like they showed me.", "en",
                        {"medications": INSULIN_EN}).value
    assert value == {"adherence": "full", "missed": []}


def test_sichuan_manyi_de_hen_is_very_satisfied() -> None:
    assert parse_field("satisfaction", "满意得很，你们那些护士妹儿好得很", "zh").value == 5


def test_stool_compared_with_soy_sauce_is_melena_not_vomited_blood() -> None:
    assert present("大便颜色跟酱油似的，黑得发亮") == ["melena"]


def test_a_weight_hanging_on_the_chest_at_rest_is_chest_tightness() -> None:
    assert present("心口那块像有个秤砣坠着，坐那儿不动都那样，有半个钟头") == ["chest_tightness"]
    assert present("There's a heavy feeling in the middle of my chest, like a weight.", "en") == ["chest_tightness"]


def test_cantonese_yi_with_a_word_between() -> None:
    assert present("心口有点翳，成日都系咁") == ["chest_tightness"]


def test_breath_will_not_come_lying_flat() -> None:
    assert present("夜里睡觉得靠着被垛半坐着，躺平了气就上不来") == ["dyspnea"]


def test_wish_not_to_wake_up_said_as_if() -> None:
    assert present("Sometimes I think everyone would manage fine if I just didn't wake up one morning.", "en") == ["suicidal_ideation"]


def test_cup_slipped_out_of_her_right_hand() -> None:
    assert "limb_weakness" in present("Her coffee cup slipped out of her right hand.", "en")


def test_up_at_night_to_pee_and_it_stings() -> None:
    assert present("I keep having to get up four or five times a night to pee, and it stings.", "en") == ["urinary_problem"]


def test_echoed_question_then_denied_is_nothing_new() -> None:
    assert parse_field("symptoms", normalize("你说啥？大点声……哦，不舒服啊，没有没有，都好着呢"), "zh").value["present"] == []
    # a complaint said as such stays unclear (asked again)
    assert parse_field("symptoms", normalize("有点不舒服"), "zh").value is None


def test_no_hope_in_life_is_low_mood() -> None:
    assert present("这日子过得没盼头，有时候真想从楼上跳下去") == ["low_mood", "suicidal_ideation"]


def test_mouth_pulled_to_one_side_with_words_between() -> None:
    assert present("嘴有点往右边歪") == ["facial_droop"]


def test_better_off_if_i_was_not_around() -> None:
    assert present("I keep thinking they'd all be better off if I wasn't around anymore.", "en") == ["suicidal_ideation"]


def test_blood_taken_results_not_back_is_reexam_done() -> None:
    assert parse_field("reexam_done", "血已经抽过了，结果还没出来", "zh").value == "yes"


def test_fall_told_as_a_story_zai_nar_and_coming_round() -> None:
    assert present("上厕所蹲下去再起来，人就栽那儿了，过了一会儿才醒") == ["syncope"]


def test_confusion_in_everyday_words() -> None:
    assert present("老头子今天一直犯迷糊，叫他半天才有反应") == ["confusion"]
    assert present("我爸这两天说话颠三倒四的") == ["confusion"]


def test_speech_mumbled_as_if_something_in_the_mouth() -> None:
    assert present("她讲话含含糊糊的，像嘴里含了东西") == ["slurred_speech"]


def test_half_the_face_numb_is_the_face_not_a_limb() -> None:
    assert present("吃饭的时候饭从嘴角漏出来，半边脸木木的") == ["facial_droop"]


def test_blood_pouring_for_an_hour_is_heavy_bleeding() -> None:
    value = parse_symptoms(normalize("切菜划了个口子，血哗哗地流，按了一个多钟头才止住"), "zh").value
    assert value["present"] == ["bleeding"]


def test_passive_and_active_wishes_to_die() -> None:
    assert present("活够了，不想再遭这个罪了") == ["suicidal_ideation"]
    assert present("想着把攒的安眠药一把吃了算了") == ["suicidal_ideation"]


def test_breathless_with_blue_lips_is_red() -> None:
    from dialogs.flags import symptom_level
    value = parse_symptoms(normalize("气喘不上来，嘴唇都发紫了"), "zh").value
    assert value["present"] == ["dyspnea"] and value["cues"]["dyspnea"].get("cyanosis")
    assert symptom_level("dyspnea", value["cues"]["dyspnea"])[0] == "red"


def test_pain_scale_said_as_shi_fen_neng_you() -> None:
    assert parse_field("pain_score", "疼得要命，十分能有个八九分", "zh").value == 9


def test_a_little_weary_is_fatigue_and_clear_speech_is_nothing_new() -> None:
    assert present("没有晕倒过，也没有黑便，就是有点乏") == ["fatigue"]
    assert present("说话挺清楚的，手脚也有劲") == []


def test_sick_with_blood_in_it_is_hematemesis() -> None:
    assert "hematemesis" in present("I was sick last night and there was dark red blood in it.", "en")


def test_rows_read_across_commas_of_one_sentence() -> None:
    # the vomit in one clause, the blood in the next
    assert "hematemesis" in present("恶心，一直想吐，刚刚吐了一口，里头有红的，不是吃的东西的颜色。")
    assert present("吐了两回，里面没有血") == ["nausea_vomiting"]
    assert present("问他今天礼拜几，他说是礼拜天，其实今天礼拜三。") == ["confusion"]
    # the blood read across the comma; the cough, no better and in a clause of its own, is a finding too (round 7)
    assert present("Well, my cough's no better, and this morning there was blood in it.", "en") == ["cough", "hemoptysis"]


def test_across_rows_must_read_across_a_comma(tmp_path) -> None:
    import pytest
    from language.lexicon import LEXICON_PATH, LexiconError, load_lexicon
    text = LEXICON_PATH.read_text(encoding="utf-8").replace("  zh_across:\n", "  zh_across:\n  - '吐了里头有血'\n", 1)
    bad = tmp_path / "symptoms.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(LexiconError):
        load_lexicon(bad)


def test_words_of_despair_denied_are_not_a_wish() -> None:
    assert present("不过倒也没说啥想不开的话") == []
    assert present("他老说些想不开的话") == ["suicidal_ideation"]


def test_bloating_denied_inside_the_mention() -> None:
    assert present("肚子不胀，也没低血糖，都挺好") == []


def test_a_sign_from_the_admission_said_after_it() -> None:
    assert present("He had the slurred speech when he was admitted, but he's talking normally now.", "en") == []


def test_nose_bled_for_an_hour() -> None:
    assert present("My nose bled for over an hour on Sunday.", "en") == ["bleeding"]


def test_which_pill_is_which_is_no_confusion() -> None:
    assert present("药太多了，我也搞不清哪个是哪个") is None


def test_the_pain_scale_named_is_no_score() -> None:
    assert parse_field("pain_score", "什么零分十分的，我搞不懂，反正就是疼", "zh").value is None


def test_cantonese_sitting_and_a_whole_hour() -> None:
    value = parse_symptoms(normalize("我个心口好翳啊，今朝坐喺度饮紧茶都翳住，翳咗成个钟先松啲。"), "zh").value
    assert value["cues"]["chest_tightness"].get("at_rest") and value["cues"]["chest_tightness"].get("persistent")


def test_stomach_not_uncomfortable_is_denied() -> None:
    assert present("没有，胃也不难受，也没出血，身上也不起疹子，挺好的") == []


def test_regional_nothing_uncomfortable() -> None:
    assert present("莫得啥子不舒服的") == []
    assert present("冇得么子不舒服") == []


def test_colloquial_bowel_bladder_and_bruise_words() -> None:
    assert present("吃那个利尿的以后晚上老起夜上厕所，一晚上三四趟") == ["urinary_problem"]
    assert present("The water tablet has me up and down to the toilet all night long.", "en") == ["urinary_problem"]
    assert present("The metformin goes right through me.", "en") == ["diarrhea"]
    assert "constipation" in present("The codeine's blocked me up, not been in four days.", "en")
    assert present("牙龈出血，身上还有几块青的") == ["bleeding", "bruising"]
    assert present("Since the warfarin my pee's had a pinkish tinge.", "en") == ["bleeding"]
    assert present("我闺女说我眼珠子发黄，尿也跟浓茶一个色。") == ["jaundice"]
    assert present("我在吃那个华法林嘛，前两天腿上碰了一下，青了好大一块") == ["bruising"]


def test_someone_elses_complaint_against_the_speakers_own_state_is_nothing() -> None:
    assert present("我老伴吃那个降压药脚肿，我吃了倒没有") == []
    assert present("My husband gets swollen ankles on amlodipine, but I don't.", "en") == []
    assert present("我老伴脚肿") == ["edema"]   # no contrast: the caller may be speaking for the patient


def test_taking_a_drug_on_and_off_is_a_miss() -> None:
    meds = [{"name": "盐酸二甲双胍片", "generic_name": "二甲双胍", "drug_class": "antidiabetic"},
            {"name": "阿卡波糖片", "generic_name": "阿卡波糖", "drug_class": "antidiabetic"}]
    value = parse_field("medication_adherence", "二甲双胍吃了老拉肚子，我吃几天停几天，阿卡波糖也在吃", "zh", {"medications": meds}).value
    assert value == {"adherence": "partial", "missed": ["盐酸二甲双胍片"]}


def test_coming_round_from_a_hypo_is_no_faint() -> None:
    assert "syncope" not in present("突然心头慌得很，手抖，出了一身冷汗，赶紧吃了两块饼干，过了一会儿才缓过来")


def test_neither_better_nor_worse_in_cantonese_is_same() -> None:
    assert parse_field("overall_condition", "跟在医院里差不多咯，冇好好多，也冇变差。", "zh").value == "same"


def test_fever_not_measured_is_no_fever() -> None:
    assert "fever" not in (present("吐倒没吐，就是一直反胃。烧没量，摸着脑门不烫。") or [])


def test_a_babys_jaundice_is_not_the_mothers() -> None:
    assert present("冇什么不舒服啊。BB皮肤有啲黄，医生讲系生理性黄疸，我自己冇事的。") == []


def test_swelling_that_has_gone_on_down() -> None:
    assert present("That leg was swellin' up like a sausage the first few days, but it's gone on down now.", "en") == []


def test_results_not_collected_leave_the_test_done() -> None:
    assert parse_field("reexam_done", "血抽了，抽完还没去拿结果。", "zh").value == "yes"
    assert parse_field("reexam_done", "He ain't had that blood work yet, he's been too sick to go.", "en").value == "no"


def test_flutter_urge_and_less_urine_and_cantonese_constipation() -> None:
    assert "palpitations" in present("There's a flutter in the chest when I'm going up the stairs.", "en")
    assert present("And I've this terrible urge to pee that willnae go away.", "en") == ["urinary_problem"]
    assert present("One more thing, the urine has become less.", "en") == ["urinary_problem"]
    assert present("已经三日冇屙过屎。") == ["constipation"]


def test_cantonese_stopped_and_english_been_forgetting_are_misses() -> None:
    meds = [{"name": "乳果糖口服溶液", "generic_name": "乳果糖", "drug_class": None},
            {"name": "螺内酯片", "generic_name": "螺内酯", "drug_class": "diuretic"}]
    value = parse_field("medication_adherence", "螺内酯都有食。乳果糖佢嫌饮落去成日屙，前几日自己偷偷停咗", "zh", {"medications": meds}).value
    assert value == {"adherence": "partial", "missed": ["乳果糖口服溶液"]}
    full = parse_field("medication_adherence", "All five tablets, exact timing. Not missed even one dose.", "en",
                       {"medications": INSULIN_EN}).value
    assert full == {"adherence": "full", "missed": []}


def test_regional_wound_words() -> None:
    assert parse_field("wound", "个伤口几好，冇红冇肿，埋咗口啦", "zh").value == "ok"
    assert parse_field("wound", "刀口老好额，勿红勿肿，也勿痛。", "zh").value == "ok"
    assert parse_field("wound", "刀口杠杠的，一点事儿没有", "zh").value == "ok"
    assert parse_field("wound", "纱布上有点血，不多，几个小点点", "zh").value == "bleeding"
    assert parse_field("wound", "渗了点清水一样的东西，淡黄色的", "zh").value == "discharge"
    assert parse_field("wound", "伤口有点红", "zh").value == "redness"


def test_exact_reading_after_a_rough_one() -> None:
    assert parse_field("blood_pressure", "昨天下午量的一百四十几，今天早上起来又量了一下，一百六十五，一百", "zh").value == \
        {"systolic": 165, "diastolic": 100}
    assert parse_field("blood_pressure", "一百二十几，七十几吧", "zh").value is None
    assert parse_field("temperature", "三十六度多…我戴上老花镜看看，三十六度九", "zh").value == 36.9
    assert parse_field("temperature", "三十九度多", "zh").value == 39.0   # the floor of a fever is kept


def test_a_threshold_the_doctor_gave_is_no_reading() -> None:
    assert parse_field("blood_glucose", "十五点八，医生说超过十三点九就要注意是吧？", "zh").value == 15.8


def test_pain_more_like() -> None:
    assert parse_field("pain_score", "Four, no, more like three.", "en").value == 3


def test_digits_said_one_by_one_with_hyphens() -> None:
    from language.numbers import english_to_digits
    assert english_to_digits("one-oh-eight") == "108"
    assert parse_field("blood_pressure", "Two hundred and four over one-oh-eight.", "en").value == {"systolic": 204, "diastolic": 108}


def _identity(text: str, name: str, year: int) -> dict:
    return parse_field("identity_verified", normalize(text), "en" if text[0].isascii() else "zh",
                       {"name": name, "birth_year": year}).value


def test_identity_regional_confirmations_and_lone_two_digit_year() -> None:
    assert _identity("係我呀，我係一九六零年出世嘅", "张秀兰", 1960)["verified"]
    assert _identity("中，是俺，俺是五一年的", "张秀兰", 1951)["verified"]
    assert _identity("Speaking. Forty-nine.", "Mary Smith", 1949)["verified"]
    assert not _identity("Speaking. Fifty.", "Mary Smith", 1949)["verified"]


def test_identity_the_patients_son_or_wife_is_family() -> None:
    assert _identity("我是张秀英的儿子，我妈是五七年的", "张秀英", 1957)["respondent"] == "family"
    assert _identity("是谢长林，我是他媳妇，他一九五五年的", "谢长林", 1955)["respondent"] == "family"
    assert _identity("我是张秀英，五七年的", "张秀英", 1957)["respondent"] == "patient"


def test_condition_echoed_question_and_neither_way() -> None:
    assert parse_field("overall_condition", "Eh? Better what?", "en").value is None
    assert parse_field("overall_condition", "啊？啥好了？你说啥？", "zh").value is None
    assert parse_field("overall_condition", "好也没好好多，差也没差到哪去。", "zh").value == "same"
    assert parse_field("overall_condition", "感觉是好些了，就是测血糖二十点四，可我也没觉着难受", "zh").value == "better"


def test_reexam_and_revisit_everyday_answers() -> None:
    assert parse_field("reexam_done", "哎呀，忘了这事了", "zh").value == "no"
    assert parse_field("reexam_done", "前天刚做完，片子还没取", "zh").value == "yes"
    assert parse_field("reexam_done", "好像做了吧，我记不太清", "zh").value is None
    assert parse_field("reexam_done", "Did the blood test, but the echo hasn't happened yet.", "en").value == "no"
    assert parse_field("revisit_aware", "First I've heard of it.", "en").value == "no"


def test_satisfaction_verdict_before_its_reason_and_second_thoughts() -> None:
    assert parse_field("satisfaction", "还是满意的噻，就是吃饭那块一般", "zh").value == 4
    assert parse_field("satisfaction", "满意……算了，说实话，一般，吃的太差了。", "zh").value == 3
    assert parse_field("satisfaction", "一般，就是吃的不太好", "zh").value == 3


def test_quarter_hours_and_odd_minutes_and_reading_the_paper() -> None:
    from language.cues import sentence_cues
    assert sentence_cues("胸口疼，疼了一刻钟还多")["duration_min"] > 15
    assert sentence_cues("胸口疼了一刻钟")["duration_min"] == 15
    cues = sentence_cues("Chest pain came on while I was reading the paper and went on twenty-odd minutes.")
    assert cues["at_rest"] and cues["duration_min"] > 15


def test_rough_readings_past_a_red_line_keep_their_floor() -> None:
    assert parse_field("blood_glucose", "三点几，我赶紧吃了块糖", "zh").value == 3.0
    assert parse_field("blood_glucose", "九点几", "zh").value is None
    assert parse_field("blood_pressure", "高压八十几，低压五十几", "zh").value == {"systolic": 80, "diastolic": None}
    assert parse_field("blood_pressure", "It was in the eighties on top, I felt woozy.", "en").value == {"systolic": 80, "diastolic": None}
    assert parse_field("blood_pressure", "一百二十几，七十几吧", "zh").value is None


def test_words_not_found_and_no_point_carrying_on() -> None:
    assert present("She suddenly couldn't find her words, just kept saying the wrong ones.", "en") == ["slurred_speech"]
    assert present("Honestly I don't see the point in carrying on like this.", "en") == ["suicidal_ideation"]
    assert present("拉的是黑的，稀的，一天好几回") == ["diarrhea", "melena"]


def test_everyday_words_round_five() -> None:
    assert present("肚儿痛，屙了两回稀的") == ["abdominal_pain", "diarrhea"]
    assert present("冇胃口，成日冇精神") == ["fatigue"]
    assert present("还行吧，没啥大毛病") == []
    assert present("I've had terrible heartburn after every meal.", "en") == ["abdominal_pain"]
    assert present("My waterworks have been playing up, I'm going all the time.", "en") == ["urinary_problem"]


def test_side_effects_that_settled_and_a_throat_itch() -> None:
    assert present("刚开始吃阿司匹林胃里有点烧，后来改成饭后吃，就一点事没有了") == []
    assert present("吃了那个培什么普利以后老是干咳，嗓子痒痒的，没痰") == ["cough"]
    assert present("Bit of an upset tummy the first week on the metformin, but it settled.", "en") == []
    assert present("Felt a bit sick at first in hospital, but that settled before I came home.", "en") == []
    assert present("I've been feeling a bit queasy since yesterday.", "en") == ["nausea_vomiting"]


def test_a_rough_reading_with_no_number_is_asked_again() -> None:
    assert parse_field("blood_pressure", "One forty over something, I didn't see the bottom.", "en").value is None
    assert parse_field("blood_pressure", "It was over something, I can't remember.", "en").value is None


def test_regional_denials_inside_and_before_a_mention() -> None:
    assert present("没得没得，胸口不痛，气也不紧，脑壳也不昏，吃得睡得，好得很") == []
    assert present("呒没呀，胸口勿痛，气也勿急，头也勿晕，蛮好蛮好。") == []


def test_passing_water_not_right_and_not_worse_and_nothing_of_the_sort() -> None:
    assert present("尿尿不得劲儿，老觉着尿不净") == ["urinary_problem"]
    assert present("气短没有加重，晚上躺得平，一个枕头就够，脚也不肿") == []
    assert present("But no, I haven't had anything like that. Temperature's been normal.", "en") == []
    assert present("No sickness, and I've not gone yellow as far as I can tell.", "en") in (None, [])


def test_a_later_stronger_verdict_counts_over_the_first() -> None:
    assert parse_field("satisfaction", "老满意了，非常满意，给你们点个赞。", "zh").value == 5
    assert parse_field("satisfaction", "还行，挺满意", "zh").value == 4


def test_never_mind_without_a_rating_keeps_the_rating() -> None:
    assert parse_field("satisfaction", "满意满意，算了不说了", "zh").value == 4


def test_a_rough_habit_beside_an_exact_glucose_leaves_the_exact_one() -> None:
    assert parse_field("blood_glucose", normalize("今天早上空腹测的，七点八，比前几天好点，前几天都是八点多"), "zh").value == 7.8
    assert parse_field("blood_glucose", normalize("饭后测的十三点九，空腹的话七点多"), "zh").value == 13.9
