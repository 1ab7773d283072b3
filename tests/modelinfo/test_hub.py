"""Hub search: offline mode, network failures and hangs all become Offline with a reason, quickly."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from studio.modelinfo import hub


class FakeApi:
    def __init__(self, models=(), error=None, delay=0.0):
        self.models, self.error, self.delay, self.calls = list(models), error, delay, []

    def list_models(self, **kwargs):
        self.calls.append(kwargs)
        time.sleep(self.delay)
        if self.error:
            raise self.error
        return iter(self.models)


def test_offline_mode_answers_at_once(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    api = FakeApi()
    start = time.monotonic()
    with pytest.raises(hub.Offline, match="HF_HUB_OFFLINE=1"):
        hub.search("llama", api_factory=lambda: api)
    assert time.monotonic() - start < 0.5 and api.calls == []


def test_results_most_downloaded_first(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    when = datetime(2025, 1, 2, tzinfo=timezone.utc)
    api = FakeApi([SimpleNamespace(id="HuggingFaceTB/SmolLM2-135M", downloads=1000, likes=10,
                                   pipeline_tag="text-generation", library_name="transformers",
                                   last_modified=when)])
    rows = hub.search("smollm", limit=5, api_factory=lambda: api)
    assert api.calls == [{"search": "smollm", "sort": "downloads", "limit": 5}]
    assert rows == [{"id": "HuggingFaceTB/SmolLM2-135M", "downloads": 1000, "likes": 10,
                     "pipeline_tag": "text-generation", "library": "transformers",
                     "updated": when.isoformat()}]


def test_network_failure_is_offline_with_the_reason(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    api = FakeApi(error=ConnectionError("Name or service not known"))
    with pytest.raises(hub.Offline, match="cannot reach the Hugging Face Hub.*Name or service not known"):
        hub.search("x", api_factory=lambda: api)


def test_a_hanging_request_times_out(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    start = time.monotonic()
    with pytest.raises(hub.Offline, match="within 0.2 s"):
        hub.search("x", timeout_s=0.2, api_factory=lambda: FakeApi(delay=5))
    assert time.monotonic() - start < 1.5
