"""Dialog engine turn time: rules only (goal p95 ≤ 5 ms), rules with embeddings (goal p95 ≤ 25 ms), and with
the local language model as the
fallback for answers the rules cannot settle. Runs the dev and extra scenarios through
`suifang eval followup` machinery and prints per-turn latency percentiles.

Usage: python bench/bench_engine.py [--with-llm]"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluation.followup import run_followup_eval  # noqa: E402

FILES = [ROOT.parent / "shared" / "eval" / "followup-dev.yaml", ROOT / "tests" / "data" / "followup-extra.yaml"]


def engine_only() -> None:
    """The engine alone (parsers, flags, flow navigation; no database, no models) over the transcript tests."""
    import statistics
    import time

    import yaml

    from tests.test_transcripts import TRANSCRIPTS, build_engine

    timings = []
    for _ in range(20):
        for path in sorted(TRANSCRIPTS.glob("*.yaml")):
            for case in yaml.safe_load(path.read_text(encoding="utf-8"))["transcripts"]:
                engine = build_engine(case, [])
                engine.start()
                for turn in case["turns"]:
                    if "say" not in turn:
                        continue
                    began = time.perf_counter()
                    engine.handle(turn["say"])
                    timings.append((time.perf_counter() - began) * 1000)
    q = statistics.quantiles(timings, n=100)
    print(f"engine only (no db, no models): {len(timings)} turns, p50 {statistics.median(timings):.3f} ms, "
          f"p95 {q[94]:.3f} ms, max {max(timings):.3f} ms")


def understanding_text_path() -> None:
    """One patient answer through the engine with the rules and the embeddings (semantic matching on),
    no database and no language model: the labelled dev answers (evaluation/data/understanding)."""
    from evaluation.understanding import run_understanding_eval, split_files

    report = run_understanding_eval(split_files("dev"), use_llm=False, use_embeddings=True)
    print(f"text path, rules + embeddings (dev answers): {report['items']} answers, "
          f"p95 {report['latency_ms_p95']} ms (goal ≤ 25 ms)")


def main() -> None:
    logging.disable(logging.INFO)
    engine_only()
    understanding_text_path()
    modes = [("rules only (--no-llm)", False)] + ([("with local LLM fallback", True)] if "--with-llm" in sys.argv else [])
    for label, use_llm in modes:
        for path in FILES:
            if not path.exists():
                continue
            _results, summary = run_followup_eval(path, use_llm=use_llm)
            print(f"{label:26} {path.name:22} scenarios {summary['scenarios']:3}  passed {summary['passed']:3}  "
                  f"turn p50 {summary['turn_latency_p50_ms']} ms  p95 {summary['turn_latency_p95_ms']} ms")


if __name__ == "__main__":
    main()
