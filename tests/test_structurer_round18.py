"""Discharge-order structuring, round 18: mechanisms found on orders/train15.jsonl (invented examples, not corpus lines)."""

from __future__ import annotations

from tests.test_structurer_round4 import _items, visits


def _signs(text: str) -> set[str]:
    return {i.symptom_code for i in _items(text, "warning_sign")}


def _meds(text: str) -> list[tuple]:
    return [(i.name, i.dose, i.unit, i.frequency) for i in _items(text, "medication")]


def test_english_ward_shorthand_for_breathing_and_fainting_is_a_warning_sign() -> None:
    assert {"dyspnea", "fever"} <= _signs("Return to ED if SOB, fever or vomiting.")
    assert "dyspnea" in _signs("Go back to ER if difficulty of breathing or chest pain.")
    assert "syncope" in _signs("Return to ED if chest pain or syncope.")
    assert "abdominal_pain" in _signs("Go to ER if severe headache or epigastric pain.")
    assert "hypoglycemia_symptoms" in _signs("Present to ED if BSL < 4 with sweats/shakes.")
    # a sob is not breathlessness when the order is lower case prose
    assert "dyspnea" not in _signs("Return to ED if she starts to sob uncontrollably or has a fever.")


def test_chinese_fast_breathing_and_chest_indrawing_are_dyspnea() -> None:
    assert "dyspnea" in _signs("患儿如出现呼吸快、吸气时胸凹陷，立即就诊。")


def test_r_v_with_a_time_is_a_review_visit() -> None:
    assert visits("Plan: GP r/v 2/52.") == [("GP", "P2W")]
    assert visits("Plan: GP r/v in 1/52 please, with U&E.") == [("GP", "P1W")]


def test_a_chinese_strength_then_a_tablet_count_is_the_mass_taken() -> None:
    assert _meds("头孢呋辛酯片 0.25g 2片 bid 口服") == [("头孢呋辛酯片", 0.5, "g", "bid")]
    assert _meds("硝苯地平片 10mg 两片 tid") == [("硝苯地平片", 20.0, "mg", "tid")]
    assert _meds("比索洛尔 5mg 0.5# qd") == [("比索洛尔", 2.5, "mg", "qd")]
    # one tablet changes nothing; a package (strength × 20) is not a dose
    assert _meds("氨氯地平 5mg 1# qd") == [("氨氯地平", 5.0, "mg", "qd")]


def test_the_strength_of_one_capsule_in_brackets_then_the_count() -> None:
    assert _meds("水飞蓟宾胶囊（每粒35mg）3粒 tid") == [("水飞蓟宾胶囊", 105.0, "mg", "tid")]


def test_tests_written_with_a_slash_or_in_a_bloods_bracket_are_split() -> None:
    from tests.test_structurer_round4 import reexams
    assert reexams("GP review in 1/52 with FBC/CRP.") == [("FBC", "P1W"), ("CRP", "P1W")]
    assert sorted(reexams("f/u with GP in 2/52 with repeat bloods (lytes, Cr).")) == [("Cr", "P2W"), ("Lytes", "P2W")]
    # a pair that is one test stays one
    assert reexams("GP review in 1/52 with PT/INR.") == [("PT/INR", "P1W")]


def test_a_named_unit_with_a_time_is_a_visit_and_its_bracketed_tests_are_taken_there() -> None:
    from tests.test_structurer_round4 import reexams
    text = "Follow-up: Haemophilia Unit in 3 weeks (FBC, retics, LFTs on the day)."
    assert visits(text) == [("Haemophilia Unit", "P3W")]
    assert sorted(reexams(text)) == [("FBC", "P3W"), ("LFTs", "P3W"), ("Retics", "P3W")]


def test_a_clinic_that_will_call_with_the_date_is_still_a_visit() -> None:
    assert visits("Neurology f/u (Dr. Lim) in 8/52 - clinic will call w/ appt date.") == [("Neurology", "P8W")]
    assert visits("Physio will call you to check how you are doing.") == []


def test_an_untimed_clinic_for_a_test_gives_the_visit_and_the_test_without_a_time() -> None:
    from tests.test_structurer_round4 import reexams
    text = "Eye clinic re visual field test - appt will be sent."
    assert visits(text) == [("Eye", None)]
    assert reexams(text) == [("Visual field test", None)]


def test_a_test_at_a_named_polyclinic_is_a_visit_there_and_the_polyclinic_later_is_the_same_place() -> None:
    from tests.test_structurer_round4 import reexams
    text = "Plan: BP check at Bridgetown North Polyclinic in 3 days; repeat U&Es at the polyclinic in 2/52."
    assert visits(text) == [("Bridgetown North Polyclinic", "P3D"), ("Bridgetown North Polyclinic", "P2W")]
    assert reexams(text) == [("BP", "P3D"), ("U&Es", "P2W")]
    # with no place named before, "the polyclinic" stays the polyclinic
    assert visits("Repeat U&Es at the polyclinic in 2/52.") == [("Polyclinic", "P2W")]


def test_a_booked_date_in_brackets_after_the_test_glosses_the_period() -> None:
    from tests.test_structurer_round4 import reexams
    assert reexams("出院日期：2026年12月1日。八周后复查肠镜（已预约，预约号CJ-88，2027年1月26日上午）") == [("肠镜", "2027-01-26")]
    # a date far from the period is something else; the period stays
    assert reexams("出院日期：2026年12月1日。八周后复查肠镜（上次2025年3月26日）") == [("肠镜", "P8W")]


def test_a_chinese_dated_suture_removal_is_a_visit_and_two_joined_clinics_are_two_visits() -> None:
    assert visits("出院日期：2026年12月1日。12月9日拆线") == [(None, "2026-12-09")]
    # a period before 拆线 stays as before (shared dev labels "术后10天拆线" as no visit)
    assert visits("出院日期：2026年12月1日。术后10天拆线") == []
    assert visits("出院日期：2026年12月1日。12月15日心内科门诊和血管通路门诊同日复诊") == [("心内科", "2026-12-15"), ("血管通路门诊", "2026-12-15")]


def test_a_test_booked_with_its_slip_number_at_a_test_room_is_a_re_exam_on_its_date() -> None:
    from tests.test_structurer_round4 import reexams
    text = "出院日期：2026年12月1日。颈动脉彩超检查预约单号：US-778，12月9日超声科"
    assert reexams(text) == [("颈动脉彩超", "2026-12-09")] and visits(text) == []
    text = "出院日期：2026年12月1日。检查预约单号：CT-0012（胸部CT，2026-12-20，放射科CT室）"
    assert reexams(text) == [("胸部CT", "2026-12-20")] and visits(text) == []


def test_an_emr_table_row_takes_the_dose_column_not_the_strength_column() -> None:
    assert _meds("格列美脲片 | 2mg | 4mg 口服 每日一次 早餐前 | 1盒") == [("格列美脲片", 4.0, "mg", "qd")]


def test_a_small_tablet_count_after_a_times_sign_before_the_frequency_is_the_dose() -> None:
    assert _meds("醋酸泼尼松片 5mg×6片 qd") == [("醋酸泼尼松片", 30.0, "mg", "qd")]
    # a package of 20 is not a dose
    assert _meds("氨溴索片 30mg×20片 1片 tid") == [("氨溴索片", 1.0, "片", "tid")]


def test_a_bare_chinese_count_word_is_the_dose() -> None:
    assert _meds("蒙脱石散 半袋 tid") == [("蒙脱石散", 0.5, "袋", "tid")]


def test_only_if_a_reading_is_as_needed_but_skipping_on_a_reading_is_not() -> None:
    assert _meds("Captopril 25mg 1 tab only if BP >180/110") == [("Captopril", 25.0, "mg", "prn")]
    assert _meds("amlodipine 5 mg po qd (skip if BP < 110)")[0][3] == "qd"


def test_an_inhaler_strength_then_puffs_is_the_puff_count_but_sprays_and_dry_powder_keep_the_mass() -> None:
    assert _meds("万托林（硫酸沙丁胺醇气雾剂）100ug 2揿 喘时吸入")[0][1:3] == (2.0, "puff")
    assert _meds("Spiriva Respimat 2.5 mcg 2 puffs daily")[0][1:4] == (2.0, "puff", "qd")
    assert _meds("噻托溴铵粉吸入剂 18μg 1吸 qd")[0][1:3] == (18.0, "μg")
    assert _meds("GTN spray 400mcg 1-2 puffs prn")[0][1:3] == (400.0, "μg")


def test_return_to_clinic_if_and_bring_the_child_to_er_open_warning_signs() -> None:
    assert {"chest_pain", "dyspnea", "edema", "fever"} <= _signs("Return to clinic if chest pain, SOB, swollen legs or fever.")
    assert {"bleeding", "urinary_problem"} <= _signs("Bring child to ER for any bleeding from the nose or few wet diapers.")
    # a clinic return with a time is a visit, not a sign
    assert _signs("Return to clinic in 2 weeks for a wound check.") == set()


def test_a_test_at_a_capitalised_clinic_with_no_article_is_taken_at_a_visit_there() -> None:
    from tests.test_structurer_round4 import reexams
    text = "F/u: weight check at Well Baby PHC clinic after 1 week."
    assert visits(text) == [("Well Baby PHC", "P1W")] and reexams(text) == [("Weight", "P1W")]


def test_please_before_a_test_is_not_part_of_its_name() -> None:
    from tests.test_structurer_round4 import reexams
    assert ("Lying/standing BP", "P1W") in reexams("Plan: GP r/v in 1/52 please - lying/standing BP and U&E.")


def test_a_clinical_department_word_before_a_test_is_a_visit_there_too() -> None:
    from tests.test_structurer_round4 import reexams
    text = "Discharged 01/12/2026. F/u: ENT OPD on 15/12/2026 with audiology hearing test the same day."
    assert ("Audiology", "2026-12-15") in visits(text) and ("ENT", "2026-12-15") in visits(text)
    assert reexams(text) == [("hearing test", "2026-12-15")]
    # a radiology test is no clinic visit
    assert ("Radiology", "P6W") not in visits("Radiology CT chest in 6 weeks.")


def test_a_department_on_the_same_day_in_a_sentence_of_its_own_is_a_visit_at_the_time_before() -> None:
    text = "Discharged 01/12/2026. Follow up: Endocrinology OPD on 08/12/2026 with HbA1c; Dietitian (Room 3) same day."
    assert ("Dietitian", "2026-12-08") in visits(text)


def test_vitamin_b6_and_calcichew_forte_are_known_drugs() -> None:
    from knowledge.structurer import generic_name
    assert _meds("Vitamin B6 (pyridoxine) 50mg OD")[0][1:] == (50.0, "mg", "qd")
    assert generic_name("Vitamin B6 (pyridoxine)") == "pyridoxine"
    assert generic_name("Calcichew D3 Forte") == generic_name("calcium carbonate/colecalciferol")


def test_a_test_at_a_local_lab_is_a_re_exam_and_a_gp_after_a_dash_is_not_its_place() -> None:
    from tests.test_structurer_round4 import reexams
    text = "d/c 01/12/2026. INR at local pathology collection centre Fri 04/12 - GP to dose."
    assert reexams(text) == [("INR", "2026-12-04")]
    assert visits(text) == []


def test_known_drugs_joined_by_slashes_are_one_combination_tablet() -> None:
    from knowledge.structurer import generic_name
    meds = [i for i in _items("FDC-4 (rifampicin/isoniazid/pyrazinamide/ethambutol) 3 tabs OD", "medication")]
    assert len(meds) == 1 and meds[0].dose == 3.0 and meds[0].frequency == "qd"
    assert meds[0].generic_name == generic_name("rifampicin/isoniazid/pyrazinamide/ethambutol")


def test_a_discharge_dot_date_header_and_a_two_digit_operation_date_chain_post_op_times() -> None:
    from tests.test_structurer_round4 import reexams
    text = ("Orthopaedic Discharge. Date: 01/12/26. Procedure: ORIF L ankle on 24/11/26. "
            "Plan: Fracture clinic 6/52 post-op with X-ray L ankle on arrival.")
    assert visits(text) == [("Fracture", "2027-01-05")]
    assert reexams(text) == [("X-ray L ankle", "2027-01-05")]


def test_two_known_drugs_joined_by_a_plus_before_one_tablet_count_are_one_tablet() -> None:
    meds = _items("Ferrous sulfate + folic acid 1 tab OD", "medication")
    assert len(meds) == 1 and (meds[0].dose, meds[0].unit, meds[0].frequency) == (1.0, "tablet", "qd")
    # a plus before a strength is not a combination tablet
    assert [i.name for i in _items("aspirin + clopidogrel 75mg od", "medication")] != ["aspirin + clopidogrel"]


def test_a_single_chinese_injection_is_once_but_a_daily_or_weekly_one_is_not() -> None:
    assert _meds("聚乙二醇化重组人粒细胞刺激因子 6mg 皮下注射 1次")[0][3] == "once"
    assert _meds("依诺肝素 4000IU 每日皮下注射1次")[0][3] == "qd"
    assert _meds("甲钴胺注射液 0.5mg 每周肌肉注射1次")[0][3] != "once"


def test_a_taper_written_in_days_abbreviated_is_daily_and_its_course_adds_up() -> None:
    meds = _items("prednisolone taper - 30 mg x 5d, 20 mg x 5d, 10 mg x 5d then stop", "medication")
    assert (meds[0].dose, meds[0].frequency, meds[0].duration) == (30.0, "qd", "P15D")
