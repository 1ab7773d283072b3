"""`studio demo`: the main job, headless — LoRA on a bundled model and data, before vs after."""
from __future__ import annotations

import sys
from pathlib import Path

from studio.config import RunConfig
from studio.paths import Home
from studio.resource_files import samples_dir

SAMPLES = samples_dir()
DEFAULT_STEPS = 30


def demo_config(steps: int) -> RunConfig:
    """SmolLM2-135M-Instruct learns to answer like a pirate ("Arr! … Yo-ho-ho!")."""
    return RunConfig.from_dict({
        "name": "demo-pirate",
        "task": "causal-lm",
        "model": "sample:smollm2",
        "data": {"train": str(SAMPLES / "pirate_instructions.jsonl"), "val_fraction": 0.1,
                 "max_length": 96},
        "method": {"name": "lora", "r": 16, "alpha": 32, "dropout": 0.0, "targets": "all-linear"},
        "training": {"max_steps": steps, "batch_size": 8, "learning_rate": 2e-3, "warmup_ratio": 0.1,
                     "save_steps": 10, "eval_steps": max(steps, 1), "logging_steps": 1, "seed": 0},
    })


def run_demo(home: Home, steps: int | None = None) -> int:
    """Train, then print eval loss and one generated answer before and after."""
    from studio.follow import follow
    from studio.store import adapters, metrics
    from studio.store.db import open_db
    from studio.submit import load_and_check, submit

    steps = steps or DEFAULT_STEPS
    say = lambda text: print(text, file=sys.stderr)  # noqa: E731
    say(f"studio demo: LoRA on SmolLM2-135M-Instruct, {steps} steps on the bundled pirate-style "
        f"instruction set (data home: {home.root})")
    cfg, data = load_and_check(demo_config(steps))
    home.ensure()
    db = open_db(home.db_path)
    run_id = submit(db, home, cfg, len(data.train))
    code = follow(db, home, run_id)
    if code != 0:
        return code
    evals = metrics.get_metrics(db, run_id, name="eval_loss")
    if evals:
        say(f"\neval loss: before {evals[0]['value']:.3f}  →  after {evals[-1]['value']:.3f}")
    adapter = next(a for a in adapters.list_adapters(db) if a.get("run_id") == run_id)
    prompt_text = (SAMPLES / "pirate_eval_prompts.txt").read_text().splitlines()[0]
    before, after = _before_after(Path(adapter["path"]), prompt_text)
    say(f"\nprompt: {prompt_text}\n  before: {before}\n  after:  {after}")
    say(f"\nadapter: {adapter['path']}")
    return 0


def _before_after(adapter_dir: Path, instruction: str) -> tuple[str, str]:
    from studio.core.generate import generate, load_with_adapter
    from studio.core.tokenize import render_prompt

    model, tokenizer = load_with_adapter(adapter_dir)
    prompt = render_prompt({"instruction": instruction, "input": ""}, "instruction", tokenizer)
    after = generate(model, tokenizer, prompt)
    with model.disable_adapter():
        before = generate(model, tokenizer, prompt)
    return before, after
