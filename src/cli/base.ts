// The edge where errors become messages: every mqbench command extends MqbCommand, so an
// MqbError prints as one line with its exit code, and anything else as one line that says how
// to get the trace. Signal and crash handling lives in src/cli/cleanup.ts.
import {Command} from '@oclif/core'
import {ExitCode, MqbError, fromNative} from '../errors.js'

// oclif silences logToStderr under --json, but the one-line reason must still reach the person
// (stdout stays the JSON document, or nothing).
function say(line: string): void {
  process.stderr.write(`${line}\n`)
}

// oclif prefixes a flag's parse error with "Parsing --flag \n\t", lists several errors on lines of
// their own, and ends with a help pointer.
function oneLine(message: string): string {
  return message
    .replace(/^Parsing (--[\w-]+)\s*\n\s*/, '$1: ')
    .replace(/\s*See more help with --help\s*$/, '')
    .replace(/^The following errors? occurred:\s*/, '')
    .split(/\s*\n\s*/)
    .join('; ')
}

// A flag given a value it cannot take (out of range, not a number, not one of the options) is a bad
// flag value, exit 3, like the checks of our own flag parsers; an unknown flag, a missing argument or
// flags that exclude each other are usage, exit 2 (README, exit codes).
const badValue = (message: string) => /^Parsing --[\w-]+/.test(message) || /^Expected --[\w-]+=/.test(message)

export abstract class MqbCommand extends Command {
  // oclif tokenises and colours the whole document token by token, which took 1.2 s and 110 MB
  // for a result of 10,000 sessions; a pipe or a file gets the same JSON, plain.
  logJson(json: unknown): void {
    if (process.stdout.isTTY) return super.logJson(json)
    process.stdout.write(JSON.stringify(json, null, 2) + '\n')
  }

  protected async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // oclif's own parse errors (unknown flag, bad option) and this.error() already carry an exit code.
    if (err.oclif?.exit !== undefined && !(err instanceof MqbError)) {
      // oclif's own parse errors: one line and where to read more, not a page of help.
      if (err.oclif.exit === ExitCode.usage && (err as {code?: string}).code !== 'EEXIT') {
        say(
          `mqbench: ${oneLine(err.message)} (see \`mqbench ${this.id?.replaceAll(':', ' ') ?? ''} --help\`)`,
        )
        return this.exit(badValue(err.message.trim()) ? ExitCode.badInput : ExitCode.usage)
      }
      return super.catch(err)
    }
    const e = fromNative(err)
    if (e instanceof MqbError) {
      say(`mqbench: ${oneLine(e.message)}`)
      for (const s of e.suggestions) say(`  hint: ${s}`)
      return this.exit(e.exitCode)
    }
    if (process.env.DEBUG) say(e.stack ?? String(e))
    say(`mqbench: unexpected error: ${e.message} (run with DEBUG=1 for the stack trace; please report it)`)
    return this.exit(ExitCode.failure)
  }
}
