"""Speech-recognition homophones of medical words (language/data/asr_homophones.yaml)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

TABLE_PATH = Path(__file__).parent / "data" / "asr_homophones.yaml"


@functools.lru_cache(maxsize=1)
def _data() -> dict:
    data = yaml.safe_load(TABLE_PATH.read_text(encoding="utf-8")) or {}
    words = data.get("by_sound_zh") or []
    short = [w for w in words if len(w) < 3 or not re.fullmatch(r"[\u4e00-\u9fff]+", str(w))]
    if short:
        raise ValueError(f"{TABLE_PATH.name}: by_sound_zh holds words of three Chinese characters or more: {short}")
    return data


@functools.lru_cache(maxsize=1)
def _by_sound() -> tuple[dict[tuple[str, ...], str], list[int]]:
    """Toneless pinyin of each word → the word; the words' lengths, longest first."""
    from pypinyin import lazy_pinyin

    words = {tuple(lazy_pinyin(str(w))): str(w) for w in _data().get("by_sound_zh") or []}
    return words, sorted({len(k) for k in words}, reverse=True)


@functools.lru_cache(maxsize=1)
def _table() -> tuple[re.Pattern[str] | None, dict[str, str]]:
    mapping = {str(k): str(v) for k, v in (_data().get("zh") or {}).items()}
    if not mapping:
        return None, {}
    pattern = re.compile("|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True)))
    return pattern, mapping


def fix_homophones(text: str) -> str:
    pattern, mapping = _table()
    if not re.search(r"[\u4e00-\u9fff]", text):
        return text
    if pattern is not None:
        text = pattern.sub(lambda m: mapping[m.group(0)], text)
    return _fix_by_sound(text)


def _fix_by_sound(text: str) -> str:
    from pypinyin import lazy_pinyin

    words, lengths = _by_sound()
    out: list[str] = []
    for run in re.split(r"([\u4e00-\u9fff]+)", text):
        if not run or not re.match(r"[\u4e00-\u9fff]", run):
            out.append(run)
            continue
        sounds, i, fixed = lazy_pinyin(run), 0, []
        while i < len(run):
            for n in lengths:
                word = words.get(tuple(sounds[i:i + n])) if i + n <= len(run) else None
                if word is not None:
                    fixed.append(word)
                    i += n
                    break
            else:
                fixed.append(run[i])
                i += 1
        out.append("".join(fixed))
    return "".join(out)
