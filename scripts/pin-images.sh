#!/usr/bin/env bash
# Pin the images to the digests their exact tags stand for today, so that a rebuild or a
# `pull` months later gets the very same bytes: every `FROM` of Dockerfile and every `image:`
# of docker-compose.prod.yml becomes NAME:TAG@sha256:DIGEST (an existing digest is replaced,
# so run it again after changing a tag). The image this project builds (sms-gateway) is left
# alone.
#
#   scripts/pin-images.sh                  ask the registry through Docker and write
#   scripts/pin-images.sh --check          only list images without a digest (exit 1 if any)
#   scripts/pin-images.sh --set REF=sha256:DIGEST ...
#                                          write digests you looked up yourself (no Docker)
#   --dir DIR                              the folder with Dockerfile and
#                                          docker-compose.prod.yml (default: this project)
#
# Docker looks the digests up with `docker buildx imagetools inspect` (no download), else
# with `docker pull` and `docker image inspect --format '{{index .RepoDigests 0}}'`. Either
# way the digest is the multi-platform one, valid on every architecture. Check the result
# with `git diff`, then build and test before committing it.
set -euo pipefail

dir=$(cd "$(dirname "$0")/.." && pwd)
check=0
declare -A given=()

while [ $# -gt 0 ]; do
    case "$1" in
        --check) check=1 ;;
        --dir) dir=${2:?--dir needs a folder}; shift ;;
        --set)
            pair=${2:?--set needs REF=sha256:DIGEST}
            [[ "$pair" =~ ^([^=@]+)=(sha256:[0-9a-f]{64})$ ]] \
                || { echo "pin-images: --set $pair: expected NAME:TAG=sha256:<64 hex digits>" >&2; exit 2; }
            given[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
            shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "pin-images: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

files=("$dir/Dockerfile" "$dir/docker-compose.prod.yml")
for file in "${files[@]}"; do
    [ -f "$file" ] || { echo "pin-images: $file not found" >&2; exit 2; }
done

# NAME:TAG[@sha256:...] of every FROM and image: line, without the project's own image
references() {
    {
        sed -nE 's/^FROM[[:space:]]+([^[:space:]]+).*/\1/p' "$dir/Dockerfile"
        sed -nE 's/^[[:space:]]*image:[[:space:]]*"?([^"[:space:]]+)"?.*/\1/p' "$dir/docker-compose.prod.yml"
    } | grep -v -e 'sms-gateway' -e '^\$' | sort -u
}

resolve() {  # resolve NAME:TAG -> sha256:...
    local ref=$1 digest=""
    if [ -n "${given[$ref]:-}" ]; then
        echo "${given[$ref]}"; return
    fi
    if [ ${#given[@]} -gt 0 ]; then
        echo "pin-images: no --set for $ref" >&2; return 1
    fi
    if docker buildx version >/dev/null 2>&1; then
        digest=$(docker buildx imagetools inspect "$ref" --format '{{.Manifest.Digest}}')
    else
        docker pull --quiet "$ref" >/dev/null
        digest=$(docker image inspect --format '{{index .RepoDigests 0}}' "$ref")
        digest=${digest#*@}
    fi
    [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "pin-images: $ref: no digest ($digest)" >&2; return 1; }
    echo "$digest"
}

mapfile -t refs < <(references)
if [ "$check" -eq 1 ]; then
    missing=0
    for ref in "${refs[@]}"; do
        if [[ "$ref" != *@sha256:* ]]; then
            echo "pin-images: $ref has no digest"
            missing=1
        fi
    done
    [ "$missing" -eq 0 ] && echo "pin-images: every image is pinned to a digest"
    exit "$missing"
fi

if [ ${#given[@]} -eq 0 ] && ! docker info >/dev/null 2>&1; then
    echo "pin-images: no Docker engine answers here: run this where one does, or give the digests with --set" >&2
    exit 1
fi

for ref in "${refs[@]}"; do
    tagged=${ref%@*}
    digest=$(resolve "$tagged")
    for file in "${files[@]}"; do
        # NAME:TAG, with or without an old digest, followed by a quote, a space or the end
        sed -i -E "s#(^|[[:space:]\"])${tagged//./\\.}(@sha256:[0-9a-f]{64})?([\"[:space:]]|\$)#\\1${tagged}@${digest}\\3#" "$file"
    done
    echo "pin-images: $tagged@$digest"
done
