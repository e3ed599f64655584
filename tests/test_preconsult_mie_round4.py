"""Pre-consultation, MIE round 4 (#12): more adult cardiology phrasings and the words inside them that deny nothing.

Every sentence here is written for this test, as an adult patient or a relative would type it in an online
consultation; none is taken from the MIE, CMDD or DXY data."""

from __future__ import annotations

import pytest

from dialogs.findings import ABSENT, PRESENT, UNCERTAIN, aggregate, answer_status, extract_mentions
from evaluation.preconsult import MIE_NAMES


def _found(text: str) -> dict[str, str]:
    return aggregate(extract_mentions(text, lang="zh"))


@pytest.mark.parametrize(("text", "name", "status"), [
    ("晚上躺着觉得心好像要跳出来了", "心悸", PRESENT),
    ("心脏快要从嗓子眼里蹦出来", "心悸", PRESENT),
    ("这两天脑袋昏昏沉沉的", "头晕", PRESENT),
    ("早上起来脑子有点昏沉", "头晕", PRESENT),
    ("心口这块时不时地疼一下", "心绞痛", PRESENT),       # 'there' between the place and the pain
    ("心脏那边一阵一阵的痛", "心绞痛", PRESENT),
    ("我妈血压有时候偏高", "高血压", PRESENT),
    ("血压早上高，下午就正常", "高血压", PRESENT),
    ("血压平时不高", "高血压", ABSENT),
    ("化验单上甘油三酯偏高", "高血脂", PRESENT),     # 三 is read as a digit first
    ("甘油三酯不高", "高血脂", ABSENT),
    ("他突然眼前一黑就摔倒了", "晕厥", PRESENT),
    ("最近累得不想动", "乏力", PRESENT),             # its 不 denies nothing
    ("医生看了心电图说是缺血", "心肌缺血", PRESENT),
    ("胸口像针扎一样", "胸痛", PRESENT),
    ("胸前刀割似的疼", "胸痛", PRESENT),
    ("胸口不像针扎那种", "胸痛", ABSENT),
    ("晕得站都站不住", "头晕", PRESENT),           # 站不住 is how dizzy, no denial
    ("头晕得走不稳路", "头晕", PRESENT),
    ("彩超说室间隔增厚", "心脏肥大", PRESENT),
    ("心肌有点肥厚", "心脏肥大", PRESENT),
])
def test_adult_cardiology_phrasings(text: str, name: str, status: str) -> None:
    assert _found(text).get(name) == status, (text, _found(text))


@pytest.mark.parametrize(("text", "absent_name"), [
    ("头胀胀的，不舒服", "腹胀"),                  # the head's 胀 said twice is no bloating
    ("医生说是脑缺血", "心肌缺血"),                 # the brain's ischaemia is not the heart's
    ("我怕他累得不想动是心衰", "乏力"),             # a worry, still no denial; checked below
])
def test_look_alikes(text: str, absent_name: str) -> None:
    found = _found(text)
    if absent_name == "乏力":
        assert found.get("乏力") != ABSENT, found
    else:
        assert absent_name not in found, found


def test_every_round4_name_is_scored_for_mie() -> None:
    scored = {ours for names in MIE_NAMES.values() for ours in names}
    for name in ("心悸", "头晕", "心绞痛", "高血压", "高血脂", "晕厥", "乏力", "心肌缺血", "胸痛", "心脏肥大"):
        assert name in scored, name


@pytest.mark.parametrize("reply", ["没太注意", "没怎么留意过", "不记得了", "记不得了", "说不清", "这个不好说", "不晓得"])
def test_not_noticing_or_not_remembering_is_unknown_never_no(reply: str) -> None:
    # fail closed: a reply that does not know is uncertain, never stored as a denial
    assert answer_status(reply, lang="zh") == UNCERTAIN


@pytest.mark.parametrize(("reply", "status"), [("没有", ABSENT), ("有一点", PRESENT), ("从来没有过", ABSENT)])
def test_plain_answers_still_answer(reply: str, status: str) -> None:
    assert answer_status(reply, lang="zh") == status


@pytest.mark.parametrize(("text", "names"), [
    ("否认高血压、糖尿病", ("高血压", "糖尿病")),       # a record's 否认 (denies) is a denial
    ("既往否认冠心病史", ("冠心病",)),
])
def test_record_style_denial(text: str, names: tuple[str, ...]) -> None:
    found = _found(text)
    for name in names:
        assert found.get(name) == ABSENT, (text, found)


@pytest.mark.parametrize(("text", "name"), [
    ("这两天胸口发沉", "胸闷"),
    ("胸口沉甸甸的，透气都费劲", "胸闷"),
    ("心脏时不时停跳一下", "早搏"),
    ("感觉心脏突然停了一拍", "早搏"),
    ("蹲久了站起来两眼一黑", "头晕"),
    ("早上洗脸的时候晕了一下", "头晕"),
    ("后脑勺一跳一跳地疼", "头痛"),
    ("太阳穴胀痛", "头痛"),
])
def test_more_adult_rows(text: str, name: str) -> None:
    assert _found(text).get(name) == PRESENT, (text, _found(text))

