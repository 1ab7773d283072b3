"""Search the Hugging Face Hub for models, bounded by a timeout, with a clear offline answer.

search() blocks its caller for at most timeout_s: the GUI runs it on a pool thread. The request
itself runs on a daemon thread, because huggingface_hub's HTTP client has no timeout of its own
and retries; a request still hanging after the deadline is abandoned, never waited for.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable

OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


class Offline(RuntimeError):
    """The Hub cannot be reached: offline mode, no network, or no answer in time (the reason says which)."""


def offline_reason() -> str | None:
    """Why the Hub must not be asked (an offline variable is set), or None."""
    for var in OFFLINE_VARS:
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"offline mode: {var}={os.environ[var]} is set"
    return None


def _default_api() -> Any:
    from huggingface_hub import HfApi

    return HfApi()


def search(query: str, limit: int = 30, timeout_s: float = 8.0,
           api_factory: Callable[[], Any] = _default_api) -> list[dict[str, Any]]:
    """Models matching query, most downloaded first: id, downloads, likes, pipeline tag, library, updated."""
    reason = offline_reason()
    if reason:
        raise Offline(reason)
    outcome: dict[str, Any] = {}

    def ask() -> None:
        try:
            found = api_factory().list_models(search=query or None, sort="downloads", limit=limit)
            outcome["rows"] = [_row(m) for m in found]
        except Exception as e:  # reported to the caller below as the offline reason
            outcome["error"] = e

    worker = threading.Thread(target=ask, name="hub-search", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise Offline(f"no answer from the Hugging Face Hub within {timeout_s:g} s")
    if "error" in outcome:
        raise Offline(_describe(outcome["error"])) from outcome["error"]
    return outcome["rows"]


def _row(model: Any) -> dict[str, Any]:
    updated = getattr(model, "last_modified", None) or getattr(model, "created_at", None)
    return {
        "id": model.id,
        "downloads": getattr(model, "downloads", None),
        "likes": getattr(model, "likes", None),
        "pipeline_tag": getattr(model, "pipeline_tag", None),
        "library": getattr(model, "library_name", None),
        "updated": updated.isoformat() if hasattr(updated, "isoformat") else updated,
    }


def _describe(error: Exception) -> str:
    """A one-line reason for the offline state."""
    name = type(error).__name__
    if name == "OfflineModeIsEnabled":
        return "offline mode is enabled (HF_HUB_OFFLINE)"
    text = str(error).strip().splitlines()[0] if str(error).strip() else name
    return f"cannot reach the Hugging Face Hub ({name}: {text[:200]})"
