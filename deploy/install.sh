#!/bin/sh
# The bot's runtime environment, built the same way in the container image (Dockerfile, builder stage) and in
# tests/test_container.py, which runs this very script in a clean temporary directory:
#
#   PYTHON=python3 sh deploy/install.sh <new venv directory> <source directory>
#
# 1. A virtual environment without pip: nothing can be installed into it at run time.
# 2. Every dependency from requirements.lock: pinned, hash-checked (--require-hashes) and binary wheels only, so
#    nothing is compiled and no build tool is needed.
# 3. The bot itself, built as a wheel and installed without dependencies (the lock already brought them).
set -eu

venv=$1
src=$2
python=${PYTHON:-python3}
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT

"$python" -m venv --without-pip "$venv"
"$python" -m pip --python "$venv/bin/python" install --no-cache-dir --disable-pip-version-check \
    --require-hashes --only-binary=:all: -r "$src/requirements.lock"
"$python" -m pip wheel --no-cache-dir --disable-pip-version-check --no-deps --wheel-dir "$wheels" "$src"
"$python" -m pip --python "$venv/bin/python" install --no-cache-dir --disable-pip-version-check \
    --no-deps --no-index "$wheels"/*.whl
