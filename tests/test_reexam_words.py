"""Whether the re-examination was done, in the words patients use: where it was done says it was done
(在社区医院查的), a test booked for later is not done yet, a question about a plan is no answer of done."""

from __future__ import annotations

import pytest

from tests.conftest import step_engine


def reexam_done(text: str, lang: str) -> object:
    engine = step_engine(("reexam_done",), lang)
    engine.handle(text)
    return engine.state.collected.get("reexam_done")


@pytest.mark.parametrize("text, lang, done", [
    ("在社区医院查的", "zh", True),
    ("上礼拜在县医院做的CT", "zh", True),
    ("还没去查的", "zh", False),
    ("I'm booked in for Thursday.", "en", False),
    ("Yes, had it done, I'm booked in for the results on Friday.", "en", True),
])
def test_reexam_done_words(text: str, lang: str, done: bool) -> None:
    assert reexam_done(text, lang) is done
