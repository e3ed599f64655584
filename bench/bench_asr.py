"""Speech recognition: faster-whisper vs openai-whisper on the real speech samples.

    .venv/bin/python bench/bench_asr.py [--samples DIR] [--backends faster-whisper,openai-whisper] [--json]

A backend may name a faster-whisper compute type: `--backends faster-whisper,faster-whisper:float32`.

Reads ../shared/data/speech-samples in place (7 clips, 5 Mandarin, 2 English; see its SOURCE.md —
too few to be a statistically meaningful benchmark, it shows the pipeline end to end on real
audio). Both backends run the same packaged Whisper base weights with the service's settings
(beam from config, language forced, Mandarin prompt, VAD gate). Prints per clip the real-time
factor (decode time / audio duration) of each backend side by side with its CER (zh) or WER (en),
then overall RTF, Mandarin CER and English WER (errors summed over clips / reference length).
The first call of each backend is a warm-up and not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from speech_metrics import errors  # noqa: E402

from models.asr import build_recognizer  # noqa: E402
from models.audio import load_audio  # noqa: E402
from suifang.config import load_settings  # noqa: E402

DEFAULT_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech-samples"
BACKENDS = ("faster-whisper", "openai-whisper")


def load_clips(samples: Path) -> list[tuple[str, str, str]]:
    """(relative path, language, reference) from transcripts.tsv."""
    clips = []
    for line in (samples / "transcripts.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rel, reference = line.split("\t", 1)
        clips.append((rel, rel.split("/", 1)[0], reference.strip()))
    return clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    settings = load_settings()
    clips = load_clips(args.samples)
    audio = {rel: load_audio(args.samples / rel) for rel, _, _ in clips}

    recognizers = {}
    for backend in backends:
        started = time.perf_counter()
        name, _, compute_type = backend.partition(":")
        backend_settings = settings if not compute_type else load_settings(
            environ={**os.environ, "SUIFANG__MODELS__ASR__COMPUTE_TYPE": compute_type})
        recognizers[backend] = build_recognizer(backend_settings, name)
        load_s = time.perf_counter() - started
        recognizers[backend].transcribe(audio[clips[0][0]][:16000 * 2], clips[0][1])  # warm-up
        print(f"{backend}: loaded in {load_s:.1f} s")

    results: dict[str, list[dict]] = {b: [] for b in backends}
    width = max(20, *(len(b) + 4 for b in backends))
    header = f"{'clip':38} {'dur':>5} " + " ".join(f"{b + ' RTF':>{width}} {'err':>6}" for b in backends)
    print(header)
    for rel, language, reference in clips:
        samples = audio[rel]
        duration = samples.size / 16000
        row = f"{rel:38} {duration:5.1f} "
        texts = []
        for backend in backends:
            started = time.perf_counter()
            transcript = recognizers[backend].transcribe(samples, language)
            elapsed = time.perf_counter() - started
            e, n = errors(reference, transcript.text, language)
            results[backend].append(dict(clip=rel, language=language, duration_s=duration, seconds=elapsed,
                                         rtf=elapsed / duration, edits=e, ref_len=n, text=transcript.text,
                                         confidence=transcript.confidence))
            row += f"{elapsed / duration:{width}.2f} {e / max(n, 1):6.1%} "
            texts.append(f"    {backend:22} {transcript.text}  (conf {transcript.confidence:.2f})")
        print(row)
        print(f"    {'reference':22} {reference}")
        print("\n".join(texts))

    summary = {}
    print("\noverall")
    for backend in backends:
        rows = results[backend]
        total_audio = sum(r["duration_s"] for r in rows)
        total_time = sum(r["seconds"] for r in rows)
        zh = [r for r in rows if r["language"] == "zh"]
        en = [r for r in rows if r["language"] == "en"]
        cer = sum(r["edits"] for r in zh) / max(sum(r["ref_len"] for r in zh), 1)
        wer = sum(r["edits"] for r in en) / max(sum(r["ref_len"] for r in en), 1)
        summary[backend] = dict(rtf=total_time / total_audio, zh_cer=cer, en_wer=wer,
                                zh_rtf=sum(r["seconds"] for r in zh) / max(sum(r["duration_s"] for r in zh), 1e-9),
                                en_rtf=sum(r["seconds"] for r in en) / max(sum(r["duration_s"] for r in en), 1e-9))
        s = summary[backend]
        print(f"  {backend:22} RTF {s['rtf']:.2f} (zh {s['zh_rtf']:.2f}, en {s['en_rtf']:.2f})   "
              f"Mandarin CER {cer:.1%} ({len(zh)} clips)   English WER {wer:.1%} ({len(en)} clips)")
    if args.json:
        print(json.dumps({"summary": summary, "clips": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
