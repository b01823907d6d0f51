"""A static (AST) scan of ``deep/`` and ``figures/`` for device-discipline slips a CPU test run cannot see.

Rules (issue 15 item 5):

* ``x.numpy()`` only as ``x.cpu().numpy()`` (or ``x.detach().cpu().numpy()``, ``x.to("cpu").numpy()``): on a GPU
  ``.numpy()`` of a device tensor raises, and the CPU runs of the tests never notice;
* no hard-coded CPU device: no parameter ``device="cpu"`` (or ``torch.device("cpu")``) as a default, no
  ``device="cpu"`` keyword, no ``"device": "cpu"`` entry (presets must say ``None``, the automatic choice).
  Moving data *to* the host for numpy (``.to("cpu")``, ``.cpu()``) is not a device choice and is allowed.

The scanner is tested on snippets that break and keep each rule, so an empty report means something.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("deep", "figures")


def _is_cpu_literal(node) -> bool:
    """``"cpu"`` or ``torch.device("cpu")``."""
    if isinstance(node, ast.Constant) and node.value == "cpu":
        return True
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "device"
            and len(node.args) == 1 and _is_cpu_literal(node.args[0]))


def _moved_to_host(node) -> bool:
    """``<expr>.cpu()`` or ``<expr>.to("cpu", ...)``."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    if node.func.attr == "cpu":
        return True
    return node.func.attr == "to" and bool(node.args) and _is_cpu_literal(node.args[0])


def scan_source(source: str, filename: str = "<snippet>") -> list[str]:
    """Every rule violation in ``source`` as ``"file:line: message"``."""
    findings = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "numpy" \
                and not node.args and not _moved_to_host(node.func.value):
            findings.append(f"{where}: .numpy() without .cpu() first")
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "device" and _is_cpu_literal(kw.value):
                    findings.append(f"{where}: hard-coded device='cpu'")
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "device" and _is_cpu_literal(value):
                    findings.append(f"{where}: hard-coded 'device': 'cpu' entry")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            positional = args.posonlyargs + args.args
            pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
            pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
            for arg, default in pairs:
                if arg.arg == "device" and _is_cpu_literal(default):
                    findings.append(f"{where}: parameter device defaults to 'cpu'")
    return findings


def _package_files():
    return sorted(p for folder in SCANNED for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("snippet, count", [
    ("y = x.numpy()", 1),
    ("y = x.detach().numpy()", 1),
    ("y = model(x)[0].numpy()", 1),
    ("y = x.cpu().numpy()", 0),
    ("y = x.detach().cpu().numpy()", 0),
    ("y = x.to('cpu', torch.float64).numpy()", 0),
    ("y = np.asarray(x.cpu())", 0),
    ("PRESETS = {'quick': dict(n=3, device='cpu')}", 1),
    ("PRESETS = {'quick': {'n': 3, 'device': 'cpu'}}", 1),
    ("PRESETS = {'quick': dict(n=3, device=None)}", 0),
    ("def f(x, device='cpu'): pass", 1),
    ("def f(x, *, device=torch.device('cpu')): pass", 1),
    ("def f(x, device=None): pass", 0),
    ("t = torch.zeros(3, device='cpu')", 1),
    ("t = torch.zeros(3, device=x.device)", 0),
    ("t = x.to('cpu')", 0),
])
def test_scanner_flags_each_rule_and_only_it(snippet, count):
    assert len(scan_source(snippet)) == count, scan_source(snippet)


def test_scanner_sees_every_package_file():
    files = _package_files()
    assert ROOT / "deep" / "device.py" in files and ROOT / "figures" / "registry.py" in files
    assert len(files) >= 60


def test_deep_and_figures_follow_the_device_discipline():
    findings = [f for path in _package_files()
                for f in scan_source(path.read_text(), str(path.relative_to(ROOT)))]
    assert findings == [], "\n".join(findings)
