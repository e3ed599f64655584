"""Pre-consultation, MIE round 3 (#12): adult cardiology phrasings, answers and status rules.

Every sentence here is written for this test, as an adult patient or a relative would type it in an online
consultation; none is taken from the MIE, CMDD or DXY data."""

from __future__ import annotations

import pytest

from dialogs.findings import ABSENT, PRESENT, UNCERTAIN, aggregate, answer_status, extract_mentions
from evaluation.preconsult import MIE_NAMES, _bare_answer, _questions_asked, mie_dialogue


def _found(text: str) -> dict[str, str]:
    return aggregate(extract_mentions(text, lang="zh"))


@pytest.mark.parametrize(("text", "name", "status"), [
    ("这两天晚上心里头扑腾扑腾的", "心悸", PRESENT),
    ("躺下以后心口老是突突地跳", "心悸", PRESENT),
    ("爬两层楼就上气不接下气", "呼吸困难", PRESENT),
    ("我爸说气紧，吸不上气", "呼吸困难", PRESENT),
    ("感觉气不顺", "呼吸困难", PRESENT),             # its 不 is no denial
    ("胸口像压了一块大石头", "胸闷", PRESENT),
    ("心里堵得慌", "胸闷", PRESENT),
    ("后背一阵一阵地疼", "腰背痛", PRESENT),
    ("胸口疼，后背也跟着疼", "腰背痛", PRESENT),     # back pain, not only "radiating"
    ("人软绵绵的，干点活就累", "乏力", PRESENT),
    ("两条腿发软", "乏力", PRESENT),
    ("手指头发麻", "麻木", PRESENT),                 # numbness is 麻木, not limb weakness
    ("脚脖子肿得厉害", "腿肿", PRESENT),
    ("手也肿起来了", "水肿", PRESENT),
    ("医生说心脏有点大", "心脏肥大", PRESENT),
    ("彩超写的左室肥厚", "心脏肥大", PRESENT),
    ("冠脉有斑块，狭窄百分之六十", "冠心病", PRESENT),
    ("心电图说是下壁梗死", "心肌梗死", PRESENT),
    ("这两天心绞疼又犯了", "心绞痛", PRESENT),
    ("我妈心肌供血差", "心肌缺血", PRESENT),
    ("脉搏有点慢，一分钟五十几下", "心律不齐", PRESENT),
    ("以前查出过室上速", "心律不齐", PRESENT),
    ("一着急气就上不来", "呼吸困难", PRESENT),       # an inability, no denial
    ("晚上躺着呼吸不过来", "呼吸困难", PRESENT),
    ("心里老是发颤", "心悸", PRESENT),
    ("早上起来头有点蒙", "头晕", PRESENT),
    ("胸部有压迫感", "胸闷", PRESENT),
])
def test_colloquial_cardiology_rows(text: str, name: str, status: str) -> None:
    assert _found(text).get(name) == status


@pytest.mark.parametrize(("text", "name"), [
    ("心跳突然加快，停不下来", "心跳快"),
    ("心脏跳得好快", "心跳快"),
])
def test_a_fast_heart_is_its_own_name_with_the_palpitations_code(text: str, name: str) -> None:
    mentions = [m for m in extract_mentions(text, lang="zh") if m.name == name]
    assert mentions and mentions[0].status == PRESENT and mentions[0].code == "palpitations"
    assert "心悸" not in _found(text)


def test_mie_maps_a_fast_heart_to_arrhythmia_and_a_racing_one_to_palpitations() -> None:
    ours_to_mie = {ours: item for item, names in MIE_NAMES.items() for ours in names}
    assert ours_to_mie["心跳快"] == "心律不齐"
    assert ours_to_mie[next(iter(_found("心脏乱跳")))] == "心慌"


@pytest.mark.parametrize(("text", "name"), [
    ("腰疼了好几天", "腰痛"),
    ("后背疼", "腰背痛"),
])
def test_the_small_of_the_back_is_apart_from_the_back(text: str, name: str) -> None:
    found = _found(text)
    assert found.get(name) == PRESENT and len(found) == 1


@pytest.mark.parametrize(("text", "name", "status"), [
    ("头不晕，就是有点累", "头晕", ABSENT),
    ("胸口不疼也不闷", "胸闷", ABSENT),
    ("腿不肿", "腿肿", ABSENT),
    ("心倒是不慌", "心悸", ABSENT),
    ("血压一直挺正常", "高血压", ABSENT),
    ("血糖也正常", "高血糖", ABSENT),
    ("血压正常吗", "高血压", None),                  # a question about normal names nothing
    ("头不太晕", "头晕", PRESENT),                   # little of it, still there
])
def test_denials_said_the_short_way(text: str, name: str, status: str | None) -> None:
    assert _found(text).get(name) == status


@pytest.mark.parametrize(("text", "absent"), [
    ("我很担心血管堵了", "冠心病"),
    ("放心大胆地吃", "心脏肥大"),
    ("首先心电图是好的", "先天性心脏病"),
    ("先心慌，后来胸口闷", "先天性心脏病"),
    ("吃了头孢以后胃不舒服", "头痛"),
    ("头一次疼成这样，在胸口", "头痛"),
    ("大夫说我是头部供血不足", "心肌缺血"),
])
def test_words_that_only_look_like_findings(text: str, absent: str) -> None:
    assert absent not in _found(text)


def test_a_real_heart_after_such_a_character_is_still_read() -> None:
    assert _found("天一热心慌得厉害").get("心悸") == PRESENT
    assert _found("有点心慌").get("心悸") == PRESENT


@pytest.mark.parametrize(("text", "name", "status"), [
    ("心肌炎已经治好了，现在复查", "心肌炎", PRESENT),
    ("上周就没有感冒了", "普通感冒", PRESENT),      # an illness had, now over: history
    ("现在不咳嗽了", "咳嗽", ABSENT),                 # a symptom over is gone
    ("造影说还好，但还是心肌缺血", "心肌缺血", PRESENT),
    ("是心肌炎还是心肌病", "心肌病", UNCERTAIN),
    ("查了贫血和甲功，都正常", "贫血", ABSENT),
    ("戴了两次动态心电图都没抓到早搏", "早搏", UNCERTAIN),
    ("彩超没查出心衰", "心力衰竭", ABSENT),
    ("除非特别累才会有点喘", "乏力", UNCERTAIN),
    ("房颤能治好吗还是说要吃一辈子药", "心房颤动", UNCERTAIN),
])
def test_status_rules(text: str, name: str, status: str) -> None:
    assert _found(text).get(name) == status


def test_past_cue_on_an_illness_that_is_over() -> None:
    mention = next(m for m in extract_mentions("房颤好了两年了", lang="zh") if m.name == "心房颤动")
    assert mention.status == PRESENT and mention.cues.get("past")


@pytest.mark.parametrize(("text", "present"), [
    ("我弟弟房颤好几年了", True),
    ("小儿子室间隔缺损", True),
    ("我姐姐也有高血压", False),                      # 也: family history
])
def test_a_relative_named_as_the_one_who_has_it(text: str, present: bool) -> None:
    assert (PRESENT in _found(text).values()) is present


@pytest.mark.parametrize(("reply", "status"), [
    ("疼", PRESENT),
    ("有点闷", PRESENT),
    ("晕得很", PRESENT),
    ("不太疼", PRESENT),
    ("不怎么晕", PRESENT),
    ("偏高", PRESENT),
    ("还正常", ABSENT),
    ("现在没有了", ABSENT),
    ("前几天有点", PRESENT),
    ("以前有，现在好点", PRESENT),
    ("医生，没有", ABSENT),
    ("大夫您好，有的", PRESENT),
    ("这个倒没有", ABSENT),
    ("以上这些都没有", ABSENT),
    ("一点都没有", ABSENT),
    ("一次都没有过", ABSENT),
    ("感觉不到", ABSENT),
    ("也会", PRESENT),
    ("医生您好", None),                                # a greeting answers nothing
    ("好了", None),                                    # gone, or only "OK": never a yes
    ("谢谢医生", None),
])
def test_bare_answers(reply: str, status: str | None) -> None:
    assert answer_status(reply, lang="zh") == status


def test_an_answer_after_an_address_is_read_in_a_consultation() -> None:
    assert _bare_answer("大夫，没有") == ABSENT
    assert _bare_answer("您好。有的，晚上多") == PRESENT


def test_a_statement_ending_in_a_tilde_is_not_asked() -> None:
    asked = _questions_asked("片子看着没有心衰～最近有没有哪里不舒服？")
    assert "心衰" not in asked and "不舒服" in asked


def _dialogue(turns: list[tuple[str, str]]) -> list[dict]:
    """MIE-shaped windows (five utterances, no labels) over the given turns."""
    lines = [f"{speaker}:{text}" for speaker, text in turns]
    return [{"utterances": ([""] * 4 + lines)[i:i + 5], "label": []} for i in range(len(lines))]


@pytest.mark.parametrize(("question", "reply", "item", "status"), [
    ("脚踝肿不肿", "不肿", "水肿", ABSENT),           # an X不X question with no question mark asks
    ("有胸闷吗，平时活动多吗", "有时候会", "胸闷", PRESENT),
    ("心慌吗？", "医生，没有", "心慌", ABSENT),
])
def test_question_and_answer_pairing(question: str, reply: str, item: str, status: str) -> None:
    _, predicted = mie_dialogue(_dialogue([("患者", "想咨询一下心脏的问题"), ("医生", question), ("患者", reply)]))
    assert predicted.get(item) == status
