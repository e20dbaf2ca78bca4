"""A character-level LSTM learns to write the Zen of Python.

    python examples/char_lstm.py [--steps 200] [--seed 0]

The text ships with Python itself: the ``this`` module holds the Zen
rot13-encoded (``this.s``) with its decoding table (``this.d``). Each step
trains on a batch of random 48-character windows to predict every next
character (embedding -> 1-layer LSTM of 128 units -> linear -> cross-entropy,
Adam, gradient clipping). Every so often the mean loss is printed with a
sample generated one character at a time from the prompt "Beautiful": the
samples go from noise to words to lines of the Zen as the loss falls (about
30 s for the 200 steps on two cores).
"""

import argparse
import contextlib
import io
import time

import numpy as np

import minigrad as mg
from minigrad import nn, optim


def zen_text() -> str:
    with contextlib.redirect_stdout(io.StringIO()):  # ``import this`` prints it
        import this
    return "".join(this.d.get(c, c) for c in this.s)


class CharLSTM(nn.Module):
    def __init__(self, vocab: int, embed: int = 32, hidden: int = 128) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.embed(idx), state)  # (B, T, hidden)
        return self.head(out), state  # logits (B, T, vocab)


def sample(model, stoi, itos, prompt, n, temperature, rng):
    """``prompt`` continued by ``n`` characters drawn one at a time, the LSTM
    state carried between steps."""
    model.eval()
    out = list(prompt)
    with mg.no_grad():
        logits, state = model(mg.tensor([[stoi[c] for c in prompt]]))
        for _ in range(n):
            z = logits.numpy()[0, -1].astype(np.float64) / temperature
            p = np.exp(z - z.max())
            c = int(rng.choice(len(p), p=p / p.sum()))
            out.append(itos[c])
            logits, state = model(mg.tensor([[c]]), state)
    model.train()
    return "".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq", type=int, default=48)
    args = parser.parse_args()

    mg.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    text = zen_text()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    itos = dict(enumerate(chars))
    data = np.array([stoi[c] for c in text], dtype=np.int64)
    print(f"{len(text)} characters of the Zen of Python, {len(chars)} distinct")

    model = CharLSTM(len(chars))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    report = max(1, args.steps // 8)
    samples_at = {args.steps // 4, args.steps // 2, args.steps}
    untrained = sample(model, stoi, itos, "Beautiful", 60, 0.6, rng)
    print("untrained sample: " + untrained.replace("\n", " / "))
    start, losses = time.perf_counter(), []
    for step in range(1, args.steps + 1):
        at = rng.integers(0, len(data) - args.seq - 1, args.batch)
        window = np.stack([data[a : a + args.seq + 1] for a in at])
        x, y = mg.tensor(window[:, :-1]), mg.tensor(window[:, 1:])
        logits, _ = model(x)
        loss = loss_fn(logits.reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % report == 0 or step in (1, args.steps):
            mean = float(np.mean(losses[-report:]))
            elapsed = time.perf_counter() - start
            print(f"step {step:4d}  loss {mean:.3f}  ({elapsed:.1f} s)")
        if step in samples_at:
            text_out = sample(model, stoi, itos, "Beautiful", 120, 0.6, rng)
            print("  sample: " + text_out.replace("\n", "\n          "))


if __name__ == "__main__":
    main()
