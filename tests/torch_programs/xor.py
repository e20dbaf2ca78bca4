# ruff: noqa: B007 - written as course programs are
# The classic XOR network: 2-4-1 with sigmoids, SGD with momentum, MSE.
import torch
import torch.nn as nn
import torch.optim as optim

X = torch.FloatTensor([[0, 0], [0, 1], [1, 0], [1, 1]])
Y = torch.FloatTensor([[0], [1], [1], [0]])


class XOR(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 4)
        self.fc2 = nn.Linear(4, 1)

    def forward(self, x):
        x = torch.tanh(self.fc1(x))
        return torch.sigmoid(self.fc2(x))


torch.manual_seed(42)
model = XOR()
loss_fn = nn.MSELoss()
optimizer = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)

losses = []
for epoch in range(300):
    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model(X), Y)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    losses.append(loss.item())

n_params = sum(p.numel() for p in model.parameters())
names = [name for name, _ in model.named_parameters()]
model.eval()
with torch.no_grad():
    outputs = model(X)
predictions = outputs.round().squeeze().tolist()
outputs = outputs.numpy()
