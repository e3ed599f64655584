"""overall_condition in the patient's words (language/data/condition.yaml): better, same or worse."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

TABLE_PATH = Path(__file__).parent / "data" / "condition.yaml"


@functools.lru_cache(maxsize=1)
def _condition_table() -> dict[str, Any]:
    data = yaml.safe_load(TABLE_PATH.read_text(encoding="utf-8"))

    def compile_all(key: str) -> list[re.Pattern[str]]:
        return [re.compile(p, re.I) for lang in ("zh", "en") for p in (data[key].get(lang) or [])]

    return {"values": {v: compile_all(v) for v in ("better", "same", "worse")}, "pseudo": compile_all("pseudo"),
            "pseudo_value": [(re.compile(p, re.I), v) for p, v in data["pseudo_value"].items()],
            "concession": re.compile(data["concession"], re.I), "hedged": compile_all("hedged"),
            "negated_better": re.compile(data["negated_better"], re.I), "earlier": re.compile(data["earlier"], re.I)}


def read_condition(text: str) -> str | None:
    """better / same / worse (language/data/condition.yaml): the latest assessment said wins."""
    t = _condition_table()
    hits: list[tuple[int, int, str]] = []   # (start, end, value)
    for pattern, value in t["pseudo_value"]:
        hits += [(m.start(), m.end(), value) for m in pattern.finditer(text)]
    masked = text
    for pattern in [p for p, _ in t["pseudo_value"]] + t["pseudo"]:   # their words give no other value
        masked = pattern.sub(lambda m: "\x00" * len(m.group(0)), masked)
    offset = 0
    for clause in re.split(r"([，,。；;！!？?…]+|\.\s|\bbut\b)", masked):
        conceding = bool(t["concession"].search(clause))
        if t["earlier"].search(clause):   # "本来挺好的，今天又犯了": how it was before, not now
            offset += len(clause)
            continue
        for value, patterns in t["values"].items():
            for pattern in patterns:
                for m in pattern.finditer(clause):
                    if value == "better" and t["negated_better"].search(clause[:m.start()]):
                        continue   # "越来越不好了": the 好了 in it is denied
                    if not conceding or not hits:
                        hits.append((offset + m.start(), offset + m.end(), value))
        offset += len(clause)
    # A word of one value inside a longer one of another is part of it: "not so good" is no "good",
    # "跟没得病一样" no "一样".
    hits = [h for h in hits if not any(o[0] <= h[0] and h[1] <= o[1] and o[1] - o[0] > h[1] - h[0] and o[2] != h[2]
                                       for o in hits)]
    if not hits:
        return None
    hits.sort()
    hedges = [m.end() for p in t["hedged"] for m in p.finditer(text)]
    if hedges and max(hedges) >= hits[-1][0]:
        return None   # "说不好", "hard to say… some days good": not an answer to store
    # "说不好……这几天又把自己关屋里了，我看比出院的时候差": an assessment said after the hedge settles it
    # Several words of one assessment ("好多了好多了", "还行，比之前好点"): the last one said is the answer.
    return hits[-1][2]
