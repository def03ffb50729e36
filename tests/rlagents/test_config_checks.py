"""Value checks of the Configs (finite floats, range rules by SB3 field name and each Config's
own, devices), made by build_config and by a Config made in Python, and the memory check of the
replay buffers."""

import dataclasses
import re
import typing

import numpy as np
import pytest
import torch
from gymnasium import spaces

from rlagents import registry
from rlagents.common import frame_replay, memory, replay
from rlagents.common.frame_replay import FrameReplayBuffer
from rlagents.common.replay import ReplayBuffer
from rlagents.common.torch_utils import select_device
from rlagents.config import RANGE_RULES, build_config, parse_value
from rlagents.errors import ConfigError
from rlagents.run.tuned import config_sets

VECTOR = spaces.Box(-1.0, 1.0, (4,), np.float32)
ATARI = spaces.Box(0, 255, (4, 84, 84), np.uint8)
HAS_CUDA = torch.cuda.is_available()


def config_of(agent: str) -> type:
    return registry.load(agent).Config


def all_agents() -> list[str]:
    return sorted({spec.name for spec in registry.list_agents()})


# ------------------------------------------------------------------------------ finite floats
@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "1e999"])
@pytest.mark.parametrize(
    "agent", ["dqn", "ppo", "trpo", "ddpg", "a2c", "reinforce", "cem", "qlearning"]
)
def test_non_finite_learning_rate_is_refused_as_a_string(agent, text):
    shown = re.escape(repr(float(text)))
    message = rf"^learning_rate must be a finite number, got {shown} \(\w+Config\)$"
    with pytest.raises(ConfigError, match=message) as err:
        build_config(config_of(agent), {"learning_rate": text})
    assert err.value.field == "learning_rate"  # the command line says how to set it


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), np.float32("nan")])
def test_non_finite_floats_are_refused_as_python_values(value):
    shown = repr(float(value))  # numpy's nan too: not np.float32(nan)
    with pytest.raises(ConfigError, match=rf"^max_grad_norm must be a finite number, got {shown} "):
        build_config(config_of("dqn"), {"max_grad_norm": value})
    with pytest.raises(ConfigError, match=rf"^gamma must be a finite number, got {shown} \(PPO"):
        build_config(config_of("ppo"), {"gamma": value})


def test_an_optional_float_says_none_turns_it_off():
    with pytest.raises(
        ConfigError,
        match=r"^max_grad_norm must be a finite number, got nan \(PPOConfig\); use None to turn "
        "it off$",
    ):
        build_config(config_of("ppo"), {"max_grad_norm": "nan"})
    with pytest.raises(
        ConfigError, match=r"noise_final_std .* got inf .*; use None to turn it off"
    ):
        build_config(config_of("td3"), {"noise_final_std": "inf"})
    assert build_config(config_of("ppo"), {"max_grad_norm": "None"}).max_grad_norm is None


def test_a_float_field_without_a_range_rule_must_still_be_finite():
    assert "log_std_init" not in RANGE_RULES
    with pytest.raises(ConfigError, match="log_std_init must be a finite number, got -inf"):
        build_config(config_of("ppo"), {"log_std_init": "-inf"})
    assert build_config(config_of("ppo"), {"log_std_init": "-3"}).log_std_init == -3.0


# -------------------------------------------------------------------------------- range rules
# (agent, field, refused values, accepted values): at least one case per RANGE_RULES entry.
RULE_CASES = [
    ("dqn", "learning_rate", ["0", "-1e-4"], ["1e-9"]),
    ("a2c", "learning_rate", ["0"], ["7e-4"]),
    ("a2c", "rms_prop_eps", ["0"], ["1e-8"]),
    ("ppo", "gamma", ["1.01", "-0.1"], ["0", "1"]),
    ("reinforce", "gamma", ["2"], ["0.9"]),
    ("ppo", "gae_lambda", ["1.5", "-0.5"], ["0", "1"]),
    ("ddpg", "tau", ["0", "1.1", "-0.1"], ["1", "0.001"]),
    ("dqn", "tau", ["0"], ["1"]),
    ("dqn", "buffer_size", ["0", "-5"], ["1"]),
    ("cem", "batch_size", ["-1"], ["0", "64"]),
    ("a2c", "n_steps", ["0"], ["1"]),
    ("dqn", "n_steps", ["0"], ["3"]),
    ("ppo", "n_epochs", ["0"], ["1"]),
    ("cem", "n_epochs", ["-1"], ["2"]),
    ("cem", "n_episodes", ["0"], ["1"]),
    ("reinforce", "n_episodes", ["0", "-1"], ["1"]),
    ("td3", "train_freq", ["0"], ["1"]),
    ("dqn", "gradient_steps", ["0", "-2"], ["-1", "1"]),
    ("ddpg", "gradient_steps", ["-3"], ["-1"]),
    ("dqn", "target_update_interval", ["0"], ["1"]),
    ("td3", "policy_delay", ["0", "-1"], ["1"]),
    ("ddpg", "learning_starts", ["-1"], ["0"]),
    ("dqn", "num_threads", ["-1"], ["0", "2"]),
    ("ppo", "num_threads", ["-2"], ["0"]),
    ("cem", "num_threads", ["-1"], ["1"]),
    ("ppo", "ent_coef", ["-0.01"], ["0", "0.01"]),
    ("reinforce", "ent_coef", ["-1"], ["0"]),
    ("a2c", "vf_coef", ["-0.5"], ["0"]),
    ("ppo", "clip_range", ["0", "-0.2"], ["0.1"]),
    ("ppo", "clip_range_vf", ["0"], ["0.2", "None"]),
    ("dqn", "max_grad_norm", ["-1"], ["0", "10"]),
    ("ddpg", "noise_std", ["-0.1"], ["0", "0.3"]),
    ("cem", "noise_std", ["-1"], ["0"]),
    ("td3", "noise_final_std", ["-0.1"], ["0", "None"]),
    ("cem", "noise_final_std", ["-0.1"], ["0"]),
    ("a2c", "max_grad_norm", ["-0.5"], ["0", "None"]),
    ("td3", "target_policy_noise", ["-0.1"], ["0"]),
    ("td3", "target_noise_clip", ["-0.5"], ["0"]),
    ("dqn", "exploration_initial_eps", ["1.5", "-0.1"], ["0", "1"]),
    ("qlearning", "exploration_final_eps", ["-0.1", "2"], ["0", "1"]),
    ("ppo", "net_arch", ["64,0", "(-1,)"], ["()", "(32, 32)"]),
    ("ddpg", "net_arch", ["(0, 64)"], ["(64,)"]),
    ("trpo", "target_kl", ["0", "-0.01"], ["0.01"]),
    ("trpo", "cg_max_steps", ["0"], ["1"]),
    ("trpo", "cg_damping", ["-0.1"], ["0", "0.1"]),
    ("trpo", "line_search_shrinking_factor", ["0", "1", "1.5"], ["0.8"]),
    ("trpo", "line_search_max_iter", ["0"], ["1"]),
    ("trpo", "n_critic_updates", ["0"], ["1"]),
    ("trpo", "sub_sampling_factor", ["0"], ["1", "4"]),
    ("a3c", "num_workers", ["0"], ["1", "8"]),
]


# A Config's own range_rules: its own fields, or a stricter rule than RANGE_RULES's.
OWN_RULE_CASES = [
    ("dqn", "adam_eps", ["0", "-1e-8"], ["1.5e-4"]),
    ("dqn", "batch_size", ["0"], ["1"]),
    ("dqn", "exploration_steps", ["-1"], ["0"]),
    ("dqn", "shift_pad", ["-1"], ["0", "4"]),
    ("dqn", "schedule_steps", ["0"], ["1"]),
    ("cem", "elite_percentile", ["100", "-1"], ["0", "99.5"]),
    ("cem", "noise_decay_iterations", ["-1"], ["0"]),
    ("cem", "elite_memory", ["-1"], ["0", "10"]),
    ("cem", "noise_correlation", ["1", "-0.1"], ["0", "0.98"]),
    ("ddpg", "batch_size", ["0"], ["1"]),
    ("td3", "noise_decay_steps", ["0"], ["1"]),
    ("ddpg", "ou_theta", ["-0.1"], ["0"]),
    ("ddpg", "ou_dt", ["0"], ["0.01"]),
    ("ddpg", "features_dim", ["0"], ["1"]),
    ("lstm_td3", "history_length", ["-1"], ["0"]),
    ("lstm_td3", "memory_units", ["0"], ["1"]),
    ("lstm_td3", "batch_size", ["0"], ["1"]),  # DDPG's, inherited
    ("sac", "target_update_interval", ["0"], ["1"]),
    ("sac", "batch_size", ["0"], ["1"]),  # the off-policy family's, shared
    ("a2c", "schedule_steps", ["0"], ["1"]),
    ("a3c", "schedule_steps", ["0"], ["1"]),
    ("ppo", "batch_size", ["0"], ["1"]),
    ("ppo", "kl_target", ["0"], ["0.01"]),
    ("ppo", "kl_beta", ["0"], ["1"]),
    ("ppo", "schedule_steps", ["0"], ["1"]),
    ("qlearning", "learning_rate", ["1.5", "0"], ["1", "0.5"]),
    ("sarsa", "exploration_episodes", ["-1"], ["0"]),
    ("sarsa", "exploration_decay", ["0", "1.5"], ["1", "0.9"]),
]


@pytest.mark.parametrize(("agent", "field", "bad", "good"), RULE_CASES + OWN_RULE_CASES)
def test_range_rules(agent, field, bad, good):
    cls = config_of(agent)
    for text in bad:
        with pytest.raises(ConfigError, match=rf"^{field} must be .*, got ") as err:
            build_config(cls, {field: text})
        assert err.value.field == field
        value = parse_value(field, typing.get_type_hints(cls)[field], text)
        with pytest.raises(ConfigError, match=rf"^{field} must be "):  # made in Python: the same
            cls(**{field: value})
    for text in good:
        build_config(cls, {field: text})


def test_python_values_are_checked_like_strings():
    message = r"^num_threads must be >= 0 \(0: automatic\), got -1 \(DQNConfig\)$"
    with pytest.raises(ConfigError, match=message):
        build_config(config_of("dqn"), {"num_threads": -1})
    with pytest.raises(ConfigError, match=r"^gamma must be in \[0, 1\], got 1.5 \(PPOConfig\)$"):
        build_config(config_of("ppo"), {"gamma": 1.5})


def test_a_config_made_in_python_is_checked_as_build_config_checks_it():
    dqn, ppo = config_of("dqn"), config_of("ppo")
    with pytest.raises(ConfigError, match=r"^learning_rate must be > 0, got -1 \(DQNConfig\)$"):
        dqn(learning_rate=-1)
    with pytest.raises(ConfigError, match=r"^net_arch must be layer widths >= 1"):
        ppo(net_arch=(64, 0))
    with pytest.raises(ConfigError, match=r"^max_grad_norm must be a finite number, got nan"):
        ppo(max_grad_norm=float("nan"))
    with pytest.raises(ValueError, match=r"^learning_rate"):  # a ConfigError is a ValueError
        dqn(learning_rate=0.0)


def test_a_configs_own_rule_is_its_own():
    # batch_size 0: cem's "all the pairs in one step"; dqn refuses it, and cem's rule stays cem's
    assert build_config(config_of("cem"), {"batch_size": "0"}).batch_size == 0
    with pytest.raises(ConfigError, match=r"^batch_size must be >= 1, got 0 \(DQNConfig\)$"):
        build_config(config_of("dqn"), {"batch_size": "0"})
    # tabular's learning_rate <= 1 is not the other agents'
    assert build_config(config_of("ppo"), {"learning_rate": "2"}).learning_rate == 2.0


def test_relations_between_fields_are_the_configs_own_checks():
    with pytest.raises(ConfigError, match=r"^share_features must be false: .*\(TRPOConfig\)$") as e:
        build_config(config_of("trpo"), {"share_features": "true"})
    assert e.value.field == "share_features"
    with pytest.raises(ConfigError, match=r"^net_arch needs at least one hidden layer, got \(\)"):
        build_config(config_of("td3"), {"net_arch": "()"})


def test_every_rule_is_tested_and_names_a_field_of_a_real_agent():
    assert {field for _, field, _, _ in RULE_CASES} == set(RANGE_RULES)
    fields = {f.name for agent in all_agents() for f in dataclasses.fields(config_of(agent))}
    assert set(RANGE_RULES) <= fields


@pytest.mark.parametrize("agent", all_agents())
def test_every_own_rule_is_tested_and_names_a_field_of_its_config(agent):
    cls = config_of(agent)
    own = {name for klass in cls.__mro__ for name in vars(klass).get("range_rules", {})}
    assert own <= {f.name for f in dataclasses.fields(cls)}
    assert own <= {field for _, field, _, _ in OWN_RULE_CASES}


@pytest.mark.parametrize("agent", all_agents())
def test_defaults_and_tuned_sets_pass(agent):
    cls = registry.load(agent)
    defaults = cls.Config()
    values = {f.name: getattr(defaults, f.name) for f in dataclasses.fields(cls.Config)}
    assert build_config(cls.Config, values) == defaults
    assert build_config(cls.Config, {k: str(v) for k, v in values.items()}) == defaults
    for tuned in config_sets(cls).values():
        build_config(cls.Config, dict(tuned))
        build_config(cls.Config, {k: str(v) for k, v in tuned.items()})


# ------------------------------------------------------------------------------------ devices
def make_dqn(config):
    return registry.load("dqn")(VECTOR, spaces.Discrete(2), config, num_envs=1, seed=0)


def test_a_device_torch_cannot_parse_is_refused():
    message = r"^device must be a torch device \(auto, cpu or cuda\), got 'garbage'"
    with pytest.raises(ConfigError, match=message + r" \(DQNConfig\)$") as err:
        make_dqn({"device": "garbage"})
    assert err.value.field == "device"
    with pytest.raises(ConfigError, match=message + "$"):
        select_device("garbage")
    with pytest.raises(ConfigError, match="must be a torch device"):
        build_config(config_of("ppo"), {"device": "cuda:-1"})


@pytest.mark.skipif(HAS_CUDA, reason="this machine has a CUDA GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_a_gpu_is_refused(device):
    message = rf"^device '{device}' needs a CUDA GPU and this machine has none"
    with pytest.raises(ConfigError, match=message + r" \(DQNConfig\); use cpu or auto$"):
        make_dqn({"device": device})
    with pytest.raises(ConfigError, match=message + "; use cpu or auto$"):
        select_device(device)  # where the agents resolve their device


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_cuda_is_taken_and_a_missing_index_refused_with_a_gpu():
    assert make_dqn({"device": "cuda"}).device.type == "cuda"
    missing = torch.cuda.device_count()
    with pytest.raises(
        ConfigError, match=rf"device 'cuda:{missing}' is not one of this machine's {missing} CUDA"
    ):
        select_device(f"cuda:{missing}")


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")
def test_mps_without_mps_is_refused():
    with pytest.raises(
        ConfigError, match=r"^device 'mps' needs an MPS device and this machine has"
    ):
        select_device("mps")


def test_cpu_and_auto_are_taken():
    assert select_device("cpu") == torch.device("cpu")
    assert select_device("auto").type == ("cuda" if HAS_CUDA else "cpu")
    assert make_dqn({"device": "cpu"}).device == torch.device("cpu")


# ------------------------------------------------------------------------------------- memory
def test_available_memory_is_known_here():
    available = memory.available_memory_bytes()
    assert isinstance(available, int) and available > 0


@pytest.fixture
def no_allocation(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("allocated before the memory check")

    monkeypatch.setattr(np, "zeros", refuse)
    monkeypatch.setattr(np, "empty", refuse)


def test_a_huge_replay_buffer_is_refused_before_allocating(no_allocation):
    with pytest.raises(ConfigError) as err:
        ReplayBuffer(10**12, VECTOR, spaces.Discrete(2))
    # 2 × 16 B of observations + 8 B action + 4 + 4 + 1 B = 49 B a transition
    message = str(err.value)
    assert message.startswith("the replay buffer needs 44.6 TB (1000000000000 transitions of 49 B)")
    assert re.search(r"but the machine has [\d.]+ [KMGT]?B available; lower it, e.g. ", message)
    assert re.search(r"buffer_size=[125]0*$", message)
    with pytest.raises(ConfigError, match=r"needs 6.4 TB .* buffer_size="):
        FrameReplayBuffer(10**9, ATARI, spaces.Discrete(18))


def test_the_agents_refuse_a_huge_buffer():
    with pytest.raises(ConfigError, match=r"1000000000000 transitions.*buffer_size="):
        make_dqn({"buffer_size": 10**12})
    box = spaces.Box(-1.0, 1.0, (2,), np.float32)
    with pytest.raises(ConfigError, match=r"lower it, e.g. buffer_size="):
        registry.load("td3")(VECTOR, box, {"buffer_size": "1e12"}, num_envs=1, seed=0)


def test_the_message_suggests_what_fits_in_half_the_memory(monkeypatch):
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 10 * 2**30)
    with pytest.raises(ConfigError) as err:
        ReplayBuffer(10**9, VECTOR, spaces.Discrete(2))
    # 5 GiB / 49 B = 109.6M transitions: the round value below is 100M
    assert str(err.value) == (
        "the replay buffer needs 45.6 GB (1000000000 transitions of 49 B) but the machine has "
        "10.0 GB available; lower it, e.g. buffer_size=100000000"
    )


def test_sizes_numpy_cannot_address_are_refused_when_memory_is_unknown(monkeypatch, no_allocation):
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: None)
    with pytest.raises(ConfigError, match=r"that is more than a process can address; lower it"):
        ReplayBuffer(2**62, VECTOR, spaces.Discrete(2))


def test_the_check_counts_every_array_the_buffers_allocate(monkeypatch):
    seen = []
    for module in (replay, frame_replay):
        monkeypatch.setattr(module, "check_allocation", lambda nbytes, *a, **k: seen.append(nbytes))
    plain = ReplayBuffer(1000, VECTOR, spaces.Box(-1.0, 1.0, (3,), np.float32))
    assert seen.pop() == plain.nbytes
    frames = FrameReplayBuffer(1000, ATARI, spaces.Discrete(18), num_envs=2)
    extra = sum(a.nbytes for a in (frames.pos, frames.written, frames._open))  # not in .nbytes
    assert seen.pop() == frames.nbytes + extra


def test_buffers_that_fit_are_allocated_as_before():
    buffer = ReplayBuffer(100, VECTOR, spaces.Discrete(2))
    assert buffer.obs.shape == (100, 4) and buffer.obs.dtype == np.float32
    assert not buffer.obs.any()
