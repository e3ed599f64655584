"""Discharge-order structuring, round 17: mechanisms found on orders/train14.jsonl (invented examples, not corpus lines)."""

from __future__ import annotations

from knowledge.structurer import structure_orders
from tests.test_structurer_round4 import _items, reexams, visits


def _signs(text: str) -> set[str]:
    return {i.symptom_code for i in _items(text, "warning_sign")}


def _meds(text: str) -> list[tuple]:
    return [(i.name, i.dose, i.unit, i.frequency) for i in _items(text, "medication")]


def test_order_register_signs_of_breathing_urine_and_stoma() -> None:
    assert "dyspnea" in _signs("注意：如半夜憋醒、讲不出完整句子，立即急诊")
    assert "urinary_problem" in _signs("出现发热、无法自行排尿，请立即来院")
    assert "urinary_problem" in _signs("如尿量明显增多伴口渴，及时就诊")
    assert "hemoptysis" in _signs("Seek urgent review if she develops haemoptysis.")
    assert "diarrhea" in _signs("Call the ward if you have a high stoma output (over 2 litres a day).")


def test_a_drug_that_does_not_help_in_a_warning_is_no_order() -> None:
    text = "出院日期：2027年3月2日\n如胸闷加重、硝酸甘油含服后仍不缓解，立即拨打120"
    assert _meds(text) == []
    assert "chest_tightness" in _signs(text)
    # a drug with its dose in a conditional line stays an order
    assert [m[:3] for m in _meds("如疼痛明显时服布洛芬缓释胶囊 0.3g")] == [("布洛芬缓释胶囊", 0.3, "g")]


def test_a_thyroid_panel_is_thyroid_function() -> None:
    assert reexams("出院后1个月复查甲功三项、血常规") == [("甲状腺功能", "P1M"), ("血常规", "P1M")]


def test_a_booking_number_is_not_a_test() -> None:
    text = "出院后2周复查胸部CT，检查预约单号：CT0316-0021；检查已开好"
    assert reexams(text) == [("胸部CT", "P2W")]


def test_a_test_before_a_dated_removal_counts_back_from_it() -> None:
    text = "出院日期：2027年3月2日\n出院后3周（2027年3月23日）来泌尿外科日间病房拔除双J管，拔管前1周复查泌尿系B超"
    assert visits(text) == [("泌尿外科日间病房", "2027-03-23")]
    assert reexams(text) == [("泌尿系B超", "2027-03-16")]
    text = "Date of discharge: 02/03/2027. Renal clinic in 6 weeks; U&E one week earlier."
    assert ("U&E", "P5W") in reexams(text)


def test_a_time_after_a_dated_event_is_counted_from_that_date() -> None:
    text = ("出院日期：2027年3月2日\n1. 3月23日泌尿外科日间病房拔除双J管；\n2. 拔管后2周泌尿外科门诊复诊，并复查尿常规")
    assert ("泌尿外科", "2027-04-06") in visits(text)
    assert ("尿常规", "2027-04-06") in reexams(text)
    text = "核医学科出院医嘱（出院日期：2027年3月2日；碘-131治疗日期：2027年2月27日）\n治疗后2个月核医学科门诊复诊并复查甲功"
    assert visits(text) == [("核医学科", "2027-04-27")]
    # with no dated event the time stays from discharge
    assert visits("出院日期：2027年3月2日\n治疗后1个月血液科门诊复诊") == [("血液科", "P1M")]


def test_tests_listed_after_with_stay_with_their_visit() -> None:
    text = "Date of discharge: 02/03/2027. Follow-up: Renal clinic 6/52 with FBC, RP, calcium and phosphate (bloods 1 week before appt)."
    assert visits(text) == [("Renal", "P6W")]
    assert reexams(text) == [("FBC", "P5W"), ("RP", "P5W"), ("Calcium", "P5W"), ("Phosphate", "P5W")]
    text = "Discharged 02/03/2027. Plan: TCA Medical Clinic in 3/12 with HbA1c, FSL, RP."
    assert reexams(text) == [("HbA1c", "P3M"), ("FSL", "P3M"), ("RP", "P3M")]


def test_a_diabetes_educator_is_its_own_visit() -> None:
    text = "Discharged 02/03/2027. TCA Klinik Kesihatan in 1/52, with a Diabetes educator appointment on the same day."
    assert visits(text) == [("Klinik Kesihatan", "P1W"), ("Diabetes educator", "P1W")]


def test_a_lower_bound_course_and_a_once_dose_on_a_bracketed_day() -> None:
    text = "出院日期：2027年3月2日\n阿司匹林肠溶片 50mg 口服 每日一次，至少服用6-8周"
    assert [i.duration for i in _items(text, "medication")] == ["P6W"]
    text = "出院日期：2027年3月2日\n聚乙二醇化重组人粒细胞刺激因子注射液 6mg 皮下注射 出院次日（3月3日）1次"
    assert [i.frequency for i in _items(text, "medication")] == ["once"]


def test_a_visit_after_each_test_is_at_each_test_time() -> None:
    text = "出院日期：2027年3月2日\n出院后1个月、3个月各复查一次心脏彩超，每次均到儿科门诊复诊"
    assert visits(text) == [("儿科", "P1M"), ("儿科", "P3M")]


def test_hong_kong_and_us_clinic_names() -> None:
    assert visits("Discharged 02/03/2027. FU Medical SOPC in 10 weeks.") == [("Medical", "P10W")]
    assert visits("Discharged 02/03/2027. FU M&G SOPC 16 weeks.") == [("M&G", "P16W")]
    assert visits("Discharged 03/02/2027. OB office visit at 2 weeks.") == [("OB", "P2W")]
    assert reexams("Discharged 02/03/2027. Blood taking for CBC at GOPC 2 weeks after discharge.") == [("CBC", "P2W")]


def test_mdt_clinics_booked_and_a_dated_admission() -> None:
    assert visits("出院日期：2027年3月2日\n请于3月18日挂号肺结节MDT门诊看病理") == [("肺结节MDT", "2027-03-18")]
    assert visits("出院日期：2027年3月2日\n2027年4月6日上午糖尿病足多学科门诊") == [("糖尿病足多学科", "2027-04-06")]
    assert visits("出院日期：2027年3月2日\n4周后复查CT，CT当天下午到消化内科门诊看片") == [("消化内科", "P4W")]
    text = "出院日期：2027年3月2日\n第3周期化疗定于3月23日入院，入院前一天门诊查血常规"
    assert visits(text) == [(None, "2027-03-23")]
    assert reexams(text) == [("血常规", "2027-03-22")]


def test_a_hyphenated_combination_is_taken_by_the_tablet() -> None:
    assert _meds("Discharged 03/02/2027. amoxicillin-clavulanate 875-125 mg tablet, 1 tablet by mouth twice daily") == \
        [("amoxicillin-clavulanate", 1.0, "tablet", "bid")]
    assert _meds("Sacubitril-valsartan 49-51 mg, 1 tablet PO twice daily") == [("Sacubitril-valsartan", 1.0, "tablet", "bid")]
    # a range of one drug stays its lower bound
    assert _meds("Paracetamol 500-1000 mg QDS PRN") == [("Paracetamol", 500.0, "mg", "prn")]


def test_one_dose_at_a_clock_time_is_daily() -> None:
    text = "出院带药：氢化可的松片 20mg 口服 早8点；氢化可的松片 10mg 口服 下午4点"
    assert _meds(text) == [("氢化可的松片", 20.0, "mg", "qd"), ("氢化可的松片", 10.0, "mg", "qd")]


def test_a_brand_written_with_its_number_before_the_unit() -> None:
    items = _items("5. Tab. Pan 40 mg (pantoprazole) 1-0-0 before breakfast", "medication")
    assert [(i.generic_name, i.dose, i.unit, i.frequency) for i in items] == [("pantoprazole", 40.0, "mg", "qd")]


def test_a_readmission_to_assess_and_tests_completed_before_it() -> None:
    text = "出院日期：2027年3月2日\n出院后4-6周再次入院评估及治疗，入院前在门诊完善上腹部增强MRI及AFP；住院预约请提前3天致电介入科护士站"
    assert visits(text) == [(None, "P4W")]
    assert reexams(text) == [("上腹部增强MRI", "P4W"), ("AFP", "P4W")]


def test_a_schedule_heading_is_not_a_visit_and_a_place_is_not_a_test() -> None:
    text = "出院日期：2027年3月2日\n复诊安排：出院后1个月在当地医院查肝功能"
    assert visits(text) == []
    assert reexams(text) == [("肝功能", "P1M")]
    text = "出院日期：2027年3月2日\n出院后6个月复查HPV，但6个月复查须到妇科宫颈专病门诊现场就诊"
    assert visits(text) == [("妇科", "P6M")]
    assert reexams(text) == [("HPV", "P6M")]


def test_english_test_names_lose_the_patient_the_room_and_the_range() -> None:
    text = "Discharged 02/03/2027. She needs a repeat chest X-ray at 6 weeks to confirm resolution."
    assert reexams(text) == [("Chest X-ray", "P6W")]
    text = "Discharged 02/03/2027. Clinic on 12/03/2027 with FBC; Transcranial Doppler in the TCD room on the same day."
    assert ("Transcranial Doppler", "2027-03-12") in reexams(text)
    assert reexams("Discharged 02/03/2027. Ramipril 2.5 mg od – new, please check U&E 1-2/52 after starting.") == [("U&E", "P1W")]


def test_signs_before_an_if_not_settled_visit_are_warning_signs() -> None:
    text = "Discharged 02/03/2027. If sugar <4 with sweating and shaking, take sugar first; if no improvement, go to the nearest ED."
    assert "hypoglycemia_symptoms" in _signs(text)
    assert "hypoglycemia_symptoms" in _signs("出院日期：2027年3月2日\n出现心慌、出汗、手抖等低血糖表现时先进食糖果；如不缓解请立即就诊")
    # a later sentence that is not about the advice failing adds nothing
    assert "hypoglycemia_symptoms" not in _signs("Discharged 02/03/2027. Eat regular meals with sugar; go to the nearest ED if short of breath.")


def test_a_referral_or_test_whose_appointment_will_come() -> None:
    text = "Discharge date: Tue 03/02/2027. Cardiac rehab referral placed (they will call you)."
    assert visits(text) == [("Cardiac rehab", None)]
    text = "Discharged 02/03/2027. Echo requested as an outpatient, the echo department will send an appointment."
    assert reexams(text) == [("Echo", None)]
    assert visits(text) == []
