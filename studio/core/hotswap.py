"""Hot-swapping adapters on one base model loaded once (the comparer's engine).

PEFT adapters share one PeftModel (from_pretrained for the first, load_adapter for the rest,
set_adapter to switch; a different PEFT type replaces the wrapper). Our own methods attach to the
same base (apply + copy their tensors) and detach again: adapter modules and hooks are removed and
every base tensor they overwrote (biases, norms, top blocks, a head) is restored bit-exactly. While
one of ours or the base alone is active, the PEFT layers are switched off, so they mix freely.
"""
from __future__ import annotations

import itertools
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASE = "base"  # the column of the base model alone


@dataclass
class AdapterInfo:
    """What an adapter folder holds: its method, task, labels and the base it was trained on."""

    name: str
    path: str
    method: str
    task: str
    base_model: str | None = None
    base_model_path: str | None = None
    base_sha256: str | None = None
    labels: list[str] | None = None
    peft_type: str | None = None  # None for our own methods
    options: dict[str, Any] = field(default_factory=dict)


class AdapterSwapper:
    """A base model loaded once, and adapters swapped onto it one at a time (or none: BASE)."""

    def __init__(self, base_ref: str, task: str, *, labels: list[str] | None = None, device: str | None = None,
                 models_dir: str | Path | None = None, load_kwargs: dict[str, Any] | None = None):
        import torch
        import transformers

        from studio.core.models import ensure_pad_token_id, load_model, load_tokenizer, model_folder

        transformers.utils.logging.disable_progress_bar()  # keep the terminal output to the results
        warnings.filterwarnings("ignore", category=FutureWarning)
        if models_dir is None:
            from studio.paths import resolve_home
            models_dir = resolve_home().models_dir
        self.task, self.labels, self.base_ref = task, labels, base_ref
        self.folder = model_folder(base_ref, Path(models_dir))
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = load_tokenizer(self.folder)
        start = time.perf_counter()
        self.base = load_model(self.folder, task, label_names=labels, **(load_kwargs or {}))
        if not getattr(self.base, "is_quantized", False):  # a quantized base is placed by its device_map
            self.base.to(self.device)
        self.base.eval()
        self._sync()
        self.base_load_s = time.perf_counter() - start
        self.base_loads = 1
        ensure_pad_token_id(self.base, self.tokenizer)
        # The base's own parameters by name, kept as objects: PEFT wraps modules but keeps these.
        self._originals = dict(self.base.named_parameters(remove_duplicate=False))
        self.adapters: dict[str, AdapterInfo] = {}
        self.peft: Any = None
        self._peft_type: str | None = None
        self._peft_keys: dict[str, str] = {}  # adapter name -> PEFT adapter name (no dots, unique)
        self._keys = itertools.count()
        self._peft_layers: list[Any] | None = None  # PEFT's wrappers in the base, found once per load
        self._peft_on: bool | None = None  # whether they are switched on (None: unknown, after a load)
        self._own: str | None = None  # which of our adapters is attached
        self._detached: dict[str, list] = {}  # ours, taken out again: modules and hooks to put back
        self._owners: dict[str, list] = {}  # ours: the modules its adapters hang from
        self._base_tensors: dict[str, dict[str, Any]] = {}  # ours: trained values of base tensors
        self._pristine: dict[str, Any] = {}  # the base's own values of every tensor one of ours replaces
        self.active = BASE
        self.swaps: list[dict[str, Any]] = []

    # --- adapters and swapping
    def add_info(self, info: AdapterInfo) -> AdapterInfo:
        """Register an adapter for this base (loaded on first use); refuses another task or label set."""
        name = info.name
        if name == BASE or name in self.adapters:
            why = "reserved for the base column" if name == BASE else "given twice"
            raise ValueError(f"adapter name {name!r} is {why}")
        if info.task != self.task:
            raise ValueError(f"adapter {name!r} is a {info.task} adapter; this comparison is {self.task}")
        if self.task == "classification" and info.labels != self.labels:
            raise ValueError(f"adapter {name!r} has labels {info.labels}, the comparison {self.labels}; "
                             "classifiers compare only over the same labels")
        self.adapters[name] = info
        return info

    @property
    def columns(self) -> list[str]:
        """The base column, then every adapter in the order added."""
        return [BASE, *self.adapters]

    def swap_order(self, columns: list[str]) -> list[str]:
        """Columns in the order that swaps least: base, ours, then PEFT adapters grouped by PEFT type
        (one PeftModel holds one type, so another type replaces it and its adapters load again)."""
        def key(c: str) -> tuple[int, str]:
            info = self.adapters.get(c)
            return (0, "") if info is None else (1, "") if not info.peft_type else (2, info.peft_type)
        return sorted(columns, key=key)

    def activate(self, name: str) -> float:
        """Make `name` (an adapter or BASE) the active column; returns the seconds the swap took."""
        start = time.perf_counter()
        first = name != BASE and name not in self._peft_keys and name not in self._base_tensors
        if name != self.active:
            self._detach_own()
            info = self.adapters[name] if name != BASE else None
            if info is not None and info.peft_type:
                self._activate_peft(name, info)
            else:
                self._enable_peft(False)
                if info is not None:
                    self._attach_own(name, info)
            self.active = name
        self._sync()
        seconds = time.perf_counter() - start
        self.swaps.append({"to": name, "seconds": seconds, "first_load": first})
        return seconds

    def forget(self, name: str) -> None:
        """Drop an adapter's loaded weights, so its next activation reads its folder again."""
        if self.active == name:
            self.activate(BASE)
        for cache in (self._detached, self._owners, self._base_tensors):
            cache.pop(name, None)
        key = self._peft_keys.pop(name, None)
        if key is not None and self.peft is not None:
            self.peft.delete_adapter(key)
            self._peft_layers, self._peft_on = None, None
            if not self._peft_keys:
                self._strip_peft()

    def _activate_peft(self, name: str, info: AdapterInfo) -> None:
        from peft import PeftModel

        if self.peft is not None and self._peft_type != info.peft_type:
            self._strip_peft()  # one PeftModel holds one PEFT type
        key = self._peft_keys.get(name)
        if key is None:  # first use: read the folder (low_cpu_mem_usage: no init of weights then overwritten)
            key = f"a{next(self._keys)}"
            if self.peft is None:
                self.peft = PeftModel.from_pretrained(self.base, info.path, adapter_name=key,
                                                      low_cpu_mem_usage=True)
                self._peft_type = info.peft_type
                if info.peft_type == "PROMPT_TUNING" and self.task == "classification":
                    from studio.methods.prompt import pool_on_last_real_token
                    pool_on_last_real_token(self.peft)
                if info.peft_type == "PREFIX_TUNING":
                    from studio.methods.prefix import keep_encoder_positions
                    keep_encoder_positions(self.base)  # an encoder keeps its positions, as in training
            else:
                self.peft.load_adapter(info.path, adapter_name=key, low_cpu_mem_usage=True)
            self._peft_keys[name], self._peft_layers, self._peft_on = key, None, None
            self.peft.eval()
        if self.peft.active_adapter != key:  # PEFT's set_adapter walks every module: only when it changes
            self.peft.set_adapter(key, inference_mode=True)
        self._enable_peft(True)

    def _enable_peft(self, enabled: bool) -> None:
        """Switch every PEFT layer (LoRA/IA3 wrappers, head copies) on or off in place."""
        if self.peft is None or self._peft_on is enabled:  # each layer's enable re-runs its set_adapter
            return
        if self._peft_layers is None:
            self._peft_layers = [m for m in self.base.modules() if self._is_peft_layer(m)]
        for module in self._peft_layers:
            module.enable_adapters(enabled)
        self._peft_on = enabled

    @staticmethod
    def _is_peft_layer(module: Any) -> bool:
        from peft.tuners.tuners_utils import BaseTunerLayer
        from peft.utils.other import AuxiliaryTrainingWrapper

        return isinstance(module, (BaseTunerLayer, AuxiliaryTrainingWrapper))

    def _strip_peft(self) -> None:
        """Put the base's own modules back where PEFT wrapped them (PEFT's unload would keep a head copy)."""
        replaced: list[str] = []
        for qualified, module in list(self.base.named_modules()):
            if not self._is_peft_layer(module) or any(qualified.startswith(r + ".") for r in replaced):
                continue
            own = module.get_base_layer() if hasattr(module, "get_base_layer") else module.original_module
            parent, _, child = qualified.rpartition(".")
            setattr(self.base.get_submodule(parent) if parent else self.base, child, own)
            replaced.append(qualified)
        if hasattr(self.base, "peft_config"):
            del self.base.peft_config
        self.peft, self._peft_type, self._peft_keys, self._peft_layers, self._peft_on = None, None, {}, None, None

    def _attach_own(self, name: str, info: AdapterInfo) -> None:
        """First use: apply the method and copy its tensors in; later: put its modules back (no rebuild)."""
        from studio.methods.adapter_layers import detach_adapters, reattach_adapters

        if name in self._detached:
            reattach_adapters(self._detached.pop(name))
        else:
            try:
                self._base_tensors[name] = self._apply_own(info)
            except Exception:
                detach_adapters(self.base)  # undo what was built before the failure; base tensors untouched
                raise
        for n, t in self._base_tensors[name].items():
            self._originals[n].data.copy_(t)
        self._own = name

    def _apply_own(self, info: AdapterInfo) -> dict[str, Any]:
        """Apply the method to the base, load its new tensors; returns its values of base tensors."""
        from safetensors.torch import load_file

        from studio import methods
        from studio.methods.saving import WEIGHTS_FILE

        method = methods.get(info.method)
        method.apply(self.base, method.options(**info.options), self.task)
        current = dict(self.base.named_parameters(remove_duplicate=False))
        base_values = {}
        for n, t in load_file(str(Path(info.path) / WEIGHTS_FILE)).items():
            p = self._originals.get(n, current.get(n))
            if p is None or p.shape != t.shape:
                raise ValueError(f"{info.path}: tensor {n} {tuple(t.shape)} does not fit this base "
                                 f"({'missing' if p is None else tuple(p.shape)})")
            if n in self._originals:  # a base tensor (bias, norm, block, head): restored on detach
                self._pristine.setdefault(n, p.detach().clone())
                base_values[n] = t.to(p.device, p.dtype)
            else:
                p.data.copy_(t.to(p.dtype))
        self._off_peft_wrappers()
        return base_values

    def _off_peft_wrappers(self) -> None:
        """Hang our adapters from the base's own projections rather than PEFT's wrappers around them:
        a wrapper leaves the model when another PEFT type replaces it (PEFT switched off, same output)."""
        from studio.methods.adapter_layers import ADAPTER, detach_adapters, reattach_adapters

        if self.peft is not None:
            wrappers = [m for m in self.base.modules() if self._is_peft_layer(m) and ADAPTER in m._modules]
            reattach_adapters([(owner.get_base_layer(), name, module)
                               for owner, name, module in detach_adapters(self.base, wrappers)])

    def _detach_own(self) -> None:
        """Take our adapter's modules out (kept for the next swap) and restore the base tensors it replaced."""
        if self._own is None:
            return
        from studio.methods.adapter_layers import detach_adapters

        owners = self._owners.get(self._own)
        self._detached[self._own] = detached = detach_adapters(self.base, owners)
        self._owners[self._own] = list({id(o): o for o, _, _ in detached}.values())
        for n in self._base_tensors.get(self._own, {}):
            self._originals[n].data.copy_(self._pristine[n])
        self._own = None

    def model(self) -> Any:
        """The model to call for the active column."""
        return self.peft if self.active in self._peft_keys and self.peft is not None else self.base

    # --- bookkeeping
    def timings(self) -> dict[str, Any]:
        """Base load seconds and every swap so far."""
        return {"base_load_s": self.base_load_s, "base_loads": self.base_loads, "swaps": list(self.swaps)}

    def _input_device(self) -> Any:
        return self.base.get_input_embeddings().weight.device

    def _sync(self) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def close(self) -> None:
        """Free the model (and CUDA memory)."""
        import torch

        self.base = self.peft = None
        self._detached.clear()
        self._base_tensors.clear()
        self._pristine.clear()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
