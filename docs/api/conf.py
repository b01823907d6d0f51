"""Sphinx configuration of the API reference (built by tests/docs/test_api_reference.py with warnings as errors):

    python -m sphinx -W --keep-going -b html docs/api out/docs/api
"""
from importlib import metadata

project = "robustbias"
author = "robustbias developers"
copyright = "2026, robustbias developers"
try:
    release = metadata.version("robustbias")
except metadata.PackageNotFoundError:
    release = "0+unknown"
version = release

extensions = ["sphinx.ext.autodoc", "sphinx.ext.mathjax", "numpydoc", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"              # the numpydoc Parameters sections carry the types
autodoc_inherit_docstrings = False      # torch.nn.Module's docstrings are not ours
numpydoc_show_class_members = False     # members are listed by autodoc, once
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
myst_heading_anchors = 3
suppress_warnings = ["myst.xref_missing"]

html_theme = "alabaster"
html_title = f"robustbias {release} API reference"


def _module_sections(app, docname, source):
    """Expand ``.. deep-module-packages:: PKG ...`` into one section per package with an automodule per module."""
    import importlib
    import pkgutil

    marker = ".. deep-module-packages::"
    text = source[0]
    if marker not in text:
        return
    lines = []
    for line in text.splitlines():
        if not line.startswith(marker):
            lines.append(line)
            continue
        for name in line[len(marker):].split():
            pkg = importlib.import_module(name)
            lines += [name, "-" * len(name), "", f".. automodule:: {name}", ""]
            for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
                lines += [f".. automodule:: {name}.{info.name}", "   :members:", ""]
    source[0] = "\n".join(lines) + "\n"


def setup(app):
    app.connect("source-read", _module_sections)
