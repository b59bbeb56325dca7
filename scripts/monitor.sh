#!/usr/bin/env bash
# Status of the SMS gateway at a glance: services (systemd units and compose containers,
# both where both run), /api/health, CPU, memory, disk, database connections, send queue and
# modems, measured against the runbook's thresholds.
#
#   scripts/monitor.sh [--direct|--compose] [--no-color]
#
# Exit status: 0 all well, 1 warning, 2 critical (for cron, Nagios-style checks, scripts).
#
# Settings (environment):
#   SMSGW_HEALTH_URL          default http://127.0.0.1:8080/api/health
#   SMSGW_HEALTH_INSECURE=1   accept a self-signed certificate (https URL)
#   SMSGW_DATABASE_URL        PostgreSQL to inspect directly (else the compose service db,
#                             else SMSGW_DATABASE_URL from SMSGW_ENV_FILE=/etc/sms-gateway/env)
#   SMSGW_MONITOR_CPU_WARN=80  SMSGW_MONITOR_CPU_CRIT= (empty: CPU is never critical)
#   SMSGW_MONITOR_MEM_WARN=80  SMSGW_MONITOR_MEM_CRIT=90
#   SMSGW_MONITOR_DISK_WARN=85 SMSGW_MONITOR_DISK_CRIT=90
#   SMSGW_MONITOR_DB_CONN_WARN=80 SMSGW_MONITOR_DB_CONN_CRIT=95 (% of max_connections)
#   SMSGW_MONITOR_LOCK_WAIT_WARN=5 (% of connections waiting on a lock)
#   SMSGW_MONITOR_QUEUE_WARN=1000 (messages)  SMSGW_MONITOR_QUEUE_AGE_WARN=600 (seconds)
#   SMSGW_MONITOR_MODEM_STALE=300 (seconds without news from a modem)
#   SMSGW_MONITOR_DISK_PATHS  folders whose file systems are checked (default: the project, /)
#   SMSGW_MONITOR_UNITS="gatewayd webui"      systemd units checked where installed
#   SMSGW_MONITOR_PROCESSES="gatewayd webui"  programs looked for without systemd or Docker
#   COMPOSE_PROFILES          as for docker-compose (else read from .env beside the compose
#                             file): containers of a profile that is not enabled are not
#                             expected; neither is a service this host runs as a systemd unit
#   SMSGW_MONITOR_CPU_SAMPLE=1 (seconds)
set -uo pipefail

project=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
compose_file=${SMSGW_COMPOSE_FILE:-$project/docker-compose.prod.yml}
env_file=${SMSGW_ENV_FILE:-/etc/sms-gateway/env}
health_url=${SMSGW_HEALTH_URL:-http://127.0.0.1:8080/api/health}
cpu_warn=${SMSGW_MONITOR_CPU_WARN:-80}
cpu_crit=${SMSGW_MONITOR_CPU_CRIT:-}
mem_warn=${SMSGW_MONITOR_MEM_WARN:-80}
mem_crit=${SMSGW_MONITOR_MEM_CRIT:-90}
disk_warn=${SMSGW_MONITOR_DISK_WARN:-85}
disk_crit=${SMSGW_MONITOR_DISK_CRIT:-90}
db_conn_warn=${SMSGW_MONITOR_DB_CONN_WARN:-80}
db_conn_crit=${SMSGW_MONITOR_DB_CONN_CRIT:-95}
lock_wait_warn=${SMSGW_MONITOR_LOCK_WAIT_WARN:-5}
queue_warn=${SMSGW_MONITOR_QUEUE_WARN:-1000}
queue_age_warn=${SMSGW_MONITOR_QUEUE_AGE_WARN:-600}
modem_stale=${SMSGW_MONITOR_MODEM_STALE:-300}
cpu_sample=${SMSGW_MONITOR_CPU_SAMPLE:-1}
mode=${SMSGW_MONITOR_MODE:-}
color=1
[ -t 1 ] || color=0

while [ $# -gt 0 ]; do
    case "$1" in
        --direct) mode=direct ;;
        --compose) mode=compose ;;
        --no-color) color=0 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "monitor: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

worst=0
warnings=0
criticals=0

paint() { if [ "$color" -eq 1 ]; then printf '\033[%sm%s\033[0m' "$1" "$2"; else printf '%s' "$2"; fi; }
ok() { printf '  [%s] %s\n' "$(paint 32 ' OK ')" "$*"; }
info() { printf '  [%s] %s\n' "$(paint 36 'INFO')" "$*"; }
warn() {
    printf '  [%s] %s\n' "$(paint 33 'WARN')" "$*"
    warnings=$((warnings + 1)); [ "$worst" -ge 1 ] || worst=1
}
crit() { printf '  [%s] %s\n' "$(paint 31 'CRIT')" "$*"; criticals=$((criticals + 1)); worst=2; }
section() { printf '\n%s\n' "$(paint 1 "$*")"; }

# level VALUE WARN CRIT -> 0/1/2 (integers; an empty limit never trips)
level() {
    local value=$1 w=$2 c=$3
    if [ -n "$c" ] && [ "$value" -gt "$c" ]; then echo 2
    elif [ -n "$w" ] && [ "$value" -gt "$w" ]; then echo 1
    else echo 0; fi
}
report() {  # report LEVEL TEXT
    case "$1" in 2) crit "$2" ;; 1) warn "$2" ;; *) ok "$2" ;; esac
}

compose_usable() {
    [ -f "$compose_file" ] && command -v docker-compose >/dev/null 2>&1 \
        && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

# --- services -------------------------------------------------------------------------------
# The host may run the product as containers, as systemd units, or both (gatewayd under
# systemd beside the compose stack): each is checked where it runs. The functions that ask
# systemd and Docker are apart from those that decide, which take their answers as arguments.
systemd_running() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

host_units() {  # the SMSGW_MONITOR_UNITS installed on this host, one a line
    systemd_running || return 0
    local unit
    for unit in ${SMSGW_MONITOR_UNITS:-gatewayd webui}; do
        if systemctl cat "$unit.service" >/dev/null 2>&1; then echo "$unit"; fi
    done
}

unit_report() {  # unit_report UNIT
    if systemctl is-active --quiet "$1.service"; then
        ok "$1.service active (since $(systemctl show -p ActiveEnterTimestamp --value "$1.service"))"
    else
        crit "$1.service $(systemctl is-active "$1.service" 2>/dev/null)"
    fi
}

active_profiles() {  # the compose profiles `up` enables: COMPOSE_PROFILES, else from .env
    if [ -n "${COMPOSE_PROFILES+set}" ]; then echo "$COMPOSE_PROFILES"; return; fi
    grep -E '^[[:space:]]*COMPOSE_PROFILES=' "$(dirname "$compose_file")/.env" 2>/dev/null \
        | tail -n 1 | cut -d= -f2- | tr -d "\"' "
}

service_profiles() {  # "SERVICE PROFILE,..." per service of the compose file ("-": none)
    docker-compose -f "$compose_file" config 2>/dev/null | awk '
        /^services:/ { inside = 1; next }
        /^[^ ]/ { inside = 0 }
        inside && /^  [^ ]/ { flush(); service = $1; sub(/:$/, "", service); next }
        inside && /^    profiles:/ { listing = 1; next }
        inside && listing && /^    - / { profiles = profiles (profiles ? "," : "") $2; next }
        { listing = 0 }
        function flush() { if (service != "") print service, (profiles ? profiles : "-"); profiles = "" }
        END { flush() }'
}

expected_containers() {  # expected_containers SERVICE_PROFILES ACTIVE_PROFILES HOST_UNITS
    # The services `up -d` starts (no profile, or an active one), except those this host runs
    # as systemd units; one a line. Skipped ones go to stderr with the reason.
    local service profiles wanted profile
    while read -r service profiles; do
        [ -n "$service" ] || continue
        if grep -qx "$service" <<<"$3"; then
            echo "$service: a systemd unit on this host" >&2; continue
        fi
        wanted=0
        if [ "$profiles" = - ]; then wanted=1; fi
        for profile in ${profiles//,/ }; do
            if grep -qx "$profile" <<<"${2//,/$'\n'}"; then wanted=1; fi
        done
        if [ "$wanted" -eq 1 ]; then echo "$service"
        else echo "$service: not started by this stack (profile ${profiles}, COMPOSE_PROFILES=${2:-})" >&2; fi
    done <<<"$1"
}

running_containers() {
    docker-compose -f "$compose_file" ps --services --filter status=running 2>/dev/null
}

check_containers() {  # check_containers EXPECTED RUNNING HOST_UNITS
    local service
    for service in $1; do
        if grep -qx "$service" <<<"$2"; then ok "container $service running"
        else crit "container $service not running"; fi
    done
    for service in $3; do
        if grep -qx "$service" <<<"$2"; then
            crit "$service runs twice: as a systemd unit and as a container (one must go)"
        fi
    done
}

check_services() {
    section "Services"
    local units unit checked=0 expected skipped
    units=$(host_units)
    for unit in $units; do unit_report "$unit"; checked=1; done
    if compose_usable; then
        expected=$(expected_containers "$(service_profiles)" "$(active_profiles)" "$units" 2>"$tmp/skipped")
        check_containers "$expected" "$(running_containers)" "$units"
        while read -r skipped; do [ -z "$skipped" ] || info "$skipped"; done <"$tmp/skipped"
        checked=1
    fi
    [ "$checked" -eq 1 ] && return
    local name pids
    for name in ${SMSGW_MONITOR_PROCESSES:-gatewayd webui}; do
        pids=$(pgrep -f "(^|/)$name( |$)" | tr '\n' ' ')
        if [ -n "$pids" ]; then ok "$name running (pid ${pids% })"
        else crit "$name is not running"; fi
    done
}

# --- /api/health ----------------------------------------------------------------------------
json_field() {  # json_field FILE KEY.PATH -> value or empty
    python3 - "$1" "$2" <<'PY' 2>/dev/null
import json, sys
data = json.load(open(sys.argv[1]))
for key in sys.argv[2].split("."):
    data = data.get(key) if isinstance(data, dict) else None
if isinstance(data, dict):
    print(" ".join(f"{k}={v}" for k, v in data.items()))
elif data is not None:
    print(data)
PY
}

check_health() {
    section "Application health ($health_url)"
    local body code status checks insecure=()
    [ "${SMSGW_HEALTH_INSECURE:-0}" = 1 ] && insecure=(-k)
    body=$(mktemp)
    code=$(curl -sS "${insecure[@]}" -m 10 -o "$body" -w '%{http_code}' "$health_url" 2>"$body.err")
    if [ -z "$code" ] || [ "$code" = 000 ]; then
        crit "no answer: $(head -c 200 "$body.err")"
        rm -f "$body" "$body.err"; return
    fi
    status=$(json_field "$body" status)
    checks=$(json_field "$body" checks)
    case "$code:$status" in
        200:ok) ok "status ok ($checks)" ;;
        200:degraded) warn "status degraded ($checks)" ;;
        *) crit "HTTP $code, status ${status:-unreadable} ${checks:+($checks)}" ;;
    esac
    rm -f "$body" "$body.err"
}

# --- system ---------------------------------------------------------------------------------
cpu_percent() {
    local a b
    read -r -a a < <(grep '^cpu ' /proc/stat)
    sleep "$cpu_sample"
    read -r -a b < <(grep '^cpu ' /proc/stat)
    local total=0 idle i
    for i in 1 2 3 4 5 6 7 8; do total=$((total + ${b[$i]:-0} - ${a[$i]:-0})); done
    idle=$(( (b[4] + ${b[5]:-0}) - (a[4] + ${a[5]:-0}) ))
    if [ "$total" -le 0 ]; then echo 0; else echo $(( (100 * (total - idle) + total / 2) / total )); fi
}

check_system() {
    section "System"
    local cpu mem_total mem_available mem
    cpu=$(cpu_percent)
    report "$(level "$cpu" "$cpu_warn" "$cpu_crit")" "CPU ${cpu}% (warning above ${cpu_warn}%)"
    mem_total=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
    mem_available=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
    mem=$(( (100 * (mem_total - mem_available) + mem_total / 2) / mem_total ))
    report "$(level "$mem" "$mem_warn" "$mem_crit")" \
        "memory ${mem}% of $((mem_total / 1024)) MiB (warning above ${mem_warn}%, critical above ${mem_crit}%)"
    local paths=() path seen=" " line mount use
    read -r -a paths <<<"${SMSGW_MONITOR_DISK_PATHS:-$project /}"
    for path in "${paths[@]}"; do
        [ -e "$path" ] || continue
        line=$(df -P "$path" | awk 'NR == 2 {print $6, $5}')
        mount=${line% *}; use=${line##* }; use=${use%\%}
        case "$seen" in *" $mount "*) continue ;; esac
        seen="$seen$mount "
        report "$(level "$use" "$disk_warn" "$disk_crit")" \
            "disk $mount ${use}% used (warning above ${disk_warn}%, critical above ${disk_crit}%)"
    done
}

# --- database -------------------------------------------------------------------------------
database_url=""
choose_database() {
    if [ -z "$mode" ]; then
        if [ -n "${SMSGW_DATABASE_URL:-}" ]; then mode=direct
        elif compose_usable; then mode=compose
        elif [ -r "$env_file" ] && grep -q '^SMSGW_DATABASE_URL=' "$env_file"; then mode=direct
        else mode=none; fi
    fi
    if [ "$mode" = direct ]; then
        database_url=${SMSGW_DATABASE_URL:-$(grep '^SMSGW_DATABASE_URL=' "$env_file" 2>/dev/null | tail -n 1 | cut -d= -f2- | tr -d "\"'")}
        database_url=${database_url/#postgresql+asyncpg:/postgresql:}
        case "$database_url" in
            postgres://*|postgresql://*) ;;
            sqlite:*) mode=sqlite ;;
            *) mode=none ;;
        esac
    fi
}

sql() {  # sql QUERY -> rows, fields separated by |
    if [ "$mode" = direct ]; then
        PGCONNECT_TIMEOUT=5 psql -X -q -A -t -F '|' -v ON_ERROR_STOP=1 --dbname="$database_url" -c "$1"
    else
        docker-compose -f "$compose_file" exec -T db \
            psql -X -q -A -t -F '|' -v ON_ERROR_STOP=1 -U user -d sms_gateway -c "$1"
    fi
}

check_database() {
    section "Database"
    choose_database
    case "$mode" in
        none) warn "not checked: set SMSGW_DATABASE_URL (or run beside the compose stack)"; return 1 ;;
        sqlite) info "SQLite (embedded mode): no server to check"; return 1 ;;
    esac
    local row error
    if ! row=$(sql "SELECT current_setting('max_connections')::int,
                    count(*),
                    count(*) FILTER (WHERE datname = current_database()),
                    count(*) FILTER (WHERE state = 'active'),
                    count(*) FILTER (WHERE state = 'idle in transaction'),
                    count(*) FILTER (WHERE wait_event_type = 'Lock')
               FROM pg_stat_activity WHERE backend_type = 'client backend'" 2>&1); then
        error=$(tr '\n' ' ' <<<"$row" | cut -c1-200)
        crit "unreachable: $error"
        return 1
    fi
    local max total ours active idle_tx locks use lock_share
    IFS='|' read -r max total ours active idle_tx locks <<<"$row"
    use=$(( (100 * total + max / 2) / max ))
    report "$(level "$use" "$db_conn_warn" "$db_conn_crit")" \
        "connections $total of $max (${use}%; this database $ours, active $active, idle in transaction $idle_tx)"
    lock_share=0
    [ "$total" -gt 0 ] && lock_share=$(( 100 * locks / total ))
    report "$(level "$lock_share" "$lock_wait_warn" "")" "waiting on locks: $locks (${lock_share}%)"
    return 0
}

check_queue() {
    section "Send queue"
    local row
    if ! row=$(sql "SELECT count(*) FILTER (WHERE status = 'queued'),
                    count(*) FILTER (WHERE status = 'sending'),
                    coalesce(extract(epoch FROM now() - min(created_at) FILTER (
                        WHERE status = 'queued' AND coalesce(send_at, created_at) <= now()
                          AND coalesce(next_attempt_at, created_at) <= now())), 0)::bigint
               FROM messages WHERE status IN ('queued', 'sending')" 2>&1); then
        warn "cannot read the queue: $(tr '\n' ' ' <<<"$row" | cut -c1-160) (gatewayd migrate?)"
        return
    fi
    local queued sending oldest depth lvl
    IFS='|' read -r queued sending oldest <<<"$row"
    depth=$((queued + sending))
    lvl=$(level "$depth" "$queue_warn" "")
    [ "$(level "$oldest" "$queue_age_warn" "")" -gt "$lvl" ] && lvl=1
    report "$lvl" "queue depth $depth (queued $queued, sending $sending; oldest due message waits ${oldest}s)"
}

check_modems() {
    section "Modems"
    local rows
    if ! rows=$(sql "SELECT name, state, coalesce(signal_dbm::text, '-'), coalesce(operator, '-'),
                     coalesce(extract(epoch FROM now() - last_seen)::bigint::text, ''), host,
                     coalesce(error, '')
                FROM modems ORDER BY name" 2>&1); then
        warn "cannot read modems: $(tr '\n' ' ' <<<"$rows" | cut -c1-160)"
        return
    fi
    if [ -z "$rows" ]; then
        warn "no modem has registered (is gatewayd running with [[modem]] tables?)"
        return
    fi
    local name state signal operator age host error online=0 count=0 text
    while IFS='|' read -r name state signal operator age host error; do
        count=$((count + 1))
        text="$name on $host: $state, signal ${signal} dBm, operator $operator, last seen ${age:-never}${age:+s ago}"
        [ -n "$error" ] && text="$text, error: $error"
        if [ "$state" = online ] && [ -n "$age" ] && [ "$age" -le "$modem_stale" ]; then
            online=$((online + 1)); ok "$text"
        elif [ "$state" = online ]; then
            warn "$text (no news for more than ${modem_stale}s)"
        else
            warn "$text"
        fi
    done <<<"$rows"
    if [ "$online" -eq 0 ]; then crit "no modem online ($count configured): nothing can be sent"; fi
}

main() {
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    printf '%s\n' "$(paint 1 "SMS gateway status, $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname)")"
    check_services
    check_health
    check_system
    if check_database; then
        check_queue
        check_modems
    fi

    local summary
    case "$worst" in
        0) summary=$(paint 32 "OK") ;;
        1) summary=$(paint 33 "WARNING") ;;
        *) summary=$(paint 31 "CRITICAL") ;;
    esac
    printf '\nOverall: %s (%d warning(s), %d critical)\n' "$summary" "$warnings" "$criticals"
    exit "$worst"
}

# Sourced (the tests do, for the functions that decide), it only defines them.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main; fi
