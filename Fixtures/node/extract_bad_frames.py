#!/usr/bin/env python3
"""Regenerates bad_frames.json and negotiation.json from the Cassandra 3.11.10 captures.

Usage: python3 Fixtures/node/extract_bad_frames.py
Reads Fixtures/captures-c311/{bad_frames,negotiation}.pcap (classic libpcap, Ethernet, port 9042)
and writes, per TCP connection, the bytes the client sent and the bytes the server answered.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURES = os.path.join(HERE, "..", "captures-c311")


def packets(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    assert linktype == 1, "expected Ethernet captures"
    offset = 24
    while offset + 16 <= len(data):
        _, _, included, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        offset += 16
        frame = data[offset:offset + included]
        offset += included
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        tcp = ip[ihl:]
        sport, dport = struct.unpack(">HH", tcp[:4])
        flags = tcp[13]
        payload = tcp[(tcp[12] >> 4) * 4:]
        yield sport, dport, flags, payload


def connections(path):
    order, conns = [], {}
    for sport, dport, flags, payload in packets(path):
        client = sport if dport == 9042 else dport
        if client not in conns:
            conns[client] = {"sent": [], "answered": [], "server_closed_first": None}
            order.append(client)
        conn = conns[client]
        if flags & 0x05 and conn["server_closed_first"] is None:
            conn["server_closed_first"] = sport == 9042
        if payload:
            (conn["sent"] if dport == 9042 else conn["answered"]).append(payload.hex())
    return [conns[c] for c in order]


def main():
    names = ["http_request", "unknown_opcode_after_startup", "length_300_mib", "truncated_startup",
             "query_before_startup", "response_direction_bit", "negative_length"]
    bad = connections(os.path.join(CAPTURES, "bad_frames.pcap"))
    assert len(bad) == len(names), len(bad)
    out = {
        "provenance": "Recorded from Apache Cassandra 3.11.10 (Fixtures/captures-c311/bad_frames.pcap, "
                      "see Fixtures/MANIFEST.md); extracted by Fixtures/node/extract_bad_frames.py. "
                      "Each case is one TCP connection: the client's payloads in order, the server's answers in order.",
        "cases": [dict(name=n, **c) for n, c in zip(names, bad)],
    }
    with open(os.path.join(HERE, "bad_frames.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    negotiation = connections(os.path.join(CAPTURES, "negotiation.pcap"))[:4]
    out = {
        "provenance": "Recorded from Apache Cassandra 3.11.10 (Fixtures/captures-c311/negotiation.pcap); the "
                      "first four connections of the DataStax Python driver 3.30.1 offering versions 66, 65, 5 "
                      "and 4; extracted by Fixtures/node/extract_bad_frames.py.",
        "cases": [dict(name=n, **c) for n, c in zip(["v66", "v65", "v5", "v4"], negotiation)],
    }
    for case in out["cases"]:
        case["sent"], case["answered"] = case["sent"][:1], case["answered"][:1]
    with open(os.path.join(HERE, "negotiation.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
