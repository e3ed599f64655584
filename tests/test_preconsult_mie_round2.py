"""Adult cardiology, round 2 (issue #12): colloquial phrasings and MIE items the lexicon could not say.

Each case has a near miss beside it: the words that look alike and must not be read the same way."""

from __future__ import annotations

import pytest

from dialogs.findings import ABSENT, PRESENT, UNCERTAIN, aggregate, extract_mentions


def _found(text: str) -> dict[str, str]:
    return aggregate(extract_mentions(text, lang="zh", subject="self"))


# ----- lexicon rows (knowledge/data/preconsult_symptoms.yaml) -------------------------------------------------

@pytest.mark.parametrize(("text", "name", "status"), [
    ("这几天心里慌", "心悸", PRESENT),
    ("心很慌，睡不着", "心悸", PRESENT),
    ("早上起来头有点晕", "头晕", PRESENT),
    ("站起来就黑朦", "头晕", PRESENT),
    ("最近四肢无力", "乏力", PRESENT),
    ("浑身没劲", "乏力", PRESENT),
    ("一上楼就气急", "呼吸困难", PRESENT),
    ("上周昏厥了一次", "晕厥", PRESENT),
    ("刚开始感觉是胃疼", "胃部不适", PRESENT),
    ("吃完饭胃不舒服", "胃部不适", PRESENT),
    ("又没胃病", "胃部不适", ABSENT),
    ("走不动路，要人扶", "行动不便", PRESENT),
    ("最近行走困难", "行动不便", PRESENT),
    ("没有走不动路", "行动不便", ABSENT),
    ("脸发紫", "口周发青", PRESENT),
    ("手脚有点僵硬", "麻木", PRESENT),
    ("小腿肿胀", "腿肿", PRESENT),
    ("还是很肿", "水肿", PRESENT),
    ("彩超说心脏肿大", "心脏肥大", PRESENT),
    ("心里涨涨的", "胸胀", PRESENT),
])
def test_colloquial_cardiology_phrasings(text: str, name: str, status: str) -> None:
    assert _found(text).get(name) == status


@pytest.mark.parametrize(("text", "absent_name"), [
    ("孩子咳嗽无力", "乏力"),        # a weak cough is no fatigue
    ("胃口不好", "胃部不适"),        # appetite, not the stomach
    ("心里涨涨的", "腹胀"),          # the chest feels full, not the belly
    ("淤青发紫", "口周发青"),        # a bruise, not cyanosis
    ("扁桃体肿胀", "水肿"),          # a swollen tonsil is no oedema
    ("走路呼吸困难", "行动不便"),    # breathless on walking: the breath is the finding
    ("心里很慌张", "头晕"),
])
def test_near_misses_are_not_read_as_the_symptom(text: str, absent_name: str) -> None:
    assert absent_name not in _found(text)


def test_stomach_words_stay_abdominal_for_triage() -> None:
    (mention,) = [m for m in extract_mentions("胃疼得厉害", lang="zh") if m.name == "胃部不适"]
    assert mention.code == "abdominal_pain"
    assert _found("肚子疼").get("腹痛") == PRESENT  # the belly stays 腹痛


# ----- MIE scoring map (evaluation/preconsult.py) -------------------------------------------------------------

def test_mie_names_reach_stomach_and_walking_items() -> None:
    from evaluation.preconsult import MIE_NAMES

    ours_to_mie = {ours: item for item, names in MIE_NAMES.items() for ours in names}
    assert ours_to_mie["胃部不适"] == "胃部不适" and ours_to_mie["消化不良"] == "胃部不适"
    assert ours_to_mie["行动不便"] == "行动不便"
    assert ours_to_mie["腹痛"] == "腹部不适"
    assert "胸胀" not in ours_to_mie  # no MIE item: not scored


def test_mie_dialogue_scores_a_stomach_complaint() -> None:
    from evaluation.preconsult import mie_dialogue

    said = ["患者:最近胃疼，走不动路", "医生:多久了？"]
    labels = [["症状:胃部不适-状态:阳性", "症状:行动不便-状态:阳性"]] * 2
    dialogue = [{"utterances": ([""] * 5 + said[:i + 1])[-5:], "label": labels[i]} for i in range(len(said))]
    gold, predicted = mie_dialogue(dialogue)
    assert gold == predicted == {"胃部不适": PRESENT, "行动不便": PRESENT}



# ----- status: an attack of a named illness (dialogs/findings.py) ---------------------------------------------

@pytest.mark.parametrize(("text", "name", "status"), [
    # a long message ending in a question: the attack that is told of is the patient's
    ("下午急性心梗发作，到医院用药后无缓解，我现在想问问另一根血管怎么办？", "心肌梗死", PRESENT),
    ("房颤又犯了，吃什么药好呢？", "心房颤动", PRESENT),
    # near misses: an attack asked about or supposed is no finding
    ("心衰发作过吗？", "心力衰竭", UNCERTAIN),
    ("如果房颤发作怎么办", "心房颤动", UNCERTAIN),
    ("没有心梗发作", "心肌梗死", ABSENT),
])
def test_an_attack_of_a_named_illness_is_a_finding(text: str, name: str, status: str) -> None:
    assert _found(text).get(name) == status


# ----- more colloquial rows: dizziness without 头, pitting oedema, orthopnoea, back discomfort ------------------

@pytest.mark.parametrize(("text", "name", "status"), [
    ("心脏跳得很快", "心跳快", PRESENT),
    ("站起来有点晕", "头晕", PRESENT),
    ("晕得厉害", "头晕", PRESENT),
    ("腿上一按一个坑", "水肿", PRESENT),
    ("晚上不能平卧", "呼吸困难", PRESENT),
    ("突然失去知觉", "晕厥", PRESENT),
    ("后背发紧", "腰背痛", PRESENT),
    ("心跳忽快忽慢", "心律不齐", PRESENT),
    ("胸口有点憋", "胸闷", PRESENT),
])
def test_more_colloquial_cardiology_phrasings(text: str, name: str, status: str) -> None:
    assert _found(text).get(name) == status


@pytest.mark.parametrize(("text", "absent_name"), [
    ("坐车有点晕车", "头晕"),      # motion sickness
    ("有点晕倒的感觉", "头晕"),    # read as fainting, not dizziness
    ("血压160", "高血压"),         # a reading alone is not the diagnosis (MIE marks none)
    ("睡觉还被憋醒", "呼吸困难"),  # a blocked nose wakes a child (CMDD marks none)
])
def test_more_near_misses(text: str, absent_name: str) -> None:
    assert absent_name not in _found(text)


def test_mie_names_for_convulsion_thalassaemia_and_limb_weakness() -> None:
    from evaluation.preconsult import MIE_NAMES

    ours_to_mie = {ours: item for item, names in MIE_NAMES.items() for ours in names}
    assert ours_to_mie["惊厥"] == ours_to_mie["热惊厥"] == "战栗抽搐"
    assert ours_to_mie["地中海贫血"] == "贫血"
    assert ours_to_mie["肢体无力"] == "乏力"
    # near miss: 寒战 reads "身体发冷" too — feeling cold is no trembling, so it stays unscored
    assert "寒战" not in ours_to_mie
    assert _found("身体发冷").get("寒战") == PRESENT


# ----- typed text: the input method's 心机 for 心肌, 供血不够 for 供血不足 ----------------------------------------

@pytest.mark.parametrize(("text", "name", "status"), [
    ("去年得过心机炎", "心肌炎", PRESENT),
    ("医生说是心机缺血", "心肌缺血", PRESENT),
    ("急性心机梗塞住院", "心肌梗死", PRESENT),
    ("心脏供血不够", "心肌缺血", PRESENT),
    ("没有供血不够", "心肌缺血", ABSENT),   # the 不 inside the phrase is no denial, the 没有 before it is
])
def test_typed_variants_of_heart_muscle_words(text: str, name: str, status: str) -> None:
    assert _found(text).get(name) == status


def test_typed_variant_near_misses() -> None:
    assert "心肌缺血" not in _found("脑供血不够")  # the brain's blood supply, not the heart's
    assert not _found("这人心机很重")             # 心机: scheming, no finding


# ----- doctors' words a bare answer confirms or denies: 端坐呼吸, 心前区压榨感 -------------------------------------

def test_doctor_question_words_for_an_answer() -> None:
    assert set(_found("有没有端坐呼吸？")) == {"呼吸困难"}
    assert _found("胸骨后有压迫感").get("胸痛") == PRESENT
    assert _found("没有端坐呼吸").get("呼吸困难") == ABSENT
    # near miss: a pressure felt in the stomach is no chest pain
    assert "胸痛" not in _found("胃里有压迫感")


def test_mie_answer_to_an_orthopnoea_question() -> None:
    from evaluation.preconsult import mie_dialogue

    said = ["医生:晚上有没有端坐呼吸？", "患者:没有"]
    labels = [["症状:呼吸困难-状态:未知"], ["症状:呼吸困难-状态:阴性"]]
    dialogue = [{"utterances": ([""] * 5 + said[:i + 1])[-5:], "label": labels[i]} for i in range(len(said))]
    gold, predicted = mie_dialogue(dialogue)
    assert gold == predicted == {"呼吸困难": ABSENT}
