"""Throwaway SSH keys and signed submissions for the signing, verify and index tests.

Keys are ed25519, made by `ssh-keygen -t ed25519` in the test's tmp directory (no network,
nothing outside tmp). A submission is the measured fixture with two records files of its
own, each named in the document with its real sha256.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import report_docs as docs

NAMESPACE = "ascend-bench-kit"
RECORDS = {
    "throughput": b'{"request": 1, "output_len": 256}\n{"request": 2, "output_len": 256}\n',
    "latency": b'{"run": 1, "ttft_ms": 420.0}\n',
}


def keygen(directory: Path, name: str, passphrase: str = "") -> Path:
    """A new ed25519 key pair `directory/name` (+ `.pub`); returns the private key."""
    key = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f", str(key)],
        check=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    return key


def allowed_signers(path: Path, signers: dict[str, Path]) -> Path:
    """An allowed_signers file: one `principal namespaces="ascend-bench-kit" key` line each."""
    lines = ["# test signers"]
    for principal, key in signers.items():
        public = Path(f"{key}.pub").read_text(encoding="utf-8").strip()
        lines.append(f'{principal} namespaces="{NAMESPACE}" {public}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def measured_with_records(directory: Path, name: str = "run", submitter: str = "Li Wei") -> Path:
    """A valid measured document `directory/name.json` with its records in `name.records/`
    (the layout `bench run` writes), each records sha256 stated in the document."""
    doc = docs.with_submitter(docs.with_provenance(docs.measured()), submitter)
    for section, data in RECORDS.items():
        rel = f"{name}.records/{section}.jsonl"
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        records = doc["measurements"][section][0]["records"]
        records["path"] = rel
        records["sha256"] = hashlib.sha256(data).hexdigest()
        if records.get("format") == "bench-records-v1":
            records["format"] = None  # these stand-in bytes are not the kit's records format
    return docs.write(directory, f"{name}.json", doc)


def sign_file(path: Path, key: Path, namespace: str = NAMESPACE) -> Path:
    """`ssh-keygen -Y sign` as a person would run it by hand: writes `path.sig`."""
    subprocess.run(
        ["ssh-keygen", "-Y", "sign", "-f", str(key), "-n", namespace, str(path)],
        check=True,
        timeout=30,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return Path(f"{path}.sig")


def flip_byte(path: Path, needle: bytes) -> None:
    """Change one byte of `path`: the first byte of `needle`, one bit off."""
    data = bytearray(path.read_bytes())
    at = data.index(needle)
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
