"""The clinical rule table (dialogs/rules/clinical_rules.yaml): loader, validator and interpreter.

Every threshold and every rule that raises a follow-up flag, grades a call or triages a pre-consultation
lives in that one versioned table. It is validated when loaded — its shape by pydantic, and every name
against what the code can supply: facts, thresholds, symptom codes (the outcome contract's codes for
follow-up, knowledge/data/preconsult_symptoms.yaml for triage), cues, contexts, operators, placeholders,
rule ids — so a broken table (or a hospital override naming an unknown threshold) stops the service at
start with a message naming the rule, never in a patient's call. Conditions are mappings from a fixed
list of kinds, interpreted here; no string in the table is ever evaluated as code (regular expressions
are only matched).

The groups (`applies_to`) and what each rule sees:
- triage: a ClinicalPicture (dialogs/triage.py); every row that holds adds a reason.
- followup_symptom: one reported symptom or side effect with its cues; the first row that holds is its flag.
- followup: the call's readings and answers (dialogs/flags.py); every row that holds adds a flag.
- risk_grade: the call's flags and how much is known; the first row that holds is the grade.

A subject (what a group's rules are evaluated over) is any object with the methods of `Subject`."""

from __future__ import annotations

import functools
import hashlib
import operator
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_RULES_PATH = Path(__file__).resolve().parent / "rules" / "clinical_rules.yaml"
ROOT = Path(__file__).resolve().parent.parent

TRIAGE_LEVELS = ("self_care", "routine", "urgent", "emergency")
FLAG_LEVELS = ("red", "yellow")
GRADES = ("red", "yellow", "blue", "grey")
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
OPS = (*COMPARISONS, "==", "in", "known", "missing")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class RulesError(ValueError):
    """The rule table (or an override of it) is invalid; the message names the file, the rule and the problem."""


# ----- the vocabulary of each group --------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupSpec:
    name: str
    levels: tuple[str, ...]
    first_match: bool               # the first row that holds decides (else every row that holds counts)
    kinds: frozenset[str]           # condition kinds allowed
    facts: frozenset[str]           # names for {fact: …} and reason placeholders
    placeholders: frozenset[str]    # further reason placeholders
    evidence: str                   # symptoms | field | none
    lists: frozenset[str] = frozenset()   # lists the group's facts need

    def placeholder_names(self, thresholds: Mapping[str, Any]) -> frozenset[str]:
        return self.facts | self.placeholders | frozenset(thresholds)


_COMMON = frozenset({"all", "any", "not", "ref"})
TRIAGE_FACTS = frozenset({"temperature_c", "spo2", "heart_rate", "resp_rate", "systolic", "diastolic", "pain_score",
                          "age_years", "weight_kg"})
FOLLOWUP_FACTS = frozenset({"systolic", "diastolic", "glucose", "temperature", "pain_score", "wound", "satisfaction",
                            "overall_condition", "medication_adherence", "missed_critical", "on_critical_medication",
                            "post_surgery", "days_since_discharge"})
# The words behind one answer, for a follow-up flag's evidence: an outcome field, or a reading's own source.
FOLLOWUP_EVIDENCE = frozenset({"blood_pressure", "glucose", "temperature", "pain_score", "wound", "missed_medications",
                               "medication_adherence", "overall_condition", "satisfaction"})
NUMERIC_CUES = frozenset({"duration_min", "temperature", "glucose"})

GROUPS: dict[str, GroupSpec] = {
    "triage": GroupSpec(
        "triage", TRIAGE_LEVELS, False,
        _COMMON | {"fact", "symptom", "denied", "any_symptom", "cue", "context", "fired", "text_matches", "evidence_matches"},
        TRIAGE_FACTS, frozenset(), "symptoms"),
    "followup_symptom": GroupSpec(
        "followup_symptom", FLAG_LEVELS, True, _COMMON | {"symptom", "cue"}, frozenset(),
        frozenset({"symptom", "symptom_zh", "duration_min"}), "none"),
    "followup": GroupSpec(
        "followup", FLAG_LEVELS, False, _COMMON | {"fact", "cue", "fired", "evidence_matches"}, FOLLOWUP_FACTS,
        frozenset(), "field", frozenset({"critical_medication_classes"})),
    "risk_grade": GroupSpec(
        "risk_grade", GRADES, True, _COMMON | {"fact"},
        frozenset({"has_red_flag", "has_yellow_flag", "known_fields", "medication_adherence"}), frozenset(), "none",
        frozenset({"grade_known_fields"})),
}
TEXT_PLACEHOLDERS = frozenset({"missed_critical"})   # reason placeholders that may hold several words


class Subject(Protocol):
    """What a group's rules are evaluated over (dialogs/triage.py, dialogs/flags.py)."""

    def fact(self, name: str) -> Any: ...
    def has_symptom(self, names: tuple[str, ...], leave_out: tuple[str, ...]) -> bool: ...
    def denied(self, names: tuple[str, ...]) -> bool: ...
    def any_symptom(self) -> bool: ...
    def cue_values(self, key: str, of: tuple[str, ...] | None) -> list[Any]: ...
    def context(self, name: str) -> bool: ...
    def text(self) -> str: ...
    def evidence_text(self, of: tuple[str, ...]) -> str: ...
    def evidence(self, spec: Evidence | None) -> str: ...
    def values(self) -> dict[str, Any]: ...


@functools.cache
def _vocabulary() -> dict[str, frozenset[str]]:
    """Names the code can supply, read where they are defined (imported late: those modules use this one)."""
    import yaml as _yaml

    from dialogs.findings import CUE_NAMES as triage_cues
    from dialogs.findings import lexicon as preconsult_lexicon
    from dialogs.triage import CONTEXT_NAMES
    from language.cues import cue_names
    from records.outcome_contract import BY_NAME, OUTCOME_FIELDS

    entries = preconsult_lexicon().entries
    drugs = _yaml.safe_load((ROOT / "knowledge" / "data" / "drugs.yaml").read_text(encoding="utf-8"))["drugs"]
    return {
        "triage_symptoms": frozenset(entries) | frozenset(e.code for e in entries.values() if e.code),
        "followup_symptoms": frozenset(BY_NAME["symptoms"].codes),
        "triage_cues": frozenset(triage_cues),
        "followup_cues": frozenset(cue_names()) | {"pus", "heavy"},
        "contexts": frozenset(CONTEXT_NAMES),
        "drug_classes": frozenset(str(d["class"]) for d in drugs),
        "outcome_fields": frozenset(OUTCOME_FIELDS),
    }


# ----- the table's shape (pydantic) -------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThresholdDef(_Strict):
    value: int | float
    unit: str = Field(min_length=1)
    about: str = ""
    # Also used outside the rules, where words are read (which fever word, who is a child): a hospital may not
    # override it, so the words and the rules never disagree.
    fixed: bool = False

    @field_validator("value", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"must be a number, not {value!r}")
        return value


class ReasonText(_Strict):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class RuleRow(_Strict):
    id: str
    applies_to: str
    level: str
    condition: Any = Field(default=None, alias="if")
    reason: ReasonText
    evidence: Any = None
    code: str | None = None

    @field_validator("id", "code")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        if value is not None and not _ID.match(value):
            raise ValueError(f"{value!r} is not an id (lower case letters, digits and _)")
        return value

    @field_validator("applies_to")
    @classmethod
    def _group(cls, value: str) -> str:
        if value not in GROUPS:
            raise ValueError(f"unknown group {value!r}; one of {', '.join(GROUPS)}")
        return value


class RuleFile(_Strict):
    version: int = Field(ge=1)
    thresholds: dict[str, ThresholdDef]
    lists: dict[str, list[str]] = {}
    symptom_words: dict[str, str] = {}
    definitions: dict[str, dict[str, Any]] = {}
    rules: list[RuleRow] = Field(min_length=1)


# ----- conditions --------------------------------------------------------------------------------------------

@dataclass
class _Env:
    subject: Any
    thresholds: Mapping[str, float]
    definitions: Mapping[str, Cond]
    fired: set[str]


class Cond:
    def holds(self, env: _Env) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class All(Cond):
    items: tuple[Cond, ...]

    def holds(self, env: _Env) -> bool:
        return all(c.holds(env) for c in self.items)


@dataclass(frozen=True)
class AnyOf(Cond):
    items: tuple[Cond, ...]

    def holds(self, env: _Env) -> bool:
        return any(c.holds(env) for c in self.items)


@dataclass(frozen=True)
class Not(Cond):
    item: Cond

    def holds(self, env: _Env) -> bool:
        return not self.item.holds(env)


@dataclass(frozen=True)
class Ref(Cond):
    name: str

    def holds(self, env: _Env) -> bool:
        return env.definitions[self.name].holds(env)


@dataclass(frozen=True)
class Fact(Cond):
    name: str
    op: str
    threshold: str | None = None
    value: Any = None

    def holds(self, env: _Env) -> bool:
        actual = env.subject.fact(self.name)
        if self.op == "known":
            return actual is not None
        if self.op == "missing":
            return actual is None
        if actual is None:
            return False
        if self.op in COMPARISONS:
            return COMPARISONS[self.op](actual, env.thresholds[self.threshold])  # type: ignore[index]
        if self.op == "in":
            return actual in self.value
        return actual == self.value


@dataclass(frozen=True)
class Symptom(Cond):
    names: tuple[str, ...]
    leave_out: tuple[str, ...] = ()

    def holds(self, env: _Env) -> bool:
        return env.subject.has_symptom(self.names, self.leave_out)


@dataclass(frozen=True)
class Denied(Cond):
    names: tuple[str, ...]

    def holds(self, env: _Env) -> bool:
        return env.subject.denied(self.names)


@dataclass(frozen=True)
class AnySymptom(Cond):
    def holds(self, env: _Env) -> bool:
        return env.subject.any_symptom()


@dataclass(frozen=True)
class Cue(Cond):
    key: str
    of: tuple[str, ...] | None = None
    op: str | None = None
    threshold: str | None = None

    def holds(self, env: _Env) -> bool:
        values = env.subject.cue_values(self.key, self.of)
        if self.op is None:
            return any(bool(v) for v in values)
        line = env.thresholds[self.threshold]  # type: ignore[index]
        return any(isinstance(v, (int, float)) and not isinstance(v, bool) and COMPARISONS[self.op](v, line)
                   for v in values)


@dataclass(frozen=True)
class Context(Cond):
    name: str

    def holds(self, env: _Env) -> bool:
        return env.subject.context(self.name)


@dataclass(frozen=True)
class Fired(Cond):
    ids: tuple[str, ...]

    def holds(self, env: _Env) -> bool:
        return any(i in env.fired for i in self.ids)


@dataclass(frozen=True)
class TextMatches(Cond):
    pattern: re.Pattern[str]

    def holds(self, env: _Env) -> bool:
        return self.pattern.search(env.subject.text()) is not None


@dataclass(frozen=True)
class EvidenceMatches(Cond):
    pattern: re.Pattern[str]
    of: tuple[str, ...]

    def holds(self, env: _Env) -> bool:
        return self.pattern.search(env.subject.evidence_text(self.of)) is not None


@dataclass(frozen=True)
class Evidence:
    """Where a rule's evidence comes from: present symptoms' words (triage; `cue` keeps those carrying it),
    or the words behind one answer (followup)."""

    symptoms: tuple[str, ...] = ()
    cue: str | None = None
    field: str | None = None


# ----- compiling the table ----------------------------------------------------------------------------------

_KIND_KEYS: dict[str, frozenset[str]] = {
    "all": frozenset({"all"}), "any": frozenset({"any"}), "not": frozenset({"not"}), "ref": frozenset({"ref"}),
    "fact": frozenset({"fact", "op", "threshold", "value"}), "symptom": frozenset({"symptom", "except"}),
    "denied": frozenset({"denied"}), "any_symptom": frozenset({"any_symptom"}),
    "cue": frozenset({"cue", "of", "op", "threshold"}), "context": frozenset({"context"}), "fired": frozenset({"fired"}),
    "text_matches": frozenset({"text_matches"}), "evidence_matches": frozenset({"evidence_matches", "of"}),
}


class _Compiler:
    def __init__(self, table: RuleFile, thresholds: Mapping[str, float], vocab: dict[str, frozenset[str]]) -> None:
        self.table = table
        self.thresholds = thresholds
        self.vocab = vocab
        self.definitions: dict[str, dict[str, Cond]] = {g: {} for g in GROUPS}
        self._compiling: list[str] = []

    # ------ names
    def _names(self, where: str, raw: Any, allowed: frozenset[str], what: str) -> tuple[str, ...]:
        items = raw if isinstance(raw, list) else [raw]
        if not items or not all(isinstance(i, str) for i in items):
            raise RulesError(f"{where}: {what} must be a name or a list of names, not {raw!r}")
        unknown = [i for i in items if i not in allowed]
        if unknown:
            raise RulesError(f"{where}: unknown {what} {', '.join(map(repr, unknown))}")
        return tuple(items)

    def _symptoms(self, where: str, group: str, raw: Any) -> tuple[str, ...]:
        key = "triage_symptoms" if group == "triage" else "followup_symptoms"
        what = "symptom name or code (knowledge/data/preconsult_symptoms.yaml)" if group == "triage" else \
            "symptom code (records/outcome_contract.py)"
        return self._names(where, raw, self.vocab[key], what)

    def _threshold(self, where: str, raw: Any) -> str:
        if not isinstance(raw, str) or raw not in self.thresholds:
            raise RulesError(f"{where}: unknown threshold {raw!r} (thresholds are named in the table's thresholds:)")
        return raw

    def _pattern(self, where: str, raw: Any) -> re.Pattern[str]:
        if not isinstance(raw, str) or not raw:
            raise RulesError(f"{where}: a pattern must be a non-empty regular expression")
        try:
            return re.compile(raw, re.I)
        except re.error as exc:
            raise RulesError(f"{where}: bad regular expression {raw!r}: {exc}") from None

    # ------ conditions
    def condition(self, where: str, group: str, raw: Any, *, earlier: set[str]) -> Cond:
        spec = GROUPS[group]
        if isinstance(raw, str):
            raise RulesError(f"{where}: the condition {raw!r} is a string; a condition is a mapping such as "
                             "{fact: systolic, op: '>=', threshold: systolic_red_high} — nothing in the table is "
                             "evaluated as code")
        if not isinstance(raw, dict) or not raw:
            raise RulesError(f"{where}: a condition must be a non-empty mapping, not {raw!r}")
        kinds = [k for k in raw if k in _KIND_KEYS and k not in ("op", "threshold", "value", "of", "except")]
        if len(kinds) != 1:
            raise RulesError(f"{where}: a condition needs exactly one of {', '.join(sorted(spec.kinds))}; "
                             f"got keys {', '.join(map(str, raw))}")
        kind = kinds[0]
        if kind not in spec.kinds:
            raise RulesError(f"{where}: condition {kind!r} is not available to {group} rules "
                             f"(available: {', '.join(sorted(spec.kinds))})")
        extra = set(raw) - _KIND_KEYS[kind]
        if extra:
            raise RulesError(f"{where}: unknown key(s) {', '.join(sorted(map(str, extra)))} in a {kind!r} condition")
        here = f"{where}.{kind}"
        value = raw[kind]
        if kind in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise RulesError(f"{here}: needs a non-empty list of conditions")
            items = tuple(self.condition(f"{here}[{i}]", group, c, earlier=earlier) for i, c in enumerate(value))
            return All(items) if kind == "all" else AnyOf(items)
        if kind == "not":
            return Not(self.condition(here, group, value, earlier=earlier))
        if kind == "ref":
            return self._ref(here, group, value)
        if kind == "fact":
            return self._fact(here, group, raw)
        if kind == "symptom":
            leave_out = self._symptoms(f"{here}.except", group, raw["except"]) if "except" in raw else ()
            if leave_out and group != "triage":
                raise RulesError(f"{here}: 'except' is for triage rules")
            return Symptom(self._symptoms(here, group, value), leave_out)
        if kind == "denied":
            return Denied(self._symptoms(here, group, value))
        if kind == "any_symptom":
            if value is not True:
                raise RulesError(f"{here}: write {{any_symptom: true}}")
            return AnySymptom()
        if kind == "cue":
            return self._cue(here, group, raw)
        if kind == "context":
            return Context(self._names(here, value, self.vocab["contexts"], "context (dialogs/triage.py)")[0])
        if kind == "fired":
            ids = self._names(here, value, frozenset(earlier), f"rule id (an earlier {group} rule)")
            return Fired(ids)
        if kind == "text_matches":
            return TextMatches(self._pattern(here, value))
        of = self._evidence_names(f"{here}.of", group, raw.get("of"))
        return EvidenceMatches(self._pattern(here, value), of)

    def _ref(self, where: str, group: str, name: Any) -> Cond:
        raw_defs = self.table.definitions.get(group, {})
        if not isinstance(name, str) or name not in raw_defs:
            raise RulesError(f"{where}: unknown definition {name!r} for {group} rules "
                             f"(defined: {', '.join(sorted(raw_defs)) or 'none'})")
        if name not in self.definitions[group]:
            if name in self._compiling:
                raise RulesError(f"{where}: definition {name!r} refers to itself ({' → '.join(self._compiling)} → {name})")
            self._compiling.append(name)
            self.definitions[group][name] = self.condition(f"definitions.{group}.{name}", group, raw_defs[name],
                                                           earlier=set())
            self._compiling.pop()
        return Ref(name)

    def _fact(self, where: str, group: str, raw: dict[str, Any]) -> Fact:
        spec = GROUPS[group]
        name = raw["fact"]
        if name not in spec.facts:
            raise RulesError(f"{where}: unknown fact {name!r} for {group} rules (facts: {', '.join(sorted(spec.facts))})")
        op = raw.get("op")
        if op not in OPS:
            raise RulesError(f"{where}: unknown op {op!r}; one of {', '.join(OPS)}")
        if op in COMPARISONS:
            if "value" in raw or "threshold" not in raw:
                raise RulesError(f"{where}: op {op!r} compares with a named threshold (threshold: NAME); "
                                 "numbers live in the thresholds section, once")
            return Fact(name, op, threshold=self._threshold(where, raw["threshold"]))
        if op in ("known", "missing"):
            if "value" in raw or "threshold" in raw:
                raise RulesError(f"{where}: op {op!r} takes no value or threshold")
            return Fact(name, op)
        if "threshold" in raw or "value" not in raw:
            raise RulesError(f"{where}: op {op!r} needs a value (a code, true or false)")
        value = raw["value"]
        if op == "in":
            if not isinstance(value, list) or not value:
                raise RulesError(f"{where}: op 'in' needs a list of values")
            bad = [v for v in value if not isinstance(v, (str, bool))]
            value = tuple(value)
        else:
            bad = [] if isinstance(value, (str, bool)) else [value]
        if bad:
            raise RulesError(f"{where}: {bad[0]!r}: a value is a code or true/false; compare numbers with a named threshold")
        return Fact(name, op, value=value)

    def _cue(self, where: str, group: str, raw: dict[str, Any]) -> Cue:
        known = self.vocab["triage_cues" if group == "triage" else "followup_cues"]
        key = self._names(where, raw["cue"], known, "cue")[0]
        of: tuple[str, ...] | None
        if group == "followup_symptom":
            if "of" in raw:
                raise RulesError(f"{where}: a followup_symptom cue is the graded symptom's own; leave out 'of'")
            of = None
        elif "of" not in raw:
            raise RulesError(f"{where}: say whose cue: of: [symptoms]")
        elif group == "triage":
            of = self._symptoms(f"{where}.of", group, raw["of"])
        else:
            of = self._names(f"{where}.of", raw["of"], self.vocab["followup_symptoms"] | {"wound"}, "symptom code or wound")
        if "op" not in raw and "threshold" not in raw:
            return Cue(key, of)
        if group == "triage":
            raise RulesError(f"{where}: triage cues are true or false; no op")
        op = raw.get("op")
        if op not in COMPARISONS:
            raise RulesError(f"{where}: unknown op {op!r} for a cue; one of {', '.join(COMPARISONS)}")
        if key not in NUMERIC_CUES:
            raise RulesError(f"{where}: cue {key!r} is not a number; only {', '.join(sorted(NUMERIC_CUES))} compare")
        return Cue(key, of, op, self._threshold(where, raw.get("threshold")))

    def _evidence_names(self, where: str, group: str, raw: Any) -> tuple[str, ...]:
        if raw is None:
            raise RulesError(f"{where}: say whose evidence: of: [names]")
        if group == "triage":
            return self._symptoms(where, group, raw)
        return self._names(where, raw, FOLLOWUP_EVIDENCE, "evidence field")

    # ------ rows
    def evidence(self, where: str, group: str, raw: Any) -> Evidence | None:
        mode = GROUPS[group].evidence
        if raw is None:
            return None
        if mode == "none":
            raise RulesError(f"{where}: {group} rules take no evidence (the flag quotes the symptom's own words)"
                             if group == "followup_symptom" else f"{where}: {group} rules take no evidence")
        if mode == "field":
            return Evidence(field=self._names(where, raw, FOLLOWUP_EVIDENCE, "evidence field")[0])
        if isinstance(raw, dict):
            extra = set(raw) - {"symptoms", "cue"}
            if extra or "symptoms" not in raw:
                raise RulesError(f"{where}: evidence is [names] or {{symptoms: [names], cue: KEY}}")
            cue = self._names(f"{where}.cue", raw["cue"], self.vocab["triage_cues"], "cue")[0] if "cue" in raw else None
            return Evidence(symptoms=self._symptoms(where, group, raw["symptoms"]), cue=cue)
        return Evidence(symptoms=self._symptoms(where, group, raw))

    def template(self, where: str, group: str, text: str) -> frozenset[str]:
        allowed = GROUPS[group].placeholder_names(self.thresholds)
        names = set()
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise RulesError(f"{where}: {exc} in {text!r}") from None
        for _, name, spec, conversion in parsed:
            if name is None:
                continue
            if not name.isidentifier() or spec or conversion:
                raise RulesError(f"{where}: placeholder {{{name}{'!' + conversion if conversion else ''}"
                                 f"{':' + spec if spec else ''}}} is not a plain {{name}}")
            if name not in allowed:
                raise RulesError(f"{where}: unknown placeholder {{{name}}} (facts: {', '.join(sorted(GROUPS[group].facts | GROUPS[group].placeholders))}, "
                                 "or a threshold name)")
            names.add(name)
        return frozenset(names)


@dataclass(frozen=True)
class Rule:
    id: str
    group: str
    level: str
    code: str
    condition: Cond | None
    zh: str
    en: str
    evidence: Evidence | None
    symptoms: tuple[str, ...] = ()     # followup_symptom: the codes the row can grade (all when empty)

    @property
    def key(self) -> str:
        return f"{self.group}:{self.id}"


@dataclass(frozen=True)
class RuleResult:
    """A rule that held, with its reason rendered."""

    rule: Rule
    level: str
    code: str
    zh: str
    en: str
    evidence: str

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class _Blank(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "None"


@dataclass(frozen=True)
class ClinicalRules:
    version: int
    source: str
    sha256: str
    thresholds: Mapping[str, float]            # effective values (the table's, with a hospital's overrides)
    units: Mapping[str, str]
    overridden: frozenset[str]
    fixed: frozenset[str]
    lists: Mapping[str, tuple[str, ...]]
    rules: tuple[Rule, ...]
    definitions: Mapping[str, Mapping[str, Cond]] = field(repr=False)
    symptom_word_overrides: Mapping[str, str] = field(default_factory=dict)
    _by_group: dict[str, tuple[Rule, ...]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_group.update({g: tuple(r for r in self.rules if r.group == g) for g in GROUPS})

    def threshold(self, name: str) -> float:
        try:
            return self.thresholds[name]
        except KeyError:
            raise RulesError(f"no threshold {name!r} in {self.source}") from None

    def group(self, name: str) -> tuple[Rule, ...]:
        return self._by_group[name]

    def symptom_words(self, code: str) -> str:
        """How a follow-up symptom code is named in an English reason."""
        return self.symptom_word_overrides.get(code) or code.replace("_", " ")

    def evaluate(self, group: str, subject: Any) -> list[RuleResult]:
        """The rows of a group that hold for the subject, in table order (first-match groups: at most one)."""
        spec = GROUPS[group]
        env = _Env(subject=subject, thresholds=self.thresholds, definitions=self.definitions[group], fired=set())
        out: list[RuleResult] = []
        values: dict[str, Any] | None = None
        for rule in self._by_group[group]:
            if rule.condition is not None and not rule.condition.holds(env):
                continue
            env.fired.add(rule.id)
            if values is None:
                values = _Blank({**self.thresholds, **subject.values()})
            out.append(RuleResult(rule=rule, level=rule.level, code=rule.code, zh=rule.zh.format_map(values),
                               en=rule.en.format_map(values), evidence=subject.evidence(rule.evidence)))
            if spec.first_match:
                break
        return out


def _coerce(name: str, default: int | float, value: Any, source: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RulesError(f"{source}: threshold {name}: the override {value!r} is not a number")
    if isinstance(default, int):
        if float(value) != int(value):
            raise RulesError(f"{source}: threshold {name}: {value!r} must be a whole number (like {default})")
        return int(value)
    return float(value)


def _positive_symptoms(cond: Cond | None, definitions: Mapping[str, Cond]) -> set[str]:
    """The symptom codes a followup_symptom row names outside a `not` (what its {symptom} can be)."""
    if cond is None:
        return set()
    if isinstance(cond, Symptom):
        return set(cond.names)
    if isinstance(cond, Ref):
        return _positive_symptoms(definitions[cond.name], definitions)
    if isinstance(cond, (All, AnyOf)):
        return set().union(*(_positive_symptoms(c, definitions) for c in cond.items))
    return set()


def parse_rules(text: str, *, source: str = "<rules>", overrides: Mapping[str, Any] | None = None) -> ClinicalRules:
    """Validate a rule table and compile it; RulesError names the problem."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulesError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise RulesError(f"{source}: the top level must be a mapping with version, thresholds and rules")
    try:
        table = RuleFile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = list(err["loc"])
            if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
                row = (raw.get("rules") or [])[loc[1]]
                loc[1] = f"{loc[1]}({row.get('id', '?') if isinstance(row, dict) else '?'})"
            problems.append(f"{'.'.join(map(str, loc))}: {err['msg']}")
        raise RulesError(f"{source}: " + "; ".join(problems)) from None

    defaults = {name: t.value for name, t in table.thresholds.items()}
    for name in defaults:
        if not _ID.match(name):
            raise RulesError(f"{source}: threshold name {name!r} is not an id (lower case letters, digits and _)")
    unknown = sorted(set(overrides or {}) - set(defaults))
    if unknown:
        raise RulesError(f"{source}: override of unknown threshold(s) {', '.join(unknown)}; "
                         f"the table names: {', '.join(sorted(defaults))}")
    fixed = sorted(name for name in overrides or {} if table.thresholds[name].fixed)
    if fixed:
        raise RulesError(f"{source}: threshold(s) {', '.join(fixed)} are fixed (the words are read with them too, "
                         "dialogs/findings.py and dialogs/preconsult.py) and cannot be overridden")
    thresholds = {name: _coerce(name, defaults[name], (overrides or {}).get(name, value), source)
                  for name, value in defaults.items()}

    vocab = _vocabulary()
    compiler = _Compiler(table, thresholds, vocab)
    for group in table.definitions:
        if group not in GROUPS:
            raise RulesError(f"{source}: definitions.{group}: unknown group; one of {', '.join(GROUPS)}")
    bad_words = sorted(set(table.symptom_words) - vocab["followup_symptoms"])
    if bad_words:
        raise RulesError(f"{source}: symptom_words: unknown symptom code(s) {', '.join(bad_words)}")
    lists = {name: tuple(items) for name, items in table.lists.items()}
    for group, spec in GROUPS.items():
        for name in sorted(spec.lists - set(lists)):
            raise RulesError(f"{source}: lists.{name} is needed by the {group} rules")
    bad = sorted(set(lists.get("critical_medication_classes", ())) - vocab["drug_classes"])
    if bad:
        raise RulesError(f"{source}: lists.critical_medication_classes: unknown drug class(es) {', '.join(bad)} "
                         "(knowledge/data/drugs.yaml)")
    bad = sorted(set(lists.get("grade_known_fields", ())) - vocab["outcome_fields"])
    if bad:
        raise RulesError(f"{source}: lists.grade_known_fields: unknown outcome field(s) {', '.join(bad)}")

    rules: list[Rule] = []
    seen: dict[str, set[str]] = {g: set() for g in GROUPS}
    try:
        for i, row in enumerate(table.rules):
            group, where = row.applies_to, f"{source}: rules[{i}] {row.applies_to}:{row.id}"
            spec = GROUPS[group]
            if row.id in seen[group]:
                raise RulesError(f"{where}: duplicate id in {group}")
            if row.level not in spec.levels:
                raise RulesError(f"{where}: unknown level {row.level!r}; one of {', '.join(spec.levels)}")
            if row.code is not None and group == "followup_symptom":
                raise RulesError(f"{where}: no code here; a symptom's flag code is symptom_<code>")
            cond = None if row.condition is None else compiler.condition(f"{where} if", group, row.condition,
                                                                         earlier=seen[group])
            zh_names = compiler.template(f"{where} reason.zh", group, row.reason.zh)
            en_names = compiler.template(f"{where} reason.en", group, row.reason.en)
            if group.startswith("followup") and not zh_names <= en_names | {"symptom_zh"}:
                # The English reason is what a flag stores; the review page words it in Chinese from it.
                raise RulesError(f"{where}: reason.zh uses {', '.join(sorted(zh_names - en_names))} that reason.en "
                                 "does not say")
            evidence = compiler.evidence(f"{where} evidence", group, row.evidence)
            rule = Rule(id=row.id, group=group, level=row.level, code=row.code or row.id, condition=cond,
                        zh=row.reason.zh, en=row.reason.en, evidence=evidence)
            if group == "followup_symptom":
                rule = replace(rule, symptoms=tuple(sorted(_positive_symptoms(cond, compiler.definitions[group]))))
            rules.append(rule)
            seen[group].add(row.id)
        for group, raw_defs in table.definitions.items():   # unused definitions are still checked
            for name in raw_defs:
                compiler._ref(f"{source}: definitions.{group}.{name}", group, name)
    except RulesError as exc:
        message = str(exc)
        raise RulesError(message if message.startswith(source) else f"{source}: {message}") from None
    for group, spec in GROUPS.items():
        rows = [r for r in rules if r.group == group]
        if not rows:   # a table without, say, triage rules would call every chat self-care
            raise RulesError(f"{source}: no {group} rules; every group needs its rules")
        if spec.first_match and rows[-1].condition is not None:
            raise RulesError(f"{source}: the last {group} rule ({rows[-1].id}) must have no condition, so that "
                             f"every {'reported symptom gets a flag' if group == 'followup_symptom' else 'call gets a grade'}")
    return ClinicalRules(
        version=table.version, source=source, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        thresholds=thresholds, units={n: t.unit for n, t in table.thresholds.items()},
        overridden=frozenset(overrides or {}), fixed=frozenset(n for n, t in table.thresholds.items() if t.fixed),
        lists=lists, rules=tuple(rules),
        definitions={g: dict(d) for g, d in compiler.definitions.items()},
        symptom_word_overrides=dict(table.symptom_words))


@functools.lru_cache(maxsize=32)
def _load(path: str, mtime_ns: int, overrides: tuple[tuple[str, Any], ...]) -> ClinicalRules:
    return parse_rules(Path(path).read_text(encoding="utf-8"), source=path, overrides=dict(overrides))


def load_rules(path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None) -> ClinicalRules:
    """The rule table at `path` (default: the packaged one) with a hospital's threshold overrides."""
    target = Path(path) if path else DEFAULT_RULES_PATH
    try:
        stat = target.stat()
    except OSError as exc:
        raise RulesError(f"{target}: cannot read the clinical rule table: {exc.strerror}") from None
    rules = _load(str(target), stat.st_mtime_ns, tuple(sorted((overrides or {}).items())))
    if target.resolve() != DEFAULT_RULES_PATH:
        packaged = default_rules()
        missing = sorted(set(packaged.fixed) - set(rules.thresholds))
        changed = sorted(n for n in packaged.fixed if n in rules.thresholds and rules.thresholds[n] != packaged.thresholds[n])
        if missing or changed:
            raise RulesError(f"{target}: fixed threshold(s) {', '.join(missing + changed)} must be kept as in "
                             f"{DEFAULT_RULES_PATH.name} (the words are read with them too)")
    return rules


@functools.cache
def default_rules() -> ClinicalRules:
    """The packaged table without overrides (what evaluations and tests use unless told otherwise)."""
    return load_rules()


def default_threshold(name: str) -> float:
    """A threshold of the packaged table, for the language-side helpers that keep a reading when it reaches a
    flag line (dialogs/understanding.py) or name a fever or a child (dialogs/findings.py, dialogs/preconsult.py)."""
    return default_rules().threshold(name)
