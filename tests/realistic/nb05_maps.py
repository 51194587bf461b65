"""Realistic mistakes in 05-visualization (occlusion, saliency, class visualisation).

Each entry replaces one answer cell with a complete wrong answer in the style of a learner.
``core=True`` marks the mistakes an exercise exists to teach (its prose warns about them, or the
docstring specifies the behaviour): the public part of the test cell alone must catch them.
"""

from __future__ import annotations

from realistic import Mistake

# ------------------------------------------------------------------------------------------
# occlusion_map
# ------------------------------------------------------------------------------------------

OCCLUSION = """
def occlusion_map(model, image, label, patch=4, stride=2, fill=0.0):
    c, h, w = image.shape
    oh = {oh}
    ow = {ow}
    was_training = model.training
    {mode}
    s0 = model.forward(image[None])[0, label]
    drop = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            x = {copy}
            x[{chan}, {rows}, {cols}] = {fill}
            s = model.forward(x[None])[0, label]
            drop[i, j] = {value}
    {restore}
    return drop
"""
OCC_OK = dict(
    oh="(h - patch) // stride + 1",
    ow="(w - patch) // stride + 1",
    mode="model.eval()",
    copy="image.copy()",
    chan=":",
    rows="i * stride : i * stride + patch",
    cols="j * stride : j * stride + patch",
    fill="fill",
    value="s0 - s",
    restore="model.train() if was_training else None",
)


def _occ(**change):
    return {"occlusion_map": OCCLUSION.format(**{**OCC_OK, **change})}


PROBABILITY_DROP = """
def occlusion_map(model, image, label, patch=4, stride=2, fill=0.0):
    c, h, w = image.shape
    oh, ow = (h - patch) // stride + 1, (w - patch) // stride + 1
    was_training = model.training
    model.eval()

    def prob(x):
        s = model.forward(x[None])[0]
        e = np.exp(s - s.max())
        return e[label] / e.sum()

    p0 = prob(image)
    drop = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            x = image.copy()
            x[:, i * stride : i * stride + patch, j * stride : j * stride + patch] = fill
            drop[i, j] = p0 - prob(x)
    if was_training:
        model.train()
    return drop
"""

OCCLUDE = [
    Mistake(
        "test_occlusion_map",
        "occlusion: probability drop, not score drop",
        {"occlusion_map": PROBABILITY_DROP},
        core=True,
    ),
    Mistake(
        "test_occlusion_map",
        "occlusion: patch placed at i * patch",
        _occ(rows="i * patch : i * patch + patch", cols="j * patch : j * patch + patch"),
        core=True,
    ),
    Mistake(
        "test_occlusion_map",
        "occlusion: patch of size stride",
        _occ(rows="i * stride : i * stride + stride", cols="j * stride : j * stride + stride"),
        core=True,
    ),
    Mistake(
        "test_occlusion_map", "occlusion: fill value ignored (zeros)", _occ(fill="0"), core=True
    ),
    Mistake(
        "test_occlusion_map", "occlusion: only the first channel covered", _occ(chan="0"), core=True
    ),
    Mistake("test_occlusion_map", "occlusion: forgets model.eval()", _occ(mode="pass"), core=True),
    Mistake(
        "test_occlusion_map", "occlusion: eval mode never restored", _occ(restore="pass"), core=True
    ),
    Mistake(
        "test_occlusion_map",
        "occlusion: last position missing (range stops short)",
        _occ(oh="len(range(0, h - patch, stride))", ow="len(range(0, w - patch, stride))"),
        core=True,
    ),
    Mistake(
        "test_occlusion_map",
        "occlusion: grid h // stride (patches past the edge)",
        _occ(oh="h // stride", ow="w // stride"),
        core=True,
    ),
    Mistake(
        "test_occlusion_map", "occlusion: covers the image itself", _occ(copy="image"), core=True
    ),
    Mistake("test_occlusion_map", "occlusion: returns the occluded score", _occ(value="s")),
    Mistake("test_occlusion_map", "occlusion: sign reversed", _occ(value="s - s0")),
    Mistake("test_occlusion_map", "occlusion: relative drop", _occ(value="(s0 - s) / s0")),
    Mistake(
        "test_occlusion_map",
        "occlusion: watches the predicted class, not label",
        {
            "occlusion_map": OCCLUSION.format(**OCC_OK).replace(
                "[0, label]", "[0, int(model.forward(image[None])[0].argmax())]"
            )
        },
    ),
]

# ------------------------------------------------------------------------------------------
# saliency_map
# ------------------------------------------------------------------------------------------

SALIENCY = """
def saliency_map(model, x, label):
    was_training = model.training
    {mode}
    scores = model.forward(np.asarray(x)[None])
    p = np.exp(scores - scores.max())
    p = p / p.sum()
    dscores = {dscores}
    dx = model.backward(dscores)
    {restore}
    return {reduce}
"""
SAL_OK = dict(
    mode="model.eval()",
    dscores="np.eye(scores.shape[1])[[label]]",
    restore="model.train() if was_training else None",
    reduce="np.abs(dx[0]).max(axis=0)",
)


def _sal(**change):
    return {"saliency_map": SALIENCY.format(**{**SAL_OK, **change})}


PROB = "p[0, label] * (np.eye(scores.shape[1])[[label]] - p)"
LOSS = "p - np.eye(scores.shape[1])[[label]]"

SALIENT = [
    Mistake(
        "test_saliency_map",
        "saliency: no absolute value",
        _sal(reduce="dx[0].max(axis=0)"),
        core=True,
    ),
    Mistake(
        "test_saliency_map",
        "saliency: absolute value after the max",
        _sal(reduce="np.abs(dx[0].max(axis=0))"),
        core=True,
    ),
    Mistake(
        "test_saliency_map",
        "saliency: sums |dx| over channels",
        _sal(reduce="np.abs(dx[0]).sum(axis=0)"),
        core=True,
    ),
    Mistake(
        "test_saliency_map",
        "saliency: mean of |dx| over channels",
        _sal(reduce="np.abs(dx[0]).mean(axis=0)"),
    ),
    Mistake("test_saliency_map", "saliency: first channel only", _sal(reduce="np.abs(dx[0, 0])")),
    Mistake(
        "test_saliency_map",
        "saliency: gradient of the softmax probability",
        _sal(dscores=PROB),
        core=True,
    ),
    Mistake(
        "test_saliency_map",
        "saliency: gradient of the cross-entropy loss",
        _sal(dscores=LOSS),
        core=True,
    ),
    Mistake(
        "test_saliency_map",
        "saliency: backward of all scores (ones)",
        _sal(dscores="np.ones_like(scores)"),
    ),
    Mistake("test_saliency_map", "saliency: forgets model.eval()", _sal(mode="pass"), core=True),
    Mistake(
        "test_saliency_map", "saliency: eval mode never restored", _sal(restore="pass"), core=True
    ),
    Mistake(
        "test_saliency_map",
        "saliency: backward of the score itself",
        _sal(dscores="np.eye(scores.shape[1])[[label]] * scores"),
    ),
]

# ------------------------------------------------------------------------------------------
# class_visualization
# ------------------------------------------------------------------------------------------

CLASS_VIS = """
def class_visualization(model, label, shape, steps, lr, l2, rng, prior=None):
    x = {start}
    was_training = model.training
    {mode}
    for _ in range(steps):
        {before}
        scores = model.forward(x[None])
        dscores = np.zeros_like(scores)
        dscores[0, label] = 1.0
        {softmax}
        grad = model.backward(dscores)[0]
        x = x {sign} lr * (grad - {reg} * x)
        {after}
    {restore}
    return x
"""
CV_OK = dict(
    start="0.1 * rng.standard_normal(shape)",
    mode="model.eval()",
    before="",
    softmax="",
    sign="+",
    reg="2 * l2",
    after="x = prior(x) if prior is not None else x",
    restore="model.train() if was_training else None",
)


def _cv(**change):
    return {"class_visualization": CLASS_VIS.format(**{**CV_OK, **change})}


SOFTMAX_GRAD = (
    "p = np.exp(scores - scores.max()); p = p / p.sum(); dscores = p[0, label] * (dscores - p)"
)

CLASS_VISUALIZATION = [
    Mistake(
        "test_class_visualization", "class vis: forgets model.eval()", _cv(mode="pass"), core=True
    ),
    Mistake(
        "test_class_visualization",
        "class vis: eval mode never restored",
        _cv(restore="pass"),
        core=True,
    ),
    Mistake("test_class_visualization", "class vis: gradient descent", _cv(sign="-"), core=True),
    Mistake(
        "test_class_visualization",
        "class vis: L2 term with the wrong sign",
        _cv(reg="-2 * l2"),
        core=True,
    ),
    Mistake(
        "test_class_visualization",
        "class vis: L2 gradient without the factor 2",
        _cv(reg="l2"),
        core=True,
    ),
    Mistake("test_class_visualization", "class vis: no L2 term", _cv(reg="0 * l2"), core=True),
    Mistake(
        "test_class_visualization",
        "class vis: ascends the softmax probability",
        _cv(softmax=SOFTMAX_GRAD),
        core=True,
    ),
    Mistake(
        "test_class_visualization", "class vis: starts from zeros", _cv(start="np.zeros(shape)")
    ),
    Mistake(
        "test_class_visualization",
        "class vis: start without the factor 0.1",
        _cv(start="rng.standard_normal(shape)"),
    ),
    Mistake("test_class_visualization", "class vis: prior ignored", _cv(after=""), core=True),
    Mistake(
        "test_class_visualization",
        "class vis: prior before each update",
        _cv(before="x = prior(x) if prior is not None else x", after=""),
        core=True,
    ),
    Mistake(
        "test_class_visualization",
        "class vis: fresh noise added at every step",
        _cv(before="x = x + 0.01 * rng.standard_normal(shape)"),
    ),
]

MISTAKES = OCCLUDE + SALIENT + CLASS_VISUALIZATION
