#!/usr/bin/env bash
# Create the secrets of the Compose stack, one file each in secrets/ beside
# docker-compose.prod.yml (Docker secrets: the containers read them under /run/secrets/):
#
#   postgres_password  the PostgreSQL user "user"      database_url  the app's URL with it
#   redis_password     Redis's requirepass             redis_url     the app's URL with it
#   secret_key         the web UI's session key
#
#   scripts/make-secrets.sh [--dir DIR] [--env-file FILE]
#
# A file that exists is kept, so running it again changes nothing. A stack set up before the
# secrets were files had POSTGRES_PASSWORD and SMSGW_SECRET_KEY in .env: those values are taken
# over (the database was created with that password); delete them from .env afterwards.
# The folder is mode 0700, so only its owner (root, for the Docker daemon) reaches the files;
# the files themselves are 0444 because each container reads its own as a different user.
set -euo pipefail

project=$(cd "$(dirname "$0")/.." && pwd)
dir=$project/secrets
env_file=$project/.env

while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir=${2:?--dir needs a folder}; shift ;;
        --env-file) env_file=${2:?--env-file needs a file}; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "make-secrets: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

say() { echo "make-secrets: $*"; }

random_hex() {  # random_hex BYTES
    od -An -N "$1" -tx1 /dev/urandom | tr -d ' \n'
}

from_env_file() {  # from_env_file NAME: its value in the .env file, quotes removed; may be empty
    [ -r "$env_file" ] || return 0
    { grep -E "^[[:space:]]*(export[[:space:]]+)?$1=" "$env_file" || true; } | tail -n 1 \
        | cut -d= -f2- \
        | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e "s/^['\"]//" -e "s/['\"]\$//"
}

write() {  # write NAME VALUE: create secrets/NAME unless it exists
    local path=$dir/$1
    if [ -e "$path" ]; then say "keeping $path"; return; fi
    printf '%s\n' "$2" > "$path.tmp"
    chmod 0444 "$path.tmp"
    mv "$path.tmp" "$path"
    say "wrote $path"
}

value_of() {  # value_of NAME: the content of secrets/NAME
    tr -d '\n' < "$dir/$1"
}

umask 077
mkdir -p "$dir"
chmod 0700 "$dir"

postgres_password=$(from_env_file POSTGRES_PASSWORD)
write postgres_password "${postgres_password:-$(random_hex 24)}"
secret_key=$(from_env_file SMSGW_SECRET_KEY)
write secret_key "${secret_key:-$(random_hex 32)}"
write redis_password "$(random_hex 24)"

# The URLs carry the passwords; both go inside a URL, which is why they are hex.
write database_url "postgresql://user:$(value_of postgres_password)@db:5432/sms_gateway"
write redis_url "redis://:$(value_of redis_password)@redis:6379/0"
