#!/bin/sh
# jupyter_test.sh NNCALC — the Jupyter kernel through the real clients:
# jupyter_client (tests/jupyter_test.py), `jupyter console` and an nbclient
# run of the seed homework (tests/jupyter_clients.py).  Needs Debian's
# python3-jupyter-client, jupyter-console and python3-nbclient (.ci/run
# and scripts/install-deps install them); skipped, saying why, without them
# or when nncalc was built without the kernel.
nn=${1:-./nncalc}
top=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3
if ! "$nn" --kernel 2>&1 | grep -q "connection file"; then
  echo "jupyter: skipped: $nn was built without the Jupyter kernel (no libzmq/libcjson/libcrypto)"
  echo "jupyter: 0 passed, 0 failed"; exit 0
fi
if ! [ -x "$py" ] || ! "$py" -c 'import jupyter_client, nbclient, nbformat, zmq' 2>/dev/null; then
  echo "jupyter: skipped: Debian's python3-jupyter-client/python3-nbclient are not installed"
  echo "jupyter: 0 passed, 0 failed"; exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$nn" --install-kernel --prefix "$work" >/dev/null || { echo "jupyter: 0 passed, 1 failed"; exit 1; }
pass=0; fail=0
add() {   # adds the tally line of a part's output
  line=$(printf '%s\n' "$1" | grep -E '^jupyter[a-z-]*: [0-9]+ passed' | tail -n 1)
  if [ -z "$line" ]; then echo "FAIL jupyter: $2 printed no tally"; fail=$((fail + 1)); return; fi
  pass=$((pass + $(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')))
  fail=$((fail + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
}
out=$(timeout 600 "$py" "$top/tests/jupyter_test.py" "$nn" "$work" 2>&1)
printf '%s\n' "$out" | grep -v '^jupyter: [0-9]'; add "$out" "jupyter_test.py"
out=$(timeout 600 "$py" "$top/tests/jupyter_clients.py" "$nn" "$work" 2>&1)
printf '%s\n' "$out" | grep -v '^jupyter-[a-z]*: [0-9]'; add "$out" "jupyter_clients.py"
echo "jupyter: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
