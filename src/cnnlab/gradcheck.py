"""Numerical gradient checks: the compass for every backward pass in the course.

- :func:`numerical_gradient` estimates a gradient by centred differences,
  ``df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)``, one element at a time.
- :func:`rel_error` compares two arrays on a relative scale (cs231n's definition).
- :func:`check_gradients` runs a layer's forward and backward and returns one relative error per
  input. The course's one rule, in float64 with h = 1e-5: below 1e-7 the gradient is right (a
  correct layer gives about 1e-8 or smaller); above 1e-7 look for a bug, and if there is none, a
  probe that crossed a kink (ReLU at 0) or a tie (max pooling).

Example::

    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 3, 5, 5)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    errors = check_gradients(
        lambda x, w, b: conv_forward(x, w, b, stride=2, pad=1),
        {"x": x, "w": w, "b": b},
        conv_backward,
        rng=rng,
    )
    # {'x': 3e-10, 'w': 2e-10, 'b': 1e-11}
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["check_gradients", "numerical_gradient", "rel_error"]


def numerical_gradient(f, x, df=None, h=1e-5):
    """Centred-difference gradient of ``f`` at ``x``.

    Each element ``x[i]`` is set to ``x[i] + h`` and ``x[i] - h`` in place, ``f`` is evaluated
    at both, and the element is restored to its exact original value before the next probe.
    The quotient uses the steps actually stored (which matters for float32 ``x``), in float64.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a scalar (when ``df`` is None) or an array of any fixed shape.
    x : ndarray, any shape, floating dtype
        Point at which to differentiate; modified during probing and restored afterwards.
    df : ndarray, optional, shape of ``f(x)``
        Upstream gradient. When given, the result is the gradient of ``sum(df * f(x))``, i.e.
        ``grad[i] = sum(df * (f(x + h e_i) - f(x - h e_i))) / (2h)``.
    h : float
        Step size, > 0.

    Returns
    -------
    grad : ndarray, float64, same shape as ``x``
    """
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            "x must be a floating-point ndarray (it is probed in place), got "
            f"{type(x).__name__} with dtype {getattr(x, 'dtype', None)}"
        )
    if not h > 0:
        raise ValueError(f"h must be > 0, got {h}")
    if df is not None:
        df = np.asarray(df, dtype=np.float64)
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i].copy()
        x[i] = old + h
        x_plus = np.float64(x[i])
        f_plus = np.array(f(x), dtype=np.float64)
        x[i] = old - h
        x_minus = np.float64(x[i])
        f_minus = np.array(f(x), dtype=np.float64)
        x[i] = old
        if df is None:
            if f_plus.size != 1:
                raise ValueError(
                    f"f returned an array of shape {f_plus.shape}, expected a scalar; "
                    "pass df (the upstream gradient, same shape as f(x)) for array outputs"
                )
            diff = f_plus.item() - f_minus.item()
        else:
            if f_plus.shape != df.shape:
                raise ValueError(
                    f"df has shape {df.shape}, expected the shape of f(x), {f_plus.shape}"
                )
            diff = np.sum((f_plus - f_minus) * df)
        grad[i] = diff / (x_plus - x_minus)
    return grad


def rel_error(a, b):
    """Largest relative difference between ``a`` and ``b``.

    ``max(|a - b| / max(1e-8, |a| + |b|))`` over all elements (the cs231n definition). Below
    1e-7 (about 1e-8 or less for a correct layer) means agreement to float64 finite-difference
    precision; above 1e-7, look for a bug.

    Parameters
    ----------
    a, b : scalar or ndarray, same shape

    Returns
    -------
    float
        0.0 for empty arrays.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs arrays of the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def check_gradients(forward, inputs, backward=None, dout=None, *, rng=None, seed=0, h=1e-5):
    """Compare a layer's analytic gradients with numerical ones, input by input.

    Two calling conventions:

    - ``backward`` given (a layer): ``out, cache = forward(*inputs.values())`` and
      ``grads = backward(dout, cache)``, with ``grads`` in the order of ``inputs`` (dx, dw, db).
      ``dout`` is the upstream gradient; when None it is drawn from ``rng`` (standard normal, the
      shape of ``out``), so that every output element matters.
    - ``backward`` None (a loss): ``loss, grads = forward(*inputs.values())`` where ``loss`` is a
      scalar, e.g. ``softmax_loss(x, y) -> (loss, dx)``.

    The order is always ``(forward, inputs, backward)``; ``(forward, backward, inputs)`` raises
    a ValueError that says so.

    ``grads`` may be a single array or a tuple. It is matched with the inputs in order; inputs
    without a gradient (trailing ones such as integer labels, or a ``None`` entry) are not checked.
    The inputs are copied (floating arrays as float64), so the caller's arrays are never changed.

    Parameters
    ----------
    forward : callable
        Takes the input arrays positionally, returns ``(out, cache)`` or ``(loss, grads)``.
        Bind keyword arguments with a lambda: ``lambda x, w, b: conv_forward(x, w, b, pad=1)``.
    inputs : mapping of str to ndarray
        Named inputs in the order ``forward`` takes them, e.g. ``{"x": x, "w": w, "b": b}``.
    backward : callable, optional
        ``backward(dout, cache)`` returning the gradients of the inputs.
    dout : ndarray, optional, shape of ``out``
        Upstream gradient; drawn from ``rng`` when None (ignored for scalar losses).
    rng : numpy.random.Generator, optional
        Source of ``dout``; default ``np.random.default_rng(seed)``.
    seed : int
        Seed used when ``rng`` is None.
    h : float
        Step of the centred differences. 1e-5 balances truncation error (grows with h) and
        float64 round-off (grows as 1/h) for the course's layers.

    Returns
    -------
    dict of str to float
        ``{input_name: rel_error(analytic, numerical)}`` for each input that has a gradient.
    """
    if callable(inputs) and not isinstance(inputs, Mapping):
        raise ValueError(
            "check_gradients takes (forward, inputs, backward): the second argument must be the "
            f"dict of inputs, got the callable {getattr(inputs, '__name__', inputs)!r}; write "
            "check_gradients(forward, {'x': x, ...}, backward)"
        )
    if not isinstance(inputs, Mapping) or not inputs:
        raise ValueError("inputs must be a non-empty dict of name -> array, e.g. {'x': x}")
    if backward is not None and not callable(backward):
        raise ValueError(
            f"backward must be a callable backward(dout, cache), got {type(backward).__name__}"
        )
    args = {
        k: np.array(v, dtype=np.float64)
        if np.issubdtype(np.asarray(v).dtype, np.floating)
        else np.array(v)
        for k, v in inputs.items()
    }
    names = list(args)

    def run(values):
        result = forward(*values.values())
        if not isinstance(result, tuple) or len(result) != 2:
            expected = "(out, cache)" if backward is not None else "(loss, grads)"
            raise ValueError(f"forward must return a pair {expected}, got {type(result).__name__}")
        return result

    out, second = run(args)
    out = np.asarray(out, dtype=np.float64)
    if backward is None:
        if out.size != 1:
            raise ValueError(
                f"forward returned an output of shape {out.shape} and no backward was given; "
                "expected a scalar loss, or pass backward for a layer"
            )
        df, grads = None, second
    else:
        if dout is None:
            rng = np.random.default_rng(seed) if rng is None else rng
            dout = rng.standard_normal(out.shape)
        df = np.asarray(dout, dtype=np.float64)
        if df.shape != out.shape:
            raise ValueError(f"dout has shape {df.shape}, expected the output shape {out.shape}")
        grads = backward(df, second)
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    if len(grads) > len(names):
        raise ValueError(
            f"got {len(grads)} gradients for {len(names)} inputs {names}; expected at most one "
            "gradient per input, in the order of the inputs"
        )

    errors = {}
    for name, analytic in zip(names, grads):
        if analytic is None:
            continue
        analytic = np.asarray(analytic, dtype=np.float64)
        if analytic.shape != args[name].shape:
            raise ValueError(
                f"gradient for {name!r} has shape {analytic.shape}, expected {args[name].shape} "
                f"(the shape of {name})"
            )
        if not np.issubdtype(args[name].dtype, np.floating):
            raise ValueError(f"input {name!r} has a gradient but is not a floating-point array")

        def f(probe, name=name):
            return np.asarray(run({**args, name: probe})[0], dtype=np.float64)

        numeric = numerical_gradient(f, args[name], df=df, h=h)
        errors[name] = rel_error(analytic, numeric)
    return errors
