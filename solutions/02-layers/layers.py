# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Layers: every piece of a CNN, forward and backward
#
# In notebook 01 you computed a convolution by hand and in loops. A network needs more than the
# forward computation: to learn, every layer must also say how a small change of its input (and
# of its weights) changes the loss. That is the **backward pass**, and this notebook builds it for
# every layer a classic CNN uses.
#
# **When you finish this notebook you can**
#
# - write the forward and backward pass of ReLU, fully connected, convolution, max pooling,
#   average pooling with padding, global average pooling, dropout, batch normalisation and the
#   softmax cross-entropy loss, in NumPy;
# - check any backward pass against a numerical gradient and read the relative error (one
#   rule for the whole course: below 1e-7 the gradient is right, above it look for a bug);
# - explain where the gradient of max pooling goes, what padding means for a pooling layer, why
#   dropout rescales at train time, why batch normalisation uses running statistics at test
#   time, what a 1x1 convolution computes, and how far one output unit "sees" into the input.
#
# **Builds on** 01-convolution (NCHW arrays, padding, stride, the output-size formula
# `OH = (H + 2*pad - KH) // stride + 1`). **Leads to** 03-training, where these layers become a
# network trained with gradient descent.
#
# **Time:** about 4 hours. The optional challenge at the end takes half an hour more; the
# whole notebook runs in under a minute.
#
# **Reading:** the CS231n notes on [backpropagation](https://cs231n.github.io/optimization-2/),
# [gradient checks](https://cs231n.github.io/neural-networks-3/#gradcheck) and
# [convolutional networks](https://cs231n.github.io/convolutional-networks/).
#
# **Exercises (35 points):** `numerical_gradient` (2), `relu_forward` (1), `relu_backward` (1),
# `affine_forward` (1), `affine_backward` (2), `conv_backward_naive` (4), `maxpool_forward_naive`
# (2), `maxpool_backward_naive` (3), `avgpool_forward_naive` (2), `avgpool_backward_naive` (2),
# `global_avgpool_forward` (1), `global_avgpool_backward` (1), `softmax_cross_entropy` (2),
# `dropout_forward` (1), `dropout_backward` (1), `batchnorm2d_forward` (3),
# `batchnorm2d_backward` (3), `conv1x1_as_matmul` (1), `receptive_field` (2). Each answer cell
# defines one function; write your code between the docstring and the end of the function and
# run the test cell below it. The visible tests are small examples, most of them checkable by
# hand (each says where its expected values come from); more tests run when the notebook is
# graded. The challenge at the end, `conv_backward_im2col`, is optional and not graded.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import time

import matplotlib.pyplot as plt
import numpy as np

import cnnlab as cl
from cnnlab.layers import conv_forward  # the vectorised convolution (forward only is needed)

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(0)
notebook_start = time.perf_counter()

# %% [markdown]
# ## 1. The layer contract
#
# Every layer in this course is a pair of functions:
#
# ```python
# out, cache = layer_forward(x, *params)     # compute, and remember what backward will need
# grads = layer_backward(dout, cache)        # dx (and dw, db, ...) from the upstream gradient
# ```
#
# `dout` is the gradient of the final scalar loss $L$ with respect to the layer's output,
# $\partial L / \partial \text{out}$, handed down by the layer above. The backward pass returns
# $\partial L / \partial x$ (and the gradients of the parameters) in the same order as the forward
# pass takes its inputs. The **chain rule** connects them: every output element that depends on
# $x_i$ contributes its share,
#
# $$\frac{\partial L}{\partial x_i} = \sum_k \frac{\partial L}{\partial \text{out}_k}\,
#   \frac{\partial \text{out}_k}{\partial x_i}.$$
#
# Because $L$ is a single number, $\partial L/\partial x$ has one entry per entry of $x$: **a
# gradient always has exactly the shape of the array it belongs to**. That gives you a free
# check on every backward pass you write (a `dw` of the wrong shape is a bug before any value
# is looked at), and it tells you how to find the formula: write down which outputs each input
# element influences, multiply by the upstream gradient, and add.
#
# The figure runs a tiny network on a batch of digits with `cnnlab.layers` and prints the shape
# of every value going forward (above each arrow) and of every gradient coming back (below it).

# %%
X_digits, y_digits, _, _ = cl.data.load_digits()
xb = X_digits[:16].astype(np.float64)
yb = y_digits[:16]
w1, b1 = 0.3 * rng.standard_normal((6, 1, 3, 3)), np.zeros(6)
h1, c1 = cl.layers.conv_forward(xb, w1, b1, pad=1)
h2, c2 = cl.layers.relu_forward(h1)
h3, c3 = cl.layers.maxpool_forward(h2, 2, stride=2)
w4, b4 = 0.1 * rng.standard_normal((6 * 4 * 4, 10)), np.zeros(10)
h4, c4 = cl.layers.affine_forward(h3, w4, b4)
loss, d4 = cl.layers.softmax_cross_entropy(h4, yb)
d3, dw4, db4 = cl.layers.affine_backward(d4, c4)
d2 = cl.layers.maxpool_backward(d3, c3)
d1 = cl.layers.relu_backward(d2, c2)
d0, dw1, db1 = cl.layers.conv_backward(d1, c1)

names = ["input", "conv 3x3\npad 1", "ReLU", "max pool\n2x2", "affine", "softmax\n+ CE"]
values = [xb, h1, h2, h3, h4]
grads = [d0, d1, d2, d3, d4]
fig, ax = plt.subplots(figsize=(12, 2.8))
for k, name in enumerate(names):
    ax.text(
        2.2 * k,
        0,
        name,
        ha="center",
        va="center",
        fontsize=10,
        bbox=dict(boxstyle="round", fc="#dbe9f6" if 0 < k < 5 else "#eeeeee"),
    )
for k in range(5):
    xm = 2.2 * k + 1.1
    ax.annotate(
        "",
        xy=(xm + 0.5, 0.25),
        xytext=(xm - 0.5, 0.25),
        arrowprops=dict(arrowstyle="->", color="tab:blue"),
    )
    ax.annotate(
        "",
        xy=(xm - 0.5, -0.25),
        xytext=(xm + 0.5, -0.25),
        arrowprops=dict(arrowstyle="->", color="tab:red"),
    )
    ax.text(xm, 0.45, str(values[k].shape), ha="center", color="tab:blue", fontsize=9)
    ax.text(xm, -0.55, str(grads[k].shape), ha="center", color="tab:red", fontsize=9)
ax.text(2.2 * 5, -0.55, f"loss = {loss:.3f}", ha="center", fontsize=9)
ax.set_xlim(-1, 12)
ax.set_ylim(-0.9, 0.8)
ax.axis("off")
ax.set_title("Forward values (blue, above) and gradients (red, below): the same shapes")
plt.show()
print("gradient shapes of the parameters:", dw1.shape, db1.shape, dw4.shape, db4.shape)

# %% [markdown]
# Read each arrow as a pair: the blue shape is the array that travels forward, the red shape the
# gradient of the loss with respect to that same array, travelling back. They always match, and
# the parameter gradients match their parameters (`dw1` is (6, 1, 3, 3) like `w1`).
#
# ## 2. Checking a gradient numerically
#
# A backward pass is easy to get subtly wrong, and a wrong gradient does not crash: the network
# just trains badly. So we compare every analytic gradient with a **numerical** one. For a
# scalar function $f$ and a small step $h$, the centred difference
#
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + h\,e_i) - f(x - h\,e_i)}{2h}$$
#
# nudges one element $x_i$ up and down ($e_i$ is the array with a 1 at position $i$ and zeros
# elsewhere). A Taylor expansion shows its error shrinks like $h^2$, while the one-sided
# "forward" difference $(f(x+h e_i) - f(x))/h$ only shrinks like $h$. The step cannot be made
# arbitrarily small, though: $f(x\pm h e_i)$ are computed in floating point with about 16
# significant digits, and dividing their tiny difference by $2h$ magnifies that round-off like
# $1/h$. In float64, $h \approx 10^{-5}$ balances the two.
#
# To compare the analytic gradient $a$ with the numerical one $n$ we use the **relative error**
# $\max_i \big(|a_i - n_i| / \max(10^{-8}, |a_i| + |n_i|)\big)$, the worst element's ratio,
# which does not depend on the scale of the numbers (`cl.gradcheck.rel_error`). One rule, used
# everywhere in this course (the figures, the tests and `cl.gradcheck`), for float64 and
# $h = 10^{-5}$:
#
# | relative error | meaning |
# |---|---|
# | below 1e-7 (a correct layer gives about 1e-8 or less) | the backward pass is right |
# | above 1e-7 | look for a bug; if there is none, a probe crossed a kink or a tie |
#
# Errors of 1e-2 and more are almost always a bug; errors just above 1e-7 are worth the same
# suspicion, because a wrong term that is small for these inputs is still wrong.
#
# The left panel measures the error of both formulas for $f(x) = \sum_i x_i^2 \sin x_i$ over a
# range of steps $h$. The right panel shows what happens at a **kink**: the centred difference
# of $f(x) = \sum_i c_i\,\mathrm{relu}(x_i)$ with $h = 10^{-5}$, at inputs a distance $d$ from 0.


# %%
def smooth_f(z):
    return np.sum(z**2 * np.sin(z))


z0 = rng.uniform(0.5, 2, size=20)
exact = 2 * z0 * np.sin(z0) + z0**2 * np.cos(z0)  # bounded away from 0 on [0.5, 2]
steps = np.logspace(-13, -1, 31)
err_fwd, err_ctr = [], []
for h in steps:
    g_fwd, g_ctr = np.zeros(20), np.zeros(20)
    for i in range(20):
        e = np.zeros(20)
        e[i] = h
        g_fwd[i] = (smooth_f(z0 + e) - smooth_f(z0)) / h
        g_ctr[i] = (smooth_f(z0 + e) - smooth_f(z0 - e)) / (2 * h)
    err_fwd.append(cl.gradcheck.rel_error(g_fwd, exact))
    err_ctr.append(cl.gradcheck.rel_error(g_ctr, exact))

dist = np.logspace(-9, -2, 22)
c_relu = rng.standard_normal(20)
kink_err = []
for d in dist:
    zk = np.where(rng.random(20) < 0.5, d, -d)  # every point sits a distance d from the kink
    analytic = c_relu * (zk > 0)
    g = np.zeros(20)
    for i in range(20):
        e = np.zeros(20)
        e[i] = 1e-5
        g[i] = (
            np.sum(c_relu * np.maximum(zk + e, 0)) - np.sum(c_relu * np.maximum(zk - e, 0))
        ) / 2e-5
    kink_err.append(cl.gradcheck.rel_error(analytic, g))

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
ax1.loglog(steps, err_fwd, "o-", ms=3, label="forward difference")
ax1.loglog(steps, err_ctr, "o-", ms=3, label="centred difference")
ax1.axvline(1e-5, color="gray", ls=":", label="h = 1e-5")
ax1.set_xlabel("step h")
ax1.set_ylabel("relative error vs exact gradient")
ax1.set_title("Truncation error (right) vs round-off (left)")
ax1.legend()
ax2.loglog(dist, kink_err, "o-", ms=3, color="tab:red")
ax2.axvline(1e-5, color="gray", ls=":", label="d = h")
ax2.set_xlabel("distance d of every input from the ReLU kink at 0")
ax2.set_ylabel("relative error (h = 1e-5)")
ax2.set_title("A probe that crosses a kink gives a wrong 'gradient'")
ax2.legend()
plt.show()

err_fwd, err_ctr, kink_err = np.array(err_fwd), np.array(err_ctr), np.array(kink_err)
at_h = int(np.argmin(np.abs(np.log10(steps) + 5)))  # the step h = 1e-5
best = int(np.argmin(err_fwd))
large = (steps >= 1e-4) & (steps <= 1e-2)  # where truncation error dominates
slope_ctr = np.polyfit(np.log10(steps[large]), np.log10(err_ctr[large]), 1)[0]
slope_fwd = np.polyfit(np.log10(steps[large]), np.log10(err_fwd[large]), 1)[0]
print(f"h = 1e-5: centred {err_ctr[at_h]:.1e}, forward {err_fwd[at_h]:.1e}")
print(f"best forward difference: {err_fwd[best]:.1e} at h = {steps[best]:.0e}")
print(f"slopes for h in [1e-4, 1e-2]: centred {slope_ctr:.2f}, forward {slope_fwd:.2f}")
print(f"kink: largest error for d >= h {kink_err[dist >= 1e-5].max():.0e}, "
      f"smallest for d < h {kink_err[dist < 1e-5].min():.2f}")  # fmt: skip
cl.claim("the centred curve falls like h^2", slope_ctr, low=1.8, high=2.2)
cl.claim("the forward curve falls like h", slope_fwd, low=0.8, high=1.2)
cl.claim("the centred difference is below 1e-10 at h = 1e-5", err_ctr[at_h], high=1e-10)
cl.claim("the forward difference's best step is about 1e-8", steps[best], low=3e-9, high=1e-7)
cl.claim(
    "the forward difference is roughly a thousand times worse at its best",
    err_fwd[best] / err_ctr.min(),
    low=300,
    high=3000,
)
cl.claim(
    "the forward difference errs by about 1e-5 at h = 1e-5", err_fwd[at_h], low=3e-6, high=3e-5
)
cl.claim("the kink check is perfect for d >= h", kink_err[dist >= 1e-5].max(), high=1e-10)
cl.claim("the kink error is of order 1 for d < h", kink_err[dist < 1e-5].min(), low=0.1)

# %% [markdown]
# On the left, read from right to left: as $h$ shrinks, both errors first fall (less truncation
# error; the centred curve falls twice as steeply, like $h^2$ against $h$, as the printed slopes
# show) and then climb again (round-off). The centred difference is below 1e-10 at
# $h = 10^{-5}$. The forward difference is best near $h = 10^{-8}$, and even there roughly a
# thousand times worse; at $h = 10^{-5}$ its error is about 1e-5, far above the 1e-7 line: it
# would flag a correct backward pass as wrong. That is why we use the centred difference.
#
# On the right, the check is perfect (errors below 1e-10) while the inputs stay at least $h$
# from 0, and the error jumps to order 1 as soon as $x_i \pm h$ lands on the other side of the
# kink: the "numerical gradient" then mixes the two slopes (for $d \ll h$ it is their average).
# The layer is not wrong; the check is. That is why every check in this notebook builds inputs
# that stay away from ReLU's 0 and from ties in max pooling.
#
# **Worked example.** For $f(x) = \sum_i x_i^3$ the centred difference can be computed exactly:
# $\big((x+h)^3 - (x-h)^3\big)/(2h) = 3x^2 + h^2$. With $h = 0.01$ and $x = 2$ that is
# $12.0001$, while the forward difference gives $3x^2 + 3xh + h^2 = 12.0601$.

# %%
h, x0 = 0.01, 2.0
centred = ((x0 + h) ** 3 - (x0 - h) ** 3) / (2 * h)
forward = ((x0 + h) ** 3 - x0**3) / h
print(f"centred {centred:.6f}, forward {forward:.6f}, exact 3x^2 = {3 * x0**2:g}")
cl.claim("the centred difference gives 12.0001", centred, low=12.0001 - 1e-9, high=12.0001 + 1e-9)
cl.claim("the forward difference gives 12.0601", forward, low=12.0601 - 1e-9, high=12.0601 + 1e-9)

# %% [markdown]
# ### Exercise 1: `numerical_gradient` (2 points)
#
# Write the centred-difference gradient of a scalar function `f` at an array `x` of any shape:
# for every index $i$ of $x$,
#
# $$\text{grad}_i = \frac{f(x + h\,e_i) - f(x - h\,e_i)}{2h},$$
#
# returned as a float64 array shaped like `x`. `f` takes the whole array, so you probe `x`
# itself, one element at a time. When your function returns, `x` must hold **exactly** its
# original values, bit for bit: `f` sees the same array at every probe, so a value left behind
# shifts every later estimate. Use the step `h` you are given. Do not call `cl.gradcheck`; that
# is the function you are writing.
#
# <details><summary>Hint 1</summary>
#
# One loop over every index of `x`, whatever its number of axes. At each index: nudge that
# element up by $h$ and evaluate `f`, nudge it down by $h$ and evaluate again, put the element
# back, and only then move on to the next index.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# `np.ndindex(x.shape)` yields every index tuple of an array of any shape, so `x[idx]` works for
# a vector and for a 4-D array alike. `f(x)` may return a NumPy scalar; `float(...)` turns it
# into a plain number.
#
# </details>
#
# <details><summary>Hint 3</summary>
#
# Adding and subtracting $h$ does not always give back the same float: in float64,
# `0.1 + 1e-5 - 2e-5 + 1e-5` is not `0.1`. Keep the element's value in a variable before the
# first probe, `old = x[idx]`, and assign that variable back after the second.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "numerical_gradient", "locked": false, "schema_version": 3, "solution": true, "task": false}
def numerical_gradient(f, x, h=1e-5):
    """Centred-difference estimate of the gradient of a scalar function.

    grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2 h) for every index i of x.

    Parameters
    ----------
    f : callable
        f(x) returns a scalar (a Python or NumPy number).
    x : ndarray of float64, any shape
        The point; changed in place while probing and restored to its exact values afterwards.
    h : float
        Step size.

    Returns
    -------
    grad : ndarray of float64, same shape as x
    """
    ### BEGIN SOLUTION
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = float(f(x))
        x[idx] = old - h
        f_minus = float(f(x))
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_numerical_gradient", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

# f(x) = sum(x**3): the centred difference is exactly 3 x**2 + h**2
x = np.array([[1.0, -2.0], [0.5, 3.0]])
x_before = x.copy()
# T.in_place(x): x is checked after the call, so the grader hands back what the call did to it
with T.forbid_calls("cnnlab.gradcheck", exercise="numerical_gradient"), T.in_place(x):
    grad = numerical_gradient(lambda z: np.sum(z**3), x, h=0.01)
T.assert_shape(
    grad,
    (2, 2),
    name="numerical_gradient(sum(x**3)) shape",
    hint="return one partial derivative per element of x, in the shape of x",
)
T.assert_allclose(
    grad,
    3 * x_before**2 + 1e-4,
    rtol=0,
    atol=1e-9,
    name="numerical_gradient of sum(x**3) at h=0.01",
    hint="expected 3x^2 + h^2 from the centred difference (f(x+h) - f(x-h)) / (2h)",
    mistakes=[
        ("forward difference: (f(x+h) - f(x)) / h gives 3x^2 + 3xh + h^2; use the centred "
         "difference (f(x+h) - f(x-h)) / (2h)", 3 * x_before**2 + 0.03 * x_before + 1e-4),
        ("divided by h instead of 2h: the two probes are 2h apart", 6 * x_before**2 + 2e-4),
        ("the step argument h was ignored (a fixed step such as 1e-5 was used): probe with "
         "x[i] + h and x[i] - h", 3 * x_before**2 + 1e-10),
    ],
)  # fmt: skip
T.assert_allclose(
    x,
    x_before,
    rtol=0,
    atol=1e-9,
    name="x after numerical_gradient",
    hint="x was not restored: put every x[i] back to its old value after probing it",
)
T.assert_allclose(
    x,
    x_before,
    rtol=0,
    atol=0,
    name="x after numerical_gradient (exact values)",
    hint="x is back only up to rounding: adding h and subtracting it again does not restore a "
    "float exactly; store old = x[i] before probing and assign it back",
)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(102)
for shape in [(7,), (3, 4), (2, 3, 2)]:
    x = rng.uniform(-2, 2, size=shape)
    x_before = x.copy()
    c = rng.standard_normal(shape)
    with T.forbid_calls("cnnlab.gradcheck", exercise="numerical_gradient"), T.in_place(x):
        grad = numerical_gradient(lambda z, c=c: np.sum(np.sin(z) * c), x)
    T.assert_shape(
        grad,
        shape,
        name=f"numerical_gradient shape for x of shape {shape}",
        hint="return an array shaped like x (not flattened)",
    )
    T.assert_allclose(
        x,
        x_before,
        rtol=0,
        atol=0,
        name=f"x of shape {shape} after the call",
        hint="x was not restored: set x[i] back to its old value after each probe",
    )
    T.assert_allclose(
        grad,
        np.cos(x_before) * c,
        rtol=1e-6,
        atol=1e-8,
        name=f"numerical_gradient of sum(c * sin(x)), x of shape {shape}",
        hint="use the centred difference (f(x + h e_i) - f(x - h e_i)) / (2h) for every element i",
    )
# coupled elements: a forgotten restore shifts every later estimate
x = rng.uniform(0.5, 1.5, size=(2, 5))
x_before = x.copy()
with T.forbid_calls("cnnlab.gradcheck", exercise="numerical_gradient"):
    grad = numerical_gradient(lambda z: np.sum(z) ** 2, x)
T.assert_allclose(
    grad,
    np.full(x.shape, 2 * x_before.sum()),
    rtol=1e-8,
    atol=1e-7,
    name="numerical_gradient of sum(x)**2",
    hint="each probe must start from the original x: restore x[i] to its exact old "
    "value before probing the next element",
)
# the step h is honoured: for sum(x**3) the h**2 term is visible
x = rng.uniform(-2, 2, size=5)
x_before = x.copy()
with T.forbid_calls("cnnlab.gradcheck", exercise="numerical_gradient"):
    grad = numerical_gradient(lambda z: np.sum(z**3), x, h=0.05)
T.assert_allclose(
    grad,
    3 * x_before**2 + 0.05**2,
    rtol=0,
    atol=1e-9,
    name="numerical_gradient of sum(x**3) at h=0.05",
    hint="use the argument h as the step (not a fixed 1e-5) and divide by 2h",
)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. ReLU
#
# The rectified linear unit $\mathrm{relu}(x) = \max(x, 0)$ is applied element by element. It has
# been the default nonlinearity of CNNs since
# [AlexNet](https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html)
# (some recent networks use smooth variants such as GELU or SiLU): it costs one comparison, and
# for positive inputs its slope is exactly 1, so gradients pass through a deep stack without
# shrinking the way they do through saturating functions such as tanh. Each output depends on
# one input only, so the chain rule has a single term:
# $\partial L/\partial x_i = \partial L/\partial \text{out}_i \cdot \mathbb{1}[x_i > 0]$. The
# gradient **passes where the input was positive and is blocked where it was negative**. At
# exactly 0 the function has no derivative; we use 0 there, as most libraries do.

# %%
xs = np.linspace(-3, 3, 601)
ys, _ = cl.layers.relu_forward(xs)
slope = cl.layers.relu_backward(np.ones_like(xs), xs)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2), layout="constrained")
ax1.plot(xs, ys)
ax1.set_title("ReLU forward: out = max(x, 0)")
ax1.set_xlabel("x")
ax1.set_ylabel("out")
ax2.plot(xs, slope, color="tab:red")
ax2.set_title("ReLU backward: dx = dout where x > 0, else 0")
ax2.set_xlabel("x")
ax2.set_ylabel("dx for dout = 1")
plt.show()

# %% [markdown]
# The right panel is the gate the backward pass applies: a step from 0 to 1 at $x = 0$. Units
# that are negative for every input ("dead" ReLUs) never pass a gradient and stop learning.
#
# **Worked example.** $x = [-2, -0.5, 0.5, 3]$ gives $\text{out} = [0, 0, 0.5, 3]$. For the
# backward pass take $x = [-2, -0.5, 0, 0.5, 3]$ and $\text{dout} = [10, 20, 30, -40, 50]$: it
# returns $[0, 0, 0, -40, 50]$. The gate is the sign of the *input* (a negative `dout` passes
# where $x > 0$), and $x = 0$ gets 0 by our convention.
#
# ### Exercise 2a: `relu_forward` (1 point) and 2b: `relu_backward` (1 point)
#
# `relu_forward` returns $\mathrm{relu}(x) = \max(x, 0)$ element by element, and as its cache
# the input `x` itself. It must not change `x`: the cache *is* `x`, so writing the output into
# `x` would hand the backward pass the output instead of the input. `relu_backward` returns
# $dx = \text{dout} \cdot \mathbb{1}[x > 0]$, in the shape of `x`: the gradient passes where the
# input was positive, whatever the sign of `dout`, and is 0 where $x < 0$ and at exactly
# $x = 0$ (the course's convention).
#
# <details><summary>Hint 1 (2a)</summary>
#
# Build a new array instead of editing `x`. NumPy has a function that takes the element-wise
# maximum of an array and a number in one call and returns a new array (it is not `np.max`,
# which reduces along an axis).
#
# </details>
#
# <details><summary>Hint 2 (2b)</summary>
#
# The gate is a boolean array, True where the input was strictly positive; multiplying `dout`
# by it counts True as 1 and False as 0. Strictly: `>`, not `>=`, or $x = 0$ passes the
# gradient.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "relu_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def relu_forward(x):
    """ReLU, max(x, 0) element-wise.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    out : ndarray, same shape as x
    cache : ndarray
        x itself (unchanged).
    """
    ### BEGIN SOLUTION
    out = np.maximum(x, 0)
    return out, x
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_relu_forward", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

x = np.array([[-2.0, -0.5, 0.5, 3.0]])
x_before = x.copy()
# T.in_place(x): x is checked after the call, so the grader hands back what the call did to it
with T.forbid_calls("cnnlab.layers", exercise="relu_forward"), T.in_place(x):
    out, cache = relu_forward(x)
T.assert_allclose(
    out,
    [[0.0, 0.0, 0.5, 3.0]],
    name="relu_forward([-2, -0.5, 0.5, 3])",
    hint="out = max(x, 0) element-wise, same shape as x",
)
T.assert_allclose(
    x,
    x_before,
    rtol=0,
    atol=0,
    name="x after relu_forward([-2, -0.5, 0.5, 3])",
    hint="x was changed in place: do not modify x (x[x < 0] = 0 or np.maximum(x, 0, out=x) "
    "also change the cache that the backward pass needs); build a new array",
)
T.assert_allclose(
    cache,
    x_before,
    name="relu_forward cache",
    hint="the cache is the input x itself (not the output)",
)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(201)
x = rng.standard_normal((2, 3, 5, 4))
x_before = x.copy()
# T.in_place(x): x is checked after the call, so the grader hands back what the call did to it
with T.forbid_calls("cnnlab.layers", exercise="relu_forward"), T.in_place(x):
    out, cache = relu_forward(x)
T.assert_allclose(
    x,
    x_before,
    rtol=0,
    atol=0,
    name="x after relu_forward",
    hint="x was changed in place: do not modify x; the backward pass needs the original x",
)
T.assert_allclose(
    out,
    np.where(x_before > 0, x_before, 0.0),
    name="relu_forward on (2, 3, 5, 4)",
    hint="out = max(x, 0) element-wise, same shape as x",
)
T.assert_allclose(
    cache,
    x_before,
    name="relu_forward cache on (2, 3, 5, 4)",
    hint="the cache is the original input x",
)
### END HIDDEN TESTS


# %% nbgrader={"grade": false, "grade_id": "relu_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def relu_backward(dout, cache):
    """Backward pass of ReLU.

    Parameters
    ----------
    dout : ndarray, same shape as x
        Upstream gradient dL/dout.
    cache : ndarray
        x from relu_forward.

    Returns
    -------
    dx : ndarray, same shape as x
        dout where x > 0, and 0 where x <= 0.
    """
    ### BEGIN SOLUTION
    x = cache
    dx = dout * (x > 0)
    return dx
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_relu_backward", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

# x = 0 gets gradient 0 (our convention); dout may be negative: the gate is the sign of x
x = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])
dout = np.array([[10.0, 20.0, 30.0, -40.0, 50.0]])
with T.forbid_calls("cnnlab.layers", exercise="relu_backward"):
    dx = relu_backward(dout, x)
T.assert_allclose(
    dx,
    [[0.0, 0.0, 0.0, -40.0, 50.0]],
    name="relu_backward, x = [-2, -0.5, 0, 0.5, 3], dout = [10, 20, 30, -40, 50]",
    hint="dx = dout where x > 0, and 0 where x <= 0",
    mistakes=[
        (
            "the gradient passed at x = 0: this course uses 0 there (x > 0, not x >= 0)",
            [[0.0, 0.0, 30.0, -40.0, 50.0]],
        ),
        (
            "the gradient passed where x < 0: the output is constant 0 there, so dx = 0",
            [[10.0, 20.0, 0.0, -40.0, 50.0]],
        ),
        (
            "the gate is the sign of the INPUT x, not of dout: dx = dout * (x > 0)",
            [[10.0, 20.0, 30.0, 0.0, 50.0]],
        ),
        (
            "the gate is the sign of the INPUT x, not of dout: dx = dout * (x > 0)",
            [[0.0, 0.0, 0.0, 0.0, 50.0]],
        ),
        ("dx is dout times the 0/1 gate, not the gate alone", [[0.0, 0.0, 0.0, 1.0, 1.0]]),
        (
            "dx is dout times the 0/1 gate (x > 0), not dout times x",
            [[-20.0, -10.0, 0.0, -20.0, 150.0]],
        ),
    ],
)
### BEGIN HIDDEN TESTS
import cnnlab as cl

rng = np.random.default_rng(202)
x = rng.standard_normal((3, 2, 4, 5))
x = np.where(np.abs(x) < 0.05, 0.5, x)  # no input near the kink
x[0, 0, :2] = 0.0  # and a few exact zeros, where the gradient is 0
dout = rng.standard_normal(x.shape)
with T.forbid_calls("cnnlab.layers", exercise="relu_backward"):
    dx = relu_backward(dout.copy(), x.copy())  # copies: the checks below read x, dout
T.assert_shape(dx, x.shape, name="relu_backward dx shape")
T.assert_allclose(
    np.where(x == 0, dx, 0.0),
    np.zeros(x.shape),
    name="relu_backward where x == 0",
    hint="the gradient passed at x = 0: this course uses 0 there (x > 0, not x >= 0)",
)
T.assert_allclose(
    np.where(x < 0, dx, 0.0),
    np.zeros(x.shape),
    name="relu_backward where x < 0",
    hint="relu backward passes gradient where x < 0: the output was constant 0 "
    "there, so dx must be 0",
)
T.assert_allclose(
    dx,
    dout * (x > 0),
    name="relu_backward on (3, 2, 4, 5)",
    hint="where x > 0 the gradient passes unchanged: dx = dout",
)


def learner_backward(dout, cache):
    """relu_backward on copies, so that the arrays check_gradients probes stay its own."""
    with T.forbid_calls("cnnlab.layers", exercise="relu_backward"):
        return relu_backward(dout.copy(), cache.copy())


# numerical gradient away from the kink (at x = 0 itself it would average the two slopes)
x_away = np.where(x == 0, -0.5, x)
errors = cl.gradcheck.check_gradients(
    cl.layers.relu_forward, {"x": x_away}, learner_backward, rng=rng
)
for key, err in errors.items():
    T.assert_true(
        err < 1e-7,
        f"relu_backward d{key} vs numerical gradient: relative error {err:.1e}, above 1e-7",
    )
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Fully connected (affine) layers
#
# A fully connected layer connects every input number to every output: it flattens each example
# to a vector of length $D$ and multiplies by a weight matrix,
# $\text{out} = x_{\text{flat}}\, W + b$ with $x_{\text{flat}}$ of shape (N, D), $W$ (D, M),
# $b$ (M,). In a CNN it usually sits at the end, turning the last feature maps into class scores.
#
# The chain rule on matrices gives three short formulas, and the shape rule tells you where each
# transpose goes:
#
# - $dx_{\text{flat}} = \text{dout}\, W^\top$: (N, M) @ (M, D) = (N, D), then **reshaped back**
#   to the shape of x, because the layer above the affine layer (say, a pooling layer) expects
#   a gradient shaped like its own output;
# - $dW = x_{\text{flat}}^\top\, \text{dout}$: (D, N) @ (N, M) = (D, M). The matrix product
#   adds up the contributions of all N examples: the same weights served every example, so
#   their gradient is a **sum over the batch**;
# - $db = \sum_n \text{dout}_n$: (M,), the sum over the batch for the same reason.
#
# For one example, $dW$ is an outer product: column $m$ of $dW$ is the input times
# $\text{dout}_m$. The figure shows it for one digit and three outputs.

# %%
x_one = X_digits[:1].astype(np.float64)  # (1, 1, 8, 8)
w_fc = 0.1 * rng.standard_normal((64, 3))
_, cache_fc = cl.layers.affine_forward(x_one, w_fc, np.zeros(3))
dout_fc = np.array([[1.0, -0.5, 2.0]])
_, dw_fc, _ = cl.layers.affine_backward(dout_fc, cache_fc)
fig, axes = plt.subplots(1, 4, figsize=(11, 3), layout="constrained")
axes[0].imshow(x_one[0, 0], cmap="gray")
axes[0].set_title("input x (8x8 digit)")
lim = np.abs(dw_fc).max()
for m in range(3):
    im = axes[m + 1].imshow(dw_fc[:, m].reshape(8, 8), cmap="RdBu_r", vmin=-lim, vmax=lim)
    axes[m + 1].set_title(f"dW[:, {m}] as 8x8, dout = {dout_fc[0, m]:g}")
for ax in axes:
    ax.set_xlabel("column")
    ax.set_ylabel("row")
fig.colorbar(im, ax=axes[1:], shrink=0.8)
fig.suptitle("Gradient of an affine layer's weights for one example: the input, scaled by dout")
plt.show()

# %% [markdown]
# Each column of $dW$ is the digit itself, scaled (and for $\text{dout} < 0$ sign-flipped) by the
# upstream gradient of that output: gradient descent on $W$ nudges each output's weights towards
# (or away from) the inputs it saw. With a batch, these pictures are added up.
#
# **Worked example.** With `x = np.arange(8.).reshape(2, 2, 2)` (rows `[0,1,2,3]` and
# `[4,5,6,7]` after flattening), `W` the (4, 3) matrix with rows `[1,0,0]`, `[0,1,0]`,
# `[0,0,1]`, `[1,1,1]` and `b = [0, 10, 100]`, the output is `[[3, 14, 105], [11, 22, 113]]`.
# With `dout = [[1, 0, 0], [0, 0, 1]]` the backward pass gives `dx = [[[1, 0], [0, 1]],
# [[0, 0], [1, 1]]]` (rows of `dout @ W.T`, reshaped), `dW` with column 0 equal to
# `[0, 1, 2, 3]`, column 1 zero and column 2 equal to `[4, 5, 6, 7]`, and `db = [1, 0, 1]`.
#
# ### Exercise 3a: `affine_forward` (1 point) and 3b: `affine_backward` (2 points)
#
# `affine_forward` flattens each example to a row of $D$ numbers, in row-major order, and returns
# $x_{\text{flat}}\, W + b$ of shape (N, M), with the cache `(x, w, b)`: `x` in its original
# shape, so that the backward pass knows it. `affine_backward` returns the three gradients of the
# formulas above: `dx` in the shape of `x`, and `dw` (D, M) and `db` (M,) **summed** over the
# batch, because the parameters served every example.
#
# <details><summary>Hint 1</summary>
#
# Each formula is one matrix product or one sum. Write the shapes down first: the shape rule
# tells you which factor is transposed and on which side of the product it goes.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# `x.reshape(N, -1)` flattens every example whatever its number of axes, and
# `.reshape(x.shape)` brings a flat (N, D) array back to the shape of `x`.
#
# </details>
#
# <details><summary>Hint 3</summary>
#
# The sums over the batch come for free: $x_{\text{flat}}^\top\,\text{dout}$ already adds the N
# outer products, and `db` adds the rows of `dout` (axis 0). No division by N: the mean belongs
# to the loss, not to the layers.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "affine_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def affine_forward(x, w, b):
    """Fully connected layer: out = x.reshape(N, D) @ w + b.

    Parameters
    ----------
    x : ndarray, shape (N, d1, ..., dk)
        A batch of N examples, each flattened to length D = d1 * ... * dk.
    w : ndarray, shape (D, M)
    b : ndarray, shape (M,)

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : tuple
        (x, w, b), with x in its original shape.
    """
    ### BEGIN SOLUTION
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_affine_forward", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

x = np.arange(8.0).reshape(2, 2, 2)
w = np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]])
b = np.array([0.0, 10.0, 100.0])
with T.forbid_calls("cnnlab.layers", exercise="affine_forward"):
    out, cache = affine_forward(x, w, b)
T.assert_allclose(
    out,
    [[3.0, 14.0, 105.0], [11.0, 22.0, 113.0]],
    name="affine_forward worked example",
    hint="out[n] = (example n as a row of D = d1*...*dk numbers) @ w + b",
    mistakes=[
        ("bias missing: add b to every row of the product", [[3.0, 4, 5], [11, 12, 13]]),
        (
            "examples flattened in another order: x.reshape(N, -1) keeps each example's "
            "numbers in their row-major order (no transpose before the reshape)",
            [[3.0, 15, 104], [11, 23, 112]],
        ),
    ],
)
T.assert_true(
    isinstance(cache, (tuple, list)) and len(cache) == 3,
    "affine_forward cache must be the tuple (x, w, b)",
)
T.assert_shape(
    cache[0],
    x.shape,
    name="affine_forward cache[0]",
    hint="keep x in its original shape in the cache (not the flattened copy); the "
    "backward pass reshapes dx back to it",
)
### BEGIN HIDDEN TESTS
import cnnlab as cl

rng = np.random.default_rng(301)
x = rng.standard_normal((4, 3, 2, 5))
w = rng.standard_normal((30, 7))
b = rng.standard_normal(7)
with T.forbid_calls("cnnlab.layers", exercise="affine_forward"):
    out, cache = affine_forward(x.copy(), w.copy(), b.copy())  # the checks read x, w, b
ref = cl.layers.affine_forward(x, w, b)[0]
T.assert_allclose(
    out,
    ref,
    name="affine_forward on (4, 3, 2, 5)",
    hint="out = x.reshape(N, D) @ w + b with D = 3*2*5",
    mistakes=[
        ("bias missing: add b to every row of the product", ref - b),
        (
            "examples flattened in another order: x.reshape(N, -1) keeps each example's "
            "numbers in their row-major order (no transpose before the reshape)",
            cl.layers.affine_forward(np.moveaxis(x, 1, -1), w, b)[0],
        ),
    ],
)
T.assert_true(
    isinstance(cache, (tuple, list)) and len(cache) == 3,
    "affine_forward cache must be the tuple (x, w, b)",
)
T.assert_allclose(
    cache[0],
    x,
    name="affine_forward cache[0]",
    hint="keep x in its original shape in the cache (not the flattened copy); the "
    "backward pass reshapes dx back to it",
)
T.assert_allclose(cache[1], w, name="affine_forward cache[1]", hint="cache = (x, w, b)")
T.assert_allclose(cache[2], b, name="affine_forward cache[2]", hint="cache = (x, w, b)")
### END HIDDEN TESTS


# %% nbgrader={"grade": false, "grade_id": "affine_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def affine_backward(dout, cache):
    """Backward pass of affine_forward.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
        Upstream gradient.
    cache : tuple
        (x, w, b) with x of shape (N, d1, ..., dk), w (D, M), b (M,).

    Returns
    -------
    dx : ndarray, shape (N, d1, ..., dk)
        dout @ w.T, reshaped to the shape of x.
    dw : ndarray, shape (D, M)
        x.reshape(N, D).T @ dout (summed over the batch by the product).
    db : ndarray, shape (M,)
        dout summed over the batch.
    """
    ### BEGIN SOLUTION
    x, w, b = cache
    x_flat = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x_flat.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_affine_backward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

x = np.arange(8.0).reshape(2, 2, 2)
w = np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]])
b = np.array([0.0, 10.0, 100.0])
dout = np.array([[1.0, 0, 0], [0, 0, 1]])
with T.forbid_calls("cnnlab.layers", exercise="affine_backward"):
    dx, dw, db = affine_backward(dout, (x, w, b))
T.assert_allclose(
    dx,
    [[[1.0, 0], [0, 1]], [[0, 0], [1, 1]]],
    name="affine_backward dx",
    hint="dx = dout @ w.T, reshaped to the shape of x",
    mistakes=[("affine dx not reshaped back: dx = (dout @ w.T).reshape(x.shape)", (2, 4))],
)
T.assert_allclose(
    dw,
    [[0.0, 0, 4], [1, 0, 5], [2, 0, 6], [3, 0, 7]],
    name="affine_backward dw",
    hint="dw = x.reshape(N, D).T @ dout",
    mistakes=[
        ("dw averaged over the batch: the weights served every example, so SUM "
         "(x_flat.T @ dout already sums)", [[0.0, 0, 2], [0.5, 0, 2.5], [1, 0, 3], [1.5, 0, 3.5]]),
        ("dw from one example only: every example adds its outer product, summed over the batch",
         [[0.0, 0, 4], [0, 0, 5], [0, 0, 6], [0, 0, 7]]),
        ("dw from one example only: every example adds its outer product, summed over the batch",
         [[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0]]),
        ("dw has the shape of w, (D, M): x_flat.T @ dout, not dout.T @ x_flat", (3, 4)),
    ],
)  # fmt: skip
T.assert_allclose(
    db,
    [1.0, 0, 1],
    name="affine_backward db",
    hint="db = dout summed over the batch axis 0",
    mistakes=[
        ("db averaged over the batch: b served every example, so SUM over axis 0",
         [0.5, 0, 0.5]),
        ("db from one example only: sum dout over the whole batch (axis 0)", [0.0, 0, 1]),
        ("db from one example only: sum dout over the whole batch (axis 0)", [1.0, 0, 0]),
        ("db summed over the wrong axis: one entry per output, dout.sum(axis=0)", (2,)),
        ("db summed over the wrong axis: one entry per output, dout.sum(axis=0)", ()),
    ],
)  # fmt: skip
### BEGIN HIDDEN TESTS
import cnnlab as cl

rng = np.random.default_rng(302)
x = rng.standard_normal((5, 3, 4, 2))
w = rng.standard_normal((24, 6))
b = rng.standard_normal(6)
dout = rng.standard_normal((5, 6))
with T.forbid_calls("cnnlab.layers", exercise="affine_backward"):
    dx, dw, db = affine_backward(dout.copy(), (x.copy(), w.copy(), b.copy()))
ref_dx, ref_dw, ref_db = cl.layers.affine_backward(dout, (x, w, b))
x_flat = x.reshape(5, -1)
T.assert_allclose(
    dx,
    ref_dx,
    name="affine_backward dx on (5, 3, 4, 2)",
    hint="dx = (dout @ w.T).reshape(x.shape)",
    mistakes=[("affine dx not reshaped back: dx = (dout @ w.T).reshape(x.shape)", (5, 24))],
)
T.assert_allclose(
    dw,
    ref_dw,
    name="affine_backward dw with N = 5",
    hint="dw = x.reshape(N, D).T @ dout",
    mistakes=[
        ("dw averaged over the batch: the weights served every example, so SUM "
         "(x_flat.T @ dout already sums)", ref_dw / 5),
        ("dw from one example only: every example adds its outer product, summed over the batch",
         np.outer(x_flat[-1], dout[-1])),
        ("dw from one example only: every example adds its outer product, summed over the batch",
         np.outer(x_flat[0], dout[0])),
        ("dw has the shape of w, (D, M): x_flat.T @ dout, not dout.T @ x_flat", (6, 24)),
    ],
)  # fmt: skip
T.assert_allclose(
    db,
    ref_db,
    name="affine_backward db with N = 5",
    hint="db = dout summed over the batch axis 0",
    mistakes=[
        ("db averaged over the batch: b served every example, so SUM over axis 0", ref_db / 5),
        ("db from one example only: sum dout over the whole batch (axis 0)", dout[-1]),
        ("db from one example only: sum dout over the whole batch (axis 0)", dout[0]),
        ("db summed over the wrong axis: one entry per output, dout.sum(axis=0)", (5,)),
        ("db summed over the wrong axis: one entry per output, dout.sum(axis=0)", ()),
    ],
)


def learner_backward(dout, cache):
    """affine_backward on copies, so that the arrays check_gradients probes stay its own."""
    with T.forbid_calls("cnnlab.layers", exercise="affine_backward"):
        return affine_backward(dout.copy(), tuple(a.copy() for a in cache))


errors = cl.gradcheck.check_gradients(
    cl.layers.affine_forward, {"x": x, "w": w, "b": b}, learner_backward, dout=dout
)
for key, err in errors.items():
    T.assert_true(
        err < 1e-7,
        f"affine_backward d{key} vs numerical gradient: relative error {err:.1e}, above 1e-7",
    )
### END HIDDEN TESTS

# %% [markdown]
# ## 5. The backward pass of a convolution
#
# The convolution layer from notebook 01 computes, for image $n$, filter $f$ and output position
# $(i, j)$, with $s$ the stride and $x_p$ the zero-padded input,
#
# $$\text{out}[n,f,i,j] = b[f] + \sum_{c,p,q} w[f,c,p,q]\; x_p[n,c,\,is+p,\,js+q].$$
#
# In this notebook the forward pass is provided: `conv_forward(x, w, b, stride=..., pad=...)`
# from `cnnlab.layers` returns `(out, cache)` where the cache starts with the five inputs
# `(x, w, b, stride, pad)` (it also keeps a sixth item, its im2col matrix, which you can ignore).
# Apply the recipe from section 1, one parameter at a time:
#
# - **db.** $b[f]$ is added to every output of filter $f$, in every image:
#   $db[f] = \sum_{n,i,j} \text{dout}[n,f,i,j]$.
# - **dw.** $w[f,c,p,q]$ multiplies the input pixel under kernel position $(p, q)$ of every
#   window: $dw[f,c,p,q] = \sum_{n,i,j} \text{dout}[n,f,i,j]\; x_p[n,c,is+p,js+q]$. With stride
#   1 this is a *correlation of the input with the upstream gradient*: slide `dout[n, f]` over
#   `x_p[n, c]` like a kernel. The sum over $n$ is there because every image used the same
#   filters.
# - **dx.** Input pixel $x_p[n,c,r,t]$ is read by every window that covers it, each time
#   multiplied by the kernel weight that sits on it. Sending each output's gradient back through
#   its window gives $dx_p[n,c,\,is+p,\,js+q] \mathrel{+}= w[f,c,p,q]\;\text{dout}[n,f,i,j]$:
#   every `dout` value "stamps" a copy of the kernel, scaled, onto the input. For stride 1, this
#   sum of stamps is a **"full" convolution** of `dout` with the kernel, that is, a correlation
#   of the zero-padded `dout` with the **kernel flipped** in both directions. Finally the padding
#   is cut off: the zeros added around $x$ were not inputs, so `dx` is cropped back to
#   $H \times W$.
#
# With stride $s > 1$ the same loop formula holds; only the stamps are placed $s$ pixels apart.
# This view (the gradients of a convolution are themselves convolutions) explains why training
# costs about three times as much as inference: `dx` and `dw` each take the same
# $N F C\, K_H K_W\, O_H O_W$ multiply-adds as the forward pass (every output position meets
# every kernel weight once in each of the three sums).
# [Dumoulin & Visin (2016)](https://arxiv.org/abs/1603.07285) draw all the cases, including
# strides and padding.
#
# The figure checks these claims on one channel with `cnnlab.layers.conv_backward`: a single
# 1 in `dout` stamps the kernel; a random `dout` gives the full convolution; `dw` is the valid
# correlation of `x` with `dout`.

# %%
import scipy.signal

x_c = rng.standard_normal((1, 1, 7, 7))
k_c = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # asymmetric, so a flip would show
out_c, cache_c = cl.layers.conv_forward(x_c, k_c, np.zeros(1))
spike = np.zeros_like(out_c)
spike[0, 0, 1, 3] = 1.0
dx_spike, _, _ = cl.layers.conv_backward(spike, cache_c)
dout_c = rng.standard_normal(out_c.shape)
dx_c, dw_c, _ = cl.layers.conv_backward(dout_c, cache_c)
full = scipy.signal.convolve2d(dout_c[0, 0], k_c[0, 0], mode="full")
dw_corr = scipy.signal.correlate2d(x_c[0, 0], dout_c[0, 0], mode="valid")

panels = [
    (k_c[0, 0], "kernel w (3x3)"),
    (dx_spike[0, 0], "dx for dout = 1 at (1, 3)"),
    (dx_c[0, 0], "dx for random dout"),
    (full, f"full conv(dout, w)\nmax diff {np.abs(full - dx_c[0, 0]).max():.0e}"),
    (dw_c[0, 0], "dw (3x3)"),
    (dw_corr, f"valid corr(x, dout)\nmax diff {np.abs(dw_corr - dw_c[0, 0]).max():.0e}"),
]
fig, axes = plt.subplots(1, 6, figsize=(15, 3), layout="constrained")
for ax, (a, title) in zip(axes, panels):
    m = np.abs(a).max()
    ax.imshow(a, cmap="RdBu_r", vmin=-m, vmax=m)
    ax.set_title(title, fontsize=9)
    ax.set_xticks(range(a.shape[1]))
    ax.set_yticks(range(a.shape[0]))
    ax.set_xlabel("column")
    ax.set_ylabel("row")
fig.suptitle("Backward pass of a 3x3 convolution on a 7x7 input (stride 1, no padding)")
plt.show()
stamp = np.zeros((7, 7))
stamp[1:4, 3:6] = k_c[0, 0]
cl.claim(
    "dx for one spike is the kernel over rows 1-3, columns 3-5",
    np.abs(dx_spike[0, 0] - stamp).max(),
    equals=0.0,
)
cl.claim("dx is the full convolution to round-off", np.abs(full - dx_c[0, 0]).max(), high=1e-12)
cl.claim("dw is the valid correlation to round-off", np.abs(dw_corr - dw_c[0, 0]).max(), high=1e-12)

# %% [markdown]
# The second panel is the kernel itself, unflipped, placed over rows 1-3 and columns 3-5: the
# window that produced output (1, 3). The third and fourth panels agree to round-off, as do the
# fifth and sixth: `dx` is the full convolution of `dout` with `w`, and `dw` is the valid
# correlation of `x` with `dout`.
#
# **Worked example.** `x = np.arange(9.).reshape(1, 1, 3, 3)`, `w = [[1, 2], [3, 4]]` (one
# filter, one channel), `b = [0]`, stride 1, no padding, and `dout` all ones (1, 1, 2, 2). Then
# `db = [4]`; `dw[p, q]` is the sum of the 2x2 block of `x` starting at `(p, q)`:
# `[[8, 12], [20, 24]]`; and `dx` counts, for every pixel, the kernel weights that land on it:
# `[[1, 3, 2], [4, 10, 6], [3, 7, 4]]`.
#
# **Worked example 2: padding and stride.** `x = np.arange(16.).reshape(1, 1, 4, 4)`, the same
# `w`, `pad=1`, `stride=2` and `dout` all ones (1, 1, 3, 3). The 2x2 stamps sit 2 pixels apart
# on the padded 6x6 `dx_p`, so they tile it without overlap: `dx_p` is the kernel repeated 3x3
# times. Cropping the border of 1 leaves the 4x4 `dx = [[4, 3, 4, 3], [2, 1, 2, 1], [4, 3, 4, 3],
# [2, 1, 2, 1]]`: each input pixel is read by exactly one window, with one weight. `dw[p, q]`
# adds the pixels read by weight `w[p, q]`: `dw = [[40, 36], [24, 20]]` (for instance
# `dw[1, 1] = x[0, 0] + x[0, 2] + x[2, 0] + x[2, 2] = 0 + 2 + 8 + 10`), and `db = [9]`. An
# uncropped `dx` would have shape (1, 1, 6, 6); windows placed with stride 1 would overlap.
#
# ### Exercise 4: `conv_backward_naive` (4 points)
#
# Write the backward pass with loops over the batch, the filters and the output positions, for
# any stride and padding: the three sums of this section, returned as `dx` (N, C, H, W), the
# shape of `x` (the padding cut off), `dw` (F, C, KH, KW) and `db` (F,). The tests compare with
# `cnnlab.layers.conv_backward` and with numerical gradients; calling a library convolution
# (`cnnlab.layers`, `scipy.signal`, `scipy.ndimage`, `np.convolve` or `np.correlate`) from your
# function earns no points.
#
# <details><summary>Hint 1</summary>
#
# Visit the outputs one at a time. Output $(n, f, i, j)$ read one window of the padded input, so
# its gradient $g = \text{dout}[n,f,i,j]$ does three things: it adds $g\,w[f]$ onto that window
# of a padded $dx_p$, it adds $g$ times that window of the padded input to $dw[f]$, and it adds
# $g$ to $db[f]$. All C channels of a window can be handled at once by slicing.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Pad `x` once with `np.pad`, on the two spatial axes only (the batch and channel axes get
# `(0, 0)`), and start $dx_p$ as zeros of the padded shape. Window $(i, j)$ starts at row
# $i \cdot \text{stride}$ and column $j \cdot \text{stride}$ of the padded arrays and spans
# $K_H \times K_W$ pixels.
#
# </details>
#
# <details><summary>Hint 3</summary>
#
# Windows overlap and all F filters write onto the same pixels: accumulate with `+=`, never `=`.
# At the end, cut a border of `pad` pixels off **every** side of $dx_p$: rows `pad` up to
# `pad + H` (excluded), likewise the columns. Slicing `pad:-pad` fails when `pad` is 0.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "conv_backward_naive", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_backward_naive(dout, cache):
    """Backward pass of a convolution layer, with loops.

    Parameters
    ----------
    dout : ndarray, shape (N, F, OH, OW)
        Upstream gradient, OH = (H + 2*pad - KH) // stride + 1 (likewise OW).
    cache : tuple
        From conv_forward; its first five items are (x, w, b, stride, pad) with
        x (N, C, H, W), w (F, C, KH, KW), b (F,).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, KH, KW)
    db : ndarray, shape (F,)
    """
    x, w, b, stride, pad = cache[:5]
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, OH, OW = dout.shape
    x_p = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_p = np.zeros(x_p.shape)
    dw = np.zeros(w.shape)
    db = np.zeros(F)
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    r, c = i * stride, j * stride
                    g = dout[n, f, i, j]
                    dx_p[n, :, r : r + KH, c : c + KW] += g * w[f]
                    dw[f] += g * x_p[n, :, r : r + KH, c : c + KW]
                    db[f] += g
    dx = dx_p[:, :, pad : pad + H, pad : pad + W]
    return dx, dw, db
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_backward_naive", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T

FORBIDDEN = T.CONVOLUTION_LIBRARIES


def reference(x, w, dout, stride, pad):
    """(dx, dw, db) from cnnlab.layers.conv_backward."""
    _, cache = cl.layers.conv_forward(x, w, np.zeros(len(w)), stride=stride, pad=pad)
    return cl.layers.conv_backward(dout, cache)


def known_mistakes(x, w, dout, stride, pad):
    """What the known mistakes return, as (hint, dx/dw/db or shape) pairs for dx, dw and db."""
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    oh, ow = dout.shape[2:]
    dx, dw, db = reference(x, w, dout, stride, pad)
    dout_1 = np.zeros((n, f, h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1))
    dout_1[:, :, :oh, :ow] = dout  # the same dout values on windows placed with stride 1
    dx_s1, dw_s1, _ = reference(x, w, dout_1, 1, pad)
    x_p = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_p = reference(x_p, w, dout, stride, 0)[0]  # dx of the padded input, before cropping
    _, dw_one, db_one = reference(x[-1:], w, dout[-1:], stride, pad)
    stride_hint = ("stride ignored: window (i, j) starts at row i*stride and column j*stride "
                   "of the padded input")  # fmt: skip
    crop = "dx_p[:, :, pad:pad + H, pad:pad + W]"
    return {
        "dx": [
            (f"dx of a padded input not cropped: cut the pad border off, {crop}", dx_p.shape),
            (f"dx cropped on one side only: the padding is on every side, {crop}",
             dx_p[:, :, :h, :wd]),
            (f"dx cropped too much: dx_p[:, :, pad:H, pad:W] misses pad rows; use {crop}",
             (n, c, h - pad, wd - pad)),
            (f"dx is empty: dx_p[:, :, pad:-pad, pad:-pad] is empty when pad = 0; use {crop}",
             (n, c, 0, 0)),
            (stride_hint, dx_s1),
            ("the kernel was flipped: each dout[n, f, i, j] adds dout * w[f] as it is (no "
             "[::-1, ::-1]) onto its window", reference(x, w[:, :, ::-1, ::-1], dout, stride, pad)[0]),
        ],
        "dw": [
            (stride_hint, dw_s1),
            ("dw not summed over the batch: every image used the same filters, so dw adds the "
             "contributions of all N images (did you reset dw inside the loop over n?)", dw_one),
            ("dw averaged over the batch: the filters served every image, so SUM, not mean", dw / n),
        ],
        "db": [
            ("db not summed over the batch: b[f] was added in every image, so db[f] adds "
             "dout[:, f] of all N images", db_one),
            ("db averaged over the batch: SUM dout[:, f] over the images and positions", db / n),
            ("db counted once per position too often: add each dout[n, f, i, j] once "
             "(db[f] += dout[n, f, i, j], or dout[n, f].sum() outside the (i, j) loops)",
             db * oh * ow),
        ],
    }  # fmt: skip


def check(x, w, dout, stride, pad, expected=None):
    """Run conv_backward_naive on the cache of conv_forward; compare dx, dw, db."""
    label = f"x {x.shape}, w {w.shape}, stride {stride}, pad {pad}"
    if expected is None:
        expected = reference(x, w, dout, stride, pad)
    known = {  # a mistake that shows in the shape only is named when the shape is wrong
        key: [(h, m) for h, m in pairs if not (isinstance(m, tuple) and m == np.shape(expected[k]))]
        for k, (key, pairs) in enumerate(known_mistakes(x, w, dout, stride, pad).items())
    }
    _, cache = cl.layers.conv_forward(x, w, np.zeros(len(w)), stride=stride, pad=pad)
    with T.forbid_calls(*FORBIDDEN, exercise="conv_backward_naive"):
        dx, dw, db = conv_backward_naive(dout, cache)
    T.assert_allclose(dx, expected[0], name=f"dx ({label})", mistakes=known["dx"],
                      hint="every output (n, f, i, j) adds dout[n, f, i, j] * w[f] onto its "
                      "window of the padded dx with += (windows overlap, all F filters add "
                      "up), and the padding is cropped at the end")  # fmt: skip
    T.assert_allclose(dw, expected[1], name=f"dw ({label})", mistakes=known["dw"],
                      hint="dw[f] = sum over n, i, j of dout[n, f, i, j] times the padded input "
                      "window of output (i, j), all C channels at once")  # fmt: skip
    T.assert_allclose(db, expected[2], name=f"db ({label})", mistakes=known["db"],
                      hint="db[f] = sum of dout[:, f] over the batch and all positions")  # fmt: skip


# Worked example 1 (section 5): stride 1, no padding, dout all ones.
x = np.arange(9.0).reshape(1, 1, 3, 3)
w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
check(x, w, np.ones((1, 1, 2, 2)), stride=1, pad=0, expected=(
    [[[[1.0, 3, 2], [4, 10, 6], [3, 7, 4]]]], [[[[8.0, 12], [20, 24]]]], [4.0]))  # fmt: skip

# Worked example 2: pad 1, stride 2, dout all ones. The 2x2 stamps of w tile the padded 6x6
# dx_p without overlap, so each input pixel receives exactly one weight; cropping the border
# of 1 leaves dx = [[4, 3, 4, 3], [2, 1, 2, 1], [4, 3, 4, 3], [2, 1, 2, 1]]. dw[p, q] adds the
# four pixels under weight w[p, q]: dw[1, 1] = x[0, 0] + x[0, 2] + x[2, 0] + x[2, 2] = 20.
x = np.arange(16.0).reshape(1, 1, 4, 4)
check(x, w, np.ones((1, 1, 3, 3)), stride=2, pad=1, expected=(
    np.tile([[4.0, 3], [2, 1]], (2, 2))[None, None], [[[[40.0, 36], [24, 20]]]], [9.0]))  # fmt: skip

# Example 3, the same rules with a batch: 2 images, 2 channels, 3 filters, 3x3 kernels, stride 2
# and pad 1 (overlapping windows), small integers; expected values from cnnlab.layers.
rng = np.random.default_rng(4)
x = rng.integers(-3, 4, size=(2, 2, 5, 5)).astype(np.float64)
w = rng.integers(-2, 3, size=(3, 2, 3, 3)).astype(np.float64)
check(x, w, rng.integers(-2, 3, size=(2, 3, 3, 3)).astype(np.float64), stride=2, pad=1)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(401)
# (N, C, H, W), (F, KH, KW), stride, pad
cases = [
    ((1, 2, 5, 6), (3, 3, 3), 1, 0),
    ((3, 2, 7, 6), (4, 3, 3), 2, 1),
    ((2, 3, 8, 7), (2, 2, 3), 3, 2),
    ((2, 1, 5, 4), (2, 3, 2), 1, 1),
    ((2, 2, 7, 7), (3, 3, 3), 2, 0),
]
for (n, c, h, wd), (f, kh, kw), stride, pad in cases:
    x = rng.standard_normal((n, c, h, wd))
    w = rng.standard_normal((f, c, kh, kw))
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    check(x, w, rng.standard_normal((n, f, oh, ow)), stride, pad)


def learner_backward(dout, cache):
    """conv_backward_naive on copies, so that the arrays check_gradients probes stay its own."""
    cache = tuple(c.copy() if isinstance(c, np.ndarray) else c for c in cache)
    with T.forbid_calls(*FORBIDDEN, exercise="conv_backward_naive"):
        return conv_backward_naive(dout.copy(), cache)


# numerical gradients of x, w and b, stride 2 and pad 1
errors = cl.gradcheck.check_gradients(
    lambda x, w, b: cl.layers.conv_forward(x, w, b, stride=2, pad=1),
    {"x": rng.standard_normal((2, 2, 5, 5)), "w": rng.standard_normal((3, 2, 3, 3)),
     "b": rng.standard_normal(3)},
    learner_backward,
    rng=rng,
)  # fmt: skip
for key, err in errors.items():
    T.assert_true(
        err < 1e-7,
        f"conv_backward_naive d{key} vs numerical gradient: relative error {err:.1e}, above 1e-7",
    )
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Max pooling and where its gradient goes
#
# A max-pooling layer slides a `size x size` window with step `stride` over every channel
# separately and keeps the largest value of each window, so
# $O_H = \lfloor (H - \text{size}) / \text{stride} \rfloor + 1$ (likewise $O_W$). It has no
# parameters. It shrinks the feature maps (2x2 windows
# with stride 2 keep a quarter of the values, which cuts the cost of the following layers), and
# it makes the response tolerant to small shifts: a feature that moves by one pixel inside a
# window gives the same maximum. Windows may overlap: AlexNet used 3x3 windows with stride 2.
#
# The gradient is simple once you see which input produced each output. The output of a window
# *is* one of its inputs, so the window's upstream gradient goes to **that one position**, and
# every other position of the window gets nothing from it (a small change there does not change
# the maximum). Two details matter:
#
# - **Ties.** If two positions hold the same maximum, the function has no unique derivative.
#   We follow the usual convention: the gradient goes to the **first** maximum in row-major
#   order inside the window (what `np.argmax` returns).
# - **Overlap.** When `stride < size`, one input can be the maximum of several windows. It
#   receives the **sum** of their gradients, because it influenced all of them: write with `+=`,
#   never `=`.
#
# The figure routes `dout = 1` back through max pooling of a random 8x8 input, without and with
# overlap.

# %%
x_pool = rng.random((1, 1, 8, 8))
p22, cache22 = cl.layers.maxpool_forward(x_pool, 2, stride=2)
route22 = cl.layers.maxpool_backward(np.ones_like(p22), cache22)
p31, cache31 = cl.layers.maxpool_forward(x_pool, 3, stride=1)
route31 = cl.layers.maxpool_backward(np.ones_like(p31), cache31)
fig, axes = plt.subplots(1, 3, figsize=(13, 4), layout="constrained")
axes[0].imshow(x_pool[0, 0], cmap="viridis")
axes[0].set_title("input (8x8), 2x2 windows outlined")
for t in np.arange(-0.5, 8, 2):
    axes[0].axhline(t, color="white", lw=1.5)
    axes[0].axvline(t, color="white", lw=1.5)
for ax, route, title in (
    (axes[1], route22, "dx for dout = 1: 2x2 windows, stride 2"),
    (axes[2], route31, "dx for dout = 1: 3x3 windows, stride 1"),
):
    ax.imshow(route[0, 0], cmap="Reds", vmin=0, vmax=max(route.max(), 1))
    for (r, c), v in np.ndenumerate(route[0, 0]):
        if v:
            ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=9)
    ax.set_title(title)
for ax in axes:
    ax.set_xlabel("column")
    ax.set_ylabel("row")
plt.show()
winners31 = int(np.count_nonzero(route31))
print(f"2x2/2: {np.count_nonzero(route22)} pixels receive {route22.sum():g}; "
      f"3x3/1: {winners31} pixels receive {route31.sum():g} (at most {route31.max():g} each)")  # fmt: skip
cl.claim(
    "16 ones for 16 windows",
    (int(np.count_nonzero(route22)), float(route22.max())),
    equals=(16, 1.0),
)
cl.claim("36 windows with 3x3/1", (p31.size, float(route31.sum())), equals=(36, 36.0))
cl.claim("far fewer than 36 pixels win", winners31, high=18)

# %% [markdown]
# With non-overlapping 2x2 windows, exactly one pixel per window receives the gradient (16 ones
# for 16 windows). With 3x3 windows and stride 1 there are 36 windows, but they share winners: a
# large pixel wins every window that contains it and collects one unit of gradient from each,
# so the numbers add up to 36 over far fewer pixels (the printout counts them). A backward pass
# that wrote `=` instead of `+=` would show only ones here, and a test with 2x2 windows alone
# would never notice.
#
# **Worked example.** For the 4x4 input
# `[[1, 2, 5, 0], [3, 4, 1, 1], [0, 0, 2, 9], [7, 1, 3, 3]]` and 2x2 windows with stride 2 the
# output is `[[4, 5], [7, 9]]`. With `dout = [[1, 2], [3, 4]]` the gradient lands on the
# positions of 4, 5, 7 and 9: `dx[1, 1] = 1`, `dx[0, 2] = 2`, `dx[3, 0] = 3`, `dx[2, 3] = 4`,
# zeros elsewhere. No window of this input has a tie; a separate 2x2 input
# `[[3, 3], [1, 3]]` (one window, three equal maxima) with `dout = [[5]]` gives
# `dx = [[5, 0], [0, 0]]`: the whole gradient goes to the first 3 in row-major order.
#
# **Worked example 2: overlapping windows.** For the 4x4 input
# `[[1, 2, 0, 3], [9, 4, 1, 5], [0, 6, 2, 8], [7, 3, 5, 1]]`, 3x3 windows with stride 1 start
# at rows and columns 0 and 1, so there are 2x2 of them. The 9 at (1, 0) is the maximum of both
# left windows and the 8 at (2, 3) of both right ones: the output is `[[9, 8], [9, 8]]`. With
# `dout = [[1, 2], [3, 4]]`, `dx[1, 0] = 1 + 3 = 4` and `dx[2, 3] = 2 + 4 = 6`, zeros elsewhere.
# Writing `=` instead of `+=` would leave 3 and 4.
#
# ### Exercise 5a: `maxpool_forward_naive` (2 points) and 5b: `maxpool_backward_naive` (3 points)
#
# Loop over images, channels and output positions; NumPy may do the work inside one window.
# `maxpool_forward_naive` returns the maxima, shape (N, C, OH, OW), and the cache
# `(x, size, stride)`. `maxpool_backward_naive` returns `dx` in the shape of `x`: each window's
# gradient goes to the position of its maximum (on ties, the first one in row-major order), and
# where windows overlap, the gradients that reach one input add up. The tests use overlapping
# windows (3x3 with stride 1 and 2), odd sizes, and inputs with ties. As in every layer of the
# course, `stride` is a keyword argument, `maxpool_forward_naive(x, 3, stride=1)`; without it
# the windows sit side by side (stride = size, PyTorch's default too), which the two given
# lines at the top of the function take care of.
#
# <details><summary>Hint 1 (5a)</summary>
#
# Compute the output size from the formula of this section first, then fill the output one
# window at a time. Window $(i, j)$ covers the rows from $i \cdot \text{stride}$ up to
# $i \cdot \text{stride} + \text{size}$ (excluded), likewise the columns: it moves by the
# stride, not by its own size.
#
# </details>
#
# <details><summary>Hint 2 (5b)</summary>
#
# Cut each window out of the cached `x` again and find where its maximum sits. `np.argmax`
# gives the first maximum as a position in the flattened window; `np.unravel_index` turns that
# position into a (row, column) pair inside the window. Add the window's top-left corner to
# reach the right element of `dx`.
#
# </details>
#
# <details><summary>Hint 3 (5b)</summary>
#
# One input can be the maximum of several overlapping windows, and it receives the gradient of
# each of them: add into `dx` with `+=`, never `=`.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "maxpool_forward_naive", "locked": false, "schema_version": 3, "solution": true, "task": false}
def maxpool_forward_naive(x, size=2, *, stride=None):
    """Max pooling over size x size windows moved by stride, with loops.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    size : int, default 2
        Window height and width.
    stride : int, optional, keyword-only
        Step between windows; None (the default) means stride = size, windows side by side.
        Windows overlap when stride < size.

    Returns
    -------
    out : ndarray, shape (N, C, OH, OW)
        OH = floor((H - size) / stride) + 1, likewise OW.
    cache : tuple
        (x, size, stride), with the stride actually used (an int, never None).
    """
    if stride is None:  # the default, as in cl.layers.maxpool_forward and PyTorch
        stride = size
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    OH = (H - size) // stride + 1
    OW = (W - size) // stride + 1
    out = np.zeros((N, C, OH, OW))
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    r, s = i * stride, j * stride
                    out[n, c, i, j] = x[n, c, r : r + size, s : s + size].max()
    return out, (x, size, stride)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_maxpool_forward_naive", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

x = np.array([[[[1.0, 2, 5, 0], [3, 4, 1, 1], [0, 0, 2, 9], [7, 1, 3, 3]]]])
with T.forbid_calls("cnnlab.layers", exercise="maxpool_forward_naive"):
    out, cache = maxpool_forward_naive(x)
T.assert_allclose(
    out,
    [[[[4.0, 5.0], [7.0, 9.0]]]],
    name="maxpool_forward_naive (worked example)",
    hint="default size=2, stride=2: the maximum of each 2x2 block",
)
# overlapping windows: 3x3 with stride 1 on a 4x4 input gives 2x2 windows starting at rows and
# columns 0 and 1; the 9 at (1, 0) wins the two left windows, the 8 at (2, 3) the two right ones
x = np.array([[[[1.0, 2, 0, 3], [9, 4, 1, 5], [0, 6, 2, 8], [7, 3, 5, 1]]]])
with T.forbid_calls("cnnlab.layers", exercise="maxpool_forward_naive"):
    out, cache = maxpool_forward_naive(x, size=3, stride=1)
T.assert_allclose(
    out,
    [[[[9.0, 8.0], [9.0, 8.0]]]],
    name="maxpool_forward_naive(x, size=3, stride=1)",
    hint="window (i, j) is x[n, c, i*stride : i*stride + size, j*stride : j*stride + size]",
    mistakes=[
        ("window moved by size instead of stride: window (i, j) starts at i*stride, j*stride",
         [[[[9.0, 8.0], [7.0, 1.0]]]]),
        ("OH = (H - size) // stride + 1 = 2: move the window by stride, not by size", (1, 1, 1, 1)),
    ],
)  # fmt: skip
T.assert_true(
    isinstance(cache, (tuple, list)) and len(cache) == 3,
    "maxpool_forward_naive cache must be the tuple (x, size, stride)",
)
T.assert_equal(
    (int(cache[1]), int(cache[2])), (3, 1), name="maxpool_forward_naive cache (size, stride)"
)
### BEGIN HIDDEN TESTS
import cnnlab as cl

rng = np.random.default_rng(501)
for shape, size, stride in [
    ((2, 3, 7, 8), 3, 1),
    ((2, 3, 7, 9), 3, 2),
    ((3, 2, 6, 5), 2, 2),
    ((1, 4, 9, 7), 2, 3),
]:
    label = f"x {shape}, size {size}, stride {stride}"
    x = rng.standard_normal(shape)
    with T.forbid_calls("cnnlab.layers", exercise="maxpool_forward_naive"):
        out, cache = maxpool_forward_naive(x, size=size, stride=stride)
    ref = cl.layers.maxpool_forward(x, size, stride=stride)[0]
    T.assert_shape(
        out,
        ref.shape,
        name=f"maxpool_forward_naive shape ({label})",
        hint="OH = (H - size) // stride + 1: move the window by stride, not by size",
    )
    T.assert_allclose(
        out,
        ref,
        name=f"maxpool_forward_naive ({label})",
        hint="window (i, j) of channel c is x[n, c, i*stride:i*stride+size, "
        "j*stride:j*stride+size]; pool every channel separately",
    )
    T.assert_true(
        isinstance(cache, (tuple, list)) and len(cache) == 3,
        "maxpool_forward_naive cache must be the tuple (x, size, stride)",
    )
    T.assert_allclose(cache[0], x, name="maxpool_forward_naive cache[0]", hint="cache[0] is x")
    T.assert_equal(
        (int(cache[1]), int(cache[2])),
        (size, stride),
        name="maxpool_forward_naive cache (size, stride)",
    )
x = rng.standard_normal((1, 2, 7, 7))
with T.forbid_calls("cnnlab.layers", exercise="maxpool_forward_naive"):
    out, cache = maxpool_forward_naive(x, 3)
T.assert_allclose(
    out,
    cl.layers.maxpool_forward(x, 3)[0],
    name="maxpool_forward_naive(x, 3), default stride",
    hint="without a stride the windows sit side by side: stride = size (the given first lines)",
)
T.assert_equal(
    cache[2],
    3,
    name="maxpool_forward_naive(x, 3) cache stride",
    hint="cache the stride actually used: size when no stride is given, never None",
)
### END HIDDEN TESTS


# %% nbgrader={"grade": false, "grade_id": "maxpool_backward_naive", "locked": false, "schema_version": 3, "solution": true, "task": false}
def maxpool_backward_naive(dout, cache):
    """Backward pass of max pooling, with loops.

    Each window sends its upstream gradient to the position of its maximum; on ties, to the
    first maximum in row-major order inside the window. Where windows overlap, the gradients
    that reach one input add up.

    Parameters
    ----------
    dout : ndarray, shape (N, C, OH, OW)
    cache : tuple
        (x, size, stride) with x of shape (N, C, H, W).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    ### BEGIN SOLUTION
    x, size, stride = cache
    N, C, OH, OW = dout.shape
    dx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    r, s = i * stride, j * stride
                    window = x[n, c, r : r + size, s : s + size]
                    p, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, r + p, s + q] += dout[n, c, i, j]
    return dx
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_maxpool_backward_naive", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

x = np.array([[[[1.0, 2, 5, 0], [3, 4, 1, 1], [0, 0, 2, 9], [7, 1, 3, 3]]]])
dout = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
expected = np.zeros((1, 1, 4, 4))
expected[0, 0, 1, 1], expected[0, 0, 0, 2], expected[0, 0, 3, 0], expected[0, 0, 2, 3] = 1, 2, 3, 4
every_element = (
    "pooling gradient sent to every element of the window: only the position of "
    "the window's maximum gets dout, the others get 0"
)
with T.forbid_calls("cnnlab.layers", exercise="maxpool_backward_naive"):
    dx = maxpool_backward_naive(dout, (x, 2, 2))
T.assert_shape(dx, (1, 1, 4, 4), name="maxpool_backward_naive dx shape")
T.assert_equal(
    int(np.count_nonzero(dx)),
    4,
    name="inputs receiving gradient (worked example)",
    hint=every_element,
)
T.assert_allclose(
    dx,
    expected,
    name="maxpool_backward_naive (worked example)",
    hint="each window's gradient goes only to the position of its maximum",
)
with T.forbid_calls("cnnlab.layers", exercise="maxpool_backward_naive"):
    dx = maxpool_backward_naive(
        np.array([[[[5.0]]]]), (np.array([[[[3.0, 3.0], [1.0, 3.0]]]]), 2, 2)
    )
T.assert_equal(
    int(np.count_nonzero(dx)),
    1,
    name="inputs receiving gradient on a tie",
    hint="on ties the gradient was sent to every maximum (or every element); it must "
    "go to ONE position, the first maximum in row-major order",
)
T.assert_allclose(
    dx,
    [[[[5.0, 0.0], [0.0, 0.0]]]],
    name="maxpool_backward_naive on a tie",
    hint="on ties the gradient goes to the FIRST maximum in row-major order, not "
    "the last (np.argmax(window) gives the first)",
)
# overlapping windows, 3x3 with stride 1: the 9 at (1, 0) wins windows (0, 0) and (1, 0), so it
# receives dout 1 + 3 = 4; the 8 at (2, 3) wins windows (0, 1) and (1, 1) and receives 2 + 4 = 6
x = np.array([[[[1.0, 2, 0, 3], [9, 4, 1, 5], [0, 6, 2, 8], [7, 3, 5, 1]]]])
expected = np.zeros((1, 1, 4, 4))
expected[0, 0, 1, 0], expected[0, 0, 2, 3] = 4, 6
with T.forbid_calls("cnnlab.layers", exercise="maxpool_backward_naive"):
    dx = maxpool_backward_naive(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), (x, 3, 1))
overwritten = np.zeros((1, 1, 4, 4))
overwritten[0, 0, 1, 0], overwritten[0, 0, 2, 3] = 3, 4
T.assert_allclose(
    dx,
    expected,
    name="maxpool_backward_naive, 3x3 windows with stride 1",
    hint="each window adds its dout to the position of its maximum; where windows overlap, "
    "the contributions add up",
    mistakes=[
        ("overlapping windows overwritten instead of accumulated: an input that is the maximum "
         "of several windows gets the SUM of their gradients (+=, not =)", overwritten),
        ("window moved by size instead of stride: window (i, j) starts at i*stride, j*stride",
         [[[[0.0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 2], [3, 0, 0, 4]]]]),
    ],
)  # fmt: skip
### BEGIN HIDDEN TESTS
import cnnlab as cl


def run(x, size, stride, dout):
    with T.forbid_calls("cnnlab.layers", exercise="maxpool_backward_naive"):
        return maxpool_backward_naive(dout, (x, size, stride))


def reference(x, size, stride, dout):
    _, cache = cl.layers.maxpool_forward(x, size, stride=stride)
    return cl.layers.maxpool_backward(dout, cache)


def overwritten(x, size, stride, dout):
    """What a backward pass that writes dx[...] = dout instead of += returns."""
    dx = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(dout.shape):
        window = x[n, c, i * stride : i * stride + size, j * stride : j * stride + size]
        p, q = np.unravel_index(np.argmax(window), window.shape)
        dx[n, c, i * stride + p, j * stride + q] = dout[n, c, i, j]
    return dx


rng = np.random.default_rng(502)
# 1. non-overlapping windows, no ties: one position per window
x = rng.standard_normal((2, 3, 6, 8))
dout = rng.uniform(1, 2, size=(2, 3, 3, 4))
dx = run(x, 2, 2, dout)
T.assert_shape(dx, x.shape, name="maxpool_backward_naive dx shape")
T.assert_equal(
    int(np.count_nonzero(dx)),
    2 * 3 * 3 * 4,
    name="number of inputs receiving gradient (2x2 windows, no ties)",
    hint="pooling gradient sent to every element of the window: only the position "
    "of the window's maximum gets dout, the others get 0",
)
T.assert_allclose(
    dx,
    reference(x, 2, 2, dout),
    name="maxpool_backward_naive, 2x2 stride 2",
    hint="send dout[n, c, i, j] to the argmax of window (i, j) of channel c",
)
# 2. ties: integer-valued inputs
x = rng.integers(0, 3, size=(2, 2, 6, 6)).astype(np.float64)
dout = rng.uniform(1, 2, size=(2, 2, 3, 3))
dx = run(x, 2, 2, dout)
T.assert_equal(
    int(np.count_nonzero(dx)),
    2 * 2 * 3 * 3,
    name="number of inputs receiving gradient (2x2 windows with tied maxima)",
    hint="on ties the gradient was sent to every maximum; it must go to ONE position, "
    "the first maximum in row-major order",
)
T.assert_allclose(
    dx,
    reference(x, 2, 2, dout),
    name="maxpool_backward_naive with tied maxima",
    hint="on ties the gradient goes to the FIRST maximum in row-major order, not "
    "the last (np.argmax(window) gives the first; a loop with >= finds the last)",
)
# 3. overlapping windows: gradients of several windows add up
for shape, size, stride in [((2, 3, 7, 8), 3, 1), ((2, 2, 9, 7), 3, 2)]:
    x = rng.standard_normal(shape)
    oh, ow = (shape[2] - size) // stride + 1, (shape[3] - size) // stride + 1
    dout = rng.uniform(1, 2, size=(shape[0], shape[1], oh, ow))
    dx = run(x, size, stride, dout)
    T.assert_allclose(
        dx,
        reference(x, size, stride, dout),
        name=f"maxpool_backward_naive, {size}x{size} stride {stride}, x {shape}",
        hint="send dout[n, c, i, j] to the first maximum of window (i, j), which starts at "
        "(i*stride, j*stride), and add (+=) where windows overlap",
        mistakes=[
            ("overlapping windows overwritten instead of accumulated: an input that is the "
             "maximum of several windows gets the SUM of their gradients (+=)",
             overwritten(x, size, stride, dout)),
        ],
    )  # fmt: skip
# 4. overlapping windows with ties, and a numerical gradient (no ties) check
x = rng.integers(0, 4, size=(1, 2, 7, 7)).astype(np.float64)
dout = rng.standard_normal((1, 2, 3, 3))
T.assert_allclose(
    run(x, 3, 2, dout),
    reference(x, 3, 2, dout),
    name="maxpool_backward_naive, 3x3 stride 2 with ties",
    hint="first maximum in each window, contributions added with +=",
)
x = rng.permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6) * 0.1 + rng.uniform(0, 0.01, (2, 2, 7, 6))
errors = cl.gradcheck.check_gradients(
    lambda z: (cl.layers.maxpool_forward(z, 3, stride=1)[0], (z, 3, 1)),
    {"x": x},
    lambda dout, cache: run(cache[0].copy(), 3, 1, dout.copy()),  # copies: its arrays stay its own
    rng=rng,
)
T.assert_true(
    errors["x"] < 1e-7,
    "maxpool_backward_naive (3x3 stride 1) dx vs numerical gradient: relative error "
    f"{errors['x']:.1e}, above 1e-7",
)
### END HIDDEN TESTS

# %% [markdown]
# ## 6b. Average pooling, and what padding means for a pooling layer
#
# **Average pooling** slides the same `size x size` windows as max pooling but keeps the mean
# of each window instead of its largest value:
#
# $$\text{out}[n,c,i,j] = \frac{1}{\text{size}^2}\sum_{p=0}^{\text{size}-1}
#   \sum_{q=0}^{\text{size}-1} x_p[n,\,c,\,i\cdot\text{stride}+p,\,j\cdot\text{stride}+q],$$
#
# where $x_p$ is the (possibly padded) input.
# [LeNet-5](http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf) pooled by averaging (with a
# learned scale and bias per map); today average pooling survives where a smooth summary is
# wanted, for instance between the dense blocks of [DenseNet](https://arxiv.org/abs/1608.06993),
# and as global average pooling (section 7), one window as large as the whole map.
#
# **Padding.** A pooling layer can pad its input like a convolution, with the same output size
# $\text{OH} = \lfloor(H + 2\,\text{pad} - \text{size})/\text{stride}\rfloor + 1$: a 3x3
# window with stride 1 and pad 1 keeps the size of the map. But what does a padded position
# contribute to a window?
#
# - **Average pooling** has two conventions. Either the padded zeros count as values, and every
#   window is divided by $\text{size}^2$ (PyTorch's `nn.AvgPool2d` default,
#   `count_include_pad=True`), or only the real pixels of a window are averaged
#   (`count_include_pad=False`). **In this course the zeros count: the divisor is always
#   $\text{size}^2$.** A window at the border then holds fewer real pixels and its mean is
#   pulled towards 0: the output gets a darker frame.
# - **Max pooling** must never pad with zeros. A window of negative values at the border would
#   return the padded 0, a value that is nowhere in the input. Max pooling pads with
#   $-\infty$ (what PyTorch's `nn.MaxPool2d(3, stride=1, padding=1)` does), so a padded position
#   never wins a window and never receives a gradient.
#
# **Backward pass.** Every position of a window contributed $1/\text{size}^2$ of its mean, so
# each of the $\text{size}^2$ positions receives $\text{dout}[n,c,i,j]/\text{size}^2$. As for max
# pooling, overlapping windows (stride < size) **add** their contributions. The padded positions
# receive their share too, and it is thrown away when the padding is cut off at the end: that
# share is the part of the mean that came from the zeros.
#
# The figure pools a photograph with 3x3 windows, stride 1 and pad 1, and follows the top row
# of the result under both conventions; the last panel max-pools the same row shifted to be
# negative, with zero and with $-\infty$ padding.

# %%
photo_pool = cl.data.sample_image("china", gray=True, downscale=8)[None, None]  # (1, 1, H, W)
pad1 = ((0, 0), (0, 0), (1, 1), (1, 1))
avg_zeros, _ = cl.layers.avgpool_forward(np.pad(photo_pool, pad1), 3, stride=1)
real_count, _ = cl.layers.avgpool_forward(np.pad(np.ones_like(photo_pool), pad1), 3, stride=1)
avg_real = avg_zeros / real_count  # the mean over the real pixels of each window only
negative = photo_pool - 2.0  # every value between -2 and -1
max_zero_pad, _ = cl.layers.maxpool_forward(np.pad(negative, pad1), 3, stride=1)
max_inf_pad, _ = cl.layers.maxpool_forward(
    np.pad(negative, pad1, constant_values=-np.inf), 3, stride=1
)
fig, axes = plt.subplots(1, 3, figsize=(14, 3.6), layout="constrained", width_ratios=[1, 1.2, 1.2])
axes[0].imshow(avg_zeros[0, 0], cmap="gray", vmin=0, vmax=1)
axes[0].set_title("3x3 average pooling, stride 1, pad 1\n(padded zeros counted)", fontsize=9)
axes[0].set_xlabel("column")
axes[0].set_ylabel("row")
cols = np.arange(photo_pool.shape[3])
axes[1].plot(cols, photo_pool[0, 0, 0], "k-", lw=1, label="input, row 0")
axes[1].plot(cols, avg_real[0, 0, 0], "o-", ms=2, label="mean of the real pixels only")
axes[1].plot(cols, avg_zeros[0, 0, 0], "o-", ms=2, label="zeros counted (this course)")
axes[1].set_xlabel("column")
axes[1].set_ylabel("value in row 0")
axes[1].set_title("Average pooling, top row: the zeros pull it down", fontsize=9)
axes[1].legend(fontsize=8)
axes[2].plot(cols, negative[0, 0, 0], "k-", lw=1, label="input - 2, row 0")
axes[2].plot(cols, max_inf_pad[0, 0, 0], "o-", ms=2, label="max pool, pad with -inf")
axes[2].plot(cols, max_zero_pad[0, 0, 0], "o-", ms=2, color="tab:red", label="max pool, pad with 0")
axes[2].set_xlabel("column")
axes[2].set_ylabel("value in row 0")
axes[2].set_title("Max pooling a negative map: a zero pad wins every border window", fontsize=9)
axes[2].legend(fontsize=8)
plt.show()
inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))
top_ratio = float(avg_zeros[0, 0, 0, 1:-1].mean() / avg_real[0, 0, 0, 1:-1].mean())
print(f"top row, zeros counted / real pixels only: {top_ratio:.3f}; corners hold "
      f"{real_count[0, 0, 0, 0] * 9:g} real pixels of 9")  # fmt: skip
cl.claim("inside, both conventions agree", np.abs(avg_zeros - avg_real)[inner].max(), high=1e-12)
cl.claim("a border window holds 6 real pixels of 9: 2/3", top_ratio, low=0.6666, high=0.6667)
cl.claim("in a corner 4 real pixels of 9", float(real_count[0, 0, 0, 0] * 9), low=3.99, high=4.01)
zero_border = bool((max_zero_pad[0, 0, 0] == 0).all() and (max_zero_pad[0, 0, :, 0] == 0).all())
cl.claim("zero padding makes every border output of max pooling 0", zero_border, equals=True)
cl.claim("with -inf padding every output is negative", max_inf_pad.max(), high=-1.0 + 1e-12)

# %% [markdown]
# Inside the image the two conventions agree; only the border differs. In the top row a window
# holds 6 real pixels and 3 padded zeros, so with the zeros counted its mean is 6/9 = 2/3 of the
# mean of its real pixels (the printed ratio), and in the corners, with 4 real pixels of 9, less
# than half. That darker frame is the price of keeping the size with zero padding. On the right,
# max pooling with a zero pad returns 0 in every border window of the negative row, a value the
# input never takes; with $-\infty$ padding the border outputs follow the input.
#
# **Worked example.** A 3x3 input of ones, 3x3 windows, stride 1, pad 1: the centre window holds
# 9 ones, an edge window 6 ones and 3 zeros, a corner window 4 ones and 5 zeros, so the output is
# `[[4, 6, 4], [6, 9, 6], [4, 6, 4]] / 9`. Back with `dout` all ones, each window gives 1/9 to
# each of its 9 positions; a pixel collects 1/9 from every window that covers it (4 windows for
# a corner pixel, 6 for an edge pixel, 9 for the centre), so `dx` is again
# `[[4, 6, 4], [6, 9, 6], [4, 6, 4]] / 9`.
#
# ### Exercise 5c: `avgpool_forward_naive` (2 points) and 5d: `avgpool_backward_naive` (2 points)
#
# Write average pooling with loops over images, channels and output positions (NumPy may
# compute the mean of one window), for any window size, stride and padding, with the padded
# zeros counted in every mean, as above. As for max pooling, `stride` is a keyword argument
# that defaults to the window size, which the two given lines take care of; `pad` is a keyword
# argument too, default 0: `avgpool_forward_naive(x, 3, stride=1, pad=1)`. The forward pass
# returns the means, shape (N, C, OH, OW) with OH and OW from the formula above, and leaves `x`
# unchanged. The cache is the tuple `(x.shape, size, stride, pad)`, with the shape of the
# unpadded `x` and the stride actually used: all the backward pass needs. The backward pass
# returns `dx` shaped like `x`. (The tests give your backward pass such a cache directly, so
# each exercise is graded on its own.) Calling `cnnlab.layers`, SciPy or a NumPy convolution
# earns no points.
#
# <details><summary>Hint 1 (5c)</summary>
#
# Forward: pad first, then pool the padded array exactly as your max pooling did, with the
# mean of a window in place of its maximum. A window of the padded array already holds its
# zeros, so its plain mean divides by $\text{size}^2$.
#
# </details>
#
# <details><summary>Hint 2 (5d)</summary>
#
# Backward: start from zeros shaped like the *padded* input, $(N, C, H + 2\,\text{pad},
# W + 2\,\text{pad})$. For each output $(n, c, i, j)$ add $\text{dout}[n,c,i,j]/\text{size}^2$
# to the whole window that produced it (the same slice as in the forward pass); adding, not
# assigning, because windows overlap. Then cut off `pad` rows and columns on every side.
#
# </details>
#
# <details><summary>Hint 3 (5c and 5d)</summary>
#
# The padded zeros come from `np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))`: no padding
# on the batch and channel axes. Check your cropping with `pad=0`: a slice such as
# `[pad:-pad]` is empty then.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "avgpool_forward_naive", "locked": false, "schema_version": 3, "solution": true, "task": false}
def avgpool_forward_naive(x, size=2, *, stride=None, pad=0):
    """Average pooling over size x size windows of the zero-padded input, with loops.

    out[n, c, i, j] is the mean of the size x size window of the padded input that starts at row
    i*stride and column j*stride; the padded zeros count, so every window divides by size**2.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    size : int, default 2
        Window height and width.
    stride : int, optional, keyword-only
        Step between windows; None (the default) means stride = size.
    pad : int, default 0, keyword-only
        Zeros added on every side of H and W.

    Returns
    -------
    out : ndarray, shape (N, C, OH, OW)
        OH = (H + 2*pad - size) // stride + 1, likewise OW.
    cache : tuple
        (x.shape, size, stride, pad), with the stride actually used (an int, never None).
    """
    if stride is None:  # the default, as in cl.layers.avgpool_forward and PyTorch
        stride = size
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    x_p = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    OH = (x_p.shape[2] - size) // stride + 1  # the padded height
    OW = (x_p.shape[3] - size) // stride + 1
    out = np.zeros((N, C, OH, OW))
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    r, s = i * stride, j * stride
                    out[n, c, i, j] = x_p[n, c, r : r + size, s : s + size].mean()
    return out, (x.shape, size, stride, pad)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_avgpool_forward_naive", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

FORBIDDEN = T.CONVOLUTION_LIBRARIES
# No padding: the default size=2, stride=2 averages each 2x2 block of 0..15
x = np.arange(16.0).reshape(1, 1, 4, 4)
with T.forbid_calls(*FORBIDDEN, exercise="avgpool_forward_naive"):
    out, cache = avgpool_forward_naive(x.copy())
T.assert_allclose(
    out,
    [[[[2.5, 4.5], [10.5, 12.5]]]],
    name="avgpool_forward_naive(arange(16) as 4x4), default size 2",
    hint="default size=2, stride=2: the mean of each 2x2 block",
    mistakes=[("the sum of each window, not its mean: divide by size * size",
               [[[[10.0, 18.0], [42.0, 50.0]]]])],
)  # fmt: skip
# The lesson: a 3x3 input of ones, 3x3 windows, stride 1, pad 1. A corner window holds 4 ones
# and 5 padded zeros, an edge window 6 ones, the centre window 9; every window divides by 9.
ones = np.ones((1, 1, 3, 3))
with T.forbid_calls(*FORBIDDEN, exercise="avgpool_forward_naive"):
    out, cache = avgpool_forward_naive(ones.copy(), 3, stride=1, pad=1)
T.assert_allclose(
    out,
    np.array([[[[4.0, 6, 4], [6, 9, 6], [4, 6, 4]]]]) / 9,
    name="avgpool_forward_naive(ones (1, 1, 3, 3), 3, stride=1, pad=1)",
    hint="pad with zeros, then take the mean of every 3x3 window of the padded input",
    mistakes=[
        ("the padded zeros were left out of the mean: in this course they count, so every "
         "window divides by size * size = 9 (a corner window holds 4 ones and 5 zeros: 4/9)",
         np.ones((1, 1, 3, 3))),
        ("pad ignored: OH = (H + 2*pad - size) // stride + 1 = 3; pad the input with zeros "
         "first", (1, 1, 1, 1)),
        ("the sum of each window, not its mean: divide by size * size",
         np.array([[[[4.0, 6, 4], [6, 9, 6], [4, 6, 4]]]])),
    ],
)  # fmt: skip
T.assert_true(
    isinstance(cache, (tuple, list)) and len(cache) == 4,
    "avgpool_forward_naive cache must be the tuple (x.shape, size, stride, pad)",
)
T.assert_equal(
    (tuple(int(d) for d in cache[0]), int(cache[1]), int(cache[2]), int(cache[3])),
    ((1, 1, 3, 3), 3, 1, 1),
    name="avgpool_forward_naive cache (x.shape, size, stride, pad)",
    hint="the cache is (x.shape, size, stride, pad), with the shape of the UNPADDED x and the "
    "stride actually used",
)
### BEGIN HIDDEN TESTS
import cnnlab as cl

FORBIDDEN = T.CONVOLUTION_LIBRARIES


def reference(x, size, stride, pad):
    """Zeros counted: cnnlab's average pooling of the zero-padded input."""
    return cl.layers.avgpool_forward(np.pad(x, pad4(pad)), size, stride=stride)[0]


def pad4(pad):
    return ((0, 0), (0, 0), (pad, pad), (pad, pad))


def real_pixels_only(x, size, stride, pad):
    """What averaging only the real pixels of each window returns."""
    count = cl.layers.avgpool_forward(np.pad(np.ones_like(x), pad4(pad)), size, stride=stride)[0]
    return reference(x, size, stride, pad) / count


rng = np.random.default_rng(511)
# (N, C, H, W), size, stride, pad
for shape, size, stride, pad in [
    ((2, 3, 7, 8), 3, 1, 1),
    ((2, 2, 7, 9), 3, 2, 1),
    ((3, 2, 6, 5), 2, 2, 0),
    ((1, 3, 9, 7), 2, 3, 1),
    ((2, 1, 8, 6), 4, 2, 2),
]:
    label = f"x {shape}, size {size}, stride {stride}, pad {pad}"
    x = rng.standard_normal(shape)
    x_before = x.copy()
    expected = reference(x, size, stride, pad)
    mistakes = [("the padded zeros were left out of the mean: in this course they count, so "
                 "every window divides by size * size", real_pixels_only(x, size, stride, pad)),
                ("the sum of each window, not its mean: divide by size * size",
                 expected * size * size)]  # fmt: skip
    with T.forbid_calls(*FORBIDDEN, exercise="avgpool_forward_naive"), T.in_place(x):
        out, cache = avgpool_forward_naive(x, size, stride=stride, pad=pad)
    T.assert_allclose(
        x, x_before, rtol=0, atol=0, name=f"x after avgpool_forward_naive ({label})",
        hint="x was changed in place: pad into a new array (np.pad returns one)",
    )  # fmt: skip
    T.assert_shape(
        out,
        expected.shape,
        name=f"avgpool_forward_naive shape ({label})",
        hint="OH = (H + 2*pad - size) // stride + 1: pad first, move the window by stride",
    )
    T.assert_allclose(
        out,
        expected,
        name=f"avgpool_forward_naive ({label})",
        hint="window (i, j) of channel c is x_p[n, c, i*stride:i*stride+size, "
        "j*stride:j*stride+size] of the zero-padded input; pool every channel separately",
        mistakes=mistakes,
    )
    T.assert_equal(
        (tuple(int(d) for d in cache[0]), int(cache[1]), int(cache[2]), int(cache[3])),
        (shape, size, stride, pad),
        name=f"avgpool_forward_naive cache ({label})",
        hint="the cache is (x.shape, size, stride, pad), with the shape of the UNPADDED x",
    )
x = rng.standard_normal((2, 2, 7, 7))
expected = reference(x, 3, 3, 0)
with T.forbid_calls(*FORBIDDEN, exercise="avgpool_forward_naive"):
    out, cache = avgpool_forward_naive(x.copy(), 3)
T.assert_allclose(
    out,
    expected,
    name="avgpool_forward_naive(x, 3), default stride and pad",
    hint="without a stride the windows sit side by side (stride = size); pad defaults to 0",
)
T.assert_equal(int(cache[2]), 3, name="avgpool_forward_naive(x, 3) cache stride")
### END HIDDEN TESTS


# %% nbgrader={"grade": false, "grade_id": "avgpool_backward_naive", "locked": false, "schema_version": 3, "solution": true, "task": false}
def avgpool_backward_naive(dout, cache):
    """Backward pass of average pooling with zero padding, with loops.

    Every window sends dout / size**2 to each of its size x size positions of the padded input;
    where windows overlap the contributions add up, and the padding is cut off at the end.

    Parameters
    ----------
    dout : ndarray, shape (N, C, OH, OW)
    cache : tuple
        (x_shape, size, stride, pad) from avgpool_forward_naive, x_shape = (N, C, H, W).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x_shape, size, stride, pad = cache
    ### BEGIN SOLUTION
    N, C, H, W = x_shape
    _, _, OH, OW = dout.shape
    dx_p = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    r, s = i * stride, j * stride
                    dx_p[n, c, r : r + size, s : s + size] += dout[n, c, i, j] / (size * size)
    return dx_p[:, :, pad : pad + H, pad : pad + W]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_avgpool_backward_naive", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

FORBIDDEN = T.CONVOLUTION_LIBRARIES
# No padding, 2x2 windows with stride 2: each window spreads dout / 4 over its 4 pixels
with T.forbid_calls(*FORBIDDEN, exercise="avgpool_backward_naive"):
    dx = avgpool_backward_naive(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), ((1, 1, 4, 4), 2, 2, 0))
T.assert_allclose(
    dx,
    np.kron([[1.0, 2.0], [3.0, 4.0]], np.ones((2, 2)))[None, None] / 4,
    name="avgpool_backward_naive, 2x2 windows, stride 2, pad 0, dout [[1, 2], [3, 4]]",
    hint="each of the 4 pixels of window (i, j) receives dout[i, j] / 4",
    mistakes=[
        ("dout not divided by size * size: each pixel contributed 1/size**2 of the mean",
         np.kron([[1.0, 2.0], [3.0, 4.0]], np.ones((2, 2)))[None, None]),
        ("dx is empty: a crop such as dx_p[:, :, pad:-pad, pad:-pad] is empty when pad = 0; "
         "keep the rows pad to pad + H (and the columns pad to pad + W)", (1, 1, 0, 0)),
    ],
)  # fmt: skip
# The lesson: 3x3 input, 3x3 windows, stride 1, pad 1, dout all ones. Each window gives 1/9 to
# each of its 9 positions; a corner pixel is covered by 4 windows, an edge pixel by 6, the
# centre by 9. The shares of the padded positions are cut off with the padding.
with T.forbid_calls(*FORBIDDEN, exercise="avgpool_backward_naive"):
    dx = avgpool_backward_naive(np.ones((1, 1, 3, 3)), ((1, 1, 3, 3), 3, 1, 1))
corner = 1 / 4 + 2 / 6 + 1 / 9  # averaging only the real pixels: 1/(real pixels) per window
edge = 2 / 4 + 3 / 6 + 1 / 9
centre = 4 / 4 + 4 / 6 + 1 / 9
T.assert_allclose(
    dx,
    np.array([[[[4.0, 6, 4], [6, 9, 6], [4, 6, 4]]]]) / 9,
    name="avgpool_backward_naive, 3x3 windows, stride 1, pad 1, dout all ones",
    hint="every window adds dout / size**2 to each of its size x size positions of the padded "
    "dx (+=, windows overlap); then the padding is cut off",
    mistakes=[
        ("dx of the padded input not cropped: cut pad rows and columns off every side",
         (1, 1, 5, 5)),
        ("overlapping windows overwritten instead of accumulated: a pixel covered by several "
         "windows gets the SUM of their shares (+=, not =)", np.full((1, 1, 3, 3), 1 / 9)),
        ("divided by the number of real pixels of each window: the forward pass counts the "
         "padded zeros, so every position gets dout / size**2",
         [[[[corner, edge, corner], [edge, centre, edge], [corner, edge, corner]]]]),
    ],
)  # fmt: skip
### BEGIN HIDDEN TESTS
import cnnlab as cl

FORBIDDEN = T.CONVOLUTION_LIBRARIES


def pad4(pad):
    return ((0, 0), (0, 0), (pad, pad), (pad, pad))


def reference(x_shape, size, stride, pad, dout):
    """cnnlab's average-pooling backward on the padded shape, cropped."""
    n, c, h, w = x_shape
    padded = (n, c, h + 2 * pad, w + 2 * pad)
    _, cache = cl.layers.avgpool_forward(np.zeros(padded), size, stride=stride)
    return cl.layers.avgpool_backward(dout, cache)[:, :, pad : pad + h, pad : pad + w]


def overwritten(x_shape, size, stride, pad, dout):
    """What a backward pass that writes = instead of += returns."""
    n, c, h, w = x_shape
    dx_p = np.zeros((n, c, h + 2 * pad, w + 2 * pad))
    for idx in np.ndindex(dout.shape):
        r, s = idx[2] * stride, idx[3] * stride
        dx_p[idx[0], idx[1], r : r + size, s : s + size] = dout[idx] / size**2
    return dx_p[:, :, pad : pad + h, pad : pad + w]


rng = np.random.default_rng(512)
for shape, size, stride, pad in [
    ((2, 3, 7, 8), 3, 1, 1),
    ((2, 2, 7, 9), 3, 2, 1),
    ((3, 2, 6, 5), 2, 2, 0),
    ((1, 3, 9, 7), 2, 3, 1),
    ((2, 1, 8, 6), 4, 2, 2),
]:
    label = f"x {shape}, size {size}, stride {stride}, pad {pad}"
    oh = (shape[2] + 2 * pad - size) // stride + 1
    ow = (shape[3] + 2 * pad - size) // stride + 1
    dout = rng.standard_normal((shape[0], shape[1], oh, ow))
    expected = reference(shape, size, stride, pad, dout)
    mistakes = [("dout not divided by size * size: each pixel contributed 1/size**2 of the mean",
                 expected * size * size)]  # fmt: skip
    if stride < size:
        mistakes.append(("overlapping windows overwritten instead of accumulated: a pixel "
                         "covered by several windows gets the SUM of their shares (+=)",
                         overwritten(shape, size, stride, pad, dout)))  # fmt: skip
    with T.forbid_calls(*FORBIDDEN, exercise="avgpool_backward_naive"):
        dx = avgpool_backward_naive(dout.copy(), (shape, size, stride, pad))
    T.assert_shape(
        dx,
        shape,
        name=f"avgpool_backward_naive dx shape ({label})",
        hint="dx has the shape of the UNPADDED x: cut pad rows and columns off every side",
    )
    T.assert_allclose(
        dx,
        expected,
        name=f"avgpool_backward_naive ({label})",
        hint="window (i, j) starts at (i*stride, j*stride) of the padded dx and adds "
        "dout[n, c, i, j] / size**2 to each of its positions",
        mistakes=mistakes,
    )
# numerical gradient of the zero-padded average pooling, 3x3 windows, stride 2, pad 1
x = rng.standard_normal((2, 2, 5, 6))
dout = rng.standard_normal((2, 2, 3, 3))
num = cl.gradcheck.numerical_gradient(
    lambda z: cl.layers.avgpool_forward(np.pad(z, pad4(1)), 3, stride=2)[0], x.copy(), df=dout
)
with T.forbid_calls(*FORBIDDEN, exercise="avgpool_backward_naive"):
    dx = avgpool_backward_naive(dout.copy(), (x.shape, 3, 2, 1))
T.assert_rel_error(dx, num, tol=1e-7, name="avgpool_backward_naive vs numerical gradient")
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Global average pooling
#
# Global average pooling (GAP) replaces each feature map by its mean: (N, C, H, W) becomes
# (N, C). [Lin, Chen & Yan (2013), *Network in Network*](https://arxiv.org/abs/1312.4400)
# proposed it as the last stage of a CNN: if the last convolution has one channel per class,
# the averages are the class scores, and no fully connected layer (often most of a network's
# weights) is needed. A second benefit: the output size no longer depends on the image size, so
# the same network accepts inputs of any resolution. ResNets end with GAP followed by one small
# affine layer.
#
# The backward pass follows from $\text{out}[n,c] = \frac{1}{HW}\sum_{r,t} x[n,c,r,t]$: every
# pixel contributed with weight $1/(HW)$, so every pixel receives
# $\text{dout}[n,c] / (HW)$, spread evenly over the whole map.
#
# The figure applies the same four 3x3 filters, a ReLU and GAP to a photograph at two
# resolutions.

# %%
kernels = (
    np.array(
        [
            [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],  # vertical edges
            [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],  # horizontal edges
            [[0, 1, 2], [-1, 0, 1], [-2, -1, 0]],  # diagonal edges
            [[1, 1, 1], [1, 1, 1], [1, 1, 1]],  # brightness (blur)
        ],
        dtype=np.float64,
    )[:, None]
    / 4
)
kernel_names = ["vertical edges", "horizontal edges", "diagonal edges", "brightness"]
gap_results = {}
for factor in (2, 4):
    img = cl.data.sample_image("china", gray=True, downscale=factor)[None, None]
    fmap, _ = cl.layers.conv_forward(img, kernels, np.zeros(4), pad=1)
    act, _ = cl.layers.relu_forward(fmap)
    gap_results[img.shape[2:]], _ = cl.layers.global_avgpool_forward(act)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.5), layout="constrained", width_ratios=[1, 1.3])
ax1.imshow(img[0, 0], cmap="gray")
ax1.set_title(f"input at {img.shape[2]}x{img.shape[3]} (also used at twice the size)")
ax1.set_xlabel("column")
ax1.set_ylabel("row")
for k, (hw, g) in enumerate(gap_results.items()):
    ax2.bar(np.arange(4) + 0.4 * k - 0.2, g[0], width=0.4, label=f"input {hw[0]}x{hw[1]}")
ax2.set_xticks(range(4), kernel_names)
ax2.set_yscale("log")
ax2.set_ylabel("global average of ReLU(conv), log scale")
ax2.set_title("GAP gives 4 numbers whatever the image size")
ax2.legend()
plt.show()
(hw_big, g_big), (hw_small, g_small) = gap_results.items()
ratio = g_small[0] / g_big[0]
print(f"GAP at {hw_small} divided by GAP at {hw_big}:", dict(zip(kernel_names, ratio.round(3))))
cl.claim("the brightness channel is the same at both sizes", abs(ratio[3] - 1), high=0.01)
cl.claim("edge channels somewhat larger at the lower resolution", ratio[:3].min(), low=1.03)
cl.claim("edge channels only somewhat larger", ratio[:3].max(), high=1.5)

# %% [markdown]
# Both resolutions give one number per filter (note the log scale: edges are rare in a
# photograph, brightness is everywhere). The brightness channel is the same at both sizes; the
# edge channels are somewhat larger at the lower resolution, where one pixel step spans more of
# the scene, so neighbouring pixels differ more. A network ending in GAP accepts both sizes, but
# what its filters respond to still depends on scale.
#
# **Worked example.** For one image with channel 0 equal to `[[1, 2], [3, 4]]` and channel 1
# all 7, the output is `[[2.5, 7.0]]`. For a 1x1x2x2 input and `dout = [[4.0]]`, each of the 4
# pixels receives `4 / 4 = 1`.
#
# ### Exercise 6a: `global_avgpool_forward` (1 point) and 6b: `global_avgpool_backward` (1 point)
#
# `global_avgpool_forward` returns $\text{out}[n,c]$, the mean of channel $c$ of image $n$ over
# its $H W$ pixels, shape (N, C), and as cache the input shape `x.shape`, all the backward pass
# needs. `global_avgpool_backward` returns `dx` of shape (N, C, H, W) holding
# $\text{dout}[n,c] / (H W)$ at every pixel of channel $c$ of image $n$. (The tests give your
# backward pass such a cache directly, so each exercise is graded on its own.)
#
# <details><summary>Hint 1</summary>
#
# Each needs a line or two of NumPy. The mean of an array takes an `axis` argument, which may be
# a tuple of axes.
#
# </details>
#
# <details><summary>Hint 2 (6b)</summary>
#
# Divide `dout` by $H W$ and give it two trailing axes of length 1, `dout[:, :, None, None]`, so
# that it broadcasts over the pixels; multiplying by an array of ones of the full shape (or
# `np.broadcast_to` followed by `.copy()`, since it returns a read-only view) fills every pixel.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "global_avgpool_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def global_avgpool_forward(x):
    """Global average pooling: the mean of every channel over all its pixels.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)

    Returns
    -------
    out : ndarray, shape (N, C)
    cache : tuple of int
        x.shape, (N, C, H, W).
    """
    ### BEGIN SOLUTION
    return x.mean(axis=(2, 3)), x.shape
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_global_avgpool_forward", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

x = np.array([[[[1.0, 2.0], [3.0, 4.0]], [[7.0, 7.0], [7.0, 7.0]]]])
with T.forbid_calls("cnnlab.layers", exercise="global_avgpool_forward"):
    out, cache = global_avgpool_forward(x)
T.assert_allclose(
    out,
    [[2.5, 7.0]],
    name="global_avgpool_forward (worked example)",
    hint="average each channel over its H and W axes: out has shape (N, C)",
    mistakes=[("the mean, not the sum: divide by H*W", [[10.0, 28.0]])],
)
T.assert_equal(
    tuple(int(d) for d in cache) if isinstance(cache, (tuple, list)) else cache,
    (1, 2, 2, 2),
    name="global_avgpool_forward cache",
    hint="the cache is x.shape, the tuple (N, C, H, W)",
)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(601)
x = rng.standard_normal((3, 4, 5, 7))
with T.forbid_calls("cnnlab.layers", exercise="global_avgpool_forward"):
    out, cache = global_avgpool_forward(x.copy())  # the checks below read x
T.assert_shape(
    out,
    (3, 4),
    name="global_avgpool_forward shape for x (3, 4, 5, 7)",
    hint="average over the spatial axes only (axis=(2, 3)), keeping N and C",
)
T.assert_allclose(
    out,
    x.mean(axis=(2, 3)),
    name="global_avgpool_forward on (3, 4, 5, 7)",
    hint="the mean over H and W, i.e. sum / (H*W)",
)
### END HIDDEN TESTS


# %% nbgrader={"grade": false, "grade_id": "global_avgpool_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def global_avgpool_backward(dout, cache):
    """Backward pass of global average pooling.

    Parameters
    ----------
    dout : ndarray, shape (N, C)
    cache : tuple of int
        x.shape from global_avgpool_forward, (N, C, H, W).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        dout[n, c] / (H * W) at every pixel of channel c of image n.
    """
    ### BEGIN SOLUTION
    N, C, H, W = cache
    dx = np.broadcast_to(dout[:, :, None, None] / (H * W), (N, C, H, W)).copy()
    return dx
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_global_avgpool_backward", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

# worked example: a 1x1x2x2 input and dout = [[4.0]]: each of the 4 pixels receives 4 / 4 = 1
with T.forbid_calls("cnnlab.layers", exercise="global_avgpool_backward"):
    dx = global_avgpool_backward(np.array([[4.0]]), (1, 1, 2, 2))
T.assert_allclose(
    dx,
    np.ones((1, 1, 2, 2)),
    name="global_avgpool_backward (worked example)",
    hint="every pixel gets dout / (H*W)",
    mistakes=[("dout not divided by H*W: each pixel contributed 1/(H*W) of the average",
               np.full((1, 1, 2, 2), 4.0)),
              ("divided by H or W only: the average is over all H*W pixels",
               np.full((1, 1, 2, 2), 2.0))],
)  # fmt: skip
# two images, two channels, 2x3 maps (H*W = 6): channel c of image n is filled with dout[n, c] / 6
dout = np.array([[6.0, 12.0], [-6.0, 0.0]])
with T.forbid_calls("cnnlab.layers", exercise="global_avgpool_backward"):
    dx = global_avgpool_backward(dout, (2, 2, 2, 3))
fill = np.array([[1.0, 2.0], [-1.0, 0.0]])[:, :, None, None]
T.assert_allclose(
    dx,
    np.broadcast_to(fill, (2, 2, 2, 3)),
    name="global_avgpool_backward, dout (2, 2), x (2, 2, 2, 3)",
    hint="dx[n, c] is dout[n, c] / (H*W) at every pixel of channel c of image n",
    mistakes=[
        ("dout not divided by H*W: each pixel contributed 1/(H*W) of the average",
         np.broadcast_to(6 * fill, (2, 2, 2, 3))),
        ("divided by H or W only: the average is over all H*W pixels",
         np.broadcast_to(3 * fill, (2, 2, 2, 3))),
        ("divided by H or W only: the average is over all H*W pixels",
         np.broadcast_to(2 * fill, (2, 2, 2, 3))),
        ("divided by N*H*W: each image has its own average, divide by H*W only",
         np.broadcast_to(fill / 2, (2, 2, 2, 3))),
    ],
)  # fmt: skip
### BEGIN HIDDEN TESTS
import cnnlab as cl

rng = np.random.default_rng(602)
x = rng.standard_normal((2, 3, 5, 7))
dout = rng.standard_normal((2, 3))
with T.forbid_calls("cnnlab.layers", exercise="global_avgpool_backward"):
    dx = global_avgpool_backward(dout, x.shape)
T.assert_shape(
    dx,
    x.shape,
    name="global_avgpool_backward dx shape for x (2, 3, 5, 7)",
    hint="spread each dout[n, c] over all H*W pixels of channel c",
)
ref = np.broadcast_to(dout[:, :, None, None] / 35, x.shape)
T.assert_allclose(
    dx,
    ref,
    name="global_avgpool_backward on (2, 3, 5, 7)",
    hint="dx[n, c] is dout[n, c] / (H*W) at every pixel of channel c of image n",
    mistakes=[
        ("dout not divided by H*W = 35: each pixel contributed 1/(H*W) of the average", ref * 35),
        ("divided by H or W only: the average is over all H*W pixels", ref * 7),
        ("divided by H or W only: the average is over all H*W pixels", ref * 5),
        ("divided by N*H*W: each image has its own average, divide by H*W only", ref / 2),
    ],
)


def learner_backward(dout, cache):
    """global_avgpool_backward on a copy of dout (the cache is a tuple of ints)."""
    with T.forbid_calls("cnnlab.layers", exercise="global_avgpool_backward"):
        return global_avgpool_backward(dout.copy(), cache)


errors = cl.gradcheck.check_gradients(
    lambda z: (cl.layers.global_avgpool_forward(z)[0], z.shape), {"x": x}, learner_backward, rng=rng
)
T.assert_true(
    errors["x"] < 1e-7,
    f"global_avgpool_backward dx vs numerical gradient: relative error {errors['x']:.1e}, "
    "above 1e-7",
)
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Softmax and cross-entropy, computed stably
#
# The last layer of a classifier produces one **score** (logit) $s_k$ per class. Softmax turns
# the scores of one example into probabilities, $p_k = e^{s_k} / \sum_j e^{s_j}$, and the
# cross-entropy loss is the negative log-probability of the correct class $y$:
# $\ell = -\log p_y = -s_y + \log \sum_j e^{s_j}$. For a batch we report the **mean** over the
# N examples, so that the loss (and the size of a gradient step) does not grow with the batch.
#
# Computed literally, $e^{s}$ overflows float64 to `inf` as soon as $s$ exceeds
# $\log(\text{largest float64}) \approx 709.78$, and the loss becomes `inf` or `nan`
# (`inf / inf`). The cure is an identity: subtracting any constant $m$ from all scores of an
# example leaves softmax unchanged, because $e^{-m}$ cancels between numerator and denominator.
# With $m = \max_j s_j$, the largest exponent is $e^0 = 1$, nothing overflows, and
# $\log\sum_j e^{s_j} = m + \log \sum_j e^{s_j - m}$ (the "log-sum-exp trick").
#
# The gradient is one of the neatest results in deep learning: for one example,
# $\partial \ell / \partial s_k = p_k - \mathbb{1}[k = y]$: the predicted probabilities minus
# the one-hot label. For the batch mean, divide by N. (Derivation in the
# [CS231n linear classification notes](https://cs231n.github.io/linear-classify/#softmax).)
#
# The figure evaluates the loss of one example with scores $t \cdot (2, 1, -1)$ and true class 1
# for growing scale $t$, naively and with the max shift.

# %%
base = np.array([2.0, 1.0, -1.0])
scales = np.logspace(0, 3.5, 60)
naive, stable = [], []
with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
    for t in scales:
        s = t * base
        naive.append(-np.log(np.exp(s[1]) / np.exp(s).sum()))
        stable.append(cl.layers.softmax_cross_entropy(s[None], np.array([1]))[0])
naive, stable = np.array(naive), np.array(stable)
log_max = np.log(np.finfo(np.float64).max)  # exp(s) is inf for s above this, about 709.78
t_inf, t_nan = log_max / 2, log_max  # exp(2t) overflows first, exp(t) later
fig, ax = plt.subplots(figsize=(8, 3.8))
ax.loglog(scales, stable, lw=4, alpha=0.5, label="stable: shift by the max first")
ax.loglog(scales, naive, "k.", ms=4, label="naive: exp, divide, log")
is_inf = np.isinf(naive)
ax.plot(scales[is_inf], np.full(is_inf.sum(), 2500), "r^", ms=5, label="naive = inf (drawn at top)")
ax.axvline(t_inf, color="tab:red", ls=":", label=f"t = {t_inf:.1f}: exp(2t) overflows, loss inf")
ax.axvline(t_nan, color="tab:purple", ls="--", label=f"t = {t_nan:.1f}: exp(t) too, loss nan")
ax.set_ylim(0.3, 4000)
ax.set_xlabel("score scale t (scores = t * (2, 1, -1), true class 1)")
ax.set_ylabel("cross-entropy loss")
ax.set_title("Naive softmax overflows; the max-shifted form does not")
ax.legend(fontsize=8, loc="upper left")
plt.show()
finite = np.isfinite(naive)
print(f"naive loss finite up to t = {scales[finite].max():.1f}, inf for t in "
      f"[{scales[is_inf].min():.1f}, {scales[is_inf].max():.1f}], nan from t = "
      f"{scales[np.isnan(naive)].min():.1f} (grid of {len(scales)} values of t)")  # fmt: skip
cl.claim("exp overflows above about 709.78", log_max, low=709.78, high=709.79)
cl.claim("the naive loss is finite below t = 354.9", scales[finite].max(), high=t_inf)
cl.claim("the naive loss is inf from t = 354.9", scales[is_inf].min(), low=t_inf)
cl.claim("the naive loss is inf up to t = 709.8", scales[is_inf].max(), high=t_nan)
cl.claim("the naive loss is nan above t = 709.8", scales[np.isnan(naive)].min(), low=t_nan)
cl.claim("the dots agree with the line", np.abs(naive[finite] - stable[finite]).max(), high=1e-9)
cl.claim("the stable loss grows like t", stable[-1] / scales[-1], low=0.999, high=1.001)

# %% [markdown]
# The two computations agree (the dots lie on the thick line) until the largest score $2t$
# passes 709.78, at $t \approx 354.9$: from there $e^{2t}$ is `inf`, the probability
# $e^{t}/\infty$ of the true class is 0, and the naive loss $-\log 0$ is `inf` (the red
# triangles). Above $t \approx 709.8$, $e^{t}$ overflows too, the probability is
# `inf / inf = nan`, and the naive loss is `nan` (no marks at all). The stable loss keeps growing
# like $t$ (its loss is $t + \log(1 + e^{-t} + e^{-3t})$), as it should for a confidently wrong
# prediction. Scores of a few
# hundred are rare in a healthy network, but a single diverging step produces them, and `nan`
# then spreads to every weight.
#
# **Worked example.** With `scores = np.zeros((2, 4))` and `y = [0, 3]` every class has
# probability 1/4, the loss is $\log 4 \approx 1.3863$, and
# `dscores = [[-0.375, 0.125, 0.125, 0.125], [0.125, 0.125, 0.125, -0.375]]`
# ($(0.25 - 1)/2$ at the true class and $0.25/2$ elsewhere).
#
# **Worked example 2, the point of this section.** `scores = [[1000, 0, -1000], [0, 0, 0]]`
# with `y = [1, 0]`. Row 0 shifted by its maximum is $(0, -1000, -2000)$: the probabilities are
# $(1, e^{-1000}, e^{-2000})$, which is $(1, 0, 0)$ in float64, and the loss of the true class 1
# is $-(-1000 - \log(1 + e^{-1000} + e^{-2000})) = 1000$. Row 1 gives $1/3$ everywhere and loss
# $\log 3$. So `loss` $= (1000 + \log 3)/2 \approx 500.5493$ and
# `dscores = [[0.5, -0.5, 0], [-1/3, 1/6, 1/6]]`. Three ways to get this wrong: no shift
# ($e^{1000}$ = `inf`, `nan` in row 0); shifting every row by the batch's maximum 1000 (row 1
# becomes $e^{-1000} = 0$ everywhere, `0 / 0 = nan`); and taking `log(p)` of the probability
# $e^{-1000}$, which underflowed to 0 (loss `inf`).
#
# ### Exercise 7: `softmax_cross_entropy` (2 points)
#
# Return the loss, the **mean** over the batch as one float, and `dscores`, shape (N, K), the
# gradient of that mean. Both must stay finite for scores of any size, such as the $\pm 1000$ of
# worked example 2. Do not call `scipy.special`.
#
# <details><summary>Hint 1</summary>
#
# Follow the log-sum-exp trick: shift each row by its **own** maximum $m$, then compute the
# log-probabilities directly, $\log p_k = (s_k - m) - \log \sum_j e^{s_j - m}$, instead of taking
# the log of a probability that may have underflowed to 0.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# `scores.max(axis=1, keepdims=True)` has shape (N, 1), which broadcasts against (N, K). Indexing
# with two arrays, `a[np.arange(N), y]`, picks one entry per row: the true class of each example.
#
# </details>
#
# <details><summary>Hint 3</summary>
#
# The gradient is $(p - \text{onehot}(y))/N$: exponentiate the log-probabilities, subtract 1 at
# each row's true class only (the same two-array indexing; `[:, y]` would hit whole columns),
# and divide by N because the loss is a mean.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "softmax_cross_entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def softmax_cross_entropy(scores, y):
    """Mean softmax cross-entropy loss over a batch, and its gradient.

    Parameters
    ----------
    scores : ndarray, shape (N, K)
        Class scores (logits); may be large, e.g. of magnitude 1e3.
    y : ndarray of int, shape (N,)
        Correct class of each example, 0 <= y[i] < K.

    Returns
    -------
    loss : float
        -mean_i log softmax(scores[i])[y[i]].
    dscores : ndarray, shape (N, K)
        Gradient of the loss: (softmax(scores) - onehot(y)) / N.
    """
    ### BEGIN SOLUTION
    N = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(N)
    loss = -log_probs[rows, y].mean()
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1
    dscores /= N
    return float(loss), dscores
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_softmax_cross_entropy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

FORBIDDEN = ("cnnlab.layers", "scipy.special")
with T.forbid_calls(*FORBIDDEN, exercise="softmax_cross_entropy"):
    loss, dscores = softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 3]))
T.assert_shape(
    loss,
    (),
    name="softmax_cross_entropy loss",
    hint="return the loss as one number: the mean over the batch",
)
T.assert_allclose(
    [loss],
    [np.log(4)],
    name="softmax_cross_entropy loss (worked example)",
    hint="uniform scores give log 4 for each example; if you got 2 log 4, the loss "
    "is not averaged: return the MEAN over the batch",
)
T.assert_allclose(
    dscores,
    [[-0.375, 0.125, 0.125, 0.125], [0.125, 0.125, 0.125, -0.375]],
    name="softmax_cross_entropy dscores (worked example)",
    hint="dscores = (softmax(scores) - onehot(y)) / N",
    mistakes=[
        ("dscores not divided by N: the loss is a mean, so its gradient is "
         "(softmax(scores) - onehot(y)) / N", [[-0.75, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, -0.75]]),
        ("onehot(y) subtracted in whole columns: subtract 1 only at [i, y[i]], with "
         "dscores[np.arange(N), y] -= 1", [[-0.375, 0.125, 0.125, -0.375], [-0.375, 0.125, 0.125, -0.375]]),
    ],
)  # fmt: skip
# Large scores (worked example 2). Row 0: p = (1, e^-1000, e^-2000) = (1, 0, 0) in float64, and
# the true class 1 has loss 1000; row 1: p = 1/3 each, loss log 3. Mean loss (1000 + log 3) / 2.
scores = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]])
with T.forbid_calls(*FORBIDDEN, exercise="softmax_cross_entropy"):
    loss, dscores = softmax_cross_entropy(scores, np.array([1, 0]))
T.assert_finite(
    np.asarray(dscores)[0],
    name="dscores row 0 for scores [1000, 0, -1000]",
    hint="softmax without the max shift overflows: exp(1000) is inf and inf / inf is nan. "
    "Subtract each row's maximum from its scores before np.exp",
)
T.assert_finite(
    np.asarray(dscores)[1],
    name="dscores row 1 for scores [0, 0, 0] (in a batch with a row [1000, 0, -1000])",
    hint="each row must be shifted by its OWN maximum (scores.max(axis=1, keepdims=True)): "
    "shifted by the batch's maximum 1000, row 1 becomes exp(-1000) = 0 everywhere and 0 / 0 "
    "is nan",
)
column = ("shift each ROW by its own maximum (axis=1, keepdims=True); a shift per column "
          "changes the probabilities")  # fmt: skip
T.assert_allclose(
    dscores,
    [[0.5, -0.5, 0.0], [-1 / 3, 1 / 6, 1 / 6]],
    name="dscores for scores [[1000, 0, -1000], [0, 0, 0]], y = [1, 0]",
    hint="dscores = (softmax(scores) - onehot(y)) / N",
    mistakes=[
        ("softmax without the max shift: log(sum(exp(scores))) is log(inf) in row 0, so every "
         "probability of row 0 came out 0. Subtract each row's maximum before np.exp",
         [[0.0, -0.5, 0.0], [-1 / 3, 1 / 6, 1 / 6]]),
        (column, [[0.25, -0.25, 0.0], [-0.5, 0.25, 0.25]]),
    ],
)  # fmt: skip
T.assert_finite(
    loss,
    name="loss for scores [[1000, 0, -1000], [0, 0, 0]], y = [1, 0]",
    hint="the probability of class 1 in row 0, e^-1000, underflows to 0 and log(0) = -inf: "
    "compute log-probabilities as shifted - log(sum(exp(shifted))), never log(p)",
)
T.assert_allclose(
    [loss],
    [(1000 + np.log(3)) / 2],
    rtol=1e-9,
    name="loss for scores [[1000, 0, -1000], [0, 0, 0]], y = [1, 0]",
    hint="loss = mean over the rows of -(shifted[y] - log(sum(exp(shifted))))",
    mistakes=[(column, [500.6931471805599])],
)
### BEGIN HIDDEN TESTS
import cnnlab as cl

rng = np.random.default_rng(701)
scores = rng.standard_normal((6, 5))
y = rng.integers(0, 5, size=6)
ref_loss, ref_d = cl.layers.softmax_cross_entropy(scores, y)
with T.forbid_calls(*FORBIDDEN, exercise="softmax_cross_entropy"):
    loss, dscores = softmax_cross_entropy(scores, y)
T.assert_shape(
    loss,
    (),
    name="softmax_cross_entropy loss (N=6)",
    hint="return the loss as one number: the mean over the batch",
)
T.assert_allclose(
    [loss],
    [ref_loss],
    name="softmax_cross_entropy loss (N=6)",
    hint="loss = mean over the batch of -log softmax(scores[i])[y[i]]",
    mistakes=[("loss not averaged: report the MEAN over the batch (divide the sum by N)",
               [6 * ref_loss])],
)  # fmt: skip
T.assert_shape(dscores, (6, 5), name="softmax_cross_entropy dscores shape")
T.assert_allclose(
    dscores,
    ref_d,
    name="softmax_cross_entropy dscores (N=6)",
    hint="dscores = (softmax(scores) - onehot(y)) / N",
    mistakes=[("dscores not divided by N: the loss is a mean, so its gradient is "
               "(softmax(scores) - onehot(y)) / N", 6 * ref_d)],
)  # fmt: skip
# large scores: the max shift prevents overflow
scores = 1000.0 * rng.standard_normal((4, 6))
y = rng.integers(0, 6, size=4)
ref_loss, ref_d = cl.layers.softmax_cross_entropy(scores, y)
with T.forbid_calls(*FORBIDDEN, exercise="softmax_cross_entropy"):
    loss, dscores = softmax_cross_entropy(scores, y)
T.assert_finite(
    dscores,
    name="dscores for scores of magnitude 1e3",
    hint="softmax without the max shift overflows: subtract each row's maximum from its "
    "scores before np.exp",
)
T.assert_finite(
    loss,
    name="loss for scores of magnitude 1e3",
    hint="a probability underflowed to 0 and log(0) = -inf: compute log-probabilities as "
    "shifted - log(sum(exp(shifted))), never log(p)",
)
T.assert_allclose(
    [loss],
    [ref_loss],
    rtol=1e-9,
    name="loss for scores of magnitude 1e3",
    hint="loss = mean of -(shifted[y] - log(sum(exp(shifted)))) with each row shifted by its "
    "own maximum",
)
T.assert_allclose(
    dscores,
    ref_d,
    name="dscores for scores of magnitude 1e3",
    hint="dscores = (softmax(scores) - onehot(y)) / N, softmax of the shifted scores",
)
# gradient agrees with a numerical gradient of the loss
scores = rng.standard_normal((3, 4))
y = np.array([2, 0, 3])
with T.forbid_calls(*FORBIDDEN, exercise="softmax_cross_entropy"):
    _, dscores = softmax_cross_entropy(scores.copy(), y.copy())
# a loss: check_gradients probes the reference loss and compares with your dscores
errors = cl.gradcheck.check_gradients(
    lambda s: (cl.layers.softmax_cross_entropy(s, y)[0], dscores), {"scores": scores}
)
T.assert_true(
    errors["scores"] < 1e-7,
    "softmax_cross_entropy dscores vs numerical gradient: relative error "
    f"{errors['scores']:.1e}, above 1e-7",
)
### END HIDDEN TESTS

# %% [markdown]
# ## 9. Inverted dropout
#
# Dropout ([Hinton et al. 2012](https://arxiv.org/abs/1207.0580);
# [Srivastava et al. 2014](https://jmlr.org/papers/v15/srivastava14a.html)) fights overfitting
# by setting each activation to zero with probability $p$ during training, a fresh random mask
# for every batch. No unit can rely on one particular partner being present, so the network
# learns redundant features, much like training a large ensemble of thinned networks that share
# weights.
#
# At test time we want (an approximation of) the average of that ensemble, without sampling.
# The expected value of a dropped-out unit is $(1 - p)\,x$, so a network trained with dropout
# and run without it would see activations $1/(1-p)$ times larger than during training.
# **Inverted dropout** fixes this at training time: the surviving units are divided by
# $(1 - p)$, so the expected output equals $x$, and at test time the layer is simply the
# identity. (The original paper scaled the weights at test time instead; the inverted form
# keeps inference untouched.)
#
# In this course **p is the probability of dropping** a unit (as in PyTorch's `nn.Dropout(p)`;
# some texts use the keep-probability instead). The backward pass multiplies the upstream
# gradient by the same mask, scaling included: a dropped unit passes no gradient.
#
# The figure applies dropout with $p = 0.5$ to a photograph, and averages many masks.

# %%
photo = cl.data.sample_image("china", gray=True, downscale=8)
drop_rng = np.random.default_rng(1)
one, _ = cl.layers.dropout_forward(photo, 0.5, train=True, rng=drop_rng)
n_masks = 60 if cl.is_grading() else 300
avg = np.mean(
    [cl.layers.dropout_forward(photo, 0.5, rng=drop_rng)[0] for _ in range(n_masks)], axis=0
)
unscaled = np.mean([photo * (drop_rng.random(photo.shape) >= 0.5) for _ in range(n_masks)], axis=0)
panels = [
    (photo, "input"),
    (one, "one mask, p = 0.5\n(survivors x 2)"),
    (avg, f"mean of {n_masks} masks\n(inverted dropout)"),
    (unscaled, f"mean of {n_masks} masks\nwithout the 1/(1-p) scaling"),
]
fig, axes = plt.subplots(1, 4, figsize=(14, 2.9), layout="constrained")
for ax, (img, title) in zip(axes, panels):
    im = ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{title}\nmean {img.mean():.3f}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(im, ax=axes, shrink=0.8)
plt.show()
kept = float(np.mean(one != 0))
saturated = float(np.mean(one[one != 0] > 1))
print(f"one mask keeps {kept:.1%} of the pixels; {saturated:.0%} of those exceed 1 once doubled")
print(f"mean of the averages / mean of the input: inverted {avg.mean() / photo.mean():.3f}, "
      f"unscaled {unscaled.mean() / photo.mean():.3f}")  # fmt: skip
cl.claim("one mask keeps about half of the pixels", kept, low=0.45, high=0.55)
cl.claim("about half of the kept pixels saturate", saturated, low=0.35, high=0.65)
cl.claim(
    "inverted dropout keeps the mean brightness", avg.mean() / photo.mean(), low=0.97, high=1.03
)
cl.claim("without scaling, half as bright", unscaled.mean() / photo.mean(), low=0.47, high=0.53)

# %% [markdown]
# One mask keeps about half of the pixels and doubles them (about half of the kept ones exceed
# 1 and saturate at the top of the colour scale). Averaged over many masks, inverted dropout
# returns the image with the same mean brightness as the input; without the scaling, the average
# is half as bright, which is the mismatch a network would meet at test time.
#
# **Worked example.** With $p = 0.25$ and `x` all ones, about a quarter of the outputs are 0 and
# every other one is $1/0.75 \approx 1.333$; a generator seeded the same way gives the same
# mask again. With $p = 0.5$ the scaled mask holds 0 (dropped) and 2 (kept): for the mask
# `[[2, 0, 2], [0, 2, 2]]` and `dout = [[1, 2, 3], [4, 5, 6]]` the backward pass returns
# `dx = [[2, 0, 6], [0, 10, 12]]`, and at test time (cache `None`) it returns `dout` unchanged.
#
# ### Exercise 8a: `dropout_forward` (1 point) and 8b: `dropout_backward` (1 point)
#
# At train time, `dropout_forward` drops each unit with probability $p$ and scales the kept ones
# by $1/(1-p)$. Draw the mask from the generator you receive, so that a seeded `rng` gives a
# reproducible mask; create one with `np.random.default_rng()` only when `rng` is None. At test
# time (`train=False`) return `x` unchanged. The cache is the **scaled mask** (an array shaped
# like `x`, 0 where a unit is dropped and $1/(1-p)$ where it is kept) at train time, and `None`
# at test time. `dropout_backward` returns $\text{dout}$ times the scaled mask at train time and
# `dout` itself at test time. (The tests give your backward pass such a cache directly, so each
# exercise is graded on its own.)
#
# <details><summary>Hint 1 (8a)</summary>
#
# A uniform random number in $[0, 1)$ is below $p$ with probability $p$. Draw one per unit,
# `rng.random(x.shape)`, and compare it with `p` to get a boolean mask that is True where the
# unit is kept.
#
# </details>
#
# <details><summary>Hint 2 (8a)</summary>
#
# Dividing the boolean mask by $(1 - p)$ turns it into the scaled mask of floats: `x` times it
# is the output, and it is the cache too.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "dropout_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dropout_forward(x, p, train=True, rng=None):
    """Inverted dropout.

    Parameters
    ----------
    x : ndarray, any shape
    p : float
        Probability of DROPPING each unit, 0 <= p < 1.
    train : bool
        True: drop units and scale the survivors by 1 / (1 - p). False: identity.
    rng : numpy.random.Generator or None
        Source of the random mask.

    Returns
    -------
    out : ndarray, same shape as x
    cache : ndarray or None
        Train time: the scaled mask, shape of x, 0 for a dropped unit and 1 / (1 - p) for a
        kept one (so out = x * mask). Test time: None.
    """
    ### BEGIN SOLUTION
    if not train:
        return x, None
    rng = np.random.default_rng() if rng is None else rng
    mask = (rng.random(x.shape) >= p) / (1.0 - p)
    return x * mask, mask
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_dropout_forward", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

x = np.ones((200, 100))
with T.forbid_calls("cnnlab.layers", exercise="dropout_forward"):
    out, cache = dropout_forward(x, 0.25, train=True, rng=np.random.default_rng(0))
    again, _ = dropout_forward(x, 0.25, train=True, rng=np.random.default_rng(0))
T.assert_shape(out, x.shape, name="dropout_forward output for x of shape (200, 100)")
dropped = float(np.mean(out == 0))
T.assert_true(
    abs(dropped - 0.25) < 0.02,
    f"dropout_forward with p=0.25 dropped {dropped:.1%} of the units, expected about 25%",
    hint="p read as keep-probability? p is the probability of DROPPING a unit",
)
T.assert_allclose(
    out[out != 0],
    np.full(int(np.sum(out != 0)), 1 / 0.75),
    name="surviving units for x = 1, p = 0.25",
    hint="survivors are x / (1 - p)",
    mistakes=[
        ("dropout not scaled at train time: inverted dropout divides the survivors by (1 - p)",
         np.ones(int(np.sum(out != 0)))),
    ],
)  # fmt: skip
T.assert_allclose(
    again,
    out,
    rtol=0,
    atol=0,
    name="dropout_forward twice with np.random.default_rng(0)",
    hint="draw the mask from the rng argument, so that a seeded rng reproduces it",
)
T.assert_allclose(
    cache,
    out,
    name="dropout_forward cache for x = 1 (the scaled mask)",
    hint="the cache is the scaled mask: 0 for a dropped unit, 1 / (1 - p) for a kept one",
)
with T.forbid_calls("cnnlab.layers", exercise="dropout_forward"):
    out, cache = dropout_forward(x, 0.25, train=False)
T.assert_allclose(
    out,
    x,
    rtol=0,
    atol=0,
    name="dropout_forward at test time",
    hint="at test time inverted dropout is the identity (no mask, no scaling)",
    mistakes=[
        ("dropout scaled at test time: inverted dropout already scaled at train time, so the "
         "test-time layer is the identity", x * 0.75),
        ("dropout scaled at test time: inverted dropout already scaled at train time, so the "
         "test-time layer is the identity", x / 0.75),
    ],
)  # fmt: skip
T.assert_true(
    cache is None,
    f"dropout_forward at test time returned a cache of type {type(cache).__name__}",
    hint="at test time the cache is None",
)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(801)
x = 1.0 + rng.random((40, 50, 10))
p = 0.3
with T.forbid_calls("cnnlab.layers", exercise="dropout_forward"):
    out, _ = dropout_forward(x, p, train=True, rng=np.random.default_rng(5))
T.assert_shape(out, x.shape, name="dropout_forward output shape")
dropped = float(np.mean(out == 0))
T.assert_true(
    abs(dropped - p) < 0.01,
    f"dropout_forward with p={p} dropped {dropped:.1%} of the units, expected {p:.0%}",
    hint="p read as keep-probability: p is the probability of DROPPING a unit, so "
    "keep a unit where rng.random(...) >= p",
)
kept = out != 0
T.assert_allclose(
    out[kept],
    x[kept] / (1 - p),
    name="dropout_forward surviving units",
    hint="survivors are x / (1 - p), so that the expected output equals x",
    mistakes=[
        ("dropout not scaled at train time: inverted dropout divides the surviving units by "
         "(1 - p), so that the expected output equals x", x[kept]),
    ],
)  # fmt: skip
with T.forbid_calls("cnnlab.layers", exercise="dropout_forward"):
    again, _ = dropout_forward(x, p, train=True, rng=np.random.default_rng(5))
    other, _ = dropout_forward(x, p, train=True, rng=np.random.default_rng(6))
T.assert_allclose(
    again,
    out,
    rtol=0,
    atol=0,
    name="dropout_forward with the same seeded rng",
    hint="draw the mask from the rng argument, so a seeded rng reproduces it",
)
T.assert_true(
    np.any(np.asarray(other) != np.asarray(out)),
    "dropout_forward gave the same mask for rng seeds 5 and 6",
    hint="draw the mask from the rng argument",
)
for p_test in (0.3, 0.8):
    with T.forbid_calls("cnnlab.layers", exercise="dropout_forward"):
        out, _ = dropout_forward(x, p_test, train=False, rng=np.random.default_rng(7))
    T.assert_allclose(
        out,
        x,
        rtol=0,
        atol=0,
        name=f"dropout_forward at test time, p={p_test}",
        hint="at test time inverted dropout is the identity (no mask, no scaling)",
        mistakes=[
            ("dropout scaled at test time: inverted dropout already scaled at train time, so "
             "the test-time layer is the identity", x * (1 - p_test)),
            ("dropout scaled at test time: inverted dropout already scaled at train time, so "
             "the test-time layer is the identity", x / (1 - p_test)),
        ],
    )  # fmt: skip
with T.forbid_calls("cnnlab.layers", exercise="dropout_forward"):
    out, _ = dropout_forward(x, 0.0, train=True, rng=np.random.default_rng(8))
T.assert_allclose(out, x, name="dropout_forward with p=0", hint="p = 0 drops nothing")
# no rng given: the answer makes its own generator (unseeded, hence the wide margin)
with T.forbid_calls("cnnlab.layers", exercise="dropout_forward"):
    out, cache = dropout_forward(x, p, train=True)
dropped = float(np.mean(np.asarray(out) == 0))
T.assert_true(
    abs(dropped - p) < 0.02,
    f"dropout_forward(x, p={p}) without an rng dropped {dropped:.1%} of the units, "
    f"expected {p:.0%}",
    hint="when rng is None, draw the mask from a new generator, np.random.default_rng()",
)
T.assert_allclose(
    cache,
    (np.asarray(out) != 0) / (1 - p),
    name="dropout_forward cache without an rng (the scaled mask)",
    hint="the cache is the scaled mask: 0 for a dropped unit, 1 / (1 - p) for a kept one",
)
### END HIDDEN TESTS


# %% nbgrader={"grade": false, "grade_id": "dropout_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dropout_backward(dout, cache):
    """Backward pass of inverted dropout.

    Parameters
    ----------
    dout : ndarray, same shape as x
    cache : ndarray or None
        From dropout_forward: the scaled mask (train time) or None (test time).

    Returns
    -------
    dx : ndarray, same shape as x
        dout times the scaled mask at train time; dout at test time.
    """
    ### BEGIN SOLUTION
    mask = cache
    if mask is None:
        return dout
    return dout * mask
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_dropout_backward", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

# p = 0.5: the scaled mask holds 0 (dropped) and 2 (kept)
mask = np.array([[2.0, 0.0, 2.0], [0.0, 2.0, 2.0]])
dout = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
with T.forbid_calls("cnnlab.layers", exercise="dropout_backward"):
    dx = dropout_backward(dout, mask.copy())
T.assert_allclose(
    dx,
    [[2.0, 0.0, 6.0], [0.0, 10.0, 12.0]],
    name="dropout_backward, cache = [[2, 0, 2], [0, 2, 2]]",
    hint="dx = dout * mask, the scaled mask of the forward pass (the cache)",
    mistakes=[
        ("dropout_backward without the 1/(1-p) scaling: kept units pass dout * mask, the "
         "mask already holds 1/(1-p)", [[1.0, 0.0, 3.0], [0.0, 5.0, 6.0]]),
    ],
)  # fmt: skip
with T.forbid_calls("cnnlab.layers", exercise="dropout_backward"):
    dx = dropout_backward(dout, None)
T.assert_allclose(
    dx,
    dout,
    name="dropout_backward at test time (cache None)",
    hint="at test time dropout is the identity, so dx = dout",
)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(802)
x = rng.uniform(0.5, 2.0, size=(3, 4, 5)) * rng.choice([-1.0, 1.0], size=(3, 4, 5))
dout = rng.standard_normal(x.shape)
for p in (0.2, 0.6):
    mask = (rng.random(x.shape) >= p) / (1 - p)
    with T.forbid_calls("cnnlab.layers", exercise="dropout_backward"):
        dx = dropout_backward(dout.copy(), mask.copy())
    T.assert_allclose(
        dx,
        dout * mask,
        name=f"dropout_backward at train time, p={p}",
        hint="dx = dout * mask: dropped units pass no gradient, kept units pass dout / (1 - p)",
        mistakes=[
            ("dropout_backward without the 1/(1-p) scaling: kept units pass dout * mask, the "
             "mask already holds 1/(1-p)", dout * (mask != 0)),
        ],
    )  # fmt: skip
    with T.forbid_calls("cnnlab.layers", exercise="dropout_backward"):
        dx = dropout_backward(dout.copy(), None)
    T.assert_allclose(
        dx,
        dout,
        name=f"dropout_backward at test time, p={p}",
        hint="at test time dropout is the identity, so dx = dout",
    )
### END HIDDEN TESTS

# %% [markdown]
# ## 9b. Batch normalisation, forward and backward
#
# Batch normalisation ([Ioffe & Szegedy, 2015](https://arxiv.org/abs/1502.03167)) is another
# layer that behaves differently in training and at test time. It sits after a convolution (or
# an affine layer), before the ReLU, and rescales each channel so that its values have mean 0
# and variance 1 over the current mini-batch; notebook 03 shows how much faster a network
# trains with it. Here you write it.
#
# For a convolution's output, **spatial** batch normalisation computes one mean and one variance
# per channel $c$, over all $m = N \cdot H \cdot W$ values of that channel in the batch (every
# image and every position share them, as they share the channel's filter):
#
# $$\mu_c = \frac{1}{m}\sum_{n,h,w} x_{nchw}, \qquad
#   \sigma_c^2 = \frac{1}{m}\sum_{n,h,w} (x_{nchw} - \mu_c)^2, \qquad
#   \hat x_{nchw} = \frac{x_{nchw} - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}}, \qquad
#   y_{nchw} = \gamma_c\, \hat x_{nchw} + \beta_c .$$
#
# $\epsilon$ (1e-5) keeps the division safe for a channel that is constant. The learned scale
# $\gamma$ and shift $\beta$ (one of each per channel) let the network undo the normalisation
# where that helps, so nothing is lost in what the layer can represent.
#
# **Train and eval mode.** In training, $\mu$ and $\sigma^2$ come from the batch, so an image's
# output depends on the other images of its batch. At test time that would be wrong: a
# prediction must not depend on which images happen to be classified together, and a single
# image on its own would be normalised by its *own* statistics, which erases what the layer is
# supposed to measure (every channel of every image would get mean 0). So during training the
# layer also keeps **running averages** of the statistics, updated after every batch,
#
# $$\text{running\_mean} \leftarrow \rho\,\text{running\_mean} + (1-\rho)\,\mu, \qquad
#   \text{running\_var} \leftarrow \rho\,\text{running\_var} + (1-\rho)\,\sigma^2\frac{m}{m-1},$$
#
# with momentum $\rho = 0.9$ (the weight of the old value; PyTorch's `momentum=0.1` is
# $1 - \rho$), and in **eval mode** it normalises with the running statistics instead and
# changes nothing. Like PyTorch, the running variance collects the unbiased estimate
# $\sigma^2 m/(m-1)$, while the normalisation of a training batch uses $\sigma^2$ itself.
#
# **Backward pass.** $d\beta_c = \sum_{n,h,w} \text{dout}$ and
# $d\gamma_c = \sum_{n,h,w} \text{dout}\cdot\hat x$: $\gamma$ and $\beta$ served every value of
# their channel, so their gradients add up over the batch and the positions. In eval mode the
# layer is a fixed scale and shift per channel, so
# $dx = \text{dout}\cdot\gamma_c/\sqrt{\text{running\_var}_c + \epsilon}$. In train mode it
# is not that simple: $\mu_c$ and $\sigma_c^2$ are functions of every $x$ of the channel, and
# the chain rule runs through them as well. One consequence you can check without any algebra:
# adding the same constant to every input of a channel, or multiplying them all by the same
# factor, leaves $\hat x$ unchanged (the batch statistics absorb it). So an upstream gradient
# that only asks for such a change, $\text{dout}$ all ones or $\text{dout} = \hat x$, must give
# $dx = 0$ in train mode (for $\text{dout} = \hat x$ exactly when $\epsilon = 0$). The
# [CS231n notes](https://cs231n.github.io/neural-networks-2/#batchnorm) and assignment 2 walk
# through the derivation.
#
# The figure normalises the outputs of four random 3x3 filters on 32 digits, after 40 training
# batches have set the running statistics, and then looks at two single digits, the faintest and
# the boldest of the batch, on their own.

# %%
bn_rng = np.random.default_rng(9)
w_bn = 0.5 * bn_rng.standard_normal((4, 1, 3, 3))
b_bn = np.array([1.0, -0.5, 0.0, 2.0])
feats, _ = cl.layers.conv_forward(X_digits[:1280].astype(np.float64), w_bn, b_bn, pad=1)
gamma_bn, beta_bn = np.ones(4), np.zeros(4)
run_mean, run_var = np.zeros(4), np.ones(4)
for k in range(0, 1280, 32):  # 40 training batches of 32 digits update the running statistics
    cl.layers.batchnorm2d_forward(feats[k : k + 32], gamma_bn, beta_bn, run_mean, run_var)
batch = feats[:32]
in_batch, _ = cl.layers.batchnorm2d_forward(
    batch, gamma_bn, beta_bn, run_mean.copy(), run_var.copy()
)  # train mode on a batch of 32 (on copies: this demo must not move the running statistics)
ink = X_digits[:32].sum(axis=(1, 2, 3))
show = [int(np.argmin(ink)), int(np.argmax(ink))]  # the faintest and the boldest digit
evals, alones = [], []  # each digit alone: eval mode, and train mode on a batch of one
for i in show:
    one = batch[i : i + 1]
    evals.append(cl.layers.batchnorm2d_forward(one, gamma_bn, beta_bn, run_mean, run_var,
                                               train=False)[0])  # fmt: skip
    alones.append(cl.layers.batchnorm2d_forward(one, gamma_bn, beta_bn, run_mean.copy(),
                                                run_var.copy())[0])  # fmt: skip

fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), layout="constrained")
bins = np.linspace(-4, 4, 49)
for c in range(4):
    axes[0].hist(batch[:, c].ravel(), bins=bins, histtype="step", lw=1.5, label=f"channel {c}")
    axes[1].hist(in_batch[:, c].ravel(), bins=bins, histtype="step", lw=1.5, label=f"channel {c}")
axes[0].set_title("Conv outputs of 32 digits, before batch norm", fontsize=10)
axes[1].set_title("After batch norm (train mode, gamma = 1, beta = 0)", fontsize=10)
for ax in axes[:2]:
    ax.set_xlabel("activation")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
ch, who = np.arange(4), ["faintest", "boldest"]
for k, i in enumerate(show):
    axes[2].plot(ch + 0.1 * k, in_batch[i].mean(axis=(1, 2)), "o", ms=9, mfc="none",
                 color=f"C{k}", label=f"{who[k]} digit in its batch of 32 (train)")  # fmt: skip
    axes[2].plot(ch + 0.1 * k, evals[k][0].mean(axis=(1, 2)), "x", ms=8, color=f"C{k}",
                 label=f"{who[k]} digit alone, eval mode")  # fmt: skip
    axes[2].plot(ch + 0.1 * k, alones[k][0].mean(axis=(1, 2)), "s", ms=5, color=f"C{k}",
                 alpha=0.6, label=f"{who[k]} digit alone, train mode")  # fmt: skip
axes[2].axhline(0, color="gray", lw=0.8)
axes[2].set_xticks(ch)
axes[2].set_xlabel("channel")
axes[2].set_ylabel("mean of the image's normalised map")
axes[2].set_title("One image at a time: eval mode keeps what train mode erases", fontsize=10)
axes[2].legend(fontsize=7)
plt.show()
channel_means = in_batch.mean(axis=(0, 2, 3))
channel_stds = in_batch.std(axis=(0, 2, 3))
eval_gap = max(np.abs(e[0] - in_batch[i]).max() for e, i in zip(evals, show))
alone_means = max(np.abs(a[0].mean(axis=(1, 2))).max() for a in alones)
spread = np.abs(evals[0][0].mean(axis=(1, 2)) - evals[1][0].mean(axis=(1, 2))).max()
print(f"eval mode vs in its batch: largest difference {eval_gap:.2f}; alone in train mode, "
      f"largest channel mean {alone_means:.0e}; in eval mode the two digits differ by up to "
      f"{spread:.2f} in a channel mean")  # fmt: skip
cl.claim("after batch norm every channel has mean 0", np.abs(channel_means).max(), high=1e-9)
cl.claim("after batch norm every channel has std 1", np.abs(channel_stds - 1).max(), high=1e-3)
cl.claim("eval mode is close to the batch's normalisation", eval_gap, high=0.15)
cl.claim("the two digits differ in eval mode", spread, low=0.2)
cl.claim("alone in train mode every channel mean is 0", alone_means, high=1e-9)

# %% [markdown]
# Before normalisation (left) each channel has its own offset and spread; after it (middle)
# every channel has mean 0 and standard deviation 1 over the batch. The shapes of the
# histograms do not change (the peak of each channel is its response to the blank background):
# the layer shifts and scales each channel, it does not make it Gaussian. On the right, the
# mean of each normalised channel for the two digits. In eval mode (crosses) the faint and the
# bold digit give different values, close to what they get inside their batch of 32 (circles):
# the running statistics are close to the statistics of a typical batch. Normalised alone in
# train mode (squares), every channel of both digits has mean exactly 0: the next layer can no
# longer tell them apart, and the result for one image would depend on its batch. That is why
# the layer must use its running statistics in eval mode.
#
# **Worked example (eval mode, one image).** One image with two channels, `x[0, 0] = [[3, 5]]`
# and `x[0, 1] = [[-2, -1.5]]`, running means $(1, -2)$, running variances $(4, 0.25)$,
# $\gamma = (1, 2)$, $\beta = (0, 1)$ and $\epsilon = 0$. Channel 0: $(3-1)/2 = 1$ and
# $(5-1)/2 = 2$. Channel 1: $(-2+2)/0.5 = 0$ and $(-1.5+2)/0.5 = 1$, times 2 plus 1: 1 and 3.
# The output is `[[[[1, 2]], [[1, 3]]]]`, and the running statistics do not move. Normalising
# with the image's own statistics instead would give `[[[[-1, 1]], [[-1, 3]]]]`.
#
# **Worked example (train mode).** Two images, channel 0 holding `[1, 3]` and `[5, 7]`,
# channel 1 `[0, 0]` and `[2, -2]`: $\mu = (4, 0)$, $\sigma^2 = (5, 2)$ and $m = 4$. With
# running statistics starting at means 0 and variances 1, one step with $\rho = 0.9$ gives
# running means $(0.4, 0)$ and running variances
# $0.9 + 0.1\cdot(5, 2)\cdot 4/3 = (1.5667, 1.1667)$.
#
# ### Exercise 8c: `batchnorm2d_forward` (3 points) and 8d: `batchnorm2d_backward` (3 points)
#
# The functions have the contract of `cl.layers.batchnorm2d_forward` and
# `cl.layers.batchnorm2d_backward`, which the tests use as a reference (calling them, or
# `cnnlab.nn`, earns no points). Vectorise over the batch with NumPy reductions over the axes
# (0, 2, 3); no loops are needed. In train mode, update `running_mean` and `running_var`
# **in place**: the caller's arrays must hold the new values afterwards, exactly as a layer's
# buffers do (a new array bound to the same name inside your function is lost when it returns).
# In eval mode leave them untouched. The cache is the tuple
# `(xhat, gamma, inv_std, train)` with `inv_std` $= 1/\sqrt{\sigma^2 + \epsilon}$ per channel
# (from the batch in train mode, from the running variance in eval mode): everything the
# backward pass needs. (The tests give your backward pass a cache made by cnnlab's forward, so
# each exercise is graded on its own.)
#
# <details><summary>Hint 1 (8c)</summary>
#
# Forward: choose the mean and variance first (the batch's in train mode, after which you
# update the running statistics; the running ones in eval mode), then normalise, scale and
# shift in the same way in both modes. Per-channel arrays of shape (C,) broadcast over
# (N, C, H, W) once they have shape (1, C, 1, 1): index them with `[None, :, None, None]`.
#
# </details>
#
# <details><summary>Hint 2 (8d)</summary>
#
# Backward in train mode, step by step as in CS231n: with $d\hat x = \text{dout}\cdot\gamma$,
# the gradient reaches $\sigma^2$ and $\mu$ as
# $d\sigma^2 = -\tfrac12 \sum d\hat x\,(x-\mu)\,(\sigma^2+\epsilon)^{-3/2}$ and
# $d\mu = -\sum d\hat x\,/\sqrt{\sigma^2+\epsilon}$ (the term of $d\sigma^2$ through $\mu$ is
# zero), and then
# $dx = d\hat x/\sqrt{\sigma^2+\epsilon} + d\sigma^2\cdot 2(x-\mu)/m + d\mu/m$. The cache has
# $\hat x$ and `inv_std`, not $x$: write $x - \mu$ as $\hat x/$`inv_std`.
#
# </details>
#
# <details><summary>Hint 3 (8d)</summary>
#
# The steps of hint 2 collapse into one line, with every sum over $(n, h, w)$ of one channel:
#
# $$dx = \frac{\text{inv\_std}}{m}\Big(m\,d\hat x - \sum d\hat x
#        - \hat x \sum d\hat x\,\hat x\Big).$$
#
# The two subtracted terms are exactly what the dout-all-ones and $\text{dout} = \hat x$
# examples cancel.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "batchnorm2d_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def batchnorm2d_forward(
    x, gamma, beta, running_mean, running_var, *, train=True, momentum=0.9, eps=1e-5
):
    """Spatial batch normalisation: one mean and variance per channel, over (N, H, W).

    out = gamma * (x - mean) / sqrt(var + eps) + beta, per channel, with the batch's mean and
    (biased) variance in train mode and the running statistics in eval mode.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        In train mode m = N*H*W must be at least 2.
    gamma, beta : ndarray, shape (C,)
        Scale and shift.
    running_mean, running_var : ndarray, shape (C,)
        Running statistics. Train mode updates them IN PLACE:
        running_mean = momentum * running_mean + (1 - momentum) * mean,
        running_var = momentum * running_var + (1 - momentum) * var * m / (m - 1).
        Eval mode reads them and leaves them unchanged.
    train : bool, default True, keyword-only
    momentum : float, default 0.9, keyword-only
        Weight of the old running statistics.
    eps : float, default 1e-5, keyword-only

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : tuple
        (xhat, gamma, inv_std, train): xhat the normalised input, shape (N, C, H, W), and
        inv_std = 1 / sqrt(var + eps), shape (C,), with the variance actually used.
    """
    ### BEGIN SOLUTION
    if train:
        m = x.shape[0] * x.shape[2] * x.shape[3]
        mu = x.mean(axis=(0, 2, 3))
        var = x.var(axis=(0, 2, 3))
        running_mean *= momentum
        running_mean += (1 - momentum) * mu
        running_var *= momentum
        running_var += (1 - momentum) * var * m / (m - 1)
    else:
        mu, var = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu[None, :, None, None]) * inv_std[None, :, None, None]
    out = gamma[None, :, None, None] * xhat + beta[None, :, None, None]
    return out, (xhat, gamma, inv_std, train)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_batchnorm2d_forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

FORBIDDEN = ("cnnlab.layers", "cnnlab.nn")
# The lesson: eval mode, a batch of ONE image, eps = 0. Normalise with the running statistics:
# channel 0 (x - 1) / 2, channel 1 2 * (x + 2) / 0.5 + 1 (worked example of section 9b).
x = np.array([[[[3.0, 5.0]], [[-2.0, -1.5]]]])  # (1, 2, 1, 2)
running_mean, running_var = np.array([1.0, -2.0]), np.array([4.0, 0.25])
with (
    T.forbid_calls(*FORBIDDEN, exercise="batchnorm2d_forward"),
    T.in_place(running_mean, running_var),
):
    out, cache = batchnorm2d_forward(x.copy(), np.array([1.0, 2.0]), np.array([0.0, 1.0]),
                                     running_mean, running_var, train=False, eps=0.0)  # fmt: skip
T.assert_allclose(
    out,
    [[[[1.0, 2.0]], [[1.0, 3.0]]]],
    name="batchnorm2d_forward in eval mode, one image",
    hint="eval mode: gamma * (x - running_mean) / sqrt(running_var + eps) + beta, per channel",
    mistakes=[
        ("eval mode used the batch's own mean and variance: at test time normalise with "
         "running_mean and running_var (alone, an image normalised by its own statistics "
         "always gets mean 0 and variance 1)", [[[[-1.0, 1.0]], [[-1.0, 3.0]]]]),
        ("running_var used as a standard deviation: divide by sqrt(running_var + eps)",
         [[[[0.5, 1.0]], [[1.0, 5.0]]]]),
    ],
)  # fmt: skip
T.assert_allclose(
    np.concatenate([running_mean, running_var]),
    [1.0, -2.0, 4.0, 0.25],
    rtol=0,
    atol=0,
    name="running_mean and running_var after eval mode",
    hint="eval mode reads the running statistics and leaves them unchanged; only train mode "
    "updates them",
)
# Train mode (second worked example): mu = (4, 0), var = (5, 2), m = 4, eps = 0.
x = np.array([[[[1.0, 3.0]], [[0.0, 0.0]]], [[[5.0, 7.0]], [[2.0, -2.0]]]])  # (2, 2, 1, 2)
running_mean, running_var = np.zeros(2), np.ones(2)
with (
    T.forbid_calls(*FORBIDDEN, exercise="batchnorm2d_forward"),
    T.in_place(running_mean, running_var),
):
    out, cache = batchnorm2d_forward(x.copy(), np.array([2.0, 1.0]), np.array([1.0, -1.0]),
                                     running_mean, running_var, eps=0.0)  # fmt: skip
s5, s2 = np.sqrt(5.0), np.sqrt(2.0)  # out = 2 (x - 4) / sqrt(5) + 1 and x / sqrt(2) - 1
T.assert_allclose(
    out,
    [[[[1 - 6 / s5, 1 - 2 / s5]], [[-1.0, -1.0]]],
     [[[1 + 2 / s5, 1 + 6 / s5]], [[s2 - 1, -s2 - 1]]]],
    name="batchnorm2d_forward in train mode, x (2, 2, 1, 2)",
    hint="one mean and one (biased) variance per CHANNEL, over the axes (0, 2, 3): N, H and W",
    mistakes=[
        ("statistics per pixel (over the batch axis only): spatial batch norm has one mean and "
         "variance per channel, over N, H and W",
         [[[[-1.0, -1.0]], [[-2.0, 0.0]]], [[[3.0, 3.0]], [[0.0, -2.0]]]]),
        ("the unbiased variance (divided by m - 1) used to normalise: the batch is normalised "
         "with the biased variance (divided by m); m / (m - 1) belongs to the running variance "
         "only", [[[[1 - 6 / np.sqrt(20 / 3), 1 - 2 / np.sqrt(20 / 3)]], [[-1.0, -1.0]]],
                  [[[1 + 2 / np.sqrt(20 / 3), 1 + 6 / np.sqrt(20 / 3)]],
                   [[2 / np.sqrt(8 / 3) - 1, -2 / np.sqrt(8 / 3) - 1]]]]),
    ],
)  # fmt: skip
in_place = ("update the running statistics in place (with *= and +=, or by assigning into "
            "arr[...]): running_mean = momentum * running_mean + ... binds a new array to the "
            "local name only, and the caller never sees it")  # fmt: skip
for name, arr, start in (("running_mean", running_mean, 0.0), ("running_var", running_var, 1.0)):
    T.assert_true(
        not np.allclose(arr, start), f"{name} did not change in train mode", hint=in_place
    )
T.assert_allclose(
    running_mean,
    [0.4, 0.0],
    name="running_mean after one train step (momentum 0.9)",
    hint="running_mean = momentum * running_mean + (1 - momentum) * batch mean",
    mistakes=[("momentum applied the other way round: momentum is the weight of the OLD "
               "running value, 0.9 * old + 0.1 * new", [3.6, 0.0])],
)  # fmt: skip
T.assert_allclose(
    running_var,
    [0.9 + 0.1 * 5 * 4 / 3, 0.9 + 0.1 * 2 * 4 / 3],
    name="running_var after one train step (momentum 0.9, m = 4)",
    hint="running_var = momentum * running_var + (1 - momentum) * var * m / (m - 1)",
    mistakes=[
        ("running_var updated with the biased variance: the running variance collects the "
         "unbiased estimate var * m / (m - 1), m = N*H*W", [1.4, 1.1]),
        ("momentum applied the other way round: momentum is the weight of the OLD running "
         "value, 0.9 * old + 0.1 * new", [0.1 + 0.9 * 20 / 3, 0.1 + 0.9 * 8 / 3]),
    ],
)  # fmt: skip
T.assert_true(
    isinstance(cache, (tuple, list)) and len(cache) == 4,
    "batchnorm2d_forward cache must be the tuple (xhat, gamma, inv_std, train)",
)
T.assert_allclose(cache[2], [1 / s5, 1 / s2], name="cache[2], inv_std = 1 / sqrt(var + eps)")
### BEGIN HIDDEN TESTS
import cnnlab as cl

FORBIDDEN = ("cnnlab.layers", "cnnlab.nn")


def reference(x, gamma, beta, running_mean, running_var, **kw):
    """cnnlab's layer on copies: (out, cache, new running_mean, new running_var)."""
    rm, rv = running_mean.copy(), running_var.copy()
    out, cache = cl.layers.batchnorm2d_forward(x.copy(), gamma, beta, rm, rv, **kw)
    return out, cache, rm, rv


rng = np.random.default_rng(821)
for shape, momentum, eps in [((4, 3, 5, 7), 0.9, 1e-5), ((2, 5, 3, 3), 0.7, 1e-3),
                             ((3, 2, 1, 1), 0.99, 1e-5), ((1, 4, 6, 5), 0.5, 1e-5)]:  # fmt: skip
    c = shape[1]
    label = f"x {shape}, momentum {momentum}, eps {eps}"
    x = rng.normal(rng.normal(0, 3, (1, c, 1, 1)), rng.uniform(0.5, 3, (1, c, 1, 1)), shape)
    gamma, beta = rng.normal(1, 0.5, c), rng.normal(0, 1, c)
    mean0, var0 = rng.normal(0, 1, c), rng.uniform(0.5, 2, c)
    m = shape[0] * shape[2] * shape[3]
    mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    for train in (True, False):
        mode = "train" if train else "eval"
        expected, ref_cache, ref_mean, ref_var = reference(
            x, gamma, beta, mean0, var0, train=train, momentum=momentum, eps=eps
        )
        x_in, rm, rv = x.copy(), mean0.copy(), var0.copy()
        with T.forbid_calls(*FORBIDDEN, exercise="batchnorm2d_forward"), T.in_place(x_in, rm, rv):
            out, cache = batchnorm2d_forward(x_in, gamma.copy(), beta.copy(), rm, rv, train=train,
                                             momentum=momentum, eps=eps)  # fmt: skip
        T.assert_allclose(x_in, x, rtol=0, atol=0, name=f"x after batchnorm2d_forward ({label})",
                          hint="x was changed in place: build new arrays")  # fmt: skip
        out_mistakes = []
        if not train:
            batch_stats = reference(x, gamma, beta, mean0, var0, train=True, eps=eps)[0]
            out_mistakes.append(("eval mode used the batch's own mean and variance: at test "
                                 "time normalise with running_mean and running_var",
                                 batch_stats))  # fmt: skip
        T.assert_shape(out, shape, name=f"batchnorm2d_forward output ({mode}, {label})")
        T.assert_allclose(
            out,
            expected,
            rtol=1e-6,
            atol=1e-7,
            name=f"batchnorm2d_forward output ({mode}, {label})",
            hint="gamma * (x - mean) / sqrt(var + eps) + beta with per-channel statistics over "
            "the axes (0, 2, 3)",
            mistakes=out_mistakes,
        )
        T.assert_allclose(
            rm,
            ref_mean,
            name=f"running_mean after {mode} mode ({label})",
            hint="train mode: running_mean = momentum * running_mean + (1 - momentum) * mean, "
            "in place; eval mode leaves it unchanged",
        )
        var_mistakes = []
        if train:
            var_mistakes.append(("running_var updated with the biased variance: use var * m / "
                                 "(m - 1) with m = N*H*W",
                                 momentum * var0 + (1 - momentum) * var))  # fmt: skip
        T.assert_allclose(
            rv,
            ref_var,
            name=f"running_var after {mode} mode ({label})",
            hint="train mode: running_var = momentum * running_var + (1 - momentum) * var * m / "
            "(m - 1), in place; eval mode leaves it unchanged",
            mistakes=var_mistakes,
        )
        T.assert_true(
            isinstance(cache, (tuple, list)) and len(cache) == 4,
            "batchnorm2d_forward cache must be the tuple (xhat, gamma, inv_std, train)",
        )
        T.assert_allclose(cache[0], ref_cache[0], atol=1e-7, name=f"cache xhat ({mode}, {label})")
        T.assert_allclose(cache[1], gamma, name=f"cache gamma ({mode}, {label})")
        T.assert_allclose(cache[2], ref_cache[2], name=f"cache inv_std ({mode}, {label})",
                          hint="inv_std = 1 / sqrt(var + eps), one per channel, with the "
                          "variance used to normalise")  # fmt: skip
        T.assert_equal(bool(cache[3]), train, name=f"cache train flag ({mode}, {label})")
### END HIDDEN TESTS


# %% nbgrader={"grade": false, "grade_id": "batchnorm2d_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def batchnorm2d_backward(dout, cache):
    """Backward pass of batchnorm2d_forward.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
    cache : tuple
        (xhat, gamma, inv_std, train) from batchnorm2d_forward.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Train mode: through xhat and through the batch mean and variance; eval mode:
        dout * gamma * inv_std per channel.
    dgamma : ndarray, shape (C,)
        Sum over (N, H, W) of dout * xhat.
    dbeta : ndarray, shape (C,)
        Sum over (N, H, W) of dout.
    """
    xhat, gamma, inv_std, train = cache
    ### BEGIN SOLUTION
    dbeta = dout.sum(axis=(0, 2, 3))
    dgamma = (dout * xhat).sum(axis=(0, 2, 3))
    dxhat = dout * gamma[None, :, None, None]
    if not train:
        return dxhat * inv_std[None, :, None, None], dgamma, dbeta
    m = dout.shape[0] * dout.shape[2] * dout.shape[3]
    sum_dxhat = dxhat.sum(axis=(0, 2, 3), keepdims=True)
    sum_dxhat_xhat = (dxhat * xhat).sum(axis=(0, 2, 3), keepdims=True)
    dx = (m * dxhat - sum_dxhat - xhat * sum_dxhat_xhat) * inv_std[None, :, None, None] / m
    return dx, dgamma, dbeta
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_batchnorm2d_backward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T

FORBIDDEN = ("cnnlab.layers", "cnnlab.nn")
# The train-mode example of section 9b with gamma = (2, 1) and eps = 0: xhat has mean 0 and
# mean square 1 in each channel, and inv_std = (1/sqrt(5), 1/sqrt(2)).
x = np.array([[[[1.0, 3.0]], [[0.0, 0.0]]], [[[5.0, 7.0]], [[2.0, -2.0]]]])
gamma = np.array([2.0, 1.0])
_, cache = cl.layers.batchnorm2d_forward(x, gamma, np.zeros(2), np.zeros(2), np.ones(2), eps=0.0)
xhat, inv_std = cache[0].copy(), cache[2].copy()
no_batch_stats = ("dx ignores that the batch mean and variance depend on x: in train mode "
                  "dx is not just dout * gamma * inv_std")  # fmt: skip
# 1. dout all ones asks to shift every output of a channel: the batch mean absorbs any shift of
#    x, so dx = 0; dgamma = sum(xhat) = 0 and dbeta = sum(dout) = m = 4 per channel.
with T.forbid_calls(*FORBIDDEN, exercise="batchnorm2d_backward"):
    dx, dgamma, dbeta = batchnorm2d_backward(np.ones(x.shape), (xhat.copy(), gamma.copy(),
                                             inv_std.copy(), True))  # fmt: skip
T.assert_allclose(
    dx,
    np.zeros(x.shape),
    atol=1e-12,
    name="batchnorm2d_backward dx for dout all ones (train mode)",
    hint="subtract the part of dxhat that the batch mean absorbs (its mean over N, H, W)",
    mistakes=[(no_batch_stats, np.ones(x.shape) * (gamma * inv_std)[None, :, None, None])],
)
T.assert_allclose(dbeta, [4.0, 4.0], name="dbeta for dout all ones",
                  hint="dbeta = sum of dout over the axes (0, 2, 3)",
                  mistakes=[("dbeta averaged: beta served all m = N*H*W values, SUM dout",
                             [1.0, 1.0])])  # fmt: skip
T.assert_allclose(dgamma, [0.0, 0.0], atol=1e-12, name="dgamma for dout all ones",
                  hint="dgamma = sum of dout * xhat over the axes (0, 2, 3)")  # fmt: skip
# 2. dout = xhat asks to scale every output of a channel: the batch variance absorbs any
#    scaling of x, so dx = 0 again; dgamma = sum(xhat**2) = m = 4, dbeta = sum(xhat) = 0.
with T.forbid_calls(*FORBIDDEN, exercise="batchnorm2d_backward"):
    dx, dgamma, dbeta = batchnorm2d_backward(xhat.copy(), (xhat.copy(), gamma.copy(),
                                             inv_std.copy(), True))  # fmt: skip
T.assert_allclose(
    dx,
    np.zeros(x.shape),
    atol=1e-12,
    name="batchnorm2d_backward dx for dout = xhat (train mode)",
    hint="the batch variance depends on x too: subtract xhat times the mean of dxhat * xhat",
    mistakes=[
        (
            "the path through the batch variance is missing: subtract xhat times the mean "
            "of dxhat * xhat as well",
            xhat * (gamma * inv_std)[None, :, None, None],
        )
    ],
)
T.assert_allclose(dgamma, [4.0, 4.0], name="dgamma for dout = xhat",
                  hint="dgamma = sum of dout * xhat over the axes (0, 2, 3)",
                  mistakes=[("dgamma averaged: gamma served all m = N*H*W values, SUM "
                             "dout * xhat", [1.0, 1.0])])  # fmt: skip
# 3. eval mode: the running statistics are constants, dx = dout * gamma * inv_std
dout = np.arange(8.0).reshape(x.shape)
with T.forbid_calls(*FORBIDDEN, exercise="batchnorm2d_backward"):
    dx, _, _ = batchnorm2d_backward(dout.copy(), (xhat.copy(), gamma.copy(), inv_std.copy(),
                                                  False))  # fmt: skip
T.assert_allclose(
    dx,
    dout * (gamma * inv_std)[None, :, None, None],
    name="batchnorm2d_backward dx in eval mode",
    hint="eval mode: the running statistics do not depend on x, so dx = dout * gamma * inv_std",
)
### BEGIN HIDDEN TESTS
FORBIDDEN = ("cnnlab.layers", "cnnlab.nn")
no_batch_stats = ("dx ignores that the batch mean and variance depend on x: in train mode "
                  "dx is not just dout * gamma * inv_std")  # fmt: skip
rng = np.random.default_rng(822)


def learner(dout, cache):
    xhat, gamma, inv_std, train = cache
    with T.forbid_calls(*FORBIDDEN, exercise="batchnorm2d_backward"):
        return batchnorm2d_backward(dout.copy(), (xhat.copy(), gamma.copy(), inv_std.copy(), train))


for shape in [(4, 3, 5, 7), (2, 5, 3, 3), (3, 2, 1, 1), (1, 4, 6, 5)]:
    c = shape[1]
    x = rng.normal(rng.normal(0, 3, (1, c, 1, 1)), rng.uniform(0.5, 3, (1, c, 1, 1)), shape)
    gamma, beta = rng.normal(1, 0.5, c), rng.normal(0, 1, c)
    running = (rng.normal(0, 1, c), rng.uniform(0.5, 2, c))
    dout = rng.standard_normal(shape)
    for train in (True, False):
        label = f"x {shape}, {'train' if train else 'eval'} mode"
        _, cache = cl.layers.batchnorm2d_forward(x, gamma, beta, *map(np.copy, running),
                                                 train=train)  # fmt: skip
        expected = cl.layers.batchnorm2d_backward(dout, cache)
        xhat, _, inv_std, _ = cache
        simple = dout * (gamma * inv_std)[None, :, None, None]
        dx, dgamma, dbeta = learner(dout, cache)
        dx_mistakes = []
        if train:
            dx_mistakes.append((no_batch_stats, simple))
        else:
            as_train = cl.layers.batchnorm2d_backward(dout, (*cache[:3], True))[0]
            dx_mistakes.append(("eval mode treated like train mode: the running statistics are "
                                "constants, so dx = dout * gamma * inv_std", as_train))  # fmt: skip
        T.assert_allclose(dx, expected[0], rtol=1e-6, atol=1e-9, name=f"dx ({label})",
                          hint="dx = inv_std / m * (m * dxhat - sum(dxhat) - xhat * "
                          "sum(dxhat * xhat)) in train mode", mistakes=dx_mistakes)  # fmt: skip
        T.assert_allclose(dgamma, expected[1], name=f"dgamma ({label})",
                          hint="dgamma = sum of dout * xhat over the axes (0, 2, 3)",
                          mistakes=[("dgamma is the sum of dout * xhat, not of dout",
                                     expected[2])])  # fmt: skip
        T.assert_allclose(dbeta, expected[2], name=f"dbeta ({label})",
                          hint="dbeta = sum of dout over the axes (0, 2, 3)")  # fmt: skip
# numerical gradients of x, gamma and beta in train mode (fresh running statistics per call)
x = rng.standard_normal((3, 2, 3, 4))
gamma, beta = rng.normal(1, 0.5, 2), rng.normal(0, 1, 2)
errors = cl.gradcheck.check_gradients(
    lambda x, g, b: cl.layers.batchnorm2d_forward(x, g, b, np.zeros(2), np.ones(2)),
    {"x": x, "gamma": gamma, "beta": beta},
    learner,
    rng=rng,
)
for key, err in errors.items():
    T.assert_true(
        err < 1e-7,
        f"batchnorm2d_backward d{key} vs numerical gradient: relative error {err:.1e}, above 1e-7",
    )
### END HIDDEN TESTS

# %% [markdown]
# ## 10. 1x1 convolutions
#
# A convolution with a 1x1 kernel looks at one pixel at a time, so it cannot detect shapes. What
# it does is **mix channels**: at every pixel it computes
# $\text{out}[n,f,r,t] = b[f] + \sum_c w[f,c]\, x[n,c,r,t]$, the same fully connected layer from
# C input channels to F output channels, applied at every position with shared weights.
# [Network in Network](https://arxiv.org/abs/1312.4400) introduced the idea (a small MLP sliding
# over the image); [GoogLeNet](https://arxiv.org/abs/1409.4842) used 1x1 convolutions to
# **reduce the number of channels** before expensive 3x3 and 5x5 convolutions, and ResNet's
# bottleneck blocks do the same. A 1x1 convolution from 256 to 64 channels costs
# 256 x 64 multiply-adds per pixel and makes the following 3x3 convolution four times cheaper.
#
# Because it is a matrix product per pixel, it needs no im2col and no loop: the weights form
# an (F, C) matrix, every image is a (C, H*W) matrix whose columns are its pixels, and one
# product contracts the shared channel axis C. `np.einsum` writes such a contraction in one
# line by naming the axes of each operand and of the result.
#
# The figure applies three hand-made 1x1 filters to a colour photograph: a luminance filter
# $(0.299, 0.587, 0.114)$, red minus green, and blue minus yellow.

# %%
rgb = cl.data.sample_image("china", gray=False, downscale=4)[None]  # (1, 3, H, W)
w_mix = np.array([[0.299, 0.587, 0.114], [1.0, -1.0, 0.0], [-0.5, -0.5, 1.0]])[:, :, None, None]
mixed, _ = cl.layers.conv_forward(rgb, w_mix, np.zeros(3))
fig, axes = plt.subplots(1, 4, figsize=(15, 2.9), layout="constrained")
axes[0].imshow(rgb[0].transpose(1, 2, 0))
axes[0].set_title("input: 3 channels (R, G, B)")
titles = [
    "1x1 filter (0.299, 0.587, 0.114):\nluminance",
    "1x1 filter (1, -1, 0):\nred - green",
    "1x1 filter (-0.5, -0.5, 1):\nblue - yellow",
]
for k, ax in enumerate(axes[1:]):
    cmap, m = ("gray", None) if k == 0 else ("RdBu_r", np.abs(mixed[0, k]).max())
    im = ax.imshow(mixed[0, k], cmap=cmap, vmin=None if m is None else -m, vmax=m)
    ax.set_title(titles[k], fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8)
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
plt.show()
H_rgb, W_rgb = mixed.shape[2:]
temple = mixed[0, 1, int(0.3 * H_rgb) : int(0.9 * H_rgb), int(0.3 * W_rgb) : int(0.55 * W_rgb)]
cl.claim("the temple is positive in red - green", temple.mean(), low=0.03)
cl.claim(
    "the sky (top rows) is positive in blue - yellow", mixed[0, 2, : H_rgb // 8].mean(), low=0.05
)
trees = mixed[0, 2, -H_rgb // 4 :, : W_rgb // 8]  # bottom-left corner
cl.claim("the trees are negative in blue - yellow", trees.mean(), high=-0.05)
cl.claim("256 -> 64 channels costs 256 x 64 multiply-adds per pixel", 256 * 64, equals=16384)
cl.claim("a 3x3 convolution on 64 channels is four times cheaper than on 256", 256 / 64, equals=4.0)

# %% [markdown]
# Every output pixel depends on the three colour values of the same input pixel only, so the
# outputs are exactly as sharp as the input: a 1x1 convolution changes *what* is measured at a
# position (here, brightness and two colour contrasts), not *where*. In the two contrast panels
# red means positive and blue negative: the red temple is positive in red-minus-green, the sky
# positive and the green trees negative in blue-minus-yellow. A learned 1x1 layer
# picks such combinations among hundreds of feature channels.
#
# **Worked example.** With two channels, `w = [[[[1.0]], [[-1.0]]]]` (one filter, shape
# (1, 2, 1, 1)) and `b = [0.5]`, the single output channel is
# `out[:, 0] = x[:, 0] - x[:, 1] + 0.5` at every pixel.
#
# ### Exercise 9: `conv1x1_as_matmul` (1 point)
#
# One `np.einsum` or one matrix product (plus the bias), no loops (the test reads your function
# for `for` and `while` loops and comprehensions), and no call to a library convolution
# (`cnnlab.layers`, `scipy.signal`, `scipy.ndimage`, `np.convolve` or `np.correlate`). The test
# compares with a 1x1 `conv_forward`.
#
# The result has shape (N, F, H, W):
# $\text{out}[n,f,r,t] = b[f] + \sum_c w[f,c,0,0]\; x[n,c,r,t]$.
#
# <details><summary>Hint 1</summary>
#
# `w[:, :, 0, 0]` is the (F, C) matrix of this section. The product contracts its C axis with
# the channel axis of `x`, at every pixel of every image at once.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# With `np.einsum`, give each axis a letter (`x` is `nchw`), and write the letters of the output
# you want: a letter missing from the output is summed over. With `@`, reshape `x` to
# (N, C, H*W), multiply by the matrix from the left, and reshape the product back.
#
# </details>
#
# <details><summary>Hint 3</summary>
#
# `b` has shape (F,). To add $b[f]$ to every pixel of output channel $f$ of an (N, F, H, W)
# array, it needs a leading axis and two trailing ones (`None` in an index adds an axis).
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "conv1x1_as_matmul", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv1x1_as_matmul(x, w, b):
    """A convolution with 1x1 kernels, computed as one product over the channel axis.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, 1, 1)
    b : ndarray, shape (F,)

    Returns
    -------
    out : ndarray, shape (N, F, H, W)
        out[n, f] = sum_c w[f, c, 0, 0] * x[n, c] + b[f].
    """
    ### BEGIN SOLUTION
    out = np.einsum("fc,nchw->nfhw", w[:, :, 0, 0], x)
    return out + b[None, :, None, None]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv1x1_as_matmul", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

FORBIDDEN = T.CONVOLUTION_LIBRARIES
x = np.arange(8.0).reshape(1, 2, 2, 2)
w = np.array([[[[1.0]], [[-1.0]]]])
with T.forbid_calls(*FORBIDDEN, exercise="conv1x1_as_matmul"):
    out = conv1x1_as_matmul(x, w, np.array([0.5]))
T.assert_allclose(
    out,
    x[:, :1] - x[:, 1:] + 0.5,
    name="conv1x1_as_matmul (worked example)",
    hint="out[n, f] = sum over c of w[f, c, 0, 0] * x[n, c], plus b[f]",
    mistakes=[("bias missing: add b[f] to every pixel of output channel f", x[:, :1] - x[:, 1:])],
)
# three channels to two filters: filter 0 copies channel 0 and adds 10; filter 1 computes
# channel 1 - channel 2 and adds 20, at every pixel
x = np.arange(12.0).reshape(1, 3, 2, 2)
w = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, -1.0]])[:, :, None, None]
b = np.array([10.0, 20.0])
with T.forbid_calls(*FORBIDDEN, exercise="conv1x1_as_matmul"):
    out = conv1x1_as_matmul(x, w, b)
expected = np.array([[[[10.0, 11], [12, 13]], [[16, 16], [16, 16]]]])
T.assert_allclose(
    out,
    expected,
    name="conv1x1_as_matmul, x (1, 3, 2, 2), w (2, 3, 1, 1)",
    hint="out[n, f] = sum over c of w[f, c, 0, 0] * x[n, c], plus b[f]",
    mistakes=[
        ("bias broadcast on the wrong axis: b[f] belongs to output channel f, axis 1 of "
         "(N, F, H, W): b[None, :, None, None]", expected - b[:, None, None] + b),
        ("bias missing: add b[f] to every pixel of output channel f",
         expected - b[:, None, None]),
        ("(N*H*W, F) reshaped straight to (N, F, H, W): reshape to (N, H, W, F) first, then "
         "transpose(0, 3, 1, 2)", expected.transpose(0, 2, 3, 1).reshape(1, 2, 2, 2)),
        ("(N*H*W, F) reshaped straight to (N, F, H, W): reshape to (N, H, W, F) first, then "
         "transpose(0, 3, 1, 2)",
         (expected - b[:, None, None]).transpose(0, 2, 3, 1).reshape(1, 2, 2, 2)
         + b[:, None, None]),
    ],
)  # fmt: skip
# A loop over the pixels gives the same numbers, so this check reads your code instead.
T.assert_no_loops("conv1x1_as_matmul",
                  rule="conv1x1_as_matmul must be one product over the channel axis, without "
                  "Python loops", hint="one product contracts C at every pixel of every image "
                  "at once: see the hints above the exercise")  # fmt: skip
### BEGIN HIDDEN TESTS
import cnnlab as cl

rng = np.random.default_rng(901)
for (n, c, h, wd), f in [((3, 5, 6, 7), 4), ((2, 3, 5, 5), 3), ((1, 2, 4, 9), 6)]:
    x = rng.standard_normal((n, c, h, wd))
    w = rng.standard_normal((f, c, 1, 1))
    b = rng.standard_normal(f)
    ref = cl.layers.conv_forward(x, w, b)[0]
    with T.forbid_calls(*FORBIDDEN, exercise="conv1x1_as_matmul"):
        out = conv1x1_as_matmul(x, w, b)
    label = f"x {(n, c, h, wd)}, w {(f, c, 1, 1)}"
    T.assert_shape(
        out,
        ref.shape,
        name=f"conv1x1_as_matmul shape ({label})",
        hint="the output has F channels: contract w (F, C) with x over the C axis",
    )
    T.assert_allclose(
        out - b[None, :, None, None],
        ref - b[None, :, None, None],
        name=f"conv1x1_as_matmul without the bias ({label})",
        hint="w[f, c] maps input channel c to output channel f: sum over c, the "
        "input channels (is w transposed?)",
    )
    T.assert_allclose(
        out,
        ref,
        name=f"conv1x1_as_matmul ({label})",
        hint="add the bias b[f] to every pixel of output channel f",
    )
### END HIDDEN TESTS

# %% [markdown]
# ## 11. Receptive fields
#
# The **receptive field** of a unit is the patch of the input image that can influence its value.
# One 3x3 convolution sees 3x3 pixels. A second 3x3 convolution on top sees 3x3 positions of the
# first layer, each of which sees 3x3 pixels, overlapping: together 5x5 pixels. Each further
# layer widens the field by (kernel - 1) steps, but a step in a deeper layer is worth more
# pixels: after a layer with stride 2, neighbouring positions are 2 input pixels apart, so
# every later layer's (kernel - 1) counts double. Writing $k_l, s_l$ for the kernel and stride of
# layer $l$ (pooling layers count too), the receptive field grows as
#
# $$r_0 = 1, \qquad r_l = r_{l-1} + (k_l - 1)\, j_{l-1}, \qquad j_l = j_{l-1}\, s_l, \quad j_0 = 1,$$
#
# where $j_{l}$ (the "jump") is the distance in input pixels between neighbouring units of layer
# $l$. This is how a stack of small kernels builds large receptive fields cheaply: three 3x3
# convolutions see 7x7 pixels with 27 weights per channel pair instead of 49
# ([VGG](https://arxiv.org/abs/1409.1556)). [Araujo, Norris & Sim (Distill,
# 2019)](https://distill.pub/2019/computing-receptive-fields/) derive the formulas with padding
# and dilation.
#
# You can *measure* a receptive field with backpropagation: the gradient of one output unit with
# respect to the input image is nonzero exactly where a change of the input could change that
# unit. The figure does this for three stacks of layers (all-positive averaging kernels, so
# nothing cancels) and outlines the nonzero region. The pooling layers are drawn as 2x2
# *average* pooling with stride 2 (an averaging 2x2 kernel moved by 2): it has the same
# receptive field as 2x2 max pooling, but its gradient reaches every pixel of a window, while a
# max pool sends it to one winner per window, so its nonzero region would depend on the image.

# %%
stacks = {
    "three 3x3 convs, stride 1": [(3, 1), (3, 1), (3, 1)],
    "conv 3x3, avg pool 2x2, conv 3x3, avg pool 2x2": [(3, 1), (2, 2), (3, 1), (2, 2)],
    "three 3x3 convs, stride 2": [(3, 2), (3, 2), (3, 2)],
}
size_in = 33
boxes = {}
fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
for ax, (title, layers) in zip(axes, stacks.items()):
    a = np.zeros((1, 1, size_in, size_in))
    caches = []
    for k, s in layers:
        a, cache = cl.layers.conv_forward(
            a, np.full((1, 1, k, k), 1.0 / k**2), np.zeros(1), stride=s
        )
        caches.append(cache)
    g = np.zeros_like(a)
    g[0, 0, a.shape[2] // 2, a.shape[3] // 2] = 1.0  # one unit near the centre of the last layer
    for cache in reversed(caches):
        g, _, _ = cl.layers.conv_backward(g, cache)
    rows, cols = np.nonzero(g[0, 0])
    boxes[title] = int(np.ptp(rows)) + 1
    ax.imshow(g[0, 0], cmap="magma")
    ax.add_patch(
        plt.Rectangle(
            (cols.min() - 0.5, rows.min() - 0.5),
            np.ptp(cols) + 1,
            np.ptp(rows) + 1,
            fill=False,
            ec="cyan",
            lw=1.5,
        )
    )
    ax.set_title(f"{title}\nnonzero region {np.ptp(rows) + 1}x{np.ptp(cols) + 1}", fontsize=9)
    ax.set_xlabel("input column")
    ax.set_ylabel("input row")
fig.suptitle(f"Gradient of one output unit with respect to a {size_in}x{size_in} input")
plt.show()
print("receptive fields (the cyan boxes):", boxes)
cl.claim("the boxes are 7, 10 and 15 pixels wide", list(boxes.values()), equals=[7, 10, 15])
cl.claim("three 3x3 convolutions see 7x7 pixels", boxes["three 3x3 convs, stride 1"], equals=7)
cl.claim("27 weights per channel pair instead of 49", (3 * 3 * 3, 7 * 7), equals=(27, 49))

# %% [markdown]
# The cyan boxes are the receptive fields; check them against the recurrence above. Notice also
# that the gradient is far from uniform inside a box: central pixels reach the output through
# many more paths than border pixels, so they matter more (with stride 2 and 3x3 kernels the
# windows also overlap unevenly, which leaves a checkerboard of stronger and weaker pixels).
# [Luo et al. (2016)](https://arxiv.org/abs/1701.04128) call the region that really matters the
# *effective* receptive field and show that it is often much smaller than the theoretical one.
#
# **Worked examples.** Two 3x3 convolutions with stride 1: `[(3, 1), (3, 1)]` gives 5. Two 2x2
# poolings with stride 2: `[(2, 2), (2, 2)]` gives 4 (each output summarises a 4x4 block). No
# layer at all, `[]`, gives 1: a pixel sees itself.
#
# ### Exercise 10: `receptive_field` (2 points)
#
# Return $r_L$ of the recurrence above, in input pixels, for a list of `(kernel, stride)` pairs
# ordered from input to output; an empty list gives 1. Check your function on the three stacks
# of the figure.
#
# <details><summary>Hint 1</summary>
#
# Walk through the layers from input to output, keeping two numbers: the receptive field so far
# and the jump.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Order matters inside the loop: a layer widens the field by (kernel - 1) times the jump of the
# layers *before* it, so update the field first and the jump second.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "receptive_field", "locked": false, "schema_version": 3, "solution": true, "task": false}
def receptive_field(layers):
    """Receptive field, in input pixels, of one unit of the last layer of a stack.

    Parameters
    ----------
    layers : list of (int, int)
        (kernel, stride) of every convolution or pooling layer, from input to output.

    Returns
    -------
    int
        Side length of the square input patch that one output unit of the last layer sees
        (1 for an empty list).
    """
    ### BEGIN SOLUTION
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return int(field)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_receptive_field", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

T.assert_equal(
    receptive_field([(3, 1), (3, 1)]),
    5,
    name="receptive_field([(3, 1), (3, 1)])",
    hint="each 3x3 layer with stride 1 adds 2 pixels",
)
T.assert_equal(
    receptive_field([(2, 2), (2, 2)]),
    4,
    name="receptive_field([(2, 2), (2, 2)])",
    hint="r_l = r_(l-1) + (kernel - 1) * jump, where the jump is the product of the strides "
    "of the layers BEFORE layer l",
    mistakes=[
        ("the jump was updated before the field: a layer grows the field by (kernel - 1) times "
         "the product of the strides BEFORE it; its own stride only matters for later layers", 7),
        ("strides ignored: the second 2x2 pooling combines 2 units that are 2 pixels apart, so "
         "it adds (kernel - 1) * 2 pixels", 3),
        ("(kernel - 1) times the layer's OWN stride: use the jump, the product of the strides "
         "of the layers before it (1 for the first layer)", 5),
    ],
)  # fmt: skip
T.assert_equal(
    receptive_field([]),
    1,
    name="receptive_field([])",
    hint="with no layer, a unit is one input pixel: start from 1",
)
### BEGIN HIDDEN TESTS


def brute_force(layers):
    """Follow the input interval of output unit 0 back through the layers."""
    lo, hi = 0, 0
    for k, s in reversed(layers):
        lo, hi = lo * s, hi * s + k - 1
    return hi - lo + 1


hint = (
    "layer l adds (kernel - 1) times the product of the strides of the layers BEFORE it "
    "(the jump); its own stride only matters for the layers after it"
)
T.assert_equal(
    receptive_field([]),
    1,
    name="receptive_field([])",
    hint="with no layer, a unit is one input pixel: start from 1",
)
fixed = [
    [(3, 1)],
    [(3, 1), (3, 1), (3, 1)],
    [(3, 2), (3, 2), (3, 2)],
    [(3, 1), (3, 4)],
    [(7, 2), (3, 2), (3, 1), (3, 1)],
    [(5, 1), (2, 2), (5, 1), (2, 2), (3, 1)],
    [(1, 1), (1, 2), (3, 1)],
]
rng = np.random.default_rng(1001)
random_stacks = [
    [(int(rng.integers(1, 8)), int(rng.integers(1, 4))) for _ in range(int(rng.integers(2, 7)))]
    for _ in range(20)
]
for layers in fixed + random_stacks:
    T.assert_equal(
        receptive_field(layers), brute_force(layers), name=f"receptive_field({layers})", hint=hint
    )
### END HIDDEN TESTS

# %% [markdown]
# ## 12. Every backward pass, checked numerically
#
# You now have every layer of a small CNN. Before using them to train (notebook 03), we check
# each backward pass against **your** `numerical_gradient`. A layer with an array output is
# turned into a scalar function with a fixed random upstream gradient `dout`:
# $f(x) = \sum \text{out}(x) \odot \text{dout}$, whose gradient with respect to $x$ is exactly
# what `layer_backward(dout, cache)` returns. The inputs are built to make the check meaningful:
# ReLU inputs stay at least 0.1 away from 0 and max-pooling inputs are distinct values at least
# 0.01 apart, both far more than the step $h = 10^{-5}$. Dropout is checked with a fixed seed, so
# that every evaluation uses the same mask, and batch normalisation in train mode, where the
# gradient runs through the batch mean and variance.


# %%
def gradient_errors(forward, backward, inputs, dout_rng):
    """rel_error of backward(dout, cache) against numerical_gradient, for each input array."""
    out, cache = forward(*inputs)
    dout = dout_rng.standard_normal(np.shape(out))
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    errors = []
    for k, grad in enumerate(grads):

        def f(z, k=k):
            args = list(inputs)
            args[k] = z
            return np.sum(forward(*args)[0] * dout)

        errors.append(cl.gradcheck.rel_error(grad, numerical_gradient(f, inputs[k].copy())))
    return errors


t0 = time.perf_counter()
g = np.random.default_rng(12)
away_from_zero = g.uniform(0.1, 1.0, (2, 3, 4, 4)) * g.choice([-1.0, 1.0], (2, 3, 4, 4))
distinct = g.permutation(2 * 2 * 7 * 7).reshape(2, 2, 7, 7) * 0.01
x_conv, w_conv, b_conv = (
    g.standard_normal((2, 3, 6, 5)),
    g.standard_normal((4, 3, 3, 3)),
    g.standard_normal(4),
)
x_fc, w_fc, b_fc = g.standard_normal((3, 2, 3, 2)), g.standard_normal((12, 5)), g.standard_normal(5)
labels = np.array([1, 0, 3])
checks = {}
checks["ReLU dx"] = gradient_errors(relu_forward, relu_backward, [away_from_zero], g)
dx_err, dw_err, db_err = gradient_errors(affine_forward, affine_backward, [x_fc, w_fc, b_fc], g)
checks.update({"affine dx": [dx_err], "affine dw": [dw_err], "affine db": [db_err]})
dx_err, dw_err, db_err = gradient_errors(
    lambda x, w, b: conv_forward(x, w, b, stride=2, pad=1),
    conv_backward_naive,
    [x_conv, w_conv, b_conv],
    g,
)
checks.update({"conv dx (s=2, p=1)": [dx_err], "conv dw": [dw_err], "conv db": [db_err]})
checks["max pool 2x2/2 dx"] = gradient_errors(
    lambda x: maxpool_forward_naive(x, 2, stride=2), maxpool_backward_naive, [distinct], g
)
checks["max pool 3x3/1 dx"] = gradient_errors(
    lambda x: maxpool_forward_naive(x, 3, stride=1), maxpool_backward_naive, [distinct], g
)
checks["max pool 3x3/2 dx"] = gradient_errors(
    lambda x: maxpool_forward_naive(x, 3, stride=2), maxpool_backward_naive, [distinct], g
)
checks["avg pool 3x3/2 p=1 dx"] = gradient_errors(
    lambda x: avgpool_forward_naive(x, 3, stride=2, pad=1), avgpool_backward_naive, [x_conv], g
)
checks["global avg pool dx"] = gradient_errors(
    global_avgpool_forward, global_avgpool_backward, [x_conv], g
)
checks["dropout dx (p=0.4)"] = gradient_errors(
    lambda x: dropout_forward(x, 0.4, train=True, rng=np.random.default_rng(3)),
    dropout_backward,
    [x_fc],
    g,
)
gamma_check, beta_check = g.uniform(0.5, 1.5, 3), g.standard_normal(3)
dx_err, dgamma_err, dbeta_err = gradient_errors(
    lambda x, gamma, beta: batchnorm2d_forward(x, gamma, beta, np.zeros(3), np.ones(3)),
    batchnorm2d_backward,
    [x_conv, gamma_check, beta_check],
    g,
)
checks.update({"batch norm dx (train)": [dx_err], "batch norm dgamma": [dgamma_err],
               "batch norm dbeta": [dbeta_err]})  # fmt: skip
scores = g.standard_normal((3, 4))
_, dscores = softmax_cross_entropy(scores, labels)
num = numerical_gradient(lambda s: softmax_cross_entropy(s, labels)[0], scores.copy())
checks["softmax CE dscores"] = [cl.gradcheck.rel_error(dscores, num)]

print(f"{'backward pass':<22} relative error")
for name, (err,) in checks.items():
    print(f"{name:<22} {err:.1e}")
print(f"({time.perf_counter() - t0:.1f} s)")

fig, ax = plt.subplots(figsize=(12, 3.8))
names = list(checks)
errs = [max(v[0], 1e-13) for v in checks.values()]
ax.bar(names, errs, color=["tab:green" if e < 1e-7 else "tab:red" for e in errs])
ax.set_yscale("log")
ax.axhline(1e-7, color="gray", ls=":", label="1e-7: the course's rule; above it, look for a bug")
ax.set_ylim(1e-13, 1)
ax.set_ylabel("relative error (log scale)")
ax.set_title("Your backward passes against your numerical gradient")
ax.tick_params(axis="x", rotation=45)
plt.setp(ax.get_xticklabels(), ha="right")
ax.legend()
plt.show()
cl.claim("every bar is green (below 1e-7)", max(errs), high=1e-7)
near_kink = 1e-6 * np.random.default_rng(0).standard_normal((2, 3, 4, 4))
relu_near_kink = gradient_errors(relu_forward, relu_backward, [near_kink], g)[0]
cl.claim("inputs within h of 0 make the ReLU bar jump", relu_near_kink, low=1e-2)

# %% [markdown]
# Every bar should be green: below the 1e-7 line, most of them around 1e-8 or lower, the
# accuracy of a centred difference in float64. A red bar means a bug, or an input too close to
# a kink or a tie. Try it: replace
# `away_from_zero` by `1e-6 * g.standard_normal((2, 3, 4, 4))` and watch the ReLU bar jump.
#
# ## 13. Your layers, stacked into a network that learns
#
# Chaining the pairs gives a whole network: the forward passes run bottom-up, each keeping its
# cache, and the backward passes run top-down, each handing `dx` to the layer below and
# returning the gradients of its own parameters. Below, a small CNN
# (conv 3x3 -> ReLU -> max pool 2x2 -> affine -> softmax cross-entropy) is built from **your**
# functions (and the provided `conv_forward`) and trained with plain gradient descent,
# $w \leftarrow w - \eta\, \partial L / \partial w$, on 16 digits. Beside it runs the same network
# from `cnnlab.nn`, the vectorised module library used from notebook 03 on, started from the
# same weights.


# %%
def my_loss_and_grads(params, x, y):
    """Forward and backward through the network built from your layer functions."""
    h1, c1 = conv_forward(x, params["w1"], params["b1"], pad=1)
    h2, c2 = relu_forward(h1)
    h3, c3 = maxpool_forward_naive(h2, 2, stride=2)
    scores, c4 = affine_forward(h3, params["w2"], params["b2"])
    loss, dscores = softmax_cross_entropy(scores, y)
    dh3, dw2, db2 = affine_backward(dscores, c4)
    dh2 = maxpool_backward_naive(dh3, c3)
    dh1 = relu_backward(dh2, c2)
    _, dw1, db1 = conv_backward_naive(dh1, c1)
    return loss, {"w1": dw1, "b1": db1, "w2": dw2, "b2": db2}


x_train, y_train = X_digits[:16].astype(np.float64), y_digits[:16]
model = cl.nn.Sequential(
    cl.nn.Conv2d(1, 4, 3, pad=1, seed=0, dtype="float64"),
    cl.nn.ReLU(),
    cl.nn.MaxPool2d(2, stride=2),
    cl.nn.Linear(4 * 4 * 4, 10, seed=1, dtype="float64"),
)
keys = {"w1": "0.w", "b1": "0.b", "w2": "3.w", "b2": "3.b"}
params = {mine: model.params[theirs].copy() for mine, theirs in keys.items()}
lr, n_steps = 0.3, (5 if cl.is_grading() else 12)
my_losses, lib_losses, grad_errors = [], [], []
t0 = time.perf_counter()
for _ in range(n_steps):
    loss, grads = my_loss_and_grads(params, x_train, y_train)
    lib_loss, dscores = cl.layers.softmax_cross_entropy(model(x_train), y_train)
    model.backward(dscores)
    grad_errors.append(max(cl.gradcheck.rel_error(grads[k], model.grads[keys[k]]) for k in keys))
    for k in keys:
        params[k] -= lr * grads[k]
        model.params[keys[k]][...] -= lr * model.grads[keys[k]]
    my_losses.append(loss)
    lib_losses.append(lib_loss)
print(
    f"{n_steps} steps in {time.perf_counter() - t0:.1f} s; largest relative difference "
    f"between your gradients and cnnlab.nn's: {max(grad_errors):.1e}"
)

fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(my_losses, "o-", lw=4, alpha=0.5, label="your layers")
ax.plot(lib_losses, "k.--", label="cnnlab.nn, same initial weights")
ax.axhline(np.log(10), color="gray", ls=":", label="log 10: a uniform guess over 10 classes")
ax.set_xlabel("gradient descent step")
ax.set_ylabel("mean cross-entropy loss on 16 digits")
ax.set_title("A CNN built from your layers learns")
ax.legend()
plt.show()
cl.claim("the loss starts near log 10 = 2.3", my_losses[0], low=2.0, high=2.6)
cl.claim("the loss falls step after step", float(np.max(np.diff(my_losses))), high=0.0)
cl.claim("your gradients agree with the library's to round-off", max(grad_errors), high=1e-9)
cl.claim("the whole notebook runs in under a minute", time.perf_counter() - notebook_start, high=60)

# %% [markdown]
# The loss starts near $\log 10 \approx 2.3$, the loss of a uniform guess, and falls step after
# step as the network fits the 16 digits; the two curves lie on top of each other because your
# gradients agree with the library's to round-off. Fitting 16 examples is not learning to read
# digits, of course: that needs mini-batches of the whole training set, a validation set and
# better optimisers, which is notebook 03.
#
# ## Summary
#
# - Every layer is a pair `forward -> (out, cache)` and `backward(dout, cache) -> grads`; a
#   gradient has the shape of its array, and parameters shared across a batch (or across
#   positions) collect a **sum** of gradients.
# - The **centred difference** with $h \approx 10^{-5}$ checks a backward pass to about 1e-8 in
#   float64, as long as no probe crosses a kink or a tie.
# - **ReLU** gates the gradient; **affine** backward is two matrix products and a sum; the
#   **convolution** backward pass is itself a convolution: `dx` is a full convolution of `dout`
#   with the kernel, `dw` a correlation of the input with `dout`.
# - **Max pooling** routes each window's gradient to its (first) maximum, adding up where
#   windows overlap; **global average pooling** spreads it evenly.
# - **Average pooling** gives each position of a window $1/\text{size}^2$ of its gradient. With
#   padding, the padded zeros count in the mean here (PyTorch's default), and the border
#   darkens; **max pooling** pads with $-\infty$, never with 0.
# - **Softmax cross-entropy** must shift scores by their maximum; its gradient is
#   $(p - \text{onehot}(y))/N$.
# - **Inverted dropout** drops with probability $p$ and scales survivors by $1/(1-p)$ at train
#   time, so the test-time layer is the identity.
# - **Batch normalisation** normalises each channel over (N, H, W) with the batch's statistics
#   in training, where its backward pass runs through the batch mean and variance too, and with
#   running averages in eval mode, so that an image's output never depends on its batch.
# - A **1x1 convolution** is a per-pixel fully connected layer over channels; stacks of small
#   kernels and strides grow the **receptive field** as $r \mathrel{+}= (k-1)\cdot j$.
#
# **Next: 03-training.** From now on the layers come from `cnnlab.nn`, the vectorised versions
# of the functions you wrote. You will assemble the classic CNN pattern from them and write what
# makes it learn on the whole digits set: mini-batches, SGD with momentum and Adam, learning
# curves, and regularisation with the dropout you built here. Batch normalisation comes back
# there as the module `cnnlab.nn.BatchNorm2d`, and you will see how much it speeds up training.

# %% [markdown]
# ## Challenge (optional, not graded): the convolution's backward pass with `col2im`
#
# Your `conv_backward_naive` runs four nested Python loops. Notebook 01 made the forward pass
# fast with **im2col**: every receptive field of the padded input becomes one row of a matrix
# `cols` of shape (N·OH·OW, C·KH·KW), and the whole convolution is one matrix product with the
# filters flattened to (F, C·KH·KW). The backward pass of a matrix product is two matrix
# products, so the backward pass of the convolution can be vectorised the same way. Write
# $D$ for `dout` rearranged into a matrix of shape (N·OH·OW, F), one row per output position,
# in the same row order as `cols`, and $W$ for the filters as an (F, C·KH·KW) matrix. Then
#
# $$dW = D^\top\,\text{cols}, \qquad db = \textstyle\sum_{\text{rows}} D, \qquad
#   d\,\text{cols} = D\,W,$$
#
# with $dW$ reshaped back to (F, C, KH, KW). The last step turns $d\,\text{cols}$, the
# gradient of every copied window, back into a gradient of the image: each pixel was copied
# into every window that contains it, so it receives the **sum** of the gradients of its
# copies, and the padding is cut off. That bookkeeping is **col2im**, the adjoint of im2col
# (CS231n's assignment 2 provides it too); here it is `cl.layers.col2im(dcols, x.shape, KH, KW,
# stride=stride, pad=pad)`, with the row and column order of `cl.layers.im2col`. Use
# `cl.layers.im2col` to build `cols` from the cached input and `cl.layers.col2im` for the last
# step; calling `cl.layers.conv_backward` or your `conv_backward_naive` would defeat the purpose.
#
# The challenge is not graded. Write `conv_backward_im2col` in the cell below (in place of the
# line that raises `NotImplementedError`); the cell after it checks your result against
# `cnnlab.layers.conv_backward` and against your loop version, and measures the speed-up.
#
# <details><summary>Hint 1</summary>
#
# `cols` lists the windows image by image, then row by row of the output, then column by
# column: the row of window $(n, i, j)$ is $n\cdot OH\cdot OW + i\cdot OW + j$. `dout` has shape
# (N, F, OH, OW), so the filter axis must move to the end before it is flattened into $D$.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Check every matrix by its shape: $D$ is (N·OH·OW, F), `cols` (N·OH·OW, C·KH·KW), so
# $D^\top$ `cols` is (F, C·KH·KW), the flattened `dw`; $D$ times the flattened filters is
# (N·OH·OW, C·KH·KW), the shape `col2im` expects.
#
# </details>


# %%
def conv_backward_im2col(dout, cache):
    """Backward pass of a convolution layer, vectorised with im2col and col2im.

    Parameters
    ----------
    dout : ndarray, shape (N, F, OH, OW)
        Upstream gradient.
    cache : tuple
        From conv_forward; its first five items are (x, w, b, stride, pad) with
        x (N, C, H, W), w (F, C, KH, KW), b (F,).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, KH, KW)
    db : ndarray, shape (F,)
    """
    x, w, b, stride, pad = cache[:5]
    # The optional challenge: replace the next line by your code.
    raise NotImplementedError("conv_backward_im2col: the optional challenge")


# %%
def col2im_self_check(backward, naive):
    """Compare backward with cnnlab and with naive, then time both; print what was found."""
    g = np.random.default_rng(13)
    for stride, pad in ((2, 1), (1, 1)):  # 8 images, 3 channels, 12x12, six 3x3 filters
        x_c, w_c = g.standard_normal((8, 3, 12, 12)), g.standard_normal((6, 3, 3, 3))
        out_c, cache_c = cl.layers.conv_forward(x_c, w_c, np.zeros(6), stride=stride, pad=pad)
        dout_c = g.standard_normal(out_c.shape)
        expected = cl.layers.conv_backward(dout_c, cache_c)
        n, f, oh, ow = dout_c.shape
        unmoved = cl.layers.conv_backward(dout_c.reshape(n, oh, ow, f).transpose(0, 3, 1, 2),
                                          cache_c)[0]  # fmt: skip
        try:
            yours = backward(dout_c, cache_c)
        except NotImplementedError:
            return print("conv_backward_im2col is not written yet (the challenge is optional).")
        for name, got, ref in zip(("dx", "dw", "db"), yours, expected):
            if np.shape(got) != ref.shape or not np.allclose(got, ref):
                print(f"{name} differs from cnnlab.layers.conv_backward (stride {stride}, pad "
                      f"{pad}): expected shape {ref.shape}, got {np.shape(got)}")  # fmt: skip
                if name == "dx" and np.shape(got) == ref.shape and np.allclose(got, unmoved):
                    print("  dout was flattened to (N*OH*OW, F) without moving the filter axis "
                          "last: transpose (N, F, OH, OW) to (N, OH, OW, F) first")  # fmt: skip
                return None
    t0 = time.perf_counter()
    loops = naive(dout_c, cache_c)
    t_loops = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(10):
        backward(dout_c, cache_c)
    t_vec = (time.perf_counter() - t0) / 10
    gap = max(float(np.abs(a - b).max()) for a, b in zip(loops, yours))
    print(f"right: dx, dw and db agree with cnnlab's for stride 2 and 1; largest difference "
          f"from your loop version {gap:.1e}")  # fmt: skip
    print(f"stride 1: loops {1e3 * t_loops:.0f} ms, im2col/col2im {1e3 * t_vec:.2f} ms, "
          f"{t_loops / t_vec:.0f}x faster")  # fmt: skip
    return t_loops / t_vec


speedup = col2im_self_check(conv_backward_im2col, conv_backward_naive)

# %% [markdown]
# Once your function is right, the self-check prints how much faster it is than your loops on
# this machine: the loops run N·F·OH·OW small NumPy operations, the vectorised version two large
# matrix products and KH·KW strided additions in `col2im`. `cnnlab.layers.conv_backward`, used
# from notebook 03 on, goes one step further: it does not build `cols` again for the backward
# pass but reuses the blocks its forward pass kept in the cache.
