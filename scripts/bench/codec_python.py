#!/usr/bin/env python3
"""The Python side of the codec benchmark (scripts/bench_codec.sh).

usage:
  codec_python.py write PATH      writes a RESULT frame of 5,000 realistic job rows
                                  (uuid, text, timestamp, int, blob), packed by hand per the spec
  codec_python.py bench PATH [S]  decodes that frame with the DataStax driver's protocol handler
                                  (Cython build when available; rows as tuples, i.e. tuple_factory)
                                  for S seconds and prints rows/s and CPU µs per row as JSON
"""
import json
import random
import struct
import sys
import time
import uuid

ROWS = 5000


def string(text):
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def cell(data):
    return struct.pack(">i", len(data)) + data


def write(path):
    rng = random.Random(42)
    body = struct.pack(">i", 2)                       # kind: Rows
    body += struct.pack(">ii", 0x0001, 5)             # Global_tables_spec, 5 columns
    body += string("scheduler") + string("jobs")
    for name, type_id in (("id", 0x0C), ("name", 0x0D), ("due_at", 0x0B), ("attempt", 0x09), ("payload", 0x03)):
        body += string(name) + struct.pack(">H", type_id)
    body += struct.pack(">i", ROWS)
    base = 1_764_400_000_000
    for index in range(ROWS):
        body += cell(uuid.UUID(int=rng.getrandbits(128), version=4).bytes)
        body += cell(f"job-{index:06d}-nightly-report".encode())
        body += cell(struct.pack(">q", base + index * 1000))
        body += cell(struct.pack(">i", rng.randint(0, 5)))
        body += cell(bytes(rng.getrandbits(8) for _ in range(64)))
    frame = bytes([0x84, 0x00]) + struct.pack(">hBi", 0, 0x08, len(body)) + body
    with open(path, "wb") as handle:
        handle.write(frame)


def bench(path, seconds):
    from cassandra import protocol
    frame = open(path, "rb").read()
    body = frame[9:]
    handler = protocol.ProtocolHandler
    decode = lambda: handler.decode_message(4, {}, 0, 0, 0x08, body, None, None)
    message = decode()
    assert len(message.parsed_rows) == ROWS, len(message.parsed_rows)
    iterations = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < seconds:
        decode()
        iterations += 1
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    rows = iterations * ROWS
    print(json.dumps({
        "decoder": type(message).__name__ + (" (Cython)" if getattr(protocol, "HAVE_CYTHON", False) else ""),
        "rows_per_second": rows / wall,
        "cpu_us_per_row": cpu / rows * 1e6,
        "iterations": iterations,
    }))


if __name__ == "__main__":
    if any(arg in ("-h", "--help") for arg in sys.argv[1:]):
        print(__doc__.strip())
    elif len(sys.argv) < 3 or sys.argv[1] not in ("write", "bench"):
        sys.exit(__doc__.strip())
    elif sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        bench(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 5.0)
