#!/usr/bin/env bash
# Install Fine-tuning Studio with its test tools, check the import layers, run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev
py=${PYTHON:-python3}
export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
"$py" -c "import sys, importlinter.cli as c; sys.exit(c.lint_imports(no_cache=True, no_logo=True))"
exec "$py" -m pytest -q "$@"
