#!/usr/bin/env bash
# Build the one-folder desktop app: packaging/dist/studio/studio (plus its _internal/ folder).
# Uses the current python, which must have the studio and its dependencies installed
# (`pip install -e .`, or the README's two commands). Several minutes on a small machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "build.sh: installing PyInstaller into $("$PYTHON" -c 'import sys; print(sys.prefix)')"
    "$PYTHON" -m pip install "pyinstaller>=6.10"
fi
start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath packaging/dist --workpath packaging/build packaging/studio.spec
echo "build.sh: built packaging/dist/studio/studio in $(( $(date +%s) - start )) s"
echo "build.sh: size $(du -sh packaging/dist/studio | cut -f1) (packaging/dist/studio)"
