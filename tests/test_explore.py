"""The backprop explorer's data and page (``al.viz.explore``, ``autograd-lite explore``).

The browser half (the page stepped in headless Chromium) is tests/test_explore_browser.py.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import autograd_lite as al
from autograd_lite.cli import main
from autograd_lite.errors import InvalidInputError
from autograd_lite.nielsen import ManualNetwork, Network
from autograd_lite.viz.explore import (
    FORMULAS,
    chapter_example,
    explore_data,
    formula,
    network_data,
    render_html,
)


def array(data, index):
    item = data["arrays"][index]
    return np.array(item["values"], dtype=np.float64).reshape(item["shape"])


def embedded_data(html: str) -> dict:
    """The DATA literal of a page, read back as JSON (floats exactly as repr wrote them)."""
    start = html.index("const DATA = ") + len("const DATA = ")
    end = html.index(";\n", start)
    return json.loads(html[start:end])


def batch(sizes, m=4, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.random((sizes[0], m))
    Y = np.zeros((sizes[-1], m))
    Y[rng.integers(0, sizes[-1], m), np.arange(m)] = 1
    return X, Y


# -- the chapter's network ---------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [[2, 3, 2], [3, 4, 5, 2], [4, 2]])
@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
def test_deltas_and_gradients_equal_manual_network(sizes, cost):
    network = Network(sizes, seed=1, cost=cost)
    X, Y = batch(sizes)
    data = network_data(network, X, Y)
    manual = ManualNetwork(sizes, seed=1, cost=cost)
    deltas = manual.deltas(X, Y)
    nabla_b, nabla_w = manual.backprop_matrix(X, Y)
    graph_deltas = network.deltas(X, Y)
    layers = data["chapter"]["layers"]
    assert [layer["l"] for layer in layers] == list(range(2, len(sizes) + 1))
    worst = 0.0
    for i, layer in enumerate(layers):
        for key, expected in (
            ("delta", deltas[i]),
            ("nabla_b", nabla_b[i]),
            ("nabla_w", nabla_w[i]),
        ):
            shown = array(data, layer[key]["graph"])
            np.testing.assert_allclose(shown, expected, rtol=0, atol=1e-12)
            np.testing.assert_array_equal(array(data, layer[key]["manual"]), expected)
            assert layer[key]["max_diff"] == float(np.max(np.abs(shown - expected)))
            worst = max(worst, layer[key]["max_diff"])
        # the graph's delta is Network.deltas' own, bitwise (the same graph)
        np.testing.assert_array_equal(array(data, layer["delta"]["graph"]), graph_deltas[i])
        assert layer["delta"]["rule"] == ("BP1" if layer["l"] == len(sizes) else "BP2")
        assert (layer["nabla_b"]["rule"], layer["nabla_w"]["rule"]) == ("BP3", "BP4")
    assert data["chapter"]["max_difference"] == worst


def test_chapter_steps_run_backward_from_the_cost_with_bp_notes():
    data = network_data(ManualNetwork([2, 3, 2], seed=0), *batch([2, 3, 2]))
    nodes, steps = data["nodes"], data["steps"]
    labels = [nodes[s["node"]]["label"] for s in steps if s["kind"] == "node"]
    assert labels == ["C", "a³", "z³", "w³a²", "a²", "z²", "w²a¹"]
    assert steps[-1]["kind"] == "leaves"
    assert {nodes[i["node"]]["label"] for i in steps[-1]["items"]} == {"w²", "w³", "b²", "b³"}
    by_label = {nodes[s["node"]]["label"]: s for s in steps if s["kind"] == "node"}
    sigmoid = by_label["a³"]
    assert sigmoid["op"] == "sigmoid" and "g ⊙ σ′(z)" in sigmoid["sends"][0]["formula"]
    assert sigmoid["sends"][0]["note"].startswith("BP1")
    assert by_label["a²"]["sends"][0]["note"].startswith("BP2")
    # the bias's unbroadcast: the vjp gives one column per sample, the engine sums them (BP3)
    add = by_label["z²"]
    bias = next(s for s in add["sends"] if s["index"] == 1)
    raw, sent = array(data, bias["raw"]), array(data, bias["grad"])
    assert raw.shape == (3, 4) and sent.shape == (3, 1)
    np.testing.assert_array_equal(sent, raw.sum(axis=1, keepdims=True))
    assert "summed over axis 1" in bias["unbroadcast"] and bias["note"].startswith("BP3")
    matmul = by_label["w²a¹"]
    assert [s["index"] for s in matmul["sends"]] == [0]  # x needs no gradient
    assert matmul["sends"][0]["note"].startswith("BP4")


def test_chapter_example_defaults_and_digit():
    data = chapter_example()
    assert data["chapter"]["sizes"] == [2, 3, 2] and data["chapter"]["batch"] == 4
    assert data["chapter"]["max_difference"] < 1e-12
    digit = chapter_example(digit=5, epochs=1)
    chapter = digit["chapter"]
    assert chapter["sizes"] == [784, 30, 10] and chapter["batch"] == 1
    image = array(digit, chapter["image"])
    assert image.shape == (28, 28) and chapter["label"] in range(10)
    assert chapter["max_difference"] < 1e-12
    with pytest.raises(InvalidInputError, match="784"):
        chapter_example([2, 3, 2], digit=0)
    with pytest.raises(InvalidInputError, match="embedded test digits"):
        chapter_example(digit=10**6, epochs=0)


# -- any graph ---------------------------------------------------------------------------------


def fan_out_graph():
    x = al.Tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True, name="x")
    b = al.Tensor([[0.5], [-1.0]], requires_grad=True, name="b")
    return x, b, (al.tanh(x + b) * x).sum()


def test_steps_are_the_engines_order_and_gradients():
    x, b, y = fan_out_graph()
    data = explore_data(y)
    ops = [n for n in data["nodes"] if n["op"] is not None]
    node_steps = [s for s in data["steps"] if s["kind"] == "node"]
    # one step per op, latest-created first: the graph's topological order reversed
    assert [s["node"] for s in node_steps] == sorted((n["id"] for n in ops), reverse=True)
    assert [s["index"] for s in data["steps"]] == list(range(1, len(data["steps"]) + 1))
    for step in node_steps:  # what arrives is the sum of the parts, in the engine's order
        if step["parts"]:
            parts = [array(data, p["grad"]) for p in step["parts"]]
            np.testing.assert_array_equal(sum(parts[1:], parts[0]), array(data, step["arriving"]))
    # the leaves' totals are what backward() gives; x fans out (used by add and by mul)
    leaves = {data["nodes"][i["node"]]["label"]: i for i in data["steps"][-1]["items"]}
    assert len(leaves["x"]["parts"]) == 2 and len(leaves["b"]["parts"]) == 1
    assert x.grad is None and b.grad is None  # explore changed no .grad
    y.backward()  # and kept the graph
    np.testing.assert_array_equal(array(data, leaves["x"]["arriving"]), x.grad)
    np.testing.assert_array_equal(array(data, leaves["b"]["arriving"]), b.grad)


def test_custom_ops_get_a_generic_formula_and_known_ones_the_table():
    @al.primitive
    def softplus(t):
        return np.logaddexp(0.0, t)

    softplus.defvjp(lambda g, out, t: g / (1.0 + np.exp(-t)))

    class Scale(al.Function):
        @staticmethod
        def forward(ctx, t):
            return 3.0 * t

        @staticmethod
        def backward(ctx, grad):
            return 3.0 * grad

    x = al.Tensor(np.linspace(-1, 1, 3), requires_grad=True)
    out = al.sigmoid(Scale.apply(softplus(x))).sum()
    data = explore_data(out)
    formulas = {s["op"]: s["sends"][0]["formula"] for s in data["steps"] if s["kind"] == "node"}
    assert formulas["softplus"] == "vjp of softplus"
    assert formulas["sigmoid"].startswith("g ⊙ σ′(z)")
    assert formulas["sum"] == FORMULAS["sum"][0]
    assert formula("no_such_op", 0) == "vjp of no_such_op"
    grad = array(data, data["steps"][-1]["items"][0]["arriving"])
    out.backward()
    np.testing.assert_array_equal(grad, x.grad)


def test_non_scalar_output_is_seeded_with_ones_or_the_given_grad():
    x = al.Tensor([1.0, 2.0], requires_grad=True)
    y = al.exp(x)
    ones = explore_data(y)
    np.testing.assert_array_equal(array(ones, ones["steps"][0]["arriving"]), [1.0, 1.0])
    given = explore_data(y, grad=np.array([2.0, -1.0]))
    np.testing.assert_array_equal(
        array(given, given["steps"][-1]["items"][0]["arriving"]),
        np.array([2.0, -1.0]) * np.exp([1.0, 2.0]),
    )


def test_refuses_a_released_graph_and_non_tensors():
    x = al.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(InvalidInputError, match="released"):
        explore_data(y)
    with pytest.raises(InvalidInputError, match="Tensor"):
        explore_data(np.ones(2))
    with pytest.raises(InvalidInputError, match="require grad"):
        explore_data(al.Tensor([1.0]) * 2)


# -- the page ----------------------------------------------------------------------------------


def test_page_is_self_contained_and_embeds_exact_values(tmp_path):
    x, b, y = fan_out_graph()
    path = al.viz.explore(y, tmp_path / "page.html", title="A <fan-out> & more")
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?://", html), "a URL: the page must not need the network"
    assert not re.search(r"<(link|iframe|img|object|embed)\b", html, re.I)
    assert not re.search(r"\b(src|href)\s*=", html, re.I)
    assert not re.search(r"@import|url\((?!#)", html)
    assert "<title>A &lt;fan-out&gt; &amp; more</title>" in html
    embedded = embedded_data(html)
    data = explore_data(*fan_out_graph()[2:], title="A <fan-out> & more")
    assert embedded["title"] == data["title"]
    assert len(embedded["arrays"]) == len(data["arrays"])
    for a, b_ in zip(embedded["arrays"], data["arrays"]):
        assert a["shape"] == b_["shape"]
        assert a["values"] == b_["values"]  # bitwise: floats written by repr


def test_non_finite_values_and_script_text_are_safe():
    x = al.Tensor([0.0, 1.0], requires_grad=True, name="</script><b>")
    y = al.log(x).sum()
    with np.errstate(divide="ignore"):
        html = render_html(explore_data(y))
    assert "</script><b>" not in html
    literal = html[html.index("const DATA = ") : html.index(";\n", html.index("const DATA = "))]
    assert "-Infinity" in literal or "Infinity" in literal


def test_cli_explore_writes_the_page(tmp_path, capsys):
    out = tmp_path / "e.html"
    assert main(["explore", "-o", str(out), "--sizes", "2,3,2", "--seed", "4"]) == 0
    printed = capsys.readouterr().out
    assert f"Wrote {out}" in printed and "8 backward steps" in printed
    data = embedded_data(out.read_text(encoding="utf-8"))
    assert data["chapter"]["sizes"] == [2, 3, 2]
    assert main(["explore", "-o", str(out), "--sizes", "3", "4", "2", "--batch", "2"]) == 0
    assert embedded_data(out.read_text(encoding="utf-8"))["chapter"]["batch"] == 2


def test_cli_explore_digit_with_a_loaded_model(tmp_path, capsys):
    model = tmp_path / "m.npz"
    Network([784, 10, 10], seed=2).save(model)
    out = tmp_path / "d.html"
    assert main(["explore", "-o", str(out), "--load", str(model), "--digit", "7"]) == 0
    chapter = embedded_data(out.read_text(encoding="utf-8"))["chapter"]
    assert chapter["sizes"] == [784, 10, 10] and chapter["image"] is not None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--sizes", "2"], "at least two layers"),
        (["--load", "missing.npz"], "no such file"),
        (["--sizes", "2,3,2", "--digit", "1"], "784"),
        (["-o", "."], "is a folder"),
    ],
)
def test_cli_explore_user_errors_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status = main(["explore", *argv])
    err = capsys.readouterr().err
    assert status != 0 and message in err and len(err.strip().splitlines()) == 1


def test_a_module_names_its_parameters_on_the_page(tmp_path):
    from autograd_lite import nn

    class Residual(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.inner = nn.Linear(width, width, seed=0)

        def forward(self, x):
            return x + al.sigmoid(self.inner(x))

    model = Residual(3)
    x = al.Tensor(np.linspace(0, 1, 12).reshape(4, 3), requires_grad=True, name="x")
    loss = al.quadratic_cost(model(x), np.zeros((4, 3)))
    data = explore_data(loss, labels=model.named_parameters())
    labels = {n["label"] for n in data["nodes"]}
    assert {"inner.weight", "inner.bias", "x"} <= labels
    leaves = data["steps"][-1]["items"]
    x_item = next(i for i in leaves if data["nodes"][i["node"]]["label"] == "x")
    assert len(x_item["parts"]) == 2  # the residual connection: x fans out
    bias = next(i for i in leaves if data["nodes"][i["node"]]["label"] == "inner.bias")
    assert array(data, bias["arriving"]).shape == (3,)
    loss.backward()
    np.testing.assert_array_equal(array(data, x_item["arriving"]), x.grad)
    np.testing.assert_array_equal(array(data, bias["arriving"]), model.inner.bias.grad)
