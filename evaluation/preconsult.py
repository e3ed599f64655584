"""`suifang eval preconsult`: symptom extraction on real paediatric dialogues, triage on vignettes.

Symptoms (CMDD, ../shared/data/cmdd-dialogue-symptoms/cmdd_test.jsonl, read in place):
- Gold, per dialogue: the (normalised name, status) pairs annotated on the *patient-side* utterances
  (speaker 患者), with status 1 present / 2 absent / 3 uncertain, aggregated with priority
  1 > 2 > 3 as SOURCE.md suggests.
- Prediction: dialogs.findings.extract_mentions on the same patient utterances (subject = a parent
  speaking about a child, so "我感冒了" is the parent), aggregated the same way. A diagnosis the parent
  names as past history ("去年得过肺炎") is scored as uncertain, CMDD's convention for a diagnosis not
  established for the current illness. Names outside CMDD's label set (our adult red-flag symptoms)
  cannot be scored and are left out.
- `symptom_f1` is the micro F1 over (dialogue, name, status) triples of that setting.
- Doctor questions answered "有/没有": reported separately as `symptom_f1_with_questions`. There a
  doctor utterance that asks (ends in 吗/呢/？, or says 有没有/有无/是否) and is answered at once by a
  short patient reply carrying no annotation of its own adds the doctor's annotated pairs to the gold,
  and the reply's yes/no/unsure (dialogs.findings.answer_status) applied to the symptoms our extractor
  finds in the question adds to the prediction. CMDD's annotators give doctor-side pairs their own
  reading of the whole dialogue, so this figure is noisier; the patient-side figure is the headline.

Held-out check (DXY, ../shared/data/dxy-dialogue-symptoms/dxy_test.json, 104 real parent-written
self-reports): the status rules were developed by reading CMDD errors, so `dxy_self_report_f1` scores the
same extractor on text it was not tuned on — present symptoms found in each self-report against its
`explicit_inform_slots`, over the DXY names our lexicon can express (DXY_NAMES maps them). DXY's slots
are sparse (a true mention is often unlisted), so its precision is a floor.

Adult cardiology (MIE, ../shared/data/mie-cardiology-dialogue/dev.json, 160 real online consultations,
read in place). MIE labels sliding windows of five utterances; each window is annotated on its own with
"category:item-状态:status" facts. The mapping scored here:
- Only category 症状 (symptoms and the diagnoses a patient names: 胸闷, 心慌, 高血压, 房颤, …); tests
  (检查), operations (手术) and general information (一般信息) are not findings of ours.
- Only patient-side statuses: 阳性 → present, 阴性 → absent, 未知 → uncertain. 医生阳性 / 医生阴性 are
  the doctor's verdict, not what the patient says, and are left out.
- A label belongs to the utterance whose window first carries it (absent from the window before); it
  is gold when that utterance is the patient's. A bare reply ("没有") to a doctor's question carries
  the label of the symptom asked about, as MIE annotates it. Per dialogue the (item, status) pairs are
  aggregated with priority present > absent > uncertain, as for CMDD.
- Prediction: extract_mentions on every patient utterance (subject = the patient: MIE's patients are
  adults, or a relative who says who is ill), plus answers: a patient utterance that answers yes/no/unsure
  (answer_status of its first clause when that names no finding itself, or of a later sentence that is
  only an answer word) right after a doctor's question gives that status
  to the symptoms our extractor finds in the question and the patient's words do not name themselves.
  "The question" is the doctor's sentences that ask (as _MIE_DOCTOR_QUESTION reads them: CMDD's pattern, and also a
  choice without a question mark "腿肿不肿", a 吗 mid-sentence, "有X没"), not the statements around them
  ("如果没有胸闷胸痛就没意义。现在有什么症状吗？" — "没有" denies no chest pain); a sentence also ends at ～ and ….
  A reply may open with an address ("医生，没有").
  Our names map to MIE items by MIE_NAMES; names without an MIE item are not scored; an MIE item we
  cannot express counts as missed. Where our lexicon splits finer than MIE, the map follows MIE's own synonym list
  (example_dict.json): a fast heart (心跳快) is under 心律不齐 there, a racing or pounding one (心慌) under 心慌.
- Split: the 160 dev dialogues are split 50/50 by dialogue index (sorted by sha256 of "mie-dev:<index>",
  first 80 = tune, rest = check) before any rule was changed for MIE; rules were tuned by reading errors
  of the tune half only; the check half is held out. `mie_f1` is the whole dev split.

Triage (../shared/data/triage-vignettes/semigran_vignettes.jsonl, 45 English vignettes, gold em/ne/sc):
each vignette is read as one patient message (picture_from_text) and triaged by the rules (the
language model only with --llm): emergency → em, urgent or routine → ne, self-care → sc.
`emergencies_under_triaged` counts gold em cases we did not call emergency."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from dialogs.findings import ADDRESS_ZH, PRESENT, UNCERTAIN, aggregate, answer_status, extract_mentions
from dialogs.triage import picture_from_text, triage

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CMDD_PATH = SHARED_DATA / "cmdd-dialogue-symptoms" / "cmdd_test.jsonl"
VIGNETTES_PATH = SHARED_DATA / "triage-vignettes" / "semigran_vignettes.jsonl"
DXY_PATH = SHARED_DATA / "dxy-dialogue-symptoms" / "dxy_test.json"
MIE_PATH = SHARED_DATA / "mie-cardiology-dialogue" / "dev.json"
MIE_STATUS = {"阳性": "present", "阴性": "absent", "未知": "uncertain"}
# MIE symptom item → our names. MIE items without a name of ours count as missed.
MIE_NAMES: dict[str, tuple[str, ...]] = {
    "心慌": ("心悸",), "背痛": ("腰背痛",), "头晕": ("头晕",), "呃逆": ("呃逆",),
    "腹部不适": ("腹痛", "腹部不适", "腹泻", "稀便", "水样便", "腹胀", "肠痉挛"), "高血压": ("高血压",),
    "呼吸困难": ("呼吸困难", "喘息", "呼吸深快", "粗糙呼吸音"), "胸闷": ("胸闷",), "恶心": ("恶心", "干呕"), "呕吐": ("呕吐",),
    "胸痛": ("胸痛",), "乏力": ("乏力", "肢体无力"), "出汗": ("出汗", "出汗多"), "发热": ("发热", "低热", "中等度热", "高热", "自觉发热"),
    "晕厥": ("晕厥",), "感冒": ("普通感冒", "病毒性感冒", "流行性感冒", "肠胃型感冒"), "咳嗽": ("咳嗽", "干咳", "咳痰", "痰"),
    "流涕": ("鼻流涕",), "头痛": ("头痛",), "发绀": ("口周发青",), "糖尿病": ("糖尿病",), "贫血": ("贫血", "地中海贫血"),
    "水肿": ("腿肿", "水肿"), "心肌炎": ("心肌炎",), "冠心病": ("冠心病",), "心衰": ("心力衰竭",), "房颤": ("心房颤动",),
    "心绞痛": ("心绞痛",), "心肌梗死": ("心肌梗死",), "心肌缺血": ("心肌缺血",), "心律不齐": ("心律不齐", "心跳快"), "早搏": ("早搏",),
    "先天性心脏病": ("先天性心脏病",), "胃部不适": ("胃部不适", "消化不良"), "行动不便": ("行动不便",), "战栗抽搐": ("震颤", "抽搐", "惊厥", "热惊厥"), "僵硬": ("麻木",), "室间隔缺损": ("室间隔缺损",), "房间隔缺损": ("房间隔缺损",), "心肌病": ("心肌病",),
    "心脏肥大": ("心脏肥大",), "甲亢": ("甲亢",), "高血脂": ("高血脂",), "高血糖": ("高血糖",), "休克": ("休克",),
}
CMDD_STATUS = {"1": "present", "2": "absent", "3": "uncertain"}
# DXY's normalised name → ours. DXY names without an entry (揉眼睛, 吐泡泡, 流口水, …) are not scored.
DXY_NAMES: dict[str, tuple[str, ...]] = {
    "咳嗽": ("咳嗽", "干咳"), "发烧": ("发热", "低热", "中等度热", "高热", "自觉发热"), "流涕": ("鼻流涕",),
    "咳痰": ("咳痰", "痰"), "鼻塞": ("鼻塞",), "呕吐": ("呕吐", "干呕"), "稀便": ("稀便", "水样便", "腹泻", "糊状便"),
    "皮疹": ("皮疹", "湿疹", "荨麻疹"), "烦躁不安": ("哭闹", "烦躁"), "打喷嚏": ("打喷嚏",), "疱疹": ("疱疹",),
    "厌食": ("厌食", "食欲不振"), "精神萎靡": ("精神软", "嗜睡"), "咽部不适": ("咽喉不适",), "呼吸困难": ("呼吸困难",),
    "喘气": ("喘息",), "蛋花样便": ("蛋花汤样便",), "腹痛": ("腹痛",), "抽搐": ("抽搐", "惊厥"), "过敏": ("过敏",),
    "绿便": ("绿便",), "放屁": ("屁",), "肚子咕噜叫": ("肠鸣音",), "反胃": ("恶心",), "盗汗": ("出汗多",),
}
TRIAGE_MAP = {"emergency": "em", "urgent": "ne", "routine": "ne", "self_care": "sc"}
_DOCTOR_QUESTION = re.compile(r"(?:[吗嘛呢么][？?]?|[？?])\s*$|有没有|有无|是否")
# MIE: also a choice question with no question mark ("腿肿不肿", "晕不晕"). For CMDD the question pattern also picks
# which doctor-side labels join the gold, so its figure keeps the pattern it was defined with; for MIE the gold
# does not depend on it, only which replies we read as answers.
_MIE_DOCTOR_QUESTION = re.compile(_DOCTOR_QUESTION.pattern + r"|(?!时不时)(.)[不没]\1|[吗嘛](?=[，,、\s])|有[^，,。？?]{1,8}没有?\s*$")


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def _merge(target: dict[str, str], name: str, status: str) -> None:
    order = ("present", "absent", "uncertain")
    if name not in target or order.index(status) < order.index(target[name]):
        target[name] = status


def _patient_pairs(sentence: str) -> list[tuple[str, str]]:
    pairs = []
    for m in extract_mentions(sentence, lang="zh", subject="child"):
        status = m.status
        if m.kind == "disease" and m.cues.get("past") and status == PRESENT:
            status = UNCERTAIN
        pairs.append((m.name, status))
    return pairs


def evaluate_cmdd(path: Path = CMDD_PATH) -> dict[str, Any]:
    dialogues = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    labels = {n for d in dialogues for u in d["dialogue-content"] for n in u.get("normalized", [])}
    counts = {"patient": Counter(), "name_only": Counter(), "with_questions": Counter()}
    started = time.perf_counter()
    utterances = 0
    for d in dialogues:
        turns = d["dialogue-content"]
        gold: dict[str, str] = {}
        gold_q: dict[str, str] = {}
        pred: list[tuple[str, str]] = []
        pred_q: list[tuple[str, str]] = []
        for i, u in enumerate(turns):
            if u["speaker"] == "患者":
                utterances += 1
                for name, kind in zip(u.get("normalized", []), u.get("type", [])):
                    _merge(gold, name, CMDD_STATUS[kind])
                pred += _patient_pairs(u["sentence"])
            elif (i + 1 < len(turns) and turns[i + 1]["speaker"] == "患者" and _DOCTOR_QUESTION.search(u["sentence"])
                  and not turns[i + 1].get("normalized") and len(turns[i + 1]["sentence"]) <= 15):
                for name, kind in zip(u.get("normalized", []), u.get("type", [])):
                    _merge(gold_q, name, CMDD_STATUS[kind])
                status = answer_status(turns[i + 1]["sentence"], lang="zh")
                if status is not None:
                    pred_q += [(m.name, status) for m in extract_mentions(u["sentence"], lang="zh", subject="child")]
        predicted = {n: s for n, s in aggregate(pred).items() if n in labels}
        _count(counts["patient"], set(predicted.items()), set(gold.items()))
        _count(counts["name_only"], set(predicted), set(gold))
        merged_gold = dict(gold)
        for name, status in gold_q.items():
            _merge(merged_gold, name, status)
        merged_pred = {n: s for n, s in aggregate(pred + pred_q).items() if n in labels}
        _count(counts["with_questions"], set(merged_pred.items()), set(merged_gold.items()))
    elapsed = time.perf_counter() - started
    out = {"dialogues": len(dialogues), "patient_utterances": utterances, "label_set": len(labels),
           "utterances_per_second": round(utterances / elapsed, 1) if elapsed else None}
    for key, c in counts.items():
        out[key] = {**_prf(c["tp"], c["fp"], c["fn"]), "tp": c["tp"], "fp": c["fp"], "fn": c["fn"]}
    return out


def _count(counter: Counter, pred: set, gold: set) -> None:
    counter["tp"] += len(pred & gold)
    counter["fp"] += len(pred - gold)
    counter["fn"] += len(gold - pred)


def evaluate_dxy(path: Path = DXY_PATH) -> dict[str, Any]:
    ours_to_dxy = {ours: dxy for dxy, names in DXY_NAMES.items() for ours in names}
    records = json.loads(path.read_text(encoding="utf-8"))
    counts: Counter = Counter()
    for record in records:
        gold = {name for name, present in record["goal"]["explicit_inform_slots"].items() if present and name in DXY_NAMES}
        found = aggregate(extract_mentions(record["self_repo"], lang="zh", subject="child"))
        predicted = {ours_to_dxy[name] for name, status in found.items() if status == PRESENT and name in ours_to_dxy}
        _count(counts, predicted, gold)
    return {"records": len(records), **_prf(counts["tp"], counts["fp"], counts["fn"]),
            "tp": counts["tp"], "fp": counts["fp"], "fn": counts["fn"]}


def mie_split(n: int) -> tuple[list[int], list[int]]:
    """MIE dev dialogue indices → (tune, check): sorted by sha256("mie-dev:<index>"), first half tunes."""
    order = sorted(range(n), key=lambda i: hashlib.sha256(f"mie-dev:{i}".encode()).hexdigest())
    return sorted(order[:n // 2]), sorted(order[n // 2:])


def _mie_turns(dialogue: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, str]]]:
    """(speaker, text, {item: status}) per utterance; labels are those the utterance's window adds."""
    turns = []
    previous: set[str] = set()
    for window in dialogue:
        current = set(window["label"])
        speaker, _, text = window["utterances"][-1].partition(":")
        labels: dict[str, str] = {}
        for label in current - previous:
            category, _, rest = label.partition(":")
            item, _, status = rest.partition("-状态:")
            if category == "症状" and status in MIE_STATUS:
                _merge(labels, item, MIE_STATUS[status])
        turns.append((speaker, text, labels))
        previous = current
    return turns


def _first_clause(text: str) -> str:
    return re.split(r"[，,。.！!？?；;～~\s]", text.strip(), maxsplit=1)[0]


def _bare_answer(text: str) -> str | None:
    """The yes/no/unsure of a reply: its first clause, or a later sentence that opens with nothing but an answer
    ("正中、手撑大小。没有" answers "where? … any nausea?" in order; so does "…。没有，不过…"). A clause naming a finding itself
    ("就是房颤") is a statement, not a bare answer."""
    text = ADDRESS_ZH.sub("", text.strip())  # "医生，没有": the answer follows the address
    first = _first_clause(text)
    if first and not extract_mentions(first, lang="zh"):
        status = answer_status(first, lang="zh")
        if status is not None:
            return status
    for sentence in re.split(r"[。！!？?；;\s]+", text.strip())[1:]:
        opening = _first_clause(sentence)  # "我爸高血压。没有，不过有时候很累": the answer opens the second sentence
        if opening and len(opening) <= 4 and not extract_mentions(opening, lang="zh"):
            status = answer_status(opening, lang="zh")
            if status is not None:
                return status
    return None


def _questions_asked(text: str) -> str:
    """The sentences of a doctor's turn that ask something: a yes/no answers those, not the doctor's statements
    ("…如果没有胸闷胸痛，是没有意义的。您现在有什么症状吗？" — "没有" denies no chest pain)."""
    sentences = re.findall(r"[^。！!？?；;～~…\n]+[。！!？?；;～~…\n]*", text)
    asked = [s for s in sentences if _MIE_DOCTOR_QUESTION.search(s.strip())]
    return "".join(asked) if asked else text


def mie_dialogue(dialogue: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    """(gold, predicted) item → status for one MIE dialogue, patient side."""
    ours_to_mie = {ours: item for item, names in MIE_NAMES.items() for ours in names}
    turns = _mie_turns(dialogue)
    gold: dict[str, str] = {}
    pred: list[tuple[str, str]] = []
    for i, (speaker, text, labels) in enumerate(turns):
        if speaker != "患者":
            continue
        for item, status in labels.items():
            _merge(gold, item, status)
        own = [(m.name, m.status) for m in extract_mentions(text, lang="zh", subject="self")]
        pred += own
        if i and turns[i - 1][0] == "医生" and _MIE_DOCTOR_QUESTION.search(turns[i - 1][1]):
            status = _bare_answer(text)
            if status is not None:
                named = {ours_to_mie.get(n) for n, _ in own}
                pred += [(m.name, status) for m in extract_mentions(_questions_asked(turns[i - 1][1]), lang="zh", subject="self")
                         if ours_to_mie.get(m.name) not in named]
    predicted: dict[str, str] = {}
    for name, status in pred:
        if name in ours_to_mie:
            _merge(predicted, ours_to_mie[name], status)
    return gold, predicted


def evaluate_mie(path: Path = MIE_PATH) -> dict[str, Any]:
    dialogues = json.loads(path.read_text(encoding="utf-8"))
    tune, check = mie_split(len(dialogues))
    out: dict[str, Any] = {"dialogues": len(dialogues), "items": len(MIE_NAMES)}
    for part, ids in (("tune", tune), ("check", check), ("all", range(len(dialogues)))):
        counts: Counter = Counter()
        for i in ids:
            gold, predicted = mie_dialogue(dialogues[i])
            _count(counts, set(predicted.items()), set(gold.items()))
        out[part] = {**_prf(counts["tp"], counts["fp"], counts["fn"]), "tp": counts["tp"], "fp": counts["fp"],
                     "fn": counts["fn"], "dialogues": len(ids)}
    return out


def evaluate_triage(path: Path = VIGNETTES_PATH, *, llm: Any = None) -> dict[str, Any]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    confusion: Counter = Counter()
    results = []
    for i, row in enumerate(rows):
        picture = picture_from_text(row["case_description"], lang="en")
        result = triage(picture, llm=llm)
        got = TRIAGE_MAP[result.level]
        gold = row["urgency_level"]
        confusion[(gold, got)] += 1
        results.append({"index": i, "gold": gold, "predicted": got, "level": result.level,
                        "reasons": [r.code for r in result.reasons[:3]]})
    order = {"sc": 0, "ne": 1, "em": 2}
    correct = sum(v for (g, p), v in confusion.items() if g == p)
    return {
        "vignettes": len(rows),
        "accuracy": round(correct / len(rows), 4) if rows else 0.0,
        "emergencies": sum(v for (g, _), v in confusion.items() if g == "em"),
        "emergencies_under_triaged": sum(v for (g, p), v in confusion.items() if g == "em" and p != "em"),
        "under_triaged": sum(v for (g, p), v in confusion.items() if order[p] < order[g]),
        "over_triaged": sum(v for (g, p), v in confusion.items() if order[p] > order[g]),
        "confusion": {f"{g}->{p}": v for (g, p), v in sorted(confusion.items())},
        "mistakes": [r for r in results if r["gold"] != r["predicted"]],
    }


def run_preconsult_eval(*, cmdd_path: Path = CMDD_PATH, vignettes_path: Path = VIGNETTES_PATH, dxy_path: Path | None = DXY_PATH,
                        mie_path: Path | None = MIE_PATH, llm: Any = None) -> dict[str, Any]:
    symptoms = evaluate_cmdd(cmdd_path)
    held_out = evaluate_dxy(dxy_path) if dxy_path is not None and dxy_path.exists() else None
    mie = evaluate_mie(mie_path) if mie_path is not None and mie_path.exists() else None
    triage_report = evaluate_triage(vignettes_path, llm=llm)
    return {
        "symptom_f1": symptoms["patient"]["f1"],
        "symptom_precision": symptoms["patient"]["precision"],
        "symptom_recall": symptoms["patient"]["recall"],
        "symptom_f1_name_only": symptoms["name_only"]["f1"],
        "symptom_f1_with_questions": symptoms["with_questions"]["f1"],
        "dialogues": symptoms["dialogues"],
        "dxy_self_report_f1": held_out["f1"] if held_out else None,
        "mie_f1": mie["all"]["f1"] if mie else None,
        "mie_tune_f1": mie["tune"]["f1"] if mie else None,
        "mie_check_f1": mie["check"]["f1"] if mie else None,
        "triage_accuracy": triage_report["accuracy"],
        "emergencies_under_triaged": triage_report["emergencies_under_triaged"],
        "emergencies": triage_report["emergencies"],
        "under_triaged": triage_report["under_triaged"],
        "over_triaged": triage_report["over_triaged"],
        "vignettes": triage_report["vignettes"],
        "details": {"symptoms": symptoms, "triage": triage_report, "held_out": held_out, "mie": mie},
    }


def format_preconsult_report(report: dict[str, Any]) -> str:
    s = report["details"]["symptoms"]
    t = report["details"]["triage"]
    lines = [
        f"symptoms (CMDD test, {s['dialogues']} dialogues, {s['patient_utterances']} patient utterances, {s['label_set']} labels)",
        f"  (name, status), patient side:   P {s['patient']['precision']:.3f}  R {s['patient']['recall']:.3f}  F1 {s['patient']['f1']:.3f}"
        f"   (tp {s['patient']['tp']}, fp {s['patient']['fp']}, fn {s['patient']['fn']})",
        f"  name only, patient side:        P {s['name_only']['precision']:.3f}  R {s['name_only']['recall']:.3f}  F1 {s['name_only']['f1']:.3f}",
        f"  (name, status), with Q->A:      P {s['with_questions']['precision']:.3f}  R {s['with_questions']['recall']:.3f}  F1 {s['with_questions']['f1']:.3f}",
        f"  speed: {s['utterances_per_second']} utterances/s",
    ]
    h = report["details"].get("held_out")
    if h:
        lines.append(f"held-out check (DXY self-reports, {h['records']}, present symptoms): P {h['precision']:.3f}  R {h['recall']:.3f}"
                     f"  F1 {h['f1']:.3f}   (tp {h['tp']}, fp {h['fp']}, fn {h['fn']})")
    m = report["details"].get("mie")
    if m:
        lines.append(f"symptoms (MIE cardiology dev, adults, {m['dialogues']} dialogues; (name, status), patient side incl. answers)")
        for part, what in (("tune", "tune half"), ("check", "check half, held out"), ("all", "whole dev")):
            r = m[part]
            lines.append(f"  {what + ':':23s}P {r['precision']:.3f}  R {r['recall']:.3f}  F1 {r['f1']:.3f}"
                         f"   (tp {r['tp']}, fp {r['fp']}, fn {r['fn']}; {r['dialogues']} dialogues)")
    lines += [
        f"triage (Semigran, {t['vignettes']} vignettes)",
        f"  accuracy {t['accuracy']:.3f}   emergencies under-triaged {t['emergencies_under_triaged']}/{t['emergencies']}"
        f"   under-triaged {t['under_triaged']}   over-triaged {t['over_triaged']}",
        "  confusion (gold->predicted): " + ", ".join(f"{k} {v}" for k, v in t["confusion"].items()),
    ]
    for m in t["mistakes"]:
        lines.append(f"  vignette {m['index']:2d}: gold {m['gold']} predicted {m['predicted']} ({m['level']}; {', '.join(m['reasons']) or 'no rule'})")
    return "\n".join(lines)
