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


def test_english_test_times_in_numbers_and_the_test_before_its_review() -> None:
    text = "Discharged 02/03/2027.\nRepeat CT chest and review in Respiratory clinic on 30/03/2027."
    assert reexams(text) == [("CT chest", "2027-03-30")]
    assert visits(text) == [("Respiratory", "2027-03-30")]


def test_a_test_at_the_gp_surgery_is_a_gp_visit_and_the_test() -> None:
    text = "Discharged 02/03/2027.\nBlood test (magnesium) at your GP surgery on 09/03/2027."
    assert reexams(text) == [("Magnesium", "2027-03-09")]
    assert visits(text) == [("GP", "2027-03-09")]


def test_a_test_on_the_day_of_a_clinic_and_in_brackets_at_that_visit() -> None:
    text = "Urology clinic on 5 April 2027.\nBlood test (PSA, creatinine) on the day of the clinic."
    assert reexams(text) == [("PSA", "2027-04-05"), ("Creatinine", "2027-04-05")]
    assert ("Lipid profile", "P3M") in reexams("Endocrine clinic in 3 months (lipid profile at that visit).")


def test_a_test_label_over_visits_on_two_dates() -> None:
    text = "Discharged 02/03/2027.\nINR checks: Anticoagulation clinic on Thursday 04/03/2027 and Monday 08/03/2027."
    assert reexams(text) == [("INR", "2027-03-04"), ("INR", "2027-03-08")]
    assert [w for _, w in visits(text)] == ["2027-03-04", "2027-03-08"]


def test_only_if_still_is_a_condition_and_anticoagulation_is_not_a_test() -> None:
    assert reexams("Echocardiogram at 3 months only if still breathless.") == []
    assert reexams("Haematology clinic on 8 April 2027 – bring your anticoagulation record.") == []


def test_the_practice_nurse_names_no_department() -> None:
    assert visits("Wound check with the practice nurse in 7 days.") == [(None, "P7D")]


def signs(text: str) -> set[str]:
    return {i.symptom_code for i in _items(text, "warning_sign")}


def test_warning_phrasings_of_round_4() -> None:
    assert signs("如再次晕倒、说话不清，立即送医") == {"syncope", "slurred_speech"}
    assert signs("出现多尿、尿少时及时就诊") == {"urinary_problem"}
    assert signs("Phone your GP if your pain is not controlled or you have not opened your bowels for 3 days.") == {"pain", "constipation"}
    assert signs("Go to A&E for loss of bladder control.") == {"urinary_problem"}
    assert signs("Call 999 if chest pain not relieved by rest.") == {"chest_pain"}


def test_a_swollen_groin_is_a_local_sign_and_a_large_patch_is_no_tablet() -> None:
    assert signs("Seek help if there is swelling in the groin or a fever.") == {"fever"}
    assert not _items("体温≥38℃、皮肤大片瘀斑，立即就诊", "medication")
    assert signs("体温≥38℃、皮肤大片瘀斑，立即就诊") == {"fever", "bruising"}


def meds(text: str) -> list[tuple]:
    return [(i.name, i.dose, i.unit, i.frequency, i.duration) for i in _items(text, "medication")]


def test_a_course_before_the_drugs_of_a_line_is_each_drugs() -> None:
    found = meds("根除治疗（共10天）：阿莫西林胶囊 1g bid、呋喃唑酮片 0.1g bid")
    assert [d for *_, d in found] == ["P10D", "P10D"]


def test_caps_planned_lengths_until_a_date_and_a_taper_used_up() -> None:
    assert meds("Tramadol 50 mg up to 4 times a day if needed (max 5 days)")[0][-1] == "P5D"
    assert meds("Oxycodone 5 mg every 4 hours if needed, for up to 3 days")[0][-1] == "P3D"
    assert meds("来曲唑片 2.5mg qd 长期（计划5年）")[0][-1] == "P5Y"
    assert meds("阿司匹林肠溶片 100mg qd，至出院后4周")[0][-1] == "P4W"
    assert meds("出院日期：2027年2月1日\n依诺肝素 40mg 皮下注射 qd，至2027年2月20日")[0][-1] == "2027-02-20"
    assert meds("Rivaroxaban 15 mg twice daily until 22/02/2027, then 20 mg once daily")[0][-1] is None   # stepped: no end
    assert meds("氟米龙滴眼液 1滴 每日4次，每周减1次，减完停")[0][-1] == "P4W"


def test_a_drug_tied_to_another_drugs_course_takes_its_length() -> None:
    found = meds("1. Prednisolone 30 mg once daily for 7 days, then stop\n2. Lansoprazole 30 mg once daily while on prednisolone")
    assert found[1][-1] == "P7D"
    found = meds("1. 泼尼松片 20mg qd ×5天\n2. 泮托拉唑肠溶片 40mg qd（激素停则停）")
    assert found[1][-1] == "P5D"
    assert meds("1. Prednisolone 40 mg daily, clinic will taper\n2. Omeprazole 20 mg daily while on prednisolone")[1][-1] is None


def test_unequal_doses_by_meal_group_the_equal_ones() -> None:
    found = meds("门冬胰岛素注射液 早餐前8U、午餐前6U、晚餐前8U 皮下注射")
    assert sorted((d, f) for _, d, _, f, _ in found) == [(6.0, "qd"), (8.0, "bid")]


def test_prn_words_a_drug_given_in_hospital_and_a_drug_named_as_a_reference() -> None:
    assert meds("Cyclizine 50 mg up to three times a day if you feel sick")[0][3] == "prn"
    assert meds("开塞露 20ml 便秘时纳肛")[0][3] == "prn"
    assert meds("复方黄柏液涂剂 外用 皮肤破溃时湿敷")[0][3] == "prn"
    assert meds("唑来膦酸注射液 5mg 已于住院期间静滴") == []
    assert [m[0] for m in meds("Senna 15 mg at night – keep taking while on oxycodone")] == ["Senna"]


def test_hours_in_a_max_dose_are_no_injection_and_a_test_in_48_hours() -> None:
    paracetamol = _items("Paracetamol 500 mg by mouth every 6 hours if needed, max 4 doses in 24 h", "medication")[0]
    assert paracetamol.route == "oral"
    assert reexams("Repeat serum sodium (finger prick) in 48 hours at the Day Unit.") == [("Serum sodium", "P2D")]


def test_a_test_label_over_a_dated_visit_after_the_colon() -> None:
    text = "Discharged 24/11/2026.\nINR: 27/11 at the Anticoagulation clinic, then weekly."
    assert reexams(text) == [("INR", "2026-11-27")]
    assert reexams("Tests: U&E at your GP surgery on 01/12/2026.") == [("U&E", "2026-12-01")]


def test_a_dressing_change_at_a_named_centre_is_a_visit() -> None:
    assert visits("出院后第5天到造口中心换药") == [("造口中心", "P5D")]
