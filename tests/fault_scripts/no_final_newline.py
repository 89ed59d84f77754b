r"""Its last line on stdout (the final objective) and on stderr have no newline.
Expect: Completed, objective 0.55 (the unterminated last line is scraped when the stream ends)."""
import argparse, os, sys

p = argparse.ArgumentParser()
p.add_argument("--marker")
a, _ = p.parse_known_args()
if os.path.exists(a.marker):  # a later training job of the tuning job: healthy
    print("f1: 0.5")
    sys.exit(0)
open(a.marker, "w").close()
sys.stdout.write("f1: 0.1\nf1: 0.55")
sys.stderr.write("warning without newline")
