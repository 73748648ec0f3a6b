"""SSH signatures of result documents, made and checked by `ssh-keygen -Y` (OpenSSH >= 8.2).

The namespace is `ascend-bench-kit`, so a signature made for this kit cannot be passed off
as a Git commit signature or the reverse. Every call has a timeout and reads nothing from
a terminal unless the caller says the run is interactive:

- signing writes the document to a private temporary file and signs that file, with
  standard input closed: ssh-keygen reads a key's passphrase from standard input when it
  has no terminal, so the data must never be there;
- a non-interactive run also starts ssh-keygen in a new session (no controlling terminal,
  so no prompt on /dev/tty) with `SSH_ASKPASS_REQUIRE=never` (no graphical prompt): a key
  with a passphrase fails at once with one line, unless ssh-agent holds it (`ssh-add KEY`
  first; ssh-keygen then signs through the agent and asks for nothing).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError

NAMESPACE = "ascend-bench-kit"
TIMEOUT_S = 30.0
INTERACTIVE_TIMEOUT_S = 300.0  # a person typing a passphrase
MAX_SIGNATURE_BYTES = 64 * 1024  # an armored SSHSIG of any key type is well under 4 KiB
_KEY = re.compile(r"with (\S+) key (\S+)")


class SshKeygenMissing(BenchError):
    """No ssh-keygen on PATH: signatures can be neither made nor checked here."""


@dataclass(frozen=True)
class SignatureCheck:
    """What ssh-keygen says of one signature over some bytes."""

    status: str  # 'verified' | 'unknown-signer' | 'failed'
    signer: str | None  # the principal(s) of allowed_signers, when verified
    key: str | None  # key type and fingerprint, e.g. `ED25519 SHA256:...`
    reason: str  # one line; '' when verified


def ssh_keygen() -> str:
    exe = shutil.which("ssh-keygen")
    if exe is None:
        raise SshKeygenMissing(
            "ssh-keygen not found: install OpenSSH 8.2 or later (Debian/Ubuntu: openssh-client)"
        )
    return exe


def _last_line(*texts: str) -> str:
    """ssh-keygen's last message, as one line (a passphrase prompt before it dropped)."""
    for text in texts:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if lines:
            line = " ".join(lines[-1].split()).removeprefix("Enter passphrase: ")
            return line[:300]
    return "no message"


def _run(
    args: list[str], *, data: bytes | None = None, interactive: bool = False
) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    if not interactive:
        env["SSH_ASKPASS_REQUIRE"] = "never"
    timeout = INTERACTIVE_TIMEOUT_S if interactive else TIMEOUT_S
    try:
        return subprocess.run(
            [ssh_keygen(), *args],
            input=data,
            stdin=None if data is not None or interactive else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
            env=env,
            start_new_session=not interactive,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(
            f"ssh-keygen {' '.join(args[:2])} gave no answer within {timeout:g} s"
        ) from None
    except OSError as exc:
        raise BenchError(f"ssh-keygen could not be started: {exc}") from None


def _text(p: subprocess.CompletedProcess[bytes]) -> tuple[str, str]:
    return p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def sign(data: bytes, key: Path, *, interactive: bool = False) -> bytes:
    """An armored SSH signature of `data` by `key` (a private key, or a public key whose
    private half ssh-agent holds). Raises BenchError with one line when ssh-keygen cannot."""
    if not key.is_file():
        raise BenchError(f"signing key not found: {key}")
    with tempfile.TemporaryDirectory(prefix="bench-sign-") as tmp:
        target = Path(tmp) / "document"
        target.write_bytes(data)
        p = _run(
            ["-Y", "sign", "-f", str(key), "-n", NAMESPACE, str(target)], interactive=interactive
        )
        signature = target.with_name("document.sig")
        if p.returncode != 0 or not signature.is_file():
            out, err = _text(p)
            why = _last_line(err, out)
            hint = ""
            if "passphrase" in why.lower() and not interactive:
                hint = (
                    "; the key has a passphrase and this run has no terminal: load it into "
                    f"ssh-agent first (`ssh-add {key}`)"
                )
            raise BenchError(f"ssh-keygen could not sign with {key}: {why}{hint}")
        return signature.read_bytes()


def check(data: bytes, signature: Path, allowed_signers: Path | None) -> SignatureCheck:
    """Who signed `data`, per `allowed_signers`: verified, an unknown signer, or failed.

    find-principals names the allowed signer whose key made the signature; verify then
    checks the signature over the bytes for that principal and namespace. With no allowed
    principal, check-novalidate tells a good signature by an unknown key from a bad one.
    """
    principals: list[str] = []
    if allowed_signers is not None and allowed_signers.is_file():
        p = _run(["-Y", "find-principals", "-s", str(signature), "-f", str(allowed_signers)])
        out, err = _text(p)
        if p.returncode == 0:
            principals = [ln.strip() for ln in out.splitlines() if ln.strip()]
        elif "no principal matched" not in (out + err).lower():
            return SignatureCheck(
                "failed", None, None, f"unreadable signature: {_last_line(err, out)}"
            )
    if principals:
        p = _run(
            [
                "-Y", "verify", "-f", str(allowed_signers), "-I", principals[0],
                "-n", NAMESPACE, "-s", str(signature),
            ],
            data=data,
        )  # fmt: skip
        out, err = _text(p)
        if p.returncode == 0:
            return SignatureCheck("verified", ", ".join(principals), _key(out + err), "")
        return _does_not_verify(out, err)
    p = _run(["-Y", "check-novalidate", "-n", NAMESPACE, "-s", str(signature)], data=data)
    out, err = _text(p)
    if p.returncode != 0:
        return _does_not_verify(out, err)
    key = _key(out + err)
    return SignatureCheck(
        "unknown-signer", None, key, f"key {key or '(unknown)'} is not in the allowed signers"
    )


def _key(text: str) -> str | None:
    match = _KEY.search(text)
    return f"{match.group(1)} {match.group(2)}" if match else None


def _does_not_verify(out: str, err: str) -> SignatureCheck:
    return SignatureCheck(
        "failed",
        None,
        None,
        "the signature does not verify: the document changed after it was signed, or the "
        f"signature is not in the {NAMESPACE} namespace (ssh-keygen: {_last_line(err, out)})",
    )
