// Prints one plain closing line ("N passed, N failed, N skipped") and the suites that were
// skipped for want of a service (DATABASE_URL, REDIS_URL), so a run says what it did not test.
import { mkdirSync, writeFileSync } from "node:fs";
import type { Reporter, TestModule } from "vitest/node";

/** Where the counts are left for the package check, which prints the run's closing line. */
export const SUMMARY_FILE = "node_modules/.cache/fluenzr-test-summary.json";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const skippedSuites = new Set<string>();
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else {
          skipped++;
          let parent = test.parent;
          while (parent.type === "suite" && parent.parent.type === "suite") parent = parent.parent;
          skippedSuites.add(parent.type === "suite" ? `${mod.moduleId.split("/test/").pop()}: ${parent.name}` : (mod.moduleId.split("/test/").pop() ?? mod.moduleId));
        }
      }
    }
    if (skippedSuites.size > 0) {
      console.log("\nSkipped suites:");
      for (const s of skippedSuites) console.log(`  - ${s}`);
    }
    console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
    try {
      mkdirSync("node_modules/.cache", { recursive: true });
      writeFileSync(SUMMARY_FILE, JSON.stringify({ passed, failed, skipped, skippedSuites: [...skippedSuites] }));
    } catch {
      // The summary file is a convenience for the closing line; never fail a run over it.
    }
  }
}
