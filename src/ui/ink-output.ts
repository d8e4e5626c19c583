// Ink 6.8 does not export its Output class (build/output.js): this loads the very module
// Ink itself loads. The bundle (scripts/bundle.mjs) swaps this file for a static import
// of that module, so the class patched is the one inside the bundle.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The URL of the output.js that Ink's entry loads. */
export function inkOutputModule(): string {
  const entry = createRequire(import.meta.url).resolve('ink');
  return pathToFileURL(path.join(path.dirname(entry), 'output.js')).href;
}

/** Ink's output module, or the one at `url` (tests point it at a stand-in). */
export function loadInkOutput(url?: string): Promise<unknown> {
  return import(url ?? inkOutputModule());
}
