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
if "$nn" --kernel /nonexistent/kernel.json 2>&1 | grep -q "built without the Jupyter kernel"; then
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
add() {   # adds the tally line of a part's output
  line=$(printf '%s\n' "$1" | grep -E '^jupyter[a-z-]*: [0-9]+ passed' | tail -n 1)
  if [ -z "$line" ]; then echo "FAIL jupyter: $2 printed no tally"; fail=$((fail + 1)); return; fi
  pass=$((pass + $(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')))
  fail=$((fail + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
}
# bad connection files: a message and status 1, never a crash
bad_conn() {   # bad_conn NAME CONTENT EXPECTED-MESSAGE
  printf '%s' "$2" > "$work/conn.json"
  out=$(timeout 20 "$nn" --kernel "$work/conn.json" 2>&1); rc=$?
  if [ $rc -eq 1 ] && printf '%s' "$out" | grep -q "$3" && ! printf '%s' "$out" | grep -q Sanitizer; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "FAIL jupyter: $1: status $rc, $out"
  fi
}
pass=0; fail=0
bad_conn "an empty connection file" "" "is not a JSON object"
out=$(timeout 20 "$nn" --kernel "$work/none.json" 2>&1)
printf '%s' "$out" | grep -q "cannot read the connection file $work/none.json" && pass=$((pass + 1)) ||
  { fail=$((fail + 1)); echo "FAIL jupyter: a missing connection file: $out"; }
bad_conn "not JSON" "{ports" "is not a JSON object"
bad_conn "a port missing" '{"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "key": "k"}' "lacks one of"
bad_conn "another signature scheme" '{"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5, "key": "k", "signature_scheme": "hmac-md5"}' "hmac-md5' is not supported"
bad_conn "an address that cannot be bound" '{"ip": "192.0.2.1", "shell_port": 5555, "iopub_port": 5556, "stdin_port": 5557, "control_port": 5558, "hb_port": 5559, "key": "k"}' "cannot listen on tcp://192.0.2.1:"
out=$(timeout 600 "$py" "$top/tests/jupyter_test.py" "$nn" "$work" 2>&1)
printf '%s\n' "$out" | grep -v '^jupyter: [0-9]'; add "$out" "jupyter_test.py"
out=$(timeout 600 "$py" "$top/tests/jupyter_clients.py" "$nn" "$work" 2>&1)
printf '%s\n' "$out" | grep -v '^jupyter-[a-z]*: [0-9]'; add "$out" "jupyter_clients.py"
echo "jupyter: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
