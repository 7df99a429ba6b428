// The example commands in README.md, docs/*.md and every command's --help parse as written: each
// names a command that exists and flags, values and combinations that command accepts (oclif's own
// parser, with the commands' flag definitions and their value checks). Running them needs root and
// sometimes a remote host, so this checks what can be checked anywhere: the spelling.
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {Flags, Parser} from '@oclif/core'
import {describe, expect, it} from 'vitest'

const root = new URL('../../', import.meta.url).pathname
const commandsDir = join(root, 'src/commands')

function commandFiles(d = commandsDir): string[] {
  return readdirSync(d, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? commandFiles(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : [],
  )
}

type ParserInput = Parameters<typeof Parser.parse>[1]
interface CommandClass {
  flags?: ParserInput['flags']
  args?: ParserInput['args']
  strict?: boolean
  enableJsonFlag?: boolean
  examples?: Array<string | {description: string; command: string}>
}

const commands = new Map<string, CommandClass>()
for (const f of commandFiles())
  commands.set(
    f
      .slice(commandsDir.length + 1)
      .replace(/\.ts$/, '')
      .replaceAll('/', ' '),
    (await import(f)).default as CommandClass,
  )

/** Splits a shell line into words (single and double quotes, no expansion). */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3])
}

/** `mqbench ...` lines of the fenced code blocks of a markdown file (synopses with [optional] parts left out). */
function markdownExamples(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8')
  return [...text.matchAll(/```[^\n]*\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1].replaceAll('\\\n', ' ').split('\n'))
    .map((l) =>
      l
        .replace(/\s#.*$/, '')
        .replace(/&\s*$/, '')
        .replace(/^\s*(\$\s+)?(\w+=\S+\s+)*/, '')
        .trim(),
    )
    .filter((l) => l.startsWith('mqbench ') && !/\[/.test(l))
}

async function parse(line: string): Promise<void> {
  const argv = words(line).slice(1)
  let id = ''
  const ids = [...commands.keys()]
  const extends_ = (w: string) => (id ? `${id} ${w}` : w)
  // the longest run of words that is a command id or the start of one (`testbed up`)
  while (argv.length && ids.some((c) => c === extends_(argv[0]) || c.startsWith(`${extends_(argv[0])} `)))
    id = extends_(argv.shift()!)
  const cmd = commands.get(id)
  if (!cmd) throw new Error(`no command in '${line}'`)
  await Parser.parse(argv, {
    flags: {...cmd.flags, ...(cmd.enableJsonFlag ? {json: Flags.boolean()} : {})},
    args: cmd.args ?? {},
    strict: cmd.strict ?? true,
  })
}

const docs = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]
const examples = [
  ...docs.flatMap((file) => markdownExamples(file).map((line) => ({where: file, line}))),
  ...[...commands].flatMap(([id, cmd]) =>
    (cmd.examples ?? []).map((e) => ({
      where: `mqbench ${id} --help`,
      line: (typeof e === 'string' ? e : e.command).replace(/^(\w+=\S+\s+)*<%= config.bin %>/, 'mqbench'),
    })),
  ),
]

describe('example commands parse as written', () => {
  it('finds the examples of the docs and of every command', () => {
    expect(examples.filter((e) => e.where.endsWith('.md')).length).toBeGreaterThanOrEqual(10)
    expect(examples.filter((e) => e.where.endsWith('--help')).length).toBeGreaterThanOrEqual(30)
  })

  for (const {where, line} of examples) {
    it(`${where}: ${line}`, async () => {
      await parse(line).catch((err: Error) => {
        // --cpus is checked against this machine's online CPUs; an example for a bigger host is fine.
        if (/is not online/.test(err.message)) return
        throw err
      })
    })
  }

  it('refuses what the commands do not accept (the check can fail)', async () => {
    await expect(parse('mqbench gen --dev veth0 --queues 0')).rejects.toThrow()
    await expect(parse('mqbench tune --dev eth0 --undo x.json')).rejects.toThrow(/--apply/)
    await expect(parse('mqbench scale --queues 1..4 --no-such-flag')).rejects.toThrow(/no-such-flag/)
    await expect(parse('mqbench nosuch --help')).rejects.toThrow(/no command/)
  })
})
