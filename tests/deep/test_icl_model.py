import math

import pytest

torch = pytest.importorskip("torch")

from asymptotics.errors import InvalidParameter  # noqa: E402
from deep.icl_markov.diagnostics import (effective_positional_encoding, induction_chance_level,  # noqa: E402
                                         previous_token_score, statistical_induction_score)
from deep.icl_markov.model import AttentionOnlyTransformer, MinimalMarkovModel, count_parameters  # noqa: E402
from deep.icl_markov.sampler import sample_batch  # noqa: E402
from deep.icl_markov.strategies import ngram_predictions  # noqa: E402


@pytest.mark.parametrize("k,T,layers,padding,expected", [
    (2, 100, 2, True, 5440),      # spec A.3, authors' code (T + 1 relative rows)
    (3, 100, 2, True, 5472),
    (3, 100, 2, False, 5440),     # spec A.8 table (T rows)
    (3, 50, 2, False, 3840),
    (3, 100, 1, False, 2784),     # one-layer control
])
def test_parameter_counts(k, T, layers, padding, expected):
    model = AttentionOnlyTransformer(k, T, num_layers=layers, padding_row=padding)
    assert count_parameters(model) == expected
    d = 16
    rows = T + 1 if padding else T
    assert expected == layers * (4 * d * d + rows * d + 2 * d) + k * d + 2 * d + d * k


def _perturbed_model(**kw):
    model = AttentionOnlyTransformer(3, 20, generator=torch.Generator().manual_seed(0), **kw)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    return model


@pytest.mark.parametrize("kw", [dict(), dict(first_layer_heads=2, width=32), dict(num_layers=1)])
def test_transformer_is_causal(kw):
    model = _perturbed_model(**kw).eval()
    x = torch.randint(0, 3, (5, 20), generator=torch.Generator().manual_seed(1))
    changed = x.clone()
    changed[:, 12:] = (changed[:, 12:] + 1) % 3
    a, b = model(x), model(changed)
    assert torch.equal(a[:, :12], b[:, :12])              # exactly: masked positions get weight exactly 0
    assert not torch.allclose(a[:, 12:], b[:, 12:])       # the change is visible from position 12 on


def test_transformer_scores_match_naive_definition():
    model = _perturbed_model(first_layer_heads=2, width=32).eval()
    x = torch.randint(0, 3, (3, 20), generator=torch.Generator().manual_seed(2))
    _, maps = model(x, return_attention=True)
    layer = model.layers[0]
    h = model.norms[0](model.embedding(x))
    q, k = layer.query(h).view(3, 20, 2, 16), layer.key(h).view(3, 20, 2, 16)
    r = layer.relative.weight.view(-1, 2, 16)
    scores = torch.full((3, 2, 20, 20), float("-inf"))
    for i in range(20):
        for j in range(i + 1):
            scores[:, :, i, j] = ((q[:, i] * k[:, j]).sum(-1) + (q[:, i] * r[i - j]).sum(-1)) / math.sqrt(16)
    assert torch.allclose(torch.softmax(scores, -1), maps[0], atol=1e-5)   # float32 rounding


def test_transformer_rejects_bad_arguments():
    with pytest.raises(InvalidParameter, match="num_states"):
        AttentionOnlyTransformer(1, 10)
    with pytest.raises(InvalidParameter, match="heads"):
        AttentionOnlyTransformer(3, 10, width=16, first_layer_heads=3)
    with pytest.raises(InvalidParameter, match="tokens"):
        AttentionOnlyTransformer(3, 10)(torch.zeros(1, 11, dtype=torch.long))


def _tokens(seed=0, batch=6, length=30, k=3):
    return sample_batch(batch, length, k, generator=torch.Generator().manual_seed(seed)).tokens


def test_minimal_model_unigram_identity():
    tokens = _tokens()
    model = MinimalMarkovModel(3, 30)
    with torch.no_grad():
        model.w.fill_(2.5)
    counts = torch.nn.functional.one_hot(tokens, 3).double().cumsum(1)
    assert torch.allclose(model(tokens).double(), 2.5 * counts, atol=1e-4)


def test_minimal_model_bigram_identity():
    tokens = _tokens(1)
    model = MinimalMarkovModel(3, 30)
    with torch.no_grad():
        model.v[1] = 60.0                                   # softmax mass at distance 1 is 1 - O(e^-60)
        model.w.copy_(1.5 * torch.eye(3))
    logits = model(tokens).double()
    # bigram counts from the add-one bigram rule: (N + 1) / (N_row + 3) -> N
    pred = ngram_predictions(tokens, 3, 2)
    counts = torch.zeros(6, 30, 3, dtype=torch.float64)
    for b in range(6):
        for t in range(30):
            for s in range(1, t + 1):
                if tokens[b, s - 1] == tokens[b, t]:
                    counts[b, t, tokens[b, s]] += 1
    row_total = counts.sum(-1, keepdim=True)
    assert torch.allclose(pred, (counts + 1) / (row_total + 3))           # same statistic as the strategy
    boundary = (tokens[:, :1] == tokens)[..., None].double() * torch.nn.functional.one_hot(tokens[:, :1], 3).double()
    assert torch.allclose(logits, 1.5 * (counts + boundary), atol=1e-4)


def test_minimal_model_no_gradient_for_layer_one_at_uninformed_init():
    tokens = _tokens(2)
    model = MinimalMarkovModel(3, 30)                       # v = 0, W = 0.01 * 11^T
    with torch.no_grad():
        model.v.copy_(torch.randn(30, generator=torch.Generator().manual_seed(0)))  # any v, still W ∝ 11^T
    logits = model(tokens[:, :-1])
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 3), tokens[:, 1:].reshape(-1))
    loss.backward()
    assert float(model.v.grad.abs().max()) < 1e-8         # exactly 0 analytically; float32 rounding
    assert float(model.w.grad.abs().max()) > 1e-4          # the second layer does get signal


def test_minimal_model_is_causal():
    model = MinimalMarkovModel(3, 30)
    with torch.no_grad():
        model.v.copy_(torch.randn(30, generator=torch.Generator().manual_seed(1)))
        model.w.copy_(torch.randn(3, 3, generator=torch.Generator().manual_seed(2)))
    x = _tokens(3)
    y = x.clone()
    y[:, 20:] = (y[:, 20:] + 1) % 3
    assert torch.equal(model(x)[:, :20], model(y)[:, :20])


def test_previous_token_and_induction_scores_on_planted_maps():
    tokens = torch.tensor([[0, 1, 0, 2, 1, 0]])
    T = 6
    prev = torch.zeros(1, 1, T, T)
    prev[0, 0, 0, 0] = 1
    for i in range(1, T):
        prev[0, 0, i, i - 1] = 1
    assert torch.allclose(previous_token_score(prev), torch.tensor([1.0]))
    # last token 0; positions whose predecessor is 0: s = 1, 3 (x_0 = 0, x_2 = 0)
    induction = torch.zeros(1, 1, T, T)
    induction[0, 0, -1, 1] = 0.5
    induction[0, 0, -1, 3] = 0.5
    assert torch.allclose(statistical_induction_score(induction, tokens), torch.tensor([1.0]))
    uniform = torch.full((1, 1, T, T), 1 / T)
    assert abs(float(statistical_induction_score(uniform, tokens)) - induction_chance_level(tokens)) < 1e-7
    assert abs(induction_chance_level(tokens) - 2 / 6) < 1e-12


def test_effective_positional_encoding_shape():
    model = _perturbed_model(first_layer_heads=2, width=32)
    assert effective_positional_encoding(model).shape == (2, 20)
