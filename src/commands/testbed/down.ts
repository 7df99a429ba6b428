import {Args, Flags} from '@oclif/core'
import {MqbCommand} from '../../cli/base.js'
import {badInput} from '../../errors.js'
import {removeAll, removeTestbed, type InUseTestbed} from '../../testbed/registry.js'

export default class TestbedDown extends MqbCommand {
  static summary = `Remove a testbed: stop the process holding it, delete its namespaces and links, restore a real device's channels, IRQ affinity and RPS/XPS.`

  static description = `--all removes what is left over: every testbed whose process is gone or that a \`testbed up\` holds (foreground or --detach), and every stale mqb- namespace or link, including those a killed run left behind. A testbed that a running command made for itself (\`scale\`, each guest of \`check vm\`) is left to that run, one line each ("testbed NAME is in use by mqbench check (pid N); not removed"), and so are mqb- namespaces that processes still run in; --force removes those too. \`down NAME\` of a testbed in use by a running command is refused (exit 12) unless --force, which stops that run.`

  static enableJsonFlag = true

  static examples = [
    {
      description: 'Remove testbed tb1',
      command: '<%= config.bin %> testbed down tb1',
    },
    {
      description: 'Remove every testbed and whatever mqb- objects a killed run left',
      command: '<%= config.bin %> testbed down --all',
    },
  ]

  static args = {name: Args.string({description: 'testbed name'})}

  static flags = {
    all: Flags.boolean({description: 'remove every testbed and every stale mqb- object'}),
    force: Flags.boolean({
      description:
        'also remove testbeds a running command uses (stopping it) and, with --all, mqb- namespaces that processes run in',
    }),
  }

  async run(): Promise<{removed: string[]; skipped: string[]; inUse: InUseTestbed[]}> {
    const {args, flags} = await this.parse(TestbedDown)
    if (!flags.all && !args.name)
      throw badInput('name the testbed to remove, or give --all', 'mqbench testbed list')
    if (flags.all && args.name) throw badInput('give either a testbed name or --all, not both')
    const {removed, skipped, inUse} = flags.all
      ? removeAll({force: flags.force})
      : {removed: removeTestbed(args.name!, {force: flags.force}), skipped: [], inUse: []}
    if (!this.jsonEnabled()) {
      this.log(removed.length ? `removed ${removed.join(', ')}` : 'nothing to remove')
      for (const t of inUse)
        this.log(`testbed ${t.name} is in use by ${t.command} (pid ${t.pid}); not removed`)
      if (skipped.length)
        this.log(`left ${skipped.join(', ')}: processes run in them (stop those, or add --force)`)
    }
    return {removed, skipped, inUse}
  }
}
