#!/bin/sh
# Installed in the image as `webui` and `gatewayd` ahead of the virtualenv on PATH, so that
# `docker-compose exec web webui list-users` behaves like the service itself: a settings file
# named by SMSGW_CONFIG that does not exist (no config/gatewayd.toml on the host) is ignored
# and the environment alone applies.
name=$(basename "$0")
if [ -n "${SMSGW_CONFIG:-}" ] && [ ! -f "$SMSGW_CONFIG" ]; then
    unset SMSGW_CONFIG
fi
exec "/opt/sms-gateway/venv/bin/$name" "$@"
