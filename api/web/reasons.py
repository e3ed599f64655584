"""Flag and review-item reasons in the review page's language.

The rules write their reasons in English with the figures in them (dialogs/flags.py, the nurse task
reasons of dialogs/runner.py); the Chinese page shows each reason from this catalog: an English
reason pattern and its Chinese wording, the figures carried over. A reason the catalog does not know
is shown as a neutral Chinese line, never in English."""

from __future__ import annotations

import re

from api.web.i18n import translator
from language.lexicon import lexicon

_UNKNOWN_ZH = "需护士核实的情况"
_LEVELS_ZH = {"red": "红色", "yellow": "黄色", "task": "待办"}


def _symptom_zh(words: str) -> str:
    for code, labels in lexicon().labels.items():
        if words in (labels["en"], code.replace("_", " ")):
            return labels["zh"]
    return words


# (English reason, Chinese) — the English side is a full match of one reason.
_CATALOG: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), zh) for p, zh in (
    (r"blood pressure (\S+)/(\S+) mmHg at or above (\d+)/(\d+)", r"血压 \1/\2 mmHg，达到或超过 \3/\4"),
    (r"systolic (\S+) mmHg below (\S+)", r"收缩压 \1 mmHg，低于 \2"),
    (r"glucose (\S+) mmol/L at or above (\S+)", r"血糖 \1 mmol/L，达到或超过 \2"),
    (r"glucose (\S+) mmol/L below (\S+)", r"血糖 \1 mmol/L，低于 \2"),
    (r"temperature (\S+) °C at or above (\S+) within 30 days of surgery", r"体温 \1 °C，达到或超过 \2（术后30天内）"),
    (r"temperature (\S+) °C at or above (\S+)", r"体温 \1 °C，达到或超过 \2"),
    (r"pain (\d+)/10", r"疼痛评分 \1/10"),
    (r"satisfaction (\d+)/5", r"满意度 \1/5"),
    (r"wound opening", "伤口裂开"),
    (r"pus from the wound", "伤口流脓"),
    (r"wound bleeding that does not stop", "伤口出血不止"),
    (r"wound redness", "伤口发红"), (r"wound swelling", "伤口肿胀"), (r"wound discharge", "伤口渗液"),
    (r"wound bleeding", "伤口出血"),
    (r"missed (.+)", r"漏服或停用：\1"),
    (r"not taking the discharge medications", "未按出院医嘱服药"),
    (r"feels worse since discharge", "自觉出院后病情加重"),
    (r"syncope", "晕厥"), (r"new confusion", "新出现的意识模糊"), (r"coughing up blood", "咯血"),
    (r"vomiting blood", "呕血"), (r"black or bloody stools", "黑便或便血"), (r"thoughts of self-harm", "轻生念头"),
    (r"shortness of breath at rest", "静息时呼吸困难"), (r"shortness of breath", "气短"),
    (r"heavy bleeding", "大出血或出血不止"), (r"bleeding", "出血"),
    (r"(chest pain|chest tightness) at rest", lambda m: f"{_symptom_zh(m.group(1))}（静息时）"),
    (r"(chest pain|chest tightness) lasting (\d+) min", lambda m: f"{_symptom_zh(m.group(1))}（持续{m.group(2)}分钟）"),
    (r"(chest pain|chest tightness) not relieved", lambda m: f"{_symptom_zh(m.group(1))}（不缓解）"),
    (r"(chest pain|chest tightness), short and relieved by rest", lambda m: f"{_symptom_zh(m.group(1))}（短暂，休息后缓解）"),
    (r"(chest pain|chest tightness)", lambda m: _symptom_zh(m.group(1))),
    (r"(slurred speech|facial droop|limb weakness or numbness) \(possible stroke\)",
     lambda m: f"{_symptom_zh(_STROKE.get(m.group(1), m.group(1)))}（疑似卒中）"),
    (r"(slurred speech|facial droop|limb weakness or numbness), unchanged since discharge",
     lambda m: f"{_symptom_zh(_STROKE.get(m.group(1), m.group(1)))}（出院后无变化）"),
    (r"(slurred speech|facial droop|limb weakness or numbness), gradual or intermittent",
     lambda m: f"{_symptom_zh(_STROKE.get(m.group(1), m.group(1)))}（逐渐或间歇出现）"),
    (r"new or worse (.+)", lambda m: f"新出现或加重：{_symptom_zh(m.group(1))}"),
    (r"answer not understood, confirm by phone: (.+)",
     lambda m: "回答未能识别，请电话核实：" + "、".join(translator("zh")(f"f_{f.strip()}") for f in m.group(1).split(","))),
    (r"patient question handed to a nurse", "患者提问需护士回复"),
    (r"call (partial|failed): finish the follow-up by phone", lambda m: "通话中断" if m.group(1) == "partial" else "通话失败"),
    (r"nurse callback requested", "需要护士回电"),
    (r"no answer after (\d+) tries: call the patient", r"\1 次未接通，请致电患者"),
    (r"number not in service \(try (\d+)\): check the patient's phone number", r"空号或已停机（第 \1 次呼叫），请核对患者电话"),
))
_STROKE = {"limb weakness or numbness": "limb weakness"}


def _one(reason: str) -> str:
    for pattern, zh in _CATALOG:
        m = pattern.fullmatch(reason.strip())
        if m:
            return zh(m) if callable(zh) else m.expand(zh)
    return _UNKNOWN_ZH


def reason_text(reason: str | None, language: str) -> str:
    """A flag's reason or a review item's reasons ("red: …; yellow: …") in the page's language."""
    if not reason or language != "zh":
        return reason or ""
    parts = []
    for segment in reason.split("; "):
        level, sep, text = segment.partition(": ")
        if sep and level in _LEVELS_ZH:
            parts.append(f"{_LEVELS_ZH[level]}：{_one(text)}")
        else:
            parts.append(_one(segment))
    return "；".join(parts)
