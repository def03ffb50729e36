"""A crafted or damaged checkpoint file is refused with a one-line CheckpointError, never a
crash, a traceback or a huge allocation: bytes that do not parse, npz headers that claim more
than the archive holds, JSON too large or too deep, links that lead outside the checkpoint."""

import io
import shutil
import zipfile

import numpy as np
import pytest

from rlagents import checkpoint as ckpt
from rlagents.errors import CheckpointError

META = {"agent": "x", "observation_space": None, "action_space": None}


def _save_small(path):
    return ckpt.save_checkpoint(path, {"agent": "x"}, {"v": np.zeros(3, np.float32)})


def _npy(shape, descr="<f8", data=b"\0" * 16):
    buf = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_2_0(buf, header)
    return buf.getvalue() + data


@pytest.mark.parametrize("damage", ["meta", "arrays", "tree"])
def test_damaged_checkpoints_give_a_clear_error(tmp_path, damage):
    ckpt.save_checkpoint(tmp_path / "ck", META, {"v": np.ones(2)})
    name = {"meta": ckpt.META_FILE, "arrays": ckpt.ARRAYS_FILE, "tree": ckpt.TREE_FILE}[damage]
    (tmp_path / "ck" / name).write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="damaged"):
        ckpt.read_meta(tmp_path / "ck")
        ckpt.read_state(tmp_path / "ck")


def test_an_npz_header_claiming_a_huge_array_is_refused_before_reading(tmp_path):
    path = _save_small(tmp_path / "ck")
    with zipfile.ZipFile(path / ckpt.ARRAYS_FILE, "w") as zf:
        zf.writestr("a0.npy", _npy((1_000_000_000_000,)))  # 8 TB of float64
    with pytest.raises(CheckpointError, match=r"a0 claims shape \(1000000000000,\)"):
        ckpt.read_state(path)


@pytest.mark.parametrize(
    ("members", "match"),
    [
        ({"a0.npy": _npy((2,), "|O")}, "a0 has dtype object"),
        ({"a0.npy": _npy((2,)), "notes.txt": b"hi"}, "unknown member notes.txt"),
        ({"a0.npy": _npy((2,)), "a7.npy": _npy((2,))}, "holds a7, which state.json does not name"),
        ({"a1.npy": _npy((2,))}, "names an array arrays.npz does not hold"),
    ],
)
def test_npz_members_that_do_not_belong_are_refused(tmp_path, members, match):
    path = _save_small(tmp_path / "ck")
    with zipfile.ZipFile(path / ckpt.ARRAYS_FILE, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(CheckpointError, match=match):
        ckpt.read_state(path)


def test_an_npz_that_unpacks_to_more_than_it_holds_is_refused(tmp_path):
    path = _save_small(tmp_path / "ck")
    with zipfile.ZipFile(path / ckpt.ARRAYS_FILE, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a0.npy", _npy((2_000_000,), data=bytes(16_000_000)))
    with pytest.raises(CheckpointError, match="unpacks to more than"):
        ckpt.read_state(path)


@pytest.mark.parametrize("levels", [100_000, 150])
def test_a_deeply_nested_state_is_refused(tmp_path, levels):
    path = _save_small(tmp_path / "ck")
    (path / ckpt.TREE_FILE).write_text('{"list": [' * levels + "]}" * levels)
    with pytest.raises(CheckpointError, match="nests deeper than 100 levels"):
        ckpt.read_state(path)


def test_a_run_state_is_read_with_the_same_bounds(tmp_path):
    path = ckpt.save_checkpoint(tmp_path / "ck", {"agent": "x"}, {}, {"obs": np.zeros(2)})
    (path / ckpt.RUN_TREE_FILE).write_text('{"list": [' * 100_000 + "]}" * 100_000)
    with pytest.raises(CheckpointError, match=r"run_state\.json nests deeper"):
        ckpt.read_run_state(path)


def test_a_state_json_over_the_size_bound_is_refused_without_reading_it(tmp_path):
    path = _save_small(tmp_path / "ck")
    with open(path / ckpt.TREE_FILE, "r+b") as f:
        f.truncate(ckpt.MAX_JSON_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(CheckpointError, match=r"state\.json is larger than 64 MiB"):
        ckpt.read_state(path)


@pytest.mark.parametrize("name", [ckpt.TREE_FILE, ckpt.ARRAYS_FILE])
def test_a_symlink_to_a_file_outside_is_refused(tmp_path, name):
    path = _save_small(tmp_path / "ck")
    outside = tmp_path / f"elsewhere-{name}"
    shutil.move(path / name, outside)
    (path / name).symlink_to(outside)
    with pytest.raises(CheckpointError, match="symbolic link that leads outside"):
        ckpt.read_state(path)
    # a link that stays inside the checkpoint is fine
    shutil.move(outside, path / "inside")
    (path / name).unlink()
    (path / name).symlink_to("inside")
    np.testing.assert_array_equal(ckpt.read_state(path)["v"], np.zeros(3))


def test_a_checkpoint_file_that_is_not_a_regular_file_is_refused(tmp_path):
    path = _save_small(tmp_path / "ck")
    (path / ckpt.ARRAYS_FILE).unlink()
    (path / ckpt.ARRAYS_FILE).mkdir()
    with pytest.raises(CheckpointError, match=r"arrays\.npz is not a regular file"):
        ckpt.read_state(path)


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        (ckpt.META_FILE, lambda data: b"{not json"),
        (ckpt.ARRAYS_FILE, lambda data: data[: len(data) // 2]),
    ],
    ids=["agent.json-not-json", "arrays.npz-cut-in-half"],
)
def test_a_file_that_does_not_parse_is_damaged(tmp_path, name, damage):
    path = _save_small(tmp_path / "ck")
    (path / name).write_bytes(damage((path / name).read_bytes()))
    read = ckpt.read_meta if name == ckpt.META_FILE else ckpt.read_state
    with pytest.raises(CheckpointError, match="is damaged") as info:
        read(path)
    assert "\n" not in str(info.value)


def test_a_checkpoint_without_its_state_json_is_damaged(tmp_path):
    path = _save_small(tmp_path / "ck")
    (path / ckpt.TREE_FILE).unlink()
    assert ckpt.read_meta(path)["agent"] == "x"
    with pytest.raises(CheckpointError, match=r"is damaged: it has no state\.json"):
        ckpt.read_state(path)
