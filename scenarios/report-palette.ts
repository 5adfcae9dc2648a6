/**
 * The report's colours: Okabe and Ito's eight-colour palette ("Color Universal Design", 2008),
 * which readers with the common colour-vision deficiencies can still tell apart, and the rule
 * that no chart uses more than eight series colours: past that, the series with the least
 * weight share one grey "other".
 */

/** The Okabe-Ito palette. */
export const OKABE_ITO = {
  black: '#000000',
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  bluishGreen: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  reddishPurple: '#CC79A7',
} as const;

/** The colour of the series grouped as "other". */
export const OTHER_COLOR = '#999999';

/** No chart has more series colours than this ("other" included). */
export const MAX_SERIES_COLORS = 8;

/**
 * Colours of the timeline's vCPU groups, in the order they are handed out. Black is the
 * hypervisor's (EL2) and yellow the lock spin's, so six are left; with "other", seven.
 */
export const GROUP_COLORS: readonly string[] = [OKABE_ITO.blue, OKABE_ITO.orange, OKABE_ITO.bluishGreen, OKABE_ITO.reddishPurple, OKABE_ITO.skyBlue, OKABE_ITO.vermillion];

/** Colours of the delivery paths in the latency charts (injected and direct first, as in every chart of the project). */
const PATH_COLORS: Readonly<Record<string, string>> = { injected: OKABE_ITO.vermillion, direct: OKABE_ITO.blue };
const MORE_PATH_COLORS: readonly string[] = [OKABE_ITO.bluishGreen, OKABE_ITO.orange, OKABE_ITO.reddishPurple, OKABE_ITO.skyBlue, OKABE_ITO.black];

/** A colour per path: injected and direct keep theirs; others take the rest of the palette, then "other" grey. */
export function pathColors(paths: readonly string[]): string[] {
  let next = 0;
  return paths.map((p) => PATH_COLORS[p] ?? MORE_PATH_COLORS[next++] ?? OTHER_COLOR);
}

/** Black or white, whichever reads better on `color` (#rrggbb): WCAG relative luminance. */
export function textOn(color: string): '#000000' | '#ffffff' {
  const c = [1, 3, 5].map((i) => Number.parseInt(color.slice(i, i + 2), 16) / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  const l = 0.2126 * c[0]! + 0.7152 * c[1]! + 0.0722 * c[2]!;
  // Contrast with black (l + 0.05) / 0.05 against with white 1.05 / (l + 0.05).
  return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? '#000000' : '#ffffff';
}

/** Compares names with their numbers as numbers (vm2 before vm10), without a locale. */
export function naturalCompare(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const nx = /^\d/.test(x) && /^\d/.test(y);
    if (nx && Number(x) !== Number(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** One colour of the timeline: a vCPU, a VM's vCPUs, or "other". */
export interface SeriesGroup {
  readonly label: string;
  readonly color: string;
  /** Colour of text drawn on it. */
  readonly text: string;
  /** The vCPUs (by name, `vm.vcpuN`) drawn in this colour. */
  readonly members: readonly string[];
  /** What it stands for: vCPU names, or VM names when grouped by VM. */
  readonly units: readonly string[];
}

/** What the timeline knows of a vCPU: its VM's name and the cycles it ran at EL1. */
export interface VcpuWeight {
  readonly vm: string;
  readonly cycles: number;
}

/**
 * The timeline's colours: one per vCPU when there are at most six (or one VM), else one per
 * VM; past six, the six that ran longest keep a colour (listed in name order) and the rest
 * share "other". `groupOf` maps each vCPU name to its group's index.
 */
export function vcpuGroups(vcpus: ReadonlyMap<string, VcpuWeight>): { groups: SeriesGroup[]; groupOf: Map<string, number> } {
  const named = GROUP_COLORS.length;
  const vms = new Map<string, { cycles: number; members: string[] }>();
  for (const [name, w] of vcpus) {
    const v = vms.get(w.vm) ?? { cycles: 0, members: [] };
    v.cycles += w.cycles;
    v.members.push(name);
    vms.set(w.vm, v);
  }
  const perVcpu = vcpus.size <= named || vms.size <= 1;
  const units: { key: string; label: string; cycles: number; members: string[] }[] = perVcpu
    ? [...vcpus].map(([name, w]) => ({ key: name, label: name, cycles: w.cycles, members: [name] }))
    : [...vms].map(([vm, v]) => ({ key: vm, label: `${vm} (${v.members.length === 1 ? '1 vCPU' : `${v.members.length} vCPUs`})`, cycles: v.cycles, members: v.members.sort(naturalCompare) }));
  // The longest-running keep their colours; ties go to the first name.
  const ranked = [...units].sort((a, b) => b.cycles - a.cycles || naturalCompare(a.key, b.key));
  const kept = units.length <= named ? ranked : ranked.slice(0, named);
  const rest = units.length <= named ? [] : ranked.slice(named);
  kept.sort((a, b) => naturalCompare(a.key, b.key));
  const groups: SeriesGroup[] = kept.map((u, i) => ({ label: u.label, color: GROUP_COLORS[i]!, text: textOn(GROUP_COLORS[i]!), members: u.members, units: [u.key] }));
  if (rest.length > 0) {
    rest.sort((a, b) => naturalCompare(a.key, b.key));
    const members = rest.flatMap((u) => u.members);
    const what = perVcpu ? `${rest.length} vCPUs` : `${rest.length} VMs`;
    groups.push({ label: `other (${what})`, color: OTHER_COLOR, text: textOn(OTHER_COLOR), members, units: rest.map((u) => u.key) });
  }
  const groupOf = new Map<string, number>();
  groups.forEach((g, i) => g.members.forEach((m) => groupOf.set(m, i)));
  return { groups, groupOf };
}
