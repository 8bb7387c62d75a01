"""Loads many .tflite files in the official LiteRT runtime, each in a forked child so a crash is
contained, and reports per file: ok | error (LiteRT refused it) | crash:<signal> | timeout.

usage: litert_load_many.py <dir>   (prints JSON {file: outcome})
"""

import json
import os
import signal
import sys
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def child(path):
    try:
        it = Interpreter(model_path=path, num_threads=1)
        it.allocate_tensors()
        for d in it.get_input_details():
            it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
        it.invoke()
        os._exit(0)
    except BaseException:
        os._exit(3)


def main():
    d = sys.argv[1]
    out = {}
    for name in sorted(os.listdir(d)):
        if not name.endswith(".tflite"):
            continue
        pid = os.fork()
        if pid == 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            child(os.path.join(d, name))
        t0 = time.time()
        while True:
            r, status = os.waitpid(pid, os.WNOHANG)
            if r:
                break
            if time.time() - t0 > 20:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status = None
                break
            time.sleep(0.002)
        if status is None:
            out[name] = "timeout"
        elif os.WIFSIGNALED(status):
            out[name] = f"crash:{os.WTERMSIG(status)}"
        else:
            out[name] = "ok" if os.WEXITSTATUS(status) == 0 else "error"
    json.dump(out, sys.stdout)


main()
