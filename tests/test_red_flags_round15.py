"""Round 18 corpus, session 15 (issue #12): red flags told in passing in long phone answers, in dialect and in the
English of several countries (evaluation/data/understanding/train18-*.yaml) — raised red through the engine; the near
misses of the same kind (someone else's, on TV, before the admission, idioms) raise none."""

from __future__ import annotations

import pytest

from dialogs.context import Medication
from tests.conftest import step_engine


def run(field: str, text: str, lang: str, **context: object) -> tuple[set[str], object]:
    engine = step_engine((field,), lang, **context)
    engine.handle(text)
    return {f["level"] for f in engine.state.flags}, engine.state.collected.get(field)


def meds(*names: str) -> tuple[Medication, ...]:
    return tuple(Medication(item_id=i, name=n, generic_name=None, drug_class=None) for i, n in enumerate(names, 1))


@pytest.mark.parametrize("text, lang, code", [
    ("我老伴说他这两天说话跟喝醉了一样，想说杯子说成帽子", "zh", "slurred_speech"),
    ("阿爸今朝讲嘢含含糊糊，听唔明佢讲乜", "zh", "slurred_speech"),
    ("我们老汉儿这两天脑壳不清醒了，自己屋头都认不到了", "zh", "confusion"),
    ("佢琴日唔识得返屋企，喺楼下兜咗好耐", "zh", "confusion"),
    ("有时谂，死咗都好，唔使再辛苦落去", "zh", "suicidal_ideation"),
    ("解完大便一看，马桶里也是一片红", "zh", "melena"),
    ("吐了一大口，吐出来是红的", "zh", "hematemesis"),
    ("我阿妈左手提唔起，今朝突然咁", "zh", "limb_weakness"),
    ("My husband says I'm talking like a drunk man since yesterday.", "en", "slurred_speech"),
    ("Since this morning his words are scattering.", "en", "slurred_speech"),
    ("My grandmother's face one side drop down this morning.", "en", "facial_droop"),
    ("His mouth is turning to one side since yesterday.", "en", "facial_droop"),
    ("Sometimes I tell myself it is better I die.", "en", "suicidal_ideation"),
    ("When I cough in the morning there is blood inside the sputum.", "en", "hemoptysis"),
])
def test_a_red_finding_told_by_what_it_does_or_in_dialect(text: str, lang: str, code: str) -> None:
    levels, value = run("symptoms", text, lang)
    assert "red" in levels
    assert code in value


@pytest.mark.parametrize("text, lang", [
    ("昨天下午坐到屋头打麻将，胸口突然痛起来，歇了好半天都没松", "zh"),      # seated at a game; not eased
    ("琴日坐喺度，心口好似俾人揸住咁，揸咗成个钟都未松", "zh"),             # a fist round the chest, an hour
    ("Last night I wake up cannot breathe, must sit up by the bed.", "en"),   # woken breathless
    ("I'm on the blood thinner and my nose has started pouring, it went on for over an hour.", "en"),
    ("I cut myself shaving and it would not stop, I held a tissue on it for two hours.", "en"),
])
def test_red_by_its_circumstance(text: str, lang: str) -> None:
    assert "red" in run("symptoms", text, lang)[0]


def test_a_wound_opening_with_a_gap_is_dehiscence() -> None:
    levels, value = run("wound", "The wound is opening, the stitches have cut and there is a gap.", "en", post_surgery=True)
    assert value == "dehiscence" and "red" in levels


@pytest.mark.parametrize("text, lang", [
    ("我好得很，是我们楼下那个李大爷，前天晕倒了", "zh"),                     # a clause that only names them, then theirs
    ("俺没事儿，俺家老头子倒是前两天说话舌头发硬", "zh"),
    ("我是好额，阿拉老太婆前两天跌了一跤，昏过去了", "zh"),
    ("那个脸歪嘴斜的是我们病房隔壁床的大爷，我可没有", "zh"),
    ("没有，我好着呢，电视上那个节目说中风的人会嘴歪说话不清", "zh"),        # what TV says
    ("我没事，就是看新闻说有个老太太在超市晕倒了", "zh"),
    ("No, I'm okay, I was watching a show about strokes, face drooping and slurred speech and all that.", "en"),
    ("There was a piece on the news about people bleeding on blood thinners, but I've had nothing like that.", "en"),
    ("Me? I'm champion. It's the wife who's had the chest pains, she's seeing the GP.", "en"),
    ("No o, that one na my neighbour, the one who was vomiting blood, me I am fine.", "en"),
    ("晕倒那次是住院之前的事了，就是因为晕倒才去的医院", "zh"),               # before the admission
    ("吐血是进医院之前，回家以后再没吐过", "zh"),
    ("Blood vomiting was before admission, sir, there is nothing now.", "en"),
    ("没事儿，上礼拜喝酒舌头都喝大了，哈哈", "zh"),                           # an idiom
])
def test_someone_elses_or_before_the_admission_is_no_finding(text: str, lang: str) -> None:
    assert run("symptoms", text, lang) == (set(), [])


def test_a_clause_going_on_after_a_time_before_the_admission_is_of_that_time() -> None:
    levels, value = run("overall_condition", "好多了，住院前那会儿天天胸口疼，晕倒过两回，现在啥事没有", "zh")
    assert value == "better" and "red" not in levels


def test_a_grandchilds_fever_in_cantonese_is_not_the_patients_reading() -> None:
    assert "red" not in run("symptoms", "我冇事，系我个孙发烧，三十九度", "zh")[0]


def test_exertional_tightness_never_at_rest_is_yellow() -> None:
    levels, value = run("symptoms", "I get tightness in my chest going up the hill, it goes when I stop, never when I'm resting.", "en")
    assert levels == {"yellow"} and value == ["chest_tightness"]


def test_a_promise_not_to_do_anything_foolish_denies_the_thought_of_death() -> None:
    levels, value = run("symptoms", "睡不着觉，寻思着活着没劲，但是你放心，我不会干傻事", "zh")
    assert "red" not in levels and "suicidal_ideation" not in value


def test_packets_muddled_is_no_confusion_and_a_drug_never_missed_is_not_missed() -> None:
    levels, value = run("medication_adherence", "I've missed a couple of the warfarin, the packets got muddled, but the "
                        "metoprolol I've not missed once.", "en", medications=meds("Warfarin", "Metoprolol"))
    assert value == "partial" and "red" not in levels


def test_an_insulin_dose_just_given_before_a_skipped_meal_is_taken() -> None:
    levels, value = run("medication_adherence", "都打着呢，就是前天晚上打完胰岛素没吃饭，半夜测了个血糖二点九", "zh",
                        medications=meds("门冬胰岛素注射液", "二甲双胍片"))
    assert value == "full" and "red" in levels


def test_not_knowing_whether_one_will_make_it_is_no_doubt_about_the_booking() -> None:
    levels, value = run("revisit_booked", "Yes, it's all booked for the fourteenth. I don't know if I'll make it, "
                        "I've been coughing up blood since the weekend.", "en")
    assert value is True and "red" in levels


def test_puzzlement_about_a_symptom_is_no_hedge_on_the_condition() -> None:
    levels, value = run("overall_condition", "比以前好点了吧，就是这两天晚上躺不平，一躺下就喘不上气，我也不知道咋回事", "zh")
    assert value == "better" and "red" in levels


def test_it_taking_up_a_chest_pain_is_the_same_finding() -> None:
    levels, value = run("symptoms", "My chest is paining me since morning, even now lying down it is still paining me.", "en")
    assert value == ["chest_pain"] and "red" in levels


def test_blood_brought_up_on_coughing_is_no_vomiting() -> None:
    assert run("symptoms", "Brought up a bit of blood this morning when I coughed, bright red.", "en")[1] == ["hemoptysis"]


def test_a_time_of_day_then_a_reading_in_words() -> None:
    assert run("blood_pressure", "BP this morning one thirty-two over eighty, normal lah.", "en")[1] == \
        {"systolic": 132, "diastolic": 80}


def test_breathless_only_in_the_first_days_home_and_now_up_five_floors_is_resolved() -> None:
    assert run("symptoms", "刚回来那两天爬楼还喘，现在五楼一口气就上去了", "zh") == (set(), [])


def test_a_heart_not_right_is_low_mood_not_fatigue() -> None:
    assert run("symptoms", "这两天心里老不得劲儿，也没想不开", "zh")[1] == ["low_mood"]


@pytest.mark.parametrize("text, lang", [
    ("我挺好的，我们楼下老张，前两天吐血了", "zh"),                        # a neighbour named by surname
    ("住院前那阵子老晕倒，吐过两回血，出院以后都没有了", "zh"),            # all of the time before the admission
])
def test_more_near_misses_raise_nothing(text: str, lang: str) -> None:
    assert run("symptoms", text, lang) == (set(), [])


@pytest.mark.parametrize("text, lang", [
    ("The blood is coming from nose since one hour, not stopping.", "en"),
    ("Since morning my father is not able to talk properly and his mouth is deviated to one side.", "en"),
    ("我这两天说话嘴里像含了个枣", "zh"),
])
def test_more_red_findings(text: str, lang: str) -> None:
    assert "red" in run("symptoms", text, lang)[0]
