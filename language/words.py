"""Named word lists (language/data/word_lists.yaml): short lists of words matched against text, kept
as data with the rest of the language layer rather than as literals in the code that matches them."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

PATH = Path(__file__).parent / "data" / "word_lists.yaml"


class WordListError(ValueError):
    pass


@functools.lru_cache(maxsize=1)
def _lists() -> dict[str, tuple[str, ...]]:
    raw = yaml.safe_load(PATH.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise WordListError(f"{PATH.name}: expected a mapping of name to a list of words")
    lists = {}
    for name, words in raw.items():
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words):
            raise WordListError(f"{PATH.name}:{name}: expected a non-empty list of words (quote yes/no/on/off)")
        lists[str(name)] = tuple(words)
    return lists


def word_list(name: str) -> tuple[str, ...]:
    """The words of one list, in file order."""
    try:
        return _lists()[name]
    except KeyError:
        raise KeyError(f"{PATH.name}: no word list {name!r}") from None
