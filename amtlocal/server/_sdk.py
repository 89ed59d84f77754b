"""What the SageMaker Python SDKs need around the SageMaker API that moto alone does not give (issue 14 item 4).

- The environment a client exports (:func:`environment`): the endpoint, a region, dummy credentials and
  ``SAGEMAKER_USER_CONFIG_OVERRIDE`` naming the SDK config file :func:`write_sdk_config` writes.
- That config file (SageMaker's "intelligent defaults" YAML, read by SDK v2 >= 2.148 and v3): the default bucket
  ``SageMaker.PythonSDK.Modules.Session.DefaultS3Bucket`` (so ``Session.default_bucket()`` needs no STS call at the
  explicit ``sts.<region>.amazonaws.com`` URL that ``AWS_ENDPOINT_URL`` does not redirect) and the default execution
  role for training and tuning jobs (``SageMaker.TrainingJob.RoleArn``); and ``TelemetryOptOut`` (the SDKs otherwise
  send usage telemetry to an S3 URL of AWS's on every call, which offline fails with a traceback in the log).
- IAM ``SimulatePrincipalPolicy`` / ``SimulateCustomPolicy``, which moto does not implement and SDK v3 calls to check the
  execution role: every action is answered ``allowed`` (a local job runs with your own user's rights anyway).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

ACCOUNT_ID = "000000000000"  # the local account of every amtlocal ARN (amtlocal.spec.placeholders.LOCAL_ACCOUNT)
ROLE_NAME = "amtlocal-local"  # the local placeholder role (amtlocal.spec.placeholders.LOCAL_ROLE), created in moto
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/{ROLE_NAME}"
DUMMY_KEY = "amtlocal"  # the dummy access key id and secret; moto accepts any
# The execution role's trust policy: SageMaker may assume it (what SDK v3's role check reads).
TRUST_POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
    '"Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
)
IAM_SIMULATIONS = ("SimulatePrincipalPolicy", "SimulateCustomPolicy")


def default_bucket(region: str) -> str:
    """The bucket the server creates in moto and names as the SDKs' default: ``sagemaker-<region>-000000000000``
    (the name SDK v2/v3 would derive for this account)."""
    return f"sagemaker-{region}-{ACCOUNT_ID}"


def write_sdk_config(path: Path, region: str) -> Path:
    """Write SageMaker's SDK config file (YAML, schema 1.0) at ``path`` with the default bucket and execution role;
    returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# Written by `amtlocal serve`: SageMaker Python SDK defaults for the local endpoint (SAGEMAKER_USER_CONFIG_OVERRIDE)\n"
        "SchemaVersion: '1.0'\n"
        "SageMaker:\n"
        "  PythonSDK:\n"
        "    Modules:\n"
        "      Session:\n"
        f"        DefaultS3Bucket: {default_bucket(region)}\n"
        "      TelemetryOptOut: true\n"
        "  TrainingJob:\n"
        f"    RoleArn: {ROLE_ARN}\n"
    )
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def environment(url: str, region: str, config_path: Path) -> dict[str, str]:
    """The variables a client exports to use the server: ``{name: value}`` in the order printed."""
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": DUMMY_KEY,
        "AWS_SECRET_ACCESS_KEY": DUMMY_KEY,
        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config_path),
    }


def is_iam_simulation(environ: dict, body: bytes) -> bool:
    """Whether a request is IAM's SimulatePrincipalPolicy or SimulateCustomPolicy (query protocol, form body)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "/iam/" not in auth or environ.get("REQUEST_METHOD") != "POST":
        return False
    return parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0] in IAM_SIMULATIONS


def iam_simulation_response(body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """The answer to a SimulatePrincipalPolicy / SimulateCustomPolicy request (form-encoded ``body``): one
    EvaluationResult per ``ActionNames.member.N`` with ``EvalDecision`` ``allowed``, on the first resource asked
    for (``*`` when none), as IAM writes it (XML, namespace 2010-05-08)."""
    form = parse_qs(body.decode("utf-8", "replace"))
    action = form.get("Action", ["SimulatePrincipalPolicy"])[0]
    names = [v[0] for k, v in sorted(form.items(), key=lambda kv: _member_index(kv[0])) if k.startswith("ActionNames.")]
    resources = [v[0] for k, v in form.items() if k.startswith("ResourceArns.")]
    resource = resources[0] if resources else "*"
    members = "".join(
        "<member>"
        f"<EvalActionName>{escape(n)}</EvalActionName><EvalResourceName>{escape(resource)}</EvalResourceName>"
        "<EvalDecision>allowed</EvalDecision><MatchedStatements/><MissingContextValues/>"
        "</member>"
        for n in names
    )
    xml = (
        f'<{action}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        f"<{action}Result><IsTruncated>false</IsTruncated><EvaluationResults>{members}</EvaluationResults>"
        f"</{action}Result><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    ).encode()
    return 200, [("Content-Type", "text/xml"), ("Content-Length", str(len(xml)))], xml


def _member_index(key: str) -> int:
    tail = key.rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else 0
