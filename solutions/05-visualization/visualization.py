# %% [markdown]
# # 05 · Looking inside a trained convnet
#
# A convnet with a good test accuracy has learned *something*, but the accuracy alone does not
# say what. In this notebook you open the network up and build the standard tools for looking
# inside it, each as a short NumPy function on top of the `cnnlab.nn` modules you know from
# notebooks 02 and 03.
#
# **When you have finished this notebook you can**
#
# - show the first-layer filters of a network as images, each on its own grey scale;
# - read off the activations of any layer and draw the feature maps of one input;
# - find the images that excite a chosen channel most;
# - measure which regions of an image a prediction depends on, by occluding them (Zeiler and
#   Fergus) and by taking gradients with respect to the pixels (saliency maps, Simonyan et al.);
# - synthesise an input the network finds typical of a class, by gradient ascent on the image;
# - map the penultimate-layer features of hundreds of images to 2-D with t-SNE;
# - count a network's errors in a confusion matrix and inspect the images it gets wrong;
# - say what each of these pictures does and does not show.
#
# **It builds on** 02-layers (forward and backward passes, `Sequential`) and 03-training (training
# loop, softmax, train and eval modes). **Time:** about 90 minutes. The whole notebook runs in
# about a minute on a laptop CPU.
#
# **Exercises (20 points):** `normalize_for_display` (2), `get_activations` (3),
# `top_k_activating` (3), `occlusion_map` (4), `saliency_map` (3), `class_visualization` (3),
# `confusion_matrix` (2). Every exercise cell is followed by a test cell; the tests you see are
# small worked examples, the grader adds more.
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
# limited amount, and from a full-size random start the trained filters would still look mostly
# like their random noise; from a small start, what we see after training is mostly what
# training put there. (Try `build_model(first_layer_scale=1.0)` after this notebook and compare.)
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
        nn.MaxPool2d(2, 2),  # 2: (8, 10, 10)
        nn.Conv2d(8, 16, 3, pad=1, rng=rng),  # 3: (16, 10, 10)
        nn.ReLU(),  # 4
        nn.MaxPool2d(2, 2),  # 5: (16, 5, 5)
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
net.eval()
cl.plot.training_curves(history, title="Training the shapes convnet")
plt.show()

# %% [markdown]
# Loss and accuracy improve epoch after epoch, and the validation curves (on the test images)
# follow the training ones closely: no overfitting yet. More epochs would still help, but a test
# accuracy of about 93 % is what we want here - a good network that still makes mistakes worth
# a look in section 9. (The training accuracy is a running mean over each epoch, which is why it
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
# dividing by zero (no NaN, no warning). Do not change `w` itself.
#
# *Hints:* `w.reshape(F, -1)` puts each filter on one row; `min(axis=1, keepdims=True)` keeps the
# axis for broadcasting. `np.where` evaluates both branches, so divide by a range in which the
# zeros have been replaced first.


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
got = normalize_for_display(w.copy())
T.assert_finite(got, name="normalize_for_display(w)",
                hint="a constant filter has max - min = 0: map it to 0.5 instead of dividing")  # fmt: skip
T.assert_allclose(got, expected, name="normalize_for_display(w)",
                  hint="each filter w[f] gets its own min and max, not those of all filters at "
                       "once (normalising over all filters at once)")  # fmt: skip
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
with T.forbid_calls("cnnlab.plot", exercise="normalize_for_display"):
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
# Now the filters of our network, before and after training, each scaled on its own.


# %%
def show_filter_rows(rows, row_titles, title):
    """Show several sets of (F, 1, KH, KW) filters, one set per row, each normalised for display."""
    fig, axes = plt.subplots(
        len(rows), rows[0].shape[0], figsize=(1.2 * rows[0].shape[0], 1.5 * len(rows))
    )
    for r, (filters, name) in enumerate(zip(rows, row_titles)):
        shown = normalize_for_display(filters)
        for f, ax in enumerate(axes[r]):
            ax.imshow(shown[f, 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"filter {f}", fontsize=8)
        axes[r, 0].set_ylabel(name, fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


show_filter_rows([w_init, net[0].params["w"]], ["at initialisation", "after training"],
                 "First-layer 5x5 filters (each scaled to its own min and max)")  # fmt: skip
plt.show()

# %% [markdown]
# At initialisation the filters are independent random noise. After training several of them
# have turned into oriented edge detectors: a dark band beside a bright band, horizontal in some
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
fig, axes = plt.subplots(2, trained.shape[0], figsize=(1.2 * trained.shape[0], 3.0))
for f in range(trained.shape[0]):
    for r, img in enumerate([shared[f, 0], normalize_for_display(trained)[f, 0]]):
        axes[r, f].imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes[r, f].set_xticks([])
        axes[r, f].set_yticks([])
axes[0, 0].set_ylabel("one scale", fontsize=9)
axes[1, 0].set_ylabel("per filter", fontsize=9)
fig.suptitle("The trained filters with one shared grey scale (top) and one scale per filter")
fig.tight_layout()
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
# Leave the model in the mode you found it in.
#
# *Hints:* the layers are in the list `model.layers`; count carefully which of them the output of
# layer `layer_index` has passed through. Remember the mode with `was_training = model.training`
# before calling `model.eval()`, and restore it at the end (a `try`/`finally` restores it even
# when a layer raises).


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
for i, expected in by_hand.items():
    model.train()  # the model arrives in training mode; your function must use eval mode
    got = get_activations(model, x, i)
    T.assert_allclose(got, np.array(expected, dtype=np.float64), name=f"get_activations(model, x, {i})",
                      hint="layer i's output comes after layers 0..i, i included (wrong layer? "
                           "check for an off-by-one), in eval mode (train mode leaves Dropout "
                           "on: call model.eval())")  # fmt: skip
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(11)
layers = [
    cl.nn.Conv2d(3, 4, 3, pad=1, rng=rng, dtype="float64"),  # 0
    cl.nn.BatchNorm2d(4, dtype="float64"),  # 1
    cl.nn.ReLU(),  # 2
    cl.nn.MaxPool2d(2, 2),  # 3
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
### END HIDDEN TESTS

# %% [markdown]
# Here is one test image traced through the network: the 8 maps of the first conv layer (after
# its ReLU), then the 16 maps of the second one.

# %%
image_index = int(np.flatnonzero(y_test == class_names.index("triangle"))[0])
x_one = X_test[image_index : image_index + 1]
cl.plot.image_grid(x_one, titles=[class_names[y_test[image_index]]], title="Input")
plt.show()
for index, what in [(1, "conv 1 + ReLU, 20x20"), (4, "conv 2 + ReLU, 10x10")]:
    maps = get_activations(net, x_one, index)
    cl.plot.feature_maps(maps[0], title=f"Layer {index}: {what}")
    plt.show()

# %% [markdown]
# In the first layer every map is the triangle seen through one filter: most light up along one
# or two of its edges - the edges whose orientation matches the filter - and one responds to
# the filled inside. In the second layer, after one pooling, the maps are coarser (10x10) and
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
# We score each image by the **mean** activation of the channel over all positions. The mean
# rewards a channel that responds over the whole shape; the maximum would reward one lucky pixel.
#
# ### Exercise 3: `top_k_activating` (3 points)
#
# Return the indices of the `k` images of `X` whose mean activation in channel `channel` of
# layer `layer_index` is largest, largest first. For a layer with output `(N, D)` (after
# `Flatten` or `Linear`) the channel is unit `channel` and its "mean" is just its value.
#
# *Hints:* use your `get_activations`. Reshaping the chosen channel to `(N, -1)` makes the
# `(N, H, W)` and the `(N,)` case look alike. `np.argsort` sorts ascending.


# %% nbgrader={"grade": false, "grade_id": "top_k_activating", "locked": false, "schema_version": 3, "solution": true, "task": false}
def top_k_activating(model, X, layer_index, channel, k):
    """Indices of the k images with the largest mean activation in one channel.

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

    Returns
    -------
    idx : ndarray of int, shape (k,)
        Indices into X, the image with the largest mean activation first.
    """
    ### BEGIN SOLUTION
    acts = get_activations(model, X, layer_index)
    score = acts[:, channel].reshape(acts.shape[0], -1).mean(axis=1)
    return np.argsort(-score, kind="stable")[:k]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_top_k_activating", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T

# A 1x1 conv with two channels: channel 0 copies the pixel, channel 1 negates it; then ReLU.
conv = cl.nn.Conv2d(1, 2, 1)
conv.params["w"][...] = np.array([1.0, -1.0]).reshape(2, 1, 1, 1)
conv.params["b"][...] = 0
model = cl.nn.Sequential(conv, cl.nn.ReLU())
X = np.array(
    [
        [[[4, 0], [0, 0]]],  # channel 0: mean 1.0, max 4
        [[[2, 2], [2, 2]]],  # channel 0: mean 2.0, max 2
        [[[3, 3], [0, 0]]],  # channel 0: mean 1.5, max 3
        [[[-1, -2], [-1, 0]]],  # channel 0: all zero after ReLU; channel 1: mean 1.0
    ],
    dtype=np.float32,
)
got = top_k_activating(model, X, 1, 0, 2)
T.assert_true(np.issubdtype(np.asarray(got).dtype, np.integer),
              f"top_k_activating should return integer indices, got {got!r}")  # fmt: skip
T.assert_equal(np.asarray(got), np.array([1, 2]), name="top_k_activating(model, X, 1, channel=0, k=2)",
               hint="rank by the MEAN over positions (2.0, 1.5, 1.0, 0.0), not by the max "
                    "(4, 2, 3, 0), largest first (not sorted ascending)")  # fmt: skip
T.assert_equal(np.asarray(top_k_activating(model, X, 1, 1, 1)), np.array([3]),
               name="top_k_activating(model, X, 1, channel=1, k=1)")  # fmt: skip
### BEGIN HIDDEN TESTS
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

for layer_index, channel, k in [(0, 2, 4), (1, 3, 3), (2, 1, 5), (3, 2, 6), (5, 4, 3)]:
    acts = outs[layer_index][:, channel].reshape(12, -1)
    mean, peak = acts.mean(axis=1), acts.max(axis=1)
    expected = np.argsort(-mean)[:k]
    name = f"top_k_activating(model, X, layer_index={layer_index}, channel={channel}, k={k})"
    model.train()
    got = np.asarray(top_k_activating(model, X, layer_index, channel, k))
    T.assert_shape(got, (k,), name=name, hint="return exactly k indices")
    if not np.array_equal(got, expected):
        if np.array_equal(got, expected[::-1]) or np.array_equal(got, np.argsort(mean)[:k]):
            hint = "sorted ascending: the image with the LARGEST mean must come first"
        elif np.array_equal(got, np.argsort(-peak)[:k]):
            hint = "ranked by the max over positions; rank by the MEAN activation"
        elif np.array_equal(got, np.argsort(-outs[layer_index].reshape(12, -1).mean(1))[:k]):
            hint = "averaged over all channels; use channel `channel` only"
        else:
            hint = (
                "mean over the positions of channel `channel` of layer `layer_index` "
                "(eval mode), largest first; if you use get_activations, make its test pass first"
            )
        T.assert_equal(got, expected, name=name, hint=hint)
### END HIDDEN TESTS

# %% [markdown]
# For four channels of the second conv layer (layer 4), the eight test images that excite each
# one most:

# %%
fig, axes = plt.subplots(4, 8, figsize=(9, 5.2))
for row, channel in enumerate([0, 5, 10, 15]):
    top = top_k_activating(net, X_test, 4, channel, 8)
    for col, i in enumerate(top):
        axes[row, col].imshow(X_test[i, 0], cmap="gray", vmin=0, vmax=1)
        axes[row, col].set_xticks([])
        axes[row, col].set_yticks([])
        axes[row, col].set_title(class_names[y_test[i]], fontsize=7)
    axes[row, 0].set_ylabel(f"channel {channel}", fontsize=9)
fig.suptitle("Top-8 test images per channel of layer 4 (mean activation, largest first)")
fig.tight_layout()
plt.show()

# %% [markdown]
# Read each row as a guess at what the channel detects. Often a row is dominated by one or two
# classes (filled round or square shapes, rings), which tells you the channel has become a
# detector for a property those classes share. A row that mixes classes is not a failure: the
# channel may respond to something that cuts across the labels, such as brightness or size. The top images are evidence, not proof - section 10 comes back to this.

# %% [markdown]
# ## 5. Occlusion: hide a part, watch the prediction
#
# Which part of the image does the prediction depend on? The most direct experiment: cover a
# small patch with a plain value and see how much the probability of the correct class drops.
# Slide the patch over the image like a convolution kernel and you get a map of drops, one per
# patch position - large where the covered pixels mattered, near zero where they did not
# ([Zeiler and Fergus 2014](https://arxiv.org/abs/1311.2901), section 4.2).
#
# The patch positions follow the convolution output-size formula: with image height `H`, patch
# size `P` and stride `S` the patch top rows are `0, S, 2S, ...`, and there are
# `OH = (H - P) // S + 1` of them (no padding); the same for the width.
#
# **Worked example.** A 4x4 image of ones, a model whose class-0 score is the sum of the top-left
# 2x2 pixels and whose class-1 score is 0. Then `p(class 0) = 1 / (1 + e^-4) = 0.982`. With
# `patch=2, stride=2` there are 2x2 positions; covering the top-left one makes the score 0 and
# the probability 0.5, a drop of 0.482; the other three positions change nothing. The map is
# `[[0.482, 0], [0, 0]]`.
#
# ### Exercise 4: `occlusion_map` (4 points)
#
# For each patch position, set the `patch x patch` square (in every channel) of a copy of
# `image` to `fill` and record `p(label | original) - p(label | occluded)`, the probabilities
# being the softmax of the model's scores in eval mode.
#
# *Hints:* build all occluded copies into one batch `(OH * OW, C, H, W)` and run the model once;
# it is much faster than one forward pass per position. Subtract the row maximum before `np.exp`
# in the softmax. Do not change `image`.


# %% nbgrader={"grade": false, "grade_id": "occlusion_map", "locked": false, "schema_version": 3, "solution": true, "task": false}
def occlusion_map(model, image, label, patch=4, stride=2, fill=0.0):
    """Drop in the probability of ``label`` when each patch of the image is covered.

    Parameters
    ----------
    model : cnnlab.nn.Sequential
        Maps (N, C, H, W) to class scores (N, K); used in eval mode, mode restored.
    image : ndarray, shape (C, H, W)
        One image; not modified.
    label : int
        The class whose probability is watched.
    patch : int
        Side of the square patch.
    stride : int
        Step between patch positions.
    fill : float
        Value written into the covered pixels.

    Returns
    -------
    drop : ndarray, shape (OH, OW)
        ``drop[i, j] = p(label | image) - p(label | image with rows i*stride .. i*stride+patch-1
        and columns j*stride .. j*stride+patch-1 set to fill)``, where
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
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    return (probs[0, label] - probs[1:, label]).reshape(oh, ow)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_occlusion_map", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T

# The worked example: class-0 score = sum of the top-left 2x2 pixels, class-1 score = 0.
fc = cl.nn.Linear(16, 2)
fc.params["w"][...] = 0
fc.params["w"][[0, 1, 4, 5], 0] = 1  # pixels (0,0), (0,1), (1,0), (1,1) of the flattened 4x4
fc.params["b"][...] = 0
model = cl.nn.Sequential(cl.nn.Flatten(), fc)
image = np.ones((1, 4, 4), dtype=np.float32)


def sigmoid(s):
    return 1 / (1 + np.exp(-s))


got = occlusion_map(model, image, 0, patch=2, stride=2)
T.assert_shape(got, (2, 2), name="occlusion_map(patch=2, stride=2) on a 4x4 image",
               hint="off-by-one grid? OH = (H - patch) // stride + 1")  # fmt: skip
T.assert_allclose(got, [[sigmoid(4) - 0.5, 0], [0, 0]], atol=1e-6,
                  name="occlusion_map(patch=2, stride=2) on a 4x4 image",
                  hint="return the DROP p(original) - p(occluded), not the new probability and "
                       "not the other sign; softmax probabilities, not scores; occlude a copy "
                       "(not the image in place)")  # fmt: skip
got = occlusion_map(model, image, 0, patch=2, stride=1)
T.assert_shape(got, (3, 3), name="occlusion_map(patch=2, stride=1) on a 4x4 image",
               hint="off-by-one grid? OH = (4 - 2) // 1 + 1 = 3: the last position starts "
                    "at row 2")  # fmt: skip
T.assert_allclose(np.asarray(got)[1, 1:2], [sigmoid(4) - sigmoid(3)], atol=1e-6,
                  name="occlusion_map(patch=2, stride=1)[1, 1] (covers one of the 4 pixels)")  # fmt: skip
### BEGIN HIDDEN TESTS


def _softmax(s):
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


rng = np.random.default_rng(31)
model = cl.nn.Sequential(
    cl.nn.Conv2d(3, 4, 3, pad=1, rng=rng, dtype="float64"),
    cl.nn.ReLU(),
    cl.nn.MaxPool2d(2, 2),
    cl.nn.Flatten(),
    cl.nn.Dropout(0.5, rng=rng),
    cl.nn.Linear(4 * 5 * 4, 5, rng=rng, dtype="float64"),
)
image = rng.uniform(0, 1, size=(3, 11, 9))
image_before = image.copy()


def _reference(patch, stride, fill, label, channels=slice(None)):
    """(drop, occluded probability, occluded score) maps, the model in eval mode."""
    _, h, w = image.shape
    oh, ow = (h - patch) // stride + 1, (w - patch) // stride + 1
    batch = np.repeat(image[None], oh * ow, axis=0)
    for i in range(oh):
        for j in range(ow):
            batch[i * ow + j, channels, i * stride : i * stride + patch,
                  j * stride : j * stride + patch] = fill  # fmt: skip
    model.eval()
    scores = model.forward(batch)
    p0 = _softmax(model.forward(image[None]))[0, label]
    p = _softmax(scores)[:, label].reshape(oh, ow)
    return p0 - p, p, scores[:, label].reshape(oh, ow)


for patch, stride, fill, label in [(3, 2, 0.5, 2), (4, 3, 0.0, 4), (2, 1, -1.0, 0)]:
    oh, ow = (11 - patch) // stride + 1, (9 - patch) // stride + 1
    drop, p_occ, s_occ = _reference(patch, stride, fill, label)
    name = f"occlusion_map(patch={patch}, stride={stride}, fill={fill}) on a (3, 11, 9) image"
    model.train()
    got = occlusion_map(model, image, label, patch=patch, stride=stride, fill=fill)
    T.assert_allclose(image, image_before, name="image after occlusion_map",
                      hint="occlusion_map changed the input image in place (covered its "
                           "patches); occlude a copy")  # fmt: skip
    shape_hint = (
        f"off-by-one grid: OH = (H - patch) // stride + 1 = {oh} and OW = {ow}; patch positions "
        f"0, stride, 2*stride, ... as long as the patch fits"
    )
    T.assert_shape(got, (oh, ow), name=name, hint=shape_hint)
    model.eval()  # the mistakes below are computed as the reference is: in eval mode
    scores_hint = "scores used directly; take the softmax probability of `label`"
    mistakes = [
        ("this is the new probability p(occluded); return the DROP p(original) - p(occluded)",
         p_occ),
        ("sign: the drop is p(original) - p(occluded), not p(occluded) - p(original)", -drop),
        (scores_hint, s_occ),
        (scores_hint, model.forward(image[None])[0, label] - s_occ),
        ("the patch was set to 0; set it to `fill`", _reference(patch, stride, 0.0, label)[0]),
        ("only channel 0 was covered; cover the patch in every channel",
         _reference(patch, stride, fill, label, channels=0)[0]),
    ]  # fmt: skip
    T.assert_allclose(got, drop, rtol=1e-6, atol=1e-9, name=name, mistakes=mistakes,
                      hint="for patch (i, j) cover rows i*stride .. i*stride+patch-1 and the "
                      "matching columns in all channels, in eval mode (Dropout off)")  # fmt: skip
### END HIDDEN TESTS

# %% [markdown]
# Occlusion maps for one test image of each class, with a 4x4 patch of zeros (the background
# value) moved in steps of 2 pixels: a 9x9 grid of positions over the 20x20 image. Red means
# the probability of the true class dropped when that patch was covered.

# %%
examples = [int(np.flatnonzero(y_test == k)[0]) for k in range(len(class_names))]


def show_maps(rows, row_labels, title, cmap, symmetric=False):
    """The test images of `examples` in the top row, one row of maps under them per entry of
    `rows` (each map stretched over its image and scaled on its own; `symmetric` centres the
    colour scale at 0)."""
    n_rows = 1 + len(rows)
    fig, axes = plt.subplots(
        n_rows, len(examples), figsize=(1.45 * len(examples), 1.6 * n_rows + 0.4)
    )
    for col, i in enumerate(examples):
        axes[0, col].imshow(X_test[i, 0], cmap="gray", vmin=0, vmax=1)
        axes[0, col].set_title(class_names[y_test[i]], fontsize=8)
        for r, maps in enumerate(rows, start=1):
            m = maps[col]
            v = np.abs(m).max()
            axes[r, col].imshow(
                m, cmap=cmap, vmin=-v if symmetric else 0, vmax=v, extent=(0, 20, 20, 0)
            )
        for ax in axes[:, col]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("image", fontsize=9)
    for r, label in enumerate(row_labels, start=1):
        axes[r, 0].set_ylabel(label, fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


t0 = time.perf_counter()
occlusions = [occlusion_map(net, X_test[i], y_test[i], patch=4, stride=2) for i in examples]
print(f"8 occlusion maps in {time.perf_counter() - t0:.2f} s")
show_maps([occlusions], ["drop"], "Drop in p(true class) when a 4x4 patch is covered", "RdBu_r",
          symmetric=True)  # fmt: skip
plt.show()

# %% [markdown]
# The drops concentrate on the shape itself, and often on the parts that tell the class apart
# rather than on the whole shape: the ends or the middle of a bar, the crossing of the cross, a
# piece of the ring. Covering empty background changes almost nothing, as it should. Blue cells
# (negative drops) mean the covered patch made the network *more* sure of the right class: it
# removed something that looked like another class. The map is coarse - one value per patch
# position - and depends on the patch size and on the fill value: a black patch on a black
# background is no occlusion at all.

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
# computed with the model's `forward` and `backward` in eval mode.
#
# *Hints:* `model.backward(dscores)` returns `dx` with the shape of the input, `(1, C, H, W)`.
# The numerical gradient of `cl.gradcheck` would be far too slow here and is not allowed.


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

# A linear model on 2-channel 2x2 images: the gradient of score y is the weight column W[:, y].
fc = cl.nn.Linear(8, 2)
fc.params["w"][:, 0] = [1, -3, 0.5, 2, -2, 1, 1, -0.5]  # channel 0: [[1, -3], [.5, 2]],
fc.params["w"][:, 1] = [0, 1, 0, 1, 4, 0, 0, 0]  # channel 1: [[-2, 1], [1, -.5]]
fc.params["b"][...] = 0
model = cl.nn.Sequential(cl.nn.Flatten(), fc)
x = np.array([[[0.2, 0.4], [0.6, 0.8]], [[0.1, 0.3], [0.5, 0.7]]], dtype=np.float32)
with T.forbid_calls("cnnlab.gradcheck", exercise="saliency_map"):
    got = saliency_map(model, x, 0)
T.assert_shape(got, (2, 2), name="saliency_map(model, x, 0) for x of shape (2, 2, 2)",
               hint="one value per pixel: take the max over the channel axis")  # fmt: skip
T.assert_allclose(got, [[2, 3], [1, 2]], atol=1e-6, name="saliency_map(model, x, 0)",
                  hint="max over channels (not summed over channels, not averaged over "
                       "channels) of |W[:, 0]| (absolute value before the max): the gradient of "
                       "the SCORE, not taken after the softmax")  # fmt: skip
T.assert_allclose(saliency_map(model, x, 1), [[4, 1], [0, 1]], atol=1e-6,
                  name="saliency_map(model, x, 1)")  # fmt: skip
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(41)
model = cl.nn.Sequential(
    cl.nn.Conv2d(3, 5, 3, pad=1, rng=rng, dtype="float64"),
    cl.nn.ReLU(),
    cl.nn.MaxPool2d(2, 2),
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
    with T.forbid_calls("cnnlab.gradcheck", exercise="saliency_map"):
        got = saliency_map(model, x, label)
    T.assert_shape(got, (10, 8), name=name,
                   hint="return (H, W): the max over the channel axis of |dx[0]|")  # fmt: skip
    no_abs = "absolute value missing (or taken after the max): use np.abs(dx).max(axis=0)"
    summed = "summed over channels; take the MAX over channels of |dx|"
    softmax = "gradient taken after the softmax; backpropagate a one-hot on the raw SCORES"
    mistakes = [
        (no_abs, dx.max(axis=0)),
        (no_abs, np.abs(dx.max(axis=0))),
        (summed, np.abs(dx).sum(axis=0)),
        (summed, np.abs(dx.sum(axis=0))),
        ("averaged over channels; take the MAX over channels of |dx|", np.abs(dx).mean(axis=0)),
        (softmax, np.abs(dx_prob).max(axis=0)),
        (softmax, np.abs(dx_logp).max(axis=0)),
    ]
    T.assert_allclose(got, expected, rtol=1e-6, atol=1e-12, name=name, mistakes=mistakes,
                      hint="forward in eval mode (Dropout off), backward a one-hot dscores at "
                      "`label`")  # fmt: skip
### END HIDDEN TESTS

# %% [markdown]
# Saliency maps for the same eight test images as the occlusion maps above (middle row). The
# bottom row averages the saliency maps of 25 copies of each image with added Gaussian noise of
# standard deviation 0.1, a trick called SmoothGrad
# ([Smilkov et al. 2017](https://arxiv.org/abs/1706.03825)): the gradient's pixel-to-pixel
# jitter averages out, the structure shared by the copies stays.

# %%
saliencies = [saliency_map(net, X_test[i], y_test[i]) for i in examples]
noise_rng = np.random.default_rng(0)
n_copies = 5 if cl.is_grading() else 25
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
# Where occlusion gave one value per 4x4 patch, the saliency map has one value per pixel, and it
# is much noisier: large gradients are scattered over the shape and even over the background.
# A gradient describes the network's response to tiny changes around this one image, and our
# images carry pixel noise which the first-layer filters respond to. Still there is structure:
# for the bars the large values line up along the stroke, for the ring they follow the circle.
# SmoothGrad makes that structure much clearer, at the price of 25 backward passes per image.
# Occlusion and saliency answer different questions and need not agree; section 10 adds one
# more caveat.

# %% [markdown]
# ## 7. What does the network think a class looks like?
#
# The saliency map follows the gradient of a class score with respect to the input for one real
# image. If we instead *start* from a blank image and follow that gradient uphill, step after
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
# near zero. Better pictures come from stronger priors (blurring, jitter; see
# [Yosinski et al. 2015](https://arxiv.org/abs/1506.06579) and the Distill article above), but
# plain L2 already shows what the network is looking for.
#
# **Worked example.** For a linear score `s_y = w . x` the gradient of `J` is `w - 2 λ x`, zero
# at `x* = w / (2 λ)`. With `λ = 0.5` and `lr = 0.1` every step moves `x` 10 % of the way to
# `x* = w`: after `t` steps `x = w + 0.9^t (x_0 - w)`.
#
# ### Exercise 6: `class_visualization` (3 points)
#
# Start from `x = 0.1 * rng.standard_normal(shape)` (draw exactly this, once) and make `steps`
# gradient-ascent updates `x <- x + lr * (d s_label / d x - 2 * l2 * x)`, the score gradient
# coming from the model's backward pass in eval mode, on the batch `x[None]`. Return the final
# `x`.
#
# *Hints:* each step is one forward and one backward pass, as in `saliency_map` but without the
# absolute value and the max. Keep `x` in float64.


# %% nbgrader={"grade": false, "grade_id": "class_visualization", "locked": false, "schema_version": 3, "solution": true, "task": false}
def class_visualization(model, label, shape, steps, lr, l2, rng):
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
        Draws the start ``x = 0.1 * rng.standard_normal(shape)``.

    Returns
    -------
    x : ndarray of float, shape (C, H, W)
        The image after ``steps`` updates ``x += lr * (d score[label] / dx - 2 * l2 * x)``.
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
    finally:
        if was_training:
            model.train()
    return x
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_class_visualization", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T

# The worked example: a linear model, score 0 = w . x with w = [1, -1, 0.5, 2] on a 1x2x2 image.
fc = cl.nn.Linear(4, 2, dtype="float64")
fc.params["w"][:, 0] = [1, -1, 0.5, 2]
fc.params["w"][:, 1] = [0, 0, 0, 0.5]
fc.params["b"][...] = 0
model = cl.nn.Sequential(cl.nn.Flatten(), fc)
x0 = 0.1 * np.random.default_rng(0).standard_normal((1, 2, 2))
w0 = np.array([1, -1, 0.5, 2]).reshape(1, 2, 2)
with T.forbid_calls("cnnlab.gradcheck", exercise="class_visualization"):
    got = class_visualization(model, 0, (1, 2, 2), 30, 0.1, 0.5, np.random.default_rng(0))
T.assert_shape(got, (1, 2, 2), name="class_visualization(..., shape=(1, 2, 2))")
T.assert_allclose(got, w0 + 0.9**30 * (x0 - w0), rtol=1e-6, atol=1e-9,
                  name="class_visualization(model, 0, (1, 2, 2), steps=30, lr=0.1, l2=0.5)",
                  hint="start from 0.1 * rng.standard_normal(shape); gradient ascent, not "
                       "descent: x += lr * (w - 2 * l2 * x) (check the sign of the L2 term and "
                       "the factor 2; ascend the raw score, not the softmax) moves x 10 % of "
                       "the way to w per step")  # fmt: skip
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(51)
model = cl.nn.Sequential(
    cl.nn.Conv2d(1, 4, 3, pad=1, rng=rng, dtype="float64"),
    cl.nn.ReLU(),
    cl.nn.MaxPool2d(2, 2),
    cl.nn.Flatten(),
    cl.nn.Linear(4 * 4 * 4, 16, rng=rng, dtype="float64"),
    cl.nn.ReLU(),
    cl.nn.Dropout(0.5, rng=rng),
    cl.nn.Linear(16, 5, rng=rng, dtype="float64"),
)
shape, steps, lr, l2 = (1, 9, 8), 40, 0.3, 0.05


def _ascent(label, seed, sign=1.0, reg=2.0, use_softmax=False, start=0.1):
    x = start * np.random.default_rng(seed).standard_normal(shape)
    model.eval()
    for _ in range(steps):
        scores = model.forward(x[None])
        d = np.zeros_like(scores)
        d[0, label] = 1.0
        if use_softmax:
            p = np.exp(scores - scores.max())
            p /= p.sum()
            d = p[0, label] * (d - p)
        x = x + sign * lr * (model.backward(d)[0] - reg * l2 * x)
    return x


def _scores(x):
    model.eval()
    return model.forward(np.asarray(x, dtype=np.float64)[None])[0]


for label, seed in [(1, 8), (4, 7)]:
    expected = _ascent(label, seed)
    name = f"class_visualization(model, {label}, {shape}, steps={steps}, lr={lr}, l2={l2})"
    rng_in = np.random.default_rng(seed)
    model.train()
    with T.forbid_calls("cnnlab.gradcheck", exercise="class_visualization"):
        got = class_visualization(model, label, shape, steps, lr, l2, rng_in)
    T.assert_shape(got, shape, name=name, hint="return the image x of shape `shape`")
    T.assert_finite(got, name=name, hint="lr * gradient steps should stay finite here")
    s = _scores(got)
    start = "start from x = 0.1 * rng.standard_normal(shape), drawn once from `rng`"
    mistakes = [
        ("gradient DESCENT: move x along +gradient (x += lr * grad) to raise the score",
         _ascent(label, seed, sign=-1.0)),
        ("sign of the L2 term: the gradient of -l2 * ||x||^2 is -2 * l2 * x",
         _ascent(label, seed, reg=-2.0)),
        ("factor 2 missing: the gradient of l2 * ||x||^2 is 2 * l2 * x",
         _ascent(label, seed, reg=1.0)),
        ("L2 penalty missing: add -2 * l2 * x to the gradient", _ascent(label, seed, reg=0.0)),
        ("gradient of the softmax probability; ascend the raw class SCORE",
         _ascent(label, seed, use_softmax=True)),
    ] + [(start, _ascent(label, seed, start=a)) for a in (0.0, 0.01, 1.0)]  # fmt: skip
    T.assert_allclose(got, expected, rtol=1e-6, atol=1e-9, name=name, mistakes=mistakes,
                      hint="x = 0.1 * rng.standard_normal(shape); then `steps` times in eval mode "
                      "x += lr * (backward of a one-hot at `label` - 2 * l2 * x)")  # fmt: skip
    T.assert_true(int(np.argmax(s)) == label,
                  f"{name}: the result scores {s.round(3)}, highest for class {int(np.argmax(s))} "
                  f"instead of {label}.")  # fmt: skip
### END HIDDEN TESTS

# %% [markdown]
# One synthesised image per class of our trained network, each from its own faint random start,
# with 200 steps of size `lr = 0.1` and `l2 = 0.5`:

# %%
steps = 60 if cl.is_grading() else 200
t0 = time.perf_counter()
dreams = np.stack(
    [
        class_visualization(net, k, (1, 20, 20), steps, 0.1, 0.5, np.random.default_rng(k))
        for k in range(len(class_names))
    ]
)
print(
    f"{len(class_names)} class visualisations, {steps} steps each, in {time.perf_counter() - t0:.1f} s"
)
dream_probs = cl.train.predict_proba(net, dreams.astype(np.float32))
cl.plot.image_grid(
    normalize_for_display(dreams),
    titles=[f"{name}\np={dream_probs[k, k]:.2f}" for k, name in enumerate(class_names)],
    title="Images that maximise each class score (each scaled to its own range)",
)
plt.show()

# %% [markdown]
# Most of these images are classified as their class with near certainty, although none looks
# like a training image. (A class whose probability stays low shows that raising one score does
# not guarantee the top probability: the ascent may raise other scores too.) What you can see:
# horizontal, vertical and diagonal strokes for the three bar classes, curved ring-like traces
# for the ring, small "+" motifs for the cross, and the same motif repeated at several places -
# the network rewards evidence wherever it appears, and nothing in our objective asks for one
# object in the middle of a dark background. This is the honest lesson of the technique: the
# network's notion of "ring" is a collection of local evidence, not a picture of a ring.

# %% [markdown]
# ## 8. The classes in feature space: a t-SNE map
#
# The last hidden layer (layer 8, after the ReLU) turns every image into 64 numbers from which
# the final linear layer reads off the class. If training worked, images of one class should
# have similar feature vectors, and the classes should be separable. We cannot look at 64
# dimensions, but t-SNE ([van der Maaten and Hinton 2008](https://jmlr.org/papers/v9/vandermaaten08a.html))
# places each vector as a point in the plane so that points that are near neighbours in 64-D
# tend to be near neighbours in 2-D. Here it runs on 500 test images (a few seconds); colour is
# the true class, and a few points carry a thumbnail of their image.

# %%
from matplotlib.offsetbox import AnnotationBbox, OffsetImage
from sklearn.manifold import TSNE

n_points = 200 if cl.is_grading() else 500
features = get_activations(net, X_test[:n_points], 8)
t0 = time.perf_counter()
with threadpool_limits(1):  # scikit-learn loaded its OpenMP runtime after the setup cell
    embedding = TSNE(n_components=2, perplexity=30, init="pca", random_state=0).fit_transform(
        features.astype(np.float64)
    )
print(
    f"t-SNE of {n_points} points x {features.shape[1]} features in {time.perf_counter() - t0:.1f} s"
)

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

# %% [markdown]
# The ring, the cross and the three bar classes form islands of their own, which is what the
# final linear layer needs. The filled shapes - circle, square, triangle - share one region in
# which they only partly separate: these are the classes the network finds hard, and the
# thumbnails near the borders show why (a small disc and a small square differ by a few
# pixels). Do not read too much into the distances *between* islands or into their sizes: t-SNE
# preserves neighbourhoods, not global distances, and its picture changes with the perplexity
# and the random seed ([Wattenberg et al. 2016](https://distill.pub/2016/misread-tsne/)).

# %% [markdown]
# ## 9. Where the network errs: the confusion matrix
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
# ### Exercise 7: `confusion_matrix` (2 points)
#
# Count the pairs into a `(num_classes, num_classes)` integer array, rows true class, columns
# predicted class. A class that never occurs still gets its row and column (of zeros). Do it with
# NumPy (a loop over the pairs is fine); `sklearn.metrics.confusion_matrix` is not allowed here.
#
# *Hints:* a plain loop over `zip(y_true, y_pred)` is the clearest answer. If you vectorise,
# beware that `cm[y_true, y_pred] += 1` counts a pair that occurs several times only once;
# `np.add.at` does not have that problem.


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
              hint="create it with np.zeros((K, K), dtype=int)")  # fmt: skip
T.assert_equal(np.asarray(got), np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]]),
               name="confusion_matrix(y_true=[0,0,1,2,2,2], y_pred=[0,1,1,2,0,2], 3)",
               hint="rows are the TRUE classes, columns the PREDICTED ones (transposed?); "
                    "repeated pairs each count once")  # fmt: skip
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
T.assert_true(not np.array_equal(got, expected.T),
              f"{name}: the matrix is transposed.",
              hint="confusion matrix transposed: rows are the TRUE classes, columns the "
                   "predicted ones, cm[y_true[n], y_pred[n]] += 1")  # fmt: skip
T.assert_equal(int(got.sum()), 300, name=f"{name}: total count",
               hint="every pair counts once; cm[y_true, y_pred] += 1 drops repeated pairs, "
                    "use np.add.at or a loop")  # fmt: skip
T.assert_equal(got, expected, name=name, hint="cm[i, j] counts true class i predicted as j")
T.assert_equal(np.asarray(confusion_matrix([1, 1], [1, 1], 2)), np.array([[0, 0], [0, 2]]),
               name="confusion_matrix([1, 1], [1, 1], 2) (Python lists)",
               hint="accept lists as well as arrays: np.asarray(y_true)")  # fmt: skip
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

# %% [markdown]
# The diagonal dominates; the off-diagonal cells show which confusions remain. Almost all of
# them are among the filled shapes, above all circles predicted as squares - the classes that
# shared a region in the t-SNE map. The matrix is not symmetric: far more circles become squares
# than squares circles, so in doubt the network prefers "square". Bars, cross and ring are
# almost never confused.
#
# A gallery of the misclassified test images, each with the network's three most probable
# classes, shows what the numbers mean:

# %%
wrong = np.flatnonzero(y_hat != y_test)[:16]
n_cols = 8
n_rows = max(1, -(-len(wrong) // n_cols))
fig, axes = plt.subplots(n_rows, n_cols, figsize=(13, 2.5 * n_rows), squeeze=False)
for ax in axes.ravel():
    ax.axis("off")
for ax, i in zip(axes.ravel(), wrong):
    top3 = np.argsort(-probs[i])[:3]
    lines = [f"{class_names[k]} {probs[i, k]:.2f}" for k in top3]
    ax.imshow(X_test[i, 0], cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"TRUE: {class_names[y_test[i]]}\n" + "\n".join(lines), fontsize=7)
fig.suptitle(f"{len(wrong)} misclassified test images: true class, then the top-3 predictions")
fig.tight_layout()
plt.show()

# %% [markdown]
# Nearly all of them are discs taken for squares or squares taken for discs. Some are small, a
# few pixels across, where a disc and a square really do look alike at this resolution; but
# several are large, clean discs that a person would never call a square, often with the circle
# as a close second. That is a real weakness of this small network (six epochs, eight 5x5
# filters), not of the data. When the correct class is second with a fair probability, the
# network was in doubt; use `occlusion_map` and `saliency_map` on such an image to see what
# pulled it towards the wrong class. A gallery like this is the quickest way to decide whether a
# model needs more training, more data of some kind, or is at the limit of what the images
# show.

# %% [markdown]
# ## 10. What these pictures can and cannot tell you
#
# Every tool here answers a narrow question, and each answer is easy to over-read.
#
# - **Filters** show what the first layer correlates with; deeper layers act on feature maps, so
#   their weights are not pictures of anything.
# - **Feature maps and top-k images** show what a channel responds to *among the images you
#   tried*. A channel may respond to a property none of your images has, and a row of top images
#   that look alike may share something else (brightness, size) than what you see in them.
# - **Occlusion** measures the effect of one particular intervention; the answer depends on the
#   patch size and on the fill value, and covering a part also creates new edges.
# - **Saliency** is a local, first-order statement about tiny changes around one image. Gradients
#   are noisy, and some gradient-based methods highlight the edges of the input whatever the
#   network has learned (see the check below).
# - **Class visualisations** show inputs that maximise a score, which can look nothing like real
#   data: they reveal evidence the network uses, not a prototype.
# - **t-SNE** preserves neighbourhoods, not distances or cluster sizes.
# - The **confusion matrix** and the **gallery** are the most reliable: they only count and show,
#   but they say where the model errs, not why.
#
# Adebayo et al. ([Sanity Checks for Saliency Maps, 2018](https://arxiv.org/abs/1810.03292))
# proposed a simple test: if a picture is meant to explain the *trained* network, it should
# change when the weights are replaced by random ones. The cell below does this for saliency
# maps with an untrained network of the same architecture.

# %%
untrained = build_model(seed=1).eval()
random_saliencies = [saliency_map(untrained, X_test[i], y_test[i]) for i in examples]
fig, axes = plt.subplots(3, len(examples), figsize=(1.45 * len(examples), 4.8))
for col, i in enumerate(examples):
    for row, img in enumerate([X_test[i, 0], saliencies[col], random_saliencies[col]]):
        axes[row, col].imshow(img, cmap="gray" if row == 0 else "hot")
        axes[row, col].set_xticks([])
        axes[row, col].set_yticks([])
axes[0, 0].set_ylabel("image", fontsize=9)
axes[1, 0].set_ylabel("trained", fontsize=9)
axes[2, 0].set_ylabel("untrained", fontsize=9)
fig.suptitle("Saliency of the true class: trained network vs. random weights")
fig.tight_layout()
plt.show()
same = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(saliencies, random_saliencies)]
print("correlation of trained and untrained saliency, per image:", np.round(same, 2))

# %% [markdown]
# Here the test is passed: the untrained network's maps are unstructured noise, with no trace of
# the shape, and their correlation with the trained maps (printed above) is close to zero. So
# the structure we saw in section 6 comes from what the network learned. Adebayo et al. found
# that several popular methods for large networks (guided backpropagation among them) produce
# nearly the same picture for trained and random weights - those pictures mostly show the
# input's edges. Run this check whenever you trust a new visualisation method.

# %% [markdown]
# ## Summary
#
# - First-layer filters can be shown as images, each scaled to its own range; deeper layers are
#   read through their activations.
# - `get_activations` in eval mode gives feature maps; ranking images by a channel's mean
#   activation shows what the channel responds to.
# - Occlusion measures the drop in the class probability when a patch is covered; saliency takes
#   the gradient of the class score with respect to the pixels, through the same backward pass
#   that trains the network.
# - Gradient ascent on the input, with an L2 penalty, synthesises what raises a class score.
# - t-SNE of the penultimate features shows how well the classes separate; the confusion matrix
#   and a gallery of errors show which classes the network mixes up and on which images.
# - Each picture answers a narrow question; sanity checks such as randomising the weights tell
#   you how much of the picture comes from the network and how much from the image.
#
# **Going further.** Try the tools on the digits (`cl.data.load_digits`) or, if you have the
# files, on CIFAR-10: compare the first-layer filters of a colour network. Replace the L2 penalty
# by a blur of `x` every few steps and see the class visualisations become smoother. Compute the
# occlusion map of a misclassified image for the predicted class and for the true one.
