"""Tests of the tests of 03-training (he_init and build_convnet).

Every mistake they claim to catch is caught and named. Each case replaces one answer cell with
a buggy (or library-only) answer, runs the test cell in process and checks
(``nbtools.assert_fails``) that it fails with a message naming the mistake; ``public=True``
where the mistake is one the exercise exists to teach (the learner's self-check must catch
it). A hint names a mistake only when that mistake happened: the nearest wrong variants of
every named mistake must not be given its hint (``assert_not_named``). Exercises that call
earlier answers are graded on their own: a buggy helper costs only its own exercise. The
other parts of notebook 03 are in the test_mistakes_03_*.py modules beside this one.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from nbtools import (
    assert_fails,
    assert_forbidden,
    assert_passes,
    graded_ids,
    mutant,
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


@pytest.mark.parametrize(
    "grade_id, edit, needle",
    [
        ("he_init", ("return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)",
                     "return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype('f4')"),
         "dtype of he_init"),
        ("build_convnet", ("rng = np.random.default_rng() if", "rng = np.random.default_rng(0) if"),
         "without rng built the same weights"),
        ("build_convnet", ("layers = []", "layers = [rng.random() * 0][:0]"), "in layer order"),
    ],
    ids=["he_init_float32", "seeded_when_none", "extra_draw"],
)  # fmt: skip
def test_stated_rules_are_checked_by_the_hidden_part(grade_id, edit, needle):
    assert_fails(NB, f"test_{grade_id}", mutant(NB, grade_id, edit), needle, hidden=True)
