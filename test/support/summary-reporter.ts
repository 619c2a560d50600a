// Prints one plain closing line ("N passed, N failed, N skipped") and the suites that were
// skipped for want of a service (DATABASE_URL, REDIS_URL), so a run says what it did not test.
import type { Reporter, TestModule } from "vitest/node";

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
  }
}
