"""Both sides of a voice call in one stereo recording: left the patient (what the line brought in), right
the assistant (what the service sent out, from the opening's AI and recording notice on), 8 kHz 16-bit
PCM, time-aligned. Stored beside the call's per-turn clips (data_dir/audio/call-<id>/); a call resumed on
a new line gets one recording per line (call-1.wav, call-2.wav, …).

The time line is the line's, not the service's: a phone line carries 20 ms frames in real time, and the
gateway reports (marks) when the audio sent to it has been played. Each side's audio is laid at the
later of "now" and the end of that side's audio so far; audio that has arrived, or that the line says has
been played, has taken its time on the line, so "now" never falls behind it. On a real line that is the
wall clock; with a scripted caller that sends its answer faster than real time and acknowledges prompts
at once, the recording still reads as a conversation (prompt, then answer, then reply). A prompt the
patient talks over is cut where playback was cleared."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from models import audio

log = logging.getLogger(__name__)

RATE = audio.PHONE_RATE
PATIENT, ASSISTANT = 0, 1      # channels: left, right


def call_audio_dir(call_id: int) -> str:
    """A call's folder under data_dir/audio: its per-turn clips and its stereo recordings."""
    return f"call-{call_id}"


def recording_name(part: int) -> str:
    return f"call-{part}.wav"


def recording_refs(audio_root: Path, call_id: int) -> list[tuple[int, str]]:
    """(part, path relative to audio_root) of every stereo recording a call has, in order."""
    folder = audio_root / call_audio_dir(call_id)
    parts = []
    part = 1
    while (folder / recording_name(part)).is_file():
        parts.append((part, f"{call_audio_dir(call_id)}/{recording_name(part)}"))
        part += 1
    return parts


class CallRecording:
    """The two sides of one line's call, laid on one time line as the audio passes."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._t0: float | None = None                    # the first audio either way starts the time line
        self._skew = 0                                   # samples the line is ahead of the wall clock
        self._ends = [0, 0]                              # per side: where its audio so far ends
        self._pieces: tuple[list[list[Any]], list[list[Any]]] = ([], [])   # per side: [start, int16 samples]
        self._marks: dict[str, int] = {}
        self._played_to = 0                              # the line has played the assistant's audio up to here

    def now(self) -> int:
        if self._t0 is None:
            return 0
        return int((self._clock() - self._t0) * RATE) + self._skew

    def _catch_up(self, position: int) -> None:
        behind = position - self.now()
        if behind > 0:
            self._skew += behind

    def _lay(self, side: int, mulaw: bytes, *, earliest: int) -> None:
        if not mulaw:
            return
        if self._t0 is None:
            self._t0 = self._clock()
        samples = audio.mulaw_decode(mulaw)
        start = max(self._ends[side], earliest)
        self._pieces[side].append([start, samples])
        self._ends[side] = start + samples.size

    def heard(self, mulaw: bytes) -> None:
        """The patient's audio as the line delivered it (8 kHz μ-law): spoken just before it arrived, but
        not before what the line last reported played."""
        n = len(mulaw)
        self._lay(PATIENT, mulaw, earliest=max(self._played_to, self.now() - n))
        self._catch_up(self._ends[PATIENT])     # it has been spoken by now

    def said(self, mulaw: bytes) -> None:
        """The assistant's audio handed to the line (played after what is queued before it)."""
        self._lay(ASSISTANT, mulaw, earliest=self.now())

    def marked(self, name: str) -> None:
        """A mark sent after the audio queued so far."""
        self._marks[name] = self._ends[ASSISTANT]

    def played(self, name: str | None) -> None:
        """The line reports the audio before mark `name` played."""
        position = self._marks.pop(name, None) if name else None
        if position is not None:
            self._catch_up(position)
            self._played_to = max(self._played_to, position)

    def cleared(self) -> None:
        """Playback was cleared (the patient talked over the prompt): what had not played is cut."""
        now = self.now()
        kept = []
        for start, samples in self._pieces[ASSISTANT]:
            if start < now:
                kept.append([start, samples[:now - start]])
        self._pieces[ASSISTANT][:] = kept
        self._ends[ASSISTANT] = min(self._ends[ASSISTANT], now)
        self._marks.clear()

    @property
    def empty(self) -> bool:
        return not (self._pieces[PATIENT] or self._pieces[ASSISTANT])

    def stereo(self) -> np.ndarray:
        """(samples, 2) int16: left the patient, right the assistant."""
        length = max(self._ends)
        out = np.zeros((length, 2), dtype=np.int16)
        for side in (PATIENT, ASSISTANT):
            for start, samples in self._pieces[side]:
                out[start:start + samples.size, side] = samples
        return out

    def write(self, audio_root: Path, call_id: int) -> Path | None:
        """Store the recording as the call's next part; None when nothing was carried."""
        if self.empty:
            return None
        folder = audio_root / call_audio_dir(call_id)
        part = len(recording_refs(audio_root, call_id)) + 1
        return audio.write_wav(folder / recording_name(part), self.stereo(), RATE)


class RecordedLine:
    """A line transport that also lays what the service sends on the call's recording; everything else
    (e.g. `drained`, `transfer`) goes to the line underneath."""

    def __init__(self, line: Any, recording: CallRecording) -> None:
        self._line = line
        self.recording = recording

    async def play(self, mulaw: bytes) -> None:
        self.recording.said(mulaw)
        await self._line.play(mulaw)

    async def mark(self, name: str) -> None:
        self.recording.marked(name)
        await self._line.mark(name)

    async def clear(self) -> None:
        self.recording.cleared()
        await self._line.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._line, name)
