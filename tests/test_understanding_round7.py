"""Round 7 of understanding (issue #12): mechanisms found on scenario set 6 (train6) and train8 answers.
Each test names a class of errors, with a case and a near miss; each fails without its mechanism."""

from __future__ import annotations

import datetime as dt

from dialogs.clinical_rules import default_rules
from dialogs.context import Medication, derive_facts
from dialogs.engine import FollowupEngine
from dialogs.flags import symptom_level
from dialogs.flows import load_flows
from dialogs.understanding import normalize, parse_field
from language.symptoms import parse_symptoms
from tests.conftest import step_engine

FLOWS = load_flows()


def present(text: str, lang: str = "zh", respondent: str | None = None) -> list[str] | None:
    value = parse_symptoms(normalize(text), lang, respondent=respondent).value
    return None if value is None else sorted(value["present"])


def level(text: str, lang: str = "zh") -> str:
    """The highest flag level the symptoms of one answer raise."""
    value = parse_symptoms(normalize(text), lang).value or {"present": [], "cues": {}}
    levels = {symptom_level(c, value["cues"].get(c) or {}, rules=default_rules())[0] for c in value["present"]}
    return "red" if "red" in levels else "yellow" if "yellow" in levels else "none"


def _engine(field: str, lang: str = "zh", meds: tuple[Medication, ...] = ()) -> FollowupEngine:
    return step_engine((field,), lang, medications=meds)


def _meds(*rows: tuple[str, str | None, str | None]) -> list[dict]:
    return [{"name": n, "generic_name": g, "drug_class": c} for n, g, c in rows]


# ----- red flags said indirectly ------------------------------------------------------------------

def test_wish_to_close_ones_eyes_and_not_wake_is_suicidal_not_a_resolved_mood() -> None:
    assert "suicidal_ideation" in present("活着没啥盼头，哪天一闭眼不睁开就好了")
    assert present("Some days I think everyone would be better off if I just didn't wake up.", "en") == ["suicidal_ideation"]
    # near miss: sleeping badly and waking is no wish to die
    assert "suicidal_ideation" not in (present("晚上睡着了老是醒，醒了就睁着眼到天亮") or [])


def test_chest_gripped_like_a_hand_is_chest_pain_and_waking_with_it_is_red() -> None:
    assert present("前胸跟有人拿手攥着似的，一阵一阵的，昨晚上睡觉的时候疼醒了") == ["chest_pain"]
    assert level("前胸跟有人拿手攥着似的，一阵一阵的，昨晚上睡觉的时候疼醒了") == "red"
    assert present("胸口不疼，也没有被攥着的感觉") == []


def test_a_heavy_chest_said_as_chenchen_for_an_hour_at_rest_is_red() -> None:
    text = "心口窝那块沉沉的，坐那儿看电视也沉，得有一个来小时"
    assert present(text) == ["chest_tightness"] and level(text) == "red"
    # near miss: heaviness on the stairs that goes with rest stays yellow
    assert level("上楼的时候心口沉沉的，歇一会儿就好了") == "yellow"


def test_one_hour_said_with_xiaoshi_counts_as_an_hour_of_bleeding() -> None:
    assert level("切菜划了个小口子，血流了快一个小时才止住") == "red"
    assert level("切菜划了个小口子，出了点血") == "yellow"


def test_blood_coughed_out_is_hemoptysis_and_a_hard_cough_beside_it_stays_a_finding() -> None:
    assert present("咳嗽的时候咳出来一口鲜红的血") == ["hemoptysis"]
    assert present("这两天咳得厉害，早上咳出来的痰里头带着血丝") == ["cough", "hemoptysis"]


def test_chopsticks_that_cannot_pick_up_food_are_limb_weakness() -> None:
    assert "limb_weakness" in present("他筷子老夹不住菜，掉了好几回")
    assert present("筷子用得挺好，夹菜也利索") is None or "limb_weakness" not in present("筷子用得挺好，夹菜也利索")


def test_just_before_a_verb_does_not_cut_the_clause() -> None:
    assert present("I couldn't get the key in the door, my hand just wouldn't do what I told it.", "en") == ["limb_weakness"]
    # "just" before a noun still sets a contrast: only the cough is reported
    assert present("No chest pain, just a cough.", "en") == ["cough"]


def test_woken_by_breathlessness_is_not_insomnia() -> None:
    assert present("夜里憋醒好几回，得坐起来喘半天") == ["dyspnea"]
    assert present("夜里醒好几回，睡不踏实") == ["insomnia"]


def test_gums_bleeding_and_blood_spat_out_after_brushing_is_bleeding_not_vomiting_blood() -> None:
    text = "刷牙的时候牙龈老出血，吐出来一口血沫子，过一会儿就不出了"
    assert present(text) == ["bleeding"] and level(text) == "yellow"
    assert "hematemesis" in present("早上吐了，吐出来一口血")
    assert present("A little pink on the toothbrush when I brush, that's all.", "en") == ["bleeding"]


# ----- denials and resolved ------------------------------------------------------------------------

def test_never_came_back_and_zai_mei_fan_guo_resolve_the_symptom() -> None:
    assert present("The headache I had last week never came back.", "en") == []
    assert present("Nope. The pain's been gone for ages, and that little fever I had the first night never came back.", "en") == []
    assert present("头晕那个毛病再没犯过") == []
    # near miss: came back is a finding
    assert present("The headache came back this morning.", "en") == ["headache"]


def test_unchanged_since_discharge_is_not_new() -> None:
    assert present("Nothing new. The numbness in my hand is the same as when I left, no worse.", "en") == []
    assert present("The numbness in my hand is worse since I got home.", "en") == ["limb_weakness"]


def test_normal_stool_clear_head_and_no_pain_now_say_nothing_is_wrong() -> None:
    assert present("大便颜色正常，黄的，不黑") == []
    assert present("脑子清楚着呢，就是记性不太好，跟以前一样") == []
    assert parse_field("symptoms", "我就是担心万一胸口疼怎么办，现在倒是不疼", "zh").value["present"] == []
    assert present("大便颜色发黑，跟墨汁一样") == ["melena"]


def test_a_blood_draw_is_no_bleeding() -> None:
    assert present("Yes, they drew the blood on Tuesday.", "en") is None
    assert present("There was blood on my pillow this morning.", "en") == ["bleeding"]


def test_the_runs_with_trips_to_the_loo_is_diarrhea_only() -> None:
    assert present("I've got the runs, been up and down to the loo all day.", "en") == ["diarrhea"]
    assert present("I'm up and down to the loo all night to pee.", "en") == ["urinary_problem"]


def test_a_hard_cough_beside_blood_is_kept_in_the_outcome() -> None:
    engine = _engine("symptoms")
    engine.handle("这两天咳得厉害，早上咳出来的痰里头带着血丝，有两三口")
    assert sorted(engine.outcome()["symptoms"]) == ["cough", "hemoptysis"]
    engine = _engine("symptoms")
    engine.handle("咳嗽的时候痰里带血丝")
    assert engine.outcome()["symptoms"] == ["hemoptysis"]


# ----- conversation ---------------------------------------------------------------------------------

def test_ting_bu_qing_inside_the_answer_describes_the_patient() -> None:
    engine = _engine("symptoms")
    engine.handle("我爸说话含含糊糊的，听不清他说啥，嘴也有点往右边歪")
    assert sorted(engine.outcome()["symptoms"]) == ["facial_droop", "slurred_speech"]
    # near miss: the request opening the turn is still a request, and the answer after it counts
    engine = _engine("symptoms")
    engine.handle("什么？没听清……哦，就是腿有点肿")
    assert engine.outcome()["symptoms"] == ["edema"]


def test_a_day_corrected_in_passing_is_no_denial_of_knowing_the_revisit() -> None:
    assert parse_field("revisit_aware", "Yes, it's Thursday — no, sorry, Friday the fourth.", "en").value == "yes"
    assert parse_field("revisit_aware", "知道，周四，哦不是，是周五去心内科", "zh").value == "yes"
    assert parse_field("revisit_aware", "No, I don't know when it is.", "en").value == "no"


def test_a_pair_of_scores_then_a_single_one_settles_on_the_single() -> None:
    assert parse_field("pain_score", "三四分吧，哦，三分", "zh").value == 3
    assert parse_field("pain_score", "七八分", "zh").value == 8


def test_a_score_after_the_verdict_is_the_satisfaction() -> None:
    assert parse_field("satisfaction", "不满意，等了半天没人管，给一分", "zh").value == 1
    assert parse_field("satisfaction", "一般，吃的太差了", "zh").value == 3


# ----- wound ----------------------------------------------------------------------------------------

def test_nothing_red_or_oozing_denies_both() -> None:
    assert parse_field("wound", "The cuts look good, just little scabs, nothing red or oozing.", "en").value == "ok"
    assert parse_field("wound", "It's red and oozing at the bottom.", "en").value == "discharge"


def test_red_and_swollen_said_apart_is_swelling_unless_redness_is_the_main_thing() -> None:
    assert parse_field("wound", "刀口边上有点红，这两天还有点肿，没流水", "zh").value == "swelling"
    assert parse_field("wound", "红了一片，还有点肿，肿得不厉害，主要是红", "zh").value == "redness"
    assert parse_field("wound", "伤口有点红肿", "zh").value == "redness"


def test_still_fine_and_not_red_is_an_ok_wound() -> None:
    assert parse_field("wound", "伤口看着还行，不红", "zh").value == "ok"
    assert parse_field("wound", "伤口看着还行，就是有点红", "zh").value == "redness"


# ----- medication adherence -------------------------------------------------------------------------

def test_a_second_dose_after_not_remembering_is_a_double_dose_not_a_hedge() -> None:
    meds = _meds(("缬沙坦胶囊", "缬沙坦", "antihypertensive"), ("二甲双胍片", "二甲双胍", "antidiabetic"))
    value = parse_field("medication_adherence", "早上记不清吃没吃，又吃了一片缬沙坦", "zh", {"medications": meds}).value
    assert value == {"adherence": "partial", "missed": ["缬沙坦胶囊"]}
    assert parse_field("medication_adherence", "记不清了", "zh", {"medications": meds}).value is None
    en = _meds(("Warfarin", "warfarin", "anticoagulant"), ("Digoxin", "digoxin", "cardiac_glycoside"))
    value = parse_field("medication_adherence", "I think I took my warfarin twice on Tuesday by mistake.", "en", {"medications": en}).value
    assert value == {"adherence": "partial", "missed": ["Warfarin"]}


def test_stopped_on_ones_own_is_the_drug_named_before() -> None:
    meds = _meds(("美托洛尔缓释片", "美托洛尔", "antihypertensive"), ("阿托伐他汀钙片", "阿托伐他汀", "statin"))
    value = parse_field("medication_adherence", "美托洛尔吃了心跳太慢，大夫没让停我自己停了", "zh", {"medications": meds}).value
    assert value == {"adherence": "partial", "missed": ["美托洛尔缓释片"]}


def test_zhiteng_yao_taken_when_it_hurts_is_an_as_needed_drug() -> None:
    meds = _meds(("塞来昔布胶囊", "塞来昔布", "analgesic"), ("利伐沙班片", "利伐沙班", "anticoagulant"))
    value = parse_field("medication_adherence", "止疼药疼的时候才吃，别的按时吃", "zh", {"medications": meds}).value
    assert value == {"adherence": "full", "missed": []}


# ----- flows ----------------------------------------------------------------------------------------

def test_sick_sinus_and_syncope_diagnoses_get_the_pulse_asked() -> None:
    def facts(diagnosis: str) -> frozenset[str]:
        return derive_facts(diagnosis=diagnosis, surgery=False, medications=(), revisits=(), reexams=(),
                            call_date=dt.date(2026, 11, 20))
    assert "rate_watch" in facts("病态窦房结综合征 高血压2级")
    assert "rate_watch" in facts("Sick sinus syndrome")
    assert "rate_watch" not in facts("高血压2级")


# ----- second batch: generic codes, readings in the symptoms answer, misses said of no drug -------------

def test_a_cough_in_its_own_clause_is_kept_beside_hemoptysis_in_the_same_clause_not() -> None:
    assert present("老咳嗽，一咳就咳出血来，一口一口的") == ["cough", "hemoptysis"]
    assert present("咳嗽有血") == ["hemoptysis"]


def test_a_racing_heart_in_a_hypo_episode_is_part_of_the_cluster_anywhere_in_the_answer() -> None:
    text = "Had a hypo in the night, woke up drenched in sweat with my heart racing and my hands shaking."
    assert present(text, "en") == ["hypoglycemia_symptoms"]
    assert present("My heart keeps racing in the evenings.", "en") == ["palpitations"]


def test_a_fever_reading_in_the_symptoms_answer_is_a_fever_unless_gone_or_someone_elses() -> None:
    def field(text: str, lang: str = "zh") -> list[str]:
        return sorted(parse_field("symptoms", normalize(text), lang).value["present"])
    assert field("My temperature was thirty-nine point four and I was shivering all night.", "en") == ["chills", "fever"]
    assert field("有点发冷，量了体温三十七度八") == ["chills", "fever"]
    assert parse_field("symptoms", "烧退了，昨天还三十八度", "zh").value is None
    assert field("不烧，三十六度五") == []
    assert field("我没事，是我孙子这两天发烧，三十九度多") == []


def test_nothing_wrong_said_as_mei_you_sha_zi_or_not_swollen_now() -> None:
    assert parse_field("symptoms", "没有啥子不舒服", "zh").value["present"] == []
    assert parse_field("symptoms", "应该没有吧，我没觉得哪不舒服", "zh").value["present"] == []
    assert parse_field("symptoms", "我现在倒没肿", "zh").value["present"] == []
    assert present("现在不疼了，就是腿肿") == ["edema"]


def test_a_miss_said_of_no_drug_is_of_the_drugs_the_words_are_about() -> None:
    meds = _meds(("苯磺酸氨氯地平片", "氨氯地平", "antihypertensive"), ("厄贝沙坦片", "厄贝沙坦", "antihypertensive"),
                 ("阿托伐他汀钙片", "阿托伐他汀", "statin"))
    value = parse_field("medication_adherence", "血压高的时候就吃，不高就不吃", "zh", {"medications": meds}).value
    assert value == {"adherence": "partial", "missed": ["苯磺酸氨氯地平片", "厄贝沙坦片"]}
    insulin = _meds(("甘精胰岛素注射液", "甘精胰岛素", "insulin"), ("阿托伐他汀钙片", "阿托伐他汀", "statin"))
    value = parse_field("medication_adherence", "血糖高的时候就多打几个单位，低的时候就不打", "zh", {"medications": insulin}).value
    assert value == {"adherence": "partial", "missed": ["甘精胰岛素注射液"]}
    # near miss: a miss that names no drug and no reading stays without a guess
    value = parse_field("medication_adherence", "有时候忘了", "zh", {"medications": meds}).value
    assert value == {"adherence": "partial", "missed": []}


# ----- third batch: identity repairs, digits one by one, habits said with "if", long-standing ------------

def test_a_birth_year_corrected_in_the_same_breath_is_the_year_meant() -> None:
    from dialogs.understanding import parse_identity
    text = "Yeah it's Tom. Year of birth, nineteen fifty-eight. No, hang on, fifty-six, sorry, I always muddle that."
    assert parse_identity(normalize(text), "en", name="Thomas Whitfield", birth_year=1956).value["verified"] is True
    assert parse_identity(normalize(text), "en", name="Thomas Whitfield", birth_year=1958).value["verified"] is False
    assert parse_identity("是我，六三年的……哎不对，我是六二年的", "zh", name="王建国", birth_year=1962).value["verified"] is True


def test_phone_digits_said_one_by_one_verify_the_last_four() -> None:
    from dialogs.understanding import parse_identity
    text = "Uh-huh, this is Lorraine. The last four on my phone, will that do? Five-five-nine-oh."
    assert parse_identity(normalize(text), "en", name="Lorraine Whitaker", birth_year=1946, phone_last4="5590").value["verified"]
    assert not parse_identity(normalize(text), "en", name="Lorraine Whitaker", birth_year=1946, phone_last4="5591").value["verified"]


def test_a_habit_said_with_if_i_stand_up_is_a_finding_but_if_i_get_stays_hypothetical() -> None:
    assert present("If I stand up too quick the room swims for a second.", "en") == ["dizziness"]
    assert present("If I get chest pain I will call.", "en") == []


def test_hot_and_shivery_is_fever_and_chills() -> None:
    assert present("Running a bit of a temperature I think, felt hot and shivery last night.", "en") == ["chills", "fever"]
    assert present("Felt hot and sweaty last night.", "en") == ["fever"]


def test_decades_old_and_no_worse_than_before_is_not_new() -> None:
    assert present("头晕这个嘛，我年轻时候就有，几十年都这样，没比以前厉害") == []
    assert present("头晕，这两天比以前厉害") == ["dizziness"]


def test_another_persons_cough_set_against_the_speaker_not_catching_it() -> None:
    assert present("My wife's got a cough, I've been sleeping in the spare room so I don't catch it.", "en") == []
    assert present("My husband's been coughing, but that's not what I rang about. I've had a headache for days.", "en") == ["headache"]


def test_tired_of_living_is_suicidal_not_fatigue_and_a_weak_grip_is_limb_weakness() -> None:
    assert present("不想活了，活着太累了") == ["suicidal_ideation"]
    assert present("右手有点麻，昨天突然开始的，握东西没劲") == ["limb_weakness"]
    assert present("这两天浑身没劲") == ["fatigue"]


def test_always_getting_muddled_over_dates_is_a_habit_not_confusion() -> None:
    assert present("I always get muddled, my brother's forty-eight.", "en") is None
    assert present("He gets muddled in the evenings now.", "en") == ["confusion"]


def test_a_speaker_correcting_their_own_birth_year_is_not_reported_confused() -> None:
    def engine_for(year: int) -> FollowupEngine:
        return step_engine(("identity",), "en", patient_name="Walter Pruitt", birth_year=year, hospital="H",
                           ward_team="Cardiology", department="Cardiology")
    engine = engine_for(1949)
    engine.handle("That's me, Walt. Born nineteen forty-eight... no wait, forty-nine. I always get confused, my brother's forty-eight.")
    assert engine.outcome()["identity_verified"] is True
    assert not engine.outcome()["flags"]
    # near miss: confusion told at identity without a repair of numbers is still scanned
    engine = engine_for(1949)
    engine.handle("Yes, Walter Pruitt, born forty-nine. He's been confused since last night, didn't know what day it was.")
    assert any(f["level"] == "red" for f in engine.outcome()["flags"])


# ----- fourth batch: everyday words found by probing with own train sentences --------------------------

def test_everyday_words_for_common_complaints() -> None:
    assert present("起来的时候头发昏，眼冒金星") == ["dizziness"]
    assert present("肚子一阵一阵地绞着疼") == ["abdominal_pain"]
    assert present("身上刺挠，老想挠") == ["itching"]
    assert present("这两天闹肚子，一天四五次") == ["diarrhea"]
    assert present("I feel a bit wobbly on my feet", "en") == ["dizziness"]
    assert "itching" not in (present("身上不刺挠了") or [])


def test_more_ways_of_saying_nothing_is_wrong() -> None:
    for text in ("没咋不舒服", "也没啥，都还行", "挺好，哪儿都不疼"):
        assert parse_field("symptoms", text, "zh").value["present"] == [], text
    assert parse_field("symptoms", "Can't complain, really.", "en").value["present"] == []
    # near misses: a complaint after the reassurance is kept, a pain left unnamed is asked again
    assert present("都还行，就是有点头晕") == ["dizziness"]
    assert parse_field("symptoms", "肿已经消了，就是还有点疼", "zh").value is None


def test_not_once_since_discharge_in_a_clause_of_its_own() -> None:
    assert present("那个头晕啊，出院以后一次没犯") == []
    assert present("那个头晕啊，出院以后一次没犯，胸口有点闷") == ["chest_tightness"]


def test_a_tickly_throat_is_part_of_the_cough_not_itching() -> None:
    assert present("嗓子眼儿老刺挠，干咳，没痰") == ["cough"]
    assert present("吃了以后干咳，嗓子老是痒痒的") == ["cough"]
    assert present("胳膊上刺挠，起了小红点") == ["itching", "rash"]


# ----- fifth batch: the temperature asked after an infection ---------------------------------------------

def test_an_infection_diagnosis_gets_the_temperature_asked() -> None:
    def facts(diagnosis: str) -> frozenset[str]:
        return derive_facts(diagnosis=diagnosis, surgery=False, medications=(), revisits=(), reexams=(),
                            call_date=dt.date(2026, 11, 20))
    assert "infection" in facts("Cellulitis of the right lower leg".lower())
    assert "infection" in facts("社区获得性肺炎")
    assert "infection" not in facts("高血压2级")
    general = FLOWS.flows["general"] if hasattr(FLOWS, "flows") else None
    if general is not None:
        temp = next(s for s in general.steps if s.collect == "temperature")
        assert "infection" in str(temp.condition)


def test_no_fever_and_no_reading_to_the_temperature_question_is_neither_stored_nor_a_nurse_call() -> None:
    engine = _engine("temperature")
    engine.handle("没烧，也没量")
    outcome = engine.outcome()
    assert "temperature" not in outcome and "unclear_fields" not in outcome and not outcome["needs_callback"]
    # near miss: a feeling of fever without a number is not settled — asked again, then a nurse
    engine = _engine("temperature")
    engine.handle("没量，不过摸着有点烫")
    assert engine.outcome().get("unclear_fields") == ["temperature"] or engine.state.unclear_tries == 1


def test_seeing_stars_from_hunger_is_no_dizziness() -> None:
    assert present("一般吧，住院那几天不让吃饭，饿得我眼冒金星") is None
    assert present("起来的时候头发昏，眼冒金星") == ["dizziness"]


# ----- sixth batch -----------------------------------------------------------------------------------

def test_swelling_gone_down_is_no_edema_but_not_yet_gone_down_is() -> None:
    assert present("胸口不闷了，腿也消肿了") == []
    assert present("腿还没消肿") == ["edema"]


def test_feeling_sick_without_vomiting_is_still_nausea() -> None:
    assert present("想吐，没吐出来") == ["nausea_vomiting"]
    assert present("吃完饭恶心，想吐，吐倒是没吐") == ["nausea_vomiting"]
    assert present("不恶心，也没吐") == []


def test_all_well_then_a_trait_that_was_always_there_is_nothing_new() -> None:
    assert parse_field("symptoms", "他啥都好，就是不爱说话，本来就这样", "zh").value["present"] == []
    assert present("他啥都好，就是腿有点肿") == ["edema"]


def test_up_half_the_night_is_insomnia() -> None:
    assert present("I'm up half the night, can't settle", "en") == ["insomnia"]


def test_all_except_one_drug_and_taking_it_only_when_the_reading_is_high() -> None:
    en = _meds(("Aspirin", "aspirin", "antiplatelet"), ("Atorvastatin", "atorvastatin", "statin"),
               ("Amlodipine", "amlodipine", "antihypertensive"))
    assert parse_field("medication_adherence", "All except the aspirin", "en", {"medications": en}).value == \
        {"adherence": "partial", "missed": ["Aspirin"]}
    value = parse_field("medication_adherence", "I only take the blood pressure one when my pressure is high", "en",
                        {"medications": en}).value
    assert value == {"adherence": "partial", "missed": ["Amlodipine"]}
    assert parse_field("medication_adherence", "All of them, every day", "en", {"medications": en}).value == \
        {"adherence": "full", "missed": []}


def test_how_i_was_when_i_left_is_the_same() -> None:
    assert parse_field("overall_condition", "Pretty much how I was when I left", "en").value == "same"


# ----- seventh batch: overall condition, pain now, a miss of every pill ---------------------------------

def test_more_everyday_verdicts_on_the_overall_condition() -> None:
    assert parse_field("overall_condition", "还是那个样子", "zh").value == "same"
    assert parse_field("overall_condition", "这两天又不太行了", "zh").value == "worse"
    assert parse_field("overall_condition", "感觉比出院的时候虚", "zh").value == "worse"
    assert parse_field("overall_condition", "好得差不多了", "zh").value == "better"
    assert parse_field("overall_condition", "不咋好，老没劲", "zh").value == "worse"
    assert parse_field("overall_condition", "Same as before, really", "en").value == "same"
    # near miss: 还行 stays same
    assert parse_field("overall_condition", "还行", "zh").value == "same"


def test_the_score_said_with_now_is_the_pain_now() -> None:
    assert parse_field("pain_score", "It's a two now, it was a six last week", "en").value == 2
    assert parse_field("pain_score", "刚开始八分，现在六分", "zh").value == 6


def test_forgot_my_pills_is_a_miss_of_every_drug() -> None:
    en = _meds(("Aspirin", "aspirin", "antiplatelet"), ("Atorvastatin", "atorvastatin", "statin"))
    value = parse_field("medication_adherence", "Went away for the weekend and forgot my pills, so two days without any", "en",
                        {"medications": en}).value
    assert value["adherence"] == "partial" and sorted(value["missed"]) == ["Aspirin", "Atorvastatin"]


# ----- eighth batch: English everyday words -------------------------------------------------------------

def test_ending_my_life_is_suicidal_and_its_denial_is_not() -> None:
    assert present("I've thought about ending my life", "en") == ["suicidal_ideation"]
    assert present("I'd never think about ending my life, no.", "en") == []


def test_english_everyday_words_for_swelling_mood_and_sleep() -> None:
    assert present("Her legs have blown up like balloons", "en") == ["edema"]
    assert present("Feeling a bit blue, to be honest", "en") == ["low_mood"]
    assert present("Hardly sleeping", "en") == ["insomnia"]
    assert parse_field("symptoms", "He's been right as rain", "en").value["present"] == []
