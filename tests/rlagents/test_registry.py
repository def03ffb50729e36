"""The agent registry: entry points, lazy loading, module:Class paths and its errors."""

import subprocess
import sys
from importlib.metadata import EntryPoint

import gymnasium as gym
import pytest

import rlagents
from rlagents import registry
from rlagents.errors import (
    DuplicateAgentError,
    PluginImportError,
    SpaceMismatchError,
    UnknownAgentError,
)


def test_builtins_and_the_installed_plugin_are_listed_with_their_distribution():
    specs = {s.name: s for s in rlagents.list_agents()}
    assert specs["random"].distribution == "rlagents"
    assert specs["constant"].distribution == "rlagents-test-plugin"
    assert specs["constant"].target == "rlagents_test_plugin:ConstantAgent"
    for name in (
        "qlearning",
        "sarsa",
        "cem",
        "dqn",
        "reinforce",
        "a2c",
        "a3c",
        "ppo",
        "trpo",
        "ddpg",
        "td3",
        "lstm_td3",
        "sac",
    ):
        assert specs[name].distribution == "rlagents"


def test_listing_and_importing_rlagents_import_no_agent_module_and_no_torch():
    code = (
        "import sys, rlagents; rlagents.list_agents(); "
        "assert 'torch' not in sys.modules, 'torch'; "
        "assert 'rlagents_test_plugin' not in sys.modules, 'plugin'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_make_builds_an_agent_for_the_spaces():
    env = gym.make("CartPole-v1")
    agent = rlagents.make("constant", env.observation_space, env.action_space, action=1)
    assert agent.act(env.observation_space.sample()[None]).tolist() == [1]


def test_module_class_path_needs_no_registration():
    cls = rlagents.load("rlagents_test_plugin:RecordingAgent")
    assert cls.__name__ == "RecordingAgent"


def test_unknown_name_suggests_and_lists():
    with pytest.raises(UnknownAgentError, match=r"did you mean 'random'.*registered agents: .*dqn"):
        rlagents.load("randon")


def test_a_class_that_is_not_an_agent_is_refused():
    with pytest.raises(PluginImportError, match=r"not a subclass of rlagents\.Agent"):
        rlagents.load("rlagents_test_plugin:NotAnAgent")


def _fake_entry_points(monkeypatch, *extra):
    """Add entry points of made-up distributions to the real ones."""
    real = registry.entry_points

    def fake(group):
        return [*real(group=group), *extra]

    monkeypatch.setattr(registry, "entry_points", fake)


class _Dist:
    def __init__(self, name):
        self.name, self.version = name, "0.0.1"


def _ep(name, value, dist):
    ep = EntryPoint(name, value, registry.GROUP)
    return ep._for(_Dist(dist)) if hasattr(ep, "_for") else ep


def test_broken_plugin_names_its_distribution_and_spares_the_others(monkeypatch):
    _fake_entry_points(monkeypatch, _ep("broken", "no_such_module_xyz:Agent", "broken-dist"))
    with pytest.raises(PluginImportError) as info:
        rlagents.load("broken")
    message = str(info.value)
    assert "broken-dist" in message and "broken = no_such_module_xyz:Agent" in message
    assert rlagents.load("random").__name__ == "RandomAgent"
    assert "broken" in {s.name for s in rlagents.list_agents()}


def test_duplicate_name_names_both_distributions(monkeypatch):
    _fake_entry_points(monkeypatch, _ep("random", "other_pkg:Random", "other-dist"))
    with pytest.raises(DuplicateAgentError, match=r"rlagents .*and other-dist"):
        rlagents.load("random")


def test_space_mismatch_is_refused_before_building():
    env = gym.make("Pendulum-v1")
    with pytest.raises(SpaceMismatchError, match=r"needs a Discrete action space, got Box"):
        rlagents.make("constant", env.observation_space, env.action_space)
