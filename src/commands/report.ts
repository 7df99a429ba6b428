import {Args, Flags} from '@oclif/core'
import {MqbCommand} from '../cli/base.js'
import {ExitCode, MqbError} from '../errors.js'
import {loadResults} from '../results/load.js'
import {loadAnyResults} from '../results/plan.js'
import {writePlanReport, writeReport, type ReportOutput} from '../report/index.js'
import {requirePrereqs} from '../prereqs.js'

export default class Report extends MqbCommand {
  static summary =
    'Write a self-contained HTML scaling report (charts, tables, summary) from one or more results files; with several files or --baseline, compare the runs. A test-plan file (check vm) gives its PASS/FAIL page.'

  static examples = [
    {
      description: 'One results file to ./report.html',
      command: '<%= config.bin %> report mqbench-results/scale-tap-rr-20261124T232501Z.json',
    },
    {
      description: 'The same, next to the results file',
      command:
        '<%= config.bin %> report mqbench-results/scale-tap-rr-20261124T232501Z.json --out mqbench-results/scale-tap-rr.html',
    },
    {
      description: 'Compare a tuned run with the run before it',
      command: '<%= config.bin %> report after.json --baseline before.json --out tuning.html',
    },
    {
      description: 'Two runs side by side, with the steps as CSV and the charts as PNG',
      command: '<%= config.bin %> report tap.json veth.json --csv steps.csv --png charts/',
    },
  ]

  static strict = false
  static enableJsonFlag = true

  static args = {
    results: Args.string({
      description: 'results file(s) written by `mqbench scale`, or one written by `mqbench check vm`',
      required: true,
    }),
  }

  static flags = {
    out: Flags.string({
      char: 'o',
      description: 'HTML file to write',
      default: 'report.html',
      helpValue: 'FILE',
    }),
    baseline: Flags.string({
      description:
        'results file to compare the others with, drawn first (without it, the first file given is the reference)',
      helpValue: 'RESULTS.json',
    }),
    csv: Flags.string({description: 'also write the per-step figures as CSV', helpValue: 'FILE'}),
    png: Flags.string({
      description: 'also write each chart as a PNG into this directory (needs chromium)',
      helpValue: 'DIR',
    }),
  }

  async run(): Promise<ReportOutput> {
    const {argv, flags} = await this.parse(Report)
    // Every input is read and checked before anything is written.
    const any = (argv as string[]).map((p) => loadAnyResults(p))
    const plan = any.find((a) => a.kind === 'plan')
    if (plan?.kind === 'plan') {
      if (any.length > 1 || flags.baseline || flags.csv || flags.png)
        throw new MqbError(
          'a test-plan results file (check vm) makes a page of its own: give it alone, without --baseline, --csv or --png',
          ExitCode.badInput,
        )
      const out = writePlanReport(plan.plan, flags.out)
      if (!this.jsonEnabled()) this.show(out)
      return out
    }
    // Chromium and its driver before any file is written.
    if (flags.png) await requirePrereqs('png')
    const files = any.map((a) => (a.kind === 'run' ? a.results : undefined)).filter((r) => r !== undefined)
    const baseline = flags.baseline === undefined ? undefined : loadResults(flags.baseline)
    const out = await writeReport(files, {out: flags.out, baseline, csv: flags.csv, png: flags.png})
    if (!this.jsonEnabled()) this.show(out)
    return out
  }

  private show(out: ReportOutput): void {
    for (const s of out.summary) this.log(s)
    this.log(`wrote ${out.out} (${Math.round(out.bytes / 1024)} KB, ${out.charts.length} charts)`)
    if (out.csv) this.log(`wrote ${out.csv}`)
    if (out.png)
      this.log(`wrote ${out.png.length} PNGs to ${out.png.length ? out.png[0].replace(/\/[^/]*$/, '/') : ''}`)
  }
}
