"""Tests of the hidden tests of 03-training: every mistake they claim to catch is caught.

Each case replaces one answer cell with a buggy (or library-only) answer, runs the test cell in
process and checks (``nbtools.assert_fails``) that it fails with a message naming the mistake.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import assert_fails, assert_forbidden, assert_passes, cells, graded_ids

NB = "03-training"
ANSWERS, TEST_CELLS = graded_ids(NB)
fails = partial(assert_fails, NB)
forbidden = partial(assert_forbidden, NB)


# ------------------------------------------------------------------------------------------
# The solution passes every test cell; the graded cells are the ones the issue asks for.
# ------------------------------------------------------------------------------------------


def test_graded_cells_are_the_issue_exercises():
    answers = ANSWERS
    assert answers == [
        "he_init", "build_convnet", "iterate_minibatches", "sgd_step", "momentum_step",
        "adam_step", "train_epoch", "evaluate", "random_shift", "train_convnet",
    ]  # fmt: skip
    assert TEST_CELLS == [f"test_{a}" for a in answers]
    points = sum(m.get("points", 0) for _, m, _ in cells(NB) if m.get("grade"))
    assert points == 26


@pytest.mark.parametrize("test_id", TEST_CELLS)
def test_solution_passes(test_id):
    assert_passes(NB, test_id)


# ------------------------------------------------------------------------------------------
# he_init
# ------------------------------------------------------------------------------------------


def test_he_init_fan_out():
    fails("test_he_init", {"he_init": """
def he_init(shape, fan_in, rng):
    fan_out = shape[0] * int(np.prod(shape[2:])) if len(shape) == 4 else shape[-1]
    return rng.standard_normal(shape) * np.sqrt(2.0 / fan_out)
"""}, "fan_out")  # fmt: skip


def test_he_init_missing_two():
    fails("test_he_init", {"he_init": """
def he_init(shape, fan_in, rng):
    return rng.standard_normal(shape) * np.sqrt(1.0 / fan_in)
"""}, "sqrt(1 / fan_in)")  # fmt: skip


def test_he_init_variance_instead_of_std():
    fails("test_he_init", {"he_init": """
def he_init(shape, fan_in, rng):
    return rng.standard_normal(shape) * (2.0 / fan_in)
"""}, "sqrt(2 / fan_in)")  # fmt: skip


def test_he_init_global_random_state():
    fails("test_he_init", {"he_init": """
def he_init(shape, fan_in, rng):
    return np.random.standard_normal(shape) * np.sqrt(2.0 / fan_in)
"""}, "rng")  # fmt: skip


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
    pool="layers.append(nn.MaxPool2d(2, 2))",
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
        .replace("layers += [conv, nn.ReLU()]", "layers += [conv, nn.ReLU(), nn.MaxPool2d(2, 2)]")
        .replace("        layers.append(nn.MaxPool2d(2, 2))\n", "")
    )
    # convs_per_block=1 gives the same network, so only the hidden configurations catch it
    fails("test_build_convnet", {"build_convnet": source}, "one MaxPool2d per block")


def test_build_convnet_fan_out_init():
    fails("test_build_convnet", {"build_convnet": build(conv_fan="channels * 9")}, "fan_in")


def test_build_convnet_default_init_ignores_rng():
    source = build().replace('conv.params["w"][...] = he_init', "_ = he_init")
    source = source.replace("seed=0)\n            conv", "seed=None)\n            conv")
    fails("test_build_convnet", {"build_convnet": source}, "rng")


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


# ------------------------------------------------------------------------------------------
# optimisers
# ------------------------------------------------------------------------------------------


def test_sgd_not_in_place():
    fails("test_sgd_step", {"sgd_step": """
def sgd_step(params, grads, lr):
    for name in params:
        params[name] = params[name] - lr * grads[name]
"""}, "in place")  # fmt: skip


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
        "test_adam_step", {"adam_step": adam(denominator="np.sqrt(v_hat + eps)")}, "eps=0.1"
    )
    assert "np.sqrt(v_hat + eps)" in message


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


def test_evaluate_in_train_mode():
    fails("test_evaluate", {"evaluate": """
def evaluate(model, X, y, batch_size=256):
    correct = 0
    for s in range(0, len(X), batch_size):
        correct += int(np.sum(model.forward(X[s:s + batch_size]).argmax(axis=1)
                              == y[s:s + batch_size]))
    return correct / len(X)
"""}, "left in train mode")  # fmt: skip


def test_evaluate_drops_last_chunk():
    fails("test_evaluate", {"evaluate": """
def evaluate(model, X, y, batch_size=256):
    model.eval()
    n = (len(X) // batch_size) * batch_size or len(X)
    pred = np.concatenate([model.forward(X[s:s + batch_size]).argmax(axis=1)
                           for s in range(0, n, batch_size)])
    return float(np.mean(pred == y[:n]))
"""}, "last")  # fmt: skip


def test_evaluate_returns_percentage():
    fails("test_evaluate", {"evaluate": """
def evaluate(model, X, y, batch_size=256):
    model.eval()
    return 100.0 * float(np.mean(model.forward(X).argmax(axis=1) == y))
"""}, "fraction in [0, 1]")  # fmt: skip


def test_evaluate_library_only():
    forbidden("test_evaluate", "evaluate", """
def evaluate(model, X, y, batch_size=256):
    return cl.train.evaluate(model, X, y, batch_size)[1]
""")  # fmt: skip


# ------------------------------------------------------------------------------------------
# random_shift
# ------------------------------------------------------------------------------------------

SHIFT = """
def random_shift(images, max_shift, rng):
    n, _, h, w = images.shape
    m = int(max_shift)
    padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
    offsets = {offsets}
    out = np.empty_like(images)
    for i, (dy, dx) in enumerate(offsets):
        out[i] = {move}
    return out
"""
SHIFT_RIGHT = dict(
    offsets="rng.integers(-m, m + 1, size=(n, 2))",
    move="padded[i, :, m - dy : m - dy + h, m - dx : m - dx + w]",
)


def shift(**changes):
    return SHIFT.format(**{**SHIFT_RIGHT, **changes})


def test_random_shift_template_is_right():
    assert_passes(NB, "test_random_shift", {"random_shift": shift()})


def test_random_shift_wraps_around():
    fails(
        "test_random_shift",
        {"random_shift": shift(move="np.roll(images[i], (dy, dx), axis=(1, 2))")},
        "wraps around",
    )


def test_random_shift_one_offset_for_the_batch():
    offsets = "np.repeat(rng.integers(-m, m + 1, size=(1, 2)), n, axis=0)"
    needle = "one offset for the whole batch"
    fails("test_random_shift", {"random_shift": shift(offsets=offsets)}, needle)


def test_random_shift_exclusive_upper_bound():
    exclusive = "rng.integers(-m, m, size=(n, 2)) if m else np.zeros((n, 2), int)"
    fails("test_random_shift", {"random_shift": shift(offsets=exclusive)}, "both ends included")


def test_random_shift_same_offset_on_both_axes():
    offsets = "np.repeat(rng.integers(-m, m + 1, size=(n, 1)), 2, axis=1)"
    fails("test_random_shift", {"random_shift": shift(offsets=offsets)}, "dy equals dx")


def test_random_shift_library_only():
    forbidden("test_random_shift", "random_shift", """
import scipy.ndimage

def random_shift(images, max_shift, rng):
    offsets = rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))
    return np.stack([scipy.ndimage.shift(img, (0, dy, dx), order=0, mode="constant", cval=0.0)
                     for img, (dy, dx) in zip(images, offsets)])
""")  # fmt: skip


# ------------------------------------------------------------------------------------------
# train_convnet
# ------------------------------------------------------------------------------------------


def test_train_convnet_too_short():
    fails("test_train_convnet", {"train_convnet": """
def train_convnet(X, y, seed=0, on_epoch_end=None):
    rng = np.random.default_rng(seed)
    model = build_convnet(X.shape[1:], 10, rng=rng)
    state = {}
    for epoch in range(10):  # no augmentation, no schedule, too few epochs: about 97.5%
        loss = train_epoch(model, X, y, lambda p, g: adam_step(p, g, state, 3e-3), 32, rng)
        if on_epoch_end is not None:
            on_epoch_end(epoch, model, loss)
    return model
"""}, "98.5%")  # fmt: skip


def test_train_convnet_library_only():
    forbidden("test_train_convnet", "train_convnet", """
def train_convnet(X, y, seed=0, on_epoch_end=None):
    model = cl.models.course_convnet(X.shape[1:], seed=seed)
    opt = cl.optim.Adam(model.params, lr=2e-3)
    shift = lambda xb, rng: random_shift(xb, 1, rng)
    history = cl.train.fit(model, opt, X, y, epochs=20, batch_size=32, augment=shift,
                           seed=seed, progress=False)
    opt.lr = 2e-4
    cl.train.fit(model, opt, X, y, epochs=5, batch_size=32, seed=seed + 1, progress=False)
    for epoch, loss in enumerate(history["train_loss"]):
        if on_epoch_end is not None:
            on_epoch_end(epoch, model, loss)
    return model
""")  # fmt: skip
