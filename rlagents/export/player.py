"""Play an exported policy with onnxruntime, numpy and the ``wrappers`` presets — no torch.

:func:`play` rebuilds the env the agent was trained on from ``policy.json`` (env id and kwargs,
preset and options, the real game's evaluation settings) and plays greedy episodes exactly as
``rlrun --eval-only`` does: the same seeds (``evaluation_seed(seed) + k``), the same episode cut,
so that the two print the same mean return.

    >>> from rlagents.export.player import OnnxPolicy, play  # doctest: +SKIP
    >>> returns = play("policy.onnx", episodes=10, seed=0)   # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from rlagents.errors import ExportError
from rlagents.run import envs as envlib
from rlagents.run.env_choice import EVALUATION_OVERRIDES
from rlagents.run.evaluation import EVAL_MAX_STEPS
from rlagents.run.loop import evaluate, evaluation_seed


class OnnxPolicy:
    """An exported policy behind the agent's acting contract: ``act(obs_batch, explore=False)``
    returns the batch's env actions."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = Path(path)
        meta_path = path.with_suffix(".json")
        if not path.is_file() or not meta_path.is_file():
            raise ExportError(
                f"{path}: needs the .onnx file and its .json beside it, as rlrun export writes"
            )
        try:
            import onnxruntime
        except ImportError:
            raise ExportError("playing needs onnxruntime: pip install 'rlagents[export]'") from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one observation at a time: threads cost more
        try:
            self.meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
            self.input_dtype = np.dtype(self.meta["input"]["dtype"])
            self.session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # a damaged or foreign file: one line, never a traceback
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ExportError(
                f"{path}: cannot load it ({first}); export it again with rlrun export"
            ) from None

    def act(self, obs: Any, *, explore: bool = False) -> np.ndarray:
        batch = np.asarray(obs, dtype=self.input_dtype)
        return self.session.run(None, {"obs": batch})[0]

    def begin_episodes(self, mask: Any = None) -> None:
        """Stateless: nothing to forget between episodes."""


def evaluation_env(meta: dict[str, Any]) -> Any:
    """The env ``rlrun --eval-only`` evaluates the agent on: the real game's."""
    factory = envlib.EnvFactory(
        meta["env_id"], dict(meta.get("env_kwargs") or {}), meta.get("preset"),
        dict(meta.get("preset_kwargs") or {}),
    ).for_evaluation()  # fmt: skip
    envlib.register_env_namespace(meta["env_id"])
    return factory.make(**EVALUATION_OVERRIDES.get(meta.get("preset") or "", {}))


def play(
    path: str | os.PathLike[str],
    *,
    episodes: int = 10,
    seed: int = 0,
    max_steps: int | None = None,
) -> list[float]:
    """The returns of ``episodes`` greedy episodes of the exported policy at ``path``, with
    the evaluation seeds of a run of seed ``seed``."""
    policy = OnnxPolicy(path)
    env = evaluation_env(policy.meta)
    try:
        if max_steps is None:
            has_limit = env.spec is not None and env.spec.max_episode_steps
            max_steps = None if has_limit else EVAL_MAX_STEPS
        return evaluate(policy, env, episodes, evaluation_seed(seed), max_steps=max_steps)  # type: ignore[arg-type]
    finally:
        env.close()
