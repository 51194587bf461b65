"""Mistakes the hidden tests of 04-hyperparameters claim to catch: the search exercises.

Each case replaces one answer cell of ``solutions/04-hyperparameters/hyperparameters.py`` with a
buggy version, runs the test cell in process and checks (``nbtools.assert_fails``) that it
fails with a message naming the mistake. The library-only cases check that an answer handing the
work to scikit-learn earns nothing and is told why. The other topics of 04 sit in the
``test_mistakes_04_*.py`` modules beside this one.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import assert_fails, assert_forbidden, assert_passes

NB = "04-hyperparameters"
fails = partial(assert_fails, NB)
forbidden = partial(assert_forbidden, NB)

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
# Each hint names a mistake only when that mistake happened: the nearest wrong variants of every
# named mistake get their own hint (or a neutral one), never the neighbour's.
# ------------------------------------------------------------------------------------------


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


def test_log_spec_drawn_without_log_uniform():
    # right distribution, but not through log_uniform: the test's stand-in never gave it
    source = SAMPLE_CONFIG.replace(
        "LOG", "float(10 ** rng.uniform(np.log10(spec[1]), np.log10(spec[2])))"
    ).replace("INT", GOOD_INT)
    fails("test_sample_config", {"sample_config": source}, "by calling log_uniform", public=True)
