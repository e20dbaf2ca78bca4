"""An MLP classifies scikit-learn's 8x8 handwritten digits (about 98% on test).

    pip install 'minigrad[demo]'     # scikit-learn ships the digits
    python examples/digits_mlp.py [--epochs 30] [--plot loss.png]

64 pixels -> 128 ReLU units -> 10 logits, cross-entropy, Adam, mini-batches of
32 from a shuffled DataLoader. 20% of the 1797 images are held out as the
test set, looked at once at the end; the validation set that fit() reports on
each epoch is a tenth of the remaining training images, so choices made by
watching it (the epoch count...) never see the test images.
"""

import argparse

import minigrad as mg
from minigrad import metrics, nn, optim
from minigrad.data import DataLoader, datasets, random_split
from minigrad.train import evaluate, fit

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--plot", metavar="PNG", help="save the loss curves here")
args = parser.parse_args()

mg.manual_seed(0)
digits = datasets.load_digits()  # X: (1797, 64) in [0, 1], y: (1797,) in 0..9
train_all, test = random_split(digits, [0.8, 0.2])
train, val = random_split(train_all, [0.9, 0.1])
print(f"{len(train)} images to train, {len(val)} to validate, {len(test)} to test")
train_loader = DataLoader(train, batch_size=32, shuffle=True)
val_loader = DataLoader(val, batch_size=len(val))
test_loader = DataLoader(test, batch_size=len(test))

model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
opt = optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
history = fit(
    model,
    loss_fn,
    opt,
    train_loader,
    args.epochs,
    val_loader=val_loader,
    metrics=["accuracy"],
)
result = evaluate(
    model, test_loader, loss_fn, metrics=["accuracy", "precision", "recall"]
)
print("test set:", {k: round(v, 4) for k, v in result.items()})

x_test, y_test = next(iter(test_loader))
model.eval()
with mg.no_grad():
    pred = model(x_test).argmax(dim=1)
print("confusion matrix (rows: true digit, columns: predicted digit)")
print(metrics.confusion_matrix(y_test, pred))

if args.plot:
    from minigrad.plot import plot_history

    plot_history(history, args.plot, title="digits MLP")
    print(f"loss curves saved to {args.plot}")
