"""amtlocal's pytest plugin (entry point ``pytest11``): the ``amtlocal_endpoint`` fixture.

    def test_tuning(amtlocal_endpoint):
        sm = boto3.client("sagemaker")   # reaches the local endpoint: AWS_ENDPOINT_URL is set for the test
        sm.create_hyper_parameter_tuning_job(**request)

Importing this module is cheap (pytest loads it at every start); the server's dependencies load when a test asks for
the fixture.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def amtlocal_endpoint(tmp_path_factory):
    """A running :func:`amtlocal.endpoint` for one test: the SageMaker API on a free loopback port, over a fresh local
    store (a temporary folder), with ``AWS_ENDPOINT_URL``, the region, dummy credentials and
    ``SAGEMAKER_USER_CONFIG_OVERRIDE`` set for the test and restored after it. Yields the server (``.url``,
    ``.environment``, ``.home``, ``.role_arn``, ``.bucket``, ``.region``); jobs still running at the end are stopped."""
    from amtlocal.server import endpoint

    with endpoint(home=tmp_path_factory.mktemp("amtlocal-endpoint")) as server:
        yield server
