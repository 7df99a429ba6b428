import {existsSync} from 'node:fs'
import {connect} from 'node:net'
import {Args} from '@oclif/core'
import {MqbCommand} from '../../cli/base.js'
import {ExitCode, MqbError} from '../../errors.js'
import {vmNames} from '../../testbed/vm.js'
import {consoleTail} from '../../vm/guest.js'
import {guestPaths} from '../../vm/qemu-args.js'

// Ctrl-] as in telnet: Ctrl-C and Ctrl-D belong to the guest's shell.
const DETACH = 0x1d

export default class TestbedConsole extends MqbCommand {
  static summary = `Attach to a vm testbed's guest console (a shell on ttyS0); Ctrl-] detaches.`

  static description = `The last lines the guest printed are shown first (the console is also logged in the testbed's scratch directory, console.log).`

  static examples = [
    {
      description: "Attach to vm testbed g1's console",
      command: '<%= config.bin %> testbed console g1',
    },
  ]

  static args = {name: Args.string({description: 'vm testbed name', required: true})}

  async run(): Promise<void> {
    const {args} = await this.parse(TestbedConsole)
    const {dir} = vmNames(args.name)
    const path = guestPaths(dir).console
    if (!existsSync(path))
      throw new MqbError(
        `no guest console for testbed ${args.name} (${path}); see \`mqbench testbed list\``,
        ExitCode.noDevice,
      )
    process.stdout.write(
      `${consoleTail(dir, 10)}\n--- attached to ${args.name}'s console; Ctrl-] detaches ---\n`,
    )
    const sock = connect(path)
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => {
        const stdin = process.stdin
        if (stdin.isTTY) stdin.setRawMode(true)
        stdin.on('data', (d: Buffer) => {
          if (d.includes(DETACH)) sock.end()
          else sock.write(d)
        })
        stdin.resume()
        sock.write('\n')
        sock.pipe(process.stdout)
        sock.on('close', () => {
          if (stdin.isTTY) stdin.setRawMode(false)
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
