"""bench/gpu.sh's figures as lines: one section per question, each ending in a `name: value (goal)` line
that tests/test_gpu_bench_smoke.py reads. A phase that failed prints `n/a` and its error instead."""
from __future__ import annotations

from typing import Any, Callable

MIB = 2**20


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _failed(results: dict[str, Any], *phases: str) -> str:
    why = [f"{ph}: {results[ph]['error']}" for ph in phases if ph in results and "error" in results[ph]]
    missing = [f"{ph}: not run" for ph in phases if ph not in results]
    return "; ".join(why + missing)


def _ok(results: dict[str, Any], *phases: str) -> bool:
    return all(ph in results and "error" not in results[ph] for ph in phases)


def report(results: dict[str, Any], profile: Any, log: Callable[[str], None]) -> bool:
    """Print every section; True when every phase that was asked for produced its figures."""
    setup = results["setup"]
    lengths = setup.get("lengths", {})
    log("")
    log(f"== 0. data: {lengths.get('rows')} instruction rows, {lengths.get('tokens')} tokens (mean "
        f"{lengths.get('mean', 0):.0f}, median {lengths.get('median')}, max {lengths.get('max')}); random "
        f"batches of {profile.batch} padded to their longest row would be "
        f"{100 * lengths.get('pad_share_random_batches', 0):.0f}% pad tokens")
    sections = [_lora, _qlora, _estimate, _oom]
    return all([section(results, profile, log) for section in sections])


def _side_line(r: dict[str, Any]) -> str:
    return (f"{r['side']:<12} {r['tokens']:>9} {r['seconds']:>8.2f} {r['tokens_per_s']:>10.0f} "
            f"{r['peak_bytes'] / MIB:>9.0f}  {r['memory']}; final loss {_fmt(r.get('final_loss'))}")


def _lora(results: dict[str, Any], profile: Any, log: Callable[[str], None]) -> bool:
    log("")
    log(f"== 1. LoRA r16 on all linear layers: the studio engine (packing auto, activation checkpointing on, "
        f"kernels auto) ÷ a plain Trainer + PEFT script (random batches padded to their longest row); real "
        f"tokens only, steps {profile.warmup + 1}-{profile.steps}")
    if "engine" not in results and "plain" not in results:
        log("(not asked for)")
        return True
    log(f"{'side':<12} {'tokens':>9} {'seconds':>8} {'tokens/s':>10} {'peak MiB':>9}  memory")
    for ph in ("engine", "plain"):
        if _ok(results, ph):
            log(_side_line(results[ph]))
    for line in results.get("engine", {}).get("chosen", []):
        log(f"engine chose: {line}")
    e, p = results.get("engine", {}), results.get("plain", {})
    ok = _ok(results, "engine", "plain")
    why = "" if ok else f" ({_failed(results, 'engine', 'plain')})"
    tps = _ratio(e.get("tokens_per_s"), p.get("tokens_per_s")) if ok else None
    mem = _ratio(e.get("peak_bytes"), p.get("peak_bytes")) if ok else None
    log(f"tokens/s ratio engine/plain: {_fmt(tps)} (goal >= 1.5){why}")
    log(f"peak-memory ratio engine/plain: {_fmt(mem)} (goal <= 0.6; {e.get('memory', 'n/a')}){why}")
    return ok


def _qlora(results: dict[str, Any], profile: Any, log: Callable[[str], None]) -> bool:
    log("")
    log("== 2. QLoRA ÷ LoRA peak memory (the engine, same model, data and settings; r16 on all linear layers)")
    if "qlora" not in results:
        log("qlora peak-memory ratio qlora/lora: n/a (not run: bitsandbytes missing or not asked for)")
        return True
    if _ok(results, "qlora"):
        log(_side_line(results["qlora"]))
    ok = _ok(results, "qlora", "engine")
    ratio = _ratio(results["qlora"].get("peak_bytes"), results.get("engine", {}).get("peak_bytes")) if ok else None
    why = "" if ok else f" ({_failed(results, 'qlora', 'engine')})"
    log(f"qlora peak-memory ratio qlora/lora: {_fmt(ratio)} (for information; "
        f"{results['qlora'].get('memory', 'n/a')}){why}")
    return ok


def _estimate(results: dict[str, Any], profile: Any, log: Callable[[str], None]) -> bool:
    log("")
    log("== 3. memory estimate ÷ measured peak (`studio probe --measure`: 3 steps on the longest rows)")
    if "measure" not in results:
        log("(not asked for)")
        return True
    m = results["measure"]
    if not _ok(results, "measure"):
        log(f"estimate/measured ratio: n/a (goal 1.0-1.25) ({_failed(results, 'measure')})")
        return False
    log(f"estimate {m['estimate_bytes'] / MIB:.0f} MiB, measured {m['measured_bytes'] / MIB:.0f} MiB "
        f"({m['measured']}) on a micro-batch of {m['batch_tokens']} tokens ({'packed' if m['packed'] else 'padded'})")
    log(f"estimate/measured ratio: {_fmt(m['estimate_over_measured'])} (goal 1.0-1.25)")
    return True


def _oom(results: dict[str, Any], profile: Any, log: Callable[[str], None]) -> bool:
    log("")
    how = ("torch.OutOfMemoryError injected at step 1 (STUDIO_FAULT_OOM_AT_STEP; no GPU to fill)"
           if profile.oom_inject else "a real CUDA out-of-memory error")
    log(f"== 4. out of memory: micro-batch {profile.oom_batch} of {profile.max_length - 8}-token rows, checkpointing "
        f"and kernels off, through the real worker; {how}")
    ok = True
    for ph in ("oom-fail", "oom-retry"):
        if ph not in results:
            continue
        r = results[ph]
        if "error" in r:
            log(f"{ph}: n/a ({r['error']})")
            ok = False
            continue
        killed = " (the worker did not end in time and was killed)" if "(worker killed after" in r["log_tail"] else ""
        log(f"{ph}: training.oom_retry {str(r['oom_retry']).lower()} -> status {r['status']} at step {r['step']} "
            f"in {r['seconds']:.1f} s{killed}")
        if r.get("run_error"):
            log(f"  error: {r['run_error']}")
        for w in r.get("warnings") or []:
            log(f"  warning: {w}")
    return ok
