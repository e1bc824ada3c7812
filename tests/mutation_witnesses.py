"""Pinned counterexamples for tests/test_mutations.py: one graph per planted bug.

Each graph was found by ``hypothesis.find`` over ``graphs(include=[op], max_ops=4)`` (hypothesis
6.170.27, derandomized) and is written out here so that every
planted bug is caught on every run, whatever hypothesis version or seed draws: the search can
only add counterexamples. Regenerate by printing the graphs ``find`` returns, in this format,
then ``ruff format --config format.skip-magic-trailing-comma=true`` on this file (one line a
step where it fits).
"""

import numpy as np

from autograd_lite.testing.graph import Graph, Step, Var

WITNESSES = {
    "add: broadcast operand averaged": Graph(
        [
            Step(
                "leaf",
                shape=(3, 1, 1),
                value=np.array(
                    [[[-1.237124817355381]], [[1.6974308312264723]], [[-0.4210079694762263]]],
                    dtype=np.float64,
                ),
            ),
            Step("broadcast_to", (Var(0),), {"shape": (3, 3, 3)}, shape=(3, 3, 3)),
            Step("add", (Var(1), -1.0), {}, shape=(3, 3, 3)),
            Step("exp", (Var(0),), {}, shape=(3, 1, 1)),
            Step("sum", (Var(2),), {"axis": None, "keepdims": False}, shape=()),
            Step("add", (Var(3), Var(4)), {}, shape=(3, 1, 1)),
        ],
        output=5,
        dtype=np.float64,
    ),
    "sub: second operand sign": Graph(
        [
            Step("leaf", shape=(), value=np.array(0.0, dtype=np.float64)),
            Step("sub", (Var(0), Var(0)), {}, shape=()),
        ],
        output=1,
        dtype=np.float64,
    ),
    "mul: wrong operand": Graph(
        [
            Step("leaf", shape=(1,), value=np.array([-1.192092896e-07], dtype=np.float64)),
            Step("leaf", shape=(1,), value=np.array([1.8127121421017653], dtype=np.float64)),
            Step("matmul", (Var(0), Var(1)), {}, shape=()),
            Step("mul", (Var(2), Var(1)), {}, shape=(1,)),
            Step("leaf", shape=(2,), value=np.array([-1.5373037343406608, -2.0], dtype=np.float64)),
            Step("relu", (Var(4),), {}, shape=(2,)),
            Step("sum", (Var(3),), {"axis": None, "keepdims": False}, shape=()),
            Step("add", (Var(5), Var(6)), {}, shape=(2,)),
        ],
        output=7,
        dtype=np.float64,
    ),
    "mul: forgotten factor": Graph(
        [
            Step("leaf", shape=(), value=np.array(0.0, dtype=np.float64)),
            Step("mul", (Var(0), Var(0)), {}, shape=()),
        ],
        output=1,
        dtype=np.float64,
    ),
    "mul: reduced over the wrong axis (a wrong shape)": Graph(
        [
            Step(
                "leaf",
                shape=(2, 1),
                value=np.array([[-1.4241117284710514], [-1.4241117284710514]], dtype=np.float64),
            ),
            Step("hadamard", (Var(0), Var(0)), {}, shape=(2, 1)),
            Step(
                "leaf",
                shape=(2, 3),
                value=np.array(
                    [
                        [-5.45146504687834e-237, -1.1570564325726733, -2.6410935271303154e-252],
                        [-1.9620826401274893, -0.7037159068528032, -2.6410935271303154e-252],
                    ],
                    dtype=np.float64,
                ),
            ),
            Step(
                "leaf",
                shape=(2, 3),
                value=np.array(
                    [
                        [-1.2508304976617493e-141, -1.298645154892263, 3.620110532786653e-19],
                        [1.021177714661297, -1.8376975106897086e-56, 0.24944960991158505],
                    ],
                    dtype=np.float64,
                ),
            ),
            Step("stack", (Var(2), Var(3)), {"axis": 0}, shape=(2, 2, 3)),
            Step("max", (Var(1),), {"axis": (1,), "keepdims": True}, shape=(2, 1)),
            Step("mul", (-1.0, Var(5)), {}, shape=(2, 1)),
            Step("sum", (Var(4),), {"axis": None, "keepdims": False}, shape=()),
            Step("add", (Var(6), Var(7)), {}, shape=(2, 1)),
        ],
        output=8,
        dtype=np.float64,
    ),
    "hadamard: wrong operand": Graph(
        [
            Step("leaf", shape=(1,), value=np.array([-1.192092896e-07], dtype=np.float64)),
            Step("leaf", shape=(1,), value=np.array([1.8127121421017653], dtype=np.float64)),
            Step("matmul", (Var(0), Var(1)), {}, shape=()),
            Step("leaf", shape=(), value=np.array(0.9733436687990049, dtype=np.float64)),
            Step("hadamard", (Var(2), Var(3)), {}, shape=()),
            Step("leaf", shape=(1, 1), value=np.array([[1.677927255233505]], dtype=np.float64)),
            Step("relu", (Var(5),), {}, shape=(1, 1)),
            Step("add", (Var(6), Var(4)), {}, shape=(1, 1)),
        ],
        output=7,
        dtype=np.float64,
    ),
    "div: second operand sign": Graph(
        [
            Step(
                "leaf",
                shape=(3, 2, 2),
                value=np.array(
                    [
                        [
                            [-3.0688093812179183e-291, 0.0],
                            [8.982673138861172e-269, -1.5702121228207613],
                        ],
                        [[0.5070562494546995, -2.0], [-1.1589721217035602, 1e-07]],
                        [
                            [1.9696019996506795, 0.560924316825282],
                            [-1.175494351e-38, 1.9999999999999998],
                        ],
                    ],
                    dtype=np.float64,
                ),
            ),
            Step("getitem", (Var(0),), {"index": np.array([-2], dtype=np.int64)}, shape=(1, 2, 2)),
            Step("softmax", (Var(1),), {"axis": -2}, shape=(1, 2, 2)),
            Step("max", (Var(1),), {"axis": None, "keepdims": False}, shape=()),
            Step("div", (Var(3), Var(3)), {}, shape=()),
            Step("sum", (Var(2),), {"axis": None, "keepdims": False}, shape=()),
            Step("add", (Var(4), Var(5)), {}, shape=()),
        ],
        output=6,
        dtype=np.float64,
    ),
    "div: multiplies instead of dividing": Graph(
        [
            Step("leaf", shape=(), value=np.array(0.0, dtype=np.float64)),
            Step("leaf", shape=(), value=np.array(0.5, dtype=np.float64)),
            Step("div", (Var(0), Var(1)), {}, shape=()),
        ],
        output=2,
        dtype=np.float64,
    ),
    "neg: sign": Graph(
        [
            Step("leaf", shape=(), value=np.array(0.0, dtype=np.float64)),
            Step("neg", (Var(0),), {}, shape=()),
        ],
        output=1,
        dtype=np.float64,
    ),
    "pow: exponent without ln(base)": Graph(
        [
            Step("leaf", shape=(), value=np.array(0.5, dtype=np.float64)),
            Step("pow", (Var(0), Var(0)), {}, shape=()),
        ],
        output=1,
        dtype=np.float64,
    ),
    "pow: base exponent off by one": Graph(
        [
            Step("leaf", shape=(), value=np.array(0.5, dtype=np.float64)),
            Step("pow", (Var(0), Var(0)), {}, shape=()),
        ],
        output=1,
        dtype=np.float64,
    ),
    "matmul: b not transposed": Graph(
        [
            Step(
                "leaf",
                shape=(3, 3),
                value=np.array(
                    [
                        [2.0, 0.7067885495753337, 0.2374429021115323],
                        [-0.3311408304357868, 0.5, -1.292725940602942],
                        [1.8280017225342258, 1.0, -0.9930164311252534],
                    ],
                    dtype=np.float64,
                ),
            ),
            Step("matmul", (Var(0), Var(0)), {}, shape=(3, 3)),
        ],
        output=1,
        dtype=np.float64,
    ),
    "matmul: wrong operand transposed": Graph(
        [
            Step(
                "leaf",
                shape=(3, 3),
                value=np.array(
                    [
                        [2.0, 0.7067885495753337, 0.2374429021115323],
                        [-0.3311408304357868, 0.5, -1.292725940602942],
                        [1.8280017225342258, 1.0, -0.9930164311252534],
                    ],
                    dtype=np.float64,
                ),
            ),
            Step("matmul", (Var(0), Var(0)), {}, shape=(3, 3)),
        ],
        output=1,
        dtype=np.float64,
    ),
    "matmul: batch-broadcast operand averaged": Graph(
        [
            Step(
                "leaf",
                shape=(2, 2, 1),
                value=np.array(
                    [
                        [[0.8395483731264979], [-1.182312490667339]],
                        [[-0.4210079694762263], [0.32571874680609847]],
                    ],
                    dtype=np.float64,
                ),
            ),
            Step("transpose", (Var(0),), {"axes": (-2, -3, -1)}, shape=(2, 2, 1)),
            Step("leaf", shape=(1, 1), value=np.array([[-0.0712802423321075]], dtype=np.float64)),
            Step("matmul", (Var(1), Var(2)), {}, shape=(2, 2, 1)),
        ],
        output=3,
        dtype=np.float64,
    ),
    "exp: input instead of output": Graph(
        [
            Step("leaf", shape=(), value=np.array(0.0, dtype=np.float64)),
            Step("exp", (Var(0),), {}, shape=()),
        ],
        output=1,
        dtype=np.float64,
    ),
    "log: multiplies by x": Graph(
        [
            Step("leaf", shape=(), value=np.array(0.5, dtype=np.float64)),
            Step("log", (Var(0),), {}, shape=()),
        ],
        output=1,
        dtype=np.float64,
    ),
    "sigmoid: without (1 - s)": Graph(
        [
            Step("leaf", shape=(), value=np.array(0.0, dtype=np.float64)),
            Step("sigmoid", (Var(0),), {}, shape=()),
        ],
        output=1,
        dtype=np.float64,
    ),
    "sigmoid_prime: 1 - s instead of 1 - 2s": Graph(
        [
            Step("leaf", shape=(), value=np.array(0.0, dtype=np.float64)),
            Step("sigmoid_prime", (Var(0),), {}, shape=()),
        ],
        output=1,
        dtype=np.float64,
    ),
    "tanh: 1 - t instead of 1 - t²": Graph(
        [
            Step(
                "leaf",
                shape=(1, 3),
                value=np.array(
                    [[1.3902094434026813, -2.593072385527873e-249, 1.3699194752219173]],
                    dtype=np.float64,
                ),
            ),
            Step("tanh", (Var(0),), {}, shape=(1, 3)),
            Step(
                "scatter_add",
                (Var(1),),
                {
                    "index": (slice(None, None, None), np.array([-3, 0, 2], dtype=np.int64)),
                    "shape": (1, 3),
                },
                shape=(1, 3),
            ),
        ],
        output=2,
        dtype=np.float64,
    ),
    "relu: no mask": Graph(
        [
            Step("leaf", shape=(1,), value=np.array([-0.31147284762317407], dtype=np.float64)),
            Step("leaf", shape=(1,), value=np.array([1.9989407886784045], dtype=np.float64)),
            Step("matmul", (Var(0), Var(1)), {}, shape=()),
            Step("max", (Var(2),), {"axis": None, "keepdims": True}, shape=()),
            Step("relu", (Var(3),), {}, shape=()),
        ],
        output=4,
        dtype=np.float64,
    ),
    "softmax: without the subtracted sum": Graph(
        [
            Step("leaf", shape=(1,), value=np.array([0.0], dtype=np.float64)),
            Step("softmax", (Var(0),), {"axis": 0}, shape=(1,)),
        ],
        output=1,
        dtype=np.float64,
    ),
    "softmax: sum over every axis": Graph(
        [
            Step(
                "leaf",
                shape=(2, 3, 1),
                value=np.array(
                    [
                        [[3.271307534763226e-87], [-0.6735259389060777], [-2.0]],
                        [[0.0], [-3.341995905475646e-171], [1.9999999999999998]],
                    ],
                    dtype=np.float64,
                ),
            ),
            Step("softmax", (Var(0),), {"axis": 0}, shape=(2, 3, 1)),
            Step("hadamard", (Var(1), Var(1)), {}, shape=(2, 3, 1)),
        ],
        output=2,
        dtype=np.float64,
    ),
    "log_softmax: log-probabilities instead of probabilities": Graph(
        [
            Step("leaf", shape=(1,), value=np.array([0.0], dtype=np.float64)),
            Step("log_softmax", (Var(0),), {"axis": 0}, shape=(1,)),
        ],
        output=1,
        dtype=np.float64,
    ),
    "sum: divided by the count": Graph(
        [
            Step("leaf", shape=(3,), value=np.array([-2.0, -2.0, -2.0], dtype=np.float64)),
            Step("sum", (Var(0),), {"axis": None, "keepdims": True}, shape=(1,)),
        ],
        output=1,
        dtype=np.float64,
    ),
    "mean: count forgotten": Graph(
        [
            Step("leaf", shape=(3,), value=np.array([-2.0, -2.0, -2.0], dtype=np.float64)),
            Step("mean", (Var(0),), {"axis": None, "keepdims": True}, shape=(1,)),
        ],
        output=1,
        dtype=np.float64,
    ),
    "max: every element gets the gradient": Graph(
        [
            Step(
                "leaf",
                shape=(3, 2),
                value=np.array(
                    [[-0.125, 0.625], [-0.375, 0.375], [-0.625, 0.125]], dtype=np.float64
                ),
            ),
            Step("max", (Var(0),), {"axis": None, "keepdims": False}, shape=()),
        ],
        output=1,
        dtype=np.float64,
    ),
    "reshape: Fortran order": Graph(
        [
            Step(
                "leaf",
                shape=(3, 3, 3),
                value=np.array(
                    [
                        [
                            [1.5122717566054122, 1.5122717566054122, 1.5122717566054122],
                            [1.5122717566054122, 1.5122717566054122, 1.5122717566054122],
                            [1.5122717566054122, 1.5122717566054122, 1.5122717566054122],
                        ],
                        [
                            [1.5122717566054122, 1.5122717566054122, -1.9999999999999998],
                            [1.5122717566054122, 1.5122717566054122, 0.09664635624393503],
                            [1.5122717566054122, 1.5122717566054122, 1.5122717566054122],
                        ],
                        [
                            [0.044651441205005415, 1.5122717566054122, 1.5122717566054122],
                            [1.5122717566054122, 1.5122717566054122, 1.5122717566054122],
                            [1.5122717566054122, 1.5122717566054122, 1.5122717566054122],
                        ],
                    ],
                    dtype=np.float64,
                ),
            ),
            Step("reshape", (Var(0),), {"shape": (9, 1, 3)}, shape=(9, 1, 3)),
        ],
        output=1,
        dtype=np.float64,
    ),
    "transpose: forgotten when square": Graph(
        [
            Step(
                "leaf",
                shape=(3, 3, 3),
                value=np.array(
                    [
                        [
                            [1.8713099640606106, 1.0767287627677156, 1.0767287627677156],
                            [1.043489553223715, 1.2956556546362523, 0.7807361286347603],
                            [1.1, 1.0767287627677156, 1.0767287627677156],
                        ],
                        [
                            [1.0767287627677156, 2.0, 1.8103428430653206],
                            [1.9541885244064385, 1.0767287627677156, 1.0767287627677156],
                            [1.0767287627677156, 1.0767287627677156, 1.8797185858218655],
                        ],
                        [
                            [1.2968871666719417, 1.6592662014333923, 0.8543947176625619],
                            [1.0767287627677156, 0.9, 1.0767287627677156],
                            [1.3795684384105855, 0.5, 1.3530955507435383],
                        ],
                    ],
                    dtype=np.float64,
                ),
            ),
            Step("log", (Var(0),), {}, shape=(3, 3, 3)),
            Step("transpose", (Var(1),), {"axes": (1, 0, 2)}, shape=(3, 3, 3)),
        ],
        output=2,
        dtype=np.float64,
    ),
    "broadcast_to: averaged": Graph(
        [
            Step("leaf", shape=(1,), value=np.array([-1.192092896e-07], dtype=np.float64)),
            Step("leaf", shape=(1,), value=np.array([1.8127121421017653], dtype=np.float64)),
            Step("matmul", (Var(0), Var(1)), {}, shape=()),
            Step("broadcast_to", (Var(2),), {"shape": (2, 3)}, shape=(2, 3)),
            Step("relu", (Var(1),), {}, shape=(1,)),
            Step("sum", (Var(3),), {"axis": None, "keepdims": False}, shape=()),
            Step("add", (Var(4), Var(5)), {}, shape=(1,)),
        ],
        output=6,
        dtype=np.float64,
    ),
    "getitem: repeated indices overwrite": Graph(
        [
            Step("leaf", shape=(1,), value=np.array([-1.192092896e-07], dtype=np.float64)),
            Step("leaf", shape=(1,), value=np.array([1.8127121421017653], dtype=np.float64)),
            Step("matmul", (Var(0), Var(1)), {}, shape=()),
            Step(
                "getitem",
                (Var(1),),
                {"index": np.array([-1, -1, 0, -1], dtype=np.int64)},
                shape=(4,),
            ),
            Step("relu", (Var(3),), {}, shape=(4,)),
            Step("add", (Var(4), Var(2)), {}, shape=(4,)),
        ],
        output=5,
        dtype=np.float64,
    ),
    "scatter_add: gathers the first elements": Graph(
        [
            Step("leaf", shape=(), value=np.array(0.3333333333333333, dtype=np.float64)),
            Step("tanh", (Var(0),), {}, shape=()),
            Step("log", (Var(1),), {}, shape=()),
            Step(
                "leaf",
                shape=(3, 1),
                value=np.array(
                    [[-0.8434791075335537], [-1.3639128850344262], [0.2518863251500778]],
                    dtype=np.float64,
                ),
            ),
            Step(
                "scatter_add",
                (Var(3),),
                {"index": (1, slice(0, None, None)), "shape": (2, 3, 1)},
                shape=(2, 3, 1),
            ),
            Step("div", (Var(4), 0.5), {}, shape=(2, 3, 1)),
            Step("add", (Var(5), Var(2)), {}, shape=(2, 3, 1)),
        ],
        output=6,
        dtype=np.float64,
    ),
    "concatenate: offset forgotten": Graph(
        [
            Step("leaf", shape=(1,), value=np.array([0.0], dtype=np.float64)),
            Step("concatenate", (Var(0), Var(0)), {"axis": 0}, shape=(2,)),
        ],
        output=1,
        dtype=np.float64,
    ),
    "stack: slices in reverse order": Graph(
        [
            Step("leaf", shape=(), value=np.array(-1.6691125392814028, dtype=np.float64)),
            Step("neg", (Var(0),), {}, shape=()),
            Step("stack", (Var(1), Var(0)), {"axis": 0}, shape=(2,)),
        ],
        output=2,
        dtype=np.float64,
    ),
    "where: masks swapped": Graph(
        [
            Step("leaf", shape=(1,), value=np.array([-1.192092896e-07], dtype=np.float64)),
            Step("leaf", shape=(1,), value=np.array([1.8127121421017653], dtype=np.float64)),
            Step("matmul", (Var(0), Var(1)), {}, shape=()),
            Step(
                "where", (Var(2), Var(1)), {"condition": np.array(False, dtype=np.bool)}, shape=(1,)
            ),
            Step("relu", (Var(3),), {}, shape=(1,)),
        ],
        output=4,
        dtype=np.float64,
    ),
    "quadratic_cost: sign": Graph(
        [
            Step("leaf", shape=(1,), value=np.array([-1.192092896e-07], dtype=np.float64)),
            Step("leaf", shape=(1,), value=np.array([1.8127121421017653], dtype=np.float64)),
            Step("matmul", (Var(0), Var(1)), {}, shape=()),
            Step("leaf", shape=(), value=np.array(0.9733436687990049, dtype=np.float64)),
            Step("quadratic_cost", (Var(2), Var(3)), {"reduction": "mean"}, shape=()),
            Step("relu", (Var(4),), {}, shape=()),
        ],
        output=5,
        dtype=np.float64,
    ),
    "quadratic_cost: target's sign": Graph(
        [
            Step("leaf", shape=(1,), value=np.array([-1.192092896e-07], dtype=np.float64)),
            Step("leaf", shape=(1,), value=np.array([1.8127121421017653], dtype=np.float64)),
            Step("matmul", (Var(0), Var(1)), {}, shape=()),
            Step("leaf", shape=(), value=np.array(0.9733436687990049, dtype=np.float64)),
            Step("quadratic_cost", (Var(2), Var(3)), {"reduction": "mean"}, shape=()),
            Step("relu", (Var(4),), {}, shape=()),
        ],
        output=5,
        dtype=np.float64,
    ),
    "cross_entropy_cost: a(1 - a) denominator forgotten": Graph(
        [
            Step("leaf", shape=(), value=np.array(-1.8006664646471613, dtype=np.float64)),
            Step("leaf", shape=(), value=np.array(1.0048065181418302, dtype=np.float64)),
            Step("stack", (Var(0), Var(1)), {"axis": -1}, shape=(2,)),
            Step("sigmoid_prime", (Var(2),), {}, shape=(2,)),
            Step(
                "leaf",
                shape=(2,),
                value=np.array([0.402667794505266, 5.960464477539063e-08], dtype=np.float64),
            ),
            Step("cross_entropy_cost", (Var(3), Var(4)), {"reduction": "sum"}, shape=()),
            Step("leaf", shape=(), value=np.array(-0.5946256113899737, dtype=np.float64)),
            Step("leaf", shape=(), value=np.array(1e-06, dtype=np.float64)),
            Step("stack", (Var(6), Var(6), Var(7)), {"axis": -1}, shape=(3,)),
            Step("add", (Var(8), Var(5)), {}, shape=(3,)),
        ],
        output=9,
        dtype=np.float64,
    ),
    "cross_entropy_cost: target's sign": Graph(
        [
            Step("leaf", shape=(), value=np.array(0.1, dtype=np.float64)),
            Step("cross_entropy_cost", (Var(0), Var(0)), {"reduction": "sum"}, shape=()),
        ],
        output=1,
        dtype=np.float64,
    ),
    "cross_entropy_cost(logits): an extra σ'(z)": Graph(
        [
            Step("leaf", shape=(), value=np.array(0.0, dtype=np.float64)),
            Step("cross_entropy_cost_logits", (Var(0), Var(0)), {"reduction": "sum"}, shape=()),
        ],
        output=1,
        dtype=np.float64,
    ),
    "cross_entropy_cost(logits): target's sign": Graph(
        [
            Step(
                "leaf",
                shape=(2, 1),
                value=np.array(
                    [[-2.824960957713941e-244], [-1.6473063107095847]], dtype=np.float64
                ),
            ),
            Step(
                "leaf",
                shape=(2, 1),
                value=np.array([[1.3626917346510521e-281], [0.7639496091110689]], dtype=np.float64),
            ),
            Step("hadamard", (Var(0), Var(1)), {}, shape=(2, 1)),
            Step("cross_entropy_cost_logits", (Var(1), Var(1)), {"reduction": "sum"}, shape=()),
            Step("sum", (Var(2),), {"axis": None, "keepdims": False}, shape=()),
            Step("add", (Var(3), Var(4)), {}, shape=()),
        ],
        output=5,
        dtype=np.float64,
    ),
}
