"""The shared libraries an ELF file names as DT_NEEDED, read from its dynamic section.

Plain ``struct`` reading so that the check runs on a machine without binutils (``readelf``)
and without starting the library (``ldd`` would run the loader on it).
"""

from __future__ import annotations

import struct
from pathlib import Path

DT_NULL = 0
DT_NEEDED = 1
DT_STRTAB = 5
PT_LOAD = 1
PT_DYNAMIC = 2


class ElfError(ValueError):
    """The file is not an ELF shared library this reader understands."""


def needed_libraries(path: Path) -> list[str]:
    """The sonames `path` needs, in the order its dynamic section lists them."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF":
        raise ElfError(f"{path} is not an ELF file.")
    wide = {1: False, 2: True}.get(data[4])
    order = {1: "<", 2: ">"}.get(data[5])
    if wide is None or order is None:
        raise ElfError(f"{path} has an ELF class or byte order this reader does not know.")
    if wide:
        phoff, phentsize, phnum = _unpack(order + "32xQ14xHH", data, 0)
        header, word = order + "IIQQQQQQ", order + "qQ"
    else:
        phoff, phentsize, phnum = _unpack(order + "28xI14xHH", data, 0)
        header, word = order + "IIIIIIII", order + "iI"
    segments = []
    for index in range(phnum):
        fields = _unpack(header, data, phoff + index * phentsize)
        if wide:
            kind, _flags, offset, vaddr, _paddr, filesz, _memsz, _align = fields
        else:
            kind, offset, vaddr, _paddr, filesz, _memsz, _flags, _align = fields
        segments.append((kind, offset, vaddr, filesz))
    dynamic = next((s for s in segments if s[0] == PT_DYNAMIC), None)
    if dynamic is None:
        return []  # statically linked: needs nothing
    entries = []
    step = struct.calcsize(word)
    for position in range(dynamic[1], dynamic[1] + dynamic[3], step):
        tag, value = _unpack(word, data, position)
        if tag == DT_NULL:
            break
        entries.append((tag, value))
    strtab_address = next((value for tag, value in entries if tag == DT_STRTAB), None)
    if strtab_address is None:
        raise ElfError(f"{path} has a dynamic section without a string table.")
    strtab = _file_offset(segments, strtab_address, path)
    return [_string_at(data, strtab + value) for tag, value in entries if tag == DT_NEEDED]


def _unpack(layout: str, data: bytes, offset: int) -> tuple[int, ...]:
    try:
        return struct.unpack_from(layout, data, offset)
    except struct.error as exc:
        raise ElfError(f"the ELF file is cut short ({exc}).") from exc


def _file_offset(segments: list[tuple[int, int, int, int]], address: int, path: Path) -> int:
    """Where in the file the loaded address `address` lies."""
    for kind, offset, vaddr, filesz in segments:
        if kind == PT_LOAD and vaddr <= address < vaddr + filesz:
            return offset + address - vaddr
    raise ElfError(f"{path}: the string table lies outside every loaded segment.")


def _string_at(data: bytes, offset: int) -> str:
    end = data.index(b"\0", offset)
    return data[offset:end].decode("utf-8", "replace")
