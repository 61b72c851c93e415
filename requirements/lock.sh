#!/usr/bin/env bash
# `make lock [UPGRADE=1]`: the lock files requirements/py3.X.txt, one per supported Python,
# made by `uv pip compile --universal --generate-hashes` from pyproject.toml (with the dev
# extra). Each holds exact versions and every file hash of them for one Python on every
# platform (Linux, macOS, Windows; x86_64 and arm64): `make setup` installs from it with
# `pip install --require-hashes`.
#
# Without UPGRADE, a package keeps its locked version while pyproject.toml still allows it
# (what changed in pyproject.toml is added, removed or moved, nothing else); UPGRADE=1 takes
# the newest release pyproject.toml allows. No Python of those versions is needed here: uv
# resolves for a version it is told.
#
#   requirements/lock.sh UV [3.10 3.11 ...]     (default: every Python podium supports)
set -euo pipefail
cd "$(dirname "$0")/.."
uv=$1
shift
versions=("$@")
[[ ${#versions[@]} -gt 0 ]] || versions=(3.10 3.11 3.12 3.13)
upgrade=()
[[ -n ${UPGRADE:-} ]] && upgrade=(--upgrade)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for version in "${versions[@]}"; do
    # a universal resolution covers every Python from the one named on; this requirement's
    # marker limits it to one Python, so each lock pins that Python's own versions
    echo "podium[dev,track] @ file://$PWD ; python_version == '$version'" >"$work/py$version.in"
    echo "make lock: Python $version -> requirements/py$version.txt"
    UV_PYTHON_DOWNLOADS=never "$uv" pip compile "$work/py$version.in" \
        --universal --python-version "$version" --generate-hashes \
        --no-emit-package podium --custom-compile-command "make lock" \
        "${upgrade[@]}" --quiet -o "requirements/py$version.txt"
done
