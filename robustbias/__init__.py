"""robustbias: command-line entry point and version of the toolkit.

The library itself lives in the import packages ``asymptotics`` (theory), ``simulate`` (finite-d linear
experiments), ``deep`` (PyTorch experiments) and ``figures`` (reproduced figures).
"""
from importlib import metadata

try:
    __version__ = metadata.version("robustbias")
except metadata.PackageNotFoundError:  # source tree without installation
    __version__ = "0+unknown"
