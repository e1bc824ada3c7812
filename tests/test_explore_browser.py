"""The backprop explorer in a real browser: headless Chromium driven by Playwright.

The page is opened from disk, the whole backward pass is stepped with the keyboard, and the
errors δˡ and the gradients the page displays (its ``data-values`` attributes, written by the
page's own script from the embedded data) are checked against ``ManualNetwork`` to 1e-12; the
page must log no console error and make no network request.

Without Playwright or a Chromium (``.ci/run`` installs both where it can: Debian's
``chromium`` and the ``browser`` extra) the tests skip with a one-line reason.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import autograd_lite as al
from autograd_lite.nielsen import ManualNetwork, Network
from autograd_lite.viz.explore import chapter_example, explore_network
from autograd_lite.viz.screenshot import BrowserUnavailable, chromium

TOLERANCE = 1e-12


@pytest.fixture(scope="module")
def browser():
    try:
        with chromium() as b:
            yield b
    except BrowserUnavailable as error:
        pytest.skip(f"no headless Chromium: {error}")


class Page:
    """A page opened from disk, with every console message, page error and request kept."""

    def __init__(self, browser, path, width=1280):
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.url = path.resolve().as_uri()
        self.page.on(
            "console",
            lambda m: (
                self.errors.append(f"{m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("request", self._request)
        self.page.goto(self.url)

    def _request(self, request):
        if request.url != self.url:
            self.requests.append(request.url)

    def step(self) -> int:
        return int(self.page.get_attribute("#step-label", "data-step"))

    def values(self, selector):
        """The arrays that the elements matching ``selector`` display, by their data-layer."""
        found = {}
        for handle in self.page.query_selector_all(selector):
            item = json.loads(handle.get_attribute("data-values"))
            shape = json.loads(handle.get_attribute("data-shape"))
            found[int(handle.get_attribute("data-layer"))] = np.array(item).reshape(shape)
        return found

    def close(self):
        assert self.errors == [], self.errors
        assert self.requests == [], f"the page made network requests: {self.requests}"
        self.page.close()


def assert_close(shown, expected):
    np.testing.assert_allclose(shown, expected, rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("sizes, seed", [([2, 3, 2], 0), ([3, 4, 3, 2], 7)])
def test_stepping_the_page_shows_the_manual_deltas_and_gradients(browser, tmp_path, sizes, seed):
    path = tmp_path / "explorer.html"
    data = chapter_example(sizes, seed=seed, batch=3)
    from autograd_lite.viz.explore import write_page

    write_page(data, path)
    # The network and mini-batch chapter_example used, rebuilt here for ManualNetwork.
    manual = ManualNetwork(sizes, seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.random((sizes[0], 3))
    Y = np.zeros((sizes[-1], 3))
    Y[rng.integers(0, sizes[-1], 3), np.arange(3)] = 1
    deltas = manual.deltas(X, Y)
    nabla_b, nabla_w = manual.backprop(X, Y)
    layers = range(2, len(sizes) + 1)

    page = Page(browser, path)
    total = int(page.page.get_attribute("#slider", "max"))
    assert total == len(data["steps"]) == 3 * (len(sizes) - 1) + 2
    assert page.step() == 0
    assert page.values(".mat[data-role=delta-graph]") == {}  # nothing before the pass starts
    manual_shown = page.values(".mat[data-role=delta-manual]")
    for l in layers:  # BP1/BP2's deltas are there from the start, beside each z^l
        assert_close(manual_shown[l], deltas[l - 2])
    revealed = []
    for k in range(1, total + 1):
        page.page.keyboard.press("ArrowRight")
        assert page.step() == k
        revealed.append(sorted(page.values(".mat[data-role=delta-graph]")))
    # the deltas appear from the output layer back: delta^L first
    assert revealed[-1] == list(layers)
    first_seen = [next(k for k, r in enumerate(revealed) if l in r) for l in layers]
    assert first_seen == sorted(first_seen, reverse=True)
    page.page.keyboard.press("ArrowRight")  # past the end: stays on the last step
    assert page.step() == total

    shown = page.values(".mat[data-role=delta-graph]")
    for l in layers:
        assert_close(shown[l], deltas[l - 2])
    for role, expected in (("nabla_b-graph", nabla_b), ("nabla_w-graph", nabla_w)):
        shown = page.values(f".mat[data-role='{role}']")
        assert sorted(shown) == list(layers)
        for l in layers:
            assert_close(shown[l], expected[l - 2])
    # the last step: the leaves' .grad, which are the same numbers again
    leaf_grads = page.page.query_selector_all(".mat[data-role=leaf-grad]")
    assert len(leaf_grads) == 2 * (len(sizes) - 1)
    differences = [
        float(e.get_attribute("data-value"))
        for e in page.page.query_selector_all("[data-role$=-diff]")
    ]
    assert len(differences) == 3 * (len(sizes) - 1) and max(differences) <= TOLERANCE
    assert float(page.page.get_attribute("#max-difference", "data-value")) == max(differences)

    page.page.keyboard.press("ArrowLeft")
    assert page.step() == total - 1
    page.page.keyboard.press("Home")
    assert page.step() == 0
    assert page.values(".mat[data-role=delta-graph]") == {}
    page.close()


def test_the_buttons_and_slider_step_too(browser, tmp_path):
    path = tmp_path / "e.html"
    explore_network(ManualNetwork([2, 3, 2], seed=1), np.ones((2, 2)), np.eye(2), path)
    page = Page(browser, path)
    page.page.click("#next")
    page.page.click("#next")
    assert page.step() == 2
    page.page.click("#prev")
    assert page.step() == 1
    page.page.fill("#slider", "6")
    assert page.step() == 6
    page.page.click("#last")
    assert page.step() == 8
    assert page.page.query_selector(".node.current") is None
    page.page.click("#first")
    assert page.step() == 0
    page.page.click(".node[data-node='0']")
    assert page.page.query_selector(".fwd-item.selected[data-node='0']") is not None
    page.close()


def test_custom_graph_fan_out_and_unbroadcast_are_shown(browser, tmp_path):
    x = al.Tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True, name="x")
    b = al.Tensor([[0.5], [-1.0]], requires_grad=True, name="b")
    y = (al.tanh(x + b) * x).sum()
    path = al.viz.explore(y, tmp_path / "g.html")
    y.backward()
    page = Page(browser, path)
    page.page.keyboard.press("End")
    leaves = page.page.query_selector_all("[data-leaf]")
    assert len(leaves) == 2
    x_block = next(e for e in leaves if "∂/∂x" in e.inner_text())
    assert len(x_block.query_selector_all(".mat[data-role=part]")) == 2  # fan-out: two parts
    for handle in page.page.query_selector_all(".mat[data-role=leaf-grad]"):
        node = int(handle.get_attribute("data-node"))
        expected = x.grad if node == 0 else b.grad
        np.testing.assert_array_equal(
            json.loads(handle.get_attribute("data-values")), expected.ravel()
        )
    page.page.keyboard.press("ArrowLeft")  # the add: the bias's gradient is summed over axis 1
    assert page.page.query_selector(".send .mat[data-role=raw]") is not None
    assert "unbroadcast" in page.page.inner_text("#step-body")
    page.close()


def test_digit_page_and_phone_width(browser, tmp_path):
    network = Network([784, 30, 10], seed=0)
    path = tmp_path / "d.html"
    from autograd_lite.datasets import load_mnist

    test = load_mnist().test
    X, label = test.images[0].reshape(-1, 1), int(test.labels[0])
    Y = np.eye(10)[:, [label]]
    explore_network(network, X, Y, path, image=X.reshape(28, 28), label=label)
    page = Page(browser, path, width=390)
    page.page.keyboard.press("End")
    assert page.page.query_selector("[data-role=image] canvas") is not None
    assert (
        page.page.query_selector(".mat[data-role='nabla_w-graph'] canvas") is not None
    )  # a heat map
    nabla_b, nabla_w = ManualNetwork([784, 30, 10], seed=0).backprop(X, Y)
    shown = page.values(".mat[data-role='nabla_w-graph']")
    assert_close(shown[2], nabla_w[0])
    assert_close(shown[3], nabla_w[1])
    # a value under the pointer
    canvas = page.page.query_selector(".mat[data-role='nabla_w-graph'][data-layer='2'] canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    tip = page.page.inner_text("#tip")
    where, value = tip.split(" = ")
    i, j = (int(n) for n in where.strip("[]").split(","))
    assert (i, j) != (0, 0) and float(value) == shown[2][i, j]  # the full-precision value
    # readable at phone width: nothing wider than the window
    width = page.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide in a 390px window"
    page.close()


def test_the_checks_would_catch_a_request_and_a_console_error(browser, tmp_path):
    """The two guards above are live: a page that fetches or logs an error is caught."""
    x = al.Tensor([1.0, 2.0], requires_grad=True)
    path = al.viz.explore((x * x).sum(), tmp_path / "bad.html")
    html = path.read_text(encoding="utf-8")
    bad = '<img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script></body>'
    path.write_text(html.replace("</body>", bad), encoding="utf-8")
    page = Page(browser, path)
    page.page.wait_for_timeout(200)
    assert any("127.0.0.1:9" in url for url in page.requests)
    assert any("boom" in error for error in page.errors)
    page.page.close()
