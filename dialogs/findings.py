"""What a patient's words say, for pre-consultation: symptoms with a status, readings, age, context.

`extract_mentions(text, lang=...)` finds symptom and diagnosis mentions from the lexicon in
knowledge/data/preconsult_symptoms.yaml and gives each a status:

- present: "有点咳嗽", "孩子发烧三天了", "I have chest pain";
- absent: "没有发烧", "不咳了", "咳嗽好了", "denies fever", "no neck stiffness";
- uncertain: "好像有点喘", "不确定有没有发烧", "是不是肺炎？", "maybe a rash".

`extract_vitals` pulls temperature (°C, °F converted), SpO2, heart and breathing rate, blood
pressure, pain score, age and weight from the numbers in the words. `answer_status` reads a bare
reply ("没有", "有一点", "not sure") to a question that named a symptom. Nothing here guesses:
no match, no mention; a number without a unit or label is not a reading."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from language.numbers import to_digits
from dialogs.clinical_rules import default_threshold
from dialogs.understanding import normalize, parse_yes_no

LEXICON_PATH = Path(__file__).resolve().parent.parent / "knowledge" / "data" / "preconsult_symptoms.yaml"
PRESENT, ABSENT, UNCERTAIN = "present", "absent", "uncertain"
STATUS_RANK = {PRESENT: 0, ABSENT: 1, UNCERTAIN: 2}  # aggregation priority: present > absent > uncertain


@dataclass(frozen=True)
class Entry:
    name: str
    code: str | None
    en: str
    kind: str


@dataclass
class Mention:
    name: str
    status: str
    start: int
    end: int
    text: str
    code: str | None = None
    kind: str = "symptom"
    en: str = ""
    cues: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Lexicon:
    entries: dict[str, Entry]
    zh: tuple[tuple[str, re.Pattern[str], int], ...]
    en: tuple[tuple[str, re.Pattern[str], int], ...]


@functools.lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    raw = yaml.safe_load(LEXICON_PATH.read_text(encoding="utf-8"))
    entries: dict[str, Entry] = {}
    zh: list[tuple[str, re.Pattern[str], int]] = []
    en: list[tuple[str, re.Pattern[str], int]] = []
    for item in raw:
        name = item["name"]
        if name in entries:
            raise ValueError(f"preconsult_symptoms.yaml: duplicate name {name!r}")
        entries[name] = Entry(name=name, code=item.get("code"), en=item.get("en", name), kind=item.get("kind", "symptom"))
        priority = int(item.get("priority", 0))
        zh += [(name, re.compile(p), priority) for p in item.get("zh") or ()]
        en += [(name, re.compile(p, re.I), priority) for p in item.get("en_patterns") or ()]
    return Lexicon(entries=entries, zh=tuple(zh), en=tuple(en))


def entry(name: str) -> Entry | None:
    return lexicon().entries.get(name)


def display_name(name: str, lang: str) -> str:
    item = entry(name)
    return (item.en if item else name) if lang == "en" else name


_HAS_ZH = re.compile(r"[\u4e00-\u9fff]")


def text_language(text: str, default: str = "zh") -> str:
    if _HAS_ZH.search(text):
        return "zh"
    if re.search(r"[a-zA-Z]{2}", text):
        return "en"
    return default


# ----- matching --------------------------------------------------------------------------------------

# 心 that closes an everyday word (担心, 放心, 开心, 关心, 伤心, 耐心 …) is no heart: "担心血管堵了", "放心大胆",
# "开心大笑" name nothing. Left out: 恶心 (a finding of its own) and words whose first character also ends a phrase
# before a real 心 (有点心慌, 小心脏, 天热心慌, 十分心慌, 烦躁不安心慌, 体虚心慌, 真心慌).
_NOT_HEART_BEFORE = frozenset("担放开关耐细伤信核爱良决专省操粗贪忍狠甘灰痴诚尽随违掌")


def _raw_matches(text: str, lang: str) -> list[tuple[str, int, int, int]]:
    lex = lexicon()
    patterns = lex.zh if lang == "zh" else lex.en
    found = []
    for name, pattern, priority in patterns:
        for m in pattern.finditer(text):
            if lang == "zh" and m.group(0).startswith("心") and m.start() and text[m.start() - 1] in _NOT_HEART_BEFORE:
                continue
            if m.end() > m.start():
                found.append((name, m.start(), m.end(), priority))
    found.sort(key=lambda f: (-f[3], -(f[2] - f[1]), f[1]))
    kept: list[tuple[str, int, int, int]] = []
    for item in found:
        if any(item[1] < k[2] and k[1] < item[2] for k in kept):
            continue
        kept.append(item)
    kept.sort(key=lambda f: f[1])
    return kept


# Temperatures said with a unit or after a fever word: "38.5度", "烧到39", "体温37.8", "104°F".
_TEMP_ZH = re.compile(r"(?:(?:烧|热|体温|温度|量了?|测了?|到|最高)(?:[^\d，,。？?]{0,3}))?(?<![\d.])(3[5-9]|4[0-2])(?:[.。、*](\d))?\s*(?:度|℃|°C?|多度)?(\d)?")
_TEMP_UNIT = re.compile(r"^\s*(?:度|℃|°|多度)")


def _zh_temperatures(text: str) -> list[tuple[float, int, int]]:
    out = []
    for m in _TEMP_ZH.finditer(text):
        whole, frac, trailing = m.group(1), m.group(2), m.group(3)
        before = text[max(0, m.start(1) - 5):m.start(1)]
        after = text[m.end(1):m.end(1) + 3]
        context = bool(re.search(r"烧|热|体温|温度|量|测|度|到|最高", before)) or bool(_TEMP_UNIT.match(after)) or bool(frac)
        if not context:
            continue
        if re.match(r"\s*(?:天|次|个|月|岁|周|斤|公斤|kg|ml|毫升|分钟|小时)", text[m.end(1) + (len(frac) + 1 if frac else 0):][:3]):
            continue
        value = float(whole + "." + (frac or trailing or "0"))
        if 35.0 <= value <= 42.5:
            out.append((value, m.start(1), m.end()))
    return out


def fever_class(celsius: float) -> str | None:
    # Parents round: "39度" is said of a high fever, so the whole degree opens the grade. The lines are the
    # triage thresholds of the clinical rule table (the packaged values).
    if celsius >= default_threshold("triage_high_fever_c"):
        return "高热"
    if celsius >= default_threshold("triage_fever_c"):
        return "中等度热"
    if celsius >= default_threshold("triage_low_grade_fever_c"):
        return "低热"
    return None


# ----- status ----------------------------------------------------------------------------------------

_CLAUSE_SPLIT_ZH = re.compile(r"[，,。；;！!？?～~…\n]|但是|不过(?!敏)|可是|就是|只是|但")
_QUESTION_ZH = re.compile(r"(?:[?？]|有(?:什么|啥)区别|的区别|(?:是)?一回事|[吗嘛么呢吧]\s*$|[吗嘛呢]\s*[，,。]|是不是|会不会|是否|有没有可能|能不能|怎么办|怎么回事|怎么治|怎么弄|怎么处理|什么原因|是什么|啥原因|为什么|为啥|怎么(?:造成|引起|导致|会|得的|来的)|"
                          r"如果|要是|万一|算不算|属于|还是.{0,8}(?:吗|呢|[?？])|哪种|什么病|咋办|咋回事|怎么样|会引起|会导致|会造成|有关系|能吃|能用|可以吃)")
_HEDGE_ZH = re.compile(r"(?:好像|似乎|可能|大概|也许|应该是|像是|像(?=.{0,4}(?:炎|感冒|过敏|感染))|怀疑|担心|害怕|(?<!不)怕(?!冷|光)|不确定|不知道|说不好|说不准|不清楚|不太清楚|感觉像|以为|疑似|排除|不像|看着像|估计|或许|貌似)")
_NEG_BEFORE_ZH = re.compile(r"(?:否认|没有|没|不|无|未|别|并非|并没|从没|从来没|从不|不是|不算|不怎么|不太)")
_NEG_GAP_OK = re.compile(r"^(?:他|她|宝宝|孩子|到|有|再|任何|起|长|怎么|太|见|发现|看到|看见|出现|(?:检)?查(?:到|出)|测(?:到|出)|捕捉到|抓到|明显|过|什么|啥|咋|是|算|像|会|一直|都|也|还|老|经常|常|总|大|特别|那么|这么|感觉|觉得|了|得|着|有过|出|发|的|怎)*$")
_NEG_EXCEPT_ZH = re.compile(r"(?:特别|分别|区别|级别|告别|性别|个别|类别|差别|会不会|是不是|能不能|要不要|有没有|行不行|可不可以|好不好|对不对|用不用|需不需要|算不算|该不该|不会(?=.{0,3}[是有])|不知道|不晓得|不清楚|不确定|不一定|不停|不断|不止|不少|不能|不了|不行|不好意思|没事|没过|没多久|没几天|不久|不到|没想到|没办法|不是很|没什么用|不管用|没用|没效果|不见好|不好转|没好转|不管|不要|不用|不敢|不让|不想(?!吃|喝)|没注意|没在意|没当回事|不舒服|不得|没法|没人|不多|不少)")
_POST_NEG_ZH = re.compile(r"^(?:[^，,。？?]{0,2}?)(?:也|都|已经|早就|现在)?(?:不(?:怎么|太)?(?:流|咳|吐|拉|烧|疼|痛|喘|哭|闹|出)|没有了|没了|好了|消失了|退了|止住了|停了|没再|不明显|没有再|痊愈|好转了|不.{0,1}了$|就没有|没有(?:$|[了啊呀的哦吧])|没(?:$|[了啊呀的哦吧]))")
_CHOICE_ZH = re.compile(r"(.)[不没]\1")  # 喘不喘, 稀不稀
_INHERENT_ZH = re.compile(r"上气不接下气|气不顺|上不来|提不上来|呼吸不过来|吸不进|进不去|喘不(?:上|过)(?:来)?气?|呼吸不上|说不出话|口齿不清|言语不清|吐字不清|睡不着|睡不好|躺不平|不能平躺|认不(?:出|得)人|解不出|尿不出|拉不出|不省人事|不听使唤|抬不起|动不了|"
                          r"看不清|咽不下|吃不下|走不(?:动|了)|下不了|张不开|上不来气|透不过气|叫不醒|不(?:爱|想|肯|怎么)(?:吃|喝)|不通|不透气|不(?:太|怎么|大|是很)?舒服|不(?:太|怎么|大|是很)好|供血不足|共血不足|(?:供|共)血不够|不正常|不规则|不规律|时不时|没规律|气不够(?:用)?|不整|无力|没精神|没力气?|没劲|没胃口|精神不|消化不|不振|不良|不好|不畅|不清|不利索|不灵|不齐|不安|转不动|不全|累得不想动|不想动弹?|站不(?:住|稳)|走不稳|睁不开")

_QUESTION_EN = re.compile(r"(?:\?|\b(?:is it|could it be|might it be|is this|should i|what (?:is|causes)|how (?:do|can|should)|why)\b)", re.I)
_HEDGE_EN = re.compile(r"\b(?:maybe|perhaps|possibly|probably|not sure|unsure|i think|i guess|might|may have|could be|seems?|kind of|sort of|don'?t know|uncertain|worr(?:y|ies|ied) (?:about|that)|worried about|afraid of|concerned about|rule out|suspect(?:ed)?)\b", re.I)
_NEG_EN = re.compile(r"\b(?:no|not|never|without|denies|denied|deny|denying|none|nor|negative for|free of|absence of|haven'?t|hasn'?t|didn'?t|don'?t|doesn'?t|isn'?t|aren'?t|wasn'?t|weren'?t)\b", re.I)
_NEG_EN_EXCEPT = re.compile(r"\b(?:don'?t know|not sure|not too bad|not only|no longer able|not able|not improving|not relieved|not helping|no relief|without relief|not eating|not feeding|not drinking|non-?productive|no better|not getting better|"
                            r"did not receive|not received|does not know|don'?t remember|not responding)\b", re.I)
_NEG_EN_BREAK = re.compile(r"\b(?:but|and then|although|however|which|who|that|with|associated|presents?|presenting|has|had|complain\w*|reports?|describes?|developed|followed)\b", re.I)
_POST_NEG_EN = re.compile(r"^[^.;]{0,45}?\b(?:(?:have|has|had) (?:now )?(?:resolved|gone|settled|stopped|disappeared)|(?:is|are|was|were) (?:now )?(?:gone|resolved)|went away|no longer)\b", re.I)


def _clauses_zh(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _CLAUSE_SPLIT_ZH.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _sentence_of(text: str, pos: int, lang: str) -> tuple[int, int]:
    enders = r"[。！!？?；;\n]" if lang == "zh" else r"[.!?;\n](?!\d)"
    start = 0
    for m in re.finditer(enders, text):
        if m.end() <= pos:
            start = m.end()
        else:
            return start, m.end()
    return start, len(text)


def _negated_zh(clause: str, start: int, end: int, chain_end: int, next_other: int | None = None) -> bool:
    inner = _INHERENT_ZH.sub("", clause[start:end])
    if end - start > 2 and re.search(r"[不没无]", inner[1:]):
        return True  # "肚子不涨", "肚子不疼"
    if end - start > 2 and inner.endswith("正常"):
        return True  # "血压一直正常", "血糖也正常": the reading the illness is named for is normal
    prefix = _INHERENT_ZH.sub(lambda m: "＿" * len(m.group(0)), clause[:start])
    prefix = _NEG_EXCEPT_ZH.sub(lambda m: "＿" * len(m.group(0)), prefix)
    window = prefix[-7:]
    last = None
    for m in _NEG_BEFORE_ZH.finditer(window):
        last = m
    if last is not None:
        gap = window[last.end():]
        if len(gap) <= 6 and _NEG_GAP_OK.match(gap):
            return True
    after = clause[chain_end:chain_end + 8]
    if re.match(r"[^，,。]{0,2}?(?:咳|吐|咯|擤|排|拉)不(?:出|掉|干净)", clause[end:end + 8]):
        return False  # "痰咳不出来": the phlegm is there, it will not come up
    post = _POST_NEG_ZH.match(after)
    if post and not (next_other is not None and next_other < chain_end + post.end()):
        return True  # ("有鼻涕不拉肚子": the 不 belongs to the next symptom)
    return False


def _negated_en(sentence: str, start: int, end: int, chain_end: int) -> bool:
    if re.match(r"afebrile", sentence[start:end], re.I):
        return True
    prefix = _NEG_EN_EXCEPT.sub(" ", sentence[:start])
    last = None
    for m in _NEG_EN.finditer(prefix):
        last = m
    if last is not None:
        between = prefix[last.end():]
        # "denies fever, chills, nausea, vomiting or back pain": a denial runs over a list
        if not _NEG_EN_BREAK.search(between) and len(between.split()) <= 12 and not re.search(r"[;:]", between):
            return True
    return bool(_POST_NEG_EN.match(sentence[chain_end:chain_end + 90]))


_HYPOTHETICAL_ZH = re.compile(r"(?:如果|(?<![主只])要是|万一|假如|除非|会不会|是不是|是否|(?<!可)怕|担心|害怕|预防(?!针)|防止|以免|避免|会(?:不会)?(?:出现|有|引起|导致)|容易|判断|区分|算不算)")
_NEAR_HEDGE_ZH = re.compile(r"(?:好像|似乎|可能|也许|或许|大概|貌似|疑似|不确定|不知道(?:有没有|是不是)?|说不好|不清楚(?:有没有)?|感觉像|像是)(?:是|有|有点|有些|在|也)?(?:因为|由于)?(?:点|些)?$")
_MILD_NEG_ZH = re.compile(r"(?:不怎么|不太|不大|不是很|不是太|不那么)(?:会|爱|有|想)?$")
_DIAGNOSED_ZH = re.compile(r"(?:说就是|诊断|确诊|查出|检查(?:出|说|是)|得了|得过|患(?:有|了)|住院|入院|医生说(?:是|有)?|大夫说(?:是|有)?|说是|拍片(?:子)?(?:是|说)|胸片(?:是|说)|结果(?:是|说)|化验(?:是|说)|查(?:血)?是|(?:心电图|彩超|心超|造影|报告|单子|体检|动态)[^，,。？?]{0,4}?(?:讲|说|提示|显示|写的是|写着))")


# Context rules for a diagnosis a patient names without saying it is theirs:
# - asked whether it can be diagnosed ("能不能确诊X", "可以诊断为X吗");
# - the topic of a consultation ("咨询一下X的问题", "想了解X方面");
# - a general treatment question opening the message with no one named ("X怎么治疗", "X用什么药") —
#   "X了，吃什么药" (了: it has happened) and "X怎么办" (what do I do) stay findings.
_DIAGNOSIS_ASKED_ZH = re.compile(r"(?:(?:可以|可不可以|能否|能不能|能|是否|是不是|会不会|算不算)(?:确诊|诊断|判断)|(?:不能|无法|没法|不足以)(?:说明|证明|确诊|诊断|确定|判断))(?:为|是|成)?[^，,。？?]{0,3}$")
# "做了贫血的检查，没问题", "甲亢查过都正常", "查了贫血和甲功都正常" (with a test beside it): the disease was looked for
# and the result is normal.
_TESTED_NORMAL_ZH = re.compile(r"病?(?:的)?(?:[和跟与及、][^，,。？?吗]{1,6}?)?(?:检查|化验|筛查|指标)?[，,]?(?:检查|化验|结果|指标)?[^，,。？?吗]{0,3}?(?:都|也|倒|还)?(?:没(?:有)?(?:什么|啥)?(?:问题|事)|正常)(?![吗嘛么]|[^，,。]{0,3}[？?])")
_SELF_HAS_ZH = re.compile(r"(?:^|[^没])(?:我|本人|自己)(?:本身|自己|一直|也|还)?(?:有|得了|得的是|患有|患了)$")
_TOPIC_BEFORE_ZH = re.compile(r"(?:咨询|请教|了解|问问|问)(?:一下|下)?(?:关于|有关)?$")
_TOPIC_AFTER_ZH = re.compile(r"病?(?:的)?(?:问题|事情|事|情况|方面|相关)")
_GENERIC_TREATMENT_ZH = re.compile(r"病?[，,]?(?:应该|应|要|该|需要)?(?:(?:怎么|如何|怎样)(?:治疗|治|调理|预防|避免)|(?:用|吃|服)(?:什么|哪些|啥)药|忌(?:口)?(?:什么|哪些|啥)|注意(?:些|哪些)?什么|(?:能|不能|可以)吃(?:什么|哪些|啥)|有什么(?:中医|好的)?(?:疗法|治疗方法|治疗办法|特效药))")
_OPENS_SENTENCE_ZH = re.compile(r"^(?:请问|问一下|想问一下|医生|大夫|你好|您好|[，,、\s])*$")


_TEST_RESULT_ZH = re.compile(r"(?:的)?(?:检查|检测|化验|抗体|抗原|核酸)?(?:结果)?(?:是|为|呈|显示|都是)?(?:弱)?([阴阳])性")


def _status_zh(text: str, clause: tuple[int, int], start: int, end: int, chain_end: int, kind: str = "symptom",
               next_other: int | None = None) -> str:
    c_start, c_end = clause
    clause_text = text[c_start:c_end]
    rel_start, rel_end, rel_chain = start - c_start, end - c_start, chain_end - c_start
    if re.search(r"(?!时不时)(.)[不没]\1|有无", text[start:min(c_end, end + 3)]) or re.search(r"(?:有没有|有无)$", clause_text[:rel_start]) and re.search(r"[吗呢?？]|$", clause_text[rel_end:]):
        return UNCERTAIN
    prefix = clause_text[:rel_start]
    if re.search(r"有$", prefix) and re.match(r"没(?:有)?(?:$|[吗呢啊呀谢？?，,。])", clause_text[rel_chain:rel_chain + 3]):
        return UNCERTAIN  # "帮我看看有心衰没": 有X没 asks whether X is there
    if re.search(r"只有$", prefix) and re.match(r"[^，,。]{0,2}?才", text[chain_end:chain_end + 4]):
        return UNCERTAIN  # "只有冠心病才需要搭桥": a rule about X, not a finding
    if re.search(r"不是$", prefix) and re.match(r"[^，,。]{0,2}?就是", text[chain_end:chain_end + 5]):
        return UNCERTAIN  # "不是肺炎就是气管炎": one or the other
    if re.search(r"不是[^，,。？?不没]{0,3}$", prefix) and re.match(r"[^，,。]{0,2}?(?:[吗嘛]|[？?])", text[chain_end:chain_end + 4]):
        return UNCERTAIN  # "不是便秘吗？": a rhetorical question, not a denial
    if re.search(r"(?:算|属于)$", prefix) and re.match(r"[^，,。]{0,2}?[吗嘛呢]|[^，,。]{0,2}?[？?]", clause_text[rel_chain:]):
        reading = [v for v, _, _ in _zh_temperatures(clause_text)]
        if kind == "symptom" and reading and fever_class(max(reading)) is None:
            return ABSENT  # "37.2算发烧吗": the number answers it
        return UNCERTAIN  # "这算腹泻吗"
    if _MILD_NEG_ZH.search(prefix[-6:]):
        if re.match(r"[^，,。？?]{0,2}?了", clause_text[rel_chain:]):
            return ABSENT  # "不怎么咳嗽了": 了 marks the change, it has stopped
        return PRESENT  # "不怎么咳", "不太爱吃": little of it, but there
    after_test = clause_text[rel_chain:rel_chain + 10]
    if re.match(r"(?:的)?(?:也|都|还|从来)?(?:没|没有|还没|还没有)(?:检查|查|化验|测|验)过?", after_test) \
            or re.search(r"不知道(?:现在|还|到底)?(?:有没有|是不是)", text[end:end + 16]):
        return UNCERTAIN  # "过敏的没检查过", "吸了痰，不知道现在有没有": nobody knows
    test_result = _TEST_RESULT_ZH.match(after_test)
    if test_result:
        # "轮状病毒阴性", "支原体的结果是阴性": a negative test; "潜血阳性": a positive one
        return ABSENT if test_result.group(1) == "阴" else PRESENT
    if _negated_zh(clause_text, rel_start, rel_end, rel_chain, None if next_other is None else next_other - c_start):
        if re.match(r"(?:的)?(?:之前|以前|那会|的时候|时候)", clause_text[rel_chain:rel_chain + 4]):
            return PRESENT  # "没发烧之前", "没咳的时候": the symptom comes at other times
        if re.search(r"(?:如果|要是|假如|万一)(?:不|没有|没)?$", prefix):
            return UNCERTAIN  # "如果不发烧": a condition, not a finding
        if re.match(r"[^，,。]{0,2}?不多", clause_text[rel_chain:rel_chain + 4]):
            return PRESENT  # "痰不多了": less of it, still there
        if re.search(r"(?:本来|原来|原先|起初)", prefix[-6:]):
            return PRESENT  # "本来不拉肚子的": it was absent then, so it is there now
        if kind == "disease" and re.search(r"(?:[吧吗嘛][？?。！!~～]*$|[？?]$)", clause_text.rstrip()) \
                or kind == "disease" and _HEDGE_ZH.search(prefix):
            return UNCERTAIN  # "应该不是肺炎吧": a parent's guess, not a finding
        if re.search(r"(?:捕捉|抓|逮)(?:到|住)$", prefix):
            return UNCERTAIN  # "动态心电图没捕捉到早搏": an event that comes and goes, not caught — not ruled out
        return ABSENT
    s_start, s_end = _sentence_of(text, start, "zh")
    sentence = text[s_start:s_end]
    if _NEAR_HEDGE_ZH.search(prefix[-8:]):
        return UNCERTAIN
    hypothetical = list(_HYPOTHETICAL_ZH.finditer(prefix))
    if hypothetical and prefix[hypothetical[-1].start() - 1:hypothetical[-1].start()] == "就" and hypothetical[-1].group(0).startswith("会") \
            and not re.search(r"如果|要是|假如|万一|的话|是不是|会不会", text[s_start:start]):
        hypothetical.pop()  # "走路就会有点心慌": when this, then that — it happens, it is no "if"
    if hypothetical and (kind == "disease" or len(prefix) - hypothetical[-1].end() <= 6):
        # a symptom is in the "if/worried/whether" only when it comes soon after the word
        return UNCERTAIN
    if kind == "disease" and (re.match(r"还是", text[end:end + 2])
                              or re.search(r"还是$", prefix) and not re.search(r"(?:但|可|却|仍然|依然|结果|最后)[，,]?(?:也)?还是$", text[max(0, start - 8):start])):
        return UNCERTAIN  # "病毒还是细菌": the parent asks which ("…，但还是心肌缺血" is still X, no choice)
    if re.match(r"(?:的)?(?:是什么(?!原因|引起|导致)|是啥|是[?？]|什么意思|是什么样|是怎么样|有点不懂|指的是|怎么判断|还有什么症状|有什么症状|有哪些症状|什么症状|(?:会)?有什么后果)", text[end:end + 7]):
        return UNCERTAIN
    if kind == "disease":
        if re.match(r"[，,、\s]*(?:(?:是不是|会不会|算不算|属于)?(?:很|太|比较|特别|更)?(?:严重|要紧|危险)(?:吗|嘛|么|不|[?？])|严不严重|要不要紧|危不危险)", text[chain_end:chain_end + 10]):
            return PRESENT  # "冠心病严重吗？", "窦性心动过速，严重吗": asking how bad it is takes it as given
        if re.search(r"(?:做|查|检查|化验|测|验|筛查)(?:了|过)?(?:个|一下|下)?$", prefix) and _TESTED_NORMAL_ZH.match(text[chain_end:chain_end + 18]):
            return ABSENT  # "查了个甲亢，没问题": looked for and not found
        if re.search(r"(?:检查|查|测|化验|排除)(?:一下|过)?$", prefix) or re.match(r"(?:的)?(?:检查|化验|检测)(?!出|说|是|结果)", text[end:end + 4]):
            return UNCERTAIN  # a test asked for, not a finding
        if _DIAGNOSIS_ASKED_ZH.search(text[s_start:start]) or _TOPIC_BEFORE_ZH.search(prefix) and _TOPIC_AFTER_ZH.match(text[end:end + 6]):
            return UNCERTAIN  # "能确诊为心肌炎吗", "咨询一下房颤的问题": asked about, not established
        if _SELF_HAS_ZH.search(prefix) and not re.match(r"病?(?:了)?(?:[吗嘛么呢吧]|[？?]|没有?(?:$|[？?吗]))", text[chain_end:chain_end + 4]):
            return PRESENT  # "我有房颤能坐飞机吗": the question is about living with it
        if _GENERIC_TREATMENT_ZH.match(text[end:end + 10]) and _OPENS_SENTENCE_ZH.match(text[s_start:start]):
            return UNCERTAIN  # "冠心病用什么药": a question about the illness in general, nobody said who has it
        if _DIAGNOSED_ZH.search(text[s_start:start]) or re.match(r"(?:了)?[，,]?(?:怎么办|吃什么|用什么|怎么治|怎么调理|多久(?:能|会)?好)", text[end:end + 7]) \
                or re.match(r"(?:又|再次|再)?(?:发作|复发|犯了|又犯)(?![^，,。]{0,2}[吗嘛么？?])", text[chain_end:chain_end + 7]) \
                or re.match(r"[^，,。？?]{0,2}(?:吃了|用了|打了|输了|挂了|治了)", text[end:end + 6]):
            # "嗓子发炎了，吃什么药", "呼吸道感染吃了一个月药": being treated for it
            return PRESENT
        if re.search(r"(?:应该|可能|估计|大概)是[^，,。？?吗]{2,6}$", prefix) and re.match(r"(?:的|了)(?![吗吧？?])", text[end:end + 2]):
            return PRESENT  # "应该是吹空调感冒的": the guess is about the cause of a cold the child has
        if _QUESTION_ZH.search(clause_text) or re.search(r"[?？]\s*$", sentence) or _HEDGE_ZH.search(sentence) \
                or re.search(r"[吗嘛](?!啡)", text[end:c_end]):  # "心衰爬不了楼吗是啊": asked, then a word after it
            return UNCERTAIN
    return PRESENT


def _status_en(text: str, start: int, end: int, chain_end: int) -> str:
    s_start, s_end = _sentence_of(text, start, "en")
    sentence = text[s_start:s_end]
    if _negated_en(sentence, start - s_start, end - s_start, chain_end - s_start):
        return ABSENT
    before = sentence[:start - s_start]
    if _HEDGE_EN.search(before[-60:]) or _QUESTION_EN.search(sentence) and not re.search(r"\b(?:i have|i've had|i am|i'm having)\b", before, re.I):
        return UNCERTAIN
    return PRESENT


# ----- cues and readings -----------------------------------------------------------------------------

_CUE_PATTERNS: dict[str, re.Pattern[str]] = {
    "sudden": re.compile(r"突然|忽然|一下子|猛地|骤然|\bsudden|\babrupt|\bacute onset|all of a sudden|out of nowhere", re.I),
    "severe": re.compile(r"剧烈|很厉害|特别厉害|非常厉害|严重|受不了|撕裂|刀割|疼得|痛得|打滚|难以忍受|\bsevere\b|\bexcruciating|\bunbearable|\bworst\b|\bwrithing|\bterrible\b|\bagoni|\bintense", re.I),
    "at_rest": re.compile(r"休息(?:的时候|时)?(?:也|都)|躺着(?:也|都)|坐着(?:也|都)|不动(?:也|都)|静息|\bat rest\b|\bwhile resting\b|\bat night\b|\bwoke? (?:me|him|her)\b", re.I),
    "exertional": re.compile(r"活动|走路|爬楼|上楼|劳累|运动|用力|\bexert|\bon walking\b|\bclimbing\b|\bwhen (?:walking|running|climbing)", re.I),
    "worsening": re.compile(r"越来越|加重|更严重|变重|恶化|\bworsen|\bprogressive|\bgetting worse|\bincreasing", re.I),
    "persistent": re.compile(r"持续|一直(?:在)?(?:疼|痛|喘)|不缓解|不停|\bconstant|\bpersistent|\bcontinuous|\bunrelieved|\bnot relieved", re.I),
    "heavy": re.compile(r"很多|大量|止不住|一大口|一大摊|好多|\ba lot of\b|\bheavy\b|\bheavily\b|\bsoak|\bprofuse|\bpouring", re.I),
}
# The cues a mention can carry (what triage rules may ask for): the patterns above, a past mention, a temperature.
CUE_NAMES = frozenset(_CUE_PATTERNS) | {"past", "temperature"}

_AGE_ZH = [
    (re.compile(r"(\d+(?:\.\d+)?)\s*(?:周岁|岁半?)(?:(?:零|又)?(\d+)\s*个?月)?"), "years"),
    (re.compile(r"(\d+)\s*(?:个)?(?:多)?月(?:大|龄)?(?:的)?(?:宝宝|孩子|小孩|婴儿|宝贝|了)?(?=$|[^\d前后份号底初]*)"), "months"),
    (re.compile(r"(\d+)\s*(?:天|周)(?:大)?的?(?:宝宝|婴儿|新生儿|孩子)"), "days"),
]
_AGE_EN = [
    (re.compile(r"(\d+(?:\.\d+)?)[- ](?:year|yr)s?[- ]old", re.I), "years"),
    (re.compile(r"(\d+)[- ]months?[- ]old", re.I), "months"),
    (re.compile(r"(\d+)[- ](?:weeks?|days?)[- ]old", re.I), "days"),
    (re.compile(r"\b(?:i am|i'm|aged?|he is|she is|he's|she's|(?:son|daughter|child|baby|kid|boy|girl) is)\s+(\d{1,3})\b(?! ?(?:kg|lb|cm|%|months?|weeks?|days?))", re.I), "years"),
]


def extract_age_years(text: str, lang: str) -> float | None:
    t = to_digits(text)
    for pattern, unit in (_AGE_ZH if lang == "zh" else _AGE_EN):
        m = pattern.search(t)
        if not m:
            continue
        value = float(m.group(1))
        if unit == "years":
            extra = float(m.group(2)) / 12 if m.lastindex and m.lastindex >= 2 and m.group(2) else 0.0
            if "岁半" in m.group(0):
                extra = 0.5
            if 0 <= value <= 120:
                return round(value + extra, 2)
        elif unit == "months":
            if lang == "zh" and not re.search(r"月(?:大|龄|的(?:宝宝|孩子|小孩|婴儿|宝贝)|的?宝宝|的?孩子|的?婴儿|了)", m.group(0) + t[m.end():m.end() + 2]):
                continue
            if 0 <= value <= 36:
                return round(value / 12, 2)
        elif unit == "days":
            factor = 7 if re.search(r"周|week", m.group(0), re.I) else 1
            return round(value * factor / 365, 3)
    if lang == "en" and re.search(r"\bnewborn\b", text, re.I):
        return 0.02
    if lang == "zh" and re.search(r"新生儿", text):
        return 0.02
    return None


def _temperature_en(text: str) -> float | None:
    t = to_digits(text)
    values = []
    for m in re.finditer(r"(?<![\d.])(\d{2,3}(?:\.\d)?)\s*(°\s*[CF]?|degrees?\s*[cf]?\w*|℃|F\b|C\b)?", t, re.I):
        value = float(m.group(1))
        unit = (m.group(2) or "").lower()
        before = t[max(0, m.start() - 40):m.start()].lower()
        temp_context = re.search(r"temperature|temp\b|fever|febrile|pyrex|high as|to\s*$", before)
        if not unit and not temp_context:
            continue
        if unit.startswith("°") and "c" in unit or "℃" in unit or unit.endswith("c") or (not unit and 35 <= value <= 42.5):
            celsius = value
        elif 93 <= value <= 110:
            celsius = (value - 32) * 5 / 9
        else:
            continue
        if 34 <= celsius <= 43:
            values.append(round(celsius, 1))
    return max(values) if values else None


def extract_vitals(text: str, lang: str) -> dict[str, Any]:
    """Readings in the words: temperature_c, spo2, heart_rate, resp_rate, systolic/diastolic, pain_score,
    age_years, weight_kg. Only numbers with a unit or a label count."""
    t = to_digits(normalize(text))
    vitals: dict[str, Any] = {}
    if lang == "zh":
        temps = [v for v, _, _ in _zh_temperatures(t)]
        if temps:
            vitals["temperature_c"] = max(temps)
        f = re.search(r"(?<![\d.])(9[3-9]|10\d)(?:\.\d)?\s*(?:华氏度|°F|F\b)", t)
        if f and "temperature_c" not in vitals:
            vitals["temperature_c"] = round((float(f.group(0).rstrip("华氏度°F ")) - 32) * 5 / 9, 1)
    else:
        temp = _temperature_en(t)
        if temp is not None:
            vitals["temperature_c"] = temp
    m = re.search(r"(?:血氧|氧饱和度|饱和度|spo2|sao2|o2 sat\w*|oxygen saturation|saturation)[^\d]{0,25}(\d{2,3})\s*(?:%|percent)?", t, re.I)
    if m and 50 <= int(m.group(1)) <= 100:
        vitals["spo2"] = int(m.group(1))
    m = re.search(r"(?:心率|脉搏|心跳|heart rate|pulse|hr)\D{0,12}(\d{2,3})|(\d{2,3})\s*(?:次/分|bpm|beats)", t, re.I)
    if m:
        value = int(m.group(1) or m.group(2))
        if 25 <= value <= 250:
            vitals["heart_rate"] = value
    m = re.search(r"(?:呼吸频率|呼吸(?:\d{2})次|respiratory rate|resp(?:iratory)? rate|breaths? per minute|rr)\D{0,12}(\d{1,2})", t, re.I) or \
        re.search(r"(\d{1,2})\s*breaths?(?:/| per )min", t, re.I)
    if m and 5 <= int(m.group(1)) <= 80:
        vitals["resp_rate"] = int(m.group(1))
    m = re.search(r"(?:血压|bp|blood pressure)\D{0,12}(\d{2,3})\s*(?:/|over|／)\s*(\d{2,3})", t, re.I)
    if m:
        vitals["systolic"], vitals["diastolic"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"(?<![\d.])(\d{1,2})\s*(?:/|out of)\s*10\b|(?:疼痛|痛|疼|pain)[^\d，,。]{0,8}(\d{1,2})\s*分", t, re.I)
    if m:
        value = int(m.group(1) or m.group(2))
        if 0 <= value <= 10:
            vitals["pain_score"] = value
    age = extract_age_years(t, lang)
    if age is not None:
        vitals["age_years"] = age
    m = re.search(r"(\d+(?:\.\d+)?)\s*(?:kg|公斤|千克)", t, re.I)
    if m and 0.5 <= float(m.group(1)) <= 300:
        vitals["weight_kg"] = float(m.group(1))
    else:
        m = re.search(r"(?:体重|重)\D{0,4}(\d+(?:\.\d+)?)\s*斤", t)
        if m:
            vitals["weight_kg"] = round(float(m.group(1)) / 2, 1)
    return vitals


# ----- the public extractor ----------------------------------------------------------------------------

_PAST = re.compile(r"之前|以前|去年|前年|上次|上回|小时候|曾经|得过|有过|患过|几个月前|年前|\bhistory of\b|\bprevious(?:ly)?\b|\bpast\b|\bused to\b|\byears? ago\b", re.I)
_PAST_EN = re.compile(r"(?<!-day )(?<!-week )(?<!-month )(?<!-hour )(?<!-year )\b(?:history of|previous(?:ly)?|past|used to|years ago|as a child|in infancy)\b(?:\s+\w+){0,3}\s*$", re.I)
# An illness said to be over: it was had ("心肌炎已经治好了", "房颤好了两年了"). A symptom that is over is gone.
_CURED_ZH = re.compile(r"^(?:的)?(?:病)?(?:已经|早就|早|都|也|基本|基本上)?(?:治好|痊愈|康复|好)了")
_PRODUCT_AFTER = re.compile(r"^(?:的)?(?:热清|药|帖|颗粒|冲剂|糖浆|口服液|合剂|灵|宁|片|胶囊|贴|针|剂|奶粉|喷雾|栓|散|丸|膏|茶|清(?!楚))")
_PRODUCT_BEFORE = re.compile(r"(?:治|治疗|止|抗|防|预防|消|化|祛|排|吸)$")
_THRESHOLD_AFTER = r"(?:度|℃)?(?:以上|以下|以内|之上|之下|才|就(?:要|得|吃|用|喂)|的话|再(?:吃|用))"
_THRESHOLD_BEFORE = r"(?:超过|高于|低于|不到|不超过|大于|小于|达到)$"
_OTHER_PERSON = re.compile(r"(?:我(?:老)?(?:爸|妈)(?![爸妈])|奶奶|爷爷|姥姥|姥爷|外婆|外公|婆婆|公公|他妈|她妈|孩子妈|宝妈|孩子他爸|爸爸|妈妈|姐姐|哥哥|弟弟|妹妹|家里人|家人|家里|大人|别人|有人|没人|朋友|同学|邻居|老大|大宝|二宝|"
                           r"老公|老婆|同事|大女儿|小女儿|大儿子|小儿子|表姐|表哥|堂姐|堂哥)"
                           r"(?:也|都|最近|之前|前几天|前阵子|前段时间|上周|刚)?(?:有点|有些|得了|得过|有)?$")
# "接触感冒的人", "家里有感冒的宝宝": the illness of someone around the patient
# When the patient speaks for themself, a close relative named as the one who has it (no 也/都, no past) is
# usually a relative asking for the patient ("我爸心衰住院了", "我弟弟房颤", "小女儿室缺"); "我妈也有高血压" stays
# family history.
_PROXY_RELATIVE = re.compile(r"^(?:我(?:老)?(?:爸|妈)|奶奶|爷爷|姥姥|姥爷|外婆|外公|婆婆|公公|爸爸|妈妈|老公|老婆|哥哥|弟弟|姐姐|妹妹|大女儿|小女儿|大儿子|小儿子)"
                             r"(?:最近|刚)?(?:有点|有些|得了|有)?$")
_OTHER_PERSON_AFTER = re.compile(r"^(?:的)(?:人|大人|小朋友|小孩|孩子|宝宝|同学|病人)")
_SELF_PARENT = re.compile(r"(?:^|[，,。\s可但是])我(?:也|自己|本身|最近|之前)?(?:有点|有些|得了)?$")
_PRODUCT_EN = re.compile(r"^\s*(?:medicine|medication|tablets?|pills?|syrup|drops|cream|spray|remed)", re.I)


def _not_about_patient(work: str, start: int, end: int, *, zh: bool, subject: str) -> bool:
    """A drug or product named after a symptom ("感冒药", "退烧贴", "cough syrup"), or another person's illness."""
    if zh:
        if _PRODUCT_AFTER.match(work[end:end + 3]) or _PRODUCT_BEFORE.search(work[max(0, start - 2):start]):
            return True
        before = work[max(0, start - 8):start]
        before = re.split(r"[，,。；;！!？?]", before)[-1]
        other = _OTHER_PERSON.search(before)
        if other and subject == "self" and _PROXY_RELATIVE.search(other.group(0)):
            other = None  # "我妈妈最近胸闷": a relative telling of the patient, not the patient's family history
        if other or _OTHER_PERSON_AFTER.match(work[end:end + 4]):
            return True
        return subject == "child" and bool(_SELF_PARENT.search(before))
    return bool(_PRODUCT_EN.match(work[end:end + 14]))


def extract_mentions(text: str, *, lang: str | None = None, subject: str = "self") -> list[Mention]:
    """Symptom and diagnosis mentions with status, in text order.

    subject: "self" (the patient speaks) or "child" (a parent speaks: "我感冒了" is then the parent)."""
    text = normalize(text or "")
    if not text:
        return []
    lang = lang or text_language(text)
    zh = lang == "zh" or bool(_HAS_ZH.search(text))
    work = to_digits(text) if zh else text
    mentions: list[Mention] = []
    matches = _raw_matches(work, "zh" if zh else "en")
    if zh and re.search(r"[a-zA-Z]{3}", work):
        taken = [(s, e) for _, s, e, _ in matches]
        matches += [m for m in _raw_matches(work, "en") if not any(m[1] < e and s < m[2] for s, e in taken)]
        matches.sort(key=lambda f: f[1])
    # Temperatures become a fever class; a fever word right before the number is the same mention.
    temp_mentions = []
    if zh:
        for value, start, end in _zh_temperatures(work):
            cls = fever_class(value)
            if cls and not any(s <= start < e and n in ("中等度热", "高热", "低热") for n, s, e, _ in matches):
                temp_mentions.append((cls, start, end, value))
    clauses = _clauses_zh(work) if zh else []
    lex = lexicon()
    previous: tuple[str, str, int] | None = None
    for i, (name, start, end, _) in enumerate(matches):
        chain_end = end
        for _, next_start, next_end, _ in matches[i + 1:]:
            if not re.fullmatch(r"[\s、/和或及跟与也都,，]*(?:or|and|nor)?[\s,]*", work[chain_end:next_start]):
                break
            chain_end = next_end
        if zh:
            clause = next(((a, b) for a, b in clauses if a <= start < b), (start, end))
            next_other = next((s for n, s, _, _ in matches[i + 1:] if n != name and s >= chain_end), None)
            status = _status_zh(work, clause, start, end, chain_end, lex.entries[name].kind, next_other)
            # "没有发烧咳嗽", "没有咳嗽和腹泻": a denial runs on over a list in one clause.
            if (status == PRESENT and previous is not None and previous[1] == ABSENT and previous[2] >= clause[0]
                    and re.fullmatch(r"[\s、/和或及跟与,]*(?:或者|还有|以及)?", work[previous[2]:start])):
                status = ABSENT
        else:
            status = _status_en(work, start, end, chain_end)
        if zh and re.search(r"(?:治|治疗|预防|适用|适合|用于)$", work[max(0, start - 2):start]):
            status = UNCERTAIN  # "治流鼻涕的药": a drug given for it says it may be there, not that it is
        elif _not_about_patient(work, start, end, zh=zh, subject=subject):
            continue
        item = lex.entries[name]
        if name in ("发热",) and any(0 <= s - end <= 2 for _, s, _, _ in temp_mentions) and status == PRESENT:
            continue  # "发烧39度": the class mention stands for it
        sentence = work[slice(*_sentence_of(work, start, "zh" if zh else "en"))]
        cues = {cue: True for cue, pattern in _CUE_PATTERNS.items() if pattern.search(sentence)}
        if (_PAST.search(work[max(0, start - 12):start]) if zh else _PAST_EN.search(work[max(0, start - 40):start])):
            cues["past"] = True
        if zh and item.kind == "disease" and status == ABSENT and (
                _CURED_ZH.match(work[chain_end:chain_end + 10])
                or re.search(r"(?:就|已经|早就|都)(?:没有|没)[^，,。？?]{0,8}$", work[clause[0]:start]) and re.match(r"了", work[chain_end:chain_end + 1])):
            # "心肌炎已经好了", "房颤治好了", "昨天就没有感冒了": an illness had and over — history, not a denial
            status, cues["past"] = PRESENT, True
        mentions.append(Mention(name=name, status=status, start=start, end=end, text=work[start:end], code=item.code,
                                kind=item.kind, en=item.en, cues=cues))
        previous = (name, status, end)
    for cls, start, end, value in temp_mentions:
        reading = re.search(r"(?:烧|热|体温)(?:到|了|在|都)?$", work[max(0, start - 3):start])  # "烧到39度以上" was measured
        if not reading and re.match(_THRESHOLD_AFTER, work[end:end + 4]) or re.search(_THRESHOLD_BEFORE, work[max(0, start - 4):start]):
            continue  # "超过39度才能用", "38.5以上再吃": a threshold, not a reading
        clause = next(((a, b) for a, b in clauses if a <= start < b), (start, end))
        status = _status_zh(work, clause, start, end, end)
        item = lex.entries[cls]
        mentions.append(Mention(name=cls, status=status, start=start, end=end, text=work[start:end], code=item.code,
                                kind=item.kind, en=item.en, cues={"temperature": value}))
    mentions.sort(key=lambda m: m.start)
    return mentions


def aggregate(mentions: list[Mention] | list[tuple[str, str]]) -> dict[str, str]:
    """name → status over many mentions: present beats absent beats uncertain."""
    out: dict[str, str] = {}
    for item in mentions:
        name, status = (item.name, item.status) if isinstance(item, Mention) else item
        if name not in out or STATUS_RANK[status] < STATUS_RANK[out[name]]:
            out[name] = status
    return out


_ACK_ZH = re.compile(r"^(?:好+的?|好+吧|行+|可以|谢谢|知道了|明白了?|收到|ok|okay)(?:[，,。！!~～\s]*(?:谢谢|好的|医生|大夫)?)*[。！!~～]*$", re.I)
_YES_SOME_ZH = re.compile(r"^(?:嗯|恩|是|是的|对|对的|有|有的|有啊|有点|有一点|有一点点|有些|偶尔|偶尔有|一点点|会|会的|还有|一直有|经常|"
                          r"(?:也|都|还)(?:会|有)|稍微|轻微|一点(?:$|[儿吧啊的，,。]))")
_NO_ZH = re.compile(r"^(?:没|没有|无|不|不会|没呢|都没有|都没|一直没有|没发现|没见|没看到|没注意到|还没有|从来没|"
                    r"(?:一点|一次|根本|完全|几乎|基本上?)(?:都|也)?(?:没|不)|感觉不到|没(?:有)?感觉到)")
# What opens a reply before the answer itself: an address ("医生，没有"), a filler ("哦，有的"), or the thing
# asked about pointed at ("这个倒没有", "以上都没有", "这些症状都没有").
ADDRESS_ZH = re.compile(r"^(?:(?:医生|大夫|主任|您好|你好|谢谢(?:您|你)?(?:医生|大夫)?|哦+|噢+|额+|呃+|啊+)[，,、\s！!。~～]*)+")
_POINTED_ZH = re.compile(r"^(?:这个|这些|那个|那些|以上|上面的?|上述|这种|那种|这样的?)+(?:症状|情况|问题)?(?:的话)?(?=(?:倒是?|也|都|还|倒也)?(?:没|不|有|会))")


# "疼", "有点闷", "晕得很": the reply repeats the feeling the question asked about — a yes. "不怎么疼", "不太晕":
# little of it, but there (as _MILD_NEG_ZH reads a mention). A bare "不疼" is a no through _NO_ZH.
_FEELING_ZH = r"(?:疼|痛|闷|晕|慌|肿|喘|累|胀|涨|麻|酸|抖|咳|憋|难受)"
_ECHO_YES_ZH = re.compile(r"^(?:一直|都|也)?(?:有点|有些|有一点|很|挺|蛮|比较|特别|还是|会|经常|老|总|偏)?(?:" + _FEELING_ZH[3:-1] + r"|高)"
                          r"(?:的|了|啊|呀|呢|得很|得厉害)?[。！!~～]*$")  # "偏高", "一直很高": a yes to "血压高吗？"
# "正常", "都正常", "挺正常的": nothing wrong with what was asked — a no ("血压高吗？" "还正常").
_NORMAL_ZH = re.compile(r"^(?:都|也|还|挺|很|基本|基本上|一直|还算)*正常(?:的|啊|呢|吧)?[。！!~～]*$")
_ECHO_MILD_ZH = re.compile(r"^(?:不怎么|没怎么|不太|不大|不是很|不是太|不那么)" + _FEELING_ZH)
# "现在没有了", "以前有", "这几天有点": when the answer holds, said before the yes or no.
_WHEN_ZH = re.compile(r"^(?:现在|目前|最近|近来|这几天|这两天|这段时间|平时|平常|一般|之前|以前|前几天|前段时间|那时候|那会儿?)(?:倒是?|也|都|还|的话)?[，,\s]*")
_NOT_TESTED_ZH = re.compile(r"^(?:还|都|也)?(?:没|没有|未)(?:去)?(?:查|检查|测|量|做|化验|验|筛查)")
_OTHER_ACTION_ZH = re.compile(r"^(?:还|都|也)?(?:没|没有|未)(?:去)?(?:装|吃|用|打|放|住|戴|买|拿|去)")
# "吸烟有", "喝酒没有": a topic named, then the yes/no that goes with it.
# The topics are the habits and history a doctor asks about alongside symptoms.
_TOPIC_ANSWER_ZH = re.compile(r"^(?:吸烟|抽烟|烟|喝酒|饮酒|酒|熬夜|运动|锻炼|吃药|药|家族史|过敏|手术|家里人|家人)(?:的话|呢)?(?:也|都|倒是?)?(?:有|没有|没|不)[。！!~～]*$")


def answer_status(reply: str, *, lang: str) -> str | None:
    """The status a bare reply gives to the symptom a question named, or None when it does not say."""
    t = normalize(reply)
    if not t:
        return None
    if re.search(r"不确定|不知道|不清楚|说不好|说不准|说不清|说不上来|不好说|不太清楚|不晓得|不记得|记不得|记不清|好像|可能|也许|没(?:太|怎么|有)?(?:注意|留意)|not sure|maybe|don'?t know|perhaps|possibly", t, re.I):
        return UNCERTAIN
    if _ACK_ZH.match(t):
        return None  # "好的", "可以", "谢谢": an acknowledgment, no answer to "有没有胸闷？"
    if lang == "zh" or _HAS_ZH.search(t):
        t = ADDRESS_ZH.sub("", t)
        if not t:
            return None  # "医生您好": a greeting, no answer
        t = _POINTED_ZH.sub("", t)
        t = re.sub(r"^(?:倒是?|也|都|还|倒也)(?=没|不)", "", t)  # "(这个)倒没有", "(以上)都没有"
        when = _WHEN_ZH.match(t)
        core = t[when.end():] if when and when.end() < len(t) else t  # "现在没有了" answers as "没有了" does
        if re.match(r"^(?:现在|已经|早就|都|也)*好(?:了|啦)[。！!~～]*$", t):
            return None  # "好了": gone, or only "OK" — never a yes to "还胸闷吗？"
        if _ECHO_YES_ZH.match(core) or _ECHO_MILD_ZH.match(core):
            return PRESENT
        if _NORMAL_ZH.match(core):
            return ABSENT
        if _YES_SOME_ZH.match(core) and not re.match(r"^有没有", core):
            return PRESENT
        if _NOT_TESTED_ZH.match(core):
            return UNCERTAIN  # "没查过": nobody knows — unknown is never recorded as no
        if _OTHER_ACTION_ZH.match(core):
            return None  # "没有装那个", "没吃": a no about the action asked beside the symptom
        if _NO_ZH.match(core):
            return ABSENT
        if _TOPIC_ANSWER_ZH.match(t):
            return None  # "吸烟有": a yes about the topic it names (smoking), not about the symptom asked with it
        if len(t) > 4:
            return None  # "休息好转" is no answer to "does it spread to your arm?"
    value = parse_yes_no(t, lang).value
    return {"yes": PRESENT, "no": ABSENT, "uncertain": UNCERTAIN}.get(value)
