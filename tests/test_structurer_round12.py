"""Discharge-order structuring, round 12: mechanisms found on orders/train12.jsonl (invented examples, not corpus lines)."""

from __future__ import annotations

from tests.test_structurer_round4 import _items, reexams, visits


def _meds(text: str) -> list[tuple]:
    return [(m.name, m.dose, m.unit, m.frequency, m.duration) for m in _items(text, "medication")]


def _signs(text: str) -> list[str]:
    return [i.symptom_code for i in _items(text, "warning_sign")]


# ----- times counted from the operation, from a written date, or written in brackets ----------------------

def test_weeks_after_the_operation_count_from_the_operation_day_when_the_day_at_discharge_is_stated() -> None:
    text = "出院日期：2026年12月4日（术后第3天）\n术后6周、10周骨科门诊复诊；术后10周复查右肩MRI"
    assert visits(text) == [("骨科", "2027-01-12"), ("骨科", "2027-02-09")]
    assert reexams(text) == [("右肩MRI", "2027-02-09")]
    # a time after the operation in brackets after a period from discharge is a gloss: the period is meant
    glossed = "出院日期：2026年12月4日（术后第3天）\n出院后3周左右（术后1个月）回普外科门诊复诊；术后6周复查肩关节CT"
    assert visits(glossed) == [("普外科", "P3W")]
    assert reexams(glossed) == [("肩关节CT", "2027-01-12")]


def test_the_operation_date_written_beside_the_operation_gives_the_day_to_count_from() -> None:
    text = "出院日期：2026年12月5日   手术：腹腔镜胆囊切除术（2026年11月30日）\n术后1年复查腹部彩超"
    assert reexams(text) == [("腹部彩超", "2027-11-30")]


def test_weeks_post_op_in_english_count_from_the_operation_date() -> None:
    text = "Discharged 02/12/2026\nOperation: right carpal tunnel release on 30/11/2026\nHand clinic r/v 4/52 post-op."
    assert visits(text) == [("Hand", "2026-12-28")]


def test_within_two_years_every_three_months_is_a_span_then_the_first_repeat() -> None:
    text = "出院日期：2026年12月6日（术后第7天）\n术后2年内每3个月复查AFP"
    assert reexams(text) == [("AFP", "2027-02-28")]


def test_a_date_in_brackets_after_a_period_is_the_one_meant_and_its_bracket_is_no_item_number() -> None:
    text = "Discharged on December 3, 2026\n- Fracture clinic in 1 week (Dec 10): x-ray of the left ankle on arrival."
    assert visits(text) == [("Fracture", "2026-12-10")]
    assert reexams(text) == [("X-ray of the left ankle", "2026-12-10")]


def test_a_declared_month_first_order_holds_without_a_stated_discharge_date() -> None:
    text = "Instructions printed 12/02/2026 (mm/dd/yyyy)\nEcho 01/06/2027, then Cardiology clinic the same day."
    assert ("Echo", "2027-01-06") in reexams(text)


def test_a_slash_range_takes_its_lower_bound() -> None:
    assert visits("Discharged 03/12/2026\nHepatology OPD in 4-6/52.") == [("Hepatology", "P4W")]


def test_a_repeating_visit_whose_next_date_is_written_is_on_that_date() -> None:
    text = "出院日期：2026-12-02\n1. 醋酸戈舍瑞林植入剂 3.6mg 皮下注射 每4周1次——由本院泌尿外科门诊护士注射，下次注射时间：12月30日，以后每4周一次"
    assert visits(text) == [("泌尿外科", "2026-12-30")]


def test_a_repeating_test_with_its_first_draw_date_starts_that_day() -> None:
    text = "Discharge date: 11/30/2026\nHome health to check INR twice weekly (first draw 12/03 at home)."
    assert reexams(text) == [("INR", "2026-12-03")]


# ----- what is a visit -----------------------------------------------------------------------------------

def test_tca_is_a_return_visit_and_the_reports_brought_are_the_tests() -> None:
    text = "Date of discharge: 05/12/2026\nTCA Surgical OPD after 2 weeks with reports of serum amylase, CBC."
    assert visits(text) == [("Surgical", "P2W")]
    assert reexams(text) == [("Serum amylase", "P2W"), ("CBC", "P2W")]


def test_medicine_opd_is_a_department_and_s_dot_is_no_sentence_end() -> None:
    text = "Follow up after 10 days at Medicine OPD with reports of S. creatinine, prothrombin time."
    assert visits(text) == [("Medicine", "P10D")]
    assert reexams(text) == [("S. creatinine", "P10D"), ("Prothrombin time", "P10D")]


def test_video_and_telehealth_visits_and_pharmacy_pick_ups_are_not_visits() -> None:
    assert visits("Discharged 12/01/2026\nVideo visit with Endocrinology on 12/15/2026.") == []
    assert visits("Discharged 12/01/2026\nTelehealth follow-up with Dr. Park on 12/15/2026.") == []
    assert visits("Discharged 12/01/2026\nPick up your refill at the pharmacy window on 12/03/2026.") == []


def test_the_clinic_calling_with_a_time_does_not_make_the_visit_a_phone_call() -> None:
    text = "Discharged 12/01/2026\nPCP follow-up within 5-7 days (the office will call you with a time)."
    assert visits(text) == [("PCP", "P5D")]


def test_a_test_at_a_doctors_office_is_a_visit_to_the_practice_named() -> None:
    text = "Discharged: 12/01/2026\nINR on 12/04/2026 at Dr. Olsen's office (Family Practice)."
    assert visits(text) == [("Family Practice", "2026-12-04")]


def test_a_visit_on_the_day_of_the_tests_with_no_clinic_named() -> None:
    text = "出院日期：2026年12月2日\n2个月后复查甲状腺彩超、甲功，同时门诊复诊"
    assert visits(text) == [(None, "P2M")]


def test_a_result_condition_or_a_must_makes_what_follows_conditional() -> None:
    assert visits("出院日期：2026年12月2日\n1周后当地医院复查血常规，结果如异常到血液科就诊") == []
    assert visits("出院日期：2026年12月2日\n如必须出国，出发前2周到感染科门诊咨询") == []
    text = "Discharged 01/12/2026\nIf the biopsy confirms lymphoma: Haematology clinic in 1/52."
    assert visits(text) == []


# ----- test names -----------------------------------------------------------------------------------------

def test_a_count_of_samples_and_a_dashed_note_are_not_part_of_a_test_name() -> None:
    assert reexams("Discharged 01/12/2026\nUrine culture x 1 at 1/52 at the hospital laboratory.") == [("Urine culture", "P1W")]
    assert reexams("Discharged 01/12/2026\nEchocardiogram in 3/12 - the scheduling office will book it.") == [("Echocardiogram", "P3M")]


def test_group_and_save_and_the_tests_after_a_clock_time_are_named() -> None:
    text = "Discharged 01/12/2026\nPre-assessment clinic 15/12/2026 at 09:30 (FBC, group and save, ECG will be done there)."
    assert reexams(text) == [("FBC", "2026-12-15"), ("Group and save", "2026-12-15"), ("ECG", "2026-12-15")]


def test_a_procedure_before_the_test_at_a_visit_is_not_the_test() -> None:
    text = "Discharged 12/02/2026\nOrtho clinic on 12/16/2026 for suture removal and a right knee x-ray."
    assert reexams(text) == [("Right knee x-ray", "2026-12-16")]


def test_oxygen_saturation_is_one_test() -> None:
    assert reexams("出院后1周复查血氧饱和度、胸片") == [("血氧饱和度", "P1W"), ("胸片", "P1W")]


def test_request_is_not_part_of_a_test_name() -> None:
    assert reexams("Discharged 01/12/2026\nGP: please request a repeat CXR at 8/52.") == [("CXR", "P8W")]


# ----- medications and warning signs ----------------------------------------------------------------------

def test_plus_separated_dose_slots_and_a_dashed_duration() -> None:
    assert _meds("Tab. Cefixime 200 mg 1+0+1 - 7 days") == [("Cefixime", 200.0, "mg", "bid", "P7D")]
    assert _meds("Tab. Montelukast 10 mg 0+0+1") == [("Montelukast", 10.0, "mg", "qn", None)]


def test_used_right_away_when_it_happens_is_as_needed() -> None:
    assert _meds("肾上腺素注射液 0.3mg 肌注 出现严重过敏反应时立即注射")[0][3] == "prn"


def test_order_phrasings_of_signs() -> None:
    assert _signs("出现腹痛、停止排气排便，及时就诊") == ["abdominal_pain", "constipation"]
    assert _signs("如出现全身荨麻疹、喉头水肿，立即就诊") == ["rash"]
    assert "urinary_problem" in _signs("Come back at once if you are passing little or no urine.")


def test_how_often_a_test_is_done_is_not_a_bowel_sign() -> None:
    text = "出院第2天、第5天各复查一次血钾、肾功能（急诊化验窗口抽血）"
    assert _signs(text) == []
    assert reexams(text) == [("血钾", "P2D"), ("肾功能", "P2D"), ("血钾", "P5D"), ("肾功能", "P5D")]


# ----- later in the round ---------------------------------------------------------------------------------

def test_measurements_taken_at_a_visit_are_re_exams_but_a_daily_weight_at_home_is_not() -> None:
    text = "出院日期：2026年12月2日\n出院后2周儿保门诊复诊，测体重、身长，复查血红蛋白"
    assert ("体重", "P2W") in reexams(text) and ("身长", "P2W") in reexams(text)
    assert reexams("出院日期：2026年12月2日\n每日早晨测体重并记录") == []


def test_a_decoction_shared_between_morning_and_evening_is_half_twice_a_day() -> None:
    assert _meds("归脾汤加减 5剂 每日1剂 水煎300ml 早晚分服") == [("归脾汤", 150.0, "mL", "bid", "P5D")]


def test_an_inhaler_written_per_dose_then_puffs_is_dosed_in_puffs_but_a_spray_range_is_not() -> None:
    assert _meds("Beclometasone inhaler 100 micrograms/dose 2 puffs bd")[0][1:3] == (2.0, "puff")
    assert _meds("GTN spray 400mcg 1-2 puffs SL prn")[0][1:3] == (400.0, "μg")


def test_a_department_that_will_contact_you_with_a_start_date_is_a_visit_to_come() -> None:
    text = "Discharged 03/12/2026\n- Hand therapy: referral sent; the physio department will contact you with a start date."
    assert visits(text) == [("Physiotherapy", None)]


def test_a_clause_saying_who_will_send_the_date_names_no_test() -> None:
    text = "Discharged 03/12/2026\nEcho in 3/12 - ordered, the Echo dept will send the date."
    assert reexams(text) == [("Echo", "P3M")]


def test_why_a_test_is_done_in_brackets_is_not_home_monitoring() -> None:
    text = "出院日期：2026年12月2日\n出院后1个月复查血常规、肝功能（药物副作用监测）"
    assert reexams(text) == [("血常规", "P1M"), ("肝功能", "P1M")]


def test_a_clock_time_before_the_purpose_and_named_scales() -> None:
    text = "Discharged 01/12/2026\nReturn to the Ambulatory unit on 04/12/2026 at 08:30 for CTPA."
    assert ("CTPA", "2026-12-04") in reexams(text)
    assert reexams("出院日期：2026年12月2日\n出院1个月后到记忆门诊做MMSE评估") == [("MMSE", "P1M")]


def test_a_sleep_study_is_a_test_at_a_lab_not_a_visit_and_a_course_left_after_discharge_is_read() -> None:
    text = "出院日期：2026年12月2日\n2个月后复查多导睡眠监测（PSG）评估疗效，检查当晚20:00到睡眠监测室"
    assert reexams(text) == [("多导睡眠监测", "P2M")]
    assert visits(text) == []
    assert _meds("克拉霉素缓释片 500mg 口服 每日1次 共4周（住院已服7天，出院后再服21天）")[0][4] == "P21D"


def test_a_course_through_a_date_and_a_device_after_the_name() -> None:
    assert _meds("Discharged 12/01/2026\nDalteparin 5000 units subcutaneously once daily through 12/22/2026")[0][4] == "2026-12-22"
    assert _meds("肾上腺素注射液（自动注射笔）0.15mg 肌注 过敏发作时立即注射")[0][0] == "肾上腺素注射液"


def test_two_tablets_after_the_strength_without_a_comma() -> None:
    assert _meds("Tab Paracetamol 500mg 2 tabs SOS")[0][1:3] == (1000.0, "mg")
