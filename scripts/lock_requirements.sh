#!/usr/bin/env bash
# Resolve requirements.in into requirements.lock and environment.yml (run after changing requirements.in).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3.11 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --disable-pip-version-check -r requirements.in 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
{
    echo "# Exact versions the project is tested with; torch 2.14.1 + torchvision 0.29.2 come as one matching build."
    echo "# Regenerate after changing requirements.in: scripts/lock_requirements.sh"
    "$tmp/venv/bin/pip" freeze --all | grep -vE "^(pip==|-e |#)" | sort -f
} >requirements.lock
"$tmp/venv/bin/python" scripts/write_environment_yml.py requirements.lock environment.yml
