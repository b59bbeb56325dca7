#!/bin/sh
# Container entrypoint of the sms-gateway image.
#  - makes /app/logs (a bind mount of ./logs) writable for the smsgw user;
#  - ignores SMSGW_CONFIG when that file is absent (settings then come from the environment);
#  - SMSGW_MIGRATE_ON_START=1: runs `gatewayd migrate` first (the gatewayd service does this:
#    Compose stops the old gatewayd container before it starts the new one, so the schema is
#    never changed under a running older gatewayd);
#  - SMSGW_WAIT_FOR_SCHEMA=N: waits up to N seconds for the schema to be current, then gives
#    up with exit status 1 so that Docker starts it again later (the web service does this: it
#    never runs on a schema older than its code);
#  - then runs the command as smsgw (as root only if SMSGW_RUN_AS_ROOT=1).
set -eu

log() { echo "sms-gateway-entrypoint: $*" >&2; }

# The secrets are files (docker-compose.prod.yml, secrets:); a missing one is a setup step
# not done, said in one line rather than as the application's error about a folder.
for variable in SMSGW_DATABASE_URL_FILE SMSGW_REDIS_URL_FILE SMSGW_SECRET_KEY_FILE; do
    eval "path=\${$variable:-}"
    if [ -n "$path" ] && [ ! -f "$path" ]; then
        log "$variable: $path is missing: run scripts/make-secrets.sh beside docker-compose.prod.yml"
        exit 1
    fi
done

if [ "$(id -u)" = 0 ]; then
    mkdir -p /app/logs /app/data
    chown smsgw:smsgw /app/logs /app/data 2>/dev/null || log "cannot chown /app/logs"
fi

if [ -n "${SMSGW_CONFIG:-}" ] && [ ! -f "$SMSGW_CONFIG" ]; then
    log "$SMSGW_CONFIG not found: using environment settings only"
    unset SMSGW_CONFIG
fi

as_app_user() {
    if [ "$(id -u)" = 0 ] && [ "${SMSGW_RUN_AS_ROOT:-0}" != 1 ]; then
        setpriv --reuid=smsgw --regid=smsgw --init-groups -- "$@"
    else
        "$@"
    fi
}

if [ "${SMSGW_MIGRATE_ON_START:-0}" = 1 ]; then
    log "gatewayd migrate"
    as_app_user gatewayd migrate
fi

wait_seconds="${SMSGW_WAIT_FOR_SCHEMA:-0}"
if [ "$wait_seconds" -gt 0 ]; then
    waited=0
    until as_app_user gatewayd migrate --check >/dev/null 2>&1; do
        if [ "$waited" -ge "$wait_seconds" ]; then
            log "schema not current after ${wait_seconds}s: gatewayd migrates it when it starts (is it running, and as new as this image?)"
            exit 1
        fi
        sleep 2
        waited=$((waited + 2))
    done
fi

if [ "$(id -u)" = 0 ] && [ "${SMSGW_RUN_AS_ROOT:-0}" != 1 ]; then
    exec setpriv --reuid=smsgw --regid=smsgw --init-groups -- "$@"
fi
exec "$@"
