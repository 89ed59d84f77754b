"""The RDB side of the store: Optuna's ``RDBStorage`` with the liveness settings of shared mode and calls that ride
out a dropped database connection.

- Liveness (PostgreSQL only, where several workers share a tuning job): Optuna's own heartbeat machinery.
  ``RDBStorage(heartbeat_interval=H, grace_period=G)``; a worker records a heartbeat for each of its running trials
  every ``H`` seconds (:meth:`~optuna.storages.RDBStorage.record_heartbeat`, in the database's clock), and any worker
  fails the trials whose last heartbeat is older than ``G`` seconds with :func:`optuna.storages.fail_stale_trials`
  (one row lock per trial: exactly one worker wins each). ``H`` is ``$AMTLOCAL_HEARTBEAT_SECONDS`` (default 10) and
  ``G`` is ``$AMTLOCAL_HEARTBEAT_GRACE_SECONDS`` (default 3 H); both whole seconds, as Optuna takes them.
- Reconnects: ``pool_pre_ping`` (a dead pooled connection is replaced on checkout), and every call of the storage
  that fails because the database is unreachable (SQLAlchemy's ``OperationalError``/``InterfaceError``/
  ``DisconnectionError``, which Optuna reports as a misleading ``StorageInternalError`` about "invalid data") is
  retried with backoff (0.1 s doubling to 2 s) for ``$AMTLOCAL_DB_RETRY_SECONDS`` (default 60); then
  :class:`~amtlocal.exceptions.StorageUnavailable` names the database. Once a call has given up, the next ones try
  once each (a shutdown records what it can, fast) until one succeeds. A write whose acknowledgement was lost in
  the drop may be applied twice on retry (Optuna's calls are not idempotent); at worst an extra trial is asked that
  never becomes a training job.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import optuna
from optuna.storages import RDBStorage

from amtlocal.exceptions import AmtValidationError, StorageUnavailable

log = logging.getLogger("amtlocal")

HEARTBEAT_ENV = "AMTLOCAL_HEARTBEAT_SECONDS"
GRACE_ENV = "AMTLOCAL_HEARTBEAT_GRACE_SECONDS"
RETRY_ENV = "AMTLOCAL_DB_RETRY_SECONDS"
DEFAULT_HEARTBEAT_SECONDS = 10
GRACE_FACTOR = 3  # default grace period: this many heartbeat intervals (Optuna's own default is 2)
DEFAULT_RETRY_SECONDS = 60.0

T = TypeVar("T")


def liveness_settings() -> tuple[int, int]:
    """``(heartbeat interval, grace period)`` in whole seconds, from the environment (see the module docstring).
    Raises AmtValidationError (a ValueError) naming the variable for a value that is not a positive integer."""
    interval = _positive_int(HEARTBEAT_ENV, DEFAULT_HEARTBEAT_SECONDS)
    return interval, _positive_int(GRACE_ENV, GRACE_FACTOR * interval)


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise AmtValidationError(name, f"{raw!r} is not a positive whole number of seconds")
    return value


def is_disconnect(error: BaseException) -> bool:
    """True when ``error`` (or an error it was raised from) says the database could not be reached or dropped the
    connection, as opposed to a refused statement."""
    from sqlalchemy import exc

    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, exc.OperationalError | exc.InterfaceError | exc.DisconnectionError):
            return True
        if isinstance(seen, exc.DBAPIError) and seen.connection_invalidated:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _first_line(error: BaseException) -> str:
    cause: BaseException = error
    while cause.__cause__ is not None:  # the driver's own words, not Optuna's "invalid data" wrapper
        cause = cause.__cause__
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}".strip()


class RetryingRDBStorage(RDBStorage):
    """Optuna's RDBStorage whose database calls are retried across a dropped connection (see the module docstring).

    Attributes:
        retry_seconds: how long one call is retried before StorageUnavailable.
        lost: the trials :func:`optuna.storages.fail_stale_trials` failed through this storage since last taken
            (:meth:`take_lost`).
    """

    def __init__(self, url: str, retry_seconds: float | None = None, **kwargs: Any):
        self.retry_seconds = (
            float(os.environ.get(RETRY_ENV) or DEFAULT_RETRY_SECONDS) if retry_seconds is None else retry_seconds
        )
        self.lost: list[optuna.trial.FrozenTrial] = []
        self._gave_up = False
        self._warned = False  # one warning per outage, whichever thread meets it first
        self._inside = threading.local()  # only the outermost call retries (RDBStorage's methods call each other)
        kwargs.setdefault("heartbeat_stale_trial_callback", self._on_stale)
        with warnings.catch_warnings():  # the heartbeat arguments are "experimental" in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.call_with_retry(lambda: RDBStorage.__init__(self, url, **kwargs))

    def _on_stale(self, _study, trial) -> None:
        self.lost.append(trial)

    def take_lost(self) -> list:
        """The trials failed as stale since the last call (and forget them)."""
        lost, self.lost = self.lost, []
        return lost

    @property
    def display_url(self) -> str:
        """The URL with its password hidden."""
        from sqlalchemy.engine import make_url

        parsed = make_url(self.url)
        return self.url if parsed.password is None else parsed.render_as_string(hide_password=True)

    def call_with_retry(self, call: Callable[[], T]) -> T:
        """``call()``, retried with backoff while the database is unreachable; raises StorageUnavailable once
        ``retry_seconds`` have passed (at once, after one attempt, while an earlier call has given up)."""
        if getattr(self._inside, "active", False):
            return call()
        self._inside.active = True
        try:
            return self._retry(call)
        finally:
            self._inside.active = False

    def _retry(self, call: Callable[[], T]) -> T:
        deadline: float | None = None
        delay = 0.1
        while True:
            try:
                result = call()
            except Exception as e:
                if not is_disconnect(e):
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + (0.0 if self._gave_up else self.retry_seconds)
                    if not self._gave_up and not self._warned:
                        self._warned = True
                        log.warning(
                            "database %s unreachable (%s); retrying for up to %g s",
                            self.display_url,
                            _first_line(e),
                            self.retry_seconds,
                        )
                if now >= deadline:
                    self._gave_up = True
                    raise StorageUnavailable(self.display_url, self.retry_seconds, _first_line(e)) from e
                time.sleep(min(delay, deadline - now))
                delay = min(delay * 2, 2.0)
                continue
            self._gave_up = self._warned = False
            return result


def _retrying(method: Callable) -> Callable:
    @functools.wraps(method)
    def call(self: RetryingRDBStorage, *args: Any, **kwargs: Any) -> Any:
        return self.call_with_retry(lambda: method(self, *args, **kwargs))

    return call


# Every RDBStorage method that talks to the database (the BaseStorage and BaseHeartbeat interface, and the private
# ones Optuna's _CachedStorage calls on its backend).
_DATABASE_METHODS = (
    "create_new_study delete_study set_study_user_attr set_study_system_attr get_study_id_from_name "
    "get_study_name_from_id get_study_directions get_study_user_attrs get_study_system_attrs get_all_studies "
    "create_new_trial _create_new_trial set_trial_param _set_trial_param get_trial_id_from_study_id_trial_number "
    "get_trial_number_from_id get_trial_param set_trial_state_values set_trial_intermediate_value set_trial_user_attr "
    "set_trial_system_attr get_trial get_all_trials _get_trials get_n_trials get_best_trial _get_best_trial_id "
    "record_heartbeat _get_stale_trial_ids"
).split()
for _name in _DATABASE_METHODS:
    if hasattr(RDBStorage, _name):
        setattr(RetryingRDBStorage, _name, _retrying(getattr(RDBStorage, _name)))


def rdb_storage(url: str, shared: bool, **kwargs: Any) -> RetryingRDBStorage:
    """The store's RDB storage at ``url``: a :class:`RetryingRDBStorage` with ``pool_pre_ping``; ``shared``
    (PostgreSQL): with Optuna's heartbeat (:func:`liveness_settings`)."""
    engine_kwargs = dict(kwargs.pop("engine_kwargs", None) or {})
    engine_kwargs.setdefault("pool_pre_ping", True)
    if shared:
        kwargs["heartbeat_interval"], kwargs["grace_period"] = liveness_settings()
    return RetryingRDBStorage(url, engine_kwargs=engine_kwargs, **kwargs)
