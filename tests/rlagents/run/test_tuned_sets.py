"""Every tuned set says its budget, starts learning before the budget ends, and has a replay
buffer that fits a laptop; a run without --steps trains for its set's budget and says so."""

import dataclasses
import json

import pytest
from rlagents_test_plugin.runner import invoke

import rlagents
from cli.options import flag_name
from rlagents.common import frame_replay, replay
from rlagents.common.schedules import TO_ZERO_FIELDS
from rlagents.config import build_config
from rlagents.run.env_choice import EVALUATION_OVERRIDES
from rlagents.run.options import RunOptions
from rlagents.run.plan import DEFAULT_STEPS, resolve
from rlagents.run.plan_warnings import budget_warnings
from rlagents.run.runner import Run
from rlagents.run.tuned import choose_tuned_set, config_values, gpu_available

GIB = 2**30
# A set that a run can pick on a machine without a GPU must fit a laptop; a GPU-only set (one
# with a CPU alternative) a workstation.
LAPTOP_BYTES, GPU_MACHINE_BYTES = 8 * GIB, 32 * GIB
PRESET_ENVS = {name: "ALE/BattleZone-v5" for name in ("atari", "atari100k", "drq_eps")}
PRESET_ENVS["car_racing"] = "CarRacing-v3"
BUILT_IN = [s.name for s in rlagents.list_agents() if s.target.startswith("rlagents.agents.")]


def _sets():
    for name in BUILT_IN:
        cls = rlagents.load(name)
        for key, entry in cls.hyperparams.items():
            yield pytest.param(name, key, entry, id=f"{name}:{key}")


@pytest.mark.parametrize(("agent", "key", "entry"), list(_sets()))
def test_every_tuned_set_says_its_budget_and_learns_until_it_ends(agent, key, entry):
    steps = entry.get("n_timesteps")
    assert isinstance(steps, int) and steps > 0, "each tuned set says its budget (n_timesteps)"
    config = build_config(rlagents.load(agent).Config, config_values(entry))
    # It starts learning before its budget ends, and no linear schedule reaches 0 before then.
    assert budget_warnings(config, steps) == []


@pytest.mark.parametrize("agent", BUILT_IN)
def test_every_schedule_decaying_over_schedule_steps_is_one_the_plan_checks(agent):
    # A new schedule field that decays over schedule_steps must join TO_ZERO_FIELDS, or a run
    # past its end would learn nothing without the warning.
    fields = {field.name for field in dataclasses.fields(rlagents.load(agent).Config)}
    if "schedule_steps" in fields:
        assert {name for name in fields if name.endswith("_schedule")} <= set(TO_ZERO_FIELDS)


def test_a_schedule_that_ends_before_the_run_says_how_to_stretch_it():
    ppo = rlagents.load("ppo").Config
    both = build_config(
        ppo, {"lr_schedule": "linear", "clip_range_schedule": "linear", "schedule_steps": 1_000}
    )
    assert budget_warnings(both, 5_000) == [
        "lr_schedule=linear and clip_range_schedule=linear reach 0 at step 1,000 "
        "(schedule_steps), before this run's 5,000 steps end: nothing is learned after it; "
        "decay over the whole run with --set schedule_steps=5000"
    ]
    assert budget_warnings(both, 1_000) == []  # it reaches 0 as the run ends
    constant = build_config(ppo, {"schedule_steps": 1_000})
    assert budget_warnings(constant, 5_000) == []  # nothing decays


def test_a_run_trained_past_its_sets_schedule_says_so(tmp_path):
    # DQN's CartPole set decays its learning rate over its own 50k steps; --steps past them
    # (here a tiny schedule, to keep the run short) leaves the rest of the run at rate 0.
    result = invoke(
        *("--env", "CartPole-v1", "--agent", "dqn", "--steps", "300", "--eval-episodes", "0"),
        *("--set", "learning_starts=10", "--set", "schedule_steps=100"),
        run_dir=tmp_path / "run",
    )
    assert result.exit_code == 0, result.stderr
    assert "warning: lr_schedule=linear reaches 0 at step 100 (schedule_steps)" in result.stderr
    assert "--set schedule_steps=300" in result.stderr


class _Measured(Exception):
    pass


def _sets_with_a_buffer():
    for param in _sets():
        agent = param.values[0]
        if any(f.name == "buffer_size" for f in dataclasses.fields(rlagents.load(agent).Config)):
            yield param


@pytest.mark.parametrize(("agent", "key", "entry"), list(_sets_with_a_buffer()))
def test_every_replay_buffer_fits_before_it_is_allocated(agent, key, entry, monkeypatch, tmp_path):
    # The run's own buffer, sized by the check the buffer makes before allocating (stopped
    # there, so nothing is allocated).
    def measure(nbytes, *args, **kwargs):
        raise _Measured(nbytes)

    monkeypatch.setattr(replay, "check_allocation", measure)
    monkeypatch.setattr(frame_replay, "check_allocation", measure)
    opts = RunOptions(
        env_id=PRESET_ENVS.get(key, key), agent=agent, hyperparams=key, run_dir=str(tmp_path)
    )
    with pytest.raises(_Measured) as measured:
        Run(opts)
    nbytes = measured.value.args[0]
    gpu_only = key in rlagents.load(agent).cpu_alternatives
    assert nbytes <= (GPU_MACHINE_BYTES if gpu_only else LAPTOP_BYTES), f"{nbytes / GIB:.1f} GiB"


def test_atari_on_a_cpu_takes_the_100k_set_and_a_gpu_the_nature_set():
    dqn = rlagents.load("dqn")
    on_cpu = choose_tuned_set(dqn, "dqn", "auto", "ALE/BattleZone-v5", "atari", has_gpu=False)
    assert (on_cpu.name, on_cpu.instead_of, on_cpu.steps) == ("atari100k", "atari", 100_000)
    assert on_cpu.values["learning_starts"] < on_cpu.steps
    on_gpu = choose_tuned_set(dqn, "dqn", "auto", "ALE/BattleZone-v5", "atari", has_gpu=True)
    assert (on_gpu.name, on_gpu.instead_of) == ("atari", None)
    named = choose_tuned_set(dqn, "dqn", "atari", "ALE/BattleZone-v5", "atari", has_gpu=False)
    assert named.name == "atari"  # asked for by name: given, GPU or not
    assert "n_timesteps" not in on_cpu.values  # a run key, not a Config field


def test_a_run_without_steps_trains_for_its_sets_budget(tmp_path):
    plan = resolve(RunOptions(env_id="CartPole-v1", agent="ppo", run_dir=str(tmp_path / "a")))
    assert plan.budget == rlagents.load("ppo").hyperparams["CartPole-v1"]["n_timesteps"]
    assert "tuned set 'CartPole-v1', tuned for 100,000 steps" in plan.start_line()
    given = resolve(
        RunOptions(env_id="CartPole-v1", agent="ppo", steps=300, run_dir=str(tmp_path / "b"))
    )
    assert given.budget == 300
    untuned = resolve(
        RunOptions(
            env_id="CartPole-v1", agent="ppo", hyperparams="none", run_dir=str(tmp_path / "c")
        )
    )
    assert untuned.budget == 100_000 and "no tuned set" in untuned.start_line()


def test_config_json_records_the_budget_and_the_set(tmp_path):
    result = invoke(
        *("--env", "CartPole-v1", "--agent", "ppo", "--steps", "512", "--eval-episodes", "1"),
        *("--run-dir", tmp_path / "run", "--no-tensorboard"),  # not --quiet: the start line
    )
    assert result.exit_code == 0, result.stderr
    assert "rlrun: ppo on CartPole-v1; tuned set 'CartPole-v1'" in result.stderr
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["steps"], config["tuned_set"]) == (512, "CartPole-v1")
    shown = invoke("--agent", "dqn", "--env", "ALE/BattleZone-v5", "--show-config")
    assert shown.exit_code == 0, shown.stderr
    if gpu_available():
        return  # the Nature set, then
    assert "tuned set 'atari100k' (no GPU here: instead of 'atari')" in shown.stdout
    assert "about 49 min of training at the 34 steps/s it measured on a 2-core CPU" in shown.stdout


@pytest.mark.parametrize("agent", BUILT_IN)
def test_no_default_config_starts_learning_after_the_default_budget(agent):
    config = build_config(rlagents.load(agent).Config, {})
    assert getattr(config, "learning_starts", 0) < DEFAULT_STEPS


def test_a_tuned_sets_preset_options_apply_unless_given(tmp_path, monkeypatch):
    ppo = rlagents.load("ppo")
    tuned = {"remove_velocity": {"n_timesteps": 2_000, "preset_kwargs": {"stack_size": 3}}}
    monkeypatch.setattr(ppo, "hyperparams", tuned)

    def run(name, **options):
        opts = RunOptions(
            env_id="CartPole-v1",
            agent="ppo",
            preset="remove_velocity",
            run_dir=str(tmp_path / name),
            **options,
        )
        return resolve(opts)

    from_set = run("set")
    assert from_set.observation_space.shape == (3, 2)  # x, θ over 3 steps
    assert from_set.budget == 2_000 and "preset options stack_size=3" in from_set.start_line()
    given = run("given", preset_kwargs={"stack_size": 2})
    assert given.observation_space.shape == (2, 2)
    # The line names the set's options as what it was tuned with, then this run's own
    assert given.start_line().endswith("this run: 2,000 steps with preset options stack_size=2")


def test_a_run_that_would_never_learn_says_so(tmp_path):
    result = invoke(
        *("--env", "CartPole-v1", "--agent", "dqn", "--steps", "500", "--eval-episodes", "0"),
        run_dir=tmp_path / "run",
    )
    assert result.exit_code == 0, result.stderr
    assert "warning: learning_starts 1,000 is not below this run's 500 steps" in result.stderr


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("n_timesteps: -5\n", "n_timesteps must be a positive integer"),
        ("n_timesteps: lots\n", "n_timesteps must be a positive integer"),
        ("preset_kwargs: [1, 2]\n", "preset_kwargs must be a mapping"),
    ],
)
def test_a_bad_run_key_in_a_tuned_set_file_is_one_line(tmp_path, yaml_text, message):
    path = tmp_path / "set.yaml"
    path.write_text(yaml_text)
    result = invoke(
        *("--env", "CartPole-v1", "--agent", "ppo", "--hyperparams", path),
        run_dir=tmp_path / "run",
    )
    assert result.exit_code == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("rlrun: error: ") and message in line
    assert not (tmp_path / "run").exists()


def test_a_bad_backend_from_python_is_one_line(tmp_path):
    from rlagents.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^backend is one of auto, gymnasium, envpool"):
        resolve(
            RunOptions(env_id="CartPole-v1", agent="ppo", backend="fast", run_dir=str(tmp_path))
        )


@pytest.mark.parametrize("tuned_set", ["atari100k", "atari"])
def test_atari_sets_train_on_lives_and_evaluate_whole_games(tmp_path, tuned_set):
    def run(name, **options):
        opts = RunOptions(
            env_id="ALE/BattleZone-v5",
            agent="dqn",
            hyperparams=tuned_set,
            steps=10,
            config={"buffer_size": 1_000},
            eval_episodes=0,
            run_dir=str(tmp_path / name),
            **options,
        )
        made = Run(opts)
        made.close()
        return made

    from_set = run("set")
    assert from_set.stepper.env.get_wrapper_attr("terminal_on_life_loss") is True
    assert from_set.plan.env.preset_kwargs == {"terminal_on_life_loss": True}
    evaluation = from_set.plan.env.for_evaluation().make(**EVALUATION_OVERRIDES["atari"])
    assert evaluation.get_wrapper_attr("terminal_on_life_loss") is False
    evaluation.close()
    # --env-kwargs names the option: the user's word, not a clash with the set's
    off = run("off", env_kwargs={"terminal_on_life_loss": False})
    assert off.stepper.env.get_wrapper_attr("terminal_on_life_loss") is False
    assert "this run: 10 steps with terminal_on_life_loss=False from --env-kwargs" in (
        off.plan.start_line(flag_name)
    )
    assert "preset options none" not in off.plan.start_line()
