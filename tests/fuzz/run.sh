#!/bin/sh
# tests/fuzz/run.sh NNCALC SECONDS [SEED] — one bounded run of the fuzzer
# (tests/fuzz/fuzz.lua) through the given binary, in a scratch directory
# (calls may write files), stdin closed, the calls' own printing discarded.
# A crash or a sanitizer report (the process dies), or a hang (no end
# within SECONDS + 120 s), is a failure; so is an error message that does
# not name the function called.  Prints the fuzzer's report and
# "fuzz: 1 passed, 0 failed" (the run is one test of the suite's tally).
nn=$1; secs=${2:-30}; seed=${3:-1}
top=$(cd "$(dirname "$0")/../.." && pwd)
case "$nn" in /*) ;; *) nn="$(pwd)/$nn" ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
timeout -s KILL $((secs + 120)) "$nn" "$top/tests/fuzz/fuzz.lua" --seed "$seed" --seconds "$secs" --verbose \
  </dev/null >/dev/null 2>"$tmp/report"; rc=$?
grep -av '^fuzz: [0-9]* calls, ' "$tmp/report" | grep -av '^fuzz: [0-9]* passed' | head -n 60
if grep -aq '^fuzz: 1 passed, 0 failed' "$tmp/report" && [ $rc -eq 0 ]; then
  grep -a '^fuzz: [0-9]* passed' "$tmp/report"
  exit 0
fi
case $rc in
  137) echo "fuzz: HANG: no end within $((secs + 120)) s (seed $seed); last progress:"; grep -a '^fuzz: [0-9]* calls, ' "$tmp/report" | tail -n 1 ;;
  1) ;;   # the report says what failed
  *) echo "fuzz: CRASH: status $rc (seed $seed); replay with: $nn tests/fuzz/fuzz.lua --seed $seed --seconds $secs"
     tail -n 40 "$tmp/report" ;;
esac
calls=$(grep -ao '[0-9]* calls (' "$tmp/report" | head -n 1 | grep -o '^[0-9]*')
echo "fuzz: 0 passed, 1 failed (one run, ${calls:-an unknown number of} calls)"
exit 1
