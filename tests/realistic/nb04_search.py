"""Realistic learner mistakes in 04-hyperparameters: the search exercises (see __init__).

Each entry is a complete wrong answer cell as a learner writes it; ``core=True`` marks the
mistakes an exercise exists to teach. The rest of 04's catalogue sits in ``nb04*.py`` beside it.
"""

from __future__ import annotations

from realistic import Mistake, variant

# --------------------------------------------------------------------------------------------
# log_uniform
# --------------------------------------------------------------------------------------------

_ANSWER = """
def log_uniform(low, high, size, rng):
    if not 0 < low < high:
        raise ValueError("need 0 < low < high")
    return rng.uniform(low, high, size)
"""


LOG_UNIFORM_PLAIN = _ANSWER

LOG_UNIFORM_MIXED_BASES = variant(
    _ANSWER,
    ("rng.uniform(low, high, size)", "np.exp(rng.uniform(np.log10(low), np.log10(high), size))"),
)

LOG_UNIFORM_NO_SIZE = variant(
    _ANSWER, ("rng.uniform(low, high, size)", "10 ** rng.uniform(np.log10(low), np.log10(high))")
)

LOG_UNIFORM_GLOBAL = variant(
    _ANSWER, ("rng.uniform(low, high,", "10 ** np.random.uniform(np.log10(low), np.log10(high),")
)

LOG_UNIFORM_NO_CHECK = """
def log_uniform(low, high, size, rng):
    exponent = rng.uniform(np.log10(low), np.log10(high), size)
    return 10.0 ** exponent
"""

LOG_UNIFORM_LOGSPACE = variant(
    _ANSWER, ("rng.uniform(low, high,", "np.logspace(np.log10(low), np.log10(high),")
)

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
# the catalogue
# --------------------------------------------------------------------------------------------

MISTAKES = [
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
]
