// scale's flags as oclif parses them: --warmup 0s means no warm-up (the sweep skips it), while
// the measured --duration keeps its floor.
import {describe, expect, it} from 'vitest'
import Scale from '../../src/commands/scale.js'

const parse = (flag: {parse: (input: string, ctx: never, opts: never) => Promise<unknown>}, text: string) =>
  flag.parse(text, {} as never, {} as never)

describe('scale --warmup', () => {
  it('takes 0s as no warm-up', async () => {
    expect(await parse(Scale.flags.warmup, '0s')).toBe(0)
    expect(await parse(Scale.flags.warmup, '0')).toBe(0)
    expect(await parse(Scale.flags.warmup, '500ms')).toBe(500)
  })
  it('still refuses a measured duration of 0', async () => {
    await expect(parse(Scale.flags.duration, '0s')).rejects.toThrow(/out of range \(1ms to 24h\)/)
  })
})
