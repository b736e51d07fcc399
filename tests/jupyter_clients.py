"""jupyter_clients.py NNCALC WORKDIR — the kernel under the clients students
use: an nbclient run of a notebook of the seed homework (Homework 1 Problem
1's forward pass and backward trace, Problem 5's Inception summary, the
checks) whose outputs must be the REPL's output for the same cells, and
`jupyter console --kernel nncalc` driven through its standard input.
Hand-computed answers are in the cells' check() calls.
Prints "jupyter-clients: N passed, N failed".
"""
import os, re, shutil, subprocess, sys, time

import nbformat
from nbclient import NotebookClient

NN, WORK = sys.argv[1], sys.argv[2]
os.environ["JUPYTER_PATH"] = os.path.join(WORK, "share", "jupyter")
os.environ["LC_ALL"] = "C.UTF-8"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jupyter_util import Tally
T = Tally("jupyter-clients")
check = T.check


CELLS = [
    # Problem 1: x = (2, 1); a1 = W1 x + b1 = (2, 8, 9) = z1; a2 = W2 z1 + b2 =
    # (61 - 23, 33 - 11) = (38, 22) = z2; a3 = -2*38 + 3*22 + 18 = 8 = yhat
    """x  = tensor{2, 1}
W1 = tensor{{1, 0}, {3, 4}, {1, 2}}:requires_grad();  b1 = tensor{0, -2, 5}:requires_grad()
W2 = tensor{{2, 6, 1}, {0, 3, 1}}:requires_grad();    b2 = tensor{-23, -11}:requires_grad()
W3 = tensor{{-2, 3}}:requires_grad();                 b3 = tensor{18}:requires_grad()
z1 = relu(W1 * x + b1)
z2 = relu(W2 * z1 + b2)
yhat = relu(W3 * z2 + b3)
yhat""",
    # L = (8 - 10)^2 = 4; dL/dyhat = -4, dL/dz2 = W3^T (-4) = (8, -12),
    # dL/dz1 = W2^T (8, -12) = (16, 12, -4), dL/dW1 = (16, 12, -4) x^T
    """L = ((yhat - 10)^2):sum()
L:backward{trace=true}""",
    "W1.grad",
    # Problem 5 (ii): the Inception module with 1x1 reductions
    """inc2 = models.inception{input = 256, b1 = 128, b3_reduce = 64, b3 = 192, b5_reduce = 64, b5 = 96, pool_proj = 64}
s2 = summary(inc2, {256, 32, 32}, {columns = {"out", "params", "mults", "acts"}})""",
    # params: 257*128 + 257*64 + 577*192 + 257*64 + 1601*96 + 257*64 = 346,720;
    # (';' keeps the REPL from printing each check's true, as in the kernel)
    # naive (1x1 128, 3x3 192, 5x5 96): 257*128 + 2305*192 + 6401*96 = 1,089,952
    # (the sheet's 1,147,264 took 128 filters for all three branches)
    """check("P1 yhat", yhat, 8);
check("P1 dL/dW1", W1.grad, {{32, 16}, {24, 12}, {-8, -4}});
check("P5 params, reduced module", s2.total.params, 346720);
naive = models.inception{input = 256, b1 = 128, b3 = 192, b5 = 96, b3_reduce = false, pool = false}
check("P5 params, naive module", summary(naive, {256, 32, 32}, {quiet = true}).total.params, 1089952);
check("P5 params, naive module, as the sheet says", summary(naive, {256, 32, 32}, {quiet = true}).total.params, 1147264)""",
    "graph(L)",
    "plot(function(t) return math.max(0, t) end, -2, 2)",
]


def repl_cells(cells):
    """Each cell's output from one REPL session (stdin a pipe)."""
    sep = '\nio.write("@@@cell@@@\\n");\n'
    r = subprocess.run([NN], input=sep.join(cells).encode(), capture_output=True, timeout=120)
    return r.stdout.decode().split("@@@cell@@@\n"), r.stderr.decode()


def text_of(outputs):
    s = ""
    for o in outputs:
        if o["output_type"] == "stream":
            s += o["text"]
        elif o["output_type"] in ("execute_result", "display_data"):
            s += o["data"]["text/plain"] + "\n"
        elif o["output_type"] == "error":
            s += o["evalue"] + "\n"
    return s


# ---- nbclient ---------------------------------------------------------------
nb = nbformat.v4.new_notebook()
nb.metadata["kernelspec"] = {"name": "nncalc", "display_name": "nncalc", "language": "lua"}
nb.cells = [nbformat.v4.new_markdown_cell("Homework 1 (seed), Problems 1 and 5, in nncalc")]
nb.cells += [nbformat.v4.new_code_cell(c) for c in CELLS]
try:
    NotebookClient(nb, timeout=120, kernel_name="nncalc", allow_errors=False).execute()
    check("nbclient executes the homework notebook", True)
except Exception as e:   # a failed cell: its error says which
    check("nbclient executes the homework notebook", False, e)
nbformat.write(nb, os.path.join(WORK, "homework.ipynb"))
want, err = repl_cells(CELLS)
check("the REPL runs the same cells without error", err == "" and len(want) == len(CELLS), err)
code = [c for c in nb.cells if c.cell_type == "code"]
for i, c in enumerate(code):
    got = text_of(c.get("outputs", []))
    check("cell %d's outputs are the REPL's (%s...)" % (i + 1, CELLS[i].split("\n")[0][:30]),
          i < len(want) and got == want[i], (got, want[i] if i < len(want) else None))
    check("cell %d is numbered %d" % (i + 1, i + 1), c.get("execution_count") == i + 1, c.get("execution_count"))
res = [o for o in code[0].outputs if o["output_type"] == "execute_result"]
check("yhat = 8", res and res[0]["data"]["text/plain"].split("\n")[0].strip() == "8", res)
trace = text_of(code[1].outputs)
check("the backward trace is a stream with every step", "backward from L = 4" in trace and "W1.grad = dL/dW1" in trace, trace)
checks = text_of(code[4].outputs)
check("the hand-computed checks pass", checks.count("✓") == 4, checks)
check("the sheet's wrong count is flagged", checks.count("✗") == 1 and "1147264" in checks.replace(",", ""), checks)
html = [o["data"].get("text/html", "") for o in code[3].outputs if o["output_type"] == "display_data"]
check("the summary is an HTML table too", html and "<table" in html[0] and "346,720" in html[0], html)
have_dot = subprocess.run("command -v dot", shell=True, capture_output=True).returncode == 0
svg = [o["data"].get("image/svg+xml") for o in code[5].outputs if o["output_type"] == "execute_result"]
check("graph(L) is SVG when Graphviz is installed", svg and (bool(svg[0]) == have_dot), svg)
svg = [o["data"].get("image/svg+xml", "") for o in code[6].outputs if o["output_type"] == "display_data"]
check("plot() is SVG", svg and svg[0].startswith("<svg") and "<polyline" in svg[0], svg)

# ---- jupyter console --------------------------------------------------------
lines = "x = tensor{1, 2}\nx:sum()\nerror('bad')\nx:sum() + 1\n?relu\n"
# output to a file, not a pipe: a kernel that outlived the console would
# hold a pipe open; a hang is reported with what was shown until then
with open(os.path.join(WORK, "console.out"), "w+b") as f:
    p = subprocess.Popen(["jupyter", "console", "--kernel", "nncalc", "--simple-prompt"], stdin=subprocess.PIPE,
                         stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        p.communicate(lines.encode(), timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        p.wait()
        check("jupyter console finishes", False, "timed out")
    f.seek(0)
    out = f.read().decode(errors="replace")
# x:sum() = 1 + 2 = 3; after the error x is still there: 3 + 1 = 4
check("jupyter console shows Out[2]: 3", re.search(r"Out\[2\]: 3\b", out), out)
check("jupyter console shows the error line", "stdin:1: bad" in out, out)
check("jupyter console keeps the state after the error (Out[4]: 4)", re.search(r"Out\[4\]: 4\b", out), out)
check("jupyter console: ?relu shows the help", "relu(x)" in out, out)
check("jupyter console shuts the kernel down", "Shutting down kernel" in out, out)

# ---- jupyter console at a terminal (tmux): multi-line entry, Tab -----------
def console_in_tmux():
    name = "nncalc-jupyter-%d" % os.getpid()   # a tmux server of our own

    def tmux(*args):
        return subprocess.run(["tmux", "-L", name] + list(args), capture_output=True, text=True)

    def screen():
        return tmux("capture-pane", "-p").stdout

    def wait_for(text, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            if text in screen():
                return True
            time.sleep(0.2)
        return False

    def typed(text):   # -l: literally ("end" is not the End key)
        time.sleep(0.7)   # console 6.4.4 trips over keys typed while it is busy
        tmux("send-keys", "-l", text)
    tmux("new-session", "-d", "-x", "120", "-y", "40",
         "env JUPYTER_PATH=%s LC_ALL=C.UTF-8 jupyter console --kernel nncalc" % os.environ["JUPYTER_PATH"])
    try:
        check("console at a terminal: the prompt comes", wait_for("In [1]:"), screen())
        time.sleep(2)
        typed("for i = 1, 2 do"); tmux("send-keys", "Enter")
        check("console: an unfinished 'for' asks for more (is_complete)", wait_for("   ...:", 20), screen())
        typed("print(i * 10)"); tmux("send-keys", "Enter")
        typed("end"); tmux("send-keys", "Enter")
        check("console: the block runs once complete (10, 20)", wait_for("10\n20", 20), screen())
        typed("x = tensor{1, 2}"); tmux("send-keys", "Enter")
        wait_for("In [3]:", 20)
        typed("x:su"); tmux("send-keys", "Tab")
        check("console: Tab offers x:sum", wait_for("x:sum", 20), screen())
        tmux("send-keys", "Escape"); tmux("send-keys", "C-u")
        typed("x:sum() * 7"); tmux("send-keys", "Enter")
        check("console: Out[3]: 21", wait_for("Out[3]: 21", 20), screen())
        tmux("send-keys", "C-d")
        asked = wait_for("exit ([y]/n)?", 20)
        if not asked:   # a busy machine can swallow the first key: ask again
            tmux("send-keys", "C-d")
            asked = wait_for("exit ([y]/n)?", 30)
        if asked:
            typed("y"); tmux("send-keys", "Enter")
        check("console: leaves and shuts the kernel down", wait_for("Shutting down kernel", 60), screen())
    finally:
        tmux("kill-server")


if shutil.which("tmux"):
    console_in_tmux()
else:
    print("jupyter-clients: tmux is not installed: the terminal part of the console test is skipped")

T.finish()
