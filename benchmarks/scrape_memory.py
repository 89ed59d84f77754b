"""Peak memory growth of the tuner while a training job writes a huge log (issue #7: target under 64 MB for 200 MB).

    .venv/bin/python benchmarks/scrape_memory.py [--mb 200] [--line-bytes 100] [--long-line-mib 20]

A tuning job of one training job runs in this process with the local backend; its script writes ``--mb`` MB of
``--line-bytes`` log lines to stdout (a metric line every 1000 lines, some progress-bar lines redrawn with carriage
returns, a little on stderr) and, with ``--long-line-mib``, one line of that many MiB without a newline until its
end. A thread samples this process's resident set size (/proc/self/statm) every 5 ms. A warm-up tuning job with a
tiny log runs first, so that imports, the store and Optuna's first allocations are not counted as scraping.

Prints the log volume, the time and throughput, and the RSS before, at peak and the growth; exits 1 when the growth
is over ``--target-mb`` (default 64).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCRIPT = r"""
import argparse, sys
p = argparse.ArgumentParser(); p.add_argument("--mb", type=float); p.add_argument("--line-bytes", type=int)
p.add_argument("--long-line-mib", type=int); p.add_argument("-x", type=int); a = p.parse_args()
out = sys.stdout.buffer
line = b"INFO step " + b"." * max(0, a.line_bytes - 11) + b"\n"
block = line * 1000
total = int(a.mb * 1000 * 1000)
written, i = 0, 0
while written < total:
    out.write(block)
    out.write(b"epoch %d loss: %.5f f1: %.5f\n" % (i, 1.0 / (i + 1), i / (i + 1)))
    if i % 50 == 0:
        out.write(b"".join(b"\r%3d%%|%-20s| loss=%.3f" % (k * 5, b"#" * k, 1.0 / (k + 1)) for k in range(21)) + b"\n")
        sys.stderr.buffer.write(b"WARNING something at step %d\n" % i)
    written += len(block)
    i += 1
if a.long_line_mib:
    piece = b"x" * (1 << 20)
    for _ in range(a.long_line_mib):
        out.write(piece)
    out.write(b"\n")
out.write(b"f1: 0.99\n")
out.flush()
"""

PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1000 * 1000


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class Sampler:
    def __init__(self, every: float = 0.005):
        self.every, self.peak, self.samples = every, rss(), 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, rss())
            self.samples += 1

    def __enter__(self) -> Sampler:
        self.base = rss()
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, rss())


def request(name: str, mb: float, line_bytes: int, long_line_mib: int) -> dict:
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "RandomSeed": 1,
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "f1"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 1, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "x", "MinValue": "1", "MaxValue": "9", "ScalingType": "Linear"}]
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {
                "sagemaker_program": '"train.py"',
                "sagemaker_submit_directory": '"file://code"',
                "mb": json.dumps(mb),
                "line-bytes": str(line_bytes),
                "long-line-mib": str(long_line_mib),
            },
            "AlgorithmSpecification": {
                "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                "TrainingInputMode": "File",
                "MetricDefinitions": [
                    {"Name": "f1", "Regex": r"f1: ([0-9.]+)"},
                    {"Name": "loss", "Regex": r"loss[:=] ?([0-9.]+)"},
                ],
            },
            "RoleArn": "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole",
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": "file://data",
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                }
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://example-bucket/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=200, help="log volume in MB (10^6 bytes), default 200")
    ap.add_argument("--line-bytes", type=int, default=100, help="length of an ordinary log line, default 100")
    ap.add_argument("--long-line-mib", type=int, default=0, help="add one line of this many MiB, default none")
    ap.add_argument(
        "--target-mb", type=float, default=64, help="pass when the RSS growth stays under this many MB (default 64)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) for inspection")
    args = ap.parse_args(argv)

    os.environ["AMTLOCAL_LAUNCHER"] = "process"  # one spawned child per job: what is measured is the tuner alone
    work = Path(tempfile.mkdtemp(prefix="amtlocal-scrape-"))
    (work / "code").mkdir()
    (work / "data").mkdir()
    (work / "data" / "train.csv").write_text("1,2\n")
    (work / "code" / "train.py").write_text(SCRIPT)
    from amtlocal.backends.local import LocalStore, LocalTuningJob
    from amtlocal.spec import TuningSpec

    store = LocalStore(work / "home")
    try:
        LocalTuningJob(TuningSpec(request("warmup", 0.01, args.line_bytes, 0), work), store, stop_grace=5).run()
        maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        t0 = time.perf_counter()
        with Sampler() as s:
            desc = LocalTuningJob(
                TuningSpec(request("big", args.mb, args.line_bytes, args.long_line_mib), work), store, stop_grace=5
            ).run()
        elapsed = time.perf_counter() - t0
        maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        best = desc.get("BestTrainingJob") or {}
        job_dir = work / "home" / "jobs" / "big" / best.get("TrainingJobName", "?")
        log_bytes = (job_dir / "logs" / "output.log").stat().st_size
        with open(job_dir / "logs" / "metrics.jsonl", "rb") as f:
            points = sum(1 for _ in f)
        growth = s.peak - s.base
        print(
            f"log written and scraped: {log_bytes / 1e6:.1f} MB ({args.line_bytes}-byte lines"
            + (f", plus one {args.long_line_mib} MiB line" if args.long_line_mib else "")
            + f"), {points} metric points"
        )
        print(
            f"status: {desc['HyperParameterTuningJobStatus']}, objective f1 = "
            f"{best.get('FinalHyperParameterTuningJobObjectiveMetric', {}).get('Value')}"
        )
        print(f"time: {elapsed:.1f} s for the tuning job ({log_bytes / 1e6 / elapsed:.0f} MB/s end to end)")
        print(
            f"tuner RSS: {s.base / MB:.1f} MB before, {s.peak / MB:.1f} MB at peak ({s.samples} samples) "
            f"-> peak growth {growth / MB:.1f} MB (target < {args.target_mb:g} MB)"
        )
        print(f"ru_maxrss (process high-water mark): {maxrss_before / MB:.1f} -> {maxrss_after / MB:.1f} MB")
        ok = growth < args.target_mb * MB and desc["HyperParameterTuningJobStatus"] == "Completed"
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
