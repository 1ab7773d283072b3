#!/usr/bin/env bash
# Install the built app for the current user: no root, nothing outside ~/.local.
#   bash packaging/install.sh            # after packaging/build.sh
#   bash packaging/install.sh --remove   # uninstall (the data home is kept)
set -euo pipefail
cd "$(dirname "$0")"
APP_ID=io.github.finetuningstudio.Studio
PREFIX="${PREFIX:-$HOME/.local}"
DEST="$PREFIX/lib/finetuning-studio"
SHARE="$PREFIX/share"
if [[ "${1:-}" == "--remove" ]]; then
    rm -rf "$DEST" "$PREFIX/bin/studio" "$SHARE/applications/$APP_ID.desktop" \
        "$SHARE/metainfo/$APP_ID.metainfo.xml" "$SHARE/icons/hicolor/scalable/apps/$APP_ID.svg"
    rm -f "$SHARE"/icons/hicolor/*x*/apps/"$APP_ID".png
    echo "install.sh: removed from $PREFIX"
    exit 0
fi
[[ -x dist/studio/studio ]] || { echo "install.sh: build first: bash packaging/build.sh" >&2; exit 1; }
rm -rf "$DEST" && mkdir -p "$(dirname "$DEST")" && cp -a dist/studio "$DEST"
mkdir -p "$PREFIX/bin" && ln -sf "$DEST/studio" "$PREFIX/bin/studio"
ICONS=../studio/resources/icons
for size in 16 32 48 64 128 256 512; do
    install -Dm644 "$ICONS/studio-$size.png" "$SHARE/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
done
install -Dm644 "$ICONS/studio.svg" "$SHARE/icons/hicolor/scalable/apps/$APP_ID.svg"
# The launcher runs the installed executable by its full path: ~/.local/bin is not always on PATH.
mkdir -p "$SHARE/applications"
sed "s|^Exec=studio |Exec=$DEST/studio |" studio.desktop > "$SHARE/applications/$APP_ID.desktop"
install -Dm644 "$APP_ID.metainfo.xml" "$SHARE/metainfo/$APP_ID.metainfo.xml"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$SHARE/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" || true
echo "install.sh: installed to $DEST; start it from the applications menu or with $PREFIX/bin/studio"
