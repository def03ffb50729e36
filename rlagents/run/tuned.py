"""Which tuned set a run uses, and what the set says about the run.

An agent's ``hyperparams`` table maps an env id or a preset name to a tuned set: Config fields
and values, as rl-zoo3's files do, plus two keys that describe the run rather than the agent:

* ``n_timesteps`` — the budget the set was tuned for (rl-zoo3's name); a run without
  ``--steps`` or ``--episodes`` trains for it;
* ``cpu_steps_per_second`` — what a run of this set measured on a 2-core CPU without a GPU
  (``benchmarks/RESULTS.md``), from which the run's start line says how long it will take;
* ``preset_kwargs`` — options of the env preset the set was tuned with (an action repeat, a
  frame size), which a run takes unless ``--preset-kwargs`` is given (rl-zoo3's files name
  their env wrappers the same way).

An agent's ``cpu_alternatives`` names, for a set that only a GPU gets through in hours, the set
that ``--hyperparams auto`` takes instead on a machine without one (DQN: ``atari`` → ``atari100k``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlagents.errors import ConfigError, option
from rlagents.run.envs import AUTO, NONE  # the option words --preset uses too

if TYPE_CHECKING:
    from rlagents.agent import Agent

RUN_KEYS = ("n_timesteps", "cpu_steps_per_second", "preset_kwargs")  # not Config fields


@dataclass(frozen=True)
class TunedSet:
    """The tuned set a run uses (``name`` None: the Config's own defaults)."""

    name: str | None
    values: dict[str, Any] = field(default_factory=dict)  # Config field -> value
    steps: int | None = None  # the budget it was tuned for
    cpu_steps_per_second: float | None = None  # measured on a 2-core CPU
    preset_kwargs: dict[str, Any] = field(default_factory=dict)  # the preset's options
    instead_of: str | None = None  # the GPU set it stands in for, on a machine without a GPU

    def describe(self, env_id: str) -> str:
        """Which set, and what it was tuned for (``--show-config``)."""
        if self.name is None:
            return f"no tuned set for {env_id}: the Config's defaults"
        text = f"tuned set {self.name!r}"
        if self.instead_of:
            text += f" (no GPU here: instead of {self.instead_of!r})"
        if self.steps:
            text += f", tuned for {self.steps:,} steps"
        if self.preset_kwargs:
            options = ", ".join(f"{k}={v!r}" for k, v in self.preset_kwargs.items())
            text += f" with preset options {options}"
        return text

    def expected_time(self, steps: int | None) -> str | None:
        """``"about 40 min of training at the 42 steps/s it measured on a 2-core CPU"`` for
        ``steps``, where the set has a measured speed (evaluations come on top)."""
        if not steps or not self.cpu_steps_per_second:
            return None
        return (
            f"about {format_duration(steps / self.cpu_steps_per_second)} of training at the "
            f"{self.cpu_steps_per_second:,.0f} steps/s it measured on a 2-core CPU"
        )


def choose_tuned_set(
    agent_cls: type[Agent],
    agent_name: str,
    choice: str,
    env_id: str,
    preset: str | None,
    *,
    has_gpu: bool | None = None,
) -> TunedSet:
    """The set ``--hyperparams choice`` names: ``auto`` (the env id's set, else the preset's,
    or its CPU alternative where there is no GPU), ``none``, a set's name, or a YAML file."""
    table = agent_cls.hyperparams
    if choice == NONE:
        return TunedSet(None)
    if choice.endswith((".yaml", ".yml")):
        return _split(choice, read_tuned_set(choice))
    if choice != AUTO:
        if choice not in table:
            raise ConfigError(
                f"agent {agent_name!r} has no hyper-parameter set {choice!r}; "
                f"it has: {', '.join(table) or 'none'}"
            )
        return _split(choice, table[choice])
    for key in (env_id, preset):
        if key and key in table:
            alternative = agent_cls.cpu_alternatives.get(key)
            if alternative and not (gpu_available() if has_gpu is None else has_gpu):
                return _split(alternative, table[alternative], instead_of=key)
            return _split(key, table[key])
    return TunedSet(None)


def config_values(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A tuned set's Config fields and values (without its run keys)."""
    return {k: v for k, v in entry.items() if k not in RUN_KEYS}


def config_sets(agent_cls: type[Agent]) -> dict[str, dict[str, Any]]:
    """Each of an agent's tuned sets, by name, as Config values."""
    return {name: config_values(entry) for name, entry in agent_cls.hyperparams.items()}


def _split(name: str, entry: Mapping[str, Any], instead_of: str | None = None) -> TunedSet:
    values = config_values(entry)
    steps, speed = entry.get("n_timesteps"), entry.get("cpu_steps_per_second")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ConfigError(
            f"tuned set {name!r}: n_timesteps must be a positive integer, not {steps!r}"
        )
    preset_kwargs = entry.get("preset_kwargs") or {}
    if not isinstance(preset_kwargs, Mapping):
        raise ConfigError(f"tuned set {name!r}: preset_kwargs must be a mapping of options")
    return TunedSet(
        name,
        values,
        steps=steps,
        cpu_steps_per_second=None if speed is None else float(speed),
        preset_kwargs=dict(preset_kwargs),
        instead_of=instead_of,
    )


def gpu_available() -> bool:
    """Whether ``device=auto`` (every agent's default) would train on a GPU here."""
    from rlagents.common.torch_utils import select_device

    return select_device("auto").type == "cuda"


def read_tuned_set(path: str) -> dict[str, Any]:
    """A tuned set in a YAML file (``rlrun sweep``'s ``best.yaml``): Config field → value."""
    import yaml

    try:
        values = yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise ConfigError(
            f"{option('hyperparams')} {path}: cannot read it ({err.strerror or err})"
        ) from None
    except yaml.YAMLError as err:
        raise ConfigError(
            f"{option('hyperparams')} {path}: not YAML ({' '.join(str(err).split())})"
        ) from None
    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        raise ConfigError(
            f"{option('hyperparams')} {path}: expected a mapping of Config fields to values"
        )
    return values


def format_duration(seconds: float) -> str:
    """``"40 min"``, ``"2.5 h"``, ``"45 s"``.

    >>> format_duration(45), format_duration(2400), format_duration(9000)
    ('45 s', '40 min', '2.5 h')
    """
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
