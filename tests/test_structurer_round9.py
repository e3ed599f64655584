"""Discharge-order structuring, round 9: mechanisms found on orders/train9.jsonl (invented examples, not corpus lines)."""

from __future__ import annotations

from tests.test_structurer_round4 import _items, reexams, visits


def _meds(text: str) -> list[tuple]:
    return [(m.name, m.dose, m.unit, m.frequency, m.duration) for m in _items(text, "medication")]


def test_a_table_row_flattened_with_spaces_gives_the_visit_and_tests_at_each_listed_time() -> None:
    text = "随访安排\n时间 科室 项目\n出院后3个月 骨科门诊 腰椎MRI、血常规\n出院后6个月、1年 骨科门诊 腰椎MRI"
    assert visits(text) == [("骨科", "P3M"), ("骨科", "P6M"), ("骨科", "P1Y")]
    assert reexams(text) == [("腰椎MRI", "P3M"), ("血常规", "P3M"), ("腰椎MRI", "P6M"), ("腰椎MRI", "P1Y")]


def test_an_english_table_row_with_the_time_first_and_the_place_before_the_tests() -> None:
    text = "When | Where | What\n2 weeks after discharge | GP surgery | U&E, blood film\n6 weeks | Renal clinic | review"
    assert visits(text) == [("GP", "P2W"), ("Renal", "P6W")]
    assert [n.lower() for n, _ in reexams(text)] == ["u&e", "blood film"]


def test_a_key_value_block_gives_the_labelled_clinic_and_tests_at_each_labelled_time() -> None:
    text = "复诊科室：手外科门诊\n复诊时间：出院后2周、6周\n复查项目：每次复诊拍左腕关节正侧位片"
    assert visits(text) == [("手外科", "P2W"), ("手外科", "P6W")]
    assert reexams(text) == [("左腕关节正侧位片", "P2W"), ("左腕关节正侧位片", "P6W")]


def test_a_dressing_change_at_the_community_hospital_is_a_visit_from_its_first_date() -> None:
    assert visits("伤口护理：社区卫生服务中心换药，隔日1次，首次2026年12月9日") == [("社区卫生服务中心", "2026-12-09")]


def test_a_bracketed_heading_or_a_letter_opens_an_item() -> None:
    assert reexams("【复查】出院后2周复查血常规") == [("血常规", "P2W")]
    assert reexams("Follow-up:\nb) Renal ultrasound in 3 months") == [("Renal ultrasound", "P3M")]


def test_a_visit_after_each_test_takes_each_test_time() -> None:
    text = "出院后1个月、3个月复查肝脏彩超；每次复查后带报告到肝胆外科门诊复诊"
    assert visits(text) == [("肝胆外科", "P1M"), ("肝胆外科", "P3M")]
    assert reexams(text) == [("肝脏彩超", "P1M"), ("肝脏彩超", "P3M")]


def test_a_bare_repeat_of_the_tests_just_named_is_no_new_visit() -> None:
    assert visits("出院后6个月复查甲状腺彩超，以后每年复查一次") == []
    assert reexams("出院后6个月复查甲状腺彩超，以后每年复查一次") == [("甲状腺彩超", "P6M")]


def test_a_test_before_a_visit_counted_in_months_is_moved_back_by_weeks() -> None:
    text = "出院后1个月内分泌科门诊复诊，复诊前1周复查甲状腺彩超"
    assert visits(text) == [("内分泌科", "P1M")]
    assert reexams(text) == [("甲状腺彩超", "P3W")]


def test_a_general_test_name_with_the_tests_in_brackets_is_those_tests() -> None:
    assert reexams("出院后2周复查肿瘤标志物（AFP、CEA）") == [("AFP", "P2W"), ("CEA", "P2W")]
    assert reexams("出院后2周复查血常规（注意白细胞）") == [("血常规", "P2W")]


def test_a_visit_in_a_medication_line_may_name_the_drug_it_is_for() -> None:
    assert visits("华法林钠片 3mg 口服 每日一次，服药3天后抗凝门诊复诊调整华法林剂量") == [("抗凝门诊", "P3D")]


def test_the_post_operative_day_in_brackets_after_the_discharge_date() -> None:
    assert visits("出院日期：2026年12月4日（术后第6天）\n术后第10天到普外科门诊拆线") == [("普外科", "P4D")]


def test_an_mdt_clinic_is_a_department() -> None:
    assert visits("出院后3周到肺癌MDT门诊讨论下一步治疗") == [("肺癌MDT", "P3W")]


def test_the_start_of_a_therapy_course_at_a_department_is_a_visit() -> None:
    assert visits("出院日期2026年12月4日。\n12月7日起每日上午到高压氧科治疗1次，共10次") == [("高压氧科", "2026-12-07")]


def test_a_polite_question_to_the_gp_is_a_visit_with_the_tests_asked_for() -> None:
    text = "Discharged 01/12/2026.\nCould you please check her sodium at the surgery on 07/12/2026?"
    assert visits(text) == [("GP", "2026-12-07")]
    assert [n.lower() for n, _ in reexams(text)] == ["sodium"]


def test_a_single_named_clinic_after_the() -> None:
    assert visits("We will review him in the Myositis clinic in 8 weeks.") == [("Myositis", "P8W")]


def test_dates_joined_after_a_note_in_brackets_are_each_a_visit() -> None:
    assert [w for _, w in visits("Discharged 01/12/2026.\nPump clinic: Tuesday 08/12/2026 (training) and Tuesday 22/12/2026")] \
        == ["2026-12-08", "2026-12-22"]


def test_a_visit_at_each_date_a_test_is_taken_there() -> None:
    text = "Discharged 01/12/2026.\nGP to check potassium on Friday 04/12 and again on Friday 11/12"
    assert visits(text) == [("GP", "2026-12-04"), ("GP", "2026-12-11")]


def test_a_test_at_that_clinic_takes_the_clinic_time() -> None:
    assert reexams("Liver clinic in 6 weeks; a liver ultrasound to be done at that clinic") == [("Liver ultrasound", "P6W")]


def test_a_repeating_unit_visit_starts_on_the_first_visit_date() -> None:
    text = "Discharged 01/12/2026.\nOncology day unit twice weekly (Tuesday and Friday) for FBC and U&E; first visit Friday 04/12/2026"
    assert [w for _, w in visits(text)] == ["2026-12-04"]
    assert [(n.lower(), w) for n, w in reexams(text)] == [("fbc", "2026-12-04"), ("u&e", "2026-12-04")]


def test_a_transplant_day_before_a_date_is_not_part_of_the_test() -> None:
    assert [n for n, _ in reexams("Discharged 01/12/2026.\nPET-CT at day +100 (10/03/2027)")] == ["PET-CT"]


def test_a_test_on_a_pathology_or_result_is_conditional() -> None:
    assert reexams("如病理良性，6个月后复查乳腺彩超") == []
    assert reexams("出院后1年复查胃镜，若病理提示异型增生则3个月后复查") == [("胃镜", "P1Y")]


def test_reading_a_report_online_is_no_test() -> None:
    assert reexams("出院后1周消化内科门诊看病理（也可在线上查看病理报告）") == []


def test_a_district_nurse_at_home_is_no_visit() -> None:
    assert visits("Wound check by the district nurse twice weekly at home") == []


def test_a_room_or_centre_named_before_its_noun_is_the_place() -> None:
    assert visits("Discharged 01/12/2026.\nCast check in the Plaster room on Friday 04/12/2026") == [("Plaster room", "2026-12-04")]
    assert visits("Discharged 01/12/2026.\nWheelchair fitting centre: assessment on 15/12/2026") == [("Wheelchair fitting centre", "2026-12-15")]


def test_a_procedure_beside_a_test_is_not_part_of_it_and_the_same_day_is_no_test() -> None:
    assert [n for n, _ in reexams("Discharged 01/12/2026.\nReadmission for examination under anaesthesia, cystogram and dressing change on 10/12/2026")] == ["Cystogram"]
    assert reexams("Vascular clinic at 6 weeks, on the same day as the duplex") == []


def test_online_and_video_follow_up_is_no_visit() -> None:
    assert visits("出院后2周互联网医院线上复诊，调整用药") == []
    assert visits("Video review with the consultant in 2 weeks") == []
    # reading a report online beside a clinic visit leaves the visit
    assert visits("出院后1周消化内科门诊看病理（也可在互联网医院线上查看报告）") == [("消化内科", "P1W")]


def test_a_test_on_arrival_at_a_visit_next_weekday() -> None:
    assert reexams("Discharged Tuesday 01/12/2026.\nRenal clinic next Friday with U&E on arrival") == [("U&E", "2026-12-11")]


def test_a_visit_at_listed_times_with_a_test_at_each_visit() -> None:
    text = "Discharged 01/12/2026.\nFollow-up: Renal clinic at 1, 3 and 6 months with U&E at each visit."
    assert visits(text) == [("Renal", "P1M"), ("Renal", "P3M"), ("Renal", "P6M")]
    assert [w for _, w in reexams(text)] == ["P1M", "P3M", "P6M"]


def test_arranging_for_the_gp_to_check_a_test() -> None:
    text = "Discharged 01/12/2026.\nPlease arrange for the GP to check INR on Monday 07/12/2026."
    assert visits(text) == [("GP", "2026-12-07")]
    assert reexams(text) == [("INR", "2026-12-07")]


def test_a_test_named_as_the_label_before_its_time() -> None:
    assert reexams("甲状腺功能：出院后6周复查") == [("甲状腺功能", "P6W")]
    assert visits("血常规：出院后1周社区医院复查") == [("社区医院", "P1W")]


def test_a_course_in_years_coenzyme_q10_and_a_hold_with_a_dated_restart() -> None:
    assert _meds("Aciclovir 400 mg PO BD for 1 year") == [("Aciclovir", 400, "mg", "bid", "P1Y")]
    assert [m[0] for m in _meds("1.辅酶Q10胶囊 10mg 口服 每日三次")] == ["辅酶Q10胶囊"]
    assert _meds("华法林钠片 暂停，12月12日起恢复 3mg 口服 每日一次") == [("华法林钠片", 3, "mg", "qd", None)]
    assert _meds("阿司匹林肠溶片 100mg qd 暂停，复诊时再决定") == []


def test_a_repeat_of_a_visit_with_its_own_first_date_is_a_visit_on_that_date() -> None:
    text = "出院日期2026年12月2日。12月9日到血液科日间病房输注利妥昔单抗，此后每2周1次（首次维持12月23日）。"
    assert visits(text) == [("血液科日间病房", "2026-12-09"), ("血液科日间病房", "2026-12-23")]


def test_tests_in_brackets_after_a_visit_and_a_test_before_the_visit() -> None:
    assert reexams("出院后1个月到神经内科门诊复诊（复查头颅CT、血脂）") == [("头颅CT", "P1M"), ("血脂", "P1M")]
    assert reexams("OPD 6/52 with CT abdomen before") == [("CT abdomen", "P6W")]


def test_an_item_number_glued_to_a_period_after_the_item_before() -> None:
    text = "1.低渣饮食；2.出院后1周普外科门诊复诊；3.1年后复查结肠镜"
    assert reexams(text) == [("结肠镜", "P1Y")]


def test_a_spaced_row_with_the_verb_before_the_test() -> None:
    assert reexams("出院日期：2026年12月4日。\n2026-12-18 消化内科门诊 复查胃镜") == [("胃镜", "2026-12-18")]


def test_a_drug_level_in_a_medication_line_after_a_bare_test_verb() -> None:
    text = "出院日期2026年12月3日。\n环孢素软胶囊 50mg 口服 q12h，每周一抽血查环孢素血药浓度（首次12月7日）"
    assert reexams(text) == [("环孢素血药浓度", "2026-12-07")]


def test_a_test_on_the_morning_of_the_clinic() -> None:
    assert reexams("Neurosurgical clinic in 6 weeks; CT head on the morning of the clinic.") == [("CT head", "P6W")]


def test_short_dates_listed_after_the_first() -> None:
    assert [w for _, w in visits("Discharged 04/12/2026.\nEye clinic on 08/12, 15/12 and 05/01/2027.")] \
        == ["2026-12-08", "2026-12-15", "2027-01-05"]


def test_a_home_visit_under_a_follow_up_heading_is_no_visit() -> None:
    assert visits("Follow-up plan:\n• Stoma nurse home visit within 48 hours") == []


def test_a_scan_of_several_body_sites_is_one_test_and_tumour_markers_are_tests() -> None:
    assert reexams("CT chest, abdomen and pelvis at 3 months") == [("CT chest, abdomen and pelvis", "P3M")]
    assert reexams("CEA every 3 months for 2 years") == [("CEA", "P3M")]


def test_a_clinic_at_the_same_time_as_the_tests_before() -> None:
    text = "出院后3个月复查糖化血红蛋白，同时眼科门诊查眼底"
    assert visits(text) == [("眼科", "P3M")]
    assert reexams(text) == [("糖化血红蛋白", "P3M"), ("眼底", "P3M")]


def test_tests_labelled_before_a_labelled_list_of_times() -> None:
    text = "复查项目：血常规、电解质；复查时间：出院后第5天、第10天；复查地点：当地医院"
    assert reexams(text) == [("血常规", "P5D"), ("电解质", "P5D"), ("血常规", "P10D"), ("电解质", "P10D")]


def test_a_repeat_of_the_visit_just_named_over_a_range_is_no_new_visit() -> None:
    assert visits("出院后2周内分泌科门诊复诊，之后每1-2个月复诊一次") == [("内分泌科", "P2W")]
