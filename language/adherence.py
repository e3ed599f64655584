"""Medication adherence in the patient's words, clause by clause (language/data/adherence.yaml).

Each clause names drugs — by their name in the orders, a brand or another spelling (`aliases`, from
the drug lexicon the caller passes), or a class word ("降压药", "the water tablet") — or refers back to
the drugs of the clause before ("阿司匹林吃了胃不舒服，我就停了"); and it says missed, taken or
completed (a short course finished). A drug missed anywhere is missed; a finished course is full."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TABLE_PATH = Path(__file__).parent / "data" / "adherence.yaml"
_CLAUSE = re.compile(r"[，,。；;！!？?]|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])|但是|不过|就是|只是|可是|另外|还有|除了|\bbut\b|\bexcept\b|\bapart from\b|\balthough\b|\bthough\b"
                     r"|\bwhile\b|(?<=[a-z])\.\s", re.I)
_EXCEPTION = re.compile(r"(?:就是|只是|但是|不过|可是|\bexcept\b|\bbut\b)(.+)$", re.I)
_EFFECT = re.compile(r"(?:有点|不太|还)?不(?:太)?会用|用不(?:好|来|惯)|(?:那个)?(?:早上|中午|晚上|睡前|饭前|饭后|空腹)(?:才|就)?(?:吃|打|用)(?:的)?\W*$|疼|痛|不舒服|副作用|难受|过敏|反应|吃了|在吃|吃着|\bpain|\bache|side effect|\bhurt|\btook\b|\btaking\b", re.I)
_BARE_STOP = re.compile(r"^\W*(?:我|他|她|so i|i|and i)?\s*(?:就|也|then)?\s*(?:停(?:了|掉了|药了)?|stopped(?: it| them)?)\W*$", re.I)
_ONE_DAY = re.compile(r"(?:有|那|某)一?天|一天(?:没|都没)|\b(?:one|that|a) day\b|\bthat sunday\b|\bone (?:morning|evening|night)\b", re.I)
# "大夫没让停，我自己停了", "I stopped it on my own": a stop on one's own account is of the drug just named.
_SELF_STOP = re.compile(r"(?:自己|自个儿?|私自|擅自|偷偷)(?:就|把它|给)?停|\b(?:stopped|quit) (?:it|them)? ?(?:myself|on my own)\b", re.I)
# "今天早上的还没吃，一会儿吃", "haven't had it yet, I'll take it after breakfast": today's dose still to come, no miss.
_NOT_YET = re.compile(r"还没(?:开始)?(?:吃|打|用|滴|点|喷)|\bhaven'?t started (?:it|them|the \w+)(?: \w+)? yet\b|\bnot (?:taken|had) (?:it|them|today'?s) yet\b|\bhaven'?t (?:taken|had) (?:it|them|today'?s) yet\b", re.I)
# …or a drug whose start the doctor put off ("滴耳朵的还没开始用，医生说等拆了线再滴", "they said to wait till the packing's out").
_ABOUT_TO = re.compile(r"^\W*(?:一会儿?|待会儿?|等会儿?|马上|过会儿?|吃完饭|饭后)(?:就|再)?(?:吃|打|用)|\b(?:i'?ll|i will|going to|gonna) (?:take|have) (?:it|them)\b"
                       r"|^\W*(?:医生|大夫|护士)(?:说|讲|让|叫|交代)(?:了)?(?:要)?等|\b(?:doctors?|nurses?|they) (?:said|told (?:me|him|her|us)) to (?:wait|start (?:it|them) (?:after|when|once))", re.I)
_CHANGED = re.compile(r"改|减|换|\bchanged\b|\bcut\b|\breduced\b|\blowered\b", re.I)
_AS_TOLD = re.compile(r"(?<!牙)(?:医生|大夫|护士)(?:说|让|叫|交代|看了)|吃完就停|\b(?:doctors?|clinic|nurses?) (?:said|told|changed)|\bas (?:told|instructed)", re.I)
# A clause about a thing of its own ("the oxy only at night"): a name not understood, not the drug of before.
# "The iron one, the night dose I have been forgetting": a dose of the day is of the drug just named.
_OTHER_SUBJECT = re.compile(r"^\W*(?:the|that|those|my|his|her|this)\s+(?!(?:morning|night|evening|afternoon|lunchtime|bedtime|"
                            r"night-?time|first|second|last)\s+(?:dose|one|tablet|pill|injection|shot|jab)s?\b)[a-z]", re.I)
# A drug half remembered ("那个氯什么雷", "泮什么的"): its first character(s), a filler, and maybe its last.
_HALF_NAME = re.compile(r"([\u4e00-\u9fff]{1,2})(?:什么|啥子?|那个)([\u4e00-\u9fff]?)(?=的|[，,。；;！!？?\s]|$)")
# The form said after a class word ("降压的那个胶囊"): of the drugs of that class, the ones of that form.
_FORM_AFTER = re.compile(r"^(?:的|那个|那种|那)?\s*(胶囊|片|针|贴|粉雾剂|气雾剂|滴眼液|口服液|颗粒|药水)")
_REFERS_BACK = re.compile(r"^\W*(?:(?:早上|中午|晚上|下午|夜里|半夜|第二天)(?=[^，,。]{0,6}(?:又|再|忘|没|多))|(?:出门|出去|外出|周末|上班|忙)(?:的时候|时)?(?=[^，,。]{0,4}(?:就|又|也)?(?:不|没|忘))|前(?:几|两)(?:天|日)|这(?:几|两)(?:天|日)|自己|偷偷|佢|后尾|我|他|她|就|那|后来|所以|结果|于是|然后|这个|那个|so|and|then|that|it|i|he|she|which)", re.I)


class AdherenceTableError(ValueError):
    pass


@dataclass(frozen=True)
class DrugRef:
    """One drug of the orders and the ways a patient may name it."""

    name: str                   # as written in the orders
    drug_class: str | None
    keys: tuple[str, ...]       # lower-case names, brands and stems
    as_needed: bool = False     # prn: not taking it when not needed is no miss
    course: bool = False        # given as a course: "吃完了" is completed, not run out


@dataclass
class AdherenceReading:
    adherence: str | None       # full | partial | none | None (not settled)
    missed: list[str] = field(default_factory=list)
    hedged: bool = False


def _patterns(data: dict[str, Any], key: str) -> list[re.Pattern[str]]:
    out = []
    for lang in ("zh", "en"):
        for p in (data.get(key) or {}).get(lang) or []:
            try:
                out.append(re.compile(str(p), re.I))
            except re.error as exc:
                raise AdherenceTableError(f"{TABLE_PATH.name}: {key}.{lang} {p!r}: {exc}") from None
    return out


def _one_per_language(data: dict[str, Any], key: str) -> list[re.Pattern[str]]:
    """A table entry written as one pattern per language ({zh: '…', en: '…'})."""
    return _patterns({key: {lang: [p] for lang, p in (data.get(key) or {}).items()}}, key)


@functools.lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    data = yaml.safe_load(TABLE_PATH.read_text(encoding="utf-8"))
    out: dict[str, Any] = {k: _patterns(data, k) for k in
                           ("missed", "not_missed", "taken", "completed", "ran_out", "none_taken", "hedged", "not_from_drug",
                            "too_much")}
    out["class_words"] = {cls: _patterns({"x": by_lang}, "x") for cls, by_lang in (data.get("class_words") or {}).items()}
    out["others"] = re.compile(str(data.get("others") or "(?!x)x"), re.I)
    unnamed = data.get("unnamed_miss_of") or {}
    out["unnamed_all"] = re.compile(str(unnamed.get("all") or "(?!x)x"), re.I)
    out["unnamed_classes"] = {cls: re.compile(str(p), re.I) for cls, p in (unnamed.get("classes") or {}).items()}
    # A row's names are one list, or tiers of lists: the first tier that names a drug of the orders wins.
    out["name_words"] = [(re.compile(str(row["words"]), re.I),
                          [[str(p).lower() for p in tier] for tier in row["names"]] if any(isinstance(n, list) for n in row["names"])
                          else [[str(p).lower() for p in row["names"]]])
                         for row in data.get("name_words") or []]
    out["blames_drug"] = _one_per_language(data, "blames_drug")
    out["stopped_for_it"] = _one_per_language(data, "stopped_for_it")
    out["stop_for_a_while"] = _one_per_language(data, "stop_for_a_while")
    out["without_since"] = _one_per_language(data, "without_since")
    prn = data.get("as_needed") or {}
    courses = data.get("courses") or {}
    out["courses"] = (frozenset(courses.get("classes") or ()), re.compile(str(courses.get("order_words") or "(?!x)x"), re.I))
    objects = data.get("miss_object") or {}
    out["miss_object"] = (frozenset(str(w) for w in objects.get("determiners") or ()),
                          frozenset(str(w) for w in objects.get("medicine_words") or ()))
    out["wondering"] = _one_per_language(data, "wondering")
    out["form_words"] = re.compile(str(data.get("form_words") or "(?!x)x"), re.I)
    out["course_said"] = _one_per_language(data, "course_said")
    out["never_since"] = _one_per_language(data, "never_since")
    out["past_habit"] = _one_per_language(data, "past_habit")
    out["described_other"] = _one_per_language(data, "described_other")
    out["taken_now_and_then"] = _one_per_language(data, "taken_now_and_then")
    out["route_keys"] = {str(r): tuple(str(k).lower() for k in keys) for r, keys in (data.get("route_keys") or {}).items()}
    out["as_needed"] = (frozenset(prn.get("classes") or ()), tuple(str(n).lower() for n in prn.get("names") or ()),
                        re.compile(str(prn.get("order_words") or "(?!x)x"), re.I))
    return out


def route_keys(route: str | None) -> tuple[str, ...]:
    """Name parts a drug given by this route answers to ("the injections" for an sc drug whose name says no form)."""
    return table()["route_keys"].get(route or "", ())


def is_as_needed(name: str, drug_class: str | None, frequency: str | None = None) -> bool:
    """A drug taken only when needed: prn in the orders, or a rescue/relief drug by class or name."""
    classes, names, order_words = table()["as_needed"]
    low = name.lower()
    return frequency == "prn" or drug_class in classes or any(n in low for n in names) or bool(order_words.search(name))


def _any(patterns: Iterable[re.Pattern[str]], text: str) -> bool:
    return any(p.search(text) for p in patterns)


_RELATED_CLASSES = {"antiplatelet": {"anticoagulant"}, "anticoagulant": {"antiplatelet"}}


def is_course(name: str, drug_class: str | None, duration: str | None = None) -> bool:
    """A drug given as a course (antibiotics, steroids, or an order with a set duration such as P7D)."""
    classes, order_words = table()["courses"]
    # a short set course (up to a month: "共7天", P2W); a year of clopidogrel "吃完了" is a supply run out
    m = re.fullmatch(r"P(\d+)([DW])", str(duration or "").upper())
    set_duration = bool(m) and int(m.group(1)) * (7 if m.group(2) == "W" else 1) <= 31
    return drug_class in classes or set_duration or bool(order_words.search(name))


def _first_tier(tiers: list[list[str]], drugs: list[DrugRef]) -> list[str]:
    for name_parts in tiers:
        found = [d.name for d in drugs if any(part in k for k in d.keys for part in name_parts)]
        if found:
            return found
    return []


_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z-]{4,}")


def _names_unordered_drug(clause: str, drugs: list[DrugRef], is_drug: Callable[[str], bool] | None) -> bool:
    """The clause names, by an English name the drug lexicon knows (`is_drug`, given by the caller), a drug that
    is not one of the orders ("I haven't touched the ramipril" when ramipril was stopped at discharge): what it
    says is not about them."""
    if is_drug is None:
        return False
    ordered = {k for d in drugs for k in d.keys if k}
    for m in _LATIN_WORD.finditer(clause):
        word = m.group(0).lower()
        if any(word in k or k in word for k in ordered):
            continue
        if is_drug(word):
            return True
    return False


def drugs_named(clause: str, drugs: list[DrugRef]) -> list[str]:
    named: list[str] = []
    # A description that picks out drugs ("饭前那个针", "the night-time insulin") is read first, and its words
    # are then no name or class word for the whole class ("针", "insulin" would name every insulin).
    # Of overlapping descriptions the longer, more specific one counts ("中午饭前那针" is no "那针").
    hits = sorted(((m.start(), m.end(), found) for words, tiers in table()["name_words"]
                   if (found := _first_tier(tiers, drugs))
                   for m in words.finditer(clause)), key=lambda h: (h[0] - h[1], h[0]))
    rest = clause
    for start, end, found in hits:
        if "\x00" in rest[start:end]:
            continue
        named += found
        rest = rest[:start] + "\x00" * (end - start) + rest[end:]
    low = rest.lower()
    named += [d.name for d in drugs if any(k and k in low for k in d.keys)]
    if not named:
        for m in _HALF_NAME.finditer(rest):
            head, tail = m.group(1), m.group(2)
            for d in drugs:
                cores = [k for k in d.keys if re.fullmatch(r"[\u4e00-\u9fff]{3,}", k)]
                if any(core.startswith(h) and len(core) > len(h) + len(tail) and (not tail or core.endswith(tail))
                       for core in cores for h in (head, head[-1:])):
                    named.append(d.name)
    by_name = set(named)
    for cls, patterns in table()["class_words"].items():
        for p in patterns:
            for m in p.finditer(rest):
                of_class = [d for d in drugs if d.drug_class == cls or d.drug_class in _RELATED_CLASSES.get(cls, set())]
                if any(d.name in by_name for d in of_class):
                    continue    # "降压药那个氨氯地平": the class word only says what the named drug is
                form = _FORM_AFTER.match(rest[m.end():])
                of_form = [d for d in of_class if form and form.group(1) in d.name]
                named += [d.name for d in (of_form or of_class)]
    return list(dict.fromkeys(named))


def _status(clause: str) -> str | None:
    t = table()
    if _any(t["wondering"], clause):
        return None
    if _any(t["not_missed"], clause):
        return "taken"
    if _any(t["completed"], clause) and not _any(t["ran_out"], clause):
        return "completed"
    if _any(t["missed"], clause) or _any(t["ran_out"], clause):
        return "missed"
    if _any(t["taken"], clause):
        return "taken"
    return None


def _miss_of_something_else(clause: str) -> bool:
    """Every miss word of the clause has an object that is no medicine ("missed the bus to the chemist",
    "couldn't get my words out"): the clause says nothing about the drugs (English; table `miss_object`)."""
    t = table()
    determiners, medicine = t["miss_object"]
    hits = [m for p in (*t["missed"], *t["ran_out"]) for m in p.finditer(clause)]
    if not hits:
        return False
    for m in hits:
        words = re.findall(r"[a-z']+", clause[m.end():].lower())[:4]
        if not words or words[0] not in determiners or any(w in medicine for w in words):
            return False
    return True


def _about_another_drug(clause: str, drugs: list[DrugRef]) -> bool:
    """The clause names a kind of drug the orders do not hold ("胰岛素生完就停了" when no insulin is ordered):
    its stop or miss is not of the ordered drugs. Only when every ordered drug's class is known."""
    if any(d.drug_class is None for d in drugs):
        return False
    for cls, patterns in table()["class_words"].items():
        if any(d.drug_class == cls or d.drug_class in _RELATED_CLASSES.get(cls, set()) for d in drugs):
            continue
        for p in patterns:
            m = p.search(clause)
            if m and not table()["form_words"].search(m.group(0)) and \
                    not any(m.group(0).lower() in k for d in drugs for k in d.keys):
                return True
    return False


def says_missed(text: str) -> bool | None:
    """Whether any clause of the answer says a drug was not taken as prescribed (True), only that
    they were taken (False), or neither (None): the words a reading from elsewhere (the language
    model) must agree with."""
    statuses = {_status(clause) for clause in _CLAUSE.split(text) if clause and clause.strip()}
    if "missed" in statuses:
        return True
    return False if statuses & {"taken", "completed"} else None


def read_adherence(text: str, drugs: list[DrugRef], is_drug: Callable[[str], bool] | None = None) -> AdherenceReading:
    t = table()
    all_names = [d.name for d in drugs]
    if _any(t["hedged"], text.strip()):
        # A hedge about one drug does not undo a miss said plainly of another ("晚上那个曲唑酮她根本没咽，都偷偷
        # 攒着。早上那个，我也说不准"): the clauses that are sure still count; otherwise the answer is asked again.
        sure = [c for c in _CLAUSE.split(text) if c and c.strip() and not _any(t["hedged"], c)]
        reading = read_adherence("，".join(sure), drugs, is_drug) if sure and "，".join(sure) != text.strip() else None
        if reading is not None and reading.adherence in ("partial", "none") and reading.missed:
            return AdherenceReading("partial", reading.missed)
        return AdherenceReading(None, hedged=True)
    missed: list[str] = []
    taken: list[str] = []
    completed: list[str] = []
    unnamed_miss = unnamed_taken = unnamed_given_up = False
    # "I've missed a few. Maybe three, four days of the metoprolol?": a miss said without a drug is of the
    # drug named in the next clauses that say nothing else of it.
    awaiting_drug = 0
    unnamed_ran_out = False
    courses = {d.name for d in drugs if d.course}
    previous: list[str] = []
    ran_out: list[str] = []     # "吃完了" of a drug for good: a miss, unless a later clause has it taken again
    before = ""
    clauses = [c for c in _CLAUSE.split(text) if c and c.strip()]
    pending: list[str] = []     # drugs of a clause that said nothing of them ("早上那个氨氯地平，有时候……就忘了")
    pending_age = 0
    too_much: list[str] = []    # more than ordered ("took extra oxycodone", "多吃了两片"): wrong even for a prn drug
    given_up: list[str] = []    # drugs said stopped for good ("恩替卡韦吃了半个月觉得好了就停了", "I stopped the sertraline")
    for i, clause in enumerate(clauses):
        named = drugs_named(clause, drugs)
        own_named = bool(named)     # named in the clause itself, not carried from the clauses before
        status = _status(clause)
        if status and not named and _names_unordered_drug(clause, drugs, is_drug):
            status = None   # "I haven't touched the ramipril, like they said": a drug not in these orders
        if status == "missed" and not named and (_miss_of_something_else(clause) or _about_another_drug(clause, drugs)):
            status = None
        if status == "missed" and not named and t["unnamed_all"].search(clause):
            named = [n for n in all_names if n not in taken]     # "so I didn't get either of them"
        if not named and _any(t["described_other"], clause):
            # "硝苯地平天天吃着，那个小白片子断了一个礼拜": a pill described, not named, beside drugs the answer
            # names — the one ordered drug the answer does not name.
            unnamed_rest = [n for n in all_names if n not in drugs_named(text, drugs)]
            if len(unnamed_rest) == 1 and len(all_names) > 1:
                named = unnamed_rest
        if status is None and named and all(d.as_needed for d in drugs if d.name in named) \
                and _any(t["taken_now_and_then"], clause):
            status = "taken"    # "ibuprofen couple times", "布洛芬就…喂了一次": an as-needed drug taken when needed
        if status and not named and pending and pending_age <= 2 and not t["others"].search(clause) \
                and not _OTHER_SUBJECT.match(clause):
            named = pending
        if status and _any(t["past_habit"], clause) and any(_status(c) for c in clauses[i + 1:]):
            status = None   # "以前老忘，现在我定了闹钟": how it was before, when the answer goes on to now
        if not named and status and t["others"].search(clause):
            named = [n for n in all_names if n not in set(previous) | set(taken)]   # "其他三样都停了"
        elif not named and status and previous and (_REFERS_BACK.search(clause) or _SELF_STOP.search(clause)
                                                     or len(clause.strip()) <= 8):
            named = previous            # "…，我就停了": the drugs of the clause before
        if status == "missed" and not own_named and _BARE_STOP.match(clause) and _AS_TOLD.search(before):
            # "激素吃了五天，医生说吃完就停，我就停了": a course stopped as told; "头孢吃了三天身上起疹子，我就停了"
            # is a course cut short
            status = "completed"
        elif status == "missed" and _CHANGED.search(clause) and (_AS_TOLD.search(before) or _AS_TOLD.search(clause)):
            status = "taken"           # "医生看了指标，让我改成一天一片": the dose the doctor changed is the dose
        if status == "missed" and _NOT_YET.search(clause) and i + 1 < len(clauses) and _ABOUT_TO.search(clauses[i + 1]):
            status = "taken" if named else None
        if status == "missed":
            if named and _any(t["too_much"], clause):
                too_much += named
            if named:
                missed += named
                if _any(t["stopped_for_it"], clause) and not _any(t["stop_for_a_while"], clause):
                    given_up += named
            else:
                unnamed_miss, awaiting_drug = True, 3
                # "他自己把药停了，有一个礼拜了": given up, said of no drug by name
                unnamed_given_up = unnamed_given_up or (_any(t["stopped_for_it"], clause)
                                                        and not _any(t["stop_for_a_while"], text))
                unnamed_ran_out = unnamed_ran_out or _any(t["ran_out"], clause)
        elif status == "taken":
            # "波立维吃完了，我在药店买的国产氯吡格雷接着吃": the supply went on, no miss
            ran_out = [n for n in ran_out if n not in named]
            taken += named
            unnamed_taken = unnamed_taken or not named
        elif status == "completed":
            # "吃完了" of a course is done; of a drug taken for good it ran out ("阿司匹林吃完了，这三天没得吃").
            finished = named or all_names
            # a length said with it ("两个礼拜都吃完了", "the whole ten days") makes it a course finished
            as_course = courses | (set(named) if _any(t["course_said"], clause) else set())
            completed += [n for n in finished if n in as_course or not named]
            ran_out += [n for n in named if n not in as_course]
        elif status is None and named and awaiting_drug:
            missed += named
        awaiting_drug = max(0, awaiting_drug - 1)
        if named and status is None:
            pending, pending_age = named, 0
        elif status:
            pending = []
        pending_age += 1
        if named:
            previous = named
        before = clause
    missed += ran_out
    # "都按时吃，就是阿托伐他汀有两天……": an exception naming a drug is a miss of that drug even when the
    # words for the miss were misheard ("望门" for 忘了); taking it or its side effects are not.
    exception = _EXCEPTION.search(text)
    if not missed and exception and (taken or unnamed_taken):
        rest = exception.group(1)
        named = drugs_named(rest, drugs)
        if named and _status(rest) is None and not _EFFECT.search(rest) and set(named) < set(all_names):
            missed += named
    # An as-needed drug not taken because it was not needed ("止痛的那个基本没吃，不怎么疼") is no miss.
    if unnamed_ran_out and not missed and not taken:
        missed = list(all_names)         # "药都吃完了，儿子今天去医院拿": every drug ran out
    as_needed = {d.name for d in drugs if d.as_needed}
    # …but one given up for a complaint put down to it ("The naproxen I stop it, it was burning up my belly") is missed.
    blamed = set(given_up) if blames_drug(text) else set()
    # An as-needed drug said as not taken or taken now and then ("布洛芬就前两天吃了两回，后来不疼了就没吃") is taken as
    # needed: no miss, and an answer about it all the same.
    as_needed_said = [m for m in dict.fromkeys(missed) if m in as_needed and m not in too_much and m not in blamed]
    missed = [m for m in dict.fromkeys(missed) if m not in as_needed or m in too_much or m in blamed]
    all_names = [n for n in all_names if n not in as_needed] or all_names
    none_said = _any(t["none_taken"], text)
    # "全停了。吃了几天觉得好了…就都没吃了": nothing taken now, whatever was taken before; but "有一天一个都没吃"
    # is one day's miss, and a drug still named as taken is not stopped.
    if none_said and not _ONE_DAY.search(text) and not taken or \
            none_said and missed and set(missed) >= set(all_names):
        return AdherenceReading("none", all_names)
    if none_said and not missed:
        missed = list(all_names)         # "基本都吃了，就是有一天一个都没吃"
    never = _any(t["never_since"], text) and not taken
    if missed and never and set(missed) >= set(all_names):
        return AdherenceReading("none", all_names)    # "药一直没去拿", "stopped it the day he came home"
    # Every ordered drug given up, none taken: nothing is taken now. A course stopped early was taken in part
    # ("I stopped the antibiotic after three days"), and a stop for a while is a miss of some days.
    gone = set(given_up) | (set(missed) if _any(t["without_since"], text) else set())
    if missed and not taken and set(all_names) <= gone and not courses & gone and not _any(t["stop_for_a_while"], text):
        return AdherenceReading("none", all_names)
    if missed:
        # Every drug missed for a while ("针头用完了，断了三天") is partial; none is said in so many words.
        return AdherenceReading("partial", missed)
    if unnamed_miss:
        of_class = [d.name for d in drugs if d.name in all_names and d.drug_class in
                    {cls for cls, p in t["unnamed_classes"].items() if p.search(text)}]
        if len(all_names) == 1 or not of_class and t["unnamed_all"].search(text):
            # the only drug given up (not a course stopped early, which was taken in part) is nothing taken now
            gone = never or (unnamed_given_up and len(drugs) == 1 and not courses and not taken and not completed)
            return AdherenceReading("none" if gone else "partial", list(all_names))
        return AdherenceReading("partial", of_class)
    if taken or unnamed_taken or completed or as_needed_said:
        return AdherenceReading("full", [])
    return AdherenceReading(None)


def not_from_drug(sentence: str) -> bool:
    """The patient says this complaint is not caused by the medicine."""
    return _any(table()["not_from_drug"], sentence)


def blames_drug(text: str) -> bool:
    """The words put a complaint down to a medicine ("吃了老想吐", "it gave me a cough")."""
    return _any(table()["blames_drug"], text)


def stopped_for_it(sentence: str) -> bool:
    """The sentence says the medicine was stopped (because of a complaint)."""
    return _any(table()["stopped_for_it"], sentence)
