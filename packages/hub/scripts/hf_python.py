"""Dev-time conformance helper: Python's huggingface_hub against the same cache and fake Hub as our tests.

  hf_python.py lookup   <cache> <repo> <revision> <file>...   offline: try_to_load_from_cache + local_files_only
  hf_python.py download <cache> <repo> <revision> <file>...   online (HF_ENDPOINT): hf_hub_download

Prints one JSON object: {"files": {file: {"path": ..., "sha256": ...} | null}, "error": class name | null}.
HF_ENDPOINT / HF_TOKEN / HF_HUB_OFFLINE come from the environment (read by huggingface_hub at import).
"""
import hashlib
import json
import sys


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    mode, cache, repo, revision, *files = sys.argv[1:]
    import huggingface_hub
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    out = {"version": huggingface_hub.__version__, "files": {}, "error": None}
    try:
        for f in files:
            if mode == "lookup":
                p = try_to_load_from_cache(repo, f, cache_dir=cache, revision=revision)
                if not isinstance(p, str):
                    out["files"][f] = None
                    continue
                # The full download path must also resolve it without a network.
                q = hf_hub_download(repo, f, revision=revision, cache_dir=cache, local_files_only=True)
                assert q == p, (q, p)
            else:
                p = hf_hub_download(repo, f, revision=revision, cache_dir=cache)
            out["files"][f] = {"path": p, "sha256": sha256(p)}
    except Exception as e:  # the class name is what the test checks (GatedRepoError, …)
        out["error"] = type(e).__name__
        out["message"] = str(e)[:500]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
