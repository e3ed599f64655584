"""Flag and review-item reasons, and why an action was refused, in the review page's language.

The rules write their reasons in English with the figures in them (dialogs/flags.py, the nurse task
reasons of dialogs/runner.py and records/campaigns.py); the Chinese page shows each reason in the
wording of the catalog records/data/review_reasons.yaml, the figures carried over (records/reasons.py
reads a stored reason back). A reason the catalog does not know is shown as a neutral Chinese line,
never in English. Refusals (the API's English `detail`, records/data/review_errors.yaml) are read back
the same way (notice_text)."""

from __future__ import annotations

from collections.abc import Callable

from api.web.i18n import translator
from language.lexicon import lexicon
from records.reasons import ERRORS, REASONS

_ZH = translator("zh")
_UNKNOWN_ZH = _ZH("reason_unknown")
_LEVEL_KEYS = {"red": "red", "yellow": "yellow", "task": "level_task"}  # the level's word in api/web/strings.yaml
_STROKE = {"limb weakness or numbness": "limb weakness"}


def _symptom_zh(words: str) -> str:
    for code, labels in lexicon().labels.items():
        if words in (labels["en"], code.replace("_", " ")):
            return labels["zh"]
    return words


def _fields_zh(fields: str) -> str:
    return "、".join(_ZH(f"f_{f.strip()}") for f in fields.split(","))


# How a placeholder's value is shown on the Chinese page (the others are figures and names, kept as they are).
_SHOWN_ZH: dict[str, Callable[[str], str]] = {
    "chest": _symptom_zh,
    "stroke_sign": lambda words: _symptom_zh(_STROKE.get(words, words)),
    "symptom": _symptom_zh,
    "fields": _fields_zh,
}


def _one(reason: str) -> str:
    found = REASONS.read(reason)
    if found is None:
        return _UNKNOWN_ZH
    key, values = found
    return REASONS.catalog.text(key, "zh", **{name: _SHOWN_ZH.get(name, str)(value) for name, value in values.items()})


def reason_text(reason: str | None, language: str) -> str:
    """A flag's reason or a review item's reasons ("red: …; yellow: …") in the page's language."""
    if not reason or language != "zh":
        return reason or ""
    parts = []
    for segment in reason.split("; "):
        level, sep, text = segment.partition(": ")
        if sep and level in _LEVEL_KEYS:
            parts.append(f"{_ZH(_LEVEL_KEYS[level])}：{_one(text)}")
        else:
            parts.append(_one(segment))
    return "；".join(parts)


# Form fields of the review actions, by their key in api/web/strings.yaml (outcome fields: f_<field>).
_ACTION_FIELDS = {"note": "note", "reached": "reached", "result": "result", "doctor": "doctor", "date": "repeat_date"}


def _field_zh(field: str) -> str:
    code = field.strip("'\"")
    key = _ACTION_FIELDS.get(code, f"f_{code}")
    shown = _ZH(key)
    return code if shown == key else shown


def notice_text(message: str, language: str) -> str:
    """Why an action or correction was refused, in the page's language (unknown ones: a neutral line)."""
    if language != "zh" or not message:
        return message
    found = ERRORS.read(message)
    if found is None:
        return _ZH("notice_unknown")
    key, values = found
    if "field" in values:
        values["field"] = _field_zh(values["field"])
    if values.get("listed") == ERRORS.catalog.raw("no_medications_ordered", "en"):
        values["listed"] = ERRORS.catalog.raw("no_medications_ordered", "zh")
    return ERRORS.catalog.text(key, "zh", **values)
