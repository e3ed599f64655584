"""Questions past the ones answered per call are still questions: noted for a nurse (answered: false),
never taken as the answer to the field being asked."""

from __future__ import annotations

from dialogs.engine import AnswerResult
from tests.conftest import step_engine


def test_a_question_past_the_cap_is_noted_for_a_nurse_and_the_field_is_asked_again() -> None:
    engine = step_engine(("side_effects", "symptoms"), "zh")
    engine.answer_question = lambda q, lang: AnswerResult(text="（按医嘱）", answered=True, sources=(1,))
    engine.max_questions = 2
    for q in ("阿司匹林饭前吃还是饭后吃？", "什么时候复查？"):
        reply = engine.handle(q)
        assert reply.expecting == "side_effects" and "按医嘱" in reply.say
    reply = engine.handle("我能不能喝点酒？")
    assert reply.expecting == "side_effects"                       # asked again, not taken as an answer
    assert "护士" in reply.say and engine.state.collected.get("side_effects") is None
    assert [q["answered"] for q in engine.state.questions] == [True, True, False]
    engine.handle("没有")
    assert engine.state.collected.get("side_effects") == []


def test_endless_questions_do_not_hold_the_call_forever() -> None:
    engine = step_engine(("side_effects", "symptoms"), "en")
    engine.answer_question = lambda q, lang: AnswerResult(text="(per your orders)", answered=True, sources=(1,))
    engine.max_questions = 1
    expecting = [engine.handle(f"Question number {i}?").expecting for i in range(4)]
    # two are questions (twice the cap), then they are answers not understood: asked once more, then left
    assert len(engine.state.questions) == 2
    assert expecting == ["side_effects", "side_effects", "side_effects", "symptoms"]
