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
keys C-u 'nn.Con' Tab Tab; check "Tab lists nn classes" "nn.Conv2d"
keys C-u 'm = nn.Conv2' Tab; check "Tab completes nn.Conv2 -> nn.Conv2d" "> m = nn.Conv2d"
keys '(1, 2, 3)' Enter 'm:out' Tab; check "Tab completes module methods" "> m:out_shape"
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

head -c 3000 /dev/urandom > "$tmp/corrupt"
start "$tmp/corrupt" -q
keys '2 + 3' Enter; check "a corrupt history file does not stop the REPL" "5"
keys Up; check "  ... and new entries are recalled" "> 2 + 3"

echo "pty: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
