"""Interface strings of the review pages, from the catalog api/web/strings.yaml (zh is the default).
Codes of the outcome contract (levels, statuses, fields, symptoms) are translated there too, never in
templates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from language.catalog import load_catalog

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

# The strings themselves: api/web/strings.yaml, checked at load (every key in both languages).
CATALOG = load_catalog(Path(__file__).resolve().parent / "strings.yaml")
ZH: dict[str, str] = {key: CATALOG.raw(key, "zh") for key in CATALOG}
EN: dict[str, str] = {key: CATALOG.raw(key, "en") for key in CATALOG}

STRINGS: dict[str, dict[str, str]] = {"zh": ZH, "en": EN}


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def translator(language: str) -> Callable[[str], str]:
    table = STRINGS[language_of(language)]
    fallback = STRINGS["en"]

    def t(key: str) -> str:
        return table.get(key) or fallback.get(key) or key

    return t
