"""Learning curves from hand-written run directories: the PNG, the seed band and bad input."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from rlagents.common import stats
from rlagents.errors import ResultsError, RLAgentsError
from rlagents.run.plot import plot_runs, read_curves, seed_band

BLUE = np.array([0x1F, 0x77, 0xB4]) / 255  # matplotlib's C0, the first line
ORANGE = np.array([0xFF, 0x7F, 0x0E]) / 255  # C1, the second
BLUE_BAND = 0.75 + 0.25 * BLUE  # C0 at alpha 0.25 over white


def make_run(
    root: Path,
    name: str,
    *,
    env: str = "CartPole-v1",
    agent: str = "ppo",
    seed: int = 0,
    episodes: int = 300,
    evaluations: bool = True,
    config: bool = True,
) -> Path:
    """A run directory as rlrun writes it, with noisy returns that rise over training."""
    d = root / name
    d.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    lines, step = ["step,episode,return,length,wall_seconds"], 0
    for ep in range(episodes):
        length = int(rng.integers(20, 200))
        step += length
        ret = 20 + 400 * ep / episodes + rng.normal(0, 40)
        cell = "" if ep == 5 else f"{ret:.6f}"  # a non-finite return is an empty cell
        lines.append(f"{step},{ep},{cell},{length},{step / 900:.3f}")
    (d / "progress.csv").write_text("\n".join(lines) + "\n")
    if evaluations:
        rows = ["step,wall_seconds,mean_return,std_return,episodes"]
        for i in range(1, 11):
            s = i * step // 10
            rows.append(f"{s},{s / 900:.3f},{40 * i + rng.normal(0, 10):.3f},5.0,10")
        (d / "evaluations.csv").write_text("\n".join(rows) + "\n")
    if config:
        (d / "config.json").write_text(json.dumps({"agent": agent, "env": env, "seed": seed}))
    return d


def pixels(png: Path) -> np.ndarray:
    assert png.stat().st_size > 10_000
    image = imread(png)[..., :3]
    background = image[0, 0]
    assert np.mean(np.any(np.abs(image - background) > 0.05, axis=-1)) > 0.01  # not blank
    return image


def count_near(image: np.ndarray, colour: np.ndarray, tol: float = 0.03) -> int:
    return int(np.sum(np.all(np.abs(image - colour) < tol, axis=-1)))


def distinct_colours(image: np.ndarray) -> int:
    return len(np.unique((image * 255).astype(np.uint8).reshape(-1, 3), axis=0))


def test_read_curves_reads_both_files_and_keeps_an_empty_return_as_nan(tmp_path):
    c = read_curves(make_run(tmp_path, "r", seed=3))
    assert (c.env, c.agent, c.seed) == ("CartPole-v1", "ppo", 3)
    assert len(c.steps) == len(c.seconds) == len(c.returns) == 300
    assert np.isnan(c.returns[5]) and np.isfinite(np.delete(c.returns, 5)).all()
    assert np.all(np.diff(c.steps) > 0)
    assert len(c.eval_steps) == len(c.eval_means) == 10 and set(c.eval_episodes) == {10}


def test_summary_json_stands_in_for_a_missing_config(tmp_path):
    d = make_run(tmp_path, "r", config=False)
    (d / "summary.json").write_text(json.dumps({"env": "Pendulum-v1", "agent": "td3"}))
    c = read_curves(d)
    assert (c.env, c.agent, c.seed) == ("Pendulum-v1", "td3", None)


def test_one_run_is_one_line_without_a_band(tmp_path):
    out = plot_runs([make_run(tmp_path, "r")], tmp_path / "new" / "folder" / "one.png")
    assert out == tmp_path / "new" / "folder" / "one.png"
    image = pixels(out)
    assert count_near(image, BLUE, 0.1) > 500
    assert count_near(image, BLUE_BAND) < 1_000  # only anti-aliased edges of the line


def test_three_seeds_are_a_mean_with_a_band_and_a_second_agent_is_a_second_line(tmp_path):
    dirs = [make_run(tmp_path, f"ppo_{s}", seed=s) for s in range(3)]
    single = pixels(plot_runs(dirs[:1], tmp_path / "single.png"))
    dirs.append(make_run(tmp_path, "a2c_0", agent="a2c", seed=7))
    image = pixels(plot_runs(dirs, tmp_path / "groups.png", title="three seeds"))
    assert count_near(image, BLUE_BAND) > 5_000  # the 95% band of the three ppo seeds
    assert count_near(image, ORANGE, 0.1) > 500  # the a2c line
    assert distinct_colours(image) > distinct_colours(single)


def test_wall_clock_seconds_and_evaluations_work(tmp_path):
    dirs = [make_run(tmp_path, f"ppo_{s}", seed=s) for s in range(2)]
    pixels(plot_runs(dirs, tmp_path / "seconds.png", x="seconds", smooth=1))
    image = pixels(plot_runs(dirs, tmp_path / "evals.png", evaluations=True))
    assert count_near(image, BLUE_BAND) > 1_000
    pixels(plot_runs(dirs[:1], tmp_path / "evals_seconds.png", x="seconds", evaluations=True))


def test_a_run_without_episodes_yet_is_left_out_with_a_warning(tmp_path, caplog):
    good = make_run(tmp_path, "good")
    empty = make_run(tmp_path, "empty", episodes=0, evaluations=False)
    with caplog.at_level(logging.WARNING, logger="rlagents.run"):
        pixels(plot_runs([good, empty], tmp_path / "out.png"))
    assert any(str(empty) in r.getMessage() for r in caplog.records)


def test_a_half_written_last_line_of_a_live_run_is_skipped(tmp_path):
    d = make_run(tmp_path, "live")
    with open(d / "progress.csv", "a") as f:
        f.write("99999,300,12")
    assert len(read_curves(d).steps) == 300


def test_plotting_needs_no_pyplot_and_no_display(tmp_path):
    d = make_run(tmp_path, "r")
    code = (
        "import sys; from rlagents.run.plot import plot_runs; "
        f"plot_runs([{str(d)!r}], {str(tmp_path / 'p.png')!r}); "
        "assert 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"MPLBACKEND": "Agg"})


def test_the_band_is_the_range_of_two_seeds_and_a_bootstrap_interval_of_more():
    """From three seeds on, the percentile-bootstrap interval of the mean, column by column:
    it stays within what the seeds did (a t-interval of three seeds reached far beyond it)."""
    two = np.array([[0.0, 10.0], [4.0, 6.0]])
    lo, hi, kind = seed_band(two)
    assert kind == "range"
    np.testing.assert_allclose(lo, [0.0, 6.0])
    np.testing.assert_allclose(hi, [4.0, 10.0])
    three = np.array([[0.0, 5.0], [3.0, 5.0], [6.0, 5.0]])
    lo, hi, kind = seed_band(three)
    assert kind == "95% bootstrap CI"
    expected = stats.interval([0.0, 3.0, 6.0], "mean")  # the column alone, as compare has it
    np.testing.assert_allclose((lo[0], hi[0]), expected)
    assert 0.0 <= lo[0] < 3.0 < hi[0] <= 6.0
    np.testing.assert_allclose((lo[1], hi[1]), (5.0, 5.0))  # equal seeds: a point


def damaged(tmp_path: Path) -> Path:
    d = make_run(tmp_path, "damaged")
    text = (d / "progress.csv").read_text().splitlines()
    text[10] = "12,x,not-a-number,3,0.1"  # line 11 of the file
    (d / "progress.csv").write_text("\n".join(text) + "\n")
    return d


def binary(tmp_path: Path) -> Path:
    d = make_run(tmp_path, "binary")
    (d / "progress.csv").write_bytes(b"\xff\xfe\x00\x81garbage\x00\n")
    return d


def emptied(tmp_path: Path) -> Path:
    d = make_run(tmp_path, "emptied")
    (d / "progress.csv").write_text("")
    return d


def no_config(tmp_path: Path) -> Path:
    return make_run(tmp_path, "no_config", config=False)


@pytest.mark.parametrize(
    ("make", "kwargs", "words"),
    [
        (lambda p: p / "missing", {}, "no such directory"),
        (lambda p: (p / "plain").mkdir() or p / "plain", {}, "no progress.csv"),
        (lambda p: make_run(p, "r", evaluations=False), {"evaluations": True}, "eval_every N"),
        (emptied, {}, "empty"),
        (binary, {}, "cannot read"),
        (damaged, {}, "line 11 is damaged"),
        (no_config, {}, "config.json"),
        (lambda p: make_run(p, "r", episodes=0), {}, "no rows yet"),
    ],
)
def test_bad_run_directories_raise_a_one_line_plot_error_naming_the_path(
    tmp_path, make, kwargs, words
):
    d = make(tmp_path)
    with pytest.raises(ResultsError) as info:
        plot_runs([d], tmp_path / "out.png", **kwargs)
    message = str(info.value)
    assert isinstance(info.value, RLAgentsError)
    assert "\n" not in message and str(d) in message and words in message
    assert not (tmp_path / "out.png").exists()


def test_no_run_directories_or_an_unwritable_suffix_raise_a_plot_error(tmp_path):
    with pytest.raises(ResultsError, match="no run directories given"):
        plot_runs([], tmp_path / "out.png")
    d = make_run(tmp_path, "r")
    for out in (tmp_path / "out.xyz", tmp_path / "out"):
        with pytest.raises(ResultsError) as info:
            plot_runs([d], out)
        assert "\n" not in str(info.value) and str(out) in str(info.value)
        assert ".png" in str(info.value)
    with pytest.raises(ResultsError, match="smooth"):
        plot_runs([d], tmp_path / "out.png", smooth=0)


def test_no_episodes_in_any_of_several_runs_is_an_error(tmp_path):
    dirs = [make_run(tmp_path, f"r{s}", seed=s, episodes=0) for s in range(2)]
    with pytest.raises(ResultsError, match="none of the 2 run directories") as info:
        plot_runs(dirs, tmp_path / "out.png")
    assert str(dirs[0]) in str(info.value)


def test_by_agent_draws_each_agent_of_a_multi_agent_run(tmp_path):
    run = make_run(tmp_path, "spread", env="mpe2:simple_spread_v3", episodes=50)
    rows = (run / "evaluations.csv").read_text().splitlines()
    rows = [rows[0] + ",mean_return_agent_0,mean_return_agent_1"]
    rows += [f"{i * 100},{i},-{20 - i},1,5,-{21 - i},-{19 - i}" for i in range(1, 11)]
    (run / "evaluations.csv").write_text("\n".join(rows) + "\n")
    curves = read_curves(run, evaluations=True)
    assert sorted(curves.eval_agent_means) == ["agent_0", "agent_1"]
    np.testing.assert_array_equal(curves.eval_agent_means["agent_1"], -(19 - np.arange(1, 11)))
    image = pixels(plot_runs([run], tmp_path / "agents.png", evaluations=True, by_agent=True))
    assert _has_colour(image, BLUE) and _has_colour(image, ORANGE)  # one line per agent
    with pytest.raises(ResultsError, match=r"progress\.csv has no column per agent"):
        plot_runs([run], tmp_path / "x.png", by_agent=True)  # its episodes have none here


def _has_colour(image, colour):
    return bool(np.any(np.all(np.abs(image - colour) < 0.02, axis=-1)))


def test_seeds_evaluated_at_the_same_steps_are_drawn_at_those_steps_only():
    from rlagents.run.plot import GRID_POINTS, _grid

    steps = np.arange(1, 11) * 2500.0
    series = [(steps, np.zeros(10)), (steps, np.ones(10))]
    assert np.array_equal(_grid(series, 2500.0, 25000.0), steps)  # no interpolated point
    episodes = [
        (np.sort(np.random.default_rng(s).uniform(0, 1e4, 500)), np.zeros(500)) for s in (0, 1)
    ]
    grid = _grid(episodes, 100.0, 9000.0)
    assert len(grid) == GRID_POINTS and grid[0] == 100.0 and grid[-1] == 9000.0
