#!/bin/sh
# run_all.sh BUILD_DIR NNCALC — every test against one build: the Check
# suites of the C core, the Lua tests, the CLI tests, the README's sessions
# and the terminal tests of the REPL, all through the binary.
# Ends with the total "N passed, N failed" and a non-zero status on failure.
build=${1:-build}
nn=${2:-./nncalc}
top=$(cd "$(dirname "$0")/.." && pwd)
export NNCALC_LUA_DIR="$top/lua"
case "$nn" in /*) ;; *) nn="$(pwd)/$nn" ;; esac   # "nncalc" alone is not a path
total_pass=0; total_fail=0; broken=0

# adds the "X: N passed, N failed" line of a part's output to the totals
tally() {
  line=$(printf '%s\n' "$1" | grep -E '^[a-z]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if [ -z "$line" ]; then
    echo "run_all: $2 printed no tally (crashed?)"; broken=1; return
  fi
  p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
  f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
}

echo "== C unit tests (Check) =="
out=$("$build/check_runner" 2>&1); rc=$?
printf '%s\n' "$out" | grep -vE '^[0-9]+%: Checks' ; tally "$out" "check"
[ $rc -eq 0 ] || broken=1

# part NAME TITLE COMMAND...: runs one part, shows its output, adds its tally
part() {
  name=$1; title=$2; shift 2
  echo "== $title =="
  out=$("$@" 2>&1); rc=$?
  printf '%s\n' "$out"; tally "$out" "$name"
  [ $rc -eq 0 ] || broken=1
}

part boundary "the core's boundary (no Lua in the core, warning-free)" sh "$top/tests/boundary_test.sh" "$build"
part lua "Lua tests through $nn" "$nn" "$top/tests/lua/run.lua" "$top"/tests/lua/test_*.lua
part cli "CLI tests" sh "$top/tests/cli_test.sh" "$nn"
part readme "README sessions through the binary" sh "$top/tests/readme_test.sh" "$nn"
part robust "robustness through the binary (output order, limits, recursion)" sh "$top/tests/robust_cli_test.sh" "$nn"
part lessons "lessons (with golden transcripts)" sh "$top/tests/lessons_test.sh" "$nn"
part pty "REPL in a terminal (tmux)" sh "$top/tests/repl_pty_test.sh" "$nn"
part jupyter "Jupyter kernel (jupyter_client, nbclient, jupyter console)" sh "$top/tests/jupyter_test.sh" "$nn"
if [ -n "${FUZZ_SECONDS:-}" ]; then   # the sanitizer pass sets it (make test)
  part fuzz "fuzzer: $FUZZ_SECONDS s of random API calls" sh "$top/tests/fuzz/run.sh" "$nn" "$FUZZ_SECONDS" "${FUZZ_SEED:-1}"
fi
if [ "$build" = build ]; then   # installing needs the normal build only
  part stock 'stock lua5.4: require "nncalc"' sh "$top/tests/stock_lua_test.sh" "$top/lua" "$(cd "$build" && pwd)"
  part build "the build elsewhere: aarch64, V=1, dependencies, man page" sh "$top/tests/build_test.sh" "$nn"
  part install "make install" sh "$top/tests/install_test.sh"
fi

[ $broken -eq 0 ] || total_fail=$((total_fail + 1))   # a crashed part counts as a failure
echo "$total_pass $total_fail" > "$build/tally"
echo "$build: $total_pass passed, $total_fail failed"
[ $total_fail -eq 0 ] && [ $broken -eq 0 ]
