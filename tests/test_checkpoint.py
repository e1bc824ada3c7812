"""Hostile and broken ``.npz`` files: every one is a one-line CheckpointError naming the file
(and the member), read without pickle, without trusting a declared size, and without loading
anything before every header has been checked against the model."""

from __future__ import annotations

import io
import os
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.lib import format as npy_format

from autograd_lite import checkpoint, nn
from autograd_lite.checkpoint import read_npz
from autograd_lite.errors import CheckpointError
from autograd_lite.nielsen import ManualNetwork, Network

SIZES = [3, 2]


def npy(shape, descr="<f8", fortran=False, data=None, version=(1, 0)):
    """The bytes of a ``.npy`` member whose header says anything we like."""
    out = io.BytesIO()
    header = {"descr": descr, "fortran_order": fortran, "shape": tuple(shape)}
    if version == (1, 0):
        npy_format.write_array_header_1_0(out, header)
    else:
        npy_format.write_array_header_2_0(out, header)
    if data is None:
        data = bytes(int(np.prod(shape, dtype=object)) * np.dtype(descr).itemsize)
    return out.getvalue() + data


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    """An archive with the given (name, bytes) members, duplicates and odd names allowed."""
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in members:
            z.writestr(name, data)
    return path


def good_members(net=None):
    net = net or Network(SIZES, seed=0)
    return [
        (
            "format.npy",
            npy(
                (), "<U23", data=b"".join(c.encode("utf-32-le") for c in "autograd_lite.nielsen/1")
            ),
        ),
        ("sizes.npy", npy((2,), "<i8", data=np.array(SIZES, dtype="<i8").tobytes())),
        ("cost.npy", npy((), "<U9", data="quadratic".encode("utf-32-le"))),
        ("w0.npy", npy((2, 3), data=net.weights[0].tobytes())),
        ("b0.npy", npy((2, 1), data=net.biases[0].tobytes())),
    ]


def replace(members, name, data):
    return [(n, data if n == name else d) for n, d in members]


def nn_model():
    return nn.Sequential(nn.Linear(3, 2, seed=0))


def load_network(path):
    return Network.load(path)


def load_manual(path):
    return ManualNetwork.load(path)


def load_module(path):
    return nn_model().load(path)


LOADERS = [load_network, load_manual, load_module]


def nn_members():
    model = nn_model()
    tag = "autograd_lite.nn/1"
    members = [("__format__.npy", npy((), f"<U{len(tag)}", data=tag.encode("utf-32-le")))]
    for name, value in model.state_dict().items():
        members.append((f"{name}.npy", npy(value.shape, data=value.tobytes())))
    return members


def members_for(loader):
    return nn_members() if loader is load_module else good_members()


def weight_name(loader):
    return "0.weight" if loader is load_module else "w0"


def assert_refused(loader, path, *fragments):
    with pytest.raises(CheckpointError) as info:
        loader(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_the_hand_built_files_are_valid(tmp_path):
    # the helpers build files the loaders accept, so each refusal below is due to its one change
    net = load_network(write_zip(tmp_path / "n.npz", good_members()))
    np.testing.assert_array_equal(net.weights[0], Network(SIZES, seed=0).weights[0])
    model = load_module(write_zip(tmp_path / "m.npz", nn_members()))
    np.testing.assert_array_equal(model[0].weight.data, nn_model()[0].weight.data)


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_a_header_declaring_2_to_the_40_floats_is_refused_before_allocating(tmp_path, loader):
    # 4.5 KB on disk, 8 TiB declared: the declared size must never reach an allocation
    name = weight_name(loader)
    forged = npy((2**20, 2**20), data=bytes(4096))
    path = write_zip(tmp_path / "huge.npz", replace(members_for(loader), f"{name}.npy", forged))
    assert path.stat().st_size < 6000
    assert_refused(loader, path, name)


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_a_zip_entry_with_forged_sizes_is_refused_unread(tmp_path, loader):
    # the central directory claims 2**40 bytes for a tiny entry: refused from the sizes alone
    name = weight_name(loader)
    path = write_zip(tmp_path / "forged.npz", members_for(loader))
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(f"{name}.npy")
    start = 0
    while True:  # the central directory record of the weight member
        start = raw.index(b"PK\x01\x02", start)
        name_len = struct.unpack_from("<H", raw, start + 28)[0]
        if raw[start + 46 : start + 46 + name_len] == f"{name}.npy".encode():
            break
        start += 4
    struct.pack_into("<I", raw, start + 24, 0xFFFFFFF0)  # its uncompressed size: ~4 GiB
    path.write_bytes(bytes(raw))
    assert info.file_size < 200
    assert_refused(loader, path, name, "forged")


def test_a_member_holding_more_than_its_header_declares_is_refused(tmp_path):
    # a small declared array followed by 4 MB of zeros that deflate to almost nothing
    bomb = npy((2, 3), data=bytes(48) + bytes(4 << 20))
    path = write_zip(
        tmp_path / "bomb.npz", replace(good_members(), "w0.npy", bomb), zipfile.ZIP_DEFLATED
    )
    assert path.stat().st_size < 50_000
    assert_refused(load_network, path, "'w0'", "bytes")


def test_a_member_holding_less_than_its_header_declares_is_refused(tmp_path):
    short = npy((2, 3), data=bytes(40))
    path = write_zip(tmp_path / "short.npz", replace(good_members(), "w0.npy", short))
    assert_refused(load_network, path, "'w0'")


def test_a_corrupted_deflated_member_fails_its_crc(tmp_path):
    path = write_zip(tmp_path / "crc.npz", good_members())
    raw = bytearray(path.read_bytes())
    at = raw.index(Network(SIZES, seed=0).weights[0].tobytes())
    raw[at + 3] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert_refused(load_network, path, "'w0'")


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_unexpected_members_are_refused_without_being_opened(tmp_path, loader, monkeypatch):
    members = [*members_for(loader), ("evil.npy", npy((10,)))]
    path = write_zip(tmp_path / "extra.npz", members)
    opened = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    assert_refused(loader, path, "evil")
    assert "evil.npy" not in opened


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_every_header_is_checked_before_any_array_is_read(tmp_path, loader, monkeypatch):
    # the last parameter's header is wrong: no member's data may have been read by then
    members = members_for(loader)
    last_name, last = members[-1]
    shape = npy_format.read_array_header_1_0(io.BytesIO(last[npy_format.MAGIC_LEN :]))[0]
    members[-1] = (last_name, npy((*shape, 1)))
    path = write_zip(tmp_path / "late.npz", members)
    read = []
    real_array = checkpoint.NpzReader.array

    def spy(self, key, *args, **kwargs):
        read.append(key)
        return real_array(self, key, *args, **kwargs)

    monkeypatch.setattr(checkpoint.NpzReader, "array", spy)
    message = assert_refused(loader, path, last_name[: -len(".npy")])
    assert "shape" in message
    assert read in ([], ["sizes"])  # only 'sizes', which the expected shapes come from


@pytest.mark.parametrize(
    ("why", "member", "fragment"),
    [
        ("object dtype (pickle)", npy((2, 3), "|O", data=b""), "pickle"),
        ("big-endian", npy((2, 3), ">f8"), "byte order"),
        ("Fortran order", npy((2, 3), fortran=True), "Fortran"),
        ("0-d", npy((), "<f8"), "shape"),
        ("structured", npy((2, 3), [("a", "<f8")]), "dtype"),
        ("integers", npy((2, 3), "<i8"), "floating"),
        ("bad header", npy_format.MAGIC_PREFIX + b"\x01\x00\x05\x00{'x'", "w0"),
        ("npy version 9", npy_format.MAGIC_PREFIX + b"\x09\x00" + bytes(30), "w0"),
        ("version 2.0 of huge", npy((2**40,), version=(2, 0), data=b""), "w0"),
    ],
    ids=lambda x: x if isinstance(x, str) and len(x) < 30 else "",
)
def test_hostile_members_are_refused_naming_file_and_member(tmp_path, why, member, fragment):
    path = write_zip(tmp_path / "hostile.npz", replace(good_members(), "w0.npy", member))
    message = assert_refused(load_network, path, fragment)
    assert "w0" in message, why


@pytest.mark.parametrize(
    "member",
    [npy((-2, -3)), npy((-1,), data=b""), npy((2,), "<U0", data=b""), npy((2, 3), "<M8[s]")],
    ids=["negative dims", "negative size", "zero-size dtype", "datetime"],
)
def test_impossible_headers_are_refused_by_the_generic_reader(tmp_path, member):
    path = write_zip(tmp_path / "odd.npz", [("x.npy", member)])
    with pytest.raises(CheckpointError, match=r"odd\.npz.*'x'"):
        read_npz(path)


def test_an_object_array_in_an_nn_checkpoint_is_refused(tmp_path):
    members = replace(nn_members(), "0.bias.npy", npy((2,), "|O", data=b""))
    assert_refused(load_module, write_zip(tmp_path / "obj.npz", members), "0.bias", "pickle")


@pytest.mark.parametrize(
    ("why", "members", "fragment"),
    [
        ("parent folder", [("../w0.npy", npy((2, 3)))], "../w0.npy"),
        ("absolute", [("/etc/w0.npy", npy((2, 3)))], "/etc/w0.npy"),
        ("folder entry", [("sub/", b"")], "sub/"),
        ("not .npy", [("w0.txt", b"hello")], "w0.txt"),
        ("duplicate", [("w0.npy", npy((2, 3)))], "twice"),
    ],
)
def test_unsafe_member_names_are_refused(tmp_path, why, members, fragment):
    with pytest.warns(UserWarning) if why == "duplicate" else _nothing():
        path = write_zip(tmp_path / "names.npz", [*good_members(), *members])
    assert_refused(load_network, path, fragment)


class _nothing:  # noqa: N801 - a null context manager spelled like pytest.warns
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "content",
    [b"", b"not a zip", b"PK\x03\x04 truncated", b"PK\x05\x06" + bytes(18)],
    ids=["empty", "text", "zip head", "empty zip"],
)
def test_not_a_checkpoint_at_all(tmp_path, loader, content):
    path = tmp_path / "junk.npz"
    path.write_bytes(content)
    assert_refused(loader, path)


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_a_fifo_or_a_folder_is_refused_without_blocking(tmp_path, loader):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    assert_refused(loader, fifo, "not a regular file")
    assert_refused(loader, tmp_path, "not a regular file")


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_memory_error_becomes_checkpoint_error(tmp_path, loader, monkeypatch):
    path = write_zip(tmp_path / "ok.npz", members_for(loader))

    def no_memory(n):
        raise MemoryError

    monkeypatch.setattr(checkpoint, "bytearray", no_memory, raising=False)
    assert_refused(loader, path, "memory")


def test_max_bytes_caps_what_the_headers_may_declare(tmp_path):
    path = write_zip(tmp_path / "ok.npz", good_members())
    with pytest.raises(CheckpointError, match="max_bytes"):
        read_npz(path, max_bytes=40)
    assert set(read_npz(path)) == {"format", "sizes", "cost", "w0", "b0"}


def test_arrays_read_are_writable_and_not_shared(tmp_path):
    arrays = read_npz(write_zip(tmp_path / "ok.npz", good_members()))
    w = arrays["w0"]
    w[0, 0] = 1.0  # a writable copy, not a view of a read-only buffer
    assert w.flags.c_contiguous


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_corruption_loads_identically_or_is_a_checkpoint_error(tmp_path, data):
    net = Network(SIZES, seed=0)
    good = net.save(tmp_path / "good.npz")
    raw = bytearray(good.read_bytes())
    action = data.draw(st.sampled_from(["flip", "truncate", "zero run"]))
    at = data.draw(st.integers(0, len(raw) - 1))
    if action == "flip":
        raw[at] ^= data.draw(st.integers(1, 255))
    elif action == "truncate":
        del raw[at:]
    else:
        raw[at : at + 16] = bytes(len(raw[at : at + 16]))
    path = tmp_path / "bad.npz"
    path.write_bytes(bytes(raw))
    try:
        back = Network.load(path)
    except CheckpointError as error:
        assert "\n" not in str(error) and str(path) in str(error)
        return
    for mine, theirs in zip(back.weights + back.biases, net.weights + net.biases, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_a_zip_needing_a_newer_zip_version_is_a_checkpoint_error(tmp_path):
    # zipfile raises NotImplementedError for a "version needed to extract" it does not know
    # (found by the corruption property above: one flipped byte in the central directory).
    path = write_zip(tmp_path / "new.npz", good_members())
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")
    raw[central + 6 : central + 8] = (109).to_bytes(2, "little")  # version 10.9
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="new.npz.*zip file version 10.9"):
        read_npz(path)


def test_one_layout_for_both_kinds_of_model(tmp_path):
    """nn and nielsen write one layout (a '__format__' tag naming the kind, then the arrays),
    checked by one validator: each refuses the other's files, and a nielsen file tagged
    otherwise; the legacy 'format' tag of earlier nielsen files still loads (good_members)."""
    net_path = Network(SIZES, seed=0).save(tmp_path / "n.npz")
    module_path = nn_model().save(tmp_path / "m.npz")
    assert str(read_npz(net_path)["__format__"]) == "autograd_lite.nielsen/1"
    assert str(read_npz(module_path)["__format__"]) == "autograd_lite.nn/1"
    assert_refused(load_module, net_path)
    assert_refused(load_network, module_path)
    tag = "autograd_lite.nn/1".encode("utf-32-le")
    other = replace(good_members(), "format.npy", npy((), "<U18", data=tag))
    assert_refused(load_network, write_zip(tmp_path / "o.npz", other), "autograd_lite.nielsen")
