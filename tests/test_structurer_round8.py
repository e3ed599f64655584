"""Discharge-order structuring, round 8: mechanisms found on orders/train8.jsonl (invented examples, not corpus lines)."""

from __future__ import annotations

from tests.test_structurer_round4 import _items, reexams, visits


def _meds(text: str) -> list[tuple]:
    return [(m.name, m.dose, m.unit, m.frequency, m.duration) for m in _items(text, "medication")]


def _signs(text: str) -> list[str]:
    return [i.symptom_code for i in _items(text, "warning_sign")]


def test_telephone_clinics_and_calls_are_not_visits() -> None:
    assert visits("Respiratory nurse telephone clinic in 2 weeks") == []
    assert visits("He has a video consultation with the Epilepsy nurse in 1 month.") == []
    assert visits("The stoma nurse will phone on 09/12 - no visit needed") == []
    # a booking call that leads to a visit still gives the visit (AUTHOR-NOTES-6)
    assert visits("The cardiac rehab team will phone to book your assessment in 2-4 weeks") == [("Cardiac rehab", "P2W")]


def test_a_condition_on_something_still_present_is_no_test() -> None:
    assert reexams("If the cough is still present at 8 weeks we will arrange a bronchoscopy") == []


def test_a_dated_weekday_is_a_date_and_a_leading_zero_is_never_a_period() -> None:
    assert visits("Discharged 01/12/2026.\nWound check with the practice nurse on Tuesday 08/12") == [(None, "2026-12-08")]
    assert [w for _, w in visits("Physio will call on 05/12 to book - no visit needed\nFracture clinic 6/52")] == ["P6W"]


def test_a_local_swelling_is_not_edema() -> None:
    assert "edema" not in _signs("Return if: vomiting, a swollen belly or fever.")
    assert "edema" not in _signs("Seek help for redness or swelling at the wound.")
    assert "edema" in _signs("Seek help for swollen ankles or breathlessness.")


def test_no_urine_for_hours_is_a_urinary_problem() -> None:
    assert "urinary_problem" in _signs("Bring her back if there is no wee for 10 hours.")
    assert "urinary_problem" in _signs("Call us if there is no urine from the stoma for 3 hours.")


def test_sample_purpose_and_polite_requests_name_the_test() -> None:
    assert reexams("Hand in a urine sample for albumin:creatinine ratio at the lab in 4 weeks") != []
    assert reexams("Hand in a stool sample for calprotectin at the lab in 4 weeks") == [("Calprotectin", "P4W")]
    assert reexams("We would be grateful if you could check his sodium and potassium in one week.") == \
        [("Sodium", "P1W"), ("Potassium", "P1W")]
    assert reexams("Gastroscopy for Barrett's surveillance in 2 years") == [("Gastroscopy", "P2Y")]
    assert reexams("Renal ultrasound + PTH in 3 months") == [("Renal ultrasound", "P3M"), ("PTH", "P3M")]
    assert reexams("MR angiography in 6 months") == [("MR angiography", "P6M")]


def test_tests_on_a_ward_are_named_without_the_ward() -> None:
    assert ("FBC", "P3D") in reexams("Repeat FBC on the Surgical ward in 3 days")


def test_listed_english_time_points_each_give_the_test() -> None:
    assert reexams("Colonoscopy at 1, 3 and 5 years") == [("Colonoscopy", "P1Y"), ("Colonoscopy", "P3Y"), ("Colonoscopy", "P5Y")]


def test_an_organ_named_clinic_does_not_hide_its_tests() -> None:
    assert ("TSH", "P8W") in reexams("Thyroid clinic in 8 weeks with TSH on the day.")
    assert visits("Thyroid clinic in 8 weeks with TSH on the day.") == [("Thyroid", "P8W")]


def test_a_continuation_until_the_clinic_is_not_a_visit() -> None:
    found = visits("Discharged 01/12/2026.\nCalcium at the GP surgery on 04/12/2026, then weekly until seen in clinic")
    assert found == [("GP", "2026-12-04")]


def test_pod_in_the_heading_of_the_orders() -> None:
    text = "骨科 出院医嘱（左踝骨折内固定术后第4天）\n术后第14天到换药室拆线"
    assert visits(text) == [("换药室", "P10D")]
    # the heading that names the ward is not a visit to it
    assert visits("骨科 出院医嘱（术后第4天，出院日期2026年12月3日）") == []
    assert [w for _, w in visits("术后第5天，出院日期2026年12月3日\n术后第12天门诊拆线")] == ["P7D"]


def test_device_tuning_and_childrens_units_are_visits() -> None:
    assert visits("出院日期2026年12月3日\n12月20日到言语康复中心调机") == [("言语康复中心", "2026-12-20")]
    assert visits("出院后1个月到心内科起搏器门诊程控")[0][1] == "P1M"
    assert visits("12月18日回儿童血液科日间病房化疗")[0][0] == "儿童血液科日间病房"


def test_a_monitoring_label_heads_the_tests_after_it() -> None:
    assert reexams("血钾监测：出院后第3天在社区医院抽血查血钾") == [("血钾", "P3D")]
    assert reexams("血压监测：每日早晚自测血压") == []


def test_tapers_every_n_days_and_a_held_first_dose() -> None:
    assert _meds("甲泼尼龙片 24mg 口服 每日一次，每3天减4mg，减完为止")[0][4] == "P18D"
    assert _meds("泼尼松片 40mg 顿服 共3天，之后每天减10mg至停")[0][4] == "P6D"


def test_the_rest_of_a_course_and_tablet_counts() -> None:
    assert _meds("Dalteparin 5000 units SC once daily, 21 more days")[0][4] == "P21D"
    assert _meds("Calcium carbonate 500 mg chewable tablets: chew two tablets twice a day")[0][1:3] == (1000.0, "mg")
    assert _meds("Co-amoxiclav 500/125 mg, one tablet TDS")[0][1:4] == (1.0, "tablet", "tid")


def test_a_place_label_keeps_its_test_list_and_a_first_date_in_the_next_sentence_starts_it() -> None:
    text = "Discharged 01/12/2026\n- GP: weight, BP and potassium twice weekly, then weekly; first on Thursday 03/12/2026"
    assert visits(text) == [("GP", "2026-12-03")]
    assert reexams(text) == [("Weight", "2026-12-03"), ("BP", "2026-12-03"), ("Potassium", "2026-12-03")]
    # two timed parts after the label stay two
    assert reexams("- GP: U&E in 1 week, FBC in 3 weeks") == [("U&E", "P1W"), ("FBC", "P3W")]


def test_a_readmission_for_an_operation_is_kept_beside_a_clinic_visit() -> None:
    found = visits("出院后2个月眼科门诊复诊\n出院后2个月住院行白内障手术")
    assert ("眼科", "P2M") in found and (None, "P2M") in found
    # a bare 复诊 at the time of a named clinic visit is still that visit
    assert visits("出院后2周复诊；出院后2周心内科门诊复诊") == [("心内科", "P2W")]


def test_tests_at_the_surgery_are_a_gp_visit() -> None:
    text = "We would be grateful if you could check his sodium at the surgery in one week."
    assert visits(text) == [("GP", "P1W")] and reexams(text) == [("Sodium", "P1W")]
    assert visits("Colorectal surgery clinic in 6 weeks") == [("Colorectal surgery", "P6W")] or \
        all(n != "GP" for n, _ in visits("Colorectal surgery clinic in 6 weeks"))


def test_a_numbered_week_of_treatment_is_a_time() -> None:
    assert reexams("Bloods (FBC, CRP) at week 6 of treatment in the Hepatology nurse clinic") == [("FBC", "P6W"), ("CRP", "P6W")]


def test_later_times_of_a_test_in_the_next_clause() -> None:
    assert reexams("MRI liver at 6 months, then at 12 and 18 months") == \
        [("MRI liver", "P6M"), ("MRI liver", "P12M"), ("MRI liver", "P18M")]
    # a repeat every N weeks is not a list of time points
    assert reexams("FBC in 1 week, then every 2 weeks") == [("FBC", "P1W")]


def test_mental_health_services_are_departments() -> None:
    assert visits("Discharged 01/12/2026\nEating Disorders day unit programme starts Monday 07/12/2026") == \
        [("Eating Disorders day unit", "2026-12-07")]
    assert visits("Early intervention in psychosis team appointment in 1 week")[0][1] == "P1W"


def test_a_test_or_visit_on_a_result_is_conditional() -> None:
    assert reexams("如血小板低于50，复查血常规") == []
    assert reexams("出院后1周复查血常规，如白细胞低于3.0，3天后再复查") == [("血常规", "P1W")]
    assert reexams("Discharged 01/12/2026\nINR on 10/12. If the INR is above 4, recheck in 3 days.") == [("INR", "2026-12-10")]


def test_on_a_day_month_is_never_a_period() -> None:
    assert all(w != "P10M" for _, w in reexams("INR on 10/12"))


def test_each_test_keeps_the_time_in_its_own_brackets() -> None:
    assert reexams("复查：血常规（2周后）、头颅CT（1个月后）") == [("血常规", "P2W"), ("头颅CT", "P1M")]


def test_first_and_next_dates_start_a_repeating_visit() -> None:
    assert visits("Discharged 01/12/2026\n- FBC weekly at the Haematology day unit, first 07/12") == \
        [("Haematology day unit", "2026-12-07")]
    assert visits("Discharged 01/12/2026\n- Oncology day unit every Tuesday, next 08/12") == [("Oncology day unit", "2026-12-08")]
    # one bracket giving the length of a monthly run is not a time of its own
    assert reexams("每月复查一次血常规及肝肾功能（共6个月）") == [("血常规", "P1M"), ("肝功能", "P1M"), ("肾功能", "P1M")]


def test_a_test_named_before_listed_bloods_is_kept() -> None:
    assert reexams("Pre-op clinic in 2 weeks with ECG and bloods (FBC, U&E)") == [("ECG", "P2W"), ("FBC", "P2W"), ("U&E", "P2W")]
