"""ListTrainingJobsForHyperParameterTuningJob and DescribeHyperParameterTuningJob shapes from the local store."""

from __future__ import annotations

import botocore.session
import pytest

from amtlocal.backends.local import LocalStore, describe, list_training_jobs
from amtlocal.testing import make_request, run_job, use_script

SCRIPT = """
import argparse, sys
p = argparse.ArgumentParser(); p.add_argument('--mode'); a = p.parse_args()
if a.mode == 'fail': sys.exit(2)
if a.mode == 'silent': print('done')
else: print('f1: ' + {'a': '0.3', 'b': '0.9', 'c': '0.6'}[a.mode])
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    wd = tmp_path_factory.mktemp("records")
    (wd / "code").mkdir()
    (wd / "data").mkdir()
    use_script(wd, SCRIPT)
    store = LocalStore(wd / "home")
    req = make_request(
        "rec",
        strategy="Grid",
        max_jobs=None,
        seed=None,
        parallel=2,
        categorical=[("mode", ['"a"', '"b"', '"c"', '"fail"', '"silent"'])],
    )
    run_job(req, wd, store)
    return store.load("rec")


def _shape_members(name):
    return set(botocore.session.get_session().get_service_model("sagemaker").shape_for(name).members)


def test_describe_shape_and_counters(study):
    d = describe(study)
    assert set(d) <= _shape_members("DescribeHyperParameterTuningJobResponse")
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["TrainingJobStatusCounters"] == {
        "Completed": 4,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 1,
        "Stopped": 0,
    }
    assert d["ObjectiveStatusCounters"] == {"Succeeded": 3, "Pending": 0, "Failed": 2}
    assert d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": "Maximize",
        "MetricName": "f1",
        "Value": 0.9,
    }
    assert d["BestTrainingJob"]["TunedHyperParameters"] == {"mode": '"b"'}
    assert set(d["BestTrainingJob"]) <= _shape_members("HyperParameterTrainingJobSummary")
    assert d["HyperParameterTuningEndTime"] >= d["CreationTime"]


def test_child_names(study):
    import re

    names = [s["TrainingJobName"] for s in list_training_jobs(study, MaxResults=100)["TrainingJobSummaries"]]
    assert sorted(int(n.split("-")[1]) for n in names) == [1, 2, 3, 4, 5]
    assert all(re.fullmatch(r"rec-\d{3}-[0-9a-f]{8}", n) for n in names)


def test_sort_filter_and_pages(study):
    by_value = list_training_jobs(study, SortBy="FinalObjectiveMetricValue", SortOrder="Descending")[
        "TrainingJobSummaries"
    ]
    assert [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in by_value] == [
        0.9,
        0.6,
        0.3,
    ]  # no-objective jobs omitted
    failed = list_training_jobs(study, StatusEquals="Failed")["TrainingJobSummaries"]
    assert [s["TunedHyperParameters"]["mode"] for s in failed] == ['"fail"']
    page1 = list_training_jobs(study, MaxResults=2, SortBy="CreationTime")
    page2 = list_training_jobs(study, MaxResults=2, SortBy="CreationTime", NextToken=page1["NextToken"])
    page3 = list_training_jobs(study, MaxResults=2, SortBy="CreationTime", NextToken=page2["NextToken"])
    assert "NextToken" not in page3
    names = [s["TrainingJobName"] for p in (page1, page2, page3) for s in p["TrainingJobSummaries"]]
    assert len(names) == len(set(names)) == 5
    assert names == sorted(names, key=lambda n: int(n.split("-")[1]))
    by_name = [s["TrainingJobName"] for s in list_training_jobs(study, MaxResults=100)["TrainingJobSummaries"]]
    assert by_name == sorted(by_name)
    with pytest.raises(ValueError, match="SortBy"):
        list_training_jobs(study, SortBy="Value")
    with pytest.raises(ValueError, match="MaxResults"):
        list_training_jobs(study, MaxResults=101)
