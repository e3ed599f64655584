"""What each symptom mention in an utterance means: the ConText algorithm over the rule table in
language/data/context_rules.yaml (negated, resolved, historical, hypothetical, someone else's).

Mentions come from the lexicon (language.lexicon); their words are masked before triggers are looked
for, so "喘不上气" or "can't sleep" do not deny themselves. A trigger governs mentions within its
scope in its clause; list and sentence triggers reach back over the bare list said before them.
A mention nothing governs is present."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from language.lexicon import match_symptoms

RULES_PATH = Path(__file__).parent / "data" / "context_rules.yaml"
CATEGORIES = ("negated", "resolved", "historical", "hypothetical", "other_person")
DIRECTIONS = ("forward", "backward", "list_back", "sentence_back")
_SENTENCE = re.compile(r"[。！!？?；;\n]|(?<=[a-z])\.\s")
_LIST_FILLER = {
    "zh": re.compile(r"[\s、/啊呀吧呢哦嘛和跟及或还有以及或者什么的之类这些那些]+"),
    "en": re.compile(r"(?:\s|\b(?:any|or|and|no|the|some|a|bit|of|like|that|kind|sort)\b|[-/])+", re.I),
}


class ContextRuleError(ValueError):
    pass


@dataclass(frozen=True)
class Trigger:
    id: str
    lang: str
    category: str
    direction: str
    pattern: re.Pattern[str]
    scope: int
    off_for_family: bool


@dataclass(frozen=True)
class ContextRules:
    terminators: dict[str, re.Pattern[str]]
    scope_breakers: dict[str, re.Pattern[str]]
    pseudo: dict[str, re.Pattern[str]]
    inner_negation: dict[str, re.Pattern[str] | None]
    events_persist: frozenset[str]
    triggers: tuple[Trigger, ...]


@dataclass(frozen=True)
class Mention:
    code: str
    start: int          # in the utterance
    end: int
    status: str         # present | negated | resolved | historical | hypothetical | other_person
    trigger: str | None
    sentence: str

    @property
    def present(self) -> bool:
        return self.status == "present"

    @property
    def denied(self) -> bool:
        return self.status in ("negated", "resolved", "historical")


def _compile(where: str, pattern: Any, flags: int = 0) -> re.Pattern[str]:
    try:
        return re.compile(str(pattern), flags)
    except re.error as exc:
        raise ContextRuleError(f"{where}: {exc}") from None


def load_rules(path: Path = RULES_PATH) -> ContextRules:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    langs = ("zh", "en")
    try:
        terminators = {lang: _compile(f"terminators.{lang}", data["terminators"][lang], re.I) for lang in langs}
        pseudo = {lang: _compile(f"pseudo.{lang}", data["pseudo"][lang], re.I) for lang in langs}
        breakers = {lang: _compile(f"scope_breakers.{lang}", data["scope_breakers"][lang], re.I) for lang in langs}
        inner = {lang: _compile(f"inner_negation.{lang}", data["inner_negation"][lang]) if data["inner_negation"][lang] else None
                 for lang in langs}
    except (KeyError, TypeError) as exc:
        raise ContextRuleError(f"{path}: terminators, pseudo and inner_negation need zh and en ({exc})") from None
    triggers = []
    seen = set()
    for row in data.get("triggers") or []:
        where = f"{path}: trigger {row.get('id')!r}"
        if not row.get("id") or row["id"] in seen:
            raise ContextRuleError(f"{where}: missing or repeated id")
        seen.add(row["id"])
        if row.get("lang") not in langs or row.get("category") not in CATEGORIES or row.get("direction") not in DIRECTIONS:
            raise ContextRuleError(f"{where}: lang must be zh|en, category one of {CATEGORIES}, direction one of {DIRECTIONS}")
        triggers.append(Trigger(id=row["id"], lang=row["lang"], category=row["category"], direction=row["direction"],
                                pattern=_compile(where, row["pattern"], re.I), scope=int(row.get("scope") or 0),
                                off_for_family=bool(row.get("off_for_family"))))
    return ContextRules(terminators=terminators, scope_breakers=breakers, pseudo=pseudo, inner_negation=inner,
                        events_persist=frozenset(data.get("events_persist") or ()), triggers=tuple(triggers))


@functools.lru_cache(maxsize=1)
def rules() -> ContextRules:
    return load_rules()


def _spans(text: str, boundary: re.Pattern[str], offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) of the pieces of text between boundary matches."""
    out, last = [], 0
    for m in boundary.finditer(text):
        if m.start() > last:
            out.append((offset + last, offset + m.start()))
        last = max(last, m.end())
    if last < len(text):
        out.append((offset + last, offset + len(text)))
    return out


def _mask(text: str, spans: list[tuple[int, int]], char: str) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(max(0, start), min(len(chars), end)):
            chars[i] = char
    return "".join(chars)


def _is_bare(clause: str, mentions: list[tuple[str, int, int]], lang: str) -> bool:
    """A clause that is only a list of symptom words ("胸痛啊", "dizziness or fainting")."""
    rest = _mask(clause, [(s, e) for _, s, e in mentions], "\x00")
    rest = re.sub(r"\w*\x00+\w*", " ", rest)   # "dizz" matched in "dizziness": the whole word is the mention
    rest = _LIST_FILLER[lang].sub("", rest)
    return len(rest) <= (2 if lang == "zh" else 3)


def assess(text: str, lang: str, *, respondent: str | None = None) -> list[Mention]:
    """Every symptom mention in the utterance with its status."""
    r = rules()
    lang = "zh" if lang == "zh" else "en"
    family = respondent == "family"
    triggers = [t for t in r.triggers if t.lang == lang and not (family and t.off_for_family)]
    # Code-switched speech: the other language's triggers apply too (mentions come from both lexicons).
    other = "en" if lang == "zh" else "zh"
    if (lang == "zh" and re.search(r"[a-zA-Z]{3}", text)) or (lang == "en" and re.search(r"[\u4e00-\u9fff]", text)):
        triggers += [t for t in r.triggers if t.lang == other and not (family and t.off_for_family)]
    out: list[Mention] = []
    for s_start, s_end in _spans(text, _SENTENCE):
        sentence = text[s_start:s_end]
        clauses = _spans(sentence, r.terminators[lang])
        found: list[list[tuple[str, int, int]]] = []
        status: list[list[tuple[str, str | None, int]]] = []   # per mention: (category, trigger id, distance)
        for c_start, c_end in clauses:
            clause = sentence[c_start:c_end]
            mentions = match_symptoms(clause, lang)
            found.append(mentions)
            status.append([("present", None, 10**6) for _ in mentions])
        for ci, (c_start, c_end) in enumerate(clauses):
            clause = sentence[c_start:c_end]
            mentions = found[ci]
            masked = _mask(clause, [(s, e) for _, s, e in mentions], "\uff3f")
            masked = _mask(masked, [m.span() for m in r.pseudo[lang].finditer(masked)], "\uff03")
            inner = r.inner_negation[lang]
            for mi, (_, s, e) in enumerate(mentions):
                if inner is not None and inner.search(clause[s:e]):
                    status[ci][mi] = ("negated", "inner_negation", 0)
            for trig in triggers:
                for m in trig.pattern.finditer(masked):
                    if m.end() == m.start():
                        continue
                    if trig.direction == "forward":
                        for mi, (_, s, _e) in enumerate(mentions):
                            distance = s - m.end()
                            if 0 <= distance <= trig.scope and distance < status[ci][mi][2] and \
                                    not r.scope_breakers[lang].search(masked[m.end():s]):
                                status[ci][mi] = (trig.category, trig.id, distance)
                    elif trig.direction == "backward":
                        for mi, (_, _s, e) in enumerate(mentions):
                            distance = m.start() - e
                            if 0 <= distance <= trig.scope and distance < status[ci][mi][2]:
                                status[ci][mi] = (trig.category, trig.id, distance)
                    elif trig.direction == "list_back" and not mentions:
                        for back in range(ci - 1, -1, -1):
                            b_start, b_end = clauses[back]
                            if not found[back] or not _is_bare(sentence[b_start:b_end], found[back], lang):
                                break
                            status[back] = [(trig.category, trig.id, 0) if st[0] == "present" else st for st in status[back]]
                    elif trig.direction == "sentence_back" and not mentions:
                        for back in range(ci - 1, -1, -1):
                            status[back] = [(trig.category, trig.id, 0) if st[0] == "present" else st for st in status[back]]
        if lang == "en":
            for ci in range(1, len(clauses)):
                before = status[ci - 1]
                if before and before[-1][0] == "negated" and found[ci] and \
                        _is_bare(sentence[clauses[ci][0]:clauses[ci][1]], found[ci], lang):
                    status[ci] = [before[-1] if st[0] == "present" else st for st in status[ci]]
        for ci, (c_start, _) in enumerate(clauses):
            for (code, s, e), (category, trigger_id, _) in zip(found[ci], status[ci]):
                if category in ("resolved",) and code in r.events_persist:
                    category, trigger_id = "present", None
                offset = s_start + c_start
                out.append(Mention(code=code, start=offset + s, end=offset + e, status=category, trigger=trigger_id,
                                   sentence=sentence))
    return out


def clause_status(clause: str, lang: str, *, respondent: str | None = None) -> tuple[str, str | None]:
    """The status of a whole clause taken as one mention (a symptom said in other words, matched by
    meaning rather than by the lexicon): governed by a trigger at its start or its end only, since
    the words in between belong to the description ("扣子都扣不上了" denies nothing)."""
    r = rules()
    lang = "zh" if lang == "zh" else "en"
    head = 3 if lang == "zh" else 14
    masked = _mask(clause, [m.span() for m in r.pseudo[lang].finditer(clause)], "\uff03")
    stripped = masked.rstrip(" 。.!！了啊呀的")
    for trig in r.triggers:
        if trig.lang != lang or (respondent == "family" and trig.off_for_family):
            continue
        for m in trig.pattern.finditer(masked):
            if m.end() == m.start():
                continue
            if trig.direction == "forward" and m.start() <= head:
                return trig.category, trig.id
            if trig.direction == "backward" and m.end() >= len(stripped) and m.start() > 0:
                if trig.category == "resolved" or trig.category == "negated":
                    return trig.category, trig.id
    return "present", None
