// Walks TFRecord files with an independent implementation of the framing primitives (the npm package
// @roboflow/tfrecords: its crc32c, maskCrc and readInt64), verifies both CRCs of every record, and
// writes each payload to OUT_DIR/<shard>.<index>.pb for a second, independent decoder (Python).
// The package's TFRecordsReader class itself only decodes tf.SequenceExample payloads, so only its
// framing primitives apply to our Utterance payloads.
// Usage: node read_shards.js OUT_DIR SHARD... ; prints one JSON line per shard; exit 1 on any bad CRC.
"use strict";
const fs = require("fs");
const path = require("path");
const { crc32c, maskCrc, readInt64 } = require("@roboflow/tfrecords/src/tensorFlowHelpers");

const [outDir, ...shards] = process.argv.slice(2);
if (!outDir || shards.length === 0) {
  console.error("usage: node read_shards.js OUT_DIR SHARD...");
  process.exit(2);
}
let bad = 0;
for (const shard of shards) {
  const buf = fs.readFileSync(shard);
  let pos = 0;
  let records = 0;
  let error = null;
  while (pos < buf.length) {
    if (buf.length - pos < 12) { error = `truncated header at byte ${pos}`; break; }
    const lenBytes = buf.slice(pos, pos + 8);
    const len = readInt64(lenBytes);
    if (maskCrc(crc32c(lenBytes)) !== buf.readUInt32LE(pos + 8)) { error = `length CRC mismatch at byte ${pos}`; break; }
    if (pos + 12 + len + 4 > buf.length) { error = `truncated record at byte ${pos}`; break; }
    const payload = buf.slice(pos + 12, pos + 12 + len);
    if (maskCrc(crc32c(payload)) !== buf.readUInt32LE(pos + 12 + len)) { error = `payload CRC mismatch at byte ${pos}`; break; }
    fs.writeFileSync(path.join(outDir, `${path.basename(shard)}.${records}.pb`), payload);
    records += 1;
    pos += 12 + len + 4;
  }
  if (error) bad += 1;
  console.log(JSON.stringify({ shard: path.basename(shard), records, error }));
}
process.exit(bad ? 1 : 0);
