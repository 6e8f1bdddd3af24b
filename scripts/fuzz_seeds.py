#!/usr/bin/env python3
"""Seeds a fuzz corpus from the project's Fixtures/.

usage: fuzz_seeds.py KIND OUTDIR
  KIND frames   - every CQL frame (header + body) of every capture and hex vector
  KIND bodies   - the bodies of those frames (for message decoders fed without a header)
  KIND cql      - the CQL text of every QUERY/PREPARE request in the captures
  KIND json     - JSON request bodies for the HTTP validation target
"""
import hashlib
import os
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIXTURES = os.path.join(ROOT, "Fixtures")


def pcap_streams(path):
    """Yields the TCP payload byte strings of a classic pcap, one per direction, in order."""
    data = open(path, "rb").read()
    if len(data) < 24:
        return
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    offset = 24
    streams = {}
    while offset + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        packet = data[offset + 16:offset + 16 + caplen]
        offset += 16 + caplen
        if linktype == 1:
            ethertype = struct.unpack(">H", packet[12:14])[0]
            ip = packet[14:]
        elif linktype == 113:
            ethertype = struct.unpack(">H", packet[14:16])[0]
            ip = packet[16:]
        elif linktype == 0:
            ethertype = 0x0800 if packet[:4] in (b"\x02\x00\x00\x00", b"\x00\x00\x00\x02") else 0x86DD
            ip = packet[4:]
        else:
            continue
        if ethertype == 0x0800 and len(ip) >= 20:
            ihl = (ip[0] & 15) * 4
            if ip[9] != 6:
                continue
            total = struct.unpack(">H", ip[2:4])[0]
            tcp = ip[ihl:total]
            key_addr = (ip[12:16], ip[16:20])
        elif ethertype == 0x86DD and len(ip) >= 40:
            if ip[6] != 6:
                continue
            tcp = ip[40:40 + struct.unpack(">H", ip[4:6])[0]]
            key_addr = (ip[8:24], ip[24:40])
        else:
            continue
        if len(tcp) < 20:
            continue
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        payload = tcp[(tcp[12] >> 4) * 4:]
        if not payload or 9042 not in (sport, dport):
            continue
        key = (key_addr, sport, dport)
        segments = streams.setdefault(key, {})
        segments.setdefault(seq, payload)
    for segments in streams.values():
        yield b"".join(segments[seq] for seq in sorted(segments))


def split_frames(stream):
    offset = 0
    while offset + 9 <= len(stream):
        length = struct.unpack(">i", stream[offset + 5:offset + 9])[0]
        if length < 0 or offset + 9 + length > len(stream):
            yield stream[offset:]
            return
        yield stream[offset:offset + 9 + length]
        offset += 9 + length


def hex_vectors():
    folder = os.path.join(FIXTURES, "vectors")
    if not os.path.isdir(folder):
        return
    for name in sorted(os.listdir(folder)):
        for line in open(os.path.join(folder, name)):
            line = line.strip()
            if line and not line.startswith("#"):
                try:
                    yield bytes.fromhex(line.split()[-1])
                except ValueError:
                    pass


def frames():
    for folder, _, files in os.walk(FIXTURES):
        for name in sorted(files):
            if name.endswith(".pcap"):
                for stream in pcap_streams(os.path.join(folder, name)):
                    yield from split_frames(stream)
    yield from hex_vectors()


def cql_texts():
    for frame in frames():
        if len(frame) > 13 and frame[4] in (0x07, 0x09) and frame[1] & 0x01 == 0:
            length = struct.unpack(">i", frame[9:13])[0]
            if 0 <= length <= len(frame) - 13:
                yield frame[13:13 + length]
    schema = os.path.join(ROOT, "infra", "schema.cql")
    if os.path.exists(schema):
        yield open(schema, "rb").read()


def json_bodies():
    yield b'{"schedule":"now","payload":"{}","max_duration_seconds":60}'
    yield b'{"schedule":"@every 5m","payload":"{\\"a\\":1}","max_duration_seconds":30,"kind":"echo","run":true}'
    yield b'{"schedule":"0 3 * * 1-5","timezone":"Europe/Paris","payload":"{}","max_duration_seconds":10,"max_attempts":3,"idempotency_key":"k1"}'
    yield b'{"schedule":"2030-01-02T03:04:05Z","payload":"x","max_duration_seconds":1}'


def main():
    if any(arg in ("-h", "--help") for arg in sys.argv[1:]):
        print(__doc__.strip())
        return
    if len(sys.argv) != 3 or sys.argv[1] not in ("frames", "bodies", "cql", "json"):
        sys.exit(__doc__.strip())
    kind, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    source = {"frames": frames, "cql": cql_texts, "json": json_bodies,
              "bodies": lambda: (f[9:] for f in frames())}[kind]
    count = 0
    for seed in source():
        name = hashlib.sha1(seed).hexdigest()
        with open(os.path.join(out, name), "wb") as handle:
            handle.write(seed)
        count += 1
    print(f"{count} seeds ({kind}) in {out}")


if __name__ == "__main__":
    main()
