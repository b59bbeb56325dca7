#!/usr/bin/env bash
# Debian packages the test suite needs: the real SMS programs the simulator must satisfy,
# the database and cache servers, Chromium for browser tests, and the tools that check the
# production files (docker-compose, nginx, promtool, logrotate, shellcheck, udevadm). Installs only what is missing.
set -euo pipefail
packages=(gammu gammu-smsd smstools kannel postgresql redis-server chromium
          docker-compose nginx prometheus openssl logrotate shellcheck udev systemd)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
