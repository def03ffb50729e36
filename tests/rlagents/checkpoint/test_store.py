"""Checkpoints are found where they are and replaced atomically; saving never replaces what is
not a checkpoint, and cleans up after saves that were killed."""

import os
import subprocess
import sys

import numpy as np
import pytest

from rlagents import checkpoint as ckpt
from rlagents.errors import CheckpointError

META = {"agent": "x", "observation_space": None, "action_space": None}


def _save_small(path):
    return ckpt.save_checkpoint(path, {"agent": "x"}, {"v": np.zeros(3, np.float32)})


def test_a_failed_write_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    ckpt.save_checkpoint(tmp_path / "ck", META, {"v": np.ones(2)})

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint(tmp_path / "ck", META, {"v": np.zeros(2)})
    np.testing.assert_array_equal(ckpt.read_state(tmp_path / "ck")["v"], np.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]


def test_a_crash_between_the_renames_falls_back_to_the_old_copy(tmp_path):
    ckpt.save_checkpoint(tmp_path / "ck", META, {"v": np.ones(2)})
    (tmp_path / "ck").rename(tmp_path / ".ck.old")
    np.testing.assert_array_equal(ckpt.read_state(tmp_path / "ck")["v"], np.ones(2))


def test_missing_and_non_checkpoint_directories(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        ckpt.read_meta(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="not a checkpoint directory"):
        ckpt.read_meta(tmp_path)


def test_a_run_directory_is_refused_naming_the_checkpoints_it_holds(tmp_path):
    ckpt.save_checkpoint(tmp_path / "checkpoint", META, {"v": np.ones(2)})
    with pytest.raises(CheckpointError, match="run directory") as refused:
        ckpt.read_meta(tmp_path)
    assert str(tmp_path / "checkpoint") in str(refused.value)
    assert "best-evaluated" not in str(refused.value)
    ckpt.save_checkpoint(tmp_path / "best", META, {"v": np.ones(2)})
    with pytest.raises(CheckpointError, match="best-evaluated one"):
        ckpt.read_meta(tmp_path)


def test_describe_target(tmp_path):
    assert ckpt.describe_target(tmp_path / "nope") == "missing"
    (tmp_path / "empty").mkdir()
    assert ckpt.describe_target(tmp_path / "empty") == "empty"
    assert ckpt.describe_target(_save_small(tmp_path / "ck")) == "checkpoint"
    (tmp_path / "file").write_text("x")
    assert ckpt.describe_target(tmp_path / "file") == "other"
    (tmp_path / "link").symlink_to(tmp_path / "ck")
    assert ckpt.describe_target(tmp_path / "link") == "other"
    (tmp_path / "ck" / "notes.txt").write_text("mine")
    assert ckpt.describe_target(tmp_path / "ck") == "other"


@pytest.mark.parametrize("kind", ["directory", "file", "checkpoint-with-my-notes", "symlink"])
def test_saving_over_what_is_not_a_checkpoint_is_refused_and_touches_nothing(tmp_path, kind):
    target = tmp_path / "target"
    if kind == "directory":
        target.mkdir()
        (target / "thesis.tex").write_text("years of work")
    elif kind == "file":
        target.write_text("years of work")
    elif kind == "checkpoint-with-my-notes":
        _save_small(target)
        (target / "thesis.tex").write_text("years of work")
    else:
        (tmp_path / "real").mkdir()
        target.symlink_to(tmp_path / "real")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(CheckpointError, match="refusing to"):
        _save_small(target)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    if kind != "symlink":
        thesis = target / "thesis.tex" if target.is_dir() else target
        assert thesis.read_text() == "years of work"


def test_saving_over_a_checkpoint_or_an_empty_directory_works(tmp_path):
    (tmp_path / "empty").mkdir()
    _save_small(tmp_path / "empty")
    ckpt.save_checkpoint(tmp_path / "empty", {"agent": "x"}, {"v": np.ones(2)})
    np.testing.assert_array_equal(ckpt.read_state(tmp_path / "empty")["v"], np.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_move_aside_keeps_the_content(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (target / "thesis.tex").write_text("years of work")
    first = ckpt.move_aside(target)
    assert not target.exists()
    assert first.parent == tmp_path and first.name.startswith("target.replaced-")
    assert (first / "thesis.tex").read_text() == "years of work"
    target.write_text("another")
    second = ckpt.move_aside(target)  # the same second: a suffix keeps both
    assert second != first and second.read_text() == "another"
    assert (first / "thesis.tex").read_text() == "years of work"
    _save_small(target)  # the name is free for the checkpoint now
    with pytest.raises(CheckpointError, match="nothing to move aside"):
        ckpt.move_aside(tmp_path / "nope")


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_temporary_directories_of_killed_saves_are_removed_by_the_next_save(tmp_path):
    dead = tmp_path / f".ck.tmp-{_dead_pid()}"
    dead.mkdir()
    (dead / ckpt.ARRAYS_FILE).write_bytes(b"half written")
    own = tmp_path / f".ck.tmp-{os.getpid()}"
    own.mkdir()
    alive = tmp_path / f".ck.tmp-{os.getppid()}"  # a save still running in another process
    alive.mkdir()
    other = tmp_path / ".ck.tmp-mine"
    other.mkdir()
    _save_small(tmp_path / "ck")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["ck", alive.name, other.name])
