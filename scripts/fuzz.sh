#!/usr/bin/env bash
# fuzz.sh: run every Go fuzz target of the module (func FuzzXxx in *_test.go) for a bounded time each.
#
#   scripts/fuzz.sh [FUZZTIME]    # FUZZTIME is go test's -fuzztime: 60s (default), 10m, 500x (a count: what CI runs)
#
# Each target starts from its committed seeds (f.Add and testdata/fuzz/<Target>/). A failure leaves
# the failing input under testdata/fuzz/<Target>/ in the target's package, as go test does: commit it
# as a seed once the bug is fixed. Exits non-zero when any target fails; names each target as it goes.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-60s}"
go="${GO:-go}"

failed=()
count=0
# Packages that declare a fuzz target, then the targets of each (go test -list compiles the package).
for pkg in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
	for target in $("$go" test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		count=$((count + 1))
		printf 'fuzz: %s %s for %s\n' "$pkg" "$target" "$fuzztime"
		if ! "$go" test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"; then
			failed+=("$pkg $target")
		fi
	done
done
if [ "$count" = 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi
if [ ${#failed[@]} -gt 0 ]; then
	printf 'fuzz: FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
printf 'fuzz: %d targets passed\n' "$count"
