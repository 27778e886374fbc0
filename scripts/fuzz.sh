#!/usr/bin/env bash
# Runs every native Go fuzz target (func FuzzXxx) for FUZZTIME each.
set -euo pipefail

cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-15s}

# Only packages whose tests declare a fuzz target; go test -list names them.
# That includes internal/dynamodb (FuzzRequest: random bodies through the
# lease-table handler must never panic or answer 500).
# Found this way too: FuzzParse (internal/dynamodb/expr), FuzzValueJSON (internal/dynamodb/item).
mapfile -t dirs < <(grep -rl --include='*_test.go' -E '^func Fuzz[A-Z0-9_]' . | grep -v '/node_modules/' | xargs -r -n1 dirname | sort -u)
if ((${#dirs[@]} == 0)); then
	echo "fuzz: no fuzz targets"
	exit 0
fi

count=0
for dir in "${dirs[@]}"; do
	while read -r target; do
		echo "fuzz: $dir $target ($fuzztime)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$dir"
		count=$((count + 1))
	done < <(go test -list 'Fuzz.*' "$dir" | grep -E '^Fuzz')
done
echo "fuzz: $count targets ran for $fuzztime each"
