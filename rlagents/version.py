"""The package's version, where every module can read it without importing the package's
facade (``rlagents/__init__.py``)."""

__version__ = "0.1.0"
