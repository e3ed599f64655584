"""Yes/no outcome fields in the patient's words (language/data/yes_no_fields.yaml)."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

TABLE_PATH = Path(__file__).parent / "data" / "yes_no_fields.yaml"
KINDS = ("pseudo", "hedged", "no", "yes")


class YesNoTableError(ValueError):
    pass


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, list[re.Pattern[str]]]]:
    data = yaml.safe_load(TABLE_PATH.read_text(encoding="utf-8"))
    out: dict[str, dict[str, list[re.Pattern[str]]]] = {}
    for field_name, kinds in data.items():
        if not all(isinstance(k, str) for k in kinds) or not {"no", "yes"} <= set(kinds):
            raise YesNoTableError(f"{TABLE_PATH.name}: {field_name} needs 'no' and 'yes' (quoted: YAML reads bare no/yes as booleans)")
        out[field_name] = {}
        for kind in KINDS:
            raw: Any = kinds.get(kind) or {}
            patterns = [p for lang in ("zh", "en") for p in (raw.get(lang) or [])] if isinstance(raw, dict) else list(raw)
            try:
                out[field_name][kind] = [re.compile(str(p), re.I) for p in patterns]
            except re.error as exc:
                raise YesNoTableError(f"{TABLE_PATH.name}: {field_name}.{kind}: {exc}") from None
    return out


def read_yes_no_field(field_name: str, text: str) -> str | None:
    """"yes", "no", "hedged" (not sure: ask again) or None when the table's words are not there."""
    table = _table().get(field_name)
    if table is None:
        return None
    for pattern in table["pseudo"]:
        text = pattern.sub(" ", text)
    for kind in ("hedged", "no", "yes"):
        if any(p.search(text) for p in table[kind]):
            return kind
    return None
