"""cnnlab.testing: the helpers graded cells use fail loudly and helpfully, and only then."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import cnnlab as cl
import cnnlab.calls as calls
import cnnlab.testing as T
from cnnlab import _jupyter


def _message(fn, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_assert_shape_names_both_shapes_and_the_hint():
    msg = _message(
        T.assert_shape, np.zeros((2, 3, 5, 5)), (2, 3, 4, 4), name="conv out", hint="stride"
    )
    assert "conv out" in msg and "(2, 3, 5, 5)" in msg and "(2, 3, 4, 4)" in msg
    assert "hint: stride" in msg
    T.assert_shape(np.zeros((2, 3)), (2, 3))


def test_assert_allclose_reports_worst_element_and_errors():
    expected = np.arange(12.0).reshape(3, 4)
    got = expected.copy()
    got[1, 2] += 0.5
    got[2, 3] += 2.0
    msg = _message(T.assert_allclose, got, expected, name="out")
    assert "2 of 12 values differ" in msg
    assert "(2, 3)" in msg and "max abs error 2" in msg
    T.assert_allclose(expected + 1e-9, expected)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (None, "forget to `return`"),
        ("abc", "got str"),
        (np.array([object(), object()]), "dtype object"),
        ([[1, 2], [3]], "could not be read"),
    ],
)
def test_assert_allclose_rejects_what_is_not_numbers(value, words):
    assert words in _message(T.assert_allclose, value, [1.0, 2.0])


def test_assert_allclose_flags_nan_and_accepts_matching_infinities():
    assert "NaN" in _message(T.assert_allclose, [np.nan, 1.0], [0.0, 1.0])
    T.assert_allclose([np.inf, 1.0], [np.inf, 1.0])


class _EqualsEverything:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


def test_assert_equal_is_not_fooled_by_objects_equal_to_everything():
    assert "expected an integer" in _message(T.assert_equal, _EqualsEverything(), 3)
    assert "got" in _message(T.assert_equal, _EqualsEverything(), "B")
    assert "expected numbers" in _message(
        T.assert_equal, np.array([_EqualsEverything()]), np.array([1])
    )


def test_assert_equal_checks_types_and_values():
    T.assert_equal(3, 3)
    T.assert_equal(np.int64(3), 3)
    T.assert_equal((2, 3), (2, 3))
    assert "got 4, expected 3" in _message(T.assert_equal, 4, 3)
    assert "expected an integer" in _message(T.assert_equal, 3.0, 3)
    assert "expected an integer" in _message(T.assert_equal, True, 1)
    assert "first at index (1,)" in _message(T.assert_equal, np.array([1, 5]), np.array([1, 2]))


def test_assert_rel_error_uses_the_course_definition():
    T.assert_rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    msg = _message(T.assert_rel_error, np.array([1.0, 2.0]), np.array([1.0, 3.0]), tol=1e-7)
    assert "relative error 2.00e-01" in msg and "(1,)" in msg


def test_assert_true_requires_truth():
    T.assert_true(np.array([True, True]), "fine")
    assert "named failure" in _message(T.assert_true, False, "named failure", hint="h")
    assert "x" in _message(T.assert_true, np.array([True, False]), "x")


def test_raises_accepts_the_right_exception_only():
    with T.raises(ValueError, match="stride"):
        raise ValueError("stride must be >= 1")
    with pytest.raises(AssertionError, match="TypeError was raised"):
        with T.raises(ValueError):
            raise TypeError("wrong kind")
    with pytest.raises(AssertionError, match="nothing was raised"):
        with T.raises(ValueError):
            pass
    with pytest.raises(AssertionError, match="does not mention"):
        with T.raises(ValueError, match="pad"):
            raise ValueError("stride")


def test_forbid_calls_catches_direct_and_aliased_library_calls():
    import scipy.signal
    from scipy.signal import correlate2d as sneaky

    img, k = np.arange(25.0).reshape(5, 5), np.ones((3, 3))
    with pytest.raises(T.ForbiddenCallError, match="scipy.signal"):
        with T.forbid_calls("scipy.signal", exercise="correlate2d"):
            scipy.signal.correlate2d(img, k, mode="valid")
    with pytest.raises(T.ForbiddenCallError, match="correlate2d must be your own"):
        with T.forbid_calls("scipy.signal.correlate2d", exercise="correlate2d"):
            sneaky(img, k, mode="valid")
    assert sys.getprofile() is None and calls.active_forbid_contexts() == []


def test_forbid_calls_lets_own_loops_through():
    def own(img, k):
        out = np.zeros((3, 3))
        for i in range(3):
            for j in range(3):
                out[i, j] = np.sum(img[i : i + 3, j : j + 3] * k)
        return out

    with T.forbid_calls("scipy.signal", "numpy.convolve", exercise="x") as ctx:
        assert calls.active_forbid_contexts() == [ctx]
        own(np.ones((5, 5)), np.ones((3, 3)))
    assert ctx.hits == []


def test_forbid_calls_own_target_matches_only_the_notebooks_function():
    """``__main__.<name>`` catches the notebook's own function, not a namesake elsewhere."""
    notebook, library = {"__name__": "__main__"}, {"__name__": "somelib.module"}
    for ns in (notebook, library):
        exec("def slow(x):\n    return x\ndef fast(x):\n    return slow(x)", ns)
    with T.forbid_calls("__main__.slow", exercise="library fast") as ctx:
        library["fast"](1)
    assert ctx.hits == []
    with pytest.raises(T.ForbiddenCallError) as info:
        with T.forbid_calls("numpy.convolve", "__main__.slow", exercise="fast", hint="Use a."):
            notebook["fast"](1)
    message = str(info.value)
    assert "fast must be a new implementation, but it called your slow" in message
    assert message.endswith("Use a.") and "library does the work" not in message
    assert sys.getprofile() is None and calls.active_forbid_contexts() == []


def test_forbid_calls_records_remote_hits():
    with pytest.raises(T.ForbiddenCallError, match="cnnlab.layers"):
        with T.forbid_calls("cnnlab.layers", exercise="x") as ctx:
            ctx.record("cnnlab.layers")


def test_stderr_stand_in_writes_to_stdout(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    _jupyter._StderrToStdout().write("warning text")
    assert out.getvalue() == "warning text"


def test_is_grading_follows_nbgrader_and_fast_flag(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("CNNLAB_FAST", raising=False)
    assert cl.is_grading() is False
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert cl.is_grading() is True
    monkeypatch.delenv("NBGRADER_EXECUTION")
    monkeypatch.setenv("CNNLAB_FAST", "1")
    assert cl.is_grading() is True


def test_submodules_load_on_first_use():
    assert cl.testing is T
    with pytest.raises(AttributeError):
        cl.not_a_module  # noqa: B018


def test_assert_allclose_handles_scalars():
    T.assert_allclose(2.0, 2.0)
    T.assert_allclose(np.float64(1.5), 1.5)
    assert "got 3.0, expected 2.0" in _message(T.assert_allclose, 3.0, 2.0, name="loss")


def test_forbid_calls_does_not_import_the_libraries_it_watches():
    import subprocess

    code = (
        "import sys, cnnlab.testing as T\n"
        "with T.forbid_calls('scipy.signal', 'scipy.ndimage', exercise='x'):\n"
        "    pass\n"
        "print('scipy.signal' in sys.modules, 'scipy.ndimage' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False False", done.stderr


def test_forbid_calls_catches_a_library_imported_inside_the_block():
    with pytest.raises(T.ForbiddenCallError, match="numpy.convolve"):
        with T.forbid_calls("numpy.convolve", "scipy.ndimage", exercise="x"):
            import numpy

            numpy.convolve([1.0, 2.0], [1.0])


def test_known_mistakes_name_themselves():
    ref = np.arange(6.0).reshape(2, 3)
    bias = np.array([1.0, 2.0])
    mistakes = [
        ("bias missing", ref - bias[:, None]),
        ("axes swapped", (3, 2)),
    ]
    msg = _message(T.assert_allclose, ref - bias[:, None], ref, mistakes=mistakes, hint="plain")
    assert "hint: bias missing" in msg
    assert "hint: axes swapped" in _message(T.assert_allclose, ref.T, ref, mistakes=mistakes)
    assert "hint: plain" in _message(
        T.assert_allclose, ref + 9, ref, mistakes=mistakes, hint="plain"
    )
    T.assert_allclose(ref, ref, mistakes=mistakes)
    assert "hint: off by one" in _message(T.assert_equal, 4, 3, mistakes=[("off by one", 4)])
    assert "hint: h" in _message(T.assert_equal, 5, 3, mistakes=[("off by one", 4)], hint="h")


NOTEBOOK_HELPERS = """
import numpy as np
def helper(x):
    return np.convolve(x, [1.0, 1.0], mode="valid")
def answer(x):
    return helper(x) * 2
def double(x):
    return np.asarray(x, dtype=float) * 2
"""


def test_forbid_calls_names_the_notebook_function_that_made_the_call():
    ns = {"__name__": "__main__"}
    exec(NOTEBOOK_HELPERS, ns)
    with pytest.raises(T.ForbiddenCallError) as info:
        with T.forbid_calls("numpy.convolve", exercise="answer"):
            ns["answer"](np.ones(4))
    assert "called numpy.convolve via your helper" in str(info.value)
    with pytest.raises(T.ForbiddenCallError) as info:
        with T.forbid_calls("numpy.convolve", exercise="helper"):
            ns["helper"](np.ones(4))
    message = str(info.value)
    assert "called numpy.convolve." in message and "via your" not in message


def test_reference_helpers_grade_an_exercise_on_its_own():
    """Inside the block the notebook's functions call the reference; nothing it calls counts."""
    ns = {"__name__": "__main__", "T": T, "np": np, "calls": calls}
    exec(NOTEBOOK_HELPERS, ns)
    own_helper = ns["helper"]
    exec(
        "reference = lambda x: np.convolve(x, [1.0, 1.0], mode='valid')\n"
        "with T.forbid_calls('numpy.convolve', exercise='answer') as ctx, "
        "T.reference_helpers(helper=reference, extra=reference):\n"
        "    out = answer(np.arange(4.0))\n"
        "    active = sorted(calls.active_reference_helpers())\n",
        ns,
    )
    np.testing.assert_allclose(ns["out"], [2.0, 6.0, 10.0])
    assert ns["ctx"].hits == [] and ns["active"] == ["extra", "helper"]
    assert ns["helper"] is own_helper and "extra" not in ns  # restored on exit
    assert calls.active_reference_helpers() == {}
    assert sys.getprofile() is None and calls.active_forbid_contexts() == []


def test_reset_closes_every_block():
    with T.forbid_calls("numpy.convolve", exercise="x"), T.reference_helpers(f=abs):
        calls.reset()
        assert calls.active_forbid_contexts() == [] and calls.active_reference_helpers() == {}


def test_assert_allclose_nan_equals_nan_only_where_the_reference_is_nan():
    T.assert_allclose([np.nan, 1.0], [np.nan, 1.0])
    T.assert_allclose(np.float64("nan"), np.nan)
    assert "where NaN was expected" in _message(T.assert_allclose, [1.0, 1.0], [np.nan, 1.0])
    assert "NaN at index (0,)" in _message(T.assert_allclose, [np.nan], [1.0])
    assert "1 of 2 values differ" in _message(T.assert_allclose, [np.inf, 1.0], [1.0, 1.0])
    assert "1 of 2 values differ" in _message(T.assert_allclose, [-np.inf, 1.0], [np.inf, 1.0])
