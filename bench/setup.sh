#!/bin/sh
# Installs what the benchmarks need beyond the project's venv: wrk (Debian's package).
#   sudo sh bench/setup.sh        (or as root: sh bench/setup.sh)
set -eu
if command -v wrk >/dev/null 2>&1; then
    echo "wrk is already installed: $(command -v wrk)"
    exit 0
fi
apt-get update -qq
apt-get install -y wrk
wrk --version 2>&1 | head -n 1 || true
