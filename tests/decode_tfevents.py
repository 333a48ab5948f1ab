#!/usr/bin/python3
"""Decode a TensorBoard event file independently of the C++ writer, and print a JSON summary.

Usage: /usr/bin/python3 decode_tfevents.py EVENTS_FILE

Needs only Debian's python3-protobuf; no TensorFlow. The message classes are built at
run time from a FileDescriptorProto written here with TensorFlow's field numbers, and every
TFRecord's length CRC and data CRC are checked with a CRC-32C implemented below.

Output (stdout, JSON; the header line, then one event per line, so a simple reader can
split it into lines):
  {"ok": true, "file_version": "brain.Event:2", "records": N, "events": [
   {"step": 0, "wall_time": ..., "file_version": "brain.Event:2", "values": []},
   {"step": 3, "wall_time": ..., "values": [{"tag": "loss", "kind": "simple_value", "simple_value": 0.5}]},
   {"step": 3, "wall_time": ..., "values": [{"tag": "w", "kind": "histo", "min": ..., "max": ...,
     "num": ..., "sum": ..., "sum_squares": ..., "buckets": K, "bucket_sum": ...,
     "bucket_sum_equals_num": true, "limits_ascending": true,
     "nonempty_limits": [...], "nonempty_counts": [...]}]}
  ]}
Exit status 0. On a CRC mismatch, a truncated record, an unparsable message or a
missing file_version event: {"ok": false, "error": "...", "records_ok": n} and exit status 1.
If google.protobuf cannot be imported: a message naming python3-protobuf, exit status 2.
"""

import json
import struct
import sys

try:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError as e:
    print(json.dumps({"ok": False, "error": f"google.protobuf not importable ({e}); "
                      "install Debian's python3-protobuf (apt-get install python3-protobuf)"}))
    sys.exit(2)


# ------------------------------------------------------------------ CRC-32C

def _crc32c_table():
    table = []
    for b in range(256):
        c = b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for byte in data:
        c = _TABLE[(c ^ byte) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc32c(c: int) -> int:
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


# ------------------------------------------------------------------ messages

F = descriptor_pb2.FieldDescriptorProto


def _field(msg, name, number, ftype, label=F.LABEL_OPTIONAL, type_name=None, oneof=None):
    f = msg.field.add(name=name, number=number, type=ftype, label=label)
    if type_name:
        f.type_name = type_name
    if oneof is not None:
        f.oneof_index = oneof


def build_classes():
    """Event, with the fields of TensorFlow's event.proto / summary.proto that the writer uses."""
    fdp = descriptor_pb2.FileDescriptorProto(name="layerwise_tfevents_check.proto",
                                             package="lwcheck", syntax="proto3")

    histo = fdp.message_type.add(name="HistogramProto")
    for name, number in [("min", 1), ("max", 2), ("num", 3), ("sum", 4), ("sum_squares", 5)]:
        _field(histo, name, number, F.TYPE_DOUBLE)
    _field(histo, "bucket_limit", 6, F.TYPE_DOUBLE, F.LABEL_REPEATED)  # packed (proto3 default)
    _field(histo, "bucket", 7, F.TYPE_DOUBLE, F.LABEL_REPEATED)

    summary = fdp.message_type.add(name="Summary")
    value = summary.nested_type.add(name="Value")
    value.oneof_decl.add(name="value")
    _field(value, "tag", 1, F.TYPE_STRING)
    _field(value, "simple_value", 2, F.TYPE_FLOAT, oneof=0)
    _field(value, "histo", 5, F.TYPE_MESSAGE, type_name=".lwcheck.HistogramProto", oneof=0)
    _field(summary, "value", 1, F.TYPE_MESSAGE, F.LABEL_REPEATED, type_name=".lwcheck.Summary.Value")

    event = fdp.message_type.add(name="Event")
    event.oneof_decl.add(name="what")
    _field(event, "wall_time", 1, F.TYPE_DOUBLE)
    _field(event, "step", 2, F.TYPE_INT64)
    _field(event, "file_version", 3, F.TYPE_STRING, oneof=0)
    _field(event, "summary", 5, F.TYPE_MESSAGE, type_name=".lwcheck.Summary", oneof=0)

    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    desc = pool.FindMessageTypeByName("lwcheck.Event")
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)  # Debian 12: 4.21


# ------------------------------------------------------------------ records

class Bad(Exception):
    pass


def records(data: bytes):
    """Yields each record's data after checking both CRCs."""
    pos, index = 0, 0
    while pos < len(data):
        if len(data) - pos < 12:
            raise Bad(f"record {index}: truncated header ({len(data) - pos} bytes left)")
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if masked_crc32c(crc32c(header)) != length_crc:
            raise Bad(f"record {index}: length CRC mismatch")
        end = pos + 12 + length
        if end + 4 > len(data):
            raise Bad(f"record {index}: truncated data")
        payload = data[pos + 12:end]
        (data_crc,) = struct.unpack("<I", data[end:end + 4])
        if masked_crc32c(crc32c(payload)) != data_crc:
            raise Bad(f"record {index}: data CRC mismatch")
        yield payload
        pos, index = end + 4, index + 1


def describe_value(v):
    kind = v.WhichOneof("value")
    out = {"tag": v.tag, "kind": kind}
    if kind == "simple_value":
        out["simple_value"] = v.simple_value
    elif kind == "histo":
        h = v.histo
        limits, counts = list(h.bucket_limit), list(h.bucket)
        out.update(min=h.min, max=h.max, num=h.num, sum=h.sum, sum_squares=h.sum_squares,
                   buckets=len(counts), bucket_sum=sum(counts),
                   bucket_sum_equals_num=(len(limits) == len(counts) and sum(counts) == h.num),
                   limits_ascending=all(a < b for a, b in zip(limits, limits[1:])),
                   nonempty_limits=[lim for lim, c in zip(limits, counts) if c > 0],
                   nonempty_counts=[c for c in counts if c > 0])
    return out


def main(path):
    Event = build_classes()
    with open(path, "rb") as f:
        data = f.read()
    events, file_version, count = [], None, 0
    try:
        for payload in records(data):
            e = Event()
            try:
                e.ParseFromString(payload)
            except Exception as err:  # the message classes raise DecodeError or a RuntimeError
                raise Bad(f"record {count}: cannot parse Event: {err}")
            what = e.WhichOneof("what")
            if count == 0:
                if what != "file_version":
                    raise Bad("record 0 is not a file_version event")
                file_version = e.file_version
            item = {"step": e.step, "wall_time": e.wall_time}
            if what == "file_version":
                item["file_version"] = e.file_version
            item["values"] = [describe_value(v) for v in e.summary.value] if what == "summary" else []
            events.append(item)
            count += 1
        if count == 0:
            raise Bad("empty file")
    except Bad as err:
        print(json.dumps({"ok": False, "error": str(err), "records_ok": count}))
        return 1
    print('{"ok": true, "file_version": %s, "records": %d, "events": [' % (json.dumps(file_version), count))
    print(",\n".join(json.dumps(item) for item in events))
    print("]}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: decode_tfevents.py EVENTS_FILE", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
