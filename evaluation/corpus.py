"""Loading an evaluation corpus: a YAML list of items, each with its required keys and a language."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml


def load_yaml_list(path: str | Path, *, required: tuple[str, ...], what: str,
                   error: type[ValueError]) -> list[dict[str, Any]]:
    """The items of a YAML list file; `error` names the first item without a required key or with a
    language other than zh / en (`what` says what the file holds, for the message)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, list):
        raise error(f"{path}: {what}")
    for i, item in enumerate(data):
        for key in required:
            if not isinstance(item, dict) or key not in item:
                raise error(f"{path}: item #{i} lacks '{key}'")
        if item["language"] not in ("zh", "en"):
            raise error(f"{path}: {item['id']}: language must be zh or en")
    return data


def scratch_environ(tmp: str | Path, *, use_llm: bool) -> dict[str, str]:
    """The environment of an evaluation run: a throwaway database and vector store under `tmp`, the
    packaged models where they are (var/ unless set), and the language model off unless asked for."""
    env = dict(os.environ)
    env.update({
        "SUIFANG__DATABASE__URL": f"sqlite:///{tmp}/eval.db",
        "SUIFANG__SERVICE__DATA_DIR": env.get("SUIFANG__SERVICE__DATA_DIR") or str(Path("var").resolve()),
        "SUIFANG__KNOWLEDGE__CHROMA_DIR": f"{tmp}/chroma",
    })
    if not use_llm:
        env["SUIFANG__MODELS__LLM__BACKEND"] = "off"
    return env


@contextlib.contextmanager
def scratch_services(settings: Any) -> Iterator[Any]:
    """The service's parts over the run's throwaway database (migrated first), closed afterwards."""
    from records.db import upgrade
    from suifang.services import Services

    upgrade(settings.database.url)
    services = Services.build(settings)
    try:
        yield services
    finally:
        services.close()
