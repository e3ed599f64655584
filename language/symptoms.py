"""Symptoms in a patient's words: lexicon mentions (language.lexicon) with their status from the
context rules (language.context), cues from language.cues, and — when a semantic matcher is given —
symptoms said in other words (language.semantic)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from language.context import _SENTENCE, _spans, assess, clause_status, rules, says_nothing_new
from language.cues import chronic_contrast, sentence_cues
from language.lexicon import GENERIC_ANYWHERE, GENERIC_APART_ACROSS_CLAUSES, GENERIC_OVER


@dataclass(frozen=True)
class Parse:
    value: Any
    cues: dict[str, Any] = field(default_factory=dict)


NOTHING = Parse(None)
_QUESTION_END = re.compile(r"[？?][\s。.!！]*$")
_CLAUSE_BREAK = re.compile(r"[，,;；。.!！?？]")
# A generic word whose subject is "it" takes up the specific one said before it ("it is still paining me").
_IT_AGAIN = re.compile(r"\bit(?:'s| is| was| has| had)?(?: been)?(?: still| also| really)?\s+$", re.I)


def _after_contrast(sentence_cue: dict[str, Any], text: str, mention: Any) -> dict[str, Any]:
    """"左边没劲是老毛病，一直这样，可是这两天右边手也开始麻了": a complaint told after a contrast is not
    unchanged because of what was said of the old one before it (table `chronic_contrast` of cues.yaml)."""
    if not sentence_cue.get("chronic"):
        return sentence_cue
    offset = text.find(mention.sentence)
    head = mention.sentence[:max(0, mention.start - offset)] if offset >= 0 else ""
    contrasts = list(chronic_contrast().finditer(head))
    if not contrasts or sentence_cues(mention.sentence[contrasts[-1].start():]).get("chronic"):
        return sentence_cue
    return {**sentence_cue, "chronic": False}


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
    # The last word on a code wins ("头晕，调了药就不晕了", "no chest pain... actually there was a twinge"),
    # except that an event since discharge (a faint, blood) said once stays a finding.
    persist = rules().events_persist
    last: dict[str, str] = {}
    last_end: dict[str, int] = {}
    at_rest_only = rules().circumstance_denial[lang]
    for mention in mentions:
        if mention.present or mention.denied:
            if mention.code in persist and last.get(mention.code) == "present":
                continue
            if mention.denied and last.get(mention.code) == "present" and \
                    at_rest_only.search(text[max(0, mention.start - 16):mention.start]):
                continue
            # "老漏尿，一咳嗽就漏。别的没啥，不烧，尿的时候也不疼": a denial said after "nothing else" is of other
            # things; it does not take back the complaint told before it (table `else_after`).
            if mention.denied and last.get(mention.code) == "present" and \
                    rules().else_after[lang if lang == "zh" else "en"].search(text[last_end.get(mention.code, 0):mention.start]):
                continue
            last[mention.code] = "present" if mention.present else "absent"
            if mention.present:
                last_end[mention.code] = mention.end
    # A sentence with no mention of its own goes on about the one before ("…sitting on my chest. It went on
    # a good twenty minutes."): its cues count for that sentence's mentions.
    with_mentions = {m.sentence for m in mentions}
    sentences = [text[a:b] for a, b in _spans(text, _SENTENCE)]
    follow: dict[str, str] = {}
    for i, sentence in enumerate(sentences):
        if sentence in with_mentions:
            j = i + 1
            while j < len(sentences) and sentences[j] not in with_mentions:
                j += 1
            follow[sentence] = " ".join(sentences[i:j])
    spans: dict[str, list[tuple[int, int]]] = {}
    for mention in mentions:
        if mention.present and last.get(mention.code) == "present":
            present.append(mention.code)
            spans.setdefault(mention.code, []).append((mention.start, mention.end))
            if mention.sentence not in cues_of:
                cues_of[mention.sentence] = sentence_cues(follow.get(mention.sentence, mention.sentence))
            cues.setdefault(mention.code, {}).update(_after_contrast(cues_of[mention.sentence], text, mention))
        elif mention.denied or mention.present:
            absent.append(mention.code)
    hypothetical_only = bool(mentions) and all(m.status in ("hypothetical", "other_person") for m in mentions)
    if semantic is not None and not mentions and not says_nothing_new(text, lang):
        # An answer the lexicon found nothing in, matched by meaning (language.semantic); the clause's own
        # context decides. Answers with lexicon mentions are settled by the rules (and cost no embedding).
        for code, start, end, _score in semantic.symptom_clauses(text, lang, skip=[(m.start, m.end) for m in mentions]):
            clause = text[start:end]
            status, _ = clause_status(clause, lang, respondent=respondent)
            if status == "present":
                present.append(code)
                cues.setdefault(code, {}).update(sentence_cues(clause))
            elif status in ("negated", "resolved", "historical"):
                absent.append(code)
    present = list(dict.fromkeys(present))
    repaired = _repaired_denial(text, lang, mentions, present)
    if repaired:
        present = [repaired if c == "pain" else c for c in present]
        cues.setdefault(repaired, {}).update(cues.pop("pain", {}))
        spans.setdefault(repaired, []).extend(spans.pop("pain", []))
        present = list(dict.fromkeys(present))
    # A generic word next to a specific one is the same finding ("头痛" read as pain and headache, "咳嗽有血"
    # as cough and hemoptysis); apart from it ("bad headache and an achy neck") it is a finding of its own.
    for generic, specific in GENERIC_OVER.items():
        if generic in present and any(s in present for s in specific):
            near = [span for s in specific for span in spans.get(s, [])]
            gap = 8 if lang == "zh" else 25

            def one_finding(g_s: int, g_e: int, s_s: int, s_e: int) -> bool:
                if g_s < s_e and s_s < g_e:
                    return True
                # "my chest was paining me…, it pained me for a long time": "it" takes up the pain named before
                if lang == "en" and s_e <= g_s and _IT_AGAIN.search(text[max(0, g_s - 24):g_s]):
                    return True
                between = text[min(g_e, s_e):max(g_s, s_s)]
                if generic in GENERIC_APART_ACROSS_CLAUSES and _CLAUSE_BREAK.search(between):
                    return False
                return abs(g_s - s_e) <= gap or abs(s_s - g_e) <= gap

            if generic in GENERIC_ANYWHERE or not spans.get(generic) or \
                    all(any(one_finding(g_s, g_e, s_s, s_e) for s_s, s_e in near) for g_s, g_e in spans[generic]):
                present.remove(generic)
    absent = [c for c in dict.fromkeys(absent) if c not in present]
    if not present and not absent:
        # Only someone else's symptoms or a worry ("要是胸口再疼我就去医院") in a statement, or "nothing
        # wrong" said in so many words: the patient has none. A question about a symptom stays open.
        # Someone else's complaint set against the speaker's own state ("我老伴吃了脚肿，我吃了倒没有",
        # "My husband gets swollen ankles, but I don't") answers for the speaker too: nothing.
        other_only = bool(mentions) and all(m.status == "other_person" for m in mentions) and \
            bool(rules().self_contrast["zh" if lang == "zh" else "en"].search(text))
        if says_nothing_new(text, lang) or other_only or hypothetical_only and not _QUESTION_END.search(text) and \
                any(m.status == "hypothetical" and m.trigger not in rules().occasion_triggers for m in mentions):
            return Parse({"present": [], "absent": [], "cues": {}})
        return NOTHING
    return Parse({"present": present, "absent": absent, "cues": {c: cues.get(c, {}) for c in present}})


# "No chest pain. Hang on, actually, there was a twinge last night…", "胸口不疼。哦不对，其实昨晚有一下疼了一阵":
# a bare pain said in a self-repair after a specific pain was denied is that pain coming back, not a pain
# of its own. Words of the repair: a table row (language/data/context_rules.yaml `self_repair`).
def _repaired_denial(text: str, lang: str, mentions: list[Any], present: list[str]) -> str | None:
    """The specific pain code a repaired denial brings back, or None."""
    if "pain" not in present:
        return None
    specific = GENERIC_OVER.get("pain", ())
    repair = rules().self_repair["zh" if lang == "zh" else "en"]
    for mention in mentions:
        if mention.code != "pain" or not mention.present:
            continue
        denied_before = [m.code for m in mentions if m.code in specific and m.denied and m.end <= mention.start]
        if denied_before and repair.search(text[max(m.end for m in mentions if m.code == denied_before[-1]):mention.start]):
            return denied_before[-1]
    return None

