# ruff: noqa: B007 - written as course programs are
# Logistic regression on two Gaussian blobs, full batch, plain SGD.
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(0)
X_np = np.vstack([rng.normal(-1.0, 1.0, (50, 2)), rng.normal(1.0, 1.0, (50, 2))])
y_np = np.array([0] * 50 + [1] * 50)

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
X = torch.FloatTensor(X_np).to(device)
y = torch.FloatTensor(y_np).view(-1, 1).to(device)


class LogisticRegression(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.linear = nn.Linear(n_features, 1)

    def forward(self, x):
        return torch.sigmoid(self.linear(x))


torch.manual_seed(0)
model = LogisticRegression(2).to(device)
criterion = nn.BCELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

losses = []
for epoch in range(100):
    optimizer.zero_grad()
    outputs = model(X)
    loss = criterion(outputs, y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())

model.eval()
with torch.no_grad():
    probabilities = model(X)
    predicted = (probabilities > 0.5).float()
    accuracy = (predicted == y).sum().item() / y.size(0)
probabilities = probabilities.cpu().numpy()
