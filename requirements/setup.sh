#!/usr/bin/env bash
# `make setup [PY=python3.X] [VENV=.venv]`: a virtualenv with podium's dependencies installed
# from its Python's lock file (requirements/py3.X.txt, hash-checked: every downloaded file
# must match a hash in the lock), then podium itself, editable.
#
#   requirements/setup.sh PY VENV     PY empty: the venv's own Python, or python3 for a new one
#
# PY names the interpreter: a path, or a command such as python3.10. Where that command is a
# pyenv shim for a version that is installed but not selected (`pyenv: python3.10: command
# not found`), the newest installed pyenv version of it is used. A venv made with another
# Python is made anew (said first). Quick when nothing changed: the venv records the lock
# and pyproject.toml it was installed from, and installs again only when either changed.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:-} venv=${2:-.venv}

run_python() {  # the interpreter's own path, or nothing where the command does not run
    "$1" -c 'import sys; print(sys.executable)' 2>/dev/null || true
}

resolve() {
    local found version root
    found=$(run_python "$1")
    if [[ -z $found && $1 =~ ^python([0-9]+\.[0-9]+)$ ]] && command -v pyenv >/dev/null; then
        version=${BASH_REMATCH[1]}
        root=$(pyenv root)
        found=$(ls -d "$root/versions/$version".* 2>/dev/null | sort -V | tail -n 1)
        [[ -n $found ]] && found=$(run_python "$found/bin/python$version")
    fi
    if [[ -z $found ]]; then
        echo "make setup: no Python interpreter '$1' (install it, or name another with PY=...)" >&2
        exit 2
    fi
    echo "$found"
}

version_of() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

if [[ -z $py && -x $venv/bin/python ]]; then
    python=$venv/bin/python  # an existing venv keeps its Python unless PY is given
else
    python=$(resolve "${py:-python3}")
fi
version=$(version_of "$python")
lock=requirements/py$version.txt
if [[ ! -f $lock ]]; then
    supported=$(ls requirements/py3.*.txt | sed 's|requirements/py||; s|\.txt$||' | sort -V | tr '\n' ' ')
    echo "make setup: Python $version ($python) has no lock file ($lock); podium supports" \
        "Python ${supported% }: e.g. make setup PY=python${supported%% *}" >&2
    exit 2
fi

stamp=$venv/.installed
want="$lock $(cksum <"$lock") $(cksum <pyproject.toml)"
if [[ -x $venv/bin/python && $(version_of "$venv/bin/python") == "$version" ]]; then
    [[ -f $stamp && $(cat "$stamp") == "$want" ]] && exit 0
else
    [[ -e $venv ]] && echo "make setup: $venv holds another Python; making it anew with $version"
    "$python" -m venv --clear "$venv"
fi
echo "make setup: Python $version ($python) -> $venv, from $lock"
started=$SECONDS
# --require-hashes: every file pip downloads (or finds in a local wheel folder) must match the
# lock; the lock already holds every dependency, so pip resolves nothing new
"$venv/bin/python" -m pip install -qq --require-hashes -r "$lock"
# podium itself: editable, built with the locked setuptools (no unpinned build download)
"$venv/bin/python" -m pip install -qq --no-deps --no-build-isolation -e .
if ! "$venv/bin/python" -m pip check >/dev/null; then
    "$venv/bin/python" -m pip check >&2 || true
    echo "make setup: $lock does not hold what pyproject.toml asks for; run \`make lock\`" >&2
    exit 1
fi
echo "$want" >"$stamp"
echo "make setup: done in $((SECONDS - started)) s"
