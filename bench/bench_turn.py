"""End of turn: the fixed 700 ms silence against Smart Turn v3.2 over Silero VAD, on real and synthesized speech.

    .venv/bin/python bench/bench_turn.py [--pause-ms 250] [--max-silence-ms 2500] [--complete-probability 0.5,0.9]
                                         [--no-synth] [--json]

Utterances, all heard through the phone line (8 kHz G.711 μ-law, back to 16 kHz) as a call hears them:
- real: the seven clips of ../shared/data/speech-samples (read speech). Whole clip = a finished turn.
  Half sentences: the clip up to the first pause its reader made inside the sentence (VAD, ≥ 80 ms:
  "real pause"), and, for clips read without a pause, the clip cut at the quietest 10 ms between 40 %
  and 70 % of the speech ("real cut": an arbitrary point, no pause intonation — harder, and less like
  a patient stopping to think).
- synthesized by the service's own voice (Kokoro, models.tts.kokoro voices): short follow-up answers,
  finished ("我每天都按时吃药。") and broken off mid-sentence ("我每天吃……那个……").

Each utterance is followed by silence and fed in 20 ms frames to both detectors (the same Silero VAD).
- wait after the last word (finished turns): from the end of the last word (where Silero places it in
  the clean recording) to the moment the detector ends the turn, plus, for Smart Turn, the measured
  inference time. A finished turn ended more than 0.3 s before its end (at a pause inside
  it) counts as "ended inside" and is left out of the mean.
- half sentences cut: a half sentence followed by a thinking pause of P seconds is cut when the
  detector ends the turn within P. Shown for P = 1.0 and 1.5 s.
Backchannels ("嗯", "对对", "uh-huh", "yeah") and short answers are synthesized too, to show how much
voiced speech Silero counts in them (phone.barge_in_min_speech_ms is set against these figures), what
the configured Whisper makes of each, told to expect backchannels as the call tells it (the call
recognises short speech over a prompt to tell a backchannel from a short answer), how long that takes,
and whether language/backchannel.py calls it one.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from models import audio  # noqa: E402
from models.turn import SmartTurnDetector, load_turn_model  # noqa: E402
from models.vad import EndOfTurnDetector, shared_vad, speech_segments  # noqa: E402
from suifang.config import load_settings  # noqa: E402

RATE = 16000
FRAME = 320
SAMPLES = ROOT.parent / "shared" / "data" / "speech-samples"
TAIL_S = 3.0
PAUSES_S = (1.0, 1.5)

# Follow-up answers in the service's voice: (text, language, finished?). The broken-off ones end where a
# patient stops to think; the written ellipsis gives the voice its trailing intonation.
SYNTH = [
    ("我每天都按时吃药。", "zh", True), ("好多了，谢谢。", "zh", True), ("血压一百三十五，八十五。", "zh", True),
    ("没有，伤口挺好的。", "zh", True), ("是我，我是王建国。", "zh", True), ("头有点晕，别的还好。", "zh", True),
    ("我每天吃……那个……", "zh", False), ("早上吃了，晚上……", "zh", False), ("血压是一百……", "zh", False),
    ("我那个药，就是……", "zh", False), ("伤口有点……怎么说呢……", "zh", False), ("我觉得吧，就是……", "zh", False),
    ("Yes, I take it every morning.", "en", True), ("Much better, thank you.", "en", True),
    ("No, the wound looks fine.", "en", True),
    ("I take the, um…", "en", False), ("My blood pressure was about…", "en", False), ("Well, in the mornings I…", "en", False),
]
BACKCHANNELS = [("嗯。", "zh"), ("嗯嗯。", "zh"), ("对对。", "zh"), ("对对对。", "zh"), ("好的。", "zh"),
                ("Uh-huh.", "en"), ("Yeah.", "en"), ("Okay.", "en"), ("Mm-hmm.", "en")]
SHORT_ANSWERS = [("不是。", "zh"), ("等一下。", "zh"), ("我血压有点高。", "zh"), ("No.", "en"), ("Wait a moment.", "en")]


def phone(signal: np.ndarray) -> np.ndarray:
    return audio.phone_to_asr(audio.to_phone(signal, RATE))


def last_voiced_s(signal: np.ndarray) -> float:
    """End of the last 10 ms frame within 35 dB of the loudest one."""
    frames = signal[: signal.size // 160 * 160].reshape(-1, 160)
    rms = np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1)) + 1e-12
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > -30)
    return (int(loud[-1]) + 1) * 160 / RATE if loud.size else 0.0


def cut_points(clip: np.ndarray) -> tuple[str, list[float]]:
    """Where to break a real sentence off: each pause inside it, else the quietest 10 ms in 40–70 %."""
    segments = speech_segments(clip, min_silence_ms=80, pad_ms=0)
    if len(segments) > 1:
        return "real pause", [segments[0][1]]   # later pauses would be judged after this one anyway
    start, end = segments[0] if segments else (0.0, clip.size / RATE)
    lo, hi = int((start + 0.4 * (end - start)) * RATE), int((start + 0.7 * (end - start)) * RATE)
    frames = clip[lo: lo + (hi - lo) // 160 * 160].reshape(-1, 160)
    return "real cut", [(lo + int(np.argmin((frames ** 2).mean(axis=1))) * 160 + 160) / RATE]


def end_time(detector, signal: np.ndarray) -> tuple[float | None, list[float]]:  # noqa: ANN001
    """When the detector ends the turn (s into the signal, model time added), and each inference's ms."""
    inference: list[float] = []
    for start in range(0, signal.size, FRAME):
        at = (start + FRAME) / RATE
        for event in detector.feed(signal[start:start + FRAME]):
            if event == "end_of_turn":
                return at, inference
            if event == "pause":
                began = time.perf_counter()
                finished = detector.judge()
                inference.append((time.perf_counter() - began) * 1000)
                if finished:
                    return at + inference[-1] / 1000, inference
    return None, inference


def utterances(settings, synth: bool) -> list[dict]:  # noqa: ANN001
    out = []
    with (SAMPLES / "transcripts.tsv").open(encoding="utf-8") as handle:
        for name, text in csv.reader(handle, delimiter="\t"):
            clip = audio.load_audio(SAMPLES / name)
            end = last_voiced_s(clip)
            out.append({"source": "real", "name": name, "finished": True, "audio": clip[:int(end * RATE) + 160]})
            kind, cuts = cut_points(clip)
            for at in cuts:
                out.append({"source": kind, "name": f"{name} to {at:.2f} s", "finished": False,
                            "audio": clip[:int(at * RATE)]})
    if synth:
        from models.tts import build_synthesizer

        voice = build_synthesizer(settings, cache=False)
        for text, language, finished in SYNTH:
            speech, rate = voice.synthesize(text, language)
            clip = audio.resample(speech, rate, RATE)
            out.append({"source": "synth", "name": text, "finished": finished,
                        "audio": clip[:int(last_voiced_s(clip) * RATE) + 160]})
    return out


def voiced_ms(settings, items: list[tuple[str, str]]) -> list[tuple]:  # noqa: ANN001
    from campaigns.call_session import BACKCHANNEL_CONTEXT
    from language.backchannel import is_backchannel
    from models.asr import build_recognizer
    from models.tts import build_synthesizer

    voice, recognizer = build_synthesizer(settings, cache=False), build_recognizer(settings)
    rows = []
    for text, language in items:
        speech, rate = voice.synthesize(text, language)
        signal = phone(np.concatenate([np.zeros(8000, np.float32), audio.resample(speech, rate, RATE),
                                       np.zeros(RATE, np.float32)]))
        detector, most = EndOfTurnDetector(silence_ms=700), 0.0
        for start in range(0, signal.size, FRAME):
            detector.feed(signal[start:start + FRAME])
            most = max(most, detector.voiced_ms)
        began = time.perf_counter()
        heard = recognizer.transcribe(signal, language, context=BACKCHANNEL_CONTEXT[language]).text
        rows.append((text, most, heard, round((time.perf_counter() - began) * 1000), is_backchannel(heard, language)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pause-ms", type=int, default=None, help="default: phone.turn_pause_ms")
    parser.add_argument("--max-silence-ms", type=int, default=None, help="default: phone.turn_max_silence_ms")
    parser.add_argument("--complete-probability", default=None,
                        help="the model's probability that ends a turn, one or more (comma-separated); "
                             "default: phone.turn_complete_probability")
    parser.add_argument("--no-synth", action="store_true", help="real clips only (no Kokoro)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = load_settings()
    p = settings.phone
    pause_ms, cap_ms = args.pause_ms or p.turn_pause_ms, args.max_silence_ms or p.turn_max_silence_ms
    thresholds = [float(t) for t in (args.complete_probability or str(p.turn_complete_probability)).split(",")]
    model = load_turn_model(settings)
    vad = shared_vad()
    rows = []
    for item in utterances(settings, synth=not args.no_synth):
        lead = np.zeros(RATE // 2, np.float32)
        signal = phone(np.concatenate([lead, item["audio"], np.zeros(int(TAIL_S * RATE), np.float32)]))
        segments = speech_segments(item["audio"], min_silence_ms=80, pad_ms=0, vad=vad)
        spoken_end = lead.size / RATE + (segments[-1][1] if segments else item["audio"].size / RATE)
        fixed_at, _ = end_time(EndOfTurnDetector(silence_ms=p.end_of_turn_silence_ms, vad=vad), signal)
        row = {**{k: v for k, v in item.items() if k != "audio"},
               "fixed_wait_s": None if fixed_at is None else fixed_at - spoken_end, "inference_ms": []}
        for threshold in thresholds:
            smart = SmartTurnDetector(model, pause_ms=pause_ms, max_silence_ms=cap_ms, complete_probability=threshold,
                                      fallback_silence_ms=p.end_of_turn_silence_ms, vad=vad)
            smart_at, inference = end_time(smart, signal)
            row[f"smart@{threshold:g}_wait_s"] = None if smart_at is None else smart_at - spoken_end
            if threshold == thresholds[0]:
                row["probability"] = smart.last_turn_probability
            row["inference_ms"] += inference
        rows.append(row)
    methods = ["fixed", *(f"smart@{t:g}" for t in thresholds)]
    report = summarise(rows, methods, pause_ms=pause_ms, cap_ms=cap_ms, fixed_ms=p.end_of_turn_silence_ms)
    if not args.no_synth:
        report["voiced_ms"] = {"backchannels": voiced_ms(settings, BACKCHANNELS),
                               "short_answers": voiced_ms(settings, SHORT_ANSWERS)}
    if args.json:
        print(json.dumps({"rows": rows, **report}, ensure_ascii=False, indent=1))
        return
    print(f"{'utterance':52} {'finished':>8} " + " ".join(f"{m + ' s':>10}" for m in methods) + " p(done)")
    for r in rows:
        fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
        print(f"{r['source'] + ': ' + r['name']:52.52} {str(r['finished']):>8} "
              + " ".join(f"{fmt(r[m + '_wait_s']):>10}" for m in methods) + f" {fmt(r['probability']):>7}")
    for key, value in report.items():
        if key != "voiced_ms":
            print(f"{key}: {value}")
    for group, items in report.get("voiced_ms", {}).items():
        print(f"{group} (said: voiced ms by Silero, recognised as, recognition ms, backchannel?):")
        for said, ms, heard, asr_ms, backchannel in items:
            print(f"    {said:16} {ms:5.0f}  {heard!r:24} {asr_ms:5d}  {backchannel}")


def summarise(rows: list[dict], methods: list[str], *, pause_ms: int, cap_ms: int, fixed_ms: int) -> dict:
    out: dict = {"settings": f"fixed {fixed_ms} ms; smart turn (smart@p: ends at probability ≥ p): "
                             f"pause {pause_ms} ms, cap {cap_ms} ms"}
    inference = [ms for r in rows for ms in r["inference_ms"]]
    out["smart_turn_inference_ms"] = {"mean": round(statistics.mean(inference), 1),
                                      "max": round(max(inference), 1), "n": len(inference)}
    groups = {"real": ("real", "real pause", "real cut"), "synth": ("synth",), "all": None}
    for group, sources in groups.items():
        chosen = [r for r in rows if sources is None or r["source"] in sources]
        done = [r for r in chosen if r["finished"]]
        if not done:
            continue
        figures: dict = {"finished": len(done)}
        for method in methods:
            waits = [r[f"{method}_wait_s"] for r in done if r[f"{method}_wait_s"] is not None]
            after = [w for w in waits if w > -0.3]
            figures[f"{method}_mean_wait_ms"] = round(1000 * statistics.mean(after)) if after else None
            figures[f"{method}_ended_inside"] = f"{len(waits) - len(after)}/{len(done)}"
        out[group] = figures
    for source in ("real pause", "real cut", "synth"):
        half = [r for r in rows if r["source"] == source and not r["finished"]]
        if not half:
            continue
        figures = {"half": len(half)}
        for method in methods:
            for pause in PAUSES_S:
                cut = [r for r in half if r[f"{method}_wait_s"] is not None and r[f"{method}_wait_s"] < pause]
                figures[f"{method}_cut_at_{pause:g}s"] = f"{len(cut)}/{len(half)}"
        out[f"half sentences, {source}"] = figures
    return out


if __name__ == "__main__":
    main()
