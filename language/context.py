"""What each symptom mention in an utterance means: the ConText algorithm over the rule table in
language/data/context_rules.yaml (negated, resolved, historical, hypothetical, someone else's).

Mentions come from the lexicon (language.lexicon); their words are masked before triggers are looked
for, so "喘不上气" or "can't sleep" do not deny themselves. A trigger governs mentions within its
scope in its clause; list and sentence triggers reach back over the bare list said before them.
A mention nothing governs is present."""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from language.lexicon import match_across, match_symptoms

RULES_PATH = Path(__file__).parent / "data" / "context_rules.yaml"
CATEGORIES = ("negated", "resolved", "historical", "hypothetical", "other_person")
DIRECTIONS = ("forward", "backward", "list_back", "sentence_back", "answer_back")
# A trailing-off "…" is a pause inside a sentence ("头晕嘛…也没有"), not its end.
_SENTENCE = re.compile(r"[。！!？?；;\n]+|(?<=[a-z])\.\s")
_THIRD_PERSON = {"en": re.compile(r"^\s*(?:and |then |so )?(?:her|his|she|he|their|they|the one (?:who|that)|who)\b", re.I),
                 "zh": re.compile(r"^\s*(?:他|她|说是|听说|说)")}
_QUESTION_END = re.compile(r"^\s*[？?]")
# A short aside about someone just named, with no I as its subject ("跟我一个矿的", "who lives with us").
_ASIDE = {"zh": re.compile(r"^\s*(?!我|俺|咱)[^，,。]{1,8}$"),
          "en": re.compile(r"^\s*(?:who|that|the one|same|from) (?!.*\b(?:i|i'm|i've)\b)[^,.]{0,30}$", re.I)}
# The words that except one complaint from a denial after it ("Apart from the constipation, no", "除了便秘，别的没有").
_EXCEPTED = {"en": re.compile(r"\b(?:apart from|other than|except(?: for)?|besides|aside from)\s*$", re.I),
             "zh": re.compile(r"除了\s*$")}
_FIRST_PERSON = {"zh": re.compile(r"我|俺|咱|自己|自个|本人"), "en": re.compile(r"\b(?:i|i'm|i've|me|my)\b", re.I)}
_LIST_FILLER = {
    # "你说的那些个…" names the list asked about: filler too
    "zh": re.compile(r"[\s、/啊呀吧呢哦嘛和跟及或还有以及或者什么的之类这些那些是对你您说问讲个]+"),
    "en": re.compile(r"(?:\s|\b(?:any|or|and|no|the|some|a|bit|of|like|that|kind|sort)\b|[-/])+", re.I),
}


# Triggers that set a mention at a time before the admission; a clause that goes on after them is of that time.
_TIME_BEFORE = frozenset({"zh-historical-pre", "en-historical-pre"})
# Categories a forward trigger carries from inside a mention's span (negation inside has its own rule).
_INSIDE_CATEGORIES = frozenset({"historical"})


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
    needs_contrast: bool = False
    only_for_family: bool = False
    codes: frozenset[str] = frozenset()     # only mentions of these codes (empty: every code)


@dataclass(frozen=True)
class ContextRules:
    terminators: dict[str, re.Pattern[str]]
    scope_breakers: dict[str, re.Pattern[str]]
    pseudo: dict[str, re.Pattern[str]]
    inner_negation: dict[str, re.Pattern[str] | None]
    events_persist: frozenset[str]
    nothing_new: dict[str, re.Pattern[str]]
    no_longer: re.Pattern[str]
    self_contrast: dict[str, re.Pattern[str]]
    triggers: tuple[Trigger, ...]
    circumstance_denial: dict[str, re.Pattern[str]] = dataclasses.field(default_factory=dict)
    pseudo_mentions: dict[str, re.Pattern[str]] = dataclasses.field(default_factory=dict)
    self_repair: dict[str, re.Pattern[str]] = dataclasses.field(default_factory=dict)
    wishes_are_findings: frozenset[str] = frozenset()
    occasion_triggers: frozenset[str] = frozenset()
    reading_hypothetical: dict[str, re.Pattern[str]] = dataclasses.field(default_factory=dict)
    admission_story: dict[str, re.Pattern[str]] = dataclasses.field(default_factory=dict)
    back_to_now: dict[str, re.Pattern[str]] = dataclasses.field(default_factory=dict)
    not_since_codes: frozenset[str] = frozenset()
    worse_now: dict[str, re.Pattern[str]] = dataclasses.field(default_factory=dict)
    not_since: dict[str, re.Pattern[str]] = dataclasses.field(default_factory=dict)
    named_goes_on: dict[str, re.Pattern[str]] = dataclasses.field(default_factory=dict)
    residual_triggers: frozenset[str] = frozenset()
    residual_of_improving: dict[str, re.Pattern[str]] = dataclasses.field(default_factory=dict)
    else_after: dict[str, re.Pattern[str]] = dataclasses.field(default_factory=dict)
    reading_of_other: dict[str, re.Pattern[str]] = dataclasses.field(default_factory=dict)


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
        nothing = {lang: _compile(f"nothing_new.{lang}", data["nothing_new"][lang], re.I) for lang in langs}
        contrast = {lang: _compile(f"self_contrast.{lang}", data["self_contrast"][lang], re.I) for lang in langs}
        not_mentions = {lang: _compile(f"pseudo_mentions.{lang}", data["pseudo_mentions"][lang], re.I) for lang in langs}
        circumstance = {lang: _compile(f"circumstance_denial.{lang}", data["circumstance_denial"][lang], re.I) for lang in langs}
        repair = {lang: _compile(f"self_repair.{lang}", data["self_repair"][lang], re.I) for lang in langs}
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
                                off_for_family=bool(row.get("off_for_family")),
                                needs_contrast=bool(row.get("needs_contrast")),
                                only_for_family=bool(row.get("only_for_family")),
                                codes=frozenset(row.get("codes") or ())))
        if row.get("off_for_family") and row.get("only_for_family"):
            raise ContextRuleError(f"{where}: off_for_family and only_for_family exclude each other")
    not_since = data.get("not_since") or {}
    red_only = set(not_since.get("codes") or ()) - set(data.get("events_persist") or ())
    if red_only:
        raise ContextRuleError(f"{path}: not_since codes must be events_persist codes: {sorted(red_only)}")
    unknown = set(data.get("occasion_triggers") or ()) - {t.id for t in triggers}
    if unknown:
        raise ContextRuleError(f"{path}: occasion_triggers names no trigger: {sorted(unknown)}")
    residual = data.get("residual_of_improving") or {}
    unknown = set(residual.get("triggers") or ()) - {t.id for t in triggers}
    if unknown:
        raise ContextRuleError(f"{path}: residual_of_improving names no trigger: {sorted(unknown)}")
    return ContextRules(terminators=terminators, scope_breakers=breakers, pseudo=pseudo, inner_negation=inner,
                        events_persist=frozenset(data.get("events_persist") or ()), nothing_new=nothing,
                        self_contrast=contrast, no_longer=_compile("no_longer", data.get("no_longer") or "(?!)"),
                        triggers=tuple(triggers), circumstance_denial=circumstance,
                        pseudo_mentions=not_mentions, self_repair=repair,
                        wishes_are_findings=frozenset(data.get("wishes_are_findings") or ()),
                        occasion_triggers=frozenset(data.get("occasion_triggers") or ()),
                        reading_hypothetical={lang: _compile(f"reading_hypothetical.{lang}", data["reading_hypothetical"][lang], re.I)
                                              for lang in langs},
                        admission_story={lang: _compile(f"admission_story.opener.{lang}", data["admission_story"]["opener"][lang], re.I)
                                         for lang in langs},
                        back_to_now={lang: _compile(f"admission_story.back_to_now.{lang}", data["admission_story"]["back_to_now"][lang], re.I)
                                     for lang in langs},
                        worse_now={lang: _compile(f"worse_now.{lang}", data["worse_now"][lang], re.I) for lang in langs},
                        named_goes_on={lang: _compile(f"named_goes_on.{lang}", data["named_goes_on"][lang], re.I) for lang in langs},
                        residual_triggers=frozenset(residual.get("triggers") or ()),
                        residual_of_improving={lang: _compile(f"residual_of_improving.{lang}", residual.get(lang) or "(?!)", re.I)
                                               for lang in langs},
                        reading_of_other={lang: _compile(f"reading_of_other.{lang}", (data.get("reading_of_other") or {}).get(lang) or "(?!)", re.I)
                                          for lang in langs},
                        else_after={lang: _compile(f"else_after.{lang}", (data.get("else_after") or {}).get(lang) or "(?!)", re.I)
                                    for lang in langs},
                        not_since_codes=frozenset(not_since.get("codes") or ()),
                        not_since={lang: _compile(f"not_since.{lang}", not_since.get(lang) or "(?!)", re.I) for lang in langs})


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


def not_the_patients(sentence: str, lang: str, *, whole: str = "", respondent: str | None = None) -> bool:
    """A sentence about someone else ("是我孙子发烧，三十九度多" after "我没事") or a hypothetical
    ("医生说如果烧到三十八度五以上…", "if it goes over 180"): a reading in it is not the patient's."""
    r = rules()
    lang = "zh" if lang == "zh" else "en"
    if r.reading_hypothetical[lang].search(sentence):
        return True
    contrast = bool(r.self_contrast[lang].search(whole or sentence))
    for t in r.triggers:
        if t.lang != lang or t.category != "other_person" or t.direction != "forward":
            continue
        if respondent == "family" and t.off_for_family or t.needs_contrast and not contrast or \
                t.only_for_family and respondent != "family":
            continue
        if t.pattern.search(sentence):
            return True
    return False


_PERSON_FILLER = re.compile(r"[\s是系就倒那这个的们家我俺阿拉咱]|\b(?:the|my|our|a|an|it'?s|is|was)\b", re.I)


def _names_only_another(clause: str, lang: str, triggers: list[Trigger]) -> bool:
    """A clause with no complaint that names someone else and says who it is, what befell them, or nothing more
    (context_rules.yaml `named_goes_on`); or a show or the news."""
    hits = [(t, m) for t in triggers if t.category == "other_person" for m in t.pattern.finditer(clause) if m.end() > m.start()]
    if not hits:
        return False
    if any("media" in t.id for t, _ in hits) or rules().named_goes_on[lang].search(clause):
        return True
    rest = _PERSON_FILLER.sub("", _mask(clause, [m.span() for _, m in hits], ""))
    return len(rest.replace("\x00", "")) <= 1


def assess(text: str, lang: str, *, respondent: str | None = None) -> list[Mention]:
    """Every symptom mention in the utterance with its status."""
    r = rules()
    lang = "zh" if lang == "zh" else "en"
    family = respondent == "family"
    contrast = {lg: bool(p.search(text)) for lg, p in r.self_contrast.items()}

    def usable(t: Trigger) -> bool:
        return not (family and t.off_for_family) and not (t.needs_contrast and not contrast[t.lang]) and \
            not (t.only_for_family and not family)

    triggers = [t for t in r.triggers if t.lang == lang and usable(t)]
    # Code-switched speech: the other language's triggers apply too (mentions come from both lexicons).
    other = "en" if lang == "zh" else "zh"
    if (lang == "zh" and re.search(r"[a-zA-Z]{3}", text)) or (lang == "en" and re.search(r"[\u4e00-\u9fff]", text)):
        triggers += [t for t in r.triggers if t.lang == other and usable(t)]
    # Per sentence: (is a question, answered by a denial trigger id, mentions as [code, start, end, category, trigger]).
    sentences: list[tuple[bool, str | None, str, list[list[Any]]]] = []
    for s_start, s_end in _spans(text, _SENTENCE):
        sentence = text[s_start:s_end]
        is_question = bool(_QUESTION_END.match(text[s_end:s_end + 2]))
        clauses = _spans(sentence, r.terminators[lang])
        found: list[list[tuple[str, int, int]]] = []
        status: list[list[tuple[str, str | None, int]]] = []   # per mention: (category, trigger id, distance)
        carry: tuple[str, str, bool] | None = None   # (category, trigger, only onto a question) for the sentence before
        for c_start, c_end in clauses:
            clause = sentence[c_start:c_end]
            mentions = match_symptoms(_mask(clause, [m.span() for m in r.pseudo_mentions[lang].finditer(clause)], "\uff03"), lang,
                                      sentence=sentence)
            found.append(mentions)
        # A row read across the commas ("刚刚吐了一口，里头有红的") is a mention of the clause it ends in, from
        # that clause's start; it outweighs the shorter mentions it covers there ("有红的" read as bleeding).
        for code, a_start, a_end in match_across(sentence, lang):
            ci = next((k for k, (c_start, c_end) in enumerate(clauses) if c_start < a_end <= c_end), None)
            if ci is None:
                continue
            c_start = clauses[ci][0]
            start, end = max(a_start, c_start) - c_start, a_end - c_start
            found[ci] = sorted([f for f in found[ci] if not (f[1] < end and start < f[2])] + [(code, start, end)],
                               key=lambda f: f[1])
        for mentions in found:
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
                    continue
                # A time said between the body part and the symptom ("腿原先麻", "腿以前肿") governs it too.
                for trig in triggers:
                    if trig.direction == "forward" and trig.category in _INSIDE_CATEGORIES:
                        # a comparison inside ("说话比以前含糊") is no time of its own: the pseudo words are masked
                        inside = trig.pattern.search(r.pseudo[lang].sub(lambda x: "\uff03" * len(x.group(0)), clause[s:e]))
                        if inside and 0 < inside.start() and inside.end() < e - s:
                            status[ci][mi] = (trig.category, trig.id, 0)
                            break
            for trig in triggers:
                for m in trig.pattern.finditer(masked):
                    if m.end() == m.start():
                        continue
                    if trig.direction == "forward":
                        for mi, (code, s, _e) in enumerate(mentions):
                            distance = s - m.end()
                            if trig.codes and code not in trig.codes:
                                continue
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
                            if not found[back] or not _is_bare(sentence[b_start:b_end], found[back], lang) \
                                    or _EXCEPTED[lang].search(sentence[:b_start]):
                                break   # "Apart from the constipation, no.": the one excepted is not denied
                            status[back] = [(trig.category, trig.id, 0) if st[0] == "present" else st for st in status[back]]
                    elif trig.direction == "sentence_back" and not mentions:
                        for back in range(ci - 1, -1, -1):
                            status[back] = [(trig.category, trig.id, 0) if st[0] == "present" and (
                                not trig.codes or found[back][k][0] in trig.codes) else st for k, st in enumerate(status[back])]
                        if ci == 0 and not trig.codes:
                            carry = (trig.category, trig.id, False)
                    elif trig.direction == "answer_back" and ci == 0 and not mentions:
                        carry = (trig.category, trig.id, True)
        speaking_of_other = False
        for ci in range(1, len(clauses)):
            # "My sister had a stroke, her speech went all slurred", "隔壁老李…，说是胸闷": the person carries on,
            # clause after clause while each opens with he / she ("My neighbour, she was on my ward, she's had…").
            speaking_of_other = speaking_of_other or any(st[0] == "other_person" for st in status[ci - 1]) or any(
                t.category == "other_person" and t.pattern.search(sentence[clauses[ci - 1][0]:clauses[ci - 1][1]])
                for t in triggers)
            clause = sentence[clauses[ci][0]:clauses[ci][1]]
            # When the speaker also says how they are themselves ("我好好的", "I'm fine"), a clause with no
            # subject of its own goes on about the other person's complaint told just before ("老伴咳嗽，咳得
            # 睡不着"), and so does a bare list ("My husband's got a cough, fever and all"). Only after a
            # complaint of theirs: "俺闺女来了，晚上胸口疼得睡不着" may well be the patient's own chest pain.
            # So does a clause right after one that only names them, or tells what befell them with no complaint
            # in it ("我好得很，是我们隔壁那个王嬢嬢，前天晕倒了", "俺没事儿，俺家老头子倒是前两天说话舌头发硬", "My husband's
            # had the flu, fever and all", "我闺女怀孕了，孕吐得厉害": table named_goes_on).
            before = sentence[clauses[ci - 1][0]:clauses[ci - 1][1]]
            named_only = not found[ci - 1] and _names_only_another(before, lang, triggers)
            theirs = any(st[0] == "other_person" for st in status[ci - 1]) or named_only
            goes_on = contrast[lang] and theirs and (
                not _FIRST_PERSON[lang].search(clause) if lang == "zh" or named_only else _is_bare(clause, found[ci], lang))
            if speaking_of_other and (_THIRD_PERSON[lang].match(clause) or goes_on):
                status[ci] = [("other_person", "third_person", 0) if st[0] == "present" else st for st in status[ci]]
            elif speaking_of_other and not found[ci] and _ASIDE[lang].match(clause):
                # "倒是我哥，跟我一个矿的，他这两天痰里带血": an aside about the other person with no complaint
                # in it and no I as its subject keeps them the one spoken of, for a he / she clause after it.
                pass
            else:
                speaking_of_other = False
        for ci in range(1, len(clauses)):
            # "住院前那会儿天天胸口疼，晕倒过两回": a clause that goes on right after a time before the admission,
            # with no trigger and no word of now of its own, is told of that time too.
            before = status[ci - 1]
            if before and all(st[0] == "historical" and st[1] in _TIME_BEFORE for st in before) and status[ci] and \
                    all(st[0] == "present" and st[1] is None or st[0] == "resolved" for st in status[ci]) and \
                    not r.back_to_now[lang].search(sentence[clauses[ci][0]:clauses[ci][1]]):
                status[ci] = [("historical", before[-1][1], 0) for _ in status[ci]]
        for ci in range(1, len(clauses)):
            # "咳嗽好多了，就早上起来咳两声": what is left of a complaint that eased, told right after it, is that
            # easing complaint (table residual_of_improving); a word of worse below still makes it a finding.
            pi = ci - 1
            while pi > 0 and not sentence[clauses[pi][0]:clauses[pi][1]].strip():
                pi -= 1
            eased = {found[pi][k][0]: st for k, st in enumerate(status[pi]) if st[1] in r.residual_triggers}
            # the words between the clauses ("，就是", ", just") are the clause terminators' own
            told = sentence[clauses[pi][1]:clauses[ci][1]].lstrip(" ，,;；")
            if eased and r.residual_of_improving[lang].match(told):
                status[ci] = [eased[code] if st[0] == "present" and st[1] is None and code in eased
                              and code not in r.events_persist else st
                              for (code, _, _), st in zip(found[ci], status[ci])]
        for ci in range(1, len(clauses)):
            # "胸闷是老毛病了，最近加重了": a long-standing complaint said to be worse now is a finding again
            if r.worse_now[lang].search(sentence[clauses[ci][0]:clauses[ci][1]]):
                for back in range(ci + 1):
                    status[back] = [("present", None, 0) if st[0] == "historical" else st for st in status[back]]
        if lang == "en":
            for ci in range(1, len(clauses)):
                before = status[ci - 1]
                if before and before[-1][0] == "negated" and found[ci] and \
                        _is_bare(sentence[clauses[ci][0]:clauses[ci][1]], found[ci], lang):
                    status[ci] = [before[-1] if st[0] == "present" else st for st in status[ci]]
        rows: list[list[Any]] = []
        for ci, (c_start, c_end) in enumerate(clauses):
            clause = sentence[c_start:c_end]
            for (code, s, e), (category, trigger_id, _) in zip(found[ci], status[ci]):
                # "不晕了", "没再咳了": denied with 了 after it = no longer, i.e. resolved.
                if lang == "zh" and category == "negated" and r.no_longer.search(clause[e:e + 3]):
                    category = "resolved"
                offset = s_start + c_start
                rows.append([code, offset + s, offset + e, category, trigger_id])
        sentences.append((is_question, carry, sentence, rows))
    # A sentence that only denies or resolves speaks of the one before: an echoed question answered by a
    # denial ("胸口疼？没有的事", "Short of breath? Me? No."), "I had a dizzy spell. Never came back."
    for i, (_, carry, _, rows) in enumerate(sentences):
        if carry is None:
            continue
        for back in range(i - 1, -1, -1):
            was_question, _, b_sentence, b_rows = sentences[back]
            if not b_rows:
                if len(b_sentence.strip()) <= 8:
                    continue
                break
            if was_question or not carry[2]:
                for row in b_rows:
                    if row[3] == "present":
                        row[3], row[4] = carry[0], carry[1]
            break
    # "You know why I went in. I was at the sink and the next thing I knew I was on the floor. Since then,
    # nothing.": the sentences after an opener that tells of the admission are its story — history — until
    # one comes back to now (since, now, again, a day of this week).
    in_story = False
    for _, _, sentence, rows in sentences:
        opener = r.admission_story[lang].search(sentence)
        if opener:
            in_story = True
        elif in_story and r.back_to_now[lang].search(sentence):
            in_story = False
        if in_story:
            for row in rows:
                if row[3] in ("present", "resolved") and (not opener or row[1] >= text.find(sentence) + opener.end()):
                    row[3], row[4] = "historical", "admission_story"
    out: list[Mention] = []
    for _, _, sentence, rows in sentences:
        for code, start, end, category, trigger_id in rows:
            # An event since discharge stays a finding after it passes — when it was told as one. A mention
            # that is only its own denial ("腿不麻了") asserts no event: it is resolved.
            if category in ("present", "resolved") and code in r.not_since_codes and r.not_since[lang].search(text, end):
                category, trigger_id = "resolved", "not_since"
            elif category == "resolved" and code in r.events_persist and trigger_id != "inner_negation":
                category, trigger_id = "present", None
            if category == "hypothetical" and code in r.wishes_are_findings and trigger_id not in ("zh-drug-for", "en-drug-for"):
                category, trigger_id = "present", None   # "要是哪天就这么过去了也挺好" is a wish, not a worry
            out.append(Mention(code=code, start=start, end=end, status=category, trigger=trigger_id, sentence=sentence))
    return out


def says_nothing_new(text: str, lang: str) -> bool:
    """The answer says in so many words that nothing is wrong ("啥都没有", "I'm fine")."""
    return bool(rules().nothing_new["zh" if lang == "zh" else "en"].search(text))


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
        if trig.lang != lang or (respondent == "family" and trig.off_for_family) or \
                (trig.only_for_family and respondent != "family"):
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
