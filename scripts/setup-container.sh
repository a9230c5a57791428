#!/bin/sh
# What the container test (tests/test_container.py) needs: Debian's podman (it builds the
# Dockerfile, secrets included, with no daemon; Debian's docker has no buildx) and debootstrap
# (the test makes the debian:bookworm-slim base from Debian's archive, since no container
# registry need be reachable).
#   sudo sh scripts/setup-container.sh        (or as root: sh scripts/setup-container.sh)
set -eu
missing=""
command -v podman >/dev/null 2>&1 || missing="$missing podman"
command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
# crun, which podman picks by default, refuses hosts that mount cgroups v1 and v2 side by side;
# runc runs there (the test asks for it).
command -v runc >/dev/null 2>&1 || missing="$missing runc"
if [ -z "$missing" ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing >/dev/null
command -v podman
command -v debootstrap
command -v runc
