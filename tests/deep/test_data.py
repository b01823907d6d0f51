"""Datasets: digits (pairs and ten classes), Gaussian teacher data, MNIST idx and CIFAR-10 pickles from local files."""
import gzip
import pickle
import struct

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from asymptotics.errors import InvalidParameter  # noqa: E402
from deep.data import digits_binary, digits_multiclass, gaussian_binary, load_cifar10, load_mnist, read_idx  # noqa


def test_digits_pair_is_scaled_labelled_and_split_reproducibly():
    a = digits_binary((2, 7), seed=3, device="cpu")
    b = digits_binary((2, 7), seed=3, device="cpu")
    c = digits_binary((2, 7), seed=4, device="cpu")
    assert a.X_train.shape[1] == 64 and a.X_train.shape[0] + a.X_test.shape[0] == 177 + 179   # 2s and 7s
    assert float(a.X_train.min()) == 0.0 and float(a.X_train.max()) == 1.0
    assert set(a.y_train.tolist()) == {-1.0, 1.0} and a.labels == "pm1"
    assert torch.equal(a.X_train, b.X_train) and not torch.equal(a.X_train, c.X_train)
    img = digits_binary((0, 1), n_train=20, n_test=10, flatten=False, device="cpu")
    assert img.X_train.shape == (20, 1, 8, 8) and img.X_test.shape == (10, 1, 8, 8)


def test_digits_ten_classes():
    data = digits_multiclass(n_train=1000, device="cpu", dtype=torch.float64)
    assert data.X_train.dtype == torch.float64 and data.y_train.dtype == torch.long
    assert set(data.y_train.tolist()) == set(range(10)) and data.X_test.shape[0] == 797


@pytest.mark.parametrize("kwargs", [dict(pair=(3, 3)), dict(pair=(1, 12)), dict(n_train=10_000), dict(n_test=-1)])
def test_bad_digit_arguments_raise(kwargs):
    with pytest.raises(InvalidParameter):
        digits_binary(**{"pair": (2, 7), **kwargs})


def test_gaussian_teacher_labels_and_margin():
    teacher = np.arange(1.0, 6.0)
    data = gaussian_binary(200, 5, n_test=50, teacher=teacher, margin=0.3, seed=1, device="cpu", dtype=torch.float64)
    X = torch.cat([data.X_train, data.X_test]).numpy()
    y = torch.cat([data.y_train, data.y_test]).numpy()
    field = X @ teacher / np.linalg.norm(teacher)
    assert np.all(np.sign(field) == y) and np.all(np.abs(field) >= 0.3)
    with pytest.raises(InvalidParameter):
        gaussian_binary(10, 5, teacher=np.ones(4))


def _write_idx(path, array, gz=False):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "i" * array.ndim, *array.shape)
    opener = gzip.open if gz else open
    with opener(path, "wb") as fh:
        fh.write(header + array.tobytes())


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_files_round_trip(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    labels = np.array([2, 7, 1, 2, 7, 7, 0, 2, 9, 7, 2, 3], dtype=np.uint8)
    suffix = ".gz" if gz else ""
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", images, gz)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels, gz)
    X, y = load_mnist(tmp_path, train=False, device="cpu", dtype=torch.float64)
    assert X.shape == (12, 784) and y.tolist() == labels.tolist()
    np.testing.assert_array_equal(X.numpy(), images.reshape(12, -1) / 255.0)
    X27, y27 = load_mnist(tmp_path, train=False, digits=(2, 7), n=5, flatten=False, device="cpu")
    assert X27.shape == (5, 1, 28, 28) and y27.tolist() == [-1.0, 1.0, -1.0, 1.0, 1.0]   # first 5 in file order
    with pytest.raises(FileNotFoundError):
        load_mnist(tmp_path, train=True)


def test_read_idx_rejects_garbage(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03")
    with pytest.raises(InvalidParameter):
        read_idx(tmp_path / "bad")
    _write_idx(tmp_path / "short", np.zeros((3, 2)))
    raw = (tmp_path / "short").read_bytes()
    (tmp_path / "short").write_bytes(raw[:-1])
    with pytest.raises(InvalidParameter):
        read_idx(tmp_path / "short")


def test_cifar10_pickle_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(1)
    batches = {}
    for name in ("data_batch_1", "data_batch_2", "test_batch"):
        data = rng.integers(0, 256, size=(6, 3072), dtype=np.uint8)
        labels = list(rng.integers(0, 10, size=6))
        batches[name] = (data, labels)
        with open(folder / name, "wb") as fh:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": name.encode()}, fh)
    X, y = load_cifar10(tmp_path, train=True, device="cpu", dtype=torch.float64)
    assert X.shape == (12, 3, 32, 32)
    np.testing.assert_array_equal(X[:6].numpy().reshape(6, -1), batches["data_batch_1"][0] / 255.0)
    assert y.tolist() == batches["data_batch_1"][1] + batches["data_batch_2"][1]
    Xt, yt = load_cifar10(tmp_path, train=False, flatten=True, device="cpu")
    assert Xt.shape == (6, 3072) and yt.dtype == torch.long
    with pytest.raises(FileNotFoundError):
        load_cifar10(tmp_path / "nowhere")
