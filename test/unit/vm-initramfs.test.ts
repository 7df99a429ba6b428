import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {readCpio, writeCpio} from '../../src/vm/cpio.js'
import {AGENT_GUEST_PATH, initramfsEntries, initScript} from '../../src/vm/initramfs.js'
import {bzImageRelease, compareReleases} from '../../src/vm/kernel.js'
import {loadOrder, moduleName, parseModulesDep, readModule} from '../../src/vm/modules.js'
import {elfIsDynamic} from '../../src/vm/prereqs.js'

// Lines as the Debian 6.1 cloud kernel's modules.dep has them.
const MODULES_DEP = `kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/char/virtio_console.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/net/core/failover.ko:
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/misc/pvpanic/pvpanic.ko:
kernel/drivers/misc/pvpanic/pvpanic-pci.ko: kernel/drivers/misc/pvpanic/pvpanic.ko
`

describe('modules.dep', () => {
  const deps = parseModulesDep(MODULES_DEP)

  it('names modules with underscores and without the compression suffix', () => {
    expect(moduleName('kernel/drivers/net/virtio_net.ko.xz')).toBe('virtio_net')
    expect(moduleName('kernel/drivers/misc/pvpanic/pvpanic-pci.ko')).toBe('pvpanic_pci')
  })

  it('orders dependencies before the modules that need them, each once', () => {
    const {paths, builtinOrMissing} = loadOrder(deps, [
      'virtio_pci',
      'virtio_net',
      'virtio_console',
      'pvpanic-pci',
    ])
    expect(builtinOrMissing).toEqual([])
    expect(paths.map(moduleName)).toEqual([
      'virtio_pci_legacy_dev',
      'virtio_pci_modern_dev',
      'virtio',
      'virtio_ring',
      'virtio_pci',
      'failover',
      'net_failover',
      'virtio_net',
      'virtio_console',
      'pvpanic',
      'pvpanic_pci',
    ])
    for (const [i, p] of paths.entries())
      for (const d of deps.get(moduleName(p))!.deps) expect(paths.map(moduleName).indexOf(d)).toBeLessThan(i)
  })

  it('reports a module modules.dep does not list (built in, or absent)', () => {
    expect(loadOrder(deps, ['virtio_blk']).builtinOrMissing).toEqual(['virtio_blk'])
  })

  it('decompresses an .ko.xz module, or says which tool to install', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqb-mod-'))
    writeFileSync(join(dir, 'a.ko'), 'plain-elf')
    expect(readModule(dir, 'a.ko')).toEqual({name: 'a.ko', data: Buffer.from('plain-elf')})
    if (spawnSync('xz', ['--version']).status === 0) {
      spawnSync('sh', ['-c', `printf zipped-elf | xz > ${join(dir, 'b.ko.xz')}`])
      expect(readModule(dir, 'b.ko.xz')).toEqual({name: 'b.ko', data: Buffer.from('zipped-elf')})
    }
    writeFileSync(join(dir, 'c.ko.zst'), 'not zstd')
    expect(() => readModule(dir, 'c.ko.zst')).toThrow(/c\.ko\.zst/)
  })
})

describe('cpio newc writer', () => {
  it('round-trips files, directories, symlinks and device nodes with 4-byte alignment', () => {
    const image = writeCpio([
      {kind: 'dir', path: 'bin'},
      {kind: 'file', path: 'bin/x', data: Buffer.from('hello'), mode: 0o755},
      {kind: 'symlink', path: 'bin/sh', target: 'busybox'},
      {kind: 'chardev', path: 'dev/console', major: 5, minor: 1},
    ])
    expect(image.length % 4).toBe(0)
    expect(image.subarray(0, 6).toString()).toBe('070701')
    const back = readCpio(image)
    expect(back.map((e) => [e.path, e.mode.toString(8)])).toEqual([
      ['bin', '40755'],
      ['bin/x', '100755'],
      ['bin/sh', '120777'],
      ['dev/console', '20600'],
    ])
    expect(back[1].data.toString()).toBe('hello')
    expect(back[2].data.toString()).toBe('busybox')
    expect(back[3].rdev).toEqual([5, 1])
  })

  it('is read by the system cpio where one is installed', () => {
    if (spawnSync('cpio', ['--version']).status !== 0) return
    const image = writeCpio([
      {kind: 'dir', path: 'etc'},
      {kind: 'file', path: 'etc/hostname', data: Buffer.from('guest\n')},
    ])
    const r = spawnSync('cpio', ['-it', '--quiet'], {input: image, encoding: 'utf8'})
    expect(r.status).toBe(0)
    expect(r.stdout.trim().split('\n')).toEqual(['etc', 'etc/hostname'])
  })

  it('refuses paths that leave the archive', () => {
    expect(() => writeCpio([{kind: 'file', path: '/etc/passwd', data: Buffer.alloc(0)}])).toThrow(/relative/)
    expect(() => writeCpio([{kind: 'file', path: 'a/../../x', data: Buffer.alloc(0)}])).toThrow(/inside/)
  })
})

describe('initramfs contents', () => {
  const entries = initramfsEntries({
    modules: [
      {name: 'virtio.ko', data: Buffer.from('m1')},
      {name: 'virtio_net.ko', data: Buffer.from('m2')},
    ],
    busybox: Buffer.from('bb'),
    agent: Buffer.from('agent'),
  })
  const byPath = new Map(entries.map((e) => [e.path, e]))

  it('holds busybox as a file, the agent, the modules, device nodes and an executable init', () => {
    expect(byPath.get('bin/busybox')).toMatchObject({kind: 'file', mode: 0o755})
    expect(byPath.get(AGENT_GUEST_PATH.slice(1))).toMatchObject({kind: 'file', mode: 0o755})
    expect(byPath.get('lib/modules/virtio_net.ko')).toMatchObject({kind: 'file'})
    expect(byPath.get('dev/console')).toMatchObject({kind: 'chardev', major: 5, minor: 1})
    expect(byPath.get('init')).toMatchObject({kind: 'file', mode: 0o755})
    // every file's directory comes first in the archive
    const seen = new Set<string>()
    for (const e of entries) {
      const parent = e.path.split('/').slice(0, -1).join('/')
      if (parent) expect(seen.has(parent), e.path).toBe(true)
      seen.add(e.path)
    }
  })

  it('loads the modules in the given order and never lets pid 1 exit', () => {
    const init = initScript(['virtio.ko', 'virtio_net.ko'])
    expect(init).toMatch(/for m in virtio\.ko virtio_net\.ko; do insmod/)
    expect(init).toMatch(new RegExp(`while :; do\\n  ${AGENT_GUEST_PATH} --port auto`))
    expect(init.startsWith('#!/bin/busybox sh\n')).toBe(true)
  })
})

describe('kernel images and binaries', () => {
  it('reads the release from a bzImage header and rejects other files', () => {
    const img = Buffer.alloc(0x400)
    img.write('HdrS', 0x202, 'ascii')
    img.writeUInt16LE(0x100, 0x20e)
    img.write('6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP\0', 0x300, 'latin1')
    expect(bzImageRelease(img)).toBe('6.1.0-57-cloud-amd64')
    expect(bzImageRelease(Buffer.from('#!/bin/sh\necho not a kernel\n'))).toBeUndefined()
  })

  it('orders releases numerically', () => {
    expect(['6.10.1', '6.9.12', '6.1.0-57-cloud-amd64'].sort(compareReleases)).toEqual([
      '6.1.0-57-cloud-amd64',
      '6.9.12',
      '6.10.1',
    ])
  })

  it('tells a static executable from a dynamic one', () => {
    expect(elfIsDynamic(readFileSync(process.execPath))).toBe(true)
    expect(() => elfIsDynamic(Buffer.from('#!/bin/sh\n'.padEnd(80)))).toThrow(/not an ELF/)
  })
})
