// Imported first by run.tsx, before Ink and React load: React's development build
// (the default when NODE_ENV is unset) roughly doubles the dashboard's memory and adds
// profiling work to every commit. Tests render the views without this, in development.
process.env.NODE_ENV ??= 'production';
