import {MqbCommand} from '../cli/base.js'
import {doctor, type DoctorReport} from '../doctor.js'

export default class Doctor extends MqbCommand {
  static summary =
    'Say what this host offers mqbench: binaries, libraries, privileges, tools, guests, AF_XDP.'

  static description = `Every row that a command needs is the check that command makes before it changes anything, with the line it would print when the piece is missing. Exits 0 when nothing is missing, else with the exit code of the first missing piece (README, exit codes).`

  static examples = [
    {description: 'On one screen', command: '<%= config.bin %> doctor'},
    {description: 'As JSON', command: '<%= config.bin %> doctor --json'},
  ]

  static enableJsonFlag = true

  async run(): Promise<DoctorReport> {
    await this.parse(Doctor)
    const report = await doctor()
    if (!this.jsonEnabled()) this.show(report)
    const first = report.rows.find((r) => r.ok === false)
    if (first?.exitCode !== undefined) process.exitCode = first.exitCode
    return report
  }

  private show(r: DoctorReport): void {
    this.log(`mqbench ${r.version} on ${r.platform}, Node ${r.node}, kernel ${r.kernel}`)
    const width = Math.max(...r.rows.map((row) => row.name.length))
    let section = ''
    for (const row of r.rows) {
      if (row.section !== section) this.log(`${(section = row.section)}:`)
      const mark = row.ok === true ? 'ok  ' : row.ok === false ? 'MISS' : '    '
      this.log(`  ${mark} ${row.name.padEnd(width)}  ${row.ok === false ? row.missing : row.value}`)
    }
    this.log(r.missing ? `${r.missing} missing` : 'nothing missing')
  }
}
