// Opens a report file in headless Chromium and waits until its charts are drawn, collecting every
// request the page makes and every console error or warning (a report must be offline and clean).
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {chromium, type Browser, type Page} from 'playwright-core'
import {afterAll, beforeAll} from 'vitest'
import {CHROMIUM_ARGS, CHROMIUM_PATH} from '../../src/host/chromium.js'

export interface OpenedReport {
  page: Page
  requests: string[]
  problems: string[]
  url: string
}

export async function openReport(browser: Browser, file: string): Promise<OpenedReport> {
  const page = await browser.newPage({viewport: {width: 1100, height: 900}})
  const requests: string[] = []
  const problems: string[] = []
  page.on('request', (r) => requests.push(r.url()))
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`)
  })
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  const url = pathToFileURL(file).href
  await page.goto(url)
  await page.waitForFunction(() => (window as unknown as {mqbReady?: boolean}).mqbReady === true, undefined, {
    timeout: 15_000,
  })
  return {page, requests, problems, url}
}

/**
 * Debian's chromium for one test file and a scratch directory for its pages, both gone after it:
 * `get()` gives the browser once beforeAll has launched it.
 */
export function chromiumForFile(prefix: string): {dir: string; get: () => Browser} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  let browser: Browser | undefined
  beforeAll(async () => {
    browser = await chromium.launch({executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS})
  })
  afterAll(async () => {
    await browser?.close()
    rmSync(dir, {recursive: true, force: true})
  })
  return {dir, get: () => browser!}
}
