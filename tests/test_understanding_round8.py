"""Round 8 of understanding (issue #12): mechanisms found on scenario set 7 (train7) and train9 answers.
Each test names a class of errors, with a case and a near miss; each fails without its mechanism."""

from __future__ import annotations

from dialogs.understanding import normalize, parse_field
from language.symptoms import parse_symptoms


def present(text: str, lang: str = "zh", respondent: str | None = None) -> list[str] | None:
    value = parse_symptoms(normalize(text), lang, respondent=respondent).value
    return None if value is None else sorted(value["present"])


def _meds(*rows: tuple[str, str | None, str | None]) -> list[dict]:
    return [{"name": n, "generic_name": g, "drug_class": c} for n, g, c in rows]


def adherence(text: str, meds: list[dict], lang: str = "zh") -> object:
    value = parse_field("medication_adherence", normalize(text), lang, {"medications": meds}).value
    return value if value is None else (value["adherence"], sorted(value["missed"]))


BP_ZH = _meds(("苯磺酸氨氯地平片", "氨氯地平", "antihypertensive"), ("缬沙坦胶囊", "缬沙坦", "antihypertensive"),
              ("二甲双胍片", "二甲双胍", "antidiabetic"))
NIFE_ZH = _meds(("硝苯地平控释片", "硝苯地平", "antihypertensive"), ("阿托伐他汀钙片", "阿托伐他汀", "statin"))
INSULIN_ZH = _meds(("甘精胰岛素注射液", "甘精胰岛素", "insulin"), ("门冬胰岛素注射液", "门冬胰岛素", "insulin"),
                   ("二甲双胍片", "二甲双胍", "antidiabetic"))
HF_EN = _meds(("Furosemide", "furosemide", "diuretic"), ("Carvedilol", "carvedilol", "antihypertensive"),
              ("Spironolactone", "spironolactone", "diuretic"))
STATIN_EN = _meds(("Aspirin", "aspirin", "antiplatelet"), ("Clopidogrel", "clopidogrel", "antiplatelet"),
                  ("Atorvastatin", "atorvastatin", "statin"))


# ----- medication adherence ------------------------------------------------------------------------

def test_the_same_drug_from_another_maker_is_no_miss() -> None:
    assert adherence("药房给换了个牌子，盒子不一样，药名是一样的，照样天天吃", NIFE_ZH) == ("full", [])
    assert adherence("The pharmacy switched me to a generic for the Lipitor, but I take it every night just the same.",
                     STATIN_EN, "en") == ("full", [])
    # near miss: a drug swapped for ANOTHER drug is still a change of the ordered one
    assert adherence("阿托伐他汀我自己换成别的了", NIFE_ZH) == ("partial", ["阿托伐他汀钙片"])


def test_cannot_forget_and_every_day_with_a_time_between_are_taken() -> None:
    assert adherence("我老伴儿天天盯着我吃，想忘都忘不了", BP_ZH) == ("full", [])
    assert adherence("那还能不吃？我这条命就指着它呢", NIFE_ZH) == ("full", [])
    # near miss: forgetting is still a miss
    assert adherence("缬沙坦前天忘了吃", BP_ZH) == ("partial", ["缬沙坦胶囊"])


def test_a_habit_of_before_gives_way_to_now() -> None:
    assert adherence("以前老忘，现在我定了闹钟，这一个礼拜一回都没忘", BP_ZH) == ("full", [])
    # near miss: a recent miss said first is still a miss
    assert adherence("前两天忘了吃降压药，现在定了闹钟", BP_ZH)[0] == "partial"


def test_a_course_said_with_its_length_is_finished_not_run_out() -> None:
    meds = _meds(("奥美拉唑肠溶胶囊", "奥美拉唑", "ppi"), ("阿莫西林胶囊", "阿莫西林", "antibiotic"), ("克拉霉素片", "克拉霉素", "antibiotic"))
    assert adherence("护胃的跟那两样消炎的，两个礼拜都吃完了，一天没落", meds) == ("full", [])
    # near miss: a drug for good "吃完了" with no length is a supply run out
    assert adherence("硝苯地平吃完了，还没去开", NIFE_ZH) == ("partial", ["硝苯地平控释片"])


def test_an_insulin_described_by_when_it_is_injected_names_only_that_one() -> None:
    assert adherence("饭前打的那个针，中午出去吃席没带着，就没打", INSULIN_ZH) == ("partial", ["门冬胰岛素注射液"])
    assert adherence("睡前打的那针前天给忘了", INSULIN_ZH) == ("partial", ["甘精胰岛素注射液"])


def test_a_dose_doubled_by_mistake_is_taken_wrongly() -> None:
    levo = _meds(("左甲状腺素钠片", "左甲状腺素", "other"))
    assert adherence("优甲乐有两天看错了，一回吃了两片", levo) == ("partial", ["左甲状腺素钠片"])
    insulin_en = _meds(("Insulin glargine", "insulin glargine", "insulin"), ("Metformin", "metformin", "antidiabetic"))
    assert adherence("Sunday I did my bedtime insulin twice by accident.", insulin_en, "en") == ("partial", ["Insulin glargine"])
    # near miss: taking it every day is no mistake
    assert adherence("优甲乐天天早上空肚子吃，吃完半小时才吃饭", levo) == ("full", [])


def test_never_taken_since_discharge_is_none_and_a_few_days_off_is_partial() -> None:
    riva = _meds(("利伐沙班片", "利伐沙班", "anticoagulant"))
    assert adherence("药一直没去拿，家里没人陪我去医院", riva) == ("none", ["利伐沙班片"])
    sertraline = _meds(("Sertraline", "sertraline", "antidepressant"))
    assert adherence("He stopped the sertraline the day he came home. Says he doesn't need it.", sertraline, "en") == \
        ("none", ["Sertraline"])
    assert adherence("Mom won't take any of her pills. She says they make her worse.", HF_EN, "en")[0] == "none"
    # near miss: stopped for two days and taken again is partial
    assert adherence("拜瑞妥我自己停了两天，昨天又接着吃上了", riva) == ("partial", ["利伐沙班片"])


def test_a_hum_or_a_relative_holding_the_pills_settles_nothing() -> None:
    assert adherence("嗯", BP_ZH) is None
    assert adherence("Uh-huh.", STATIN_EN, "en") is None
    assert adherence("这个你得问我儿媳妇，药是她管的", BP_ZH) is None
    # near miss: a plain yes is an answer
    assert adherence("对，都按时吃了", BP_ZH) == ("full", [])


def test_the_water_pill_is_the_loop_diuretic_when_spironolactone_is_also_ordered() -> None:
    assert adherence("I stopped the water pill. I was up all night peeing.", HF_EN, "en") == ("partial", ["Furosemide"])
    only_spiro = _meds(("Spironolactone", "spironolactone", "diuretic"), ("Carvedilol", "carvedilol", "antihypertensive"))
    assert adherence("I stopped the water pill.", only_spiro, "en") == ("partial", ["Spironolactone"])


def test_a_drug_named_by_its_purpose_strengthening_the_heart_is_digoxin() -> None:
    meds = _meds(("华法林钠片", "华法林", "anticoagulant"), ("地高辛片", "地高辛", "antiarrhythmic"))
    assert adherence("强心的那个我看心跳才五十几，就没敢吃", meds) == ("partial", ["地高辛片"])


def test_an_inhaler_named_as_the_one_breathed_in() -> None:
    meds = _meds(("布地奈德福莫特罗吸入粉雾剂", "布地奈德福莫特罗", "bronchodilator"), ("孟鲁司特钠片", "孟鲁司特", "other"))
    assert adherence("那个吸的药用完了，还没顾上去开，有三四天没吸了。孟鲁司特晚上还吃着", meds) == \
        ("partial", ["布地奈德福莫特罗吸入粉雾剂"])


# ----- symptoms -----------------------------------------------------------------------------------

def test_a_tongue_tied_in_a_knot_is_slurred_speech_not_ending_it() -> None:
    assert "suicidal_ideation" not in (present("他说话比出院那会儿还含糊，舌头跟打了结似的") or [])
    assert "suicidal_ideation" in present("有时候想了结自己")


def test_being_gone_as_a_relief_to_the_family_is_a_wish_to_die() -> None:
    assert present("他昨天跟我说，要是他不在了，我跟孩子就都轻松了。话也不爱说") == ["low_mood", "suicidal_ideation"]
    # near miss: a relative away from home is no wish
    assert "suicidal_ideation" not in (present("他不在家，出去遛弯了") or [])


def test_an_arm_thicker_than_the_other_is_swelling() -> None:
    assert present("左边胳膊比右边粗了一圈，肿肿的") == ["edema"]


def test_a_rash_crusted_over_is_gone_and_a_pain_like_needles_is_pain() -> None:
    assert present("疱疹都结痂掉了，就是那一片还跟针扎似的疼") == ["pain"]
    # near miss: blisters still coming up are a rash
    assert "rash" in present("身上又起了疱疹")


def test_a_pit_of_the_chest_gripped_is_chest_pain() -> None:
    assert present("今儿早上坐着喝粥呢，心口窝那块揪着疼，疼了二十来分钟") == ["chest_pain"]


def test_blood_told_after_a_cough_across_a_comma_is_hemoptysis() -> None:
    assert "hemoptysis" in present("早上咳了一口，里头带着鲜血")


def test_spitting_when_brushing_teeth_is_no_vomiting() -> None:
    assert present("牙龈出血，刷牙的时候吐出来是红的") == ["bleeding"]
    assert "nausea_vomiting" in present("早上起来吐了两回")


def test_a_speaker_turning_to_themselves_makes_the_spouse_s_cough_someone_else_s() -> None:
    assert present("我老伴儿也咳嗽，我是胸口闷，坐着也闷") == ["chest_tightness"]


# ----- other fields -------------------------------------------------------------------------------

def test_like_nothing_ever_happened_is_better() -> None:
    assert parse_field("overall_condition", "好多了，跟没事人一样", "zh").value == "better"
    assert parse_field("overall_condition", "还那样，差不多", "zh").value == "same"


def test_pale_yellow_clear_fluid_from_the_wound_is_discharge() -> None:
    assert parse_field("wound", "刀口下边那一截渗淡黄色的清水，纱布上有印子，不臭", "zh").value == "discharge"
    assert parse_field("wound", "刀口不渗水，干干的", "zh").value == "ok"


def test_the_child_s_mother_answers_as_family() -> None:
    value = parse_field("identity_verified", "我是孩子妈妈。王子涵，二零年出生的", "zh",
                        {"name": "王子涵", "birth_year": 2020}).value
    assert value["verified"] is True and value["respondent"] == "family"


def test_a_birth_year_corrected_by_its_two_digits() -> None:
    value = parse_field("identity_verified", "Ruth Kowalski, forty-seven — no wait, forty-six.", "en",
                        {"name": "Ruth Kowalski", "birth_year": 1946}).value
    assert value["verified"] is True


def _general_call_after_symptoms(answer: str) -> list[str]:
    """The fields a general (medical) follow-up asks after the symptoms answer, up to the revisit."""
    import datetime as dt

    from dialogs.clinical_rules import default_rules
    from dialogs.context import CallContext
    from dialogs.engine import FollowupEngine
    from dialogs.flows import load_flows

    flows = load_flows()
    context = CallContext(patient_id=1, patient_name="王建国", sex="male", birth_year=1962, id_last4=None, phone_last4=None,
                          language="zh", hospital="医院", ward_team="消化内科", department="消化内科", diagnosis="胃炎",
                          discharged_on=dt.date(2026, 11, 1), call_date=dt.date(2026, 11, 8), post_surgery=False,
                          medications=())
    engine = FollowupEngine(flows=flows, flow=flows.flows["general"], context=context, rules=default_rules())
    reply = engine.start()
    asked = []
    answers = {"identity_verified": "是我，王建国，六二年的", "overall_condition": "差不多", "symptoms": answer,
               "pain_score": "六分"}
    while not reply.done and reply.expecting and reply.expecting not in ("revisit_aware", "blood_glucose"):
        asked.append(reply.expecting)
        reply = engine.handle(answers.get(reply.expecting, "没有"))
    return asked


def test_the_general_flow_asks_for_a_pain_score_after_a_pain_is_told() -> None:
    assert "pain_score" in _general_call_after_symptoms("腰疼得厉害，弯不下去")
    # near miss: no pain told, no pain question
    assert "pain_score" not in _general_call_after_symptoms("没有，都挺好的")


# ----- from the older train splits' misses (round 8, second pass) -----------------------------------

PCI_ZH = _meds(("阿司匹林肠溶片", "阿司匹林", "antiplatelet"), ("硫酸氢氯吡格雷片", "氯吡格雷", "antiplatelet"),
               ("阿托伐他汀钙片", "阿托伐他汀", "statin"))


def test_a_drug_named_in_a_clause_that_says_nothing_is_the_one_the_next_clause_misses() -> None:
    meds = _meds(("苯磺酸氨氯地平片", "氨氯地平", "antihypertensive"), ("阿托伐他汀钙片", "阿托伐他汀", "statin"))
    assert adherence("早上那个氨氯地平，有时候晨练回来就忘了，一礼拜大概忘个一两回", meds) == ("partial", ["苯磺酸氨氯地平片"])
    # near miss: a drug named with its own status does not lend itself to a later clause about another
    assert adherence("氨氯地平天天吃着，阿托伐他汀忘了两回", meds) == ("partial", ["阿托伐他汀钙片"])


def test_a_half_remembered_name_picks_the_drug() -> None:
    assert adherence("阿司匹林一直吃着。那个氯什么雷，上礼拜拔牙，牙医让停五天，我就停了", PCI_ZH)[1] == ["硫酸氢氯吡格雷片"]
    # near miss: a filler after an ordinary word names nothing
    assert adherence("吃什么都没胃口，药倒是都吃着", PCI_ZH) == ("full", [])


def test_the_form_after_a_class_word_narrows_the_class() -> None:
    assert adherence("降压的那个胶囊，我看血压挺好的，就自己改成两天吃一粒了，那个氨氯地平倒是每天吃", BP_ZH) == \
        ("partial", ["缬沙坦胶囊"])


def test_a_supply_that_went_on_is_no_miss_but_a_gap_is() -> None:
    assert adherence("医院开的波立维吃完了，我在药店买的国产氯吡格雷接着吃，天天吃", PCI_ZH) == ("full", [])
    assert adherence("阿司匹林吃完了，断了两天，昨天又接着吃了", PCI_ZH) == ("partial", ["阿司匹林肠溶片"])


def test_hardly_taken_and_on_and_off_are_no_questions() -> None:
    meds = _meds(("盐酸氨溴索片", "氨溴索", "other"), ("左氧氟沙星片", "左氧氟沙星", "antibiotic"))
    assert adherence("化痰药不好咽，没怎么吃，消炎的吃完了", meds) == ("partial", ["盐酸氨溴索片"])
    from dialogs.understanding import parse_is_question
    assert not parse_is_question("没怎么吃", "zh") and not parse_is_question("我吃几天停几天", "zh")
    assert parse_is_question("这个药怎么吃", "zh") and parse_is_question("一次吃几片", "zh")


def test_either_of_them_never_picked_up_is_none() -> None:
    meds = _meds(("Apixaban", "apixaban", "anticoagulant"), ("Metoprolol tartrate", "metoprolol", "antihypertensive"))
    assert adherence("I haven't picked them up. The Eliquis was too dear, so I didn't get either of them yet.", meds, "en") == \
        ("none", ["Apixaban", "Metoprolol tartrate"])


def test_only_the_tablets_means_the_injections_are_missed() -> None:
    assert adherence("我爸不肯打针，两种胰岛素都停了，只吃药片", INSULIN_ZH) == \
        ("partial", ["甘精胰岛素注射液", "门冬胰岛素注射液"])


def test_spaces_between_words_split_clauses_and_a_time_of_day_is_no_miss() -> None:
    assert adherence("都按时吃了 止疼药没吃过 用不着", _meds(("阿司匹林肠溶片", "阿司匹林", "antiplatelet"),
                                                  ("塞来昔布胶囊", "塞来昔布", "analgesic"))) == ("full", [])
    statin = _meds(("阿司匹林肠溶片", "阿司匹林", "antiplatelet"), ("瑞舒伐他汀钙片", "瑞舒伐他汀", "statin"))
    assert adherence("都吃呢 就是可定那个晚上吃", statin) == ("full", [])
    assert adherence("都吃呢，就是可定有两天", statin) == ("partial", ["瑞舒伐他汀钙片"])


def test_spitting_blood_after_brushing_is_the_mouth_s_blood() -> None:
    assert present("牙龈出血，刷牙的时候出一点，吐出来粉红色的") == ["bleeding"]


def test_a_breathlessness_that_stops_on_sitting_is_still_told() -> None:
    assert present("走快了就喘，走个一百来米就得停下来，坐下来就不喘了") == ["dyspnea"]
    assert present("以前喘，现在不喘了") == []


def test_everyday_words_for_pain_dizziness_and_urine() -> None:
    assert present("腰上起了一串小水泡，疼得钻心") == ["pain", "rash"]
    assert present("右边那条小腿肿了，按着还有点疼") == ["edema", "pain"]
    assert present("立起来辰光眼睛前头一黑") == ["dizziness"]
    assert present("小便也有点不顺畅，尿一半就断了") == ["urinary_problem"]


def test_nausea_said_with_no_vomiting_further_on() -> None:
    assert present("恶心，吃不下饭，看见油腻的就想吐，不过到现在还没真吐出来过") == ["nausea_vomiting"]
    assert present("不恶心，也没吐") == []


def test_resolved_constipation_and_cough_kept_awake() -> None:
    assert present("出院头一个礼拜有点便秘，现在每天都解了") == []
    assert present("咳嗽，晚上咳得睡不着") == ["cough"]
    assert present("刀口疼得睡不着") == ["insomnia", "wound_pain"]


def test_an_arm_that_cannot_be_lifted_for_the_pain_is_no_weakness() -> None:
    assert present("My shoulder's been really painful, I can't lift my arm for the pain.", "en") == ["pain"]
    assert "limb_weakness" in present("I suddenly can't lift my arm at all.", "en")


def test_a_burden_felt_with_further_thoughts_denied_is_low_mood_not_a_wish_to_die() -> None:
    assert present("心情不太好，老觉得自己拖累儿女，不过也没想别的，就是闷闷的") == ["low_mood"]
    # near miss: the burden with a wish to die stays red, and the denial only clears the wish
    assert present("活着没意思，拖累孩子，还不如死了算了") == ["suicidal_ideation"]
    assert present("心情不太好，不过没想不开") == ["low_mood"]


def test_one_leg_thicker_than_the_other_is_swelling() -> None:
    assert present("左边这条腿，就是做手术那边，比右边粗了一圈，按着更疼") == ["edema", "pain"]


def test_speech_worse_than_at_discharge_is_now_not_history() -> None:
    assert present("他说话比出院那会儿还含糊，舌头跟打了结似的") == ["slurred_speech"]
    assert present("说话比以前含糊了") == ["slurred_speech"]
    # near miss: a time said inside the mention still makes it history
    assert present("腿原先麻") == []


def test_the_mouth_s_blood_and_a_shaky_hand_are_no_red_flags_of_their_own() -> None:
    assert present("My gums bleed a little when I brush, the spit's pink, but it stops straight away.", "en") == ["bleeding"]
    assert present("出冷汗，手抖得拿不住杯子，心里慌得很，吃了两块糖才缓过来") == ["hypoglycemia_symptoms"]
    # near miss: a hand that suddenly cannot hold a cup, with no tremor, is weakness
    assert "limb_weakness" in present("刚才右手突然拿不住杯子了")


def test_twice_a_day_is_the_dose_not_a_double_dose() -> None:
    assert adherence("I take them every day, I've taken the clopidogrel twice a day like they said.", STATIN_EN, "en") == ("full", [])
    assert adherence("I took the clopidogrel twice on Sunday by mistake.", STATIN_EN, "en") == ("partial", ["Clopidogrel"])
