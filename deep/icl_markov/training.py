r"""Training on ICL-MC with checkpoints, phase detection and the stumbling-block experiment.

Recipe (spec A.8, CPU): fresh batch of ``batch_size`` sequences per step from the training prior, mean next-token
cross-entropy over all T positions, AdamW (betas 0.9, 0.95) with weight decay on the q/k/v/o and unembedding matrices
only, constant learning rate, no clipping. The minimal model uses plain SGD with its own learning rate for v.

Evaluation at every checkpoint, on a fixed set of ``eval_size`` sequences from the full Dir(alpha) prior, at the last
position only: q = model law of x_T given x_{0:T-1}, p* = true law, s^(m) = m-gram strategies (m = 0..order).

* ``kl_to_truth``   = mean KL(p* || q);
* ``distances[m]``  = D_m(t) = mean KL(s^(m) || q);
* phase(t)          = argmin_m D_m(t);
* ``previous_token`` / ``induction`` = PT / SI scores (:mod:`.diagnostics`).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, positive, real

from ..device import default_device
from .diagnostics import (effective_positional_encoding, induction_chance_level, previous_token_score,
                          statistical_induction_score)
from .model import AttentionOnlyTransformer, MinimalMarkovModel, count_parameters
from .sampler import ChainPrior, concatenate, sample_batch
from .strategies import kl_divergence, last_position_strategies, strategy_name

MODEL_KINDS = ("transformer", "minimal")


@dataclass(frozen=True)
class IclConfig:
    """Everything that defines one ICL-MC training run (defaults: the spec's CPU recipe, k = 3, T = 50).

    ``prior`` is the *training* prior kind ("dirichlet", "doubly_stochastic", "unigram"); evaluation always uses the
    full Dir(alpha) prior of the given ``order``. ``unigram_extra`` > 0 adds that many unigram-optimal sequences to
    every step (the stumbling-block mixture; the step axis counts the main batch only).

    Attributes
    ----------
    num_states, context_length, order : int
        k, T and the n of the n-gram chains.
    model : {"transformer", "minimal"}
        :class:`~deep.icl_markov.model.AttentionOnlyTransformer` or the two-layer
        :class:`~deep.icl_markov.model.MinimalMarkovModel`.
    num_layers, width, first_layer_heads : int
        The transformer's shape.
    padding_row : bool
        Extra row of the relative-position table.
    dropout : float
        Dropout rate.
    prior : {"dirichlet", "doubly_stochastic", "unigram"}
        The training prior kind.
    alpha : float
        Dirichlet concentration.
    unigram_extra : int
        Unigram-optimal sequences added to every step.
    learning_rate, position_learning_rate : float
        AdamW (transformer) or SGD step sizes; the minimal model's positional weights v use the second.
    minimal_init_w : float
        Initial entries of the minimal model's W.
    weight_decay : float
        AdamW weight decay (matrices only).
    betas : (float, float)
        AdamW betas.
    batch_size, steps : int
        Sequences per step and training steps.
    eval_every, eval_size, eval_seed : int
        Checkpoint spacing, evaluation sequences and their seed.
    seed : int
        Seed of the initialisation and of the training data.
    record_attention, record_states : bool
        Keep the attention maps / the model states at every checkpoint.
    device : str or None
        Where to train (None: :func:`deep.device.default_device`).

    Examples
    --------
    >>> from deep.icl_markov.training import IclConfig
    >>> config = IclConfig(context_length=10)
    >>> config.num_states, config.model, config.to_dict()["context_length"]
    (3, 'transformer', 10)
    """

    num_states: int = 3
    context_length: int = 50
    order: int = 2
    model: str = "transformer"
    num_layers: int = 2
    width: int = 16
    first_layer_heads: int = 1
    padding_row: bool = True
    dropout: float = 0.0
    prior: str = "dirichlet"
    alpha: float = 1.0
    unigram_extra: int = 0
    learning_rate: float = 1e-3
    position_learning_rate: float = 1.0
    minimal_init_w: float = 0.01
    weight_decay: float = 0.1
    betas: tuple = (0.9, 0.95)
    batch_size: int = 64
    steps: int = 1500
    eval_every: int = 25
    eval_size: int = 512
    eval_seed: int = 2024
    seed: int = 0
    record_attention: bool = True
    record_states: bool = False
    device: str | None = None

    def __post_init__(self):
        integer("num_states", self.num_states, low=2)
        integer("context_length", self.context_length, low=2)
        integer("order", self.order, low=2)
        if self.model not in MODEL_KINDS:
            raise InvalidParameter("model", f"must be one of {MODEL_KINDS}, got {self.model!r}")
        integer("num_layers", self.num_layers, low=1)
        integer("width", self.width, low=1)
        integer("first_layer_heads", self.first_layer_heads, low=1)
        if self.width % self.first_layer_heads:
            raise InvalidParameter("first_layer_heads", f"must divide width {self.width}")
        real("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        ChainPrior(self.prior, self.alpha, self.order)
        integer("unigram_extra", self.unigram_extra, low=0)
        positive("learning_rate", self.learning_rate)
        positive("position_learning_rate", self.position_learning_rate)
        real("minimal_init_w", self.minimal_init_w)
        real("weight_decay", self.weight_decay, low=0.0)
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise InvalidParameter("betas", f"must be two numbers in [0, 1), got {self.betas!r}")
        integer("batch_size", self.batch_size, low=1)
        integer("steps", self.steps, low=1)
        integer("eval_every", self.eval_every, low=1)
        integer("eval_size", self.eval_size, low=1)
        integer("seed", self.seed, low=0)
        if self.model == "minimal" and self.order != 2:
            raise InvalidParameter("order", "the minimal model is defined for order 2 only")
        if self.context_length < self.order:
            raise InvalidParameter("context_length", f"must be >= order {self.order}")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["betas"] = list(self.betas)
        return out


@dataclass(frozen=True)
class PhaseSummary:
    """Phases from argmin_m KL(s^(m) || q) over checkpoints.

    Attributes
    ----------
    labels : list of str
        Raw argmin strategy at every checkpoint.
    runs : list of (name, first_step, n_checkpoints)
        Run-length compression of ``labels``.
    sequence : list of str
        Phase order after dropping interior runs shorter than ``min_run`` checkpoints (flickers) and merging.
    first_step : dict
        First step of each phase of ``sequence`` (start of its first surviving run).
    transition_step : int or None
        First step where KL(p* || q) falls below the midpoint of the unigram and bigram strategies' KLs.

    Examples
    --------
    >>> import numpy as np
    >>> from deep.icl_markov.training import detect_phases
    >>> d = {"uniform": np.array([0.1, 0.3, 0.5, 0.6]), "unigram": np.array([0.2, 0.1, 0.2, 0.4]),
    ...      "bigram": np.array([0.3, 0.2, 0.1, 0.05])}
    >>> phases = detect_phases([0, 10, 20, 30], d)
    >>> phases.labels, phases.sequence, phases.first_step        # the one-checkpoint unigram run is a flicker
    (['uniform', 'unigram', 'bigram', 'bigram'], ['uniform', 'bigram'], {'uniform': 0, 'bigram': 20})
    """

    labels: list
    runs: list
    sequence: list
    first_step: dict
    transition_step: int | None

    def to_dict(self) -> dict:
        return asdict(self)


def detect_phases(steps, distances: dict, kl_to_truth=None, strategy_kl: dict | None = None,
                  min_run: int = 2) -> PhaseSummary:
    """Phase of every checkpoint = strategy with the smallest KL(strategy || model), compressed.

    Parameters
    ----------
    steps : array (n,)
        Checkpoint steps.
    distances : dict name -> array (n,)
        D_m at every checkpoint, keys in strategy order (uniform, unigram, bigram, ...).
    kl_to_truth, strategy_kl : optional
        KL(p*||q) per checkpoint and KL(p*||s^(m)) per strategy, for ``transition_step``.
    min_run : int
        Interior runs shorter than this many checkpoints count as flickers (the first run is always kept).

    Returns
    -------
    PhaseSummary

    Examples
    --------
    >>> import numpy as np
    >>> from deep.icl_markov.training import detect_phases
    >>> d = {"uniform": np.array([0.1, 0.3, 0.5]), "unigram": np.array([0.2, 0.1, 0.2]),
    ...      "bigram": np.array([0.3, 0.2, 0.1])}
    >>> detect_phases([0, 10, 20], d, min_run=1).sequence
    ['uniform', 'unigram', 'bigram']
    """
    names = list(distances)
    if not names:
        raise InvalidParameter("distances", "needs at least one strategy")
    table = np.stack([np.asarray(distances[n], dtype=float) for n in names])
    steps = np.asarray(steps)
    if table.shape[1] != steps.shape[0]:
        raise InvalidParameter("distances", "every curve must have one value per step")
    integer("min_run", min_run, low=1)
    labels = [names[i] for i in table.argmin(0)]
    runs: list[list] = []
    for step, lab in zip(steps.tolist(), labels):
        if runs and runs[-1][0] == lab:
            runs[-1][2] += 1
        else:
            runs.append([lab, int(step), 1])
    kept: list[list] = []
    for i, run in enumerate(runs):
        if i > 0 and run[2] < min_run and i < len(runs) - 1:
            continue
        if kept and kept[-1][0] == run[0]:
            kept[-1][2] += run[2]
        else:
            kept.append(list(run))
    sequence = [r[0] for r in kept]
    first_step: dict = {}
    for r in kept:
        first_step.setdefault(r[0], r[1])
    transition = None
    if kl_to_truth is not None and strategy_kl and "unigram" in strategy_kl and "bigram" in strategy_kl:
        mid = 0.5 * (strategy_kl["unigram"] + strategy_kl["bigram"])
        below = np.nonzero(np.asarray(kl_to_truth) < mid)[0]
        transition = int(steps[below[0]]) if below.size else None
    return PhaseSummary(labels=labels, runs=[tuple(r) for r in runs], sequence=sequence, first_step=first_step,
                        transition_step=transition)


@dataclass(frozen=True)
class IclTrainingRun:
    """Checkpoint curves of one run (arrays indexed by checkpoint unless stated).

    ``attention`` holds, per layer, the maps (n_ckpt, heads, T, T) on eval sequence 0 (empty if not recorded);
    ``positional_encoding`` is the layer-1 effective positional encoding (n_ckpt, heads, T) of the transformer, or
    for the minimal model its layer-1 weights v (n_ckpt, 1, T);
    ``states`` the model state dicts at every checkpoint when ``record_states`` (else empty); ``train_loss`` is per
    step.

    Attributes
    ----------
    config : IclConfig
        The run's configuration.
    steps : numpy.ndarray
        Checkpoint steps.
    kl_to_truth : numpy.ndarray
        KL(p* || model) at the last position, averaged over the evaluation set.
    distances : dict
        Strategy name -> KL(strategy || model) per checkpoint.
    strategy_kl : dict
        Strategy name -> KL(p* || strategy) (constant).
    previous_token, induction : numpy.ndarray
        Layer-1 previous-token and layer-2 statistical-induction scores per checkpoint and head.
    induction_chance : float
        The uniform-attention baseline of the induction score.
    train_loss : numpy.ndarray
        Training loss per step.
    attention : list
        Attention maps per layer (see above).
    example_tokens : numpy.ndarray
        Evaluation sequence 0.
    parameter_count : int
        Trainable scalars.
    seconds : float
        Wall time.
    phases : PhaseSummary
        The phases (:func:`detect_phases`).
    positional_encoding : numpy.ndarray or None
        See above.
    states : list
        See above.

    Examples
    --------
    >>> from deep.icl_markov.training import IclConfig, train_icl
    >>> run = train_icl(IclConfig(context_length=10, steps=4, eval_every=2, eval_size=8, batch_size=4))
    >>> run.steps.tolist(), sorted(run.distances)
    ([0, 2, 4], ['bigram', 'uniform', 'unigram'])
    """

    config: IclConfig
    steps: np.ndarray
    kl_to_truth: np.ndarray
    distances: dict
    strategy_kl: dict
    previous_token: np.ndarray
    induction: np.ndarray
    induction_chance: float
    train_loss: np.ndarray
    attention: list
    example_tokens: np.ndarray
    parameter_count: int
    seconds: float
    phases: PhaseSummary = field(repr=False, default=None)
    positional_encoding: np.ndarray | None = field(repr=False, default=None)
    states: list = field(repr=False, default_factory=list)

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "steps": self.steps, "kl_to_truth": self.kl_to_truth,
                "distances": self.distances, "strategy_kl": self.strategy_kl,
                "previous_token": self.previous_token, "induction": self.induction,
                "induction_chance": self.induction_chance, "train_loss": self.train_loss,
                "example_tokens": self.example_tokens, "parameter_count": self.parameter_count,
                "seconds": self.seconds, "phases": self.phases.to_dict() if self.phases else None}


def build_model(config: IclConfig, generator: torch.Generator | None = None) -> torch.nn.Module:
    """The model of ``config`` (initialised from ``generator``) on torch's default device; :func:`train_icl` builds it
    on the CPU and moves it with ``.to(device)``, so no random draw is made on the device.

    Parameters
    ----------
    config : IclConfig
        The run.
    generator : torch.Generator, optional
        Source of the initialisation.

    Returns
    -------
    torch.nn.Module

    Examples
    --------
    >>> from deep.icl_markov.training import IclConfig, build_model
    >>> type(build_model(IclConfig(model="minimal", context_length=10))).__name__
    'MinimalMarkovModel'
    """
    if config.model == "minimal":
        return MinimalMarkovModel(config.num_states, config.context_length, init_w=config.minimal_init_w)
    return AttentionOnlyTransformer(config.num_states, config.context_length, width=config.width,
                                    num_layers=config.num_layers, first_layer_heads=config.first_layer_heads,
                                    padding_row=config.padding_row, dropout=config.dropout, generator=generator)


def build_optimizer(model: torch.nn.Module, config: IclConfig) -> torch.optim.Optimizer:
    """AdamW with decay on matrices only (transformer) or SGD with a separate lr for v (minimal model).

    Parameters
    ----------
    model : torch.nn.Module
        A model from :func:`build_model`.
    config : IclConfig
        The run.

    Returns
    -------
    torch.optim.Optimizer

    Examples
    --------
    >>> from deep.icl_markov.training import IclConfig, build_model, build_optimizer
    >>> config = IclConfig(context_length=10)
    >>> type(build_optimizer(build_model(config), config)).__name__
    'AdamW'
    """
    if isinstance(model, MinimalMarkovModel):
        return torch.optim.SGD([{"params": [model.v], "lr": config.position_learning_rate},
                                {"params": [model.w], "lr": config.learning_rate}])
    decay = {id(p) for p in model.matrix_parameters()}
    groups = [{"params": [p for p in model.parameters() if id(p) in decay], "weight_decay": config.weight_decay},
              {"params": [p for p in model.parameters() if id(p) not in decay], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=tuple(config.betas), foreach=True)


class _Evaluator:
    """Fixed evaluation set and the model-independent strategy quantities."""

    def __init__(self, config: IclConfig, device: torch.device):
        gen = torch.Generator().manual_seed(config.eval_seed)      # CPU generator: draws are moved to ``device``
        prior = ChainPrior("dirichlet", config.alpha, config.order)
        batch = sample_batch(config.eval_size, config.context_length + 1, config.num_states, prior,
                             generator=gen, device=device)
        self.inputs = batch.tokens[:, :-1]
        self.truth = batch.next_token_law(config.context_length - 1).to(torch.float64)
        self.strategies = last_position_strategies(self.inputs, config.num_states,
                                                   orders=range(config.order + 1), alpha=config.alpha)
        self.strategy_kl = {n: float(kl_divergence(self.truth, s).mean()) for n, s in self.strategies.items()}

    @torch.no_grad()
    def __call__(self, model) -> dict:
        was_training = model.training
        model.eval()
        logits, maps = model(self.inputs, return_attention=True)
        model.train(was_training)
        q = torch.softmax(logits[:, -1].to(torch.float64), -1)
        out = {"kl_to_truth": float(kl_divergence(self.truth, q).mean()),
               "distances": {n: float(kl_divergence(s, q).mean()) for n, s in self.strategies.items()},
               "previous_token": float(previous_token_score(maps[0]).mean()),
               "induction": float(statistical_induction_score(maps[-1], self.inputs).mean()),
               # a copy: a view of one sequence's map would keep the whole batch's maps alive
               "example_attention": [m[0].float().cpu().numpy().copy() for m in maps],
               "positional_encoding": (model.v.detach().cpu().numpy()[None].copy()
                                       if isinstance(model, MinimalMarkovModel)
                                       else effective_positional_encoding(model).cpu().numpy())}
        return out


def train_icl(config: IclConfig, progress: bool = False) -> IclTrainingRun:
    """Train one model on ICL-MC and evaluate it at steps 0, eval_every, 2 eval_every, ..., steps.

    Seeds: the initialisation uses ``seed``, the main data stream ``seed`` (a separate generator), the
    unigram-optimal extra stream another one, the evaluation set ``eval_seed``; so two runs differing only in
    ``prior``/``unigram_extra`` see the same initial model and, for equal priors, the same main batches.

    Parameters
    ----------
    config : IclConfig
        The run.
    progress : bool, default False
        Show a progress bar.

    Returns
    -------
    IclTrainingRun

    Examples
    --------
    >>> from deep.icl_markov.training import IclConfig, train_icl
    >>> run = train_icl(IclConfig(context_length=10, steps=4, eval_every=2, eval_size=8, batch_size=4))
    >>> run.steps.tolist()
    [0, 2, 4]
    """
    if not isinstance(config, IclConfig):
        raise InvalidParameter("config", "must be an IclConfig")
    device = default_device(config.device)
    start = time.perf_counter()
    init_gen = torch.Generator().manual_seed(1_000_003 * config.seed + 11)
    # built and initialised on the CPU (every draw from a CPU generator, none on the device), then moved
    model = build_model(config, init_gen).to(device)
    optimizer = build_optimizer(model, config)
    # CPU generators on every device (the same streams on cpu and cuda); sample_batch moves the draws to ``device``
    data_gen = torch.Generator().manual_seed(1_000_003 * config.seed + 23)
    extra_gen = torch.Generator().manual_seed(1_000_003 * config.seed + 37)
    train_prior = ChainPrior(config.prior, config.alpha, config.order)
    unigram_prior = ChainPrior("unigram", config.alpha, 2)
    evaluate = _Evaluator(config, device)
    length = config.context_length + 1
    records: list[dict] = []
    eval_steps: list[int] = []
    losses = np.empty(config.steps)
    iterator = range(1, config.steps + 1)
    if progress:
        from tqdm.auto import tqdm
        iterator = tqdm(iterator, desc="icl-mc", leave=False)
    states: list = []

    def checkpoint(step: int) -> None:
        records.append(evaluate(model))
        eval_steps.append(step)
        if config.record_states:
            states.append({key: value.detach().cpu().clone() for key, value in model.state_dict().items()})

    checkpoint(0)
    model.train()
    for step in iterator:
        batch = sample_batch(config.batch_size, length, config.num_states, train_prior, generator=data_gen,
                             device=device)
        if config.unigram_extra:
            extra = sample_batch(config.unigram_extra, length, config.num_states, unigram_prior,
                                 generator=extra_gen, device=device)
            batch = concatenate([batch, extra])
        logits = model(batch.tokens[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, config.num_states),
                                                 batch.tokens[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses[step - 1] = float(loss.detach())
        if step % config.eval_every == 0 or step == config.steps:
            checkpoint(step)
    names = list(evaluate.strategies)
    steps = np.asarray(eval_steps)
    kl = np.array([r["kl_to_truth"] for r in records])
    distances = {n: np.array([r["distances"][n] for r in records]) for n in names}
    attention = []
    if config.record_attention:
        attention = [np.stack([r["example_attention"][i] for r in records]) for i in range(len(records[0]["example_attention"]))]
    phases = detect_phases(steps, distances, kl, evaluate.strategy_kl)
    return IclTrainingRun(config=config, steps=steps, kl_to_truth=kl, distances=distances,
                          strategy_kl=evaluate.strategy_kl,
                          previous_token=np.array([r["previous_token"] for r in records]),
                          induction=np.array([r["induction"] for r in records]),
                          induction_chance=induction_chance_level(evaluate.inputs), train_loss=losses,
                          attention=attention, example_tokens=evaluate.inputs[0].cpu().numpy(),
                          parameter_count=count_parameters(model), seconds=time.perf_counter() - start,
                          phases=phases,
                          positional_encoding=np.stack([r["positional_encoding"] for r in records]),
                          states=states)


@dataclass(frozen=True)
class StumblingBlockResult:
    """Paired DS-only vs DS + unigram-optimal runs (same init and same DS batches per seed).

    ``first_bigram`` / ``has_unigram_phase`` / ``final_kl`` are dicts arm -> list over seeds; arms "ds", "mix".

    Attributes
    ----------
    seeds : list of int
        The seeds.
    runs : dict
        Arm -> list of :class:`IclTrainingRun` over seeds.
    first_bigram : dict
        Arm -> first step of the bigram phase per seed (None if never reached).
    has_unigram_phase : dict
        Arm -> whether a unigram phase appeared, per seed.
    final_kl : dict
        Arm -> final KL(p* || model) per seed.

    Examples
    --------
    >>> from deep.icl_markov.training import IclConfig, stumbling_block
    >>> result = stumbling_block(IclConfig(context_length=10, steps=4, eval_every=2, eval_size=8, batch_size=4), seeds=(0,), unigram_extra=2)
    >>> sorted(result.runs), len(result.delays())
    (['ds', 'mix'], 1)
    """

    seeds: list
    runs: dict
    first_bigram: dict
    has_unigram_phase: dict
    final_kl: dict

    def delays(self) -> list:
        """first_bigram(mix) - first_bigram(ds) per seed (None when an arm never reached bigram)."""
        return [None if a is None or b is None else b - a
                for a, b in zip(self.first_bigram["ds"], self.first_bigram["mix"])]

    def to_dict(self) -> dict:
        return {"seeds": self.seeds, "first_bigram": self.first_bigram, "has_unigram_phase": self.has_unigram_phase,
                "final_kl": self.final_kl, "delays": self.delays(),
                "runs": {arm: [r.to_dict() for r in runs] for arm, runs in self.runs.items()}}


def _train_task(config: IclConfig) -> "IclTrainingRun":
    """One training run as a sweep-engine task (module level so that worker processes can unpickle it).

    Inside a worker process torch gets one thread, so that parallel workers do not oversubscribe the cores."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        torch.set_num_threads(1)
    return train_icl(config)


def stumbling_block(config: IclConfig, seeds=(0, 1, 2), unigram_extra: int = 21,
                    progress: bool = False, jobs: int = 1, executor: str = "serial", address=None
                    ) -> StumblingBlockResult:
    """The stumbling-block experiment: doubly-stochastic training vs a DS + unigram-optimal mixture.

    Both arms use ``config`` with ``prior="doubly_stochastic"``; the mixture adds ``unigram_extra`` unigram-optimal
    sequences per step (21 per 64 = 25 % of the data). Evaluation is on the full Dir(alpha) prior.
    The 2 x len(seeds) runs go through the sweep engine (``asymptotics.engine.run_tasks``): ``jobs`` local
    processes or a Dask cluster (``executor="dask"``, ``address``); each run is seeded by its config, so the results
    do not depend on how they are scheduled.

    Parameters
    ----------
    config : IclConfig
        The base run (its prior is replaced by "doubly_stochastic").
    seeds : sequence of int, default (0, 1, 2)
        One pair of runs per seed.
    unigram_extra : int, default 21
        Unigram-optimal sequences per step in the mixture arm.
    progress : bool, default False
        Show a progress bar.
    jobs : int, default 1
        Local worker processes.
    executor : {"serial", "joblib", "dask"}, default "serial"
        Where the runs go.
    address : str or distributed.Client, optional
        The Dask scheduler.

    Returns
    -------
    StumblingBlockResult

    Examples
    --------
    >>> from deep.icl_markov.training import IclConfig, stumbling_block
    >>> result = stumbling_block(IclConfig(context_length=10, steps=4, eval_every=2, eval_size=8, batch_size=4), seeds=(0,), unigram_extra=2)
    >>> result.seeds, [len(runs) for runs in result.runs.values()]
    ([0], [1, 1])
    """
    integer("unigram_extra", unigram_extra, low=1)
    seeds = [integer("seeds", s, low=0) for s in seeds]
    if not seeds:
        raise InvalidParameter("seeds", "needs at least one seed")
    from asymptotics.engine import run_tasks

    configs = []
    for seed in seeds:
        base = replace(config, prior="doubly_stochastic", seed=seed, unigram_extra=0)
        configs += [base, replace(base, unigram_extra=unigram_extra)]
    trained = run_tasks(_train_task, configs, jobs=jobs, executor=executor, address=address, progress=progress,
                        desc="stumbling block")
    runs: dict = {"ds": trained[0::2], "mix": trained[1::2]}
    first = {arm: [r.phases.first_step.get("bigram") for r in rs] for arm, rs in runs.items()}
    has_uni = {arm: ["unigram" in r.phases.labels for r in rs] for arm, rs in runs.items()}
    final = {arm: [float(r.kl_to_truth[-1]) for r in rs] for arm, rs in runs.items()}
    return StumblingBlockResult(seeds=list(seeds), runs=runs, first_bigram=first, has_unigram_phase=has_uni,
                                final_kl=final)


__all__ = ["IclConfig", "IclTrainingRun", "PhaseSummary", "StumblingBlockResult", "build_model", "build_optimizer",
           "detect_phases", "stumbling_block", "strategy_name", "train_icl"]
