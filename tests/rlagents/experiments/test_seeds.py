"""``--seeds``: one run per seed, identical to single runs; the aggregate's statistics; a failing
seed does not stop the others; ``rlrun compare`` and ``rlrun plot`` over groups."""

import json
import signal

import numpy as np
import pytest
from rlagents_test_plugin.processes import default_sigint
from rlagents_test_plugin.runner import invoke

from rlagents.common import stats
from rlagents.common.stats import iqm, summarize
from rlagents.errors import ConfigError
from rlagents.experiments.seeds import aggregate, parse_seeds
from rlagents.run.options import RunOptions

PPO = ("--env", "CartPole-v1", "--agent", "ppo", "--set", "n_steps=64", "--set", "batch_size=64")


@pytest.mark.parametrize(
    ("text", "seeds"),
    [("0-3", [0, 1, 2, 3]), ("1,5,9", [1, 5, 9]), ("0-2,2,7", [0, 1, 2, 7]), (" 4 ", [4])],
)
def test_seeds_are_parsed(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", "a-b", "3-1", "1,,2", "-1"])
def test_bad_seeds_are_one_line(text):
    with pytest.raises(ConfigError, match=r"^seeds "):
        parse_seeds(text)


def test_statistics_against_a_hand_computed_example():
    values = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 1000.0]
    assert iqm(values) == pytest.approx((30 + 40 + 50 + 60) / 4)  # 2 cut from each end
    summary = summarize([*values, None])
    assert summary["n"] == 8 and summary["missing"] == 1
    assert summary["mean"] == pytest.approx(160.0)
    assert summary["median"] == pytest.approx(45.0)
    assert summary["std"] == pytest.approx(float(np.std(values)))
    low, high = summary["iqm_ci95"]  # the interval of the IQM: it holds the IQM, not the mean
    assert low <= 45.0 <= high < 1000.0
    assert summary["median_ci95"][0] <= 45.0 <= summary["median_ci95"][1]
    assert stats.interval(values, "iqm") == (low, high)  # a fixed generator: the same every call


def test_the_iqm_interval_is_a_percentile_bootstrap_of_the_iqm():
    """Checked against a bootstrap written out here with numpy: the same resampling scheme
    (n values drawn with replacement), the IQM of each, the 2.5 and 97.5 percentiles."""
    rng = np.random.default_rng(7)
    values = rng.normal(100.0, 30.0, size=10)
    low, high = stats.interval(values, "iqm")
    draws = np.random.default_rng(1).integers(0, 10, size=(40_000, 10))
    by_hand = [iqm(row) for row in values[draws]]
    expected = np.percentile(by_hand, [2.5, 97.5])
    assert low == pytest.approx(expected[0], abs=1.5) and high == pytest.approx(
        expected[1], abs=1.5
    )
    assert low < iqm(values) < high


def test_one_seed_has_no_interval_and_equal_seeds_a_point():
    assert stats.interval([3.0]) is None and summarize([3.0])["iqm_ci95"] is None
    assert stats.interval([2.0, 2.0, 2.0], "median") == (2.0, 2.0)
    assert stats.probability_of_improvement([5.0], [1.0, 2.0]) == (1.0, None)


def test_probability_of_improvement_counts_pairs_and_ties_half():
    x, y = [1.0, 2.0, 3.0], [2.0, 2.0, 0.0]
    # pairs where x > y: (2,0), (3,2), (3,2), (3,0), (1,0) = 5; ties (2,2) twice = 1; of 9
    point, (low, high) = stats.probability_of_improvement(x, y)
    assert point == pytest.approx(6 / 9)
    assert 0.0 <= low <= point <= high <= 1.0


def test_a_performance_profile_is_the_fraction_above_each_threshold():
    fraction, low, high = stats.performance_profile([1.0, 2.0, 3.0, 4.0], np.array([0.0, 2.5, 9]))
    np.testing.assert_allclose(fraction, [1.0, 0.5, 0.0])
    np.testing.assert_allclose(low[[0, 2]], [1.0, 0.0])  # every resample agrees there
    assert low[1] < 0.5 < high[1]


def _fake_run(root, seed, evals, steps=1000, sps=500.0, by_agent=None, machine=None):
    run = root / f"s{seed}"
    run.mkdir(parents=True)
    lines = ["step,wall_seconds,mean_return,std_return,episodes"]
    lines += [f"{s},{s / 100},{m},0,10" for s, m in evals]
    (run / "evaluations.csv").write_text("\n".join(lines) + "\n")
    summary = {"steps": steps, "wall_seconds": steps / sps, "steps_per_second": sps}
    if by_agent:
        summary["eval_mean_return_by_agent"] = by_agent
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "config.json").write_text(json.dumps({"machine": machine} if machine else {}))


def test_the_aggregate_of_a_hand_made_group(tmp_path):
    _fake_run(tmp_path, 0, [(100, 50.0), (200, 480.0), (300, 300.0)])
    _fake_run(tmp_path, 1, [(100, 100.0), (200, 200.0), (300, 490.0)])
    _fake_run(tmp_path, 2, [(100, 20.0), (200, 30.0), (300, 40.0)])
    opts = RunOptions(env_id="CartPole-v1", agent="ppo", stop_at_return=475.0)
    outcomes = {s: {"status": "done"} for s in (0, 1, 2)} | {3: {"status": "failed", "error": "x"}}
    result = aggregate(tmp_path, opts, outcomes)
    assert result["per_seed"]["0"]["final"] == 300.0 and result["per_seed"]["0"]["best"] == 480.0
    assert [result["per_seed"][s]["steps_to_target"] for s in "012"] == [200, 300, None]
    assert result["per_seed"]["1"]["seconds_to_target"] == 3.0
    assert result["failed"] == {"3": "x"}
    assert result["final"]["median"] == 300.0 and result["final"]["mean"] == pytest.approx(830 / 3)
    assert result["steps_to_target"]["median"] == 250.0
    assert result["steps_to_target"]["missing"] == 1


def test_seed_runs_are_the_single_runs_with_those_seeds(local_ray, tmp_path):
    group = tmp_path / "group"
    common = (*PPO, "--steps", "1024", "--eval-every", "512", "--eval-episodes", "2")
    result = invoke(*common, "--seeds", "0-1", "--target", "20", run_dir=group)
    assert result.exit_code == 0, result.stderr
    assert "seeds 0-1: 2/2 runs done" in result.stdout
    single = invoke(*common, "--seed", "1", run_dir=tmp_path / "single")
    assert single.exit_code == 0, single.stderr
    for name in ("progress.csv", "evaluations.csv"):
        ours = [row.split(",")[2] for row in (group / "s1" / name).read_text().splitlines()]
        theirs = [
            row.split(",")[2] for row in (tmp_path / "single" / name).read_text().splitlines()
        ]
        assert ours == theirs  # the returns, episode by episode (the wall seconds differ)
    result = json.loads((group / "aggregate.json").read_text())
    assert sorted(result["per_seed"]) == ["0", "1"] and not result["failed"]
    assert result["target"] == 20.0 and result["steps_to_target"]["n"] == 2  # runs went on:
    assert all(seed["steps"] == 1024 for seed in result["per_seed"].values())  # --target
    lone = invoke(*common, "--target", "20", run_dir=tmp_path / "lone")
    assert lone.exit_code == 2 and "--target is for --seeds groups" in lone.stderr
    plot = invoke("plot", group, "--out", tmp_path / "curves.png", "--eval")  # mean and band
    assert plot.exit_code == 0, plot.stderr
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_a_failing_seed_is_reported_and_the_others_finish(local_ray, tmp_path):
    group = tmp_path / "group"
    result = invoke(
        *("--env", "CartPole-v1", "--agent", "rlagents_test_plugin.faults:FaultyAgent"),
        *("--set", "fail_with_seed=1", "--steps", "300", "--seeds", "0-2"),
        run_dir=group,
    )
    assert result.exit_code == 1
    assert "rlrun: error: seed 1: " in result.stderr and "simulated fault in act()" in result.stderr
    assert "seeds 0-2: 2/3 runs done" in result.stdout
    aggregate_ = json.loads((group / "aggregate.json").read_text())
    assert sorted(aggregate_["per_seed"]) == ["0", "2"] and list(aggregate_["failed"]) == ["1"]


def test_seeds_of_a_run_on_workers_take_turns(local_ray, tmp_path):
    # An A3C seed's two workers take both CPUs: the seeds run one after another, each on its
    # own workers (side by side, a seed's task would hold a CPU its workers wait for).
    group = tmp_path / "group"
    result = invoke(
        *("--env", "CartPole-v1", "--agent", "a3c", "--seeds", "0-1", "--steps", "2000"),
        *("--eval-every", "1000", "--eval-episodes", "2"),
        run_dir=group,
    )
    assert result.exit_code == 0, result.stderr
    assert "seeds 0-1: 2/2 runs done" in result.stdout
    aggregate_ = json.loads((group / "aggregate.json").read_text())
    assert sorted(aggregate_["per_seed"]) == ["0", "1"] and not aggregate_["failed"]
    for seed in (0, 1):
        config = json.loads((group / f"s{seed}" / "config.json").read_text())
        assert config["seed"] == seed


def test_bad_group_options_fail_before_ray_starts(tmp_path):
    for extra, message in (
        (("--seeds", "0-1", "--seed", "3"), "give --seed or --seeds, not both"),
        (("--seeds", "2-1"), "--seeds '2-1': the range 2-1 is empty"),
        (("--seeds", "0-1", "--set", "n_stepz=3"), "n_stepz"),
    ):
        result = invoke(*PPO, *extra, run_dir=tmp_path / "g")
        assert result.exit_code == 2, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("rlrun: error: ") and message in line
        assert not (tmp_path / "g").exists()


def test_compare_shows_a_multi_agent_groups_final_return_per_agent(tmp_path):
    finals = [{"agent_0": -10.0, "agent_1": -12.0}, {"agent_0": -14.0, "agent_1": -11.0}]
    for seed, by_agent in enumerate(finals):
        _fake_run(tmp_path / "g", seed, [(100, -11.5)], by_agent=by_agent)
    opts = RunOptions(env_id="mpe2:simple_spread_v3", agent="mappo")
    group = aggregate(tmp_path / "g", opts, {0: {"status": "done"}, 1: {"status": "done"}})
    assert group["final_by_agent"]["agent_0"]["median"] == -12.0
    assert group["final_by_agent"]["agent_1"]["median"] == -11.5
    (tmp_path / "g" / "aggregate.json").write_text(json.dumps(group))
    text = invoke("compare", tmp_path / "g").stdout
    assert text.splitlines()[-1] == (
        "g, final return per agent (median over seeds): agent_0 -12.00, agent_1 -11.50"
    )


def test_compare_gives_a_table_and_refuses_mixed_envs(tmp_path):
    for name, env, finals in (("a", "CartPole-v1", [400, 500]), ("b", "CartPole-v1", [100, 200])):
        root = tmp_path / name
        for seed, final in enumerate(finals):
            _fake_run(root, seed, [(100, final / 2), (200, final)])
        opts = RunOptions(env_id=env, agent=name, stop_at_return=475.0)
        outcomes = {0: {"status": "done"}, 1: {"status": "done"}}
        (root / "aggregate.json").write_text(json.dumps(aggregate(root, opts, outcomes)))
    text = invoke("compare", tmp_path / "a", tmp_path / "b")
    assert text.exit_code == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "CartPole-v1, target 475.0"
    assert lines[2].split()[:3] == ["a", "a", "2/2"] and "450.0" in lines[2]
    markdown = invoke("compare", tmp_path / "a", tmp_path / "b", "--markdown").stdout
    # seed 1 of a reaches 475 at step 200, seed 0 never; no seed of b does
    assert (
        "| a | a | 2/2 | 450.0 (400.0, 500.0) | 450.0 (400.0, 500.0) | 450.0 | "
        "200 (no interval: 1 seed) | 1/2 | 0 | 1/2 | 2 | 500 |" in markdown
    )  # 1/2: seed 1's final, 500, is at or above 475 − 47.5; seed 0's 400 is not
    assert "| b | b | 2/2 | 150.0 (100.0, 200.0) | 150.0 (100.0, 200.0) | 150.0 | n/a | 0/2 |" in (
        markdown
    )
    assert "95% percentile bootstrap over seeds, 10,000 resamples" in markdown
    assert "P(b > a), final return: 0.00 (0.00, 0.00)" in markdown  # every b below every a
    profile = invoke("compare", tmp_path / "a", tmp_path / "b", "--profile", tmp_path / "p.png")
    assert profile.exit_code == 0 and (tmp_path / "p.png").stat().st_size > 10_000
    other = tmp_path / "c"
    _fake_run(other, 0, [(100, -200.0)])
    opts = RunOptions(env_id="Pendulum-v1", agent="td3")
    (other / "aggregate.json").write_text(
        json.dumps(aggregate(other, opts, {0: {"status": "done"}}))
    )
    mixed = invoke("compare", tmp_path / "a", other)
    assert mixed.exit_code == 2
    assert mixed.stderr.startswith("rlrun: error: these groups ran on different envs")
    assert invoke("compare", tmp_path / "a" / "s0").exit_code == 2  # not a group
    assert "machine: not recorded" in markdown  # groups run before machines were recorded


def test_compare_names_the_machine_and_says_when_machines_differ(tmp_path):
    """Times compare on one kind of machine only: the table says which, or that they differ."""
    epyc = {"cpu_model": "AMD EPYC 7B13", "cpus": 2, "gpu": None}
    xeon = {"cpu_model": "Intel Xeon", "cpus": 16, "gpu": "NVIDIA H100"}
    for name, machine in (("a", epyc), ("b", epyc), ("c", xeon)):
        _fake_run(tmp_path / name, 0, [(100, 1.0)], machine=machine)
        opts = RunOptions(env_id="CartPole-v1", agent="ppo")
        group = aggregate(tmp_path / name, opts, {0: {"status": "done"}})
        (tmp_path / name / "aggregate.json").write_text(json.dumps(group))
    same = invoke("compare", tmp_path / "a", tmp_path / "b").stdout
    assert "machine: 2 CPUs, AMD EPYC 7B13, no GPU" in same
    mixed = invoke("compare", tmp_path / "a", tmp_path / "c").stdout
    assert "machines differ (a: 2 CPUs, AMD EPYC 7B13, no GPU; c: 16 CPUs, Intel Xeon, " in mixed
    assert "compare steps and returns, not times" in mixed


def ignored_sigint() -> None:
    """``preexec_fn`` of a driver started as ``nohup rlrun ... &`` is: SIGINT ignored, which its
    Ray workers inherit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    ("sent", "started_with", "exit_code"),
    [
        (signal.SIGINT, default_sigint, 130),  # Ctrl-C
        # a scheduler's SIGTERM, to a driver started in the background: the seeds, which Ray
        # stops by simulating Ctrl-C, still save
        (signal.SIGTERM, ignored_sigint, 143),
    ],
    ids=["ctrl-c", "sigterm-in-the-background"],
)
def test_a_signal_stops_every_seed_and_each_saves(tmp_path, reap, sent, started_with, exit_code):
    import shutil
    import subprocess
    import time

    rlrun = shutil.which("rlrun")
    if rlrun is None:
        pytest.skip("rlrun is not on PATH")
    group = tmp_path / "group"
    process = subprocess.Popen(
        [rlrun, *PPO, "--seeds", "0-1", "--steps", "10000000", "--run-dir", str(group), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=started_with,
    )
    reap(process)
    deadline = time.monotonic() + 300  # a loaded machine starts Ray slowly
    while not all((group / f"s{s}" / "progress.csv").exists() for s in (0, 1)):
        if process.poll() is not None:  # it ended: its output says why
            pytest.fail(f"rlrun ended before its seeds logged an episode: {process.communicate()}")
        if time.monotonic() > deadline:  # still running: reap ends it (communicate would wait)
            pytest.fail("the seeds logged no episode within 300 s")
        time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == exit_code, stderr
    result = json.loads((group / "aggregate.json").read_text())
    assert {s: r["status"] for s, r in result["per_seed"].items()} == {
        "0": "interrupted",
        "1": "interrupted",
    }
    for seed in (0, 1):
        assert (group / f"s{seed}" / "checkpoint" / "agent.json").exists()
        assert (group / f"s{seed}" / "summary.json").exists()


def test_seeds_taking_turns_stop_as_the_signal_says(monkeypatch, tmp_path):
    # A3C's seeds run one after another from the driver: a seed stopped by SIGTERM stops the
    # group as SIGTERM (exit 143), the seeds after it are reported as never started.
    from rlagents.experiments import seeds as seeds_module
    from rlagents.run.options import RunOptions
    from rlagents.run.outcome import Terminated

    def stopped(opts):
        return {"seed": opts.seed, "status": "interrupted", "error": None, "signal": "SIGTERM"}

    monkeypatch.setattr(seeds_module, "_train_one", stopped)
    group = seeds_module._Group(RunOptions(env_id="CartPole-v1"), [0, 1], tmp_path, None)
    with pytest.raises(Terminated):
        group.train_in_turn()
    assert group.outcomes[1] == {
        "seed": 1,
        "status": "failed",
        "error": "interrupted before it started",
    }
