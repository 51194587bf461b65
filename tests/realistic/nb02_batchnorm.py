"""Realistic mistakes for 02's batch normalisation (exercises 8c and 8d).

Written as a learner would write them, whole answer cells. ``core=True``: the mistakes the
exercises exist to teach, which the public worked examples must catch: the batch's own
statistics used in eval mode (the one-image example), running statistics that never reach the
caller, and a train-mode backward pass that forgets that the batch mean and variance depend on x.
"""

from realistic import Mistake, variant

FWD, BWD = "test_batchnorm2d_forward", "test_batchnorm2d_backward"


def _fwd(label, source, core=False):
    return Mistake(FWD, label, {"batchnorm2d_forward": source}, core=core)


def _bwd(label, source, core=False):
    return Mistake(BWD, label, {"batchnorm2d_backward": source}, core=core)


HEADER = """
def batchnorm2d_forward(x, gamma, beta, running_mean, running_var, *, train=True,
                        momentum=0.9, eps=1e-5):
"""

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# batchnorm: running variance from the biased variance
_BATCHNORM_BIASED_RUNNING_VARIANCE = """
    if train:
        mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        running_mean *= momentum
        running_mean += (1 - momentum) * mu
        running_var *= momentum
        running_var += (1 - momentum) * var
    else:
        mu, var = running_mean, running_var
    inv_std = 1 / np.sqrt(var + eps)
    xhat = (x - mu[:, None, None]) * inv_std[:, None, None]
    return gamma[:, None, None] * xhat + beta[:, None, None], (xhat, gamma, inv_std, train)
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# batchnorm: eval mode divides by the running variance
_BATCHNORM_EVAL_MODE_DIVIDES = """
    if train:
        m = x.shape[0] * x.shape[2] * x.shape[3]
        mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        running_mean *= momentum
        running_mean += (1 - momentum) * mu
        running_var *= momentum
        running_var += (1 - momentum) * var * m / (m - 1)
        inv_std = 1 / np.sqrt(var + eps)
    else:
        mu, inv_std = running_mean, 1 / (running_var + eps)
    xhat = (x - mu[:, None, None]) * inv_std[:, None, None]
    return gamma[:, None, None] * xhat + beta[:, None, None], (xhat, gamma, inv_std, train)
"""


FORWARD = [
    _fwd(
        "batchnorm: batch statistics in eval mode too",
        HEADER
        + """
    mu = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    if train:
        m = x.size // x.shape[1]
        running_mean[:] = momentum * running_mean + (1 - momentum) * mu.ravel()
        running_var[:] = momentum * running_var + (1 - momentum) * var.ravel() * m / (m - 1)
    inv_std = 1 / np.sqrt(var + eps)
    xhat = (x - mu) * inv_std
    out = gamma.reshape(1, -1, 1, 1) * xhat + beta.reshape(1, -1, 1, 1)
    return out, (xhat, gamma, inv_std.ravel(), train)
""",
        core=True,
    ),
    _fwd(
        "batchnorm: running statistics rebound, not updated in place",
        HEADER
        + """
    if train:
        mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        m = x.size // x.shape[1]
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var * m / (m - 1)
    else:
        mu, var = running_mean, running_var
    inv_std = 1 / np.sqrt(var + eps)
    xhat = (x - mu.reshape(1, -1, 1, 1)) * inv_std.reshape(1, -1, 1, 1)
    out = gamma.reshape(1, -1, 1, 1) * xhat + beta.reshape(1, -1, 1, 1)
    return out, (xhat, gamma, inv_std, train)
""",
        core=True,
    ),
    _fwd(
        "batchnorm: running variance from the biased variance",
        HEADER + _BATCHNORM_BIASED_RUNNING_VARIANCE,
    ),
    _fwd(
        "batchnorm: momentum as the weight of the new statistics",
        HEADER
        + variant(
            _BATCHNORM_BIASED_RUNNING_VARIANCE,
            (
                "    if train:\n",
                "    if train:\n        m = x.shape[0] * x.shape[2] * x.shape[3]\n",
            ),
            (
                "running_mean *= momentum\n"
                "        running_mean += (1 - momentum) * mu\n"
                "        running_var *= momentum\n"
                "        running_var += (1 - momentum) * var\n",
                "running_mean[...] = (1 - momentum) * running_mean + momentum * mu\n"
                "        running_var[...] = (1 - momentum) * running_var"
                " + momentum * var * m / (m - 1)\n",
            ),
        ),
    ),
    _fwd(
        "batchnorm: statistics over the batch axis only",
        HEADER
        + """
    if train:
        m = x.shape[0] * x.shape[2] * x.shape[3]
        mu, var = x.mean(axis=0), x.var(axis=0)
        running_mean *= momentum
        running_mean += (1 - momentum) * mu.mean(axis=(1, 2))
        running_var *= momentum
        running_var += (1 - momentum) * var.mean(axis=(1, 2)) * m / (m - 1)
    else:
        mu, var = running_mean[:, None, None], running_var[:, None, None]
    inv_std = 1 / np.sqrt(var + eps)
    xhat = (x - mu) * inv_std
    return gamma[:, None, None] * xhat + beta[:, None, None], (xhat, gamma, inv_std, train)
""",
    ),
    _fwd(
        "batchnorm: eval mode divides by the running variance",
        HEADER + _BATCHNORM_EVAL_MODE_DIVIDES,
    ),
    _fwd(
        "batchnorm: eps added outside the square root",
        HEADER
        + variant(
            _BATCHNORM_EVAL_MODE_DIVIDES,
            ("        inv_std = 1 / np.sqrt(var + eps)\n", ""),
            (
                "mu, inv_std = running_mean, 1 / (running_var + eps)\n",
                ("mu, var = running_mean, running_var\n    inv_std = 1 / (np.sqrt(var) + eps)\n"),
            ),
        ),
    ),
]

BACK_HEADER = """
def batchnorm2d_backward(dout, cache):
    xhat, gamma, inv_std, train = cache
    g = gamma[None, :, None, None]
    s = inv_std[None, :, None, None]
    dbeta = dout.sum(axis=(0, 2, 3))
    dgamma = (dout * xhat).sum(axis=(0, 2, 3))
"""

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# batchnorm backward: dgamma and dbeta averaged
_BATCHNORM_BACKWARD_DGAMMA_DBETA = """
def batchnorm2d_backward(dout, cache):
    xhat, gamma, inv_std, train = cache
    m = dout.shape[0] * dout.shape[2] * dout.shape[3]
    dbeta = dout.mean(axis=(0, 2, 3))
    dgamma = (dout * xhat).mean(axis=(0, 2, 3))
    dxhat = dout * gamma[None, :, None, None]
    s = inv_std[None, :, None, None]
    if not train:
        return dxhat * s, dgamma, dbeta
    dx = s / m * (m * dxhat - dxhat.sum(axis=(0, 2, 3), keepdims=True)
                  - xhat * (dxhat * xhat).sum(axis=(0, 2, 3), keepdims=True))
    return dx, dgamma, dbeta
"""


BACKWARD = [
    _bwd(
        "batchnorm backward: the eval-mode formula in train mode",
        BACK_HEADER
        + """
    return dout * g * s, dgamma, dbeta
""",
        core=True,
    ),
    _bwd(
        "batchnorm backward: only the mean's path",
        BACK_HEADER
        + """
    dxhat = dout * g
    if not train:
        return dxhat * s, dgamma, dbeta
    return (dxhat - dxhat.mean(axis=(0, 2, 3), keepdims=True)) * s, dgamma, dbeta
""",
        core=True,
    ),
    _bwd(
        "batchnorm backward: dgamma and dbeta averaged",
        _BATCHNORM_BACKWARD_DGAMMA_DBETA,
    ),
    _bwd(
        "batchnorm backward: train formula in eval mode",
        BACK_HEADER
        + """
    m = dout.shape[0] * dout.shape[2] * dout.shape[3]
    dxhat = dout * g
    dx = s / m * (m * dxhat - dxhat.sum(axis=(0, 2, 3), keepdims=True)
                  - xhat * (dxhat * xhat).sum(axis=(0, 2, 3), keepdims=True))
    return dx, dgamma, dbeta
""",
    ),
    _bwd(
        "batchnorm backward: gamma forgotten in dx",
        BACK_HEADER
        + """
    m = dout.shape[0] * dout.shape[2] * dout.shape[3]
    if not train:
        return dout * s, dgamma, dbeta
    dx = s / m * (m * dout - dout.sum(axis=(0, 2, 3), keepdims=True)
                  - xhat * (dout * xhat).sum(axis=(0, 2, 3), keepdims=True))
    return dx, dgamma, dbeta
""",
    ),
    _bwd(
        "batchnorm backward: m counted as the batch size",
        BACK_HEADER
        + """
    m = dout.shape[0]
    dxhat = dout * g
    if not train:
        return dxhat * s, dgamma, dbeta
    dx = s / m * (m * dxhat - dxhat.sum(axis=(0, 2, 3), keepdims=True)
                  - xhat * (dxhat * xhat).sum(axis=(0, 2, 3), keepdims=True))
    return dx, dgamma, dbeta
""",
    ),
    _bwd(
        "batchnorm backward: dgamma from dout alone",
        variant(
            _BATCHNORM_BACKWARD_DGAMMA_DBETA,
            ("dout.mean(axis=(0,", "dout.sum(axis=(0,"),
            ("(dout * xhat).mean(axis=(0, 2, 3))", "dout.sum(axis=(0, 2, 3)) * gamma"),
        ),
    ),
]

MISTAKES = FORWARD + BACKWARD
