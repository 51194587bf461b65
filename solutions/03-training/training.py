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
# # 03 · Training a convnet: from random weights past a classical baseline
#
# In the first two notebooks you wrote the parts of a convolutional network: convolution,
# ReLU, pooling, the fully connected layer and the softmax loss, each with its backward pass.
# Parts do not learn by themselves. This notebook is about everything that turns a stack of
# layers with random weights into a classifier you can trust.
#
# **When you finish you will be able to**
#
# - explain why the scale of the initial weights decides whether a deep network can learn at
#   all, and initialise layers with He initialisation;
# - assemble the classic pattern
#   `INPUT -> [[CONV -> RELU]*N -> POOL]*M -> [FC -> RELU]*K -> FC` from `cnnlab.nn` layers;
# - write mini-batch iteration, the SGD, momentum, RMSProp and Adam updates, a training epoch
#   and an evaluation function, and explain each line;
# - run the two sanity checks every practitioner runs before a long training (the initial loss,
#   and overfitting a tiny subset);
# - read learning curves and tell under-fitting from over-fitting;
# - regularise with dropout and data augmentation, and say which augmentations are safe;
# - use batch normalisation, and compare your convnet with a strong classical baseline.
#
# **Builds on** 01-convolution (convolution, padding, stride) and 02-layers (forward and
# backward passes of every layer, `cnnlab.nn`). From here on the layers are the fast ones
# from `cnnlab.nn`; everything that makes them *learn* is yours.
#
# **Time:** about 3 hours. Every cell runs in a few seconds on a laptop CPU.
#
# **Exercises (28 points):** `he_init` (2), `build_convnet` (4), `iterate_minibatches` (2),
# `sgd_step` (1), `momentum_step` (2), `rmsprop_step` (2), `adam_step` (3), `train_epoch` (3),
# `evaluate` (2), `random_shift` (3), `train_convnet` (4) (exercise 4 is the four update rules).
# Each exercise has a test cell with checks you can read; the grader runs further hidden checks (random shapes,
# the usual mistakes), so make your function correct, not just correct on the example.
#
# The data set throughout is scikit-learn's 8x8 handwritten digits, 1,797 images, split into
# 1,437 training and 360 test images by `cl.data.load_digits()`. It is small enough to train on
# in seconds, and hard enough that the last percent of accuracy has to be earned.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import time

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

import cnnlab as cl
from cnnlab import nn
from cnnlab.layers import softmax_cross_entropy

np.set_printoptions(precision=4, suppress=True)
# Our matrices are small: one BLAS thread is faster than several waiting for each other (the
# whole notebook runs about a fifth faster on a 2-core machine).
threadpool_limits(1, user_api="blas")

# %% [markdown]
# Let us look at the data once before we train anything. Each image is 8x8 pixels with values
# in [0, 1], stored channels-first as `(N, 1, 8, 8)`, the layout all our layers expect.

# %%
X_train, y_train, X_test, y_test = cl.data.load_digits()
print("train:", X_train.shape, X_train.dtype, " test:", X_test.shape)
print("images per class in the training set:", np.bincount(y_train))
cl.claim("1,437 training and 360 test images", (len(X_train), len(X_test)), equals=(1437, 360))
cl.claim("the classes are balanced", np.bincount(y_train).max() / np.bincount(y_train).min(),
         high=1.1)  # fmt: skip
# one picture: 2 rows of 8 digits, each with a white margin and its label above it
framed = np.pad(X_train[:16, 0], ((0, 0), (3, 1), (1, 1)), constant_values=1.0)
mosaic = framed.reshape(2, 8, 12, 10).transpose(0, 2, 1, 3).reshape(24, 80)
fig, ax = plt.subplots(figsize=(10, 3.3))
ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1)
for i, label in enumerate(y_train[:16]):
    ax.text(10 * (i % 8) + 4.5, 12 * (i // 8) + 1.8, f"label: {label}", ha="center", fontsize=9)
ax.set_axis_off()
ax.set_title("The first 16 training digits")
plt.show()

# %% [markdown]
# Each digit is a blurry 8x8 thumbnail; some (a 1 and a 7, a 5 and a 9) are hard to tell apart
# even for us. The classes are balanced, so accuracy is a fair summary of performance.
#
# ## 1. Initialisation: keeping the signal alive through depth
#
# Before the first gradient step, every weight is a random number, and the *scale* of those
# numbers matters far more than it seems. Follow one input through a deep stack of
# fully connected layers with ReLUs. A unit in layer $l$ computes
# $z = \sum_{i=1}^{n} w_i a_i$ over its $n$ inputs (its *fan-in*). With weights of mean zero
# and variance $\sigma^2$, independent of the inputs, the variance of $z$ is
# $n\,\sigma^2\,\mathbb{E}[a^2]$. A ReLU then zeroes the negative half of $z$, which halves its
# second moment: $\mathbb{E}[a_\text{next}^2] = \tfrac12 \operatorname{Var}(z)$. Per layer, the
# signal's second moment is multiplied by
#
# $$ g = \tfrac12\, n\, \sigma^2 .$$
#
# After $L$ layers it has been multiplied by $g^L$. If $g = 0.5$, twenty layers shrink it a
# million-fold and the gradients that flow back shrink the same way (*vanishing*); if $g = 2$
# they grow a million-fold (*exploding*). Only $g = 1$ keeps the scale, which asks for
#
# $$ \sigma = \sqrt{2 / n_\text{in}} .$$
#
# This is **He initialisation** ([He et al., 2015](https://arxiv.org/abs/1502.01852)). The
# older choices were derived for activations symmetric around zero, such as tanh: LeCun's
# $\sigma = \sqrt{1/n_\text{in}}$
# ([LeCun et al., 1998](https://doi.org/10.1007/3-540-49430-8_2)) and Glorot's
# $\sigma = \sqrt{2/(n_\text{in} + n_\text{out})}$
# ([Glorot & Bengio, 2010](https://proceedings.mlr.press/v9/glorot10a.html)), which is the same
# number when a layer has as many outputs as inputs. With ReLU both lose half the variance at
# every layer ($g = \tfrac12$ in the formula above). For a
# convolution, each output value sums over a $C \times K_H \times K_W$ window of the input, so
# its fan-in is $n_\text{in} = C\,K_H\,K_W$, not the number of pixels.
#
# The experiment below sends 500 random inputs through ten ReLU layers of width 256 and
# records the spread of the activations at every layer, for four weight scales.


# %%
def activation_stds(sigma, depth=10, width=256, n=500, seed=0):
    """Std of the ReLU activations after each of `depth` random fully connected layers."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, width))
    stds, layers = [], []
    for _ in range(depth):
        w = rng.standard_normal((width, width)) * sigma
        a = np.maximum(a @ w, 0.0)
        stds.append(a.std())
        layers.append(a)
    return np.array(stds), layers


width = 256
inits = {
    "too small, std 0.05": 0.05,
    "LeCun, std sqrt(1/n)": np.sqrt(1 / width),
    "He, std sqrt(2/n)": np.sqrt(2 / width),
    "too large, std 0.15": 0.15,
}
final_std, activations = {}, {}
fig, ax = plt.subplots(figsize=(6.5, 3.8))
for label, sigma in inits.items():
    stds, activations[label] = activation_stds(sigma)  # the layers, kept for the histograms
    final_std[label] = stds[-1]
    ax.semilogy(np.arange(1, 11), stds, marker="o", label=label)
ax.set_xlabel("layer")
ax.set_ylabel("std of the activations (log scale)")
ax.yaxis.set_major_formatter("{x:g}")  # tick labels as plain numbers: 0.001, 1, 1000
ax.minorticks_off()  # ticks at the powers of ten only
ax.set_title("Activation scale through ten ReLU layers of width 256")
ax.legend()
ax.grid(alpha=0.3)
plt.show()
print("std after layer 10:", {k: float(f"{v:.3g}") for k, v in final_std.items()})
# the inputs have std 1, so these are the factors the ten layers multiplied the scale by
cl.claim("He stays flat", final_std["He, std sqrt(2/n)"], low=0.7, high=1.4)
cl.claim("LeCun loses a factor of about 30", 1 / final_std["LeCun, std sqrt(1/n)"], low=20, high=45)
cl.claim("too small: 2-3 orders", 1 / final_std["too small, std 0.05"], low=100, high=1000)
cl.claim("too large: 2-3 orders", final_std["too large, std 0.15"], low=100, high=1000)

# %% [markdown]
# On the log scale each initialisation gives a straight line, because every layer multiplies
# the scale by the same factor. Only He initialisation stays flat. LeCun's scale, a factor
# $\sqrt 2$ smaller, already loses a factor of about 30 in ten layers (the inputs have std 1);
# the other two lose or gain two to three orders of magnitude. The histograms show what that
# looks like for the units.

# %%
# one panel per initialisation, the three layers drawn over each other on a common x-axis
fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), sharey=True)
last_layer = {}
for ax, label in zip(axes, ["too small, std 0.05", "He, std sqrt(2/n)", "too large, std 0.15"]):
    layers = activations[label]
    last_layer[label] = layers[-1]
    for layer, color in zip([0, 4, 9], ["C0", "C1", "C3"]):
        a = layers[layer].ravel()
        ax.hist(a[a > 0], bins=40, histtype="step", color=color, lw=1.5,
                label=f"layer {layer + 1}: std {a.std():.2g}")  # fmt: skip
    ax.set_title(label, fontsize=10)
    ax.set_xlabel("activation value (positive ones)")
    ax.legend(fontsize=8)
axes[0].set_ylabel("count")
fig.suptitle("Histograms of ReLU activations at layers 1, 5 and 10")
fig.subplots_adjust(top=0.82, wspace=0.08)
plt.show()
small_last, large_last = last_layer["too small, std 0.05"], last_layer["too large, std 0.15"]
zero_share = np.mean(last_layer["He, std sqrt(2/n)"] == 0)
cl.claim("too small, layer 10: a few thousandths", small_last.std(), low=1e-3, high=1e-2)
cl.claim("too large: later layers spread beyond a thousand", large_last.max(), low=1000)
cl.claim("about half the units are zero", zero_share, low=0.4, high=0.6)

# %% [markdown]
# Each panel draws the three layers on one x-axis. With weights that are too small (left), the
# histogram collapses onto zero: at layer 10 the values are a few thousandths, a thin spike at
# the left edge, so the last layers see almost nothing and the gradients they send back are as
# small. With weights that are too large (right), the early layers are squeezed against zero
# only because the later ones spread beyond a thousand, where a softmax saturates. With He
# initialisation (middle) the three histograms nearly coincide: the shape and range stay
# about the same from layer 1 to layer 10. (Only positive values are drawn: about half the
# units are exactly zero after each ReLU.)
#
# ### Exercise 1: `he_init` (2 points)
#
# Return an array of the given shape with independent normal entries of mean 0 and standard
# deviation $\sqrt{2/\text{fan\_in}}$, drawn from the generator `rng`.
#
# Use `fan_in` as given; do not recompute it from `shape` (for a `Linear` weight `(D, M)` it is
# $D$, for a `Conv2d` weight `(F, C, KH, KW)` it is $C \cdot K_H \cdot K_W$).
#
# <details><summary>Hint 1</summary>
#
# A standard normal number has mean 0 and standard deviation 1. Multiplying it by a constant
# $s$ multiplies its standard deviation by $s$ and keeps the mean at 0.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# The generator has a method that draws a whole array of standard normal numbers of a given
# shape. Scale that array by the standard deviation, not by the variance $2/\text{fan\_in}$.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "he_init", "locked": false, "schema_version": 3, "solution": true, "task": false}
def he_init(shape, fan_in, rng):
    """He (Kaiming) initialisation for a layer followed by ReLU.

    Parameters
    ----------
    shape : tuple of int
        Shape of the weight array, e.g. (F, C, KH, KW) or (D, M).
    fan_in : int
        Number of inputs that each output unit sums over (C * KH * KW for a convolution,
        D for a fully connected layer).
    rng : numpy.random.Generator
        Source of the random numbers.

    Returns
    -------
    w : ndarray of float64, shape ``shape``
        Independent draws from N(0, 2 / fan_in), i.e. standard deviation sqrt(2 / fan_in).
    """
    ### BEGIN SOLUTION
    return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_he_init", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

# Two worked examples of 50,000 draws each, std within 2 % and mean 0 within four standard
# errors. A fully connected weight (D, M) = (400, 125) has fan_in = D = 400, so its std is
# sqrt(2 / 400) = 0.0707; a convolution weight (F, C, KH, KW) = (200, 10, 5, 5) has
# fan_in = C * KH * KW = 250 and std sqrt(2 / 250) = 0.0894.
for shape, fan_in, others in [
    ((400, 125), 400, [("125 outputs of the layer", 125)]),
    ((200, 10, 5, 5), 250, [("F = 200 filters", 200), ("F * KH * KW = 5,000 outputs", 5000),
                            ("C = 10 channels, without KH * KW", 10)]),
]:  # fmt: skip
    call = f"he_init({shape}, {fan_in}, rng)"
    w = he_init(shape, fan_in, np.random.default_rng(0))
    T.assert_shape(w, shape, name=call)
    want = np.sqrt(2 / fan_in)
    w = np.asarray(w, dtype=np.float64)
    T.assert_allclose(
        [w.mean()], [0.0], atol=4 * want / np.sqrt(w.size), name=f"mean of {call}",
        hint="the weights must be centred on 0: scale rng.standard_normal (rng.random is "
        "uniform on [0, 1))",
    )  # fmt: skip
    T.assert_allclose(
        [w.std()], [want], rtol=0.02, name=f"std of {call}",
        hint=f"the standard deviation is sqrt(2 / fan_in) = {want:.4f} with fan_in as given",
        mistakes=[
            ("the factor 2 is missing: sqrt(1 / fan_in) is LeCun's scale, He's is "
             "sqrt(2 / fan_in) because ReLU halves the variance", [np.sqrt(1 / fan_in)]),
            ("2 / fan_in is the variance: the standard deviation is its square root",
             [2 / fan_in]),
        ] + [(f"the std uses the {what} instead of fan_in = {fan_in}: use the fan_in argument",
              [np.sqrt(2 / n)]) for what, n in others],
    )  # fmt: skip
# Every number comes from rng: the same seed gives the same weights, and two calls in a row
# continue the stream (two different arrays).
T.assert_allclose(
    he_init((3, 4), 7, np.random.default_rng(5)), he_init((3, 4), 7, np.random.default_rng(5)),
    name="he_init twice with a generator of seed 5",
    hint="draw the numbers from the rng argument, not from np.random",
)  # fmt: skip
r = np.random.default_rng(7)
with T.in_place(r):  # the grader hands r's new state back after each call
    twice = he_init((5, 5), 5, r), he_init((5, 5), 5, r)
T.assert_true(
    not np.allclose(*twice),
    "he_init: two consecutive calls with the same generator returned the same numbers",
    hint="draw from the rng you are given; do not re-seed or copy it inside the function",
)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(2024)
for shape, fan_in in [((64, 16, 3, 3), 16 * 9), ((300, 40), 300), ((24, 5, 5, 3), 5 * 5 * 3)]:
    w = he_init(shape, fan_in, rng)
    T.assert_shape(w, shape, name=f"he_init({shape}, {fan_in}, rng)")
    w = np.asarray(w, dtype=np.float64)
    std, want = float(w.std()), float(np.sqrt(2.0 / fan_in))
    fan_out = shape[0] * int(np.prod(shape[2:])) if len(shape) == 4 else shape[1]
    name = f"std of he_init({shape}, fan_in={fan_in}, rng)"
    if abs(std / np.sqrt(2.0 / fan_out) - 1) < 0.05 and fan_out != fan_in:
        T.assert_allclose([std], [want], rtol=0.05, name=name,
                          hint="the std uses fan_out (outputs) instead of fan_in (inputs)")  # fmt: skip
    if abs(std / np.sqrt(1.0 / fan_in) - 1) < 0.05:
        T.assert_allclose([std], [want], rtol=0.05, name=name,
                          hint="the factor 2 is missing: sqrt(1 / fan_in) is LeCun's scale, "
                          "He's is sqrt(2 / fan_in) because ReLU halves the variance")  # fmt: skip
    T.assert_allclose([std], [want], rtol=0.05, name=name,
                      hint="the std must be sqrt(2 / fan_in) with fan_in as given")  # fmt: skip
    T.assert_allclose(
        [w.mean()], [0.0], atol=5 * want / np.sqrt(w.size), name=f"mean of {name[7:]}"
    )
T.assert_equal(str(np.asarray(he_init((2, 3), 3, rng)).dtype), "float64",
               name="dtype of he_init's weights", hint="return float64 numbers, as drawn")  # fmt: skip
### END HIDDEN TESTS


# %% [markdown]
# ## 2. Assembling the network
#
# Almost every classic convnet follows one pattern
# ([CS231n notes on convnet architectures](https://cs231n.github.io/convolutional-networks/#architectures)):
#
# ```
# INPUT -> [[CONV -> RELU] * N -> POOL] * M -> [FC -> RELU] * K -> FC
# ```
#
# A *block* of `N` convolutions with ReLUs looks for local patterns; the pooling layer at its
# end halves the height and width, so the next block sees a wider part of the image with the
# same 3x3 kernels and the cost per layer stays small. Each block usually doubles the number of
# channels while it halves the resolution, trading "where" for "what". After `M` blocks the
# feature maps are flattened into one vector, `K` fully connected layers combine the features,
# and a last fully connected layer produces one **score per class**. That last layer has no
# ReLU: the scores go straight into the softmax, and a ReLU there would clip every negative
# score to zero and make "certainly not this class" impossible to say.
#
# Our convolutions are 3x3 with padding 1 and stride 1, which keeps height and width
# unchanged; only the 2x2 max pools with stride 2 shrink them (rounding down). For the 8x8
# digits and two blocks of 16 and 32 channels the shapes go
#
# | layer | output shape | parameters |
# |---|---|---|
# | input | 1 x 8 x 8 | |
# | conv 3x3, 16 filters + ReLU | 16 x 8 x 8 | 16·1·3·3 + 16 = 160 |
# | max pool 2x2 | 16 x 4 x 4 | |
# | conv 3x3, 32 filters + ReLU | 32 x 4 x 4 | 32·16·3·3 + 32 = 4,640 |
# | max pool 2x2 | 32 x 2 x 2 | |
# | flatten | 128 | |
# | fully connected 64 + ReLU | 64 | 128·64 + 64 = 8,256 |
# | fully connected 10 (scores) | 10 | 64·10 + 10 = 650 |
#
# 13,706 parameters in all. `Sequential.summary` computes the same table by running a zero
# image through the model. Here it is for a smaller network assembled by hand:

# %%
tiny = nn.Sequential(
    nn.Conv2d(1, 4, 3, pad=1, seed=0),
    nn.ReLU(),
    nn.MaxPool2d(2, stride=2),
    nn.Flatten(),
    nn.Linear(4 * 4 * 4, 10, seed=1),
)
tiny.summary((1, 8, 8))
print("parameter names:", list(tiny.params))

# %% [markdown]
# Parameters are keyed `"<layer index>.<name>"`, and the arrays in `model.params` are the
# layers' own arrays: change one in place (`model.params["0.w"][...] = ...`) and the layer
# sees the change. Every layer also fills `model.grads` (same keys) in `backward`.
#
# ### Exercise 2: `build_convnet` (4 points)
#
# Build the pattern above as a `cnnlab.nn.Sequential`:
#
# - for each entry `F` of `conv_channels`: `convs_per_block` times `Conv2d(C, F, 3, pad=1)`
#   followed by `ReLU()`, then one `MaxPool2d(2, stride=2)`;
# - then `Flatten()`, then `Linear(D, H)` and `ReLU()` for each width `H` in `hidden`, and a
#   final `Linear(D, num_classes)` with no ReLU.
#
# Initialise every `Conv2d` and `Linear` weight with **your** `he_init`, drawing from `rng` in
# layer order, with fan-in $C \cdot 3 \cdot 3$ for a convolution and $D$ for a fully connected
# layer. Write the values into the layer's own array (`layer.params["w"][...] = ...`): a new
# array would not reach the layer. Biases stay zero. When `rng` is None use a fresh
# `np.random.default_rng()`. Add no other layers and no extra attributes (the grader copies
# models between processes as their list of layers).
#
# <details><summary>Hint 1</summary>
#
# Build a Python list of layers block by block and pass it to `nn.Sequential` at the end. The
# only thing you must track is what the next layer receives.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Keep two running values: the current number of channels $C$ (it becomes $F$ after each
# convolution) and the spatial size $(H, W)$ (each pool maps $H$ to $\lfloor H/2 \rfloor$).
# After the last block the first `Linear` receives $D = C \cdot H \cdot W$ features; after
# each hidden layer, $D$ becomes its width.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "build_convnet", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_convnet(
    input_shape, num_classes, conv_channels=(16, 32), convs_per_block=1, hidden=(64,), rng=None
):
    """INPUT -> [[CONV3x3 -> RELU] * N -> MAXPOOL2x2] * M -> [FC -> RELU] * K -> FC.

    Parameters
    ----------
    input_shape : tuple of int
        (C, H, W) of one example, e.g. (1, 8, 8).
    num_classes : int
        Number of output scores.
    conv_channels : tuple of int
        Output channels of the convolutions of each block (M = len(conv_channels)).
    convs_per_block : int
        N, the number of (conv, ReLU) pairs per block.
    hidden : tuple of int
        Widths of the hidden fully connected layers (K = len(hidden)).
    rng : numpy.random.Generator, optional
        Source of the He-initialised weights; a fresh generator when None.

    Returns
    -------
    model : cnnlab.nn.Sequential
        Maps (N, C, H, W) to scores of shape (N, num_classes). Convolutions are 3x3 with
        pad 1 and stride 1; pools are 2x2 with stride 2 (H -> H // 2); biases are zero.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng() if rng is None else rng
    c, h, w = (int(v) for v in input_shape)
    layers = []
    for channels in conv_channels:
        for _ in range(convs_per_block):
            conv = nn.Conv2d(c, channels, 3, pad=1, seed=0)
            conv.params["w"][...] = he_init(conv.params["w"].shape, c * 3 * 3, rng)
            layers += [conv, nn.ReLU()]
            c = channels
        layers.append(nn.MaxPool2d(2, stride=2))
        h, w = h // 2, w // 2
    layers.append(nn.Flatten())
    features = c * h * w
    for width in hidden:
        fc = nn.Linear(features, width, seed=0)
        fc.params["w"][...] = he_init(fc.params["w"].shape, features, rng)
        layers += [fc, nn.ReLU()]
        features = width
    scores = nn.Linear(features, num_classes, seed=0)
    scores.params["w"][...] = he_init(scores.params["w"].shape, features, rng)
    layers.append(scores)
    return nn.Sequential(*layers)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_build_convnet", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T
from cnnlab import nn


def he_init_reference(shape, fan_in, rng):
    """Exercise 1 done by cnnlab, so that this test grades build_convnet on its own."""
    return cl.nn.he_normal(rng, shape, fan_in, "float64")


def check_layer_types(model, expected, call):
    """Compare the layer classes of `model` with `expected`, naming the likely mistake."""
    T.assert_true(
        isinstance(model, nn.Sequential),
        f"{call} returned a {type(model).__name__}, expected a cnnlab.nn.Sequential",
    )
    got = [type(layer).__name__ for layer in model.layers]
    if got == expected:
        return
    if got and got[-1] == "ReLU":
        hint = (
            "a ReLU after the last Linear: the score layer must stay linear, the softmax needs "
            "negative scores too"
        )
    elif got.count("MaxPool2d") < expected.count("MaxPool2d"):
        hint = "pooling is missing from a block: every block ends with one MaxPool2d(2, stride=2)"
    elif got.count("MaxPool2d") > expected.count("MaxPool2d"):
        hint = "one MaxPool2d per block, after all of its convs_per_block convolutions"
    elif got.count("ReLU") < expected.count("ReLU"):
        hint = "a ReLU is missing: every Conv2d and every hidden Linear is followed by a ReLU"
    elif got.count("Conv2d") != expected.count("Conv2d"):
        hint = "each block has convs_per_block (Conv2d, ReLU) pairs"
    elif got.count("Linear") != expected.count("Linear"):
        hint = "one (Linear, ReLU) per entry of hidden, then one final Linear for the scores"
    else:
        hint = (
            "order: per block [Conv2d, ReLU] * convs_per_block then MaxPool2d; then Flatten; "
            "[Linear, ReLU] per hidden width; the score Linear"
        )
    T.assert_equal(got, expected, name=f"layer types of {call}", hint=hint)


# The digits network of the table above (two blocks, one hidden layer), built three times,
# and a smaller one with two convolutions in its only block and no hidden layer.
with T.reference_helpers(he_init=he_init_reference):
    model = build_convnet((1, 8, 8), 10, rng=np.random.default_rng(0))
    again = build_convnet((1, 8, 8), 10, rng=np.random.default_rng(0))
    other = build_convnet((1, 8, 8), 10, rng=np.random.default_rng(1))
    small = build_convnet((1, 8, 8), 3, conv_channels=(4,), convs_per_block=2, hidden=(),
                          rng=np.random.default_rng(0))  # fmt: skip
check_layer_types(
    model,
    ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d",
     "Flatten", "Linear", "ReLU", "Linear"],
    "build_convnet((1, 8, 8), 10)",
)  # fmt: skip
T.assert_equal(
    model.num_params(), 13706, name="number of parameters of build_convnet((1, 8, 8), 10)",
    hint="see the table: 160 + 4,640 + 8,256 + 650; check the in_features of the first Linear",
)  # fmt: skip
configs = {
    0: dict(in_channels=1, out_channels=16, kernel_size=3, stride=1, pad=1),
    2: dict(size=2, stride=2),
    3: dict(in_channels=16, out_channels=32, kernel_size=3, stride=1, pad=1),
    7: dict(in_features=128, out_features=64),
    9: dict(in_features=64, out_features=10),
}
for i, cfg in configs.items():
    layer = model.layers[i]
    T.assert_equal(
        tuple(layer.config()[key] for key in cfg), tuple(cfg.values()),
        name=f"{tuple(cfg)} of layer {i} ({type(layer).__name__})",
        hint="3x3 convolutions with pad=1 and stride 1 keep H and W; 2x2 pools with stride 2 "
        "halve them; each layer takes the channels (features) the previous one produced",
    )  # fmt: skip
T.assert_shape(
    model.forward(np.zeros((2, 1, 8, 8), np.float32)), (2, 10), name="scores of 2 images"
)
# He initialisation: std sqrt(2 / fan_in) with fan_in = C * 3 * 3 for a Conv2d(C, F, 3) and
# in_features for a Linear (0.471, 0.118, 0.125, 0.177 here); biases zero.
for key, fan_in, outputs, inputs in [("0.w", 9, 16 * 9, 1), ("3.w", 144, 32 * 9, 16),
                                     ("7.w", 128, 64, None), ("9.w", 64, 10, None)]:  # fmt: skip
    w = np.asarray(model.params[key], dtype=np.float64)
    conv = inputs is not None
    mistakes = [
        ("fan_in counts the inputs of one output: C * 3 * 3 for a Conv2d, not the F * 3 * 3 "
         "outputs" if conv else "fan_in of a Linear(D, M) is D = in_features, not M",
         [np.sqrt(2 / outputs)]),
    ]  # fmt: skip
    if conv:
        mistakes.append(
            ("fan_in of a Conv2d(C, F, 3) is C * 3 * 3: every output sums over a 3x3 window "
             "of all C channels", [np.sqrt(2 / inputs)])
        )  # fmt: skip
    T.assert_allclose(
        [w.std()], [np.sqrt(2 / fan_in)], rtol=0.2 if key == "0.w" else 0.1,
        name=f"std of weight {key!r} (fan_in {fan_in})", mistakes=mistakes,
        hint="write he_init(shape, fan_in, rng) into every Conv2d and Linear weight",
    )  # fmt: skip
for key, b in model.params.items():
    if key.endswith(".b"):
        T.assert_equal(np.count_nonzero(b), 0, name=f"nonzero entries of bias {key!r}",
                       hint="biases start at zero; only the weights get he_init")  # fmt: skip
for key in ("0.w", "3.w", "7.w", "9.w"):
    T.assert_allclose(
        again.params[key], model.params[key], name=f"weight {key!r} built twice with seed 0",
        hint="draw every weight from the rng argument with he_init, so that one seed gives one "
        "network",
    )  # fmt: skip
    T.assert_true(
        not np.allclose(other.params[key], model.params[key]),
        f"weight {key!r} is the same for rng seeds 0 and 1: the weights do not come from rng",
        hint="write he_init(shape, fan_in, rng) into layer.params['w'][...] (model.params "
        "is a new dict at every access: assigning to it changes nothing)",
    )
check_layer_types(
    small, ["Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"],
    "build_convnet((1, 8, 8), 3, conv_channels=(4,), convs_per_block=2, hidden=())",
)  # fmt: skip
T.assert_equal(
    small.num_params(), 40 + 148 + 195,
    name="number of parameters of the small network (conv 1->4, conv 4->4, Linear 64->3)",
)  # fmt: skip


### BEGIN HIDDEN TESTS
def expected_model(input_shape, num_classes, conv_channels, convs_per_block, hidden):
    """(layer types, constructor configs, number of parameters) of the intended network."""
    c, h, w = input_shape
    types, configs, n_params = [], [], 0
    for f in conv_channels:
        for _ in range(convs_per_block):
            types += ["Conv2d", "ReLU"]
            configs += [dict(in_channels=c, out_channels=f, kernel_size=3, stride=1, pad=1), {}]
            n_params += f * c * 9 + f
            c = f
        types.append("MaxPool2d")
        configs.append(dict(size=2, stride=2))
        h, w = h // 2, w // 2
    types.append("Flatten")
    configs.append({})
    d = c * h * w
    for m in (*hidden, num_classes):
        types += ["Linear", "ReLU"]
        configs += [dict(in_features=d, out_features=m), {}]
        n_params += d * m + m
        d = m
    return types[:-1], configs[:-1], n_params


cases = [
    ((3, 13, 10), 7, (4, 6), 2, (20, 12)),
    ((2, 9, 9), 5, (5,), 3, ()),
    ((1, 16, 12), 4, (3, 4, 5), 1, (8,)),
]
for input_shape, k, channels, per_block, hidden in cases:
    call = (
        f"build_convnet({input_shape}, {k}, conv_channels={channels}, "
        f"convs_per_block={per_block}, hidden={hidden})"
    )
    with T.forbid_calls("cnnlab.models", exercise="build_convnet"), \
         T.reference_helpers(he_init=he_init_reference):  # fmt: skip
        model = build_convnet(input_shape, k, channels, per_block, hidden, np.random.default_rng(1))
    types, configs, n_params = expected_model(input_shape, k, channels, per_block, hidden)
    check_layer_types(model, types, call)
    for i, (layer, cfg) in enumerate(zip(model.layers, configs)):
        got = tuple(layer.config()[key] for key in cfg)
        T.assert_equal(
            got, tuple(cfg.values()), name=f"{tuple(cfg)} of layer {i} ({type(layer).__name__})",
            hint="3x3 convolutions with pad=1, stride 1; 2x2 pools with stride 2; the first "
            "Linear takes C * (H // 2**M) * (W // 2**M) features",
        )  # fmt: skip
    x = np.random.default_rng(2).random((3, *input_shape)).astype(np.float32)
    T.assert_shape(model.forward(x), (3, k), name=f"scores of {call}")
    T.assert_equal(model.num_params(), n_params, name=f"number of parameters of {call}")

# He initialisation from rng: the spread of every weight, zero biases, reproducible draws.
with T.reference_helpers(he_init=he_init_reference):
    big = build_convnet((8, 8, 8), 10, (64, 64), 1, (256,), np.random.default_rng(3))
    again = build_convnet((8, 8, 8), 10, (64, 64), 1, (256,), np.random.default_rng(3))
    other = build_convnet((8, 8, 8), 10, (64, 64), 1, (256,), np.random.default_rng(4))
fans = {"0.w": 8 * 9, "3.w": 64 * 9, "7.w": 256, "9.w": 256}
for key, fan_in in fans.items():
    w = np.asarray(big.params[key], dtype=np.float64)
    T.assert_allclose(
        [w.std()], [np.sqrt(2 / fan_in)], rtol=0.1, name=f"std of weight {key!r} (fan_in {fan_in})",
        hint="initialise with your he_init: fan_in is C * 3 * 3 for Conv2d(C, F, 3), "
        "in_features for Linear (not the number of outputs)",
    )  # fmt: skip
for key, b in big.params.items():
    if key.endswith(".b"):
        T.assert_equal(np.count_nonzero(b), 0, name=f"nonzero entries of bias {key!r}")
for key in fans:
    T.assert_allclose(
        again.params[key], big.params[key], name=f"weight {key!r} built twice with seed 3",
        hint="draw every weight from the rng argument with he_init, so that one seed gives one "
        "network",
    )  # fmt: skip
    T.assert_true(
        not np.allclose(other.params[key], big.params[key]),
        f"weight {key!r} is the same for rng seeds 3 and 4: the weights do not come from rng",
        hint="write he_init(shape, fan_in, rng) into layer.params['w'][...]",
    )
# In layer order: the same generator gives the same weights as cnnlab's twin, which draws one
# he_init per Conv2d and Linear weight, first layer first.
twin = cl.models.course_convnet((3, 13, 10), 7, (4, 6), 2, (20, 12), np.random.default_rng(5))
with T.reference_helpers(he_init=he_init_reference):
    mine = build_convnet((3, 13, 10), 7, (4, 6), 2, (20, 12), np.random.default_rng(5))
for key, w in twin.params.items():
    T.assert_allclose(
        mine.params[key], w, rtol=1e-6, name=f"parameter {key!r} for rng seed 5",
        hint="draw the weights from rng in layer order, one he_init call per Conv2d and Linear "
        "weight (first layer first) and nothing else from rng",
    )  # fmt: skip
# rng=None: a fresh generator, so two networks differ
with T.reference_helpers(he_init=he_init_reference):
    first, second = build_convnet((1, 8, 8), 10), build_convnet((1, 8, 8), 10)
T.assert_true(
    not np.allclose(first.params["0.w"], second.params["0.w"]),
    "two calls of build_convnet without rng built the same weights",
    hint="when rng is None use a fresh, unseeded np.random.default_rng()",
)
### END HIDDEN TESTS


# %% [markdown]
# A quick look at what you built, with the default arguments: the summary should match the
# table above line by line.

# %%
model = build_convnet((1, 8, 8), 10, rng=np.random.default_rng(0))
model.summary((1, 8, 8))
counts = [layer.num_params() for layer in model.layers]
names = [type(layer).__name__ for layer in model.layers]
fig, ax = plt.subplots(figsize=(8, 3))
ax.bar(range(len(counts)), counts, color=["C1" if c else "C7" for c in counts])
ax.set_xticks(range(len(counts)), [f"{i}: {n}" for i, n in enumerate(names)], rotation=30)
ax.set_ylabel("trainable parameters")
ax.set_title("Where the 13,706 parameters of the digits convnet live")
plt.show()
# multiply-adds per image: a conv's weights are used at every output position (8x8, then 4x4)
macs = {"convolutions": 16 * 9 * 8 * 8 + 32 * 16 * 9 * 4 * 4, "fully connected": 128 * 64 + 64 * 10}
print("multiply-adds per image:", macs)
cl.claim("13,706 parameters", model.num_params(), equals=13706)
cl.claim("the convolutions do most of the computing",
         macs["convolutions"] / sum(macs.values()), low=0.85, high=0.95)  # fmt: skip
cl.claim("the first fully connected layer holds more than half",
         counts[7] / sum(counts), low=0.5, high=0.65)  # fmt: skip

# %% [markdown]
# The convolutions do most of the computing (about nine tenths of the multiply-adds per
# image) but hold few parameters (their 3x3 kernels are shared over every position); the first
# fully connected layer, which sees all 128 features at
# once, holds more than half of them. In large image models this imbalance is much stronger,
# which is why modern architectures replace the big fully connected layers by global average
# pooling.
#
# ## 3. Mini-batches and epochs
#
# The loss we minimise is an average over the whole training set,
# $L(\theta) = \frac1N \sum_{i=1}^{N} \ell(x_i, y_i; \theta)$, and so is its gradient. Computing
# it exactly for every step would cost a full pass over the data per step. Instead we take a
# random **mini-batch** of $B$ examples and average their gradients. That average is an
# unbiased estimate of the full gradient: right on average, noisy in each step, with a noise
# that shrinks like $1/\sqrt{B}$. Many cheap noisy steps beat few exact ones, and the noise
# even helps to leave poor regions of the loss surface.
#
# One pass in which every training example is used exactly once is an **epoch**. We shuffle the
# order at the start of each epoch (so that batches differ from epoch to epoch and no batch is
# all one class) and cut the shuffled order into consecutive batches; when $N$ is not a
# multiple of $B$ the last batch is smaller. Some libraries drop it for speed; we keep it, so
# that an epoch really is one full pass over the data.
#
# How noisy is a mini-batch gradient? The experiment below uses a linear softmax classifier on
# the flattened digits (NumPy only), computes the exact gradient once, and compares it with the
# gradients of 200 random mini-batches of each size.


# %%
def softmax_regression_grad(W, X, y):
    """Gradient of the mean softmax cross-entropy of scores X @ W with respect to W."""
    scores = X @ W
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return X.T @ p / len(y)


rng = np.random.default_rng(0)
Xf = X_train.reshape(len(X_train), -1).astype(np.float64)
W = rng.standard_normal((64, 10)) * 0.1
g_full = softmax_regression_grad(W, Xf, y_train)
sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
errors = []
for b in sizes:
    errs = []
    for _ in range(200):
        idx = rng.choice(len(Xf), size=b, replace=False)
        g = softmax_regression_grad(W, Xf[idx], y_train[idx])
        errs.append(np.linalg.norm(g - g_full) / np.linalg.norm(g_full))
    errors.append(np.mean(errs))
fig, ax = plt.subplots(figsize=(6, 3.8))
ax.loglog(sizes, errors, marker="o", label="measured")
ax.loglog(sizes, errors[0] / np.sqrt(sizes), "k--", label="∝ 1/√B")
ax.minorticks_off()  # ticks at round numbers, labelled as plain numbers
ax.set_xticks(sizes, [str(b) for b in sizes])
ax.set_yticks([0.2, 0.5, 1, 2, 5], ["0.2", "0.5", "1", "2", "5"])
ax.set_xlabel("batch size B")
ax.set_ylabel("relative error of the gradient")
ax.set_title("A mini-batch gradient is a noisy estimate of the full one")
ax.legend()
ax.grid(alpha=0.3)
plt.show()
error_at = dict(zip(sizes, errors))
print("relative error by batch size:", {b: round(float(e), 2) for b, e in error_at.items()})
cl.claim("one example: about six times the full gradient", error_at[1], low=5, high=7)
cl.claim("a factor of 4 in batch size halves the error", error_at[4] / error_at[16],
         low=1.7, high=2.3)  # fmt: skip
cl.claim("at B = 32 about as large as the gradient", error_at[32], low=0.7, high=1.4)
cl.claim("large B: falls faster than 1/sqrt(B)", error_at[512] * np.sqrt(512) / error_at[1],
         high=0.9)  # fmt: skip

# %% [markdown]
# With a single example the error is about six times the size of the full gradient: one
# digit's gradient says little about the others. Each factor of 4 in batch size halves the
# error, following the dashed $1/\sqrt{B}$ line until $B$ becomes a sizeable part of the 1,437
# examples (then sampling without replacement makes it fall faster). Even at $B = 32$ the error
# is about as large as the gradient itself, and training works anyway: the errors of successive
# steps point in different directions and largely cancel, while the true gradient adds up step
# after step. Batches of 32 to 64 are a common compromise between this noise and the cost of a
# step, and large enough for vectorised code to run efficiently.
#
# ### Exercise 3: `iterate_minibatches` (2 points)
#
# Write a **generator** (a function with `yield`) that gives `(X_batch, y_batch)` pairs
# covering every sample exactly once: consecutive slices of `batch_size` samples, the last
# batch possibly smaller. With `shuffle=True` take the samples in the order of one random
# permutation from `rng` (a fresh generator when `rng` is None); with `shuffle=False` keep the
# original order.
#
# Batch $k$ holds the samples at positions $kB, \dots, \min((k+1)B, N) - 1$ of that order, so
# an epoch has $\lceil N / B \rceil$ batches; `X_batch` and `y_batch` always hold the same
# samples, in the same order. Leave `X` and `y` unchanged.
#
# <details><summary>Hint 1</summary>
#
# Shuffle indices, not the data: an array of the $N$ sample indices in random order lets you
# cut `X` and `y` the same way, and leaves the caller's arrays as they were.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# The generator can return a random permutation of $0, \dots, N-1$ in one call. Drawing
# indices one by one at random (with replacement) would repeat some samples and skip others.
# Walk over the start positions $0, B, 2B, \dots$; a slice that runs past the end of an array
# simply stops at the end, which gives the smaller last batch for free.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "iterate_minibatches", "locked": false, "schema_version": 3, "solution": true, "task": false}
def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
    """Yield mini-batches that cover the data set once (one epoch).

    Parameters
    ----------
    X : ndarray, shape (N, ...)
        Inputs, e.g. images (N, C, H, W).
    y : ndarray, shape (N,)
        Labels.
    batch_size : int
        Samples per batch; the last batch holds the remaining N % batch_size samples if that
        is not zero.
    shuffle : bool
        Visit the samples in the order of one random permutation (True) or in order (False).
    rng : numpy.random.Generator, optional
        Source of the permutation; a fresh generator when None.

    Yields
    ------
    X_batch : ndarray, shape (B, ...)
    y_batch : ndarray, shape (B,)
        With B = batch_size, except possibly for the last batch.
    """
    ### BEGIN SOLUTION
    n = len(X)
    if shuffle:
        rng = np.random.default_rng() if rng is None else rng
        order = rng.permutation(n)
    else:
        order = np.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        yield X[idx], y[idx]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_iterate_minibatches", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

# Ten samples whose value is their index, batches of 4: sizes 4, 4, 2.
X = np.arange(10).reshape(10, 1) * 1.0
y = np.arange(10)
batches = list(iterate_minibatches(X, y, 4, shuffle=False))
T.assert_equal(len(batches), 3, name="number of batches for N=10, batch_size=4",
               hint="the last, partial batch (2 samples) is part of the epoch")  # fmt: skip
T.assert_equal(batches[0][1], [0, 1, 2, 3], name="labels of batch 0 with shuffle=False",
               hint="with shuffle=False keep the original order")  # fmt: skip
T.assert_equal(batches[2][1], [8, 9], name="labels of the last batch with shuffle=False")
T.assert_equal(batches[2][0], [[8.0], [9.0]], name="inputs of the last batch with shuffle=False")
with T.in_place(X, y):  # checked after the call: the grader hands back what it did to them
    shuffled = list(iterate_minibatches(X, y, 4, shuffle=True, rng=np.random.default_rng(0)))
for arr, name in [(y, "y"), (X[:, 0], "X")]:
    T.assert_equal(arr, np.arange(10), name=f"{name} after a shuffled epoch",
                   hint="do not shuffle the caller's arrays in place; index them")  # fmt: skip
seen = np.concatenate([yb for _, yb in shuffled])
T.assert_equal(np.sort(seen), np.arange(10), name="sorted labels of one shuffled epoch",
               hint="each sample exactly once per epoch, none repeated or missing: use one "
               "permutation of all N indices")  # fmt: skip
T.assert_true(not np.array_equal(seen, np.arange(10)),
              "shuffle=True returned the samples in their order")  # fmt: skip
for xb, yb in shuffled:
    T.assert_equal(xb[:, 0], yb, name="inputs of a shuffled batch versus its labels",
                   hint="X and y were shuffled separately: index both with the same "
                   "permutation, so that every image keeps its label")  # fmt: skip
# Two epochs from one generator come in two different orders; the same seed gives the same
# order again.
r = np.random.default_rng(1)
with T.in_place(r):
    first = np.concatenate([yb for _, yb in iterate_minibatches(X, y, 4, rng=r)])
    second = np.concatenate([yb for _, yb in iterate_minibatches(X, y, 4, rng=r)])
T.assert_true(not np.array_equal(first, second),
              "two epochs drawn from the same rng came in the same order",
              hint="draw a new permutation from rng at every call; do not re-seed it")  # fmt: skip
again = iterate_minibatches(X, y, 4, rng=np.random.default_rng(1))
T.assert_equal(np.concatenate([yb for _, yb in again]), first,
               name="first epoch with rng seed 1, drawn twice",
               hint="use the rng argument for the permutation, not np.random")  # fmt: skip
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(11)
for n, b in [(37, 8), (50, 7), (64, 16), (5, 10), (23, 1)]:
    X = rng.standard_normal((n, 2, 3, 3))
    X[:, 0, 0, 0] = np.arange(n)
    y = np.arange(n)
    sizes = [min(b, n - s) for s in range(0, n, b)]
    for shuffle in (False, True):
        call = f"iterate_minibatches(N={n}, batch_size={b}, shuffle={shuffle})"
        batches = list(iterate_minibatches(X, y, b, shuffle=shuffle, rng=rng))
        got = [len(yb) for _, yb in batches]
        labels = np.concatenate([np.asarray(yb) for _, yb in batches]) if batches else []
        if sum(got) < n and len(np.unique(labels)) == len(labels):
            T.assert_equal(got, sizes, name=f"batch sizes of {call}",
                           hint="the last partial batch is dropped: keep it, every sample "
                           "belongs to the epoch")  # fmt: skip
        T.assert_equal(
            np.sort(labels), y, name=f"sorted labels of {call}",
            hint="some samples are repeated and others missing: shuffle with one "
            "permutation (rng.permutation), do not draw indices with replacement",
        )  # fmt: skip
        T.assert_equal(got, sizes, name=f"batch sizes of {call}")
        for xb, yb in batches:
            T.assert_shape(xb, (len(yb), 2, 3, 3), name=f"X batch of {call}")
            T.assert_allclose(xb, X[np.asarray(yb)], name=f"X batch of {call} versus its labels")
        if not shuffle:
            T.assert_equal(labels, y, name=f"label order of {call}",
                           hint="with shuffle=False keep the original order")  # fmt: skip
# Two epochs from one generator: two different orders, reproducible from the seed.
r = np.random.default_rng(3)
with T.in_place(r):
    first = np.concatenate([yb for _, yb in iterate_minibatches(X, y, 4, rng=r)])
    second = np.concatenate([yb for _, yb in iterate_minibatches(X, y, 4, rng=r)])
T.assert_true(not np.array_equal(first, second),
              "two epochs drawn from the same rng came in the same order",
              hint="draw a new permutation from rng at every call; do not re-seed it")  # fmt: skip
r2 = np.random.default_rng(3)
again = np.concatenate([yb for _, yb in iterate_minibatches(X, y, 4, rng=r2)])
T.assert_equal(again, first, name="first epoch with rng seed 3, drawn twice",
               hint="use the rng argument for the permutation, not np.random")  # fmt: skip
# rng=None still works and shuffles
none_rng = np.concatenate([yb for _, yb in iterate_minibatches(X, y, 4)])
T.assert_equal(np.sort(none_rng), y, name="sorted labels with rng=None")
### END HIDDEN TESTS


# %% [markdown]
# ## 4. Optimisers: SGD, momentum, RMSProp and Adam
#
# An optimiser turns gradients into parameter updates. We keep parameters and gradients in two
# dicts with the same keys (exactly `model.params` and `model.grads`), and write four update
# rules, each applied to every array. With learning rate $\eta$ and gradient $g$:
#
# **SGD** steps straight downhill: $\theta \leftarrow \theta - \eta\, g$.
#
# **Momentum** ([Polyak, 1964](https://doi.org/10.1016/0041-5553(64)90137-5);
# [Sutskever et al., 2013](https://proceedings.mlr.press/v28/sutskever13.html)) keeps a
# *velocity* per parameter, a running sum of past gradients that decays by $\beta$ (typically
# 0.9) per step:
# $v \leftarrow \beta v + g$, then $\theta \leftarrow \theta - \eta\, v$.
# Where successive gradients agree, $v$ grows up to $1/(1-\beta) = 10$ times a single gradient;
# where they flip sign from step to step, they cancel. (The CS231n notes write the same method
# as $v \leftarrow \beta v - \eta g$, $\theta \leftarrow \theta + v$; for a fixed $\eta$ the
# parameters follow exactly the same path.)
#
# **RMSProp** (Tieleman & Hinton, 2012, lecture 6e of their course *Neural Networks for
# Machine Learning*; see the [CS231n notes](https://cs231n.github.io/neural-networks-3/#ada)
# and [d2l.ai, section 12.8](https://d2l.ai/chapter_optimization/rmsprop.html)) attacks a
# different problem: gradients of very different sizes for different parameters. It keeps a
# running mean of the *squared* gradient per parameter, decaying by $\rho$ (typically 0.99)
# per step, and divides each step by its root:
# $s \leftarrow \rho s + (1-\rho)\, g^2$, then
# $\theta \leftarrow \theta - \eta\, g / (\sqrt{s} + \epsilon)$.
# $\sqrt{s}$ is the root mean square of the recent gradients, the typical size of a gradient
# of that parameter, so every parameter steps by about $\eta$ whatever the scale of its
# gradient: one whose gradients are a hundred times larger moves about as far, not a hundred
# times further. Momentum averages gradients to find a steady *direction*; RMSProp normalises
# them to fix the *scale*.
#
# **Adam** ([Kingma & Ba, 2015](https://arxiv.org/abs/1412.6980)) does both: it keeps two
# running averages per parameter, of the gradient (momentum's idea, as a mean) and of its
# square (RMSProp's), and divides one by the root of the other, so every coordinate gets its
# own step size. At step $t = 1, 2, \dots$
#
# $$
# m \leftarrow \beta_1 m + (1-\beta_1)\, g, \qquad
# v \leftarrow \beta_2 v + (1-\beta_2)\, g^2, \qquad
# \hat m = \frac{m}{1-\beta_1^t}, \quad \hat v = \frac{v}{1-\beta_2^t}, \qquad
# \theta \leftarrow \theta - \eta\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}
# $$
#
# with $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\epsilon = 10^{-8}$. Both averages start at zero,
# so early on they are too small: after the first step $m = 0.1\,g$. The **bias correction**
# divides by exactly the missing factor ($1 - 0.9^1 = 0.1$), and its effect fades as $t$ grows.
# Because $\hat m / \sqrt{\hat v}$ is about $\pm 1$ when the gradient is steady, Adam moves
# each parameter by roughly $\eta$ per step whatever the gradient's scale, which is why one
# learning rate (around $10^{-3}$) works for many problems.
#
# To see why plain SGD needs help, take a long narrow valley,
# $f(x, y) = \tfrac12 (0.02\,x^2 + 2\,y^2)$, a hundred times more curved across ($y$) than
# along ($x$). The
# largest safe learning rate is set by the steep direction (above $\eta = 1$ the $y$ steps
# overshoot and grow); at that rate the flat direction barely moves.


# %%
def valley(p):
    """Loss and gradient of f(x, y) = (0.02 x^2 + 2 y^2) / 2 at p = [x, y]."""
    curvature = np.array([0.02, 2.0])
    return 0.5 * np.sum(curvature * p**2), curvature * p


def plain_gd_path(lr, start=(-9.0, 2.0), steps=40):
    p, path = np.array(start), [np.array(start)]
    for _ in range(steps):
        p = p - lr * valley(p)[1]
        path.append(p)
    return np.array(path)


xs, ys = np.meshgrid(np.linspace(-10, 10, 200), np.linspace(-3, 3, 120))
zs = 0.5 * (0.02 * xs**2 + 2 * ys**2)
fig, ax = plt.subplots(figsize=(8, 3.4))
ax.contour(xs, ys, zs, levels=np.geomspace(0.02, 15, 12), cmap="Greys", linewidths=0.8)
for lr, color in [(0.2, "C0"), (0.9, "C3")]:
    path = plain_gd_path(lr)
    ax.plot(path[:, 0], path[:, 1], marker=".", color=color, label=f"SGD, lr={lr}")
ax.plot(0, 0, "k*", markersize=12, label="minimum")
ax.set_xlabel("x (flat direction)")
ax.set_ylabel("y (steep direction)")
ax.set_title("Plain gradient descent in a narrow valley, 40 steps from (-9, 2)")
ax.legend(loc="upper right", fontsize=8)
plt.show()

# %% [markdown]
# With a small learning rate (blue) the path slides smoothly down the steep side but then
# crawls along the valley floor; with a large one (red) it bounces from wall to wall and is
# still far from the minimum after 40 steps. You will implement the four rules and then
# race them on this valley.
#
# ### Exercise 4a: `sgd_step` (1 point)
#
# Update every array of `params` in place: $\theta \leftarrow \theta - \eta\, g$ for each name,
# with $\theta$ the array `params[name]`, $g$ the array `grads[name]` of the same shape and
# $\eta$ = `lr`. Leave `grads` unchanged; return nothing.
#
# <details><summary>Hint 1</summary>
#
# **In place** matters. `model.params` is a dict of the layers' own arrays. Building a new
# array and putting it into the dict under the same name changes the dict, not the layer:
# the model never sees it.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# NumPy's augmented assignments (`-=`, `+=`, `*=`) and slice assignment (`a[...] = ...`) write
# into the existing array; `a = a - ...` makes a new one.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "sgd_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sgd_step(params, grads, lr):
    """One step of stochastic gradient descent, in place.

    Parameters
    ----------
    params : dict of str to ndarray
        Parameter arrays; each one is updated in place.
    grads : dict of str to ndarray
        Gradients, same keys and shapes as ``params``.
    lr : float
        Learning rate.

    Returns
    -------
    None
        ``params[name] -= lr * grads[name]`` for every name.
    """
    ### BEGIN SOLUTION
    for name, p in params.items():
        p -= lr * grads[name]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sgd_step", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T
from cnnlab import nn

# w = [1, 2] - 0.1 * [0.5, -1] = [0.95, 2.1] and b = 0.5 - 0.1 * 2 = 0.3, written into the
# arrays that were in the dict (a model holds those arrays, not the dict).
params = {"w": np.array([1.0, 2.0]), "b": np.array([0.5])}
grads = {"w": np.array([0.5, -1.0]), "b": np.array([2.0])}
w, b = params["w"], params["b"]  # the arrays a model would hold
with T.in_place(params, grads):  # the grader hands back their new state (and only theirs)
    sgd_step(params, grads, 0.1)
T.assert_allclose(
    params["w"], [0.95, 2.1], name="w after sgd_step(lr=0.1)",
    mistakes=[("the step goes uphill: subtract lr * grads[name]", [1.05, 1.9]),
              ("w did not change: p = p - lr * g only rebinds a local name; update the "
               "array in place with p -= lr * g", [1.0, 2.0])],
)  # fmt: skip
T.assert_allclose(params["b"], [0.3], name="b after sgd_step(lr=0.1)")
T.assert_allclose(
    w, [0.95, 2.1], name="the original array of w after sgd_step",
    hint="sgd_step put a new array into the dict instead of updating the old one in place: "
    "a model keeps the old array and never learns; write p -= lr * g",
)  # fmt: skip
T.assert_allclose(b, [0.3], name="the original array of b after sgd_step")
T.assert_allclose(grads["w"], [0.5, -1.0], name="grads['w'] after sgd_step",
                  hint="change the parameters only, not the gradients")  # fmt: skip
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(5)
result = sgd_step({"w": np.ones(2)}, {"w": np.ones(2)}, 0.1)
T.assert_true(result is None, f"sgd_step returned {result!r}; it updates in place and returns None")
shapes = {"conv.w": (4, 3, 3, 3), "conv.b": (4,), "fc.w": (7, 5), "fc.b": (5,)}
params = {k: rng.standard_normal(s) for k, s in shapes.items()}
start = {k: v.copy() for k, v in params.items()}
expected = dict(start)
for _ in range(3):
    grads = {k: rng.standard_normal(s) for k, s in shapes.items()}
    with T.forbid_calls("cnnlab.optim", exercise="sgd_step"), T.in_place(params):
        sgd_step(params, grads, 0.03)
    expected = {k: expected[k] - 0.03 * grads[k] for k in shapes}
for k in shapes:
    T.assert_allclose(params[k], expected[k], name=f"{k!r} after 3 sgd_steps with lr=0.03")
# the update must reach a model: Sequential.params holds the layers' own arrays
model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.ReLU(), nn.Linear(4, 2, seed=1))
for g in model.grads.values():
    g[...] = rng.standard_normal(g.shape)
want = {k: model.params[k] - 0.5 * model.grads[k] for k in model.params}
params = model.params  # a new dict of the layers' own arrays at every access
with T.in_place(params):
    sgd_step(params, model.grads, 0.5)
for k, arr in model.params.items():
    T.assert_allclose(
        arr, want[k], rtol=1e-5, atol=1e-6, name=f"model parameter {k!r} after sgd_step",
        hint="update the arrays in place (p -= lr * g); params[k] = p - lr * g makes a new "
        "array that the model never sees",
    )  # fmt: skip
### END HIDDEN TESTS


# %% [markdown]
# ### Exercise 4b: `momentum_step` (2 points)
#
# Same interface, plus a dict `velocity` that the function owns: on the first call it is
# empty, and you create one zero array per parameter, with the parameter's name, shape and
# dtype. On every call, for each name, first $v \leftarrow \beta v + g$, then
# $\theta \leftarrow \theta - \eta\, v$, both in place. The caller passes the same dict
# again at the next step, so the velocity carries over.
#
# <details><summary>Hint 1</summary>
#
# The velocity is the only memory momentum has. Anything you keep in a local variable is
# forgotten when the function returns, and momentum quietly becomes plain SGD: keep it in
# `velocity[name]`.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# A dict method returns the value stored under a key and, if the key is missing, stores a
# default first: `velocity.setdefault(name, np.zeros_like(p))`. Then update that array in
# place, so the dict holds the new velocity without a second assignment.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "momentum_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def momentum_step(params, grads, velocity, lr, beta=0.9):
    """One step of SGD with momentum, in place.

    Parameters
    ----------
    params : dict of str to ndarray
        Parameter arrays, updated in place.
    grads : dict of str to ndarray
        Gradients, same keys and shapes as ``params``.
    velocity : dict of str to ndarray
        The velocities, same keys and shapes as ``params``; empty before the first step, when
        this function fills it with zeros. Updated in place.
    lr : float
        Learning rate.
    beta : float
        Momentum coefficient, 0 <= beta < 1.

    Returns
    -------
    None
        For every name: ``v = beta * v + g``, then ``p -= lr * v``.
    """
    ### BEGIN SOLUTION
    for name, p in params.items():
        v = velocity.setdefault(name, np.zeros_like(p))
        v *= beta
        v += grads[name]
        p -= lr * v
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_momentum_step", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T
from cnnlab import nn

# Constant gradients, lr=0.1 and beta=0.5. For w (gradient 1) the velocity grows 1, 1.5, 1.75,
# so w goes 1 -> 0.9 -> 0.75 -> 0.575 (plain SGD would give 0.9, 0.8, 0.7); for b (gradient
# -2) it grows -2, -3, -3.5 and b goes 0 -> 0.2 -> 0.5 -> 0.85.
params, velocity = {"w": np.array([1.0]), "b": np.array([0.0])}, {}
w, b = params["w"], params["b"]  # the arrays a model would hold
expected = [  # w, b, then w for three wrong rules: plain SGD, (1 - beta) * g, beta fixed at 0.9
    ([0.9], [0.2], [0.9], [0.95], [0.9]),
    ([0.75], [0.5], [0.8], [0.875], [0.71]),
    ([0.575], [0.85], [0.7], [0.7875], [0.439]),
]
for step, (want_w, want_b, sgd, damped, fixed) in enumerate(expected, start=1):
    with T.in_place(params, velocity):  # the grader hands back their new state
        momentum_step(params, {"w": np.array([1.0]), "b": np.array([-2.0])}, velocity, 0.1, 0.5)
    T.assert_allclose(
        params["w"], want_w, name=f"w after {step} momentum steps (lr=0.1, beta=0.5)",
        hint="v = beta * v + g with the beta argument, then p -= lr * v",
        mistakes=[
            ("momentum forgets its velocity between steps (this is plain SGD): keep v in "
             "velocity[name] and reuse it", sgd),
            ("v = beta * v + (1 - beta) * g is a running mean; here v = beta * v + g", damped),
            ("beta is fixed at 0.9: use the beta argument (0.9 is only its default)", fixed),
        ][int(step == 1) :]
        + [("w did not move at the first step: update v first, then p -= lr * v", [1.0])]
        * (step == 1),
    )  # fmt: skip
    T.assert_allclose(params["b"], want_b, name=f"b after {step} momentum steps",
                      hint="one velocity per parameter, velocity[name]")  # fmt: skip
T.assert_equal(sorted(velocity), ["b", "w"], name="keys of velocity after the steps")
T.assert_allclose(
    [w[0], b[0]], [0.575, 0.85], name="the original arrays of w and b after the steps",
    hint="momentum_step put new arrays into params instead of updating them in place: a model "
    "keeps the old arrays and never learns; write p -= lr * v",
)  # fmt: skip
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(6)
shapes = {"0.w": (5, 2, 3, 3), "0.b": (5,), "3.w": (6, 4)}
params = {k: rng.standard_normal(s) for k, s in shapes.items()}
grad_seq = [{k: rng.standard_normal(s) for k, s in shapes.items()} for _ in range(4)]
lr, beta = 0.05, 0.8
ref = {k: v.copy() for k, v in params.items()}
sgd_ref = {k: v.copy() for k, v in params.items()}
vel_ref = {k: np.zeros(s) for k, s in shapes.items()}
velocity = {}
for grads in grad_seq:
    with T.forbid_calls("cnnlab.optim", exercise="momentum_step"), T.in_place(params, velocity):
        momentum_step(params, grads, velocity, lr, beta)
    for k in shapes:
        vel_ref[k] = beta * vel_ref[k] + grads[k]
        ref[k] = ref[k] - lr * vel_ref[k]
        sgd_ref[k] = sgd_ref[k] - lr * grads[k]
for k in shapes:
    if np.allclose(params[k], sgd_ref[k]):
        T.assert_allclose(
            params[k], ref[k], name=f"{k!r} after 4 momentum steps",
            hint="momentum forgets its velocity between steps (the result equals plain SGD): "
            "store v in velocity[name] and reuse it at the next call",
        )  # fmt: skip
    T.assert_allclose(
        params[k], ref[k], name=f"{k!r} after 4 momentum steps (lr=0.05, beta=0.8)",
        hint="v = beta * v + g (no (1 - beta) factor), then p -= lr * v",
    )  # fmt: skip
T.assert_equal(sorted(velocity), sorted(shapes), name="keys of velocity")
for k in shapes:
    T.assert_allclose(velocity[k], vel_ref[k], rtol=1e-6, name=f"velocity[{k!r}] after 4 steps",
                      hint="keep v itself in velocity[name], updated in place")  # fmt: skip
# a velocity has its parameter's shape and dtype (float32 here)
velocity = {}
with T.in_place(velocity):
    momentum_step(
        {"w": np.ones((2, 3), np.float32)}, {"w": np.ones((2, 3), np.float32)}, velocity, 0.1
    )
T.assert_shape(velocity["w"], (2, 3), name="velocity of a (2, 3) float32 parameter")
T.assert_equal(str(np.asarray(velocity["w"]).dtype), "float32",
               name="dtype of the velocity of a float32 parameter",
               hint="create the velocity with the parameter's dtype (np.zeros_like(p))")  # fmt: skip
# in place, so that the update reaches a model
model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.ReLU(), nn.Linear(4, 2, seed=1))
for g in model.grads.values():
    g[...] = rng.standard_normal(g.shape)
want = {k: model.params[k] - 0.5 * model.grads[k] for k in model.params}
params = model.params  # a new dict of the layers' own arrays at every access
with T.in_place(params):
    momentum_step(params, model.grads, {}, 0.5)
for k, arr in model.params.items():
    T.assert_allclose(arr, want[k], rtol=1e-5, atol=1e-6, name=f"model parameter {k!r}",
                      hint="update the parameter arrays in place (p -= lr * v)")  # fmt: skip
### END HIDDEN TESTS


# %% [markdown]
# ### Exercise 4c: `rmsprop_step` (2 points)
#
# Same interface as `momentum_step`, with a dict `square_avg` in place of `velocity`: empty on
# the first call, when you create one zero array per parameter (same name, shape and dtype),
# and passed again at every step. For each name, in place and in this order:
#
# $$ s \leftarrow \rho\, s + (1 - \rho)\, g^2, \qquad
#    \theta \leftarrow \theta - \eta\, \frac{g}{\sqrt{s} + \epsilon} , $$
#
# with $s$ the array `square_avg[name]`, $\rho$ = `decay` and $\epsilon$ = `eps`. All operations
# are elementwise. Two conventions to follow exactly: $\epsilon$ is added *after* the square
# root, as in Adam below (some texts, d2l.ai among them, put it inside; for a tiny $\epsilon$
# the two hardly differ, but the tests use a large one), and RMSProp has no bias correction,
# so with $\rho = 0.9$ the first step divides by $\sqrt{0.1}\,\lvert g \rvert$ and moves by
# about $3\eta$.
#
# <details><summary>Hint 1</summary>
#
# The structure is that of `momentum_step`: one array of state per parameter, kept in the dict
# the caller gives you, created on first use and updated in place so that it carries over.
# Only the update formulas differ.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# $\rho$ multiplies the old average and $1 - \rho$ the new squared gradient, not the other way
# round: with $\rho = 0.99$ the average changes slowly. Square the gradient elementwise
# (`g * g` or `np.square(g)`), and take the root of the average only:
# `np.sqrt(s) + eps` in the denominator.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "rmsprop_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def rmsprop_step(params, grads, square_avg, lr, decay=0.99, eps=1e-8):
    """One RMSProp step, in place.

    Parameters
    ----------
    params : dict of str to ndarray
        Parameter arrays, updated in place.
    grads : dict of str to ndarray
        Gradients, same keys and shapes as ``params``; left unchanged.
    square_avg : dict of str to ndarray
        Running means of the squared gradients, same keys and shapes as ``params``; empty
        before the first step, when this function fills it with zeros. Updated in place.
    lr : float
        Learning rate.
    decay : float
        Decay rate of the running mean, 0 <= decay < 1 (rho in the formula).
    eps : float
        Added to the square root of the running mean, to avoid a division by zero.

    Returns
    -------
    None
        Per name: s = decay * s + (1 - decay) * g**2, then the parameter moves by
        -lr * g / (sqrt(s) + eps).
    """
    ### BEGIN SOLUTION
    for name, p in params.items():
        g = grads[name]
        s = square_avg.setdefault(name, np.zeros_like(p))
        s *= decay
        s += (1 - decay) * g * g
        p -= lr * g / (np.sqrt(s) + eps)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_rmsprop_step", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

# Two coordinates with constant gradients 0.01 and 1 (a hundred times apart), lr = 0.01,
# decay = 0.9. The average grows to s = 0.1 g**2, 0.19 g**2, 0.271 g**2, so the steps are
# lr / sqrt(0.1), lr / sqrt(0.19), lr / sqrt(0.271) whatever the size of g: BOTH coordinates
# go 1 -> 0.96838 -> 0.94544 -> 0.92623 (SGD would move the second 100 times further).
lr, decay, g = 0.01, 0.9, np.array([0.01, 1.0])
params, square_avg = {"w": np.array([1.0, 1.0]), "b": np.array([0.0])}, {}
w = params["w"]  # the array a model would hold
grads = {"w": g.copy(), "b": np.array([-3.0])}


def after_three(variant):
    """w after three steps under the right rule and under the usual mistakes."""
    p, s, rho = np.ones(2), np.zeros(2), 0.99 if variant == "fixed" else decay
    for t in (1, 2, 3):
        s = {"forget": 0.0 * s, "swap": (1 - rho) * s}.get(variant, rho * s)
        s = s + {"no square": (1 - rho) * g, "swap": rho * g * g,
                 "sum": g * g}.get(variant, (1 - rho) * g * g)  # fmt: skip
        s_used = s / (1 - rho**t) if variant == "bias" else s
        denom = {"eps inside": np.sqrt(s_used + 1e-8), "no root": s_used + 1e-8}.get(
            variant, np.sqrt(s_used) + 1e-8
        )
        p = p - lr * g / denom
    return p


history = []
for _ in range(3):
    with T.in_place(params, square_avg):  # the grader hands back their new state
        rmsprop_step(params, grads, square_avg, lr, decay)
    history.append(np.array(params["w"], dtype=np.float64))
want = [[0.968377] * 2, [0.945435] * 2, [0.926226] * 2]
T.assert_allclose(
    history[-1], want[-1], rtol=1e-5,
    name="w after 3 RMSProp steps, gradients [0.01, 1], lr=0.01, decay=0.9",
    mistakes=[
        ("g is not squared: the running mean is of g**2, so that sqrt(s) has the size of |g| "
         "(with g itself the small gradient moves 10 times less)", after_three("no square")),
        ("decay the wrong way round: s = decay * s + (1 - decay) * g**2 keeps most of the old "
         "average", after_three("swap")),
        ("RMSProp forgets its average between steps: keep s in square_avg[name] and update "
         "it in place", after_three("forget")),
        ("RMSProp has no bias correction (that is Adam's): divide by sqrt(s) itself",
         after_three("bias")),
        ("g**2 enters with the factor (1 - decay): s is a running mean, not a running sum",
         after_three("sum")),
        ("square root missing: divide by np.sqrt(s) + eps", after_three("no root")),
        ("eps in the wrong place: use np.sqrt(s) + eps, not np.sqrt(s + eps) (here the small "
         "gradient's s = 1e-5 is not much larger than eps)", after_three("eps inside")),
        ("decay is fixed at 0.99: use the decay argument (0.99 is only its default)",
         after_three("fixed")),
        ("plain SGD: divide the step by sqrt(s) + eps", 1 - 3 * lr * g),
    ],
    hint="s = decay * s + (1 - decay) * g**2, then p -= lr * g / (sqrt(s) + eps)",
)  # fmt: skip
for t in (1, 2):
    T.assert_allclose(history[t - 1], want[t - 1], rtol=1e-5, name=f"w after {t} RMSProp steps")
T.assert_allclose(params["b"], [0.0316228 + 0.0229416 + 0.0192089], rtol=1e-5,
                  name="b after 3 steps (gradient -3: it moves up)",
                  hint="one average per parameter: square_avg[name]")  # fmt: skip
T.assert_equal(sorted(square_avg), ["b", "w"], name="keys of square_avg after the steps")
T.assert_allclose(
    w, want[-1], rtol=1e-5, name="the original array of w after the steps",
    hint="rmsprop_step put a new array into params instead of updating it in place: a model "
    "keeps the old array and never learns; write p -= ...",
)  # fmt: skip
# Where eps goes, with a large eps: one step with g = 0.3, lr = 1, decay = 0.9, eps = 0.1 gives
# s = 0.009 and moves p by 0.3 / (sqrt(0.009) + 0.1) = 1.5395.
params = {"p": np.array([0.0])}
with T.in_place(params):
    rmsprop_step(params, {"p": np.array([0.3])}, {}, 1.0, 0.9, eps=0.1)
T.assert_allclose(
    params["p"], [-0.3 / (np.sqrt(0.009) + 0.1)], rtol=1e-6,
    name="p after one RMSProp step (g=0.3, lr=1, decay=0.9, eps=0.1)",
    mistakes=[("eps in the wrong place: use np.sqrt(s) + eps, not np.sqrt(s + eps)",
               [-0.3 / np.sqrt(0.009 + 0.1)])],
    hint="add eps to sqrt(s), after the root, and pass the eps argument on",
)  # fmt: skip
### BEGIN HIDDEN TESTS
from cnnlab import nn


def rmsprop_reference(start, grad_seq, lr, decay, eps, variant="right"):
    """Parameters after the steps, for the right rule and for the usual mistakes."""
    p = {k: v.copy() for k, v in start.items()}
    s = {k: np.zeros_like(v) for k, v in start.items()}
    for t, grads in enumerate(grad_seq, start=1):
        for k in p:
            g = grads[k]
            old = 0.0 if variant == "forget" else s[k]
            if variant == "swap":
                s[k] = (1 - decay) * old + decay * g * g
            else:
                s[k] = decay * old + (1 - decay) * (g if variant == "no square" else g * g)
            used = s[k] / (1 - decay**t) if variant == "bias" else s[k]
            denom = np.sqrt(used + eps) if variant == "eps inside" else np.sqrt(used) + eps
            p[k] = p[k] - lr * g / denom
    return p if variant != "average" else s


HINTS = {
    "eps inside": "eps in the wrong place: use np.sqrt(s) + eps, not np.sqrt(s + eps)",
    "swap": "decay the wrong way round: s = decay * s + (1 - decay) * g**2",
    "forget": "RMSProp forgets its average between steps: keep s in square_avg[name]",
    "bias": "RMSProp has no bias correction (that is Adam's): divide by sqrt(s) itself",
}
rng = np.random.default_rng(9)
shapes = {"0.w": (4, 3, 3, 3), "0.b": (4,), "3.w": (7, 5), "3.b": (5,)}
for lr, decay, eps, steps in [(1e-3, 0.99, 1e-8, 4), (0.05, 0.95, 0.05, 5)]:
    start = {k: rng.standard_normal(s) for k, s in shapes.items()}
    grad_seq = [{k: rng.standard_normal(s) * 0.5 for k, s in shapes.items()} for _ in range(steps)]
    grad_copy = [{k: v.copy() for k, v in gs.items()} for gs in grad_seq]
    ref = rmsprop_reference(start, grad_copy, lr, decay, eps)
    params, square_avg = {k: v.copy() for k, v in start.items()}, {}
    for grads in grad_seq:
        with (
            T.forbid_calls("cnnlab.optim", exercise="rmsprop_step"),
            T.in_place(params, grads, square_avg),
        ):
            rmsprop_step(params, grads, square_avg, lr, decay, eps)
    name = f"parameters after {steps} RMSProp steps (lr={lr}, decay={decay}, eps={eps})"
    for variant, hint in HINTS.items():
        wrong = rmsprop_reference(start, grad_copy, lr, decay, eps, variant)
        if all(np.allclose(params[k], wrong[k], rtol=1e-7, atol=1e-10) for k in shapes):
            if not all(np.allclose(wrong[k], ref[k], rtol=1e-7, atol=1e-10) for k in shapes):
                for k in shapes:
                    T.assert_allclose(params[k], ref[k], rtol=1e-6, name=f"{k!r}: {name}",
                                      hint=hint)  # fmt: skip
    for k in shapes:
        T.assert_allclose(
            params[k], ref[k], rtol=1e-6, atol=1e-9, name=f"{k!r}: {name}",
            hint="s = decay * s + (1 - decay) * g**2 with the given decay, then "
            "p -= lr * g / (sqrt(s) + eps)",
        )  # fmt: skip
    T.assert_equal(sorted(square_avg), sorted(shapes), name="keys of square_avg")
    averages = rmsprop_reference(start, grad_copy, lr, decay, eps, "average")
    for k in shapes:
        T.assert_allclose(square_avg[k], averages[k], rtol=1e-6, atol=1e-12,
                          name=f"square_avg[{k!r}] after {steps} steps",
                          hint="keep the running mean s itself in square_avg[name]")  # fmt: skip
        T.assert_allclose(grad_seq[-1][k], grad_copy[-1][k], name=f"grads[{k!r}] after the steps",
                          hint="change the parameters and square_avg only, not the gradients")  # fmt: skip
# a running mean has its parameter's shape and dtype (float32 here)
square_avg = {}
with T.in_place(square_avg):
    rmsprop_step(
        {"w": np.ones((2, 3), np.float32)}, {"w": np.ones((2, 3), np.float32)}, square_avg, 0.1
    )
T.assert_shape(square_avg["w"], (2, 3), name="square_avg of a (2, 3) float32 parameter")
T.assert_equal(str(np.asarray(square_avg["w"]).dtype), "float32",
               name="dtype of the running mean of a float32 parameter",
               hint="create the running mean with the parameter's dtype (np.zeros_like(p))")  # fmt: skip
# the defaults: decay 0.99 and eps 1e-8 when only lr is given
start = {"p": rng.standard_normal((3, 4))}
grad_seq = [{"p": rng.standard_normal((3, 4))} for _ in range(3)]
params, square_avg = {"p": start["p"].copy()}, {}
for grads in grad_seq:
    with T.in_place(params, square_avg):
        rmsprop_step(params, grads, square_avg, 0.01)
T.assert_allclose(params["p"], rmsprop_reference(start, grad_seq, 0.01, 0.99, 1e-8)["p"],
                  rtol=1e-6, name="p after 3 steps with the default decay and eps",
                  hint="the defaults are decay=0.99 and eps=1e-8")  # fmt: skip
# in place, so that the update reaches a model: the first step moves by lr / sqrt(0.01) = 10 lr
model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.ReLU(), nn.Linear(4, 2, seed=1))
for g in model.grads.values():
    g[...] = rng.standard_normal(g.shape)
want = {k: model.params[k] - 0.1 * np.sign(model.grads[k]) for k in model.params}
params = model.params  # a new dict of the layers' own arrays at every access
with T.in_place(params):
    rmsprop_step(params, model.grads, {}, 0.01)
for k, arr in model.params.items():
    T.assert_allclose(arr, want[k], rtol=1e-5, atol=1e-6, name=f"model parameter {k!r}",
                      hint="update the parameter arrays in place (p -= ...)")  # fmt: skip
### END HIDDEN TESTS


# %% [markdown]
# ### Exercise 4d: `adam_step` (3 points)
#
# The dict `state` is empty before the first step. Fill it on first use with a step counter
# `state["t"] = 0` and two dicts of zero arrays, `state["m"]` and `state["v"]`, with the keys
# of `params`. Each call then increases `state["t"]` by one and applies the update above to
# every parameter, in place.
#
# The counter counts this call too: the first step uses $t = 1$. The square root applies to
# $\hat v$ only; $\epsilon$ is added after it. A quick check by hand: with a constant gradient,
# $\hat m = g$ and $\hat v = g^2$ at every step, so each step moves every parameter by $\eta$
# (minus a hair for $\epsilon$) against the sign of its gradient.
#
# <details><summary>Hint 1</summary>
#
# Three things persist between calls, all in `state`: the counter and the two running
# averages. Set them up once, when `state` is empty; at every call advance the counter before
# touching any parameter, then update each parameter with the formulas above, in order.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Update `m` and `v` in place (`*=`, `+=`) so that the arrays stored in `state` change. The
# corrected estimates are new arrays, used once and not stored; only the raw running means
# carry over. Mind where the root goes: `np.sqrt(v_hat) + eps`, not `np.sqrt(v_hat + eps)`.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "adam_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step with bias correction, in place.

    Parameters
    ----------
    params : dict of str to ndarray
        Parameter arrays, updated in place.
    grads : dict of str to ndarray
        Gradients, same keys and shapes as ``params``.
    state : dict
        Optimiser state, empty before the first step; this function fills it with
        ``"t"`` (int, number of steps taken), ``"m"`` and ``"v"`` (dicts of arrays shaped like
        ``params``: running means of g and of g**2).
    lr : float
        Learning rate.
    beta1, beta2 : float
        Decay rates of the two running means.
    eps : float
        Added to sqrt(v_hat) to avoid a division by zero.

    Returns
    -------
    None
        ``t += 1``; per name: ``m = beta1*m + (1-beta1)*g``, ``v = beta2*v + (1-beta2)*g**2``,
        ``p -= lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)``.
    """
    ### BEGIN SOLUTION
    if not state:
        state["t"] = 0
        state["m"] = {name: np.zeros_like(p) for name, p in params.items()}
        state["v"] = {name: np.zeros_like(p) for name, p in params.items()}
    state["t"] += 1
    t = state["t"]
    for name, p in params.items():
        g = grads[name]
        m, v = state["m"][name], state["v"][name]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        p -= lr * m_hat / (np.sqrt(v_hat) + eps)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_adam_step", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T
from cnnlab import nn

# Constant gradients: then m_hat = g and v_hat = g**2 at every step, so each step moves every
# parameter by lr * g / (|g| + eps), i.e. by lr = 0.1 against the sign of its gradient.
w0 = np.array([1.0, -2.0, 3.0])
params, state = {"w": w0.copy(), "b": np.array([0.5])}, {}
w = params["w"]  # the array a model would hold
grads = {"w": np.array([0.5, -4.0, 2.0]), "b": np.array([-1.0])}
g = grads["w"]
first_step_mistakes = [  # what the usual mistakes give after the first step (t = 1)
    ("Adam without bias correction: divide m by (1 - beta1**t) and v by (1 - beta2**t)",
     w0 - 0.1 * (0.1 * g) / (np.sqrt(0.001 * g**2) + 1e-8)),
    ("square root missing: divide by np.sqrt(v_hat) + eps", w0 - 0.1 * g / (g**2 + 1e-8)),
    ("square root in the wrong place: take the root of the corrected v_hat = "
     "v / (1 - beta2**t), not sqrt(v) / (1 - beta2**t)",
     w0 - 0.1 * g / (np.sqrt(0.001 * g**2) / 0.001 + 1e-8)),
]  # fmt: skip
for t in (1, 2, 3):
    with T.in_place(params, state):  # the grader hands back their new state
        adam_step(params, grads, state, 0.1)
    T.assert_finite(
        params["w"], name=f"w after {t} Adam steps",
        hint='the first step must use t = 1: increase state["t"] before the update '
        "(with t = 0, 1 - beta1**t is 0)",
    )  # fmt: skip
    T.assert_equal(
        state.get("t"), t, name=f'state["t"] after {t} steps',
        hint='state["t"] is the step counter: increase it by one at every call and store it '
        "in state (a counter that does not advance keeps the bias correction of step 1)",
    )  # fmt: skip
    T.assert_allclose(
        params["w"], w0 - 0.1 * t * np.sign(g), rtol=1e-6,
        name=f"w after {t} Adam steps with a constant gradient (lr=0.1)",
        mistakes=first_step_mistakes if t == 1 else [],
        hint="m and v are running means of g and g**2; correct both, then "
        "p -= lr * m_hat / (np.sqrt(v_hat) + eps)",
    )  # fmt: skip
    T.assert_allclose(params["b"], [0.5 + 0.1 * t], rtol=1e-6, name=f"b after {t} Adam steps",
                      hint='one m and one v per parameter: state["m"][name], state["v"][name]')  # fmt: skip
T.assert_allclose(
    w, [0.7, -1.7, 2.7], rtol=1e-6, name="the original array of w after the steps",
    hint="adam_step put a new array into params instead of updating it in place: a model "
    "keeps the old array and never learns; write p -= ...",
)  # fmt: skip
T.assert_equal(sorted(state.get("m", {})), ["b", "w"], name='keys of state["m"]')
# Where eps goes, with a large eps: one step with g = 0.3, lr = 1, eps = 0.1 moves p by
# 0.3 / (sqrt(0.09) + 0.1) = 0.75.
params, state = {"p": np.array([0.0])}, {}
with T.in_place(params):
    adam_step(params, {"p": np.array([0.3])}, state, 1.0, eps=0.1)
T.assert_allclose(
    params["p"], [-0.75], rtol=1e-6, name="p after one Adam step (g=0.3, lr=1, eps=0.1)",
    mistakes=[("square root in the wrong place: use np.sqrt(v_hat) + eps, not "
               "np.sqrt(v_hat + eps)", [-0.3 / np.sqrt(0.09 + 0.1)])],
    hint="add eps to sqrt(v_hat), after the root, and pass the eps argument on",
)  # fmt: skip
### BEGIN HIDDEN TESTS


def adam_reference(start, grad_seq, lr, b1, b2, eps, variant="right"):
    """Parameters after the steps, for the right rule and for the usual mistakes."""
    p = {k: v.copy() for k, v in start.items()}
    m = {k: np.zeros_like(v) for k, v in start.items()}
    v = {k: np.zeros_like(x) for k, x in start.items()}
    for t, grads in enumerate(grad_seq, start=1):
        tt = 1 if variant == "stuck counter" else t
        for k in p:
            g = grads[k]
            m[k] = b1 * m[k] + (1 - b1) * g
            v[k] = b2 * v[k] + (1 - b2) * g * g
            if variant == "no bias correction":
                m_hat, v_hat = m[k], v[k]
            else:
                m_hat, v_hat = m[k] / (1 - b1**tt), v[k] / (1 - b2**tt)
            if variant == "eps inside the root":
                denom = np.sqrt(v_hat + eps)
            elif variant == "correction outside the root":
                denom = np.sqrt(v[k]) / (1 - b2**tt) + eps
            elif variant == "no root":
                denom = v_hat + eps
            else:
                denom = np.sqrt(v_hat) + eps
            p[k] = p[k] - lr * m_hat / denom
    return p


HINTS = {
    "no bias correction": "Adam without bias correction: divide m by (1 - beta1**t) and v by "
    "(1 - beta2**t)",
    "stuck counter": "the step counter does not advance: t must grow by one at every call "
    '(store it in state["t"]), or the bias correction stays that of step 1',
    "eps inside the root": "square root in the wrong place: use np.sqrt(v_hat) + eps, not "
    "np.sqrt(v_hat + eps)",
    "correction outside the root": "square root in the wrong place: take the root of the "
    "corrected v_hat = v / (1 - beta2**t), not sqrt(v) / (1 - beta2**t)",
    "no root": "square root missing: divide by np.sqrt(v_hat) + eps",
}

rng = np.random.default_rng(8)
shapes = {"0.w": (6, 3, 3, 3), "0.b": (6,), "4.w": (12, 5), "4.b": (5,)}
cases = [  # lr, beta1, beta2, eps, steps
    (1e-3, 0.9, 0.999, 1e-8, 5),
    (0.02, 0.8, 0.99, 0.1, 6),  # a large eps shows where it is added
]
for lr, b1, b2, eps, steps in cases:
    start = {k: rng.standard_normal(s) for k, s in shapes.items()}
    grad_seq = [{k: rng.standard_normal(s) * 0.3 for k, s in shapes.items()} for _ in range(steps)]
    ref = adam_reference(start, grad_seq, lr, b1, b2, eps)
    params, state = {k: v.copy() for k, v in start.items()}, {}
    for grads in grad_seq:
        with T.forbid_calls("cnnlab.optim", exercise="adam_step"), T.in_place(params, state):
            adam_step(params, grads, state, lr, b1, b2, eps)
    name = f"parameters after {steps} Adam steps (lr={lr}, beta1={b1}, beta2={b2}, eps={eps})"
    for variant, hint in HINTS.items():
        wrong = adam_reference(start, grad_seq, lr, b1, b2, eps, variant)
        if all(np.allclose(params[k], wrong[k], rtol=1e-7, atol=1e-10) for k in shapes):
            if not all(np.allclose(wrong[k], ref[k], rtol=1e-7, atol=1e-10) for k in shapes):
                for k in shapes:
                    T.assert_allclose(params[k], ref[k], rtol=1e-6, name=f"{k!r}: {name}",
                                      hint=hint)  # fmt: skip
    for k in shapes:
        T.assert_allclose(
            params[k], ref[k], rtol=1e-6, atol=1e-9, name=f"{k!r}: {name}",
            hint="m and v are running means of g and g**2 with the given beta1, beta2; "
            "correct both, then p -= lr * m_hat / (sqrt(v_hat) + eps)",
        )  # fmt: skip
    T.assert_equal(state.get("t"), steps, name=f'state["t"] after {steps} steps',
                   hint=HINTS["stuck counter"])  # fmt: skip
    T.assert_equal(sorted(state.get("m", {})), sorted(shapes), name='keys of state["m"]')
    T.assert_equal(sorted(state.get("v", {})), sorted(shapes), name='keys of state["v"]')
    m_ref = {k: np.zeros(s) for k, s in shapes.items()}
    v_ref = {k: np.zeros(s) for k, s in shapes.items()}
    for grads in grad_seq:
        for k in shapes:
            m_ref[k] = b1 * m_ref[k] + (1 - b1) * grads[k]
            v_ref[k] = b2 * v_ref[k] + (1 - b2) * grads[k] ** 2
    for k in shapes:
        for key, ref_avg in (("m", m_ref[k]), ("v", v_ref[k])):
            T.assert_allclose(
                state[key][k], ref_avg, rtol=1e-6, atol=1e-12,
                name=f'state["{key}"][{k!r}] after {steps} steps',
                hint="keep the raw running means in state (the bias-corrected values are used "
                "once, not stored)",
            )  # fmt: skip
# in place, so that the update reaches a model
model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.ReLU(), nn.Linear(4, 2, seed=1))
for g in model.grads.values():
    g[...] = rng.standard_normal(g.shape)
want = {k: model.params[k] - 0.01 * np.sign(model.grads[k]) for k in model.params}
params = model.params  # a new dict of the layers' own arrays at every access
with T.in_place(params):
    adam_step(params, model.grads, {}, 0.01)
for k, arr in model.params.items():
    T.assert_allclose(arr, want[k], rtol=1e-5, atol=1e-6, name=f"model parameter {k!r}",
                      hint="update the parameter arrays in place (p -= ...)")  # fmt: skip
### END HIDDEN TESTS


# %% [markdown]
# Now the race. The same valley, 40 steps from the same start; to be fair, each optimiser gets
# the best of a few learning rates (the one with the lowest final loss). Your four functions do
# the work.


# %%
def optimiser_path(step, lr, steps=40, start=(-9.0, 2.0)):
    """Path of one optimiser on the valley; `step(params, grads, lr)` updates in place."""
    params = {"p": np.array(start)}
    path = [params["p"].copy()]
    for _ in range(steps):
        _, g = valley(params["p"])
        step(params, {"p": g}, lr)
        path.append(params["p"].copy())
    return np.array(path)


def make_momentum():
    """A momentum step function with its own, fresh velocity."""
    velocity = {}
    return lambda params, grads, lr: momentum_step(params, grads, velocity, lr, beta=0.9)


def make_rmsprop():
    """An RMSProp step function with its own, fresh running mean (default decay 0.99)."""
    square_avg = {}
    return lambda params, grads, lr: rmsprop_step(params, grads, square_avg, lr)


def make_adam():
    """An Adam step function with its own, fresh state."""
    state = {}
    return lambda params, grads, lr: adam_step(params, grads, state, lr)


candidates = {
    "SGD": (lambda: sgd_step, [0.1, 0.3, 0.9]),
    "momentum (beta=0.9)": (make_momentum, [0.05, 0.1, 0.2, 0.5]),
    "RMSProp": (make_rmsprop, [0.03, 0.1, 0.3]),
    "Adam": (make_adam, [0.1, 0.3, 1.0, 3.0]),
}
runs = {}
for name, (make_step, lrs) in candidates.items():
    # a fresh optimiser state for every learning rate tried
    paths = {lr: optimiser_path(make_step(), lr) for lr in lrs}
    best = min(lrs, key=lambda lr: valley(paths[lr][-1])[0])
    runs[f"{name}, best lr={best}"] = paths[best]
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw={"width_ratios": [2, 1]})
ax.contour(xs, ys, zs, levels=np.geomspace(0.02, 15, 12), cmap="Greys", linewidths=0.8)
for (label, path), color in zip(runs.items(), ["C0", "C1", "C4", "C2"]):
    ax.plot(path[:, 0], path[:, 1], marker=".", color=color, label=label)
    ax2.semilogy([valley(p)[0] for p in path], color=color, label=label)
ax.plot(0, 0, "k*", markersize=12)
ax.set_xlabel("x (flat direction)")
ax.set_ylabel("y (steep direction)")
ax.set_title("Paths of your four optimisers, 40 steps")
ax.legend(loc="upper right", fontsize=8)
ax2.set_xlabel("step")
ax2.set_ylabel("loss (log scale)")
ax2.yaxis.set_major_formatter("{x:g}")
ax2.minorticks_off()  # ticks at the powers of ten only
ax2.set_title("Loss per step")
ax2.grid(alpha=0.3)
fig.subplots_adjust(wspace=0.2)
plt.show()
sgd_path, momentum_path, rmsprop_path, adam_path = runs.values()
final_loss = [valley(path[-1])[0] for path in runs.values()]
print("final loss:", {name: round(float(v), 4) for name, v in zip(runs, final_loss)})
cl.claim("SGD: still about halfway after 40 steps", sgd_path[-1, 0] / -9.0, low=0.35, high=0.65)
cl.claim("momentum swings across the valley", int(np.sum(np.diff(np.sign(momentum_path[:, 1]))
                                                        != 0)), low=6)  # fmt: skip
cl.claim("momentum never passes the minimum along x", momentum_path[:, 0].max(), high=0.0)
cl.claim("momentum ends about an order of magnitude below SGD",
         final_loss[0] / final_loss[1], low=5, high=20)  # fmt: skip
first_step = np.abs(rmsprop_path[1] - rmsprop_path[0])
cl.claim("RMSProp: a first step of three units along both axes", first_step.min(), low=2.99)
cl.claim("RMSProp: a first step of three units along both axes", first_step.max(), high=3.01)
cl.claim("RMSProp never passes the minimum along x", rmsprop_path[:, 0].max(), high=0.0)
cl.claim("RMSProp: swings across the valley that shrink at every step",
         np.diff(np.abs(rmsprop_path[1:20, 1])).max(), high=0.0)  # fmt: skip
cl.claim("RMSProp: more than a million times below all others",
         min(final_loss[:2] + final_loss[3:]) / final_loss[2], low=1e6)  # fmt: skip
cl.claim("Adam overshoots the minimum along x", adam_path[:, 0].max(), low=1.0)
cl.claim("Adam ends below momentum", final_loss[3], high=final_loss[1])

# %% [markdown]
# Even at its best learning rate, SGD (blue) first bounces across the valley and then crawls
# along its floor, still about halfway from the minimum after 40 steps. Momentum (orange) builds
# up speed along the valley, because the gradients there keep pointing the same way, while it
# keeps swinging from wall to wall across it, each swing a little smaller; after 40 steps it
# has not reached the minimum yet, but its loss is about an order of magnitude below SGD's.
# RMSProp (purple) divides each coordinate's step by the root mean square of that coordinate's
# recent gradients, so the flat direction gets steps as large as the steep one. Its first step
# jumps three units along both axes: with $\rho = 0.99$ the first average is only
# $0.01\, g^2$, so without a bias correction the first step is $10\,\eta$. Then it zigzags
# across the valley with swings that shrink at every step while it moves steadily along it,
# never passing the minimum; its loss falls along a straight line on the log scale and ends
# more than a million times below all the others. Adam (green) scales its steps the same way
# but also averages the gradients: its $m$ gives it inertia, so it covers the distance fast,
# overshoots the minimum along the valley and swings back, ending below momentum. Do not read
# too much into the winner: the axes of this valley are the parameters' own axes, the best
# case for a per-parameter scale. In a valley turned by 45 degrees both coordinates would see
# gradients of the same size, and the per-parameter scale could not help. No optimiser wins
# everywhere: on real networks Adam is the forgiving default, while SGD with momentum and a
# tuned schedule often generalises a little better. The next notebook tunes such choices
# properly.

# %% [markdown]
# ## 5. The training loop
#
# One training step on a mini-batch has four stages, the same in every deep learning library:
#
# 1. **forward**: the model maps the batch of inputs to scores $s$ of shape `(B, K)`;
# 2. **loss**: `softmax_cross_entropy` turns the scores and the labels into the *mean* loss
#    over the batch, $L = \frac1B \sum_{i=1}^{B} \ell_i$, and its gradient with respect to the
#    scores, $\partial L / \partial s$, of shape `(B, K)`;
# 3. **backward**: `model.backward` takes that gradient, runs back through the layers and
#    fills `model.grads`;
# 4. **update**: the optimiser changes `model.params` using `model.grads`.
#
# An epoch repeats this over all mini-batches. For reporting we want the mean loss per
# *sample* over the epoch. Each batch gives the mean over its own `B` samples, so weight it by
# `B`: add up `loss * B` and divide by `N` at the end. A plain mean of the batch losses would
# give the samples of the small last batch more weight than the others.
#
# Two details make the loop reusable. The optimiser arrives as a function
# `step_fn(params, grads)`, so the same loop runs SGD, momentum or Adam:
#
# ```python
# state = {}
# step_fn = lambda params, grads: adam_step(params, grads, state, lr=2e-3)
# ```
#
# And layers such as dropout and batch normalisation behave differently while training and
# while predicting, so the loop switches the model to training mode with `model.train()`
# first; `model.eval()` switches it back for evaluation.
#
# ### Exercise 5: `train_epoch` (3 points)
#
# Run one epoch: put the model in training mode, then for every mini-batch of your
# `iterate_minibatches`, shuffled with `rng`, do the four stages above; the update is one call
# of `step_fn` per batch, with the model's parameter dict and its gradient dict. Return the
# mean loss per sample,
#
# $$ \bar L = \frac1N \sum_{b} B_b\, L_b , $$
#
# with $L_b$ the mean loss of batch $b$ (measured before its update) and $B_b$ its size, as a
# Python float. Use `cnnlab.layers.softmax_cross_entropy` (imported as
# `softmax_cross_entropy`); do not call `cnnlab.train` or `cnnlab.optim`, which do this work
# for you. Training never uses the gradient with respect to the input images, so the backward
# pass may skip it (`need_dx=False`): the same parameter gradients, a little faster.
#
# <details><summary>Hint 1</summary>
#
# Switch the mode once, before the loop. Inside the loop the four stages come in the order
# above, each using what the one before returned. Keep a running total for the loss and
# divide once, after the loop.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# `model.params` is the dict of the layers' own arrays, so `step_fn` can update them in place;
# it must run after the backward pass, which fills the gradients it reads. The size of a batch
# is the length of its labels (the last batch may be smaller). The backward pass of a batch:
# `model.backward(dscores, need_dx=False)`.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "train_epoch", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_epoch(model, X, y, step_fn, batch_size, rng):
    """Train ``model`` for one epoch of shuffled mini-batches; return the mean loss.

    Parameters
    ----------
    model : cnnlab.nn.Sequential
        Maps (B, ...) inputs to (B, K) scores; set to training mode here.
    X : ndarray, shape (N, ...)
        Training inputs.
    y : ndarray of int, shape (N,)
        Labels in 0..K-1.
    step_fn : callable
        Applies one optimiser update in place when called with the parameter dict and the
        gradient dict of the model (``model.params``, ``model.grads``).
    batch_size : int
        Samples per mini-batch (the last batch may be smaller).
    rng : numpy.random.Generator
        Shuffles the order of the samples.

    Returns
    -------
    loss : float
        Softmax cross-entropy averaged over the N samples (batch losses weighted by batch
        size), as measured during the epoch.
    """
    ### BEGIN SOLUTION
    model.train()
    total = 0.0
    for X_batch, y_batch in iterate_minibatches(X, y, batch_size, shuffle=True, rng=rng):
        scores = model.forward(X_batch)
        loss, dscores = softmax_cross_entropy(scores, y_batch)
        model.backward(dscores, need_dx=False)  # the images need no gradient
        step_fn(model.params, model.grads)
        total += loss * len(y_batch)
    return float(total / len(y))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_train_epoch", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T
from cnnlab import nn, spec
from cnnlab.layers import softmax_cross_entropy


def batches_reference(X, y, batch_size, shuffle=True, rng=None):
    """Exercise 3 done for this test, so that it grades train_epoch on its own."""
    order = np.random.default_rng(rng).permutation(len(y)) if shuffle else np.arange(len(y))
    return [(X[i], y[i]) for i in np.array_split(order, range(batch_size, len(y), batch_size))]


def epoch_diagnosis(model, X, y, batch_size, seed):
    """Loss of one epoch whose step_fn changes nothing: the right value and wrong averages."""
    losses, sizes = [], []
    for Xb, yb in batches_reference(X, y, batch_size, rng=np.random.default_rng(seed)):
        losses.append(softmax_cross_entropy(model.forward(Xb), yb)[0])
        sizes.append(len(yb))
    right = float(np.dot(losses, sizes) / len(y))
    return right, [
        ("train_epoch averages over batches instead of samples: add loss * len(y_batch) and "
         "divide by N (the small last batch must not count as much as a full one)",
         [np.mean(losses)]),
        ("train_epoch returns the loss of the last batch only: return the mean over the "
         "whole epoch", [losses[-1]]),
        ("train_epoch adds up the batch losses: weight each by its batch size and divide by N",
         [np.sum(losses)]),
    ]  # fmt: skip


# Ten samples, batches of 4, 4 and 2, and a step_fn that changes nothing: the model is the same
# for every batch, so the mean loss per sample over the epoch is the loss on the whole set.
model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, seed=0))
X = np.random.default_rng(0).random((10, 1, 2, 2)).astype(np.float32)
y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
full_loss, wrong_means = epoch_diagnosis(model, X, y, 4, seed=0)
calls = []


def record_step(params, grads):
    calls.append(sorted(params))  # remembers the call, updates nothing


with T.reference_helpers(iterate_minibatches=batches_reference):
    loss = train_epoch(model, X, y, record_step, 4, np.random.default_rng(0))
T.assert_equal(len(calls), 3, name="step_fn calls for N=10, batch_size=4",
               hint="one step per mini-batch, the last partial batch included")  # fmt: skip
T.assert_equal(calls[0], ["1.b", "1.w"], name="keys of the params passed to step_fn",
               hint="call step_fn(model.params, model.grads)")  # fmt: skip
T.assert_allclose(
    [loss], [full_loss], rtol=1e-5, name="loss returned by train_epoch (no-op step)",
    mistakes=wrong_means, hint="return the mean loss per sample over the epoch",
)  # fmt: skip
# One batch of all ten samples and a real SGD step (lr = 0.1): the parameters must end where
# forward, loss, backward and one update take them (reference computed on a copy first).
model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, seed=0))
ref = spec.from_spec(spec.to_spec(model))
ref_loss, dscores = softmax_cross_entropy(ref.forward(X), y)
ref.backward(dscores)
want = {k: p - 0.1 * ref.grads[k] for k, p in ref.params.items()}
start = {k: p.copy() for k, p in ref.params.items()}


def sgd(params, grads):
    for k in params:
        params[k] -= 0.1 * grads[k]


# T.in_place(model): the grader hands back the model's new state (only what a test names)
with T.reference_helpers(iterate_minibatches=batches_reference), T.in_place(model):
    loss = train_epoch(model, X, y, sgd, 10, np.random.default_rng(1))
T.assert_allclose([loss], [ref_loss], rtol=1e-5, name="loss of one full-batch epoch",
                  hint="the loss of a batch is measured before its update")  # fmt: skip
for k in want:
    T.assert_allclose(
        model.params[k], want[k], rtol=1e-4, atol=1e-6,
        name=f"parameter {k!r} after one SGD epoch with batch_size = N",
        mistakes=[("the parameters did not change: call model.backward(dscores) before "
                   "step_fn(model.params, model.grads), which uses the gradients it fills",
                   start[k])],
        hint="forward, softmax_cross_entropy, model.backward(dscores), then "
        "step_fn(model.params, model.grads) for every batch",
    )  # fmt: skip
# Training mode: a model that evaluate left in eval mode must train with its dropout active,
# so its loss differs from the loss without dropout. And rng shuffles the samples.
model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5, seed=0), nn.Linear(4, 3, seed=1)).eval()
clean, _ = softmax_cross_entropy(model.forward(X), y)
rng = np.random.default_rng(4)
before = rng.bit_generator.state
with T.reference_helpers(iterate_minibatches=batches_reference), T.in_place(rng):
    loss = train_epoch(model, X, y, lambda p, g: None, 10, rng)
T.assert_true(
    abs(loss - clean) > 1e-4,
    "train_epoch trained a model in eval mode: its dropout was off",
    hint="call model.train() at the start of the epoch (evaluate leaves the model in eval mode)",
)
T.assert_true(
    rng.bit_generator.state != before,
    "train_epoch did not use rng: the samples were not shuffled",
    hint="pass rng to iterate_minibatches(X, y, batch_size, shuffle=True, rng=rng)",
)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(12)


def fresh_model(seed):
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, pad=1, seed=seed), nn.ReLU(), nn.MaxPool2d(2, stride=2), nn.Flatten(),
        nn.Linear(3 * 2 * 3, 4, seed=seed + 1),
    )  # fmt: skip


X = rng.standard_normal((37, 2, 5, 6)).astype(np.float32)
y = rng.integers(0, 4, 37)
# mean over samples with a partial last batch (37 = 4 * 8 + 5)
model = fresh_model(0)
full_loss, wrong_means = epoch_diagnosis(model, X, y, 8, seed=1)
with T.forbid_calls("cnnlab.train", "cnnlab.optim", exercise="train_epoch"), \
     T.reference_helpers(iterate_minibatches=batches_reference):  # fmt: skip
    loss = train_epoch(model, X, y, lambda p, g: None, 8, np.random.default_rng(1))
T.assert_allclose(
    [loss], [full_loss], rtol=1e-5, name="train_epoch loss, N=37, batch_size=8, no-op step",
    mistakes=wrong_means, hint="return the mean loss per sample over the epoch",
)  # fmt: skip
# one full-batch SGD step of a convnet, against a reference computed here
model = fresh_model(3)
ref = spec.from_spec(spec.to_spec(model))
scores = ref.forward(X)
ref_loss, dscores = softmax_cross_entropy(scores, y)
ref.backward(dscores)
for k, p in ref.params.items():
    p -= 0.1 * ref.grads[k]
with T.reference_helpers(iterate_minibatches=batches_reference), T.in_place(model):
    loss = train_epoch(model, X, y, sgd, 37, np.random.default_rng(2))
T.assert_allclose([loss], [ref_loss], rtol=1e-5, name="train_epoch loss with one full batch")
T.assert_true(isinstance(loss, float), f"train_epoch returned a {type(loss).__name__}",
              hint="return the mean loss as a Python float: float(...)")  # fmt: skip
for k, p in ref.params.items():
    T.assert_allclose(
        model.params[k], p, rtol=1e-4, atol=1e-6, name=f"parameter {k!r} after one SGD epoch "
        "with batch_size = N", hint="forward, softmax_cross_entropy, model.backward(dscores), "
        "then step_fn(model.params, model.grads) for every batch",
    )  # fmt: skip
# training mode on a bigger dropout model
model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5, seed=0), nn.Linear(60, 4, seed=1)).eval()
clean, _ = softmax_cross_entropy(model.forward(X), y)
with T.reference_helpers(iterate_minibatches=batches_reference):
    loss = train_epoch(model, X, y, lambda p, g: None, 37, np.random.default_rng(5))
T.assert_true(
    abs(loss - clean) > 1e-4,
    "train_epoch trained a model in eval mode: dropout was off",
    hint="call model.train() at the start of the epoch (evaluate leaves the model in eval mode)",
)
# several epochs of SGD lower the loss
model = fresh_model(7)
with T.reference_helpers(iterate_minibatches=batches_reference), T.in_place(model, rng):
    losses = [train_epoch(model, X, y, sgd, 8, rng) for _ in range(6)]
T.assert_true(losses[-1] < losses[0] - 0.05,
              f"six SGD epochs did not lower the loss: {np.round(losses, 4)}")  # fmt: skip
### END HIDDEN TESTS


# %% [markdown]
# ## 6. Measuring loss and accuracy
#
# The loss is what we optimise; **accuracy**, the fraction of samples whose highest score is
# the right class, is what we report. On held-out data we want both. Two rules: evaluate in
# **eval mode** (dropout off, batch normalisation with its running statistics), and go through
# the data in chunks, so that a large test set does not need all its activations in memory at
# once. Gradients are not needed, so there is no backward pass.
#
# ### Exercise 6: `evaluate` (2 points)
#
# Return the pair `(loss, accuracy)` for `model` on `(X, y)`, two Python floats: the mean
# softmax cross-entropy per sample (with `softmax_cross_entropy`, as in training) and the
# accuracy, a fraction in [0, 1]. Compute them in eval mode over chunks of at most
# `batch_size` samples (in order, the last chunk possibly smaller). Before returning, put the
# model back into the mode it was in: `model.training` tells you which, and `model.train()` or
# `model.eval()` switches the model and all its layers. This is also what
# `cnnlab.train.evaluate` does, the version the next notebooks use.
#
# With chunks $c$ of sizes $B_c$ and mean losses $L_c$:
#
# $$ \text{loss} = \frac1N \sum_c B_c\, L_c , \qquad
#    \text{accuracy} = \frac1N \,\bigl|\{\, i : \arg\max_k s_{ik} = y_i \,\}\bigr| . $$
#
# <details><summary>Hint 1</summary>
#
# Remember the mode first, then switch to eval mode, walk over the chunks keeping two running
# totals (weighted loss and number right), restore the mode, and divide both totals by $N$.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# The predicted class of each row of scores is the index of its largest entry
# (`argmax` along the class axis). Each chunk's loss is a mean over that chunk, so weight it
# by the chunk's size, exactly as in `train_epoch`.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "evaluate", "locked": false, "schema_version": 3, "solution": true, "task": false}
def evaluate(model, X, y, batch_size=256):
    """Mean loss and accuracy of ``model`` on ``(X, y)``, in eval mode (mode restored).

    Parameters
    ----------
    model : cnnlab.nn.Sequential
        Maps (B, ...) inputs to (B, K) scores; left in the mode it was in.
    X : ndarray, shape (N, ...)
    y : ndarray of int, shape (N,)
    batch_size : int
        Largest number of samples sent through the model at once.

    Returns
    -------
    loss : float
        Softmax cross-entropy averaged over the N samples.
    accuracy : float
        Fraction of samples with ``argmax(scores) == y``, in [0, 1].
    """
    ### BEGIN SOLUTION
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(X), batch_size):
        X_chunk, y_chunk = X[start : start + batch_size], y[start : start + batch_size]
        scores = model.forward(X_chunk)
        loss, _ = softmax_cross_entropy(scores, y_chunk)
        loss_sum += loss * len(y_chunk)
        correct += int(np.sum(scores.argmax(axis=1) == y_chunk))
    if was_training:
        model.train()
    return float(loss_sum / len(X)), correct / len(X)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_evaluate", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T
from cnnlab import nn
from cnnlab.layers import softmax_cross_entropy


def check_pair(result, want, call, mistakes=()):
    """evaluate's (loss, accuracy) against the expected pair, naming the known mistakes."""
    T.assert_true(
        isinstance(result, (tuple, list)) and len(result) == 2,
        f"{call} returned {result!r}; expected the pair (loss, accuracy)",
        hint="return loss, accuracy: two floats",
    )
    T.assert_allclose(
        [float(np.asarray(v)) for v in result], want, rtol=1e-5, atol=1e-7,
        name=f"(loss, accuracy) of {call}", mistakes=list(mistakes),
        hint="loss: mean softmax cross-entropy per sample; accuracy: fraction of argmax "
        "matches, in [0, 1]",
    )  # fmt: skip


# Scores = the two input values (identity weights): predictions 0, 1, 0, 1 for labels
# 0, 1, 1, 1, so accuracy 0.75; the loss is the mean cross-entropy of the four rows of scores.
model = nn.Sequential(nn.Flatten(), nn.Linear(2, 2, seed=0))
model.params["1.w"][...] = np.eye(2)
scores = np.array([[3.0, 1.0], [0.0, 2.0], [5.0, 4.0], [1.0, 1.5]])
X = scores.astype(np.float32).reshape(4, 1, 1, 2)
y = np.array([0, 1, 1, 1])
loss, _ = softmax_cross_entropy(scores, y)
head, _ = softmax_cross_entropy(scores[:3], y[:3])  # the chunks of batch_size=3
tail, _ = softmax_cross_entropy(scores[3:], y[3:])
check_pair(evaluate(model, X, y), [loss, 0.75], "evaluate on 4 samples, 3 right", [
    ("return the accuracy as a fraction in [0, 1], not a percentage", [loss, 75.0]),
    ("return the accuracy as a fraction in [0, 1], not a count", [loss, 3.0]),
    ("return (loss, accuracy) in this order", [0.75, loss]),
])  # fmt: skip
check_pair(evaluate(model, X, y, batch_size=3), [loss, 0.75], "the same with batch_size=3", [
    ("evaluate averages the chunk losses instead of the samples: weight each chunk's loss "
     "by its size and divide by N", [(head + tail) / 2, 0.75]),
    ("the last, smaller chunk is missing: it counts too", [head, 2 / 3]),
    ("evaluate adds up the chunk losses: weight each by its size and divide by N",
     [head + tail, 0.75]),
])  # fmt: skip
# Eval mode. The only input, 1, goes through Dropout(0.5) into scores -2 d + 1, 0, 2 d - 3 for
# the three classes. In eval mode d = 1: scores (-1, 0, -1), class 1 wins, loss 0.551. With
# dropout active d is 0 or 2: scores (1, 0, -3) or (-3, 0, 1), never class 1, loss 1.360.
model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5, seed=0), nn.Linear(1, 3, seed=0))
model.params["2.w"][...] = [[-2.0, 0.0, 2.0]]
model.params["2.b"][...] = [1.0, 0.0, -3.0]
X, y = np.ones((5, 1, 1, 1), np.float32), np.ones(5, int)
right, _ = softmax_cross_entropy(np.array([[-1.0, 0.0, -1.0]]), [1])
dropped, _ = softmax_cross_entropy(np.array([[1.0, 0.0, -3.0]]), [1])
model.train()  # as it is after training
with T.in_place(model):  # its mode is checked after the call: the grader hands it back
    result = evaluate(model, X, y, batch_size=2)
check_pair(result, [right, 1.0], "evaluate of a model with dropout (in train mode when called)", [
    ("evaluate left the model in train mode, so dropout was active: call model.eval() "
     "before the forward passes", [dropped, 0.0]),
])  # fmt: skip
T.assert_true(
    model.training and model.layers[1].training,
    "evaluate left a model that was training in eval mode",
    hint="remember model.training at the start and call model.train() before returning if it "
    "was True (model.train() switches every layer; setting model.training does not)",
)
model.eval()
with T.in_place(model):
    evaluate(model, X, y)
T.assert_true(
    not model.training and not model.layers[1].training,
    "evaluate switched a model that was in eval mode to train mode",
    hint="restore the mode the model was in, not always train mode",
)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(13)
X = rng.standard_normal((203, 3, 4, 4)).astype(np.float32)
model = nn.Sequential(
    nn.Flatten(), nn.Linear(48, 64, seed=1), nn.ReLU(), nn.Dropout(0.9, seed=2),
    nn.Linear(64, 5, seed=3),
)  # fmt: skip
model.eval()
scores = model.forward(X)
pred = scores.argmax(axis=1)
y = pred.copy()
flip = rng.choice(203, size=40, replace=False)
y[flip] = (y[flip] + 1) % 5  # 163 of 203 right in eval mode
loss, _ = softmax_cross_entropy(scores, y)
chunks = [softmax_cross_entropy(scores[s : s + 50], y[s : s + 50])[0] for s in range(0, 203, 50)]
model.train()
with T.forbid_calls("cnnlab.train", exercise="evaluate"), T.in_place(model):
    result = evaluate(model, X, y, batch_size=50)
check_pair(
    result, [loss, 163 / 203],
    "evaluate on 203 samples with batch_size=50 (model with Dropout(0.9), in train mode)", [
    ("evaluate averages the chunk losses instead of the samples: weight each chunk's loss "
     "by its size and divide by N", [np.mean(chunks), 163 / 203]),
])  # fmt: skip
T.assert_true(model.training, "evaluate did not restore the train mode of the model",
              hint="call model.train() before returning if the model was training")  # fmt: skip
T.assert_true(all(isinstance(v, float) for v in result),
              f"evaluate returned {[type(v).__name__ for v in result]}, not two floats",
              hint="return two Python floats: float(...) of each")  # fmt: skip
# the default batch size and more samples than it
X2 = rng.standard_normal((300, 48)).astype(np.float32).reshape(300, 3, 4, 4)
model.eval()
scores2 = model.forward(X2)
y2 = scores2.argmax(axis=1)
y2[:30] = (y2[:30] + 2) % 5
loss2, _ = softmax_cross_entropy(scores2, y2)
check_pair(evaluate(model, X2, y2), [loss2, 270 / 300],
           "evaluate on 300 samples with the default batch_size")  # fmt: skip
T.assert_true(not model.training, "evaluate switched a model in eval mode to train mode")
### END HIDDEN TESTS


# %% [markdown]
# ## 7. Two sanity checks before any long training
#
# A training run that goes wrong rarely crashes: it just learns badly, and finding out after an
# hour is expensive. Two checks of a few seconds catch most bugs
# ([CS231n, "Babysitting the learning process"](https://cs231n.github.io/neural-networks-3/#sanitycheck)).
#
# **The initial loss.** Before training, the network knows nothing, so its softmax should
# spread the probability roughly evenly over the $K$ classes. The loss of one sample is
# $-\ln p_\text{correct} \approx -\ln(1/K) = \ln K$, which for ten digits is
# $\ln 10 \approx 2.30$. A first loss of 20 or 200 points to a bug: inputs in 0..255 instead of
# 0..1, a wrong initial scale, or a loss that forgets the softmax. With He initialisation in
# every layer the random scores are of order one, so the first loss lands a little above
# $\ln 10$; scaling the last layer's weights down makes the scores nearly equal and the loss
# almost exactly $\ln 10$. Both are healthy.


# %%
seeds = range(10)
he_losses, small_losses = [], []
for seed in seeds:
    model = build_convnet((1, 8, 8), 10, rng=np.random.default_rng(seed))
    he_losses.append(evaluate(model, X_train[:200], y_train[:200])[0])  # your evaluate
    model.layers[-1].params["w"] *= 0.01
    small_losses.append(evaluate(model, X_train[:200], y_train[:200])[0])
fig, ax = plt.subplots(figsize=(6.5, 3.4))
ax.plot(seeds, he_losses, "o", label="He initialisation everywhere")
ax.plot(seeds, small_losses, "s", label="last layer scaled by 0.01")
ax.axhline(np.log(10), color="k", ls="--", label="ln 10")
ax.set_xlabel("seed of the initial weights")
ax.set_ylabel("loss on 200 training images")
ax.set_ylim(0, max(he_losses) + 0.5)
ax.set_title("Initial loss of ten untrained networks")
ax.legend(fontsize=8)
plt.show()
print(f"He: from {min(he_losses):.2f} to {max(he_losses):.2f}; scaled: "
      f"{min(small_losses):.3f} to {max(small_losses):.3f} (ln 10 = {np.log(10):.3f})")  # fmt: skip
cl.claim("every untrained network starts between about 2.3 and 4", min(he_losses), low=2.25)
cl.claim("every untrained network starts between about 2.3 and 4", max(he_losses), high=4.0)
cl.claim("the scaled-down networks sit on ln 10",
         max(abs(v - np.log(10)) for v in small_losses), high=0.02)  # fmt: skip

# %% [markdown]
# Every untrained network starts between about 2.3 and 4: the right order of magnitude. The
# scaled-down networks sit on the dashed line, as the argument above predicts.
#
# **Overfit a tiny subset.** A network with thousands of parameters must be able to memorise
# 50 examples perfectly. If training loss does not go to (nearly) zero and training accuracy
# to 100% on such a subset, something in the forward pass, the backward pass or the update is
# broken, and there is no point in training on the full set. Here is the check with your
# `build_convnet`, `adam_step`, `train_epoch` and `evaluate`:

# %%
X_tiny, y_tiny = X_train[:50], y_train[:50]
model = build_convnet((1, 8, 8), 10, rng=np.random.default_rng(0))
state, rng = {}, np.random.default_rng(0)
tiny_losses, tiny_accs = [], []
for _ in range(30):
    tiny_losses.append(
        train_epoch(model, X_tiny, y_tiny, lambda p, g: adam_step(p, g, state, 3e-3), 10, rng)
    )
    tiny_accs.append(evaluate(model, X_tiny, y_tiny)[1])
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
ax1.semilogy(np.arange(1, 31), tiny_losses)
ax1.set_xlabel("epoch")
ax1.set_ylabel("training loss (log scale)")
ax1.yaxis.set_major_formatter("{x:g}")
ax1.minorticks_off()  # ticks at the powers of ten only
ax1.set_title("Loss on 50 training examples")
ax2.plot(np.arange(1, 31), tiny_accs)
ax2.set_xlabel("epoch")
ax2.set_ylabel("training accuracy")
ax2.set_title("Accuracy on the same 50 examples")
for ax in (ax1, ax2):
    ax.grid(alpha=0.3)
fig.subplots_adjust(wspace=0.25)
plt.show()
first_perfect = 1 + int(np.argmax(np.array(tiny_accs) == 1.0))
print(f"after 30 epochs: loss {tiny_losses[-1]:.4f}, accuracy {tiny_accs[-1]:.0%}; "
      f"first epoch at 100%: {first_perfect}")  # fmt: skip
cl.claim("the loss falls by two orders of magnitude", tiny_losses[0] / tiny_losses[-1], low=100)
cl.claim("the accuracy reaches 100%", tiny_accs[-1], equals=1.0)
cl.claim("100% after about 15 epochs", first_perfect, low=10, high=20)

# %% [markdown]
# In 30 epochs (150 steps of 10 examples) the loss falls by more than two orders of
# magnitude, and the accuracy reaches 100% after about 15 epochs: every part of the pipeline
# works. (These 50 examples say nothing about new digits; memorising is exactly what this
# check asks for.)
#
# ## 8. Learning curves: under-fitting and over-fitting
#
# A **learning curve** plots the loss (or accuracy) after every epoch, on the training data and
# on a **validation set**: examples held out from training and used to judge the model while
# we still make choices. The test set stays untouched until the very end; a test set that
# guided our choices would no longer measure performance on unseen data. We hold out the last
# 300 of the 1,437 training images.
#
# How to read the curves:
#
# - **under-fitting**: training and validation loss stay high and close together. The model is
#   too small (or trains too briefly or with a poor learning rate) to capture the patterns.
#   Remedy: a bigger model, more epochs, a better learning rate.
# - **over-fitting**: training loss keeps falling towards zero while validation loss stops
#   falling (and often rises again); a gap opens between training and validation accuracy. The model
#   memorises its training examples. Remedy: more data, augmentation, dropout, weight decay,
#   a smaller model, or stopping at the best validation epoch.
# - **a good fit**: both losses fall, the gap stays small, validation accuracy levels off high.
#
# The three runs below produce each case on purpose: a two-channel network with no hidden
# layer, the default network trained on only 100 images, and the default network on the full
# 1,137 images.

# %%
X_fit, y_fit, X_val, y_val = X_train[:1137], y_train[:1137], X_train[1137:], y_train[1137:]


def learning_curves(model, X, y, epochs, lr, batch_size=32, seed=0):
    """Train with your Adam and return per-epoch losses and accuracies (train and val)."""
    state, rng = {}, np.random.default_rng(seed)
    history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
    for _ in range(epochs):
        train_epoch(model, X, y, lambda p, g: adam_step(p, g, state, lr), batch_size, rng)
        for split, (Xs, ys) in {"train": (X, y), "val": (X_val, y_val)}.items():
            loss, acc = evaluate(model, Xs, ys)  # your evaluate
            history[f"{split}_loss"].append(loss)
            history[f"{split}_acc"].append(acc)
    return history


quick = cl.is_grading()
good_model = build_convnet((1, 8, 8), 10, rng=np.random.default_rng(0))  # kept for section 9
good_epochs = 3 if quick else 5
t0 = time.perf_counter()
cases = {
    "under-fitting: 2 channels, no hidden layer": learning_curves(
        build_convnet((1, 8, 8), 10, (2,), hidden=(), rng=np.random.default_rng(0)),
        X_fit, y_fit, epochs=4 if quick else 10, lr=5e-3,
    ),
    "over-fitting: default network, 100 images": learning_curves(
        build_convnet((1, 8, 8), 10, rng=np.random.default_rng(0)),
        X_fit[:100], y_fit[:100], epochs=8 if quick else 30, lr=5e-3, batch_size=20,
    ),
    "good fit: default network, 1,137 images": learning_curves(
        good_model, X_fit, y_fit, epochs=good_epochs, lr=2e-3, batch_size=16
    ),
}  # fmt: skip
print(f"three trainings in {time.perf_counter() - t0:.1f} s")
fig, axes = plt.subplots(2, 3, figsize=(13, 6), sharex="col", sharey="row")
for col, (title, hist) in enumerate(cases.items()):
    epochs = np.arange(1, len(hist["train_loss"]) + 1)
    for row, kind in enumerate(["loss", "acc"]):
        ax = axes[row, col]
        ax.plot(epochs, hist[f"train_{kind}"], marker=".", label="training")
        ax.plot(epochs, hist[f"val_{kind}"], marker=".", label="validation")
        ax.locator_params(axis="x", integer=True)  # whole epochs only
        ax.grid(alpha=0.3)
    axes[0, col].set_title(title, fontsize=10)
    axes[1, col].set_xlabel("epoch")
axes[0, 0].set_ylabel("loss")
axes[1, 0].set_ylabel("accuracy")
axes[0, 0].legend()
fig.suptitle("Learning curves of three training runs")
fig.subplots_adjust(top=0.9, hspace=0.1, wspace=0.06)
plt.show()
under, over, good = cases.values()
for title, hist in cases.items():
    print(f"{title:<45} last epoch: train loss {hist['train_loss'][-1]:.3f}, val loss "
          f"{hist['val_loss'][-1]:.3f}, train acc {hist['train_acc'][-1]:.3f}, "
          f"val acc {hist['val_acc'][-1]:.3f}")  # fmt: skip
cl.claim("we hold out 300 images", len(X_val), equals=300)
cl.claim("under-fitting: even the training accuracy stays below 90%",
         max(under["train_acc"]), high=0.9)  # fmt: skip
cl.claim("under-fitting: the two curves stay close",
         max(np.abs(np.subtract(under["train_acc"], under["val_acc"]))), high=0.06)  # fmt: skip
cl.claim("under-fitting: lowest validation accuracy of the three",
         under["val_acc"][-1], high=min(over["val_acc"][-1], good["val_acc"][-1]))  # fmt: skip
cl.claim("over-fitting: training loss almost zero", over["train_loss"][-1], high=0.01)
cl.claim("over-fitting: training accuracy 100%", over["train_acc"][-1], equals=1.0)
cl.claim("over-fitting: validation loss stops falling after about 20 epochs",
         np.ptp(over["val_loss"][19:]), high=0.04)  # fmt: skip
cl.claim("over-fitting: validation loss levels off at about 0.4", over["val_loss"][-1],
         low=0.33, high=0.47)  # fmt: skip
cl.claim("over-fitting: validation loss dozens of times the training loss",
         over["val_loss"][-1] / over["train_loss"][-1], low=30)  # fmt: skip
cl.claim("over-fitting: validation accuracy about ten points lower",
         over["train_acc"][-1] - over["val_acc"][-1], low=0.07, high=0.15)  # fmt: skip
cl.claim("good fit: the gap stays small",
         max(np.abs(np.subtract(good["train_acc"], good["val_acc"]))), high=0.05)  # fmt: skip
cl.claim("good fit: best validation accuracy", good["val_acc"][-1], low=over["val_acc"][-1])

# %% [markdown]
# Left: the tiny network's two curves stay close together and flatten out while even its
# *training* accuracy is still below 90%: two 3x3 filters and one linear layer cannot
# represent much more, and it ends with the lowest validation accuracy of the three. Middle:
# on 100 images the training loss falls to almost zero and the training accuracy reaches
# 100%, while the validation loss stops falling after about 20 epochs and levels off at about
# 0.4, dozens of times the training loss, and the validation accuracy stays roughly ten points
# lower: that gap is the signature of over-fitting. More epochs would not close it; only more
# data or regularisation would. Right: with all the data both curves improve together and the
# gap stays small. Most real runs look like a mix, and the skill is in reading which regime
# dominates.


# %% [markdown]
# ## 9. Regularisation: dropout and data augmentation
#
# Over-fitting means the network fits details of its training images that do not carry over
# to new ones. Two remedies work especially well for convnets.
#
# **Dropout** ([Srivastava et al., 2014](https://jmlr.org/papers/v15/srivastava14a.html)) sets
# each activation of a layer to zero with probability $p$ at every training step, a new random
# pattern each time. No unit can rely on one particular partner being present, so the network
# learns redundant, more robust features; one can also see it as training a huge family of
# thinned networks that share weights. At test time nothing is dropped. To keep the expected
# value of every activation the same in both modes, the surviving values are divided by
# $1 - p$ during training (*inverted dropout*, what `cnnlab.nn.Dropout(p)` does), so the test
# network needs no rescaling. This is exactly why `evaluate` must switch to eval mode:

# %%
drop = nn.Dropout(0.5, seed=0)
a = np.ones((1, 12), np.float32)
dropped = drop.train().forward(a)[0]
print("train mode:", dropped)
print("eval mode: ", drop.eval().forward(a)[0])
cl.claim("about half of the ones became 0", int(np.sum(dropped == 0)), low=3, high=9)
cl.claim("the others became 2", set(dropped[dropped != 0].tolist()), equals={2.0})

# %% [markdown]
# In train mode about half of the ones became 0 and the others 2 (= 1 / (1 - 0.5)), so the
# mean stays near 1; in eval mode the layer passes its input through unchanged.
#
# **Data augmentation** creates new training examples from old ones with transformations that
# do not change the label. A digit moved by a pixel is still the same digit, so shifting every
# training image by a small random offset at every epoch shows the network many slightly
# different versions of each example and teaches it that position does not matter. Which
# transformations are safe depends on the data. Mirroring left-right is the standard
# augmentation for photographs (a mirrored temple is still a temple), but for digits it changes
# the meaning: a mirrored 2, 3, 4 or 7 is no longer a digit anyone would write, so the network
# would learn from images that never occur. Rotating by 180 degrees would even turn a 6 into a
# 9. See the [CS231n notes](https://cs231n.github.io/neural-networks-2/#reg) for more on
# regularisation.

# %%
picks = [np.flatnonzero(y_train == d)[0] for d in (2, 3, 4, 7)]
digits = X_train[picks]
photo = cl.data.sample_image("china", gray=True, downscale=4)
fig, axes = plt.subplots(2, 5, figsize=(11, 4.6))
for j, img in enumerate(digits):
    axes[0, j].imshow(img[0], cmap="gray")
    axes[0, j].set_title(f"digit {y_train[picks[j]]}", fontsize=9)
    axes[1, j].imshow(img[0, :, ::-1], cmap="gray")
    axes[1, j].set_title("mirrored", fontsize=9)
axes[0, 4].imshow(photo, cmap="gray")
axes[0, 4].set_title("photo", fontsize=9)
axes[1, 4].imshow(photo[:, ::-1], cmap="gray")
axes[1, 4].set_title("mirrored photo", fontsize=9)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("Left-right mirroring: harmless for a photo, wrong for digits")
fig.subplots_adjust(top=0.86, wspace=0.1, hspace=0.25)
plt.show()

# %% [markdown]
# The mirrored photo (right) would fool nobody into seeing a different scene, while the
# mirrored digits (bottom left) are shapes that do not belong to any class. Shifts, small
# rotations and small changes of scale or stroke width are the safe choices for handwriting.
#
# ### Exercise 7: `random_shift` (3 points)
#
# Shift each image of the batch by its **own** random offsets, the augmentation known as *pad
# and random crop*: surround the image with `max_shift` rows and columns of zeros and cut out
# an `H x W` window at a random position. With the window moved by `dy` rows and `dx` columns
# from the centre, output pixel `(r, c)` shows input pixel `(r + dy, c + dx)`, and 0 where that
# pixel lies outside the image (no wrap-around). So a positive `dy` moves the window down and
# the digit up; a positive `dx` moves the digit left. All channels of an image move together.
#
# Draw the offsets from `rng` in this order, one call each:
# `dy = rng.integers(-max_shift, max_shift + 1, size=N)` for the rows, then `dx` the same way
# for the columns (the upper bound of `integers` is exclusive). With this order your function
# gives exactly the images of `cnnlab.train.random_shift`, the version the next notebooks use,
# for the same generator. Return a new array of the same shape and dtype; leave the input
# unchanged.
#
# `scipy.ndimage` would do the work for you and is not allowed.
#
# <details><summary>Hint 1</summary>
#
# Pad first, then cut: surrounded by `max_shift` zeros on every side, each shifted image is
# just an `H x W` window of the padded image, one per image at its own position. `np.roll`
# wraps around, so it is not the right tool.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Pad only the two spatial axes (`np.pad` takes one `(before, after)` pair per axis). In the
# padded image the window of image $i$ starts at row $m + dy_i$ and column $m + dx_i$, where
# $m$ is `max_shift`; the unshifted image starts at $(m, m)$.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "random_shift", "locked": false, "schema_version": 3, "solution": true, "task": false}
def random_shift(images, rng, max_shift=1):
    """Shift every image by its own random offsets, filling with zeros (pad and random crop).

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W)
    rng : numpy.random.Generator
        Draws ``dy = rng.integers(-max_shift, max_shift + 1, size=N)``, then ``dx`` the same
        way.
    max_shift : int
        Largest shift in pixels, for rows and columns.

    Returns
    -------
    shifted : ndarray, shape (N, C, H, W), dtype of ``images``
        ``shifted[i, :, r, c] = images[i, :, r + dy[i], c + dx[i]]`` where that pixel exists,
        0 elsewhere.
    """
    ### BEGIN SOLUTION
    n, _, h, w = images.shape
    m = int(max_shift)
    dy = rng.integers(-m, m + 1, size=n)
    dx = rng.integers(-m, m + 1, size=n)
    padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
    out = np.empty_like(images)
    for i in range(n):
        out[i] = padded[i, :, m + dy[i] : m + dy[i] + h, m + dx[i] : m + dx[i] + w]
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_random_shift", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T


def shift_one(img, dy, dx):
    """img (C, H, W) seen through a window moved by (dy, dx): out[:, r, c] = img[:, r+dy, c+dx]."""
    out = np.zeros_like(img)
    h, w = img.shape[-2:]
    out[:, max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)] = img[
        :, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)
    ]
    return out


def check_shifts(out, images, dy, dx, call):
    """Compare image by image with the shifts by the drawn offsets, naming the usual mistakes."""
    m = int(max(np.max(np.abs(dy)), np.max(np.abs(dx)), 1))
    moves = [(a, b) for a in range(-m, m + 1) for b in range(-m, m + 1)]
    for i, (img, a, b) in enumerate(zip(images, dy, dx)):
        want = shift_one(img, a, b)
        if np.array_equal(out[i], want):
            continue
        common = [
            (p, q) for p, q in moves
            if all(np.array_equal(o, shift_one(x, p, q)) for o, x in zip(out, images))
        ]  # fmt: skip
        if common and len(out) > 1:
            hint = "random_shift uses one offset for the whole batch: every image gets its own"
        elif np.array_equal(out[i], shift_one(img, -a, -b)):
            hint = (
                "the shift goes the opposite way: output pixel (r, c) shows input pixel "
                "(r + dy, c + dx), so a positive dy moves the window down and the digit up"
            )
        elif np.array_equal(out[i], shift_one(img, b, a)):
            hint = "dy and dx are swapped: dy (drawn first) moves the rows, dx the columns"
        elif any(
            np.array_equal(out[i], np.roll(img, (p, q), axis=(1, 2)))
            for p, q in moves
            if (p, q) != (0, 0)
        ):
            hint = "random_shift wraps around (np.roll?): pixels that come in must be 0"
        elif any(np.array_equal(out[i], shift_one(img, p, q)) for p, q in moves):
            hint = (
                "a zero-filled shift, but not by the offsets drawn as the exercise says: "
                "dy = rng.integers(-max_shift, max_shift + 1, size=N) first, then dx the same "
                "way, one call each"
            )
        else:
            hint = (
                "each output image is its input seen through a window moved by (dy, dx), "
                "all channels together, with zeros where the window leaves the image"
            )
        T.assert_equal(
            out[i], want, name=f"image {i} of {call}, drawn offsets dy={a}, dx={b}", hint=hint
        )


# Three images of 2 channels, 3 x 4 pixels, numbered 1..72. The generator of seed 39 draws
# dy = [1, 0, -1], then dx = [0, 1, -1]: the window of image 0 moves one row down (its content
# moves up, the last row becomes 0), the window of image 1 one column right (content left, last
# column 0), the window of image 2 one row up and one column left (content down and right).
images = np.arange(1.0, 73.0, dtype=np.float32).reshape(3, 2, 3, 4)
original = images.copy()
r = np.random.default_rng(39)
dy, dx = r.integers(-1, 2, size=3), r.integers(-1, 2, size=3)
with T.in_place(images):  # checked after the call: the grader hands back what the call did to it
    out = random_shift(images, np.random.default_rng(39), max_shift=1)
T.assert_shape(out, images.shape, name="random_shift of a (3, 2, 3, 4) batch")
T.assert_equal(images, original, name="input images after random_shift",
               hint="work on a new array; do not shift the input in place")  # fmt: skip
check_shifts(np.asarray(out), original, dy, dx, "random_shift(images, rng of seed 39, 1)")
T.assert_equal(str(np.asarray(out).dtype), "float32", name="dtype of the output (input float32)",
               hint="np.zeros(shape) makes float64: use np.zeros_like(images)")  # fmt: skip
T.assert_equal(
    random_shift(images, np.random.default_rng(0), max_shift=0), original,
    name="random_shift with max_shift=0", hint="use the max_shift argument, not a fixed 1",
)  # fmt: skip
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(14)
m = 2
images = rng.uniform(0.1, 1.0, size=(400, 2, 7, 9)).astype(np.float32)  # no zeros inside
original = images.copy()
reference = cl.train.random_shift(images.copy(), np.random.default_rng(15), max_shift=m)
r = np.random.default_rng(15)
dy, dx = r.integers(-m, m + 1, size=400), r.integers(-m, m + 1, size=400)
with T.forbid_calls("scipy.ndimage", "cnnlab.train", exercise="random_shift"), T.in_place(images):
    out = random_shift(images, np.random.default_rng(15), max_shift=m)
T.assert_shape(out, images.shape, name="random_shift output, images (400, 2, 7, 9)")
T.assert_equal(str(np.asarray(out).dtype), "float32", name="dtype of the output (input float32)")
T.assert_equal(images, original, name="input images after random_shift",
               hint="work on a new array; do not shift the input in place")  # fmt: skip
out = np.asarray(out)
offsets = []
for i in range(len(images)):
    match = [(p, q) for p in range(-m, m + 1) for q in range(-m, m + 1)
             if np.array_equal(out[i], shift_one(original[i], p, q))]  # fmt: skip
    offsets.append(match[0] if match else None)
if None not in offsets:
    T.assert_true(
        len(set(offsets)) > 1, f"all 400 images were shifted by the same offsets {offsets[0]}",
        hint="random_shift uses one offset for the whole batch: draw (dy, dx) for every image",
    )  # fmt: skip
    got_dy = np.array([o[0] for o in offsets])
    got_dx = np.array([o[1] for o in offsets])
    T.assert_true(np.mean(got_dy == got_dx) < 0.5,
                  "dy equals dx for most images: draw the two offsets separately")  # fmt: skip
    T.assert_equal(
        len(set(offsets)), (2 * m + 1) ** 2,
        name=f"number of distinct (dy, dx) among 400 images, max_shift={m}",
        hint=f"offsets must cover -{m}..{m} on both axes, both ends included "
        f"(rng.integers(-{m}, {m} + 1))",
    )  # fmt: skip
check_shifts(out, original, dy, dx, f"random_shift(400 images, rng of seed 15, {m})")
T.assert_equal(out, reference, name="random_shift versus cnnlab.train.random_shift")
# reproducible from the generator
again = random_shift(images, np.random.default_rng(15), max_shift=m)
T.assert_equal(again, out, name="random_shift twice with rng seed 15",
               hint="draw the offsets from rng, not from np.random")  # fmt: skip
small = rng.uniform(0.1, 1.0, size=(6, 3, 5, 4))
T.assert_equal(random_shift(small.copy(), rng, 0), small, name="random_shift with max_shift=0")
### END HIDDEN TESTS


# %% [markdown]
# Here are the same four digits, each shifted at random eight times by your function:

# %%
shifted = random_shift(np.repeat(digits, 8, axis=0), np.random.default_rng(1), max_shift=1)
# one picture: the 32 images in 4 rows of 8, each framed by a grey border of one pixel
framed = np.pad(shifted[:, 0], ((0, 0), (1, 1), (1, 1)), constant_values=0.5)
mosaic = framed.reshape(4, 8, 10, 10).transpose(0, 2, 1, 3).reshape(40, 80)
fig, ax = plt.subplots(figsize=(8, 4.2))
ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1)
ax.set_axis_off()
ax.set_title("Four digits (one per row), eight random shifts of at most 1 pixel each")
plt.show()

# %% [markdown]
# On 8x8 images one pixel is an eighth of the width, a large move; the digits stay perfectly
# readable, which is the test of a good augmentation.
#
# Does a convnet not know already that position does not matter? Convolutions are
# *equivariant* to shifts (a shifted input gives a shifted feature map) and max pooling
# forgives moves within its window, but the fully connected layers at the end see every
# position separately. The experiment below takes the "good fit" network of section 8 (trained
# without augmentation), trains a second one for the same number of epochs on freshly shifted
# images, and evaluates both on the validation images, as they are and shifted by your
# `random_shift`.

# %%
t0 = time.perf_counter()
shifted_model = build_convnet((1, 8, 8), 10, rng=np.random.default_rng(0))
state, rng = {}, np.random.default_rng(0)
for _ in range(good_epochs):  # as in section 8, with a freshly shifted copy at every epoch
    X_epoch = random_shift(X_fit, rng, max_shift=1)
    train_epoch(shifted_model, X_epoch, y_fit, lambda p, g: adam_step(p, g, state, 2e-3), 16, rng)
print(f"one training in {time.perf_counter() - t0:.1f} s")
X_val_shifted = random_shift(X_val, np.random.default_rng(123), max_shift=1)
results = {
    name: [evaluate(m, X_val, y_val)[1], evaluate(m, X_val_shifted, y_val)[1]]
    for name, m in [("trained on original images", good_model),
                    ("trained on shifted images", shifted_model)]
}  # fmt: skip
fig, ax = plt.subplots(figsize=(7, 3.6))
for k, (name, accs) in enumerate(results.items()):
    bars = ax.bar(np.arange(2) + (k - 0.5) * 0.38, accs, 0.38, label=name, color=f"C{k}")
    ax.bar_label(bars, fmt="%.2f")
ax.set_xticks([0, 1], ["original validation images", "validation images shifted by <= 1 px"])
ax.set_ylabel("validation accuracy")
ax.set_ylim(0, 1.1)
ax.set_title(f"Same network, {good_epochs} epochs each, with and without random shifts")
ax.legend(loc="lower left")
plt.show()
(plain, plain_shifted), (augmented, augmented_shifted) = results.values()
cl.claim("on the original images the two are within a few points", abs(plain - augmented),
         high=0.03)  # fmt: skip
cl.claim("without augmentation: about half the accuracy on shifted images",
         plain_shifted / plain, low=0.4, high=0.65)  # fmt: skip
cl.claim("with augmentation: only a few points lost", augmented - augmented_shifted,
         low=0.0, high=0.06)  # fmt: skip

# %% [markdown]
# On the original images the two networks are within a few points of each other: the digits
# of this data set were normalised in size and position when it was made
# ([UCI description](https://archive.ics.uci.edu/dataset/80)), so validation and test digits
# are rarely off centre. Move the images by a pixel and the network trained without
# augmentation loses about half of its accuracy, while the one trained on shifted images loses
# only a few points. Convolutions and pooling alone did not make the first network robust;
# augmentation taught the second an invariance the data alone did not show. On the standard
# split, whose test digits are centred too, shifts can therefore help only a little (we still
# use them at the end); on data where objects move around they are essential.
#
# We will not use dropout in the final model. On networks this small its effect is usually
# small (try
# it: rebuild the network with `nn.Sequential(*model.layers[:-1], nn.Dropout(0.3),
# model.layers[-1])` and compare validation accuracies); it pays off most in large fully
# connected layers, such as the 4,096-unit layers of AlexNet
# ([Krizhevsky et al., 2012](https://papers.nips.cc/paper_files/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html)),
# where it was first used at scale. Which regulariser helps, and how much, is an empirical
# question; the next notebook answers such questions systematically.

# %% [markdown]
# ## 10. Batch normalisation
#
# He initialisation gives every layer well-scaled inputs at the start, but training changes
# the weights, and with them the scale and offset of every layer's outputs. **Batch
# normalisation** ([Ioffe & Szegedy, 2015](https://arxiv.org/abs/1502.03167)) enforces a good
# scale throughout: for every channel it subtracts the mean and divides by the standard
# deviation computed over the mini-batch (over N, H and W for a convolution), then applies a
# learned scale $\gamma$ and shift $\beta$ per channel, so the network can still choose any
# scale it needs:
#
# $$ \hat x = \frac{x - \mu_\text{batch}}{\sqrt{\sigma^2_\text{batch} + \epsilon}},
#    \qquad y = \gamma\, \hat x + \beta . $$
#
# At test time there may be a single image, so the layer uses running averages of $\mu$ and
# $\sigma^2$ collected during training instead: another layer that behaves differently in
# train and eval mode. In practice batch normalisation allows larger learning rates and makes
# training much less sensitive to the initialisation. (Why it helps is still debated; the
# original "internal covariate shift" explanation has been questioned, e.g. by
# [Santurkar et al., 2018](https://arxiv.org/abs/1805.11604), who point to a smoother loss
# surface.) `cnnlab.nn.BatchNorm2d(C)` implements it; `cl.models.course_convnet(...,
# batchnorm=True)` puts one between every convolution and its ReLU.

# %%
bn_model = cl.models.course_convnet((1, 8, 8), 10, batchnorm=True, seed=0)
conv_out = bn_model.layers[0].forward(X_train[:256])
bn_out = bn_model.layers[1].forward(conv_out)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.4), sharey=True)  # one scale for both
channels = np.arange(conv_out.shape[1])
for ax, out, label in [(ax1, conv_out, "convolution output"), (ax2, bn_out, "after BatchNorm2d")]:
    ax.errorbar(channels, out.mean(axis=(0, 2, 3)), yerr=out.std(axis=(0, 2, 3)), fmt="o",
                capsize=3)  # fmt: skip
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("channel")
    ax.set_title(label)
ax1.set_ylabel("mean ± std over the batch")
fig.suptitle("Per-channel statistics of the first layer on 256 digits (untrained network)")
fig.subplots_adjust(top=0.83, wspace=0.06)
plt.show()
cl.claim("after BatchNorm2d every channel has mean 0",
         np.abs(bn_out.mean(axis=(0, 2, 3))).max(), high=1e-3)  # fmt: skip
cl.claim("after BatchNorm2d every channel has std 1",
         np.abs(bn_out.std(axis=(0, 2, 3)) - 1).max(), high=1e-2)  # fmt: skip

# %% [markdown]
# Before normalisation (left) every channel has its own offset and spread, set by chance at
# initialisation; after it (right) every channel has mean 0 and standard deviation 1 over the
# batch (with $\gamma = 1$, $\beta = 0$ at the start). Now the effect on training: plain SGD
# with a modest learning rate, the same network with and without batch normalisation, trained
# with your `train_epoch` and `sgd_step` on 500 images.

# %%
epochs = 2 if cl.is_grading() else 6
t0 = time.perf_counter()
bn_curves = {}
for label, use_bn in [("without batch norm", False), ("with batch norm", True)]:
    model = cl.models.course_convnet((1, 8, 8), 10, batchnorm=use_bn, seed=0)
    rng = np.random.default_rng(0)
    bn_curves[label] = [
        train_epoch(model, X_fit[:500], y_fit[:500], lambda p, g: sgd_step(p, g, 0.02), 32, rng)
        for _ in range(epochs)
    ]
    bn_curves[label + ", validation accuracy"] = evaluate(model, X_val, y_val)[1]
print(f"two trainings in {time.perf_counter() - t0:.1f} s")
fig, ax = plt.subplots(figsize=(6.5, 3.6))
for label in ("without batch norm", "with batch norm"):
    acc = bn_curves[label + ", validation accuracy"]
    ax.plot(np.arange(1, epochs + 1), bn_curves[label], marker="o",
            label=f"{label} (validation accuracy {acc:.1%})")  # fmt: skip
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.set_title("SGD with lr = 0.02 on 500 digits")
ax.legend()
ax.grid(alpha=0.3)
plt.show()
plain_bn, with_bn = bn_curves["without batch norm"], bn_curves["with batch norm"]
cl.claim("batch norm: the loss falls much faster (epoch 3: less than 60%)",
         with_bn[2] / plain_bn[2], high=0.6)  # fmt: skip
cl.claim("batch norm: a clearly higher validation accuracy (10 points or more)",
         bn_curves["with batch norm, validation accuracy"]
         - bn_curves["without batch norm, validation accuracy"], low=0.1)  # fmt: skip

# %% [markdown]
# With the same learning rate, the normalised network reduces the loss much faster in the
# first epochs and ends with a clearly higher validation accuracy. Batch norm is standard in
# deeper convnets. Our final digits network is shallow and trains well with Adam without it,
# so we leave it out there and keep the model as simple as the task allows.


# %% [markdown]
# ## 11. The final model, and a strong classical baseline
#
# Time to put everything together and train on all 1,437 training images. A fair judge of the
# result is a good classical method on the same split. For small images like these the
# **support vector machine with an RBF kernel** is hard to beat: it compares the flattened
# pixels of an image with stored training examples through
# $k(x, x') = \exp(-\gamma \lVert x - x' \rVert^2)$ and needs no feature design at all
# ([scikit-learn's SVC](https://scikit-learn.org/stable/modules/svm.html)). With its default
# settings it reaches about 98.3% on this split, 354 of the 360 test digits: 6 wrong.
#
# The exercise below asks your convnet for **at least 97.5%**: 351 digits right, or at most
# 9 of the 360 wrong, three more than the SVM gets wrong. The mark says that your training
# works, not that your convnet beats the SVM. Be clear about what a digit or two means here.
# On 360 images one digit is 0.28%, and an accuracy near 98.5% has a binomial standard error
# of $\sqrt{0.985 \cdot 0.015 / 360} \approx 0.65\%$, more than two digits: another split of
# the data (or another seed) moves either model by about that much. A digit or two more does
# not show that one method is better, and a mark set at what a good run reaches would fail
# good runs by bad luck. At the end we compare the two properly, and give the SVM the benefit
# of tuning.
#
# A recipe that gets there, in the terms of this notebook: the default network of section 2
# (13,706 parameters); Adam with batches of 16 for $E = 15$ epochs; at every epoch a fresh
# training set in which each image is shifted by at most one pixel with probability 1/2 (so
# about half of them; the others stay as they are, and the network also sees the digits as
# they will be tested); and a learning rate that starts at $\eta_0 = 3 \cdot 10^{-3}$ and
# decays to almost zero along a half cosine,
# $\eta_e = \eta_0 \cdot \tfrac12 \left(1 + \cos(\pi e / E)\right)$ for the epochs
# $e = 0, 1, \dots, E - 1$ ([Loshchilov & Hutter, 2017](https://arxiv.org/abs/1608.03983)).
# The large early steps explore, the small late ones settle into a minimum instead of jumping
# around it, which makes the final accuracy much less dependent on luck. Less, not
# independent: the seed still moves the result by a few test digits, and so do choices the
# recipe leaves open (shifting exactly half of the images, or starting the cosine at $e = 1$).
# We ran the recipe under each of these readings with ten seeds: no run got more than 6 of
# the 360 digits wrong, three fewer than the mark allows. The test also gives a run that falls
# short a second chance with another seed.
#
# ### Exercise 8: `train_convnet` (4 points)
#
# Write the complete training: build the network with your `build_convnet` (its weights drawn
# from `np.random.default_rng(seed)`), train it with your `adam_step` and `train_epoch` (and
# your `random_shift` if you use augmentation), and return the trained model. Choose the
# number of epochs, the learning rates and the batch size yourself; the recipe above works.
# After every epoch, if `on_epoch_end` is not None, call it with three arguments: the epoch
# index (0 for the first epoch, then 1, 2, ...), the model, and the loss `train_epoch`
# returned for that epoch, so that the demonstration below can draw learning curves.
#
# The test trains your model with `seed=0` on the default split and checks that the **test
# accuracy is at least 97.5%**: at most 9 of the 360 test digits wrong. If that run falls
# short, it trains once more with `seed=1`, and one of the two must reach the mark. Each run
# must finish within about 30 seconds on a laptop (the grader stops a call after 60 s); the
# recipe above takes a few seconds. Do not use
# `cnnlab.train`, `cnnlab.optim` or `cnnlab.models`: this exercise is about your own pieces
# working together. While the test runs, a mistake in one of your earlier functions
# (`build_convnet`, `adam_step`, `train_epoch`, `random_shift` and the others) costs only its
# own exercise: the test gives `train_convnet` reference versions with the same contracts
# instead of yours wherever yours could be wrong. So call them by their names, with the
# arguments their exercises define.
#
# <details><summary>Hint 1</summary>
#
# Create one generator from `seed` and use it for everything random: the weights, the
# shuffling and the shifts, so that one seed fixes the whole run. Create one Adam `state` dict
# before the first epoch and keep it for the whole training: the running averages must carry
# over from epoch to epoch.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# `train_epoch` takes the optimiser as `step_fn`; to change the learning rate between epochs,
# build a new step function at every epoch, `lambda p, g: adam_step(p, g, state, lr)`, with
# this epoch's rate and the same `state`. To pick, image by image, the original or the shifted
# version, draw a boolean mask of length $N$ and let `np.where` choose (add three axes to the
# mask so that it broadcasts over `(N, C, H, W)`).
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "train_convnet", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_convnet(X, y, seed=0, on_epoch_end=None):
    """Build and train the digits convnet with your own building blocks.

    Parameters
    ----------
    X : ndarray, shape (N, C, H, W)
        Training images, e.g. (1437, 1, 8, 8) from ``cl.data.load_digits()``.
    y : ndarray of int, shape (N,)
        Labels 0..K-1 (K = y.max() + 1).
    seed : int
        Seeds everything random: initial weights, shuffling, augmentation.
    on_epoch_end : callable, optional
        Called after every epoch with the arguments ``(epoch, model, loss)``: the epoch index
        counting from 0, the model, and the value ``train_epoch`` returned.

    Returns
    -------
    model : cnnlab.nn.Sequential
        The trained network, built by ``build_convnet``.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    num_classes = int(np.max(y)) + 1
    model = build_convnet(X.shape[1:], num_classes, rng=rng)
    state = {}
    epochs, lr0 = 15, 3e-3
    for epoch in range(epochs):
        lr = lr0 * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        shifted = random_shift(X, rng, max_shift=1)
        keep = rng.random(len(X)) < 0.5  # each image stays as it is with probability 1/2
        X_epoch = np.where(keep[:, None, None, None], X, shifted)
        loss = train_epoch(
            model, X_epoch, y, lambda p, g, lr=lr: adam_step(p, g, state, lr), 16, rng
        )
        if on_epoch_end is not None:
            on_epoch_end(epoch, model, loss)
    return model
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_train_convnet", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
import time

import numpy as np

import cnnlab as cl
import cnnlab.testing as T
from cnnlab import nn

# Exercises 1 to 7 done by cnnlab (same contracts), so that this test grades train_convnet on
# its own: a mistake in an earlier exercise costs only that exercise.


def batches_reference(X, y, batch_size, shuffle=True, rng=None):
    order = np.random.default_rng(rng).permutation(len(y)) if shuffle else np.arange(len(y))
    return [(X[i], y[i]) for i in np.array_split(order, range(batch_size, len(y), batch_size))]


references = dict(
    he_init=lambda shape, fan_in, rng: cl.nn.he_normal(rng, shape, fan_in, "float64"),
    build_convnet=cl.models.course_convnet,
    iterate_minibatches=batches_reference,
    sgd_step=cl.optim.sgd_step,
    momentum_step=cl.optim.momentum_step,
    rmsprop_step=cl.optim.rmsprop_step,
    adam_step=cl.optim.adam_step,
    train_epoch=cl.train.train_epoch,
    evaluate=cl.train.evaluate,
    random_shift=cl.train.random_shift,
)
X_train, y_train, X_test, y_test = cl.data.load_digits()
# A short rehearsal on 200 images: the model must fit them and report every epoch.
calls = []
with T.reference_helpers(**references):
    small = train_convnet(
        X_train[:200], y_train[:200], seed=0, on_epoch_end=lambda e, m, loss: calls.append(e)
    )
T.assert_true(isinstance(small, nn.Sequential),
              f"train_convnet returned a {type(small).__name__}, not a cnnlab.nn.Sequential")  # fmt: skip
T.assert_shape(small.forward(X_train[:5]), (5, 10), name="scores of the trained model")
T.assert_true(len(calls) > 0, "train_convnet never called on_epoch_end",
              hint="call on_epoch_end(epoch, model, loss) after every epoch")  # fmt: skip
T.assert_equal(calls, list(range(len(calls))), name="epochs passed to on_epoch_end",
               hint="call on_epoch_end(epoch, model, loss) once per epoch, epoch = 0, 1, ...")  # fmt: skip
fit_acc = float(np.mean(cl.train.predict(small, X_train[:200]) == y_train[:200]))
T.assert_true(fit_acc >= 0.9, f"training accuracy {fit_acc:.1%} on the 200 training images "
              "(at least 90% expected): is the model learning?")  # fmt: skip
# The hidden part trains on all 1,437 training images with seed=0 (and, if that run falls
# short, once more with seed=1) and checks that cl.train.predict gets at least 97.5% of the
# test digits right: at most 9 of the 360 wrong.
### BEGIN HIDDEN TESTS
# Wrong test digits (of 360) of the recipe, four readings x seeds 0-9, measured (last on
# 2026-12-02) with benchmarks/fairness_03.py (prob: each image shifted with probability 1/2, half: exactly
# N // 2 of them; e0: cosine over epochs 0..E-1, e1: over 1..E):
#   seed      0  1  2  3  4  5  6  7  8  9
#   prob-e0   2  3  5  6  4  4  4  5  6  4
#   prob-e1   5  4  5  6  3  3  3  4  6  4
#   half-e0   6  2  4  3  1  3  2  3  5  5
#   half-e1   6  4  3  3  1  4  2  4  4  6
# The mark allows 9 wrong. Every run passes at the first try, the worst with 6 wrong: a margin
# of 3 errors, so the second try below (seed=1, for a run that falls short with seed=0) never
# decides. One run's result moves by a few digits with the seed (the default SVM misses 6,
# the tuned one 3): a mark at 98.5% (5 wrong) would fail good runs, one at 98% (7 wrong) would
# leave a margin of 1. (The former recipe, 30 epochs in batches of 32, had 5 wrong at worst, at
# about twice the cost; 12 epochs in batches of 16 had 7 wrong with seed 8 of prob-e0.)
runs = []
for seed in (0, 1):
    epochs_seen = []
    start = time.perf_counter()
    with T.forbid_calls("cnnlab.train", "cnnlab.optim", "cnnlab.models",
                        exercise="train_convnet"), T.reference_helpers(**references):  # fmt: skip
        model = train_convnet(
            X_train,
            y_train,
            seed=seed,
            on_epoch_end=lambda e, m, loss, seen=epochs_seen: seen.append(loss),
        )
    seconds = time.perf_counter() - start
    T.assert_true(
        isinstance(model, nn.Sequential),
        f"train_convnet returned a {type(model).__name__}, expected the cnnlab.nn.Sequential "
        "built by build_convnet",
    )
    T.assert_true(len(epochs_seen) > 0, "train_convnet never called on_epoch_end",
                  hint="call on_epoch_end(epoch, model, loss) after every epoch")  # fmt: skip
    T.assert_finite(epochs_seen, name="losses passed to on_epoch_end")
    wrong = int(np.sum(cl.train.predict(model, X_test) != y_test))
    runs.append(f"{wrong} wrong with seed={seed} ({len(epochs_seen)} epochs, {seconds:.0f} s)")
    if wrong <= 9:
        break
T.assert_true(
    wrong <= 9,
    f"test accuracy below 97.5%: {'; '.join(runs)}; at most 9 of the 360 test digits may be wrong",
    hint="follow the recipe: the default network, 15 epochs of Adam with batches of 16, each "
    "image shifted by up to 1 pixel with probability 1/2 at every epoch, lr from 3e-3 down to "
    "0 along a half cosine",
)
### END HIDDEN TESTS


# %% [markdown]
# Your model, trained once more for the record. The callback evaluates the test set after
# every epoch, only to draw the curve: no choice in the recipe was made by looking at it.

# %%
curve = {"train_loss": [], "test_acc": []}


def record(epoch, model, loss):
    curve["train_loss"].append(loss)
    curve["test_acc"].append(evaluate(model, X_test, y_test)[1])


n_final = 300 if cl.is_grading() else len(X_train)  # the grader only needs a quick run here
t0 = time.perf_counter()
final_model = train_convnet(X_train[:n_final], y_train[:n_final], seed=0, on_epoch_end=record)
cnn_seconds = time.perf_counter() - t0
cnn_acc = evaluate(final_model, X_test, y_test)[1]
print(f"trained in {cnn_seconds:.1f} s; test accuracy {cnn_acc:.2%}")
fig = cl.plot.training_curves(curve, title="Final training: loss and test accuracy per epoch")
fig.axes[1].set_ylim(0.9, 1.0)
plt.show()
accs = np.array(curve["test_acc"])
half = len(accs) // 2
cl.claim("the recipe takes a few seconds (a bound for slow and busy machines)", cnn_seconds,
         high=30)  # fmt: skip
cl.claim("13,706 parameters", final_model.num_params(), equals=13706)
cl.claim("early on the test accuracy jumps by a percent or more",
         np.abs(np.diff(accs[:half])).max(), low=0.01)  # fmt: skip
cl.claim("the accuracy settles: the last five epochs within two test images",
         np.ptp(np.round(accs[-5:] * len(y_test))), high=2)  # fmt: skip
cl.claim("the loss keeps falling", curve["train_loss"][-1], high=curve["train_loss"][half])

# %% [markdown]
# Early on, with large steps, the test accuracy jumps by a percent or more from one epoch to
# the next; as the cosine schedule lowers the learning rate, the loss keeps falling and the
# accuracy settles. Stopping at a random epoch of the first half would have been a lottery.
#
# Now the baseline, in three versions: the RBF SVM with scikit-learn's default settings; one
# whose penalty $C$ (1, 3 or 10) is chosen by 3-fold cross-validation on the training set
# only; and the default SVM trained on the training set plus one shifted copy of every image,
# the kind of data the convnet saw. As a last column, each model also classifies the test
# digits shifted by at most one pixel.

# %%
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

flat = lambda X: X.reshape(len(X), -1)  # noqa: E731
X_test_shifted = random_shift(X_test, np.random.default_rng(7), max_shift=1)
X_more = np.concatenate([X_train, random_shift(X_train, np.random.default_rng(8))])
y_more = np.concatenate([y_train, y_train])
rows = []
t0 = time.perf_counter()
default_svm = SVC(kernel="rbf").fit(flat(X_train), y_train)
rows.append(("RBF SVM, default C=1", default_svm, time.perf_counter() - t0))
t0 = time.perf_counter()
search = GridSearchCV(SVC(kernel="rbf"), {"C": [1, 3, 10]}, cv=3).fit(flat(X_train), y_train)
rows.append((f"RBF SVM, tuned C={search.best_params_['C']}", search.best_estimator_,
             time.perf_counter() - t0))  # fmt: skip
t0 = time.perf_counter()
shifts_svm = SVC(kernel="rbf").fit(flat(X_more), y_more)
rows.append(("RBF SVM, + shifted copies", shifts_svm, time.perf_counter() - t0))

table = {}
for name, svm, seconds in rows:
    pred = svm.predict(flat(X_test))
    stored = svm.support_vectors_.size + svm.dual_coef_.size + svm.intercept_.size
    shifted_acc = float(np.mean(svm.predict(flat(X_test_shifted)) == y_test))
    table[name] = (pred, np.mean(pred == y_test), shifted_acc, seconds, stored)
cnn_pred = cl.train.predict(final_model, X_test)
table["convnet (yours)"] = (
    cnn_pred, cnn_acc, evaluate(final_model, X_test_shifted, y_test)[1], cnn_seconds,
    final_model.num_params(),
)  # fmt: skip
print(f"{'model':<26} {'test acc':>9} {'errors':>7} {'shifted':>8} {'fit time':>9} {'stored':>8}")
for name, (pred, acc, shifted_acc, seconds, stored) in table.items():
    errors = int(np.sum(pred != y_test))
    print(f"{name:<26} {acc:>9.2%} {errors:>7} {shifted_acc:>8.2%} {seconds:>8.1f}s "
          f"{stored:>8,}")  # fmt: skip

fig, axes = plt.subplots(1, 2, figsize=(13, 4.4), gridspec_kw={"width_ratios": [1.4, 2]})
names = list(table)
for k, (label, col) in enumerate([("original test digits", 1), ("shifted by <= 1 px", 2)]):
    bars = axes[0].bar(np.arange(4) + (k - 0.5) * 0.38, [table[n][col] for n in names], 0.38,
                       label=label, color=f"C{k}")  # fmt: skip
    axes[0].bar_label(bars, fmt="%.3f", fontsize=7, padding=1)
axes[0].axhline(0.975, color="k", ls="--", lw=1, label="97.5% target")
axes[0].set_xticks(range(4), ["SVM default", "SVM tuned", "SVM + shifts", "convnet"])
axes[0].set_ylim(0, 1.1)
axes[0].set_ylabel("test accuracy")
axes[0].set_title("360 test digits")
axes[0].legend(loc="lower left", fontsize=8)
width = 0.2
for k, name in enumerate(names):
    pred = table[name][0]
    recall = [np.mean(pred[y_test == d] == d) for d in range(10)]
    axes[1].bar(np.arange(10) + (k - 1.5) * width, recall, width, label=name, color=f"C{k + 2}")
axes[1].set_xticks(range(10))
axes[1].set_ylim(0.85, 1.01)
axes[1].set_xlabel("digit")
axes[1].set_ylabel("fraction recognised")
axes[1].set_title("Per-class accuracy on the original test digits")
axes[1].legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=4, fontsize=8)
fig.subplots_adjust(wspace=0.18)
plt.show()

svm_right = int(np.sum(table["RBF SVM, default C=1"][0] == y_test))
tuned_acc = next(table[n][1] for n in names if n.startswith("RBF SVM, tuned"))
_, svm_acc, svm_shifted, _, svm_stored = table["RBF SVM, default C=1"]
shifts_shifted, shifts_stored = table["RBF SVM, + shifted copies"][2::2]
cnn_shifted = table["convnet (yours)"][2]
cl.claim("the default SVM: about 98.3%, 354 of 360", svm_right, equals=354)
mark = round(0.975 * 360)  # digits right for 97.5%
cl.claim("the SVM: 6 wrong", 360 - svm_right, equals=6)
cl.claim("97.5%: 351 digits right", mark, equals=351)
cl.claim("at most 9 of the 360 wrong", 360 - mark, equals=9)
cl.claim("three more than the SVM gets wrong", svm_right - mark, equals=3)
cl.claim("standard error about 0.65%", np.sqrt(0.985 * 0.015 / 360), low=0.006, high=0.007)
cl.claim("the convnet clears 97.5%", cnn_acc, low=0.975)
cl.claim("in fact more than 98.5%", cnn_acc, low=0.985)
cl.claim("and beats the default SVM", cnn_acc - svm_acc, low=1 / 360)
cl.claim("the tuned SVM is as accurate within the noise", abs(cnn_acc - tuned_acc),
         high=0.0065)  # fmt: skip
missed_by_any = np.any([table[name][0] != y_test for name in names], axis=0)
print("classes of the test digits some model gets wrong:", sorted(set(y_test[missed_by_any])))
cl.claim(
    "their errors fall in a handful of classes (of ten)", len(set(y_test[missed_by_any])), high=6
)  # 5 on AMD EPYC; the convnet's one error could move with the BLAS kernel
cl.claim("the SVM falls to about 45% on shifted digits", svm_shifted, low=0.4, high=0.5)
cl.claim("the convnet loses only about five points", cnn_acc - cnn_shifted, low=0.02,
         high=0.07)  # fmt: skip
cl.claim("shifted copies: the SVM recovers most of the loss",
         (shifts_shifted - svm_shifted) / (svm_acc - svm_shifted), low=0.75)  # fmt: skip
cl.claim("more than twice as many stored images", shifts_stored / svm_stored, low=2)
cl.claim("thousands of stored images with augmentation", len(shifts_svm.support_), low=1000)
cl.claim("the SVM stores hundreds of training images", len(default_svm.support_), low=300,
         high=999)  # fmt: skip
cl.claim("the convnet: under 20,000 weights", final_model.num_params(), high=20_000)

# %% [markdown]
# Read the table and the figure together. The convnet clears the 97.5% mark, in fact gets
# more than 98.5% of the test digits right, and beats the SVM with default settings; the tuned
# SVM is as accurate within the standard error discussed above, on these centred 8x8
# thumbnails where there is little spatial structure for convolutions to exploit. Their few
# errors fall in a handful of classes (right panel; the convnet's are pictured below): some
# 8x8 digits are ambiguous for any method. The shifted test digits
# show a large difference, and its cause is the training data, not the architecture. The SVM
# compares raw pixels with stored training images, so a one-pixel move makes a digit look like
# a different one: it falls to about 45%. The convnet loses only about five points because it
# was trained on shifted copies; in section 9, the same network trained without them lost
# about half of its accuracy on shifted digits, filters and pooling notwithstanding. Give the SVM the same
# kind of data, the training set plus one shifted copy of each image, and it recovers most of
# that loss too (third row), at the price of more than twice as many stored images. That is
# where the convnet has the edge: under 20,000 weights however much data it was trained on,
# against the SVM's hundreds of stored training images (thousands, with augmentation), whose
# training cost grows at least with the square of their number. On larger images (MNIST, CIFAR)
# convnets pull far ahead.
#
# Finally, the test digits the convnet gets wrong, with its prediction and the truth:

# %%
wrong = np.flatnonzero(cnn_pred != y_test)
if len(wrong):
    fig = cl.plot.image_grid(
        X_test[wrong],
        titles=[f"pred {cnn_pred[i]}, true {y_test[i]}" for i in wrong],
        ncols=min(len(wrong), 8),
        title="Test digits misclassified by the convnet",
    )
    plt.show()
else:
    print("no test digit is misclassified")

# %% [markdown]
# Look at them with the prediction in mind: at 8x8 resolution a stroke more or less, or a
# loop that is not closed, is often all that separates one class from another.
#
# ## Summary
#
# - **Initialisation** sets the scale of the signal through depth; He's
#   $\sigma = \sqrt{2/n_\text{in}}$ keeps ReLU networks stable.
# - A convnet is a stack of blocks `[[CONV -> RELU]*N -> POOL]*M -> [FC -> RELU]*K -> FC`
#   whose shapes and parameter counts you can work out by hand; the last layer outputs raw
#   scores.
# - Training loops over shuffled **mini-batches**; an **epoch** visits every example once.
# - **SGD** follows the gradient, **momentum** accumulates it, **RMSProp** normalises every
#   coordinate's step by the root mean square of its recent gradients, and **Adam** does both,
#   with bias correction for the first steps.
# - Two **sanity checks** (initial loss near $\ln K$; overfitting 50 examples) catch most bugs
#   before a long run.
# - **Learning curves** on a validation set tell under-fitting from over-fitting.
# - **Dropout** and **data augmentation** regularise; augmentations must keep the label
#   (shifts yes, mirror images no, for digits). **Batch normalisation** keeps every layer's
#   inputs well scaled and allows faster training.
# - Your own pieces, put together, beat an out-of-the-box RBF SVM on the digits and match a
#   tuned one within the noise of 360 test images. Trained on shifted copies, they lose little
#   on shifted digits; augmentation, not the architecture, buys that (an SVM given the same
#   augmentation recovers most of it too).
#
# **Next**: in 04-hyperparameters you will tune learning rates, batch sizes, widths and
# regularisation systematically (random search rather than grids, learning-rate schedules,
# early stopping), and in 05-visualization you will look inside the trained network at what
# its filters and feature maps have learned.
