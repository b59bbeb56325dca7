#!/bin/sh
# redis-cli with the stack's Redis password (the secret redis_password), mounted in the redis
# container ahead of the real one on PATH, so that the runbook's
#   docker-compose -f docker-compose.prod.yml exec redis redis-cli info stats
# works with requirepass on. The password travels in REDISCLI_AUTH, never on a command line.
if [ -z "${REDISCLI_AUTH:-}" ] && [ -r /run/secrets/redis_password ]; then
    REDISCLI_AUTH=$(cat /run/secrets/redis_password)
    export REDISCLI_AUTH
fi
exec /usr/local/bin/redis-cli "$@"
