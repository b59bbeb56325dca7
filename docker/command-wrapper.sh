#!/bin/sh
# Installed in the image as `webui` and `gatewayd` ahead of the virtualenv on PATH, so that
# `docker-compose exec web webui list-users` behaves like the service itself:
#  - it runs as the application's user (smsgw), not as root, even though `docker-compose exec`
#    starts commands as root: a command run as root would recreate logs/app.log owned by root
#    after a rotation, and the service (smsgw) could no longer write to it ("Failed login"
#    lines lost). SMSGW_RUN_AS_ROOT=1 keeps root; SMSGW_APP_USER names another user.
#  - a settings file named by SMSGW_CONFIG that does not exist (no config/gatewayd.toml on the
#    host) is ignored and the environment alone applies.
name=$(basename "$0")
if [ -n "${SMSGW_CONFIG:-}" ] && [ ! -f "$SMSGW_CONFIG" ]; then
    unset SMSGW_CONFIG
fi
program="/opt/sms-gateway/venv/bin/$name"
if [ "$(id -u)" = 0 ] && [ "${SMSGW_RUN_AS_ROOT:-0}" != 1 ]; then
    user=${SMSGW_APP_USER:-smsgw}
    exec setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$program" "$@"
fi
exec "$program" "$@"
