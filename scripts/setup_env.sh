#!/usr/bin/env bash
# Create or update the project's virtual environment from requirements.lock.
# Idempotent: a stamp named after the lock's hash skips the install when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${RP_VENV:-.venv}
python=${RP_PYTHON:-$(command -v python3.11 || command -v python3)}
hash=$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
stamp="$venv/.installed-$hash"

if [ -f "$stamp" ]; then
    exit 0
fi
"$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || {
    echo "error: Python 3.11 is required (found $("$python" --version 2>&1)); set RP_PYTHON to a 3.11 interpreter" >&2
    exit 1
}
# A full disk would stop pip minutes in, with a venv half installed. Measured: a new .venv takes 6.7 GB
# (4.1 GB of it the CUDA libraries and triton that PyPI's torch brings), 6.9 GB at the install's peak.
if [ "${RP_SKIP_DISK_CHECK:-0}" != 1 ]; then
    installed_mb=0
    [ -d "$venv" ] && installed_mb=$(du -sm -- "$venv" | cut -f1)
    need_mb=$(( 7200 - installed_mb ))
    where=$(dirname -- "$venv")
    while [ ! -d "$where" ]; do where=$(dirname -- "$where"); done  # venv makes the missing parents
    free_mb=$(df -Pm -- "$where" | awk 'NR == 2 {print $4}')
    if [ "$need_mb" -gt "${free_mb:-0}" ]; then
        need_gb=$(awk -v mb="$need_mb" 'BEGIN {printf "%.1f", mb / 1024}')
        echo "error: installing into $venv needs about $need_gb GB free on its disk, which has $free_mb MB; free some space, set RP_VENV to a path on a larger disk, or RP_SKIP_DISK_CHECK=1" >&2
        exit 1
    fi
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
echo "Installing pinned dependencies into $venv (log: $venv/install.log) ..." >&2
if ! "$venv/bin/pip" install --disable-pip-version-check -r requirements.lock >"$venv/install.log" 2>&1 \
    || ! "$venv/bin/pip" install --disable-pip-version-check --no-deps --no-build-isolation -e . >>"$venv/install.log" 2>&1; then
    grep -v "is ignored: it is neither a file nor a directory" "$venv/install.log" | tail -n 20 >&2
    echo "error: installing dependencies failed; see $venv/install.log" >&2
    exit 1
fi
rm -f "$venv"/.installed-*
touch "$stamp"
echo "Environment ready: $venv" >&2
