"""Adherence read from the train calls of earlier authors: a course ended as told, a stop of a drug the orders
do not hold, drugs never fetched, a hedge about one drug beside a plain miss of another, "就没吃了" as a stop
for good — and the order line that ends a course ("共5天，服完停用") is a drug to take, not a drug stopped."""

from __future__ import annotations

import pytest

from dialogs.understanding import normalize, parse_field
from knowledge.structurer import structure_orders

INHALERS_AND_STEROID = [
    {"name": "噻托溴铵粉吸入剂", "generic_name": "噻托溴铵", "drug_class": "bronchodilator"},
    {"name": "布地奈德福莫特罗吸入粉雾剂", "generic_name": "布地奈德福莫特罗", "drug_class": "bronchodilator"},
    {"name": "泼尼松片", "generic_name": "泼尼松", "drug_class": "steroid", "duration": "P5D"},
]
CEFUROXIME = [{"name": "头孢呋辛酯片", "generic_name": "头孢呋辛", "drug_class": "antibiotic", "duration": "P7D"},
              {"name": "雷贝拉唑钠肠溶胶囊", "generic_name": "雷贝拉唑", "drug_class": "ppi"}]
COPD_EN = [{"name": "Tiotropium", "generic_name": "tiotropium", "drug_class": "bronchodilator"},
           {"name": "Prednisone", "generic_name": "prednisone", "drug_class": "steroid", "duration": "P5D"}]
APIXABAN = [{"name": "Apixaban", "generic_name": "apixaban", "drug_class": "anticoagulant"}]
ENOXAPARIN = [{"name": "Enoxaparin", "generic_name": "enoxaparin", "drug_class": "anticoagulant"},
              {"name": "Paracetamol", "generic_name": "paracetamol", "drug_class": "analgesic", "frequency": "prn"}]
IBUPROFEN_PRN = [{"name": "布洛芬缓释胶囊", "generic_name": "布洛芬", "drug_class": "analgesic", "frequency": "prn"}]
IRON = [{"name": "多糖铁复合物胶囊", "generic_name": "多糖铁复合物", "drug_class": "other"}]
HBV = [{"name": "恩替卡韦片", "generic_name": "恩替卡韦", "drug_class": "other"},
       {"name": "水飞蓟宾胶囊", "generic_name": "水飞蓟宾", "drug_class": "other"}]
DEPRESSION = [{"name": "艾司西酞普兰片", "generic_name": "艾司西酞普兰", "drug_class": "other"},
              {"name": "曲唑酮片", "generic_name": "曲唑酮", "drug_class": "other"}]


def adherence(text: str, meds: list[dict], lang: str) -> dict | None:
    return parse_field("medication_adherence", normalize(text), lang, {"medications": meds}).value


def test_an_order_line_that_ends_a_course_is_a_drug_to_take() -> None:
    orders = structure_orders("1. 噻托溴铵粉吸入剂 18μg 吸入 每日一次\n2. 泼尼松片 30mg 口服 每日一次 共5天，服完停用\n", language="zh")
    assert [i.name for i in orders.items if i.kind == "medication"] == ["噻托溴铵粉吸入剂", "泼尼松片"]
    # a drug to stop now stays a stop
    stopped = structure_orders("1. 阿司匹林肠溶片 100mg 口服 每日一次（停用）\n2. 氯吡格雷片 75mg 口服 每日一次\n", language="zh")
    assert [i.name for i in stopped.items if i.kind == "medication"] == ["氯吡格雷片"]


@pytest.mark.parametrize(("text", "meds", "lang"), [
    # the drugs named first are taken; the course is stopped as the doctor said
    ("两个吸的药天天都在用。那个激素片片吃了五天，医生说吃完就停，我就停了。", INHALERS_AND_STEROID, "zh"),
    # "no other drug was prescribed" is no miss
    ("布洛芬就痛得厉害的辰光吃过两趟，其他没开药。", IBUPROFEN_PRN, "zh"),
    # a stop of a drug the orders do not hold (insulin stopped at delivery) is no miss of the ordered iron
    ("胰岛素生完就停了，医生讲可以停的嘛。补铁那个每天都有吃，冇漏过。", IRON, "zh"),
])
def test_taken_as_ordered_is_full(text: str, meds: list[dict], lang: str) -> None:
    assert adherence(text, meds, lang) == {"adherence": "full", "missed": []}


@pytest.mark.parametrize(("text", "meds", "lang"), [
    ("I haven't picked up a single one of 'em. Pharmacy wanted a hundred and forty bucks, so I came home with "
     "nothing. Haven't taken a thing.", COPD_EN, "en"),
    ("Ah... I ran out of the blood thinner on Friday and haven't got round to picking up more. So three days "
     "without it, I guess.", APIXABAN, "en"),
    ("恩替卡韦我吃了一个礼拜就没吃了，觉得好了嘛，还贵。那个水飞蓟也没吃了", HBV, "zh"),
])
def test_nothing_taken_now_is_none(text: str, meds: list[dict], lang: str) -> None:
    assert adherence(text, meds, lang) == {"adherence": "none", "missed": [m["name"] for m in meds]}


@pytest.mark.parametrize(("text", "meds", "lang", "missed"), [
    # a course cut short by a rash, without the doctor's word, is a miss
    ("头孢吃了三天身上起疹子，我就停了，胃药照吃", CEFUROXIME, "zh", ["头孢呋辛酯片"]),
    # "the injections" is a form any ordered drug may take: the enoxaparin
    ("Honestly, I stopped the injections on Tuesday. I just can't stand doing the needles myself. The paracetamol "
     "I take when I need it.", ENOXAPARIN, "en", ["Enoxaparin"]),
    # a hedge about the morning drug does not undo the plain miss of the night one
    ("药是我管着的。可是前天在枕头套里摸出一个小药瓶，就是晚上吃的那个曲唑酮，她根本没咽，都偷偷攒着。早上那个，"
     "我也说不准她咽没咽。", DEPRESSION, "zh", ["曲唑酮片"]),
])
def test_a_miss_is_partial(text: str, meds: list[dict], lang: str, missed: list[str]) -> None:
    assert adherence(text, meds, lang) == {"adherence": "partial", "missed": missed}


def test_a_hedge_alone_is_asked_again() -> None:
    assert adherence("早上那个，我也说不准她咽没咽。", DEPRESSION, "zh") is None
