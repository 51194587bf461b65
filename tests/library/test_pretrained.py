"""The shipped pretrained network (cnnlab.models.pretrained, cnnlab.pretrain) and freezing /
per-layer learning rates (``lr_scale`` of cnnlab.optim) for transfer learning."""

import json
import subprocess
import sys

import numpy as np
import pytest

from cnnlab import models, nn, optim, pretrain, train
from cnnlab.spec import load_model

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pip ships the same parser
    from pip._vendor import tomli as tomllib

NAME = "shapes4"


def record(name=NAME):
    return json.loads((pretrain.PRETRAINED_DIR / f"{name}.json").read_text())


# --------------------------------------------------------------------------------------------
# the shipped file
# --------------------------------------------------------------------------------------------


def test_every_recipe_ships_with_its_record_and_a_description():
    assert sorted(models.PRETRAINED) == sorted(pretrain.RECIPES)
    for name, line in models.PRETRAINED.items():
        rec = record(name)
        assert rec["recipe"] == pretrain.RECIPES[name], f"{name}.json records another recipe"
        assert f"{100 * rec['test_accuracy']:.1f} %" in line and "(1, 16, 16)" in line, line


def test_shipped_arrays_match_the_recorded_checksum():
    model = models.pretrained(NAME)
    assert pretrain.array_digest(model) == record()["sha256"], (
        f"src/cnnlab/pretrained/{NAME}.npz changed without its record: rerun "
        f"`python -m cnnlab.pretrain {NAME}`"
    )


def test_pretrained_loads_in_eval_mode_and_reaches_its_recorded_accuracy():
    model = models.pretrained(NAME)
    assert isinstance(model, nn.Sequential) and not model.training
    _, _, X_test, y_test = pretrain.source_data(NAME)
    assert model(X_test[:2]).shape == (2, len(record()["classes"]))
    _, acc = train.evaluate(model, X_test, y_test)
    # the same arrays on another CPU may flip one borderline image, not more
    assert abs(acc - record()["test_accuracy"]) <= 1 / len(y_test), (acc, record())
    assert acc >= 0.95


def test_pretrained_returns_a_fresh_copy():
    a = models.pretrained(NAME)
    a.params["0.w"][...] = 0
    assert np.abs(models.pretrained(NAME).params["0.w"]).max() > 0


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(ValueError, match=r"unknown pretrained network 'imagenet'.*shapes4"):
        models.pretrained("imagenet")


def test_package_data_ships_the_files():
    pyproject = tomllib.loads((pretrain.PRETRAINED_DIR.parents[2] / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["cnnlab"]
    for suffix in ("npz", "json"):
        assert f"pretrained/*.{suffix}" in globs


def test_compare_accepts_rounding_and_names_real_differences():
    a, b = models.pretrained(NAME), models.pretrained(NAME)
    b.params["7.w"] *= 1 + 1e-5  # rounding-sized drift
    assert pretrain.compare(a, b, 0.98, 0.985) == []
    b.params["0.w"][0, 0, 0, 0] += 0.1
    problems = pretrain.compare(a, b, 0.98, 0.95)
    assert len(problems) == 2, problems
    assert problems[0].startswith("0.w") and "test accuracy 0.9500" in problems[1]


def test_script_reproduces_the_shipped_file(tmp_path):
    """``python -m cnnlab.pretrain NAME --out DIR`` rebuilds the network from its seeds.

    On the machine that wrote the file the arrays are bit for bit equal; elsewhere (other BLAS
    kernels) they must agree within pretrain.WEIGHT_RTOL and the accuracy within
    pretrain.ACCURACY_MARGIN.
    """
    done = subprocess.run(
        [sys.executable, "-m", "cnnlab.pretrain", NAME, "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    rerun = json.loads((tmp_path / f"{NAME}.json").read_text())
    problems = pretrain.compare(
        models.pretrained(NAME),
        load_model(tmp_path / f"{NAME}.npz"),
        record()["test_accuracy"],
        rerun["test_accuracy"],
    )
    assert problems == [], "\n".join(problems)
    assert rerun["recipe"] == record()["recipe"]


def test_cli_rejects_unknown_names(capsys):
    with pytest.raises(SystemExit):
        pretrain.main(["imagenet"])
    assert "invalid choice" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# lr_scale: per-layer learning rates and freezing
# --------------------------------------------------------------------------------------------

OPTIMISERS = {
    "sgd": lambda p, **kw: optim.SGD(p, lr=0.1, weight_decay=0.01, **kw),
    "momentum": lambda p, **kw: optim.Momentum(p, lr=0.1, beta=0.9, weight_decay=0.01, **kw),
    "adam": lambda p, **kw: optim.Adam(p, lr=0.1, weight_decay=0.01, **kw),
}


def layered_params(seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"0.w": (3, 2), "0.b": (2,), "1.w": (2, 2), "10.w": (2, 4), "10.b": (4,)}
    return {k: rng.standard_normal(s) for k, s in shapes.items()}


@pytest.mark.parametrize("name", OPTIMISERS)
def test_frozen_parameters_never_move(name):
    params = layered_params()
    before = {k: v.copy() for k, v in params.items()}
    opt = OPTIMISERS[name](params, lr_scale={"0.": 0, "1.w": 0.0})
    rng = np.random.default_rng(1)
    for _ in range(5):
        grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
        del grads["0.b"]  # a frozen parameter needs no gradient
        opt.step(grads)
    for k in ("0.w", "0.b", "1.w"):
        np.testing.assert_array_equal(params[k], before[k], err_msg=f"{name}: frozen {k} moved")
    for k in ("10.w", "10.b"):  # "10." does not start with "1." followed by "w"
        assert not np.array_equal(params[k], before[k]), f"{name}: {k} must train"


@pytest.mark.parametrize("name", OPTIMISERS)
def test_lr_scale_is_a_learning_rate_multiplier(name):
    """Scale s gives exactly the updates of the same optimiser built with lr * s."""
    params, scaled_ref, plain_ref = layered_params(), layered_params(), layered_params()
    opt = OPTIMISERS[name](params, lr_scale={"": 0.1, "10.": 1.0})  # longest prefix wins
    body = {k: v for k, v in scaled_ref.items() if not k.startswith("10.")}
    head = {k: v for k, v in plain_ref.items() if k.startswith("10.")}
    refs = [OPTIMISERS[name](body), OPTIMISERS[name](head)]
    refs[0].lr *= 0.1
    assert opt.scales == {"0.w": 0.1, "0.b": 0.1, "1.w": 0.1, "10.w": 1.0, "10.b": 1.0}
    rng = np.random.default_rng(2)
    for _ in range(4):
        grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
        opt.step(grads)
        for ref in refs:
            ref.step({k: grads[k] for k in ref.params})
    for k in params:
        want = body[k] if k in body else head[k]
        np.testing.assert_allclose(params[k], want, rtol=1e-12, err_msg=f"{name} {k}")


def test_lr_scale_matches_torch_parameter_groups():
    torch = pytest.importorskip("torch")
    params = layered_params(3)
    tw = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    body = [tw[k] for k in tw if not k.startswith("10.")]
    topt = torch.optim.Adam(
        [{"params": body, "lr": 0.01}, {"params": [tw["10.w"], tw["10.b"]]}], lr=0.1
    )
    opt = optim.Adam(params, lr=0.1, lr_scale={"": 0.1, "10.": 1})
    for _ in range(10):
        opt.step({k: np.sin(v) for k, v in params.items()})
        topt.zero_grad()
        sum(-torch.cos(t).sum() for t in tw.values()).backward()
        topt.step()
    for k in params:
        np.testing.assert_allclose(params[k], tw[k].detach().numpy(), rtol=1e-10, err_msg=k)


@pytest.mark.parametrize(
    "lr_scale, message",
    [
        ({"2.": 0.5}, "prefix '2.' matches no parameter"),
        ({"0.": -1}, "multipliers >= 0"),
        ([("0.", 0)], "must be a dict"),
    ],
)
def test_bad_lr_scale_is_refused(lr_scale, message):
    with pytest.raises(ValueError, match=message):
        optim.SGD(layered_params(), lr=0.1, lr_scale=lr_scale)


def test_fit_with_frozen_body_trains_only_the_new_head():
    model = models.pretrained(NAME)
    model.layers[-1] = nn.Linear(model.layers[-1].in_features, 4, seed=1)  # a new head
    before = {k: v.copy() for k, v in model.params.items()}
    X, y = pretrain.source_data(NAME)[2:]
    head = f"{len(model) - 1}."
    opt = optim.Adam(model.params, lr=1e-2, lr_scale={"": 0, head: 1})
    train.fit(model, opt, X[:64], y[:64], epochs=2, batch_size=32)
    for k, v in model.params.items():
        moved = not np.array_equal(v, before[k])
        assert moved == k.startswith(head), f"{k} {'moved' if moved else 'stayed'}"


@pytest.mark.parametrize("drift, code", [(0.0, 0), (0.5, 1)])
def test_check_exits_non_zero_on_a_mismatch(monkeypatch, capsys, drift, code):
    """``--check`` wiring, with the retraining replaced by a copy of the shipped file."""
    from cnnlab.spec import save_model

    def fake_write(name, out_dir):
        model = models.pretrained(name)
        model.params["3.w"] += drift
        save_model(model, f"{out_dir}/{name}.npz")
        return dict(record(name), sha256=pretrain.array_digest(model), train_seconds=0.0)

    monkeypatch.setattr(pretrain, "write", fake_write)
    assert pretrain.main([NAME, "--check"]) == code
    out = capsys.readouterr().out
    assert ("MISMATCH 3.w" in out) == bool(drift), out
    assert ("bit for bit identical" in out) == (not drift), out
