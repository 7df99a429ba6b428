// The process-wide undo registry and the signal and crash handlers that run it. Only commands
// use this file: they hand the registry (and an AbortSignal for Ctrl-C) to the library, which
// never installs handlers of its own.
import {CleanupRegistry} from '../host/cleanup.js'

/** The process-wide registry that commands hand to the library. */
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
    // Nothing was listening (a guest still booting, a testbed being made): the person gets one
    // line saying what was undone instead of a silent exit.
    const undone = cleanup.pending.reverse()
    cleanup.runAll()
    process.stderr.write(`mqbench: ${interruptedLine(signal, undone, cleanup.failures)}\n`)
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

/** The line for a signal that ended a command before it had anything to save. */
export function interruptedLine(signal: NodeJS.Signals, undone: string[], failures: string[]): string {
  const what = undone.length ? `removed what was made so far (${undone.join(', ')})` : 'nothing was made yet'
  return `interrupted by ${signal}; ${what}${failures.length ? `; ${failures.join('; ')}` : ''}`
}

/** Calls `listener` on the first SIGINT/SIGTERM; returns the function that removes it. */
export function onInterrupt(listener: (signal: NodeJS.Signals) => void): () => void {
  installCleanupHandlers()
  interruptListeners.add(listener)
  return () => interruptListeners.delete(listener)
}
