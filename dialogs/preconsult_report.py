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

LEVEL_NAMES = {"emergency": {"zh": "急诊", "en": "Emergency"}, "urgent": {"zh": "尽快就诊（当天）", "en": "Urgent (today)"},
               "routine": {"zh": "常规门诊", "en": "Routine"}, "self_care": {"zh": "居家自我护理", "en": "Self-care"}}
HPI_FIELDS = ("onset", "duration", "site", "character", "severity", "modifiers", "max_temperature", "associated")
HPI_LABELS = {
    "onset": ("起病", "Onset"), "duration": ("持续", "Duration"), "site": ("部位", "Site"), "character": ("性质", "Character"),
    "severity": ("程度(0-10)", "Severity (0-10)"), "modifiers": ("加重/缓解因素", "Better/worse"),
    "max_temperature": ("最高体温", "Highest temperature"), "associated": ("其他症状", "Other symptoms"),
}


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
    none = "无" if zh else "none"
    unknown = "未提供" if zh else "not given"
    lines = []
    p = report.get("patient") or {}
    who = []
    if p.get("age_years") is not None:
        age = p["age_years"]
        who.append((f"{age:g}岁" if age >= 1 else f"{round(age * 12)}个月") if zh else (f"{age:g} years" if age >= 1 else f"{round(age * 12)} months"))
    if p.get("weight_kg") is not None:
        who.append(f"{p['weight_kg']:g}kg")
    if p.get("is_child"):
        who.append("儿童" if zh else "child")
    lines.append(("患者：" if zh else "Patient: ") + (", ".join(who) if who else unknown))
    lines.append(("主诉：" if zh else "Chief complaint: ") + (report.get("chief_complaint") or unknown))
    hpi_parts = []
    for field, value in report.get("hpi", {}).items():
        label = HPI_LABELS[field][0 if zh else 1]
        hpi_parts.append(f"{label}：{value}" if zh else f"{label}: {value}")
    sym = report["symptoms"]
    if sym["present"]:
        hpi_parts.append(("症状：" if zh else "Symptoms: ") + _names(sym["present"], lang))
    if sym["denied"]:
        hpi_parts.append(("否认：" if zh else "Denies: ") + _names(sym["denied"], lang))
    if sym["uncertain"]:
        hpi_parts.append(("不确定：" if zh else "Uncertain: ") + _names(sym["uncertain"], lang))
    vit = report.get("vitals") or {}
    if vit:
        labels = {"temperature_c": ("体温", "temperature", "℃"), "spo2": ("血氧", "SpO2", "%"), "heart_rate": ("心率", "heart rate", "/min"),
                  "resp_rate": ("呼吸", "breathing rate", "/min"), "pain_score": ("疼痛评分", "pain score", "/10"),
                  "severity": ("严重程度", "severity", "/10")}
        parts = [f"{labels[k][0 if zh else 1]} {v}{labels[k][2]}" for k, v in vit.items() if k in labels]
        if "systolic" in vit:
            parts.append(f"{'血压' if zh else 'BP'} {vit['systolic']}/{vit.get('diastolic')}mmHg")
        if parts:
            hpi_parts.append(("自述读数：" if zh else "Reported readings: ") + ", ".join(parts))
    lines.append(("现病史：" if zh else "History of present illness: ") + (("；" if zh else "; ").join(hpi_parts) if hpi_parts else unknown))
    past = [x for x in (report.get("past_history"), report.get("surgeries")) if x]
    lines.append(("既往史：" if zh else "Past history: ") + (("；" if zh else "; ").join(past) if past else unknown))
    lines.append(("用药：" if zh else "Medications: ") + (report.get("medications") or unknown))
    lines.append(("过敏史：" if zh else "Allergies: ") + (report.get("allergies") or unknown))
    tri = report["triage"]
    reasons = ("；" if zh else "; ").join(r["text"] for r in tri.get("reasons", [])[:3]) if tri.get("reasons") else none
    name = LEVEL_NAMES[tri["level"]]["zh" if zh else "en"]
    lines.append(("分诊：" if zh else "Triage: ") + f"{name}（{reasons}）" if zh else ("Triage: " + f"{name} ({reasons})"))
    if report.get("departments"):
        dept = report["departments"][0]
        lines.append(("建议科室：" if zh else "Suggested department: ") + f"{dept['name']}（{dept['reason']}）" if zh
                     else "Suggested department: " + f"{dept['name']} ({dept['reason']})")
    if report.get("doctors"):
        docs = ("、" if zh else ", ").join(d["name"] for d in report["doctors"][:2])
        lines.append(("推荐医生：" if zh else "Suggested doctors: ") + docs)
    if not report.get("complete"):
        lines.append("（问诊未完成）" if zh else "(pre-consultation not finished)")
    return "\n".join(lines)


# ----- FHIR R4 -------------------------------------------------------------------------------------------

LOINC = "http://loinc.org"
SECTION_CODES = {
    "chief_complaint": ("10154-3", "Chief complaint Narrative - Reported", "主诉", "Chief complaint"),
    "hpi": ("10164-2", "History of Present illness Narrative", "现病史", "History of present illness"),
    "past_history": ("11348-0", "History of Past illness Narrative", "既往史", "Past history"),
    "medications": ("10160-0", "History of Medication use Narrative", "用药", "Medications"),
    "allergies": ("48765-2", "Allergies and adverse reactions Document", "过敏史", "Allergies"),
    "triage": ("11283-9", "Acuity assessment", "分诊", "Triage"),
    "department": ("42349-1", "Reason for referral (narrative)", "建议科室", "Suggested department"),
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
        code, display, title_zh, title_en = SECTION_CODES[key]
        return {"title": title_zh if zh else title_en, "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
                "text": _div(body)}

    def line(label_zh: str, label_en: str) -> str:
        return lines.get(label_zh if zh else label_en, "")

    dept = report["departments"][0] if report.get("departments") else None
    sections = [
        section("chief_complaint", report.get("chief_complaint") or "-"),
        section("hpi", line("现病史", "History of present illness")),
        section("past_history", line("既往史", "Past history")),
        section("medications", report.get("medications") or "-"),
        section("allergies", report.get("allergies") or "-"),
        section("triage", line("分诊", "Triage")),
    ]
    if dept:
        sections.append(section("department", f"{dept['name']} — {dept['reason']}"))
    composition = {
        "resourceType": "Composition",
        "id": f"preconsult-{chat}",
        "status": "final" if report.get("complete") else "preliminary",
        "type": {"coding": [{"system": LOINC, "code": "34117-2", "display": "History and physical note"}],
                 "text": "预问诊报告" if zh else "Pre-consultation report"},
        "subject": subject,
        "date": when,
        "author": author,
        "title": "预问诊报告" if zh else "Pre-consultation report",
        "section": sections,
    }
    bundle = {"resourceType": "Bundle", "id": f"preconsult-{chat}-bundle", "type": "collection", "timestamp": when,
              "entry": [{"fullUrl": f"{base_url}/Composition/preconsult-{chat}", "resource": composition},
                        {"fullUrl": f"{base_url}/QuestionnaireResponse/preconsult-{chat}-qr", "resource": questionnaire_response}]}
    validated = Bundle.model_validate(bundle)  # raises on anything FHIR would reject
    return validated.model_dump(mode="json", exclude_none=True)
