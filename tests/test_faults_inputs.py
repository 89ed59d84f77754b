"""Issue 16, kind 5: inputs the API accepts that a local process cannot take are rejected before any training job
runs, with an AMT-style error naming the field; one test per rule (amtlocal/container/_carry.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from amtlocal.exceptions import AmtValidationError
from amtlocal.testing import make_request, run_job, use_script

OK = 'print("f1: 0.5")\n'


def _reject(workdir: Path, request: dict, store) -> AmtValidationError:
    with pytest.raises(AmtValidationError) as raised:
        run_job(request, workdir, store)
    jobs = Path(os.environ.get("AMTLOCAL_HOME", store.home)) / "jobs"
    assert not any(jobs.glob("*/*/logs")), "a training job ran"
    return raised.value


def _statics(req: dict) -> dict:
    return req["TrainingJobDefinition"]["StaticHyperParameters"]


def test_a_nul_byte_in_a_static_value_is_rejected(workdir, store):
    use_script(workdir, OK)
    req = make_request("nul", static={"note": "a\x00b"})
    e = _reject(workdir, req, store)
    assert e.field == "TrainingJobDefinition.StaticHyperParameters.note" and "NUL" in str(e)


def test_hyperparameters_over_one_environment_value_are_rejected(workdir, store):
    use_script(workdir, OK)  # 60 values of 2,500 characters (each within AMT's limit) overflow SM_HPS
    req = make_request("long", static={f"blob{i}": "x" * 2500 for i in range(60)})
    e = _reject(workdir, req, store)
    assert e.field == "TrainingJobDefinition.StaticHyperParameters" and "SM_HPS" in str(e)


def test_a_hyperparameter_name_with_an_equals_sign_is_rejected(workdir, store):
    use_script(workdir, OK)
    req = make_request("eq", categorical=[("a=b", ["1", "2"])])
    e = _reject(workdir, req, store)
    assert e.field == "HyperParameterTuningJobConfig.ParameterRanges.a=b" and "SM_HP_" in str(e)


def test_a_nul_byte_in_a_categorical_value_is_rejected(workdir, store):
    use_script(workdir, OK)
    req = make_request("catnul", categorical=[("opt", ["adam", "s\x00gd"])])
    e = _reject(workdir, req, store)
    assert e.field == "HyperParameterTuningJobConfig.ParameterRanges.opt.Values[1]" and "NUL" in str(e)


@pytest.mark.parametrize("channel", ["..", "."])
def test_a_channel_name_that_is_not_a_folder_name_is_rejected(workdir, store, channel):
    use_script(workdir, OK)
    req = make_request("chan")
    req["TrainingJobDefinition"]["InputDataConfig"][0]["ChannelName"] = channel
    e = _reject(workdir, req, store)
    assert e.field == "TrainingJobDefinition.InputDataConfig[0].ChannelName" and "not a folder name" in str(e)


@pytest.mark.parametrize("program", ["../outside.py", "/tmp/outside.py"])
def test_an_entry_point_outside_the_code_folder_is_rejected(workdir, store, program):
    use_script(workdir, OK)
    (workdir / "outside.py").write_text(OK)
    req = make_request("prog")
    _statics(req)["sagemaker_program"] = json.dumps(program)
    e = _reject(workdir, req, store)
    assert (
        e.field == "TrainingJobDefinition.StaticHyperParameters.sagemaker_program"
        and "outside the code folder" in str(e)
    )


def test_an_environment_value_with_a_nul_byte_is_rejected(workdir, store):
    use_script(workdir, OK)
    req = make_request("env")
    req["TrainingJobDefinition"]["Environment"] = {"MODE": "a\x00"}
    e = _reject(workdir, req, store)
    assert e.field == "TrainingJobDefinition.Environment.MODE" and "NUL" in str(e)


@pytest.mark.parametrize("kind", ["loop", "dangling"])
def test_a_broken_symlink_in_the_code_folder_is_reported_once_before_any_job(workdir, store, kind):
    use_script(workdir, OK)
    if kind == "loop":
        os.symlink("b", workdir / "code" / "a")
        os.symlink("a", workdir / "code" / "b")
    else:
        os.symlink("missing.txt", workdir / "code" / "a")
    e = _reject(workdir, make_request("links"), store)
    assert e.field == "TrainingJobDefinition.StaticHyperParameters.sagemaker_submit_directory"
    assert ("is a loop" if kind == "loop" else "points to nothing") in str(e) and len(str(e)) < 400


def test_a_symlink_to_a_folder_outside_is_linked_not_copied_into_each_job(workdir, store):
    big = workdir / "big"
    big.mkdir()
    (big / "weights.bin").write_bytes(b"w" * 1000)
    os.symlink(big, workdir / "code" / "assets")
    os.symlink("train.py", workdir / "code" / "alias.py")  # a link inside: followed, as SDK v2's packer does
    use_script(
        workdir,
        'import os\nprint("f1:", os.path.getsize("assets/weights.bin") / 2000, open("alias.py").read() == open("train.py").read())\n',
    )
    desc = run_job(make_request("big", max_jobs=2, integer=[("x", 1, 9, "Auto")]), workdir, store)
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.5
    copies = list(store.home.glob("jobs/big/*/code"))
    assert len(copies) == 2
    for code in copies:
        assert (code / "assets").is_symlink() and (code / "assets").resolve() == big.resolve()
        assert not (code / "alias.py").is_symlink()  # a link inside the code folder is copied (followed)
