# ruff: noqa: B007 - written as course programs are
# An MLP classifier on three blobs: a Dataset subclass, DataLoader with
# shuffling, cross-entropy, Adam, a decorated evaluation function.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset, TensorDataset

rng = np.random.default_rng(1)
centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
X_np = np.concatenate([rng.normal(c, 1.0, (60, 2)) for c in centers]).astype(np.float32)
y_np = np.repeat(np.arange(3), 60)


class BlobDataset(Dataset):
    def __init__(self, X, y):
        self.X = torch.from_numpy(X)
        self.y = torch.LongTensor(y)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, idx):
        return self.X[idx], self.y[idx]


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(2, 16)
        self.out = nn.Linear(16, 3)

    def forward(self, x):
        return self.out(F.relu(self.hidden(x)))


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    correct, total = 0, 0
    for xb, yb in loader:
        pred = model(xb).argmax(dim=1)
        correct += (pred == yb).sum().item()
        total += yb.size(0)
    return correct / total


torch.manual_seed(0)
train_loader = DataLoader(
    BlobDataset(X_np, y_np), batch_size=16, shuffle=True, drop_last=True
)
test_loader = DataLoader(
    TensorDataset(torch.tensor(X_np), torch.tensor(y_np)), batch_size=64
)
model = MLP()
criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=0.01)

n_batches = len(train_loader)
epoch_losses = []
for epoch in range(15):
    model.train()
    running = 0.0
    for inputs, labels in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
        running += loss.item()
    epoch_losses.append(running / n_batches)

accuracy = evaluate(model, test_loader)
