"""Train items of earlier authors read by general rows: a new one-sided numbness after a contrast is not
"unchanged" because the old weakness before it is (cues.yaml chronic_contrast); looking for someone long dead is
confusion; "not a single dose missed" is no miss."""

from __future__ import annotations

import pytest

from dialogs.clinical_rules import default_rules
from dialogs.flags import symptom_level
from dialogs.understanding import normalize, parse_field


def symptoms(text: str, lang: str) -> dict:
    return parse_field("symptoms", normalize(text), lang, {}).value or {}


def level(text: str, lang: str, code: str) -> str | None:
    value = symptoms(text, lang)
    if code not in value.get("present", []):
        return None
    return symptom_level(code, value["cues"].get(code) or {}, rules=default_rules())[0]


@pytest.mark.parametrize(("text", "lang"), [
    ("左边手脚没劲是前年中风落下的，一直这样，可是这两天右边手也开始麻了，拿不住碗", "zh"),
    ("The left arm has been weak since the stroke, same as before, but my right hand went numb yesterday.", "en"),
])
def test_a_new_one_sided_numbness_after_a_contrast_is_red(text: str, lang: str) -> None:
    assert level(text, lang, "limb_weakness") == "red"


@pytest.mark.parametrize(("text", "lang"), [
    ("左边手脚没劲，可是一直这样，没什么变化", "zh"),
    ("右手还是有点麻，跟出院时候一样", "zh"),
])
def test_an_unchanged_old_weakness_is_not_a_new_finding(text: str, lang: str) -> None:
    assert level(text, lang, "limb_weakness") != "red"


@pytest.mark.parametrize(("text", "lang"), [
    ("老头子半夜起来到处找他妈，他妈都走了几十年了", "zh"),
    ("He keeps asking for his mother at night, she died thirty years ago.", "en"),
])
def test_looking_for_someone_long_dead_is_confusion(text: str, lang: str) -> None:
    assert "confusion" in symptoms(text, lang).get("present", [])


def test_looking_for_a_living_relative_is_not_confusion() -> None:
    assert "confusion" not in symptoms("她一直找她妈，她妈在老家呢", "zh").get("present", [])


def test_not_a_single_dose_missed_is_full() -> None:
    meds = [{"name": "Pantoprazole", "generic_name": "pantoprazole", "drug_class": "ppi"},
            {"name": "Atorvastatin", "generic_name": "atorvastatin", "drug_class": "statin"}]
    text = "I give him Pantoprazole before breakfast and Atorvastatin at night. Not a single dose missed."
    assert parse_field("medication_adherence", normalize(text), "en", {"medications": meds}).value == \
        {"adherence": "full", "missed": []}


@pytest.mark.parametrize(("text", "lang"), [
    ("手脚有点凉，冬天一直这样", "zh"),
    ("我这记性一直不好，钥匙老找不着，年轻时候就这样", "zh"),
    ("他记性一直不好，老忘事，这个几十年了，跟住院前一样", "zh"),
    ("热死了 这天气 人倒是没啥事", "zh"),
    ("I'm just forgetful, always have been.", "en"),
    ("my heart's broken cause my team lost but physically fine", "en"),
])
def test_a_long_standing_thing_or_nothing_of_the_body_is_no_new_finding(text: str, lang: str) -> None:
    assert symptoms(text, lang) == {"present": [], "absent": [], "cues": {}}


@pytest.mark.parametrize(("text", "lang"), [
    # the same words with a change said are not "nothing new": asked again, or the finding itself
    ("一直这样，这几天又厉害了", "zh"),
    ("It has always been like this, but it got worse again this week.", "en"),
])
def test_a_long_standing_thing_said_to_be_worse_is_not_settled_as_nothing(text: str, lang: str) -> None:
    assert symptoms(text, lang) != {"present": [], "absent": [], "cues": {}}


@pytest.mark.parametrize(("text", "code"), [
    ("心口像被人攥住了一样，闷得很，坐那儿不动也闷", "chest_tightness"),
    ("坐在沙发上看电视，胸口突然像被人攥住了一样，攥了快半个钟头才松开", "chest_tightness"),
    # with the pain told after it, it is the pain
    ("前胸跟有人拿手攥着似的，一阵一阵的，昨晚上睡觉的时候疼醒了", "chest_pain"),
    # the pain in the same clause: no gap between the two rows
    ("胸口像被人攥住了一样疼，坐着也疼", "chest_pain"),
])
def test_a_chest_squeezed_as_by_a_hand(text: str, code: str) -> None:
    assert symptoms(text, "zh")["present"] == [code]
    assert level(text, "zh", code) == "red"


@pytest.mark.parametrize("text", ["I just want it to end.", "Some nights I only want it all to be over."])
def test_a_wish_for_it_to_end_is_suicidal_ideation(text: str) -> None:
    assert level(text, "en", "suicidal_ideation") == "red"


def test_wanting_a_symptom_to_end_is_not() -> None:
    assert "suicidal_ideation" not in symptoms("I want this cough to end, it keeps me up.", "en").get("present", [])


@pytest.mark.parametrize(("text", "lang", "code"), [
    ("My husband's had the flu, fever and all, but I'm fine.", "en", "fever"),
    ("我闺女怀孕了，孕吐得厉害，我天天给她炖汤。我？我没啥事，忙得很。", "zh", "nausea_vomiting"),
    ("The only one coughing in this house is the dog, he's picked up kennel cough. Me, I'm fine.", "en", "cough"),
    ("the only one with a cough is my husband.", "en", "cough"),
])
def test_a_condition_of_someone_elses_carries_to_the_complaint_after_it(text: str, lang: str, code: str) -> None:
    assert code not in symptoms(text, lang).get("present", [])


@pytest.mark.parametrize(("text", "lang", "code"), [
    # without the speaker saying how they are, or with the speaker's own complaint, it stays the patient's
    ("My husband's had the flu, and I've got a fever now.", "en", "fever"),
    ("我闺女感冒了，我也发烧了", "zh", "fever"),
    ("俺闺女来了，晚上胸口疼得睡不着", "zh", "chest_pain"),
])
def test_the_speakers_own_complaint_stays_theirs(text: str, lang: str, code: str) -> None:
    assert code in symptoms(text, lang).get("present", [])


@pytest.mark.parametrize(("text", "present"), [
    # the pair said as one: a negation before it covers both halves
    ("我每天看他刷牙、看他大便，都没见着血，身上也没青一块紫一块的。", []),
    ("身上没有青一块紫一块", []),
    ("胳膊上青一块紫一块，也没碰着", ["bruising"]),
])
def test_bruises_said_as_a_pair(text: str, present: list[str]) -> None:
    assert parse_field("side_effects", normalize(text), "zh", {}).value["present"] == present
