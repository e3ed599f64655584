"""`suifang eval understanding`: labelled patient answers (evaluation/data/understanding/) played
one at a time through the real follow-up engine, scored field by field and flag by flag.

Each item becomes a one-question call: the engine asks the item's field, the patient says the
item's text once, and what the engine then holds is compared with the label (FORMAT.md). An answer
the engine asks again about is "unclear". Flags are the engine's own (rules, plus the model's
additions when it is on); `flag` in an item is the highest level that one answer must raise."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).parent / "data" / "understanding"
LEVELS = ("none", "yellow", "red")


class CorpusError(ValueError):
    pass


@dataclass
class ItemResult:
    id: str
    field: str
    lang: str
    correct: bool
    expected: Any
    got: Any
    expected_flag: str
    got_flag: str
    denial: bool
    latency_ms: float
    text: str = ""
    flags: list[dict[str, Any]] = field(default_factory=list)


def load_items(paths: list[Path]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for path in paths:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise CorpusError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, list):
            raise CorpusError(f"{path}: a corpus file is a YAML list of items")
        for i, item in enumerate(data):
            missing = [k for k in ("id", "lang", "field", "text", "expect") if k not in item]
            if missing:
                raise CorpusError(f"{path}: item #{i} lacks {', '.join(missing)}")
            items.append(item)
    return items


def split_files(split: str, directory: Path = DATA_DIR) -> list[Path]:
    files = sorted(directory.glob(f"{split}-*.yaml"))
    if not files:
        raise CorpusError(f"no corpus files for split {split!r} in {directory}")
    return files


# ----- one answer through the engine ----------------------------------------------------------------

class _Harness:
    """Builds a one-step call for an item and runs the answer through FollowupEngine."""

    def __init__(self, *, use_llm: bool, settings: Any, use_embeddings: bool = True) -> None:
        from dialogs.flows import load_flows

        self.settings = settings
        self.library = load_flows()
        # The generic step of each field (symptoms: the general question), as the step library has it.
        self.steps = {s.collect: s for s in reversed(list(self.library.steps.values())) if s.collect}
        self.steps["symptoms"] = self.library.steps["symptoms"]
        self.llm_fallback = None
        if use_llm:
            from dialogs.llm_fallback import make_llm_fallback
            from models.llm import build_language_model

            self.llm_fallback = make_llm_fallback(build_language_model(settings))
        self.semantic = None
        if use_embeddings and settings.dialog.semantic.enabled:
            from language.semantic import SemanticMatcher, SemanticOptions
            from models.embeddings import build_embedder

            cfg = settings.dialog.semantic
            self.semantic = SemanticMatcher(build_embedder(settings), options=SemanticOptions(
                symptom_threshold=cfg.symptom_threshold, answer_threshold=cfg.answer_threshold,
                answer_margin=cfg.answer_margin), cache_dir=settings.resolve_path(settings.service.data_dir) / "cache")

    def context(self, item: dict[str, Any]) -> Any:
        from dialogs.context import CallContext, Medication
        from knowledge.structurer import drug_info

        ctx = item.get("context") or {}
        meds = []
        for i, name in enumerate(ctx.get("medications") or [], start=1):
            info = drug_info(name)
            meds.append(Medication(item_id=i, name=name, generic_name=info[0] if info else None,
                                   drug_class=info[1] if info else None))
        today = dt.date(2026, 11, 20)
        days = 5 if ctx.get("post_surgery") else 10
        phone4 = str(ctx["phone_last4"]) if ctx.get("phone_last4") is not None else None
        return CallContext(
            patient_id=1, patient_name=str(ctx.get("name") or ("张秀兰" if item["lang"] == "zh" else "Mary Smith")),
            sex=ctx.get("sex"), birth_year=ctx.get("birth_year"), id_last4=ctx.get("id_last4"), phone_last4=phone4,
            language=item["lang"], hospital="示范医院" if item["lang"] == "zh" else "Demo Hospital",
            ward_team="心内科", department="心内科", diagnosis="", discharged_on=today - dt.timedelta(days=days),
            call_date=today, post_surgery=bool(ctx.get("post_surgery")), medications=tuple(meds),
        )

    def run(self, item: dict[str, Any]) -> tuple[Any, list[dict[str, Any]], Any]:
        from dialogs.engine import FollowupEngine
        from dialogs.flows import Flow

        step = self.steps[item["field"]]
        step = type(step)(id=step.id, collect=step.collect, ask=step.ask, say=None, condition=None, next=(),
                          reask=step.reask)
        flow = Flow(id="eval", description="", priority=0, match={}, steps=(step,))
        engine = FollowupEngine(flows=self.library, flow=flow, context=self.context(item),
                                rules=self.settings.clinical_rules(), llm_fallback=self.llm_fallback,
                                max_reprompts=self.settings.dialog.max_reprompts, semantic=self.semantic)
        engine.start()
        engine.handle(str(item["text"]))
        return engine.state, list(engine.state.flags), engine.outcome()


def _observed(item: dict[str, Any], state: Any) -> Any:
    """The engine's value in the label's shape; 'unclear' when the field was not settled."""
    name = item["field"]
    c = state.collected
    if name == "identity_verified":
        if state.status == "wrong_person":
            return {"verified": False, "respondent": "other"}
        if c.get("identity_verified") is True:
            return {"verified": True, "respondent": state.respondent or "patient"}
        return {"verified": False, "respondent": state.respondent} if c.get("identity_verified") is False else "unclear"
    if name == "medication_adherence":
        if c.get("medication_adherence") in (None, "unknown"):
            return "unclear"
        return {"adherence": c["medication_adherence"], "missed": sorted(c.get("missed_medications") or [])}
    if name in ("symptoms", "side_effects"):
        if name not in c:
            return "unclear"
        return {"present": sorted(c.get(name) or [])}
    value = c.get(name)
    return "unclear" if value is None else value


def _same(item: dict[str, Any], got: Any) -> bool:
    expected = item["expect"]
    name = item["field"]
    if name == "identity_verified":
        expected = {"verified": False} if expected == "unclear" else expected
        got = {"verified": False, "respondent": None} if got == "unclear" else got
    elif expected == "unclear" or got == "unclear":
        return expected == got
    if name == "identity_verified":
        # Not verified and not settled both mean "ask again": the engine never stores a guess.
        ok = bool(expected.get("verified")) == bool(got.get("verified"))
        if ok and expected.get("verified") and expected.get("respondent"):
            ok = expected["respondent"] == got.get("respondent")
        return ok
    if name == "medication_adherence":
        from knowledge.structurer import generic_name

        if expected.get("adherence") != got.get("adherence"):
            return False
        want = {generic_name(n) for n in expected.get("missed") or []}
        return want == {generic_name(n) for n in got.get("missed") or []}
    if name in ("symptoms", "side_effects"):
        return set(expected.get("present") or []) == set(got.get("present") or [])
    if name == "blood_pressure":
        return (expected.get("systolic"), expected.get("diastolic")) == (got.get("systolic"), got.get("diastolic"))
    if isinstance(expected, float) or isinstance(got, float):
        try:
            return abs(float(expected) - float(got)) < 0.051
        except (TypeError, ValueError):
            return False
    return expected == got


def _highest(flags: list[dict[str, Any]]) -> str:
    levels = {f["level"] for f in flags}
    return "red" if "red" in levels else "yellow" if "yellow" in levels else "none"


def run_understanding_eval(paths: list[Path], *, use_llm: bool = False, use_embeddings: bool = True,
                           settings: Any = None) -> dict[str, Any]:
    from suifang.config import load_settings

    settings = settings or load_settings()
    harness = _Harness(use_llm=use_llm, settings=settings, use_embeddings=use_embeddings)
    if harness.semantic is not None:
        harness.semantic.matrix()   # the bank is embedded once, outside the timed answers
    results: list[ItemResult] = []
    for item in load_items(paths):
        if item["field"] not in harness.steps:
            raise CorpusError(f"{item['id']}: unknown field {item['field']!r}")
        start = time.perf_counter()
        state, flags, _ = harness.run(item)
        latency = (time.perf_counter() - start) * 1000
        got = _observed(item, state)
        tags = item.get("tags") or []
        results.append(ItemResult(
            id=item["id"], field=item["field"], lang=item["lang"], correct=_same(item, got), expected=item["expect"],
            got=got, expected_flag=str(item.get("flag") or "none"), got_flag=_highest(flags),
            denial="denial" in tags or "negation" in tags, latency_ms=latency, text=str(item["text"]), flags=flags))
    return summarize(results)


def summarize(results: list[ItemResult]) -> dict[str, Any]:
    by_field: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        by_field[r.field].append(r.correct)
    red_expected = [r for r in results if r.expected_flag == "red"]
    red_got = [r for r in results if r.got_flag == "red"]
    red_tp = [r for r in red_expected if r.got_flag == "red"]
    any_expected = [r for r in results if r.expected_flag != "none"]
    false_from_denial = [r for r in results if r.expected_flag == "none" and r.got_flag == "red"]
    langs = Counter(r.lang for r in results)
    return {
        "items": len(results),
        "languages": dict(langs),
        "field_accuracy": round(sum(r.correct for r in results) / len(results), 4) if results else None,
        "per_field": {k: {"n": len(v), "accuracy": round(sum(v) / len(v), 4)} for k, v in sorted(by_field.items())},
        "per_language": {lang: round(sum(r.correct for r in results if r.lang == lang) / n, 4) for lang, n in langs.items()},
        "red_flag_recall": round(len(red_tp) / len(red_expected), 4) if red_expected else None,
        "red_flag_precision": round(len(red_tp) / len(red_got), 4) if red_got else None,
        "red_expected": len(red_expected),
        "flag_recall_any": round(sum(r.got_flag != "none" for r in any_expected) / len(any_expected), 4) if any_expected else None,
        "false_red_flags": len(false_from_denial),
        "latency_ms_p95": round(statistics.quantiles([r.latency_ms for r in results], n=20)[18], 2) if len(results) >= 20 else None,
        "_results": results,
    }


def format_report(report: dict[str, Any], *, show_errors: bool = False) -> str:
    lines = []
    if show_errors:
        for r in report["_results"]:
            if not r.correct or (r.expected_flag == "red") != (r.got_flag == "red"):
                lines.append(f"{r.id} [{r.field}] {r.text!r}\n    expected {r.expected} flag {r.expected_flag}; "
                             f"got {r.got} flag {r.got_flag}")
    lines.append(f"items {report['items']} {report['languages']}")
    for name, row in report["per_field"].items():
        lines.append(f"  {name:22} n={row['n']:4}  accuracy {row['accuracy']:.1%}")
    lines.append(f"field accuracy {report['field_accuracy']:.1%}  (zh {report['per_language'].get('zh', 0):.1%}, "
                 f"en {report['per_language'].get('en', 0):.1%})")
    rec, prec = report["red_flag_recall"], report["red_flag_precision"]
    lines.append(f"red-flag recall {rec if rec is None else f'{rec:.1%}'} of {report['red_expected']}, precision "
                 f"{prec if prec is None else f'{prec:.1%}'}; false red flags on answers that raise none: "
                 f"{report['false_red_flags']}; any-flag recall {report['flag_recall_any']}")
    lines.append(f"per-answer latency p95 {report['latency_ms_p95']} ms")
    return "\n".join(lines)
