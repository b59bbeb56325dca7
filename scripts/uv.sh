#!/usr/bin/env bash
# Run the pinned uv (installed on first use into .uv/ from scripts/uv-requirements.txt, hashes
# checked). `scripts/uv.sh --path` prints its path instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tool_dir=.uv
want=$(sed -n 's/^uv==\([0-9.]*\).*/\1/p' scripts/uv-requirements.txt)
if [ "$("$tool_dir/bin/uv" --version 2>/dev/null | cut -d' ' -f2)" != "$want" ]; then
    rm -rf "$tool_dir"
    "${PYTHON:-python3}" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
        --require-hashes --only-binary=:all: --target "$tool_dir" -r scripts/uv-requirements.txt
fi
export UV_PYTHON_DOWNLOADS=never
if [ "${1:-}" = "--path" ]; then
    echo "$PWD/$tool_dir/bin/uv"
else
    exec "$tool_dir/bin/uv" "$@"
fi
