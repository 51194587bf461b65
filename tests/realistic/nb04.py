"""Realistic learner mistakes in 04-hyperparameters (see ``tests/realistic/__init__.py``).

Each entry is a complete wrong answer cell as a learner writes it. ``core=True`` marks the
mistakes an exercise exists to teach (the cases its prose warns about, and the rows of issue 13):
the public part of the test cell alone must catch them. The multiple-choice answers q1-q3 are
listed only with the formatting mistakes the public check can see; a wrong letter can only be
caught by the hidden check without giving the answer away.
"""

from __future__ import annotations

from realistic import Mistake

# --------------------------------------------------------------------------------------------
# train_val_split
# --------------------------------------------------------------------------------------------

SPLIT_LEAKS = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    idx = rng.permutation(len(y))
    n_val = int(round(val_fraction * len(y)))
    val_idx = idx[:n_val]
    return X[idx], y[idx], X[val_idx], y[val_idx]
"""

SPLIT_TWO_PERMUTATIONS = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    val_idx, train_idx = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        n_val = int(round(val_fraction * len(idx)))
        val_idx.extend(rng.permutation(idx)[:n_val])
        train_idx.extend(rng.permutation(idx)[n_val:])   # a second, different shuffle
    val_idx, train_idx = rng.permutation(val_idx), rng.permutation(train_idx)
    return X[train_idx], y[train_idx], X[val_idx], y[val_idx]
"""

SPLIT_NOT_STRATIFIED = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    idx = rng.permutation(len(y))
    n_val = int(round(val_fraction * len(y)))
    return X[idx[n_val:]], y[idx[n_val:]], X[idx[:n_val]], y[idx[:n_val]]
"""

SPLIT_FLOOR = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    if stratify:
        val = []
        for c in np.unique(y):
            idx = rng.permutation(np.flatnonzero(y == c))
            val.extend(idx[: int(val_fraction * len(idx))])
        val = np.array(val)
    else:
        val = rng.permutation(len(y))[: int(val_fraction * len(y))]
    train = np.setdiff1d(np.arange(len(y)), val)
    train, val = rng.permutation(train), rng.permutation(val)
    return X[train], y[train], X[val], y[val]
"""

SPLIT_LABELS_SHUFFLED_APART = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    val = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        val.extend(idx[: int(round(val_fraction * len(idx)))])
    val = np.array(val)
    train = np.setdiff1d(np.arange(len(y)), val)
    X_train, y_train = X[rng.permutation(train)], y[rng.permutation(train)]
    X_val, y_val = X[rng.permutation(val)], y[rng.permutation(val)]
    return X_train, y_train, X_val, y_val
"""

SPLIT_TRAIN_SORTED = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    if not stratify:
        idx = rng.permutation(len(y))
        n_val = int(round(val_fraction * len(y)))
        return X[idx[n_val:]], y[idx[n_val:]], X[idx[:n_val]], y[idx[:n_val]]
    train, val = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_val = int(round(val_fraction * len(idx)))
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    train, val = np.concatenate(train), np.concatenate(val)   # still grouped by class
    return X[train], y[train], X[val], y[val]
"""

SPLIT_GLOBAL_RNG = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    val = []
    for c in np.unique(y):
        idx = np.random.permutation(np.flatnonzero(y == c))
        val.extend(idx[: int(round(val_fraction * len(idx)))])
    if not stratify:
        val = np.random.permutation(len(y))[: int(round(val_fraction * len(y)))]
    val = np.random.permutation(val)
    train = np.random.permutation(np.setdiff1d(np.arange(len(y)), val))
    return X[train], y[train], X[val], y[val]
"""

SPLIT_LAST_BLOCK = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    if stratify:
        val = []
        for c in np.unique(y):
            idx = rng.permutation(np.flatnonzero(y == c))
            val.extend(idx[: int(round(val_fraction * len(idx)))])
        val = rng.permutation(val)
    else:
        n_val = int(round(val_fraction * len(y)))
        val = np.arange(len(y) - n_val, len(y))          # "the last 20 %"
    train = rng.permutation(np.setdiff1d(np.arange(len(y)), val))
    return X[train], y[train], X[val], y[val]
"""

SPLIT_LABELS_ARE_0_TO_K = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    n_classes = len(np.unique(y))
    val = []
    for c in range(n_classes):                  # assumes the labels are 0..K-1
        idx = rng.permutation(np.flatnonzero(y == c))
        val.extend(idx[: int(round(val_fraction * len(idx)))])
    val = rng.permutation(np.array(val, dtype=int))
    train = rng.permutation(np.setdiff1d(np.arange(len(y)), val))
    return X[train], y[train], X[val], y[val]
"""

# --------------------------------------------------------------------------------------------
# lr_range_test
# --------------------------------------------------------------------------------------------

RANGE_TEST = """
def lr_range_test(model_fn, X, y, lr_min, lr_max, steps, rng, batch_size=32):
    if not 0 < lr_min < lr_max or steps < 2:
        raise ValueError("bad arguments")
    model = model_fn()
    model.train()
    opt = cl.optim.Momentum(model.params, lr=lr_min, beta=0.9)
    lrs = LRS
    order, pos, losses, best = rng.permutation(len(y)), 0, [], np.inf
    with np.errstate(over="ignore", invalid="ignore"):
        for lr in lrs:
            if pos + batch_size > len(y):
                order, pos = rng.permutation(len(y)), 0
            batch = order[pos:pos + batch_size]
            pos += batch_size
            loss, dscores = softmax_cross_entropy(model.forward(X[batch]), y[batch])
            RECORD
            best = min(best, loss)
            STOP
            model.backward(dscores)
            STEP
            AFTER
    return RETURN
"""
RANGE_GOOD = {
    "LRS": "lr_min * (lr_max / lr_min) ** (np.arange(steps) / (steps - 1))",
    "RECORD": "losses.append(float(loss))",
    "STOP": "if not np.isfinite(loss) or loss > 4 * best:\n                break",
    "STEP": "opt.lr = lr\n            opt.step(model.grads)",
    "AFTER": "pass",
    "RETURN": "lrs[:len(losses)], np.array(losses)",
}


def range_test(**changes) -> str:
    source = RANGE_TEST
    for key, value in {**RANGE_GOOD, **changes}.items():
        source = source.replace(key, value)
    return source


# --------------------------------------------------------------------------------------------
# suggest_lr
# --------------------------------------------------------------------------------------------

SUGGEST = """
def suggest_lr(lrs, losses, beta=0.8):
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    n, lowest = len(losses), np.inf
    for i in range(len(losses)):
        lowest = min(lowest, losses[i])
        if CUT:
            n = i
            break
    if n < 2:
        raise ValueError("the loss diverged right away")
    smooth, avg = [], 0.0
    for i in range(n):
        avg = BETA * avg + (1 - BETA) * losses[i]
        smooth.append(SMOOTH)
    smooth = np.array(smooth)
    slope = SLOPE
    stop = DOWN
    return float(lrs[np.argmin(slope[:stop])])
"""
SUGGEST_GOOD = {
    "CUT": "not np.isfinite(losses[i]) or losses[i] > 4 * lowest",
    "BETA": "beta",
    "SMOOTH": "avg / (1 - beta ** (i + 1))",
    "SLOPE": "np.gradient(smooth, np.log10(lrs[:n]))",
    "DOWN": "np.argmin(smooth) + 1",
}


def suggest(**changes) -> str:
    source = SUGGEST
    for key, value in {**SUGGEST_GOOD, **changes}.items():
        source = source.replace(key, value)
    return source


# --------------------------------------------------------------------------------------------
# l2_penalty
# --------------------------------------------------------------------------------------------

L2_WITH_BIASES = """
def l2_penalty(params, reg):
    loss = 0.0
    grads = {}
    for name, p in params.items():
        loss += 0.5 * reg * np.sum(p ** 2)
        grads[name] = reg * p
    return float(loss), grads
"""

L2_NO_HALF = """
def l2_penalty(params, reg):
    loss, grads = 0.0, {}
    for name, p in params.items():
        if p.ndim >= 2:
            loss += reg * np.sum(p * p)
            grads[name] = 2 * reg * p
        else:
            grads[name] = np.zeros_like(p)
    return float(loss), grads
"""

L2_GRAD_TWICE = """
def l2_penalty(params, reg):
    loss, grads = 0.0, {}
    for name, p in params.items():
        if p.ndim >= 2:
            loss += 0.5 * reg * np.sum(p ** 2)
            grads[name] = 2 * reg * p        # d/dw of w**2
        else:
            grads[name] = np.zeros_like(p)
    return float(loss), grads
"""

L2_WEIGHT_KEYS_ONLY = """
def l2_penalty(params, reg):
    weights = {k: p for k, p in params.items() if p.ndim >= 2}
    loss = 0.5 * reg * sum(np.sum(w ** 2) for w in weights.values())
    grads = {k: reg * w for k, w in weights.items()}
    return float(loss), grads
"""

L2_IN_PLACE = """
def l2_penalty(params, reg):
    loss, grads = 0.0, {}
    for name, p in params.items():
        if p.ndim >= 2:
            loss += 0.5 * reg * np.sum(p ** 2)
            p *= reg                             # reuses the array as the gradient
            grads[name] = p
        else:
            grads[name] = np.zeros_like(p)
    return float(loss), grads
"""

L2_CONV_ONLY = """
def l2_penalty(params, reg):
    loss, grads = 0.0, {}
    for name, p in params.items():
        if p.ndim > 2:                           # conv filters only
            loss += 0.5 * reg * np.sum(p ** 2)
            grads[name] = reg * p
        else:
            grads[name] = np.zeros_like(p)
    return float(loss), grads
"""

L2_BY_NAME = """
def l2_penalty(params, reg):
    loss, grads = 0.0, {}
    for name, p in params.items():
        if name.endswith(".w"):
            loss += 0.5 * reg * np.sum(p ** 2)
            grads[name] = reg * p
        else:
            grads[name] = np.zeros_like(p)
    return float(loss), grads
"""

# --------------------------------------------------------------------------------------------
# log_uniform
# --------------------------------------------------------------------------------------------

LOG_UNIFORM_PLAIN = """
def log_uniform(low, high, size, rng):
    if not 0 < low < high:
        raise ValueError("need 0 < low < high")
    return rng.uniform(low, high, size)
"""

LOG_UNIFORM_MIXED_BASES = """
def log_uniform(low, high, size, rng):
    if not 0 < low < high:
        raise ValueError("need 0 < low < high")
    return np.exp(rng.uniform(np.log10(low), np.log10(high), size))
"""

LOG_UNIFORM_NO_SIZE = """
def log_uniform(low, high, size, rng):
    if not 0 < low < high:
        raise ValueError("need 0 < low < high")
    return 10 ** rng.uniform(np.log10(low), np.log10(high))
"""

LOG_UNIFORM_GLOBAL = """
def log_uniform(low, high, size, rng):
    if not 0 < low < high:
        raise ValueError("need 0 < low < high")
    return 10 ** np.random.uniform(np.log10(low), np.log10(high), size)
"""

LOG_UNIFORM_NO_CHECK = """
def log_uniform(low, high, size, rng):
    exponent = rng.uniform(np.log10(low), np.log10(high), size)
    return 10.0 ** exponent
"""

LOG_UNIFORM_LOGSPACE = """
def log_uniform(low, high, size, rng):
    if not 0 < low < high:
        raise ValueError("need 0 < low < high")
    return np.logspace(np.log10(low), np.log10(high), size)
"""

# --------------------------------------------------------------------------------------------
# sample_config
# --------------------------------------------------------------------------------------------

SAMPLE = """
def sample_config(space, rng):
    config = {}
    for name in NAMES:
        kind = space[name][0]
        if kind == "log":
            config[name] = LOG
        elif kind == "uniform":
            config[name] = UNIFORM
        elif kind == "int":
            config[name] = INT
        elif kind == "choice":
            config[name] = CHOICE
        else:
            UNKNOWN
    return config
"""
SAMPLE_GOOD = {
    "NAMES": "space",
    "LOG": "float(log_uniform(space[name][1], space[name][2], None, rng))",
    "UNIFORM": "float(rng.uniform(space[name][1], space[name][2]))",
    "INT": "int(rng.integers(space[name][1], space[name][2] + 1))",
    "CHOICE": "space[name][1][rng.integers(len(space[name][1]))]",
    "UNKNOWN": 'raise ValueError(f"unknown kind {kind}")',
}


def sample(**changes) -> str:
    source = SAMPLE
    for key, value in {**SAMPLE_GOOD, **changes}.items():
        source = source.replace(key, value)
    return source


# --------------------------------------------------------------------------------------------
# grid_configs
# --------------------------------------------------------------------------------------------

GRID_SORTED = """
def grid_configs(grid):
    keys = sorted(grid.keys())
    return [dict(zip(keys, combo)) for combo in itertools.product(*[grid[k] for k in keys])]
"""

GRID_FIRST_FASTEST = """
def grid_configs(grid):
    keys = list(grid)
    configs = []
    for combo in itertools.product(*[grid[k] for k in reversed(keys)]):
        configs.append({k: v for k, v in zip(reversed(keys), combo)})
    return [{k: c[k] for k in keys} for c in configs]
"""

GRID_ZIP = """
def grid_configs(grid):
    keys = list(grid)
    return [dict(zip(keys, values)) for values in zip(*grid.values())]
"""

GRID_SHARED_DICT = """
def grid_configs(grid):
    keys = list(grid)
    configs, config = [], {}
    for combo in itertools.product(*grid.values()):
        for k, v in zip(keys, combo):
            config[k] = v
        configs.append(config)                   # the same dict every time
    return configs
"""

# --------------------------------------------------------------------------------------------
# random_search
# --------------------------------------------------------------------------------------------

SEARCH = """
def random_search(train_fn, space, n_trials, rng):
    results = []
    for trial in range(TRIALS):
        config = CONFIG
        score = SCORE
        results.append((config, score))
    RETURN
"""
SEARCH_GOOD = {
    "TRIALS": "n_trials",
    "CONFIG": "sample_config(space, rng)",
    "SCORE": "float(train_fn(config))",
    "RETURN": "return sorted(results, key=lambda r: KEY, reverse=True)",
    "KEY": "-np.inf if np.isnan(r[1]) else r[1]",
}


def search(**changes) -> str:
    source = SEARCH
    for key, value in {**SEARCH_GOOD, **changes}.items():
        source = source.replace(key, value)
    return source


SEARCH_SAME_CONFIG = """
def random_search(train_fn, space, n_trials, rng):
    config = sample_config(space, rng)
    results = [(config, float(train_fn(config))) for _ in range(n_trials)]
    return sorted(results, key=lambda r: -np.inf if np.isnan(r[1]) else r[1], reverse=True)
"""

SEARCH_ARGSORT = """
def random_search(train_fn, space, n_trials, rng):
    configs = [sample_config(space, rng) for _ in range(n_trials)]
    scores = [float(train_fn(c)) for c in configs]
    keys = np.nan_to_num(np.array(scores), nan=-np.inf)
    order = np.argsort(keys)[::-1]              # best first
    return [(configs[i], scores[i]) for i in order]
"""

SEARCH_TRAINS_TWICE = """
def random_search(train_fn, space, n_trials, rng):
    configs = [sample_config(space, rng) for _ in range(n_trials)]
    configs.sort(key=lambda c: np.nan_to_num(train_fn(c), nan=-np.inf), reverse=True)
    return [(c, train_fn(c)) for c in configs]
"""

# --------------------------------------------------------------------------------------------
# EarlyStopping
# --------------------------------------------------------------------------------------------

EARLY = """
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        if patience < 1 or min_delta < 0:
            raise ValueError("patience must be >= 1 and min_delta >= 0")
        PATIENCE = patience
        self.min_delta = min_delta
        self.best = np.inf
        self.best_epoch = None
        self.epoch = FIRST
        self.wait = 0

    def update(self, val_loss):
        self.epoch += 1
        if IMPROVED:
            self.best = val_loss
            self.best_epoch = self.epoch
            RESET
        else:
            self.wait += 1
        return STOP
"""
EARLY_GOOD = {
    "PATIENCE": "self.patience",
    "FIRST": "-1",
    "IMPROVED": "val_loss < self.best - self.min_delta",
    "RESET": "self.wait = 0",
    "STOP": "self.wait >= PAT",
    "PAT": "self.patience",
}


def early(**changes) -> str:
    source = EARLY
    for key, value in {**EARLY_GOOD, **changes}.items():
        source = source.replace(key, value)
    return source


EARLY_FROM_START = """
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        if patience < 1 or min_delta < 0:
            raise ValueError("bad arguments")
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.epochs = np.inf, None, 0

    def update(self, val_loss):
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch = val_loss, self.epochs
        self.epochs += 1
        return self.epochs > self.patience and val_loss >= self.best
"""

EARLY_VS_PREVIOUS = """
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        if patience < 1 or min_delta < 0:
            raise ValueError("bad arguments")
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch = np.inf, None
        self.last, self.epoch, self.bad = np.inf, -1, 0

    def update(self, val_loss):
        self.epoch += 1
        if val_loss < self.last - self.min_delta:    # better than last epoch
            self.bad = 0
        else:
            self.bad += 1
        if val_loss < self.best:
            self.best, self.best_epoch = val_loss, self.epoch
        self.last = val_loss
        return self.bad >= self.patience
"""

EARLY_RETURNS_NONE = """
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        if patience < 1 or min_delta < 0:
            raise ValueError("bad arguments")
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.epoch, self.bad = np.inf, None, -1, 0

    def update(self, val_loss):
        self.epoch += 1
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch, self.bad = val_loss, self.epoch, 0
        else:
            self.bad += 1
            if self.bad >= self.patience:
                return True
"""

# --------------------------------------------------------------------------------------------
# the catalogue
# --------------------------------------------------------------------------------------------

MISTAKES = [
    # train_val_split
    Mistake(
        "test_train_val_split",
        "split trains on every sample",
        {"train_val_split": SPLIT_LEAKS},
        core=True,
    ),
    Mistake(
        "test_train_val_split",
        "train and val from two different shuffles",
        {"train_val_split": SPLIT_TWO_PERMUTATIONS},
        core=True,
    ),
    Mistake(
        "test_train_val_split",
        "stratify ignored",
        {"train_val_split": SPLIT_NOT_STRATIFIED},
        core=True,
    ),
    Mistake(
        "test_train_val_split",
        "int() rounds the class share down",
        {"train_val_split": SPLIT_FLOOR},
    ),
    Mistake(
        "test_train_val_split",
        "X and y shuffled apart",
        {"train_val_split": SPLIT_LABELS_SHUFFLED_APART},
        core=True,
    ),
    Mistake(
        "test_train_val_split",
        "training part left sorted by class",
        {"train_val_split": SPLIT_TRAIN_SORTED},
    ),
    Mistake(
        "test_train_val_split",
        "global np.random instead of rng",
        {"train_val_split": SPLIT_GLOBAL_RNG},
    ),
    Mistake(
        "test_train_val_split",
        "unstratified split takes the last block",
        {"train_val_split": SPLIT_LAST_BLOCK},
    ),
    Mistake(
        "test_train_val_split",
        "labels assumed to be 0..K-1",
        {"train_val_split": SPLIT_LABELS_ARE_0_TO_K},
    ),
    # lr_range_test
    Mistake(
        "test_lr_range_test",
        "linear instead of geometric lrs",
        {"lr_range_test": range_test(LRS="np.linspace(lr_min, lr_max, steps)")},
        core=True,
    ),
    Mistake(
        "test_lr_range_test",
        "exponent i / steps misses lr_max",
        {
            "lr_range_test": range_test(
                LRS="lr_min * (lr_max / lr_min) ** (np.arange(steps) / steps)"
            )
        },
    ),
    Mistake(
        "test_lr_range_test",
        "loss recorded after the update",
        {
            "lr_range_test": range_test(
                RECORD="pass",
                AFTER="losses.append(float(softmax_cross_entropy(model.forward(X[batch]), "
                "y[batch])[0]))",
                STOP="pass",
            )
        },
        core=True,
    ),  # fmt: skip
    Mistake(
        "test_lr_range_test",
        "never stops at divergence",
        {"lr_range_test": range_test(STOP="pass")},
        core=True,
    ),
    Mistake(
        "test_lr_range_test",
        "stops against the first loss",
        {
            "lr_range_test": range_test(
                STOP="if not np.isfinite(loss) or loss > 4 * losses[0]:\n                break"
            )
        },
    ),
    Mistake(
        "test_lr_range_test",
        "breaks before recording the diverged loss",
        {
            "lr_range_test": range_test(
                RECORD="pass",
                STOP="if not np.isfinite(loss) or loss > 4 * best:\n                break\n"
                "            losses.append(float(loss))",
            )
        },
    ),  # fmt: skip
    Mistake(
        "test_lr_range_test",
        "plain SGD instead of momentum",
        {
            "lr_range_test": range_test(
                STEP="for k in model.params:\n"
                "                model.params[k] -= lr * model.grads[k]"
            )
        },
        core=True,
    ),  # fmt: skip
    Mistake(
        "test_lr_range_test",
        "a new optimiser at every step",
        {
            "lr_range_test": range_test(
                STEP="opt = cl.optim.Momentum(model.params, lr=lr, beta=0.9)\n"
                "            opt.step(model.grads)"
            )
        },
    ),
    Mistake(
        "test_lr_range_test",
        "fresh model from model_fn every step",
        {"lr_range_test": range_test(AFTER="model_fn()")},
    ),
    Mistake(
        "test_lr_range_test",
        "all lrs returned after an early stop",
        {"lr_range_test": range_test(RETURN="lrs, np.array(losses)")},
    ),
    Mistake(
        "test_lr_range_test",
        "mini-batches in file order",
        {"lr_range_test": range_test().replace("rng.permutation(len(y))", "np.arange(len(y))")},
    ),
    # suggest_lr
    Mistake(
        "test_suggest_lr",
        "lr of the lowest loss",
        {"suggest_lr": suggest(SLOPE="smooth", DOWN="n")},
        core=True,
    ),
    Mistake("test_suggest_lr", "no smoothing", {"suggest_lr": suggest(SMOOTH="losses[i]")}),
    Mistake(
        "test_suggest_lr",
        "moving average not bias-corrected",
        {"suggest_lr": suggest(SMOOTH="avg")},
    ),
    Mistake(
        "test_suggest_lr",
        "slope against lr, not log10(lr)",
        {"suggest_lr": suggest(SLOPE="np.gradient(smooth, lrs[:n])")},
    ),
    Mistake(
        "test_suggest_lr",
        "candidates after the minimum",
        {"suggest_lr": suggest(DOWN="n")},
        core=True,
    ),
    Mistake(
        "test_suggest_lr",
        "no cut at divergence",
        {"suggest_lr": suggest(CUT="not np.isfinite(losses[i])")},
        core=True,
    ),
    Mistake(
        "test_suggest_lr",
        "beta fixed at 0.8",
        {"suggest_lr": suggest(BETA="0.8", SMOOTH="avg / (1 - 0.8 ** (i + 1))")},
    ),
    Mistake(
        "test_suggest_lr",
        "forward differences with np.diff",
        {"suggest_lr": suggest(SLOPE="np.diff(smooth) / np.diff(np.log10(lrs[:n]))")},
    ),
    # l2_penalty
    Mistake("test_l2_penalty", "biases penalised", {"l2_penalty": L2_WITH_BIASES}, core=True),
    Mistake("test_l2_penalty", "the 0.5 missing", {"l2_penalty": L2_NO_HALF}, core=True),
    Mistake("test_l2_penalty", "gradient 2 reg w", {"l2_penalty": L2_GRAD_TWICE}),
    Mistake("test_l2_penalty", "grads only for the weights", {"l2_penalty": L2_WEIGHT_KEYS_ONLY}),
    Mistake("test_l2_penalty", "params changed in place", {"l2_penalty": L2_IN_PLACE}),
    Mistake("test_l2_penalty", "only 4-D conv weights penalised", {"l2_penalty": L2_CONV_ONLY}),
    Mistake("test_l2_penalty", "weights chosen by name", {"l2_penalty": L2_BY_NAME}),
    # log_uniform
    Mistake("test_log_uniform", "plain uniform", {"log_uniform": LOG_UNIFORM_PLAIN}, core=True),
    Mistake("test_log_uniform", "log10 range but exp", {"log_uniform": LOG_UNIFORM_MIXED_BASES}),
    Mistake("test_log_uniform", "size ignored", {"log_uniform": LOG_UNIFORM_NO_SIZE}),
    Mistake("test_log_uniform", "global np.random", {"log_uniform": LOG_UNIFORM_GLOBAL}),
    Mistake("test_log_uniform", "no ValueError", {"log_uniform": LOG_UNIFORM_NO_CHECK}),
    Mistake(
        "test_log_uniform",
        "np.logspace instead of random draws",
        {"log_uniform": LOG_UNIFORM_LOGSPACE},
    ),
    # sample_config
    Mistake(
        "test_sample_config",
        "rng.choice(options)",
        {"sample_config": sample(CHOICE="rng.choice(space[name][1])")},
        core=True,
    ),
    Mistake(
        "test_sample_config",
        "int spec excludes hi",
        {"sample_config": sample(INT="int(rng.integers(space[name][1], space[name][2]))")},
        core=True,
    ),
    Mistake(
        "test_sample_config",
        "log spec sampled uniformly",
        {"sample_config": sample(LOG="float(rng.uniform(space[name][1], space[name][2]))")},
        core=True,
    ),
    Mistake("test_sample_config", "keys sorted", {"sample_config": sample(NAMES="sorted(space)")}),
    Mistake(
        "test_sample_config",
        "uniform ignores lo",
        {"sample_config": sample(UNIFORM="float(rng.random() * space[name][2])")},
    ),
    Mistake(
        "test_sample_config",
        "last option never drawn",
        {
            "sample_config": sample(
                CHOICE="space[name][1][rng.integers(0, len(space[name][1]) - 1)]"
            )
        },
    ),
    Mistake(
        "test_sample_config", "unknown kind skipped", {"sample_config": sample(UNKNOWN="continue")}
    ),
    Mistake(
        "test_sample_config",
        "rng.choice(options).item()",
        {"sample_config": sample(CHOICE="rng.choice(space[name][1]).item()")},
    ),
    # grid_configs
    Mistake("test_grid_configs", "keys sorted", {"grid_configs": GRID_SORTED}, core=True),
    Mistake("test_grid_configs", "first key changes fastest", {"grid_configs": GRID_FIRST_FASTEST}),
    Mistake("test_grid_configs", "zip instead of product", {"grid_configs": GRID_ZIP}),
    Mistake("test_grid_configs", "one dict reused", {"grid_configs": GRID_SHARED_DICT}),
    # random_search
    Mistake(
        "test_random_search",
        "results not sorted",
        {"random_search": search(RETURN="return results")},
        core=True,
    ),
    Mistake(
        "test_random_search",
        "sorted worst first",
        {"random_search": search(RETURN="return sorted(results, key=lambda r: r[1])")},
        core=True,
    ),
    Mistake(
        "test_random_search",
        "NaN sorted naively",
        {
            "random_search": search(
                RETURN="return sorted(results, key=lambda r: r[1], reverse=True)"
            )
        },
        core=True,
    ),
    Mistake(
        "test_random_search",
        "train_fn called twice",
        {"random_search": SEARCH_TRAINS_TWICE},
        core=True,
    ),
    Mistake(
        "test_random_search", "one config for every trial", {"random_search": SEARCH_SAME_CONFIG}
    ),
    Mistake("test_random_search", "reversed argsort swaps ties", {"random_search": SEARCH_ARGSORT}),
    Mistake(
        "test_random_search",
        "one trial too many",
        {
            "random_search": search(
                TRIALS="n_trials + 1",
                RETURN="return sorted(results, key=lambda r: KEY, reverse=True)[:n_trials]",
            )
        },
    ),
    # EarlyStopping
    Mistake(
        "test_EarlyStopping",
        "count not reset on improvement",
        {"EarlyStopping": early(RESET="pass")},
        core=True,
    ),
    Mistake(
        "test_EarlyStopping",
        "patience counted from the first epoch",
        {"EarlyStopping": EARLY_FROM_START},
        core=True,
    ),
    Mistake(
        "test_EarlyStopping",
        "stops one epoch late",
        {"EarlyStopping": early(STOP="self.wait > PAT")},
        core=True,
    ),
    Mistake(
        "test_EarlyStopping",
        "stops one epoch early",
        {"EarlyStopping": early(STOP="self.wait >= PAT - 1")},
    ),
    Mistake(
        "test_EarlyStopping",
        "min_delta ignored",
        {"EarlyStopping": early(IMPROVED="val_loss < self.best")},
        core=True,
    ),
    Mistake(
        "test_EarlyStopping",
        "equal loss counts as improvement",
        {"EarlyStopping": early(IMPROVED="val_loss <= self.best - self.min_delta")},
    ),
    Mistake("test_EarlyStopping", "epochs counted from 1", {"EarlyStopping": early(FIRST="0")}),
    Mistake(
        "test_EarlyStopping",
        "patience stored as _patience",
        {"EarlyStopping": early(PATIENCE="self._patience", PAT="self._patience")},
        core=True,
    ),
    Mistake(
        "test_EarlyStopping",
        "compared with the previous epoch",
        {"EarlyStopping": EARLY_VS_PREVIOUS},
    ),
    Mistake("test_EarlyStopping", "update returns None", {"EarlyStopping": EARLY_RETURNS_NONE}),
    # the diagnoses: formatting mistakes (a wrong letter is only for the hidden check)
    Mistake("test_q1", "q1 answered 'C)'", {"q1": 'q1 = "C)"\n'}),
    Mistake("test_q2", "q2 answered 'over-fitting'", {"q2": 'q2 = "over-fitting"\n'}),
    Mistake("test_q3", "q3 answered with the option text", {"q3": 'q3 = "B. dropout"\n'}),
]
