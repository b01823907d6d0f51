import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from asymptotics.errors import InvalidParameter  # noqa: E402
from deep.grokking.handbuilt import dnf_network, prop2_network, prop3_network  # noqa: E402
from deep.grokking.model import ParityMLP, sign  # noqa: E402
from deep.grokking.parity import parity_labels, sensitivity, sparse_parity_dataset  # noqa: E402
from deep.grokking.subnetworks import (active_subnetwork, effective_sparsity, faithfulness,  # noqa: E402
                                       neuron_norms, track_subnetworks)
from deep.grokking.training import GrokkingConfig, Snapshot, hinge_loss  # noqa: E402


def test_parity_labels_are_products_of_hidden_bits_and_balanced():
    data = sparse_parity_dataset(40, 3, 1000, 500, seed=0, relevant=(5, 17, 30))
    x, y = data.x_train, data.y_train
    assert set(y.unique().tolist()) <= {-1.0, 1.0}
    assert torch.equal(y, x[:, 5] * x[:, 17] * x[:, 30])
    assert abs(float(y.mean())) < 0.1                      # spec: |mean y| < 0.1 for N = 1000
    assert set(x.unique().tolist()) == {-1.0, 1.0}


def test_irrelevant_flips_never_change_labels_and_sensitivity_is_k():
    data = sparse_parity_dataset(20, 3, 300, 10, seed=1)
    target = lambda x: parity_labels(x, data.relevant)  # noqa: E731
    for i in range(3, 20):
        flipped = data.x_train.clone()
        flipped[:, i] *= -1
        assert torch.equal(target(flipped), data.y_train)
    assert sensitivity(target, data.x_train) == 3.0


def test_train_and_test_sets_are_seeded():
    a = sparse_parity_dataset(10, 2, 50, 20, seed=3)
    b = sparse_parity_dataset(10, 2, 50, 20, seed=3)
    c = sparse_parity_dataset(10, 2, 50, 20, seed=4)
    assert torch.equal(a.x_train, b.x_train) and not torch.equal(a.x_train, c.x_train)
    assert torch.equal(a.x_test, c.x_test)                 # test set fixed across seeds


@pytest.mark.parametrize("kw,name", [(dict(k=0), "k"), (dict(k=50), "k"), (dict(n_train=0), "n_train"),
                                     (dict(relevant=(0, 0, 1)), "relevant")])
def test_invalid_parity_arguments(kw, name):
    with pytest.raises(InvalidParameter) as err:
        sparse_parity_dataset(40, **{"k": 3, **kw})
    assert err.value.parameter == name


ALL_PATTERNS = torch.tensor(list(itertools.product((-1.0, 1.0), repeat=3)))


@pytest.mark.parametrize("builder,units", [(dnf_network, 8), (prop2_network, 6), (prop3_network, 4)])
def test_handbuilt_networks_compute_parity(builder, units):
    net = builder(n_bits=40)
    assert net.width == units
    x = torch.zeros(8, 40)
    x[:, :3] = ALL_PATTERNS
    out = net(x)
    assert torch.equal(sign(out), ALL_PATTERNS.prod(1))
    rand = sparse_parity_dataset(40, 3, 2000, 1, seed=5)
    assert torch.equal(sign(net(rand.x_train)), rand.y_train)    # 100 % on random inputs


def test_handbuilt_output_values():
    x = torch.zeros(8, 40)
    x[:, :3] = ALL_PATTERNS
    parity = ALL_PATTERNS.prod(1)
    assert torch.equal(prop3_network()(x), parity)                      # exactly +-1
    assert torch.equal(dnf_network()(x), parity)
    p2 = prop2_network()(x)
    assert torch.equal(p2[parity < 0], torch.full((4,), -1.0))
    assert set(p2[parity > 0].tolist()) <= {7.0, 10.0}


def test_handbuilt_relevant_coordinates_can_be_moved():
    net = prop2_network(n_bits=12, relevant=(9, 2, 5))
    data = sparse_parity_dataset(12, 3, 500, 1, seed=6, relevant=(9, 2, 5))
    assert torch.equal(sign(net(data.x_train)), data.y_train)


def _planted(seed=0, extra=994, norm=1e-3):
    base = prop2_network(n_bits=40)
    rng = np.random.default_rng(seed)
    w_extra = rng.normal(size=(extra, 40))
    w_extra *= norm / np.linalg.norm(w_extra, axis=1, keepdims=True)
    weight = np.vstack([base.hidden.weight.detach().numpy(), w_extra])
    bias = np.concatenate([base.hidden.bias.detach().numpy(), rng.uniform(-1e-3, 1e-3, extra)])
    readout = np.concatenate([base.readout.weight.detach().numpy()[0], rng.uniform(-1e-3, 1e-3, extra)])
    perm = rng.permutation(6 + extra)                         # planted units at random positions
    net = ParityMLP(40, 6 + extra).load_parameters(weight[perm], bias[perm], readout[perm])
    planted = np.nonzero(perm < 6)[0]
    return net, planted


def test_active_subnetwork_recovers_planted_units():
    net, planted = _planted()
    data = sparse_parity_dataset(40, 3, 1000, 10, seed=7)
    sub = active_subnetwork(net, data.x_train)
    assert sub.size == 6 and effective_sparsity(net, data.x_train) == 6
    assert sorted(sub.indices.tolist()) == sorted(planted.tolist())
    loose = active_subnetwork(net, data.x_train, "accuracy", data.y_train)
    assert loose.size <= 6


def test_active_subnetwork_on_handbuilt_is_whole_network_minus_unneeded():
    data = sparse_parity_dataset(40, 3, 1000, 10, seed=8)
    # The DNF needs all of its 8 AND units: dropping any flips the sign on its pattern (8 patterns in 1000 points)
    assert effective_sparsity(dnf_network(), data.x_train) == 8


def test_faithfulness_of_full_and_empty_sets():
    net, planted = _planted(1)
    x = sparse_parity_dataset(40, 3, 500, 10, seed=9).x_train
    assert faithfulness(net, np.arange(net.width), x) == 1.0
    full_sign = sign(net(x)).numpy()
    assert faithfulness(net, np.array([], dtype=int), x) == float((full_sign == 1.0).mean())   # sgn 0 = +1
    assert faithfulness(net, planted, x) == 1.0


def test_track_subnetworks_sets_and_values():
    net, planted = _planted(2)
    x = sparse_parity_dataset(40, 3, 300, 10, seed=10).x_train
    snap = Snapshot(0, net.hidden.weight.detach().numpy(), net.hidden.bias.detach().numpy(),
                    net.readout.weight.detach().numpy()[0])
    tr = track_subnetworks([snap], planted, x, control_seed=0)
    assert sorted(tr.sets["sparse"].tolist()) == sorted(planted.tolist())
    assert len(tr.sets["complement"]) == 994 and len(tr.sets["control"]) == 6
    assert tr.faithfulness["sparse"][0] == 1.0
    norms = neuron_norms(net)
    assert abs(tr.mean_norm["sparse"][0] - norms[planted].mean()) < 1e-12
    assert tr.mean_norm["complement"][0] < 1e-2 * tr.mean_norm["sparse"][0]


def test_hinge_loss_and_parameter_count():
    out = torch.tensor([2.0, 0.5, -1.0])
    y = torch.tensor([1.0, 1.0, 1.0])
    assert float(hinge_loss(out, y)) == pytest.approx((0 + 0.5 + 2.0) / 3)
    assert sum(p.numel() for p in ParityMLP(40, 1000).parameters()) == 42000


def test_invalid_training_config():
    with pytest.raises(InvalidParameter, match="learning_rate"):
        GrokkingConfig(learning_rate=0)
    with pytest.raises(InvalidParameter, match="criterion"):
        active_subnetwork(prop2_network(), torch.ones(2, 40), criterion="nope")
