"""What a script sees of its interpreter: run by python3 and inside pyhost, the two reports
are compared key by key (tests/fidelity.rs). Prints one line: PROBE <json>."""

import codecs
import json
import locale
import os
import pickle
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time


def square(x):
    return x * x


def sigint_outcome():
    """What SIGINT does to Python code, seen from a forked child."""
    pid = os.fork()
    if pid == 0:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
            os._exit(0)
        except KeyboardInterrupt:
            os._exit(42)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "killed by signal %d" % os.WTERMSIG(status)
    code = os.WEXITSTATUS(status)
    return {0: "no effect", 42: "KeyboardInterrupt"}.get(code, "exit %d" % code)


def multiprocessing_results():
    import multiprocessing

    out = {}
    for method in ("fork", "spawn"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            out[method] = pool.map(square, range(5))
    return out


def utf8_roundtrip(tmp):
    name = os.path.join(tmp, "caf\u00e9.txt")
    with open(name, "w") as f:
        f.write("caf\u00e9")
    with open(name) as f:
        text = f.read()
    echoed = subprocess.run(
        [sys.executable, "-c", "print('caf\\u00e9')"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ).stdout.strip()
    return [text, echoed, os.listdir(tmp)]


def venv_from_inside(tmp):
    import venv

    d = os.path.join(tmp, "venv")
    venv.create(d, with_pip=False, symlinks=True)
    out = subprocess.run(
        [os.path.join(d, "bin", "python"), "-c",
         "import sys, json; print(json.dumps([sys.version, sys.base_prefix]))"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return json.loads(out.stdout) if out.returncode == 0 else out.stderr


if __name__ == "__main__":
    tmp = tempfile.mkdtemp()
    main = sys.modules["__main__"]
    report = {
        "argv": sys.argv,
        # Codec names, so that "UTF-8" (a locale's) and "utf-8" (UTF-8 mode's) compare equal.
        "filesystem encoding": codecs.lookup(sys.getfilesystemencoding()).name,
        "stdout encoding": codecs.lookup(sys.stdout.encoding).name,
        "preferred encoding": codecs.lookup(locale.getpreferredencoding(False)).name,
        "UTF-8 file name, open(), subprocess text=True": utf8_roundtrip(tmp),
        "executable": os.path.realpath(sys.executable),
        "_base_executable": os.path.realpath(getattr(sys, "_base_executable", sys.executable)),
        "prefix": [sys.prefix, sys.exec_prefix],
        "base_prefix": [sys.base_prefix, sys.base_exec_prefix],
        "site.getsitepackages()": site.getsitepackages(),
        "sys.path": sys.path,
        "__main__.__file__": main.__file__,
        "script runs in sys.modules['__main__']": main.__dict__ is globals(),
        "pickle a function of __main__": pickle.loads(pickle.dumps(square))(7),
        "stdout buffering (line_buffering, write_through)": [
            sys.stdout.line_buffering, sys.stdout.write_through],
        "SIGINT in Python code": sigint_outcome(),
        "multiprocessing fork, spawn": multiprocessing_results(),
        "venv created from inside runs": venv_from_inside(tmp),
    }
    shutil.rmtree(tmp)
    print("PROBE " + json.dumps(report, sort_keys=True), flush=True)
