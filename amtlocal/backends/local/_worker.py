"""``python -m amtlocal.backends.local._worker NAME [STOPS]``: runs a stored tuning job to its end (``fit(wait=False)``).
``python -m amtlocal.backends.local._worker --training-job NAME``: the same for a standalone training job.

STOPS: the job's stop-request count when the caller asked for the run; a stop request above it ends the run."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from amtlocal.backends.local._scheduler import LocalTuningJob
from amtlocal.spec import TuningSpec
from amtlocal.store import LocalStore


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    store = LocalStore()
    if argv and argv[0] == "--training-job":
        return _training_job(store, argv[1])
    record = store.tuning_job(argv[0])
    spec = TuningSpec(record.request, Path(record.base_dir or "."))
    # It holds the job's lock from its start: its caller handed it over (see lifecycle.start_in_background).
    desc = LocalTuningJob(spec, store).run(stops_seen=int(argv[1]) if len(argv) > 1 else None)
    logging.info("%s ended %s", argv[0], desc["HyperParameterTuningJobStatus"])
    return 0


def _training_job(store: LocalStore, name: str) -> int:
    from amtlocal.backends.local._process import deferred_sigint
    from amtlocal.backends.local._training import LocalTrainingJob

    # It holds the job's lock from its start: its caller handed it over (see LocalBackend.create_training_job).
    # SIGTERM or SIGHUP to this worker stops the job as a StopTrainingJob would, and it is recorded Stopped.
    with deferred_sigint() as interrupted, store.training_job_lock(name):
        try:
            LocalTrainingJob.stored(store, name).run(interrupted)
        except KeyboardInterrupt:
            logging.info("training job %s stopped (signal %d)", name, interrupted.signum)
            return 130
    logging.info("training job %s ended", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
