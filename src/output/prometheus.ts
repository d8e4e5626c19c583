// The exporter's exposition (--metrics): the group ledger, the exit feed's per-CPU counters
// and delaytop's own cost as Prometheus metrics, through prom-client, in the Prometheus
// text format or OpenMetrics when the scraper asks for it.
import { Counter, Gauge, Histogram, Registry, type OpenMetricsContentType } from 'prom-client';
import type { CpuCounters } from '../kernel/exitrecord.js';
import { CATEGORIES } from '../kernel/layout.js';
import type { DelayacctState } from '../model/delayacct.js';
import { DEFAULT_MAX_GROUPS, type GroupLedger } from '../model/groups.js';
import { printable } from './text.js';

export interface ExpositionState {
  ledger: GroupLedger;
  /** the exit feed's per-CPU counters; null while there is no feed */
  counters: () => readonly CpuCounters[] | null;
  /** the exit feed is listening */
  feedUp: () => boolean;
  delayacct: () => DelayacctState;
  /** --metrics-top: the processes to show, with their comm */
  top: () => readonly { tgid: number; comm: string; group: string; category: string; ratio: number }[];
  /** whether the top gauges exist (--metrics-top N > 0) */
  topN: number;
  pollErrors: () => number;
  /** epoch seconds the process started */
  startTimeSec: number;
}

const CATEGORY_KEYS = CATEGORIES.map((c) => c.key);
const POLL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const SCRAPE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** Group names (a cgroup path, a comm) are what processes and users chose: escaped as for a terminal. */
const label = (s: string) => printable(s);

interface GroupLabels {
  group: { group: string };
  /** per category, in CATEGORIES order */
  byCategory: { group: string; category: string }[];
}

/** The label sets of a group, made once per group rather than per series per scrape. */
function labelCache(): (key: string) => GroupLabels {
  let cache = new Map<string, GroupLabels>();
  return (key) => {
    let l = cache.get(key);
    if (!l) {
      // groups come and go: start afresh rather than keep every group ever seen
      if (cache.size > 2 * DEFAULT_MAX_GROUPS) cache = new Map();
      const group = label(key);
      l = { group: { group }, byCategory: CATEGORY_KEYS.map((category) => ({ group, category })) };
      cache.set(key, l);
    }
    return l;
  };
}

/**
 * One registry's metrics. Each registry gets its own: prom-client 15 renames a counter in
 * place when it writes OpenMetrics (it drops the _total suffix from the metric's name), so
 * a counter shared with the text registry would lose _total there from then on.
 */
function metricSet(registers: (Registry | Registry<OpenMetricsContentType>)[], s: ExpositionState) {
  const labelsOf = labelCache();
  const delay = new Counter({
    name: 'delaytop_delay_seconds_total',
    help: 'Time the tasks of a group waited, by delay category: its live processes and every process of it that exited since delaytop started (exit feed); figures that cannot have happened are left out',
    labelNames: ['group', 'category'],
    registers,
    collect() {
      delay.reset();
      for (const g of s.ledger.groups())
        for (let i = 0; i < CATEGORY_KEYS.length; i++) delay.inc(labelsOf(g.key).byCategory[i]!, g.delayNs[i]! / 1e9);
    },
  });
  const waits = new Counter({
    name: 'delaytop_delay_waits_total',
    help: 'Waits (delay events) the tasks of a group had, by delay category, counted as delaytop_delay_seconds_total is',
    labelNames: ['group', 'category'],
    registers,
    collect() {
      waits.reset();
      for (const g of s.ledger.groups())
        for (let i = 0; i < CATEGORY_KEYS.length; i++) waits.inc(labelsOf(g.key).byCategory[i]!, g.waits[i]!);
    },
  });
  const processExits = new Counter({
    name: 'delaytop_process_exits_total',
    help: 'Processes of a group whose end the exit feed reported',
    labelNames: ['group'],
    registers,
    collect() {
      processExits.reset();
      for (const g of s.ledger.groups()) processExits.inc(labelsOf(g.key).group, g.processExits);
    },
  });
  const tasks = new Gauge({
    name: 'delaytop_tasks',
    help: 'Live processes of a group at the last poll',
    labelNames: ['group'],
    registers,
    collect() {
      tasks.reset();
      for (const g of s.ledger.groups()) tasks.set(labelsOf(g.key).group, g.tasks);
    },
  });
  const groups = new Gauge({
    name: 'delaytop_groups',
    help: 'Groups published (a group without processes stays for a grace period)',
    registers,
    collect() {
      groups.set(s.ledger.size().groups);
    },
  });
  const dropped = new Counter({
    name: 'delaytop_groups_dropped_total',
    help: 'Groups dropped after their grace period without processes',
    registers,
    collect() {
      dropped.reset();
      dropped.inc(s.ledger.droppedGroups);
    },
  });
  const exits = new Counter({
    name: 'delaytop_exits_total',
    help: 'Exit records (one per exiting thread) the exit feed received, per CPU',
    labelNames: ['cpu'],
    registers,
    collect() {
      exits.reset();
      for (const c of s.counters() ?? []) exits.inc({ cpu: String(c.cpu) }, c.received);
    },
  });
  const lost = new Counter({
    name: 'delaytop_exits_lost_total',
    help: "Exit records lost, per CPU (the kernel's drop count or sequence gaps, plus what delaytop could not keep): the exited part of the delay counters misses that many tasks",
    labelNames: ['cpu'],
    registers,
    collect() {
      lost.reset();
      for (const c of s.counters() ?? []) lost.inc({ cpu: String(c.cpu) }, c.lost);
    },
  });
  const feedUp = new Gauge({
    name: 'delaytop_exit_feed_up',
    help: 'The exit feed is listening (0: no exits are counted; see delaytop on stderr for why)',
    registers,
    collect() {
      feedUp.set(s.feedUp() ? 1 : 0);
    },
  });
  const delayacct = new Gauge({
    name: 'delaytop_delayacct_enabled',
    help: 'kernel.task_delayacct (0: only CPU delay is recorded, for tasks started meanwhile too)',
    registers,
    collect() {
      delayacct.set(s.delayacct().on ? 1 : 0);
    },
  });
  const suspects = new Counter({
    name: 'delaytop_suspect_values_total',
    help: 'Delay figures left out of the counters because they cannot have happened (a wait longer than the task lived, a switch-on of delay accounting), by category',
    labelNames: ['category'],
    registers,
    collect() {
      suspects.reset();
      for (let i = 0; i < CATEGORY_KEYS.length; i++)
        suspects.inc({ category: CATEGORY_KEYS[i]! }, s.ledger.suspects[i]!);
    },
  });
  if (s.topN > 0) {
    const top = new Gauge({
      name: 'delaytop_top_delay_ratio',
      help: 'The processes that waited most over the last poll interval, per category: delay / interval (a process sums its threads, so it can pass 1)',
      labelNames: ['pid', 'comm', 'group', 'category'],
      registers,
      collect() {
        top.reset();
        for (const t of s.top())
          top.set({ pid: String(t.tgid), comm: label(t.comm), group: label(t.group), category: t.category }, t.ratio);
      },
    });
  }
  const pollErrors = new Counter({
    name: 'delaytop_poll_errors_total',
    help: 'Polls that failed (the figures stay as of the last good one)',
    registers,
    collect() {
      pollErrors.reset();
      pollErrors.inc(s.pollErrors());
    },
  });
  const cpu = new Counter({
    name: 'process_cpu_seconds_total',
    help: 'User and system CPU time delaytop spent',
    registers,
    collect() {
      const u = process.cpuUsage();
      cpu.reset();
      cpu.inc((u.user + u.system) / 1e6);
    },
  });
  const rss = new Gauge({
    name: 'process_resident_memory_bytes',
    help: "delaytop's resident memory",
    registers,
    collect() {
      rss.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: 'process_start_time_seconds',
    help: 'When delaytop started, seconds since the epoch',
    registers,
  }).set(s.startTimeSec);
  return {
    poll: new Histogram({
      name: 'delaytop_poll_duration_seconds',
      help: 'How long one poll took: listing the processes, the taskstats query, reading groups, folding',
      buckets: POLL_BUCKETS,
      registers,
    }),
    scrape: new Histogram({
      name: 'delaytop_scrape_duration_seconds',
      help: 'How long delaytop took to answer a scrape of /metrics (this one not included)',
      buckets: SCRAPE_BUCKETS,
      registers,
    }),
  };
}

export const PROMETHEUS_TEXT = Registry.PROMETHEUS_CONTENT_TYPE;
export const OPENMETRICS_TEXT = Registry.OPENMETRICS_CONTENT_TYPE;

/** Whether an Accept header asks for OpenMetrics (Prometheus asks for it first, with a q-value). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return !!accept && /(^|,)\s*application\/openmetrics-text\s*(;|,|$)/i.test(accept);
}

export class Exposition {
  private text = new Registry();
  private open = new Registry<OpenMetricsContentType>();
  private sets: ReturnType<typeof metricSet>[];

  constructor(state: ExpositionState) {
    this.open.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    this.sets = [metricSet([this.text], state), metricSet([this.open], state)];
  }

  observePoll(seconds: number): void {
    for (const s of this.sets) s.poll.observe(seconds);
  }

  observeScrape(seconds: number): void {
    for (const s of this.sets) s.scrape.observe(seconds);
  }

  /** The exposition for a scraper's Accept header. */
  async render(accept: string | undefined): Promise<{ contentType: string; body: string }> {
    const reg = wantsOpenMetrics(accept) ? this.open : this.text;
    return { contentType: reg.contentType, body: await reg.metrics() };
  }
}
