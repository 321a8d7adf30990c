"""Building and reading Exposure Notification key export files of 100k and 1M keys.

  build   crypto.exposure_export.build_export: sort, protobuf, ECDSA P-256 signature, zip
          (target: at most 1 s per 100k keys, so at most 10 s for a million; growth linear)
  read    crypto.exposure_export.read_export of the same file: unzip, verify, parse, ExportKeys

Sizes are measured in turn, --repeat rounds, and the best of each is kept, so a disturbance of
the machine does not fall on one size only. The ratio of the largest to the smallest size shows
whether the growth is linear (a ratio near the ratio of the sizes). Nothing here asserts on time.
Usage: .venv/bin/python bench/exposure_export.py [--sizes 100000,1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import time

from cryptography.hazmat.primitives.asymmetric import ec

from crypto.exposure_export import ExportKey, SignatureInfo, build_export, read_export


def make_keys(count: int, rng: random.Random) -> list[ExportKey]:
    """count keys with random key data and metadata that varies like real uploads."""
    return [
        ExportKey(
            key_data=rng.randbytes(16),
            rolling_start_interval_number=2_900_000 + 144 * rng.randrange(14),
            rolling_period=144,
            transmission_risk_level=rng.randrange(9),
            report_type=1,
            days_since_onset_of_symptoms=rng.choice([None, *range(-14, 15)]),
        )
        for _ in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    private_key = ec.generate_private_key(ec.SECP256R1())
    public_key = private_key.public_key()
    info = SignatureInfo(key_id="BE", key_version="v1")
    rng = random.Random(1)
    keys = {size: make_keys(size, rng) for size in sizes}
    figures = {size: [float("inf"), float("inf")] for size in sizes}
    sizes_of = {}
    for _ in range(args.repeat):
        for size in sizes:
            began = time.perf_counter()
            data = build_export(
                keys[size],
                start=1_740_000_000,
                end=1_740_086_400,
                region="BE",
                batch_num=1,
                batch_size=1,
                private_key=private_key,
                info=info,
            )
            built = time.perf_counter()
            export = read_export(data, public_key, max_bytes=2**31)  # sizes past the default limit too
            read = time.perf_counter()
            assert len(export.keys) == size
            del export  # so that one size's parsed keys do not weigh on the next size's figures
            figures[size][0] = min(figures[size][0], built - began)
            figures[size][1] = min(figures[size][1], read - built)
            sizes_of[size] = len(data)
    for size in sizes:
        build_s, read_s = figures[size]
        print(
            f"{size:>9,} keys  build {build_s:6.2f} s ({build_s / size * 1e6:.2f} us/key)"
            f"  read {read_s:6.2f} s ({read_s / size * 1e6:.2f} us/key)  file {sizes_of[size] / 2**20:.1f} MiB"
        )
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        print(
            f"ratio {large:,}/{small:,} keys (sizes {large / small:.1f}x):"
            f"  build {figures[large][0] / figures[small][0]:.2f}  read {figures[large][1] / figures[small][1]:.2f}"
        )


if __name__ == "__main__":
    main()
