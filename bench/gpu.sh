#!/usr/bin/env bash
# The GPU benchmark (issue 10, point 8), end to end on a one-GPU machine with no network:
#   engine ÷ plain Trainer+PEFT (tokens/s, peak VRAM), QLoRA ÷ LoRA peak, estimate ÷ measured peak,
#   and the out-of-memory path; see bench/README.md ("gpu.sh") and bench/gpu_bench.py.
#
#   bash bench/gpu.sh             # on the GPU machine: installs .whl/*.whl (if carried), then runs
#   bash bench/gpu.sh --dry-run   # the same code on a CPU with the tests' tiny Llama (seconds)
#   bash bench/gpu.sh --only engine,plain --budget-s 300 --keep   # options go to gpu_bench.py
#
# Figures go to stdout, and to $OUT/gpu_bench.json and $OUT/gpu_bench.log when OUT is set.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2

DRY=0
for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY=1 ;;
        -h|--help) sed -n '2,10p' "$0"; python3 bench/gpu_bench.py --help; exit 0 ;;
    esac
done

export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
start=$(date +%s)

if [ "$DRY" = 0 ]; then
    if ! nvidia-smi -L >/dev/null 2>&1; then
        echo "gpu.sh: no NVIDIA GPU here (nvidia-smi -L failed); use --dry-run on a CPU" >&2
        exit 2
    fi
    # The packages the GPU image lacks or holds at another version, carried as wheels
    # (bench/gpu_wheels.sh), go in front of the image's own: nothing is downloaded, nothing replaced.
    if compgen -G ".whl/*.whl" >/dev/null; then
        echo "gpu.sh: installing $(ls .whl/*.whl | wc -l) carried wheels into /tmp/site"
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site .whl/*.whl || { echo "gpu.sh: installing the wheels failed" >&2; exit 1; }
        export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
    else
        echo "gpu.sh: no .whl/ here: using the installed packages (bench/gpu_wheels.sh fetches the pinned ones)"
    fi
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi

# The project from this checkout, ahead of anything installed: no build, no pip, no network
# (the same as `pip install --no-deps -e .` without needing setuptools to build).
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

python3 bench/gpu_bench.py "$@"
rc=$?
# Several GPUs: 1 vs N processes (DDP, nccl) with the same effective batch (bench/distributed.py);
# with one GPU it says "1 GPU: distributed bench skipped".
if [ "$DRY" = 0 ]; then
    python3 bench/distributed.py --device cuda --batch 16 --seq 256 --hidden 512 --layers 8 \
        || { echo "gpu.sh: bench/distributed.py failed" >&2; rc=1; }
fi
echo "gpu.sh: exit $rc after $(( $(date +%s) - start )) s end to end"
exit $rc
