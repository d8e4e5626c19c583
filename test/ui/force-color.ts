// Imported first by view tests: colours on (chalk reads this when Ink loads), so a
// frame shows the highlight (inverse) and the loss counter's red as escape codes.
process.env.FORCE_COLOR = '1';
