// Everything mqbench changes on the host is registered with its undo, the moment it is changed,
// and undone in reverse order: at the end of a run, on an exception, on Ctrl-C or SIGTERM, and on
// an uncaught error. The library functions that change the host take the registry in their
// options; the CLI owns the process-wide one and the signal handlers (src/cli/cleanup.ts). Undo
// actions are synchronous so that they also run from process 'exit'. Objects a SIGKILL leaves
// behind carry the mqb- prefix and are removed by `mqbench testbed down --all`.

export type Undo = () => void

interface Entry {
  id: number
  what: string
  undo: Undo
}

export class CleanupRegistry {
  private entries: Entry[] = []
  private nextId = 1
  readonly failures: string[] = []

  /** Registers an undo action; returns a function that runs it now and unregisters it. */
  add(what: string, undo: Undo): () => void {
    const entry = {id: this.nextId++, what, undo}
    this.entries.push(entry)
    return () => {
      const i = this.entries.indexOf(entry)
      if (i < 0) return
      this.entries.splice(i, 1)
      this.runOne(entry)
    }
  }

  get pending(): string[] {
    return this.entries.map((e) => e.what)
  }

  /**
   * Drops every entry without undoing it: what is registered then stays on the host on purpose
   * (`testbed up --kind vm --keep` leaves a failed guest for inspection; `testbed down` removes it).
   */
  forgetAll(): void {
    this.entries = []
  }

  /** Undoes everything still registered, newest first; failures are collected, not thrown. */
  runAll(): void {
    while (this.entries.length > 0) this.runOne(this.entries.pop()!)
  }

  private runOne(e: Entry): void {
    try {
      e.undo()
    } catch (err) {
      this.failures.push(`could not undo ${e.what}: ${(err as Error).message}`)
    }
  }
}
