"""Numbers as patients say them: Chinese numerals (一百四十五, 九点二, 一百一, 三十八度八, 六二年),
English number words (one hundred forty five) and digits, turned into Arabic digits in the text so
that the reading parsers work on one form."""

from __future__ import annotations

import functools
import re

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
             "八": 8, "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
_CN_RUN = re.compile(r"[零〇一幺二两三四五六七八九十百千]+(?:点[零〇一幺二两三四五六七八九]+)?")
# A lone 一/两 is usually a word, not a number ("一样", "一直", "好一点", "两天" is fine either way).
_LONE_KEEP_AFTER = set("样直些下起般定切共致旦同会块边点阵")

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
    """cn2an converts the run ("一百四十五", "六二", "一百一", "九点二"); the hand parser is the fallback."""
    if not any(ch in _CN_UNIT for ch in run.partition("点")[0]):
        return _cn_run_to_digits_by_hand(run)   # said digit by digit ("零零一七", "六二"): keep every digit
    try:
        import cn2an

        value = cn2an.cn2an(run, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return _cn_run_to_digits_by_hand(run)
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text


def _cn_run_to_digits_by_hand(run: str) -> str | None:
    whole, _, frac = run.partition("点")
    integer = _cn_integer(whole) if whole else "0"
    if integer is None:
        return None
    if frac:
        return integer + "." + "".join(str(_CN_DIGIT[ch]) for ch in frac)
    return integer


_APPROXIMATE_RANGE = re.compile(r"(?<![零〇一二两三四五六七八九十百千])(一|两|二|三|四|五|六|七|八)(二|三|四|五|六|七|八|九)(?=(?:个)?(?:分钟|钟头|小时|天|次|回|趟|下|片|粒|顿|斤|公斤|岁|个月|周|礼拜|星期))"
                                r"(?<=一二|两三|二三|三四|三五|四五|五六|六七|七八|八九)")


def _split_run(run: str) -> list[str]:
    """Two readings said back to back are one run of numerals: "一百七十五一百零五" is 175 and 105,
    "一百三十五八十" is 135 and 80. A new number starts where a unit comes again that is not smaller
    than one already used, or a unit follows the ones digit of a complete number."""
    whole, dot, frac = run.partition("点")
    parts: list[str] = []
    start, last_unit, ones_seen = 0, None, False
    i = 0
    while i < len(whole):
        ch = whole[i]
        if ch in _CN_UNIT:
            unit = _CN_UNIT[ch]
            if last_unit is not None and (unit >= last_unit or ones_seen):
                cut = i - 1 if i - 1 > start and whole[i - 1] in _CN_DIGIT else i
                parts.append(whole[start:cut])
                start, ones_seen = cut, False
            last_unit = unit
        elif ch in _CN_DIGIT and last_unit is not None and i > 0 and whole[i - 1] in _CN_DIGIT and \
                (i + 1 >= len(whole) or whole[i + 1] not in _CN_UNIT):
            ones_seen = True
        elif ch in _CN_DIGIT and last_unit is not None and (i + 1 >= len(whole) or whole[i + 1] not in _CN_UNIT):
            ones_seen = True
        i += 1
    parts.append(whole[start:] + (dot + frac if dot else ""))
    return [p for p in parts if p]


@functools.lru_cache(maxsize=1)
def _numeral_words() -> re.Pattern[str]:
    from language.words import word_list

    words = sorted(word_list("numeral_words_zh"), key=len, reverse=True)
    # 十分 before a word is "very" ("十分难受"), not ten points; before 钟/之/的 or at the end it counts.
    return re.compile("|".join(re.escape(w) for w in words) + r"|十分(?=[\u4e00-\u9fff])(?![钟之的])")


_MASK_BASE = 0xE000   # private-use characters stand in for the words kept as written


def chinese_to_digits(text: str) -> str:
    """Replace Chinese numerals by Arabic digits; leave words like 一样/一直/二甲双胍 alone."""
    kept: list[str] = []

    def mask(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return chr(_MASK_BASE + len(kept) - 1)

    text = _numeral_words().sub(mask, text)
    converted = _chinese_to_digits(text)
    if kept:
        converted = re.sub(r"[\ue000-\uf8ff]", lambda m: kept[ord(m.group(0)) - _MASK_BASE]
                           if ord(m.group(0)) - _MASK_BASE < len(kept) else m.group(0), converted)
    return converted


def _chinese_to_digits(text: str) -> str:
    text = text.replace("廿", "二十").replace("卅", "三十")   # spoken in the south: 廿分钟 = 20 minutes
    # "三五分钟", "两三天", "七八次": two neighbouring digits before a measure word say a range; keep the
    # larger (the safer figure), never 35. Years ("五六年的") are digits said one by one.
    text = _APPROXIMATE_RANGE.sub(lambda m: m.group(2), text)

    def replace(match: re.Match[str]) -> str:
        run = match.group(0)
        after = text[match.end():match.end() + 1]
        before = text[match.start() - 1:match.start()] if match.start() else ""
        # A lone 一/两 is a word ("一身汗", "一样", "两口子") unless it scores pain ("一分") or ends a
        # temperature ("三十八度一" is handled by the 度 rule); readings are never a lone 一.
        if len(run) == 1 and run in "一两" and before != "度" and after not in "分":
            return run
        if len(run) == 1 and run == "二" and (after in _LONE_KEEP_AFTER or not after) and before != "度":
            return run
        if run in ("一点",):
            return run
        pieces = _split_run(run) if any(ch in _CN_UNIT for ch in run) else [run]
        converted = [_cn_run_to_digits(p) for p in pieces]
        if any(c is None for c in converted):
            return run
        return "，".join(converted)

    converted = _CN_RUN.sub(replace, text)
    # "38度8" is 38.8 degrees; "36度5" likewise.
    return re.sub(r"(\d{2})度(\d)(?!\d)", r"\1.\2度", converted)


# English: text2num turns number words into digits; this thin pass adds what it leaves as separate
# numbers in speech: years and readings said in pairs ("nineteen forty-nine" → 19 49 → 1949, "one sixty
# over a hundred" → 1 60 → 160) and digits said one by one ("four four oh seven" → 4407).
_EN_SMALL_WORD = re.compile(r"\b(zero|two|three)\b", re.IGNORECASE)
_EN_SMALL_VALUE = {"zero": "0", "two": "2", "three": "3"}
_EN_ONE = re.compile(r"\bone\b(?=\s+(?:over|point|oh|o|\d))|(?<=\d\s)one\b|(?<=\boh\s)one\b|\bone\b(?=\s*(?:out of|/)\s*10)", re.IGNORECASE)
_YEAR_PAIR = re.compile(r"(?<![\d.])(19|20) ([0-9]\d)(?!\.?\d)")
_HUNDREDS_PAIR = re.compile(r"(?<![\d.])([1-4])[ -]([1-9]\d)(?!\.?\d)")
_DIGIT_RUN = re.compile(r"(?<![\d.])(?:(?:\d|\boh|\bo)[ ,-]+){2,}(?:\d|oh\b)(?!\.?\d)", re.IGNORECASE)
# "the bottom one seventy-nine", "the other one ninety": "one" stands for the number, it is not part of it.
_ONE_PRONOUN = re.compile(r"\b((?:top|bottom|upper|lower|other|first|second|third|last|higher|big|bigger|small|"
                          r"smaller|latest|earlier|later|newer|older|morning|evening|night|each|which|every|same|"
                          r"white|blue|pink|yellow|round|little)\s+)one\b", re.I)
# "this morning one thirty-two over eighty": a time of day, then a reading (not "the morning one", a tablet)
_TIME_THEN_READING = re.compile(r"\b((?:this|last|yesterday|tomorrow)\s+(?:morning|evening|night|afternoon))\s+(?=one[\s-]+"
                                r"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)\b)", re.I)
_ONE_MARK = "\u2063"   # an invisible separator: text2num does not read it as a number
_NUMBER_WORD_HYPHEN = re.compile(r"(?:(?<=\bone)|(?<=\btwo)|(?<=\bthree)|(?<=\bfour))-(?=(?:ten|eleven|twelve|thirteen|fourteen|"
                                 r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|"
                                 r"ninety)\b)", re.I)
_A_HUNDRED = re.compile(r"\ba (100|1000)\b", re.IGNORECASE)
# "one-oh-eight": the digits of a reading said one by one, written with hyphens
_OH_HYPHEN = re.compile(r"\b(?<=[a-z])-(?=oh-)|(?<=\boh)-(?=[a-z])", re.IGNORECASE)


def english_to_digits(text: str) -> str:
    """"one hundred forty five over ninety" → "145 over 90"; "born nineteen forty-nine" → "born 1949";
    "one sixty over a hundred" → "160 over 100". A lone "one" ("no one", "one of them") stays a word."""
    if not re.search(r"[a-zA-Z]", text):
        return text
    from text_to_num import alpha2digit

    # "one-forty", "one-seventy": a hyphen between two number words of a spoken reading
    text = _NUMBER_WORD_HYPHEN.sub(" ", text)
    text = _OH_HYPHEN.sub(" ", text)
    text = _TIME_THEN_READING.sub(r"\1, ", text)
    text = _ONE_PRONOUN.sub(lambda m: m.group(1) + _ONE_MARK, text)
    out = alpha2digit(text, "en")
    out = _EN_SMALL_WORD.sub(lambda m: _EN_SMALL_VALUE[m.group(1).lower()], out)
    out = _EN_ONE.sub("1", out)
    out = _A_HUNDRED.sub(r"\1", out)
    out = _DIGIT_RUN.sub(lambda m: re.sub(r"oh|o", "0", re.sub(r"[ ,-]+", "", m.group(0)), flags=re.IGNORECASE), out)
    out = _YEAR_PAIR.sub(r"\1\2", out)
    return _HUNDREDS_PAIR.sub(r"\1\2", out).replace(_ONE_MARK, "one")


def to_digits(text: str) -> str:
    return english_to_digits(chinese_to_digits(text))
