#!/bin/sh
# The web app's vendored scripts (src/todo_api/web/static), taken from the npm registry at the
# pinned version, each checked against the sha256 recorded in scripts/vendor-web.sha256.
#   sh scripts/vendor-web.sh            fetch, check against the recorded hash, install
#   sh scripts/vendor-web.sh --record   fetch, install and record the new hash (after a bump)
set -eu
cd "$(dirname "$0")/.."
HTMX_VERSION=2.0.11
STATIC=src/todo_api/web/static
SUMS=scripts/vendor-web.sha256
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "htmx.org@$HTMX_VERSION" >/dev/null && tar -xzf htmx.org-*.tgz)
cp "$work/package/dist/htmx.min.js" "$work/htmx.min.js"
if [ "${1:-}" = "--record" ]; then
    (cd "$work" && sha256sum htmx.min.js) >"$SUMS"
    echo "recorded: $(cat "$SUMS")"
else
    (cd "$work" && sha256sum --check --quiet "$OLDPWD/$SUMS")
fi
cp "$work/htmx.min.js" "$STATIC/htmx.min.js"
echo "htmx.org $HTMX_VERSION installed in $STATIC"
