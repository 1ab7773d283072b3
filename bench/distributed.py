"""1 process vs N processes (DDP through torchrun) with the same effective batch, side by side.

A small llama built from a config (random weights) with LoRA (PEFT) trains on random tokens; the
global batch is split over the ranks (micro-batch = batch / processes, no accumulation), so every
optimizer step sees the same number of tokens. Reported, as ratios of runs made next to each other
(alternating 1,N / N,1): tokens/s and step time of N processes over 1, and the share of an N-process
step spent in the gradient all-reduce: the same steps timed again under DDP's `no_sync()` (gradients
kept local: no all-reduce) — share = 1 − t(no_sync) / t(step).

    python bench/distributed.py                       # 2 CPU processes (gloo) vs 1
    python bench/distributed.py --device cuda         # processes = GPUs (nccl); needs 2+ GPUs
Each run is `python -m torch.distributed.run --standalone --nproc-per-node P bench/distributed.py
--rank-worker …`, with the threads per rank the studio gives its ranks (studio/worker/launch.py).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `studio` from this checkout


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--processes", type=int, default=0, help="N (default: 2 on cpu, every GPU on cuda)")
    p.add_argument("--batch", type=int, default=8, help="effective (global) batch, divided over the ranks")
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--steps", type=int, default=10, help="timed steps (each way: with and without all-reduce)")
    p.add_argument("--warmup-steps", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    p.add_argument("--rank-worker", metavar="OUT", help=argparse.SUPPRESS)  # one run, inside torchrun
    return p.parse_args(argv)


# --- one run (every rank executes this) --------------------------------------------------------------

def rank_worker(args: argparse.Namespace) -> None:
    """Build the model, time the steps, and (rank 0) write the figures to args.rank_worker."""
    import torch
    import torch.distributed as dist
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = args.device == "cuda"
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=2048, hidden_size=args.hidden, intermediate_size=args.hidden * 4,
                      num_hidden_layers=args.layers, num_attention_heads=max(1, args.hidden // 64),
                      max_position_embeddings=args.seq, attention_dropout=0.0)
    model = get_peft_model(LlamaForCausalLM(cfg), LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"]))
    model.to(device)
    if world > 1:
        # find_unused_parameters=False: LoRA's trainable set is fixed, as the studio's recipe sets it.
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[local] if cuda else None, find_unused_parameters=False)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    micro = args.batch // world
    gen = torch.Generator().manual_seed(1 + rank)
    batch = torch.randint(0, cfg.vocab_size, (micro, args.seq), generator=gen).to(device)

    def step() -> float:
        start = time.perf_counter()
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - start

    def timed(n: int, local_only: bool) -> list[float]:
        if world > 1:
            dist.barrier()
        if local_only and world > 1:
            with model.no_sync():
                return [step() for _ in range(n)]
        return [step() for _ in range(n)]

    timed(args.warmup_steps, False)
    synced = timed(args.steps, False)
    local_times = timed(args.steps, True) if world > 1 else synced
    if world > 1:
        # A step lasts as long as its slowest rank: take each step's maximum over the ranks.
        both = torch.tensor([synced, local_times], dtype=torch.float64, device=device)
        dist.all_reduce(both, op=dist.ReduceOp.MAX)
        synced, local_times = both.tolist()
    if rank == 0:
        Path(args.rank_worker).write_text(json.dumps({
            "processes": world, "micro_batch": micro, "step_s": statistics.median(synced),
            "no_sync_step_s": statistics.median(local_times), "tokens_per_step": args.batch * args.seq}))
    if world > 1:
        dist.barrier()  # rank 0 has written the figures: nobody leaves while another still needs it
        dist.destroy_process_group()


# --- the side-by-side driver ----------------------------------------------------------------------

def run_once(args: argparse.Namespace, processes: int, work: Path) -> dict:
    """One torchrun launch with `processes` ranks; its figures."""
    from studio.worker.launch import torchrun_env

    out = work / f"p{processes}-{time.time_ns()}.json"
    forwarded = ["--device", args.device, "--batch", str(args.batch), "--seq", str(args.seq), "--hidden",
                 str(args.hidden), "--layers", str(args.layers), "--steps", str(args.steps),
                 "--warmup-steps", str(args.warmup_steps)]
    cmd = [sys.executable, "-P", "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
           str(processes), "--max-restarts", "0", str(Path(__file__).resolve()), "--rank-worker", str(out),
           *forwarded]
    env = torchrun_env(processes)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=work)
    if proc.returncode != 0 or not out.is_file():
        sys.exit(f"bench/distributed.py: the {processes}-process run failed ({proc.returncode}):\n"
                 f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.rank_worker:
        rank_worker(args)
        return 0
    import torch

    gpus = torch.cuda.device_count() if args.device == "cuda" else 0
    n = args.processes or (gpus if args.device == "cuda" else 2)
    if args.device == "cuda" and gpus < 2:
        print(f"{gpus} GPU: distributed bench skipped (it compares 1 with 2+ processes, one GPU each)")
        return 0
    if args.batch % n:
        sys.exit(f"--batch {args.batch} must divide over {n} processes")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rows: list[tuple[int, dict, dict]] = []
    with tempfile.TemporaryDirectory(prefix="studio-bench-dist-") as tmp:
        for rep in range(args.repeats):
            order = (1, n) if rep % 2 == 0 else (n, 1)
            got = {p: run_once(args, p, Path(tmp)) for p in order}
            rows.append((rep, got[1], got[n]))
    print(f"device {args.device}, effective batch {args.batch} × {args.seq} tokens, llama {args.layers}×"
          f"{args.hidden} + LoRA r8, {args.steps} timed steps, threads/rank = cores / processes")
    head = f"{'rep':>3} {'processes':>9} {'micro':>5} {'step ms':>8} {'no_sync ms':>10} {'tokens/s':>9}"
    print(head)
    print("-" * len(head))
    for rep, one, many in rows:
        for r in (one, many):
            print(f"{rep:>3} {r['processes']:>9} {r['micro_batch']:>5} {1000 * r['step_s']:>8.1f} "
                  f"{1000 * r['no_sync_step_s']:>10.1f} {r['tokens_per_step'] / r['step_s']:>9.0f}")
    tps = statistics.median(one["step_s"] / many["step_s"] for _, one, many in rows)  # same tokens per step
    step = statistics.median(many["step_s"] / one["step_s"] for _, one, many in rows)
    share = statistics.median(max(0.0, 1 - m["no_sync_step_s"] / m["step_s"]) for _, _, m in rows)
    print(f"tokens/s ratio {n}/1 processes: {tps:.2f}")
    print(f"step-time ratio {n}/1 processes: {step:.2f}")
    print(f"all-reduce share of a {n}-process step: {100 * share:.1f} %")
    if args.json:
        print(json.dumps({"processes": n, "tokens_per_s_ratio": tps, "step_time_ratio": step,
                          "allreduce_share": share, "runs": [[one, many] for _, one, many in rows]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
