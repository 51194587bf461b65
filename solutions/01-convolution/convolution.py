# %% [markdown]
# # 01 · Convolution: from pixels to a vectorised convolution layer
#
# **When you finish this notebook you can**
#
# - treat an image as an array and know the shape conventions: (H, W), (C, H, W) and a batch
#   (N, C, H, W);
# - explain why a fully connected layer is a poor fit for images, and which two assumptions a
#   convolutional layer adds (local connectivity, parameter sharing);
# - compute a cross-correlation and a convolution by hand and in code, and say how they differ;
# - design small kernels that blur, sharpen or find edges, and try them on a real photograph;
# - predict the output size of a convolution from its input size, kernel size, padding and stride,
#   and count its parameters;
# - implement a convolutional layer twice: with plain loops, then with `im2col` and a single matrix
#   multiply, and measure how much faster the second one is.
#
# **Builds on** NumPy indexing, slicing, broadcasting and `reshape`, and the fully
# connected layer `y = W x + b` (a matrix multiply plus a bias). Nothing else is assumed.
#
# **Time:** about 2.5 hours. Every cell runs in a few seconds.
#
# **Exercises (20 points):** `correlate2d` (2), `convolve2d` (1), `edge_kernels` (2), `zero_pad`
# (1), `conv_output_size` (2), `conv_forward_naive` (4), `conv_param_count` (1),
# `dense_param_count` (1), `im2col` (3), `conv_forward_im2col` (3). The points are also written
# above each exercise. In each answer cell, replace `raise NotImplementedError()` with your code
# and keep the function's name and signature. Under each answer cell a test cell checks a small
# example that you can verify by hand; the autograder runs more (hidden) tests on random shapes,
# so a function that only passes the visible example is not finished yet. Exercises that ask you
# to write the loops or the `im2col` yourself earn nothing if a library does the work
# (`scipy.signal`, `scipy.ndimage`, `np.convolve`, `np.correlate` or `cnnlab.layers`); the test
# tells you so. Each exercise is graded on its own: while the test of an exercise that builds on
# earlier ones runs (`conv_forward_naive` uses your `zero_pad` and `conv_output_size`), those
# earlier answers are replaced by reference versions, so a mistake costs points in its own
# exercise only.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import time

import matplotlib.pyplot as plt
import numpy as np

import cnnlab as cl

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1. Images are arrays of numbers
#
# To a computer a grayscale image is a table of brightness values, one per pixel: an array of
# shape (H, W), with H rows and W columns. Image files usually store each value as an unsigned
# 8-bit integer from 0 (black) to 255 (white). Before computing with them we convert to floating
# point numbers, here scaled to [0, 1]: `uint8` arithmetic wraps around silently (200 + 100 gives
# 44), and the weights of a network are real numbers anyway.
#
# A colour image has three such tables, one per colour *channel* (red, green, blue). This course
# stores the channel first, so a colour image has shape (C, H, W) with C = 3, and a *batch* of N
# images has shape **(N, C, H, W)** (the "NCHW" layout that PyTorch also uses). The value
# `x[n, c, i, j]` is the intensity of channel `c` at row `i`, column `j` of image `n`.
#
# `cl.data.sample_image` loads a photograph that ships with scikit-learn (no download needed).

# %%
photo_rgb = cl.data.sample_image("china", gray=False)  # (3, H, W), floats in [0, 1]
photo_gray = np.tensordot([0.299, 0.587, 0.114], photo_rgb, axes=1)  # luminance, (H, W)


def shrink(img, k):
    """Average non-overlapping k x k blocks of the last two axes (a smaller copy for fast demos)."""
    h, w = img.shape[-2] // k, img.shape[-1] // k
    img = img[..., : h * k, : w * k]
    return img.reshape(img.shape[:-2] + (h, k, w, k)).mean(axis=(-3, -1))


print(
    "colour photo:",
    photo_rgb.shape,
    photo_rgb.dtype,
    f"values {photo_rgb.min():.2f}..{photo_rgb.max():.2f}",
)
print("gray photo:  ", photo_gray.shape)

as_bytes = np.array([200], dtype=np.uint8)
wrapped = (as_bytes + np.uint8(100))[0]
print("uint8:  200 + 100 =", wrapped, " (wrapped around modulo 256)")
print("float:  200 + 100 =", (as_bytes.astype(np.float64) + 100)[0])
cl.claim("200 + 100 gives 44 in uint8", int(wrapped), equals=44)

# a batch of two crops, NCHW
batch = np.stack([photo_rgb[:, 100:164, 200:264], photo_rgb[:, 250:314, 400:464]])
print("batch:", batch.shape, "= (N, C, H, W); batch[1, 0, 5, 7] =", round(batch[1, 0, 5, 7], 3))

# %%
crop = np.round(photo_gray[160:168, 300:308] * 255).astype(int)  # an 8 x 8 patch as 0..255

fig, axes = plt.subplots(1, 5, figsize=(16, 3.4))
axes[0].imshow(photo_rgb.transpose(1, 2, 0))  # matplotlib wants (H, W, 3)
axes[0].add_patch(plt.Rectangle((300, 160), 8, 8, fill=False, edgecolor="yellow", lw=2))
axes[0].set_title(f"colour photo {photo_rgb.shape}")
for c, name in enumerate(["red", "green", "blue"]):
    axes[c + 1].imshow(photo_rgb[c], cmap="gray", vmin=0, vmax=1)
    axes[c + 1].set_title(f"channel {c} ({name})")
axes[4].imshow(crop, cmap="gray", vmin=0, vmax=255)
for i in range(8):
    for j in range(8):
        axes[4].text(j, i, crop[i, j], ha="center", va="center", fontsize=7,
                     color="black" if crop[i, j] > 110 else "white")  # fmt: skip
axes[4].set_title("8 x 8 gray patch (yellow box), 0..255")
for ax in axes:
    ax.set_xlabel("column j")
    ax.set_ylabel("row i")
fig.suptitle("An image is C grids of numbers")
fig.tight_layout()
plt.show()

# %% [markdown]
# **What to see.** Each channel on its own is just a gray image: the sky is bright in all three,
# while the red pillars and railings are lighter in channel 0 than in the other two. The patch
# on the right (the gray version of the yellow box) is what the computer really stores: a grid
# of numbers, nothing more. It is shown as the file's 0..255 values; the network gets them
# divided by 255.
#
# ## 2. Why fully connected layers do not scale to images
#
# A fully connected (dense) layer flattens the image into one long vector and gives every output
# neuron one weight per input value. For a tiny 32 x 32 colour image that is already
# 32 · 32 · 3 = **3,072 weights for a single neuron**; a 224 x 224 photo needs 150,528 per neuron,
# and a layer of a thousand neurons would hold 150 million numbers. Two problems follow: so many
# parameters need a lot of data and memory to train, and the layer ignores what we know about
# images. It treats pixel (0, 0) and pixel (0, 1) as unrelated inputs, and a cat in the top-left
# corner and the same cat in the centre are seen by entirely different weights.

# %%
sides = np.array([28, 32, 64, 128, 224, 512])
dense_weights = sides * sides * 3  # one dense neuron looks at every value of an RGB image
conv_weights = np.full(sides.shape, 3 * 3 * 3)  # one 3 x 3 filter over 3 channels

fig, ax = plt.subplots(figsize=(6.5, 3.8))
ax.loglog(sides, dense_weights, "o-", label="one dense neuron: H * W * 3")
ax.loglog(sides, conv_weights, "s-", label="one 3 x 3 conv filter: 3 * 3 * 3")
for s, n in zip(sides[1:], dense_weights[1:]):
    ax.annotate(f"{n:,}", (s, n), textcoords="offset points", xytext=(-12, 7), fontsize=8)
ax.set_xticks(sides, [str(s) for s in sides])
ax.minorticks_off()
ax.set_xlabel("image side H = W (pixels)")
ax.set_ylabel("weights per unit")
ax.set_title("Weights of one unit looking at an RGB image")
ax.legend()
ax.grid(alpha=0.3, which="both")
plt.show()
cl.claim("3,072 weights for a 32 x 32 colour image", int(dense_weights[1]), equals=3072)
cl.claim("150,528 weights per neuron for 224 x 224", int(dense_weights[4]), equals=150_528)
cl.claim(
    "a thousand such neurons: 150 million", 1000 * int(dense_weights[4]), low=150e6, high=151e6
)
cl.claim("a conv filter has 27 weights", int(conv_weights[0]), equals=27)

# %% [markdown]
# **What to see.** A dense neuron's weight count grows with the number of pixels (the slope-2
# line on this log-log plot), while a convolution filter has 27 weights whatever the image size.
#
# ## 3. Local connectivity and parameter sharing
#
# A convolutional layer makes two assumptions about images (see the
# [CS231n notes on convolutional networks](https://cs231n.github.io/convolutional-networks/)):
#
# 1. **Local connectivity.** The things worth detecting first (an edge, a corner, a spot of
#    colour) depend on a small neighbourhood. So each output unit looks only at a small window of
#    the input, say 3 x 3 pixels, through all the channels. That window is its *receptive field*.
# 2. **Parameter sharing.** A detector that is useful in one place is useful everywhere, so every
#    position uses *the same* weights. A layer is then described by a small *kernel* (or *filter*)
#    that slides over the image; the output at each position is the dot product of the kernel with
#    the window under it, plus a bias. The grid of these outputs is a *feature map*.
#
# A useful consequence: if the input shifts, the feature map shifts with it (the layer is
# *translation equivariant*), because the same weights are applied everywhere. This holds, away
# from the image border where content enters and leaves, for windows that move one pixel at a
# time (stride 1, section 8); with a larger stride only shifts by a multiple of the stride carry
# over, as section 5 checks.
#
# **Where the two assumptions come from.** They were borrowed from the visual cortex. Recording
# single neurons in the cat's primary visual cortex, Hubel and Wiesel found cells that respond
# only to a stimulus inside a small region of the visual field (the cell's receptive field, the
# word we use above) and only to a particular pattern there, such as an edge at one orientation;
# neighbouring cells cover neighbouring regions with the same kind of preference, and "complex"
# cells further on respond to that pattern wherever it falls within a larger region
# ([Hubel and Wiesel, 1962](https://doi.org/10.1113/jphysiol.1962.sp006837)). Fukushima's
# neocognitron turned that picture into a layered network: layers of local feature detectors,
# each detector repeated across the image, alternating with layers that tolerate small shifts
# ([Fukushima, 1980](https://doi.org/10.1007/BF00344251)). Convolution and pooling are the same
# two ideas; LeCun and colleagues added training by backpropagation, the subject of notebooks 02
# and 03 ([LeCun et al., 1998](https://doi.org/10.1109/5.726791)).
#
# **Why the field took notice.** In the 2012 ImageNet challenge (1.2 million training photos,
# 1000 classes) a convolutional network trained on two GPUs, AlexNet, cut the top-5 error to about
# 15 %, where the best entry without a convnet stood at about 26 %
# ([Krizhevsky, Sutskever and Hinton, 2012](https://papers.nips.cc/paper/4824-imagenet-classification-with-deep-convolutional-neural-networks)).
# Its building blocks are the ones you implement in this course; its first layer reappears in
# section 8.
#
# The figure draws the weights of four units over a 10 x 10 input: two dense neurons and two
# convolution units at different output positions.

# %%
rng = np.random.default_rng(0)
shared_kernel = rng.uniform(-2, 2, size=(3, 3))
panels = {
    "dense neuron A": rng.uniform(-2, 2, size=(10, 10)),
    "dense neuron B": rng.uniform(-2, 2, size=(10, 10)),
    "conv unit at (1, 1)": np.full((10, 10), np.nan),  # NaN: no connection (drawn gray)
    "conv unit at (5, 6)": np.full((10, 10), np.nan),
}
panels["conv unit at (1, 1)"][1:4, 1:4] = shared_kernel
panels["conv unit at (5, 6)"][5:8, 6:9] = shared_kernel

fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
for ax, (title, weights) in zip(axes, panels.items()):
    ax.set_facecolor("0.8")
    im = ax.imshow(weights, cmap="RdBu_r", vmin=-2, vmax=2)
    ax.set_title(f"{title}\n{np.count_nonzero(~np.isnan(weights))} connections")
    ax.set_xlabel("input column")
    ax.set_ylabel("input row")
fig.colorbar(im, ax=axes, fraction=0.015, label="weight")
fig.suptitle("Which input pixels each unit is connected to, and with which weight")
plt.show()
connections = {title: int(np.count_nonzero(~np.isnan(w))) for title, w in panels.items()}
cl.claim("each dense neuron: all 100 pixels", connections["dense neuron A"], equals=100)
cl.claim("each conv unit: only 9 pixels", connections["conv unit at (5, 6)"], equals=9)

# %% [markdown]
# **What to see.** Each dense neuron has its own weight for all 100 pixels. Each conv unit is
# connected to only 9 pixels (gray means no connection), and the two conv units carry *the same*
# nine weights, just shifted: a whole feature map is described by those nine numbers.
#
# ## 4. Cross-correlation
#
# Sliding a kernel `K` of shape (KH, KW) over a one-channel image `I` of shape (H, W) and taking a
# dot product at each position is called **cross-correlation**:
#
# $$\text{out}[i, j] = \sum_{p=0}^{KH-1} \sum_{q=0}^{KW-1} I[i + p,\ j + q]\; K[p, q].$$
#
# In *valid* mode we keep only the positions where the kernel lies entirely inside the image:
# `i` runs from 0 to H − KH and `j` from 0 to W − KW, so the output has shape
# **(H − KH + 1, W − KW + 1)**. (Section 7 adds padding to keep the size.)
#
# A worked example: one output value, computed by hand.

# %%
image = np.arange(16.0).reshape(4, 4)
kernel = np.array([[1.0, 0.0], [0.0, -1.0]])
print("image:\n", image, "\nkernel:\n", kernel)
window = image[0:2, 1:3]  # the window under the kernel for output position (0, 1)
print("window for out[0, 1]:\n", window)
print("out[0, 1] = sum(window * kernel) =", np.sum(window * kernel), "  (= 1*1 + 6*(-1))")
print("output shape (H - KH + 1, W - KW + 1) =", (4 - 2 + 1, 4 - 2 + 1))
cl.claim("out[0, 1] = 1*1 + 6*(-1)", float(np.sum(window * kernel)), equals=-5.0)

# %% [markdown]
# ### Exercise 1: `correlate2d` (2 points)
#
# Implement valid-mode cross-correlation of one 2-D image of shape (H, W) with one 2-D kernel of
# shape (KH, KW), using explicit loops over the output positions: the formula above, for
# $0 \le i \le H - KH$ and $0 \le j \le W - KW$, so the output has shape (H − KH + 1, W − KW + 1).
# Kernels need not be square, and the output holds floats even when the image holds integers. It
# must agree with `scipy.signal.correlate2d(image, kernel, mode="valid")`, but you may not call
# that (or any other library convolution) here.
#
# <details><summary>Hint 1</summary>
#
# Make the output array first, at its final size, then fill it one value at a time: one loop over
# the output rows, one over the output columns. Each value depends only on the part of the image
# that lies under the kernel when the kernel sits at that position.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# At output position (i, j) the kernel covers image rows i to i + KH − 1 and columns j to
# j + KW − 1: a window with exactly the kernel's shape. Multiply the window and the kernel
# elementwise and add up all the products. Create the output as floats (`np.zeros` does), not
# with the image's dtype, or the fractions of an integer image are cut off.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "correlate2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def correlate2d(image, kernel):
    """Valid-mode 2-D cross-correlation, with loops over the output positions.

    ``out[i, j] = sum_{p, q} image[i + p, j + q] * kernel[p, q]``

    Parameters
    ----------
    image : ndarray, shape (H, W)
    kernel : ndarray, shape (KH, KW), with KH <= H and KW <= W

    Returns
    -------
    out : ndarray of floats, shape (H - KH + 1, W - KW + 1)
    """
    ### BEGIN SOLUTION
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"expected 2-D image and kernel, got {image.shape} and {kernel.shape}")
    h, w = image.shape
    kh, kw = kernel.shape
    if kh > h or kw > w:
        raise ValueError(f"kernel {kernel.shape} is larger than the image {image.shape}")
    out = np.zeros((h - kh + 1, w - kw + 1))
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            out[i, j] = np.sum(image[i : i + kh, j : j + kw] * kernel)
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_correlate2d", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import scipy.signal

import cnnlab.testing as T
from cnnlab.mistakes import correlate2d_mistakes

FORBIDDEN = T.CONVOLUTION_LIBRARIES

# check_* compares your result with the expected one and, when it reproduces a known mistake
# (listed in cnnlab/mistakes.py), names it in the failure message. Worked examples follow.


def check_correlate2d(image, kernel, expected):
    """Call correlate2d (library convolutions forbidden) and compare with ``expected``."""
    name = f"correlate2d(image {image.shape}, kernel {kernel.shape})"
    mistakes = correlate2d_mistakes(image, kernel)
    with T.forbid_calls(*FORBIDDEN, exercise="correlate2d"):
        try:
            got = correlate2d(image.copy(), kernel.copy())
        except Exception as exc:  # a crash is a failed check, with what to look at
            raise AssertionError(
                f"{name} raised {type(exc).__name__}: {exc}\n  hint: each window "
                f"image[i:i + KH, j:j + KW] has the kernel's shape (KH, KW) = {kernel.shape}, "
                "for i in range(H - KH + 1) and j in range(W - KW + 1)"
            ) from exc
    T.assert_allclose(got, expected, name=name, mistakes=mistakes,
                      hint="out[i, j] = sum over p, q of image[i + p, j + q] * kernel[p, q], for "
                      "every position where it fits")  # fmt: skip


# Worked example 1: this kernel computes out[i, j] = image[i, j] - image[i + 1, j + 1],
# at the 2 x 3 positions where a 2 x 2 kernel fits inside a 3 x 4 image.
image = np.array([[1.0, 2, 0, 1], [0, 1, 3, 2], [2, 0, 1, 1]])
kernel = np.array([[1.0, 0], [0, -1]])
check_correlate2d(image, kernel, expected=np.array([[0.0, -1, -2], [0, 0, 2]]))

# Worked example 2: a 1 x 3 kernel (not square) on an image of integers:
# out[i, j] = 0.5 * image[i, j] + image[i, j + 1] + 0.5 * image[i, j + 2], 3 x 2 positions,
# and the output holds fractions although the image holds integers.
image = np.array([[1, 2, 0, 1], [0, 1, 3, 2], [2, 0, 1, 1]])  # dtype int
kernel = np.array([[0.5, 1.0, 0.5]])
check_correlate2d(image, kernel, expected=np.array([[2.5, 1.5], [2.5, 4.5], [1.5, 1.5]]))
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(101)
for (h, w), (kh, kw) in [((11, 17), (3, 5)), ((9, 8), (4, 2)), ((7, 10), (3, 3)),
                         ((6, 7), (1, 1)), ((5, 4), (5, 4)), ((12, 9), (2, 3))]:  # fmt: skip
    img = rng.normal(size=(h, w))
    ker = rng.normal(size=(kh, kw))
    check_correlate2d(img, ker, expected=scipy.signal.correlate2d(img, ker, mode="valid"))

# integers in, floats out: the output must not be truncated to the input's dtype
img = rng.integers(0, 5, size=(5, 6))
ker = np.array([[0.5, -0.25], [0.125, 1.0]])
with T.forbid_calls(*FORBIDDEN, exercise="correlate2d"):
    got = correlate2d(img, ker)
T.assert_allclose(
    got, scipy.signal.correlate2d(img.astype(float), ker, mode="valid"),
    name="correlate2d(integer image, float kernel)",
    hint="the output was truncated to integers: allocate it as floats (np.zeros gives float64), "
    "not with np.zeros_like(image)",
)  # fmt: skip
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Convolution is cross-correlation with a flipped kernel
#
# In mathematics and signal processing, **convolution** flips the kernel in both directions
# (rotates it by 180°) before sliding it:
#
# $$(I * K)[i, j] = \sum_{p, q} I[i + p,\ j + q]\; K[KH - 1 - p,\ KW - 1 - q]
# \qquad \text{(valid mode)}.$$
#
# The flip is what makes convolution behave nicely algebraically: it is commutative and
# associative, so applying two filters one after the other is the same as applying their
# convolution once. It also means that convolving a single bright pixel (an *impulse*) reproduces
# the kernel itself, while cross-correlating it gives the kernel rotated by 180°.
#
# Deep-learning libraries compute **cross-correlation** and still call it "convolution"
# (see the note in the [PyTorch `Conv2d` documentation](https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html)).
# Nothing is lost: the kernel is learned, and the flipped version of a good kernel is just
# another kernel that training could have found, so flipping would only cost time. From now on,
# "convolution layer" means cross-correlation, as everywhere in deep learning.
#
# ### Exercise 2: `convolve2d` (1 point)
#
# Implement valid-mode convolution, the formula above, **by flipping the kernel and calling your
# `correlate2d`**. It takes an image (H, W) and a kernel (KH, KW), returns floats of shape
# (H − KH + 1, W − KW + 1), and must agree with
# `scipy.signal.convolve2d(image, kernel, mode="valid")`.
#
# <details><summary>Hint 1</summary>
#
# Compare the two formulas: convolution reads the kernel at $[KH - 1 - p,\ KW - 1 - q]$ where
# cross-correlation reads it at $[p, q]$. So build a kernel whose rows come in reverse order and
# whose columns come in reverse order, and cross-correlate with that.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# A slice with step −1 reverses an axis; reverse both axes of the kernel. A transpose
# (`kernel.T`) or a quarter turn (`np.rot90`) is not a flip: try each on `[[1, 2], [3, 4]]`.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "convolve2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def convolve2d(image, kernel):
    """Valid-mode 2-D convolution: cross-correlation with the kernel rotated by 180 degrees.

    ``out[i, j] = sum_{p, q} image[i + p, j + q] * kernel[KH - 1 - p, KW - 1 - q]``

    Parameters
    ----------
    image : ndarray, shape (H, W)
    kernel : ndarray, shape (KH, KW)

    Returns
    -------
    out : ndarray of floats, shape (H - KH + 1, W - KW + 1)
    """
    ### BEGIN SOLUTION
    kernel = np.asarray(kernel)
    return correlate2d(image, kernel[::-1, ::-1])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_convolve2d", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import scipy.signal

import cnnlab.testing as T
from cnnlab.mistakes import convolve2d_mistakes

FORBIDDEN = T.CONVOLUTION_LIBRARIES

# check_* compares your result with the expected one and, when it reproduces a known mistake
# (listed in cnnlab/mistakes.py), names it in the failure message. Worked examples follow.


def correlate2d_reference(image, kernel):
    """Exercise 1's contract. While convolve2d is tested, your correlate2d is replaced by this
    reference, so that a mistake in Exercise 1 costs Exercise 1 only."""
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    return scipy.signal.correlate2d(image, kernel, mode="valid")


def check_convolve2d(image, kernel, expected):
    """Call convolve2d (library convolutions forbidden) and compare with ``expected``."""
    name = f"convolve2d(image {image.shape}, kernel {kernel.shape})"
    mistakes = convolve2d_mistakes(image, kernel)
    with T.forbid_calls(*FORBIDDEN, exercise="convolve2d"), \
            T.reference_helpers(correlate2d=correlate2d_reference):  # fmt: skip
        try:
            got = convolve2d(image.copy(), kernel.copy())
        except Exception as exc:  # a crash is a failed check, with what to look at
            raise AssertionError(f"{name} raised {type(exc).__name__}: {exc}") from exc
    T.assert_allclose(got, expected, name=name, mistakes=mistakes,
                      hint="convolve2d(image, kernel) = correlate2d(image, kernel[::-1, ::-1])")  # fmt: skip


# Worked example: kernel [[1, 0], [2, 0]] flipped is [[0, 2], [0, 1]], so
# out[i, j] = 2 * image[i, j + 1] + image[i + 1, j + 1].
image = np.array([[1.0, 2, 0, 1], [0, 1, 3, 2], [2, 0, 1, 1]])
kernel = np.array([[1.0, 0], [2, 0]])
check_convolve2d(image, kernel, expected=np.array([[5.0, 3, 4], [2, 7, 5]]))
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(202)
for (h, w), (kh, kw) in [((8, 7), (3, 3)), ((10, 13), (3, 4)), ((9, 6), (2, 5)), ((5, 5), (1, 1))]:
    img = rng.normal(size=(h, w))
    ker = rng.normal(size=(kh, kw))
    check_convolve2d(img, ker, expected=scipy.signal.convolve2d(img, ker, mode="valid"))
### END HIDDEN TESTS

# %% [markdown]
# The figure feeds an impulse (a single 1 in a field of zeros) to both functions, with a kernel
# whose entries are all different so that any flip shows.

# %%
impulse = np.zeros((7, 7))
impulse[3, 3] = 1.0
asym = np.arange(1.0, 10.0).reshape(3, 3)
results = {
    "kernel": asym,
    "correlate2d(impulse, kernel)": correlate2d(impulse, asym),
    "convolve2d(impulse, kernel)": convolve2d(impulse, asym),
}
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
for ax, (title, arr) in zip(axes, results.items()):
    ax.imshow(arr, cmap="viridis", vmin=0, vmax=9)
    for (i, j), v in np.ndenumerate(arr):
        ax.text(j, i, f"{v:g}", ha="center", va="center", color="white" if v < 5 else "black")
    ax.set_title(f"{title}\nshape {arr.shape}")
    ax.set_xticks(range(arr.shape[1]))
    ax.set_yticks(range(arr.shape[0]))
    ax.set_xlabel("column")
    ax.set_ylabel("row")
fig.suptitle("Impulse response: correlation rotates the kernel by 180°, convolution does not")
fig.tight_layout()
plt.show()
conv_out = cl.layers.conv_forward(impulse[None, None], asym[::-1, ::-1][None, None], np.zeros(1))[0]
cl.claim("the 7 x 7 impulse gives a 5 x 5 output", conv_out.shape[2:], equals=(5, 5))
cl.claim("convolution reproduces the kernel (1 top-left, 9 bottom-right)",
         bool(np.array_equal(conv_out[0, 0, 1:4, 1:4], asym)), equals=True)  # fmt: skip

# %% [markdown]
# **What to see.** The 7 x 7 impulse gives a 5 x 5 output. Convolution reproduces the kernel
# around the impulse (1 top-left, 9 bottom-right); cross-correlation gives it rotated by 180°.
# For a symmetric kernel such as a blur both would agree, which is why this mistake can hide
# in tests that use only symmetric kernels.
#
# Parameter sharing also gives the translation equivariance promised in section 3. Shift the
# input by a few pixels and the output shifts by the same amount (the check below compares the
# two away from the border, where the shifted image wraps around). With a stride of 2 (keeping
# every other output position, section 8) that holds only for shifts by an even number of pixels:
# a shift by one pixel moves the input to positions the stride skips.

# %%
rng = np.random.default_rng(1)
img = rng.normal(size=(12, 12))
ker = rng.normal(size=(3, 3))
out = correlate2d(img, ker)
shifted = np.roll(img, shift=(2, 3), axis=(0, 1))  # move the image down 2, right 3 (wrapping)
# away from the wrapped-around border the two agree exactly
stride_1 = np.allclose(
    np.roll(out, shift=(2, 3), axis=(0, 1))[3:, 4:], correlate2d(shifted, ker)[3:, 4:]
)
print("stride 1, shift by (2, 3): output shifted by (2, 3)?", stride_1)

strided = out[::2, ::2]  # stride 2: every other output position
for step in (2, 1):
    moved = correlate2d(np.roll(img, shift=(step, step), axis=(0, 1)), ker)[::2, ::2]
    # is it the stride-2 output shifted by 0 or by 1 position (inner part)?
    same = any(np.allclose(moved[1:, 1:], strided[1 - d : 5 - d, 1 - d : 5 - d]) for d in (0, 1))
    print(f"stride 2, shift by ({step}, {step}): output a shifted copy?", same)
    cl.claim(f"stride 2 equivariant for a shift by {step}", bool(same), equals=step == 2)
cl.claim("stride 1 equivariant", bool(stride_1), equals=True)

# %% [markdown]
# ## 6. Hand-made kernels on a real photograph
#
# Before networks learned their kernels, image processing used hand-designed ones, and they are
# a good way to build intuition for what a learned first layer does:
#
# - **box blur**: every weight equal to 1/(KH·KW): each output is the average of its window,
#   which smooths away fine detail and noise;
# - **sharpen**: `[[0, -1, 0], [-1, 5, -1], [0, -1, 0]]`, which is the pixel itself plus four
#   times (pixel − the mean of its four neighbours): it exaggerates differences from the
#   surroundings;
# - **identity**: a single 1 in the centre returns the (cropped) input.
#
# The photo is shrunk by averaging 5 x 5 blocks of pixels so that your loop version stays fast.

# %%
block = 8 if cl.is_grading() else 5
small = shrink(photo_gray, block)
blur = np.ones((5, 5)) / 25
sharpen = np.array([[0.0, -1, 0], [-1, 5, -1], [0, -1, 0]])
identity = np.zeros((3, 3))
identity[1, 1] = 1.0

t0 = time.perf_counter()
filtered = {
    "identity 3x3": correlate2d(small, identity),
    "box blur 5x5": correlate2d(small, blur),
    "sharpen 3x3": correlate2d(small, sharpen),
}
print(
    f"three correlations of a {small.shape} image with your loops: {time.perf_counter() - t0:.2f} s"
)

fig, axes = plt.subplot_mosaic([["a", "b", "c"], ["p", "p", "p"]], figsize=(14, 7),
                              height_ratios=[3, 1.4])  # fmt: skip
# one row of the input through the middle of the temple, and the columns from the temple's right
# half to the sea
row, cols = small.shape[0] // 2, np.arange(small.shape[1] * 3 // 8, small.shape[1] * 3 // 4)
for key, (title, out) in zip("abc", filtered.items()):
    o = (small.shape[0] - out.shape[0]) // 2  # output (i, j) is centred on input (i + o, j + o)
    axes[key].imshow(out, cmap="gray", vmin=0, vmax=1)
    axes[key].axhline(row - o, color="yellow", lw=1)
    axes[key].set_title(f"{title}: output {out.shape}")
    axes[key].set_xlabel("column")
    axes[key].set_ylabel("row")
    axes["p"].plot(cols, out[row - o, cols - o], label=title)
axes["p"].set_xlabel("column of the input image")
axes["p"].set_ylabel("intensity")
axes["p"].set_title(f"input row {row} (yellow line) after each kernel")
axes["p"].legend(loc="lower right")
fig.suptitle("Hand-made kernels applied with your correlate2d")
fig.tight_layout()
plt.show()
four_neighbours = np.array([[0.0, 1, 0], [1, 0, 1], [0, 1, 0]]) / 4  # their mean
sharpen_parts = identity + 4 * (identity - four_neighbours)
cl.claim("sharpen = the pixel + 4 (pixel - mean of its four neighbours)",
         bool(np.allclose(sharpen, sharpen_parts)), equals=True)  # fmt: skip
shrinkage = {small.shape[0] - out.shape[0] for out in filtered.values()}
cl.claim("the outputs are 2 or 4 pixels smaller", sorted(shrinkage), equals=[2, 4])

# %% [markdown]
# **What to see.** The blurred photo is softer and its intensity profile (bottom) is smooth;
# the sharpened one has crisper edges, and its profile overshoots above and below the original
# next to every step, which is how sharpening makes edges look stronger (it amplifies noise and
# fine texture too). The outputs are 2 or 4 pixels smaller than the input, as valid mode
# predicts.
#
# ### Exercise 3: `edge_kernels` (2 points)
#
# An **edge** is where the brightness changes quickly. A *vertical* edge is a vertical line
# between a darker and a brighter region (for example the side of a pillar), so the brightness
# changes as you move **along a row**, from left to right. A *horizontal* edge (the horizon, the
# top of a roof) is crossed when you move down a column.
#
# Return a dict with two 3 x 3 kernels:
#
# - `"vertical"`: a large response (positive or negative) on vertical edges, about 0 on flat
#   regions, and only a weak response on horizontal edges;
# - `"horizontal"`: the same for horizontal edges.
#
# The test applies your kernels to synthetic images with vertical and horizontal edges.
#
# <details><summary>Hint 1</summary>
#
# On a flat region every pixel of the window has the same value, so the response is that value
# times the sum of the weights: it is 0 exactly when the weights sum to 0. An edge detector
# weighs the pixels on one side of the edge against those on the other side.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# For the vertical kernel: negative weights in the left column, the same positive weights in the
# right column, zeros in the middle column. The horizontal kernel compares the bottom row with the
# top row in the same way. The classic choice is the
# [Sobel operator](https://en.wikipedia.org/wiki/Sobel_operator), which also weights the centre
# row (or column) twice to average away some noise.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "edge_kernels", "locked": false, "schema_version": 3, "solution": true, "task": false}
def edge_kernels():
    """Two 3 x 3 edge-detecting kernels for cross-correlation.

    Returns
    -------
    dict
        ``"vertical"``: ndarray, shape (3, 3), responds to vertical edges (brightness changing
        from left to right); ``"horizontal"``: ndarray, shape (3, 3), responds to horizontal
        edges (brightness changing from top to bottom). Both give about 0 on flat regions.
    """
    ### BEGIN SOLUTION
    vertical = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    return {"vertical": vertical, "horizontal": vertical.T.copy()}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_edge_kernels", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import scipy.signal

import cnnlab.testing as T

kernels = edge_kernels()
T.assert_true(
    isinstance(kernels, dict) and {"vertical", "horizontal"} <= set(kernels),
    f"edge_kernels() must return a dict with keys 'vertical' and 'horizontal', got {kernels!r}",
)
for key in ("vertical", "horizontal"):
    T.assert_shape(kernels[key], (3, 3), name=f'edge_kernels()["{key}"]')
v_ker = np.asarray(kernels["vertical"], dtype=np.float64)
h_ker = np.asarray(kernels["horizontal"], dtype=np.float64)


def peak(image, kernel):
    """Largest absolute response of the kernel anywhere on the image."""
    return float(np.abs(scipy.signal.correlate2d(image, kernel, mode="valid")).max())


# Worked example: dark left half, bright right half -> one vertical edge.
vertical_edge = np.zeros((8, 8))
vertical_edge[:, 4:] = 1.0
horizontal_edge = vertical_edge.T.copy()
flat = np.full((8, 8), 0.6)
for key, kern, own, other in [("vertical", v_ker, vertical_edge, horizontal_edge),
                              ("horizontal", h_ker, horizontal_edge, vertical_edge)]:  # fmt: skip
    scale = np.abs(kern).sum()
    if scale == 0:
        hint = "the kernel is all zeros: give it weights that compare one side with the other"
    elif peak(other, kern) >= 0.25 * scale:
        hint = ("a vertical edge separates left from right, so the vertical kernel should compare "
                "the right column of its window with the left one (and the horizontal kernel the "
                "bottom row with the top one). Did you swap the two?")  # fmt: skip
    else:
        hint = "compare the pixels on one side of the edge with those on the other side"
    T.assert_true(
        scale > 0 and peak(own, kern) >= 0.25 * scale,
        f'edge_kernels()["{key}"] barely responds to a {key} edge: largest |response| '
        f"{peak(own, kern):.3g} for a kernel whose |weights| sum to {scale:.3g}",
        hint=hint,
    )
    T.assert_true(
        peak(flat, kern) <= 0.02 * peak(own, kern),
        f'edge_kernels()["{key}"] responds to a flat region: |response| {peak(flat, kern):.3g} '
        f"on a constant image, {peak(own, kern):.3g} on an edge",
        hint="make the kernel's weights sum to 0, so that a constant window gives 0",
    )
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(303)
for key, kern, own, other in [("vertical", v_ker, vertical_edge, horizontal_edge),
                              ("horizontal", h_ker, horizontal_edge, vertical_edge)]:  # fmt: skip
    T.assert_true(
        peak(other, kern) <= 0.2 * peak(own, kern),
        f'edge_kernels()["{key}"] responds to the other orientation as well: |response| '
        f"{peak(other, kern):.3g} on the wrong edge vs {peak(own, kern):.3g} on a {key} edge",
        hint="the vertical kernel should be the same along the vertical direction (only compare "
        "left with right), the horizontal one the same along the horizontal direction",
    )

# A bright square on a dark background, at another contrast: the vertical kernel must light up on
# the left and right sides of the square, not on the top and bottom sides (and vice versa).
square = np.full((16, 16), 0.2)
square[4:12, 5:12] = 0.9
# resp[i, j] is centred on pixel (i + 1, j + 1): (6, 3) and (6, 10) sit on the left and right sides,
# (2, 7) and (10, 7) on the top and bottom sides.
for key, kern, sides, ends in [("vertical", v_ker, [(6, 3), (6, 10)], [(2, 7), (10, 7)]),
                               ("horizontal", h_ker, [(2, 7), (10, 7)], [(6, 3), (6, 10)])]:  # fmt: skip
    resp = np.abs(scipy.signal.correlate2d(square, kern, mode="valid"))
    on = min(resp[i, j] for i, j in sides)
    off = max(resp[i, j] for i, j in ends)
    T.assert_true(
        on > 0 and off <= 0.2 * on,
        f'edge_kernels()["{key}"] on a bright square: response {on:.3g} on its {key} sides but '
        f"{off:.3g} on the other sides",
        hint="a vertical edge is crossed when moving left-right; a horizontal one when moving "
        "up-down. Did you swap the two kernels?",
    )
    T.assert_true(
        resp[0, 0] <= 1e-6 * on + 1e-9 and resp[5, 6] <= 1e-6 * on + 1e-9,
        f'edge_kernels()["{key}"] responds inside flat regions of the square image',
        hint="make the kernel's weights sum to 0",
    )
### END HIDDEN TESTS

# %% [markdown]
# Your kernels on the photograph, together with the *gradient magnitude*
# `sqrt(vertical² + horizontal²)`, which does not care about the edge's direction:

# %%
edges = edge_kernels()
resp_v = correlate2d(small, edges["vertical"])
resp_h = correlate2d(small, edges["horizontal"])
fig, axes = plt.subplots(1, 3, figsize=(16, 4))
panels = [("vertical-edge kernel: response", resp_v, "RdBu_r"),
          ("horizontal-edge kernel: response", resp_h, "RdBu_r"),
          ("gradient magnitude sqrt(v² + h²)", np.hypot(resp_v, resp_h), "magma")]  # fmt: skip
for ax, (title, arr, cmap) in zip(axes, panels):
    m = np.abs(arr).max()
    im = ax.imshow(arr, cmap=cmap, vmin=-m if cmap == "RdBu_r" else 0, vmax=m)
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
fig.suptitle("Your edge kernels on the photo (red and blue: responses of opposite sign)")
fig.tight_layout()
plt.show()

# %% [markdown]
# **What to see.** The vertical kernel lights up on the sides of the temple and the vertical window
# frames, with one sign where brightness rises to the right and the other where it falls; the flat
# sky gives almost 0. The horizontal kernel picks out the roof lines instead. The gradient magnitude
# combines both into an outline drawing. The first layer of a trained network learns detectors much
# like these (notebook 05 shows them).
#
# ## 7. Zero padding
#
# Valid mode shrinks every map by KH − 1 rows and KW − 1 columns. After ten 3 x 3 layers a
# 32 x 32 image would be down to 12 x 12, and pixels near the border take part in fewer windows
# than those in the middle. **Zero padding** fixes both: add `pad` rows of zeros above and below
# and `pad` columns left and right before sliding the kernel. With a 3 x 3 kernel and `pad = 1`
# (in general `pad = (K − 1) / 2` for odd K) and stride 1 the output has the same size as the
# input, which is called "same" padding.
#
# In a batch (N, C, H, W) only the two spatial axes are padded. Padding the batch axis would
# invent black images, and padding the channel axis would invent black channels.

# %% [markdown]
# ### Exercise 4: `zero_pad` (1 point)
#
# Pad a batch x of shape (N, C, H, W) with zeros along H and W only. `pad` is either one integer
# (the same on all four sides) or a pair `(ph, pw)`: `ph` rows on top and bottom, `pw` columns
# left and right. Return a new array of shape (N, C, H + 2·ph, W + 2·pw) with `x` in its middle;
# `x` itself must not change.
#
# <details><summary>Hint 1</summary>
#
# Turn an int `pad` into the pair `(pad, pad)` first, so that the rest of your code handles one
# case. Then either make a zero array of the padded shape and copy `x` into its middle, or let
# `np.pad` do both.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# `np.pad` takes one `(before, after)` pair **per axis**, so four pairs for an (N, C, H, W)
# array; the batch and channel axes get `(0, 0)`.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "zero_pad", "locked": false, "schema_version": 3, "solution": true, "task": false}
def zero_pad(x, pad):
    """Pad a batch of images with zeros along the two spatial axes.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pad : int or tuple (ph, pw)
        Zeros added on each side: ``ph`` rows above and below, ``pw`` columns left and right
        (an int means ``ph = pw = pad``).

    Returns
    -------
    ndarray, shape (N, C, H + 2*ph, W + 2*pw)
        The original values sit in the middle, surrounded by zeros.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {x.shape}")
    ph, pw = (pad, pad) if np.ndim(pad) == 0 else pad
    if ph < 0 or pw < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_zero_pad", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T


def check_zero_pad(x, pad, ph, pw):
    """Call zero_pad(x, pad) and compare with the padded batch built here; name the mistake."""
    n, c, h, w = x.shape
    x_before = x.copy()
    expected = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    expected[:, :, ph : ph + h, pw : pw + w] = x
    top_left = np.zeros_like(expected)
    top_left[:, :, :h, :w] = x
    name = f"zero_pad(x of shape {x.shape}, {pad})"
    try:
        with T.in_place(x):  # checked below: the grader hands back what the call did to x
            got = zero_pad(x, pad)
    except Exception as exc:  # a crash is a failed check, with what to look at
        hint = ("pad can be a pair (ph, pw) as well as one int: ph rows above and below, pw "
                "columns left and right") if np.ndim(pad) else "only axes 2 and 3 (H, W) get zeros"  # fmt: skip
        raise AssertionError(f"{name} raised {type(exc).__name__}: {exc}\n  hint: {hint}") from exc
    shape = np.shape(got)
    padded = [axis for axis, size, i in (("batch", n, 0), ("channel", c, 1))
              if len(shape) == 4 and shape[i] != size]  # fmt: skip
    if padded:
        hint = (f"padding on the {' and '.join(padded)} ax{'es' if len(padded) > 1 else 'is'}: "
                "only H and W are padded, N and C stay the same (give np.pad (0, 0) for axes 0 "
                "and 1)")  # fmt: skip
    elif shape == (n, c, h + 2 * pw, w + 2 * ph) and ph != pw:
        hint = (
            "pad = (ph, pw): ph rows above and below (axis 2), pw columns left and right (axis 3)"
        )
    elif shape == (n, c, h + ph, w + pw) and (ph or pw):
        hint = "zeros go on BOTH sides: ph rows above and ph below, pw columns left and pw right"
    elif shape == expected.shape and np.allclose(got, top_left) and (ph or pw):
        hint = ("the original values sit in the top-left corner: they start at row ph and "
                "column pw, below ph zero rows and right of pw zero columns")  # fmt: skip
    else:
        hint = "the original values must sit in the middle, with ph zero rows above and below"
    T.assert_allclose(got, expected, name=name, hint=hint)
    T.assert_allclose(x, x_before, name=f"x after zero_pad(x, {pad})",
                      hint="zero_pad must not change its input: build a new, larger array")  # fmt: skip


# Worked example 1: one 2 x 2 image with one pixel of zeros around it.
x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])  # (1, 1, 2, 2)
check_zero_pad(x, 1, 1, 1)  # expected [[0, 0, 0, 0], [0, 1, 2, 0], [0, 3, 4, 0], [0, 0, 0, 0]]

# Worked example 2: pad = (ph, pw) = (0, 1): no zero rows, one zero column on each side.
check_zero_pad(x, (0, 1), 0, 1)  # expected [[0, 1, 2, 0], [0, 3, 4, 0]], shape (1, 1, 2, 4)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(404)
for shape, pad, (ph, pw) in [((2, 3, 5, 4), 2, (2, 2)), ((3, 2, 4, 6), (1, 3), (1, 3)),
                             ((1, 4, 3, 3), (2, 0), (2, 0)), ((2, 2, 3, 5), 0, (0, 0))]:  # fmt: skip
    check_zero_pad(rng.normal(size=shape), pad, ph, pw)
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Stride and the output-size formula
#
# The **stride** is the step between neighbouring windows. With stride 1 the kernel visits every
# position; with stride 2 every other row and column, which halves the size of the output (a cheap
# way to downsample).
#
# Counting the windows along one axis gives the formula every convolutional architecture is
# designed with. The padded input has `n + 2·pad` positions; a window of size `k` starting at
# `s` fits if `s + k ≤ n + 2·pad`; the starts are 0, stride, 2·stride, ... So the number of
# windows is
#
# $$\text{out} = \left\lfloor \frac{n + 2\,\text{pad} - k}{\text{stride}} \right\rfloor + 1 .$$
#
# The "+ 1" counts the window that starts at 0. When `stride` does not divide `n + 2·pad − k`
# the last few rows or columns are never covered; PyTorch floors as above, and the
# [CS231n notes](https://cs231n.github.io/convolutional-networks/#conv) recommend choosing sizes
# that divide exactly. Example: AlexNet's first layer takes a 227 x 227 image with 11 x 11
# kernels, stride 4 and no padding: ⌊(227 − 11) / 4⌋ + 1 = 55. For many more cases, with
# pictures, see Dumoulin and Visin,
# [A guide to convolution arithmetic for deep learning](https://arxiv.org/abs/1603.07285).
#
# The figure slides a 3 x 3 kernel with stride 2 over a 5 x 5 input padded by 1.

# %%
n_in, k, s, p = 5, 3, 2, 1
n_out = (n_in + 2 * p - k) // s + 1
positions = [(0, 0), (0, 1), (1, 2), (2, 0)]
colours = ["tab:red", "tab:blue", "tab:green", "tab:purple"]

fig, axes = plt.subplots(1, 2, figsize=(11, 5), width_ratios=[7, 4])
ax = axes[0]
size = n_in + 2 * p
for i in range(size):
    for j in range(size):
        inside = p <= i < p + n_in and p <= j < p + n_in
        value = (i - p) * n_in + (j - p) + 1 if inside else 0
        ax.add_patch(
            plt.Rectangle((j, i), 1, 1, facecolor="white" if inside else "0.85", edgecolor="0.6")
        )
        ax.text(
            j + 0.5, i + 0.5, value, ha="center", va="center", color="black" if inside else "0.5"
        )
for (oi, oj), colour in zip(positions, colours):
    offset = 0.06 * positions.index((oi, oj))
    ax.add_patch(plt.Rectangle((oj * s + offset, oi * s + offset), k - 2 * offset, k - 2 * offset,
                               fill=False, edgecolor=colour, lw=3))  # fmt: skip
ax.set_xlim(-0.1, size + 0.1)  # a margin, so that windows at the corner stay visible
ax.set_ylim(size + 0.1, -0.1)
ax.set_xticks(np.arange(size) + 0.5, range(size))
ax.set_yticks(np.arange(size) + 0.5, range(size))
ax.set_aspect("equal")
ax.set_title(f"padded input: {n_in}x{n_in} + pad {p} (gray zeros), kernel {k}x{k}, stride {s}")
ax.set_xlabel("column of the padded input")
ax.set_ylabel("row of the padded input")
ax = axes[1]
for i in range(n_out):
    for j in range(n_out):
        colour = colours[positions.index((i, j))] if (i, j) in positions else "white"
        ax.add_patch(plt.Rectangle((j, i), 1, 1, facecolor=colour, alpha=0.6, edgecolor="0.4"))
        ax.text(j + 0.5, i + 0.5, f"({i},{j})", ha="center", va="center")
ax.set_xlim(0, n_out)
ax.set_ylim(n_out, 0)
ax.set_xticks(np.arange(n_out) + 0.5, range(n_out))
ax.set_yticks(np.arange(n_out) + 0.5, range(n_out))
ax.set_aspect("equal")
ax.set_title(f"output: ({n_in} + 2*{p} - {k}) // {s} + 1 = {n_out}")
ax.set_xlabel("output column j")
ax.set_ylabel("output row i")
fig.tight_layout()
plt.show()

# %% [markdown]
# **What to see.** Output cell (i, j) is computed from the window whose top-left corner is at row
# `i·stride`, column `j·stride` of the *padded* input: the red window for (0, 0) starts at the
# corner, the blue one for (0, 1) two columns to the right. Neighbouring windows overlap by one
# column here (kernel 3, stride 2), and border windows see some of the gray zeros.
#
# ### Exercise 5: `conv_output_size` (2 points)
#
# Return the output size along one axis, the formula above,
# $\lfloor (n + 2\,\text{pad} - k) / \text{stride} \rfloor + 1$, as a Python `int`. Raise a
# `ValueError` with a helpful message when the arguments make no sense: `stride < 1`, `pad < 0`,
# `k < 1`, or a kernel that does not fit in the padded input (a result smaller than 1).
#
# <details><summary>Hint 1</summary>
#
# Work in three steps: check the arguments (one `raise ValueError(...)` per rule, with a message
# that says which rule), compute the size, then check the size before you return it.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Python's floor division `//` rounds down and gives an int for ints; `/` gives a float, even
# when the division is exact.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "conv_output_size", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_output_size(n, k, stride=1, pad=0):
    """Number of output positions of a convolution along one axis.

    The number of windows of size k, stride apart, in the n + 2 pad positions of the padded
    input: floor((n + 2 pad - k) / stride) + 1 (section 8).

    Parameters
    ----------
    n : int
        Input size (height or width).
    k : int
        Kernel size along the same axis, k >= 1.
    stride : int
        Step between windows, stride >= 1.
    pad : int
        Zeros added on each side, pad >= 0.

    Returns
    -------
    int
        The output size, at least 1.

    Raises
    ------
    ValueError
        If stride < 1, pad < 0, k < 1, or the kernel does not fit (the result would be < 1).
    """
    ### BEGIN SOLUTION
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    if k < 1:
        raise ValueError(f"kernel size k must be >= 1, got {k}")
    out = (n + 2 * pad - k) // stride + 1
    if out < 1:
        raise ValueError(
            f"a kernel of size {k} does not fit in an input of size {n} with pad={pad}"
        )
    return int(out)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_output_size", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import cnnlab.testing as T


def check_size(n, k, s, p, expected):
    """Call conv_output_size(n, k, stride=s, pad=p); name the mistake when the result is wrong."""
    got = conv_output_size(n, k, stride=s, pad=p)
    if isinstance(got, float):
        hint = "use floor division //: the size must be an int, and / gives a float"
    elif s > 1 and got == n + 2 * p - k + 1:
        hint = "stride ignored: divide (n + 2*pad - k) by the stride before adding 1"
    elif p > 0 and got == (n + p - k) // s + 1 == (n - k) // s + 1:
        hint = "the padded input has n + 2*pad positions: pad zeros on each side"
    elif p > 0 and got == (n + p - k) // s + 1:
        hint = "padding is added on both sides: use n + 2*pad"
    elif p > 0 and got == (n - k) // s + 1:
        hint = "padding ignored: the windows slide over the padded input, n + 2*pad positions"
    elif got == -(-(n + 2 * p - k) // s) + 1 and got != expected:
        hint = "round down (floor), not up: a window that does not fit entirely is not counted"
    elif got in (expected - 1, expected + 1):
        hint = ("off-by-one output size: count the window that starts at position 0, "
                "(n + 2*pad - k) // stride + 1")  # fmt: skip
    else:
        hint = "out = (n + 2*pad - k) // stride + 1"
    T.assert_equal(
        got, expected, name=f"conv_output_size({n}, {k}, stride={s}, pad={p})", hint=hint
    )


# Worked examples (n, k, stride, pad, expected): check each one with the formula. In the fourth,
# windows start at 0 and 2; one starting at 4 would stick out of the 6 positions.
for n, k, s, p, expected in [
    (5, 3, 1, 0, 3),
    (5, 3, 1, 1, 5),
    (5, 3, 2, 1, 3),
    (6, 3, 2, 0, 2),
    (227, 11, 4, 0, 55),
]:
    with T.forbid_calls("cnnlab.layers", exercise="conv_output_size"):
        check_size(n, k, s, p, expected)
with T.raises(ValueError, hint="stride 0 would never move the window: raise ValueError"):
    conv_output_size(5, 3, stride=0)
with T.raises(ValueError, hint="a 5-wide kernel does not fit in 3 positions: raise ValueError"):
    conv_output_size(3, 5)
### BEGIN HIDDEN TESTS
import numpy as np

rng = np.random.default_rng(505)
cases = [(7, 3, 2, 0), (6, 3, 2, 0), (8, 3, 3, 1), (10, 4, 3, 2), (32, 5, 1, 2), (9, 2, 2, 0),
         (1, 1, 1, 0), (4, 5, 2, 1), (3, 3, 3, 0), (11, 4, 3, 0)]  # fmt: skip
cases += [(int(rng.integers(1, 40)), int(rng.integers(1, 6)), int(rng.integers(1, 5)),
           int(rng.integers(0, 4))) for _ in range(40)]  # fmt: skip
for n, k, s, p in cases:
    if n + 2 * p >= k:
        with T.forbid_calls("cnnlab.layers", exercise="conv_output_size"):
            check_size(n, k, s, p, (n + 2 * p - k) // s + 1)
# positional arguments follow the signature (n, k, stride, pad)
T.assert_equal(conv_output_size(9, 3, 2, 1), 5, name="conv_output_size(9, 3, 2, 1)",
               hint="the signature is conv_output_size(n, k, stride=1, pad=0)")  # fmt: skip
for args, why in [((5, 3, -1, 0), "stride < 1"), ((5, 3, 1, -1), "pad < 0"), ((5, 0, 1, 0), "k < 1"),
                  ((3, 5, 1, 0), "the kernel does not fit (result < 1)"),
                  ((2, 7, 2, 2), "the kernel does not fit (result < 1)"),
                  ((4, 9, 1, 2), "the kernel does not fit (result < 1)")]:  # fmt: skip
    with T.raises(ValueError, hint=f"conv_output_size{args}: raise ValueError when {why}"):
        conv_output_size(*args)
### END HIDDEN TESTS

# %% [markdown]
# Some layers you will meet later, with your function:

# %%
layers = [("28x28 digit, 5x5, no pad", 28, 5, 1, 0), ("32x32, 3x3, pad 1 ('same')", 32, 3, 1, 1),
          ("32x32, 3x3, stride 2, pad 1", 32, 3, 2, 1),
          ("224x224, 7x7, stride 2, pad 3 (ResNet stem)", 224, 7, 2, 3),
          ("227x227, 11x11, stride 4, no pad (AlexNet)", 227, 11, 4, 0)]  # fmt: skip
for name, n, k, s, p in layers:
    print(f"{name:<44} -> {conv_output_size(n, k, stride=s, pad=p)}")

# section 7: ten 3 x 3 layers in a row, without and with "same" padding
for p, quoted in [(0, 12), (1, 32)]:
    side = ref_side = 32
    for _ in range(10):
        side = conv_output_size(side, 3, pad=p)
        ref_side = cl.layers.conv_output_size(ref_side, 3, pad=p)
    print(f"{f'ten 3x3 layers on 32x32, pad {p}':<44} -> {side}")
    cl.claim(f"ten 3 x 3 layers with pad {p}: 32 -> {quoted}", ref_side, equals=quoted)
cl.claim("AlexNet: (227 - 11) // 4 + 1 = 55", cl.layers.conv_output_size(227, 11, 4, 0), equals=55)

# %% [markdown]
# ## 9. Several channels in, several filters out: the convolutional layer
#
# Real inputs have several channels (RGB, or the feature maps of a previous layer). A filter of
# a convolutional layer therefore has shape **(C, KH, KW)**: it covers all C channels of its
# window at once. At each position it multiplies the whole C x KH x KW block with its weights and
# **adds everything up** (over the channels too) plus one bias, giving a single number. So one
# filter yields one output map, whatever C is.
#
# A layer has F filters, stored as weights of shape **(F, C, KH, KW)** and biases of shape
# **(F,)**. Each filter produces its own map, and the maps are stacked: the output *depth* is F,
# and a batch gives an output of shape **(N, F, OH, OW)**:
#
# $$\text{out}[n, f, i, j] = b[f] + \sum_{c=0}^{C-1} \sum_{p=0}^{KH-1} \sum_{q=0}^{KW-1}
# x_{\text{pad}}[n,\ c,\ i\cdot\text{stride} + p,\ j\cdot\text{stride} + q]\; w[f, c, p, q].$$
#
# There is no kernel flip: this is the cross-correlation of section 4, extended to C channels,
# F filters and N images, with padding and stride.
#
# ### Exercise 6: `conv_forward_naive` (4 points)
#
# Implement the forward pass of a convolutional layer, the formula above, with loops over the
# output positions. It takes `x` (N, C, H, W), `w` (F, C, KH, KW) and `b` (F,), and `stride` and
# `pad` as keyword-only arguments (`conv_forward_naive(x, w, b, stride=2, pad=1)`); it returns
# `out` of shape (N, F, OH, OW), with OH and OW given by the formula of section 8. Use your
# `zero_pad` and `conv_output_size`, and do not flip the kernel.
#
# <details><summary>Hint 1</summary>
#
# Do once, before any loop, what is the same for every output value: pad the input, compute OH
# and OW, and make the output array. Then visit every output value with one loop per axis of the
# output: image, filter, output row, output column.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Output (i, j) reads the window of the *padded* input whose top-left corner is at row i·stride,
# column j·stride: `xp[n, :, i*stride : i*stride + KH, j*stride : j*stride + KW]`. It spans all
# C channels and so has the shape (C, KH, KW) of one filter `w[f]`: multiply the two
# elementwise, add up everything, and add the filter's bias.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "conv_forward_naive", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_forward_naive(x, w, b, *, stride=1, pad=0):
    """Forward pass of a convolutional layer (cross-correlation), with loops.

    ``out[n, f, i, j] = b[f] + sum_{c, p, q} xpad[n, c, i*stride + p, j*stride + q] * w[f, c, p, q]``

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input batch.
    w : ndarray, shape (F, C, KH, KW)
        Filters.
    b : ndarray, shape (F,)
        One bias per filter.
    stride : int
        Step between windows.
    pad : int
        Zeros added on each side of H and W.

    Returns
    -------
    out : ndarray, shape (N, F, OH, OW)
        ``OH = (H + 2*pad - KH) // stride + 1``, ``OW = (W + 2*pad - KW) // stride + 1``.
    """
    ### BEGIN SOLUTION
    n_img, c, h, wid = x.shape
    f, c_w, kh, kw = w.shape
    if c_w != c or np.shape(b) != (f,):
        raise ValueError(f"need w (F, {c}, KH, KW) and b (F,), got {w.shape} and {np.shape(b)}")
    oh = conv_output_size(h, kh, stride, pad)
    ow = conv_output_size(wid, kw, stride, pad)
    xp = zero_pad(x, pad)
    out = np.zeros((n_img, f, oh, ow))
    for n in range(n_img):
        for k in range(f):
            for i in range(oh):
                for j in range(ow):
                    window = xp[n, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
                    out[n, k, i, j] = np.sum(window * w[k]) + b[k]
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_forward_naive", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import scipy.signal

import cnnlab as cl
import cnnlab.testing as T
from cnnlab.mistakes import conv_forward_mistakes

FORBIDDEN = T.CONVOLUTION_LIBRARIES

# check_* compares your result with the expected one and, when it reproduces a known mistake
# (listed in cnnlab/mistakes.py), names it in the failure message. Worked examples follow.
# While it runs, your earlier answers are replaced by references with the same contract, so
# that a mistake in one of them costs that exercise only (and is reported there).


def zero_pad_reference(x, pad):
    """Exercise 4's contract, built as in its test."""
    ph, pw = (pad, pad) if np.ndim(pad) == 0 else pad
    n, c, h, w = x.shape
    xpad = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xpad[:, :, ph : ph + h, pw : pw + w] = x
    return xpad


REFERENCES = {
    "conv_output_size": cl.layers.conv_output_size,  # Exercise 5
    "zero_pad": zero_pad_reference,  # Exercise 4
    "correlate2d": lambda image, kernel: scipy.signal.correlate2d(  # Exercise 1
        np.asarray(image, dtype=float), np.asarray(kernel, dtype=float), mode="valid"
    ),
}


def check_conv(x, w, b, stride, pad, expected):
    """Call conv_forward_naive (library convolutions forbidden); compare, name mistakes."""
    name = f"conv_forward_naive(x {x.shape}, w {w.shape}, b, stride={stride}, pad={pad})"
    mistakes = conv_forward_mistakes(x, w, b, stride, pad)
    with T.forbid_calls(*FORBIDDEN, exercise="conv_forward_naive"), \
            T.reference_helpers(**REFERENCES):  # fmt: skip
        try:
            got = conv_forward_naive(x.copy(), w.copy(), b.copy(), stride=stride, pad=pad)
        except Exception as exc:  # a crash is a failed check, with what to look at
            hint = ""
            if "broadcast" in str(exc):
                hint = ("\n  hint: a window and the filter w[f] of shape (C, KH, KW) = "
                        f"{w.shape[1:]} differ in shape: cut every window from the padded input, "
                        "xp[n, :, i*stride : i*stride + KH, j*stride : j*stride + KW]")  # fmt: skip
            raise AssertionError(f"{name} raised {type(exc).__name__}: {exc}{hint}") from exc
    T.assert_allclose(got, expected, name=name, mistakes=mistakes,
                      hint="out[n, f, i, j] = b[f] + sum over c, p, q of "
                      "xpad[n, c, i*stride + p, j*stride + q] * w[f, c, p, q]")  # fmt: skip


# Worked example 1: a 2 x 2 kernel of ones sums each window, then the bias 1 is added:
# out[0, 0, 0, 0] = 0 + 1 + 3 + 4 + 1 = 9.
x = np.arange(9.0).reshape(1, 1, 3, 3)  # [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
check_conv(x, np.ones((1, 1, 2, 2)), np.array([1.0]), stride=1, pad=0,
           expected=np.array([[[[9.0, 13.0], [21.0, 25.0]]]]))  # fmt: skip

# Worked example 2: a 3 x 2 kernel (KH = 3 rows, KW = 2 columns) with a single 1 in its top-left
# corner copies the top-left pixel of each window. With stride 2 and pad 1 the windows start at
# rows 0 and 2 and at columns 0, 2 and 4 of the padded 6 x 6 input:
# OH = (4 + 2*1 - 3) // 2 + 1 = 2 and OW = (4 + 2*1 - 2) // 2 + 1 = 3.
x = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)  # rows [1..4], [5..8], [9..12], [13..16]
w = np.zeros((1, 1, 3, 2))
w[0, 0, 0, 0] = 1.0
check_conv(x, w, np.zeros(1), stride=2, pad=1, expected=np.array([[[[0.0, 0, 0], [0, 6, 8]]]]))

# Worked example 3: two channels in, two filters out, stride 2, pad 1. The padded channels are
#   0 0 0 0 0      0  0  0  0 0
#   0 1 2 3 0      0 11 12 13 0
#   0 4 5 6 0      0 14 15 16 0      2 x 2 windows start at rows and columns 0 and 2,
#   0 7 8 9 0      0 17 18 19 0      so OH = OW = (3 + 2*1 - 2) // 2 + 1 = 2.
#   0 0 0 0 0      0  0  0  0 0
# Filter 0 takes the bottom-right pixel of channel 0 (1, 3, 7, 9) and adds its bias 100; filter 1
# takes the top-right pixel of channel 1 (0, 0, 14, 16) and adds 200. Each output value sums
# over both channels: the zero weights of the other channel add nothing.
x = np.stack([np.arange(1.0, 10.0), np.arange(11.0, 20.0)]).reshape(1, 2, 3, 3)
w = np.zeros((2, 2, 2, 2))
w[0, 0, 1, 1] = 1.0  # filter 0, channel 0, bottom-right
w[1, 1, 0, 1] = 1.0  # filter 1, channel 1, top-right
check_conv(x, w, np.array([100.0, 200.0]), stride=2, pad=1,
           expected=np.array([[[[101.0, 103], [107, 109]], [[200, 200], [214, 216]]]]))  # fmt: skip
### BEGIN HIDDEN TESTS
# N, C, H, W, F, KH, KW, stride, pad: odd and non-square sizes, C > 1, F > 1, N > 1, stride 2
# and 3 with padding. The first case has N = F = OH = OW = 3, so that a bias added on the wrong
# axis broadcasts silently (and is named) instead of raising a broadcasting error.
configs = [(3, 2, 5, 6, 3, 3, 3, 2, 1), (2, 3, 7, 6, 4, 3, 2, 1, 0), (2, 2, 9, 8, 3, 3, 3, 2, 1),
           (1, 3, 10, 7, 2, 4, 3, 3, 2), (2, 1, 6, 5, 2, 1, 1, 1, 0), (1, 4, 8, 11, 5, 5, 3, 2, 2)]  # fmt: skip
rng = np.random.default_rng(606)
for n, c, h, wd, f, kh, kw, stride, pad in configs:
    x = rng.normal(size=(n, c, h, wd))
    w = rng.normal(size=(f, c, kh, kw))
    b = rng.normal(size=f)
    ref = cl.layers.conv_forward(x, w, b, stride=stride, pad=pad)[0]
    check_conv(x, w, b, stride, pad, expected=ref)
# stride and pad are keyword-only, as in every layer of the course
with T.reference_helpers(**REFERENCES), T.raises(
    TypeError, match="positional", hint="stride and pad are keyword-only: keep the * of the "
    "signature conv_forward_naive(x, w, b, *, stride=1, pad=0)"
):  # fmt: skip
    conv_forward_naive(x, w, b, 2, 1)
### END HIDDEN TESTS

# %% [markdown]
# The figure runs one filter over the three colour channels of a small photo, and shows the
# contribution of each channel separately (by calling your function on one channel at a time,
# with bias 0) next to the full output. It uses no padding (valid mode), so every window lies
# inside the photo; the next figure shows what zero padding adds at the border.

# %%
block = 12 if cl.is_grading() else 8
rgb = shrink(photo_rgb, block)[None]  # (1, 3, H, W)
sobel_v = edge_kernels()["vertical"]
w_rgb = np.stack([sobel_v, np.zeros((3, 3)), -sobel_v])[None]  # (1, 3, 3, 3): red minus blue edges
b_rgb = np.array([0.1])
out_rgb = conv_forward_naive(rgb, w_rgb, b_rgb, pad=0)
parts = [
    conv_forward_naive(rgb[:, c : c + 1], w_rgb[:, c : c + 1], np.zeros(1), pad=0) for c in range(3)
]
print("input", rgb.shape, "weights", w_rgb.shape, "-> output", out_rgb.shape)
print("output == sum of channel contributions + bias:", np.allclose(out_rgb, sum(parts) + b_rgb[0]))

names = ["red", "green", "blue"]
m = max(np.percentile(np.abs(part), 99.5) for part in parts)  # one colour scale for the row
fig, axes = plt.subplots(2, 4, figsize=(15, 5.3), layout="constrained")
for c in range(3):
    axes[0, c].imshow(rgb[0, c], cmap="gray", vmin=0, vmax=1)
    axes[0, c].set_title(f"input channel {c} ({names[c]})")
    axes[1, c].imshow(parts[c][0, 0], cmap="RdBu_r", vmin=-m, vmax=m)
    axes[1, c].set_title(f"channel {c} * w[0, {c}]")
axes[0, 3].imshow(rgb[0].transpose(1, 2, 0))
axes[0, 3].set_title("input (RGB)")
im = axes[1, 3].imshow(out_rgb[0, 0], cmap="RdBu_r", vmin=-m, vmax=m)
axes[1, 3].set_title("output map = sum + bias 0.1")
fig.colorbar(im, ax=axes[1, :], fraction=0.02, label="response (one scale for the row)")
for ax in axes.ravel():
    ax.label_outer()
for ax in axes[1]:
    ax.set_xlabel("column")
for ax in axes[:, 0]:
    ax.set_ylabel("row")
fig.suptitle(
    "One filter (F=1) over C=3 channels: w[0, 0] = vertical Sobel, w[0, 1] = 0, w[0, 2] = -Sobel"
)
plt.show()

# the same with cnnlab's layer, for the sentence below
ref_parts = [cl.layers.conv_forward(rgb[:, c : c + 1], w_rgb[:, c : c + 1], np.zeros(1))[0]
             for c in range(3)]  # fmt: skip
ref_out = sum(ref_parts)
cancel = np.abs(ref_out).mean() / np.mean(
    [np.abs(ref_parts[0]).mean(), np.abs(ref_parts[2]).mean()]
)
print(f"mean |output - bias| / mean |red or blue contribution| = {cancel:.2f}")
cl.claim("the output is about half as strong as either contribution", cancel, low=0.4, high=0.65)

# %% [markdown]
# **What to see.** The red and blue contributions are nearly mirror images (a gray edge is equally
# strong in all channels), so they largely cancel in the sum: on average the output is about half
# as strong as either contribution (the printout gives the ratio). What survives are edges where
# red and blue change differently, such as the red woodwork of the temple against the pale sky.
# The bias adds 0.1 everywhere, which tints the whole output map slightly red. The filter is a
# *colour* edge detector that no single channel could implement: that is why filters span all
# channels.
#
# With several filters the output gains depth. Here F = 4 filters on the same image, now with
# `pad = 1` so that the maps keep the input's size: vertical edges, horizontal edges, a blur, and
# a 'redness' detector (red minus the mean of green and blue, only at the centre pixel).

# %%
sobel_h = edge_kernels()["horizontal"]
gray_avg = np.ones(3)[:, None, None] / 3  # the same kernel on every channel, averaged
centre = np.zeros((3, 3))
centre[1, 1] = 1.0
w_bank = np.stack([gray_avg * sobel_v, gray_avg * sobel_h, gray_avg * np.ones((3, 3)) / 9,
                   np.stack([centre, -centre / 2, -centre / 2])])  # fmt: skip
b_bank = np.zeros(4)
t0 = time.perf_counter()
maps = conv_forward_naive(rgb, w_bank, b_bank, stride=1, pad=1)
print(f"x {rgb.shape}, w {w_bank.shape} -> out {maps.shape} in {time.perf_counter() - t0:.2f} s")
fig, axes = plt.subplots(1, 5, figsize=(17, 3.4), layout="constrained")
axes[0].imshow(rgb[0].transpose(1, 2, 0))
axes[0].set_title(f"input x[0], C = {rgb.shape[1]}")
for f, name in enumerate(["vertical edges", "horizontal edges", "blur", "redness"]):
    # symmetric limits (0 is white), set by the inside of the map: the one-pixel border sees the
    # zero padding, and its values beyond the limits are drawn in the darkest colour
    m = np.abs(maps[0, f, 1:-1, 1:-1]).max()
    im = axes[f + 1].imshow(maps[0, f], cmap="RdBu_r", vmin=-m, vmax=m)
    fig.colorbar(im, ax=axes[f + 1], fraction=0.046)
    axes[f + 1].set_title(f"out[0, {f}]: {name}")
for ax in axes:
    ax.set_xlabel("column")
    ax.set_ylabel("row")
fig.suptitle(f"A layer with F = 4 filters, pad 1: output {maps.shape} = (N, F, OH, OW)")
plt.show()

ref_maps = cl.layers.conv_forward(rgb, w_bank, b_bank, pad=1)[0][0]
inside = np.abs(ref_maps[:, 1:-1, 1:-1]).max(axis=(1, 2))
border = np.array(
    [np.abs(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])).max() for a in ref_maps]
)
print("largest |response| inside the map:    ", inside.round(2))
print("largest |response| on its outer ring: ", border.round(2))
cl.claim("false edges on the border outshine every real edge", bool(np.all(border[:2] > inside[:2])),
         equals=True)  # fmt: skip
blur_border = np.concatenate(
    [ref_maps[2, 0], ref_maps[2, -1], ref_maps[2, :, 0], ref_maps[2, :, -1]]
)
blur_next = np.concatenate([ref_maps[2, 1, 1:-1], ref_maps[2, -2, 1:-1], ref_maps[2, 1:-1, 1],
                            ref_maps[2, 1:-1, -2]])  # fmt: skip
cl.claim("the blur is darker on the border", blur_border.mean() / blur_next.mean(), high=0.8)
redness = rgb[0, 0] - (rgb[0, 1] + rgb[0, 2]) / 2  # the redness filter, pixel by pixel
cl.claim(
    "the redness map has no padding frame", bool(np.allclose(ref_maps[3], redness)), equals=True
)

# %% [markdown]
# **What to see.** One input image became four *feature maps*, one per filter, each highlighting
# something different; red and blue are responses of opposite sign, white is 0. The one-pixel frame
# around the first three maps is an artefact of the zero padding: a window there hangs over the
# border and sees black zeros next to the photo. (The redness filter has no frame: it reads only the
# centre pixel of its window, which is always inside the photo.) To an edge kernel that looks like a
# strong edge, strongest where the photo is bright (the sky at the top, sky and water on the right),
# and these false edges are stronger than every real edge inside the photo (the printout compares
# the two). That is why each colour range is set from the inside of its map, with the frame's larger
# values drawn in the darkest colour. The blur averages the zeros in, so its frame has lower values
# than the photo behind it (a paler red). Networks live with this (or pad by copying the edge pixels
# instead); just do not read the border of a padded feature map as content. A trained network learns
# the weights of such a bank of filters, and the next layer treats the F maps as its input channels.
#
# ## 10. Counting parameters
#
# A convolutional layer with F filters of shape (C, KH, KW) has **F · C · KH · KW weights and F
# biases**, and this number does not depend on the image size. A dense layer from `n_in` inputs to
# `n_out` outputs has `n_in · n_out` weights and `n_out` biases.
#
# ### Exercise 7: `conv_param_count` (1 point) and Exercise 8: `dense_param_count` (1 point)
#
# Count the learnable numbers of each layer; `bias=False` means the layer has no bias (common
# right before batch normalisation, which you will meet in notebook 02).


# %% nbgrader={"grade": false, "grade_id": "conv_param_count", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_param_count(c_in, c_out, kh, kw, bias=True):
    """Number of learnable parameters of a convolutional layer.

    Parameters
    ----------
    c_in : int
        Input channels C.
    c_out : int
        Filters F (= output channels).
    kh, kw : int
        Kernel height and width.
    bias : bool
        Whether the layer has one bias per filter.

    Returns
    -------
    int
        ``c_out * c_in * kh * kw`` weights, plus ``c_out`` biases if ``bias``.
    """
    ### BEGIN SOLUTION
    return int(c_out * c_in * kh * kw + (c_out if bias else 0))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_param_count", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import cnnlab.testing as T


def check_conv_count(c_in, c_out, kh, kw, bias):
    """Call conv_param_count and name the mistake when the count is wrong."""
    expected = c_out * c_in * kh * kw + (c_out if bias else 0)
    got = conv_param_count(c_in, c_out, kh, kw, bias=bias)
    if got == c_out * kh * kw + (c_out if bias else 0) and c_in > 1:
        hint = "every filter spans all c_in input channels: c_out * c_in * kh * kw weights"
    elif bias and got == c_out * c_in * kh * kw:
        hint = "bias missing: one bias per filter, c_out of them"
    elif not bias and got == c_out * c_in * kh * kw + c_out:
        hint = "bias=False means no bias at all"
    elif bias and got == 2 * c_out * c_in * kh * kw:
        hint = "one bias per filter (c_out in total), not one per weight"
    elif bias and got == c_out * c_in * kh * kw + c_in:
        hint = "one bias per filter: c_out biases, not one per input channel (c_in)"
    else:
        hint = "c_out * c_in * kh * kw weights, plus c_out biases when bias=True"
    T.assert_equal(got, expected, name=f"conv_param_count({c_in}, {c_out}, {kh}, {kw}, bias={bias})",
                   hint=hint)  # fmt: skip


# Worked examples: 16 filters of shape (3, 3, 3) = 16 * 27 = 432 weights, plus 16 biases = 448;
# without a bias, 32 filters of shape (16, 3, 3) have 32 * 144 = 4,608 parameters.
check_conv_count(3, 16, 3, 3, bias=True)
check_conv_count(16, 32, 3, 3, bias=False)
### BEGIN HIDDEN TESTS
import numpy as np

rng = np.random.default_rng(707)
cases = [(1, 1, 1, 1, True), (64, 128, 3, 3, False), (3, 96, 11, 11, True), (5, 7, 2, 4, True)]
cases += [(int(rng.integers(1, 65)), int(rng.integers(1, 65)), int(rng.integers(1, 8)),
           int(rng.integers(1, 8)), bool(rng.integers(0, 2))) for _ in range(20)]  # fmt: skip
for c_in, c_out, kh, kw, bias in cases:
    check_conv_count(c_in, c_out, kh, kw, bias)
### END HIDDEN TESTS


# %% nbgrader={"grade": false, "grade_id": "dense_param_count", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dense_param_count(n_in, n_out, bias=True):
    """Number of learnable parameters of a fully connected layer ``y = W x + b``.

    Parameters
    ----------
    n_in : int
        Input features (for an image: C * H * W).
    n_out : int
        Output features.
    bias : bool
        Whether the layer has a bias vector of length ``n_out``.

    Returns
    -------
    int
        ``n_in * n_out`` weights, plus ``n_out`` biases if ``bias``.
    """
    ### BEGIN SOLUTION
    return int(n_in * n_out + (n_out if bias else 0))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_dense_param_count", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import cnnlab.testing as T


def check_dense_count(n_in, n_out, bias):
    """Call dense_param_count and name the mistake when the count is wrong."""
    expected = n_in * n_out + (n_out if bias else 0)
    got = dense_param_count(n_in, n_out, bias=bias)
    if bias and got == n_in * n_out:
        hint = "bias missing: one bias per output, n_out of them"
    elif bias and got == n_in * n_out + n_in:
        hint = "one bias per OUTPUT: n_out biases, not n_in"
    elif not bias and got == expected + n_out:
        hint = "bias=False means no bias at all"
    else:
        hint = "n_in * n_out weights, plus n_out biases when bias=True"
    T.assert_equal(
        got, expected, name=f"dense_param_count({n_in}, {n_out}, bias={bias})", hint=hint
    )


# Worked examples: a 32x32x3 image flattened to 3,072 inputs, 100 neurons: 307,200 weights + 100;
# 784 inputs to 10 outputs without a bias: 7,840 weights and nothing else.
check_dense_count(3072, 100, bias=True)
check_dense_count(784, 10, bias=False)
### BEGIN HIDDEN TESTS
import numpy as np

rng = np.random.default_rng(808)
cases = [(1, 1, True), (10, 1, False), (784, 10, True), (3072, 16384, False)]
cases += [(int(rng.integers(1, 5000)), int(rng.integers(1, 500)), bool(rng.integers(0, 2)))
          for _ in range(20)]  # fmt: skip
for n_in, n_out, bias in cases:
    check_dense_count(n_in, n_out, bias)
### END HIDDEN TESTS

# %% [markdown]
# Compare a convolutional layer with dense layers on a 32 x 32 x 3 input. The conv layer
# (16 filters of 3 x 3, pad 1) produces 16 x 32 x 32 = 16,384 numbers; a dense layer producing
# as many numbers needs vastly more parameters, and even a small dense layer of 100 neurons is
# much bigger than the conv layer. The second bar is the conv layer that would come next (16
# channels in, 32 filters out): even with 16 input channels it stays small.

# %%
in_features = 32 * 32 * 3
out_values = 16 * conv_output_size(32, 3, pad=1) ** 2
counts = {
    "conv 3->16, 3x3\n(16x32x32 outputs)": conv_param_count(3, 16, 3, 3),
    "conv 16->32, 3x3\n(next layer)": conv_param_count(16, 32, 3, 3),
    "dense 3072->100": dense_param_count(in_features, 100),
    f"dense 3072->{out_values}\n(same outputs as conv)": dense_param_count(in_features, out_values),
}
for name, count in counts.items():
    print(f"{name.splitlines()[0]:<22} {count:>14,} parameters")

fig, ax = plt.subplots(figsize=(9, 3.8))
bars = ax.barh(
    list(counts), list(counts.values()), color=["tab:blue", "tab:blue", "tab:orange", "tab:orange"]
)
ax.bar_label(bars, labels=[f"{v:,}" for v in counts.values()], padding=3)
ax.set_xscale("log")
ax.set_xlim(100, 1e10)
ax.set_xlabel("learnable parameters (log scale)")
ax.set_title("Parameters of layers on a 32 x 32 x 3 input")
ax.invert_yaxis()
fig.tight_layout()
plt.show()
conv_448 = 16 * 3 * 3 * 3 + 16  # 16 filters of shape (3, 3, 3), 16 biases
dense_same = in_features * 16 * 32 * 32 + 16 * 32 * 32
cl.claim("16 x 32 x 32 = 16,384 numbers", out_values, equals=16_384)
cl.claim("the conv layer has 448 parameters", conv_448, equals=448)
cl.claim("the dense layer with the same outputs: 50 million", dense_same, low=50e6, high=51e6)
cl.claim("more than 100,000 times more", dense_same / conv_448, low=1e5, high=2e5)

# %% [markdown]
# **What to see.** The axis is logarithmic: the dense layer with the same output size has more
# than 100,000 times as many parameters as the conv layer (50 million against 448). Local
# connectivity and sharing are what make deep networks on images affordable.
#
# ## 11. im2col: a whole convolution as one matrix multiply
#
# Your loop version runs the Python interpreter once per output value, and each run does only a
# few dozen multiplications. Matrix multiplication, on the other hand, is the most optimised
# routine in numerical computing: BLAS libraries split it into cache-sized blocks, use the CPU's
# vector instructions and several cores. So the classic trick (used by Caffe and described in the
# [CS231n notes](https://cs231n.github.io/convolutional-networks/#conv); see also
# [Chellapilla et al., 2006](https://inria.hal.science/inria-00112631)) is to rearrange the input
# so that the convolution *becomes* a matrix multiply:
#
# 1. **im2col** ("image to columns"): copy every receptive field into one row of a matrix
#    `cols` of shape **(N·OH·OW, C·KH·KW)**. (Caffe and the CS231n notes store each window as a
#    *column*, hence the name; this course uses the transpose, one window per row, and keeps the
#    name.) Row `n·OH·OW + i·OW + j` holds the window of image `n` at output position (i, j);
#    column `c·KH·KW + p·KW + q` holds its pixel `xpad[n, c, i·stride + p, j·stride + q]`. This
#    column order is exactly the order of `w[f].ravel()`, so...
# 2. ...with `w_mat = w.reshape(F, C·KH·KW)`, every output value is a row of `cols` times a row of
#    `w_mat`: `cols @ w_mat.T` is a matrix of shape (N·OH·OW, F) holding all of them at once.
# 3. Add the bias and move the axes back: reshape to (N, OH, OW, F) and transpose to
#    (N, F, OH, OW).
#
# The price is memory: a pixel appears in up to KH·KW rows (KH·KW / stride² on average), so
# `cols` is about 9 times larger than the input for a 3 x 3 kernel with stride 1.
#
# The figure shows `cols` for a tiny input: one image, two channels of 3 x 3 pixels (values 1-9 in
# channel 0 and 11-19 in channel 1), a 2 x 2 kernel, stride 1. It is drawn with the course's
# `cl.layers.im2col`, which has exactly the layout Exercise 9 asks for.

# %%
tiny = np.stack([np.arange(1.0, 10.0), np.arange(11.0, 20.0)]).reshape(1, 2, 3, 3)
tiny_cols = cl.layers.im2col(tiny, 2, 2)  # the course's im2col, with the layout of Exercise 9
fig, axes = plt.subplots(1, 3, figsize=(14, 3.6), width_ratios=[1, 1, 2.6])
for c in range(2):
    axes[c].imshow(tiny[0, c], cmap="viridis", vmin=0, vmax=20)
    for (i, j), v in np.ndenumerate(tiny[0, c]):
        axes[c].text(j, i, f"{v:g}", ha="center", va="center", color="white")
    axes[c].set_title(f"input channel {c}")
    axes[c].set_xticks(range(3))
    axes[c].set_yticks(range(3))
    axes[c].set_xlabel("column")
    axes[c].set_ylabel("row")
axes[2].imshow(tiny_cols, cmap="viridis", vmin=0, vmax=20)
for (i, j), v in np.ndenumerate(tiny_cols):
    axes[2].text(j, i, f"{v:g}", ha="center", va="center", color="white")
axes[2].axvline(3.5, color="red", lw=2)
axes[2].set_xticks(range(8), [f"c{c} p{p} q{q}" for c in range(2) for p in range(2) for q in range(2)],
                   rotation=45, ha="right")  # fmt: skip
axes[2].set_yticks(range(4), [f"(i={i}, j={j})" for i in range(2) for j in range(2)])
axes[2].set_xlabel("column c*KH*KW + p*KW + q")
axes[2].set_ylabel("row = output position")
axes[2].set_title(f"cl.layers.im2col(x, 2, 2): shape {tiny_cols.shape}")
fig.tight_layout()
plt.show()
cl.claim("the centre pixel 5 appears four times", int(np.sum(tiny_cols == 5)), equals=4)
x_demo = np.zeros((1, 3, 32, 32))
growth = cl.layers.im2col(x_demo, 3, 3, pad=1).size / x_demo.size
print(
    f"3 x 3 kernel, stride 1, pad 1 on a 32 x 32 input: cols holds {growth:g} times as many numbers"
)
cl.claim("cols about 9 times larger for 3 x 3, stride 1", growth, low=8.5, high=9.0)

# %% [markdown]
# **What to see.** Each row is one 2 x 2 window, flattened channel by channel (channel 0 left of
# the red line, channel 1 right of it). The centre pixel 5 sits in all four windows and therefore
# appears four times: that duplication is the memory cost of im2col.

# %% [markdown]
# ### Exercise 9: `im2col` (3 points)
#
# Build the matrix `cols` of shape (N·OH·OW, C·KH·KW) described above, with the row and column
# order given in the docstring (the tests check it, because `conv_forward_im2col` relies on it).
# `stride` and `pad` are keyword-only: `im2col(x, 3, 3, stride=2, pad=1)`. Use your `zero_pad`
# and `conv_output_size`.
#
# <details><summary>Hint 1</summary>
#
# Pad once, and compute OH and OW. The simplest version loops over the output positions (i, j)
# and handles all N images at once: at each position, the windows of the N images form one slice
# of the padded batch, of shape (N, C, KH, KW).
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Flattening one (C, KH, KW) window in NumPy's order gives exactly the column order
# c·KH·KW + p·KW + q. For the rows, collect the windows in an array of shape
# (N, OH, OW, C, KH, KW), indexed by image, output position and pixel; one reshape at the end
# to (N·OH·OW, C·KH·KW) then puts every row and column in its place. (A faster version loops over
# the KH·KW kernel offsets (p, q) instead and copies one strided slice per offset.)
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "im2col", "locked": false, "schema_version": 3, "solution": true, "task": false}
def im2col(x, kh, kw, *, stride=1, pad=0):
    """Copy every receptive field of a batch into one row of a matrix.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kh, kw : int
        Kernel height and width.
    stride : int
        Step between windows.
    pad : int
        Zeros added on each side of H and W.

    Returns
    -------
    cols : ndarray, shape (N*OH*OW, C*KH*KW)
        Row ``n*OH*OW + i*OW + j`` is the window of image ``n`` at output position (i, j);
        column ``c*KH*KW + p*KW + q`` of that row is ``xpad[n, c, i*stride + p, j*stride + q]``,
        where ``xpad = zero_pad(x, pad)`` and ``OH, OW`` follow ``conv_output_size``.
    """
    ### BEGIN SOLUTION
    n, c, h, w = x.shape
    oh = conv_output_size(h, kh, stride, pad)
    ow = conv_output_size(w, kw, stride, pad)
    xp = zero_pad(x, pad)
    cols = np.empty((n, oh, ow, c, kh, kw), dtype=np.result_type(x.dtype, np.float64))
    for p in range(kh):
        for q in range(kw):
            # pixel (p, q) of every window: a strided slice of shape (N, C, OH, OW)
            patch = xp[:, :, p : p + stride * oh : stride, q : q + stride * ow : stride]
            cols[:, :, :, :, p, q] = patch.transpose(0, 2, 3, 1)
    return cols.reshape(n * oh * ow, c * kh * kw)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_im2col", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T
from cnnlab.mistakes import im2col_mistakes

FORBIDDEN = T.CONVOLUTION_LIBRARIES

# check_* compares your result with the expected one and, when it reproduces a known mistake
# (listed in cnnlab/mistakes.py), names it in the failure message. Worked examples follow.
# While it runs, your earlier answers are replaced by references with the same contract, so
# that a mistake in one of them costs that exercise only (and is reported there).


def zero_pad_reference(x, pad):
    """Exercise 4's contract, built as in its test."""
    ph, pw = (pad, pad) if np.ndim(pad) == 0 else pad
    n, c, h, w = x.shape
    xpad = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xpad[:, :, ph : ph + h, pw : pw + w] = x
    return xpad


REFERENCES = {"conv_output_size": cl.layers.conv_output_size, "zero_pad": zero_pad_reference}


def check_im2col(x, kh, kw, stride, pad, expected):
    """Call im2col (library convolutions forbidden), compare, and name the mistake if one fits."""
    name = f"im2col(x {x.shape}, {kh}, {kw}, stride={stride}, pad={pad})"
    mistakes = im2col_mistakes(x, kh, kw, stride, pad)
    with T.forbid_calls(*FORBIDDEN, exercise="im2col"), T.reference_helpers(**REFERENCES):
        try:
            got = im2col(x.copy(), kh, kw, stride=stride, pad=pad)
        except Exception as exc:  # a crash is a failed check, with what to look at
            raise AssertionError(
                f"{name} raised {type(exc).__name__}: {exc}\n  hint: every window has shape "
                f"(C, KH, KW) = {(x.shape[1], kh, kw)}, cut from xpad = zero_pad(x, pad) at rows "
                "i*stride ... i*stride + KH - 1 and columns j*stride ... j*stride + KW - 1"
            ) from exc
    T.assert_allclose(got, expected, name=name, mistakes=mistakes,
                      hint="row n*OH*OW + i*OW + j, column c*KH*KW + p*KW + q holds "
                      "xpad[n, c, i*stride + p, j*stride + q]")  # fmt: skip


# Worked example 1: a 3 x 3 image, 2 x 2 windows: four windows (rows), four pixels each.
x = np.arange(9.0).reshape(1, 1, 3, 3)  # [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
check_im2col(
    x,
    2,
    2,
    stride=1,
    pad=0,
    expected=np.array([[0.0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]]),
)

# Worked example 2: two channels, one window: channel 0's four pixels come first, then channel 1's.
x = np.arange(8.0).reshape(1, 2, 2, 2)
check_im2col(x, 2, 2, stride=1, pad=0, expected=np.arange(8.0).reshape(1, 8))

# Worked example 3: two images, 1 x 1 windows, stride 2: pixels (0, 0), (0, 2), (2, 0), (2, 2) of
# image 0 first, then those of image 1.
x = np.arange(18.0).reshape(2, 1, 3, 3)
check_im2col(
    x, 1, 1, stride=2, pad=0, expected=np.array([[0.0], [2], [6], [8], [9], [11], [15], [17]])
)

# Worked example 4: pad 1 and stride 2, with 2 x 3 windows (KH = 2 rows, KW = 3 columns).
#   0 0 0 0 0
#   0 1 2 3 0     The padded 5 x 5 input. Windows start at rows 0 and 2 and at columns 0 and 2:
#   0 4 5 6 0     OH = (3 + 2*1 - 2) // 2 + 1 = 2 and OW = (3 + 2*1 - 3) // 2 + 1 = 2.
#   0 7 8 9 0     Each row below is one window, read row by row.
#   0 0 0 0 0
x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
check_im2col(x, 2, 3, stride=2, pad=1, expected=np.array([[0.0, 0, 0, 0, 1, 2], [0, 0, 0, 2, 3, 0],
                                                          [0, 4, 5, 0, 7, 8], [5, 6, 0, 8, 9, 0]]))  # fmt: skip
### BEGIN HIDDEN TESTS
# N, C, H, W, KH, KW, stride, pad
configs = [(2, 3, 8, 6, 3, 2, 1, 0), (1, 2, 7, 9, 3, 3, 2, 1), (2, 1, 10, 7, 4, 3, 3, 2),
           (3, 2, 5, 5, 1, 1, 1, 0), (2, 3, 9, 8, 2, 3, 2, 2)]  # fmt: skip
rng = np.random.default_rng(909)
for n, c, h, wd, kh, kw, stride, pad in configs:
    x = rng.normal(size=(n, c, h, wd))
    ref = cl.layers.im2col(x, kh, kw, stride=stride, pad=pad)
    check_im2col(x, kh, kw, stride, pad, expected=ref)
# stride and pad are keyword-only, as in cnnlab's im2col
with T.reference_helpers(**REFERENCES), T.raises(
    TypeError, match="positional", hint="stride and pad are keyword-only: keep the * of the "
    "signature im2col(x, kh, kw, *, stride=1, pad=0)"
):  # fmt: skip
    im2col(x, 3, 3, 2, 1)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 10: `conv_forward_im2col` (3 points)
#
# Implement the convolutional layer with your `im2col` and a **single matrix multiply**, no loops
# (the test reads your function for `for` and `while` loops and comprehensions). Inputs, output
# and the keyword-only `stride` and `pad` are those of `conv_forward_naive`, and it must give the
# same result, without calling it: a wrapper around `conv_forward_naive` earns no points.
#
# <details><summary>Hint 1</summary>
#
# Follow the three steps above: the windows as the rows of one matrix (your `im2col`, with the
# layer's kernel size, stride and padding), the filters as the rows of another, one matrix
# product between them; then add the biases and put the axes in the order (N, F, OH, OW).
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# `cols @ w.reshape(F, -1).T` has shape (N·OH·OW, F): one row per output position, one column
# per filter, so the biases broadcast along the rows. The rows come in the order (n, i, j), so
# the result reshapes to (N, OH, OW, F); a transpose then moves the filter axis to position 1.
# Reshaping straight to (N, F, OH, OW) would keep the shape right but scramble the values.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "conv_forward_im2col", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_forward_im2col(x, w, b, *, stride=1, pad=0):
    """Forward pass of a convolutional layer as one matrix multiply on im2col columns.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, KH, KW)
    b : ndarray, shape (F,)
    stride, pad : int
        As in ``conv_forward_naive``.

    Returns
    -------
    out : ndarray, shape (N, F, OH, OW)
        Equal to ``conv_forward_naive(x, w, b, stride=stride, pad=pad)``.
    """
    ### BEGIN SOLUTION
    n, c, h, wid = x.shape
    f, c_w, kh, kw = w.shape
    if c_w != c or np.shape(b) != (f,):
        raise ValueError(f"need w (F, {c}, KH, KW) and b (F,), got {w.shape} and {np.shape(b)}")
    oh = conv_output_size(h, kh, stride, pad)
    ow = conv_output_size(wid, kw, stride, pad)
    cols = im2col(x, kh, kw, stride=stride, pad=pad)  # (N*OH*OW, C*KH*KW)
    out = cols @ w.reshape(f, -1).T + b  # (N*OH*OW, F)
    return out.reshape(n, oh, ow, f).transpose(0, 3, 1, 2)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_forward_im2col", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T
from cnnlab.mistakes import conv_forward_mistakes

FORBIDDEN = T.CONVOLUTION_LIBRARIES

# check_* compares your result with the expected one and, when it reproduces a known mistake
# (listed in cnnlab/mistakes.py), names it in the failure message. Worked examples follow.
# While it runs, your earlier answers are replaced by references with the same contract, so
# that a mistake in one of them costs that exercise only (and is reported there).


def zero_pad_reference(x, pad):
    """Exercise 4's contract, built as in its test."""
    ph, pw = (pad, pad) if np.ndim(pad) == 0 else pad
    n, c, h, w = x.shape
    xpad = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xpad[:, :, ph : ph + h, pw : pw + w] = x
    return xpad


def check_conv(x, w, b, stride, pad, expected):
    """Call conv_forward_im2col (library convolutions and your loop version forbidden) with
    reference helpers; compare, and name the mistake if one fits."""
    name = f"conv_forward_im2col(x {x.shape}, w {w.shape}, b, stride={stride}, pad={pad})"
    f, c, kh, kw = w.shape
    mistakes = conv_forward_mistakes(x, w, b, stride, pad)
    calls = []  # how your function called im2col: (kh, kw, stride, pad)

    def im2col_reference(x, kh, kw, *, stride=1, pad=0):
        """Exercise 9's contract (cnnlab's im2col has the same row and column order)."""
        calls.append((kh, kw, stride, pad))
        return cl.layers.im2col(x, kh, kw, stride=stride, pad=pad)

    references = {"im2col": im2col_reference, "conv_output_size": cl.layers.conv_output_size,
                  "zero_pad": zero_pad_reference}  # fmt: skip
    hint = None
    with T.forbid_calls(*FORBIDDEN, "__main__.conv_forward_naive", exercise="conv_forward_im2col",
                        hint="Build it from your im2col and one matrix multiply."), \
            T.reference_helpers(**references):  # fmt: skip
        try:
            got = conv_forward_im2col(x.copy(), w.copy(), b.copy(), stride=stride, pad=pad)
        except Exception as exc:  # a crash is a failed check, with what to look at
            got = exc
    for call_kh, call_kw, call_stride, call_pad in calls:
        if (call_stride, call_pad) != (stride, pad):
            hint = (f"im2col was called with stride={call_stride}, pad={call_pad}, but this layer "
                    f"has stride={stride}, pad={pad}: pass both on to im2col")  # fmt: skip
        elif (call_kh, call_kw) != (kh, kw):
            hint = (f"im2col was called with a {call_kh} x {call_kw} window, but the kernel is "
                    f"KH x KW = {kh} x {kw}")  # fmt: skip
    if isinstance(got, TypeError) and "im2col_reference() takes" in str(got):
        hint = ("im2col takes stride and pad as keyword-only arguments: pass them as "
                "stride=..., pad=...")  # fmt: skip
    if isinstance(got, Exception):
        hint = hint or (f"cols has shape (N*OH*OW, C*KH*KW); w.reshape(F, -1).T has shape "
                        f"(C*KH*KW, F) = ({c * kh * kw}, {f}); their product (N*OH*OW, F) is "
                        "reshaped to (N, OH, OW, F), then transposed to (N, F, OH, OW)")  # fmt: skip
        raise AssertionError(f"{name} raised {type(got).__name__}: {got}\n  hint: {hint}") from got
    T.assert_allclose(got, expected, name=name,
                      mistakes=[] if hint else mistakes,
                      hint=hint or "out[n, f, i, j] = b[f] + sum over c, p, q of "
                      "xpad[n, c, i*stride + p, j*stride + q] * w[f, c, p, q]")  # fmt: skip


# Worked example 1: the first one of conv_forward_naive, with two filters at once: filter 0 sums
# each window and adds 1, filter 1 gives minus the sum. The output is (N, F, OH, OW) = (1, 2, 2, 2).
x = np.arange(9.0).reshape(1, 1, 3, 3)
w = np.stack([np.ones((1, 2, 2)), -np.ones((1, 2, 2))])  # (2, 1, 2, 2)
check_conv(x, w, np.array([1.0, 0.0]), stride=1, pad=0,
           expected=np.array([[[[9.0, 13], [21, 25]], [[-8, -12], [-20, -24]]]]))  # fmt: skip

# Worked example 2: the third one of conv_forward_naive (two channels, two filters, stride 2,
# pad 1): filter 0 takes the bottom-right pixel of channel 0 of each window and adds 100, filter
# 1 the top-right pixel of channel 1 and adds 200.
x = np.stack([np.arange(1.0, 10.0), np.arange(11.0, 20.0)]).reshape(1, 2, 3, 3)
w = np.zeros((2, 2, 2, 2))
w[0, 0, 1, 1] = 1.0
w[1, 1, 0, 1] = 1.0
check_conv(x, w, np.array([100.0, 200.0]), stride=2, pad=1,
           expected=np.array([[[[101.0, 103], [107, 109]], [[200, 200], [214, 216]]]]))  # fmt: skip

# A loop over the windows would give the same numbers, so this check reads your code instead.
T.assert_no_loops("conv_forward_im2col",
                  rule="conv_forward_im2col must be one matrix product, without Python loops",
                  hint="a loop over windows or filters is what makes conv_forward_naive slow; "
                  "one product of the im2col rows with the filters (as a matrix) does all of "
                  "them at once")  # fmt: skip
### BEGIN HIDDEN TESTS
# N, C, H, W, F, KH, KW, stride, pad: odd and non-square sizes, C > 1, F > 1, N > 1, stride 2
# and 3 with padding. The first case has N = F = OH = OW = 3, so that a bias added on the wrong
# axis broadcasts silently (and is named) instead of raising a broadcasting error.
configs = [(3, 2, 5, 6, 3, 3, 3, 2, 1), (2, 3, 7, 6, 4, 3, 2, 1, 0), (2, 2, 9, 8, 3, 3, 3, 2, 1),
           (1, 3, 10, 7, 2, 4, 3, 3, 2), (2, 1, 6, 5, 2, 1, 1, 1, 0), (4, 4, 12, 11, 6, 5, 3, 2, 2)]  # fmt: skip
rng = np.random.default_rng(1010)
for n, c, h, wd, f, kh, kw, stride, pad in configs:
    x = rng.normal(size=(n, c, h, wd))
    w = rng.normal(size=(f, c, kh, kw))
    b = rng.normal(size=f)
    ref = cl.layers.conv_forward(x, w, b, stride=stride, pad=pad)[0]
    check_conv(x, w, b, stride, pad, expected=ref)
# stride and pad are keyword-only, as in conv_forward_naive
references = {"im2col": cl.layers.im2col, "conv_output_size": cl.layers.conv_output_size,
              "zero_pad": zero_pad_reference}  # fmt: skip
with T.reference_helpers(**references), T.raises(
    TypeError, match="positional", hint="stride and pad are keyword-only: keep the * of the "
    "signature conv_forward_im2col(x, w, b, *, stride=1, pad=0)"
):  # fmt: skip
    conv_forward_im2col(x, w, b, 2, 1)
### END HIDDEN TESTS

# %% [markdown]
# ### How much faster?
#
# Both versions run on the same random batch (N = 2 images, C = 3 channels, F = 8 filters of
# 3 x 3, pad 1) at growing image sizes. The loop version is timed once; the im2col version, being
# fast, is timed as the best of five runs. (The sizes are smaller while the notebook is graded.)

# %%
sizes = [8, 16] if cl.is_grading() else [8, 16, 24, 32]
rng = np.random.default_rng(2)
w_t = rng.normal(size=(8, 3, 3, 3))
b_t = rng.normal(size=8)
t_naive, t_im2col = [], []
for side in sizes:
    x_t = rng.normal(size=(2, 3, side, side))
    t0 = time.perf_counter()
    out_naive = conv_forward_naive(x_t, w_t, b_t, stride=1, pad=1)
    t_naive.append(time.perf_counter() - t0)
    best = np.inf
    for _ in range(5):
        t0 = time.perf_counter()
        out_fast = conv_forward_im2col(x_t, w_t, b_t, stride=1, pad=1)
        best = min(best, time.perf_counter() - t0)
    t_im2col.append(best)
    same = np.allclose(out_naive, out_fast)
    print(f"{side:>3}x{side:<3} naive {t_naive[-1] * 1e3:8.1f} ms   im2col {best * 1e3:7.2f} ms   "
          f"speed-up {t_naive[-1] / best:6.0f}x   same output: {same}")  # fmt: skip

pixels = np.array(sizes) ** 2
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
axes[0].loglog(pixels, np.array(t_naive) * 1e3, "o-", label="conv_forward_naive (loops)")
axes[0].loglog(pixels, np.array(t_im2col) * 1e3, "s-", label="conv_forward_im2col (one matmul)")
axes[0].set_xlabel("pixels per image (H * W)")
axes[0].set_ylabel("time (ms, log scale)")
axes[0].set_title("Forward pass time, N=2, C=3, F=8, 3x3")
axes[0].legend()
axes[0].grid(alpha=0.3, which="both")
axes[1].bar([f"{s}x{s}" for s in sizes], np.array(t_naive) / np.array(t_im2col))
axes[1].set_xlabel("image size")
axes[1].set_ylabel("speed-up (naive time / im2col time)")
axes[1].set_title("How many times faster im2col is")
fig.tight_layout()
plt.show()
speedup = np.array(t_naive) / np.array(t_im2col)
cl.claim("im2col more than ten times faster at every size", speedup.min(), low=10)
cl.claim("the gap widens with the image size", speedup[-1] / speedup[0], low=1.0)
cl.claim("the loop time grows faster than the im2col time",
         (t_naive[-1] / t_naive[0]) / (t_im2col[-1] / t_im2col[0]), low=1.0)  # fmt: skip

# %% [markdown]
# **What to see.** The loop time grows roughly in proportion to the number of pixels (one Python
# iteration per output value); the im2col time is far lower and grows more slowly at these small
# sizes, where fixed overheads dominate. Both versions give the same output. The speed-up depends on
# your machine (the printout gives yours): on the machines this course is tested on, im2col is more
# than ten times faster at every size, and the gap widens as the image grows, because the loop
# version pays the interpreter's overhead once for every output value and the matrix multiply once
# per call. The course's `cl.layers.conv_forward` is built on the same idea.
#
# ## Summary
#
# | quantity | shape or formula |
# |---|---|
# | input batch `x` | (N, C, H, W) |
# | weights `w`, bias `b` | (F, C, KH, KW), (F,) |
# | output | (N, F, OH, OW), `OH = (H + 2·pad − KH) // stride + 1` |
# | parameters | F·C·KH·KW + F, independent of H and W |
# | im2col matrix | (N·OH·OW, C·KH·KW) |
#
# - A convolutional layer is a dense layer with two constraints: each output sees only a small
#   window (local connectivity), and all positions share the same weights (parameter sharing).
#   That makes it cheap in parameters and, with stride 1, equivariant to shifts.
# - Deep-learning "convolution" is cross-correlation; true convolution flips the kernel.
# - Padding controls how the size shrinks, stride how fast it shrinks; the output-size formula
#   combines both.
# - Each filter sums over all input channels; F filters give F output channels.
# - Loops are clear but slow; rearranging the windows with im2col turns the whole layer into one
#   matrix multiply, which was more than ten times faster here at every size, and more so for
#   larger layers.
#
# **Next: 02-layers.** A layer must also say how the loss changes when its inputs and weights
# change. You will write the backward pass of the convolution and of the other layers of a CNN
# (ReLU, max and average pooling, fully connected, dropout, batch normalisation, softmax loss),
# check each against a numerical gradient, and stack them into a network that learns.
#
# **Further reading.** [CS231n: Convolutional Neural Networks](https://cs231n.github.io/convolutional-networks/);
# V. Dumoulin and F. Visin, [A guide to convolution arithmetic for deep learning](https://arxiv.org/abs/1603.07285);
# C. Olah, [Understanding Convolutions](https://colah.github.io/posts/2014-07-Understanding-Convolutions/);
# K. Chellapilla, S. Puri and P. Simard, [High Performance Convolutional Neural Networks for
# Document Processing](https://inria.hal.science/inria-00112631) (2006), the im2col idea.
