"""Error rates for the speech benches: CER for Mandarin, WER for English (edit distance / reference length)."""

from __future__ import annotations

import re
import unicodedata


def _edits(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)]


def zh_units(text: str) -> list[str]:
    """Characters without punctuation or spaces (letters/digits kept as characters)."""
    return [c for c in unicodedata.normalize("NFKC", text) if not unicodedata.category(c).startswith(("P", "Z", "S"))
            and not c.isspace()]


def en_units(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", unicodedata.normalize("NFKC", text).lower())


def units(text: str, language: str) -> list[str]:
    return zh_units(text) if language == "zh" else en_units(text)


def errors(reference: str, hypothesis: str, language: str) -> tuple[int, int]:
    """(edit distance, reference length) in characters (zh) or words (en)."""
    ref, hyp = units(reference, language), units(hypothesis, language)
    return _edits(ref, hyp), len(ref)


def error_rate(reference: str, hypothesis: str, language: str) -> float:
    e, n = errors(reference, hypothesis, language)
    return e / max(n, 1)
