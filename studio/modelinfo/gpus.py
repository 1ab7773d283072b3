"""The GPUs of this machine without torch: NVML (nvidia-ml-py, a ctypes wrapper of the driver's
libnvidia-ml) lists them in milliseconds, where importing torch to ask CUDA costs the window seconds.

[] on a machine without an NVIDIA driver, so callers treat "no GPU" and "no NVML" alike: the run
trains on the CPU there either way.
"""
from __future__ import annotations

import os
from typing import Any


def list_gpus() -> list[dict[str, Any]]:
    """The GPUs a run may use: [{index, name, memory_total_bytes}] in CUDA's order; [] when none."""
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except Exception:  # NVMLError_LibraryNotFound on a CPU machine, DriverNotLoaded, NoPermission...
        return []
    try:
        found = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(handle)
            found.append({"index": i, "name": name.decode() if isinstance(name, bytes) else str(name),
                          "uuid": _uuid(pynvml, handle),
                          "memory_total_bytes": int(pynvml.nvmlDeviceGetMemoryInfo(handle).total)})
    except Exception:  # a device that fails to answer: better no list than a wrong one
        return []
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass
    return visible(found, os.environ.get("CUDA_VISIBLE_DEVICES"))


def _uuid(pynvml: Any, handle: Any) -> str:
    try:
        uuid = pynvml.nvmlDeviceGetUUID(handle)
    except Exception:
        return ""
    return uuid.decode() if isinstance(uuid, bytes) else str(uuid)


def visible(gpus: list[dict[str, Any]], mask: str | None) -> list[dict[str, Any]]:
    """The GPUs CUDA_VISIBLE_DEVICES leaves to CUDA (and so to torchrun's ranks), renumbered as
    CUDA numbers them; NVML itself ignores the variable. Unset: all of them."""
    if mask is None:
        return [{k: v for k, v in g.items() if k != "uuid"} for g in gpus]
    out: list[dict[str, Any]] = []
    used: set[int] = set()
    for entry in (e.strip() for e in mask.split(",")):
        # CUDA stops at the first entry it cannot match or has seen (an empty mask hides every GPU).
        match = next((g for g in gpus if (entry.isdigit() and g["index"] == int(entry))
                      or (entry.startswith("GPU-") and g.get("uuid", "").startswith(entry))), None)
        if match is None or match["index"] in used:
            break
        used.add(match["index"])
        out.append({"index": len(out), "name": match["name"], "memory_total_bytes": match["memory_total_bytes"]})
    return out

def describe(gpus: list[dict[str, Any]]) -> str:
    """One line for the window: 'No GPU found: …' or '2 × NVIDIA H100 80GB HBM3 (79.6 GiB each)'."""
    if not gpus:
        return "No GPU found: training runs on the CPU"
    from studio.modelinfo.memory import format_memory

    names = [g["name"] for g in gpus]
    if len(set(names)) == 1:
        size = format_memory(gpus[0]["memory_total_bytes"])
        return f"{len(gpus)} × {names[0]} ({size}{' each' if len(gpus) > 1 else ''})"
    return ", ".join(f"GPU {g['index']}: {g['name']} ({format_memory(g['memory_total_bytes'])})" for g in gpus)
