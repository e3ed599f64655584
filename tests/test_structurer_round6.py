"""Discharge-order structuring, round 6: mechanisms found on orders/train6.jsonl (invented examples, not corpus lines)."""

from __future__ import annotations

from tests.test_structurer_round4 import _items, reexams, visits


def _meds(text: str) -> list[tuple]:
    return [(m.name, m.dose, m.unit, m.frequency, m.duration) for m in _items(text, "medication")]


def _signs(text: str) -> list[str]:
    return [i.symptom_code for i in _items(text, "warning_sign")]


def test_upper_case_on_is_at_night_but_the_word_on_is_not() -> None:
    assert _meds("Simvastatin 40 mg ON") == [("Simvastatin", 40.0, "mg", "qn", None)]
    assert _meds("Ramipril 5 mg OD, increase on review") == [("Ramipril", 5.0, "mg", "qd", None)]
    assert visits("Surgical clinic ON 12/01/2027.") != []          # a date, not a sig


def test_a_dose_with_a_thousands_separator_reads_whole() -> None:
    assert _meds("Tinzaparin 12,000 units SC once daily") == [("Tinzaparin", 12000.0, "U", "qd", None)]
    assert _meds("Ergocalciferol 50,000 IU once weekly") == [("Ergocalciferol", 50000.0, "U", "qw", None)]
    # the text keeps its length: the item's span is the written line
    item = _items("Tinzaparin 12,000 units SC once daily", "medication")[0]
    assert item.text.startswith("Tinzaparin 12,000 units")


def test_brand_calcium_and_vitamin_d_tablets_are_known() -> None:
    assert _meds("Calcichew D3 one tablet BD")[0][1:4] == (1.0, "tablet", "bid")
    assert _meds("Adcal-D3 1 tablet twice daily")[0][1:4] == (1.0, "tablet", "bid")


def test_when_itchy_is_as_needed_even_at_night() -> None:
    assert _meds("Cetirizine 10 mg at night when itchy") == [("Cetirizine", 10.0, "mg", "prn", None)]
    assert _meds("Cetirizine 10 mg at night") == [("Cetirizine", 10.0, "mg", "qn", None)]


def test_loss_of_bladder_or_bowel_control_and_visiting_nurses() -> None:
    assert _signs("Go to ED if you have loss of bowel or bladder control.") == ["urinary_problem"]
    assert visits("The district nurses will visit you on day 2.") == []
    assert visits("Practice nurse on 14/12/2026 for suture removal.") != []


def test_a_chinese_taper_adds_up_its_written_steps() -> None:
    assert _meds("泮托拉唑肠溶片 40mg bid 4周，之后改为40mg qd 再服4周后停药")[0][4] == "P8W"
    assert _meds("泼尼松片 30mg qd 5天，20mg qd 5天，10mg qd 5天后停药")[0][4] == "P15D"
    assert _meds("头孢克肟 0.1g bid 5天后停药")[0][4] == "P5D"
    # a stop before an operation is not a course
    assert _meds("阿司匹林肠溶片 100mg qd，术前7天后停用")[0][4] is None


def test_a_drop_that_loses_a_dose_a_week_with_a_latin_sig() -> None:
    assert _meds("氟米龙滴眼液 左眼 1滴 tid，每周减少1次至停")[0][4] == "P3W"


def test_reduce_to_stop_over_a_period_is_a_course_not_a_stop() -> None:
    assert _meds("Pregabalin 75 mg BD, reduce to stop over 3 weeks") == [("Pregabalin", 75.0, "mg", "bid", "P3W")]
    assert _meds("泼尼松片 20mg qd，2周内逐渐减停")[0][4] == "P2W"
    assert _meds("Naproxen 500 mg BD - STOP") == []


def test_more_english_clinics_by_name() -> None:
    assert visits("See Mr Shah in the spinal clinic in 3 months.") == [("Spinal", "P3M")]
    assert visits("Occupational therapy appointment on 05/01/2027.") == [("Occupational therapy", "2027-01-05")]
    assert visits("Burns clinic in 2 weeks.") == [("Burns", "P2W")]


def test_a_place_before_a_colon_takes_the_tests_after_it() -> None:
    text = "GP practice nurse: LFTs and U&E in 2/52."
    assert visits(text) == [("GP", "P2W")]
    assert reexams(text) == [("LFTs", "P2W"), ("U&E", "P2W")]
    text = "Discharged 01/12/2026 (dd/mm/yyyy).\nAnticoagulation clinic: INR on 03/12/2026 and on 07/12/2026."
    assert reexams(text) == [("INR", "2026-12-03"), ("INR", "2026-12-07")]
    assert len(visits(text)) == 2
    # a label that is not a place stays a label
    assert visits("Follow-up: Urology clinic in 6 weeks.") == [("Urology", "P6W")]


def test_a_check_after_for_and_tests_that_will_be_taken() -> None:
    assert reexams("Diabetes nurse clinic on 10/12/2026 for a weight and HbA1c check.") == [("Weight", "2026-12-10"), ("HbA1c", "2026-12-10")]
    assert reexams("U&E and bone profile will be taken on dialysis in 2/52.") == [("U&E", "P2W"), ("Bone profile", "P2W")]
    assert reexams("Diabetes nurse clinic on 10/12/2026 for a chat about diet.") == []


def test_ordinal_doses_at_a_unit_and_tests_at_each_of_those_visits() -> None:
    text = ("Discharged 01/12/2026 (dd/mm/yyyy).\nVedolizumab: second dose at the IBD day unit on 15/12/2026 and third dose on 12/01/2027; "
            "FBC and CRP at each infusion visit.")
    assert visits(text) == [("IBD day unit", "2026-12-15"), ("IBD day unit", "2027-01-12")]
    assert sorted(reexams(text)) == [("CRP", "2026-12-15"), ("CRP", "2027-01-12"), ("FBC", "2026-12-15"), ("FBC", "2027-01-12")]


def test_either_of_two_places_is_a_visit_without_a_department() -> None:
    assert visits("出院后10天拆线（泌尿外科门诊或社区医院均可）") == [(None, "P10D")]
    assert visits("出院后10天泌尿外科门诊拆线") == [("泌尿外科", "P10D")]


def test_a_subspecialty_clinic_after_its_department_goes_to_the_department() -> None:
    assert visits("1个月后神经内科记忆门诊复诊") == [("神经内科", "P1M")]
    assert visits("1个月后记忆门诊复诊") == [("记忆门诊", "P1M")]


def test_a_department_follow_up_with_a_time_is_a_visit() -> None:
    assert visits("出院后3个月内分泌科随访") == [("内分泌科", "P3M")]
    assert visits("定期内分泌科随访") == []           # no time: not an appointment
    assert visits("出院后1周电话随访") == []


def test_going_to_a_unit_for_a_procedure_or_training_is_a_visit() -> None:
    text = "出院日期：2026年12月1日\n1. 于12月8日到腹透中心拆线\n2. 腹透培训：2026年12月10日至12月12日，每日上午到腹透中心"
    assert visits(text) == [("腹透中心", "2026-12-08"), ("腹透中心", "2026-12-10")]


def test_a_visit_on_a_condition_without_if_is_not_a_visit() -> None:
    assert visits("出院后2周皮肤科复诊；瘙痒持续超过2周转变态反应科门诊") == [("皮肤科", "P2W")]


def test_tests_at_a_named_community_clinic_are_a_visit_there() -> None:
    text = "出院后1周到社区卫生服务中心复查血常规"
    assert visits(text) == [("社区卫生服务中心", "P1W")] and reexams(text) == [("血常规", "P1W")]
    # offered as a choice, or at the local hospital: the test only
    assert visits("出院后1周复查血常规（可在社区医院）") == []
    assert visits("出院后1周于当地医院复查血常规") == []


def test_a_site_joined_to_an_imaging_test_is_one_item() -> None:
    assert reexams("每6个月复查甲状腺及颈部淋巴结B超") == [("甲状腺及颈部淋巴结B超", "P6M")]
    assert reexams("出院后2周复查血常规及肝功能") == [("血常规", "P2W"), ("肝功能", "P2W")]


def test_a_test_written_with_its_purpose_keeps_the_test() -> None:
    assert reexams("术后1个月验光配镜") == [("验光", "P1M")]


def test_warning_phrasings_of_round6() -> None:
    assert _signs("如出现头晕摔倒、呕血，立即就诊") == ["dizziness", "hematemesis"]
    assert _signs("如出现晕倒，立即就诊") == ["syncope"]
    assert _signs("如出现肛周疼痛加重，及时就诊") == ["pain"]
    assert _signs("如大便超过3天未排，请及时就诊") == ["constipation"]
    assert _signs("Seek help if you have more than 8 watery stools a day.") == ["diarrhea"]
    assert _signs("Return to the clinic urgently if there is worsening pain in the wound.") == ["wound_pain"]
    assert _signs("Return to ED if he is too breathless to feed.") == ["dyspnea"]


def test_a_drug_named_inside_a_warning_is_not_an_order() -> None:
    text = "Return to ED if she needs her salbutamol more often than every 3 hours or becomes drowsy."
    assert _meds(text) == [] and _signs(text) == ["confusion"]
    assert _meds("If wheezy, salbutamol 100 micrograms 2 puffs as needed")[0][3] == "prn"


def test_an_inhaler_strength_then_puffs_is_a_dose_in_puffs() -> None:
    assert _meds("Salbutamol 100 microgram inhaler: 2 puffs when needed") == [("Salbutamol", 2.0, "puff", "prn", None)]
    assert _meds("Clenil Modulite (beclometasone) 200 micrograms: 1 puff twice daily")[0][1:4] == (1.0, "puff", "bid")
    # a dry-powder dose in micrograms stays a mass
    assert _meds("Tiotropium 18 micrograms inhaled once daily") == [("Tiotropium", 18.0, "μg", "qd", None)]


def test_a_single_injection_on_a_stated_day_is_once() -> None:
    assert _meds("聚乙二醇化重组人粒细胞刺激因子注射液 6mg 皮下注射，12月3日注射1次")[0][3] == "once"
    assert _meds("聚乙二醇化重组人粒细胞刺激因子注射液 6mg 皮下注射 出院次日注射1次")[0][3] == "once"
    assert _meds("阿仑膦酸钠片 70mg 每周1次")[0][3] == "qw"
    assert _meds("硝苯地平控释片 30mg 每日1次")[0][3] == "qd"


def test_a_dose_per_kilogram_then_the_dose_worked_out() -> None:
    assert _meds("头孢克洛干混悬剂 按头孢克洛20mg/kg/次，即每次200mg 口服 bid") == [("头孢克洛干混悬剂", 200.0, "mg", "bid", None)]
    assert _meds("Amoxicillin oral suspension 25 mg/kg = 400 mg three times a day")[0][1:4] == (400.0, "mg", "tid")
    assert _meds("阿奇霉素干混悬剂 160mg（10mg/kg）qd")[0][1:4] == (160.0, "mg", "qd")


def test_many_bloody_stools_are_diarrhoea_and_blood() -> None:
    assert sorted(_signs("Come in if you have more than 6 bloody stools a day.")) == ["diarrhea", "melena"]


def test_a_review_within_hours_and_tests_listed_in_brackets_after_the_time() -> None:
    assert visits("GP review within 48 hours.") == [("GP", "P2D")]
    text = "Bloods at the GP next week (LFTs, INR)."
    assert visits(text) == [("GP", "P1W")] and reexams(text) == [("LFTs", "P1W"), ("INR", "P1W")]
    assert reexams("Bloods in 1 week (please fast).") == [("Bloods", "P1W")]      # a note, not tests


def test_an_english_window_of_dates_is_its_first_day_and_a_test_after_for() -> None:
    text = "Discharged 01/12/2026 (dd/mm/yyyy).\nFracture clinic between 08/12/2026 and 11/12/2026 for wound check and X-ray."
    assert visits(text) == [("Fracture", "2026-12-08")]          # (the eval drops a trailing "clinic")
    assert reexams(text) == [("X-ray", "2026-12-08")]
    assert reexams("Discharged 01/12/2026 (dd/mm/yyyy).\nRenal clinic on 15/12/2026 for an ultrasound.") == [("Ultrasound", "2026-12-15")]
    assert reexams("Renal clinic in 2 weeks for a chat.") == []


def test_a_test_before_then_takes_the_visit_time() -> None:
    text = "Follow up in the urology clinic in 3 months; CT urogram before then."
    assert reexams(text) == [("CT urogram", "P3M")]


def test_a_time_under_its_own_label_goes_to_the_tests_labelled_next() -> None:
    assert reexams("复查时间：出院后2周；复查项目：血常规、肾功能") == [("血常规", "P2W"), ("肾功能", "P2W")]
    text = "出院日期：2026年12月2日\n复诊时间：12月16日；复诊科室：肾内科门诊"
    assert visits(text) == [("肾内科", "2026-12-16")]
    assert reexams("日期：2026年12月2日；复查项目：血常规") == [("血常规", None)]     # a date of writing is no label


def test_generic_bloods_take_what_they_check_and_blood_pressure_is_a_test_in_a_list() -> None:
    assert reexams("Blood test in 1 week to check potassium.") == [("Potassium", "P1W")]
    assert reexams("Blood tests in 1 week to check how the tablets work.") == [("Blood tests", "P1W")]
    assert reexams("GP to check blood pressure and sodium in 2 weeks.") == [("Blood pressure", "P2W"), ("Sodium", "P2W")]


def test_community_rehabilitation_from_a_start_date_is_a_visit() -> None:
    text = "出院日期2026年12月1日\n康复：社区康复站每周2次康复训练，12月3日开始"
    assert visits(text) == [("社区康复站", "2026-12-03")]


def test_british_brands_read_as_their_generic() -> None:
    meds = _items("Oramorph 2.5-5 mg every 4 hours PRN", "medication")
    assert [(m.generic_name, m.dose, m.frequency) for m in meds] == [("morphine", 2.5, "prn")]
    assert _items("Innohep 4500 units SC OD", "medication")[0].generic_name == "tinzaparin"
    assert _items("Clenil Modulite 100 micrograms: 2 puffs BD", "medication")[0].generic_name == "beclometasone"


def test_a_tablet_strength_then_a_count_is_the_whole_dose() -> None:
    assert _meds("Senna 7.5 mg, two tablets at night") == [("Senna", 15.0, "mg", "qn", None)]
    assert _meds("Paracetamol 500 mg tablets: 1-2 tablets QDS PRN")[0][1] == 500.0      # a range: its lower bound
    assert _meds("Co-codamol 30/500 two tablets QDS PRN")[0][1:3] == (2.0, "tablet")     # a combination: the count


def test_a_lunchtime_dose_is_its_own_item() -> None:
    assert _meds("Furosemide 80 mg in the morning and 40 mg at lunchtime") == [
        ("Furosemide", 80.0, "mg", "qd", None), ("Furosemide", 40.0, "mg", "qd", None)]


def test_a_test_name_loses_the_verb_before_it_and_the_word_test_after_it() -> None:
    assert reexams("6个月内完成骨密度检查") == [("骨密度", "P6M")]
    assert reexams("出院后1个月进行肺功能检查") == [("肺功能", "P1M")]
    assert reexams("出院后2周复查血常规") == [("血常规", "P2W")]


def test_a_check_word_after_a_test_in_a_list_and_more_clinic_names() -> None:
    assert reexams("Follow up with your GP in 1 week for BP check and U&E.") == [("BP", "P1W"), ("U&E", "P1W")]
    assert visits("Discharge date: 12/01/2026.\nINR on 12/04/2026 at the Coumadin clinic.") == [("Coumadin", "2026-12-04")]
    assert visits("Wound check with the surgery clinic in 10 days.") == [("Surgery", "P10D")]
    assert visits("Follow up in 2 weeks after surgery.") == [(None, "P2W")]          # surgery alone is not a clinic


def test_an_ordinary_or_expert_clinic_is_no_department() -> None:
    assert visits("出院后1周复诊（可挂普通门诊）") == [(None, "P1W")]
    assert visits("出院后2周专家门诊复诊") == [(None, "P2W")]
    assert visits("出院后2周到甲乳外科专家门诊复诊") == [("甲乳外科", "P2W")]


def test_a_hold_with_a_fixed_restart_is_listed_and_a_withheld_drug_is_not() -> None:
    assert _meds("Hold metformin for 48 hours after the CT scan, then restart 1 g BD.") == [("metformin", 1.0, "g", "bid", None)]
    assert _meds("暂停二甲双胍缓释片，2天后恢复 0.5g bid")[0][1:4] == (0.5, "g", "bid")
    assert _meds("Gliclazide 80 mg BD — withheld, restart when eating normally") == []
    assert _meds("Hold gliclazide until eating normally.") == []


def test_tests_at_that_appointment_take_its_time() -> None:
    assert reexams("Renal clinic in 4 weeks. Bloods (U&E, bone profile) at that appointment.") == [("U&E", "P4W"), ("Bone profile", "P4W")]


def test_an_appointment_still_to_be_sent_is_a_visit_without_a_time() -> None:
    assert visits("Oncology will write to you with an appointment.") == [("Oncology", None)]
    assert visits("放疗科将电话通知您放疗时间") == [("放疗科", None)]
    assert visits("The district nurse will phone you tomorrow.") == []
    assert visits("Oncology will write to you.") == []                     # no appointment in it


def test_a_weekday_of_this_week_from_a_stated_discharge_date() -> None:
    text = "Discharged Wednesday 02/12/2026 (dd/mm/yyyy).\nINR at the anticoagulation clinic on Friday."
    assert visits(text) == [("Anticoagulation", "2026-12-04")] and reexams(text) == [("INR", "2026-12-04")]
    assert visits("出院日期：2026年12月2日\n本周五到伤口门诊换药") == [("伤口门诊", "2026-12-04")]
    assert visits("Discharged 02/12/2026.\nWound clinic on Fridays.") == [("Wound", "P1W")]      # a recurring day: its first week
    assert visits("See your GP the day after tomorrow.") == [("GP", "P2D")]


def test_an_english_removal_is_a_visit_and_tests_with_a_visit() -> None:
    assert visits("Sutures out in 10 days.") == [(None, "P10D")]
    assert visits("Keep the cast dry.") == [] and visits("Do not remove the dressing for 5 days.") == []
    text = "Stent removal in 4 weeks (date will be sent) with a KUB X-ray on the day."
    assert visits(text) == [(None, "P4W")] and reexams(text) == [("KUB X-ray", "P4W")]
    assert reexams("Monthly review in the renal unit with PTH.") == [("PTH", "P1M")]
    assert reexams("Fracture clinic in 2 weeks with your sling.") == []


def test_bloods_at_a_place_named_first() -> None:
    text = "Practice nurse bloods (FBC, LFT) on 14/12/2026."
    assert visits(text) == [(None, "2026-12-14")] and reexams(text) == [("FBC", "2026-12-14"), ("LFT", "2026-12-14")]
    assert reexams("GP bloods (U&E) on 14/12/2026.") == [("U&E", "2026-12-14")]


def test_stoma_output_pale_stools_and_a_cold_limb() -> None:
    assert _signs("Contact the stoma nurse if the stoma output is very high and watery.") == ["diarrhea"]
    assert _signs("Contact the stoma nurse if there is no output for 24 hours.") == ["constipation"]
    assert _signs("如出现造口无排出超过24小时，及时就诊") == ["constipation"]
    assert _signs("Seek help if your baby has dark urine or pale stools.") == ["jaundice"]
    assert _signs("如出现皮肤黄染、陶土样便，及时就诊") == ["jaundice"]
    # a colour or temperature change of a limb has no code (AUTHOR-NOTES-3); numbness beside it still counts
    assert _signs("如出现患肢发紫、发凉、麻木，立即就诊") == ["limb_weakness"]
    assert _signs("如出现皮肤瘀斑，立即就诊") == ["bruising"]


def test_the_order_vocabulary_has_no_repeated_key() -> None:
    import yaml
    from knowledge.structurer import VOCAB_PATH

    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
        keys = [loader.construct_object(k) for k, _ in node.value]
        assert len(keys) == len(set(keys)), [k for k in keys if keys.count(k) > 1]
        return loader.construct_mapping(node)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    yaml.load(VOCAB_PATH.read_text(encoding="utf-8"), Loader=Strict)       # a second key would silently replace the first
