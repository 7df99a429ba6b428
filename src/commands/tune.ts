import {Flags} from '@oclif/core'
import {MqbCommand} from '../cli/base.js'
import {netnsFlag} from '../cli/flags.js'
import {badInput} from '../errors.js'
import {runTune, type TuneReport} from '../tune/index.js'
import {requirePrereqs} from '../prereqs.js'

export default class Tune extends MqbCommand {
  static summary = `Explain a device's multiqueue setup and how to improve it.`

  static description = `Reads channels (current and maximum) against the online CPUs and the device's NUMA node, each queue's interrupt line and its affinity, irqbalance, XPS and RPS masks per queue, RFS, offloads (GRO, GSO, TSO) and the root qdisc, and gives each finding a recommendation with its reason. --apply carries out the plan (channels, 1:1 IRQ affinity, XPS) after saving every value it changes to an undo file; --revert FILE puts them back. --from RESULTS.json adds the queue count a \`mqbench scale\` run supports: the smallest count within 5% of the best.`

  static enableJsonFlag = true

  static examples = [
    {
      description: 'What to change on eth0, and why',
      command: '<%= config.bin %> tune --dev eth0',
    },
    {
      description: 'Change it, saving every old value to an undo file',
      command: '<%= config.bin %> tune --dev eth0 --apply --undo /root/eth0-undo.json',
    },
    {
      description: 'Put the old values back',
      command: '<%= config.bin %> tune --revert /root/eth0-undo.json',
    },
    {
      description: 'Add the queue count a scale run supports',
      command: '<%= config.bin %> tune --dev eth0 --from results/scale-20261124.json',
    },
    {
      description: "A testbed's device, as JSON",
      command: '<%= config.bin %> tune --dev mqb-tb1-a --netns mqb-tb1-a --json',
    },
  ]

  // --undo needs --apply, and --apply excludes --revert: two forms, not one line of optional flags.
  static usage = [
    'tune --dev IF [--netns NAME] [--from RESULTS.json] [--apply [--undo FILE]] [--json]',
    'tune --revert FILE [--dev IF] [--netns NAME] [--json]',
  ]

  static flags = {
    dev: Flags.string({
      description: 'interface to examine (with --revert: taken from the undo file when left out)',
      helpValue: 'IF',
    }),
    netns: netnsFlag,
    apply: Flags.boolean({
      description: 'apply the plan (channels, 1:1 IRQ affinity, XPS), saving an undo file first',
      exclusive: ['revert'],
    }),
    undo: Flags.string({
      description: 'with --apply: where to save the undo file (default /var/tmp/mqbench-tune-IF-TIME.json)',
      helpValue: 'FILE',
      dependsOn: ['apply'],
    }),
    revert: Flags.string({
      description: 'restore what an earlier --apply changed, from its undo file',
      helpValue: 'FILE',
    }),
    from: Flags.string({
      description: 'a `mqbench scale` results file: recommend its smallest queue count within 5% of the best',
      helpValue: 'RESULTS.json',
    }),
  }

  async run(): Promise<TuneReport> {
    const {flags} = await this.parse(Tune)
    if (!flags.dev && !flags.revert)
      throw badInput('--dev IF is required (list interfaces with `ip -br link`)')
    await requirePrereqs(flags.apply || flags.revert ? 'tune:apply' : 'tune')
    const report = runTune(flags.dev ?? '', {
      netns: flags.netns,
      apply: flags.apply,
      undoPath: flags.undo,
      revertPath: flags.revert,
      fromResults: flags.from,
    })
    if (!this.jsonEnabled()) this.show(report)
    return report
  }

  private show(r: TuneReport): void {
    const where = r.netns ? ` in ${r.netns}` : ''
    this.log(`${r.dev}${where}${r.driver ? ` (${r.driver})` : ''}`)
    if (r.reverted) {
      for (const c of r.reverted.restored) this.log(`  restored  ${c.what}: ${c.to}`)
      for (const f of r.reverted.failures) this.log(`  FAILED    ${f}`)
      if (r.reverted.restored.length === 0 && r.reverted.failures.length === 0)
        this.log('  nothing to restore: every value is as the undo file says')
      this.log('')
    }
    for (const f of r.findings) {
      const tag = f.level === 'warn' ? 'WARN' : f.level === 'info' ? 'info' : 'ok  '
      this.log(`${tag}  ${f.area.padEnd(12)} ${f.finding}`)
      if (f.recommendation) this.log(`      ${''.padEnd(12)} -> ${f.recommendation}`)
      if (f.reason && f.level !== 'ok') this.log(`      ${''.padEnd(12)}    because ${f.reason}`)
    }
    if (r.applied) {
      this.log('')
      this.log(
        `undo file: ${r.applied.undoFile}  (revert with \`mqbench tune --revert ${r.applied.undoFile}\`)`,
      )
      if (r.applied.changes.length === 0)
        this.log('nothing to change: channels, IRQ affinity and XPS already follow the plan')
      for (const c of r.applied.changes) this.log(`  changed  ${c.what}: ${c.from} -> ${c.to}`)
    }
  }
}
