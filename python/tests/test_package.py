"""The package installs offline into a venv and works from outside the tree
(scripts/python_package_test.sh), and its metadata says what it is."""

import pathlib
import subprocess
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_pyproject_describes_reader_and_writer_and_avoids_the_cpp_tool_name():
    project = tomllib.loads((ROOT / "python" / "pyproject.toml").read_text())["project"]
    assert "reader and writer" in project["description"]
    assert project["scripts"] == {"wick-py": "wick.cli:main"}  # `wick` is the C++ tool
    assert set(project["dependencies"]) == {"numpy", "xxhash"}


def test_offline_venv_install_runs_the_cli_and_imports_outside_the_tree():
    done = subprocess.run(["bash", str(ROOT / "scripts" / "python_package_test.sh")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "format:    wick 1.0" in done.stdout
    assert "/encoder.weight  float32  [3, 4]     48  0x8fa0d089b455c444" in done.stdout
    assert "views_2_1.wick: OK (4 tensors" in done.stdout
    assert "import ok: wick 0.1.0 from " in done.stdout and "site-packages" in done.stdout
