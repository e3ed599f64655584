"""Discharge-order structuring, round 11: mechanisms found on orders/train11.jsonl (invented examples, not corpus lines)."""

from __future__ import annotations

from knowledge.structurer import generic_name, structure_orders
from tests.test_structurer_round4 import _items, reexams, visits


def _meds(text: str) -> list[tuple]:
    return [(m.name, m.dose, m.unit, m.frequency, m.duration) for m in _items(text, "medication")]


def _signs(text: str) -> list[str]:
    return [i.symptom_code for i in _items(text, "warning_sign")]


# ----- traditional characters, Taiwanese years, other date forms -------------------------------------

def test_traditional_characters_read_like_simplified_and_names_stay_as_written() -> None:
    text = "出院日期：2026年12月3日\n覆診：2026年12月17日 腎臟科門診，覆診前一星期到本院抽血室抽血（血液常規、腎功能）"
    assert visits(text) == [("腎臟科", "2026-12-17")]
    assert reexams(text) == [("血液常規", "2026-12-10"), ("腎功能", "2026-12-10")]


def test_traditional_frequency_words_are_read() -> None:
    assert _meds("出院藥物：\nCefuroxime 500mg 口服 每日兩次 再服3日") == [("Cefuroxime", 500.0, "mg", "bid", "P3D")]


def test_a_taiwanese_year_is_counted_from_1912() -> None:
    text = "出院日期：115年12月3日\n回診：115年12月10日（四）神經內科門診"
    assert visits(text) == [("神經內科", "2026-12-10")]


def test_a_month_and_day_beside_a_weekday_in_a_chinese_order_is_a_date() -> None:
    assert visits("出院日期：2026年12月3日\n12/21（一）眼科門診回診") == [("眼科", "2026-12-21")]


def test_a_dashed_numeric_date_reads_like_a_slashed_one() -> None:
    text = "DOD: 03-12-2026\nReview in Neurology OPD on 17-12-2026 with CBC."
    assert visits(text) == [("Neurology", "2026-12-17")]
    assert reexams(text) == [("CBC", "2026-12-17")]


def test_a_test_named_in_brackets_after_a_bare_verb_is_that_test() -> None:
    assert reexams("出院後4星期照片（腰椎X光）") == [("腰椎X光", "P4W")]


def test_a_specialist_clinic_of_hong_kong_is_its_department() -> None:
    assert visits("出院日期：2026年12月3日\n2027年1月5日 外科專科門診覆診") == [("外科", "2027-01-05")]


# ----- visits and tests ---------------------------------------------------------------------------------

def test_coming_back_to_read_reports_is_a_visit_and_the_tests_drawn_before_are_not_tests() -> None:
    text = "10天后来门诊看报告（住院时抽的甲功）"
    assert visits(text) == [(None, "P10D")]


def test_a_return_to_the_village_clinic_or_the_health_centre_is_a_visit() -> None:
    text = "回村卫生室每周测一次血糖；一月后回卫生院查血常规"
    assert visits(text) == [("村卫生室", "P1W"), (None, "P1M")]
    assert ("血常规", "P1M") in reexams(text)


def test_a_blood_pressure_taken_at_home_is_no_test_but_one_at_a_visit_is() -> None:
    assert reexams("每日早晚测血压并记录") == []
    assert reexams("患肢勿测血压、输液") == []
    assert reexams("出院后1周回村卫生室量血压") == [("血压", "P1W")]


def test_maintenance_dialysis_days_are_no_visit() -> None:
    assert visits("出院日期：2026-12-04\n继续规律透析，每周二、四、六在本院血透室") == []


def test_a_drug_the_nurse_gives_at_dialysis_is_no_medication() -> None:
    assert _meds("蔗糖铁注射液 100mg 每周1次，透析时由护士静脉注射") == []


def test_either_place_across_a_comma_has_no_department() -> None:
    assert visits("出院日期：2026-12-04（术后第3天）\n术后第8天到社区卫生服务中心拆线，或回本院换药室拆线均可") == [(None, "P5D")]


def test_taking_off_a_cast_is_a_visit() -> None:
    assert visits("6周后拆石膏") == [(None, "P6W")]


def test_a_drug_course_to_a_post_operative_day_counts_from_the_day_at_discharge() -> None:
    assert _meds("出院医嘱（腰椎融合术后第5天）\n利伐沙班片 10mg 口服 每日1次 至术后第35天")[0][4] == "P30D"


def test_english_clinics_of_other_health_systems() -> None:
    assert visits("Follow-up: Polyclinic doctor review in 4 weeks.") == [("Polyclinic", "P4W")]
    assert visits("GOPC FU in 6 weeks for BP check.") == [("GOPC", "P6W")]
    assert visits("Follow up at the OPD (OB-Gyne) after 2 weeks.") == [("OB-Gyne", "P2W")]
    assert visits("Consultant cardiology clinic in 3 months.") == [("Cardiology", "P3M")]


def test_test_names_lose_results_of_and_notes_after_them() -> None:
    assert reexams("To be seen in Renal clinic in 2 weeks with results of serum potassium and repeat renal ultrasound") == \
        [("Serum potassium", "P2W"), ("Renal ultrasound", "P2W")]
    assert reexams("Monitoring: valproate level 12 hours post-dose on 08/12/2026 at the GP surgery. Discharged 01/12/2026.") == \
        [("Valproate level", "2026-12-08")]
    assert reexams("Follow-up: DEXA scan booked at the Radiology department for 14/01/2027. Discharged 01/12/2026.") == \
        [("DEXA scan", "2027-01-14")]


def test_a_fasting_blood_test_with_its_tests_in_brackets_is_those_tests() -> None:
    assert reexams("Fasting blood test (lipid panel, HbA1c) in 3 months") == [("Lipid panel", "P3M"), ("HbA1c", "P3M")]


def test_tests_on_the_morning_of_a_cycle_go_with_that_visit() -> None:
    text = "Discharged 04/12/2026.\nCycle 4 (C4D1) on 29/12/2026 at the Oncology Day Unit; FBC and LFT on the morning of C4D1."
    assert reexams(text) == [("FBC", "2026-12-29"), ("LFT", "2026-12-29")]


def test_a_time_after_a_cycle_dated_in_brackets_and_a_visit_after_the_scan() -> None:
    text = ("Discharged 04/12/2026.\nRestaging CT 3 weeks after cycle 6 (C6D1 due 05/01/2027); "
            "see Dr Ng in Oncology clinic with the result one week after the scan.")
    assert ("CT", "2027-01-26") in [(n.replace("Restaging ", ""), w) for n, w in reexams(text)]
    assert visits(text) == [("Oncology", "2027-02-02")]


def test_weeks_after_the_procedure_count_from_its_stated_date() -> None:
    text = ("Procedure: cystoscopy and stent placement on 11/30/2026. Discharge date: 12/02/2026.\n"
            "Renal ultrasound 4 weeks after the procedure.")
    assert reexams(text) == [("Renal ultrasound", "2026-12-28")]


def test_a_date_that_reads_one_way_only_fixes_the_order_of_the_discharge_date() -> None:
    text = "Procedure on 11/27/2026. Discharge date: 12/01/2026.\nUrology clinic on 12/15."
    assert visits(text) == [("Urology", "2026-12-15")]


def test_a_first_session_date_is_the_visit_of_a_repeating_therapy() -> None:
    text = "Discharged 03/12/2026.\nOutpatient physiotherapy twice weekly, first session Monday 07/12/2026."
    assert visits(text) == [("Physiotherapy", "2026-12-07")]


def test_a_dressing_and_a_removal_each_at_their_own_post_operative_day() -> None:
    text = ("Procedure: hip replacement on 28/11/2026. DOD: 02/12/2026.\n"
            "Dressing on POD 6 and staple removal on POD 14, either at our OPD or at a nearby clinic.")
    assert visits(text) == [(None, "P2D"), (None, "P10D")]


def test_tests_at_a_named_review_and_tests_some_days_before_a_check_up() -> None:
    assert visits("Fasting blood test (HbA1c) on the morning of your 6-month polyclinic review.") == [("Polyclinic", "P6M")]
    assert reexams("Follow up at the Pulmonology OPD after 2 weeks. Bring the results of CBC, to be done 1 day before your check-up.") \
        == [("CBC", "P13D")]


def test_a_clinic_for_a_test_gives_the_test_and_home_records_are_no_test() -> None:
    assert reexams("Eye clinic for retinal screening within 6 months") == [("Retinal screening", "P6M")]
    assert reexams("Diabetes clinic on 17/12/2026 with your home glucose records. Discharged 02/12/2026.") == []


# ----- medications -------------------------------------------------------------------------------------

def test_a_combination_written_with_plus_is_one_drug_taken_by_the_tablet() -> None:
    assert _meds("Ferrous fumarate + folic acid, 1 tab once a day") == [("Ferrous fumarate + folic acid", 1.0, "tablet", "qd", None)]
    assert _meds("Tab. Zerodol-P (aceclofenac 100 mg + paracetamol 325 mg) 1 tab BD x 5 days") == \
        [("aceclofenac/paracetamol", 1.0, "tablet", "bid", "P5D")]
    assert generic_name("calcium carbonate + vitamin D3") == generic_name("calcium carbonate/vitamin D3")


def test_a_strength_per_tablet_times_the_tablets_is_the_dose() -> None:
    assert _meds("Amlodipine 5 mg/tab, 2 tabs once a day") == [("Amlodipine", 10.0, "mg", "qd", None)]


def test_a_dose_per_square_metre_then_the_worked_dose() -> None:
    assert _meds("Prednisolone 60 mg/m2/day = 36 mg once daily")[0][1:3] == (36.0, "mg")


def test_a_pen_content_before_the_dose_and_a_count_times_the_strength_of_one() -> None:
    assert _meds("门冬胰岛素注射液 3ml:300U 用法：皮下注射，每次8单位，每日3次 三餐前")[0][1:3] == (8.0, "U")
    assert _meds("多烯磷脂酰胆碱胶囊 每次2粒（每粒228mg） 口服 每日3次")[0][1:4] == (456.0, "mg", "tid")


def test_a_form_word_is_no_brand_and_nebules_are_inhaled() -> None:
    assert _meds("Tobradex 眼藥水 (Tobramycin) 右眼 1滴 QID")[0][0] == "Tobramycin"
    meds = _items("Budesonide nebule, 1 nebule twice a day", "medication")
    assert (meds[0].dose, meds[0].unit, meds[0].route) == (1.0, "nebule", "inhaled")


def test_insulin_before_three_named_meals_is_three_times_a_day() -> None:
    assert _meds("Soluble insulin 6 units SC before breakfast, lunch and dinner")[0][3] == "tid"


# ----- warning signs -------------------------------------------------------------------------------------

def test_warning_sign_wordings_of_new_templates() -> None:
    assert _signs("头痛、呕吐随时来院") == ["headache", "nausea_vomiting"]
    assert _signs("Return to A&E if: loss of consciousness or yellowness of the eyes.") == ["syncope", "jaundice"]
    assert "hypoglycemia_symptoms" in _signs("Come back if: sugar below 4 with sweating and shaking.")


def test_a_diagnosis_line_cyanosis_and_bloating_give_no_sign() -> None:
    assert _signs("Diagnosis: Dengue fever with warning signs") == []
    assert _signs("如出现口唇青紫、腹胀，立即就诊") == []


def test_a_traditional_character_warning_line_is_read() -> None:
    assert set(_signs("如有發燒、氣促加劇、咳血，請即返回急症室。")) == {"fever", "dyspnea", "hemoptysis"}


def test_a_traditional_order_keeps_spans_and_words_of_the_written_text() -> None:
    written = "出院後兩週回診 骨科門診，並照X光"
    items = [i for i in structure_orders(written).items if i.kind in ("revisit", "reexam")]
    assert [(i.kind, i.name, i.when) for i in items] == [("revisit", "骨科", "P2W"), ("reexam", "X光", "P2W")]
    assert all(written[i.span_start:i.span_end] == i.text for i in items)
