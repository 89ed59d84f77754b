"""``amtlocal serve``: the SageMaker API on localhost (see :mod:`amtlocal.server`).

Prints the variables to export, one ``export NAME=value`` line each, then serves until Ctrl-C or SIGTERM; on either
it stops the jobs it started that still run (recorded Stopped) and exits 0; the next ``amtlocal serve`` over the same
store resumes the tuning jobs it stopped so.
"""

from __future__ import annotations

import logging
import shlex
import signal
import sys
import threading


def register(sub) -> None:
    s = sub.add_parser(
        "serve",
        help="serve the SageMaker API on localhost (tuning and training jobs run here; S3, STS, IAM... by moto)",
        description="Serve the SageMaker API (JSON 1.1) for boto3, the SageMaker Python SDK and the AWS CLI: "
        "tuning and training jobs run on the local backend and store; every other request goes to moto.",
    )
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others are refused)")
    s.add_argument("--port", type=int, default=4566, help="TCP port (default 4566; 0 picks a free one)")
    s.add_argument("--quiet", action="store_true", help="do not log each request")
    s.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    try:
        from amtlocal.server import Server
    except ImportError as e:  # moto[server] (moto, werkzeug, flask) is an extra
        print(f"amtlocal: error: {e}; install it with: pip install 'amtlocal[server]'", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("amtlocal.server").setLevel(logging.WARNING if args.quiet else logging.INFO)
    server = Server(host=args.host, port=args.port, home=args.home, storage_url=args.storage)
    try:
        server.start(export=True)  # this process's workers reach the same endpoint (s3:// inputs, outputs)
    except OSError as e:
        print(f"amtlocal: error: cannot serve on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 1
    print(f"# amtlocal serves the SageMaker API at {server.url} (store {server.home}); Ctrl-C stops it")
    print(f"# default execution role {server.role_arn}, default bucket s3://{server.bucket}")
    for name in server.resumed:
        print(f"# resumed tuning job {name} (stopped when the last server stopped)")
    for name, value in server.environment.items():
        print(f"export {name}={shlex.quote(value)}")
    sys.stdout.flush()
    done = threading.Event()
    # SIGINT explicitly too: a server started with `&` from a script inherits an ignored SIGINT
    previous = {sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("# stopping: ending the jobs this server started that still run", file=sys.stderr)
    stopped = server.shutdown()
    for name, status in stopped.items():
        print(f"# {name}: {status}", file=sys.stderr)
    return 0
