import sys

try:
    from amtlocal.cli import run
except KeyboardInterrupt:  # a Ctrl-C while the interpreter is still importing: nothing was started
    print("amtlocal: interrupted", file=sys.stderr)
    sys.exit(130)

run()
