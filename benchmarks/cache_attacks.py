"""Attack the kernel cache and count what got through (issue 13).

    python benchmarks/cache_attacks.py [--kills 10]

Each attack starts from a warm cache (a model compiled, its kernels run, numba's code
recorded), changes it as an attacker or an accident would, then runs the next two gdc
processes that use the model. A row says whether the attacker's code ran (a payload that
leaves a marker file), how each process ended (exit status and the loss it computed, which
must be 1.0), and whether the damage outlived one rebuild ("permanent").

The attacker is another local user: someone who can write the cache only where its
permissions let them (a folder or file others may write, or files they own). Attacks that
need another user's files run as root only (chown). Not attacked: the user's own account,
which can edit any of its files; the modules' checksums guard against accidents only.
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gdc.runtime import cache, numba_files, sealed  # noqa: E402

LINEAR = "model y = m*x + b\nloss mean((y - Y)^2)\n"
RUN = textwrap.dedent(f"""
    import numpy as np, gdc
    k = gdc.compile({LINEAR!r})
    print(k.loss(np.array([1.0, 1.0]), np.ones(3), np.ones(3)))
""")
OTHER_USER = 65534   # nobody


@dataclass
class Outcome:
    attack: str
    ran: bool
    runs: list[str]
    said: str
    permanent: bool


def gdc_run(folder: Path, code: str = RUN, timeout: float = 600) -> tuple[int, str, str]:
    env = dict(os.environ, GDC_CACHE_DIR=str(folder))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    return done.returncode, done.stdout.strip(), done.stderr


def payload(marker: Path) -> str:
    return f"open({str(marker)!r}, 'a').write('ran\\n')\n"


class Payload:
    """A pickle that runs the payload when loaded."""

    def __init__(self, marker: Path):
        self.code = payload(marker)

    def __reduce__(self):
        return (exec, (self.code,))


def numba_pickle(marker: Path, index: bool) -> bytes:
    import numba
    body = pickle.dumps(Payload(marker))
    return pickle.dumps(numba.__version__) + body if index else body


# ------------------------------------------------------------------ the attacks

def module(folder: Path) -> Path:
    return next(folder.glob("gdc_*.py"))


def module_stem(folder: Path) -> str:
    return module(folder).stem


def numba_file(folder: Path, suffix: str, k: int = 0) -> Path:
    return sorted((folder / "__pycache__").glob(f"{module(folder).stem}.*{suffix}"))[k]


def forged(folder: Path, marker: Path) -> Path:
    path = module(folder)
    key = sealed.unseal(path.read_text())[0]
    path.write_text(sealed.seal(payload(marker) + path.read_text().split("\n", 3)[3], key))
    return path


def tampered_py(folder, marker):
    path = module(folder)
    path.write_text(path.read_text() + payload(marker))


def forged_seal_shared_file(folder, marker):
    forged(folder, marker).chmod(0o666)


def forged_seal_other_owner(folder, marker):
    os.chown(forged(folder, marker), OTHER_USER, OTHER_USER)


def forged_seal_shared_folder(folder, marker):
    forged(folder, marker)
    folder.chmod(0o777)


def forged_seal_folder_of_other_user(folder, marker):
    forged(folder, marker)
    os.chown(folder, OTHER_USER, OTHER_USER)


def tampered_pyc(folder, marker):
    import importlib.util
    import marshal
    path = module(folder)
    info = path.stat()
    pyc = Path(importlib.util.cache_from_source(str(path)))
    pyc.write_bytes(importlib.util.MAGIC_NUMBER + (0).to_bytes(4, "little")
                    + (int(info.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
                    + (info.st_size & 0xFFFFFFFF).to_bytes(4, "little")
                    + marshal.dumps(compile(payload(marker), str(path), "exec")))


def nbi_payload_shared(folder, marker):
    path = numba_file(folder, ".nbi")
    path.write_bytes(numba_pickle(marker, index=True))
    path.chmod(0o666)


def nbc_payload_other_owner(folder, marker):
    path = numba_file(folder, ".nbc")
    path.write_bytes(numba_pickle(marker, index=False))
    os.chown(path, OTHER_USER, OTHER_USER)


def nbi_planted_in_shared_pycache(folder, marker):
    pycache = folder / "__pycache__"
    pycache.chmod(0o777)
    path = numba_file(folder, ".nbi")
    path.unlink()
    path.write_bytes(numba_pickle(marker, index=True))
    os.chown(path, OTHER_USER, OTHER_USER)


def symlinked_module(folder, marker):
    path = module(folder)
    bait = folder.parent / "bait.py"
    key = sealed.unseal(path.read_text())[0]
    bait.write_text(sealed.seal(payload(marker) + path.read_text().split("\n", 3)[3], key))
    path.unlink()
    path.symlink_to(bait)


def truncated_nbi(folder, marker):
    path = numba_file(folder, ".nbi")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def empty_nbi(folder, marker):
    numba_file(folder, ".nbi", 1).write_bytes(b"")


def random_nbc(folder, marker):
    path = numba_file(folder, ".nbc")
    path.write_bytes(os.urandom(path.stat().st_size))


def flipped_byte_nbc(folder, marker):
    path = numba_file(folder, ".nbc", 1)
    data = bytearray(path.read_bytes())
    data[random.Random(0).randrange(len(data))] ^= 0x20
    path.write_bytes(bytes(data))


def folder_at_module(folder, marker):
    path = module(folder)
    path.unlink()
    path.mkdir()


def full_folder_at_nbc(folder, marker):
    path = numba_file(folder, ".nbc")
    path.unlink()
    path.mkdir()
    (path / "something").write_text("kept")


def garbage_log(folder, marker):
    (folder / cache.LOG_NAME).write_bytes(os.urandom(3000) + b"\x1b[2J\n\t\t\n")


ATTACKS = [
    ("tampered .py (payload appended, seal not updated)", tampered_py, False),
    ("forged seal, module writable by others (0666)", forged_seal_shared_file, False),
    ("forged seal, module owned by another user", forged_seal_other_owner, True),
    ("forged seal, cache folder writable by others (0777)", forged_seal_shared_folder, False),
    ("forged seal, cache folder owned by another user", forged_seal_folder_of_other_user, True),
    ("tampered .pyc whose header matches the .py", tampered_pyc, False),
    ("payload .nbi writable by others (0666)", nbi_payload_shared, False),
    ("payload .nbc owned by another user", nbc_payload_other_owner, True),
    ("payload .nbi planted in a __pycache__ others can write", nbi_planted_in_shared_pycache, True),
    ("module replaced by a link to a forged module", symlinked_module, False),
    ("truncated .nbi", truncated_nbi, False),
    ("empty .nbi", empty_nbi, False),
    ("random bytes for an .nbc", random_nbc, False),
    ("one flipped byte in an .nbc", flipped_byte_nbc, False),
    ("an empty folder at the module's path", folder_at_module, False),
    ("a full folder at an .nbc's path", full_folder_at_nbc, False),
    ("garbage rebuilds.log", garbage_log, False),
]


def attack(name: str, apply, template: Path, work: Path) -> Outcome:
    folder = work / "cache"
    shutil.copytree(template, folder, symlinks=True)
    marker = work / "marker"
    apply(folder, marker)
    runs, said, ok = [], "", []
    for _ in range(2):
        status, out, err = gdc_run(folder)
        runs.append(f"exit {status}, loss {out or '-'}")
        ok.append(status == 0 and out == "1.0")
        said = said or next((line for line in err.splitlines() if line.startswith("gdc: note")), "")
    log = cache.rebuild_reasons(folder) if folder.is_dir() else {}
    said = said or "; ".join(reason for _, reason in log.values() if reason != "not compiled before")
    said = (said.replace(str(folder), "CACHE").replace(module_stem(template), "gdc_…")
            or "nothing (it never reads that file)")
    if name.startswith("garbage"):
        said = "nothing: the log's lines that are not its own are skipped, escapes printed escaped"
    if name.startswith("garbage"):
        listing = subprocess.run([sys.executable, "-m", "gdc", "cache", "list"], capture_output=True, text=True,
                                 env=dict(os.environ, GDC_CACHE_DIR=str(folder)), cwd=ROOT)
        runs.append(f"cache list: exit {listing.returncode}")
        ok.append(listing.returncode == 0 and "\x1b" not in listing.stdout)
    return Outcome(name, marker.exists(), runs, said, not ok[-1])


def concurrent(work: Path, processes: int = 4) -> Outcome:
    folder = work / "cache"
    env = dict(os.environ, GDC_CACHE_DIR=str(folder))
    procs = [subprocess.Popen([sys.executable, "-c", RUN], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=ROOT) for _ in range(processes)]
    results = [(p.wait(timeout=900), p.stdout.read().strip()) for p in procs]
    good = all(status == 0 and out == "1.0" for status, out in results)
    modules = len(list(folder.glob("gdc_*.py")))
    status, out, _ = gdc_run(folder)
    return Outcome(f"{processes} processes compiling at once (cold cache)", False,
                   [f"{sum(s == 0 for s, _ in results)}/{processes} exit 0", f"exit {status}, loss {out}"],
                   f"{modules} module in the cache", not (good and status == 0 and out == "1.0" and modules == 1))


def killed(work: Path, kills: int, seed: int = 1) -> Outcome:
    """kill -9 a cold compile at random moments, then run again in the same cache."""
    rng = random.Random(seed)
    env = dict(os.environ)
    failures, leftovers = 0, 0
    for k in range(kills):
        folder = work / f"cache{k}"
        env["GDC_CACHE_DIR"] = str(folder)
        proc = subprocess.Popen([sys.executable, "-c", RUN], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd=ROOT)
        time.sleep(rng.uniform(0.5, 6.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        status, out, _ = gdc_run(folder)
        failures += not (status == 0 and out == "1.0")
        leftovers += len(list(folder.glob(".*.tmp")))
    return Outcome(f"kill -9 during a cold compile ({kills} random moments)", False,
                   [f"{kills - failures}/{kills} next runs exit 0 with loss 1.0"],
                   f"{leftovers} temp files left", failures > 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10, help="kill -9 moments to try (default 10)")
    args = parser.parse_args()
    root = os.geteuid() == 0
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="gdc-attacks-") as scratch:
        scratch = Path(scratch)
        template = scratch / "template"
        status, out, err = gdc_run(template)
        assert status == 0 and out == "1.0", err
        assert list((template / "__pycache__").glob(f"*{numba_files.SUMS}")), "numba's code was not recorded"
        for k, (name, apply, needs_root) in enumerate(ATTACKS):
            if needs_root and not root:
                outcomes.append(Outcome(name, False, ["skipped: needs root"], "", False))
                continue
            work = scratch / f"attack{k}"
            work.mkdir()
            outcomes.append(attack(name, apply, template, work))
            print(".", end="", flush=True, file=sys.stderr)
        (scratch / "concurrent").mkdir()
        outcomes.append(concurrent(scratch / "concurrent"))
        (scratch / "killed").mkdir()
        outcomes.append(killed(scratch / "killed", args.kills))
    print(file=sys.stderr)
    report(outcomes)


def report(outcomes: list[Outcome]) -> None:
    width = max(len(o.attack) for o in outcomes)
    print(f"{'attack':<{width}}  attacker code ran  next runs                               permanent failure  what gdc said")
    for o in outcomes:
        runs = "; ".join(o.runs)
        print(f"{o.attack:<{width}}  {'YES' if o.ran else 'no':<17}  {runs:<38}  {'YES' if o.permanent else 'no':<17}  "
              f"{o.said[:110]}")
    print(f"\n{sum(o.ran for o in outcomes)} attacker-code executions, "
          f"{sum(o.permanent for o in outcomes)} permanent failures, {len(outcomes)} attacks")
    print("Not attacked: the user's own account, which can edit any of its files (the checksums "
          "guard against accidents, the permissions against other users).")


if __name__ == "__main__":
    main()
