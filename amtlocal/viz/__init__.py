"""Charts of tuning jobs: amtviz's ``visualize_tuning_job`` over either backend, and an offline HTML report.

    from amtlocal.viz import visualize_tuning_job, write_report
    visualize_tuning_job(tuner)                       # an Altair chart (display it in a notebook)
    write_report(["my-job"], "report.html", png=True)  # one self-contained HTML file (+ report.png)

Modules: ``_data`` (DataFrames from the AMT API shapes), ``_charts`` (Altair views), ``_importance`` (Optuna
importance), ``_summary`` (amtviz's text summary), ``_notebook`` (the offline notebook display of the charts),
``_report`` (the HTML/PNG report; the ``amtlocal report`` command lives in ``amtlocal.cli``).
"""

from __future__ import annotations

import logging
from typing import Any

from amtlocal.backends import Backend
from amtlocal.exceptions import VizError  # its old home was amtlocal.viz._data; kept importable from here

log = logging.getLogger("amtlocal")


def visualize_tuning_job(
    tuning_jobs: Any,
    return_dfs: bool = False,
    job_metrics: list[str] | None = None,
    trials_only: bool = False,
    advanced: bool = False,
    *,
    backend: str | Backend | None = None,
    importance_evaluator: str = "fanova",
):
    """amtviz's ``visualize_tuning_job`` (amtviz/visualization.py), for jobs of either backend.

    Args:
        tuning_jobs: a tuning job name or tuner (amtlocal's ``HyperparameterTuner``: its latest job on its backend;
            a SageMaker SDK tuner: its ``latest_tuning_job``), or a list of these. Warm-start parents are read from
            ``WarmStartConfig.ParentHyperParameterTuningJobs``, recursively, and drawn as tuning jobs of their own.
        return_dfs: also return the data frames, as amtviz does.
        job_metrics: metric names to draw learning curves for (besides the objective); None draws every metric
            definition that has values (amtviz drew only the ones listed).
        trials_only: do not read metric series (no learning curves); amtviz's meaning.
        advanced: add parallel coordinates, Optuna parameter importance and the ECDF of the objective.
        backend: where names are looked up: ``"local"``, ``"sagemaker"`` or a Backend (default ``$AMTLOCAL_BACKEND``
            or local, then the other backend for a name not found there).
        importance_evaluator: ``"fanova"`` (Optuna's FanovaImportanceEvaluator) or ``"mdi"`` (MeanDecreaseImpurity).

    It works at every moment of a job's life: with nothing finished it draws the timeline of what runs, with nothing
    started a line saying so; the text summary (amtviz's lines, plus what is pending) is logged at INFO to the
    ``amtlocal`` logger and shown above the chart in a notebook.

    Returns:
        An Altair chart (an ``alt.VConcatChart``, or an ``alt.Chart`` with one line of text before any training job
        exists) that displays offline in Jupyter (:mod:`amtlocal.viz._notebook`: the Vega libraries inline, no
        CDN; Altair's global renderer is left alone); with ``return_dfs``, ``(chart, trials_df, full_df)`` where
        ``trials_df`` has one row per training job (tuning job, status, trial index, each hyperparameter cast by its
        range type, the objective in a column named after its metric, times) and ``full_df`` one row per scraped
        metric value joined with its training job's row (empty with ``trials_only``).

    Raises:
        TuningJobNotFound: a job is on neither backend.
        ValueError: (``amtlocal.viz.VizError``) the jobs use different objectives or directions.
    """
    from amtlocal.viz._charts import dashboard
    from amtlocal.viz._data import gather
    from amtlocal.viz._notebook import offline
    from amtlocal.viz._summary import summary_lines

    data = gather(tuning_jobs, backend=backend, job_metrics=job_metrics, trials_only=trials_only)
    summary = summary_lines(data)
    for line in summary:  # amtviz logged these lines; library code logs, it does not print
        log.info("%s", line)
    chart = offline(dashboard(data, advanced=advanced, importance_evaluator=importance_evaluator), summary)
    if return_dfs:
        return chart, data.trials, data.metrics
    return chart


def write_report(
    job_names: Any,
    path: Any,
    backend: str | Backend | None = None,
    png: bool = False,
    *,
    trials_only: bool = False,
    advanced: bool = True,
    importance_evaluator: str = "fanova",
):
    """Write one self-contained HTML report (opens offline) and return its Path; see
    :func:`amtlocal.viz._report.write_report` for the arguments."""
    from amtlocal.viz._report import write_report as _write

    return _write(
        job_names,
        path,
        backend=backend,
        png=png,
        trials_only=trials_only,
        advanced=advanced,
        importance_evaluator=importance_evaluator,
    )


__all__ = ["VizError", "visualize_tuning_job", "write_report"]
