"""Deterministic understanding of patients' answers, Mandarin and English.

Each parser takes the normalised utterance and the call language and returns a `Parse` (or a
plain bool for the yes/no style checks). `Parse.value is None` means "not settled": the engine may
then try the language model (validated) or ask again — a parser never guesses.

Readings come only from numbers in the words (Chinese numerals included); symptoms carry their
status (present / absent) and cues (at rest, duration, sudden, heavy…) that the flag rules use."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from dialogs.clinical_rules import default_threshold
from language.non_answer import KINDS as NON_ANSWER_KINDS, non_answer_kind, relayed_answer
from language.numbers import to_digits
from language.adherence import DrugRef, blames_drug, is_as_needed, is_course, not_from_drug, read_adherence, route_keys, stopped_for_it
from language.asr import fix_homophones
from language.backchannel import is_backchannel
from language.condition import read_condition
from language.context import assess, not_the_patients, rules
from language.wound import read_wound
from language.words import word_list
from language.yes_no import read_yes_no_field
from language.symptoms import NOTHING, Parse, parse_symptoms



_WS = re.compile(r"\s+")
# Full-width letters, digits and signs (Ａ１２３／) fold to ASCII; Chinese punctuation (，。？) stays as said.
_FULLWIDTH_ASCII = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp) not in "，。？！；：（）"}
_FULLWIDTH_ASCII[0x3000] = 0x20


# A space between two Chinese characters is no word break in written Chinese: it is where a speech recogniser
# heard a pause and wrote no comma ("喘不上来气 说两句话就喘 坐那都喘"). Read as the comma a typist would have
# put, so that clause-bound rules (a denial's scope, a cue's clause) do not run across the pause.
_ZH_PAUSE = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), traditional → simplified Chinese, speech-recognition homophones of
    medical words (language/data/asr_homophones.yaml), a pause between Chinese words as a comma, single spaces."""
    text = (text or "").translate(_FULLWIDTH_ASCII)
    text = fix_homophones(_to_simplified(text))
    text = _ZH_PAUSE.sub("，", text)
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
    r"(?:stop calling|don'?t call (?:me|here|again)|do not call|not interested(?!\s+in\b)|remove (?:me|my number)|take me off"
    r"|don'?t want (?:these|this|any) (?:calls?|follow[- ]?ups?)|no more calls|leave me alone|i refuse)", re.I)


def parse_refusal(text: str, lang: str) -> bool:
    return _has(_REFUSAL_ZH, text) or _has(_REFUSAL_EN, text)


_REPEAT_ZH = re.compile(r"(?:再说一遍|再说一次|重复一下|重复一遍|没听清|听不清|没听见|没听到|你说什么|说的什么|说啥|啥意思|什么意思|^什么[?？]?$|^啥[?？]?$|^啊[?？]$|^嗯[?？]$|^哪个[?？]?$|大点声|慢点说|说慢点)")
_REPEAT_EN = re.compile(r"(?:repeat (?:that|it|the question|yourself)|say (?:that|it) again|come again|^pardon|^sorry\??$|^what\??$|^huh\??$|"
                        r"didn'?t (?:catch|hear|get) (?:that|you|it)|can'?t hear|could you repeat|speak up|one more time|^excuse me\??$"
                        r"|what was that|what did you (?:say|ask)|^sorry,? what)", re.I)


def after_repeat_request(text: str) -> str:
    """What follows the last repeat request in the turn ("什么？没听清……哦，好多了" → "哦，好多了")."""
    last = None
    for pattern in (_REPEAT_ZH, _REPEAT_EN):
        for m in pattern.finditer(text):
            if last is None or m.end() > last:
                last = m.end()
    rest = text[last:] if last is not None else text
    return rest.lstrip(" ，,。.!！？?…~～").strip()


def opens_with_repeat_request(text: str) -> bool:
    """The turn asks to hear the question again: it starts so, or says nothing else
    ("Sorry, what was that? I didn't catch it.")."""
    t = text.strip()
    if any(m.start() <= 3 for pattern in (_REPEAT_ZH, _REPEAT_EN) for m in pattern.finditer(t)) or len(t) <= 6:
        return True
    rest = _REPEAT_EN.sub(" ", _REPEAT_ZH.sub(" ", t))
    rest = re.sub(r"\b(?:sorry|i|it|that|you|please|the|question|again|what)\b|[\W_]+", "", rest, flags=re.I)
    return len(rest) <= 3


def parse_repeat_request(text: str, lang: str) -> bool:
    if len(text) > 60:
        return False
    return _has(_REPEAT_ZH, text) or _has(_REPEAT_EN, text.strip())


_TRANSFER = re.compile(
    r"转人工|人工服务|找(?:个)?真人|真人(?:客服|接)|(?:跟|和|找|要|让)(?:个)?护士(?:说|讲|通话|聊|打|联系|跟我)?|(?:跟|和|找)医生(?:说|讲|通话)|"
    r"\b(?:talk|speak) (?:to|with) (?:a|the|an actual|a real) (?:nurse|doctor|person|human|someone)\b|\breal person\b|\bput me through\b|"
    r"\bhave (?:a|the) nurse (?:call|ring|phone)\b|\b(?:get|want) (?:a|the) nurse\b", re.I)


def parse_transfer_request(text: str, lang: str) -> bool:
    """The patient asks for a person (a nurse, a doctor) rather than the assistant."""
    return _has(_TRANSFER, text)


_CORRECTION_ZH = re.compile(r"(?:^不对|^不是[，,]|说错了|搞错了|记错了|更正|纠正一下|^应该是|^不不|我是说|刚才说的不对)")
_CORRECTION_EN = re.compile(r"(?:^no,? i mean|^i mean|i meant|^sorry,? (?:i mean|it'?s|it was)|^correction|^actually,? (?:it|that|i)|"
                            r"^wait,? (?:it|that)|i said (?:it )?wrong|let me correct)", re.I)


def parse_correction(text: str, lang: str) -> bool:
    return _has(_CORRECTION_ZH, text) or _has(_CORRECTION_EN, text.strip())


_QUESTION_ZH = re.compile(
    r"(?:[?？]\s*$|吗\s*[。.!！]?\s*$|多久|多长时间|(?<![没不])怎么(?:办|吃|用|服|弄|处理|回事)|为什么|什么时候|能不能|可不可以|可以不可以|要不要|需不需要"
    r"|该不该|是不是(?:要|得|可以|应该)|吃几(?![^，,。]{0,2}(?:停|歇|不吃))|几(?:片|粒|次|点)吃|能不能(?:停|吃|喝|洗)|能(?:停|吃|喝|洗)[^，,。]{0,8}(?:吗|么|不)\s*$"
    r"|会不会|请问|我想问|问一下|想咨询|有问题想问|想问问|[能可]\w{0,6}(?:不|没)[？?]|行不[？?])")
_QUESTION_EN = re.compile(
    r"(?:\?\s*$|^(?:how|what|when|why|where|which)\b|^(?:is it|is there|am i|may i|would it|are there)\b"
    r"|^(?:should|can|could|will|would|shall|do|does|did)\s+(?:i|we|you|he|she|it|they|my|mum|dad|the|this|that|these)\b"
    r"|\bi (?:want|wanted|would like) to ask\b|\bi have a question\b|\bquick question\b"
    # "…the water pill in the morning or at night": a choice about taking a drug is asked, even when
    # speech recognition has lost the question's first word and its question mark.
    r"|\b(?:in the morning|at night|in the evening|before (?:meals|food|eating)|after (?:meals|food|eating)|with food)\b,? or\b)", re.I)


_TRAILING_MARK = re.compile(r"[?？]\s*$")
# A question by its word order ("Is that normal?", "Are they important?"), not only by a rising voice.
_ASKS_BY_FORM_EN = re.compile(r"^\W*(?:(?:and|so|but|oh|why|well),?\s+)?(?:is|are|was|were|has|have|had|do|does|did|can|could|should|will|would|shall|may|might|must"
                              r"|isn'?t|aren'?t|wasn'?t|don'?t|doesn'?t|didn'?t|won'?t|can'?t|shouldn'?t)\b", re.I)


def _bare_reply(text: str, lang: str) -> bool:
    """A short yes or no ("没有呢", "No"): the recogniser writes a rising one with a question mark.
    "是不是", "有没有" ask, whatever their length."""
    if re.search(r"(.)[不没]\1", text):
        return False
    characters = re.findall(r"[\u4e00-\u9fff]", text)
    words, most = (characters, 4) if characters else (text.split(), 2)
    return len(words) <= most and parse_yes_no(text, lang).value is not None


def parse_is_question(text: str, lang: str) -> bool:
    t = text.strip()
    if parse_repeat_request(t, lang):
        return False
    if _TRAILING_MARK.search(t) and _bare_reply(_TRAILING_MARK.sub("", t), lang):
        return False
    if _zh(lang) or re.search(r"[\u4e00-\u9fff]", t):
        if _has(_QUESTION_ZH, t):
            return True
    return _has(_QUESTION_EN, t) and len(t.split()) >= 3


_SENTENCE_END = re.compile(r"(?<=[。！!？?])|(?<=[.])\s+")


_WHAT_TO_DO = re.compile(
    r"怎么办|咋办|咋个(?:弄|办|整)|咋整|怎么弄|怎么处理|该怎么"
    r"|\bwhat (?:should|do|shall|can) (?:i|we) do\b", re.I)
_GO_NOW = re.compile(
    r"要不要(?:去|上)(?:医院|急诊)|等到[^，,。]{0,10}还是|现在(?:就)?(?:去|上)(?:医院|急诊)"
    r"|\bshould (?:i|we|he|she) (?:wait|go)\b|\bdo (?:i|we) (?:need to )?go (?:in|to)\b", re.I)


_WAIT_OR_GO = re.compile("|".join(f"(?:{p})" for p in word_list("wait_or_go_patterns")), re.I)


def asks_wait_or_go(text: str, lang: str) -> bool:
    """The patient asks whether to wait or go now ("我让他歇两天再看看行不行？", "should we wait for Monday's appointment?")."""
    return bool(_GO_NOW.search(text) or _WAIT_OR_GO.search(text))


def asks_what_to_do(text: str, lang: str) -> bool:
    """The patient asks what to do now ("咋个弄嘛", "血糖低了我该咋办？"), or whether to wait or go."""
    return bool(_WHAT_TO_DO.search(text)) or asks_wait_or_go(text, lang)


def split_questions(text: str, lang: str) -> tuple[str, str]:
    """(the question sentences, the rest): an answer may come with a question after it."""
    asked, said = [], []
    zh = _zh(lang) or bool(re.search(r"[\u4e00-\u9fff]", text))
    for sentence in _SENTENCE_END.split(text):
        if not sentence or not sentence.strip():
            continue
        # A Chinese answer runs on with commas: the question is the clause that asks ("…一天比一天瘦，要不要再去住几天").
        parts = [c for c in re.split(r"(?<=[，,])", sentence) if c.strip()] if zh else [sentence]
        for part in parts:
            (asked if parse_is_question(part.strip(" ，,"), lang) else said).append(part.strip())
    if not zh and len(asked) > 1:
        # "About the same, I guess? Is that normal?": a statement said rising, beside a question that asks by its
        # form, is the answer.
        rising = [p for p in asked if not _has(_QUESTION_EN, _TRAILING_MARK.sub("", p).strip())
                  and not _ASKS_BY_FORM_EN.search(p)]
        if rising and len(rising) < len(asked):
            asked = [p for p in asked if p not in rising]
            said = rising + said
    if asked:
        # "…when do I stop? I can't remember.", "记不清了，这个药吃到什么时候？": not knowing is why they ask,
        # no answer to the question put to them.
        uncertain = _UNCERTAIN_ZH if zh else _UNCERTAIN_EN
        asked += [p for p in said if uncertain.search(p)]
        said = [p for p in said if not uncertain.search(p)]
    joiner = "" if zh else " "
    return joiner.join(asked), joiner.join(said)


# ----- yes / no --------------------------------------------------------------------------------------

_UNCERTAIN_ZH = re.compile(r"(?:不确定|说不好|说不准|记不清|记不得|不记得|不太记得|忘了是|不太清楚|也许吧|可能吧|不好说|大概吧|不知道|不晓得|不清楚)")
_YES_EXCEPTIONS_ZH = re.compile(r"(?:没问题|没错|不错|没什么问题|可不是)")
# Cantonese and other regional words count the same: 冇/唔 = no, 系/知 = yes.
_NO_ZH = re.compile(r"(?:^(?:不|没|无|否|别|未|冇|唔|么得|木有|呒没)|还没|没有|没(?:挂|约|做|查|去|吃|打|用|量|测|预约|来得及|含|喷|吸|贴|抹|擦|滴)|不是|不对|不用|不需要|不要|没呢|不知道)")
_YES_ZH = re.compile(r"(?:^(?:系|係|啱|知)(?:啊|呀|嘅|㗎|喇|啦)?(?:[，,。！!\s]|$)|是|对|嗯|好|有|知道|清楚|了解|做了|做过|查了|查过|挂(?:好|了|上)|约(?:好|了|上)|预约|已经|可以|行|当然|会的|吃了|记得|明白|晓得|收到|OK|ok|没错|没问题)")

_UNCERTAIN_EN = re.compile(r"(?:not sure|don'?t know|dunno|\bmaybe\b|can'?t remember|don'?t remember|no idea|unsure|i forget|perhaps)", re.I)
_NO_EN = re.compile(r"(?:^(?:no|nope|nah|not)\b|\bnot yet\b|\bhaven'?t\b|\bhasn'?t\b|\bdidn'?t\b|\bdon'?t\b|\bdo not\b|\bnot really\b|\bnever\b|\bno\b)", re.I)
_YES_EN = re.compile(r"(?:\byes\b|\baye\b|\byeah\b|\byep\b|\byup\b|\bsure\b|of course|\bi do\b|\bi did\b|\balready\b|\bdone\b|\bbooked\b|\bcorrect\b|"
                     r"that'?s right|\bright\b|certainly|absolutely|uh-huh|\bok(?:ay)?\b|\bi have\b|\bi know\b|\bi will\b|\bgot it\b|\bindeed\b)", re.I)


def parse_yes_no(text: str, lang: str) -> Parse:
    """yes / no / uncertain, or None when the words do not say."""
    t = text.strip()
    if not t:
        return NOTHING
    if _has(_UNCERTAIN_EN, t):
        return Parse("uncertain")
    if _has(_UNCERTAIN_ZH, t) and not re.search(r"(?<!不)知道[，,。]|^知道", t):
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


def generic_yes_no(text: str, lang: str, *, blocking: tuple[str, ...] = NON_ANSWER_KINDS) -> str | None:
    """parse_yes_no's value, unless the answer is a non-answer of one of the `blocking` kinds
    (language.non_answer): "你再说一下药名，我拿药盒对一下" holds 对 and "不说了，我忙着呢" starts with 不, and
    neither answers the question."""
    if non_answer_kind(text) in blocking:
        return None
    return parse_yes_no(text, lang).value


_CLAUSE_SPLIT = re.compile(r"[，,。.!！?？;；、]+")


@functools.lru_cache(maxsize=2)
def _closings(lang: str) -> re.Pattern[str]:
    words = sorted(word_list(f"closings_{lang}"), key=len, reverse=True)
    return re.compile(r"^(?:" + "|".join(re.escape(w) for w in words) + r")", re.I)


def acknowledgement_only(text: str, lang: str) -> bool:
    """Nothing but backchannels, acknowledgements and closings ("嗯，行", "好嘞", "Okay, thank you.", "Cool."):
    heard, and no content — to "anything to ask?" no question waiting (word_lists.yaml acknowledgements_*)."""
    clauses = [c.strip() for c in _CLAUSE_SPLIT.split(text or "") if c.strip()]
    if not clauses:
        return False
    for clause in clauses:
        rest = clause.lower()
        while rest:
            rest = rest.strip(" '-")
            if not rest:
                break
            match = _acknowledgements(lang).match(rest)
            if match is None or not match.group(0):
                return False
            rest = rest[match.end():]
    return True


@functools.lru_cache(maxsize=2)
def _acknowledgements(lang: str) -> re.Pattern[str]:
    words = {*word_list(f"acknowledgements_{lang}"), *word_list(f"backchannels_{lang}"), *word_list(f"closings_{lang}"),
             *word_list(f"hums_{lang}")}
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    # English words end at a word boundary ("ta" is not the start of "take"); Mandarin has no spaces.
    return re.compile(rf"(?:{alternatives})" + (r"\b" if lang == "en" else ""), re.I)


def is_bare_reply(text: str, lang: str) -> bool:
    """Only a short yes or no and closing words ("没有了，谢谢你们啊", "No, that's all."): nothing that
    answers a question other than a yes/no one."""
    return bare_reply(text, lang) is not None


def bare_reply(text: str, lang: str) -> str | None:
    """The yes or no ("yes", "no", "uncertain") of a bare reply (is_bare_reply), else None."""
    clauses = [c.strip() for c in _CLAUSE_SPLIT.split(text) if c.strip()]
    said: str | None = None
    for clause in clauses:
        if _closings(lang).match(clause):
            continue
        short = len(clause) <= 4 if lang == "zh" else len(clause.split()) <= 2
        value = parse_yes_no(clause, lang).value if short else None
        if value is None:
            return None
        said = said or value
    return said


READING_FIELDS = ("blood_pressure", "blood_glucose", "temperature", "heart_rate")


def no_reading(field_name: str, text: str, lang: str) -> bool:
    """A reading question answered with no reading and nothing wrong: "没烧，也没量", "No, that's all, dear.",
    "没有了，谢谢你们啊". Nothing to store and nothing to follow up — unlike "记不清了", which is asked again."""
    if field_name not in READING_FIELDS:
        return False
    if field_name == "temperature" and no_fever_no_reading(text, lang):
        return True
    return bare_reply(text, lang) == "no" and not re.search(r"\d", to_digits(text))


# ----- identity --------------------------------------------------------------------------------------

_WRONG_ZH = re.compile(r"(?:打错了|没有这个人|没这个人|不认识|没有叫.{1,5}的|这里没有|不是这家|号码错了|找错人了|不是我[，,。]?$|我不是(?!他|她))")
_WRONG_EN = re.compile(r"(?:wrong number|no one (?:by|with) that name|nobody (?:by|with) that name|there'?s no .{1,30} here|"
                       r"doesn'?t live here|don'?t know (?:him|her|anyone)|no such person|you have the wrong|not (?:him|her)[.,]?$)", re.I)
_FAMILY_ZH = re.compile(r"(?:(?:我是|是)(?:孩子|小孩|宝宝|娃儿?)(?:的|他|她)?(?:妈妈|爸爸|妈|爸|奶奶|爷爷|姥姥|姥爷|外婆|外公)|(?:是|系)我(?:老头儿?|老头子|老太婆|老婆子|老豆|老窦|阿爸|阿妈|姆妈|老母|老爸|老妈|老公|老婆)|阿拉(?:姆妈|爸爸|阿爸|老头子)"
                        r"|(?:我|阿拉)(?:是|系)(?:他|她|伊|佢)(?:的|个|嘅)?(?:屋头的|囡儿?|囡囡|仔|女|老婆|老公|新妇|心抱)|是我(?:老汉儿?|爸|妈|父亲|母亲|老伴|爱人|公公|婆婆|岳父|岳母|爷爷|奶奶)|我是(?:他|她)的?(?:幺女|幺儿|大女儿|小女儿|二女儿|大儿子|小儿子|儿子|女儿|闺女|老伴|爱人|妻子|丈夫|老婆|老公|孙子|孙女|儿媳|女婿|家属|家人|哥哥|姐姐|弟弟|妹妹|侄子|外孙|"
                        r"妈妈|爸爸|母亲|父亲|妈|爸|奶奶|爷爷|姥姥|姥爷|外婆|外公|保姆|护工|媳妇|对象|老头子?|老太太?|老伴儿)"
                        r"|(?:儿子|女儿|老伴|爱人|家属|孙子|孙女|儿媳|女婿)|我(?:爸|妈|父亲|母亲|爷爷|奶奶|外公|外婆|老伴|爱人|丈夫|妻子))")
_FAMILY_EN = re.compile(r"(?:i'?m (?:his|her|their) \w+|(?:the )?(?:child|kid|baby|boy|girl)'s (?:mother|father|mum|mom|dad|grandma|grandmother)|this is (?:his|her) \w+|(?:his|her) (?:son|daughter|wife|husband|partner|grandson|granddaughter|mom|mum|dad|mother|father|"
                        r"caregiver|carer|brother|sister|nurse)|my (?:father|mother|dad|mum|mom|husband|wife|grandfather|grandmother))", re.I)
_CARER = re.compile(r"保姆|护工|阿姨(?:我)?是(?:请|雇)|邻居|\b(?:carer|caregiver|care worker|home help|neighbou?r|from the agency)\b", re.I)
_CONFIRM_ZH = re.compile(r"(?:是我|我就是|本人|对|是的|没错|嗯|我是|^是[，,。\s]|系我|我系|是俺|俺是|俺就是)")
_CONFIRM_EN = re.compile(r"(?:\byes\b|\byeah\b|speaking|this is (?:he|she|me)|that'?s me|it'?s me|\bi am\b|\bi'm\b|\bcorrect\b)", re.I)
_YEAR_4 = re.compile(r"(?<!\d)(19\d\d|20[0-2]\d)(?!\d)")
_YEAR_2 = re.compile(r"(?<!\d)(\d\d)\s*年")
_YEAR_EN_2 = re.compile(r"(?:born|birth)[^0-9]{0,12}'?(\d\d)(?!\d)", re.I)
_YEAR_APOSTROPHE = re.compile(r"(?<![\w'’])['’](\d\d)(?![\d'’])")   # "Bob Miller, yes, '62."
_DIGITS_4 = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def _years(text: str) -> set[int]:
    t = to_digits(text.replace("解放那年", "1949年"))
    t = re.sub(r"\b(\d\d)[- ]baby\b", r"\1年", t)          # "a sixty-one baby"
    years = {int(y) for y in _YEAR_4.findall(t)}
    for two in _YEAR_2.findall(t) + _YEAR_EN_2.findall(t) + _YEAR_APOSTROPHE.findall(t):
        n = int(two)
        years.add(1900 + n if n > 25 else 2000 + n)
    return years


# A year corrected in the same breath ("nineteen fifty-eight. No, hang on, fifty-six"; "六三年……哎不对，六二年"):
# the first year said after the last correction is the one meant.
_YEAR_AFTER_CORRECTION = re.compile(r"(?<![\d.])(19\d\d|20[0-2]\d|\d\d)(?!\.?\d)(?!\s*(?:岁|years? old|分|点|号|日|月|:))", re.I)


def repairs_a_number(text: str) -> bool:
    """The speaker corrects a number they said ("born forty-eight… no wait, forty-nine")."""
    t = to_digits(text)
    return any(re.search(r"\d", t[:m.start()]) and re.search(r"\d", t[m.end():]) for m in _CORRECTION_MARK.finditer(t))


_TWO_DIGITS_ALONE = re.compile(r"(?<![\d.])\d\d(?![\d.])(?!\s*(?:岁|years? old|分|点|号|日|月|:|%))", re.I)


def _corrected_year(text: str) -> int | None:
    t = to_digits(text)
    marks = list(_CORRECTION_MARK.finditer(t))
    if not marks:
        return None
    before = t[:marks[-1].start()]
    # a year said before the correction, or its two digits alone ("Ruth Kowalski, forty-seven — no wait, forty-six")
    if not (_years(before) or _TWO_DIGITS_ALONE.search(before)):
        return None
    m = _YEAR_AFTER_CORRECTION.search(t[marks[-1].end():])
    if not m:
        return None
    n = int(m.group(1))
    return n if n >= 1900 else 1900 + n if n > 25 else 2000 + n


# Digits said one by one ("oh-four-one-two", "five-five-nine-oh"): a phone or ID tail.
_DIGIT_WORD = {"oh": "0", "o": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
               "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_DIGIT_RUN = re.compile(r"\b(?:oh|o|zero|one|two|three|four|five|six|seven|eight|nine|\d)(?:[\s,-]+(?:oh|o|zero|one|two|three|four|five|six|seven|eight|nine|\d)\b){3,}",
                        re.I)


def _spoken_digit_runs(text: str) -> str:
    return _DIGIT_RUN.sub(lambda m: "".join(_DIGIT_WORD.get(w.lower(), w) for w in re.findall(r"[a-z]+|\d", m.group(0), re.I)),
                          text)


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


def _two_digits_after_name(digits: str, name: str, birth_year: int) -> bool:
    """The patient's name, then at once (a comma or a dash between) two digits that are the birth year's."""
    for token in [name] + [t for t in re.split(r"[\s.]+", name) if len(t) >= 3]:
        for m in re.finditer(re.escape(token), digits, re.I):
            after = re.match(r"\s*[,，、\-–—]?\s*(\d\d)(?!\d)(?!\.\d)(?!\s*(?:岁|years?|yrs?|分|点|号|日|月|:|%))", digits[m.end():], re.I)
            if after and int(after.group(1)) == birth_year % 100:
                return True
    return False


_SELF_ZH = re.compile(r"^\s*(?:嗯|对|是)?[，,]?\s*(?:是我|我就是|我是本人|本人)")
_SELF_EN = re.compile(r"^\s*(?:yes,? |yeah,? )?(?:speaking|this is (?:he|she|me)|that'?s me|it'?s me)\b", re.I)


def speaks_as_patient(text: str, *, name: str = "") -> bool:
    """The person on the line says they are the patient ("是我。…", "Speaking.", "我就是张三"), whatever else
    they go on to say (a refusal): who answered, not a verified identity."""
    t = text.strip()
    if _has(_FAMILY_ZH, t) or _has(_FAMILY_EN, t) or _has(_CARER, t):
        return False
    return bool(_SELF_ZH.search(t) or _SELF_EN.search(t) or
                name and re.search(rf"(?:我是|我就是|this is|i'?m|i am|my name is)\s*{re.escape(name)}", t, re.I))


def parse_identity(text: str, lang: str, *, name: str, birth_year: int | None, id_last4: str | None = None,
                   phone_last4: str | None = None) -> Parse:
    """{verified, wrong_person, respondent}: name (said or confirmed) plus birth year or last 4 digits."""
    t = text.strip()
    digits = to_digits(t)
    years = _years(t)
    corrected = _corrected_year(t)
    if corrected is not None:
        years = {corrected}
    year_ok = birth_year is not None and birth_year in years
    if birth_year is not None and not year_ok and not years and "." in t:
        # "Speaking. Forty-nine.": two digits said alone after the confirmation, when they are the patient's year
        said_last = [part for part in digits.split(".") if part.strip()][-1:]
        lone = re.fullmatch(r"\W*(\d\d)\W*", said_last[0]) if said_last else None
        year_ok = bool(lone) and int(lone.group(1)) == birth_year % 100
    if birth_year is not None and not year_ok and not years and name:
        # "Gareth Hughes, eighty-three.", "Liam O'Connor, eighty-eight": the year's two digits said right
        # after the patient's own name (not an age: "I'm 83", "83 years old" are left out)
        year_ok = _two_digits_after_name(digits, name, birth_year)
    fours = set(_DIGITS_4.findall(digits)) | set(_DIGITS_4.findall(re.sub(r"\s", "", digits))) | \
        set(_DIGITS_4.findall(_spoken_digit_runs(t)))
    last4_ok = any(x and x in fours for x in (id_last4, phone_last4))
    family = _has(_FAMILY_ZH, t) or _has(_FAMILY_EN, t)
    respondent = "family" if family else None
    if _has(_CARER, t):
        respondent = "other"       # a carer or neighbour answers for the patient: not family
    if name and re.search(rf"(?:我是|我就是|this is|i'?m|i am|my name is)\s*{re.escape(name)}(?!的|'s|’s)", t, re.I):
        respondent = None          # "这个号码是我儿子的，我是赵淑珍": the patient speaks
    if (_has(_WRONG_ZH, t) or _has(_WRONG_EN, t)) and not (year_ok or last4_ok):
        return Parse({"verified": False, "wrong_person": True, "respondent": "other"})
    name_ok = _name_said(t, name, lang) or _has(_CONFIRM_ZH, t) or _has(_CONFIRM_EN, t) or family
    verified = name_ok and (year_ok or last4_ok)
    return Parse({"verified": verified, "wrong_person": False,
                  "respondent": respondent or ("patient" if verified else None),
                  "year_mismatch": bool(years) and not year_ok})


# ----- symptoms --------------------------------------------------------------------------------------

_CLAUSE_ZH = re.compile(r"[，。；;！!？?]|,(?!\d)|但是|不过|就是|只是|可是|除了|倒是|但")

_NOTHING_NEW_ZH = re.compile(r"没(?:啥|什么)?(?:感觉|反应)|(?:没有|没什么|没啥|都没有|都没|没)(?:[^，,。]{0,3})(?:不舒服|新的|情况|问题|症状|异常|变化)|都挺好|一切(?:都)?(?:正常|挺好|好)|都正常|挺好的|好着呢|^没有[了呀啊的]?[。.!]?$|^没[了呀啊]?[。.!]?$|^无[。.]?$")
_NOTHING_NEW_EN = re.compile(r"(?:\bnothing\b|\bnone\b|^no\b|\bno new\b|\bno problems?\b|\bno issues?\b|\ball good\b|\bfeeling fine\b|\bi'?m fine\b|\bnot really\b|\b(?:stools?|poos?|motions|bowels|urine|wee|pee|waterworks|breathing|speech)(?:'s| is| are| has been| have been)?\s+(?:a |all )?(?:normal|fine|ok|okay|good|all right|alright)\b)", re.I)


# Something is wrong but not said what ("不舒服倒是有点，说不清哪儿"), or the speaker does not know
# ("我不清楚他有没有不舒服"): never "nothing new" — asked again, then a nurse.
_UNSAID_COMPLAINT = re.compile(
    r"(?<![没不无])(?:有点|有些|是有|倒是有|挺|很|老是|总是|还是)?(?:不舒服|难受|不对劲|不得劲|不太舒服|不大舒服)(?:倒是|还是)?(?:有|有点|的)?"
    r"|不舒服倒是|说不清(?:是)?(?:哪|什么)|\bsomething(?:'s| is)? (?:not right|wrong|off)\b|\bnot (?:feeling )?(?:right|myself)\b"
    r"|\bfeel(?:ing)? (?:off|rough|awful|unwell|poorly|rotten)\b", re.I)
_ECHO_THEN_DENIAL = re.compile(r"\s*(?:啊|呀|吗|嘛|是吧)?\s*[？?，,。.…]+\s*(?:没有|没|木有|冇|莫得|没得|no\b|nope\b|nah\b)", re.I)
_DONT_KNOW = re.compile(r"不清楚|不知道|不晓得|说不好|说不清|\bdon'?t know\b|\bnot sure\b|\bno idea\b|\bcan'?t say\b", re.I)


def _symptom_field(text: str, lang: str, respondent: str | None = None, semantic: Any = None) -> Parse:
    parse = _with_fever_reading(parse_symptoms(text, lang, respondent=respondent, semantic=semantic), text, lang, respondent)
    if parse.value is not None:
        return parse
    complaint = _UNSAID_COMPLAINT.search(text)
    # The question echoed and then denied ("哦，不舒服啊，没有没有", "Feeling unwell? No.") is no complaint.
    echoed = complaint and _ECHO_THEN_DENIAL.match(text[complaint.end():])
    if complaint and not echoed and not re.search(r"(?:没有|没|无|不|别|no|not|nothing)\W*$", text[:complaint.start()][-6:], re.I):
        return NOTHING
    if _DONT_KNOW.search(text):
        return NOTHING
    if non_answer_kind(text) is not None:
        return NOTHING
    if _has(_NOTHING_NEW_ZH, text) or _has(_NOTHING_NEW_EN, text) or plain_no(text, lang):
        return Parse({"present": [], "absent": [], "cues": {}})
    return NOTHING


def plain_no(text: str, lang: str) -> bool:
    """A clause of the answer is a plain no: it opens with its negation ("没有，挺好的", "No, he's been grand",
    "haven't even opened the packet") or, in Chinese, ends with it ("你说的那些一样都没有", "一回都没吃").
    A no inside words that were not understood ("说话驴唇不对马嘴的", "he'd gone down and didn't know what
    happened") is no denial: such an answer is asked again, never stored as nothing."""
    for clause in (c.strip() for c in _PLAIN_NO_SPLIT.split(text) if c.strip()):
        if parse_yes_no(clause, lang).value != "no" or parse_repeat_request(clause, lang):
            continue
        if _zh(lang):
            ends = (clause[:3], clause[-4:])
        else:
            ends = (" ".join(clause.split()[:3]),)
        if any(parse_yes_no(part, lang).value == "no" for part in ends):
            return True
    return False


_PLAIN_NO_SPLIT = re.compile(r"[，,。.!！?？;；、…]+|\bbut\b", re.I)


_FEVER_GONE = re.compile(r"(?:烧|热|体温)(?:已经|早就|早|也|都|就)?(?:退|下去|降下来|降)了|退烧了|不烧了|"
                         r"\b(?:fever|temperature)(?:'s| has| is| had)? (?:gone|broken|broke|come down|came down|settled|back to normal)", re.I)


_NO_FEVER_NO_READING = re.compile(
    r"^\W*(?:没(?:有)?(?:发)?烧|不烧|没发热|不发烧|没量|没测|没有量|没有测|体温(?:挺|很)?正常|没有|没有了|没|no fever|not feverish|"
    r"(?:i )?(?:didn'?t|haven'?t|did not|have not) (?:take|taken|check|checked|measure|measured) it|normal|nope|nah|no)(?![a-z])"
    r"(?:[，,。.!！\s]*(?:也)?(?:没(?:有)?(?:量|测|烧)|不烧|正常|挺好|no fever|not feverish|no|nope|it'?s fine|didn'?t (?:take|check) it|haven'?t checked))*\W*$", re.I)


def no_fever_no_reading(text: str, lang: str) -> bool:
    """An answer to the temperature question that gives no reading and says there is no fever (or that it
    was not taken): nothing to store, nothing to follow up. A fever said without a number is not this."""
    t = text.strip()
    return bool(_NO_FEVER_NO_READING.match(t)) and not re.search(r"\d", to_digits(t))


def _with_fever_reading(parse: Parse, text: str, lang: str, respondent: str | None) -> Parse:
    """A temperature at or over the fever line said in the symptoms answer ("thirty-nine point four and I was
    shivering all night") is a fever, unless the words deny or clear it ("烧退了，昨天还三十八度"), or the reading
    is someone else's or a condition ("是我孙子发烧，三十九度多", "医生说如果烧到三十八度五") — readings_in_passing."""
    if not _PASSING["temperature"].search(text) and not re.search(r"度|°|degrees?\b", text, re.I):
        return parse
    value = parse.value or {"present": [], "absent": [], "cues": {}}
    if "fever" in value["present"] or "fever" in value["absent"] or _FEVER_GONE.search(text):
        return parse
    temperature = readings_in_passing(text, lang, respondent).get("temperature")
    if temperature is None or temperature < default_threshold("temperature_yellow"):
        return parse
    return Parse({**value, "present": [*value["present"], "fever"],
                  "cues": {**value.get("cues", {}), "fever": {"temperature": temperature}}})


# ----- readings --------------------------------------------------------------------------------------

# Numbers that count days, doses or clock times, not readings.
_NOT_A_READING = re.compile(r"^\s*(?:次|天|周|个|号|点(?!\d)|年|月|日|岁|片|粒|顿|回|遍|种|下|斤|公斤|kg|am|pm|o'?clock|times?|days?|weeks?|pills?|tablets?|hours?|minutes?|小时|分钟|:\d)", re.I)
# "70th" (her seventieth), "2 idlis", "3 biscuits": an ordinal or a count of things, not a reading.
_ORDINAL_OR_COUNT = re.compile(r"^(?:st|nd|rd|th)\b|^\s+(?!(?:this|beats|degrees|mmols?|less|plus|minus|always|perhaps|"
                               r"sometimes|afterwards|anyways?|readings?|numbers?|bpm|points|marks|milli\w*|mils|mgs|mmhg)\b)[a-z]{3,}s\b", re.I)
_READING_NUMBER = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?![\d])")
# The decimals of a reading whose whole part was not heard ("九点二" recognised as "有点二"): no reading.
_DANGLING_DECIMAL = re.compile(r"(?:^|[^\d])点$")


def reading_numbers(text: str) -> list[tuple[float, int, int]]:
    """(value, start, end) of numbers in the digit-converted text that can be readings."""
    out = []
    for m in _READING_NUMBER.finditer(text):
        if _NOT_A_READING.match(text[m.end():m.end() + 8]) or _ORDINAL_OR_COUNT.match(text[m.end():m.end() + 16]):
            continue
        if _DANGLING_DECIMAL.search(text[max(0, m.start() - 2):m.start()]):
            continue
        if re.search(r"(?:早上|晚上|下午|上午|中午|at|about)\s*$", text[max(0, m.start() - 4):m.start()]) and \
                re.match(r"\s*(?:点|:)", text[m.end():m.end() + 2]):
            continue
        out.append((float(m.group(1)), m.start(), m.end()))
    return out


# Self-repair and a second reading: "一百五，不对，一百四", "150 over 95, and this morning 168 over 104",
# "it's an eight, no, call it a seven".
# What comes after the last correction counts; of several readings, the latest said counts.
_CORRECTION_MARK = re.compile(r"不对|不是(?=[，,\s\d])|说错了|搞错了|记错了|哦不|不不|应该是|"
                              r"\bno,? (?:sorry|wait|hang on)|\bno[,.]?\s+(?:(?:a|it'?s|(?:make|call|say) (?:it|that)(?: an?)?)\s+)?(?=\d)|\bsorry,? (?:no|it'?s|it was|i mean)|\bi mean\b|\bi meant\b|"
                              r"\bactually\b|\bhang on\b|\bscratch that\b|\bcorrection\b|that'?s (?:last week|yesterday|the oxygen)", re.I)

def _after_correction(t: str) -> str:
    """The digit text after the last self-repair, when a reading follows it."""
    marks = list(_CORRECTION_MARK.finditer(t))
    for m in reversed(marks):
        rest = t[m.end():]
        if reading_numbers(rest):
            return rest
    return t


# The label before the number ("高压一百九", "top was 185") or after it ("185 on top and 96 underneath").
_SYS_LABEL = re.compile(r"(?:(?:高压|收缩压|上面|上压|上边|高的|top|systolic|upper)[^\d，,。.]{0,14}"
                        r"|(?=\d{2,3}\s*(?:on (?:the )?top|at the top|up top)))(\d{2,3})", re.I)
_DIA_LABEL = re.compile(r"(?:(?:低压|舒张压|下面|下压|下边|低的|bottom|diastolic|lower)[^\d，,。.]{0,14}"
                        r"|(?=\d{2,3}\s*(?:underneath|on the bottom|at the bottom|down below)))(\d{2,3})", re.I)
# A pulse said beside the reading ("血压计上还有个心跳是七十几") is not part of it.
_PULSE_ASIDE = re.compile(r"(?:心跳|脉搏|心率|pulse|heart ?rate)[^\d，,。.]{0,10}\d+\s*(?:几|多|来)?(?:下)?", re.I)


def _run_together_pair(text: str) -> tuple[int, int] | None:
    """"14590" for "一百四十五，九十": speech recognition often writes a spoken pair as one number.
    Accepted only when exactly one split gives a plausible systolic over diastolic."""
    runs = re.findall(r"(?<![\d.])\d{4,6}(?!\d|\.\d)", text)   # a full stop may end the sentence
    if len(runs) != 1:
        return None
    run = runs[0]
    splits = [(int(run[:i]), int(run[i:])) for i in range(2, 4) if len(run) - i in (2, 3) and run[i] != "0"]
    plausible = [(a, b) for a, b in splits if 70 <= a <= 260 and 40 <= b <= 160 and a > b]
    return plausible[0] if len(plausible) == 1 else None


_APPROXIMATE_THEN_EXACT = re.compile(r"\d+\s*(?:几|多|来)\s*(?:…+|\.{2,}|，|,)\s*(?=\d)")   # "七十几……七十五": the exact one


_APPROXIMATE = re.compile(r"\d+\s*(?:几|多|来)(?!\d)|\d+-?ish\b|\bover something\b|\d+-something|\b[1-9]0s\b", re.I)   # 左右 gives the reading


_DECADES = {"twent": 20, "thirt": 30, "fort": 40, "fift": 50, "sixt": 60, "sevent": 70, "eight": 80, "ninet": 90}


def _decades(t: str) -> str:
    """"in the eighties" → "in the 80s"."""
    return re.sub(r"\b(twent|thirt|fort|fift|sixt|sevent|eight|ninet)ies\b", lambda m: f"{_DECADES[m.group(1).lower()]}s", t, flags=re.I)


def _blood_pressure(text: str) -> Parse:
    t = _PULSE_ASIDE.sub("", _APPROXIMATE_THEN_EXACT.sub("", _after_correction(_decades(to_digits(text)))))
    rough = list(_APPROXIMATE.finditer(t))
    if rough and (after := _bp_pairs(t[rough[-1].end():])):
        return Parse({"systolic": after[-1][0], "diastolic": after[-1][1]})
    if rough:
        # "一百二十几，七十几吧": not a reading to store (asked again), but a number past the red line is
        # kept so that its flag is never lost ("高压一百九十多"; the line is the rule table's, packaged); an
        # exact pair said before the rough re-measure ("一百九十五，一百一十…又量了一遍还是一百九十多") is the reading.
        red_high = default_threshold("systolic_red_high")
        exact = [p for p in _bp_pairs(_APPROXIMATE.sub(" ", t)) if p[0] >= red_high or p[1] >= default_threshold("diastolic_red_high")]
        if exact:
            return Parse({"systolic": exact[-1][0], "diastolic": exact[-1][1]})
        alarming = [int(v) for v, _, _ in reading_numbers(t) if v >= red_high]
        if alarming:
            return Parse({"systolic": max(alarming), "diastolic": None})
        # "低压一百一十，高压一百六十多": an exact diastolic past the red line is kept beside a rough systolic.
        dia = _DIA_LABEL.search(t)
        if dia and int(dia.group(1)) >= default_threshold("diastolic_red_high") and \
                not any(m.start() <= dia.start(1) < m.end() for m in rough):
            return Parse({"systolic": None, "diastolic": int(dia.group(1))})
        # "高压八十几", "in the eighties on top": a rough systolic whose whole range is under the low red line
        # keeps its floor, so that the flag is never lost.
        numbered = [m for m in rough if re.match(r"\d", m.group())]   # "over something" names no number
        if not numbered:
            return NOTHING
        first = numbered[0]
        base = int(re.match(r"\d+", first.group()).group())
        said = reading_numbers(_decades(to_digits(text)))
        said_first = bool(said) and int(said[0][0]) == base or bool(_SYS_LABEL.search(t[max(0, first.start() - 8):first.end()]))
        width = 10 if re.search(r"\d0s\b", first.group()) or re.search(r"[几多]", first.group()) else 1
        if said_first and 50 <= base and base + width - 1 < default_threshold("systolic_red_low"):
            return Parse({"systolic": base, "diastolic": None})
        return NOTHING
    pairs = _bp_pairs(t)
    if len(pairs) > 1 or pairs and not (_SYS_LABEL.search(t) or _DIA_LABEL.search(t)):
        systolic, diastolic = _latest_pair(t) or pairs[-1]   # of two readings, the latest
        return Parse({"systolic": systolic, "diastolic": diastolic})
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
            systolic = rest[-1] if rest else None
        else:
            rest = [v for v in values if v != systolic and 30 <= v <= 200 and v < systolic]
            diastolic = rest[0] if rest else None
    if systolic is None and diastolic is None:
        return NOTHING
    if systolic is not None and not 50 <= systolic <= 300 or diastolic is not None and not 20 <= diastolic <= 200:
        return NOTHING
    return Parse({"systolic": systolic, "diastolic": diastolic})


def _bp_pairs(t: str, *, spans: bool = False) -> list[Any]:
    """Plausible systolic/diastolic pairs said one after the other, in order (with `spans`, each as
    ((systolic, diastolic), start, end))."""
    values = [(int(v), start, end) for v, start, end in reading_numbers(t) if v == int(v) and 30 <= v <= 300]
    pairs, i = [], 0
    while i < len(values) - 1:
        (a, start, _), (b, _, end) = values[i], values[i + 1]
        if 60 <= a <= 300 and 30 <= b <= 200 and a - b >= 15:   # a pulse pressure under 15 is no reading
            pairs.append(((a, b), start, end) if spans else (a, b))
            i += 2
        else:
            i += 1
    return pairs


def _latest_pair(t: str) -> tuple[int, int] | None:
    """Of several pairs, the most recent by the words of time said with each (_time_rank): "This morning
    120 over 70. Last night it was higher, 150 over 90." is 120/70; of equals, the latest said. A pair's
    words are those of its own clause, or, when its clause names no time, those since the pair before."""
    pairs = _bp_pairs(t, spans=True)
    if not pairs:
        return None
    bounds = [m.end() for m in _READING_CLAUSE.finditer(t)]
    best, best_rank, previous_end = None, -1.0, 0
    for pair, start, end in pairs:
        clause_start = max([b for b in bounds if b <= start], default=0)
        clause_end = min([b for b in bounds if b > end], default=len(t))
        own = t[max(clause_start, previous_end):clause_end]
        rank = _time_rank(own) if _TIME_WORDS.search(own) else _time_rank(t[previous_end:clause_end])
        if rank >= best_rank:
            best, best_rank = pair, rank
        previous_end = clause_end
    return best


# Which of several numbers is the reading asked for: not one said with another measure's word ("pulse 84 …
# oxygen 97", "sugar two thirty … turned five"); then the most recent by
# the words of time — today/now over earlier today ("was … this morning") over yesterday, and any of
# them over a habit ("it's been sevens and eights", "平时都是八十来下"); of equals, the latest said.
_READING_CLAUSE = re.compile(r"[，,。；;！!？?]|\.(?!\d)")
_HABIT = re.compile(r"平时|平常|一般|通常|向来|一直|这几天都|每天都|老是|always|usually|normally|mostly|all week|every day|"
                    r"most days|tends? to|it'?s been (?:\d|between|in the|around)|been between|\d+s and \d+s|\d+ to \d+", re.I)
_EARLIER = re.compile(r"昨天|昨晚|昨儿|前天|前几天|几天前|那时候|那会儿|住院的时候|在医院(?:的时候|那会)|上午的时候|早上的时候|上(?:个)?(?:周|星期|礼拜)|(?<!这)(?<!下)(?:周|星期|礼拜)[一二三四五六日天]"
                      r"|last night|yesterday|the other day|earlier|last week|days? ago|\b(?:on )?(?:mon|tues|wednes|thurs|fri|satur|sun)day\b", re.I)
_EARLIER_TODAY = re.compile(r"\b(?:was|were)\b[^,;]{0,30}\bthis morning\b|\bthis morning\b[^,;]{0,20}\b(?:was|were)\b|早上是|早上还是", re.I)
_TIME_WORDS = re.compile(_HABIT.pattern + "|" + _EARLIER.pattern + "|" + _EARLIER_TODAY.pattern
                         + r"|今天|今早|刚(?:才|刚)?|现在|\b(?:today|this morning|just now|now)\b", re.I)
_OTHER_WORDS = {
    "blood_glucose": re.compile(r"岁|血压|心跳|脉搏|血氧|体温|turned|years? old|pulse|oxygen|pressure|temperature", re.I),
    "heart_rate": re.compile(r"血氧|氧|血压|血糖|体温|oxygen|sats?|saturation|pressure|sugar|temperature|%", re.I),
    "temperature": re.compile(r"血压|血糖|心跳|pulse|pressure|sugar", re.I),
}


def _current_reading(t: str, found: list[tuple[float, int]], field_name: str) -> float | None:
    """The reading asked for among (value, position) numbers of the digit text `t` (see above)."""
    if not found:
        return None
    other = _OTHER_WORDS[field_name]
    said = [(v, p, _clause_around(t, p)) for v, p in found]
    # A number in a condition or an instruction ("医生说超过十三点九就要注意", "if it goes over 180") is a
    # threshold, not a reading — unless nothing else is said.
    told = rules().reading_hypothetical
    said = [x for x in said if not (told["zh"].search(x[2]) or told["en"].search(x[2]))] or said
    pool = [x for x in said if not other.search(x[2])] or said
    # "三十七度九……不对，是三十七度二，三十七度九是我妈那张": a reading said to be someone else's is not the patient's
    of_other = rules().reading_of_other
    pool = [x for x in pool if not (of_other["zh"].search(x[2]) or of_other["en"].search(x[2]))] or pool

    best = max(_time_rank(c) for _, _, c in pool)
    return [v for v, _, c in pool if _time_rank(c) == best][-1]


def _time_rank(clause: str) -> float:
    """How recent the words of time make a reading: a habit 0, yesterday 1, earlier today 1.5, now 2."""
    if _HABIT.search(clause):
        return 0
    if _EARLIER_TODAY.search(clause):
        return 1.5
    if _EARLIER.search(clause):
        return 1
    return 2


_GLUCOSE_ROUGH = re.compile(r"(?<![\d.])(\d+)\s*点\s*(?:几|多)")


_MG_DL = re.compile(r"mg\s*/?\s*d?l|毫克", re.I)
_MG_DL_NUMBER = 35   # a blood sugar above this can only be mg/dL


def glucose_as_said_mg_dl(text: str, value: float) -> float | None:
    """The number the patient said in mg/dL for the blood sugar `value` (mmol/L), if it was said so."""
    t = to_digits(text)
    named = _MG_DL.search(t) is not None
    return next((v for v, _, _ in reversed(reading_numbers(t))
                 if (named or v > _MG_DL_NUMBER) and round(v / 18.0, 1) == value), None)


def _blood_glucose(text: str) -> Parse:
    t = _after_correction(to_digits(text))
    rough = list(_GLUCOSE_ROUGH.finditer(t))
    # only when no exact reading is said anywhere ("七点八，前几天都是八点多" is 7.8)
    if rough and not reading_numbers(_GLUCOSE_ROUGH.sub(" ", t)):
        floor = float(rough[-1].group(1))
        if floor < default_threshold("glucose_red_low") or floor >= default_threshold("glucose_red_high"):
            return Parse(floor)
        return NOTHING
    # "二十一点几，二十一点三吧，测了两回都是二十多": a figure said roughly (几/多/来) gives way to an exact one
    exact = [(v, s) for v, s, e in reading_numbers(t) if not re.match(r"\s*(?:几|多|来)", t[e:e + 2])]
    if not exact and reading_numbers(t) and not _MG_DL.search(t):
        # Only rough figures ("十几", "二十多"): asked again, but a floor past the red line keeps its flag.
        floor = reading_numbers(t)[-1][0]
        if floor >= default_threshold("glucose_red_high") or floor < default_threshold("glucose_red_low"):
            return Parse(round(floor, 1))
        return NOTHING
    found = exact
    value = _current_reading(t, found, "blood_glucose")
    if value is None:
        return NOTHING
    mg_dl = _MG_DL.search(t) is not None or value > _MG_DL_NUMBER

    def mmol(v: float) -> float:
        return round(v / 18.0 if mg_dl else v, 1)

    value = mmol(value)
    if not 1.0 <= value <= 40.0:
        return NOTHING
    # "17.3 last night … down to about twelve this morning I think": a hedged later figure does not
    # replace an exact one past a red line (fail closed: the flag is kept).
    chosen = next((s for v, s in reversed(found) if mmol(v) == value), None)
    if chosen is not None and _HEDGED_READING.search(_clause_around(t, chosen)):
        red = [mmol(v) for v, s in found if s != chosen and not _HEDGED_READING.search(_clause_around(t, s))
               and 1.0 <= mmol(v) <= 40.0 and (mmol(v) >= default_threshold("glucose_red_high")
                                               or mmol(v) < default_threshold("glucose_red_low"))]
        if red:
            return Parse(red[-1])
    return Parse(value)


_HEDGED_READING = re.compile(r"\babout\b|\baround\b|\broughly\b|\bi think\b|\bmaybe\b|\bprobably\b|\bsomething like\b"
                             r"|didn'?t write|大概|差不多|好像|估计|可能|记不(?:太)?清|左右", re.I)


def _clause_around(t: str, pos: int) -> str:
    bounds = [0, *[m.end() for m in _READING_CLAUSE.finditer(t)], len(t) + 1]
    i = max(k for k, b in enumerate(bounds) if b <= pos)
    return t[bounds[i]:bounds[min(i + 1, len(bounds) - 1)]]


_TEMP_SPOKEN = re.compile(r"(?<![\d.])(3[4-9]|4[0-2])(?:\s+|度)(\d)(?!\.?\d)")       # "thirty-eight five", "38度5"
_TEMP_HALF = re.compile(r"(?<![\d.])(3[4-9]|4[0-2])\s*(?:and a half|度半|点半)", re.I)


_TEMP_APPROXIMATE = re.compile(r"三十[四五六七八九][四五六七八九]度|\b3[4-9]-3[4-9]\b|度多|度几|度[一二三四五六七八九][一二三四五六七八九]"
                               r"|and a bit\b|\bsomething\b|\bor so\b|\b(?:9\d|3\d)-ish\b", re.I)


_PAST_OPENER = re.compile(r"\s*(?:之前|以前|原来|前(?:两|几)天|刚开始|earlier\b|before\b|at first\b)", re.I)


def _temperature(text: str) -> Parse:
    # "三十七度七，之前三十八度多": a rough figure in a clause that opens on before is history when a reading
    # was said ahead of it; the exact reading of now stands
    for m in reversed(list(_TEMP_APPROXIMATE.finditer(text))):
        start = max(text.rfind(c, 0, m.start()) for c in "，,。;；") + 1
        if start > 0 and _PAST_OPENER.match(text[start:m.start()]) and _temperatures(text[:start]):
            text = text[:start] + " " * (m.end() - start) + text[m.end():]
    t = _TEMP_SPOKEN.sub(lambda m: f"{m.group(1)}.{m.group(2)}", _TEMP_HALF.sub(lambda m: f"{m.group(1)}.5", _after_correction(to_digits(text))))
    # a rough figure said only of the habit ("it's always thirty-six something") leaves the exact one standing
    rough = [m for m in _TEMP_APPROXIMATE.finditer(text)
             if not _HABIT.search(text[max(0, m.start() - 30):m.end()])]
    exact_after = _temperatures(text[rough[-1].end():]) if rough else []
    if exact_after and not _TEMP_APPROXIMATE.search(text[rough[-1].end():]):
        return Parse(exact_after[-1])
    if rough:
        # "三十六度多点", "ninety-eight and a bit": not a reading to store (asked again) — unless what the
        # patient at least has is a fever: "三十九度多" keeps 39.0, so no fever flag is ever lost.
        floor = [v for v in _temperatures(re.sub(r"(?<=度)[多几].*$|(?<=\d)\s*(?:and a bit|or so|something|-ish).*$", "", text))
                 if v >= default_threshold("temperature_yellow")]
        return Parse(max(floor)) if floor else NOTHING
    found = _temperatures(text, positions=True)
    value = _current_reading(t, found, "temperature")
    return NOTHING if value is None else Parse(value)


_FAHRENHEIT = re.compile(r"\s*(?:°\s*F|F\b|degrees f|fahrenheit)", re.I)
_FAHRENHEIT_RANGE = (93, 110)   # a body temperature in this range can only be °F


def _temperature_numbers(text: str) -> list[tuple[float, int, bool]]:
    """(number, position, said in °F) of each number that may be a body temperature."""
    t = _after_correction(to_digits(text))
    t = _TEMP_HALF.sub(lambda m: f"{m.group(1)}.5", t)
    t = _TEMP_SPOKEN.sub(lambda m: f"{m.group(1)}.{m.group(2)}", t)
    low, high = _FAHRENHEIT_RANGE
    return [(value, start, bool(_FAHRENHEIT.match(t[end:end + 12])) or low <= value <= high)
            for value, start, end in reading_numbers(t)]


def temperature_as_said_f(text: str, value: float) -> float | None:
    """The number the patient said in °F for the temperature `value` (°C), if it was said so."""
    return next((v for v, _, fahrenheit in reversed(_temperature_numbers(text))
                 if fahrenheit and round((v - 32) * 5 / 9, 1) == value), None)


def _temperatures(text: str, *, positions: bool = False) -> list[Any]:
    found: list[Any] = []
    for value, start, fahrenheit in _temperature_numbers(text):
        if fahrenheit:
            value = (value - 32) * 5 / 9
        if 34.0 <= value <= 43.0:
            found.append((round(value, 1), start) if positions else round(value, 1))
    return found


_PULSE_NUMBER = re.compile(r"(?<![\d.])(\d{2,3})(?!\.?\d)\s*(?:次|下|beats?|bpm)?")
_PULSE_WINDOW = [(re.compile(r"半分钟|half a minute|30 ?(?:秒|seconds)", re.I), 2), (re.compile(r"15 ?(?:秒|seconds)", re.I), 4)]


_PULSE_WORKED_OUT = re.compile(r"(?:[一1]\s*分钟(?:就|那就)?(?:是|算|有)|那就是|\bso (?:that'?d|that would|it'?d|it would|that'?s|that is) be\b|"
                               r"\bso (?:that'?s|that is|it'?s)\b|\bwhich (?:makes|is|would be)\b|\bthat makes\b)\s*(?:about\s*)?(\d+)", re.I)


def _heart_rate(text: str) -> Parse:
    """Beats a minute; "半分钟三十五下" counts double. Counts (次/下) are what a pulse is said in."""
    t = _after_correction(to_digits(text))
    worked_out = _PULSE_WORKED_OUT.search(t)
    if worked_out and 25 <= int(worked_out.group(1)) <= 250:
        return Parse(int(worked_out.group(1)))   # "半分钟三十五下，那一分钟就是七十": the patient did the sum
    factor = next((f for pattern, f in _PULSE_WINDOW if pattern.search(t)), 1)
    found = [(int(m.group(1)) * factor, m.start(1)) for m in _PULSE_NUMBER.finditer(t)
             if not re.match(r"\s*(?:秒|seconds|分钟|minutes|岁|年|%|percent)", t[m.end(1):m.end(1) + 8], re.I)]
    value = _current_reading(t, [(v, p) for v, p in found if 25 <= v <= 250], "heart_rate")
    return NOTHING if value is None else Parse(int(value))


_NO_PAIN = re.compile(r"(?:不(?:怎么|太)?(?:疼|痛)|没(?:有)?(?:什么)?(?:疼|痛)|没感觉|不觉得疼|\bno pain\b|\bnot (?:in )?(?:any )?pain\b|\bdoesn'?t hurt\b|\bnone\b|\bzero\b|^0$)", re.I)


_PAIN_SCALE = re.compile(r"(?:0|零)\s*分\s*(?:到|至|、|，|,)?\s*10\s*分|(?:满分)?10\s*分(?:里头|里面|的话|为满分|满分|制|(?=\s*(?:能|得|也|大概|差不多|估计)))|out of 10|(?:from|between) 0 (?:and|to) 10|1 to 10", re.I)
_PAIN_NOW = re.compile(r"现在|目前|这会儿|眼下|\bnow\b|\btoday\b|at the moment|these days", re.I)
_PAIN_SETTLE = re.compile(r"\bsay\b|\bmore like\b|就算|算(?:是)?|还是", re.I)
_PAIN_RANGE = re.compile(r"(?:between|from)\s*(\d+)\s*(?:and|to|-)\s*(\d+)|(\d+)\s*(?:到|至)\s*(\d+)\s*分", re.I)
_PAIN_HEDGE = re.compile(r"说不好|有时候疼有时候不疼|时好时坏|up and down|comes and goes|hard to say|depends", re.I)
_NO_PAIN_AT_ALL = re.compile(r"一分都没有|一点都不(?:疼|痛)|一点也不(?:疼|痛)|not (?:at all|a bit)|\bno pain at all\b", re.I)


def _pain_score(text: str) -> Parse:
    if _NO_PAIN_AT_ALL.search(text):
        return Parse(0)
    t = _after_correction(to_digits(text))
    t = _PAIN_SCALE.sub(" ", t)                       # "十分里头", "out of ten": the scale, not the score
    before_now = re.search(r"(?<![\d.])(\d+)\s*(?:out of 10\s*)?(?:right\s+)?now\b", t, re.I)
    if before_now and int(before_now.group(1)) <= 10:
        return Parse(int(before_now.group(1)))         # "It's a two now, it was a six last week"
    now = list(_PAIN_NOW.finditer(t))
    if now and reading_numbers(t[now[-1].end():]):
        t = t[now[-1].end():]                          # "刚开始八九分，现在也就两分": the score now
    settle = list(_PAIN_SETTLE.finditer(t))
    if settle and reading_numbers(t[settle[-1].end():]):
        t = t[settle[-1].end():]                       # "A two, maybe a three… Say two."
    # "三四分……还是三分吧": what follows 还是 settles it
    settled = re.search(r"还是(\d+)\s*分", t)
    if settled and int(settled.group(1)) <= 10:
        return Parse(int(settled.group(1)))
    # "七分，比昨天厉害了。昨天还就四五分": a score said of yesterday or of a habit gives way to one of now.
    pieces = [p for p in _READING_CLAUSE.split(t) if reading_numbers(p)]
    current = [p for p in pieces if not (_EARLIER.search(p) or _HABIT.search(p))]
    if current and len(current) < len(pieces):
        t = "，".join(current)
    if _PAIN_RANGE.search(t) or (_PAIN_HEDGE.search(text) and not re.search(r"\d", t)):
        return NOTHING   # a range or "it varies": asked again, never a guess
    values = [v for v, _, _ in reading_numbers(t)]
    # "七八分" is said for 7–8: take the higher (the safer) figure.
    two = re.search(r"(?<!\d)(\d)(\d)\s*分", t)
    # "三四分吧，哦，三分": a single score said after the pair settles it.
    if two and int(two.group(2)) == int(two.group(1)) + 1 and \
            not any(start >= two.end() and v <= 10 for v, start, _ in reading_numbers(t)):
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
    (1, re.compile(r"很不满意|非常不满意|特别不满意|极不满意|太差了|太差劲|非常差|很差|再也不(?:去|来)|差劲透了")),
    (2, re.compile(r"不满意|不太满意|不怎么满意|不好|不太好|不怎么好|不咋(?:地|样)|不怎么样|差")),
    (5, re.compile(r"非常满意|很满意|特别满意|十分满意|太满意|满意得很|满意得不得了|满意极了|非常好|特别好|太好了|相当满意|满分|挑不出(?:毛病|啥)|没(?:啥|什么)可挑")),
    (3, re.compile(r"一般|还行|凑合|马马虎虎|还可以|说得过去|过得去")),
    (4, re.compile(r"满意|挺好|不错|蛮好|很好|还好|没(?:啥|什么)意见|(?:挺|很|特别|蛮|都)(?:负责|周到|耐心|细心|热情)")),
]
_SATISFACTION_EN = [
    (1, re.compile(r"very (?:dis|un)satisfied|very unhappy|extremely (?:dis|un)satisfied|terrible|awful|horrible", re.I)),
    (2, re.compile(r"dissatisfied|unsatisfied|unhappy|not (?:very |really )?(?:satisfied|happy|good)|\bpoor\b|(?<!not )\bbad\b", re.I)),
    (5, re.compile(r"very (?:satisfied|happy|pleased|good)|extremely (?:satisfied|happy)|excellent|great|wonderful|fantastic|perfect|"
                   r"couldn'?t be happier|amazing|outstanding|(?:couldn'?t|can'?t|cannot) fault|\bangels?\b|brilliant|second to none|spot on", re.I)),
    (3, re.compile(r"neutral|\bok(?:ay)?\b|average|so-so|alright|all right|\bfine\b|mixed|not bad(?! at all)", re.I)),
    (4, re.compile(r"satisfied|happy|pleased|\bgood\b|no complaints|looked after (?:me|him|her|us) (?:well|nicely)|\blovely\b|\bkind\b|not bad at all", re.I)),
]


_SATISFACTION_HEDGE = re.compile(r"^(?:嗯|呃)?[，,]?(?:说不好|不好说|说不上来|我也说不好)[。!！]?$|^(?:hard to say|not sure|i don'?t know)[.!]?$"
                                 r"|^这个不好说|你们自己心里有数|让我想想|let me think", re.I)


_SATISFACTION_TOP = re.compile(r"10 out of 10|ten out of ten|十二分|一百分|满分|没得说|没话说|\b(?:5|five) out of (?:5|five)\b", re.I)
_SATISFACTION_MIDDLE = re.compile(r"说不上满意.{0,4}说不上不满意|说不上好.{0,4}说不上不好|不满意也不不满意|neither (?:satisfied|happy) nor|"
                                  r"neither here nor there|\bin between\b|\bmiddling\b|middle of the road", re.I)
# A score said first ("Four. Parking was a nightmare but…", "四分吧"): the number is the answer.
_SATISFACTION_OPENING = re.compile(r"^\W*(?:i'?d (?:say|give (?:it|you|them)(?: a)?)\s+|给(?:个|你们)?|打)?([1-5])(?:\s*分)?(?:\W|$)", re.I)
# "One. Absolutely shocking": a bare "one" said first and alone is the bottom of the scale (numbers.to_digits leaves
# "one" as a word, since "the one", "one of the nurses" are no numbers).
_SATISFACTION_ONE = re.compile(r"^\W*one(?:\s+out of (?:5|five))?\s*(?:[.,!;]|$)", re.I)


# Declining to rate ("我不太想打分", "I'd rather not put a number on it"): no score, never a low one.
_SATISFACTION_DECLINED = re.compile(
    r"不(?:太|大)?(?:想|愿意?|便|好)(?:打分|评价|评分|评|打)|不(?:打分|评价|评分|给分)|我?说不了|弃权|(?<!说)不好(?:说|讲)|"
    r"^\W*(?:我|这个)?(?:也)?说不好\W*$|"
    r"(?:问|让)(?:我|他|她)?(?:女儿|儿子|闺女|家里人|老伴|家属|他|她)(?:去|来)?(?:评|说|打)|"
    r"\brather not (?:say|rate|score|answer|put a number)|\b(?:prefer|like) not to (?:say|rate|answer|score)|"
    r"\bdon'?t (?:do|give|like) (?:those |these )?(?:ratings?|scores?|numbers?|surveys?)|\bno comment\b|"
    r"\bcan(?:no|')?t (?:say|speak|answer) for\b|\bask (?:her|his|my|their) (?:daughter|son|wife|husband|family)\b|"
    r"\bpass on (?:that|this)\b|\bskip (?:that|this)(?: one)?\b", re.I)


# Second thoughts ("满意……算了，说实话，一般") and a detail conceded after the verdict ("还是满意的噻，就是吃饭那块一般").
_SATISFACTION_REPAIR = re.compile(r"算了|说实话|说实在的|老实说|to be honest|honestly", re.I)
_SATISFACTION_CONCESSION = re.compile(r"[，,]\s*(?:就是|不过|但是|只是|可是)")


# A score on the five-point scale said in so many words ("Not happy at all, one out of five").
_SCORE_OUT_OF_FIVE = re.compile(r"(?<![\d.])([1-5]) out of 5\b", re.I)


def _satisfaction(text: str) -> Parse:
    if _SATISFACTION_HEDGE.search(text.strip()) or _SATISFACTION_DECLINED.search(text):
        return NOTHING
    scored = _SCORE_OUT_OF_FIVE.findall(to_digits(text))
    if scored and not _CORRECTION_MARK.search(text):
        return Parse(int(scored[-1]))   # the verdict's words ("not happy at all") only say which end
    # second thoughts count only when they go on to a rating ("满意满意，算了不说了" stays 满意)
    repairs = [m for m in _SATISFACTION_REPAIR.finditer(text) if _satisfaction_value(text[m.end():]).value is not None]
    marks = sorted([*_CORRECTION_MARK.finditer(text), *repairs], key=lambda m: m.end())
    # "不满意……哎不对不对，我是说满意": what follows counts
    if marks and len(text[marks[-1].end():].strip(" ，,。.!！")) >= 2:
        text = text[marks[-1].end():]
    # A bare verdict first and a complaint after as its reason ("一般，吃的太差了", "一般，就是吃的不太好"): the
    # verdict. What follows counts when it says more ("还行，挺满意", "老满意了，非常满意").
    first = re.match(r"\W*([\u4e00-\u9fff]{1,4})[，,]", text)
    verdict = _satisfaction_value(first.group(1)).value if first else None
    if verdict is not None:
        rest = _satisfaction_value(text[first.end():]).value
        # "不满意，等了半天没人管，给一分": a score on the scale said after the verdict is the answer.
        scored = re.search(r"(?<![\d.])[1-5]\s*(?:分|颗星|星)|\b[1-5] out of 5\b", to_digits(text[first.end():]), re.I)
        return Parse(verdict if rest is None or rest < verdict and not scored else rest)
    concession = _SATISFACTION_CONCESSION.search(text)
    if concession and re.search(r"满意", text[:concession.start()]):
        head = _satisfaction_value(text[:concession.start()])
        if head.value is not None:
            return head
    return _satisfaction_value(text)


def _satisfaction_value(text: str) -> Parse:
    opening = _SATISFACTION_OPENING.match(to_digits(text))
    if opening:
        return Parse(int(opening.group(1)))
    if _SATISFACTION_ONE.match(text):
        return Parse(1)
    if _SATISFACTION_MIDDLE.search(text):
        return Parse(3)
    if _SATISFACTION_TOP.search(to_digits(text)):
        return Parse(5)
    for score, pattern in (_SATISFACTION_ZH if re.search(r"[\u4e00-\u9fff]", text) else []) + _SATISFACTION_EN:
        if pattern.search(text):
            return Parse(score)
    t = to_digits(text)
    values = [int(v) for v, _, _ in reading_numbers(t) if v == int(v) and 1 <= v <= 5]
    if values:
        return Parse(values[0])
    return NOTHING


def _overall_condition(text: str) -> Parse:
    value = read_condition(text)
    return NOTHING if value is None else Parse(value)


def _wound(text: str) -> Parse:
    value, cues = read_wound(text)
    if value is not None:
        return Parse(value, cues=cues)
    if generic_yes_no(text, "zh") == "no" and len(text) <= 8:
        return Parse("ok")   # "没有" to "any redness, swelling, discharge…?"
    return NOTHING


# A reading said in passing, in an answer to another question ("头疼，刚量了血压一百九十二、一百一十五").
_PASSING = {
    # an unlabelled "量了一百九" is a blood pressure: no other home reading is said in the hundreds in Chinese
    "blood_pressure": re.compile(r"量(?:了|的|出来)?(?:一下)?(?:是|有)?(?=一百|二百|两百|1\d\d|2\d\d)|血压|高压|低压|\bbp\b|blood pressure|\bpressure\b|the machine said", re.I),
    "blood_glucose": re.compile(r"血糖|测糖|\bsugars?\b|glucose|\bmeter\b", re.I),
    "temperature": re.compile(r"体温|发烧|发热|烧到|烧了|温度|\btemperature\b|\bfever\b|\btemp\b|thermometer|°|℃", re.I),
    # a pain score said while telling of a pain ("疼得受不了…我说九分都不止"), never minutes (分钟)
    "pain_score": re.compile(r"(?:疼|痛|打分)[^。]{0,24}?[0-9一二三四五六七八九十]+\s*分(?!钟)|[0-9一二三四五六七八九十]+\s*分(?!钟)[^。]{0,6}(?:疼|痛)"
                             r"|\b(?:pain|hurts?|hurting)\b[^.]{0,40}\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten) out of (?:10|ten)\b", re.I),
}
_PASSING_PARSERS = {"blood_pressure": lambda t: _blood_pressure(t), "blood_glucose": lambda t: _blood_glucose(t),
                    "temperature": lambda t: _temperature(t), "pain_score": lambda t: _pain_score(t)}


_FEVER_CODES = frozenset({"fever", "chills"})


def _fever_gone(sentence: str, lang: str, respondent: str | None) -> bool:
    """The sentence tells of a fever that has gone (resolved or before discharge) and of none now."""
    mentions = [m for m in assess(sentence, lang, respondent=respondent) if m.code in _FEVER_CODES]
    return bool(mentions) and all(m.status in ("resolved", "historical") for m in mentions)


def readings_in_passing(text: str, lang: str | None = None, respondent: str | None = None) -> dict[str, Any]:
    """Readings the words name (by a label: 血压, sugar, temperature…) with their value, sentence by sentence;
    not in a sentence about someone else or a hypothetical ("是我孙子发烧，三十九度多", "医生说如果烧到三十八度五")."""
    found: dict[str, Any] = {}
    lang = lang or ("zh" if re.search(r"[\u4e00-\u9fff]", text) else "en")
    sentences = [x for x in re.split(r"(?<=[。！!？?；;])|(?<=[.])\s+", text) if x and x.strip()]
    for i, sentence in enumerate(sentences):
        if not re.search(r"\d", to_digits(sentence)) or not_the_patients(sentence, lang, whole=text, respondent=respondent):
            continue
        for name, label in _PASSING.items():
            # The label may be in the sentence before ("Fever, yes. A hundred and three this morning.")
            if label.search(sentence) or (i and label.search(sentences[i - 1])):
                if name == "temperature" and _fever_gone(sentence, lang, respondent):
                    continue   # "烧了一晚上，三十八度，后来就退了": a past fever's reading is not the temperature now
                value = _PASSING_PARSERS[name](sentence).value
                # A systolic alone is kept only past the red line, so that its flag is never lost.
                if value is not None and (name != "blood_pressure" or value.get("diastolic") is not None
                                          or (value.get("systolic") or 0) >= default_threshold("systolic_red_high")):
                    found[name] = value
    return found


# ----- medication adherence ------------------------------------------------------------------------

def _drug_keys(med: dict[str, Any]) -> list[str]:
    keys = []
    for raw in (med.get("name"), med.get("generic_name")):
        if not raw:
            continue
        keys.append(raw)
        if re.search(r"[\u4e00-\u9fff]", raw):
            core = re.sub(r"(?:肠溶|缓释|控释|分散|咀嚼)?(?:片|胶囊|颗粒|注射液|口服液|软胶囊|滴丸|气雾剂|吸入剂|贴)$", "", raw)
            core = re.sub(r"^(?:苯磺酸|酒石酸|琥珀酸|盐酸|硫酸氢|硫酸|马来酸|富马酸|甲磺酸)", "", core)
            core = re.sub(r"钙$|钠$|钾$", "", core)
            if len(core) >= 2:
                keys.append(core)
            if len(core) >= 4:
                keys.append(core[:3])
        else:
            words = re.split(r"[\s/-]+", raw.lower())
            keys += [w for w in words[:1] if len(w) >= 4]
    return list(dict.fromkeys(k.lower() for k in keys))


def _drug_refs(medications: list[dict[str, Any]]) -> list[DrugRef]:
    """The drugs of the orders with every name a patient may use: the orders' own, its generic, and
    the lexicon's brands and other spellings of that generic (波立维 for 硫酸氢氯吡格雷片)."""
    from knowledge.structurer import drug_aliases

    refs = []
    for med in medications:
        keys = _drug_keys(med) + list(route_keys(med.get("route")))
        keys += [a.lower() for a in drug_aliases(med.get("generic_name") or med["name"]) if len(a) >= 3 or
                 re.search(r"[\u4e00-\u9fff]", a) and len(a) >= 2]
        # An English generic said half ("hydrochloro-whatsit"): its first eight letters.
        keys += [g[:8] for g in (str(med.get("generic_name") or ""), med["name"].split()[0]) if re.fullmatch(r"[a-z]{10,}", g.lower() or "")]
        as_needed = is_as_needed(med["name"], med.get("drug_class"), med.get("frequency"))
        refs.append(DrugRef(name=med["name"], drug_class=med.get("drug_class"), keys=tuple(dict.fromkeys(k.lower() for k in keys)),
                            as_needed=as_needed, course=is_course(med["name"], med.get("drug_class"), med.get("duration"))))
    return refs


def _medication_adherence(text: str, lang: str, context: dict[str, Any]) -> Parse:
    medications = [m for m in context.get("medications", []) if m.get("name")]
    if is_backchannel(text, "zh" if _zh(lang) else "en", "hums"):
        return NOTHING      # "嗯" to "all taken? any missed or stopped?" says neither
    from knowledge.structurer import drug_info

    reading = read_adherence(text, _drug_refs(medications), is_drug=lambda word: drug_info(word) is not None)
    if reading.hedged:
        return NOTHING
    if reading.adherence is not None:
        return Parse({"adherence": reading.adherence, "missed": reading.missed})
    yes_no = generic_yes_no(text, lang)
    if yes_no == "yes":
        return Parse({"adherence": "full", "missed": []})
    # The zh question ends "有没有漏吃或者停掉的？", so a bare "没有" means nothing was missed.
    if yes_no == "no" and re.fullmatch(r"\s*(?:没有|没|无|没有啊|没有的|没呢)[了呀啊的。.!！]?\s*", text):
        return Parse({"adherence": "full", "missed": []})
    return NOTHING


# ----- dispatch ----------------------------------------------------------------------------------------

_YES_NO_BLOCKING = tuple(k for k in NON_ANSWER_KINDS if k != "cannot_tell")


def _yes_no_field(text: str, lang: str, field_name: str) -> Parse:
    """yes / no from the field's table (language/yes_no.py); a hedge is not settled (asked again)."""
    value = read_yes_no_field(field_name, text)
    if value == "hedged":
        return NOTHING
    # Deferring, stalling, being busy or in a muddle is no "no" (nor a bare yes); not knowing is, for
    # revisit_aware, not being aware.
    deferred = non_answer_kind(text) in _YES_NO_BLOCKING
    if value == "yes" or (value == "no" and not deferred):
        return Parse(value)
    if deferred:
        return NOTHING
    if _has(_UNCERTAIN_EN, text) or _has(_UNCERTAIN_ZH, text):
        return NOTHING if field_name != "revisit_aware" else Parse("no")
    return parse_yes_no(text, lang)


def parse_field(field_name: str | None, text: str, lang: str, context: dict[str, Any] | None = None, *,
                semantic: Any = None) -> Parse:
    """The value of one outcome field from an answer, in the shape the engine stores.

    `semantic` (a language.semantic.SemanticMatcher) adds symptoms said in other words."""
    context = context or {}
    # "我问问我老伴儿……他说都吃了": the relative's words passed on are the answer, not the stall before them
    text = relayed_answer(text.strip())
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
        if not parse.value:
            return NOTHING
        # A complaint the patient puts down to something else is no side effect.
        other_cause = {code for sentence in _SENTENCE_END.split(text) if sentence.strip() and not_from_drug(sentence)
                       for code in (parse_symptoms(sentence, lang).value or {}).get("present", [])}
        present = [c for c in parse.value["present"] if c not in other_cause]
        # A complaint that went away once the drug was stopped ("吃了老想吐，我就停了，停了以后就不恶心了") was a
        # side effect all the same: the reason for stopping.
        if stopped_for_it(text) and blames_drug(text):
            present += [m.code for m in assess(text, lang, respondent=context.get("respondent"))
                        if m.status == "resolved" and m.code not in present and m.code not in other_cause]
        return Parse({"present": present, "cues": {c: parse.value["cues"].get(c, {}) for c in present}})
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
    if field_name in ("revisit_aware", "revisit_booked", "reexam_done"):
        return _yes_no_field(text, lang, field_name)
    if field_name == "identity_verified":
        return parse_identity(text, lang, name=context.get("name", ""), birth_year=context.get("birth_year"),
                              id_last4=context.get("id_last4"), phone_last4=context.get("phone_last4"))
    return NOTHING
