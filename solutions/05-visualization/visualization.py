# %% [markdown]
# # 05 · Looking inside a trained convnet
#
# A convnet with a good test accuracy has learned *something*, but the accuracy alone does not
# say what. In this notebook you open the network up and build the standard tools for looking
# inside it, each as a short NumPy function on top of the `cnnlab.nn` modules you know from
# notebooks 02 and 03.
#
# **When you finish this notebook you can**
#
# - show the first-layer filters of a network as images, each on its own grey scale;
# - read off the activations of any layer and draw the feature maps of one input;
# - find the images that excite a chosen channel most;
# - measure which regions of an image a prediction depends on, by occluding them (Zeiler and
#   Fergus) and by taking gradients with respect to the pixels (saliency maps, Simonyan et al.);
# - synthesise an input the network finds typical of a class, by gradient ascent on the image;
# - change an image a little so that the network predicts a class of your choice (a fooling
#   image);
# - map the penultimate-layer features of hundreds of images to 2-D with t-SNE;
# - count a network's errors in a confusion matrix and inspect the images with the largest loss;
# - say what each of these pictures does and does not show.
#
# **Builds on** 02-layers (forward and backward passes, `Sequential`) and 03-training (training
# loop, softmax, train and eval modes).
#
# **Time:** about 2.5 hours. The whole notebook runs in about a minute or less on a laptop CPU.
#
# **Exercises (25 points):** `normalize_for_display` (2), `get_activations` (3),
# `top_k_activating` (3), `occlusion_map` (4), `saliency_map` (3), `class_visualization` (3),
# `fooling_image` (3), `confusion_matrix` (2), `top_losses` (2). Every exercise cell is
# followed by a test cell; the tests you see are small worked examples, the grader adds more.
#
# Background reading: the CS231n notes
# [Visualizing what ConvNets learn](https://cs231n.github.io/understanding-cnn/) and
# Olah, Mordvintsev and Schubert, [Feature Visualization](https://distill.pub/2017/feature-visualization/)
# (Distill, 2017).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import time

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

import cnnlab as cl
from cnnlab import nn

# Our arrays are small: one BLAS/OpenMP thread is faster than several threads competing for
# the cores (t-SNE below is up to 10x faster this way on a busy 2-core machine).
threadpool_limits(1)

# %% [markdown]
# ## 1. The network we will look into
#
# We need a trained network, and we want it trained in seconds so that everything here can be
# regenerated offline from scratch: no weight file is shipped with this notebook, the cell below
# trains the model from a fixed seed every time you run it.
#
# The data are procedural shapes from `cl.data.make_shapes`: 20x20 grey images of eight classes
# (circle, square, triangle, cross, horizontal, vertical and diagonal bars, ring) at random
# positions, sizes and rotations, with a little pixel noise. They suit this notebook better than
# the 8x8 digits: the images are large enough for a 5x5 filter to mean something, and we know
# exactly what distinguishes the classes (straight edges, corners, orientation, a hole in the
# middle), so we can judge whether the pictures we make agree with it.

# %%
notebook_start = time.perf_counter()
class_names = cl.data.SHAPE_CLASSES
X_train, y_train, X_test, y_test = cl.data.shapes_split(2000, 500, size=20, seed=0)
print("train", X_train.shape, "test", X_test.shape, "classes", len(class_names))

first_of_each = [int(np.flatnonzero(y_train == k)[0]) for k in range(len(class_names))]
cl.plot.image_grid(
    X_train[first_of_each],
    titles=[class_names[k] for k in range(len(class_names))],
    title="One training image per class",
)
plt.show()

# %% [markdown]
# One example per class. Notice what a network has to ignore (position, size, brightness,
# rotation of the square and the triangle) and what it must not ignore (the orientation of the
# bars, the hole in the ring).
#
# The network follows the pattern of the course, `INPUT -> [CONV -> RELU -> POOL] x 2 -> FC ->
# RELU -> FC`, with 5x5 filters in the first layer so that they are big enough to look at.
# One change from the usual recipe: the first layer starts from random weights five times
# smaller than the He initialisation of notebook 03. Six epochs move the weights only by a
# limited amount, and from a full-size random start the trained filters would still look almost
# like their random noise; from a small start, the change training makes is larger than the
# starting weights, so it shows. (Try `build_model(first_layer_scale=1.0)` after this notebook
# and compare.)
# We keep a copy of the first-layer weights before training, to compare with later. The trained
# network is called `net`; the test cells build their own small models called `model`.


# %%
def build_model(seed=0, first_layer_scale=0.2):
    """The convnet of this notebook for (N, 1, 20, 20) shape images, 8 classes.

    The first conv layer starts from He weights times ``first_layer_scale``.
    """
    rng = np.random.default_rng(seed)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 5, pad=2, rng=rng),  # 0: (8, 20, 20)
        nn.ReLU(),  # 1
        nn.MaxPool2d(2, stride=2),  # 2: (8, 10, 10)
        nn.Conv2d(8, 16, 3, pad=1, rng=rng),  # 3: (16, 10, 10)
        nn.ReLU(),  # 4
        nn.MaxPool2d(2, stride=2),  # 5: (16, 5, 5)
        nn.Flatten(),  # 6: (400,)
        nn.Linear(16 * 5 * 5, 64, rng=rng),  # 7
        nn.ReLU(),  # 8: the penultimate features
        nn.Linear(64, len(class_names), rng=rng),  # 9: class scores
    )
    net[0].params["w"] *= first_layer_scale
    return net


net = build_model(seed=0)
net.summary((1, 20, 20))
w_init = net[0].params["w"].copy()

epochs = 2 if cl.is_grading() else 6
optimizer = cl.optim.Adam(net.params, lr=3e-3)
t0 = time.perf_counter()
history = cl.train.fit(
    net, optimizer, X_train, y_train, epochs=epochs, batch_size=64, val=(X_test, y_test), seed=0
)
print(f"trained {epochs} epochs in {time.perf_counter() - t0:.1f} s")
test_loss, test_acc = cl.train.evaluate(net, X_test, y_test)
print(f"test accuracy {test_acc:.3f}, test loss {test_loss:.3f}")
if not cl.is_grading():
    cl.claim("a test accuracy of about 93 %", test_acc, low=0.90, high=0.96)
    steps_up = [np.diff(history[k]).min() for k in ("train_acc", "val_acc")]
    steps_up += [-np.diff(history[k]).max() for k in ("train_loss", "val_loss")]
    cl.claim("loss and accuracy improve epoch after epoch", min(steps_up), low=0.0)
    cl.claim("validation curves follow the training ones: no overfitting yet",
             history["val_acc"][-1] - history["train_acc"][-1], low=-0.02)  # fmt: skip
net.eval()
cl.plot.training_curves(history, title="Training the shapes convnet")
plt.show()

# %% [markdown]
# Loss and accuracy improve epoch after epoch, and the validation curves (on the test images)
# follow the training ones closely: no overfitting yet. More epochs would still help, but a test
# accuracy of about 93 % is what we want here - a good network that still makes mistakes worth
# a look in section 10. (The training accuracy is a running mean over each epoch, which is why it
# starts below the validation accuracy measured at the epoch's end.)
# From here on the model stays in **eval mode**: every picture we make should show the network as
# it is used for prediction, not with dropout or batch statistics mixed in.

# %% [markdown]
# ## 2. First-layer filters as images
#
# The first convolution layer is the only one whose weights live in pixel space: filter `f` is
# a small image of shape `(C, KH, KW)` that is slid over the input, and its response is large
# where the input looks like it. So we can simply *show* the filters. An edge detector shows a
# dark side and a bright side, a blob detector a bright centre.
#
# The weights are small numbers of either sign, so to show them we map each filter to `[0, 1]`
# with its own minimum and maximum: `(w_f - min(w_f)) / (max(w_f) - min(w_f))`. Why each filter
# on its own? One filter with large weights would otherwise take the whole grey range and the
# others would all look flat grey. A filter whose weights are all equal has no pattern to show
# and no range to divide by; it becomes a uniform 0.5.
#
# Deeper filters (shape `(16, 8, 3, 3)` for our second conv layer) act on feature maps, not on
# pixels, so showing them as images says little; sections 3 and 4 look at those layers through
# their activations instead.
#
# ### Exercise 1: `normalize_for_display` (2 points)
#
# Scale every filter (every index of the first axis) of `w` independently to `[0, 1]`. All the
# other axes of a filter (channels, rows, columns) share one minimum and one maximum, so the
# colours of a colour filter stay comparable. A constant filter becomes 0.5 everywhere, without
# dividing by zero (no NaN). Do not change `w` itself. In symbols, with the minimum
# and maximum taken over all the entries of filter $f$:
#
# $$ \mathrm{out}_f = \frac{w_f - \min w_f}{\max w_f - \min w_f}
#    \quad\text{if } \max w_f > \min w_f, \qquad \mathrm{out}_f = 0.5 \text{ otherwise.} $$
#
# The input has shape `(F, ...)`: any number of axes after the first (a 2-D `(F, D)` array
# works too), integers or floats; the output has the same shape, in floats.
#
# <details><summary>Hint 1</summary>
#
# Treat each filter as one long row of numbers. Once every filter is a row of a 2-D array, its
# minimum and maximum are reductions along that row, broadcasting subtracts and divides, and a
# reshape at the end gives back the original shape.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# A constant filter has a range of 0. `np.where(condition, a, b)` computes both `a` and `b`
# before choosing, so a division written inside it still divides by zero (and warns). Replace
# the zero ranges by any nonzero number first, divide, then choose 0.5 where the range was 0.
#
# </details>
#
# <details><summary>Hint 3</summary>
#
# `w.reshape(F, -1)` puts filter `f` on row `f`; `.min(axis=1, keepdims=True)` gives an
# `(F, 1)` column that broadcasts against those rows.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "normalize_for_display", "locked": false, "schema_version": 3, "solution": true, "task": false}
def normalize_for_display(w):
    """Scale each filter of ``w`` to [0, 1] on its own, for display.

    Parameters
    ----------
    w : ndarray, shape (F, ...)
        F filters, e.g. conv weights (F, C, KH, KW). Not modified.

    Returns
    -------
    out : ndarray of float, shape (F, ...)
        ``out[f] = (w[f] - w[f].min()) / (w[f].max() - w[f].min())``; a filter whose values
        are all equal becomes 0.5 everywhere.
    """
    ### BEGIN SOLUTION
    w = np.asarray(w, dtype=np.float64)
    flat = w.reshape(w.shape[0], -1)
    lo = flat.min(axis=1, keepdims=True)
    span = flat.max(axis=1, keepdims=True) - lo
    constant = span == 0
    out = np.where(constant, 0.5, (flat - lo) / np.where(constant, 1.0, span))
    return out.reshape(w.shape)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_normalize_for_display", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

# Three 1x2x2 filters: a ramp 0..4, a constant filter, and one with range -1..1.
w = np.array(
    [
        [[[0.0, 1.0], [2.0, 4.0]]],
        [[[-3.0, -3.0], [-3.0, -3.0]]],
        [[[-1.0, 1.0], [0.0, 0.0]]],
    ]
)
expected = np.array(
    [
        [[[0.0, 0.25], [0.5, 1.0]]],
        [[[0.5, 0.5], [0.5, 0.5]]],
        [[[0.0, 1.0], [0.5, 0.5]]],
    ]
)
w_before = w.copy()
with T.in_place(w):  # checked after the call: the grader hands back what the call did to it
    got = normalize_for_display(w)
T.assert_allclose(w, w_before, name="w after normalize_for_display(w)",
                  hint="normalize_for_display changed its input in place; work on a copy")  # fmt: skip
T.assert_finite(got, name="normalize_for_display(w)",
                hint="filter 1 is constant: max - min = 0; map it to 0.5 instead of dividing")  # fmt: skip
T.assert_allclose(got, expected, name="normalize_for_display(w)",
                  hint="out[f] = (w[f] - w[f].min()) / (w[f].max() - w[f].min()), 0.5 where "
                       "w[f] is constant", mistakes=[
                      ("normalising over all filters at once: every filter was scaled with the "
                       "min -3 and max 4 of ALL filters; take min and max per filter",
                       (w_before + 3) / 7),
                      ("the constant filter 1 became 0; a constant filter becomes 0.5",
                       np.concatenate([expected[:1], 0 * expected[1:2], expected[2:]])),
                  ])  # fmt: skip
# One filter with two channels: [[0, 2]] and [[4, 8]] share the range 0..8.
got = normalize_for_display(np.array([[[[0.0, 2.0]], [[4.0, 8.0]]]]))
T.assert_allclose(got, [[[[0.0, 0.25]], [[0.5, 1.0]]]],
                  name="normalize_for_display of one (2, 1, 2) filter",
                  hint="the channels of one filter share one min and one max (0 and 8 here)",
                  mistakes=[("normalising per channel: each channel was scaled on its own; the "
                             "channels of one filter share a min and a max",
                             [[[[0.0, 1.0]], [[0.0, 1.0]]]])])  # fmt: skip
# Filters of another rank: two "filters" of 3 integer weights.
got = normalize_for_display(np.array([[1, 2, 3], [5, 5, 5]]))
T.assert_allclose(got, [[0.0, 0.5, 1.0], [0.5, 0.5, 0.5]],
                  name="normalize_for_display([[1, 2, 3], [5, 5, 5]]) (integers, shape (2, 3))",
                  hint="only the first axis indexes filters (do not assume 4 dimensions); "
                       "integer input gives float output")  # fmt: skip
### BEGIN HIDDEN TESTS
import cnnlab as cl


def _reference(w):
    flat = w.reshape(w.shape[0], -1)
    lo, hi = flat.min(axis=1, keepdims=True), flat.max(axis=1, keepdims=True)
    span = np.where(hi > lo, hi - lo, 1.0)
    return np.where(hi > lo, (flat - lo) / span, 0.5).reshape(w.shape)


rng = np.random.default_rng(5)
# five RGB 4x3 filters on very different scales, as after training
w = rng.standard_normal((5, 3, 4, 3)) * 10.0 ** rng.uniform(-2, 2, size=(5, 1, 1, 1))
w_before = w.copy()
with T.forbid_calls("cnnlab.plot", exercise="normalize_for_display"), T.in_place(w):
    got = normalize_for_display(w)
T.assert_allclose(w, w_before, name="w after the call",
                  hint="normalize_for_display changed its input in place; work on a copy")  # fmt: skip
T.assert_shape(got, w.shape, name="normalize_for_display(w) for w of shape (5, 3, 4, 3)")
flat_c = w.reshape(5, 3, -1)
per_channel = (flat_c - flat_c.min(-1, keepdims=True)) / np.ptp(flat_c, axis=-1, keepdims=True)
T.assert_allclose(got, _reference(w), name="normalize_for_display(w) for w of shape (5, 3, 4, 3)",
                  hint="out[f] = (w[f] - w[f].min()) / (w[f].max() - w[f].min())", mistakes=[
                      ("normalising over all filters at once: every filter was scaled with the "
                       "min and max of ALL filters; take min and max per filter, over axes 1, 2, "
                       "3 only", (w - w.min()) / (w.max() - w.min())),
                      ("normalising per channel: each channel of a filter was scaled on its own; "
                       "the channels of one filter share a min and a max",
                       per_channel.reshape(w.shape)),
                  ])  # fmt: skip

# constant filters among others, integer input, and filters of other ranks
w = rng.integers(-5, 6, size=(4, 2, 3, 3))
w[1] = 7
w[3] = 0
got = normalize_for_display(w)
T.assert_finite(got, name="normalize_for_display with constant filters 1 and 3",
                hint="a constant filter divides 0 by 0: map it to 0.5 instead")  # fmt: skip
T.assert_allclose(got, _reference(w.astype(np.float64)),
                  name="normalize_for_display of integer filters with constant filters 1 and 3",
                  hint="constant filters become 0.5; integer input must give floats")  # fmt: skip
for shape in [(6, 5, 5), (3, 1, 7, 7), (2, 4)]:
    w = rng.normal(size=shape) * 3 + 1
    T.assert_allclose(normalize_for_display(w), _reference(w),
                      name=f"normalize_for_display for w of shape {shape}",
                      hint="only the first axis indexes filters; do not assume 4 dimensions")  # fmt: skip
### END HIDDEN TESTS

# %% [markdown]
# Now the filters of our network, before and after training, each scaled on its own. This and
# the later image grids are drawn with `cl.plot.ImageTiles`, which puts all the images of a grid
# into one matplotlib axes: several times faster to draw than one axes per image.


# %%
def show_filter_rows(rows, row_titles, title):
    """Show several sets of (F, 1, KH, KW) filters, one set per row, each normalised for display."""
    tiles = cl.plot.ImageTiles(len(rows), rows[0].shape[0], title, size=1.0)
    for r, (filters, name) in enumerate(zip(rows, row_titles)):
        shown = normalize_for_display(filters)
        for f in range(len(filters)):
            tiles.show(r, f, shown[f, 0], title=f"filter {f}" if r == 0 else None, fontsize=8,
                       cmap="gray", vmin=0, vmax=1, interpolation="nearest")  # fmt: skip
        tiles.label_row(r, name)
    return tiles.fig


show_filter_rows([w_init, net[0].params["w"]], ["at initialisation", "after training"],
                 "First-layer 5x5 filters (each scaled to its own min and max)")  # fmt: skip
plt.show()
w_trained = net[0].params["w"]
kept = [np.corrcoef(w_init[f].ravel(), w_trained[f].ravel())[0, 1] for f in range(len(w_init))]
change = np.linalg.norm(w_trained - w_init) / np.linalg.norm(w_init)
print("correlation of each trained filter with its starting values:", np.round(kept, 2))
print(f"size of the change made by training / size of the starting weights: {change:.1f}")
if not cl.is_grading():
    cl.claim("correlation with the start about 0.6 to 0.8", min(kept), low=0.55)
    cl.claim("correlation with the start about 0.6 to 0.8", max(kept), high=0.85)
    cl.claim("the change is about twice the size of the starting weights", change,
             low=1.5, high=2.5)  # fmt: skip

# %% [markdown]
# At initialisation the filters are independent random noise. Training has not replaced that
# noise but built on it - compare the two rows column by column: each trained filter still
# correlates with its own start (about 0.6 to 0.8, printed above), while the change training
# made is about twice the size of the starting weights. With that change several filters
# have become oriented edge detectors: a dark band beside a bright band, horizontal in some
# filters and diagonal in others, so that the filter responds where the image changes from dark
# to bright across that direction. Others are smoother blobs that respond to filled regions.
# Small images, six epochs and 5x5 kernels keep them rougher than the famous Gabor-like
# filters of networks trained on ImageNet
# ([Krizhevsky et al. 2012, figure 3](https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html)),
# but the kind of structure is the same.
#
# The next cell shows why each filter needs its own scale: with one grey scale shared by all
# filters, the filters with the largest weights use the full range and the others lose contrast
# (compare the two rows column by column).

# %%
trained = net[0].params["w"].astype(np.float64)
shared = (trained - trained.min()) / (trained.max() - trained.min())
tiles = cl.plot.ImageTiles(
    2,
    trained.shape[0],
    "The trained filters with one shared grey scale (top) and one scale per filter",
    size=1.0,
    title_lines=0,
)
for f in range(trained.shape[0]):
    for r, img in enumerate([shared[f, 0], normalize_for_display(trained)[f, 0]]):
        tiles.show(r, f, img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
tiles.label_row(0, "one scale")
tiles.label_row(1, "per filter")
plt.show()

# %% [markdown]
# ## 3. Feature maps: what each layer makes of one image
#
# A *feature map* is one channel of a layer's output: for the first conv layer, the response of
# one filter at every position. Following one image through the layers shows how the
# representation changes: near the input the maps still look like the image (edges of one
# orientation lit up), after each pooling they are coarser, and the deeper channels respond to
# combinations - corners, line ends, the ring's hole - rather than to raw edges.
#
# To read them we need the output of a chosen layer. A `Sequential` runs its layers in order, so
# the output of layer `i` is what comes out after running layers `0, 1, ..., i` (layer `i`
# included). One detail matters: the network must be in **eval mode**. In training mode a
# `Dropout` layer zeroes random units and a `BatchNorm2d` layer normalises with the statistics of
# the current batch, so the same image would give different activations from call to call.
#
# ### Exercise 2: `get_activations` (3 points)
#
# Return the output of layer `layer_index` of `model` for the batch `x`, computed in eval mode.
# Leave the model in the mode you found it in. Written as a composition, with $f_j$ the layer
# `model.layers[j]`:
#
# $$ a^{(i)}(x) = f_i\big(f_{i-1}(\cdots f_1(f_0(x)))\big), $$
#
# so layer 0's output is $f_0(x)$, one layer applied, and $a^{(i)}$ has passed through $i + 1$
# layers. `model.training` tells you the mode; `model.eval()` and `model.train()` switch the
# model and every one of its layers.
#
# <details><summary>Hint 1</summary>
#
# Run the layers one after another, each on the output of the previous one, and stop after the
# layer you were asked for. Before that, note the mode the model is in; after it, put the model
# back into that mode (a `try`/`finally` does this even when a layer raises).
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# The layers are the list `model.layers`, so a slice of it holds exactly the layers to run: count
# carefully whether layer `layer_index` itself belongs to it. Setting the attribute
# `model.training` back by hand does not switch the layers; call `model.train()` instead.
#
# </details>
#
# <details><summary>Hint 3</summary>
#
# Remember the mode in a variable, `was_training = model.training`, before calling
# `model.eval()`; at the end call `model.train()` only if that variable is true.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "get_activations", "locked": false, "schema_version": 3, "solution": true, "task": false}
def get_activations(model, x, layer_index):
    """Output of layer ``layer_index`` of a Sequential model, in eval mode.

    Parameters
    ----------
    model : cnnlab.nn.Sequential
        Left in the mode (train or eval) it had before the call.
    x : ndarray, shape (N, C, H, W)
        A batch of inputs.
    layer_index : int
        0 <= layer_index < len(model.layers); the output after layers 0..layer_index.

    Returns
    -------
    out : ndarray, shape (N, ...)
        E.g. (N, F, OH, OW) after a conv layer, (N, D) after a Linear layer.
    """
    ### BEGIN SOLUTION
    if not 0 <= layer_index < len(model.layers):
        raise ValueError(f"layer_index must be in [0, {len(model.layers)}), got {layer_index}")
    was_training = model.training
    model.eval()
    try:
        out = x
        for layer in model.layers[: layer_index + 1]:
            out = layer.forward(out)
    finally:
        if was_training:
            model.train()
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_get_activations", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T

# A hand-built model: conv with the 2x2 kernel [[1, -1], [0, 0]] (pixel minus its right
# neighbour), ReLU, Dropout, Flatten, Linear.
conv = cl.nn.Conv2d(1, 1, 2)
conv.params["w"][...] = [[[[1, -1], [0, 0]]]]
conv.params["b"][...] = 0
fc = cl.nn.Linear(4, 2)
fc.params["w"][...] = [[1, 0], [3, 1], [0, 1], [-1, 0]]
fc.params["b"][...] = [0.5, -0.5]
model = cl.nn.Sequential(conv, cl.nn.ReLU(), cl.nn.Dropout(0.5, seed=0), cl.nn.Flatten(), fc)
x = np.array([[[[1, 2, 0], [0, 1, 3], [2, 0, 1]]]], dtype=np.float32)  # (1, 1, 3, 3)
by_hand = {
    0: [[[[-1, 2], [-1, -2]]]],  # conv: 1-2, 2-0 / 0-1, 1-3
    1: [[[[0, 2], [0, 0]]]],  # ReLU
    2: [[[[0, 2], [0, 0]]]],  # Dropout does nothing in eval mode
    3: [[0, 2, 0, 0]],  # Flatten
    4: [[6.5, 1.5]],  # [0, 2, 0, 0] @ w + b
}
outputs = [x] + [np.array(by_hand[i], dtype=np.float64) for i in range(5)]  # [i + 1]: layer i
for i in range(5):
    model.train()  # the model arrives in training mode; your function must use eval mode
    got = get_activations(model, x, i)
    name = f"get_activations(model, x, {i})"
    expected = outputs[i + 1]
    if np.shape(got) == expected.shape and not np.allclose(got, expected):
        # inverted dropout with p = 0.5 zeroes some values and doubles the others
        dropped = np.isclose(got, 0) | np.isclose(got, 2 * expected)
        T.assert_true(not dropped.all(),
                      f"{name}: got {np.asarray(got).tolist()}, expected {expected.tolist()}: "
                      "values were zeroed or doubled.",
                      hint="train mode: the Dropout layer was active; call model.eval() before "
                           "running the layers")  # fmt: skip
    mistakes = [
        (
            f"wrong layer: this is the {'input x' if i == 0 else f'output of layer {i - 1}'};"
            f" the output of layer {i} comes after layers 0..{i}, {i} included",
            outputs[i],
        )
    ]
    if i < 4:
        mistakes.append((f"wrong layer: this is the output of layer {i + 1}; stop after layer {i}",
                         outputs[i + 2]))  # fmt: skip
        mistakes.append(("this is the output of the whole model; stop after layer `layer_index`",
                         outputs[5]))  # fmt: skip
    T.assert_allclose(got, expected, name=name, mistakes=mistakes,
                      hint=f"the output of layer {i} is what comes out of layers 0..{i} run in "
                           "order, in eval mode")  # fmt: skip

# The mode the model arrives in is the mode it leaves in.
for arrives in ["training", "eval"]:
    model.train() if arrives == "training" else model.eval()
    with T.in_place(model):  # its mode is checked after the call: the grader hands it back
        get_activations(model, x, 2)
    modes = [model.training] + [layer.training for layer in model.layers]
    name = f"get_activations(model, x, 2) on a model in {arrives} mode"
    if arrives == "training":
        T.assert_true(modes[0], f"{name} left it in eval mode.",
                      hint="remember was_training = model.training before model.eval() and call "
                           "model.train() at the end if it was training (try/finally)")  # fmt: skip
        T.assert_true(all(modes), f"{name}: model.training is True again, but some layers are "
                      "still in eval mode (Dropout would stay off in later training).",
                      hint="restore with model.train(), which switches every layer, not by "
                           "setting model.training")  # fmt: skip
    else:
        T.assert_true(not any(modes), f"{name} left it in training mode.",
                      hint="restore the mode the model had: call model.train() at the end only "
                           "if it was training before")  # fmt: skip
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(11)
layers = [
    cl.nn.Conv2d(3, 4, 3, pad=1, rng=rng, dtype="float64"),  # 0
    cl.nn.BatchNorm2d(4, dtype="float64"),  # 1
    cl.nn.ReLU(),  # 2
    cl.nn.MaxPool2d(2, stride=2),  # 3
    cl.nn.Conv2d(4, 5, 3, stride=2, pad=1, rng=rng, dtype="float64"),  # 4
    cl.nn.ReLU(),  # 5
    cl.nn.Flatten(),  # 6
    cl.nn.Linear(5 * 2 * 3, 7, rng=rng, dtype="float64"),  # 7
    cl.nn.ReLU(),  # 8
    cl.nn.Dropout(0.5, rng=rng),  # 9
    cl.nn.Linear(7, 3, rng=rng, dtype="float64"),  # 10
]
layers[1].buffers["running_mean"][...] = rng.normal(size=4)
layers[1].buffers["running_var"][...] = rng.uniform(0.5, 2.0, size=4)
model = cl.nn.Sequential(*layers)
x = rng.normal(size=(3, 3, 9, 11))

model.eval()
outputs, h = [], x
for layer in model.layers:
    h = layer.forward(h)
    outputs.append(h)
bn_buffers = {k: v.copy() for k, v in model.layers[1].buffers.items()}
model.train()
bn_train = model.layers[1].forward(outputs[0])  # BatchNorm with batch statistics
for k, v in bn_buffers.items():  # undo the running-statistics update of that call
    model.layers[1].buffers[k][...] = v

for i in range(len(layers)):
    model.train()
    got = get_activations(model, x, i)
    if i == 0:
        mistakes = [("wrong layer: this is the input x; the output of layer 0 is layer 0 applied "
                     "to x", x)]  # fmt: skip
    else:
        mistakes = [(f"wrong layer: this is the output of layer {i - 1}; run layers 0..{i}, i "
                     "included", outputs[i - 1])]  # fmt: skip
    if i + 1 < len(outputs):
        mistakes.append((f"wrong layer: this is the output of layer {i + 1}; stop after layer {i}",
                         outputs[i + 1]))  # fmt: skip
    if i == 1:
        mistakes.append(("train mode: BatchNorm normalised with the batch statistics; call "
                         "model.eval()", bn_train))  # fmt: skip
    hint = ("train mode: Dropout was active (random zeros); call model.eval() first" if i >= 9
            else "run layers 0..layer_index in order with layer.forward, in eval mode")  # fmt: skip
    T.assert_allclose(got, outputs[i], rtol=1e-7, atol=1e-10, mistakes=mistakes, hint=hint,
                      name=f"get_activations(model, x, {i}) for an 11-layer model")  # fmt: skip
for arrives in [False, True]:
    model.train() if arrives else model.eval()
    with T.in_place(model):  # its mode is checked after the call: the grader hands it back
        get_activations(model, x, 5)
    modes = [model.training] + [layer.training for layer in model.layers]
    T.assert_true(modes == [arrives] * len(modes),
                  f"get_activations on a model in {'training' if arrives else 'eval'} mode left "
                  f"it with model.training = {modes[0]} and layer modes {modes[1:]}.",
                  hint="leave the model in the mode it had: model.train() at the end if it was "
                       "training, nothing otherwise")  # fmt: skip
### END HIDDEN TESTS

# %% [markdown]
# Here is one test image traced through the network: the 8 maps of the first conv layer (after
# its ReLU), then the 16 maps of the second one. Each map is drawn on its own colour scale
# (yellow is that map's own maximum), so a channel that barely responds looks as bright as a
# strong one; the cell prints each channel's maximum of the first layer to compare.

# %%
image_index = int(np.flatnonzero(y_test == class_names.index("triangle"))[0])
x_one = X_test[image_index : image_index + 1]
cl.plot.image_grid(x_one, titles=[class_names[y_test[image_index]]], title="Input")
plt.show()
for index, what in [(1, "conv 1 + ReLU, 20x20"), (4, "conv 2 + ReLU, 10x10")]:
    maps = get_activations(net, x_one, index)
    cl.plot.feature_maps(maps[0], title=f"Layer {index}: {what} (each map on its own scale)")
    plt.show()
    if index == 1:
        peaks = maps[0].reshape(len(maps[0]), -1).max(axis=1)
        print("largest value of each layer-1 map:", np.round(peaks, 2))
        cl.claim("the strongest layer-1 map peaks several times higher than the weakest",
                 peaks.max() / peaks.min(), low=3)  # fmt: skip
        cl.claim("channel 1 responds most strongly", int(peaks.argmax()), equals=1)
        cl.claim("channels 0, 4 and 7 reach only about a fifth of its peak",
                 peaks[[0, 4, 7]].max() / peaks[1], low=0.15, high=0.26)  # fmt: skip

# %% [markdown]
# In the first layer every map is the triangle seen through one filter: most light up along one
# or two of its edges - the edges whose orientation matches the filter - and one responds to
# the filled inside. The printed maxima differ several-fold: channel 1 (the filled inside)
# responds most strongly, while channels 0, 4 and 7, just as yellow on their own scales, reach
# only about a fifth of its peak. In the second layer, after one pooling, the maps are coarser (10x10) and
# each channel picks out a *part*: one corner, one side, the filled body, the outline. Pick
# another `image_index` (another class) and see which channels change.

# %% [markdown]
# ## 4. Which images excite a channel most?
#
# A single feature map tells us where one channel fires on one image. To learn what a channel
# *responds to* we turn the question around: over many images, which ones give it the largest
# activation? Zeiler and Fergus ([2014](https://arxiv.org/abs/1311.2901)) did this for every
# channel of a large ImageNet network and found that the top images of a deep channel share a
# concept (faces, wheels, text) even when their pixels have little in common.
#
# A channel's output on one image is a whole map, so we must first reduce it to one number, and
# the choice changes the answer:
#
# - the **mean** over all positions asks how much of the image the channel responds to. It
#   rewards a channel that fires over a large area, and so it tends to favour big, bright shapes;
# - the **maximum** over positions asks how strongly the channel responds at its best position.
#   One small spot that matches the channel's pattern is enough, whatever the rest of the image
#   holds. This is what Zeiler and Fergus ranked by (the strongest activation of a feature map),
#   and it goes with a natural picture: the part of the image that the strongest unit sees.
#
# **Worked example.** A channel that copies the pixels (a 1x1 convolution with weight 1, then
# ReLU), on four 2x2 images: `[[4, 0], [0, 0]]` has mean 1.0 and max 4; `[[2, 2], [2, 2]]` mean
# 2.0, max 2; `[[3, 3], [0, 0]]` mean 1.5, max 3; `[[-1, -2], [-1, 0]]`, with no positive
# pixel, gives 0 and 0. By the
# mean the top two are images 1 and 2; by the max, images 0 and 2.
#
# ### Exercise 3: `top_k_activating` (3 points)
#
# Return the indices of the `k` images of `X` whose activation in channel `channel` of layer
# `layer_index`, reduced over all positions by `by` (`"mean"` or `"max"`), is largest, the
# largest first. For a layer with output `(N, D)` (after `Flatten` or `Linear`) the channel is
# unit `channel`, and its mean and max are just its value. Any other `by` raises `ValueError`.
# With $A_n$ the map of channel `channel` for image $n$ (its positions $p$), the score of image
# $n$ is
#
# $$ r_n = \frac{1}{|A_n|} \sum_{p} A_n[p] \quad (\texttt{by="mean"}) \qquad\text{or}\qquad
#    r_n = \max_{p} A_n[p] \quad (\texttt{by="max"}), $$
#
# and the answer lists the $k$ indices with the largest $r_n$, in decreasing order of $r_n$, as
# an integer array of shape `(k,)`. Use your `get_activations` for the layer's output (the
# test checks this exercise with a correct `get_activations` of its own, so a bug there costs
# Exercise 2 only).
#
# <details><summary>Hint 1</summary>
#
# Three steps: the activations of the layer for all of `X`, one number per image from the
# chosen channel, then the order of those numbers from largest to smallest, keeping the first
# `k` positions. Check `by` first, before any work.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Select the channel on axis 1 and reshape it to `(N, -1)`: a conv layer's `(N, H, W)` maps
# and a dense layer's `(N,)` values then look alike, one row per image, and the mean or max
# along axis 1 gives the `N` scores.
#
# </details>
#
# <details><summary>Hint 3</summary>
#
# `np.argsort` sorts in increasing order; sorting the negated scores, `np.argsort(-score)`,
# puts the largest first.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "top_k_activating", "locked": false, "schema_version": 3, "solution": true, "task": false}
def top_k_activating(model, X, layer_index, channel, k, by="mean"):
    """Indices of the k images with the largest mean (or max) activation in one channel.

    Parameters
    ----------
    model : cnnlab.nn.Sequential
    X : ndarray, shape (N, C, H, W)
    layer_index : int
        The layer whose output is read (as in ``get_activations``), in eval mode.
    channel : int
        Channel (or unit, for an (N, D) output) of that layer.
    k : int
        How many indices to return, 1 <= k <= N.
    by : {"mean", "max"}
        How one image's map of that channel becomes one number: its mean or its maximum over
        all positions. Anything else raises ValueError.

    Returns
    -------
    idx : ndarray of int, shape (k,)
        Indices into X, the image with the largest mean (or max) activation first.
    """
    ### BEGIN SOLUTION
    if by not in ("mean", "max"):
        raise ValueError(f'by must be "mean" or "max", got {by!r}')
    acts = get_activations(model, X, layer_index)
    flat = acts[:, channel].reshape(acts.shape[0], -1)
    score = flat.mean(axis=1) if by == "mean" else flat.max(axis=1)
    return np.argsort(-score, kind="stable")[:k]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_top_k_activating", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T

# Layers: a 1x1 conv with two channels (0 copies the pixel, 1 negates it), ReLU, Dropout.
conv = cl.nn.Conv2d(1, 2, 1)
conv.params["w"][...] = np.array([1.0, -1.0]).reshape(2, 1, 1, 1)
conv.params["b"][...] = 0
model = cl.nn.Sequential(conv, cl.nn.ReLU(), cl.nn.Dropout(0.5, seed=0))
X = np.array(
    [
        [[[4, 0], [0, 0]]],  # channel 0: mean 1.0, max 4
        [[[2, 2], [2, 2]]],  # channel 0: mean 2.0, max 2
        [[[3, 3], [0, 0]]],  # channel 0: mean 1.5, max 3
        [[[-1, -2], [-1, 0]]],  # channel 0: all zero after ReLU; channel 1: mean 1.0, max 2
    ],
    dtype=np.float32,
)


def activations_by_hand(model, x, layer_index):
    """get_activations for this model: channels x and -x, then ReLU (Dropout is off in eval)."""
    z = np.concatenate([x, -x], axis=1).astype(np.float64)
    return z if layer_index == 0 else np.maximum(z, 0)


model.train()  # the model arrives in training mode
with T.reference_helpers(get_activations=activations_by_hand):
    by_mean = top_k_activating(model, X, 2, 0, 2)
    by_max = top_k_activating(model, X, 2, 0, 2, by="max")
    top_of_1 = top_k_activating(model, X, 1, 1, 1)
    with T.raises(
        ValueError, hint='by="median" must raise ValueError: only "mean" and "max" are allowed'
    ):
        top_k_activating(model, X, 2, 0, 2, by="median")
T.assert_true(np.issubdtype(np.asarray(by_mean).dtype, np.integer),
              f"top_k_activating should return integer indices, got {by_mean!r}")  # fmt: skip
name = "top_k_activating(model, X, 2, channel=0, k=2)"
T.assert_equal(np.asarray(by_mean), np.array([1, 2]), name=name,
               hint="the means of channel 0 are 1.0, 2.0, 1.5, 0.0: indices 1, 2", mistakes=[
                   ("sorted ascending: the image with the LARGEST mean comes first", [3, 0]),
                   ("the right images in the wrong order: the largest mean comes first",
                    [2, 1]),
                   ("ranked by the max over positions; by='mean' ranks by the mean", [0, 2]),
               ])  # fmt: skip
name = 'top_k_activating(model, X, 2, channel=0, k=2, by="max")'
T.assert_equal(np.asarray(by_max), np.array([0, 2]), name=name,
               hint="the maxima of channel 0 are 4, 2, 3, 0: indices 0, 2", mistakes=[
                   ("ranked by the mean; by='max' ranks by the max over positions", [1, 2]),
                   ("sorted ascending: the image with the LARGEST max comes first", [3, 1]),
                   ("the right images in the wrong order: the largest max comes first",
                    [2, 0]),
               ])  # fmt: skip
T.assert_equal(np.asarray(top_of_1), np.array([3]), name="top_k_activating(model, X, 1, channel=1, k=1)",
               hint="channel 1 (the negated pixels after ReLU) is nonzero only for image 3",
               mistakes=[("this is the top image of channel 0 or of all channels together; use "
                          "channel `channel` only", [1])])  # fmt: skip
### BEGIN HIDDEN TESTS


def _get_activations(model, x, layer_index):
    was_training = model.training
    model.eval()
    for layer in model.layers[: layer_index + 1]:
        x = layer.forward(x)
    if was_training:
        model.train()
    return x


rng = np.random.default_rng(21)
model = cl.nn.Sequential(
    cl.nn.Conv2d(2, 4, 3, pad=1, rng=rng, dtype="float64"),  # 0
    cl.nn.ReLU(),  # 1
    cl.nn.Dropout(0.5, rng=rng),  # 2
    cl.nn.Conv2d(4, 3, 3, stride=2, rng=rng, dtype="float64"),  # 3
    cl.nn.Flatten(),  # 4
    cl.nn.Linear(3 * 3 * 4, 5, rng=rng, dtype="float64"),  # 5
)
X = rng.normal(size=(12, 2, 7, 9))
model.eval()
outs, h = [], X
for layer in model.layers:
    h = layer.forward(h)
    outs.append(h)

cases = [(0, 2, 4, "mean"), (1, 3, 3, "max"), (2, 1, 5, "mean"), (3, 2, 6, "max"),
         (3, 0, 4, "mean"), (5, 4, 3, "mean"), (5, 1, 2, "max")]  # fmt: skip
for layer_index, channel, k, by in cases:
    acts = outs[layer_index][:, channel].reshape(12, -1)
    mean, peak = acts.mean(axis=1), acts.max(axis=1)
    score, other = (mean, peak) if by == "mean" else (peak, mean)
    expected = np.argsort(-score)[:k]
    name = f"top_k_activating(model, X, {layer_index}, channel={channel}, k={k}, by={by!r})"
    model.train()
    with T.reference_helpers(get_activations=_get_activations):
        got = np.asarray(top_k_activating(model, X, layer_index, channel, k, by=by))
    T.assert_shape(got, (k,), name=name, hint="return exactly k indices")
    if not np.array_equal(got, expected):
        if np.array_equal(got, np.argsort(score)[:k]):
            hint = f"sorted ascending: the image with the LARGEST {by} must come first"
        elif np.array_equal(got, expected[::-1]):
            hint = f"the right images in the wrong order: the largest {by} comes first"
        elif np.array_equal(got, np.argsort(-other)[:k]):
            hint = f"ranked by the {'max' if by == 'mean' else 'mean'} over positions; by={by!r}"
        elif np.array_equal(got, np.argsort(-outs[layer_index].reshape(12, -1).mean(1))[:k]):
            hint = "averaged over all channels; use channel `channel` only"
        else:
            hint = (f"the {by} over the positions of channel `channel` of layer `layer_index` "
                    "(eval mode), largest first")  # fmt: skip
        T.assert_equal(got, expected, name=name, hint=hint)
### END HIDDEN TESTS

# %% [markdown]
# For three channels of the second conv layer (layer 4), the eight test images that excite each
# one most, ranked by the mean (first row of each pair) and by the maximum (second row). In the
# max rows, the red square is the part of the image that the strongest unit sees: its
# *receptive field*, the 10x10 input pixels that layers 0 to 4 combine into that one value
# (5x5 filters, a 2x2 pooling, then 3x3 filters).

# %%
channels = [2, 3, 15]
layer4 = get_activations(net, X_test, 4)
ink = X_test.reshape(len(X_test), -1).sum(axis=1)  # total brightness of each test image
tiles = cl.plot.ImageTiles(
    2 * len(channels),
    8,
    "Top-8 test images per channel of layer 4, ranked by mean and by max activation",
    size=0.95,
)
pixel = tiles.size / 20  # one pixel of a 20x20 image, in the figure's data units
ink_ratio, tops = {}, {}
for c, channel in enumerate(channels):
    for r, by in enumerate(["mean", "max"]):
        row = 2 * c + r
        top = tops[channel, by] = top_k_activating(net, X_test, 4, channel, 8, by=by)
        ink_ratio[channel, by] = ink[top].mean() / ink.mean()
        for col, i in enumerate(top):
            tiles.show(row, col, X_test[i, 0], title=class_names[y_test[i]], fontsize=7,
                       cmap="gray", vmin=0, vmax=1)  # fmt: skip
            if by == "max":  # the receptive field of the strongest unit: rows 2i-4 .. 2i+5
                u, v = np.unravel_index(np.argmax(layer4[i, channel]), layer4.shape[2:])
                left, _, _, top_edge = tiles.box(row, col)
                field = tiles.ax.add_patch(plt.Rectangle(
                    (left + (2 * v - 4) * pixel, top_edge + (2 * u - 4) * pixel), 10 * pixel,
                    10 * pixel, fill=False, edgecolor="red", linewidth=1.2))  # fmt: skip
                field.set_clip_path(tiles.frame(row, col))  # cut off where it leaves the image
        tiles.label_row(row, f"ch {channel}, {by}", fontsize=8)
plt.show()
for channel in channels:
    print(f"channel {channel:2d}: brightness of the top 8 / average test image: "
          f"by mean {ink_ratio[channel, 'mean']:.1f}, by max {ink_ratio[channel, 'max']:.1f}")  # fmt: skip
    cl.claim(f"channel {channel}: the top images by mean are about two to three times as bright "
             "as an average test image", ink_ratio[channel, "mean"], low=1.9, high=3.0)  # fmt: skip
    cl.claim(f"channel {channel}: the top images by mean are brighter than the top images by max",
             ink_ratio[channel, "mean"] - ink_ratio[channel, "max"], low=0.0)  # fmt: skip
top_classes = {key: [class_names[y_test[i]] for i in top] for key, top in tops.items()}
cl.claim("by the mean, channel 3's top 8 are all rings", top_classes[3, "mean"].count("ring"),
         equals=8)  # fmt: skip
cl.claim("by the max, channel 3's top 8 are mostly crosses", top_classes[3, "max"].count("cross"),
         low=5)  # fmt: skip
cl.claim("by the mean, channels 2 and 15 rank discs and squares first",
         sum(top_classes[ch, "mean"].count(n) for ch in (2, 15) for n in ("circle", "square")),
         equals=16)  # fmt: skip
for channel in (2, 15):
    cl.claim(f"by the max, channel {channel} prefers squares and triangles",
             sum(top_classes[channel, "max"].count(n) for n in ("square", "triangle")), low=6)  # fmt: skip

# %% [markdown]
# The two rankings tell different stories about the same channels. By the mean, each channel's
# top images are the biggest, brightest examples of one or two classes: filled discs and squares
# for channels 2 and 15, thick rings for channel 3, about two to three times as bright as an
# average test image (printed above; the top images by max are less bright). That is what a mean rewards - more lit pixels, more
# activation - and it says little about the pattern the channel detects. By the maximum, the
# same channels look for something local: channel 3 fires most strongly where the two strokes
# of a cross meet, and channels 2 and 15 prefer squares and triangles, at a straight edge or a
# corner of the shape, over the discs that top their mean ranking.
#
# Neither ranking proves what a channel detects. The top images are evidence, drawn only from
# the images we tried, and a row that looks alike may share something else (brightness, size)
# than what we see in it - section 11 comes back to this.

# %% [markdown]
# ## 5. Occlusion: hide a part, watch the prediction
#
# Which part of the image does the prediction depend on? The most direct experiment: cover a
# small patch with a plain value and see how much the network's evidence for the correct class
# drops. Slide the patch over the image like a convolution kernel and you get a map of drops, one
# per patch position - large where the covered pixels mattered, near zero where they did not
# ([Zeiler and Fergus 2014](https://arxiv.org/abs/1311.2901), section 4.2).
#
# Which number should we watch? Zeiler and Fergus plotted the *probability* of the correct
# class. For an image the network is sure of, that probability is saturated: with eight classes
# and a class score 10 above all the others, p = 0.9997, and lowering that score by 3 still
# leaves p = 0.994. A map of probability drops is then nearly flat (for the ring below, no patch
# moves p by a ten-thousandth), and a colour scale stretched to its own maximum draws
# floating-point noise as if it were a finding. So we watch the class
# **score** `s_label`, the number that goes into the softmax: its drop says how much evidence for
# the class the covered pixels carried, in the same units for a confident image and a doubtful
# one. (Whether covering a patch changes the *decision* is a different question; the end of this
# section answers it from the same maps.)
#
# The patch positions follow the convolution output-size formula: with image height `H`, patch
# size `P` and stride `S` the patch top rows are `0, S, 2S, ...`, and there are
# `OH = (H - P) // S + 1` of them (no padding); the same for the width.
#
# **Worked example.** A `2x4x4` image whose channel 0 is all ones and channel 1 all threes, and
# a linear model whose class-0 score is `2 * x[0, 0, 0] + x[1, 2, 2] = 5`. With `patch=2`,
# `stride=1`, `fill=0.5` there are 3x3 positions; position `(i, j)` covers rows `i, i+1` and
# columns `j, j+1` of both channels. Pixel `(0, 0)` lies under position `(0, 0)` only, and
# covering it lowers the score by `2 * (1 - 0.5) = 1`; pixel `(2, 2)` lies under the four
# positions `(1, 1)`, `(1, 2)`, `(2, 1)` and `(2, 2)`, and covering it lowers the score by
# `3 - 0.5 = 2.5`. The map is `[[1, 0, 0], [0, 2.5, 2.5], [0, 2.5, 2.5]]`.
#
# ### Exercise 4: `occlusion_map` (4 points)
#
# For each patch position, set the `patch x patch` square (in every channel) of a copy of
# `image` to `fill` and record `s_label(image) - s_label(occluded copy)`, the scores being the
# model's outputs in eval mode. Leave the model in the mode you found it in, and do not change
# `image`. With $x^{(i,j)}$ the copy whose rows $iS, \dots, iS + P - 1$ and columns
# $jS, \dots, jS + P - 1$ hold `fill` in every channel ($P$ = `patch`, $S$ = `stride`):
#
# $$ \mathrm{drop}[i, j] = s_y(x) - s_y\big(x^{(i,j)}\big), \qquad
#    0 \le i < OH = \left\lfloor \frac{H - P}{S} \right\rfloor + 1, \quad
#    0 \le j < OW = \left\lfloor \frac{W - P}{S} \right\rfloor + 1. $$
#
# The result is a float array of shape `(OH, OW)`; a positive value means that covering the
# patch lowered the score.
#
# <details><summary>Hint 1</summary>
#
# Work on copies: one copy of the image per patch position, the patch written into the copy,
# the score of class `label` read from the model's output, and the drop stored at `(i, j)`.
# Switch to eval mode before the first forward pass and restore the mode at the end, as in
# `get_activations`.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# One forward pass per position works but is slow. Stack the original and all the occluded
# copies into one batch of shape `(1 + OH * OW, C, H, W)` and run the model once (in chunks of a
# few hundred images if memory matters); row 0 of the scores is the original.
#
# </details>
#
# <details><summary>Hint 3</summary>
#
# Position `(i, j)` covers `x[:, i * stride : i * stride + patch, j * stride : j * stride +
# patch]`: the slice `:` on axis 0 covers every channel.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "occlusion_map", "locked": false, "schema_version": 3, "solution": true, "task": false}
def occlusion_map(model, image, label, patch=4, stride=2, fill=0.0):
    """Drop in the score of ``label`` when each patch of the image is covered.

    Parameters
    ----------
    model : cnnlab.nn.Sequential
        Maps (N, C, H, W) to class scores (N, K); used in eval mode, mode restored.
    image : ndarray, shape (C, H, W)
        One image; not modified.
    label : int
        The class whose score is watched.
    patch : int
        Side of the square patch.
    stride : int
        Step between patch positions.
    fill : float
        Value written into the covered pixels, in every channel.

    Returns
    -------
    drop : ndarray of float, shape (OH, OW)
        ``drop[i, j] = s(image) - s(image with rows i*stride .. i*stride+patch-1 and columns
        j*stride .. j*stride+patch-1 set to fill)``, where ``s`` is the score of ``label``,
        ``OH = (H - patch) // stride + 1`` and ``OW = (W - patch) // stride + 1``.
    """
    ### BEGIN SOLUTION
    image = np.asarray(image)
    c, h, w = image.shape
    oh, ow = (h - patch) // stride + 1, (w - patch) // stride + 1
    batch = np.repeat(image[None], oh * ow + 1, axis=0)  # copy 0 stays the original
    for i in range(oh):
        for j in range(ow):
            r, s = i * stride, j * stride
            batch[1 + i * ow + j, :, r : r + patch, s : s + patch] = fill
    was_training = model.training
    model.eval()
    try:
        scores = np.concatenate(
            [model.forward(batch[n : n + 256]) for n in range(0, len(batch), 256)]
        ).astype(np.float64)
    finally:
        if was_training:
            model.train()
    return (scores[0, label] - scores[1:, label]).reshape(oh, ow)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_occlusion_map", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T

# The worked example: class-0 score = 2 * x[0, 0, 0] + x[1, 2, 2], class-1 score = x[0, 3, 0];
# the Dropout layer is the identity in eval mode.
fc = cl.nn.Linear(32, 2, dtype="float64")  # input: the image flattened, index c*16 + row*4 + col
fc.params["w"][...] = 0
fc.params["w"][0, 0] = 2  # x[0, 0, 0]
fc.params["w"][26, 0] = 1  # x[1, 2, 2]
fc.params["w"][12, 1] = 1  # x[0, 3, 0]
fc.params["b"][...] = 0
model = cl.nn.Sequential(cl.nn.Flatten(), cl.nn.Dropout(0.5, seed=0), fc)
image = np.stack([np.ones((4, 4)), np.full((4, 4), 3.0)])  # (2, 4, 4): scores 5 and 1
image_before = image.copy()

model.train()  # the model arrives in training mode
with T.in_place(image):  # checked after the call: the grader hands back what the call did to it
    got = occlusion_map(model, image, 0, patch=2, stride=1, fill=0.5)
T.assert_allclose(image, image_before, name="image after occlusion_map",
                  hint="occlusion_map covered the patches of the image itself; cover a copy")  # fmt: skip
name = "occlusion_map(model, image, 0, patch=2, stride=1, fill=0.5)"
T.assert_shape(got, (3, 3), name=name,
               hint="OH = (H - patch) // stride + 1 = 3 positions per axis: the patch starts at "
                    "rows 0, 1, 2, in steps of `stride`")  # fmt: skip
expected = np.array([[1.0, 0, 0], [0, 2.5, 2.5], [0, 2.5, 2.5]])
drop_1 = np.array([[0.0, 0, 0], [0, 0, 0], [0.5, 0, 0]])  # class 1: x[0, 3, 0] under (2, 0)
T.assert_allclose(got, expected, atol=1e-6, name=name,
                  hint="drop[i, j] = s(image) - s(copy with rows i*stride .. i*stride+patch-1 and "
                       "the matching columns set to fill in every channel), in eval mode",
                  mistakes=[
                      ("these are probability drops; return the drop of the class SCORE",
                       1 / (1 + np.exp(-4)) - 1 / (1 + np.exp(-(4 - expected + drop_1)))),
                      ("sign: the drop is s(original) - s(occluded), not s(occluded) - s(original)",
                       -expected),
                      ("this is the occluded score s(occluded); return the DROP s(original) - "
                       "s(occluded)", 5 - expected),
                      ("the patch was set to 0; set it to `fill`",
                       [[2.0, 0, 0], [0, 3, 3], [0, 3, 3]]),
                      ("only channel 0 was covered; cover the patch in every channel",
                       [[1.0, 0, 0], [0, 0, 0], [0, 0, 0]]),
                      ("patch (i, j) was placed at row i*patch; it starts at row i*stride, column "
                       "j*stride", [[1.0, 0, 0], [0, 2.5, 0], [0, 0, 0]]),
                      ("the covered square was `stride` pixels wide; it is `patch` x `patch`",
                       [[1.0, 0, 0], [0, 0, 0], [0, 0, 2.5]]),
                  ])  # fmt: skip
got = occlusion_map(model, image, 1, patch=3, stride=1)
T.assert_allclose(got, [[0.0, 0], [1, 0]], atol=1e-6,
                  name="occlusion_map(model, image, 1, patch=3, stride=1) (fill 0)",
                  hint="the score of class 1 is x[0, 3, 0] = 1; only position (1, 0) covers that "
                       "pixel", mistakes=[("this is the map of class 0; watch class `label`",
                                           [[5.0, 3], [3, 3]])])  # fmt: skip
for arrives in ["training", "eval"]:
    model.train() if arrives == "training" else model.eval()
    with T.in_place(model):  # its mode is checked after the call: the grader hands it back
        occlusion_map(model, image, 0, patch=2, stride=2)
    modes = [model.training] + [layer.training for layer in model.layers]
    T.assert_true(modes == [arrives == "training"] * 4,
                  f"occlusion_map on a model in {arrives} mode left it with model.training = "
                  f"{modes[0]} and layer modes {modes[1:]}.",
                  hint="leave the model in the mode it had, as in get_activations: model.train() "
                       "at the end if it was training, nothing otherwise")  # fmt: skip
### BEGIN HIDDEN TESTS


def _softmax(s):
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


rng = np.random.default_rng(31)
model = cl.nn.Sequential(
    cl.nn.Conv2d(3, 4, 3, pad=1, rng=rng, dtype="float64"),
    cl.nn.ReLU(),
    cl.nn.MaxPool2d(2, stride=2),
    cl.nn.Flatten(),
    cl.nn.Dropout(0.5, rng=rng),
    cl.nn.Linear(4 * 5 * 4, 5, rng=rng, dtype="float64"),
)
image = rng.uniform(0, 1, size=(3, 11, 9))
image_before = image.copy()


def _reference(patch, stride, fill, label, channels=slice(None), step=None, size=None):
    """(score drop, occluded score, probability drop) maps, the model in eval mode."""
    step = stride if step is None else step
    size = patch if size is None else size
    _, h, w = image.shape
    oh, ow = (h - patch) // stride + 1, (w - patch) // stride + 1
    batch = np.repeat(image[None], oh * ow, axis=0)
    for i in range(oh):
        for j in range(ow):
            batch[i * ow + j, channels, i * step : i * step + size,
                  j * step : j * step + size] = fill  # fmt: skip
    model.eval()
    scores = model.forward(batch)
    s0 = model.forward(image[None])
    s = scores[:, label].reshape(oh, ow)
    p_drop = _softmax(s0)[0, label] - _softmax(scores)[:, label].reshape(oh, ow)
    return s0[0, label] - s, s, p_drop


for patch, stride, fill, label in [(3, 2, 0.5, 2), (4, 3, 0.0, 4), (2, 1, -1.0, 0)]:
    oh, ow = (11 - patch) // stride + 1, (9 - patch) // stride + 1
    drop, s_occ, p_drop = _reference(patch, stride, fill, label)
    name = f"occlusion_map(patch={patch}, stride={stride}, fill={fill}) on a (3, 11, 9) image"
    model.train()
    with T.in_place(image, model):
        got = occlusion_map(model, image, label, patch=patch, stride=stride, fill=fill)
    T.assert_allclose(image, image_before, name="image after occlusion_map",
                      hint="occlusion_map changed the input image in place (covered its "
                           "patches); occlude a copy")  # fmt: skip
    T.assert_true(model.training, f"{name} left a model in training mode in eval mode.",
                  hint="restore the mode: model.train() at the end if it was training")  # fmt: skip
    shape_hint = (
        f"OH = (H - patch) // stride + 1 = {oh} and OW = {ow}; patch positions 0, stride, "
        f"2*stride, ... as long as the patch fits"
    )
    T.assert_shape(got, (oh, ow), name=name, hint=shape_hint)
    mistakes = [
        ("these are probability drops; return the drop of the class SCORE", p_drop),
        ("this is the occluded score s(occluded); return the DROP s(original) - s(occluded)",
         s_occ),
        ("sign: the drop is s(original) - s(occluded), not s(occluded) - s(original)", -drop),
        ("the patch was set to 0; set it to `fill`", _reference(patch, stride, 0.0, label)[0]),
        ("only channel 0 was covered; cover the patch in every channel",
         _reference(patch, stride, fill, label, channels=0)[0]),
    ]  # fmt: skip
    if patch != stride:
        mistakes.append(("patch (i, j) was placed at row i*patch; it starts at row i*stride",
                         _reference(patch, stride, fill, label, step=patch)[0]))  # fmt: skip
        mistakes.append(("the covered square was `stride` pixels wide; it is `patch` x `patch`",
                         _reference(patch, stride, fill, label, size=stride)[0]))  # fmt: skip
    T.assert_allclose(got, drop, rtol=1e-6, atol=1e-9, name=name, mistakes=mistakes,
                      hint="for patch (i, j) cover rows i*stride .. i*stride+patch-1 and the "
                      "matching columns in all channels, in eval mode (Dropout off)")  # fmt: skip
### END HIDDEN TESTS

# %% [markdown]
# Occlusion maps for one test image of each class, with a 4x4 patch of zeros (the background
# value) moved in steps of 2 pixels: a 9x9 grid of positions over the 20x20 image. All eight maps
# share one colour scale, so colours compare across images; each title gives the network's
# probability for the true class and the largest drop of its score.

# %%
examples = [int(np.flatnonzero(y_test == k)[0]) for k in range(len(class_names))]


def show_maps(rows, row_labels, title, cmap, symmetric=False, shared=False, notes=None):
    """The test images of `examples` in the top row, one row of maps under them per entry of
    `rows`, each map stretched over its image. `shared` puts every map of a row on one colour
    scale (else each map gets its own); `symmetric` centres the scale at 0; `notes` are titles
    for the image row."""
    tiles = cl.plot.ImageTiles(1 + len(rows), len(examples), title, size=1.4,
                               title_lines=1 if notes is None else 2,
                               right=0.7 if shared else 0.1)  # fmt: skip
    for col, i in enumerate(examples):
        heading = class_names[y_test[i]] + ("" if notes is None else "\n" + notes[col])
        tiles.show(0, col, X_test[i, 0], title=heading, cmap="gray", vmin=0, vmax=1)
        for r, maps in enumerate(rows, start=1):
            m = maps[col]
            v = max(np.abs(mm).max() for mm in maps) if shared else np.abs(m).max()
            image = tiles.show(r, col, m, cmap=cmap, vmin=-v if symmetric else 0, vmax=v)
            if shared and col == len(examples) - 1:  # a colour bar right of the row
                _, right, bottom, top = tiles.box(r, col)
                bar = tiles.fig.add_axes((
                    (right + 0.12) / tiles.width, 1 - (bottom - 0.1) / tiles.height,
                    0.12 / tiles.width, (bottom - top - 0.2) / tiles.height,
                ))  # fmt: skip
                tiles.fig.colorbar(image, cax=bar)
    tiles.label_row(0, "image")
    for r, label in enumerate(row_labels, start=1):
        tiles.label_row(r, label)
    return tiles.fig


t0 = time.perf_counter()
occlusions = [occlusion_map(net, X_test[i], y_test[i], patch=4, stride=2) for i in examples]
print(f"8 occlusion maps in {time.perf_counter() - t0:.2f} s")
p_true = cl.train.predict_proba(net, X_test[examples])[np.arange(8), y_test[examples]]
notes = [f"p={p:.3f}, max {m.max():.1f}" for p, m in zip(p_true, occlusions)]
show_maps([occlusions], ["score drop"], "Drop in the true class's score when a 4x4 patch is "
          "covered (one colour scale)", "RdBu_r", symmetric=True, shared=True, notes=notes)  # fmt: skip
plt.show()

# %% [markdown]
# Every map lies on its shape: a patch that covers only background changes the score by about a
# tenth of the map's largest drop at most (printed below). Within the shape, the maps differ in two
# ways that only a shared scale shows. First, in size: covering part of the disc costs the
# circle score up to 10, while no single patch costs a bar more than about 4 - the bars'
# evidence is spread over a long thin stroke, and a 4x4 patch hides only a piece of it. Second,
# in shape: for the ring and the three bars the drop runs along the whole stroke, so no one part
# carries the class and every piece adds evidence. Covering the ring's hole costs nothing - a
# black patch on a dark background hides little more than pixel noise - and even raises the
# score a little. For the circle, square and triangle the drop is largest inside the body. Blue
# cells, where covering made the network *more* sure, are rare and small here: the largest rise
# is 0.7, in the ring, at a patch that covers mostly its hole.
#
# The map is coarse - one value per patch position - and depends on the patch size and on the
# fill value. It also reports evidence, not decisions: a large score drop need not change the
# prediction if the class was far ahead. The next cell asks about the decision, using only
# `occlusion_map`: one map per class gives the scores of all classes under every patch,
# `s_k(occluded) = s_k(image) - drop_k`, and from them the softmax probabilities.

# %%
# The scores of ALL classes under every patch, from one occlusion map per class:
# s_k(occluded) = s_k(image) - drop_k.
scores_0 = net.forward(X_test[examples])
p_min, flips = [], []
for col, i in enumerate(examples):
    occluded = scores_0[col][:, None, None] - np.stack(
        [occlusion_map(net, X_test[i], k, patch=4, stride=2) for k in range(len(class_names))]
    )
    p_occluded = np.exp(occluded - occluded.max(axis=0))
    p_occluded /= p_occluded.sum(axis=0)
    p_min.append(p_occluded[y_test[i]].min())
    flips.append(int((occluded.argmax(axis=0) != y_test[i]).sum()))
    print(f"{class_names[y_test[i]]:>14}: p(true) {p_true[col]:.4f}, lowest under a patch "
          f"{p_min[-1]:.4f}; {flips[-1]:2d} of 81 patches change the prediction")  # fmt: skip
# which patches cover background only (no pixel brighter than 0.35)?
background = [
    np.array([[X_test[i, 0, 2 * r : 2 * r + 4, 2 * c : 2 * c + 4].max() < 0.35
               for c in range(9)] for r in range(9)])
    for i in examples
]  # fmt: skip
bg_share = [
    np.abs(m[b]).max() / m.max() if b.any() else 0.0 for m, b in zip(occlusions, background)
]
print(
    "largest |drop| over background-only patches, as a share of the map's largest drop:",
    np.round(bg_share, 2),
)
print("smallest drop (a rise of the score) per map:", np.round([m.min() for m in occlusions], 2))
cl.claim("a background patch changes the score by about a tenth of the largest drop at most",
         max(bg_share), high=0.12)  # fmt: skip
cl.claim("covering part of the disc costs the circle score up to 10", occlusions[0].max(),
         low=8.5, high=11.5)  # fmt: skip
cl.claim("no single patch costs a bar more than about 4", max(m.max() for m in occlusions[4:7]),
         high=4.5)  # fmt: skip
cl.claim("blue cells are rare and small: the largest rise is 0.7, in the ring",
         -min(m.min() for m in occlusions), low=0.6, high=0.8)  # fmt: skip
cl.claim("the largest rise is in the ring", int(np.argmin([m.min() for m in occlusions])),
         equals=7)  # fmt: skip
r, c = np.unravel_index(occlusions[7].argmin(), (9, 9))
cl.claim("the ring's largest rise is at a patch that covers mostly its hole",
         (X_test[examples[7], 0, 2 * r : 2 * r + 4, 2 * c : 2 * c + 4] > 0.35).mean(), high=0.13)  # fmt: skip
cl.claim("no patch moves p(ring) by a ten-thousandth", p_true[7] - p_min[7], high=1e-4)
cl.claim("no patch brings p(ring) below 0.9999", p_min[7], low=0.9999)
cl.claim("the ring's score drops by up to 5", occlusions[7].max(), low=4.5, high=5.5)
cl.claim("score 10 above 7 others: p = 0.9997", round(1 / (1 + 7 * np.exp(-10)), 4), equals=0.9997)
cl.claim("lowered by 3: p = 0.994", round(1 / (1 + 7 * np.exp(-7)), 3), equals=0.994)
cl.claim("the diagonal bar stays above 0.9", p_min[6], low=0.9)
cl.claim("no patch changes the prediction for the diagonal bar and the ring", flips[6] + flips[7],
         equals=0)  # fmt: skip
cl.claim("cross, horizontal and vertical bar: one to five patches change the prediction",
         min(flips[3:6]), low=1)  # fmt: skip
cl.claim("cross, horizontal and vertical bar: one to five patches change the prediction",
         max(flips[3:6]), high=5)  # fmt: skip
cl.claim("filled shapes: 7 to 16 patches change the prediction", min(flips[:3]), low=7)
cl.claim("filled shapes: 7 to 16 patches change the prediction", max(flips[:3]), high=16)

# %% [markdown]
# For the ring the probability is 1.000 before and after: no patch brings it below 0.9999,
# although the score drops by up to 5 - a map of probability drops would be blank, or, on its
# own colour scale, a picture of rounding noise. The diagonal bar, too, keeps its probability
# above 0.9 under every patch. For every other image some 4x4 patch at the right place changes
# the prediction: one to five of the 81 positions for the cross and the horizontal and vertical
# bars, 7 to 16 for the filled shapes, which the network finds harder. Both views are useful; just know
# which question each answers.

# %% [markdown]
# ## 6. Saliency maps: the gradient with respect to the pixels
#
# Occlusion needs one forward pass per patch position. A gradient answers a related question in
# one backward pass: if pixel `(i, j)` changed a little, how much would the score of class `y`
# change? That is `d s_y / d x_ij`, and the network computes it with the backward pass you wrote
# in notebook 02, only continued one step further: down to the input instead of stopping at the
# weights. Simonyan, Vedaldi and Zisserman ([2013](https://arxiv.org/abs/1312.6034)) call the
# map of its magnitudes a *saliency map*:
#
# 1. forward the image (a batch of one), in eval mode;
# 2. backward a one-hot `dscores`, 1 at the class and 0 elsewhere: the result `dx` is the
#    gradient of the class **score** `s_y` (before the softmax; the softmax probability also
#    depends on all other scores, so its gradient mixes in "make the other classes smaller");
# 3. take the absolute value (a large negative gradient matters as much as a large positive one)
#    and the maximum over the colour channels, giving one value per pixel.
#
# **Worked example.** For a linear model `s = W^T x + b` the gradient of `s_y` is just the
# column `W[:, y]`, whatever the image: the saliency of a linear model is its weight template.
#
# ### Exercise 5: `saliency_map` (3 points)
#
# Return `max over channels of |d s_label / d x|` for one image `x` of shape `(C, H, W)`,
# computed with the model's `forward` and `backward` in eval mode. Leave the model in the mode
# you found it in. In symbols, for class $y$ = `label`:
#
# $$ \mathrm{saliency}[i, j] = \max_{c} \left| \frac{\partial s_y}{\partial x_{c,i,j}} \right|,
#    \qquad \text{shape } (H, W). $$
#
# The numerical gradient of `cl.gradcheck` would be far too slow here and is not allowed: use
# the backward pass.
#
# <details><summary>Hint 1</summary>
#
# The model's backward pass turns an upstream gradient on the scores into a gradient on its
# input. The upstream gradient that selects the single score $s_y$ is zero everywhere except a 1
# at class $y$. Then reduce: absolute value first, maximum over the channels second.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# The model works on batches: give it `x[None]`, of shape `(1, C, H, W)`, and the gradient it
# returns has that shape too, so the image's gradient is its entry 0. Switch to eval mode first
# and restore the mode at the end, as in `get_activations`.
#
# </details>
#
# <details><summary>Hint 3</summary>
#
# `dscores` is `np.zeros_like(scores)` with `dscores[0, label] = 1`, and `model.backward(dscores)`
# returns `dx`.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "saliency_map", "locked": false, "schema_version": 3, "solution": true, "task": false}
def saliency_map(model, x, label):
    """Saliency of one image: max over channels of |d score_label / d x|.

    Parameters
    ----------
    model : cnnlab.nn.Sequential
        Maps (N, C, H, W) to class scores (N, K); used in eval mode, mode restored.
    x : ndarray, shape (C, H, W)
        One image.
    label : int
        The class whose score (before the softmax) is differentiated.

    Returns
    -------
    saliency : ndarray, shape (H, W)
        ``max_c |d scores[label] / d x[c, i, j]|``, from the model's backward pass.
    """
    ### BEGIN SOLUTION
    was_training = model.training
    model.eval()
    try:
        scores = model.forward(np.asarray(x)[None])
        dscores = np.zeros_like(scores)
        dscores[0, label] = 1.0
        dx = model.backward(dscores)
    finally:
        if was_training:
            model.train()
    return np.abs(dx[0]).max(axis=0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_saliency_map", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T

# A linear model on 2-channel 2x2 images: the gradient of score y is the weight column W[:, y]
# (the Dropout layer is the identity in eval mode).
fc = cl.nn.Linear(8, 2, dtype="float64")
# score 0: channel 0 [[1, -3], [.5, 2]], channel 1 [[-2, 1], [1, -.5]]
fc.params["w"][:, 0] = [1, -3, 0.5, 2, -2, 1, 1, -0.5]
# score 1: channel 0 [[0, 1], [0, 1]], channel 1 [[4, 0], [0, 0]]
fc.params["w"][:, 1] = [0, 1, 0, 1, 4, 0, 0, 0]
fc.params["b"][...] = 0
model = cl.nn.Sequential(cl.nn.Flatten(), cl.nn.Dropout(0.5, seed=0), fc)
x = np.array([[[0.2, 0.4], [0.6, 0.8]], [[0.1, 0.3], [0.5, 0.7]]])
w0 = fc.params["w"][:, 0].reshape(2, 2, 2).copy()
scores = x.reshape(-1) @ fc.params["w"]  # for the mistakes below: p = softmax(scores)
p = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
dprob = (p[0] * (1 - p[0])) * w0 - p[0] * p[1] * fc.params["w"][:, 1].reshape(2, 2, 2)
dlogp = (1 - p[0]) * w0 - p[1] * fc.params["w"][:, 1].reshape(2, 2, 2)
model.train()  # the model arrives in training mode
with T.forbid_calls("cnnlab.gradcheck", exercise="saliency_map"):
    got = saliency_map(model, x, 0)
name = "saliency_map(model, x, 0) for x of shape (2, 2, 2)"
T.assert_shape(got, (2, 2), name=name,
               hint="one value per pixel: (H, W) = (2, 2), the channel axis reduced by a max")  # fmt: skip
T.assert_allclose(got, [[2, 3], [1, 2]], atol=1e-6, name=name,
                  hint="the gradient of score 0 is the weight column, channel 0 [[1, -3], "
                       "[.5, 2]] and channel 1 [[-2, 1], [1, -.5]]: |.| then max over channels, "
                       "in eval mode", mistakes=[
                      ("absolute value missing, or taken after the max: take |dx| first, then "
                       "the max over channels", np.abs(w0.max(axis=0))),
                      ("summed over channels; take the MAX over channels of |dx|",
                       np.abs(w0).sum(axis=0)),
                      ("summed over channels; take the MAX over channels of |dx|",
                       np.abs(w0.sum(axis=0))),
                      ("averaged over channels; take the MAX over channels of |dx|",
                       np.abs(w0).mean(axis=0)),
                      ("only channel 0; take the max over ALL channels", np.abs(w0[0])),
                      ("gradient of the softmax probability; backpropagate a one-hot on the raw "
                       "SCORES", np.abs(dprob).max(axis=0)),
                      ("gradient of the log-probability (the loss); backpropagate a one-hot on "
                       "the raw SCORES", np.abs(dlogp).max(axis=0)),
                      ("gradient of the sum of all scores; dscores is 1 at `label` only",
                       np.abs(w0 + fc.params["w"][:, 1].reshape(2, 2, 2)).max(axis=0)),
                  ])  # fmt: skip
T.assert_allclose(saliency_map(model, x, 1), [[4, 1], [0, 1]], atol=1e-6,
                  name="saliency_map(model, x, 1)",
                  hint="the gradient of score 1 is the weight column W[:, 1]")  # fmt: skip
for arrives in ["training", "eval"]:
    model.train() if arrives == "training" else model.eval()
    with T.in_place(model):  # its mode is checked after the call: the grader hands it back
        saliency_map(model, x, 0)
    modes = [model.training] + [layer.training for layer in model.layers]
    T.assert_true(modes == [arrives == "training"] * 4,
                  f"saliency_map on a model in {arrives} mode left it with model.training = "
                  f"{modes[0]} and layer modes {modes[1:]}.",
                  hint="leave the model in the mode it had, as in get_activations: model.train() "
                       "at the end if it was training, nothing otherwise")  # fmt: skip
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(41)
model = cl.nn.Sequential(
    cl.nn.Conv2d(3, 5, 3, pad=1, rng=rng, dtype="float64"),
    cl.nn.ReLU(),
    cl.nn.MaxPool2d(2, stride=2),
    cl.nn.Conv2d(5, 4, 3, stride=2, pad=1, rng=rng, dtype="float64"),
    cl.nn.ReLU(),
    cl.nn.Flatten(),
    cl.nn.Dropout(0.5, rng=rng),
    cl.nn.Linear(4 * 3 * 2, 6, rng=rng, dtype="float64"),
)
for label in [3, 0]:
    x = rng.normal(size=(3, 10, 8))
    model.eval()
    scores = model.forward(x[None])
    onehot = np.zeros_like(scores)
    onehot[0, label] = 1
    dx = model.backward(onehot)[0]
    p = np.exp(scores - scores.max())
    p /= p.sum()
    dprob = p[0, label] * (onehot - p)  # d p_label / d scores
    dx_prob = model.backward(dprob)[0]
    dx_logp = model.backward(onehot - p)[0]
    expected = np.abs(dx).max(axis=0)
    name = f"saliency_map for a (3, 10, 8) image, label {label}"
    model.train()
    with T.forbid_calls("cnnlab.gradcheck", exercise="saliency_map"), T.in_place(model):
        got = saliency_map(model, x, label)
    T.assert_true(model.training, f"{name}: a model in training mode was left in eval mode.",
                  hint="restore the mode: model.train() at the end if it was training")  # fmt: skip
    T.assert_shape(got, (10, 8), name=name,
                   hint="return (H, W): the max over the channel axis of |dx[0]|")  # fmt: skip
    no_abs = "absolute value missing (or taken after the max): use np.abs(dx).max(axis=0)"
    summed = "summed over channels; take the MAX over channels of |dx|"
    mistakes = [
        (no_abs, dx.max(axis=0)),
        (no_abs, np.abs(dx.max(axis=0))),
        (summed, np.abs(dx).sum(axis=0)),
        (summed, np.abs(dx.sum(axis=0))),
        ("averaged over channels; take the MAX over channels of |dx|", np.abs(dx).mean(axis=0)),
        (
            "gradient of the softmax probability; backpropagate a one-hot on the raw SCORES",
            np.abs(dx_prob).max(axis=0),
        ),
        (
            "gradient of the log-probability (the loss); backpropagate a one-hot on the raw SCORES",
            np.abs(dx_logp).max(axis=0),
        ),
        ("only channel 0; take the max over ALL channels", np.abs(dx[0])),
    ]
    T.assert_allclose(got, expected, rtol=1e-6, atol=1e-12, name=name, mistakes=mistakes,
                      hint="forward in eval mode (Dropout off), backward a one-hot dscores at "
                      "`label`")  # fmt: skip
### END HIDDEN TESTS

# %% [markdown]
# Saliency maps for the same eight test images as the occlusion maps above (middle row). The
# bottom row averages the saliency maps of 15 copies of each image with added Gaussian noise of
# standard deviation 0.1, a trick called SmoothGrad
# ([Smilkov et al. 2017](https://arxiv.org/abs/1706.03825)): the gradient's pixel-to-pixel
# jitter averages out, the structure shared by the copies stays.

# %%
saliencies = [saliency_map(net, X_test[i], y_test[i]) for i in examples]
noise_rng = np.random.default_rng(0)
n_copies = 5 if cl.is_grading() else 15
if not cl.is_grading():
    cl.claim("the saliency maps of 15 copies of each image", n_copies, equals=15)
smoothed = [
    np.mean(
        [
            saliency_map(
                net, X_test[i] + 0.1 * noise_rng.standard_normal(X_test[i].shape), y_test[i]
            )
            for _ in range(n_copies)
        ],
        axis=0,
    )
    for i in examples
]
show_maps([saliencies, smoothed], ["saliency", "SmoothGrad"],
          "Saliency |d score(true class) / d pixel|, plain and averaged over noisy copies", "hot")  # fmt: skip
plt.show()

# %% [markdown]
# Each map has its own colour scale here: the pattern matters, not the size of the gradient.
# Where occlusion gave one value per 4x4 patch, the saliency map has one value per pixel, and it
# is noisy. For the three bars the largest values line up along the stroke, and for the ring
# they roughly follow the circle; for the circle, the square and the triangle the plain maps are
# speckle in which no shape is easy to see. A gradient describes the network's response to tiny
# changes around this one image, and our images carry pixel noise to which the first-layer
# filters respond.
#
# SmoothGrad changes the look more than the content. For the bars it turns the speckle into
# clean lines along the bar's long edges - the edges the first-layer filters detect - but for
# the filled shapes it is no clearer than the plain map, and it spreads a haze over the
# background: in the noisy copies the filters respond there too. The next cell measures this:
# the share of each map's total that falls on the shape (its bright pixels and a one-pixel
# border), next to the share of the image the shape covers.

# %%
from scipy.ndimage import binary_dilation

on_shape = [binary_dilation(X_test[i, 0] > 0.35) for i in examples]
area = np.array([mask.mean() for mask in on_shape])
share_plain = np.array([m[mask].sum() / m.sum() for m, mask in zip(saliencies, on_shape)])
share_smooth = np.array([m[mask].sum() / m.sum() for m, mask in zip(smoothed, on_shape)])
print(f"{'':>14}  area  plain  SmoothGrad")
for k in range(len(examples)):
    print(f"{class_names[k]:>14}  {area[k]:.2f}   {share_plain[k]:.2f}   {share_smooth[k]:.2f}")
cl.claim("the plain maps put more of their weight on the shape than its area would",
         (share_plain / area).min(), low=1.2)  # fmt: skip
if not cl.is_grading():
    cl.claim("SmoothGrad too puts more of its weight on the shape than its area would",
             (share_smooth / area).min(), low=1.0)  # fmt: skip
    cl.claim("SmoothGrad puts less on the shape than the plain map, for every image",
             (share_plain - share_smooth).min(), low=0.0)  # fmt: skip

# %% [markdown]
# Both kinds of map put more of their weight on the shape than its area would (compare the
# columns with `area`), so neither is pure noise. But the smoother-looking SmoothGrad puts *less*
# of its weight on the shape than the plain map, for every one of the eight images. A picture
# that looks cleaner is not for that reason a more faithful one: judge a visualisation by a
# measurement, not by its looks. Occlusion and saliency answer different questions and need not
# agree; section 11 adds one more caveat.

# %% [markdown]
# ## 7. What does the network think a class looks like?
#
# The saliency map follows the gradient of a class score with respect to the input for one real
# image. If we instead *start* from a faint random image and follow that gradient uphill, step after
# step, we make an image whose score for the class is as large as we can get it - the network's
# own picture of the class ([Simonyan et al. 2013](https://arxiv.org/abs/1312.6034), section 2;
# Erhan, Bengio, Courville and Vincent, *Visualizing Higher-Layer Features of a Deep Network*,
# 2009, call it *activation maximisation*).
#
# Left alone, the ascent makes the pixels grow without limit: a network of convolutions, ReLUs,
# max pooling and linear layers is piecewise linear, so scaling up an image that raises the score
# raises it further. So we maximise the score minus a penalty on the image's size,
#
# $$ J(x) = s_y(x) - \lambda \|x\|^2, \qquad \nabla_x J = \frac{\partial s_y}{\partial x} - 2\lambda x, $$
#
# and repeat `x <- x + lr * grad J(x)`. The penalty keeps the pixels that do not help the class
# near zero.
#
# L2 alone is a weak prior, though: nothing keeps the pixels inside the range of real images
# (ours lie in `[0, 1]`), and nothing stops the ascent from building the score out of
# pixel-sized high-frequency patterns that no real image contains. Stronger priors help
# ([Yosinski et al. 2015](https://arxiv.org/abs/1506.06579), the Distill article above, and
# CS231n's assignment 3): after every step, *clip* the pixels to the data range and *blur* the
# image a little, so that only patterns that survive smoothing can grow. Your function takes
# such a prior as an optional function `prior(x) -> x`, applied after every update, so that you
# can try both.
#
# **Worked example.** For a linear score `s_y = w . x` the gradient of `J` is `w - 2 λ x`, zero
# at `x* = w / (2 λ)`. With `λ = 0.5` and `lr = 0.1` every step moves `x` 10 % of the way to
# `x* = w`: after `t` steps `x = w + 0.9^t (x_0 - w)`. With the prior `prior(x) = 0.5 * x`, a
# step maps `x` to `0.5 * (0.9 x + 0.1 w) = 0.45 x + 0.05 w`, whose fixed point is `w / 11`:
# after `t` steps `x = w / 11 + 0.45^t (x_0 - w / 11)`.
#
# ### Exercise 6: `class_visualization` (3 points)
#
# Start from faint noise, $x_0 = 0.1\, z$, where $z$ is one draw of
# `rng.standard_normal(shape)` (draw exactly this, once, so that a seed gives one answer), and
# make `steps` gradient-ascent updates
#
# $$ x_{t+1} = x_t + \mathrm{lr} \left( \frac{\partial s_y}{\partial x}(x_t)
#    - 2 \lambda x_t \right), \qquad \lambda = \texttt{l2}, $$
#
# the score gradient coming from the model's backward pass in eval mode, on the batch of one
# image `x[None]`. When `prior` is given, pass the image through it after every update (the
# last one included): $x_{t+1} \leftarrow \mathrm{prior}(x_{t+1})$. Return the final image,
# a float64 array of shape `shape`, and leave the model in the mode you found it in.
#
# <details><summary>Hint 1</summary>
#
# Each step is the computation of `saliency_map` without its last line (no absolute value, no
# maximum over channels): a forward pass, a backward pass of a one-hot upstream gradient at
# `label`, and the gradient of the image comes back. Add the penalty's part, take the step,
# apply the prior.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Draw the start before the loop, not inside it: the random numbers are part of the answer. Keep
# the image in float64 (convert the gradient the backward pass returns), and switch the model to
# eval mode once, before the loop, restoring the mode after it.
#
# </details>
#
# <details><summary>Hint 3</summary>
#
# The gradient of $-\lambda \|x\|^2$ is $-2 \lambda x$, so one update reads
# `x = x + lr * (grad - 2 * l2 * x)`.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "class_visualization", "locked": false, "schema_version": 3, "solution": true, "task": false}
def class_visualization(model, label, shape, steps, lr, l2, rng, prior=None):
    """Gradient ascent on an input image to maximise ``score[label] - l2 * ||x||^2``.

    Parameters
    ----------
    model : cnnlab.nn.Sequential
        Maps (N, C, H, W) to class scores (N, K); used in eval mode, mode restored.
    label : int
        The class to visualise.
    shape : tuple of int
        (C, H, W) of the image.
    steps : int
        Number of updates.
    lr : float
        Step size.
    l2 : float
        Weight of the L2 penalty.
    rng : numpy.random.Generator
        Draws the start: 0.1 times one ``rng.standard_normal(shape)`` draw.
    prior : callable or None
        ``x = prior(x)`` after every update (e.g. clip to the data range and blur); None
        applies nothing.

    Returns
    -------
    x : ndarray of float, shape (C, H, W)
        The image after ``steps`` updates ``x += lr * (d score[label] / dx - 2 * l2 * x)``,
        each followed by ``x = prior(x)`` when a prior is given.
    """
    ### BEGIN SOLUTION
    x = 0.1 * rng.standard_normal(shape)
    was_training = model.training
    model.eval()
    try:
        for _ in range(steps):
            scores = model.forward(x[None])
            dscores = np.zeros_like(scores)
            dscores[0, label] = 1.0
            grad = model.backward(dscores)[0].astype(np.float64)
            x = x + lr * (grad - 2.0 * l2 * x)
            if prior is not None:
                x = np.asarray(prior(x), dtype=np.float64)
    finally:
        if was_training:
            model.train()
    return x
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_class_visualization", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T

# The worked example: a linear model, score 0 = w . x with w = [1, -1, 0.5, 2] on a 1x2x2 image
# (the Dropout layer is the identity in eval mode).
fc = cl.nn.Linear(4, 2, dtype="float64")
fc.params["w"][:, 0] = [1, -1, 0.5, 2]
fc.params["w"][:, 1] = [0, 0, 0, 0.5]
fc.params["b"][...] = 0
model = cl.nn.Sequential(cl.nn.Flatten(), cl.nn.Dropout(0.5, seed=0), fc)
x0 = 0.1 * np.random.default_rng(0).standard_normal((1, 2, 2))
w0 = np.array([1, -1, 0.5, 2]).reshape(1, 2, 2)


def steps_of(update, x, t=30):
    """x after t steps x <- update(x): what some wrong updates give on this linear model."""
    for _ in range(t):
        x = update(x)
    return x


def probability_step(x):
    """One ascent step on p(class 0) instead of the score (a mistake)."""
    s = np.array([w0.ravel() @ x.ravel(), 0.5 * x.ravel()[3]])
    p = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    grad = p[0] * (1 - p[0]) * w0 - p[0] * p[1] * np.array([0, 0, 0, 0.5]).reshape(1, 2, 2)
    return x + 0.1 * (grad - x)


def halve(x):
    return 0.5 * x


model.train()  # the model arrives in training mode
with T.forbid_calls("cnnlab.gradcheck", exercise="class_visualization"):
    got = class_visualization(model, 0, (1, 2, 2), 30, 0.1, 0.5, np.random.default_rng(0))
name = "class_visualization(model, 0, (1, 2, 2), steps=30, lr=0.1, l2=0.5)"
T.assert_shape(got, (1, 2, 2), name=name)
start = "start from x = 0.1 * rng.standard_normal(shape), drawn once"
T.assert_allclose(got, w0 + 0.9**30 * (x0 - w0), rtol=1e-6, atol=1e-9, name=name,
                  hint="x = 0.1 * rng.standard_normal(shape), then 30 times, in eval mode, "
                       "x += lr * (gradient of the score - 2 * l2 * x): here x += 0.1 * (w - x), "
                       "10 % of the way to w per step", mistakes=[
                      ("gradient DESCENT: move x along +gradient (x += lr * grad) to raise the "
                       "score", steps_of(lambda x: x - 0.1 * (w0 - x), x0)),
                      ("sign of the L2 term: the gradient of -l2 * ||x||^2 is -2 * l2 * x",
                       steps_of(lambda x: x + 0.1 * (w0 + x), x0)),
                      ("factor 2 missing: the gradient of l2 * ||x||^2 is 2 * l2 * x",
                       steps_of(lambda x: x + 0.1 * (w0 - 0.5 * x), x0)),
                      ("L2 penalty missing: add -2 * l2 * x to the gradient", x0 + 3 * w0),
                      ("gradient of the softmax probability; ascend the raw class SCORE",
                       steps_of(probability_step, x0)),
                      (start, w0 + 0.9**30 * (0 - w0)),
                      (start, w0 + 0.9**30 * (10 * x0 - w0)),
                      (start, w0 + 0.9**30 * (0.1 * x0 - w0)),
                  ])  # fmt: skip
with T.forbid_calls("cnnlab.gradcheck", exercise="class_visualization"):
    got = class_visualization(model, 0, (1, 2, 2), 30, 0.1, 0.5, np.random.default_rng(0),
                              prior=halve)  # fmt: skip
T.assert_allclose(got, w0 / 11 + 0.45**30 * (x0 - w0 / 11), rtol=1e-6, atol=1e-9,
                  name=name[:-1] + ", prior=halve) with halve(x) = 0.5 * x",
                  hint="after every update x = prior(x): x -> 0.5 * (0.9 x + 0.1 w)",
                  mistakes=[
                      ("the prior was ignored: set x = prior(x) after every update",
                       w0 + 0.9**30 * (x0 - w0)),
                      ("the prior was applied before each update; apply it after each update, "
                       "the last one included", steps_of(lambda x: 0.9 * (0.5 * x) + 0.1 * w0, x0)),
                      ("the prior was applied once, at the end; apply it after every update",
                       0.5 * (w0 + 0.9**30 * (x0 - w0))),
                  ])  # fmt: skip
for arrives in ["training", "eval"]:
    model.train() if arrives == "training" else model.eval()
    with T.in_place(model):  # its mode is checked after the call: the grader hands it back
        class_visualization(model, 0, (1, 2, 2), 2, 0.1, 0.5, np.random.default_rng(0))
    modes = [model.training] + [layer.training for layer in model.layers]
    T.assert_true(modes == [arrives == "training"] * 4,
                  f"class_visualization on a model in {arrives} mode left it with model.training "
                  f"= {modes[0]} and layer modes {modes[1:]}.",
                  hint="leave the model in the mode it had, as in get_activations: model.train() "
                       "at the end if it was training, nothing otherwise")  # fmt: skip
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(51)
model = cl.nn.Sequential(
    cl.nn.Conv2d(1, 4, 3, pad=1, rng=rng, dtype="float64"),
    cl.nn.ReLU(),
    cl.nn.MaxPool2d(2, stride=2),
    cl.nn.Flatten(),
    cl.nn.Linear(4 * 4 * 4, 16, rng=rng, dtype="float64"),
    cl.nn.ReLU(),
    cl.nn.Dropout(0.5, rng=rng),
    cl.nn.Linear(16, 5, rng=rng, dtype="float64"),
)
shape, steps, lr, l2 = (1, 9, 8), 40, 0.3, 0.05


def _ascent(label, seed, sign=1.0, reg=2.0, use_softmax=False, start=0.1, prior=None,
            prior_first=False):  # fmt: skip
    x = start * np.random.default_rng(seed).standard_normal(shape)
    model.eval()
    for _ in range(steps):
        if prior is not None and prior_first:
            x = prior(x)
        scores = model.forward(x[None])
        d = np.zeros_like(scores)
        d[0, label] = 1.0
        if use_softmax:
            p = np.exp(scores - scores.max())
            p /= p.sum()
            d = p[0, label] * (d - p)
        x = x + sign * lr * (model.backward(d)[0] - reg * l2 * x)
        if prior is not None and not prior_first:
            x = prior(x)
    return x


def _scores(x):
    model.eval()
    return model.forward(np.asarray(x, dtype=np.float64)[None])[0]


def _clip(x):
    return np.clip(x, -0.3, 0.6)


# `wins`: the ascent ends on its class for every start seed 0-9 (measured: score margin over the
# runner-up at least 32 for class 1 and 0.24 for class 2 with the clip; class 4 loses for seeds 0
# and 8, so its case checks the image only, not the winner).
for label, seed, prior, wins in [(1, 8, None, True), (4, 7, None, False), (2, 9, _clip, True)]:
    expected = _ascent(label, seed, prior=prior)
    name = (f"class_visualization(model, {label}, {shape}, steps={steps}, lr={lr}, l2={l2}"
            + (", prior=<clip to [-0.3, 0.6]>)" if prior else ")"))  # fmt: skip
    rng_in = np.random.default_rng(seed)
    model.train()
    with T.forbid_calls("cnnlab.gradcheck", exercise="class_visualization"), T.in_place(model):
        got = class_visualization(model, label, shape, steps, lr, l2, rng_in, prior=prior)
    T.assert_true(model.training, f"{name}: a model in training mode was left in eval mode.",
                  hint="restore the mode: model.train() at the end if it was training")  # fmt: skip
    T.assert_shape(got, shape, name=name, hint="return the image x of shape `shape`")
    T.assert_true(np.asarray(got).dtype == np.float64,
                  f"{name}: returned dtype {np.asarray(got).dtype}, expected float64.",
                  hint="keep the image in float64 (convert the gradient or the prior's output)")  # fmt: skip
    T.assert_finite(got, name=name, hint="lr * gradient steps should stay finite here")
    s = _scores(got)
    start = "start from x = 0.1 * rng.standard_normal(shape), drawn once from `rng`"
    mistakes = [
        ("gradient DESCENT: move x along +gradient (x += lr * grad) to raise the score",
         _ascent(label, seed, sign=-1.0, prior=prior)),
        ("sign of the L2 term: the gradient of -l2 * ||x||^2 is -2 * l2 * x",
         _ascent(label, seed, reg=-2.0, prior=prior)),
        ("factor 2 missing: the gradient of l2 * ||x||^2 is 2 * l2 * x",
         _ascent(label, seed, reg=1.0, prior=prior)),
        ("L2 penalty missing: add -2 * l2 * x to the gradient",
         _ascent(label, seed, reg=0.0, prior=prior)),
        ("gradient of the softmax probability; ascend the raw class SCORE",
         _ascent(label, seed, use_softmax=True, prior=prior)),
    ] + [(start, _ascent(label, seed, start=a, prior=prior)) for a in (0.0, 0.01, 1.0)]  # fmt: skip
    if prior is not None:
        mistakes += [
            ("the prior was ignored: set x = prior(x) after every update", _ascent(label, seed)),
            ("the prior was applied before each update; apply it after each update",
             _ascent(label, seed, prior=prior, prior_first=True)),
        ]  # fmt: skip
    T.assert_allclose(got, expected, rtol=1e-6, atol=1e-9, name=name, mistakes=mistakes,
                      hint="x = 0.1 * rng.standard_normal(shape); then `steps` times in eval mode "
                      "x += lr * (backward of a one-hot at `label` - 2 * l2 * x), then x = "
                      "prior(x) if a prior is given")  # fmt: skip
    T.assert_true(not wins or int(np.argmax(s)) == label,
                  f"{name}: the result scores {s.round(3)}, highest for class {int(np.argmax(s))} "
                  f"instead of {label}.")  # fmt: skip
### END HIDDEN TESTS

# %% [markdown]
# One synthesised image per class of our trained network, each from its own faint random start,
# with 50 steps of size `lr = 0.1`: first with the L2 penalty alone (`l2 = 0.5`), then with a
# weaker penalty (`l2 = 0.05`) and a prior that clips every pixel to `[0, 1]` and blurs the
# image with a Gaussian of standard deviation 0.5 pixel after every step. The titles give the
# network's probability for the class.

# %%
from scipy.ndimage import gaussian_filter


def clip_and_blur(x):
    """The prior: pixels clipped to the data range [0, 1], then a slight Gaussian blur."""
    return gaussian_filter(np.clip(x, 0.0, 1.0), sigma=(0, 0.5, 0.5))


steps = 30 if cl.is_grading() else 50
t0 = time.perf_counter()
dreams = {
    "L2 only": [
        class_visualization(net, k, (1, 20, 20), steps, 0.1, 0.5, np.random.default_rng(k))
        for k in range(len(class_names))
    ],
    "clip + blur": [
        class_visualization(
            net, k, (1, 20, 20), steps, 0.1, 0.05, np.random.default_rng(k), prior=clip_and_blur
        )  # fmt: skip
        for k in range(len(class_names))
    ],
}
print(f"{2 * len(class_names)} class visualisations, {steps} steps each, "
      f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
tiles = cl.plot.ImageTiles(
    2,
    len(class_names),
    "Images that maximise each class score, L2 only and with a clip-and-blur prior",
    size=1.25,
    title_lines=2,
    label_lines=2,
)
dream_p = {}
for r, (how, images) in enumerate(dreams.items()):
    images = np.stack(images)
    dream_p[how] = cl.train.predict_proba(net, images.astype(np.float32))[
        np.arange(len(class_names)), np.arange(len(class_names))
    ]
    print(f"{how:>12}: pixels from {images.min():.1f} to {images.max():.1f}")
    for k in range(len(class_names)):
        tiles.show(r, k, images[k, 0], title=f"{class_names[k]}\np={dream_p[how][k]:.2f}",
                   cmap="gray", vmin=0 if r else None, vmax=1 if r else None)  # fmt: skip
    tiles.label_row(r, how + ("\n(own range)" if r == 0 else "\n(0 to 1)"), fontsize=8)
plt.show()
if not cl.is_grading():
    plain = np.stack(dreams["L2 only"])
    cl.claim("L2 only: the pixels run from about -3.5", plain.min(), low=-4.0, high=-3.0)
    cl.claim("L2 only: the pixels run to about 2.8", plain.max(), low=2.3, high=3.3)
    cl.claim("L2 only: the triangle's probability stays low", dream_p["L2 only"][2], high=0.5)
    cl.claim("with the prior every image is its class with p >= 0.9", dream_p["clip + blur"].min(),
             low=0.9)  # fmt: skip

# %% [markdown]
# With the L2 penalty alone (top row) the pixels run from about -3.5 to 2.8 (printed above), far
# outside the `[0, 1]` of real images, so each image is shown on its own grey scale - and most of
# them are hard to read: horizontal strokes for the horizontal bar, ring-like traces for the
# ring, texture for the rest. The triangle's probability stays low: raising one score does not
# guarantee the top probability, because the ascent may raise other scores too.
#
# With the clip-and-blur prior (bottom row) every pixel is a value a real image could have, and
# most classes become readable: a ring, a diagonal stroke, horizontal strokes, crossing strokes
# for the cross, a bright tilted patch for the square, straight strokes meeting in a bright body
# for the triangle, a large bright blob for the circle. Every one of these images is classified
# as its class with a probability of at least 0.9. The vertical bar stays unreadable: the network
# can recognise that class from evidence that does not look like a bar to us.
#
# What the prior does not change: motifs repeat at several places, and nothing in our objective
# asks for one object in the middle of a dark background - the network rewards evidence wherever
# it appears. Its notion of "ring" is a collection of local evidence, not a picture of a ring.
# And a picture shaped by a prior shows the prior as well as the network: the blur is why the
# bottom row has no fine detail.

# %% [markdown]
# ## 8. Fooling images: a small change, another class
#
# Class visualisation started from faint noise and climbed a class score. Start instead from a
# real image the network classifies correctly, pick another class, the *target*, and climb the
# target's score until the network predicts it. How far must the image move? For large networks
# on natural images, the answer found by Szegedy et al.
# ([Intriguing properties of neural networks, 2013](https://arxiv.org/abs/1312.6199)) was:
# hardly at all. A change too small for a person to notice turns a school bus into an ostrich.
# Such images are called *adversarial examples* or *fooling images*; CS231n's assignment 3 builds
# them exactly as we do here.
#
# The recipe is the gradient ascent of section 7, started from the real image instead of noise,
# with no L2 penalty and no prior, and with two changes:
#
# 1. the gradient is the one of the **target's** score $s_t$ with respect to the image (not the
#    loss of the true class: making the true class less likely could lead to any class, and we
#    want one chosen class);
# 2. each step has a fixed length: the gradient is divided by its norm, so every update moves the
#    image by exactly `step` in Euclidean distance, however steep or flat the score is there;
#
# and the loop stops **as soon as** the network predicts the target, so that the change stays
# as small as this method can make it.
#
# **Worked example.** A linear model on `1x2x2` images with scores `s_0 = 2 x[0, 0, 0]`,
# `s_1 = x[0, 0, 1]` and `s_2 = 3 x[0, 1, 0] + 4 x[0, 1, 1]`, and the image
# `[[1, 0], [0, 0]]`, whose scores are `(2, 0, 0)`: class 0. Target 2: the gradient of `s_2` is
# `[[0, 0], [3, 4]]`, of norm 5, so each step of length `step = 0.25` adds
# `0.25 * [[0, 0], [0.6, 0.8]]` and raises `s_2` by 1.25. After one step `s_2 = 1.25`, still
# below 2; after two, `s_2 = 2.5` wins, and the loop stops. The answer is `[[1, 0], [0.3, 0.4]]`,
# at distance 0.5 from the original, whatever `max_iter` (10, say) allows.
#
# ### Exercise 7: `fooling_image` (3 points)
#
# Starting from a copy of the image `x`, repeat at most `max_iter` times: if the model (in eval
# mode) predicts `target` for the current image, stop; otherwise take the step
#
# $$ x \leftarrow x + \mathrm{step} \cdot \frac{g}{\|g\|_2}, \qquad
#    g = \frac{\partial s_{\mathrm{target}}}{\partial x}, $$
#
# with $\|g\|_2$ the Euclidean norm over all the entries of $g$ and the gradient from the
# model's backward pass on the batch of one image. Return the final image, a float64 array of
# the shape of `x` (after `max_iter` steps if the target was never reached; unchanged if the
# model predicted `target` from the start). If the gradient is zero (the target's score is flat
# at the current image: no direction raises it), stop there and return the current image: a
# step would divide by a zero norm and fill the image with NaN. Do not change `x`, and leave the
# model in the mode you found it in.
#
# <details><summary>Hint 1</summary>
#
# The loop body has two halves: first a forward pass and a look at the predicted class (leave
# the loop if it is the target), then the gradient of the target's score, exactly as in
# `saliency_map` (a one-hot upstream gradient, but at `target`, and no absolute value), and the
# step. Switch to eval mode before the loop and restore the mode after it.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Work on a float64 copy of `x` (`np.array` copies, `np.asarray` may not): the caller's image
# must stay as it was. The check comes before each step, so a model that already predicts the
# target gets no step at all, and the step that reaches the target is the last one. Between the
# gradient and the step, leave the loop if every entry of the gradient is zero.
#
# </details>
#
# <details><summary>Hint 3</summary>
#
# `np.linalg.norm(grad)` is the Euclidean norm of the whole array, so one step reads
# `x = x + step * grad / np.linalg.norm(grad)`.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "fooling_image", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fooling_image(model, x, target, *, step=0.1, max_iter=100):
    """A fooling image: normalised gradient ascent on the target's score until it is predicted.

    Parameters
    ----------
    model : cnnlab.nn.Sequential
        Maps (N, C, H, W) to class scores (N, K); used in eval mode, mode restored.
    x : ndarray, shape (C, H, W)
        The image to start from. Not modified.
    target : int
        The class the model should predict for the result.
    step : float
        Euclidean length of every step.
    max_iter : int
        At most this many steps.

    Returns
    -------
    x_fool : ndarray of float64, shape (C, H, W)
        The image after the steps ``x += step * g / ||g||`` (``g`` the gradient of the target's
        score with respect to the image), taken while the model does not predict ``target``
        and ``g`` is not zero (a zero gradient stops the loop: no NaN).
    """
    ### BEGIN SOLUTION
    x = np.array(x, dtype=np.float64)  # a copy: the caller's image stays as it was
    was_training = model.training
    model.eval()
    try:
        for _ in range(max_iter):
            scores = model.forward(x[None])
            if int(np.argmax(scores[0])) == target:
                break
            dscores = np.zeros_like(scores)
            dscores[0, target] = 1.0
            grad = model.backward(dscores)[0].astype(np.float64)
            if not np.any(grad):  # a flat score: no direction to climb, and ||g|| = 0
                break
            x = x + step * grad / np.linalg.norm(grad)
    finally:
        if was_training:
            model.train()
    return x
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fooling_image", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T

# The worked example: scores s_0 = 2 x[0, 0, 0], s_1 = x[0, 0, 1], s_2 = 3 x[0, 1, 0] +
# 4 x[0, 1, 1] (the Dropout layer is the identity in eval mode).
W = np.array([[2.0, 0, 0], [0, 1, 0], [0, 0, 3], [0, 0, 4]])  # (4 pixels, 3 classes)
fc = cl.nn.Linear(4, 3, dtype="float64")
fc.params["w"][...] = W
fc.params["b"][...] = 0
model = cl.nn.Sequential(cl.nn.Flatten(), cl.nn.Dropout(0.5, seed=0), fc)
x = np.array([[[1.0, 0.0], [0.0, 0.0]]])  # scores (2, 0, 0): class 0
x_before = x.copy()


def walk(direction, stop=True, steps=10):
    """x after steps x <- x + 0.25 * direction(x), stopping when class 2 wins (the mistakes)."""
    z = x_before.copy()
    for _ in range(steps):
        s = z.reshape(-1) @ W
        if stop and s.argmax() == 2:
            break
        d = direction(z, np.exp(s - s.max()) / np.exp(s - s.max()).sum())
        z = z + 0.25 * d.reshape(1, 2, 2)
    return z


def unit(v):
    return v / np.linalg.norm(v)


expected = np.array([[[1.0, 0.0], [0.3, 0.4]]])  # two steps of 0.25 * [[0, 0], [0.6, 0.8]]
model.train()  # the model arrives in training mode
with T.in_place(x):  # checked after the call: the grader hands back what the call did to it
    got = fooling_image(model, x, 2, step=0.25, max_iter=10)
T.assert_allclose(x, x_before, name="x after fooling_image",
                  hint="fooling_image changed the image it was given; step on a copy")  # fmt: skip
name = "fooling_image(model, [[1, 0], [0, 0]], target=2, step=0.25, max_iter=10)"
T.assert_shape(got, (1, 2, 2), name=name, hint="return the image, of the shape of x")
T.assert_allclose(got, expected, atol=1e-9, name=name,
                  hint="in eval mode, while the model does not predict the target: x += step * "
                       "g / ||g|| with g the gradient of the target's SCORE; here two steps of "
                       "0.25 * [[0, 0], [0.6, 0.8]], then s_2 = 2.5 > 2 and the loop stops",
                  mistakes=[
                      ("this follows the loss (or the score) of the TRUE class; step along the "
                       "gradient of the TARGET's score, to reach the chosen class",
                       walk(lambda z, p: unit(W @ (p - [1, 0, 0])))),
                      ("this follows the loss (or the score) of the TRUE class; step along the "
                       "gradient of the TARGET's score, to reach the chosen class",
                       walk(lambda z, p: unit(-W[:, 0]))),
                      ("this follows the target's probability or log-probability (its loss); "
                       "step along the gradient of the target's raw SCORE",
                       walk(lambda z, p: unit(W @ ([0, 0, 1] - p)))),
                      ("the gradient was not normalised: divide it by its Euclidean norm, so "
                       "that every step has length `step`", walk(lambda z, p: W[:, 2])),
                      ("the step followed the sign of the gradient; divide the gradient by its "
                       "Euclidean norm instead", walk(lambda z, p: np.sign(W[:, 2]))),
                      ("the steps did not stop when the model predicted the target: check the "
                       "prediction before every step and stop as soon as it is the target",
                       walk(lambda z, p: unit(W[:, 2]), stop=False)),
                      ("one step too many: the model predicted the target after two steps; "
                       "check the prediction BEFORE each step", walk(lambda z, p: unit(W[:, 2]),
                                                                     stop=False, steps=3)),
                      ("gradient DESCENT: add +step * g / ||g|| to raise the target's score",
                       walk(lambda z, p: -unit(W[:, 2]))),
                      ("this is the perturbation; return the image x + perturbation",
                       expected - x_before),
                  ])  # fmt: skip
scores = got.reshape(-1) @ W
T.assert_true(
    int(np.argmax(scores)) == 2,
    f"{name}: the result has scores {np.round(scores, 3)}, not predicted as class 2.",
)
T.assert_allclose(np.linalg.norm(got - x_before), 0.5, atol=1e-9,
                  name=f"the distance between {name} and x",
                  hint="two steps of length 0.25: the perturbation stays as small as the method "
                       "allows")  # fmt: skip
got = fooling_image(model, x, 0, step=0.25, max_iter=10)
T.assert_allclose(got, x_before, atol=1e-12, name="fooling_image(model, x, target=0, ...)",
                  hint="the model already predicts class 0: no step at all, return x unchanged",
                  mistakes=[("one step was taken although the model already predicted the "
                             "target; check the prediction BEFORE each step",
                             x_before + [[[0.25, 0], [0, 0]]])])  # fmt: skip
for arrives in ["training", "eval"]:
    model.train() if arrives == "training" else model.eval()
    with T.in_place(model):  # its mode is checked after the call: the grader hands it back
        fooling_image(model, x, 2, step=0.25, max_iter=10)
    modes = [model.training] + [layer.training for layer in model.layers]
    T.assert_true(modes == [arrives == "training"] * 4,
                  f"fooling_image on a model in {arrives} mode left it with model.training = "
                  f"{modes[0]} and layer modes {modes[1:]}.",
                  hint="leave the model in the mode it had, as in get_activations: model.train() "
                       "at the end if it was training, nothing otherwise")  # fmt: skip
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(71)
model = cl.nn.Sequential(
    cl.nn.Conv2d(2, 4, 3, pad=1, rng=rng, dtype="float64"),
    cl.nn.ReLU(),
    cl.nn.MaxPool2d(2, stride=2),
    cl.nn.Flatten(),
    cl.nn.Dropout(0.5, rng=rng),
    cl.nn.Linear(4 * 4 * 5, 6, rng=rng, dtype="float64"),
)


def _fool(x, target, step, max_iter, follow="target", norm="l2", stop=True, sign=1.0):
    """The reference, and with `follow`, `norm`, `stop`, `sign` the mistakes."""
    x = np.array(x, dtype=np.float64)
    model.eval()
    for _ in range(max_iter):
        scores = model.forward(x[None])
        if stop and int(np.argmax(scores[0])) == target:
            break
        p = np.exp(scores - scores.max())
        p /= p.sum()
        d = np.zeros_like(scores)
        if follow == "target":
            d[0, target] = 1.0
        elif follow == "true loss":  # ascend the loss of the class first predicted
            d = p.copy()
            d[0, true_class] -= 1.0
        else:  # the target's log-probability
            d = -p
            d[0, target] += 1.0
        g = model.backward(d)[0]
        g = {"l2": g / np.linalg.norm(g), "none": g, "sign": np.sign(g)}[norm]
        x = x + sign * step * g
    return x


def _predicted(x):
    model.eval()
    return int(np.argmax(model.forward(np.asarray(x, dtype=np.float64)[None])[0]))


# (target, step, max_iter): reached in 5 steps; not reached within max_iter = 3; the model
# already predicts the target (None: the class it predicts)
for target, step, max_iter in [(4, 0.2, 60), (0, 0.05, 3), (None, 0.2, 20)]:
    x = rng.uniform(0, 1, size=(2, 9, 11))
    x_before = x.copy()
    true_class = _predicted(x)
    target = true_class if target is None else target
    expected = _fool(x, target, step, max_iter)
    name = (f"fooling_image(model, x of shape (2, 9, 11), target={target}, step={step}, "
            f"max_iter={max_iter})")  # fmt: skip
    mistakes = [
        ("this follows the loss of the TRUE class; step along the gradient of the TARGET's "
         "score", _fool(x, target, step, max_iter, follow="true loss")),
        ("this follows the target's probability or log-probability (its loss); step along the "
         "gradient of the target's raw SCORE", _fool(x, target, step, max_iter, follow="logp")),
        ("the gradient was not normalised: divide it by its Euclidean norm",
         _fool(x, target, step, max_iter, norm="none")),
        ("the step followed the sign of the gradient; divide the gradient by its Euclidean norm",
         _fool(x, target, step, max_iter, norm="sign")),
        ("gradient DESCENT: add +step * g / ||g|| to raise the target's score",
         _fool(x, target, step, max_iter, sign=-1.0)),
    ]  # fmt: skip
    if target != true_class:
        mistakes.append(("the steps did not stop when the model predicted the target: check the "
                         "prediction before every step",
                         _fool(x, target, step, max_iter, stop=False)))  # fmt: skip
    model.train()
    with T.in_place(x, model):
        got = fooling_image(model, x, target, step=step, max_iter=max_iter)
    T.assert_allclose(x, x_before, name="x after fooling_image",
                      hint="fooling_image changed the image it was given; step on a copy")  # fmt: skip
    T.assert_true(model.training, f"{name}: a model in training mode was left in eval mode.",
                  hint="restore the mode: model.train() at the end if it was training")  # fmt: skip
    T.assert_shape(got, x.shape, name=name, hint="return the image, of the shape of x")
    T.assert_true(
        np.asarray(got).dtype == np.float64,
        f"{name}: returned dtype {np.asarray(got).dtype}, expected float64.",
    )
    T.assert_allclose(got, expected, rtol=1e-6, atol=1e-9, name=name, mistakes=mistakes,
                      hint="in eval mode, while the prediction is not the target and at most "
                           "max_iter times: x += step * g / ||g||, g the gradient of the target's "
                           "score")  # fmt: skip
# A zero gradient: s_2 = -relu(x[0, 0, 0]) is flat once that pixel is negative. Two steps of
# 0.25 take it from 0.3 to -0.2, where class 1 (s_1 = relu(x[0, 0, 1]) = 0.01) wins and the
# gradient of s_2 is zero: the loop stops there, before a step that would divide by ||g|| = 0.
fc = cl.nn.Linear(4, 3, dtype="float64")
fc.params["w"][...] = [[2.0, 0, -1], [0, 1, 0], [0, 0, 0], [0, 0, 0]]
fc.params["b"][...] = 0
model = cl.nn.Sequential(cl.nn.Flatten(), cl.nn.ReLU(), fc)
x = np.array([[[0.3, 0.01], [0.0, 0.0]]])
x_before = x.copy()
name = "fooling_image(model, x, target=2, step=0.25, max_iter=10), a gradient that becomes zero"
with np.errstate(all="ignore"):  # a division by zero is the mistake reported below, not a warning
    got = fooling_image(model, x, 2, step=0.25, max_iter=10)
T.assert_shape(got, x.shape, name=name, hint="return the image, of the shape of x")
T.assert_true(not np.isnan(np.asarray(got, dtype=np.float64)).any(),
              f"{name}: the result contains NaN: a step divided the gradient by its norm when the "
              "gradient was zero (0 / 0).",
              hint="when the gradient is zero, stop and return the current image")  # fmt: skip
T.assert_allclose(got, [[[-0.2, 0.01], [0.0, 0.0]]], atol=1e-9, name=name,
                  hint="two steps of -0.25 on the first pixel, then the gradient is zero: stop "
                       "and return the current image (not the original)",
                  mistakes=[("a zero gradient must stop the loop at the CURRENT image, not return "
                             "the original", x_before)])  # fmt: skip
### END HIDDEN TESTS

# %% [markdown]
# One fooling image for each of the eight test images of the earlier sections, each pushed
# towards the class four places further in the list (circle to horizontal bar, square to
# vertical bar, ..., ring to cross), with steps of length 0.1. Top row: the original and the
# network's probability for its class; middle row: the fooling image and what the network now
# predicts; bottom row: the difference, on one colour scale for all eight, red where pixels
# became brighter and blue where they became darker.

# %%
targets = [(k + 4) % len(class_names) for k in range(len(class_names))]
fooled = [
    fooling_image(net, X_test[i], t, step=0.1, max_iter=100) for i, t in zip(examples, targets)
]
p_before = cl.train.predict_proba(net, X_test[examples])
p_after = cl.train.predict_proba(net, np.stack(fooled).astype(np.float32))
deltas = [f[0] - X_test[i, 0] for f, i in zip(fooled, examples)]
v = max(np.abs(d).max() for d in deltas)
tiles = cl.plot.ImageTiles(
    3,
    len(examples),
    "Fooling images: normalised steps towards another class until the network predicts it",
    size=1.3,
    title_lines=2,
    label_lines=2,
)
for col, i in enumerate(examples):
    k, t = y_test[i], targets[col]
    tiles.show(0, col, X_test[i, 0], title=f"{class_names[k]}\np={p_before[col, k]:.2f}",
               cmap="gray", vmin=0, vmax=1)  # fmt: skip
    guess = int(p_after[col].argmax())
    tiles.show(1, col, fooled[col][0], title=f"-> {class_names[guess]}\np={p_after[col, guess]:.2f}",
               cmap="gray", vmin=0, vmax=1)  # fmt: skip
    tiles.show(2, col, deltas[col], title=f"RMS {np.sqrt(np.mean(deltas[col] ** 2)):.3f}",
               cmap="RdBu_r", vmin=-v, vmax=v)  # fmt: skip
tiles.label_row(0, "original")
tiles.label_row(1, "fooling image")
tiles.label_row(2, f"difference\n(-{v:.2f} to {v:.2f})")
plt.show()
rms = np.array([np.sqrt(np.mean(d**2)) for d in deltas])
n_steps = np.array([np.linalg.norm(d) / 0.1 for d in deltas])
print("predicted after the steps:", [class_names[int(p.argmax())] for p in p_after])
print("RMS change per pixel:", np.round(rms, 3), " largest change of one pixel:", np.round(v, 2))
print("steps taken:", np.round(n_steps).astype(int))
background = X_test[examples][X_test[examples] < 0.35]  # the dark pixels around the shapes
noise_rms = np.sqrt(np.mean(background**2))
print(f"RMS of the background pixels (the pixel noise): {noise_rms:.3f}")
print("lowest pixel of each fooling image:", np.round([f.min() for f in fooled], 2))
if not cl.is_grading():
    reached = sum(int(p.argmax()) == t for p, t in zip(p_after, targets))
    cl.claim("every one of the eight images is now predicted as its target", reached, equals=8)
    p_target = p_after[np.arange(len(targets)), targets]
    cl.claim("the target's probability is 0.46 to 0.56", p_target.min(), low=0.45)
    cl.claim("the target's probability is 0.46 to 0.56", p_target.max(), high=0.57)
    cl.claim("for five of the eight images at most 0.06", int((rms <= 0.06).sum()), equals=5)
    cl.claim("0.02 for the square", rms[1], low=0.015, high=0.025)
    cl.claim("RMS about 0.05 over the background pixels", noise_rms, low=0.04, high=0.065)
    cl.claim("the circle costs most: RMS 0.2", int(rms.argmax()), equals=0)
    cl.claim("the circle costs most: RMS 0.2", rms[0], low=0.17, high=0.23)
    cl.claim("the ring costs 0.13", rms[7], low=0.11, high=0.15)
    cl.claim("two targets cost most of all: the circle and the ring",
             sorted(np.argsort(rms)[-2:].tolist()), equals=[0, 7])  # fmt: skip
    cl.claim("down to -0.7 for the circle", fooled[0].min(), low=-0.8, high=-0.6)

# %% [markdown]
# Every one of the eight images is now predicted as its target, and only just: the target's
# probability is 0.46 to 0.56, because the loop stops at the first step at which the target's
# score is the largest. How large are the changes? The bottom row gives the root-mean-square
# (RMS) change per pixel. For five of the eight images it is at most 0.06, and 0.02 for the
# square: about the size of the pixel noise the images carry anyway (RMS about 0.05 over the
# background pixels, printed above). Those fooling images still look like their originals, with
# a faint haze here and there - a square that the network now calls a vertical bar, a
# horizontal bar that it calls a circle. The other three cost more. The cross becomes a "ring"
# after changes spread around its arms, and two targets cost most of all: the circle becomes a
# "horizontal bar" only after horizontal bands are painted across the disc (RMS 0.2), and the
# ring becomes a "cross" after changes all around it (0.13). There the difference is evidence
# for the target class, not noise.
#
# Our network is small and our images have 400 pixels, so it is harder to fool invisibly than a
# large ImageNet network, whose hundreds of thousands of input values can each move a little in
# the harmful direction (Goodfellow, Shlens and Szegedy,
# [Explaining and harnessing adversarial examples, 2014](https://arxiv.org/abs/1412.6572),
# explain adversarial examples by this near-linearity in many dimensions). The point is the
# same: a decision that is right on every test image can be moved by changes that mean nothing
# to a person, and a test accuracy says nothing about how far the nearest such change is. Note
# also that we did not clip the images to `[0, 1]`: some pixels of the fooling images leave the
# range of real images (down to -0.7 for the circle); the figure shows them clipped.

# %% [markdown]
# ## 9. The classes in feature space: a t-SNE map
#
# The last hidden layer (layer 8, after the ReLU) turns every image into 64 numbers from which
# the final linear layer reads off the class. If training worked, images of one class should
# have similar feature vectors, and the classes should be separable. We cannot look at 64
# dimensions, but t-SNE ([van der Maaten and Hinton 2008](https://jmlr.org/papers/v9/vandermaaten08a.html))
# places each vector as a point in the plane so that points that are near neighbours in 64-D
# tend to be near neighbours in 2-D. Here it runs on 300 test images (a few seconds); colour is
# the true class, and a few points carry a thumbnail of their image.

# %%
from matplotlib.offsetbox import AnnotationBbox, OffsetImage
from sklearn.manifold import TSNE

n_points = 200 if cl.is_grading() else 300
features = get_activations(net, X_test[:n_points], 8)
t0 = time.perf_counter()
with threadpool_limits(1):  # scikit-learn loaded its OpenMP runtime after the setup cell
    embedding = TSNE(n_components=2, perplexity=30, init="pca", random_state=0).fit_transform(
        features.astype(np.float64)
    )
tsne_seconds = time.perf_counter() - t0
print(f"t-SNE of {n_points} points x {features.shape[1]} features in {tsne_seconds:.1f} s")

fig, ax = plt.subplots(figsize=(9, 7.5))
colors = plt.get_cmap("tab10")
for k, name in enumerate(class_names):
    sel = y_test[:n_points] == k
    ax.scatter(embedding[sel, 0], embedding[sel, 1], s=12, color=colors(k), label=name)
thumb_rng = np.random.default_rng(0)
for i in thumb_rng.choice(n_points, size=40, replace=False):
    box = AnnotationBbox(
        OffsetImage(X_test[i, 0], cmap="gray", zoom=1.0),
        embedding[i],
        frameon=True,
        pad=0.1,
        bboxprops={"edgecolor": colors(int(y_test[i])), "linewidth": 1.5},
    )
    ax.add_artist(box)
ax.legend(loc="best", fontsize=8, markerscale=2)
ax.set_xlabel("t-SNE dimension 1")
ax.set_ylabel("t-SNE dimension 2")
ax.set_title(f"t-SNE of the 64 penultimate-layer features, {n_points} test images")
plt.show()

# How well does each class keep to itself in the map? For every point, the share of its ten
# nearest neighbours in 2-D that have its class.
from sklearn.neighbors import NearestNeighbors

_, neighbours = NearestNeighbors(n_neighbors=11).fit(embedding).kneighbors(embedding)
labels = y_test[:n_points]
same_class = (labels[neighbours[:, 1:]] == labels[:, None]).mean(axis=1)
purity = np.array([same_class[labels == k].mean() for k in range(len(class_names))])
print("share of the 10 nearest neighbours with the same class:",
      ", ".join(f"{name} {q:.2f}" for name, q in zip(class_names, purity)))  # fmt: skip
if not cl.is_grading():
    cl.claim("t-SNE runs in a few seconds", tsne_seconds, high=20)
    cl.claim("it runs on 300 test images", n_points, equals=300)
    cl.claim("ring, cross and bars: about 90 % or more of the neighbours share the class",
             purity[3:].min(), low=0.85)  # fmt: skip
    cl.claim("filled shapes: about half to three quarters", purity[:3].min(), low=0.4)
    cl.claim("filled shapes: about half to three quarters", purity[:3].max(), high=0.8)

# %% [markdown]
# The ring and the horizontal and vertical bars form islands of their own; the cross and the
# diagonal bar share one island but keep to their own halves of it. That is what the final
# linear layer needs: about 90 % or more of these points' nearest neighbours in the map share
# their class (printed above). The filled shapes - circle, square, triangle - share one
# region in which they only partly separate, with about half to three quarters of the
# neighbours of their own class: these are the classes the network finds hard, and the
# thumbnails near the borders show why (a small disc and a small square differ by a few
# pixels). Do not read too much into the distances *between* islands or into their sizes: t-SNE
# preserves neighbourhoods, not global distances, and its picture changes with the perplexity
# and the random seed ([Wattenberg et al. 2016](https://distill.pub/2016/misread-tsne/)).

# %% [markdown]
# ## 10. Where the network errs: the confusion matrix and the largest losses
#
# Accuracy counts mistakes; the *confusion matrix* says which ones. Entry `cm[i, j]` counts the
# test images of true class `i` that the network predicted as class `j`. The diagonal holds the
# correct predictions, row `i` shows where the images of class `i` went, and column `j` shows
# what the network calls `j`. (Rows = true, columns = predicted is the convention of
# scikit-learn and of most texts; some tools use the transpose, so always check the axis
# labels.)
#
# **Worked example.** `y_true = [0, 0, 1, 2, 2, 2]`, `y_pred = [0, 1, 1, 2, 0, 2]` with 3 classes
# gives `[[1, 1, 0], [0, 1, 0], [1, 0, 2]]`: one 0 taken for a 1, one 2 taken for a 0.
#
# ### Exercise 8: `confusion_matrix` (2 points)
#
# Count the pairs into a `(num_classes, num_classes)` integer array, rows true class, columns
# predicted class. A class that never occurs still gets its row and column (of zeros). Do it with
# NumPy (a loop over the pairs is fine); `sklearn.metrics.confusion_matrix` is not allowed here.
# In symbols, with $[\cdot]$ equal to 1 when the condition holds and 0 otherwise:
#
# $$ \mathrm{cm}[i, j] = \sum_{n=0}^{N-1} [\,y^{\mathrm{true}}_n = i \ \text{and}\
#    y^{\mathrm{pred}}_n = j\,], \qquad 0 \le i, j < K = \texttt{num\_classes}. $$
#
# The labels may come as NumPy arrays or as Python lists.
#
# <details><summary>Hint 1</summary>
#
# Start from a `(K, K)` array of integer zeros and add 1 for every pair `(y_true[n], y_pred[n])`:
# a plain loop over the pairs is the clearest answer. Its size comes from `num_classes`, never
# from the labels that happen to occur.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# If you vectorise, beware: `cm[y_true, y_pred] += 1` adds 1 only once to a cell whose pair
# occurs several times (NumPy buffers the fancy-indexed update). `np.add.at` adds once per
# pair. Convert lists with `np.asarray` before comparing them with numbers.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "confusion_matrix", "locked": false, "schema_version": 3, "solution": true, "task": false}
def confusion_matrix(y_true, y_pred, num_classes):
    """Count (true class, predicted class) pairs.

    Parameters
    ----------
    y_true : array_like of int, shape (N,)
        True labels in 0..num_classes-1.
    y_pred : array_like of int, shape (N,)
        Predicted labels in 0..num_classes-1.
    num_classes : int
        K, the number of classes.

    Returns
    -------
    cm : ndarray of int, shape (K, K)
        ``cm[i, j]`` = number of examples with true class i predicted as class j.
    """
    ### BEGIN SOLUTION
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be (N,), got {y_true.shape} and {y_pred.shape}")
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_confusion_matrix", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

got = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3)
T.assert_true(np.issubdtype(np.asarray(got).dtype, np.integer),
              f"confusion_matrix should return integer counts, got dtype {np.asarray(got).dtype}",
              hint="counts are integers: create the matrix with np.zeros((K, K), dtype=int)")  # fmt: skip
expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
T.assert_equal(np.asarray(got), expected,
               name="confusion_matrix(y_true=[0,0,1,2,2,2], y_pred=[0,1,1,2,0,2], 3)",
               hint="cm[i, j] counts the pairs with true class i and predicted class j",
               mistakes=[
                   ("transposed: rows are the TRUE classes, columns the PREDICTED ones",
                    expected.T),
                   ("the pair (2, 2) occurs twice but was counted once: cm[y_true, y_pred] += 1 "
                    "adds 1 once per distinct pair; use a loop or np.add.at",
                    [[1, 1, 0], [0, 1, 0], [1, 0, 1]]),
               ])  # fmt: skip
# Python lists, and 4 classes of which 2 and 3 never occur.
got = confusion_matrix([0, 1, 1], [1, 1, 0], 4)
name = "confusion_matrix([0, 1, 1], [1, 1, 0], 4)"
T.assert_shape(got, (4, 4), name=name,
               hint="the size is (num_classes, num_classes), also when some classes never occur")  # fmt: skip
T.assert_equal(np.asarray(got), np.array([[0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]),
               name=name, hint="cm[i, j] counts the pairs with true class i and predicted class j",
               mistakes=[("all zeros: comparing a Python list with a number gives a single "
                          "False, not an array; convert with np.asarray(y_true) first",
                          np.zeros((4, 4), dtype=int))])  # fmt: skip
### BEGIN HIDDEN TESTS

rng = np.random.default_rng(61)
y_true = rng.integers(0, 5, size=300)  # class 5 of 6 never occurs ...
y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 5, size=300))
y_pred[:3] = 5  # ... except in three predictions
y_true[:2] = 6  # and class 6 is never predicted
expected = np.zeros((8, 8), dtype=np.int64)
for t, p in zip(y_true, y_pred):
    expected[t, p] += 1
with T.forbid_calls("sklearn.metrics.confusion_matrix", exercise="confusion_matrix"):
    got = confusion_matrix(y_true, y_pred, 8)
name = "confusion_matrix of 300 random labels, 8 classes (class 7 absent)"
T.assert_shape(got, (8, 8), name=name,
               hint="the size is (num_classes, num_classes), not taken from the largest label")  # fmt: skip
got = np.asarray(got)
T.assert_true(np.issubdtype(got.dtype, np.integer),
              f"{name}: expected integer counts, got dtype {got.dtype}",
              hint="counts are integers: np.zeros((K, K), dtype=int)")  # fmt: skip
once = np.zeros((8, 8), dtype=np.int64)
once[y_true, y_pred] = 1
T.assert_equal(got, expected, name=name, hint="cm[i, j] counts true class i predicted as j",
               mistakes=[
                   ("transposed: rows are the TRUE classes, columns the predicted ones, "
                    "cm[y_true[n], y_pred[n]] += 1", expected.T),
                   ("repeated pairs counted once: cm[y_true, y_pred] += 1 adds 1 once per "
                    "distinct pair; use np.add.at or a loop", once),
               ])  # fmt: skip
T.assert_equal(np.asarray(confusion_matrix([1, 1], [1, 1], 2)), np.array([[0, 0], [0, 2]]),
               name="confusion_matrix([1, 1], [1, 1], 2) (Python lists)",
               hint="cm[i, j] counts true class i predicted as j; each pair counts",
               mistakes=[("all zeros: comparing a Python list with a number gives a single "
                          "False; convert with np.asarray(y_true) first", np.zeros((2, 2)))])  # fmt: skip
### END HIDDEN TESTS

# %%
probs = cl.train.predict_proba(net, X_test)
y_hat = probs.argmax(axis=1)
cm = confusion_matrix(y_test, y_hat, len(class_names))
print(f"test accuracy {np.trace(cm) / cm.sum():.3f} = trace / total")
cl.plot.confusion_matrix(
    cm, class_names=class_names, title="Confusion matrix on the 500 test images"
)
plt.show()
errors = cm.sum() - np.trace(cm)
among_filled = cm[:3, :3].sum() - np.trace(cm[:3, :3])
print(f"{errors} errors, {among_filled} of them among circle, square and triangle; "
      f"{cm[0, 1]} circles taken for squares, {cm[1, 0]} squares for circles; "
      f"{cm[3:].sum() - np.trace(cm[3:, 3:])} errors on the other 5 classes")  # fmt: skip
if not cl.is_grading():
    cl.claim("most errors are among the filled shapes", among_filled / errors, low=0.8)
    off = cm - np.diag(np.diag(cm))
    cl.claim("the most frequent error: circles predicted as squares",
             tuple(int(v) for v in np.unravel_index(off.argmax(), off.shape)), equals=(0, 1))  # fmt: skip
    cl.claim("far more circles become squares than squares circles", cm[0, 1] / max(cm[1, 0], 1),
             low=2.5)  # fmt: skip
    cl.claim("bars, cross and ring are almost never confused (errors per image)",
             (cm[3:].sum() - np.trace(cm[3:, 3:])) / cm[3:].sum(), high=0.02)  # fmt: skip

# %% [markdown]
# The diagonal dominates; the off-diagonal cells show which confusions remain. Most of them
# (printed above) are among the filled shapes, above all circles predicted as squares - the
# classes that shared a region in the t-SNE map. The matrix is not symmetric: far more circles
# become squares than squares circles, so in doubt the network prefers "square". Bars, cross and
# ring are almost never confused: a handful of errors in more than 300 images.
#
# A gallery of errors shows what the numbers mean - but which errors? The first sixteen
# misclassified images of the test set are an arbitrary sample. A better order, popular since
# the fast.ai course made it one call (`plot_top_losses`), is by **loss**: the cross-entropy
# $-\log p_{y}$ of an image is large when the network gave its true class a small probability.
# The top of that list holds the confident mistakes, where the network was most sure and most
# wrong; further down come the hesitant errors, and now and then a correct prediction made with
# so little confidence that its loss is larger than that of a near-miss. (In a data set with
# label errors, the mislabelled images collect at the top too.)
#
# **Worked example.** Five images, three classes, true classes `y = [0, 0, 2, 0, 0]` and scores
# `[[3, 0, 0], [0, 1, 0], [0, 0, 0], [0, 800, 0], [0, 1, 0]]`. The losses are
# `log(1 + 2 e^-3) = 0.095`, `log(2 + e) = 1.551`, `log 3 = 1.099`, `800` and `1.551`. The
# first error in index order is image 1, a hesitant one; the worst is image 3, a confident
# mistake. The three largest losses are those of images `3, 1, 4`: images 1 and 4 tie, and the
# smaller index comes first. Written naively, `exp(800)` overflows and the loss of image 3
# becomes `inf`; subtract each row's maximum first, as in `softmax_cross_entropy` of notebook 02.
#
# ### Exercise 9: `top_losses` (2 points)
#
# For scores `(N, K)` (before the softmax) and true classes `y` `(N,)`, compute every image's
# cross-entropy loss
#
# $$ \ell_n = -\log \frac{e^{s_{n, y_n}}}{\sum_j e^{s_{n, j}}}
#    = \log \sum_j e^{s_{n, j}} - s_{n, y_n}, $$
#
# without overflow for large scores, and return `(idx, losses)`: the integer indices of the `k`
# largest losses, the largest first, and their losses, `losses[i]` $= \ell_{\mathrm{idx}[i]}$.
# Equal losses keep the smaller index first. When `k` exceeds `N`, return all `N` images, in
# the same order. Scores that are not 2-D, or labels that do not have shape `(N,)`, raise
# `ValueError`.
#
# <details><summary>Hint 1</summary>
#
# Two steps: one loss per image (a vector of `N` numbers), then the order of those numbers from
# largest to smallest, cut to the first `k`. A slice `[:k]` is already safe when `k > N`.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# For the loss, work with the log-softmax: subtract each row's maximum (`keepdims=True`), take
# the log of the sum of exponentials of what is left, and pick each row's entry at its label
# from the same shifted scores (`a[np.arange(N), y]` picks `a[n, y[n]]` for every row `n`).
# For the order, NumPy's default `np.argsort` is not stable: equal values may come out in any
# order.
#
# </details>
#
# <details><summary>Hint 3</summary>
#
# A stable sort of the negated losses puts the largest first and keeps ties in index order:
# `np.argsort(-losses, kind="stable")`.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "top_losses", "locked": false, "schema_version": 3, "solution": true, "task": false}
def top_losses(scores, y, k):
    """The k images with the largest cross-entropy loss, the largest first.

    Parameters
    ----------
    scores : ndarray, shape (N, K)
        Class scores before the softmax.
    y : array_like of int, shape (N,)
        True classes in 0..K-1.
    k : int
        How many images to return, k >= 0; all N when k > N.

    Returns
    -------
    idx : ndarray of int, shape (min(k, N),)
        Indices of the largest losses, the largest first; equal losses in increasing index order.
    losses : ndarray of float, shape (min(k, N),)
        ``losses[i] = -log softmax(scores[idx[i]])[y[idx[i]]]``, computed without overflow.
    """
    ### BEGIN SOLUTION
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y)
    if scores.ndim != 2 or y.shape != (scores.shape[0],):
        raise ValueError(f"scores must be (N, K) and y (N,), got {scores.shape} and {y.shape}")
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    losses = log_norm - shifted[np.arange(len(y)), y]
    idx = np.argsort(-losses, kind="stable")[:k]
    return idx, losses[idx]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_top_losses", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

# The worked example: image 1 is the first error, image 3 the confident mistake; 1 and 4 tie.
scores = np.array([[3.0, 0, 0], [0, 1, 0], [0, 0, 0], [0, 800, 0], [0, 1, 0]])
y = np.array([0, 0, 2, 0, 0])
loss = np.array([np.log(1 + 2 * np.exp(-3)), np.log(2 + np.e), np.log(3), 800, np.log(2 + np.e)])
scores_before = scores.copy()
with T.in_place(scores):  # checked after the call: the grader hands back what the call did to it
    idx, losses = top_losses(scores, y, 3)
name = "top_losses(scores, y, 3) on the worked example"
T.assert_true(np.issubdtype(np.asarray(idx).dtype, np.integer),
              f"{name}: the indices should be integers, got {np.asarray(idx)!r}",
              hint="return (idx, losses): the indices first, then their losses")  # fmt: skip
T.assert_equal(np.asarray(idx), np.array([3, 1, 4]), name=f"{name}: idx",
               hint="the losses are 0.095, 1.551, 1.099, 800, 1.551: the largest first, equal "
                    "losses in increasing index order", mistakes=[
                   ("these are the first errors (prediction != y) in index order; rank the "
                    "images by their loss, the largest first", [1, 2, 3]),
                   ("sorted ascending: the image with the LARGEST loss comes first", [0, 2, 1]),
                   ("sorted ascending: the image with the LARGEST loss comes first", [0, 2, 4]),
                   ("the right images, smallest first; the largest loss comes first", [4, 1, 3]),
                   ("the right images, smallest first; the largest loss comes first", [1, 4, 3]),
                   ("equal losses (images 1 and 4) came out with the larger index first; keep "
                    "them in index order: np.argsort's default sort is not stable, ask for "
                    "kind='stable'", [3, 4, 1]),
               ])  # fmt: skip
T.assert_finite(losses, name=f"{name}: losses",
                hint="image 3 has a score of 800: exp(800) overflows, and exp(-800) underflows "
                     "to 0, whose -log is inf; compute log(sum_j exp(s_j - m)) - (s_y - m) with "
                     "m the row's maximum")  # fmt: skip
T.assert_allclose(losses, loss[[3, 1, 4]], rtol=1e-9, name=f"{name}: losses",
                  hint="losses[i] = log(sum_j exp(s_j)) - s_y for image idx[i]", mistakes=[
                      ("these are the losses of ALL images; return those of idx, in its order",
                       loss),
                      ("these are probabilities of the true class; return the loss -log p",
                       np.exp(-loss[[3, 1, 4]])),
                      ("these are 1 - p(true class); the loss is -log p(true class)",
                       1 - np.exp(-loss[[3, 1, 4]])),
                      ("these are the losses of the PREDICTED class; the loss uses the TRUE "
                       "class y", [0.0, np.log(2 + np.e) - 1, np.log(2 + np.e) - 1]),
                  ])  # fmt: skip
T.assert_allclose(scores, scores_before, name="scores after top_losses",
                  hint="top_losses changed the scores it was given; work on a copy")  # fmt: skip
idx, losses = top_losses(scores, y, 10)
T.assert_equal(np.asarray(idx), np.array([3, 1, 4, 2, 0]), name="top_losses(scores, y, 10) (k > N)",
               hint="with k larger than N, return all N images, the largest loss first")  # fmt: skip
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(81)
for n, k_classes, k in [(40, 6, 7), (13, 3, 13), (9, 4, 20), (25, 5, 0)]:
    scores = rng.normal(scale=3.0, size=(n, k_classes))
    y = rng.integers(0, k_classes, size=n)
    scores[5] = scores[2]  # two images with the same loss: 2 before 5
    y[5] = y[2]
    shifted = scores - scores.max(axis=1, keepdims=True)
    loss = np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(n), y]
    order = np.argsort(-loss, kind="stable")
    expected = order[:k]
    name = f"top_losses(scores of shape ({n}, {k_classes}), y, k={k})"
    idx, losses = top_losses(scores.copy(), list(y) if n == 13 else y.copy(), k)
    T.assert_shape(idx, (min(k, n),), name=f"{name}: idx",
                   hint="return min(k, N) indices: all N when k > N")  # fmt: skip
    T.assert_shape(losses, (min(k, n),), name=f"{name}: losses",
                   hint="return the losses of the chosen images only, in the order of idx")  # fmt: skip
    tie = [i for i in range(len(expected)) if expected[i] in (2, 5)]
    swapped = expected.copy()
    if len(tie) == 2:
        swapped[tie] = swapped[tie[::-1]]
    T.assert_equal(np.asarray(idx), expected, name=f"{name}: idx",
                   hint="the indices of the largest losses, the largest first", mistakes=[
                       ("sorted ascending: the image with the LARGEST loss comes first",
                        np.argsort(loss, kind="stable")[:k]),
                       ("the right images, smallest first; the largest loss comes first",
                        expected[::-1]),
                       ("equal losses (images 2 and 5) came out with the larger index first; "
                        "use a stable sort, np.argsort(..., kind='stable')", swapped),
                   ])  # fmt: skip
    T.assert_allclose(losses, loss[expected], rtol=1e-9, atol=1e-12, name=f"{name}: losses",
                      hint="losses[i] = log(sum_j exp(s_j)) - s_y of image idx[i]")  # fmt: skip
for bad_scores, bad_y, what in [(np.zeros(4), np.zeros(4, int), "1-D scores"),
                                (np.zeros((4, 3)), np.zeros(3, int), "3 labels for 4 images"),
                                (np.zeros((4, 3)), np.zeros((4, 1), int), "labels of shape (4, 1)")]:  # fmt: skip
    with T.raises(ValueError, hint=f"{what} must raise ValueError: scores (N, K), y (N,)"):
        top_losses(bad_scores, bad_y, 2)
### END HIDDEN TESTS

# %%
test_scores = net.forward(X_test).astype(np.float64)
worst, worst_loss = top_losses(test_scores, y_test, 16)
tiles = cl.plot.ImageTiles(
    2,
    8,
    "The 16 test images with the largest loss: true class, prediction, p(true), loss",
    size=1.5,
    title_lines=3,
    label_lines=0,
)
for n, (i, loss) in enumerate(zip(worst, worst_loss)):
    guess = int(y_hat[i])
    tiles.show(n // 8, n % 8, X_test[i, 0], fontsize=7, cmap="gray", vmin=0, vmax=1,
               title=f"TRUE: {class_names[y_test[i]]}\n{class_names[guess]} {probs[i, guess]:.2f}"
               f"\np(true) {probs[i, y_test[i]]:.2f}, loss {loss:.1f}")  # fmt: skip
plt.show()
first_errors = np.flatnonzero(y_hat != y_test)[:16]
print(
    "losses of the first 16 errors:",
    np.round(-np.log(probs[first_errors, y_test[first_errors]]), 1),
)
print("losses of the top 16:         ", np.round(worst_loss, 1))
wrong_top = int((y_hat[worst] != y_test[worst]).sum())
disc_square = sum({y_test[i], y_hat[i]} == {0, 1} for i in worst)
sure = int((probs[worst, y_hat[worst]] > 0.9).sum())
print(f"{wrong_top} of the top 16 are errors, {disc_square} disc/square confusions; "
      f"{sure} with the wrong class above 0.9")  # fmt: skip
all_errors = np.flatnonzero(y_hat != y_test)
every_loss = -np.log(probs[np.arange(len(y_test)), y_test])
rank = int(np.flatnonzero(all_errors == worst[0])[0])
print(f"the worst image is error number {rank + 1} of {len(all_errors)} in index order")
if not cl.is_grading():
    cl.claim("all sixteen are errors", wrong_top, equals=16)
    cl.claim("the worst: a ring called a vertical bar",
             (class_names[y_test[worst[0]]], class_names[y_hat[worst[0]]]),
             equals=("ring", "vertical bar"))  # fmt: skip
    cl.claim("a ring called a vertical bar with probability 0.86", probs[worst[0]].max(),
             low=0.84, high=0.88)  # fmt: skip
    cl.claim("error number 35 of 36", (rank + 1, len(all_errors)), equals=(35, 36))
    cl.claim("the largest loss among the first sixteen errors is below 2",
             every_loss[first_errors].max(), high=2.0)  # fmt: skip
    cl.claim("the five largest run from 2 to 3.9", worst_loss[4], low=1.95, high=2.05)
    cl.claim("the five largest run from 2 to 3.9", worst_loss[0], low=3.85, high=3.95)
    cl.claim("thirteen of the sixteen are circles and squares confused", disc_square, equals=13)
    cl.claim("most of them circles called squares",
             int(sum(y_test[i] == 0 and y_hat[i] == 1 for i in worst)), low=9)  # fmt: skip
    cl.claim("the wrong class never gets more than 0.9", sure, equals=0)
    cl.claim("a correct prediction can have a larger loss than an error",
             every_loss[y_hat == y_test].max() - every_loss[all_errors].min(), low=0.0)  # fmt: skip

# %% [markdown]
# All sixteen are errors, and the order shows more than the first sixteen errors would: the worst
# image, a thin, faint ring that the network calls a vertical bar with probability 0.86, is error
# number 35 of 36 in index order, and the largest loss among the first sixteen errors is below 2,
# where the five largest here run from 2 to 3.9 (printed above). Thirteen of the sixteen are
# circles and squares confused, most of them circles called squares: small discs, five or six
# pixels across, where a disc and a square really do look alike at this resolution, but also
# large clean discs (bottom row) that a person would never call a square. That is a real weakness
# of this small network (six epochs, eight 5x5 filters), not of the data. No error is made with
# great confidence - the wrong class never gets more than 0.9 - so the network is in doubt when it
# errs, and a correct prediction can even have a larger loss than an error: the largest loss of a
# correct prediction here is above the smallest loss of an error. When the true class is a close
# second, use `occlusion_map` and `saliency_map` on the image to see what pulled it towards the
# wrong class. A gallery like this is the quickest way to decide whether a model needs more
# training, more data of some kind, or is at the limit of what the images show.

# %% [markdown]
# ## 11. What these pictures can and cannot tell you
#
# Every tool here answers a narrow question, and each answer is easy to over-read.
#
# - **Filters** show what the first layer correlates with; deeper layers act on feature maps, so
#   their weights are not pictures of anything.
# - **Feature maps and top-k images** show what a channel responds to *among the images you
#   tried*. A channel may respond to a property none of your images has, a row of top images
#   that look alike may share something else (brightness, size) than what you see in them, and
#   the ranking decides what you see: the mean favours big bright shapes, the max local patterns.
# - **Occlusion** measures the effect of one particular intervention on the class score; the
#   answer depends on the patch size and on the fill value, covering a part also creates new
#   edges, and a large drop of the score need not change the decision.
# - **Saliency** is a local, first-order statement about tiny changes around one image. Gradients
#   are noisy, a smoother picture (SmoothGrad) is not for that reason a more faithful one, and
#   some gradient-based methods highlight the edges of the input whatever the network has
#   learned (see the check below).
# - **Class visualisations** show inputs that maximise a score, which can look nothing like real
#   data: they reveal evidence the network uses, not a prototype, and how they look depends on
#   the prior as much as on the network.
# - **Fooling images** show that a decision can be moved by a small change; the change one method
#   finds is an upper bound on the smallest one, for one image and one target, and says nothing
#   about what the network has learned to look for.
# - **t-SNE** preserves neighbourhoods, not distances or cluster sizes.
# - The **confusion matrix** and the **gallery of the largest losses** are the most reliable: they
#   only count and show, but they say where the model errs, not why.
#
# Adebayo et al. ([Sanity Checks for Saliency Maps, 2018](https://arxiv.org/abs/1810.03292))
# proposed a simple test: if a picture is meant to explain the *trained* network, it should
# change when the weights are replaced by random ones. The cell below does this for saliency
# maps with an untrained network of the same architecture.

# %%
untrained = build_model(seed=1).eval()
random_saliencies = [saliency_map(untrained, X_test[i], y_test[i]) for i in examples]
tiles = cl.plot.ImageTiles(
    3,
    len(examples),
    "Saliency of the true class: trained network vs. random weights",
    size=1.3,
    title_lines=0,
)
for col, i in enumerate(examples):
    for row, img in enumerate([X_test[i, 0], saliencies[col], random_saliencies[col]]):
        tiles.show(row, col, img, cmap="gray" if row == 0 else "hot")
for row, label in enumerate(["image", "trained", "untrained"]):
    tiles.label_row(row, label)
plt.show()
same = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(saliencies, random_saliencies)]
print("correlation of trained and untrained saliency, per image:", np.round(same, 2))
share_random = np.array([m[mask].sum() / m.sum() for m, mask in zip(random_saliencies, on_shape)])
print("share of the untrained maps on the shape / share of the image the shape covers:",
      np.round(share_random / area, 2))  # fmt: skip
cl.claim("correlation of trained and untrained maps close to zero", np.abs(same).max(), high=0.2)
cl.claim("untrained: 0.8 to 1.3 times", (share_random / area).min(), low=0.75)
cl.claim("untrained: 0.8 to 1.3 times", (share_random / area).max(), high=1.35)
cl.claim("trained: 1.3 to 3.2 times", (share_plain / area).min(), low=1.25, high=1.4)
cl.claim("trained: 1.3 to 3.2 times", (share_plain / area).max(), low=3.0, high=3.4)
print(f"the whole notebook ran in {time.perf_counter() - notebook_start:.0f} s")
cl.claim("the whole notebook runs in about a minute or less",
         time.perf_counter() - notebook_start, high=90)  # fmt: skip

# %% [markdown]
# Here the test is passed: the untrained network's maps are unstructured noise, their correlation
# with the trained maps is close to zero, and they put about as much of their weight on the shape as
# its area would (0.8 to 1.3 times, printed above), where the trained network's maps put 1.3 to 3.2
# times as much. So the structure we saw in section 6 comes from what the network learned. Adebayo
# et al. found that several popular methods for large networks (guided backpropagation among them)
# produce nearly the same picture for trained and random weights - those pictures mostly show the
# input's edges. Run this check whenever you trust a new visualisation method.

# %% [markdown]
# ## Summary
#
# - First-layer filters can be shown as images, each scaled to its own range; deeper layers are
#   read through their activations.
# - `get_activations` in eval mode gives feature maps; ranking images by a channel's mean
#   activation favours big bright shapes, ranking by its maximum shows the local pattern it
#   detects.
# - Occlusion measures the drop in the class score when a patch is covered (the probability
#   saturates for confident images); saliency takes the gradient of the class score with respect
#   to the pixels, through the same backward pass that trains the network.
# - Gradient ascent on the input, with an L2 penalty, synthesises what raises a class score;
#   clipping to the data range and blurring after every step make most of the pictures
#   readable.
# - Normalised gradient steps on the score of a chosen class turn an image into a fooling image;
#   for some of our images a change the size of the pixel noise is enough.
# - t-SNE of the penultimate features shows how well the classes separate; the confusion matrix
#   and a gallery of the largest losses show which classes the network mixes up and on which
#   images, those with the smallest probability for their true class first.
# - Each picture answers a narrow question; measurements (the share of a map on the shape) and
#   sanity checks such as randomising the weights tell you how much of the picture comes from
#   the network and how much from the image or the method.
#
# **Going further.** Try the tools on the digits (`cl.data.load_digits`) or, if you have the
# files, on CIFAR-10: compare the first-layer filters of a colour network. Add *jitter* to the
# class visualisation (shift the image by a random pixel or two before each step and back after
# it, as CS231n does) and see whether the vertical bar becomes readable. Compute the
# occlusion map of a misclassified image for the predicted class and for the true one.
