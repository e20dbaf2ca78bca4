"""minigrad.keras's Conv2D and pooling layers: Keras's shapes, parameter
counts, channels_last layout and TensorFlow's 'same' padding, checked against
hand-computed Keras values and direct numpy computations; a small CNN learns
the 8x8 digits; save / load keeps it."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.data import datasets
from minigrad.errors import ArgumentError, ShapeError
from minigrad.keras import optimizers
from minigrad.keras.layers import (
    AveragePooling2D,
    Conv2D,
    Dense,
    Flatten,
    GlobalAveragePooling2D,
    MaxPooling2D,
)
from minigrad.keras.models import Sequential, load_model


def _np_conv_nhwc(x, k, b, stride, padding):
    """A channels_last convolution as TensorFlow computes it: x (N, H, W, C),
    k (kh, kw, C, F); 'same' pads the extra row / column at the bottom / right."""
    n, h, w, _ = x.shape
    kh, kw, _, f = k.shape
    sh, sw = stride
    if padding == "same":
        oh, ow = -(-h // sh), -(-w // sw)
        ph = max((oh - 1) * sh + kh - h, 0)
        pw = max((ow - 1) * sw + kw - w, 0)
        x = np.pad(
            x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0))
        )
    else:
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros((n, oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :]
            out[:, i, j, :] = np.einsum("nhwc,hwcf->nf", patch, k)
    return out + b


@pytest.mark.parametrize(
    ("layer", "in_shape", "out_shape", "params"),
    [
        # Keras: Conv2D(32, 3) on (28, 28, 1) -> (None, 26, 26, 32), 3*3*1*32+32
        (lambda: Conv2D(32, 3), (28, 28, 1), (26, 26, 32), 320),
        (lambda: Conv2D(64, (3, 3), padding="same"), (13, 13, 32), (13, 13, 64), 18496),
        # TensorFlow 'same' with stride 2: ceil(13 / 2) = 7
        (lambda: Conv2D(8, 3, strides=2, padding="same"), (13, 13, 3), (7, 7, 8), 224),
        (lambda: Conv2D(4, (5, 3), strides=(2, 1)), (11, 9, 2), (4, 7, 4), 124),
        (lambda: Conv2D(6, 3, use_bias=False), (5, 5, 2), (3, 3, 6), 108),
        (lambda: MaxPooling2D(), (26, 26, 32), (13, 13, 32), 0),
        (lambda: MaxPooling2D((2, 2)), (7, 7, 5), (3, 3, 5), 0),
        (lambda: MaxPooling2D(2, padding="same"), (7, 7, 5), (4, 4, 5), 0),
        (lambda: MaxPooling2D(3, strides=1), (6, 6, 2), (4, 4, 2), 0),
        (lambda: AveragePooling2D(3, padding="same"), (7, 7, 64), (3, 3, 64), 0),
        (lambda: GlobalAveragePooling2D(), (5, 4, 7), (7,), 0),
    ],
)
def test_output_shape_and_param_count_as_keras(layer, in_shape, out_shape, params):
    lay = layer()
    model = Sequential([lay])
    model.build((None, *in_shape))
    assert lay.output_spec == out_shape
    assert lay.count_params() == params
    y = model.predict(np.zeros((2, *in_shape), np.float32))
    assert y.shape == (2, *out_shape)


def test_summary_shows_keras_shapes_and_counts(capsys):
    model = Sequential(
        [
            Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
            MaxPooling2D((2, 2)),
            Flatten(),
            Dense(10, activation="softmax"),
        ]
    )
    model.summary()
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if "(None" in line]
    assert [r[-1] for r in rows] == ["320", "0", "0", "54090"]
    assert "(None, 26, 26, 32)" in out
    assert "(None, 13, 13, 32)" in out
    assert "(None, 5408)" in out
    assert "Total params: 54,410" in out
    # Keras's names keep "2D" whole
    assert [r[0] for r in rows][:2] == [
        model.layers[0].name,
        model.layers[1].name,
    ]
    assert model.layers[0].name.startswith("conv2d")
    assert model.layers[1].name.startswith("max_pooling2d")


@pytest.mark.parametrize(
    ("kernel", "strides", "padding"),
    [(3, (1, 1), "valid"), ((2, 3), (2, 2), "same"), (3, (2, 1), "same")],
)
def test_conv_matches_numpy_channels_last(kernel, strides, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 7, 3)).astype(np.float32)
    layer = Conv2D(4, kernel, strides=strides, padding=padding, input_shape=(6, 7, 3))
    model = Sequential([layer, Flatten()])
    k, b = layer.get_weights()
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    assert k.shape == (kh, kw, 3, 4)
    assert np.all(b == 0)  # Keras's zero bias
    b = rng.standard_normal(4).astype(np.float32)
    layer.set_weights([k, b])
    want = _np_conv_nhwc(x.astype(np.float64), k, b, strides, padding)
    got = model.predict(x)
    # Flatten after a conv flattens in Keras's (H, W, C) order
    np.testing.assert_allclose(got, want.reshape(2, -1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        layer.kernel.numpy(), layer.get_weights()[0], rtol=0, atol=0
    )


def test_conv_kernel_is_glorot_uniform():
    mg.manual_seed(0)
    layer = Conv2D(64, 3, input_shape=(8, 8, 32))
    Sequential([layer])
    k = layer.get_weights()[0]
    # Keras: limit sqrt(6 / (fan_in + fan_out)), fans kh*kw*in and kh*kw*filters
    limit = np.sqrt(6.0 / (9 * 32 + 9 * 64))
    assert np.abs(k).max() <= limit
    assert np.abs(k).max() > 0.95 * limit


def _np_pool_same(x, size, stride, reduce):
    n, h, w, c = x.shape
    oh, ow = -(-h // stride), -(-w // stride)
    ph = max((oh - 1) * stride + size - h, 0)
    pw = max((ow - 1) * stride + size - w, 0)
    top, left = ph // 2, pw // 2
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * stride - top, j * stride - left
            win = x[:, max(r0, 0) : r0 + size, max(c0, 0) : c0 + size, :]
            out[:, i, j, :] = reduce(win, axis=(1, 2))
    return out


@pytest.mark.parametrize(
    ("cls", "reduce"), [(MaxPooling2D, np.max), (AveragePooling2D, np.mean)]
)
@pytest.mark.parametrize(("size", "stride"), [(2, 2), (3, 2), (3, 3)])
def test_same_pooling_ignores_padding_as_tensorflow(cls, reduce, size, stride):
    rng = np.random.default_rng(1)
    # negative inputs: a zero-padded max or a padding-counting mean would differ
    x = -np.abs(rng.standard_normal((2, 7, 5, 3))).astype(np.float32) - 1.0
    model = Sequential([cls(size, strides=stride, padding="same")])
    got = model.predict(x)
    want = _np_pool_same(x.astype(np.float64), size, stride, reduce)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_global_average_pooling_and_gradients_reach_the_input():
    rng = np.random.default_rng(2)
    x = mg.tensor(rng.standard_normal((2, 4, 5, 3)).astype(np.float32))
    x.requires_grad_(True)
    model = Sequential(
        [Conv2D(2, 2, padding="same"), MaxPooling2D(), GlobalAveragePooling2D()]
    )
    y = model(x)
    assert tuple(y.shape) == (2, 2)
    y.sum().backward()
    assert x.grad is not None
    assert x.grad.shape == (2, 4, 5, 3)
    gap = Sequential([GlobalAveragePooling2D()]).predict(x.numpy())
    np.testing.assert_allclose(gap, x.numpy().mean(axis=(1, 2)), rtol=1e-6)


def test_bad_arguments_and_shapes_raise():
    with pytest.raises(ArgumentError, match="filters"):
        Conv2D(0, 3)
    with pytest.raises(ArgumentError, match="padding"):
        Conv2D(4, 3, padding="full")
    with pytest.raises(ArgumentError, match="channels_last"):
        MaxPooling2D(data_format="channels_first")
    with pytest.raises(ShapeError, match="height, width, channels"):
        Sequential([Conv2D(4, 3, input_shape=(28, 28))])
    with pytest.raises(ShapeError, match="does not fit"):
        Sequential([Conv2D(4, 5, input_shape=(3, 3, 1))])


def _digits():
    pytest.importorskip("sklearn")
    ds = datasets.load_digits()
    x, y = (t.numpy() for t in ds.tensors)
    # a shuffled split (the file's last rows are other writers, a harder test)
    perm = np.random.default_rng(0).permutation(len(x))
    return (x / 16.0).reshape(-1, 8, 8, 1).astype(np.float32)[perm], y[perm]


def _cnn():
    return Sequential(
        [
            Conv2D(16, 3, activation="relu", padding="same", input_shape=(8, 8, 1)),
            MaxPooling2D((2, 2)),
            Flatten(),
            Dense(10, activation="softmax"),
        ]
    )


def test_small_cnn_learns_digits_and_save_load_round_trip(tmp_path):
    x, y = _digits()
    mg.manual_seed(0)
    model = _cnn()
    model.compile(
        optimizer=optimizers.Adam(learning_rate=0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x[:1400], y[:1400], epochs=10, batch_size=32, verbose=0)
    loss, acc = model.evaluate(x[1400:], y[1400:], verbose=0)
    assert acc >= 0.9

    path = tmp_path / "cnn.keras"
    model.save(path)
    again = load_model(path)
    assert [type(lay).__name__ for lay in again.layers] == [
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dense",
    ]
    conv = again.layers[0]
    assert (conv.filters, conv.kernel_size, conv.padding) == (16, (3, 3), "same")
    assert conv.activation_name == "relu"
    np.testing.assert_allclose(
        again.predict(x[1400:]), model.predict(x[1400:]), rtol=1e-6
    )
    loss2, acc2 = again.evaluate(x[1400:], y[1400:], verbose=0)
    assert acc2 == acc
    assert np.isclose(loss2, loss)


def test_save_load_keeps_pooling_and_stride_configs(tmp_path):
    model = Sequential(
        [
            Conv2D(
                3,
                (3, 2),
                strides=(2, 1),
                padding="same",
                use_bias=False,
                input_shape=(9, 8, 2),
            ),
            AveragePooling2D(3, strides=1, padding="same"),
            MaxPooling2D(2, strides=1),
            GlobalAveragePooling2D(),
        ]
    )
    path = tmp_path / "m.keras"
    model.save(path)
    again = load_model(path)
    for a, b in zip(model.layers, again.layers):
        assert type(a) is type(b)
        assert a.output_spec == b.output_spec
        assert a.get_config() | {"name": None} == b.get_config() | {"name": None}
    x = np.random.default_rng(3).standard_normal((2, 9, 8, 2)).astype(np.float32)
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)


def test_batch_normalization_after_conv_normalises_each_channel():
    from minigrad.keras.layers import BatchNormalization

    rng = np.random.default_rng(4)
    # channels with very different scales and offsets
    x = (
        rng.standard_normal((8, 5, 5, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -3.0]
    ).astype(np.float32)
    bn = BatchNormalization(input_shape=(5, 5, 3))
    model = Sequential([bn])
    assert bn.output_spec == (5, 5, 3)
    assert bn.count_params() == 12  # gamma, beta, moving mean and variance: 4 * 3
    y = model(mg.tensor(x), training=True).numpy()
    want = (x - x.mean(axis=(0, 1, 2))) / np.sqrt(x.var(axis=(0, 1, 2)) + 1e-3)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
    # the moving mean moves by 1 - momentum (Keras's 0.99) toward each channel's mean
    moving_mean = bn.get_weights()[2]
    np.testing.assert_allclose(moving_mean, 0.01 * x.mean(axis=(0, 1, 2)), rtol=1e-4)
