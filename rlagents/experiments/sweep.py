"""``rlrun sweep``: a hyper-parameter search on Ray Tune, every trial scored over several seeds.

The space is a YAML mapping of the agent's ``Config`` fields to one of::

    learning_rate: {loguniform: [1.0e-4, 1.0e-2]}
    gamma: {uniform: [0.9, 0.999]}
    n_steps: {int: [16, 256]}          # both ends included
    optimizer: {choice: [adam, rmsprop]}

checked against the ``Config`` before Ray starts. Tune does the rest — Optuna's TPE proposes the
trials, ASHA stops the poor ones early, trials and results go to the sweep's directory, and a
sweep run again with the same ``--run-dir`` resumes. A trial trains its ``--seeds K`` seeds side
by side (one thread each) and reports, after every evaluation round, ``score``: the mean of all
the seeds' evaluations so far — one lucky seed does not make a trial, and a trial that learns
sooner scores more. The best configuration is written as ``best.yaml``, a tuned set that
``rlrun --hyperparams best.yaml`` reads.
"""

from __future__ import annotations

import dataclasses
import statistics
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlagents.config import build_config
from rlagents.errors import ConfigError, did_you_mean, option
from rlagents.experiments.seeds import check_options
from rlagents.run.callbacks import Callback
from rlagents.run.options import RunOptions

KINDS = ("choice", "uniform", "loguniform", "int")
METRIC = "score"
BEST_FILE = "best.yaml"


def read_space(path: str | Path, config_cls: type) -> dict[str, tuple[str, list[Any]]]:
    """The space in ``path`` as ``{field: (kind, values)}``, checked against ``config_cls``."""
    import yaml

    where = f"{option('space')} {path}"
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise ConfigError(f"{where}: cannot read it ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{where}: not YAML ({' '.join(str(err).split())})") from None
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{where}: expected a mapping of Config fields to {{kind: values}}")
    fields = {f.name for f in dataclasses.fields(config_cls)}
    space = {}
    for name, spec in raw.items():
        if name not in fields:
            raise ConfigError(
                f"{where}: {config_cls.__qualname__} has no field {name!r}"
                f"{did_you_mean(str(name), sorted(fields))}"
            )
        space[name] = _check_dimension(where, config_cls, name, spec)
    return space


def _yaml11_float(value: Any) -> Any:
    """YAML 1.1 (PyYAML) reads ``1e-4`` as a string (it wants ``1.0e-4``); read it as the
    number everyone means."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _check_dimension(where: str, config_cls: type, name: str, spec: Any) -> tuple[str, list]:
    if not (isinstance(spec, Mapping) and len(spec) == 1 and next(iter(spec)) in KINDS):
        raise ConfigError(
            f"{where}: {name}: expected one of {', '.join(f'{{{k}: [...]}}' for k in KINDS)}, "
            f"got {spec!r}"
        )
    kind, values = next(iter(spec.items()))
    if not isinstance(values, list) or not values or (kind != "choice" and len(values) != 2):
        wanted = "a non-empty list" if kind == "choice" else "[low, high]"
        raise ConfigError(f"{where}: {name}: {kind} takes {wanted}, got {values!r}")
    if kind in ("uniform", "loguniform"):
        values = [_yaml11_float(v) for v in values]
    for value in values:  # each end or choice must be a value the field takes
        try:
            build_config(config_cls, {name: value})
        except ConfigError as err:
            raise ConfigError(
                f"{where}: {name}: {value!r} is not a value it takes ({err})"
            ) from None
    if kind == "choice":
        return kind, values
    low, high = values
    if kind == "int" and not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ConfigError(f"{where}: {name}: int takes two integers, got {values!r}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ConfigError(f"{where}: {name}: {kind} takes two numbers, got {values!r}")
    if low > high or (kind != "int" and low == high):
        raise ConfigError(f"{where}: {name}: the range {values!r} is empty")
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"{where}: {name}: loguniform needs a positive low end, got {low!r}")
    return kind, values


def tune_space(space: Mapping[str, tuple[str, list[Any]]]) -> dict[str, Any]:
    from ray import tune

    makers = {
        "choice": lambda v: tune.choice(v),
        "uniform": lambda v: tune.uniform(*v),
        "loguniform": lambda v: tune.loguniform(*v),
        "int": lambda v: tune.randint(v[0], v[1] + 1),  # Tune's high end is exclusive
    }
    return {name: makers[kind](values) for name, (kind, values) in space.items()}


class _Lockstep(Callback):
    """Hands a seed's evaluations to its trial; stops the run once the trial is over."""

    def __init__(self, seed: int, trial: _Trial) -> None:
        self.seed, self.trial = seed, trial

    def on_evaluation(self, step: int, mean: float, std: float, episodes: int) -> bool:
        with self.trial.changed:
            self.trial.evaluations[self.seed].append(mean)
            self.trial.changed.notify_all()
        return not self.trial.over.is_set()


class _Trial:
    """One trial's seeds, trained in threads, their evaluations gathered round by round."""

    def __init__(self, seeds: list[int]) -> None:
        self.seeds = seeds
        self.evaluations: dict[int, list[float]] = {s: [] for s in seeds}
        self.finished: set[int] = set()
        self.errors: dict[int, str] = {}
        self.changed = threading.Condition()
        self.over = threading.Event()

    def train(self, seed: int, opts: RunOptions) -> None:
        from rlagents.run.runner import Run

        try:
            Run(opts, callbacks=[_Lockstep(seed, self)]).execute()
        except Exception as err:  # reported by the trial
            self.errors[seed] = str(err)
        finally:
            with self.changed:
                self.finished.add(seed)
                self.changed.notify_all()

    def wait_finished(self) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.finished.issuperset(self.seeds))

    def round(self, k: int) -> list[float]:
        """The seeds' k-th evaluations, once every seed has made it or finished."""
        with self.changed:
            self.changed.wait_for(
                lambda: all(len(self.evaluations[s]) > k or s in self.finished for s in self.seeds)
            )
            return [self.evaluations[s][k] for s in self.seeds if len(self.evaluations[s]) > k]


def trial_options(
    base: RunOptions, config: Mapping[str, Any], seed: int, run_dir: Path
) -> RunOptions:
    overrides = {**base.config, **config}
    overrides.setdefault("num_threads", 1)
    return dataclasses.replace(
        base, seed=seed, config=overrides, run_dir=str(run_dir), tensorboard=False, ray_address=None
    )


def run_trial(config: dict[str, Any], *, base: RunOptions, seeds: list[int]) -> None:
    """Tune's function trainable: train the seeds, report ``score`` after each round."""
    from ray import tune

    trial_dir = Path(tune.get_context().get_trial_dir())
    trial = _Trial(seeds)
    threads = [
        threading.Thread(
            target=trial.train, args=(s, trial_options(base, config, s, trial_dir / f"s{s}"))
        )
        for s in seeds
    ]
    for thread in threads:
        thread.start()
    means: list[float] = []
    last_round = max(base.steps // base.eval_every, 1) - 1  # type: ignore[operator]
    try:
        for k in range(10**9):
            evaluations = trial.round(k)
            if not evaluations:
                break
            if k >= last_round:
                # Tune stops a trial at its last round without waiting for this function:
                # let the seeds finish their runs (summary, checkpoints) before reporting it.
                trial.wait_finished()
            means.append(statistics.fmean(evaluations))
            tune.report({METRIC: statistics.fmean(means), "evaluation": means[-1], "round": k + 1})
    finally:
        trial.over.set()
        for thread in threads:
            thread.join()
    if not means:
        raise RuntimeError(f"no seed of the trial evaluated: {trial.errors}")


def check_sweep_options(opts: RunOptions) -> None:
    if not opts.eval_every or not opts.steps:
        raise ConfigError(
            f"a sweep needs {option('steps')} N and {option('eval_every')} N (trials are "
            "scored there)"
        )
    if opts.load or opts.seed is not None or opts.save:
        raise ConfigError(
            f"a sweep starts its own runs: drop {option('load')}, {option('seed')} and "
            f"{option('save')}"
        )


def run_sweep(
    opts: RunOptions,
    space_path: str,
    *,
    trials: int,
    seeds: list[int],
    sweep_dir: Path,
    grace_rounds: int = 1,
) -> dict[str, Any]:
    """Search, or resume the search in ``sweep_dir``; write ``best.yaml``; return the best.
    ASHA may stop a trial after ``grace_rounds`` evaluation rounds, not before."""
    import yaml

    from rlagents import registry
    from rlagents.run.distributed.cluster import import_ray, ray_session

    check_sweep_options(opts)
    rounds = opts.steps // opts.eval_every  # type: ignore[operator]
    if not 1 <= grace_rounds <= max(rounds, 1):
        raise ConfigError(
            f"{option('grace_rounds')} {grace_rounds}: a trial has {rounds} evaluation rounds "
            f"({option('steps')} / {option('eval_every')}); give 1 to {max(rounds, 1)}"
        )
    agent_cls = registry.load(str(opts.agent))
    space = read_space(space_path, agent_cls.Config)
    # builds one run: a bad option fails here, before Ray; the trials start from its tuned set
    trial = trial_options(opts, {}, 0, Path("."))
    checked = check_options(trial)
    if checked.workers:
        raise ConfigError(
            f"a sweep trains each trial's seeds in one process, and agent {opts.agent!r} trains "
            f"on remote workers; sweep its single-process twin (a3c's is a2c) or run "
            f"{option('seeds')}"
        )
    base_set = {k: _yaml_value(v) for k, v in checked.tuned.values.items()}
    import_ray("rlrun sweep")
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    sweep_dir = sweep_dir.absolute()
    storage = sweep_dir / "tune"
    trainable = tune.with_parameters(run_trial, base=opts, seeds=seeds)
    with ray_session(opts.ray_address):
        if tune.Tuner.can_restore(str(storage)):
            tuner = tune.Tuner.restore(
                str(storage), trainable, resume_unfinished=True, restart_errored=True
            )
        else:
            tuner = tune.Tuner(
                trainable,
                param_space=tune_space(space),
                tune_config=tune.TuneConfig(
                    metric=METRIC,
                    mode="max",
                    num_samples=trials,
                    search_alg=OptunaSearch(seed=0),  # TPE, Optuna's default sampler
                    scheduler=ASHAScheduler(
                        time_attr="round",
                        max_t=max(rounds, 1),
                        grace_period=grace_rounds,
                        reduction_factor=3,
                    ),
                ),
                run_config=tune.RunConfig(name="tune", storage_path=str(sweep_dir), verbose=0),
            )
        results = tuner.fit()
    best = results.get_best_result(metric=METRIC, mode="max")
    if best is None or not best.metrics or METRIC not in best.metrics or best.config is None:
        raise ConfigError(f"no trial of the sweep reported a score; see {storage}")
    values = {name: best.config[name] for name in space}
    tuned = {**base_set, **opts.config, **_plain(values)}  # a whole set: what the trials ran
    tuned["n_timesteps"] = opts.steps  # the budget it was tuned for (rlagents.run.tuned)
    header = (
        f"# rlrun sweep: {opts.agent} on {opts.env_id}, {len(results)} trials × {len(seeds)} "
        f"seeds, {opts.steps} steps; best score {best.metrics[METRIC]:.2f}\n"
    )
    (sweep_dir / BEST_FILE).write_text(header + yaml.safe_dump(tuned, sort_keys=True))
    frame = results.get_dataframe()
    frame.to_csv(sweep_dir / "trials.csv", index=False)
    return {"best": values, "score": best.metrics[METRIC], "trials": len(results)}


def _yaml_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """numpy numbers as Python's, for YAML."""
    return {k: v.item() if hasattr(v, "item") else v for k, v in values.items()}
