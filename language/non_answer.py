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
    unknown = set(data) - set(KINDS)
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


def non_answer_kind(text: str) -> str | None:
    """The kind of the first non-answer row the text matches (both languages: answers mix them), or None."""
    for row in rows():
        if row.pattern.search(text):
            return row.kind
    return None
