"""Every registered figure, drawn from stored data, has constrained layout and no legend over its data.

For each figure the data come from ``NAME.json`` in the first folder of ``$ROBUSTBIAS_FIGURE_DATA`` (folders separated
by ``os.pathsep``) that holds them, e.g. the output of ``robustbias figures check --all --preset quick --out DIR``
(the quick figures themselves: 30 s for the 39 figures); otherwise from a run made here with the overrides in
:data:`LAYOUT_OVERRIDES` (the quick preset itself where it takes seconds, a tiny grid otherwise), written to JSON
and read back. The figure is then drawn again from that JSON with ``figures.draw`` (inside the package style) and
:func:`figures.layout.legend_overlaps` must find nothing: no legend box covers a point of a plotted line, scatter or
error bar. Slow (about 95 s on 2 shared cores with the tiny runs); the table's completeness check is fast.
"""
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

import figures
from figures import io, layout, registry, style

ICL = dict(context_length=10, steps=4, eval_every=2, eval_size=8)
GROKKING = dict(n_bits=10, k=2, n_train=48, n_test=48, width=16, epochs=4, batch_size=16, sparsity_every=2)
HMC = dict(chains=2, num_samples=4, burn_in=2, leapfrog_steps=2, thin=1)
BNN = dict(samples=2, score_samples=2, steps=2, epochs=1, n_test=10, hmc_pretrain=1, hmc=HMC)

#: overrides of the quick preset that make each figure in seconds ({} = the quick preset itself); several seeds
#: wherever the figure draws seeds, so that their bands and legends are drawn as in the real figure
LAYOUT_OVERRIDES = {
    "errors_vs_alpha": {},
    "reg_order_optimal_lambda": dict(n_r=4, eps_curves=[0.01, 0.3, 0.6], eps_inset=[0.01, 0.6]),
    "reg_order_fixed_lambda": dict(n_r=5, refine=False),
    "order_parameter_scaling": dict(n_alpha=13),
    "tradeoff": {},
    "winning_reg_map": dict(n_alpha=3, n_eps=3, alpha_min=0.05, n_jobs=1),
    "optimal_regularization_map": dict(n_alpha=2, n_eps=2, alpha_min=0.5, alpha_max=3.0, eps_min=0.2, eps_max=0.6),
    "convergence_map": dict(alphas=[0.1, 1.0], eps=[0.0, 0.5], lams=[0.01, 1.0], small_lams_r1=[], rs=[1.0, 2.0],
                            attacks=["linf"], losses=["logistic", "hinge"], jobs=1),
    "rademacher_vs_dimension": dict(dims=[8, 16, 32], draws=20),
    "price_gap_vs_m": dict(d=48, m_values=[12, 24], seeds=2, steps=1500, n_test=400, jobs=1, k_w=6),
    "price_benefit_map": dict(d=32, m_values=[16], k_w=[2, 8], k_x=[4], eps_fractions=[0.5], seeds=1, steps=1500,
                              n_test=300, jobs=1),
    "icl_phases": ICL,
    "icl_attention": ICL,
    "icl_stumbling_block": dict(ICL, seeds=[0, 1], unigram_extra=2),
    "icl_minimal_model": dict(num_states=3, context_length=8, steps=4, eval_every=2, eval_size=32, batch_size=16,
                              transformer=False),
    "icl_variance": dict(num_states=3, context_length=10, steps=6, eval_every=2, eval_size=16, seeds=[0, 1, 2]),
    "icl_ngrams": dict(context_length=12, steps=6, eval_every=3, eval_size=16, width=8),
    "grokking_accuracy": dict(GROKKING, seeds=[0, 1]),
    "grokking_neuron_norms": dict(GROKKING, seeds=[0], shown_others=4),
    "grokking_sparsity": dict(GROKKING, seeds=[0, 1]),
    "grokking_multi_seed": dict(GROKKING, seeds=[0, 1, 2], ablation_weight_decays=[0.001, 0.01],
                                ablation_widths=[8, 16], ablation_seeds=[0, 1], ablation_epochs=4),
    "theory_vs_simulation": dict(n_alpha=5, sim_alphas=[0.5, 1.0], d=40, seeds=2, n_test=100),
    "mahalanobis_geometry": dict(alphas=[1.0], n_eps=3, eps_max=0.5, sim_eps=[0.5], d=100, seeds=2, n_test=500),
    "margins_oracle_b": dict(steps=4000, diag_steps=4000, checkpoints=30),
    "margin_gap_random": dict(n=20, d=40, seeds=2, steps=3000, checkpoints=30, kkt_points=4),
    "robust_steepest_descent": dict(fractions=[0.0, 0.25, 0.5], steps=4000, checkpoints=30),
    "margins_steepest_descent": dict(n_train=30, n_test=30, width=8, steps=60, points=6,
                                     algorithms=["gd", "sign", "cd", "adam"], kkt=True),
    "flavors_test_accuracy": dict(n_train=30, n_test=30, width=8, steps=60, points=6, pairs=[[0, 1]],
                                  algorithms=["gd", "sign", "cd", "adam"], reuse_dir=None),
    "robust_erm_nets": dict(n_train=20, width=8, epochs=3, eps=[0.0, 0.1, 0.2], attack_steps=2, seeds=[0, 1]),
    "neural_collapse_attack": dict(widths=[16], per_class=3, epochs=2, log_every=1, attack_steps=1, eval_steps=1,
                                   targeted_steps=1, batch_size=30),
    "neural_collapse_layers": dict(widths=[8, 8], per_class=3, epochs=1, attack_steps=1, eval_steps=1,
                                   check_steps=1, eps_sweep=[0.1], batch_size=30),
    "bnn_attacks": dict(BNN, eps=[0.0, 0.2]),
    "bnn_semantic_shift": dict(BNN, eps=[0.2]),
    "ntk_kernel_attacks": dict(n_train=20, n_test=10, widths=[8, 16], eps=[0.1, 0.2], steps=5, attack_steps=2),
    "ntk_features": dict(n_train=20, n_test=10, steps=2, indices=[0, 1, 2], partial=[1, 2],
                         kernels=[["ntk", 1], ["nngp", 1]]),
    "ntk_dynamics": dict(n_train=20, n_probe=3, width=8, channels=[2, 2], epochs=1, batch_size=20, attack_steps=2,
                         seeds=[0, 1], top_k=3),
    "ntk_spectral_bias": dict(n=8, frequencies=[1, 2], width=16, steps=4, record=2, sizes=[5, 10], seeds=[0, 1]),
    "kip_distillation": dict(n_train=100, n_test=10, per_class=1, kip_steps=1, batch_size=20, train_attack_steps=1,
                             width=8, net_steps=2, strong_steps=2, restarts=1, apgd_steps=2, queries=3),
    "ntk_eigenfeature_images": dict(n_train=20, n_test=10, top=2, bottom=2, profile=[0, 1, 19], steps=2,
                                    permutations=2),
}

#: folders of stored figure data (os.pathsep-separated), searched in order
STORED = [Path(p) for p in os.environ.get("ROBUSTBIAS_FIGURE_DATA", "").split(os.pathsep) if p]


def test_every_registered_figure_has_layout_overrides():
    missing = sorted(set(figures.available()) - set(LAYOUT_OVERRIDES))
    assert missing == [], f"add {missing} to LAYOUT_OVERRIDES in {__file__}"
    for name, overrides in LAYOUT_OVERRIDES.items():
        if name in figures.available():
            unknown = set(overrides) - set(figures.get(name).PRESETS["quick"])
            assert not unknown, f"{name}: {sorted(unknown)} are not parameters of the figure"


def _stored_data(name, tmp_path_factory):
    """(data, params) read back from JSON: the stored quick run if there is one, else a run made here."""
    for folder in STORED:
        if (folder / f"{name}.json").is_file() and (folder / f"{name}.params.json").is_file():
            data = json.loads((folder / f"{name}.json").read_text())
            return data, json.loads((folder / f"{name}.params.json").read_text())["params"]
    # what make() writes, without drawing the figure a first time
    params = dict(figures.get(name).PRESETS["quick"], **LAYOUT_OVERRIDES[name])
    data = figures.get(name).compute(params, progress=False)
    path = io.write_json(tmp_path_factory.mktemp(name) / f"{name}.json", data)
    return json.loads(path.read_text()), json.loads(json.dumps(io.to_jsonable(params)))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(figures.available()))
def test_figure_drawn_from_stored_data_keeps_legends_off_the_data(name, tmp_path_factory):
    module = figures.get(name)
    if registry.missing_requirements(module):
        pytest.skip(f"needs {registry.missing_requirements(module)}")
    data, params = _stored_data(name, tmp_path_factory)
    with style.figure_style():
        fig = figures.draw(name, data, params)
        try:
            assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine", \
                f"{name}: draw with constrained layout (figures.style.subplots; no tight_layout/subplots_adjust)"
            overlaps = layout.legend_overlaps(fig)
        finally:
            plt.close(fig)
    assert overlaps == [], f"{name}: " + "; ".join(map(str, overlaps))
