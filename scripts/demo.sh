#!/usr/bin/env bash
# demo.sh: bring up examples/edge-stack (PostgreSQL, a Python worker, a Node.js api) and show it
# working. `make demo` runs it after installing the dependencies and building bin/berth.
#
#   1. The base image debian:bookworm-slim: kept when present; else pulled when Docker Hub's registry
#      answers (one HTTPS request to registry-1.docker.io, 3 s at most); else (offline, or
#      DEMO_BASE=local) made from Debian packages by scripts/debian-image.sh (cached in
#      /var/cache/berth/images) and loaded.
#   2. berth up -d --build --wait: builds the three images (apt-get from Debian's mirror the first
#      time, about 30 s on 2 cores; then from the build cache in well under a second) and starts the
#      stack.
#   3. berth ps, then the api's newest readings once the worker has written some.
#
# DEMO_BASE=auto|pull|local chooses step 1's source (auto: as above). API_PORT (environment or the
# example's .env) moves the api from 127.0.0.1:8080.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
berth=bin/berth
compose=examples/edge-stack/compose.yaml
demo=("$berth" -f "$compose")
base=debian:bookworm-slim
mode="${DEMO_BASE:-auto}"

if [ -t 2 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain" >&2; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }
[ -x "$berth" ] || die "$berth is missing: run make demo (or make build) first"
case "$mode" in auto | pull | local) ;; *) die "DEMO_BASE=$mode: use auto, pull or local" ;; esac
command -v curl >/dev/null || die "curl is missing: run scripts/install-deps.sh"
start=$(date +%s%N)

# base_project runs berth on a one-service project naming the base image, read from standard input: how
# berth is asked about an image that no compose file of the repository names.
base_project() { printf 'services:\n  base:\n    image: %s\n' "$base" | "$berth" -f - -p edge-stack-base "$@"; }

# registry_answers: Docker Hub's registry answers /v2/ (401 until one logs in) within 3 seconds.
registry_answers() {
	local code
	code="$(curl -s -o /dev/null -m 3 -w '%{http_code}' https://registry-1.docker.io/v2/ || true)"
	[ "$code" = 401 ] || [ "$code" = 200 ]
}

say "Base image $base"
if [ -n "$(base_project images -q)" ]; then
	echo "present"
else
	pulled=
	if [ "$mode" = pull ] || { [ "$mode" = auto ] && registry_answers; }; then
		if base_project pull; then
			pulled=1
		elif [ "$mode" = pull ]; then
			die "pulling $base failed"
		else
			echo "pulling failed: making it from Debian packages instead" >&2
		fi
	elif [ "$mode" = auto ]; then
		echo "no registry answers: making it from Debian packages (offline mode)"
	fi
	if [ -z "$pulled" ]; then
		archive="$(mktemp -d)/debian.tar"
		trap 'rm -rf "$(dirname "$archive")"' EXIT
		scripts/debian-image.sh "$archive"
		"$berth" load -i "$archive"
	fi
fi

say "Building and starting examples/edge-stack"
"${demo[@]}" up -d --build --wait --wait-timeout 600

say "${demo[*]} ps"
"${demo[@]}" ps

say "Waiting for the worker's first readings"
api="$("${demo[@]}" port api 8080)"
url="http://$api/readings?limit=5"
for _ in $(seq 1 300); do
	rows="$(curl -fsS -m 2 "$url" 2>/dev/null || true)"
	case "$rows" in *'"id":'*) break ;; esac
	sleep 0.2
done
case "$rows" in *'"id":'*) ;; *) die "the api returned no readings within a minute: see ${demo[*]} logs" ;; esac
echo "\$ curl -s '$url'"
printf '%s\n' "$rows" | sed 's/},{/},\n {/g'

elapsed=$((($(date +%s%N) - start) / 1000000))
say "examples/edge-stack is up ($((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000))) s)"
cat <<EOF
  The page:        http://$api/   (JSON: /readings?limit=N, /health)
  Follow it:       ${demo[*]} logs -f
  Look inside:     ${demo[*]} exec db psql -c 'select label, count(*) from readings group by 1'
  Stop it:         ${demo[*]} down      (the database is kept in a named volume)
  Drop the data:   ${demo[*]} down -v
EOF
