"""`python -m tracing_client check --url URL --public-key FILE`: download, verify and summarise the exports.

What a phone does before matching: fetch the index, fetch each file, verify its signature with
the public key the health authority registered (`safesignal tracing public-key` prints it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from crypto.errors import CryptoError
from crypto.exposure_export import load_export_public_key
from tracing_client.api import Downloader, HttpTransport, TracingClientError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tracing_client", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="download and verify every export file of the index")
    check.add_argument("--url", default="http://127.0.0.1:8000", help="the server (default: %(default)s, as `make run` serves it)")
    check.add_argument("--public-key", type=Path, required=True, help="PEM file from `safesignal tracing public-key`")
    args = parser.parse_args(argv)
    try:
        downloader = Downloader(HttpTransport(args.url), load_export_public_key(args.public_key.read_bytes()))
    except (OSError, CryptoError) as error:
        print(f"error: {args.public_key}: {error.strerror if isinstance(error, OSError) else error}", file=sys.stderr)
        return 1
    try:
        names = downloader.index()
        for name in names:
            (file,) = downloader.files([name])
            start, end = (dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M") for t in (file.start, file.end))
            print(f"{name}: {start} to {end} UTC, {file.region}, batch {file.batch_num}/{file.batch_size}, "
                  f"{len(file.keys)} keys, signature valid (key {file.info.key_id} {file.info.key_version})")
    except (TracingClientError, CryptoError, OSError) as error:  # OSError: the server cannot be reached
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{len(names)} files verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
