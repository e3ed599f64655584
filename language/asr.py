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


@functools.lru_cache(maxsize=1)
def _table_en() -> tuple[tuple[re.Pattern[str], str], ...]:
    rows = _data().get("en") or []
    bad = [r for r in rows if not isinstance(r, dict) or set(r) != {"heard", "say"}]
    if bad:
        raise ValueError(f"{TABLE_PATH.name}: each en row is {{heard, say}}: {bad}")
    return tuple((re.compile(str(r["heard"]), re.I), str(r["say"])) for r in rows)


def fix_homophones(text: str) -> str:
    pattern, mapping = _table()
    if not re.search(r"[\u4e00-\u9fff]", text):
        for heard, say in _table_en():
            text = heard.sub(say, text)
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


# Whisper base writes the tenths digit 八 of a body temperature as the particle 吧 (三十八度八 → 三十八度吧,
# 三十七度八 → 三十七度吧: both Kokoro voices, phone band and wideband alike), which would store 38.0 and
# miss a fever; read back as 八 unless the answer hedges ("大概三十八度吧", a range "三十六七度吧"), and an
# unhedged "三十八度吧" is stored 0.8 too high, which errs towards a nurse's call. It writes 九 before 点
# as 有 (血糖九点二 → 血糖有点二, stored 2.0): "有点" + a lone digit ending the phrase is no Chinese
# ("有点儿" ends in 儿, "有点高" in a word), so the digit is a reading's tenths.
_DEGREE_BA = re.compile(r"(?<![\d百一二三四五六七八九十])((?:三十[五六七八九]|四十[一二]?|3[5-9]|4[0-2])度)吧")
_YOU_DIAN = re.compile(r"有点([一二三四五六七八九])(?![\u4e00-\u9fff\d])")


def repair_readings(text: str, language: str) -> str:
    """The recogniser's known miswritings of a spoken reading, put right: for phone transcripts only
    (typed text means what it says)."""
    if language != "zh":
        return text
    text = _YOU_DIAN.sub(r"九点\1", text)
    if not _DEGREE_BA.search(text) or any(hedge in text for hedge in _data().get("hedges_zh") or ()):
        return text
    return _DEGREE_BA.sub(r"\1八", text)
