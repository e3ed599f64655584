"""The symptom lexicon (language/data/symptoms.yaml): patient words → followup-outcome.md codes.

Loaded and validated once: every code present in both languages, every pattern a valid regular
expression, generic-over rules naming known codes. `match_symptoms` finds the mentions; what they
mean (denied, resolved, hypothetical…) is for language.context."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

LEXICON_PATH = Path(__file__).parent / "data" / "symptoms.yaml"


class LexiconError(ValueError):
    pass


@dataclass(frozen=True)
class Lexicon:
    codes: tuple[str, ...]
    labels: dict[str, dict[str, str]]
    zh: tuple[tuple[str, re.Pattern[str]], ...]
    en: tuple[tuple[str, re.Pattern[str]], ...]
    generic_over: dict[str, tuple[str, ...]]
    # Rows that read across the commas of one sentence ("吐了一口，里头有红的"): `zh_across` / `en_across`.
    zh_across: tuple[tuple[str, re.Pattern[str]], ...] = ()
    en_across: tuple[tuple[str, re.Pattern[str]], ...] = ()
    # generic codes kept apart when said in their own clause; generic codes absorbed anywhere in the answer
    apart_across_clauses: frozenset[str] = frozenset()
    anywhere: frozenset[str] = frozenset()
    # patterns written with word windows (A ~N B): only such a match can be a list of two mentions
    windowed: frozenset[re.Pattern[str]] = frozenset()
    # rows written {pattern, unless_sentence}: no mention when the sentence around it matches the second
    # ("刷牙…吐出来都是血水" is spitting, not vomiting)
    unless_sentence: dict[re.Pattern[str], re.Pattern[str]] = field(default_factory=dict)


# Word windows: "A ~N B" = A, then B within N words (English) or N characters (Chinese) in the same
# clause; "A ~N~ B" = either order. Each side is a regular expression; chains ("A ~2 B ~3 C") work.
_WINDOW = re.compile(r"\s+~(\d+)(~?)\s+")
# A window never reaches over a negation ("my chest isn't tight" is no tightness mention).
_EN_GAP = r"(?:[^\w,.;:!?]+(?!(?:not|no|never|nothing|none|\w+n[’']t)\b)[\w'’]+){{0,{n}}}?[^\w,.;:!?]+"
_ZH_GAP = r"[^，,。；;！!？?\s]{{0,{n}}}?"


def expand_windows(pattern: str, lang: str) -> str:
    """The plain regular expression of a pattern written with word windows (see _WINDOW)."""
    parts = _WINDOW.split(pattern)
    if len(parts) == 1:
        return pattern
    out = f"(?:{parts[0]})"
    for i in range(1, len(parts), 3):
        n, either, nxt = int(parts[i]), parts[i + 1], parts[i + 2]
        gap = (_ZH_GAP if lang == "zh" else _EN_GAP).format(n=n)
        tail = "" if lang == "zh" else r"[\w'’]*"
        if either:
            out = f"(?:{out}{tail}{gap}(?:{nxt})|(?:{nxt}){tail}{gap}{out})"
        else:
            out = f"{out}{tail}{gap}(?:{nxt})"
    return out


def load_lexicon(path: Path = LEXICON_PATH) -> Lexicon:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("symptoms"), list):
        raise LexiconError(f"{path}: needs a 'symptoms' list")
    codes: list[str] = []
    labels: dict[str, dict[str, str]] = {}
    zh: list[tuple[str, re.Pattern[str]]] = []
    en: list[tuple[str, re.Pattern[str]]] = []
    across: dict[str, list[tuple[str, re.Pattern[str]]]] = {"zh": [], "en": []}
    windowed: set[re.Pattern[str]] = set()
    unless: dict[re.Pattern[str], re.Pattern[str]] = {}
    for entry in data["symptoms"]:
        code = entry.get("code")
        if entry.get("codes"):   # one phrase, several findings ("忽冷忽热" = fever + chills)
            code = "+".join(entry["codes"])
            if any(c not in codes for c in entry["codes"]):
                raise LexiconError(f"{path}: compound {code} names a code not defined above it")
        elif not code or code in codes:
            raise LexiconError(f"{path}: missing or repeated code {code!r}")
        else:
            codes.append(code)
            labels[code] = {"zh": str(entry.get("label_zh") or code), "en": str(entry.get("label_en") or code)}
        for lang, out, flags in (("zh", zh, 0), ("en", en, re.IGNORECASE)):
            patterns = entry.get(lang) or []
            if not patterns:
                raise LexiconError(f"{path}: {code} has no {lang} patterns")
            for row in patterns:
                pattern, unless_pattern = (row.get("pattern"), row.get("unless_sentence")) if isinstance(row, dict) else (row, None)
                if not pattern or isinstance(row, dict) and not unless_pattern:
                    raise LexiconError(f"{path}: {code} {lang} row {row!r} needs a pattern (and, written as a mapping, unless_sentence)")
                try:
                    compiled = re.compile(expand_windows(str(pattern), lang), flags)
                    if unless_pattern:
                        unless[compiled] = re.compile(str(unless_pattern), flags)
                except re.error as exc:
                    raise LexiconError(f"{path}: {code} {lang} pattern {pattern!r}: {exc}") from None
                out.append((code, compiled))
                if _WINDOW.search(str(pattern)):
                    windowed.add(compiled)
            for pattern in entry.get(f"{lang}_across") or []:
                if not re.search(r"[，,]", str(pattern)):
                    raise LexiconError(f"{path}: {code} {lang}_across pattern {pattern!r} names no comma to read across")
                try:
                    across[lang].append((code, re.compile(str(pattern), flags)))
                except re.error as exc:
                    raise LexiconError(f"{path}: {code} {lang}_across pattern {pattern!r}: {exc}") from None
    generic_over = {}
    for generic, specific in (data.get("generic_over") or {}).items():
        unknown = [c for c in [generic, *specific] if c not in codes]
        if unknown:
            raise LexiconError(f"{path}: generic_over names unknown codes {unknown}")
        generic_over[generic] = tuple(specific)
    apart = frozenset(data.get("generic_apart_across_clauses") or ())
    anywhere = frozenset(data.get("generic_anywhere") or ())
    if (apart | anywhere) - set(generic_over):
        raise LexiconError(f"{path}: generic_apart_across_clauses / generic_anywhere name codes not in generic_over")
    return Lexicon(codes=tuple(codes), labels=labels, zh=tuple(zh), en=tuple(en), generic_over=generic_over,
                   zh_across=tuple(across["zh"]), en_across=tuple(across["en"]),
                   apart_across_clauses=apart, anywhere=anywhere, windowed=frozenset(windowed), unless_sentence=unless)


@functools.lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    return load_lexicon()


SYMPTOM_CODES = lexicon().codes
GENERIC_OVER = lexicon().generic_over
GENERIC_APART_ACROSS_CLAUSES = lexicon().apart_across_clauses
GENERIC_ANYWHERE = lexicon().anywhere
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[a-zA-Z]{3}")


def match_symptoms(text: str, lang: str, *, sentence: str | None = None) -> list[tuple[str, int, int]]:
    """(code, start, end) for every symptom mention; overlaps resolved longest-first. `sentence` is the
    whole sentence when `text` is one clause of it (for the rows with `unless_sentence`)."""
    lex = lexicon()
    tables = [lex.zh if lang == "zh" else lex.en]
    # Chinese text may carry English words and the reverse (code-switching, ASR).
    if lang == "zh" and _LATIN_WORD.search(text) or lang != "zh" and _CJK.search(text):
        tables.append(lex.en if lang == "zh" else lex.zh)
    found = [(code, m.start(), m.end(), pattern in lex.windowed) for table in tables for code, pattern in table
             for m in pattern.finditer(text) if m.end() > m.start()
             and not (pattern in lex.unless_sentence
                      and lex.unless_sentence[pattern].search(sentence if sentence is not None else _sentence_at(text, m.start())))]
    spans = [f[:3] for f in found]
    # A phrase written out in full ("can't lift my arm for the pain" = pain) is one mention, not a list.
    found = [f[:3] for f in found if not (f[3] and _spans_a_list(f[:3], spans))]
    return [(c, start, end) for code, start, end in longest_first(found) for c in code.split("+")]


_SENTENCE_MARK = re.compile(r"[。！!？?\n]|\.(?!\d)")


def _sentence_at(text: str, pos: int) -> str:
    """The sentence of the text that holds position `pos`."""
    start = max((m.end() for m in _SENTENCE_MARK.finditer(text, 0, pos)), default=0)
    end = next((m.start() for m in _SENTENCE_MARK.finditer(text, pos)), len(text))
    return text[start:end]


def match_across(sentence: str, lang: str) -> list[tuple[str, int, int]]:
    """(code, start, end) of the rows that read across a sentence's commas (`zh_across`, `en_across`)."""
    lex = lexicon()
    table = lex.zh_across if lang == "zh" else lex.en_across
    return [(code, m.start(), m.end()) for code, pattern in table for m in pattern.finditer(sentence) if m.end() > m.start()]


def longest_first(found: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Overlapping matches resolved: the longest wins (then the earliest); the result in text order."""
    kept: list[tuple[str, int, int]] = []
    for code, start, end in sorted(found, key=lambda f: (-(f[2] - f[1]), f[1])):
        if not any(start < k_end and k_start < end for _, k_start, k_end in kept):
            kept.append((code, start, end))
    return sorted(kept, key=lambda f: f[1])


def _spans_a_list(match: tuple[str, int, int], found: list[tuple[str, int, int]]) -> bool:
    """A window match (the caller asks only for those) that holds two separate shorter mentions, one of them of its own code, is a list
    ("胸痛胸闷"), not one mention; "coughing up blood" (cough + blood) stays one hemoptysis mention."""
    code, start, end = match
    inner = sorted((s, e, c) for c, s, e in found if start <= s and e <= end and (s, e) != (start, end))
    return any(a_end <= b_start and code in (a_code, b_code)
               for i, (_, a_end, a_code) in enumerate(inner) for b_start, _, b_code in inner[i + 1:])
