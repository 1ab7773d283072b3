#!/usr/bin/env bash
# Download, on a machine WITH network, the wheels bench/gpu.sh installs on the lent GPU machine
# (no network there). They land in .whl/ (ignored by git); the device tool carries it with
# `carry: [".whl"]`, and gpu.sh installs them over that machine's own packages.
#
# Which: the project's pinned packages that the GPU image lacks or holds at another version
# (/work/.library/device/KINDS.md lists its packages). Already there at a version that serves:
# torch 2.11 (CUDA; cannot travel), accelerate 1.15.0, safetensors 0.8.0, tokenizers 0.23,
# huggingface-hub 1.33, pyyaml, psutil, tqdm, nvidia-ml-py, numpy, pandas, pyarrow, xxhash, fsspec,
# tabulate, python-dateutil, pluggy, regex, triton. click is carried for sqlite-utils' floor (>= 8.3.1). transformers is carried although 5.17 is there:
# 5.17 has no TrainingArguments.activation_checkpointing, which the engine passes.
#
#   bash bench/gpu_wheels.sh            # everything (about 59 MiB with the repo; the limit is 64 MiB)
#   bash bench/gpu_wheels.sh --no-bnb   # without bitsandbytes (43 MB): gpu.sh then skips QLoRA
#   bash bench/gpu_wheels.sh --no-liger # without liger-kernel: the engine runs with kernels none
set -euo pipefail
cd "$(dirname "$0")/.."

BNB=1
LIGER=1
for arg in "$@"; do
    case "$arg" in
        --no-bnb) BNB=0 ;;
        --no-liger) LIGER=0 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "gpu_wheels.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

# Exact versions: the pins in pyproject.toml, and for its unpinned needs the versions tested here.
PACKAGES=(
    transformers==5.23.0 peft==0.21.2
    datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19
    sqlite-utils==4.2.1 click-default-group==1.2.4 sqlite-fts4==1.0.3 click==8.5.1
    platformdirs==4.14.9 gguf==0.19.0
)
[ "$LIGER" = 1 ] && PACKAGES+=(liger-kernel==0.8.5)

# The device README's command for CPython 3.12 manylinux x86-64 wheels; bitsandbytes' wheel is
# tagged manylinux_2_24, which pip only matches when that exact tag is named.
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
           --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform manylinux1_x86_64)
download() {
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        "${PLATFORMS[@]}" -d .whl "$@" 2>&1 | grep -v "^WARNING: Location" || true
}

mkdir -p .whl
# One version of each package: a second one would stop the whole install there.
rm -f .whl/*.whl
download "${PACKAGES[@]}"
[ "$BNB" = 1 ] && download bitsandbytes==0.50.2

expected=${#PACKAGES[@]}
[ "$BNB" = 1 ] && expected=$((expected + 1))
got=$(ls .whl/*.whl 2>/dev/null | wc -l)
if [ "$got" -ne "$expected" ]; then
    echo "gpu_wheels.sh: expected $expected wheels in .whl/, got $got" >&2
    exit 1
fi

if ! git check-ignore -q .whl/x.whl; then
    echo "gpu_wheels.sh: .whl/ is not ignored by git; add '/.whl/' to .gitignore" >&2
    exit 1
fi

ls -l .whl/*.whl | awk '{printf "%10.1f MB  %s\n", $5 / 1e6, $9}'
wheels=$(du -cb .whl/*.whl | tail -1 | cut -f1)
# What travels: tracked files plus untracked ones git does not ignore, plus the carried .whl/.
tree=$( (git ls-files; git ls-files --others --exclude-standard) | sort -u |
        while IFS= read -r f; do [ -f "$f" ] && printf '%s\0' "$f"; done | du -cb --files0-from=- | tail -1 | cut -f1)
total=$((wheels + tree))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "wheels: $(mib "$wheels"), working tree: $(mib "$tree"), together: $(mib "$total") (the device tool's limit: 64 MiB)"
if [ "$total" -gt $((64 * 1048576)) ]; then
    echo "gpu_wheels.sh: over the 64 MiB limit; rerun with --no-bnb and give QLoRA its own call" >&2
    exit 1
fi
