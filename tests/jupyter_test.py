"""jupyter_test.py NNCALC WORKDIR — the Jupyter kernel driven by the real
client (Debian's jupyter_client): every message type, interrupts, errors,
restart, a forged signature, a client that disconnects.  Expected values
are the REPL's own output for the same code (run here through a pipe),
or computed by hand in the comments.  Prints "jupyter: N passed, N failed".
"""
import json, os, queue, subprocess, sys, time

import jupyter_client
import jupyter_client.utils   # run_sync: the control channel has no blocking getter
import zmq
from jupyter_client.session import Session

NN, WORK = sys.argv[1], sys.argv[2]
LOG = os.path.join(WORK, "kernel.log")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jupyter_util import Tally
T = Tally("jupyter")
check = T.check


def repl(code):
    """What the REPL prints for code (stdin is a pipe: no prompts)."""
    r = subprocess.run([NN], input=code.encode(), capture_output=True, timeout=60,
                       env=dict(os.environ, LC_ALL="C.UTF-8"))
    return r.stdout.decode(), r.stderr.decode()


def run(kc, code, timeout=60, **kw):
    """Executes code; returns the reply content and the iopub messages."""
    outs = []
    reply = kc.execute_interactive(code, output_hook=lambda m: outs.append(m), timeout=timeout, **kw)
    return reply["content"], outs


def of_type(outs, t):
    return [m["content"] for m in outs if m["msg_type"] == t]


def text_of(outs):
    """The outputs as a console shows them: streams, then each value's text."""
    s = ""
    for m in outs:
        c = m["content"]
        if m["msg_type"] == "stream":
            s += c["text"]
        elif m["msg_type"] in ("execute_result", "display_data"):
            s += c["data"]["text/plain"] + "\n"
    return s


def reply_to(kc, msg_id, timeout=20):
    """The shell reply to msg_id (other replies are skipped)."""
    while True:
        m = kc.get_shell_msg(timeout=timeout)
        if m["parent_header"].get("msg_id") == msg_id:
            return m["content"]


def shell(kc, send, timeout=20):
    return reply_to(kc, send(), timeout)


os.environ["JUPYTER_PATH"] = os.path.join(WORK, "share", "jupyter")
os.environ["LC_ALL"] = "C.UTF-8"
log = open(LOG, "w")
km = jupyter_client.KernelManager(kernel_name="nncalc")
km.start_kernel(stderr=log)
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=120)

try:
    # ---- kernel_info ----------------------------------------------------
    info = shell(kc, kc.kernel_info)
    check("kernel_info speaks protocol 5.3", info.get("protocol_version") == "5.3", info)
    check("kernel_info: the language is lua", info.get("language_info", {}).get("name") == "lua", info)

    # ---- execute: values, streams, counts --------------------------------
    cell = "x = tensor{2, 1}\nW1 = tensor{{1, 0}, {3, 4}, {1, 2}}\nW1 * x"
    r, outs = run(kc, cell)
    res = of_type(outs, "execute_result")
    # W1 x = (1*2+0*1, 3*2+4*1, 1*2+2*1) = (2, 10, 4)
    want, _ = repl("x = tensor{2, 1}\nW1 = tensor{{1, 0}, {3, 4}, {1, 2}}\nreturn W1 * x\n")
    check("execute: status ok and execution_count 1", r["status"] == "ok" and r["execution_count"] == 1, r)
    check("execute_result is the REPL's text", len(res) == 1 and res[0]["data"]["text/plain"] + "\n" == want,
          (res, want))
    check("execute_result value (2, 10, 4)", res and res[0]["data"]["text/plain"].split("\n")[0].split() == ["2", "10", "4"], res)
    check("a tensor also comes as an HTML table", res and "<td" in res[0]["data"].get("text/html", "")
          and ">10</td>" in res[0]["data"]["text/html"], res)
    check("execute_input carries the code", of_type(outs, "execute_input") and
          of_type(outs, "execute_input")[0]["code"] == cell, outs)
    r, outs = run(kc, "print('sum', x:sum(), 2.5)\nio.stderr:write('careful\\n')")
    st = of_type(outs, "stream")
    check("print goes to the stdout stream, numbers as the REPL writes them",
          any(s["name"] == "stdout" and s["text"] == "sum\t3\t2.5\n" for s in st), st)
    check("io.stderr goes to the stderr stream", any(s["name"] == "stderr" and s["text"] == "careful\n" for s in st), st)
    check("execution_count counts cells", r["execution_count"] == 2, r)
    r, outs = run(kc, "y = 41 + 1;")
    check("a statement shows nothing", not of_type(outs, "execute_result"), outs)
    r, outs = run(kc, "y;")
    check("a trailing ';' keeps quiet", not of_type(outs, "execute_result"), outs)
    r, outs = run(kc, "y, 'two'")
    res = of_type(outs, "execute_result")
    check("several values on one line, as the REPL shows them", res and res[0]["data"]["text/plain"] == "42\ttwo", res)
    r, outs = run(kc, "t = {}\nfor i = 1, 3 do\n  t[i] = i * i\nend\nt")
    res = of_type(outs, "execute_result")
    check("a block, then the expression on the last line", res and res[0]["data"]["text/plain"] == "{1, 4, 9}", res)
    r, outs = run(kc, "21 * 2")
    r, outs = run(kc, "_ + 1")
    res = of_type(outs, "execute_result")
    check("_ holds the last value shown (42 + 1)", res and res[0]["data"]["text/plain"] == "43", res)
    r, outs = run(kc, "print('first')\nlocal t = os.clock()\nwhile os.clock() - t < 0.5 do end\nprint('second')")
    st = [s["text"] for s in of_type(outs, "stream")]
    check("output shows while a cell still runs (two stream messages)", st == ["first\n", "second\n"], st)
    r, outs = run(kc, "?relu")
    want, _ = repl("?relu\n")
    check("?name in a cell is the REPL's help", text_of(outs) == want, (text_of(outs), want))
    r, outs = run(kc, "relu?")
    check("name? in a cell is the REPL's help too", text_of(outs) == want, (text_of(outs), want))
    c = shell(kc, lambda: kc.is_complete("relu?"))
    check("is_complete: a help request is complete", c["status"] == "complete", c)
    r, outs = run(kc, "print('quiet')", silent=True)
    check("silent: nothing on iopub", not of_type(outs, "stream") and not of_type(outs, "execute_input"), outs)

    # ---- errors keep the state -------------------------------------------
    r, outs = run(kc, "z = 7\nmm(tensor{{1, 2}, {3, 4}, {5, 6}}, tensor{1, 2, 3})")
    _, want = repl("mm(tensor{{1, 2}, {3, 4}, {5, 6}}, tensor{1, 2, 3})\n")
    err = of_type(outs, "error")
    check("an error replies status error", r["status"] == "error", r)
    # the REPL's message, at the line of the cell (2) where the REPL says its entry's line 1
    check("the error is the REPL's one-line message, at the cell's line", err and want.startswith("stdin:1: ")
          and err[0]["evalue"] == "stdin:2: " + want[len("stdin:1: "):].rstrip("\n") and want.count("\n") == 1,
          (err, want))
    r, outs = run(kc, "z + y")
    res = of_type(outs, "execute_result")
    check("state kept after an error (z + y = 49)", res and res[0]["data"]["text/plain"] == "49", res)
    r, outs = run(kc, "x = = 1")
    check("a syntax error is an error reply", r["status"] == "error" and "syntax error" in r["evalue"] or "unexpected" in r["evalue"], r)

    # ---- complete, inspect, is_complete ----------------------------------
    c = shell(kc, lambda: kc.complete("x:su", 4))
    check("complete x:su offers x:sum and x:sub, sorted", c["matches"][:2] == ["x:sub", "x:sum"] or
          (set(["x:sub", "x:sum"]) <= set(c["matches"]) and c["matches"] == sorted(c["matches"])), c)
    check("complete: cursor_start 0, cursor_end 4", c["cursor_start"] == 0 and c["cursor_end"] == 4, c)
    code = "s = 'héllo'; W1:t"   # cursor counts characters: é is one, not two bytes
    c = shell(kc, lambda: kc.complete(code, len(code)))
    check("complete counts the cursor in characters", "W1:t" in c["matches"] and c["cursor_start"] == len(code) - 4, c)
    c = shell(kc, lambda: kc.complete("soft", 4))
    check("complete a global: softmax", "softmax" in c["matches"], c)
    i = shell(kc, lambda: kc.inspect("y = relu(x)", 6))
    want, _ = repl("?relu\n")
    check("inspect is ?name's help", i["found"] and i["data"]["text/plain"] == want, (i, want))
    i = shell(kc, lambda: kc.inspect("no_such_name_here", 3))
    check("inspect of an unknown name: found false", i["found"] is False, i)
    for code, want in [("for i = 1, 3 do", "incomplete"), ("t = {1,\n2,", "incomplete"),
                       ("x = 1\nx", "complete"), ("x:sum()", "complete"), ("x = = 1", "invalid"),
                       ("?relu", "complete"), ("s = [[a\nb", "incomplete")]:
        c = shell(kc, lambda: kc.is_complete(code))
        check("is_complete %r is %s" % (code, want), c["status"] == want, c)

    # ---- rich output -----------------------------------------------------
    r, outs = run(kc, "plot(function(t) return t * t end, -2, 2)")
    d = of_type(outs, "display_data")
    want, _ = repl("plot(function(t) return t * t end, -2, 2)\n")
    check("plot: a display with SVG", d and d[0]["data"].get("image/svg+xml", "").startswith("<svg"), d)
    check("plot: its text/plain is the REPL's plot", d and d[0]["data"]["text/plain"] + "\n" == want, (d, want))
    r, outs = run(kc, "W = tensor{{1, 2}, {3, 4}}:requires_grad()\nL = (W * tensor{1, 1}):sum()\ngraph(L)")
    res = of_type(outs, "execute_result")
    have_dot = subprocess.run("command -v dot", shell=True, capture_output=True).returncode == 0
    check("graph(L): text/plain as the REPL", res and "sum" in res[0]["data"]["text/plain"], res)
    check("graph(L): SVG when Graphviz is installed (%s)" % have_dot,
          res and (("<svg" in res[0]["data"].get("image/svg+xml", "")) == have_dot), res)
    r, outs = run(kc, "summary(nn.Sequential{nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)}, {2})")
    d = of_type(outs, "display_data")
    want, _ = repl("summary(nn.Sequential{nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)}, {2})\n")
    check("summary: one display, its text as the REPL prints it", len(d) == 1 and d[0]["data"]["text/plain"] + "\n" == want
          and not of_type(outs, "execute_result"), (outs, want))
    # parameters: (2*3 + 3) + (3*1 + 1) = 13
    h = d[0]["data"].get("text/html", "") if d else ""
    check("summary: an HTML table with the total 13", "<table" in h and ">13</th>" in h, h[:400])

    # ---- input_request ---------------------------------------------------
    asked = []

    def answer(msg):
        asked.append(msg["content"])
        kc.input("7")
    r, outs = run(kc, "io.write('a number: ')\nv = io.read('n')\nv * 6", stdin_hook=answer, allow_stdin=True)
    res = of_type(outs, "execute_result")
    check("io.read asks the frontend (input_request)", len(asked) == 1, asked)
    check("input_request's prompt is the unfinished line", asked and asked[0]["prompt"] == "a number: ", asked)
    check("the answer reaches Lua (7 * 6 = 42)", res and res[0]["data"]["text/plain"] == "42", (r, res))
    asked.clear()
    r, outs = run(kc, "L = require('nncalc.lesson'); L.interactive = true\nok = ask('2 + 5 = ?', 7)\nL.interactive = false\nok",
                  stdin_hook=answer, allow_stdin=True)
    res = of_type(outs, "execute_result")
    check("ask() in a lesson takes the answer from the notebook", len(asked) == 1 and res and
          res[0]["data"]["text/plain"] == "true" and "right" in text_of(outs), (asked, outs))
    check("ask()'s prompt reaches the input box without colour codes", asked and "your answer" in asked[0]["prompt"]
          and "\x1b" not in asked[0]["prompt"] and "\x01" not in asked[0]["prompt"], asked)
    r, outs = run(kc, "io.read('l')", allow_stdin=False)
    res = of_type(outs, "execute_result")
    check("without allow_stdin io.read sees end of input", res and res[0]["data"]["text/plain"] == "nil", res)

    # ---- interrupt -------------------------------------------------------
    r, _ = run(kc, "A = rand(3000, 3000); keep = 5")
    msg_id = kc.execute("B = A * A\nB = A * A\nB = A * A\nB = A * A")
    time.sleep(1.0)
    t0 = time.time()
    km.interrupt_kernel()
    rep = reply_to(kc, msg_id, 60)
    check("interrupt stops a long matmul with 'interrupted'", rep["status"] == "error" and
          rep["evalue"].endswith("interrupted"), rep)
    check("the interrupt lands within 5 s", time.time() - t0 < 5, time.time() - t0)
    r, outs = run(kc, "keep + #A")
    res = of_type(outs, "execute_result")
    check("state kept after the interrupt (5 + 3000)", res and res[0]["data"]["text/plain"] == "3005", res)
    msg_id = kc.execute("while true do end")
    time.sleep(0.5)
    km.interrupt_kernel()
    rep = reply_to(kc, msg_id, 30)
    check("interrupt stops a Lua loop", rep["evalue"].endswith("interrupted"), rep)
    km.interrupt_kernel()   # while idle: ignored, the kernel lives on
    time.sleep(0.3)
    check("an interrupt while idle leaves the kernel alive", km.is_alive())

    # ---- a forged signature is rejected, never run -------------------------
    ctx = zmq.Context.instance()
    cinfo = km.get_connection_info()
    evil = Session(key=b"not-the-key", session="evil")
    sock = ctx.socket(zmq.DEALER)
    sock.connect("tcp://%s:%d" % (cinfo["ip"], cinfo["shell_port"]))
    time.sleep(0.3)
    evil.send(sock, "execute_request", content={"code": "forged_ran = true", "silent": False,
              "store_history": True, "user_expressions": {}, "allow_stdin": False})
    sock.send_multipart([b"<IDS|MSG>", b"sig"])   # malformed: too few frames
    got = sock.poll(1500)
    check("a forged message gets no reply", got == 0)
    r, outs = run(kc, "forged_ran")
    res = of_type(outs, "execute_result")
    check("a forged message is never executed", res and res[0]["data"]["text/plain"] == "nil", res)
    log.flush()
    text = open(LOG).read()
    check("a forged message is logged", "bad signature" in text, text[-500:])
    check("a malformed message is logged", "malformed" in text, text[-500:])
    sock.close(0)

    # ---- a client that disconnects ---------------------------------------
    # a client of its own session (km.client() would share kc's identity)
    other = jupyter_client.BlockingKernelClient(connection_file=km.connection_file)
    other.load_connection_file()
    other.start_channels()
    other.execute("for i = 1, 2000 do print(i) end\nlocal t = os.clock()\n"
                  "while os.clock() - t < 1 do end\ngone = 'yes'")
    time.sleep(0.3)
    other.stop_channels()
    time.sleep(1.5)
    r, outs = run(kc, "gone")
    res = of_type(outs, "execute_result")
    check("the kernel survives a client that left mid-request", km.is_alive() and res and
          res[0]["data"]["text/plain"] == "yes", res)

    # ---- restart ---------------------------------------------------------
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=120)
    r, outs = run(kc, "keep")
    res = of_type(outs, "execute_result")
    check("after a restart the state is fresh", res and res[0]["data"]["text/plain"] == "nil", res)
    check("after a restart execution_count starts again", r["execution_count"] == 1, r)

    # ---- shutdown: the reply, then the process ends by itself, status 0 ------
    proc = km.provisioner.process
    msg_id = kc.shutdown()   # on the control channel
    rep = {}
    while rep.get("parent") != msg_id:
        m = jupyter_client.utils.run_sync(kc._async_get_control_msg)(timeout=20)
        rep = dict(m["content"], parent=m["parent_header"].get("msg_id"))
    check("shutdown_reply ok, restart false", rep.get("status") == "ok" and rep.get("restart") is False, rep)
    try:
        rc = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        rc = "still running"
    check("the kernel exits by itself after shutdown_request, status 0", rc == 0, rc)
finally:
    kc.stop_channels()
    try:
        km.shutdown_kernel(now=True)
    except Exception:
        pass
    log.close()

text = open(LOG).read()
check("the kernel logged no sanitizer report", "Sanitizer" not in text and "runtime error" not in text, text[-3000:])
T.finish()
