# %% [markdown]
# # 06 · Beyond classification: localization, detection, segmentation and transfer learning
#
# Up to now every network of this course answered one question per image: *which class is
# it?* Most vision problems ask more: *where* is the object, *which* objects are there and where
# is each, *which pixel* belongs to what. And most real projects have far fewer labelled images
# than our digits and shapes; they start from a network trained on something else. This
# notebook builds the four standard tasks on one kind of synthetic scene and then measures when
# reusing a trained network pays off.
#
# **When you finish this notebook you can**
#
# - say what classification, localization, detection and semantic segmentation each output;
# - measure how well two boxes agree with intersection-over-union (IoU), vectorised;
# - train one network with two heads (class scores and four box numbers) on a multi-task loss:
#   cross-entropy plus a weighted smooth L1 box loss, with its gradients;
# - turn the fully connected layers of a trained classifier into convolutions and slide it over
#   a larger image in one pass (the "FC -> CONV" conversion), getting a map of scores;
# - remove duplicate detections with non-maximum suppression and score a detector with
#   precision, recall and average precision;
# - upsample feature maps with a transposed convolution (the backward pass of a convolution)
#   and train a small fully convolutional network that labels every pixel, measured by mean IoU;
# - reuse a pretrained network (frozen features, fine-tuning) and say when it helps.
#
# **Builds on** 01-convolution (output sizes, sliding a kernel), 02-layers (forward and
# backward passes, softmax cross-entropy, the backward pass of a convolution), 03-training
# (mini-batches, Adam, the training loop), 04-hyperparameters (validation, weighing two terms of
# a loss) and 05-visualization (reading feature maps).
#
# **Time:** about 3 hours. The whole notebook runs in about a minute or less on a laptop CPU.
#
# **Exercises (24 points):** `iou` (2), `smooth_l1` (2), `localization_loss` (3), `fc_to_conv`
# (2), `nms` (2), `average_precision` (2), `conv_transpose_forward` (2), `conv_transpose_backward`
# (3), `pixel_cross_entropy` (2), `mean_iou` (2), `finetune_lr_scale` (2). Every exercise cell is
# followed by a test cell; the tests you see are small worked examples, the grader adds more.
#
# Background reading: the CS231n notes on [converting FC layers to CONV
# layers](https://cs231n.github.io/convolutional-networks/#convert) and the lecture on [detection
# and segmentation](http://cs231n.stanford.edu/slides/2017/cs231n_2017_lecture11.pdf); Sermanet et
# al., [OverFeat](https://arxiv.org/abs/1312.6229) (2014, localization and detection with one
# sliding convnet); Girshick, [Fast R-CNN](https://arxiv.org/abs/1504.08083) (2015, the multi-task
# loss and smooth L1); Everingham et al., [The PASCAL VOC
# challenge](http://host.robots.ox.ac.uk/pascal/VOC/) (average precision); Long, Shelhamer and
# Darrell, [Fully Convolutional Networks](https://arxiv.org/abs/1411.4038) (2015); Yosinski et
# al., [How transferable are features in deep neural networks?](https://arxiv.org/abs/1411.1792)
# (2014).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import time

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

import cnnlab as cl
from cnnlab import nn

# Small arrays: one BLAS thread is faster than several competing for a busy machine's cores.
threadpool_limits(1)

# %% [markdown]
# ## 1. Four tasks on one picture
#
# Our scenes come from `cl.data.make_scenes`: black images with a little noise, showing one or
# several shapes that never overlap. We use four of cnnlab's shape classes - circle, triangle,
# cross and ring - and for every scene we know each object's class, its **box** and which pixels
# it covers. A box is given by its corners `(x0, y0, x1, y1)` in pixels, where pixel column `j`
# covers the interval `[j, j + 1)`: a box from column 3 to column 7 inclusive has `x0 = 3`,
# `x1 = 8`, width `x1 - x0 = 5`, and the area of a box is simply `(x1 - x0) * (y1 - y0)`.
#
# The same scene supports four tasks, which differ in what the network must output:
#
# - **classification**: one label for the image (here: for its largest object);
# - **localization**: one label *and one box* for that object - five numbers per image plus the
#   class scores;
# - **detection**: a list, as long as it needs to be, of boxes, each with a label and a score
#   that says how sure the detector is;
# - **semantic segmentation**: a label for every pixel (background or a class).

# %%
CLASSES = ("circle", "triangle", "cross", "ring")
K = len(CLASSES)
COLORS = ("tab:orange", "tab:green", "tab:cyan", "tab:pink")
CLASS_CMAP = plt.matplotlib.colors.ListedColormap(COLORS)  # class k -> COLORS[k] in maps


def draw_boxes(ax, boxes, labels, scores=None, color=None, style="-", placed=None):
    """Draw (x0, y0, x1, y1) boxes on an imshow axis, with their class name (and score)."""
    # a name that would cover an earlier one (listed in `placed`) goes below its box instead
    placed = [] if placed is None else placed
    for i, (box, label) in enumerate(zip(np.asarray(boxes), np.asarray(labels))):
        x0, y0, x1, y1 = box
        c = color or COLORS[int(label)]
        # pixel j is drawn from j - 0.5 to j + 0.5 by imshow: shift the corners by half a pixel
        ax.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                                   edgecolor=c, linewidth=1.5, linestyle=style))  # fmt: skip
        text = CLASSES[int(label)] + ("" if scores is None else f" {scores[i]:.2f}")
        at = (x0 - 0.5, y0 - 1.5)
        if any(abs(at[0] - x) < 10 and abs(at[1] - y) < 3 for x, y in placed):
            at = (x0 - 0.5, y1 + 2.5)
        placed.append(at)
        ax.text(*at, text, color=c, fontsize=7)


def montage(images, gap=3):
    """Images (n, h, w) side by side in one array with blank (NaN) gaps: one imshow, not n.

    Image i starts at column ``i * (w + gap)``; drawing one axes instead of n is much cheaper.
    """
    n, h, w = images.shape
    row = np.full((h, n * (w + gap) - gap), np.nan)
    for i, image in enumerate(images):
        row[:, i * (w + gap) : i * (w + gap) + w] = image
    return row


scene = cl.data.make_scenes(1, size=64, objects=3, classes=CLASSES, seed=3)
boxes, labels = scene.boxes[0], scene.labels[0]
areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
main = int(np.argmax(areas))
fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
for ax in axes:
    ax.imshow(scene.images[0, 0], cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
axes[0].set_title(f"classification:\n'{CLASSES[labels[main]]}'", fontsize=10)
draw_boxes(axes[1], boxes[main : main + 1], labels[main : main + 1])
axes[1].set_title("localization:\nlabel + one box", fontsize=10)
draw_boxes(axes[2], boxes, labels, scores=np.ones(len(boxes)))
axes[2].set_title("detection: boxes,\nlabels and scores", fontsize=10)
axes[3].imshow(np.ma.masked_equal(scene.masks[0], 0) - 1, cmap=CLASS_CMAP, vmin=-0.5, vmax=K - 0.5)
axes[3].set_title("segmentation:\na label per pixel", fontsize=10)
fig.suptitle("Four tasks on one synthetic scene (64x64 pixels)")
fig.subplots_adjust(top=0.76, wspace=0.08)  # a fixed layout: cheaper than a layout engine
plt.show()
print("boxes (x0, y0, x1, y1):\n", boxes, "\nlabels:", [CLASSES[k] for k in labels])

# %% [markdown]
# The detection panel shows the true boxes, each with the score 1.00 that a perfect detector would
# give; a real detector returns many more boxes, with scores between 0 and 1, and we will have to
# clean them up and judge them (section 3). In the segmentation panel each pixel of an object has
# its class's colour (the colours of the boxes) and the rest is background. Notice that
# segmentation does not separate two objects of the same class: it labels pixels, not objects
# (telling objects apart as well is called *instance* segmentation).
#
# ## 2. Localization = classification + box regression
#
# A classifier ends in a fully connected layer with one output per class. For localization we
# add a second fully connected layer, the **box head**, next to the class head: both read the
# same features, the class head gives `K` scores and the box head gives 4 numbers, the box. The
# box head does *regression*: its outputs are real numbers compared with the true box, not
# probabilities. Training needs one loss for both heads, and before that a way to say how good
# a predicted box is.
#
# **Intersection over union.** Two boxes agree well when their overlap is large compared with
# the area they cover together:
#
# $$\mathrm{IoU}(A, B) = \frac{\text{area}(A \cap B)}{\text{area}(A \cup B)}
# = \frac{\text{area}(A \cap B)}{\text{area}(A) + \text{area}(B) - \text{area}(A \cap B)}.$$
#
# The intersection of two boxes is a box too (when they overlap): its left edge is the larger
# of the two left edges, its right edge the smaller of the two right edges, and likewise for
# top and bottom. IoU is 1 for identical boxes and 0 for boxes that do not overlap (or only
# touch along an edge). A box shifted by a third of its width against its twin already has an
# IoU of 0.5, the usual threshold for "found it".
#
# **Worked example.** `A = (0, 0, 4, 2)` (area 8) and `B = (2, 0, 6, 2)` (area 8): the
# intersection is `(2, 0, 4, 2)`, area 4, the union 8 + 8 - 4 = 12, IoU = 1/3.
#
# ### Exercise 1: `iou` (2 points)
#
# Compute the IoU of every box of `boxes_a` (N of them) with every box of `boxes_b` (M), as an
# (N, M) array, **without Python loops** (broadcast the N boxes against the M boxes; detectors
# compare thousands of boxes at a time; the test reads your function for `for` and `while` loops
# and comprehensions). Boxes are corners `(x0, y0, x1, y1)`, never
# `(x, y, width, height)`. Two boxes that do not overlap have intersection 0 (not a negative
# area), and so does a pair that only touches. A pair whose union is 0 (two empty boxes) gets
# IoU 0.
#
# <details><summary>Hint 1</summary>
#
# Work on all N x M pairs at once. The intersection of two boxes is a rectangle: its left edge is
# the larger of the two left edges, its right edge the smaller of the two right edges, and so on.
# Slicing with `None` turns the N left edges into an (N, 1) column and the M left edges of the
# other set into a (1, M) row; an operation on the two broadcasts to (N, M).
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# When two boxes do not overlap, "smaller right edge minus larger left edge" is negative, and two
# negative sides multiply to a positive area: clip each side at 0 before multiplying. Areas have
# no "+ 1": the box (3, 0, 8, 1) is 5 pixels wide. Divide only where the union is positive.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "iou", "locked": false, "schema_version": 3, "solution": true, "task": false}
def iou(boxes_a, boxes_b):
    """Intersection over union of every box of ``boxes_a`` with every box of ``boxes_b``.

    Parameters
    ----------
    boxes_a : array_like, shape (N, 4)
        Boxes as corners (x0, y0, x1, y1) with x0 <= x1 and y0 <= y1.
    boxes_b : array_like, shape (M, 4)
        Boxes as corners (x0, y0, x1, y1).

    Returns
    -------
    out : ndarray of float, shape (N, M)
        ``out[i, j] = area(a_i & b_j) / area(a_i | b_j)``, 0 where the union is empty; the area
        of a box is ``(x1 - x0) * (y1 - y0)``.

    Raises
    ------
    ValueError
        If an input is not an (N, 4) array.
    """
    ### BEGIN SOLUTION
    a = np.asarray(boxes_a, dtype=np.float64)
    b = np.asarray(boxes_b, dtype=np.float64)
    for name, arr in (("boxes_a", a), ("boxes_b", b)):
        if arr.ndim != 2 or arr.shape[1] != 4:
            raise ValueError(f"{name} must have shape (N, 4), got {arr.shape}")
    left = np.maximum(a[:, None, 0], b[None, :, 0])
    top = np.maximum(a[:, None, 1], b[None, :, 1])
    right = np.minimum(a[:, None, 2], b[None, :, 2])
    bottom = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_iou", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

# Two boxes against four: overlap, the same box, a box that only touches a0's right edge, and
# a box far away from both. Check the first row by hand with the worked example above.
a = np.array([[0, 0, 4, 2], [1, 1, 3, 3]], dtype=float)
b = np.array([[2, 0, 6, 2], [0, 0, 4, 2], [4, 0, 5, 1], [5, 5, 6, 6]], dtype=float)
a_before, b_before = a.copy(), b.copy()
with T.in_place(a, b):  # checked after the call: the grader hands back what the call did to it
    got = iou(a, b)
T.assert_shape(got, (2, 4), name="iou(a, b) for 2 and 4 boxes",
               hint="one row per box of boxes_a, one column per box of boxes_b")  # fmt: skip
T.assert_allclose(got, [[1 / 3, 1.0, 0.0, 0.0], [1 / 11, 0.2, 0.0, 0.0]], name="iou(a, b)",
                  hint="IoU = intersection / (area_a + area_b - intersection), boxes as corners",
                  mistakes=[
                      ("the boxes far apart got a positive overlap: when right - left and "
                       "bottom - top are both negative, their product is positive; clip each "
                       "side of the intersection at 0",
                       [[1 / 3, 1.0, 0.0, 1 / 2], [1 / 11, 0.2, 0.0, 4.0]]),
                      ("areas computed with '+ 1': the box (x0, y0, x1, y1) has width x1 - x0 "
                       "(pixel j covers [j, j + 1)), no + 1",
                       [[3 / 7, 1.0, 2 / 17, 0.0], [1 / 5, 1 / 3, 0.0, 0.0]]),
                      ("the boxes were read as (x, y, width, height); they are corners "
                       "(x0, y0, x1, y1)", [[1 / 4, 1.0, 0.0, 0.0], [2 / 19, 3 / 14, 0.0, 0.0]]),
                  ])  # fmt: skip
T.assert_allclose(a, a_before, name="boxes_a after iou", hint="do not change the input boxes")
T.assert_allclose(b, b_before, name="boxes_b after iou", hint="do not change the input boxes")
# The pair order does not matter, and a box against itself is 1.
T.assert_allclose(iou(b, a), [[1 / 3, 1 / 11], [1.0, 0.2], [0.0, 0.0], [0.0, 0.0]],
                  name="iou(b, a)", hint="iou(b, a) is the transpose of iou(a, b)")  # fmt: skip
# Two empty boxes (width 0): the union is 0, and the IoU is defined as 0 (not 0 / 0 = NaN).
got = iou(np.array([[1.0, 1.0, 1.0, 3.0]]), np.array([[1.0, 1.0, 1.0, 3.0], [0.0, 0.0, 2.0, 2.0]]))
T.assert_finite(got, name="iou of an empty box with itself",
                hint="when the union is 0, return 0 instead of dividing 0 by 0")  # fmt: skip
T.assert_allclose(got, [[0.0, 0.0]], name="iou of an empty box with itself and with a box")
# A loop over the pairs gives the same numbers, so this check reads your code instead.
T.assert_no_loops("iou", rule="iou must work on all N x M pairs at once, without Python loops",
                  hint="see Hint 1: broadcasting an (N, 1) column against a (1, M) row gives "
                  "all pairs in one operation")  # fmt: skip
### BEGIN HIDDEN TESTS


def _iou_by_counting(boxes_a, boxes_b, grid=40):
    """Independent reference for integer boxes: count the pixels each box covers."""
    centres = np.arange(grid) + 0.5

    def cover(boxes):
        inside_x = (centres >= boxes[:, 0:1]) & (centres < boxes[:, 2:3])
        inside_y = (centres >= boxes[:, 1:2]) & (centres < boxes[:, 3:4])
        return (inside_y[:, :, None] & inside_x[:, None, :]).reshape(len(boxes), -1)

    ca, cb = cover(boxes_a).astype(float), cover(boxes_b).astype(float)
    inter = ca @ cb.T
    union = ca.sum(1)[:, None] + cb.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


rng = np.random.default_rng(16)
corners = np.sort(rng.integers(0, 40, size=(2, 23, 2, 2)), axis=-1)  # sorted x and y pairs
boxes_a = np.stack([corners[0, :, 0, 0], corners[0, :, 1, 0], corners[0, :, 0, 1],
                    corners[0, :, 1, 1]], axis=1).astype(float)  # fmt: skip
boxes_b = np.stack([corners[1, :, 0, 0], corners[1, :, 1, 0], corners[1, :, 0, 1],
                    corners[1, :, 1, 1]], axis=1).astype(float)[:17]  # fmt: skip
boxes_a[3] = [5, 5, 5, 9]  # an empty box (width 0)
boxes_b[4] = boxes_a[0]
expected = _iou_by_counting(boxes_a, boxes_b)
got = iou(boxes_a.copy(), boxes_b.copy())
T.assert_shape(got, (23, 17), name="iou of 23 and 17 random boxes")
T.assert_allclose(got, expected, name="iou of 23 and 17 random integer boxes",
                  hint="clip the intersection's sides at 0; area = (x1 - x0) * (y1 - y0); an "
                       "empty union gives 0")  # fmt: skip
T.assert_allclose(iou(np.array([[0.5, 0.25, 2.5, 1.25]]), np.array([[1.5, 0.25, 3.5, 1.25]])),
                  [[1 / 3]], name="iou of boxes with fractional corners")  # fmt: skip
T.assert_allclose(iou([[0, 0, 2, 2]], [[0, 0, 2, 2], [2, 2, 4, 4]]), [[1.0, 0.0]],
                  name="iou of Python lists", hint="accept array_like input (np.asarray)")  # fmt: skip
got = iou(np.zeros((0, 4)), boxes_b)
T.assert_shape(got, (0, 17), name="iou of 0 and 17 boxes")
with T.raises(ValueError, hint="boxes must be (N, 4): raise ValueError for (N, 2) boxes"):
    iou(np.zeros((3, 2)), boxes_b)
### END HIDDEN TESTS

# %% [markdown]
# **The box loss.** The box head's four outputs are compared with the true box through a
# regression loss. The squared error punishes a prediction that is 10 pixels off a hundred times
# as much as one that is 1 pixel off, and early in training, when boxes are far off, its large
# gradients can swamp the classification term. The absolute error has a constant gradient, even
# when the prediction is almost right, which makes it jitter around the target. **Smooth L1**
# (Girshick's Fast R-CNN, also known as the Huber loss up to a factor) takes the best of both:
# quadratic for small errors, linear for large ones. With the difference `d = pred - target` and
# a threshold `beta > 0`, elementwise:
#
# $$f(d) = \begin{cases} \tfrac{1}{2} d^2 / \beta & |d| < \beta \\
#          |d| - \tfrac{1}{2}\beta & \text{otherwise,} \end{cases}
# \qquad f'(d) = \begin{cases} d / \beta & |d| < \beta \\ \operatorname{sign}(d) & \text{otherwise.} \end{cases}$$
#
# The two pieces meet at `|d| = beta` with the same value (`beta / 2`) and the same slope (±1),
# so the loss is smooth. Our loss adds `f` over the 4 coordinates of each box and **averages
# over the boxes** (the rows): for N boxes, `loss = sum_ij f(d_ij) / N`. So a loss of 2 means "2
# per box", whatever the batch size, and the gradient carries the same `1 / N`.
#
# **Worked example.** `pred = [[0.5, -2, 1, 3]]`, `target = [[0, 0, 0, 0]]`, `beta = 1`: the
# errors give `0.125, 1.5, 0.5, 2.5`, loss 4.625, gradient `[0.5, -1, 1, 1]`.
#
# ### Exercise 2: `smooth_l1` (2 points)
#
# Return the loss (a float) and its gradient with respect to `pred` (the shape of `pred`).
#
# <details><summary>Hint 1</summary>
#
# Compute the error `d = pred - target` once, then choose the branch elementwise from the *size*
# of the error, `|d|`: an error of -5 is large. Add `f` over all elements and divide by the number
# of boxes (rows); the gradient has one entry per element and carries the same division.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Gradient descent moves `pred` against the gradient, towards the target, so the gradient is
# positive where `pred` is too large: $d / \beta$ in the quadratic part, the sign of $d$ in the
# linear part. `np.where(condition, a, b)` picks elementwise between two arrays of the same
# shape.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "smooth_l1", "locked": false, "schema_version": 3, "solution": true, "task": false}
def smooth_l1(pred, target, beta=1.0):
    """Smooth L1 loss summed over coordinates, averaged over boxes, and its gradient.

    Parameters
    ----------
    pred : ndarray, shape (N, D)
        Predicted values (D = 4 box numbers per row).
    target : ndarray, shape (N, D)
        True values.
    beta : float, default 1.0
        Where the quadratic piece ends, beta > 0.

    Returns
    -------
    loss : float
        ``sum_ij f(pred_ij - target_ij) / N`` with f = 0.5 d**2 / beta for |d| < beta and
        |d| - 0.5 beta otherwise.
    dpred : ndarray, shape (N, D)
        Gradient of the loss with respect to ``pred``: ``f'(d) / N``.
    """
    ### BEGIN SOLUTION
    d = np.asarray(pred, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"pred and target must have shape (N, D), got {d.shape}")
    n = d.shape[0]
    small = np.abs(d) < beta
    loss = np.where(small, 0.5 * d**2 / beta, np.abs(d) - 0.5 * beta).sum() / max(n, 1)
    dpred = np.where(small, d / beta, np.sign(d)) / max(n, 1)
    return float(loss), dpred
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_smooth_l1", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T

# Two boxes; errors of every kind: small and large, positive and negative (-2 is LARGE).
pred = np.array([[0.5, -2.0, 1.0, 3.0], [0.0, 0.0, 0.0, -0.2]])
target = np.zeros((2, 4))
loss, dpred = smooth_l1(pred.copy(), target.copy())
T.assert_allclose(loss, (4.625 + 0.02) / 2, name="smooth_l1 loss, 2 boxes, beta=1",
                  hint="f(d) = 0.5 d^2 / beta for |d| < beta, |d| - 0.5 beta otherwise; sum "
                       "over the coordinates, divide by the number of boxes", mistakes=[
                      ("the loss was divided by the number of VALUES (8); divide by the "
                       "number of boxes (rows), 2", 4.645 / 8),
                      ("the loss was summed over the boxes; divide by the number of boxes, 2",
                       4.645),
                      ("the error -2 got the quadratic branch: choose the branch by the size "
                       "|d| of the error, not by d", (0.125 + 2.0 + 0.5 + 2.5 + 0.02) / 2),
                  ])  # fmt: skip
T.assert_allclose(dpred, [[0.25, -0.5, 0.5, 0.5], [0.0, 0.0, 0.0, -0.1]],
                  name="smooth_l1 gradient, 2 boxes, beta=1",
                  hint="f'(d) = d / beta for |d| < beta, sign(d) otherwise, divided by N",
                  mistakes=[
                      ("the gradient has the wrong sign: d = pred - target, and the loss grows "
                       "when pred moves away from the target",
                       [[-0.25, 0.5, -0.5, -0.5], [0.0, 0.0, 0.0, 0.1]]),
                      ("the gradient was not divided by the number of boxes (2)",
                       [[0.5, -1.0, 1.0, 1.0], [0.0, 0.0, 0.0, -0.2]]),
                      ("the gradient was divided by the number of values (8); divide by the "
                       "number of boxes (2)",
                       [[0.0625, -0.125, 0.125, 0.125], [0.0, 0.0, 0.0, -0.025]]),
                  ])  # fmt: skip
# beta = 2: the error 3 is large (3 - 1 = 2), the error -1 small (0.5 * 1 / 2 = 0.25).
loss, dpred = smooth_l1(np.array([[3.0, -1.0]]), np.zeros((1, 2)), beta=2.0)
T.assert_allclose([loss], [2.25], name="smooth_l1([[3, -1]], 0, beta=2) loss",
                  hint="use beta in both the test |d| < beta and in both formulas",
                  mistakes=[("beta was ignored (treated as 1): f = 0.5 d^2 / beta below beta, "
                             "|d| - 0.5 beta above", [3.0])])  # fmt: skip
T.assert_allclose(dpred, [[1.0, -0.5]], name="smooth_l1([[3, -1]], 0, beta=2) gradient",
                  hint="f'(d) = d / beta for |d| < beta, sign(d) otherwise")  # fmt: skip
### BEGIN HIDDEN TESTS
import cnnlab as cl

rng = np.random.default_rng(61)
for n, d, beta in [(7, 4, 1.0), (3, 5, 0.3), (1, 4, 2.5)]:
    pred = rng.normal(0, 2, size=(n, d))
    target = rng.normal(0, 2, size=(n, d))
    diff = pred - target
    small = np.abs(diff) < beta
    ref_loss = np.where(small, 0.5 * diff**2 / beta, np.abs(diff) - 0.5 * beta).sum() / n
    ref_grad = np.where(small, diff / beta, np.sign(diff)) / n
    loss, dpred = smooth_l1(pred.copy(), target.copy(), beta=beta)
    name = f"smooth_l1 on ({n}, {d}) random values, beta={beta}"
    T.assert_allclose([loss], [ref_loss], name=name + ": loss",
                      mistakes=[("divided by the number of values instead of the number of "
                                 "boxes", [ref_loss / d]),
                                ("summed over the boxes instead of averaged",
                                 [ref_loss * n])] if n > 1 else [])  # fmt: skip
    T.assert_allclose(dpred, ref_grad, name=name + ": gradient",
                      mistakes=[("the gradient has the wrong sign", -ref_grad)])  # fmt: skip
    # the gradient is the derivative of the loss (away from the kink at |d| = beta)
    f = lambda p, t=target, be=beta: smooth_l1(p, t, beta=be)[0]
    num = cl.gradcheck.numerical_gradient(f, pred.copy(), h=1e-6)
    T.assert_rel_error(dpred, num, tol=1e-6, name=name + ": gradient vs numerical gradient")
loss, dpred = smooth_l1(np.array([[1.0, -1.0]]), np.zeros((1, 2)))
T.assert_allclose([loss], [1.0], name="smooth_l1 at |d| = beta = 1 (both pieces give 0.5)")
### END HIDDEN TESTS

# %% [markdown]
# **The multi-task loss.** The class head is trained with the softmax cross-entropy of 02 and
# the box head with the box loss; one network, one optimiser, so we add the two:
#
# $$L = \text{CE}(\text{scores}, y) + \lambda \cdot L_\text{box}(\text{box\_pred}, \text{box\_true}).$$
#
# The weight `lambda` (`weight` below) is a hyperparameter: the two terms have different units
# (nats against box units), and `lambda` sets how much one unit of box error is worth against
# the classification. Its gradient flows into each head separately: `dscores` is the
# cross-entropy's gradient alone, `dbox_pred` is `lambda` times the box loss's.
#
# In section 3 the same network must also say "no object here". That is one more class,
# **background**, and a background example has no true box: its box prediction must not be
# trained at all. So the box loss is taken over the *object* examples only (their labels differ
# from `background`), averaged over those, and the gradient of the other rows is 0. With
# `background=None` every example has an object. This is the rule of Fast R-CNN.
#
# ### Exercise 3: `localization_loss` (3 points)
#
# Return the total loss and its gradients with respect to both heads' outputs. Use
# `cl.layers.softmax_cross_entropy` (it returns the mean loss over the N examples and its
# gradient) for the class term and the `box_loss` you are given for the box term (the first two
# lines of the function make it your `smooth_l1` when none is given; the tests also pass other
# box losses, so call `box_loss`). When no example has an object, the box term is 0.
#
# <details><summary>Hint 1</summary>
#
# Two terms, added: the cross-entropy over all N examples, and the box loss over the object
# examples only, times `weight`. A boolean mask `labels != background` picks the object rows;
# `box_pred[mask]` are their predictions.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Called on the object rows only, the box loss already divides by the number of *object*
# examples (do not divide again). `dbox_pred` has the shape of `box_pred`: start from zeros and
# fill the object rows. The weight multiplies the box term and its gradient, never the
# cross-entropy. With no object example, skip the box loss altogether.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "localization_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def localization_loss(
    scores, box_pred, labels, box_true, *, weight=1.0, background=None, box_loss=None
):
    """Cross-entropy of the class head plus ``weight`` times the box loss of the object rows.

    Parameters
    ----------
    scores : ndarray, shape (N, K)
        Class scores of the class head.
    box_pred : ndarray, shape (N, 4)
        Output of the box head.
    labels : ndarray of int, shape (N,)
        True classes.
    box_true : ndarray, shape (N, 4)
        True boxes (any values in background rows).
    weight : float, default 1.0
        Weight lambda of the box term.
    background : int or None, default None
        The label meaning "no object": rows with this label get no box loss. None: every row
        has an object.
    box_loss : callable or None, default None
        ``box_loss(pred, target) -> (loss, dpred)`` for (M, 4) arrays, averaged over the M rows;
        None means your ``smooth_l1`` (with beta = 1).

    Returns
    -------
    loss : float
        ``CE(scores, labels) + weight * box_loss(box_pred[obj], box_true[obj])``, where ``obj``
        are the rows whose label is not ``background``; the box term is 0 if there is none.
    dscores : ndarray, shape (N, K)
        Gradient of the loss with respect to ``scores``.
    dbox_pred : ndarray, shape (N, 4)
        Gradient of the loss with respect to ``box_pred`` (0 in background rows).
    """
    if box_loss is None:
        box_loss = smooth_l1
    ### BEGIN SOLUTION
    scores = np.asarray(scores)
    box_pred = np.asarray(box_pred, dtype=np.float64)
    box_true = np.asarray(box_true, dtype=np.float64)
    labels = np.asarray(labels)
    ce, dscores = cl.layers.softmax_cross_entropy(scores, labels)
    has_object = np.ones(len(labels), dtype=bool) if background is None else labels != background
    dbox = np.zeros(box_pred.shape)
    box_term = 0.0
    if has_object.any():
        box_term, grad = box_loss(box_pred[has_object], box_true[has_object])
        dbox[has_object] = weight * np.asarray(grad)
    return float(ce + weight * box_term), dscores, dbox
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_localization_loss", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T


# Three examples, classes 0 and 1 plus background = 2; example 1 is background.
# A simple box loss makes the numbers easy: half the squared error, averaged over the rows.
def half_squared(pred, target):
    return 0.5 * ((pred - target) ** 2).sum() / len(pred), (pred - target) / len(pred)


scores = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0], [0.0, 1.0, 0.0]])
labels = np.array([0, 2, 1])
box_pred = np.array([[1.0, 1.0, 2.0, 2.0], [9.0, 9.0, 9.0, 9.0], [0.0, 0.0, 1.0, 3.0]])
box_true = np.array([[1.0, 1.0, 2.0, 4.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
ce, dce = cl.layers.softmax_cross_entropy(scores, labels)  # the class term alone
# box term: rows 0 and 2 only, each with one error of 2: 0.5 * (4 + 4) / 2 = 2
args = (scores.copy(), box_pred.copy(), labels.copy(), box_true.copy())
loss, dscores, dbox = localization_loss(*args, weight=0.5, background=2, box_loss=half_squared)
T.assert_allclose([loss], [ce + 0.5 * 2.0], name="localization_loss (weight 0.5, background 2)",
                  hint="loss = CE + weight * box_loss over the object rows", mistakes=[
                      ("the background row got a box loss: only rows whose label is not "
                       "`background` have a true box", [ce + 0.5 * (0.5 * (4 + 4 + 4 * 81) / 3)]),
                      ("the box loss was averaged over all 3 rows; average it over the 2 "
                       "object rows (pass only those rows to box_loss)", [ce + 0.5 * 4 / 3]),
                      ("the weight multiplies the cross-entropy; it belongs to the box term",
                       [0.5 * ce + 2.0]),
                      ("the box term is missing: add weight * box_loss", [ce]),
                  ])  # fmt: skip
T.assert_allclose(dscores, dce, name="dscores",
                  hint="dscores is the cross-entropy's gradient alone (not weighted)",
                  mistakes=[("dscores was multiplied by the weight; the weight belongs to the "
                             "box term only", 0.5 * dce)])  # fmt: skip
T.assert_allclose(dbox, [[0, 0, 0, -0.5], [0, 0, 0, 0], [0, 0, 0, 0.5]], name="dbox_pred",
                  hint="weight * box_loss's gradient in the object rows, 0 in background rows",
                  mistakes=[
                      ("dbox_pred was not multiplied by the weight 0.5",
                       [[0, 0, 0, -1.0], [0, 0, 0, 0], [0, 0, 0, 1.0]]),
                      ("the background row got a box gradient; it must stay 0",
                       [[0, 0, 0, -1 / 3], [1.5, 1.5, 1.5, 1.5], [0, 0, 0, 1 / 3]]),
                  ])  # fmt: skip
# No background: every row has an object; weight 2.
loss, _, dbox = localization_loss(*args, weight=2.0, background=None, box_loss=half_squared)
T.assert_allclose([loss], [ce + 2.0 * 0.5 * (4 + 4 + 4 * 81) / 3],
                  name="localization_loss with background=None, weight 2",
                  hint="with background=None every row counts in the box loss")  # fmt: skip
### BEGIN HIDDEN TESTS


def _smooth_l1_reference(pred, target, beta=1.0):
    d = pred - target
    small = np.abs(d) < beta
    n = len(pred)
    return (float(np.where(small, 0.5 * d**2, np.abs(d) - 0.5).sum() / n),
            np.where(small, d, np.sign(d)) / n)  # fmt: skip


rng = np.random.default_rng(7)
n, k, bg = 12, 5, 4
scores = rng.normal(size=(n, k))
labels = rng.integers(0, k, size=n)
labels[:3] = [bg, 0, bg]
box_pred = rng.normal(size=(n, 4)) * 2
box_true = rng.normal(size=(n, 4)) * 2
obj = labels != bg
ce, dce = cl.layers.softmax_cross_entropy(scores, labels)
box_term, box_grad = _smooth_l1_reference(box_pred[obj], box_true[obj])
ref_dbox = np.zeros((n, 4))
ref_dbox[obj] = 3.0 * box_grad
args = (scores.copy(), box_pred.copy(), labels.copy(), box_true.copy())
loss, dscores, dbox = localization_loss(*args, weight=3.0, background=bg,
                                        box_loss=_smooth_l1_reference)  # fmt: skip
all_rows = _smooth_l1_reference(box_pred, box_true)[0]
T.assert_allclose([loss], [ce + 3.0 * box_term], name="localization_loss, 12 rows, smooth L1",
                  mistakes=[("the background rows got a box loss", [ce + 3.0 * all_rows]),
                            ("the box loss was averaged over all rows, not over the object rows",
                             [ce + 3.0 * box_term * obj.sum() / n]),
                            ("the weight multiplies the cross-entropy",
                             [3.0 * ce + box_term])])  # fmt: skip
T.assert_allclose(dscores, dce, name="dscores, 12 rows")
T.assert_allclose(
    dbox,
    ref_dbox,
    name="dbox_pred, 12 rows",
    mistakes=[("dbox_pred was not multiplied by the weight", ref_dbox / 3.0)],
)
# the gradients are the derivatives of the loss
f_scores = lambda s: localization_loss(s, box_pred, labels, box_true, weight=3.0, background=bg,
                                       box_loss=_smooth_l1_reference)[0]  # fmt: skip
T.assert_rel_error(dscores, cl.gradcheck.numerical_gradient(f_scores, scores.copy()), tol=1e-6,
                   name="dscores vs numerical gradient")  # fmt: skip
# only background rows: the box term is 0, the gradient 0
labels_bg = np.full(n, bg)
loss, _, dbox = localization_loss(scores, box_pred, labels_bg, box_true, weight=3.0,
                                  background=bg, box_loss=_smooth_l1_reference)  # fmt: skip
ce_bg = cl.layers.softmax_cross_entropy(scores, labels_bg)[0]
T.assert_allclose([loss], [ce_bg], name="localization_loss with background rows only",
                  hint="no object row: the box term is 0 (not NaN)")  # fmt: skip
T.assert_allclose(dbox, np.zeros((n, 4)), name="dbox_pred with background rows only")
# the default box loss is smooth_l1 (replaced here by the reference)
with T.reference_helpers(smooth_l1=_smooth_l1_reference):
    loss, _, _ = localization_loss(*args, weight=1.0, background=bg)
T.assert_allclose([loss], [ce + box_term], name="localization_loss with the default box_loss",
                  hint="the default box loss is smooth_l1")  # fmt: skip
### END HIDDEN TESTS

# %% [markdown]
# **Training the two heads.** The network reads 32x32 scenes with one object each:
# `INPUT -> [CONV -> RELU -> POOL] x 2 -> FC -> RELU`, then the two heads. We do not let the box
# head predict pixel coordinates directly: its outputs start near 0 and the true corners lie
# between 0 and 32, so the first many steps would only move the biases. Instead the head
# predicts the corners *measured from the window's centre in units of a quarter window*,
# `t = (box - 16) / 8`, numbers between about -2 and 2 (`to_target` and `from_target` below
# convert). Smooth L1 with `beta = 1` is then quadratic for errors below 8 pixels.
#
# The training loop is the one of notebook 03 with two heads: a forward pass through the
# shared trunk, both heads, your `localization_loss`, then the backward pass, where the
# gradient that reaches the trunk is the *sum* of what the two heads send back (the features
# feed both).

# %%
S = 32  # side of the localization network's input window


def to_target(boxes, side=S):
    """Corners in pixels -> what the box head predicts: (box - side/2) / (side/4)."""
    return (np.asarray(boxes, dtype=np.float64) - side / 2) / (side / 4)


def from_target(t, side=S):
    """Inverse of to_target: box head output -> corners in pixels."""
    return np.asarray(t, dtype=np.float64) * (side / 4) + side / 2


class TwoHeads:
    """A shared trunk with a class head and a box head (three cnnlab modules)."""

    def __init__(self, num_classes, seed=0, hidden=64):
        rng = np.random.default_rng(seed)
        self.trunk = nn.Sequential(
            nn.Conv2d(1, 8, 3, pad=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2, stride=2),  # (8, 16, 16)
            nn.Conv2d(8, 16, 3, pad=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2, stride=2),  # (16, 8, 8)
            nn.Flatten(), nn.Linear(16 * 8 * 8, hidden, rng=rng), nn.ReLU(),  # (hidden,)
        )  # fmt: skip
        self.cls_head = nn.Linear(hidden, num_classes, rng=rng)
        self.box_head = nn.Linear(hidden, 4, rng=rng)
        self.parts = {"trunk": self.trunk, "cls": self.cls_head, "box": self.box_head}

    def _named(self, attr):
        return {f"{p}.{k}": v for p, m in self.parts.items() for k, v in getattr(m, attr).items()}

    params = property(lambda self: self._named("params"))
    grads = property(lambda self: self._named("grads"))

    def forward(self, x):
        features = self.trunk.forward(x)
        return self.cls_head.forward(features), self.box_head.forward(features)

    def backward(self, dscores, dbox):
        dfeatures = self.cls_head.backward(dscores) + self.box_head.backward(dbox)
        self.trunk.backward(dfeatures, need_dx=False)

    def predict(self, x):
        """Class scores and boxes in pixels (eval mode)."""
        self.trunk.eval()
        scores, t = self.forward(x)
        return scores, from_target(t)


def train_two_heads(
    model, X, labels, boxes, *, epochs, batch_size=64, weight=1.0, background=None, seed=0
):
    """Mini-batch Adam on localization_loss; returns the mean loss of every epoch."""
    optimizer = cl.optim.Adam(model.params, lr=4e-3)
    rng = np.random.default_rng(seed)
    targets = to_target(boxes)
    losses = []
    model.trunk.train()
    for _ in range(epochs):
        order, total = rng.permutation(len(X)), 0.0
        for start in range(0, len(X), batch_size):
            idx = order[start : start + batch_size]
            scores, t = model.forward(X[idx])
            loss, dscores, dbox = localization_loss(scores, t, labels[idx], targets[idx],
                                                    weight=weight, background=background)  # fmt: skip
            model.backward(dscores.astype(np.float32), dbox.astype(np.float32))
            optimizer.step(model.grads)
            total += loss * len(idx)
        losses.append(total / len(X))
    return losses


n_train = 1200 if cl.is_grading() else 2000
epochs = 4
train_scenes = cl.data.make_scenes(n_train, size=S, objects=1, classes=CLASSES, seed=0)
test_scenes = cl.data.make_scenes(500, size=S, objects=1, classes=CLASSES, seed=1)
X_train, (box_train, y_train) = train_scenes.images, train_scenes.single()
X_test, (box_test, y_test) = test_scenes.images, test_scenes.single()
localizer = TwoHeads(K, seed=0)
t0 = time.perf_counter()
losses = train_two_heads(localizer, X_train, y_train, box_train, epochs=epochs, batch_size=32)
print(f"{n_train} scenes, {epochs} epochs in {time.perf_counter() - t0:.1f} s; "
      f"loss per epoch {np.round(losses, 2)}")  # fmt: skip
scores, box_hat = localizer.predict(X_test)
y_hat = scores.argmax(axis=1)
test_iou = np.diag(iou(box_hat, box_test))
accuracy = float((y_hat == y_test).mean())
print(f"test accuracy {accuracy:.3f}, mean IoU {test_iou.mean():.3f}, "
      f"IoU >= 0.5 for {np.mean(test_iou >= 0.5):.1%} of the boxes, "
      f"class and IoU >= 0.5 right for {np.mean((test_iou >= 0.5) & (y_hat == y_test)):.1%}")  # fmt: skip
if not cl.is_grading():
    cl.claim("accuracy about 90 %", accuracy, low=0.85, high=0.97)
    cl.claim("mean IoU about 0.65", test_iou.mean(), low=0.6, high=0.75)
    cl.claim("almost nine boxes in ten reach IoU 0.5", np.mean(test_iou >= 0.5), low=0.85,
             high=0.95)  # fmt: skip
    worst = np.argsort(test_iou)[:8]
    edge = np.minimum(box_test[:, :2], S - box_test[:, 2:]).min(axis=1)  # pixels to the edge
    print(f"worst eight: {edge[worst]} pixels from the edge; all test objects: "
          f"{np.mean(edge <= 2):.0%} within 2 pixels")  # fmt: skip
    cl.claim("most of the worst eight lie within 2 pixels of the edge", (edge[worst] <= 2).sum(),
             low=6)  # fmt: skip
    cl.claim("less than half of all test objects do", np.mean(edge <= 2), high=0.45)

# %% [markdown]
# One network, trained for a few seconds, names the shape in about 90 % of the test scenes and
# puts a box around it: the mean IoU is about 0.65, and almost nine boxes in ten reach the usual
# threshold of 0.5. Below, the dashed white box is the truth and the coloured one the prediction
# with its class; the bottom row shows the eight test scenes with the lowest IoU.

# %%
order = np.argsort(test_iou)
fig, axes = plt.subplots(2, 1, figsize=(13, 3.9))
for ax, show, name in [(axes[0], np.arange(8), "first 8"), (axes[1], order[:8], "worst 8")]:
    ax.imshow(montage(X_test[show, 0]), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    ax.text(-2, S / 2, name, rotation=90, ha="right", va="center", fontsize=9)
    for col, i in enumerate(show):
        shift = col * (S + 3)  # where scene i starts in the montage
        names = []  # the two boxes' names must not cover each other
        draw_boxes(ax, box_test[i : i + 1] + [shift, 0, shift, 0], y_test[i : i + 1],
                   color="white", style="--", placed=names)  # fmt: skip
        draw_boxes(ax, box_hat[i : i + 1] + [shift, 0, shift, 0], y_hat[i : i + 1], placed=names)
        right = y_hat[i] == y_test[i]
        ax.text(shift + S / 2, -5, f"IoU {test_iou[i]:.2f}" + ("" if right else " (class!)"),
                ha="center", fontsize=8, color="black" if right else "red")  # fmt: skip
fig.suptitle("Localization on test scenes: truth (white, dashed) and prediction (coloured)")
fig.subplots_adjust(top=0.86, hspace=0.3)  # a fixed layout
plt.show()
worst = order[:8]
print("worst eight: IoU", np.round(test_iou[worst], 2), "classes right:",
      int((y_hat[worst] == y_test[worst]).sum()))  # fmt: skip
if not cl.is_grading():
    cl.claim("among the worst eight, some classes right and some wrong",
             0 < (y_hat[worst] == y_test[worst]).sum() < 8, equals=True)  # fmt: skip

# %% [markdown]
# A typical prediction is off by one or two pixels on some sides. The failures have one thing
# in common: most of the worst eight objects lie within 2 pixels of the edge of the image
# (printed above), although less than half of all test objects do, and the predicted box is
# pulled towards the middle, where most of the training boxes were. (In some of them the class
# is wrong too, while in others the class is right and only the box fails: the two heads share
# features but answer different questions.) IoU is a harsh measure for small objects: one pixel
# of error on each side of a 10x10 box already gives `64 / 100 = 0.64`.
#
# ## 3. Detection: many objects, any number
#
# A detector must find every object of a larger scene. The oldest idea is the **sliding
# window**: run the localization network on every 32x32 window of the scene, keep the windows
# whose scores say "object", and take their boxes. Run naively, a 96x96 image at a stride of 4
# pixels has 17 x 17 = 289 windows, each a full forward pass, and neighbouring windows share
# most of their pixels, so most of that work is repeated.
#
# **FC -> CONV.** A fully connected layer after a `Flatten` of a `(C, H, W)` feature map
# computes, for every output `m`, a weighted sum of all `C * H * W` inputs. A convolution with
# an `H x W` kernel on that same map computes exactly the same thing: one output position,
# because the kernel covers the whole map. The two layers are the same function with the same
# numbers arranged differently. The difference appears on a *larger* input: the convolution
# slides, and produces one output per position, the value the fully connected layer would have
# given on that window. Converted this way, a whole classifier becomes *fully convolutional*:
# one forward pass over a large image gives a **map** of class scores, one per window, and
# the computation of overlapping windows is shared (OverFeat; CS231n's notes work the example
# of AlexNet, whose first FC layer becomes a 6x6 convolution). A following FC layer becomes a
# 1x1 convolution.
#
# What you need is how the numbers are arranged. `nn.Flatten` turns `(N, C, H, W)` into
# `(N, C*H*W)` in C order: index `c*H*W + h*W + w`. `nn.Linear` holds its weights as
# `w` of shape `(D, M)` (`out = x @ w + b`); `nn.Conv2d` holds `(F, C, KH, KW)`, one filter per
# output.
#
# ### Exercise 4: `fc_to_conv` (2 points)
#
# Given a `Linear(C*H*W, M)` layer that follows a `Flatten` of `(C, H, W)` maps, return an
# `nn.Conv2d(C, M, (H, W))` (stride 1, no padding) that computes the same function on `(C, H,
# W)` inputs: `conv(x)[:, :, 0, 0] == linear(x)`. Copy the numbers; do not change `linear`.
# Raise `ValueError` when `linear.in_features != C * H * W`.
#
# <details><summary>Hint 1</summary>
#
# Output `m` of the linear layer uses the column `w[:, m]` of its weights; filter `m` of the
# convolution is that column laid out as a `(C, H, W)` block, in the order `Flatten` used.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# The whole weight array is one reshape and one transpose away, and `conv.params["w"][...] = ...`
# writes into the module's own array. Test with `H != W` and `C > 1`: a square single-channel
# example hides two of the three usual mistakes.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "fc_to_conv", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fc_to_conv(linear, input_shape):
    """A Conv2d equivalent to ``linear`` applied after a Flatten of ``input_shape`` maps.

    Parameters
    ----------
    linear : cnnlab.nn.Linear
        A (trained) layer with ``in_features = C * H * W`` and ``out_features = M``; its
        weights ``w`` (C*H*W, M) and ``b`` (M,) are not changed.
    input_shape : tuple of int
        ``(C, H, W)``, the shape of one feature map before the Flatten.

    Returns
    -------
    conv : cnnlab.nn.Conv2d
        ``Conv2d(C, M, (H, W))``, stride 1, pad 0, such that for x of shape (N, C, H, W)
        ``conv(x)[:, :, 0, 0]`` equals ``linear(x.reshape(N, -1))``; on larger inputs it slides.

    Raises
    ------
    ValueError
        If ``linear.in_features != C * H * W``.
    """
    ### BEGIN SOLUTION
    c, h, w = (int(v) for v in input_shape)
    if linear.in_features != c * h * w:
        raise ValueError(
            f"linear has {linear.in_features} inputs, but maps of shape {(c, h, w)} flatten to "
            f"{c * h * w}"
        )
    m = linear.out_features
    conv = nn.Conv2d(c, m, (h, w), dtype=linear.params["w"].dtype)
    conv.params["w"][...] = linear.params["w"].T.reshape(m, c, h, w)
    conv.params["b"][...] = linear.params["b"]
    return conv
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fc_to_conv", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T
from cnnlab import nn

# Maps of shape (C, H, W) = (2, 2, 3): two channels, H != W. Small integer weights.
linear = nn.Linear(12, 3, dtype="float64")
linear.params["w"][...] = np.arange(36).reshape(12, 3) % 7 - 3
linear.params["b"][...] = [1.0, -2.0, 0.5]
w_before = linear.params["w"].copy()
x = np.arange(12, dtype=float).reshape(1, 2, 2, 3) % 5 - 2
expected = x.reshape(1, 12) @ w_before + linear.params["b"]  # what the Linear layer computes
with T.in_place(linear):  # checked after the call: the grader hands back what the call did to it
    conv = fc_to_conv(linear, (2, 2, 3))
T.assert_true(isinstance(conv, nn.Conv2d), f"fc_to_conv returned {type(conv).__name__}",
              hint="return an nn.Conv2d(C, M, (H, W))")  # fmt: skip
T.assert_shape(conv.params["w"], (3, 2, 2, 3), name="conv weights for Linear(12, 3), maps (2, 2, 3)",
               hint="Conv2d weights are (M, C, H, W): one (C, H, W) filter per output")  # fmt: skip
T.assert_equal(tuple(np.broadcast_to(conv.kernel_size, 2).tolist()), (2, 3),
               name="conv.kernel_size", hint="the kernel covers the whole map: (H, W) = (2, 3)")  # fmt: skip
out = conv(x)
T.assert_shape(out, (1, 3, 1, 1), name="conv(x) for x of shape (1, 2, 2, 3)",
               hint="kernel (H, W) = (2, 3), stride 1, no padding: one output position")  # fmt: skip
T.assert_allclose(out[:, :, 0, 0], expected, name="conv(x)[:, :, 0, 0] vs linear(x)",
                  hint="filter m is column m of w, laid out as (C, H, W) in Flatten's order",
                  mistakes=[
                      ("the bias is missing: copy linear's b into the conv's b",
                       expected - [[1.0, -2.0, 0.5]]),
                      ("the weights were reshaped without transposing: w is (C*H*W, M), one "
                       "COLUMN per output; the conv needs one filter (row) per output",
                       [[-1.0, -12.0, 3.5]]),
                      ("the channel axis was put last: Flatten orders (C, H, W), so index "
                       "c*H*W + h*W + w", [[-9.0, 6.0, 12.5]]),
                      ("H and W were swapped: Flatten's index is c*H*W + h*W + w, with w "
                       "changing fastest", [[-10.0, 5.0, 11.5]]),
                  ])  # fmt: skip
T.assert_allclose(linear.params["w"], w_before, name="linear's weights after fc_to_conv",
                  hint="copy the weights; do not change (or reshape in place) linear's own array")  # fmt: skip
# On a larger input (2, 3, 5) the conv slides: 2 x 3 positions, each = linear on that window.
big = np.arange(30, dtype=float).reshape(1, 2, 3, 5) % 4 - 1
out = conv(big)
T.assert_shape(out, (1, 3, 2, 3), name="conv(x) for x of shape (1, 2, 3, 5): the score map")
window = big[:, :, 1:3, 2:5].reshape(1, 12) @ w_before + linear.params["b"]
T.assert_allclose(out[:, :, 1, 2], window, name="score map at position (1, 2)",
                  hint="each position of the map is the Linear layer applied to that window")  # fmt: skip
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(4)
for c, h, w, m in [(3, 4, 2, 5), (1, 3, 3, 2), (16, 2, 2, 7)]:
    linear = nn.Linear(c * h * w, m, rng=rng, dtype="float64")
    linear.params["b"][...] = rng.normal(size=m)
    w_ref, b_ref = linear.params["w"].copy(), linear.params["b"].copy()
    x = rng.normal(size=(4, c, h + 3, w + 2))
    ref = np.empty((4, m, 4, 3))
    for i in range(4):
        for j in range(3):
            ref[:, :, i, j] = x[:, :, i : i + h, j : j + w].reshape(4, -1) @ w_ref + b_ref
    conv = fc_to_conv(linear, (c, h, w))
    name = f"fc_to_conv(Linear({c * h * w}, {m}), {(c, h, w)}) on inputs (4, {c}, {h + 3}, {w + 2})"
    T.assert_allclose(conv(x), ref, rtol=1e-6, atol=1e-9, name=name,
                      hint="filter m = column m of w reshaped to (C, H, W); bias copied")  # fmt: skip
    T.assert_allclose(linear.params["w"], w_ref, name=name + ": linear's w after the call")
    T.assert_equal((conv.stride, conv.pad), (1, 1 - 1), name=name + ": (stride, pad)")
with T.raises(ValueError, hint="check linear.in_features == C * H * W and raise ValueError"):
    fc_to_conv(nn.Linear(12, 2, seed=0), (2, 3, 3))
### END HIDDEN TESTS

# %% [markdown]
# **The localization network, slid.** We convert the network of section 2: its trunk keeps its
# convolutions and pools, the first FC layer (after a `Flatten` of `(16, 8, 8)` maps) becomes an
# 8x8 convolution, the heads (after 64 features) become 1x1 convolutions. On a 32x32 input the
# converted network gives the same numbers as the original; on a 96x96 input it gives a 17x17
# map, one position per 32x32 window at a stride of 4 pixels (the two pools divide the image by
# 4). We feed it a 64x64 scene with 3 to 5 objects, padded with 16 black pixels on every side
# so that windows can also be centred on objects near the border.


# %%
def convert(model):
    """The fully convolutional version of a TwoHeads network: (body, class conv, box conv)."""
    hidden = model.cls_head.in_features
    body = nn.Sequential(*model.trunk.layers[:6], fc_to_conv(model.trunk[7], (16, 8, 8)), nn.ReLU())
    return (
        body.eval(),
        fc_to_conv(model.cls_head, (hidden, 1, 1)),
        fc_to_conv(model.box_head, (hidden, 1, 1)),
    )


def score_maps(converted, images, pad=S // 2):
    """Class probabilities (N, K, h, w) and box maps (N, 4, h, w) of padded images, one pass."""
    body, cls_conv, box_conv = converted
    x = np.pad(images, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    features = body.forward(x)
    scores = cls_conv.forward(features)
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    return probs / probs.sum(axis=1, keepdims=True), box_conv.forward(features)


converted = convert(localizer)
x32 = X_test[:16]
same = np.abs(
    converted[1].forward(converted[0].forward(x32))[:, :, 0, 0] - localizer.predict(x32)[0]
)
print(f"32x32 inputs: largest difference between converted and original scores {same.max():.1e}")
cl.claim("the same numbers (up to float32 rounding)", same.max(), high=1e-4)
det_scenes = cl.data.make_scenes(1, size=64, objects=(3, 5), classes=CLASSES, seed=11)
probs, _ = score_maps(converted, det_scenes.images)
print("score map:", probs.shape, "- windows whose best class has p > 0.5:",
      f"{np.mean(probs[0].max(axis=0) > 0.5):.0%}")  # fmt: skip
if not cl.is_grading():
    cl.claim("nearly every window gets a confident class", np.mean(probs[0].max(axis=0) > 0.5),
             low=0.9)  # fmt: skip

# %% [markdown]
# The conversion is exact (the difference is float32 rounding), and one pass gives a
# probability for every window. But the map is useless as it stands: the network was only ever
# shown windows that contain exactly one whole object, so it has no way to say "nothing here" -
# its probabilities always sum to 1 over the four shapes, and nearly every window gets a
# confident class. Sliding does not teach a classifier about windows it has never seen.
#
# **Training a detector.** We train the same architecture again, with two changes that make its
# windows answerable. (1) A fifth class, *background*. (2) A rule that says which window is
# responsible for which object: a window is labelled with an object when the object's box
# centre is within 4 pixels (horizontally and vertically) of the window's centre, and background
# otherwise - including windows that show only part of an object or an object off to the side.
# The training examples are 32x32 windows cut from padded 64x64 scenes with several objects,
# half at random positions and half near an object (otherwise almost all would be background).
# The box target of a positive window is its object's box in window coordinates; background
# windows get no box loss (your `localization_loss` with `background=4`). The detector does not
# start from random weights but from the localizer's (only its fifth class score, background, is
# new): its filters already respond to the four shapes and its box head already reads boxes, so
# two epochs teach it the background class and the centre rule. Section 5 comes back to this way
# of reusing a trained network.


# %%
BACKGROUND = K  # label 4


def cut_windows(scenes, per_scene, rng, radius=4, pad=S // 2):
    """32x32 training windows from padded scenes, labelled by the centre rule."""
    images = np.pad(scenes.images, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    size = scenes.images.shape[-1]
    X, y, boxes = [], [], []
    for n in range(len(images)):
        obj_boxes = scenes.boxes[n] + pad
        centres = (obj_boxes[:, :2] + obj_boxes[:, 2:]) / 2
        for t in range(per_scene):
            if t % 2:  # near a random object of the scene
                near = centres[rng.integers(len(centres))] + rng.uniform(-6, 6, 2) - S / 2
                x0, y0 = np.clip(np.round(near), 0, size).astype(int)
            else:
                x0, y0 = rng.integers(0, size + 1, 2)
            X.append(images[n, :, y0 : y0 + S, x0 : x0 + S])
            dist = np.abs(centres - [x0 + S / 2, y0 + S / 2]).max(axis=1)
            j = int(np.argmin(dist))
            y.append(scenes.labels[n][j] if dist[j] <= radius else BACKGROUND)
            boxes.append(obj_boxes[j] - [x0, y0, x0, y0])
    return np.stack(X), np.array(y), np.array(boxes, dtype=np.float32)


n_scenes = 100
det_train = cl.data.make_scenes(n_scenes, size=64, objects=(3, 5), classes=CLASSES, seed=20)
X_win, y_win, box_win = cut_windows(det_train, 20, np.random.default_rng(0))
print(f"{len(X_win)} windows, {np.mean(y_win != BACKGROUND):.0%} with an object")
detector = TwoHeads(K + 1, seed=0)
for name, value in localizer.params.items():  # start from the localizer's weights
    detector.params[name][..., : value.shape[-1]] = value  # the class head: 4 of its 5 outputs
t0 = time.perf_counter()
epochs = 2
losses = train_two_heads(
    detector, X_win, y_win, box_win, epochs=epochs, batch_size=32, background=BACKGROUND
)
print(f"{epochs} epochs in {time.perf_counter() - t0:.1f} s; loss per epoch {np.round(losses, 2)}")
converted = convert(detector)
probs, box_maps = score_maps(converted, det_scenes.images)
object_prob = 1 - probs[0, BACKGROUND]
print(f"windows with p(object) > 0.5: {np.mean(object_prob > 0.5):.0%} "
      f"({int((object_prob > 0.5).sum())} of {object_prob.size}); "
      f"objects in the scene: {len(det_scenes.labels[0])}")  # fmt: skip

# %% [markdown]
# The score map of the detector on the same scene: one pass of the converted network gives
# all 17 x 17 windows. Each cell of the map is drawn at the centre of its window; the scene is
# shown in the same coordinates.

# %%
grid_centres = np.arange(probs.shape[-1]) * 4  # window (i, j) is centred on pixel (4i, 4j)
fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
axes[0].imshow(det_scenes.images[0, 0], cmap="gray", vmin=0, vmax=1)
draw_boxes(axes[0], det_scenes.boxes[0], det_scenes.labels[0])
axes[0].set_title("scene with its true boxes", fontsize=10)
extent = (-2, grid_centres[-1] + 2, grid_centres[-1] + 2, -2)
im = axes[1].imshow(object_prob, cmap="viridis", vmin=0, vmax=1, extent=extent)
axes[1].set_title("p(object) of every window", fontsize=10)
fig.colorbar(im, ax=axes[1], fraction=0.046)
best = probs[0, :K].argmax(axis=0)
axes[2].imshow(np.ma.masked_where(object_prob < 0.5, best), cmap=CLASS_CMAP, vmin=-0.5,
               vmax=K - 0.5, extent=extent)  # fmt: skip
axes[2].set_title("best class where p(object) > 0.5\n(colours as the boxes)", fontsize=10)
for ax in axes:
    ax.set_xlim(-2, 65)
    ax.set_ylim(65, -2)
    ax.set_xlabel("x (pixels)")
axes[0].set_ylabel("y (pixels)")
fig.suptitle("The converted detector on a 64x64 scene, in one forward pass")
fig.subplots_adjust(top=0.8, wspace=0.4)  # a fixed layout: cheaper than a layout engine
plt.show()

# %% [markdown]
# The windows centred near an object light up, and in a small cluster of neighbouring cells:
# up to 3 x 3 window centres lie within 4 pixels of an object's centre. Every such window
# predicts its own box. Turning the map into a list of detections is bookkeeping: each window
# whose best object class has a probability above a small threshold gives one box (its box
# head's output, moved by the window's position), with that class and probability as score.


# %%
def detections_from_maps(probs, box_maps, min_score=0.05, stride=4, pad=S // 2):
    """Boxes (D, 4) in scene pixels, scores (D,), labels (D,) of one image's maps."""
    h, w = probs.shape[1:]
    rows, cols = np.mgrid[0:h, 0:w]
    offsets = np.stack([cols, rows, cols, rows], axis=-1) * stride - pad  # window's top-left
    boxes = from_target(box_maps.transpose(1, 2, 0)) + offsets
    scores, labels = probs[:K].max(axis=0), probs[:K].argmax(axis=0)
    keep = scores > min_score
    return boxes[keep], scores[keep], labels[keep]


raw_boxes, raw_scores, raw_labels = detections_from_maps(probs[0], box_maps[0])
print(f"{len(raw_boxes)} raw detections with score > 0.05 for "
      f"{len(det_scenes.labels[0])} objects; {int((raw_scores > 0.5).sum())} with score > 0.5")  # fmt: skip

# %% [markdown]
# Several boxes per object: the detector fires for each window near an object, as the map
# showed. **Non-maximum suppression** (NMS) keeps the best box of each cluster. Greedy NMS:
# sort the boxes by score; take the best remaining box and keep it; remove every remaining box
# *of the same class* whose IoU with it is **greater than** the threshold; repeat until no box
# is left. Boxes of different classes never suppress each other here (per-class NMS: a circle
# inside a ring's box is not a duplicate of the ring). Two boxes whose IoU equals the threshold
# both stay.
#
# **Worked example.** Boxes `A (0, 0, 10, 10)` score 0.9, `B (1, 0, 11, 10)` score 0.8,
# `C (20, 20, 30, 30)` score 0.7, all of one class, threshold 0.5: A is kept; B overlaps A with
# IoU 90/110 = 0.82 > 0.5 and goes; C does not overlap A and stays. Result: `[0, 2]` (indices
# into the input, best first).
#
# ### Exercise 5: `nms` (2 points)
#
# Return the indices of the kept boxes, highest score first (ties keep input order), as an int
# array. Use your `iou`. Do not change the inputs.
#
# <details><summary>Hint 1</summary>
#
# Visit the boxes from the best score down. A box that is still in the running when its turn comes
# is kept, and it knocks out every later box of the same class that overlaps it too much. A boolean
# array "still in the running", one entry per box, is easier to get right than deleting from a
# list while looping over it.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# `np.argsort(-scores, kind="stable")` gives the order, best first, ties in input order. Compare
# labels before suppressing, and use `>` against the threshold.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "nms", "locked": false, "schema_version": 3, "solution": true, "task": false}
def nms(boxes, scores, labels, iou_threshold=0.5):
    """Greedy per-class non-maximum suppression.

    Parameters
    ----------
    boxes : ndarray, shape (D, 4)
        Boxes as corners (x0, y0, x1, y1).
    scores : ndarray, shape (D,)
        Scores; higher is better.
    labels : ndarray of int, shape (D,)
        Class of each box; only boxes of the same class suppress each other.
    iou_threshold : float, default 0.5
        A box is removed when its IoU with a kept box of its class is greater than this.

    Returns
    -------
    keep : ndarray of int, shape (D_kept,)
        Indices into ``boxes`` of the kept boxes, by decreasing score (ties in input order).
        The inputs are not changed.
    """
    ### BEGIN SOLUTION
    boxes = np.asarray(boxes, dtype=np.float64)
    scores = np.asarray(scores)
    labels = np.asarray(labels)
    order = np.argsort(-scores, kind="stable")
    overlaps = iou(boxes, boxes)
    alive = np.ones(len(boxes), dtype=bool)
    keep = []
    for i in order:
        if not alive[i]:
            continue
        keep.append(int(i))
        alive &= ~((overlaps[i] > iou_threshold) & (labels == labels[i]))
    return np.array(keep, dtype=np.int64)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_nms", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T


def iou_by_counting(boxes_a, boxes_b, grid=40):
    """IoU of integer boxes by counting pixels (used in place of your iou while nms is tested,
    so that a mistake in Exercise 1 costs Exercise 1 only)."""
    centres = np.arange(grid) + 0.5
    cover = lambda b: (((centres >= b[:, 1:2]) & (centres < b[:, 3:4]))[:, :, None]
                       & ((centres >= b[:, 0:1]) & (centres < b[:, 2:3]))[:, None, :])  # fmt: skip
    ca = cover(np.asarray(boxes_a)).reshape(len(boxes_a), grid * grid).astype(float)
    cb = cover(np.asarray(boxes_b)).reshape(len(boxes_b), grid * grid).astype(float)
    inter = ca @ cb.T
    union = ca.sum(1)[:, None] + cb.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


# The worked example, given in scrambled order: C, A, B.
boxes = np.array([[20, 20, 30, 30], [0, 0, 10, 10], [1, 0, 11, 10]], dtype=float)
scores = np.array([0.7, 0.9, 0.8])
labels = np.array([0, 0, 0])
args = (boxes.copy(), scores.copy(), labels.copy())
# T.in_place(*args): checked after the call, so the grader hands back what the call did to them
with T.reference_helpers(iou=iou_by_counting), T.in_place(*args):
    keep = nms(*args, iou_threshold=0.5)
T.assert_equal(np.asarray(keep).tolist(), [1, 0], name="nms of the worked example (C, A, B)",
               hint="keep the best box, drop its same-class boxes with IoU > threshold, repeat",
               mistakes=[
                   ("the result is in input order: go through the boxes by decreasing score "
                    "(keep the best first) and list the kept indices best first", [0, 1]),
               ])  # fmt: skip
for name, before, after in zip(("boxes", "scores", "labels"), (boxes, scores, labels), args):
    T.assert_allclose(after, before, name=f"{name} after nms",
                      hint="do not change the inputs (sort a copy, or sort indices)")  # fmt: skip
# Per class: B is now a triangle (class 1) and survives although it overlaps A.
with T.reference_helpers(iou=iou_by_counting):
    keep = nms(boxes, scores, np.array([0, 0, 1]), iou_threshold=0.5)
T.assert_equal(np.asarray(keep).tolist(), [1, 2, 0], name="nms with labels [0, 0, 1]",
               hint="boxes of different classes never suppress each other",
               mistakes=[("a box of another class was suppressed: NMS here works per class",
                          [1, 0])])  # fmt: skip
# Exactly at the threshold: IoU(A, D) = 50 / 100 = 0.5 for D = (0, 0, 5, 10); both stay.
boxes_t = np.array([[0, 0, 10, 10], [0, 0, 5, 10]], dtype=float)
with T.reference_helpers(iou=iou_by_counting):
    keep = nms(boxes_t, np.array([0.9, 0.8]), np.array([2, 2]), iou_threshold=0.5)
T.assert_equal(np.asarray(keep).tolist(), [0, 1], name="nms of two boxes with IoU exactly 0.5",
               hint="suppress only when IoU > threshold",
               mistakes=[("IoU = threshold suppressed the box: remove only boxes with IoU "
                          "GREATER than the threshold", [0])])  # fmt: skip
### BEGIN HIDDEN TESTS


def _nms_reference(boxes, scores, labels, thr):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    ov = iou_by_counting(boxes, boxes)
    keep = []
    for i in order:
        if all(not (labels[j] == labels[i] and ov[i, j] > thr) for j in keep):
            keep.append(i)
    return keep


rng = np.random.default_rng(9)
for n, thr, n_classes in [(40, 0.5, 1), (60, 0.3, 3), (25, 0.7, 2)]:
    centre = rng.integers(5, 35, size=(n, 2))
    half = rng.integers(2, 6, size=(n, 2))
    boxes = np.concatenate([centre - half, centre + half], axis=1).astype(float)
    scores = rng.permutation(n) / n + 0.01
    labels = rng.integers(0, n_classes, size=n)
    expected = _nms_reference(boxes, scores, labels, thr)
    args = (boxes.copy(), scores.copy(), labels.copy())
    with T.reference_helpers(iou=iou_by_counting), T.in_place(*args):
        keep = nms(*args, iou_threshold=thr)
    name = f"nms of {n} random boxes, {n_classes} classes, threshold {thr}"
    agnostic = _nms_reference(boxes, scores, np.zeros(n, dtype=int), thr)
    T.assert_equal(np.asarray(keep).tolist(), expected, name=name,
                   mistakes=[("boxes of different classes suppressed each other",
                              agnostic)] if n_classes > 1 else [])  # fmt: skip
    T.assert_allclose(args[0], boxes, name=name + ": boxes after the call")
    T.assert_allclose(args[1], scores, name=name + ": scores after the call")
T.assert_true(np.issubdtype(np.asarray(keep).dtype, np.integer),
              f"nms should return integer indices, got dtype {np.asarray(keep).dtype}")  # fmt: skip
with T.reference_helpers(iou=iou_by_counting):
    keep = nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=int))
T.assert_equal(len(keep), 0, name="nms of no boxes: number kept")
# equal scores keep their input order
ties = np.array([[0, 0, 4, 4], [10, 0, 14, 4], [20, 0, 24, 4], [30, 0, 34, 4]], dtype=float)
with T.reference_helpers(iou=iou_by_counting):
    keep = nms(ties, np.array([0.5, 0.9, 0.5, 0.5]), np.zeros(4, dtype=int))
T.assert_equal(np.asarray(keep).tolist(), [1, 0, 2, 3],
               name="nms of four separate boxes with scores [0.5, 0.9, 0.5, 0.5]",
               hint="boxes with equal scores keep their input order",
               mistakes=[("equal scores came out in reverse input order: reversing an ascending "
                          "sort reverses the ties too; sort -scores with a stable sort",
                          [1, 3, 2, 0])])  # fmt: skip
### END HIDDEN TESTS

# %% [markdown]
# NMS on the raw detections of our scene; the threshold 0.3 is low because our objects never
# overlap, so two boxes of one class that overlap by 0.3 are almost surely the same object.

# %%
keep = nms(raw_boxes, raw_scores, raw_labels, iou_threshold=0.3)
fig, axes = plt.subplots(1, 2, figsize=(9, 4.6))
for ax, idx, title in [(axes[0], np.flatnonzero(raw_scores > 0.5), "before NMS (score > 0.5)"),
                       (axes[1], keep[raw_scores[keep] > 0.5], "after NMS (score > 0.5)")]:  # fmt: skip
    ax.imshow(det_scenes.images[0, 0], cmap="gray", vmin=0, vmax=1)
    draw_boxes(ax, raw_boxes[idx], raw_labels[idx], scores=raw_scores[idx])
    ax.set_title(f"{title}: {len(idx)} boxes", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle(f"Detections on the scene of {len(det_scenes.labels[0])} objects")
fig.subplots_adjust(top=0.86, wspace=0.08)  # a fixed layout: cheaper than a layout engine
plt.show()
print(f"{int((raw_scores > 0.5).sum())} boxes with score > 0.5 before NMS, "
      f"{int((raw_scores[keep] > 0.5).sum())} after")  # fmt: skip
confident = keep[raw_scores[keep] > 0.5]
found_here = iou(raw_boxes[confident], det_scenes.boxes[0]) >= 0.5  # (kept box, object)
right_class = raw_labels[confident][:, None] == det_scenes.labels[0][None, :]
if not cl.is_grading():
    cl.claim("after NMS: one confident box per object, of its class, at IoU 0.5 or more",
             ((found_here & right_class).sum(axis=0).tolist(), len(confident)),
             equals=([1] * len(det_scenes.labels[0]), len(det_scenes.labels[0])))  # fmt: skip

# %% [markdown]
# Of the cluster of boxes around each object, NMS keeps one: here every object is left with
# exactly one confident box, of its own class.
#
# **Evaluating a detector.** A detector returns a ranked list of boxes, and a ground-truth
# object is *found* by a detection of its class whose IoU with it is at least 0.5. Going down
# the list by decreasing score, each detection is either a **true positive** (TP: it matches a
# ground-truth box of its image that no higher-scored detection has matched yet) or a **false
# positive** (FP: it matches nothing, or only a box already taken - a *duplicate*). After the
# first `k` detections,
#
# - **precision** = TP so far / `k`: which fraction of what we reported is right;
# - **recall** = TP so far / (number of ground-truth boxes): which fraction of the objects we
#   found. The denominator is the number of *objects*, however many detections there are.
#
# Lowering the score threshold walks along the list: recall can only grow, precision zigzags.
# The **precision-recall curve** shows the trade-off, and **average precision** (AP)
# summarises it as one number, the area under the curve, with one rule that makes it well
# defined. We use the rule of PASCAL VOC since 2010 (also COCO's, on a grid): *all-point
# interpolation*. The precision at recall `r` is replaced by the best precision at any recall
# `>= r`, which makes the curve a staircase that never rises to the right, and AP is the area
# under that staircase: with `r_0 = 0`,
#
# $$\mathrm{AP} = \sum_k (r_k - r_{k-1}) \cdot \max_{j \ge k} p_j .$$
#
# Only the steps where recall grows (true positives) add area. Matching rule (VOC): a detection
# is compared with the ground-truth boxes of *its own image*; it takes the one with the highest
# IoU; if that IoU is at least the threshold and that box is still free, it is a TP and the box
# is taken; otherwise it is an FP.
#
# **Worked example** (one class, one image, 2 objects `g0`, `g1`). Detections by decreasing
# score: FP, TP (g0), TP (g1). Precision `[0, 1/2, 2/3]`, recall `[0, 1/2, 1]`. Interpolated:
# the step to recall 1/2 gets `max(1/2, 2/3) = 2/3`, the step to 1 gets 2/3: AP = 2/3. (Without
# interpolation it would be `1/2 * 1/2 + 1/2 * 2/3 = 0.583`.)
#
# ### Exercise 6: `average_precision` (2 points)
#
# For the detections of one class over several images (`image_ids` says which image each box
# belongs to) and the ground truth of that class, return AP at the given IoU threshold, and the
# precision and recall after each detection, in order of decreasing score (ties in input
# order). Use your `iou`. No detections: AP 0 and empty arrays. At least one ground-truth box
# is required (`ValueError` otherwise).
#
# <details><summary>Hint 1</summary>
#
# Sort the detections once, best first, then walk through them in that order; keep one boolean
# "taken" per ground-truth box. A detection is compared with the ground-truth boxes of its own
# image only: the one it overlaps most is its match if the IoU reaches the threshold and that box
# is not taken yet; otherwise the detection is a false positive. Precision and recall after each
# detection then follow from the running count of true positives.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# `np.cumsum` of the TP flags gives the TP count after each detection.
# `np.maximum.accumulate` on the reversed precision array (then reversed back) gives the best
# precision at this or any later position, and AP sums those over the steps in recall.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "average_precision", "locked": false, "schema_version": 3, "solution": true, "task": false}
def average_precision(boxes, scores, image_ids, gt_boxes, gt_image_ids, iou_threshold=0.5):
    """Average precision of one class's detections (all-point interpolation, VOC matching).

    Parameters
    ----------
    boxes : ndarray, shape (D, 4)
        Detected boxes (x0, y0, x1, y1).
    scores : ndarray, shape (D,)
        Their scores.
    image_ids : ndarray of int, shape (D,)
        The image each detection belongs to.
    gt_boxes : ndarray, shape (G, 4)
        Ground-truth boxes of this class, G >= 1.
    gt_image_ids : ndarray of int, shape (G,)
        The image each ground-truth box belongs to.
    iou_threshold : float, default 0.5
        A detection matches a ground-truth box when their IoU is at least this.

    Returns
    -------
    ap : float
        ``sum_k (r_k - r_{k-1}) * max_{j >= k} p_j`` with r_0 = 0.
    precision : ndarray, shape (D,)
        TP count / number of detections so far, in order of decreasing score.
    recall : ndarray, shape (D,)
        TP count / G, in the same order.

    Raises
    ------
    ValueError
        If there is no ground-truth box.
    """
    ### BEGIN SOLUTION
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    gt_boxes = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    image_ids, gt_image_ids = np.asarray(image_ids), np.asarray(gt_image_ids)
    if len(gt_boxes) == 0:
        raise ValueError("average_precision needs at least one ground-truth box, got G = 0")
    order = np.argsort(-np.asarray(scores), kind="stable")
    taken = np.zeros(len(gt_boxes), dtype=bool)
    tp = np.zeros(len(order))
    for rank, i in enumerate(order):
        candidates = np.flatnonzero(gt_image_ids == image_ids[i])
        if candidates.size == 0:
            continue
        overlaps = iou(boxes[i : i + 1], gt_boxes[candidates])[0]
        best = candidates[np.argmax(overlaps)]
        if overlaps.max() >= iou_threshold and not taken[best]:
            taken[best] = True
            tp[rank] = 1
    hits = np.cumsum(tp)
    precision = hits / np.arange(1, len(order) + 1)
    recall = hits / len(gt_boxes)
    best_after = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(steps * best_after)), precision, recall
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_average_precision", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T


def iou_by_counting(boxes_a, boxes_b, grid=60):
    """IoU of integer boxes by counting pixels (used in place of your iou while
    average_precision is tested, so that a mistake in Exercise 1 costs Exercise 1 only)."""
    centres = np.arange(grid) + 0.5
    cover = lambda b: (((centres >= b[:, 1:2]) & (centres < b[:, 3:4]))[:, :, None]
                       & ((centres >= b[:, 0:1]) & (centres < b[:, 2:3]))[:, None, :])  # fmt: skip
    ca = cover(np.asarray(boxes_a)).reshape(len(boxes_a), grid * grid).astype(float)
    cb = cover(np.asarray(boxes_b)).reshape(len(boxes_b), grid * grid).astype(float)
    inter = ca @ cb.T
    union = ca.sum(1)[:, None] + cb.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


# The worked example: one image, objects g0 and g1; detections FP, TP, TP by score.
gt = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], dtype=float)
dets = np.array([[40, 40, 50, 50], [0, 0, 10, 10], [20, 21, 30, 31]], dtype=float)
with T.reference_helpers(iou=iou_by_counting):
    ap, precision, recall = average_precision(dets, np.array([0.9, 0.8, 0.7]), np.zeros(3, int),
                                              gt, np.zeros(2, int))  # fmt: skip
T.assert_allclose(precision, [0.0, 1 / 2, 2 / 3], name="precision of the worked example")
T.assert_allclose(recall, [0.0, 1 / 2, 1.0], name="recall of the worked example",
                  hint="recall = TP so far / number of ground-truth boxes",
                  mistakes=[("recall was divided by the number of detections (3); divide by "
                             "the number of ground-truth boxes (2)", [0.0, 1 / 3, 2 / 3])])  # fmt: skip
T.assert_allclose([ap], [2 / 3], name="AP of the worked example",
                  hint="AP = sum_k (r_k - r_{k-1}) * max_{j >= k} p_j",
                  mistakes=[("no interpolation: the precision of each step must be the best "
                             "precision at this OR ANY LATER position",
                             [1 / 2 * 1 / 2 + 1 / 2 * 2 / 3])])  # fmt: skip
# Two images. Image 0: g0, g1; image 1: g2, g3 (g3 is never found). Detections in scrambled
# order: A (image 1, on g2), B (image 0, on nothing), C (on g0), D (a duplicate of g0),
# F (on g1). By score: B FP, C TP, D FP (duplicate), A TP, F TP.
gt = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 10], [20, 0, 30, 10]], dtype=float)
gt_img = np.array([0, 0, 1, 1])
dets = np.array([[1, 0, 11, 10], [40, 40, 50, 50], [0, 0, 10, 10], [0, 1, 10, 11],
                 [20, 20, 30, 30]], dtype=float)  # fmt: skip
scores = np.array([0.6, 0.9, 0.8, 0.7, 0.5])
img = np.array([1, 0, 0, 0, 0])
args = (dets.copy(), scores.copy(), img.copy(), gt.copy(), gt_img.copy())
with T.reference_helpers(iou=iou_by_counting):
    ap, precision, recall = average_precision(*args)
T.assert_allclose(recall, [0.0, 0.25, 0.25, 0.5, 0.75], name="recall, 5 detections, 4 objects",
                  hint="recall = TP so far / G (the number of ground-truth boxes, 4)",
                  mistakes=[
                      ("recall was divided by the number of detections (5); divide by the "
                       "number of ground-truth boxes (4)", [0.0, 0.2, 0.2, 0.4, 0.6]),
                      ("the duplicate D of g0 was counted as a true positive: a ground-truth "
                       "box can be matched once, later matches are false positives",
                       [0.0, 0.25, 0.5, 0.75, 1.0]),
                      ("the detections were not sorted by decreasing score",
                       [0.25, 0.25, 0.5, 0.5, 0.75]),
                  ])  # fmt: skip
T.assert_allclose(precision, [0.0, 1 / 2, 1 / 3, 1 / 2, 3 / 5], name="precision, 5 detections",
                  hint="precision = TP so far / detections so far, by decreasing score")  # fmt: skip
T.assert_allclose([ap], [0.45], name="AP, 5 detections, 4 objects",
                  hint="AP = sum over the recall steps of the step times the best precision at "
                       "this or any later position", mistakes=[
                      ("no interpolation: use the best precision at this or any later position "
                       "for each step", [0.25 * 0.5 + 0.25 * 0.5 + 0.25 * 0.6]),
                  ])  # fmt: skip
### BEGIN HIDDEN TESTS


def _ap_reference(boxes, scores, image_ids, gt_boxes, gt_image_ids, thr):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    taken = [False] * len(gt_boxes)
    tp = []
    for i in order:
        best, best_iou = None, -1.0
        for j in range(len(gt_boxes)):
            if gt_image_ids[j] == image_ids[i]:
                v = iou_by_counting(boxes[i : i + 1], gt_boxes[j : j + 1])[0, 0]
                if v > best_iou:
                    best, best_iou = j, v
        hit = best is not None and best_iou >= thr and not taken[best]
        if hit:
            taken[best] = True
        tp.append(1.0 if hit else 0.0)
    hits = np.cumsum(tp)
    p = hits / np.arange(1, len(tp) + 1)
    r = hits / len(gt_boxes)
    ap = sum((r[k] - (r[k - 1] if k else 0.0)) * max(p[k:]) for k in range(len(tp)))
    return ap, p, r


rng = np.random.default_rng(3)
n_img = 6
gt, gt_img = [], []
for m in range(n_img):
    for q in range(rng.integers(1, 4)):  # up to 3 objects in separate 20x20 cells
        x0, y0 = 20 * q + rng.integers(0, 6), rng.integers(0, 30)
        gt.append([x0, y0, x0 + rng.integers(6, 13), y0 + rng.integers(6, 13)])
        gt_img.append(m)
gt, gt_img = np.array(gt, dtype=float), np.array(gt_img)
jitter = rng.integers(-3, 4, size=(3 * len(gt), 4))
dets = np.concatenate([gt, gt, gt])[: len(jitter)] + jitter  # found, duplicates, misses
dets[:, 2:] = np.maximum(dets[:, 2:], dets[:, :2] + 1)
det_img = np.concatenate([gt_img, gt_img, rng.integers(0, n_img, len(gt))])
scores = rng.random(len(dets))
for thr in (0.5, 0.3):
    ref_ap, ref_p, ref_r = _ap_reference(dets, scores, det_img, gt, gt_img, thr)
    with T.reference_helpers(iou=iou_by_counting):
        ap, precision, recall = average_precision(dets.copy(), scores.copy(), det_img.copy(),
                                                  gt.copy(), gt_img.copy(), iou_threshold=thr)  # fmt: skip
    name = f"average_precision of {len(dets)} detections on {n_img} images, IoU >= {thr}"
    T.assert_allclose(recall, ref_r, name=name + ": recall")
    T.assert_allclose(precision, ref_p, name=name + ": precision")
    T.assert_allclose([ap], [ref_ap], name=name + ": AP")
# a detection in another image must not match: g0 is in image 0, the detection in image 1
with T.reference_helpers(iou=iou_by_counting):
    ap, precision, _ = average_precision(np.array([[0, 0, 10, 10.0]]), np.array([0.9]),
                                         np.array([1]), np.array([[0, 0, 10, 10.0]]),
                                         np.array([0]))  # fmt: skip
T.assert_allclose(precision, [0.0], name="a detection in image 1 against an object in image 0",
                  hint="compare a detection only with the ground-truth boxes of its own image")  # fmt: skip
# IoU exactly 0.5 counts (>=)
with T.reference_helpers(iou=iou_by_counting):
    ap, _, _ = average_precision(np.array([[0, 0, 5, 10.0]]), np.array([0.9]), np.array([0]),
                                 np.array([[0, 0, 10, 10.0]]), np.array([0]))  # fmt: skip
T.assert_allclose([ap], [1.0], name="AP of one detection with IoU exactly 0.5",
                  hint="a match needs IoU >= threshold (at least, not more than)")  # fmt: skip
with T.reference_helpers(iou=iou_by_counting):
    ap, precision, recall = average_precision(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int),
                                              np.array([[0, 0, 10, 10.0]]), np.array([0]))  # fmt: skip
T.assert_allclose([ap], [0.0], name="AP with no detections")
T.assert_shape(precision, (0,), name="precision with no detections")
with T.raises(ValueError, hint="no ground-truth box: raise ValueError"):
    with T.reference_helpers(iou=iou_by_counting):
        average_precision(np.array([[0, 0, 1, 1.0]]), np.array([0.5]), np.array([0]),
                          np.zeros((0, 4)), np.zeros(0, int))  # fmt: skip
# equal scores keep their input order: the miss, listed first, counts first
with T.reference_helpers(iou=iou_by_counting):
    ap, precision, recall = average_precision(
        np.array([[20, 20, 30, 30], [0, 0, 10, 10.0]]), np.array([0.5, 0.5]), np.array([0, 0]),
        np.array([[0, 0, 10, 10.0]]), np.array([0]))  # fmt: skip
T.assert_allclose(precision, [0.0, 0.5],
                  name="precision of a miss and a hit with equal scores, in that order",
                  hint="detections with equal scores keep their input order",
                  mistakes=[("equal scores came out in reverse input order: reversing an "
                             "ascending sort reverses the ties too; sort -scores with a stable "
                             "sort", [1.0, 0.5])])  # fmt: skip
### END HIDDEN TESTS

# %% [markdown]
# **The detector on test scenes.** We run the converted detector on 40 new 64x64 scenes (about
# 160 objects), apply NMS per image, and compute AP per class at IoU 0.5; their mean over the
# classes is the **mAP**, the number detection papers report (VOC's metric; COCO averages it
# further over IoU thresholds from 0.5 to 0.95).

# %%
n_eval = 25 if cl.is_grading() else 40
eval_scenes = cl.data.make_scenes(n_eval, size=64, objects=(3, 5), classes=CLASSES, seed=30)
all_probs, all_box_maps = score_maps(converted, eval_scenes.images)
found = {"boxes": [], "scores": [], "labels": [], "image": []}
for n in range(n_eval):
    b, s, lab = detections_from_maps(all_probs[n], all_box_maps[n])
    kept = nms(b, s, lab, iou_threshold=0.3)
    for key, value in zip(("boxes", "scores", "labels", "image"), (b, s, lab, np.full(len(b), n))):
        found[key].append(value[kept])
found = {key: np.concatenate(value) for key, value in found.items()}
gt_boxes = np.concatenate(eval_scenes.boxes)
gt_labels = np.concatenate(eval_scenes.labels)
gt_image = np.repeat(np.arange(n_eval), [len(lab) for lab in eval_scenes.labels])
curves, aps = {}, []
for k in range(K):
    mine = found["labels"] == k
    ap, precision, recall = average_precision(found["boxes"][mine], found["scores"][mine],
                                              found["image"][mine], gt_boxes[gt_labels == k],
                                              gt_image[gt_labels == k], iou_threshold=0.5)  # fmt: skip
    curves[CLASSES[k]] = (precision, recall)
    aps.append(ap)
    print(f"{CLASSES[k]:>8}: AP {ap:.2f}, {int(mine.sum())} detections, "
          f"{int((gt_labels == k).sum())} objects, final recall {recall[-1]:.2f}")  # fmt: skip
mean_ap = float(np.mean(aps))
print(f"mAP at IoU 0.5: {mean_ap:.2f}")
two_classes = 0  # objects with confident boxes (score > 0.5, IoU >= 0.5) of two classes
for n in range(n_eval):
    mine = (found["image"] == n) & (found["scores"] > 0.5)
    hits = iou(found["boxes"][mine], eval_scenes.boxes[n]) >= 0.5  # (detection, object)
    two_classes += sum(len(set(found["labels"][mine][hit])) > 1 for hit in hits.T)
print(f"objects with confident boxes of two classes after NMS: {two_classes} of {len(gt_boxes)}")
fig, ax = plt.subplots(figsize=(5.5, 4.2))
for (name, (precision, recall)), k in zip(curves.items(), range(K)):
    ax.plot(recall, precision, color=COLORS[k], label=f"{name} (AP {aps[k]:.2f})")
ax.set_xlabel("recall")
ax.set_ylabel("precision")
ax.set_xlim(0, 1.02)
ax.set_ylim(0, 1.05)
ax.legend(fontsize=8, loc="lower left")
ax.set_title(f"Precision-recall at IoU 0.5, {n_eval} test scenes (mAP {mean_ap:.2f})")
plt.show()
if not cl.is_grading():
    cl.claim("about 160 objects", len(gt_boxes), low=140, high=180)
    cl.claim("mAP of about 0.85", mean_ap, low=0.78, high=0.92)
    cl.claim("crosses and rings are the easiest", sorted(np.argsort(aps)[2:].tolist()),
             equals=[2, 3])  # fmt: skip
    cl.claim("circles and triangles are the hardest", sorted(np.argsort(aps)[:2].tolist()),
             equals=[0, 1])  # fmt: skip
    cl.claim("every curve starts at precision 1", [c[0][0] for c in curves.values()],
             equals=[1.0] * K)  # fmt: skip
    cl.claim("circles and triangles end well below recall 1",
             max(curves["circle"][1][-1], curves["triangle"][1][-1]), high=0.92)  # fmt: skip
    cl.claim("objects with boxes of two classes: several", two_classes, low=4, high=25)

# %% [markdown]
# Read a curve from left to right, as the score threshold falls. Every curve starts at
# precision 1 (the most confident detections are right) and drops as false positives come in.
# Where a curve ends on the right is the recall the detector reaches at all. The detector built
# from networks trained for seconds reaches a mAP of about 0.85. The cross and the ring, the
# shapes with arms and with a hole, are the easiest classes; circles and triangles, small filled
# blobs at this size, are the hardest, and their curves end well below recall 1: some of these
# objects never get a box of their own class with IoU 0.5. Per-class NMS has a cost here too:
# when windows disagree about the class of an object, NMS keeps the best box of each class, and
# all but one of them are false positives. The printout counts the objects of the test scenes
# that still carry confident boxes of two classes after NMS: several of them.
#
# What we built is the sliding-window detector of OverFeat in miniature. Modern detectors keep
# its two heads and its fully convolutional pass, and improve the rest: several window sizes or
# *anchors* for objects of different scales (here all objects have about the same size), a
# feature pyramid, and learned rules for which window is responsible for which object (Faster
# R-CNN, YOLO, SSD). Their evaluation is exactly the one you wrote: NMS, then AP.

# %% [markdown]
# ## 4. Semantic segmentation: a label for every pixel
#
# The last panel of the figure in section 1 is the fourth task: for an image of H x W pixels
# the answer is an H x W map of class indices, 0 for the background and `k + 1` for class k
# (the `masks` that `make_scenes` returns with every scene).
#
# The detector of section 3 already turned a classifier into a map of scores. For segmentation
# that map is too coarse: every pooling layer halves the resolution, and our detector's map had
# one position per 4 x 4 pixels. A network that sees enough context to tell a circle from a
# ring has left only a few positions per side. The
# **fully convolutional network** (FCN) of [Long, Shelhamer and Darrell
# (2015)](https://arxiv.org/abs/1411.4038) solves this with two halves trained together:
#
# - an **encoder** (convolutions and pooling, as in every network so far) that shrinks the
#   feature maps while their receptive field grows, so that each position knows what shape it
#   sits in;
# - a **decoder** that brings the maps back up to the input size, ending in K score maps, one
#   per class: the scores (N, K, H, W) of K classes at every pixel.
#
# [U-Net (Ronneberger, Fischer and Brox, 2015)](https://arxiv.org/abs/1505.04597) adds skip
# connections that hand the encoder's fine maps to the decoder; we keep the plain version. The
# CS231n lecture on detection and segmentation (in the reading list above) compares the designs.
#
# **Going up: the transposed convolution.** The decoder could repeat every pixel
# (nearest-neighbour upsampling, no parameters) or interpolate, but FCN *learns* its upsampling
# with a **transposed convolution**, and you have met it already. In notebook 02 (section 5) you
# wrote the backward pass of a convolution: every value of `dout` stamps a copy of the kernel,
# scaled by that value, onto the input gradient, the stamps `stride` pixels apart, adding up where
# they overlap; then the padding is cropped. A transposed convolution is that same computation
# used as a forward layer:
#
# - each input pixel `x[n, c, i, j]` stamps `x[n, c, i, j] * w[c]` (a block of shape
#   (C_out, KH, KW)) onto an output canvas, at row `i * stride` and column `j * stride`;
# - overlapping stamps add up, and the bias `b[c_out]` is added to every output pixel;
# - `pad` rows and columns are **cropped** from every side of the canvas. In a convolution
#   `pad` adds zeros around the input; here, as in the backward pass it comes from, it removes
#   the border of the output.
#
# So a map of H rows becomes one of $OH = (H - 1)\,\text{stride} - 2\,\text{pad} + KH$ rows (the
# canvas has $(H - 1)\,\text{stride} + KH$ rows before the crop). The weights have the layout
# (C_in, C_out, KH, KW), the one of PyTorch's `ConvTranspose2d`: it is the weight array
# (F, C, KH, KW) of the convolution whose backward pass this is, whose F output channels are our
# inputs. The name says why: write a convolution as a matrix product `y = A x`; its input
# gradient is `A^T dout`, and the transposed convolution computes `A^T x` with the same
# weights, the connection pattern of the convolution run from the small map to the large one.
# (It is sometimes called "deconvolution", which it is not: it does not undo a convolution.)
# [Dumoulin and Visin (2016)](https://arxiv.org/abs/1603.07285) draw every case.
#
# The figure uses `cnnlab.layers.conv_transpose_forward` with all-ones inputs and kernels, so
# that every output pixel shows how many stamps landed on it.

# %%
ones_k3 = np.ones((1, 1, 3, 3))
spike = np.zeros((1, 1, 3, 3))
spike[0, 0, 1, 2] = 1.0
panels = [
    (spike, ones_k3, 2, 0, "one input pixel at (1, 2)\nkernel 3, stride 2: one stamp"),
    (np.ones((1, 1, 3, 3)), ones_k3, 2, 0, "3x3 input of ones\nkernel 3, stride 2, no crop"),
    (np.ones((1, 1, 4, 4)), np.ones((1, 1, 4, 4)), 2, 1, "4x4 input of ones\nkernel 4, stride 2, pad 1"),
]  # fmt: skip
fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
fig.subplots_adjust(top=0.76, wspace=0.25)  # a fixed layout: cheaper than a layout engine
stamps = []
for ax, (x_in, k_in, s, p, title) in zip(axes, panels):
    out, _ = cl.layers.conv_transpose_forward(x_in, k_in, np.zeros(1), stride=s, pad=p)
    stamps.append(out[0, 0])
    ax.imshow(out[0, 0], cmap="Blues", vmin=0, vmax=4)
    for (r, c), v in np.ndenumerate(out[0, 0]):
        ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=9)
    ax.set_title(f"{title}\n{x_in.shape[2]}x{x_in.shape[3]} -> {out.shape[2]}x{out.shape[3]}")
    ax.set_xlabel("output column")
    ax.set_ylabel("output row")
fig.suptitle("Transposed convolution: how many kernel stamps land on each output pixel")
plt.show()
one_stamp, checker, even = stamps
cl.claim("one pixel stamps the kernel at rows 2-4, columns 4-6",
         (one_stamp.sum(), one_stamp[2:5, 4:7].sum()), equals=(9.0, 9.0))  # fmt: skip
cl.claim("kernel 3, stride 2: 1, 2 and 4 stamps in a checkerboard",
         sorted(set(checker.ravel().tolist())), equals=[1.0, 2.0, 4.0])  # fmt: skip
cl.claim("kernel 4, stride 2, pad 1 doubles the size exactly", even.shape, equals=(8, 8))
cl.claim("kernel 4, stride 2, pad 1: 4 stamps on every interior pixel",
         sorted(set(even[1:-1, 1:-1].ravel().tolist())), equals=[4.0])  # fmt: skip

# %% [markdown]
# On the left, one input pixel stamps the whole 3x3 kernel onto rows 2-4 and columns 4-6 of
# the output (row `1 * 2`, column `2 * 2`). In the middle, with a 3x3 kernel and stride 2 the
# stamps overlap on every other row and column: the output pixels receive 1, 2 or 4 stamps in
# a checkerboard pattern, even though the input is perfectly flat. A network can learn to
# compensate, but such decoders often leave checkerboard artefacts in their outputs ([Odena,
# Dumoulin and Olah, 2016](https://distill.pub/2016/deconv-checkerboard/)). On the right, a
# kernel of 4 with stride 2 covers the canvas evenly (the kernel size is a multiple of the
# stride): every interior pixel gets exactly 4 stamps, and `pad=1` crops the canvas of 10 to
# exactly twice the input, 8 x 8. That is the layer our decoder will use.
#
# **Worked example.** `x = [[1, 2], [3, 4]]` (one channel), the kernel
# `w = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]`, `b = 0`, `stride=2`, `pad=1`. The four stamps go to
# rows and columns 0 and 2 of a 5 x 5 canvas and overlap on row 2 and column 2; the centre
# pixel (2, 2) receives `1*9 + 2*7 + 3*3 + 4*1 = 36` (the bottom-right weight of the first
# stamp, the bottom-left of the second, ...). The canvas is
#
# ```
#  1  2  5  4  6
#  4  5 14 10 12
# 10 14 36 24 30
# 12 15 34 20 24
# 21 24 55 32 36
# ```
#
# and cropping one pixel from every side leaves the 3 x 3 output
# `[[5, 14, 10], [14, 36, 24], [15, 34, 20]]`, as `(2 - 1) * 2 - 2 * 1 + 3 = 3` says.
#
# ### Exercise 7a: `conv_transpose_forward` (2 points)
#
# Return `(out, cache)` with `cache = (x, w, b, stride, pad)`, the contract of the layers of
# notebook 02. Write the transposed convolution with loops over the images and the input
# positions (NumPy may do the work of one stamp, over all channels at once). The test compares with
# `cnnlab.layers.conv_backward`, the input gradient of a convolution with the same weights;
# calling `cnnlab.layers` or `scipy.signal` from your function earns no points.
#
# <details><summary>Hint 1</summary>
#
# Build the uncropped canvas first, $(H - 1)\,\text{stride} + KH$ rows by
# $(W - 1)\,\text{stride} + KW$ columns for each image and output channel, then visit every
# input pixel of every image and add its stamp into the canvas with `+=` (stamps overlap). Crop
# and add the bias at the end.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# One stamp covers all output channels at once: `x[n, :, i, j]` holds C_in numbers and `w` is
# (C_in, C_out, KH, KW), so the stamp is their weighted sum over C_in, of shape (C_out, KH, KW)
# (`np.tensordot` with `axes=(0, 0)`, or a loop over the input channels). Crop `pad` from the start
# AND from the end of both spatial axes, then add the bias to every pixel of its output channel.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "conv_transpose_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_transpose_forward(x, w, b, *, stride=1, pad=0):
    """Transposed convolution (the input gradient of a convolution, used as a layer), with loops.

    Every input pixel x[n, c, i, j] adds x[n, c, i, j] * w[c] onto the output canvas at row
    i * stride, column j * stride; `pad` rows and columns are then cropped from every side.

    Parameters
    ----------
    x : ndarray, shape (N, C_in, H, W)
    w : ndarray, shape (C_in, C_out, KH, KW)
    b : ndarray, shape (C_out,)
    stride : int
        Distance between the stamps of neighbouring input pixels.
    pad : int
        Rows and columns cropped from each side of the canvas.

    Returns
    -------
    out : ndarray, shape (N, C_out, OH, OW)
        OH = stride (H - 1) + KH - 2 pad rows, likewise OW columns.
    cache : tuple
        (x, w, b, stride, pad).
    """
    ### BEGIN SOLUTION
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    OH = (H - 1) * stride - 2 * pad + KH
    OW = (W - 1) * stride - 2 * pad + KW
    canvas = np.zeros((N, C_out, (H - 1) * stride + KH, (W - 1) * stride + KW))
    for n in range(N):
        for i in range(H):
            for j in range(W):
                r, c = i * stride, j * stride
                canvas[n, :, r : r + KH, c : c + KW] += np.tensordot(x[n, :, i, j], w, axes=(0, 0))
    out = canvas[:, :, pad : pad + OH, pad : pad + OW] + b[None, :, None, None]
    return out, (x, w, b, stride, pad)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_transpose_forward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T


def no_library():
    """Inside this block your function may not call cnnlab.layers or scipy's convolutions."""
    return T.forbid_calls("cnnlab.layers", "scipy.signal", "scipy.ndimage", "numpy.convolve",
                          exercise="conv_transpose_forward")  # fmt: skip


def reference(x, w, b, stride, pad):
    """The input gradient of a convolution with weights w, dout = x (from cnnlab.layers)."""
    n, _, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    big = np.zeros((n, c_out, (h - 1) * stride - 2 * pad + kh, (wd - 1) * stride - 2 * pad + kw))
    _, cache = cl.layers.conv_forward(big, w, np.zeros(len(w)), stride=stride, pad=pad)
    return cl.layers.conv_backward(x, cache)[0] + np.asarray(b, float)[None, :, None, None]


def one_message_per_shape(mistakes, expected_shape):
    """Mistakes named by a shape: dropped if it is the right shape, merged if they coincide."""
    by_shape = {}
    for hint, wrong in mistakes:
        if isinstance(wrong, tuple) and wrong != expected_shape:
            by_shape.setdefault(wrong, []).append(hint)
    merged = [(" Or: ".join(hints), shape) for shape, hints in by_shape.items()]
    return [(h, m) for h, m in mistakes if not isinstance(m, tuple)] + merged


def check(x, w, b, stride, pad, expected=None):
    """Compare conv_transpose_forward with the reference; name the known mistakes."""
    n, c_in, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    if expected is None:
        expected = reference(x, w, b, stride, pad)  # before your function sees x
    expected = np.asarray(expected, dtype=float)
    canvas = reference(x, w, b, stride, 0)  # nothing cropped
    oh, ow = expected.shape[2:]
    no_stride = np.zeros(canvas.shape)  # the stamps placed 1 pixel apart on the canvas
    no_stride[:, :, : h - 1 + kh, : wd - 1 + kw] = reference(x, w, np.zeros(c_out), 1, 0)
    no_stride = no_stride[:, :, pad : pad + oh, pad : pad + ow] + b[None, :, None, None]
    label = f"x {x.shape}, w {w.shape}, stride {stride}, pad {pad}"
    crop = "crop pad rows and columns from BOTH ends: canvas[:, :, pad:pad + OH, pad:pad + OW]"
    size = "output size: OH = (H - 1) * stride - 2 * pad + KH"
    stride_hint = ("stride ignored: the stamp of input pixel (i, j) starts at row i * stride and "
                   "column j * stride of the canvas")  # fmt: skip
    mistakes = [
        ("pad added instead of cropped: in a transposed convolution pad REMOVES the border, "
         "OH = (H - 1) * stride - 2 * pad + KH", (n, c_out, oh + 4 * pad, ow + 4 * pad)),
        ("nothing cropped: the canvas has (H - 1) * stride + KH rows; " + crop, canvas.shape),
        ("cropped at the start only: " + crop, (n, c_out, oh + pad, ow + pad)),
        ("canvas[:, :, pad:-pad] is empty when pad = 0: " + crop, (n, c_out, 0, 0)),
        (size + " (not H * stride, the size of an upsampling by stride)",
         (n, c_out, h * stride, wd * stride)),
        (size + " (the convolution's formula (H + 2 * pad - KH) // stride + 1 shrinks the map)",
         (n, c_out, (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1)),
        (stride_hint, (n, c_out, h - 1 - 2 * pad + kh, wd - 1 - 2 * pad + kw)),
        (stride_hint, no_stride),
        ("cropped at the end only: " + crop, canvas[:, :, :oh, :ow]),
        ("the kernel was flipped: each pixel stamps x * w[c] as it is (no [::-1, ::-1])",
         reference(x, w[:, :, ::-1, ::-1], b, stride, pad)),
        ("bias missing: add b[c_out] to every output pixel of channel c_out",
         reference(x, w, np.zeros(c_out), stride, pad)),
    ]  # fmt: skip
    if c_in == c_out:  # with other channel counts the swapped layout does not even run
        mistakes.append(
            ("w read as (C_out, C_in, KH, KW): the layout is (C_in, C_out, KH, KW), w[c_in] is "
             "the stamp of input channel c_in", reference(x, w.transpose(1, 0, 2, 3), b, stride, pad))
        )  # fmt: skip
    with no_library():
        out, cache = conv_transpose_forward(x.copy(), w.copy(), b.copy(), stride=stride, pad=pad)
    T.assert_allclose(
        out,
        expected,
        name=f"conv_transpose_forward ({label})",
        mistakes=one_message_per_shape(mistakes, expected.shape),
        hint="every input pixel (n, c, i, j) adds x[n, c, i, j] * w[c] onto the canvas at row "
        "i * stride, column j * stride (with +=), then pad is cropped from every side and b "
        "added",
    )
    return cache


# The worked example: stride 2, pad 1; the 5x5 canvas loses its border of 1.
x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
w = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
by_hand = [[[[5.0, 14, 10], [14, 36, 24], [15, 34, 20]]]]
check(x, w, np.zeros(1), stride=2, pad=1, expected=by_hand)
# The same rules with 2 images, 2 channels in and out, a bias, stride 2 and pad 1.
rng = np.random.default_rng(6)
x = rng.integers(-2, 3, size=(2, 2, 2, 3)).astype(float)
w = rng.integers(-2, 3, size=(2, 2, 3, 3)).astype(float)
cache = check(x, w, np.array([0.5, -1.0]), stride=2, pad=1)
T.assert_true(
    isinstance(cache, (tuple, list)) and len(cache) == 5,
    "conv_transpose_forward cache must be the tuple (x, w, b, stride, pad)",
)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(461)
# (N, C_in, H, W), (C_out, KH, KW), stride, pad
cases = [
    ((1, 1, 3, 3), (1, 3, 3), 1, 0),
    ((2, 3, 4, 3), (2, 4, 4), 2, 1),
    ((1, 2, 3, 5), (3, 3, 2), 3, 2),
    ((3, 2, 2, 2), (1, 2, 3), 1, 1),
    ((2, 1, 5, 4), (2, 3, 3), 2, 0),
]
for (n, c_in, h, wd), (c_out, kh, kw), stride, pad in cases:
    x = rng.standard_normal((n, c_in, h, wd))
    w = rng.standard_normal((c_in, c_out, kh, kw))
    cache = check(x, w, rng.standard_normal(c_out), stride, pad)
T.assert_true(
    isinstance(cache, (tuple, list)) and len(cache) == 5 and tuple(cache[3:]) == (2, 0),
    "conv_transpose_forward cache must be the tuple (x, w, b, stride, pad)",
)
### END HIDDEN TESTS

# %% [markdown]
# **The backward pass of a transposed convolution.** The decoder must learn, so the layer
# needs its backward pass. Follow each stamp: input pixel
# `x[n, c, i, j]` was multiplied by the kernel `w[c]` and added onto a KH x KW window of the
# canvas starting at row `i * stride`, column `j * stride`. Put the upstream gradient on the
# canvas first (`dout` in the middle, zeros on the `pad` border that was cropped away, because
# those canvas pixels never reached the output), then apply the recipe of notebook 02:
#
# - **dx.** `dx[n, c, i, j]` collects the canvas gradient under the window of its stamp, each
#   value times the weight that put it there: the sum over `c_out, p, q` of
#   `w[c, c_out, p, q] * dcanvas[n, c_out, i*stride + p, j*stride + q]`. That is an ordinary
#   **convolution** of `dout` with the same weights, stride and padding: the backward pass of
#   the backward pass of a convolution is the convolution itself.
# - **dw.** `w[c, c_out, p, q]` multiplied `x[n, c, i, j]` in every stamp, so
#   `dw[c, c_out, p, q]` is the sum over `n, i, j` of
#   `x[n, c, i, j] * dcanvas[n, c_out, i*stride + p, j*stride + q]`: a sum over the whole batch,
#   because every image used the same kernel.
# - **db.** `b[c_out]` was added to every output pixel of channel `c_out` in every image:
#   `db[c_out]` is the sum of `dout[:, c_out]` over the batch and all positions.
#
# **Worked example.** The same `x = [[1, 2], [3, 4]]`, `w = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]`,
# stride 2, pad 1, and `dout` all ones (3 x 3). On the 5 x 5 canvas the ones fill rows and
# columns 1-3. The stamp of `x[0, 0]` covers rows and columns 0-2, of which rows and columns 1-2
# carry a one, under the weights `5, 6, 8, 9`: `dx[0, 0] = 28`; likewise
# `dx = [[28, 24], [16, 12]]`. Weight `w[p, q]` sits on canvas pixel `(2i + p, 2j + q)`, which
# carries a one when it lies in rows and columns 1-3, so `dw[p, q]` adds the pixels of `x` for
# which that holds: `dw = [[4, 7, 3], [6, 10, 4], [2, 3, 1]]` (`dw[1, 1]` is the sum of all four,
# `dw[0, 0]` only `x[1, 1]`). And `db = [9]`.
#
# ### Exercise 7b: `conv_transpose_backward` (3 points)
#
# Return `(dx, dw, db)` from `dout` and the cache of the forward pass. Loops again; the test
# compares with `cnnlab.layers.conv_forward` (for `dx`), `conv_backward` (for `dw`) and
# numerical gradients. Calling `cnnlab.layers` or `scipy.signal` from your
# function earns no points.
#
# <details><summary>Hint 1</summary>
#
# Walk back through the forward pass: the crop, then the stamps. The crop passes the gradient of
# the pixels it kept and gives 0 to the rest, so the canvas gradient is `dout` with `pad` zeros
# around its two spatial axes. `db` gets every pixel of its output channel.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# One loop over `n, i, j` can fill `dx[n, :, i, j]` and add to `dw` at the same time: both use
# the window `dcanvas[n, :, i*stride : i*stride + KH, j*stride : j*stride + KW]`. Check the
# shapes before the values: `dx` like `x`, `dw` like `w`, `db` like `b`.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "conv_transpose_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_transpose_backward(dout, cache):
    """Backward pass of conv_transpose_forward, with loops.

    Parameters
    ----------
    dout : ndarray, shape (N, C_out, OH, OW)
        Upstream gradient, OH = (H - 1) * stride - 2 * pad + KH (likewise OW).
    cache : tuple
        (x, w, b, stride, pad) with x (N, C_in, H, W), w (C_in, C_out, KH, KW), b (C_out,).

    Returns
    -------
    dx : ndarray, shape (N, C_in, H, W)
    dw : ndarray, shape (C_in, C_out, KH, KW)
    db : ndarray, shape (C_out,)
    """
    x, w, b, stride, pad = cache
    ### BEGIN SOLUTION
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    dcanvas = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    for n in range(N):
        for i in range(H):
            for j in range(W):
                r, c = i * stride, j * stride
                window = dcanvas[n, :, r : r + KH, c : c + KW]  # (C_out, KH, KW)
                dx[n, :, i, j] = np.tensordot(w, window, axes=3)
                dw += x[n, :, i, j][:, None, None, None] * window[None]
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_transpose_backward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T


def no_library():
    """Inside this block your function may not call cnnlab.layers or scipy's convolutions."""
    return T.forbid_calls("cnnlab.layers", "scipy.signal", "scipy.ndimage", "numpy.convolve",
                          exercise="conv_transpose_backward")  # fmt: skip


def reference(x, w, dout, stride, pad):
    """(dx, dw, db): a convolution of dout, and the weight gradient of that convolution."""
    dx, cache = cl.layers.conv_forward(dout, w, np.zeros(len(w)), stride=stride, pad=pad)
    _, dw, _ = cl.layers.conv_backward(x, cache)
    return dx, dw, dout.sum(axis=(0, 2, 3))


def known_mistakes(x, w, dout, stride, pad):
    """What the known mistakes return, as (hint, array or shape) pairs for dx, dw and db."""
    n, c_in, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    oh, ow = dout.shape[2:]
    dx, dw, db = reference(x, w, dout, stride, pad)
    _, dw_one, db_one = reference(x[-1:], w, dout[-1:], stride, pad)
    flipped = reference(x, w[:, :, ::-1, ::-1], dout, stride, pad)
    # windows 1 pixel apart: the first H x W outputs of a convolution with stride 1
    dx_s1, cache_s1 = cl.layers.conv_forward(dout, w, np.zeros(c_in), stride=1, pad=pad)
    x_s1 = np.zeros(dx_s1.shape)
    x_s1[:, :, :h, :wd] = x
    dw_s1 = cl.layers.conv_backward(x_s1, cache_s1)[1]
    layout = "w and dw have the layout (C_in, C_out, KH, KW): w[c_in, c_out], not w[c_out, c_in]"
    no_stride = ("stride ignored: the window of input pixel (i, j) starts at row i * stride and "
                 "column j * stride of the canvas")  # fmt: skip
    found = {
        "dx": [
            ("the kernel was flipped: the stamp of x[n, c, i, j] used w[c] as it is, so dx "
             "collects dcanvas times w[c] unflipped", flipped[0]),
            (no_stride, dx_s1.shape),
            (no_stride, dx_s1[:, :, :h, :wd]),
        ],
        "dw": [
            (no_stride, dw_s1),
            ("dw not summed over the batch: every image used the same kernel, so dw adds the "
             "contributions of all N images (did you reset dw inside the loop over n?)", dw_one),
            ("dw averaged over the batch: the kernel served every image, so SUM, not mean", dw / n),
            ("the kernel was flipped: w[c, c_out, p, q] sits on canvas pixel "
             "(i*stride + p, j*stride + q), so dw[..., p, q] reads that pixel", flipped[1]),
            (layout, (c_out, c_in, kh, kw)),
        ],
        "db": [
            ("db not summed over the batch: b was added in every image, so db[c_out] adds "
             "dout[:, c_out] of all N images", db_one),
            ("db averaged: b[c_out] was ADDED to every output pixel, so db is the SUM of "
             "dout[:, c_out] over the batch and all positions", db / (n * oh * ow)),
            ("db averaged over the batch: SUM dout[:, c_out] over the images and positions",
             db / n),
            ("db not summed over the positions: sum dout over axes (0, 2, 3)", (c_out, oh, ow)),
            ("db not summed over the batch: sum dout over axes (0, 2, 3)", (n, c_out)),
        ],
    }  # fmt: skip
    if c_in == c_out:  # otherwise the swapped layout does not even run
        found["dx"].append((layout, reference(x, w.transpose(1, 0, 2, 3), dout, stride, pad)[0]))
        found["dw"].append((layout, dw.transpose(1, 0, 2, 3)))
    return found


def check(x, w, dout, stride, pad, expected=None):
    """Run conv_transpose_backward on the cache (x, w, b, stride, pad); compare dx, dw, db."""
    label = f"x {x.shape}, w {w.shape}, stride {stride}, pad {pad}"
    if expected is None:
        expected = reference(x, w, dout, stride, pad)
    known = {  # a mistake that shows in the shape only is named when the shape is wrong
        key: [(h, m) for h, m in pairs if not (isinstance(m, tuple) and m == np.shape(expected[k]))]
        for k, (key, pairs) in enumerate(known_mistakes(x, w, dout, stride, pad).items())
    }
    cache = (x.copy(), w.copy(), np.zeros(w.shape[1]), stride, pad)
    with no_library():
        dx, dw, db = conv_transpose_backward(dout.copy(), cache)
    T.assert_allclose(dx, expected[0], name=f"dx ({label})", mistakes=known["dx"],
                      hint="pad dout back onto the canvas with zeros (np.pad by pad); then "
                      "dx[n, :, i, j] = sum over c_out, p, q of w[:, c_out, p, q] times the "
                      "canvas window of input pixel (i, j)")  # fmt: skip
    T.assert_allclose(dw, expected[1], name=f"dw ({label})", mistakes=known["dw"],
                      hint="dw[c, c_out, p, q] = sum over n, i, j of x[n, c, i, j] times "
                      "dcanvas[n, c_out, i*stride + p, j*stride + q]")  # fmt: skip
    T.assert_allclose(db, expected[2], name=f"db ({label})", mistakes=known["db"],
                      hint="db[c_out] = sum of dout[:, c_out] over the batch and all "
                      "positions")  # fmt: skip


# The worked example: stride 2, pad 1, dout all ones.
x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
w = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
by_hand = ([[[[28.0, 24], [16, 12]]]], [[[[4.0, 7, 3], [6, 10, 4], [2, 3, 1]]]], [9.0])
check(x, w, np.ones((1, 1, 3, 3)), stride=2, pad=1, expected=by_hand)
# Example 2: 2 images, 2 channels in and out, stride 2, pad 1, small integers.
rng = np.random.default_rng(7)
x = rng.integers(-2, 3, size=(2, 2, 2, 3)).astype(float)
w = rng.integers(-2, 3, size=(2, 2, 3, 3)).astype(float)
check(x, w, rng.integers(-2, 3, size=(2, 2, 3, 5)).astype(float), stride=2, pad=1)
# Example 3: 2 channels in, 3 out.
w = rng.integers(-2, 3, size=(2, 3, 3, 3)).astype(float)
check(x, w, rng.integers(-2, 3, size=(2, 3, 3, 5)).astype(float), stride=2, pad=1)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(462)
# (N, C_in, H, W), (C_out, KH, KW), stride, pad
cases = [
    ((1, 2, 3, 3), (3, 3, 3), 1, 0),
    ((3, 2, 3, 4), (2, 4, 4), 2, 1),
    ((2, 1, 3, 2), (2, 3, 2), 3, 2),
    ((2, 3, 4, 3), (3, 2, 3), 1, 1),
]
for (n, c_in, h, wd), (c_out, kh, kw), stride, pad in cases:
    x = rng.standard_normal((n, c_in, h, wd))
    w = rng.standard_normal((c_in, c_out, kh, kw))
    oh, ow = (h - 1) * stride - 2 * pad + kh, (wd - 1) * stride - 2 * pad + kw
    check(x, w, rng.standard_normal((n, c_out, oh, ow)), stride, pad)
# numerical gradients of the transposed convolution (written as the conv's input gradient)
x = rng.standard_normal((2, 2, 3, 3))
w = rng.standard_normal((2, 3, 4, 4))
b = rng.standard_normal(3)
dout = rng.standard_normal((2, 3, 6, 6))


def transpose_forward(x, w, b):
    big = np.zeros((x.shape[0], w.shape[1], 6, 6))
    _, cache = cl.layers.conv_forward(big, w, np.zeros(len(w)), stride=2, pad=1)
    return cl.layers.conv_backward(x, cache)[0] + b[None, :, None, None]


nums = []
for k in range(3):
    args = [x.copy(), w.copy(), b.copy()]

    def f(z, k=k, args=args):
        args[k] = z
        return transpose_forward(*args)

    nums.append(cl.gradcheck.numerical_gradient(f, args[k].copy(), df=dout))
with no_library():
    grads = conv_transpose_backward(dout.copy(), (x.copy(), w.copy(), b.copy(), 2, 1))
for k, name in enumerate("xwb"):
    T.assert_rel_error(
        grads[k], nums[k], tol=1e-7, name=f"conv_transpose_backward d{name} vs numerical"
    )
### END HIDDEN TESTS

# %% [markdown]
# **The data.** The scenes come from `make_scenes` as in section 1, now 32 x 32 pixels with one or
# two objects each; a pixel belongs to an object when the object covers at least half of it. We
# change the classes: circles, horizontal bars and vertical bars. A segmentation network decides
# each pixel from the window its output position sees, and through a small window a pixel on the
# edge of a triangle looks much like one on the arm of a cross; with the four shapes of sections
# 1-3 the small network below, trained for seconds, does much worse (try it afterwards: set
# `seg_classes = CLASSES` and run this section again). The circle keeps its orange of section 1;
# the background is black, as in the scenes.

# %%
seg_classes = ("circle", "horizontal bar", "vertical bar")
seg_names = ("background",) + seg_classes
n_seg_train = 300 if cl.is_grading() else 400
seg_train = cl.data.make_scenes(n_seg_train, 32, objects=(1, 2), classes=seg_classes, seed=1)
seg_test = cl.data.make_scenes(200, 32, objects=(1, 2), classes=seg_classes, seed=2)
print(seg_train)
print("images", seg_train.images.shape, seg_train.images.dtype,
      "masks", seg_train.masks.shape, seg_train.masks.dtype)  # fmt: skip
pixel_share = np.bincount(seg_test.masks.ravel(), minlength=4) / seg_test.masks.size
for name, share in zip(seg_names, pixel_share):
    print(f"{name:>15}: {share:6.1%} of the test pixels")

mask_cmap = plt.matplotlib.colors.ListedColormap(("black", COLORS[0], "tab:purple", "tab:red"))
mask_colors = dict(cmap=mask_cmap, vmin=-0.5, vmax=3.5, interpolation="nearest")
fig, axes = plt.subplots(2, 1, figsize=(13, 4.4))
fig.subplots_adjust(bottom=0.1, top=0.88, hspace=0.1)  # a fixed layout
axes[0].imshow(montage(seg_train.images[:6, 0]), cmap="gray", vmin=0, vmax=1)
axes[1].imshow(montage(seg_train.masks[:6].astype(float)), **mask_colors)
for col in range(6):
    axes[0].text(col * 35 + 16, -1.5, ", ".join(seg_classes[k] for k in seg_train.labels[col]),
                 ha="center", fontsize=8)  # fmt: skip
for ax, name in zip(axes, ["image", "mask (the target)"]):
    ax.set_axis_off()
    ax.text(-2, 16, name, rotation=90, ha="right", va="center")
handles = [plt.Rectangle((0, 0), 1, 1, color=mask_cmap(k)) for k in range(4)]
fig.legend(handles, seg_names, loc="lower center", ncol=4)
fig.suptitle("Scenes and their masks: one class index per pixel")
plt.show()
cl.claim("the background covers about 95 % of the pixels", pixel_share[0], low=0.92, high=0.97)

# %% [markdown]
# Each mask is the picture redrawn in class colours (index 0, the background, in black). Notice
# the proportions printed above: the background covers about 95 % of the pixels. A network that
# answers "background" everywhere is right on about 95 % of the pixels while it has found nothing.
# Keep that in mind for the two measures below.
#
# **The loss: cross-entropy at every pixel.** The network's output for a batch is a score array
# (N, K, H, W): at every pixel, K class scores. Segmentation trains it with the softmax
# cross-entropy of notebook 02 **at every pixel**, with the softmax taken over the class axis
# (axis 1), and averages the loss over **all pixels** of the batch: every pixel is one
# classification example. Two details decide what the number means:
#
# - **Unlabelled pixels.** Real data sets leave some pixels without a label: Pascal VOC marks
#   the uncertain border around every object with the value 255, and these pixels must count
#   for nothing, neither in the loss nor in the gradient. Our function takes the label that
#   means "ignore" as an argument, `ignore_index=-1`.
# - **The mean is over the labelled pixels of the whole batch.** With
#   $M$ labelled pixels, $L = \frac{1}{M}\sum_{\text{labelled } (n,i,j)} -\log
#   \mathrm{softmax}(s_{n,:,i,j})_{y_{n,i,j}}$ and the gradient at a labelled pixel is
#   $(\mathrm{softmax}(s_{n,:,i,j}) - \mathrm{onehot}(y_{n,i,j}))/M$ (0 at ignored pixels).
#   Averaging inside each image first and then over the images gives a different number as
#   soon as images hold different numbers of labelled pixels: a pixel of an image with few
#   labelled pixels then weighs more than a pixel of an image with many.
#
# The max shift of notebook 02 applies pixel by pixel: subtract, at every pixel, the largest of
# its K scores.
#
# **Worked example.** Two images of 1 x 2 pixels, K = 2 classes. Image 0: pixel (0, 0) has
# scores (0, 0) and label 0; pixel (0, 1) has label -1 (ignored, whatever its scores). Image 1:
# pixel (0, 0) has scores (0, 0) and label 1; pixel (0, 1) has scores (2, 0) and label 1. The
# three labelled pixels lose $\log 2$, $\log 2$ and $\log(1 + e^2) \approx 2.127$, so
# $L = (2 \log 2 + \log(1 + e^2))/3 \approx 1.171$. Image by image, the mean would be
# $\big(\log 2 + (\log 2 + 2.127)/2\big)/2 \approx 1.052$: a different number. The gradient at
# the pixel with scores (2, 0) is $\big((0.881, 0.119) - (0, 1)\big)/3 = (0.294, -0.294)$, and
# it is (0, 0) at the ignored pixel.
#
# ### Exercise 8: `pixel_cross_entropy` (2 points)
#
# Return the loss (a float) and its gradient `dscores` (the shape of `scores`), as defined
# above. Vectorise it: no loops (the test reads your function for `for` and `while` loops and
# comprehensions). Calling `cnnlab.layers.softmax_cross_entropy` or `scipy.special` earns no
# points.
#
# <details><summary>Hint 1</summary>
#
# Treat every pixel as one example of the softmax cross-entropy of notebook 02, with the class axis
# as axis 1, and average over the labelled pixels of the whole batch. Build a boolean array of the
# labelled pixels first. `keepdims=True` keeps the class axis, so that the max and the log of the
# sum broadcast back over the K scores of every pixel.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# An ignored label of -1 used as an index silently picks the LAST class: replace it by any valid
# class before indexing, and zero its contributions afterwards.
# `np.take_along_axis(logp, labels[:, None], axis=1)` picks the log-probability of each pixel's
# label.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "pixel_cross_entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def pixel_cross_entropy(scores, labels, ignore_index=-1):
    """Softmax cross-entropy at every pixel, averaged over all labelled pixels of the batch.

    Parameters
    ----------
    scores : ndarray, shape (N, K, H, W)
        Class scores of every pixel; the softmax runs over axis 1.
    labels : ndarray of int, shape (N, H, W)
        The class of every pixel in [0, K), or ignore_index for an unlabelled pixel.
    ignore_index : int
        The label of pixels that count for nothing (neither loss nor gradient).

    Returns
    -------
    loss : float
        Mean over the M labelled pixels of the batch of -log softmax(scores[n, :, i, j])[y];
        M >= 1 is assumed.
    dscores : ndarray, shape (N, K, H, W)
        (softmax - onehot(label)) / M at labelled pixels, 0 at ignored ones.
    """
    ### BEGIN SOLUTION
    labelled = labels != ignore_index  # (N, H, W)
    m = labelled.sum()
    safe = np.where(labelled, labels, 0)[:, None]  # (N, 1, H, W), a valid index everywhere
    shifted = scores - scores.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    picked = np.take_along_axis(logp, safe, axis=1)[:, 0]  # (N, H, W)
    loss = -float(picked[labelled].sum() / m)
    dscores = np.exp(logp)
    np.put_along_axis(dscores, safe, np.take_along_axis(dscores, safe, axis=1) - 1, axis=1)
    dscores *= labelled[:, None] / m
    return loss, dscores
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_pixel_cross_entropy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T


def no_library():
    """Inside this block your function may not call cnnlab.layers or scipy.special."""
    return T.forbid_calls("cnnlab.layers", "scipy.special", exercise="pixel_cross_entropy")


# The worked example: 2 images of 1x2 pixels, K = 2; pixel (0, 1) of image 0 is ignored.
scores = np.zeros((2, 2, 1, 2))
scores[0, :, 0, 1] = [3.0, -3.0]  # ignored: whatever its scores
scores[1, :, 0, 1] = [2.0, 0.0]
labels = np.array([[[0, -1]], [[1, 1]]])
lse = np.log(1 + np.exp(2.0))  # the loss of the pixel with scores (2, 0) and label 1
p = np.exp(2.0) / (1 + np.exp(2.0))  # its probability of class 0
expected = (2 * np.log(2) + lse) / 3
with no_library():
    loss, dscores = pixel_cross_entropy(scores.copy(), labels.copy())
T.assert_shape(
    loss, (), name="pixel_cross_entropy loss", hint="return the loss as one number, a float"
)
T.assert_allclose(
    [loss],
    [expected],
    name="pixel_cross_entropy loss (worked example)",
    hint="the mean over the 3 labelled pixels of -log softmax(scores over axis 1)[label]",
    mistakes=[
        ("averaged inside each image, then over the images: the mean runs over ALL labelled "
         "pixels of the batch at once", [(np.log(2) + (np.log(2) + lse) / 2) / 2]),
        ("the ignored pixel was counted in the mean: divide by the number of LABELLED pixels",
         [3 * expected / 4]),
        ("the ignored pixel's label -1 was used as a class (index -1 is the last class): it "
         "must count for nothing", [(2 * np.log(2) + lse + np.log(1 + np.exp(6.0))) / 4]),
        ("the loss was divided by N (the images), not by the number of labelled pixels",
         [3 * expected / 2]),
        ("the loss is summed, not averaged: divide by the number of labelled pixels",
         [3 * expected]),
    ],
)  # fmt: skip
by_hand = np.zeros((2, 2, 1, 2))
by_hand[0, :, 0, 0] = [-0.5, 0.5]  # softmax (0.5, 0.5) minus onehot(0)
by_hand[1, :, 0, 0] = [0.5, -0.5]  # softmax (0.5, 0.5) minus onehot(1)
by_hand[1, :, 0, 1] = [p, -p]  # (p, 1 - p) minus onehot(1)
ignored_grads = []  # the ignored pixel's gradient computed with label 0 or with label -1
q = np.exp(6.0) / (1 + np.exp(6.0))  # its softmax is (q, 1 - q)
for onehot in ([1.0, 0.0], [0.0, 1.0]):
    wrong = by_hand.copy()
    wrong[0, :, 0, 1] = np.array([q, 1 - q]) - onehot
    ignored_grads.append(wrong / 3)
per_image = by_hand.copy()
per_image[0] /= 2  # image 0: 1 labelled pixel, then / 2 images
per_image[1] /= 4  # image 1: 2 labelled pixels, then / 2 images
T.assert_allclose(
    dscores,
    by_hand / 3,
    name="pixel_cross_entropy dscores (worked example)",
    hint="(softmax - onehot(label)) / M at the M = 3 labelled pixels, 0 at the ignored one",
    mistakes=[
        ("averaged inside each image, then over the images: the mean runs over ALL labelled "
         "pixels of the batch at once", per_image),
        ("dscores not divided by M: the loss is a mean over the M labelled pixels", by_hand),
    ]
    + [("the ignored pixel got a gradient: it counts for nothing, dscores is 0 there", wrong)
       for wrong in ignored_grads],
)  # fmt: skip
# Large scores (the max shift, pixel by pixel): pixel 0 has scores (1000, 0, -1000) and label
# 1, so p = (1, 0, 0) and its loss is 1000; pixel 1 has scores (0, 0, 0), loss log 3.
scores = np.zeros((1, 3, 1, 2))
scores[0, :, 0, 0] = [1000.0, 0.0, -1000.0]
with no_library():
    loss, dscores = pixel_cross_entropy(scores.copy(), np.array([[[1, 0]]]))
T.assert_finite(
    dscores,
    name="dscores for scores (1000, 0, -1000) and (0, 0, 0)",
    hint="softmax without the max shift overflows: exp(1000) is inf. Subtract, at every "
    "pixel, the largest of its K scores (max over axis 1, keepdims=True), not the maximum "
    "of the whole array",
)
T.assert_allclose(
    dscores,
    np.array([[[[1.0, -2 / 3]], [[-1.0, 1 / 3]], [[0.0, 1 / 3]]]]) / 2,
    name="dscores for scores (1000, 0, -1000) and (0, 0, 0), labels (1, 0)",
    hint="softmax over the CLASS axis 1 at every pixel, (softmax - onehot) / M",
    mistakes=[
        ("softmax without the max shift: log(sum(exp(scores))) is log(inf) at pixel 0, so all "
         "its probabilities came out 0. Subtract, at every pixel, the largest of its K scores",
         np.array([[[[0.0, -2 / 3]], [[-1.0, 1 / 3]], [[0.0, 1 / 3]]]]) / 2),
    ],
)  # fmt: skip
T.assert_allclose(
    [loss],
    [(1000 + np.log(3)) / 2],
    rtol=1e-9,
    name="loss for scores (1000, 0, -1000) and (0, 0, 0), labels (1, 0)",
    hint="compute log-probabilities as shifted - log(sum(exp(shifted))), never log(p): "
    "p = e^-1000 underflows to 0",
)
# A loop over the pixels gives the same numbers, so this check reads your code instead.
T.assert_no_loops("pixel_cross_entropy",
                  rule="pixel_cross_entropy must work on every pixel at once, without Python "
                  "loops", hint="the softmax runs over axis 1 for every (n, i, j) at once; see "
                  "the hints above the exercise")  # fmt: skip
### BEGIN HIDDEN TESTS
import cnnlab as cl


def reference(scores, labels, ignore_index):
    """The labelled pixels as rows of an (M, K) batch for cnnlab's softmax_cross_entropy."""
    rows = np.moveaxis(scores, 1, -1)  # (N, H, W, K)
    keep = labels != ignore_index
    loss, d = cl.layers.softmax_cross_entropy(rows[keep], labels[keep])
    grad = np.zeros(rows.shape)
    grad[keep] = d
    return loss, np.moveaxis(grad, -1, 1)


rng = np.random.default_rng(463)
for shape, ignore_index, share in [((3, 4, 5, 6), -1, 0.3), ((2, 3, 4, 4), 255, 0.2),
                                   ((2, 5, 3, 7), -1, 0.0), ((4, 2, 2, 3), -1, 0.5)]:  # fmt: skip
    n, k, h, w = shape
    scores = 3 * rng.standard_normal(shape)
    labels = rng.integers(0, k, size=(n, h, w))
    labels[rng.random((n, h, w)) < share] = ignore_index
    labels[0, 0, 0] = 0  # at least one labelled pixel
    if share:
        labels[-1] = ignore_index  # the last image has no labelled pixel at all
        labels[-1, 0, 0] = 1
    ref_loss, ref_d = reference(scores, labels, ignore_index)
    with no_library():
        loss, dscores = pixel_cross_entropy(scores.copy(), labels.copy(), ignore_index=ignore_index)
    label = f"scores {shape}, ignore_index {ignore_index}"
    T.assert_allclose([loss], [ref_loss], name=f"pixel_cross_entropy loss ({label})",
                      hint="mean over ALL labelled pixels of the batch; pixels labelled "
                      "ignore_index count for nothing (use the argument, not a fixed -1)")  # fmt: skip
    T.assert_allclose(dscores, ref_d, name=f"pixel_cross_entropy dscores ({label})",
                      hint="(softmax over axis 1 - onehot) / M at labelled pixels, 0 at ignored "
                      "ones")  # fmt: skip
# gradient check of the loss
scores = rng.standard_normal((2, 3, 3, 2))
labels = rng.integers(0, 3, size=(2, 3, 2))
labels[1, 0] = -1
with no_library():
    _, dscores = pixel_cross_entropy(scores.copy(), labels.copy())
num = cl.gradcheck.numerical_gradient(lambda s: reference(s, labels, -1)[0], scores.copy())
T.assert_rel_error(dscores, num, tol=1e-7, name="pixel_cross_entropy dscores vs numerical")
### END HIDDEN TESTS

# %% [markdown]
# **Measuring a segmentation: intersection over union per class.** *Pixel accuracy*, the share of
# pixels whose predicted class is right, is easy to read and easy to fool: the "all background"
# answer already scores about 95 % here. The standard measure ([Pascal
# VOC](http://host.robots.ox.ac.uk/pascal/VOC/), FCN, and most papers since) is the **mean
# intersection over union**. For each class c, take the set of pixels predicted as c and the set
# of pixels that truly are c, over **all images of the set together**:
#
# $$\mathrm{IoU}_c = \frac{|\text{pred} = c \;\wedge\; \text{truth} = c|}
#   {|\text{pred} = c \;\vee\; \text{truth} = c|},$$
#
# the same intersection over union as for boxes in section 2, with pixel sets instead of
# rectangles. The mean IoU averages $\mathrm{IoU}_c$ over the classes. Three choices must be
# stated, and ours are:
#
# - the background (class 0) is a class like the others and is included (as in Pascal VOC);
# - a class that appears neither in the truth nor in the prediction has no IoU (0 / 0): it is
#   **left out** of the mean, not counted as 0 and not as nan;
# - the pixels of all images are pooled before dividing, not one IoU per image averaged
#   afterwards (an image without a class would otherwise give that class no say, and small
#   objects in one image would count as much as large ones in another).
#
# A class that the network predicts but that is not in the truth has IoU 0 and counts: it is a
# false alarm.
#
# **Worked example.** Two masks of 2 x 3 pixels, `num_classes=5`:
#
# ```
# truth  [[0 1 1]   [[0 0 2]        pred  [[0 1 0]   [[0 3 2]
#         [0 1 1]]   [0 2 2]]              [0 1 1]]   [0 0 2]]
# ```
#
# Class 0: 4 pixels in both, 7 in either, IoU 4/7. Class 1: 3 of 4, IoU 3/4. Class 2: 2 of 3,
# IoU 2/3. Class 3: predicted once and never true, IoU 0/1 = 0. Class 4 appears nowhere and
# is left out. The mean over the four classes is (4/7 + 3/4 + 2/3 + 0) / 4 = 0.497.
#
# ### Exercise 9: `mean_iou` (2 points)
#
# Return the mean IoU of the predicted masks `pred` against `truth` (both (N, H, W) arrays of
# class indices) over the classes `0 .. num_classes - 1`, with the three choices above. Calling
# `sklearn.metrics.jaccard_score` earns no points.
#
# <details><summary>Hint 1</summary>
#
# A loop over the `num_classes` classes is fine; inside it, boolean arrays `pred == c` and
# `truth == c` over the whole batch give the intersection (`&`) and the union (`|`).
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Skip a class whose union is empty before dividing, and average the IoU of the classes you kept.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "mean_iou", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mean_iou(pred, truth, num_classes):
    """Mean intersection over union of a segmentation, over the classes that occur.

    IoU_c = |pred == c and truth == c| / |pred == c or truth == c|, counted over all pixels of
    all images together. The mean runs over the classes c in [0, num_classes) that occur in
    pred or truth (background, class 0, included); classes that occur in neither are left out.

    Parameters
    ----------
    pred : ndarray of int, shape (N, H, W)
        Predicted class of every pixel.
    truth : ndarray of int, shape (N, H, W)
        True class of every pixel.
    num_classes : int
        The classes are 0, 1, ..., num_classes - 1.

    Returns
    -------
    float
        The mean IoU, in [0, 1].
    """
    ### BEGIN SOLUTION
    ious = []
    for c in range(num_classes):
        p, t = pred == c, truth == c
        union = np.sum(p | t)
        if union:
            ious.append(np.sum(p & t) / union)
    return float(np.mean(ious))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mean_iou", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab.testing as T


def no_library():
    """Inside this block your function may not call sklearn.metrics.jaccard_score."""
    return T.forbid_calls("sklearn.metrics.jaccard_score", exercise="mean_iou")


# The worked example: IoU 4/7, 3/4, 2/3 and 0 for classes 0-3; class 4 appears nowhere.
truth = np.array([[[0, 1, 1], [0, 1, 1]], [[0, 0, 2], [0, 2, 2]]])
pred = np.array([[[0, 1, 0], [0, 1, 1]], [[0, 3, 2], [0, 0, 2]]])
per_class = [4 / 7, 3 / 4, 2 / 3, 0.0]
with no_library():
    got = mean_iou(pred.copy(), truth.copy(), 5)
T.assert_shape(got, (), name="mean_iou(pred, truth, 5)", hint="return one number, a float")
T.assert_finite(
    got,
    name="mean_iou(pred, truth, 5)",
    hint="class 4 appears in neither pred nor truth: its IoU is 0 / 0; leave such a class "
    "out of the mean instead of dividing",
)
T.assert_allclose(
    [got],
    [np.mean(per_class)],
    name="mean_iou(pred, truth, 5) (worked example)",
    hint="IoU of each class over all pixels of both images together, averaged over the "
    "classes 0-3 that occur in pred or truth",
    mistakes=[
        ("a class absent from both pred and truth (class 4) was counted as IoU 0: leave it out "
         "of the mean", [np.sum(per_class) / 5]),
        ("the background (class 0) was left out: it is a class like the others here",
         [np.mean(per_class[1:])]),
        ("IoU computed image by image and then averaged: pool the pixels of all images first",
         [np.mean([np.mean([2 / 3, 3 / 4]), np.mean([1 / 2, 2 / 3, 0.0])])]),
        ("only the classes of the truth were averaged: a class that is predicted but not true "
         "(class 3) has IoU 0 and counts", [np.mean(per_class[:3])]),
        ("the union was computed as |pred == c| + |truth == c|, which counts the intersection "
         "twice: use |pred == c or truth == c|", [np.mean([4 / 11, 3 / 7, 2 / 5, 0.0])]),
    ],
)  # fmt: skip
### BEGIN HIDDEN TESTS


def reference(pred, truth, k):
    """Mean IoU from a confusion matrix (rows: truth, columns: prediction)."""
    cm = np.bincount(truth.ravel() * k + pred.ravel(), minlength=k * k).reshape(k, k)
    inter = np.diag(cm)
    union = cm.sum(axis=0) + cm.sum(axis=1) - inter
    return float(np.mean(inter[union > 0] / union[union > 0]))


rng = np.random.default_rng(464)
for n, h, w, k in [(3, 5, 7, 4), (1, 6, 6, 3), (5, 4, 3, 6), (2, 8, 5, 8)]:
    truth = rng.integers(0, k - 1, size=(n, h, w))  # the last class never true
    pred = np.where(rng.random((n, h, w)) < 0.6, truth, rng.integers(0, k - 1, size=(n, h, w)))
    pred[0, 0, :2] = k - 1  # a few false alarms of a class that is never true
    expected = reference(pred, truth, k)
    with no_library():
        got = mean_iou(pred.copy(), truth.copy(), k)
    T.assert_allclose([got], [expected], name=f"mean_iou on {n} masks of {h}x{w}, {k} classes",
                      hint="pool all pixels, IoU per class, mean over the classes that occur "
                      "in pred or truth")  # fmt: skip
# perfect prediction; and the "all background" answer on masks with 2 object classes
truth = rng.integers(0, 3, size=(4, 6, 6))
with no_library():
    perfect = mean_iou(truth.copy(), truth.copy(), 7)
    background = mean_iou(np.zeros_like(truth), truth.copy(), 7)
T.assert_allclose([perfect], [1.0], name="mean_iou of a perfect prediction",
                  hint="classes 3-6 occur nowhere: leave them out, do not count them as 0")  # fmt: skip
T.assert_allclose(
    [background],
    [np.mean(truth == 0) / 3],
    name="mean_iou of the all-background prediction",
    hint="IoU of the background = share of background pixels; classes 1 and 2 get IoU 0",
)
### END HIDDEN TESTS

# %% [markdown]
# **An encoder-decoder, trained with your loss.** The network: two blocks of 3x3 convolution, ReLU
# and 2x2 max pooling take the 32 x 32 image down to 8 x 8 (each position there sees a window of
# 18 x 18 input pixels), one more convolution mixes the features, and two transposed convolutions
# with kernel 4, stride 2 and pad 1 (the even layer of the stamp figure above) bring the maps back
# to 16 x 16 and 32 x 32. The last one outputs 4 channels: the scores of background, circle,
# horizontal bar and vertical bar at every pixel. There is no fully connected layer, so the same
# network would segment an image of any size divisible by 4.
#
# It trains with Adam on **your** `pixel_cross_entropy` (the loop below is the one of
# notebook 03, with your loss in place of `softmax_cross_entropy`), and is measured with
# **your** `mean_iou` on 200 test scenes, against the "all background" answer.


# %%
def build_segmenter(num_classes, seed=0):
    """Encoder (conv-pool twice, conv) and decoder (two transposed convs) for 32x32 scenes."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, pad=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2, stride=2),  # 8 x 16 x 16
        nn.Conv2d(8, 16, 3, pad=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2, stride=2),  # 16 x 8 x 8
        nn.Conv2d(16, 32, 3, pad=1, rng=rng), nn.ReLU(),  # 32 x 8 x 8
        nn.ConvTranspose2d(32, 16, 4, stride=2, pad=1, rng=rng), nn.ReLU(),  # 16 x 16 x 16
        nn.ConvTranspose2d(16, num_classes, 4, stride=2, pad=1, rng=rng),  # K x 32 x 32
    )  # fmt: skip


seg_net = build_segmenter(len(seg_names))
seg_net.summary((1, 32, 32))
field, jump = 1, 1  # the receptive field of the 8 x 8 maps (notebook 02, section 11)
for kernel, step in [(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)]:
    field, jump = field + (kernel - 1) * jump, jump * step
print(f"one position of the 8 x 8 maps sees {field} x {field} input pixels")
cl.claim("each position of the 8 x 8 maps sees 18 x 18 pixels", field, equals=18)

seg_epochs = 2 if cl.is_grading() else 4
optimizer = cl.optim.Adam(seg_net.params, lr=1e-2)
shuffle = np.random.default_rng(0)
seg_losses = []
t0 = time.process_time()  # CPU time of this process: other programs running meanwhile do not count
seg_net.train()
for _ in range(seg_epochs):
    order = shuffle.permutation(n_seg_train)
    for start in range(0, n_seg_train, 16):
        idx = order[start : start + 16]
        scores = seg_net(seg_train.images[idx])
        loss, dscores = pixel_cross_entropy(scores, seg_train.masks[idx])
        seg_net.backward(np.asarray(dscores, dtype=scores.dtype), need_dx=False)
        optimizer.step(seg_net.grads)
        seg_losses.append(loss)
seg_seconds = time.process_time() - t0
seg_net.eval()
seg_scores = seg_net(seg_test.images)
seg_pred = seg_scores.argmax(axis=1)
truth = seg_test.masks
results = {
    "network": ((seg_pred == truth).mean(), mean_iou(seg_pred, truth, 4)),
    "all background": ((truth == 0).mean(), mean_iou(np.zeros_like(truth), truth, 4)),
}
print(f"{seg_epochs} epochs of {n_seg_train} scenes in {seg_seconds:.1f} s of CPU time")
for name, (acc, miou) in results.items():
    print(f"{name:>15}: pixel accuracy {acc:.3f}, mean IoU {miou:.3f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.8))
fig.subplots_adjust(wspace=0.15)  # a fixed layout: cheaper than a layout engine
ax1.plot(seg_losses, lw=1)
ax1.set_yscale("log")
ax1.set_xlabel("training step (16 scenes)")
ax1.set_ylabel("pixel cross-entropy (log scale)")
ax1.set_title("Training the encoder-decoder")
xs = np.arange(2)
for k, (name, values) in enumerate(results.items()):
    bars = ax2.bar(xs + 0.38 * k - 0.19, values, width=0.36, label=name)
    ax2.bar_label(bars, fmt="%.2f")
ax2.set_xticks(xs, ["pixel accuracy", "mean IoU"])
ax2.set_ylim(0, 1.25)
ax2.set_title("200 test scenes")
ax2.legend(loc="upper center", ncol=2)
plt.show()
(net_acc, net_miou), (base_acc, base_miou) = results.values()
if not cl.is_grading():
    cl.claim("trains in well under 15 s", seg_seconds, high=15)
    cl.claim("the all-background answer: about 95 % pixel accuracy", base_acc, low=0.92, high=0.97)
    cl.claim("the all-background answer: mean IoU about a quarter", base_miou, low=0.2, high=0.3)
    cl.claim("the network: pixel accuracy above 97 %", net_acc, low=0.97)
    cl.claim("the network: mean IoU above 0.7", net_miou, low=0.7)
    cl.claim("100 training steps", len(seg_losses), equals=100)
    cl.claim("the loss falls by more than an order of magnitude",
             seg_losses[0] / np.mean(seg_losses[-10:]), low=10)  # fmt: skip

# %% [markdown]
# The loss falls by more than an order of magnitude in 100 steps. Now compare the two
# measures. In pixel accuracy the all-background answer (about 95 % here) is only a few points
# behind the network (above 97 %): the measure is dominated by the easy background pixels.
# The mean IoU tells them apart: the all-background answer gets IoU about 0.95 for the background
# and 0 for each of the three object classes, a mean of about a quarter, while the network
# reaches a mean IoU above 0.7. This is why segmentation is reported in mean IoU.
#
# The figure below shows test scenes with the truth, the network's answer and, in the last
# row, the loss at every pixel ($-\log$ of the probability the network gives the true class):
# four typical scenes, then the two with the most wrong pixels.

# %%
shifted = seg_scores - seg_scores.max(axis=1, keepdims=True)
log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # log-softmax
pixel_loss = -np.take_along_axis(log_probs, truth[:, None], axis=1)[:, 0]
wrong = (seg_pred != truth).sum(axis=(1, 2))
show = [0, 1, 2, 3] + [int(i) for i in np.argsort(wrong)[::-1][:2]]
fig, axes = plt.subplots(4, 1, figsize=(13, 8.4))  # one montage of 6 scenes per row
fig.subplots_adjust(right=0.9, bottom=0.07, top=0.93, hspace=0.2)  # fixed layout
axes[0].imshow(montage(seg_test.images[show, 0]), cmap="gray", vmin=0, vmax=1)
axes[1].imshow(montage(truth[show].astype(float)), **mask_colors)
axes[2].imshow(montage(seg_pred[show].astype(float)), **mask_colors)
loss_image = axes[3].imshow(montage(pixel_loss[show]), cmap="magma", vmin=0, vmax=3)
for col, i in enumerate(show):
    centre = col * 35 + 16  # the middle of scene i in the montage
    axes[0].text(centre, -1.5, f"test scene {i}" + (" (worst)" if col >= 4 else ""),
                 ha="center", fontsize=9)  # fmt: skip
    axes[2].text(centre, 33, f"{wrong[i]} wrong pixels", ha="center", va="top", fontsize=9)
    axes[3].text(centre, 33, f"mean {pixel_loss[i].mean():.3f}", ha="center", va="top",
                 fontsize=9)  # fmt: skip
for ax, name in zip(axes, ["image", "truth", "prediction", "loss per pixel"]):
    ax.set_axis_off()
    ax.text(-2, 16, name, rotation=90, ha="right", va="center")
axes[3].apply_aspect()  # the montage's own box, so that the colour bar matches its height
bottom_row = axes[3].get_position()
colorbar_axes = fig.add_axes((0.92, bottom_row.y0, 0.012, bottom_row.height))
fig.colorbar(loss_image, cax=colorbar_axes, label="-log p(true class)")
fig.legend(handles, seg_names, loc="lower center", ncol=4)
fig.suptitle("Semantic segmentation of test scenes: truth and prediction")
plt.show()
# the outline band: pixels whose 3x3 neighbourhood in the true mask holds two classes
padded = np.pad(truth, ((0, 0), (1, 1), (1, 1)), mode="edge")
neighbourhoods = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))
outline = neighbourhoods.max(axis=(-2, -1)) != neighbourhoods.min(axis=(-2, -1))
errors = seg_pred != truth
on_outline = errors[outline].sum() / errors.sum()
loss_on_outline = pixel_loss[outline].sum() / pixel_loss.sum()
objects_confused = (errors & (truth > 0) & (seg_pred > 0)).sum() / errors.sum()
print(f"outline band: {outline.mean():.1%} of the pixels, {on_outline:.1%} of the errors, "
      f"{loss_on_outline:.1%} of the loss; object given another object's class: "
      f"{objects_confused:.1%} of the errors")  # fmt: skip
if not cl.is_grading():
    cl.claim("typical scenes: a few wrong pixels", wrong[:4].max(), high=30)
    cl.claim("the outline band: fewer than one pixel in ten", outline.mean(), high=0.1)
    cl.claim("most wrong pixels lie on the outlines", on_outline, low=0.8)
    cl.claim("confusions between object classes are rare", objects_confused, high=0.1)
    cl.claim("most of the loss sits on the outlines", loss_on_outline, low=0.6)
    for i in show[4:]:  # the two worst scenes: two objects a few pixels apart, one class spilt
        cl.claim(f"worst scene {i}: two objects", len(seg_test.boxes[i]), equals=2)
        a, b = seg_test.boxes[i]
        gap = np.max(np.r_[b[:2] - a[2:], a[:2] - b[2:]])  # pixels between the two boxes
        cl.claim(f"worst scene {i}: the objects at most 4 pixels apart", gap, high=4)
        spilt = (seg_pred[i] > 0) & (truth[i] > 0) & (seg_pred[i] != truth[i])
        cl.claim(f"worst scene {i}: object pixels given another object's class", spilt.sum(),
                 low=10)  # fmt: skip

# %% [markdown]
# On typical scenes the predicted mask matches the truth up to a few pixels along the outlines,
# where the mask rule (a pixel belongs to an object if the object covers at least half of it)
# is hard to read through the noise; the loss maps glow along the outlines and stay dark
# elsewhere. The printout measures it: the band of pixels next to an outline holds fewer than
# one pixel in ten, yet most wrong pixels and most of the loss lie in it, and an object given
# another object's class is rare. The two worst scenes show where such confusions gather: in
# both, two objects lie at most a few pixels apart, and part of one object is painted with another
# object's class. Every output pixel is decided from a window of its surroundings (18 x 18 pixels
# at the 8 x 8 maps), and next to another object that window holds the evidence of both.

# %% [markdown]
# ## 5. Transfer learning: reuse a trained network
#
# Apart from the detector of section 3, every network so far started from random weights and
# learned from hundreds or thousands of labelled images. Real projects rarely have that many
# labels, and training a large network from scratch on a few hundred images over-fits. The
# standard answer is **transfer learning**: take a network trained on a large data set for
# another task (for images, usually ImageNet), keep what it learned, and adapt it to your task.
# It works because the first layers of a convnet learn general-purpose features (edges, corners,
# blobs: notebook 05 showed them), while the later layers become specific to the classes they
# were trained on.
# [Yosinski et al. (2014), "How transferable are features in deep neural
# networks?"](https://arxiv.org/abs/1411.1792) measured this layer by layer, and
# [Razavian et al. (2014)](https://arxiv.org/abs/1403.6382) showed that the features of an
# ImageNet network with a simple linear classifier on top beat many hand-designed methods. The
# CS231n notes on [transfer learning](https://cs231n.github.io/transfer-learning/) give the
# practical rules. There are two ways to reuse a network:
#
# - **Frozen features + a new linear head.** Cut off the last layer (its classes are not ours),
#   run the images through the rest, unchanged, and train only a new last layer on these
#   features. Few parameters to learn, so few labels are needed; but the features stay what
#   they were for the old task.
# - **Fine-tuning.** Replace the last layer, then train the whole network on the new task, the
#   pretrained layers with a **smaller learning rate** (a tenth, say) than the new head: they
#   start from good values and should move a little, while the head starts from random values
#   and must move a lot.
#
# We measure both against training the same architecture **from scratch**, as a function of the
# number of labelled images per class.
#
# **A network that ships with cnnlab.** Downloading an ImageNet network is not possible offline,
# so cnnlab ships a small one: `cl.models.pretrained("shapes4")` is the course network of notebook
# 03 (two conv-pool blocks, a hidden layer of 32 units) trained on 4000 images of four shape
# classes. (It is rebuilt from a fixed seed by `python -m cnnlab.pretrain shapes4`; nothing is
# downloaded.) Our target task is the **four other** classes of `make_shapes`: similar images, new
# classes.

# %%
source_net = cl.models.pretrained("shapes4")
print(cl.models.PRETRAINED["shapes4"])
source_net.summary((1, 16, 16))
source_classes = ("circle", "triangle", "vertical bar", "cross")
target_classes = ("ring", "square", "horizontal bar", "diagonal bar")
X_source, y_source = cl.data.make_shapes(8, size=16, seed=5, classes=source_classes)
X_pool, y_pool, X_target_test, y_target_test = cl.data.shapes_split(
    1000, 500, size=16, seed=100, classes=target_classes
)
first = [int(np.flatnonzero(y_source == k)[0]) for k in range(4)]
first_target = [int(np.flatnonzero(y_pool == k)[0]) for k in range(4)]
fig, axes = plt.subplots(2, 1, figsize=(7, 3.7))  # one montage of four images per row
fig.subplots_adjust(left=0.02, right=0.98, top=0.86, bottom=0.02, hspace=0.22)  # fixed layout
for ax, images, names, role in [(axes[0], X_source[first], source_classes, "source"),
                                (axes[1], X_pool[first_target], target_classes, "target")]:  # fmt: skip
    ax.imshow(montage(images[:, 0], gap=4), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    for col, name in enumerate(names):
        ax.text(col * 20 + 7.5, -1, f"{role}: {name}", ha="center", fontsize=9)
fig.suptitle("The pretrained network's task (top) and ours (bottom)")
plt.show()
cl.claim("the target classes are new", set(source_classes) & set(target_classes), equals=set())
cl.claim(
    "trained on 4000 images", "4000 training images" in cl.models.PRETRAINED["shapes4"], equals=True
)
cl.claim("a pool of 1000 target images, 500 test images", (len(y_pool), len(y_target_test)),
         equals=(1000, 500))  # fmt: skip
cl.claim("9,604 parameters, 132 in the last layer", (source_net.num_params(),
         source_net[9].num_params()), equals=(9604, 132))  # fmt: skip

# %% [markdown]
# The network has never seen a ring, a square or a horizontal or diagonal bar, but it has seen
# strokes, edges, round outlines and corners. Its layers are numbered as in the summary: the
# parameters are called `"0.w"`, `"0.b"` (the first convolution), `"3.w"`, `"3.b"`, `"7.w"`,
# `"7.b"` and `"9.w"`, `"9.b"` (the last layer, whose four outputs are the old classes). For
# our task we keep layers 0-8 and put a new `Linear(32, 4)` at index 9.
#
# **Telling the optimiser which layers to move.** The optimisers of `cnnlab.optim` take a
# learning-rate multiplier per parameter:
# `cl.optim.Adam(model.params, lr=0.01, lr_scale={"0.": 0.1, "3.": 0.1})` trains the parameters
# whose names start with `"0."` or `"3."` at a tenth of the rate, and every other parameter at the full rate. The rules: a key is a **prefix** of
# parameter names; when several keys match a name the longest one wins; a name that matches no key
# keeps the full rate; every key must match at least one parameter (the optimiser raises
# `ValueError` otherwise); and a multiplier of 0 **freezes** the parameter (no update at all, not
# even from Adam's momentum).
#
# **Worked example.** In the transfer model above (layers 0-8 pretrained, the new head at 9),
# `finetune_lr_scale(model, 9, 0.1)` must give multiplier 0.1 to `"0.w"`, `"0.b"`, `"3.w"`,
# `"3.b"`, `"7.w"`, `"7.b"` and 1 to `"9.w"`, `"9.b"`. Both `{"0.": 0.1, "3.": 0.1, "7.": 0.1}`
# and `{"": 0.1, "9.": 1.0}` do that (the empty prefix matches every name). Beware of a prefix
# without its dot: in a network of 12 layers, `"1"` matches `"1.w"` but also `"10.w"` and
# `"11.w"`.
#
# ### Exercise 10: `finetune_lr_scale` (2 points)
#
# Return the `lr_scale` dictionary for a model whose layers `0 .. n_pretrained - 1` are
# pretrained: under the rules above, every parameter of those layers must get the multiplier
# `scale` and every parameter of the later layers 1, and every key must match at least one
# parameter of `model`. Section 5's experiment passes your dictionary to Adam.
#
# <details><summary>Hint 1</summary>
#
# Layers that keep the full rate need no key at all, and one key per pretrained layer is enough:
# a prefix matches every parameter of its layer. `model.params` lists every parameter name; the
# names start with the layer index and a dot (`"3.w"`), so a key built the same way matches the
# parameters of exactly one layer.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# The layers `0, 1, ..., n_pretrained - 1` are pretrained: `range(n_pretrained)`. Not every layer
# has parameters (`model.layers[i].params` is empty for ReLU, pooling, Flatten), and a key for a
# layer without parameters matches nothing: leave it out.
#
# </details>


# %% nbgrader={"grade": false, "grade_id": "finetune_lr_scale", "locked": false, "schema_version": 3, "solution": true, "task": false}
def finetune_lr_scale(model, n_pretrained, scale):
    """The lr_scale of a cnnlab optimiser for fine-tuning a network with a new head.

    Parameters
    ----------
    model : cnnlab.nn.Sequential
        Layers 0 .. n_pretrained - 1 come from a pretrained network; the later layers are new.
    n_pretrained : int
        Number of pretrained layers at the start of model.layers (counting every layer, with
        or without parameters).
    scale : float
        Learning-rate multiplier of the pretrained layers (0 freezes them).

    Returns
    -------
    dict of str -> float
        Name prefixes -> multipliers, as ``cnnlab.optim`` reads them (the longest matching
        prefix wins; names that match none keep multiplier 1; every prefix must match at least
        one parameter): every parameter of the pretrained layers gets ``scale``, every
        parameter of the new layers 1.
    """
    ### BEGIN SOLUTION
    return {f"{i}.": float(scale) for i in range(n_pretrained) if model.layers[i].params}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_finetune_lr_scale", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np

import cnnlab as cl
import cnnlab.testing as T
from cnnlab import nn


def multipliers(model, lr_scale, label):
    """Each parameter's multiplier under lr_scale, by the optimiser's rule (checked first)."""
    T.assert_true(
        isinstance(lr_scale, dict) and all(isinstance(k, str) for k in lr_scale),
        f"{label}: expected a dict with str keys (name prefixes), got {lr_scale!r}",
    )
    for key, value in lr_scale.items():
        T.assert_true(
            isinstance(value, (int, float)) and not isinstance(value, bool),
            f"{label}: the multiplier of {key!r} must be a number, got {value!r}",
        )
        T.assert_true(
            any(name.startswith(key) for name in model.params),
            f"{label}: the key {key!r} matches no parameter (the optimiser would raise ValueError)",
            hint="only layers with parameters need a key; ReLU, pooling and Flatten have none",
        )
    return cl.optim.SGD(model.params, lr=1.0, lr_scale=lr_scale).scales


def check(model, n_pretrained, scale, label):
    """Compare the multipliers finetune_lr_scale gives every parameter; name the mistakes."""
    names = list(model.params)
    layer = {name: int(name.split(".")[0]) for name in names}
    with_params = [i for i in range(len(model.layers)) if model.layers[i].params]
    expected = [scale if layer[n] < n_pretrained else 1.0 for n in names]
    wrong = {
        "one layer too many": [scale if layer[n] <= n_pretrained else 1.0 for n in names],
        "one layer too few": [scale if layer[n] < n_pretrained - 1 else 1.0 for n in names],
        "swapped": [1.0 if layer[n] < n_pretrained else scale for n in names],
        "weights only": [scale if layer[n] < n_pretrained and n.endswith(".w") else 1.0
                         for n in names],
        "counted with params": [scale if layer[n] in with_params[:n_pretrained] else 1.0
                                for n in names],
        "no dot": [scale if any(n.startswith(str(i)) for i in range(n_pretrained)) else 1.0
                   for n in names],
    }  # fmt: skip
    mistakes = [
        ("layer n_pretrained is the first NEW layer: the pretrained ones are 0 .. n_pretrained "
         "- 1, range(n_pretrained)", wrong["one layer too many"]),
        ("the last pretrained layer (n_pretrained - 1) was left out: use range(n_pretrained)",
         wrong["one layer too few"]),
        ("scale belongs to the PRETRAINED layers and 1 to the new ones, not the other way round",
         wrong["swapped"]),
        ("only the weights got the scale: the biases of a layer ('3.b') belong to it too (use "
         "the prefix '3.')", wrong["weights only"]),
        ("n_pretrained counts every layer of model.layers, with or without parameters, not only "
         "the layers with parameters", wrong["counted with params"]),
        ("a key without its dot: '1' is a prefix of '1.w' but also of '10.w' and '11.w'; use "
         "'1.'", wrong["no dot"]),
    ]  # fmt: skip
    by_result = {}  # mistakes that give the same multipliers share one message
    for hint, wrong in mistakes:
        if wrong != expected:
            by_result.setdefault(tuple(wrong), []).append(hint)
    mistakes = [(" Or: ".join(hints), list(wrong)) for wrong, hints in by_result.items()]
    lr_scale = finetune_lr_scale(model, n_pretrained, scale)
    got = multipliers(model, lr_scale, label)
    T.assert_allclose(
        [got[n] for n in names],
        expected,
        name=f"multiplier of each parameter {names} ({label})",
        hint=f"parameters of layers 0 .. {n_pretrained - 1} get {scale}, later ones 1",
        mistakes=mistakes,
    )


# The transfer model of section 5: layers 0-8 pretrained, a new Linear head at index 9.
rng = np.random.default_rng(0)
transfer_model = nn.Sequential(
    nn.Conv2d(1, 8, 3, pad=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2, stride=2),
    nn.Conv2d(8, 16, 3, pad=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2, stride=2), nn.Flatten(),
    nn.Linear(256, 32, rng=rng), nn.ReLU(), nn.Linear(32, 4, rng=rng),
)  # fmt: skip
check(transfer_model, 9, 0.1, "finetune_lr_scale(transfer_model, 9, 0.1)")
check(transfer_model, 9, 0.0, "finetune_lr_scale(transfer_model, 9, 0.0): frozen")
# Freeze the first 4 layers of a 13-layer network (layer 3, a convolution, is the last one):
# layer indices 1 and 10-12 share their first digit.
deep = nn.Sequential(
    nn.Conv2d(1, 4, 3, pad=1, rng=rng), nn.Conv2d(4, 4, 3, pad=1, rng=rng), nn.ReLU(),
    nn.Conv2d(4, 4, 3, pad=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2, stride=2), nn.Flatten(),
    nn.Linear(64, 16, rng=rng), nn.ReLU(), nn.Linear(16, 16, rng=rng), nn.ReLU(),
    nn.Linear(16, 8, rng=rng), nn.Linear(8, 3, rng=rng),
)  # fmt: skip
check(deep, 4, 0.0, "finetune_lr_scale(deep, 4, 0.0), 13 layers")
### BEGIN HIDDEN TESTS
check(deep, 12, 0.25, "finetune_lr_scale(deep, 12, 0.25)")
check(deep, 1, 0.5, "finetune_lr_scale(deep, 1, 0.5)")
check(deep, 13, 0.0, "finetune_lr_scale(deep, 13, 0.0): everything frozen")
check(deep, 0, 0.1, "finetune_lr_scale(deep, 0, 0.1): nothing pretrained")
# end to end: Adam with the answer's lr_scale moves the new layers only
lr_scale = finetune_lr_scale(transfer_model, 9, 0.0)
before = {k: v.copy() for k, v in transfer_model.params.items()}
opt = cl.optim.Adam(transfer_model.params, lr=0.1, lr_scale=lr_scale)
opt.step({k: np.ones_like(v) for k, v in transfer_model.params.items()})
moved = [k for k, v in transfer_model.params.items() if not np.array_equal(v, before[k])]
T.assert_equal(
    moved,
    ["9.w", "9.b"],
    name="parameters that one Adam step with finetune_lr_scale(transfer_model, 9, 0.0) moved",
    hint="with scale 0 only the new layer 9 may move",
)
### END HIDDEN TESTS

# %% [markdown]
# **The experiment: frozen, fine-tuned, from scratch.** For k labelled images per class (k = 3, 10
# and 100, drawn from a pool of 1000 target images), three networks of the same architecture,
# trained with Adam for about 100 steps:
#
# - **frozen**: the pretrained layers 0-8 with your `finetune_lr_scale(model, 9, 0.0)`, so only
#   the new head learns (learning rate 0.01). Since the frozen layers never change (and this
#   network has no dropout or batch norm), their output, 32 features per image, is computed
#   once and the head is trained on the features directly: the same computation at a fraction
#   of the cost (the cell checks it once against the whole model trained with your scale 0);
# - **fine-tuned**: all layers, the new head at 0.01 and the pretrained ones at a tenth of it,
#   `finetune_lr_scale(model, 9, 0.1)`;
# - **from scratch**: the same architecture from a fresh random initialisation, at learning rate
#   0.002 (each method's rate here is the one `benchmarks/transfer_study.py` picked for it from a
#   grid, on its own runs, not on this test set).
#
# Each is repeated with 2 seeds (other labelled images, other initialisation of the new layers)
# and measured on 500 test images of the target classes. A second target shows the other side:
# the **8x8 digits** (each pixel repeated 2x2 to make 16x16 images), a task unlike the shapes,
# with 30 labelled digits per class. The whole study takes well under half a minute.


# %%
import copy


def labelled_subset(X, y, k, rng):
    """k images of every class, drawn without replacement."""
    idx = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), k, replace=False) for c in np.unique(y)]
    )
    return X[idx], y[idx]


def train_for(model, lr, lr_scale, X, y, steps, seed):
    """About ``steps`` Adam steps on mini-batches of min(32, N) images."""
    batch = min(32, len(y))
    epochs = max(1, round(steps / -(-len(y) // batch)))
    opt = cl.optim.Adam(model.params, lr=lr, lr_scale=lr_scale)
    cl.train.fit(model, opt, X, y, epochs=epochs, batch_size=batch, seed=seed, progress=False)
    return model


def with_new_head(num_classes, seed):
    """The pretrained network with a new, randomly initialised head at index 9."""
    model = copy.deepcopy(source_net)  # a fresh copy every call; source_net stays as loaded
    model.layers[9] = nn.Linear(32, num_classes, seed=seed)
    return model.train()


def run_frozen(task, X, y, steps, seed):
    model = with_new_head(task["classes"], seed)
    body = nn.Sequential(*model.layers[:9]).eval()
    head = train_for(model.layers[9], 0.01, None, body(X), y, steps, seed)
    return cl.train.evaluate(head, task["features_test"], task["y_test"])[1]


def run_finetuned(task, X, y, steps, seed):
    model = with_new_head(task["classes"], seed)
    train_for(model, 0.01, finetune_lr_scale(model, 9, 0.1), X, y, steps, seed)
    return cl.train.evaluate(model, task["X_test"], task["y_test"])[1]


def run_scratch(task, X, y, steps, seed):
    model = cl.models.course_convnet((1, 16, 16), task["classes"], (8, 16), hidden=(32,), seed=seed)
    train_for(model, 0.002, None, X, y, steps, seed)
    return cl.train.evaluate(model, task["X_test"], task["y_test"])[1]


X_dig, y_dig, X_dig_test, y_dig_test = cl.data.load_digits()
upsample = lambda X: X.repeat(2, axis=2).repeat(2, axis=3).astype(np.float32)  # noqa: E731
tasks = {
    "shapes": dict(X=X_pool, y=y_pool, X_test=X_target_test, y_test=y_target_test, classes=4),
    "digits": dict(X=upsample(X_dig), y=y_dig, X_test=upsample(X_dig_test), y_test=y_dig_test,
                   classes=10),
}  # fmt: skip
frozen_body = nn.Sequential(*copy.deepcopy(source_net).layers[:9]).eval()
for task in tasks.values():  # what the frozen layers make of the test images, computed once
    task["features_test"] = frozen_body(task["X_test"])
plan = [("shapes", 3), ("shapes", 10), ("shapes", 100), ("digits", 30)]
methods = {"frozen features": run_frozen, "fine-tuned": run_finetuned, "from scratch": run_scratch}
n_seeds, n_steps = (2, 30) if cl.is_grading() else (2, 100)
t0 = time.process_time()  # CPU time of this process: other programs running meanwhile do not count
transfer = {name: np.zeros((len(plan), n_seeds)) for name in methods}
for row, (target, k) in enumerate(plan):
    task = tasks[target]
    for seed in range(n_seeds):
        X_k, y_k = labelled_subset(task["X"], task["y"], k, np.random.default_rng(seed))
        for name, run in methods.items():
            transfer[name][row, seed] = run(task, X_k, y_k, n_steps, seed)
transfer_seconds = time.process_time() - t0
print(f"{len(plan) * n_seeds * len(methods)} trainings in {transfer_seconds:.1f} s of CPU time")
# the shortcut of run_frozen against the whole model trained with your lr_scale of 0 (20 steps)
X_k, y_k = labelled_subset(X_pool, y_pool, 10, np.random.default_rng(0))
whole, shortcut = with_new_head(4, 0), with_new_head(4, 0)
train_for(whole, 0.01, finetune_lr_scale(whole, 9, 0.0), X_k, y_k, 20, 0)
train_for(shortcut.layers[9], 0.01, None, frozen_body(X_k), y_k, 20, 0)
shortcut_gap = max(np.abs(whole.params[k] - shortcut.params[k]).max() for k in whole.params)
print(f"whole model with scale 0 vs features computed once: weights differ by {shortcut_gap:.1e}")
print(f"{'target, labels/class':>22} " + " ".join(f"{name:>16}" for name in methods))
for row, (target, k) in enumerate(plan):
    cells = [f"{100 * r[row].mean():6.1f} +- {100 * r[row].std():3.1f}" for r in transfer.values()]
    print(f"{target + ', ' + str(k):>22} " + " ".join(f"{c:>16}" for c in cells))

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5), width_ratios=[2, 1])
fig.subplots_adjust(top=0.85, wspace=0.2)  # a fixed layout: cheaper to draw than a layout engine
for (name, acc), marker in zip(transfer.items(), "osD"):
    mean = 100 * acc.mean(axis=1)
    spread = np.stack([mean - 100 * acc.min(axis=1), 100 * acc.max(axis=1) - mean])
    ax1.errorbar([3, 10, 100], mean[:3], yerr=spread[:, :3], marker=marker, capsize=4, label=name)
    k = list(methods).index(name)
    ax2.bar(k, mean[3], yerr=spread[:, 3:], capsize=4, color=f"C{k}")
ax1.axhline(25, color="gray", ls=":", label="chance (4 classes)")
ax1.set_xscale("log")
ax1.set_xticks([3, 10, 100], ["3", "10", "100"])
ax1.set_xlabel("labelled training images per class (log scale)")
ax1.set_ylabel("test accuracy (%)")
ax1.set_title("Similar task: 4 new shape classes")
ax1.legend()
ax2.axhline(10, color="gray", ls=":")
ax2.set_xticks(range(3), list(methods))
ax2.set_ylim(0, 100)
ax2.set_ylabel("test accuracy (%), chance 10 %")
ax2.set_title("Dissimilar task: digits, 30 labels per class")
fig.suptitle(f"Transfer from the shapes4 network: mean and range over {n_seeds} seeds")
plt.show()
gain = {name: 100 * (transfer[name] - transfer["from scratch"]).mean(axis=1)
        for name in ("frozen features", "fine-tuned")}  # fmt: skip
best_gain = np.maximum(gain["frozen features"], gain["fine-tuned"])
print("best transfer minus scratch (points):", dict(zip(plan, np.round(best_gain, 1))))
acc = {name: 100 * r.mean(axis=1) for name, r in transfer.items()}  # mean accuracy in %
if not cl.is_grading():
    cl.claim("the study takes well under half a minute", transfer_seconds, high=25)
    cl.claim("computing the frozen features once gives the same result", shortcut_gap, high=1e-5)
    cl.claim("3 labels: transfer wins by 10 points or more", best_gain[0], low=10)
    cl.claim("10 labels: transfer wins by 5 points or more", best_gain[1], low=5)
    cl.claim("each training repeated with 2 seeds", n_seeds, equals=2)
    cl.claim("3 labels: frozen beats scratch with both seeds",
             (transfer["frozen features"][0] - transfer["from scratch"][0]).min(), low=0.05)  # fmt: skip
    cl.claim("3 labels: scratch about 63 %", acc["from scratch"][0], low=58, high=68)
    cl.claim("3 labels: frozen about 83 %", acc["frozen features"][0], low=75, high=90)
    cl.claim("3 labels: fine-tuning also far ahead of scratch", gain["fine-tuned"][0], low=8)
    cl.claim("3 labels: fine-tuning falls behind freezing",
             acc["frozen features"][0] - acc["fine-tuned"][0], low=2)  # fmt: skip
    cl.claim("10 labels: both ways of transfer clearly ahead",
             min(gain["frozen features"][1], gain["fine-tuned"][1]), low=5)  # fmt: skip
    cl.claim("100 labels: transfer gains only a few points", best_gain[2], high=4)
    cl.claim("the gap shrinks from 10 to 100 labels", best_gain[1] - best_gain[2], low=4)
    cl.claim("100 labels: all three above 94 %", min(a[2] for a in acc.values()), low=94)
    cl.claim("100 labels: the frozen features are no longer ahead of scratch",
             gain["frozen features"][2], high=1.5)  # fmt: skip
    cl.claim("100 labels: fine-tuning adds what the frozen features cannot",
             acc["fine-tuned"][2] - acc["frozen features"][2], low=1.5)  # fmt: skip
    cl.claim("digits: frozen shape features lose more than 15 points", gain["frozen features"][3],
             high=-15)  # fmt: skip
    cl.claim("digits: fine-tuning does not beat scratch", gain["fine-tuned"][3], high=0)

# %% [markdown]
# Read the left panel from left to right. With **3 labelled images per class** (12 in all)
# the network trained from scratch reaches about 63 %: it must learn its filters, and everything
# after them, from 12 images. The pretrained features make the same 12 images worth much more:
# a linear head on the frozen features reaches about 83 %, ahead of the scratch network with
# both seeds. Fine-tuning is also far ahead, but behind freezing: moving all 9,604 parameters
# on 12 images pulls the good features towards what fits these 12, while the frozen network
# learns only the 132 parameters of its head. With **10 per class** both ways of transfer are
# still clearly ahead (the printout gives the margins).
#
# With **100 per class** the gap has almost closed: all three methods are above 94 %, the
# scratch network has enough examples to learn its own features and comes within a few points
# of the fine-tuned one, and the frozen features are no longer ahead of it. They were learned to
# separate circles, triangles, vertical bars and crosses, and whatever the new classes need
# beyond that, a linear head on them cannot add; fine-tuning can, because it lets the features
# change.
#
# The right panel is the **dissimilar task**. On the digits the frozen shape features lose more
# than 15 points to the scratch network, and fine-tuning does not beat it either: strokes at
# the scale of a shape and filled blobs are not what tells a 3 from an 8, and starting from them
# is no better than starting from random weights. [Yosinski et al.
# (2014)](https://arxiv.org/abs/1411.1792) measured the same on ImageNet: features transfer worse
# the more distant the two tasks are, and the later (more specific) the layer.
#
# The usual rules follow: the fewer the labels and the closer the tasks, the more a pretrained
# network is worth, and the more of it should be kept as it is; with many labels, fine-tune
# everything; for a distant task, keep only the first layers or train from scratch.
# `benchmarks/transfer_study.py` in the course repository runs the full study (1 to 100 labels
# per class, 5 seeds, both targets).
#
# ## Summary
#
# - **Four tasks, four outputs**: a label (classification), a label and a box (localization),
#   a list of scored, labelled boxes (detection), a label per pixel (semantic segmentation).
# - **Localization** adds a box head to a classifier and trains both heads on one multi-task
#   loss, cross-entropy plus a weighted smooth L1 on the box; boxes are compared with the
#   **IoU**, area of the intersection over area of the union.
# - **Detection** slides the classifier over a larger image in one pass once its fully
#   connected layers are written as convolutions, turns the score map into boxes, removes
#   duplicates with **non-maximum suppression** and is scored by **average precision**, the area
#   under the interpolated precision-recall curve, at IoU 0.5.
# - **Semantic segmentation** labels every pixel. A fully convolutional **encoder-decoder**
#   shrinks the maps to see context and brings them back up with **transposed convolutions**:
#   the input gradient of a convolution used as a layer, whose backward pass is the convolution
#   itself. Kernel 4, stride 2, pad 1 doubles the size exactly and covers the canvas evenly.
# - It trains with the **cross-entropy at every pixel**, averaged over all labelled pixels of
#   the batch, and is measured with the **mean IoU** over classes, pooled over all images:
#   pixel accuracy rewards the "all background" answer.
# - **Transfer learning** reuses a trained network: frozen features with a new head, or
#   fine-tuning with a smaller learning rate for the pretrained layers. It helps most when
#   labels are few and the tasks are similar; with enough labels a network trained from
#   scratch catches up, and frozen features fall behind; from a dissimilar task it does not
#   help at all.
