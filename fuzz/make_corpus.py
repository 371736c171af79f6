#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<target>/ (small, deterministic files; see harness.hpp for
the input layouts). Run from anywhere: python3 fuzz/make_corpus.py. The output is committed."""
import gzip
import json
import pathlib
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)  # mtime 0: the same bytes every run


def idx_images(n, h, w):
    return struct.pack(">IIII", 0x803, n, h, w) + bytes((i * 37) % 256 for i in range(n * h * w))


def idx_labels(n, classes=10):
    return struct.pack(">II", 0x801, n) + bytes(i % classes for i in range(n))


def idx_input(images, labels, flags=0, classes=10):
    return bytes([flags, classes]) + struct.pack("<H", len(images)) + images + labels


def cifar_record(label, seed):
    return bytes([label]) + bytes((seed * 13 + i // 97) % 256 for i in range(3072))


def cifar_input(file1, file2=None, flags=0):
    if file2 is None:
        return bytes([flags]) + b"\0\0" + file1
    return bytes([flags | 4]) + struct.pack("<H", len(file1)) + file1 + file2


def safetensors(entries, metadata=None, pad=True):
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, payload in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def main():
    seeds = {
        "idx": {
            "raw_pair": idx_input(idx_images(3, 4, 5), idx_labels(3)),
            "gzipped_by_harness": idx_input(idx_images(2, 3, 3), idx_labels(2), flags=3),
            "gzip_stream": idx_input(gz(idx_images(4, 2, 2)), gz(idx_labels(4))),
            "two_classes": idx_input(idx_images(2, 1, 3), idx_labels(2, 2), classes=2),
            "label_out_of_range": idx_input(idx_images(1, 2, 2), idx_labels(1) [:-1] + b"\x0a"),
            "count_mismatch": idx_input(idx_images(2, 2, 2), idx_labels(3)),
            "truncated_images": idx_input(idx_images(3, 4, 4)[:30], idx_labels(3)),
            "bad_magic": idx_input(b"\0\0\x08\x02" + idx_images(1, 2, 2)[4:], idx_labels(1)),
        },
        "cifar": {
            "one_record": cifar_input(cifar_record(3, 1)),
            "gzip_stream_two_records": cifar_input(gz(cifar_record(0, 2) + cifar_record(9, 3))),
            "two_files_gzip": cifar_input(gz(cifar_record(1, 4)), gz(cifar_record(2, 5))),
            "truncated_record": cifar_input(cifar_record(4, 6)[:200]),
            "bad_label": cifar_input(gz(cifar_record(10, 7))),
        },
        "safetensors": {
            "state_dict": safetensors(
                [("0.weight", "F32", [2, 3], struct.pack("<6f", *range(6))),
                 ("0.bias", "F32", [2], struct.pack("<2f", -1, 0.5)),
                 ("1.num_batches_tracked", "I64", [], struct.pack("<q", 7))],
                metadata={"epoch": "3", "format": "pt"}),
            "dtypes": safetensors(
                [("h", "F16", [3], b"\0<\0<\0<"), ("b", "BF16", [1, 1], b"\x80?"),
                 ("u", "U8", [4], b"\1\2\3\4"), ("d", "F64", [1], struct.pack("<d", 2.5)),
                 ("flag", "BOOL", [2], b"\1\0")]),
            "empty_tensor": safetensors([("e", "F32", [0, 5], b""), ("s", "I32", [], b"\7\0\0\0")]),
            "empty_header": safetensors([]),
            "unpadded": safetensors([("x", "U32", [2, 1], b"\1\0\0\0\2\0\0\0")], pad=False),
        },
    }
    for target, files in seeds.items():
        directory = ROOT / target
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        for name, data in files.items():
            (directory / name).write_bytes(data)
            print(f"{target}/{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
