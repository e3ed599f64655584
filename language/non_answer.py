"""Non-answers (language/data/non_answers.yaml): the patient defers to someone else, stalls to go and
look, cannot tell, is busy, or says their medicines are in a muddle. Such an answer gives no generic yes
or no for a field — the field stays unclear and is asked again (fail closed) — though specific content
in the same answer still counts."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

TABLE_PATH = Path(__file__).parent / "data" / "non_answers.yaml"
KINDS = ("defer", "stall", "cannot_tell", "busy", "muddle")
# Not a kind of non-answer: the words that pass on someone else's answer after one (relayed_answer).
RELAY = "relay"


class NonAnswerTableError(ValueError):
    pass


@dataclass(frozen=True)
class NonAnswerRow:
    kind: str
    lang: str
    pattern: re.Pattern[str]
    example: str


@functools.lru_cache(maxsize=1)
def rows() -> tuple[NonAnswerRow, ...]:
    data = yaml.safe_load(TABLE_PATH.read_text(encoding="utf-8")) or {}
    unknown = set(data) - set(KINDS) - {RELAY}
    if unknown:
        raise NonAnswerTableError(f"{TABLE_PATH.name}: unknown kinds {sorted(unknown)}")
    out = []
    for kind in KINDS:
        for lang, items in (data.get(kind) or {}).items():
            if lang not in ("zh", "en"):
                raise NonAnswerTableError(f"{TABLE_PATH.name}: {kind}: unknown language {lang!r}")
            for item in items or []:
                if not isinstance(item, dict) or not item.get("pattern") or not item.get("example"):
                    raise NonAnswerTableError(f"{TABLE_PATH.name}: {kind}.{lang}: each row needs a pattern and an example")
                try:
                    pattern = re.compile(str(item["pattern"]), re.I)
                except re.error as exc:
                    raise NonAnswerTableError(f"{TABLE_PATH.name}: {kind}.{lang}: {exc}") from None
                out.append(NonAnswerRow(kind, lang, pattern, str(item["example"])))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _relay_patterns() -> tuple[re.Pattern[str], ...]:
    data = yaml.safe_load(TABLE_PATH.read_text(encoding="utf-8")) or {}
    out = []
    for lang, items in (data.get(RELAY) or {}).items():
        for item in items or []:
            try:
                out.append(re.compile(str(item["pattern"]), re.I))
            except (re.error, KeyError, TypeError) as exc:
                raise NonAnswerTableError(f"{TABLE_PATH.name}: {RELAY}.{lang}: {exc}") from None
    return tuple(out)


def relayed_answer(text: str) -> str:
    """The answer passed on after a stall or a deferral ("你等一下，我问问我老伴儿……他说都吃了", "Hang on, let me
    ask my wife... she says he takes them all"): the relative's words are the answer, the stall before them is
    not. Without a non-answer before the relay the text is returned as it is ("他说我血压高" stays whole)."""
    for pattern in _relay_patterns():
        for m in pattern.finditer(text):
            head, rest = text[:m.start()], text[m.end():]
            if rest.strip(" ，,。.!！") and non_answer_kind(head) in ("stall", "defer"):
                return rest.strip()
    return text


def non_answer_kind(text: str) -> str | None:
    """The kind of the first non-answer row the text matches (both languages: answers mix them), or None."""
    for row in rows():
        if row.pattern.search(text):
            return row.kind
    return None
