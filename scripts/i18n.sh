#!/usr/bin/env bash
# Web UI translations: extract | update | compile | check (compiled catalogs are committed).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
pybabel="$venv/bin/pybabel"
locale_dir=webui/locale
case "${1:-}" in
    extract)
        "$pybabel" extract -F "$locale_dir/babel.cfg" -k N_ -k _ --no-location --sort-output \
            --project "SMS Gateway" --msgid-bugs-address "" -o "$locale_dir/messages.pot" . ;;
    update)
        "$pybabel" update -i "$locale_dir/messages.pot" -d "$locale_dir" --no-fuzzy-matching --ignore-obsolete ;;
    compile)
        "$pybabel" compile -d "$locale_dir" --statistics ;;
    *)
        echo "usage: $0 extract|update|compile" >&2; exit 2 ;;
esac
