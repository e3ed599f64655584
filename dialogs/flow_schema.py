"""One schema and one navigation core for every dialog flow: follow-up calls and pre-consultation chat.

A flow file is YAML data validated with the pydantic models below when it is loaded. Both kinds of
flow share the step shape (`id`, `collect`, `description`, `ask`, `if`, `next`), texts in zh and en
with known placeholders, conditions combined with `not`/`any`/`all`, and `next` transitions
(a step id, END, or a list of `{if: …, then: STEP}` / `{else: STEP}`). A flow kind (a `FlowGrammar`)
adds only what is its own: the leaf conditions it can test (a follow-up call asks `has: medications`,
a chat `child: true`), its placeholders and its extra step keys. Nothing in a flow is evaluated as
code; an unknown key, condition, placeholder, step or translation is a FlowError at load, so a broken
flow stops the service at startup rather than in a patient's conversation.

The navigation (`holds`, `next_index`, `runnable_index`) is the engine core both engines use; each
engine supplies only how one leaf condition is read from its own state.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from language import catalog as catalogs

LANGUAGES = ("zh", "en")
END = "END"
COMBINATORS = ("not", "any", "all")


class FlowError(ValueError):
    """A flow file is invalid; the message names the file, the step and the problem."""


@dataclass(frozen=True)
class Condition:
    kind: str
    value: Any  # a leaf's validated value; not: Condition; any/all: tuple[Condition, ...]


@dataclass(frozen=True)
class Transition:
    condition: Condition | None  # None = else
    target: str


# A leaf validator gets the raw condition mapping and returns the leaf's value, or raises ValueError
# with the reason (the loader adds where it happened).
LeafValidator = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class FlowGrammar:
    """What one kind of flow may say: its leaf conditions and the placeholders of its texts."""
    name: str
    leaves: Mapping[str, LeafValidator]
    placeholders: frozenset[str]
    optional_placeholders: frozenset[str] = frozenset()   # may be in one language only (the spoken subject)
    leaf_keys: Mapping[str, frozenset[str]] = field(default_factory=dict)  # extra keys a leaf may carry (field: equals/known)

    @property
    def condition_kinds(self) -> tuple[str, ...]:
        return (*self.leaves, *COMBINATORS)


# ----- pydantic models of the document ------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StepModel(_Strict):
    """The keys every step of every flow may have."""
    id: str | None = None
    collect: str | None = None
    description: str = ""
    ask: dict[str, Any] | None = None
    if_: dict[str, Any] | None = Field(default=None, alias="if")
    next: str | list[dict[str, Any]] | None = None


class FollowupStepModel(StepModel):
    use: str | None = None
    say: dict[str, Any] | None = None
    reask: dict[str, Any] | None = None


class PreconsultStepModel(StepModel):
    kind: str = "text"
    section: str = "hpi"
    symptom: str | None = None
    cue: str | None = None
    cue_of: list[str] = Field(default_factory=list)


class FollowupFlowModel(_Strict):
    id: str | None = None
    description: str = ""
    priority: int = 1000
    match: dict[str, Any] = Field(default_factory=dict)
    steps: list[dict[str, Any]] = Field(min_length=1)


class PreconsultFlowModel(_Strict):
    id: str = "preconsult"
    description: str = ""
    max_reprompts: int = Field(default=1, ge=0, le=5)
    messages: dict[str, dict[str, Any]] = Field(default_factory=dict)
    steps: list[dict[str, Any]] = Field(min_length=1)


Model = TypeVar("Model", bound=BaseModel)


def validate(model: type[Model], raw: Any, where: str) -> Model:
    """`model` over `raw`, with pydantic's complaints turned into one FlowError naming `where`."""
    if not isinstance(raw, dict):
        raise FlowError(f"{where}: expected a mapping, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise FlowError(f"{where}: {_describe(exc, model)}") from None


def _describe(exc: ValidationError, model: type[BaseModel]) -> str:
    errors = exc.errors()
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        valid = sorted(f.alias or name for name, f in model.model_fields.items())
        return f"unknown key(s) {unknown}; valid: {', '.join(valid)}"
    first = errors[0]
    location = ".".join(str(part) for part in first["loc"])
    if first["type"] == "missing":
        return f"missing {location}"
    return f"{location}: {first['msg']}" if location else first["msg"]


def check_texts(where: str, raw: Any, placeholders: frozenset[str], optional: frozenset[str] = frozenset()) -> dict[str, str]:
    """A text in zh and en, both non-empty, with the same placeholders, only the flow kind's
    (the checks of every catalog, language/catalog.py)."""
    return catalogs.check_texts(where, raw, allowed=placeholders, optional=optional, error=FlowError)


def check_messages(where: str, raw: Any, required: frozenset[str], placeholders: frozenset[str],
                   optional: frozenset[str] = frozenset()) -> catalogs.Catalog:
    """The message catalog of a flow: exactly the required keys, each a text in both languages."""
    return catalogs.parse_catalog(where, raw, required=required, exact=True, allowed=placeholders, optional=optional,
                                  error=FlowError)


def parse_condition(where: str, raw: Any, grammar: FlowGrammar) -> Condition:
    kinds = grammar.condition_kinds
    if not isinstance(raw, dict) or not raw:
        raise FlowError(f"{where}: a condition is a mapping with one of {', '.join(kinds)}")
    kind = next((k for k in raw if k in grammar.leaf_keys), None) or next(iter(raw))
    if kind not in kinds:
        raise FlowError(f"{where}: unknown condition {kind!r}; valid: {', '.join(kinds)}")
    extra = set(raw) - {kind} - grammar.leaf_keys.get(kind, frozenset())
    if extra:
        raise FlowError(f"{where}: condition {kind!r} takes no {sorted(extra)}")
    value = raw[kind]
    if kind == "not":
        return Condition("not", parse_condition(where, value, grammar))
    if kind in ("any", "all"):
        if not isinstance(value, list) or not value:
            raise FlowError(f"{where}: '{kind}' takes a non-empty list of conditions")
        return Condition(kind, tuple(parse_condition(where, v, grammar) for v in value))
    try:
        return Condition(kind, grammar.leaves[kind](raw))
    except ValueError as exc:
        raise FlowError(f"{where}: {exc}") from None


def parse_next(where: str, raw: Any, grammar: FlowGrammar) -> tuple[Transition, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (Transition(None, raw),)
    if not isinstance(raw, list):
        raise FlowError(f"{where}: 'next' is a step id or a list of if/then and else")
    transitions = []
    for entry in raw:
        if isinstance(entry, dict) and set(entry) == {"if", "then"}:
            transitions.append(Transition(parse_condition(where, entry["if"], grammar), str(entry["then"])))
        elif isinstance(entry, dict) and set(entry) == {"else"}:
            transitions.append(Transition(None, str(entry["else"])))
        else:
            raise FlowError(f"{where}: each 'next' entry is {{if: ..., then: STEP}} or {{else: STEP}}")
    return tuple(transitions)


class NavigableStep(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def condition(self) -> Condition | None: ...
    @property
    def next(self) -> tuple[Transition, ...]: ...


def check_step_graph(where: str, steps: Sequence[NavigableStep]) -> None:
    """Step ids are unique and every `next` names a step of the flow or END."""
    ids = [s.id for s in steps]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise FlowError(f"{where}: duplicate step id(s) {sorted(duplicates)}; give one an 'id'")
    for step in steps:
        for transition in step.next:
            if transition.target != END and transition.target not in ids:
                raise FlowError(f"{where}:{step.id}: 'next' names unknown step {transition.target!r}; valid: {', '.join(ids + [END])}")


# ----- the navigation both engines share ------------------------------------------------------------------------

LeafTest = Callable[[Condition], bool]


def holds(condition: Condition | None, leaf: LeafTest) -> bool:
    """Whether a condition holds; `leaf` reads one leaf condition from the engine's own state."""
    if condition is None:
        return True
    if condition.kind == "not":
        return not holds(condition.value, leaf)
    if condition.kind == "any":
        return any(holds(c, leaf) for c in condition.value)
    if condition.kind == "all":
        return all(holds(c, leaf) for c in condition.value)
    return leaf(condition)


def next_index(steps: Sequence[NavigableStep], index: int, leaf: LeafTest) -> int:
    """The index the flow goes to after the step at `index`: the first `next` transition that holds
    (END = len(steps)), else the following step."""
    for transition in steps[index].next:
        if holds(transition.condition, leaf):
            if transition.target == END:
                return len(steps)
            return next(i for i, s in enumerate(steps) if s.id == transition.target)
    return index + 1


def runnable_index(steps: Sequence[NavigableStep], index: int, leaf: LeafTest) -> int:
    """The first step from `index` on whose `if` holds; len(steps) when none is left."""
    while index < len(steps) and not holds(steps[index].condition, leaf):
        index += 1
    return index
