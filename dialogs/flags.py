"""Red and yellow flags by rules over the patient's words and readings (followup-outcome.md).

These run on every turn with or without the language model: the model may add flags elsewhere,
it never removes one of these. Thresholds come from config.yaml (`dialog.flags`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Missed doses of these classes are a yellow flag (followup-outcome.md).
CRITICAL_CLASSES = ("antiplatelet", "anticoagulant", "insulin", "antihypertensive")

_ALWAYS_RED = {
    "syncope": "syncope",
    "confusion": "new confusion",
    "hemoptysis": "coughing up blood",
    "hematemesis": "vomiting blood",
    "melena": "black or bloody stools",
    "suicidal_ideation": "thoughts of self-harm",
}
_STROKE_SIGNS = ("slurred_speech", "facial_droop", "limb_weakness")


@dataclass(frozen=True)
class FlagHit:
    level: str      # red | yellow
    code: str
    reason: str
    evidence: str


def evaluate_flags(outcome: dict[str, Any], *, evidence: dict[str, str], cues: dict[str, Any], thresholds: Any,
                   days_since_discharge: int | None = None, post_surgery: bool = False,
                   missed_classes: dict[str, str] | None = None) -> list[FlagHit]:
    """All flags the outcome so far raises, red first. Pure: same input, same flags."""
    t = thresholds
    hits: list[FlagHit] = []

    def add(level: str, code: str, reason: str, field: str) -> None:
        hits.append(FlagHit(level=level, code=code, reason=reason, evidence=evidence.get(field, "")))

    symptoms = list(outcome.get("symptoms") or [])
    side_effects = list(outcome.get("side_effects") or [])
    for source_field, codes in (("symptoms", symptoms), ("side_effects", side_effects)):
        for code in codes:
            level, reason = _symptom_level(code, cues.get(code) or {})
            add(level, f"symptom_{code}", reason, source_field)

    bp = outcome.get("blood_pressure") or {}
    systolic, diastolic = bp.get("systolic"), bp.get("diastolic")
    if systolic is not None and systolic >= t.systolic_red_high or diastolic is not None and diastolic >= t.diastolic_red_high:
        add("red", "bp_critical_high", f"blood pressure {systolic}/{diastolic} mmHg at or above "
            f"{t.systolic_red_high}/{t.diastolic_red_high}", "blood_pressure")
    elif systolic is not None and systolic >= t.systolic_yellow or diastolic is not None and diastolic >= t.diastolic_yellow:
        add("yellow", "bp_high", f"blood pressure {systolic}/{diastolic} mmHg at or above "
            f"{t.systolic_yellow}/{t.diastolic_yellow}", "blood_pressure")
    if systolic is not None and systolic < t.systolic_red_low:
        add("red", "bp_low", f"systolic {systolic} mmHg below {t.systolic_red_low}", "blood_pressure")

    glucose = outcome.get("blood_glucose")
    glucose_field = "blood_glucose"
    if glucose is None:
        said = [c.get("glucose") for c in cues.values() if isinstance(c, dict) and c.get("glucose")]
        if said:
            glucose, glucose_field = said[-1], "symptoms"
    if glucose is not None:
        if glucose >= t.glucose_red_high:
            add("red", "glucose_critical_high", f"glucose {glucose} mmol/L at or above {t.glucose_red_high}", glucose_field)
        elif glucose < t.glucose_red_low:
            add("red", "glucose_low", f"glucose {glucose} mmol/L below {t.glucose_red_low}", glucose_field)
        elif glucose >= t.glucose_yellow:
            add("yellow", "glucose_high", f"glucose {glucose} mmol/L at or above {t.glucose_yellow}", glucose_field)

    temperature = outcome.get("temperature")
    temperature_field = "temperature"
    if temperature is None:
        said = [c.get("temperature") for c in cues.values() if isinstance(c, dict) and c.get("temperature")]
        if said:
            temperature, temperature_field = max(said), "symptoms"
    if temperature is not None:
        recent_surgery = post_surgery and (days_since_discharge is None or days_since_discharge <= t.post_surgery_days)
        red_line = t.temperature_red_post_surgery if recent_surgery else t.temperature_red
        if temperature >= red_line:
            add("red", "fever_high", f"temperature {temperature} °C at or above {red_line}"
                + (" within 30 days of surgery" if recent_surgery else ""), temperature_field)
        elif temperature >= t.temperature_yellow:
            add("yellow", "fever", f"temperature {temperature} °C at or above {t.temperature_yellow}", temperature_field)

    pain = outcome.get("pain_score")
    if pain is not None:
        if pain >= t.pain_red:
            add("red", "pain_severe", f"pain {pain}/10", "pain_score")
        elif pain >= t.pain_yellow:
            add("yellow", "pain_moderate", f"pain {pain}/10", "pain_score")

    wound = outcome.get("wound")
    wound_cues = cues.get("wound") or {}
    wound_pus = wound is not None and (bool(wound_cues.get("pus")) or
                                       re.search(r"脓|\bpus\b", evidence.get("wound", ""), re.I) is not None)
    if wound == "dehiscence" or wound_pus:
        add("red", "wound_dehiscence_or_pus", "wound opening" if wound == "dehiscence" else "pus from the wound", "wound")
    elif wound == "bleeding" and wound_cues.get("heavy"):
        add("red", "wound_bleeding_heavy", "wound bleeding that does not stop", "wound")
    elif wound in ("redness", "swelling", "discharge", "bleeding"):
        add("yellow", f"wound_{wound}", f"wound {wound}", "wound")

    missed = outcome.get("missed_medications") or []
    classes = missed_classes or {}
    critical = [name for name in missed if classes.get(name) in CRITICAL_CLASSES]
    if critical:
        add("yellow", "missed_critical_medication", "missed " + ", ".join(critical), "missed_medications")
    elif outcome.get("medication_adherence") == "none" and any(c in CRITICAL_CLASSES for c in classes.values()):
        add("yellow", "missed_critical_medication", "not taking the discharge medications", "medication_adherence")

    if outcome.get("overall_condition") == "worse":
        add("yellow", "condition_worse", "feels worse since discharge", "overall_condition")
    satisfaction = outcome.get("satisfaction")
    if satisfaction is not None and satisfaction <= t.satisfaction_yellow_max:
        add("yellow", "low_satisfaction", f"satisfaction {satisfaction}/5", "satisfaction")

    hits.sort(key=lambda h: h.level != "red")
    return hits


def _symptom_level(code: str, cue: dict[str, Any]) -> tuple[str, str]:
    if code in _ALWAYS_RED:
        return "red", _ALWAYS_RED[code]
    if code in ("chest_pain", "chest_tightness"):
        word = "chest pain" if code == "chest_pain" else "chest tightness"
        duration = cue.get("duration_min") or 0
        if cue.get("at_rest") or duration > 15 or cue.get("persistent") or cue.get("severe") and not cue.get("relieved"):
            detail = "at rest" if cue.get("at_rest") else f"lasting {int(duration)} min" if duration > 15 else "not relieved"
            return "red", f"{word} {detail}"
        return "yellow", f"{word}, short and relieved by rest" if cue.get("relieved") else word
    if code == "dyspnea":
        # followup-outcome.md: dyspnea AT REST is red ("worse than before" on the stairs is yellow); lying
        # flat, propped up on pillows, sitting still or talking count as rest (language/data/cues.yaml).
        if cue.get("at_rest"):
            return "red", "shortness of breath at rest"
        return "yellow", "shortness of breath"
    if code in _STROKE_SIGNS:
        names = {"slurred_speech": "slurred speech", "facial_droop": "facial droop", "limb_weakness": "limb weakness or numbness"}
        if cue.get("chronic") and not cue.get("sudden"):
            return "yellow", f"{names[code]}, unchanged since discharge"
        # Numbness or tingling that came on gradually or comes and goes is not the SUDDEN weakness of the rule.
        if code == "limb_weakness" and cue.get("gradual") and not cue.get("sudden"):
            return "yellow", f"{names[code]}, gradual or intermittent"
        return "red", f"{names[code]} (possible stroke)"
    if code == "bleeding":
        # Heavy: a lot of blood, or bleeding that would not stop (persisting, or ≥ 30 minutes).
        if cue.get("heavy") or cue.get("persistent") or (cue.get("duration_min") or 0) >= 30:
            return "red", "heavy bleeding"
        return "yellow", "bleeding"
    return "yellow", f"new or worse {code.replace('_', ' ')}"


def risk_grade(outcome: dict[str, Any], flags: list[Any]) -> str:
    """red = red flag now; yellow = yellow flag / off target; blue = stable, on target; grey = too little known."""
    levels = {getattr(f, "level", None) or f.get("level") for f in flags}
    if "red" in levels:
        return "red"
    if "yellow" in levels:
        return "yellow"
    known = [k for k in ("medication_adherence", "symptoms", "overall_condition", "blood_pressure", "blood_glucose")
             if outcome.get(k) is not None]
    if len(known) >= 2 and outcome.get("medication_adherence") in (None, "full"):
        return "blue"
    if len(known) >= 2 and outcome.get("medication_adherence") in ("partial", "none"):
        return "yellow"
    return "grey"
