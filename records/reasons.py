"""Reasons on flags and review items (records/data/review_reasons.yaml) and why a review action was
refused (records/data/review_errors.yaml).

A reason is stored in English with its figures ("no answer after 4 tries: call the patient"), and a
refusal is the API's English `detail`; the review page shows either in the page's language by reading
the English text back against each entry's English template (api/web/reasons.py). SLOTS and
ERROR_SLOTS fix what each placeholder may match, so a template is also the pattern that reads it back."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from language.catalog import Catalog, TemplateReader, load_catalog

PATH = Path(__file__).resolve().parent / "data" / "review_reasons.yaml"
ERRORS_PATH = Path(__file__).resolve().parent / "data" / "review_errors.yaml"
# placeholder -> the regular expression it matches in a stored reason
SLOTS: dict[str, str] = {
    "systolic": r"\S+", "diastolic": r"\S+", "systolic_limit": r"\S+", "diastolic_limit": r"\S+",
    "value": r"\S+", "limit": r"\S+", "score": r"\d+", "minutes": r"\d+", "tries": r"\d+",
    "drugs": r".+", "symptom": r".+", "fields": r".+",
    "chest": r"chest pain|chest tightness",
    "stroke_sign": r"slurred speech|facial droop|limb weakness or numbness",
}
ERROR_SLOTS: dict[str, str] = {
    "field": r".+", "max_length": r"\d+", "low": r"\S+", "high": r"\S+", "choices": r".+", "codes": r".+",
    "listed": r".+",
}


@functools.lru_cache(maxsize=1)
def reasons() -> Catalog:
    return load_catalog(PATH, allowed=SLOTS)


def reason(key: str, **values: Any) -> str:
    """The reason to store (English, figures filled in)."""
    return reasons().text(key, "en", **values)


@functools.lru_cache(maxsize=1)
def _reader() -> TemplateReader:
    return TemplateReader(reasons(), SLOTS)


def read_reason(text: str) -> tuple[str, dict[str, str]] | None:
    """The catalog key and the placeholder values of a stored reason, or None if no entry matches."""
    return _reader().read(text)


@functools.lru_cache(maxsize=1)
def review_errors() -> Catalog:
    return load_catalog(ERRORS_PATH, allowed=ERROR_SLOTS)


def review_error(key: str, **values: Any) -> str:
    """Why an action or correction is refused, in English (the API's `detail`)."""
    return review_errors().text(key, "en", **values)


@functools.lru_cache(maxsize=1)
def _error_reader() -> TemplateReader:
    return TemplateReader(review_errors(), ERROR_SLOTS)


def read_review_error(text: str) -> tuple[str, dict[str, str]] | None:
    """The catalog key and placeholder values of a refusal's English text, or None."""
    return _error_reader().read(text)
