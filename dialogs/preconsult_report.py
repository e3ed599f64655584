"""The pre-consultation report: structured JSON, readable zh/en text, and a FHIR R4 export.

The report is built from the chat state alone (dialogs/preconsult.py). A symptom appears under
"present" only when its final status is present: a denied symptom is listed under "denied" and
never as present. FHIR: a QuestionnaireResponse (every question asked and the patient's answer)
and a Composition (主诉, 现病史, 既往史, 用药, 过敏史, triage, suggested department), in a
collection Bundle, validated with `fhir.resources` (R4B, the R4 technical correction; both
resources are unchanged from R4)."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from dialogs.findings import ABSENT, PRESENT, UNCERTAIN
from dialogs.preconsult import default_flow, picture_from_state, symptom_table
from dialogs.triage import LEVEL_TEXT, triage
from language.catalog import catalog

REPORT_TEXTS = catalog("dialogs/data/preconsult_report.yaml")  # every word of the report
LEVEL_NAMES = REPORT_TEXTS.group("level_")
HPI_FIELDS = ("onset", "duration", "site", "character", "severity", "modifiers", "max_temperature", "associated")
READINGS = ("temperature_c", "spo2", "heart_rate", "resp_rate", "pain_score", "severity")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def build_report(state: dict[str, Any], *, chat_id: int | None = None, patient: dict[str, Any] | None = None,
                 rules: Any = None) -> dict[str, Any]:
    """The structured report (JSON-serialisable) from a chat state; works on unfinished chats too.
    `rules`: the clinical rule table triage uses (default: the packaged one)."""
    from knowledge.matching import match_departments, match_doctors

    lang = state.get("lang", "zh")
    answers = state.get("answers", {})
    picture = picture_from_state(state)
    triage_result = triage(picture, rules=rules)
    level = triage_result.level
    stored = state.get("triage") or {}
    if stored.get("level") and stored["level"] in LEVEL_TEXT and _rank(stored["level"]) > _rank(level):
        level = stored["level"]  # a model-raised level from the chat stands
    matching = state.get("matching")
    if not matching:
        history = " ".join(state.get("history_texts", []))
        complaint = answers.get("chief_complaint") or ""
        departments = match_departments(picture, chief_complaint=complaint, history=history, lang=lang, triage_level=level)
        doctors = match_doctors(picture, departments, chief_complaint=complaint, history=history, lang=lang)
        matching = {"departments": [d.as_dict() for d in departments], "doctors": [d.as_dict() for d in doctors]}
    rows = symptom_table(state, lang)
    symptoms = [r for r in rows if r["kind"] != "disease" and not r["past"]]
    flow = default_flow()
    asked = []
    for step_id in state.get("asked", []):
        try:
            step = flow.step(step_id)
        except KeyError:
            continue
        value = answers.get(step.collect if step.kind not in ("symptom", "cue") else step.id)
        asked.append({"id": step.id, "question": step.ask[lang], "section": step.section,
                      "answer": value if value is not None else None})
    report = {
        "chat_id": chat_id,
        "language": lang,
        "generated_at": _now(),
        "complete": bool(state.get("done")),
        "patient": {**(patient or {}), "age_years": state.get("vitals", {}).get("age_years"),
                    "weight_kg": state.get("vitals", {}).get("weight_kg"), "is_child": picture.is_child()},
        "chief_complaint": answers.get("chief_complaint"),
        "hpi": {field: answers.get(field) for field in HPI_FIELDS if answers.get(field) not in (None, "")},
        "symptoms": {
            "present": [_sym(r) for r in symptoms if r["status"] == PRESENT],
            "denied": [_sym(r) for r in symptoms if r["status"] == ABSENT],
            "uncertain": [_sym(r) for r in symptoms if r["status"] == UNCERTAIN],
        },
        "past_history": answers.get("past_history"),
        "surgeries": answers.get("surgeries"),
        "medications": answers.get("medications"),
        "allergies": answers.get("allergies"),
        "vitals": {k: v for k, v in state.get("vitals", {}).items() if k not in ("age_years", "weight_kg")},
        "triage": {**triage_result.as_dict(lang), "level": level, "advice": LEVEL_TEXT[level][lang]},
        "departments": matching["departments"],
        "doctors": matching["doctors"],
        "questions": asked,
    }
    report["text"] = {"zh": render_text(report, "zh"), "en": render_text(report, "en")}
    return report


def _rank(level: str) -> int:
    return ("self_care", "routine", "urgent", "emergency").index(level)


def _sym(row: dict[str, Any]) -> dict[str, Any]:
    return {"name": row["name"], "display": row["display"], "code": row["code"], "evidence": row["evidence"]}


def _names(items: list[dict[str, Any]], lang: str) -> str:
    from dialogs.findings import display_name

    sep = "、" if lang == "zh" else ", "
    return sep.join(display_name(i["name"], lang) for i in items)


def render_text(report: dict[str, Any], lang: str) -> str:
    """The readable report a doctor opens (zh or en)."""
    zh = lang == "zh"

    def say(key: str, **values: Any) -> str:
        return REPORT_TEXTS.text(key, lang, **values)

    def line(label_key: str, value: str) -> str:
        return say("line", label=say(label_key), value=value)

    none, unknown = say("none"), say("not_given")
    part_sep = "；" if zh else "; "
    lines = []
    p = report.get("patient") or {}
    who = []
    if p.get("age_years") is not None:
        age = p["age_years"]
        who.append(say("age_years", age=f"{age:g}") if age >= 1 else say("age_months", months=round(age * 12)))
    if p.get("weight_kg") is not None:
        who.append(f"{p['weight_kg']:g}kg")
    if p.get("is_child"):
        who.append(say("child"))
    lines.append(line("label_patient", ", ".join(who) if who else unknown))
    lines.append(line("section_chief_complaint", report.get("chief_complaint") or unknown))
    hpi_parts = []
    for field, value in report.get("hpi", {}).items():
        hpi_parts.append(line(f"hpi_{field}", value))
    sym = report["symptoms"]
    if sym["present"]:
        hpi_parts.append(line("label_symptoms", _names(sym["present"], lang)))
    if sym["denied"]:
        hpi_parts.append(line("label_denied", _names(sym["denied"], lang)))
    if sym["uncertain"]:
        hpi_parts.append(line("label_uncertain", _names(sym["uncertain"], lang)))
    vit = report.get("vitals") or {}
    if vit:
        parts = [say(f"reading_{k}", value=v) for k, v in vit.items() if k in READINGS]
        if "systolic" in vit:
            parts.append(say("reading_blood_pressure", systolic=vit["systolic"], diastolic=vit.get("diastolic")))
        if parts:
            hpi_parts.append(line("label_readings", ", ".join(parts)))
    lines.append(line("section_hpi", part_sep.join(hpi_parts) if hpi_parts else unknown))
    past = [x for x in (report.get("past_history"), report.get("surgeries")) if x]
    lines.append(line("section_past_history", part_sep.join(past) if past else unknown))
    lines.append(line("section_medications", report.get("medications") or unknown))
    lines.append(line("section_allergies", report.get("allergies") or unknown))
    tri = report["triage"]
    reasons = part_sep.join(r["text"] for r in tri.get("reasons", [])[:3]) if tri.get("reasons") else none
    lines.append(line("section_triage", say("with_reason", name=LEVEL_NAMES[tri["level"]][lang], reason=reasons)))
    if report.get("departments"):
        dept = report["departments"][0]
        lines.append(line("section_department", say("with_reason", name=dept["name"], reason=dept["reason"])))
    if report.get("doctors"):
        docs = ("、" if zh else ", ").join(d["name"] for d in report["doctors"][:2])
        lines.append(line("label_doctors", docs))
    if not report.get("complete"):
        lines.append(say("not_finished"))
    return "\n".join(lines)


# ----- FHIR R4 -------------------------------------------------------------------------------------------

LOINC = "http://loinc.org"
# LOINC codes and their displays; a section's title in the report's language is REPORT_TEXTS' section_<key>.
SECTION_CODES = {
    "chief_complaint": ("10154-3", "Chief complaint Narrative - Reported"),
    "hpi": ("10164-2", "History of Present illness Narrative"),
    "past_history": ("11348-0", "History of Past illness Narrative"),
    "medications": ("10160-0", "History of Medication use Narrative"),
    "allergies": ("48765-2", "Allergies and adverse reactions Document"),
    "triage": ("11283-9", "Acuity assessment"),
    "department": ("42349-1", "Reason for referral (narrative)"),
}


def _div(text: str) -> dict[str, str]:
    body = "<br/>".join(html.escape(line) for line in (text or "-").split("\n"))
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def to_fhir(report: dict[str, Any], *, patient_id: int | None, base_url: str = "urn:suifang") -> dict[str, Any]:
    """A FHIR R4 collection Bundle (Composition + QuestionnaireResponse), validated before it is returned."""
    from fhir.resources.R4B.bundle import Bundle

    lang = report.get("language", "zh")
    zh = lang == "zh"
    chat = report.get("chat_id") or 0
    subject = {"reference": f"Patient/{patient_id}"} if patient_id is not None else {"display": "patient"}
    when = report.get("generated_at") or _now()
    author = [{"display": "Suifang pre-consultation assistant (AI)"}]
    qr_items = []
    for q in report.get("questions", []):
        item: dict[str, Any] = {"linkId": q["id"], "text": q["question"]}
        if q.get("answer") not in (None, ""):
            value = q["answer"]
            if isinstance(value, bool):
                item["answer"] = [{"valueBoolean": value}]
            elif isinstance(value, int):
                item["answer"] = [{"valueInteger": value}]
            elif isinstance(value, float):
                item["answer"] = [{"valueDecimal": value}]
            else:
                item["answer"] = [{"valueString": str(value)}]
        qr_items.append(item)
    questionnaire_response = {
        "resourceType": "QuestionnaireResponse",
        "id": f"preconsult-{chat}-qr",
        "questionnaire": "urn:suifang:questionnaire:preconsult",
        "status": "completed" if report.get("complete") else "in-progress",
        "subject": subject,
        "authored": when,
        "author": author[0],
        "item": qr_items or [{"linkId": "chief_complaint", "text": "chief complaint"}],
    }
    text = report.get("text", {}).get(lang) or render_text(report, lang)
    lines = {line.split("：" if zh else ": ", 1)[0]: line for line in text.split("\n")}

    def section(key: str, body: str) -> dict[str, Any]:
        code, display = SECTION_CODES[key]
        return {"title": REPORT_TEXTS.raw(f"section_{key}", lang),
                "code": {"coding": [{"system": LOINC, "code": code, "display": display}]}, "text": _div(body)}

    def line(key: str) -> str:
        return lines.get(REPORT_TEXTS.raw(f"section_{key}", lang), "")

    dept = report["departments"][0] if report.get("departments") else None
    sections = [
        section("chief_complaint", report.get("chief_complaint") or "-"),
        section("hpi", line("hpi")),
        section("past_history", line("past_history")),
        section("medications", report.get("medications") or "-"),
        section("allergies", report.get("allergies") or "-"),
        section("triage", line("triage")),
    ]
    if dept:
        sections.append(section("department", f"{dept['name']} — {dept['reason']}"))
    composition = {
        "resourceType": "Composition",
        "id": f"preconsult-{chat}",
        "status": "final" if report.get("complete") else "preliminary",
        "type": {"coding": [{"system": LOINC, "code": "34117-2", "display": "History and physical note"}],
                 "text": REPORT_TEXTS.raw("title", lang)},
        "subject": subject,
        "date": when,
        "author": author,
        "title": REPORT_TEXTS.raw("title", lang),
        "section": sections,
    }
    bundle = {"resourceType": "Bundle", "id": f"preconsult-{chat}-bundle", "type": "collection", "timestamp": when,
              "entry": [{"fullUrl": f"{base_url}/Composition/preconsult-{chat}", "resource": composition},
                        {"fullUrl": f"{base_url}/QuestionnaireResponse/preconsult-{chat}-qr", "resource": questionnaire_response}]}
    validated = Bundle.model_validate(bundle)  # raises on anything FHIR would reject
    return validated.model_dump(mode="json", exclude_none=True)
