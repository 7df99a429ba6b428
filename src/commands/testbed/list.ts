import {MqbCommand} from '../../cli/base.js'
import {listTestbeds, ownerText, type TestbedListing} from '../../testbed/registry.js'

export default class TestbedList extends MqbCommand {
  static summary =
    'List testbeds, the process holding each, and mqb- objects no live testbed accounts for (remove those with `mqbench testbed down --all`).'

  static enableJsonFlag = true

  static examples = [
    {
      description: 'Testbeds and stale objects',
      command: '<%= config.bin %> testbed list',
    },
    {
      description: 'The same as JSON',
      command: '<%= config.bin %> testbed list --json',
    },
  ]

  async run(): Promise<TestbedListing> {
    await this.parse(TestbedList)
    const listing = listTestbeds()
    if (!this.jsonEnabled()) this.show(listing)
    return listing
  }

  private show({testbeds, stale, inUse}: TestbedListing): void {
    if (testbeds.length === 0 && stale.length === 0 && inUse.length === 0) {
      this.log('no testbeds')
      return
    }
    for (const t of testbeds) {
      const state = !t.alive
        ? `stale: process ${t.pid} is gone`
        : t.owner && !t.owner.holder
          ? `in use by ${ownerText(t)}`
          : `held by process ${t.pid}`
      this.log(
        `${t.name.padEnd(10)} ${t.kind.padEnd(5)} queues<=${String(t.maxQueues).padEnd(4)} ${t.devA} ${t.ipA} <-> ${t.devB} ${t.ipB}  (${state})`,
      )
    }
    if (inUse.length)
      this.log(`mqb- namespaces in use by running processes (not testbeds): ${inUse.join(', ')}`)
    if (stale.length)
      this.log(`stale mqb- objects: ${stale.join(', ')} (remove with \`mqbench testbed down --all\`)`)
  }
}
