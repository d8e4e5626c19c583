// Imported first by tests that check what the dashboard writes frame by frame: Ink draws
// nothing until exit when its environment says CI (is-in-ci, read once when Ink loads), and
// CI runs the suite with CI=true.
for (const k of Object.keys(process.env)) {
  if (k === 'CI' || k === 'CONTINUOUS_INTEGRATION' || k.startsWith('CI_')) delete process.env[k];
}
