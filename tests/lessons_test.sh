#!/bin/sh
# lessons_test.sh NNCALC [--update] — every lesson runs to the end with
# --no-pause, all its checks pass, and its output equals the golden
# transcript in tests/golden/ (`make golden` rewrites them after a lesson
# changes on purpose).  Prints "lessons: N passed, N failed".
NN=${1:-./nncalc}
update=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
pass=0; fail=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for f in "$top"/lessons/[0-9]*.lua; do
  base=$(basename "$f" .lua)
  n=$(echo "$base" | sed 's/_.*//; s/^0*//')
  # a fixed locale and no colour: the transcript is the same everywhere
  LC_ALL=C.UTF-8 LANG=C.UTF-8 NO_COLOR=1 "$NN" lesson "$n" --no-pause > "$tmp" 2>&1 < /dev/null
  rc=$?
  if [ $rc -eq 0 ] && tail -n 1 "$tmp" | grep -q "checks passed, 0 failed"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "FAIL lesson $base: exit status $rc"; tail -n 5 "$tmp" | sed 's/^/  | /'
  fi
  golden="$top/tests/golden/$base.out"
  if [ "$update" = "--update" ]; then
    cp "$tmp" "$golden"
  elif [ ! -f "$golden" ]; then
    fail=$((fail + 1)); echo "FAIL lesson $base: no golden transcript (make golden)"
  elif cmp -s "$tmp" "$golden"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "FAIL lesson $base: output differs from tests/golden/$base.out"
    diff "$golden" "$tmp" | head -n 10 | sed 's/^/  | /'
  fi
done
echo "lessons: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
