// Runs the built CLI (dist/, `npm run build`) as a child process, as a person would.
import {spawn, type ChildProcess} from 'node:child_process'
import {fileURLToPath} from 'node:url'

export const RUN_JS = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliResult {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Starts `mqbench ...args` (with `env` added); `onStderr` sees stderr as it arrives. */
export function startMqbench(
  args: string[],
  onStderr?: (all: string, child: ChildProcess) => void,
  env?: Record<string, string>,
): {child: ChildProcess; done: Promise<CliResult>} {
  const child = spawn(process.execPath, [RUN_JS, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ? {...process.env, ...env} : process.env,
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => {
    stderr += d
    onStderr?.(stderr, child)
  })
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (status, signal) => resolve({status, signal, stdout, stderr})),
  )
  return {child, done}
}

export function mqbench(args: string[]): Promise<CliResult> {
  return startMqbench(args).done
}

/** `mqbench testbed up NAME --kind KIND --max-queues N --detach --json`: returns once it holds. */
export function upDetached(name: string, kind: string, maxQueues: number): Promise<CliResult> {
  return mqbench([
    'testbed',
    'up',
    name,
    '--kind',
    kind,
    '--max-queues',
    String(maxQueues),
    '--detach',
    '--json',
  ])
}
