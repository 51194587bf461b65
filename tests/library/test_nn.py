"""Tests for cnnlab.nn: modules, Sequential, plain-data specs and .npz files."""

import pickle

import numpy as np
import pytest

from cnnlab import nn
from cnnlab import spec as S
from cnnlab.gradcheck import numerical_gradient, rel_error
from cnnlab.models import course_convnet


def small_model(seed=0, dtype="float32", bn=True):
    layers = [nn.Conv2d(2, 4, 3, pad=1, seed=seed, dtype=dtype)]
    if bn:
        layers.append(nn.BatchNorm2d(4, dtype=dtype))
    layers += [
        nn.ReLU(),
        nn.MaxPool2d(2, stride=2),
        nn.Conv2d(4, 3, (2, 3), stride=1, pad=1, seed=seed + 1, dtype=dtype),
        nn.AvgPool2d(2, stride=1),
        nn.Flatten(),
        nn.Linear(3 * 3 * 2, 5, seed=seed + 2, dtype=dtype),
    ]
    return nn.Sequential(*layers)


def test_module_params_grads_and_init():
    conv = nn.Conv2d(3, 64, 3, seed=0)
    assert set(conv.params) == {"w", "b"} and conv.params["w"].shape == (64, 3, 3, 3)
    assert conv.params["w"].dtype == np.float32 and not conv.params["b"].any()
    std = conv.params["w"].std()
    assert abs(std - np.sqrt(2 / 27)) < 0.05 * np.sqrt(2 / 27), f"He std {std} != sqrt(2/27)"
    lin = nn.Linear(10, 4, rng=np.random.default_rng(1), dtype="float64")
    assert lin.params["w"].shape == (10, 4) and lin.params["w"].dtype == np.float64
    np.testing.assert_array_equal(
        nn.Conv2d(3, 4, 3, seed=5).params["w"], nn.Conv2d(3, 4, 3, seed=5).params["w"]
    )
    assert nn.BatchNorm2d(3).buffers.keys() == {"running_mean", "running_var"}
    assert nn.ReLU().buffers == {} and nn.ReLU().params == {}


def test_pool_modules_take_stride_by_keyword_default_size():
    assert (nn.MaxPool2d(3).stride, nn.AvgPool2d().stride) == (3, 2)
    assert nn.MaxPool2d(3, stride=1).config() == {"size": 3, "stride": 1}
    with pytest.raises(TypeError, match="positional"):
        nn.MaxPool2d(2, 2)
    x = np.random.default_rng(0).standard_normal((1, 1, 6, 6))
    assert nn.MaxPool2d(3)(x).shape == (1, 1, 2, 2)
    assert nn.MaxPool2d(3, stride=1)(x).shape == (1, 1, 4, 4)


def test_sequential_shares_arrays_and_in_place_update_reaches_layers():
    model = small_model()
    x = np.random.default_rng(0).standard_normal((3, 2, 6, 6)).astype(np.float32)
    out = model(x)
    assert out.shape == (3, 5) and out.dtype == np.float32
    grads_before = model.grads  # dict taken BEFORE backward must see the new values
    dx = model.backward(np.ones_like(out))
    assert dx.shape == x.shape
    assert grads_before["0.w"] is model[0].grads["w"] and np.abs(grads_before["0.w"]).sum() > 0
    assert model.params["0.w"] is model[0].params["w"]
    assert set(model.params) == {"0.w", "0.b", "1.gamma", "1.beta", "4.w", "4.b", "7.w", "7.b"}
    assert set(model.buffers) == {"1.running_mean", "1.running_var"}
    w0 = model[0].params["w"].copy()
    model.params["0.w"] -= 0.1 * model.grads["0.w"]
    np.testing.assert_allclose(model[0].params["w"], w0 - 0.1 * model[0].grads["w"])
    assert len(model) == 8 and isinstance(model[2], nn.ReLU) and isinstance(model.layers, list)


def test_sequential_backward_numerical():
    """The whole chain in float64: dx and the second conv's dw against numerical gradients."""
    rng = np.random.default_rng(2)
    model = small_model(dtype="float64", bn=False)
    x = rng.standard_normal((2, 2, 6, 6))
    out = model(x)
    dout = rng.standard_normal(out.shape)
    dx = model.backward(dout)
    dw = model.grads["3.w"].copy()
    num_dx = numerical_gradient(lambda v: model.forward(v), x, df=dout)
    num_dw = numerical_gradient(lambda v: model.forward(x), model.params["3.w"], df=dout)
    # ReLU kinks / max ties are measure-zero here; a loose bound still catches wiring bugs
    assert rel_error(dx, num_dx) < 1e-5 and rel_error(dw, num_dw) < 1e-5


def test_train_eval_modes():
    model = nn.Sequential(nn.Dropout(0.5, seed=0), nn.BatchNorm2d(2))
    assert model.training and all(m.training for m in model)
    x = np.random.default_rng(0).standard_normal((4, 2, 3, 3)).astype(np.float32)
    assert model.eval() is model and not model[0].training and not model[1].training
    rm = model[1].buffers["running_mean"].copy()
    out = model(x)
    np.testing.assert_array_equal(model[1].buffers["running_mean"], rm)
    np.testing.assert_allclose(out, x / np.sqrt(1 + 1e-5), rtol=1e-6)
    model.train()
    model(x)
    assert not np.array_equal(model[1].buffers["running_mean"], rm)


def test_spec_round_trip_is_exact_and_plain():
    model = course_convnet((1, 8, 8), 10, dropout=0.25, batchnorm=True, seed=3)
    x = np.random.default_rng(0).standard_normal((4, 1, 8, 8)).astype(np.float32)
    model(x)  # moves the running statistics
    model.eval()
    spec = S.to_spec(model)
    spec = pickle.loads(pickle.dumps(spec))  # plain data travels between processes
    assert spec["type"] == "Sequential" and spec["training"] is False
    assert spec["layers"][0] == {**spec["layers"][0], "type": "Conv2d"}
    assert "rng" not in spec["layers"][0]["config"]
    clone = S.from_spec(spec)
    assert isinstance(clone, nn.Sequential) and not clone.training
    for group in ("params", "buffers"):
        ours, theirs = getattr(model, group), getattr(clone, group)
        assert ours.keys() == theirs.keys()
        for k in ours:
            np.testing.assert_array_equal(ours[k], theirs[k], err_msg=k)
            assert ours[k].dtype == theirs[k].dtype
    np.testing.assert_array_equal(model(x), clone(x))
    model[2].train()  # a mixed mode survives the round trip too
    clone = S.from_spec(S.to_spec(model))
    assert [m.training for m in clone] == [m.training for m in model] and not clone.training
    # specs hold copies, not the model's arrays
    spec["layers"][0]["params"]["w"][...] = 0
    assert model[0].params["w"].any()


def test_from_spec_rejects_unknown_types():
    with pytest.raises(ValueError, match="unknown module type"):
        S.from_spec({"type": "os.system", "config": {}})
    with pytest.raises(ValueError):
        S.from_spec({"type": "Module", "config": {}})


def test_load_state_in_place_and_mismatch():
    a, b = small_model(seed=0), small_model(seed=10)
    w_obj = b.params["0.w"]
    S.load_state(b, S.to_spec(a))
    assert b.params["0.w"] is w_obj
    np.testing.assert_array_equal(b.params["0.w"], a.params["0.w"])
    with pytest.raises(ValueError, match="layer 1"):
        S.load_state(small_model(bn=False), S.to_spec(a))
    other = course_convnet((1, 8, 8), 10, conv_channels=(8, 32))
    with pytest.raises(ValueError, match="out_channels=8"):
        S.load_state(other, S.to_spec(course_convnet((1, 8, 8), 10)))


def test_save_load_npz(tmp_path):
    model = course_convnet((1, 8, 8), 10, batchnorm=True, seed=1)
    model(np.ones((2, 1, 8, 8), np.float32))
    model.eval()
    path = tmp_path / "model.npz"
    S.save_model(model, path)
    with np.load(path, allow_pickle=False) as f:
        assert "architecture" in f.files
    fresh = course_convnet((1, 8, 8), 10, batchnorm=True, seed=2)
    S.load_into(fresh, path)
    assert not fresh.training
    for k, v in {**model.params, **model.buffers}.items():
        np.testing.assert_array_equal(v, {**fresh.params, **fresh.buffers}[k], err_msg=k)
    S.save_model(model, tmp_path / "no_suffix")  # np.savez adds .npz; loading takes the name
    S.load_into(fresh, tmp_path / "no_suffix")
    loaded = S.load_model(path)
    np.testing.assert_array_equal(loaded.params["0.w"], model.params["0.w"])
    with pytest.raises(ValueError, match="architecture mismatch.*layer 0.*out_channels=16"):
        S.load_into(course_convnet((1, 8, 8), 10, conv_channels=(8, 32), batchnorm=True), path)
    with pytest.raises(ValueError, match="layers"):
        S.load_into(course_convnet((1, 8, 8), 10), path)


def test_summary():
    model = course_convnet((1, 8, 8), 10)
    text = model.summary(input_shape=(1, 8, 8), print_fn=None)
    assert "(16, 8, 8)" in text and "(32, 2, 2)" in text and "(10,)" in text
    assert f"{model.num_params():,}" in text
    # 16*9+16 + 32*16*9+32 + 128*64+64 + 64*10+10
    assert model.num_params() == 160 + 4640 + 8256 + 650


def test_course_convnet_structure():
    m = course_convnet(
        (3, 32, 32),
        num_classes=4,
        conv_channels=(8, 16, 32),
        convs_per_block=2,
        hidden=(32, 16),
        dropout=0.5,
        batchnorm=True,
    )
    kinds = [type(layer).__name__ for layer in m]
    assert kinds.count("Conv2d") == 6 and kinds.count("MaxPool2d") == 3
    assert kinds.count("BatchNorm2d") == 6 and kinds.count("Dropout") == 2
    assert kinds.count("Linear") == 3
    out = m(np.zeros((2, 3, 32, 32), np.float32))
    assert out.shape == (2, 4)
    with pytest.raises(ValueError, match="too small"):
        course_convnet((1, 8, 8), 10, conv_channels=(4, 4, 4, 4))


def test_course_convnet_follows_build_convnet_contract():
    """Notebook 03's build_convnet: positional (shape, classes, channels, convs, hidden, rng),
    every weight He-initialised from rng in layer order, float32, biases zero."""
    m = course_convnet((1, 8, 8), 3, (4, 6), 2, (5,), np.random.default_rng(7))
    rng = np.random.default_rng(7)
    weighted = [layer for layer in m if "w" in layer.params]
    for layer in weighted:
        w = layer.params["w"]
        fan_in = int(np.prod(w.shape[1:])) if w.ndim == 4 else w.shape[0]
        expected = nn.he_normal(rng, w.shape, fan_in, "float64").astype(np.float32)
        np.testing.assert_array_equal(w, expected, err_msg=type(layer).__name__)
        assert w.dtype == np.float32 and not layer.params["b"].any()
    assert [type(layer).__name__ for layer in weighted] == ["Conv2d"] * 4 + ["Linear"] * 2
    np.testing.assert_array_equal(
        course_convnet((1, 8, 8), 3, seed=5).params["0.w"],
        course_convnet((1, 8, 8), 3, rng=np.random.default_rng(5)).params["0.w"],
    )
    with pytest.raises(ValueError, match="either rng or seed"):
        course_convnet((1, 8, 8), 3, rng=np.random.default_rng(0), seed=0)
    with pytest.raises(TypeError, match="num_classes"):
        course_convnet((1, 8, 8))


def test_backward_without_input_gradient_gives_same_param_grads():
    model = small_model(dtype="float64")
    x = np.random.default_rng(4).standard_normal((3, 2, 6, 6))
    out = model(x)
    model.backward(np.ones_like(out))
    full = {k: v.copy() for k, v in model.grads.items()}
    model(x)
    assert model.backward(np.ones_like(out), need_dx=False) is None
    for k, v in model.grads.items():
        np.testing.assert_allclose(v, full[k], rtol=1e-12, err_msg=k)
