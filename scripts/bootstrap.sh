#!/usr/bin/env bash
# Create the virtualenv with exactly the packages of uv.lock (hashes checked) and the project
# installed in editable mode. Usage: scripts/bootstrap.sh [VENV] [EXTRA...]   (default: .venv dev)
# uv itself comes from scripts/uv-requirements.txt (pinned, hashes checked) into .uv/.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
shift || true
extras=("$@")
[ ${#extras[@]} -gt 0 ] || extras=(dev)
uv=$(scripts/uv.sh --path)
# --compile-bytecode: every command and test process reads compiled modules instead of
# compiling each import from source (where PYTHONDONTWRITEBYTECODE is set, nothing else would
# write them: a command started in 1.06 CPU s instead of 0.39).
args=(sync --locked --compile-bytecode --python "${PYTHON:-python3}")
for extra in "${extras[@]}"; do args+=(--extra "$extra"); done
UV_PROJECT_ENVIRONMENT="$venv" "$uv" "${args[@]}"
