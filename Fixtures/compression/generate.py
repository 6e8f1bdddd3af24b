#!/usr/bin/env python3
"""Writes the compression test vectors in this folder from real peers.

- lz4_python.hex: seeded inputs and `lz4.block.compress(input, store_size=False)` from the
  `lz4` PyPI package (the reference C library), in both its default and high-compression modes.
- lz4_capture.hex: every compressed frame body in ../captures-c311/lz4.pcap (recorded from
  Apache Cassandra 3.11.10, COMPRESSION=lz4), with the body as liblz4 decompresses it.
- snappy_capture.hex: every compressed frame body in ../captures/cassandra_compressed.pcap
  (elastic/beats, Apache-2.0, recorded from real Cassandra 3.x, COMPRESSION=snappy), with the
  body as Google's libsnappy (loaded through ctypes) decompresses it.

Record format, one per line: `name<TAB>uncompressed-hex<TAB>compressed-hex`; lines starting
with `#` are comments. For the captures the compressed column is the frame body as sent.
Run from anywhere: python3 Fixtures/compression/generate.py
"""
import ctypes
import ctypes.util
import os
import random
import struct
import sys

import lz4
import lz4.block

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.dirname(HERE)


def snappy_library():
    path = ctypes.util.find_library("snappy")
    if path is None:
        sys.exit("libsnappy is needed (Debian: libsnappy1v5)")
    library = ctypes.CDLL(path)
    library.snappy_uncompressed_length.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
    library.snappy_uncompress.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t)]
    return library, path


def snappy_uncompress(library, data):
    length = ctypes.c_size_t()
    if library.snappy_uncompressed_length(data, len(data), ctypes.byref(length)) != 0:
        raise ValueError("libsnappy: bad length")
    output = ctypes.create_string_buffer(max(length.value, 1))
    if library.snappy_uncompress(data, len(data), output, ctypes.byref(length)) != 0:
        raise ValueError("libsnappy: bad stream")
    return output.raw[: length.value]


def tcp_streams(path):
    """Reassembled TCP payloads per direction of a classic pcap (NULL/loopback, Ethernet, Linux SLL; IPv4)."""
    with open(path, "rb") as handle:
        data = handle.read()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    link_type = struct.unpack(endian + "I", data[20:24])[0]
    link_header = {0: 4, 1: 14, 113: 16}[link_type]
    segments = {}
    order = []
    offset = 24
    while offset + 16 <= len(data):
        _, _, captured, _ = struct.unpack(endian + "IIII", data[offset : offset + 16])
        packet = data[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        if link_type == 1 and packet[12:14] != b"\x08\x00":
            continue
        ip = packet[link_header:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ip_header = (ip[0] & 0x0F) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        tcp = ip[ip_header:total]
        source_port, destination_port, sequence = struct.unpack(">HHI", tcp[:8])
        payload = tcp[(tcp[12] >> 4) * 4 :]
        key = (ip[12:16], source_port, ip[16:20], destination_port)
        if key not in segments:
            segments[key] = {}
            order.append(key)
        if payload:
            segments[key].setdefault(sequence, payload)
    for key in order:
        stream = b""
        next_sequence = None
        for sequence in sorted(segments[key]):
            payload = segments[key][sequence]
            if next_sequence is not None and sequence < next_sequence:
                payload = payload[next_sequence - sequence :]  # retransmitted overlap
            stream += payload
            next_sequence = sequence + len(segments[key][sequence])
        yield key, stream


def compressed_bodies(path):
    """(name, body) of every v4 frame with the compression flag, in capture order per direction."""
    for (source, source_port, destination, destination_port), stream in tcp_streams(path):
        if 9042 not in (source_port, destination_port):
            continue
        offset = 0
        while offset + 9 <= len(stream):
            version, flags, stream_id, opcode, length = struct.unpack(">BBhBI", stream[offset : offset + 9])
            body = stream[offset + 9 : offset + 9 + length]
            if len(body) < length:
                break
            if flags & 0x01 and version & 0x7F == 4:
                direction = "response" if version & 0x80 else "request"
                yield f"{direction}-port{source_port}-stream{stream_id}-opcode{opcode:#04x}-at{offset}", body
            offset += 9 + length


def write(name, header, records):
    with open(os.path.join(HERE, name), "w") as handle:
        for line in header:
            handle.write(f"# {line}\n")
        for record_name, plain, compressed in records:
            handle.write(f"{record_name}\t{plain.hex()}\t{compressed.hex()}\n")
    print(f"{name}: {len(records)} records")


def python_inputs():
    rng = random.Random(20261129)
    text = b"INSERT INTO scheduler.jobs (id, due, payload) VALUES (?, ?, ?) USING TTL 86400; "
    inputs = [
        ("empty", b""),
        ("one-byte", b"\x2a"),
        ("twelve-bytes", b"abcdefghijkl"),
        ("thirteen-bytes", b"abcdabcdabcda"),
        ("zeros-100", bytes(100)),
        ("zeros-70000", bytes(70000)),
        ("period-3-5000", b"abc" * 1667),
        ("text-repeated", text * 40),
        ("random-1000", bytes(rng.getrandbits(8) for _ in range(1000))),
        ("random-5000", bytes(rng.getrandbits(8) for _ in range(5000))),
    ]
    # Sparse repeats: mostly random, with copies from up to 65535 bytes back.
    mixed = bytearray(bytes(rng.getrandbits(8) for _ in range(4000)))
    while len(mixed) < 70000:
        if rng.random() < 0.5:
            start = rng.randrange(max(0, len(mixed) - 65535), len(mixed))
            mixed += mixed[start : start + rng.randrange(4, 300)]
        else:
            mixed += bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 40)))
    inputs.append(("mixed-70000", bytes(mixed)))
    return inputs


def main():
    records = []
    for name, data in python_inputs():
        records.append((name + "-default", data, lz4.block.compress(data, store_size=False)))
        if len(data) <= 5000:  # keeps the file small; the high-compression parser differs only in choices
            records.append((name + "-hc", data, lz4.block.compress(data, mode="high_compression", store_size=False)))
    write("lz4_python.hex", [f"lz4.block.compress(input, store_size=False), python lz4 {lz4.__version__}"], records)

    records = []
    for name, body in compressed_bodies(os.path.join(FIXTURES, "captures-c311", "lz4.pcap")):
        length = struct.unpack(">I", body[:4])[0]
        records.append((name, lz4.block.decompress(body[4:], uncompressed_size=length), body))
    write("lz4_capture.hex", [
        "frame bodies with the compression flag from captures-c311/lz4.pcap (Apache Cassandra 3.11.10, COMPRESSION=lz4)",
        f"uncompressed column: lz4.block.decompress(body[4:], uncompressed_size=<big-endian length>), python lz4 {lz4.__version__}",
    ], records)

    library, path = snappy_library()
    records = []
    for name, body in compressed_bodies(os.path.join(FIXTURES, "captures", "cassandra_compressed.pcap")):
        records.append((name, snappy_uncompress(library, body), body))
    write("snappy_capture.hex", [
        "frame bodies with the compression flag, extracted from cassandra_compressed.pcap (elastic/beats, Apache-2.0, recorded from real Cassandra 3.x)",
        f"uncompressed column: snappy_uncompress from {os.path.basename(path)} (Google snappy, Debian libsnappy1v5) through ctypes",
    ], records)


if __name__ == "__main__":
    main()
