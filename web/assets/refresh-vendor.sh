#!/bin/sh
# refresh-vendor.sh fetches the xterm.js packages the terminal page embeds, with npm,
# into vendor/ beside this script. The page never loads anything from elsewhere at run
# time: what is in vendor/ is what the agent serves. Run it after changing a version
# below, review the diff, and commit vendor/ with it.
#
# Usage: web/assets/refresh-vendor.sh   (needs npm and tar)
set -eu

XTERM_VERSION=6.0.0
FIT_VERSION=0.11.0

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

command -v npm >/dev/null || { echo "refresh-vendor.sh: npm not found: install Node.js and npm" >&2; exit 1; }
(cd "$work" && npm pack --silent "@xterm/xterm@$XTERM_VERSION" "@xterm/addon-fit@$FIT_VERSION" >/dev/null)
mkdir "$work/xterm" "$work/fit"
tar -xzf "$work/xterm-xterm-$XTERM_VERSION.tgz" -C "$work/xterm"
tar -xzf "$work/xterm-addon-fit-$FIT_VERSION.tgz" -C "$work/fit"

rm -rf "$here/vendor"
mkdir -p "$here/vendor/xterm" "$here/vendor/addon-fit"
cp "$work/xterm/package/lib/xterm.js" "$work/xterm/package/css/xterm.css" "$work/xterm/package/LICENSE" "$here/vendor/xterm/"
cp "$work/fit/package/lib/addon-fit.js" "$work/fit/package/LICENSE" "$here/vendor/addon-fit/"
cat > "$here/vendor/VERSIONS" <<VERSIONS
# Written by refresh-vendor.sh: the npm packages vendor/ holds, unchanged.
@xterm/xterm $XTERM_VERSION (MIT, vendor/xterm/LICENSE)
@xterm/addon-fit $FIT_VERSION (MIT, vendor/addon-fit/LICENSE)
VERSIONS
echo "refreshed $here/vendor: @xterm/xterm $XTERM_VERSION, @xterm/addon-fit $FIT_VERSION"
