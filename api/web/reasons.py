"""Flag and review-item reasons, and why an action was refused, in the review page's language.

The rules write their reasons in English with the figures in them. A flag's reason is the English text of
its row in the clinical rule table (dialogs/rules/clinical_rules.yaml): the Chinese page shows that row's
`reason.zh`, matched back from the English wording, the figures carried over. A nurse task's reason
(dialogs/runner.py, records/campaigns.py) and a refused action's `detail` are entries of the catalogs
records/data/review_reasons.yaml and review_errors.yaml, read back the same way (records/reasons.py).
A reason neither knows is shown as a neutral Chinese line, never in English."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any

from api.web.i18n import translator
from dialogs.clinical_rules import TEXT_PLACEHOLDERS, ClinicalRules, Rule, default_rules
from language.lexicon import SYMPTOM_CODES, lexicon
from records.reasons import ERRORS, REASONS

_ZH = translator("zh")
_UNKNOWN_ZH = _ZH("reason_unknown")
_LEVEL_KEYS = {"red": "red", "yellow": "yellow", "task": "level_task"}  # the level's word in api/web/strings.yaml
_Entry = tuple[re.Pattern[str], "str | Callable[[re.Match[str]], str]"]


def _symptom_zh(words: str, rules: ClinicalRules) -> str:
    for code in SYMPTOM_CODES:
        labels = lexicon().labels.get(code, {})
        if words in (rules.symptom_words(code), labels.get("en"), code.replace("_", " ")):
            return labels.get("zh", words)
    return words


def _flag_entry(rule: Rule, rules: ClinicalRules) -> _Entry:
    """The English reason of a flag rule as a pattern, and its Chinese wording from the captured figures."""
    parts, seen = [], set()
    for literal, name, _, _ in string.Formatter().parse(rule.en):
        parts.append(re.escape(literal))
        if name is None:
            continue
        if name in seen:
            parts.append(f"(?P={name})")
            continue
        seen.add(name)
        if name == "symptom":
            words = sorted({rules.symptom_words(c) for c in rule.symptoms or SYMPTOM_CODES}, key=len, reverse=True)
            parts.append(f"(?P<symptom>{'|'.join(map(re.escape, words))})")
        else:
            parts.append(f"(?P<{name}>.+)" if name in TEXT_PLACEHOLDERS else rf"(?P<{name}>\S+)")

    def zh(m: re.Match[str]) -> str:
        values: dict[str, Any] = dict(m.groupdict())
        if "symptom" in values:
            values["symptom_zh"] = _symptom_zh(values["symptom"], rules)
        return rule.zh.format_map(values)

    return re.compile("".join(parts)), zh


_FLAG_CATALOGS: dict[str, tuple[_Entry, ...]] = {}


def _flag_catalog(rules: ClinicalRules) -> tuple[_Entry, ...]:
    if rules.sha256 not in _FLAG_CATALOGS:
        _FLAG_CATALOGS[rules.sha256] = tuple(_flag_entry(rule, rules) for group in ("followup_symptom", "followup")
                                             for rule in rules.group(group))
    return _FLAG_CATALOGS[rules.sha256]


def _fields_zh(fields: str) -> str:
    return "、".join(_ZH(f"f_{f.strip()}") for f in fields.split(","))


def _task_zh(reason: str) -> str | None:
    found = REASONS.read(reason)
    if found is None:
        return None
    key, values = found
    if "fields" in values:
        values["fields"] = _fields_zh(values["fields"])
    return REASONS.catalog.text(key, "zh", **values)


def _one(reason: str, rules: ClinicalRules) -> str:
    for pattern, zh in _flag_catalog(rules):
        m = pattern.fullmatch(reason.strip())
        if m:
            return zh(m) if callable(zh) else m.expand(zh)
    return _task_zh(reason.strip()) or _UNKNOWN_ZH


def reason_text(reason: str | None, language: str, rules: ClinicalRules | None = None) -> str:
    """A flag's reason or a review item's reasons ("red: …; yellow: …") in the page's language.
    `rules`: the clinical rule table the flags came from (default: the packaged one)."""
    if not reason or language != "zh":
        return reason or ""
    rules = rules or default_rules()
    parts = []
    for segment in reason.split("; "):
        level, sep, text = segment.partition(": ")
        if sep and level in _LEVEL_KEYS:
            parts.append(f"{_ZH(_LEVEL_KEYS[level])}：{_one(text, rules)}")
        else:
            parts.append(_one(segment, rules))
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
