"""Solutions to the exercises of notebook 04 (convolution as unfold, matmul, fold)."""
import minigrad as mg
import minigrad.nn.functional as F


def unfold_strided(x, k, stride=1):
    """Exercise 2: (N, C, H, W) -> (N, C*k*k, Ho*Wo), one strided slice per kernel offset."""
    n, c, h, w = x.shape
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    taps = [x[:, :, a:a + stride * (ho - 1) + 1:stride, b:b + stride * (wo - 1) + 1:stride]
            for a in range(k) for b in range(k)]
    return mg.stack(taps, dim=2).reshape(n, c * k * k, ho * wo)


def conv2d_strided(x, w, stride=1):
    """Exercise 2: a strided convolution as one matmul with the strided columns."""
    o, _, k, _ = w.shape
    cols = unfold_strided(x, k, stride)
    ho, wo = (x.shape[2] - k) // stride + 1, (x.shape[3] - k) // stride + 1
    return (w.reshape(o, -1) @ cols).reshape(x.shape[0], o, ho, wo)


def conv2d_weight_grad(x, g, k):
    """Exercise 1: dL/dW = sum_n G_n U(x)_n^T, shape (O, C, k, k), for g of shape (N, O, Ho, Wo)."""
    n, o = g.shape[:2]
    cols = unfold_strided(x, k)                                   # (N, C*k*k, L)
    per_sample = g.reshape(n, o, -1) @ cols.transpose(1, 2)       # (N, O, C*k*k)
    return per_sample.sum(0).reshape(o, x.shape[1], k, k)


def conv_transpose_as_conv(g, w):
    """Exercise 3: conv_transpose2d(g, w) (stride 1, no padding) as a conv2d of g padded by k - 1
    with the kernel flipped and its channel axes swapped; w is (in, out, k, k)."""
    k = w.shape[2]
    return F.conv2d(F.pad(g, (k - 1, k - 1, k - 1, k - 1)), w.flip((2, 3)).transpose(0, 1))
