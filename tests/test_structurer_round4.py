"""Discharge-order structuring, round 4: mechanisms found on orders/train4.jsonl (invented examples, not corpus lines)."""

from __future__ import annotations

from knowledge.structurer import structure_orders


def _items(text: str, kind: str) -> list:
    return [i for i in structure_orders(text).items if i.kind == kind]


def visits(text: str) -> list[tuple[str | None, str | None]]:
    return [(i.name, i.when) for i in _items(text, "revisit")]


def reexams(text: str) -> list[tuple[str | None, str | None]]:
    return [(i.name, i.when) for i in _items(text, "reexam")]


def test_the_stated_discharge_date_is_not_a_visit() -> None:
    assert visits("科室：眼科 出院日期：2026年3月2日\n1. 出院后1周眼科门诊复诊") == [("眼科", "P1W")]
    assert visits("Date of discharge: 2 Mar 2027\nCardiology clinic in 6 weeks.") == [("Cardiology", "P6W")]


def test_a_chemo_cycle_is_not_a_week() -> None:
    assert visits("肿瘤内科出院医嘱（第4周期化疗后）\n出院后3周返院行第5周期化疗（肿瘤内科）") == [("肿瘤内科", "P3W")]


def test_a_bare_verb_before_a_test_is_a_test() -> None:
    assert reexams("出院后2周查血钾、血镁") == [("血钾", "P2W"), ("血镁", "P2W")]
    assert ("腰椎X线", "P1M") in reexams("出院后1个月骨科门诊复诊，复诊时拍腰椎X线")
    assert reexams("出院后3个月神经内科门诊复诊并行视频脑电图") == [("视频脑电图", "P3M")]
    assert reexams("查看伤口敷料，保持干燥") == []


def test_tests_joined_by_plus_outside_brackets_and_ratios_stay_whole() -> None:
    assert reexams("出院后1个月复查肝脏彩超+癌胚抗原") == [("肝脏彩超", "P1M"), ("癌胚抗原", "P1M")]
    assert reexams("出院后6周复查颈椎X线（正位+侧位）") == [("颈椎X线", "P6W")]
    assert reexams("出院后3个月复查尿蛋白/肌酐比") == [("尿蛋白/肌酐比", "P3M")]


def test_a_test_on_the_day_of_a_visit_takes_its_time() -> None:
    assert reexams("出院后4周返院（血液科日间病房）行第2疗程，入院当日查血常规、肝功能") == [("血常规", "P4W"), ("肝功能", "P4W")]


def test_a_repeating_test_starts_on_the_first_date_its_note_gives() -> None:
    text = "出院日期：2027年2月1日\n出院后每周复查血常规（第一次2月8日）"
    assert reexams(text) == [("血常规", "2027-02-08")]
    assert reexams("出院日期：2027年2月1日\n定期复查血β-hCG：2月8日抽血") == [("血β-hCG", "2027-02-08")]


def test_a_result_read_at_a_visit_and_a_schedule_heading_are_not_tests() -> None:
    assert reexams("出院后10天妇科门诊看病理报告") == []
    assert reexams("复查安排：\n出院后2周复查血常规") == [("血常规", "P2W")]
