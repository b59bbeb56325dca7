#!/usr/bin/env bash
# Debian packages the test suite needs: the real SMS programs the simulator must satisfy,
# the database and cache servers, Chromium for browser tests, the tools that check the
# production files (docker-compose, nginx, promtool, logrotate, shellcheck, udevadm) and the
# programs the scripts under test call (psql, pg_dump, curl, pgrep, openssl, gzip, runuser).
# `--bench` (`make bench`) adds what only the benchmarks need: rabbitmq-server for the SMPP
# benchmark's Jasmin peer (bench/jasmin_peer.py). Installs only what is missing.
# tests/support/tools.py maps each program to its package here
# (tests/unit/test_tools.py keeps the two in step); a missing one fails its tests, never skips.
set -euo pipefail
packages=(gammu gammu-smsd smstools kannel postgresql postgresql-client redis-server chromium
          docker-compose nginx prometheus openssl logrotate shellcheck udev systemd
          curl procps gzip util-linux jq redis-tools)
bench_packages=(rabbitmq-server)
if [ "${1:-}" = "--bench" ]; then
    packages+=("${bench_packages[@]}")
fi
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
