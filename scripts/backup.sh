#!/usr/bin/env bash
# Database backups of the SMS gateway (PostgreSQL database sms_gateway).
#
#   scripts/backup.sh                     dump to backups/<UTC time>_backup.sql.gz and
#                                         backups/latest_backup.sql.gz, then prune old ones
#   scripts/backup.sh restore latest|FILE [--yes]
#                                         replace the database with a backup (asks first;
#                                         --yes does not ask)
#   scripts/backup.sh list                the backups, newest first
#   scripts/backup.sh verify [FILE]       gzip integrity of a backup (default: latest)
#
# Where the database is (--direct / --compose, or SMSGW_BACKUP_MODE=direct|compose):
#   direct   pg_dump/psql against SMSGW_DATABASE_URL (postgresql://user:pass@host/sms_gateway);
#            chosen when SMSGW_DATABASE_URL is set, or found in SMSGW_ENV_FILE
#            (default /etc/sms-gateway/env, the bare-metal install's file)
#   compose  docker-compose -f docker-compose.prod.yml exec db pg_dump -U user sms_gateway;
#            chosen otherwise when docker-compose.prod.yml is beside scripts/
# Settings: SMSGW_BACKUP_DIR (default <project>/backups), SMSGW_BACKUP_KEEP (newest backups
# kept, default 14), SMSGW_BACKUP_MAX_AGE_DAYS (older ones deleted, default 30; 0 = never),
# SMSGW_COMPOSE_FILE, SMSGW_BACKUP_BEFORE_RESTORE (default 1: dump first, as
# <time>_pre_restore.sql.gz).
set -euo pipefail

project=$(cd "$(dirname "$0")/.." && pwd)
backup_dir=${SMSGW_BACKUP_DIR:-$project/backups}
keep=${SMSGW_BACKUP_KEEP:-14}
max_age_days=${SMSGW_BACKUP_MAX_AGE_DAYS:-30}
compose_file=${SMSGW_COMPOSE_FILE:-$project/docker-compose.prod.yml}
env_file=${SMSGW_ENV_FILE:-/etc/sms-gateway/env}
mode=${SMSGW_BACKUP_MODE:-}
assume_yes=0

die() { echo "backup: $*" >&2; exit 1; }
note() { echo "backup: $*" >&2; }

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

# --- where the database is ------------------------------------------------------------------

database_url=""

libpq_url() {
    # SQLAlchemy spellings to what libpq understands
    local url=$1
    url=${url/#postgresql+asyncpg:/postgresql:}
    url=${url/#postgresql+psycopg:/postgresql:}
    url=${url/#postgresql+psycopg2:/postgresql:}
    printf '%s' "$url"
}

url_from_env_file() {
    [ -r "$env_file" ] || return 1
    local line
    line=$(grep -E '^[[:space:]]*(export[[:space:]]+)?SMSGW_DATABASE_URL=' "$env_file" | tail -n 1) || return 1
    line=${line#*=}
    line=${line%\"}; line=${line#\"}; line=${line%\'}; line=${line#\'}
    [ -n "$line" ] || return 1
    printf '%s' "$line"
}

choose_mode() {
    if [ -z "$mode" ]; then
        if [ -n "${SMSGW_DATABASE_URL:-}" ]; then
            mode=direct
        elif [ -f "$compose_file" ] && command -v docker-compose >/dev/null 2>&1; then
            mode=compose
        elif url_from_env_file >/dev/null; then
            mode=direct
        else
            die "no database: set SMSGW_DATABASE_URL, or run beside docker-compose.prod.yml"
        fi
    fi
    case "$mode" in
        direct)
            database_url=${SMSGW_DATABASE_URL:-$(url_from_env_file || true)}
            [ -n "$database_url" ] || die "direct mode needs SMSGW_DATABASE_URL"
            case "$database_url" in
                postgres://*|postgresql://*|postgresql+*://*) ;;
                *) die "SMSGW_DATABASE_URL is not PostgreSQL (SQLite: copy the file instead)" ;;
            esac
            database_url=$(libpq_url "$database_url")
            command -v pg_dump >/dev/null || die "pg_dump not found (apt-get install postgresql-client)"
            ;;
        compose)
            [ -f "$compose_file" ] || die "$compose_file not found"
            command -v docker-compose >/dev/null || die "docker-compose not found"
            ;;
        *) die "unknown mode '$mode' (direct or compose)" ;;
    esac
}

compose() { docker-compose -f "$compose_file" "$@"; }

run_dump() {
    local options=(--clean --if-exists --no-owner --no-privileges)
    if [ "$mode" = direct ]; then
        PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-10} pg_dump "${options[@]}" --dbname="$database_url"
    else
        compose exec -T db pg_dump -U user "${options[@]}" sms_gateway
    fi
}

run_psql() {
    local options=(-X -q -v ON_ERROR_STOP=1 --single-transaction)
    if [ "$mode" = direct ]; then
        PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-10} psql "${options[@]}" --dbname="$database_url" >/dev/null
    else
        compose exec -T db psql -U user -d sms_gateway "${options[@]}" >/dev/null
    fi
}

database_label() {
    if [ "$mode" = direct ]; then
        # never print the password
        printf '%s' "$database_url" | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#'
    else
        printf 'sms_gateway in the compose service db'
    fi
}

# --- backup ---------------------------------------------------------------------------------

utc_stamp() { date -u +%Y%m%dT%H%M%SZ; }

dump_to() {
    # dump_to NAME: write backups/NAME atomically; print its path
    local target=$backup_dir/$1 partial
    mkdir -p "$backup_dir"
    partial=$(mktemp "$backup_dir/.partial.XXXXXX")
    trap 'rm -f "$partial"' EXIT
    if ! run_dump | gzip -c > "$partial"; then
        die "pg_dump failed; no backup written"
    fi
    gzip -t "$partial" || die "the new backup does not pass gzip -t"
    chmod 600 "$partial"
    mv "$partial" "$target"
    trap - EXIT
    printf '%s' "$target"
}

backup() {
    choose_mode
    local name file
    name="$(utc_stamp)_backup.sql.gz"
    [ ! -e "$backup_dir/$name" ] || { sleep 1; name="$(utc_stamp)_backup.sql.gz"; }
    file=$(dump_to "$name")
    # latest_backup.sql.gz: a hard link (a copy where links cannot be made)
    ln -f "$file" "$backup_dir/latest_backup.sql.gz.new" 2>/dev/null \
        || cp -p "$file" "$backup_dir/latest_backup.sql.gz.new"
    mv -f "$backup_dir/latest_backup.sql.gz.new" "$backup_dir/latest_backup.sql.gz"
    echo "backup: wrote $file ($(du -h "$file" | cut -f1)) from $(database_label)"
    prune
}

list_backups() {
    # timestamped backups, newest first (the names sort by time)
    find "$backup_dir" -maxdepth 1 -type f \( -name '[0-9]*_backup.sql.gz' -o -name '[0-9]*_pre_restore.sql.gz' \) \
        -printf '%f\n' 2>/dev/null | sort -r
}

prune() {
    local count=0 name newest
    newest=$(list_backups | grep '_backup.sql.gz$' | head -n 1 || true)
    while IFS= read -r name; do
        [ -n "$name" ] || continue
        count=$((count + 1))
        [ "$name" = "$newest" ] && continue
        if [ "$keep" -gt 0 ] && [ "$count" -gt "$keep" ]; then
            rm -f "$backup_dir/$name"; echo "backup: pruned $name (more than $keep)"
        fi
    done < <(list_backups | grep '_backup.sql.gz$' || true)
    if [ "$max_age_days" -gt 0 ]; then
        while IFS= read -r name; do
            if [ -z "$name" ] || [ "$name" = "$newest" ]; then continue; fi
            rm -f "$backup_dir/$name"; echo "backup: pruned $name (older than $max_age_days days)"
        done < <(find "$backup_dir" -maxdepth 1 -type f \
            \( -name '[0-9]*_backup.sql.gz' -o -name '[0-9]*_pre_restore.sql.gz' \) \
            -mtime +"$max_age_days" -printf '%f\n' 2>/dev/null)
    fi
}

# --- restore --------------------------------------------------------------------------------

resolve_backup() {
    local which=$1
    case "$which" in
        latest) printf '%s' "$backup_dir/latest_backup.sql.gz" ;;
        /*|./*|../*) printf '%s' "$which" ;;
        *) if [ -f "$which" ]; then printf '%s' "$which"; else printf '%s' "$backup_dir/$which"; fi ;;
    esac
}

confirm() {
    [ "$assume_yes" -eq 1 ] && return 0
    local answer=""
    if [ -t 0 ]; then
        read -r -p "$1 Type 'yes' to continue: " answer
    elif [ -r /dev/tty ] && { : </dev/tty; } 2>/dev/null; then
        read -r -p "$1 Type 'yes' to continue: " answer </dev/tty
    else
        die "refusing to restore without a terminal to confirm; add --yes"
    fi
    [ "$answer" = yes ] || die "not restored"
}

restore() {
    local which=${1:-}
    [ -n "$which" ] || die "restore needs 'latest' or a backup file"
    local file
    file=$(resolve_backup "$which")
    [ -f "$file" ] || die "$file not found"
    gzip -t "$file" || die "$file is damaged (gzip -t failed)"
    choose_mode
    confirm "This replaces every table of $(database_label) with $file."
    if [ "${SMSGW_BACKUP_BEFORE_RESTORE:-1}" = 1 ]; then
        local safety
        if safety=$(dump_to "$(utc_stamp)_pre_restore.sql.gz"); then
            echo "backup: current database saved to $safety"
        else
            note "could not save the current database first; restoring anyway"
        fi
    fi
    if ! gunzip -c "$file" | run_psql; then
        die "restore failed; the database was left as it was (one transaction)"
    fi
    echo "backup: restored $file into $(database_label)"
}

# --- command line ---------------------------------------------------------------------------

command=backup
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --yes|-y) assume_yes=1 ;;
        --direct) mode=direct ;;
        --compose) mode=compose ;;
        -h|--help|help) usage; exit 0 ;;
        backup|restore|list|verify) command=$1 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) args+=("$1") ;;
    esac
    shift
done

case "$command" in
    backup)
        [ ${#args[@]} -eq 0 ] || die "unexpected argument '${args[0]}' (see --help)"
        backup ;;
    restore) restore "${args[0]:-}" ;;
    list) list_backups ;;
    verify)
        file=$(resolve_backup "${args[0]:-latest}")
        gzip -t "$file" && echo "backup: $file is intact" ;;
esac
