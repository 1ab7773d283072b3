"""The GPU list the window shows, from a faked NVML: none, one, four, CUDA_VISIBLE_DEVICES, failures."""
from __future__ import annotations

import sys
import types

import pytest

from studio.modelinfo.gpus import describe, list_gpus

GIB = 2**30


class FakeNvml(types.ModuleType):
    """pynvml's calls the module makes, over a list of (name, total bytes); init may fail."""

    class NVMLError(Exception):
        pass

    def __init__(self, devices: list[tuple[str, int]], init_error: bool = False, bytes_names: bool = False):
        super().__init__("pynvml")
        self.devices, self.init_error, self.bytes_names = devices, init_error, bytes_names
        self.inits = self.shutdowns = 0

    def nvmlInit(self):
        if self.init_error:
            raise self.NVMLError("NVML Shared Library Not Found")
        self.inits += 1

    def nvmlShutdown(self):
        self.shutdowns += 1

    def nvmlDeviceGetCount(self):
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetName(self, h):
        name = self.devices[h][0]
        return name.encode() if self.bytes_names else name  # older nvidia-ml-py returned bytes

    def nvmlDeviceGetUUID(self, h):
        return f"GPU-{h:08d}-aaaa"

    def nvmlDeviceGetMemoryInfo(self, h):
        return types.SimpleNamespace(total=self.devices[h][1], used=0, free=self.devices[h][1])


@pytest.fixture
def nvml(monkeypatch):
    """Install a fake pynvml with the given devices; CUDA_VISIBLE_DEVICES unset."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    def install(devices, **kw):
        fake = FakeNvml(devices, **kw)
        monkeypatch.setitem(sys.modules, "pynvml", fake)
        return fake
    return install


def test_no_gpu(nvml):
    """A CPU machine: NVML's library is missing (init fails), or the driver lists no device."""
    fake = nvml([], init_error=True)
    assert list_gpus() == []
    assert fake.shutdowns == 0
    nvml([])
    assert list_gpus() == []
    assert describe([]) == "No GPU found: training runs on the CPU"


def test_no_nvml_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` raises ImportError
    assert list_gpus() == []


def test_one_gpu(nvml):
    fake = nvml([("NVIDIA H200", 141 * GIB)], bytes_names=True)
    gpus = list_gpus()
    assert gpus == [{"index": 0, "name": "NVIDIA H200", "memory_total_bytes": 141 * GIB}]
    assert (fake.inits, fake.shutdowns) == (1, 1)  # NVML is let go again: the window holds no handle
    assert describe(gpus) == "1 × NVIDIA H200 (141.00 GiB)"


def test_four_gpus_and_visible_devices(nvml, monkeypatch):
    nvml([("NVIDIA A100-SXM4-80GB", 80 * GIB)] * 3 + [("NVIDIA RTX 4090", 24 * GIB)])
    gpus = list_gpus()
    assert [g["index"] for g in gpus] == [0, 1, 2, 3]
    assert gpus[3] == {"index": 3, "name": "NVIDIA RTX 4090", "memory_total_bytes": 24 * GIB}
    assert describe(gpus).startswith("GPU 0: NVIDIA A100-SXM4-80GB (80.00 GiB), ")
    assert describe(gpus[:3]) == "3 × NVIDIA A100-SXM4-80GB (80.00 GiB each)"
    # torchrun's ranks see what CUDA_VISIBLE_DEVICES leaves them, renumbered from 0; NVML ignores it.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    assert [(g["index"], g["name"]) for g in list_gpus()] == [(0, "NVIDIA RTX 4090"), (1, "NVIDIA A100-SXM4-80GB")]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-00000002")
    assert len(list_gpus()) == 1
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,7,1")  # CUDA stops at the first unknown entry
    assert len(list_gpus()) == 1
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert list_gpus() == []


def test_a_failing_device_gives_no_list(nvml):
    fake = nvml([("NVIDIA L4", 24 * GIB)])

    def broken(_h):
        raise fake.NVMLError("GPU is lost")
    fake.nvmlDeviceGetMemoryInfo = broken
    assert list_gpus() == []
    assert fake.shutdowns == 1
