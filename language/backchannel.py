"""Backchannels ("嗯", "对对", "uh-huh", "yeah"): a listener keeping the line warm, not answering.

`is_backchannel(text, language)` says whether recognised words are nothing but backchannel words
(language/data/word_lists.yaml backchannels_zh / backchannels_en). The call session asks it about a
short stretch of speech heard over a prompt, which then neither interrupts the prompt nor becomes the
answer to the question being asked."""

from __future__ import annotations

import re

from language.words import word_list

_NOT_WORD = re.compile(r"[^\w\u4e00-\u9fff'-]+")


def is_backchannel(text: str, language: str, words_of: str = "backchannels") -> bool:
    """True when `text` holds words and every one of them is a backchannel word of `language`
    (`words_of="hums"`: only the listener's hums, "嗯", "uh-huh", which say neither yes nor no)."""
    if language == "zh":
        chars = _NOT_WORD.sub("", text or "")
        if not chars:
            return False
        words = sorted(word_list(f"{words_of}_zh"), key=len, reverse=True)
        # Mandarin has no spaces: strip known backchannel words from the front until nothing is left.
        while chars:
            match = next((w for w in words if chars.startswith(w)), None)
            if match is None:
                return False
            chars = chars[len(match):]
        return True
    tokens = [t.strip("'-") for t in _NOT_WORD.sub(" ", (text or "").lower()).split()]
    tokens = [t for t in tokens if t]
    return bool(tokens) and all(t in word_list(f"{words_of}_en") for t in tokens)
