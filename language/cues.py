"""Cues of a sentence (language/data/cues.yaml): at rest, on exertion, relieved, persistent, severe,
sudden, heavy, chronic; how long it lasted (minutes) and a temperature said in passing."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

from language.numbers import to_digits

CUES_PATH = Path(__file__).parent / "data" / "cues.yaml"


class CueError(ValueError):
    pass


def _compile(where: str, pattern: Any) -> re.Pattern[str]:
    try:
        return re.compile(str(pattern), re.IGNORECASE)
    except re.error as exc:
        raise CueError(f"{CUES_PATH.name}: {where}: {exc}") from None


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    data = yaml.safe_load(CUES_PATH.read_text(encoding="utf-8"))
    cues = {name: [_compile(f"{name}.{lang}", p) for lang in ("zh", "en") for p in (by_lang.get(lang) or [])]
            for name, by_lang in data["cues"].items()}
    durations = data["durations"]
    return {
        "cues": cues,
        "minutes": [(_compile("minutes", p), 1.0) for p in durations["minutes"]]
        + [(_compile("hours", p), 60.0) for p in durations["hours"]],
        "half_hour": [_compile("half_hour", p) for p in durations["half_hour"]],
        "an_hour": [_compile("an_hour", p) for p in durations["an_hour"]],
        "quarter_hour": [_compile("quarter_hour", p) for p in durations.get("quarter_hour") or []],
        "over_quarter_hour": [_compile("over_quarter_hour", p) for p in durations.get("over_quarter_hour") or []],
        "temperature": _compile("temperature", data["temperature"]),
        "glucose": _compile("glucose", data["glucose"]),
        "glucose_low": _compile("glucose_low_unlabelled", data["glucose_low_unlabelled"]),
        "hypo_context": _compile("hypo_context", data["hypo_context"]),
        "some_minutes": _compile("some_minutes", data["some_minutes"]),
        "negated": _compile("negated_cue", data["negated_cue"]),
        "pus": _compile("pus", data["pus"]),
        "chronic_contrast": _compile("chronic_contrast", data["chronic_contrast"]),
        "denied_after": {name: _compile(f"denied_after.{name}", p) for name, p in (data.get("denied_after") or {}).items()},
        "denied_before": {name: _compile(f"denied_before.{name}", p) for name, p in (data.get("denied_before") or {}).items()},
    }


def cue_names() -> frozenset[str]:
    """Every cue sentence_cues can give (what the flag rules may ask for)."""
    return frozenset(_table()["cues"]) | {"duration_min", "temperature", "glucose", "pus"}


def chronic_contrast() -> re.Pattern[str]:
    """A contrast after which a complaint is told apart from the unchanged one before it."""
    return _table()["chronic_contrast"]


def sentence_cues(sentence: str) -> dict[str, Any]:
    t = _table()
    negated = t["negated"]

    def said(name: str, pattern: re.Pattern[str]) -> bool:
        denied_after, denied_before = t["denied_after"].get(name), t["denied_before"].get(name)
        return any(not negated.search(sentence[max(0, m.start() - 6):m.start()])
                   and not (denied_after is not None and denied_after.search(sentence[m.end():]))
                   and not (denied_before is not None and denied_before.search(sentence[max(0, m.start() - 12):m.start()]))
                   for m in pattern.finditer(sentence))

    cues: dict[str, Any] = {name: True for name, patterns in t["cues"].items() if any(said(name, p) for p in patterns)}
    digits = to_digits(sentence)
    minutes = [float(m) * factor for pattern, factor in t["minutes"] for m in pattern.findall(digits)]
    minutes += [float(m) + 5 for m in t["some_minutes"].findall(digits)]
    if any(p.search(sentence) for p in t["half_hour"]):
        minutes.append(30.0)
    if any(p.search(sentence) for p in t["an_hour"]):
        minutes.append(60.0)
    if any(p.search(sentence) for p in t["quarter_hour"]):
        minutes.append(15.0)
    if any(p.search(sentence) for p in t["over_quarter_hour"]):
        minutes.append(20.0)
    if minutes:
        cues["duration_min"] = max(minutes)
    temps = [float(x) for x in t["temperature"].findall(digits) if 35 <= float(x) <= 43]
    if temps:
        cues["temperature"] = max(temps)
    # mmol/L, or mg/dL (÷ 18) when the number can only be that
    glucose = [v if v <= 40 else round(v / 18, 1) for v in (float(x) for x in t["glucose"].findall(digits)) if 1 <= v <= 700]
    if not glucose and t["hypo_context"].search(sentence):
        lows = [float(x) for x in t["glucose_low"].findall(digits)]
        glucose = [v if v <= 40 else round(v / 18, 1) for v in lows if 1 <= v <= 4.4 or 20 <= v < 80]
    if glucose:
        cues["glucose"] = glucose[-1]
    if t["pus"].search(sentence):
        cues["pus"] = True
    return cues
