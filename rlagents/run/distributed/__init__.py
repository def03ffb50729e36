"""Training on remote workers, on Ray: A3C's asynchronous gradients, and rollouts collected by
``--workers N`` for the on-policy agents.

The learner stays the run's agent, in the run's process: it logs, evaluates and checkpoints as in
a single-process run. Each worker is a Ray actor (:class:`~rlagents.run.distributed.worker.Worker`)
with envs built by the run's env factory and preset and a copy of the agent, which acts and
observes as the ordinary loop would; the agent's distributed seam (``get_weights`` /
``set_weights`` / ``collected`` / ``learn_from``, see :class:`rlagents.Agent`) is all that
passes between them. Ray is imported only here, when a run asks for workers.
"""

from rlagents.run.distributed.cluster import check_ray_address, import_ray
from rlagents.run.distributed.training import WorkerSpec, train_on_workers

__all__ = ["WorkerSpec", "check_ray_address", "import_ray", "train_on_workers"]
