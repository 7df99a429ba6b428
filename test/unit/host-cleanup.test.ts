import {describe, expect, it} from 'vitest'
import {CleanupRegistry} from '../../src/host/cleanup.js'

describe('CleanupRegistry', () => {
  it('undoes newest first, once, and keeps going past a failing undo', () => {
    const r = new CleanupRegistry()
    const order: string[] = []
    r.add('a', () => order.push('a'))
    r.add('b', () => {
      throw new Error('boom')
    })
    r.add('c', () => order.push('c'))
    r.runAll()
    r.runAll()
    expect(order).toEqual(['c', 'a'])
    expect(r.failures).toEqual(['could not undo b: boom'])
    expect(r.pending).toEqual([])
  })

  it('runs an undo early through its handle and forgets it', () => {
    const r = new CleanupRegistry()
    let n = 0
    const undo = r.add('x', () => n++)
    expect(r.pending).toEqual(['x'])
    undo()
    undo()
    r.runAll()
    expect(n).toBe(1)
  })
})
