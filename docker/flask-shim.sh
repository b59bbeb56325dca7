#!/bin/sh
# `flask list-users` / `flask security-check`, as older runbooks write them, mapped to the
# webui commands that do the same: `docker-compose exec web flask list-users` keeps working.
if [ $# -eq 0 ]; then
    echo "usage: flask list-users | flask security-check (aliases of webui commands)" >&2
    exit 2
fi
case "$1" in
    list-users|security-check|create-user|list-api-keys|create-api-key|revoke-api-key|set-password|unlock-user)
        exec webui "$@" ;;
    *)
        echo "flask: '$1' is not a command here; see 'webui --help'" >&2
        exit 2 ;;
esac
