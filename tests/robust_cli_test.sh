#!/bin/sh
# robust_cli_test.sh — the binary under conditions a grader's script or a
# hostile input creates: output order through `2>&1 | cat`, memory
# limits, deep recursion.  sh tests/robust_cli_test.sh path/to/nncalc
# Prints one line per failure and a closing "robust: N passed, N failed".
NN=${1:-./nncalc}
pass=0; fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL robust: $1"; [ -n "${2:-}" ] && printf '  got: %s\n' "$2"; }
# same NAME WANT GOT: exact comparison
same() { if [ "$3" = "$2" ]; then ok; else bad "$1" "$3"; fi; }

# ---- output order: stdout is flushed before anything goes to stderr --------
# (through a pipe stdout is fully buffered and stderr is not)
printf 'print("first")\nerror("boom")\n' > "$tmp/err.lua"
same "an error comes after the prints before it" "first
$tmp/err.lua:2: boom" "$("$NN" "$tmp/err.lua" 2>&1 | cat)"
printf 'print("a")\nio.stderr:write("E\\n")\nprint("b")\nio.write("c ")\nio.output(io.stderr)\nio.write("F\\n")\nio.output(io.stdout)\nprint("d")\n' > "$tmp/mix.lua"
same "io.stderr:write and io.write to stderr keep their place" "a
E
b
c F
d" "$("$NN" "$tmp/mix.lua" 2>&1 | cat)"
same "-e chunks keep the order" "p
(command line):1: e" "$("$NN" -e 'print("p")' -e 'error("e")' 2>&1 | cat)"
same "piped REPL lines keep the order" "1
stdin:1: x
2" "$(printf 'print(1)\nerror("x")\nprint(2)\n' | "$NN" 2>&1 | cat)"
# the autograd warning (stderr) after the print before it
same "a warning after the print before it" "before" \
  "$("$NN" -e 'print("before"); W = tensor{1}:requires_grad(); (W*2):sum():backward(); (W*2):sum():backward()' 2>&1 | cat | head -n 1)"

echo "robust: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
