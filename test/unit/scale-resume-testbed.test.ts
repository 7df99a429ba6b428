// scale --resume and the testbed the killed run left (issue 22 point 5): removed first and its
// name used again, unless a live process holds that name.
import {describe, expect, it} from 'vitest'
import {resumeTestbed} from '../../src/scale/run.js'

const killed = {name: 's1a2b', pid: 2 ** 22 + 1, owner: {command: 'mqbench scale', holder: false}}

describe('resumeTestbed', () => {
  it("removes the killed run's testbed and takes its name again", () => {
    expect(resumeTestbed('s1a2b', [killed], () => false)).toEqual({name: 's1a2b', removeStale: true})
  })
  it('also when no record is left (objects go by the name)', () => {
    expect(resumeTestbed('s1a2b', [], () => false)).toEqual({name: 's1a2b', removeStale: true})
  })
  it('leaves a testbed of that name with a live owner alone and takes another name', () => {
    const r = resumeTestbed('s1a2b', [{...killed, pid: process.pid}], () => true)
    expect(r.removeStale).toBe(false)
    expect(r.name).toMatch(/^r[0-9a-f]{4}$/)
  })
})
