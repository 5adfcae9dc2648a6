/**
 * The fidelity guard of the speed work (bench/fidelity-guard.ts) in small: the 'explain'
 * scenario on both paths, run through the CLI in this process with --trace and --json, hashes
 * (host time removed) to exactly what bench/fidelity-hashes.json recorded at the commit before
 * the speed work. A change to any traced event, any figure of the result, fails it.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HASHES_FILE, jsonHash, traceHash, type HashesFile } from '../../bench/fidelity-guard.js';
import { main } from '../../scenarios/cli.js';

const recorded = JSON.parse(readFileSync(HASHES_FILE, 'utf8')) as HashesFile;

for (const path of ['injected', 'direct'] as const) {
  test(`explain/${path}: the whole trace and the --json result hash as recorded before the speed work`, async (t) => {
    const want = recorded.entries.find((e) => e.scenario === 'explain' && e.path === path);
    if (want === undefined) return t.fail('no recorded hash for explain');
    t.is(want.durationUs, null);
    const dir = mkdtempSync(join(tmpdir(), 'minivisor-fidelity-'));
    try {
      const file = join(dir, 'trace.json');
      let out = '';
      const code = await main(['--scenario', 'explain', '--path', path, '--trace', file, '--json', '--quiet'], { stdout: { write: (s: string) => (out += s) }, stderr: { isTTY: false, write: () => true } });
      t.is(code, 0);
      t.is(traceHash(readFileSync(file, 'utf8')), want.trace, 'trace');
      t.is(jsonHash(out), want.json, '--json result');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
