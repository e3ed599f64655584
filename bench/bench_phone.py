"""Phone-line turn latency and outcome accuracy: each scenario is a real call to the service on a
loopback port, the scripted Media Streams caller speaking the persona's answers as 8 kHz μ-law.

    .venv/bin/python bench/bench_phone.py [SCENARIOS.yaml] [--ids dev-zh-pci,dev-en-heart-failure]

Latency is from the caller's last frame of a turn (speech, then the silence that ends the turn) to
the first frame of the reply: VAD end of turn, Whisper, the dialog engine, the first sentence's TTS.
The caller sends frames as fast as the socket takes them, so the end-of-turn silence itself (config
phone.end_of_turn_silence_ms, 700 ms) is not in the figure; a patient hears that much more.
The persona speaks with its own Kokoro voices over the degraded channel, as in `suifang eval followup
--voice` (evaluation/phone.py, evaluation/channel.py)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEV = ROOT.parent / "shared" / "eval" / "followup-dev.yaml"


def main() -> None:
    import yaml

    from evaluation.followup import format_result, format_summary, load_scenarios, run_followup_eval

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="?", default=str(DEV))
    parser.add_argument("--ids", default="dev-zh-pci,dev-en-heart-failure")
    args = parser.parse_args()
    wanted = {i for i in args.ids.split(",") if i}
    scenarios = [s for s in load_scenarios(args.scenarios) if not wanted or s["id"] in wanted]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        yaml.safe_dump(scenarios, handle, allow_unicode=True)
    results, summary = run_followup_eval(handle.name, voice=True)
    Path(handle.name).unlink()
    for result in results:
        print(format_result(result))
        print(f"    turn latency ms: {[round(ms) for ms in result.latencies_ms]}")
    print(format_summary(summary))


if __name__ == "__main__":
    main()
