// Reading a wheel: a zip archive (stored or deflated entries; ZIP64 for
// archives past 4 GiB is not needed by wheels and is refused by name). Every
// entry's CRC-32 is checked, so a damaged download fails here at the latest.

import zlib from 'node:zlib';

export interface ZipEntry {
  name: string;
  /** Unix mode from the central directory (0 when the archive has none). */
  mode: number;
  read(): Buffer;
}

export class ZipError extends Error {}

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

export function crc32(data: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

export function readZip(buf: Buffer, what: string): ZipEntry[] {
  const fail = (why: string): never => {
    throw new ZipError(`${what} is not a valid wheel (zip): ${why}`);
  };
  // End of central directory: the last 22 bytes plus a comment of up to 64 KiB.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('no end of central directory');
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || at === 0xffffffff) fail('ZIP64 archives are not supported');
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (at + 46 > buf.length || buf.readUInt32LE(at) !== 0x02014b50) fail('bad central directory');
    const method = buf.readUInt16LE(at + 10);
    const crc = buf.readUInt32LE(at + 16);
    const compressed = buf.readUInt32LE(at + 20);
    const size = buf.readUInt32LE(at + 24);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const madeBy = buf.readUInt16LE(at + 4) >> 8;
    const external = buf.readUInt32LE(at + 38);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLen);
    at += 46 + nameLen + extraLen + commentLen;
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) fail(`bad local header for ${name}`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    entries.push({
      name,
      mode: madeBy === 3 ? external >>> 16 : 0,
      read() {
        const raw = buf.subarray(start, start + compressed);
        let data: Buffer;
        if (method === 0) data = Buffer.from(raw);
        else if (method === 8) {
          try {
            data = zlib.inflateRawSync(raw);
          } catch (e) {
            return fail(`${name} is damaged (${(e as Error).message})`);
          }
        }
        else return fail(`${name} uses compression method ${method} (only stored and deflate are)`);
        if (data.length !== size || crc32(data) !== crc) fail(`${name} is damaged (CRC or size mismatch)`);
        return data;
      },
    });
  }
  return entries;
}
