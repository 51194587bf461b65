"""Tests of the tests of 03-training: every mistake they claim to catch is caught and named.

Each case replaces one answer cell with a buggy (or library-only) answer, runs the test cell in
process and checks (``nbtools.assert_fails``) that it fails with a message naming the mistake;
``public=True`` where the mistake is one the exercise exists to teach (the learner's self-check
must catch it). A hint names a mistake only when that mistake happened: the nearest wrong
variants of every named mistake must not be given its hint (``assert_not_named``). Exercises
that call earlier answers are graded on their own: a buggy helper costs only its own exercise.
"""

from __future__ import annotations

import ast
from functools import partial

import numpy as np
import pytest
from nbtools import (
    assert_fails,
    assert_forbidden,
    assert_passes,
    cells,
    graded_ids,
    namespace,
    run_test_cell,
)

import cnnlab as cl

NB = "03-training"
ANSWERS, TEST_CELLS = graded_ids(NB)
fails = partial(assert_fails, NB)
forbidden = partial(assert_forbidden, NB)


def assert_not_named(test_id, overrides, *wrong_hints):
    """The test cell fails, but its message names none of ``wrong_hints`` (another mistake's)."""
    exc = run_test_cell(NB, test_id, overrides)
    assert isinstance(exc, AssertionError), f"{test_id}: {exc!r}"
    for hint in wrong_hints:
        assert hint.lower() not in str(exc).lower(), f"{hint!r} named for another mistake:\n{exc}"
    return str(exc)


# ------------------------------------------------------------------------------------------
# he_init
# ------------------------------------------------------------------------------------------


def test_he_init_fan_out():
    overrides = {"he_init": """
def he_init(shape, fan_in, rng):
    fan_out = shape[0] * int(np.prod(shape[2:])) if len(shape) == 4 else shape[-1]
    return rng.standard_normal(shape) * np.sqrt(2.0 / fan_out)
"""}  # fmt: skip
    fails("test_he_init", overrides, "instead of fan_in", public=True)
    fails("test_he_init", overrides, "fan_out", hidden=True, visible=False)


def test_he_init_missing_two():
    fails("test_he_init", {"he_init": """
def he_init(shape, fan_in, rng):
    return rng.standard_normal(shape) * np.sqrt(1.0 / fan_in)
"""}, "sqrt(1 / fan_in)")  # fmt: skip


def test_he_init_global_random_state():
    fails("test_he_init", {"he_init": """
def he_init(shape, fan_in, rng):
    return np.random.standard_normal(shape) * np.sqrt(2.0 / fan_in)
"""}, "rng")  # fmt: skip


HE_NAMED = ["LeCun", "is the variance", "instead of fan_in"]  # the three named std mistakes


@pytest.mark.parametrize(
    "scale, needle, own",
    [
        ("np.sqrt(1.0 / fan_in)", "LeCun", "LeCun"),
        ("2.0 / fan_in", "is the variance", "is the variance"),
        ("np.sqrt(2.0 / shape[-1])", "125 outputs of the layer", "instead of fan_in"),
        (
            "np.sqrt(2.0 / (shape[0] if len(shape) == 4 else fan_in))",
            "F = 200",
            "instead of fan_in",
        ),
        ("np.sqrt(2.0 / (shape[1] if len(shape) == 4 else fan_in))", "C = 10", "instead of fan_in"),
        ("np.sqrt(3.0 / fan_in)", "sqrt(2 / fan_in)", None),  # a wrong scale no hint knows
    ],
    ids=["lecun", "variance", "fan_out_linear", "filters", "channels_only", "unknown_scale"],
)
def test_he_init_scale_hints_name_only_their_mistake(scale, needle, own):
    source = f"def he_init(shape, fan_in, rng):\n    return rng.standard_normal(shape) * {scale}\n"
    overrides = {"he_init": source}
    fails("test_he_init", overrides, needle, public=True)
    assert_not_named("test_he_init", overrides, *[h for h in HE_NAMED if h != own])


def test_he_init_reseeded_inside():
    fails("test_he_init", {"he_init": """
def he_init(shape, fan_in, rng):
    return np.random.default_rng(0).standard_normal(shape) * np.sqrt(2.0 / fan_in)
"""}, "consecutive calls", public=True)  # fmt: skip


# ------------------------------------------------------------------------------------------
# build_convnet
# ------------------------------------------------------------------------------------------

BUILD = """
def build_convnet(input_shape, num_classes, conv_channels=(16, 32), convs_per_block=1,
                  hidden=(64,), rng=None):
    rng = np.random.default_rng() if rng is None else rng
    c, h, w = input_shape
    layers = []
    for channels in conv_channels:
        for _ in range(convs_per_block):
            conv = nn.Conv2d(c, channels, 3, pad=1, seed=0)
            conv.params["w"][...] = he_init(conv.params["w"].shape, {conv_fan}, rng)
            layers += [conv{conv_relu}]
            c = channels
        {pool}
        h, w = h // 2, w // 2
    layers.append(nn.Flatten())
    d = c * h * w
    for m in hidden:
        fc = nn.Linear(d, m, seed=0)
        fc.params["w"][...] = he_init((d, m), d, rng)
        layers += [fc, nn.ReLU()]
        d = m
    fc = nn.Linear(d, num_classes, seed=0)
    fc.params["w"][...] = he_init((d, num_classes), d, rng)
    layers += [fc{last_relu}]
    return nn.Sequential(*layers)
"""
RIGHT = dict(
    conv_fan="c * 9",
    conv_relu=", nn.ReLU()",
    pool="layers.append(nn.MaxPool2d(2, stride=2))",
    last_relu="",
)


def build(**changes):
    return BUILD.format(**{**RIGHT, **changes})


def test_build_convnet_template_is_right():
    assert_passes(NB, "test_build_convnet", {"build_convnet": build()})


def test_build_convnet_missing_pool():
    fails("test_build_convnet", {"build_convnet": build(pool="pass")}, "pooling is missing")


def test_build_convnet_missing_relu():
    fails("test_build_convnet", {"build_convnet": build(conv_relu="")}, "ReLU is missing")


def test_build_convnet_relu_after_last_linear():
    fails(
        "test_build_convnet", {"build_convnet": build(last_relu=", nn.ReLU()")},
        "ReLU after the last Linear",
    )  # fmt: skip


def test_build_convnet_pool_after_every_conv():
    source = (
        build()
        .replace(
            "layers += [conv, nn.ReLU()]", "layers += [conv, nn.ReLU(), nn.MaxPool2d(2, stride=2)]"
        )
        .replace("        layers.append(nn.MaxPool2d(2, stride=2))\n", "")
    )
    # convs_per_block=1 gives the same network, so only the hidden configurations catch it
    fails("test_build_convnet", {"build_convnet": source}, "one MaxPool2d per block")


def test_build_convnet_fan_out_init():
    fails("test_build_convnet", {"build_convnet": build(conv_fan="channels * 9")}, "fan_in")


def test_build_convnet_default_init_ignores_rng():
    source = build().replace('conv.params["w"][...] = he_init', "_ = he_init")
    source = source.replace("seed=0)\n            conv", "seed=None)\n            conv")
    fails("test_build_convnet", {"build_convnet": source}, "rng")


def test_build_convnet_core_mistakes_fail_the_self_check():
    fails("test_build_convnet", {"build_convnet": build(last_relu=", nn.ReLU()")},
          "ReLU after the last Linear", public=True)  # fmt: skip
    no_halving = build().replace("        h, w = h // 2, w // 2\n", "")
    fails("test_build_convnet", {"build_convnet": no_halving}, "in_features of the first Linear",
          public=True)  # fmt: skip
    fails("test_build_convnet", {"build_convnet": build(pool="pass")}, "pooling is missing",
          public=True)  # fmt: skip


CONV_FAN_HINTS = ["not the F * 3 * 3 outputs", "every output sums over a 3x3 window"]
LINEAR_FAN_HINT = "is D = in_features, not M"


@pytest.mark.parametrize(
    "conv_fan, linear_fan, needle, own",
    [
        ("channels * 9", "d", "not the F * 3 * 3 outputs", CONV_FAN_HINTS[0]),
        ("c", "d", "every output sums over a 3x3 window", CONV_FAN_HINTS[1]),
        ("c * 9", "m", LINEAR_FAN_HINT, LINEAR_FAN_HINT),
        ("c * 4", "d", "write he_init(shape, fan_in, rng) into every", None),  # no known mistake
    ],
    ids=["conv_fan_out", "conv_channels_only", "linear_fan_out", "unknown_fan"],
)
def test_build_convnet_fan_in_hints_name_only_their_mistake(conv_fan, linear_fan, needle, own):
    source = build(conv_fan=conv_fan).replace(
        'fc.params["w"][...] = he_init((d, m), d, rng)',
        f'fc.params["w"][...] = he_init((d, m), {linear_fan}, rng)',
    )
    fails("test_build_convnet", {"build_convnet": source}, needle, public=True)
    named = [*CONV_FAN_HINTS, LINEAR_FAN_HINT]
    assert_not_named("test_build_convnet", {"build_convnet": source},
                     *[h for h in named if h != own])  # fmt: skip


@pytest.mark.parametrize(
    "he_init",
    [
        "def he_init(shape, fan_in, rng):\n    return rng.standard_normal(shape) / fan_in\n",
        "def he_init(shape, fan_in, rng):\n    return np.random.randn(*shape) * 0.1\n",
        "def he_init(shape, fan_in, rng):\n    return cl.nn.Linear(2, 2).params['w']\n",
    ],
    ids=["wrong_scale", "global_state", "wrong_shape"],
)
def test_build_convnet_is_graded_without_the_learners_he_init(he_init):
    fails("test_he_init", {"he_init": he_init})
    assert_passes(NB, "test_build_convnet", {"he_init": he_init})


def test_build_convnet_agrees_with_its_library_twin():
    """cl.models.course_convnet stands in for build_convnet in train_convnet's test cell."""
    ns = namespace(NB)
    for args in [
        ((1, 8, 8), 10),
        ((3, 13, 10), 7, (4, 6), 2, (20, 12)),
        ((2, 9, 9), 5, [5], 3, []),
    ]:
        mine = ns["build_convnet"](*args, rng=np.random.default_rng(3))
        theirs = cl.models.course_convnet(*args, rng=np.random.default_rng(3))
        assert [type(a) for a in mine] == [type(b) for b in theirs], args
        assert [a.config() for a in mine] == [b.config() for b in theirs], args
        assert mine.params.keys() == theirs.params.keys(), args
        for key, value in mine.params.items():
            assert value.dtype == theirs.params[key].dtype, (args, key)
            np.testing.assert_array_equal(value, theirs.params[key], err_msg=f"{args} {key}")


def test_build_convnet_library_only():
    forbidden("test_build_convnet", "build_convnet", """
def build_convnet(input_shape, num_classes, conv_channels=(16, 32), convs_per_block=1,
                  hidden=(64,), rng=None):
    rng = np.random.default_rng() if rng is None else rng
    return cl.models.course_convnet(input_shape, num_classes, conv_channels, convs_per_block,
                                    hidden, seed=int(rng.integers(2**31)))
""")  # fmt: skip


# ------------------------------------------------------------------------------------------
# iterate_minibatches
# ------------------------------------------------------------------------------------------


def test_minibatches_drop_last():
    fails("test_iterate_minibatches", {"iterate_minibatches": """
def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X) - batch_size + 1, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]
"""}, "partial batch")  # fmt: skip


def test_minibatches_repeat_samples():
    fails("test_iterate_minibatches", {"iterate_minibatches": """
def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    n = len(X)
    for start in range(0, n, batch_size):
        if shuffle:
            idx = rng.integers(0, n, min(batch_size, n - start))
        else:
            idx = np.arange(start, min(start + batch_size, n))
        yield X[idx], y[idx]
"""}, "repeated")  # fmt: skip


def test_minibatches_ignore_shuffle_flag():
    fails("test_iterate_minibatches", {"iterate_minibatches": """
def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]
"""}, "shuffle=False")  # fmt: skip


def test_minibatches_reseeded_every_epoch():
    fails("test_iterate_minibatches", {"iterate_minibatches": """
def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
    order = np.random.default_rng(0).permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]
"""}, "same order")  # fmt: skip


SEPARATELY = """
def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    if shuffle:
        X, y = X[rng.permutation(len(X))], y[rng.permutation(len(y))]
    for start in range(0, len(X), batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]
"""
IN_PLACE = """
def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    if shuffle:
        order = rng.permutation(len(X))
        X[:], y[:] = X[order], y[order]
    for start in range(0, len(X), batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]
"""
DROP_LAST = """
def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    for b in range(len(X) // batch_size):
        idx = order[b * batch_size:(b + 1) * batch_size]
        yield X[idx], y[idx]
"""


def test_minibatches_core_mistakes_fail_the_self_check():
    fails("test_iterate_minibatches", {"iterate_minibatches": SEPARATELY},
          "X and y were shuffled separately", public=True)  # fmt: skip
    fails("test_iterate_minibatches", {"iterate_minibatches": DROP_LAST}, "partial batch",
          public=True)  # fmt: skip


def test_minibatches_in_place_shuffle_is_not_called_separate_shuffling():
    fails("test_iterate_minibatches", {"iterate_minibatches": IN_PLACE}, "in place",
          public=True)  # fmt: skip
    assert_not_named("test_iterate_minibatches", {"iterate_minibatches": IN_PLACE},
                     "shuffled separately")  # fmt: skip


# ------------------------------------------------------------------------------------------
# optimisers
# ------------------------------------------------------------------------------------------


def test_sgd_not_in_place():
    fails("test_sgd_step", {"sgd_step": """
def sgd_step(params, grads, lr):
    for name in params:
        params[name] = params[name] - lr * grads[name]
"""}, "in place")  # fmt: skip


SGD_NAMED = ["goes uphill", "did not change", "new array into the dict"]


@pytest.mark.parametrize(
    "body, own",
    [
        ("params[name] = params[name] - lr * grads[name]", "new array into the dict"),
        ("params[name] += lr * grads[name]", "goes uphill"),
        ("p = params[name]; p = p - lr * grads[name]", "did not change"),
        ("params[name] -= 2 * lr * grads[name]", None),
    ],
    ids=["rebinding", "uphill", "local_name", "double_step"],
)
def test_sgd_hints_name_only_their_mistake(body, own):
    overrides = {"sgd_step": f"def sgd_step(params, grads, lr):\n    for name in params:\n"
                             f"        {body}\n"}  # fmt: skip
    if own is not None:
        fails("test_sgd_step", overrides, own, public=True)
    assert_not_named("test_sgd_step", overrides, *[h for h in SGD_NAMED if h != own])


def test_sgd_library_only():
    forbidden("test_sgd_step", "sgd_step", """
def sgd_step(params, grads, lr):
    cl.optim.SGD(params, lr).step(grads)
""")  # fmt: skip


def test_momentum_forgets_velocity():
    fails("test_momentum_step", {"momentum_step": """
def momentum_step(params, grads, velocity, lr, beta=0.9):
    for name, p in params.items():
        v = np.zeros_like(p)
        v = beta * v + grads[name]
        velocity[name] = np.zeros_like(p)
        p -= lr * v
"""}, "forgets its velocity")  # fmt: skip


def test_momentum_dampened():
    fails("test_momentum_step", {"momentum_step": """
def momentum_step(params, grads, velocity, lr, beta=0.9):
    for name, p in params.items():
        v = velocity.setdefault(name, np.zeros_like(p))
        v *= beta
        v += (1 - beta) * grads[name]
        p -= lr * v
"""}, "v = beta * v + g")  # fmt: skip


MOMENTUM = """
def momentum_step(params, grads, velocity, lr, beta=0.9):
    for name, p in params.items():
        v = velocity.setdefault(name, np.zeros_like(p))
        {body}
"""
MOMENTUM_NAMED = [
    "forgets its velocity", "(1 - beta) * g is a running mean", "beta is fixed at 0.9",
    "did not move at the first step", "new arrays into params",
]  # fmt: skip


@pytest.mark.parametrize(
    "body, own",
    [
        ("w = beta * v + grads[name]\n        p -= lr * w", "forgets its velocity"),
        ("v[...] = beta * v + (1 - beta) * grads[name]\n        p -= lr * v",
         "(1 - beta) * g is a running mean"),
        ("v[...] = 0.9 * v + grads[name]\n        p -= lr * v", "beta is fixed at 0.9"),
        ("p -= lr * v\n        v[...] = beta * v + grads[name]", "did not move at the first step"),
        ("v[...] = beta * v + grads[name]\n        params[name] = p - lr * v",
         "new arrays into params"),
        ("v[...] = beta * v + grads[name]\n        p -= lr * (beta * v + grads[name])", None),
    ],
    ids=["forgets", "damped", "fixed_beta", "old_velocity", "rebinding", "nesterov"],
)  # fmt: skip
def test_momentum_hints_name_only_their_mistake(body, own):
    overrides = {"momentum_step": MOMENTUM.format(body=body)}
    if own is not None:
        fails("test_momentum_step", overrides, own, public=True)
    assert_not_named("test_momentum_step", overrides, *[h for h in MOMENTUM_NAMED if h != own])


def test_momentum_library_only():
    forbidden("test_momentum_step", "momentum_step", """
_OPTIMISERS = {}

def momentum_step(params, grads, velocity, lr, beta=0.9):
    opt = _OPTIMISERS.setdefault(id(velocity), cl.optim.Momentum(params, lr, beta))
    opt.step(grads)
    velocity.update(opt.velocity)
""")  # fmt: skip


ADAM = """
def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    if not state:
        state["t"] = 0
        state["m"] = {{k: np.zeros_like(p) for k, p in params.items()}}
        state["v"] = {{k: np.zeros_like(p) for k, p in params.items()}}
    {advance}
    t = {t}
    for k, p in params.items():
        g = grads[k]
        m, v = state["m"][k], state["v"][k]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        m_hat, v_hat = {corrected}
        p -= lr * m_hat / ({denominator})
"""
ADAM_RIGHT = dict(
    advance='state["t"] += 1',
    t='state["t"]',
    corrected="m / (1 - beta1**t), v / (1 - beta2**t)",
    denominator="np.sqrt(v_hat) + eps",
)


def adam(**changes):
    return ADAM.format(**{**ADAM_RIGHT, **changes})


def test_adam_template_is_right():
    assert_passes(NB, "test_adam_step", {"adam_step": adam()})


@pytest.mark.parametrize(
    "changes, needle",
    [
        (dict(corrected="m, v"), "bias correction"),
        (dict(advance="pass", t='state["t"] + 1'), "step counter"),
        (dict(denominator="np.sqrt(v_hat + eps)"), "square root in the wrong place"),
        (dict(denominator="np.sqrt(v) / (1 - beta2**t) + eps"), "square root"),
        (dict(denominator="v_hat + eps"), "square root"),
    ],
    ids=["no_bias_correction", "stuck_counter", "eps_inside_root", "root_outside", "no_root"],
)
def test_adam_mistakes(changes, needle):
    fails("test_adam_step", {"adam_step": adam(**changes)}, needle)


def test_adam_eps_inside_root_named_by_hidden_test():
    message = fails(
        "test_adam_step", {"adam_step": adam(denominator="np.sqrt(v_hat + eps)")}, "eps=0.1",
        hidden=True,
    )  # fmt: skip
    assert "np.sqrt(v_hat + eps)" in message


ADAM_NAMED = [
    "without bias correction", "step counter", "not np.sqrt(v_hat + eps)",
    "not sqrt(v) / (1 - beta2**t)", "square root missing", "new array into params",
    "first step must use t = 1",
]  # fmt: skip


@pytest.mark.parametrize(
    "changes, own",
    [
        (dict(corrected="m, v"), "without bias correction"),
        (dict(advance="pass", t='state["t"] + 1'), "step counter"),
        (dict(denominator="np.sqrt(v_hat + eps)"), "not np.sqrt(v_hat + eps)"),
        (dict(denominator="np.sqrt(v) / (1 - beta2**t) + eps"), "not sqrt(v) / (1 - beta2**t)"),
        (dict(denominator="v_hat + eps"), "square root missing"),
        (dict(advance="t0 = state['t']", t="t0"), "first step must use t = 1"),
        (dict(corrected="m / (1 - beta2**t), v / (1 - beta1**t)"), None),  # betas swapped
        (dict(corrected="m / (1 - beta1**t), v / (1 - beta2**(t + 1))"), None),
    ],
    ids=["no_correction", "counter", "eps_inside", "root_outside", "no_root", "t_zero",
         "betas_swapped", "v_off_by_one"],
)  # fmt: skip
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # t = 0 divides by zero, on purpose
def test_adam_hints_name_only_their_mistake(changes, own):
    overrides = {"adam_step": adam(**changes)}
    if own is not None:
        fails("test_adam_step", overrides, own, public=True)
    assert_not_named("test_adam_step", overrides, *[h for h in ADAM_NAMED if h != own])


def test_adam_in_place():
    source = adam().replace("p -= lr * m_hat", "params[k] = p - lr * m_hat")
    fails("test_adam_step", {"adam_step": source}, "new array into params", public=True)


def test_adam_local_m_and_v_are_not_called_a_missing_correction():
    source = adam().replace("m, v = state[\"m\"][k], state[\"v\"][k]",
                            "m, v = state[\"m\"][k].copy(), state[\"v\"][k].copy()")  # fmt: skip
    assert_not_named("test_adam_step", {"adam_step": source}, *ADAM_NAMED)


def test_adam_library_only():
    forbidden("test_adam_step", "adam_step", """
_OPTIMISERS = {}

def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    opt = _OPTIMISERS.setdefault(id(state), cl.optim.Adam(params, lr, beta1, beta2, eps))
    opt.step(grads)
    state.update(t=opt.t, m=opt.m, v=opt.v)
""")  # fmt: skip


# ------------------------------------------------------------------------------------------
# train_epoch and evaluate
# ------------------------------------------------------------------------------------------

EPOCH = """
def train_epoch(model, X, y, step_fn, batch_size, rng):
    {mode}
    losses, sizes = [], []
    for Xb, yb in iterate_minibatches(X, y, batch_size, shuffle={shuffle}, rng=rng):
        scores = model.forward(Xb)
        loss, dscores = softmax_cross_entropy(scores, yb)
        model.backward(dscores)
        step_fn(model.params, model.grads)
        losses.append(loss)
        sizes.append(len(yb))
    return {result}
"""
EPOCH_RIGHT = dict(
    mode="model.train()",
    shuffle="True",
    result="float(np.dot(losses, sizes) / np.sum(sizes))",
)


def epoch(**changes):
    return EPOCH.format(**{**EPOCH_RIGHT, **changes})


def test_train_epoch_template_is_right():
    assert_passes(NB, "test_train_epoch", {"train_epoch": epoch()})


def test_train_epoch_mean_over_batches():
    fails(
        "test_train_epoch", {"train_epoch": epoch(result="float(np.mean(losses))")},
        "averages over batches instead of samples",
    )  # fmt: skip


def test_train_epoch_without_shuffling():
    fails("test_train_epoch", {"train_epoch": epoch(shuffle="False")}, "not shuffled")


def test_train_epoch_keeps_eval_mode():
    fails("test_train_epoch", {"train_epoch": epoch(mode="pass")}, "model.train()")


def test_train_epoch_core_mistakes_fail_the_self_check():
    fails("test_train_epoch", {"train_epoch": epoch(result="float(np.mean(losses))")},
          "averages over batches instead of samples", public=True)  # fmt: skip
    fails("test_train_epoch", {"train_epoch": epoch(mode="pass")}, "model.train()", public=True)


EPOCH_NAMED = ["averages over batches", "loss of the last batch", "adds up the batch losses"]


@pytest.mark.parametrize(
    "result, own",
    [
        ("float(np.mean(losses))", "averages over batches"),
        ("float(losses[-1])", "loss of the last batch"),
        ("float(np.sum(losses))", "adds up the batch losses"),
        ("float(np.dot(losses, sizes) / (len(sizes) * batch_size))", None),  # N rounded up
        ("float(np.dot(losses, sizes) / (len(y) - 1))", None),
    ],
    ids=["mean_of_batches", "last_batch", "sum", "divided_by_full_batches", "off_by_one"],
)
def test_train_epoch_loss_hints_name_only_their_mistake(result, own):
    overrides = {"train_epoch": epoch(result=result)}
    if own is not None:
        fails("test_train_epoch", overrides, own, public=True)
    assert_not_named("test_train_epoch", overrides, *[h for h in EPOCH_NAMED if h != own])


def test_train_epoch_without_backward_is_told_to_call_it():
    source = epoch().replace("        model.backward(dscores)\n", "")
    fails("test_train_epoch", {"train_epoch": source}, "call model.backward(dscores)",
          public=True)  # fmt: skip


@pytest.mark.parametrize("helper", [SEPARATELY, DROP_LAST, IN_PLACE],
                         ids=["separately", "drop_last", "in_place"])  # fmt: skip
def test_train_epoch_is_graded_without_the_learners_minibatches(helper):
    fails("test_iterate_minibatches", {"iterate_minibatches": helper})
    assert_passes(NB, "test_train_epoch", {"iterate_minibatches": helper})


def test_train_epoch_library_only():
    forbidden("test_train_epoch", "train_epoch", """
class _StepFnOptimiser:
    def __init__(self, model, step_fn):
        self.model, self.step_fn = model, step_fn

    def step(self, grads):
        self.step_fn(self.model.params, grads)


def train_epoch(model, X, y, step_fn, batch_size, rng):
    opt = _StepFnOptimiser(model, step_fn)
    history = cl.train.fit(model, opt, X, y, epochs=1, batch_size=batch_size,
                           seed=int(rng.integers(2**31)), progress=False)
    return history["train_loss"][0]
""")  # fmt: skip


EVALUATE = """
def evaluate(model, X, y, batch_size=256):
    was_training = model.training
    {enter}
    loss_sum, correct, losses = 0.0, 0, []
    for s in range(0, {stop}, batch_size):
        scores = model.forward(X[s:s + batch_size])
        loss, _ = softmax_cross_entropy(scores, y[s:s + batch_size])
        losses.append(loss)
        loss_sum += loss * len(scores)
        correct += int(np.sum(scores.argmax(axis=1) == y[s:s + batch_size]))
    {leave}
    return {result}
"""
EVALUATE_RIGHT = dict(
    enter="model.eval()",
    stop="len(X)",
    leave="if was_training:\n        model.train()",
    result="loss_sum / len(X), correct / len(X)",
)
EVALUATE_NAMED = [
    "left the model in train mode", "averages the chunk losses", "last, smaller chunk",
    "adds up the chunk losses", "not a percentage", "not a count", "in this order",
    "expected the pair", "left a model that was training in eval mode",
    "switched a model that was in eval mode",
]  # fmt: skip


def evaluate_source(**changes):
    return EVALUATE.format(**{**EVALUATE_RIGHT, **changes})


def test_evaluate_template_is_right():
    assert_passes(NB, "test_evaluate", {"evaluate": evaluate_source()})


@pytest.mark.parametrize(
    "changes, own",
    [
        (dict(enter="pass", leave="pass"), "left the model in train mode"),  # the row
        (dict(leave="pass"), "left a model that was training in eval mode"),
        (dict(leave="model.train()"), "switched a model that was in eval mode"),
        (dict(leave="model.training = was_training"),
         "left a model that was training in eval mode"),
        (dict(result="float(np.mean(losses)), correct / len(X)"), "averages the chunk losses"),
        (dict(stop="len(X) // batch_size * batch_size or len(X)",
              result="loss_sum / min(len(X), s + batch_size), "
              "correct / min(len(X), s + batch_size)"), "last, smaller chunk"),
        (dict(result="float(np.sum(losses)), correct / len(X)"), "adds up the chunk losses"),
        (dict(result="loss_sum / len(X), 100 * correct / len(X)"), "not a percentage"),
        (dict(result="loss_sum / len(X), correct"), "not a count"),
        (dict(result="correct / len(X), loss_sum / len(X)"), "in this order"),
        (dict(result="correct / len(X)"), "expected the pair"),
        (dict(result="loss_sum / len(X), correct / (len(X) - 1)"), None),
        (dict(result="loss_sum / (len(X) + 1), correct / len(X)"), None),
    ],
    ids=["train_mode", "not_restored", "always_train", "flag_only", "chunk_mean", "last_chunk",
         "chunk_sum", "percent", "count", "swapped", "accuracy_only", "acc_off_by_one",
         "loss_off_by_one"],
)  # fmt: skip
def test_evaluate_hints_name_only_their_mistake(changes, own):
    overrides = {"evaluate": evaluate_source(**changes)}
    if own is not None:
        fails("test_evaluate", overrides, own, public=True)
    assert_not_named("test_evaluate", overrides, *[h for h in EVALUATE_NAMED if h != own])


def test_evaluate_library_only():
    forbidden("test_evaluate", "evaluate", """
def evaluate(model, X, y, batch_size=256):
    return cl.train.evaluate(model, X, y, batch_size)
""")  # fmt: skip


def test_evaluate_agrees_with_its_library_twin():
    ns = namespace(NB)
    X, y, _, _ = cl.data.load_digits()
    model = cl.models.course_convnet((1, 8, 8), 10, dropout=0.5, seed=0)
    for batch_size in (256, 100, 7):
        mine = ns["evaluate"](model, X[:300], y[:300], batch_size)
        assert model.training
        theirs = cl.train.evaluate(model, X[:300], y[:300], batch_size)
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)


# ------------------------------------------------------------------------------------------
# random_shift
# ------------------------------------------------------------------------------------------

SHIFT = """
def random_shift(images, rng, max_shift=1):
    n, _, h, w = images.shape
    m = int(max_shift)
    padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
    dy, dx = {offsets}
    out = np.empty_like(images)
    for i in range(n):
        out[i] = {move}
    return out
"""
SHIFT_RIGHT = dict(
    offsets="rng.integers(-m, m + 1, size=n), rng.integers(-m, m + 1, size=n)",
    move="padded[i, :, m + dy[i] : m + dy[i] + h, m + dx[i] : m + dx[i] + w]",
)
SHIFT_NAMED = [
    "one offset for the whole batch", "opposite way", "dy and dx are swapped", "wraps around",
    "not by the offsets drawn",
]  # fmt: skip


def shift(**changes):
    return SHIFT.format(**{**SHIFT_RIGHT, **changes})


def test_random_shift_template_is_right():
    assert_passes(NB, "test_random_shift", {"random_shift": shift()})


@pytest.mark.parametrize(
    "changes, own",
    [
        (dict(move="np.roll(images[i], (-dy[i], -dx[i]), axis=(1, 2))"), "wraps around"),
        (dict(move="padded[i, :, m - dy[i] : m - dy[i] + h, m - dx[i] : m - dx[i] + w]"),
         "opposite way"),
        (dict(move="padded[i, :, m + dx[i] : m + dx[i] + h, m + dy[i] : m + dy[i] + w]"),
         "dy and dx are swapped"),
        (dict(offsets="np.repeat(rng.integers(-m, m + 1, size=(2, 1)), n, axis=1)"),
         "one offset for the whole batch"),
        (dict(offsets="rng.integers(-m, m + 1, size=(n, 2)).T"), "not by the offsets drawn"),
        (dict(offsets="rng.integers(-m, m, size=n), rng.integers(-m, m, size=n)"),
         "not by the offsets drawn"),
        (dict(move="np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)), mode='edge')"
              "[i, :, m + dy[i] : m + dy[i] + h, m + dx[i] : m + dx[i] + w]"), None),
    ],
    ids=["roll", "opposite", "swapped", "one_offset", "draw_order", "exclusive_bound",
         "edge_fill"],
)  # fmt: skip
def test_random_shift_hints_name_only_their_mistake(changes, own):
    overrides = {"random_shift": shift(**changes)}
    fails("test_random_shift", overrides, *([own] if own else []), public=True)
    assert_not_named("test_random_shift", overrides, *[h for h in SHIFT_NAMED if h != own])


def hidden_failure(test_id, overrides):
    """The message of the hidden part of ``test_id``, run after the visible part's imports,
    definitions and assignments that do not call the learner's functions (``run_hidden_part``
    runs the imports only, but hidden checks may use the visible part's helpers)."""
    ns = namespace(NB, overrides)
    source = next(src for _, meta, src in cells(NB) if meta.get("grade_id") == test_id)
    visible, rest = source.split("### BEGIN HIDDEN TESTS")

    tainted, keep = set(ANSWERS), []  # names whose value comes from the learner's code
    for node in ast.parse(visible).body:
        names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
            keep.append(node)
        elif isinstance(node, ast.Assign) and not names & tainted:
            keep.append(node)
        else:  # skipped: whatever it assigns is unknown to the hidden part
            stored = ast.walk(node)
            tainted |= {
                n.id for n in stored if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            }
    hidden = rest.split("### END HIDDEN TESTS")[0]
    try:
        exec(compile(ast.unparse(keep) + "\n" + hidden, f"<{test_id} hidden>", "exec"), ns)
    except AssertionError as exc:
        return str(exc)
    raise AssertionError(f"the hidden part of {test_id} passed {sorted(overrides)}")


@pytest.mark.parametrize(
    "offsets, needle",
    [
        ("rng.integers(-m, m, size=n), rng.integers(-m, m, size=n)", "both ends included"),
        ("(lambda d: (d, d))(rng.integers(-m, m + 1, size=n))", "dy equals dx"),
        ("np.repeat(rng.integers(-m, m + 1, size=(2, 1)), n, axis=1)", "one offset for the whole"),
        ("rng.integers(-m, m + 1, size=(n, 2)).T", "not by the offsets drawn"),
    ],
    ids=["exclusive_bound", "same_offsets", "one_offset", "draw_order"],
)
def test_random_shift_hidden_checks_name_the_offset_mistakes(offsets, needle):
    message = hidden_failure("test_random_shift", {"random_shift": shift(offsets=offsets)})
    assert needle in message, message


def test_random_shift_input_and_dtype():
    in_place = shift().replace("out = np.empty_like(images)", "out = images")
    fails("test_random_shift", {"random_shift": in_place}, "in place", public=True)
    float64 = shift().replace("np.empty_like(images)", "np.empty(images.shape)")
    fails("test_random_shift", {"random_shift": float64}, "float32", public=True)


def test_random_shift_library_only():
    forbidden("test_random_shift", "random_shift", """
import scipy.ndimage

def random_shift(images, rng, max_shift=1):
    dy = rng.integers(-max_shift, max_shift + 1, size=len(images))
    dx = rng.integers(-max_shift, max_shift + 1, size=len(images))
    return np.stack([scipy.ndimage.shift(img, (0, -a, -b), order=0, mode="constant", cval=0.0)
                     for img, a, b in zip(images, dy, dx)]).astype(images.dtype)
""", hidden=True)  # fmt: skip
    forbidden("test_random_shift", "random_shift", """
def random_shift(images, rng, max_shift=1):
    return cl.train.random_shift(images, rng, max_shift)
""")  # fmt: skip


def test_random_shift_agrees_with_its_library_twin():
    ns = namespace(NB)
    images = np.random.default_rng(0).random((50, 3, 6, 7)).astype(np.float32)
    for m in (0, 1, 2):
        mine = ns["random_shift"](images, np.random.default_rng(m), m)
        theirs = cl.train.random_shift(images, np.random.default_rng(m), m)
        np.testing.assert_array_equal(mine, theirs)


# ------------------------------------------------------------------------------------------
# train_convnet
# ------------------------------------------------------------------------------------------


def test_train_convnet_too_short():
    overrides = {"train_convnet": """
def train_convnet(X, y, seed=0, on_epoch_end=None):
    rng = np.random.default_rng(seed)
    model = build_convnet(X.shape[1:], 10, rng=rng)
    state = {}
    for epoch in range(10):  # no augmentation, no schedule, too few epochs: about 97.5%
        loss = train_epoch(model, X, y, lambda p, g: adam_step(p, g, state, 3e-3), 32, rng)
        if on_epoch_end is not None:
            on_epoch_end(epoch, model, loss)
    return model
"""}  # fmt: skip
    fails("test_train_convnet", overrides, "98.5%")
    assert "98.5%" in hidden_failure("test_train_convnet", overrides)


def test_train_convnet_library_only():
    forbidden("test_train_convnet", "train_convnet", """
def train_convnet(X, y, seed=0, on_epoch_end=None):
    model = cl.models.course_convnet(X.shape[1:], 10, seed=seed)
    opt = cl.optim.Adam(model.params, lr=2e-3)
    shift = lambda xb, rng: random_shift(xb, rng, 1)
    history = cl.train.fit(model, opt, X, y, epochs=20, batch_size=32, augment=shift,
                           seed=seed, progress=False)
    opt.lr = 2e-4
    cl.train.fit(model, opt, X, y, epochs=5, batch_size=32, seed=seed + 1, progress=False)
    for epoch, loss in enumerate(history["train_loss"]):
        if on_epoch_end is not None:
            on_epoch_end(epoch, model, loss)
    return model
""")  # fmt: skip


BUGGY_HELPERS = {
    "he_init": "def he_init(shape, fan_in, rng):\n    return rng.standard_normal(shape)\n",
    "build_convnet": """
def build_convnet(input_shape, num_classes, conv_channels=(16, 32), convs_per_block=1,
                  hidden=(64,), rng=None):
    return cl.models.course_convnet(input_shape, num_classes, conv_channels, convs_per_block,
                                    hidden, seed=0)
""",
    "iterate_minibatches": SEPARATELY,
    "sgd_step": "def sgd_step(params, grads, lr):\n    pass\n",
    "momentum_step": "def momentum_step(params, grads, velocity, lr, beta=0.9):\n    pass\n",
    "adam_step": """
_OPTIMISERS = {}

def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    opt = _OPTIMISERS.setdefault(id(state), cl.optim.Adam(params, lr, beta1, beta2, eps))
    opt.step({k: -g for k, g in grads.items()})  # and uphill, too
""",
    "train_epoch": epoch(result="float(np.mean(losses))", mode="pass"),
    "evaluate": evaluate_source(enter="pass", leave="pass", result="correct / len(X)"),
    "random_shift": shift(move="np.roll(images[i], (-dy[i], -dx[i]), axis=(1, 2))"),
}


def test_train_convnet_is_graded_without_the_learners_earlier_answers():
    """Every earlier answer wrong (or a library wrapper): train_convnet still gets its points,
    and no message blames it for them, while each helper's own test fails."""
    for name, source in BUGGY_HELPERS.items():
        exc = run_test_cell(NB, f"test_{name}", {name: source})
        assert isinstance(exc, AssertionError), f"test_{name} passed a buggy {name}: {exc!r}"
    assert_passes(NB, "test_train_convnet", BUGGY_HELPERS)


def _references():
    """The reference helpers test_train_convnet gives train_convnet (before it trains)."""
    ns = namespace(NB)
    source = next(src for _, m, src in cells(NB) if m.get("grade_id") == "test_train_convnet")
    setup = source.split("X_train, y_train, X_test, y_test = cl.data.load_digits()")[0]
    exec(compile(setup, "<test_train_convnet setup>", "exec"), ns)
    return ns["references"], ns


def _optimiser_run(step, *state):
    rng = np.random.default_rng(0)
    params = {"w": rng.standard_normal((3, 4)), "b": np.zeros(4)}
    held = list(params.values())
    for lr in (1e-2, 5e-3, 0.0):
        grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
        step(params, grads, *state, lr)
    return held


def _epoch_run(epoch_fn):
    model = cl.nn.Sequential(cl.nn.Flatten(), cl.nn.Linear(4, 3, seed=0, dtype="float64")).eval()
    X = np.random.default_rng(1).random((10, 1, 2, 2))
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])

    def sgd(params, grads):
        for k in params:
            params[k] -= 0.5 * grads[k]

    loss = epoch_fn(model, X, y, sgd, 4, np.random.default_rng(0))
    return [loss, *model.params.values(), float(model.training)]


@pytest.mark.parametrize(
    "name, run",
    [
        ("sgd_step", _optimiser_run),
        ("momentum_step", lambda f: _optimiser_run(f, {})),
        ("adam_step", lambda f: _optimiser_run(f, {})),
        ("train_epoch", _epoch_run),
    ],
)
def test_train_convnet_per_batch_references_are_cnnlab_twins_of_the_exercises(name, run):
    """The helpers train_convnet calls at every batch are replaced by cnnlab's functions of the
    same contract: the grader runs those in the learner's process (a local call instead of a
    round trip to the judge per batch), and they compute what the exercises' solutions do."""
    references, ns = _references()
    reference = references[name]
    assert reference.__module__ in ("cnnlab.optim", "cnnlab.train"), reference
    if name == "train_epoch":  # the solution's train_epoch calls the notebook's batching
        ns["iterate_minibatches"] = references["iterate_minibatches"]
    for got, want in zip(run(ns[name]), run(reference), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
