import {Args, Flags} from '@oclif/core'
import {MqbCommand} from '../../cli/base.js'
import {badInput} from '../../errors.js'
import {removeAll, removeTestbed} from '../../testbed/registry.js'

export default class TestbedDown extends MqbCommand {
  static summary = `Remove a testbed: stop the process holding it, delete its namespaces and links, restore a real device's channels, IRQ affinity and RPS/XPS.`

  static description = `--all removes every testbed and every stale mqb- namespace or link, including those a killed run left behind; namespaces that processes still run in are left alone unless --force. Do not use it while another mqbench run is in progress: it removes that run's testbed too.`

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
      description: 'with --all: also remove mqb- namespaces that processes run in',
      dependsOn: ['all'],
    }),
  }

  async run(): Promise<{removed: string[]; skipped: string[]}> {
    const {args, flags} = await this.parse(TestbedDown)
    if (!flags.all && !args.name)
      throw badInput('name the testbed to remove, or give --all', 'mqbench testbed list')
    if (flags.all && args.name) throw badInput('give either a testbed name or --all, not both')
    const {removed, skipped} = flags.all
      ? removeAll({force: flags.force})
      : {removed: removeTestbed(args.name!), skipped: []}
    if (!this.jsonEnabled()) {
      this.log(removed.length ? `removed ${removed.join(', ')}` : 'nothing to remove')
      if (skipped.length)
        this.log(`left ${skipped.join(', ')}: processes run in them (stop those, or add --force)`)
    }
    return {removed, skipped}
  }
}
