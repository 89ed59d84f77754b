"""Backends: where a tuning job runs. ``local`` (Optuna + child processes) and ``sagemaker`` (AMT via boto3)."""
