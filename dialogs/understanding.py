"""Deterministic understanding of patients' answers, Mandarin and English.

Each parser takes the normalised utterance and the call language and returns a `Parse` (or a
plain bool for the yes/no style checks). `Parse.value is None` means "not settled": the engine may
then try the language model (validated) or ask again — a parser never guesses.

Readings come only from numbers in the words (Chinese numerals included); symptoms carry their
status (present / absent) and cues (at rest, duration, sudden, heavy…) that the flag rules use."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from language.numbers import to_digits
from language.symptoms import Parse, NOTHING, parse_symptoms



_WS = re.compile(r"\s+")
# Full-width letters, digits and signs (Ａ１２３／) fold to ASCII; Chinese punctuation (，。？) stays as said.
_FULLWIDTH_ASCII = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp) not in "，。？！；：（）"}
_FULLWIDTH_ASCII[0x3000] = 0x20


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), traditional → simplified Chinese, single spaces."""
    text = (text or "").translate(_FULLWIDTH_ASCII)
    text = _to_simplified(text)
    return _WS.sub(" ", text).strip()


_T2S = None


def _to_simplified(text: str) -> str:
    global _T2S
    if not re.search(r"[\u4e00-\u9fff]", text):
        return text
    if _T2S is None:
        try:
            from opencc import OpenCC

            _T2S = OpenCC("t2s")
        except Exception:  # noqa: BLE001 - the converter is optional; simplified text passes unchanged
            _T2S = False
    return _T2S.convert(text) if _T2S else text


def _has(pattern: re.Pattern[str], text: str) -> bool:
    return pattern.search(text) is not None


def _zh(lang: str) -> bool:
    return lang == "zh"


# ----- call control: refusal, repeat, correction, question -----------------------------------------

_REFUSAL_ZH = re.compile(
    r"(?:不(?:需要|用|要|想)(?:再)?(?:做)?(?:回访|随访|电话回访)|别(?:再)?(?:给我)?打(?:电话)?(?:了|来)|不要(?:再)?(?:给我)?打(?:电话)?(?:了|来)"
    r"|不(?:用|要)(?:再)?(?:给我)?打(?:电话)?了|不(?:接受|同意|参加)(?:回访|随访)|拒绝(?:回访|随访)|以后别打|不想接(?:电话|回访)|不用再联系)")
_REFUSAL_EN = re.compile(
    r"(?:stop calling|don'?t call (?:me|here|again)|do not call|not interested|remove (?:me|my number)|take me off"
    r"|don'?t want (?:these|this|any) (?:calls?|follow[- ]?ups?)|no more calls|leave me alone|i refuse)", re.I)


def parse_refusal(text: str, lang: str) -> bool:
    return _has(_REFUSAL_ZH, text) or _has(_REFUSAL_EN, text)


_REPEAT_ZH = re.compile(r"(?:再说一遍|再说一次|重复一下|重复一遍|没听清|听不清|没听见|没听到|你说什么|说的什么|说啥|啥意思|什么意思|^什么[?？]?$|^啥[?？]?$|^啊[?？]$|^嗯[?？]$|^哪个[?？]?$|大点声|慢点说|说慢点)")
_REPEAT_EN = re.compile(r"(?:repeat (?:that|it|the question|yourself)|say (?:that|it) again|come again|^pardon|^sorry\??$|^what\??$|^huh\??$|"
                        r"didn'?t (?:catch|hear|get) (?:that|you|it)|can'?t hear|could you repeat|speak up|one more time|^excuse me\??$)", re.I)


def parse_repeat_request(text: str, lang: str) -> bool:
    if len(text) > 60:
        return False
    return _has(_REPEAT_ZH, text) or _has(_REPEAT_EN, text.strip())


_CORRECTION_ZH = re.compile(r"(?:^不对|^不是[，,]|说错了|搞错了|记错了|更正|纠正一下|^应该是|^不不|我是说|刚才说的不对)")
_CORRECTION_EN = re.compile(r"(?:^no,? i mean|^i mean|i meant|^sorry,? (?:i mean|it'?s|it was)|^correction|^actually,? (?:it|that|i)|"
                            r"^wait,? (?:it|that)|i said (?:it )?wrong|let me correct)", re.I)


def parse_correction(text: str, lang: str) -> bool:
    return _has(_CORRECTION_ZH, text) or _has(_CORRECTION_EN, text.strip())


_QUESTION_ZH = re.compile(
    r"(?:[?？]\s*$|吗\s*[。.!！]?\s*$|多久|多长时间|怎么(?:办|吃|用|服|弄|处理|回事)|为什么|什么时候|能不能|可不可以|可以不可以|要不要|需不需要"
    r"|该不该|是不是(?:要|得|可以|应该)|吃几|几(?:片|粒|次|点)吃|能(?:不能)?(?:停|吃|喝|洗)|会不会|请问|我想问|问一下|想咨询)")
_QUESTION_EN = re.compile(
    r"(?:\?\s*$|^(?:should|can|could|how|what|when|why|is it|is there|do i|does|will|am i|where|which|may i|would it|are there|shall)\b"
    r"|\bi (?:want|wanted|would like) to ask\b|\bi have a question\b|\bquick question\b"
    # "…the water pill in the morning or at night": a choice about taking a drug is asked, even when
    # speech recognition has lost the question's first word and its question mark.
    r"|\b(?:in the morning|at night|in the evening|before (?:meals|food|eating)|after (?:meals|food|eating)|with food)\b,? or\b)", re.I)


def parse_is_question(text: str, lang: str) -> bool:
    t = text.strip()
    if parse_repeat_request(t, lang):
        return False
    if _zh(lang) or re.search(r"[\u4e00-\u9fff]", t):
        if _has(_QUESTION_ZH, t):
            return True
    return _has(_QUESTION_EN, t) and len(t.split()) >= 3


# ----- yes / no --------------------------------------------------------------------------------------

_UNCERTAIN_ZH = re.compile(r"(?:不确定|说不好|说不准|记不清|记不得|不记得|不太记得|忘了是|不太清楚|也许吧|可能吧|不好说|大概吧|不知道|不晓得|不清楚)")
_YES_EXCEPTIONS_ZH = re.compile(r"(?:没问题|没错|不错|没什么问题|可不是)")
_NO_ZH = re.compile(r"(?:^(?:不|没|无|否|别|未)|还没|没有|没(?:挂|约|做|查|去|吃|打|用|量|测|预约|来得及)|不是|不对|不用|不需要|不要|没呢|不知道)")
_YES_ZH = re.compile(r"(?:是|对|嗯|好|有|知道|清楚|了解|做了|做过|查了|查过|挂(?:好|了|上)|约(?:好|了|上)|预约|已经|可以|行|当然|会的|吃了|记得|明白|晓得|收到|OK|ok|没错|没问题)")

_UNCERTAIN_EN = re.compile(r"(?:not sure|don'?t know|dunno|\bmaybe\b|can'?t remember|don'?t remember|no idea|unsure|i forget|perhaps)", re.I)
_NO_EN = re.compile(r"(?:^(?:no|nope|nah|not)\b|\bnot yet\b|\bhaven'?t\b|\bhasn'?t\b|\bdidn'?t\b|\bdon'?t\b|\bdo not\b|\bnot really\b|\bnever\b|\bno\b)", re.I)
_YES_EN = re.compile(r"(?:\byes\b|\byeah\b|\byep\b|\byup\b|\bsure\b|of course|\bi do\b|\bi did\b|\balready\b|\bdone\b|\bbooked\b|\bcorrect\b|"
                     r"that'?s right|\bright\b|certainly|absolutely|uh-huh|\bok(?:ay)?\b|\bi have\b|\bi know\b|\bi will\b|\bgot it\b|\bindeed\b)", re.I)


def parse_yes_no(text: str, lang: str) -> Parse:
    """yes / no / uncertain, or None when the words do not say."""
    t = text.strip()
    if not t:
        return NOTHING
    if _has(_UNCERTAIN_EN, t):
        return Parse("uncertain")
    if _has(_UNCERTAIN_ZH, t) and not re.search(r"知道[，,。]|^知道", t):
        return Parse("uncertain")
    if _has(_NO_EN, t):
        return Parse("no")
    if _has(_YES_EN, t):
        return Parse("yes")
    if _has(_YES_EXCEPTIONS_ZH, t):
        return Parse("yes")
    if _has(_NO_ZH, t):
        return Parse("no")
    if _has(_YES_ZH, t):
        return Parse("yes")
    return NOTHING


# ----- identity --------------------------------------------------------------------------------------

_WRONG_ZH = re.compile(r"(?:打错了|没有这个人|没这个人|不认识|没有叫.{1,5}的|这里没有|不是这家|号码错了|找错人了|不是我[，,。]?$|我不是(?!他|她))")
_WRONG_EN = re.compile(r"(?:wrong number|no one (?:by|with) that name|nobody (?:by|with) that name|there'?s no .{1,30} here|"
                       r"doesn'?t live here|don'?t know (?:him|her|anyone)|no such person|you have the wrong|not (?:him|her)[.,]?$)", re.I)
_FAMILY_ZH = re.compile(r"(?:我是(?:他|她)的?(?:儿子|女儿|老伴|爱人|妻子|丈夫|老婆|老公|孙子|孙女|儿媳|女婿|家属|家人|哥哥|姐姐|弟弟|妹妹|侄子|外孙|保姆|护工)"
                        r"|(?:儿子|女儿|老伴|爱人|家属|孙子|孙女|儿媳|女婿)|我(?:爸|妈|父亲|母亲|爷爷|奶奶|外公|外婆|老伴|爱人|丈夫|妻子))")
_FAMILY_EN = re.compile(r"(?:i'?m (?:his|her|their) \w+|this is (?:his|her) \w+|(?:his|her) (?:son|daughter|wife|husband|partner|grandson|granddaughter|"
                        r"caregiver|carer|brother|sister|nurse)|my (?:father|mother|dad|mum|mom|husband|wife|grandfather|grandmother))", re.I)
_CONFIRM_ZH = re.compile(r"(?:是我|我就是|本人|对|是的|没错|嗯|我是)")
_CONFIRM_EN = re.compile(r"(?:\byes\b|\byeah\b|speaking|this is (?:he|she|me)|that'?s me|it'?s me|\bi am\b|\bi'm\b|\bcorrect\b)", re.I)
_YEAR_4 = re.compile(r"(?<!\d)(19\d\d|20[0-2]\d)(?!\d)")
_YEAR_2 = re.compile(r"(?<!\d)(\d\d)\s*年")
_YEAR_EN_2 = re.compile(r"(?:born|birth)[^0-9]{0,12}'?(\d\d)(?!\d)", re.I)
_DIGITS_4 = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def _years(text: str) -> set[int]:
    t = to_digits(text)
    years = {int(y) for y in _YEAR_4.findall(t)}
    for two in _YEAR_2.findall(t) + _YEAR_EN_2.findall(t):
        n = int(two)
        years.add(1900 + n if n > 25 else 2000 + n)
    return years


def _name_said(text: str, name: str, lang: str) -> bool:
    if not name:
        return False
    if name in text:
        return True
    if re.search(r"[\u4e00-\u9fff]", name):
        return len(name) >= 3 and name[1:] in text
    tokens = [t for t in re.split(r"[\s.]+", name.lower()) if len(t) >= 2]
    low = text.lower()
    return any(re.search(rf"\b{re.escape(t)}\b", low) for t in tokens)


def parse_identity(text: str, lang: str, *, name: str, birth_year: int | None, id_last4: str | None = None,
                   phone_last4: str | None = None) -> Parse:
    """{verified, wrong_person, respondent}: name (said or confirmed) plus birth year or last 4 digits."""
    t = text.strip()
    digits = to_digits(t)
    years = _years(t)
    year_ok = birth_year is not None and birth_year in years
    fours = set(_DIGITS_4.findall(digits)) | set(_DIGITS_4.findall(re.sub(r"\s", "", digits)))
    last4_ok = any(x and x in fours for x in (id_last4, phone_last4))
    family = _has(_FAMILY_ZH, t) or _has(_FAMILY_EN, t)
    respondent = "family" if family else None
    if (_has(_WRONG_ZH, t) or _has(_WRONG_EN, t)) and not (year_ok or last4_ok):
        return Parse({"verified": False, "wrong_person": True, "respondent": "other"})
    name_ok = _name_said(t, name, lang) or _has(_CONFIRM_ZH, t) or _has(_CONFIRM_EN, t) or family
    verified = name_ok and (year_ok or last4_ok)
    return Parse({"verified": verified, "wrong_person": False,
                  "respondent": respondent or ("patient" if verified else None),
                  "year_mismatch": bool(years) and not year_ok})


# ----- symptoms --------------------------------------------------------------------------------------

_CLAUSE_ZH = re.compile(r"[，。；;！!？?]|,(?!\d)|但是|不过|就是|只是|可是|除了|倒是|但")

_NOTHING_NEW_ZH = re.compile(r"(?:没有|没什么|没啥|都没有|都没|没)(?:[^，,。]{0,3})(?:不舒服|新的|情况|问题|症状|异常|变化)|都挺好|一切(?:都)?(?:正常|挺好|好)|都正常|挺好的|好着呢|^没有[了呀啊的]?[。.!]?$|^没[了呀啊]?[。.!]?$|^无[。.]?$")
_NOTHING_NEW_EN = re.compile(r"(?:\bnothing\b|\bnone\b|^no\b|\bno new\b|\bno problems?\b|\bno issues?\b|\ball good\b|\bfeeling fine\b|\bi'?m fine\b|\bnot really\b)", re.I)


def _symptom_field(text: str, lang: str, respondent: str | None = None, semantic: Any = None) -> Parse:
    parse = parse_symptoms(text, lang, respondent=respondent, semantic=semantic)
    if parse.value is not None:
        return parse
    if _has(_NOTHING_NEW_ZH, text) or _has(_NOTHING_NEW_EN, text) or parse_yes_no(text, lang).value == "no":
        return Parse({"present": [], "absent": [], "cues": {}})
    return NOTHING


# ----- readings --------------------------------------------------------------------------------------

# Numbers that count days, doses or clock times, not readings.
_NOT_A_READING = re.compile(r"^\s*(?:次|天|周|个|号|点(?!\d)|年|月|日|岁|片|粒|顿|回|遍|种|下|斤|公斤|kg|am|pm|o'?clock|times?|days?|weeks?|pills?|tablets?|hours?|minutes?|小时|分钟|:\d)", re.I)
_READING_NUMBER = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?![\d])")


def reading_numbers(text: str) -> list[tuple[float, int, int]]:
    """(value, start, end) of numbers in the digit-converted text that can be readings."""
    out = []
    for m in _READING_NUMBER.finditer(text):
        if _NOT_A_READING.match(text[m.end():m.end() + 8]):
            continue
        if re.search(r"(?:早上|晚上|下午|上午|中午|at|about)\s*$", text[max(0, m.start() - 4):m.start()]) and \
                re.match(r"\s*(?:点|:)", text[m.end():m.end() + 2]):
            continue
        out.append((float(m.group(1)), m.start(), m.end()))
    return out


_SYS_LABEL = re.compile(r"(?:高压|收缩压|上面|上压|上边|top|systolic|upper)[^\d]{0,6}(\d{2,3})", re.I)
_DIA_LABEL = re.compile(r"(?:低压|舒张压|下面|下压|下边|bottom|diastolic|lower)[^\d]{0,6}(\d{2,3})", re.I)


def _run_together_pair(text: str) -> tuple[int, int] | None:
    """"14590" for "一百四十五，九十": speech recognition often writes a spoken pair as one number.
    Accepted only when exactly one split gives a plausible systolic over diastolic."""
    runs = re.findall(r"(?<![\d.])\d{4,6}(?![\d.])", text)
    if len(runs) != 1:
        return None
    run = runs[0]
    splits = [(int(run[:i]), int(run[i:])) for i in range(2, 4) if len(run) - i in (2, 3) and run[i] != "0"]
    plausible = [(a, b) for a, b in splits if 70 <= a <= 260 and 40 <= b <= 160 and a > b]
    return plausible[0] if len(plausible) == 1 else None


def _blood_pressure(text: str) -> Parse:
    t = to_digits(text)
    sys_m, dia_m = _SYS_LABEL.search(t), _DIA_LABEL.search(t)
    systolic = int(sys_m.group(1)) if sys_m else None
    diastolic = int(dia_m.group(1)) if dia_m else None
    if systolic is None or diastolic is None:
        values = [int(v) for v, _, _ in reading_numbers(t) if v == int(v) and 30 <= v <= 300]
        if systolic is None and diastolic is None:
            pairs = [(a, b) for a, b in zip(values, values[1:]) if 60 <= a <= 300 and 30 <= b <= 200 and a > b]
            if pairs:
                systolic, diastolic = pairs[0]
            elif (together := _run_together_pair(t)) is not None:
                systolic, diastolic = together
            elif len(values) == 1 and 60 <= values[0] <= 300:
                systolic = values[0]
        elif systolic is None:
            rest = [v for v in values if v != diastolic and 60 <= v <= 300 and v > diastolic]
            systolic = rest[0] if rest else None
        else:
            rest = [v for v in values if v != systolic and 30 <= v <= 200 and v < systolic]
            diastolic = rest[0] if rest else None
    if systolic is None and diastolic is None:
        return NOTHING
    if systolic is not None and not 50 <= systolic <= 300 or diastolic is not None and not 20 <= diastolic <= 200:
        return NOTHING
    return Parse({"systolic": systolic, "diastolic": diastolic})


def _blood_glucose(text: str) -> Parse:
    t = to_digits(text)
    values = [v for v, _, _ in reading_numbers(t)]
    if not values:
        return NOTHING
    value = values[-1] if len(values) > 1 and re.search(r"餐后|after", t, re.I) is None else values[0]
    mg_dl = re.search(r"mg\s*/?\s*d?l|毫克", t, re.I) is not None or value > 35
    if mg_dl:
        value = value / 18.0
    value = round(value, 1)
    if not 1.0 <= value <= 40.0:
        return NOTHING
    return Parse(value)


def _temperature(text: str) -> Parse:
    t = to_digits(text)
    for value, _, end in reading_numbers(t):
        fahrenheit = re.match(r"\s*(?:°\s*F|F\b|degrees f|fahrenheit)", t[end:end + 12], re.I)
        if fahrenheit or 93 <= value <= 110:
            value = (value - 32) * 5 / 9
        if 34.0 <= value <= 43.0:
            return Parse(round(value, 1))
    return NOTHING


def _heart_rate(text: str) -> Parse:
    t = to_digits(text)
    for value, _, _ in reading_numbers(t):
        if 25 <= value <= 250 and value == int(value):
            return Parse(int(value))
    return NOTHING


_NO_PAIN = re.compile(r"(?:不(?:怎么|太)?(?:疼|痛)|没(?:有)?(?:什么)?(?:疼|痛)|没感觉|不觉得疼|\bno pain\b|\bnot (?:in )?(?:any )?pain\b|\bdoesn'?t hurt\b|\bnone\b|\bzero\b|^0$)", re.I)


def _pain_score(text: str) -> Parse:
    t = to_digits(text)
    values = [v for v, _, _ in reading_numbers(t)]
    # "七八分" is said for 7–8: take the higher (the safer) figure.
    two = re.search(r"(?<!\d)(\d)(\d)\s*分", t)
    if two and int(two.group(2)) == int(two.group(1)) + 1:
        return Parse(int(two.group(2)))
    values = [v for v in values if 0 <= v <= 10 and v == int(v)]
    if values:
        return Parse(int(max(values[:2])))
    if re.search(r"\bone\b|一分", text, re.I):
        return Parse(1)
    if _has(_NO_PAIN, text):
        return Parse(0)
    return NOTHING


_SATISFACTION_ZH = [
    (1, re.compile(r"很不满意|非常不满意|特别不满意|极不满意|太差了|非常差|很差")),
    (2, re.compile(r"不满意|不太满意|不怎么满意|不好|差")),
    (5, re.compile(r"非常满意|很满意|特别满意|十分满意|太满意|非常好|特别好|太好了|相当满意|满分")),
    (3, re.compile(r"一般|还行|凑合|马马虎虎|还可以|说得过去|过得去")),
    (4, re.compile(r"满意|挺好|不错|蛮好|很好|还好")),
]
_SATISFACTION_EN = [
    (1, re.compile(r"very (?:dis|un)satisfied|very unhappy|extremely (?:dis|un)satisfied|terrible|awful|horrible", re.I)),
    (2, re.compile(r"dissatisfied|unsatisfied|unhappy|not (?:very |really )?(?:satisfied|happy|good)|\bpoor\b|\bbad\b", re.I)),
    (5, re.compile(r"very (?:satisfied|happy|pleased|good)|extremely (?:satisfied|happy)|excellent|great|wonderful|fantastic|perfect|"
                   r"couldn'?t be happier|amazing|outstanding", re.I)),
    (3, re.compile(r"neutral|\bok(?:ay)?\b|average|so-so|alright|all right|\bfine\b|mixed|not bad", re.I)),
    (4, re.compile(r"satisfied|happy|pleased|\bgood\b", re.I)),
]


def _satisfaction(text: str) -> Parse:
    for score, pattern in (_SATISFACTION_ZH if re.search(r"[\u4e00-\u9fff]", text) else []) + _SATISFACTION_EN:
        if pattern.search(text):
            return Parse(score)
    t = to_digits(text)
    values = [int(v) for v, _, _ in reading_numbers(t) if v == int(v) and 1 <= v <= 5]
    if values:
        return Parse(values[0])
    return NOTHING


_CONDITION = [
    ("same", re.compile(r"差不多|一样|老样子|没什么变化|没变化|没啥变化|还那样|就那样|还行|一般|还好|还可以|about the same|the same|no change|not much (?:different|change|better)|unchanged|so-so|no different", re.I)),
    ("worse", re.compile(r"不太好|不好|不大好|更差|差了|变差|加重|严重了|更难受|难受|不舒服|越来越|还不如|恶化|重了|worse|not (?:so |too |very )?(?:good|well|great)|\bbad\b|poorly|terrible|awful|deteriorat|not doing well", re.I)),
    ("better", re.compile(r"好起来|见好|好多了|好些了|好一些|好一点|好点了|好转|恢复|不错|挺好|很好|轻松多了|减轻|比住院(?:的时候)?好|好了|better|improv|\bgood\b|great|\bwell\b|\bfine\b|recovering", re.I)),
]


def _overall_condition(text: str) -> Parse:
    hits = [(value, m.start()) for value, pattern in _CONDITION for m in [pattern.search(text)] if m]
    if not hits:
        return NOTHING
    # "不太好，今天…": the first assessment said is the answer; "worse" wins ties over the others.
    hits.sort(key=lambda h: (h[1], {"worse": 0, "same": 1, "better": 2}[h[0]]))
    return Parse(hits[0][0])


_WOUND = [
    ("dehiscence", re.compile(r"裂开|开线|崩开|绽开|伤口开了|split open|came open|opened up|gaping|coming apart|dehisc", re.I)),
    ("discharge", re.compile(r"渗液|流水|流脓|有脓|化脓|渗出|流黄水|oozing|discharge|pus|weeping|leaking", re.I)),
    ("bleeding", re.compile(r"出血|流血|渗血|bleeding|blood", re.I)),
    ("swelling", re.compile(r"(?<![不没])肿|swell|swollen|puffy", re.I)),
    ("redness", re.compile(r"(?<![不没])(?:发)?红|red\b|redness|inflamed", re.I)),
    ("none", re.compile(r"没有伤口|没伤口|no wound|no incision|no cut", re.I)),
    ("ok", re.compile(r"挺好|很好|还好|好了|长好|愈合|正常|没事|没问题|不红不肿|干燥|干净|结痂|拆线了|没有(?:红|肿|渗|异常)|没什么|fine|good|ok(?:ay)?|healing|healed|clean|dry|looks? (?:good|fine|normal)|no (?:problem|redness|swelling)|nothing", re.I)),
]


def _wound(text: str) -> Parse:
    clauses = [c for c in _CLAUSE_ZH.split(text) if c.strip()] if re.search(r"[\u4e00-\u9fff]", text) else [text]
    found = []
    for clause in clauses:
        for value, pattern in _WOUND:
            m = pattern.search(clause)
            if not m:
                continue
            if value not in ("ok", "none"):
                before = clause[:m.start()]
                if re.search(r"(?:没有|没|不|无|no|not|without)\W*(?:\w+\W+){0,3}$", before, re.I) or re.search(r"没有|不", clause[:m.start()][-4:]):
                    continue
            found.append(value)
    order = ["dehiscence", "discharge", "bleeding", "swelling", "redness", "none", "ok"]
    for value in order:
        if value in found:
            return Parse(value, cues={"pus": True} if re.search(r"脓|\bpus\b", text, re.I) else {})
    if parse_yes_no(text, "zh").value == "no":
        return Parse("ok")
    return NOTHING


# ----- medication adherence ------------------------------------------------------------------------

_CLASS_WORDS = {
    "antihypertensive": r"降压药|降压的|血压药|降血压|blood pressure (?:pills?|meds?|medicines?|medications?|tablets?)|\bbp (?:pills?|meds?)",
    "antidiabetic": r"降糖药|降糖的|降血糖|糖尿病(?:的)?药|diabetes (?:pills?|meds?|medicines?|tablets?)|sugar (?:pills?|tablets?)",
    "insulin": r"胰岛素|insulin",
    "statin": r"他汀|降脂药|降血脂|降脂的|cholesterol (?:pills?|meds?|medicines?|tablets?)|\bstatins?\b",
    "antiplatelet": r"抗血小板|blood thinners?",
    "anticoagulant": r"抗凝(?:药)?|blood thinners?",
    "diuretic": r"利尿(?:药|剂|的)|排水的药|water [pb]ills?|fluid pills?|diuretics?",
}
_MISSED_NEG = re.compile(r"(?:没(?:有)?(?:漏|忘|停|落下|断|少吃)|一次(?:都|也)?没(?:落|漏|忘)|从(?:来)?(?:没|不)(?:忘|漏|落)|不(?:漏|忘)|"
                         r"never (?:miss|forget|skip)|haven'?t (?:missed|forgotten|skipped)|don'?t (?:miss|forget|skip)|didn'?t (?:miss|forget|skip)|not (?:missed|skipped) any)", re.I)
_MISSED = re.compile(r"(?:忘(?:了|记)?|漏(?:了|吃|服|掉)?|停(?:了|掉|药)|自己停|没(?:有)?(?:吃|打|用|服|按时)|吃完了|用完了|打完了|没(?:去)?开|没买|断(?:了|药)|减(?:了|量)|少吃|不吃了|不打了|"
                     r"不规律|偶尔|有时候?忘|\bmiss(?:ed|ing)?\b|\bforg[eo]t|\bskip(?:ped|ping)?\b|\bstopped\b|\bran out\b|\brun out\b|\bout of\b|haven'?t (?:been )?tak|"
                     r"not taking|didn'?t take|\bquit\b|cut back|halved|don'?t take|stopped taking)", re.I)
_NONE_TAKEN = re.compile(r"(?:都没吃|都停了|全(?:都)?停了|一(?:种|样)都没吃|药都没吃|都不吃了|什么药都没|没吃药|没有吃药|"
                         r"stopped (?:all|everything|them all|taking (?:all|them|everything))|not taking any|haven'?t taken any|none of them|don'?t take any)", re.I)
_ALL_TAKEN = re.compile(r"(?:都(?:按时|按点|准时)?(?:给(?:他|她))?(?:在)?(?:吃|打|用)(?:了|的|着)?|按时(?:给(?:他|她))?(?:吃|打|服)|每天都(?:吃|打)|一直(?:在)?(?:吃|打)|按医嘱|照(?:常)?吃|一顿(?:都)?没落|"
                        r"all of them|every (?:day|dose|single)|as prescribed|take them all|taking them all|i take them|take all|taking all|religiously|on time|"
                        r"\bregularly\b|haven'?t missed)", re.I)
_EXCEPTION_MED = re.compile(r"(?:就是|只是|但是|不过|可是|除了|\bbut\b|\bexcept\b)(.+)$", re.I)
_TAKEN_OR_EFFECT = re.compile(r"吃了|在吃|吃着|按时|每天|疼|痛|不舒服|副作用|难受|过敏|反应|\btook\b|\btake\b|\btaking\b|\bpain|\bache|side effect|\bhurt", re.I)
_CLAUSE_MED = re.compile(r"[，,。；;！!？?]|但是|不过|就是|只是|可是|除了|\bbut\b|\bexcept\b|\bapart from\b|\balthough\b")


def _drug_keys(med: dict[str, Any]) -> list[str]:
    keys = []
    for raw in (med.get("name"), med.get("generic_name")):
        if not raw:
            continue
        keys.append(raw)
        if re.search(r"[\u4e00-\u9fff]", raw):
            core = re.sub(r"(?:肠溶|缓释|控释|分散|咀嚼)?(?:片|胶囊|颗粒|注射液|口服液|软胶囊|滴丸|气雾剂|吸入剂|贴)$", "", raw)
            core = re.sub(r"^(?:苯磺酸|酒石酸|琥珀酸|盐酸|硫酸|马来酸|富马酸|甲磺酸|阿托伐他汀钙)", lambda m: "" if m.group(0) != "阿托伐他汀钙" else "阿托伐他汀", core)
            core = re.sub(r"钙$|钠$|钾$", "", core)
            if len(core) >= 2:
                keys.append(core)
            if len(core) >= 4:
                keys.append(core[:3])
        else:
            words = re.split(r"[\s/-]+", raw.lower())
            keys += [w for w in words[:1] if len(w) >= 4]
    return list(dict.fromkeys(k.lower() for k in keys))


def _drugs_in(clause: str, medications: list[dict[str, Any]]) -> list[str]:
    low = clause.lower()
    named = [m["name"] for m in medications if any(k in low for k in _drug_keys(m))]
    for drug_class, pattern in _CLASS_WORDS.items():
        if re.search(pattern, clause, re.I):
            named += [m["name"] for m in medications if m.get("drug_class") == drug_class
                      or drug_class in ("antiplatelet", "anticoagulant") and m.get("drug_class") in ("antiplatelet", "anticoagulant")]
    return list(dict.fromkeys(named))


def _medication_adherence(text: str, lang: str, context: dict[str, Any]) -> Parse:
    medications = [m for m in context.get("medications", []) if m.get("name")]
    all_names = [m["name"] for m in medications]
    cleaned = _MISSED_NEG.sub(" 都按时吃 ", text)
    missed: list[str] = []
    unnamed_miss = False
    for clause in _CLAUSE_MED.split(cleaned):
        if not clause.strip() or not _MISSED.search(clause):
            continue
        drugs = _drugs_in(clause, medications)
        if drugs:
            missed += drugs
        else:
            unnamed_miss = True
    missed = list(dict.fromkeys(missed))
    if not missed and not unnamed_miss and _ALL_TAKEN.search(cleaned):
        # "都按时吃，就是阿托伐他汀有两天……": an exception naming one drug is a miss of that drug,
        # even when the word for it was misheard; taking it or its side effects are not.
        exception = _EXCEPTION_MED.search(cleaned)
        if exception and not _TAKEN_OR_EFFECT.search(exception.group(1)):
            missed = _drugs_in(exception.group(1), medications)
            if missed and set(missed) >= set(all_names):
                missed = []
    if _NONE_TAKEN.search(cleaned) and not missed:
        return Parse({"adherence": "none", "missed": all_names})
    if missed:
        every_drug = len(all_names) > 1 and set(missed) >= set(all_names) and not _ALL_TAKEN.search(cleaned)
        return Parse({"adherence": "none" if every_drug else "partial", "missed": missed})
    if unnamed_miss:
        return Parse({"adherence": "partial", "missed": []})
    if _ALL_TAKEN.search(cleaned):
        return Parse({"adherence": "full", "missed": []})
    yes_no = parse_yes_no(text, lang).value
    if yes_no == "yes":
        return Parse({"adherence": "full", "missed": []})
    # The zh question ends "有没有漏吃或者停掉的？", so a bare "没有" means nothing was missed.
    if yes_no == "no" and re.fullmatch(r"\s*(?:没有|没|无|没有啊|没有的|没呢)[了呀啊的。.!！]?\s*", text):
        return Parse({"adherence": "full", "missed": []})
    return NOTHING


# ----- dispatch ----------------------------------------------------------------------------------------

_AWARE = {
    "yes": re.compile(r"知道|清楚|记得|了解|晓得|明白|通知(?:过|了)|说过|\bi know\b|\baware\b|\bknew\b|\bi remember\b|\btold me\b|\bi do\b|\byes\b", re.I),
    "no": re.compile(r"不知道|不清楚|不记得|没人说|没听说|没(?:有)?通知|\bdidn'?t know\b|\bdon'?t know\b|\bnobody told\b|\bno one told\b|\bnot aware\b|\bno\b", re.I),
}
_BOOKED = {
    "yes": re.compile(r"挂(?:好|了|上)|约(?:好|了|上)|预约(?:好|了)|已经(?:预约|挂|约)|订好|\bbooked\b|\bscheduled\b|made (?:an|the) appointment|\bset up\b|\byes\b", re.I),
    "no": re.compile(r"还没|没(?:有)?(?:挂|约|预约)|不(?:会|知道怎么)挂|挂不上|约不上|\bnot yet\b|haven'?t|\bno\b", re.I),
}
_DONE = {
    "yes": re.compile(r"做(?:了|过|完)|查(?:了|过|完)|抽(?:了|过)血|已经(?:做|查)|结果出来|\bdone\b|\bhad (?:it|them|the)\b|\bgot (?:it|them) done\b|\bcompleted\b|\byes\b", re.I),
    "no": re.compile(r"还没|没(?:有)?(?:做|查|去|抽)|\bnot yet\b|haven'?t|hasn'?t|\bno\b", re.I),
}


def _yes_no_field(text: str, lang: str, table: dict[str, re.Pattern[str]]) -> Parse:
    if _has(_UNCERTAIN_EN, text) and not table["no"].search(text):
        return Parse("uncertain")
    if table["no"].search(text):
        return Parse("no")
    if table["yes"].search(text):
        return Parse("yes")
    return parse_yes_no(text, lang)


def parse_field(field_name: str | None, text: str, lang: str, context: dict[str, Any] | None = None, *,
                semantic: Any = None) -> Parse:
    """The value of one outcome field from an answer, in the shape the engine stores.

    `semantic` (a language.semantic.SemanticMatcher) adds symptoms said in other words."""
    context = context or {}
    text = text.strip()
    if not text or not field_name:
        return NOTHING
    if field_name == "overall_condition":
        return _overall_condition(text)
    if field_name == "medication_adherence":
        return _medication_adherence(text, lang, context)
    if field_name == "symptoms":
        return _symptom_field(text, lang, context.get("respondent"), semantic)
    if field_name == "side_effects":
        parse = _symptom_field(text, lang, context.get("respondent"), semantic)
        return Parse({"present": parse.value["present"], "cues": parse.value["cues"]}) if parse.value else NOTHING
    if field_name == "blood_pressure":
        return _blood_pressure(text)
    if field_name == "blood_glucose":
        return _blood_glucose(text)
    if field_name == "temperature":
        return _temperature(text)
    if field_name == "heart_rate":
        return _heart_rate(text)
    if field_name == "pain_score":
        return _pain_score(text)
    if field_name == "wound":
        return _wound(text)
    if field_name == "satisfaction":
        return _satisfaction(text)
    if field_name == "revisit_aware":
        return _yes_no_field(text, lang, _AWARE)
    if field_name == "revisit_booked":
        return _yes_no_field(text, lang, _BOOKED)
    if field_name == "reexam_done":
        return _yes_no_field(text, lang, _DONE)
    if field_name == "identity_verified":
        return parse_identity(text, lang, name=context.get("name", ""), birth_year=context.get("birth_year"),
                              id_last4=context.get("id_last4"), phone_last4=context.get("phone_last4"))
    return NOTHING
