"""Who answered (language/data/pickup.yaml): the recognised words of a call's first seconds → a carrier
announcement (powered off, unreachable, empty number, suspended, busy, no answer), an answering
machine's greeting, or a person. By content, not by length: a person who talks at length is a person.

`classify_pickup(text)` gives a `Pickup`: its `kind`, and for anything but a person the outcome's
call_status and the campaign try's outcome to end the call with. Empty text is `unknown`: the
caller (api/phone.py) then falls back to the length of the speech."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PICKUP_PATH = Path(__file__).parent / "data" / "pickup.yaml"
PERSON, UNKNOWN = "person", "unknown"
_WORDS = re.compile(r"[\w\u4e00-\u9fff]")


class PickupTableError(ValueError):
    pass


@dataclass(frozen=True)
class Pickup:
    kind: str                       # person | unknown | voicemail | powered_off | unreachable | not_found | suspended | busy | no_answer
    call_status: str | None = None  # the outcome's call_status to end with; None: go on with the call
    try_outcome: str | None = None  # the campaign try's outcome (no_answer, busy, voicemail, not_found)
    evidence: str = ""              # the words that decided

    @property
    def ends_call(self) -> bool:
        return self.call_status is not None


@dataclass(frozen=True)
class _Rule:
    kind: str
    weak: bool
    zh: tuple[re.Pattern[str], ...]
    en: tuple[re.Pattern[str], ...]


def _compile(where: str, pattern: Any) -> re.Pattern[str]:
    try:
        return re.compile(str(pattern), re.IGNORECASE)
    except re.error as exc:
        raise PickupTableError(f"{PICKUP_PATH.name}: {where}: {exc}") from None


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    data = yaml.safe_load(PICKUP_PATH.read_text(encoding="utf-8"))
    outcomes = {kind: (str(v["call_status"]), str(v["try_outcome"])) for kind, v in data["outcomes"].items()}
    rules = []
    for n, row in enumerate(data["rules"]):
        if row["kind"] not in outcomes:
            raise PickupTableError(f"{PICKUP_PATH.name}: rule {n} has kind {row['kind']!r} with no outcome")
        rules.append(_Rule(kind=row["kind"], weak=bool(row.get("weak")),
                           zh=tuple(_compile(f"rule {n} zh", p) for p in row.get("zh") or ()),
                           en=tuple(_compile(f"rule {n} en", p) for p in row.get("en") or ())))
    cues = data.get("person_cues") or {}
    person = {lang: tuple(_compile(f"person_cues {lang}", p) for p in cues.get(lang) or ()) for lang in ("zh", "en")}
    return {"outcomes": outcomes, "rules": tuple(rules), "person": person}


def outcomes() -> dict[str, tuple[str, str]]:
    """kind → (call_status, try_outcome), as the table gives them."""
    return dict(_table()["outcomes"])


def _views(text: str) -> dict[str, str]:
    spaced = " ".join(text.split())
    return {"zh": re.sub(r"\s+", "", spaced), "en": spaced.lower()}


def _search(patterns: dict[str, tuple[re.Pattern[str], ...]], views: dict[str, str]) -> str | None:
    for lang in ("zh", "en"):
        for pattern in patterns[lang]:
            found = pattern.search(views[lang])
            if found:
                return found.group(0)
    return None


def classify_pickup(text: str) -> Pickup:
    """The first turn's recognised words → who (or what) answered."""
    if not _WORDS.search(text or ""):
        return Pickup(UNKNOWN)
    t = _table()
    views = _views(text)
    person_cue: str | None | bool = False  # looked up once, only if a weak rule matches
    for rule in t["rules"]:
        matched = _search({"zh": rule.zh, "en": rule.en}, views)
        if not matched:
            continue
        if rule.weak:
            if person_cue is False:
                person_cue = _search(t["person"], views)
            if person_cue:
                continue
        call_status, try_outcome = t["outcomes"][rule.kind]
        return Pickup(rule.kind, call_status=call_status, try_outcome=try_outcome, evidence=matched)
    return Pickup(PERSON)
