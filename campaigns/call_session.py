"""One voice call, whatever line carries it: the per-turn pipeline shared by every phone adapter.

A line adapter (api/phone.py for Twilio Media Streams and the browser softphone, campaigns/sip.py for
SIP/RTP through a PBX or carrier trunk) turns its protocol into a few calls on a `CallSession` —
`open`, `hear` (16 kHz audio), `digit`, `played` (a mark reached the listener), `tick`, `close` — and
gives it a `LineTransport` to speak through: `play` (8 kHz μ-law), `mark`, `clear`, `hangup` and,
where the line can, `transfer`.

Per turn, one method per stage (as Home Assistant's assist pipeline): end of turn (Silero VAD finds
the pauses, Smart Turn judges whether the utterance sounds finished; a fixed silence when that model
is off) → `_recognise` (speech recognition) → `_converse` (the dialog engine) → `_speak` (speech
synthesis, sentence by sentence, from the phone-audio cache the call's known script was rendered
into when it opened). The patient may talk over a prompt (barge-in: `clear`, then listen) but never
over the opening, which says the caller is an AI assistant and the call is recorded; a backchannel
("嗯", "对对", "uh-huh") over a prompt neither interrupts it nor answers it. Silence after a
prompt reprompts; keypad digits answer yes/no (1/2) and readings (digits ended with #, * between two
numbers). Who answered is decided by what the first turn says (language/pickup.py): a carrier
announcement ends the call with its outcome, an answering machine gets a short message, a person
gets the call. A dropped line ends the call as `partial` with every answer so far stored.

A request for a person (转人工) or a red flag inside office hours is transferred to the ward's nurse
where the line can (SIP REFER or a bridged leg); outside office hours, or where it cannot, the patient
is told when a nurse will call back. Either way the review item is opened at once, so the nurse has
the transcript so far.

Every call keeps a typed event log (`CallEvent`: type, UTC time, stage, error code, milliseconds),
stored with the call (`call_events`); it holds no patient words."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from campaigns.recording import CallRecording, RecordedLine, call_audio_dir
from dialogs.flows import call_messages
from language.asr import repair_readings
from language.backchannel import is_backchannel
from language.words import word_list
from language.pickup import Pickup, classify_pickup
from records.audit import SYSTEM_ACTOR, record_audit
from records.metrics import observe_turn_latency

log = logging.getLogger(__name__)

FRAME_MS = 20
PRE_ROLL_FRAMES = 25              # 500 ms of audio before VAD's speech start joins the utterance
PHONE_RATE = 8000
ASR_RATE = 16000
KEYPAD_PAUSE_S = 1.5
# What the line says around the script (the voicemail message, the hand-over to a nurse) is in the call's
# message catalog, dialogs/flows/messages.yaml.
VOICEMAIL_MESSAGES = call_messages().texts("voicemail")
TRANSFER_MESSAGES = {key: call_messages().texts(f"transfer_{key}") for key in ("now", "later", "failed")}
# What the recogniser is told to expect of short speech over a prompt: written out, Whisper writes a
# backchannel as one ("Uh-huh" rather than "Oh, her"; bench/bench_turn.py).
BACKCHANNEL_CONTEXT = {language: " ".join(word_list(f"backchannel_context_{language}")) for language in ("zh", "en")}


@dataclass(frozen=True)
class PhoneOptions:
    silence_timeout_s: float = 7.0        # after a prompt finishes playing
    end_of_turn_silence_ms: int = 700     # trailing silence that ends the patient's turn without the turn model
    turn_pause_ms: int = 500              # a pause this long asks the turn model whether the turn is over
    turn_max_silence_ms: int = 2500       # a turn the model calls unfinished ends after this much silence
    turn_complete_probability: float = 0.5
    early_recognition_ms: int = 150       # silence after which the turn so far is recognised while the turn may still go on (0: off)
    early_recognition_queue: int = 1      # …unless more transcriptions than this are running or waiting
    max_utterance_s: float = 30.0         # a turn longer than this is cut and recognised
    voicemail_greeting_s: float = 6.0     # speech at pick-up this long is recognised and classified; a machine if no words
    barge_in_min_speech_ms: int = 850     # voiced speech this long during a prompt interrupts it
    prepare_prompts_max: int = 80         # sentences of the call's script rendered ahead into the phone-audio cache


# ----- the typed event log ----------------------------------------------------------------------

class CallEventType(str, enum.Enum):
    CALL_START = "call_start"          # the call record is open, the opening is about to play
    MEDIA = "media"                    # the line's audio is up (code: the codec, PCMA | PCMU)
    SPEECH_START = "speech_start"      # VAD heard the patient begin
    TURN_END = "turn_end"              # the patient's turn ended (code: model | silence | max_length; ms: its audio)
    BACKCHANNEL = "backchannel"        # "嗯", "uh-huh" over a prompt: not an interruption, not an answer
    RECOGNISED = "recognised"          # speech recognition finished (ms: its time; code "early": begun before the turn ended, ms: the wait left)
    NOTHING_HEARD = "nothing_heard"    # recognition found no words; the turn is dropped
    REPLY = "reply"                    # the dialog engine answered (ms: its time)
    SYNTHESIZED = "synthesized"        # the reply's first sentence was synthesized (ms: its time)
    PROMPT_AUDIO = "prompt_audio"      # one sentence's phone audio (code: cache_hit | cache_miss; ms: to get it)
    PROMPTS_PREPARED = "prompts_prepared"  # the call's script rendered ahead (code: sentences rendered/total)
    FIRST_AUDIO = "first_audio"        # the reply's first audio went to the line (ms: since turn_end)
    PROMPT_PLAYED = "prompt_played"    # the line reports a prompt played to its end
    BARGE_IN = "barge_in"              # the patient talked over a prompt; playback cleared
    SILENCE = "silence"                # no answer within the silence timeout; reprompted
    DIGIT = "digit"                    # a keypad digit arrived (RFC 4733, SIP INFO, Media Streams dtmf)
    PICKUP = "pickup"                  # who answered (code: carrier | voicemail | person)
    TRANSFER = "transfer"              # handed to a nurse (code: refer | bridge | later | failed)
    HANGUP = "hangup"                  # the call ended (code: completed | dropped | by_service)
    ERROR = "error"                    # a stage failed (stage, code)


class Stage(str, enum.Enum):
    LINE = "line"
    VAD = "vad"
    ASR = "asr"
    DIALOG = "dialog"
    TTS = "tts"


@dataclass(frozen=True)
class CallEvent:
    type: CallEventType
    at: dt.datetime
    stage: Stage | None = None
    code: str | None = None
    ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type.value, "at": self.at.isoformat(), "stage": self.stage.value if self.stage else None,
                "code": self.code, "ms": None if self.ms is None else round(self.ms, 1)}


class StageError(RuntimeError):
    """A stage of the pipeline failed; its code is in the event log."""

    def __init__(self, stage: Stage, code: str) -> None:
        super().__init__(f"{stage.value}: {code}")
        self.stage, self.code = stage, code


# ----- what a line adapter provides -------------------------------------------------------------

class LineTransport(Protocol):
    """The line under a call. Audio is 8 kHz μ-law of any length (the line frames it); a mark is
    reported back through `CallSession.played(name)` once the audio before it has been heard."""

    async def play(self, mulaw: bytes) -> None: ...
    async def mark(self, name: str) -> None: ...
    async def clear(self) -> None: ...
    async def hangup(self) -> None: ...
    async def transfer(self, destination: str) -> str | None: ...  # "refer" when handed over, else None
    # optional: async def drained(self) -> None — returns once everything queued has been played


@dataclass(frozen=True)
class CallTarget:
    """Who a call is for (from a call token, a campaign try or an inbound caller's number)."""

    patient_id: int
    discharge_id: int | None = None
    language: str | None = None
    scheduled_call_id: int | None = None
    call_date: dt.date | None = None
    resume_call_id: int | None = None     # a cut-off call continued on a new line


@dataclass(frozen=True)
class TransferPolicy:
    """Where and when a call may be handed to a nurse. `destination(ward_code)` gives the ward's
    extension (None: this line cannot transfer); `open_now()` says whether nurses take calls now and
    `next_opening()` the words for when they will call back."""

    destination: Callable[[str], str | None]
    open_now: Callable[[], bool]
    next_opening: Callable[[str], str]
    on_red_flag: bool = True


@dataclass(frozen=True)
class EarlyRecognition:
    """The turn so far, recognised during a pause (CallSession._recognise_early)."""
    task: asyncio.Task
    context: str          # what the recogniser was told to expect; the turn's own must be the same


@dataclass
class PhoneStats:
    turn_latencies_ms: list[float] = field(default_factory=list)


# ----- keypad -----------------------------------------------------------------------------------

class KeypadBuffer:
    """DTMF to text: a lone 1 or 2 means yes or no; digits ended with # are a reading; * separates
    two numbers (145*90# is a blood pressure)."""

    def __init__(self) -> None:
        self.digits = ""

    def press(self, digit: str, language: str) -> str | None:
        if digit == "#":
            text, self.digits = self.digits, ""
            return text.replace("*", "/") if text else None
        if digit in "12" and not self.digits:
            # A single 1/2 answers at once; 1 or 2 as the first digit of a reading must be ended with #,
            # so keep it and decide when the next key arrives.
            self.digits = digit
            return None
        self.digits += digit
        return None

    def pending_yes_no(self, language: str) -> str | None:
        """A lone 1 or 2 left pending (no further key within the pause) is yes or no."""
        if self.digits in ("1", "2"):
            answer = {"1": {"zh": "是的", "en": "yes"}, "2": {"zh": "不是", "en": "no"}}[self.digits][language]
            self.digits = ""
            return answer
        return None


# ----- the session ------------------------------------------------------------------------------

class CallSession:
    """One voice call over any line."""

    def __init__(self, *, services: Any, transport: LineTransport, options: PhoneOptions, channel: str = "phone",
                 transfer: TransferPolicy | None = None) -> None:
        self.services = services
        self.recording = CallRecording()                 # both sides, one stereo file per line (campaigns/recording.py)
        self.line = RecordedLine(transport, self.recording)
        self.options = options
        self.channel = channel
        self.transfer_policy = transfer
        self.voice = services.voice()
        self.runner: Any = None
        self.scheduled_call_id: int | None = None
        self.language = "zh"
        self.keypad = KeypadBuffer()
        self.detector: Any = None
        self.phone_in: Any = None   # this line's frames, resampled as one stream (on the first frame)
        self.utterance: list[np.ndarray] = []
        self.playing_marks: set[str] = set()
        self.prompt_task: asyncio.Task | None = None
        self.opening_prompt: asyncio.Task | None = None   # the AI-assistant and recording notice
        self.last_prompt_end: float | None = None
        self.greeting_phase = True
        self.busy = False
        self.stats = PhoneStats()
        self.events: list[CallEvent] = []
        self.last_prompt_text = ""
        self.transferred: str | None = None
        self.pickup: Pickup | None = None               # who answered, when not a person
        self.pre_roll: deque[np.ndarray] = deque(maxlen=PRE_ROLL_FRAMES)
        self._events_stored = 0
        self._mark_seq = 0
        self._speech_ms = 0
        self._over_prompt = False       # this turn began while a prompt was playing and has not barged in
        self.prefetch: Any = None       # the Future of the call's script rendered ahead
        self._keypad_deadline: float | None = None
        self._hangup_sent = False
        self._early: EarlyRecognition | None = None   # the turn so far, being recognised during a pause

    # ----- the event log ------------------------------------------------------------------------

    def log_event(self, type_: CallEventType, *, stage: Stage | None = None, code: str | None = None,
                  ms: float | None = None) -> CallEvent:
        event = CallEvent(type=type_, at=dt.datetime.now(dt.timezone.utc), stage=stage, code=code, ms=ms)
        self.events.append(event)
        return event

    def _store_events(self) -> None:
        from records.schema import CallEventRow

        if self.runner is None or self._events_stored >= len(self.events):
            return
        new = self.events[self._events_stored:]
        with self.services.session_factory() as session:
            for seq, event in enumerate(new, start=self._events_stored):
                session.add(CallEventRow(call_id=self.runner.call_id, seq=seq, type=event.type.value, at=event.at,
                                         stage=event.stage.value if event.stage else None, code=event.code,
                                         ms=None if event.ms is None else round(event.ms, 1)))
            session.commit()
        self._events_stored += len(new)

    @property
    def done(self) -> bool:
        return self.runner is not None and self.runner.done

    @property
    def playing(self) -> bool:
        return self.prompt_task is not None and not self.prompt_task.done()

    @property
    def audible(self) -> bool:
        """A prompt is being synthesized or the line has not yet played all of it (marks unreported)."""
        return self.playing or bool(self.playing_marks)

    # ----- opening ------------------------------------------------------------------------------

    async def open(self, target: CallTarget, *, runner: Any = None) -> None:
        """Open (or resume) the call record and play the opening."""
        self.scheduled_call_id = target.scheduled_call_id
        if runner is None:
            runner = await asyncio.to_thread(self._open_runner, target)
        self.runner = runner
        self.language = self.runner.engine.lang
        o = self.options
        self.detector = self.voice.end_of_turn_detector(
            silence_ms=o.end_of_turn_silence_ms, pause_ms=o.turn_pause_ms, max_silence_ms=o.turn_max_silence_ms,
            complete_probability=o.turn_complete_probability, settle_ms=o.early_recognition_ms)
        await asyncio.to_thread(self._audit_start, target.patient_id)
        self.log_event(CallEventType.CALL_START, stage=Stage.LINE, code=self.channel)
        resumed = target.resume_call_id is not None
        reply = await asyncio.to_thread(self.runner.reconnect if resumed else self.runner.start)
        await self._speak(reply.say, end_of_speech=None)
        self._prepare_prompts(exclude=reply.say)

    def _prepare_prompts(self, *, exclude: str) -> None:
        """Render the rest of the call's known script into the phone-audio cache in the background
        (the opening, being spoken now, is left out). Already rendered sentences (e.g. by the
        campaign worker before dialling) cost nothing here."""
        script = getattr(self.runner.engine, "script", None)
        prefetch = getattr(self.voice, "prefetch_phone", None)
        if script is None or prefetch is None or self.options.prepare_prompts_max <= 0:
            return
        heard = set(self.voice.sentences(exclude, self.language))
        texts = [" ".join(s for s in self.voice.sentences(t, self.language) if s not in heard) for t in script()]
        self.prefetch = prefetch([t for t in texts if t], self.language, max_sentences=self.options.prepare_prompts_max)
        self.prefetch.add_done_callback(self._prepared)

    def _prepared(self, future: Any) -> None:
        if future.cancelled() or future.exception() is not None:
            log.warning("rendering call %s's prompts ahead failed", getattr(self.runner, "call_id", None))
            return
        report = future.result()
        self.log_event(CallEventType.PROMPTS_PREPARED, stage=Stage.TTS, code=f"{report.rendered}/{report.sentences}",
                       ms=report.seconds * 1000)

    def _open_runner(self, target: CallTarget) -> Any:
        from dialogs.runner import CallRunner

        s = self.services
        common = dict(session_factory=s.session_factory, flows=s.flows, settings=s.settings,
                      answerer_factory=s.answerer_factory(), llm_fallback=s.llm_fallback(),
                      semantic=s.semantic_matcher(), second_reader=s.second_reader(), call_date=target.call_date)
        if target.resume_call_id is not None:
            return CallRunner.resume(call_id=target.resume_call_id, **common)
        return CallRunner.open(patient_id=target.patient_id, discharge_id=target.discharge_id, channel=self.channel,
                               scheduled_call_id=target.scheduled_call_id, language=target.language, **common)

    def _audit_start(self, patient_id: int) -> None:
        with self.services.session_factory() as session:
            record_audit(session, actor=SYSTEM_ACTOR, action="call", resource="call", resource_id=self.runner.call_id,
                         patient_id=patient_id, detail=f"{self.channel} line started")
            session.commit()

    # ----- what the line hears ------------------------------------------------------------------

    async def hear(self, pcm16k: np.ndarray) -> None:
        """One frame of the patient's audio, 16 kHz float32 (typically 20 ms)."""
        if self.runner is None or self.runner.done:
            return
        for event in self.detector.feed(pcm16k):
            await self._on_vad_event(event)
        if not self.detector.in_speech:
            self.pre_roll.append(pcm16k)
            return
        self.utterance.append(pcm16k)
        self._speech_ms += FRAME_MS
        if self.greeting_phase and self._speech_ms >= self.options.voicemail_greeting_s * 1000:
            # Long speech at pick-up: decide by what has been said so far, not by its length.
            await self._check_pickup()
            if self.runner.done:
                return
        # Voiced time, not time since the onset: a "嗯" and the silence after it is no interruption.
        if self._over_prompt and self.detector.voiced_ms >= self.options.barge_in_min_speech_ms:
            self._over_prompt = False
            if self.audible:
                await self._barge_in()
        if self._speech_ms >= self.options.max_utterance_s * 1000:
            await self._end_of_turn("max_length")

    async def hear_phone(self, mulaw: bytes) -> None:
        """One frame of 8 kHz μ-law."""
        if self.runner is None or self.runner.done:
            return
        self.recording.heard(mulaw)
        if self.phone_in is None:
            self.phone_in = self.voice.phone_decoder()
        await self.hear(self.phone_in(mulaw))

    async def _on_vad_event(self, event: str) -> None:
        if event == "settling" and self.utterance:
            self._recognise_early()
        elif event == "resumed":
            self._early = None  # the patient went on: what was recognised so far is not the turn
        elif event == "speech_start":
            # VAD confirms speech a few frames in: keep the onset ("对", "No") it has already heard.
            self.utterance = list(self.pre_roll) + self.utterance
            self.pre_roll.clear()
            self._speech_ms = 0
            # The opening (an AI assistant, the call is recorded) is always heard whole: a "喂？" or noise
            # at pick-up never cuts it off.
            opening = self.opening_prompt is not None and self.prompt_task is self.opening_prompt
            self._over_prompt = self.audible and not opening
            self.log_event(CallEventType.SPEECH_START, stage=Stage.VAD)
        elif event == "pause" and self.utterance:
            # The turn model takes tens of milliseconds: not on the event loop other calls share.
            if await asyncio.to_thread(self.detector.judge):
                await self._end_of_turn("model")
        elif event == "end_of_turn" and self.utterance:
            await self._end_of_turn("silence")

    async def digit(self, digit: str) -> None:
        """A keypad digit (0-9, *, #)."""
        if not digit or self.runner is None or self.runner.done:
            return
        self.log_event(CallEventType.DIGIT, stage=Stage.LINE)
        self.greeting_phase = False
        text = self.keypad.press(digit, self.language)
        self._keypad_deadline = time.monotonic() + KEYPAD_PAUSE_S if self.keypad.digits else None
        if text:
            await self._patient_said(text, audio=None, confidence=1.0, ended_at=time.monotonic())

    async def played(self, name: str | None) -> None:
        """The line reports that the audio before mark `name` has been heard."""
        self.recording.played(name)
        self.playing_marks.discard(name)
        if not self.playing_marks and name and name.startswith("end-"):
            self.last_prompt_end = time.monotonic()
            self.log_event(CallEventType.PROMPT_PLAYED, stage=Stage.LINE)

    async def tick(self) -> None:
        """Timers: keypad pause, silence after a prompt (call every ~100 ms)."""
        if self.runner is None or self.runner.done or self.busy:
            return
        now = time.monotonic()
        if self._keypad_deadline and now >= self._keypad_deadline:
            self._keypad_deadline = None
            text = self.keypad.pending_yes_no(self.language)
            if text:
                await self._patient_said(text, audio=None, confidence=1.0, ended_at=now)
                return
        if (self.last_prompt_end is not None and not self.detector.in_speech and not self.playing_marks
                and not self.keypad.digits and now - self.last_prompt_end >= self.options.silence_timeout_s):
            self.last_prompt_end = None
            self.greeting_phase = False
            self.busy = True
            try:
                self.log_event(CallEventType.SILENCE, stage=Stage.VAD)
                reply = await asyncio.to_thread(self.runner.silence)
                await self._speak(reply.say, end_of_speech=None, done=reply.done)
            finally:
                self.busy = False

    async def close(self, *, dropped: bool) -> None:
        """The line is gone (hang-up, dropped, or the call ended): everything said so far is already
        stored; an unfinished call ends as partial."""
        if self.prompt_task is not None:
            self.prompt_task.cancel()
        if self.runner is None:
            return
        if not self.runner.done:
            self.log_event(CallEventType.HANGUP, stage=Stage.LINE, code="dropped" if dropped else "patient")
        elif not any(e.type is CallEventType.HANGUP for e in self.events):
            self.log_event(CallEventType.HANGUP, stage=Stage.LINE, code="completed")
        # The server may cancel this task as the line goes (a closed WebSocket): the closing work runs
        # on its own thread to its end whatever happens to the task waiting for it.
        closing = threading.Thread(target=self._close_record, name=f"call-close-{self.runner.call_id}", daemon=True)
        closing.start()
        await asyncio.shield(asyncio.get_running_loop().run_in_executor(None, closing.join))

    def _close_record(self) -> None:
        if not self.runner.done:
            self.runner.hangup()
        try:
            self._store_events()
        except Exception:  # noqa: BLE001 - the outcome is stored; a lost event log must not hide it
            log.exception("storing the event log of call %s failed", self.runner.call_id)
        try:
            self.recording.write(self.services.settings.data_path("audio"), self.runner.call_id)
        except Exception:  # noqa: BLE001 - likewise the recording
            log.exception("storing the recording of call %s failed", self.runner.call_id)

    # ----- the stages of a turn -----------------------------------------------------------------

    def _recognise_early(self) -> None:
        """A pause in a started turn: recognise it so far now, so that if the turn ends here its words
        are ready (the rest of the end-of-turn silence is spent recognising, not waiting). Speech
        after the pause makes it stale; the recogniser's lock keeps this to one decode at a time."""
        if getattr(self.voice, "transcriptions_in_flight", 0) > self.options.early_recognition_queue:
            return  # other calls' turns are waiting for the recogniser: a guess must not delay them
        audio = np.concatenate(self.utterance)
        if audio.size < ASR_RATE * 0.2:
            return
        context = self._turn_context(self._over_prompt and self.audible)
        task = asyncio.create_task(asyncio.to_thread(self.voice.transcribe, audio, self.language, context=context))
        task.add_done_callback(_consume_exception)
        self._early = EarlyRecognition(task=task, context=context)

    def _turn_context(self, over_prompt: bool) -> str:
        return BACKCHANNEL_CONTEXT[self.language] if over_prompt else self._recognition_context()

    async def _end_of_turn(self, reason: str) -> None:
        early, self._early = self._early, None
        audio = np.concatenate(self.utterance) if self.utterance else np.zeros(0, dtype=np.float32)
        self.utterance = []
        self._speech_ms = 0
        over_prompt, self._over_prompt = self._over_prompt, False
        first_turn, self.greeting_phase = self.greeting_phase, False
        ended_at = time.monotonic()
        if audio.size < ASR_RATE * 0.2:
            return
        self.log_event(CallEventType.TURN_END, stage=Stage.VAD, code=reason, ms=audio.size / ASR_RATE * 1000)
        # Short speech over a prompt that is still playing (it did not barge in): "嗯", "对对" is the
        # patient listening and the prompt goes on; anything else ("不是", "wait") interrupts it and is
        # the answer. Once the prompt has ended, it was an answer to its last words, like any other.
        over_prompt = over_prompt and self.audible
        self.busy = True
        try:
            context = self._turn_context(over_prompt)
            if early is not None and reason != "max_length" and early.context == context:
                transcript = await self._recognised_early(early, audio, context=context)
            else:
                transcript = await self._recognise(audio, context=context)
            if not transcript.text.strip():
                self.log_event(CallEventType.NOTHING_HEARD, stage=Stage.ASR)
                return  # noise or silence never becomes an answer; the silence timer reprompts
            if over_prompt:
                if is_backchannel(transcript.text, self.language):
                    self.log_event(CallEventType.BACKCHANNEL, stage=Stage.ASR)
                    return
                await self._barge_in()
            if first_turn:
                pickup = classify_pickup(transcript.text)
                if pickup.ends_call:  # a short announcement or greeting, over before the length check
                    await self._end_by_pickup(pickup)
                    return
            await self._patient_said(repair_readings(transcript.text, self.language), audio=audio,
                                     confidence=transcript.confidence, ended_at=ended_at)
        finally:
            self.busy = False

    async def _recognised_early(self, early: EarlyRecognition, audio: np.ndarray, *, context: str) -> Any:
        """The early recognition's words (waiting for it if it is still running); if it failed, the
        whole turn is recognised again."""
        began = time.monotonic()
        try:
            transcript = await early.task
        except Exception:  # noqa: BLE001 - recognised again below, where a failure is the stage's error
            return await self._recognise(audio, context=context)
        self.log_event(CallEventType.RECOGNISED, stage=Stage.ASR, code="early", ms=(time.monotonic() - began) * 1000)
        return transcript

    async def _recognise(self, audio: np.ndarray, *, context: str | None = None) -> Any:
        began = time.monotonic()
        try:
            transcript = await asyncio.to_thread(self.voice.transcribe, audio, self.language,
                                                 context=context or self._recognition_context())
        except Exception as exc:
            self.log_event(CallEventType.ERROR, stage=Stage.ASR, code="asr_failed")
            raise StageError(Stage.ASR, "asr_failed") from exc
        self.log_event(CallEventType.RECOGNISED, stage=Stage.ASR, ms=(time.monotonic() - began) * 1000)
        log.info("turn recognised: %.1f s of audio, %d characters, %d segments dropped, confidence %.2f",
                 transcript.duration_s, len(transcript.text), transcript.dropped_segments, transcript.confidence)
        return transcript

    async def _converse(self, text: str, *, audio_ref: str | None, confidence: float | None) -> Any:
        began = time.monotonic()
        try:
            reply = await asyncio.to_thread(self.runner.handle, text, audio_ref=audio_ref, asr_confidence=confidence)
        except Exception as exc:
            self.log_event(CallEventType.ERROR, stage=Stage.DIALOG, code="dialog_failed")
            raise StageError(Stage.DIALOG, "dialog_failed") from exc
        self.log_event(CallEventType.REPLY, stage=Stage.DIALOG, ms=(time.monotonic() - began) * 1000)
        return reply

    async def _patient_said(self, text: str, *, audio: np.ndarray | None, confidence: float | None,
                            ended_at: float) -> None:
        self.last_prompt_end = None
        audio_ref = await asyncio.to_thread(self._store_audio, audio) if audio is not None else None
        reply = await self._converse(text, audio_ref=audio_ref, confidence=confidence)
        handover = self._handover_reason(reply)
        if handover is not None and not reply.done:
            await self._hand_to_nurse(reply, reason=handover, ended_at=ended_at)
            return
        await self._speak(reply.say, end_of_speech=ended_at, done=reply.done)

    def _recognition_context(self) -> str:
        """What the recogniser should expect: the patient's name and drugs, then the last question."""
        context = self.runner.engine.context
        names = [context.patient_name] + [m.name for m in context.medications]
        separator = "、" if self.language == "zh" else ", "
        question = " ".join(self.voice.sentences(self.last_prompt_text, self.language)[-2:])
        return separator.join(n for n in names if n) + ("。" if self.language == "zh" else ". ") + question

    async def _speak(self, text: str, *, end_of_speech: float | None, done: bool = False) -> None:
        self.last_prompt_text = text
        if self.playing:
            self.prompt_task.cancel()
        self.prompt_task = asyncio.create_task(self._play(text, end_of_speech=end_of_speech, done=done))
        self.prompt_task.add_done_callback(_log_failure)
        if self.opening_prompt is None:
            self.opening_prompt = self.prompt_task
        if done:
            await asyncio.shield(self.prompt_task)

    async def _play(self, text: str, *, end_of_speech: float | None, done: bool) -> None:
        first = True
        for sentence in self._pieces(text):
            began = time.monotonic()
            mulaw = await self._phone_audio(sentence)
            if first and end_of_speech is not None:
                self.log_event(CallEventType.SYNTHESIZED, stage=Stage.TTS, ms=(time.monotonic() - began) * 1000)
                latency_ms = (time.monotonic() - end_of_speech) * 1000
                self.stats.turn_latencies_ms.append(latency_ms)
                observe_turn_latency(latency_ms / 1000, stage="voice")
                self.log_event(CallEventType.FIRST_AUDIO, stage=Stage.TTS, ms=latency_ms)
            first = False
            await self.line.play(mulaw)
            await self._mark(f"s-{self._mark_seq}")
        await self._mark(f"end-{self._mark_seq}")
        if done:
            await self._hang_up()

    def _pieces(self, text: str) -> list[str]:
        """What is synthesized and played one after the other: the sentences, except that a first
        sentence not rendered ahead starts with its first clause alone, so the patient hears it while
        the rest is synthesized (the answer to a question is new text; its opening may be cached)."""
        sentences = self.voice.sentences(text, self.language)
        cached_phone = getattr(self.voice, "cached_phone", None)
        split = getattr(self.voice, "first_clause", None)
        if sentences and cached_phone is not None and split is not None \
                and cached_phone(sentences[0], self.language) is None:
            return [*split(sentences[0], self.language), *sentences[1:]]
        return sentences

    async def _phone_audio(self, piece: str) -> bytes:
        """One piece's phone audio: from the cache if it was rendered ahead, else synthesized now."""
        began = time.monotonic()
        cached_phone = getattr(self.voice, "cached_phone", None)
        mulaw = cached_phone(piece, self.language) if cached_phone is not None else None
        hit = mulaw is not None
        if not hit:
            try:
                mulaw = await asyncio.to_thread(self.voice.synthesize_phone, piece, self.language)
            except Exception as exc:
                self.log_event(CallEventType.ERROR, stage=Stage.TTS, code="tts_failed")
                raise StageError(Stage.TTS, "tts_failed") from exc
        if cached_phone is not None:
            self.log_event(CallEventType.PROMPT_AUDIO, stage=Stage.TTS, code="cache_hit" if hit else "cache_miss",
                           ms=(time.monotonic() - began) * 1000)
        return mulaw

    async def _hang_up(self) -> None:
        if not self._hangup_sent:
            self._hangup_sent = True
            self.log_event(CallEventType.HANGUP, stage=Stage.LINE, code="by_service")
            await self.line.hangup()

    async def _mark(self, prefix: str) -> None:
        self._mark_seq += 1
        name = f"{prefix}-{self._mark_seq}"
        self.playing_marks.add(name)
        await self.line.mark(name)

    async def _barge_in(self) -> None:
        if self.prompt_task is not None:
            self.prompt_task.cancel()
        self.playing_marks.clear()
        self.log_event(CallEventType.BARGE_IN, stage=Stage.LINE)
        await self.line.clear()

    # ----- who answered -------------------------------------------------------------------------

    async def _check_pickup(self) -> None:
        """Speech at pick-up has gone on for `voicemail_greeting_s`: recognise it so far and classify it.
        A person keeps the turn (and the call); a carrier or a machine ends it; no words at all fall
        back to the length rule (a machine)."""
        self._early = None
        self.greeting_phase = False
        audio = np.concatenate(self.utterance) if self.utterance else np.zeros(0, dtype=np.float32)
        self.busy = True
        try:
            transcript = await self._recognise(audio)
        finally:
            self.busy = False
        pickup = classify_pickup(transcript.text)
        log.info("pick-up after %.1f s of speech: %s", self._speech_ms / 1000, pickup.kind)
        if pickup.kind == "unknown":
            pickup = Pickup("voicemail", call_status="voicemail", try_outcome="voicemail")  # the length fallback
        if pickup.ends_call:
            await self._end_by_pickup(pickup)

    async def _end_by_pickup(self, pickup: Pickup) -> None:
        """A carrier announcement ends the call with its outcome, silently; a machine gets the short
        message. A campaign try is finished at once with the try's own outcome (an empty number stops
        the retry ladder and opens a nurse task)."""
        self.greeting_phase = False
        self.utterance = []
        self.pickup = pickup
        self.log_event(CallEventType.PICKUP, stage=Stage.ASR, code=pickup.kind)
        log.info("call %s answered by %s: ends as %s", self.runner.call_id, pickup.kind, pickup.call_status)
        if pickup.kind == "voicemail":
            await self._voicemail(evidence=pickup.evidence or None)
        else:
            if self.playing:
                await self._barge_in()
            await asyncio.to_thread(self.runner.mark_unreached, pickup.call_status, evidence=pickup.evidence or None)
            await self._hang_up()
        if self.scheduled_call_id is not None and pickup.try_outcome:
            await asyncio.to_thread(self._finish_try, pickup.try_outcome)

    def _finish_try(self, try_outcome: str) -> None:
        from campaigns.windows import CallingPolicy
        from records import campaigns as store
        from records.schema import utcnow

        with self.services.session_factory() as session:
            store.finish_live_try(session, scheduled_call_id=self.scheduled_call_id, call_status=try_outcome,
                                  call_id=self.runner.call_id, now=utcnow(),
                                  policy=CallingPolicy.from_settings(self.services.settings))

    async def _voicemail(self, evidence: str | None = None) -> None:
        self.greeting_phase = False
        context = self.runner.engine.context
        message = VOICEMAIL_MESSAGES[self.language].format(hospital=context.hospital, ward_team=context.ward_team)
        await asyncio.to_thread(self.runner.mark_unreached, "voicemail", evidence=evidence)
        self.utterance = []
        await self._speak(message, end_of_speech=None, done=True)

    # ----- handing the patient to a nurse -------------------------------------------------------

    def _handover_reason(self, reply: Any) -> str | None:
        """"transfer_requested" (转人工) or a red flag raised in this turn, on a line with a transfer policy."""
        if self.transfer_policy is None or self.transferred is not None:
            return None
        kinds = {e.get("type") for e in reply.events}
        if "transfer_requested" in kinds:
            return "patient_request"
        if self.transfer_policy.on_red_flag and any(e.get("type") == "flag" and e.get("level") == "red"
                                                    for e in reply.events):
            return "red_flag"
        return None

    async def _hand_to_nurse(self, reply: Any, *, reason: str, ended_at: float) -> None:
        """Inside office hours: say so, then REFER (or bridge) the patient to the ward's nurse; the
        review item is already open with the transcript so far. Outside: the engine's reply, then when
        the nurse will call back; the call goes on."""
        policy = self.transfer_policy
        context = self.runner.engine.context
        ward_code = await asyncio.to_thread(self.runner.ward_code)
        destination = policy.destination(ward_code) if ward_code else None
        await asyncio.to_thread(self.runner.note_transfer, reason)
        if destination is None or not policy.open_now():
            self.transferred = "later"
            self.log_event(CallEventType.TRANSFER, stage=Stage.LINE, code="later")
            when = policy.next_opening(self.language)
            text = f"{reply.say} {TRANSFER_MESSAGES['later'][self.language].format(when=when)}"
            await self._speak(text.strip(), end_of_speech=ended_at)
            return
        text = TRANSFER_MESSAGES["now"][self.language].format(ward_team=context.ward_team)
        await self._speak(text, end_of_speech=ended_at)
        if self.prompt_task is not None:
            await asyncio.shield(self.prompt_task)
        await self._wait_played()
        how = await self.line.transfer(destination)
        if how is None:
            self.log_event(CallEventType.TRANSFER, stage=Stage.LINE, code="failed")
            self.transferred = "failed"
            await self._speak(f"{TRANSFER_MESSAGES['failed'][self.language]} {reply.say}", end_of_speech=None)
            return
        self.transferred = how
        self.log_event(CallEventType.TRANSFER, stage=Stage.LINE, code=how)
        await asyncio.to_thread(self.runner.transferred, how)
        self._hangup_sent = True   # the line now belongs to the nurse

    async def _wait_played(self, timeout_s: float = 30.0) -> None:
        """Until the line has played everything queued (the patient hears the whole notice)."""
        drained = getattr(self.line, "drained", None)
        if drained is not None:
            await asyncio.wait_for(drained(), timeout_s)
            return
        deadline = time.monotonic() + timeout_s
        while self.playing_marks and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    # ----- storage ------------------------------------------------------------------------------

    def _store_audio(self, audio: np.ndarray) -> str:
        directory = self.services.settings.data_path("audio", call_audio_dir(self.runner.call_id))
        directory.mkdir(parents=True, exist_ok=True)
        name = f"turn-{self.runner._seq:03d}.wav"
        self.voice.write_wav(directory / name, audio, ASR_RATE)
        return str(Path(call_audio_dir(self.runner.call_id)) / name)


def _consume_exception(task: asyncio.Task) -> None:
    """An early recognition nobody waits for (the patient went on) must not log "never retrieved"."""
    if not task.cancelled():
        task.exception()


def _log_failure(task: asyncio.Task) -> None:
    """A prompt task that dies must say so: otherwise the line just goes quiet."""
    if not task.cancelled() and task.exception() is not None:
        log.error("playing a prompt failed", exc_info=task.exception())
