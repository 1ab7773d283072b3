#!/usr/bin/env bash
# Install Fine-tuning Studio and start it: the window, or `studio demo` where there is no display.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec "${PYTHON:-python3}" -m studio "$@"
