r"""Per-layer features through forward hooks.

:class:`FeatureRecorder` registers ``register_forward_hook`` on a list of modules and keeps every output (flattened
to ``(n, -1)``, detached) in call order; a module called several times in one forward (e.g. the shared activation of
:class:`deep.models.HomogeneousMLP`) contributes one entry per call. Hooks are removed on exit.
"""
from __future__ import annotations

import torch
from torch import nn

from asymptotics.errors import InvalidParameter


class FeatureRecorder:
    """Context manager recording the outputs of ``modules`` (see module docstring).

    Parameters
    ----------
    modules : list of torch.nn.Module
        The modules whose outputs are recorded (flattened per sample, detached), one entry per call.

    Examples
    --------
    >>> import torch
    >>> from deep.models import HomogeneousMLP
    >>> net = HomogeneousMLP(4, [8, 6], out_features=3)
    >>> from deep.collapse import FeatureRecorder
    >>> with FeatureRecorder([net.act]) as rec:
    ...     _ = net(torch.ones(2, 4))
    >>> [tuple(f.shape) for f in rec.outputs]
    [(2, 8), (2, 6)]
    """

    def __init__(self, modules):
        modules = list(modules)
        if not modules or not all(isinstance(m, nn.Module) for m in modules):
            raise InvalidParameter("modules", "must be a non-empty list of torch.nn.Module")
        self.modules = modules
        self.outputs: list[torch.Tensor] = []
        self._handles = []

    def _hook(self, module, inputs, output):
        self.outputs.append(output.detach().reshape(output.shape[0], -1))

    def __enter__(self):
        self.outputs = []
        self._handles = [m.register_forward_hook(self._hook) for m in self.modules]
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles = []
        return False


def default_layers(model: nn.Module) -> list[nn.Module]:
    """Modules whose outputs are the hidden representations: the shared activation of a ``HomogeneousMLP``
    (one entry per hidden layer) or every ``nn.ReLU`` of a generic model."""
    if hasattr(model, "act") and hasattr(model, "layers"):
        return [model.act]
    mods = [m for m in model.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))]
    if not mods:
        raise InvalidParameter("model", "has no activation modules; pass layers= explicitly")
    return mods


def layer_features(model: nn.Module, x: torch.Tensor, layers=None, batch_size: int = 4096):
    r"""Hidden representations of ``x`` at every hooked layer and the network outputs.

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    x : torch.Tensor
        Inputs.
    layers : list of torch.nn.Module, optional
        Modules to record (default :func:`default_layers`).
    batch_size : int, default 4096
        Forward in batches of this size.

    Returns
    -------
    features : list of tensors (n, p_l)
        One per recorded call, in forward order (the last hidden layer is the penultimate feature ``h``).
    outputs : tensor
        ``model(x)``.

    Examples
    --------
    >>> import torch
    >>> from deep.collapse import layer_features
    >>> from deep.models import HomogeneousMLP
    >>> net = HomogeneousMLP(4, [8, 6], out_features=3, generator=torch.Generator().manual_seed(0))
    >>> features, outputs = layer_features(net, torch.ones(2, 4))
    >>> [tuple(f.shape) for f in features], tuple(outputs.shape)
    ([(2, 8), (2, 6)], (2, 3))
    """
    layers = default_layers(model) if layers is None else list(layers)
    feats, outs = None, []
    with torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            with FeatureRecorder(layers) as rec:
                outs.append(model(x[start:start + batch_size]))
            if feats is None:
                feats = [[f] for f in rec.outputs]
            else:
                for acc, f in zip(feats, rec.outputs):
                    acc.append(f)
    return [torch.cat(f) for f in feats], torch.cat(outs)
