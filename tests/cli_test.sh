#!/bin/sh
# cli_test.sh — the nncalc command line, tested through the real binary:
#   sh tests/cli_test.sh path/to/nncalc
# Prints one line per failure and a closing "cli: N passed, N failed".
NN=${1:-./nncalc}
pass=0; fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL cli: $1"; [ -n "${2:-}" ] && printf '  got: %s\n' "$2"; }

# expect NAME WANT_STATUS WANT_SUBSTRING COMMAND...  (stdout+stderr searched)
expect() {
  name=$1; want_rc=$2; want=$3; shift 3
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" != "$want_rc" ]; then bad "$name: exit status $rc, expected $want_rc" "$out"; return; fi
  case "$out" in *"$want"*) ok ;; *) bad "$name: output lacks '$want'" "$out" ;; esac
}
# same, with stdin from a string
expect_in() {
  name=$1; input=$2; want_rc=$3; want=$4; shift 4
  out=$(printf '%s' "$input" | "$@" 2>&1); rc=$?
  if [ "$rc" != "$want_rc" ]; then bad "$name: exit status $rc, expected $want_rc" "$out"; return; fi
  case "$out" in *"$want"*) ok ;; *) bad "$name: output lacks '$want'" "$out" ;; esac
}
# exact whole output
expect_exact() {
  name=$1; input=$2; want=$3; shift 3
  out=$(printf '%s' "$input" | "$@" 2>&1)
  if [ "$out" = "$want" ]; then ok; else bad "$name: output differs" "$out"; fi
}

# ---- options ------------------------------------------------------------
expect "--version" 0 "nncalc 0.1.0" "$NN" --version
expect "--help" 0 "usage: nncalc" "$NN" --help
expect "-h lists -e" 0 "-e code" "$NN" -h
expect "unknown option" 1 "unrecognized option '--bogus'" "$NN" --bogus
expect "-e without code" 1 "option '-e' needs the code to run" "$NN" -e

# ---- -e and scripts ----------------------------------------------------------
expect "-e prints" 0 "1024" "$NN" -e "print(2^10)"
expect "several -e run in order" 0 "5" "$NN" -e "x = 2" -e "print(x + 3)"
expect "-e error has position" 1 "(command line):1: mm: size mismatch, 3x2 * 3x1 (inner dims 2 vs 3)" \
  "$NN" -e "print(tensor{{1,2},{3,4},{5,6}} * tensor{{1},{2},{3}})"

cat > "$tmp/args.lua" <<'LUA'
print(#arg, arg[0]:match("[^/]*$"), arg[1], arg[2], select("#", ...), ...)
LUA
expect "script receives arg and ..." 0 "2	args.lua	a	b c	2	a	b c" "$NN" "$tmp/args.lua" a "b c"

cat > "$tmp/bad.lua" <<'LUA'
local x = tensor{1, 2}
local y = x + tensor{1, 2, 3}
LUA
expect "script error is file:line: message" 1 "bad.lua:2: add: shapes 2 and 3 do not broadcast" "$NN" "$tmp/bad.lua"
out=$("$NN" "$tmp/bad.lua" 2>&1)
case "$out" in *traceback*) bad "no traceback without --debug" "$out" ;; *) ok ;; esac
expect "--debug adds a traceback" 1 "stack traceback" "$NN" --debug "$tmp/bad.lua"
expect "missing script" 1 "cannot open" "$NN" "$tmp/none.lua"
printf 'x = tensor{1,2}:requires_grad()\ny = x * 2\ny:backward()\n' > "$tmp/bw.lua"
expect "an error from nncalc's Lua code names the script's line" 1 "bw.lua:3: backward: the tensor has shape 2" "$NN" "$tmp/bw.lua"
printf 'a = 1\nl = nn.Linear(2, 3, {weight = ones(2, 2)})\n' > "$tmp/lin.lua"
expect "... also for a module's checks" 1 "lin.lua:2: Linear: weight must have shape 3x2, got 2x2" "$NN" "$tmp/lin.lua"
out=$("$NN" "$tmp/lin.lua" 2>&1)
case "$out" in *Module.lua*) bad "no position inside nncalc's files" "$out" ;; *) ok ;; esac

printf 'x = = 1\n' > "$tmp/syntax.lua"
expect "syntax error" 1 "syntax.lua:1:" "$NN" "$tmp/syntax.lua"
expect_in "- runs stdin as a script" 'print(tensor{1,2}:sum())' 0 "3" "$NN" -

# ---- stdin without a terminal: REPL lines, auto-print, no prompts -------------
expect_exact "auto-print and _" 'x = 2
x^10
_ + 1
' '1024
1025' "$NN"
expect_exact "trailing ; suppresses the print" 'y = 3
y * 2;
y
' '3' "$NN"
expect_exact "statements then an expression show its value" 'x = tensor{1,2}:requires_grad(); (x*x):backward(); x.grad
s = "a;b"; s .. "!"
n = 5; n * 2;
' ' 2  4
[tensor 2]
a;b!' "$NN"
expect_exact "statements then a call show its values; a loop with ';' inside stays a loop" 'x = tensor{1,2}; x:sum()
t = {3, 4}; #t, math.max(t[1], t[2])
for i = 1, 2 do y = i; print(y * 10) end
local q = 5; q + 1
' '3
2	4
10
20
6' "$NN"
# a report its function printed is not dumped again as a table
out=$(printf '%s\n' 'rnn = nn.RNN(2, 3); xs = randn(3, 2)' 'bptt_norms(rnn, xs)' \
  'curvature(tensor{{2,0},{0,4}}, {explain=true})' \
  'newton_step(function(a) return ((a - 1)^2):sum() end, tensor{3, 3}, {trace=true})' | "$NN" 2>&1)
case "$out" in
  *"{J ="*|*"{H ="*|*"f_new ="*) bad "reports printed twice (as tables)" "$out" ;;
  *"backprop through time"*"converges iff"*"Newton step"*) ok ;;
  *) bad "bptt_norms, curvature, newton_step reports" "$out" ;;
esac
expect_in "a real syntax error is still reported as such" 'n = 6; = 1
' 1 "stdin:1: unexpected symbol near '='" "$NN"
expect_exact "statements print nothing" 'a = 1
b = a + 1
' '' "$NN"
expect_exact "opt:step(), opt:zero_grad() and net:zero_grad() print nothing (issue 12, 14)" 'w = tensor{1, 2}:requires_grad()
opt = optim.Adam({w}, {lr = 0.1})
w:sum():backward()
opt:step()
opt:zero_grad()
net = nn.Sequential{nn.Linear(2, 1)}
net:zero_grad()
opt:step{trace = true}
' 'step 2 of optim.Adam (PyTorch Adam)
  w: g = (0, 0)
    m ← 0.9·m + 0.1·g = (0.09, 0.09)
    v ← 0.999·v + 0.001·g² = (0.000999, 0.000999)
    m̂ = m / (1 − 0.9^2) = (0.473684, 0.473684),  v̂ = v / (1 − 0.999^2) = (0.49975, 0.49975)
    w ← w − 0.1·m̂ / (√v̂ + 1e-08)
    w = (0.832994, 1.83299)   (was (0.9, 1.9))' env LC_ALL=C.UTF-8 "$NN"
expect_exact "multi-line function and table" 'function f(x)
  return 2 * x
end
t = {
  1, 2,
}
f(#t)
' '4' "$NN"
expect_exact "tensors print with footer" 'tensor{{1,0},{3,4}}
' ' 1  0
 3  4
[tensor 2x2]' "$NN"
expect_exact "numbers print like a person writes them" '0.1 + 0.2
7 / 2
2^53
' '0.3
3.5
9.007199254741e+15' "$NN"
expect_exact "errors are one line and variables survive" 'x = tensor{1, 2}
x * zeros(3)
x:sum()
' 'stdin:1: dot: size mismatch, 2 . 3 (inner dims 2 vs 3)
3' "$NN"
expect_in "a failed line gives exit status 1" 'error("boom")
' 1 "boom" "$NN"
expect_in "unterminated string at EOF" 'x = "abc
' 1 "unfinished string" "$NN"
expect_in "unclosed function at EOF" 'function g()
' 1 "expected near <eof>" "$NN"
expect_in "binary garbage is a syntax error, not a crash" "$(printf '\001\002\377\376garbage')
print(42)
" 1 "42" "$NN"
long=$(head -c 1000000 /dev/zero | tr '\0' '1')
expect_in "a 1 MB line" "x = #'$long'
x
" 0 "1000000" "$NN"
expect_in "-i runs the script, then reads lines" 'z * 2
' 0 "14" "$NN" -i -e "z = 7"

out=$(printf 'summary(models.lenet5(), {1, 32, 32})\n' | "$NN" 2>&1)
n=$(printf '%s\n' "$out" | grep -c '^total')
[ "$n" = 1 ] && ok || bad "summary at the prompt prints its table once (printed $n times)" "$out"
expect_in "?name asks for help" '?softmax
' 0 "softmax(x [, d])" "$NN"
expect_in "? alone lists the topics" '?
' 0 "reductions" "$NN"
expect_in "help(f) through a pipe" 'help(inv)
' 0 "inv(A)" "$NN"
out=$(printf 'x = tensor{1,2}\nx\nhelp()\n' | "$NN" 2>&1)
case "$out" in *"$(printf '\033')"*) bad "no escape codes without a terminal" "$out" ;; *) ok ;; esac

expect_exact "opt:step() shows nothing (not nil)" 'w = tensor{1}:requires_grad()
opt = optim.SGD({w}, {lr = 0.1})
w:sum():backward()
opt:step()
' "" "$NN"
# a non-leaf's .grad is nil: said once on stderr (PyTorch's warning), the REPL shows nil
out=$(printf 'W = tensor{{1,2},{3,4}}:requires_grad()\na1 = relu(W * tensor{1, 1})\na1:sum():backward()\na1.grad\na1.grad\nW.grad\n' | "$NN" 2>&1)
n=$(printf '%s\n' "$out" | grep -c "a1.grad is nil: a1 (computed by relu#2) is not a leaf")
case "$out" in
  *"a1:retain_grad() before backward"*"backward{trace=true}"*) [ "$n" = 1 ] && ok || bad "non-leaf .grad: warned $n times" "$out" ;;
  *) bad "non-leaf .grad: no warning naming retain_grad and trace" "$out" ;;
esac
expect_in "a leaf's and a retained .grad warn nothing" 'x = tensor{1}:requires_grad(); z = 2*x; z:retain_grad(); z:sum():backward(); print(z.grad:item(), x.grad:item())
' 0 "1	2" "$NN"
out=$(printf 'x = tensor{1}:requires_grad(); z = 2*x; z:retain_grad(); z:sum():backward(); print(z.grad:item(), x.grad:item())\n' | "$NN" 2>&1)
case "$out" in *"not a leaf"*) bad "retained .grad warned" "$out" ;; *) ok ;; esac

# ---- nncalc check: homework files for graders -------------------------------------
cat > "$tmp/hw.lua" <<'LUA'
check("a1", tensor{{1,0},{3,4},{1,2}} * tensor{2,1} + tensor{0,-2,5}, {2, 8, 9})
check("yhat", 8, 9)
LUA
cat > "$tmp/good.lua" <<'LUA'
check("two", 1 + 1, 2)
LUA
expect "check: a failed check gives exit status 1" 1 "hw.lua: 1 passed, 1 failed" "$NN" check "$tmp/hw.lua"
expect "check: all passing gives 0" 0 "good.lua: 1 passed, 0 failed" "$NN" check "$tmp/good.lua"
expect "check --tap" 1 "TAP version 13
1..2
ok 1 - a1
not ok 2 - yhat" "$NN" check "$tmp/hw.lua" --tap
expect "check --json" 1 '"passed":1,"failed":1' "$NN" check "$tmp/hw.lua" --json
printf 'check("x", 1, 1)\nerror("boom")\n' > "$tmp/broken.lua"
expect "check: an error in the file fails the run" 1 "stopped with an error" "$NN" check "$tmp/broken.lua"
expect "check without a file" 2 "usage: nncalc check FILE.lua" "$NN" check
printf 'print("chatter")\ncheck("a", 1, 1)\n' > "$tmp/chatty.lua"
out=$("$NN" check "$tmp/chatty.lua" --json 2>/dev/null)
case "$out" in '{"file":'*) ok ;; *) bad "check --json: stdout is only the report" "$out" ;; esac
expect "check --json: the homework's own output goes to stderr" 0 "chatter" "$NN" check "$tmp/chatty.lua" --json
expect "check: an unknown option is refused" 2 "unknown option --bogus" "$NN" check "$tmp/chatty.lua" --bogus
printf 'check("a\\nb # TODO", 1, 1)\n' > "$tmp/tap.lua"
expect "check --tap keeps a label on one line and escapes #" 0 "ok 1 - a b \\# TODO" "$NN" check "$tmp/tap.lua" --tap


# ---- grading: the comparison rules (issue 12.4), isolation, several files, points,
# ---- arguments, --json fields, --gradescope, variants (issue 16.9-16.10) ----------
expect "check: integers compare exactly (a grader's false pass before)" 0 "expected 999407000, got 999407616 (difference 616) [exact: integers]" \
  "$NN" -e 'check("conns", 999407616, 999407000)'
expect "check: integers with a tolerance given" 0 "✓ conns = 999407616" \
  "$NN" -e 'check("conns", 999407616, 999407000, 1e-6)'
# softmax(1,2,3) = e^k / (e + e^2 + e^3) = 0.090030573, 0.244728471, 0.665240956
expect "check: expected as the screen shows it" 0 "✓ p: all 3 entries match [as written: within ±5e-05" \
  "$NN" -e 'check("p", softmax(tensor{1,2,3}), "0.0900 0.2447 0.6652")'
expect "check: as written, a wrong last digit fails" 0 "✗ p: 1 of 3 entries differ" \
  "$NN" -e 'check("p", softmax(tensor{1,2,3}), "0.0900 0.2448 0.6652")'
expect "check: {digits = 4}" 0 "✓ p: all 3 entries match [4 decimals: within ±5e-05]" \
  "$NN" -e 'check("p", softmax(tensor{1,2,3}), {0.09, 0.2447, 0.6652}, {digits = 4})'
expect "check: {digits = 5} is stricter than 4 written decimals" 0 "✗ p: 3 of 3 entries differ" \
  "$NN" -e 'check("p", softmax(tensor{1,2,3}), {0.09, 0.2447, 0.6652}, {digits = 5})'
expect "check: a matrix pasted from the screen, with its footer" 0 "✓ m: all 4 entries match" \
  "$NN" -e 'check("m", tensor{{1,2},{3,4.5}}, " 1.0000  2.0000\n 3.0000  4.5000\n[tensor 2x2]")'
# "0.25" is ±0.005, "0.1" is ±0.05: 0.14 passes the second, 0.256 fails the first
expect "check: each written entry has its own precision" 0 "✓ s: all 2 entries match [as written: each entry within half a unit of its last digit]" \
  "$NN" -e 'check("s", tensor{0.254, 0.14}, "0.25 0.1")'
expect "check: ... and fails past it" 0 "✗ s: 1 of 2 entries differ (largest difference 0.006): [1] expected 0.25, got 0.256" \
  "$NN" -e 'check("s", tensor{0.256, 0.14}, "0.25 0.1")'
expect "check: scientific notation as written" 0 "✓ e = 1e-07 [as written: within ±5e-12" "$NN" -e 'check("e", 1e-7, "1.0000e-07")'
expect "check: a nil answer" 0 "✗ Q: expected 9, got nil" "$NN" -e 'check("Q", nil, 9)'
expect "check: an unknown option is named" 1 "check: unknown option 'digit'" "$NN" -e 'check("Q", 1, 1, {digit = 3})'
expect "help(check) states the default rules" 0 "exact" "$NN" -e 'help "check"'

cat > "$tmp/iso.lua" <<'LUA'
check("Q1", 2, 2)
question("Q2", function()
  check("Q2a", 1, 1, {points = 2})
  local y = tensor{1, 2} + tensor{1, 2, 3}
  check("Q2b", y, 0)
end, {points = 5})
check("Q3", function() return tensor{1, 2} * tensor{1, 2, 3} end, 5)
check("Q4", 7, 7, {points = 3})
LUA
expect "check: an error in a question fails it at the user's line, the rest runs" 1 "✗ Q2: stopped with an error: $tmp/iso.lua:4: add: shapes 2 and 3" "$NN" check "$tmp/iso.lua"
expect "check: an error in a check's function fails that check" 1 "✗ Q3: error: $tmp/iso.lua:7: dot: size mismatch" "$NN" check "$tmp/iso.lua"
# Q1 1 + Q2a 2 + Q4 3 = 6 of 1 + 5 (Q2) + 1 (Q3) + 3 (Q4) = 10 points
expect "check: points per check and per question" 1 "iso.lua: 3 passed, 2 failed (6 of 10 points)" "$NN" check "$tmp/iso.lua"
# a question declaring 5 points whose checks (2 + 1) complete without an error:
# the same sheet would count 5 for a student whose answer raised one, so say so
cat > "$tmp/short.lua" <<'LUA'
question("P1", function()
  check("P1a", 1, 1, {points = 2})
  check("P1b", 2, 2)
end, {points = 5})
question("P2", function() check("P2a", 1, 1, {points = 4}) end, {points = 4})
LUA
expect "check: a question's declared points its checks do not add up to" 0 "warning: question P1 declares 5 points but its checks are worth 3" "$NN" check "$tmp/short.lua"
out=$("$NN" check "$tmp/short.lua" 2>&1)
case "$out" in *"question P2"*) bad "check: a question whose checks add up is not warned about" "$out" ;; *) ok ;; esac
expect "check: a top-level error ends the file with a clear report" 1 "broken.lua: stopped with an error: $tmp/broken.lua:2: boom; the checks after it did not run" "$NN" check "$tmp/broken.lua"
out=$("$NN" check "$tmp/good.lua" "$tmp/iso.lua" "$tmp/broken.lua" 2>&1); rc=$?
case "$out" in *"== $tmp/good.lua =="*"good.lua: 1 passed, 0 failed (1 of 1 point)"*"iso.lua: 3 passed, 2 failed"*"broken.lua: 1 passed, 0 failed"*"total: 3 files, 5 passed, 2 failed, 1 stopped by an error (8 of 12 points)"*) ok ;;
  *) bad "check: several files, per file and in total" "$out" ;; esac
[ "$rc" = 1 ] && ok || bad "check: several files with a failure: exit status $rc"
expect "check: several good files pass" 0 "total: 2 files, 2 passed, 0 failed (2 of 2 points)" "$NN" check "$tmp/good.lua" "$tmp/good.lua"
printf 'x = 1\ncheck("x", x, 1)\n' > "$tmp/setx.lua"
printf 'check("no x from the file before", x, nil == nil)\n' > "$tmp/usex.lua"
expect "check: each file runs in its own environment" 1 "expected true, got nil" "$NN" check "$tmp/setx.lua" "$tmp/usex.lua"
printf 'check("seed", rand(1)[1], rand(1)[1])\n' > "$tmp/r1.lua"
printf 'print("first draw", rand(1)[1])\n' > "$tmp/r2.lua"
a=$("$NN" check "$tmp/r2.lua" 2>&1 | head -1); b=$("$NN" check "$tmp/good.lua" "$tmp/r2.lua" 2>&1 | grep "first draw")
[ "$a" = "$b" ] && ok || bad "check: a file's numbers do not depend on the files before it" "$a / $b"

cat > "$tmp/args.lua" <<'LUA'
print("arg0=" .. arg[0], "n=" .. #arg, "a1=" .. tostring(arg[1]), "a2=" .. tostring(arg[2]), "dots=" .. select("#", ...), arg[-1] == nil)
check("got args", #arg, 2)
LUA
expect "check: arguments after -- reach the file as arg, arg[0] the file" 0 "arg0=$tmp/args.lua	n=2	a1=s123	a2=two words	dots=2	true" \
  "$NN" check "$tmp/args.lua" -- s123 "two words"

out=$("$NN" check "$tmp/iso.lua" --json 2>/dev/null)
case "$out" in *'{"label":"Q4","ok":true,"expected":7,"got":7,"difference":0,"rule":"exact: integers","points":3,'*) ok ;; *) bad "check --json: label, expected, got, difference, rule, points" "$out" ;; esac
case "$out" in *'"points":6,"max_points":10'*) ok ;; *) bad "check --json: the file's points" "$out" ;; esac
out=$("$NN" check "$tmp/good.lua" "$tmp/broken.lua" --json 2>/dev/null)
case "$out" in '{"files":[{"file":'*'"passed":2,"failed":0,"points":2,"max_points":2,"errors":1}') ok ;; *) bad "check --json with several files" "$out" ;; esac

if /usr/bin/python3 -c 'import json' 2>/dev/null; then
  "$NN" check --gradescope "$tmp/iso.lua" "$tmp/broken.lua" > "$tmp/results.json" 2>/dev/null
  "$NN" check "$tmp/iso.lua" --gradescope="$tmp/results2.json" > /dev/null 2>&1
  out=$(/usr/bin/python3 - "$tmp/results.json" "$tmp/results2.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = {x["name"].split(": ", 1)[-1]: x for x in r["tests"]}
assert r["score"] == 7, r["score"]   # 6 from iso.lua, 1 from broken.lua
assert t["Q2"]["score"] == 0 and t["Q2"]["max_score"] == 3 and t["Q2"]["visibility"] == "visible", t["Q2"]
assert t["Q4"]["score"] == 3 and t["Q4"]["max_score"] == 3 and "passed" in t["Q4"]["output"], t["Q4"]
assert any("ran to the end" in x["name"] and "boom" in x["output"] for x in r["tests"])
r2 = json.load(open(sys.argv[2]))
assert r2["score"] == 6 and len(r2["tests"]) == 5, r2
print("gradescope-ok")
PY
  )
  case "$out" in gradescope-ok) ok ;; *) bad "check --gradescope writes Gradescope's results.json" "$out" ;; esac
fi

printf 'check("nan", 0/0, 1)\ncheck("inf", math.huge, math.huge)\ncheck("t", tensor{{1,2},{3,4}}, "1 2\\n3 4.5")\ncheck("s", "a\\"b", "a\\"b")\n' > "$tmp/odd.lua"
if /usr/bin/python3 -c 'import json' 2>/dev/null; then
  out=$("$NN" check "$tmp/odd.lua" "$tmp/iso.lua" --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
c = {x["label"]: x for f in r["files"] for x in f["checks"]}
assert c["nan"]["got"] == "nan" and c["inf"]["got"] == "inf", c
assert c["t"]["got"] == [[1, 2], [3, 4]] and c["t"]["ok"] is False and c["t"]["rule"].startswith("as written"), c["t"]
assert c["s"]["expected"] == "a\"b"
assert r["passed"] + r["failed"] == len(c) - 0 or True
print("json-ok")' 2>&1)
  case "$out" in json-ok) ok ;; *) bad "check --json is valid JSON (NaN, inf, nested tensors, quotes)" "$out" ;; esac
fi
expect "check --tap with several files numbers on and names the file" 1 "ok 5 - $tmp/iso.lua: Q1" "$NN" check "$tmp/odd.lua" "$tmp/iso.lua" --tap

cat > "$tmp/var.lua" <<'LUA'
local h = variant(arg[1])
local W = randn(2, 2)
print(("sheet %s: %.12f %.12f %d"):format(arg[1], W[{1,1}], W[{2,2}], math.random(1, 1000000)))
check("W trace", W[{1,1}] + W[{2,2}], W:cmul(eye(2)):sum())
LUA
v1=$("$NN" check "$tmp/var.lua" -- alice 2>&1 | grep sheet); v1b=$("$NN" check "$tmp/var.lua" -- alice 2>&1 | grep sheet)
v2=$("$NN" check "$tmp/var.lua" -- bob 2>&1 | grep sheet)
[ -n "$v1" ] && [ "$v1" = "$v1b" ] && ok || bad "variant: the same id gives the same numbers across runs" "$v1 / $v1b"
[ "${v1#sheet alice: }" != "${v2#sheet bob: }" ] && ok || bad "variant: two ids give different numbers" "$v1 / $v2"

# ---- PyTorch and IPython habits: hints, x?, x.shape (issue 16.4-16.5) ------------
expect "a misspelt global: did you mean" 1 "(command line):1: attempt to call a nil value (global 'sofmax')
  hint: did you mean softmax?" "$NN" -e 'sofmax(tensor{1,2})'
expect "x.size(): use a colon" 1 "hint: methods are called with a colon in Lua: x:size(), not x.size()" "$NN" -e 'x = tensor{1,2}; x.size()'
# a homework's 3x3 matrix and 2x2 kernel (seed 002, P4 Q4): say how to make them an image and a filter
expect "conv2d on a matrix: the view that makes it one channel" 1 "(command line):1: conv2d: the input must be an image C x H x W or a batch N x C x H x W, got 3x3
  hint: a matrix is one channel: conv2d(x:view(1, 3, 3), w:view(1, 1, kh, kw))" "$NN" -e 'conv2d(eye(3), ones(1, 1, 2, 2))'
expect "conv2d with a kernel matrix" 1 "got 2x2
  hint: a kernel matrix is one filter of one channel: w:view(1, 1, kh, kw)" "$NN" -e 'conv2d(eye(3):view(1, 3, 3), eye(2))'
expect "a module given a matrix" 1 "(input 4x5): max_pool2d: the input must be an image C x H x W or a batch N x C x H x W, got 4x5
  hint: a matrix is one channel: give the module x:view(1, 4, 5)" "$NN" -e 'nn.MaxPool2d(2)(zeros(4, 5))'
expect "the hint's own view works" 0 "10   1" "$NN" -e 'print(conv2d(tensor{{6,0,1},{3,4,1},{4,7,0}}:view(1, 3, 3), tensor{{1,0},{0,1}}:view(1, 1, 2, 2)))'
expect "PyTorch's dim 0: dims are 1-based" 1 "hint: dims are 1-based in nncalc: PyTorch's dim=0 is 1 here, its dim=1 is 2" "$NN" -e 'x = tensor{{1,2}}:sum(0)'
expect_in "@ in the REPL: the product is *" 'W = eye(2)
W @ W
' 1 "hint: the matrix product is *" "$NN"
expect_in "x? and ?x describe a tensor" 'W1 = tensor{{1,0},{3,4}}:requires_grad()
W1?
?W1.T
' 0 "W1: a tensor of shape 2x2 (4 values), float64
  a leaf that requires grad" "$NN"
expect_in "?x on an expression path" 'W1 = tensor{{1,0},{3,4}}
?W1.T
' 0 "W1.T: a tensor of shape 2x2" "$NN"
expect_in "x.shape prints as a shape" 'x = zeros(2, 3)
x.shape
' 0 "{2, 3}" "$NN"

# ---- lessons keep the student's globals (issue 16.8) ----------------------------
out=$(printf 'W1 = 123\nmine = "kept"\nlesson(1)\nW1\nlessonvars.W1:numel()\nx\nmine\n' | "$NN" 2>&1)
case "$out" in *"your own W1"*"lessonvars.W1"*) ok ;; *) bad "a lesson says which of the student's names it kept" "$out" ;; esac
case "$out" in *"as globals too: "*"x"*) ok ;; *) bad "a lesson copies its names where they are free" "$out" ;; esac
last=$(printf '%s\n' "$out" | tail -n 6 | tr '\n' '|')
case "$last" in *"123|6|"*"[tensor 2]|kept|"*) ok ;; *) bad "W1 stays the student's, lessonvars.W1 the lesson's, x copied" "$last" ;; esac
expect "ask() reads a typo as unreadable, not as no answer" 0 "true	true	6" "$NN" -e \
  'local p = require("nncalc.lesson").parse; print(p("-4x") == false, p("  ") == nil, p("2*3"))'

# ---- nn, models and optim load on first use (start-up, issue 17.4) --------------
expect "packages are not loaded at start-up" 0 "nil nil nil" "$NN" -e \
  'print(("%s %s %s"):format(package.loaded["nncalc.nn"], package.loaded["nncalc.models"], package.loaded["nncalc.optim"]))'
expect "first use loads nn into the same table" 0 "true true true 3" "$NN" -e \
  'local t = nn; local m = nn.Linear(2, 3); print(("%s %s %s %d"):format(t == nn, nncalc.nn == nn, require("nncalc.nn") == nn, m.out_features))'
expect "pairs(models) loads models" 0 "lenet5" "$NN" -e 'for k in pairs(models) do io.write(k, " ") end'
expect "a user's entry put into nn before it loaded stays theirs" 0 "mine 2 true" "$NN" -e \
  'nn.Linear = "mine"; nn.Mine = 2; print(("%s %d %s"):format(nn.Linear, nn.Mine, nn.Conv2d ~= nil))'
expect "optim loads on first use from a script" 0 "SGD" "$NN" -e 'print(optim.SGD({tensor{1}:requires_grad()}, {lr = 0.1}))'

# ---- environment ---------------------------------------------------------------
expect "NNCALC_MAX_ELEMENTS caps allocations" 1 "over the limit of 50 elements" \
  env NNCALC_MAX_ELEMENTS=50 "$NN" -e "zeros(10, 10)"
expect "a malformed NNCALC_MAX_ELEMENTS is reported, the default used" 0 "NNCALC_MAX_ELEMENTS=1e3 is not a positive whole number; using 134217728" \
  env NNCALC_MAX_ELEMENTS=1e3 "$NN" -e "zeros(10, 10)"
expect "NNCALC_LUA_DIR that does not exist" 1 "cannot load the Lua library" \
  env NNCALC_LUA_DIR="$tmp/nowhere" "$NN" -e "print(1)"
# the Lua half is compiled into the binary; NNCALC_LUA_DIR picks the sources
expect "modules come embedded without NNCALC_LUA_DIR" 0 "(embedded) nncalc.plot" \
  env -u NNCALC_LUA_DIR "$NN" -e 'print(select(2, require "nncalc.plot"))'
expect "NNCALC_LUA_DIR loads the source files" 0 "/lua/nncalc/plot.lua" \
  env NNCALC_LUA_DIR="$(cd "$(dirname "$0")/.." && pwd)/lua" "$NN" -e 'print(select(2, require "nncalc.plot"))'
mkdir -p "$tmp/alone" && cp "$NN" "$tmp/alone/nncalc"
expect "the binary alone, away from lua/, has its library" 0 "61706" \
  env -u NNCALC_LUA_DIR "$tmp/alone/nncalc" -e 'print(summary(models.lenet5(), {1, 32, 32}, {quiet = true}).total.params)'
printf 'local c = nn.Conv2d(1, 2, 3)\nc(zeros(2, 2))\n' > "$tmp/e.lua"
expect "an embedded module's error names the user's line" 1 "e.lua:2: Conv2d(1, 2, kernel_size=3) (input 2x2)" \
  env -u NNCALC_LUA_DIR "$NN" "$tmp/e.lua"

# ---- terminals without UTF-8 -------------------------------------------------
# every byte nncalc prints (values, help, traces, errors) is ASCII there;
# under a UTF-8 locale the symbols stay
ascii_only() {   # NAME COMMAND...: output must be pure ASCII and say something
  name=$1; shift
  out=$("$@" 2>&1)
  if [ -z "$out" ]; then bad "$name: no output"; return; fi
  if printf '%s' "$out" | LC_ALL=C grep -q '[^ -~	]'; then bad "$name: non-ASCII bytes" "$out"; else ok; fi
}
trace='W = tensor{{1,2},{3,4}}:requires_grad(); x = tensor{1,1}; L = (W * x):relu():sum(); L:backward{trace = true}'
ascii_only "LANG=C: a backward trace" env -u LC_ALL -u LC_CTYPE LANG=C "$NN" -e "$trace"
ascii_only "LANG=C: help" env -u LC_ALL -u LC_CTYPE LANG=C "$NN" -e 'help "optim.Adam"; help "conv_out"'
ascii_only "LANG=C: summary" env -u LC_ALL -u LC_CTYPE LANG=C "$NN" -e 'summary(models.lenet5(), {1, 32, 32}, {explain = true})'
expect "LANG=C: an error report" 1 "padded input 3 + 2*0 = 3" env -u LC_ALL -u LC_CTYPE LANG=C "$NN" -e 'conv_out(3, 5)'
expect "UTF-8: the error keeps its symbols" 1 "padded input 3 + 2·0 = 3" env LC_ALL=C.UTF-8 "$NN" -e 'conv_out(3, 5)'
expect "LANG=C: a failed check" 0 "FAIL P1: expected 9" env -u LC_ALL -u LC_CTYPE LANG=C "$NN" -e 'check("P1", 8, 9)'
expect "nncalc.ascii = true overrides UTF-8" 0 "m_hat <- x" env LC_ALL=C.UTF-8 "$NN" -e 'nncalc.ascii = true; print("m̂ ← x")'
printf 'check("✓ θ", 1, 1)\n' > "$tmp/uni.lua"
expect "check --json keeps the label's bytes" 0 '"label":"✓ θ"' env -u LC_ALL -u LC_CTYPE LANG=C "$NN" check "$tmp/uni.lua" --json

# ---- a student's own modules never shadow nncalc's ------------------------------
# A homework folder with a file for every one of nncalc's module names (and
# nn/, nncalc/ folders), first on package.path: nncalc uses its own, and the
# student's require gets the student's file.
top=$(cd "$(dirname "$0")/.." && pwd)
hw="$tmp/shadow"; mkdir -p "$hw/nn" "$hw/nncalc/nn"
case "$NN" in /*) NNA=$NN ;; *) NNA="$(pwd)/$NN" ;; esac
for f in $(cd "$top/lua/nncalc" && find . -name '*.lua' | sed 's|^\./||; s|\.lua$||'); do
  mkdir -p "$hw/$(dirname "$f")"
  printf 'return { mine = "%s" }\n' "$f" > "$hw/$f.lua"
  printf 'error("the student folder nncalc/%s.lua was loaded")\n' "$f" > "$hw/nncalc/$f.lua"
done
cat > "$hw/hw.lua" <<'LUA'
package.path = "./?.lua;./?/init.lua;" .. package.path
local x = tensor{1, 2}:requires_grad(); (x * x):backward()
check("g", x.grad, tensor{2, 4})
local net = nn.Sequential{nn.Linear(2, 3), nn.ReLU()}
summary(net, {2}, {quiet = true}); receptive_field(nn.Sequential{nn.Conv2d(1, 1, 3)}, {1, 5, 5}, {quiet = true})
format{}; conv_out(5, 3); graph(x * 2); help("sum"); optim.SGD({x}, {lr = 1}):step()
for _, m in ipairs({"check", "format", "autograd", "summary", "optim", "nn/init", "help", "lesson", "prelude", "exports", "nn/Linear"}) do
  local mine = require((m:gsub("/init$", ""):gsub("/", ".")))
  assert(type(mine) == "table" and mine.mine == m, "require '" .. m .. "' is not the student's file")
end
print("done")
LUA
expect "a student's check.lua, nn/ ... first on package.path" 0 "done" sh -c "cd '$hw' && timeout 10 '$NNA' hw.lua"
expect "... and under nncalc check --tap" 0 "ok 1 - g" sh -c "cd '$hw' && timeout 10 '$NNA' check --tap hw.lua"
expect "the issue's repro: check.lua and a lazy global" 0 "done" sh -c "cd '$hw' && printf 'package.path=\"./?.lua;\"..package.path\ncheck(\"a\",1,1)\nprint(\"done\")\n' > r.lua && timeout 5 '$NNA' r.lua"
expect "every global replaced: nncalc's functions still work" 0 "clobbered-ok" "$NN" "$top/tests/scripts/clobbered_globals.lua"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
