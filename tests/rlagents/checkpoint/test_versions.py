"""A checkpoint written by a newer rlagents gives a one-line warning."""

from rlagents import __version__
from rlagents import checkpoint as ckpt


def test_newer_version_warning():
    warning = ckpt.newer_version_warning({"package_version": "99.0.1"})
    assert warning is not None and "99.0.1" in warning and __version__ in warning
    assert "\n" not in warning
    assert ckpt.newer_version_warning({"package_version": __version__}) is None
    assert ckpt.newer_version_warning({"package_version": "0.0.1"}) is None
    assert ckpt.newer_version_warning({"package_version": "not a version"}) is None
    assert ckpt.newer_version_warning({}) is None
