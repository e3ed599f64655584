"""Semantic matching for what the patterns miss: nearest neighbours over a reviewed bank of labelled
patient phrasings (language/data/phrase_bank.yaml), embedded with the packaged multilingual-e5-small.

Two uses, both conservative:
- symptoms said in other words ("扣子都扣不上了", "like an elephant on my chest"): a clause with no
  lexicon mention is compared with the bank's symptom phrasings; a match above the threshold is a
  mention of that code, and the context rules then say whether it is denied or someone else's;
- answers the field parsers cannot settle ("能吃能睡的" to "how are you since discharge"): the
  nearest labelled answers of that field vote, and only a clear winner above the threshold counts.
Below the threshold the answer is "unclear" — never a guess. The embedder is injected (any object with
embed_documents / embed_query), so this layer imports no model code."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import yaml

from language.lexicon import SYMPTOM_CODES

log = logging.getLogger(__name__)

BANK_PATH = Path(__file__).parent / "data" / "phrase_bank.yaml"
ANSWER_BANK_PATH = Path(__file__).parent / "data" / "answer_bank.yaml"
_CLAUSE = re.compile(r"[，,。；;！!？?\n]|但是|不过|可是|\bbut\b|\bthough\b|\bexcept\b", re.I)


class Embedder(Protocol):
    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...


class PhraseBankError(ValueError):
    pass


@dataclass(frozen=True)
class BankEntry:
    field: str          # "symptom" for symptom phrasings, else the outcome field the answer settles
    label: Any          # a symptom code, or the field's value
    lang: str
    text: str


@dataclass(frozen=True)
class SemanticOptions:
    symptom_threshold: float = 0.92     # cosine; e5 puts unrelated short sentences at ≈ 0.75–0.85
    answer_threshold: float = 0.90
    answer_margin: float = 0.015        # the winner's best score must beat the next label's by this
    neighbours: int = 5
    min_chars: int = 4
    # Floors per language over symptom_threshold, measured on the train split (evaluation/data/understanding):
    # the 4-bit multilingual-e5-small puts unrelated short Chinese clauses at 0.96–0.98 of a bank phrase
    # ("大便是黄色的" ~ "大便是黑色的" 0.982), English denials at up to 0.95 ("none at all" ~ confusion).
    # Below these a clause is no symptom; only near-paraphrases of a bank phrase count.
    symptom_floor: tuple[tuple[str, float], ...] = (("zh", 0.99), ("en", 0.96))


def load_bank(paths: tuple[Path, ...] | Path = (BANK_PATH, ANSWER_BANK_PATH)) -> tuple[BankEntry, ...]:
    """Both banks: symptom phrasings (phrase_bank.yaml) and labelled answers (answer_bank.yaml)."""
    if isinstance(paths, Path):
        paths = (paths,)
    return tuple(e for path in paths if path.exists() for e in _load_one(path))


def _load_one(path: Path) -> tuple[BankEntry, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries: list[BankEntry] = []
    for code, by_lang in (data.get("symptoms") or {}).items():
        if code not in SYMPTOM_CODES:
            raise PhraseBankError(f"{path}: unknown symptom code {code!r}")
        for lang, texts in (by_lang or {}).items():
            if lang not in ("zh", "en"):
                raise PhraseBankError(f"{path}: {code}: language must be zh or en")
            entries += [BankEntry("symptom", code, lang, str(t)) for t in texts or []]
    for field_name, labels in (data.get("answers") or {}).items():
        for label_key, by_lang in (labels or {}).items():
            label = _label(label_key)
            for lang, texts in (by_lang or {}).items():
                if lang not in ("zh", "en"):
                    raise PhraseBankError(f"{path}: {field_name}/{label_key}: language must be zh or en")
                entries += [BankEntry(field_name, label, lang, str(t)) for t in texts or []]
    return tuple(entries)


def _label(key: Any) -> Any:
    if isinstance(key, str) and key.lstrip("-").isdigit():
        return int(key)
    return key


class SemanticMatcher:
    """Embeds the bank once (cached on disk by content hash), then answers nearest-neighbour queries."""

    def __init__(self, embedder: Embedder, *, entries: tuple[BankEntry, ...] | None = None,
                 options: SemanticOptions = SemanticOptions(), cache_dir: Path | None = None) -> None:
        self.embedder = embedder
        self.entries = entries if entries is not None else load_bank()
        self.options = options
        self.cache_dir = cache_dir
        self._matrix: np.ndarray | None = None
        self._lock = threading.Lock()

    # ----- the bank ---------------------------------------------------------------------------------

    def _digest(self) -> str:
        h = hashlib.sha256(getattr(self.embedder, "name", type(self.embedder).__name__).encode())
        for e in self.entries:
            h.update(f"{e.field}\x1f{e.label}\x1f{e.lang}\x1f{e.text}\x1e".encode())
        return h.hexdigest()[:16]

    def matrix(self) -> np.ndarray:
        with self._lock:
            if self._matrix is None:
                self._matrix = self._load_or_embed()
            return self._matrix

    def _load_or_embed(self) -> np.ndarray:
        path = self.cache_dir / f"phrase-bank-{self._digest()}.npy" if self.cache_dir else None
        if path is not None and path.exists():
            matrix = np.load(path)
            if matrix.shape[0] == len(self.entries):
                return matrix
        matrix = self._embed([e.text for e in self.entries]) if self.entries else np.zeros((0, 1), dtype=np.float32)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, matrix)
        return matrix

    def _embed(self, texts: list[str]) -> np.ndarray:
        rows = np.asarray(self.embedder.embed_documents(texts), dtype=np.float32)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1, norms)

    def _scores(self, texts: list[str], mask: np.ndarray) -> np.ndarray:
        matrix = self.matrix()
        if not texts or not mask.any():
            return np.zeros((len(texts), 0), dtype=np.float32)
        return self._embed(texts) @ matrix[mask].T

    # ----- queries ----------------------------------------------------------------------------------

    def symptom_clauses(self, text: str, lang: str, *, skip: list[tuple[int, int]] = ()) -> list[tuple[str, int, int, float]]:
        """(code, start, end, score) for clauses that say a symptom in other words.

        Clauses overlapping `skip` (spans the lexicon already matched) are left alone."""
        spans = []
        last = 0
        for m in _CLAUSE.finditer(text + "。"):
            start, end = last, m.start()
            last = m.end()
            clause = text[start:end].strip()
            if len(clause) < self.options.min_chars:
                continue
            if any(start < s_end and s_start < end for s_start, s_end in skip):
                continue
            spans.append((start, end))
        if not spans:
            return []
        mask = np.array([e.field == "symptom" and e.lang == lang for e in self.entries])
        scores = self._scores([text[s:e] for s, e in spans], mask)
        if scores.shape[1] == 0:
            return []
        labels = [e.label for e, keep in zip(self.entries, mask) if keep]
        threshold = max(self.options.symptom_threshold, dict(self.options.symptom_floor).get(lang, 0.0))
        out = []
        for (start, end), row in zip(spans, scores):
            best = int(row.argmax())
            if row[best] >= threshold:
                out.append((labels[best], start, end, float(row[best])))
        return out

    def answer(self, field_name: str, text: str, lang: str) -> tuple[Any, float] | None:
        """The label of the field's bank answers nearest to the text, when it is a clear winner."""
        if len(text.strip()) < 2:
            return None
        mask = np.array([e.field == field_name and e.lang == lang for e in self.entries])
        if not mask.any():
            return None
        row = self._scores([text], mask)[0]
        labels = [e.label for e, keep in zip(self.entries, mask) if keep]
        best_by_label: dict[Any, float] = {}
        for i in np.argsort(-row)[: self.options.neighbours]:
            label = labels[int(i)]
            best_by_label[label] = max(best_by_label.get(label, -1.0), float(row[int(i)]))
        ranked = sorted(best_by_label.items(), key=lambda kv: -kv[1])
        label, score = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else -1.0
        if score < self.options.answer_threshold or score - runner_up < self.options.answer_margin:
            return None
        return label, score


@functools.lru_cache(maxsize=1)
def bank_fields() -> frozenset[str]:
    return frozenset(e.field for e in load_bank())
