"""minigrad.keras: Keras programs (logic gates, XOR, exam scores, digits) reach
their accuracies; losses, metrics, callbacks, save / load."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import minigrad as mg
from minigrad import keras
from minigrad.data import datasets
from minigrad.keras import callbacks, layers, losses, metrics, optimizers
from minigrad.keras.layers import Dense, Dropout, Input
from minigrad.keras.models import Sequential, load_model

GATE_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)


@pytest.mark.parametrize(("gate", "y"), [("AND", [0, 0, 0, 1]), ("OR", [0, 1, 1, 1])])
def test_logic_gate_with_one_sigmoid_neuron(gate, y):
    mg.manual_seed(0)
    model = Sequential()
    model.add(Dense(1, input_dim=2, activation="sigmoid"))
    model.compile(
        optimizer=optimizers.SGD(learning_rate=1.0),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(GATE_X, np.array(y), epochs=200, batch_size=4, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    assert (model.predict(GATE_X).ravel() > 0.5).astype(int).tolist() == y


def test_xor():
    mg.manual_seed(1)
    model = Sequential(
        [
            Input(shape=(2,)),
            Dense(8, activation="tanh"),
            Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=optimizers.Adam(learning_rate=0.05),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    h = model.fit(GATE_X, np.array([0, 1, 1, 0]), epochs=300, batch_size=4, verbose=0)
    loss, acc = model.evaluate(GATE_X, np.array([0, 1, 1, 0]), verbose=0)
    assert acc == 1.0
    assert loss == pytest.approx(h.history["loss"][-1], rel=0.5)
    assert loss < 0.05
    pred = model.predict(GATE_X)
    assert isinstance(pred, np.ndarray)
    assert pred.shape == (4, 1)


def _exam():
    x, y = datasets.exam_scores(200).tensors
    return x.numpy(), y.numpy()


def test_exam_scores_learn_from_raw_scores():
    x, y = _exam()
    mg.manual_seed(0)
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(2,))])
    model.compile(
        optimizer=optimizers.Adam(learning_rate=0.01),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x[:150], y[:150], epochs=300, batch_size=16, verbose=0)
    assert model.evaluate(x[:150], y[:150], verbose=0)[1] >= 0.85
    assert model.evaluate(x[150:], y[150:], verbose=0)[1] >= 0.85


def test_binary_crossentropy_after_a_sigmoid_is_computed_from_the_logits():
    # raw exam scores into one sigmoid neuron saturate it: z = -60 for a student
    # who passed. From the clipped probability the loss would be -log(1e-7) = 16.1
    # with no gradient; Keras (and minigrad.keras) use the logit: loss 60.
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(2,))])
    model.compile(optimizers.SGD(learning_rate=1e-4), "binary_crossentropy")
    model.set_weights([np.array([[-0.5], [-0.5]]), np.array([0.0])])
    x = np.array([[60.0, 60.0]], np.float32)
    assert model.evaluate(x, np.array([1.0])) == pytest.approx(60.0, rel=1e-5)
    assert model.predict(x)[0, 0] == pytest.approx(0.0, abs=1e-20)
    model.fit(x, np.array([1.0]), epochs=1, verbose=0)
    w, _ = model.get_weights()
    # the gradient of the logit loss is (sigmoid(z) - 1) * x = -60 per weight
    np.testing.assert_allclose(w.ravel(), [-0.5 + 60e-4] * 2, rtol=1e-4)


def test_probability_loss_saturates_where_the_logit_loss_does_not():
    z = mg.tensor([[-60.0], [60.0]], requires_grad=True)
    y = mg.tensor([[1.0], [0.0]])
    losses.binary_crossentropy(y, z.sigmoid()).sum().backward()
    assert np.all(z.grad.numpy() == 0)  # clipped: no gradient at all
    z.grad = None
    per = losses.binary_crossentropy(y, z, from_logits=True)
    per.sum().backward()
    assert per.tolist() == pytest.approx([60.0, 60.0])
    assert z.grad.numpy().ravel().tolist() == pytest.approx([-1.0, 1.0])


def test_digits_sparse_categorical():
    pytest.importorskip("sklearn")
    ds = datasets.load_digits()
    x, y = (t.numpy() for t in ds.tensors)
    x = x / 16.0
    mg.manual_seed(0)
    model = Sequential(
        [
            Dense(32, activation="relu", input_shape=(64,)),
            Dropout(0.1),
            Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=optimizers.Adam(learning_rate=0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    h = model.fit(
        x[:1400], y[:1400], epochs=20, batch_size=32, validation_split=0.2, verbose=0
    )
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert h.history["val_accuracy"][-1] >= 0.92
    _, acc = model.evaluate(x[1400:], y[1400:], verbose=0)
    assert acc >= 0.85
    probs = model.predict(x[1400:1405])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_categorical_crossentropy_with_one_hot_targets():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 2)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    onehot = np.eye(3, dtype=np.float32)[labels]
    mg.manual_seed(0)
    model = Sequential(
        [Dense(16, activation="relu", input_dim=2), Dense(3, activation="softmax")]
    )
    model.compile(optimizers.Adam(0.05), losses.CategoricalCrossentropy(), ["accuracy"])
    model.fit(x, onehot, epochs=40, verbose=0)
    assert model.evaluate(x, onehot)[1] >= 0.9


def test_losses_match_their_definitions():
    y = np.array([[1.0], [0.0]], np.float32)
    p = np.array([[0.8], [0.3]], np.float32)
    want = -np.mean([np.log(0.8), np.log(0.7)])
    assert losses.BinaryCrossentropy()(y, p).item() == pytest.approx(want, rel=1e-5)
    z = np.log(p / (1 - p))
    got = losses.BinaryCrossentropy(from_logits=True)(y, z).item()
    assert got == pytest.approx(want, rel=1e-5)
    assert losses.get("mse")(y, p).item() == pytest.approx((0.04 + 0.09) / 2)
    probs = np.array([[0.7, 0.2, 0.1]], np.float32)
    sparse = losses.sparse_categorical_crossentropy([1], probs).item()
    assert sparse == pytest.approx(-np.log(0.2), rel=1e-5)
    cat = losses.categorical_crossentropy([[0, 1, 0]], probs).item()
    assert cat == pytest.approx(-np.log(0.2), rel=1e-5)


def test_accuracy_follows_the_loss_and_precision_recall():
    assert isinstance(metrics.get("accuracy", "binary", (1,)), metrics.BinaryAccuracy)
    assert isinstance(
        metrics.get("accuracy", "sparse", (3,)), metrics.SparseCategoricalAccuracy
    )
    assert isinstance(
        metrics.get("accuracy", "categorical", (3,)), metrics.CategoricalAccuracy
    )
    y = np.array([1, 1, 0, 0, 1])
    p = np.array([0.9, 0.2, 0.6, 0.1, 0.7])
    assert metrics.Precision()(y, p) == pytest.approx(2 / 3)
    assert metrics.Recall()(y, p) == pytest.approx(2 / 3)


def test_compile_and_fit_with_precision_recall_names():
    x, y = _exam()
    mg.manual_seed(0)
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(2,))])
    model.compile(
        "adam",
        "binary_crossentropy",
        metrics=["accuracy", metrics.Precision(), metrics.Recall()],
    )
    h = model.fit(x, y, epochs=2, verbose=0, validation_data=(x[:20], y[:20]))
    assert set(h.history) == {
        "loss",
        "accuracy",
        "precision",
        "recall",
        "val_loss",
        "val_accuracy",
        "val_precision",
        "val_recall",
    }
    res = model.evaluate(x, y, verbose=0)
    assert len(res) == 4


def test_evaluate_without_metrics_is_a_float():
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    out = model.evaluate(GATE_X, np.zeros(4))
    assert isinstance(out, float)


def test_keras_defaults():
    assert optimizers.get("sgd").learning_rate == 0.01
    assert optimizers.get("adam").learning_rate == 0.001
    assert optimizers.get("rmsprop").learning_rate == 0.001
    layer = Dense(50, input_shape=(200,))
    Sequential([layer])
    w, b = layer.get_weights()
    assert w.shape == (200, 50)
    assert np.all(b == 0)
    limit = np.sqrt(6 / 250)
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.9 * limit  # uniform over the whole Glorot range


def test_summary_prints_keras_table(capsys):
    model = Sequential(
        [
            Dense(4, activation="relu", input_shape=(2,)),
            layers.BatchNormalization(),
            Dense(1, activation="sigmoid"),
        ]
    )
    model.summary()
    out = capsys.readouterr().out
    assert 'Model: "' in out
    assert "Layer (type)" in out
    assert "(None, 4)" in out
    # 12 + (4 gamma + 4 beta + 8 moving statistics) + 5
    assert "Total params: 33" in out
    assert "Trainable params: 25" in out
    assert "Non-trainable params: 8" in out


def test_summary_of_an_unbuilt_model_raises():
    with pytest.raises(ValueError, match="not yet been built"):
        Sequential([Dense(2)]).summary()


def _plateau_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    return x, y


def test_early_stopping_stops_and_restores_best_weights():
    x, y = _plateau_data()
    mg.manual_seed(0)
    model = Sequential([Dense(1, input_shape=(3,))])
    # a rate this large diverges: the loss rises after the first epoch
    model.compile(optimizers.SGD(learning_rate=1.5), "mse")
    seen = []
    stop = callbacks.EarlyStopping(
        monitor="loss", patience=2, restore_best_weights=True
    )
    keep = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(model.get_weights())
    )
    h = model.fit(
        x, y, epochs=50, batch_size=64, shuffle=False, verbose=0, callbacks=[keep, stop]
    )
    assert len(h.history["loss"]) < 50
    assert stop.stopped_epoch == len(h.history["loss"]) - 1
    best = int(np.argmin(h.history["loss"]))
    assert stop.best_epoch == best
    for got, want in zip(model.get_weights(), seen[best]):
        np.testing.assert_array_equal(got, want)


def test_model_checkpoint_keeps_the_best_weights(tmp_path):
    x, y = _plateau_data()
    mg.manual_seed(0)
    model = Sequential([Dense(1, input_shape=(3,))])
    model.compile(optimizers.SGD(learning_rate=1.5), "mse")
    path = tmp_path / "best.keras"
    seen = []
    cb = callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=True)
    keep = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(model.get_weights())
    )
    h = model.fit(
        x, y, epochs=6, batch_size=64, shuffle=False, verbose=0, callbacks=[keep, cb]
    )
    best = int(np.argmin(h.history["loss"]))
    assert best < 5  # the run diverged after its best epoch
    restored = load_model(path)
    for got, want in zip(restored.get_weights(), seen[best]):
        np.testing.assert_array_equal(got, want)


def test_reduce_lr_on_plateau_lowers_the_rate():
    x, y = _plateau_data()
    mg.manual_seed(0)
    model = Sequential([Dense(1, input_shape=(3,))])
    model.compile(optimizers.SGD(learning_rate=1.5), "mse")
    cb = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.1, patience=1)
    h = model.fit(
        x, y, epochs=8, batch_size=64, shuffle=False, verbose=0, callbacks=[cb]
    )
    assert model.optimizer.learning_rate < 1.5
    assert min(h.lr) < 1.5
    assert h.lr[0] == 1.5


def test_learning_rate_scheduler_and_csv_logger(tmp_path):
    x, y = _plateau_data()
    model = Sequential([Dense(1, input_shape=(3,))])
    model.compile(optimizers.SGD(learning_rate=0.1), "mse")
    log = tmp_path / "log.csv"
    h = model.fit(
        x,
        y,
        epochs=3,
        verbose=0,
        validation_split=0.25,
        callbacks=[
            callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1)),
            callbacks.CSVLogger(log),
        ],
    )
    assert h.lr == pytest.approx([0.1, 0.05, 0.1 / 3])
    rows = list(csv.DictReader(log.open()))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert float(rows[2]["val_loss"]) == pytest.approx(h.history["val_loss"][2])


def test_save_and_load_model_round_trip(tmp_path):
    mg.manual_seed(0)
    model = Sequential(
        [
            Dense(4, activation="relu", input_shape=(2,)),
            Dropout(0.2),
            Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizers.Adam(learning_rate=0.01), "binary_crossentropy", metrics=["accuracy"]
    )
    model.fit(GATE_X, np.array([0, 1, 1, 1]), epochs=5, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    with open(path, "rb") as f:
        assert b"pickle" not in f.read()
    restored = keras.models.load_model(path)
    np.testing.assert_array_equal(restored.predict(GATE_X), model.predict(GATE_X))
    assert restored.optimizer.learning_rate == pytest.approx(0.01)
    assert [type(layer).__name__ for layer in restored.layers] == [
        "Dense",
        "Dropout",
        "Dense",
    ]
    assert restored.evaluate(GATE_X, np.array([0, 1, 1, 1])) == pytest.approx(
        model.evaluate(GATE_X, np.array([0, 1, 1, 1]))
    )


def test_to_categorical():
    from minigrad.keras.utils import to_categorical

    out = to_categorical([[2], [0]])
    assert out.dtype == np.float32
    assert out.tolist() == [[0, 0, 1], [1, 0, 0]]
    assert to_categorical([1], num_classes=4).shape == (1, 4)
    with pytest.raises(ValueError, match="out of range"):
        to_categorical([5], num_classes=3)


def test_layers_build_from_the_first_batch_and_chain_shapes():
    model = Sequential(
        [
            layers.Flatten(),
            Dense(3, activation="relu"),
            layers.BatchNormalization(),
            layers.Activation("tanh"),
            Dense(2, activation="softmax"),
        ]
    )
    assert not model.built
    x = np.random.default_rng(0).random((6, 2, 2)).astype(np.float32)
    out = model.predict(x)
    assert model.built
    assert out.shape == (6, 2)
    assert [layer.output_spec for layer in model.layers] == [
        (4,),
        (3,),
        (3,),
        (3,),
        (2,),
    ]
    assert mg.keras.Sequential is Sequential


def test_keras_names_and_weights_layout():
    a, b = Dense(2, input_dim=3), Dense(1)
    model = Sequential([a, b])
    assert a.name.startswith("dense")
    assert b.name.startswith("dense_")
    assert a.name != b.name
    assert [w.shape for w in model.get_weights()] == [(3, 2), (2,), (2, 1), (1,)]
    with pytest.raises(ValueError, match="expected shape"):
        a.set_weights([np.zeros((2, 3)), np.zeros(2)])
    with pytest.raises(ValueError, match="expected 4 arrays"):
        model.set_weights([np.zeros((3, 2))])


def test_helpful_errors():
    with pytest.raises(ValueError, match="unknown name 'relux'"):
        Dense(2, activation="relux")
    model = Sequential([Dense(1, input_shape=(2,))])
    with pytest.raises(ValueError, match="compile"):
        model.fit(GATE_X, np.zeros(4), verbose=0)
    with pytest.raises(ValueError, match="unknown loss"):
        model.compile("adam", "hinge_of_doom")
    with pytest.raises(ValueError, match="unknown optimizer"):
        model.compile("adamw2", "mse")
    with pytest.raises(ValueError, match="unknown metric"):
        model.compile("adam", "mse", metrics=["acuracy"])
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match="4 samples but y has 3"):
        model.fit(GATE_X, np.zeros(3), verbose=0)
    with pytest.raises(TypeError, match=r"minigrad\.keras layer"):
        Sequential([mg.nn.Linear(2, 1)])


def test_load_model_rejects_other_files(tmp_path):
    path = tmp_path / "weights.safetensors"
    mg.save({"w": mg.zeros(2)}, path)
    with pytest.raises(ValueError, match="not written by"):
        load_model(path)


def test_save_weights_and_load_weights(tmp_path):
    mg.manual_seed(0)
    a = Sequential([Dense(3, input_shape=(2,)), Dense(1)])
    b = Sequential([Dense(3, input_shape=(2,)), Dense(1)])
    a.save_weights(tmp_path / "w.safetensors")
    b.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(a.predict(GATE_X), b.predict(GATE_X))


def test_set_random_seed_makes_fit_repeatable():
    from minigrad.keras.utils import set_random_seed

    def run():
        set_random_seed(3)
        model = Sequential(
            [
                Dense(4, activation="relu", input_shape=(2,)),
                Dropout(0.5),
                Dense(1, activation="sigmoid"),
            ]
        )
        model.compile("adam", "binary_crossentropy")
        return model.fit(
            GATE_X, np.array([0, 1, 1, 0]), epochs=3, batch_size=2, verbose=0
        ).history["loss"]

    assert run() == run()
