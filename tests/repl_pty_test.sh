#!/bin/sh
# repl_pty_test.sh NNCALC — the REPL in a real terminal (tmux): Tab
# completion, history across sessions, Ctrl-C at the prompt and during a
# busy loop, the banner, a history path that is a directory.
# Prints failures and a closing "pty: N passed, N failed".
NN=${1:-./nncalc}
case "$NN" in /*) ;; *) NN="$(pwd)/$NN" ;; esac
pass=0; fail=0
if ! command -v tmux >/dev/null 2>&1; then
  echo "pty: 0 passed, 0 failed, 1 skipped (tmux is not installed)"
  exit 0
fi
tmp=$(mktemp -d)
sock="$tmp/tmux.sock"
T="tmux -S $sock"
trap '$T kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
export NNCALC_HISTORY="$tmp/history"
# a session that lives for the whole test, so that closing the others never
# stops the tmux server between two starts
$T new-session -d -s keep "sleep 600"

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL pty: $1"; $T capture-pane -t s -p 2>/dev/null | sed 's/^/  | /' | grep -v '^  | $'; }

n=0
start() {  # start HISTORY [args]: a fresh nncalc in a 120x40 terminal
  hist=$1; shift
  [ $n -gt 0 ] && $T kill-session -t s 2>/dev/null && sleep 0.2
  n=$((n + 1))
  $T new-session -d -s s -x 120 -y 40 \
    "env NNCALC_HISTORY='$hist' NNCALC_LUA_DIR='${NNCALC_LUA_DIR:-}' $NN $*; sleep 60"
}
screen() { $T capture-pane -t s -p 2>/dev/null; }
# wait_for TEXT [SECONDS]: until the screen shows TEXT
wait_for() {
  i=0; limit=$(( ${2:-10} * 10 ))
  while [ $i -lt $limit ]; do
    screen | grep -qF -- "$1" && return 0
    sleep 0.1; i=$((i + 1))
  done
  return 1
}
keys() { $T send-keys -t s "$@"; }
check() {  # check NAME TEXT [SECONDS]
  if wait_for "$2" "${3:-10}"; then ok; else bad "$1: screen lacks '$2'"; fi
}

start "$NNCALC_HISTORY"
check "banner" "Type help() for topics"
keys 'x = ten' Tab; check "Tab completes ten -> tensor" "> x = tensor"
keys '{1,2,3}' Enter
keys 'x:su' Tab Tab; check "Tab lists tensor methods" "x:sub"
check "  ... including sum" "x:sum"
keys 'm()' Enter; check "completed method runs" "6"
keys 'nncalc.Ten' Tab; check "Tab completes nested fields" "> nncalc.Tensor"
# nn and models load on first use: completion loads them (the first use here)
keys C-u 'nn.Con' Tab Tab; check "Tab lists nn classes" "nn.Conv2d"
keys C-u 'models.len' Tab; check "Tab completes a package not yet loaded: models.len -> models.lenet5" "> models.lenet5"
keys C-u 'm = nn.Conv2' Tab; check "Tab completes nn.Conv2 -> nn.Conv2d" "> m = nn.Conv2d"
keys '(1, 2, 3)' Enter 'm:out' Tab; check "Tab completes module methods" "> m:out_shape"
keys C-u
# completion where students need it (issue 16.3)
keys 'W1 = tensor{1,2}:requires_grad(); lin = nn.Linear(2, 3); net = nn.Sequential{nn.Linear(2, 2)}' Enter
keys 'W1.gr' Tab; check "Tab completes a tensor's field: W1.gr -> W1.grad" "> W1.grad"
keys C-u 'lin.we' Tab; check "Tab completes a parameter before it is read: lin.we -> lin.weight" "> lin.weight"
keys C-u 'net[1].we' Tab; check "Tab completes after an index: net[1].we -> net[1].weight" "> net[1].weight"
keys C-u 'net[1]:forw' Tab; check "  ... and its methods: net[1]:forw -> net[1]:forward" "> net[1]:forward"
keys C-u '?conv_s' Tab; check "Tab completes help topics: ?conv_s -> ?conv_solve" "> ?conv_solve"
keys C-u 'help("nn.Conv' Tab Tab; check "  ... also inside help(\"..." "nn.ConvTranspose2d"
: > "$tmp/hwfile_set1.lua"
keys C-u "dofile(\"$tmp/hwfile_s" Tab; check "Tab completes a file name inside a string" "dofile(\"$tmp/hwfile_set1.lua"
keys C-u
keys C-u 'half a line'; sleep 0.3; keys C-c; check "Ctrl-C at the prompt shows ^C" "half a line^C"
keys 'y = 1' Enter 'y + 1' Enter; check "the prompt works after Ctrl-C" "2"
keys 'while true do end' Enter; sleep 0.5; keys C-c
check "Ctrl-C interrupts a busy loop" "interrupted"
keys 'x:sum() + y' Enter; check "variables survive the interrupt" "7"
keys 'A = rand(3000, 3000)' Enter 'B = A * A' Enter; sleep 0.4; keys C-c
check "Ctrl-C interrupts a big matrix product" "mm: interrupted"
keys 'A:size(1) + 1, B == nil' Enter; check "  ... A is still there, B was never made" "3001    true"
keys 'w = tensor{3}:requires_grad()' Enter 'L = (relu(w) * 2):sum()' Enter
keys 'L:backward{step=true}' Enter
check "backward{step=true} shows the first step" "step 1: L = sum"
check "  ... and waits for Enter" "[Enter for the next step]"
if screen | grep -qF "step 2:"; then bad "step mode ran ahead without Enter"; else ok; fi
keys Enter; check "  ... Enter shows the next step" "step 2:"
keys Enter; check "  ... to the end" "w.grad = dL/dw"
keys 'w.grad' Enter; check "  ... and the gradient is there" "2"
# a pasted block (bracketed paste: one line with newlines) runs chunk by
# chunk as if typed: W1*x = (2, 10, 4), and a function spanning lines
printf 'px = tensor{2,1}\npW = tensor{{1,0},{3,4},{1,2}}\npW*px\nfunction pf(a)\n  return a + 100\nend\npf(1) + #pW' > "$tmp/paste"
$T load-buffer "$tmp/paste"; $T paste-buffer -p -t s; sleep 0.3; keys Enter
check "a pasted block runs as chunks; its expressions print" "  2  10   4"
check "  ... the last expression prints" "104"
if screen | grep -qF "syntax error"; then bad "a pasted block gives no syntax error"; else ok; fi
keys 'function g(a)' Enter; check "continuation prompt" ">>"
keys 'return a * 10 end' Enter 'g(4)' Enter; check "multi-line function" "40"
keys C-d; sleep 0.5

start "$NNCALC_HISTORY" -q
keys 'g' ; sleep 0.3
if screen | grep -qF "Type help()"; then bad "--quiet hides the banner"; else ok; fi
keys C-u Up; check "history: last entry recalled after restart" "> g(4)"
keys Up; check "history: a multi-line statement is one entry" "return a * 10 end"
keys C-u C-d; sleep 0.3
if grep -q 'while true do end' "$NNCALC_HISTORY"; then ok; else bad "history file holds the statements"; fi
perm=$(stat -c %a "$NNCALC_HISTORY")
if [ "$perm" = "600" ]; then ok; else bad "history file mode is $perm, not 600"; fi

mkdir -p "$tmp/dir"
start "$tmp/dir" -q
check "a history path that is a directory: one warning" "history not saved"
keys '1 + 1' Enter; check "  ... and the REPL goes on" "2"
keys 'exit()' Enter; sleep 0.5
keys '3 + 4' Enter; sleep 0.5
if screen | grep -q '^7$'; then bad "exit() leaves the REPL"; else ok; fi

# a lesson at a terminal: ask() waits for the answer and says right or wrong
start "$NNCALC_HISTORY" lesson 1
check "the lesson starts" "Lesson 1: tensors and shapes"
check "  ... and asks" "How many numbers does W1 hold?"
keys '5' Enter; check "a wrong answer is called wrong" "you gave 5"
keys '6' Enter; check "the right answer is called right" "right: 6"
check "  ... with the working" "3 rows x 2 columns = 6"
keys Enter; check "pause() waits for Enter, then goes on" "Indices start at 1"
keys C-c; check "nncalc lesson: Ctrl-C at a prompt leaves cleanly" "Left lesson 1 (tensors) at Ctrl-C"
if screen | grep -qF "lesson.lua"; then bad "nncalc lesson: no internal path after Ctrl-C"; else ok; fi

# a lesson in the REPL (issue 16.8): a typo is read again, not revealed;
# Ctrl-C leaves cleanly; the student's globals stay, the lesson's are in lessonvars
start "$NNCALC_HISTORY" -q
keys 'W1 = 123' Enter 'lesson(1)' Enter
check "lesson(1) in the REPL asks" "How many numbers does W1 hold?"
keys -- '-4x' Enter; check "a typo is not an answer: it asks again" "could not read '-4x'"
if screen | grep -qF "answer: 6"; then bad "a typo revealed the answer"; else ok; fi
keys '5' Enter; check "  ... then a wrong answer counts" "you gave 5"
keys Left Left; keys '6' Enter; check "the answer prompt edits with Readline" "right: 6"
keys Enter; check "  ... the lesson goes on" "What is W1[{3, 2}]?"
keys C-c; check "Ctrl-C leaves the lesson" "Left lesson 1 (tensors) at Ctrl-C"
if screen | grep -qF "lesson.lua"; then bad "no internal path after Ctrl-C"; else ok; fi
check "  ... and says what it left" "Lesson 1 left its variables in lessonvars"
keys 'W1' Enter; check "the student's W1 is kept" "123"
keys 'lessonvars.W1:numel()' Enter; check "  ... the lesson's W1 is lessonvars.W1" "6"
keys C-d; sleep 0.3

# the first screen line wider than $1 columns (characters, not bytes)
wider_than() {
  while IFS= read -r l; do
    [ "$(printf '%s' "$l" | LC_ALL=C.UTF-8 wc -m)" -gt "$1" ] && { printf '%s\n' "$l"; break; }
  done
}
# a 60-column pane (issue 16.2): tables, plots, the lesson list and help fit
# it; long help goes through $PAGER at a terminal, and never when piped
$T kill-session -t s 2>/dev/null; sleep 0.2
$T new-session -d -s s -x 60 -y 20 \
  "env NNCALC_HISTORY='$NNCALC_HISTORY' NNCALC_LUA_DIR='${NNCALC_LUA_DIR:-}' PAGER='cat > $tmp/paged' $NN -q; sleep 60"
sleep 0.5
keys 'summary(models.lenet5(), {1, 32, 32})' Enter
check "summary in 60 columns says what it left out" "to fit the 60-column terminal"
wide=$(screen | wider_than 60)
[ -z "$wide" ] && ok || bad "summary rows fit 60 columns: '$wide'"
keys C-l 'plot(sigmoid, -6, 6, {height = 6})' Enter; check "a plot in 60 columns" "└"
rule=$(screen | grep "└" | head -n 1)
n=$(printf '%s' "$rule" | LC_ALL=C.UTF-8 wc -m)
[ "$n" -ge 55 ] && [ "$n" -le 60 ] && ok || bad "the plot fills the 60 columns (axis is $n wide)"
keys C-l 'lesson()' Enter; check "the lesson list" "12  Grid and random search"
wide=$(screen | wider_than 60)
[ -z "$wide" ] && ok || bad "the lesson list fits 60 columns: '$wide'"
keys C-l 'help()' Enter; sleep 1
if [ -s "$tmp/paged" ] && grep -q "nncalc help." "$tmp/paged"; then ok; else bad "help() longer than the pane goes through \$PAGER"; fi
keys C-l 'help "softmax"' Enter; check "short help prints in place" "example:  softmax"
keys C-d; sleep 0.3
out=$(printf 'help()\n' | env PAGER="sh -c 'echo PAGED'" "$NN" 2>&1)
case "$out" in *PAGED*) bad "no pager when output is piped" ;; *"nncalc help."*) ok ;; *) bad "help() piped" "$out" ;; esac

head -c 3000 /dev/urandom > "$tmp/corrupt"
start "$tmp/corrupt" -q
keys '2 + 3' Enter; check "a corrupt history file does not stop the REPL" "5"
keys Up; check "  ... and new entries are recalled" "> 2 + 3"

echo "pty: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
