"""The ``amtlocal`` command: exit codes, one-line spec errors, AWS-CLI-shaped JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from amtlocal.testing import make_request, use_script

GOOD = "import argparse\np = argparse.ArgumentParser(); p.add_argument('-x', type=int); a = p.parse_args()\nprint('f1: %d' % a.x)\n"


def amtlocal(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "amtlocal", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def _spec(workdir, name="cli", **kw):
    path = workdir / f"{name}.json"
    path.write_text(json.dumps(make_request(name, integer=[("x", 1, 9, "Auto")], **kw)))
    return path


@pytest.mark.slow
def test_tune_describe_jobs_list(workdir):
    use_script(workdir, GOOD)
    r = amtlocal("tune", str(_spec(workdir, max_jobs=3)))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("cli: Completed; best training job cli-")
    assert "3/3 training jobs done" in r.stderr  # progress
    d = json.loads(amtlocal("describe", "cli").stdout)
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["TrainingJobStatusCounters"]["Completed"] == 3
    assert d["CreationTime"].endswith("+00:00")  # ISO 8601, as the AWS CLI prints
    listed = json.loads(
        amtlocal("jobs", "cli", "--json", "--sort-by", "FinalObjectiveMetricValue", "--sort-order", "Descending").stdout
    )
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in listed["TrainingJobSummaries"]]
    assert len(values) == 3 and values == sorted(values, reverse=True)
    assert values[0] == d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    table = amtlocal("jobs", "cli").stdout.splitlines()
    assert table[0].split()[:3] == ["TRAINING", "JOB", "STATUS"] and len(table) == 4
    assert "cli" in amtlocal("list").stdout
    # the same spec again: nothing left to do, same answer
    again = amtlocal("tune", str(_spec(workdir, max_jobs=3)))
    assert (
        again.returncode == 0
        and json.loads(amtlocal("describe", "cli").stdout)["TrainingJobStatusCounters"]["Completed"] == 3
    )


def test_spec_error_is_one_line_exit_2_before_any_job(workdir, tmp_path):
    use_script(workdir, GOOD)
    spec = _spec(workdir, name="bad", objective="auc")
    r = amtlocal("tune", str(spec))
    assert r.returncode == 2
    assert (
        r.stderr.count("\n") == 1
        and "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName" in r.stderr
    )
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "home" / "jobs" / "bad").exists()


def test_failed_tuning_job_exits_1(workdir):
    use_script(workdir, "import sys; sys.exit(1)\n")
    r = amtlocal("tune", str(_spec(workdir, name="failing", max_jobs=1)))
    assert r.returncode == 1
    assert "Failed" in r.stdout and "No training job succeeded" in r.stdout
    assert "first failure, failing-001-" in r.stdout and "ExitCode 1" in r.stdout
    table = amtlocal("jobs", "failing", "--failures").stdout
    assert "FAILURE REASON" in table and "AlgorithmError: ExitCode 1: (nothing on stderr)" in table


def test_failures_table_shows_the_error_line_not_the_traceback_start(workdir):
    use_script(
        workdir,
        "import argparse\np = argparse.ArgumentParser(); p.add_argument('-x', type=int); a = p.parse_args()\n"
        "raise ValueError('x too small: %d' % a.x)\n",
    )
    assert amtlocal("tune", str(_spec(workdir, name="raising", max_jobs=2))).returncode == 1
    rows = [
        line for line in amtlocal("jobs", "raising", "--failures").stdout.splitlines() if line.startswith("raising-")
    ]
    assert len(rows) == 2
    for row in rows:
        assert row.endswith("AlgorithmError: ExitCode 1: ValueError: x too small: " + row.split()[3]), row


def test_same_name_other_spec_is_a_spec_error(workdir):
    use_script(workdir, GOOD)
    assert amtlocal("tune", str(_spec(workdir, name="taken", max_jobs=1))).returncode == 0
    other = workdir / "other.json"
    other.write_text(json.dumps(make_request("taken", max_jobs=2, integer=[("x", 1, 9, "Auto")])))
    r = amtlocal("tune", str(other))
    assert r.returncode == 2 and "already exists with a different request" in r.stderr


def test_global_options_after_the_command(workdir, tmp_path):
    use_script(workdir, GOOD)
    home = tmp_path / "elsewhere"
    assert amtlocal("tune", str(_spec(workdir, name="placed", max_jobs=1)), "--home", str(home)).returncode == 0
    assert (home / "jobs" / "placed").is_dir()
    assert (
        json.loads(amtlocal("describe", "placed", "--home", str(home)).stdout)["HyperParameterTuningJobName"]
        == "placed"
    )
    assert amtlocal("describe", "placed").returncode == 1  # not in the default home


def test_unknown_job_exits_1_with_one_line():
    r = amtlocal("describe", "no-such-job")
    assert r.returncode == 1 and "not found" in r.stderr and "Traceback" not in r.stderr


def test_validate_with_sample_log(workdir):
    spec = _spec(workdir, metrics=({"Name": "f1", "Regex": r"f1: (\S+)"}, {"Name": "auc", "Regex": r"auc=([0-9.]+)"}))
    log = workdir / "sample.log"
    log.write_text("epoch 1 f1: 0.5\nepoch 2 f1: 0.75\nf1: n/a\n")
    r = amtlocal("validate", str(spec), "--log", str(log))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "f1: 2 value(s), last 0.75" in out and "also captured 'n/a', not a number" in out
    assert "auc: matched nothing" in out


def test_a_spec_refused_at_start_leaves_no_folder(workdir, tmp_path):
    """Missing local data is found when tune starts (after validate): the error names the field, and nothing is left
    in the home (no job folder, no lock file)."""
    use_script(workdir, GOOD)
    req = make_request("nodata", integer=[("x", 1, 9, "Auto")])
    req["TrainingJobDefinition"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = "file://no-such-data"
    (workdir / "nodata.json").write_text(json.dumps(req))
    r = amtlocal("tune", str(workdir / "nodata.json"))
    assert r.returncode == 2 and "InputDataConfig" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "home" / "jobs" / "nodata").exists()


def test_validate_with_a_missing_log_names_the_option(workdir):
    spec = _spec(workdir)
    r = amtlocal("validate", str(spec), "--log", str(workdir / "no-such.log"))
    assert r.returncode == 2
    assert (
        r.stderr.strip()
        == f"amtlocal: error: --log: no readable file {str(workdir / 'no-such.log')!r} (a training job's log to scrape)"
    )
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_stop_marks_an_idle_job_stopped(workdir, store):
    req = make_request("idle", integer=[("x", 1, 9, "Auto")])
    store.create(req, workdir)
    r = amtlocal("stop", "idle")
    assert r.returncode == 0
    assert r.stdout.strip() == "idle: Stopped"
    assert json.loads(amtlocal("describe", "idle").stdout)["HyperParameterTuningJobStatus"] == "Stopped"
    # Stopping it again (AMT refuses a stop of an ended job) says so and changes nothing.
    again = amtlocal("stop", "idle")
    assert (again.returncode, again.stdout.strip()) == (0, "idle: already Stopped; nothing to stop")


def test_help_is_fast_and_lists_commands():
    r = amtlocal("--help")
    assert r.returncode == 0
    for cmd in ("tune", "validate", "list", "describe", "jobs", "stop"):
        assert cmd in r.stdout


@pytest.mark.slow
def test_tune_no_wait_on_a_job_running_elsewhere_is_refused_and_stop_says_what_happens(workdir):
    import time

    use_script(workdir, "import time\ntime.sleep(60)\nprint('f1: 1')\n")
    spec = _spec(workdir, name="busy", max_jobs=1)
    first = amtlocal("tune", str(spec), "--no-wait")
    assert (first.returncode, first.stdout.strip()) == (0, "busy"), first.stderr
    deadline = time.time() + 60
    while json.loads(amtlocal("describe", "busy").stdout)["TrainingJobStatusCounters"]["InProgress"] != 1:
        assert time.time() < deadline, "the background worker never started its training job"
        time.sleep(0.2)
    second = amtlocal("tune", str(spec), "--no-wait")
    assert second.returncode == 1 and second.stdout == ""
    assert second.stderr.strip() == (
        "amtlocal: error: tuning job 'busy' is already running in another tuner process; "
        "follow it with `amtlocal describe busy`, or stop it with `amtlocal stop busy`"
    )
    stop = amtlocal("stop", "busy")
    # the tuner took the request (Stopping), or already stopped its job (it dies at once on SIGTERM)
    assert stop.returncode == 0 and stop.stdout.strip() in (
        "busy: Stopping; its running training jobs are being stopped",
        "busy: Stopped",
    )
    while json.loads(amtlocal("describe", "busy").stdout)["HyperParameterTuningJobStatus"] != "Stopped":
        assert time.time() < deadline, "the stop was not honoured"
        time.sleep(0.2)


def test_ctrl_c_before_the_tuning_job_exists_says_nothing_ran(workdir, tmp_path, monkeypatch, capsys):
    """A Ctrl-C that lands while the tuner is still starting (before the job is in the store) must not claim a
    Stopped, resumable job."""
    from amtlocal import cli
    from amtlocal.backends.local._backend import LocalBackend

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(LocalBackend, "create_tuning_job", interrupted)
    assert cli.main(["--home", str(tmp_path / "home"), "tune", str(_spec(workdir, name="early"))]) == 130
    assert capsys.readouterr().err.strip() == "amtlocal: interrupted before tuning job early was created; nothing ran"


def test_validate_names_the_format_it_parsed(workdir):
    script = workdir / "train.py"
    script.write_text("print('f1: 1')\n")
    r = amtlocal("validate", str(script))
    assert r.returncode == 2
    assert r.stderr.startswith(
        f"amtlocal: error: spec file {str(script)!r} is not valid JSON (a spec is a .json, .yaml "
        "or .yml file; others are read as JSON): Expecting value"
    )
    bad = workdir / "bad.json"
    bad.write_text("{")
    r = amtlocal("validate", str(bad))
    assert r.returncode == 2 and r.stderr.startswith(f"amtlocal: error: spec file {str(bad)!r} is not valid JSON: ")


def test_jobs_sorted_by_objective_says_how_many_are_left_out(workdir):
    count = workdir / "count"
    use_script(
        workdir, f"p = {str(count)!r}\nopen(p, 'a').write('x')\nif len(open(p).read()) % 2 == 0: print('f1: 0.5')\n"
    )  # every other job prints no metric
    assert amtlocal("tune", str(_spec(workdir, name="half", max_jobs=4))).returncode == 0
    table = amtlocal("jobs", "half", "--sort-by", "FinalObjectiveMetricValue").stdout.splitlines()
    assert len(table) == 1 + 2 + 1
    assert table[-1] == (
        "(2 training job(s) without an objective value not listed: AMT leaves them out when sorting "
        "by FinalObjectiveMetricValue)"
    )
    assert len(amtlocal("jobs", "half").stdout.splitlines()) == 1 + 4  # by name: all of them, no note


def _processes_with_environment(marker: str) -> list[int]:
    """Pids of this user's processes whose environment holds ``marker`` (a fork server gets the job's Environment)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_spec_error_found_after_the_fork_server_started_leaves_no_fork_server(workdir, tmp_path):
    """tune starts the entry point's fork server before validating the spec (its imports overlap validation); a spec
    error then stops it: exit 2, one line, and no process of that fork server left (its imports take longer than
    the CLI's refusal: one left running would still be found)."""
    use_script(workdir, "import pandas\n" + GOOD)
    req = make_request("badobj", integer=[("x", 1, 9, "Auto")], objective="auc")
    marker = f"AMTLOCAL_TEST_MARK={tmp_path}"
    req["TrainingJobDefinition"]["Environment"] = {"AMTLOCAL_TEST_MARK": str(tmp_path)}
    (workdir / "badobj.json").write_text(json.dumps(req))
    # Output to a file, not a pipe: a fork server left behind would hold a pipe open (it inherits the CLI's stderr),
    # and reading to end-of-file would wait for it to end.
    with open(tmp_path / "err.txt", "w") as err:
        r = subprocess.run(
            [sys.executable, "-m", "amtlocal", "tune", str(workdir / "badobj.json")], stderr=err, timeout=120
        )
    found = _processes_with_environment(marker)
    text = (tmp_path / "err.txt").read_text()
    assert r.returncode == 2 and text.count("\n") == 1 and "MetricName" in text
    assert found == []


_EXIT_SCRIPT = """
import atexit, sys, threading, time
import amtlocal.cli as cli


class Finalized:
    def __del__(self):  # runs only in the interpreter's teardown of __main__
        sys.stderr.write("torn down\\n")


keep = Finalized()


def late():
    time.sleep(0.2)
    open(sys.argv[1] + "/thread", "w").write("done")


threading.Thread(target=late).start()  # not a daemon: the exit waits for it
atexit.register(lambda: open(sys.argv[1] + "/atexit", "w").write("ran"))
cli.main = lambda argv=None: (print("buffered output"), int(sys.argv[3]))[1]  # stdout to a pipe: block-buffered
sys.exit(cli.main()) if sys.argv[2] == "main" else cli.run()
"""


@pytest.mark.parametrize("code", [0, 3])
def test_the_command_ends_as_an_interpreter_exit_does_without_tearing_down_modules(tmp_path, code):
    """``run()`` (the console script, ``python -m amtlocal``) keeps every visible part of an exit (main's code,
    buffered stdout, non-daemon threads, atexit callbacks) and skips only the teardown, which ``sys.exit`` pays."""
    outcomes = {}
    for entry in ("main", "run"):
        folder = tmp_path / entry
        folder.mkdir()
        p = subprocess.run(
            [sys.executable, "-c", _EXIT_SCRIPT, str(folder), entry, str(code)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert p.returncode == code, p.stderr
        assert p.stdout == "buffered output\n"
        assert (folder / "thread").read_text() == "done"
        assert (folder / "atexit").read_text() == "ran"
        outcomes[entry] = p.stderr
    assert outcomes == {"main": "torn down\n", "run": ""}


def test_usage_errors_and_help_keep_their_exit_codes():
    assert amtlocal("--help").returncode == 0
    r = amtlocal("no-such-command")
    assert r.returncode == 2 and "invalid choice" in r.stderr


def _two_definitions(request: dict, types: tuple[str, str]) -> dict:
    """``request`` in the TrainingJobDefinitions form with two definitions whose objectives have ``types``."""
    config = request["HyperParameterTuningJobConfig"]
    objective, ranges = config.pop("HyperParameterTuningJobObjective"), config.pop("ParameterRanges")
    single = request.pop("TrainingJobDefinition")
    request["TrainingJobDefinitions"] = [
        dict(single, DefinitionName=f"d{i}", TuningObjective=dict(objective, Type=t), HyperParameterRanges=ranges)
        for i, t in enumerate(types)
    ]
    return request


@pytest.mark.parametrize("case", ["auto-parameters", "opposite-objectives"])
def test_what_the_local_backend_does_not_emulate_is_refused_before_anything_is_recorded(workdir, case):
    """Before, AutoParameters were dropped (the hyperparameter reached no training job) and definitions with
    opposite objective Types were all ranked on the first one's direction; now both are refused (exit 2, one line
    naming the field) and nothing is recorded."""
    use_script(workdir, GOOD)
    request = make_request("notemu", integer=[("x", 1, 9, "Auto")])
    if case == "auto-parameters":
        request["HyperParameterTuningJobConfig"]["ParameterRanges"]["AutoParameters"] = [
            {"Name": "lr", "ValueHint": "0.1"}
        ]
        field = "HyperParameterTuningJobConfig.ParameterRanges.AutoParameters: not emulated by the local backend"
    else:
        request = _two_definitions(request, ("Maximize", "Minimize"))
        field = "TrainingJobDefinitions: the local backend searches and ranks on one objective direction"
    path = workdir / "notemu.json"
    path.write_text(json.dumps(request))
    r = amtlocal("tune", str(path), "--home", str(workdir / "home"))
    assert r.returncode == 2 and r.stderr.startswith(f"amtlocal: error: {field}") and r.stderr.count("\n") == 1
    listed = amtlocal("list", "--home", str(workdir / "home"))
    assert listed.returncode == 0 and "notemu" not in listed.stdout
    if case == "opposite-objectives":  # the same two definitions with one Type run
        path.write_text(
            json.dumps(_two_definitions(make_request("notemu", integer=[("x", 1, 9, "Auto")]), ("Maximize",) * 2))
        )
        assert amtlocal("tune", str(path), "--home", str(workdir / "home")).returncode == 0


def test_on_a_terminal_the_progress_line_shows_the_time_ticking_while_jobs_run(workdir):
    # A training job of minutes must not leave the line frozen at its start ("0 running", no time) until it ends.
    import pty
    import re
    import select

    use_script(workdir, "import time\ntime.sleep(2.5)\nprint('f1: 1')\n")
    main, sub = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "amtlocal", "tune", str(_spec(workdir, "tick", max_jobs=1))],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=sub,
    )
    os.close(sub)
    out = b""
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        try:
            chunk = os.read(main, 4096) if ready else b""
        except OSError:  # the pty's other side closed
            chunk = b""
        if not chunk:
            break
        out += chunk
    os.close(main)
    assert proc.wait(timeout=60) == 0
    draws = out.decode().split("\r\033[K")
    running = [d for d in draws if d.startswith("tick: 0/1 training jobs done, 1 running, best f1 -, ")]
    clocks = {re.search(r", (\d:\d\d:\d\d)$", d.rstrip("\r\n")).group(1) for d in running}
    assert {"0:00:01", "0:00:02"} <= clocks, draws


def test_training_job_commands_given_a_tuning_job_name_point_to_its_training_jobs(workdir):
    use_script(workdir, GOOD)
    assert amtlocal("tune", str(_spec(workdir, "tj-hint", max_jobs=1))).returncode == 0
    for command in ("logs", "describe-training-job"):
        r = amtlocal(command, "tj-hint")
        assert r.returncode == 1, r.stderr
        assert r.stderr.strip() == (
            "amtlocal: error: Training job 'tj-hint' not found in the local store; "
            "'tj-hint' is a tuning job: its training jobs are listed by `amtlocal jobs tj-hint`"
        )
    r = amtlocal("logs", "no-such-job")  # an unknown name: no hint
    assert r.stderr.strip() == "amtlocal: error: Training job 'no-such-job' not found in the local store"


def test_a_home_the_disk_refuses_is_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    # a full disk or a read-only home under `amtlocal train` / `describe-training-job` printed a traceback (breaker)
    import errno

    import amtlocal.cli as cli
    from amtlocal.backends.local import LocalBackend

    home = tmp_path / "home"
    raised: list[OSError] = []

    def refuse(self, name):
        raise raised[0]

    monkeypatch.setattr(LocalBackend, "describe_training_job", refuse)
    cases = [
        (
            OSError(errno.ENOSPC, "No space left on device", str(home / "jobs" / "x.journal")),
            f"No space left on device: {home}/jobs/x.journal (free some space, then run the command again)",
        ),
        (
            OSError(errno.EROFS, "Read-only file system", str(home / "index.sqlite")),
            f"Read-only file system: {home}/index.sqlite (the amtlocal home must be writable: choose another with "
            "--home or $AMTLOCAL_HOME)",
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "spec.json")),
            f"Permission denied: {tmp_path}/spec.json",
        ),
    ]
    for error, line in cases:
        raised[:] = [error]
        assert cli.main(["describe-training-job", "x", "--home", str(home)]) == 1
        assert capsys.readouterr().err == f"amtlocal: error: {line}\n"
    raised[:] = [ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")]  # not the disk: a bug, shown whole
    with pytest.raises(ConnectionRefusedError):
        cli.main(["describe-training-job", "x", "--home", str(home)])


def _ranges_in_definition(request: dict) -> dict:
    request["TrainingJobDefinition"]["HyperParameterRanges"] = request["HyperParameterTuningJobConfig"].pop(
        "ParameterRanges"
    )
    return request


@pytest.mark.parametrize("case", ["min-above-max", "auto-parameters"])
def test_ranges_in_the_definition_are_checked_naming_that_member(workdir, case):
    """Ranges in TrainingJobDefinition.HyperParameterRanges (the single form's other place for them, where the
    scheduler also reads them): before, Min 5 > Max 1 there passed `validate` and `tune` failed later with
    InternalServerError 'low <= high must hold'; now both refuse it naming the member the user wrote, and `tune`
    records nothing."""
    use_script(workdir, GOOD)
    request = _ranges_in_definition(make_request("defr", integer=[("x", 1, 9, "Auto")]))
    ranges = request["TrainingJobDefinition"]["HyperParameterRanges"]
    if case == "min-above-max":
        ranges["IntegerParameterRanges"][0].update(MinValue="5", MaxValue="1")
        field = (
            "TrainingJobDefinition.HyperParameterRanges.IntegerParameterRanges[0]: MinValue must not exceed MaxValue"
        )
    else:
        ranges["AutoParameters"] = [{"Name": "lr", "ValueHint": "0.1"}]
        field = "TrainingJobDefinition.HyperParameterRanges.AutoParameters: not emulated by the local backend"
    path = workdir / "defr.json"
    path.write_text(json.dumps(request))
    if case == "min-above-max":
        v = amtlocal("validate", str(path))
        assert v.returncode == 2 and f"{field} (got 5 > 1)" in v.stderr, v.stderr
    r = amtlocal("tune", str(path), "--home", str(workdir / "home"))
    assert r.returncode == 2 and r.stderr.startswith(f"amtlocal: error: {field}") and r.stderr.count("\n") == 1
    listed = amtlocal("list", "--home", str(workdir / "home"))
    assert listed.returncode == 0 and "defr" not in listed.stdout
