"""jupyter_util.py — the tally the Jupyter kernel's test scripts share."""
import os, sys


class Tally:
    def __init__(self, name):
        self.name, self.passed, self.failed = name, 0, 0

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL %s: %s%s" % (self.name, what, ("\n    " + str(detail)) if detail else ""))

    def finish(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed))
        sys.stdout.flush()
        os._exit(1 if self.failed else 0)   # not sys.exit: the clients' __del__ at exit only makes noise
