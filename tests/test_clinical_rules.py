"""The clinical rule table (dialogs/rules/clinical_rules.yaml): every rule fires on a case and stays quiet on a
near miss; a broken table is refused at load with a message naming the problem; a hospital overrides named
thresholds in config.yaml; and the rules alone raise red flags, with no language model anywhere."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.web.reasons import reason_text
from dialogs.clinical_rules import (DEFAULT_RULES_PATH, All, AnyOf, Cue, Fact, Not, RulesError, default_rules,
                                    load_rules, parse_rules)
from dialogs.findings import lexicon
from dialogs.flags import evaluate_flags, grade_rule
from dialogs.triage import ClinicalPicture, Symptom, rule_reasons, triage
from suifang.config import ConfigError, load_settings

RULES = default_rules()
RAW = yaml.safe_load(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))


# ----- inputs -----------------------------------------------------------------------------------------------

def _entry(key: str) -> tuple[str, str | None, str]:
    """A preconsult lexicon name or code → (name, code, kind); a code takes a symptom name other than 喘息."""
    entries = lexicon().entries
    if key in entries:
        e = entries[key]
        return e.name, e.code, e.kind
    e = next(e for e in entries.values() if e.code == key and e.kind == "symptom" and e.name != "喘息")
    return e.name, e.code, e.kind


def pic(*symptoms: str, vitals: dict[str, Any] | None = None, context: tuple[str, ...] = (), text: str = "",
        evidence: str = "") -> ClinicalPicture:
    """Symptoms as "name_or_code[:cue,cue]", "-name" for a denied one."""
    p = ClinicalPicture(text=text, vitals=dict(vitals or {}), context=set(context))
    for spec in symptoms:
        status = "absent" if spec.startswith("-") else "present"
        key, _, cues = spec.lstrip("-").partition(":")
        name, code, kind = _entry(key)
        p.symptoms[name] = Symptom(name=name, status=status, code=code, kind=kind,
                                   cues={c: True for c in cues.split(",") if c}, evidence=evidence or name)
    return p


def T(*symptoms: str, **kw: Any) -> tuple[str, ClinicalPicture]:
    return "triage", pic(*symptoms, **kw)


def S(code: str, **cues: Any) -> tuple[str, dict[str, Any]]:
    return "followup_symptom", {"outcome": {"symptoms": [code]}, "cues": {code: cues}}


def F(outcome: dict[str, Any], **kw: Any) -> tuple[str, dict[str, Any]]:
    return "followup", {"outcome": outcome, **kw}


def G(outcome: dict[str, Any], *levels: str) -> tuple[str, dict[str, Any]]:
    return "risk_grade", {"outcome": outcome, "flags": [{"level": level} for level in levels]}


def bp(systolic: int, diastolic: int) -> dict[str, Any]:
    return {"blood_pressure": {"systolic": systolic, "diastolic": diastolic}}


# rule key → (a case that fires it, a near miss that does not)
CASES: dict[str, tuple[tuple[str, Any], tuple[str, Any]]] = {
    # ----- triage: emergency
    "triage:chest_pain_red_flags": (T("chest_pain", "sweating"), T("chest_pain")),
    "triage:stroke_signs": (T("facial_droop"), T("-facial_droop")),
    "triage:syncope": (T("syncope"), T("dizziness")),
    "triage:altered_mental_status": (T("confusion"), T("drowsiness")),
    "triage:seizure": (T("seizure"), T("-seizure")),
    "triage:suicidal_ideation": (T("suicidal_ideation"), T("-suicidal_ideation")),
    "triage:airway_breathing": (T("cyanosis"), T("dyspnea")),
    "triage:severe_dyspnea": (T("呼吸困难:at_rest"), T("喘息:at_rest")),
    "triage:low_spo2": (T(vitals={"spo2": 92}), T(vitals={"spo2": 93})),
    "triage:hypotension": (T(vitals={"systolic": 89}), T(vitals={"systolic": 90})),
    "triage:major_bleeding": (T("bleeding:heavy"), T("bleeding")),
    "triage:bloody_diarrhoea_child": (T("血便", "diarrhea", vitals={"age_years": 3}),
                                      T("血便", "diarrhea", vitals={"age_years": 3}, context=("streaks_only",))),
    "triage:peritonism": (T("peritonism"), T("abdominal_pain")),
    "triage:sudden_severe_abdominal_pain": (T("abdominal_pain:sudden,severe"), T("abdominal_pain:sudden")),
    "triage:sudden_severe_back_pain": (T("back_pain:sudden", context=("agonising_pain",)), T("back_pain:severe")),
    "triage:sudden_severe_headache": (T("headache:sudden,severe"), T("headache:severe")),
    "triage:sudden_severe_chest_pain": (T("chest_pain:sudden,severe"), T("chest_tightness:sudden,severe")),
    "triage:meningism": (T("fever", "neck_stiffness"), T("neck_stiffness")),
    "triage:fever_rash": (T("fever", "rash", text="身上有瘀点"), T("fever", "rash")),
    "triage:infant_fever": (T(vitals={"temperature_c": 38.0, "age_years": 0.2}),
                            T(vitals={"temperature_c": 38.0, "age_years": 0.25})),
    "triage:fever_after_travel": (T("fever", context=("malaria_travel",)), T("fever")),
    "triage:anaphylaxis": (T("rash", "dyspnea", context=("sting_or_allergen",)), T("rash", context=("sting_or_allergen",))),
    "triage:dvt_risk": (T("edema", "肢体疼痛", context=("recent_surgery_or_immobile",)), T("edema", "肢体疼痛")),
    "triage:pregnancy_bleeding_pain": (T("abdominal_pain", context=("pregnant",)), T("abdominal_pain")),
    "triage:head_injury": (T("headache", context=("head_injury",)), T("cough", context=("head_injury",))),
    # ----- triage: urgent
    "triage:chest_pain": (T("chest_tightness"), T("chest_tightness", "sweating")),
    "triage:dyspnea": (T("dyspnea"), T("-dyspnea")),
    "triage:palpitations": (T("palpitations", "dizziness"), T("palpitations")),
    "triage:high_fever": (T(vitals={"temperature_c": 39.0}), T(vitals={"temperature_c": 38.9})),
    "triage:high_fever_said": (T("高热"), T("高热", vitals={"temperature_c": 38.5})),
    "triage:young_infant_fever": (T(vitals={"temperature_c": 38.5, "age_years": 0.25}),
                                  T(vitals={"temperature_c": 38.5, "age_years": 0.5})),
    "triage:blood_in_stool_streaks": (T("血便", "constipation", context=("streaks_only",)), T("血便", context=("streaks_only",))),
    "triage:blood_in_stool": (T("血便"), T("血便", "constipation", context=("streaks_only",))),
    "triage:bleeding": (T("bleeding"), T("bleeding:heavy")),
    "triage:jaundice": (T("jaundice"), T("-jaundice")),
    "triage:dehydration": (T("尿量减少", "diarrhea"), T("尿量减少")),
    "triage:drowsiness": (T("drowsiness"), T("fatigue")),
    "triage:new_weakness": (T("weakness"), T("fatigue")),
    "triage:leg_swelling": (T("edema", context=("unilateral",)), T("edema")),
    "triage:vision_change": (T("vision_change"), T("red_eye")),
    "triage:severe_pain": (T(vitals={"pain_score": 7}), T(vitals={"pain_score": 6})),
    "triage:abdominal_pain_fever_vomiting": (T("abdominal_pain", "nausea_vomiting"), T("abdominal_pain")),
    "triage:infant_gastro": (T("diarrhea", "nausea_vomiting", vitals={"age_years": 0.9}),
                             T("diarrhea", "nausea_vomiting", vitals={"age_years": 1})),
    # ----- triage: routine
    "triage:fever": (T(vitals={"temperature_c": 38.3}), T(vitals={"temperature_c": 38.2})),
    "triage:vomiting_diarrhoea": (T("diarrhea", "nausea_vomiting"), T("diarrhea")),
    "triage:skin_infection": (T("skin_redness"), T("rash")),
    "triage:urinary": (T("urinary_problem"), T("-urinary_problem")),
    "triage:ear": (T("ear_pain"), T("eye_pain")),
    "triage:sinus": (T("facial_pain"), T("headache")),
    "triage:abdominal_pain": (T("abdominal_pain"), T("abdominal_pain", "nausea_vomiting")),
    "triage:dizziness_palpitations": (T("dizziness"), T("palpitations", "dizziness")),
    "triage:edema": (T("edema"), T("edema", context=("unilateral",))),
    "triage:moderate_pain": (T(vitals={"pain_score": 4}), T(vitals={"pain_score": 3})),
    "triage:dysphagia": (T("dysphagia"), T("-dysphagia")),
    "triage:painful_eye": (T("eye_pain", "photophobia"), T("eye_pain")),
    "triage:young_infant": (T("cough", vitals={"age_years": 0.2}), T(vitals={"age_years": 0.2})),
    # ----- follow-up: a reported symptom (the first row that holds)
    "followup_symptom:syncope": (S("syncope"), S("dizziness")),
    "followup_symptom:confusion": (S("confusion"), S("insomnia")),
    "followup_symptom:hemoptysis": (S("hemoptysis"), S("cough")),
    "followup_symptom:hematemesis": (S("hematemesis"), S("nausea_vomiting")),
    "followup_symptom:melena": (S("melena"), S("diarrhea")),
    "followup_symptom:suicidal_ideation": (S("suicidal_ideation"), S("low_mood")),
    "followup_symptom:chest_at_rest": (S("chest_pain", at_rest=True), S("chest_pain", exertional=True)),
    "followup_symptom:chest_long": (S("chest_tightness", duration_min=16), S("chest_tightness", duration_min=15)),
    "followup_symptom:chest_not_relieved": (S("chest_pain", severe=True), S("chest_pain", severe=True, relieved=True)),
    "followup_symptom:chest_relieved": (S("chest_pain", relieved=True), S("chest_pain")),
    "followup_symptom:chest": (S("chest_pain"), S("chest_pain", at_rest=True)),
    "followup_symptom:dyspnea_at_rest": (S("dyspnea", at_rest=True), S("dyspnea", exertional=True)),
    "followup_symptom:dyspnea_cyanosis": (S("dyspnea", cyanosis=True), S("dyspnea", exertional=True)),
    "followup_symptom:dyspnea": (S("dyspnea"), S("dyspnea", at_rest=True)),
    "followup_symptom:stroke_sign_unchanged": (S("slurred_speech", chronic=True), S("slurred_speech", chronic=True, sudden=True)),
    "followup_symptom:limb_weakness_gradual": (S("limb_weakness", gradual=True), S("facial_droop", gradual=True)),
    "followup_symptom:stroke_sign": (S("facial_droop"), S("facial_droop", chronic=True)),
    "followup_symptom:bleeding_heavy": (S("bleeding", duration_min=30), S("bleeding", duration_min=29)),
    "followup_symptom:bleeding": (S("bleeding"), S("bleeding", heavy=True)),
    "followup_symptom:new_or_worse": (S("cough"), S("syncope")),
    # ----- follow-up: readings and answers
    "followup:bp_critical_high": (F(bp(180, 90)), F(bp(179, 109))),
    "followup:bp_high": (F(bp(150, 100)), F(bp(159, 99))),
    "followup:bp_low": (F(bp(89, 60)), F(bp(90, 60))),
    "followup:glucose_critical_high": (F({"blood_glucose": 16.7}), F({"blood_glucose": 16.6})),
    "followup:glucose_low": (F({"blood_glucose": 3.8}), F({"blood_glucose": 3.9})),
    "followup:glucose_high": (F({"blood_glucose": 13.9}), F({"blood_glucose": 13.8})),
    "followup:fever_high_post_surgery": (F({"temperature": 38.5}, post_surgery=True, days=30),
                                         F({"temperature": 38.5}, post_surgery=True, days=31)),
    "followup:fever_high": (F({"temperature": 39.0}), F({"temperature": 38.9})),
    "followup:fever": (F({"temperature": 37.5}), F({"temperature": 37.4})),
    "followup:pain_severe": (F({"pain_score": 8}), F({"pain_score": 7})),
    "followup:pain_moderate": (F({"pain_score": 5}), F({"pain_score": 4})),
    "followup:wound_dehiscence": (F({"wound": "dehiscence"}), F({"wound": "discharge"})),
    "followup:wound_pus": (F({"wound": "discharge"}, evidence={"wound": "有点流脓"}),
                           F({"wound": "discharge"}, evidence={"wound": "有点渗液"})),
    "followup:wound_bleeding_heavy": (F({"wound": "bleeding"}, cues={"wound": {"heavy": True}}), F({"wound": "bleeding"})),
    "followup:wound_redness": (F({"wound": "redness"}), F({"wound": "ok"})),
    "followup:wound_swelling": (F({"wound": "swelling"}), F({"wound": "swelling"}, cues={"wound": {"pus": True}})),
    "followup:wound_discharge": (F({"wound": "discharge"}), F({"wound": "discharge"}, cues={"wound": {"pus": True}})),
    "followup:wound_bleeding": (F({"wound": "bleeding"}), F({"wound": "bleeding"}, cues={"wound": {"heavy": True}})),
    "followup:missed_critical_medication": (F({"missed_medications": ["X"]}, classes={"X": "antiplatelet"}),
                                            F({"missed_medications": ["X"]}, classes={"X": "statin"})),
    "followup:not_taking_critical_medication": (F({"medication_adherence": "none"}, classes={"X": "insulin"}),
                                                F({"medication_adherence": "none"}, classes={"X": "statin"})),
    "followup:condition_worse": (F({"overall_condition": "worse"}), F({"overall_condition": "same"})),
    "followup:low_satisfaction": (F({"satisfaction": 2}), F({"satisfaction": 3})),
    # ----- risk grade (the first row that holds)
    "risk_grade:red_flag": (G({}, "yellow", "red"), G({}, "yellow")),
    "risk_grade:yellow_flag": (G({}, "yellow"), G({}, "red")),
    "risk_grade:stable": (G({"medication_adherence": "full", "symptoms": []}), G({"medication_adherence": "full"})),
    "risk_grade:not_adherent": (G({"medication_adherence": "partial", "overall_condition": "same"}),
                                G({"medication_adherence": "unknown", "overall_condition": "same"})),
    "risk_grade:too_little_known": (G({"overall_condition": "better"}), G({}, "red")),
}


def fired(case: tuple[str, Any], rules: Any = RULES) -> list[tuple[str, str, str, str]]:
    """(rule id, level, zh, en) of every rule the case fires, in its group."""
    group, data = case
    if group == "triage":
        return [(r.rule, r.level, r.zh, r.en) for r in rule_reasons(data, rules=rules)]
    if group == "risk_grade":
        result = grade_rule(data["outcome"], data["flags"], rules=rules)
        return [(result.rule.id, result.level, result.zh, result.en)]
    hits = evaluate_flags(data["outcome"], evidence=data.get("evidence", {}), cues=data.get("cues", {}), rules=rules,
                          post_surgery=data.get("post_surgery", False), days_since_discharge=data.get("days"),
                          missed_classes=data.get("classes", {}))
    in_group = {r.id for r in rules.group(group)}
    return [(h.rule, h.level, h.reason_zh, h.reason) for h in hits if h.rule in in_group]


@pytest.mark.parametrize("key", [rule.key for rule in RULES.rules])
def test_every_rule_fires_on_its_case_and_not_on_its_near_miss(key: str) -> None:
    assert key in CASES, f"rule {key} of {DEFAULT_RULES_PATH.name} has no test case: add one to CASES"
    (fires, miss) = CASES[key]
    rule_id = key.split(":", 1)[1]
    assert fires[0] == miss[0] == key.split(":")[0]
    hits = fired(fires)
    assert rule_id in [h[0] for h in hits], (key, hits)
    assert rule_id not in [h[0] for h in fired(miss)], key
    level, zh, en = next(h[1:] for h in hits if h[0] == rule_id)
    assert zh and en and "{" not in zh + en
    if fires[0].startswith("followup"):
        assert reason_text(en, "zh") == zh   # the review page words the stored English reason as the table's zh


def test_cases_name_only_rules_of_the_table() -> None:
    assert sorted(set(CASES) - {rule.key for rule in RULES.rules}) == []


def test_the_packaged_table_is_versioned_and_every_threshold_named_once_with_a_unit() -> None:
    assert isinstance(RAW["version"], int) and RULES.version == RAW["version"]
    assert all(RULES.units[name] for name in RULES.thresholds)
    # spec defaults (followup-outcome.md)
    assert (RULES.threshold("systolic_red_high"), RULES.threshold("glucose_red_high"),
            RULES.threshold("temperature_red_post_surgery")) == (180, 16.7, 38.5)


def _thresholds_in(node: Any) -> set[str]:
    if isinstance(node, (All, AnyOf)):
        return set().union(*(_thresholds_in(c) for c in node.items))
    if isinstance(node, Not):
        return _thresholds_in(node.item)
    if isinstance(node, (Fact, Cue)) and node.threshold:
        return {node.threshold}
    return set()


def test_every_threshold_is_used() -> None:
    used = set().union(*(_thresholds_in(r.condition) for r in RULES.rules),
                       *(_thresholds_in(c) for group in RULES.definitions.values() for c in group.values()))
    root = Path(__file__).resolve().parents[1]
    code = "".join(p.read_text(encoding="utf-8") for p in (root / "dialogs").glob("*.py"))
    used |= {name for name in RULES.thresholds if f'default_threshold("{name}")' in code}
    used |= {"systolic_red_high", "diastolic_red_high", "systolic_red_low", "systolic_yellow", "diastolic_yellow",
             "glucose_red_high", "glucose_red_low", "glucose_yellow"} & {  # FHIR interpretation codes
        name for name in RULES.thresholds if name in (root / "records" / "fhir_export.py").read_text(encoding="utf-8")}
    assert sorted(set(RULES.thresholds) - used) == []


def test_no_threshold_is_defined_again_in_the_configuration() -> None:
    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8"))
    assert config["dialog"]["clinical_rules"] == {"file": "", "thresholds": {}}
    assert "flags" not in config["dialog"]
    for path in ("suifang/config.py", "records/fhir_export.py"):   # no default value written again in code
        code = (root / path).read_text(encoding="utf-8")
        assert [n for n in RULES.thresholds if re.search(rf"\b{n}\s*(?::\s*\w+\s*)?=\s*\d", code)] == [], path


# ----- a broken table is refused at load ----------------------------------------------------------------------

def _rule(table: dict[str, Any], group: str, rule_id: str) -> dict[str, Any]:
    return next(r for r in table["rules"] if r["applies_to"] == group and r["id"] == rule_id)


def _broken(edit: Any) -> str:
    table = copy.deepcopy(RAW)
    edit(table)
    with pytest.raises(RulesError) as exc:
        parse_rules(yaml.safe_dump(table, allow_unicode=True), source="broken.yaml")
    return str(exc.value)


BROKEN = {
    "unknown op": (lambda t: _rule(t, "followup", "bp_low")["if"].update(op="=<"), "unknown op '=<'"),
    "unknown threshold": (lambda t: _rule(t, "followup", "bp_low")["if"].update(threshold="systolic_red_lo"),
                          "unknown threshold 'systolic_red_lo'"),
    "eval-like string": (lambda t: _rule(t, "followup", "bp_low").update({"if": "systolic < 90"}), "is a string"),
    "code in a string": (lambda t: _rule(t, "triage", "syncope").update({"if": "__import__('os').system('true')"}),
                         "nothing in the table is evaluated as code"),
    "a number in a rule": (lambda t: _rule(t, "followup", "bp_low")["if"].update(value=90, threshold=None),
                           "compares with a named threshold"),
    "unknown fact": (lambda t: _rule(t, "followup", "bp_low")["if"].update(fact="systolc"), "unknown fact 'systolc'"),
    "unknown symptom code": (lambda t: _rule(t, "followup_symptom", "syncope")["if"].update(symptom=["fainting"]),
                             "unknown symptom code (records/outcome_contract.py) 'fainting'"),
    "unknown triage symptom": (lambda t: _rule(t, "triage", "syncope")["if"].update(symptom=["faint"]),
                               "unknown symptom name or code"),
    "unknown cue": (lambda t: _rule(t, "followup_symptom", "dyspnea_at_rest")["if"]["all"][1].update(cue="at-rest"),
                    "unknown cue 'at-rest'"),
    "unknown context": (lambda t: _rule(t, "triage", "fever_after_travel")["if"]["all"][1].update(context="travel"),
                        "unknown context (dialogs/triage.py) 'travel'"),
    "unknown condition key": (lambda t: _rule(t, "followup", "bp_low")["if"].update(unit="mmHg"), "unknown key(s) unit"),
    "unknown row key": (lambda t: _rule(t, "followup", "bp_low").update(severity="high"), "Extra inputs are not permitted"),
    "unknown level": (lambda t: _rule(t, "followup", "bp_low").update(level="orange"), "unknown level 'orange'"),
    "unknown group": (lambda t: _rule(t, "followup", "bp_low").update(applies_to="discharge"), "unknown group 'discharge'"),
    "missing zh reason": (lambda t: _rule(t, "followup", "bp_low")["reason"].pop("zh"), "reason.zh"),
    "unknown placeholder": (lambda t: _rule(t, "followup", "bp_low")["reason"].update(en="systolic {sys} mmHg"),
                            "unknown placeholder {sys}"),
    "placeholder with code": (lambda t: _rule(t, "followup", "bp_low")["reason"].update(en="{systolic.__class__}"),
                              "is not a plain {name}"),
    "threshold not a number": (lambda t: t["thresholds"]["pain_red"].update(value="8"), "must be a number"),
    "threshold without unit": (lambda t: t["thresholds"]["pain_red"].pop("unit"), "thresholds.pain_red.unit"),
    "fired names a later rule": (lambda t: _rule(t, "followup", "bp_critical_high").update(
        {"if": {"not": {"fired": ["bp_high"]}}}), "unknown rule id (an earlier followup rule) 'bp_high'"),
    "definition loop": (lambda t: t["definitions"]["triage"].update(chest={"ref": "chest"}), "refers to itself"),
    "duplicate id": (lambda t: t["rules"].append(copy.deepcopy(_rule(t, "followup", "bp_low"))), "duplicate id"),
    "first-match group without a default": (lambda t: t["rules"].remove(_rule(t, "followup_symptom", "new_or_worse")),
                                            "must have no condition"),
    "unknown drug class": (lambda t: t["lists"]["critical_medication_classes"].append("anticoagulants"),
                           "unknown drug class(es) anticoagulants"),
    "bad regular expression": (lambda t: _rule(t, "triage", "fever_rash")["if"]["all"][2]["any"][1].update(
        text_matches="瘀点("), "bad regular expression"),
    "a group without rules": (lambda t: t.update(rules=[r for r in t["rules"] if r["applies_to"] != "triage"]),
                              "no triage rules"),
    "a list the facts need is missing": (lambda t: t["lists"].pop("grade_known_fields"),
                                         "lists.grade_known_fields is needed by the risk_grade rules"),
    "zh says what en does not": (lambda t: _rule(t, "followup", "bp_low")["reason"].update(zh="收缩压 {diastolic}"),
                                 "reason.zh uses diastolic"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_table_is_refused_with_a_clear_error(name: str) -> None:
    edit, expected = BROKEN[name]
    message = _broken(edit)
    assert message.startswith("broken.yaml:") and expected in message, message


def test_a_table_that_is_no_mapping_or_no_yaml_is_refused() -> None:
    for text in ("- just a list", "version: [", ""):
        with pytest.raises(RulesError, match="<rules>"):
            parse_rules(text)


def test_overrides_of_unknown_or_fixed_thresholds_or_with_a_non_number_are_refused() -> None:
    with pytest.raises(RulesError, match="unknown threshold.*systolic_red"):
        load_rules(overrides={"systolic_red": 170})
    with pytest.raises(RulesError, match="child_age_years are fixed"):
        load_rules(overrides={"child_age_years": 16})
    with pytest.raises(RulesError, match="not a number"):
        load_rules(overrides={"pain_red": "7"})
    with pytest.raises(RulesError, match="whole number"):
        load_rules(overrides={"pain_red": 7.5})


# ----- a hospital changes a threshold ------------------------------------------------------------------------

def _settings(tmp_path: Path, dialog: dict[str, Any], environ: dict[str, str] | None = None) -> Any:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"dialog": dialog}), encoding="utf-8")
    return load_settings(path, environ={"SUIFANG_SECRET_KEY": "k" * 40, **(environ or {})})


def _levels(rules: Any, outcome: dict[str, Any]) -> list[str]:
    return [h.level for h in evaluate_flags(outcome, evidence={}, cues={}, rules=rules)]


def test_a_hospital_overrides_a_named_threshold_in_config(tmp_path: Path) -> None:
    rules = _settings(tmp_path, {"clinical_rules": {"thresholds": {"systolic_red_high": 170}}}).clinical_rules()
    assert rules.threshold("systolic_red_high") == 170 and rules.overridden == {"systolic_red_high"}
    assert _levels(rules, bp(172, 90)) == ["red"] and _levels(RULES, bp(172, 90)) == ["yellow"]
    hit = evaluate_flags(bp(172, 90), evidence={}, cues={}, rules=rules)[0]
    assert hit.reason == "blood pressure 172/90 mmHg at or above 170/110"
    assert reason_text(hit.reason, "zh", rules) == "血压 172/90 mmHg，达到或超过 170/110"


def test_the_former_flags_section_and_the_environment_still_override(tmp_path: Path) -> None:
    assert _settings(tmp_path, {"flags": {"pain_red": 7}}).clinical_rules().threshold("pain_red") == 7
    settings = _settings(tmp_path, {}, {"SUIFANG__DIALOG__CLINICAL_RULES__THRESHOLDS__TEMPERATURE_RED": "38.8"})
    assert settings.clinical_rules().threshold("temperature_red") == 38.8
    assert _settings(tmp_path, {}).clinical_rules() is RULES   # no override: the packaged table, loaded once


def test_an_unknown_override_stops_the_service_at_start(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {"clinical_rules": {"thresholds": {"systolic_red_hihg": 170}}})
    with pytest.raises(ConfigError, match="dialog.clinical_rules: .*unknown threshold.*systolic_red_hihg"):
        settings.clinical_rules()
    from suifang.services import Services

    with pytest.raises(ConfigError, match="systolic_red_hihg"):
        Services.build(settings)


def test_a_hospital_may_use_its_own_copy_of_the_table(tmp_path: Path) -> None:
    table = copy.deepcopy(RAW)
    table["version"] = 2
    table["thresholds"]["pain_red"]["value"] = 7
    own = tmp_path / "our_rules.yaml"
    own.write_text(yaml.safe_dump(table, allow_unicode=True), encoding="utf-8")
    rules = _settings(tmp_path, {"clinical_rules": {"file": str(own)}}).clinical_rules()
    assert rules.version == 2 and rules.threshold("pain_red") == 7 and _levels(rules, {"pain_score": 7}) == ["red"]
    table["thresholds"]["child_age_years"]["value"] = 18
    own.write_text(yaml.safe_dump(table, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="fixed threshold.*child_age_years"):
        _settings(tmp_path, {"clinical_rules": {"file": str(own)}}).clinical_rules()
    with pytest.raises(ConfigError, match="cannot read"):
        _settings(tmp_path, {"clinical_rules": {"file": str(tmp_path / "missing.yaml")}}).clinical_rules()


# ----- the model-down guarantee: red flags come from the rules alone -------------------------------------------

class _DownModel:
    def generate(self, *args: Any, **kwargs: Any) -> str:
        raise ConnectionError("model server down")


class _CalmModel:
    def generate(self, *args: Any, **kwargs: Any) -> str:
        return '{"level": "self_care", "reason": "fine"}'


@pytest.mark.parametrize("key", [r.key for r in RULES.rules if r.level in ("red", "emergency") and r.group != "risk_grade"])
def test_every_red_rule_fires_with_no_model(key: str) -> None:
    group, data = CASES[key][0]
    if group == "triage":
        for llm in (None, _DownModel(), _CalmModel()):   # the model may raise the level, never lower it
            result = triage(data, llm=llm)
            assert result.level == "emergency" and key.split(":")[1] in [r.rule for r in result.reasons]
    else:
        assert "red" in [h[1] for h in fired((group, data))]


def test_a_call_raises_its_red_flag_with_the_model_off() -> None:
    import datetime as dt

    from tests.test_transcripts import build_engine

    case = {"patient": {"name": "王建国", "phone": "13800001234", "birth_year": 1962},
            "discharge": {"discharged_on": dt.date(2026, 11, 1), "orders": "阿司匹林肠溶片 100mg 每日一次",
                          "department": "心内科", "diagnosis": "高血压"}}
    engine = build_engine(case, [])   # no language model, no fallback, no second reader
    engine.start()
    for words in ("对，我是王建国，62年的", "不好，今天早上胸口疼了半个多小时，刚量血压一百八十五、一百"):
        engine.handle(words)
    outcome = engine.outcome()
    assert {("red", "symptom_chest_pain"), ("red", "bp_critical_high")} <= {(f["level"], f["code"]) for f in outcome["flags"]}
    assert all(f["source"] == "rule" for f in outcome["flags"]) and outcome["risk_grade"] == "red"
