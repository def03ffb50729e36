"""The trained agents kept in ``benchmarks/agents/`` load and play as the README says:
``rlrun --load benchmarks/agents/ENV_AGENT --eval-only --eval-episodes K --seed S``."""

from pathlib import Path

import pytest
from rlagents_test_plugin.runner import run_summary

from rlagents import checkpoint as ckpt
from rlagents import registry

KEPT = Path(__file__).resolve().parents[2] / "benchmarks" / "agents"


def test_every_kept_agent_is_small_and_holds_no_buffer_or_rollout():
    kept = sorted(p for p in KEPT.iterdir() if p.is_dir())
    assert kept, "benchmarks/agents/ holds the trained agents the README names"
    for path in kept:
        meta = ckpt.read_meta(path)
        assert path.name == f"{meta['env_id'].replace('/', '_')}_{meta['agent']}"
        size = sum(f.stat().st_size for f in path.iterdir())
        assert size < 16 * 2**20, f"{path.name}: {size} bytes"
        left_out = registry.load(meta["agent"]).optional_state
        assert not set(left_out) & set(ckpt.read_state(path)), path.name


def test_the_kept_car_racing_agent_drives(tmp_path):
    pytest.importorskip("Box2D")
    agent = KEPT / "CarRacing-v3_ppo"
    summary = run_summary(
        tmp_path, "--load", agent, "--eval-only", "--eval-episodes", "1", "--seed", "1"
    )
    assert summary["steps"] == ckpt.read_meta(agent)["steps"]
    # One greedy Gymnasium episode: a random policy scores about -50, this agent 830 +- 134
    # over ten (benchmarks/RESULTS.md); 500 leaves room for another CPU's rounding.
    assert summary["eval_mean_return"] > 500


def test_the_kept_battle_zone_agent_plays(tmp_path):
    agent = KEPT / "ALE_BattleZone-v5_dqn"
    summary = run_summary(
        tmp_path, "--load", agent, "--eval-only", "--eval-episodes", "2", "--seed", "1"
    )
    assert summary["steps"] == ckpt.read_meta(agent)["steps"]
    # Two greedy episodes with sticky actions: random play scores about 2,360, this agent
    # 15,000 here in bfloat16 and 12,500 in float32 (a CPU without bfloat16 units acts in
    # float32 and so plays other episodes); 5,000 leaves room for either.
    assert summary["eval_mean_return"] > 5_000
