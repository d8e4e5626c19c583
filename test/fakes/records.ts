// A decoded record as the decoder shapes it: every field of its version, 0 unless given.
// For tests of what comes after decoding (model, UI), without going through bytes.
import type { Taskstats } from '../../src/kernel/decode.js';
import { FIELDS, STRUCT_SIZE } from '../../src/kernel/layout.js';

export function decodedRecord(fields: Record<string, number | bigint | string>, version = 16): Taskstats {
  const raw: Taskstats['raw'] = {};
  for (const f of FIELDS) {
    if (f.since > version) continue;
    raw[f.name] = f.type === 'comm' ? '' : f.type === 'timespec' ? { tv_sec: 0, tv_nsec: 0 } : 0;
  }
  raw.version = version;
  Object.assign(raw, fields);
  return { version, layoutVersion: version, length: STRUCT_SIZE[version]!, raw };
}
