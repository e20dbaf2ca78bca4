"""``minigrad.keras``: Keras's model-building and training API, as a thin layer
over :mod:`minigrad.nn`, :mod:`minigrad.optim` and :mod:`minigrad.train`.

Change ``tensorflow.keras`` (or ``keras``) to ``minigrad.keras`` in a course's
imports::

    from minigrad.keras.models import Sequential
    from minigrad.keras.layers import Dense

    model = Sequential([Dense(4, activation="relu", input_shape=(2,)),
                        Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(X, y, epochs=100, verbose=0)

Defaults are Keras's (Glorot-uniform kernels, zero biases, Keras's learning
rates); see Note [Logits behind the output layer] in
:mod:`minigrad.keras.losses` for how binary / categorical cross-entropy after a
sigmoid / softmax output is computed.
"""

from minigrad.keras import (
    activations,
    callbacks,
    layers,
    losses,
    metrics,
    models,
    optimizers,
)
from minigrad.keras.layers import Input
from minigrad.keras.models import Sequential, load_model

__all__ = [
    "Input",
    "Sequential",
    "activations",
    "callbacks",
    "layers",
    "load_model",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "utils",
]
