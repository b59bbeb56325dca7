#!/usr/bin/env bash
# Install the SMS gateway on a bare-metal Debian/Ubuntu host (gatewayd and webui under systemd).
#
#   sudo scripts/install.sh [--prefix /opt/sms-gateway] [--no-venv] [--no-migrate]
#                           [--no-packages] [--create-database] [--dry-run] [--destdir DIR]
#
# Does, keeping whatever already exists (config, secrets):
#   - the Debian packages the scripts need (apt-get; --no-packages skips): postgresql-client
#     (pg_dump, psql for backup.sh and monitor.sh), curl, jq, gzip, procps, python3, logrotate,
#     openssl, util-linux
#   - system user smsgw (groups smsgw, dialout)
#   - a virtualenv in PREFIX/venv with exactly the packages of uv.lock (hashes checked) and this
#     checkout; scripts/, docs/, ops/ in PREFIX
#   - /etc/sms-gateway/gatewayd.toml (minimal) and /etc/sms-gateway/env (a new secret key)
#   - /var/lib/sms-gateway, /var/log/sms-gateway (PREFIX/logs), /var/backups/sms-gateway
#     (PREFIX/backups)
#   - systemd units (gatewayd, webui, webui-smpp, webui-smtp, daily backup timer), udev rules, logrotate rules
#   - --create-database: PostgreSQL role smsgw and database sms_gateway on this host
#   - gatewayd migrate (not while gatewayd runs: then `systemctl restart gatewayd` does it)
# --dry-run prints the steps and changes nothing; --destdir DIR (or DESTDIR=DIR) installs the
# files under DIR and skips what touches the running system (user, systemctl, udevadm, migrate).
set -euo pipefail

source_dir=$(cd "$(dirname "$0")/.." && pwd)
prefix=/opt/sms-gateway
destdir=${DESTDIR:-}
dry_run=0
make_venv=1
packages=1
migrate=1
create_database=0
python=${PYTHON:-python3}
user=smsgw

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=${2:?--prefix needs a folder}; shift ;;
        --destdir) destdir=${2:?--destdir needs a folder}; shift ;;
        --dry-run) dry_run=1 ;;
        --no-venv) make_venv=0 ;;
        --no-packages) packages=0 ;;
        --no-migrate) migrate=0 ;;
        --create-database) create_database=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "install: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
destdir=${destdir%/}
live=1
[ -z "$destdir" ] || live=0

say() { echo "install: $*"; }
run() {  # run COMMAND...: do it, or only show it with --dry-run
    if [ "$dry_run" -eq 1 ]; then printf 'would run:'; printf ' %q' "$@"; printf '\n'; else "$@"; fi
}
write_new() {  # write_new PATH MODE < content: create only when absent
    local path=$1 mode=$2 content
    content=$(cat)
    if [ -e "$path" ]; then say "keeping $path"; return; fi
    if [ "$dry_run" -eq 1 ]; then echo "would write: $path (mode $mode)"; return; fi
    printf '%s\n' "$content" > "$path"
    chmod "$mode" "$path"
    say "wrote $path"
}

if [ "$live" -eq 1 ] && [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
    echo "install: run as root (or use --dry-run / --destdir)" >&2
    exit 1
fi

etc=$destdir/etc/sms-gateway
opt=$destdir$prefix
units=$destdir/etc/systemd/system
rules=$destdir/etc/udev/rules.d
logrotate_dir=$destdir/etc/logrotate.d

# --- Debian packages ---------------------------------------------------------------------------
# What backup.sh (pg_dump, psql, gzip), monitor.sh (psql, curl, pgrep, python3), the runbook
# (jq), this script (openssl, python3 -m venv, setpriv/runuser) and the logrotate rules need.
# pg_dump must be at least as new as the PostgreSQL server (Debian 12: 15, as the stack's).
system_packages=(postgresql-client curl jq gzip procps python3 python3-venv logrotate openssl
                 util-linux)
if [ "$packages" -eq 1 ] && [ "$live" -eq 1 ]; then
    missing=()
    for package in "${system_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        run apt-get update -qq
        run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}"
    else
        say "Debian packages present: ${system_packages[*]}"
    fi
fi

# --- user -----------------------------------------------------------------------------------
if [ "$live" -eq 1 ]; then
    if ! getent passwd "$user" >/dev/null; then
        run useradd --system --user-group --home-dir /var/lib/sms-gateway --no-create-home \
            --shell /usr/sbin/nologin --comment "SMS gateway" "$user"
    fi
    run usermod -a -G dialout "$user"
fi

# --- folders and files --------------------------------------------------------------------------
run install -d -m 0755 "$opt" "$opt/scripts" "$opt/docs" "$opt/ops" "$units" "$rules" "$logrotate_dir"
run install -d -m 0750 "$etc" "$destdir/var/lib/sms-gateway" "$destdir/var/log/sms-gateway" \
    "$destdir/var/backups/sms-gateway"
for script in backup.sh monitor.sh make-self-signed-cert.sh; do
    run install -m 0755 "$source_dir/scripts/$script" "$opt/scripts/$script"
done
for doc in operations.md runbook.md runbook.pt-BR.md configuration.md gatewayd.example.toml; do
    if [ -f "$source_dir/docs/$doc" ]; then
        run install -m 0644 "$source_dir/docs/$doc" "$opt/docs/$doc"
    fi
done
run install -m 0644 "$source_dir/ops/alerts.yml" "$opt/ops/alerts.yml"
for link in logs:/var/log/sms-gateway backups:/var/backups/sms-gateway; do
    run ln -sfn "${link#*:}" "$opt/${link%%:*}"
done

# --- virtualenv -----------------------------------------------------------------------------
# The packages of uv.lock only (no extras), then this checkout's wheel built with the
# hash-pinned backend of docker/build-constraints.txt: the same steps as the Dockerfile.
if [ "$make_venv" -eq 1 ]; then
    if [ "$dry_run" -eq 1 ]; then uv=$source_dir/.uv/bin/uv
    else uv=$(PYTHON="$python" "$source_dir/scripts/uv.sh" --path); fi
    wheels=$(mktemp -d)
    # Compiled at install (--compile-bytecode): the services run as smsgw on a read-only
    # /opt (ProtectSystem=strict), so they could never write the compiled modules themselves
    # and would compile every import from source at each start.
    run env UV_PROJECT_ENVIRONMENT="$opt/venv" UV_PYTHON_DOWNLOADS=never "$uv" sync \
        --project "$source_dir" --python "$python" --locked --no-editable --no-install-project \
        --compile-bytecode
    run env UV_PYTHON_DOWNLOADS=never "$uv" build "$source_dir" --wheel --python "$python" \
        --build-constraints "$source_dir/docker/build-constraints.txt" --require-hashes \
        --out-dir "$wheels"
    if [ "$dry_run" -eq 1 ]; then
        echo "would run: $uv pip install --python $opt/venv/bin/python --no-deps --compile-bytecode $wheels/sms_gateway-*.whl"
    else
        "$uv" pip install --python "$opt/venv/bin/python" --no-deps --compile-bytecode \
            "$wheels"/sms_gateway-*.whl
    fi
    rm -rf "$wheels"
fi

# --- configuration and secrets ----------------------------------------------------------------
database_url="postgresql://smsgw:CHANGE-ME@127.0.0.1:5432/sms_gateway"
if [ "$create_database" -eq 1 ] && [ "$live" -eq 1 ] && [ ! -e "$etc/env" ]; then
    db_password=$(openssl rand -hex 24)
    if ! runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'smsgw'" | grep -q 1; then
        run runuser -u postgres -- psql -q -c "CREATE ROLE smsgw LOGIN PASSWORD '$db_password'"
    else
        run runuser -u postgres -- psql -q -c "ALTER ROLE smsgw PASSWORD '$db_password'"
    fi
    if ! runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'sms_gateway'" | grep -q 1; then
        run runuser -u postgres -- createdb -O smsgw sms_gateway
    fi
    database_url="postgresql://smsgw:$db_password@127.0.0.1:5432/sms_gateway"
fi

write_new "$etc/gatewayd.toml" 0640 <<'TOML'
# SMS gateway settings (docs/configuration.md; a full example: docs/gatewayd.example.toml).
# Secrets are in /etc/sms-gateway/env, which overrides this file.

[gateway]
data_dir = "/var/lib/sms-gateway"
default_region = "BR"

[log]
level = "INFO"

[web]
listen = "127.0.0.1:8080"
slow_request_ms = 500
metrics_allow = ["127.0.0.1/32", "::1/128"]

# One table per modem; the device is a stable udev name (ls -l /dev/smsgw/):
# [[modem]]
# name = "claro1"
# device = "/dev/smsgw/quectel-a1b2c3d4-at"
# pin = "1234"
TOML

secret_key=$(openssl rand -hex 32)
write_new "$etc/env" 0640 <<ENV
# Secrets and overrides for gatewayd and webui (systemd EnvironmentFile). Keep mode 0640.
SMSGW_DATABASE_URL=$database_url
SMSGW_REDIS_URL=redis://127.0.0.1:6379/0
SMSGW_SECRET_KEY=$secret_key
ENV

if [ "$live" -eq 1 ]; then
    run chown root:"$user" "$etc" "$etc/gatewayd.toml" "$etc/env"
    run chown "$user:$user" /var/lib/sms-gateway /var/log/sms-gateway /var/backups/sms-gateway
fi

# --- systemd, udev, logrotate -------------------------------------------------------------------
for unit in "$source_dir"/systemd/*.service "$source_dir"/systemd/*.timer; do
    if [ "$dry_run" -eq 1 ]; then echo "would install: $units/$(basename "$unit")"; continue; fi
    sed "s#/opt/sms-gateway#$prefix#g" "$unit" > "$units/$(basename "$unit")"
    chmod 0644 "$units/$(basename "$unit")"
done
run install -m 0644 "$source_dir/udev/90-sms-gateway-modems.rules" "$rules/90-sms-gateway-modems.rules"
if [ "$dry_run" -eq 1 ]; then
    echo "would install: $logrotate_dir/sms-gateway"
else
    sed 's#/app/logs/#/var/log/sms-gateway/#' "$source_dir/docker/logrotate.conf" \
        > "$logrotate_dir/sms-gateway"
    chmod 0644 "$logrotate_dir/sms-gateway"
fi

if [ "$live" -eq 1 ]; then
    if [ -d /run/systemd/system ]; then run systemctl daemon-reload; fi
    if command -v udevadm >/dev/null && [ -d /run/udev ]; then
        run udevadm control --reload-rules
        run udevadm trigger --action=change --subsystem-match=tty
    fi
fi

# --- schema ---------------------------------------------------------------------------------
if [ "$migrate" -eq 1 ] && [ "$live" -eq 1 ]; then
    if [ -d /run/systemd/system ] && systemctl is-active --quiet gatewayd.service; then
        # never under a running (older) gatewayd: its unit migrates when it starts again
        say "not migrating while gatewayd runs: 'systemctl restart gatewayd' migrates, then 'systemctl restart webui'"
    elif grep -q CHANGE-ME "$etc/env" 2>/dev/null; then
        say "not migrating: set SMSGW_DATABASE_URL in $etc/env first (or --create-database)"
    elif [ "$dry_run" -eq 1 ]; then
        echo "would run: gatewayd migrate --config $etc/gatewayd.toml (as $user)"
    else
        # shellcheck source=/dev/null
        (set -a; . "$etc/env"; set +a
         cd /var/lib/sms-gateway
         runuser -u "$user" -- "$opt/venv/bin/gatewayd" migrate --config "$etc/gatewayd.toml")
    fi
fi

cat <<NEXT

Installed under ${destdir:-/} (prefix $prefix). Next:
  1. edit $etc/gatewayd.toml ([[modem]] tables) and $etc/env (database URL)
  2. systemctl enable --now gatewayd webui sms-gateway-backup.timer
     (and webui-smpp for the SMPP server: set [smpp] listen in gatewayd.toml first)
     (and webui-smtp for email to SMS: set [smtp] listen in gatewayd.toml first)
  3. put nginx in front (nginx/ in the source) and check: $prefix/scripts/monitor.sh
NEXT
