#!/usr/bin/env bash
# fuzz.sh runs every `func FuzzXxx` target in the module for a short time each.
#   scripts/fuzz.sh [duration]   (default 10s)
set -euo pipefail
t=${1:-10s}
cd "$(dirname "$0")/.."
found=0
while IFS= read -r file; do
	dir=$(dirname "$file")
	for name in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
		found=$((found + 1))
		echo "== ./$dir $name ($t)"
		go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" "./$dir"
	done
done < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' || true)
echo "fuzz: ran $found targets"
