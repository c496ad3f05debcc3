"""Recording layer outputs: the values recorded are the layers' outputs, the network is left as found."""
import pytest
import torch
from torch import nn

from scatlab.errors import InvalidParameterError
from scatlab.theory.activations import layer_activations


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.Tanh(), nn.Linear(5, 3))


def test_records_the_chosen_outputs_and_restores_the_mode():
    model = _net().train()
    x = torch.randn(9, 3, 2, 2)
    hidden, logits = layer_activations(model, x, [model[2], model[3]], batch_size=4)
    torch.testing.assert_close(hidden, torch.tanh(model[1](x.flatten(1))))
    torch.testing.assert_close(logits, model(x))
    assert model.training


def test_stop_skips_the_later_layers_and_keeps_the_layout():
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 2))
    calls = []
    model[3].register_forward_hook(lambda *_: calls.append(1))
    x = torch.randn(5, 1, 4, 4)
    (out,) = layer_activations(model, x, [model[1]], batch_size=2, flatten=False, stop=True)
    assert out.shape == (5, 3, 4, 4) and not calls
    torch.testing.assert_close(out, torch.relu(model[0](x)))
    (both,) = layer_activations(model, x, [model[3]], batch_size=2, stop=True)
    assert len(calls) == 3 and both.shape == (5, 2)


def test_bad_modules_name_the_parameter():
    model = nn.Linear(2, 2)
    with pytest.raises(InvalidParameterError, match="'modules'"):
        layer_activations(model, torch.zeros(3, 2), [])
    with pytest.raises(InvalidParameterError, match="submodules"):
        layer_activations(model, torch.zeros(3, 2), [nn.Tanh()])
    with pytest.raises(InvalidParameterError, match="'batch_size'"):
        layer_activations(model, torch.zeros(3, 2), [model], batch_size=0)
