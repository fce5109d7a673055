"""dlbook.surfaces: optimizer paths on 2-D losses, the heavy-ball theory, the trajectory figure."""
import numpy as np
import torch

from dlbook import surfaces


# -- trajectories and the quadratic theory ---------------------------------------------------
def test_divergence_reported_not_raised():
    s = surfaces.quadratic(1.0, 20.0)
    path, losses, diverged_at = surfaces.trajectory(s, "sgd", lr=0.2)   # 0.2 > 2/20
    assert diverged_at is not None and len(path) == diverged_at + 1
    _, _, ok = surfaces.trajectory(s, "sgd", lr=0.09)                    # 0.09 < 2/20
    assert ok is None


def test_gd_stability_limit_is_two_over_lambda_max():
    s = surfaces.quadratic(1.0, 20.0)
    _, loss_in, _ = surfaces.trajectory(s, "sgd", lr=0.0999, num_steps=400)
    _, loss_out, _ = surfaces.trajectory(s, "sgd", lr=0.1001, num_steps=400)
    assert loss_in[-1] < loss_in[0] < loss_out[-1]


def test_quadratic_rates_match_measurement():
    r = surfaces.quadratic_rates(1.0, 20.0)
    s = surfaces.quadratic(1.0, 20.0)
    _, losses, _ = surfaces.trajectory(s, "sgd", r["gd_lr"], num_steps=200)
    assert abs(surfaces.measured_rate(losses, skip=20) - r["gd_rate"]) < 2e-3
    _, losses, _ = surfaces.trajectory(s, "sgd", r["hb_lr"], r["hb_beta"], num_steps=200)
    assert surfaces.measured_rate(losses, skip=20) < r["hb_rate"] + 0.02
    assert r["hb_rate"] < r["gd_rate"]


def test_surface_gradients_match_torch():
    rng = np.random.default_rng(0)
    for s in (surfaces.quadratic(2.0, 7.0), surfaces.rosenbrock()):
        for x, y in rng.uniform(-2, 2, (5, 2)):
            tx = torch.tensor([x, y], dtype=torch.float64, requires_grad=True)
            s.f(tx[0], tx[1]).backward()
            assert np.allclose(s.grad(x, y), tx.grad.numpy(), rtol=1e-12)


# -- the figure ------------------------------------------------------------------------------------
def test_trajectory_figure_extremes_draw_without_error():
    from dlbook import plot, widgets
    fig = widgets.interactive(surfaces.draw_trajectory, clear=False, lr=widgets.LogSlider(1e-4, 1.0, 0.01),
                              momentum=widgets.FloatSlider(0.0, 0.99, 0.9),
                              optimizer=widgets.Dropdown(["sgd", "nesterov", "adagrad", "rmsprop", "adam"]),
                              surface=widgets.Dropdown(["quadratic", "rosenbrock"]))
    for surface in ("quadratic", "rosenbrock"):
        for name in ("sgd", "nesterov", "adagrad", "rmsprop", "adam"):
            for lr, mom in ((1e-4, 0.0), (1.0, 0.99)):
                assert fig.render(lr=lr, momentum=mom, optimizer=name, surface=surface)[:4] == b"\x89PNG"
    fig.render(lr=1.0, momentum=0.0, optimizer="sgd", surface="rosenbrock")
    note = plot.artists(fig.figure, "trajectory")["note"]
    assert note.get_visible() and note.get_text().startswith("diverged at step")


def test_persistent_figure_matches_fresh_one(persistent_frames_match):
    """clear=False redraws (as in the chapter) look exactly like frames drawn from scratch."""
    from dlbook import widgets
    persistent_frames_match(lambda clear: widgets.interactive(
        surfaces.draw_trajectory, clear=clear, lr=widgets.LogSlider(1e-4, 1.0, 0.01, static=3),
        momentum=widgets.FloatSlider(0.0, 0.99, 0.9, static=2),
        optimizer=widgets.Dropdown(["sgd", "nesterov", "adam"]),
        surface=widgets.Dropdown(["quadratic", "rosenbrock"])))


def test_bad_input_names_the_argument():
    import pytest
    with pytest.raises(ValueError, match="surface"):
        surfaces.trajectory("saddle", "sgd", 0.1)
    with pytest.raises(ValueError, match="num_steps"):
        surfaces.trajectory("quadratic", "sgd", 0.1, num_steps=0)
    with pytest.raises(ValueError, match="lam1"):
        surfaces.quadratic(0.0, 1.0)
    with pytest.raises(ValueError, match="losses"):
        surfaces.measured_rate([1.0, 0.5], skip=10)


# -- Hessians, the saddle, schedules and tuning ----------------------------------------------
def test_surface_hessians_and_saddle_gradient_match_torch():
    rng = np.random.default_rng(1)
    for s in (surfaces.quadratic(2.0, 7.0), surfaces.rosenbrock(), surfaces.saddle()):
        for x, y in rng.uniform(-2, 2, (5, 2)):
            H = torch.autograd.functional.hessian(lambda v: s.f(v[0], v[1]),
                                                  torch.tensor([x, y], dtype=torch.float64))
            assert np.allclose(s.hessian(x, y), H.numpy(), rtol=1e-12, atol=1e-12)
            tx = torch.tensor([x, y], dtype=torch.float64, requires_grad=True)
            s.f(tx[0], tx[1]).backward()
            assert np.allclose(s.grad(x, y), tx.grad.numpy(), rtol=1e-12)
    assert np.allclose(np.linalg.eigvalsh(surfaces.rosenbrock().hessian(1.0, 1.0)),
                       [0.3993607, 1001.6006393], rtol=1e-6)


def test_lr_schedule_equals_a_hand_written_loop():
    import pytest
    from dlbook import optim
    s, lrs = surfaces.rosenbrock(), np.geomspace(1e-3, 1e-4, 50)
    path, _, _ = surfaces.trajectory(s, "sgd", 1.0, 0.9, num_steps=50, lr_schedule=lrs)
    p = s.start.copy()
    opt = optim.SGD([p], lr=1.0, momentum=0.9)
    for lr in lrs:
        opt.lr = lr
        opt.step([s.grad(*p)])
    assert np.allclose(path[-1], p, rtol=0, atol=0)
    _, const, _ = surfaces.trajectory(s, "sgd", 1e-3, 0.9, num_steps=50)
    _, sched, _ = surfaces.trajectory(s, "sgd", 7.0, 0.9, num_steps=50, lr_schedule=np.full(50, 1e-3))
    assert np.array_equal(const, sched)
    with pytest.raises(ValueError, match="lr_schedule"):
        surfaces.trajectory(s, "sgd", 1e-3, num_steps=50, lr_schedule=np.ones(49))


def test_tune_and_run_picks_the_best_rate_and_flags_chaos():
    s, grid = surfaces.rosenbrock(), np.geomspace(1e-5, 10.0, 25)
    r = surfaces.tune_and_run(s, "sgd", 0.9, grid)
    finals = [surfaces.trajectory(s, "sgd", lr, 0.9, 200) for lr in grid]
    finals = [L[-1] if d is None else np.inf for _, L, d in finals]
    assert r["lr"] == grid[int(np.argmin(finals))] and r["tuned"] == min(finals)
    assert r["constant"] is not None and r["constant"] < 1e-10        # heavy ball converges
    chaotic = surfaces.tune_and_run(s, "rmsprop", 0.9, grid)
    assert chaotic["constant"] is None and chaotic["cosine"] < 1e-8   # hovers; decay settles it


def test_saddle_traps_noise_free_descent_on_its_stable_axis():
    s = surfaces.saddle()
    path, losses, _ = surfaces.trajectory(s, "sgd", 0.1, num_steps=300)
    assert path[-1, 1] == 0.0 and abs(losses[-1]) < 1e-20           # converged to the saddle
    path, losses, _ = surfaces.trajectory(s, "sgd", 0.1, num_steps=300, start=(1.5, 1e-6))
    assert np.isclose(losses[-1], -0.25) and np.isclose(abs(path[-1, 1]), 1.0)
