"""Discharge-order structuring, round 7: mechanisms found on orders/train7.jsonl (invented examples, not corpus lines)."""

from __future__ import annotations

from knowledge.structurer import structure_orders
from tests.test_structurer_round4 import _items, reexams, visits


def _meds(text: str) -> list[tuple]:
    return [(m.name, m.dose, m.unit, m.frequency, m.duration) for m in _items(text, "medication")]


def _signs(text: str) -> list[str]:
    return [i.symptom_code for i in _items(text, "warning_sign")]


def test_a_discharge_date_before_chu_yuan_or_after_the_heading_is_not_a_visit() -> None:
    assert visits("骨科出院医嘱（2026-12-04出院）\n1. 12月14日骨科门诊复诊") == [("骨科", "2026-12-14")]
    assert visits("心内科出院医嘱 2026-12-07\n1. 出院后2周心内科门诊复诊") == [("心内科", "P2W")]
    # the stated date places a date written without a year
    assert visits("（2026年12月3日出院）\n12月8日伤口门诊换药") == [("伤口门诊", "2026-12-08")]


def test_a_time_glossed_from_discharge_takes_the_gloss() -> None:
    assert visits("拆线后一周（即出院后第12天）普外科门诊复诊") == [("普外科", "P12D")]
    assert visits("纠正胎龄44周（约出院后3周）儿童保健科复诊") == [("儿童保健科", "P3W")]


def test_a_first_month_of_weekly_tests_starts_at_one_week() -> None:
    assert reexams("出院后第1个月每周在当地医院查血常规") == [("血常规", "P1W")]


def test_listed_weeks_and_later_times_carry_the_visit_and_its_tests() -> None:
    found = visits("Urine dip and BP at the GP surgery weekly (first 1/52), then at weeks 3, 5 and 7, then at 4 months.")
    assert [w for _, w in found] == ["P1W", "P3W", "P5W", "P7W", "P4M"]
    tests = reexams("Urine dip and BP at the GP surgery weekly (first 1/52), then at weeks 3, 5 and 7, then at 4 months.")
    assert ("BP", "P5W") in tests and ("BP", "P4M") in tests and len(tests) == 10


def test_qualified_nurse_clinics_keep_their_whole_name() -> None:
    assert visits("出院后1周到糖尿病足护理门诊换药") == [("糖尿病足护理门诊", "P1W")]
    assert visits("1周后心内科心衰门诊复诊") == [("心内科", "P1W")]          # a subspecialty still goes to its department


def test_tests_before_or_at_the_visit_with_new_words_and_verbs() -> None:
    assert reexams("3个月后呼吸科门诊复诊，复诊前完成肺功能和6分钟步行试验") == [("肺功能", "P3M"), ("6分钟步行试验", "P3M")]
    assert reexams("6个月后再入院行诊断性131I全身显像") == [("诊断性131I全身显像", "P6M")]
    assert visits("6个月后再入院行诊断性131I全身显像") == [(None, "P6M")]
    assert reexams("1个月后妇科门诊行第2次宫腔镜检查") == [("宫腔镜", "P1M")]
    # a treatment through a scope is not a test
    assert reexams("2周后耳鼻喉科门诊鼻内镜下清理术腔") == []


def test_a_body_site_joined_by_plus_to_imaging_is_one_test() -> None:
    assert reexams("出院后1个月复查鼻咽+颈部MRI") == [("鼻咽+颈部MRI", "P1M")]
    assert reexams("出院后1个月复查腹部CT平扫+增强") == [("腹部CT平扫+增强", "P1M")]


def test_course_shorthand_injections_left_and_a_week_cap_are_durations() -> None:
    assert _meds("Cefalexin 500 mg QDS 5/7") == [("Cefalexin", 500.0, "mg", "qid", "P5D")]
    assert _meds("Dalteparin 5000 units SC once daily - 14 more injections")[0][4] == "P14D"
    assert _meds("Morphine sulfate 5 mg 4-hourly when required, stop within 5 days")[0][3:] == ("prn", "P5D")
    assert _meds("地屈孕酮片 10mg 口服 每日两次，于服雌二醇片的最后12天加用")[0][4] == "P12D"


def test_once_on_the_day_after_discharge_is_once() -> None:
    assert _meds("培非格司亭注射液 6mg 皮下注射 出院次日1次（社区护士注射）")[0][3] == "once"
    assert _meds("阿司匹林肠溶片 100mg 口服 每日1次")[0][3] == "qd"


def test_a_decoction_is_one_dose_of_its_packs() -> None:
    assert _meds("中药：补阳还五汤加减，每日1剂，水煎取汁300ml，分早晚两次温服，每次150ml，共5剂") == \
        [("补阳还五汤", 150.0, "mL", "bid", "P5D")]
    assert _meds("清淡饮食，可喝米汤 200ml 每日两次") == []


def test_a_product_named_with_how_it_is_used_is_listed_without_a_dose() -> None:
    meds = _items("③ 聚维酮碘溶液 外涂创面", "medication")
    assert [(m.name, m.dose, m.route) for m in meds] == [("聚维酮碘溶液", None, "topical")]
    assert _items("③ 避免外用激素类药膏", "medication") == []


def test_a_drug_named_as_a_reference_does_not_cut_the_line_and_discontinue_is_a_stop() -> None:
    assert _meds("Tramadol - discontinue (replaced by oxycodone).") == []


def test_english_visits_labelled_timed_or_started() -> None:
    assert visits("– GP 2/52: U&E and BP check.") == [("GP", "P2W")]
    assert reexams("– GP 2/52: U&E and BP check.") == [("U&E", "P2W"), ("BP", "P2W")]
    assert visits("Hand therapy will start within 1 week - the department will phone you with the date.") == [("Hand therapy", "P1W")]
    assert visits("Ms Khan's knee clinic in 8 weeks.") == [("Knee", "P8W")]
    assert reexams("MRI knee in 6 weeks, then Orthopaedic clinic the same day.") == [("MRI knee", "P6W")]
    assert visits("MRI knee in 6 weeks, then Orthopaedic clinic the same day.") == [("Orthopaedic", "P6W")]
    assert reexams("Echo and Valve clinic at 3 months.") == [("Echo", "P3M")]
    assert visits("Pre-op clinic on 14/12/2026, then admission for surgery on 04/01/2027.") == [
        ("Pre-op", "2026-12-14"), (None, "2027-01-04")]


def test_a_time_heading_a_colon_times_what_follows() -> None:
    text = "Follow-up:\n- 2 weeks: wound check at the GP\n- 6 weeks: Fracture clinic with X-ray\n- 3 months: physiotherapy review"
    assert visits(text) == [("GP", "P2W"), ("Fracture", "P6W"), ("Physiotherapy", "P3M")]
    assert reexams(text) == [("X-ray", "P6W")]


def test_tests_before_a_dated_visit_and_before_each_infusion() -> None:
    text = "下次化疗时间：2026年12月21日，入院前一天到当地医院查血常规"
    assert visits(text) == [(None, "2026-12-21")]
    assert reexams(text) == [("血常规", "2026-12-20")]
    text = ("Discharged 02/12/2026. IV infliximab 5 mg/kg given in the IBD day unit every 8 weeks — next dose 09/12/2026. "
            "FBC and CRP are checked before each infusion.")
    assert _items(text, "medication") == []
    assert visits(text) == [("IBD day unit", "2026-12-09")]
    assert reexams(text) == [("FBC", "2026-12-09"), ("CRP", "2026-12-09")]


def test_q_periods_and_tests_after_a_sig() -> None:
    assert reexams("Warfarin 3 mg daily, INR q1w") == [("INR", "P1W")]
    assert reexams("LFTs q2w for 3 months") == [("LFTs", "P2W")]


def test_conditional_chinese_items_are_not_items() -> None:
    assert reexams("2周后结石仍未排出者复查CT") == []
    assert reexams("症状无改善或加重时复查颈椎MRI") == []
    assert reexams("3个月后血液科门诊复查BCR-ABL，必要时骨髓穿刺") == [("BCR-ABL", "P3M")]


def test_a_clinic_course_timed_in_the_clauses_after_it() -> None:
    text = "出院日期：2026年12月4日\n针灸科门诊针刺治疗，每周二、四，首次12月8日"
    assert visits(text) == [("针灸科", "2026-12-08")]


def test_pipe_table_rows_with_the_time_first() -> None:
    text = "| 时间 | 项目 | 科室 |\n| 出院后2周 | 血常规、肝功能 | 血液科门诊 |"
    assert visits(text) == [("血液科", "P2W")]
    assert reexams(text) == [("血常规", "P2W"), ("肝功能", "P2W")]


def test_warning_sign_phrasings_of_round_7() -> None:
    assert _signs("Go to A&E for blackouts or bleeding from the back passage.") == ["syncope", "melena"]
    assert "constipation" in _signs("Come to A&E if there is no bowel motion or wind for 48 hours.")
    assert _signs("如老人意识差、颈部明显肿痛，及时就诊") == ["confusion", "pain"]
    assert _signs("如小腿肿痛，立即就医") == ["edema", "pain"]
    assert _signs("Return to A&E with neck stiffness or swelling along the shunt track.") == []
    assert _signs("See your GP if still febrile.") == ["fever"]


def test_drops_under_an_eye_heading_are_topical() -> None:
    text = "Drops:\n RIGHT eye (OD):\n  - Ofloxacin 0.3% 1 drop QID for 1 week"
    assert [m.route for m in structure_orders(text).items if m.kind == "medication"] == ["topical"]


def test_probe_phrasings_of_labelled_blocks_and_shorthand() -> None:
    assert reexams("Bloods in 2 weeks: FBC, U&E, LFT.") == [("FBC", "P2W"), ("U&E", "P2W"), ("LFT", "P2W")]
    assert reexams("F/U: ortho OPD 6/52, XR on arrival.") == [("XR", "P6W")]
    text = "复查时间：出院后1个月；复查项目：血常规、肝肾功能；复查地点：肾内科门诊"
    assert visits(text) == [("肾内科", "P1M")]
    assert reexams("出院后每周复查血常规2次") == [("血常规", "P1W")]
    assert reexams("请在出院后第5天回院复查血常规") == [("血常规", "P5D")]
    assert visits("请在出院后第5天回院复查血常规") == [(None, "P5D")]
    assert visits("1个月后来我科门诊复诊") == [(None, "P1M")]
    assert reexams("We would like to see you in the Respiratory clinic in 6 weeks' time with a repeat chest X-ray.") == [
        ("Chest X-ray", "P6W")]


def test_probe_phrasings_of_other_hospitals_nurse_clinics_and_requests() -> None:
    assert visits("出院后第5天到县人民医院外科换药") == [("县人民医院外科", "P5D")]
    assert visits("出院日期：2026年12月4日\nPICC护理门诊每周维护一次，首次12月10日") == [("PICC护理门诊", "2026-12-10")]
    assert visits("出院后3周眼科门诊复查，复查前停用散瞳药1天") == [("眼科", "P3W")]
    assert reexams("出院后3周眼科门诊复查，复查前停用散瞳药1天") == []
    assert visits("Pre-assessment clinic on 20/12/2026.") == [("Pre-assessment", "2026-12-20")]
    assert reexams("Ultrasound abdomen has been requested for 6 weeks' time.") == [("Ultrasound abdomen", "P6W")]


def test_probe_phrasings_of_english_tests() -> None:
    assert visits("U+E to be checked by the GP in one week's time.") == [("GP", "P1W")]
    assert reexams("U+E to be checked by the GP in one week's time.") == [("U+E", "P1W")]
    assert reexams("Serum sodium should be rechecked in 3 days.") == [("Serum sodium", "P3D")]
