#!/usr/bin/env bash
# Make ssl/cert.pem and ssl/key.pem (self-signed) so nginx can start before a real
# certificate exists. Replace both files with the real ones later, then reload nginx.
#   scripts/make-self-signed-cert.sh [--force] [--days N] [--dir DIR] [NAME...]
# NAME: host names or IP addresses the certificate is for (default: this host's name,
# localhost and 127.0.0.1). Existing files are kept unless --force.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dir="$here/ssl"
days=825
force=0
names=()

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --force) force=1 ;;
        --days) days=${2:?--days needs a number}; shift ;;
        --dir) dir=${2:?--dir needs a folder}; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "make-self-signed-cert: unknown option $1" >&2; exit 2 ;;
        *) names+=("$1") ;;
    esac
    shift
done

if [ ${#names[@]} -eq 0 ]; then
    names=("$(hostname -f 2>/dev/null || hostname)" localhost 127.0.0.1)
fi

if [ -e "$dir/cert.pem" ] || [ -e "$dir/key.pem" ]; then
    if [ "$force" -ne 1 ]; then
        echo "make-self-signed-cert: $dir/cert.pem or key.pem exists; --force replaces them" >&2
        exit 1
    fi
fi

san=""
for name in "${names[@]}"; do
    if [[ "$name" =~ ^[0-9.]+$ || "$name" == *:* ]]; then
        san+="${san:+,}IP:$name"
    else
        san+="${san:+,}DNS:$name"
    fi
done

mkdir -p "$dir"
umask 077
openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days "$days" \
    -keyout "$dir/key.pem.tmp" -out "$dir/cert.pem.tmp" \
    -subj "/CN=${names[0]}" -addext "subjectAltName=$san" \
    -addext "extendedKeyUsage=serverAuth" 2>/dev/null
chmod 600 "$dir/key.pem.tmp"
chmod 644 "$dir/cert.pem.tmp"
mv "$dir/key.pem.tmp" "$dir/key.pem"
mv "$dir/cert.pem.tmp" "$dir/cert.pem"
echo "wrote $dir/cert.pem and $dir/key.pem for ${names[*]} (valid $days days)"
openssl x509 -in "$dir/cert.pem" -noout -dates
