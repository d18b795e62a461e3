"""The latency view: one slider step per K, each showing DDIM-K and consistency-K in both panels; bars per variant."""

from labkit import viz


def _rows():
    rows = [{"label": "DDPM-100", "kind": "ddpm", "steps": 100, "ms_per_action": 3.0, "success": 1.0, "left": 0.4}]
    for k in (1, 2, 10):
        rows.append(
            {"label": f"DDIM-{k}", "kind": "ddim", "steps": k, "ms_per_action": 0.03 * k, "success": 0.9, "left": 0.4}
        )
        rows.append(
            {
                "label": f"consistency-{k}",
                "kind": "consistency",
                "steps": k,
                "ms_per_action": 0.02 * k,
                "success": 0.95,
                "left": 0.45,
            }
        )
    return rows


def test_latency_view_slider_shows_the_chosen_k():
    fig = viz.latency_success_figure(_rows() + _rows(), budget_hz=20)  # two seeds of the same labels are averaged
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["1", "2", "10"]
    for s in steps:
        shown = [
            fig.data[i].text[0]
            for i, v in enumerate(s.args[0]["visible"])
            if v and fig.data[i].marker.symbol == "diamond"
        ]
        assert sorted(shown) == sorted([f"DDIM-{s.label}", f"consistency-{s.label}"] * 2)
    assert any(sh.type == "line" and abs(sh.x0 - 50.0) < 1e-9 for sh in fig.layout.shapes)  # 1000 / 20 Hz


def test_success_by_variant_bars_and_losses():
    per_seed = [
        {"A": {"v1": 1.0, "v2": 0.5}, "B": {"v1": 0.0, "v2": 1.0}},
        {"A": {"v1": 0.8, "v2": 0.7}, "B": {"v1": 0.2, "v2": 0.8}},
    ]
    fig = viz.success_by_variant_figure(per_seed)
    assert [t.name for t in fig.data] == ["A", "B"] and list(fig.data[0].x) == ["v1", "v2", "mean"]
    assert abs(fig.data[0].y[0] - 0.9) < 1e-9 and fig.data[0].marker.color == viz.color_of("A")
    loss = viz.loss_figure({"loss": [1.0, 0.5, 0.25, 0.1]}, title="t", smooth=2)
    assert len(fig.data) == 2 and len(loss.data[0].y) == 3
