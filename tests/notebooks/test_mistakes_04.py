"""Every mistake the hidden tests of 04-hyperparameters claim to catch, as a buggy answer.

Each case replaces one answer cell of ``solutions/04-hyperparameters/hyperparameters.py`` with a
buggy version, runs the test cell in process and checks (``nbtools.assert_fails``) that it
fails with a message naming the mistake. The library-only cases check that an answer handing the
work to scikit-learn earns nothing and is told why.
That the solution passes every test cell is checked by ``test_every_notebook.py``.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import assert_fails, assert_forbidden, assert_passes, graded_ids

NB = "04-hyperparameters"
ANSWERS, TEST_CELLS = graded_ids(NB)
fails = partial(assert_fails, NB)
forbidden = partial(assert_forbidden, NB)


# ------------------------------------------------------------------------------------------
# train_val_split
# ------------------------------------------------------------------------------------------


def test_split_that_leaks_train_into_val():
    fails(
        "test_train_val_split",
        {
            "train_val_split": """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction")
    X, y = np.asarray(X), np.asarray(y)
    idx = rng.permutation(len(y))
    n_val = int(round(val_fraction * len(y)))
    return X[idx], y[idx], X[idx[:n_val]], y[idx[:n_val]]   # trains on everything
"""
        },
        "leaks samples between train and validation",
    )


def test_split_with_replacement_duplicates_samples():
    fails(
        "test_train_val_split",
        {
            "train_val_split": """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction")
    X, y = np.asarray(X), np.asarray(y)
    parts = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        parts.append(rng.choice(idx, size=int(round(val_fraction * len(idx)))))  # replace=True
    val_idx = np.concatenate(parts)
    train_idx = rng.permutation(np.setdiff1d(np.arange(len(y)), val_idx))
    return X[train_idx], y[train_idx], X[val_idx], y[val_idx]
"""
        },
        "without replacement",
    )


def test_split_that_ignores_stratify():
    fails(
        "test_train_val_split",
        {
            "train_val_split": """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction")
    X, y = np.asarray(X), np.asarray(y)
    idx = rng.permutation(len(y))
    n_val = int(round(val_fraction * len(y)))
    return X[idx[n_val:]], y[idx[n_val:]], X[idx[:n_val]], y[idx[:n_val]]
"""
        },
        "stratify=True must keep each class's proportion",
    )


def test_split_without_shuffling():
    fails(
        "test_train_val_split",
        {
            "train_val_split": """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction")
    X, y = np.asarray(X), np.asarray(y)
    if stratify:
        val = np.concatenate([np.flatnonzero(y == c)[: int(round(val_fraction * np.sum(y == c)))]
                              for c in np.unique(y)])
    else:
        val = np.arange(len(y) - int(round(val_fraction * len(y))), len(y))  # the last block
    train = np.setdiff1d(np.arange(len(y)), val)
    return X[train], y[train], X[val], y[val]
"""
        },
        "shuffle",
    )


def test_split_with_a_fixed_seed_inside():
    fails(
        "test_train_val_split",
        {
            "train_val_split": """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction")
    rng = np.random.default_rng(0)          # ignores the rng passed in
    X, y = np.asarray(X), np.asarray(y)
    parts = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        parts.append(idx[: int(round(val_fraction * len(idx)))])
    val = rng.permutation(np.concatenate(parts))
    train = rng.permutation(np.setdiff1d(np.arange(len(y)), val))
    return X[train], y[train], X[val], y[val]
"""
        },
        "rng you are given",
    )


def test_split_library_only():
    forbidden(
        "test_train_val_split",
        "train_val_split",
        """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    from sklearn.model_selection import train_test_split
    X_tr, X_va, y_tr, y_va = train_test_split(
        X, y, test_size=val_fraction, random_state=int(rng.integers(2**31)),
        stratify=y if stratify else None)
    return X_tr, y_tr, X_va, y_va
""",
    )


# ------------------------------------------------------------------------------------------
# log_uniform, sample_config, grid_configs, random_search
# ------------------------------------------------------------------------------------------


def test_uniform_instead_of_log_uniform():
    fails(
        "test_log_uniform",
        {
            "log_uniform": """
def log_uniform(low, high, size, rng):
    if not 0 < low < high:
        raise ValueError("range")
    return rng.uniform(low, high, size)
"""
        },
        "uniform instead of log-uniform",
    )


def test_log_uniform_without_value_error():
    fails(
        "test_log_uniform",
        {
            "log_uniform": """
def log_uniform(low, high, size, rng):
    return 10.0 ** rng.uniform(np.log10(low), np.log10(high), size)
"""
        },
        "0 < low < high",
    )


def test_log_uniform_with_natural_log_is_fine():
    assert_passes(
        NB,
        "test_log_uniform",
        overrides={
            "log_uniform": """
def log_uniform(low, high, size, rng):
    if not 0 < low < high:
        raise ValueError("range")
    return np.exp(rng.uniform(np.log(low), np.log(high), size))
"""
        },
    )


SAMPLE_CONFIG = """
def sample_config(space, rng):
    config = {}
    for name, spec in space.items():
        kind = spec[0]
        if kind == "log":
            config[name] = LOG
        elif kind == "uniform":
            config[name] = float(rng.uniform(spec[1], spec[2]))
        elif kind == "int":
            config[name] = INT
        elif kind == "choice":
            config[name] = spec[1][int(rng.integers(len(spec[1])))]
        else:
            raise ValueError(kind)
    return config
"""
GOOD_LOG = "float(log_uniform(spec[1], spec[2], None, rng))"
GOOD_INT = "int(rng.integers(spec[1], spec[2] + 1))"


def test_int_spec_exclusive_of_hi():
    source = SAMPLE_CONFIG.replace("LOG", GOOD_LOG).replace(
        "INT", "int(rng.integers(spec[1], spec[2]))"
    )
    fails("test_sample_config", {"sample_config": source}, "inclusive/exclusive", public=True)


def test_int_spec_exclusive_of_lo():
    source = SAMPLE_CONFIG.replace("LOG", GOOD_LOG).replace(
        "INT", "int(rng.integers(spec[1] + 1, spec[2] + 1))"
    )
    fails("test_sample_config", {"sample_config": source}, "expected [4, 5, 6]", public=True)


def test_log_spec_sampled_uniformly():
    source = SAMPLE_CONFIG.replace("LOG", "float(rng.uniform(spec[1], spec[2]))").replace(
        "INT", GOOD_INT
    )
    fails(
        "test_sample_config",
        {"sample_config": source},
        "uniform instead of log-uniform",
        public=True,
    )


def test_sample_config_library_only():
    forbidden(
        "test_sample_config",
        "sample_config",
        """
def sample_config(space, rng):
    from scipy import stats
    from sklearn.model_selection import ParameterSampler
    dists = {}
    for name, spec in space.items():
        if spec[0] == "log":
            dists[name] = stats.loguniform(spec[1], spec[2])
        elif spec[0] == "uniform":
            dists[name] = stats.uniform(spec[1], spec[2] - spec[1])
        elif spec[0] == "int":
            dists[name] = list(range(spec[1], spec[2] + 1))
        else:
            dists[name] = list(spec[1])
    drawn = next(iter(ParameterSampler(dists, 1, random_state=int(rng.integers(2**31)))))
    return {k: drawn[k] for k in space}
""",
    )


def test_grid_with_sorted_keys():
    fails(
        "test_grid_configs",
        {
            "grid_configs": """
def grid_configs(grid):
    names = sorted(grid)
    return [dict(zip(names, v)) for v in itertools.product(*(grid[n] for n in names))]
"""
        },
        "do not sort them",
        public=True,
    )


def test_grid_with_first_key_fastest():
    fails(
        "test_grid_configs",
        {
            "grid_configs": """
def grid_configs(grid):
    names = list(grid)[::-1]
    combos = [dict(zip(names, v)) for v in itertools.product(*(grid[n] for n in names))]
    return [{k: c[k] for k in grid} for c in combos]
"""
        },
        "here the FIRST key changes fastest",
        public=True,
    )


def test_grid_library_only():
    forbidden(
        "test_grid_configs",
        "grid_configs",
        """
def grid_configs(grid):
    from sklearn.model_selection import ParameterGrid
    combos = [{k: p[k] for k in grid} for p in ParameterGrid(grid)]
    keys = list(grid)
    index = lambda c: tuple(grid[k].index(c[k]) for k in keys)
    return sorted(combos, key=index)
""",
    )


RANDOM_SEARCH = """
def random_search(train_fn, space, n_trials, rng):
    results = []
    for _ in range(n_trials):
        config = sample_config(space, rng)
        results.append((config, float(train_fn(config))))
    RETURN
"""


def test_random_search_unsorted():
    source = RANDOM_SEARCH.replace("RETURN", "return results")
    fails(
        "test_random_search", {"random_search": source}, "in the order of the trials", public=True
    )


def test_random_search_worst_first():
    source = RANDOM_SEARCH.replace("RETURN", "return sorted(results, key=lambda r: r[1])")
    message = fails("test_random_search", {"random_search": source}, "worst first", public=True)
    assert "order of the trials" not in message


def test_random_search_calls_train_fn_twice():
    fails(
        "test_random_search",
        {
            "random_search": """
def random_search(train_fn, space, n_trials, rng):
    configs = [sample_config(space, rng) for _ in range(n_trials)]
    ranked = sorted(configs, key=train_fn, reverse=True)    # trains every config ...
    return [(c, float(train_fn(c))) for c in ranked]        # ... and then again
"""
        },
        "exactly once per trial",
        public=True,
    )


def test_random_search_one_trial_too_many():
    fails(
        "test_random_search",
        {
            "random_search": """
def random_search(train_fn, space, n_trials, rng):
    results = []
    for _ in range(n_trials + 1):
        config = sample_config(space, rng)
        results.append((config, float(train_fn(config))))
    return sorted(results, key=lambda r: r[1], reverse=True)[:n_trials]
"""
        },
        "exactly one config per trial",
        public=True,
    )


def test_random_search_same_config_every_trial():
    fails(
        "test_random_search",
        {
            "random_search": """
def random_search(train_fn, space, n_trials, rng):
    config = sample_config(space, rng)
    results = [(dict(config), float(train_fn(config))) for _ in range(n_trials)]
    return sorted(results, key=lambda r: r[1], reverse=True)
"""
        },
        "exactly one config per trial",
        public=True,
    )


def test_random_search_nan_sorted_naively():
    source = RANDOM_SEARCH.replace(
        "RETURN", "return sorted(results, key=lambda r: r[1], reverse=True)"
    )
    message = fails("test_random_search", {"random_search": source}, "NaN", public=True)
    assert "worst first" not in message and "order of the trials" not in message


# ------------------------------------------------------------------------------------------
# EarlyStopping
# ------------------------------------------------------------------------------------------

EARLY = """
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        if patience < 1 or min_delta < 0:
            raise ValueError("bad arguments")
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.epoch, self.bad = float("inf"), None, -1, 0

    def update(self, val_loss):
        self.epoch += 1
        if IMPROVED:
            self.best, self.best_epoch = val_loss, self.epoch
            RESET
        else:
            self.bad += 1
        return self.bad >= self.patience
"""


def early(improved="val_loss < self.best - self.min_delta", reset="self.bad = 0"):
    return EARLY.replace("IMPROVED", improved).replace("RESET", reset)


def test_early_stopping_solution_template_passes():
    assert_passes(NB, "test_EarlyStopping", overrides={"EarlyStopping": early()})


def test_patience_counted_from_the_first_epoch():
    fails(
        "test_EarlyStopping",
        {
            "EarlyStopping": """
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        if patience < 1 or min_delta < 0:
            raise ValueError("bad arguments")
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.epoch = float("inf"), None, -1

    def update(self, val_loss):
        self.epoch += 1
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch = val_loss, self.epoch
        return self.epoch + 1 > self.patience      # epochs since the START, not since the best
"""
        },
        "from the first epoch rather than from the best one",
        public=True,
    )


def test_patience_counter_never_reset():
    message = fails(
        "test_EarlyStopping", {"EarlyStopping": early(reset="pass")}, "not reset", public=True
    )
    assert "too early" not in message and "too late" not in message


def test_early_stopping_ignores_min_delta():
    fails(
        "test_EarlyStopping",
        {"EarlyStopping": early(improved="val_loss < self.best")},
        "not below best - min_delta = 1.0 - 0.05 = 0.95",
        public=True,
    )


def test_early_stopping_equal_loss_counts_as_improvement():
    source = early(improved="val_loss <= self.best - self.min_delta")
    fails("test_EarlyStopping", {"EarlyStopping": source}, "use <, not <=", public=True)


# ------------------------------------------------------------------------------------------
# l2_penalty
# ------------------------------------------------------------------------------------------


def test_l2_penalty_includes_biases():
    fails(
        "test_l2_penalty",
        {
            "l2_penalty": """
def l2_penalty(params, reg):
    loss = sum(0.5 * reg * float(np.sum(p ** 2)) for p in params.values())
    return loss, {k: reg * p for k, p in params.items()}
"""
        },
        "the penalty includes 1-D arrays",
        public=True,
    )


def test_l2_penalty_misses_one_half():
    message = fails(
        "test_l2_penalty",
        {
            "l2_penalty": """
def l2_penalty(params, reg):
    loss = sum(reg * float(np.sum(p ** 2)) for p in params.values() if p.ndim >= 2)
    grads = {k: (2 * reg * p if p.ndim >= 2 else np.zeros_like(p)) for k, p in params.items()}
    return loss, grads
"""
        },
        "the 0.5 is missing",
        public=True,
    )
    assert "1-D" not in message


def test_l2_penalty_misses_one_half_in_the_loss_only():
    # the hidden test knows the gradient reg * w; a loss without the 0.5 is named
    fails(
        "test_l2_penalty",
        {
            "l2_penalty": """
def l2_penalty(params, reg):
    loss = sum(reg * float(np.sum(p ** 2)) for p in params.values() if p.ndim >= 2)
    grads = {k: (reg * p if p.ndim >= 2 else np.zeros_like(p)) for k, p in params.items()}
    return loss, grads
"""
        },
        "0.5 is missing",
        public=True,
    )


def test_l2_penalty_changes_params_in_place():
    fails(
        "test_l2_penalty",
        {
            "l2_penalty": """
def l2_penalty(params, reg):
    loss, grads = 0.0, {}
    for k, p in params.items():
        if p.ndim >= 2:
            loss += 0.5 * reg * float(np.sum(p ** 2))
            grads[k] = reg * p
        else:
            grads[k] = np.zeros_like(p)
            p[...] = 0.0                      # "biases are not regularised" gone wrong
    return loss, grads
"""
        },
        "must not change the parameters",
        public=True,
    )


# ------------------------------------------------------------------------------------------
# lr_range_test and suggest_lr
# ------------------------------------------------------------------------------------------

RANGE_TEST = """
def lr_range_test(model_fn, X, y, lr_min, lr_max, steps, rng, batch_size=32):
    if not 0 < lr_min < lr_max or steps < 2:
        raise ValueError("bad arguments")
    model = model_fn()
    model.train()
    opt = cl.optim.Momentum(model.params, lr=lr_min, beta=0.9)
    lrs = LRS
    order, pos, losses, lowest = rng.permutation(len(y)), 0, [], np.inf
    with np.errstate(all="ignore"):
        for lr in lrs:
            if pos + batch_size > len(y):
                order, pos = rng.permutation(len(y)), 0
            idx = order[pos : pos + batch_size]
            pos += batch_size
            loss, ds = softmax_cross_entropy(model.forward(X[idx]), y[idx])
            RECORD
            lowest = min(lowest, float(loss))
            STOP
            model.backward(ds)
            STEP
            AFTER
    return lrs[: len(losses)], np.array(losses)
"""
GOOD = {
    "LRS": "lr_min * (lr_max / lr_min) ** (np.arange(steps) / (steps - 1))",
    "RECORD": "losses.append(float(loss))",
    "STOP": "if not np.isfinite(loss) or loss > 4 * lowest: break",
    "STEP": "opt.lr = lr; opt.step(model.grads)",
    "AFTER": "pass",
}


def fill(template: str, good: dict[str, str], changes: dict[str, str]) -> str:
    """``template`` with each placeholder replaced by its buggy change or its good value."""
    for key, value in {**good, **changes}.items():
        template = template.replace(key, value)
    return template


def range_test(**changes):
    return fill(RANGE_TEST, GOOD, changes)


def test_range_test_template_passes():
    assert_passes(NB, "test_lr_range_test", overrides={"lr_range_test": range_test()})


def test_range_test_linear_spacing():
    source = range_test(LRS="np.linspace(lr_min, lr_max, steps)")
    fails("test_lr_range_test", {"lr_range_test": source}, "GEOMETRICALLY", public=True)


def test_range_test_misses_lr_max():
    source = range_test(LRS="lr_min * (lr_max / lr_min) ** (np.arange(steps) / steps)")
    fails("test_lr_range_test", {"lr_range_test": source}, "lr_min * (lr_max / lr_min)")


def test_range_test_records_loss_after_update():
    source = range_test(
        RECORD="pass",
        AFTER="losses.append(float(softmax_cross_entropy(model.forward(X[idx]), y[idx])[0]))",
        STOP="pass",
    )
    message = fails("test_lr_range_test", {"lr_range_test": source}, "before", public=True)
    assert "velocity" not in message


def test_range_test_never_stops():
    source = range_test(STOP="pass")
    fails(
        "test_lr_range_test",
        {"lr_range_test": source},
        "stop right after recording a loss",
        public=True,
    )


def test_range_test_stops_against_the_first_loss():
    source = range_test(STOP="if not np.isfinite(loss) or loss > 4 * losses[0]: break")
    fails("test_lr_range_test", {"lr_range_test": source}, "stop")


def test_range_test_plain_sgd():
    step = "[p.__isub__(lr * model.grads[k]) for k, p in model.params.items()]"
    fails("test_lr_range_test", {"lr_range_test": range_test(STEP=step)}, "plain SGD", public=True)


def test_range_test_new_optimiser_every_step():
    step = "opt = cl.optim.Momentum(model.params, lr=lr); opt.step(model.grads)"
    fails(
        "test_lr_range_test",
        {"lr_range_test": range_test(STEP=step)},
        "create ONE cl.optim.Momentum",
        public=True,
    )


def test_range_test_calls_model_fn_every_step():
    source = range_test(RECORD="losses.append(float(loss)); model_fn()")
    fails("test_lr_range_test", {"lr_range_test": source}, "model_fn", public=True)


def test_range_test_ignores_rng():
    source = range_test().replace("rng.permutation", "np.random.default_rng(0).permutation")
    fails("test_lr_range_test", {"lr_range_test": source}, "rng", public=True)


SUGGEST = """
def suggest_lr(lrs, losses, beta=0.8):
    lrs, losses = np.asarray(lrs, float), np.asarray(losses, float)
    n, lowest = len(losses), np.inf
    for i, loss in enumerate(losses):
        lowest = min(lowest, loss)
        if CUT:
            n = i
            break
    if n < 2:
        raise ValueError("too short")
    smooth, avg = np.empty(n), 0.0
    for i in range(n):
        avg = BETA * avg + (1 - BETA) * losses[i]
        smooth[i] = SMOOTH
    slope = np.gradient(smooth, X_AXIS)
    down = DOWN
    return float(lrs[int(np.argmin(slope[:down]))])
"""
GOOD_SUGGEST = {
    "CUT": "not np.isfinite(loss) or loss > 4 * lowest",
    "BETA": "beta",
    "SMOOTH": "avg / (1 - beta ** (i + 1))",
    "X_AXIS": "np.log10(lrs[:n])",
    "DOWN": "int(np.argmin(smooth)) + 1",
}


def suggest(**changes):
    return fill(SUGGEST, GOOD_SUGGEST, changes)


def test_suggest_template_passes():
    assert_passes(NB, "test_suggest_lr", overrides={"suggest_lr": suggest()})


def test_suggest_lowest_loss():
    fails(
        "test_suggest_lr",
        {
            "suggest_lr": """
def suggest_lr(lrs, losses, beta=0.8):
    losses = np.where(np.isfinite(losses), losses, np.inf)
    if len(losses) < 3 or losses[1] > 4 * losses[0]:
        raise ValueError("too short")
    return float(np.asarray(lrs)[int(np.argmin(losses))])
"""
        },
        "lr of the lowest loss",
        public=True,
    )


def test_suggest_without_smoothing():
    fails("test_suggest_lr", {"suggest_lr": suggest(SMOOTH="losses[i]")}, "smooth")


def test_suggest_without_bias_correction():
    fails("test_suggest_lr", {"suggest_lr": suggest(SMOOTH="avg")}, "bias-corrected", public=True)


def test_suggest_without_divergence_cut():
    fails(
        "test_suggest_lr",
        {"suggest_lr": suggest(CUT="not np.isfinite(loss)")},
        "> 4 x the lowest",
        public=True,
    )


def test_suggest_slope_against_lr():
    fails("test_suggest_lr", {"suggest_lr": suggest(X_AXIS="lrs[:n]")}, "log10(lr)", public=True)


def test_suggest_after_the_minimum():
    message = fails(
        "test_suggest_lr", {"suggest_lr": suggest(DOWN="n")}, "LOWEST smoothed loss", public=True
    )
    assert "first learning rate" not in message and "np.diff" not in message


def test_suggest_fixed_beta():
    # smoothing with 0.8 but bias-correcting with the beta given: the second worked example
    # (beta=0) shows the first learning rate, and the hint names both causes of that
    fails(
        "test_suggest_lr",
        {"suggest_lr": suggest(BETA="0.8")},
        "ignored the beta argument",
        public=True,
    )
    # smoothing and correcting with a fixed 0.8 passes the examples; the hidden test names it
    source = suggest(BETA="0.8", SMOOTH="avg / (1 - 0.8 ** (i + 1))")
    fails("test_suggest_lr", {"suggest_lr": source}, "beta argument", hidden=True)


# ------------------------------------------------------------------------------------------
# the three diagnoses
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, wrong, needle",
    [("q1", "B", "under-fits"), ("q2", "B", "over-fits"), ("q3", "A", "dropout")],
)
def test_wrong_diagnosis_explains_the_right_reading(question, wrong, needle):
    fails(f"test_{question}", {question: f'{question} = "{wrong}"\n'}, needle)


@pytest.mark.parametrize("question", ["q1", "q2", "q3"])
def test_diagnosis_must_be_a_letter(question):
    fails(
        f"test_{question}", {question: f"{question} = 'overfitting'\n"}, "one of 'A', 'B', 'C', 'D'"
    )


def test_diagnosis_accepts_lower_case():
    assert_passes(NB, "test_q2", overrides={"q2": 'q2 = "a"\n'})


# ------------------------------------------------------------------------------------------
# Each hint names a mistake only when that mistake happened: the nearest wrong variants of every
# named mistake get their own hint (or a neutral one), never the neighbour's.
# ------------------------------------------------------------------------------------------

SPLIT = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction")
    X, y = np.asarray(X), np.asarray(y)
    if stratify:
        val = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:COUNT(np.sum(y == c))]
                              for c in np.unique(y)])
    else:
        val = rng.permutation(len(y))[:COUNT(len(y))]
    train = rng.permutation(np.setdiff1d(np.arange(len(y)), val))
    val = rng.permutation(val)
    return X[train], y[train], X[val], y[val]
"""


@pytest.mark.parametrize(
    "count, own, others",
    [
        ("int(val_fraction * N)", "rounded down", ["rounded up"]),
        ("int(np.ceil(val_fraction * N))", "rounded up", ["rounded down"]),
    ],
)
def test_split_rounding_hints(count, own, others):
    source = SPLIT.replace("COUNT(", "(lambda N: " + count + ")(")
    message = fails("test_train_val_split", {"train_val_split": source}, own, public=True)
    assert not any(o in message for o in others), message


def test_unstratified_split_is_not_told_about_rounding():
    source = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction")
    idx = rng.permutation(len(y))
    n_val = int(round(val_fraction * len(y)))
    return X[idx[n_val:]], y[idx[n_val:]], X[idx[:n_val]], y[idx[:n_val]]
"""
    message = fails(
        "test_train_val_split",
        {"train_val_split": source},
        "keep each class's proportion",
        public=True,
    )
    assert "rounded" not in message


EARLY_VARIANTS = {
    "no reset": early(reset="pass"),
    "from start": """
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        if patience < 1 or min_delta < 0:
            raise ValueError("bad arguments")
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.epoch = float("inf"), None, -1

    def update(self, val_loss):
        self.epoch += 1
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch = val_loss, self.epoch
        return self.epoch + 1 > self.patience
""",
    "late": EARLY.replace("IMPROVED", "val_loss < self.best - self.min_delta")
    .replace("RESET", "self.bad = 0")
    .replace("self.bad >= self.patience", "self.bad > self.patience"),
    "early": EARLY.replace("IMPROVED", "val_loss < self.best - self.min_delta")
    .replace("RESET", "self.bad = 0")
    .replace("self.bad >= self.patience", "self.bad >= self.patience - 1"),
    "best never updated": EARLY.replace("IMPROVED", "val_loss < self.best - self.min_delta")
    .replace("RESET", "self.bad = 0")
    .replace("self.best, self.best_epoch = val_loss, self.epoch", "self.best_epoch = self.epoch"),
}
EARLY_HINTS = {
    "no reset": "was not reset",
    "from start": "counted from the first epoch",
    "late": "one epoch too late",
    "early": "one epoch too early",
    "best never updated": "never stops",
}


@pytest.mark.parametrize("variant", list(EARLY_VARIANTS))
def test_early_stopping_hint_names_only_its_own_mistake(variant):
    message = fails(
        "test_EarlyStopping",
        {"EarlyStopping": EARLY_VARIANTS[variant]},
        EARLY_HINTS[variant],
        public=True,
    )
    others = [hint for name, hint in EARLY_HINTS.items() if name != variant]
    assert not any(o in message for o in others), message
    if variant == "late":  # issue 13: the late stopper was told it "stops too early"
        assert "early" not in message.replace("EarlyStopping", "")


def test_early_stopping_patience_attribute_is_checked():
    source = (
        early()
        .replace(
            "self.patience, self.min_delta = patience, min_delta",
            "self._patience, self.min_delta = patience, min_delta",
        )
        .replace("self.bad >= self.patience", "self.bad >= self._patience")
    )
    fails("test_EarlyStopping", {"EarlyStopping": source}, "attribute patience", public=True)


def test_early_stopping_best_epoch_none_before_update():
    source = early().replace('float("inf"), None, -1, 0', 'float("inf"), 0, -1, 0')
    assert source != early()
    fails(
        "test_EarlyStopping",
        {"EarlyStopping": source},
        "best_epoch before the first update",
        public=True,
    )


SGD_STEP = "[p.__isub__(lr * model.grads[k]) for k, p in model.params.items()]"
LOSS_AFTER = "losses.append(float(softmax_cross_entropy(model.forward(X[idx]), y[idx])[0]))"


@pytest.mark.parametrize(
    "name, changes, own, others",
    [
        ("plain SGD", {"STEP": SGD_STEP}, "plain SGD", ["AFTER each update"]),
        (
            "after update",
            {"RECORD": "pass", "STOP": "pass", "AFTER": LOSS_AFTER},
            "before",
            ["velocity"],
        ),
        (
            "linear",
            {"LRS": "np.linspace(lr_min, lr_max, steps)"},
            "GEOMETRICALLY",
            ["velocity", "AFTER"],
        ),
    ],
)
def test_range_test_hints_name_only_their_own_mistake(name, changes, own, others):
    message = fails(
        "test_lr_range_test", {"lr_range_test": range_test(**changes)}, own, public=True
    )
    assert not any(o in message for o in others), message


@pytest.mark.parametrize(
    "changes, own, others",
    [
        (
            {"DOWN": "n"},
            "after the lowest loss",
            ["first learning rate", "np.diff", "lr of the lowest"],
        ),
        ({"X_AXIS": "lrs[:n]"}, "first learning rate", ["after the lowest loss", "np.diff"]),
        ({"SMOOTH": "avg"}, "not bias-corrected", ["lr of the lowest", "first learning rate"]),
    ],
)
def test_suggest_hints_name_only_their_own_mistake(changes, own, others):
    message = fails("test_suggest_lr", {"suggest_lr": suggest(**changes)}, own, public=True)
    assert not any(o in message for o in others), message


def test_suggest_forward_differences():
    source = suggest(X_AXIS="np.log10(lrs[:n])").replace(
        "slope = np.gradient(smooth, np.log10(lrs[:n]))", "slope = np.diff(smooth)"
    )
    message = fails("test_suggest_lr", {"suggest_lr": source}, "np.diff", public=True)
    assert "first learning rate" not in message


@pytest.mark.parametrize(
    "choice, own, others",
    [
        ("rng.choice(spec[1])", "NumPy scalar", []),
        ("np.array(spec[1])[int(rng.integers(len(spec[1])))]", "NumPy scalar", []),
        ("str(spec[1][int(rng.integers(len(spec[1])))])", "one of the options itself", ["NumPy"]),
        (
            "spec[1][int(rng.integers(len(spec[1]) - 1))]",
            "every option must be possible",
            ["NumPy"],
        ),
    ],
)
def test_sample_config_choice_hints(choice, own, others):
    source = (
        SAMPLE_CONFIG.replace("LOG", GOOD_LOG)
        .replace("INT", GOOD_INT)
        .replace("spec[1][int(rng.integers(len(spec[1])))]", choice)
    )
    message = fails("test_sample_config", {"sample_config": source}, own, public=True)
    assert not any(o in message for o in others), message


def test_random_search_swapped_ties():
    source = RANDOM_SEARCH.replace(
        "RETURN",
        "order = np.argsort(np.nan_to_num([r[1] for r in results], nan=-np.inf))[::-1]\n"
        "    return [results[i] for i in order]",
    )
    message = fails("test_random_search", {"random_search": source}, "swapped places", public=True)
    assert "NaN" not in message and "worst first" not in message


def test_grid_with_one_shared_dict():
    source = """
def grid_configs(grid):
    configs, config = [], {}
    for combo in itertools.product(*grid.values()):
        config.update(zip(grid, combo))
        configs.append(config)
    return configs
"""
    message = fails(
        "test_grid_configs", {"grid_configs": source}, "all four configs are equal", public=True
    )
    assert "FIRST key" not in message


# ------------------------------------------------------------------------------------------
# Each exercise is graded on its own: a bug in log_uniform costs only log_uniform, a bug in
# sample_config only sample_config (T.reference_helpers in the dependent tests).
# ------------------------------------------------------------------------------------------

UNIFORM_LOG = """
def log_uniform(low, high, size, rng):
    if not 0 < low < high:
        raise ValueError("range")
    return rng.uniform(low, high, size)
"""
CHOICE_SAMPLE_CONFIG = (
    SAMPLE_CONFIG.replace("LOG", GOOD_LOG)
    .replace("INT", GOOD_INT)
    .replace("spec[1][int(rng.integers(len(spec[1])))]", "rng.choice(spec[1])")
)
NO_INT_SAMPLE_CONFIG = SAMPLE_CONFIG.replace("LOG", GOOD_LOG).replace(
    "INT", "int(rng.integers(spec[1], spec[2]))"
)


def test_buggy_log_uniform_costs_only_log_uniform():
    overrides = {"log_uniform": UNIFORM_LOG}
    fails("test_log_uniform", overrides, "uniform instead of log-uniform", public=True)
    assert_passes(NB, "test_sample_config", overrides)


@pytest.mark.parametrize("buggy", [CHOICE_SAMPLE_CONFIG, NO_INT_SAMPLE_CONFIG])
def test_buggy_sample_config_costs_only_sample_config(buggy):
    overrides = {"sample_config": buggy}
    fails("test_sample_config", overrides)
    assert_passes(NB, "test_random_search", overrides)


def test_buggy_log_uniform_and_sample_config_cost_only_themselves():
    overrides = {"log_uniform": UNIFORM_LOG, "sample_config": CHOICE_SAMPLE_CONFIG}
    assert_passes(NB, "test_random_search", overrides)
