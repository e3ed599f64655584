"""The Kokoro voice: pronunciation lexicon rules, weights assembled and checked, real synthesis read
back by Whisper, and the espeak-ng fallback.

The lexicon tests run without the model. Tests marked `models` load Kokoro-82M (≈ 1 s) and
synthesise a few short sentences (≈ 1–3 s of CPU each); the Whisper checks use the packaged base model."""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from models import audio  # noqa: E402
from models.pronounce import EnglishG2P, Lexicon, MandarinG2P, normalize_en, normalize_zh  # noqa: E402

LEXICON = Lexicon.load()
ZH = LEXICON.section("zh")
EN = LEXICON.section("en")


@pytest.fixture(scope="module")
def mandarin(tmp_path_factory: pytest.TempPathFactory) -> MandarinG2P:
    return MandarinG2P(LEXICON, cache_dir=tmp_path_factory.mktemp("jieba"))


def vocab() -> set[str]:
    import json

    from models.kokoro import VOCAB_PACKAGE
    from models.weights import packaged_file

    return set(json.loads(packaged_file(VOCAB_PACKAGE, "data/vocab.json").read_text(encoding="utf-8"))["vocab"])


# ----- the lexicon, rule by rule ----------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), ZH["examples"], ids=[e[0] for e in ZH["examples"]])
def test_mandarin_examples(text: str, expected: str) -> None:
    assert normalize_zh(text) == expected


@pytest.mark.parametrize(("text", "expected"), EN["examples"], ids=[e[0] for e in EN["examples"]])
def test_english_examples(text: str, expected: str) -> None:
    assert normalize_en(text) == expected


@pytest.mark.parametrize(("text", "expected"), ZH["pinyin_examples"], ids=[e[0] for e in ZH["pinyin_examples"]])
def test_mandarin_readings(mandarin: MandarinG2P, text: str, expected: str) -> None:
    assert " ".join(mandarin.pinyin(text)) == expected


@pytest.mark.parametrize("unit", [u for u in ZH["units"] if ZH["units"][u]])
def test_every_mandarin_unit_is_read_after_its_number(unit: str) -> None:
    reading = ZH["units"][unit]
    assert normalize_zh(f"每次5{unit}") == f"每次五{reading}"
    assert normalize_zh(f"每次2{unit}") == f"每次两{reading}"
    assert normalize_zh(f"0.5 {unit}") == f"零点五{reading}"


@pytest.mark.parametrize("word", ZH["liang_before"])
def test_two_before_a_measure_word_is_liang(word: str) -> None:
    assert normalize_zh(f"2{word}") == f"两{word}"
    assert normalize_zh(f"12{word}") == f"十二{word}"


@pytest.mark.parametrize("word", ZH["phone_context"])
def test_numbers_after_a_telephone_word_are_read_digit_by_digit(word: str) -> None:
    assert normalize_zh(f"{word}120") == f"{word}幺二零"
    assert normalize_zh(f"{word}：0571-87654321") == f"{word}：零五七幺，八七六五四三二幺"


@pytest.mark.parametrize("abbreviation", ZH["abbreviations"])
def test_order_abbreviations(abbreviation: str) -> None:
    assert normalize_zh(f"氨氯地平5mg {abbreviation}") == f"氨氯地平五毫克 {ZH['abbreviations'][abbreviation]}"
    assert normalize_zh(f"氨氯地平5mg {abbreviation.upper()}。") == f"氨氯地平五毫克 {ZH['abbreviations'][abbreviation]}。"


@pytest.mark.parametrize("word", ZH["pinyin"])
def test_every_pinyin_override_is_needed_and_applied(word: str) -> None:
    """Each override changes what the plain front end says, and the front end says the override."""
    without = dict(LEXICON.data, zh={**ZH, "pinyin": {k: v for k, v in ZH["pinyin"].items() if k != word}})
    plain = MandarinG2P(Lexicon(data=without, digest="test"))
    expected = str(ZH["pinyin"][word]).split()
    assert MandarinG2P(LEXICON).pinyin(word) == expected
    assert plain.pinyin(word) != expected


@pytest.mark.parametrize("unit", EN["units"])
def test_every_english_unit_is_read(unit: str) -> None:
    assert normalize_en(f"take 5 {unit}") == f"take 5 {EN['units'][unit]}"
    assert normalize_en(f"take 5{unit}") == f"take 5 {EN['units'][unit]}"


@pytest.mark.parametrize("word", EN["phone_context"])
def test_english_telephone_numbers(word: str) -> None:
    assert normalize_en(f"{word} 120") == f"{word} one two zero"


@pytest.mark.parametrize("abbreviation", EN["abbreviations"])
def test_english_order_abbreviations(abbreviation: str) -> None:
    assert normalize_en(f"Aspirin 100 mg {abbreviation}") == f"Aspirin 100 milligrams {EN['abbreviations'][abbreviation]}"
    assert normalize_en(f"Place a {abbreviation}.") == f"Place a {abbreviation}."   # an English word stays


@pytest.mark.parametrize("word", EN["respell"])
def test_english_respellings(word: str) -> None:
    assert normalize_en(f"after the {word}") == f"after the {EN['respell'][word]}"


def test_what_is_not_a_reading_is_left_alone() -> None:
    assert normalize_zh("11/10") == "十分之十一"          # not a blood pressure: 11 is no systolic value
    assert normalize_zh("2号床") == "二号床"              # 两 only before counted things
    assert normalize_zh("25:99") == "二十五:九十九"        # not a time
    assert normalize_en("the 3/4 mark") == "the 3/4 mark"
    assert normalize_en("born in 1948") == "born in 1948"  # espeak-ng reads years itself


def test_lexicon_file_is_consistent() -> None:
    for word, syllables in ZH["pinyin"].items():
        assert len(str(syllables).split()) == len(word), word
    assert len({e[0] for e in ZH["examples"]}) == len(ZH["examples"])


# ----- front ends -------------------------------------------------------------------------------

def test_service_prompts_use_only_the_model_vocabulary(mandarin: MandarinG2P) -> None:
    """Every symbol the front ends produce for the service's prompts is one Kokoro knows (anything else
    would be dropped silently at synthesis)."""
    import yaml

    symbols = vocab()
    messages = yaml.safe_load((Path(__file__).resolve().parents[1] / "dialogs/flows/messages.yaml").read_text("utf-8"))
    english = EnglishG2P(LEXICON)
    for message in messages.values():
        for language, g2p in (("zh", mandarin), ("en", english)):
            text = re.sub(r"\{\w+\}", "", message[language])
            phonemes = g2p(text)
            unknown = {c for c in phonemes if c not in symbols}
            assert not unknown, (language, text, unknown)


def test_english_inside_mandarin_goes_to_the_english_front_end(mandarin: MandarinG2P) -> None:
    phonemes = mandarin("我是AI智能随访助手。")
    assert "ˌAˈI" in phonemes and phonemes.endswith(".")
    assert "↘" in phonemes and "↓" in phonemes  # tones of 是, 我


def test_english_front_end_keeps_clause_punctuation() -> None:
    phonemes = EnglishG2P(LEXICON)("Hello, this is a test. Are you there?")
    assert phonemes.count(",") == 1 and phonemes.count(".") == 1 and phonemes.endswith("?")
    assert "^" not in phonemes and "ː" not in phonemes


# ----- the real model ---------------------------------------------------------------------------

from suifang.config import KokoroConfig  # noqa: E402

VOICE_ZH, VOICE_EN = KokoroConfig().voice_zh, KokoroConfig().voice_en   # the voices the service ships with


@pytest.fixture(scope="module")
def kokoro_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from models.kokoro import prepare_kokoro

    return prepare_kokoro(tmp_path_factory.mktemp("kokoro"), [VOICE_ZH, VOICE_EN])


@pytest.fixture(scope="module")
def kokoro(kokoro_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    from models.kokoro import KokoroSynthesizer

    return KokoroSynthesizer(kokoro_dir, voice_zh=VOICE_ZH, voice_en=VOICE_EN, prepare=False,
                             g2p_cache_dir=tmp_path_factory.mktemp("jieba-k"))


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory):
    from models.asr import build_recognizer
    from suifang.config import load_settings

    data = tmp_path_factory.mktemp("whisper-data")
    return build_recognizer(load_settings(environ={"SUIFANG__SERVICE__DATA_DIR": str(data)}))


@pytest.mark.models
def test_weights_are_assembled_and_checked(kokoro_dir: Path) -> None:
    from models.kokoro import KOKORO_MODEL, VOCAB_SHA256, VOICE_SHA256
    from models.weights import sha256_file

    assert sha256_file(kokoro_dir / "kokoro-v1.0.int8.onnx") == KOKORO_MODEL.sha256
    assert (kokoro_dir / "kokoro-v1.0.int8.onnx").stat().st_size == 92_361_271
    assert sha256_file(kokoro_dir / "vocab.json") == VOCAB_SHA256
    for voice in (VOICE_ZH, VOICE_EN):
        path = kokoro_dir / "voices" / f"{voice}.bin"
        assert path.stat().st_size == 522_240 and sha256_file(path) == VOICE_SHA256[voice]
    assert sorted(p.name for p in (kokoro_dir / "voices").glob("*.bin")) == sorted([f"{VOICE_ZH}.bin", f"{VOICE_EN}.bin"])


@pytest.mark.models
def test_a_file_that_does_not_match_its_pin_is_refused(kokoro_dir: Path, tmp_path: Path) -> None:
    from models.kokoro import KokoroModel, KokoroSynthesizer, prepare_kokoro
    from models.weights import WeightsError

    with pytest.raises(WeightsError, match="SHA-256 mismatch"):
        KokoroModel(kokoro_dir, model_sha256="0" * 64)
    # a tampered voice: same size, one byte changed
    copy = tmp_path / "kokoro"
    (copy / "voices").mkdir(parents=True)
    for name in ("kokoro-v1.0.int8.onnx", "vocab.json"):
        (copy / name).symlink_to(kokoro_dir / name)
    voice = copy / "voices" / f"{VOICE_ZH}.bin"
    shutil.copyfile(kokoro_dir / "voices" / f"{VOICE_ZH}.bin", voice)
    shutil.copyfile(kokoro_dir / "voices" / f"{VOICE_EN}.bin", copy / "voices" / f"{VOICE_EN}.bin")
    data = bytearray(voice.read_bytes())
    data[1000] ^= 0xFF
    voice.write_bytes(data)
    with pytest.raises(WeightsError, match=f"SHA-256 mismatch.*{VOICE_ZH}"):
        KokoroSynthesizer(copy, voice_zh=VOICE_ZH, voice_en=VOICE_EN, prepare=False)
    prepare_kokoro(copy, [VOICE_ZH])  # preparing again replaces it from the npm tarball
    assert KokoroModel(copy).voice(VOICE_ZH).shape == (510, 1, 256)


@pytest.mark.models
def test_unknown_voices_are_named_with_the_valid_ones() -> None:
    from models.kokoro import check_voice

    with pytest.raises(ValueError, match="valid: .*zm_yunxia"):
        check_voice("zm_nobody", "zh")
    with pytest.raises(ValueError, match="valid: .*af_heart"):
        check_voice("zm_yunxia", "en")


def _heard(whisper, speech: np.ndarray, rate: int, language: str) -> str:  # noqa: ANN001
    return whisper.transcribe(audio.phone_to_asr(audio.to_phone(speech, rate)), language).text


@pytest.mark.models
def test_mandarin_sentence_read_back_over_the_phone(kokoro, whisper) -> None:  # noqa: ANN001
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from speech_metrics import error_rate

    text = "请问您是张三本人吗？"
    speech, rate = kokoro.synthesize(text, "zh")
    assert rate == 24000 and speech.dtype == np.float32
    assert 1.0 < speech.size / rate < 5.0
    assert float(np.sqrt(np.mean(speech ** 2))) > 0.02 and np.abs(speech).max() <= 1.0
    heard = _heard(whisper, speech, rate, "zh")
    assert error_rate(text, heard, "zh") <= 0.25, heard


@pytest.mark.models
def test_english_sentence_read_back_over_the_phone(kokoro, whisper) -> None:  # noqa: ANN001
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from speech_metrics import error_rate

    text = "Have you had any chest pain since you left hospital?"
    speech, rate = kokoro.synthesize(text, "en")
    assert rate == 24000 and 1.5 < speech.size / rate < 6.0
    assert float(np.sqrt(np.mean(speech ** 2))) > 0.02
    heard = _heard(whisper, speech, rate, "en")
    assert error_rate(text, heard, "en") <= 0.2, heard


@pytest.mark.models
def test_the_emergency_number_is_heard_digit_by_digit(kokoro, whisper) -> None:  # noqa: ANN001
    speech, rate = kokoro.synthesize("请立即拨打120。", "zh")
    heard = _heard(whisper, speech, rate, "zh")
    assert any(form in heard for form in ("120", "一二零", "幺二零", "1-2-0")), heard
    assert "一百二十" not in heard and "百" not in heard, heard


@pytest.mark.models
def test_sentences_are_synthesised_one_by_one_with_a_pause(kokoro) -> None:  # noqa: ANN001
    one, _ = kokoro.synthesize("好的。", "zh")
    two, rate = kokoro.synthesize("好的。好的。", "zh")
    assert abs(two.size - 2 * one.size) < 0.05 * rate  # same sentence twice, each trimmed and paused alike
    middle = two[one.size - int(0.2 * rate):one.size]
    assert np.abs(middle).max() < 0.01               # the pause after a sentence is silence


@pytest.mark.models
def test_the_prompt_cache_keeps_kokoro_audio(kokoro, tmp_path: Path) -> None:  # noqa: ANN001
    from models.tts import CachedSynthesizer

    cached = CachedSynthesizer(kokoro, tmp_path / "tts-cache")
    first, rate = cached.synthesize("您还在吗？", "zh")
    assert cached.misses == 1 and len(list((tmp_path / "tts-cache").glob("*.wav"))) == 1
    again, rate2 = CachedSynthesizer(kokoro, tmp_path / "tts-cache").synthesize("您还在吗？", "zh")
    assert rate2 == rate == 24000 and again.size == first.size
    assert cached.key("您还在吗？", "zh") != CachedSynthesizer(_Renamed(kokoro), None).key("您还在吗？", "zh")


class _Renamed:
    """The same synthesizer with another lexicon digest: the cache key must change with it."""

    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner, self.name = inner, inner.name

    def cache_identity(self, language: str) -> tuple[str, ...]:
        return tuple(x if not x.startswith("lexicon=") else "lexicon=other" for x in self.inner.cache_identity(language))


# ----- falling back to espeak-ng ----------------------------------------------------------------

def _settings(data_dir: Path, **overrides: str):  # noqa: ANN202
    from suifang.config import load_settings

    return load_settings(environ={"SUIFANG__SERVICE__DATA_DIR": str(data_dir), **overrides})


def test_kokoro_is_the_default_backend() -> None:
    from suifang.config import load_settings

    cfg = load_settings(environ={}).models.tts
    assert cfg.backend == "kokoro" and cfg.kokoro.voice_zh.startswith("z") and cfg.kokoro.voice_en.startswith("a")


def test_a_missing_model_dir_falls_back_to_espeak(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from models.tts import build_synthesizer

    settings = _settings(tmp_path, SUIFANG__MODELS__TTS__KOKORO__MODEL_DIR=str(tmp_path / "nowhere"),
                         SUIFANG__MODELS__TTS__KOKORO__VOICES_ARCHIVE=str(tmp_path / "no-such.tgz"))
    synth = build_synthesizer(settings)
    text = "请问您是王秀英本人吗？"
    with caplog.at_level(logging.WARNING):
        speech, rate = synth.synthesize(text, "zh")
    assert rate == 22050 and speech.size > rate // 2           # espeak-ng's voice
    assert "did not load" in caplog.text and "王秀英" not in caplog.text
    assert synth.inner.load_error and synth.inner.cache_identity("zh")[0] == "pyttsx3"
    assert len(list((tmp_path / "tts-cache").glob("*.wav"))) == 1  # cached under espeak-ng's own identity


def test_a_typo_in_the_voice_name_is_a_config_error(tmp_path: Path) -> None:
    from models.tts import build_synthesizer

    with pytest.raises(ValueError, match="unknown Kokoro voice 'zm_yunxai'"):
        build_synthesizer(_settings(tmp_path, SUIFANG__MODELS__TTS__KOKORO__VOICE_ZH="zm_yunxai"))


class _FakeVoice:
    name = "fake"

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.release = threading.Event()

    def cache_identity(self, language: str) -> tuple[str, ...]:
        return ("fake", language)

    def sentences(self, text: str, language: str) -> list[str]:
        return [text]

    def synthesize(self, text: str, language: str) -> tuple[np.ndarray, int]:
        if self.behaviour == "error":
            raise RuntimeError(f"cannot say {text}")
        if self.behaviour == "hang":
            self.release.wait(30)
        return np.full(2400, 0.1, np.float32), 24000


@pytest.mark.parametrize("behaviour", ["error", "hang"])
def test_a_failed_or_hung_synthesis_is_spoken_by_espeak_and_not_cached(
        behaviour: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from models.tts import CachedSynthesizer, FallbackSynthesizer, Pyttsx3Synthesizer, espeak_command

    class Espeak(Pyttsx3Synthesizer):  # the command, not the process-wide pyttsx3 engine
        def synthesize(self, text: str, language: str) -> tuple[np.ndarray, int]:
            return espeak_command(text, voice=self.options.voice(language), rate=160)

    fake = _FakeVoice(behaviour)
    fallback = FallbackSynthesizer(lambda: fake, Espeak(), timeout_s=0.5, name="fake")
    cached = CachedSynthesizer(fallback, tmp_path)
    try:
        with caplog.at_level(logging.WARNING):
            speech, rate = cached.synthesize("Hello Mrs Wang.", "en")
        assert rate == 22050 and speech.size > 0
        assert ("failed (RuntimeError)" if behaviour == "error" else "took longer than") in caplog.text
        assert "Wang" not in caplog.text
        assert not list(tmp_path.glob("*.wav")) and not cached.last_result_cacheable()
        fake.behaviour = "ok"
        fake.release.set()
        good, good_rate = cached.synthesize("Hello Mrs Wang.", "en")  # the next try is the primary again
        assert good_rate == 24000 and cached.last_result_cacheable()
        assert len(list(tmp_path.glob("*.wav"))) == 1
        fake.behaviour = "error"
        cached.synthesize("Another sentence.", "en")
        assert not cached.last_result_cacheable()
        assert cached.synthesize("Hello Mrs Wang.", "en")[1] == 24000 and cached.last_result_cacheable()  # a hit
    finally:
        fake.release.set()


def test_abandoned_runs_keep_the_fallback_speaking_until_they_end() -> None:
    from models.tts import FallbackSynthesizer, espeak_command

    class Espeak:
        name = "espeak"

        def synthesize(self, text: str, language: str) -> tuple[np.ndarray, int]:
            return espeak_command(text, voice="gmw/en-us", rate=160)

    fake = _FakeVoice("hang")
    fallback = FallbackSynthesizer(lambda: fake, Espeak(), timeout_s=0.2, name="fake")
    try:
        for _ in range(2):
            assert fallback.synthesize("One.", "en")[1] == 22050
        fake.behaviour = "ok"  # still two stuck runs: straight to the fallback, no third thread
        assert fallback.synthesize("Two.", "en")[1] == 22050 and len(fallback._abandoned) == 2
        fake.release.set()
        for thread in list(fallback._abandoned):
            thread.join(5)
        assert fallback.synthesize("Three.", "en")[1] == 24000
    finally:
        fake.release.set()
