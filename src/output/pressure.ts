// PSI and cgroup readings (sources/pressure.ts) as text: the dashboard header's PSI line and
// the lines -C prints.
import {
  CGROUP_V1_NOTE,
  PSI_RESOURCES,
  type CgroupView,
  type PressureReading,
  type PsiLine,
} from '../sources/pressure.js';

const pct = (v: number) => `${v.toFixed(2)}%`;

/** The dashboard header's PSI line: avg10 of "some" (and "full" where it means something). */
export function formatPressureLine(r: PressureReading | null): string {
  if (!r) return 'PSI n/a (no /proc/pressure: kernel without CONFIG_PSI, or booted with psi=0)';
  const parts: string[] = [];
  for (const res of PSI_RESOURCES) {
    const p = r.psi[res];
    if (!p) continue;
    // CPU "full" is always 0 system-wide and irq has only "full".
    const bits = [
      p.some && res !== 'irq' ? `some ${pct(p.some.avg10)}` : null,
      p.full && res !== 'cpu' ? `full ${pct(p.full.avg10)}` : null,
    ].filter(Boolean);
    parts.push(`${res.toUpperCase()} ${bits.join(' ')}`);
  }
  return `PSI avg10: ${parts.join('  ')}`;
}

/** Plain-text lines for -C in batch output (the dashboard renders the same view). */
export function formatCgroup(v: CgroupView): string[] {
  if (v.version === 1) {
    const s = v.stats;
    return [
      `cgroup ${v.path} (v1): sleeping ${s.nr_sleeping}  running ${s.nr_running}  stopped ${s.nr_stopped}  ` +
        `uninterruptible ${s.nr_uninterruptible}  io_wait ${s.nr_io_wait}`,
      `  (${CGROUP_V1_NOTE})`,
    ];
  }
  const lines = [`cgroup ${v.path} (v2): ${v.note}`];
  for (const [res, p] of Object.entries(v.pressure.psi)) {
    const f = (l: PsiLine | null) =>
      l ? `avg10 ${pct(l.avg10)} avg60 ${pct(l.avg60)} avg300 ${pct(l.avg300)} total ${l.totalUs}us` : 'n/a';
    lines.push(`  ${res}.pressure  some: ${f(p.some)}  full: ${f(p.full)}`);
  }
  if (v.pressure.missing.length) {
    lines.push(
      `  no ${v.pressure.missing.map((r) => `${r}.pressure`).join(', ')} here (PSI off for this cgroup, or the controller not enabled)`,
    );
  }
  return lines;
}
