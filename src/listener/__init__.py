"""listener: a self-hosted social listening daemon."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("listener")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
