import type { Results } from './results.js';

// What the figures say, and how they were taken.
export function renderLearned(results: Results): string {
  return `## What was learned\n\nThis run measured ${results.runs.length} contender runs.\n`;
}
