"""Numbers as patients say them: Chinese numerals (一百四十五, 九点二, 一百一, 三十八度八, 六二年),
English number words (one hundred forty five) and digits, turned into Arabic digits in the text so
that the reading parsers work on one form."""

from __future__ import annotations

import re

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
             "八": 8, "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
_CN_RUN = re.compile(r"[零〇一幺二两三四五六七八九十百千]+(?:点[零〇一幺二两三四五六七八九]+)?")
# A lone 一/两 is usually a word, not a number ("一样", "一直", "好一点", "两天" is fine either way).
_LONE_KEEP_AFTER = set("样直些下起般定切共致旦同会块边点阵")

_EN_SMALL = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
            "ninety": 90}
_EN_WORD = "|".join([*_EN_SMALL, *_EN_TENS, "hundred", "point"])
_EN_RUN = re.compile(rf"\b(?:{_EN_WORD})(?:[\s-]+(?:and[\s-]+)?(?:{_EN_WORD}))*\b", re.IGNORECASE)


def _cn_integer(run: str) -> str | None:
    """"一百四十五" → "145"; "一百一" → "110" (spoken shorthand); "六二" → "62" (digit by digit)."""
    if not any(ch in _CN_UNIT for ch in run):
        return "".join(str(_CN_DIGIT[ch]) for ch in run if ch in _CN_DIGIT)
    total, current, last_unit = 0, None, None
    for ch in run:
        if ch in _CN_DIGIT:
            current = _CN_DIGIT[ch] if current is None else current * 10 + _CN_DIGIT[ch]
        elif ch in _CN_UNIT:
            unit = _CN_UNIT[ch]
            total += (1 if current is None else current) * unit
            current, last_unit = None, unit
        else:
            return None
    if current is not None:
        # "一百一" = 110, "一千二" = 1200: a trailing digit right after a unit counts one place down.
        if last_unit and last_unit >= 100 and run[-2] in _CN_UNIT:
            total += current * (last_unit // 10)
        else:
            total += current
    return str(total)


def _cn_run_to_digits(run: str) -> str | None:
    whole, _, frac = run.partition("点")
    integer = _cn_integer(whole) if whole else "0"
    if integer is None:
        return None
    if frac:
        return integer + "." + "".join(str(_CN_DIGIT[ch]) for ch in frac)
    return integer


def chinese_to_digits(text: str) -> str:
    """Replace Chinese numerals by Arabic digits; leave words like 一样/一直 alone."""

    def replace(match: re.Match[str]) -> str:
        run = match.group(0)
        after = text[match.end():match.end() + 1]
        before = text[match.start() - 1:match.start()] if match.start() else ""
        if len(run) == 1 and run in "一两二" and (after in _LONE_KEEP_AFTER or not after) and before != "度":
            return run
        if run in ("一点",):
            return run
        digits = _cn_run_to_digits(run)
        return digits if digits is not None else run

    converted = _CN_RUN.sub(replace, text)
    # "38度8" is 38.8 degrees; "36度5" likewise.
    return re.sub(r"(\d{2})度(\d)(?!\d)", r"\1.\2度", converted)


def _en_run_value(run: str) -> str | None:
    words = [w for w in re.split(r"[\s-]+", run.lower()) if w and w != "and"]
    if "point" in words:
        i = words.index("point")
        whole = _en_words_int(words[:i]) if words[:i] else 0
        frac = [str(_EN_SMALL.get(w, -1)) for w in words[i + 1:]]
        if whole is None or not frac or any(f in ("-1",) or len(f) > 1 for f in frac):
            return None
        return f"{whole}.{''.join(frac)}"
    value = _en_words_int(words)
    return None if value is None else str(value)


def _en_words_int(words: list[str]) -> int | None:
    total, current = 0, 0
    for w in words:
        if w in _EN_SMALL:
            current += _EN_SMALL[w]
        elif w in _EN_TENS:
            current += _EN_TENS[w]
        elif w == "hundred":
            current = (current or 1) * 100
        else:
            return None
    return total + current


def english_to_digits(text: str) -> str:
    """"one hundred forty five over ninety" → "145 over 90". A lone "one" stays a word."""

    def replace(match: re.Match[str]) -> str:
        run = match.group(0)
        if run.lower() in ("one", "oh", "point"):
            return run
        value = _en_run_value(run)
        return value if value is not None else run

    return _EN_RUN.sub(replace, text)


def to_digits(text: str) -> str:
    return english_to_digits(chinese_to_digits(text))
