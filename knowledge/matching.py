"""Pre-consultation matching (医患匹配): the patient's symptoms and history → ranked departments and
doctors, each with the reason ("胸痛、PCI术后 → 心血管内科").

The tag library is data (knowledge/data/departments.yaml), validated at load. Scoring is additive and
explainable: a present symptom tag counts 2 (3 for the chief complaint), a named diagnosis or
history keyword counts 3, a department's own weight is added once when anything matched. An
emergency triage puts the emergency department first."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dialogs.triage import ClinicalPicture
from language.catalog import catalog

MESSAGES = catalog("knowledge/data/messages.yaml")  # why a department is suggested
DEPARTMENTS_PATH = Path(__file__).resolve().parent / "data" / "departments.yaml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DEPT_KEYS = frozenset({"id", "zh", "en", "symptoms", "diseases", "keywords", "weight", "age_max", "age_min", "only_for_emergency"})
_DOCTOR_KEYS = frozenset({"id", "zh", "en", "department", "tags", "clinic_days"})


_PROCEDURE = re.compile(r"PCI|支架|搭桥|介入|起搏器|stent|bypass|angioplasty|pacemaker|cabg", re.I)


class TagLibraryError(ValueError):
    pass


@dataclass(frozen=True)
class Department:
    id: str
    zh: str
    en: str
    symptoms: frozenset[str]
    diseases: frozenset[str]
    keywords: tuple[re.Pattern[str], ...]
    weight: float = 0.0
    age_max: float | None = None
    age_min: float | None = None
    only_for_emergency: bool = False

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Doctor:
    id: str
    zh: str
    en: str
    department: str
    tags: frozenset[str]
    clinic_days: tuple[str, ...]

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class TagLibrary:
    departments: dict[str, Department]
    doctors: tuple[Doctor, ...]


@dataclass
class Match:
    id: str
    name: str
    score: float
    tags: list[str] = field(default_factory=list)
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "score": round(self.score, 2), "tags": self.tags, "reason": self.reason,
                **self.extra}


def load_tag_library(path: Path = DEPARTMENTS_PATH) -> TagLibrary:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("departments"), list):
        raise TagLibraryError(f"{path.name}: expected 'departments' and 'doctors' lists")
    departments: dict[str, Department] = {}
    for i, item in enumerate(raw["departments"]):
        where = f"{path.name}:departments[{i}]"
        if not isinstance(item, dict) or set(item) - _DEPT_KEYS or not {"id", "zh", "en"} <= set(item):
            raise TagLibraryError(f"{where}: needs id, zh, en; allowed keys {sorted(_DEPT_KEYS)}")
        try:
            keywords = tuple(re.compile(k, re.I | re.ASCII) for k in item.get("keywords") or ())
        except re.error as exc:
            raise TagLibraryError(f"{where}: bad keyword pattern: {exc}") from None
        departments[item["id"]] = Department(
            id=item["id"], zh=item["zh"], en=item["en"], symptoms=frozenset(item.get("symptoms") or ()),
            diseases=frozenset(item.get("diseases") or ()), keywords=keywords, weight=float(item.get("weight", 0)),
            age_max=item.get("age_max"), age_min=item.get("age_min"), only_for_emergency=bool(item.get("only_for_emergency")))
    doctors = []
    for i, item in enumerate(raw.get("doctors") or ()):
        where = f"{path.name}:doctors[{i}]"
        if not isinstance(item, dict) or set(item) - _DOCTOR_KEYS or not {"id", "zh", "en", "department"} <= set(item):
            raise TagLibraryError(f"{where}: needs id, zh, en, department; allowed keys {sorted(_DOCTOR_KEYS)}")
        if item["department"] not in departments:
            raise TagLibraryError(f"{where}: unknown department {item['department']!r}")
        days = tuple(item.get("clinic_days") or ())
        if set(days) - set(WEEKDAYS):
            raise TagLibraryError(f"{where}: clinic_days must be among {WEEKDAYS}")
        doctors.append(Doctor(id=item["id"], zh=item["zh"], en=item["en"], department=item["department"],
                              tags=frozenset(item.get("tags") or ()), clinic_days=days))
    return TagLibrary(departments=departments, doctors=tuple(doctors))


@functools.lru_cache(maxsize=1)
def default_library() -> TagLibrary:
    return load_tag_library()


def _label(tag: str, picture: ClinicalPicture, lang: str) -> str:
    from dialogs.findings import display_name

    for s in picture.symptoms.values():
        if s.name == tag or s.code == tag:
            return display_name(s.name, lang)
    return tag


def match_departments(picture: ClinicalPicture, *, chief_complaint: str = "", history: str = "", lang: str = "zh",
                      triage_level: str | None = None, library: TagLibrary | None = None, limit: int = 3) -> list[Match]:
    """Ranked departments with the tags that led there."""
    library = library or default_library()
    present = picture.present()
    chief_names = {s.name for s in present if s.evidence and s.evidence in chief_complaint}
    named = {s.name: bool(s.cues.get("past")) for s in picture.symptoms.values() if s.kind == "disease" and s.status != "absent"}
    current_words = " ".join([picture.text, chief_complaint])
    age = picture.age
    child = picture.is_child()
    results: list[Match] = []
    for dept in library.departments.values():
        if dept.only_for_emergency:
            continue
        if dept.age_max is not None and not child:
            continue
        if dept.age_min is not None and age is not None and age < dept.age_min:
            continue
        score, tags = 0.0, []
        for s in present:
            if s.name in dept.symptoms or s.code in dept.symptoms:
                score += 3.0 if s.name in chief_names else 2.0
                tags.append(("symptom", s.name))
        for name, past in named.items():
            if name in dept.diseases:
                score += 1.5 if past else 3.0
                tags.append(("disease", name))
        for pattern in dept.keywords:
            m = pattern.search(current_words)
            weight = 3.0
            if not m:
                m, weight = pattern.search(history), 1.5
            if m:
                score += weight
                word = m.group(0)
                if re.fullmatch(r"[\w\s-]+", word) and re.search(r"[a-z]", word, re.I):
                    full = re.search(r"\b\w*" + re.escape(word.strip()) + r"\w*", m.string[max(0, m.start() - 20):m.end() + 20], re.I | re.ASCII)
                    word = full.group(0) if full else word
                tags.append(("keyword", word.strip()))
        if not tags:
            continue
        score += dept.weight
        labels = []
        for kind, tag in tags:
            label = _label(tag, picture, lang) if kind in ("symptom", "disease") else tag
            if kind == "keyword" and _PROCEDURE.search(tag) and (
                    re.search(re.escape(tag) + r"\s*(?:术)?后|after (?:a |my |the |his |her )?" + re.escape(tag), current_words, re.I)
                    or re.search(re.escape(tag), history, re.I)):
                label = MESSAGES.text("match_after_procedure", _lang(lang), procedure=tag)
            if not any(label.lower() in other.lower() or other.lower() in label.lower() for other in labels):
                labels.append(label)
        sep = "、" if lang == "zh" else ", "
        results.append(Match(id=dept.id, name=dept.name(lang), score=score, tags=labels,
                             reason=f"{sep.join(labels[:4])} → {dept.name(lang)}"))
    results.sort(key=lambda m: (-m.score, m.id))
    if not results:
        fallback = library.departments.get("pediatrics" if child else "general_medicine")
        if fallback:
            why = MESSAGES.raw("match_no_specialty", _lang(lang))
            results.append(Match(id=fallback.id, name=fallback.name(lang), score=0.0, tags=[],
                                 reason=f"{why} → {fallback.name(lang)}"))
    if triage_level == "emergency" and "emergency" in library.departments:
        er = library.departments["emergency"]
        why = MESSAGES.raw("match_emergency", _lang(lang))
        results.insert(0, Match(id=er.id, name=er.name(lang), score=100.0, tags=[why], reason=f"{why} → {er.name(lang)}"))
    return results[:limit]


def _lang(lang: str) -> str:
    return "zh" if lang == "zh" else "en"


def _next_clinic(days: tuple[str, ...], today: dt.date) -> str | None:
    for offset in range(0, 7):
        day = today + dt.timedelta(days=offset)
        if WEEKDAYS[day.weekday()] in days:
            return day.isoformat()
    return None


def match_doctors(picture: ClinicalPicture, departments: list[Match], *, chief_complaint: str = "", history: str = "",
                  lang: str = "zh", library: TagLibrary | None = None, today: dt.date | None = None,
                  limit: int = 3) -> list[Match]:
    """Doctors of the ranked departments, by overlap of specialty tags, with their next clinic day."""
    library = library or default_library()
    today = today or dt.date.today()
    dept_rank = {d.id: (i, d) for i, d in enumerate(departments)}
    present = {s.name for s in picture.present()} | {s.code for s in picture.present() if s.code}
    named = {s.name for s in picture.symptoms.values() if s.kind == "disease" and s.status != "absent"}
    words = " ".join([picture.text, chief_complaint, history]).lower()
    out = []
    for doc in library.doctors:
        if doc.department not in dept_rank:
            continue
        rank, dept_match = dept_rank[doc.department]
        hits = [t for t in doc.tags if t in present or t in named or (len(t) >= 2 and t.lower() in words)]
        score = dept_match.score + 1.5 * len(hits) - 0.1 * rank
        labels = [_label(t, picture, lang) for t in hits]
        sep = "、" if lang == "zh" else ", "
        why = sep.join(labels[:3]) if labels else dept_match.name
        out.append(Match(id=doc.id, name=doc.name(lang), score=score, tags=labels,
                         reason=f"{why} → {doc.name(lang)}",
                         extra={"department": dept_match.name, "department_id": doc.department,
                                "clinic_days": list(doc.clinic_days), "next_clinic": _next_clinic(doc.clinic_days, today)}))
    out.sort(key=lambda m: (-m.score, m.id))
    return out[:limit]
