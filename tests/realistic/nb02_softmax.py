"""Realistic mistakes for 02-layers, section 8 (softmax cross-entropy), as whole answer cells.

``core=True``: the mistake the exercise exists to teach (the case its prose warns about; one row
of issue 13's table: softmax without the max shift).
"""

from realistic import Mistake

T = "test_"


def _m(name, label, source, core=False, test=None):
    return Mistake(test or T + name, label, {name: source}, core=core)


# --------------------------------------------------------------------------------------------
# softmax cross-entropy
# --------------------------------------------------------------------------------------------
SOFTMAX = """
def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.mean(log_probs[np.arange(N), y])
    probs = np.exp(log_probs)
    probs[np.arange(N), y] -= 1
    dscores = probs / N
    return float(loss), dscores
"""


def _softmax(label, old, new, core=False):
    assert old in SOFTMAX, old
    return _m("softmax_cross_entropy", label, SOFTMAX.replace(old, new), core=core)


SOFTMAX_MISTAKES = [
    _m("softmax_cross_entropy", "no max shift", """
        def softmax_cross_entropy(scores, y):
            N = scores.shape[0]
            e = np.exp(scores)
            probs = e / e.sum(axis=1, keepdims=True)
            loss = -np.log(probs[range(N), y]).mean()
            d = probs.copy()
            d[range(N), y] -= 1
            return float(loss), d / N
        """, core=True),
    _softmax("no max shift (log-probabilities)",
             "shifted = scores - np.max(scores, axis=1, keepdims=True)", "shifted = scores",
             core=True),
    _softmax("shift by the batch maximum", "np.max(scores, axis=1, keepdims=True)",
             "np.max(scores)", core=True),
    _softmax("shift by the column maximum", "np.max(scores, axis=1, keepdims=True)",
             "np.max(scores, axis=0, keepdims=True)"),
    _m("softmax_cross_entropy", "log of an underflowed probability", """
        def softmax_cross_entropy(scores, y):
            N = scores.shape[0]
            s = scores - scores.max(axis=1, keepdims=True)
            p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
            loss = -np.mean(np.log(p[np.arange(N), y]))
            dscores = p.copy()
            dscores[np.arange(N), y] -= 1
            return float(loss), dscores / N
        """, core=True),
    _softmax("loss summed", "loss = -np.mean(log_probs[np.arange(N), y])",
             "loss = -np.sum(log_probs[np.arange(N), y])"),
    _softmax("dscores not divided by N", "dscores = probs / N", "dscores = probs"),
    _softmax("one-hot subtracted in whole columns", "probs[np.arange(N), y] -= 1",
             "probs[:, y] -= 1"),
]  # fmt: skip

MISTAKES = SOFTMAX_MISTAKES
