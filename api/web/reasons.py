"""Flag and review-item reasons in the review page's language.

The rules write their reasons in English with the figures in them: a flag's reason is the English text
of its row in the clinical rule table (dialogs/rules/clinical_rules.yaml), a nurse task's comes from
dialogs/runner.py and campaigns. The Chinese page shows each reason in Chinese: a flag reason by its
row's `reason.zh`, matched back from the English wording (the figures carried over), a task reason from
the catalog below. A reason neither knows is shown as a neutral Chinese line, never in English."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any

from api.web.i18n import translator
from dialogs.clinical_rules import TEXT_PLACEHOLDERS, ClinicalRules, Rule, default_rules
from language.lexicon import SYMPTOM_CODES, lexicon

_UNKNOWN_ZH = "需护士核实的情况"
_LEVELS_ZH = {"red": "红色", "yellow": "黄色", "task": "待办"}
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


# Nurse task reasons (English reason, Chinese) — the English side is a full match of one reason.
_TASKS: tuple[_Entry, ...] = tuple((re.compile(p), zh) for p, zh in (
    (r"answer not understood, confirm by phone: (.+)",
     lambda m: "回答未能识别，请电话核实：" + "、".join(translator("zh")(f"f_{f.strip()}") for f in m.group(1).split(","))),
    (r"patient question handed to a nurse", "患者提问需护士回复"),
    (r"call (partial|failed): finish the follow-up by phone", lambda m: "通话中断" if m.group(1) == "partial" else "通话失败"),
    (r"nurse callback requested", "需要护士回电"),
    (r"no answer after (\d+) tries: call the patient", r"\1 次未接通，请致电患者"),
    (r"number not in service \(try (\d+)\): check the patient's phone number", r"空号或已停机（第 \1 次呼叫），请核对患者电话"),
))


def _one(reason: str, rules: ClinicalRules) -> str:
    for pattern, zh in (*_flag_catalog(rules), *_TASKS):
        m = pattern.fullmatch(reason.strip())
        if m:
            return zh(m) if callable(zh) else m.expand(zh)
    return _UNKNOWN_ZH


def reason_text(reason: str | None, language: str, rules: ClinicalRules | None = None) -> str:
    """A flag's reason or a review item's reasons ("red: …; yellow: …") in the page's language.
    `rules`: the clinical rule table the flags came from (default: the packaged one)."""
    rules = rules or default_rules()
    if not reason or language != "zh":
        return reason or ""
    parts = []
    for segment in reason.split("; "):
        level, sep, text = segment.partition(": ")
        if sep and level in _LEVELS_ZH:
            parts.append(f"{_LEVELS_ZH[level]}：{_one(text, rules)}")
        else:
            parts.append(_one(segment, rules))
    return "；".join(parts)
