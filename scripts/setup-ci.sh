#!/bin/sh
# What the test suite needs beyond the project's venv and PostgreSQL: Debian's pgbouncer (the
# end-to-end tests run the service through it in transaction mode, starting it themselves) and
# haproxy (tests/test_scale_out_server.py puts three instances behind one of its own),
# Debian's chromium and its headless shell (the browser tests drive them: the shell, lighter,
# for most; the whole browser where notifications, Background Sync or Lighthouse need it), and node and npm
# (the tests start a Better Auth server, installing its npm packages once into
# tests/better_auth; `make lint-migrations` installs squawk with npm).
#   sudo sh scripts/setup-ci.sh        (or as root: sh scripts/setup-ci.sh)
set -eu
missing=""
command -v pgbouncer >/dev/null 2>&1 || missing="$missing pgbouncer"
command -v haproxy >/dev/null 2>&1 || missing="$missing haproxy"
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
# Each package starts its own service (pgbouncer on port 6432, haproxy with Debian's config);
# the tests start theirs on free ports.
for package in pgbouncer haproxy; do
    case "$missing" in
    *"$package"*)
        if command -v service >/dev/null 2>&1; then
            service "$package" stop >/dev/null 2>&1 || true
        fi
        ;;
    esac
done
command -v pgbouncer
command -v haproxy
command -v chromium
command -v chromium-headless-shell
command -v npm
