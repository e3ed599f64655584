"""End of turn by Smart Turn v3.2 over VAD (models/turn.py).

The decision logic runs with a scripted model and an energy VAD (loud = speech), so its timing is
exact: a finished turn ends at the short pause, an unfinished one waits for more speech or the cap, a
broken model falls back to the fixed silence. The features are checked against transformers'
WhisperFeatureExtractor. Tests marked `models` load the real Smart Turn file from the pipecat-ai wheel
and real speech (../shared/data/speech-samples), heard through the 8 kHz phone band as calls hear it."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from models import audio
from models.turn import SmartTurnDetector, log_mel, model_window
from models.vad import EndOfTurnDetector

RATE = 16000
FRAME = 320  # 20 ms
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech-samples"


class EnergyVad:
    """A stand-in for Silero: a window is speech when it is loud."""

    @staticmethod
    def window(samples: np.ndarray, state: object, context: object) -> tuple[float, object, object]:
        return (1.0 if float(np.abs(samples).mean()) > 0.01 else 0.0), state, context


class ScriptedModel:
    """Says "finished" with the probabilities given, one per judgement; records what it heard."""

    def __init__(self, *probabilities: float) -> None:
        self.probabilities = list(probabilities)
        self.heard: list[np.ndarray] = []

    def probability(self, audio16k: np.ndarray) -> float:
        self.heard.append(audio16k)
        return self.probabilities.pop(0)


class BrokenModel:
    def probability(self, audio16k: np.ndarray) -> float:
        raise RuntimeError("onnxruntime failed")


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def run(detector: SmartTurnDetector, signal: np.ndarray) -> list[tuple[str, float]]:
    """Feed 20 ms frames; judge at each pause as the call session does. Events with their time (s)."""
    events = []
    for start in range(0, signal.size, FRAME):
        at = (start + FRAME) / RATE
        for event in detector.feed(signal[start:start + FRAME]):
            events.append((event, at))
            if event == "pause" and detector.judge():
                events.append(("finished", at))
    return events


def detector(model, **kw) -> SmartTurnDetector:  # noqa: ANN001
    options = dict(pause_ms=250, max_silence_ms=2500, fallback_silence_ms=700, vad=EnergyVad())
    return SmartTurnDetector(model, **{**options, **kw})


# ----- the decision, with a scripted model --------------------------------------------------------

def test_a_finished_turn_ends_at_the_short_pause() -> None:
    model = ScriptedModel(0.9)
    events = run(detector(model), np.concatenate([silence(1.0), tone(1.5), silence(3.0)]))
    names = [e for e, _ in events]
    assert names == ["speech_start", "pause", "finished"]
    waited = events[-1][1] - 2.5
    assert 0.25 <= waited < 0.35          # the pause and a window of VAD, not 700 ms
    assert len(model.heard) == 1


def test_an_unfinished_turn_waits_for_more_speech_then_is_judged_again() -> None:
    model = ScriptedModel(0.2, 0.8)
    signal = np.concatenate([silence(0.5), tone(1.0), silence(1.5), tone(0.8), silence(2.0)])
    events = run(detector(model), signal)
    assert [e for e, _ in events] == ["speech_start", "pause", "pause", "finished"]
    assert events[1][1] == pytest.approx(1.5 + 0.25, abs=0.08)   # asked after the first pause: not finished
    assert events[-1][1] == pytest.approx(3.8 + 0.25, abs=0.08)   # the second pause ends it
    # The model heard the whole turn from just before its onset (0.5 s of lead-in), not only the end.
    second = model.heard[1]
    assert second.size / RATE == pytest.approx(0.5 + 1.0 + 1.5 + 0.8 + 0.25, abs=0.1)


def test_an_unfinished_turn_ends_at_the_silence_cap() -> None:
    events = run(detector(ScriptedModel(0.1)), np.concatenate([tone(1.0), silence(4.0)]))
    assert [e for e, _ in events] == ["speech_start", "pause", "end_of_turn"]
    assert events[-1][1] == pytest.approx(1.0 + 2.5, abs=0.08)


def test_the_model_hears_at_most_the_last_eight_seconds() -> None:
    model = ScriptedModel(0.9)
    run(detector(model), np.concatenate([silence(1.0), tone(12.0), silence(1.0)]))
    assert model.heard[0].size == 8 * RATE
    window = model_window(np.ones(RATE, np.float32))
    assert window.size == 8 * RATE and window[:7 * RATE].max() == 0 and window[-RATE:].min() == 1  # padded in front


def test_a_broken_model_falls_back_to_the_fixed_silence() -> None:
    d = detector(BrokenModel())
    events = run(d, np.concatenate([tone(1.0), silence(3.0), tone(0.5), silence(1.0)]))
    assert [e for e, _ in events] == ["speech_start", "pause", "end_of_turn", "speech_start", "end_of_turn"]
    assert events[2][1] == pytest.approx(1.0 + 0.7, abs=0.08) and d.model_failed


def test_without_the_model_the_pipeline_keeps_the_fixed_silence(tmp_path: Path) -> None:
    from models.voice import VoicePipeline
    from tests.conftest import make_settings

    settings = make_settings(f"sqlite:///{tmp_path}/x.db", tmp_path, SUIFANG__MODELS__TURN__WHEEL=str(tmp_path / "none.whl"),
                             SUIFANG__MODELS__TURN__MODEL_PATH=str(tmp_path / "missing.onnx"))
    pipeline = VoicePipeline(settings, vad=EnergyVad())
    d = pipeline.end_of_turn_detector(silence_ms=700, pause_ms=250, max_silence_ms=2500)
    assert type(d) is EndOfTurnDetector and d.silence_ms == 700
    smart = VoicePipeline(settings, vad=EnergyVad(), turn_model=ScriptedModel())
    assert isinstance(smart.end_of_turn_detector(silence_ms=700, pause_ms=250), SmartTurnDetector)


def test_pause_must_be_shorter_than_the_cap() -> None:
    from suifang.config import ConfigError, load_settings

    with pytest.raises(ConfigError):
        load_settings(environ={"SUIFANG__PHONE__TURN_PAUSE_MS": "3000", "SUIFANG__PHONE__TURN_MAX_SILENCE_MS": "2000"})


# ----- features -----------------------------------------------------------------------------------

def test_log_mel_matches_whispers_feature_extractor() -> None:
    from transformers import WhisperFeatureExtractor

    rng = np.random.default_rng(3)
    t = np.arange(3 * RATE) / RATE
    clip = (0.2 * np.sin(2 * np.pi * 300 * t * (1 + t)) + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
    window = model_window(clip)
    reference = WhisperFeatureExtractor(chunk_length=8)(
        window, sampling_rate=RATE, padding="max_length", max_length=8 * RATE, truncation=True, do_normalize=True,
        return_tensors="np").input_features[0]
    ours = log_mel(window)
    assert ours.shape == reference.shape == (80, 800)
    assert np.abs(ours - reference).max() < 1e-3


# ----- the real model -----------------------------------------------------------------------------

def _clip(name: str) -> tuple[np.ndarray, str]:
    with (SAMPLES / "transcripts.tsv").open(encoding="utf-8") as handle:
        text = {row[0]: row[1] for row in csv.reader(handle, delimiter="\t")}[name]
    return audio.load_audio(SAMPLES / name), text


def _phone(signal: np.ndarray) -> np.ndarray:
    """What a call hears: 8 kHz μ-law, back to 16 kHz."""
    return audio.phone_to_asr(audio.to_phone(signal, RATE))


@pytest.fixture(scope="module")
def smart_turn(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    from models.turn import load_turn_model
    from tests.conftest import make_settings

    data = tmp_path_factory.mktemp("turn")
    return load_turn_model(make_settings(f"sqlite:///{data}/x.db", data))   # extracted from the wheel set-up keeps


def _real_detector(model) -> SmartTurnDetector:  # noqa: ANN001
    return SmartTurnDetector(model, pause_ms=250, max_silence_ms=2500, fallback_silence_ms=700)


@pytest.mark.models
def test_a_finished_answer_ends_the_turn_after_a_short_pause(smart_turn) -> None:  # noqa: ANN001
    speech, _ = _clip("zh/paddlespeech_zh.wav")     # 我认为跑步最重要的就是给我带来了身体健康
    from models.vad import speech_segments

    end = speech_segments(speech)[-1][1]
    signal = _phone(np.concatenate([silence(0.5), speech[:int(end * RATE)], silence(3.0)]))
    events = run(_real_detector(smart_turn), signal)
    # Its speaker pauses inside the sentence too (after 就是): judged unfinished there, finished at the end.
    assert [e for e, _ in events] == ["speech_start", "pause", "pause", "finished"], events
    fixed = [(e, at) for e, at in run(EndOfTurnDetector(silence_ms=700), signal)]
    assert fixed[-1][0] == "end_of_turn" and events[-1][1] < fixed[-1][1] - 0.3   # sooner than the 700 ms rule


@pytest.mark.models
def test_a_half_sentence_is_not_cut(smart_turn) -> None:  # noqa: ANN001
    """The same real clip broken off where its speaker paused mid-sentence (我认为跑步最重要的就是……),
    then silence: the model hears that it is not finished, and the turn waits out the cap."""
    from models.vad import speech_segments

    speech, _ = _clip("zh/paddlespeech_zh.wav")
    first, second = speech_segments(speech, min_silence_ms=80, pad_ms=0)[:2]
    half = speech[:int(first[1] * RATE)]
    signal = _phone(np.concatenate([silence(0.5), half, silence(3.0)]))
    events = run(_real_detector(smart_turn), signal)
    assert [e for e, _ in events] == ["speech_start", "pause", "end_of_turn"], events
    assert events[-1][1] - (0.5 + first[1]) > 2.4        # only the 2.5 s cap ended it
    # With the rest of the sentence after a 1.2 s thinking pause, it stays one turn.
    whole = _phone(np.concatenate([silence(0.5), half, silence(1.2), speech[int(second[0] * RATE):], silence(2.0)]))
    events = run(_real_detector(smart_turn), whole)
    assert [e for e, _ in events][-1] == "finished" and [e for e, _ in events].count("speech_start") == 1, events
