/**
 * Policies are code the user owns: a module file given to --policy, named in a scenario file
 * (relative to it), and used by a 2-worker sweep; a file that is missing, exports no policy or
 * throws while loading exits 2 with one line naming the file.
 */
import test from 'ava';
import { main } from '../../scenarios/cli.js';

const FIX = 'test/fixtures/policies';

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { stdout: { write: (s: string) => out.push(s) }, stderr: { isTTY: false, write: (s: string) => (err.push(s), true) } });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

test('--policy FILE runs the scenario with the policy the file exports', async (t) => {
  const r = await cli('--scenario', 'default', '--duration', '300us', '--policy', `${FIX}/shortest-slice.ts`, '--quiet');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /policy quarter-slices \(.*shortest-slice\.ts\)/);
  t.regex(r.stdout, /delivery check: every accepted MSI reached its guest/);
});

test('a scenario file names its policy file relative to itself; the JSON says which file', async (t) => {
  const r = await cli('--scenario', `${FIX}/scenario.json`, '--json', '--quiet');
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { scenario: { policy: string }; results: { delivered: number; undelivered: number }[] };
  t.regex(j.scenario.policy, /test\/fixtures\/policies\/shortest-slice\.ts$/);
  t.true(j.results.every((x) => x.delivered > 0 && x.undelivered === 0));
});

test('a 2-worker sweep loads the policy file in every worker; rows name the policy, not the file', async (t) => {
  const r = await cli('--scenario', 'default', '--duration', '200us', '--policy', `${FIX}/shortest-slice.ts`, '--sweep', '--workers', '2', '--rates', '1,2', '--quiet');
  t.is(r.code, 0, r.stderr);
  const rows = r.stdout.trimEnd().split('\n').slice(1);
  t.is(rows.length, 4); // 2 paths x 2 rates
  t.true(rows.every((l) => l.split(',')[1] === 'quarter-slices'));
});

for (const [file, why] of [
  ['missing.ts', /no such file/],
  ['no-policy.ts', /exports no Policy .*exports found: notAPolicy/],
  ['throws.ts', /threw while loading: this policy module is broken/],
] as const) {
  test(`--policy ${file}: exit 2, one line naming the file and what is wrong`, async (t) => {
    const r = await cli('--policy', `${FIX}/${file}`, '--duration', '100us');
    t.is(r.code, 2);
    const lines = r.stderr.trimEnd().split('\n');
    t.is(lines.length, 1, r.stderr);
    t.true(lines[0]!.includes(file));
    t.regex(lines[0]!, why);
    t.is(r.stdout, '');
  });
}

test('a policy name that is neither shipped nor a file is refused by --policy, naming the choices', async (t) => {
  const r = await cli('--policy', 'nosuch');
  t.is(r.code, 2);
  t.regex(r.stderr, /--policy.*round-robin.*latency-first/s);
});
