// Everything mqbench changes on the host is registered here with its undo, the moment it is
// changed, and undone in reverse order: at the end of a run, on an exception, on Ctrl-C or
// SIGTERM, and on an uncaught error. Undo actions are synchronous so that they also run from
// process 'exit'. Objects a SIGKILL leaves behind carry the mqb- prefix and are removed by
// `mqbench testbed down --all`.

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

/** The process-wide registry that commands and testbeds share. */
export const cleanup = new CleanupRegistry()

let installed = false
const interruptListeners = new Set<(signal: NodeJS.Signals) => void>()

/**
 * Installs the signal and crash handlers once. The first SIGINT/SIGTERM asks the running work to
 * stop (listeners added by onInterrupt stop the native engines, and the command then prints and
 * saves what it has); a second one undoes everything at once and exits 130.
 */
export function installCleanupHandlers(): void {
  if (installed) return
  installed = true
  let signals = 0
  const onSignal = (signal: NodeJS.Signals) => {
    signals++
    if (signals === 1 && interruptListeners.size > 0) {
      for (const l of interruptListeners) l(signal)
      return
    }
    cleanup.runAll()
    process.exit(130)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('SIGHUP', onSignal)
  process.on('exit', () => cleanup.runAll())
  process.on('uncaughtException', (err) => {
    cleanup.runAll()
    process.stderr.write(`mqbench: unexpected error: ${err.message}\n`)
    process.exit(1)
  })
}

/** Calls `listener` on the first SIGINT/SIGTERM; returns the function that removes it. */
export function onInterrupt(listener: (signal: NodeJS.Signals) => void): () => void {
  installCleanupHandlers()
  interruptListeners.add(listener)
  return () => interruptListeners.delete(listener)
}
