"""'A bit of tightness' told in answer to "any new symptoms?" is chest tightness; tightness of another named
body part is not, and a denial stays a denial."""

from __future__ import annotations

import pytest

from dialogs.understanding import normalize, parse_field


def symptoms(text: str) -> dict | None:
    return parse_field("symptoms", normalize(text), "en", {}).value


@pytest.mark.parametrize("text", [
    "Bit of tightness when I climb the stairs, goes off after a minute.",
    "I get some tightness carrying the shopping in.",
])
def test_tightness_said_alone_is_the_chests(text: str) -> None:
    got = symptoms(text)
    assert got is not None and "chest_tightness" in got["present"]


@pytest.mark.parametrize("text", [
    "A bit of tightness in my calf after the walk.",
    "Some tightness around the stitches, that's all.",
])
def test_tightness_of_another_body_part_is_not(text: str) -> None:
    got = symptoms(text)
    assert got is None or "chest_tightness" not in got["present"]


def test_the_dog_walked_is_no_one_elses_complaint_but_the_dogs_cough_is() -> None:
    got = symptoms("When I walk the dog I get a bit of tightness, it goes when I stand still.")
    assert got is not None and "chest_tightness" in got["present"]
    got = symptoms("The dog's had a cough all week. Me? I'm fine.")
    assert got is None or "cough" not in got["present"]
