"""Discharge-order structuring, round 13: mechanisms found on orders/train13.jsonl (invented examples, not corpus lines)."""

from __future__ import annotations

from tests.test_structurer_round4 import _items, reexams, visits


def _signs(text: str) -> set[str]:
    return {i.symptom_code for i in _items(text, "warning_sign")}


def test_a_bare_month_and_day_against_chinese_text_is_a_date() -> None:
    text = "骨科出院医嘱 2027-03-02：塞来昔布 200mg bid；3/16骨科门诊复诊，当天复查膝关节X线片"
    assert visits(text) == [("骨科", "2027-03-16")]
    assert ("膝关节X线片", "2027-03-16") in reexams(text)
    # a fraction of a tablet or a slash period is no date
    assert not [r for r in reexams("出院日期：2027年3月2日；地高辛 1/2片 qd；6/12后心内科门诊复诊，复查心电图") if r[1] and r[1].startswith("2027-06")]


def test_a_short_operation_date_places_the_times_after_the_operation() -> None:
    text = "眼科出院医嘱 2027-03-02：白内障术后（2/27手术）；术后1个月眼科门诊复诊，复查眼压"
    assert visits(text) == [("眼科", "2027-03-27")]
    assert reexams(text) == [("眼压", "2027-03-27")]
    text = "普外科出院医嘱 2027-03-02：2/24行腹腔镜胆囊切除术；术后1个月普外科门诊复诊"
    assert visits(text) == [("普外科", "2027-03-24")]


def test_next_weekday_is_not_part_of_the_department() -> None:
    assert visits("出院日期：2027年3月2日（周二）；下周三血液内科门诊复诊，复诊当日查血常规") == [("血液内科", "2027-03-10")]


def test_an_admission_to_remove_a_device_is_a_visit_and_its_test_takes_that_day() -> None:
    text = "出院日期：2027年3月2日；3/20入院取出下腔静脉滤器，入院当天查凝血功能"
    assert visits(text) == [(None, "2027-03-20")]
    assert reexams(text) == [("凝血功能", "2027-03-20")]


def test_visits_the_order_says_are_not_visits_give_nothing() -> None:
    assert visits("1个月后是否到核医学科评估视病理结果而定") == []
    assert visits("Community nurse will visit home on Thursday to check the injections (not an appointment).") == []
    assert visits("VHT to visit home weekly (not a visit).") == []
    assert reexams("回养老院，养老院医生每周二查房") == []
    assert reexams("生殖中心出院医嘱 2027-03-02：每日在家自测体重、腹围并记录") == []


def test_a_note_of_where_results_go_is_not_a_visit_there() -> None:
    got = visits("出院日期：2027年3月2日；INR：出院后第5天在社区卫生服务中心查（结果报抗凝门诊）")
    assert got == [("社区卫生服务中心", "P5D")]


def test_english_abbreviated_times_and_dates() -> None:
    assert visits("Surgery OPD after 3 wks with an LFT.") == [("Surgery", "P3W")]
    assert reexams("Surgery OPD after 3 wks with an LFT.") == [("LFT", "P3W")]
    assert visits("Discharged 15/03/27. Fracture clinic Fri 26/03 with check X-ray.") == [("Fracture", "2027-03-26")]
    assert visits("d/c 15/03/27: see GP at the village surgery w/c 29/03/27 - recheck U&E.")[0] == ("GP", "2027-03-29")
    assert reexams("Cardiology OPD 3 months with echo before that visit.") == [("Echo", "P3M")]
    assert reexams("Resp clinic 6/52 with spirometry same day.") == [("Spirometry", "P6W")]
    assert ("Sputum smear", "P2M") in reexams("Review at the TB clinic in 2 weeks; sputum smear at the end of month 2.")


def test_places_named_by_their_own_name() -> None:
    assert visits("Sutures out at Kamwala Health Centre in 10 days.") == [("Kamwala Health Centre", "P10D")]
    assert visits("Stitches out at Mpika District Hospital in 10 days.") == [("Mpika District Hospital", "P10D")]
    assert [v[0] for v in visits("Review at Chipata Clinic in 2 weeks.")] in (["Chipata"], ["Chipata Clinic"])
    assert visits("STO at your local clinic in 10 days.") == [(None, "P10D")]
    assert visits("LMO review in 1/52.") == [("LMO", "P1W")]
    assert visits("TCA ID clinic 2/52.") == [("ID", "P2W")]


def test_warning_signs_of_busy_writing() -> None:
    assert {"abdominal_pain", "jaundice"} <= _signs("Report to emergency if severe pain abdomen, yellowish eyes or fever.")
    assert {"chest_tightness", "chest_pain"} <= _signs("出现意识模糊、胸闷胸痛，及时就诊")
    assert {"dyspnea", "palpitations"} <= _signs("Come to the clinic if short of breath or fast heartbeat.")
