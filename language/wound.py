"""wound in the patient's words (language/data/wound.yaml)."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

TABLE_PATH = Path(__file__).parent / "data" / "wound.yaml"
_CLAUSE = re.compile(r"[，,。；;！!？?]|\bbut\b|\band\b|但是|不过|就是", re.I)


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    data = yaml.safe_load(TABLE_PATH.read_text(encoding="utf-8"))
    values = {v: [re.compile(p, re.I) for lang in ("zh", "en") for p in (data["values"][v].get(lang) or [])]
              for v in data["order"]}
    return {"order": list(data["order"]), "values": values, "denial": re.compile(data["denial"], re.I),
            "pus": re.compile(data["pus"], re.I), "heavy": re.compile(data["heavy"], re.I),
            "mainly_red": re.compile(data["mainly_red"], re.I),
            "hedged": [re.compile(p, re.I) for lang in ("zh", "en") for p in (data["hedged"].get(lang) or [])]}


_NOW = re.compile(r"现在|目前|这会儿|\bnow\b|\btoday\b", re.I)


def read_wound(text: str) -> tuple[str | None, dict[str, bool]]:
    """(value, cues): the most serious state the words say, or None; cues pus / heavy for the red flag.
    What the wound is like now counts: "前两天有点渗液，现在干了" is ok."""
    now = list(_NOW.finditer(text))
    if now:
        value, cues = _read(text[now[-1].end():])
        if value is not None:
            return value, cues
    return _read(text)


def _read(text: str) -> tuple[str | None, dict[str, bool]]:
    t = _table()
    found: set[str] = set()
    for clause in _CLAUSE.split(text):
        if not clause or not clause.strip():
            continue
        for value, patterns in t["values"].items():
            for pattern in patterns:
                m = pattern.search(clause)
                if m and (value in ("ok", "none") or not t["denial"].search(clause[:m.start()])):
                    found.add(value)
                    break
    # pus said, not denied ("有点肿，不红，也没流脓" is no pus)
    pus = any(not t["denial"].search(clause[:m.start()])
              for clause in _CLAUSE.split(text) if clause for m in t["pus"].finditer(clause))
    if {"redness", "swelling"} <= found and not t["mainly_red"].search(text):
        found.discard("redness")
    for value in t["order"]:
        if value in found:
            cues = {"pus": pus and value in ("discharge", "dehiscence", "redness", "swelling"),
                    "heavy": value == "bleeding" and bool(t["heavy"].search(text))}
            return value, {k: v for k, v in cues.items() if v}
    return None, {}
