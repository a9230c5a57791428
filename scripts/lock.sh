#!/bin/sh
# Pin every package the service and its tests install, with their hashes, from pyproject.toml:
#   requirements.lock       what `make serve` installs (the service's dependencies)
#   requirements-dev.lock   what `make test` and CI install (the same pins, plus the tools)
# Run it after changing the dependencies in pyproject.toml, or to take newer releases
# (`sh scripts/lock.sh --upgrade`, or `--upgrade-package NAME`), and commit both files.
set -eu
cd "$(dirname "$0")/.."
make --no-print-directory uv >/dev/null
UV=.tools/uv/bin/uv
common="--quiet --generate-hashes --python-version 3.11 --universal --no-emit-package todo-api"
# shellcheck disable=SC2086 # the options are words
$UV pip compile $common "$@" --custom-compile-command "sh scripts/lock.sh" \
    pyproject.toml -o requirements.lock
# shellcheck disable=SC2086
$UV pip compile $common "$@" --custom-compile-command "sh scripts/lock.sh" \
    --extra dev --constraint requirements.lock pyproject.toml -o requirements-dev.lock
echo "requirements.lock and requirements-dev.lock written"
