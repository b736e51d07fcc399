#!/bin/sh
# readme_test.sh [NNCALC] — the README's <!-- session --> blocks through the
# binary (tests/readme_test.lua says how a session is written).
top=$(cd "$(dirname "$0")/.." && pwd)
nn=${1:-$top/nncalc}
case "$nn" in /*) ;; *) nn="$(pwd)/$nn" ;; esac
exec "$nn" "$top/tests/readme_test.lua" "$top/README.md" "$nn"
