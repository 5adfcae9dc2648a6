/**
 * The README's micro-benchmark tables are the code's output: `npm start -- --micro --markdown`
 * at its defaults (seed 1), byte for byte, so a cost or harness change that moves a figure
 * fails here until the README is regenerated.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { microMain } from '../../scenarios/micro/cli.js';

test('README: the micro-benchmark tables are what --micro --markdown prints', (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const open = '<details><summary>The micro-benchmark tables of the three profiles</summary>\n\n';
  const start = readme.indexOf(open);
  t.true(start >= 0, 'the README holds the tables');
  const end = readme.indexOf('\n\n</details>', start);
  const inReadme = readme.slice(start + open.length, end);
  let printed = '';
  const status = microMain(['--markdown'], (s) => (printed += s), () => {});
  t.is(status, 0);
  t.is(inReadme, printed.trim(), 'regenerate with: npm start -- --micro --markdown');
});
