"""Submissions anyone can check without a central service.

- `manifest`: the records files a result document names, each with the sha256 it states,
  and where they lie beside the document (one rule for submit, verify and the index);
- `sshsig`: `ssh-keygen -Y sign / find-principals / verify / check-novalidate` with
  timeouts, in the namespace `ascend-bench-kit`;
- `verify`: one submission's signature and records, as a status (verified, unknown signer,
  failed, unsigned, unchecked) with a one-line reason.

What is signed is the result document's bytes. The document already states each records
file's sha256, so one signature covers the document and, through those hashes, its records;
`verify` re-hashes every records file the document names. docs/submitting.md says why.
"""
