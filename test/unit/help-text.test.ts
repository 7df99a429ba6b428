// Help that oclif can wrap: every command's texts, read from the command classes in src/commands/.
// oclif re-wraps descriptions to the terminal, so a hard line break inside a paragraph ends a line
// mid-sentence; a line break may only separate paragraphs (a blank line). Each command has a
// one-line summary for the command list, every value flag shows what it takes instead of
// `<value>`, and every example says what it does.
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

const dir = new URL('../../src/commands/', import.meta.url).pathname

function commandFiles(d = dir): string[] {
  return readdirSync(d, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? commandFiles(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : [],
  )
}

interface FlagLike {
  type: string
  helpValue?: string
  options?: readonly string[]
  description?: string
}
interface CommandLike {
  summary?: string
  description?: string
  examples?: Array<string | {description: string; command: string}>
  flags?: Record<string, FlagLike>
  args?: Record<string, {description?: string}>
}

const commands = await Promise.all(
  commandFiles().map(async (f) => ({
    id: f.slice(dir.length).replace(/\.ts$/, '').replace('/', ' '),
    cmd: (await import(f)).default as CommandLike,
  })),
)

describe('help texts', () => {
  it('finds every command', () => {
    expect(commands.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        'check',
        'gen',
        'report',
        'rr',
        'scale',
        'server',
        'stream',
        'tune',
        'testbed up',
      ]),
    )
  })

  for (const {id, cmd} of commands) {
    describe(id, () => {
      it('has a one-line summary', () => {
        expect(cmd.summary, `${id}: static summary`).toBeTruthy()
        expect(cmd.summary).not.toMatch(/\n/)
      })

      it('breaks lines in its description only between paragraphs', () => {
        const text = cmd.description ?? ''
        expect(text.replace(/\n\n/g, ''), `${id}: a line break inside a paragraph`).not.toMatch(/\n/)
        expect(text, `${id}: more than one blank line`).not.toMatch(/\n\n\n/)
        expect(text).toBe(text.trim())
      })

      it('names what each value flag takes, in one line', () => {
        for (const [name, f] of Object.entries(cmd.flags ?? {})) {
          if (f.type === 'option' && !f.options)
            expect(f.helpValue, `${id} --${name}: helpValue`).toBeTruthy()
          expect(f.description ?? '', `${id} --${name}: description`).not.toMatch(/\n/)
        }
      })

      it('captions every example', () => {
        for (const e of cmd.examples ?? []) {
          expect(typeof e, `${id}: an example without a caption: ${String(e)}`).toBe('object')
          const {description, command} = e as {description: string; command: string}
          expect(description).toBeTruthy()
          expect(command).toMatch(new RegExp(`<%= config.bin %> ${id}( |$)`))
        }
      })
    })
  }
})
