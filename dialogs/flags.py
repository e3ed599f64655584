"""Red and yellow flags by rules over the patient's words and readings (followup-outcome.md).

These run on every turn with or without the language model: the model may add flags elsewhere,
it never removes one of these. The rules, their thresholds and their reasons are rows of the clinical
rule table (dialogs/rules/clinical_rules.yaml: groups followup_symptom, followup and risk_grade),
interpreted by dialogs/clinical_rules.py; a hospital overrides a threshold in config.yaml
(`dialog.clinical_rules`). This module gathers the facts those rules read from an outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dialogs.clinical_rules import ClinicalRules, Evidence, RuleResult, default_rules
from language.lexicon import lexicon


@dataclass(frozen=True)
class FlagHit:
    level: str      # red | yellow
    code: str
    reason: str     # English, with the figures; the review page words it in Chinese (api/web/reasons.py)
    evidence: str
    reason_zh: str = ""
    rule: str = ""  # the id of its row in the clinical rule table


class _Facts:
    """Named facts and the words behind them, as the followup and risk_grade rules see them."""

    def __init__(self, facts: dict[str, Any], *, evidence: dict[str, str] | None = None,
                 cues: dict[str, Any] | None = None) -> None:
        self.facts = facts
        self._evidence = evidence or {}
        self._cues = cues or {}

    def fact(self, name: str) -> Any:
        return self.facts.get(name)

    def cue_values(self, key: str, of: tuple[str, ...] | None) -> list[Any]:
        return [(self._cues.get(name) or {}).get(key) for name in of or ()]

    def evidence_text(self, of: tuple[str, ...]) -> str:
        return " ".join(self._evidence.get(name, "") for name in of)

    def evidence(self, spec: Evidence | None) -> str:
        return "" if spec is None or spec.field is None else self._evidence.get(spec.field, "")

    def values(self) -> dict[str, Any]:
        return dict(self.facts)


class _ReportedSymptom:
    """One reported symptom or side effect with its cues, as the followup_symptom rules see it."""

    def __init__(self, rules: ClinicalRules, code: str, cue: dict[str, Any], evidence: str) -> None:
        self.rules, self.code, self.cue, self._evidence = rules, code, cue, evidence

    def has_symptom(self, names: tuple[str, ...], leave_out: tuple[str, ...]) -> bool:
        return self.code in names

    def cue_values(self, key: str, of: tuple[str, ...] | None) -> list[Any]:
        return [self.cue.get(key)]

    def evidence(self, spec: Evidence | None) -> str:
        return self._evidence

    def values(self) -> dict[str, Any]:
        label = lexicon().labels.get(self.code, {})
        return {"symptom": self.rules.symptom_words(self.code), "symptom_zh": label.get("zh", self.code),
                "duration_min": int(self.cue.get("duration_min") or 0)}


def evaluate_flags(outcome: dict[str, Any], *, evidence: dict[str, str], cues: dict[str, Any],
                   rules: ClinicalRules | None = None, days_since_discharge: int | None = None,
                   post_surgery: bool = False, missed_classes: dict[str, str] | None = None) -> list[FlagHit]:
    """All flags the outcome so far raises, red first. Pure: same input, same flags."""
    rules = rules or default_rules()
    hits: list[FlagHit] = []
    for source_field in ("symptoms", "side_effects"):
        for code in list(outcome.get(source_field) or []):
            subject = _ReportedSymptom(rules, code, cues.get(code) or {}, evidence.get(source_field, ""))
            hits += [FlagHit(level=o.level, code=f"symptom_{code}", reason=o.en, evidence=o.evidence, reason_zh=o.zh,
                             rule=o.rule.id) for o in rules.evaluate("followup_symptom", subject)]
    facts, evidence_of = _outcome_facts(outcome, evidence=evidence, cues=cues, rules=rules, post_surgery=post_surgery,
                                        days_since_discharge=days_since_discharge, missed_classes=missed_classes or {})
    hits += [FlagHit(level=o.level, code=o.code, reason=o.en, evidence=o.evidence, reason_zh=o.zh, rule=o.rule.id)
             for o in rules.evaluate("followup", _Facts(facts, evidence=evidence_of, cues=cues))]
    hits.sort(key=lambda h: h.level != "red")
    return hits


def symptom_level(code: str, cue: dict[str, Any], *, rules: ClinicalRules | None = None) -> tuple[str, str]:
    """(level, English reason) of one reported symptom with its cues: the first followup_symptom row that holds."""
    rules = rules or default_rules()
    result = rules.evaluate("followup_symptom", _ReportedSymptom(rules, code, cue, ""))[0]
    return result.level, result.en


def _outcome_facts(outcome: dict[str, Any], *, evidence: dict[str, str], cues: dict[str, Any], rules: ClinicalRules,
                   post_surgery: bool, days_since_discharge: int | None,
                   missed_classes: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    bp = outcome.get("blood_pressure") or {}
    # A glucose or temperature said in passing while describing a symptom counts when no reading was asked.
    glucose, glucose_field = outcome.get("blood_glucose"), "blood_glucose"
    if glucose is None:
        said = [c.get("glucose") for c in cues.values() if isinstance(c, dict) and c.get("glucose")]
        if said:
            glucose, glucose_field = said[-1], "symptoms"
    # A hypo told with a reading under the red line ("一测血糖三点五，吃了俩糖块才缓过来") is a red event since
    # discharge whatever a later reading says: the glucose rows read that reading (followup-outcome.md: < 3.9 is red).
    hypo = (cues.get("hypoglycemia_symptoms") or {}).get("glucose")
    if hypo is not None and hypo < rules.thresholds["glucose_red_low"] and (glucose is None or hypo < glucose):
        glucose, glucose_field = hypo, "symptoms"
    temperature, temperature_field = outcome.get("temperature"), "temperature"
    if temperature is None:
        said = [c.get("temperature") for c in cues.values() if isinstance(c, dict) and c.get("temperature")]
        if said:
            temperature, temperature_field = max(said), "symptoms"
    critical_classes = rules.lists["critical_medication_classes"]
    critical = [name for name in outcome.get("missed_medications") or [] if missed_classes.get(name) in critical_classes]
    facts = {
        "systolic": bp.get("systolic"), "diastolic": bp.get("diastolic"), "glucose": glucose,
        "temperature": temperature, "pain_score": outcome.get("pain_score"), "wound": outcome.get("wound"),
        "satisfaction": outcome.get("satisfaction"), "overall_condition": outcome.get("overall_condition"),
        "medication_adherence": outcome.get("medication_adherence"),
        "missed_critical": ", ".join(critical) if critical else None,
        "on_critical_medication": any(c in critical_classes for c in missed_classes.values()),
        "post_surgery": bool(post_surgery), "days_since_discharge": days_since_discharge,
    }
    evidence_of = {**evidence, "glucose": evidence.get(glucose_field, ""),
                   "temperature": evidence.get(temperature_field, "")}
    return facts, evidence_of


def risk_grade(outcome: dict[str, Any], flags: list[Any], *, rules: ClinicalRules | None = None) -> str:
    """red = red flag now; yellow = yellow flag / off target; blue = stable, on target; grey = too little known."""
    return grade_rule(outcome, flags, rules=rules).level


def grade_rule(outcome: dict[str, Any], flags: list[Any], *, rules: ClinicalRules | None = None) -> RuleResult:
    """The risk_grade row of the rule table that decides the call's grade."""
    rules = rules or default_rules()
    levels = {getattr(f, "level", None) or f.get("level") for f in flags}
    known = sum(1 for name in rules.lists["grade_known_fields"] if outcome.get(name) is not None)
    facts = {"has_red_flag": "red" in levels, "has_yellow_flag": "yellow" in levels, "known_fields": known,
             "medication_adherence": outcome.get("medication_adherence")}
    return rules.evaluate("risk_grade", _Facts(facts))[0]
