#!/bin/sh
# What the test suite needs beyond the project's venv and PostgreSQL: Debian's pgbouncer (the
# end-to-end tests run the service through it in transaction mode, starting it themselves),
# Debian's chromium and its headless shell (the browser tests drive them: the shell, lighter,
# for most; the whole browser where notifications, Background Sync or Lighthouse need it), and node and npm
# (the tests start a Better Auth server, installing its npm packages once into
# tests/better_auth; `make lint-migrations` installs squawk with npm).
#   sudo sh scripts/setup-ci.sh        (or as root: sh scripts/setup-ci.sh)
set -eu
missing=""
command -v pgbouncer >/dev/null 2>&1 || missing="$missing pgbouncer"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromium-headless-shell >/dev/null 2>&1 || missing="$missing chromium-headless-shell"
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -z "$missing" ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing >/dev/null
case "$missing" in
*pgbouncer*)
    # The package starts its own service on port 6432; the tests start theirs on a free port.
    if command -v service >/dev/null 2>&1; then
        service pgbouncer stop >/dev/null 2>&1 || true
    fi
    ;;
esac
command -v pgbouncer
command -v chromium
command -v chromium-headless-shell
command -v npm
