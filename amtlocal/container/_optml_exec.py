"""``python -I -S _optml_exec.py JOB_DIR -- ARGV...``: enter the job's /opt/ml namespace, then exec ARGV.

The new-process launcher's form of :func:`_optml.enter_job_namespace`: the wrapper *becomes* the training job
(``execvp``, same pid, same process group and session, same signal dispositions as the launcher set them, same
environment and working folder), so stopping, waiting and signalling work exactly as without it. Run as a plain
script with ``-I -S`` (about 10 ms): it imports only the standard library and ``_optml.py`` from its own folder.

``_optml_exec.py --probe`` checks whether namespaces work for this user here: it enters one over a temporary folder
and checks that ``/opt/ml`` shows that folder; exit status 0, else 1 with the refusal on stderr.

If entering the namespace fails, the wrapper writes ``amtlocal: cannot show the job folder at /opt/ml: <why>`` to
stderr and exits with status 126 (as a shell does for a command it cannot execute), without running ARGV.
"""

from __future__ import annotations

import os
import sys

EXIT_CANNOT_ENTER = 126


def _load():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import _optml
    finally:
        del sys.path[0]
    return _optml


def _probe(optml) -> int:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="amtlocal-optml-probe-") as tmp:
        marker = os.path.join(tmp, "probe")
        with open(marker, "w") as f:
            f.write("amtlocal")
        pid = os.fork()
        if pid == 0:  # the namespace is entered in a child: the probe's own cleanup runs outside it
            try:
                optml.enter_job_namespace(tmp)
                with open(optml.OPT_ML + "/probe") as f:
                    ok = f.read() == "amtlocal"
                if not ok:
                    os.write(2, b"/opt/ml does not show the job folder\n")
                os._exit(0 if ok else 1)
            except BaseException as e:  # noqa: BLE001 - reported to the caller as text
                os.write(2, f"{getattr(e, 'strerror', None) or e}\n".encode())
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)


def main(argv: list[str]) -> int:
    optml = _load()
    if argv[:1] == ["--probe"]:
        return _probe(optml)
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write("usage: _optml_exec.py JOB_DIR -- ARGV...\n")
        return 2
    try:
        optml.enter_job_namespace(argv[0])
    except OSError as e:
        sys.stderr.write(f"amtlocal: cannot show the job folder at /opt/ml: {e.strerror or e}\n")
        return EXIT_CANNOT_ENTER
    sys.stdout.flush()
    os.execvp(argv[2], argv[2:])
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
