"""The PyTorch names that issue 14 lists, and whether minigrad has each one.

    python tools/api_table.py           # rewrites docs/api.md
    python tools/api_table.py --check   # exits 1 if docs/api.md is out of date

Each entry names the places PyTorch puts the name (``torch.X``, ``Tensor.X``,
``torch.nn.functional.X``, ``torch.nn.X``, ``torch.linalg.X``,
``torch.nn.utils.rnn.X``); minigrad must have it in the same places
(``mg.X``, ``mg.Tensor.X``, ...). A name minigrad lacks needs a line in
``REASONS`` saying why; tests/test_api_table.py checks both, and (with PyTorch
installed) that PyTorch really has every name where this table says.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

# Where PyTorch has a name: t = torch.X, m = Tensor.X, f = torch.nn.functional.X,
# n = torch.nn.X, l = torch.linalg.X, r = torch.nn.utils.rnn.X.
PLACES = {
    "t": ("torch", "minigrad"),
    "m": ("torch.Tensor", "minigrad.Tensor"),
    "f": ("torch.nn.functional", "minigrad.nn.functional"),
    "n": ("torch.nn", "minigrad.nn"),
    "l": ("torch.linalg", "minigrad.linalg"),
    "r": ("torch.nn.utils.rnn", "minigrad.nn.utils.rnn"),
}


def _entries(places: str, names: str) -> list[tuple[str, str]]:
    return [(name, places) for name in names.split()]


SECTIONS: dict[str, list[tuple[str, str]]] = {
    "Math": _entries(
        "tm",
        "sin cos tan asin acos atan atan2 sinh cosh asinh acosh atanh exp2 expm1 "
        "log2 log10 log1p rsqrt reciprocal square erf erfc erfinv lgamma digamma "
        "hypot logaddexp xlogy lerp addcmul addcdiv fmod remainder floor ceil "
        "round trunc frac sign sgn copysign nan_to_num clip clamp",
    ),
    "Reductions and scans": _entries(
        "tm",
        "prod cumsum cumprod cummax cummin logcumsumexp norm "
        "median nanmean nansum amax amin aminmax count_nonzero all any mode",
    )
    + _entries("t", "std_mean var_mean")
    + _entries("l", "vector_norm matrix_norm"),
    "Comparison and tests": _entries(
        "tm",
        "eq ne lt le gt ge isclose allclose equal isnan isinf isfinite "
        "logical_and logical_or logical_xor logical_not bitwise_and bitwise_or "
        "bitwise_xor bitwise_not bitwise_left_shift bitwise_right_shift",
    )
    + _entries("m", "__lshift__ __rshift__"),
    "Indexing and selection": _entries(
        "tm",
        "gather scatter scatter_add scatter_reduce index_select index_add "
        "index_fill masked_fill masked_select masked_scatter take take_along_dim "
        "nonzero argwhere where sort argsort topk kthvalue unique",
    )
    + _entries("t", "searchsorted bucketize"),
    "Shape and layout": _entries(
        "tm",
        "flip fliplr flipud roll repeat_interleave tile tril triu diag diagonal "
        "diag_embed trace narrow chunk tensor_split unbind movedim swapaxes t "
        "broadcast_to flatten unflatten squeeze outer inner dot vdot kron cross "
        "bmm baddbmm addmm",
    )
    + _entries("m", "repeat unfold mT view_as expand_as reshape_as")
    + _entries(
        "t",
        "broadcast_tensors meshgrid hstack vstack dstack column_stack atleast_1d "
        "atleast_2d atleast_3d einsum tensordot",
    ),
    "Linear algebra": _entries("l", "inv det slogdet solve cholesky qr svd eigh pinv"),
    "nn.functional": _entries(
        "f",
        "elu selu celu mish relu6 hardtanh hardswish hardsigmoid hardshrink "
        "softshrink tanhshrink logsigmoid softsign softmin glu prelu rrelu gelu "
        "threshold normalize cosine_similarity pairwise_distance one_hot embedding "
        "dropout dropout1d dropout2d dropout3d alpha_dropout kl_div "
        "poisson_nll_loss gaussian_nll_loss margin_ranking_loss "
        "hinge_embedding_loss triplet_margin_loss cosine_embedding_loss "
        "multilabel_soft_margin_loss soft_margin_loss multi_margin_loss "
        "scaled_dot_product_attention",
    ),
    "nn modules": _entries(
        "n",
        "Softmax2d Identity Bilinear MultiheadAttention TransformerEncoderLayer "
        "ELU SELU CELU Mish ReLU6 Hardtanh Hardswish Hardsigmoid Hardshrink "
        "Softshrink Tanhshrink LogSigmoid Softsign Softmin GLU PReLU RReLU "
        "Threshold CosineSimilarity PairwiseDistance KLDivLoss PoissonNLLLoss "
        "GaussianNLLLoss MarginRankingLoss HingeEmbeddingLoss TripletMarginLoss "
        "CosineEmbeddingLoss MultiLabelSoftMarginLoss SoftMarginLoss "
        "MultiMarginLoss",
    ),
    "Recurrent layers": _entries("n", "RNN LSTM GRU RNNCell LSTMCell GRUCell")
    + _entries("r", "pad_sequence"),
    "Factories and conversion": _entries(
        "t",
        "from_numpy as_tensor full full_like empty eye linspace logspace arange "
        "zeros_like ones_like rand_like randn_like randint_like randint randperm "
        "normal tril_indices triu_indices",
    )
    + _entries("tm", "multinomial bernoulli clone")
    + _entries(
        "m",
        "tolist numpy contiguous type to double float half long int bool "
        "element_size nelement dim ndimension stride is_contiguous data_ptr",
    ),
    "Dtypes": _entries(
        "t",
        "uint8 int8 int16 int32 int64 float16 float32 float64 bool bfloat16 "
        "result_type promote_types can_cast finfo iinfo",
    ),
    "In place": _entries(
        "m",
        "add_ sub_ mul_ div_ clamp_ masked_fill_ scatter_ scatter_add_ index_add_ "
        "index_fill_ copy_ fill_ zero_ uniform_ normal_",
    ),
}

# Why minigrad leaves out a name the lists ask for (one line each).
REASONS: dict[str, str] = {
    "lgamma": "optional in the issue; not implemented yet",
    "digamma": "optional in the issue; not implemented yet",
    "mode": "optional in the issue; not implemented yet",
    "bfloat16": "numpy has no bfloat16; ml_dtypes' is not a numpy floating kind, so "
    "numpy's math would not treat it as a float (mg.bfloat16 is absent and "
    "dtype='bfloat16' raises an error saying so)",
}


def _resolve(dotted: str) -> object:
    """The object a dotted path names (a module or an attribute), or None."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr, None)
        return obj
    return None


def has(name: str, places: str, side: int) -> dict[str, bool]:
    """For each place code, whether the library (0 torch, 1 minigrad) has it."""
    return {p: hasattr(_resolve(PLACES[p][side]), name) for p in places}


def render() -> str:
    lines = [
        "# PyTorch names and minigrad",
        "",
        "Generated by `python tools/api_table.py` (checked by "
        "tests/test_api_table.py): every PyTorch name that issue 14 lists, where "
        "PyTorch has it, and whether minigrad has it in the same places.",
        "",
    ]
    total = present = 0
    for section, entries in SECTIONS.items():
        lines += [f"## {section}", "", "| name | where | minigrad |", "|---|---|---|"]
        for name, places in entries:
            found = has(name, places, 1)
            where = ", ".join(f"{PLACES[p][0]}.{name}" for p in places)
            missing = [p for p, ok in found.items() if not ok]
            total += 1
            if not missing:
                present += 1
                status = "yes"
            else:
                where_missing = ", ".join(PLACES[p][1] for p in missing)
                reason = REASONS.get(name, "MISSING (no reason given)")
                status = f"no ({where_missing}): {reason}"
            lines.append(f"| `{name}` | {where} | {status} |")
        lines.append("")
    lines.insert(4, f"minigrad has {present} of the {total} names.\n")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    out = root / "docs" / "api.md"
    text = render()
    if "--check" in argv:
        if not out.exists() or out.read_text() != text:
            print(f"{out} is out of date: run python tools/api_table.py")
            return 1
        return 0
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
