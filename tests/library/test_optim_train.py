"""Tests for cnnlab.optim, cnnlab.train and the digits training recipe."""

import numpy as np
import pytest

from cnnlab import nn, optim, train
from cnnlab.models import course_convnet

OPTIMISERS = {
    "sgd": lambda p, wd: optim.SGD(p, lr=0.1, weight_decay=wd),
    "momentum": lambda p, wd: optim.Momentum(p, lr=0.05, beta=0.9, weight_decay=wd),
    "adam": lambda p, wd: optim.Adam(p, lr=0.01, weight_decay=wd),
}


def quadratic(seed):
    rng = np.random.default_rng(seed)
    params = {"0.w": rng.standard_normal((3, 4)), "0.b": rng.standard_normal(4)}
    target = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    return params, target


@pytest.mark.parametrize("name", OPTIMISERS)
def test_optimisers_minimise_a_quadratic_in_place(name):
    params, target = quadratic(0)
    ids = {k: id(v) for k, v in params.items()}
    opt = OPTIMISERS[name](params, 0.0)
    for _ in range(2000):
        opt.step({k: params[k] - target[k] for k in params})
    for k in params:
        assert id(params[k]) == ids[k], f"{name} replaced params[{k!r}] instead of updating it"
        np.testing.assert_allclose(params[k], target[k], atol=1e-3, err_msg=f"{name} {k}")


@pytest.mark.parametrize("name", OPTIMISERS)
def test_weight_decay_skips_1d_arrays(name):
    params = {"w": np.ones((2, 2)), "b": np.ones(2)}
    opt = OPTIMISERS[name](params, 0.5)
    opt.step({"w": np.zeros((2, 2)), "b": np.zeros(2)})
    assert (params["w"] < 1).all(), "weights must decay"
    np.testing.assert_array_equal(params["b"], 1.0, err_msg="biases must not decay")


def test_float32_stays_float32():
    params = {"w": np.ones((2, 2), np.float32)}
    opt = optim.Adam(params)
    opt.step({"w": np.full((2, 2), 0.5, np.float32)})
    assert params["w"].dtype == np.float32
    with pytest.raises(ValueError, match="no gradient"):
        opt.step({})


@pytest.mark.parametrize("name", OPTIMISERS)
def test_optimisers_match_torch(name):
    torch = pytest.importorskip("torch")
    params, target = quadratic(1)
    tw = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    groups = [{"params": [tw["0.w"]], "weight_decay": 0.1}, {"params": [tw["0.b"]]}]
    topt = {
        "sgd": lambda: torch.optim.SGD(groups, lr=0.1),
        "momentum": lambda: torch.optim.SGD(groups, lr=0.05, momentum=0.9),
        "adam": lambda: torch.optim.Adam(groups, lr=0.01),
    }[name]()
    opt = OPTIMISERS[name](params, 0.1)
    for _ in range(20):
        opt.step({k: np.sin(params[k] - target[k]) for k in params})
        topt.zero_grad()
        sum((torch.cos(tw[k] - torch.tensor(target[k]))).sum() * -1 for k in tw).backward()
        topt.step()
    for k in params:
        np.testing.assert_allclose(params[k], tw[k].detach().numpy(), rtol=1e-10, err_msg=k)


def blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.standard_normal((n, 1, 4, 4)).astype(np.float32) * 0.3
    X[np.arange(n), 0, y, y] += 2.0
    return X, y


def test_fit_history_augment_and_quiet(capsys):
    X, y = blobs()
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3, seed=0))
    calls = []

    def augment(xb, rng):
        calls.append(xb.shape[0])
        assert isinstance(rng, np.random.Generator)
        return xb

    hist = train.fit(
        model,
        optim.Adam(model.params, lr=0.05),
        X,
        y,
        epochs=3,
        batch_size=64,
        val=(X, y),
        augment=augment,
    )
    assert set(hist) == {"train_loss", "train_acc", "val_loss", "val_acc", "time"}
    assert all(len(v) == 3 for v in hist.values())
    assert calls == [64, 64, 64, 8] * 3
    assert hist["val_acc"][-1] > 0.9 and hist["train_loss"][-1] < hist["train_loss"][0]
    assert hist["time"] == sorted(hist["time"])
    out = capsys.readouterr()
    assert out.out == "" and out.err == "", "fit must stay quiet when not interactive"


def test_fit_is_reproducible():
    X, y = blobs()
    runs = []
    for _ in range(2):
        model = course_convnet(
            (1, 4, 4), num_classes=3, conv_channels=(4,), hidden=(8,), dropout=0.2, seed=3
        )
        runs.append(
            train.fit(
                model, optim.SGD(model.params, lr=0.05), X, y, epochs=2, batch_size=32, seed=7
            )["train_loss"]
        )
    assert runs[0] == runs[1]


def test_evaluate_predict_restore_mode():
    X, y = blobs(50)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3, seed=0), nn.Dropout(0.5, seed=0))
    model.train()
    loss, acc = train.evaluate(model, X, y, batch_size=16)
    assert model.training, "evaluate must restore train mode"
    model.eval()
    assert train.evaluate(model, X, y) == (loss, acc) and not model.training
    assert type(loss) is float and type(acc) is float
    proba = train.predict_proba(model, X, batch_size=7)
    assert proba.shape == (50, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    labels = train.predict(model, X)
    np.testing.assert_array_equal(labels, proba.argmax(axis=1))
    assert acc == np.mean(labels == y)


def test_random_shift():
    X = np.arange(2 * 1 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4) + 1
    out = train.random_shift(X, np.random.default_rng(0), max_shift=1)
    assert out.shape == X.shape and out.dtype == X.dtype
    for img, orig in zip(out[:, 0], X[:, 0]):
        # every image is a shifted copy: its non-zero pixels form a contiguous block of orig
        found = any(
            np.array_equal(
                img,
                np.pad(orig, 1)[1 + dy : 5 + dy, 1 + dx : 5 + dx],
            )
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        )
        assert found


def test_random_shift_follows_the_exercise_contract():
    """Offsets drawn as notebook 03 says (dy, then dx); out[i, :, r, c] = x[i, :, r+dy, c+dx]."""
    images = np.random.default_rng(1).standard_normal((9, 2, 5, 6))
    out = train.random_shift(images, np.random.default_rng(4), max_shift=2)
    rng = np.random.default_rng(4)
    dy, dx = rng.integers(-2, 3, size=9), rng.integers(-2, 3, size=9)
    padded = np.pad(images, ((0, 0), (0, 0), (2, 2), (2, 2)))
    for i in range(9):
        window = padded[i, :, 2 + dy[i] : 2 + dy[i] + 5, 2 + dx[i] : 2 + dx[i] + 6]
        np.testing.assert_array_equal(out[i], window, err_msg=f"image {i}, dy={dy[i]}, dx={dx[i]}")
    assert not np.shares_memory(out, images)


def test_digits_recipe_beats_rbf_svm():
    """The course recipe (see benchmarks/results.md) reaches >= 98.5% test accuracy."""
    from cnnlab.data import load_digits

    X_train, y_train, X_test, y_test = load_digits()
    model = course_convnet(
        (1, 8, 8), 10, conv_channels=(16, 32), hidden=(64,), batchnorm=True, seed=0
    )
    opt = optim.Adam(model.params, lr=2e-3)
    train.fit(
        model, opt, X_train, y_train, epochs=20, batch_size=32, augment=train.random_shift, seed=0
    )
    opt.lr = 2e-4
    train.fit(model, opt, X_train, y_train, epochs=5, batch_size=32, seed=1)
    _, acc = train.evaluate(model, X_test, y_test)
    assert acc >= 0.985, f"test accuracy {acc:.4f} < 0.985 (RBF SVM: about 0.983)"


def test_fit_progress_goes_to_stdout_and_threads_are_restored(capsys):
    from threadpoolctl import threadpool_info

    before = [i["num_threads"] for i in threadpool_info()]
    X, y = blobs(40)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3, seed=0))
    train.fit(model, optim.SGD(model.params, lr=0.1), X, y, epochs=2, batch_size=16, progress=True)
    out = capsys.readouterr()
    assert "epoch 2/2" in out.out and out.err == "", "the bar must go to stdout, never stderr"
    assert [i["num_threads"] for i in threadpool_info()] == before
