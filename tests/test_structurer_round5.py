"""Discharge-order structuring, round 5: mechanisms found on orders/train5.jsonl (invented examples, not corpus lines)."""

from __future__ import annotations

from tests.test_structurer_round4 import _items, reexams, visits


def test_clinical_fractions_are_periods() -> None:
    assert visits("Follow-up: Dermatology clinic in 4/52.") == [("Dermatology", "P4W")]
    assert visits("Orthopaedic clinic review in 3/12.") == [("Orthopaedic", "P3M")]
    meds = _items("Cefalexin 500 mg qds x 5/7", "medication")
    assert meds and meds[0].duration == "P5D"
    meds = _items("Flucloxacillin 500 mg qds x 7/7", "medication")
    assert meds and meds[0].duration == "P7D"
    assert visits("Discharged 03/12/2026.\nClinic on 10/12/2026.") == [(None, "2026-12-10")]     # a date with a year stays a date


def test_opd_and_fu_are_visits_and_not_part_of_the_department() -> None:
    assert visits("FU Cardiology OPD in 2 weeks.") == [("Cardiology", "P2W")]
    assert visits("f/u: Urology OPD in 6/52.") == [("Urology", "P6W")]


def test_a_declared_date_order_reads_ambiguous_dates() -> None:
    text = "Discharge date: 11/02/2026 (mm/dd/yyyy).\nClinic review on 11/09/2026."
    assert visits(text) == [(None, "2026-11-09")]
    text = "Discharge date: 11/02/2026 (dd/mm/yyyy).\nClinic review on 11/09/2026."
    assert visits(text) == [(None, "2026-09-11")]


def test_tests_joined_by_and_with_articles_split() -> None:
    assert reexams("Respiratory clinic in 2 months with a CXR and a 24-hour tape beforehand.") == \
        [("CXR", "P2M"), ("24-hour tape", "P2M")]
    assert reexams("Urine microscopy and culture in 1 week.") == [("Urine microscopy", "P1W"), ("Urine culture", "P1W")]
    assert reexams("Visual acuity and colour vision check at the Eye clinic in 1 month.") == \
        [("Visual acuity", "P1M"), ("Colour vision", "P1M")]


def test_a_labelled_monitoring_list_and_same_morning_notes() -> None:
    assert reexams("Metabolic monitoring: weight, BP and lipids at 6 weeks.") == [("Weight", "P6W"), ("BP", "P6W"), ("Lipids", "P6W")]
    assert reexams("Clinic on 9 March 2027 – renal ultrasound the same morning.") == [("Renal ultrasound", "2027-03-09")]


def test_an_acronym_clinic_is_a_department() -> None:
    assert visits("Review in the CAMHS clinic in 3 weeks.") == [("CAMHS", "P3W")]


def test_twice_weekly_tests_on_named_days_start_on_the_first_date() -> None:
    text = "Discharge date: 03/02/2027.\nBloods (FBC, U&E) twice a week on Tuesdays and Fridays at the Renal clinic, first on 09/02/2027."
    assert reexams(text) == [("FBC", "2027-02-09"), ("U&E", "2027-02-09")]


def test_a_post_operative_day_counts_from_the_stated_day_of_discharge() -> None:
    text = "腹股沟疝修补术后出院医嘱（今日为术后第2天）\n1. 术后第9天普外科门诊拆线"
    assert visits(text) == [("普外科", "P7D")]
    assert visits("术后第4天出院。\n术后第12天手外科门诊拆线") == [("手外科", "P8D")]
    # no post-operative day stated: a time from discharge in brackets is the one meant
    assert visits("术后第10天（出院后第6天）骨科门诊拆线") == [("骨科", "P6D")]


def test_splints_and_packing_taken_out_are_visits() -> None:
    assert visits("鼻腔夹板出院后第5天拆除") == [(None, "P5D")]
    assert visits("出院后1周耳鼻喉科门诊取出鼻腔填塞物") == [("耳鼻喉科", "P1W")]


def test_a_flattened_table_row_is_tests_a_time_and_a_place() -> None:
    text = "复查安排（项目 / 时间 / 地点）：\n血常规、肝肾功能 / 出院后2周 / 肾内科门诊\n泌尿系彩超 / 3个月后 / —"
    assert visits(text) == [("肾内科", "P2W")]
    assert reexams(text) == [("血常规", "P2W"), ("肝功能", "P2W"), ("肾功能", "P2W"), ("泌尿系彩超", "P3M")]
    text = "血氨、血常规 — 出院后1周 — 本院检验科"
    assert visits(text) == [] and reexams(text) == [("血氨", "P1W"), ("血常规", "P1W")]


def test_an_antiseptic_solution_for_a_sitz_bath_is_a_topical_medication() -> None:
    meds = _items("2. 1:5000高锰酸钾溶液坐浴 每日2次，共5天", "medication")
    assert [(m.name, m.route, m.frequency, m.duration) for m in meds] == [("高锰酸钾溶液", "topical", "bid", "P5D")]
    assert _items("多饮温开水，可用淡盐溶液漱口", "medication") == []


def test_a_nasal_spray_is_topical_even_when_counted_in_puffs() -> None:
    meds = _items("布地奈德鼻喷雾剂 每侧2喷 每日1次", "medication")
    assert [(m.dose, m.route, m.frequency) for m in meds] == [(2.0, "topical", "qd")]


def test_a_test_stops_before_what_it_is_for_and_a_result_is_not_a_test() -> None:
    assert reexams("3个月后复诊，拍胸部CT评估肿块大小") == [("胸部CT", "P3M")]
    assert reexams("病理结果约1周后出，请留意电话通知") == []


def test_a_repeat_named_shorter_is_not_a_new_test() -> None:
    text = "1. 出院后1个月复查血常规、甲状腺彩超；之后每6个月复查彩超"
    assert reexams(text) == [("血常规", "P1M"), ("甲状腺彩超", "P1M")]


def test_a_dressing_change_at_the_local_hospital_is_a_visit_without_a_department() -> None:
    assert visits("出院后第4天当地医院换药") == [(None, "P4D")]
    assert visits("隔天换药一次，可在当地医院或我院换药室进行") != [(None, None)]


def test_a_weekday_before_a_date_and_compound_times() -> None:
    text = "Discharge date: Wed 2 Dec 2026.\nFBC at the Haematology clinic on Friday 11 Dec 2026."
    assert reexams(text) == [("FBC", "2026-12-11")]
    assert visits("Postnatal check with your GP at 6 weeks.") == [("GP", "P6W")]
    assert visits("GP 6–8 week baby check.") == [("GP", "P6W")]


def test_a_midwife_who_will_visit_is_a_home_visit() -> None:
    assert visits("The community midwife will visit on day 3.") == []


def test_see_a_specialty_with_a_test_is_a_visit_and_the_test() -> None:
    assert visits("See neurology in 2 months with an EEG.") == [("Neurology", "P2M")]
    assert reexams("See neurology in 2 months with an EEG.") == [("EEG", "P2M")]


def test_a_fortnight_and_an_outpatient_prefix() -> None:
    assert reexams("Repeat U&E in a fortnight.") == [("U&E", "P2W")]
    assert reexams("Outpatient CT chest in 3 months.") == [("CT chest", "P3M")]


def test_a_visit_or_test_label_before_a_colon_on_the_same_line() -> None:
    assert visits("复诊：肾内科门诊，出院后3周") == [("肾内科", "P3W")]
    assert reexams("复查：血常规、肝肾功能，出院后2周") == [("血常规", "P2W"), ("肝功能", "P2W"), ("肾功能", "P2W")]
    assert reexams("复查：出院后1个月复查甲功") == [("甲状腺功能", "P1M")]
    assert reexams("首次复查：出院后1个月（复查项目：肝功能、腹部彩超）") == [("肝功能", "P1M"), ("腹部彩超", "P1M")]
    assert reexams("复查安排：项目 — 时间 — 地点") == []


def test_untimed_tests_in_a_warning_line_stay_out() -> None:
    assert reexams("如出现发热、咽痛，立即停药并查血常规就诊") == []


def test_returning_to_hospital_for_treatment_is_a_visit() -> None:
    assert visits("3周后返院行第4周期化疗") == [(None, "P3W")]
    assert visits("如有不适及时返院") == []


def _signs(text: str) -> list[str]:
    return [i.symptom_code for i in _items(text, "warning_sign")]


def test_warning_phrasings_of_round5() -> None:
    assert _signs("Seek help for earache that gets worse.") == ["pain"]
    assert _signs("Return at once if you have reduced urine output.") == ["urinary_problem"]
    assert _signs("如出现会阴伤口疼痛加剧，及时就诊") == ["wound_pain"]


def test_a_swollen_belly_is_not_edema_but_swollen_legs_are() -> None:
    assert _signs("Return to hospital immediately if: abdominal pain or swelling.") == ["abdominal_pain"]
    assert _signs("Seek help straight away if your legs or belly swell.") == ["edema"]
    assert "edema" in _signs("If you notice pain in the upper abdomen, or sudden swelling of your face, hands or feet, call us straight away.")


def _meds(text: str) -> list[tuple]:
    return [(m.name, m.dose, m.unit, m.frequency, m.duration) for m in _items(text, "medication")]


def test_a_taper_that_ends_in_a_stop_is_not_a_stopped_drug() -> None:
    assert _meds("1. 氟米龙滴眼液 右眼 1滴 每日4次，每周减1次，减完停药") == [("氟米龙滴眼液", 1.0, "drop", "qid", "P4W")]


def test_strength_times_a_small_count_is_the_dose_but_a_package_is_not() -> None:
    assert _meds("阿昔洛韦片 0.2g×2片 口服 每日5次") [0][1:3] == (0.4, "g")
    assert _meds("阿莫西林胶囊 0.25g×24粒 口服 tid")[0][1:3] == (0.25, "g")


def test_the_rest_of_a_course_after_the_days_used_in_hospital() -> None:
    assert _meds("左氧氟沙星片 0.5g 口服 qd 共10天（住院已用3天）")[0][4] == "P7D"
    assert _meds("头孢呋辛酯片 0.25g bid 共10天，住院期间已用4天")[0][4] == "P6D"


def test_a_procedure_visit_with_tests_in_one_clause_is_both() -> None:
    assert visits("1周后门诊拆线并复查血常规") == [(None, "P1W")]
    assert reexams("1周后门诊拆线并复查血常规") == [("血常规", "P1W")]
    assert visits("出院后10天社区医院拆线并复查血常规") == [("社区医院", "P10D")]
    assert visits("出院后1周社区医院复查血常规") == [("社区医院", "P1W")]     # a community blood draw is a visit there (round 6)
    assert visits("出院后1周当地医院复查血常规") == []                      # at the local hospital it stays a test


def test_a_test_stops_before_its_schedule() -> None:
    assert reexams("复查血HCG每周1次至正常") == [("血HCG", "P1W")]


def test_us_style_follow_up_phrasings() -> None:
    assert visits("Follow up in 7-10 days with orthopedics for wound check.") == [("Orthopedics", "P7D")]
    assert visits("Get a CBC drawn at your PCP office in 1 week.") == [("PCP", "P1W")]
    assert reexams("Get a CBC drawn at your PCP office in 1 week.") == [("CBC", "P1W")]
    assert visits("Follow-up: PCP in 1 week.") == [("PCP", "P1W")]
    assert reexams("Fracture clinic in 1 week for repeat X-ray.") == [("X-ray", "P1W")]
    assert reexams("Outpatient sleep study in 2 months.") == [("Sleep study", "P2M")]


def test_a_visit_whose_time_comes_in_a_later_clause() -> None:
    text = "Follow-up with Dr. Lee, endocrinology, in 3 months with HbA1c prior to visit."
    assert visits(text) == [("Endocrinology", "P3M")]
    assert reexams(text) == [("HbA1c", "P3M")]


def test_return_in_a_time_is_a_visit() -> None:
    assert visits("Return in 2 weeks for staple removal.") == [(None, "P2W")]


def test_tests_before_an_appointment_and_a_bare_dated_clinic() -> None:
    assert reexams("Follow up with pulmonology in 1 month. Obtain chest x-ray prior to appointment.") == [("Chest x-ray", "P1M")]
    assert reexams("Hepatology clinic 12/21/2026 with ultrasound abdomen and AFP.") == \
        [("Ultrasound abdomen", "2026-12-21"), ("AFP", "2026-12-21")]
    assert reexams("Holter monitor to be fitted in 1 week.") == [("Holter monitor", "P1W")]


def test_an_ambiguous_discharge_date_is_read_the_way_the_other_dates_fit() -> None:
    assert visits("Discharged on 12/03/2026. Wound check on 12/08/2026 at the surgical clinic.") == [("Surgical", "2026-12-08")]
    assert visits("Discharged on 04/12/2026. Wound check on 08/12/2026 at the surgical clinic.") == [("Surgical", "2026-12-08")]


def test_two_timed_appointments_joined_by_and() -> None:
    text = "GP bloods (FBC, U&E) on 15/12/2026 and renal clinic on 5 January 2027."
    assert visits(text) == [("GP", "2026-12-15"), ("Renal", "2027-01-05")]
    assert reexams(text) == [("FBC", "2026-12-15"), ("U&E", "2026-12-15")]


def test_a_test_one_week_before_the_clinic_and_a_next_test_due() -> None:
    assert reexams("Clinic appointment: Endocrinology, 6 weeks, with TFTs 1 week before.") == [("TFTs", "P5W")]
    assert reexams("Your next INR is due on 11/12/2026 at the anticoagulation clinic.") == [("INR", "2026-12-11")]


def test_time_words_and_our_own_ward_are_not_departments() -> None:
    assert visits("出院后1周至我科门诊复诊") == [(None, "P1W")]
    assert visits("出院后每月门诊随访一次") == [(None, "P1M")]
    assert visits("出院后2周内到门诊复诊") == [(None, "P2W")]


def test_a_contrast_scan_is_one_test_and_a_bracket_note_does_not_end_the_list() -> None:
    assert reexams("2周后复查腹部CT平扫+增强") == [("腹部CT平扫+增强", "P2W")]
    assert reexams("出院后3天复查血常规（门诊或当地医院均可）") == [("血常规", "P3D")]


def test_tests_named_after_a_comma_share_the_clause_before() -> None:
    assert reexams("出院后1周查血常规，肝功") == [("血常规", "P1W"), ("肝功能", "P1W")]
    assert reexams("1个月后复查肝功能，根据病理决定后续治疗") == [("肝功能", "P1M")]


def test_more_us_test_phrasings() -> None:
    assert visits("Blood work to be drawn at PCP in 1 week.") == [("PCP", "P1W")]
    assert reexams("Blood work to be drawn at PCP in 1 week.") == [("Blood work", "P1W")]
    assert reexams("You will need a CBC and CMP drawn 1 week after discharge.") == [("CBC", "P1W"), ("CMP", "P1W")]
    assert visits("Follow-up CT abdomen/pelvis in 3 months.") == []
    assert reexams("Follow-up CT abdomen/pelvis in 3 months.") == [("CT abdomen/pelvis", "P3M")]
    assert reexams("Liver enzymes in 2 weeks.") == [("Liver enzymes", "P2W")]
    text = "Follow up with Dr. Jones (PCP) on 12/10/2026 at 2:00 PM. Please get a BMP before this visit."
    assert reexams(text) == [("BMP", "2026-12-10")]


def test_an_unknown_drug_with_a_strength_and_a_mouthwash_form() -> None:
    assert _meds("Benzydamine 0.15% mouthwash 15 ml gargle every 3 hours as needed") == [("Benzydamine", 15.0, "mL", "prn", None)]


def test_a_course_in_a_block_heading_covers_the_drugs_under_it() -> None:
    text = "Intensive phase, 2 months, all once daily before breakfast:\n  Rifampicin 600 mg PO OD\n  Isoniazid 300 mg PO OD\n\nParacetamol 1 g qds prn"
    assert [m[4] for m in _meds(text)] == ["P2M", "P2M", None]


def test_drugs_listed_with_a_dose_before_one_sig_share_it() -> None:
    text = "强化期（2个月）：异烟肼片 0.3g、利福平胶囊 0.45g，每日1次 空腹顿服"
    assert _meds(text) == [("异烟肼片", 0.3, "g", "qd", "P2M"), ("利福平胶囊", 0.45, "g", "qd", "P2M")]


def test_a_tube_taken_out_after_a_test_and_an_assessment_after_a_time_are_visits() -> None:
    assert visits("1个月后复查胃镜并拔除胃管") == [(None, "P1M")]
    assert visits("6个月后评估是否需要激光治疗") == [(None, "P6M")]
    assert visits("3个月后复查CBCT评估骨结合") == []


def test_the_next_thing_done_at_the_same_place_keeps_the_place() -> None:
    assert visits("出院后第3天到伤口门诊换药，第10天拆线") == [("伤口门诊", "P3D"), ("伤口门诊", "P10D")]
    assert visits("出院后第3天胸外科门诊换药，出院后10天拆线") == [("胸外科", "P3D")]   # counted afresh: not tied
