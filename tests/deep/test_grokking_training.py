"""Seeded grokking run on (40, 3)-sparse parity with the spec's thresholds (B.7, oracles 5-8), paper configuration
(p = 1000, SGD lr 0.1, wd 0.01, batch 32, hinge) for 250 epochs and 2,000 test points."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from deep.grokking.subnetworks import active_subnetwork, faithfulness  # noqa: E402
from deep.grokking.training import GrokkingConfig, train_parity  # noqa: E402


@pytest.fixture(scope="module")
def run():
    torch.set_num_threads(1)
    return train_parity(GrokkingConfig(width=1000, epochs=250, seed=0))


@pytest.fixture(scope="module")
def tracking(run):
    return run.subnetwork_tracking(control_seed=0)


@pytest.mark.slow
def test_grokking_gap(run):
    t_mem, t_gen = run.memorisation_epoch, run.generalisation_epoch
    assert t_mem is not None and t_mem <= 80
    assert t_gen is not None and t_gen <= 250
    assert t_gen - t_mem >= 50
    assert run.test_accuracy[t_mem] <= 0.6
    assert run.train_accuracy[-1] == 1.0 and run.test_accuracy[-1] >= 0.99


@pytest.mark.slow
def test_sparsification(run):
    p = run.config.width
    at_mem = active_subnetwork(run.snapshot(run.memorisation_epoch), run.data.x_train).size
    assert at_mem >= 0.5 * p
    assert run.effective_sparsity[-1] <= 32
    assert run.final_subnetwork().size == run.effective_sparsity[-1]


@pytest.mark.slow
def test_competition_of_sparse_and_dense_subnetworks(run, tracking):
    t_mem = run.memorisation_epoch
    end = -1
    assert tracking.mean_norm["sparse"][end] >= 10 * tracking.mean_norm["complement"][end]
    assert tracking.faithfulness["sparse"][end] >= 0.99
    assert tracking.faithfulness["sparse"][t_mem] <= 0.8
    assert tracking.faithfulness["complement"][t_mem] - tracking.faithfulness["complement"][end] >= 0.15
    assert tracking.faithfulness["sparse"][end] > tracking.faithfulness["control"][end]


@pytest.mark.slow
def test_sparse_units_read_the_relevant_coordinates(run):
    final = run.snapshots[-1]
    for unit in run.final_subnetwork().indices:
        top3 = np.argsort(-np.abs(final.weight[unit]))[:3]
        assert sorted(top3.tolist()) == list(run.data.relevant)
    assert faithfulness(final, run.final_subnetwork().indices, run.data.x_train) == 1.0


def test_tiny_run_is_deterministic():
    cfg = GrokkingConfig(n_bits=8, k=2, n_train=32, n_test=16, width=16, epochs=3, sparsity_every=1)
    a, b = train_parity(cfg), train_parity(cfg)
    assert np.array_equal(a.train_loss, b.train_loss)
    assert np.array_equal(a.snapshots[-1].weight, b.snapshots[-1].weight)
    assert a.neuron_norms.shape == (4, 16) and a.sparsity_epochs.tolist() == [0, 1, 2, 3]
