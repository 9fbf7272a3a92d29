"""publish-action: publish Python distributions to PyPI, TestPyPI or any package index."""

__version__ = "0.1.0"
