"""Realistic mistakes in 05-visualization (`fooling_image`).

Each entry replaces the answer cell with a wrong answer in the style of a learner, built from one
template with one part changed. ``core=True`` marks the mistakes the exercise exists to teach (the
target's score, normalised steps, stopping as soon as the target is predicted, a copy of the
image, eval mode): the public part of the test cell alone must catch them.
"""

from __future__ import annotations

from realistic import Mistake

FOOLING = """
def fooling_image(model, x, target, *, step=0.1, max_iter=100):
    x = {copy}
    was_training = model.training
    {mode}
    first = int(model.forward(np.asarray(x)[None])[0].argmax())
    for _ in range(max_iter):
        scores = model.forward(x[None])
        p = np.exp(scores - scores.max())
        p = p / p.sum()
        {check}
        dscores = {dscores}
        g = model.backward(dscores)[0]
        {update}
        {after}
    {restore}
    return x
"""
OK = dict(
    copy="np.array(x, dtype=float)",
    mode="model.eval()",
    check="if scores[0].argmax() == target: break",
    dscores="np.eye(scores.shape[1])[[target]]",
    update="if not np.any(g): break\n        x = x + step * g / np.linalg.norm(g)",
    after="",
    restore="model.train() if was_training else None",
)


def _fool(**change):
    return {"fooling_image": FOOLING.format(**{**OK, **change})}


def _m(label, core=False, **change):
    return Mistake("test_fooling_image", label, _fool(**change), core=core)


AFTER_CHECK = "if model.forward(x[None])[0].argmax() == target: break"

MISTAKES = [
    _m("fooling: ascends the loss of the true class", True,
       dscores="p - np.eye(scores.shape[1])[[first]]"),
    _m("fooling: lowers the true class's score", True,
       dscores="-np.eye(scores.shape[1])[[first]]"),
    _m("fooling: raw gradient, not normalised", True, update="x = x + step * g"),
    _m("fooling: never stops before max_iter", True, check=""),
    _m("fooling: checks the prediction after the step", True, check="", after=AFTER_CHECK),
    _m("fooling: steps on the caller's image", True, copy="np.asarray(x, dtype=float)",
       update="x += step * g / np.linalg.norm(g)"),
    _m("fooling: gradient descent", True, update="x = x - step * g / np.linalg.norm(g)"),
    _m("fooling: forgets model.eval()", True, mode="pass"),
    _m("fooling: eval mode never restored", True, restore="pass"),
    _m("fooling: sign of the gradient (FGSM)", update="x = x + step * np.sign(g)"),
    _m("fooling: divides by the largest |g|", update="x = x + step * g / np.abs(g).max()"),
    _m("fooling: ascends the target's probability",
       dscores="p[0, target] * (np.eye(scores.shape[1])[[target]] - p)"),
    _m("fooling: clips to [0, 1] after every step", after="x = np.clip(x, 0, 1)"),
    _m("fooling: divides by a zero norm", update="x = x + step * g / np.linalg.norm(g)"),
]  # fmt: skip
