#!/bin/sh
# The logrotate service of docker-compose.prod.yml: runs logrotate now and then every
# SMSGW_LOGROTATE_INTERVAL seconds (default 3600). The configuration (docker/logrotate.conf)
# decides what is due; the state file is on the logrotate-state volume, shared with
# `docker-compose exec web logrotate /etc/logrotate.conf`.
set -u
interval=${SMSGW_LOGROTATE_INTERVAL:-3600}
trap 'exit 0' TERM INT
while :; do
    logrotate /etc/logrotate.conf || echo "logrotate-loop: logrotate failed (exit $?)" >&2
    sleep "$interval" &
    wait $!
done
