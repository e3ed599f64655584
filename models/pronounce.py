"""Text → phonemes for the Kokoro voice: a domain pronunciation lexicon, Mandarin and English G2P.

Kokoro-82M reads phoneme strings over a 114-symbol vocabulary (IPA plus tone arrows ↗↘↓→ and a few
capitals standing for English diphthongs). Two front ends make them:

- Mandarin: misaki 0.9.4's v1.0 recipe (jieba words → pypinyin → IPA with tone arrows, the recipe
  the model was trained with), preceded by our own reading of numbers and units and followed by the
  tone sandhi of 一 and 不, which that recipe lacks (一片 came out yī piàn). Words pypinyin reads
  wrongly here (量 in 量血压 is liáng) are taken from the lexicon before jieba sees the text.
  Latin words inside Mandarin (AI, CT) go to the English front end.
- English: misaki's English G2P needs a spaCy model that no registry here ships, so English goes
  through Debian's espeak-ng (`espeak-ng -q --ipa --tie=^`, one short child process per clause)
  and misaki's espeak-to-Kokoro symbol mapping (its `EspeakFallback`, copied below: importing
  misaki.espeak would pull phonemizer and a second espeak-ng library).

The lexicon (models/data/pronunciation.yaml) is data: units, abbreviations, words that take their
numbers digit by digit, pinyin overrides, each with examples that tests/test_kokoro.py checks.
Numbers are read as the context needs: telephone and emergency numbers digit by digit with 1 as
幺 (拨打120 → 幺二零), blood pressure as two values (145/90 → 一百四十五，九十), doses with their
unit (100mg → 一百毫克, 2片 → 两片), dates and times (11月10日, 2026-11-10, 8:30).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

LEXICON_PATH = Path(__file__).resolve().parent / "data" / "pronunciation.yaml"

_FULLWIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)}, "％": "%", "／": "/", "．": "."})
_HANZI = "\u4e00-\u9fff"
_ZH_DIGITS = "零幺一二三四五六七八九"
_PHONE_DIGITS = dict(zip("0123456789", "零幺二三四五六七八九"))
_PLAIN_DIGITS = dict(zip("0123456789", "零一二三四五六七八九"))
_NUMBER = r"\d+(?:\.\d+)?"


@dataclass(frozen=True, eq=False)  # hashed by identity: compiled patterns are cached per lexicon
class Lexicon:
    """The parsed pronunciation.yaml and its digest (part of the prompt cache key)."""

    data: dict[str, Any]
    digest: str

    @classmethod
    @functools.lru_cache(maxsize=4)
    def load(cls, path: str | Path = LEXICON_PATH) -> Lexicon:
        raw = Path(path).read_bytes()
        data = yaml.safe_load(raw) or {}
        for language in ("zh", "en"):
            data.setdefault(language, {})
        return cls(data=data, digest=hashlib.sha256(raw).hexdigest())

    def section(self, language: str) -> dict[str, Any]:
        return self.data.get(language) or {}


def _alternation(words: list[str]) -> str:
    """A regex alternation, longest first; with no words, one that never matches."""
    if not words:
        return "(?!)"
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


# ----- Mandarin text normalisation --------------------------------------------------------------

def _value_zh(number: str) -> str:
    """145 → 一百四十五, 2.5 → 二点五, 0.25 → 零点二五 (as values)."""
    import cn2an

    whole, _, fraction = number.partition(".")
    whole = whole.lstrip("0") or "0"
    spoken = cn2an.an2cn(whole, "low")
    if fraction:
        spoken += "点" + "".join(_PLAIN_DIGITS[d] for d in fraction)
    return spoken


def _count_zh(number: str) -> str:
    """A count before a measure word or unit: 2 is 两."""
    return "两" if number.lstrip("0") == "2" else _value_zh(number)


def _digits_zh(text: str, *, phone: bool = True) -> str:
    """Digit by digit (1 as 幺 in telephone numbers); separators become a short pause."""
    table = _PHONE_DIGITS if phone else _PLAIN_DIGITS
    out = []
    for ch in text:
        if ch.isdigit():
            out.append(table[ch])
        elif ch == "+":
            out.append("加")
        elif ch in "- " and out and out[-1] != "，":
            out.append("，")
    return "".join(out).strip("，")


@functools.lru_cache(maxsize=4)
def _zh_patterns(lexicon: Lexicon) -> dict[str, re.Pattern[str]]:
    zh = lexicon.section("zh")
    units = [u for u in (zh.get("units") or {})]
    measure = list(zh.get("liang_before") or [])
    return {
        "abbreviation": re.compile(rf"(?<![A-Za-z])({_alternation(list(zh.get('abbreviations') or {}))})(?![A-Za-z])",
                                   re.IGNORECASE),
        "date": re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*[日号]?"),
        "phone_context": re.compile(rf"({_alternation(list(zh.get('phone_context') or []))})"
                                    r"([：:\s]*)(\+?\d[\d\- ]*\d)(?!\.?\d)"),
        "long_digits": re.compile(r"(?<![\d.])\+?\d(?:[\d\- ]*\d)?(?!\.?\d)"),
        "year": re.compile(r"(?<!\d)(\d{4})\s*年"),
        "month_day": re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*([日号])"),
        "time": re.compile(r"(?<!\d)(\d{1,2})[:：](\d{2})(?!\d)"),
        "pressure": re.compile(r"(?<![\d.])(\d{2,3})\s*/\s*(\d{2,3})(?![\d.])\s*(mmHg)?"),
        "fraction": re.compile(r"(?<![\d.])(\d+)\s*/\s*(\d+)(?![\d.])"),
        "range": re.compile(rf"(?<![\d.])({_NUMBER})\s*[-~～—–至到]\s*({_NUMBER})\s*(?=({_alternation(units + measure)})?)"),
        "percent": re.compile(rf"({_NUMBER})\s*%"),
        "unit": re.compile(rf"({_NUMBER})\s*({_alternation([u for u in units if u != '%'])})(?![A-Za-z])"),
        "measure": re.compile(rf"(?<![\d.])({_NUMBER})(?=\s*(?:{_alternation(measure)}))"),
        "number": re.compile(_NUMBER),
    }


def normalize_zh(text: str, lexicon: Lexicon | None = None) -> str:
    """Mandarin text with every number, unit and abbreviation written as it is to be read."""
    lexicon = lexicon or Lexicon.load()
    zh = lexicon.section("zh")
    p = _zh_patterns(lexicon)
    units: dict[str, str | None] = zh.get("units") or {}
    abbreviations = {k.lower(): v for k, v in (zh.get("abbreviations") or {}).items()}
    text = text.translate(_FULLWIDTH)
    if abbreviations:
        text = p["abbreviation"].sub(lambda m: abbreviations[m.group(1).lower()], text)

    def date(m: re.Match[str]) -> str:
        year, month, day = m.groups()
        if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
            return m.group(0)
        return f"{_digits_zh(year, phone=False)}年{_value_zh(month)}月{_value_zh(day)}日"

    text = p["date"].sub(date, text)
    text = p["phone_context"].sub(lambda m: m.group(1) + m.group(2) + _digits_zh(m.group(3)), text)
    text = p["long_digits"].sub(lambda m: _digits_zh(m.group(0)) if sum(c.isdigit() for c in m.group(0)) >= 7
                                else m.group(0), text)
    text = p["year"].sub(lambda m: _digits_zh(m.group(1), phone=False) + "年", text)
    text = p["month_day"].sub(lambda m: f"{_value_zh(m.group(1))}月{_value_zh(m.group(2))}{m.group(3)}", text)

    def clock(m: re.Match[str]) -> str:
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour > 24 or minute > 59:
            return m.group(0)
        spoken = _count_zh(str(hour)) + "点"
        if minute:
            spoken += ("零" if minute < 10 else "") + _value_zh(str(minute)) + "分"
        return spoken

    text = p["time"].sub(clock, text)

    def pressure(m: re.Match[str]) -> str:
        high, low = int(m.group(1)), int(m.group(2))
        if not (60 <= high <= 300 and 30 <= low <= 200 and high > low):
            return m.group(0)
        return f"{_value_zh(m.group(1))}，{_value_zh(m.group(2))}" + (units.get("mmHg") or "" if m.group(3) else "")

    text = p["pressure"].sub(pressure, text)
    text = p["fraction"].sub(lambda m: f"{_value_zh(m.group(2))}分之{_value_zh(m.group(1))}", text)
    text = p["range"].sub(lambda m: f"{_count_zh(m.group(1)) if m.group(3) else _value_zh(m.group(1))}到"
                                    f"{_count_zh(m.group(2)) if m.group(3) else _value_zh(m.group(2))}", text)
    text = p["percent"].sub(lambda m: "百分之" + _value_zh(m.group(1)), text)
    text = p["unit"].sub(lambda m: _count_zh(m.group(1)) + (units[m.group(2)] or ""), text)
    text = p["measure"].sub(lambda m: _count_zh(m.group(1)), text)
    text = p["number"].sub(lambda m: _digits_zh(m.group(0)) if len(m.group(0).split(".")[0]) >= 5
                           else _value_zh(m.group(0)), text)
    for written, spoken in (zh.get("replace") or {}).items():
        text = text.replace(written, spoken)
    return text


# ----- English text normalisation ---------------------------------------------------------------

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _digits_en(text: str) -> str:
    groups = [g for g in re.split(r"[\s\-]+", text.replace("+", " plus ")) if g]
    return ", ".join(" ".join(_EN_DIGITS[int(c)] if c.isdigit() else c for c in g) if any(c.isdigit() for c in g)
                     else g for g in groups)


@functools.lru_cache(maxsize=4)
def _en_patterns(lexicon: Lexicon) -> dict[str, re.Pattern[str]]:
    en = lexicon.section("en")
    units = list(en.get("units") or {})
    return {
        # only after a dose ("100 mg bid"): "bid" is also an English word
        "abbreviation": re.compile(rf"((?:\d|\b(?:{_alternation(units)}|tablets?|capsules?|puffs?|drops?|units?))\s*)"
                                   rf"\b({_alternation(list(en.get('abbreviations') or {}))})\b(?=[\s.,;!?]|$)",
                                   re.IGNORECASE),
        "date": re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"),
        "phone_context": re.compile(rf"\b({_alternation(list(en.get('phone_context') or []))})(\s+)(\+?\d[\d\- ]*\d)(?!\.?\d)",
                                    re.IGNORECASE),
        "long_digits": re.compile(r"(?<![\d.])\+?\d(?:[\d\- ]*\d)?(?!\.?\d)"),
        "pressure": re.compile(r"(?<![\d.])(\d{2,3})\s*/\s*(\d{2,3})(?![\d.])"),
        "unit": re.compile(rf"({_NUMBER})\s*({_alternation(units)})(?![A-Za-z])"),
        "respell": re.compile(rf"\b({_alternation(list(en.get('respell') or {}))})\b"),
    }


def normalize_en(text: str, lexicon: Lexicon | None = None) -> str:
    """English text with doses, units, blood pressure, dates and telephone numbers spelled out."""
    lexicon = lexicon or Lexicon.load()
    en = lexicon.section("en")
    p = _en_patterns(lexicon)
    units: dict[str, str] = en.get("units") or {}
    abbreviations = en.get("abbreviations") or {}
    text = text.translate(_FULLWIDTH)
    if abbreviations:
        lowered = {k.lower(): v for k, v in abbreviations.items()}
        text = p["abbreviation"].sub(lambda m: m.group(1) + lowered[m.group(2).lower()], text)

    def date(m: re.Match[str]) -> str:
        year, month, day = (int(g) for g in m.groups())
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return m.group(0)
        return f"{_MONTHS[month - 1]} {day}, {year}"

    text = p["date"].sub(date, text)
    text = p["phone_context"].sub(lambda m: m.group(1) + m.group(2) + _digits_en(m.group(3)), text)
    text = p["long_digits"].sub(lambda m: _digits_en(m.group(0)) if sum(c.isdigit() for c in m.group(0)) >= 7
                                else m.group(0), text)

    def pressure(m: re.Match[str]) -> str:
        high, low = int(m.group(1)), int(m.group(2))
        if not (60 <= high <= 300 and 30 <= low <= 200 and high > low):
            return m.group(0)
        return f"{high} over {low}"

    text = p["pressure"].sub(pressure, text)

    def unit(m: re.Match[str]) -> str:
        spoken = units[m.group(2)]
        if m.group(1) == "1" and spoken.endswith("s") and " " not in spoken:
            spoken = spoken[:-1]
        return f"{m.group(1)} {spoken}"

    text = p["unit"].sub(unit, text)
    if en.get("respell"):
        text = p["respell"].sub(lambda m: en["respell"][m.group(1)], text)
    return text


# ----- English G2P through espeak-ng ------------------------------------------------------------

# misaki 0.9.4 (Apache-2.0), misaki/espeak.py EspeakFallback: espeak-ng IPA → Kokoro's symbols.
_E2M = sorted({
    "ʔˌn\u0329": "ʔn", "ʔn\u0329": "ʔn",
    "a^ɪ": "I", "a^ʊ": "W",
    "d^ʒ": "ʤ",
    "e^ɪ": "A", "e": "A",
    "t^ʃ": "ʧ",
    "ɔ^ɪ": "Y",
    "ə^l": "ᵊl",
    "ʲo": "jo", "ʲə": "jə", "ʲ": "",
    "ɚ": "əɹ",
    "r": "ɹ",
    "x": "k", "ç": "k",
    "ɐ": "ə",
    "ɬ": "l",
    "\u0303": "",
}.items(), key=lambda kv: -len(kv[0]))


def espeak_to_kokoro(ipa: str) -> str:
    """espeak-ng `--ipa --tie=^` output (American English) → Kokoro v1.0 phoneme symbols."""
    ps = ipa.strip()
    for old, new in _E2M:
        ps = ps.replace(old, new)
    ps = re.sub(r"(\S)\u0329", r"ᵊ\1", ps).replace(chr(809), "")
    ps = ps.replace("o^ʊ", "O").replace("ɜːɹ", "ɜɹ").replace("ɜː", "ɜɹ").replace("ɪə", "iə").replace("ː", "")
    ps = ps.replace("o", "ɔ")
    ps = ps.replace("ɾ", "T").replace("ʔ", "t")
    return ps.replace("^", "")


class G2PError(RuntimeError):
    """A front end could not turn text into phonemes."""


_CLAUSE = re.compile(r"([,.;:!?…—]+)(?=\s|$)")
_KEEP_PUNCT = {",": ",", ".": ".", ";": ";", ":": ":", "!": "!", "?": "?", "…": "…", "—": "—"}


class EnglishG2P:
    """English text → Kokoro phonemes: lexicon normalisation, espeak-ng per clause, symbol mapping."""

    def __init__(self, lexicon: Lexicon | None = None, *, voice: str = "en-us", command: str = "espeak-ng",
                 timeout_s: float = 10.0) -> None:
        self.lexicon = lexicon or Lexicon.load()
        self.voice = voice
        self.command = command
        self.timeout_s = timeout_s

    def __call__(self, text: str) -> str:
        text = normalize_en(text, self.lexicon)
        out: list[str] = []
        pieces = _CLAUSE.split(text)
        for i in range(0, len(pieces), 2):
            clause = pieces[i].strip()
            if re.search(r"[A-Za-z0-9]", clause):
                out.append(self.clause(clause))
            if i + 1 < len(pieces):
                mark = _KEEP_PUNCT.get(pieces[i + 1][0], "")
                if out:
                    out[-1] += mark
        return " ".join(out).strip()

    @functools.lru_cache(maxsize=2048)  # noqa: B019 - one G2P per synthesizer, phrases recur
    def clause(self, clause: str) -> str:
        try:
            done = subprocess.run([self.command, "-q", "--ipa", "--tie=^", "-v", self.voice, "--", clause],
                                  check=True, capture_output=True, timeout=self.timeout_s)
        except (OSError, subprocess.SubprocessError) as exc:
            raise G2PError(f"espeak-ng phonemes failed: {exc.__class__.__name__}") from exc
        ipa = " ".join(line.strip() for line in done.stdout.decode("utf-8", "replace").splitlines() if line.strip())
        return espeak_to_kokoro(ipa)


# ----- Mandarin G2P -----------------------------------------------------------------------------

_jieba_lock = threading.Lock()
_jieba_ready: set[str] = set()


def init_jieba(cache_dir: str | Path | None) -> None:
    """jieba builds its prefix dictionary once and caches it as a file: keep that where we choose
    (default TMPDIR), and build it before first use under a lock (jieba's own init is not
    thread-safe against concurrent first calls)."""
    import jieba

    key = str(cache_dir or "")
    with _jieba_lock:
        if key in _jieba_ready:
            return
        if cache_dir:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
            jieba.dt.tmp_dir = str(cache_dir)
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _jieba_ready.add(key)


@dataclass
class _Syllable:
    char: str
    pinyin: str
    fixed: bool       # from the lexicon: no sandhi
    word_end: bool    # last character of a multi-character word


class MandarinG2P:
    """Mandarin text → Kokoro phonemes (misaki's v1.0 recipe plus the lexicon and 一/不 sandhi)."""

    def __init__(self, lexicon: Lexicon | None = None, *, english: EnglishG2P | None = None,
                 cache_dir: str | Path | None = None) -> None:
        self.lexicon = lexicon or Lexicon.load()
        self.english = english or EnglishG2P(self.lexicon)
        self.cache_dir = cache_dir
        self.words: dict[str, list[str]] = {w: str(p).split() for w, p in
                                            (self.lexicon.section("zh").get("pinyin") or {}).items()}
        for word, syllables in self.words.items():
            if len(syllables) != len(word):
                raise ValueError(f"pronunciation.yaml: '{word}' has {len(word)} characters but {len(syllables)} syllables")
        self._longest = max((len(w) for w in self.words), default=0)

    def __call__(self, text: str) -> str:
        from misaki.zh import ZHG2P

        text = ZHG2P.map_punctuation(normalize_zh(text, self.lexicon))
        out: list[str] = []
        for piece in re.findall(rf"[{_HANZI}]+|[A-Za-z][A-Za-z'\-]*(?:\s+[A-Za-z][A-Za-z'\-]*)*|[^{_HANZI}A-Za-z]+", text):
            if re.match(rf"[{_HANZI}]", piece):
                out.append(" ".join(
                    "".join(ZHG2P.py2ipa(s.pinyin) for s in word) for word in self._words(self.syllables(piece))))
            elif re.match(r"[A-Za-z]", piece):
                out.append(f" {self.english(piece)} ")
            else:
                out.append(piece)
        return re.sub(r" {2,}", " ", "".join(out)).replace(chr(815), "").strip()

    def pinyin(self, text: str) -> list[str]:
        """The syllables (tone 1-5) the voice will say for the Chinese characters of `text`."""
        normalized = normalize_zh(text, self.lexicon)
        return [s.pinyin for piece in re.findall(rf"[{_HANZI}]+", normalized) for s in self.syllables(piece)]

    @staticmethod
    def _words(syllables: list[_Syllable]) -> list[list[_Syllable]]:
        words: list[list[_Syllable]] = [[]]
        for s in syllables:
            words[-1].append(s)
            if s.word_end:
                words.append([])
        return [w for w in words if w]

    def syllables(self, run: str) -> list[_Syllable]:
        """One run of Chinese characters → syllables, lexicon words first, then jieba + pypinyin, then sandhi."""
        from pypinyin import Style, lazy_pinyin

        import jieba

        init_jieba(self.cache_dir)
        out: list[_Syllable] = []

        def plain(chunk: str) -> None:
            for word in jieba.lcut(chunk, cut_all=False):
                syllables = lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True)
                if len(syllables) != len(word):  # pypinyin merged or dropped something: per character
                    syllables = [lazy_pinyin(c, style=Style.TONE3, neutral_tone_with_five=True)[0] for c in word]
                out.extend(_Syllable(c, s, False, i == len(word) - 1) for i, (c, s) in enumerate(zip(word, syllables)))

        start = i = 0
        while i < len(run):
            for size in range(min(self._longest, len(run) - i), 0, -1):
                word = run[i:i + size]
                if word in self.words:
                    if start < i:
                        plain(run[start:i])
                    out.extend(_Syllable(c, s, True, k == size - 1) for k, (c, s) in enumerate(zip(word, self.words[word])))
                    i += size
                    start = i
                    break
            else:
                i += 1
        if start < len(run):
            plain(run[start:])
        self._sandhi(out)
        return out

    @staticmethod
    def _sandhi(syllables: list[_Syllable]) -> None:
        """一 and 不 change tone before another syllable (一片 yí piàn, 一天 yì tiān, 不要 bú yào);
        一 keeps tone 1 when counting digits, as an ordinal, or at the end of a word (十一, 第一, 统一)."""
        from pypinyin import Style, lazy_pinyin

        def tone(s: _Syllable) -> str:
            t = s.pinyin[-1]
            if t == "5":  # neutral here (一个 yí ge): the character's own tone decides
                t = (lazy_pinyin(s.char, style=Style.TONE3, neutral_tone_with_five=True) or ["5"])[0][-1]
            return t

        for k, s in enumerate(syllables):
            if s.fixed or s.char not in "一不":
                continue
            prev = syllables[k - 1] if k else None
            nxt = syllables[k + 1] if k + 1 < len(syllables) else None
            if s.char == "不":
                if nxt is None:
                    continue
                if prev is not None and prev.char == nxt.char:  # 好不好, 是不是
                    s.pinyin = "bu5"
                else:
                    s.pinyin = "bu2" if tone(nxt) == "4" else "bu4"
                continue
            if nxt is None or (s.word_end and prev is not None and not prev.word_end) \
                    or (prev is not None and prev.char in _ZH_DIGITS + "十第") or nxt.char in _ZH_DIGITS + "十":
                s.pinyin = "yi1"
            elif prev is not None and prev.char == nxt.char:  # 看一看
                s.pinyin = "yi5"
            else:
                s.pinyin = "yi2" if tone(nxt) == "4" else "yi4"
