"""Assertion helpers for the graded test cells.

Every helper raises ``AssertionError`` with a message a learner can act on: what was expected,
what came, where the worst element is, and an optional hint naming the likely mistake::

    conv_forward_naive output: shape (2, 3, 5, 5) != expected (2, 3, 4, 4).
      hint: check how stride enters the output-size formula

Test cells import this module (``import cnnlab.testing as T``). Inside a Jupyter kernel the import
also sends anything that would reach stderr during a test cell (warnings, stray prints) to stdout,
because nbgrader scores a cell with stderr output as failed even when its checks pass.

``forbid_calls`` makes sure an exercise that asks for your own loops does not hand the work to a
library: it records every call into the named functions or modules while it is active and fails
afterwards, naming the call.
"""

from __future__ import annotations

import contextlib
import re

import numpy as np

from cnnlab import _jupyter
from cnnlab.calls import (  # the call checks of test cells live with the call matcher
    ForbiddenCallError,
    forbid_calls,
    in_place,
    reference_helpers,
)

__all__ = [
    "assert_shape",
    "assert_allclose",
    "assert_equal",
    "assert_true",
    "assert_rel_error",
    "assert_finite",
    "assert_no_loops",
    "raises",
    "forbid_calls",
    "reference_helpers",
    "in_place",
    "ForbiddenCallError",
    "CONVOLUTION_LIBRARIES",
]

# What an exercise that asks for your own convolution loops may not call (01 and 02).
CONVOLUTION_LIBRARIES = (
    "scipy.signal",
    "scipy.ndimage",
    "numpy.convolve",
    "numpy.correlate",
    "cnnlab.layers",
)
# The autograder reads the open blocks through cnnlab.calls (active_forbid_contexts, ...).


def _fail(name: str, problem: str, hint: str | None) -> None:
    message = f"{name}: {problem}"
    if hint:
        message += f"\n  hint: {hint}"
    raise AssertionError(message)


def _fmt(value) -> str:
    """A value as a learner reads it: ``3.0``, not ``np.float64(3.0)``."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _diagnosed(actual, expected, mistakes, hint, *, rtol, atol):
    """The hint of the first known mistake that ``actual`` reproduces, else ``hint``.

    Only consulted when ``actual`` differs from ``expected``; a shape tuple matches by shape, an
    array (or number) by value within the tolerances.
    """
    if not mistakes:
        return hint
    try:
        got = np.asarray(actual)
        exp = np.asarray(expected)
        if got.dtype.kind not in "biuf" or (
            got.shape == exp.shape and np.allclose(got, exp, rtol=rtol, atol=atol, equal_nan=True)
        ):
            return hint
        for mistake, wrong in mistakes:
            if isinstance(wrong, tuple) and all(isinstance(d, (int, np.integer)) for d in wrong):
                if got.shape == tuple(int(d) for d in wrong):
                    return mistake
                continue
            wrong = np.asarray(wrong)
            if got.shape == wrong.shape and np.allclose(got, wrong, rtol=rtol, atol=atol):
                return mistake
    except (TypeError, ValueError):
        pass
    return hint


def _to_array(actual, name: str, hint: str | None) -> np.ndarray:
    """Turn ``actual`` into a numeric ndarray or fail with a message saying what it was."""
    if actual is None:
        _fail(name, "got None; did the function forget to `return` its result?", hint)
    if isinstance(actual, (str, bytes, dict, set)) or callable(actual):
        _fail(name, f"expected a NumPy array or number, got {type(actual).__name__}", hint)
    try:
        arr = np.asarray(actual)
    except Exception as exc:  # ragged lists and exotic objects
        _fail(name, f"could not be read as an array ({exc})", hint)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        _fail(name, f"expected numbers, got an array of dtype {arr.dtype}", hint)
    return arr


def assert_shape(actual, expected: tuple, *, name: str = "output", hint: str | None = None):
    """Check that ``actual`` is an array of shape ``expected``.

    Parameters
    ----------
    actual : array_like
        What the learner's function returned.
    expected : tuple of int
        The shape it should have.
    name : str
        How the message refers to ``actual``.
    hint : str, optional
        A sentence naming the likely mistake, shown under the message.
    """
    arr = _to_array(actual, name, hint)
    expected = tuple(int(d) for d in expected)
    if arr.shape != expected:
        _fail(name, f"shape {arr.shape} != expected {expected}", hint)


def assert_allclose(
    actual,
    expected,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    name: str = "output",
    hint: str | None = None,
    mistakes=(),
):
    """Check shape, then values, of ``actual`` against ``expected`` within tolerances.

    Elementwise test: ``|actual - expected| <= atol + rtol * |expected|`` (as ``np.allclose``).
    The message gives the number of wrong elements, the worst one with its index, and the largest
    absolute and relative errors.

    Parameters
    ----------
    actual, expected : array_like
        Learner's result and reference; same shape (a scalar compares as shape ``()``).
    rtol, atol : float
        Relative and absolute tolerance.
    name : str
        How the message refers to ``actual``.
    hint : str, optional
        A sentence naming the likely mistake.
    mistakes : sequence of (str, array_like or tuple)
        Known mistakes as ``(hint, what the mistake returns)``, where the second item is an
        array or, for mistakes that only change the shape, a shape tuple. When the check fails
        and ``actual`` reproduces one of them, that mistake's hint replaces ``hint``.

    Examples
    --------
    >>> assert_allclose(out, ref, name="conv out", mistakes=[
    ...     ("bias missing: add b[f] to every output of filter f", ref - b[:, None, None]),
    ...     ("stride ignored", (2, 3, 7, 7)),
    ... ])  # doctest: +SKIP
    """
    hint = _diagnosed(actual, expected, mistakes, hint, rtol=rtol, atol=atol)
    exp = np.asarray(expected, dtype=np.float64)
    arr = _to_array(actual, name, hint)
    if arr.shape != exp.shape:
        _fail(name, f"shape {arr.shape} != expected {exp.shape}", hint)
    got = arr.astype(np.float64)
    bad_nan = np.isnan(got) & ~np.isnan(exp)
    if bad_nan.any():
        idx = tuple(int(i) for i in np.argwhere(bad_nan)[0])
        _fail(name, f"NaN at index {idx} where {_fmt(exp[idx])} was expected (overflow?)", hint)
    missing_nan = np.isnan(exp) & ~np.isnan(got)
    if missing_nan.any():  # NaN equals NaN where the reference is NaN, as in np.testing
        idx = tuple(int(i) for i in np.argwhere(missing_nan)[0])
        _fail(name, f"got {_fmt(got[idx])} at index {idx} where NaN was expected", hint)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.asarray(np.abs(got - exp))
        tol = atol + rtol * np.where(np.isfinite(exp), np.abs(exp), 0.0)
    same = (np.isnan(got) & np.isnan(exp)) | (
        np.isinf(got) & np.isinf(exp) & (np.sign(got) == np.sign(exp))
    )
    err[same] = 0.0
    err[np.isnan(err)] = np.inf  # inf against a number, or inf against -inf
    excess = np.asarray(err - tol)
    if (excess <= 0).all():
        return
    n_bad = int((excess > 0).sum())
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape) if excess.ndim else ()
    worst = tuple(int(i) for i in worst)
    with np.errstate(invalid="ignore", over="ignore"):
        rel = err / np.maximum(np.abs(exp), 1e-12)
    where = f" at index {worst}" if worst else ""
    lines = [
        f"{n_bad} of {exp.size} values differ (rtol={rtol:g}, atol={atol:g}).",
        f"  worst{where}: got {_fmt(got[worst])}, expected {_fmt(exp[worst])}",
        f"  max abs error {float(err.max()):.3g}, max rel error {float(rel.max()):.3g}",
    ]
    _fail(name, "\n".join(lines), hint)


def assert_equal(actual, expected, *, name: str = "output", hint: str | None = None, mistakes=()):
    """Check exact equality for numbers, strings, tuples and integer or boolean arrays.

    Floats should use :func:`assert_allclose` instead. ``actual`` must be a real value: objects
    that claim equality with everything are rejected because they are compared as plain data.
    ``mistakes`` works as in :func:`assert_allclose` (values compared exactly).
    """
    hint = _diagnosed(actual, expected, mistakes, hint, rtol=0.0, atol=0.0)
    if isinstance(expected, (str, bytes, bool, type(None))):
        if type(actual) is not type(expected) or actual != expected:
            _fail(name, f"got {actual!r}, expected {expected!r}", hint)
        return
    if isinstance(expected, (int, np.integer)):
        if isinstance(actual, (bool, np.bool_)) or not isinstance(actual, (int, np.integer)):
            _fail(name, f"expected an integer {_fmt(expected)}, got {type(actual).__name__}", hint)
        if int(actual) != int(expected):
            _fail(name, f"got {int(actual)}, expected {int(expected)}", hint)
        return
    if isinstance(expected, (tuple, list)) and not isinstance(actual, np.ndarray):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            _fail(name, f"got {actual!r}, expected {expected!r}", hint)
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_equal(a, e, name=f"{name}[{i}]", hint=hint)
        return
    exp = np.asarray(expected)
    arr = _to_array(actual, name, hint)
    if arr.shape != exp.shape:
        _fail(name, f"shape {arr.shape} != expected {exp.shape}", hint)
    diff = arr != exp
    if np.any(diff):
        idx = tuple(int(i) for i in np.argwhere(diff)[0]) if diff.ndim else ()
        where = f" at index {idx}" if idx else ""
        _fail(
            name,
            f"{int(np.sum(diff))} of {exp.size} values differ; first{where}: "
            f"got {_fmt(arr[idx])}, expected {_fmt(exp[idx])}",
            hint,
        )


def assert_true(condition, message: str, *, hint: str | None = None):
    """Fail with ``message`` (and the hint) unless ``condition`` is exactly truthy."""
    if isinstance(condition, np.ndarray):
        condition = bool(condition.all())
    if condition is not True and not (isinstance(condition, np.bool_) and bool(condition)):
        if not (isinstance(condition, (int, float)) and condition):
            raise AssertionError(message + (f"\n  hint: {hint}" if hint else ""))


def assert_no_loops(name: str, *, rule: str, hint: str | None = None):
    """Fail unless the learner's ``def name`` has no Python loop over the data.

    Reads the function's definition in the code that ran (:mod:`cnnlab.sources`: the notebook's
    cells, or under the grader the submission's cells), not the function object, so it works the
    same in a notebook and in the grader. ``rule`` is the exercise's rule as its text states it
    ("one matrix product and no loops over pixels"); it starts the failure message.
    """
    from cnnlab import sources

    node = sources.definition(name)
    if node is None:
        problem = f"{rule}; this check reads your code, and no `def {name}(...)` ran"
        _fail(name, problem, hint or f"define {name} with def in its answer cell")
    loops = sources.data_loops(node)
    if loops:
        _fail(name, f"{rule}, but your function loops over the data ({'; '.join(loops)})", hint)


def assert_rel_error(
    actual, expected, *, tol: float = 1e-7, name: str = "gradient", hint: str | None = None
):
    """Check ``max |a - e| / max(1e-8, |a| + |e|) <= tol``, the course's relative error.

    Use it for gradients, with the course's one rule (see :mod:`cnnlab.gradcheck`): in float64,
    below 1e-7 the gradient is right (a correct layer gives about 1e-8 or less); above 1e-7 look
    for a bug.
    """
    exp = np.asarray(expected, dtype=np.float64)
    arr = _to_array(actual, name, hint)
    if arr.shape != exp.shape:
        _fail(name, f"shape {arr.shape} != expected {exp.shape}", hint)
    got = arr.astype(np.float64)
    if not np.isfinite(got).all():
        _fail(name, "contains NaN or inf", hint)
    rel = np.abs(got - exp) / np.maximum(1e-8, np.abs(got) + np.abs(exp))
    worst = float(rel.max()) if rel.size else 0.0
    if worst > tol:
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(rel)), rel.shape))
        _fail(
            name,
            f"relative error {worst:.2e} > {tol:.0e}; worst at index {idx}: "
            f"got {_fmt(got[idx])}, expected {_fmt(exp[idx])}",
            hint,
        )


def assert_finite(actual, *, name: str = "output", hint: str | None = None):
    """Check that every value is finite (no NaN, no inf)."""
    arr = _to_array(actual, name, hint).astype(np.float64)
    if not np.isfinite(arr).all():
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0]) if arr.ndim else ()
        _fail(name, f"value {_fmt(arr[idx])} at index {idx} is not finite", hint)


@contextlib.contextmanager
def raises(exc_type: type[BaseException], *, match: str | None = None, hint: str | None = None):
    """Expect the block to raise ``exc_type`` (optionally with a message matching ``match``).

    Examples
    --------
    >>> with raises(ValueError, hint="stride must be at least 1"):
    ...     conv_output_size(5, 3, stride=0)  # doctest: +SKIP
    """
    name = exc_type.__name__
    try:
        yield
    except exc_type as exc:
        if match is not None and not re.search(match, str(exc)):
            _fail(name, f"message {str(exc)!r} does not mention {match!r}", hint)
        return
    except AssertionError:
        raise
    except Exception as exc:
        _fail(name, f"expected {name}, but {type(exc).__name__} was raised: {exc}", hint)
    _fail(name, f"expected {name} to be raised, but nothing was raised", hint)


_jupyter.install_ipython_hooks()  # in Jupyter: stderr goes to stdout while a test cell runs
