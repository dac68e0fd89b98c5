"""Run by IPython as a sandboxed grading kernel starts (``IPKernelApp.exec_files``): import the
grader package in a background thread.

Every exercise notebook imports ``grader`` in its first cells (0.2 s of dataclasses, schemas and
the simulated cluster), and a kernel that has just started sits idle for at least 0.2 s while
jupyter_client drains its IOPub channel (``_async_wait_for_ready`` in jupyter_client/client.py
reads until nothing arrives for 0.2 s) before nbclient sends the first cell. The import runs in that
idle time; the notebook's own ``import grader`` then finds the module ready, or waits on the import
lock for the rest. The kernel is untrusted either way: nothing it imports decides a score.

Executed in the notebook's namespace, so it leaves no names behind, and a failed import is
silent here (the notebook's own ``import grader`` reports it, in its cell). This file is alone in
its folder because IPython puts a startup file's folder on ``sys.path`` while it runs, and the
thread starts importing then.
"""

import threading as _netlab_threading


def _netlab_preload() -> None:
    try:
        import grader  # noqa: F401
    except BaseException:  # noqa: BLE001 - reported by the notebook's own import
        pass


_netlab_threading.Thread(target=_netlab_preload, name="netlab-preload", daemon=True).start()
del _netlab_threading, _netlab_preload
