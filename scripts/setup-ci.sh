#!/bin/sh
# What the test suite needs beyond the project's venv and PostgreSQL: Debian's pgbouncer (the
# end-to-end tests run the service through it in transaction mode, starting it themselves).
#   sudo sh scripts/setup-ci.sh        (or as root: sh scripts/setup-ci.sh)
set -eu
if command -v pgbouncer >/dev/null 2>&1; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null
# The package starts its own service on port 6432; the tests start theirs on a free port.
if command -v service >/dev/null 2>&1; then
    service pgbouncer stop >/dev/null 2>&1 || true
fi
command -v pgbouncer
