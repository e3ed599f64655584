"""Real speech over the phone: the shared real recordings through the phone band and the voice evaluation's
degraded channel, read by the service's Whisper.

    .venv/bin/python bench/bench_phone_speech.py [--samples DIR] [--seeds 3] [--json]

Reads ../shared/data/speech-samples in place (7 real clips, 5 Mandarin, 2 English; see its SOURCE.md — a
smoke test, not a statistically meaningful benchmark). Each clip is recognised as the service would hear it
(faster-whisper, the configured settings, language forced, no call context) under three conditions:

- `wideband`: the file as it is (16 kHz), the reference;
- `phone band`: 8 kHz G.711 μ-law, what a clean phone line delivers (models.audio.to_phone → phone_to_asr);
- `degraded`: evaluation/channel.py as in `suifang eval followup --voice` — A-law for Mandarin, μ-law for
  English, a level change of −6…+3 dB, pink background noise at 20–25 dB SNR, 1 % of 20 ms frames lost —
  once per seed (each seed a different draw), errors summed over seeds.

Prints per clip and condition the CER (zh) / WER (en) and the text, then Mandarin CER and English WER per
condition (edits summed over clips / reference length)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_asr import DEFAULT_SAMPLES, load_clips  # noqa: E402
from speech_metrics import errors  # noqa: E402

from evaluation.channel import PhoneChannel, default_options  # noqa: E402
from models import audio  # noqa: E402
from models.asr import build_recognizer  # noqa: E402
from suifang.config import load_settings  # noqa: E402


def conditions(samples16k, language: str, clip: str, seeds: int) -> list[tuple[str, object]]:  # noqa: ANN001
    out = [("wideband", samples16k),
           ("phone band", audio.phone_to_asr(audio.to_phone(samples16k, audio.ASR_RATE)))]
    for seed in range(seeds):
        channel = PhoneChannel(default_options(language, seed=seed), call_key=clip)
        mulaw = channel.transmit(samples16k, audio.ASR_RATE)
        out.append((f"degraded:{seed}", (audio.phone_to_asr(mulaw), channel.report.utterances[0])))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    recognizer = build_recognizer(load_settings())
    clips = load_clips(args.samples)
    totals: dict[tuple[str, str], list[int]] = {}
    rows = []
    for rel, language, reference in clips:
        samples = audio.load_audio(args.samples / rel)
        print(f"{rel}\n    {'reference':14} {reference}")
        for name, data in conditions(samples, language, rel, args.seeds):
            line = None
            if isinstance(data, tuple):
                data, line = data
            text = recognizer.transcribe(data, language).text
            e, n = errors(reference, text, language)
            condition = name.split(":")[0]
            total = totals.setdefault((condition, language), [0, 0])
            total[0] += e
            total[1] += n
            extra = f"  [gain {line.gain_db:+.1f} dB, SNR {line.snr_db:.1f} dB, {line.frames_lost}/{line.frames} " \
                    "frames lost]" if line else ""
            print(f"    {name:14} {e / max(n, 1):6.1%}  {text}{extra}")
            rows.append({"clip": rel, "language": language, "condition": name, "edits": e, "ref_len": n,
                         "text": text})
    print("\noverall (Mandarin CER over 5 clips, English WER over 2 clips; degraded: summed over "
          f"{args.seeds} seeds)")
    summary = {}
    for condition in ("wideband", "phone band", "degraded"):
        zh, en = totals.get((condition, "zh"), [0, 0]), totals.get((condition, "en"), [0, 0])
        summary[condition] = {"zh_cer": zh[0] / max(zh[1], 1), "en_wer": en[0] / max(en[1], 1)}
        print(f"  {condition:12} Mandarin CER {summary[condition]['zh_cer']:.1%}   "
              f"English WER {summary[condition]['en_wer']:.1%}")
    if args.json:
        print(json.dumps({"summary": summary, "clips": rows}, ensure_ascii=False))


if __name__ == "__main__":
    main()
