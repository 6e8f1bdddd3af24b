#!/usr/bin/env python3
"""Write requests.json, custom_payload.json and values.json from the DataStax Python driver's own encoders.

Why: byte-for-byte agreement with a codec that nobody on this project wrote is the
strongest check we have of our request and value encoders. Every frame below is produced by
`cassandra.protocol.ProtocolHandler.encode_message` and every value by `cassandra.cqltypes`;
nothing here builds protocol bytes by hand except the LZ4 body wrapper, which is the
driver's own `cassandra.connection.lz4_compress` when `lz4` is installed.

Run:  python3 Fixtures/python-driver/generate.py   (writes next to this file)
Output is deterministic: fixed stream ids, ids, timestamps and UUIDs.
"""

import datetime
import json
import math
import os
import struct
import sys
import uuid
from collections import OrderedDict
from decimal import Decimal

import cassandra
from cassandra import ConsistencyLevel
from cassandra import connection as driver_connection
from cassandra import cqltypes
from cassandra.protocol import (
    AuthResponseMessage,
    BatchMessage,
    ExecuteMessage,
    OptionsMessage,
    PrepareMessage,
    ProtocolHandler,
    QueryMessage,
    RegisterMessage,
    StartupMessage,
)
from cassandra.query import UNSET_VALUE, BatchType
from cassandra.util import Duration, Time, Date

PROTOCOL_VERSION = 4
HERE = os.path.dirname(os.path.abspath(__file__))

LZ4_COMPRESS = getattr(driver_connection, "lz4_compress", None)
if LZ4_COMPRESS is None:
    sys.exit("the driver's lz4 helpers are missing: pip install lz4")

CL = ConsistencyLevel


def cl_name(level):
    return None if level is None else ConsistencyLevel.value_to_name[level]


def wire_value(v):
    """A `[value]` in structured form: bytes as hex, null, or unset."""
    if v is None:
        return {"kind": "null"}
    if v is UNSET_VALUE:
        return {"kind": "unset"}
    return {"kind": "bytes", "hex": v.hex()}


def frame_fields(frame):
    version, flags, stream, opcode, length = struct.unpack(">BBhBi", frame[:9])
    return {"version": version, "flags": flags, "stream": stream, "opcode": opcode, "length": length}


requests = []
# Frames with a custom payload (flag 0x04) go to their own file: their body starts with the
# payload's [bytes map], which readers of requests.json do not expect.
custom_payload_requests = []


def add(name, msg, description, stream=0, compressor=None, tracing=False, custom_payload=None):
    msg.tracing = tracing
    msg.custom_payload = custom_payload
    frame = ProtocolHandler.encode_message(
        msg, stream, protocol_version=PROTOCOL_VERSION, compressor=compressor,
        allow_beta_protocol_version=False)
    # The uncompressed body, from the same encoder, so a test can compare before and after compression.
    plain = ProtocolHandler.encode_message(
        msg, stream, protocol_version=PROTOCOL_VERSION, compressor=None,
        allow_beta_protocol_version=False)
    entry = OrderedDict()
    entry["name"] = name
    entry["opcode"] = msg.name
    entry["stream"] = stream
    entry["compression"] = "lz4" if compressor is not None else None
    entry["tracing"] = tracing
    entry["custom_payload"] = None if custom_payload is None else [[k, v.hex()] for k, v in custom_payload.items()]
    entry["message"] = description
    entry["header"] = frame_fields(frame)
    entry["body"] = plain[9:].hex()
    entry["frame"] = frame.hex()
    (requests if custom_payload is None else custom_payload_requests).append(entry)


def query_params(consistency, values=None, page_size=None, paging_state=None, serial=None,
                 timestamp=None, skip_metadata=False):
    d = OrderedDict()
    d["consistency"] = cl_name(consistency)
    d["values"] = None if values is None else [wire_value(v) for v in values]
    d["page_size"] = page_size
    d["paging_state"] = None if paging_state is None else paging_state.hex()
    d["serial_consistency"] = cl_name(serial)
    d["timestamp"] = timestamp
    d["skip_metadata"] = skip_metadata
    return d


def query(name, text, consistency=CL.ONE, stream=1, compressor=None, tracing=False, custom_payload=None, **kw):
    msg = QueryMessage(text, consistency, serial_consistency_level=kw.get("serial"),
                       fetch_size=kw.get("page_size"), paging_state=kw.get("paging_state"),
                       timestamp=kw.get("timestamp"))
    # QueryMessage takes no values in its constructor; the driver sets them like this in Session._create_response_future.
    msg.query_params = kw.get("values")
    d = OrderedDict(query=text)
    d.update(query_params(consistency, **kw))
    add(name, msg, d, stream=stream, compressor=compressor, tracing=tracing, custom_payload=custom_payload)


def execute(name, query_id, values, consistency=CL.ONE, stream=2, compressor=None, **kw):
    msg = ExecuteMessage(query_id, values, consistency, serial_consistency_level=kw.get("serial"),
                         fetch_size=kw.get("page_size"), paging_state=kw.get("paging_state"),
                         timestamp=kw.get("timestamp"), skip_meta=kw.get("skip_metadata", False))
    d = OrderedDict(id=query_id.hex())
    params = query_params(consistency, values=values, **kw)
    # Driver 3.30.1 keeps skip_meta on the message but never sets flag 0x02 on the wire
    # (protocol.py _write_query_params); record what the bytes say, not what was asked.
    params["skip_metadata"] = False
    d.update(params)
    if kw.get("skip_metadata"):
        d["note"] = "skip_meta=True was passed; the driver does not write the SKIP_METADATA flag"
    add(name, msg, d, stream=stream, compressor=compressor)


# --- values used in requests -------------------------------------------------------------
int_bytes = cqltypes.Int32Type.serialize(42, PROTOCOL_VERSION)
text_bytes = cqltypes.UTF8Type.serialize("h\u00e9llo \u2603", PROTOCOL_VERSION)
bigint_bytes = cqltypes.LongType.serialize(-1, PROTOCOL_VERSION)
uuid_bytes = cqltypes.UUIDType.serialize(uuid.UUID("6ab09bec-e68e-48d9-a5f8-97e6fb4c9b47"), PROTOCOL_VERSION)
paging_state = bytes.fromhex("0010000e6a6f622d3030303030303031f07ffffff5f07ffffff5")
prepared_id = bytes.fromhex("5c6e15d4084b0fd0d55a6e4b1648927c")
prepared_id2 = bytes.fromhex("d0a1f2e3c4b5a6978877665544332211")
ts = 1732873200123456  # microseconds since epoch, as the driver's timestamp generator makes them

# --- STARTUP / OPTIONS / REGISTER / AUTH_RESPONSE ----------------------------------------
add("startup", StartupMessage("3.0.0", {}),
    OrderedDict(options=[["CQL_VERSION", "3.0.0"]]), stream=0)
add("startup_lz4", StartupMessage("3.0.0", OrderedDict([("COMPRESSION", "lz4")])),
    OrderedDict(options=[["COMPRESSION", "lz4"], ["CQL_VERSION", "3.0.0"]]), stream=0)
add("startup_snappy_no_compact",
    StartupMessage("3.4.5", OrderedDict([("COMPRESSION", "snappy"), ("NO_COMPACT", "true")])),
    OrderedDict(options=[["COMPRESSION", "snappy"], ["NO_COMPACT", "true"], ["CQL_VERSION", "3.4.5"]]), stream=0)
add("options", OptionsMessage(), OrderedDict(), stream=0)
add("options_stream_max", OptionsMessage(), OrderedDict(), stream=32767)
add("register_all", RegisterMessage(["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"]),
    OrderedDict(events=["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"]), stream=3)
add("register_schema", RegisterMessage(["SCHEMA_CHANGE"]),
    OrderedDict(events=["SCHEMA_CHANGE"]), stream=3)
sasl_plain = b"\x00cassandra\x00cassandra"
add("auth_response_plain", AuthResponseMessage(sasl_plain), OrderedDict(token=sasl_plain.hex()), stream=4)
add("auth_response_empty", AuthResponseMessage(b""), OrderedDict(token=""), stream=4)

# --- QUERY -------------------------------------------------------------------------------
query("query_simple", "SELECT * FROM system.local WHERE key='local'")
query("query_unicode", "SELECT * FROM ks.t WHERE name = 'h\u00e9llo \u2603'")
query("query_values", "INSERT INTO ks.t (id, name, n, u) VALUES (?, ?, ?, ?)",
      values=[int_bytes, text_bytes, bigint_bytes, uuid_bytes])
query("query_values_null_unset", "INSERT INTO ks.t (id, name, n) VALUES (?, ?, ?)",
      values=[int_bytes, None, UNSET_VALUE])
query("query_empty_value", "INSERT INTO ks.t (id, name) VALUES (?, ?)",
      values=[int_bytes, b""])
query("query_zero_values", "SELECT now() FROM system.local", values=[])
query("query_page_size", "SELECT * FROM ks.t", page_size=5000)
query("query_paging_state", "SELECT * FROM ks.t", page_size=10, paging_state=paging_state)
query("query_serial_local", "INSERT INTO ks.locks (name, owner) VALUES (?, ?) IF NOT EXISTS",
      consistency=CL.LOCAL_QUORUM, values=[text_bytes, uuid_bytes], serial=CL.LOCAL_SERIAL)
query("query_serial", "UPDATE ks.locks SET owner = ? WHERE name = ? IF owner = ?",
      consistency=CL.QUORUM, values=[uuid_bytes, text_bytes, None], serial=CL.SERIAL)
query("query_timestamp", "INSERT INTO ks.t (id) VALUES (1)", timestamp=ts)
# The driver packs timestamps unsigned (write_long), so negative ones cannot be produced; zero still sets the flag.
query("query_timestamp_zero", "INSERT INTO ks.t (id) VALUES (1)", timestamp=0)
query("query_all_flags", "SELECT * FROM ks.t WHERE id = ?", consistency=CL.LOCAL_ONE,
      values=[int_bytes], page_size=100, paging_state=paging_state, serial=CL.LOCAL_SERIAL, timestamp=ts)
for level, name in sorted(ConsistencyLevel.value_to_name.items()):
    query("query_consistency_" + name.lower(), "SELECT * FROM ks.t", consistency=level)
query("query_tracing", "SELECT * FROM ks.t", tracing=True, stream=9)
# Custom payloads (v4 flag 0x04) go in front of the body, as a [bytes map] in the dict's order.
query("query_custom_payload", "SELECT * FROM ks.t",
      custom_payload=OrderedDict([("tenant", b"acme"), ("empty", b""), ("trace-id", bytes(range(8)))]))
query("query_custom_payload_tracing", "SELECT * FROM ks.t", tracing=True,
      custom_payload=OrderedDict([("k", b"\xff")]))
query("query_stream_negative_one", "SELECT * FROM ks.t", stream=-1)
query("query_long_text", "SELECT " + ", ".join("c%03d" % i for i in range(120)) + " FROM ks.wide")

# --- EXECUTE -----------------------------------------------------------------------------
execute("execute_no_values", prepared_id, [])
execute("execute_values", prepared_id, [int_bytes, text_bytes, bigint_bytes, uuid_bytes])
execute("execute_null_unset", prepared_id, [int_bytes, None, UNSET_VALUE, b""])
execute("execute_page_size", prepared_id, [int_bytes], page_size=7)
execute("execute_paging_state", prepared_id, [int_bytes], page_size=7, paging_state=paging_state)
execute("execute_serial_local", prepared_id2, [uuid_bytes, text_bytes], consistency=CL.LOCAL_QUORUM,
        serial=CL.LOCAL_SERIAL)
execute("execute_timestamp", prepared_id, [int_bytes], timestamp=ts)
execute("execute_all_flags", prepared_id, [int_bytes, None], consistency=CL.EACH_QUORUM, page_size=1,
        paging_state=paging_state, serial=CL.SERIAL, timestamp=ts)
execute("execute_skip_meta_requested", prepared_id, [int_bytes], skip_metadata=True)
for level in (CL.ANY, CL.TWO, CL.THREE, CL.ALL, CL.LOCAL_ONE):
    execute("execute_consistency_" + cl_name(level).lower(), prepared_id, [int_bytes], consistency=level)

# --- PREPARE -----------------------------------------------------------------------------
for name, text, stream in (
        ("prepare_insert", "INSERT INTO ks.t (id, name) VALUES (?, ?)", 5),
        ("prepare_lwt", "UPDATE ks.locks SET epoch = ? WHERE name = ? IF epoch = ?", 6),
        ("prepare_named", "SELECT * FROM ks.t WHERE id = :id AND ck > :low", 7)):
    add(name, PrepareMessage(text), OrderedDict(query=text), stream=stream)


# --- BATCH -------------------------------------------------------------------------------
def batch(name, batch_type, statements, consistency=CL.ONE, serial=None, timestamp=None, stream=8,
          compressor=None):
    queries = []
    described = []
    for kind, q, params in statements:
        if kind == "query":
            queries.append((False, q, params))
            described.append(OrderedDict(kind="query", query=q, values=[wire_value(v) for v in params]))
        else:
            queries.append((True, q, params))
            described.append(OrderedDict(kind="prepared", id=q.hex(), values=[wire_value(v) for v in params]))
    msg = BatchMessage(batch_type, queries, consistency, serial_consistency_level=serial, timestamp=timestamp)
    d = OrderedDict()
    d["batch_type"] = {0: "LOGGED", 1: "UNLOGGED", 2: "COUNTER"}[batch_type.value]
    d["statements"] = described
    d["consistency"] = cl_name(consistency)
    d["serial_consistency"] = cl_name(serial)
    d["timestamp"] = timestamp
    add(name, msg, d, stream=stream, compressor=compressor)


mixed = [
    ("prepared", prepared_id, [int_bytes, text_bytes]),
    ("query", "INSERT INTO ks.t (id, name) VALUES (2, 'two')", []),
    ("query", "INSERT INTO ks.t (id, name) VALUES (?, ?)", [int_bytes, None]),
    ("prepared", prepared_id2, [UNSET_VALUE, b""]),
]
batch("batch_logged_mixed", BatchType.LOGGED, mixed, consistency=CL.QUORUM)
batch("batch_unlogged", BatchType.UNLOGGED,
      [("query", "INSERT INTO ks.t (id) VALUES (%d)" % i, []) for i in range(3)])
batch("batch_counter", BatchType.COUNTER,
      [("query", "UPDATE ks.c SET n = n + ? WHERE id = ?", [bigint_bytes, int_bytes]),
       ("prepared", prepared_id, [bigint_bytes, int_bytes])])
batch("batch_serial_timestamp", BatchType.LOGGED,
      [("query", "UPDATE ks.locks SET owner = ? WHERE name = 'a' IF owner = null", [uuid_bytes]),
       ("prepared", prepared_id2, [uuid_bytes, text_bytes])],
      consistency=CL.LOCAL_QUORUM, serial=CL.LOCAL_SERIAL, timestamp=ts)
batch("batch_timestamp_only", BatchType.UNLOGGED,
      [("prepared", prepared_id, [int_bytes])], consistency=CL.ALL, timestamp=ts)
batch("batch_empty", BatchType.LOGGED, [])

# --- LZ4-compressed frames (the body after STARTUP COMPRESSION=lz4) -----------------------
query("lz4_query_simple", "SELECT * FROM system.local WHERE key='local'", compressor=LZ4_COMPRESS)
query("lz4_query_long_text", "SELECT " + ", ".join("c%03d" % i for i in range(120)) + " FROM ks.wide",
      compressor=LZ4_COMPRESS)
query("lz4_query_all_flags", "SELECT * FROM ks.t WHERE id = ?", consistency=CL.LOCAL_ONE,
      values=[int_bytes], page_size=100, paging_state=paging_state, serial=CL.LOCAL_SERIAL, timestamp=ts,
      compressor=LZ4_COMPRESS)
execute("lz4_execute_values", prepared_id, [int_bytes, text_bytes, bigint_bytes, uuid_bytes],
        compressor=LZ4_COMPRESS)
add("lz4_prepare", PrepareMessage("INSERT INTO ks.t (id, name) VALUES (?, ?)"),
    OrderedDict(query="INSERT INTO ks.t (id, name) VALUES (?, ?)"), stream=5, compressor=LZ4_COMPRESS)
batch("lz4_batch_logged_mixed", BatchType.LOGGED, mixed, consistency=CL.QUORUM, compressor=LZ4_COMPRESS)
add("lz4_register", RegisterMessage(["SCHEMA_CHANGE"]), OrderedDict(events=["SCHEMA_CHANGE"]), stream=3,
    compressor=LZ4_COMPRESS)
# The driver never compresses an empty body: the frame goes out without the COMPRESSION flag.
add("lz4_options_empty_body", OptionsMessage(), OrderedDict(), stream=0, compressor=LZ4_COMPRESS)

# --- typed values --------------------------------------------------------------------------
values = []


def value(name, cql_type, driver_type, v, described, udt=None):
    serialized = driver_type.serialize(v, PROTOCOL_VERSION)
    entry = OrderedDict()
    entry["name"] = name
    entry["type"] = cql_type
    if udt is not None:
        entry["udt"] = udt
    entry["value"] = described
    entry["hex"] = serialized.hex()
    values.append(entry)


T = cqltypes
I64_MIN, I64_MAX = -(2 ** 63), 2 ** 63 - 1
I32_MIN, I32_MAX = -(2 ** 31), 2 ** 31 - 1

for n in (0, 1, -1, I32_MIN, I32_MAX):
    value("int_%d" % n, "int", T.Int32Type, n, str(n))
for n in (0, -1, I64_MIN, I64_MAX, 1732873200123):
    value("bigint_%d" % n, "bigint", T.LongType, n, str(n))
value("counter_42", "counter", T.CounterColumnType, 42, "42")
for n in (-(2 ** 15), 2 ** 15 - 1, 0):
    value("smallint_%d" % n, "smallint", T.ShortType, n, str(n))
for n in (-128, 127, 0):
    value("tinyint_%d" % n, "tinyint", T.ByteType, n, str(n))
value("boolean_true", "boolean", T.BooleanType, True, "true")
value("boolean_false", "boolean", T.BooleanType, False, "false")

for label, d in (("1_5", 1.5), ("neg_zero", -0.0), ("nan", math.nan), ("inf", math.inf),
                 ("neg_inf", -math.inf), ("max", sys.float_info.max), ("min_subnormal", 5e-324),
                 ("pi", math.pi)):
    value("double_" + label, "double", T.DoubleType, d, repr(d))
for label, f in (("1_5", 1.5), ("neg_zero", -0.0), ("nan", math.nan), ("inf", math.inf),
                 ("max", 3.4028234663852886e38)):
    value("float_" + label, "float", T.FloatType, f, repr(f))

for label, n in (("0", 0), ("1", 1), ("neg1", -1), ("127", 127), ("128", 128), ("neg128", -128),
                 ("neg129", -129), ("255", 255), ("2_pow_100", 2 ** 100), ("neg_2_pow_100", -(2 ** 100)),
                 ("2_pow_64", 2 ** 64), ("neg_2_pow_63", -(2 ** 63))):
    value("varint_" + label, "varint", T.IntegerType, n, str(n))

for text in ("0", "1.23", "-0.001", "1E+5", "-12345678901234567890.123456789", "1E-30", "0.00", "-1"):
    d = Decimal(text)
    sign, digits, exponent = d.as_tuple()
    unscaled = int("".join(str(x) for x in digits)) * (-1 if sign else 1)
    value("decimal_" + text, "decimal", T.DecimalType, d,
          OrderedDict(unscaled=str(unscaled), scale=-exponent))

for label, s in (("empty", ""), ("ascii", "hello"), ("unicode", "h\u00e9llo \u2603 \U0001F600"),
                 ("nul", "a\x00b")):
    value("text_" + label, "text", T.UTF8Type, s, s)
value("ascii_hello", "ascii", T.AsciiType, "hello", "hello")
value("ascii_empty", "ascii", T.AsciiType, "", "")
value("blob_empty", "blob", T.BytesType, b"", "")
value("blob_bytes", "blob", T.BytesType, bytes(range(0, 256, 17)), bytes(range(0, 256, 17)).hex())

for label, ms in (("epoch", 0), ("before_epoch", -1), ("now", 1732873200123), ("min", I64_MIN),
                  ("max", I64_MAX)):
    value("timestamp_" + label, "timestamp", T.DateType, ms, str(ms))
value("timestamp_datetime", "timestamp", T.DateType,
      datetime.datetime(2024, 2, 29, 23, 59, 58, 999000), "1709251198999")

# `date` is an unsigned day count with the epoch at 2^31; the driver takes raw ints as that count.
for label, raw in (("min", 0), ("epoch", 2 ** 31), ("max", 2 ** 32 - 1), ("before_epoch", 2 ** 31 - 1)):
    value("date_" + label, "date", T.SimpleDateType, raw, OrderedDict(days_from_epoch=raw - 2 ** 31))
value("date_2024_02_29", "date", T.SimpleDateType, datetime.date(2024, 2, 29),
      OrderedDict(days_from_epoch=(datetime.date(2024, 2, 29) - datetime.date(1970, 1, 1)).days))

for label, nanos in (("midnight", 0), ("max", 86399999999999), ("noon", 12 * 3600 * 10 ** 9 + 1)):
    value("time_" + label, "time", T.TimeType, Time(nanos), str(nanos))

for label, (m, d, ns) in (("zero", (0, 0, 0)), ("positive", (14, 3, 3600 * 10 ** 9)),
                          ("negative", (-1, -2, -3)), ("mixed_small", (1, -1, 63)),
                          ("nanos_min", (0, 0, I64_MIN)), ("nanos_max", (0, 0, I64_MAX)),
                          ("months_min", (I32_MIN, I32_MIN, 0)), ("months_max", (I32_MAX, I32_MAX, 0))):
    value("duration_" + label, "duration", T.DurationType, Duration(m, d, ns),
          OrderedDict(months=m, days=d, nanoseconds=str(ns)))

for label, addr in (("v4", "192.168.1.20"), ("v4_zero", "0.0.0.0"), ("v6_loopback", "::1"),
                    ("v6_full", "2001:db8:85a3::8a2e:370:7334"), ("v4_mapped", "::ffff:10.0.0.1")):
    value("inet_" + label, "inet", T.InetAddressType, addr, addr)

u = uuid.UUID("6ab09bec-e68e-48d9-a5f8-97e6fb4c9b47")
value("uuid_v4", "uuid", T.UUIDType, u, str(u))
value("uuid_nil", "uuid", T.UUIDType, uuid.UUID(int=0), str(uuid.UUID(int=0)))
tu = uuid.UUID("e7c4a5a0-ae2e-11ef-8080-808080808080")
value("timeuuid_v1", "timeuuid", T.TimeUUIDType, tu, str(tu))

ListInt = T.ListType.apply_parameters([T.Int32Type])
SetText = T.SetType.apply_parameters([T.UTF8Type])
MapTextInt = T.MapType.apply_parameters([T.UTF8Type, T.Int32Type])
value("list_int", "list<int>", ListInt, [1, -1, I32_MAX], ["1", "-1", str(I32_MAX)])
value("list_int_empty", "list<int>", ListInt, [], [])
value("set_text", "set<text>", SetText, ["a", "b\u00e9"], ["a", "b\u00e9"])
value("set_text_empty", "set<text>", SetText, [], [])
value("map_text_int", "map<text, int>", MapTextInt, OrderedDict([("one", 1), ("two", 2)]),
      [["one", "1"], ["two", "2"]])
value("map_text_int_empty", "map<text, int>", MapTextInt, {}, [])
ListUUID = T.ListType.apply_parameters([T.UUIDType])
value("list_uuid", "list<uuid>", ListUUID, [u, tu], [str(u), str(tu)])
MapIntListText = T.MapType.apply_parameters([T.Int32Type, T.ListType.apply_parameters([T.UTF8Type])])
value("map_int_list_text", "map<int, list<text>>", MapIntListText,
      OrderedDict([(1, ["a", ""]), (2, [])]), [["1", ["a", ""]], ["2", []]])
ListDouble = T.ListType.apply_parameters([T.DoubleType])
value("list_double_special", "list<double>", ListDouble, [-0.0, math.inf, math.nan],
      [repr(-0.0), repr(math.inf), repr(math.nan)])

TupleIntText = T.TupleType.apply_parameters([T.Int32Type, T.UTF8Type])
value("tuple_int_text", "tuple<int, text>", TupleIntText, (7, "seven"), ["7", "seven"])
value("tuple_int_text_null", "tuple<int, text>", TupleIntText, (None, "x"), [None, "x"])
TupleNested = T.TupleType.apply_parameters(
    [T.LongType, T.ListType.apply_parameters([T.Int32Type]), T.InetAddressType])
value("tuple_nested", "tuple<bigint, list<int>, inet>", TupleNested, (I64_MIN, [3], "::1"),
      [str(I64_MIN), ["3"], "::1"])

Address = T.UserType.make_udt_class("ks", "address", ("street", "zip", "tags"),
                                    (T.UTF8Type, T.Int32Type, T.SetType.apply_parameters([T.UTF8Type])))
address_udt = OrderedDict(keyspace="ks", name="address",
                          fields=[["street", "text"], ["zip", "int"], ["tags", "set<text>"]])
value("udt_address", "address", Address, ("1 Main St", 12345, ["home"]),
      OrderedDict(street="1 Main St", zip="12345", tags=["home"]), udt=address_udt)
value("udt_address_null_field", "address", Address, ("Side St", None, []),
      OrderedDict(street="Side St", zip=None, tags=[]), udt=address_udt)


def write(name, entries, what):
    doc = OrderedDict()
    doc["generator"] = "Fixtures/python-driver/generate.py"
    doc["driver"] = "cassandra-driver %s (DataStax Python driver, Apache-2.0)" % cassandra.__version__
    doc["protocol_version"] = PROTOCOL_VERSION
    doc["what"] = what
    doc["cases"] = entries
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")


write("requests.json", requests,
      "request frames from cassandra.protocol.ProtocolHandler.encode_message; 'body' is the "
      "uncompressed body, 'frame' the full frame as sent (LZ4 via cassandra.connection.lz4_compress)")
write("custom_payload.json", custom_payload_requests,
      "request frames with a custom payload (frame flag 0x04), same layout as requests.json; 'body' starts "
      "with the payload's [bytes map], entries in 'custom_payload' order")
write("values.json", values,
      "values serialized by cassandra.cqltypes <Type>.serialize(value, 4); 'type' as our DataType "
      "description prints it (a UDT prints its name; its fields are in 'udt')")
print("wrote %d requests, %d with custom payloads, %d values with cassandra-driver %s"
      % (len(requests), len(custom_payload_requests), len(values), cassandra.__version__))
