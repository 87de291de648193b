"""Cost of sealing personal data at rest: seal and open per algorithm, for a mobile and a workflow state.

Usage: python bench/field_encryption.py [--repeat 2000]

Prints microseconds per value for SM4-GCM (the default, 商用密码) and AES-256-GCM, plus the ratio, measured in
one run: an action of the runner opens and seals its application's state once each.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.field_encryption import ALGORITHMS, Keyring, new_key
from app.models._types import json_bytes

SAMPLES = {
    "mobile (11 B)": b"13800138000",
    "workflow state (11 KB)": json_bytes({"tasks": [{"id": f"{n:032x}", "data": "经办人" * 20} for n in range(60)]}),
}


def per_value(keyring: Keyring, value: bytes, repeat: int) -> tuple[float, float]:
    started = time.perf_counter()
    for _ in range(repeat):
        sealed = keyring.seal(value, "bench.column")
    sealed_at = time.perf_counter()
    for _ in range(repeat):
        keyring.unseal(sealed, "bench.column")
    opened_at = time.perf_counter()
    return (sealed_at - started) / repeat * 1e6, (opened_at - sealed_at) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    for name, value in SAMPLES.items():
        print(f"{name}: {len(value)} bytes")
        figures = {alg: per_value(Keyring([new_key("k", alg)]), value, args.repeat) for alg in ALGORITHMS}
        for algorithm, (seal_us, open_us) in figures.items():
            print(f"  {algorithm:12} seal {seal_us:8.1f} µs  open {open_us:8.1f} µs  both {seal_us + open_us:8.1f} µs")
        sm4, aes = (sum(figures[alg]) for alg in ("SM4-GCM", "AES-256-GCM"))
        print(f"  SM4-GCM / AES-256-GCM = {sm4 / aes:.1f}×")


if __name__ == "__main__":
    main()
