"""A call's prompts rendered before it is dialled.

Everything a follow-up call will say but the answers to patient questions is known before the
number is dialled: the flow, the orders, the patient's name (FollowupEngine.script). Kokoro takes
about 0.8 CPU-seconds per second of speech here, too slow to synthesize every prompt in the turn, so
the worker that places a voice call hands the script to the voice pipeline first; its background
thread renders the sentences (at most phone.prepare_prompts_max, the likeliest first) into the
phone-audio cache and the speech cache on disk while the phone rings. The call session does the same
for what is left when the call opens (an inbound call, a Twilio call served by another process)."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any

from records.campaigns import CallRequest

log = logging.getLogger(__name__)


def prepare_call_prompts(services: Any, request: CallRequest) -> Future[Any] | None:
    """Start rendering the script of the call `request` will place; None for a resumed call (its
    session renders what is left of it when it opens)."""
    from dialogs.runner import CallRunner

    if request.resume_call_id is not None or services.settings.phone.prepare_prompts_max <= 0:
        return None
    language, texts = CallRunner.script(session_factory=services.session_factory, flows=services.flows,
                                        settings=services.settings, patient_id=request.patient_id,
                                        discharge_id=request.discharge_id, call_date=request.call_date,
                                        language=request.language)
    return services.voice().prefetch_phone(texts, language, max_sentences=services.settings.phone.prepare_prompts_max)
