// The edge where errors become messages: every mqbench command extends MqbCommand, so an
// MqbError prints as one line with its exit code, and anything else as one line that says how
// to get the trace. Signal handling lives in src/cli/signals.ts.
import {Command} from '@oclif/core'
import {ExitCode, MqbError, fromNative} from '../errors.js'

export abstract class MqbCommand extends Command {
  protected async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // oclif's own parse errors (unknown flag, bad option) and this.error() already carry an exit code.
    if (err.oclif?.exit !== undefined && !(err instanceof MqbError)) return super.catch(err)
    const e = fromNative(err)
    if (e instanceof MqbError) {
      // oclif prefixes a custom flag's parse error with "Parsing --flag \n\t"; keep it one line.
      const message = e.message.replace(/^Parsing (--[\w-]+)\s*\n\s*/, '$1: ').replace(/\s*See more help with --help\s*$/, '')
      this.logToStderr(`mqbench: ${message}`)
      for (const s of e.suggestions) this.logToStderr(`  hint: ${s}`)
      return this.exit(e.exitCode)
    }
    if (process.env.DEBUG) this.logToStderr(e.stack ?? String(e))
    this.logToStderr(`mqbench: unexpected error: ${e.message} (run with DEBUG=1 for the stack trace; please report it)`)
    return this.exit(ExitCode.failure)
  }
}
