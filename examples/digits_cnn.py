"""A small CNN classifies scikit-learn's 8x8 handwritten digits (about 99% on
test, in well under a minute on two cores).

    pip install 'minigrad[demo]'     # scikit-learn ships the digits
    python examples/digits_cnn.py [--epochs 15]

(1, 8, 8) -> Conv 3x3 (32, same) -> BatchNorm -> ReLU -> MaxPool 2 ->
Conv 3x3 (64, same) -> BatchNorm -> ReLU -> MaxPool 2 -> Flatten -> Linear 10,
cross-entropy, Adam, mini-batches of 32; 80% of the 1797 images train, 20%
test. The layers are PyTorch's: the same model runs there with `mg` -> `torch`.
"""

import argparse
import time

import minigrad as mg
from minigrad import nn, optim
from minigrad.data import DataLoader, datasets, random_split
from minigrad.train import evaluate, fit

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=15)
args = parser.parse_args()

mg.manual_seed(0)
digits = datasets.load_digits(flatten=False)  # X: (1797, 8, 8) in [0, 1]
train, test = random_split(digits, [0.8, 0.2])
train_loader = DataLoader(train, batch_size=32, shuffle=True)
test_loader = DataLoader(test, batch_size=len(test))

model = nn.Sequential(
    nn.Unflatten(1, (1, 8)),  # (N, 8, 8) -> (N, 1, 8, 8)
    nn.Conv2d(1, 32, 3, padding="same"),
    nn.BatchNorm2d(32),
    nn.ReLU(),
    nn.MaxPool2d(2),  # 4x4
    nn.Conv2d(32, 64, 3, padding="same"),
    nn.BatchNorm2d(64),
    nn.ReLU(),
    nn.MaxPool2d(2),  # 2x2
    nn.Flatten(),
    nn.Linear(64 * 2 * 2, 10),
)
print(model)
opt = optim.Adam(model.parameters(), lr=3e-3)
loss_fn = nn.CrossEntropyLoss()
start = time.perf_counter()
fit(model, loss_fn, opt, train_loader, args.epochs, metrics=["accuracy"])
elapsed = time.perf_counter() - start
result = evaluate(model, test_loader, loss_fn, metrics=["accuracy"])
print(result)
print(f"trained {args.epochs} epochs in {elapsed:.1f} s")
