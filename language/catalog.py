"""Message catalogs: every sentence the service says to a patient or shows on a page, in zh and en.

A catalog is a YAML mapping of key to texts, `{zh: "…", en: "…"}`. Loading checks every key: both
languages present, non-empty and nothing else; the same {placeholders} in both (a catalog may name
placeholders one language can leave out, such as the spoken subject Chinese often drops); and, where
the catalog fixes them, only known placeholders. A broken catalog stops the service at startup, never
in a patient's call. Code picks a text by key and fills it with `Catalog.text`; it writes no sentence
of its own (tests/test_catalogs.py scans the sources for that).

The catalogs: dialogs/flows/messages.yaml and steps.yaml (the follow-up call), dialogs/flows/preconsult.yaml
(the pre-consultation chat), dialogs/data/words.yaml (words the call fills into its sentences),
dialogs/data/preconsult_report.yaml (the pre-consultation report and triage levels),
knowledge/data/messages.yaml (answers, order lines, department reasons), records/data/review_reasons.yaml
(flag and nurse-task reasons), records/data/review_errors.yaml (why a review action was refused) and
api/web/strings.yaml (the review pages' interface)."""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

LANGUAGES = ("zh", "en")
ROOT = Path(__file__).resolve().parents[1]


class CatalogError(ValueError):
    """A catalog is invalid; the message names the file, the key and the problem."""


def placeholders(text: str) -> frozenset[str]:
    """The {names} a text is filled with."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def check_texts(where: str, texts: Any, *, allowed: Iterable[str] | None = None, optional: Iterable[str] = (),
                error: type[ValueError] = CatalogError) -> dict[str, str]:
    """One entry's texts, checked: {zh, en}, both non-empty, the same placeholders (but `optional`),
    and only `allowed` ones when given. Raises `error` naming `where`."""
    if not isinstance(texts, dict):
        raise error(f"{where}: expected a mapping of language to text, got {type(texts).__name__}")
    unknown = set(texts) - set(LANGUAGES)
    if unknown:
        raise error(f"{where}: unknown language(s) {sorted(unknown)}; valid: {', '.join(LANGUAGES)}")
    names: dict[str, frozenset[str]] = {}
    for lang in LANGUAGES:
        text = texts.get(lang)
        if not isinstance(text, str) or not text.strip():
            raise error(f"{where}: missing {lang} translation")
        try:
            names[lang] = placeholders(text)
        except ValueError as exc:
            raise error(f"{where} ({lang}): {exc}") from None
        if allowed is not None:
            valid = frozenset(allowed)
            for name in sorted(names[lang] - valid):
                raise error(f"{where} ({lang}): unknown placeholder {{{name}}}; valid: {', '.join(sorted(valid))}")
    differ = (names["zh"] ^ names["en"]) - frozenset(optional)
    if differ:
        raise error(f"{where}: zh and en differ in placeholder(s) {sorted(differ)}: zh has "
                    f"{sorted(names['zh'])}, en has {sorted(names['en'])}")
    return {lang: texts[lang] for lang in LANGUAGES}


@dataclass(frozen=True)
class Catalog:
    """Checked texts by key."""

    name: str
    entries: Mapping[str, Mapping[str, str]]

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def texts(self, key: str) -> dict[str, str]:
        """Both languages of one entry."""
        try:
            return dict(self.entries[key])
        except KeyError:
            raise KeyError(f"{self.name}: no text {key!r}") from None

    def raw(self, key: str, language: str) -> str:
        """The unfilled text of `key` in `language` (zh or en)."""
        if language not in LANGUAGES:
            raise KeyError(f"{self.name}: no language {language!r}")
        return self.texts(key)[language]

    def text(self, key: str, language: str, /, **values: Any) -> str:
        """The text of `key` in `language`, its placeholders filled from `values`."""
        return self.raw(key, language).format_map(values)

    def group(self, prefix: str) -> dict[str, dict[str, str]]:
        """The entries whose key starts with `prefix`, by the rest of the key."""
        return {key[len(prefix):]: dict(texts) for key, texts in self.entries.items() if key.startswith(prefix)}


class TemplateReader:
    """Reads a filled text back: which entry's `language` text it is, and the placeholder values.

    For texts stored in one language and shown in another (a flag's English reason on the Chinese
    review page). `slots` gives the regular expression each placeholder matches; entries are tried in
    catalog order and the first whole match wins, so a catalog lists specific entries first."""

    def __init__(self, catalog: Catalog, slots: Mapping[str, str], *, language: str = "en") -> None:
        self.catalog = catalog
        self.patterns = tuple((key, self._pattern(catalog.raw(key, language), slots)) for key in catalog)

    @staticmethod
    def _pattern(template: str, slots: Mapping[str, str]) -> re.Pattern[str]:
        parts: list[str] = []
        for literal, name, _, _ in string.Formatter().parse(template):
            parts.append(re.escape(literal))
            if name is not None:
                parts.append(f"(?P<{name}>{slots[name]})")
        return re.compile("".join(parts))

    def read(self, text: str) -> tuple[str, dict[str, str]] | None:
        """(key, placeholder values) of the first entry whose text matches all of `text`, or None."""
        for key, pattern in self.patterns:
            m = pattern.fullmatch(text.strip())
            if m:
                return key, m.groupdict()
        return None


def parse_catalog(name: str, raw: Any, *, required: Iterable[str] | None = None, exact: bool = False,
                  allowed: Iterable[str] | None = None, optional: Iterable[str] = (),
                  error: type[ValueError] = CatalogError) -> Catalog:
    """A catalog from its parsed YAML; `required` keys must be there (and no others when `exact`)."""
    if not isinstance(raw, dict) or not raw:
        raise error(f"{name}: expected a mapping of key to {{zh, en}} texts")
    if required is not None:
        wanted = frozenset(required)
        missing = wanted - set(raw)
        if missing:
            raise error(f"{name}: missing message(s) {sorted(missing)}")
        extra = set(raw) - wanted
        if exact and extra:
            raise error(f"{name}: unknown message(s) {sorted(extra)}; valid: {', '.join(sorted(wanted))}")
    for key in raw:
        if not isinstance(key, str):
            raise error(f"{name}: key {key!r} is not a string (quote keys such as yes, no, on, off)")
    entries = {key: check_texts(f"{name}:{key}", value, allowed=allowed, optional=optional, error=error)
               for key, value in raw.items()}
    return Catalog(name=name, entries=entries)


def read_yaml(path: Path, *, error: type[ValueError] = CatalogError) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise error(f"{path.name}: not valid YAML: {exc}") from None


def load_catalog(path: Path, **checks: Any) -> Catalog:
    """Read and check one catalog file (keyword arguments as for parse_catalog)."""
    return parse_catalog(path.name, read_yaml(path, error=checks.get("error", CatalogError)), **checks)


@functools.lru_cache(maxsize=None)
def catalog(relative_path: str, *, optional: tuple[str, ...] = ()) -> Catalog:
    """A shipped catalog by its path from the project root (e.g. "knowledge/data/messages.yaml"),
    loaded and checked once per process; `optional` as for check_texts."""
    return load_catalog(ROOT / relative_path, optional=optional)
