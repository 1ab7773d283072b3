"""Memory readings for the monitor: CUDA allocator + NVML on GPU, process RSS on CPU."""
from __future__ import annotations

import os

_nvml_handle = None
_process = None


def memory_metrics(device: str) -> dict[str, float]:
    """Current memory figures in bytes, named as the store records them."""
    global _process
    if _process is None:  # building a psutil.Process costs more than reading it: keep one
        import psutil

        _process = psutil.Process(os.getpid())
    out = {"rss_bytes": float(_process.memory_info().rss)}
    if device != "cuda":
        return out
    import torch

    out.update(
        cuda_allocated_bytes=float(torch.cuda.memory_allocated()),
        cuda_reserved_bytes=float(torch.cuda.memory_reserved()),
        cuda_peak_bytes=float(torch.cuda.max_memory_allocated()),
    )
    used = _nvml_used()
    if used is not None:
        out["gpu_device_used_bytes"] = used
    return out


def _nvml_used() -> float | None:
    """Memory used on the whole device (all processes), as nvidia-smi shows it."""
    global _nvml_handle
    try:
        import pynvml

        if _nvml_handle is None:
            pynvml.nvmlInit()
            import torch

            _nvml_handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())
        return float(pynvml.nvmlDeviceGetMemoryInfo(_nvml_handle).used)
    except Exception:  # NVML missing or not permitted: the allocator figures still stand
        return None
