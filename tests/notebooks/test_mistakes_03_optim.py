"""Tests of the tests of 03-training (sgd_step, momentum_step and adam_step).

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

import pytest
from nbtools import (
    assert_fails,
    assert_forbidden,
    assert_passes,
    graded_ids,
    mutant,
    run_test_cell,
)

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


@pytest.mark.parametrize(
    "grade_id, edit, needle",
    [
        ("sgd_step", ("p -= lr * grads[name]", "p -= lr * grads[name]\n    return params"),
         "returns None"),
        ("momentum_step", ("np.zeros_like(p)", "np.zeros(p.shape)"), "dtype of the velocity"),
    ],
    ids=["sgd_returns_params", "float64_velocity"],
)  # fmt: skip
def test_stated_rules_are_checked_by_the_hidden_part(grade_id, edit, needle):
    assert_fails(NB, f"test_{grade_id}", mutant(NB, grade_id, edit), needle, hidden=True)
