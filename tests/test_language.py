"""The language layer (language/): one test per context trigger row and per mechanism, on the real
lexicon, context rules and cue tables. A row added to context_rules.yaml without an example here fails
test_every_trigger_row_has_a_test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from dialogs.flags import symptom_level
from dialogs.understanding import normalize
from language.context import RULES_PATH, assess
from language.cues import sentence_cues
from language.lexicon import expand_windows, match_symptoms
from language.symptoms import parse_symptoms


def statuses(text: str, lang: str, respondent: str | None = None) -> dict[str, tuple[str, str | None]]:
    """code → (status, trigger) of the last mention of each code."""
    return {m.code: (m.status, m.trigger) for m in assess(normalize(text), lang, respondent=respondent)}


def present(text: str, lang: str = "zh") -> list[str] | None:
    value = parse_symptoms(normalize(text), lang).value
    return None if value is None else sorted(value["present"])


def level(text: str, code: str, lang: str = "zh") -> str:
    value = parse_symptoms(normalize(text), lang).value
    assert value and code in value["present"], (text, value)
    return symptom_level(code, value["cues"][code])[0]


# ----- one example per trigger row: (trigger id, lang, text, code, status) ------------------------------

TRIGGER_CASES = [
    ("zh-neg-pre", "zh", "没有胸痛", "chest_pain", "negated"),
    ("zh-neg-post", "zh", "胸痛没有", "chest_pain", "negated"),
    ("zh-neg-list", "zh", "胸痛啊，气短啊，都没有", "dyspnea", "negated"),
    ("zh-neg-list-repeat", "zh", "胸痛胸闷心慌气短，这些统统没有", "palpitations", "negated"),
    ("zh-neg-answer", "zh", "胸口疼？没有的事", "chest_pain", "negated"),
    ("en-neg-answer", "en", "Short of breath? Me? No.", "dyspnea", "negated"),
    ("en-neg-cant-say", "en", "I can't say I've had any chest pain, no.", "chest_pain", "negated"),
    ("en-neg-pre", "en", "no chest pain", "chest_pain", "negated"),
    ("en-neg-post", "en", "dizziness not at all", "dizziness", "negated"),
    ("en-neg-list", "en", "Chest pain, fever, none of those.", "fever", "negated"),
    ("zh-neg-normal", "zh", "喘气也匀和，脚也不肿", "dyspnea", "negated"),
    ("zh-neg-list-none-of", "zh", "心慌气短发烧，您问的这几样我是一样都没有", "fever", "negated"),
    ("zh-neg-not-once", "zh", "胸闷回家以后一次也没发过", "chest_tightness", "negated"),
    ("zh-neg-not-once-sentence", "zh", "那个头晕啊，出院以后一次没犯", "dizziness", "negated"),
    ("zh-hypo-ask", "zh", "腿肿要紧吗", "edema", "hypothetical"),
    ("en-hypo-ask", "en", "does a cough mean the heart?", "cough", "hypothetical"),
    ("en-resolved-fixed", "en", "I was constipated at first but more fibre did the trick", "constipation", "resolved"),
    ("en-resolved-fine-now", "en", "I had a headache on Monday but I'm fine now", "headache", "resolved"),
    ("zh-other-pet", "zh", "我家猫咪这两天老吐", "nausea_vomiting", "other_person"),
    ("zh-other-media", "zh", "电视上那个节目说中风的人会嘴歪", "facial_droop", "other_person"),
    ("en-other-media", "en", "There was a piece on the news about people fainting in the heat.", "syncope", "other_person"),
    ("en-other-it-is", "en", "It's my husband who has the cough.", "cough", "other_person"),
    ("zh-repair", "zh", "拉肚子，不是，是便秘", "diarrhea", "negated"),
    ("en-repair", "en", "I had a fever, no wait, it was a headache", "fever", "negated"),
    ("zh-resolved-post", "zh", "头晕已经好了", "dizziness", "resolved"),
    ("zh-resolved-long-ago", "zh", "吐血那个事早就没了", "hematemesis", "historical"),
    ("en-historical-admitted-for", "en", "Awful breathlessness, that's why I was admitted", "dyspnea", "historical"),
    ("zh-resolved-long-ago-sentence", "zh", "晕倒那个，早就过去了", "syncope", "historical"),
    ("en-improving-back", "en", "The wheeze is settling down nicely", "dyspnea", "historical"),
    ("zh-resolved-had", "zh", "头疼是有过，一天就好了", "headache", "resolved"),
    ("zh-resolved-scab", "zh", "疱疹都结痂掉了", "rash", "resolved"),
    ("zh-no-further-thoughts", "zh", "老觉得自己拖累儿女，不过也没想别的", "suicidal_ideation", "negated"),
    ("en-resolved-scab", "en", "The rash has scabbed over now.", "rash", "resolved"),
    ("zh-improving-post", "zh", "咳嗽比在医院的时候轻多了", "cough", "historical"),
    ("en-longstanding-sentence", "en", "My hands tingle, but that's my carpal tunnel, I've had it for years", "limb_weakness", "historical"),
    ("zh-improving-sentence", "zh", "不烧了，就偶尔咳两声，比在医院的时候轻多了", "cough", "historical"),
    ("en-improving-post", "en", "Still a bit of a cough first thing, but nowhere near what it was", "cough", "historical"),
    ("zh-drug-for", "zh", "止吐的药我只吃过两回", "nausea_vomiting", "hypothetical"),
    ("en-drug-for", "en", "The nausea one I've only needed twice", "nausea_vomiting", "hypothetical"),
    ("zh-resolved-sentence", "zh", "咳嗽，现在好了", "cough", "resolved"),
    ("zh-resolved-clause", "zh", "上个礼拜咳了几天，吃了点药已经好了", "cough", "resolved"),
    ("zh-historical-pre", "zh", "住院前就胸闷", "chest_tightness", "historical"),
    ("zh-historical-post", "zh", "腰疼是老毛病了", "pain", "historical"),
    ("zh-historical-when", "zh", "晕倒过，那是前年的事了", "syncope", "historical"),
    ("en-historical-when", "en", "I fainted once, but that was two years ago", "syncope", "historical"),
    ("zh-historical-sentence", "zh", "睡不着，几十年了", "insomnia", "historical"),
    ("en-historical-sentence", "en", "My knees ache, but that's been years.", "pain", "historical"),
    ("en-resolved-post", "en", "the dizziness has gone", "dizziness", "resolved"),
    ("en-resolved-sentence", "en", "I had one dizzy spell. Never came back after that.", "dizziness", "resolved"),
    ("en-historical-pre", "en", "before I went in I had terrible chest pain", "chest_pain", "historical"),
    ("en-historical-post", "en", "the cough I had on the ward", "cough", "historical"),
    ("zh-hypo-pre", "zh", "要是胸口再疼我就去医院", "chest_pain", "hypothetical"),
    ("zh-hypo-question", "zh", "胸闷算是哪种病啊？", "chest_tightness", "hypothetical"),
    ("zh-hypo-what", "zh", "啥叫气短？", "dyspnea", "hypothetical"),
    ("zh-hypo-dream", "zh", "昨晚做梦梦见自己晕倒了", "syncope", "hypothetical"),
    ("en-hypo-dream", "en", "I dreamt I had chest pain", "chest_pain", "hypothetical"),
    ("zh-hypo-told", "zh", "医生说胸口疼超过一刻钟就打120", "chest_pain", "hypothetical"),
    ("en-hypo-question", "en", "Is it normal to get headaches after a stent?", "headache", "hypothetical"),
    ("en-hypo-pre", "en", "if I get chest pain I'll ring", "chest_pain", "hypothetical"),
    ("zh-when-post", "zh", "咳嗽的时候刀口疼", "cough", "hypothetical"),
    ("zh-when-then-drug", "zh", "喘了就用那个喷的药，最近都没用过", "dyspnea", "hypothetical"),
    ("en-when-pre", "en", "the scar hurts when I cough", "cough", "hypothetical"),
    ("en-when-drug", "en", "The liquid one she's had maybe twice when the pain flared.", "pain", "hypothetical"),
    ("zh-other-pre", "zh", "隔壁床那个老王老头晕", "dizziness", "other_person"),
    ("zh-other-family", "zh", "我没事，倒是我老伴这两天咳嗽", "cough", "other_person"),
    ("zh-other-is", "zh", "没得啥子。咳嗽的是我老婆子，她感冒了", "cough", "other_person"),
    ("zh-other-was", "zh", "那个咳嗽啊，是我们隔壁老张，不是我", "cough", "other_person"),
    ("en-other-pre", "en", "my neighbour has a terrible cough", "cough", "other_person"),
    ("en-other-family", "en", "Not me, but my husband's got a terrible cough.", "cough", "other_person"),
    ("en-other-speaker", "en", "He's fine. I'm the one with the cough, I caught it off the grandkids.", "cough", "other_person"),
    ("en-other-only-one", "en", "The only one coughing in this house is the dog.", "cough", "other_person"),
    ("zh-other-speaker", "zh", "我妈没什么，我这当闺女的累得腰疼倒是", "pain", "other_person"),
    ("zh-historical-before-admission", "zh", "那个黑便啊，住院前有过", "melena", "historical"),
    ("zh-unchanged-sentence", "zh", "手抖，跟出院时候一样", "hypoglycemia_symptoms", "historical"),
    ("zh-unchanged-post", "zh", "手抖还那样", "hypoglycemia_symptoms", "historical"),
    ("en-longstanding-bare", "en", "Pins and needles in my feet, but that's the diabetes, had it for ages", "limb_weakness", "historical"),
    ("zh-historical-years-sentence", "zh", "手有点麻，这个麻了好几年了", "limb_weakness", "historical"),
    ("en-neg-no-have", "en", "Tummy okay. Blood no have, I checked every time.", "bleeding", "negated"),
]
# Rows that apply only when a family member answers (only_for_family): their example is said by one.
FAMILY_ONLY = {"en-other-speaker", "zh-other-speaker"}


@pytest.mark.parametrize(("trigger", "lang", "text", "code", "status"), TRIGGER_CASES)
def test_trigger_row(trigger: str, lang: str, text: str, code: str, status: str) -> None:
    got = statuses(text, lang, "family" if trigger in FAMILY_ONLY else None)
    assert code in got, (text, got)
    assert got[code] == (status, trigger)


def test_every_trigger_row_has_a_test() -> None:
    rows = {row["id"] for row in yaml.safe_load(Path(RULES_PATH).read_text(encoding="utf-8"))["triggers"]}
    assert rows == {case[0] for case in TRIGGER_CASES}


# ----- lexicon mechanisms ----------------------------------------------------------------------------

def test_word_windows_expand_in_order_or_either_order() -> None:
    either = re.compile(expand_windows(r"\bchest ~4~ tight", "en"), re.I)
    assert either.search("a tightness right across my chest") and either.search("my chest feels all tight")
    assert not either.search("my chest, tight")                 # no window over a clause break
    assert not either.search("my chest is not tight")            # nor over a negation
    ordered = re.compile(expand_windows("胸 ~3 堵", "zh"))
    assert ordered.search("胸口那儿堵") and not ordered.search("堵在胸口")


def test_colloquial_and_lay_terms() -> None:
    assert present("肚儿痛") == ["abdominal_pain"]
    assert present("脑壳痛，痛了好几天了") == ["headache"]
    assert present("心口堵得慌") == ["chest_tightness"]
    assert present("喘不赢") == ["dyspnea"]
    assert present("拉的屎黑得发亮") == ["melena"]
    assert present("痰里有血丝") == ["hemoptysis"]                # not cough
    assert present("吐出来的东西是咖啡色的") == ["hematemesis"]
    assert present("嘴角往一边斜") == ["facial_droop"]
    assert present("拿筷子老掉") == ["limb_weakness"]
    assert present("I've had the trots for three days", "en") == ["diarrhea"]
    assert present("I get puffed going up the stairs", "en") == ["dyspnea"]
    assert present("I'm absolutely knackered", "en") == ["fatigue"]
    assert present("It burns when I pee", "en") == ["urinary_problem"]
    assert present("the whites of my eyes have gone yellow", "en") == ["jaundice"]
    assert present("I coughed up blood-stained spit", "en") == ["hemoptysis"]
    assert present("a heavy feeling in my chest", "en") == ["chest_tightness"]


def test_word_boundaries_keep_words_apart() -> None:
    assert present("My husband is in the kitchen", "en") is None        # kitchen is no itch
    assert present("He retired twenty years ago", "en") is None         # retired is not tired


def test_a_window_over_a_list_is_not_one_mention() -> None:
    assert [c for c, _, _ in match_symptoms("胸痛胸闷都没有", "zh")] == ["chest_pain", "chest_tightness"]
    assert [c for c, _, _ in match_symptoms("I've been coughing up blood", "en")] == ["hemoptysis"]


def test_compound_phrases_give_several_codes() -> None:
    assert present("打摆子一样，一阵冷一阵热") == ["chills", "fever"]
    assert present("feel hot and cold", "en") == ["chills", "fever"]


def test_generic_word_dropped_only_next_to_the_specific_one() -> None:
    assert present("咳嗽有点血丝") == ["hemoptysis"]
    assert present("Bad headache since this morning, and my whole body is achy.", "en") == ["headache", "pain"]


# ----- context mechanisms ----------------------------------------------------------------------------

def test_last_word_on_a_code_wins() -> None:
    assert present("刚回来的时候头晕，调了药就不晕了") == []


def test_events_since_discharge_persist() -> None:
    assert present("晕倒过一次，现在好了") == ["syncope"]
    assert present("I passed out on Monday. It's fine now.", "en") == ["syncope"]


def test_denied_with_le_is_no_longer() -> None:
    assert statuses("头晕，现在不晕了", "zh")["dizziness"][0] == "resolved"


def test_family_rows_need_a_self_contrast() -> None:
    assert present("我老伴刚才突然说不出话了") == ["slurred_speech"]        # a wife speaking for the patient
    assert present("My husband passed out in the kitchen this morning.", "en") == ["syncope"]
    assert present("我没事，倒是我老伴这两天咳嗽") == []
    assert statuses("我老伴咳嗽", "zh", respondent="family")["cough"][0] == "present"


def test_the_person_carries_on_over_clauses() -> None:
    assert present("My sister had a stroke, her speech went all slurred. But no, nothing like that with me.",
                   "en") == []
    assert present("隔壁老李出院后又住进去了，说是胸闷，我倒没事") == []


def test_pseudo_triggers_and_episodic_relief() -> None:
    assert present("晚上睡觉躺不下去一躺就喘要坐起来") == ["dyspnea"]   # 躺不下 denies nothing
    assert present("爬楼梯胸口发紧，停下来一两分钟就没事了") == ["chest_tightness"]  # relieved, not resolved


def test_a_time_said_inside_a_mention_governs_it() -> None:
    # "腿原先麻": the time sits between the body part and the symptom word, inside the mention.
    assert present("腿原先麻得跟过电似的，做完手术就不麻了，现在利利索索的") == []
    assert present("腿以前肿，现在消了") == []
    assert present("腿现在麻得厉害") == ["limb_weakness"]                  # "now" is no time before
    assert present("腿要是麻了怎么办") in ([], None)                         # a worry, not a finding


def test_the_hand_of_an_operation_is_no_hand() -> None:
    assert present("做完手术就不麻了") in ([], None)                          # 手术 names no hand
    assert present("做完手术手麻") == ["limb_weakness"]                       # the hand after it still counts
    assert present("手一阵一阵麻，后来就不麻了") == ["limb_weakness"]           # a passing episode persists


def test_nothing_new_and_worries_are_an_empty_list() -> None:
    assert present("莫得，啥子都莫得") == []
    assert present("要是胸口再疼我就去医院") == []
    assert present("胸闷算是哪种病啊？") is None                          # a question stays open
    assert present("啥也没干坐着") is None                                 # "did nothing" is no denial


# ----- cues and flags --------------------------------------------------------------------------------

def test_rest_cues_make_chest_pain_and_dyspnea_red() -> None:
    assert level("I've been getting chest pain even when I'm just sitting watching the telly.", "chest_pain", "en") == "red"
    assert level("I can't lie flat any more, I sleep propped up on four pillows.", "dyspnea", "en") == "red"
    assert level("晚上躺不平，一躺下就憋气，得垫三个枕头才能睡", "dyspnea") == "red"
    assert level("I get puffed going up the stairs", "dyspnea", "en") == "yellow"
    assert level("气短比住院前还厉害", "dyspnea") == "yellow"             # at rest only, not "worse"


def test_durations_in_words() -> None:
    assert sentence_cues("疼了有个把钟头了")["duration_min"] == 60
    assert sentence_cues("有十几分钟吧")["duration_min"] == 15
    assert level("It felt like someone was sitting on my chest. It went on a good twenty minutes.",
                 "chest_tightness", "en") == "red"                       # duration in the next sentence


def test_a_negated_cue_word_does_not_count() -> None:
    assert "severe" not in sentence_cues("有一点点胸闷，也不厉害")
    assert level("有一点点胸闷，也不厉害，上坡的时候才有", "chest_tightness") == "yellow"


def test_bleeding_that_would_not_stop_is_red() -> None:
    assert level("I had a nosebleed yesterday that wouldn't stop.", "bleeding", "en") == "red"
    assert level("鼻子出血出了好久才止住", "bleeding") == "red"
    assert level("牙龈刷牙的时候出点血", "bleeding") == "yellow"


def test_gradual_numbness_is_yellow_sudden_weakness_red() -> None:
    assert level("手指头有点麻，时有时无的", "limb_weakness") == "yellow"
    assert level("左腿突然软了一下", "limb_weakness") == "red"


def test_glucose_said_with_symptoms() -> None:
    assert sentence_cues("I went all shaky and my sugar was 2.8")["glucose"] == 2.8
    assert sentence_cues("my sugar ran 230")["glucose"] == 12.8          # mg/dL


# ----- semantic matching -----------------------------------------------------------------------------

class _FixedEmbedder:
    """Embeds a bank phrase to its own axis; any other text to a mix that scores `score` on the first."""

    def __init__(self, texts: list[str], score: float) -> None:
        self.texts, self.score = texts, score

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        n = len(self.texts)
        rows = []
        for t in texts:
            if t in self.texts:
                rows.append([1.0 if i == self.texts.index(t) else 0.0 for i in range(n)])
            else:
                rest = (1 - self.score ** 2) ** 0.5
                rows.append([self.score] + [rest] + [0.0] * (n - 2))
        return rows


def test_semantic_symptoms_need_a_near_paraphrase_and_only_when_the_lexicon_found_nothing() -> None:
    from language.semantic import BankEntry, SemanticMatcher, SemanticOptions

    entries = (BankEntry("symptom", "melena", "zh", "大便是黑色的"), BankEntry("symptom", "edema", "zh", "鞋子穿不进去"))
    close = SemanticMatcher(_FixedEmbedder([e.text for e in entries], 0.995), entries=entries, options=SemanticOptions())
    near = SemanticMatcher(_FixedEmbedder([e.text for e in entries], 0.982), entries=entries, options=SemanticOptions())
    assert parse_symptoms("颜色像墨一样的东西", "zh", semantic=close).value["present"] == ["melena"]
    assert parse_symptoms("颜色像墨一样的东西", "zh", semantic=near).value is None    # below the zh floor
    assert parse_symptoms("头晕，颜色像墨一样的东西", "zh", semantic=close).value["present"] == ["dizziness"]


@pytest.mark.models
def test_semantic_with_the_packaged_embedder() -> None:
    from language.semantic import SemanticMatcher
    from models.embeddings import build_embedder
    from suifang.config import load_settings

    matcher = SemanticMatcher(build_embedder(load_settings()))
    assert parse_symptoms("大便是黄色的", "zh", semantic=matcher).value is None          # no false melena


def test_a_rest_cue_denied_after_it_is_no_rest() -> None:
    assert level("平时坐着都好好的，那天上三楼心口有点闷，歇了两三分钟就好了", "chest_tightness") == "yellow"
    assert level("走快了胸口会疼一下，停下来一两分钟就过去了，坐着从来没疼过", "chest_pain") == "yellow"
    assert level("胸口闷，坐着也闷，闷了半个钟头", "chest_tightness") == "red"


def test_a_denial_under_a_circumstance_of_rest_leaves_the_symptom() -> None:
    assert present("走个坡坡就喘，不过坐着的时候就没啥子，不喘") == ["dyspnea"]
    assert present("On the stairs I get puffed. When I'm sitting I'm not breathless at all.", "en") == ["dyspnea"]
    assert present("喘了两天，现在不喘了") == []


def test_near_misses_and_idioms_are_no_finding() -> None:
    assert present("出冷汗，手抖，差点晕过去，吃了两块糖就好了") == ["hypoglycemia_symptoms"]
    assert "syncope" not in (present("Had the bloods done, I nearly fainted, I'm hopeless with needles.", "en") or [])
    assert "confusion" not in (present("我是杨丽华，一九五七…不对，一九五八年，老糊涂了") or [])


def test_dialect_denials_and_a_trailing_pause() -> None:
    assert present("冇啊，冇乜嘢唔舒服，胸口唔痛，都几好嘅") == []
    assert present("胸痛是没有，胸闷也没有，头晕嘛…也没有") == []
    assert present("没有胸痛胸闷，大便是黄的不是黑的") == []


def test_stool_told_by_comparison_is_melena() -> None:
    assert present("大便这两天颜色不对，黑乎乎的，像柏油一样") == ["melena"]
    assert "melena" in (present("When I go to the toilet it's been black, like the tar they put on the road.", "en") or [])


def test_red_flags_told_as_stories() -> None:
    assert "syncope" in present("蹲厕所起来那一下，眼前发黑，后面的事我就不晓得了。我老伴说我在地上躺了有一会儿")
    assert "hematemesis" in present("昨晚吐了，吐出来黑乎乎的，像咖啡渣子，一共吐了两回")
    assert "suicidal_ideation" in present("就是晚上会想，要是哪天就这么过去了也挺好，不用再麻烦谁")
    assert "suicidal_ideation" in present("She's been giving away her jewellery, telling us she won't be needing them.", "en")
    assert level("心口这块儿，就这儿，像压了块大石头。昨天晚上坐沙发上看电视的时候来的，我动都没动，压了二十来分钟",
                 "chest_tightness") == "red"
    assert "syncope" not in (present("I thought I was getting a cold, but it came to nothing.", "en") or [])


def test_a_low_sugar_measured_without_a_label_is_read_only_in_a_low() -> None:
    assert sentence_cues("浑身冷汗，手抖得厉害，测了一下才二点八")["glucose"] == 2.8
    assert sentence_cues("Woke up drenched and shaking, the reading was sixty-two.")["glucose"] == 3.4
    assert "glucose" not in sentence_cues("I get a bit dizzy, the reading was sixty-two on the pulse thing.")


def test_readings_about_someone_else_or_a_condition_are_not_the_patients() -> None:
    from dialogs.understanding import readings_in_passing
    assert readings_in_passing("我没事，是我孙子这两天发烧，三十九度多，我在医院陪他呢", "zh") == {}
    assert readings_in_passing("医生说如果烧到三十八度五以上就要回医院，我天天量，都是三十六度多", "zh") == {}
    assert readings_in_passing("Not me, it's my grandson who's got the temperature, a hundred and three. I'm fine.", "en") == {}
    assert readings_in_passing("我发烧了，体温三十九度二", "zh")["temperature"] == 39.2


def test_rest_said_as_able_or_fine_is_no_rest_and_gradual_stays_gradual() -> None:
    assert level("脚有点肿，喘气比以前粗了。不过躺下还能躺平，就是上楼的时候喘。", "dyspnea") == "yellow"
    assert level("I'm breathless going up the stairs. Fine sitting down though.", "dyspnea", "en") == "yellow"
    assert level("Pins and needles in both feet, creeping on over the last couple of weeks, not all of a sudden.",
                 "limb_weakness", "en") == "yellow"
    assert "dyspnea" not in (present("Missed my insulin two nights, I fell asleep in the chair.", "en") or [])


def test_a_family_member_tells_of_withdrawal_sleeplessness_and_saved_up_pills() -> None:
    assert present("她不怎么说话，一天到晚躺着，她都没睡。我问她攒药干什么，她说“攒够了，就不用再拖累你们了”。") == \
        ["insomnia", "low_mood", "suicidal_ideation"]


# ----- calls set 4 mechanisms (own wording, not the scenarios') ---------------------------------------

def test_an_event_gone_long_ago_is_no_finding_but_one_since_discharge_stays() -> None:
    # "早就…没了" is the trouble that brought the patient in; "…现在好了" is an event since discharge.
    assert present("拉黑大便的情况老早就没了，现在颜色正常") == []
    assert present("大便发黑啊，早就没有了") == []
    assert present("前两天解了黑大便，现在好了") == ["melena"]


def test_a_denial_in_the_mentions_own_words_asserts_no_event() -> None:
    # "手不麻了" on its own tells of no numbness now; numbness told first and then gone stays a finding.
    assert present("手不麻了，走路也稳当") == []
    assert present("昨天左手麻了一阵，后来不麻了") == ["limb_weakness"]


def test_palpitations_in_colloquial_words() -> None:
    assert present("晚上躺着心里发慌") == ["palpitations"]
    assert present("这心呀咚咚咚的直跳") == ["palpitations"]


def test_chest_pressure_in_the_middle_of_the_chest_at_rest_is_red() -> None:
    text = "Sitting in my armchair, not doing a single thing, and there's this heaviness across the front of my chest, half an hour."
    assert present(text, "en") == ["chest_tightness"]
    assert level(text, "chest_tightness", "en") == "red"


def test_a_symptom_easing_in_its_own_clause_is_not_new() -> None:
    assert present("Sleeping better, and the breathlessness is easing up.", "en") in ([], None)
    assert present("The headache is getting worse.", "en") == ["headache"]


def test_a_past_fevers_reading_is_not_the_temperature_now() -> None:
    from dialogs.understanding import readings_in_passing
    assert readings_in_passing("回家第二天发过烧，三十八度二，后来就退了。", "zh") == {}
    assert readings_in_passing("Ran a temperature of thirty-eight four on Tuesday, gone since.", "en") == {}
    assert readings_in_passing("今天还在发烧，三十八度二", "zh")["temperature"] == 38.2


def test_the_story_of_the_admission_is_history_until_the_patient_comes_back_to_now() -> None:
    told = "You know what put me in hospital. I keeled over in the garden and woke up with the paramedics. Nothing like it since."
    assert present(told, "en") in ([], None)
    assert present("That's why I went in. Well, I blacked out again on Sunday.", "en") == ["syncope"]
    assert present("这次住院就是因为大便发黑。出院回来就正常了") in ([], None)
    assert present("这次住院就是因为大便发黑。这两天大便又黑了") == ["melena"]


def test_otherwise_is_no_denial() -> None:
    # "不然/要不然/否则" (otherwise) names what happens without the remedy: the symptom is there.
    assert present("枕头得垫三个，要不然就憋得喘不上气") == ["dyspnea"]
    assert "dyspnea" not in (present("垫高了睡就不喘了") or [])


def test_a_low_sugar_measured_after_a_pause_is_read() -> None:
    assert sentence_cues("浑身直冒虚汗，手也抖。拿仪器测了，就二点六")["glucose"] == 2.6


def test_what_was_before_admission_told_after_the_symptom_is_history() -> None:
    assert present("吐血是入院以前那次的事，回家以后没吐过") in ([], None)


# ----- calls5: understanding that holds on real patients' speech (own wording) ----------------------------

@pytest.mark.parametrize(("text", "lang", "expected"), [
    # gone, in more words ("消下去了", "完全好了", "早不出了", "gone right down", "fine since", "by the morning")
    ("腿肿了几天，这会儿消下去了", "zh", []),
    ("头两天有点心慌。这些天完全好了。", "zh", []),
    ("牙龈出血，早不出了", "zh", ["bleeding"]),     # an event since discharge stays a finding
    ("My feet were puffy but they've gone right down now.", "en", []),
    ("I was dizzy for a day or two, but that's totally gone now.", "en", []),
    ("Bit of a cough after I got home. Fine since.", "en", []),
    ("I had a headache on Monday, but it was gone by the evening.", "en", []),
    # a swelling only somewhat down is still there; a fever that "goes down" at night comes back
    ("脚肿消了一点，还是肿", "zh", ["edema"]),
    ("下午低烧三十七度六，晚上又下去了", "zh", ["fever"]),
])
def test_resolved_said_in_more_ways(text: str, lang: str, expected: list[str]) -> None:
    assert present(text, lang) == expected


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("身上倒是没什么毛病，就是惦记着拿药", "zh", []),
    ("我妈这阵子没喊哪里不舒服", "zh", []),
    ("啥不舒服都没有，天天下楼遛弯", "zh", []),
    ("I feel perfectly fine, went to the shops today.", "en", []),
    ("Fit as a fiddle, thanks.", "en", []),
])
def test_nothing_wrong_said_in_other_words_is_an_empty_list(text: str, lang: str, expected: list[str]) -> None:
    assert present(text, lang) == expected


@pytest.mark.parametrize(("text", "lang"), [
    ("我哥跟我一样的病，他回家以后老心慌，我倒没有", "zh"),
    ("我们家小狗这两天拉肚子，我自己没事", "zh"),
    ("The missus has been coughing all week. I've been fine.", "en"),
    ("My friend from the ward, he rang me, he's had chest pains again. Me, I'm fine.", "en"),
    ("My brother's the one with the dizzy spells. I've had nothing.", "en"),
])
def test_someone_elses_symptoms_over_more_clauses_and_more_kin(text: str, lang: str) -> None:
    assert present(text, lang) == []


def test_a_symptom_named_in_a_general_question_is_asked_about_and_a_report_with_a_question_is_kept() -> None:
    assert present("胸口疼要紧吗？", "zh") is None                 # a question only: asked again, never "no"
    assert present("胸口疼得厉害，要紧吗？", "zh") == ["chest_pain"]  # a report with a question stays a report
    assert present("Is dizziness normal after a stent?", "en") is None
    assert present("Can't breathe properly since this morning.", "en") == ["dyspnea"]
    assert "chest_tightness" not in (present("头晕要紧不要紧，要不要赶紧去医院？", "zh") or [])


def test_a_list_denied_with_one_of_them_not_one() -> None:
    assert present("你说的那些个胸痛啊头晕啊，我们家老爷子一样都没有", "zh") == []
    assert present("胸闷心慌发烧，我一个都没有", "zh") == []
    assert present("胸闷，别的一样都没有", "zh") == ["chest_tightness"]   # "the others": not the one named


def test_spitting_after_brushing_is_no_vomiting_and_noise_keeping_the_house_up_is_no_insomnia() -> None:
    assert present("刷牙牙龈出血，吐出来的水是粉的", "zh") == ["bleeding"]
    assert present("孙子发烧，闹得我一晚上没睡好，我自己没事", "zh") == []
    assert present("刀口疼得睡不着", "zh") == ["insomnia", "wound_pain"]
