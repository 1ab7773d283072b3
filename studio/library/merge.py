"""Combine two or more LoRA adapters of one base into a new LoRA adapter, with weights, by PEFT's
add_weighted_adapter (linear, TIES, DARE, ...). The result is an ordinary adapter folder (PEFT files +
studio.json): previewed from a folder, saved to the library, or exported like any other.

check_combinable() reads headers only (the GUI may call it); the merge itself imports torch.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

from studio import __version__
from studio.library.bundle import staged_output
from studio.library.inspect import CONFIG_FILE, META_FILE, WEIGHTS_FILE, AdapterInfo, describe
from studio.library.library import check_name, copy_tokenizer, install, row_for, staging_folder
from studio.library.validate import locate_base

# PEFT's combination types; those that prune need a density in (0, 1].
COMBINATIONS = ("linear", "ties", "dare_linear", "dare_ties", "magnitude_prune", "cat", "svd", "ties_svd",
                "dare_linear_svd", "dare_ties_svd", "magnitude_prune_svd")
SAME_RANK = ("linear", "ties", "dare_linear", "dare_ties", "magnitude_prune")
DEFAULT_DENSITY = 0.5


def needs_density(combination: str) -> bool:
    """Whether a combination type prunes (TIES, DARE, magnitude) and so takes a density."""
    return combination.startswith(("ties", "dare", "magnitude"))


def check_combinable(infos: list[AdapterInfo], weights: list[float], combination: str,
                     density: float | None = None) -> None:
    """ValueError naming the first reason these adapters cannot be combined this way."""
    if len(infos) < 2:
        raise ValueError("a merge needs two or more adapters")
    if len(weights) != len(infos):
        raise ValueError(f"{len(infos)} adapters but {len(weights)} weights: give one weight per adapter")
    if combination not in COMBINATIONS:
        raise ValueError(f"combination {combination!r}: choose one of {', '.join(COMBINATIONS)}")
    if density is not None and not 0 < density <= 1:
        raise ValueError(f"density {density}: must be in (0, 1]")
    for info in infos:
        name = Path(info.path).name
        if info.method not in ("lora", "qlora") or info.kind != "peft":
            raise ValueError(f"{name} is a {info.method} adapter; only LoRA (and QLoRA) adapters can be "
                             "combined" + (" (DoRA's magnitude vectors have no weighted sum)"
                                           if info.method == "dora" else ""))
        if info.task != "causal-lm":
            raise ValueError(f"{name} is a {info.task} adapter; each classifier trained its own head, "
                             "which cannot be combined: only causal-lm adapters merge")
    first, key = infos[0], _base_key(infos[0])
    for info in infos[1:]:
        if _base_key(info) != key:
            raise ValueError(f"{Path(info.path).name} was trained on {info.base_ref}, "
                             f"{Path(first.path).name} on {first.base_ref}: adapters of one base only")
    ranks = {Path(i.path).name: i.settings.get("r") for i in infos}
    if combination in SAME_RANK and len(set(ranks.values())) > 1:
        raise ValueError(f"{combination} needs adapters of one rank, these have "
                         f"{', '.join(f'{n}: r {r}' for n, r in ranks.items())}; use cat or svd instead")


def _base_key(info: AdapterInfo) -> str:
    """What identifies the base: its config fingerprint when recorded, else its path or name."""
    meta = info.studio_meta or {}
    return meta.get("base_config_sha256") or str(info.base_path or info.base_ref)


def merge_to_folder(adapter_dirs: list[Path], weights: list[float], out: str | Path, *,
                    combination: str = "linear", density: float | None = None, base: str | None = None,
                    progress: Callable[[str, float], None] | None = None) -> Path:
    """Combine the adapters into a new adapter folder at `out` (atomically), e.g. to preview it."""
    with staged_output(out) as tmp:
        build(adapter_dirs, weights, tmp, combination=combination, density=density, base=base,
              progress=progress)
    return Path(out)


def merge_into_library(db: Any, home: Any, adapter_dirs: list[Path], weights: list[float], name: str, *,
                       combination: str = "linear", density: float | None = None, base: str | None = None,
                       progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    """Combine the adapters and register the result as a new library adapter called `name`."""
    import shutil

    from studio.store.adapters import unique_adapter_name

    if unique_adapter_name(db, check_name(name)) != name:
        raise ValueError(f"an adapter named {name!r} already exists")
    staged = staging_folder(home, "merge", name)
    try:
        staged.mkdir()
        build(adapter_dirs, weights, staged, combination=combination, density=density, base=base,
              progress=progress)
        return install(db, home, staged, name, row_for(describe(staged), source="merged"))
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def build(adapter_dirs: list[Path], weights: list[float], target: Path, *, combination: str = "linear",
          density: float | None = None, base: str | None = None,
          progress: Callable[[str, float], None] | None = None) -> None:
    """Write the combined adapter (PEFT files, tokenizer, studio.json) into the existing folder target."""
    import torch
    import transformers
    from peft import PeftModel, get_peft_model_state_dict
    from safetensors.torch import save_file

    from studio.core.models import load_model

    report = progress or (lambda stage, fraction: None)
    dirs = [Path(d) for d in adapter_dirs]
    infos = [describe(d) for d in dirs]
    if needs_density(combination) and density is None:
        density = DEFAULT_DENSITY
    check_combinable(infos, list(weights), combination, density)
    transformers.utils.logging.disable_progress_bar()
    torch.manual_seed(0)  # DARE drops at random: the same inputs give the same adapter
    report("loading base", 0.05)
    base_dir = locate_base(base or infos[0].base_ref, None if base else infos[0].base_path)
    model = load_model(str(base_dir), "causal-lm", dtype=torch.float32)
    report("loading adapters", 0.3)
    names = [f"a{i}" for i in range(len(dirs))]
    model = PeftModel.from_pretrained(model, str(dirs[0]), adapter_name=names[0])
    for n, d in zip(names[1:], dirs[1:]):
        model.load_adapter(str(d), adapter_name=n)
    report("combining", 0.6)
    model.add_weighted_adapter(names, [float(w) for w in weights], "combined", combination_type=combination,
                               density=density if needs_density(combination) else None)
    report("saving", 0.85)
    state = get_peft_model_state_dict(model, adapter_name="combined")
    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(target / WEIGHTS_FILE),
              metadata={"format": "pt"})
    config = model.peft_config["combined"]
    config.base_model_name_or_path = str(base_dir)
    config.save_pretrained(str(target))
    copy_tokenizer(dirs[0], target)
    meta = merged_meta(infos, weights, combination, density, json.loads((target / CONFIG_FILE).read_text()),
                       sum(math.prod(v.shape) for v in state.values()), base_dir)
    (target / META_FILE).write_text(json.dumps(meta, indent=2, default=str))
    report("done", 1.0)


def merged_meta(infos: list[AdapterInfo], weights: list[float], combination: str, density: float | None,
                config: dict[str, Any], params: int, base_dir: Path) -> dict[str, Any]:
    """studio.json of a combined adapter: the first one's base and method, the new rank, the recipe."""
    first = infos[0].studio_meta or {}
    methods = {i.method for i in infos}
    method = infos[0].method if len(methods) == 1 else "lora"
    targets = config.get("target_modules")
    options = dict(first.get("method_options") or {}) if method == infos[0].method else {}
    options.update(r=config.get("r"), alpha=config.get("lora_alpha"),
                   target_modules=sorted(targets) if isinstance(targets, list) else None)
    return {
        "studio_version": __version__, "method": method, "method_options": options, "task": "causal-lm",
        "base_model": infos[0].base_ref, "base_model_path": str(base_dir),
        "base_config_sha256": first.get("base_config_sha256"), "id2label": None, "training": None,
        "trainable_params": params, "total_params": None, "steps": None, "final_metrics": {},
        "source": "merged", "combination": combination, "density": density,
        "merged_from": [{"adapter": Path(i.path).name, "path": i.path, "weight": float(w)}
                        for i, w in zip(infos, weights)],
    }
