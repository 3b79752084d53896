#!/usr/bin/env bash
# Registers the `keyboardia:` links of the beat page ("Open in Keyboardia") with the desktop:
# a desktop entry that runs this checkout's release build of the standalone app with the link
# (`keyboardia-standalone keyboardia:http://host/b/<id>` opens the beat read-only), made the
# default handler of x-scheme-handler/keyboardia through xdg-mime. Idempotent; run by
# scripts/run.sh after it builds the app. Honours XDG_DATA_HOME (and XDG_CONFIG_HOME for the
# default-application list), so it can be tried in a scratch directory.
set -euo pipefail
cd "$(dirname "$0")/.."
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
mkdir -p "$apps"
cat >"$apps/keyboardia.desktop" <<ENTRY
[Desktop Entry]
Type=Application
Name=Keyboardia
Comment=Open Keyboardia beat links
Exec="$PWD/target/release/keyboardia-standalone" %u
Terminal=false
NoDisplay=true
MimeType=x-scheme-handler/keyboardia;
ENTRY
if command -v xdg-mime >/dev/null 2>&1; then
  xdg-mime default keyboardia.desktop x-scheme-handler/keyboardia
  echo "register-scheme: keyboardia: links open $PWD/target/release/keyboardia-standalone"
else
  echo "register-scheme: wrote $apps/keyboardia.desktop (no xdg-mime to make it the default)"
fi
