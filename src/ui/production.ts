// Imported first by run.ts, before Ink and React load: React's development build (the
// default when NODE_ENV is unset) adds checks and profiling to every commit (the cost:
// docs/performance.md). Tests render the views without this, in development.
process.env.NODE_ENV ??= 'production';
