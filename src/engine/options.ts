// What the CLI hands the dashboard: sources and settings, nothing else.
import type { TaskActions } from '../actions/task-actions.js';
import type { DelayacctState } from '../model/delayacct.js';
import type { Settings } from '../settings/schema.js';
import type { ListMode } from '../sources/proctasks.js';
import type { ExitSource, StatsSource, Target } from '../sources/types.js';
import type { ProcessCensus } from '../sources/process-census.js';
import type { TaskInfoSource } from './details.js';

export interface DashboardOptions {
  stats: StatsSource;
  /** null when the exit feed is off; exitsOffReason says why */
  exits: ExitSource | null;
  exitsOffReason: string | null;
  /**
   * The exit feed is live and lossless enough to vouch that a process did not exit, so a
   * process's identity (its main thread's comm and start) can be kept between refreshes
   * instead of asked every time (see identityDue). Live netlink without a recording only:
   * a recording keeps every batch whole for its replays.
   */
  keepIdentities?: boolean;
  /**
   * Thread mode asks each process's TGID record first and carries the threads of those
   * where nothing moved (model/thread-gate.ts). Live netlink without a recording only: a
   * /proc source has no TGID record, and a recording keeps every batch whole.
   */
  carryStillThreads?: boolean;
  /**
   * Which processes exist, without reading /proc's directory at every refresh
   * (src/sources/process-census.ts). Live netlink without a recording only.
   */
  census?: ProcessCensus;
  /** tasks pinned from the command line (-p/-t) */
  pinned: Target[];
  intervalSec: number;
  /** every process (the default) or every thread, at start */
  mode?: ListMode;
  /** saved settings for the view (sort...); the list mode and interval come resolved above */
  settings?: Settings;
  /**
   * The user quit (q): the settings changed during the session, to be kept. Called once the
   * terminal is restored, so what it writes to stderr stays on the screen.
   */
  keepSettings?: (changed: Settings) => void;
  /** kernel.task_delayacct now, and since when */
  delayacct: () => DelayacctState;
  /** turn delay accounting on/off; returns an error message or null */
  setDelayacct: (on: boolean) => string | null;
  privileged: boolean;
  /** renice, ionice and signals on this machine's tasks; absent in a replay */
  actions?: TaskActions;
  /** banner lines (e.g. unprivileged mode: what is missing and how to get it) */
  banners: string[];
  /** this machine's PSI line, read again at every refresh (live runs only) */
  pressure?: () => string;
  /** the state and command line of rows on screen, and user names (live runs only: a replay's tasks are not here) */
  taskInfo?: TaskInfoSource;
  users?: () => ReadonlyMap<number, string>;
  kernelRelease: string;
  /** -v: a debug line for stderr, written before the dashboard opens */
  verbose?: (line: string) => void;
  /** for tests: streams other than the process's */
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
}
