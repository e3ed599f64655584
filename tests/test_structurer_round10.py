"""Discharge-order structuring, round 10: mechanisms found on orders/train10.jsonl (invented examples, not corpus lines)."""

from __future__ import annotations

from tests.test_structurer_round4 import _items, reexams, visits


def _meds(text: str) -> list[tuple]:
    return [(m.name, m.dose, m.unit, m.frequency, m.duration) for m in _items(text, "medication")]


def test_a_visit_told_in_a_drug_line_and_again_in_the_follow_up_list_is_one_visit() -> None:
    text = ("1. 托拉塞米片 10mg 口服 qd，2周后肾内科门诊复诊再调整\n"
            "随访：\n出院后2周  肾内科门诊  血钾、肌酐\n下周三（12月9日）社区医院复查血钾；环硅酸锆钠散 下周三复查血钾后调整")
    assert visits(text).count(("肾内科", "P2W")) == 1
    assert [r for r in reexams(text) if r[0] == "血钾"].count(("血钾", "P2W")) == 1


def test_a_time_counted_from_the_stated_end_of_radiotherapy_is_a_date() -> None:
    text = "诊断：直肠癌 放疗后（放疗于2027年1月29日结束）  出院日期：2027年2月1日\n放疗结束后1个月放疗科门诊复诊，复查盆腔MRI；放疗结束后3个月复查肠镜"
    assert visits(text) == [("放疗科", "2027-02-28")]
    assert reexams(text) == [("盆腔MRI", "2027-02-28"), ("肠镜", "2027-04-29")]


def test_a_time_after_the_end_of_radiotherapy_in_english_is_counted_from_the_stated_end() -> None:
    text = "Discharged 04/12/2026. Radiotherapy completed on 02/12/2026.\n- Clinical oncology clinic 4 weeks after completing radiotherapy."
    assert visits(text) == [("Clinical oncology", "2026-12-30")]


def test_a_year_and_a_half_is_eighteen_months() -> None:
    assert reexams("1.5年后复查胃镜") == [("胃镜", "P18M")]
    assert reexams("Follow-up:\n- Repeat colonoscopy in 1.5 years.") == [("Colonoscopy", "P18M")]


def test_an_untimed_standing_instruction_to_recheck_is_no_item() -> None:
    assert reexams("遵医嘱定期复查甲状腺彩超") == []
    assert reexams("定期复查肝功能") == []
    assert visits("定期肾内科门诊随访") == []
    assert reexams("出院后2周复查肝功能；以后定期复查") == [("肝功能", "P2W")]


def test_tests_listed_after_a_visit_and_a_colon_are_taken_at_that_visit() -> None:
    text = "2周后皮肤科门诊复诊：血常规、肝功能"
    assert visits(text) == [("皮肤科", "P2W")]
    assert reexams(text) == [("血常规", "P2W"), ("肝功能", "P2W")]


def test_a_visit_repeated_after_the_first_with_no_clinic_named_is_not_expanded() -> None:
    text = "随访：\n1. 1周后耳鼻喉科门诊复诊，查纯音测听\n2. 此后每月复诊一次，每次查纯音测听\n3. 出院后1个月复查颞骨增强CT，以后每年复查颞骨CT"
    assert visits(text) == [("耳鼻喉科", "P1W")]
    assert reexams(text) == [("纯音测听", "P1W"), ("颞骨增强CT", "P1M")]


def test_a_short_date_after_a_weekday_is_a_date_not_a_period_in_months() -> None:
    text = "Discharged Fri 04/12/2026\nFollow-up: Anticoagulation clinic on Tuesday 08/12 and Friday 11/12."
    assert visits(text) == [("Anticoagulation clinic", "2026-12-08"), ("Anticoagulation clinic", "2026-12-11")] \
        or visits(text) == [("Anticoagulation", "2026-12-08"), ("Anticoagulation", "2026-12-11")]
    assert all(not w.startswith("P") for _, w in visits(text))


def test_an_arrow_at_the_start_of_a_line_is_a_bullet_but_not_inside_a_line() -> None:
    assert reexams("GP actions:\n-> FBC at the GP surgery in 2/52.\n-> LFTs in 1/52.") == [("FBC", "P2W"), ("LFTs", "P1W")]
    assert _items("出院后2周复查血常规。\n如出现伤口出血不止 → 立即回院", "warning_sign")


def test_a_time_counted_on_from_a_date_written_before_it() -> None:
    text = "Discharged Wed 02/12/2026\n- LFTs at the GP surgery on Monday 07/12 and again 2/52 later."
    assert reexams(text) == [("LFTs", "2026-12-07"), ("LFTs", "2026-12-21")]
    assert reexams("Discharged 02/12/2026\n- Holter 4 weeks after the ablation (10/12/2026).") == [("Holter", "2027-01-07")]


def test_echo_and_kidney_test_abbreviations_are_tests() -> None:
    assert [n.upper() for n, _ in reexams("Follow-up:\n- TTE in 3 months.\n- UEC and KFT in 1 week.")] == ["TTE", "UEC", "KFT"]


def test_a_pipe_table_row_with_outer_pipes_and_the_place_before_the_tests() -> None:
    text = "| 时间 | 地点 | 内容 |\n| 术后8周 | 骨科门诊 | 拆除外固定，复查胫骨X线 |\n| 术后6个月 | 骨科门诊 | 胫骨CT |"
    assert visits(text) == [("骨科", "P8W"), ("骨科", "P6M")]
    assert reexams(text) == [("胫骨X线", "P8W"), ("胫骨CT", "P6M")]


def test_a_numbered_visit_label_opens_a_table_row() -> None:
    text = "随访安排：\n第1次：出院后2周  肾内科门诊  尿常规、肾功能\n第2次：出院后2个月  肾内科门诊  24小时尿蛋白定量"
    assert visits(text) == [("肾内科", "P2W"), ("肾内科", "P2M")]
    assert reexams(text) == [("尿常规", "P2W"), ("肾功能", "P2W"), ("24小时尿蛋白定量", "P2M")]


def test_timed_tests_under_a_gp_actions_heading_are_gp_visits() -> None:
    text = "Discharged 02/12/2026\nActions for GP:\n- Sodium in 1/52.\n- TFTs in 6/52.\n- Please review the statin dose.\n\nFollow-up:\n- CT chest in 3/12."
    assert visits(text) == [("GP", "P1W"), ("GP", "P6W")]
    assert [n for n, _ in reexams(text)] == ["Sodium", "TFTs", "CT chest"]


def test_hospital_in_the_home_nursing_is_a_home_visit() -> None:
    assert visits("Follow-up:\n- Hospital in the Home nurse to visit daily for 5 days for IV antibiotics.") == []


def test_a_bare_follow_up_heading_opens_a_list_of_visits() -> None:
    text = "Discharge: 04/12/2026\nFollow-up:\n- GP in 1 week.\n- Bring her back to the Children's Unit or A&E if: she is floppy or hard to wake."
    assert visits(text) == [("GP", "P1W")]


def test_a_test_at_a_named_clinic_after_a_weekday_and_a_bracketed_date() -> None:
    text = "Discharged Thu 03/12/2026\nTTO:\n- Warfarin - dose as per yellow book; INR Friday (11/12) at the anticoagulation clinic"
    assert reexams(text) == [("INR", "2026-12-11")]
    assert [w for _, w in visits(text)] == ["2026-12-11"]


def test_a_clinic_on_the_same_day_as_the_test_before_and_an_mdt_clinic_keeps_its_name() -> None:
    text = "随访：6个月后复查胸部增强CT，同日胸外科肺结节MDT门诊"
    assert visits(text) == [("胸外科肺结节MDT", "P6M")]


def test_a_tcm_clinic_of_a_specialty_keeps_its_name() -> None:
    assert visits("出院后2周中医肿瘤科门诊复诊") == [("中医肿瘤科", "P2W")]


def test_pulmonary_rehabilitation_is_named_whole() -> None:
    text = "Discharge: 04/12/2026\nFollow-up:\n- Pulmonary rehabilitation program - intake assessment 16/12/2026."
    assert visits(text) == [("Pulmonary rehabilitation", "2026-12-16")]


def test_a_tcm_pill_named_dan_and_a_dose_in_pills() -> None:
    assert _meds("用药：定坤丹 1丸 口服 bid 1个月") == [("定坤丹", 1.0, "丸", "bid", "P1M")]


def test_an_electrophysiology_clinic_the_same_day_as_a_scan() -> None:
    text = "Follow-up appointments:\n- Echocardiogram in 3 months, with Electrophysiology clinic the same day."
    assert visits(text) == [("Electrophysiology", "P3M")]


def test_the_imaging_that_guides_a_procedure_is_the_test() -> None:
    text = "Discharged 02/12/2026\nFollow-up:\n- TOE-guided cardioversion on 06/01/2027 at the Cardiac day unit."
    assert reexams(text) == [("TOE", "2027-01-06")]


def test_english_post_operative_days_count_from_the_stated_day_of_discharge() -> None:
    text = "Date of surgery: 25/11/2026. Discharged: 30/11/2026.\nFollow-up:\n- Clips out with the GP at 10-12 days post-op."
    assert visits(text) == [("GP", "P5D")]
    text = "Discharged: 30/11/2026 (POD 4)\nFollow-up:\n- Staples removed at the GP surgery on POD 12."
    assert visits(text) == [("GP", "P8D")]
