"""In-context learning of Markov chains (ICL-MC) and statistical induction heads (Edelman et al. 2024).

Modules: ``sampler`` (random chains and sequences), ``strategies`` (uniform / unigram / n-gram / Bayes predictors and
their closed-form losses), ``model`` (attention-only transformer, minimal two-layer model), ``diagnostics``
(previous-token and statistical-induction scores), ``training`` (training with checkpoints, phase detection,
stumbling-block experiment).
"""
