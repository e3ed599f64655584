"""Reasons on flags and review items: the catalog records/data/review_reasons.yaml.

A reason is stored in English with its figures ("no answer after 4 tries: call the patient"); the
review page shows it in the page's language by matching the stored text against each entry's English
template (api/web/reasons.py). SLOTS fixes what each placeholder may match, so a template is also the
pattern that reads it back."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from language.catalog import Catalog, load_catalog

PATH = Path(__file__).resolve().parent / "data" / "review_reasons.yaml"
# placeholder -> the regular expression it matches in a stored reason
SLOTS: dict[str, str] = {
    "systolic": r"\S+", "diastolic": r"\S+", "systolic_limit": r"\S+", "diastolic_limit": r"\S+",
    "value": r"\S+", "limit": r"\S+", "score": r"\d+", "minutes": r"\d+", "tries": r"\d+",
    "drugs": r".+", "symptom": r".+", "fields": r".+",
    "chest": r"chest pain|chest tightness",
    "stroke_sign": r"slurred speech|facial droop|limb weakness or numbness",
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@functools.lru_cache(maxsize=1)
def reasons() -> Catalog:
    return load_catalog(PATH, allowed=SLOTS)


def reason(key: str, **values: Any) -> str:
    """The reason to store (English, figures filled in)."""
    return reasons().text(key, "en", **values)


def _pattern(template: str) -> re.Pattern[str]:
    parts, last = [], 0
    for m in _PLACEHOLDER.finditer(template):
        parts += [re.escape(template[last:m.start()]), f"(?P<{m.group(1)}>{SLOTS[m.group(1)]})"]
        last = m.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts))


@functools.lru_cache(maxsize=1)
def patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(key, pattern of its English template), in catalog order: the first full match is the reason."""
    catalog = reasons()
    return tuple((key, _pattern(catalog.raw(key, "en"))) for key in catalog)


def read_reason(text: str) -> tuple[str, dict[str, str]] | None:
    """The catalog key and the placeholder values of a stored reason, or None if no entry matches."""
    for key, pattern in patterns():
        m = pattern.fullmatch(text.strip())
        if m:
            return key, m.groupdict()
    return None
