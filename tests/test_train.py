"""dlbook.train: the shared loop learns, repeats exactly with a seed, and reports divergence."""
import numpy as np
import pytest
import torch

from dlbook import data, train


def _digits(n=400):
    X, y = data.load_digits()
    return X[:n], y[:n]


def test_fit_learns_digits_and_is_reproducible():
    X, y = _digits()
    runs = []
    for _ in range(2):
        train.seed_everything(0)
        net = train.mlp([64, 32, 10], "relu").double()
        runs.append(train.fit(net, X, y, lr=0.1, num_epochs=15, batch_size=32, momentum=0.9, progress=False))
    assert runs[0]["train_loss"] == runs[1]["train_loss"]
    assert runs[0]["train_loss"][-1] < 0.3 * runs[0]["train_loss"][0]
    assert runs[0]["train_acc"][-1] > 0.9
    assert train.accuracy(net, X, y) == pytest.approx(runs[1]["train_acc"][-1])


def test_fit_matches_a_hand_written_sgd_loop():
    X, y = _digits(64)
    train.seed_everything(1)
    net = train.mlp([64, 10], "linear").double()
    ref = train.mlp([64, 10], "linear").double()
    ref.load_state_dict(net.state_dict())
    train.fit(net, X, y, lr=0.5, num_epochs=1, batch_size=64, progress=False)  # one full-batch step
    loss = torch.nn.functional.cross_entropy(ref(torch.tensor(X)), torch.tensor(y))
    loss.backward()
    with torch.no_grad():
        for p in ref.parameters():
            p -= 0.5 * p.grad
    for p, q in zip(net.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)


def test_divergence_is_recorded_not_raised():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    train.seed_everything(0)
    net = train.mlp([3, 16, 1], "relu").double()
    h = train.fit(net, X, y[:, None], lr=1e3, num_epochs=20, loss="mse", progress=False)
    assert h["diverged_at"] is not None
    assert len(h["train_loss"]) == h["diverged_at"] + 1


@pytest.mark.parametrize("kwargs, arg", [
    ({"lr": -0.1}, "lr"), ({"lr": 0.0}, "lr"), ({"num_epochs": 0}, "num_epochs"),
    ({"batch_size": 0}, "batch_size"), ({"loss": "hinge"}, "loss"), ({"optimizer": "lbfgs"}, "optimizer"),
])
def test_bad_arguments_raise_value_error(kwargs, arg):
    X, y = _digits(32)
    net = train.mlp([64, 10]).double()
    with pytest.raises(ValueError, match=arg):
        train.fit(net, X, y, progress=False, **kwargs)


def test_bad_data_and_sizes_raise_value_error():
    net = train.mlp([64, 10]).double()
    X, y = _digits(32)
    with pytest.raises(ValueError, match="X"):
        train.fit(net, np.full_like(X, np.nan), y, progress=False)
    with pytest.raises(ValueError, match="same length"):
        train.fit(net, X, y[:-1], progress=False)
    with pytest.raises(ValueError, match="sizes"):
        train.mlp([64])
    with pytest.raises(ValueError, match="activation"):
        train.mlp([4, 2], "swish")
    with pytest.raises(ValueError, match="seed"):
        train.seed_everything(-1)


def test_hooks_loss_fn_penalty_after_step_and_early_stop():
    X, y = _digits(128)
    train.seed_everything(0)
    net = train.mlp([64, 10], "linear").double()
    calls = {"after": 0, "epochs": []}

    def after(net):
        calls["after"] += 1

    def stop_at_three(epoch, net, history):
        calls["epochs"].append(epoch)
        return epoch == 2

    weighted = torch.nn.CrossEntropyLoss(weight=torch.linspace(0.5, 1.5, 10, dtype=torch.float64))
    h = train.fit(net, X, y, lr=0.1, num_epochs=10, batch_size=32, loss_fn=weighted,
                  penalty=lambda net: 0.0 * net[0].weight.sum(), after_step=after,
                  on_epoch_end=stop_at_three, progress=False)
    assert calls["epochs"] == [0, 1, 2] and len(h["train_loss"]) == 3
    assert calls["after"] == 3 * 4                      # 128 / 32 steps per epoch
    with torch.no_grad():
        expected = weighted(net(torch.tensor(X)), torch.tensor(y)).item()
    assert h["train_loss"][-1] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="penalty"):
        train.fit(net, X, y, penalty=3.0, progress=False)


def test_a_penalty_changes_training_like_weight_decay():
    # L2 penalty (λ/2)·Σw² through `penalty` equals SGD's weight_decay=λ, step for step.
    X, y = _digits(64)
    train.seed_everything(2)
    a = train.mlp([64, 10], "linear", bias=False).double()
    b = train.mlp([64, 10], "linear", bias=False).double()
    b.load_state_dict(a.state_dict())
    train.fit(a, X, y, lr=0.1, num_epochs=3, batch_size=16, weight_decay=0.01, progress=False)
    train.fit(b, X, y, lr=0.1, num_epochs=3, batch_size=16, progress=False,
              penalty=lambda net: 0.005 * (net[0].weight ** 2).sum())
    torch.testing.assert_close(a[0].weight, b[0].weight, rtol=1e-10, atol=1e-12)


def test_mse_with_1d_targets_trains_on_the_elementwise_loss():
    # Issue 8, defect 1: a (B, 1) output against (B,) targets broadcast to (B, B) (torch only warns).
    # Exact linear data, a linear net, full batch: the loss must reach ~0 and recover the weights,
    # and the history must equal a run with (N, 1) targets.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    runs = {}
    for name, target in (("1-D", y), ("2-D", y[:, None])):
        train.seed_everything(0)
        net = train.mlp([3, 1], "linear", bias=False).double()
        h = train.fit(net, X, target, lr=0.3, num_epochs=300, batch_size=64, loss="mse", progress=False)
        runs[name] = (h, net[0].weight.detach().numpy().ravel())
    h, w = runs["1-D"]
    assert h["train_loss"][-1] < 1e-25
    np.testing.assert_allclose(w, [1.0, -2.0, 0.5], rtol=0, atol=1e-12)
    assert h["train_loss"] == runs["2-D"][0]["train_loss"]
    np.testing.assert_array_equal(w, runs["2-D"][1])
    with torch.no_grad():   # the recorded loss is torch's mse_loss on matching shapes
        ref = torch.nn.functional.mse_loss(torch.tensor(X) @ torch.tensor(w), torch.tensor(y)).item()
    assert h["train_loss"][-1] == pytest.approx(ref, rel=1e-9, abs=1e-30)


def test_mse_with_mismatched_targets_raises_naming_y():
    net = train.mlp([3, 2], "linear").double()
    X = np.zeros((8, 3))
    with pytest.raises(ValueError, match="y"):
        train.fit(net, X, np.zeros(8), loss="mse", progress=False)        # (8, 2) output vs (8,)
    with pytest.raises(ValueError, match="y"):
        train.evaluate(net, torch.zeros(8, 3, dtype=torch.float64), torch.zeros(8, 1, dtype=torch.float64),
                       loss="mse")
