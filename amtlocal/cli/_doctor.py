"""``amtlocal doctor [--repair]``: report (and repair) a home's store: damaged journal lines, a cut tail, tuning jobs
left InProgress with no tuner."""

from __future__ import annotations

import argparse


def cmd_doctor(args: argparse.Namespace) -> int:
    """Print what is wrong with the store; with ``--repair`` fix it. Exit 0 when healthy (or repaired), else 1."""
    from amtlocal import lifecycle
    from amtlocal.store import LocalStore, check_journal, damaged_file, repair_journal

    store = LocalStore(args.home, args.storage, read_only=not args.repair)
    problems = 0
    checks = [check_journal(path) for path in store.journal_paths()]
    damaged = [check for check in checks if not check.healthy]
    if checks:
        print(f"{len(checks)} journal(s), {sum(c.records for c in checks)} records")
    for check in damaged:
        print(f"{check.path}: {check.records} records")
        for number, offset, length in check.damaged:
            print(f"  line {number} (byte {offset}, {length} bytes) is damaged: skipped when read")
        if check.cut_tail:
            print(f"  the last line is cut short ({check.cut_tail} bytes, a write that never completed)")
        problems += len(check.damaged) + bool(check.cut_tail)
    unindexed = store.sharded.unindexed() if store.sharded is not None else []
    for path in unindexed:
        print(f"  {path} is not in the index (its job is not listed); repair re-indexes it")
    problems += len(unindexed)
    orphans = []
    for name in store.names():
        status = store.tuning_job(name).status
        if status in ("InProgress", "Stopping") and not store.shared and not store.job_lock(name).held_elsewhere():
            orphans.append(name)
            print(f"  tuning job {name} is {status} but no tuner runs it")
    problems += len(orphans)
    if not problems:
        print("healthy")
        return 0
    if not args.repair:
        print("repair with: amtlocal doctor --repair (damaged bytes are kept, never deleted)")
        return 1
    busy = [n for n in store.names() if not store.shared and store.job_lock(n).held_elsewhere()]
    if busy:
        print(f"not repaired: a tuner runs {', '.join(busy)}; stop it (amtlocal stop NAME) first")
        return 1
    for check in damaged:
        repair_journal(check.path)
        print(f"repaired {check.path}; the damaged bytes are in {damaged_file(check.path)}")
    if store.sharded is not None:
        store.rebuild_index()
        print(f"rebuilt the index {store.sharded.index.path} from the journals")
    for name in orphans:
        lifecycle.stop_tuning_job(store, name)  # ends what its dead tuner left running, records it; resumable
        print(f"tuning job {name}: {store.tuning_job(name).status} (resume it by running it again)")
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``doctor`` subcommand (``func=cmd_doctor``) to amtlocal's argparse subparsers; returns it."""
    d = subparsers.add_parser(
        "doctor", help="check the local store (damaged journal lines, jobs with no tuner); --repair fixes it"
    )
    d.add_argument(
        "--repair",
        action="store_true",
        help="move damaged lines and a cut tail to <journal>.damaged; re-index the journals; stop jobs whose tuner is gone",
    )
    d.set_defaults(func=cmd_doctor)
    return d
