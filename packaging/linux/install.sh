#!/usr/bin/env bash
# Install the frozen one-folder build as a desktop app for the current user (no root needed):
#   ~/.local/opt/mailwright/           the build (dist/mailwright/)
#   ~/.local/bin/mailwright[-gui]      symlinks, so the terminal finds `mailwright`
#   ~/.local/share/applications/       mailwright.desktop (the menu entry)
#   ~/.local/share/icons/hicolor/      the icon in every size
#
#   packaging/linux/install.sh [DIST_DIR]       (default dist/mailwright)
#   packaging/linux/install.sh --uninstall
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
opt="$HOME/.local/opt/mailwright"
bin="$HOME/.local/bin"
sizes="16 24 32 48 64 128 256 512"

refresh() {
    command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
    command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$opt"
    rm -f "$bin/mailwright" "$bin/mailwright-gui" "$data/applications/mailwright.desktop" \
        "$data/icons/hicolor/scalable/apps/mailwright.svg"
    for size in $sizes; do rm -f "$data/icons/hicolor/${size}x${size}/apps/mailwright.png"; done
    refresh
    echo "Removed Mailwright (your profiles, outbox and keyring entries are kept)."
    exit 0
fi

dist="${1:-$root/dist/mailwright}"
if [ ! -x "$dist/mailwright-gui" ]; then
    echo "No build in $dist: run scripts/build-app first." >&2
    exit 1
fi
icons="$dist/_internal/wizard/resources/icons"

rm -rf "$opt"
mkdir -p "$opt" "$bin" "$data/applications" "$data/icons/hicolor/scalable/apps"
cp -a "$dist/." "$opt/"
ln -sf "$opt/mailwright" "$bin/mailwright"
ln -sf "$opt/mailwright-gui" "$bin/mailwright-gui"
for size in $sizes; do
    mkdir -p "$data/icons/hicolor/${size}x${size}/apps"
    cp "$icons/mailwright-$size.png" "$data/icons/hicolor/${size}x${size}/apps/mailwright.png"
done
cp "$icons/mailwright.svg" "$data/icons/hicolor/scalable/apps/mailwright.svg"
# Exec with the absolute path: ~/.local/bin is not on every desktop session's PATH.
sed -e "s|^Exec=.*|Exec=$opt/mailwright-gui|" -e "s|^TryExec=.*|TryExec=$opt/mailwright-gui|" \
    "$root/packaging/linux/mailwright.desktop" >"$data/applications/mailwright.desktop"
refresh
echo "Installed Mailwright to $opt; it is in the applications menu as \"Mailwright\"."
