"""One contract, every backend: the same tests run against the local backend and the sagemaker backend, the way
Optuna runs one storage test suite over every storage.

Only the public Backend interface is used (``amtlocal.backends``: describe, list_training_jobs, all_training_jobs,
list_tuning_jobs, stop, exists, wait, metric_series). The jobs are real local runs of tiny scripts:

- ``grid``: Grid search over ``x`` in 1..4; the script prints ``f1: <x>`` for even ``x`` and exits 1 for odd ``x``, so
  2 training jobs Completed (f1 2 and 4) and 2 Failed; the tuning job Completed, best f1 4;
- ``allfail``: one training job that exits 1; the tuning job Failed;
- per test, a job whose training job sleeps, to be stopped while it runs.

The sagemaker backend talks to a fake AMT: its boto3 SageMaker client is wrapped by botocore's Stubber, and each call
is answered, just before it is made, from the local backend that ran these jobs; Stubber checks every answer against
the service model's output shape. CloudWatch is moto's, holding the local runs' scraped metrics. So for the sagemaker
backend these tests check what it sends, how it pages, strips and maps errors; AMT's semantics come from the fake.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

from amtlocal.backends import Backend, get_backend
from amtlocal.exceptions import TuningJobNotFound, UnexpectedStatusException
from amtlocal.testing import F1, fake_aws, make_request, use_script

EVEN_OR_FAIL = (
    "import argparse, sys\np = argparse.ArgumentParser(); p.add_argument('-x', type=int); a = p.parse_args()\n"
    "if a.x % 2:\n    sys.exit(1)\nprint('f1: %d' % a.x)\n"
)
SLEEPER = "import time\nprint('f1: 1', flush=True)\ntime.sleep(60)\n"
BACKENDS = ["local", "sagemaker"]
_names = itertools.count()


def _workdir(root: Path, script: str) -> Path:
    (root / "code").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("1,2\n")
    use_script(root, script)
    return root


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """The local backend that ran the jobs: the backend under test (local), or the fake AMT's truth (sagemaker)."""
    root = tmp_path_factory.mktemp("contract")
    local = get_backend("local", home=root / "home", stop_grace=1)
    grid = make_request(
        "grid",
        strategy="Grid",
        max_jobs=None,
        parallel=2,
        metrics=(F1,),
        categorical=[("x", ["1", "2", "3", "4"])],
        seed=None,
    )
    local.create_tuning_job(grid, _workdir(root / "grid", EVEN_OR_FAIL), wait=True)
    allfail = make_request("allfail", max_jobs=1, integer=[("x", 1, 1, "Linear")])
    local.create_tuning_job(allfail, _workdir(root / "allfail", EVEN_OR_FAIL), wait=True)
    local.sleeper_dir = _workdir(root / "sleeper", SLEEPER)
    return local


class FakeAmt:
    """A boto3 SageMaker client whose Stubber is given each answer just before the call, computed from ``local``.

    Answers follow AMT's API reference: ResourceNotFound for an unknown job; StopHyperParameterTuningJob of a job that
    is not InProgress is a ValidationException.
    """

    def __init__(self, local):
        import boto3
        from botocore.stub import Stubber

        self.local = local
        self.client = boto3.client("sagemaker", region_name="us-east-1")
        self.stub = Stubber(self.client)
        self.calls: list[tuple[str, dict]] = []
        # provide-client-params is emitted before the Stubber's own handlers look at the queue
        self.client.meta.events.register("provide-client-params.sagemaker.*", self._answer)
        self.stub.activate()

    def _answer(self, params, model, **kwargs):
        from botocore import xform_name

        method = xform_name(model.name)
        self.calls.append((model.name, dict(params)))
        try:
            response = getattr(self, f"_{method}")(**params)
        except TuningJobNotFound as e:
            self.stub.add_client_error(method, "ResourceNotFound", str(e), http_status_code=400)
        except _ValidationError as e:
            self.stub.add_client_error(method, "ValidationException", str(e), http_status_code=400)
        else:
            self.stub.add_response(method, response)  # validated against the operation's output shape

    def _describe_hyper_parameter_tuning_job(self, HyperParameterTuningJobName):
        return self.local.describe(HyperParameterTuningJobName)

    def _list_training_jobs_for_hyper_parameter_tuning_job(self, HyperParameterTuningJobName, **kwargs):
        return self.local.list_training_jobs(HyperParameterTuningJobName, **kwargs)

    def _list_hyper_parameter_tuning_jobs(
        self, SortBy="CreationTime", SortOrder="Descending", MaxResults=100, NextToken=None
    ):
        assert (SortBy, SortOrder, NextToken) == ("CreationTime", "Descending", None)
        fields = (
            "HyperParameterTuningJobName",
            "HyperParameterTuningJobArn",
            "HyperParameterTuningJobStatus",
            "Strategy",
            "CreationTime",
            "HyperParameterTuningEndTime",
            "LastModifiedTime",
            "TrainingJobStatusCounters",
            "ObjectiveStatusCounters",
            "ResourceLimits",
        )
        jobs = [{k: j[k] for k in fields if j.get(k) is not None} for j in self.local.list_tuning_jobs()]
        return {"HyperParameterTuningJobSummaries": jobs[:MaxResults]}

    def _stop_hyper_parameter_tuning_job(self, HyperParameterTuningJobName):
        status = self.local.describe(HyperParameterTuningJobName)["HyperParameterTuningJobStatus"]
        if status != "InProgress":
            raise _ValidationError(f"The hyperparameter tuning job {HyperParameterTuningJobName} is {status}")
        self.local.stop(HyperParameterTuningJobName)
        return {}

    def _describe_training_job(self, TrainingJobName):
        for tuning in self.local.list_tuning_jobs():
            name = tuning["HyperParameterTuningJobName"]
            for s in self.local.all_training_jobs(name):
                if s["TrainingJobName"] == TrainingJobName:
                    definition = self.local.describe(name)["TrainingJobDefinition"]
                    return {
                        "TrainingJobName": TrainingJobName,
                        "TrainingJobArn": s["TrainingJobArn"],
                        "TuningJobArn": tuning["HyperParameterTuningJobArn"],
                        "ModelArtifacts": {
                            "S3ModelArtifacts": f"s3://example-bucket/out/{TrainingJobName}/output/model.tar.gz"
                        },
                        "TrainingJobStatus": s["TrainingJobStatus"],
                        "SecondaryStatus": s["TrainingJobStatus"],
                        "HyperParameters": s["TunedHyperParameters"],
                        "AlgorithmSpecification": definition["AlgorithmSpecification"],
                        "RoleArn": definition["RoleArn"],
                        "ResourceConfig": definition["ResourceConfig"],
                        "StoppingCondition": definition["StoppingCondition"],
                        "CreationTime": s["CreationTime"],
                        **{k: s[k] for k in ("TrainingStartTime", "TrainingEndTime") if s.get(k)},
                    }
        raise _ValidationError(f"Requested resource not found: {TrainingJobName}")


class _ValidationError(Exception):
    pass


def _put_metrics(local) -> int:
    """Every scraped value of every training job into (moto's) CloudWatch, where SageMaker puts them."""
    import boto3

    cw, n = boto3.client("cloudwatch", region_name="us-east-1"), 0
    for tuning in local.list_tuning_jobs():
        name = tuning["HyperParameterTuningJobName"]
        for s in local.all_training_jobs(name):
            for p in local.metric_series(name, s["TrainingJobName"]):
                cw.put_metric_data(
                    Namespace="/aws/sagemaker/TrainingJobs",
                    MetricData=[
                        {
                            "MetricName": p["MetricName"],
                            "Value": p["Value"],
                            "Timestamp": dt.datetime.fromtimestamp(p["Timestamp"], dt.timezone.utc),
                            "Dimensions": [{"Name": "Host", "Value": f"{s['TrainingJobName']}/algo-1"}],
                        }
                    ],
                )
                n += 1
    return n


@pytest.fixture(params=BACKENDS)
def backend(request, service, monkeypatch, tmp_path) -> Backend:
    if request.param == "local":
        yield service
        return
    from moto import mock_aws

    fake_aws(monkeypatch, tmp_path)
    with mock_aws():
        assert _put_metrics(service) >= 2
        fake = FakeAmt(service)
        import boto3

        yield get_backend(
            "sagemaker",
            sagemaker_client=fake.client,
            cloudwatch_client=boto3.client("cloudwatch"),
            poll_seconds=0.05,
            max_poll_seconds=0.2,
        )
        fake.stub.assert_no_pending_responses()
        fake.stub.deactivate()
        assert fake.calls, "the sagemaker backend answered without calling SageMaker"


def _output_errors(operation: str, response: dict) -> str:
    """What is wrong with ``response`` as the ``operation`` response of botocore's SageMaker service model ('' if
    nothing)."""
    import botocore.session
    from botocore.validate import ParamValidator

    shape = botocore.session.get_session().get_service_model("sagemaker").operation_model(operation).output_shape
    report = ParamValidator().validate(response, shape)
    return report.generate_report() if report.has_errors() else ""


# -- describe, exists --------------------------------------------------------------------------------------------------


def test_describe_has_amts_shape_status_counters_and_best_training_job(backend):
    desc = backend.describe("grid")
    assert _output_errors("DescribeHyperParameterTuningJob", desc) == ""
    assert "ResponseMetadata" not in desc
    assert desc["HyperParameterTuningJobName"] == "grid"
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert desc["HyperParameterTuningJobConfig"]["Strategy"] == "Grid"
    counters = desc["TrainingJobStatusCounters"]
    assert counters["Completed"] == 2 and counters["InProgress"] == 0 and counters["Stopped"] == 0
    assert counters["NonRetryableError"] + counters["RetryableError"] == 2
    best = desc["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "f1"
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 4.0
    assert best["TunedHyperParameters"] == {"x": "4"}
    assert best["TrainingJobStatus"] == "Completed"


def test_describe_of_a_job_where_every_training_job_failed_is_failed_without_a_best(backend):
    desc = backend.describe("allfail")
    assert _output_errors("DescribeHyperParameterTuningJob", desc) == ""
    assert desc["HyperParameterTuningJobStatus"] == "Failed"
    assert desc.get("FailureReason")
    assert "BestTrainingJob" not in desc


def test_unknown_job_raises_tuning_job_not_found_and_does_not_exist(backend):
    with pytest.raises(TuningJobNotFound):
        backend.describe("no-such-job")
    with pytest.raises(TuningJobNotFound):
        backend.list_training_jobs("no-such-job")
    assert backend.exists("grid") is True
    assert backend.exists("no-such-job") is False


# -- training jobs -----------------------------------------------------------------------------------------------------


def test_list_training_jobs_pages_filters_and_sorts(backend):
    page = backend.list_training_jobs("grid", MaxResults=100)
    assert _output_errors("ListTrainingJobsForHyperParameterTuningJob", page) == ""
    rows = page["TrainingJobSummaries"]
    assert "NextToken" not in page and len(rows) == 4
    assert {r["TunedHyperParameters"]["x"]: r["TrainingJobStatus"] for r in rows} == {
        "1": "Failed",
        "2": "Completed",
        "3": "Failed",
        "4": "Completed",
    }
    assert all(r["TuningJobName"] == "grid" for r in rows)

    done = backend.list_training_jobs("grid", StatusEquals="Completed", MaxResults=100)["TrainingJobSummaries"]
    assert sorted(r["TunedHyperParameters"]["x"] for r in done) == ["2", "4"]
    failed = backend.list_training_jobs("grid", StatusEquals="Failed", MaxResults=100)["TrainingJobSummaries"]
    assert sorted(r["TunedHyperParameters"]["x"] for r in failed) == ["1", "3"]
    assert all(r.get("FailureReason") for r in failed)

    # FinalObjectiveMetricValue: jobs without an objective value are left out (AMT's API reference)
    best_first = backend.list_training_jobs(
        "grid", SortBy="FinalObjectiveMetricValue", SortOrder="Descending", MaxResults=100
    )["TrainingJobSummaries"]
    assert [r["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for r in best_first] == [4.0, 2.0]
    by_name = backend.list_training_jobs("grid", SortBy="Name", SortOrder="Ascending", MaxResults=100)
    names = [r["TrainingJobName"] for r in by_name["TrainingJobSummaries"]]
    assert names == sorted(names)
    by_name_desc = backend.list_training_jobs("grid", SortBy="Name", SortOrder="Descending", MaxResults=100)
    assert [r["TrainingJobName"] for r in by_name_desc["TrainingJobSummaries"]] == names[::-1]

    # one at a time: NextToken walks every job once, in the same order
    seen, token = [], None
    for _ in range(10):
        page = backend.list_training_jobs(
            "grid", SortBy="Name", MaxResults=1, **({"NextToken": token} if token else {})
        )
        assert len(page["TrainingJobSummaries"]) == 1
        seen += [r["TrainingJobName"] for r in page["TrainingJobSummaries"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == names


def test_all_training_jobs_follows_every_page(backend):
    rows = list(backend.all_training_jobs("grid"))
    assert sorted(r["TunedHyperParameters"]["x"] for r in rows) == ["1", "2", "3", "4"]
    assert len({r["TrainingJobName"] for r in rows}) == 4
    completed = list(backend.all_training_jobs("grid", StatusEquals="Completed"))
    assert {r["TrainingJobStatus"] for r in completed} == {"Completed"} and len(completed) == 2


def test_metric_series_holds_each_training_jobs_scraped_objective(backend):
    for row in backend.all_training_jobs("grid", StatusEquals="Completed"):
        series = backend.metric_series("grid", row["TrainingJobName"])
        f1 = [p for p in series if p["MetricName"] == "f1"]
        assert [p["Value"] for p in f1] == [row["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]]
        start, end = row["TrainingStartTime"].timestamp(), row["TrainingEndTime"].timestamp()
        # CloudWatch keeps these metrics at one-minute resolution: the point is within that minute of the job
        assert all(isinstance(p["Timestamp"], float) and start - 60 <= p["Timestamp"] <= end + 60 for p in f1)
    assert backend.metric_series("grid", "grid-no-such-training-job") == []


# -- tuning jobs -------------------------------------------------------------------------------------------------------


def test_list_tuning_jobs_newest_first_with_status(backend):
    jobs = backend.list_tuning_jobs()
    by_name = {j["HyperParameterTuningJobName"]: j for j in jobs}
    assert by_name["grid"]["HyperParameterTuningJobStatus"] == "Completed"
    assert by_name["allfail"]["HyperParameterTuningJobStatus"] == "Failed"
    assert by_name["grid"]["Strategy"] == "Grid"
    assert by_name["grid"]["TrainingJobStatusCounters"]["Completed"] == 2
    created = [j["CreationTime"] for j in jobs]
    assert created == sorted(created, reverse=True)
    names = [j["HyperParameterTuningJobName"] for j in jobs]
    assert names.index("allfail") < names.index("grid")


def test_wait_returns_the_final_description_or_raises_for_failed(backend):
    assert backend.wait("grid", poll=0.05, max_poll=0.1)["HyperParameterTuningJobStatus"] == "Completed"
    with pytest.raises(UnexpectedStatusException) as e:
        backend.wait("allfail", poll=0.05, max_poll=0.1)
    assert e.value.actual_status == "Failed"


def test_stop_of_an_ended_job_changes_nothing_and_of_an_unknown_job_raises(backend):
    backend.stop("grid")
    backend.stop("allfail")
    assert backend.describe("grid")["HyperParameterTuningJobStatus"] == "Completed"
    assert backend.describe("allfail")["HyperParameterTuningJobStatus"] == "Failed"
    with pytest.raises(TuningJobNotFound):
        backend.stop("no-such-job")


@pytest.mark.slow
def test_stop_ends_a_running_job_stopped_and_wait_returns_it(backend, service):
    import time

    name = f"sleeper-{next(_names)}"
    service.create_tuning_job(
        make_request(name, max_jobs=1, integer=[("x", 1, 9, "Linear")], max_runtime=120),
        service.sleeper_dir,
        wait=False,
    )
    deadline = time.monotonic() + 60
    while backend.describe(name)["TrainingJobStatusCounters"]["InProgress"] < 1:
        assert time.monotonic() < deadline, "the training job never started"
        time.sleep(0.1)
    assert backend.describe(name)["HyperParameterTuningJobStatus"] == "InProgress"
    backend.stop(name)
    desc = backend.wait(name, poll=0.1, max_poll=0.5)
    assert desc["HyperParameterTuningJobStatus"] == "Stopped"
    assert desc["TrainingJobStatusCounters"]["Stopped"] == 1 and desc["TrainingJobStatusCounters"]["InProgress"] == 0
    assert [r["TrainingJobStatus"] for r in backend.all_training_jobs(name)] == ["Stopped"]
