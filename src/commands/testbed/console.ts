import {existsSync} from 'node:fs'
import {connect} from 'node:net'
import {Args, Flags} from '@oclif/core'
import {MqbCommand} from '../../cli/base.js'
import {ExitCode, MqbError} from '../../errors.js'
import {consoleRefusal} from '../../testbed/registry.js'
import {vmNames} from '../../testbed/vm.js'
import {QueryFilter, withoutQueries} from '../../vm/console-filter.js'
import {consoleTail} from '../../vm/guest.js'
import {guestPaths} from '../../vm/qemu-args.js'

// Ctrl-] as in telnet: Ctrl-C and Ctrl-D belong to the guest's shell.
const DETACH = 0x1d

export default class TestbedConsole extends MqbCommand {
  static summary = `Attach to a vm testbed's guest console (a shell on ttyS0); Ctrl-] or the end of input detaches.`

  static description = `The last lines the guest printed are shown first (the console is also logged in the testbed's scratch directory, console.log). A guest that a running command owns (each guest of \`check vm\`, the guest of \`scale --testbed vm\`) is under test: typing into it is refused (exit 12), and --read-only watches it without sending anything (Ctrl-C detaches).`

  static examples = [
    {
      description: "Attach to vm testbed g1's console",
      command: '<%= config.bin %> testbed console g1',
    },
    {
      description: 'Watch the console of a guest a running check owns, without typing into it',
      command: '<%= config.bin %> testbed console c3f1a --read-only',
    },
  ]

  static args = {name: Args.string({description: 'vm testbed name', required: true})}

  static flags = {
    'read-only': Flags.boolean({
      description: 'show the console without sending input (allowed on a guest a running command owns)',
    }),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(TestbedConsole)
    const readOnly = flags['read-only']
    const refusal = readOnly ? undefined : consoleRefusal(args.name)
    if (refusal) throw new MqbError(refusal, ExitCode.busy)
    const {dir} = vmNames(args.name)
    const path = guestPaths(dir).console
    if (!existsSync(path))
      throw new MqbError(
        `no guest console for testbed ${args.name} (${path}); see \`mqbench testbed list\``,
        ExitCode.noDevice,
      )
    process.stdout.write(
      `${withoutQueries(consoleTail(dir, 10))}\n--- attached to ${args.name}'s console${readOnly ? ' (read-only; Ctrl-C detaches)' : '; Ctrl-] detaches'} ---\n`,
    )
    const sock = connect(path)
    const filter = new QueryFilter()
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => {
        const stdin = process.stdin
        const raw = stdin.isTTY && !readOnly
        if (raw) stdin.setRawMode(true)
        if (readOnly) process.once('SIGINT', () => sock.end())
        else {
          stdin.on('data', (d: Buffer) => {
            if (d.includes(DETACH)) sock.end()
            else sock.write(d)
          })
          // Input that ends (a pipe, </dev/null) detaches once what it held has been sent.
          stdin.once('end', () => sock.end())
          stdin.resume()
          sock.write('\n')
        }
        sock.on('data', (d: Buffer) => process.stdout.write(filter.push(d)))
        sock.on('close', () => {
          process.stdout.write(filter.flush())
          if (raw) stdin.setRawMode(false)
          stdin.pause()
          resolve()
        })
      })
      sock.once('error', (err) =>
        reject(new MqbError(`cannot attach to ${path}: ${err.message}`, ExitCode.unreachable)),
      )
    })
    process.stdout.write('\n--- detached ---\n')
  }
}
