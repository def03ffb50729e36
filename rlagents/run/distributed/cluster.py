"""Where the workers run: a local Ray started (and stopped) by the run, a cluster joined with
``--ray-address``, or the Ray the calling program already started."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from typing import Any

from rlagents.errors import ConfigError, RunFailure, option

RAY_EXTRA = "pip install 'rlagents[ray]'"
CONNECT_TIMEOUT_S = 3.0
LOCAL_CPUS_VARIABLE = "RLAGENTS_RAY_CPUS"  # the CPUs of a local Ray (default: the machine's)


def import_ray(why: str = "training on workers") -> Any:
    """The ``ray`` module, or one line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"{why} needs Ray, which is not installed: {RAY_EXTRA}") from None
    return ray


def check_ray_address(address: str) -> None:
    """Fail within seconds, with one line, when nothing answers at ``host:port`` (Ray's own
    connection attempt retries for a minute before it gives up)."""
    if address == "auto" or "://" in address:
        return  # Ray resolves these itself
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(
            f"{option('ray_address')} expects HOST:PORT (e.g. 127.0.0.1:6379), got {address!r}"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as err:
        raise ConfigError(
            f"no Ray cluster answers at {option('ray_address')} {address} ({err.strerror or err}); "
            f"start one there with `ray start --head --port {port}`, or leave "
            f"{option('ray_address')} out "
            "to run on a local Ray"
        ) from None


def local_cpus() -> int:
    """The CPUs a local Ray is given: the machine's, unless ``RLAGENTS_RAY_CPUS`` says."""
    text = os.environ.get(LOCAL_CPUS_VARIABLE)
    if text:
        if not text.isdigit() or int(text) < 1:
            raise ConfigError(f"{LOCAL_CPUS_VARIABLE} must be a positive integer, got {text!r}")
        return int(text)
    return os.cpu_count() or 1


@contextlib.contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """Ray for the length of a run: joined at ``address``, or started locally with
    :func:`local_cpus`; shut down at the end unless the caller had started it."""
    ray = import_ray()
    if ray.is_initialized():  # the calling program's Ray (a test, a notebook, Ray Tune)
        yield ray
        return
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,  # workers report their failures through their results
        "logging_level": logging.ERROR,
        "configure_logging": True,
    }
    handler = signal.getsignal(signal.SIGTERM)  # the run's: SIGTERM saves, then stops
    if address:
        try:
            ray.init(address=address, **options)
        except ConnectionError as err:
            raise RunFailure(
                "ray",
                f"cannot join the Ray cluster at {address} ({str(err).split('. ')[0]}); if it "
                "was started with token authentication (Ray 2.60's `ray start` does), run with "
                "RAY_AUTH_MODE=token as well",
            ) from None
    else:
        ray.init(num_cpus=local_cpus(), **options)
    if handler is not None and threading.current_thread() is threading.main_thread():
        # ray.init installs its own SIGTERM handler, which ends the process at once: the run's
        # goes back in, so that SIGTERM stops the workers and writes the checkpoint.
        signal.signal(signal.SIGTERM, handler)
    try:
        yield ray
    finally:
        ray.shutdown()


def cluster_cpus(ray: Any) -> float:
    return float(ray.cluster_resources().get("CPU", 1.0))
