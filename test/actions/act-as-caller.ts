// Run by test/actions/live.test.ts as another user: each action on process argv[2], as
// whoever runs this, one result line each.
import { liveSyscalls } from '../../src/actions/syscalls.js';
import { TaskActions } from '../../src/actions/task-actions.js';

const actions = new TaskActions(liveSyscalls());
const r = actions.inspect({ kind: 'tgid', id: Number(process.argv[2]) }, '?');
if (!r.ok) throw new Error(r.message);
console.log(actions.renice(r.task, 1).text);
console.log(actions.ionice(r.task, { ioClass: 'idle', level: 0 }).text);
console.log(actions.signal(r.task, 'TERM').text);
