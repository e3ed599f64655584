"""Symptoms in a patient's words: lexicon mentions (language.lexicon) with their status from the
context rules (language.context), cues from language.cues, and — when a semantic matcher is given —
symptoms said in other words (language.semantic)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from language.context import assess, clause_status
from language.cues import sentence_cues
from language.lexicon import GENERIC_OVER


@dataclass(frozen=True)
class Parse:
    value: Any
    cues: dict[str, Any] = field(default_factory=dict)


NOTHING = Parse(None)


def parse_symptoms(text: str, lang: str, *, respondent: str | None = None, semantic: Any = None) -> Parse:
    """{present: [codes], absent: [codes], cues: {code: {...}}}; value None when no symptom words.

    Each mention's status comes from the context rules (language.context): denied, resolved and
    before-discharge mentions are absent; hypothetical ones and someone else's are neither."""
    if not text:
        return NOTHING
    present: list[str] = []
    absent: list[str] = []
    cues: dict[str, dict[str, Any]] = {}
    cues_of: dict[str, dict[str, Any]] = {}
    mentions = assess(text, lang, respondent=respondent)
    for mention in mentions:
        if mention.present:
            present.append(mention.code)
            if mention.sentence not in cues_of:
                cues_of[mention.sentence] = sentence_cues(mention.sentence)
            cues.setdefault(mention.code, {}).update(cues_of[mention.sentence])
        elif mention.denied:
            absent.append(mention.code)
    if semantic is not None:
        # What the lexicon missed, matched by meaning (language.semantic); the clause's own context decides.
        for code, start, end, _score in semantic.symptom_clauses(text, lang, skip=[(m.start, m.end) for m in mentions]):
            clause = text[start:end]
            status, _ = clause_status(clause, lang, respondent=respondent)
            if status == "present":
                present.append(code)
                cues.setdefault(code, {}).update(sentence_cues(clause))
            elif status in ("negated", "resolved", "historical"):
                absent.append(code)
    present = list(dict.fromkeys(present))
    for generic, specific in GENERIC_OVER.items():
        if generic in present and any(s in present for s in specific):
            present.remove(generic)
    absent = [c for c in dict.fromkeys(absent) if c not in present]
    if not present and not absent:
        return NOTHING
    return Parse({"present": present, "absent": absent, "cues": {c: cues.get(c, {}) for c in present}})
