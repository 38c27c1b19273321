#!/usr/bin/env python3
"""Writes the hostile zip archives the workspace tests import, into DIR:
slip.zip (../ entry), absolute.zip (/etc/... entry), symlink.zip (a symlink
entry), bomb.zip (one entry inflating to 1 GiB of zeros), liar.zip (an
entry whose header declares 10 bytes but inflates to 64 MiB), and archives
that conflict with themselves or fail late (file-then-folder.zip,
folder-then-file.zip, dot.zip, duplicate.zip, late-liar.zip)."""
import struct
import sys
import zipfile
import zlib

out = sys.argv[1]

with zipfile.ZipFile(f"{out}/slip.zip", "w") as z:
    z.writestr("ok.txt", "fine")
    z.writestr(zipfile.ZipInfo("../../evil.txt"), "escaped")

with zipfile.ZipFile(f"{out}/absolute.zip", "w") as z:
    z.writestr(zipfile.ZipInfo("/tmp/hma-absolute-evil.txt"), "escaped")

with zipfile.ZipFile(f"{out}/symlink.zip", "w") as z:
    info = zipfile.ZipInfo("link")
    info.create_system = 3  # Unix
    info.external_attr = (0o120777 << 16)
    z.writestr(info, "/etc/passwd")

with zipfile.ZipFile(f"{out}/bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
    with z.open(zipfile.ZipInfo("bomb.bin"), "w", force_zip64=True) as w:
        block = b"\0" * (1 << 20)
        for _ in range(1024):
            w.write(block)

# A lying archive: stored sizes say 10 bytes, the deflate stream holds 64 MiB.
payload = zlib.compressobj(9, zlib.DEFLATED, -15)
data = b"".join(payload.compress(b"\0" * (1 << 20)) for _ in range(64)) + payload.flush()
crc = 0
name = b"liar.bin"
local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), 10, len(name), 0) + name
central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), 10, len(name), 0, 0, 0, 0, 0, 0) + name
end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(data), 0)
with open(f"{out}/liar.zip", "wb") as f:
    f.write(local + data + central + end)

# Archives that fail half-way unless every conflict is found first.
with zipfile.ZipFile(f"{out}/file-then-folder.zip", "w") as z:
    z.writestr("first.txt", "written first")
    z.writestr("a", "a file")
    z.writestr("a/b", "a file inside the file a")

with zipfile.ZipFile(f"{out}/folder-then-file.zip", "w") as z:
    z.writestr("first.txt", "written first")
    z.writestr(zipfile.ZipInfo("a/"), "")
    z.writestr("a", "a file where the folder a is")

with zipfile.ZipFile(f"{out}/dot.zip", "w") as z:
    z.writestr("first.txt", "written first")
    z.writestr(zipfile.ZipInfo("."), "the project itself as a file")

with zipfile.ZipFile(f"{out}/duplicate.zip", "w") as z:
    z.writestr("first.txt", "written first")
    z.writestr("twice.txt", "one")
    z.writestr(zipfile.ZipInfo("./twice.txt"), "two")

# A good file, then a lying entry (its size shows only while inflating).
def records(entries):
    body, centrals = b"", b""
    for name, payload, method, declared, crc in entries:
        offset = len(body)
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(payload), declared, len(name), 0) + name + payload
        centrals += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, len(payload), declared,
                                len(name), 0, 0, 0, 0, 0, offset) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(centrals), len(body), 0)
    return body + centrals + end

with open(f"{out}/late-liar.zip", "wb") as f:
    f.write(records([(b"first.txt", b"fine", 0, 4, zlib.crc32(b"fine")), (b"liar.bin", data, 8, 10, 0)]))
