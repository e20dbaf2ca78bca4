"""The PyTorch names beginner programs use: devices, cuda, the legacy
constructors, ``Tensor(...)``'s rules, ``.to(...)`` forms, ``from_numpy``,
``minigrad.utils.data``."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def test_cuda_is_not_available():
    assert mg.cuda.is_available() is False
    assert mg.cuda.device_count() == 0


def test_device_objects_compare_like_pytorch():
    assert mg.device("cpu") == "cpu" == mg.device(mg.device("cpu"))
    assert str(mg.device("cuda:1")) == "cuda:1"
    assert mg.device("cuda", 0).index == 0
    assert repr(mg.device("cpu")) == "device(type='cpu')"
    assert mg.tensor([1.0]).device == mg.device("cpu")
    with pytest.raises(ValueError, match="tpu"):
        mg.device("tpu")


def test_tensor_from_data_is_float32_like_torch_tensor():
    assert mg.Tensor([1, 2]).dtype == mg.float32
    assert mg.Tensor(np.arange(3)).dtype == mg.float32
    assert mg.Tensor([[True]]).dtype == mg.float32
    assert mg.Tensor([1, 2], dtype=mg.int64).dtype == mg.int64
    # mg.tensor keeps inferring the dtype
    assert mg.tensor([1, 2]).dtype == mg.int64


def test_tensor_of_sizes_is_a_float32_tensor_of_that_shape():
    t = mg.Tensor(3, 4)
    assert t.shape == (3, 4)
    assert t.dtype == mg.float32
    assert mg.Tensor().shape == (0,)
    assert mg.Tensor(np.int64(2)).shape == (2,)
    with pytest.raises(ValueError, match="negative"):
        mg.Tensor(2, -1)
    with pytest.raises(TypeError, match="Tensor"):
        mg.Tensor([1.0], [2.0])


def test_int_promotion_with_lists_is_unchanged():
    # ops turn list operands into arrays by mg.tensor's rules, not Tensor's
    t = mg.tensor([1, 2]) + [1, 2]  # noqa: RUF005 - a list operand
    assert t.dtype == mg.int64
    assert (np.array([[1, 2]]) @ mg.tensor([[1], [1]])).dtype == mg.int64


def test_legacy_constructors():
    f = mg.FloatTensor([[0, 1], [1, 0]])
    assert f.dtype == mg.float32
    assert f.shape == (2, 2)
    assert mg.LongTensor([1.0, 2.0]).dtype == mg.int64
    assert mg.DoubleTensor(2, 3).dtype == mg.float64
    assert mg.FloatTensor(2, 3).shape == (2, 3)
    assert mg.LongTensor(mg.tensor([1.5])).tolist() == [1]
    assert mg.BoolTensor([1, 0]).tolist() == [True, False]


def test_to_accepts_pytorchs_forms():
    t = mg.tensor([1.0, 2.0])
    assert t.to("cpu") is t
    assert t.to(mg.device("cpu")) is t
    assert t.to(mg.float32) is t
    assert t.to("cpu", mg.float64).dtype == mg.float64
    assert t.to(device="cpu", dtype=mg.float64).dtype == mg.float64
    assert t.to(mg.tensor([1], dtype=mg.int64)).dtype == mg.int64
    assert t.cpu() is t


@pytest.mark.parametrize("dev", ["cuda", "cuda:0", "mps", 0])
def test_to_another_device_names_it(dev):
    t = mg.tensor([1.0])
    name = "cuda:0" if dev == 0 else dev
    with pytest.raises(RuntimeError, match=f"device '{name}' is not available"):
        t.to(mg.device(dev) if isinstance(dev, str) else dev)
    with pytest.raises(RuntimeError, match=r"Module\.to: device"):
        nn.Linear(1, 1).to(dev)


def test_cuda_methods_raise_clearly():
    with pytest.raises(RuntimeError, match=r"Tensor\.cuda: device 'cuda'"):
        mg.tensor([1.0]).cuda()
    with pytest.raises(RuntimeError, match=r"Module\.cuda: device 'cuda'"):
        nn.Linear(1, 1).cuda()


def test_module_to_device_and_dtype():
    m = nn.Linear(2, 1)
    w = m.weight
    assert m.to(mg.device("cpu")) is m
    assert m.weight.dtype == mg.float32
    assert m.to("cpu", mg.float64) is m
    assert m.weight is w
    assert w.dtype == mg.float64


def test_from_numpy_shares_memory():
    a = np.zeros(3, np.float32)
    t = mg.from_numpy(a)
    a[1] = 7
    assert t.tolist() == [0.0, 7.0, 0.0]
    t.data[2] = 1
    assert a[2] == 1
    with pytest.raises(TypeError, match="uint16"):
        mg.from_numpy(np.zeros(2, np.uint16))
    with pytest.raises(TypeError, match="list"):
        mg.from_numpy([1.0])


def test_tensor_round_has_no_grad_path():
    t = mg.tensor([0.4, 1.6, 2.5], requires_grad=True)
    assert t.round().tolist() == [0.0, 2.0, 2.0]
    assert mg.tensor([1.234]).round(decimals=1).tolist() == pytest.approx([1.2])


def test_utils_data_is_minigrad_data():
    from minigrad.utils.data import DataLoader, Dataset, TensorDataset

    assert DataLoader is mg.data.DataLoader
    assert Dataset is mg.data.Dataset
    assert TensorDataset is mg.data.TensorDataset


def test_save_and_load_with_a_pt_path(tmp_path):
    m = nn.Linear(3, 2)
    mg.save(m.state_dict(), tmp_path / "model.pt")
    sd = mg.load(str(tmp_path / "model.pt"))
    np.testing.assert_array_equal(sd["weight"].numpy(), m.weight.numpy())


def test_to_with_copy_returns_a_new_tensor():
    t = mg.tensor([1.0])
    c = t.to("cpu", copy=True)
    assert c is not t
    assert not np.shares_memory(c.data, t.data)


def test_functional_forms_of_tensor_methods():
    x = mg.randn(2, 3)
    assert mg.numel(x) == 6
    assert mg.squeeze(mg.unsqueeze(x, 0)).shape == (2, 3)
    assert mg.flatten(x).shape == (6,)
    assert mg.reshape(x, (3, 2)).shape == (3, 2)
    assert mg.transpose(x, 0, 1).shape == (3, 2)
    assert mg.permute(x, (1, 0)).shape == (3, 2)
    assert mg.mm(x, x.T).shape == (2, 2)
    with pytest.raises(ValueError, match="mm"):
        mg.mm(x, mg.ones(3))
    assert mg.is_tensor(x)
    assert not mg.is_tensor(x.numpy())
    assert mg.allclose(x, x + 1e-9)
    assert mg.empty(2, 2).shape == (2, 2)
    assert mg.rand_like(x).shape == x.shape
    assert mg.randn_like(x).dtype == x.dtype


def test_randperm_and_as_tensor():
    mg.manual_seed(0)
    p = mg.randperm(10)
    assert p.dtype == mg.int64
    assert sorted(p.tolist()) == list(range(10))
    a = np.arange(3.0, dtype=np.float32)
    t = mg.as_tensor(a)
    a[0] = 9
    assert t.tolist()[0] == 9
    assert mg.as_tensor(t) is t
    assert mg.as_tensor([1.0]).dtype == mg.float32


def test_inference_mode_disables_grad():
    with mg.inference_mode():
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
