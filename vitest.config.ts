import {defineConfig} from 'vitest/config'

// Two projects: the unit tests need no privileges and touch nothing shared, so their files run
// side by side, in worker threads, first; the integration tests create network namespaces, boot
// guests and pin threads to the 2 CPUs, so running their files side by side would measure each
// other: one at a time, each in a fresh child process, after the unit tests
// (sequence.groupOrder). vitest 3 sizes each pool from the root config only (a project's
// fileParallelism is not read), so the projects take different pools: forks, at most one, for the
// integration tests; threads for the unit tests. test/README.md says which file owns which path.
const shared = {
  testTimeout: 60_000,
  hookTimeout: 60_000,
}

export default defineConfig({
  test: {
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: process.env.CI ? {json: '.vitest-results.json'} : undefined,
    poolOptions: {forks: {maxForks: 1, minForks: 1}},
    projects: [
      {
        test: {
          ...shared,
          name: 'unit',
          pool: 'threads',
          include: ['test/unit/**/*.test.ts'],
          sequence: {groupOrder: 0},
        },
      },
      {
        test: {
          ...shared,
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          pool: 'forks',
          sequence: {groupOrder: 1},
        },
      },
    ],
  },
})
