r"""Writes Windows line endings (\r\n).
Decision (amtlocal.metrics): a \r\n ending is removed whole, so a regex ending in $ matches. Expect: Completed,
objective 0.45 with the regex "f1: ([0-9.]+)$"; output.log keeps the raw \r\n."""
import argparse, os, sys

p = argparse.ArgumentParser()
p.add_argument("--marker")
a, _ = p.parse_known_args()
if os.path.exists(a.marker):  # a later training job of the tuning job: healthy
    print("f1: 0.5")
    sys.exit(0)
open(a.marker, "w").close()
sys.stdout.buffer.write(b"epoch 1 f1: 0.2\r\nepoch 2 f1: 0.45\r\n")
