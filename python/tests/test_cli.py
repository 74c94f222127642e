"""`python3 -m wick`: output, and exit codes equal to the C++ `wick` tool's on the same files.

The comparison runs when WICK_CLI names the C++ binary; without it those tests skip, unless
WICK_REQUIRE_PEERS=1, when they fail.
"""

import io
import os
import pathlib
import subprocess
import sys

import pytest

import builder as B
from builder import DICT, TENSOR
from wick import cli

DATA = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data"
PYTHON_DIR = pathlib.Path(__file__).resolve().parents[1]
GOLDEN = sorted(DATA.glob("*.wick"))
TIED = (DATA / "tied.wick").read_bytes()


def run(*argv):
    """(exit code, stdout, stderr) of the Python CLI, in process."""
    out, err = io.StringIO(), io.StringIO()
    try:
        code = cli.run([str(a) for a in argv], out, err)
    except SystemExit as e:  # argparse's usage errors
        code = e.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Damaged and odd files beside the golden ones; name -> path."""
    d = tmp_path_factory.mktemp("cli")
    flipped = bytearray(TIED)
    flipped[130] ^= 0x10  # a payload byte: the index still opens
    header_flip = bytearray(TIED)
    header_flip[70] ^= 1  # a tensor record header byte
    ambiguous = B.build(DICT(("a.b", TENSOR(0)), ("a", DICT(("b", TENSOR(0))))),
                        tensors=[(8, (3, 4), bytes(48))])
    made = {"truncated.wick": TIED[:-10], "flipped.wick": bytes(flipped),
            "header_flip.wick": bytes(header_flip),
            "not_wick.txt": b"hello, not a wick file\n" * 8,
            "empty.wick": b"", "ambiguous.wick": ambiguous, "trailing.wick": TIED + b"\0"}
    paths = {name: d / name for name in made}
    for name, data in made.items():
        paths[name].write_bytes(data)
    paths["missing.wick"] = d / "missing.wick"
    paths["directory"] = d
    return paths


# (command, file, path inside) -> expected exit code
CASES = [(("info", g.name), 0) for g in GOLDEN] + [(("verify", g.name), 0) for g in GOLDEN] + [
    (("verify", "truncated.wick"), 5), (("info", "truncated.wick"), 5),
    (("verify", "flipped.wick"), 5), (("info", "flipped.wick"), 0),
    (("verify", "header_flip.wick"), 5), (("verify", "trailing.wick"), 5),
    (("verify", "not_wick.txt"), 4), (("info", "not_wick.txt"), 4),
    (("verify", "empty.wick"), 4),
    (("verify", "missing.wick"), 3), (("info", "missing.wick"), 3),
    (("verify", "directory"), 3), (("cat", "directory"), 3),
    (("cat", "tied.wick", "/nope"), 2), (("cat", "tied.wick", "encoder.wieght"), 2),
    (("cat", "ambiguous.wick", "a.b"), 2), (("cat", "ambiguous.wick", "/a.b"), 0),
    (("cat", "tied.wick", "encoder.weight"), 0), (("cat", "checkpoint_2_0.wick", "/epoch"), 0),
    (("cat", "views_2_1.wick"), 0), (("cat", "flipped.wick", "/encoder.weight"), 5),
]


def resolve(files, args):
    cmd, name, *rest = args
    path = files.get(name, DATA / name)
    return [cmd, path, *rest]


@pytest.mark.parametrize("args,expected", CASES, ids=lambda c: " ".join(map(str, c))
                         if isinstance(c, tuple) else str(c))
def test_exit_codes(files, args, expected):
    code, out, err = run(*resolve(files, args))
    assert code == expected, (out, err)
    if code == 0 or args[0] == "verify":
        assert err == ""  # verify reports on stdout, file by file
    else:
        assert err.startswith("wick: ")


def peer():
    cli_path = os.environ.get("WICK_CLI")
    if not cli_path:
        if os.environ.get("WICK_REQUIRE_PEERS") == "1":
            pytest.fail("WICK_REQUIRE_PEERS=1 but WICK_CLI is not set")
        pytest.skip("WICK_CLI is not set")
    if not os.access(cli_path, os.X_OK):
        pytest.fail(f"WICK_CLI={cli_path} is not an executable")
    return cli_path


@pytest.mark.parametrize("args,expected", CASES, ids=lambda c: " ".join(map(str, c))
                         if isinstance(c, tuple) else str(c))
def test_exit_codes_equal_the_cpp_tool(files, args, expected):
    argv = [str(a) for a in resolve(files, args)]
    done = subprocess.run([peer(), *argv], capture_output=True, timeout=60)
    assert done.returncode == expected == run(*argv)[0], done.stderr.decode()


def test_usage_errors_exit_2():
    assert run()[0] == 2
    assert run("frobnicate", DATA / "tied.wick")[0] == 2
    assert run("cat")[0] == 2


def test_info_prints_version_producer_metadata_and_entries():
    code, out, _ = run("info", DATA / "all_types.wick")
    assert code == 0
    assert "format:    wick 1.0\n" in out and "producer:  wick 0.1.0\n" in out
    assert "  name: 'golden'\n" in out
    assert "  path           dtype     shape   bytes  checksum\n" in out
    assert "  /bfloat16      bfloat16  [2, 3]     12  0x" in out
    # Every leaf is listed, the scalars too, with their kind and value.
    assert "  /nested/1      float     -           -  -                   -2.5\n" in out
    assert "  /nested/6      list      -           -  -                   (empty)\n" in out
    assert "total:     13 entries, 13 tensors, 8 other values, 226 payload bytes" in out
    _, out, _ = run("info", DATA / "tied.wick")
    assert "same tensor as /encoder.weight" in out
    _, out, _ = run("info", DATA / "views_2_1.wick")
    assert "  /evens" in out and "shares storage with /numbers" in out


def test_verify_reports_each_file_with_offset_and_structure(files):
    code, out, _ = run("verify", DATA / "tied.wick", files["flipped.wick"], files["not_wick.txt"])
    assert code == 5  # the first failure
    assert "tied.wick: OK (1 tensor" in out
    assert ("flipped.wick: corrupt\n  tensor '/encoder.weight' at offset 64: payload checksum"
            in out)
    assert "not_wick.txt: not a wick file\n  file header at offset 0: not a wick file (184 bytes" in out


def test_cat_prints_tensors_scalars_and_names_close_matches(files):
    code, out, _ = run("cat", DATA / "tied.wick", "encoder.weight")
    assert code == 0 and out.startswith("[[ 0.  1.  2.  3.]")
    assert run("cat", DATA / "checkpoint_2_0.wick", "epoch")[1] == "5\n"
    assert "-3.75" in run("cat", DATA / "all_types.wick", "/bfloat16")[1]  # widened bf16
    code, _, err = run("cat", DATA / "tied.wick", "encoder.wieght")
    assert code == 2 and "encoder.weight" in err
    code, _, err = run("cat", files["ambiguous.wick"], "a.b")
    assert code == 2 and "'/a.b'" in err and "'/a/b'" in err


def test_long_and_control_characters_are_shown_safely():
    assert cli.shown("a\nb\x1b") == "a\\nb\\x1b"
    long = "x" * 5000
    cut = cli.shown(long)
    assert cut == "x" * 480 + "...[4040 bytes]..." + "x" * 480


def test_python_dash_m_wick_runs():
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
    done = subprocess.run([sys.executable, "-m", "wick", "info", DATA / "tied.wick"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and "format:    wick 1.0" in done.stdout
    done = subprocess.run([sys.executable, "-m", "wick", "verify", DATA / "nope.wick"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 3


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_info_prints_what_the_cpp_tool_prints(path):
    done = subprocess.run([peer(), "info", str(path)], capture_output=True, text=True,
                          timeout=60)
    assert run("info", path)[1] == done.stdout
