/**
 * The scenario fields for several ITSs: `itsCount` (1-4), `itsVmovp` (GITS_TYPER.VMOVP, 0 or 1)
 * and each device's `its`, validated naming the field (the CLI exits with status 2), and the ITS
 * count in every result (`--json`).
 */
import test from 'ava';
import { main } from '../../scenarios/cli.js';
import { ScenarioError, validateScenario } from '../../scenarios/validate.js';

const base = {
  name: 't',
  vms: [{ name: 'a', vcpus: 2, kernel: 'device' }],
  devices: [{ vm: 'a', events: 4, traffic: { kind: 'periodic', periodUs: 10 } }],
};

async function cliIn(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { stdout: { write: (s: string) => out.push(s) }, stderr: { isTTY: false, write: (s: string) => (err.push(s), true) } });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

test('itsCount, itsVmovp and devices[i].its: absent unless given; out of range names the field', (t) => {
  const s = validateScenario(base);
  t.false('itsCount' in s);
  t.false('itsVmovp' in s);
  const ok = validateScenario({ ...base, itsCount: 3, itsVmovp: 0, devices: [{ ...base.devices[0], its: 2 }] });
  t.is(ok.itsCount, 3);
  t.is(ok.itsVmovp, 0);
  t.is(ok.devices[0]!.its, 2);
  const cases: [unknown, RegExp][] = [
    [{ ...base, itsCount: 5 }, /^itsCount: expected an integer from 1 to 4, got 5$/],
    [{ ...base, itsCount: 0 }, /^itsCount: expected an integer from 1 to 4, got 0$/],
    [{ ...base, itsVmovp: 2 }, /^itsVmovp: expected one of 0, 1, got 2$/],
    [{ ...base, devices: [{ ...base.devices[0], its: 1 }] }, /^devices\[0\]\.its: expected an integer from 0 to 0, got 1$/],
    [{ ...base, itsCount: 2, devices: [{ ...base.devices[0], its: -1 }] }, /^devices\[0\]\.its: expected an integer from 0 to 1, got -1$/],
  ];
  for (const [input, message] of cases) {
    const e = t.throws(() => validateScenario(input), { instanceOf: ScenarioError });
    t.regex(e!.message, message);
  }
});

test('CLI: an ITS count out of range exits with status 2 naming itsCount; --json says how many ITSs each run had', async (t) => {
  const bad = await cliIn('--scenario', 'its-list', '--grid', 'itsCount=5');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /itsCount: expected an integer from 1 to 4, got 5/);
  const r = await cliIn('--scenario', 'its-list', '--path', 'direct', '--json', '--quiet');
  t.is(r.code, 0);
  const j = JSON.parse(r.stdout) as { results: { its: number; vmovpCommands: number; vmovps: number }[] };
  t.is(j.results.length, 1);
  for (const p of j.results) {
    t.is(p.its, 3);
    t.true(p.vmovpCommands > p.vmovps);
  }
});
