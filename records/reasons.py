"""Reasons on review items that are not flags (records/data/review_reasons.yaml; a flag's reason is its
row's text in dialogs/rules/clinical_rules.yaml) and why a review action was
refused (records/data/review_errors.yaml).

A reason is stored in English with its figures ("no answer after 4 tries: call the patient"), and a
refusal is the API's English `detail`; the review page shows either in the page's language by reading
the English text back against each entry's English template (api/web/reasons.py). SLOTS and
ERROR_SLOTS fix what each placeholder may match, so a template is also the pattern that reads it back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from language.catalog import Catalog, TemplateReader, load_catalog

PATH = Path(__file__).resolve().parent / "data" / "review_reasons.yaml"
ERRORS_PATH = Path(__file__).resolve().parent / "data" / "review_errors.yaml"
# placeholder -> the regular expression it matches in a stored reason
SLOTS: dict[str, str] = {"tries": r"\d+", "fields": r".+"}
ERROR_SLOTS: dict[str, str] = {
    "field": r".+", "max_length": r"\d+", "low": r"\S+", "high": r"\S+", "choices": r".+", "codes": r".+",
    "listed": r".+",
}


class StoredTexts:
    """A catalog whose English text is what is stored or sent, and read back to show another language.
    Loaded and checked when built, at import (placeholders only those of `slots`)."""

    def __init__(self, path: Path, slots: dict[str, str]) -> None:
        self.catalog: Catalog = load_catalog(path, allowed=slots)
        self._reader = TemplateReader(self.catalog, slots)

    def english(self, key: str, **values: Any) -> str:
        """The text to store or send: the entry's English, placeholders filled."""
        return self.catalog.text(key, "en", **values)

    def read(self, text: str) -> tuple[str, dict[str, str]] | None:
        """The key and placeholder values of a stored English text, or None if no entry matches."""
        return self._reader.read(text)


REASONS = StoredTexts(PATH, SLOTS)
ERRORS = StoredTexts(ERRORS_PATH, ERROR_SLOTS)
reason = REASONS.english              # a nurse task's reason, to store
review_error = ERRORS.english         # why a review action was refused (the API's detail)
